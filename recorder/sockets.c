// SPDX-License-Identifier: MIT
/*
 * The socket source: TCP and UDP connections of every recorded namespace, with their
 * counters (tcp_info) and the process that owns them.
 *
 * Rows (table `sockets`):
 *   'open'   the first time netrecd sees a connection (a sample), counters as of then;
 *   'sample' a later sample, written only when the counters or the state changed, so idle
 *            connections cost no rows;
 *   'close'  the connection's final counters, from sock_diag's destroy notification, for
 *            every TCP connection and connected UDP socket however short it was.
 * A connection was open at T if it has a row at or before T and no 'close' row before T.
 *
 * Per namespace: a sock_diag socket subscribed to the destroy groups (a large receive buffer;
 * drops counted with SO_MEMINFO and written as gaps), and every sockets-interval a dump of
 * TCP (with tcp_info) and UDP, plus the namespace's addresses (for direction 'local').
 * Listening TCP sockets and bound, unconnected UDP sockets are the namespace's listeners: no
 * rows of their own, but they decide direction 'in' and name the process of accepted
 * connections that closed before a sample.
 *
 * The process: a cgroup/sock_create BPF program on the cgroup v2 root remembers the creator
 * of every socket by cookie (bpf/sockets.bpf.c), so a client that exits a millisecond after
 * its connection still has its pid on the rows. Accepted sockets are not created by
 * socket(2): /proc/PID/fd names the process holding one (samples), else the listener's owner
 * (closes). Sockets older than netrecd come from /proc too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "config.h"
#include "daemon.h"
#include "grow.h"
#include "log.h"
#include "netns.h"
#include "nlmc.h"
#include "nrtime.h"
#include "procfd.h"
#include "sockdiag.h"
#include "sockets.h"
#include "sockets.skel.h"
#include "sources.h"

#ifndef BPF_CGROUP_INET_SOCK_CREATE
#define BPF_CGROUP_INET_SOCK_CREATE 2
#endif

#define EV_MSG_SIZE 8192 /* one notification: inet_diag_msg and tcp_info, under 1 KiB */
#define EV_BUDGET 32
#define DUMP_BUF_SIZE (64 * 1024)
#define TICK_NS NR_NS_PER_SEC
#define MISSED_ROUNDS 2 /* not in this many dumps and no close seen: forgotten */

/* SKNLGRP_INET_TCP_DESTROY and friends (linux/sock_diag.h), as group numbers. */
static const unsigned destroy_groups[] = { 1, 2, 3, 4 };

/* One connection netrecd has written rows for. */
struct conn {
	uint64_t netns, cookie;
	struct nr_diag_sock last; /* as of the last row */
	struct nr_proc_owner owner;
	char direction[8];
	uint32_t round; /* the last dump it was in */
	bool want_proc; /* the owner is to be looked up in /proc */
	bool pending; /* new or changed in this round: a row is due */
	bool fresh; /* its first row is 'open' */
	struct conn *next; /* hash chain */
};

struct listener {
	uint8_t proto;
	struct nr_addr addr; /* the bound address; all zeros for any */
	uint16_t port;
	uint64_t cookie, inode;
	struct nr_proc_owner owner;
};

struct sk_src;

struct sk_ns {
	struct sk_src *src;
	const struct nr_netns *ns;
	uint64_t inode;
	char label[128];
	int ev_fd;
	uint64_t drops; /* SK_MEMINFO_DROPS accounted for */
	int64_t ok_ns; /* close notifications known complete up to here */
	struct listener *lis;
	size_t nlis;
	struct nr_addr *addrs; /* the namespace's own addresses */
	size_t naddrs;
	int64_t lis_refresh_mono; /* listeners dumped again for an unknown close, rate-limited */
	int64_t ev_failed_ns; /* not subscribed since (wall clock); 0 when subscribed */
	int ev_err;
	uint64_t n_lost;
	struct sk_ns *next;
};

struct sk_src {
	struct nr_daemon *d;
	struct nr_netns_watch *watch;
	struct sk_ns *list;
	struct sockets_bpf *skel;
	struct bpf_link *link;
	int owners_fd; /* -1: no process tracking by BPF */
	int rcvbuf;
	int timer_fd, tick_fd;
	uint32_t round, seq;
	bool stopping;
	struct conn **buckets;
	size_t nbuckets, nconns;
	char *dump_buf;
	struct nr_nlmc mc; /* recvmmsg buffers, shared: one namespace is read at a time */
	uint64_t emitted;
	bool wait_ok; /* this sample may still wait for the writer */
	int64_t no_pid; /* rows written without a process since the last gaps row */
	int64_t no_pid_since;
	/* health */
	uint64_t n_open, n_sample, n_close, n_owner_bpf, n_owner_proc, n_owner_listener;
	uint64_t n_owner_unknown, n_missed, n_lost, n_dump_errors, n_refused, n_bad;
	int64_t last_round_ns;
	int64_t last_sample_ns; /* wall clock of the last sample */
};

/* ---- connections ----------------------------------------------------------------------- */

static size_t conn_hash(uint64_t netns, uint64_t cookie, size_t n)
{
	uint64_t h = (cookie ^ (netns * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;

	return (size_t)(h >> 32) & (n - 1);
}

static struct conn *conn_find(struct sk_src *s, uint64_t netns, uint64_t cookie)
{
	for (struct conn *c = s->buckets[conn_hash(netns, cookie, s->nbuckets)]; c; c = c->next)
		if (c->cookie == cookie && c->netns == netns)
			return c;
	return NULL;
}

static void conn_grow(struct sk_src *s)
{
	size_t n = s->nbuckets * 2;
	struct conn **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->nbuckets; i++)
		while (s->buckets[i]) {
			struct conn *c = s->buckets[i];
			size_t h = conn_hash(c->netns, c->cookie, n);

			s->buckets[i] = c->next;
			c->next = b[h];
			b[h] = c;
		}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

static struct conn *conn_add(struct sk_src *s, uint64_t netns, uint64_t cookie)
{
	struct conn *c = calloc(1, sizeof(*c));
	size_t h;

	if (!c)
		return NULL;
	if (s->nconns >= 2 * s->nbuckets)
		conn_grow(s);
	c->netns = netns;
	c->cookie = cookie;
	c->owner.pid = NR_NONE;
	h = conn_hash(netns, cookie, s->nbuckets);
	c->next = s->buckets[h];
	s->buckets[h] = c;
	s->nconns++;
	return c;
}

static void conn_del(struct sk_src *s, struct conn *c)
{
	for (struct conn **pp = &s->buckets[conn_hash(c->netns, c->cookie, s->nbuckets)]; *pp;
	     pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			s->nconns--;
			free(c);
			return;
		}
}

/* ---- processes ------------------------------------------------------------------------- */

/* The creator the BPF program saw, taken out of its map (netrecd keeps it from now on). */
static bool owner_from_bpf(struct sk_src *s, uint64_t cookie, struct nr_proc_owner *o)
{
	struct nr_sock_owner bo;

	if (s->owners_fd < 0 || !cookie || bpf_map_lookup_elem(s->owners_fd, &cookie, &bo) < 0)
		return false;
	bpf_map_delete_elem(s->owners_fd, &cookie);
	o->pid = bo.pid;
	memcpy(o->comm, bo.comm, sizeof(o->comm) - 1);
	o->comm[sizeof(o->comm) - 1] = '\0';
	return true;
}

static void forget_bpf_owner(struct sk_src *s, uint64_t cookie)
{
	if (s->owners_fd >= 0 && cookie)
		bpf_map_delete_elem(s->owners_fd, &cookie);
}

/* ---- namespace state: listeners and addresses ------------------------------------------ */

static bool addr_any(const struct nr_addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->bytes, zero, a->family == AF_INET ? 4 : 16) == 0;
}

/* The same address, an IPv4-mapped IPv6 address counting as its IPv4 one. */
static bool addr_same(const struct nr_addr *a, const struct nr_addr *b)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *pa = a->bytes, *pb = b->bytes;
	size_t la = a->family == AF_INET ? 4 : 16, lb = b->family == AF_INET ? 4 : 16;

	if (la == 16 && lb == 4 && memcmp(pa, mapped, 12) == 0) {
		pa += 12;
		la = 4;
	}
	if (lb == 16 && la == 4 && memcmp(pb, mapped, 12) == 0) {
		pb += 12;
		lb = 4;
	}
	return la == lb && memcmp(pa, pb, la) == 0;
}

static const struct listener *listener_find(const struct sk_ns *n, uint8_t proto,
					    const struct nr_addr *addr, uint16_t port)
{
	const struct listener *any = NULL;

	for (size_t i = 0; i < n->nlis; i++) {
		const struct listener *l = &n->lis[i];

		if (l->proto != proto || l->port != port)
			continue;
		if (addr_same(&l->addr, addr))
			return l;
		if (addr_any(&l->addr))
			any = l;
	}
	return any;
}

static bool is_local_addr(const struct sk_ns *n, const struct nr_addr *a)
{
	if ((a->family == AF_INET && a->bytes[0] == 127) ||
	    (a->family == AF_INET6 && addr_same(a, &(struct nr_addr){ .family = AF_INET6,
								     .bytes[15] = 1 })))
		return true;
	for (size_t i = 0; i < n->naddrs; i++)
		if (addr_same(&n->addrs[i], a))
			return true;
	return false;
}

/* in: the local port was listening; local: the other end is an address of this namespace
 * (both ends here); out otherwise. */
static void direction(const struct sk_ns *n, const struct nr_diag_sock *d, char *dir)
{
	if (is_local_addr(n, &d->dst))
		strcpy(dir, "local");
	else if (d->proto == IPPROTO_TCP && listener_find(n, d->proto, &d->src, d->sport))
		strcpy(dir, "in");
	else if (d->proto == IPPROTO_UDP && d->dport && listener_find(n, d->proto, &d->src, d->sport))
		strcpy(dir, "in");
	else
		strcpy(dir, "out");
}

static bool is_listener(const struct nr_diag_sock *d)
{
	return (d->proto == IPPROTO_TCP && d->state == NR_TCP_LISTEN) ||
	       (d->proto == IPPROTO_UDP && d->dport == 0 && d->sport != 0);
}

/* ---- netlink dumps --------------------------------------------------------------------- */

struct addr_ctx {
	struct nr_addr *v;
	size_t n, cap;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_ctx *x = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct nlattr *a;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
		return MNL_CB_OK;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb) < 0)
		return MNL_CB_OK;
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != alen)
		return MNL_CB_OK;
	if (NR_GROW(x->v, x->n, x->cap, 16) < 0)
		return MNL_CB_ERROR;
	memset(&x->v[x->n], 0, sizeof(x->v[0]));
	x->v[x->n].family = ifa->ifa_family;
	memcpy(x->v[x->n].bytes, mnl_attr_get_payload(a), alen);
	x->n++;
	return MNL_CB_OK;
}

static int dump_addrs(struct sk_ns *n)
{
	char req[64];
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;
	struct addr_ctx x = { 0 };
	int r;

	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++n->src->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	r = nr_netns_dump(n->ns, NETLINK_ROUTE, req, nlh->nlmsg_len, n->src->dump_buf, DUMP_BUF_SIZE, addr_cb, &x);
	if (r < 0) {
		free(x.v);
		return r;
	}
	free(n->addrs);
	n->addrs = x.v;
	n->naddrs = x.n;
	return 0;
}

/* What one socket dump of a namespace collects. */
struct dump_ctx {
	struct sk_ns *n;
	uint8_t proto;
	struct listener *lis; /* the listeners found, rebuilt every round */
	size_t nlis, cap;
	bool listeners_only;
	int bad;
};

static void listener_add(struct dump_ctx *x, const struct nr_diag_sock *d)
{
	struct sk_ns *n = x->n;
	struct listener *l;

	if (NR_GROW(x->lis, x->nlis, x->cap, 16) < 0)
		return;
	l = &x->lis[x->nlis++];
	memset(l, 0, sizeof(*l));
	l->proto = d->proto;
	l->addr = d->src;
	l->port = d->sport;
	l->cookie = d->cookie;
	l->inode = d->inode;
	l->owner.pid = NR_NONE;
	/* Known from the last round: keep its owner. */
	for (size_t i = 0; i < n->nlis; i++)
		if (n->lis[i].cookie == d->cookie && n->lis[i].owner.pid != NR_NONE) {
			l->owner = n->lis[i].owner;
			return;
		}
	owner_from_bpf(n->src, d->cookie, &l->owner);
}

static void sock_seen(struct dump_ctx *x, const struct nr_diag_sock *d)
{
	struct sk_ns *n = x->n;
	struct sk_src *s = n->src;
	struct conn *c = conn_find(s, n->inode, d->cookie);

	if (!c) {
		c = conn_add(s, n->inode, d->cookie);
		if (!c)
			return;
		c->fresh = c->pending = true;
		c->last = *d;
		if (owner_from_bpf(s, d->cookie, &c->owner))
			s->n_owner_bpf++;
		else
			c->want_proc = d->inode != 0;
	} else {
		const struct nr_diag_sock *o = &c->last;

		if (d->state != o->state || d->bytes_sent != o->bytes_sent ||
		    d->bytes_received != o->bytes_received || d->segs_in != o->segs_in ||
		    d->segs_out != o->segs_out || d->retrans != o->retrans)
			c->pending = true;
		c->last = *d;
	}
	c->round = s->round;
}

static int sock_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *x = data;
	struct nr_diag_sock d;

	if (nr_diag_parse(nlh, x->proto, &d) < 0) {
		x->bad++;
		return MNL_CB_OK;
	}
	/* A TCP socket without tcp_info in a dump that asked for it is a time-wait socket
	 * (FIN_WAIT2 or TIME_WAIT substate): the connection's full socket is gone, and its close
	 * row was written from the destroy notification already. */
	if (d.proto == IPPROTO_TCP && !d.has_info && d.state != NR_TCP_LISTEN)
		return MNL_CB_OK;
	if (is_listener(&d))
		listener_add(x, &d);
	else if (!x->listeners_only && d.dport != 0) /* no remote end: not a connection */
		sock_seen(x, &d);
	return MNL_CB_OK;
}

/* Every TCP and UDP socket of the namespace, IPv4 and IPv6. Returns 0 or -errno. */
static int dump_sockets(struct sk_ns *n, bool listeners_only)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct dump_ctx x = { .n = n, .listeners_only = listeners_only };
	char req[NR_DIAG_REQ_SIZE];
	int r = 0;

	for (size_t p = 0; p < 2 && r == 0; p++)
		for (size_t f = 0; f < 2 && r == 0; f++) {
			size_t len = nr_diag_request(req, families[f], protos[p], ++n->src->seq);

			if (listeners_only) {
				/* Only what could be a listener, without tcp_info. */
				struct inet_diag_req_v2 *q =
					mnl_nlmsg_get_payload((struct nlmsghdr *)req);

				q->idiag_states = protos[p] == IPPROTO_TCP ? 1u << NR_TCP_LISTEN
									   : 1u << NR_TCP_CLOSE;
				q->idiag_ext = 0;
			}
			x.proto = protos[p];
			r = nr_netns_dump(n->ns, NETLINK_SOCK_DIAG, req, len, n->src->dump_buf, DUMP_BUF_SIZE, sock_cb, &x);
		}
	if (r < 0) {
		free(x.lis);
		return r;
	}
	n->src->n_bad += (uint64_t)x.bad;
	free(n->lis);
	n->lis = x.lis;
	n->nlis = x.nlis;
	return 0;
}

/* ---- rows ------------------------------------------------------------------------------ */

static void emit_row(struct sk_src *s, const char *kind, uint64_t netns, const struct nr_diag_sock *d,
		     const struct nr_proc_owner *o, const char *dir, uint64_t inode, int64_t now)
{
	struct nr_record r;
	struct nr_rec_socket *k = &r.sock;

	memset(&r, 0, sizeof(r));
	r.table = NR_T_SOCKETS;
	r.source = NR_SRC_SOCKETS;
	k->ts_ns = now;
	snprintf(k->kind, sizeof(k->kind), "%s", kind);
	k->netns = netns;
	k->proto = d->proto;
	snprintf(k->state, sizeof(k->state), "%s", nr_tcp_state_name(d->state));
	k->src = d->src;
	k->dst = d->dst;
	k->sport = d->sport;
	k->dport = d->dport;
	snprintf(k->direction, sizeof(k->direction), "%s", dir);
	k->inode = inode;
	k->cookie = d->cookie;
	k->uid = d->uid;
	k->pid = o->pid;
	memcpy(k->comm, o->comm, sizeof(k->comm));
	k->bytes_sent = d->bytes_sent;
	k->bytes_received = d->bytes_received;
	k->segs_out = d->segs_out;
	k->segs_in = d->segs_in;
	k->retrans = d->retrans;
	k->rtt_us = d->rtt_us;
	k->rttvar_us = d->rttvar_us;
	k->cwnd = d->cwnd;
	/* A first sample of a busy host is as many rows as it has connections: the dump is
	 * done, so waiting for the writer costs nothing but time. Close rows do not wait (they
	 * come from the kernel at its pace, and the loop must go on); nor does the rest of a
	 * sample once the writer has not made room in 5 s: the queue counts what it drops. */
	if (kind[0] != 'c' && s->wait_ok && ++s->emitted % 64 == 0)
		s->wait_ok = nr_daemon_wait_room(s->d, 64);
	if (o->pid == NR_NONE) {
		if (!s->no_pid)
			s->no_pid_since = now;
		s->no_pid++;
		s->n_owner_unknown++;
	}
	nr_daemon_emit(s->d, &r);
	if (kind[0] == 'o')
		s->n_open++;
	else if (kind[0] == 's')
		s->n_sample++;
	else
		s->n_close++;
}

static void no_pid_gap(struct sk_src *s, int64_t now)
{
	if (!s->no_pid)
		return;
	nr_daemon_gap(s->d, NR_SRC_SOCKETS, s->no_pid_since, now,
		      "process unknown: rows written without pid and comm", s->no_pid);
	s->no_pid = 0;
}

/* ---- close notifications --------------------------------------------------------------- */

static struct sk_ns *ns_of(struct sk_src *s, uint64_t inode)
{
	for (struct sk_ns *n = s->list; n; n = n->next)
		if (n->inode == inode)
			return n;
	return NULL;
}

/* The final row of a socket, from its destroy notification. */
static void on_close(struct sk_ns *n, const struct nr_diag_sock *d, int64_t now)
{
	struct sk_src *s = n->src;
	struct conn *c = conn_find(s, n->inode, d->cookie);
	struct nr_proc_owner o = { .pid = NR_NONE };
	char dir[8];

	if (c) {
		/* The inode is 0 by now; keep the one the samples had. */
		emit_row(s, "close", n->inode, d, &c->owner, c->direction, c->last.inode, now);
		conn_del(s, c);
		forget_bpf_owner(s, d->cookie);
		return;
	}
	/* No remote end: a listener (its destroy reports CLOSE, not LISTEN), an unconnected
	 * UDP socket, a TCP socket that never connected. Not a connection. */
	if (d->dport == 0) {
		forget_bpf_owner(s, d->cookie);
		return;
	}
	/* Shorter than a sample. The listener's owner for an accepted one: a server that
	 * started since the last round is found by dumping the listeners again (once a second
	 * at most). */
	direction(n, d, dir);
	if (!owner_from_bpf(s, d->cookie, &o)) {
		const struct listener *l = listener_find(n, d->proto, &d->src, d->sport);

		if (!l && nr_mono_ns() - n->lis_refresh_mono >= NR_NS_PER_SEC) {
			n->lis_refresh_mono = nr_mono_ns();
			dump_sockets(n, true);
			l = listener_find(n, d->proto, &d->src, d->sport);
			direction(n, d, dir);
		}
		if (l && l->owner.pid != NR_NONE) {
			o = l->owner;
			s->n_owner_listener++;
		}
	} else {
		s->n_owner_bpf++;
	}
	emit_row(s, "close", n->inode, d, &o, dir, 0, now);
}

/* Close notifications the kernel dropped (receive buffer full) since the last look: one gaps
 * row with the exact count. Their connections are forgotten once they miss two dumps. */
static void drops_check(struct sk_ns *n, int64_t now)
{
	int64_t drops = n->ev_fd >= 0 ? nr_sock_drops(n->ev_fd) : -1;
	uint64_t lost;
	char reason[96];

	if (drops < 0)
		return;
	lost = (uint32_t)((uint64_t)drops - n->drops);
	if (lost) {
		snprintf(reason, sizeof(reason),
			 "close notifications lost: receive buffer full in netns %llu",
			 (unsigned long long)n->inode);
		nr_daemon_gap(n->src->d, NR_SRC_SOCKETS, n->ok_ns, now, reason, (int64_t)lost);
		log_warn("sockets: %s: %llu close notifications lost (raise sockets-rcvbuf)",
			 n->label, (unsigned long long)lost);
		n->n_lost += lost;
		n->src->n_lost += lost;
		n->drops = (uint64_t)drops;
	}
	n->ok_ns = now;
}

struct ev_batch {
	struct sk_ns *n;
	int64_t now; /* when the batch was read; 0 before its first message */
};

static void ev_msg(const struct nlmsghdr *nlh, void *data)
{
	struct ev_batch *b = data;
	struct nr_diag_sock d;

	if (!b->now)
		b->now = nr_now_ns();
	if (nr_diag_parse(nlh, 0, &d) < 0) {
		b->n->src->n_bad++;
		return;
	}
	on_close(b->n, &d, b->now);
}

/* Reads up to @budget batches. Returns true once the socket is empty. */
static bool ev_read(struct sk_ns *n, int budget)
{
	struct sk_src *s = n->src;

	for (int i = 0; i < budget; i++) {
		struct ev_batch b = { n, 0 };
		int got = nr_nlmc_read(&s->mc, n->ev_fd, ev_msg, &b, &s->n_refused, &s->n_bad);

		if (got == -EINTR || got == -ENOBUFS)
			continue; /* ENOBUFS: counted by drops_check */
		if (got < 0) {
			if (got != -EAGAIN)
				log_warn("sockets: %s: recvmmsg: %s", n->label, strerror(-got));
			return true;
		}
	}
	return false;
}

static void on_events(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	ev_read(data, EV_BUDGET);
}

static int open_events(struct sk_ns *n)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, r, size = n->src->rcvbuf;
	int64_t drops;

	fd = nr_netns_socket(n->ns, AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_warn("sockets: %s: receive buffer: %m", n->label);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(destroy_groups) / sizeof(destroy_groups[0]); i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &destroy_groups[i],
			       sizeof(destroy_groups[i])) < 0)
			goto fail;
	r = nr_daemon_watch(n->src->d, fd, on_events, n);
	if (r < 0) {
		close(fd);
		return r;
	}
	n->ev_fd = fd;
	drops = nr_sock_drops(fd);
	n->drops = drops < 0 ? 0 : (uint64_t)drops;
	n->ok_ns = nr_now_ns();
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

/* Leaves the groups and reads what is queued: those closes happened while recording. */
static void ev_close(struct sk_ns *n)
{
	if (n->ev_fd < 0)
		return;
	for (size_t i = 0; i < sizeof(destroy_groups) / sizeof(destroy_groups[0]); i++)
		setsockopt(n->ev_fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &destroy_groups[i],
			   sizeof(destroy_groups[i]));
	while (!ev_read(n, EV_BUDGET))
		;
	drops_check(n, nr_now_ns());
	nr_daemon_unwatch(n->src->d, n->ev_fd);
	close(n->ev_fd);
	n->ev_fd = -1;
}

/* ---- samples --------------------------------------------------------------------------- */

/* One round: every namespace's addresses and sockets, then /proc for the owners still
 * unknown, then the rows due. Close notifications queued so far are read first, so that a
 * socket's close is never older than a sample of it. */
static void sample(struct sk_src *s)
{
	int64_t t0 = nr_mono_ns(), now;
	struct nr_procfd_want *w = NULL;
	size_t nw = 0, cap = 0;
	uint64_t rows0 = s->n_open + s->n_sample;
	int64_t missed = 0;

	s->round++;
	s->wait_ok = true;
	for (struct sk_ns *n = s->list; n; n = n->next) {
		int r;

		/* Close notifications queued so far, one budget's worth: a close read later
		 * still finds its connection, and a flood of closes must not hold the loop. */
		if (n->ev_fd >= 0)
			ev_read(n, EV_BUDGET);
		r = dump_addrs(n);
		if (r == 0)
			r = dump_sockets(n, false);
		if (r < 0) {
			char reason[96];

			s->n_dump_errors++;
			snprintf(reason, sizeof(reason), "socket sample failed in netns %llu: %s",
				 (unsigned long long)n->inode, strerror(-r));
			nr_daemon_gap(s->d, NR_SRC_SOCKETS, nr_now_ns(), nr_now_ns(), reason,
				      NR_NONE);
			log_warn("sockets: %s: sample: %s", n->label, strerror(-r));
		}
	}
	now = nr_now_ns();
	/* Owners wanted from /proc: new connections the BPF program did not see (older than
	 * netrecd, or accepted), and listeners without one. */
	for (size_t b = 0; b < s->nbuckets; b++)
		for (struct conn *c = s->buckets[b]; c; c = c->next) {
			if (!c->want_proc || c->round != s->round)
				continue;
			if (NR_GROW(w, nw, cap, 64) < 0)
				break;
			w[nw++] = (struct nr_procfd_want){ c->last.inode, &c->owner, false };
		}
	for (struct sk_ns *n = s->list; n; n = n->next)
		for (size_t i = 0; i < n->nlis; i++) {
			if (n->lis[i].owner.pid != NR_NONE || !n->lis[i].inode)
				continue;
			if (NR_GROW(w, nw, cap, 64) < 0)
				break;
			w[nw++] = (struct nr_procfd_want){ n->lis[i].inode, &n->lis[i].owner, false };
		}
	nr_procfd_owners(w, nw);
	free(w);
	/* The rows due, and connections gone without a close notification. */
	for (size_t b = 0; b < s->nbuckets; b++)
		for (struct conn *c = s->buckets[b], *next; c; c = next) {
			struct sk_ns *n = ns_of(s, c->netns);

			next = c->next;
			if (!n || s->round - c->round >= MISSED_ROUNDS) {
				/* Gone without a close row: its notification was lost, or its
				 * namespace is gone, or it could not be subscribed. */
				s->n_missed++;
				missed++;
				conn_del(s, c);
				continue;
			}
			if (c->round != s->round || !c->pending)
				continue;
			if (c->fresh) {
				if (c->want_proc && c->owner.pid != NR_NONE) {
					s->n_owner_proc++;
				} else if (c->owner.pid == NR_NONE) {
					const struct listener *l = listener_find(
						n, c->last.proto, &c->last.src, c->last.sport);

					if (l && l->owner.pid != NR_NONE) {
						c->owner = l->owner;
						s->n_owner_listener++;
					}
				}
				c->want_proc = false;
				direction(n, &c->last, c->direction);
			}
			emit_row(s, c->fresh ? "open" : "sample", c->netns, &c->last, &c->owner,
				 c->direction, c->last.inode, now);
			c->fresh = c->pending = false;
		}
	if (missed)
		nr_daemon_gap(s->d, NR_SRC_SOCKETS, s->last_sample_ns ? s->last_sample_ns : now, now,
			      "connections gone without a close row (their last row is their "
			      "last sample)",
			      missed);
	s->last_sample_ns = now;
	no_pid_gap(s, now);
	s->last_round_ns = nr_mono_ns() - t0;
	log_debug("sockets: sample %u: %zu connections, %llu rows, %zu owners from /proc, %.1f ms",
		  s->round, s->nconns, (unsigned long long)(s->n_open + s->n_sample - rows0), nw,
		  (double)s->last_round_ns / NR_NS_PER_MS);
}

static void on_sample(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) <= 0)
		return;
	sample(data);
}

static void on_tick(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct sk_src *s = data;
	int64_t now = nr_now_ns();
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) <= 0)
		return;
	for (struct sk_ns *n = s->list; n; n = n->next) {
		if (n->ev_fd < 0) {
			int r = open_events(n);

			if (r == 0) {
				char reason[96];

				snprintf(reason, sizeof(reason),
					 "close notifications unavailable in netns %llu: %s",
					 (unsigned long long)n->inode, strerror(n->ev_err));
				nr_daemon_gap(s->d, NR_SRC_SOCKETS, n->ev_failed_ns, now, reason,
					      NR_NONE);
				n->ev_failed_ns = 0;
				log_info("sockets: %s: subscribed to close notifications", n->label);
			}
			continue;
		}
		drops_check(n, now);
	}
	no_pid_gap(s, now);
}

/* ---- namespaces ------------------------------------------------------------------------ */

static void ns_added(struct nr_daemon *d, const struct nr_netns *ns, void *data)
{
	struct sk_src *s = data;
	struct sk_ns *n = calloc(1, sizeof(*n));
	int r;

	if (!n) {
		log_error("sockets: out of memory");
		return;
	}
	n->src = s;
	n->ns = ns;
	n->inode = ns->inode;
	n->ev_fd = -1;
	n->lis_refresh_mono = INT64_MIN / 2;
	nr_netns_label(ns, n->label, sizeof(n->label));
	n->next = s->list;
	s->list = n;
	r = open_events(n);
	if (r < 0) {
		/* Retried every second; a gaps row covers the time when it works again, or
		 * when the namespace goes or netrecd stops. */
		log_warn("sockets: %s: cannot subscribe to close notifications: %s; trying again "
			 "every second",
			 n->label, strerror(-r));
		n->ev_failed_ns = nr_now_ns();
		n->ev_err = -r;
		return;
	}
	/* Its listeners and addresses now, so that closes before the first sample have their
	 * direction and the listener's process. */
	dump_addrs(n);
	dump_sockets(n, true);
	log_info("sockets: recording %s", n->label);
}

static void ns_removed(struct nr_daemon *d, const struct nr_netns *ns, void *data)
{
	struct sk_src *s = data;
	struct sk_ns *n = NULL;

	for (struct sk_ns **pp = &s->list; *pp; pp = &(*pp)->next)
		if ((*pp)->ns == ns) {
			n = *pp;
			*pp = n->next;
			break;
		}
	if (!n)
		return;
	/* Queued closes first; they still find the namespace's listeners (it is off the list
	 * but ev_read gets it directly). */
	ev_close(n);
	if (n->ev_failed_ns) {
		char reason[96];

		snprintf(reason, sizeof(reason), "close notifications unavailable in netns %llu: %s",
			 (unsigned long long)n->inode, strerror(n->ev_err));
		nr_daemon_gap(s->d, NR_SRC_SOCKETS, n->ev_failed_ns, nr_now_ns(), reason, NR_NONE);
	}
	free(n->lis);
	free(n->addrs);
	free(n);
}

static const struct nr_netns_ops ns_ops = { ns_added, ns_removed };

/* ---- source ---------------------------------------------------------------------------- */

/* The cgroup v2 hierarchy's root, from /proc/self/mountinfo ("... - cgroup2 ..."). */
static int cgroup2_root(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], path[512];
	int fd = -1;

	if (!f)
		return -errno;
	while (fd < 0 && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - cgroup2 ");
		char root[512];

		/* Field 4 is the mount's root within the hierarchy: only "/" sees every process
		 * (a bind mount of a subtree would see only its own). */
		if (!sep || sscanf(line, "%*s %*s %*s %511s %511s", root, path) != 2 ||
		    strcmp(root, "/") != 0)
			continue;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	fclose(f);
	return fd >= 0 ? fd : -ENOENT;
}

/* Loads and attaches the creator-tracking program. On failure the source runs on without it
 * (owners from /proc and listeners only), and says so. */
static int owners_start(struct sk_src *s, uint32_t entries, char *why, size_t whylen)
{
	int cg, r;

	nr_sources_libbpf_quiet();
	s->skel = sockets_bpf__open();
	if (!s->skel) {
		snprintf(why, whylen, "cannot open the BPF object: %s", strerror(errno));
		return -errno;
	}
	bpf_map__set_max_entries(s->skel->maps.sock_owners, entries);
	r = sockets_bpf__load(s->skel);
	if (r < 0) {
		snprintf(why, whylen, "cannot load the BPF program: %s", strerror(-r));
		return r;
	}
	cg = cgroup2_root();
	if (cg < 0) {
		snprintf(why, whylen, "no cgroup v2 hierarchy mounted");
		return cg;
	}
	s->link = bpf_program__attach_cgroup(s->skel->progs.sock_create, cg);
	r = s->link ? 0 : -errno;
	close(cg);
	if (r < 0) {
		snprintf(why, whylen, "cannot attach cgroup/sock_create: %s", strerror(-r));
		return r;
	}
	s->owners_fd = bpf_map__fd(s->skel->maps.sock_owners);
	return 0;
}

void nr_sockets_health(struct nr_daemon *d, void *state, int64_t now)
{
	struct sk_src *s = state;
	unsigned nns = 0;

	for (struct sk_ns *n = s->list; n; n = n->next)
		nns++;
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "namespaces", nns);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "connections", (double)s->nconns);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "rows_open", (double)s->n_open);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "rows_sample", (double)s->n_sample);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "rows_close", (double)s->n_close);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "owner_tracking", s->owners_fd >= 0);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "owners_bpf", (double)s->n_owner_bpf);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "owners_proc", (double)s->n_owner_proc);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "owners_listener", (double)s->n_owner_listener);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "owners_unknown", (double)s->n_owner_unknown);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "closes_lost", (double)s->n_lost);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "closes_missed", (double)s->n_missed);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "dump_errors", (double)s->n_dump_errors);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "parse_errors", (double)s->n_bad);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "messages_refused", (double)s->n_refused);
	nr_daemon_health(d, NR_SRC_SOCKETS, now, "sample_seconds",
			 (double)s->last_round_ns / NR_NS_PER_SEC);
}

int nr_sockets_start(struct nr_daemon *d, void **ret, char *why, size_t whylen)
{
	const struct nr_config *c = nr_daemon_config(d);
	struct sk_src *s = calloc(1, sizeof(*s));
	char bpf_why[160] = "";
	bool any = false;
	int r;

	if (!s)
		return -ENOMEM;
	s->d = d;
	s->owners_fd = s->timer_fd = s->tick_fd = -1;
	s->rcvbuf = (int)(c->sk_rcvbuf / 2); /* the kernel doubles it */
	s->nbuckets = 1024;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	s->dump_buf = malloc(DUMP_BUF_SIZE);
	if (!s->buckets || !s->dump_buf || nr_nlmc_init(&s->mc, EV_MSG_SIZE) < 0) {
		nr_sockets_stop(d, s);
		return -ENOMEM;
	}
	if (owners_start(s, (uint32_t)c->sk_owners, bpf_why, sizeof(bpf_why)) < 0) {
		int64_t now = nr_now_ns();
		char reason[200];

		log_warn("sockets: process tracking by BPF unavailable (%s): processes come from "
			 "/proc and listeners only, and connections that end before a sample may "
			 "have none",
			 bpf_why);
		snprintf(reason, sizeof(reason), "process tracking unavailable: %s", bpf_why);
		nr_daemon_gap(d, NR_SRC_SOCKETS, now, now, reason, NR_NONE);
	}
	s->timer_fd = nr_daemon_timer(d, c->sk_interval_ns, on_sample, s);
	s->tick_fd = nr_daemon_timer(d, TICK_NS, on_tick, s);
	if (s->timer_fd < 0 || s->tick_fd < 0) {
		r = s->timer_fd < 0 ? s->timer_fd : s->tick_fd;
		snprintf(why, whylen, "timer: %s", strerror(-r));
		nr_sockets_stop(d, s);
		return r;
	}
	r = nr_netns_watch_new(d, c->netns, c->netns_rescan_ns, &ns_ops, s, &s->watch);
	if (r < 0) {
		snprintf(why, whylen, "network namespaces: %s", strerror(-r));
		nr_sockets_stop(d, s);
		return r;
	}
	for (struct sk_ns *n = s->list; n; n = n->next)
		any |= n->ev_fd >= 0;
	if (!any && s->list) {
		snprintf(why, whylen, "cannot subscribe to sock_diag close notifications");
		nr_sockets_stop(d, s);
		return -EPERM;
	}
	sample(s); /* the connections open now */
	*ret = s;
	return 0;
}

void nr_sockets_stop(struct nr_daemon *d, void *state)
{
	struct sk_src *s = state;

	if (!s)
		return;
	s->stopping = true;
	/* A last sample, so the counters up to the stop are in the store. */
	if (s->watch && s->buckets)
		sample(s);
	nr_netns_watch_free(s->watch); /* reads each namespace's queued closes */
	no_pid_gap(s, nr_now_ns());
	if (s->buckets)
		nr_sockets_health(d, s, nr_now_ns());
	if (s->timer_fd >= 0) {
		nr_daemon_unwatch(d, s->timer_fd);
		close(s->timer_fd);
	}
	if (s->tick_fd >= 0) {
		nr_daemon_unwatch(d, s->tick_fd);
		close(s->tick_fd);
	}
	if (s->n_open + s->n_close)
		log_info("sockets: recorded open=%llu sample=%llu close=%llu; closes lost=%llu",
			 (unsigned long long)s->n_open, (unsigned long long)s->n_sample,
			 (unsigned long long)s->n_close, (unsigned long long)s->n_lost);
	bpf_link__destroy(s->link);
	sockets_bpf__destroy(s->skel);
	if (s->buckets)
		for (size_t i = 0; i < s->nbuckets; i++)
			while (s->buckets[i]) {
				struct conn *c = s->buckets[i];

				s->buckets[i] = c->next;
				free(c);
			}
	free(s->buckets);
	free(s->dump_buf);
	nr_nlmc_free(&s->mc);
	free(s);
}
