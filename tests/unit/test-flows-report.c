// SPDX-License-Identifier: MIT
/*
 * netrec flows and netrec top (query/cmd_flows.c), driven through nr_cli_main() as a user
 * would call them, over a small store written with the store API. A container's TCP
 * connection crosses three interfaces in two namespaces (the container's eth0, the host side
 * of its veth, the host's uplink), each seeing the same counts in two intervals, one per
 * partition; a second TCP flow is seen whole in the container and only half on the uplink; a
 * DNS query only on the uplink; a sampled ping (1 in 10); an IPv6 flow on an interface without
 * a name; an ARP row and two overflow rows. Some rows of the open partition have no kind, as
 * in partitions older than schema version 3. Truth is the comment above the rows.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cli.h"
#include "nrtime.h"
#include "store.h"
#include "testdir.h"
#include "testcli.h"
#include "testreport.h"

#define NS_HOST 4026531840ULL
#define NS_CTR 4026532001ULL
#define NONE (-1)

enum kind { FLOW = NR_FLOW_IP, OTHER = NR_FLOW_OTHER, OVERFLOW = NR_FLOW_OVERFLOW };

struct flow_row {
	int min; /* ts_start_ns = at_min(min), ts_end_ns one minute later */
	uint64_t netns;
	uint32_t ifindex;
	const char *ifname; /* "" for none */
	bool egress;
	enum kind kind;
	uint8_t proto;
	const char *src, *dst; /* NULL for non-IP rows */
	int sport, dport;
	uint64_t packets, bytes;
	uint8_t tcp_flags;
	uint32_t sampling;
	uint16_t ethertype;
	int icmp_type, icmp_code;
};

/*
 * Per flow tuple, the largest per-observation-point total (what top counts):
 *   A tcp 10.0.0.5:40000 -> 93.184.216.34:443   10 packets, 15000 bytes (3 points x 2 rows)
 *   C udp 10.0.0.5:5353 -> 10.0.0.1:53            2 packets,   150 bytes (uplink only)
 *   D tcp 10.0.0.8:41000 -> 198.51.100.9:22      10 packets,  1000 bytes (uplink saw 5/500)
 *   E icmp 10.0.0.9 -> 8.8.8.8 type 8/0          30 packets,  2520 bytes (3/252 sampled 1:10)
 *   F tcp [2001:db8::5]:50000 -> [2001:db8:1::80]:443  3 packets, 600 bytes (if9, no name)
 *   overflow: uplink egress 100/64000, veth ingress 50/32000: the line is 100/64000
 *   ARP on the uplink, ingress: 4/240 (only in --group iface)
 * Interfaces: container eth0 (ifindex 2) egress, host veth1234 (5) ingress, host eth0 (2)
 * egress and ingress, host if9 egress.
 */
static const struct flow_row rows[] = {
	/* First partition: minutes 10-11. */
	{ 10, NS_CTR, 2, "eth0", true, FLOW, 6, "10.0.0.5", "93.184.216.34", 40000, 443, 6, 9000,
	  0x02, 1, 0, NONE, NONE },
	{ 10, NS_HOST, 5, "veth1234", false, FLOW, 6, "10.0.0.5", "93.184.216.34", 40000, 443, 6,
	  9000, 0x02, 1, 0, NONE, NONE },
	{ 10, NS_HOST, 2, "eth0", true, FLOW, 6, "10.0.0.5", "93.184.216.34", 40000, 443, 6, 9000,
	  0x02, 1, 0, NONE, NONE },
	{ 10, NS_CTR, 2, "eth0", true, FLOW, 6, "10.0.0.8", "198.51.100.9", 41000, 22, 5, 500, 0x12,
	  1, 0, NONE, NONE },
	{ 10, NS_HOST, 2, "eth0", true, FLOW, 17, "10.0.0.5", "10.0.0.1", 5353, 53, 2, 150, 0, 1, 0,
	  NONE, NONE },
	{ 10, NS_HOST, 2, "eth0", true, FLOW, 1, "10.0.0.9", "8.8.8.8", 0, 0, 3, 252, 0, 10, 0, 8,
	  0 },
	{ 10, NS_HOST, 2, "eth0", false, OTHER, 0, NULL, NULL, 0, 0, 4, 240, 0, 1, 0x0806, NONE,
	  NONE },
	{ 11, NS_HOST, 2, "eth0", true, OVERFLOW, 0, NULL, NULL, 0, 0, 100, 64000, 0, 1, 0, NONE,
	  NONE },
	{ 11, NS_HOST, 5, "veth1234", false, OVERFLOW, 0, NULL, NULL, 0, 0, 50, 32000, 0, 1, 0,
	  NONE, NONE },
	/* Second partition (left open): minutes 70-71. */
	{ 70, NS_CTR, 2, "eth0", true, FLOW, 6, "10.0.0.5", "93.184.216.34", 40000, 443, 4, 6000,
	  0x11, 1, 0, NONE, NONE },
	{ 70, NS_HOST, 5, "veth1234", false, FLOW, 6, "10.0.0.5", "93.184.216.34", 40000, 443, 4,
	  6000, 0x11, 1, 0, NONE, NONE },
	{ 70, NS_HOST, 2, "eth0", true, FLOW, 6, "10.0.0.5", "93.184.216.34", 40000, 443, 4, 6000,
	  0x11, 1, 0, NONE, NONE },
	{ 70, NS_CTR, 2, "eth0", true, FLOW, 6, "10.0.0.8", "198.51.100.9", 41000, 22, 5, 500, 0x11,
	  1, 0, NONE, NONE },
	{ 70, NS_HOST, 2, "eth0", true, FLOW, 6, "10.0.0.8", "198.51.100.9", 41000, 22, 5, 500, 0x11,
	  1, 0, NONE, NONE },
	{ 71, NS_HOST, 9, "", true, FLOW, 6, "2001:db8::5", "2001:db8:1::80", 50000, 443, 3, 600,
	  0x18, 1, 0x86dd, NONE, NONE },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static void make_record(struct nr_record *r, size_t i)
{
	const struct flow_row *s = &rows[i];
	struct nr_rec_flow *f = &r->flow;

	memset(r, 0, sizeof(*r));
	r->table = NR_T_FLOWS;
	r->source = NR_SRC_FLOWS;
	f->ts_start_ns = at_min(s->min);
	f->ts_end_ns = at_min(s->min + 1);
	f->netns = s->netns;
	f->ifindex = s->ifindex;
	snprintf(f->ifname, sizeof(f->ifname), "%s", s->ifname);
	f->egress = s->egress;
	f->kind = (uint8_t)s->kind;
	if (s->src) {
		assert_int_equal(nr_addr_parse(s->src, &f->src), 0);
		assert_int_equal(nr_addr_parse(s->dst, &f->dst), 0);
		f->ethertype = f->src.family == 2 ? 0x0800 : 0x86dd;
	} else {
		f->ethertype = s->ethertype;
	}
	f->proto = s->proto;
	f->sport = (uint16_t)s->sport;
	f->dport = (uint16_t)s->dport;
	f->packets = s->packets;
	f->bytes = s->bytes;
	f->tcp_flags = s->tcp_flags;
	f->sampling = s->sampling;
	f->icmp_type = (int16_t)s->icmp_type;
	f->icmp_code = (int16_t)s->icmp_code;
}

/* The open partition's D rows as a partition of schema version 2 has them: no kind. */
static void forget_kind(void)
{
	struct nr_part_info *parts = NULL;
	size_t n = 0;
	sqlite3 *db;

	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sqlite3_open(parts[1].path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE flows SET kind = NULL WHERE src = '10.0.0.8'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 2);
	sqlite3_close(db);
	nr_store_list_free(parts, n);
}

static int group_setup(void **state)
{
	store_setup(state, NROWS, make_record);
	forget_kind();
	return 0;
}

/* ---- top: the default rule -------------------------------------------------------------- */

static void test_top_default(void **state)
{
	struct csv c = CSV("top");

	(void)state;
	/* Pairs by bytes. A crossed three interfaces and counts once; D counts what the container
	 * saw, not the half the uplink saw; E is scaled by its sampling. The overflow line has no
	 * key and no flows. */
	assert_int_equal(c.ncols, 7);
	assert_column(&c, "rank", "1|2|3|4|5|6");
	assert_column(&c, "src", "|10.0.0.5|10.0.0.9|10.0.0.8|2001:db8::5|10.0.0.5");
	assert_column(&c, "dst", "|93.184.216.34|8.8.8.8|198.51.100.9|2001:db8:1::80|10.0.0.1");
	assert_column(&c, "bytes", "64000|15000|2520|1000|600|150");
	assert_column(&c, "packets", "100|10|30|10|3|2");
	assert_column(&c, "flows", "|1|1|1|1|1");
	/* Of 83270 bytes in all. */
	assert_column(&c, "share", "76.86|18.01|3.03|1.2|0.72|0.18");
	csv_free(&c);
}

static void test_top_by(void **state)
{
	struct csv c;

	(void)state;
	/* By packets: E's scaled 30 before A's 10; A and D tie at 10 and A has more bytes. */
	c = CSV("top", "--by", "packets");
	assert_column(&c, "src", "|10.0.0.9|10.0.0.5|10.0.0.8|2001:db8::5|10.0.0.5");
	assert_column(&c, "packets", "100|30|10|10|3|2");
	assert_column(&c, "share", "64.52|19.35|6.45|6.45|1.94|1.29");
	csv_free(&c);
	/* By flows: one each, so bytes decide; the overflow line (no flows) comes last. */
	c = CSV("top", "--by=flows");
	assert_column(&c, "dst", "93.184.216.34|8.8.8.8|198.51.100.9|2001:db8:1::80|10.0.0.1|");
	assert_column(&c, "flows", "1|1|1|1|1|");
	assert_column(&c, "share", "20.0|20.0|20.0|20.0|20.0|");
	csv_free(&c);
	c = CSV("top", "--by", "flows", "--group", "src");
	assert_column(&c, "src", "10.0.0.5|10.0.0.9|10.0.0.8|2001:db8::5|");
	assert_column(&c, "flows", "2|1|1|1|");
	assert_column(&c, "bytes", "15150|2520|1000|600|64000");
	csv_free(&c);
}

static void test_top_n(void **state)
{
	struct csv c = CSV("top", "-n", "2");

	(void)state;
	assert_column(&c, "rank", "1|2");
	assert_column(&c, "bytes", "64000|15000");
	/* The share is of every line, not of the ones shown. */
	assert_column(&c, "share", "76.86|18.01");
	csv_free(&c);
	c = CSV("top", "-n1", "--group", "dst");
	assert_column(&c, "dst", "");
	csv_free(&c);
	c = CSV("top", "-n", "1000000000", "--group", "proto");
	assert_int_equal(c.nrows, 5);
	csv_free(&c);
}

static void test_top_groups(void **state)
{
	struct csv c;

	(void)state;
	c = CSV("top", "--group", "src");
	assert_column(&c, "src", "|10.0.0.5|10.0.0.9|10.0.0.8|2001:db8::5");
	assert_column(&c, "bytes", "64000|15150|2520|1000|600");
	assert_column(&c, "packets", "100|12|30|10|3");
	assert_column(&c, "flows", "|2|1|1|1");
	csv_free(&c);
	c = CSV("top", "--group", "dport");
	assert_column(&c, "proto", "|6|1|6|17");
	assert_column(&c, "dport", "|443||22|53");
	assert_column(&c, "bytes", "64000|15600|2520|1000|150");
	assert_column(&c, "flows", "|2|1|1|1");
	csv_free(&c);
	c = CSV("top", "--group", "sport", "--by", "flows");
	assert_column(&c, "sport", "40000||41000|50000|5353|");
	assert_column(&c, "bytes", "15000|2520|1000|600|150|64000");
	csv_free(&c);
	c = CSV("top", "--group", "proto");
	assert_column(&c, "proto", "|6|1|17");
	assert_column(&c, "bytes", "64000|16600|2520|150");
	assert_column(&c, "packets", "100|23|30|2");
	assert_column(&c, "flows", "|3|1|1");
	csv_free(&c);
}

/* --group iface: each interface's own rows, of every kind, nothing merged. */
static void test_top_iface(void **state)
{
	struct csv c = CSV("top", "--group", "iface");

	(void)state;
	assert_int_equal(c.ncols, 9);
	assert_column(&c, "netns", "4026531840|4026531840|4026532001|4026531840|4026531840");
	assert_column(&c, "ifindex", "2|5|2|9|2");
	assert_column(&c, "ifname", "eth0|veth1234|eth0||eth0");
	assert_column(&c, "direction", "egress|ingress|egress|egress|ingress");
	assert_column(&c, "bytes", "82170|47000|16000|600|240");
	assert_column(&c, "packets", "147|60|20|3|4");
	/* Distinct IP tuples seen there: D's rows without a kind are flows too. */
	assert_column(&c, "flows", "4|1|2|1|0");
	assert_column(&c, "share", "56.28|32.19|10.96|0.41|0.16");
	csv_free(&c);
	c = CSV("top", "--group", "iface", "--by", "flows", "-n", "2");
	assert_column(&c, "flows", "4|2");
	assert_column(&c, "netns", "4026531840|4026532001");
	csv_free(&c);
}

/* A filter after the options, and options after the filter. */
static void test_top_filter(void **state)
{
	char *since = at_arg(60);
	struct csv c;

	(void)state;
	c = CSV("top", "host", "10.0.0.5");
	assert_column(&c, "dst", "93.184.216.34|10.0.0.1");
	assert_column(&c, "bytes", "15000|150");
	csv_free(&c);
	/* Both eth0 (container and host) and the uplink's overflow: A still once. */
	c = CSV("top", "--group", "src", "iface", "eth0", "and", "dir", "egress");
	assert_column(&c, "src", "|10.0.0.5|10.0.0.9|10.0.0.8");
	assert_column(&c, "bytes", "64000|15150|2520|1000");
	csv_free(&c);
	c = CSV("top", "port 443", "-n", "1");
	assert_column(&c, "bytes", "15000");
	csv_free(&c);
	c = CSV("top", "--group", "iface", "dir", "ingress");
	assert_column(&c, "ifname", "veth1234|eth0");
	assert_column(&c, "bytes", "47000|240");
	csv_free(&c);
	/* The time range: only the second interval. */
	c = CSV("--since", since, "top");
	assert_column(&c, "src", "10.0.0.5|2001:db8::5|10.0.0.8");
	assert_column(&c, "bytes", "6000|600|500");
	csv_free(&c);
	free(since);
}

static void test_top_table(void **state)
{
	struct result r = run("top", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_has(r.out, "rank  src ");
	assert_has(r.out, "(not attributed: map full)");
	assert_has(r.out, "76.86");
	result_free(&r);
	r = run("top", "--group", "dport", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "   2  tcp     ");
	assert_has(r.out, "  443  15600       13      2  18.73\n");
	assert_has(r.out, "icmp");
	result_free(&r);
	r = run("top", "--group", "iface", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "rank       netns  iface     dir ");
	assert_has(r.out, " if9 ");
	assert_has(r.out, "veth1234  ingress");
	result_free(&r);
	r = run("-f", "json", "top", "-n", "1", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "[\n{\"rank\":1,\"src\":null,\"dst\":null,\"bytes\":64000,"
				   "\"packets\":100,\"flows\":null,\"share\":76.86}\n]\n");
	result_free(&r);
}

static void test_top_bad_input(void **state)
{
	struct result r;

	(void)state;
	r = run("top", "--by", "octets", NULL);
	assert_non_null(strstr(r.err, "--by needs bytes, packets or flows, got 'octets'"));
	expect_usage("bad --by", r);
	expect_usage("--by without value", run("top", "--by", NULL));
	r = run("top", "--group", "host", NULL);
	assert_non_null(strstr(r.err, "--group needs src, dst, pair, sport, dport, proto or iface"));
	expect_usage("bad --group", r);
	expect_usage("--group=", run("top", "--group=", NULL));
	r = run("top", "-n", "0", NULL);
	assert_non_null(strstr(r.err, "-n needs a number from 1 to 1000000000, got '0'"));
	expect_usage("-n 0", r);
	expect_usage("-n -1", run("top", "-n", "-1", NULL));
	expect_usage("-n x", run("top", "-nx", NULL));
	expect_usage("-n too big", run("top", "-n", "1000000001", NULL));
	expect_usage("-n without value", run("top", "-n", NULL));
	r = run("top", "--bogus", NULL);
	assert_non_null(strstr(r.err, "unknown option '--bogus'"));
	expect_usage("unknown option", r);
	r = run("top", "hots", "10.0.0.1", NULL);
	assert_non_null(strstr(r.err, "top: filter: unknown word 'hots'"));
	expect_usage("bad filter", r);
	r = run("top", "event", "new", NULL);
	assert_non_null(strstr(r.err, "'event' does not apply to table flows"));
	expect_usage("event", r);
	expect_usage("control bytes", run("top", "--by", "\x1b[2J\n", NULL));
}

/* ---- flows ------------------------------------------------------------------------------ */

static void test_flows_all(void **state)
{
	struct csv c = CSV("flows");

	(void)state;
	assert_int_equal(c.nrows, 1 + NROWS);
	assert_int_equal(c.ncols, 24);
	/* Oldest first; raw columns, kind as stored (empty for D's rows of the open partition). */
	assert_column(&c, "kind", "flow|flow|flow|flow|flow|flow|other|overflow|overflow|"
				  "flow|flow|flow|||flow");
	assert_column(&c, "sampling", "1|1|1|1|1|10|1|1|1|1|1|1|1|1|1");
	assert_column(&c, "ethertype", "2048|2048|2048|2048|2048|2048|2054|||2048|2048|2048|2048|"
				       "2048|34525");
	assert_column(&c, "ifname", "eth0|veth1234|eth0|eth0|eth0|eth0|eth0|eth0|veth1234|eth0|"
				    "veth1234|eth0|eth0|eth0|");
	csv_free(&c);
}

/* flows FILTER selects @want_rows rows, whose src columns are @want_src. */
static void check_flows(const char *filter, const char *want_src, size_t want_rows)
{
	struct csv c = CSV("flows", filter);

	if (c.nrows != 1 + want_rows)
		fail_msg("flows %s: %zu rows, want %zu", filter, c.nrows - 1, want_rows);
	assert_column(&c, "src", want_src);
	csv_free(&c);
}

static void test_flows_filter(void **state)
{
	(void)state;
	check_flows("host 10.0.0.5", "10.0.0.5|10.0.0.5|10.0.0.5|10.0.0.5|10.0.0.5|10.0.0.5|10.0.0.5",
		    7);
	check_flows("dst host 10.0.0.1", "10.0.0.5", 1);
	check_flows("net 198.51.100.0/24", "10.0.0.8|10.0.0.8|10.0.0.8", 3);
	check_flows("net 2001:db8::/32", "2001:db8::5", 1);
	check_flows("port 53", "10.0.0.5", 1);
	check_flows("src port 40000 and dst port 443",
		    "10.0.0.5|10.0.0.5|10.0.0.5|10.0.0.5|10.0.0.5|10.0.0.5", 6);
	check_flows("proto icmp", "10.0.0.9", 1);
	check_flows("proto udp or proto 1", "10.0.0.5|10.0.0.9", 2);
	/* iface and dir select non-IP and overflow rows too. */
	check_flows("iface veth1234", "10.0.0.5||10.0.0.5", 3);
	check_flows("dir ingress", "10.0.0.5|||10.0.0.5", 4);
	check_flows("DIR Ingress and not iface eth0", "10.0.0.5||10.0.0.5", 3);
	check_flows("dir egress and proto tcp and not net 10.0.0.5/32",
		    "10.0.0.8|10.0.0.8|10.0.0.8|2001:db8::5", 4);
}

static void test_flows_table(void **state)
{
	struct result r = run("flows", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_has(r.out, "start                     end                       ");
	assert_has(r.out, "10.0.0.5:40000 -> 93.184.216.34:443");
	assert_has(r.out, "10.0.0.9 -> 8.8.8.8 type 8/0");
	assert_has(r.out, "[2001:db8::5]:50000 -> [2001:db8:1::80]:443");
	assert_has(r.out, "arp 0x0806");
	assert_has(r.out, "(not attributed: map full)");
	assert_has(r.out, " SYN ");
	assert_has(r.out, " ACK,FIN ");
	assert_has(r.out, " ACK,PSH ");
	assert_has(r.out, " veth1234 ");
	assert_has(r.out, " if9 ");
	assert_has(r.out, " icmp ");
	assert_has(r.out, " ingress ");
	assert_has(r.out, "2023-11-14T22:10:00.000Z");
	result_free(&r);
	/* The sampling column is empty at 1 and says 10 on the sampled row. */
	r = run("flows", "proto", "icmp", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "flow        10\n");
	result_free(&r);
	r = run("flows", "proto", "udp", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "         flow\n");
	result_free(&r);
	/* Rows without a kind read as IP flows. */
	r = run("flows", "host", "198.51.100.9", NULL);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "  \n"));
	result_free(&r);
	r = run("--raw", "flows", "port", "53", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "        ts_start_ns            ts_end_ns       netns");
	assert_has(r.out, "1699999800000000000  1699999860000000000");
	result_free(&r);
}

static void test_flows_bad_filter(void **state)
{
	struct result r;

	(void)state;
	r = run("flows", "dir", "inbound", NULL);
	assert_non_null(strstr(r.err, "flows: filter: 'dir' needs ingress or egress, got 'inbound'"));
	expect_usage("bad dir", r);
	r = run("flows", "event", "new", NULL);
	assert_non_null(strstr(r.err, "'event' does not apply to table flows"));
	expect_usage("event", r);
	expect_usage("bad port", run("flows", "port", "99999", NULL));
	expect_usage("option", run("flows", "-n", "5", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_default),
		cmocka_unit_test(test_top_by),
		cmocka_unit_test(test_top_n),
		cmocka_unit_test(test_top_groups),
		cmocka_unit_test(test_top_iface),
		cmocka_unit_test(test_top_filter),
		cmocka_unit_test(test_top_table),
		cmocka_unit_test(test_top_bad_input),
		cmocka_unit_test(test_flows_all),
		cmocka_unit_test(test_flows_filter),
		cmocka_unit_test(test_flows_table),
		cmocka_unit_test(test_flows_bad_filter),
	};

	return cmocka_run_group_tests(tests, group_setup, tmpdir_teardown);
}
