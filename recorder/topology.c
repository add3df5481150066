// SPDX-License-Identifier: MIT
/*
 * The topology source: snapshots of every recorded namespace's links (with their kind and
 * relations), addresses, routes (every table), neighbours and listening sockets, read with
 * libnl-route-3 (and sock_diag for the listeners).
 *
 * A namespace is snapshotted every topology-interval, and topology-debounce after an
 * rtnetlink change in it (links, addresses, routes; neighbours at the interval). A snapshot is stored only
 * when its content hash differs from the namespace's last stored one, or when it is the first
 * of a new partition window (a "keyframe", so that "as of T" never has to look back further
 * than about two partitions, and retention never leaves a namespace without its state). A
 * quiet network costs one snapshot per namespace per partition. When a namespace goes away,
 * a snapshot with hash 0 and no rows marks it gone.
 *
 * Neighbour entries change state all the time (REACHABLE, STALE, DELAY, PROBE): the hash
 * looks at their address, link-layer address and whether they are permanent, not at the
 * transient state, so an ARP refresh does not store a snapshot. The state is stored with the
 * rows whenever a snapshot is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/neighbour.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/macvtap.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "config.h"
#include "daemon.h"
#include "grow.h"
#include "log.h"
#include "netns.h"
#include "nrtime.h"
#include "procfd.h"
#include "sockdiag.h"
#include "sources.h"

#define DUMP_BUF_SIZE (64 * 1024)
#define EV_BUF_SIZE 65536

struct tp_src;

struct tp_ns {
	struct tp_src *src;
	const struct nr_netns *ns;
	uint64_t inode;
	char label[128];
	struct nl_sock *ev; /* rtnetlink change notifications, in the namespace */
	int ev_fd;
	uint64_t last_hash; /* of the last stored snapshot; 0 none */
	int64_t last_window; /* partition window of the last stored snapshot */
	bool dirty; /* a change was seen: a snapshot is due after the debounce */
	struct {
		int32_t nsid;
		uint64_t inode;
	} *nsids; /* other namespaces' ids in this one (nsid_inode) */
	size_t nnsids;
	uint64_t nsid_gen; /* the src->ns_gen they were looked up at; 0: never */
	struct tp_ns *next;
};

struct tp_src {
	struct nr_daemon *d;
	struct nr_netns_watch *watch;
	struct tp_ns *list;
	int timer_fd, debounce_fd;
	bool debounce_armed;
	uint64_t ns_gen; /* changes when a namespace comes or goes: namespace ids to look up again */
	int64_t debounce_ns, partition_ns;
	int64_t last_id;
	bool stopping;
	char *dump_buf, *ev_buf;
	/* health */
	uint64_t n_taken, n_stored, n_rows, n_errors, n_events;
	int64_t last_ns; /* duration of the last round */
};

/* One snapshot's rows, before they are hashed and handed over. */
struct rows {
	struct nr_record *v;
	size_t n, cap;
};

static struct nr_record *row_add(struct rows *r, enum nr_table t)
{
	struct nr_record *x;

	if (NR_GROW(r->v, r->n, r->cap, 64) < 0)
		return NULL;
	x = &r->v[r->n++];
	memset(x, 0, sizeof(*x));
	x->table = t;
	x->source = NR_SRC_TOPOLOGY;
	return x;
}

static void addr_from_nl(struct nl_addr *a, struct nr_addr *out)
{
	unsigned len;

	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	len = nl_addr_get_len(a);
	if (nl_addr_get_family(a) == AF_INET && len == 4) {
		out->family = AF_INET;
		memcpy(out->bytes, nl_addr_get_binary_addr(a), 4);
	} else if (nl_addr_get_family(a) == AF_INET6 && len == 16) {
		out->family = AF_INET6;
		memcpy(out->bytes, nl_addr_get_binary_addr(a), 16);
	}
}

/* ---- namespace ids: a veth peer's namespace ------------------------------------------- */

struct nsid_ctx {
	int32_t nsid;
};

static int nsid_attr(const struct nlattr *a, void *data)
{
	struct nsid_ctx *x = data;

	if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		x->nsid = (int32_t)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int nsid_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWNSID)
		mnl_attr_parse(nlh, sizeof(struct rtgenmsg), nsid_attr, data);
	return MNL_CB_OK;
}

/* The id namespace @other has inside @n (RTM_GETNSID with its fd), or -1. */
static int32_t nsid_of(struct tp_ns *n, const struct nr_netns *other)
{
	char req[64];
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;
	struct nsid_ctx x = { -1 };
	int fd, r;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t sl = sizeof(sa);

	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)other->fd);
	fd = nr_netns_nl_socket(n->ns, SOCK_RAW, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    send(fd, req, nlh->nlmsg_len, 0) < 0) {
		close(fd);
		return -1;
	}
	r = (int)recv(fd, n->src->dump_buf, DUMP_BUF_SIZE, 0);
	if (r > 0)
		mnl_cb_run(n->src->dump_buf, (size_t)r, 1, sa.nl_pid, nsid_cb, &x);
	close(fd);
	return x.nsid;
}

/* The inode of the namespace @nsid names inside @n: the recorded namespace with that id
 * there. 0 if none is recorded (a namespace netrecd does not record, or no longer exists).
 * Ids are stable while both namespaces live: each namespace asks every other one once, and
 * again only when a namespace has come or gone since. */
static uint64_t nsid_inode(struct tp_ns *n, int32_t nsid)
{
	if (n->nsid_gen != n->src->ns_gen) {
		size_t k = 0;

		for (struct tp_ns *o = n->src->list; o; o = o->next)
			k += o != n && o->ns;
		free(n->nsids);
		n->nsids = calloc(k ? k : 1, sizeof(*n->nsids));
		n->nnsids = 0;
		for (struct tp_ns *o = n->src->list; n->nsids && o; o = o->next) {
			int32_t id;

			if (o == n || !o->ns || (id = nsid_of(n, o->ns)) < 0)
				continue;
			n->nsids[n->nnsids].nsid = id;
			n->nsids[n->nnsids++].inode = o->inode;
		}
		n->nsid_gen = n->src->ns_gen;
	}
	for (size_t i = 0; i < n->nnsids; i++)
		if (n->nsids[i].nsid == nsid)
			return n->nsids[i].inode;
	return 0;
}

/* ---- reading a namespace --------------------------------------------------------------- */

static void link_info(struct rtnl_link *l, const char *kind, char *info, size_t len)
{
	char a[NR_ADDR_STRLEN], b[NR_ADDR_STRLEN], buf[32];
	struct nl_addr *na = NULL;
	struct nr_addr x;

	info[0] = '\0';
	if (!kind)
		return;
	if (strcmp(kind, "vlan") == 0) {
		/* libnl keeps the protocol in network byte order. */
		uint16_t proto = ntohs((uint16_t)rtnl_link_vlan_get_protocol(l));

		snprintf(info, len, "{\"id\":%d,\"protocol\":\"%s\"}", rtnl_link_vlan_get_id(l),
			 proto == 0x88a8 ? "802.1ad" : "802.1Q");
	} else if (strcmp(kind, "vxlan") == 0) {
		uint32_t id = 0, port = 0;
		int n;

		rtnl_link_vxlan_get_id(l, &id);
		rtnl_link_vxlan_get_port(l, &port);
		n = snprintf(info, len, "{\"id\":%u", id);
		a[0] = b[0] = '\0';
		if (rtnl_link_vxlan_get_group(l, &na) == 0) {
			addr_from_nl(na, &x);
			nr_addr_format(&x, a, sizeof(a));
			nl_addr_put(na);
		}
		if (rtnl_link_vxlan_get_local(l, &na) == 0) {
			addr_from_nl(na, &x);
			nr_addr_format(&x, b, sizeof(b));
			nl_addr_put(na);
		}
		if (a[0] && n > 0 && (size_t)n < len)
			n += snprintf(info + n, len - (size_t)n, ",\"remote\":\"%s\"", a);
		if (b[0] && n > 0 && (size_t)n < len)
			n += snprintf(info + n, len - (size_t)n, ",\"local\":\"%s\"", b);
		if (n > 0 && (size_t)n < len)
			snprintf(info + n, len - (size_t)n, ",\"port\":%u}", port);
		if (n <= 0 || (size_t)n >= len)
			snprintf(info, len, "{\"id\":%u,\"port\":%u}", id, port); /* too long */
	} else if (strcmp(kind, "macvlan") == 0) {
		snprintf(info, len, "{\"mode\":\"%s\"}",
			 rtnl_link_macvlan_mode2str((int)rtnl_link_macvlan_get_mode(l), buf,
						    sizeof(buf)));
	} else if (strcmp(kind, "macvtap") == 0) {
		snprintf(info, len, "{\"mode\":\"%s\"}",
			 rtnl_link_macvtap_mode2str((int)rtnl_link_macvtap_get_mode(l), buf,
						    sizeof(buf)));
	} else if (strcmp(kind, "tun") == 0) {
		/* A tap device carries Ethernet frames, a tun device bare IP. */
		snprintf(info, len, "{\"type\":\"%s\"}",
			 rtnl_link_get_arptype(l) == 1 /* ARPHRD_ETHER */ ? "tap" : "tun");
	}
}

static void read_links(struct tp_ns *n, struct nl_cache *c, struct rows *out)
{
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		struct nr_record *r = row_add(out, NR_T_LINKS);
		struct nr_rec_link *k;
		const char *kind = rtnl_link_get_type(l), *name = rtnl_link_get_name(l);
		struct nl_addr *mac = rtnl_link_get_addr(l);
		char op[32];
		int32_t nsid;
		uint64_t other = 0;

		if (!r)
			return;
		k = &r->link;
		k->ifindex = (uint32_t)rtnl_link_get_ifindex(l);
		snprintf(k->name, sizeof(k->name), "%s", name ? name : "");
		snprintf(k->kind, sizeof(k->kind), "%s", kind ? kind : "");
		if (mac && nl_addr_get_len(mac) == 6) {
			k->has_mac = true;
			memcpy(k->mac, nl_addr_get_binary_addr(mac), 6);
		}
		k->mtu = rtnl_link_get_mtu(l);
		rtnl_link_operstate2str(rtnl_link_get_operstate(l), op, sizeof(op));
		snprintf(k->operstate, sizeof(k->operstate), "%.15s", op);
		k->flags = rtnl_link_get_flags(l);
		k->master_ifindex = (uint32_t)rtnl_link_get_master(l);
		/* The lower device or peer is in another namespace when the kernel gives its
		 * id there; 0 when that namespace is not one netrecd records (unknown). */
		if (rtnl_link_get_link_netnsid(l, &nsid) == 0 && nsid >= 0)
			other = nsid_inode(n, nsid);
		else
			nsid = -1;
		if (kind && strcmp(kind, "veth") == 0) {
			k->peer_ifindex = (uint32_t)rtnl_link_get_link(l);
			k->peer_netns = nsid >= 0 ? other : n->inode;
		} else {
			k->link_ifindex = (uint32_t)rtnl_link_get_link(l);
			if (kind && strcmp(kind, "vxlan") == 0) {
				uint32_t dev = 0;

				/* A VXLAN's device is IFLA_VXLAN_LINK, not IFLA_LINK. */
				if (rtnl_link_vxlan_get_link(l, &dev) == 0)
					k->link_ifindex = dev;
			}
			if (k->link_ifindex == k->ifindex)
				k->link_ifindex = 0; /* plain devices name themselves */
			k->peer_netns = other;
		}
		link_info(l, kind, k->info, sizeof(k->info));
	}
}

static void read_addrs(struct nl_cache *c, struct rows *out)
{
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nr_record *r;

		if (rtnl_addr_get_family(a) != AF_INET && rtnl_addr_get_family(a) != AF_INET6)
			continue;
		r = row_add(out, NR_T_ADDRESSES);
		if (!r)
			return;
		r->addr.ifindex = (uint32_t)rtnl_addr_get_ifindex(a);
		addr_from_nl(rtnl_addr_get_local(a), &r->addr.addr);
		r->addr.prefixlen = (uint8_t)rtnl_addr_get_prefixlen(a);
		r->addr.scope = (uint8_t)rtnl_addr_get_scope(a);
		r->addr.flags = rtnl_addr_get_flags(a);
	}
}

/* One route (all its next hops) as rows. */
static void route_rows(struct rtnl_route *rt, struct rows *out)
{
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	int family = rtnl_route_get_family(rt), nh = rtnl_route_get_nnexthops(rt);
	struct nr_rec_route base;

	if (family != AF_INET && family != AF_INET6)
		return;
	memset(&base, 0, sizeof(base));
	base.table_id = rtnl_route_get_table(rt);
	base.family = (uint8_t)family;
	if (dst && nl_addr_get_prefixlen(dst) > 0)
		addr_from_nl(dst, &base.dst);
	base.dst_len = dst ? (uint8_t)nl_addr_get_prefixlen(dst) : 0;
	addr_from_nl(rtnl_route_get_pref_src(rt), &base.prefsrc);
	base.protocol = rtnl_route_get_protocol(rt);
	base.scope = rtnl_route_get_scope(rt);
	base.type = rtnl_route_get_type(rt);
	base.metric = rtnl_route_get_priority(rt);
	for (int i = 0; i < (nh ? nh : 1); i++) {
		struct nr_record *r = row_add(out, NR_T_ROUTES);
		struct rtnl_nexthop *h = nh ? rtnl_route_nexthop_n(rt, i) : NULL;

		if (!r)
			return;
		r->route = base;
		if (h) {
			addr_from_nl(rtnl_route_nh_get_gateway(h), &r->route.gateway);
			r->route.oif = (uint32_t)rtnl_route_nh_get_ifindex(h);
		}
		if (nh > 1) {
			r->route.nexthop = (uint16_t)(i + 1);
			/* The kernel keeps weight - 1 (rtnh_hops). */
			r->route.weight = (uint16_t)(rtnl_route_nh_get_weight(h) + 1);
		}
	}
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rtnl_route *rt = NULL;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	/* Parsed by libnl one message at a time: its route cache keeps one route per
	 * (family, table, destination, metric), and IPv6 has fe80::/64 and ff00::/8 on every
	 * interface. */
	if (rtnl_route_parse((struct nlmsghdr *)nlh, &rt) < 0)
		return MNL_CB_OK;
	route_rows(rt, data);
	rtnl_route_put(rt);
	return MNL_CB_OK;
}

/* Every route of every table, both families. */
static int read_routes(struct tp_ns *n, struct rows *out)
{
	char req[64];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 1;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	return nr_netns_dump(n->ns, NETLINK_ROUTE, req, nlh->nlmsg_len, n->src->dump_buf,
			     DUMP_BUF_SIZE, route_cb, out);
}

static void read_neighs(struct nl_cache *c, struct rows *out)
{
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *ne = (struct rtnl_neigh *)o;
		struct nl_addr *ll = rtnl_neigh_get_lladdr(ne);
		struct nr_record *r;
		int family = rtnl_neigh_get_family(ne);

		if (family != AF_INET && family != AF_INET6)
			continue;
		/* As `ip neigh` shows them: NOARP entries (multicast and broadcast addresses,
		 * made and dropped as IPv6 sends MLD reports and solicitations) are left out;
		 * they say nothing about a neighbour and would make every snapshot differ. */
		if (rtnl_neigh_get_state(ne) & NUD_NOARP)
			continue;
		r = row_add(out, NR_T_NEIGHBORS);
		if (!r)
			return;
		r->neigh.ifindex = (uint32_t)rtnl_neigh_get_ifindex(ne);
		addr_from_nl(rtnl_neigh_get_dst(ne), &r->neigh.addr);
		if (ll && nl_addr_get_len(ll) == 6) {
			r->neigh.has_lladdr = true;
			memcpy(r->neigh.lladdr, nl_addr_get_binary_addr(ll), 6);
		}
		r->neigh.state = (uint16_t)rtnl_neigh_get_state(ne);
	}
}

struct lis_ctx {
	struct rows *out;
	uint8_t proto;
};

static int lis_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lis_ctx *x = data;
	struct nr_diag_sock d;
	struct nr_record *r;

	if (nr_diag_parse(nlh, x->proto, &d) < 0)
		return MNL_CB_OK;
	if (!((d.proto == IPPROTO_TCP && d.state == NR_TCP_LISTEN) ||
	      (d.proto == IPPROTO_UDP && d.dport == 0 && d.sport != 0)))
		return MNL_CB_OK;
	r = row_add(x->out, NR_T_LISTENERS);
	if (!r)
		return MNL_CB_ERROR;
	r->listener.proto = d.proto;
	r->listener.addr = d.src;
	r->listener.port = d.sport;
	r->listener.inode = d.inode;
	r->listener.pid = NR_NONE;
	return MNL_CB_OK;
}

/* Listening TCP sockets and bound, unconnected UDP sockets, IPv4 and IPv6. */
static int read_listeners(struct tp_ns *n, struct rows *out)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	char req[NR_DIAG_REQ_SIZE];
	int r = 0;

	for (size_t p = 0; p < 2 && r == 0; p++)
		for (size_t f = 0; f < 2 && r == 0; f++) {
			struct lis_ctx x = { out, protos[p] };
			size_t len = nr_diag_request(req, families[f], protos[p], 1);
			struct nlmsghdr *nlh = (struct nlmsghdr *)req;
			struct inet_diag_req_v2 *q = mnl_nlmsg_get_payload(nlh);

			/* Only what could be a listener: TCP LISTEN, UDP unconnected (CLOSE). */
			q->idiag_states = protos[p] == IPPROTO_TCP ? 1u << NR_TCP_LISTEN
								   : 1u << NR_TCP_CLOSE;
			q->idiag_ext = 0;
			r = nr_netns_dump(n->ns, NETLINK_SOCK_DIAG, req, len, n->src->dump_buf,
					  DUMP_BUF_SIZE, lis_cb, &x);
		}
	return r;
}

/* ---- snapshots ------------------------------------------------------------------------- */

static int cmp_rows(const void *a, const void *b)
{
	const struct nr_record *x = a, *y = b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	/* Every key field, in the order that reads naturally; the rest decides ties. */
	switch (x->table) {
	case NR_T_LINKS:
		return x->link.ifindex < y->link.ifindex ? -1 : x->link.ifindex > y->link.ifindex;
	case NR_T_ADDRESSES:
		if (x->addr.ifindex != y->addr.ifindex)
			return x->addr.ifindex < y->addr.ifindex ? -1 : 1;
		return memcmp(&x->addr, &y->addr, sizeof(x->addr));
	case NR_T_ROUTES:
		if (x->route.table_id != y->route.table_id)
			return x->route.table_id < y->route.table_id ? -1 : 1;
		return memcmp(&x->route, &y->route, sizeof(x->route));
	case NR_T_NEIGHBORS:
		return memcmp(&x->neigh, &y->neigh, sizeof(x->neigh));
	case NR_T_LISTENERS:
		return memcmp(&x->listener, &y->listener, sizeof(x->listener));
	default:
		return 0;
	}
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The content's hash. Records are zeroed before they are filled, so whole structs hash
 * reproducibly; a neighbour's transient state is left out (see the top of this file). */
static uint64_t rows_hash(const struct rows *rs)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < rs->n; i++) {
		struct nr_record r = rs->v[i];

		if (r.table == NR_T_NEIGHBORS)
			r.neigh.state &= NUD_PERMANENT | NUD_NOARP;
		h = fnv(h, &r, sizeof(r));
	}
	return h ? h : 1; /* 0 means "gone" */
}

/* Hands a snapshot row and its detail rows to the writer as one group. Returns -ENOSPC if the
 * queue dropped any of them (it counts them in a "queue full" gap). */
static int store(struct tp_ns *n, struct rows *rs, uint64_t hash, int64_t now)
{
	struct tp_src *s = n->src;
	struct nr_record snap;
	size_t failed = 0;
	bool wait_ok;
	int64_t id = now > s->last_id ? now : s->last_id + 1;

	s->last_id = id;
	memset(&snap, 0, sizeof(snap));
	snap.table = NR_T_SNAPSHOTS;
	snap.source = NR_SRC_TOPOLOGY;
	snap.snap.id = id;
	snap.snap.ts_ns = now;
	snap.snap.netns = n->inode;
	snap.snap.hash = hash;
	snap.snap.pid = NR_NONE;
	if (n->ns) {
		snprintf(snap.snap.netns_name, sizeof(snap.snap.netns_name), "%s", n->ns->name);
		if (n->ns->pid > 0)
			snap.snap.pid = n->ns->pid;
	}
	if (rs->n)
		snap.flags = NR_REC_MORE;
	wait_ok = nr_daemon_wait_room(s->d, 64);
	failed += nr_daemon_emit(s->d, &snap) < 0;
	for (size_t i = 0; i < rs->n; i++) {
		struct nr_record *r = &rs->v[i];

		switch (r->table) {
		case NR_T_LINKS: r->link.snapshot_id = id; break;
		case NR_T_ADDRESSES: r->addr.snapshot_id = id; break;
		case NR_T_ROUTES: r->route.snapshot_id = id; break;
		case NR_T_NEIGHBORS: r->neigh.snapshot_id = id; break;
		case NR_T_LISTENERS: r->listener.snapshot_id = id; break;
		default: break;
		}
		if (i + 1 < rs->n)
			r->flags = NR_REC_MORE;
		/* A large table (a full BGP view) is more rows than the queue holds at once. */
		if (wait_ok && i % 64 == 63)
			wait_ok = nr_daemon_wait_room(s->d, 64);
		failed += nr_daemon_emit(s->d, r) < 0;
	}
	s->n_stored++;
	s->n_rows += rs->n + 1;
	return failed ? -ENOSPC : 0;
}

/* Reads the namespace with libnl on a socket made inside it. */
static int read_ns(struct tp_ns *n, struct rows *rs)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *links = NULL, *addrs = NULL, *neighs = NULL;
	int fd, r;

	if (!sk)
		return -ENOMEM;
	/* libnl connects its own socket; hand it one made in the namespace, bound and
	 * connected to the kernel. */
	fd = nr_netns_nl_socket(n->ns, SOCK_RAW, NETLINK_ROUTE);
	if (fd < 0) {
		nl_socket_free(sk);
		return fd;
	}
	r = nl_socket_set_fd(sk, NETLINK_ROUTE, fd);
	if (r < 0) {
		close(fd);
		nl_socket_free(sk);
		return -EIO;
	}
	r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
	if (r == 0)
		r = rtnl_addr_alloc_cache(sk, &addrs);
	if (r == 0)
		r = rtnl_neigh_alloc_cache(sk, &neighs);
	if (r == 0) {
		read_links(n, links, rs);
		read_addrs(addrs, rs);
		read_neighs(neighs, rs);
	}
	nl_cache_free(links);
	nl_cache_free(addrs);
	nl_cache_free(neighs);
	nl_socket_free(sk); /* closes fd */
	if (r < 0) {
		log_warn("topology: %s: %s", n->label, nl_geterror(r));
		return -EIO;
	}
	r = read_routes(n, rs);
	return r < 0 ? r : read_listeners(n, rs);
}

/* The process of every listener in @sets, in one pass over /proc for all of them. */
static void listener_owners(struct rows *sets, size_t nsets)
{
	struct nr_procfd_want *w;
	struct nr_proc_owner *o;
	size_t nw = 0, k = 0;

	for (size_t s = 0; s < nsets; s++)
		for (size_t i = 0; i < sets[s].n; i++)
			nw += sets[s].v[i].table == NR_T_LISTENERS && sets[s].v[i].listener.inode;
	if (!nw)
		return;
	w = calloc(nw, sizeof(*w));
	o = calloc(nw, sizeof(*o));
	if (w && o) {
		for (size_t s = 0; s < nsets; s++)
			for (size_t i = 0; i < sets[s].n; i++)
				if (sets[s].v[i].table == NR_T_LISTENERS && sets[s].v[i].listener.inode) {
					o[k].pid = NR_NONE;
					w[k] = (struct nr_procfd_want){ sets[s].v[i].listener.inode, &o[k],
									false };
					k++;
				}
		nr_procfd_owners(w, nw); /* sorts w; o stays in the listeners' order */
		k = 0;
		for (size_t s = 0; s < nsets; s++)
			for (size_t i = 0; i < sets[s].n; i++) {
				struct nr_rec_listener *l = &sets[s].v[i].listener;

				if (sets[s].v[i].table != NR_T_LISTENERS || !l->inode)
					continue;
				l->pid = o[k].pid;
				memcpy(l->comm, o[k].comm, sizeof(l->comm));
				k++;
			}
	}
	free(w);
	free(o);
}

/* Reads @n into @rs. False (and a gaps row) if it could not be read. */
static bool take(struct tp_ns *n, struct rows *rs, int64_t now)
{
	struct tp_src *s = n->src;
	int r;

	n->dirty = false;
	s->n_taken++;
	r = read_ns(n, rs);
	if (r < 0) {
		char reason[96];

		s->n_errors++;
		snprintf(reason, sizeof(reason), "snapshot failed in netns %llu: %s",
			 (unsigned long long)n->inode, strerror(-r));
		nr_daemon_gap(s->d, NR_SRC_TOPOLOGY, now, now, reason, NR_NONE);
		return false;
	}
	return true;
}

/* Stores @rs if it changed or starts a partition window. */
static void finish(struct tp_ns *n, struct rows *rs, int64_t now)
{
	struct tp_src *s = n->src;
	int64_t window = now / s->partition_ns;
	uint64_t hash;

	qsort(rs->v, rs->n, sizeof(rs->v[0]), cmp_rows);
	hash = rows_hash(rs);
	if (hash == n->last_hash && window == n->last_window)
		return;
	if (store(n, rs, hash, now) == 0) {
		n->last_hash = hash;
		n->last_window = window;
	} else {
		/* Incomplete: stored again at the next round, whole. */
		char reason[96];

		snprintf(reason, sizeof(reason), "snapshot incomplete in netns %llu: queue full",
			 (unsigned long long)n->inode);
		nr_daemon_gap(s->d, NR_SRC_TOPOLOGY, now, now, reason, NR_NONE);
		n->last_hash = 0;
	}
}

/* Snapshots the namespaces of a round (every one, or those that changed): all are read
 * first, then /proc is walked once for all their listeners, then each is stored if changed. */
static void round_all(struct tp_src *s, bool dirty_only)
{
	int64_t t0 = nr_mono_ns(), now = nr_now_ns();
	uint64_t stored = s->n_stored, rows = s->n_rows;
	size_t cnt = 0, taken = 0;
	struct tp_ns **ns;
	struct rows *sets;

	for (struct tp_ns *n = s->list; n; n = n->next)
		cnt += !dirty_only || n->dirty;
	if (!cnt)
		return;
	ns = calloc(cnt, sizeof(*ns));
	sets = calloc(cnt, sizeof(*sets));
	if (!ns || !sets) {
		free(ns);
		free(sets);
		return;
	}
	for (struct tp_ns *n = s->list; n; n = n->next)
		if ((!dirty_only || n->dirty) && take(n, &sets[taken], now))
			ns[taken++] = n;
	listener_owners(sets, taken);
	for (size_t i = 0; i < taken; i++)
		finish(ns[i], &sets[i], now);
	for (size_t i = 0; i < cnt; i++)
		free(sets[i].v);
	free(ns);
	free(sets);
	s->last_ns = nr_mono_ns() - t0;
	log_debug("topology: %s round: %zu namespaces read, %llu snapshots stored, %llu rows, "
		  "%.1f ms",
		  dirty_only ? "change" : "interval", taken,
		  (unsigned long long)(s->n_stored - stored), (unsigned long long)(s->n_rows - rows),
		  (double)s->last_ns / NR_NS_PER_MS);
}

/* One namespace on its own (when it is found). */
static void snapshot(struct tp_ns *n)
{
	struct rows rs = { 0 };
	int64_t now = nr_now_ns();

	if (take(n, &rs, now)) {
		listener_owners(&rs, 1);
		finish(n, &rs, now);
	}
	free(rs.v);
}

static void on_timer(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) <= 0)
		return;
	round_all(data, false);
}

static void on_debounce(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct tp_src *s = data;
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) <= 0)
		return;
	s->debounce_armed = false;
	round_all(s, true);
}

/* A change in a namespace: snapshot it once things have been quiet for the debounce time
 * (each new change pushes the snapshot back, up to one interval at most: the timer). */
static void on_change(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct tp_ns *n = data;
	struct tp_src *s = n->src;
	struct sockaddr_nl from;
	socklen_t fl;
	bool any = false;

	for (;;) {
		ssize_t got;

		fl = sizeof(from);
		got = recvfrom(fd, s->ev_buf, EV_BUF_SIZE, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* changes were missed: a snapshot covers them */
				any = true;
				continue;
			}
			break;
		}
		if (fl == sizeof(from) && from.nl_pid == 0)
			any = true;
	}
	if (!any)
		return;
	s->n_events++;
	n->dirty = true;
	/* Armed by the first change only: later ones do not push it back, so a host that
	 * never stops changing still gets its snapshots a debounce after each first change. */
	if (!s->debounce_armed) {
		struct itimerspec its = { .it_value = { s->debounce_ns / NR_NS_PER_SEC,
							s->debounce_ns % NR_NS_PER_SEC } };

		if (timerfd_settime(s->debounce_fd, 0, &its, NULL) == 0)
			s->debounce_armed = true;
	}
}

static int open_changes(struct tp_ns *n)
{
	/* Not RTNLGRP_NEIGH: neighbour entries change state all the time (and those changes
	 * are not stored, see the top): a new neighbour is in the next interval's snapshot. */
	static const unsigned groups[] = { RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
					   RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = nr_netns_socket(n->ns, AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE), r;

	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
			       sizeof(groups[i])) < 0)
			goto fail;
	r = nr_daemon_watch(n->src->d, fd, on_change, n);
	if (r < 0) {
		close(fd);
		return r;
	}
	n->ev_fd = fd;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

static void ns_added(struct nr_daemon *d, const struct nr_netns *ns, void *data)
{
	struct tp_src *s = data;
	struct tp_ns *n = calloc(1, sizeof(*n));
	int r;

	if (!n) {
		log_error("topology: out of memory");
		return;
	}
	n->src = s;
	n->ns = ns;
	n->inode = ns->inode;
	n->ev_fd = -1;
	n->last_window = INT64_MIN;
	nr_netns_label(ns, n->label, sizeof(n->label));
	n->next = s->list;
	s->list = n;
	s->ns_gen++;
	r = open_changes(n);
	if (r < 0)
		log_warn("topology: %s: no change notifications (%s): snapshots every interval only",
			 n->label, strerror(-r));
	snapshot(n);
	log_info("topology: recording %s", n->label);
}

static void ns_removed(struct nr_daemon *d, const struct nr_netns *ns, void *data)
{
	struct tp_src *s = data;
	struct tp_ns *n = NULL;

	for (struct tp_ns **pp = &s->list; *pp; pp = &(*pp)->next)
		if ((*pp)->ns == ns) {
			n = *pp;
			*pp = n->next;
			break;
		}
	if (!n)
		return;
	s->ns_gen++;
	if (n->ev_fd >= 0) {
		nr_daemon_unwatch(d, n->ev_fd);
		close(n->ev_fd);
	}
	/* Gone (not a stop): a snapshot with no rows and hash 0 says so. */
	if (!s->stopping) {
		struct rows none = { 0 };

		store(n, &none, 0, nr_now_ns());
		log_info("topology: %s is gone", n->label);
	}
	free(n->nsids);
	free(n);
}

static const struct nr_netns_ops ns_ops = { ns_added, ns_removed };

void nr_topology_health(struct nr_daemon *d, void *state, int64_t now)
{
	struct tp_src *s = state;
	unsigned nns = 0;

	for (struct tp_ns *n = s->list; n; n = n->next)
		nns++;
	nr_daemon_health(d, NR_SRC_TOPOLOGY, now, "namespaces", nns);
	nr_daemon_health(d, NR_SRC_TOPOLOGY, now, "snapshots_taken", (double)s->n_taken);
	nr_daemon_health(d, NR_SRC_TOPOLOGY, now, "snapshots_stored", (double)s->n_stored);
	nr_daemon_health(d, NR_SRC_TOPOLOGY, now, "rows", (double)s->n_rows);
	nr_daemon_health(d, NR_SRC_TOPOLOGY, now, "change_events", (double)s->n_events);
	nr_daemon_health(d, NR_SRC_TOPOLOGY, now, "errors", (double)s->n_errors);
	nr_daemon_health(d, NR_SRC_TOPOLOGY, now, "round_seconds",
			 (double)s->last_ns / NR_NS_PER_SEC);
}

int nr_topology_start(struct nr_daemon *d, void **ret, char *why, size_t whylen)
{
	const struct nr_config *c = nr_daemon_config(d);
	struct tp_src *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->d = d;
	s->timer_fd = s->debounce_fd = -1;
	s->debounce_ns = c->tp_debounce_ns;
	s->partition_ns = c->partition_ns;
	s->dump_buf = malloc(DUMP_BUF_SIZE);
	s->ev_buf = malloc(EV_BUF_SIZE);
	if (!s->dump_buf || !s->ev_buf) {
		nr_topology_stop(d, s);
		return -ENOMEM;
	}
	s->timer_fd = nr_daemon_timer(d, c->tp_interval_ns, on_timer, s);
	s->debounce_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	r = s->debounce_fd < 0 ? -errno : nr_daemon_watch(d, s->debounce_fd, on_debounce, s);
	if (s->timer_fd < 0 || r < 0) {
		r = s->timer_fd < 0 ? s->timer_fd : r;
		snprintf(why, whylen, "timer: %s", strerror(-r));
		nr_topology_stop(d, s);
		return r;
	}
	r = nr_netns_watch_new(d, c->netns, c->netns_rescan_ns, &ns_ops, s, &s->watch);
	if (r < 0) {
		snprintf(why, whylen, "network namespaces: %s", strerror(-r));
		nr_topology_stop(d, s);
		return r;
	}
	*ret = s;
	return 0;
}

void nr_topology_stop(struct nr_daemon *d, void *state)
{
	struct tp_src *s = state;

	if (!s)
		return;
	s->stopping = true;
	nr_netns_watch_free(s->watch);
	if (s->timer_fd >= 0) {
		nr_daemon_unwatch(d, s->timer_fd);
		close(s->timer_fd);
	}
	if (s->debounce_fd >= 0) {
		nr_daemon_unwatch(d, s->debounce_fd);
		close(s->debounce_fd);
	}
	if (s->n_taken)
		nr_topology_health(d, s, nr_now_ns());
	log_info("topology: %llu snapshots taken, %llu stored",
		 (unsigned long long)s->n_taken, (unsigned long long)s->n_stored);
	free(s->dump_buf);
	free(s->ev_buf);
	free(s);
}
