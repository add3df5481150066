// SPDX-License-Identifier: MIT
/*
 * The conntrack source: every conntrack event of every recorded network namespace, parsed
 * with libmnl (see "rows" below), one `conntrack` row each, plus a table dump at start (event
 * 'dump') so that connections older than the recorder are known.
 *
 * Per namespace there is one event socket, subscribed to the configured groups, with a large
 * receive buffer (SO_RCVBUFFORCE): DESTROY events come in bursts of thousands when the kernel
 * garbage-collects, and the buffer must absorb the burst, not the average. When it does not,
 * the kernel drops events and reports ENOBUFS. The kernel also counts every dropped message
 * on the socket (SO_MEMINFO, SK_MEMINFO_DROPS), so an overrun becomes a `gaps` row with the
 * exact number of events lost and the window they were lost in, followed by a resync dump of
 * the table. Events are read in batches with recvmmsg and handed to the queue, which never
 * blocks; a full queue is counted there.
 *
 * Dumps run on their own socket, asynchronously on the loop, so events keep flowing while a
 * large table is dumped.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/sock_diag.h>

#include "config.h"
#include "conntrack.h"
#include "daemon.h"
#include "log.h"
#include "netns.h"
#include "nlmc.h"
#include "nrtime.h"
#include "sources.h"


#define EV_MSG_SIZE 4096 /* one event: a few hundred bytes */
#define EV_BUDGET 32 /* recvmmsg calls per wake-up, then the loop serves others */
#define DUMP_BUF_SIZE 65536
#define DUMP_BUDGET 64
/* A dump reads on only while the queue has this much room (one read brings a few hundred
 * entries at most); otherwise it pauses, and the kernel waits for it. */
#define DUMP_ROOM 4096
#define DUMP_PAUSE_NS (5 * NR_NS_PER_MS)
#define RESYNC_MIN_NS (5 * NR_NS_PER_SEC) /* at most one resync dump per 5 s per namespace */
#define TICK_NS NR_NS_PER_SEC
#define OVERRUN_MAX_NS (10 * NR_NS_PER_SEC) /* a long overrun is reported in pieces this long */

static const char *const ev_names[NR_CT__COUNT] = { "new", "update", "destroy", "dump" };

struct ct_src;

struct ct_ns {
	struct ct_src *src;
	const struct nr_netns *ns; /* owned by the watch; NULL once the namespace is gone */
	uint64_t inode;
	char label[128];
	int ev_fd, dump_fd;
	uint32_t dump_seq, dump_portid;
	const char *dump_reason; /* "start", "resync" or "final" */
	int64_t dump_start_ns;
	bool resync_wanted, dump_paused;
	bool closing; /* the recorder stops or the namespace is gone */
	bool finishing; /* gone: on the closing list until its final dump ends */
	/* Subscribing to events failed: retried on the tick; the gap covers the whole time. */
	int ev_err;
	int64_t ev_failed_ns;
	int64_t last_dump_end_mono;
	/* Overrun: the kernel dropped events. An episode opens at the first ENOBUFS (or drop
	 * count increase) and closes at the first tick without new drops, or after
	 * OVERRUN_MAX_NS; then one gap row gets the kernel's drop count and a resync follows. */
	bool overrun;
	int64_t overrun_mono;
	int64_t ok_ns; /* events are known complete up to here */
	int64_t tick_ns; /* when the last tick looked at the drop count */
	uint64_t drops; /* SK_MEMINFO_DROPS accounted for */
	uint64_t drops_tick; /* SK_MEMINFO_DROPS at the last tick */
	int acct, tstamp, events_sysctl; /* last values read, -1 unknown */
	uint64_t n[NR_CT__COUNT], n_overruns, n_lost, n_bad, n_refused;
	struct ct_ns *next;
};

struct ct_src {
	struct nr_daemon *d;
	struct nr_netns_watch *watch;
	struct ct_ns *list;
	struct ct_ns *closing; /* gone namespaces whose final dump is still running */
	unsigned events; /* NR_CT_EV_* */
	int rcvbuf;
	bool accounting, force_events;
	bool stopping;
	int timer_fd;
	int resume_fd; /* one-shot timer: paused dumps go on */
	size_t dump_room; /* queue room a dump needs to read on */
	unsigned ticks;
	/* Rate limit over one-second windows (conntrack-max-rate). */
	uint64_t max_rate;
	int64_t rl_sec, rl_count, rl_shed, rl_shed_from_ns, rl_shed_to_ns;
	uint64_t n_shed, n_pauses;
	/* Totals, for health, including namespaces that are gone. */
	uint64_t tot[NR_CT__COUNT], tot_overruns, tot_lost, tot_bad, tot_refused, n_gone;
	struct nr_nlmc mc; /* recvmmsg buffers, shared: one namespace is read at a time */
	char *dump_buf;
};

/* ---- rows ------------------------------------------------------------------------------ */

/*
 * The attributes are read here with libmnl, each one checked for its type's size, and those
 * netrecd does not store are skipped. libnetfilter_conntrack's parser (nfct_nlmsg_parse)
 * calls exit(1) on an attribute of unexpected size ("ABI breakage"), which fuzzing reached
 * at once: a daemon cannot hand that decision to a library. The tests still build their
 * messages with libnetfilter_conntrack, the way the kernel lays them out.
 */

static const char *const tcp_states[] = {
	"NONE",	      "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",	     "SYN_SENT2",
};

struct ct_tuple {
	struct nr_addr src, dst;
	bool has_proto;
	uint8_t proto;
	uint16_t sport, dport; /* host order */
	bool has_icmp;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;
};

/* A fixed-size attribute of the size its type has; anything else is refused. */
static bool attr_ok(const struct nlattr *a, enum mnl_attr_data_type t)
{
	return mnl_attr_validate(a, t) == 0;
}

static int parse_ip(const struct nlattr *nest, struct ct_tuple *t)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		struct nr_addr *dst;
		size_t len = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case CTA_IP_V4_SRC:
		case CTA_IP_V4_DST:
			if (len != 4)
				return -EINVAL;
			dst = mnl_attr_get_type(a) == CTA_IP_V4_SRC ? &t->src : &t->dst;
			dst->family = AF_INET;
			memcpy(dst->bytes, mnl_attr_get_payload(a), 4);
			break;
		case CTA_IP_V6_SRC:
		case CTA_IP_V6_DST:
			if (len != 16)
				return -EINVAL;
			dst = mnl_attr_get_type(a) == CTA_IP_V6_SRC ? &t->src : &t->dst;
			dst->family = AF_INET6;
			memcpy(dst->bytes, mnl_attr_get_payload(a), 16);
			break;
		default:
			break;
		}
	}
	return 0;
}

static int parse_proto(const struct nlattr *nest, struct ct_tuple *t)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case CTA_PROTO_NUM:
			if (!attr_ok(a, MNL_TYPE_U8))
				return -EINVAL;
			t->proto = mnl_attr_get_u8(a);
			t->has_proto = true;
			break;
		case CTA_PROTO_SRC_PORT:
		case CTA_PROTO_DST_PORT:
			if (!attr_ok(a, MNL_TYPE_U16))
				return -EINVAL;
			*(mnl_attr_get_type(a) == CTA_PROTO_SRC_PORT ? &t->sport : &t->dport) =
				ntohs(mnl_attr_get_u16(a));
			break;
		case CTA_PROTO_ICMP_ID:
		case CTA_PROTO_ICMPV6_ID:
			if (!attr_ok(a, MNL_TYPE_U16))
				return -EINVAL;
			t->icmp_id = ntohs(mnl_attr_get_u16(a));
			t->has_icmp = true;
			break;
		case CTA_PROTO_ICMP_TYPE:
		case CTA_PROTO_ICMPV6_TYPE:
			if (!attr_ok(a, MNL_TYPE_U8))
				return -EINVAL;
			t->icmp_type = mnl_attr_get_u8(a);
			t->has_icmp = true;
			break;
		case CTA_PROTO_ICMP_CODE:
		case CTA_PROTO_ICMPV6_CODE:
			if (!attr_ok(a, MNL_TYPE_U8))
				return -EINVAL;
			t->icmp_code = mnl_attr_get_u8(a);
			t->has_icmp = true;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int parse_tuple(const struct nlattr *nest, struct ct_tuple *t)
{
	const struct nlattr *a;
	int r = 0;

	if (!attr_ok(nest, MNL_TYPE_NESTED))
		return -EINVAL;
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == CTA_TUPLE_IP)
			r = attr_ok(a, MNL_TYPE_NESTED) ? parse_ip(a, t) : -EINVAL;
		else if (mnl_attr_get_type(a) == CTA_TUPLE_PROTO)
			r = attr_ok(a, MNL_TYPE_NESTED) ? parse_proto(a, t) : -EINVAL;
		if (r < 0)
			return r;
	}
	return 0;
}

/* Packets and bytes of one direction; the kernel sends 64-bit counters (32-bit ones are
 * from kernels long gone, read all the same). */
static int parse_counters(const struct nlattr *nest, uint64_t *packets, uint64_t *bytes)
{
	const struct nlattr *a;

	if (!attr_ok(nest, MNL_TYPE_NESTED))
		return -EINVAL;
	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case CTA_COUNTERS_PACKETS:
		case CTA_COUNTERS_BYTES:
			if (!attr_ok(a, MNL_TYPE_U64))
				return -EINVAL;
			*(mnl_attr_get_type(a) == CTA_COUNTERS_PACKETS ? packets : bytes) =
				be64toh(mnl_attr_get_u64(a));
			break;
		case CTA_COUNTERS32_PACKETS:
		case CTA_COUNTERS32_BYTES:
			if (!attr_ok(a, MNL_TYPE_U32))
				return -EINVAL;
			*(mnl_attr_get_type(a) == CTA_COUNTERS32_PACKETS ? packets : bytes) =
				ntohl(mnl_attr_get_u32(a));
			break;
		default:
			break;
		}
	}
	return 0;
}

static int parse_timestamp(const struct nlattr *nest, struct nr_rec_conntrack *c)
{
	const struct nlattr *a;

	if (!attr_ok(nest, MNL_TYPE_NESTED))
		return -EINVAL;
	mnl_attr_for_each_nested(a, nest) {
		int type = mnl_attr_get_type(a);

		if (type != CTA_TIMESTAMP_START && type != CTA_TIMESTAMP_STOP)
			continue;
		if (!attr_ok(a, MNL_TYPE_U64))
			return -EINVAL;
		/* nf_conntrack_timestamp: wall-clock nanoseconds (ktime_get_real_ns) already. */
		*(type == CTA_TIMESTAMP_START ? &c->start_ns : &c->stop_ns) =
			(int64_t)be64toh(mnl_attr_get_u64(a));
	}
	return 0;
}

/* CTA_PROTOINFO > CTA_PROTOINFO_TCP > CTA_PROTOINFO_TCP_STATE */
static int parse_protoinfo(const struct nlattr *nest, struct nr_rec_conntrack *c)
{
	const struct nlattr *a, *b;

	if (!attr_ok(nest, MNL_TYPE_NESTED))
		return -EINVAL;
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) != CTA_PROTOINFO_TCP)
			continue;
		if (!attr_ok(a, MNL_TYPE_NESTED))
			return -EINVAL;
		mnl_attr_for_each_nested(b, a) {
			uint8_t st;

			if (mnl_attr_get_type(b) != CTA_PROTOINFO_TCP_STATE)
				continue;
			if (!attr_ok(b, MNL_TYPE_U8))
				return -EINVAL;
			st = mnl_attr_get_u8(b);
			if (st < sizeof(tcp_states) / sizeof(tcp_states[0]))
				snprintf(c->tcp_state, sizeof(c->tcp_state), "%s", tcp_states[st]);
		}
	}
	return 0;
}

/* Every attribute of one entry into @c. Returns 0, or -EINVAL for a message that is not a
 * whole, well-formed entry (an attribute of the wrong size, no original tuple). */
static int parse_entry(const struct nlmsghdr *nlh, struct nr_rec_conntrack *c)
{
	struct ct_tuple orig = { 0 }, reply = { 0 };
	bool has_orig = false;
	const struct nlattr *a;
	int r = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			r = parse_tuple(a, &orig);
			has_orig = true;
			break;
		case CTA_TUPLE_REPLY:
			r = parse_tuple(a, &reply);
			break;
		case CTA_STATUS:
			r = attr_ok(a, MNL_TYPE_U32) ? 0 : -EINVAL;
			if (!r)
				c->status = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_MARK:
			r = attr_ok(a, MNL_TYPE_U32) ? 0 : -EINVAL;
			if (!r)
				c->mark = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_ID:
			r = attr_ok(a, MNL_TYPE_U32) ? 0 : -EINVAL;
			if (!r)
				c->ct_id = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_ZONE:
			r = attr_ok(a, MNL_TYPE_U16) ? 0 : -EINVAL;
			if (!r)
				c->zone = ntohs(mnl_attr_get_u16(a));
			break;
		case CTA_PROTOINFO:
			r = parse_protoinfo(a, c);
			break;
		case CTA_COUNTERS_ORIG:
			r = parse_counters(a, &c->orig_packets, &c->orig_bytes);
			c->has_counters = true;
			break;
		case CTA_COUNTERS_REPLY:
			r = parse_counters(a, &c->reply_packets, &c->reply_bytes);
			c->has_counters = true;
			break;
		case CTA_TIMESTAMP:
			r = parse_timestamp(a, c);
			break;
		default:
			break;
		}
		if (r < 0)
			return r;
	}
	if (!has_orig || !orig.has_proto || !orig.src.family || orig.src.family != orig.dst.family)
		return -EINVAL;
	c->proto = orig.proto;
	c->orig_src = orig.src;
	c->orig_dst = orig.dst;
	c->reply_src = reply.src;
	c->reply_dst = reply.dst;
	if (c->proto == IPPROTO_ICMP || c->proto == IPPROTO_ICMPV6) {
		c->icmp_type = orig.icmp_type;
		c->icmp_code = orig.icmp_code;
		c->icmp_id = orig.icmp_id;
		c->reply_icmp_id = reply.icmp_id;
	} else {
		c->orig_sport = orig.sport;
		c->orig_dport = orig.dport;
		c->reply_sport = reply.sport;
		c->reply_dport = reply.dport;
	}
	/* The state is a TCP one only for TCP (the attribute is nested under TCP anyway). */
	if (c->proto != IPPROTO_TCP)
		c->tcp_state[0] = '\0';
	return 0;
}

/* Rate limit: true if this event may be recorded. Shed events are counted and written as a
 * gap per second of shedding. */
static void rate_flush(struct ct_src *s)
{
	char reason[80];

	if (!s->rl_shed)
		return;
	snprintf(reason, sizeof(reason), "rate limit: over %llu events/s, events not recorded",
		 (unsigned long long)s->max_rate);
	nr_daemon_gap(s->d, NR_SRC_CONNTRACK, s->rl_shed_from_ns,
		      s->rl_shed_to_ns, reason, s->rl_shed);
	s->n_shed += (uint64_t)s->rl_shed;
	s->rl_shed = 0;
}

static bool rate_allow(struct ct_src *s, int64_t now)
{
	int64_t sec = nr_mono_ns() / NR_NS_PER_SEC;

	if (!s->max_rate)
		return true;
	if (sec != s->rl_sec) {
		rate_flush(s);
		s->rl_sec = sec;
		s->rl_count = 0;
	}
	if ((uint64_t)++s->rl_count <= s->max_rate)
		return true;
	if (!s->rl_shed)
		s->rl_shed_from_ns = now;
	s->rl_shed_to_ns = now;
	s->rl_shed++;
	return false;
}

int nr_conntrack_event(const struct nlmsghdr *nlh, bool dump)
{
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return -1;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case IPCTNL_MSG_CT_NEW:
		if (dump)
			return NR_CT_DUMP;
		return (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ? NR_CT_NEW : NR_CT_UPDATE;
	case IPCTNL_MSG_CT_DELETE:
		return dump ? -1 : NR_CT_DESTROY;
	default:
		return -1;
	}
}

int nr_conntrack_parse(const struct nlmsghdr *nlh, enum nr_ct_event ev, int64_t now_ns,
		       uint64_t netns, struct nr_record *r)
{
	struct nr_rec_conntrack *c = &r->ct;

	if (ev < 0 || ev >= NR_CT__COUNT || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->table = NR_T_CONNTRACK;
	r->source = NR_SRC_CONNTRACK;
	if (parse_entry(nlh, c) < 0)
		return -EINVAL;
	c->ts_ns = now_ns;
	snprintf(c->event, sizeof(c->event), "%s", ev_names[ev]);
	c->netns = netns;
	return 0;
}

/* One netlink message: an event, or an entry of a dump. */
static void handle_msg(struct ct_ns *n, const struct nlmsghdr *nlh, bool dump, int64_t now)
{
	struct ct_src *s = n->src;
	struct nr_record r;
	int ev = nr_conntrack_event(nlh, dump);

	if (ev < 0)
		return;
	if (ev != NR_CT_DUMP && !rate_allow(s, now))
		return;
	if (nr_conntrack_parse(nlh, ev, now, n->inode, &r) < 0) {
		n->n_bad++;
		return;
	}
	/* A row the queue had no room for is counted there (a "queue full" gap), not here. */
	if (nr_daemon_emit(s->d, &r) == 0)
		n->n[ev]++;
}

/* ---- dumps ----------------------------------------------------------------------------- */

static void ns_free(struct ct_ns *n);

/* Ends the namespace's dump (done, failed or cut short). A gone namespace whose final dump this
 * was is freed: callers return at once after calling this. */
static void dump_close(struct ct_ns *n)
{
	if (n->dump_fd < 0)
		return;
	if (!n->dump_paused)
		nr_daemon_unwatch(n->src->d, n->dump_fd);
	n->dump_paused = false;
	close(n->dump_fd);
	n->dump_fd = -1;
	/* The start dump does not delay the first resync. */
	if (strcmp(n->dump_reason, "start") != 0)
		n->last_dump_end_mono = nr_mono_ns();
	if (n->finishing) {
		struct ct_src *s = n->src;

		for (struct ct_ns **pp = &s->closing; *pp; pp = &(*pp)->next)
			if (*pp == n) {
				*pp = n->next;
				break;
			}
		ns_free(n);
	}
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_ns *n = data;

	handle_msg(n, nlh, true, n->dump_start_ns);
	return MNL_CB_OK;
}

/* The entries a dump did not reach are unknown: a gap, and (for a namespace still recorded)
 * another try after RESYNC_MIN_NS. */
static void dump_failed(struct ct_ns *n, const char *why)
{
	char reason[160];

	log_warn("conntrack: %s: table dump (%s) cut short: %s", n->label, n->dump_reason, why);
	snprintf(reason, sizeof(reason), "table dump (%s) cut short: %s", n->dump_reason, why);
	nr_daemon_gap(n->src->d, NR_SRC_CONNTRACK, n->dump_start_ns, nr_now_ns(), reason, NR_NONE);
	if (!n->closing && !n->finishing)
		n->resync_wanted = true;
	dump_close(n);
}

/* The queue is nearly full: stop reading the dump for a moment (the kernel waits). */
static void dump_pause(struct ct_ns *n)
{
	struct itimerspec its = { .it_value = { 0, DUMP_PAUSE_NS } };

	if (!n->dump_paused)
		nr_daemon_unwatch(n->src->d, n->dump_fd);
	n->dump_paused = true;
	n->src->n_pauses++;
	timerfd_settime(n->src->resume_fd, 0, &its, NULL);
}

static void on_dump(struct nr_daemon *d, int fd, uint32_t events, void *data);

static void resume_list(struct ct_src *s, struct ct_ns *list)
{
	struct ct_ns *next;

	for (struct ct_ns *n = list; n; n = next) {
		next = n->next; /* dump_failed may free a finishing namespace */
		if (!n->dump_paused)
			continue;
		if (nr_daemon_queue_room(s->d) < 2 * s->dump_room) {
			dump_pause(n);
			continue;
		}
		n->dump_paused = false;
		if (nr_daemon_watch(s->d, n->dump_fd, on_dump, n) < 0) {
			n->dump_paused = true; /* not watched: dump_close must not unwatch */
			dump_failed(n, "too many open files on the loop");
		}
	}
}

static void on_resume(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct ct_src *s = data;
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) <= 0)
		return;
	resume_list(s, s->list);
	resume_list(s, s->closing);
}

static void on_dump(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct ct_ns *n = data;
	struct ct_src *s = n->src;

	for (int i = 0; i < DUMP_BUDGET; i++) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t len;
		int r;

		if (nr_daemon_queue_room(d) < s->dump_room && !s->stopping) {
			dump_pause(n);
			return;
		}
		len = recvfrom(fd, s->dump_buf, DUMP_BUF_SIZE, MSG_DONTWAIT,
			       (struct sockaddr *)&from, &fromlen);
		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			dump_failed(n, strerror(errno));
			return;
		}
		/* Only the kernel answers a dump; anything else is someone else's message. */
		if (fromlen != sizeof(from) || from.nl_pid != 0) {
			n->n_refused++;
			continue;
		}
		errno = 0;
		r = mnl_cb_run(s->dump_buf, (size_t)len, n->dump_seq, n->dump_portid, dump_cb, n);
		if (r == MNL_CB_STOP) {
			log_debug("conntrack: %s: table dump (%s): %llu entries so far", n->label,
				  n->dump_reason, (unsigned long long)n->n[NR_CT_DUMP]);
			dump_close(n);
			return;
		}
		if (r == MNL_CB_ERROR) {
			dump_failed(n, strerror(errno ? errno : EIO));
			return;
		}
	}
}

/* Opens a socket in the namespace and asks for a dump of the table. Returns the fd or -errno. */
static int dump_request(struct ct_ns *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfh;
	int fd, r;

	fd = nr_netns_socket(n->ns, AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_NETFILTER);
	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
		goto fail;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)nr_now_ns();
	nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
	nfh->nfgen_family = AF_UNSPEC; /* IPv4 and IPv6 */
	nfh->version = NFNETLINK_V0;
	nfh->res_id = 0;
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		goto fail;
	n->dump_seq = nlh->nlmsg_seq;
	n->dump_portid = sa.nl_pid;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

static int dump_start(struct ct_ns *n, const char *reason)
{
	int fd, r;

	if (n->dump_fd >= 0) {
		n->resync_wanted = true; /* one at a time: again when this one is done */
		return 0;
	}
	fd = dump_request(n);
	if (fd < 0)
		return fd;
	r = nr_daemon_watch(n->src->d, fd, on_dump, n);
	if (r < 0) {
		close(fd);
		return r;
	}
	n->dump_fd = fd;
	n->dump_reason = reason;
	n->dump_start_ns = nr_now_ns();
	n->resync_wanted = false;
	return 0;
}

/* A dump that could not even start: a gap for what it would have found, and a retry. */
static void dump_start_or_gap(struct ct_ns *n, const char *reason)
{
	int r = dump_start(n, reason);

	if (r < 0) {
		char why[80];

		n->dump_reason = reason;
		n->dump_start_ns = nr_now_ns();
		snprintf(why, sizeof(why), "could not start: %s", strerror(-r));
		/* No dump is open, so dump_failed only writes the gap and asks for a retry. */
		dump_failed(n, why);
		n->last_dump_end_mono = nr_mono_ns();
	}
}

static void resync(struct ct_ns *n)
{
	if (n->dump_fd < 0 && nr_mono_ns() - n->last_dump_end_mono < RESYNC_MIN_NS) {
		n->resync_wanted = true; /* the tick starts it */
		return;
	}
	dump_start_or_gap(n, "resync");
}

/* ---- events ---------------------------------------------------------------------------- */

static const struct {
	unsigned bit;
	int group;
} ev_groups[] = {
	{ NR_CT_EV_NEW, NFNLGRP_CONNTRACK_NEW },
	{ NR_CT_EV_UPDATE, NFNLGRP_CONNTRACK_UPDATE },
	{ NR_CT_EV_DESTROY, NFNLGRP_CONNTRACK_DESTROY },
};

/* The kernel's count of messages it could not queue on the socket, or -1. */
static void overrun_open(struct ct_ns *n)
{
	if (n->overrun)
		return;
	n->overrun = true;
	n->overrun_mono = nr_mono_ns();
	n->n_overruns++;
	log_warn("conntrack: %s: receive buffer overrun, events are being lost; a gaps row and a "
		 "resync dump follow when it ends (raise conntrack-rcvbuf)",
		 n->label);
}

/* The end of an overrun: one gap with the kernel's count of dropped events, then a resync. */
static void overrun_close(struct ct_ns *n, uint64_t drops, int64_t now)
{
	/* The counter is 32 bits in the kernel. */
	uint64_t lost = (uint32_t)(drops - n->drops);
	char reason[80];

	n->overrun = false;
	n->drops = drops;
	n->n_lost += lost;
	/* At a stop, or when the namespace is going, there is nothing to resync into. */
	snprintf(reason, sizeof(reason), "event overrun: receive buffer full in netns %llu%s",
		 (unsigned long long)n->inode, n->closing ? "" : "; resync dump follows");
	nr_daemon_gap(n->src->d, NR_SRC_CONNTRACK, n->ok_ns, now, reason, (int64_t)lost);
	log_warn("conntrack: %s: overrun over: %llu events lost%s", n->label,
		 (unsigned long long)lost, n->closing ? "" : "; resyncing by table dump");
	n->ok_ns = now;
	if (!n->closing)
		resync(n);
}

/* Called every tick: opens an episode on drops not announced by ENOBUFS (the kernel reports
 * it once per congestion), closes one whose drops have stopped, or that has lasted
 * OVERRUN_MAX_NS. */
static void overrun_check(struct ct_ns *n, int64_t now, bool final)
{
	int64_t drops = nr_sock_drops(n->ev_fd);

	if (drops < 0)
		return;
	if (!n->overrun && (uint32_t)((uint64_t)drops - n->drops)) {
		/* Dropped since the last look at the counter at the earliest. */
		if (n->tick_ns && n->tick_ns < n->ok_ns)
			n->ok_ns = n->tick_ns;
		overrun_open(n);
	}
	if (n->overrun && (final || (uint64_t)drops == n->drops_tick ||
			   nr_mono_ns() - n->overrun_mono >= OVERRUN_MAX_NS))
		overrun_close(n, (uint64_t)drops, now);
	n->drops_tick = (uint64_t)drops;
	n->tick_ns = now;
}

struct ev_batch {
	struct ct_ns *n;
	int64_t now; /* when the batch was read; 0 before its first message */
};

static void ev_msg(const struct nlmsghdr *nlh, void *data)
{
	struct ev_batch *b = data;

	if (!b->now)
		b->now = nr_now_ns();
	handle_msg(b->n, nlh, false, b->now);
}

/* Reads up to @budget batches of events. Returns true once the socket is empty. */
static bool ev_read(struct ct_ns *n, int budget)
{
	for (int i = 0; i < budget; i++) {
		struct ev_batch b = { n, 0 };
		int got = nr_nlmc_read(&n->src->mc, n->ev_fd, ev_msg, &b, &n->n_refused, &n->n_bad);

		if (got == -ENOBUFS) {
			overrun_open(n);
			continue;
		}
		if (got == -EINTR)
			continue;
		if (got < 0) {
			if (got != -EAGAIN)
				log_warn("conntrack: %s: recvmmsg: %s", n->label, strerror(-got));
			return true;
		}
		if (!n->overrun)
			n->ok_ns = b.now ? b.now : nr_now_ns();
	}
	return false;
}

static void on_events(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	ev_read(data, EV_BUDGET);
}

/* Leaves the groups, so the backlog is finite, and reads all of it; then the last drop count.
 * Events still queued on a closed socket would be lost without a trace. */
static void ev_close(struct ct_ns *n)
{
	if (n->ev_fd < 0)
		return;
	for (size_t i = 0; i < sizeof(ev_groups) / sizeof(ev_groups[0]); i++)
		setsockopt(n->ev_fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &ev_groups[i].group,
			   sizeof(ev_groups[i].group));
	while (!ev_read(n, EV_BUDGET))
		;
	overrun_check(n, nr_now_ns(), true);
	nr_daemon_unwatch(n->src->d, n->ev_fd);
	close(n->ev_fd);
	n->ev_fd = -1;
}

static int open_events(struct ct_ns *n)
{
	struct ct_src *s = n->src;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, r, size = s->rcvbuf;
	int64_t drops;

	fd = nr_netns_socket(n->ns, AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_NETFILTER);
	if (fd < 0)
		return fd;
	/* FORCE goes past net.core.rmem_max (we have CAP_NET_ADMIN); plain SO_RCVBUF is capped. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_warn("conntrack: %s: receive buffer: %m", n->label);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(ev_groups) / sizeof(ev_groups[0]); i++) {
		if (!(s->events & ev_groups[i].bit))
			continue;
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &ev_groups[i].group,
			       sizeof(ev_groups[i].group)) < 0)
			goto fail;
	}
	r = nr_daemon_watch(s->d, fd, on_events, n);
	if (r < 0) {
		close(fd);
		return r;
	}
	n->ev_fd = fd;
	drops = nr_sock_drops(fd);
	n->drops = n->drops_tick = drops < 0 ? 0 : (uint64_t)drops;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

/* ---- sysctls --------------------------------------------------------------------------- */

struct sysctl_args {
	bool enable, force_events;
	bool turned_on, forced;
	int acct, tstamp, events;
};

static int read_int(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	return atoi(buf);
}

static void write_one(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "1\n", 2) != 2)
		log_warn("conntrack: cannot write %s: %m", path);
	close(fd);
}

#define SYSCTL_DIR "/proc/sys/net/netfilter/"

/* Runs inside the namespace: /proc/sys/net follows the opener's network namespace. */
static int do_sysctls(void *arg)
{
	struct sysctl_args *a = arg;

	if (a->enable) {
		if (read_int(SYSCTL_DIR "nf_conntrack_acct") == 0) {
			write_one(SYSCTL_DIR "nf_conntrack_acct");
			a->turned_on = true;
		}
		if (read_int(SYSCTL_DIR "nf_conntrack_timestamp") == 0) {
			write_one(SYSCTL_DIR "nf_conntrack_timestamp");
			a->turned_on = true;
		}
	}
	/* 2 (the default) gives an entry events only if a listener existed when it was
	 * created: connections made while netrecd was not running would never report their
	 * end. 1 gives every entry events. 0 is an administrator's choice and stays. */
	if (a->force_events && read_int(SYSCTL_DIR "nf_conntrack_events") == 2) {
		write_one(SYSCTL_DIR "nf_conntrack_events");
		a->forced = true;
	}
	a->acct = read_int(SYSCTL_DIR "nf_conntrack_acct");
	a->tstamp = read_int(SYSCTL_DIR "nf_conntrack_timestamp");
	a->events = read_int(SYSCTL_DIR "nf_conntrack_events");
	return 0;
}

static void health_flag(struct ct_ns *n, const char *name, int v, int64_t now)
{
	char metric[40];

	snprintf(metric, sizeof(metric), "%s netns=%llu", name, (unsigned long long)n->inode);
	nr_daemon_health(n->src->d, NR_SRC_CONNTRACK, now, metric, v);
}

/* Reads the namespace's accounting, timestamp and event switches (turning the first two on if
 * configured) and records them in `health` when they change. */
static void check_sysctls(struct ct_ns *n, bool first)
{
	struct sysctl_args a = {
		.enable = n->src->accounting && first,
		.force_events = n->src->force_events && first,
	};
	int64_t now = nr_now_ns();

	if (nr_netns_run(n->ns, do_sysctls, &a) < 0)
		return;
	if (a.turned_on)
		log_info("conntrack: %s: turned on nf_conntrack_acct and nf_conntrack_timestamp "
			 "(conntrack-accounting = on); connections already tracked stay without them",
			 n->label);
	if (a.forced)
		log_info("conntrack: %s: set nf_conntrack_events to 1 (was 2): connections made "
			 "while netrecd is not running will still report their end "
			 "(conntrack-force-events = off leaves it)",
			 n->label);
	if (a.events != n->events_sysctl)
		health_flag(n, "nf_conntrack_events", a.events, now);
	if (a.acct != n->acct) {
		health_flag(n, "nf_conntrack_acct", a.acct, now);
		if (a.acct == 0)
			log_info("conntrack: %s: nf_conntrack_acct is off: rows carry no packet and "
				 "byte counters (conntrack-accounting = on turns it on)",
				 n->label);
	}
	if (a.tstamp != n->tstamp) {
		health_flag(n, "nf_conntrack_timestamp", a.tstamp, now);
		if (a.tstamp == 0)
			log_info("conntrack: %s: nf_conntrack_timestamp is off: rows carry no start "
				 "and stop times (conntrack-accounting = on turns it on)",
				 n->label);
	}
	if (a.events != n->events_sysctl && a.events == 0) {
		char reason[80];

		log_warn("conntrack: %s: net.netfilter.nf_conntrack_events is 0: the kernel sends "
			 "no events there, only dumps are recorded",
			 n->label);
		snprintf(reason, sizeof(reason), "events off in netns %llu (nf_conntrack_events=0)",
			 (unsigned long long)n->inode);
		nr_daemon_gap(n->src->d, NR_SRC_CONNTRACK, now, now, reason, NR_NONE);
	}
	n->acct = a.acct;
	n->tstamp = a.tstamp;
	n->events_sysctl = a.events;
}

/* ---- namespaces ------------------------------------------------------------------------ */

static void ns_free(struct ct_ns *n)
{
	struct ct_src *s = n->src;

	for (int i = 0; i < NR_CT__COUNT; i++)
		s->tot[i] += n->n[i];
	s->tot_overruns += n->n_overruns;
	s->tot_lost += n->n_lost;
	s->tot_bad += n->n_bad;
	s->tot_refused += n->n_refused;
	free(n);
}

/* Subscribes to the namespace's events and dumps its table. On failure the namespace stays
 * on the list, unrecorded, and the tick tries again; the gap is written when that ends. */
static void ns_subscribe(struct ct_ns *n)
{
	int64_t now = nr_now_ns();
	int r = open_events(n);

	if (r < 0) {
		if (!n->ev_err)
			log_warn("conntrack: %s: cannot subscribe to events: %s; trying again every "
				 "10 s",
				 n->label, strerror(-r));
		if (!n->ev_err)
			n->ev_failed_ns = now;
		n->ev_err = -r;
		return;
	}
	if (n->ev_err) {
		char reason[80];

		snprintf(reason, sizeof(reason), "unavailable in netns %llu: %s",
			 (unsigned long long)n->inode, strerror(n->ev_err));
		nr_daemon_gap(n->src->d, NR_SRC_CONNTRACK, n->ev_failed_ns, now, reason, NR_NONE);
		log_info("conntrack: %s: subscribed after all", n->label);
		n->ev_err = 0;
	}
	n->ok_ns = now;
	/* Events first, then the dump: nothing falls between the two. */
	dump_start_or_gap(n, "start");
}

static void ns_added(struct nr_daemon *d, const struct nr_netns *ns, void *data)
{
	struct ct_src *s = data;
	struct ct_ns *n;

	n = calloc(1, sizeof(*n));
	if (!n) {
		log_error("conntrack: out of memory");
		return;
	}
	n->src = s;
	n->ns = ns;
	n->inode = ns->inode;
	n->ev_fd = n->dump_fd = -1;
	n->acct = n->tstamp = n->events_sysctl = -1;
	n->last_dump_end_mono = INT64_MIN / 2;
	nr_netns_label(ns, n->label, sizeof(n->label));
	n->next = s->list;
	s->list = n;
	check_sysctls(n, true);
	ns_subscribe(n);
	if (!n->ev_err)
		log_info("conntrack: recording %s", n->label);
}

/*
 * The namespace is gone (no name, no process) or the recorder stops. Gone: its entries will
 * die with it without DESTROY events, so a final dump records their last state; it runs on the
 * loop like any other, on its own socket (which keeps the namespace alive until it ends).
 */
static void ns_removed(struct nr_daemon *d, const struct nr_netns *ns, void *data)
{
	struct ct_src *s = data;
	struct ct_ns *n = NULL;

	for (struct ct_ns **pp = &s->list; *pp; pp = &(*pp)->next)
		if ((*pp)->ns == ns) {
			n = *pp;
			*pp = n->next;
			break;
		}
	if (!n)
		return;
	n->closing = true;
	if (!s->stopping) {
		log_info("conntrack: %s is gone", n->label);
		s->n_gone++;
		if (n->ev_fd >= 0 && n->dump_fd < 0) {
			int r = dump_start(n, "final");

			if (r < 0)
				log_warn("conntrack: %s: final table dump: %s", n->label, strerror(-r));
		}
	}
	ev_close(n);
	if (n->ev_err) {
		char reason[80];

		snprintf(reason, sizeof(reason), "unavailable in netns %llu: %s",
			 (unsigned long long)n->inode, strerror(n->ev_err));
		nr_daemon_gap(s->d, NR_SRC_CONNTRACK, n->ev_failed_ns,
			      nr_now_ns(), reason, NR_NONE);
	}
	n->ns = NULL;
	if (n->dump_fd >= 0 && !s->stopping) {
		n->finishing = true;
		n->next = s->closing;
		s->closing = n;
		return;
	}
	if (n->dump_fd >= 0)
		dump_failed(n, "stopped");
	ns_free(n);
}

static const struct nr_netns_ops ns_ops = { ns_added, ns_removed };

/* ---- source ---------------------------------------------------------------------------- */

static void on_tick(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct ct_src *s = data;
	int64_t now = nr_now_ns();
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) <= 0)
		return;
	s->ticks++;
	if (s->max_rate && nr_mono_ns() / NR_NS_PER_SEC != s->rl_sec)
		rate_flush(s);
	for (struct ct_ns *n = s->list; n; n = n->next) {
		if (n->ev_fd < 0) {
			if (s->ticks % 10 == 0)
				ns_subscribe(n);
			continue;
		}
		overrun_check(n, now, false);
		if (n->resync_wanted && n->dump_fd < 0 &&
		    nr_mono_ns() - n->last_dump_end_mono >= RESYNC_MIN_NS)
			resync(n);
		if (s->ticks % 10 == 0) {
			check_sysctls(n, false);
			/* Found through a process first, named later (or the other way round). */
			nr_netns_label(n->ns, n->label, sizeof(n->label));
		}
	}
}

void nr_conntrack_health(struct nr_daemon *d, void *state, int64_t now)
{
	struct ct_src *s = state;
	uint64_t tot[NR_CT__COUNT], overruns = s->tot_overruns, lost = s->tot_lost, bad = s->tot_bad;
	uint64_t refused = s->tot_refused;
	unsigned nns = 0, unsubscribed = 0;

	memcpy(tot, s->tot, sizeof(tot));
	for (int l = 0; l < 2; l++)
		for (struct ct_ns *n = l ? s->closing : s->list; n; n = n->next) {
			for (int i = 0; i < NR_CT__COUNT; i++)
				tot[i] += n->n[i];
			overruns += n->n_overruns;
			lost += n->n_lost;
			bad += n->n_bad;
			refused += n->n_refused;
			if (!l) {
				nns++;
				unsubscribed += n->ev_fd < 0;
			}
		}
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "namespaces", nns);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "namespaces_unsubscribed", unsubscribed);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "events_new", (double)tot[NR_CT_NEW]);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "events_update", (double)tot[NR_CT_UPDATE]);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "events_destroy", (double)tot[NR_CT_DESTROY]);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "dump_rows", (double)tot[NR_CT_DUMP]);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "overruns", (double)overruns);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "events_lost", (double)lost);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "events_shed", (double)s->n_shed);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "parse_errors", (double)bad);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "messages_refused", (double)refused);
	nr_daemon_health(d, NR_SRC_CONNTRACK, now, "dump_pauses", (double)s->n_pauses);
}

int nr_conntrack_start(struct nr_daemon *d, void **ret, char *why, size_t whylen)
{
	const struct nr_config *c = nr_daemon_config(d);
	struct ct_src *s;
	bool any = false;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->timer_fd = s->resume_fd = -1;
	s->events = c->ct_events;
	s->rcvbuf = (int)(c->ct_rcvbuf / 2); /* the kernel doubles it (bookkeeping overhead) */
	s->accounting = c->ct_accounting;
	s->force_events = c->ct_force_events;
	s->max_rate = c->ct_max_rate;
	s->dump_room = c->queue_size / 4 < DUMP_ROOM ? c->queue_size / 4 : DUMP_ROOM;
	s->dump_buf = malloc(DUMP_BUF_SIZE);
	if (nr_nlmc_init(&s->mc, EV_MSG_SIZE) < 0 || !s->dump_buf) {
		nr_conntrack_stop(d, s);
		return -ENOMEM;
	}
	s->resume_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	r = s->resume_fd < 0 ? -errno : nr_daemon_watch(d, s->resume_fd, on_resume, s);
	if (r < 0) {
		snprintf(why, whylen, "timer: %s", strerror(-r));
		nr_conntrack_stop(d, s);
		return r;
	}
	s->timer_fd = nr_daemon_timer(d, TICK_NS, on_tick, s);
	if (s->timer_fd < 0) {
		r = s->timer_fd;
		snprintf(why, whylen, "timer: %s", strerror(-r));
		nr_conntrack_stop(d, s);
		return r;
	}
	r = nr_netns_watch_new(d, c->netns, c->netns_rescan_ns, &ns_ops, s, &s->watch);
	if (r < 0) {
		snprintf(why, whylen, "network namespaces: %s", strerror(-r));
		nr_conntrack_stop(d, s);
		return r;
	}
	for (struct ct_ns *n = s->list; n; n = n->next)
		any |= n->ev_fd >= 0;
	/* Not one namespace could be subscribed (every one of them failed the same way, as a
	 * rule: no conntrack support, no permission): a source failure, said once. A filter that
	 * matches nothing yet is not one: named namespaces may appear later. */
	if (!any && s->list) {
		snprintf(why, whylen, "cannot subscribe to conntrack events: %s",
			 strerror(s->list->ev_err));
		r = -s->list->ev_err;
		nr_conntrack_stop(d, s);
		return r;
	}
	*ret = s;
	return 0;
}

void nr_conntrack_stop(struct nr_daemon *d, void *state)
{
	struct ct_src *s = state;

	if (!s)
		return;
	s->stopping = true;
	nr_netns_watch_free(s->watch); /* closes every namespace through ns_removed */
	while (s->closing) { /* final dumps still running: cut short (that frees them) */
		struct ct_ns *n = s->closing;

		if (n->dump_fd >= 0) {
			dump_failed(n, "stopped");
		} else {
			s->closing = n->next;
			ns_free(n);
		}
	}
	rate_flush(s);
	/* The last counters, now that every namespace has been drained. */
	nr_conntrack_health(d, s, nr_now_ns());
	if (s->timer_fd >= 0) {
		nr_daemon_unwatch(d, s->timer_fd);
		close(s->timer_fd);
	}
	if (s->resume_fd >= 0) {
		nr_daemon_unwatch(d, s->resume_fd);
		close(s->resume_fd);
	}
	if (s->tot[NR_CT_NEW] + s->tot[NR_CT_UPDATE] + s->tot[NR_CT_DESTROY] + s->tot[NR_CT_DUMP])
		log_info("conntrack: recorded new=%llu update=%llu destroy=%llu dump=%llu; "
			 "overruns=%llu lost=%llu shed=%llu",
			 (unsigned long long)s->tot[NR_CT_NEW], (unsigned long long)s->tot[NR_CT_UPDATE],
			 (unsigned long long)s->tot[NR_CT_DESTROY], (unsigned long long)s->tot[NR_CT_DUMP],
			 (unsigned long long)s->tot_overruns, (unsigned long long)s->tot_lost,
			 (unsigned long long)s->n_shed);
	nr_nlmc_free(&s->mc);
	free(s->dump_buf);
	free(s);
}
