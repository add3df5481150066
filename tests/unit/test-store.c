// SPDX-License-Identifier: MIT
/*
 * common/store: partition names and alignment, listing, the lock, creating, writing,
 * resuming, finalizing and recovering partitions, schema creation and migration, retention.
 * Every value is read back through a separate sqlite3 connection, and files are checked with
 * stat(), so the tests do not trust the store's own view of what it wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "addr.h"
#include "nrtime.h"
#include "record.h"
#include "store.h"

#define TESTDIR_PREFIX "/tmp/nr-ut-store-XXXXXX"
#include "testdir.h"
#include "testsql.h"

#define SEC(x) ((int64_t)(x) * NR_NS_PER_SEC)
/* 2026-11-22T13:00:00Z and 2020-01-01T00:00:00Z (date -u -d ... +%s). */
#define T2026 SEC(1795352400)
#define T2020 SEC(1577836800)
#define HOUR SEC(3600)

/* ---- helpers ------------------------------------------------------------------------- */

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool side_exists(const char *path, const char *suffix)
{
	char side[4096];

	snprintf(side, sizeof(side), "%s%s", path, suffix);
	return exists(side);
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Writes @size bytes to @path with @mode: a stand-in partition for listing and retention,
 * which look only at names, sizes and modes. */
static void make_file(const char *dir, const char *name, size_t size, mode_t mode)
{
	char *p = path_in(dir, name), *buf = malloc(size ? size : 1);
	int fd;

	assert_non_null(buf);
	memset(buf, 'x', size);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
	free(buf);
	free(p);
}

static void exec_rw(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* How many indexes of @table have @column as their first column. */
static int64_t index_count(const char *path, const char *table, const char *column)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pragma_index_list('%s') il, pragma_index_info(il.name) ii "
		 "WHERE ii.seqno = 0 AND ii.name = '%s'",
		 table, column);
	return query_i64(path, sql);
}

static struct nr_addr A(const char *s)
{
	struct nr_addr a;

	assert_int_equal(nr_addr_parse(s, &a), 0);
	return a;
}

static struct nr_meta_info test_meta(void)
{
	struct nr_meta_info m;

	nr_meta_info_fill(&m, "9.9.9-test", false);
	return m;
}

static struct nr_part *open_part(const char *dir, int64_t start, int64_t width)
{
	struct nr_meta_info m = test_meta();
	struct nr_part *p = NULL;
	char err[256] = "";
	int r;

	r = nr_part_open(dir, start, width, &m, &p, err, sizeof(err));
	if (r < 0)
		fail_msg("nr_part_open: %s (%s)", strerror(-r), err);
	assert_non_null(p);
	return p;
}

static void flow_rec(struct nr_record *r, int64_t ts, uint64_t n)
{
	memset(r, 0, sizeof(*r));
	r->table = NR_T_FLOWS;
	r->source = NR_SRC_FLOWS;
	r->flow.ts_start_ns = ts;
	r->flow.ts_end_ns = ts;
	r->flow.proto = 17;
	r->flow.src = A("10.0.0.1");
	r->flow.dst = A("10.0.0.2");
	r->flow.sport = 1000;
	r->flow.dport = 53;
	r->flow.packets = n;
	r->flow.bytes = n * 100;
	r->flow.icmp_type = NR_NONE;
	r->flow.icmp_code = NR_NONE;
}

/* ---- names and alignment ------------------------------------------------------------- */

static void check_name(int64_t start, int64_t width, const char *want)
{
	char buf[64];
	int64_t s = 0, w = 0;

	assert_int_equal(nr_part_name(start, width, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	assert_int_equal(nr_part_name_parse(want, &s, &w), 0);
	assert_int_equal(s, start);
	assert_int_equal(w, width);
}

static void test_part_name(void **state)
{
	char buf[64];

	check_name(T2026, HOUR, "20261122T130000Z-3600s.db");
	check_name(T2026 + SEC(59 * 60 + 59), SEC(1), "20261122T135959Z-1s.db");
	check_name(T2020, SEC(86400), "20200101T000000Z-86400s.db");
	check_name(0, SEC(60), "19700101T000000Z-60s.db");
	check_name(SEC(-3600), HOUR, "19691231T230000Z-3600s.db");
	check_name(SEC(1709251199), SEC(7), "20240229T235959Z-7s.db");
	check_name(T2020, SEC(366 * 86400), "20200101T000000Z-31622400s.db");

	/* Widths under a second, or not whole seconds; starts not on a second. */
	assert_int_equal(nr_part_name(T2026, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(nr_part_name(T2026, -HOUR, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(nr_part_name(T2026, 500 * NR_NS_PER_MS, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(nr_part_name(T2026, 1500 * NR_NS_PER_MS, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(nr_part_name(T2026, HOUR + 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(nr_part_name(T2026 + 1, HOUR, buf, sizeof(buf)), -EINVAL);
	/* A buffer one byte too short. */
	assert_int_equal(nr_part_name(T2026, HOUR, buf, strlen("20261122T130000Z-3600s.db")),
			 -ENOSPC);
}

static void test_part_name_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"x",
		"netrecd.lock",
		"20261122T130000Z-3600s.db-wal",
		"20261122T130000Z-3600s.db-shm",
		"20261122T130000Z-3600s.db-journal",
		"20261122T130000Z-3600s.db.tmp",
		"20261122T130000Z-3600s.sqlite",
		"20261122T130000Z-3600.db",
		"20261122T130000Z-3600S.db",
		"20261122T130000Z-3600s.DB",
		"20261122T130000Z-3600s.db ",
		" 20261122T130000Z-3600s.db",
		"20261122T130000Z-0s.db",
		"20261122T130000Z-03600s.db",
		"20261122T130000Z--3600s.db",
		"20261122T130000Z-+3600s.db",
		"20261122T130000Z- 3600s.db",
		"20261122T130000Z-s.db",
		"20261122T130000Z-3600xs.db",
		"20261122T130000Z-31622401s.db", /* more than 366 days */
		"20261122T130000Z-99999999999999999999s.db",
		"20261122T130000Z_3600s.db",
		"20261122T130000-3600s.db",
		"20261122t130000z-3600s.db",
		"2026-11-22T130000Z-3600s.db",
		"20261322T130000Z-3600s.db", /* month 13 */
		"20260230T130000Z-3600s.db", /* 30 February */
		"20261122T240000Z-3600s.db",
		"20261122T136000Z-3600s.db",
		"20261122T130060Z-3600s.db", /* no leap second in names */
	};
	int64_t s = 11, w = 22;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (nr_part_name_parse(bad[i], &s, &w) != -EINVAL)
			fail_msg("'%s' parsed as a partition name", bad[i]);
		/* ret_ written only on success */
		assert_int_equal(s, 11);
		assert_int_equal(w, 22);
	}
	/* Exactly 366 days is the largest width accepted. */
	assert_int_equal(nr_part_name_parse("20261122T130000Z-31622400s.db", &s, &w), 0);
	assert_int_equal(w, SEC(31622400));
}

static void test_part_align(void **state)
{
	static const int64_t widths[] = { SEC(1), SEC(7), SEC(60), HOUR, SEC(86400) };
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	/* Fixed points, worked out by hand. */
	assert_int_equal(nr_part_align(T2026, HOUR), T2026);
	assert_int_equal(nr_part_align(T2026 + 1, HOUR), T2026);
	assert_int_equal(nr_part_align(T2026 + HOUR - 1, HOUR), T2026);
	assert_int_equal(nr_part_align(T2026 + HOUR, HOUR), T2026 + HOUR);
	assert_int_equal(nr_part_align(T2026 + SEC(1799) + 123, HOUR), T2026);
	/* 13:00 is not a day boundary: the day started 13 h earlier. */
	assert_int_equal(nr_part_align(T2026, SEC(86400)), T2026 - 13 * HOUR);
	assert_int_equal(nr_part_align(SEC(10) + 999999999, SEC(7)), SEC(7));
	assert_int_equal(nr_part_align(0, HOUR), 0);
	/* Before the epoch: floor, not truncation toward zero. */
	assert_int_equal(nr_part_align(-1, SEC(1)), SEC(-1));
	assert_int_equal(nr_part_align(-1, HOUR), -HOUR);
	assert_int_equal(nr_part_align(-HOUR, HOUR), -HOUR);
	assert_int_equal(nr_part_align(-HOUR - 1, HOUR), -2 * HOUR);
	assert_int_equal(nr_part_align(SEC(-8), SEC(7)), SEC(-14));
	assert_int_equal(nr_part_align(SEC(-7), SEC(7)), SEC(-7));
	assert_int_equal(nr_part_align(SEC(-6), SEC(7)), SEC(-7));

	/* Properties over many times either side of the epoch: the result is a multiple of the
	 * width, at most t, and the next window starts after t. */
	for (int i = 0; i < 20000; i++) {
		int64_t t, a, w = widths[i % 5];

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = (int64_t)(x % (uint64_t)SEC(4000000000LL)) - SEC(2000000000LL);
		a = nr_part_align(t, w);
		assert_true(a <= t);
		assert_true(t < a + w);
		assert_int_equal(a % w, 0);
	}
}

/* ---- listing and locking ------------------------------------------------------------- */

static void test_store_list(void **state)
{
	struct nr_part_info *parts = NULL;
	size_t n = 0;
	char *sub;

	/* Created out of order. */
	make_file(tmpdir, "20200101T020000Z-3600s.db", 300, 0444);
	make_file(tmpdir, "20200101T000000Z-3600s.db", 100, 0444);
	make_file(tmpdir, "20200101T000000Z-60s.db", 50, 0644);
	make_file(tmpdir, "20200101T010000Z-3600s.db", 200, 0444);
	make_file(tmpdir, "20200101T010000Z-3600s.db-wal", 20, 0644);
	make_file(tmpdir, "20200101T010000Z-3600s.db-shm", 7, 0644);
	make_file(tmpdir, "20200101T020000Z-3600s.db-shm", 3, 0644);
	make_file(tmpdir, "19691231T230000Z-3600s.db", 10, 0600);
	/* Not partitions. */
	make_file(tmpdir, "netrecd.lock", 0, 0644);
	make_file(tmpdir, "notes.txt", 5, 0644);
	make_file(tmpdir, "20200101T030000Z-3600s.db.bak", 5, 0444);
	sub = path_in(tmpdir, "20200102T000000Z-3600s.db");
	assert_int_equal(mkdir(sub, 0755), 0);

	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_int_equal(n, 5);

	assert_string_equal(parts[0].name, "19691231T230000Z-3600s.db");
	assert_int_equal(parts[0].start_ns, SEC(-3600));
	assert_int_equal(parts[0].size, 10);
	assert_false(parts[0].finalized);

	/* Same start: the narrower window first. */
	assert_string_equal(parts[1].name, "20200101T000000Z-60s.db");
	assert_int_equal(parts[1].start_ns, T2020);
	assert_int_equal(parts[1].width_ns, SEC(60));
	assert_int_equal(parts[1].size, 50);
	assert_false(parts[1].finalized); /* writable */

	assert_string_equal(parts[2].name, "20200101T000000Z-3600s.db");
	assert_int_equal(parts[2].width_ns, HOUR);
	assert_int_equal(parts[2].size, 100);
	assert_true(parts[2].finalized);

	/* Read-only but with a -wal: not immutable yet. Size counts -wal and -shm. */
	assert_string_equal(parts[3].name, "20200101T010000Z-3600s.db");
	assert_int_equal(parts[3].start_ns, T2020 + HOUR);
	assert_int_equal(parts[3].size, 200 + 20 + 7);
	assert_false(parts[3].finalized);

	/* A leftover -shm alone does not make it writable. */
	assert_string_equal(parts[4].name, "20200101T020000Z-3600s.db");
	assert_int_equal(parts[4].size, 303);
	assert_true(parts[4].finalized);

	for (size_t i = 0; i < n; i++) {
		char *want = path_in(tmpdir, parts[i].name);

		assert_string_equal(parts[i].path, want);
		free(want);
	}
	nr_store_list_free(parts, n);
	nr_store_list_free(NULL, 0);

	/* An empty directory, and one that does not exist. */
	parts = NULL;
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(nr_store_list(sub, &parts, &n), 0);
	assert_int_equal(n, 0);
	nr_store_list_free(parts, n);
	assert_int_equal(rmdir(sub), 0);
	parts = (void *)1;
	n = 99;
	assert_int_equal(nr_store_list(sub, &parts, &n), -ENOENT);
	assert_ptr_equal(parts, (void *)1);
	assert_int_equal(n, 99);
	free(sub);
}

static void test_store_lock(void **state)
{
	char *lock = path_in(tmpdir, NR_LOCK_NAME), *missing = path_in(tmpdir, "missing");
	int a, b, c;

	a = nr_store_lock(tmpdir);
	assert_true(a >= 0);
	assert_true(exists(lock));
	/* flock() locks belong to the open file description: a second open in the same
	 * process conflicts just as another recorder would. */
	b = nr_store_lock(tmpdir);
	assert_int_equal(b, -EBUSY);
	/* The fd must be close-on-exec, so collectors' children do not inherit the lock. */
	assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
	/* Released with the fd. */
	close(a);
	c = nr_store_lock(tmpdir);
	assert_true(c >= 0);
	close(c);
	assert_int_equal(nr_store_lock(missing), -ENOENT);
	free(lock);
	free(missing);
}

/* ---- creating and writing partitions ------------------------------------------------- */

static void read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void test_part_open_new(void **state)
{
	struct nr_part *p;
	char host[256] = "", boot[64], kernel[512], want[1024], *path;
	struct utsname u;

	p = open_part(tmpdir, T2026, HOUR);
	path = path_in(tmpdir, "20261122T130000Z-3600s.db");
	assert_string_equal(nr_part_path(p), path);
	assert_int_equal(nr_part_start_ns(p), T2026);
	assert_int_equal(nr_part_end_ns(p), T2026 + HOUR);
	assert_true(exists(path));
	/* The open partition is in WAL mode. */
	assert_query(path, "PRAGMA journal_mode", "wal");
	assert_query(path, "PRAGMA user_version", "4");
	assert_int_equal(query_i64(path, "PRAGMA user_version"), NR_SCHEMA_VERSION);

	gethostname(host, sizeof(host) - 1);
	read_first_line("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
	assert_int_equal(uname(&u), 0);
	snprintf(kernel, sizeof(kernel), "%s %s %s", u.sysname, u.release, u.machine);

	assert_query(path, "SELECT value FROM meta WHERE key = 'schema_version'", "4");
	snprintf(want, sizeof(want), "%s", host);
	assert_query(path, "SELECT value FROM meta WHERE key = 'host'", want);
	assert_query(path, "SELECT value FROM meta WHERE key = 'boot_id'", boot);
	assert_query(path, "SELECT value FROM meta WHERE key = 'kernel'", kernel);
	assert_query(path, "SELECT value FROM meta WHERE key = 'netrec_version'", "9.9.9-test");
	assert_query(path, "SELECT value FROM meta WHERE key = 'partition_start_ns'",
		     "1795352400000000000");
	assert_query(path, "SELECT value FROM meta WHERE key = 'partition_end_ns'",
		     "1795356000000000000");
	/* Not synthetic, not finalized yet. */
	assert_query(path, "SELECT count(*) FROM meta WHERE key IN ('synthetic', 'finalized_ns')",
		     "0");
	/* Every table of the schema exists and is empty. */
	assert_query(path,
		     "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master "
		     "WHERE type = 'table' ORDER BY name)",
		     "addresses,conntrack,flows,gaps,health,links,listeners,meta,neighbors,routes,"
		     "snapshots,sockets");
	/* No secondary index on the open partition (they would slow ingest). */
	assert_query(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
		     "0");

	assert_int_equal(nr_part_close(p, false), 0);
	assert_int_equal(nr_part_close(NULL, false), 0);
	/* A clean close inside the window: no -wal/-shm, still writable, no finalized_ns. */
	assert_false(side_exists(path, "-wal"));
	assert_false(side_exists(path, "-shm"));
	assert_true(file_mode(path) & 0200);
	assert_query(path, "SELECT count(*) FROM meta WHERE key = 'finalized_ns'", "0");
	free(path);
}

static void test_part_open_synthetic_meta(void **state)
{
	struct nr_meta_info m;
	struct nr_part *p = NULL;
	char *path = path_in(tmpdir, "20261122T130000Z-60s.db");

	nr_meta_info_fill(&m, NULL, true);
	assert_int_equal(nr_part_open(tmpdir, T2026, SEC(60), &m, &p, NULL, 0), 0);
	assert_int_equal(nr_part_close(p, false), 0);
	assert_query(path, "SELECT value FROM meta WHERE key = 'synthetic'", "1");
	assert_query(path, "SELECT value FROM meta WHERE key = 'netrec_version'", "");
	free(path);
}

static void test_part_open_errors(void **state)
{
	struct nr_meta_info m = test_meta();
	struct nr_part *p = (void *)1;
	char err[256] = "", *missing = path_in(tmpdir, "missing/sub");

	/* Bad windows. */
	assert_int_equal(nr_part_open(tmpdir, T2026, 0, &m, &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(nr_part_open(tmpdir, T2026 + 1, HOUR, &m, &p, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(p, (void *)1);
	/* A directory that does not exist. */
	assert_int_equal(nr_part_open(missing, T2026, HOUR, &m, &p, err, sizeof(err)), -ENOENT);
	assert_ptr_equal(p, (void *)1);
	assert_true(err[0] != '\0');
	free(missing);
}

static void test_part_insert_all_tables(void **state)
{
	const int64_t T0 = T2026;
	struct nr_record r[32];
	struct nr_part *p;
	size_t n = 0;
	char *path;

	/* flows: TCP over IPv4 with MACs; sampling 0 means every packet. */
	memset(r, 0, sizeof(r));
	r[n].table = NR_T_FLOWS;
	r[n].source = NR_SRC_FLOWS;
	r[n].flow = (struct nr_rec_flow){
		.ts_start_ns = T0 + SEC(1), .ts_end_ns = T0 + SEC(2), .netns = 4026531840ULL,
		.ifindex = 2, .ifname = "eth0", .egress = true, .proto = 6,
		.src = A("10.0.0.1"), .dst = A("192.168.1.20"), .sport = 43210, .dport = 443,
		.packets = 10, .bytes = 1500, .tcp_flags = 0x1b, .has_mac = true,
		.src_mac = { 0x02, 0, 0, 0, 0, 0x01 }, .dst_mac = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
		.sampling = 0, .ethertype = 0x0800, .icmp_type = NR_NONE, .icmp_code = NR_NONE,
	};
	n++;
	/* ICMPv6: no ports even if the fields hold junk, no TCP flags, unknown netns/ifindex/
	 * ifname/MACs are NULL, ICMP type and code 0 are values, not unknowns. */
	r[n].table = NR_T_FLOWS;
	r[n].source = NR_SRC_FLOWS;
	r[n].flow = (struct nr_rec_flow){
		.ts_start_ns = T0 + SEC(1) + 500 * NR_NS_PER_MS, .ts_end_ns = T0 + SEC(10),
		.egress = false, .proto = 58, .src = A("2001:0db8:0000::0001"), .dst = A("FE80::1"),
		.sport = 1234, .dport = 5678, .packets = 3, .bytes = 300, .tcp_flags = 0x12,
		.has_mac = false, .src_mac = { 1, 2, 3, 4, 5, 6 }, .sampling = 100,
		.ethertype = 0x86dd, .icmp_type = 128, .icmp_code = 0,
	};
	n++;
	/* A non-IP frame (ARP): no family, protocol, addresses or ports. */
	r[n].table = NR_T_FLOWS;
	r[n].source = NR_SRC_FLOWS;
	r[n].flow = (struct nr_rec_flow){
		.ts_start_ns = T0 + SEC(2), .ts_end_ns = T0 + SEC(3), .netns = 5, .ifindex = 7,
		.ifname = "br0", .proto = 17, .sport = 9, .dport = 9, .packets = 1, .bytes = 60,
		.has_mac = true, .src_mac = { 0, 0x11, 0x22, 0x33, 0x44, 0x55 },
		.dst_mac = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, .sampling = 1,
		.ethertype = 0x0806, .icmp_type = NR_NONE, .icmp_code = NR_NONE, .kind = NR_FLOW_OTHER,
	};
	n++;
	/* UDP: ports, but no TCP flags. */
	r[n].table = NR_T_FLOWS;
	r[n].source = NR_SRC_FLOWS;
	r[n].flow = (struct nr_rec_flow){
		.ts_start_ns = T0 + SEC(2) + 1, .ts_end_ns = T0 + SEC(3), .ifindex = 1,
		.ifname = "lo", .proto = 17, .src = A("127.0.0.1"), .dst = A("127.0.0.53"),
		.sport = 5353, .dport = 53, .packets = UINT32_MAX + 1ULL, .bytes = 1ULL << 40,
		.tcp_flags = 0xff, .sampling = 1, .ethertype = 0x0800, .icmp_type = NR_NONE,
		.icmp_code = NR_NONE,
	};
	n++;

	/* conntrack: NAT'd TCP with counters; ICMPv6 without counters. */
	r[n].table = NR_T_CONNTRACK;
	r[n].source = NR_SRC_CONNTRACK;
	r[n].ct = (struct nr_rec_conntrack){
		.ts_ns = T0 + SEC(3), .event = "new", .netns = 4026531840ULL, .ct_id = 0xdeadbeef,
		.proto = 6, .orig_src = A("10.0.0.1"), .orig_dst = A("93.184.216.34"),
		.reply_src = A("93.184.216.34"), .reply_dst = A("192.168.1.5"),
		.orig_sport = 40000, .orig_dport = 80, .reply_sport = 80, .reply_dport = 61000,
		.status = 0x18e, .tcp_state = "ESTABLISHED", .mark = 0x10, .zone = 3,
		.has_counters = true, .orig_packets = 1, .orig_bytes = 60, .reply_packets = 2,
		.reply_bytes = 120, .start_ns = T0 + SEC(2) + 500 * NR_NS_PER_MS, .stop_ns = 0,
	};
	n++;
	r[n].table = NR_T_CONNTRACK;
	r[n].source = NR_SRC_CONNTRACK;
	r[n].ct = (struct nr_rec_conntrack){
		.ts_ns = T0 + SEC(4), .event = "destroy", .ct_id = 0, .proto = 58,
		.orig_src = A("2001:db8::1"), .orig_dst = A("2001:db8::2"),
		.reply_src = A("2001:db8::2"), .reply_dst = A("2001:db8::1"), .orig_sport = 7,
		.orig_dport = 8, .reply_sport = 9, .reply_dport = 10, .status = 0,
		.has_counters = false, .orig_packets = 5, .stop_ns = T0 + SEC(4),
		.icmp_type = 128, .icmp_code = 0, .icmp_id = 4242, .reply_icmp_id = 4243,
	};
	n++;

	/* sockets: NR_NONE is NULL, 0 counters are 0. */
	r[n].table = NR_T_SOCKETS;
	r[n].source = NR_SRC_SOCKETS;
	r[n].sock = (struct nr_rec_socket){
		.ts_ns = T0 + SEC(5), .kind = "sample", .proto = 6, .state = "ESTAB",
		.src = A("::1"), .dst = A("::1"), .sport = 22, .dport = 55555, .direction = "",
		.inode = 0, .cookie = 77, .uid = NR_NONE, .pid = 1234, .comm = "sshd",
		.bytes_sent = 100, .bytes_received = NR_NONE, .segs_out = 0, .segs_in = NR_NONE,
		.retrans = 0, .rtt_us = 250, .rttvar_us = NR_NONE, .cwnd = 10,
	};
	n++;
	r[n].table = NR_T_SOCKETS;
	r[n].source = NR_SRC_SOCKETS;
	r[n].sock = (struct nr_rec_socket){
		.ts_ns = T0 + SEC(5) + 1, .kind = "close", .netns = 9, .proto = 17, .state = "CLOSE",
		.src = A("10.9.8.7"), .dst = A("10.9.8.6"), .sport = 68, .dport = 67,
		.direction = "out", .inode = 4242, .cookie = 0, .uid = 0, .pid = NR_NONE,
		.comm = "", .bytes_sent = NR_NONE, .bytes_received = 5, .segs_out = NR_NONE,
		.segs_in = 1, .retrans = NR_NONE, .rtt_us = NR_NONE, .rttvar_us = 3,
		.cwnd = NR_NONE,
	};
	n++;

	/* snapshots: the second record with the same id replaces the first. */
	r[n].table = NR_T_SNAPSHOTS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].snap = (struct nr_rec_snapshot){ .id = 7, .ts_ns = T0 + SEC(5), .netns = 1,
					      .netns_name = "old", .hash = 1 };
	n++;
	r[n].table = NR_T_SNAPSHOTS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].snap = (struct nr_rec_snapshot){ .id = 7, .ts_ns = T0 + SEC(6),
					      .netns = 4026531993ULL, .netns_name = "blue",
					      .hash = 0xdeadbeefULL, .pid = 4242 };
	n++;
	r[n].table = NR_T_SNAPSHOTS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].snap = (struct nr_rec_snapshot){ .id = 8, .ts_ns = T0 + SEC(6), .netns = 0,
					      .netns_name = "", .hash = UINT64_MAX, .pid = NR_NONE };
	n++;

	/* links: an interface name using all 16 bytes (no NUL) is stored whole. */
	r[n].table = NR_T_LINKS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].link = (struct nr_rec_link){
		.snapshot_id = 7, .ifindex = 3, .name = "veth0", .kind = "veth", .has_mac = true,
		.mac = { 0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x01 }, .mtu = 1500, .operstate = "UP",
		.flags = 0x11043, .master_ifindex = 0, .peer_ifindex = 4,
		.peer_netns = 4026532000ULL,
	};
	n++;
	r[n].table = NR_T_LINKS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].link = (struct nr_rec_link){ .snapshot_id = 7, .ifindex = 5, .kind = "",
					  .has_mac = false, .mtu = 65536, .operstate = "UNKNOWN",
					  .master_ifindex = 3, .link_ifindex = 3,
					  .info = "{\"id\":42}" };
	memcpy(r[n].link.name, "abcdefghijklmnop", 16);
	n++;

	/* addresses */
	r[n].table = NR_T_ADDRESSES;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].addr = (struct nr_rec_address){ .snapshot_id = 7, .ifindex = 3,
					     .addr = A("2001:db8::5"), .prefixlen = 64,
					     .scope = 0, .flags = 0x80 };
	n++;
	r[n].table = NR_T_ADDRESSES;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].addr = (struct nr_rec_address){ .snapshot_id = 7, .ifindex = 3,
					     .addr = A("10.1.2.3"), .prefixlen = 24,
					     .scope = 253 };
	n++;

	/* routes: a default route (no dst) and one without gateway or oif. */
	r[n].table = NR_T_ROUTES;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].route = (struct nr_rec_route){ .snapshot_id = 7, .table_id = 254, .family = AF_INET,
					    .dst_len = 0, .gateway = A("10.1.2.254"), .oif = 3,
					    .protocol = 4, .scope = 0, .type = 1, .metric = 100 };
	n++;
	r[n].table = NR_T_ROUTES;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].route = (struct nr_rec_route){ .snapshot_id = 7, .table_id = 255,
					    .family = AF_INET6, .dst = A("2001:db8::"),
					    .dst_len = 64, .oif = 0, .prefsrc = A("2001:db8::5"),
					    .protocol = 2, .scope = 254, .type = 2,
					    .metric = 4294967295U, .nexthop = 2, .weight = 5 };
	n++;

	/* neighbors */
	r[n].table = NR_T_NEIGHBORS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].neigh = (struct nr_rec_neighbor){ .snapshot_id = 7, .ifindex = 3,
					       .addr = A("10.1.2.254"), .has_lladdr = true,
					       .lladdr = { 0xde, 0xad, 0xbe, 0xef, 0, 1 },
					       .state = 2 };
	n++;
	r[n].table = NR_T_NEIGHBORS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].neigh = (struct nr_rec_neighbor){ .snapshot_id = 7, .ifindex = 3,
					       .addr = A("fe80::abcd"), .has_lladdr = false,
					       .lladdr = { 1, 2, 3, 4, 5, 6 }, .state = 32 };
	n++;

	/* listeners */
	r[n].table = NR_T_LISTENERS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].listener = (struct nr_rec_listener){ .snapshot_id = 7, .proto = 6,
						  .addr = A("0.0.0.0"), .port = 22,
						  .inode = 12345, .pid = NR_NONE, .comm = "" };
	n++;
	r[n].table = NR_T_LISTENERS;
	r[n].source = NR_SRC_TOPOLOGY;
	r[n].listener = (struct nr_rec_listener){ .snapshot_id = 7, .proto = 17, .addr = A("::"),
						  .port = 53, .inode = 0, .pid = 99,
						  .comm = "dnsmasq" };
	n++;

	/* gaps and health, through their builders. */
	nr_record_gap(&r[n++], NR_SRC_CONNTRACK, T0 + 500 * NR_NS_PER_MS,
		      T0 + 700 * NR_NS_PER_MS, "netlink: ENOBUFS", 42);
	nr_record_gap(&r[n++], NR_SRC_FLOWS, T0 + SEC(7), T0 + SEC(8), "map full", NR_NONE);
	nr_record_health(&r[n++], NR_SRC_RECORDER, T0 + SEC(9), "queue_depth", 12.5);
	nr_record_health(&r[n++], NR_SRC_SYNTHETIC, T0 + SEC(9), "rate", -0.25);

	p = open_part(tmpdir, T0, HOUR);
	path = strdup(nr_part_path(p));
	assert_int_equal(nr_part_begin(p), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(nr_part_insert(p, &r[i]), 0);
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);

	assert_query(path, "SELECT * FROM flows ORDER BY ts_start_ns",
		     "1795352401000000000|1795352402000000000|4026531840|2|eth0|egress|4|6|10.0.0.1|"
		     "192.168.1.20|43210|443|10|1500|27|02:00:00:00:00:01|aa:bb:cc:dd:ee:ff|1|2048|"
		     "NULL|NULL|flow\n"
		     "1795352401500000000|1795352410000000000|NULL|NULL|NULL|ingress|6|58|2001:db8::1|"
		     "fe80::1|NULL|NULL|3|300|NULL|NULL|NULL|100|34525|128|0|flow\n"
		     "1795352402000000000|1795352403000000000|5|7|br0|ingress|NULL|NULL|NULL|NULL|"
		     "NULL|NULL|1|60|NULL|00:11:22:33:44:55|ff:ff:ff:ff:ff:ff|1|2054|NULL|NULL|other\n"
		     "1795352402000000001|1795352403000000000|NULL|1|lo|ingress|4|17|127.0.0.1|"
		     "127.0.0.53|5353|53|4294967296|1099511627776|NULL|NULL|NULL|1|2048|NULL|NULL|flow");
	assert_query(path, "SELECT * FROM conntrack ORDER BY ts_ns",
		     "1795352403000000000|new|4026531840|3735928559|4|6|10.0.0.1|93.184.216.34|40000|"
		     "80|93.184.216.34|192.168.1.5|80|61000|398|ESTABLISHED|16|3|1|60|2|120|"
		     "1795352402500000000|NULL|NULL|NULL|NULL|NULL\n"
		     "1795352404000000000|destroy|NULL|0|6|58|2001:db8::1|2001:db8::2|NULL|NULL|"
		     "2001:db8::2|2001:db8::1|NULL|NULL|0|NULL|0|0|NULL|NULL|NULL|NULL|NULL|"
		     "1795352404000000000|128|0|4242|4243");
	assert_query(path, "SELECT * FROM sockets ORDER BY ts_ns",
		     "1795352405000000000|sample|NULL|6|6|ESTAB|::1|22|::1|55555|NULL|NULL|77|NULL|"
		     "1234|sshd|100|NULL|0|NULL|0|250|NULL|10\n"
		     "1795352405000000001|close|9|17|4|CLOSE|10.9.8.7|68|10.9.8.6|67|out|4242|NULL|"
		     "0|NULL|NULL|NULL|5|NULL|1|NULL|NULL|3|NULL");
	assert_query(path, "SELECT * FROM snapshots ORDER BY id",
		     "7|1795352406000000000|4026531993|blue|00000000deadbeef|4242\n"
		     "8|1795352406000000000|NULL|NULL|ffffffffffffffff|NULL");
	assert_query(path, "SELECT * FROM links ORDER BY ifindex",
		     "7|3|veth0|veth|0a:58:0a:f4:00:01|1500|UP|69699|NULL|4|4026532000|NULL|NULL\n"
		     "7|5|abcdefghijklmnop|NULL|NULL|65536|UNKNOWN|0|3|NULL|NULL|3|{\"id\":42}");
	assert_query(path, "SELECT * FROM addresses ORDER BY family",
		     "7|3|4|10.1.2.3|24|253|0\n7|3|6|2001:db8::5|64|0|128");
	assert_query(path, "SELECT * FROM routes ORDER BY table_id",
		     "7|254|4|NULL|0|10.1.2.254|3|NULL|4|0|1|100|0|NULL\n"
		     "7|255|6|2001:db8::|64|NULL|NULL|2001:db8::5|2|254|2|4294967295|2|5");
	assert_query(path, "SELECT * FROM neighbors ORDER BY state",
		     "7|3|10.1.2.254|de:ad:be:ef:00:01|2\n7|3|fe80::abcd|NULL|32");
	assert_query(path, "SELECT * FROM listeners ORDER BY port",
		     "7|6|0.0.0.0|22|12345|NULL|NULL\n7|17|::|53|NULL|99|dnsmasq");
	assert_query(path, "SELECT * FROM gaps ORDER BY ts_start_ns",
		     "1795352400500000000|1795352400700000000|conntrack|netlink: ENOBUFS|42\n"
		     "1795352407000000000|1795352408000000000|flows|map full|NULL");
	assert_query(path, "SELECT ts_ns, source, metric, value, typeof(value) FROM health "
			   "ORDER BY value",
		     "1795352409000000000|synthetic|rate|-0.25|real\n"
		     "1795352409000000000|recorder|queue_depth|12.5|real");
	/* Numbers are stored as integers, addresses and MACs as text: what sqlite3 users
	 * compare against. */
	assert_query(path, "SELECT typeof(ts_start_ns), typeof(netns), typeof(src), "
			   "typeof(sport), typeof(src_mac) FROM flows LIMIT 1",
		     "integer|integer|text|integer|text");
	assert_query(path, "PRAGMA integrity_check", "ok");
	free(path);
}

static void test_part_insert_bad_table(void **state)
{
	struct nr_part *p = open_part(tmpdir, T2026, HOUR);
	struct nr_record r;

	flow_rec(&r, T2026, 1);
	r.table = NR_T_COUNT;
	assert_int_equal(nr_part_begin(p), 0);
	assert_int_equal(nr_part_insert(p, &r), -EINVAL);
	r.table = 200;
	assert_int_equal(nr_part_insert(p, &r), -EINVAL);
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);
}

static void test_part_rollback_and_resume(void **state)
{
	struct nr_part *p;
	struct nr_record r;
	char *path;

	p = open_part(tmpdir, T2026, HOUR);
	path = strdup(nr_part_path(p));
	assert_int_equal(nr_part_begin(p), 0);
	flow_rec(&r, T2026 + 1, 1);
	assert_int_equal(nr_part_insert(p, &r), 0);
	flow_rec(&r, T2026 + 2, 2);
	assert_int_equal(nr_part_insert(p, &r), 0);
	nr_part_rollback(p);
	/* Rolled back: nothing. A new transaction works after the rollback. */
	assert_query(path, "SELECT count(*) FROM flows", "0");
	assert_int_equal(nr_part_begin(p), 0);
	flow_rec(&r, T2026 + 3, 3);
	assert_int_equal(nr_part_insert(p, &r), 0);
	/* Not visible to others before the commit. */
	assert_query(path, "SELECT count(*) FROM flows", "0");
	assert_int_equal(nr_part_commit(p), 0);
	assert_query(path, "SELECT group_concat(packets) FROM flows", "3");
	/* Commit without a transaction is a no-op. */
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);

	/* Resume: the rows and meta stay as they were, new rows are appended. */
	exec_rw(path, "UPDATE meta SET value = 'first-host' WHERE key = 'host'");
	p = open_part(tmpdir, T2026, HOUR);
	assert_int_equal(nr_part_begin(p), 0);
	flow_rec(&r, T2026 + 4, 4);
	assert_int_equal(nr_part_insert(p, &r), 0);
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);
	assert_query(path, "SELECT group_concat(packets) FROM (SELECT packets FROM flows ORDER BY 1)",
		     "3,4");
	assert_query(path, "SELECT value FROM meta WHERE key = 'host'", "first-host");
	assert_query(path, "SELECT value FROM meta WHERE key = 'partition_start_ns'",
		     "1795352400000000000");
	assert_query(path, "PRAGMA user_version", "4");
	free(path);
}

/* The store's lookup indexes: on the time column of every table with one, and on the
 * addresses the forensic queries look up. */
static void assert_lookup_indexes(const char *path, bool present)
{
	static const char *const idx[][2] = {
		{ "flows", "ts_start_ns" },	{ "flows", "src" },	 { "flows", "dst" },
		{ "conntrack", "ts_ns" },	{ "conntrack", "orig_src" },
		{ "conntrack", "orig_dst" },	{ "conntrack", "reply_src" },
		{ "conntrack", "reply_dst" },	{ "sockets", "ts_ns" },	 { "sockets", "src" },
		{ "sockets", "dst" },		{ "links", "snapshot_id" },
		{ "addresses", "snapshot_id" }, { "routes", "snapshot_id" },
		{ "neighbors", "snapshot_id" }, { "listeners", "snapshot_id" },
	};

	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		int64_t c = index_count(path, idx[i][0], idx[i][1]);

		if (present ? c < 1 : c != 0)
			fail_msg("index on %s(%s): %lld", idx[i][0], idx[i][1], (long long)c);
	}
}

static void test_part_finalize(void **state)
{
	struct nr_part *p, *again = (void *)1;
	struct nr_meta_info m = test_meta();
	struct nr_part_info *parts;
	struct nr_record r;
	int64_t before, after, fin;
	char err[256] = "";
	size_t n;
	char *path;

	p = open_part(tmpdir, T2026, HOUR);
	path = strdup(nr_part_path(p));
	assert_int_equal(nr_part_begin(p), 0);
	flow_rec(&r, T2026 + SEC(5), 1);
	r.flow.ts_end_ns = T2026 + SEC(20); /* the latest time */
	assert_int_equal(nr_part_insert(p, &r), 0);
	nr_record_gap(&r, NR_SRC_SOCKETS, T2026 + SEC(2), T2026 + SEC(3), "x", 1); /* the earliest */
	assert_int_equal(nr_part_insert(p, &r), 0);
	nr_record_health(&r, NR_SRC_RECORDER, T2026 + SEC(10), "m", 1);
	assert_int_equal(nr_part_insert(p, &r), 0);
	assert_int_equal(nr_part_commit(p), 0);
	assert_lookup_indexes(path, false);

	before = nr_now_ns();
	assert_int_equal(nr_part_close(p, true), 0);
	after = nr_now_ns();

	assert_false(side_exists(path, "-wal"));
	assert_false(side_exists(path, "-shm"));
	assert_false(side_exists(path, "-journal"));
	assert_int_equal(file_mode(path), 0444);
	assert_query(path, "PRAGMA journal_mode", "delete");
	assert_query(path, "PRAGMA integrity_check", "ok");
	assert_lookup_indexes(path, true);
	fin = query_i64(path, "SELECT value FROM meta WHERE key = 'finalized_ns'");
	assert_true(fin >= before && fin <= after);
	assert_query(path, "SELECT value FROM meta WHERE key = 'data_min_ns'",
		     "1795352402000000000");
	assert_query(path, "SELECT value FROM meta WHERE key = 'data_max_ns'",
		     "1795352420000000000");
	assert_query(path, "SELECT count(*) FROM flows", "1");

	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_int_equal(n, 1);
	assert_true(parts[0].finalized);
	nr_store_list_free(parts, n);

	/* Never written again: even root, who could open it for writing, gets -EROFS. */
	assert_int_equal(nr_part_open(tmpdir, T2026, HOUR, &m, &again, err, sizeof(err)), -EROFS);
	assert_ptr_equal(again, (void *)1);
	assert_int_equal(file_mode(path), 0444);
	free(path);
}

static void test_part_finalize_empty(void **state)
{
	struct nr_part *p = open_part(tmpdir, T2026, HOUR);
	char *path = strdup(nr_part_path(p));

	assert_int_equal(nr_part_close(p, true), 0);
	assert_int_equal(file_mode(path), 0444);
	assert_query(path, "SELECT count(*) FROM meta WHERE key = 'finalized_ns'", "1");
	/* No data: no data span either (not even NULL values). */
	assert_query(path, "SELECT count(*) FROM meta WHERE key LIKE 'data_m%' AND value IS NOT NULL",
		     "0");
	free(path);
}

static void test_part_close_commits_open_txn(void **state)
{
	struct nr_part *p = open_part(tmpdir, T2026, HOUR);
	char *path = strdup(nr_part_path(p));
	struct nr_record r;

	assert_int_equal(nr_part_begin(p), 0);
	flow_rec(&r, T2026, 1);
	assert_int_equal(nr_part_insert(p, &r), 0);
	assert_int_equal(nr_part_close(p, false), 0);
	assert_query(path, "SELECT count(*) FROM flows", "1");
	assert_false(side_exists(path, "-wal"));
	free(path);
}

static void test_part_newer_schema(void **state)
{
	struct nr_meta_info m = test_meta();
	struct nr_part *p = open_part(tmpdir, T2026, HOUR), *q = (void *)1;
	char *path = strdup(nr_part_path(p)), err[256] = "";

	assert_int_equal(nr_part_close(p, false), 0);
	exec_rw(path, "PRAGMA user_version = 99; CREATE TABLE from_the_future(x);");
	assert_int_equal(nr_part_open(tmpdir, T2026, HOUR, &m, &q, err, sizeof(err)),
			 -EPROTONOSUPPORT);
	assert_ptr_equal(q, (void *)1);
	assert_true(err[0] != '\0');
	/* Left as it was. */
	assert_query(path, "PRAGMA user_version", "99");
	assert_query(path, "SELECT value FROM meta WHERE key = 'schema_version'", "4");
	free(path);
}

/* A partition that a crashed recorder left behind: committed rows only in the -wal. */
static void test_finalize_path_crash_leftover(void **state)
{
	struct nr_part_info *parts;
	char err[256] = "", *path, *missing;
	size_t n;
	pid_t pid;
	int status;

	path = path_in(tmpdir, "20261122T130000Z-3600s.db");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nr_meta_info m;
		struct nr_part *p = NULL;
		struct nr_record r;

		nr_meta_info_fill(&m, "crash", false);
		if (nr_part_open(tmpdir, T2026, HOUR, &m, &p, NULL, 0) < 0 || nr_part_begin(p) < 0)
			_exit(1);
		for (int i = 0; i < 3; i++) {
			flow_rec(&r, T2026 + SEC(i + 1), (uint64_t)i + 1);
			if (nr_part_insert(p, &r) < 0)
				_exit(2);
		}
		if (nr_part_commit(p) < 0)
			_exit(3);
		/* One more, never committed. */
		if (nr_part_begin(p) < 0 || nr_part_insert(p, &r) < 0)
			_exit(4);
		_exit(0); /* no close: as after SIGKILL */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	assert_true(side_exists(path, "-wal"));
	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_int_equal(n, 1);
	assert_false(parts[0].finalized);
	nr_store_list_free(parts, n);

	assert_int_equal(nr_store_finalize_path(path, err, sizeof(err)), 0);
	assert_false(side_exists(path, "-wal"));
	assert_false(side_exists(path, "-shm"));
	assert_int_equal(file_mode(path), 0444);
	assert_query(path, "PRAGMA integrity_check", "ok");
	/* The committed rows survive, the uncommitted one does not. */
	assert_query(path, "SELECT group_concat(packets) FROM (SELECT packets FROM flows ORDER BY 1)",
		     "1,2,3");
	assert_query(path, "SELECT value FROM meta WHERE key = 'data_min_ns'",
		     "1795352401000000000");
	assert_query(path, "SELECT value FROM meta WHERE key = 'data_max_ns'",
		     "1795352403000000000");
	assert_query(path, "SELECT count(*) FROM meta WHERE key = 'finalized_ns'", "1");
	assert_query(path, "SELECT value FROM meta WHERE key = 'netrec_version'", "crash");
	assert_lookup_indexes(path, true);
	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_true(parts[0].finalized);
	nr_store_list_free(parts, n);

	/* A path that does not exist is an error with a message, and is not created. */
	missing = path_in(tmpdir, "20261122T140000Z-3600s.db");
	err[0] = '\0';
	assert_true(nr_store_finalize_path(missing, err, sizeof(err)) < 0);
	assert_true(err[0] != '\0');
	assert_false(exists(missing));
	free(missing);
	free(path);
}

/* ---- schema -------------------------------------------------------------------------- */

static char *master_dump(sqlite3 *db)
{
	sqlite3_stmt *st;
	char *s = NULL;

	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT group_concat(type || ' ' || name || ' ' || "
					    "coalesce(sql, ''), ';') FROM sqlite_master",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	s = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
	sqlite3_finalize(st);
	return s;
}

static int db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A VFS in front of the default one that counts rollback journals opened: a partition's life
 * must open none (see wal_enter() in store.c). A hot journal left by a kill makes every
 * read-only open fail until a writer rolls it back; crash-recovery hit it when netrecd was
 * killed while the finalizer built the indexes of the partition it had just closed. */
static sqlite3_vfs journal_vfs, *journal_real;
static int journal_opens;

static int journal_vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
			    int *ret_flags)
{
	(void)vfs;
	if (flags & SQLITE_OPEN_MAIN_JOURNAL)
		journal_opens++;
	return journal_real->xOpen(journal_real, name, f, flags, ret_flags);
}

static void journal_vfs_install(void)
{
	journal_real = sqlite3_vfs_find(NULL);
	assert_non_null(journal_real);
	journal_vfs = *journal_real;
	journal_vfs.zName = "nr-journal-count";
	journal_vfs.xOpen = journal_vfs_open;
	assert_int_equal(sqlite3_vfs_register(&journal_vfs, 1), SQLITE_OK);
	journal_opens = 0;
}

static void journal_vfs_remove(void)
{
	assert_int_equal(sqlite3_vfs_register(journal_real, 1), SQLITE_OK);
	assert_int_equal(sqlite3_vfs_unregister(&journal_vfs), SQLITE_OK);
}

/* The writer's rollover (close without finalizing, as writer.c does), a restart that reopens
 * the closed file, the background finalization of it, and a finalizing close: WAL throughout,
 * never a rollback journal. */
static void test_part_life_no_rollback_journal(void **state)
{
	struct nr_part *p;
	struct nr_record r;
	char err[256] = "", *path;

	journal_vfs_install();
	p = open_part(tmpdir, T2026, HOUR);
	path = strdup(nr_part_path(p));
	assert_int_equal(nr_part_begin(p), 0);
	for (int i = 0; i < 200; i++) {
		flow_rec(&r, T2026 + SEC(1) + i, (uint64_t)i + 1);
		assert_int_equal(nr_part_insert(p, &r), 0);
	}
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);
	assert_false(side_exists(path, "-wal"));
	assert_query(path, "PRAGMA journal_mode", "delete"); /* any reader opens it as it is */

	/* A stop and a start within the hour: the same file, back in WAL. */
	p = open_part(tmpdir, T2026, HOUR);
	assert_query(path, "PRAGMA journal_mode", "wal");
	assert_int_equal(nr_part_begin(p), 0);
	assert_int_equal(nr_part_insert(p, &r), 0);
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);

	assert_int_equal(nr_store_finalize_path(path, err, sizeof(err)), 0);
	assert_int_equal(file_mode(path), 0444);
	assert_query(path, "PRAGMA journal_mode", "delete");
	assert_query(path, "SELECT count(*) FROM flows", "201");
	assert_lookup_indexes(path, true);

	/* The writer's own finalizing close of the next hour. */
	p = open_part(tmpdir, T2026 + HOUR, HOUR);
	free(path);
	path = strdup(nr_part_path(p));
	assert_int_equal(nr_part_begin(p), 0);
	assert_int_equal(nr_part_insert(p, &r), 0);
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, true), 0);
	assert_query(path, "PRAGMA journal_mode", "delete");
	free(path);

	assert_int_equal(journal_opens, 0);
	journal_vfs_remove();
}

static void test_schema_apply(void **state)
{
	sqlite3 *db;
	char *before, *after;
	int changes;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	/* Empty database: created, version 0 reported. */
	assert_int_equal(nr_schema_apply(db), 0);
	assert_int_equal(db_int(db, "PRAGMA user_version"), NR_SCHEMA_VERSION);
	assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
				    "name IN ('meta', 'flows', 'conntrack', 'sockets', 'snapshots', "
				    "'links', 'addresses', 'routes', 'neighbors', 'listeners', "
				    "'gaps', 'health')"),
			 12);
	/* Not inside a transaction left open. */
	assert_true(sqlite3_get_autocommit(db));

	/* Current: reported as such, nothing changes. */
	before = master_dump(db);
	changes = sqlite3_total_changes(db);
	assert_int_equal(nr_schema_apply(db), NR_SCHEMA_VERSION);
	after = master_dump(db);
	assert_string_equal(before, after);
	assert_int_equal(sqlite3_total_changes(db), changes);
	assert_int_equal(db_int(db, "PRAGMA user_version"), NR_SCHEMA_VERSION);

	/* Indexes: built, and building again is harmless. */
	assert_int_equal(nr_schema_build_indexes(db), 0);
	assert_true(db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
			       "tbl_name = 'flows'") >= 3);
	assert_int_equal(nr_schema_build_indexes(db), 0);

	/* Newer than this build. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(nr_schema_apply(db), -EPROTONOSUPPORT);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 99);
	free(before);
	free(after);
	sqlite3_close(db);
}

static void test_schema_apply_atomic(void **state)
{
	sqlite3 *db;

	/* A version-0 database that already has a conflicting table: the migration fails as a
	 * whole, leaving neither a half schema nor a version. */
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE gaps(x)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(nr_schema_apply(db), -EIO);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 0);
	assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master"), 1);
	assert_true(sqlite3_get_autocommit(db));
	sqlite3_close(db);
}

static void test_schema_migrate(void **state)
{
	static const char *const scripts[] = {
		"CREATE TABLE a(x);",
		"ALTER TABLE a ADD COLUMN y; CREATE TABLE b(z);",
		"INSERT INTO b VALUES (42);",
	};
	static const char *const broken[] = {
		"CREATE TABLE a(x);",
		"CREATE TABLE c(x); THIS IS NOT SQL;",
	};
	sqlite3 *db;

	/* From empty to the last version, in order. */
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(nr_schema_migrate(db, scripts, 3), 0);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 3);
	assert_int_equal(db_int(db, "SELECT count(*) FROM pragma_table_info('a')"), 2);
	assert_int_equal(db_int(db, "SELECT z FROM b"), 42);
	/* Current: nothing runs again (the insert would make two rows). */
	assert_int_equal(nr_schema_migrate(db, scripts, 3), 3);
	assert_int_equal(db_int(db, "SELECT count(*) FROM b"), 1);
	/* Newer than the scripts know. */
	assert_int_equal(nr_schema_migrate(db, scripts, 2), -EPROTONOSUPPORT);
	sqlite3_close(db);

	/* From version 1: only the scripts after it. */
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE a(x); PRAGMA user_version = 1", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	assert_int_equal(nr_schema_migrate(db, scripts, 3), 1);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 3);
	assert_int_equal(db_int(db, "SELECT count(*) FROM pragma_table_info('a')"), 2);
	sqlite3_close(db);

	/* A failing step: all or nothing, the earlier steps are undone too. */
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_true(nr_schema_migrate(db, broken, 2) < 0);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 0);
	assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master"), 0);
	assert_true(sqlite3_get_autocommit(db));
	/* Zero scripts: version 0 is current. */
	assert_int_equal(nr_schema_migrate(db, NULL, 0), 0);
	sqlite3_close(db);
}

/*
 * BUG (common/store.c nr_schema_note_span): store.h says nothing is written when the database
 * has no rows, but "SELECT key, min(t) FROM (...) WHERE t IS NOT NULL" is an aggregate: it
 * yields one row even when WHERE leaves none, so data_min_ns/data_max_ns are written as
 * NULL (in every empty finalized partition and export). HAVING min(t) IS NOT NULL would do.
 */
static void test_schema_note_span(void **state)
{
	sqlite3 *db;
	int empty_keys;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(nr_schema_apply(db), 0);
	/* Rows in several tables: the span is over all of them, flows by start and end. */
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO flows(ts_start_ns, ts_end_ns) VALUES (500, 900);"
				      "INSERT INTO gaps VALUES (300, 400, 'flows', 'x', 1);"
				      "INSERT INTO health VALUES (950, 'recorder', 'm', 1);"
				      "INSERT INTO conntrack(ts_ns, event) VALUES (600, 'new');",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(nr_schema_note_span(db, "main", "lo", "hi"), 0);
	assert_int_equal(db_int(db, "SELECT value FROM meta WHERE key = 'lo'"), 300);
	assert_int_equal(db_int(db, "SELECT value FROM meta WHERE key = 'hi'"), 950);

	/* Another schema, by name; an awkward name is quoted, not injected. */
	{
		sqlite3_stmt *st;
		int rc;

		/* A second database with the same tables. */
		assert_int_equal(sqlite3_exec(db, "ATTACH ':memory:' AS \"o\"\"ut\"",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		rc = sqlite3_prepare_v2(db, "SELECT sql FROM main.sqlite_master WHERE type = 'table'",
					-1, &st, NULL);
		assert_int_equal(rc, SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char *sql = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
			char *q;

			/* CREATE TABLE name -> CREATE TABLE "o""ut".name */
			q = sqlite3_mprintf("CREATE TABLE \"o\"\"ut\".%s", sql + strlen("CREATE TABLE "));
			assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
			sqlite3_free(q);
			sqlite3_free(sql);
		}
		sqlite3_finalize(st);
	}
	assert_int_equal(sqlite3_exec(db, "INSERT INTO \"o\"\"ut\".sockets(ts_ns, kind) VALUES (7, 'x')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(nr_schema_note_span(db, "o\"ut", "lo", "hi'; DROP TABLE flows; --"), 0);
	assert_int_equal(db_int(db, "SELECT value FROM \"o\"\"ut\".meta WHERE key = 'lo'"), 7);
	assert_int_equal(db_int(db, "SELECT count(*) FROM \"o\"\"ut\".meta WHERE key = "
				    "'hi''; DROP TABLE flows; --'"),
			 1);
	assert_int_equal(db_int(db, "SELECT count(*) FROM main.flows"), 1);

	/* No rows at all: no keys. */
	assert_int_equal(sqlite3_exec(db, "DELETE FROM \"o\"\"ut\".sockets; DELETE FROM \"o\"\"ut\".meta",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(nr_schema_note_span(db, "o\"ut", "lo", "hi"), 0);
	empty_keys = db_int(db, "SELECT count(*) FROM \"o\"\"ut\".meta");
	sqlite3_close(db);
	if (empty_keys != 0)
		fail_msg("BUG: %d meta keys (NULL values) written for a database without rows",
			 empty_keys);
}

static void add_health(int64_t window, const int64_t *ts, size_t n)
{
	struct nr_part *p = open_part(tmpdir, window, HOUR);
	struct nr_record r;

	assert_int_equal(nr_part_begin(p), 0);
	for (size_t i = 0; i < n; i++) {
		nr_record_health(&r, NR_SRC_RECORDER, ts[i], "m", 1);
		assert_int_equal(nr_part_insert(p, &r), 0);
	}
	/* Other tables do not count: only health rows say the recorder ran. */
	flow_rec(&r, window + HOUR - 1, 1);
	assert_int_equal(nr_part_insert(p, &r), 0);
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);
}

static void test_store_last_seen(void **state)
{
	const int64_t a[] = { T2020 + SEC(10), T2020 + SEC(3000), T2020 + SEC(20) };
	const int64_t b[] = { T2020 + HOUR + SEC(7) };
	int64_t t = 123;

	assert_int_equal(nr_store_last_seen(tmpdir, &t), -ENOENT);
	assert_int_equal(nr_store_last_seen("/nonexistent/netrec", &t), -ENOENT);
	assert_int_equal(t, 123);

	add_health(T2020, a, 3);
	assert_int_equal(nr_store_last_seen(tmpdir, &t), 0);
	assert_int_equal(t, T2020 + SEC(3000));
	/* A newer partition's newest health row. */
	add_health(T2020 + HOUR, b, 1);
	assert_int_equal(nr_store_last_seen(tmpdir, &t), 0);
	assert_int_equal(t, T2020 + HOUR + SEC(7));
	/* Newer partitions without health rows, or unreadable, are looked past. */
	add_health(T2020 + 2 * HOUR, NULL, 0);
	make_file(tmpdir, "20200101T030000Z-3600s.db", 4096, 0644);
	assert_int_equal(nr_store_last_seen(tmpdir, &t), 0);
	assert_int_equal(t, T2020 + HOUR + SEC(7));
}

static void test_part_resume_synthetic(void **state)
{
	struct nr_meta_info m;
	struct nr_part *p = open_part(tmpdir, T2026, HOUR);
	char *path = strdup(nr_part_path(p));

	assert_int_equal(nr_part_close(p, false), 0);
	assert_query(path, "SELECT count(*) FROM meta WHERE key = 'synthetic'", "0");
	/* Resumed by a synthetic run: marked, so nobody mistakes its rows for real traffic. */
	nr_meta_info_fill(&m, "other", true);
	p = NULL;
	assert_int_equal(nr_part_open(tmpdir, T2026, HOUR, &m, &p, NULL, 0), 0);
	assert_int_equal(nr_part_close(p, false), 0);
	assert_query(path, "SELECT value FROM meta WHERE key = 'synthetic'", "1");
	/* The rest of meta is the first writer's. */
	assert_query(path, "SELECT value FROM meta WHERE key = 'netrec_version'", "9.9.9-test");
	free(path);
}

static void test_sqlite_errno(void **state)
{
	assert_int_equal(nr_sqlite_errno(SQLITE_OK), 0);
	assert_int_equal(nr_sqlite_errno(SQLITE_DONE), 0);
	assert_int_equal(nr_sqlite_errno(SQLITE_ROW), 0);
	assert_int_equal(nr_sqlite_errno(SQLITE_FULL), -ENOSPC);
	assert_int_equal(nr_sqlite_errno(SQLITE_IOERR_WRITE), -EIO);
	assert_int_equal(nr_sqlite_errno(SQLITE_READONLY), -EACCES);
	assert_int_equal(nr_sqlite_errno(SQLITE_READONLY_DBMOVED), -EACCES);
	assert_int_equal(nr_sqlite_errno(SQLITE_BUSY), -EBUSY);
	assert_int_equal(nr_sqlite_errno(SQLITE_NOMEM), -ENOMEM);
	assert_int_equal(nr_sqlite_errno(SQLITE_CORRUPT), -EBADMSG);
	assert_int_equal(nr_sqlite_errno(SQLITE_NOTADB), -EBADMSG);
	assert_int_equal(nr_sqlite_errno(SQLITE_CONSTRAINT_UNIQUE), -EINVAL);
	assert_int_equal(nr_sqlite_errno(SQLITE_ERROR), -EIO);
	assert_string_equal(nr_table_name(NR_T_FLOWS), "flows");
	assert_string_equal(nr_table_name(NR_T_HEALTH), "health");
	assert_string_equal(nr_table_name(NR_T_COUNT), "?");
	assert_string_equal(nr_source_name(NR_SRC_CONNTRACK), "conntrack");
	assert_string_equal(nr_source_name(NR_SRC_COUNT), "?");
}

/* ---- retention ----------------------------------------------------------------------- */

/*
 * Seven hourly stand-in partitions from 2020-01-01T00:00Z (p0 .. p6), 1000 bytes each:
 *   p0 writable (never deleted), p1 finalized (with a stale -journal), p2 finalized (the
 *   keep_path), p3 finalized with a 500-byte -shm, p4 read-only but with a 100-byte -wal
 *   (not finalized), p5 and p6 finalized. Total 7600 bytes.
 */
static const char *const ret_names[7] = {
	"20200101T000000Z-3600s.db", "20200101T010000Z-3600s.db", "20200101T020000Z-3600s.db",
	"20200101T030000Z-3600s.db", "20200101T040000Z-3600s.db", "20200101T050000Z-3600s.db",
	"20200101T060000Z-3600s.db",
};

static void retention_fixture(void)
{
	for (int i = 0; i < 7; i++)
		make_file(tmpdir, ret_names[i], 1000, i == 0 ? 0644 : 0444);
	make_file(tmpdir, "20200101T010000Z-3600s.db-journal", 10, 0644);
	make_file(tmpdir, "20200101T030000Z-3600s.db-shm", 500, 0644);
	make_file(tmpdir, "20200101T040000Z-3600s.db-wal", 100, 0644);
	make_file(tmpdir, "netrecd.lock", 0, 0644);
	make_file(tmpdir, "notes.txt", 5000, 0444);
}

/* @want: which of p0..p6 must be gone. */
static void check_retention(struct nr_part_info *del, size_t ndel, const int *want, size_t nwant)
{
	assert_int_equal(ndel, nwant);
	for (size_t i = 0; i < nwant; i++) {
		char *p = path_in(tmpdir, ret_names[want[i]]);

		assert_string_equal(del[i].name, ret_names[want[i]]);
		assert_string_equal(del[i].path, p);
		assert_int_equal(del[i].start_ns, T2020 + want[i] * HOUR);
		assert_int_equal(del[i].size, want[i] == 3 ? 1500 : 1000);
		free(p);
	}
	for (int k = 0; k < 7; k++) {
		char *p = path_in(tmpdir, ret_names[k]);
		bool gone = false;

		for (size_t i = 0; i < nwant; i++)
			gone |= want[i] == k;
		if (exists(p) == gone)
			fail_msg("%s: %s", ret_names[k], gone ? "not deleted" : "deleted");
		/* Side files go with their partition. */
		if (gone) {
			assert_false(side_exists(p, "-wal"));
			assert_false(side_exists(p, "-shm"));
			assert_false(side_exists(p, "-journal"));
		}
		free(p);
	}
	assert_true(side_exists(tmpdir, "/netrecd.lock"));
	assert_true(side_exists(tmpdir, "/notes.txt"));
}

static void test_retention_age(void **state)
{
	static const int want[] = { 1, 3 };
	struct nr_part_info *del = NULL;
	char *keep = path_in(tmpdir, ret_names[2]);
	size_t n = 0;

	retention_fixture();
	/* now = 10:00, max age 5 h: windows that ended before 05:00 go (p0..p3; p4 ends at
	 * exactly 05:00 and stays), but p0 is writable and p2 is kept. */
	assert_int_equal(nr_store_retention(tmpdir, T2020 + 10 * HOUR, 5 * HOUR, 0, keep, &del, &n),
			 0);
	check_retention(del, n, want, 2);
	assert_true(side_exists(tmpdir, "/20200101T040000Z-3600s.db-wal"));
	nr_store_list_free(del, n);

	/* Again: nothing more to do. */
	assert_int_equal(nr_store_retention(tmpdir, T2020 + 10 * HOUR, 5 * HOUR, 0, keep, &del, &n),
			 0);
	assert_int_equal(n, 0);
	nr_store_list_free(del, n);
	free(keep);
}

static void test_retention_size(void **state)
{
	static const int want[] = { 1, 3, 5 };
	struct nr_part_info *del = NULL;
	char *keep = path_in(tmpdir, ret_names[2]);
	size_t n = 0;

	retention_fixture();
	/* 7600 bytes, limit 4100: oldest finalized first, skipping p0 (writable), p2 (kept) and
	 * p4 (has a -wal): p1 -> 6600, p3 -> 5100, p5 -> 4100, which is not over the limit. */
	assert_int_equal(nr_store_retention(tmpdir, T2020 + 10 * HOUR, 0, 4100, keep, &del, &n), 0);
	check_retention(del, n, want, 3);
	nr_store_list_free(del, n);
	free(keep);
}

static void test_retention_size_all(void **state)
{
	static const int want[] = { 1, 2, 3, 5, 6 };
	struct nr_part_info *del = NULL;
	size_t n = 0;

	retention_fixture();
	/* A limit nothing can meet: every finalized partition goes (no keep_path), the writable
	 * ones stay. */
	assert_int_equal(nr_store_retention(tmpdir, T2020, 0, 1, NULL, &del, &n), 0);
	check_retention(del, n, want, 5);
	nr_store_list_free(del, n);
}

static void test_retention_none(void **state)
{
	struct nr_part_info *del = NULL;
	size_t n = 99;

	retention_fixture();
	/* No limits; limits that are met. */
	assert_int_equal(nr_store_retention(tmpdir, T2020 + 1000 * HOUR, 0, 0, NULL, &del, &n), 0);
	assert_int_equal(n, 0);
	nr_store_list_free(del, n);
	assert_int_equal(nr_store_retention(tmpdir, T2020 + 10 * HOUR, 10 * HOUR, 7600, NULL, &del,
					    &n),
			 0);
	assert_int_equal(n, 0);
	nr_store_list_free(del, n);
	check_retention(NULL, 0, NULL, 0);

	del = (void *)1;
	n = 99;
	assert_int_equal(nr_store_retention("/nonexistent/netrec", T2020, HOUR, 1, NULL, &del, &n),
			 -ENOENT);
}

static void test_retention_real_partitions(void **state)
{
	struct nr_part_info *del = NULL, *parts;
	size_t n = 0, np;
	struct nr_part *p;

	/* Three real hourly partitions: two finalized, the newest open. Age 1 h at 03:30: the
	 * first (ended 01:00) goes, the second (ended 02:00, before 02:30) too, the open one
	 * stays whatever its age. */
	for (int i = 0; i < 3; i++) {
		p = open_part(tmpdir, T2020 + i * HOUR, HOUR);
		assert_int_equal(nr_part_close(p, i < 2), 0);
	}
	assert_int_equal(nr_store_retention(tmpdir, T2020 + 3 * HOUR + HOUR / 2, HOUR, 0, NULL, &del,
					    &n),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(del[0].name, "20200101T000000Z-3600s.db");
	assert_string_equal(del[1].name, "20200101T010000Z-3600s.db");
	nr_store_list_free(del, n);
	assert_int_equal(nr_store_list(tmpdir, &parts, &np), 0);
	assert_int_equal(np, 1);
	assert_string_equal(parts[0].name, "20200101T020000Z-3600s.db");
	nr_store_list_free(parts, np);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_part_name),
		cmocka_unit_test(test_part_name_parse_bad),
		cmocka_unit_test(test_part_align),
		cmocka_unit_test_setup_teardown(test_store_list, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_lock, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_open_new, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_open_synthetic_meta, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_open_errors, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_insert_all_tables, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_insert_bad_table, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_rollback_and_resume, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_finalize, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_finalize_empty, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_close_commits_open_txn, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_newer_schema, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_life_no_rollback_journal, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_finalize_path_crash_leftover, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test(test_schema_apply),
		cmocka_unit_test(test_schema_apply_atomic),
		cmocka_unit_test(test_schema_migrate),
		cmocka_unit_test(test_schema_note_span),
		cmocka_unit_test_setup_teardown(test_store_last_seen, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_part_resume_synthetic, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test(test_sqlite_errno),
		cmocka_unit_test_setup_teardown(test_retention_age, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_retention_size, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_retention_size_all, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_retention_none, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_retention_real_partitions, tmpdir_setup,
						tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
