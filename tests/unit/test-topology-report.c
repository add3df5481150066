// SPDX-License-Identifier: MIT
/*
 * netrec topology, netrec topology diff and netrec listening (query/cmd_topology.c), driven
 * through nr_cli_main() as a user would call them, over a store written with the store API
 * in two hourly partitions (the first finalized, the second left open), as the recorder writes
 * topology: one snapshot per namespace when its content changed and a keyframe per partition,
 * a gone-marker for a namespace that went away. Truth is the comment above the rows; the
 * expected outputs below are derived from it, not copied from the program.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cli.h"
#include "nrtime.h"
#include "store.h"
#include "testdir.h"
#include "testcli.h"
#include "testreport.h"

#define NS_HOST 4026531840ULL
#define NS_BLUE 4026532001ULL
#define NS_RED 4026532002ULL
#define N NR_NONE

/*
 * The store. Minutes from t0 (22:00Z); partition 1 is minutes 0-59, partition 2 is 60-119.
 *
 *   id  min  namespace                         content
 *    1   10  host 4026531840 (unnamed, pid 1)  HOST (below)
 *    2   10  blue 4026532001 (pid 4242)        BLUE
 *    3   10  red  4026532002 (pid 5000)        RED
 *    4   40  red                               gone-marker: hash 0000000000000000, no rows
 *    5   60  host                              HOST again: the keyframe of partition 2
 *    6   60  blue                              BLUE again: the keyframe of partition 2
 *    7   90  host                              HOST with route 10.8.0.0/16's next hop 2 via
 *                                              10.0.0.4 (was 10.0.0.3), and address eth0
 *                                              192.0.2.10/24 (secondary) added
 *
 * HOST links (ifindex name kind mac mtu operstate flags; master, peer, link, info):
 *   1 lo        -      00:00:00:00:00:00 65536 unknown 0x49 (UP, LOOPBACK, RUNNING)
 *   2 eth0      -      52:54:00:12:34:56 1500  up      0x1043
 *   3 br0       bridge 02:00:00:00:00:03 1500  up      0x1043; info {"stp":0}
 *   4 veth-blue veth   02:00:00:00:00:04 1500  up      0x1043; master 3, peer 2 in blue, link 2
 *   5 vx0       vxlan  02:00:00:00:00:05 1450  up      0x1043; master 3, link 2,
 *                        info {"id":42,"remote":"192.0.2.9","local":"192.0.2.1","port":4789}
 *   6 dummy0    dummy  02:00:00:00:00:06 1500  down    0x82 (not UP)
 * HOST addresses: lo 127.0.0.1/8 scope host; eth0 192.0.2.1/24, eth0 2001:db8::1/64, br0
 *   10.0.0.1/24 scope global; all permanent (0x80).
 * HOST routes: main default via 192.0.2.254 dev eth0 proto static metric 100; main
 *   10.0.0.0/24 dev br0 proto kernel scope link src 10.0.0.1; main 10.8.0.0/16 proto static,
 *   next hop 1 via 10.0.0.2 dev br0 weight 1 and next hop 2 via 10.0.0.3 dev br0 weight 2;
 *   table 100 10.9.0.0/16 via 10.0.0.2 dev br0 proto static; local table: local 192.0.2.1/32
 *   dev eth0 proto kernel scope host src 192.0.2.1.
 * HOST neighbours: eth0 192.0.2.254 52:54:00:aa:bb:cc REACHABLE; br0 10.0.0.2
 *   02:00:00:00:00:22 STALE; br0 10.0.0.9 (no lladdr) FAILED.
 * HOST listeners: tcp 0.0.0.0:22 inode 1001 pid 812 sshd; tcp [::]:80 inode 1003 (process
 *   unknown); udp 127.0.0.53:53 inode 1002 pid 400 systemd-resolve.
 * BLUE: links 1 lo (as host's), 2 eth0 veth 02:00:00:00:00:12 1500 up 0x1043, peer 4 in host,
 *   link 4; addresses lo 127.0.0.1/8 host, eth0 10.0.0.2/24 global; routes main default via
 *   10.0.0.1 dev eth0 proto boot, main 10.0.0.0/24 dev eth0 proto kernel scope link src
 *   10.0.0.2; neighbour eth0 10.0.0.1 02:00:00:00:00:03 REACHABLE; listener tcp
 *   10.0.0.2:8080 inode 2001 pid 4242 nginx.
 * RED: links 1 lo, 2 mv0 macvlan 02:00:00:00:00:32 1500 up 0x1043, link 2 in host, info
 *   {"mode":"bridge"}, 3 "bad<ESC>[2J" dummy 1500 up 0x1043 (a name that would clear a
 *   terminal); address mv0 192.0.2.50/24; route main default via 192.0.2.254 dev mv0 proto
 *   boot; no neighbours; listener udp 0.0.0.0:5353 inode 3001 pid 5000 avahi-daemon.
 */

static struct nr_part *cur;

static void put(struct nr_record *r)
{
	r->source = NR_SRC_TOPOLOGY;
	assert_int_equal(nr_part_insert(cur, r), 0);
}

static void mac(const char *s, bool *has, uint8_t m[6])
{
	unsigned v[6];

	*has = s != NULL;
	if (!s)
		return;
	assert_int_equal(sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]),
			 6);
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
}

static void addr(const char *s, struct nr_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (s)
		assert_int_equal(nr_addr_parse(s, a), 0);
}

static void snapshot(int64_t id, int min, uint64_t netns, const char *name, uint64_t hash,
		     int64_t pid)
{
	struct nr_record r = { .table = NR_T_SNAPSHOTS };

	r.snap.id = id;
	r.snap.ts_ns = at_min(min);
	r.snap.netns = netns;
	snprintf(r.snap.netns_name, sizeof(r.snap.netns_name), "%s", name);
	r.snap.hash = hash;
	r.snap.pid = pid;
	put(&r);
}

static void link_row(int64_t id, uint32_t ifindex, const char *name, const char *kind,
		     const char *m, uint32_t mtu, const char *oper, uint32_t flags, uint32_t master,
		     uint32_t peer, uint64_t peer_netns, uint32_t link, const char *info)
{
	struct nr_record r = { .table = NR_T_LINKS };
	struct nr_rec_link *l = &r.link;

	l->snapshot_id = id;
	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->kind, sizeof(l->kind), "%s", kind);
	mac(m, &l->has_mac, l->mac);
	l->mtu = mtu;
	snprintf(l->operstate, sizeof(l->operstate), "%s", oper);
	l->flags = flags;
	l->master_ifindex = master;
	l->peer_ifindex = peer;
	l->peer_netns = peer_netns;
	l->link_ifindex = link;
	snprintf(l->info, sizeof(l->info), "%s", info);
	put(&r);
}

static void addr_row(int64_t id, uint32_t ifindex, const char *a, uint8_t len, uint8_t scope,
		     uint32_t flags)
{
	struct nr_record r = { .table = NR_T_ADDRESSES };

	r.addr.snapshot_id = id;
	r.addr.ifindex = ifindex;
	addr(a, &r.addr.addr);
	r.addr.prefixlen = len;
	r.addr.scope = scope;
	r.addr.flags = flags;
	put(&r);
}

static void route_row(int64_t id, uint32_t table, const char *dst, uint8_t len, const char *gw,
		      uint32_t oif, const char *src, uint8_t proto, uint8_t scope, uint8_t type,
		      uint32_t metric, uint16_t nexthop, uint16_t weight)
{
	struct nr_record r = { .table = NR_T_ROUTES };
	struct nr_rec_route *rt = &r.route;

	rt->snapshot_id = id;
	rt->table_id = table;
	rt->family = 2; /* AF_INET: the store writes 4 */
	addr(dst, &rt->dst);
	rt->dst_len = len;
	addr(gw, &rt->gateway);
	rt->oif = oif;
	addr(src, &rt->prefsrc);
	rt->protocol = proto;
	rt->scope = scope;
	rt->type = type;
	rt->metric = metric;
	rt->nexthop = nexthop;
	rt->weight = weight;
	put(&r);
}

static void neigh_row(int64_t id, uint32_t ifindex, const char *a, const char *ll, uint16_t state)
{
	struct nr_record r = { .table = NR_T_NEIGHBORS };

	r.neigh.snapshot_id = id;
	r.neigh.ifindex = ifindex;
	addr(a, &r.neigh.addr);
	mac(ll, &r.neigh.has_lladdr, r.neigh.lladdr);
	r.neigh.state = state;
	put(&r);
}

static void listener_row(int64_t id, uint8_t proto, const char *a, uint16_t port, uint64_t inode,
			 int64_t pid, const char *comm)
{
	struct nr_record r = { .table = NR_T_LISTENERS };

	r.listener.snapshot_id = id;
	r.listener.proto = proto;
	addr(a, &r.listener.addr);
	r.listener.port = port;
	r.listener.inode = inode;
	r.listener.pid = pid;
	snprintf(r.listener.comm, sizeof(r.listener.comm), "%s", comm);
	put(&r);
}

static void lo_row(int64_t id)
{
	link_row(id, 1, "lo", "", "00:00:00:00:00:00", 65536, "unknown", 0x49, 0, 0, 0, 0, "");
}

/* HOST; @later: as in snapshot 7. */
static void host(int64_t id, int min, bool later)
{
	snapshot(id, min, NS_HOST, "", later ? 0x2222 : 0x1111, 1);
	lo_row(id);
	link_row(id, 2, "eth0", "", "52:54:00:12:34:56", 1500, "up", 0x1043, 0, 0, 0, 0, "");
	link_row(id, 3, "br0", "bridge", "02:00:00:00:00:03", 1500, "up", 0x1043, 0, 0, 0, 0,
		 "{\"stp\":0}");
	link_row(id, 4, "veth-blue", "veth", "02:00:00:00:00:04", 1500, "up", 0x1043, 3, 2, NS_BLUE,
		 2, "");
	link_row(id, 5, "vx0", "vxlan", "02:00:00:00:00:05", 1450, "up", 0x1043, 3, 0, 0, 2,
		 "{\"id\":42,\"remote\":\"192.0.2.9\",\"local\":\"192.0.2.1\",\"port\":4789}");
	link_row(id, 6, "dummy0", "dummy", "02:00:00:00:00:06", 1500, "down", 0x82, 0, 0, 0, 0, "");
	addr_row(id, 1, "127.0.0.1", 8, 254, 0x80);
	addr_row(id, 2, "192.0.2.1", 24, 0, 0x80);
	if (later)
		addr_row(id, 2, "192.0.2.10", 24, 0, 0x81);
	addr_row(id, 2, "2001:db8::1", 64, 0, 0x80);
	addr_row(id, 3, "10.0.0.1", 24, 0, 0x80);
	/* Written in another order than shown: the report sorts. */
	route_row(id, 255, "192.0.2.1", 32, NULL, 2, "192.0.2.1", 2, 254, 2, 0, 0, 0);
	route_row(id, 100, "10.9.0.0", 16, "10.0.0.2", 3, NULL, 4, 0, 1, 0, 0, 0);
	route_row(id, 254, "10.8.0.0", 16, "10.0.0.2", 3, NULL, 4, 0, 1, 0, 1, 1);
	route_row(id, 254, "10.8.0.0", 16, later ? "10.0.0.4" : "10.0.0.3", 3, NULL, 4, 0, 1, 0, 2,
		  2);
	route_row(id, 254, "10.0.0.0", 24, NULL, 3, "10.0.0.1", 2, 253, 1, 0, 0, 0);
	route_row(id, 254, NULL, 0, "192.0.2.254", 2, NULL, 4, 0, 1, 100, 0, 0);
	neigh_row(id, 2, "192.0.2.254", "52:54:00:aa:bb:cc", 0x02);
	neigh_row(id, 3, "10.0.0.2", "02:00:00:00:00:22", 0x04);
	neigh_row(id, 3, "10.0.0.9", NULL, 0x20);
	listener_row(id, 6, "0.0.0.0", 22, 1001, 812, "sshd");
	listener_row(id, 17, "127.0.0.53", 53, 1002, 400, "systemd-resolve");
	listener_row(id, 6, "::", 80, 1003, N, "");
}

static void blue(int64_t id, int min)
{
	snapshot(id, min, NS_BLUE, "blue", 0x3333, 4242);
	lo_row(id);
	link_row(id, 2, "eth0", "veth", "02:00:00:00:00:12", 1500, "up", 0x1043, 0, 4, NS_HOST, 4,
		 "");
	addr_row(id, 1, "127.0.0.1", 8, 254, 0x80);
	addr_row(id, 2, "10.0.0.2", 24, 0, 0x80);
	route_row(id, 254, NULL, 0, "10.0.0.1", 2, NULL, 3, 0, 1, 0, 0, 0);
	route_row(id, 254, "10.0.0.0", 24, NULL, 2, "10.0.0.2", 2, 253, 1, 0, 0, 0);
	neigh_row(id, 2, "10.0.0.1", "02:00:00:00:00:03", 0x02);
	listener_row(id, 6, "10.0.0.2", 8080, 2001, 4242, "nginx");
}

static void red(int64_t id, int min)
{
	snapshot(id, min, NS_RED, "red", 0x4444, 5000);
	lo_row(id);
	link_row(id, 2, "mv0", "macvlan", "02:00:00:00:00:32", 1500, "up", 0x1043, 0, 0, NS_HOST, 2,
		 "{\"mode\":\"bridge\"}");
	link_row(id, 3, "bad\x1b[2J", "dummy", NULL, 1500, "up", 0x1043, 0, 0, 0, 0, "");
	addr_row(id, 2, "192.0.2.50", 24, 0, 0x80);
	route_row(id, 254, NULL, 0, "192.0.2.254", 2, NULL, 3, 0, 1, 0, 0, 0);
	listener_row(id, 17, "0.0.0.0", 5353, 3001, 5000, "avahi-daemon");
}

static int group_setup(void **state)
{
	store_dir_setup(state);
	cur = part_open(0);
	host(1, 10, false);
	blue(2, 10);
	red(3, 10);
	snapshot(4, 40, NS_RED, "red", 0, 5000);
	part_close(cur, true);
	cur = part_open(60);
	host(5, 60, false);
	blue(6, 60);
	host(7, 90, true);
	part_close(cur, false);
	cur = NULL;
	return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void assert_lacks(const char *out, const char *unwanted)
{
	if (strstr(out, unwanted)) {
		fprintf(stderr, "output:\n%s", out);
		fail_msg("'%s' in the output", unwanted);
	}
}

static void assert_out(struct result *r, const char *want)
{
	if (r->status != 0)
		fail_msg("exit %d: %s", r->status, r->err);
	if (strcmp(r->out, want) != 0) {
		fprintf(stderr, "got:\n%s\nwant:\n%s", r->out, want);
		fail_msg("output differs");
	}
}

/* netrec ARGS... with "--at @minute": must succeed. */
static struct result run_at(int m, const char *cmd, const char *a1, const char *a2)
{
	char *at = at_arg(m);
	struct result r = run(cmd, "--at", at, a1, a2, NULL);

	free(at);
	return r;
}

/* The CSV result set number @set (0-based) of a multi-set CSV output, parsed. */
static struct csv csv_set(const char *out, int set)
{
	const char *p = out, *end;
	struct csv c;
	char *copy;

	for (int i = 0; i < set; i++) {
		p = strstr(p, "\r\n\r\n");
		assert_non_null(p);
		p += 4;
	}
	end = strstr(p, "\r\n\r\n");
	copy = strndup(p, end ? (size_t)(end - p) + 2 : strlen(p));
	assert_non_null(copy);
	c = csv_parse(copy);
	free(copy);
	return c;
}

/* A JSON text checked with SQLite's JSON functions: the value of @sql with ?1 = @json. */
static char *json_query(const char *json, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *v;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "NULL");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void assert_json(const char *json, const char *sql, const char *want)
{
	char *got = json_query(json, sql);

	if (strcmp(got, want) != 0) {
		fprintf(stderr, "json:\n%s", json);
		fail_msg("%s:\n got  %s\n want %s", sql, got, want);
	}
	free(got);
}

/* ---- topology --------------------------------------------------------------------------- */

/* One namespace in full, at 22:30: the only snapshot of blue so far, from 22:10. */
static void test_text_blue(void **state)
{
	struct result r = run_at(30, "topology", "--netns", "blue");

	(void)state;
	assert_out(&r, "topology as of 2023-11-14T22:30:00.000Z (snapshots since "
		       "2023-11-14T20:30:00.000Z)\n"
		       "\n"
		       "netns 4026532001 (blue) pid 4242, snapshot 2023-11-14T22:10:00.000Z\n"
		       "  interfaces:\n"
		       "    1 lo   loopback unknown mtu 65536 00:00:00:00:00:00\n"
		       "    2 eth0 veth     up      mtu 1500 02:00:00:00:00:12 peer 4 veth-blue in "
		       "netns 4026531840\n"
		       "  addresses:\n"
		       "    lo   127.0.0.1/8 scope host\n"
		       "    eth0 10.0.0.2/24 scope global\n"
		       "  routes:\n"
		       "    main default via 10.0.0.1 dev eth0 proto boot\n"
		       "    main 10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2\n"
		       "  neighbours:\n"
		       "    eth0 10.0.0.1 lladdr 02:00:00:00:00:03 REACHABLE\n"
		       "  listeners:\n"
		       "    tcp 10.0.0.2:8080 nginx pid 4242 inode 2001\n");
	assert_string_equal(r.err, "");
	result_free(&r);
	/* The inode selects it too. */
	r = run_at(30, "topology", "--netns", "4026532001");
	assert_int_equal(r.status, 0);
	assert_has(r.out, "\nnetns 4026532001 (blue) pid 4242, snapshot ");
	assert_lacks(r.out, "netns 4026531840 pid");
	assert_lacks(r.out, "(red)");
	result_free(&r);
}

/* The host: a bridge with its ports, the veth to blue, the vxlan's attributes, an interface
 * that is administratively down, a multipath route, the tables by name, the listeners. */
static void test_text_host(void **state)
{
	struct result r = run_at(30, "topology", "--netns", "4026531840");

	(void)state;
	assert_int_equal(r.status, 0);
	assert_has(r.out, "\nnetns 4026531840 pid 1, snapshot 2023-11-14T22:10:00.000Z\n"
			  "  interfaces:\n"
			  "    1 lo        loopback unknown    mtu 65536 00:00:00:00:00:00\n"
			  "    2 eth0      device   up         mtu 1500 52:54:00:12:34:56\n"
			  "    3 br0       bridge   up         mtu 1500 02:00:00:00:00:03 stp 0\n"
			  "    4 veth-blue veth     up         mtu 1500 02:00:00:00:00:04 peer 2 "
			  "eth0 in netns 4026532001 (blue); master br0\n"
			  "    5 vx0       vxlan    up         mtu 1450 02:00:00:00:00:05 id 42 "
			  "remote 192.0.2.9 local 192.0.2.1 port 4789 dev eth0; master br0\n"
			  "    6 dummy0    dummy    admin-down mtu 1500 02:00:00:00:00:06\n"
			  "  addresses:\n"
			  "    lo   127.0.0.1/8 scope host\n"
			  "    eth0 192.0.2.1/24 scope global\n"
			  "    eth0 2001:db8::1/64 scope global\n"
			  "    br0  10.0.0.1/24 scope global\n"
			  "  routes:\n"
			  "    main default via 192.0.2.254 dev eth0 proto static metric 100\n"
			  "    main 10.0.0.0/24 dev br0 proto kernel scope link src 10.0.0.1\n"
			  "    main 10.8.0.0/16 proto static nexthop via 10.0.0.2 dev br0 weight "
			  "1, nexthop via 10.0.0.3 dev br0 weight 2\n"
			  "    table 100 10.9.0.0/16 via 10.0.0.2 dev br0 proto static\n"
			  "    local local 192.0.2.1 dev eth0 proto kernel scope host src "
			  "192.0.2.1\n"
			  "  neighbours:\n"
			  "    eth0 192.0.2.254 lladdr 52:54:00:aa:bb:cc REACHABLE\n"
			  "    br0  10.0.0.2 lladdr 02:00:00:00:00:22 STALE\n"
			  "    br0  10.0.0.9 FAILED\n"
			  "  listeners:\n"
			  "    tcp 0.0.0.0:22    sshd pid 812 inode 1001\n"
			  "    tcp [::]:80       process unknown inode 1003\n"
			  "    udp 127.0.0.53:53 systemd-resolve pid 400 inode 1002\n");
	result_free(&r);
	/* red: a macvlan on the host's eth0, no neighbours. */
	r = run_at(30, "topology", "--netns=red", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "\nnetns 4026532002 (red) pid 5000, snapshot 2023-11-14T22:10:00.000Z\n");
	assert_has(r.out, "    2 mv0     macvlan  up      mtu 1500 02:00:00:00:00:32 mode bridge "
			  "dev eth0 in netns 4026531840\n");
	/* Escaped as in every table: the terminal is not cleared. */
	assert_has(r.out, "    3 bad\\x1b[2J dummy    up      mtu 1500\n");
	assert_lacks(r.out, "\x1b");
	assert_has(r.out, "  neighbours: none\n  listeners:\n"
			  "    udp 0.0.0.0:5353 avahi-daemon pid 5000 inode 3001\n");
	result_free(&r);
	/* --raw: times as nanoseconds (t0 is 1699999200, 22:00Z). */
	r = run("--raw", "topology", "--at", "@1700000400", "--netns", "blue", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "topology as of 1700000400000000000 (snapshots since "
			  "1699993200000000000)\n");
	assert_has(r.out, ", snapshot 1699999800000000000\n");
	result_free(&r);
}

/* The snapshot ids shown as of minute @m, by netns: "1|2|3". */
static void check_ids(int m, const char *want_ids, const char *want_ts)
{
	char *at = at_arg(m);
	struct result r = run("-f", "csv", "topology", "--at", at, NULL);
	struct csv c;

	free(at);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	c = csv_set(r.out, 0);
	assert_column(&c, "id", want_ids);
	assert_column(&c, "ts_ns", want_ts);
	csv_free(&c);
	result_free(&r);
}

/* As of T: each namespace's latest snapshot at or before T, gone ones left out. */
static void test_as_of(void **state)
{
	static const int m10x3[] = { 10, 10, 10, -1 }, m10x2[] = { 10, 10, -1 },
			 m60x2[] = { 60, 60, -1 }, m90_60[] = { 90, 60, -1 }, m90[] = { 90, -1 };
	char *s;

	(void)state;
	/* 22:30: the three first snapshots. */
	s = ns_list(m10x3);
	check_ids(30, "1|2|3", s);
	free(s);
	/* 22:45: red's gone-marker (22:40) is its latest: red is not shown. */
	s = ns_list(m10x2);
	check_ids(45, "1|2", s);
	free(s);
	/* 23:15, between the keyframes (23:00) and host's change (23:30): the earlier ones. */
	s = ns_list(m60x2);
	check_ids(75, "5|6", s);
	free(s);
	/* 23:30 exactly: host's change is at or before T. */
	s = ns_list(m90_60);
	check_ids(90, "7|6", s);
	free(s);
	/* 01:20, after the store's last partition (23:00-24:00): W is that partition's hour, so
	 * the snapshots since 23:20 are read: host's of 23:30; blue's last (23:00) is older. */
	s = ns_list(m90);
	check_ids(200, "7", s);
	free(s);
}

/* Before anything was recorded, or with a --netns that matches nothing: nothing on stdout,
 * a note on stderr, exit 0. */
static void test_empty(void **state)
{
	struct result r = run_at(5, "topology", NULL, NULL);

	(void)state;
	assert_out(&r, "");
	assert_string_equal(r.err, "netrec: note: topology: no snapshot recorded between "
				   "2023-11-14T20:05:00.000Z and 2023-11-14T22:05:00.000Z\n");
	result_free(&r);
	/* Long before the store: W is the first partition's. */
	r = run("topology", "--at", "2023-11-01T00:00Z", NULL);
	assert_out(&r, "");
	assert_has(r.err, "no snapshot recorded between 2023-10-31T22:00:00.000Z and "
			  "2023-11-01T00:00:00.000Z\n");
	result_free(&r);
	/* Now: long after the store; the note says where it ends. */
	r = run("topology", NULL);
	assert_out(&r, "");
	assert_has(r.err, "; the store's partitions before then end at 2023-11-15T00:00:00.000Z\n");
	result_free(&r);
	r = run_at(30, "topology", "--netns", "green");
	assert_out(&r, "");
	assert_string_equal(r.err, "netrec: note: topology: no namespace 'green' as of "
				   "2023-11-14T22:30:00.000Z\n");
	result_free(&r);
	/* red after its gone-marker. */
	r = run_at(45, "topology", "--netns", "red");
	assert_out(&r, "");
	assert_has(r.err, "no namespace 'red' as of 2023-11-14T22:45:00.000Z");
	result_free(&r);
	/* JSON: still one valid document (22:05 is 1699999500). */
	r = run("-f", "json", "topology", "--at", "@1699999500", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "{\"at_ns\":1699999500000000000,\"from_ns\":"
				   "1699992300000000000,\"to_ns\":1699999500000000000,"
				   "\"namespaces\":[]}\n");
	result_free(&r);
}

/* Files given with --db are read as given: no lookback limit. */
static void test_db_files(void **state)
{
	char name[64], *path, *at = at_arg(300);
	struct result r;
	struct csv c;

	(void)state;
	assert_int_equal(nr_part_name(at_min(0), WIDTH, name, sizeof(name)), 0);
	path = path_in(tmpdir, name);
	/* Hours after its snapshots: the latest of each namespace, red's being its marker. */
	r = run("--db", path, "topology", "--at", at, NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "topology as of 2023-11-15T03:00:00.000Z\n\nnetns 4026531840 pid 1, "
			  "snapshot 2023-11-14T22:10:00.000Z\n");
	assert_lacks(r.out, "(red)");
	result_free(&r);
	r = run("--db", path, "-f", "csv", "topology", "--at", at, NULL);
	assert_int_equal(r.status, 0);
	c = csv_set(r.out, 0);
	assert_column(&c, "id", "1|2");
	csv_free(&c);
	result_free(&r);
	/* diff: both times through the one file. */
	r = run("--db", path, "topology", "diff", "@1700001000", at, NULL);
	assert_out(&r, "- netns 4026532002 (red): went away at 2023-11-14T22:40:00.000Z\n");
	result_free(&r);
	free(path);
	free(at);
}

/* A partition of schema version 3 (before links.link_ifindex and info, addresses.flags,
 * routes.nexthop and weight, snapshots.pid): read, the missing columns as NULL. */
static void test_old_schema(void **state)
{
	static const char *const drops[] = {
		"ALTER TABLE snapshots DROP COLUMN pid",
		"ALTER TABLE links DROP COLUMN link_ifindex",
		"ALTER TABLE links DROP COLUMN info",
		"ALTER TABLE addresses DROP COLUMN flags",
		"ALTER TABLE routes DROP COLUMN nexthop",
		"ALTER TABLE routes DROP COLUMN weight",
		"PRAGMA user_version = 3",
	};
	char name[64], *path, *old = path_in(tmpdir, "old-v3.db"), *cmd;
	struct result r;
	sqlite3 *db;

	(void)state;
	assert_int_equal(nr_part_name(at_min(0), WIDTH, name, sizeof(name)), 0);
	path = path_in(tmpdir, name);
	assert_true(asprintf(&cmd, "cp '%s' '%s' && chmod u+w '%s'", path, old, old) > 0);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		assert_int_equal(sqlite3_exec(db, drops[i], NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	r = run("--db", old, "topology", "--at", "@1700001000", "--netns", "4026531840", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	/* No pid, no VXLAN attributes or lower device, no address flags; the multipath route's
	 * hops (nexthop NULL) as two routes. */
	assert_has(r.out, "\nnetns 4026531840, snapshot 2023-11-14T22:10:00.000Z\n");
	assert_has(r.out, "    5 vx0       vxlan    up         mtu 1450 02:00:00:00:00:05; "
			  "master br0\n");
	assert_has(r.out, "    eth0 192.0.2.1/24 scope global\n");
	assert_has(r.out, "    main 10.8.0.0/16 via 10.0.0.2 dev br0 proto static\n"
			  "    main 10.8.0.0/16 via 10.0.0.3 dev br0 proto static\n");
	result_free(&r);
	r = run("--db", old, "-f", "json", "topology", "--at", "@1700001000", NULL);
	assert_int_equal(r.status, 0);
	assert_json(r.out,
		    "SELECT json_type(l.value, '$.info') || ' ' ||"
		    " json_type(l.value, '$.link_ifindex') || ' ' ||"
		    " json_extract(l.value, '$.name')"
		    " FROM json_each(?1, '$.namespaces') n, json_each(n.value, '$.links') l"
		    " WHERE json_extract(l.value, '$.ifindex') = 5",
		    "null null vx0");
	result_free(&r);
	assert_int_equal(unlink(old), 0);
	free(cmd);
	free(path);
	free(old);
}

/* --until is T when --at is not given; --since must not be after T. */
static void test_range(void **state)
{
	char *until = at_arg(75), *since = at_arg(80), *at = at_arg(30);
	struct result r;

	(void)state;
	r = run("--until", until, "topology", "--netns", "blue", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "topology as of 2023-11-14T23:15:00.000Z");
	assert_has(r.out, ", snapshot 2023-11-14T23:00:00.000Z\n");
	result_free(&r);
	/* --since cuts the window: blue's keyframe at 23:00 is before it. */
	r = run("--since", since, "topology", "--at", "@1700006400", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "(snapshots since 2023-11-14T23:20:00.000Z)");
	assert_has(r.out, "\nnetns 4026531840 pid 1, snapshot 2023-11-14T23:30:00.000Z\n");
	assert_lacks(r.out, "(blue)");
	result_free(&r);
	r = run("--since", since, "topology", "--at", at, NULL);
	assert_has(r.err, "topology: 2023-11-14T22:30:00.000Z is before --since");
	expect_usage("--at before --since", r);
	free(until);
	free(since);
	free(at);
}

/* JSON: every column of every table, nested per namespace; one link checked in full. */
static void test_json(void **state)
{
	/* 22:30Z: all three namespaces. */
	struct result r = run("-f", "json", "topology", "--at", "@1700001000", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_json(r.out, "SELECT json_valid(?1)", "1");
	assert_json(r.out, "SELECT json_array_length(?1, '$.namespaces')", "3");
	assert_json(r.out,
		    "SELECT group_concat(json_extract(value, '$.netns') || ':' ||"
		    " json_array_length(value, '$.links') || ',' ||"
		    " json_array_length(value, '$.addresses') || ',' ||"
		    " json_array_length(value, '$.routes') || ',' ||"
		    " json_array_length(value, '$.neighbors') || ',' ||"
		    " json_array_length(value, '$.listeners'), ' ')"
		    " FROM json_each(?1, '$.namespaces')",
		    "4026531840:6,4,6,3,3 4026532001:2,2,2,1,1 4026532002:3,1,1,0,1");
	/* Escaped per RFC 8259, the name intact. */
	assert_has(r.out, "\"name\":\"bad\\u001b[2J\"");
	/* blue's eth0: the stored columns, then the names netrec resolved. */
	assert_has(r.out, "{\"snapshot_id\":2,\"ifindex\":2,\"name\":\"eth0\",\"kind\":\"veth\","
			  "\"mac\":\"02:00:00:00:00:12\",\"mtu\":1500,\"operstate\":\"up\","
			  "\"flags\":4163,\"master_ifindex\":null,\"peer_ifindex\":4,"
			  "\"peer_netns\":4026531840,\"link_ifindex\":4,\"info\":null,"
			  "\"master_name\":null,\"link_name\":\"veth-blue\","
			  "\"peer_name\":\"veth-blue\",\"peer_netns_name\":null}");
	/* info stays the JSON text it was stored as. */
	assert_json(r.out,
		    "SELECT json_extract(l.value, '$.info') FROM json_each(?1, '$.namespaces') n,"
		    " json_each(n.value, '$.links') l"
		    " WHERE json_extract(l.value, '$.name') = 'vx0'",
		    "{\"id\":42,\"remote\":\"192.0.2.9\",\"local\":\"192.0.2.1\",\"port\":4789}");
	assert_json(r.out,
		    "SELECT json_extract(value, '$.snapshot') FROM json_each(?1, '$.namespaces')"
		    " WHERE json_extract(value, '$.netns_name') = 'blue'",
		    "{\"id\":2,\"ts_ns\":1699999800000000000,\"netns\":4026532001,"
		    "\"netns_name\":\"blue\",\"hash\":\"0000000000003333\",\"pid\":4242,"
		    "\"time\":\"2023-11-14T22:10:00.000Z\"}");
	/* A multipath route is one object per next hop, as stored. */
	assert_json(r.out,
		    "SELECT group_concat(json_extract(r.value, '$.nexthop') || '/' ||"
		    " json_extract(r.value, '$.gateway') || '/' ||"
		    " json_extract(r.value, '$.weight') || '/' ||"
		    " json_extract(r.value, '$.oif_name'), ' ')"
		    " FROM json_each(?1, '$.namespaces') n, json_each(n.value, '$.routes') r"
		    " WHERE json_extract(r.value, '$.dst') = '10.8.0.0'",
		    "1/10.0.0.2/1/br0 2/10.0.0.3/2/br0");
	result_free(&r);
	/* NDJSON: one namespace per line. */
	r = run("-f", "ndjson", "topology", "--at", "@1700001000", "--netns", "red", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strchr(r.out, '\n'));
	assert_string_equal(strchr(r.out, '\n'), "\n");
	/* red's macvlan sits on the host's eth0; the host has no name. */
	assert_json(r.out, "SELECT json_extract(?1, '$.links[1].link_name') || ' ' ||"
			   " coalesce(json_extract(?1, '$.links[1].peer_netns_name'), 'NULL')",
		    "eth0 NULL");
	result_free(&r);
}

/* CSV: one result set per table, the detail rows with their namespace. */
static void test_csv(void **state)
{
	char *at = at_arg(95);
	struct result r = run("-f", "csv", "topology", "--at", at, "--netns", "blue", NULL);
	struct csv c;

	(void)state;
	assert_int_equal(r.status, 0);
	c = csv_set(r.out, 0);
	assert_column(&c, "id", "6");
	assert_column(&c, "netns_name", "blue");
	csv_free(&c);
	c = csv_set(r.out, 1);
	assert_int_equal(c.ncols, 2 + 13 + 4);
	assert_column(&c, "netns", "4026532001|4026532001");
	assert_column(&c, "name", "lo|eth0");
	assert_column(&c, "peer_name", "|veth-blue");
	csv_free(&c);
	c = csv_set(r.out, 3);
	assert_column(&c, "dst", "|10.0.0.0");
	assert_column(&c, "oif_name", "eth0|eth0");
	csv_free(&c);
	c = csv_set(r.out, 5);
	assert_column(&c, "port", "8080");
	assert_column(&c, "comm", "nginx");
	csv_free(&c);
	result_free(&r);
	free(at);
}

/* ---- diff ------------------------------------------------------------------------------- */

static struct result run_diff(int m1, int m2, const char *a1, const char *a2)
{
	char *t1 = at_arg(m1), *t2 = at_arg(m2);
	struct result r = run("topology", "diff", t1, t2, a1, a2, NULL);

	free(t1);
	free(t2);
	return r;
}

static void test_diff(void **state)
{
	struct result r = run_diff(30, 100, NULL, NULL);

	(void)state;
	/* Exactly: the address added, the next hop changed, red gone. The keyframes (ids 5 and
	 * 6) are not changes. */
	assert_out(&r, "+ netns 4026531840 address eth0 192.0.2.10/24 scope global secondary\n"
		       "~ netns 4026531840 route main 10.8.0.0/16 nexthop 2: gateway 10.0.0.3 -> "
		       "10.0.0.4\n"
		       "- netns 4026532002 (red): went away at 2023-11-14T22:40:00.000Z\n");
	assert_string_equal(r.err, "");
	result_free(&r);
	/* The other way round. */
	r = run_diff(100, 30, NULL, NULL);
	assert_out(&r, "- netns 4026531840 address eth0 192.0.2.10/24 scope global secondary\n"
		       "~ netns 4026531840 route main 10.8.0.0/16 nexthop 2: gateway 10.0.0.4 -> "
		       "10.0.0.3\n"
		       "+ netns 4026532002 (red): appeared (snapshot 2023-11-14T22:10:00.000Z)\n");
	result_free(&r);
	/* Across the keyframes only: nothing. */
	r = run_diff(30, 75, NULL, NULL);
	assert_out(&r, "- netns 4026532002 (red): went away at 2023-11-14T22:40:00.000Z\n");
	result_free(&r);
	r = run_diff(70, 80, NULL, NULL);
	assert_out(&r, "");
	assert_string_equal(r.err, "");
	result_free(&r);
	/* --netns */
	r = run_diff(30, 100, "--netns", "blue");
	assert_out(&r, "");
	result_free(&r);
	r = run_diff(30, 100, "--netns", "red");
	assert_out(&r, "- netns 4026532002 (red): went away at 2023-11-14T22:40:00.000Z\n");
	result_free(&r);
	r = run_diff(30, 100, "--netns", "4026531840");
	assert_int_equal(r.status, 0);
	assert_lacks(r.out, "(red)");
	assert_has(r.out, "~ netns 4026531840 route ");
	result_free(&r);
}

/* Far apart: each time through its own catalog; T2 after the store ends: every namespace of
 * T1 has no snapshot as of T2, and a note says nothing was recorded there. */
static void test_diff_far(void **state)
{
	struct result r = run_diff(30, 600, NULL, NULL);

	(void)state;
	assert_out(&r, "- netns 4026531840: no snapshot as of 2023-11-15T08:00:00.000Z\n"
		       "- netns 4026532001 (blue): no snapshot as of 2023-11-15T08:00:00.000Z\n"
		       "- netns 4026532002 (red): no snapshot as of 2023-11-15T08:00:00.000Z\n");
	assert_string_equal(r.err, "netrec: note: topology diff: no snapshot recorded between "
				   "2023-11-15T06:00:00.000Z and 2023-11-15T08:00:00.000Z; the "
				   "store's partitions before then end at "
				   "2023-11-15T00:00:00.000Z\n");
	result_free(&r);
}

static void test_diff_formats(void **state)
{
	char *t1 = at_arg(30), *t2 = at_arg(100);
	struct result r;
	struct csv c;

	(void)state;
	r = run("-f", "json", "topology", "diff", t1, t2, NULL);
	assert_int_equal(r.status, 0);
	assert_json(r.out, "SELECT json_valid(?1) || ' ' || json_array_length(?1, '$.changes')",
		    "1 3");
	assert_json(r.out,
		    "SELECT group_concat(json_extract(value, '$.change') || json_extract(value,"
		    " '$.table'), ' ') FROM json_each(?1, '$.changes')",
		    "+addresses ~routes -snapshots");
	/* The changed route: which column, old and new rows in full. */
	assert_json(r.out,
		    "SELECT json_extract(?1, '$.changes[1].changed') || ' ' ||"
		    " json_extract(?1, '$.changes[1].old.gateway') || ' ' ||"
		    " json_extract(?1, '$.changes[1].new.gateway') || ' ' ||"
		    " json_extract(?1, '$.changes[1].old.snapshot_id') || ' ' ||"
		    " json_extract(?1, '$.changes[1].new.snapshot_id') || ' ' ||"
		    " json_extract(?1, '$.changes[1].key')",
		    "[\"gateway\"] 10.0.0.3 10.0.0.4 1 7 main 10.8.0.0/16 nexthop 2");
	/* The namespace that went away: its last snapshot, and the gone-marker. */
	assert_json(r.out,
		    "SELECT json_extract(?1, '$.changes[2].old.id') || ' ' ||"
		    " json_extract(?1, '$.changes[2].new.hash') || ' ' ||"
		    " json_extract(?1, '$.changes[2].netns_name')",
		    "3 0000000000000000 red");
	assert_json(r.out, "SELECT json_type(?1, '$.changes[0].old')", "null");
	result_free(&r);
	r = run("-f", "csv", "topology", "diff", t1, t2, NULL);
	assert_int_equal(r.status, 0);
	c = csv_parse(r.out);
	assert_column(&c, "change", "+|~|-");
	assert_column(&c, "object", "address|route|netns");
	assert_column(&c, "netns", "4026531840|4026531840|4026532002");
	assert_column(&c, "key", "eth0 192.0.2.10/24|main 10.8.0.0/16 nexthop 2|");
	assert_column(&c, "detail", "eth0 192.0.2.10/24 scope global secondary|gateway 10.0.0.3 -> "
				    "10.0.0.4|went away at 2023-11-14T22:40:00.000Z");
	csv_free(&c);
	result_free(&r);
	/* Unchanged: the CSV header, an empty JSON list, nothing in NDJSON. */
	free(t2);
	t2 = at_arg(40);
	r = run("-f", "json", "topology", "diff", t1, t1, NULL);
	assert_int_equal(r.status, 0);
	assert_json(r.out, "SELECT json_array_length(?1, '$.changes')", "0");
	result_free(&r);
	r = run("-f", "ndjson", "topology", "diff", t1, t1, NULL);
	assert_out(&r, "");
	result_free(&r);
	r = run("-f", "ndjson", "topology", "diff", t1, t2, NULL);
	assert_int_equal(r.status, 0);
	assert_json(r.out, "SELECT json_extract(?1, '$.change') || json_extract(?1, '$.detail')",
		    "-went away at 2023-11-14T22:40:00.000Z");
	result_free(&r);
	free(t1);
	free(t2);
}

/* ---- listening -------------------------------------------------------------------------- */

static void test_listening(void **state)
{
	char *at = at_arg(75);
	struct csv c = CSV("listening", "--at", at);
	struct result r;

	(void)state;
	/* Host's three and blue's one (red is gone), by namespace, protocol, port. */
	assert_int_equal(c.ncols, 11);
	assert_column(&c, "netns", "4026531840|4026531840|4026531840|4026532001");
	assert_column(&c, "netns_name", "|||blue");
	assert_column(&c, "snapshot_id", "5|5|5|6");
	assert_column(&c, "proto", "6|6|17|6");
	assert_column(&c, "address", "0.0.0.0|::|127.0.0.53|10.0.0.2");
	assert_column(&c, "port", "22|80|53|8080");
	assert_column(&c, "pid", "812||400|4242");
	assert_column(&c, "comm", "sshd||systemd-resolve|nginx");
	assert_column(&c, "inode", "1001|1003|1002|2001");
	assert_column(&c, "time", "2023-11-14T23:00:00.000Z|2023-11-14T23:00:00.000Z|"
				  "2023-11-14T23:00:00.000Z|2023-11-14T23:00:00.000Z");
	csv_free(&c);
	r = run("listening", "--at", at, "--netns", "blue", NULL);
	assert_out(&r, "     netns  netns_name  proto  address   port   pid  comm   inode\n"
		       "----------  ----------  -----  --------  ----  ----  -----  -----\n"
		       "4026532001  blue        tcp    10.0.0.2  8080  4242  nginx   2001\n");
	result_free(&r);
	free(at);
	/* As of 22:30, red's listener too. */
	at = at_arg(30);
	c = CSV("listening", "--at", at, "--netns", "red");
	assert_column(&c, "comm", "avahi-daemon");
	assert_column(&c, "port", "5353");
	csv_free(&c);
	free(at);
}

/* ---- bad input -------------------------------------------------------------------------- */

static void test_bad_input(void **state)
{
	struct result r;

	(void)state;
	r = run("topology", "--at", "yesterdayy", NULL);
	assert_has(r.err, "netrec: topology: bad time for --at: 'yesterdayy' (see netrec --help)");
	expect_usage("bad time", r);
	r = run("topology", "--at", NULL);
	assert_has(r.err, "topology: --at needs a time");
	expect_usage("--at without a time", r);
	r = run("topology", "--bogus", NULL);
	assert_has(r.err, "topology: unknown option '--bogus' (options: --at TIME, --netns "
			  "NAME|INODE)");
	expect_usage("unknown option", r);
	r = run("topology", "now", NULL);
	assert_has(r.err, "topology: unexpected argument 'now'");
	expect_usage("a word", r);
	r = run("topology", "--netns", NULL);
	assert_has(r.err, "topology: --netns needs a namespace name or inode");
	expect_usage("--netns without a value", r);
	expect_usage("--netns=", run("listening", "--netns=", NULL));
	r = run("topology", "diff", "03:00", NULL);
	assert_has(r.err, "topology diff needs two times: topology diff T1 T2");
	expect_usage("diff with one time", r);
	expect_usage("diff with none", run("topology", "diff", NULL));
	r = run("topology", "diff", "2h", "ago", NULL);
	assert_has(r.err, "topology diff: bad time '2h'");
	expect_usage("diff bad time", r);
	r = run("topology", "diff", "@1700000000", "@1700003600", "now", NULL);
	assert_has(r.err, "topology diff takes two times, got a third: 'now'");
	expect_usage("diff three times", r);
	r = run("topology", "diff", "@1700000000", "@1700003600", "--at", "now", NULL);
	assert_has(r.err, "topology diff: unknown option '--at' (options: --netns NAME|INODE)");
	expect_usage("diff --at", r);
	expect_usage("listening bad time", run("listening", "--at", "3:00", NULL));
	expect_usage("listening word", run("listening", "tcp", NULL));
	expect_usage("control bytes", run("topology", "--at", "\x1b[2J\n", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_blue),    cmocka_unit_test(test_text_host),
		cmocka_unit_test(test_as_of),	     cmocka_unit_test(test_empty),
		cmocka_unit_test(test_range),	     cmocka_unit_test(test_db_files),
		cmocka_unit_test(test_old_schema),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_csv),	     cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_far),     cmocka_unit_test(test_diff_formats),
		cmocka_unit_test(test_listening),    cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, group_setup, tmpdir_teardown);
}
