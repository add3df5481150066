// SPDX-License-Identifier: MIT
/*
 * bench-ctgen: a connection generator for the conntrack benchmark (bench/conntrack.sh), and
 * the server it connects to, so the benchmark needs no other tools.
 *
 *   bench-ctgen [options] ADDR PORT             client: connect()+close() in a loop
 *   bench-ctgen --listen [options] ADDR PORT    server: accept()+close() as fast as possible
 *
 * Client: each of --workers processes keeps --inflight nonblocking connects in flight (epoll);
 * a connect that completes is counted and closed at once, with a FIN, or with a RST under
 * --rst (SO_LINGER 0: no TIME_WAIT, faster). --rate caps the total connections started per
 * second (0 = as fast as possible). Stops after --duration, or at SIGINT/SIGTERM, then prints
 *
 *   ctgen: connections=N errors=N seconds=S rate=R/s workers=W inflight=K close=fin|rst
 *
 * Errors are failed connects (refused, timed out, no free local port...), listed by errno.
 * Connects still in flight at the end are abandoned and counted in neither.
 * With --udp, a "connection" is a new socket that sends one byte and closes: one conntrack
 * entry per source port; the count is of datagrams sent. A new socket may get a source port
 * whose entry still exists (UDP entries live 30 s), so conntrack sees a few less news.
 *
 * Server: --workers processes, each with its own SO_REUSEPORT listener (or UDP socket) on
 * ADDR:PORT, accept and close until SIGINT/SIGTERM or --duration, then it prints
 * `ctgen: accepted=N` (or `received=N`). It prints `ctgen: listening on ADDR:PORT` on stderr
 * once every socket is bound. IPv4 and IPv6 addresses both work.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define MAX_WORKERS 64
#define MAX_INFLIGHT 4096

/* Errors counted by kind; the last slot takes every other errno. */
static const int err_codes[] = { ECONNREFUSED, ETIMEDOUT, EADDRNOTAVAIL, ECONNRESET,
				 EHOSTUNREACH, ENETUNREACH, EMFILE, 0 };
#define N_ERR (sizeof(err_codes) / sizeof(err_codes[0]))

/* One per worker, in memory shared with the parent, updated as the worker goes: a worker that
 * is killed leaves its counts behind. */
struct worker_stats {
	volatile uint64_t done;
	volatile uint64_t errors[N_ERR];
};

struct config {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned workers, inflight;
	uint64_t duration_ns, rate;
	bool rst, udp, listen;
};

static volatile sig_atomic_t stop_requested;
static pid_t children[MAX_WORKERS];
static unsigned n_children;

static void on_stop_worker(int sig)
{
	stop_requested = 1;
}

/* The parent passes the stop on to its workers (they are not in a shared process group
 * when the driver signals the parent by PID). */
static void on_stop_parent(int sig)
{
	int saved = errno;

	stop_requested = 1;
	for (unsigned i = 0; i < n_children; i++)
		kill(children[i], SIGTERM);
	errno = saved;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-ctgen [options] ADDR PORT\n"
		"  -l, --listen         server: accept (or receive) and close\n"
		"  -w, --workers N      processes (default 2)\n"
		"  -d, --duration SEC   client: run time (default 10); server: 0 = until signalled\n"
		"  -r, --rate N         client: connections/s over all workers, 0 = max (default 0)\n"
		"  -i, --inflight N     client: connects in flight per worker (default 16)\n"
		"      --rst            client: close with a RST (SO_LINGER 0)\n"
		"  -u, --udp            UDP: one datagram per new socket instead of a TCP connection\n");
}

static void count_error(struct worker_stats *st, int err)
{
	size_t i;

	for (i = 0; i < N_ERR - 1 && err_codes[i] != err; i++)
		;
	st->errors[i]++;
}

/* Starts one nonblocking connect. Returns the socket (registered with @ep) if it is in
 * flight, -1 if it finished at once (counted), -2 if no local port was free (counted; the
 * caller backs off rather than spin). */
static int tcp_start(const struct config *cfg, int ep, struct worker_stats *st)
{
	static const struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct epoll_event ev = { .events = EPOLLOUT };
	int fd, err;

	fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		count_error(st, errno);
		return -2;
	}
	if (cfg->rst && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		bench_die("SO_LINGER");
	if (connect(fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) == 0) {
		st->done++;
		close(fd);
		return -1;
	}
	if (errno != EINPROGRESS) {
		err = errno;
		count_error(st, err);
		close(fd);
		return err == EADDRNOTAVAIL ? -2 : -1;
	}
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		bench_die("epoll_ctl");
	return fd;
}

/* A connect finished (EPOLLOUT or EPOLLERR): count it and close. Closing removes the socket
 * from the epoll set. */
static void tcp_finish(int fd, struct worker_stats *st)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		count_error(st, err);
	else
		st->done++;
	close(fd);
}

static void udp_one(const struct config *cfg, struct worker_stats *st)
{
	int fd = socket(cfg->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		count_error(st, errno);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) < 0 ||
	    send(fd, "x", 1, 0) < 0)
		count_error(st, errno);
	else
		st->done++;
	close(fd);
}

/* How many connections this worker may have started by @t: all of them without a rate. */
static uint64_t allowed(const struct config *cfg, uint64_t start, uint64_t t)
{
	double per_worker = (double)cfg->rate / cfg->workers;

	if (!cfg->rate)
		return UINT64_MAX;
	return (uint64_t)((double)(t - start) / 1e9 * per_worker) + 1;
}

static void client_worker(const struct config *cfg, uint64_t start, struct worker_stats *st)
{
	uint64_t deadline = start + cfg->duration_ns, started = 0;
	struct epoll_event evs[64];
	unsigned inflight = 0;
	int ep = -1;

	if (!cfg->udp) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0)
			bench_die("epoll_create1");
	}
	while (!stop_requested) {
		uint64_t t = bench_now_ns(), cap = allowed(cfg, start, t);
		uint64_t wait_ns;
		int timeout_ms, n;

		if (t >= deadline)
			break;
		if (cfg->udp) {
			if (started < cap) {
				udp_one(cfg, st);
				started++;
			} else {
				struct timespec ts = { 0, 200000 };

				nanosleep(&ts, NULL);
			}
			continue;
		}
		while (inflight < cfg->inflight && started < cap) {
			int fd = tcp_start(cfg, ep, st);

			started++;
			if (fd >= 0) {
				inflight++;
			} else if (fd == -2) {
				/* Out of local ports (or fds): wait for some to free up. */
				struct timespec ts = { 0, 1000000 };

				nanosleep(&ts, NULL);
				break;
			}
		}
		/* Wait for completions; with a rate and a free slot, only until the next start is
		 * due. Never longer than 100 ms, so the deadline and a stop are seen. */
		wait_ns = deadline - t;
		if (cfg->rate && inflight < cfg->inflight) {
			uint64_t next = start + (uint64_t)((double)started * 1e9 * cfg->workers /
							   (double)cfg->rate);

			uint64_t due = next > t ? next - t : 0;

			if (due < wait_ns)
				wait_ns = due;
		}
		timeout_ms = wait_ns >= 100000000u ? 100 : (int)((wait_ns + 999999) / 1000000);
		n = epoll_wait(ep, evs, 64, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			bench_die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			tcp_finish(evs[i].data.fd, st);
			inflight--;
		}
	}
	/* Connects still in flight are abandoned: exit closes them. */
}

static int server_socket(const struct config *cfg)
{
	int one = 1;
	int fd = socket(cfg->addr.ss_family, (cfg->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		bench_die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		bench_die("setsockopt");
	if (bind(fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) < 0)
		bench_die("bind");
	/* The backlog is capped by net.core.somaxconn (4096 by default, per namespace). */
	if (!cfg->udp && listen(fd, 65535) < 0)
		bench_die("listen");
	return fd;
}

static void server_worker(const struct config *cfg, int fd, struct worker_stats *st)
{
	char buf[2048];
	int c;

	/* A signal interrupts the blocking call (no SA_RESTART); one that lands between the
	 * check and the call is caught by the parent's SIGKILL after its grace period. */
	while (!stop_requested) {
		if (cfg->udp) {
			if (recv(fd, buf, sizeof(buf), 0) >= 0)
				st->done++;
			else if (errno != EINTR)
				count_error(st, errno);
			continue;
		}
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0) {
			st->done++;
			close(c);
		} else if (errno != EINTR) {
			count_error(st, errno);
			if (errno == EMFILE || errno == ENFILE) {
				struct timespec ts = { 0, 1000000 };

				nanosleep(&ts, NULL);
			}
		}
	}
}

static void print_errors(const struct worker_stats *sum)
{
	uint64_t total = 0;

	for (size_t i = 0; i < N_ERR; i++)
		total += sum->errors[i];
	if (!total)
		return;
	printf("ctgen: errors:");
	for (size_t i = 0; i < N_ERR; i++) {
		if (!sum->errors[i])
			continue;
		if (err_codes[i])
			printf(" %s=%llu", strerrorname_np(err_codes[i]),
			       (unsigned long long)sum->errors[i]);
		else
			printf(" other=%llu", (unsigned long long)sum->errors[i]);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	enum { OPT_RST = 256 };
	static const struct option opts[] = {
		{ "listen", no_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "rst", no_argument, NULL, OPT_RST },
		{ "udp", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct config cfg = { .workers = 2, .inflight = 16 };
	bool duration_set = false;
	struct worker_stats *stats, sum = { 0 };
	struct sigaction sa = { 0 };
	int opt, fds[MAX_WORKERS];
	uint64_t v, start, end;
	double secs;

	bench_name = "bench-ctgen";
	bench_usage = usage;

	while ((opt = getopt_long(argc, argv, "lw:d:r:i:uh", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			cfg.listen = true;
			break;
		case 'w':
			if (!bench_parse_u64(optarg, 1, MAX_WORKERS, &v))
				bench_bad_arg("--workers", optarg);
			cfg.workers = (unsigned)v;
			break;
		case 'd':
			if (!bench_parse_seconds(optarg, &cfg.duration_ns))
				bench_bad_arg("--duration", optarg);
			duration_set = true;
			break;
		case 'r':
			if (!bench_parse_u64(optarg, 0, 100000000, &cfg.rate))
				bench_bad_arg("--rate", optarg);
			break;
		case 'i':
			if (!bench_parse_u64(optarg, 1, MAX_INFLIGHT, &v))
				bench_bad_arg("--inflight", optarg);
			cfg.inflight = (unsigned)v;
			break;
		case OPT_RST:
			cfg.rst = true;
			break;
		case 'u':
			cfg.udp = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (!bench_parse_addr(argv[optind], argv[optind + 1], &cfg.addr, &cfg.addrlen)) {
		fprintf(stderr, "bench-ctgen: bad address or port: %s %s\n", argv[optind],
			argv[optind + 1]);
		return 2;
	}
	if (!duration_set && !cfg.listen)
		cfg.duration_ns = 10000000000u;
	if (cfg.listen && cfg.duration_ns == 0)
		cfg.duration_ns = UINT64_MAX / 2;
	if (!cfg.listen && cfg.duration_ns == 0)
		bench_bad_arg("--duration", "0");

	stats = mmap(NULL, sizeof(*stats) * cfg.workers, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stats == MAP_FAILED)
		bench_die("mmap");
	memset(stats, 0, sizeof(*stats) * cfg.workers);

	/* Server sockets are bound before any worker starts, so "listening" is true when said. */
	if (cfg.listen) {
		char host[INET6_ADDRSTRLEN];
		const void *a = cfg.addr.ss_family == AF_INET
			? (const void *)&((struct sockaddr_in *)&cfg.addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)&cfg.addr)->sin6_addr;

		for (unsigned i = 0; i < cfg.workers; i++)
			fds[i] = server_socket(&cfg);
		inet_ntop(cfg.addr.ss_family, a, host, sizeof(host));
		fprintf(stderr, "ctgen: listening on %s:%s (%s, %u workers)\n", host,
			argv[optind + 1], cfg.udp ? "udp" : "tcp", cfg.workers);
	}

	/* Block the stop signals until the handlers and the child list are in place. */
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);

	start = bench_now_ns();
	for (unsigned i = 0; i < cfg.workers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			bench_die("fork");
		if (pid == 0) {
			sa.sa_handler = on_stop_worker;
			sigaction(SIGINT, &sa, NULL);
			sigaction(SIGTERM, &sa, NULL);
			/* Do not outlive a parent killed with SIGKILL. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			sigprocmask(SIG_SETMASK, &old, NULL);
			if (getppid() == 1)
				_exit(0);
			if (cfg.listen)
				server_worker(&cfg, fds[i], &stats[i]);
			else
				client_worker(&cfg, start, &stats[i]);
			_exit(0);
		}
		children[n_children++] = pid;
	}
	if (cfg.listen)
		for (unsigned i = 0; i < cfg.workers; i++)
			close(fds[i]);
	sa.sa_handler = on_stop_parent;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* The server stops at a signal or its duration; a worker that missed the stop (signal
	 * before its blocking call) is killed after a grace period. */
	if (cfg.listen) {
		uint64_t deadline = start + cfg.duration_ns;

		while (!stop_requested && bench_now_ns() < deadline) {
			struct timespec ts = { 0, 50000000 };

			nanosleep(&ts, NULL);
		}
		on_stop_parent(SIGTERM);
		for (int k = 0; k < 20; k++) {
			struct timespec ts = { 0, 10000000 };
			unsigned alive = 0;

			for (unsigned i = 0; i < n_children; i++)
				if (children[i] && waitpid(children[i], NULL, WNOHANG) == 0)
					alive++;
				else
					children[i] = 0;
			if (!alive)
				break;
			nanosleep(&ts, NULL);
		}
		for (unsigned i = 0; i < n_children; i++)
			if (children[i])
				kill(children[i], SIGKILL);
	}
	for (unsigned i = 0; i < n_children; i++) {
		while (children[i] && waitpid(children[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	end = bench_now_ns();

	for (unsigned i = 0; i < cfg.workers; i++) {
		sum.done += stats[i].done;
		for (size_t k = 0; k < N_ERR; k++)
			sum.errors[k] += stats[i].errors[k];
	}
	if (cfg.listen) {
		printf("ctgen: %s=%llu\n", cfg.udp ? "received" : "accepted",
		       (unsigned long long)sum.done);
	} else {
		uint64_t errors = 0;

		for (size_t k = 0; k < N_ERR; k++)
			errors += sum.errors[k];
		secs = (double)(end - start) / 1e9;
		printf("ctgen: connections=%llu errors=%llu seconds=%.2f rate=%.0f/s workers=%u "
		       "inflight=%u close=%s%s\n",
		       (unsigned long long)sum.done, (unsigned long long)errors, secs,
		       (double)sum.done / secs, cfg.workers, cfg.inflight,
		       cfg.udp ? "none" : cfg.rst ? "rst" : "fin", cfg.udp ? " proto=udp" : "");
	}
	print_errors(&sum);
	return 0;
}
