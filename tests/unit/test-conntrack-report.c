// SPDX-License-Identifier: MIT
/*
 * netrec conntrack and netrec nat (query/cmd_conntrack.c), driven through nr_cli_main() as a
 * user would call them, over a small store written with the store API: a masqueraded TCP
 * connection whose rows span two partitions, a port forward, an un-NATed UDP exchange and its
 * later twin with the same id and tuple, a ping with a rewritten echo id, a reused ct id with
 * another tuple, an IPv6 connection, a hairpin (both kinds of NAT), an entry still open (found
 * by a table dump, started before the recorder), and one without status bits. Truth is the
 * table below.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "nrtime.h"
#include "store.h"
#include "testdir.h"
#include "testcli.h"
#include "testreport.h"

#define NETNS 4026531840ULL
#define NO_TS INT_MIN /* timestamps off: no start_ns / stop_ns */

struct ct_row {
	int min; /* ts_ns = at_min(min) */
	const char *event;
	uint32_t id;
	uint8_t proto;
	const char *osrc;
	int osport;
	const char *odst;
	int odport;
	const char *rsrc;
	int rsport;
	const char *rdst;
	int rdport;
	uint32_t status;
	int start_min; /* NO_TS: timestamps off */
	uint16_t icmp_id, reply_icmp_id;
};

/* In time order; minutes 0..59 go to the first partition, 60..119 to the second. */
static const struct ct_row rows[] = {
	/* e7: open, masqueraded; found by the dump at start, started 2 h before t0. */
	{ 5, "dump", 1007, 6, "10.0.0.7", 33333, "198.51.100.20", 443, "198.51.100.20", 443,
	  "192.0.2.1", 40003, 0x9e, -120, 0, 0 },
	/* e1: masquerade 10.0.0.5:43210 -> 192.0.2.1:40001, new and update here, destroy at 70. */
	{ 10, "new", 1001, 6, "10.0.0.5", 43210, "93.184.216.34", 443, "93.184.216.34", 443,
	  "192.0.2.1", 40001, 0x9e, 10, 0, 0 },
	{ 11, "update", 1001, 6, "10.0.0.5", 43210, "93.184.216.34", 443, "93.184.216.34", 443,
	  "192.0.2.1", 40001, 0x9e, 10, 0, 0 },
	/* e3: DNS without NAT. */
	{ 15, "new", 1003, 17, "10.0.0.5", 5353, "10.0.0.1", 53, "10.0.0.1", 53, "10.0.0.5", 5353,
	  0x8, 15, 0, 0 },
	{ 16, "destroy", 1003, 17, "10.0.0.5", 5353, "10.0.0.1", 53, "10.0.0.1", 53, "10.0.0.5",
	  5353, 0xa, 15, 0, 0 },
	/* e2: port forward 192.0.2.1:8080 -> 10.0.0.9:80. */
	{ 20, "new", 1002, 6, "198.51.100.7", 55555, "192.0.2.1", 8080, "10.0.0.9", 80,
	  "198.51.100.7", 55555, 0x12e, 20, 0, 0 },
	/* e4: ping, masqueraded, echo id 1234 -> 40002. */
	{ 25, "new", 1004, 1, "10.0.0.5", 0, "8.8.8.8", 0, "8.8.8.8", 0, "192.0.2.1", 0, 0x98, 25,
	  1234, 40002 },
	{ 26, "destroy", 1004, 1, "10.0.0.5", 0, "8.8.8.8", 0, "8.8.8.8", 0, "192.0.2.1", 0, 0x9a,
	  25, 1234, 40002 },
	{ 30, "destroy", 1002, 6, "198.51.100.7", 55555, "192.0.2.1", 8080, "10.0.0.9", 80,
	  "198.51.100.7", 55555, 0x12e, 20, 0, 0 },
	/* e6: IPv6, no NAT, timestamps off. */
	{ 40, "new", 1006, 6, "2001:db8::5", 40000, "2001:db8:1::80", 443, "2001:db8:1::80", 443,
	  "2001:db8::5", 40000, 0xe, NO_TS, 0, 0 },
	{ 45, "destroy", 1006, 6, "2001:db8::5", 40000, "2001:db8:1::80", 443, "2001:db8:1::80",
	  443, "2001:db8::5", 40000, 0xe, NO_TS, 0, 0 },
	/* e10: hairpin NAT: 10.0.1.5 reaches the public 192.0.2.2:8080, forwarded to 10.0.1.9:80
	 * and masqueraded behind 10.0.1.1:61000 so the reply comes back through the router. */
	{ 50, "new", 1010, 6, "10.0.1.5", 40000, "192.0.2.2", 8080, "10.0.1.9", 80, "10.0.1.1",
	  61000, 0x1be, 50, 0, 0 },
	{ 55, "destroy", 1010, 6, "10.0.1.5", 40000, "192.0.2.2", 8080, "10.0.1.9", 80, "10.0.1.1",
	  61000, 0x1be, 50, 0, 0 },
	/* e8: no status bits (0): the tuples say SNAT. Only its destroy was seen. */
	{ 60, "destroy", 1008, 17, "10.0.0.8", 1111, "198.51.100.30", 123, "198.51.100.30", 123,
	  "192.0.2.1", 40004, 0, NO_TS, 0, 0 },
	{ 70, "destroy", 1001, 6, "10.0.0.5", 43210, "93.184.216.34", 443, "93.184.216.34", 443,
	  "192.0.2.1", 40001, 0x9e, 10, 0, 0 },
	/* e5: id 1001 again, another inside host, the same outside port 40001. */
	{ 80, "new", 1001, 6, "10.0.0.6", 50000, "203.0.113.5", 22, "203.0.113.5", 22, "192.0.2.1",
	  40001, 0x9e, 80, 0, 0 },
	{ 85, "destroy", 1001, 6, "10.0.0.6", 50000, "203.0.113.5", 22, "203.0.113.5", 22,
	  "192.0.2.1", 40001, 0x9e, 80, 0, 0 },
	/* e7 again, still open. */
	{ 95, "update", 1007, 6, "10.0.0.7", 33333, "198.51.100.20", 443, "198.51.100.20", 443,
	  "192.0.2.1", 40003, 0x9e, -120, 0, 0 },
	/* e9: e3's id and tuple once more: a new entry, not e3 extended. */
	{ 100, "new", 1003, 17, "10.0.0.5", 5353, "10.0.0.1", 53, "10.0.0.1", 53, "10.0.0.5", 5353,
	  0x8, 100, 0, 0 },
	{ 101, "destroy", 1003, 17, "10.0.0.5", 5353, "10.0.0.1", 53, "10.0.0.1", 53, "10.0.0.5",
	  5353, 0xa, 100, 0, 0 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static void make_record(struct nr_record *r, size_t i)
{
	const struct ct_row *s = &rows[i];
	struct nr_rec_conntrack *c = &r->ct;

	memset(r, 0, sizeof(*r));
	r->table = NR_T_CONNTRACK;
	r->source = NR_SRC_CONNTRACK;
	c->ts_ns = at_min(s->min);
	snprintf(c->event, sizeof(c->event), "%s", s->event);
	c->netns = NETNS;
	c->ct_id = s->id;
	c->proto = s->proto;
	assert_int_equal(nr_addr_parse(s->osrc, &c->orig_src), 0);
	assert_int_equal(nr_addr_parse(s->odst, &c->orig_dst), 0);
	assert_int_equal(nr_addr_parse(s->rsrc, &c->reply_src), 0);
	assert_int_equal(nr_addr_parse(s->rdst, &c->reply_dst), 0);
	c->orig_sport = (uint16_t)s->osport;
	c->orig_dport = (uint16_t)s->odport;
	c->reply_sport = (uint16_t)s->rsport;
	c->reply_dport = (uint16_t)s->rdport;
	c->status = s->status;
	if (s->proto == 6)
		snprintf(c->tcp_state, sizeof(c->tcp_state), "%s",
			 strcmp(s->event, "destroy") == 0 ? "CLOSE" : "ESTABLISHED");
	c->has_counters = true;
	c->orig_packets = 10;
	c->orig_bytes = 1000;
	c->reply_packets = 20;
	c->reply_bytes = 30000;
	if (s->start_min != NO_TS) {
		c->start_ns = at_min(s->start_min);
		if (strcmp(s->event, "destroy") == 0)
			c->stop_ns = c->ts_ns;
	}
	if (s->proto == 1) {
		c->icmp_type = 8;
		c->icmp_code = 0;
		c->icmp_id = s->icmp_id;
		c->reply_icmp_id = s->reply_icmp_id;
	}
}

static int group_setup(void **state)
{
	return store_setup(state, NROWS, make_record);
}

/* ---- times ------------------------------------------------------------------------------ */

static char *ns_text(int min)
{
	char *s;

	assert_true(asprintf(&s, "%lld", (long long)at_min(min)) > 0);
	return s;
}

/* ---- nat -------------------------------------------------------------------------------- */

static void test_nat_outside_to_inside(void **state)
{
	char *t = at_arg(30), *s10 = ns_text(10), *s70 = ns_text(70);
	struct csv c = CSV("nat", "192.0.2.1:40001", "--at", t);

	(void)state;
	assert_int_equal(c.nrows, 2);
	assert_column(&c, "ct_id", "1001");
	assert_column(&c, "nat", "snat");
	assert_column(&c, "matched", "reply_dst");
	assert_column(&c, "inside", "10.0.0.5:43210");
	assert_column(&c, "translated", "192.0.2.1:40001");
	assert_column(&c, "orig_src", "10.0.0.5");
	assert_column(&c, "orig_dport", "443");
	/* new in the first partition, destroy in the second: one entry. */
	assert_column(&c, "start_ns", s10);
	assert_column(&c, "end_ns", s70);
	assert_column(&c, "events", "3");
	csv_free(&c);
	free(t);
	free(s10);
	free(s70);
}

static void test_nat_inside_to_outside(void **state)
{
	char *t = at_arg(30);
	struct csv c = CSV("nat", "10.0.0.5:43210", "--at", t);

	(void)state;
	assert_int_equal(c.nrows, 2);
	assert_column(&c, "matched", "orig_src");
	assert_column(&c, "translated", "192.0.2.1:40001");
	assert_column(&c, "inside", "10.0.0.5:43210");
	assert_column(&c, "reply_dst", "192.0.2.1");
	assert_column(&c, "reply_dport", "40001");
	csv_free(&c);
	free(t);
}

static void test_nat_lifetime(void **state)
{
	char *before = at_arg(5), *between = at_arg(75), *later = at_arg(82), *edge = at_arg(70);
	struct csv c;

	(void)state;
	/* Before e1 started, and after it ended but before e5 began: nothing. */
	c = CSV("nat", "192.0.2.1:40001", "--at", before);
	assert_int_equal(c.nrows, 1);
	csv_free(&c);
	c = CSV("nat", "192.0.2.1:40001", "--at", between);
	assert_int_equal(c.nrows, 1);
	csv_free(&c);
	/* The lifetime is closed at both ends. */
	c = CSV("nat", "192.0.2.1:40001", "--at", edge);
	assert_column(&c, "inside", "10.0.0.5:43210");
	csv_free(&c);
	/* Later the same outside port belonged to another inside host under the same ct id. */
	c = CSV("nat", "192.0.2.1:40001", "--at", later);
	assert_column(&c, "ct_id", "1001");
	assert_column(&c, "inside", "10.0.0.6:50000");
	csv_free(&c);
	free(before);
	free(between);
	free(later);
	free(edge);
}

static void test_nat_reused_id(void **state)
{
	struct csv c = CSV("nat", "192.0.2.1:40001");

	(void)state;
	/* Without --at: both entries with id 1001, apart, oldest first. */
	assert_column(&c, "ct_id", "1001|1001");
	assert_column(&c, "inside", "10.0.0.5:43210|10.0.0.6:50000");
	assert_column(&c, "events", "3|2");
	csv_free(&c);
	/* The same id and the same tuple after a destroy: a second entry too. */
	c = CSV("nat", "10.0.0.1:53");
	assert_int_equal(c.nrows, 3);
	assert_column(&c, "ct_id", "1003|1003");
	assert_column(&c, "nat", "none|none");
	assert_column(&c, "matched", "orig_dst,reply_src|orig_dst,reply_src");
	assert_column(&c, "inside", "|");
	assert_column(&c, "events", "2|2");
	csv_free(&c);
}

static void test_nat_dnat(void **state)
{
	struct csv c = CSV("nat", "192.0.2.1:8080");

	(void)state;
	assert_column(&c, "ct_id", "1002");
	assert_column(&c, "nat", "dnat");
	assert_column(&c, "matched", "orig_dst");
	assert_column(&c, "inside", "10.0.0.9:80");
	assert_column(&c, "translated", "192.0.2.1:8080");
	csv_free(&c);
	c = CSV("nat", "10.0.0.9:80");
	assert_column(&c, "matched", "reply_src");
	assert_column(&c, "translated", "192.0.2.1:8080");
	csv_free(&c);
	/* The client's port is not the forwarded one. */
	c = CSV("nat", "192.0.2.1:80");
	assert_int_equal(c.nrows, 1);
	csv_free(&c);
}

static void test_nat_icmp(void **state)
{
	struct csv c = CSV("nat", "192.0.2.1:40002");

	(void)state;
	assert_column(&c, "ct_id", "1004");
	assert_column(&c, "proto", "1");
	assert_column(&c, "nat", "snat");
	assert_column(&c, "inside", "10.0.0.5 id 1234");
	assert_column(&c, "translated", "192.0.2.1 id 40002");
	assert_column(&c, "icmp_id", "1234");
	assert_column(&c, "reply_icmp_id", "40002");
	csv_free(&c);
	c = CSV("nat", "10.0.0.5:1234");
	assert_column(&c, "ct_id", "1004");
	assert_column(&c, "matched", "orig_src");
	assert_column(&c, "translated", "192.0.2.1 id 40002");
	csv_free(&c);
}

static void test_nat_open_entry(void **state)
{
	char *early = at_arg(1), *late = at_arg(600), *start = ns_text(-120), *seen = ns_text(95);
	struct csv c;

	(void)state;
	/* Started before the recorder (kernel timestamp), seen by a dump: it covers minute 1. */
	c = CSV("nat", "192.0.2.1:40003", "--at", early);
	assert_column(&c, "ct_id", "1007");
	assert_column(&c, "start_ns", start);
	assert_column(&c, "end_ns", "");
	assert_column(&c, "end", "");
	assert_column(&c, "last_seen_ns", seen);
	assert_column(&c, "inside", "10.0.0.7:33333");
	csv_free(&c);
	/* No destroy: open as far as the store knows, so any later time is covered. */
	c = CSV("nat", "192.0.2.1:40003", "--at", late);
	assert_column(&c, "ct_id", "1007");
	csv_free(&c);
	free(early);
	free(late);
	free(start);
	free(seen);
}

static void test_nat_inferred(void **state)
{
	struct csv c = CSV("nat", "192.0.2.1:40004");

	(void)state;
	/* Status 0: the reply goes to another address than the original source. */
	assert_column(&c, "nat", "snat");
	assert_column(&c, "inside", "10.0.0.8:1111");
	csv_free(&c);
}

static void test_nat_both(void **state)
{
	struct csv c = CSV("nat", "192.0.2.2:8080");

	(void)state;
	/* Asked for the public side: the server behind it. */
	assert_column(&c, "ct_id", "1010");
	assert_column(&c, "nat", "both");
	assert_column(&c, "matched", "orig_dst");
	assert_column(&c, "inside", "10.0.1.9:80");
	assert_column(&c, "translated", "192.0.2.2:8080");
	csv_free(&c);
	/* Asked for the masquerading address: the client behind it. */
	c = CSV("nat", "10.0.1.1:61000");
	assert_column(&c, "matched", "reply_dst");
	assert_column(&c, "inside", "10.0.1.5:40000");
	assert_column(&c, "translated", "10.0.1.1:61000");
	csv_free(&c);
}

static void test_nat_address_only(void **state)
{
	struct csv c = CSV("nat", "192.0.2.1");

	(void)state;
	assert_column(&c, "ct_id", "1007|1001|1002|1004|1008|1001");
	assert_column(&c, "nat", "snat|snat|dnat|snat|snat|snat");
	csv_free(&c);
	c = CSV("nat", "10.0.0.5");
	assert_column(&c, "ct_id", "1001|1003|1004|1003");
	assert_column(&c, "matched", "orig_src|orig_src,reply_dst|orig_src|orig_src,reply_dst");
	csv_free(&c);
	/* Nothing known about it. */
	c = CSV("nat", "203.0.113.99");
	assert_int_equal(c.nrows, 1);
	csv_free(&c);
}

static void test_nat_ipv6(void **state)
{
	struct csv c = CSV("nat", "[2001:db8::5]:40000");
	struct result r;

	(void)state;
	assert_column(&c, "ct_id", "1006");
	assert_column(&c, "nat", "none");
	csv_free(&c);
	/* Canonicalized: upper case and a bare IPv6 address (no port). */
	c = CSV("nat", "2001:DB8::5");
	assert_column(&c, "ct_id", "1006");
	csv_free(&c);
	c = CSV("nat", "[2001:db8::5]:40001");
	assert_int_equal(c.nrows, 1);
	csv_free(&c);
	/* The table spells tuples out, IPv6 in brackets. */
	r = run("nat", "[2001:db8::5]:40000", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "[2001:db8::5]:40000 -> [2001:db8:1::80]:443"));
	assert_non_null(strstr(r.out, "[2001:db8:1::80]:443 -> [2001:db8::5]:40000"));
	assert_non_null(strstr(r.out, "none"));
	result_free(&r);
	/* ... and an open entry's end as "open". */
	r = run("nat", "192.0.2.1:40003", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, " open "));
	assert_non_null(strstr(r.out, "10.0.0.7:33333 -> 198.51.100.20:443"));
	result_free(&r);
}

static void test_nat_bad_input(void **state)
{
	struct result r;

	(void)state;
	r = run("nat", "300.1.2.3", NULL);
	assert_non_null(strstr(r.err, "bad address '300.1.2.3'"));
	expect_usage("bad address", r);
	r = run("nat", "10.0.0.1:70000", NULL);
	assert_non_null(strstr(r.err, "bad port"));
	expect_usage("bad port", r);
	expect_usage("empty port", run("nat", "10.0.0.1:", NULL));
	expect_usage("port not a number", run("nat", "10.0.0.1:http", NULL));
	expect_usage("unclosed bracket", run("nat", "[2001:db8::1:80", NULL));
	expect_usage("junk after bracket", run("nat", "[2001:db8::1]80", NULL));
	expect_usage("prefix", run("nat", "10.0.0.0/8", NULL));
	r = run("nat", "10.0.0.1", "--at", "half past three", NULL);
	assert_non_null(strstr(r.err, "bad time for --at"));
	expect_usage("bad --at", r);
	expect_usage("--at without time", run("nat", "10.0.0.1", "--at", NULL));
	expect_usage("no address", run("nat", NULL));
	expect_usage("two addresses", run("nat", "10.0.0.1", "10.0.0.2", NULL));
	expect_usage("unknown option", run("nat", "-x", "10.0.0.1", NULL));
	/* Control bytes in the input do not break the line. */
	expect_usage("control bytes", run("nat", "10.0.0.1\n:\x1b[2J", NULL));
	/* --at=T and --at before the address work. */
	r = run("nat", "--at=now", "192.0.2.1:40003", NULL);
	assert_int_equal(r.status, 0);
	result_free(&r);
}

/* ---- conntrack -------------------------------------------------------------------------- */

static void test_conntrack_all(void **state)
{
	struct csv c = CSV("conntrack");
	char *ts5 = ns_text(5);

	(void)state;
	assert_int_equal(c.nrows, 1 + NROWS);
	/* Oldest first, raw columns in CSV. */
	assert_string_equal(c.cells[c.ncols + 0], ts5);
	assert_column(&c, "event", "dump|new|update|new|destroy|new|new|destroy|destroy|new|destroy|"
				   "new|destroy|destroy|destroy|new|destroy|update|new|destroy");
	csv_free(&c);
	free(ts5);
}

static void test_conntrack_filter(void **state)
{
	struct csv c;
	char *since = at_arg(60);

	(void)state;
	/* Address: either tuple, any position. */
	c = CSV("conntrack", "host", "10.0.0.5");
	assert_column(&c, "ct_id", "1001|1001|1003|1003|1004|1004|1001|1003|1003");
	csv_free(&c);
	c = CSV("conntrack", "host 192.0.2.1 and event new");
	assert_column(&c, "ct_id", "1001|1002|1004|1001");
	assert_column(&c, "orig_src", "10.0.0.5|198.51.100.7|10.0.0.5|10.0.0.6");
	csv_free(&c);
	c = CSV("conntrack", "net", "2001:db8::/32");
	assert_column(&c, "ct_id", "1006|1006");
	assert_column(&c, "family", "6|6");
	csv_free(&c);
	/* Port: any of the four. 40001 is only ever the reply's destination port. */
	c = CSV("conntrack", "port", "53");
	assert_column(&c, "ct_id", "1003|1003|1003|1003");
	csv_free(&c);
	c = CSV("conntrack", "port", "40001");
	assert_column(&c, "ct_id", "1001|1001|1001|1001|1001");
	csv_free(&c);
	/* Protocol by name and number. */
	c = CSV("conntrack", "proto", "icmp");
	assert_column(&c, "ct_id", "1004|1004");
	assert_column(&c, "icmp_type", "8|8");
	assert_column(&c, "reply_icmp_id", "40002|40002");
	csv_free(&c);
	c = CSV("conntrack", "proto", "17");
	assert_column(&c, "ct_id", "1003|1003|1008|1003|1003");
	csv_free(&c);
	/* Event. */
	c = CSV("conntrack", "event", "destroy");
	assert_column(&c, "ct_id", "1003|1004|1002|1006|1010|1008|1001|1001|1003");
	csv_free(&c);
	c = CSV("conntrack", "event", "DUMP");
	assert_column(&c, "ct_id", "1007");
	csv_free(&c);
	c = CSV("conntrack", "not", "event", "new", "and", "not", "event", "destroy");
	assert_column(&c, "event", "dump|update|update");
	csv_free(&c);
	/* The time range applies. */
	c = CSV("--since", since, "conntrack");
	assert_column(&c, "ct_id", "1008|1001|1001|1001|1007|1003|1003");
	csv_free(&c);
	free(since);
}

static void test_conntrack_table(void **state)
{
	struct result r = run("conntrack", "proto", "icmp", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "10.0.0.5 -> 8.8.8.8 type 8/0 id 1234"));
	assert_non_null(strstr(r.out, "8.8.8.8 -> 192.0.2.1 id 40002"));
	assert_non_null(strstr(r.out, "SNAT"));
	assert_non_null(strstr(r.out, "icmp"));
	/* Times as ISO 8601. */
	assert_non_null(strstr(r.out, "2023-11-14T22:25:00.000Z"));
	result_free(&r);
	r = run("conntrack", "host", "10.0.0.5", "and", "port", "43210", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "10.0.0.5:43210 -> 93.184.216.34:443"));
	assert_non_null(strstr(r.out, "93.184.216.34:443 -> 192.0.2.1:40001"));
	assert_non_null(strstr(r.out, "ASSURED,SNAT"));
	result_free(&r);
	/* JSON keeps numbers as numbers. */
	r = run("-f", "json", "conntrack", "event", "dump", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"ct_id\":1007"));
	assert_non_null(strstr(r.out, "\"orig_sport\":33333"));
	result_free(&r);
}

static void test_conntrack_bad_filter(void **state)
{
	struct result r;

	(void)state;
	r = run("conntrack", "hots", "10.0.0.1", NULL);
	assert_non_null(strstr(r.err, "hots"));
	expect_usage("unknown word", r);
	r = run("conntrack", "event", "created", NULL);
	assert_non_null(strstr(r.err, "new, update, destroy or dump"));
	expect_usage("bad event", r);
	r = run("conntrack", "iface", "eth0", NULL);
	assert_non_null(strstr(r.err, "'iface' does not apply to table conntrack"));
	expect_usage("iface", r);
	expect_usage("bad port", run("conntrack", "port", "99999", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat_outside_to_inside),
		cmocka_unit_test(test_nat_inside_to_outside),
		cmocka_unit_test(test_nat_lifetime),
		cmocka_unit_test(test_nat_reused_id),
		cmocka_unit_test(test_nat_dnat),
		cmocka_unit_test(test_nat_icmp),
		cmocka_unit_test(test_nat_open_entry),
		cmocka_unit_test(test_nat_inferred),
		cmocka_unit_test(test_nat_both),
		cmocka_unit_test(test_nat_address_only),
		cmocka_unit_test(test_nat_ipv6),
		cmocka_unit_test(test_nat_bad_input),
		cmocka_unit_test(test_conntrack_all),
		cmocka_unit_test(test_conntrack_filter),
		cmocka_unit_test(test_conntrack_table),
		cmocka_unit_test(test_conntrack_bad_filter),
	};

	return cmocka_run_group_tests(tests, group_setup, tmpdir_teardown);
}
