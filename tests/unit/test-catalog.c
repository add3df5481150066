// SPDX-License-Identifier: MIT
/*
 * Tests for query/catalog.c: partition selection and pruning by time range, the virtual
 * tables across many partitions (more than SQLite's 10 attachments), pushed-down constraints,
 * the hidden partition column, partitions of an older schema, and read-only enforcement.
 * Truth comes from the records the test itself wrote.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "catalog.h"
#include "nrtime.h"
#include "store.h"

#define NPARTS 25
#define ROWS 40 /* flows per partition */
#define BASE (1700000000LL * NR_NS_PER_SEC) /* a whole hour: 2023-11-14T22:13:20Z is not */
#define WIDTH (3600LL * NR_NS_PER_SEC)

static char dir[256];
static int warnings;

static void on_warn(void *ud, const char *msg)
{
	(void)ud;
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "warning: %s\n", msg);
	warnings++;
}

static int64_t part_start(int i)
{
	return nr_part_align(BASE, WIDTH) + i * WIDTH;
}

/* Flow j of partition i: time in the middle of the window, src 10.0.<i>.<j % 4>. */
static void make_flow(struct nr_record *r, int i, int j)
{
	char a[32];

	memset(r, 0, sizeof(*r));
	r->table = NR_T_FLOWS;
	r->flow.ts_start_ns = part_start(i) + WIDTH / 2 + j;
	r->flow.ts_end_ns = r->flow.ts_start_ns + 1000;
	r->flow.proto = 6;
	snprintf(a, sizeof(a), "10.0.%d.%d", i, j % 4);
	assert_int_equal(nr_addr_parse(a, &r->flow.src), 0);
	assert_int_equal(nr_addr_parse("192.0.2.1", &r->flow.dst), 0);
	r->flow.sport = 1000 + j;
	r->flow.dport = 443;
	r->flow.packets = 1;
	r->flow.bytes = 100 + j;
	r->flow.icmp_type = r->flow.icmp_code = -1;
}

static int setup(void **state)
{
	struct nr_meta_info m;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-catalog.XXXXXX");
	assert_non_null(mkdtemp(dir));
	nr_meta_info_fill(&m, "test", false);
	for (int i = 0; i < NPARTS; i++) {
		struct nr_part *p;
		char err[256];

		assert_int_equal(nr_part_open(dir, part_start(i), WIDTH, &m, &p, err, sizeof(err)), 0);
		assert_int_equal(nr_part_begin(p), 0);
		for (int j = 0; j < ROWS; j++) {
			struct nr_record r;

			make_flow(&r, i, j);
			assert_int_equal(nr_part_insert(p, &r), 0);
		}
		assert_int_equal(nr_part_commit(p), 0);
		assert_int_equal(nr_part_close(p, true), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct nr_catalog *open_range(int64_t since, int64_t until)
{
	struct nr_catalog_opts o = {
		.data_dir = dir, .since_ns = since, .until_ns = until, .warn = on_warn,
	};
	struct nr_catalog *c = NULL;
	char err[256];

	warnings = 0;
	assert_int_equal(nr_catalog_open(&o, &c, err, sizeof(err)), 0);
	return c;
}

static int64_t scalar(struct nr_catalog *c, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(nr_catalog_db(c), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_all_partitions(void **state)
{
	struct nr_catalog *c = open_range(NR_TIME_MIN, NR_TIME_MAX);
	int64_t want_bytes = 0;

	(void)state;
	for (int j = 0; j < ROWS; j++)
		want_bytes += 100 + j;
	assert_int_equal(nr_catalog_count(c), NPARTS);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows"), NPARTS * ROWS);
	assert_int_equal(scalar(c, "SELECT sum(bytes) FROM flows"), NPARTS * want_bytes);
	assert_int_equal(scalar(c, "SELECT count(DISTINCT partition) FROM flows"), NPARTS);
	/* meta spans partitions too: one host row each. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM meta WHERE key = 'host'"), NPARTS);
	assert_int_equal(warnings, 0);
	nr_catalog_free(c);
}

static void test_pushdown(void **state)
{
	struct nr_catalog *c = open_range(NR_TIME_MIN, NR_TIME_MAX);

	(void)state;
	/* src 10.0.7.1: partition 7, j % 4 == 1: 10 rows. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE src = '10.0.7.1'"), ROWS / 4);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE sport >= 1030"), NPARTS * 10);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE sport > 1030 AND sport < 1035"),
			 NPARTS * 4);
	/* OR over two columns: SQLite scans once per term and drops rows whose rowid it saw, so
	 * rowids must be unique and stable (a per-scan counter lost the second term's rows).
	 * src 10.0.7.1: 10 rows; sport 1003: j = 3 of every partition, src 10.0.i.3: 25 rows. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE src = '10.0.7.1' OR sport = 1003"),
			 ROWS / 4 + NPARTS);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE src = '10.0.7.1' OR src = '10.0.9.2'"
				   " OR dport = 444"),
			 2 * ROWS / 4);
	assert_int_equal(scalar(c, "SELECT count(DISTINCT rowid) FROM flows"), NPARTS * ROWS);
	/* Two cursors on the same partition with the same per-partition SQL (a self-join): each
	 * needs its own statement (a shared one was reset under the other: wrong counts or an
	 * endless scan). 10 rows on each side. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows a, flows b "
				   "WHERE a.src = '10.0.1.1' AND b.src = '10.0.1.1'"),
			 (ROWS / 4) * (ROWS / 4));
	/* Correlated subqueries over several tables at once, more than the per-partition cache. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM (SELECT DISTINCT src FROM flows WHERE "
				   "sport < 1004) a WHERE (SELECT count(*) FROM flows f WHERE f.src = a.src) "
				   "= 10 AND (SELECT count(*) FROM flows g WHERE g.src = a.src AND g.dport = 443)"
				   " = 10 AND (SELECT count(*) FROM gaps) = 0 AND (SELECT count(*) FROM health) "
				   "= 0 AND (SELECT count(*) FROM flows h WHERE h.src = a.src AND "
				   "h.sport >= 1000) = 10"),
			 NPARTS * 4);
	/* A collation the partitions do not use must not be pushed down. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE direction = 'INGRESS' "
				   "COLLATE NOCASE"),
			 NPARTS * ROWS);
	/* A join that makes the virtual table the inner loop. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM (SELECT DISTINCT src FROM flows "
				   "WHERE sport = 1000) a JOIN flows f ON f.src = a.src"),
			 NPARTS * ROWS / 4);
	nr_catalog_free(c);
}

/* EXPLAIN QUERY PLAN of @sql, its detail column joined by '|'. */
static char *plan(struct nr_catalog *c, const char *sql)
{
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st;
	char *out;

	assert_int_equal(sqlite3_prepare_v2(nr_catalog_db(c), q, -1, &st, NULL), SQLITE_OK);
	out = sqlite3_mprintf("%s", "");
	while (sqlite3_step(st) == SQLITE_ROW) {
		char *n = sqlite3_mprintf("%s%s|", out, (const char *)sqlite3_column_text(st, 3));

		sqlite3_free(out);
		out = n;
	}
	sqlite3_finalize(st);
	sqlite3_free(q);
	return out;
}

/* "host A and proto P": one index lookup per address column, not a scan of every row with
 * the protocol pushed (SQLite plans the OR terms without the AND'ed one, so an equality on
 * an indexed column must look much cheaper than one on another column). */
static void test_or_uses_indexes(void **state)
{
	struct nr_catalog *c = open_range(NR_TIME_MIN, NR_TIME_MAX);
	char *p;

	(void)state;
	p = plan(c, "SELECT * FROM flows WHERE (src = '10.0.7.1' OR dst = '10.0.7.1') AND proto = 6");
	assert_non_null(strstr(p, "MULTI-INDEX OR"));
	sqlite3_free(p);
	p = plan(c, "SELECT * FROM conntrack WHERE (orig_src = 'a' OR orig_dst = 'a' OR "
		    "reply_src = 'a' OR reply_dst = 'a') AND event = 'new'");
	assert_non_null(strstr(p, "MULTI-INDEX OR"));
	sqlite3_free(p);
	/* And the rows are the same as without the extra term's help. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE (src = '10.0.7.1' OR "
				   "dst = '10.0.7.1') AND proto = 6"),
			 scalar(c, "SELECT count(*) FROM flows WHERE src = '10.0.7.1' AND +proto = 6"));
	nr_catalog_free(c);
}

static void test_time_range(void **state)
{
	/* Partitions 3..5 hold the middle of their windows: [start(3), start(5) + WIDTH/2 + 19]. */
	int64_t since = part_start(3), until = part_start(5) + WIDTH / 2 + 19;
	struct nr_catalog *c = open_range(since, until);
	int64_t n;

	(void)state;
	/* Rows of partitions 3 and 4, and the first 20 of partition 5. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows"), 2 * ROWS + 20);
	/* Partitions well before the range are not in the catalog at all. */
	for (size_t i = 0; i < nr_catalog_count(c); i++)
		assert_true(nr_catalog_part(c, i)->start_ns >= part_start(2));
	/* A pushed time constraint narrows further. */
	n = scalar(c, "SELECT count(*) FROM flows WHERE ts_start_ns >= (SELECT min(ts_start_ns) "
		      "FROM flows WHERE partition LIKE '%') + 3600000000000");
	assert_int_equal(n, ROWS + 20);
	nr_catalog_free(c);
}

static void test_unread_outside_range(void **state)
{
	char path[512], name[64];
	struct nr_catalog *c;
	FILE *f;

	(void)state;
	/* Garbage in a partition far before the range: never opened, so no warning. */
	assert_int_equal(nr_part_name(part_start(-100), WIDTH, name, sizeof(name)), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a database, and it is long enough to look like one? no.", f);
	fclose(f);
	c = open_range(part_start(10), part_start(11) + WIDTH - 1);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows"), 2 * ROWS);
	assert_int_equal(nr_catalog_bad_count(c), 0);
	assert_int_equal(warnings, 0);
	nr_catalog_free(c);
	/* Without a range it is read, skipped with one warning, and the rest still counted. */
	c = open_range(NR_TIME_MIN, NR_TIME_MAX);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows"), NPARTS * ROWS);
	assert_int_equal(nr_catalog_bad_count(c), 1);
	assert_int_equal(warnings, 1);
	nr_catalog_free(c);
	unlink(path);
}

static void test_older_schema(void **state)
{
	char path[512], name[64];
	struct nr_catalog *c;
	sqlite3 *db;

	(void)state;
	/* A partition whose flows table lacks icmp_type and icmp_code. */
	assert_int_equal(nr_part_name(part_start(-1), WIDTH, name, sizeof(name)), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE flows(ts_start_ns, ts_end_ns, src, dst, bytes);"
				      "INSERT INTO flows VALUES (1, 2, '10.9.9.9', '10.0.0.1', 5);"
				      "PRAGMA user_version = 1;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	c = open_range(NR_TIME_MIN, NR_TIME_MAX);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE src = '10.9.9.9'"), 1);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE src = '10.9.9.9' AND "
				   "icmp_type IS NULL AND bytes = 5"),
			 1);
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows WHERE icmp_type = 8"), 0);
	/* Tables it lacks altogether read as empty. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM conntrack WHERE partition = '" "x'"), 0);
	assert_int_equal(nr_catalog_bad_count(c), 0);
	nr_catalog_free(c);
	unlink(path);
}

static void expect_refused(struct nr_catalog *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(nr_catalog_db(c), sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		assert_true(rc != SQLITE_DONE && rc != SQLITE_ROW);
	}
	assert_int_not_equal(rc, SQLITE_OK);
}

static void test_read_only(void **state)
{
	struct nr_catalog *c = open_range(NR_TIME_MIN, NR_TIME_MAX);

	(void)state;
	nr_catalog_lock_down(c);
	expect_refused(c, "DELETE FROM flows");
	expect_refused(c, "INSERT INTO gaps VALUES (1, 2, 'a', 'b', 3)");
	expect_refused(c, "UPDATE meta SET value = 'x'");
	expect_refused(c, "ATTACH ':memory:' AS x");
	expect_refused(c, "CREATE TEMP TABLE t(a)");
	expect_refused(c, "CREATE TEMP VIEW v AS SELECT 1");
	expect_refused(c, "DROP TABLE flows");
	expect_refused(c, "PRAGMA user_version = 4");
	expect_refused(c, "SELECT load_extension('libm.so.6')");
	/* Reading still works, and the files are unchanged. */
	assert_int_equal(scalar(c, "SELECT count(*) FROM flows"), NPARTS * ROWS);
	nr_catalog_free(c);
}

static void test_empty_range(void **state)
{
	struct nr_catalog_opts o = { .data_dir = dir, .since_ns = 10, .until_ns = 5 };
	struct nr_catalog *c = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(nr_catalog_open(&o, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	o.since_ns = NR_TIME_MIN;
	o.until_ns = NR_TIME_MAX;
	o.data_dir = "/nonexistent/netrec";
	assert_int_equal(nr_catalog_open(&o, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/netrec"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_partitions),	cmocka_unit_test(test_pushdown),
		cmocka_unit_test(test_or_uses_indexes),	cmocka_unit_test(test_time_range),	cmocka_unit_test(test_unread_outside_range),
		cmocka_unit_test(test_older_schema),	cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_empty_range),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
