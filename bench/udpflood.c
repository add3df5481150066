// SPDX-License-Identifier: MIT
/*
 * bench-udpflood: small UDP datagrams as fast as the machine sends them, and a receiver that
 * counts them, for the flows benchmark (bench/flows.sh): the packet rate that the TC programs
 * of netrecd's flow source must not slow down.
 *
 *   bench-udpflood [options] ADDR PORT           sender
 *   bench-udpflood --recv [options] ADDR PORT    receiver
 *
 * Sender: each of --workers threads has one socket per destination port (PORT to
 * PORT+ports-1), each connect()ed (the route is looked up once, not per datagram) and so with
 * its own source port: workers x ports flows. A thread sends --batch datagrams of --size bytes
 * of payload with one sendmmsg() to one port, the next batch to the next port, for --duration
 * seconds or until SIGINT/SIGTERM, then the sender prints on stdout
 *
 *   udpflood: sent=N errors=N seconds=S rate=R/s size=B workers=W ports=P flows=F cpu=C
 *
 * where cpu is the CPU time (user + system, all threads) the sender used, in seconds: on a
 * veth the receive path up to the peer's socket runs in the sender's softirq and is charged to
 * it, unless the kernel hands the softirq work to ksoftirqd.
 *
 * A failed sendmmsg() (ECONNREFUSED after an ICMP port unreachable, ENOBUFS) is counted in
 * errors and the thread goes on; the datagrams of that call are not sent and not counted.
 * The default 18-byte payload makes 64-byte Ethernet frames with IPv4 (14 + 20 + 8 + 18 +
 * 4 FCS; the veth counts 60 bytes per frame, it has no FCS).
 *
 * Receiver: each of --workers threads has one socket per port, all with SO_REUSEPORT, so the
 * kernel spreads the flows over the threads; each drains its sockets with recvmmsg() under
 * epoll. It prints `udpflood: listening on ADDR PORT-LAST` on stderr once every socket is
 * bound, runs for --duration seconds (0, the default: until SIGINT/SIGTERM) and prints
 *
 *   udpflood: received=N bytes=N seconds=S rate=R/s workers=W ports=P cpu=C
 *
 * where seconds runs from the first datagram received to the last one, and bytes counts
 * payload. Datagrams the socket had no room for are not seen here: the kernel counts them in
 * the namespace's Udp RcvbufErrors (/proc/net/snmp).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchutil.h"

#define MAX_WORKERS 64
#define MAX_PORTS 4096
#define MAX_BATCH 1024
#define MAX_SIZE 65507 /* the largest UDP payload over IPv4 */
#define RECV_BUF 2048  /* per datagram; larger ones are truncated, still counted */

struct config {
	struct sockaddr_storage addr; /* port: the first one */
	socklen_t addrlen;
	unsigned workers, ports, batch, size;
	uint64_t duration_ns;
	int rcvbuf; /* receiver: SO_RCVBUFFORCE bytes, 0 = the kernel's default */
	bool recv;
};

/* One per thread, padded to its own cache line: written by that thread only, read once it
 * has been joined. */
struct worker {
	pthread_t thread;
	const struct config *cfg;
	uint64_t packets, bytes, errors;
	uint64_t first_ns, last_ns; /* receiver: first and last datagram, 0 if none */
} __attribute__((aligned(64)));

static atomic_bool stop;
static pthread_barrier_t start_barrier;
static struct worker workers[MAX_WORKERS];

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-udpflood [options] ADDR PORT\n"
		"  -r, --recv           receiver: count datagrams (default: send them)\n"
		"  -w, --workers N      threads (default 1)\n"
		"  -d, --duration SEC   sender: run time (default 10); receiver: 0 = until signalled\n"
		"                       (default 0)\n"
		"  -p, --ports N        ports PORT to PORT+N-1 (default 1); the sender makes one flow\n"
		"                       per port and thread\n"
		"  -s, --size BYTES     sender: UDP payload (default 18: 64-byte frames)\n"
		"  -b, --batch N        datagrams per sendmmsg/recvmmsg (default 64)\n"
		"      --rcvbuf BYTES   receiver: socket buffer, SO_RCVBUFFORCE (default 4194304;\n"
		"                       0 = the kernel's default)\n");
}

/* cfg->addr with its port advanced by @offset (the caller checked the range). */
static struct sockaddr_storage addr_at(const struct config *cfg, unsigned offset)
{
	struct sockaddr_storage a = cfg->addr;

	if (a.ss_family == AF_INET) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&a;

		a4->sin_port = htons((uint16_t)(ntohs(a4->sin_port) + offset));
	} else {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;

		a6->sin6_port = htons((uint16_t)(ntohs(a6->sin6_port) + offset));
	}
	return a;
}

static unsigned first_port(const struct config *cfg)
{
	if (cfg->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&cfg->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&cfg->addr)->sin6_port);
}

/* ---- sender ------------------------------------------------------------------------- */

static void *send_worker(void *arg)
{
	struct worker *w = arg;
	const struct config *cfg = w->cfg;
	struct mmsghdr *msgs = calloc(cfg->batch, sizeof(*msgs));
	int *fds = calloc(cfg->ports, sizeof(*fds));
	char *payload = calloc(1, cfg->size ? cfg->size : 1);
	struct iovec iov;
	uint64_t packets = 0, errors = 0;
	unsigned p = 0;

	if (!msgs || !fds || !payload)
		bench_die("calloc");
	for (unsigned i = 0; i < cfg->ports; i++) {
		struct sockaddr_storage a = addr_at(cfg, i);

		fds[i] = socket(cfg->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0)
			bench_die("socket");
		if (connect(fds[i], (struct sockaddr *)&a, cfg->addrlen) < 0)
			bench_die("connect");
	}
	/* Every message of a batch sends the same bytes: the payload is never looked at. */
	iov.iov_base = payload;
	iov.iov_len = cfg->size;
	for (unsigned i = 0; i < cfg->batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	pthread_barrier_wait(&start_barrier);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int n = sendmmsg(fds[p], msgs, cfg->batch, 0);

		if (n > 0)
			packets += (unsigned)n;
		else
			errors++;
		if (++p == cfg->ports)
			p = 0;
	}
	w->packets = packets;
	w->bytes = packets * cfg->size;
	w->errors = errors;
	for (unsigned i = 0; i < cfg->ports; i++)
		close(fds[i]);
	free(payload);
	free(fds);
	free(msgs);
	return NULL;
}

/* ---- receiver ----------------------------------------------------------------------- */

static void *recv_worker(void *arg)
{
	struct worker *w = arg;
	const struct config *cfg = w->cfg;
	struct mmsghdr *msgs = calloc(cfg->batch, sizeof(*msgs));
	struct iovec *iovs = calloc(cfg->batch, sizeof(*iovs));
	char *bufs = malloc((size_t)cfg->batch * RECV_BUF);
	struct epoll_event evs[64];
	uint64_t packets = 0, bytes = 0, first_ns = 0, last_ns = 0;
	int ep;

	if (!msgs || !iovs || !bufs)
		bench_die("calloc");
	for (unsigned i = 0; i < cfg->batch; i++) {
		iovs[i].iov_base = bufs + (size_t)i * RECV_BUF;
		iovs[i].iov_len = RECV_BUF;
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		bench_die("epoll_create1");
	for (unsigned i = 0; i < cfg->ports; i++) {
		struct sockaddr_storage a = addr_at(cfg, i);
		struct epoll_event ev = { .events = EPOLLIN };
		int one = 1, fd;

		fd = socket(cfg->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			bench_die("socket");
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
			bench_die("SO_REUSEPORT");
		if (cfg->rcvbuf &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &cfg->rcvbuf, sizeof(cfg->rcvbuf)) < 0)
			bench_die("SO_RCVBUFFORCE");
		if (bind(fd, (struct sockaddr *)&a, cfg->addrlen) < 0)
			bench_die("bind");
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			bench_die("epoll_ctl");
	}
	pthread_barrier_wait(&start_barrier);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		/* A timeout, so that a stop is seen while no datagram comes. */
		int nev = epoll_wait(ep, evs, 64, 100);

		if (nev < 0 && errno != EINTR)
			bench_die("epoll_wait");
		for (int e = 0; e < nev; e++) {
			/* At most 16 batches from one socket, then the next: no socket starves. */
			for (int round = 0; round < 16; round++) {
				int n = recvmmsg(evs[e].data.fd, msgs, cfg->batch, MSG_DONTWAIT, NULL);
				uint64_t now;

				if (n < 0) {
					if (errno != EAGAIN && errno != EINTR)
						bench_die("recvmmsg");
					break;
				}
				now = bench_now_ns();
				if (!first_ns)
					first_ns = now;
				last_ns = now;
				packets += (unsigned)n;
				for (int i = 0; i < n; i++)
					bytes += msgs[i].msg_len;
				if ((unsigned)n < cfg->batch)
					break;
			}
		}
	}
	w->packets = packets;
	w->bytes = bytes;
	w->first_ns = first_ns;
	w->last_ns = last_ns;
	close(ep); /* the sockets go with the process */
	free(bufs);
	free(iovs);
	free(msgs);
	return NULL;
}

/* CPU seconds (user + system) of every thread of the process so far. */
static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		bench_die("getrusage");
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- main --------------------------------------------------------------------------- */

/* Waits for SIGINT/SIGTERM (blocked in every thread) or @timeout_ns (0: no timeout). */
static void wait_stop(const sigset_t *set, uint64_t timeout_ns)
{
	struct timespec ts;
	uint64_t end = bench_now_ns() + timeout_ns;

	for (;;) {
		uint64_t now = bench_now_ns();
		int r;

		if (timeout_ns) {
			if (now >= end)
				return;
			ts.tv_sec = (time_t)((end - now) / 1000000000u);
			ts.tv_nsec = (long)((end - now) % 1000000000u);
			r = sigtimedwait(set, NULL, &ts);
		} else {
			r = sigwaitinfo(set, NULL);
		}
		if (r > 0)
			return;
		if (errno == EAGAIN)
			return;
		if (errno != EINTR)
			bench_die("sigtimedwait");
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "recv", no_argument, NULL, 'r' },
		{ "workers", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ports", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rcvbuf", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct config cfg = { .workers = 1, .ports = 1, .batch = 64, .size = 18,
			      .rcvbuf = 4 << 20 };
	bool duration_set = false;
	uint64_t v, t0, t1, packets = 0, bytes = 0, errors = 0, first = 0, last = 0;
	char host[INET6_ADDRSTRLEN];
	sigset_t sigs;
	double secs;
	int c;

	bench_name = "bench-udpflood";
	bench_usage = usage;
	while ((c = getopt_long(argc, argv, "rw:d:p:s:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cfg.recv = true;
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
		case 'p':
			if (!bench_parse_u64(optarg, 1, MAX_PORTS, &v))
				bench_bad_arg("--ports", optarg);
			cfg.ports = (unsigned)v;
			break;
		case 's':
			if (!bench_parse_u64(optarg, 0, MAX_SIZE, &v))
				bench_bad_arg("--size", optarg);
			cfg.size = (unsigned)v;
			break;
		case 'b':
			if (!bench_parse_u64(optarg, 1, MAX_BATCH, &v))
				bench_bad_arg("--batch", optarg);
			cfg.batch = (unsigned)v;
			break;
		case 'R':
			if (!bench_parse_u64(optarg, 0, INT32_MAX / 2, &v))
				bench_bad_arg("--rcvbuf", optarg);
			cfg.rcvbuf = (int)v;
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
	if (!bench_parse_addr(argv[optind], argv[optind + 1], &cfg.addr, &cfg.addrlen))
		bench_bad_arg("ADDR PORT", argv[optind]);
	if (first_port(&cfg) + cfg.ports - 1 > 65535)
		bench_bad_arg("--ports", "(PORT+N-1 > 65535)");
	if (!duration_set)
		cfg.duration_ns = cfg.recv ? 0 : 10 * 1000000000ull;
	if (!cfg.recv && cfg.duration_ns == 0)
		bench_bad_arg("--duration", "0 (the sender needs a run time)");

	/* Blocked before any thread starts: only sigtimedwait() in main sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0)
		bench_die("pthread_sigmask");
	if (pthread_barrier_init(&start_barrier, NULL, cfg.workers + 1) != 0)
		bench_die("pthread_barrier_init");
	for (unsigned i = 0; i < cfg.workers; i++) {
		workers[i].cfg = &cfg;
		errno = pthread_create(&workers[i].thread, NULL,
				       cfg.recv ? recv_worker : send_worker, &workers[i]);
		if (errno)
			bench_die("pthread_create");
	}
	pthread_barrier_wait(&start_barrier);
	t0 = bench_now_ns();
	if (cfg.recv) {
		inet_ntop(cfg.addr.ss_family,
			  cfg.addr.ss_family == AF_INET ?
				  (const void *)&((struct sockaddr_in *)&cfg.addr)->sin_addr :
				  (const void *)&((struct sockaddr_in6 *)&cfg.addr)->sin6_addr,
			  host, sizeof(host));
		fprintf(stderr, "udpflood: listening on %s %u-%u\n", host, first_port(&cfg),
			first_port(&cfg) + cfg.ports - 1);
	}
	wait_stop(&sigs, cfg.duration_ns);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < cfg.workers; i++) {
		pthread_join(workers[i].thread, NULL);
		packets += workers[i].packets;
		bytes += workers[i].bytes;
		errors += workers[i].errors;
		if (workers[i].first_ns && (!first || workers[i].first_ns < first))
			first = workers[i].first_ns;
		if (workers[i].last_ns > last)
			last = workers[i].last_ns;
	}
	t1 = bench_now_ns();
	if (cfg.recv) {
		secs = last > first ? (double)(last - first) / 1e9 : 0;
		printf("udpflood: received=%llu bytes=%llu seconds=%.3f rate=%.0f/s workers=%u "
		       "ports=%u cpu=%.3f\n",
		       (unsigned long long)packets, (unsigned long long)bytes, secs,
		       secs > 0 ? (double)packets / secs : 0.0, cfg.workers, cfg.ports,
		       cpu_seconds());
	} else {
		secs = (double)(t1 - t0) / 1e9;
		printf("udpflood: sent=%llu errors=%llu seconds=%.3f rate=%.0f/s size=%u workers=%u "
		       "ports=%u flows=%u cpu=%.3f\n",
		       (unsigned long long)packets, (unsigned long long)errors, secs,
		       (double)packets / secs, cfg.size, cfg.workers, cfg.ports,
		       cfg.workers * cfg.ports, cpu_seconds());
	}
	return 0;
}
