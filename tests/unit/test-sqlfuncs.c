// SPDX-License-Identifier: MIT
/*
 * query/sqlfuncs: in_cidr, ts_iso, ns, proto_name and max_sum run through real SQL (NULLs,
 * bad and hostile arguments, family mismatch, prefix edges, the per-statement prefix cache,
 * key types, many keys per group), the registration flags SQLite enforces, and the protocol
 * name table.
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

#include "nrtime.h"
#include "sqlfuncs.h"

static sqlite3 *db;

static int db_setup(void **state)
{
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(nr_sqlfuncs_register(db), 0);
	return 0;
}

static int db_teardown(void **state)
{
	sqlite3_close(db);
	db = NULL;
	return 0;
}

/*
 * The first column of the first row of @sql as text: the value, "NULL", or "error: <msg>".
 * The result is in a static buffer.
 */
static const char *q(const char *sql)
{
	static char out[512];
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		snprintf(out, sizeof(out), "error: %s", sqlite3_errmsg(db));
		return out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			snprintf(out, sizeof(out), "NULL");
		else
			snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
	} else if (rc == SQLITE_DONE) {
		snprintf(out, sizeof(out), "no row");
	} else {
		snprintf(out, sizeof(out), "error: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return out;
}

#define check(sql, want)                                                                   \
	do {                                                                               \
		const char *got_ = q(sql);                                                 \
		if (strcmp(got_, (want)) != 0)                                             \
			fail_msg("%s\n got  %s\n want %s", (sql), got_, (want));           \
	} while (0)

static void test_in_cidr(void **state)
{
	check("SELECT in_cidr('10.1.2.3', '10.0.0.0/8')", "1");
	check("SELECT in_cidr('11.0.0.1', '10.0.0.0/8')", "0");
	check("SELECT in_cidr('10.1.2.3', '10.9.9.9/8')", "1"); /* host bits ignored */
	check("SELECT in_cidr('10.0.0.7', '10.0.0.0/29')", "1");
	check("SELECT in_cidr('10.0.0.8', '10.0.0.0/29')", "0");
	/* /0, /32, /128 */
	check("SELECT in_cidr('1.2.3.4', '0.0.0.0/0')", "1");
	check("SELECT in_cidr('255.255.255.255', '0.0.0.0/0')", "1");
	check("SELECT in_cidr('10.0.0.1', '10.0.0.1/32')", "1");
	check("SELECT in_cidr('10.0.0.2', '10.0.0.1/32')", "0");
	check("SELECT in_cidr('10.0.0.1', '10.0.0.1')", "1");
	check("SELECT in_cidr('2001:db8::1', '2001:db8::1/128')", "1");
	check("SELECT in_cidr('2001:db8::1', '2001:db8::/128')", "0");
	check("SELECT in_cidr('2001:db8::1', '2001:DB8::1')", "1");
	check("SELECT in_cidr('ffff::1', '::/0')", "1");
	check("SELECT in_cidr('2001:db8:ffff::1', '2001:db8::/32')", "1");
	check("SELECT in_cidr('2001:db9::1', '2001:db8::/32')", "0");
	/* The address text need not be canonical. */
	check("SELECT in_cidr('2001:0DB8:0000::0001', '2001:db8::/32')", "1");
	/* Families never mix. */
	check("SELECT in_cidr('::1', '0.0.0.0/0')", "0");
	check("SELECT in_cidr('10.0.0.1', '::/0')", "0");
	check("SELECT in_cidr('::ffff:10.0.0.1', '10.0.0.0/8')", "0");
	/* NULL in, NULL out. */
	check("SELECT in_cidr(NULL, '10.0.0.0/8')", "NULL");
	check("SELECT in_cidr('10.0.0.1', NULL)", "NULL");
	check("SELECT in_cidr(NULL, NULL)", "NULL");
	check("SELECT in_cidr(NULL, 'garbage')", "NULL");
	/* An invalid address is 0. */
	check("SELECT in_cidr('', '0.0.0.0/0')", "0");
	check("SELECT in_cidr('garbage', '0.0.0.0/0')", "0");
	check("SELECT in_cidr(' 10.0.0.1', '0.0.0.0/0')", "0");
	check("SELECT in_cidr('10.0.0.1/8', '0.0.0.0/0')", "0");
	check("SELECT in_cidr(167772161, '0.0.0.0/0')", "0");
	check("SELECT in_cidr(1.5, '0.0.0.0/0')", "0");
	check("SELECT in_cidr(x'0a000001', '0.0.0.0/0')", "0");
	/* An embedded NUL must not make "10.0.0.1<NUL>junk" read as 10.0.0.1. */
	check("SELECT in_cidr(CAST(x'31302e302e302e3100414243' AS TEXT), '0.0.0.0/0')", "0");
	check("SELECT in_cidr(x'31302e302e302e31', '0.0.0.0/0')", "1"); /* blob "10.0.0.1" */
}

static void test_in_cidr_errors(void **state)
{
	check("SELECT in_cidr('10.0.0.1', '10.0.0.0/33')",
	      "error: in_cidr: invalid CIDR '10.0.0.0/33'");
	check("SELECT in_cidr('10.0.0.1', 'garbage')", "error: in_cidr: invalid CIDR 'garbage'");
	check("SELECT in_cidr('10.0.0.1', '')", "error: in_cidr: invalid CIDR ''");
	check("SELECT in_cidr('10.0.0.1', '2001:db8::/129')",
	      "error: in_cidr: invalid CIDR '2001:db8::/129'");
	check("SELECT in_cidr('10.0.0.1', 8)", "error: in_cidr: invalid CIDR '8'");
	check("SELECT in_cidr('10.0.0.1', CAST(x'31302e302e302e302f3800' AS TEXT))",
	      "error: in_cidr: invalid CIDR '10.0.0.0/8?'");
	/* Control bytes and length in the message are tamed. */
	check("SELECT in_cidr('10.0.0.1', char(27) || '[2J' || char(10))",
	      "error: in_cidr: invalid CIDR '?[2J?'");
	check("SELECT in_cidr('10.0.0.1', printf('%.100c', 'x'))",
	      "error: in_cidr: invalid CIDR 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
	check("SELECT in_cidr('10.0.0.1')", "error: wrong number of arguments to function in_cidr()");
}

/* Hostile addresses: huge, binary, control bytes, near-misses. Never a crash, always 0. */
static void test_in_cidr_hostile(void **state)
{
	check("SELECT in_cidr(printf('%.100000c', '1'), '0.0.0.0/0')", "0");
	check("SELECT in_cidr(zeroblob(100000), '::/0')", "0");
	check("SELECT in_cidr(randomblob(46), '::/0')", "0");
	check("SELECT in_cidr('10.0.0.1' || char(0), '0.0.0.0/0')", "0");
	check("SELECT in_cidr('10.0.0.1%eth0', '0.0.0.0/0')", "0");
	check("SELECT in_cidr('fe80::1%eth0', '::/0')", "0");
	check("SELECT in_cidr('ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255x', '::/0')", "0");
	check("SELECT in_cidr('ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', '::/0')", "1");
	check("SELECT in_cidr(char(0x1b, 0x5b, 0x32, 0x4a), '::/0')", "0");
	check("SELECT in_cidr('é', '::/0')", "0");
}

/* Over rows: a bound prefix, a per-row prefix (the cache must follow it), and NULLs. */
static void test_in_cidr_rows(void **state)
{
	sqlite3_stmt *st = NULL;
	int i;

	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE t (a TEXT, c TEXT);"
				      "INSERT INTO t VALUES ('10.0.0.1', '10.0.0.0/8'),"
				      " ('192.168.1.1', '10.0.0.0/8'), ('192.168.1.1', '192.168.0.0/16'),"
				      " ('2001:db8::1', '2001:db8::/32'), ('2001:db8::1', '10.0.0.0/8'),"
				      " (NULL, '10.0.0.0/8'), ('10.0.0.1', NULL);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	check("SELECT group_concat(coalesce(in_cidr(a, c), 'N'), ',') FROM t", "1,0,1,1,0,N,N");
	check("SELECT group_concat(coalesce(in_cidr(a, '10.0.0.0/8'), 'N'), ',') FROM t",
	      "1,0,0,0,0,N,1");
	check("SELECT count(*) FROM t WHERE in_cidr(a, '::/0')", "2");

	/* A bound parameter, rebound between runs. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE in_cidr(a, ?)", -1,
					    &st, NULL),
			 SQLITE_OK);
	for (i = 0; i < 3; i++) {
		static const char *const cidrs[] = { "10.0.0.0/8", "192.168.1.1/32", "0.0.0.0/0" };
		static const int want[] = { 2, 2, 4 };

		assert_int_equal(sqlite3_bind_text(st, 1, cidrs[i], -1, SQLITE_STATIC), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), want[i]);
		assert_int_equal(sqlite3_reset(st), SQLITE_OK);
	}
	/* A bad prefix in a bound parameter is an error for the statement. */
	assert_int_equal(sqlite3_bind_text(st, 1, "10.0.0.0/99", -1, SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ERROR);
	assert_string_equal(sqlite3_errmsg(db), "in_cidr: invalid CIDR '10.0.0.0/99'");
	sqlite3_reset(st);
	sqlite3_finalize(st);

	/* One bad prefix among good ones fails the statement at that row. */
	assert_int_equal(sqlite3_exec(db, "INSERT INTO t VALUES ('10.0.0.1', '10.0.0.0/x')", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	check("SELECT count(*) FROM t WHERE in_cidr(a, c)", "error: in_cidr: invalid CIDR '10.0.0.0/x'");
}

/* Many rows through the cached path: the answer matches a count computed without in_cidr. */
static void test_in_cidr_many_rows(void **state)
{
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE big (a TEXT);"
				      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n"
				      " WHERE i < 99999)"
				      " INSERT INTO big SELECT printf('10.%d.%d.%d', i / 65536 % 256,"
				      " i / 256 % 256, i % 256) FROM n;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	/* 10.0.0.0/12 holds 10.0.x.x .. 10.15.x.x: all 100,000 (10.0.0.0 .. 10.1.134.159). */
	check("SELECT count(*) FROM big WHERE in_cidr(a, '10.0.0.0/12')", "100000");
	check("SELECT count(*) FROM big WHERE in_cidr(a, '10.1.0.0/16')", "34464");
	check("SELECT count(*) FROM big WHERE in_cidr(a, '10.1.134.128/25')", "32");
	check("SELECT count(*) FROM big WHERE in_cidr(a, '10.1.134.159')", "1");
}

static void test_ts_iso(void **state)
{
	check("SELECT ts_iso(0)", "1970-01-01T00:00:00.000Z");
	check("SELECT ts_iso(1700000000123456789)", "2023-11-14T22:13:20.123Z");
	check("SELECT ts_iso(-1)", "1969-12-31T23:59:59.999Z");
	check("SELECT ts_iso(9223372036854775807)", "2262-04-11T23:47:16.854Z");
	check("SELECT ts_iso(-9223372036854775807 - 1)", "1677-09-21T00:12:43.145Z");
	check("SELECT ts_iso(1.5e18)", "2017-07-14T02:40:00.000Z");
	check("SELECT ts_iso('1700000000123456789')", "2023-11-14T22:13:20.123Z");
	check("SELECT ts_iso(NULL)", "NULL");
	check("SELECT ts_iso('yesterday')", "NULL");
	check("SELECT ts_iso(x'00')", "NULL");
	check("SELECT ts_iso(1e300)", "NULL");
	check("SELECT ts_iso(-1e300)", "NULL");
}

static void test_ns(void **state)
{
	int64_t before, after, v;
	char sql[128];

	check("SELECT ns('1700000000')", "1700000000000000000");
	check("SELECT ns('@1700000000.25')", "1700000000250000000");
	check("SELECT ns('2023-11-14T22:13:20Z')", "1700000000000000000");
	check("SELECT ns('2026-11-22T03:00Z')", "1795316400000000000");
	check("SELECT ns(1700000000)", "1700000000000000000");
	check("SELECT ns(NULL)", "NULL");
	check("SELECT ns('garbage')", "error: ns: not a time 'garbage'");
	check("SELECT ns('')", "error: ns: not a time ''");
	check("SELECT ns(char(27) || 'x')", "error: ns: not a time '?x'");
	check("SELECT ns(printf('%.100000c', '1'))",
	      "error: ns: not a time '1111111111111111111111111111111111111111...'");

	before = nr_now_ns();
	v = strtoll(q("SELECT ns('now')"), NULL, 10);
	after = nr_now_ns();
	assert_true(v >= before && v <= after);

	before = nr_now_ns();
	v = strtoll(q("SELECT ns('2h ago')"), NULL, 10);
	after = nr_now_ns();
	assert_true(v >= before - 7200 * NR_NS_PER_SEC && v <= after - 7200 * NR_NS_PER_SEC);

	/* "Now" is one instant for the whole statement, however many rows it takes. */
	check("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)"
	      " SELECT count(DISTINCT ns('now')) FROM n",
	      "1");
	snprintf(sql, sizeof(sql), "SELECT ns('now') > %lld", (long long)after);
	check(sql, "1");
}

static void test_proto_name_sql(void **state)
{
	check("SELECT proto_name(6)", "tcp");
	check("SELECT proto_name(17)", "udp");
	check("SELECT proto_name(1)", "icmp");
	check("SELECT proto_name(58)", "icmp6");
	check("SELECT proto_name(132)", "sctp");
	check("SELECT proto_name(47)", "gre");
	check("SELECT proto_name(50)", "esp");
	check("SELECT proto_name(51)", "ah");
	check("SELECT proto_name(0)", "0");
	check("SELECT proto_name(255)", "255");
	check("SELECT proto_name(256)", "256");
	check("SELECT proto_name(-1)", "-1");
	check("SELECT proto_name(6 + 4294967296)", "4294967302");
	check("SELECT proto_name('6')", "tcp"); /* numeric text is a number, as in SQLite */
	check("SELECT proto_name(6.0)", "tcp");
	check("SELECT proto_name(6.5)", "NULL");
	check("SELECT proto_name('tcp')", "NULL");
	check("SELECT proto_name(NULL)", "NULL");
	check("SELECT proto_name(x'06')", "NULL");
}

/* max_sum: the largest per-key sum in each group. */
static void test_max_sum(void **state)
{
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE o (g TEXT, k1 INTEGER, k2 TEXT, v);"
				      /* Group a: key (1,x) sums to 10, (2,x) to 7, (1,y) to 9. */
				      "INSERT INTO o VALUES ('a', 1, 'x', 4), ('a', 2, 'x', 7),"
				      " ('a', 1, 'y', 9), ('a', 1, 'x', 6), ('a', 1, 'x', NULL),"
				      /* Group b: only NULL values. */
				      " ('b', 1, 'x', NULL),"
				      /* Group c: NULL keys are a key of their own. */
				      " ('c', NULL, NULL, 5), ('c', NULL, NULL, 5), ('c', 1, NULL, 8),"
				      /* Group d: a real value makes its key's sum real. */
				      " ('d', 1, 'x', 1), ('d', 1, 'x', 0.5), ('d', 2, 'x', 1);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	check("SELECT group_concat(g || '=' || coalesce(m, 'N'), ' ') FROM"
	      " (SELECT g, max_sum(v, k1, k2) AS m FROM o GROUP BY g ORDER BY g)",
	      "a=10 b=N c=10 d=1.5");
	/* One key: per k1 only. */
	check("SELECT max_sum(v, k1) FROM o WHERE g = 'a'", "19");
	/* Keys of every type; 2.0 is the key 2, '2' is another one; blobs too. */
	check("SELECT max_sum(v, k) FROM (SELECT 1 AS v, 2 AS k UNION ALL SELECT 1, 2.0"
	      " UNION ALL SELECT 5, '2' UNION ALL SELECT 1, 2.5 UNION ALL SELECT 1, x'02')",
	      "5");
	check("SELECT max_sum(v, k) FROM (SELECT 3 AS v, 2 AS k UNION ALL SELECT 1, 2.0"
	      " UNION ALL SELECT 2, '2' UNION ALL SELECT 1, 2.5 UNION ALL SELECT 1, x'02')",
	      "4");
	check("SELECT max_sum(v, k) FROM (SELECT 1 AS v, x'00' AS k UNION ALL SELECT 1, x'0000'"
	      " UNION ALL SELECT 1, x'00' UNION ALL SELECT 1, '')",
	      "2");
	/* No rows, and the wrong number of arguments. */
	check("SELECT max_sum(v, k1) FROM o WHERE 0", "NULL");
	check("SELECT max_sum(v) FROM o", "error: wrong number of arguments to function max_sum()");
	check("SELECT max_sum(1, 1, 2, 3, 4, 5, 6, 7, 8)", "1");
	check("SELECT max_sum(1, 1, 2, 3, 4, 5, 6, 7, 8, 9)",
	      "error: wrong number of arguments to function max_sum()");
	/* Integer overflow is an error, as in sum(). */
	check("SELECT max_sum(v, 1) FROM (SELECT 9223372036854775807 AS v UNION ALL SELECT 1)",
	      "error: integer overflow");
	check("SELECT max_sum(v, k) FROM (SELECT 9223372036854775807 AS v, 1 AS k"
	      " UNION ALL SELECT 1, 2)",
	      "9223372036854775807");
	/* Text that is not a number counts as 0, as in sum(); numeric text as its number. */
	check("SELECT max_sum(v, 1) FROM (SELECT 'abc' AS v UNION ALL SELECT '2')", "2.0");
	/* An aggregate only. */
	check("SELECT max_sum(v, k1) OVER () FROM o",
	      "error: max_sum() may not be used as a window function");
}

/* Many distinct keys in one group (past the linear search): the hash index finds them all. */
static void test_max_sum_many_keys(void **state)
{
	check("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 199999)"
	      " SELECT max_sum(1, i % 50000, 'k' || (i % 7)) FROM n",
	      "1");
	check("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 199999)"
	      " SELECT max_sum(i, i % 50000) FROM n",
	      "499996"); /* key 49999: 49999 + 99999 + 149999 + 199999 */
	check("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)"
	      " SELECT max_sum(1, i % 1000) || ' ' || max_sum(i % 3, i) FROM n",
	      "100 2");
}

/* SQLite enforces the flags: deterministic functions may index, ns() may not; innocuous
 * functions work from a view with trusted_schema off. */
static void test_flags(void **state)
{
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE f (a TEXT, p INTEGER, t INTEGER);"
				      "CREATE INDEX f1 ON f (in_cidr(a, '10.0.0.0/8'));"
				      "CREATE INDEX f2 ON f (proto_name(p));"
				      "CREATE INDEX f3 ON f (ts_iso(t));"
				      "INSERT INTO f VALUES ('10.0.0.1', 6, 0);"
				      "CREATE VIEW v AS SELECT in_cidr(a, '10.0.0.0/8') AS i,"
				      " proto_name(p) AS n, ts_iso(t) AS ts, ns('1') AS s FROM f;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	check("CREATE INDEX f4 ON f (ns(a))",
	      "error: non-deterministic functions prohibited in index expressions");
	assert_int_equal(sqlite3_exec(db, "PRAGMA trusted_schema = OFF", NULL, NULL, NULL),
			 SQLITE_OK);
	check("SELECT i || ' ' || n || ' ' || ts || ' ' || s FROM v",
	      "1 tcp 1970-01-01T00:00:00.000Z 1000000000");
}

static void test_register(void **state)
{
	sqlite3 *d = NULL;

	assert_int_equal(nr_sqlfuncs_register(NULL), -EINVAL);
	assert_int_equal(sqlite3_open(":memory:", &d), SQLITE_OK);
	assert_int_equal(nr_sqlfuncs_register(d), 0);
	assert_int_equal(nr_sqlfuncs_register(d), 0); /* again: replaces, still fine */
	sqlite3_close(d);
}

static void test_proto_table(void **state)
{
	static const struct {
		const char *name;
		int number;
	} ok[] = {
		{ "tcp", 6 },	   { "TCP", 6 },      { "Udp", 17 },	  { "icmp", 1 },
		{ "icmp6", 58 },   { "icmpv6", 58 },  { "ICMPv6", 58 },	  { "ipv6-icmp", 58 },
		{ "sctp", 132 },   { "gre", 47 },     { "esp", 50 },	  { "ah", 51 },
		{ "0", 0 },	   { "6", 6 },	      { "255", 255 },	  { "006", 6 },
	};
	static const char *const bad[] = {
		"", " tcp", "tcp ", "tc", "tcpx", "256", "-1", "+6", "0x6", "1e2", "0006", "6 ",
		"ipv6", "icmp-6", "ip",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(nr_proto_number(ok[i].name), ok[i].number);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (nr_proto_number(bad[i]) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(nr_proto_number(NULL), -EINVAL);

	assert_string_equal(nr_proto_name(6), "tcp");
	assert_string_equal(nr_proto_name(17), "udp");
	assert_string_equal(nr_proto_name(1), "icmp");
	assert_string_equal(nr_proto_name(58), "icmp6");
	assert_string_equal(nr_proto_name(132), "sctp");
	assert_string_equal(nr_proto_name(47), "gre");
	assert_string_equal(nr_proto_name(50), "esp");
	assert_string_equal(nr_proto_name(51), "ah");
	assert_null(nr_proto_name(0));
	assert_null(nr_proto_name(255));
	assert_null(nr_proto_name(-1));
	assert_null(nr_proto_name(6 + 256));
	/* Every name round-trips. */
	for (i = 0; i < 256; i++)
		if (nr_proto_name((int)i))
			assert_int_equal(nr_proto_number(nr_proto_name((int)i)), (int)i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_cidr, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_in_cidr_errors, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_in_cidr_hostile, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_in_cidr_rows, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_in_cidr_many_rows, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_ts_iso, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_ns, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_proto_name_sql, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_max_sum, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_max_sum_many_keys, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_flags, db_setup, db_teardown),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_proto_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
