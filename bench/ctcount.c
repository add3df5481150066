// SPDX-License-Identifier: MIT
/*
 * bench-ctcount: ground truth for conntrack events. A bare nfnetlink listener (libmnl) with a
 * large receive buffer that only counts messages by type, inside one network namespace, and
 * reports the kernel's own count of messages it dropped on this socket, so a run can prove it
 * lost nothing. `conntrack -E` is not ground truth at high rates: its event socket keeps the
 * default 208 KiB buffer whatever -b says, and loses DESTROY bursts (../shared/FACTS.md).
 *
 *   bench-ctcount [--netns NAME] [--rcvbuf SIZE] [--events LIST] [--proto P]
 *                 [--duration SEC] [--interval SEC]
 *
 * Counts until SIGINT, SIGTERM or --duration, drains what is already queued, then prints
 *
 *   ctcount: new=N update=N destroy=N enobufs=N drops=N
 *
 * new = IPCTNL_MSG_CT_NEW with NLM_F_CREATE|NLM_F_EXCL, update = IPCTNL_MSG_CT_NEW without,
 * destroy = IPCTNL_MSG_CT_DELETE; enobufs = recv() calls that failed with ENOBUFS (the
 * socket overran at least once since the previous one); drops = SK_MEMINFO_DROPS, messages the
 * kernel could not queue on this socket. With --interval, a line
 * `ctcount: progress t=SEC new=N ...` is printed that often (stdout, flushed), so a driver
 * can wait for the destroys to catch up with the news. A line `ctcount: listening ...` on
 * stderr says the socket is subscribed. Exit status 0, or 1 if setting up failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>

#include "benchutil.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

/* One recv() returns one datagram; a conntrack event is a few hundred bytes. 32 KiB is
 * libmnl's MNL_SOCKET_DUMP_SIZE, which Debian 12's libmnl 1.0.4 does not define yet. */
#define RECV_BUF_SIZE 32768

#define EV_NEW (1u << 0)
#define EV_UPDATE (1u << 1)
#define EV_DESTROY (1u << 2)

struct counts {
	uint64_t new_, update, destroy, other, filtered, enobufs;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-ctcount [options]\n"
		"  -n, --netns NAME     count in the namespace /run/netns/NAME (default: current)\n"
		"  -b, --rcvbuf SIZE    receive buffer, SO_RCVBUFFORCE (K/M/G suffix; default 256M)\n"
		"  -e, --events LIST    groups to join: new,update,destroy (default all three)\n"
		"  -p, --proto P        count only this L4 protocol (tcp, udp, icmp or a number)\n"
		"  -d, --duration SEC   stop after SEC seconds (default: at SIGINT/SIGTERM)\n"
		"  -i, --interval SEC   print a progress line every SEC seconds\n");
}

static bool parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case '\0': break;
	default: return false;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return false;
	*ret = (uint64_t)v << shift;
	return true;
}

static bool parse_events(const char *s, unsigned *ret)
{
	char buf[64], *tok, *save = NULL;
	unsigned m = 0;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcasecmp(tok, "new"))
			m |= EV_NEW;
		else if (!strcasecmp(tok, "update"))
			m |= EV_UPDATE;
		else if (!strcasecmp(tok, "destroy"))
			m |= EV_DESTROY;
		else
			return false;
	}
	if (!m)
		return false;
	*ret = m;
	return true;
}

static bool parse_proto(const char *s, int *ret)
{
	char *end;
	long v;

	if (!strcasecmp(s, "tcp"))
		v = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp"))
		v = IPPROTO_UDP;
	else if (!strcasecmp(s, "icmp"))
		v = IPPROTO_ICMP;
	else {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || end == s || *end || v < 0 || v > 255)
			return false;
	}
	*ret = (int)v;
	return true;
}

/* The L4 protocol of the original tuple (CTA_TUPLE_ORIG > CTA_TUPLE_PROTO > CTA_PROTO_NUM), or
 * -1 if the message does not carry a well-formed one. Nothing else is looked at. */
static int msg_proto(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *t, *p;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != CTA_TUPLE_ORIG)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return -1;
		mnl_attr_for_each_nested(t, a) {
			if (mnl_attr_get_type(t) != CTA_TUPLE_PROTO)
				continue;
			if (mnl_attr_validate(t, MNL_TYPE_NESTED) < 0)
				return -1;
			mnl_attr_for_each_nested(p, t) {
				if (mnl_attr_get_type(p) != CTA_PROTO_NUM)
					continue;
				if (mnl_attr_validate(p, MNL_TYPE_U8) < 0)
					return -1;
				return mnl_attr_get_u8(p);
			}
		}
		return -1;
	}
	return -1;
}

static void count_msg(const struct nlmsghdr *nlh, int proto, struct counts *c)
{
	const uint16_t excl = NLM_F_CREATE | NLM_F_EXCL;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg))) {
		c->other++;
		return;
	}
	if (proto >= 0 && msg_proto(nlh) != proto) {
		c->filtered++;
		return;
	}
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case IPCTNL_MSG_CT_NEW:
		if ((nlh->nlmsg_flags & excl) == excl)
			c->new_++;
		else
			c->update++;
		break;
	case IPCTNL_MSG_CT_DELETE:
		c->destroy++;
		break;
	default:
		c->other++;
	}
}

/* Reads what is queued on the (nonblocking) socket, at most @max datagrams, so that a steady
 * flood neither delays the progress lines nor the exit. Returns false on a fatal error. */
static bool drain(struct mnl_socket *nl, void *buf, size_t bufsz, int proto, size_t max,
		  struct counts *c)
{
	for (size_t i = 0; i < max; i++) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, bufsz);
		const struct nlmsghdr *nlh = buf;
		int len;

		if (n < 0) {
			if (errno == EAGAIN)
				return true;
			if (errno == EINTR)
				continue;
			/* The socket overran: the kernel reports it once, then delivery goes on. */
			if (errno == ENOBUFS) {
				c->enobufs++;
				continue;
			}
			/* libmnl's ENOSPC: a message longer than buf, truncated. Not expected for
			 * conntrack events (a few hundred bytes); counted as other, not fatal. */
			if (errno == ENOSPC) {
				c->other++;
				continue;
			}
			return false;
		}
		len = (int)n;
		while (mnl_nlmsg_ok(nlh, len)) {
			count_msg(nlh, proto, c);
			nlh = mnl_nlmsg_next(nlh, &len);
		}
	}
	return true;
}

static uint32_t sock_drops(struct mnl_socket *nl)
{
	uint32_t mem[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mem);

	/* Older kernels return fewer fields; SK_MEMINFO_DROPS has been there since 4.x. */
	if (getsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return UINT32_MAX;
	return mem[SK_MEMINFO_DROPS];
}

static void print_counts(const char *prefix, struct mnl_socket *nl, const struct counts *c)
{
	printf("ctcount: %snew=%llu update=%llu destroy=%llu enobufs=%llu drops=%lld",
	       prefix, (unsigned long long)c->new_, (unsigned long long)c->update,
	       (unsigned long long)c->destroy, (unsigned long long)c->enobufs,
	       sock_drops(nl) == UINT32_MAX ? -1LL : (long long)sock_drops(nl));
	if (c->filtered)
		printf(" filtered=%llu", (unsigned long long)c->filtered);
	if (c->other)
		printf(" other=%llu", (unsigned long long)c->other);
	putchar('\n');
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "rcvbuf", required_argument, NULL, 'b' },
		{ "events", required_argument, NULL, 'e' },
		{ "proto", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char buf[RECV_BUF_SIZE];
	const char *netns = NULL;
	uint64_t rcvbuf = 256u << 20, duration_ns = 0, interval_ns = 0;
	uint64_t start_ns, next_progress_ns, deadline_ns;
	unsigned events = EV_NEW | EV_UPDATE | EV_DESTROY;
	int proto = -1, opt, rb, fd;
	socklen_t rblen = sizeof(rb);
	struct counts c = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;
	struct mnl_socket *nl;
	struct pollfd pfd;

	bench_name = "bench-ctcount";
	bench_usage = usage;

	while ((opt = getopt_long(argc, argv, "n:b:e:p:d:i:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'b':
			if (!parse_size(optarg, &rcvbuf) || rcvbuf == 0)
				bench_bad_arg("--rcvbuf", optarg);
			break;
		case 'e':
			if (!parse_events(optarg, &events))
				bench_bad_arg("--events", optarg);
			break;
		case 'p':
			if (!parse_proto(optarg, &proto))
				bench_bad_arg("--proto", optarg);
			break;
		case 'd':
			if (!bench_parse_seconds(optarg, &duration_ns))
				bench_bad_arg("--duration", optarg);
			break;
		case 'i':
			if (!bench_parse_seconds(optarg, &interval_ns))
				bench_bad_arg("--interval", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	/* Signals are blocked except inside ppoll(), so a SIGTERM can never fall between the
	 * check of stop_requested and the wait: the line is printed promptly. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (netns) {
		char path[PATH_MAX];

		if (strchr(netns, '/'))
			snprintf(path, sizeof(path), "%s", netns);
		else
			snprintf(path, sizeof(path), "/run/netns/%s", netns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			bench_die(path);
		if (setns(fd, CLONE_NEWNET) < 0)
			bench_die("setns");
		close(fd);
	}

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!nl)
		bench_die("mnl_socket_open2");
	/* The kernel doubles the value (for its bookkeeping) and caps it at INT_MAX. Forcing it
	 * needs CAP_NET_ADMIN; without it, fall back to what net.core.rmem_max allows. */
	rb = rcvbuf > INT_MAX / 2 ? INT_MAX / 2 : (int)rcvbuf;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) < 0) {
		fprintf(stderr, "bench-ctcount: SO_RCVBUFFORCE: %s; trying SO_RCVBUF\n",
			strerror(errno));
		if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb)) < 0)
			bench_die("SO_RCVBUF");
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		bench_die("mnl_socket_bind");
	{
		static const struct { unsigned ev; int group; } groups[] = {
			{ EV_NEW, NFNLGRP_CONNTRACK_NEW },
			{ EV_UPDATE, NFNLGRP_CONNTRACK_UPDATE },
			{ EV_DESTROY, NFNLGRP_CONNTRACK_DESTROY },
		};

		for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
			int g = groups[i].group;

			if (!(events & groups[i].ev))
				continue;
			if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
				bench_die("NETLINK_ADD_MEMBERSHIP");
		}
	}
	if (getsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rb, &rblen) < 0)
		rb = -1;
	fprintf(stderr, "ctcount: listening in netns %s, events%s%s%s, proto %s, rcvbuf %d bytes\n",
		netns ? netns : "(current)", events & EV_NEW ? " new" : "",
		events & EV_UPDATE ? " update" : "", events & EV_DESTROY ? " destroy" : "",
		proto < 0 ? "any" : (proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp"
								   : "other"), rb);

	pfd.fd = mnl_socket_get_fd(nl);
	pfd.events = POLLIN;
	start_ns = bench_now_ns();
	deadline_ns = duration_ns ? start_ns + duration_ns : UINT64_MAX;
	next_progress_ns = interval_ns ? start_ns + interval_ns : UINT64_MAX;
	while (!stop_requested) {
		uint64_t t = bench_now_ns(), until = deadline_ns < next_progress_ns ? deadline_ns
									       : next_progress_ns;
		struct timespec ts, *tsp = NULL;
		int r;

		if (t >= deadline_ns)
			break;
		if (t >= next_progress_ns) {
			char prefix[64];

			snprintf(prefix, sizeof(prefix), "progress t=%.1f ",
				 (double)(t - start_ns) / 1e9);
			print_counts(prefix, nl, &c);
			next_progress_ns += interval_ns;
			continue;
		}
		if (until != UINT64_MAX) {
			ts.tv_sec = (time_t)((until - t) / 1000000000u);
			ts.tv_nsec = (long)((until - t) % 1000000000u);
			tsp = &ts;
		}
		r = ppoll(&pfd, 1, tsp, &waitmask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			bench_die("ppoll");
		}
		if (r > 0 && !drain(nl, buf, sizeof(buf), proto, 4096, &c))
			bench_die("recv");
	}
	/* What the kernel queued before the stop still counts: 256 MiB hold about a million
	 * events; a source that keeps producing cannot hold the exit up for long. */
	if (!drain(nl, buf, sizeof(buf), proto, 2000000, &c))
		bench_die("recv");
	print_counts("", nl, &c);
	mnl_socket_close(nl);
	return 0;
}
