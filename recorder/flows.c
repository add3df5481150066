// SPDX-License-Identifier: MIT
/*
 * The flow source: TC programs (bpf/flows.bpf.c) on ingress and egress of every interface of
 * every recorded namespace count packets and bytes per flow in the kernel; every
 * flows-interval this module collects them into `flows` rows, one per flow key per interval.
 *
 * Attaching: tcx links (bpf_link_create with BPF_TCX_INGRESS/EGRESS, made inside the
 * interface's namespace). A tcx link belongs to netrecd's file descriptor: other TC programs
 * keep running (the programs return "next"), nothing of anyone else's is touched, and the
 * kernel removes the programs when netrecd exits, however it exits.
 *
 * Collecting without loss: there are two sets of flow maps (and IPv4 caches), each outer
 * map-in-map holding both, and the programs count in the set one shared word names
 * (flows_set). Collection flips the word, waits for an RCU grace period (membarrier
 * MEMBARRIER_CMD_GLOBAL runs synchronize_rcu(); a TC program runs inside an RCU read-side
 * section), after which no program can still be counting in the old set, then reads and
 * empties the old set in batches. A program reads the word once, so a packet is counted in
 * exactly one interval's row, and a flow's counts of one interval are all in one set.
 *
 * Interfaces are found with rtnetlink in each namespace: a dump when the namespace is found,
 * and again on every link notification (RTNLGRP_LINK) and every 10 s.
 */
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <linux/membarrier.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/if_arp.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "daemon.h"
#include "grow.h"
#include "flows.h"
#include "flows.skel.h"
#include "log.h"
#include "netns.h"
#include "nrtime.h"
#include "sources.h"

/* Linux 6.6 UAPI; Debian 12's headers predate them. */
#define NR_BPF_TCX_INGRESS 46
#define NR_BPF_TCX_EGRESS 47

/* clsact fallback: netrecd's filters, first on the hook (they only watch). */
#define NR_TC_HANDLE 0x4e52
#define NR_TC_PRIO 1

#define BATCH 4096 /* keys per lookup-and-delete batch */
#define RESCAN_TICKS 10

struct fl_if {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	int link[2]; /* ingress, egress tcx link fds */
	bool tc[2]; /* ingress, egress attached as clsact filters instead (no tcx) */
	bool made_clsact; /* netrecd added the clsact qdisc */
	bool gone; /* deleted: kept until the next collection, whose rows it names */
	bool seen;
	struct fl_if *next;
};

struct fl_ns {
	struct fl_src *src;
	const struct nr_netns *ns; /* NULL once gone (kept until the next collection) */
	uint64_t inode, id;
	struct flows_bpf *skel; /* this namespace's copy of the programs (shared maps) */
	char label[128];
	int mon_fd; /* RTNLGRP_LINK notifications */
	struct fl_if *ifs;
	struct fl_ns *next;
};

/* Turns the programs' jiffies into wall-clock ns. */
struct fl_time {
	struct nr_flow_clock now; /* read after the swap: every count in the old maps is older */
	double ns_per_jiffy;
	int64_t mono_to_real;
};

struct ovf_prev {
	struct nr_flow_ovf_key key;
	uint64_t packets, bytes;
};

enum { F4, FALL, FC, NMAPS }; /* IPv4 flows, other flows, the IPv4 cache */

/* One IPv4 flow of a drained cache: its counts on every CPU, merged. */
struct fl_cached {
	struct nr_flow_key4 key;
	struct nr_flow_val val;
	bool used; /* merged into the flow map's row of the same key */
};

struct fl_src {
	struct nr_daemon *d;
	struct flows_bpf *skel; /* owns the shared maps */
	uint64_t next_id;
	/* The flow maps, [F4] IPv4 (struct nr_flow_key4) and [FALL] the rest (struct
	 * nr_flow_key), and [FC] the per-CPU IPv4 cache (an array of struct nr_flow_slot4):
	 * each an outer two-slot map holding its two inner maps, inner[i] in slot i. */
	struct fl_maps {
		int outer_fd, inner[2];
		size_t key_size;
	} maps[NMAPS];
	int set_fd; /* flows_set: which set the programs count in, [active] */
	uint32_t cache_slots; /* a power of two */
	void *cache_keys, *cache_vals; /* cache_slots keys, and slots * ncpus values */
	struct fl_cached *ctab; /* open addressing, ctab_cap entries, a power of two */
	size_t ctab_cap;
	int active;
	int ncpus;
	uint32_t max_entries, sampling;
	int timer_fd, tick_fd;
	unsigned ticks;
	int64_t last_collect_ns; /* wall clock */
	struct nr_flow_clock clk0, clk; /* flows_clock at start, and its latest reading */
	struct nr_netns_watch *watch;
	struct fl_ns *list;
	char *include, *exclude;
	bool stopping;
	int attach_mode; /* 0 auto, 1 tcx, 2 clsact */
	/* collection buffers */
	void *keys; /* BATCH keys of either flow map */
	void *vals; /* BATCH * ncpus values, each rounded up to 8 bytes */
	size_t val_stride;
	struct ovf_prev *ovf;
	size_t novf, ovf_cap;
	uint64_t stat_prev[NR_FLOWS_STAT__COUNT][2];
	/* health */
	uint64_t n_rows, n_overflow_pkts, n_parse_pkts, n_lost_pkts, n_attached, n_attach_err;
};

/* ---- interfaces ------------------------------------------------------------------------- */

static bool match_list(const char *list, const char *name)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ", ");
		char pat[64];

		if (n && n < sizeof(pat)) {
			memcpy(pat, p, n);
			pat[n] = '\0';
			if (fnmatch(pat, name, 0) == 0)
				return true;
		}
		p += n;
		p += strspn(p, ", ");
	}
	return false;
}

struct attach_args {
	int prog_fd, ifindex, type;
	bool egress;
	bool made; /* clsact: the qdisc was made here */
	int err;
};

static int do_attach(void *arg)
{
	struct attach_args *a = arg;
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int fd = bpf_link_create(a->prog_fd, a->ifindex, a->type, &opts);

	return fd < 0 ? -errno : fd;
}

/* Runs in the namespace. Adds the clsact qdisc only if there is none, and a filter of its own
 * (handle NR_TC_HANDLE) in front of the others. */
static int do_tc_attach(void *arg)
{
	struct attach_args *a = arg;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
		    .attach_point = a->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = a->prog_fd, .handle = NR_TC_HANDLE,
		    .priority = NR_TC_PRIO);
	int r = bpf_tc_hook_create(&hook);

	if (r == 0)
		a->made = true;
	else if (r != -EEXIST)
		return r;
	return bpf_tc_attach(&hook, &opts);
}

/* How many filters are on one side of the interface's clsact qdisc (rtnetlink dump). */
static int tc_filters(int ifindex, bool egress)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *tc;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), n = 0;
	uint32_t seq = (uint32_t)nr_now_ns();
	ssize_t len;

	if (fd < 0)
		return -errno;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	tc = mnl_nlmsg_put_extra_header(nlh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	tc->tcm_parent = TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0) {
		close(fd);
		return -EIO;
	}
	while ((len = recv(fd, buf, sizeof(buf), 0)) > 0) {
		bool done = false;
		int rest = (int)len;

		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, rest);
		     nlh = mnl_nlmsg_next(nlh, &rest)) {
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
				done = true;
			else if (nlh->nlmsg_type == RTM_NEWTFILTER)
				n++;
		}
		if (done)
			break;
	}
	close(fd);
	return n;
}

/* Runs in the namespace: removes netrecd's filters, and the clsact qdisc if netrecd made it
 * and nobody else's filter is on it now. */
static int do_tc_detach(void *arg)
{
	struct fl_if *f = arg;

	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)f->ifindex,
			    .attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NR_TC_HANDLE, .priority = NR_TC_PRIO);

		if (f->tc[i])
			bpf_tc_detach(&hook, &opts);
	}
	if (f->made_clsact && tc_filters((int)f->ifindex, false) == 0 &&
	    tc_filters((int)f->ifindex, true) == 0) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)f->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
	return 0;
}

/* @ns NULL: the interface or its namespace is gone, and its filters with it. */
static void if_detach(struct fl_src *s, const struct nr_netns *ns, struct fl_if *f)
{
	for (int i = 0; i < 2; i++) {
		if (f->link[i] >= 0) {
			close(f->link[i]);
			f->link[i] = -1;
			s->n_attached--;
		}
		if (f->tc[i])
			s->n_attached--;
	}
	if ((f->tc[0] || f->tc[1]) && ns)
		nr_netns_run(ns, do_tc_detach, f);
	f->tc[0] = f->tc[1] = f->made_clsact = false;
}

static void if_attach(struct fl_ns *n, struct fl_if *f, bool l2)
{
	struct fl_src *s = n->src;
	struct bpf_program *progs[2] = {
		l2 ? n->skel->progs.flows_in : n->skel->progs.flows_in_l3,
		l2 ? n->skel->progs.flows_out : n->skel->progs.flows_out_l3,
	};
	static const int types[2] = { NR_BPF_TCX_INGRESS, NR_BPF_TCX_EGRESS };

	for (int i = 0; i < 2; i++) {
		struct attach_args a = { bpf_program__fd(progs[i]), (int)f->ifindex, types[i], i };
		int r = -EINVAL;

		if (s->attach_mode != 2) {
			r = nr_netns_run(n->ns, do_attach, &a);
			if (r >= 0) {
				f->link[i] = r;
				s->n_attached++;
				continue;
			}
			if (s->attach_mode == 1 || (r != -EINVAL && r != -EOPNOTSUPP))
				goto failed;
		}
		/* No tcx (before Linux 6.6): a clsact filter of netrecd's own. */
		r = nr_netns_run(n->ns, do_tc_attach, &a);
		if (r == 0) {
			f->tc[i] = true;
			f->made_clsact |= a.made;
			s->n_attached++;
			continue;
		}
failed:
		s->n_attach_err++;
		log_warn("flows: %s: cannot attach to %s %s: %s", n->label, f->name,
			 i ? "egress" : "ingress", strerror(-r));
	}
	log_debug("flows: %s: recording %s (ifindex %u%s)", n->label, f->name, f->ifindex,
		  f->tc[0] || f->tc[1] ? ", clsact" : "");
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct fl_ns *n = data;
	struct fl_src *s = n->src;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const char *name = NULL;
	struct fl_if *f;
	bool l2;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
		if (mnl_attr_get_type(a) == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			name = mnl_attr_get_str(a);
	if (!name || ifi->ifi_index <= 0)
		return MNL_CB_OK;
	for (f = n->ifs; f; f = f->next)
		if (f->ifindex == (uint32_t)ifi->ifi_index && !f->gone)
			break;
	if (f) {
		f->seen = true;
		snprintf(f->name, sizeof(f->name), "%s", name); /* renamed: the new name */
		return MNL_CB_OK;
	}
	if (!match_list(s->include, name) || match_list(s->exclude, name))
		return MNL_CB_OK;
	f = calloc(1, sizeof(*f));
	if (!f)
		return MNL_CB_ERROR;
	f->ifindex = (uint32_t)ifi->ifi_index;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->link[0] = f->link[1] = -1;
	f->seen = true;
	f->next = n->ifs;
	n->ifs = f;
	/* Ethernet-like devices (veth, bridge, loopback, ...) have MAC addresses; tun and other
	 * ARPHRD_NONE devices start at the IP header. */
	l2 = ifi->ifi_type == ARPHRD_ETHER || ifi->ifi_type == ARPHRD_LOOPBACK;
	if_attach(n, f, l2);
	return MNL_CB_OK;
}

/* Lists the namespace's links: attaches to new ones, forgets those that are gone (their tcx
 * links went with them). */
static void ns_scan(struct fl_ns *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	int fd, r = MNL_CB_OK;
	uint32_t seq = (uint32_t)nr_now_ns();
	ssize_t len;

	if (!n->ns)
		return;
	fd = nr_netns_socket(n->ns, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (fd < 0) {
		log_warn("flows: %s: rtnetlink: %s", n->label, strerror(-fd));
		return;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;
	for (struct fl_if *f = n->ifs; f; f = f->next)
		f->seen = false;
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0) {
		close(fd);
		return;
	}
	while (r > MNL_CB_STOP) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len <= 0)
			break;
		r = mnl_cb_run(buf, (size_t)len, seq, 0, link_cb, n);
	}
	close(fd);
	if (r != MNL_CB_STOP)
		return; /* incomplete: keep what we had */
	for (struct fl_if *f = n->ifs; f; f = f->next)
		if (!f->seen && !f->gone) {
			if_detach(n->src, NULL, f); /* the device is gone, and its filters with it */
			f->gone = true;
		}
}

static void on_links(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	ns_scan(data);
}

/* ---- namespaces ------------------------------------------------------------------------- */

/* A copy of the programs for one namespace, on the shared maps. NULL with errno on failure. */
static struct flows_bpf *load_copy(struct fl_src *s, uint64_t id)
{
	struct flows_bpf *k = flows_bpf__open();
	int r;

	if (!k)
		return NULL;
	k->rodata->sampling = s->sampling;
	k->rodata->netns_id = id;
	k->rodata->cache_mask = s->cache_slots - 1;
	bpf_program__set_autoload(k->progs.flows_clock, false); /* the first copy's serves */
	r = bpf_map__reuse_fd(k->maps.flows_outer, s->maps[FALL].outer_fd);
	if (!r)
		r = bpf_map__reuse_fd(k->maps.flows_outer4, s->maps[F4].outer_fd);
	if (!r)
		r = bpf_map__reuse_fd(k->maps.cache_outer4, s->maps[FC].outer_fd);
	if (!r)
		r = bpf_map__reuse_fd(k->maps.flows_set, s->set_fd);
	if (!r)
		r = bpf_map__reuse_fd(k->maps.flows_ovf, bpf_map__fd(s->skel->maps.flows_ovf));
	if (!r)
		r = bpf_map__reuse_fd(k->maps.flows_stats, bpf_map__fd(s->skel->maps.flows_stats));
	if (!r)
		r = flows_bpf__load(k);
	if (r) {
		flows_bpf__destroy(k);
		errno = -r;
		return NULL;
	}
	return k;
}

static void ns_added(struct nr_daemon *d, const struct nr_netns *ns, void *data)
{
	struct fl_src *s = data;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct fl_ns *n = calloc(1, sizeof(*n));

	if (!n) {
		log_error("flows: out of memory");
		return;
	}
	n->src = s;
	n->ns = ns;
	n->inode = ns->inode;
	n->id = ++s->next_id;
	nr_netns_label(ns, n->label, sizeof(n->label));
	n->skel = load_copy(s, n->id);
	if (!n->skel) {
		log_warn("flows: %s: cannot load the BPF programs: %m", n->label);
		free(n);
		return;
	}
	n->mon_fd = nr_netns_socket(ns, AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (n->mon_fd < 0 || bind(n->mon_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    nr_daemon_watch(d, n->mon_fd, on_links, n) < 0) {
		log_warn("flows: %s: cannot watch its links: %s", n->label,
			 strerror(n->mon_fd < 0 ? -n->mon_fd : errno));
		if (n->mon_fd >= 0)
			close(n->mon_fd);
		n->mon_fd = -1;
	}
	n->next = s->list;
	s->list = n;
	ns_scan(n);
	log_info("flows: recording %s", n->label);
}

/* Detaches every program of the namespace; the interfaces stay listed (their names label the
 * last rows) until ns_free. */
static void ns_detach_all(struct fl_ns *n)
{
	for (struct fl_if *f = n->ifs; f; f = f->next)
		if_detach(n->src, n->ns, f);
	if (n->mon_fd >= 0) {
		nr_daemon_unwatch(n->src->d, n->mon_fd);
		close(n->mon_fd);
		n->mon_fd = -1;
	}
}

/* Gone: its programs are detached now; its counts are collected with everyone's at the next
 * interval, then the entry goes. */
static void ns_removed(struct nr_daemon *d, const struct nr_netns *ns, void *data)
{
	struct fl_src *s = data;

	for (struct fl_ns *n = s->list; n; n = n->next)
		if (n->ns == ns) {
			if (!s->stopping)
				log_info("flows: %s is gone", n->label);
			ns_detach_all(n);
			n->ns = NULL;
			return;
		}
}

static const struct nr_netns_ops ns_ops = { ns_added, ns_removed };

static void ns_free(struct fl_ns *n)
{
	ns_detach_all(n);
	while (n->ifs) {
		struct fl_if *f = n->ifs;

		n->ifs = f->next;
		free(f);
	}
	flows_bpf__destroy(n->skel);
	free(n);
}

static struct fl_ns *ns_by_id(struct fl_src *s, uint64_t id)
{
	for (struct fl_ns *n = s->list; n; n = n->next)
		if (n->id == id)
			return n;
	return NULL;
}

/* ---- collection ------------------------------------------------------------------------- */

/* Where a row's interface is: namespace inode and interface name, when known. */
static void place(struct fl_src *s, struct nr_rec_flow *f, uint64_t id, uint32_t ifindex)
{
	struct fl_ns *n = ns_by_id(s, id);

	f->ifindex = ifindex;
	if (!n)
		return;
	f->netns = n->inode;
	for (struct fl_if *i = n->ifs; i; i = i->next)
		if (i->ifindex == ifindex) {
			snprintf(f->ifname, sizeof(f->ifname), "%s", i->name);
			if (!i->gone)
				break;
		}
}

/* The wall-clock time of jiffy @j, for j between the start and @t's reading: CLOCK_MONOTONIC
 * of that reading less the jiffies since, at the mean tick length since the start (exact to
 * NTP's slew; the error of a stale pair is at most a tick, as is the clock's precision). */
static int64_t jiffies_to_real(const struct fl_time *t, uint64_t j)
{
	int64_t back = (int64_t)(t->now.jiffies - j);

	return (int64_t)t->now.coarse_ns - (int64_t)((double)back * t->ns_per_jiffy) +
	       t->mono_to_real;
}

static void emit_flow(struct fl_src *s, const struct nr_flow_key *k, const void *vals,
		      const struct fl_time *t)
{
	struct nr_record r;
	struct nr_rec_flow *f = &r.flow;
	uint64_t first = 0, last = 0;

	memset(&r, 0, sizeof(r));
	r.table = NR_T_FLOWS;
	r.source = NR_SRC_FLOWS;
	for (int c = 0; c < s->ncpus; c++) {
		const struct nr_flow_val *v = (const void *)((const char *)vals + c * s->val_stride);

		if (!v->packets)
			continue;
		f->packets += v->packets;
		f->bytes += v->bytes;
		f->tcp_flags |= v->tcp_flags;
		if (!first || v->first < first)
			first = v->first;
		if (v->last > last)
			last = v->last;
		if (v->has_mac && !f->has_mac) {
			f->has_mac = true;
			memcpy(f->src_mac, v->src_mac, 6);
			memcpy(f->dst_mac, v->dst_mac, 6);
		}
	}
	if (!f->packets)
		return;
	f->ts_start_ns = jiffies_to_real(t, first);
	f->ts_end_ns = jiffies_to_real(t, last);
	place(s, f, k->netns_id, k->ifindex);
	f->egress = k->egress;
	f->ethertype = k->ethertype;
	f->sampling = s->sampling;
	f->icmp_type = f->icmp_code = NR_NONE;
	if (k->family == 4 || k->family == 6) {
		int len = k->family == 4 ? 4 : 16;

		f->kind = NR_FLOW_IP;
		f->src.family = f->dst.family = k->family == 4 ? AF_INET : AF_INET6;
		memcpy(f->src.bytes, k->src, (size_t)len);
		memcpy(f->dst.bytes, k->dst, (size_t)len);
		f->proto = k->proto;
		f->sport = k->sport;
		f->dport = k->dport;
		if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6) {
			f->icmp_type = k->icmp_type;
			f->icmp_code = k->icmp_code;
		}
	} else {
		f->kind = NR_FLOW_OTHER;
	}
	if (nr_daemon_emit(s->d, &r) == 0)
		s->n_rows++;
}

/* Reads and empties a flow map no program can reach any more. */
/* The full key of an IPv4 one. */
static void key_from4(const struct nr_flow_key4 *k4, struct nr_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->netns_id = k4->netns_id;
	k->ifindex = k4->ifindex;
	k->egress = k4->egress;
	k->family = 4;
	k->proto = k4->proto;
	k->icmp_type = k4->icmp_type;
	k->icmp_code = k4->icmp_code;
	k->ethertype = 0x0800;
	k->sport = k4->sport;
	k->dport = k4->dport;
	memcpy(k->src, k4->src, 4);
	memcpy(k->dst, k4->dst, 4);
}

/* One flow map entry (its key as the map holds it) as a row. */
static void emit_entry(struct fl_src *s, int fam, const void *key, const void *vals,
		       const struct fl_time *t)
{
	struct nr_flow_key k;

	if (fam == F4)
		key_from4(key, &k);
	else
		memcpy(&k, key, sizeof(k));
	emit_flow(s, &k, vals, t);
}

/* Adds @src's counts to @dst (either may be empty: packets 0). */
static void val_merge(struct nr_flow_val *dst, const struct nr_flow_val *src)
{
	if (!src->packets)
		return;
	if (!dst->packets) {
		*dst = *src;
		return;
	}
	dst->packets += src->packets;
	dst->bytes += src->bytes;
	if (src->first < dst->first)
		dst->first = src->first;
	if (src->last > dst->last)
		dst->last = src->last;
	dst->tcp_flags |= src->tcp_flags;
	if (!dst->has_mac && src->has_mac) {
		dst->has_mac = 1;
		memcpy(dst->src_mac, src->src_mac, 6);
		memcpy(dst->dst_mac, src->dst_mac, 6);
	}
}

static size_t key4_hash(const struct nr_flow_key4 *k)
{
	const unsigned char *p = (const void *)k;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (size_t)h;
}

/* The table's entry for @k, made if missing; NULL if missing (or, cannot be: the table has
 * room for every slot of every CPU twice over, full). */
static struct fl_cached *ctab_get(struct fl_src *s, const struct nr_flow_key4 *k, bool make)
{
	size_t mask = s->ctab_cap - 1, i = key4_hash(k) & mask;

	for (size_t n = 0; n < s->ctab_cap; n++, i = (i + 1) & mask) {
		struct fl_cached *e = &s->ctab[i];

		if (!e->val.packets) {
			if (!make)
				return NULL;
			e->key = *k;
			return e;
		}
		if (memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
	}
	return NULL;
}

static int make_inner(struct fl_src *s, int fam);

/* Reads the IPv4 cache of set @set (no program can reach it any more) into the table, flows
 * merged across CPUs, and empties it for its next turn (or replaces it with a new one). */
static void cache_read(struct fl_src *s, int set)
{
	int fd = s->maps[FC].inner[set];
	size_t stride = sizeof(struct nr_flow_slot4); /* a multiple of 8 */
	uint32_t count = s->cache_slots, *keys = s->cache_keys;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t batch;
	int r;

	memset(s->ctab, 0, s->ctab_cap * sizeof(*s->ctab));
	r = bpf_map_lookup_batch(fd, NULL, &batch, keys, s->cache_vals, &count, &opts);
	if (r < 0 && errno != ENOENT) {
		log_warn("flows: batch read of the flow cache: %m; reading it slot by slot");
		count = 0;
		for (uint32_t i = 0; i < s->cache_slots; i++) {
			char *v = (char *)s->cache_vals + (size_t)i * s->ncpus * stride;

			keys[i] = i;
			if (bpf_map_lookup_elem(fd, &i, v) < 0) {
				int64_t now = nr_now_ns();

				log_error("flows: cannot read a slot of the flow cache: %m");
				nr_daemon_gap(s->d, NR_SRC_FLOWS, now, now,
					      "flow cache slot unreadable: not counted", NR_NONE);
				memset(v, 0, s->ncpus * stride);
			}
			count++;
		}
	}
	for (size_t i = 0; i < (size_t)count * s->ncpus; i++) {
		const struct nr_flow_slot4 *sl = (const void *)((char *)s->cache_vals + i * stride);

		struct fl_cached *e;

		if (!sl->val.packets)
			continue;
		e = ctab_get(s, &sl->key, true);
		if (e) {
			val_merge(&e->val, &sl->val);
		} else {
			int64_t now = nr_now_ns();

			log_error("flows: the cache table is full (cannot be): %llu packets lost",
				  (unsigned long long)sl->val.packets);
			nr_daemon_gap(s->d, NR_SRC_FLOWS, now, now, "flow cache table full: not counted",
				      (int64_t)sl->val.packets);
		}
	}
	/* Empty: every slot of every CPU zeroed. */
	memset(s->cache_vals, 0, (size_t)count * s->ncpus * stride);
	r = bpf_map_update_batch(fd, keys, s->cache_vals, &count, &opts);
	if (r < 0) {
		/* A slot left as it is would be counted again when this set comes back: a new,
		 * empty cache instead. */
		int nfd = make_inner(s, FC);

		log_warn("flows: cannot empty the flow cache (%m): replacing it");
		if (nfd >= 0 && bpf_map_update_elem(s->maps[FC].outer_fd, &set, &nfd, BPF_ANY) == 0) {
			close(fd);
			s->maps[FC].inner[set] = nfd;
		} else {
			if (nfd >= 0)
				close(nfd);
			log_error("flows: cannot replace the flow cache either (%m): its counts "
				  "may be counted again in a later interval");
		}
	}
}

/* The cached flows that the flow map had no entry for, as rows of their own. */
static void cache_emit_rest(struct fl_src *s, const struct fl_time *t)
{
	size_t n = 0;

	memset(s->vals, 0, (size_t)s->ncpus * s->val_stride);
	for (size_t i = 0; i < s->ctab_cap; i++) {
		struct fl_cached *e = &s->ctab[i];

		if (!e->val.packets || e->used)
			continue;
		if (n++ % 64 == 0)
			nr_daemon_wait_room(s->d, 64);
		memcpy(s->vals, &e->val, sizeof(e->val));
		emit_entry(s, F4, &e->key, s->vals, t);
	}
}

/* Reads and empties a flow map no program can reach any more; IPv4 entries take in the
 * counts of the same flow from the cache table. */
static void drain(struct fl_src *s, int fam, int fd, const struct fl_time *t)
{
	size_t ksz = s->maps[fam].key_size;
	uint32_t batch_token = 0;
	bool first = true;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (;;) {
		uint32_t count = BATCH;
		int r = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &batch_token,
							&batch_token, s->keys, s->vals, &count, &opts);
		int err = r < 0 ? errno : 0;

		first = false;
		for (uint32_t i = 0; i < count; i++) {
			/* A full map is tens of thousands of rows at once, more than the queue
			 * may have room for; the map must be empty before it is swapped in
			 * again, so this waits for the writer instead of dropping rows. */
			void *key = (char *)s->keys + i * ksz;
			void *vals = (char *)s->vals + (size_t)i * s->ncpus * s->val_stride;

			if (i % 64 == 0)
				nr_daemon_wait_room(s->d, 64);
			if (fam == F4) {
				struct fl_cached *e = ctab_get(s, key, false);

				if (e) {
					val_merge(vals, &e->val); /* as if CPU 0's */
					e->used = true;
				}
			}
			emit_entry(s, fam, key, vals, t);
		}
		if (err == ENOENT)
			return; /* done */
		if (err) {
			/* Should not happen; empty it key by key so nothing stays for later. */
			struct nr_flow_key k; /* the larger of the two keys */

			log_warn("flows: batch read of the flow map: %s; reading it key by key",
				 strerror(err));
			while (bpf_map_get_next_key(fd, NULL, &k) == 0) {
				if (bpf_map_lookup_elem(fd, &k, s->vals) == 0) {
					struct fl_cached *e =
						fam == F4 ? ctab_get(s, (void *)&k, false) : NULL;

					if (e) {
						val_merge(s->vals, &e->val);
						e->used = true;
					}
					emit_entry(s, fam, &k, s->vals, t);
				}
				bpf_map_delete_elem(fd, &k);
			}
			return;
		}
	}
}

static struct ovf_prev *ovf_find(struct fl_src *s, const struct nr_flow_ovf_key *k)
{
	for (size_t i = 0; i < s->novf; i++)
		if (memcmp(&s->ovf[i].key, k, sizeof(*k)) == 0)
			return &s->ovf[i];
	if (NR_GROW(s->ovf, s->novf, s->ovf_cap, 16) < 0)
		return NULL;
	memset(&s->ovf[s->novf], 0, sizeof(s->ovf[0]));
	s->ovf[s->novf].key = *k;
	return &s->ovf[s->novf++];
}

/* The overflow counters and the unattributed counters are monotonic: rows and gaps for what
 * they gained since the last collection. */
static void collect_counters(struct fl_src *s, int64_t from, int64_t now)
{
	struct nr_flow_ovf_key k, next;
	struct nr_flow_counter *pc = s->vals; /* ncpus counters, 16 bytes each (8-aligned) */
	uint64_t ovf_pkts = 0, ovf_bytes = 0;
	char reason[80];
	int fd = bpf_map__fd(s->skel->maps.flows_ovf);
	bool more = bpf_map_get_next_key(fd, NULL, &next) == 0;

	while (more) {
		uint64_t packets = 0, bytes = 0;
		struct ovf_prev *p;

		k = next;
		more = bpf_map_get_next_key(fd, &k, &next) == 0;
		if (bpf_map_lookup_elem(fd, &k, pc) < 0)
			continue;
		for (int c = 0; c < s->ncpus; c++) {
			packets += pc[c].packets;
			bytes += pc[c].bytes;
		}
		p = ovf_find(s, &k);
		if (!p || packets == p->packets)
			continue;
		{
			struct nr_record r;

			memset(&r, 0, sizeof(r));
			r.table = NR_T_FLOWS;
			r.source = NR_SRC_FLOWS;
			r.flow.kind = NR_FLOW_OVERFLOW;
			r.flow.ts_start_ns = from;
			r.flow.ts_end_ns = now;
			place(s, &r.flow, k.netns_id, k.ifindex);
			r.flow.egress = k.egress;
			r.flow.packets = packets - p->packets;
			r.flow.bytes = bytes - p->bytes;
			r.flow.sampling = s->sampling;
			r.flow.icmp_type = r.flow.icmp_code = NR_NONE;
			ovf_pkts += r.flow.packets;
			ovf_bytes += r.flow.bytes;
			if (nr_daemon_emit(s->d, &r) == 0)
				s->n_rows++;
		}
		p->packets = packets;
		p->bytes = bytes;
	}
	if (ovf_pkts) {
		s->n_overflow_pkts += ovf_pkts;
		snprintf(reason, sizeof(reason),
			 "flow map full: %llu bytes counted in overflow rows, not per flow",
			 (unsigned long long)ovf_bytes);
		nr_daemon_gap(s->d, NR_SRC_FLOWS, from, now, reason, (int64_t)ovf_pkts);
		log_warn("flows: flow map full: %llu packets not attributed to a flow (raise "
			 "flows-map-size)",
			 (unsigned long long)ovf_pkts);
	}
	for (uint32_t i = 0; i < NR_FLOWS_STAT__COUNT; i++) {
		uint64_t packets = 0, bytes = 0;
		int sfd = bpf_map__fd(s->skel->maps.flows_stats);

		if (bpf_map_lookup_elem(sfd, &i, pc) < 0)
			continue;
		for (int c = 0; c < s->ncpus; c++) {
			packets += pc[c].packets;
			bytes += pc[c].bytes;
		}
		if (packets == s->stat_prev[i][0])
			continue;
		if (i == NR_FLOWS_STAT_PARSE) {
			s->n_parse_pkts += packets - s->stat_prev[i][0];
			snprintf(reason, sizeof(reason),
				 "headers unreadable: counted by EtherType, not per flow");
		} else {
			s->n_lost_pkts += packets - s->stat_prev[i][0];
			snprintf(reason, sizeof(reason),
				 "not counted: flow and overflow maps full (%llu bytes)",
				 (unsigned long long)(bytes - s->stat_prev[i][1]));
		}
		nr_daemon_gap(s->d, NR_SRC_FLOWS, from, now, reason,
			      (int64_t)(packets - s->stat_prev[i][0]));
		s->stat_prev[i][0] = packets;
		s->stat_prev[i][1] = bytes;
	}
}

static int64_t mono_to_real_ns(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - m.tv_sec) * NR_NS_PER_SEC + (r.tv_nsec - m.tv_nsec);
}

/* Reads flows_clock into @c: one instant in jiffies and in ns. */
static int clock_read(struct fl_src *s, struct nr_flow_clock *c)
{
	uint8_t frame[64] = { 0 }; /* the program does not look at it */
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame));
	int r = bpf_prog_test_run_opts(bpf_program__fd(s->skel->progs.flows_clock), &o);

	if (r < 0)
		return r;
	if (o.retval != 0)
		return -EAGAIN; /* ticks kept coming in between: cannot be, short of a stall */
	*c = s->skel->bss->clock_now;
	return 0;
}

/* The clock for a drain: a fresh reading (the last good one if that fails), the tick length
 * from the start to it, and the wall clock's offset. */
static void time_now(struct fl_src *s, struct fl_time *t)
{
	int r = clock_read(s, &s->clk);
	uint64_t dj;

	if (r < 0)
		log_warn("flows: cannot read the clock (%s): times extrapolated", strerror(-r));
	t->now = s->clk;
	dj = t->now.jiffies - s->clk0.jiffies;
	/* With no tick since the start, every count is of this jiffy: the length is moot. */
	t->ns_per_jiffy = dj ? (double)(t->now.coarse_ns - s->clk0.coarse_ns) / (double)dj : 0;
	t->mono_to_real = mono_to_real_ns();
}

/* Waits until no TC program can still be using a map it looked up before now. */
static void grace_period(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) < 0) {
		/* No membarrier: programs run for microseconds; 10 ms is far beyond that. */
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* Drains set @i (no program can reach it any more): the cache, the IPv4 map with the
 * cache's counts merged in, the cached flows the map had no entry for, the other map. */
static void drain_set(struct fl_src *s, int i, const struct fl_time *t)
{
	cache_read(s, i);
	drain(s, F4, s->maps[F4].inner[i], t);
	cache_emit_rest(s, t);
	drain(s, FALL, s->maps[FALL].inner[i], t);
}

static void collect(struct fl_src *s)
{
	int old = s->active, zero = 0;
	int64_t now = nr_now_ns(), from = s->last_collect_ns;
	struct fl_time t;

	/* One word flips every map at once (updating a map-in-map slot would wait for a grace
	 * period per map, with the sets mixed in between); then one grace period. */
	uint32_t set = (uint32_t)!old;

	if (bpf_map_update_elem(s->set_fd, &zero, &set, BPF_ANY) < 0) {
		log_error("flows: cannot switch the flow maps: %m");
		return;
	}
	s->active = !old;
	grace_period();
	time_now(s, &t);
	drain_set(s, old, &t);
	collect_counters(s, from, now);
	s->last_collect_ns = now;
	/* Interfaces deleted since the last collection: their rows are out; forget them. */
	for (struct fl_ns *n = s->list; n; n = n->next)
		for (struct fl_if **pp = &n->ifs; *pp;) {
			struct fl_if *f = *pp;

			if (!f->gone) {
				pp = &f->next;
				continue;
			}
			*pp = f->next;
			free(f);
		}
	/* Namespaces gone since the last collection: their rows are out; forget them. */
	for (struct fl_ns **pp = &s->list; *pp;) {
		struct fl_ns *n = *pp;

		if (n->ns) {
			pp = &n->next;
			continue;
		}
		*pp = n->next;
		ns_free(n);
	}
}

static void on_collect(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) > 0)
		collect(data);
}

static void on_tick(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct fl_src *s = data;
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) <= 0)
		return;
	/* A safety net under the link notifications (an overrun of the monitor socket). */
	if (++s->ticks % RESCAN_TICKS == 0)
		for (struct fl_ns *n = s->list; n; n = n->next)
			ns_scan(n);
}

/* ---- source ----------------------------------------------------------------------------- */

void nr_flows_health(struct nr_daemon *d, void *state, int64_t now)
{
	struct fl_src *s = state;
	unsigned nns = 0;

	for (struct fl_ns *n = s->list; n; n = n->next)
		nns += n->ns != NULL;
	nr_daemon_health(d, NR_SRC_FLOWS, now, "namespaces", nns);
	nr_daemon_health(d, NR_SRC_FLOWS, now, "programs_attached", (double)s->n_attached);
	nr_daemon_health(d, NR_SRC_FLOWS, now, "attach_errors", (double)s->n_attach_err);
	nr_daemon_health(d, NR_SRC_FLOWS, now, "rows", (double)s->n_rows);
	nr_daemon_health(d, NR_SRC_FLOWS, now, "overflow_packets", (double)s->n_overflow_pkts);
	nr_daemon_health(d, NR_SRC_FLOWS, now, "unparsed_packets", (double)s->n_parse_pkts);
	nr_daemon_health(d, NR_SRC_FLOWS, now, "lost_packets", (double)s->n_lost_pkts);
}

static int make_inner(struct fl_src *s, int fam)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);

	if (fam == FC)
		return bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "nr_fcache4", sizeof(uint32_t),
				      sizeof(struct nr_flow_slot4), s->cache_slots, &o);
	return bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, fam == F4 ? "nr_flows4" : "nr_flows",
			      (uint32_t)s->maps[fam].key_size, sizeof(struct nr_flow_val),
			      s->max_entries, &o);
}

int nr_flows_start(struct nr_daemon *d, void **ret, char *why, size_t whylen)
{
	const struct nr_config *c = nr_daemon_config(d);
	struct fl_src *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	for (int f = 0; f < NMAPS; f++)
		s->maps[f].inner[0] = s->maps[f].inner[1] = s->maps[f].outer_fd = -1;
	s->maps[F4].key_size = sizeof(struct nr_flow_key4);
	s->maps[FALL].key_size = sizeof(struct nr_flow_key);
	s->maps[FC].key_size = sizeof(uint32_t);
	s->timer_fd = s->tick_fd = -1;
	s->max_entries = (uint32_t)c->flows_map_size;
	s->sampling = (uint32_t)c->flows_sampling;
	s->include = c->flows_include;
	if (strcmp(c->flows_attach, "tcx") == 0)
		s->attach_mode = 1;
	else if (strcmp(c->flows_attach, "clsact") == 0)
		s->attach_mode = 2;
	s->exclude = c->flows_exclude;
	s->last_collect_ns = nr_now_ns();
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		r = -EINVAL;
		goto fail;
	}
	s->val_stride = (sizeof(struct nr_flow_val) + 7) & ~(size_t)7;
	s->keys = calloc(BATCH, sizeof(struct nr_flow_key));
	s->vals = calloc((size_t)BATCH * s->ncpus, s->val_stride);
	/* The cache: 4096 slots up to 8 CPUs, fewer beyond (at least 512), so that its two
	 * copies stay under 5 MB (72 bytes a slot, per CPU). */
	s->cache_slots = (uint32_t)c->flows_cache_size;
	if (!s->cache_slots) {
		s->cache_slots = 4096;
		while (s->cache_slots > 512 && (size_t)s->cache_slots * s->ncpus > 32768)
			s->cache_slots /= 2;
	}
	/* A power of two (the probe mask), at least twice the slots of all CPUs. */
	for (s->ctab_cap = 1; s->ctab_cap < 2 * (size_t)s->cache_slots * s->ncpus;)
		s->ctab_cap *= 2;
	s->cache_keys = calloc(s->cache_slots, sizeof(uint32_t));
	s->cache_vals = calloc((size_t)s->cache_slots * s->ncpus, sizeof(struct nr_flow_slot4));
	s->ctab = calloc(s->ctab_cap, sizeof(*s->ctab));
	if (!s->keys || !s->vals || !s->cache_keys || !s->cache_vals || !s->ctab) {
		r = -ENOMEM;
		goto fail;
	}
	nr_sources_libbpf_quiet();
	s->skel = flows_bpf__open();
	if (!s->skel) {
		r = -errno;
		snprintf(why, whylen, "cannot open the BPF object: %s", strerror(-r));
		goto fail;
	}
	s->skel->rodata->sampling = s->sampling;
	s->skel->rodata->cache_mask = s->cache_slots - 1;
	/* The flow maps, of the configured size, and the caches, made here: the first of each
	 * is also the outer map's template (inner maps must all be the same size). */
	for (int f = 0; f < NMAPS; f++)
		for (int i = 0; i < 2; i++) {
			s->maps[f].inner[i] = make_inner(s, f);
			if (s->maps[f].inner[i] < 0) {
				r = -errno;
				snprintf(why, whylen, "cannot create the flow maps: %s",
					 strerror(-r));
				goto fail;
			}
		}
	r = bpf_map__set_inner_map_fd(s->skel->maps.flows_outer4, s->maps[F4].inner[0]);
	if (r == 0)
		r = bpf_map__set_inner_map_fd(s->skel->maps.flows_outer, s->maps[FALL].inner[0]);
	if (r == 0)
		r = bpf_map__set_inner_map_fd(s->skel->maps.cache_outer4, s->maps[FC].inner[0]);
	if (r == 0)
		r = flows_bpf__load(s->skel);
	if (r < 0) {
		snprintf(why, whylen, "cannot load the BPF programs: %s", strerror(-r));
		goto fail;
	}
	r = clock_read(s, &s->clk0);
	if (r < 0) {
		snprintf(why, whylen, "cannot read the kernel's clock (flows_clock): %s",
			 strerror(-r));
		goto fail;
	}
	s->clk = s->clk0;
	s->maps[F4].outer_fd = bpf_map__fd(s->skel->maps.flows_outer4);
	s->maps[FALL].outer_fd = bpf_map__fd(s->skel->maps.flows_outer);
	s->maps[FC].outer_fd = bpf_map__fd(s->skel->maps.cache_outer4);
	s->set_fd = bpf_map__fd(s->skel->maps.flows_set); /* 0: set 0 */
	for (int f = 0; f < NMAPS; f++)
		for (int i = 0; i < 2; i++)
			if (bpf_map_update_elem(s->maps[f].outer_fd, &i, &s->maps[f].inner[i],
						BPF_ANY) < 0) {
				r = -errno;
				snprintf(why, whylen, "cannot install the flow maps: %s",
					 strerror(-r));
				goto fail;
			}
	s->timer_fd = nr_daemon_timer(d, c->flows_interval_ns, on_collect, s);
	s->tick_fd = nr_daemon_timer(d, NR_NS_PER_SEC, on_tick, s);
	if (s->timer_fd < 0 || s->tick_fd < 0) {
		r = s->timer_fd < 0 ? s->timer_fd : s->tick_fd;
		snprintf(why, whylen, "timer: %s", strerror(-r));
		goto fail;
	}
	r = nr_netns_watch_new(d, c->netns, c->netns_rescan_ns, &ns_ops, s, &s->watch);
	if (r < 0) {
		snprintf(why, whylen, "network namespaces: %s", strerror(-r));
		goto fail;
	}
	if (s->n_attach_err && !s->n_attached) {
		r = -EOPNOTSUPP;
		snprintf(why, whylen, "cannot attach TC programs (tcx) to any interface");
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	nr_flows_stop(d, s);
	return r;
}

void nr_flows_stop(struct nr_daemon *d, void *state)
{
	struct fl_src *s = state;

	if (!s)
		return;
	s->stopping = true;
	nr_netns_watch_free(s->watch); /* detaches every program */
	if (s->skel && s->maps[F4].outer_fd >= 0 && s->maps[FALL].outer_fd >= 0 &&
	    s->maps[FC].outer_fd >= 0) {
		/* The last counts: no program runs any more (detached), so both maps drain. */
		struct fl_time t;

		grace_period();
		time_now(s, &t);
		for (int i = 0; i < 2; i++)
			drain_set(s, i, &t);
		collect_counters(s, s->last_collect_ns, nr_now_ns());
		nr_flows_health(d, s, nr_now_ns());
		log_info("flows: %llu rows recorded", (unsigned long long)s->n_rows);
	}
	while (s->list) {
		struct fl_ns *n = s->list;

		s->list = n->next;
		ns_free(n);
	}
	for (int f = 0; f < NMAPS; f++)
		for (int i = 0; i < 2; i++)
			if (s->maps[f].inner[i] >= 0)
				close(s->maps[f].inner[i]);
	if (s->timer_fd >= 0) {
		nr_daemon_unwatch(d, s->timer_fd);
		close(s->timer_fd);
	}
	if (s->tick_fd >= 0) {
		nr_daemon_unwatch(d, s->tick_fd);
		close(s->tick_fd);
	}
	flows_bpf__destroy(s->skel);
	free(s->keys);
	free(s->vals);
	free(s->cache_keys);
	free(s->cache_vals);
	free(s->ctab);
	free(s->ovf);
	free(s);
}
