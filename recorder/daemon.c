// SPDX-License-Identifier: MIT
/*
 * netrecd's main loop (see daemon.h): signals, timers, sources, health, orderly stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "netrec-config.h"
#include "nrtime.h"
#include "queue.h"
#include "sources.h"
#include "store.h"
#include "writer.h"

#define MAX_WATCH 8192 /* fds on the loop: a few per source and namespace */

struct watch {
	int fd;
	nr_io_cb cb;
	void *data;
};

struct running_source {
	const struct nr_source_desc *desc;
	void *state;
	bool up;
	char why[160];
};

struct nr_daemon {
	struct nr_config *cfg;
	int epfd, sigfd, lock_fd;
	struct watch watches[MAX_WATCH];
	struct nr_queue *q;
	struct nr_writer *w;
	struct running_source sources[8];
	size_t nsources;
	int64_t start_ns;
	bool stop;
};

const struct nr_config *nr_daemon_config(const struct nr_daemon *d)
{
	return d->cfg;
}

int nr_daemon_emit(struct nr_daemon *d, const struct nr_record *r)
{
	return nr_queue_push(d->q, r);
}

size_t nr_daemon_queue_room(struct nr_daemon *d)
{
	return nr_queue_room(d->q);
}

void nr_daemon_gap(struct nr_daemon *d, enum nr_source_id src, int64_t from, int64_t to,
		   const char *reason, int64_t lost)
{
	struct nr_record r;

	nr_record_gap(&r, src, from, to, reason, lost);
	nr_daemon_emit(d, &r);
}

void nr_daemon_kick(struct nr_daemon *d)
{
	nr_queue_kick(d->q);
}

bool nr_daemon_wait_room(struct nr_daemon *d, size_t rows)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	for (int i = 0; i < 2500 && nr_queue_room(d->q) < rows; i++) {
		nr_queue_kick(d->q);
		nanosleep(&ts, NULL);
	}
	return nr_queue_room(d->q) >= rows;
}

int nr_daemon_watch(struct nr_daemon *d, int fd, nr_io_cb cb, void *data)
{
	struct epoll_event ev = { .events = EPOLLIN };

	for (int i = 0; i < MAX_WATCH; i++) {
		if (d->watches[i].cb)
			continue;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		d->watches[i] = (struct watch){ fd, cb, data };
		return 0;
	}
	return -ENOSPC;
}

void nr_daemon_unwatch(struct nr_daemon *d, int fd)
{
	for (int i = 0; i < MAX_WATCH; i++)
		if (d->watches[i].cb && d->watches[i].fd == fd) {
			epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
			memset(&d->watches[i], 0, sizeof(d->watches[i]));
		}
}

int nr_daemon_timer(struct nr_daemon *d, int64_t interval_ns, nr_io_cb cb, void *data)
{
	struct itimerspec its = {
		.it_interval = { interval_ns / NR_NS_PER_SEC, interval_ns % NR_NS_PER_SEC },
		.it_value = { interval_ns / NR_NS_PER_SEC, interval_ns % NR_NS_PER_SEC },
	};
	int fd, r;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = nr_daemon_watch(d, fd, cb, data);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* ---- health -------------------------------------------------------------------------- */

void nr_daemon_health(struct nr_daemon *d, enum nr_source_id src, int64_t now,
		      const char *metric, double v)
{
	struct nr_record r;

	nr_record_health(&r, src, now, metric, v);
	/* About @src, but produced (and counted in the queue) by the recorder. */
	r.source = NR_SRC_RECORDER;
	nr_daemon_emit(d, &r);
}

static void emit_health(struct nr_daemon *d)
{
	struct nr_writer_stats ws;
	struct nr_queue_stats qs;
	int64_t now = nr_now_ns();
	char metric[40];

	nr_queue_stats(d->q, &qs);
	nr_writer_stats(d->w, &ws);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "queue_depth", (double)qs.depth);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "queue_high_water", (double)qs.high_water);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "queue_capacity", (double)qs.capacity);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "commits", (double)ws.commits);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "commit_ms_last", (double)ws.commit_ns_last / 1e6);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "commit_ms_max", (double)ws.commit_ns_max / 1e6);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "store_lost", (double)ws.lost);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "store_blind", ws.blind ? 1 : 0);
	nr_daemon_health(d, NR_SRC_RECORDER, now, "partitions_deleted", (double)ws.partitions_deleted);
	for (int t = 0; t < NR_T_COUNT; t++) {
		snprintf(metric, sizeof(metric), "rows_%s", nr_table_name(t));
		nr_daemon_health(d, NR_SRC_RECORDER, now, metric, (double)ws.rows[t]);
	}
	for (size_t i = 0; i < d->nsources; i++) {
		enum nr_source_id id = d->sources[i].desc->id;

		nr_daemon_health(d, id, now, "available", d->sources[i].up ? 1 : 0);
		nr_daemon_health(d, id, now, "queued", (double)qs.pushed[id]);
		nr_daemon_health(d, id, now, "queue_dropped", (double)qs.dropped[id]);
		if (d->sources[i].up && d->sources[i].state && d->sources[i].desc->health)
			d->sources[i].desc->health(d, d->sources[i].state, now);
	}
}

static void on_health(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) > 0)
		emit_health(d);
}

static void on_duration(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) > 0)
		d->stop = true;
}

/* ---- signals ------------------------------------------------------------------------- */

static void reload(struct nr_daemon *d)
{
	struct nr_config fresh;
	char err[512];

	if (!d->cfg->config_path) {
		log_info("SIGHUP: no config file to re-read");
		return;
	}
	nr_config_init(&fresh);
	/* The file, then the command line over it again: options given at start still win. */
	if (nr_config_parse_args(&fresh, d->cfg->argc, d->cfg->argv, err, sizeof(err)) != 0) {
		log_error("SIGHUP: %s; keeping the current settings", err);
		nr_config_clear(&fresh);
		return;
	}
	d->cfg->log_level = fresh.log_level;
	d->cfg->retention_age_ns = fresh.retention_age_ns;
	d->cfg->retention_bytes = fresh.retention_bytes;
	nr_log_set_level(fresh.log_level);
	nr_writer_set_retention(d->w, fresh.retention_age_ns, fresh.retention_bytes);
	log_info("SIGHUP: re-read %s (log-level, retention-age, retention-size applied; other "
		 "settings take effect at restart)",
		 d->cfg->config_path);
	nr_config_clear(&fresh);
}

static void on_signal(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else {
			log_info("signal %s: stopping", strsignal((int)si.ssi_signo));
			d->stop = true;
		}
	}
}

/* ---- sources ------------------------------------------------------------------------- */

static void source_unavailable_gap(struct nr_daemon *d, struct running_source *s, int64_t from,
				   int64_t to)
{
	char reason[80];

	snprintf(reason, sizeof(reason), "unavailable: %.66s", s->why);
	nr_daemon_gap(d, s->desc->id, from, to, reason, NR_NONE);
}

static void start_source(struct nr_daemon *d, const struct nr_source_desc *desc)
{
	struct running_source *s = &d->sources[d->nsources++];
	int r;

	s->desc = desc;
	r = desc->start(d, &s->state, s->why, sizeof(s->why));
	if (r < 0) {
		if (!s->why[0])
			snprintf(s->why, sizeof(s->why), "%s", strerror(-r));
		/* One line, and the fact in the store: "no data" must not read as "nothing
		 * happened". */
		log_warn("source %s: %s; recording the other sources", desc->name, s->why);
		source_unavailable_gap(d, s, d->start_ns, d->start_ns);
		return;
	}
	s->up = true;
	log_info("source %s: recording", desc->name);
}

static void start_sources(struct nr_daemon *d)
{
	for (size_t i = 0; i < nr_sources_count; i++)
		if (d->cfg->sources & nr_sources[i].bit)
			start_source(d, &nr_sources[i]);
	if (d->cfg->synthetic_rate)
		start_source(d, &nr_source_synthetic);
}

static void stop_sources(struct nr_daemon *d)
{
	int64_t now = nr_now_ns();

	for (size_t i = d->nsources; i-- > 0;) {
		struct running_source *s = &d->sources[i];

		if (s->up) {
			/* stop() also writes the source's last health counters. */
			if (s->desc->stop)
				s->desc->stop(d, s->state);
			s->state = NULL;
		} else {
			source_unavailable_gap(d, s, d->start_ns, now);
		}
	}
}

/* ---- run ----------------------------------------------------------------------------- */

static int setup_signals(struct nr_daemon *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Blocked before any thread starts, so every thread inherits the mask and signals
	 * reach only the signalfd. */
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		return -EINVAL;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0)
		return -errno;
	return nr_daemon_watch(d, d->sigfd, on_signal, NULL);
}

static void loop(struct nr_daemon *d)
{
	struct epoll_event evs[32];

	while (!d->stop) {
		int n = epoll_wait(d->epfd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %m");
			break;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = &d->watches[evs[i].data.u32];

			if (w->cb)
				w->cb(d, w->fd, evs[i].events, w->data);
		}
		nr_queue_kick(d->q);
	}
}

int nr_daemon_run(struct nr_config *c)
{
	struct nr_daemon d = { .cfg = c, .epfd = -1, .sigfd = -1, .lock_fd = -1 };
	struct nr_writer_opts wo = {
		.dir = c->data_dir,
		.width_ns = c->partition_ns,
		.batch_rows = c->batch_rows,
		.batch_ns = c->batch_ns,
		.retention_age_ns = c->retention_age_ns,
		.retention_bytes = c->retention_bytes,
		.synthetic = c->synthetic_rate > 0,
		.downtime_ns = 2 * c->health_ns + 5 * NR_NS_PER_SEC,
		.version = NETREC_VERSION,
	};
	char srcs[128];
	int r, status = 1;

	d.start_ns = nr_now_ns();
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epfd < 0)
		return log_error("epoll: %m"), 1;
	r = setup_signals(&d);
	if (r < 0) {
		log_error("signals: %s", strerror(-r));
		goto out;
	}
	/* An unwritable directory is not fatal (the writer counts the loss and retries);
	 * a second recorder on the same directory is. */
	if (mkdir(c->data_dir, 0755) < 0 && errno != EEXIST)
		log_error("cannot create %s: %m; will retry", c->data_dir);
	r = nr_store_lock(c->data_dir);
	if (r == -EBUSY) {
		log_error("another netrecd is recording into %s", c->data_dir);
		goto out;
	}
	d.lock_fd = r;
	r = nr_queue_new(c->queue_size, &d.q);
	if (r < 0) {
		log_error("queue: %s", strerror(-r));
		goto out;
	}
	r = nr_writer_start(&wo, d.q, &d.w);
	if (r < 0) {
		log_error("writer: %s", strerror(-r));
		goto out;
	}
	nr_config_sources_str(c->sources, srcs, sizeof(srcs));
	log_info("recording into %s (partitions of %llds, sources: %s%s)", c->data_dir,
		 (long long)(c->partition_ns / NR_NS_PER_SEC), srcs,
		 c->synthetic_rate ? ", synthetic" : "");
	start_sources(&d);
	r = nr_daemon_timer(&d, c->health_ns, on_health, NULL);
	if (r < 0)
		log_warn("health timer: %s", strerror(-r));
	if (c->duration_ns > 0) {
		r = nr_daemon_timer(&d, c->duration_ns, on_duration, NULL);
		if (r < 0) {
			log_error("duration timer: %s", strerror(-r));
			d.stop = true;
		}
	}
	emit_health(&d);
	loop(&d);
	stop_sources(&d);
	emit_health(&d);
	nr_queue_close(d.q);
	r = nr_writer_stop(d.w);
	d.w = NULL;
	status = r < 0 ? 1 : 0;
out:
	if (d.w) {
		nr_queue_close(d.q);
		nr_writer_stop(d.w);
	}
	nr_queue_free(d.q);
	for (int i = 0; i < MAX_WATCH; i++)
		if (d.watches[i].cb && d.watches[i].fd != d.sigfd)
			close(d.watches[i].fd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	close(d.epfd);
	return status;
}
