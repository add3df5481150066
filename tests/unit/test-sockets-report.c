// SPDX-License-Identifier: MIT
/*
 * netrec sockets, netrec retrans and netrec rtt (query/cmd_sockets.c), driven through
 * nr_cli_main() as a user would call them, over a small store written with the store API: nine
 * connections in two namespaces, whose open, sample and close rows span two partitions; two
 * without a cookie that share a tuple (a port reused after a close), a cookie that comes back
 * after its socket's close (the next boot), a close row and a sample row of the same instant
 * written in the other order, rows without a process, counters or RTT. Truth is the comment
 * above the rows.
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
#define NS_CTR 4026532001ULL
#define N NR_NONE /* unknown: NULL in the store */

struct sock_row {
	int min; /* ts_ns = at_min(min) */
	const char *kind;
	uint64_t netns;
	uint64_t cookie; /* 0: none (NULL) */
	uint8_t proto;
	const char *state;
	const char *src;
	int sport;
	const char *dst;
	int dport;
	const char *dir; /* "" unknown */
	int64_t pid; /* N unknown; uid is 1000 when the pid is known */
	const char *comm; /* "" unknown */
	int64_t sent, recv, retrans, rtt, rttvar; /* N unknown; segs are sent/100, recv/100 */
};

/*
 * The connections, by first row (first, last minute; closed; the latest known values):
 *   A host cookie 101 tcp 10.0.0.5:40000 -> 93.184.216.34:443 out curl 1001
 *     10-75 closed, state CLOSE, sent 8100, recv 150100, retrans 3 (max 3), rtt 12340 (max
 *     35500), rttvar 3000, 4 rows. The close row has no process: pid, comm from the rows before.
 *   D host cookie 104 udp 10.0.0.5:5353 -> 10.0.0.1:53 out systemd-resolve 400
 *     12-13 closed, state CLOSE (the close row of minute 13 was written before the sample of
 *     the same minute, and still counts as the later one), no counters, no RTT, 3 rows.
 *   B host cookie 102 tcp 10.0.0.5:443 <- 198.51.100.7:55555 in nginx 2002
 *     15-16 open, sent 2000, recv 600, retrans 9, rtt 81234 (max 81234), rttvar 20000, 2 rows.
 *   C host cookie 103 tcp 127.0.0.1:40001 -> 127.0.0.1:5432 local psql 3003
 *     30-31 closed, sent 350, recv 450, retrans 0, rtt 260, rttvar 100, 2 rows.
 *   E1 ctr no cookie tcp 10.0.0.8:41000 -> 198.51.100.9:22 out ssh 5005
 *     40-50 closed, sent 950, recv 1350, retrans 1, rtt 30000 (max 40000), rttvar 9000, 3 rows.
 *   H ctr cookie 108 tcp 10.0.0.8:8080 <- 10.0.0.9:33000, no direction, no process
 *     55-55 open, sent 10, recv 20, retrans 0, rtt 1000, rttvar 500, 1 row.
 *   F host cookie 106 tcp [2001:db8::5]:50000 -> [2001:db8:1::80]:443 out wget 6006
 *     72-73 open, sent 4000, recv 1000000, retrans 2, rtt 90000 (max 100000), rttvar 40000.
 *   E2 ctr no cookie, E1's tuple again after E1's close, ssh 5006
 *     80-85 open, sent 200, recv 200, retrans 5, rtt 55000 (max 60000), rttvar 15000.
 *   G host cookie 103 again (C's, after C's close) tcp 10.0.0.5:40500 -> 203.0.113.5:80 out apt
 *     7007: 90-95 open, sent 200, recv 90000, retrans 4, rtt 25000, rttvar 6000.
 * By retransmissions: B 9, E2 5, G 4, A 3, F 2, E1 1 (C and H 0, D none).
 * By RTT (max): F 100000, B 81234, E2 60000, E1 40000, A 35500, G 25000, H 1000, C 260 (D none).
 */
static const struct sock_row rows[] = {
	/* First partition: minutes 0-59. */
	{ 10, "open", NS_HOST, 101, 6, "ESTABLISHED", "10.0.0.5", 40000, "93.184.216.34", 443,
	  "out", 1001, "curl", 100, 200, 0, 20000, 5000 },
	{ 12, "open", NS_HOST, 104, 17, "ESTABLISHED", "10.0.0.5", 5353, "10.0.0.1", 53, "out", 400,
	  "systemd-resolve", N, N, N, N, N },
	{ 13, "close", NS_HOST, 104, 17, "CLOSE", "10.0.0.5", 5353, "10.0.0.1", 53, "out", 400,
	  "systemd-resolve", N, N, N, N, N },
	{ 13, "sample", NS_HOST, 104, 17, "ESTABLISHED", "10.0.0.5", 5353, "10.0.0.1", 53, "out",
	  400, "systemd-resolve", N, N, N, N, N },
	{ 15, "open", NS_HOST, 102, 6, "ESTABLISHED", "10.0.0.5", 443, "198.51.100.7", 55555, "in",
	  2002, "nginx", 1000, 500, 7, 80000, 20000 },
	{ 16, "sample", NS_HOST, 102, 6, "ESTABLISHED", "10.0.0.5", 443, "198.51.100.7", 55555,
	  "in", 2002, "nginx", 2000, 600, 9, 81234, 20000 },
	{ 20, "sample", NS_HOST, 101, 6, "ESTABLISHED", "10.0.0.5", 40000, "93.184.216.34", 443,
	  "out", 1001, "curl", 5000, 90000, 2, 35500, 8000 },
	{ 30, "open", NS_HOST, 103, 6, "ESTABLISHED", "127.0.0.1", 40001, "127.0.0.1", 5432,
	  "local", 3003, "psql", 300, 400, 0, 260, 100 },
	{ 31, "close", NS_HOST, 103, 6, "CLOSE", "127.0.0.1", 40001, "127.0.0.1", 5432, "local",
	  3003, "psql", 350, 450, 0, 260, 100 },
	{ 40, "open", NS_CTR, 0, 6, "ESTABLISHED", "10.0.0.8", 41000, "198.51.100.9", 22, "out",
	  5005, "ssh", 500, 700, 0, 40000, 10000 },
	{ 45, "sample", NS_CTR, 0, 6, "ESTABLISHED", "10.0.0.8", 41000, "198.51.100.9", 22, "out",
	  5005, "ssh", 900, 1300, 1, 30000, 9000 },
	{ 50, "close", NS_CTR, 0, 6, "CLOSE", "10.0.0.8", 41000, "198.51.100.9", 22, "out", 5005,
	  "ssh", 950, 1350, 1, 30000, 9000 },
	{ 55, "open", NS_CTR, 108, 6, "ESTABLISHED", "10.0.0.8", 8080, "10.0.0.9", 33000, "", N, "",
	  10, 20, 0, 1000, 500 },
	/* Second partition (left open): minutes 60-119. */
	{ 70, "sample", NS_HOST, 101, 6, "ESTABLISHED", "10.0.0.5", 40000, "93.184.216.34", 443,
	  "out", 1001, "curl", 8000, 150000, 3, 12340, 3000 },
	{ 72, "open", NS_HOST, 106, 6, "ESTABLISHED", "2001:db8::5", 50000, "2001:db8:1::80", 443,
	  "out", 6006, "wget", 0, 0, 2, 100000, 50000 },
	{ 73, "sample", NS_HOST, 106, 6, "ESTABLISHED", "2001:db8::5", 50000, "2001:db8:1::80", 443,
	  "out", 6006, "wget", 4000, 1000000, 2, 90000, 40000 },
	{ 75, "close", NS_HOST, 101, 6, "CLOSE", "10.0.0.5", 40000, "93.184.216.34", 443, "out", N,
	  "", 8100, 150100, 3, 12340, 3000 },
	{ 80, "open", NS_CTR, 0, 6, "ESTABLISHED", "10.0.0.8", 41000, "198.51.100.9", 22, "out",
	  5006, "ssh", 100, 100, 5, 60000, 15000 },
	{ 85, "sample", NS_CTR, 0, 6, "ESTABLISHED", "10.0.0.8", 41000, "198.51.100.9", 22, "out",
	  5006, "ssh", 200, 200, 5, 55000, 15000 },
	{ 90, "open", NS_HOST, 103, 6, "ESTABLISHED", "10.0.0.5", 40500, "203.0.113.5", 80, "out",
	  7007, "apt", 100, 5000, 4, 25000, 6000 },
	{ 95, "sample", NS_HOST, 103, 6, "ESTABLISHED", "10.0.0.5", 40500, "203.0.113.5", 80, "out",
	  7007, "apt", 200, 90000, 4, 25000, 6000 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static void make_record(struct nr_record *r, size_t i)
{
	const struct sock_row *s = &rows[i];
	struct nr_rec_socket *k = &r->sock;

	memset(r, 0, sizeof(*r));
	r->table = NR_T_SOCKETS;
	r->source = NR_SRC_SOCKETS;
	k->ts_ns = at_min(s->min);
	snprintf(k->kind, sizeof(k->kind), "%s", s->kind);
	k->netns = s->netns;
	k->proto = s->proto;
	snprintf(k->state, sizeof(k->state), "%s", s->state);
	assert_int_equal(nr_addr_parse(s->src, &k->src), 0);
	assert_int_equal(nr_addr_parse(s->dst, &k->dst), 0);
	k->sport = (uint16_t)s->sport;
	k->dport = (uint16_t)s->dport;
	snprintf(k->direction, sizeof(k->direction), "%s", s->dir);
	k->cookie = s->cookie;
	k->uid = s->pid == N ? N : 1000;
	k->pid = s->pid;
	snprintf(k->comm, sizeof(k->comm), "%s", s->comm);
	k->bytes_sent = s->sent;
	k->bytes_received = s->recv;
	k->segs_out = s->sent == N ? N : s->sent / 100;
	k->segs_in = s->recv == N ? N : s->recv / 100;
	k->retrans = s->retrans;
	k->rtt_us = s->rtt;
	k->rttvar_us = s->rttvar;
	k->cwnd = N;
}

static int group_setup(void **state)
{
	return store_setup(state, NROWS, make_record);
}

static void assert_times(const struct csv *c, const char *col, const int *mins)
{
	char *want = ns_list(mins);

	assert_column(c, col, want);
	free(want);
}

/* ---- sockets ---------------------------------------------------------------------------- */

/* Every connection, oldest first: open, sample and close rows grouped, latest values. */
static void test_sockets_all(void **state)
{
	static const int first[] = { 10, 12, 15, 30, 40, 55, 72, 80, 90, -1 };
	static const int last[] = { 75, 13, 16, 31, 50, 55, 73, 85, 95, -1 };
	struct csv c = CSV("sockets");

	(void)state;
	assert_int_equal(c.nrows, 1 + 9);
	assert_int_equal(c.ncols, 25);
	assert_times(&c, "first_ns", first);
	assert_times(&c, "last_ns", last);
	assert_column(&c, "first", "2023-11-14T22:10:00.000Z|2023-11-14T22:12:00.000Z|"
				   "2023-11-14T22:15:00.000Z|2023-11-14T22:30:00.000Z|"
				   "2023-11-14T22:40:00.000Z|2023-11-14T22:55:00.000Z|"
				   "2023-11-14T23:12:00.000Z|2023-11-14T23:20:00.000Z|"
				   "2023-11-14T23:30:00.000Z");
	assert_column(&c, "closed", "1|1|0|1|1|0|0|0|0");
	assert_column(&c, "netns", "4026531840|4026531840|4026531840|4026531840|4026532001|"
				   "4026532001|4026531840|4026532001|4026531840");
	/* Without a cookie, E1 and E2 are told apart by E1's close row; cookie 103 came back. */
	assert_column(&c, "cookie", "101|104|102|103||108|106||103");
	assert_column(&c, "proto", "6|17|6|6|6|6|6|6|6");
	/* D: the close row of minute 13 is the later one, though written first. */
	assert_column(&c, "state", "CLOSE|CLOSE|ESTABLISHED|CLOSE|CLOSE|ESTABLISHED|ESTABLISHED|"
				   "ESTABLISHED|ESTABLISHED");
	assert_column(&c, "src", "10.0.0.5|10.0.0.5|10.0.0.5|127.0.0.1|10.0.0.8|10.0.0.8|"
				 "2001:db8::5|10.0.0.8|10.0.0.5");
	assert_column(&c, "sport", "40000|5353|443|40001|41000|8080|50000|41000|40500");
	assert_column(&c, "dst", "93.184.216.34|10.0.0.1|198.51.100.7|127.0.0.1|198.51.100.9|"
				 "10.0.0.9|2001:db8:1::80|198.51.100.9|203.0.113.5");
	assert_column(&c, "dport", "443|53|55555|5432|22|33000|443|22|80");
	assert_column(&c, "direction", "out|out|in|local|out||out|out|out");
	/* A's close row has no process: the latest known one. */
	assert_column(&c, "pid", "1001|400|2002|3003|5005||6006|5006|7007");
	assert_column(&c, "uid", "1000|1000|1000|1000|1000||1000|1000|1000");
	assert_column(&c, "comm", "curl|systemd-resolve|nginx|psql|ssh||wget|ssh|apt");
	/* The counters of each connection's last row. */
	assert_column(&c, "bytes_sent", "8100||2000|350|950|10|4000|200|200");
	assert_column(&c, "bytes_received", "150100||600|450|1350|20|1000000|200|90000");
	assert_column(&c, "segs_out", "81||20|3|9|0|40|2|2");
	assert_column(&c, "segs_in", "1501||6|4|13|0|10000|2|900");
	assert_column(&c, "retrans", "3||9|0|1|0|2|5|4");
	assert_column(&c, "rtt_us", "12340||81234|260|30000|1000|90000|55000|25000");
	assert_column(&c, "rttvar_us", "3000||20000|100|9000|500|40000|15000|6000");
	assert_column(&c, "rows", "4|3|2|2|3|1|2|2|2");
	csv_free(&c);
}

/* sockets FILTER: the cookies (connections) and their row counts. */
static void check_sockets(const char *filter, const char *want_cookie, const char *want_rows)
{
	struct csv c = CSV("sockets", filter);

	assert_column(&c, "cookie", want_cookie);
	assert_column(&c, "rows", want_rows);
	csv_free(&c);
}

static void test_sockets_filter(void **state)
{
	struct csv c;

	(void)state;
	check_sockets("host 10.0.0.5", "101|104|102|103", "4|3|2|2");
	check_sockets("src host 127.0.0.1 and dst port 5432", "103", "2");
	check_sockets("net 2001:db8::/32", "106", "2");
	check_sockets("proto udp", "104", "3");
	check_sockets("port 22", "|", "3|2");
	check_sockets("direction in", "102", "2");
	check_sockets("DIRECTION Local", "103", "2");
	check_sockets("direction out", "101|104||106||103", "4|3|3|2|2|2");
	/* H has no direction: "not" keeps it. */
	check_sockets("not direction out", "102|103|108", "2|2|1");
	check_sockets("pid 2002", "102", "2");
	check_sockets("comm systemd-resolve", "104", "3");
	check_sockets("pid 5006 or comm wget", "106|", "2|2");
	/* The filter selects rows: A's close row has no process, so "comm curl" sees A without
	 * it, as a connection still open at minute 70. */
	c = CSV("sockets", "comm", "curl");
	assert_column(&c, "rows", "3");
	assert_column(&c, "closed", "0");
	assert_column(&c, "state", "ESTABLISHED");
	assert_column(&c, "bytes_sent", "8000");
	assert_column(&c, "retrans", "3");
	csv_free(&c);
	/* Nothing matches. */
	c = CSV("sockets", "comm", "Curl");
	assert_int_equal(c.nrows, 1);
	csv_free(&c);
}

static void test_sockets_time_range(void **state)
{
	static const int first[] = { 70, 72, 80, 90, -1 };
	char *since = at_arg(60), *until = at_arg(14);
	struct csv c;

	(void)state;
	/* Only the rows in the range: A from its sample at 70, with its close. */
	c = CSV("--since", since, "sockets");
	assert_times(&c, "first_ns", first);
	assert_column(&c, "cookie", "101|106||103");
	assert_column(&c, "closed", "1|0|0|0");
	assert_column(&c, "rows", "2|2|2|2");
	csv_free(&c);
	/* Up to minute 14: A's first row only, D's three rows. */
	c = CSV("--until", until, "sockets");
	assert_column(&c, "cookie", "101|104");
	assert_column(&c, "closed", "0|1");
	assert_column(&c, "bytes_sent", "100|");
	assert_column(&c, "rtt_us", "20000|");
	csv_free(&c);
	/* Both. */
	c = CSV("--since", until, "--until", since, "sockets", "host", "10.0.0.5");
	assert_column(&c, "cookie", "102|101");
	assert_column(&c, "rows", "2|1");
	csv_free(&c);
	free(since);
	free(until);
}

static void test_sockets_table(void **state)
{
	struct result r;

	(void)state;
	r = run("sockets", "direction", "in", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(
		r.out,
		"first                     last                      closed       netns  proto  state "
		"       local         remote              direction   pid  comm   sent  received  "
		"retrans  rtt_ms\n"
		"------------------------  ------------------------  ------  ----------  -----  "
		"-----------  ------------  ------------------  ---------  ----  -----  ----  "
		"--------  -------  ------\n"
		"2023-11-14T22:15:00.000Z  2023-11-14T22:16:00.000Z  no      4026531840  tcp    "
		"ESTABLISHED  10.0.0.5:443  198.51.100.7:55555  in         2002  nginx  2000       "
		"600        9    81.2\n");
	result_free(&r);
	/* IPv6 endpoints in brackets, UDP without RTT, a connection without a process. */
	r = run("sockets", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "[2001:db8::5]:50000  [2001:db8:1::80]:443");
	assert_has(r.out, "  udp    CLOSE        10.0.0.5:5353        10.0.0.1:53 ");
	assert_has(r.out, "127.0.0.1:40001      127.0.0.1:5432        local ");
	assert_has(r.out, " yes ");
	assert_has(r.out, " ESTABLISHED  10.0.0.8:8080        10.0.0.9:33000        "
			  "                                    10        20        0     1.0\n");
	result_free(&r);
	r = run("--raw", "sockets", "pid", "3003", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "           first_ns              last_ns  closed");
	assert_has(r.out, "1700001000000000000  1700001060000000000  yes ");
	result_free(&r);
	r = run("-f", "ndjson", "sockets", "pid", "3003", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
			    "{\"first_ns\":1700001000000000000,\"last_ns\":1700001060000000000,"
			    "\"first\":\"2023-11-14T22:30:00.000Z\",\"last\":\"2023-11-14T22:31:00.000Z\","
			    "\"closed\":1,\"netns\":4026531840,\"cookie\":103,\"proto\":6,"
			    "\"state\":\"CLOSE\",\"src\":\"127.0.0.1\",\"sport\":40001,"
			    "\"dst\":\"127.0.0.1\",\"dport\":5432,\"direction\":\"local\",\"uid\":1000,"
			    "\"pid\":3003,\"comm\":\"psql\",\"bytes_sent\":350,\"bytes_received\":450,"
			    "\"segs_out\":3,\"segs_in\":4,\"retrans\":0,\"rtt_us\":260,"
			    "\"rttvar_us\":100,\"rows\":2}\n");
	result_free(&r);
}

/* ---- retrans ---------------------------------------------------------------------------- */

static void test_retrans(void **state)
{
	char *since = at_arg(60);
	struct csv c;

	(void)state;
	/* Connections without retransmissions (C, H) or without the counter (D) are left out. */
	c = CSV("retrans");
	assert_int_equal(c.ncols, 26);
	assert_column(&c, "rank", "1|2|3|4|5|6");
	assert_column(&c, "comm", "nginx|ssh|apt|curl|wget|ssh");
	assert_column(&c, "pid", "2002|5006|7007|1001|6006|5005");
	assert_column(&c, "retrans", "9|5|4|3|2|1");
	assert_column(&c, "closed", "0|0|0|1|0|1");
	assert_column(&c, "bytes_sent", "2000|200|200|8100|4000|950");
	assert_column(&c, "rtt_us", "81234|55000|25000|12340|90000|30000");
	csv_free(&c);
	c = CSV("retrans", "-n", "3");
	assert_column(&c, "rank", "1|2|3");
	assert_column(&c, "retrans", "9|5|4");
	csv_free(&c);
	/* -n after the filter, and its other spellings. */
	c = CSV("retrans", "host", "10.0.0.5", "-n", "2");
	assert_column(&c, "cookie", "102|103");
	assert_column(&c, "retrans", "9|4");
	csv_free(&c);
	c = CSV("retrans", "-n1", "host 10.0.0.5");
	assert_column(&c, "cookie", "102");
	csv_free(&c);
	c = CSV("retrans", "-n=1000000000", "proto", "udp");
	assert_int_equal(c.nrows, 1);
	csv_free(&c);
	/* The range: A's rows from minute 70 still have 3. */
	c = CSV("--since", since, "retrans");
	assert_column(&c, "comm", "ssh|apt|curl|wget");
	assert_column(&c, "retrans", "5|4|3|2");
	assert_column(&c, "rows", "2|2|2|2");
	csv_free(&c);
	free(since);
}

static void test_retrans_table(void **state)
{
	struct result r = run("retrans", "-n", "2", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_has(r.out, "rank  first                     last                      closed  ");
	assert_has(r.out, "   1  2023-11-14T22:15:00.000Z  2023-11-14T22:16:00.000Z  no  ");
	assert_has(r.out, "   2  2023-11-14T23:20:00.000Z  2023-11-14T23:25:00.000Z  no  ");
	assert_has(r.out, "10.0.0.8:41000  198.51.100.9:22     out        5006  ssh  ");
	assert_has(r.out, "        5    55.0\n");
	result_free(&r);
	r = run("-f", "json", "retrans", "-n", "1", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
			    "[\n{\"rank\":1,\"first_ns\":1700000100000000000,"
			    "\"last_ns\":1700000160000000000,\"first\":\"2023-11-14T22:15:00.000Z\","
			    "\"last\":\"2023-11-14T22:16:00.000Z\",\"closed\":0,\"netns\":4026531840,"
			    "\"cookie\":102,\"proto\":6,\"state\":\"ESTABLISHED\",\"src\":\"10.0.0.5\","
			    "\"sport\":443,\"dst\":\"198.51.100.7\",\"dport\":55555,"
			    "\"direction\":\"in\",\"uid\":1000,\"pid\":2002,\"comm\":\"nginx\","
			    "\"bytes_sent\":2000,\"bytes_received\":600,\"segs_out\":20,\"segs_in\":6,"
			    "\"retrans\":9,\"rtt_us\":81234,\"rttvar_us\":20000,\"rows\":2}\n]\n");
	result_free(&r);
}

/* ---- rtt -------------------------------------------------------------------------------- */

static void test_rtt(void **state)
{
	struct csv c;

	(void)state;
	/* By the largest RTT of each connection; D has none. */
	c = CSV("rtt");
	assert_int_equal(c.ncols, 27);
	assert_column(&c, "rank", "1|2|3|4|5|6|7|8");
	assert_column(&c, "comm", "wget|nginx|ssh|ssh|curl|apt||psql");
	assert_column(&c, "max_rtt_us", "100000|81234|60000|40000|35500|25000|1000|260");
	/* The latest RTT and its variance. */
	assert_column(&c, "rtt_us", "90000|81234|55000|30000|12340|25000|1000|260");
	assert_column(&c, "rttvar_us", "40000|20000|15000|9000|3000|6000|500|100");
	csv_free(&c);
	c = CSV("rtt", "-n", "2");
	assert_column(&c, "cookie", "106|102");
	csv_free(&c);
	c = CSV("rtt", "-n2", "net", "10.0.0.0/8");
	assert_column(&c, "comm", "nginx|ssh");
	assert_column(&c, "pid", "2002|5006");
	csv_free(&c);
	c = CSV("rtt", "proto", "udp");
	assert_int_equal(c.nrows, 1);
	csv_free(&c);
	c = CSV("rtt", "port", "22");
	assert_column(&c, "pid", "5006|5005");
	assert_column(&c, "max_rtt_us", "60000|40000");
	csv_free(&c);
}

static void test_rtt_table(void **state)
{
	struct result r = run("rtt", "-n", "1", NULL);

	(void)state;
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(
		r.out,
		"rank  first                     last                      closed       netns  proto  "
		"state        local                remote                direction   pid  comm  "
		"sent  received  retrans  max_rtt_ms  rtt_ms  rttvar_ms\n"
		"----  ------------------------  ------------------------  ------  ----------  -----  "
		"-----------  -------------------  --------------------  ---------  ----  ----  ----  "
		"--------  -------  ----------  ------  ---------\n"
		"   1  2023-11-14T23:12:00.000Z  2023-11-14T23:13:00.000Z  no      4026531840  tcp    "
		"ESTABLISHED  [2001:db8::5]:50000  [2001:db8:1::80]:443  out        6006  wget  4000  "
		" 1000000        2       100.0    90.0       40.0\n");
	result_free(&r);
	/* 0.1 ms precision: 81234 us, 12340 us, 260 us. */
	r = run("rtt", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.out, "81.2    81.2       20.0\n");
	assert_has(r.out, "35.5    12.3        3.0\n");
	assert_has(r.out, "0.3     0.3        0.1\n");
	result_free(&r);
}

/* ---- the plan and bad input -------------------------------------------------------------- */

/* A filter on an address is one lookup per address index, not a scan of every row. */
static void test_address_uses_indexes(void **state)
{
	static const char *const cmds[] = { "sockets", "retrans", "rtt" };
	struct nr_catalog_opts o = { .data_dir = tmpdir, .since_ns = NR_TIME_MIN,
				     .until_ns = NR_TIME_MAX };
	struct nr_cli cli = { .fmt = NR_FMT_TABLE, .out_flags = NR_OUT_HUMAN_TIME };
	char *argv[] = { (char *)"host 10.0.0.5 and pid 2002" };
	struct nr_sql_expr e = { 0 };
	struct nr_catalog *c = NULL;
	struct nr_filter *f = NULL;
	char err[256];

	(void)state;
	assert_int_equal(nr_catalog_open(&o, &c, err, sizeof(err)), 0);
	assert_int_equal(nr_filter_parse(1, argv, &f, err, sizeof(err)), 0);
	assert_int_equal(nr_filter_compile(f, nr_cli_filter_cols("sockets"), &e, err, sizeof(err)),
			 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *sql = nr_sockets_report_sql(&cli, cmds[i], e.sql, 10);
		char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
		char *plan = NULL;
		size_t len = 0;
		FILE *pf = open_memstream(&plan, &len);
		sqlite3_stmt *st;

		assert_non_null(pf);
		assert_int_equal(sqlite3_prepare_v2(nr_catalog_db(c), q, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			fprintf(pf, "%s|", (const char *)sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
		fclose(pf);
		if (!strstr(plan, "MULTI-INDEX OR"))
			fail_msg("%s: no index lookups: %s", cmds[i], plan);
		free(plan);
		sqlite3_free(q);
		sqlite3_free(sql);
	}
	assert_null(nr_sockets_report_sql(&cli, "flows", "1", 10));
	nr_sql_expr_clear(&e);
	nr_filter_free(f);
	nr_catalog_free(c);
}

static void test_bad_input(void **state)
{
	struct result r;

	(void)state;
	r = run("sockets", "--bogus", NULL);
	assert_non_null(strstr(r.err, "sockets: unknown option '--bogus' (it takes a filter only)"));
	expect_usage("sockets unknown option", r);
	expect_usage("sockets -n", run("sockets", "-n", "5", NULL));
	r = run("retrans", "--limit", "5", NULL);
	assert_non_null(strstr(r.err, "retrans: unknown option '--limit' (options: -n; then the "
				      "filter)"));
	expect_usage("retrans unknown option", r);
	expect_usage("rtt unknown option", run("rtt", "-x", NULL));
	r = run("retrans", "-n", "0", NULL);
	assert_non_null(strstr(r.err, "retrans: -n needs a number from 1 to 1000000000, got '0'"));
	expect_usage("retrans -n 0", r);
	r = run("rtt", "-n", NULL);
	assert_non_null(strstr(r.err, "rtt: -n needs a number from 1 to 1000000000"));
	expect_usage("rtt -n without value", r);
	expect_usage("rtt -n x", run("rtt", "-nx", NULL));
	expect_usage("rtt -n -1", run("rtt", "-n", "-1", NULL));
	expect_usage("retrans -n too big", run("retrans", "-n", "1000000001", NULL));
	expect_usage("retrans -n=", run("retrans", "-n=", NULL));
	expect_usage("retrans -n twice, bad", run("retrans", "-n", "2", "host 10.0.0.5", "-n", "y",
						   NULL));
	r = run("sockets", "hots", "10.0.0.1", NULL);
	assert_non_null(strstr(r.err, "sockets: filter: unknown word 'hots'"));
	expect_usage("bad filter", r);
	r = run("sockets", "dir", "egress", NULL);
	assert_non_null(strstr(r.err, "sockets: filter: 'dir' does not apply to table sockets"));
	expect_usage("dir", r);
	r = run("rtt", "iface", "eth0", NULL);
	assert_non_null(strstr(r.err, "rtt: filter: 'iface' does not apply to table sockets"));
	expect_usage("iface", r);
	r = run("retrans", "event", "new", NULL);
	assert_non_null(strstr(r.err, "'event' does not apply to table sockets"));
	expect_usage("event", r);
	r = run("sockets", "direction", "ingress", NULL);
	assert_non_null(strstr(r.err, "'direction' needs in, out or local, got 'ingress'"));
	expect_usage("bad direction", r);
	r = run("sockets", "pid", "0", NULL);
	assert_non_null(strstr(r.err, "'pid' needs a process id"));
	expect_usage("bad pid", r);
	r = run("sockets", "comm", "systemd-resolved", NULL);
	assert_non_null(strstr(r.err, "'comm' needs a process name (at most 15 characters)"));
	expect_usage("long comm", r);
	expect_usage("control bytes", run("retrans", "-n", "\x1b[2J\n", NULL));
	expect_usage("control bytes in an option", run("sockets", "-\x1b[2J\n", NULL));
}

/* export takes the new words too: sockets filtered, the tables without them in full. */
static void test_export_filter(void **state)
{
	char *out = path_in(tmpdir, "export.db");
	struct result r;
	struct csv c;

	(void)state;
	r = run("export", "-o", out, "pid", "1001", NULL);
	assert_int_equal(r.status, 0);
	assert_has(r.err, "note: filter: 'pid' does not apply to table flows; flows exported "
			  "unfiltered");
	assert_has(r.err, "note: filter: 'pid' does not apply to table conntrack");
	result_free(&r);
	c = CSV("--db", out, "sql", "SELECT count(*) AS n, max(bytes_sent) AS sent FROM sockets");
	assert_column(&c, "n", "3");
	assert_column(&c, "sent", "8000");
	csv_free(&c);
	assert_int_equal(unlink(out), 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockets_all),
		cmocka_unit_test(test_sockets_filter),
		cmocka_unit_test(test_sockets_time_range),
		cmocka_unit_test(test_sockets_table),
		cmocka_unit_test(test_retrans),
		cmocka_unit_test(test_retrans_table),
		cmocka_unit_test(test_rtt),
		cmocka_unit_test(test_rtt_table),
		cmocka_unit_test(test_address_uses_indexes),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_export_filter),
	};

	return cmocka_run_group_tests(tests, group_setup, tmpdir_teardown);
}
