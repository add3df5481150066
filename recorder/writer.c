// SPDX-License-Identifier: MIT
/*
 * The writer thread (see writer.h): batching, rollover, background finalization, retention,
 * and blind periods when the store cannot be written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "nrtime.h"
#include "store.h"
#include "writer.h"

#define POP_MAX 1024
#define RETRY_NS (1 * NR_NS_PER_SEC) /* how often a blind writer tries the store again */
#define IDLE_NS (1 * NR_NS_PER_SEC) /* longest sleep: rollover is checked at least this often */
#define INTERNAL_MAX 64

struct nr_writer {
	struct nr_writer_opts o;
	char *dir;
	struct nr_queue *q;
	pthread_t thread;
	struct nr_meta_info meta;

	/* Written by the thread, read under lock by nr_writer_stats(). */
	pthread_mutex_t lock;
	struct nr_writer_stats st;
	int64_t retention_age_ns;
	uint64_t retention_bytes;

	/* Thread-local state. */
	struct nr_part *cur;
	size_t txn_rows;
	uint64_t txn_tab[NR_T_COUNT];
	uint64_t txn_src[NR_SRC_COUNT];
	int64_t txn_start_mono;

	bool in_group; /* the last record written had NR_REC_MORE */
	bool blind;
	int64_t blind_since_ns, next_retry_mono;
	int64_t last_blind_log_mono; /* a store that flaps is logged once a minute, not per flap */
	bool blind_logged;
	uint64_t blind_lost[NR_SRC_COUNT];
	char blind_reason[64];

	struct nr_record internal[INTERNAL_MAX]; /* the writer's own rows, waiting for a txn */
	size_t ninternal;

	pthread_t finalizer;
	bool finalizer_running;
	int exit_status;
};

static void flush_internal(struct nr_writer *w);

/* Queues one of the writer's own rows. A full buffer is written out first; if the store
 * cannot take it (blind), the row is counted as lost like any other. */
static void internal_add(struct nr_writer *w, const struct nr_record *r)
{
	if (w->ninternal == INTERNAL_MAX)
		flush_internal(w);
	if (w->ninternal < INTERNAL_MAX) {
		w->internal[w->ninternal++] = *r;
		return;
	}
	w->blind_lost[NR_SRC_RECORDER]++;
	pthread_mutex_lock(&w->lock);
	w->st.lost++;
	pthread_mutex_unlock(&w->lock);
}

/* ---- finalization in the background -------------------------------------------------- */

struct finalize_job {
	char *dir;
	int64_t now_ns;
};

/* Finalizes every writable partition whose window is over: the one just closed, and any left
 * by a crash, a stop or an earlier failure. Idempotent. */
static void *finalize_thread(void *arg)
{
	struct finalize_job *job = arg;
	struct nr_part_info *parts;
	size_t n;

	if (nr_store_list(job->dir, &parts, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			char err[256] = "";
			int r;

			if (parts[i].finalized || parts[i].start_ns + parts[i].width_ns > job->now_ns)
				continue;
			r = nr_store_finalize_path(parts[i].path, err, sizeof(err));
			if (r < 0)
				log_warn("cannot finalize %s: %s (%s); will retry at the next rollover",
					 parts[i].path, strerror(-r), err);
			else
				log_debug("finalized %s", parts[i].path);
		}
		nr_store_list_free(parts, n);
	}
	free(job->dir);
	free(job);
	return NULL;
}

static void finalizer_join(struct nr_writer *w)
{
	if (w->finalizer_running) {
		pthread_join(w->finalizer, NULL);
		w->finalizer_running = false;
	}
}

static void finalizer_kick(struct nr_writer *w)
{
	struct finalize_job *job;

	finalizer_join(w);
	job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->dir = strdup(w->dir);
	job->now_ns = nr_now_ns();
	if (!job->dir || pthread_create(&w->finalizer, NULL, finalize_thread, job) != 0) {
		free(job->dir);
		free(job);
		return;
	}
	w->finalizer_running = true;
}

static void run_retention(struct nr_writer *w)
{
	struct nr_part_info *del;
	int64_t age, now = nr_now_ns();
	uint64_t bytes;
	size_t n;

	pthread_mutex_lock(&w->lock);
	age = w->retention_age_ns;
	bytes = w->retention_bytes;
	pthread_mutex_unlock(&w->lock);
	if (!age && !bytes)
		return;
	if (nr_store_retention(w->dir, now, age, bytes, w->cur ? nr_part_path(w->cur) : NULL, &del,
			       &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct nr_record r;

		log_info("retention: deleted %s (%llu bytes)", del[i].name,
			 (unsigned long long)del[i].size);
		nr_record_health(&r, NR_SRC_RECORDER, now, "retention_deleted_start_s",
				 (double)(del[i].start_ns / NR_NS_PER_SEC));
		internal_add(w, &r);
		nr_record_health(&r, NR_SRC_RECORDER, now, "retention_deleted_bytes",
				 (double)del[i].size);
		internal_add(w, &r);
	}
	pthread_mutex_lock(&w->lock);
	w->st.partitions_deleted += n;
	pthread_mutex_unlock(&w->lock);
	nr_store_list_free(del, n);
}

/* The recorder's own absence is a blind period too: "no data" must not read as "nothing
 * happened". Health rows are written at least every health interval while it runs. */
static void note_downtime(struct nr_writer *w)
{
	int64_t last, now = nr_now_ns();
	struct nr_record r;

	if (!w->o.downtime_ns || nr_store_last_seen(w->dir, &last) < 0)
		return;
	if (now - last <= w->o.downtime_ns)
		return;
	nr_record_gap(&r, NR_SRC_RECORDER, last, now, "recorder not running", NR_NONE);
	internal_add(w, &r);
	log_info("no recorder ran for %.0f s before this start; recorded as a gap",
		 (double)(now - last) / NR_NS_PER_SEC);
}

/* ---- blind periods ------------------------------------------------------------------- */

static bool quiet(struct nr_writer *w)
{
	int64_t now = nr_mono_ns();

	if (w->last_blind_log_mono && now - w->last_blind_log_mono < 60 * NR_NS_PER_SEC)
		return true;
	w->last_blind_log_mono = now;
	return false;
}

static void go_blind(struct nr_writer *w, int err, const char *what)
{
	uint64_t lost = 0;

	for (int s = 0; s < NR_SRC_COUNT; s++) {
		w->blind_lost[s] += w->txn_src[s];
		lost += w->txn_src[s];
	}
	log_debug("blind: %s failed (%s) with %llu rows in the transaction", what, strerror(-err),
		  (unsigned long long)lost);
	memset(w->txn_src, 0, sizeof(w->txn_src));
	memset(w->txn_tab, 0, sizeof(w->txn_tab));
	w->txn_rows = 0;
	if (w->cur) {
		nr_part_rollback(w->cur);
		nr_part_close(w->cur, false);
		w->cur = NULL;
	}
	pthread_mutex_lock(&w->lock);
	w->st.lost += lost;
	w->st.blind = true;
	pthread_mutex_unlock(&w->lock);
	w->next_retry_mono = nr_mono_ns() + RETRY_NS;
	if (w->blind)
		return;
	w->blind = true;
	w->blind_since_ns = nr_now_ns();
	snprintf(w->blind_reason, sizeof(w->blind_reason), "store: %s", strerror(-err));
	/* Logged once per blind period, not per failed write; and at most once a minute when the
	 * store keeps flapping between full and not. The gaps rows carry every period. */
	w->blind_logged = !quiet(w);
	nr_log(w->blind_logged ? NR_LOG_ERROR : NR_LOG_DEBUG,
	       "cannot write to %s (%s: %s); counting what is lost until it can", w->dir, what,
	       strerror(-err));
}

static void blind_count(struct nr_writer *w, const struct nr_record *r)
{
	unsigned s = r->source < NR_SRC_COUNT ? r->source : NR_SRC_RECORDER;

	w->blind_lost[s]++;
	pthread_mutex_lock(&w->lock);
	w->st.lost++;
	pthread_mutex_unlock(&w->lock);
}

/* ---- batching ------------------------------------------------------------------------ */

static int ensure_part(struct nr_writer *w)
{
	int64_t now = nr_now_ns();
	char err[256] = "";
	int r;

	if (w->cur)
		return 0;
	if (mkdir(w->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	r = nr_part_open(w->dir, nr_part_align(now, w->o.width_ns), w->o.width_ns, &w->meta,
			 &w->cur, err, sizeof(err));
	if (r == -EROFS) {
		/* The window's partition was finalized already (clock stepped back, or a width
		 * change): write into a new one-second-aligned partition of the same window. */
		int64_t start = nr_part_align(now, NR_NS_PER_SEC);

		r = nr_part_open(w->dir, start, nr_part_align(now, w->o.width_ns) +
				 w->o.width_ns - start, &w->meta, &w->cur, err, sizeof(err));
	}
	if (r < 0 && err[0])
		log_debug("open partition: %s", err);
	return r;
}

static int commit(struct nr_writer *w)
{
	int64_t t0, dt;
	int r;

	if (!w->cur || !w->txn_rows)
		return 0;
	t0 = nr_mono_ns();
	r = nr_part_commit(w->cur);
	if (r < 0) {
		go_blind(w, r, "commit");
		return r;
	}
	dt = nr_mono_ns() - t0;
	pthread_mutex_lock(&w->lock);
	for (int t = 0; t < NR_T_COUNT; t++)
		w->st.rows[t] += w->txn_tab[t];
	w->st.commits++;
	w->st.commit_ns_last = dt;
	if (dt > w->st.commit_ns_max)
		w->st.commit_ns_max = dt;
	pthread_mutex_unlock(&w->lock);
	memset(w->txn_tab, 0, sizeof(w->txn_tab));
	memset(w->txn_src, 0, sizeof(w->txn_src));
	w->txn_rows = 0;
	return 0;
}

static int write_one(struct nr_writer *w, const struct nr_record *rec)
{
	int r;

	w->in_group = rec->flags & NR_REC_MORE;
	if (w->blind) {
		blind_count(w, rec);
		return -EIO;
	}
	r = ensure_part(w);
	if (r < 0) {
		go_blind(w, r, "open partition");
		blind_count(w, rec);
		return r;
	}
	if (!w->txn_rows) {
		r = nr_part_begin(w->cur);
		if (r < 0) {
			go_blind(w, r, "begin");
			blind_count(w, rec);
			return r;
		}
		w->txn_start_mono = nr_mono_ns();
	}
	r = nr_part_insert(w->cur, rec);
	if (r < 0) {
		if (r == -EINVAL) {
			/* A bad record, not a bad store: count it, store the loss, go on. */
			struct nr_record gap;
			int64_t now = nr_now_ns();

			pthread_mutex_lock(&w->lock);
			w->st.lost++;
			pthread_mutex_unlock(&w->lock);
			nr_record_gap(&gap, rec->source, now, now, "invalid record", 1);
			internal_add(w, &gap);
			return r;
		}
		go_blind(w, r, "insert");
		blind_count(w, rec);
		return r;
	}
	w->txn_rows++;
	w->txn_tab[rec->table < NR_T_COUNT ? rec->table : 0]++;
	w->txn_src[rec->source < NR_SRC_COUNT ? rec->source : 0]++;
	if (w->txn_rows >= w->o.batch_rows)
		return commit(w);
	return 0;
}

static void flush_internal(struct nr_writer *w)
{
	size_t n = w->ninternal;

	if (!n || w->blind)
		return;
	w->ninternal = 0;
	for (size_t i = 0; i < n; i++)
		write_one(w, &w->internal[i]);
}

static void rollover_if_due(struct nr_writer *w)
{
	int r;

	int64_t now = nr_now_ns();

	if (!w->cur || now < nr_part_end_ns(w->cur))
		return;
	/* Not in the middle of a group, unless its end is overdue (a source that died). */
	if (w->in_group && now < nr_part_end_ns(w->cur) + NR_NS_PER_SEC)
		return;
	commit(w);
	if (!w->cur)
		return;
	r = nr_part_close(w->cur, false);
	w->cur = NULL;
	if (r < 0)
		nr_log(r == -EBUSY ? NR_LOG_DEBUG : NR_LOG_WARN,
		       "closing partition: %s (the finalizer will finish it)", strerror(-r));
	finalizer_kick(w);
	run_retention(w);
}

/* Tries the store again while blind. The gap rows of the blind period are written in their
 * own transaction; until that commits, the blind state (and its counts) stays as it is. */
static void retry_if_due(struct nr_writer *w)
{
	struct nr_record gaps[NR_SRC_COUNT + 1];
	int64_t now = nr_now_ns();
	uint64_t total = 0;
	size_t n = 0;
	int r;

	if (!w->blind || nr_mono_ns() < w->next_retry_mono)
		return;
	w->next_retry_mono = nr_mono_ns() + RETRY_NS;
	for (int s = 0; s < NR_SRC_COUNT; s++) {
		if (!w->blind_lost[s])
			continue;
		total += w->blind_lost[s];
		nr_record_gap(&gaps[n++], s, w->blind_since_ns, now, w->blind_reason,
			      (int64_t)w->blind_lost[s]);
	}
	if (!n)
		nr_record_gap(&gaps[n++], NR_SRC_RECORDER, w->blind_since_ns, now, w->blind_reason, 0);
	r = ensure_part(w);
	if (r < 0)
		return;
	r = nr_part_begin(w->cur);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = nr_part_insert(w->cur, &gaps[i]);
	if (r == 0)
		r = nr_part_commit(w->cur);
	if (r < 0) {
		nr_part_rollback(w->cur);
		nr_part_close(w->cur, false);
		w->cur = NULL;
		return;
	}
	nr_log(w->blind_logged ? NR_LOG_INFO : NR_LOG_DEBUG,
	       "store writable again after %.1f s; %llu records lost, recorded in gaps",
		 (double)(now - w->blind_since_ns) / NR_NS_PER_SEC, (unsigned long long)total);
	memset(w->blind_lost, 0, sizeof(w->blind_lost));
	w->blind = false;
	pthread_mutex_lock(&w->lock);
	w->st.blind = false;
	w->st.rows[NR_T_GAPS] += n;
	pthread_mutex_unlock(&w->lock);
}

static int64_t next_deadline(struct nr_writer *w)
{
	int64_t mono = nr_mono_ns(), d = mono + IDLE_NS;

	if (w->txn_rows && w->txn_start_mono + w->o.batch_ns < d)
		d = w->txn_start_mono + w->o.batch_ns;
	if (w->cur) {
		/* In the middle of a group, rollover waits for its end (at most 1 s late). */
		int64_t left = nr_part_end_ns(w->cur) + (w->in_group ? NR_NS_PER_SEC : 0) - nr_now_ns();

		if (mono + left < d)
			d = mono + (left > 0 ? left : 0);
	}
	if (w->blind && w->next_retry_mono < d)
		d = w->next_retry_mono;
	return d;
}

static void *writer_thread(void *arg)
{
	struct nr_writer *w = arg;
	struct nr_record *buf;

	buf = malloc(POP_MAX * sizeof(*buf));
	if (!buf) {
		w->exit_status = -ENOMEM;
		return NULL;
	}
	note_downtime(w);
	finalizer_kick(w);
	run_retention(w);
	for (;;) {
		size_t n = nr_queue_pop(w->q, buf, POP_MAX, next_deadline(w));

		retry_if_due(w);
		rollover_if_due(w);
		flush_internal(w);
		for (size_t i = 0; i < n; i++) {
			bool grouped = w->in_group;

			write_one(w, &buf[i]);
			/* Roll over every few hundred records, and as soon as a group ends. */
			if (i % 256 == 255 || grouped)
				rollover_if_due(w);
		}
		if (w->txn_rows && nr_mono_ns() >= w->txn_start_mono + w->o.batch_ns)
			commit(w);
		if (n == 0 && nr_queue_closed_and_empty(w->q))
			break;
	}
	/* Shutdown: losses the queue could not report yet, then the last commit. */
	{
		size_t n = nr_queue_take_losses(w->q, buf, POP_MAX);

		for (size_t i = 0; i < n; i++)
			internal_add(w, &buf[i]);
	}
	if (w->blind) {
		w->next_retry_mono = 0;
		retry_if_due(w);
	}
	flush_internal(w);
	commit(w);
	if (w->blind) {
		uint64_t lost = 0;

		for (int s = 0; s < NR_SRC_COUNT; s++)
			lost += w->blind_lost[s];
		log_error("store still not writable at exit: %llu records lost",
			  (unsigned long long)lost);
		w->exit_status = -EIO;
	}
	if (w->cur) {
		bool over = nr_now_ns() >= nr_part_end_ns(w->cur);
		int r = nr_part_close(w->cur, over);

		w->cur = NULL;
		if (r < 0)
			log_warn("closing partition: %s", strerror(-r));
	}
	finalizer_join(w);
	free(buf);
	return NULL;
}

int nr_writer_start(const struct nr_writer_opts *o, struct nr_queue *q, struct nr_writer **ret)
{
	struct nr_writer *w;
	int r;

	if (!o->dir || o->width_ns < NR_NS_PER_SEC || !o->batch_rows || o->batch_ns <= 0)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->o = *o;
	w->dir = strdup(o->dir);
	if (!w->dir) {
		free(w);
		return -ENOMEM;
	}
	w->o.dir = w->dir;
	w->q = q;
	w->retention_age_ns = o->retention_age_ns;
	w->retention_bytes = o->retention_bytes;
	nr_meta_info_fill(&w->meta, o->version, o->synthetic);
	pthread_mutex_init(&w->lock, NULL);
	r = -pthread_create(&w->thread, NULL, writer_thread, w);
	if (r < 0) {
		pthread_mutex_destroy(&w->lock);
		free(w->dir);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

void nr_writer_set_retention(struct nr_writer *w, int64_t age_ns, uint64_t bytes)
{
	pthread_mutex_lock(&w->lock);
	w->retention_age_ns = age_ns;
	w->retention_bytes = bytes;
	pthread_mutex_unlock(&w->lock);
}

void nr_writer_stats(struct nr_writer *w, struct nr_writer_stats *ret)
{
	pthread_mutex_lock(&w->lock);
	*ret = w->st;
	w->st.commit_ns_max = 0;
	pthread_mutex_unlock(&w->lock);
}

int nr_writer_stop(struct nr_writer *w)
{
	int r;

	if (!w)
		return 0;
	pthread_join(w->thread, NULL);
	r = w->exit_status;
	pthread_mutex_destroy(&w->lock);
	free(w->dir);
	free(w);
	return r;
}
