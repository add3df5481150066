// SPDX-License-Identifier: MIT
/*
 * recorder/writer: records pushed through a real queue land in the right tables; commits
 * happen at batch_rows and at the batch latency; one-second partitions roll over and the
 * closed ones are finalized in the background; leftovers are finalized and retention applied
 * at start and on change; an unwritable data directory makes the writer blind (it keeps
 * running and counts), and once the directory is usable again a `gaps` row per source says
 * exactly how much was lost. Everything is checked from outside: stat() and a separate
 * sqlite3 connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "log.h"
#include "nrtime.h"
#include "queue.h"
#include "record.h"
#include "store.h"
#include "writer.h"

#define TESTDIR_PREFIX "/tmp/nr-ut-writer-XXXXXX"
#include "testdir.h"
#include "testsql.h"

#define MS(x) ((int64_t)(x) * NR_NS_PER_MS)
#define SEC(x) ((int64_t)(x) * NR_NS_PER_SEC)
#define HOUR SEC(3600)
#define T2020 SEC(1577836800) /* 2020-01-01T00:00:00Z */

/* ---- helpers ------------------------------------------------------------------------- */

static bool side_exists(const char *path, const char *suffix)
{
	char side[4096];

	snprintf(side, sizeof(side), "%s%s", path, suffix);
	return access(side, F_OK) == 0;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void make_file(const char *dir, const char *name, size_t size, mode_t mode)
{
	char *p = path_in(dir, name), *buf = calloc(1, size ? size : 1);
	int fd;

	assert_non_null(buf);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
	free(buf);
	free(p);
}

/* Concatenation of @sql's rows over every partition of @dir, oldest first. */
static char *query_all(const char *dir, const char *sql)
{
	struct nr_part_info *parts;
	char *out = NULL;
	size_t n, len = 0;
	FILE *f = open_memstream(&out, &len);
	bool first = true;

	assert_int_equal(nr_store_list(dir, &parts, &n), 0);
	for (size_t i = 0; i < n; i++) {
		char *s = query(parts[i].path, sql);

		if (*s) {
			fprintf(f, "%s%s", first ? "" : "\n", s);
			first = false;
		}
		free(s);
	}
	nr_store_list_free(parts, n);
	fclose(f);
	return out;
}

static void assert_query_all(const char *dir, const char *sql, const char *want)
{
	char *got = query_all(dir, sql);

	if (strcmp(got, want) != 0)
		fail_msg("%s\n got: %s\nwant: %s", sql, got, want);
	free(got);
}

/* Rows of @table over every partition of @dir. */
static int64_t count_rows(const char *dir, const char *table)
{
	struct nr_part_info *parts;
	char sql[128];
	int64_t total = 0;
	size_t n;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (nr_store_list(dir, &parts, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		total += query_i64(parts[i].path, sql);
	nr_store_list_free(parts, n);
	return total;
}

/* count_rows() for polling while the writer runs: a partition being created may not have
 * its tables yet (its schema commits a moment after the file appears); it counts as 0. */
static int64_t count_rows_now(const char *dir, const char *table)
{
	struct nr_part_info *parts;
	int64_t total = 0;
	char sql[128];
	size_t n;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (nr_store_list(dir, &parts, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		sqlite3 *db = NULL;
		sqlite3_stmt *st;

		if (sqlite3_open_v2(parts[i].path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				total += sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
		sqlite3_close(db);
	}
	nr_store_list_free(parts, n);
	return total;
}

static size_t count_parts(const char *dir, size_t *ret_finalized)
{
	struct nr_part_info *parts;
	size_t n, fin = 0;

	if (nr_store_list(dir, &parts, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		fin += parts[i].finalized;
	nr_store_list_free(parts, n);
	if (ret_finalized)
		*ret_finalized = fin;
	return n;
}

static struct nr_record mk(enum nr_table t, enum nr_source_id src, uint64_t seq)
{
	struct nr_record r;
	int64_t now = nr_now_ns();

	memset(&r, 0, sizeof(r));
	r.table = t;
	r.source = src;
	switch (t) {
	case NR_T_FLOWS:
		r.flow.ts_start_ns = now;
		r.flow.ts_end_ns = now;
		r.flow.proto = 6;
		r.flow.src.family = 2;
		r.flow.src.bytes[0] = 10;
		r.flow.src.bytes[3] = 1;
		r.flow.dst = r.flow.src;
		r.flow.packets = seq;
		r.flow.icmp_type = NR_NONE;
		r.flow.icmp_code = NR_NONE;
		break;
	case NR_T_CONNTRACK:
		r.ct.ts_ns = now;
		snprintf(r.ct.event, sizeof(r.ct.event), "new");
		r.ct.ct_id = (uint32_t)seq;
		r.ct.proto = 17;
		break;
	case NR_T_SOCKETS:
		r.sock.ts_ns = now;
		snprintf(r.sock.kind, sizeof(r.sock.kind), "sample");
		r.sock.inode = seq + 1;
		r.sock.uid = r.sock.pid = NR_NONE;
		break;
	case NR_T_SNAPSHOTS:
		r.snap.id = (int64_t)seq;
		r.snap.ts_ns = now;
		break;
	case NR_T_LINKS:
		r.link.snapshot_id = 1;
		r.link.ifindex = (uint32_t)seq + 1;
		break;
	case NR_T_HEALTH:
		nr_record_health(&r, src, now, "test", (double)seq);
		break;
	case NR_T_GAPS:
		nr_record_gap(&r, src, now, now, "test", (int64_t)seq);
		break;
	default:
		fail_msg("mk: table %d", t);
	}
	return r;
}

static void push(struct nr_queue *q, enum nr_table t, enum nr_source_id src, uint64_t seq)
{
	struct nr_record r = mk(t, src, seq);

	assert_int_equal(nr_queue_push(q, &r), 0);
}

struct fixture {
	struct nr_queue *q;
	struct nr_writer *w;
	struct nr_writer_opts o;
};

static void start(struct fixture *f, const char *dir, int64_t width, size_t batch_rows,
		  int64_t batch_ns, size_t qcap)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(nr_queue_new(qcap, &f->q), 0);
	f->o = (struct nr_writer_opts){ .dir = dir, .width_ns = width, .batch_rows = batch_rows,
					.batch_ns = batch_ns, .version = "test" };
}

static void run(struct fixture *f)
{
	assert_int_equal(nr_writer_start(&f->o, f->q, &f->w), 0);
}

static int stop(struct fixture *f)
{
	int r;

	nr_queue_close(f->q);
	r = nr_writer_stop(f->w);
	nr_queue_free(f->q);
	f->w = NULL;
	f->q = NULL;
	return r;
}

static struct nr_writer_stats stats(struct fixture *f)
{
	struct nr_writer_stats st;

	nr_writer_stats(f->w, &st);
	return st;
}

/* Polls @expr (which may use `st`, refreshed each turn) for up to @ms milliseconds. */
#define WAIT_STATS(f, ms, expr)                                                   \
	({                                                                        \
		int64_t _end = nr_mono_ns() + MS(ms);                             \
		struct nr_writer_stats st = stats(f);                             \
		while (!(expr) && nr_mono_ns() < _end) {                          \
			sleep_ms(10);                                             \
			st = stats(f);                                            \
		}                                                                 \
		(void)st;                                                         \
		(bool)(expr);                                                     \
	})

/* Sleeps past the end of the current window of @width if it ends within @margin, so a
 * test that needs one window for a while does not straddle two. */
static void avoid_window_end(int64_t width, int64_t margin)
{
	int64_t now = nr_now_ns(), end = nr_part_align(now, width) + width;

	if (end - now < margin)
		sleep_ms((int)((end - now) / NR_NS_PER_MS) + 50);
}

static int quiet_setup(void **state)
{
	/* The writer logs its blind periods and finalizations; the tests check them. */
	nr_log_init("test-writer", NR_LOG_ERROR);
	return 0;
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_start_invalid(void **state)
{
	struct nr_writer_opts o = { .dir = "/tmp", .width_ns = HOUR, .batch_rows = 1,
				    .batch_ns = MS(100) };
	struct nr_writer *w = (void *)1;
	struct nr_queue *q;

	assert_int_equal(nr_queue_new(16, &q), 0);
	o.dir = NULL;
	assert_int_equal(nr_writer_start(&o, q, &w), -EINVAL);
	o.dir = "/tmp";
	o.width_ns = MS(999);
	assert_int_equal(nr_writer_start(&o, q, &w), -EINVAL);
	o.width_ns = HOUR;
	o.batch_rows = 0;
	assert_int_equal(nr_writer_start(&o, q, &w), -EINVAL);
	o.batch_rows = 1;
	o.batch_ns = 0;
	assert_int_equal(nr_writer_start(&o, q, &w), -EINVAL);
	assert_ptr_equal(w, (void *)1);
	assert_int_equal(nr_writer_stop(NULL), 0);
	nr_queue_free(q);
}

static void test_rows_land(void **state)
{
	static const struct {
		enum nr_table t;
		enum nr_source_id src;
		int n;
		const char *name;
	} plan[] = {
		{ NR_T_FLOWS, NR_SRC_FLOWS, 250, "flows" },
		{ NR_T_CONNTRACK, NR_SRC_CONNTRACK, 30, "conntrack" },
		{ NR_T_SOCKETS, NR_SRC_SOCKETS, 20, "sockets" },
		{ NR_T_SNAPSHOTS, NR_SRC_TOPOLOGY, 5, "snapshots" },
		{ NR_T_LINKS, NR_SRC_TOPOLOGY, 3, "links" },
		{ NR_T_HEALTH, NR_SRC_RECORDER, 4, "health" },
		{ NR_T_GAPS, NR_SRC_SYNTHETIC, 2, "gaps" },
	};
	struct nr_part_info *parts;
	struct fixture f;
	size_t n;
	int total = 0;

	start(&f, tmpdir, HOUR, 100, MS(200), 4096);
	f.o.synthetic = true;
	run(&f);
	/* Interleaved, as collectors would push them. */
	for (int i = 0; i < 250; i++)
		for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++)
			if (i < plan[k].n)
				push(f.q, plan[k].t, plan[k].src, (uint64_t)i);
	nr_queue_kick(f.q);
	for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++)
		total += plan[k].n;
	/* 314 rows in batches of 100: three commits at batch_rows, the rest at the latency. */
	assert_true(WAIT_STATS(&f, 5000, st.rows[NR_T_FLOWS] == 250 && st.rows[NR_T_GAPS] == 2 &&
						 st.rows[NR_T_CONNTRACK] == 30));
	{
		struct nr_writer_stats s = stats(&f);
		uint64_t sum = 0;

		for (int t = 0; t < NR_T_COUNT; t++)
			sum += s.rows[t];
		assert_int_equal(sum, total);
		for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++)
			assert_int_equal(s.rows[plan[k].t], plan[k].n);
		assert_true(s.commits >= 4);
		assert_int_equal(s.lost, 0);
		assert_false(s.blind);
	}
	assert_int_equal(stop(&f), 0);

	for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++)
		assert_int_equal(count_rows(tmpdir, plan[k].name), plan[k].n);
	/* Each row once, in push order. */
	assert_query_all(tmpdir, "SELECT count(DISTINCT packets), min(packets), max(packets) FROM flows",
			 "250|0|249");
	/* A clean stop leaves no -wal/-shm; meta says synthetic and the version. */
	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		assert_false(side_exists(parts[i].path, "-wal"));
		assert_false(side_exists(parts[i].path, "-shm"));
		assert_int_equal(query_i64(parts[i].path,
					   "SELECT value FROM meta WHERE key = 'synthetic'"),
				 1);
		{
			char *ok = query(parts[i].path, "PRAGMA integrity_check");

			assert_string_equal(ok, "ok");
			free(ok);
		}
	}
	assert_query_all(tmpdir, "SELECT value FROM meta WHERE key = 'netrec_version' LIMIT 1",
			 n == 1 ? "test" : "test\ntest");
	nr_store_list_free(parts, n);
}

static void test_commit_at_batch_rows(void **state)
{
	struct fixture f;

	avoid_window_end(HOUR, SEC(10));
	/* A latency far longer than the test: only batch_rows commits. */
	start(&f, tmpdir, HOUR, 10, SEC(60), 1024);
	run(&f);
	for (int i = 0; i < 25; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 5000, st.rows[NR_T_FLOWS] == 20));
	/* A reader sees exactly the two committed batches, and no more later on. */
	assert_int_equal(count_rows(tmpdir, "flows"), 20);
	sleep_ms(300);
	assert_int_equal(count_rows(tmpdir, "flows"), 20);
	assert_int_equal(stats(&f).commits, 2);
	assert_int_equal(stats(&f).rows[NR_T_FLOWS], 20);
	/* The stop commits the rest. */
	assert_int_equal(stop(&f), 0);
	assert_int_equal(count_rows(tmpdir, "flows"), 25);
}

static void test_commit_at_latency(void **state)
{
	struct fixture f;
	int64_t t0, dt = 0;

	avoid_window_end(HOUR, SEC(10));
	start(&f, tmpdir, HOUR, 1000000, MS(200), 1024);
	run(&f);
	t0 = nr_mono_ns();
	for (int i = 0; i < 5; i++)
		push(f.q, NR_T_CONNTRACK, NR_SRC_CONNTRACK, (uint64_t)i);
	nr_queue_kick(f.q);
	/* Visible to a reader without a stop, about batch_ns after the first row. */
	while (nr_mono_ns() - t0 < SEC(3)) {
		if (count_rows_now(tmpdir, "conntrack") == 5) {
			dt = nr_mono_ns() - t0;
			break;
		}
		sleep_ms(10);
	}
	if (!dt)
		fail_msg("rows not visible within 3 s with batch latency 200 ms");
	assert_true(dt >= MS(150));
	assert_true(dt < MS(1500));
	sleep_ms(50); /* the stats are updated just after the commit a reader sees */
	{
		struct nr_writer_stats a = stats(&f), b = stats(&f);

		/* One commit: its time is the last and the maximum, which restarts at each read. */
		assert_int_equal(a.commits, 1);
		assert_int_equal(a.rows[NR_T_CONNTRACK], 5);
		assert_true(a.commit_ns_last > 0);
		assert_int_equal(a.commit_ns_max, a.commit_ns_last);
		assert_int_equal(b.commit_ns_max, 0);
		assert_int_equal(b.commit_ns_last, a.commit_ns_last);
	}
	assert_int_equal(stop(&f), 0);
	assert_int_equal(count_rows(tmpdir, "conntrack"), 5);
}

static int64_t sum_packets(const char *dir)
{
	struct nr_part_info *parts;
	int64_t total = 0;
	size_t n;

	assert_int_equal(nr_store_list(dir, &parts, &n), 0);
	for (size_t i = 0; i < n; i++)
		total += query_i64(parts[i].path, "SELECT coalesce(sum(packets), 0) FROM flows");
	nr_store_list_free(parts, n);
	return total;
}

/* Every row of a partition was written before its window ended. */
static void check_rows_in_window(const struct nr_part_info *p)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM flows WHERE ts_start_ns >= %lld",
		 (long long)(p->start_ns + p->width_ns));
	assert_int_equal(query_i64(p->path, sql), 0);
}

static void test_rollover_and_finalize(void **state)
{
	struct nr_part_info *parts;
	struct fixture f;
	bool finalized_while_running = false;
	size_t n, fin;
	int64_t t0, stop_ns;
	uint64_t pushed = 0;

	start(&f, tmpdir, SEC(1), 10, MS(50), 4096);
	run(&f);
	t0 = nr_mono_ns();
	while (nr_mono_ns() - t0 < MS(2300)) {
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, pushed++);
		nr_queue_kick(f.q);
		sleep_ms(10);
		/* The background finalizer closes past windows while the writer runs. */
		if (!finalized_while_running && count_parts(tmpdir, &fin) >= 2 && fin >= 1)
			finalized_while_running = true;
	}
	/* One more second of running after the last record: the last windows are over before
	 * the stop, which must then finalize rather than leave them open. */
	sleep_ms(1100);
	if (!finalized_while_running && count_parts(tmpdir, &fin) >= 2 && fin >= 1)
		finalized_while_running = true;
	assert_true(WAIT_STATS(&f, 3000, st.rows[NR_T_FLOWS] == pushed));
	assert_int_equal(stop(&f), 0);
	stop_ns = nr_now_ns();
	assert_true(finalized_while_running);

	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		bool over = parts[i].start_ns + parts[i].width_ns <= stop_ns;

		assert_int_equal(parts[i].width_ns, SEC(1));
		assert_false(side_exists(parts[i].path, "-shm"));
		assert_false(side_exists(parts[i].path, "-wal"));
		if (over) {
			/* Closed windows: finalized, read-only, indexed, with meta complete. */
			if (!parts[i].finalized)
				fail_msg("%s: window over but not finalized", parts[i].name);
			assert_int_equal(file_mode(parts[i].path), 0444);
			assert_int_equal(query_i64(parts[i].path,
						   "SELECT count(*) FROM meta WHERE key = "
						   "'finalized_ns'"),
					 1);
			assert_true(query_i64(parts[i].path,
					      "SELECT count(*) FROM sqlite_master WHERE type = "
					      "'index' AND tbl_name = 'flows'") >= 1);
		}
		check_rows_in_window(&parts[i]);
	}
	nr_store_list_free(parts, n);
	assert_int_equal(count_rows(tmpdir, "flows"), pushed);
	/* Nothing was lost on the way, nothing written twice: 0 .. pushed-1 once each. */
	assert_int_equal(count_rows(tmpdir, "gaps"), 0);
	assert_int_equal(sum_packets(tmpdir), pushed * (pushed - 1) / 2);
}

/* The data directory is a path under a regular file: mkdir fails with ENOTDIR even for
 * root, unlike chmod 0555. */
static void test_blind_then_recover(void **state)
{
	char *file = path_in(tmpdir, "file"), *dir = path_in(tmpdir, "file/sub");
	struct fixture f;
	struct nr_writer_stats s;
	int64_t t0, t1;
	char sql[512], want[512];

	make_file(tmpdir, "file", 10, 0644);
	start(&f, dir, HOUR, 5, MS(100), 1024);
	run(&f);
	t0 = nr_now_ns();
	for (int i = 0; i < 7; i++)
		push(f.q, NR_T_CONNTRACK, NR_SRC_CONNTRACK, (uint64_t)i);
	for (int i = 0; i < 3; i++)
		push(f.q, NR_T_SOCKETS, NR_SRC_SOCKETS, (uint64_t)i);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 3000, st.blind && st.lost == 10));
	/* Still running and counting. */
	sleep_ms(200);
	push(f.q, NR_T_CONNTRACK, NR_SRC_CONNTRACK, 7);
	push(f.q, NR_T_CONNTRACK, NR_SRC_CONNTRACK, 8);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 3000, st.lost == 12));
	s = stats(&f);
	assert_true(s.blind);
	assert_int_equal(s.rows[NR_T_CONNTRACK], 0);

	/* The directory becomes usable: within a retry period the writer sees it. */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(mkdir(file, 0755), 0);
	assert_true(WAIT_STATS(&f, 4000, !st.blind));
	t1 = nr_now_ns();
	s = stats(&f);
	assert_int_equal(s.rows[NR_T_GAPS], 2);
	assert_int_equal(s.lost, 12);
	for (int i = 0; i < 4; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	nr_queue_kick(f.q);
	assert_int_equal(stop(&f), 0);

	/* One gap row per source, with exactly what that source lost, over the blind period. */
	assert_query_all(dir, "SELECT source, reason, lost FROM gaps ORDER BY source",
			 "conntrack|store: Not a directory|9\nsockets|store: Not a directory|3");
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM gaps WHERE reason LIKE 'store:%%' AND ts_start_ns >= %lld "
		 "AND ts_start_ns <= ts_end_ns AND ts_end_ns <= %lld",
		 (long long)t0, (long long)t1);
	snprintf(want, sizeof(want), "2");
	assert_query_all(dir, sql, want);
	/* What was lost is not there; what came after is. */
	assert_int_equal(count_rows(dir, "conntrack"), 0);
	assert_int_equal(count_rows(dir, "sockets"), 0);
	assert_int_equal(count_rows(dir, "flows"), 4);
	free(file);
	free(dir);
}

static void test_blind_at_stop(void **state)
{
	char *dir = path_in(tmpdir, "file/sub");
	struct fixture f;

	make_file(tmpdir, "file", 10, 0644);
	start(&f, dir, HOUR, 5, MS(100), 1024);
	run(&f);
	for (int i = 0; i < 3; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 3000, st.blind && st.lost == 3));
	/* Still unwritable at the end: the stop says records were lost. */
	assert_int_equal(stop(&f), -EIO);
	free(dir);
}

/*
 * BUG (common/store.c nr_part_commit / recorder/writer.c commit): the data directory is
 * deleted under a running writer (rm -rf by an operator; writer.h promises to survive a
 * "deleted directory"). SQLite in WAL mode keeps committing into the unlinked file without
 * an error, so the writer counts the rows as committed, never goes blind, and writes no gap:
 * everything until the next rollover (up to the partition width, 1 h by default) vanishes
 * silently. SQLITE_FCNTL_HAS_MOVED reports the unlinked file.
 */
static void test_directory_deleted(void **state)
{
	char *dir = path_in(tmpdir, "data");
	struct nr_writer_stats s;
	struct fixture f;

	avoid_window_end(HOUR, SEC(15));
	start(&f, dir, HOUR, 1, MS(50), 1024);
	run(&f);
	for (int i = 0; i < 3; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 3000, st.rows[NR_T_FLOWS] == 3));
	rm_rf(dir);
	for (int i = 3; i < 8; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	nr_queue_kick(f.q);
	/* The five records written after the deletion must be counted as lost, and a gaps
	 * row must say so once the writer has recreated the directory. */
	WAIT_STATS(&f, 3000, st.lost == 5 && st.rows[NR_T_GAPS] == 1 && !st.blind);
	s = stats(&f);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 8);
	nr_queue_kick(f.q);
	assert_int_equal(stop(&f), 0);
	if (s.lost != 5 || s.rows[NR_T_FLOWS] != 3 || s.rows[NR_T_GAPS] != 1) {
		free(dir);
		fail_msg("BUG: rows written into the deleted directory were counted as committed "
			 "(flows %llu, want 3), not lost (lost %llu, want 5; gap rows %llu, want 1)",
			 (unsigned long long)s.rows[NR_T_FLOWS], (unsigned long long)s.lost,
			 (unsigned long long)s.rows[NR_T_GAPS]);
	}
	assert_query_all(dir, "SELECT source, substr(reason, 1, 6), lost FROM gaps",
			 "flows|store:|5");
	assert_query_all(dir, "SELECT group_concat(packets) FROM flows", "8");
	free(dir);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/*
 * The store stops taking writes with a batch in flight (disk full, simulated with
 * RLIMIT_FSIZE: writes past the limit fail with EFBIG). The rolled-back batch and what comes
 * while blind are lost and counted exactly; after the limit is lifted one gap row says so.
 */
static void test_write_fails_mid_batch(void **state)
{
	struct rlimit old, lim;
	struct nr_part_info *parts;
	struct nr_writer_stats s;
	struct fixture f;
	size_t n;
	char *wal;

	avoid_window_end(HOUR, SEC(15));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	start(&f, tmpdir, HOUR, 1000000, MS(100), 1024);
	run(&f);
	for (int i = 0; i < 3; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 3000, st.rows[NR_T_FLOWS] == 3));
	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_int_equal(n, 1);
	assert_true(asprintf(&wal, "%s-wal", parts[0].path) > 0);
	nr_store_list_free(parts, n);

	/* No file of this process may grow any more. */
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(wal);
	assert_true(lim.rlim_cur > 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 3; i < 7; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	nr_queue_kick(f.q);
	WAIT_STATS(&f, 3000, st.blind);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 7);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 8);
	nr_queue_kick(f.q);
	WAIT_STATS(&f, 1000, st.lost == 6);
	s = stats(&f);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_true(s.blind);
	assert_int_equal(s.lost, 6); /* the 4 of the failed batch, the 2 after */
	assert_int_equal(s.rows[NR_T_FLOWS], 3);

	assert_true(WAIT_STATS(&f, 4000, !st.blind));
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 9);
	assert_int_equal(stop(&f), 0);
	assert_query_all(tmpdir, "SELECT group_concat(packets) FROM (SELECT packets FROM flows ORDER BY 1)",
			 "0,1,2,9");
	assert_query_all(tmpdir, "SELECT source, substr(reason, 1, 7), lost FROM gaps",
			 "flows|store: |6");
	free(wal);
}

/* A record the store refuses (a NOT NULL column left empty) is counted as lost; the batch
 * around it is committed and the writer does not go blind. */
static void test_bad_record(void **state)
{
	struct nr_record r;
	struct fixture f;

	start(&f, tmpdir, HOUR, 100, MS(50), 1024);
	run(&f);
	push(f.q, NR_T_CONNTRACK, NR_SRC_CONNTRACK, 1);
	r = mk(NR_T_CONNTRACK, NR_SRC_CONNTRACK, 2);
	r.ct.event[0] = '\0'; /* conntrack.event is NOT NULL */
	assert_int_equal(nr_queue_push(f.q, &r), 0);
	push(f.q, NR_T_CONNTRACK, NR_SRC_CONNTRACK, 3);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 3000, st.rows[NR_T_CONNTRACK] == 2));
	assert_int_equal(stats(&f).lost, 1);
	assert_false(stats(&f).blind);
	assert_int_equal(stop(&f), 0);
	assert_query_all(tmpdir, "SELECT group_concat(ct_id) FROM (SELECT ct_id FROM conntrack ORDER BY 1)",
			 "1,3");
}

static int64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * NR_NS_PER_SEC + ts.tv_nsec;
}

/* Idle, with 1 s rollovers, and blind: the writer sleeps, it does not spin. */
static void test_no_spin(void **state)
{
	char *dir = path_in(tmpdir, "file/sub");
	struct fixture f;
	int64_t c0;

	start(&f, tmpdir, SEC(1), 10, MS(50), 1024);
	run(&f);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 0);
	nr_queue_kick(f.q);
	c0 = cpu_ns();
	sleep_ms(800);
	assert_true(cpu_ns() - c0 < MS(120));
	assert_int_equal(stop(&f), 0);

	make_file(tmpdir, "file", 1, 0644);
	start(&f, dir, SEC(1), 10, MS(50), 1024);
	run(&f);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 0);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 3000, st.blind));
	c0 = cpu_ns();
	sleep_ms(800);
	assert_true(cpu_ns() - c0 < MS(120));
	assert_int_equal(stop(&f), -EIO);
	free(dir);
}

/*
 * A reader (netrec running a query) holds the open partition across rollovers. The writer
 * must not wait for it: the switch out of WAL is tried briefly, the -wal stays, and the
 * background finalizer finishes the partition once the reader has gone.
 */
static void test_rollover_with_reader(void **state)
{
	struct nr_part_info *parts;
	struct fixture f;
	sqlite3 *reader = NULL;
	sqlite3_stmt *stmt;
	int64_t t0, last_progress, max_stall = 0, reader_until;
	uint64_t last_rows = 0, pushed = 0;
	size_t n;

	avoid_window_end(SEC(1), MS(700));
	start(&f, tmpdir, SEC(1), 1, MS(20), 4096);
	run(&f);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, pushed++);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 2000, st.rows[NR_T_FLOWS] == 1));
	/* A reader on the open partition, as netrec's catalog opens it (mode=ro, WAL). */
	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sqlite3_open_v2(parts[0].path, &reader, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	nr_store_list_free(parts, n);
	assert_int_equal(sqlite3_prepare_v2(reader, "SELECT count(*) FROM flows", -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	sqlite3_finalize(stmt); /* idle from now on, but open */

	/* Records every 10 ms across the rollover; the reader leaves 1.5 s later. */
	t0 = last_progress = nr_mono_ns();
	reader_until = t0 + MS(1500);
	for (int64_t end_wall = INT64_MAX; nr_now_ns() < end_wall;) {
		uint64_t rows;

		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, pushed++);
		nr_queue_kick(f.q);
		sleep_ms(10);
		rows = stats(&f).rows[NR_T_FLOWS];
		if (rows != last_rows) {
			int64_t now = nr_mono_ns();

			if (now - last_progress > max_stall)
				max_stall = now - last_progress;
			last_progress = now;
			last_rows = rows;
		}
		if (reader && nr_mono_ns() >= reader_until) {
			sqlite3_close(reader);
			reader = NULL;
			/* Go on until one more rollover (its finalizer) after the reader left. */
			end_wall = nr_part_align(nr_now_ns(), SEC(1)) + SEC(1) + MS(150);
		}
	}
	assert_true(WAIT_STATS(&f, 6000, st.rows[NR_T_FLOWS] == pushed));
	assert_int_equal(stop(&f), 0);
	if (max_stall > MS(500))
		fail_msg("the writer committed nothing for %lld ms at a rollover while a reader had "
			 "the closed partition open",
			 (long long)(max_stall / NR_NS_PER_MS));
	/* Once the reader left, a later rollover's finalizer finished every closed window,
	 * the one the reader held included. */
	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_true(n >= 3);
	for (size_t i = 0; i + 1 < n; i++) {
		if (!parts[i].finalized)
			fail_msg("%s not finalized after its reader left", parts[i].name);
		assert_false(side_exists(parts[i].path, "-wal"));
	}
	nr_store_list_free(parts, n);
	assert_int_equal(count_rows(tmpdir, "flows"), (int64_t)pushed);
}

static void put_health(const char *dir, int64_t window, int64_t ts)
{
	struct nr_meta_info m;
	struct nr_part *p;
	struct nr_record r;

	nr_meta_info_fill(&m, "old", false);
	assert_int_equal(nr_part_open(dir, window, HOUR, &m, &p, NULL, 0), 0);
	assert_int_equal(nr_part_begin(p), 0);
	nr_record_health(&r, NR_SRC_RECORDER, ts, "queue_depth", 0);
	assert_int_equal(nr_part_insert(p, &r), 0);
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);
}

/* The recorder's own absence is recorded as a gap from its last health row to the start. */
static void test_downtime_gap(void **state)
{
	int64_t now = nr_now_ns(), win = nr_part_align(now, HOUR), last = win - 2 * HOUR + SEC(5);
	int64_t t0, t1;
	struct fixture f;
	char want[256];

	avoid_window_end(HOUR, SEC(10));
	put_health(tmpdir, win - 2 * HOUR, last);
	start(&f, tmpdir, HOUR, 100, MS(50), 1024);
	f.o.downtime_ns = SEC(60);
	t0 = nr_now_ns();
	run(&f);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 1); /* wakes the writer, which writes its own rows */
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 3000, st.rows[NR_T_GAPS] == 1));
	t1 = nr_now_ns();
	assert_int_equal(stop(&f), 0);
	snprintf(want, sizeof(want), "recorder|recorder not running|NULL|%lld|1",
		 (long long)last);
	{
		char sql[256];

		snprintf(sql, sizeof(sql),
			 "SELECT source, reason, lost, ts_start_ns, ts_end_ns BETWEEN %lld AND %lld "
			 "FROM gaps",
			 (long long)t0, (long long)t1);
		assert_query_all(tmpdir, sql, want);
	}
}

static void test_no_downtime_gap(void **state)
{
	int64_t now = nr_now_ns();
	struct fixture f;

	/* Seen 10 s ago, threshold 60 s: a restart, not downtime. */
	avoid_window_end(HOUR, SEC(10));
	put_health(tmpdir, nr_part_align(now, HOUR), now - SEC(10));
	start(&f, tmpdir, HOUR, 100, MS(50), 1024);
	f.o.downtime_ns = SEC(60);
	run(&f);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 1);
	assert_int_equal(stop(&f), 0);
	assert_int_equal(count_rows(tmpdir, "gaps"), 0);
	assert_int_equal(count_rows(tmpdir, "flows"), 1);
	/* And none at all without a threshold, or without a store to look at. */
	rm_rf(tmpdir);
	assert_int_equal(mkdir(tmpdir, 0700), 0);
	start(&f, tmpdir, HOUR, 100, MS(50), 1024);
	f.o.downtime_ns = SEC(60);
	run(&f);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 1);
	assert_int_equal(stop(&f), 0);
	assert_int_equal(count_rows(tmpdir, "gaps"), 0);
}

static void push_flagged(struct nr_queue *q, enum nr_table t, uint64_t seq, bool more)
{
	struct nr_record r = mk(t, NR_SRC_TOPOLOGY, seq);

	r.flags = more ? NR_REC_MORE : 0;
	assert_int_equal(nr_queue_push(q, &r), 0);
	nr_queue_kick(q);
}

/* A group (a snapshot and its links) that straddles a window end stays in one partition; the
 * rollover happens as soon as the group ends. */
static void test_group_kept_together(void **state)
{
	struct nr_part_info *parts;
	struct fixture f;
	int64_t now, end;
	size_t n;

	start(&f, tmpdir, SEC(1), 1, MS(20), 1024);
	run(&f);
	/* Start the group 250 ms before a window ends. */
	now = nr_now_ns();
	end = nr_part_align(now, SEC(1)) + SEC(1);
	if (end - now < MS(300))
		end += SEC(1);
	sleep_ms((int)((end - now - MS(250)) / NR_NS_PER_MS));
	push_flagged(f.q, NR_T_SNAPSHOTS, 1, true);
	sleep_ms(500); /* past the window end, less than 1 s over */
	push_flagged(f.q, NR_T_LINKS, 1, true);
	sleep_ms(100);
	push_flagged(f.q, NR_T_LINKS, 2, false);
	sleep_ms(50);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, 7);
	nr_queue_kick(f.q);
	assert_true(WAIT_STATS(&f, 2000, st.rows[NR_T_FLOWS] == 1));
	assert_int_equal(stop(&f), 0);

	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		int64_t snaps = query_i64(parts[i].path, "SELECT count(*) FROM snapshots");
		int64_t links = query_i64(parts[i].path, "SELECT count(*) FROM links");
		int64_t flows = query_i64(parts[i].path, "SELECT count(*) FROM flows");

		if (snaps) {
			/* The whole group here, and the flow after it in a later partition. */
			assert_int_equal(snaps, 1);
			assert_int_equal(links, 2);
			assert_int_equal(flows, 0);
			assert_int_equal(parts[i].start_ns + parts[i].width_ns, end);
		} else {
			assert_int_equal(links, 0);
		}
	}
	nr_store_list_free(parts, n);
	assert_int_equal(count_rows(tmpdir, "snapshots"), 1);
	assert_int_equal(count_rows(tmpdir, "flows"), 1);
}

static void test_queue_losses_at_stop(void **state)
{
	struct fixture f;

	/* The queue is full before the writer starts; five records of one source are dropped
	 * and no later push reports them: the stop must store them as a gap. */
	start(&f, tmpdir, HOUR, 100, MS(100), 16);
	for (int i = 0; i < 16; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	for (int i = 0; i < 5; i++) {
		struct nr_record r = mk(NR_T_SOCKETS, NR_SRC_SOCKETS, (uint64_t)i);

		assert_int_equal(nr_queue_push(f.q, &r), -ENOSPC);
	}
	run(&f);
	assert_int_equal(stop(&f), 0);
	assert_int_equal(count_rows(tmpdir, "flows"), 16);
	assert_int_equal(count_rows(tmpdir, "sockets"), 0);
	assert_query_all(tmpdir, "SELECT source, reason, lost FROM gaps", "sockets|queue full|5");
}

static void test_start_finalizes_and_retains(void **state)
{
	struct nr_meta_info m;
	struct nr_part *p;
	struct nr_record r;
	struct fixture f;
	int64_t now = nr_now_ns(), leftover = nr_part_align(now, HOUR) - 3 * HOUR,
		recent = nr_part_align(now, HOUR) - 2 * HOUR;
	char *left_path, *recent_path, *old0, *old1;

	/* A partition left writable by a crash three hours ago, with two rows. */
	nr_meta_info_fill(&m, "old", false);
	assert_int_equal(nr_part_open(tmpdir, leftover, HOUR, &m, &p, NULL, 0), 0);
	left_path = strdup(nr_part_path(p));
	assert_int_equal(nr_part_begin(p), 0);
	r = mk(NR_T_FLOWS, NR_SRC_FLOWS, 1);
	assert_int_equal(nr_part_insert(p, &r), 0);
	r = mk(NR_T_FLOWS, NR_SRC_FLOWS, 2);
	assert_int_equal(nr_part_insert(p, &r), 0);
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, false), 0);
	/* A finalized one from two hours ago: younger than the retention age. */
	assert_int_equal(nr_part_open(tmpdir, recent, HOUR, &m, &p, NULL, 0), 0);
	recent_path = strdup(nr_part_path(p));
	assert_int_equal(nr_part_close(p, true), 0);
	/* Two finalized ones from 2020: older. */
	make_file(tmpdir, "20200101T000000Z-3600s.db", 1000, 0444);
	make_file(tmpdir, "20200101T010000Z-3600s.db", 2000, 0444);
	old0 = path_in(tmpdir, "20200101T000000Z-3600s.db");
	old1 = path_in(tmpdir, "20200101T010000Z-3600s.db");

	start(&f, tmpdir, HOUR, 100, MS(100), 1024);
	f.o.retention_age_ns = SEC(86400);
	run(&f);
	assert_true(WAIT_STATS(&f, 3000, st.partitions_deleted == 2));
	assert_int_equal(access(old0, F_OK), -1);
	assert_int_equal(access(old1, F_OK), -1);
	assert_int_equal(access(recent_path, F_OK), 0);
	assert_int_equal(stop(&f), 0);

	/* The leftover is finalized, its rows intact. */
	assert_int_equal(file_mode(left_path), 0444);
	assert_false(side_exists(left_path, "-wal"));
	assert_int_equal(query_i64(left_path, "SELECT count(*) FROM flows"), 2);
	assert_int_equal(query_i64(left_path, "SELECT count(*) FROM meta WHERE key = 'finalized_ns'"),
			 1);
	/* The deletions are recorded as health rows in the current partition. */
	assert_query_all(tmpdir,
			 "SELECT metric, CAST(value AS INTEGER) FROM health WHERE metric LIKE "
			 "'retention_deleted%' ORDER BY metric, value",
			 "retention_deleted_bytes|1000\nretention_deleted_bytes|2000\n"
			 "retention_deleted_start_s|1577836800\n"
			 "retention_deleted_start_s|1577840400");
	free(left_path);
	free(recent_path);
	free(old0);
	free(old1);
}

static void test_set_retention(void **state)
{
	char *old[3];
	struct fixture f;
	uint64_t pushed = 0;

	for (int i = 0; i < 3; i++) {
		char name[64];

		snprintf(name, sizeof(name), "20200101T0%d0000Z-3600s.db", i);
		make_file(tmpdir, name, 1000, 0444);
		old[i] = path_in(tmpdir, name);
	}
	start(&f, tmpdir, SEC(1), 10, MS(50), 1024);
	run(&f);
	push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, pushed++);
	nr_queue_kick(f.q);
	sleep_ms(1200);
	/* No retention configured: a rollover has happened, nothing was deleted. */
	assert_int_equal(stats(&f).partitions_deleted, 0);
	assert_int_equal(access(old[0], F_OK), 0);
	/* As on SIGHUP: a one-day age limit, applied at the next rollover (which needs a
	 * partition open, so keep records coming as collectors would). */
	nr_writer_set_retention(f.w, SEC(86400), 0);
	for (int i = 1; i < 300 && stats(&f).partitions_deleted < 3; i++) {
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, pushed++);
		nr_queue_kick(f.q);
		sleep_ms(10);
	}
	assert_int_equal(stats(&f).partitions_deleted, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(access(old[i], F_OK), -1);
		free(old[i]);
	}
	assert_int_equal(stop(&f), 0);
	/* This run's own partitions are young: all kept, with every row. */
	assert_true(count_parts(tmpdir, NULL) >= 2);
	assert_int_equal(count_rows(tmpdir, "flows"), (int64_t)pushed);
}

static void test_finalized_window_fallback(void **state)
{
	struct nr_part_info *parts;
	struct nr_meta_info m;
	struct nr_part *p;
	struct fixture f;
	int64_t now, win;
	size_t n;

	/* The current window's partition exists and is finalized already (a restart after a
	 * width change, or the clock stepped back): the writer must not touch it, and writes
	 * into a partition that starts on the current second and ends with the window. */
	avoid_window_end(HOUR, SEC(15));
	now = nr_now_ns();
	win = nr_part_align(now, HOUR);
	nr_meta_info_fill(&m, "before", false);
	assert_int_equal(nr_part_open(tmpdir, win, HOUR, &m, &p, NULL, 0), 0);
	assert_int_equal(nr_part_close(p, true), 0);

	start(&f, tmpdir, HOUR, 100, MS(100), 1024);
	run(&f);
	for (int i = 0; i < 3; i++)
		push(f.q, NR_T_FLOWS, NR_SRC_FLOWS, (uint64_t)i);
	assert_int_equal(stop(&f), 0);

	assert_int_equal(nr_store_list(tmpdir, &parts, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(parts[0].start_ns, win);
	assert_int_equal(parts[0].width_ns, HOUR);
	assert_true(parts[0].finalized);
	assert_int_equal(query_i64(parts[0].path, "SELECT count(*) FROM flows"), 0);
	assert_true(parts[1].start_ns > win);
	assert_true(parts[1].start_ns <= nr_now_ns());
	assert_int_equal(parts[1].start_ns % NR_NS_PER_SEC, 0);
	assert_int_equal(parts[1].start_ns + parts[1].width_ns, win + HOUR);
	assert_int_equal(query_i64(parts[1].path, "SELECT count(*) FROM flows"), 3);
	nr_store_list_free(parts, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_invalid),
		cmocka_unit_test_setup_teardown(test_rows_land, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_commit_at_batch_rows, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_commit_at_latency, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_rollover_and_finalize, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_blind_then_recover, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_blind_at_stop, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_directory_deleted, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_fails_mid_batch, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_bad_record, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_no_spin, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_rollover_with_reader, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_downtime_gap, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_no_downtime_gap, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_group_kept_together, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_queue_losses_at_stop, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_start_finalizes_and_retains, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_set_retention, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_finalized_window_fallback, tmpdir_setup,
						tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, quiet_setup, NULL);
}
