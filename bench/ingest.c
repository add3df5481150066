// SPDX-License-Identifier: MIT
/*
 * bench-ingest: the recorder's whole write path (nr_queue -> writer thread -> partition)
 * against a plain SQLite loop writing the same rows into the same schema, in one run.
 *
 *   bench-ingest [ROWS [RUNS]]      (default 2000000 rows, 1 run)
 *
 * Rows are generated before the clocks start, so neither side pays for generation. The
 * pipeline is timed from the first push until nr_writer_stop() returns (everything committed,
 * the partition checkpointed and closed); the plain loop from its first insert until its
 * connection is checkpointed and closed. The producer never overruns the queue (it waits when
 * the queue is nearly full, as a benchmark may and a collector may not), so nothing is lost:
 * the run checks drops == 0, no gap rows, and that every row is in the store.
 * Each run also prints the CPU seconds spent while timed: the pipeline's writer (the process
 * less the producer thread), its producer, and the plain loop. A run that crosses an hour
 * boundary writes two partitions (partitions=2) and is perturbed by the finalizer: rerun it.
 * After the last run it also times the finalization of the pipeline's partition (lookup
 * indexes, ANALYZE), as the recorder's finalizer thread does it after rollover.
 * Prints figures; it does not pass or fail on time (exit status 1 only if rows were lost).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "flowgen.h"
#include "nrtime.h"
#include "queue.h"
#include "store.h"
#include "writer.h"

#define QUEUE_CAP 65536 /* netrecd's default queue-size */
#define BATCH_ROWS 10000
#define WIDTH_NS (3600 * NR_NS_PER_SEC)
#define MAX_RUNS 20

static void die(const char *what, int r)
{
	fprintf(stderr, "bench-ingest: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(2);
}

static char *make_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *d;

	if (asprintf(&d, "%s/netrec-bench-%s-XXXXXX", base, tag) < 0)
		die("asprintf", -ENOMEM);
	if (!mkdtemp(d))
		die("mkdtemp", -errno);
	return d;
}

static void rm_store(const char *dir)
{
	struct nr_part_info *parts;
	size_t n;
	char side[4200];

	if (nr_store_list(dir, &parts, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			unlink(parts[i].path);
			snprintf(side, sizeof(side), "%s-wal", parts[i].path);
			unlink(side);
			snprintf(side, sizeof(side), "%s-shm", parts[i].path);
			unlink(side);
		}
		nr_store_list_free(parts, n);
	}
	snprintf(side, sizeof(side), "%s/%s", dir, NR_LOCK_NAME);
	unlink(side);
	rmdir(dir);
}

static int64_t count_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Rows in flows and gaps over every partition in @dir, and their total size. */
static void count_store(const char *dir, int64_t *ret_flows, int64_t *ret_gaps, uint64_t *ret_bytes,
			size_t *ret_parts)
{
	struct nr_part_info *parts;
	size_t n;
	int r;

	*ret_flows = *ret_gaps = 0;
	*ret_bytes = 0;
	r = nr_store_list(dir, &parts, &n);
	if (r < 0)
		die("list store", r);
	for (size_t i = 0; i < n; i++) {
		*ret_flows += count_sql(parts[i].path, "SELECT count(*) FROM flows");
		*ret_gaps += count_sql(parts[i].path, "SELECT count(*) FROM gaps");
		*ret_bytes += parts[i].size;
	}
	*ret_parts = n;
	nr_store_list_free(parts, n);
}

struct result {
	double pipeline_rps, plain_rps;
	double pipeline_cpu, plain_cpu; /* CPU seconds of the whole process while timed */
	double producer_cpu; /* of which the producer (this thread) */
	uint64_t drops, gaps;
	uint64_t pipeline_bytes, plain_bytes;
	size_t partitions;
};

/* ---- the recorder's pipeline --------------------------------------------------------- */

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Flow control for the benchmark's producer: when the queue is nearly full, sleep in 1 ms
 * steps until the writer has drained half of it, so the producer costs little CPU (a
 * producer that polls every few microseconds steals a measurable share of a 2-core machine
 * from the writer). */
static void wait_for_room(struct nr_queue *q)
{
	struct nr_queue_stats st;
	struct timespec ts = { 0, 1000000 };

	nr_queue_stats(q, &st);
	/* Room for the next check interval (512 pushes) plus margin. */
	if (st.depth + 1024 < st.capacity)
		return;
	do {
		nanosleep(&ts, NULL);
		nr_queue_stats(q, &st);
	} while (st.depth > st.capacity / 2);
}

static void run_pipeline(const struct nr_record *recs, size_t n, struct result *res,
			 bool finalize_after)
{
	char *dir = make_tmpdir("pipe");
	struct nr_writer_opts o = {
		.dir = dir,
		.width_ns = WIDTH_NS,
		.batch_rows = BATCH_ROWS,
		.batch_ns = NR_NS_PER_SEC,
		.synthetic = true,
		.version = "bench",
	};
	struct timespec settle = { 0, 100 * 1000000L };
	struct nr_queue_stats qs;
	struct nr_writer *w;
	struct nr_queue *q;
	int64_t t0, t1, flows, gaps;
	uint64_t retries = 0;
	double c0, p0;
	int r;

	r = nr_queue_new(QUEUE_CAP, &q);
	if (r < 0)
		die("nr_queue_new", r);
	r = nr_writer_start(&o, q, &w);
	if (r < 0)
		die("nr_writer_start", r);
	/* Let the writer's start-up (finalizer pass, retention) finish before the clock starts. */
	nanosleep(&settle, NULL);

	c0 = cpu_seconds();
	p0 = thread_cpu_seconds();
	t0 = nr_mono_ns();
	for (size_t i = 0; i < n; i++) {
		if ((i & 511) == 0)
			wait_for_room(q);
		while (nr_queue_push(q, &recs[i]) == -ENOSPC) {
			/* Not expected (wait_for_room), but never lose a row: retry. The queue
			 * counts it as dropped, which the report shows. */
			retries++;
			sched_yield();
		}
	}
	res->producer_cpu = thread_cpu_seconds() - p0;
	nr_queue_close(q);
	r = nr_writer_stop(w);
	t1 = nr_mono_ns();
	res->pipeline_cpu = cpu_seconds() - c0;
	if (r < 0)
		die("nr_writer_stop", r);

	nr_queue_stats(q, &qs);
	res->drops = 0;
	for (int s = 0; s < NR_SRC_COUNT; s++)
		res->drops += qs.dropped[s];
	nr_queue_free(q);
	res->pipeline_rps = (double)n * NR_NS_PER_SEC / (double)(t1 - t0);
	count_store(dir, &flows, &gaps, &res->pipeline_bytes, &res->partitions);
	res->gaps = (uint64_t)gaps;
	if (flows != (int64_t)n) {
		fprintf(stderr, "bench-ingest: pipeline stored %lld flows of %zu (retries %llu)\n",
			(long long)flows, n, (unsigned long long)retries);
		exit(1);
	}

	if (finalize_after) {
		/* Finalization as the recorder's finalizer thread does it at rollover. */
		struct nr_part_info *parts;
		size_t np;
		int64_t f0, f1;
		uint64_t after = 0;

		r = nr_store_list(dir, &parts, &np);
		if (r < 0)
			die("list store", r);
		f0 = nr_mono_ns();
		for (size_t i = 0; i < np; i++) {
			char err[256] = "";

			r = nr_store_finalize_path(parts[i].path, err, sizeof(err));
			if (r < 0) {
				fprintf(stderr, "bench-ingest: finalize %s: %s\n", parts[i].path, err);
				exit(2);
			}
		}
		f1 = nr_mono_ns();
		for (size_t i = 0; i < np; i++) {
			struct stat st;

			if (stat(parts[i].path, &st) == 0)
				after += (uint64_t)st.st_size;
		}
		printf("finalize: %zu rows in %zu partition(s): %.2f s (indexes + ANALYZE, "
		       "nr_store_finalize_path); file %.1f MiB -> %.1f MiB (%.0f -> %.0f bytes/row)\n",
		       n, np, (double)(f1 - f0) / NR_NS_PER_SEC,
		       (double)res->pipeline_bytes / 1048576.0, (double)after / 1048576.0,
		       (double)res->pipeline_bytes / (double)n, (double)after / (double)n);
		nr_store_list_free(parts, np);
	}
	rm_store(dir);
	free(dir);
}

/* ---- the plain SQLite loop ----------------------------------------------------------- */

static void check(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "bench-ingest: %s: %s\n", what, sqlite3_errmsg(db));
		exit(2);
	}
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s[0])
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* The same values, bound the same way as the store binds a flow (common/store.c). */
static void bind_flow(sqlite3_stmt *st, const struct nr_rec_flow *f)
{
	char src[NR_ADDR_STRLEN], dst[NR_ADDR_STRLEN], smac[NR_MAC_STRLEN], dmac[NR_MAC_STRLEN];
	bool ip = f->src.family != 0, ports = f->proto == 6 || f->proto == 17;

	sqlite3_bind_int64(st, 1, f->ts_start_ns);
	sqlite3_bind_int64(st, 2, f->ts_end_ns);
	sqlite3_bind_int64(st, 3, (int64_t)f->netns);
	sqlite3_bind_int64(st, 4, f->ifindex);
	bind_text_or_null(st, 5, f->ifname);
	sqlite3_bind_text(st, 6, f->egress ? "egress" : "ingress", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, f->src.family == 2 ? 4 : 6);
	if (ip)
		sqlite3_bind_int(st, 8, f->proto);
	nr_addr_format(&f->src, src, sizeof(src));
	nr_addr_format(&f->dst, dst, sizeof(dst));
	bind_text_or_null(st, 9, src);
	bind_text_or_null(st, 10, dst);
	if (ports) {
		sqlite3_bind_int(st, 11, f->sport);
		sqlite3_bind_int(st, 12, f->dport);
	} else {
		sqlite3_bind_null(st, 11);
		sqlite3_bind_null(st, 12);
	}
	sqlite3_bind_int64(st, 13, (int64_t)f->packets);
	sqlite3_bind_int64(st, 14, (int64_t)f->bytes);
	if (f->proto == 6)
		sqlite3_bind_int(st, 15, f->tcp_flags);
	nr_mac_format(f->src_mac, smac);
	nr_mac_format(f->dst_mac, dmac);
	sqlite3_bind_text(st, 16, smac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 17, dmac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 18, f->sampling);
	sqlite3_bind_int64(st, 19, f->ethertype);
	if (f->icmp_type != NR_NONE) {
		sqlite3_bind_int(st, 20, f->icmp_type);
		sqlite3_bind_int(st, 21, f->icmp_code);
	} else {
		sqlite3_bind_null(st, 20);
		sqlite3_bind_null(st, 21);
	}
}

static void run_plain(const struct nr_record *recs, size_t n, struct result *res)
{
	char *dir = make_tmpdir("plain");
	struct nr_meta_info meta;
	struct nr_part *p = NULL;
	char path[4200], err[256] = "";
	int64_t start = nr_part_align(nr_now_ns(), WIDTH_NS), t0, t1;
	sqlite3_stmt *st;
	sqlite3 *db;
	struct stat sb;
	double c0;
	int r;

	/* An identical, empty partition (schema and meta), written by the store itself. */
	nr_meta_info_fill(&meta, "bench", true);
	r = nr_part_open(dir, start, WIDTH_NS, &meta, &p, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "bench-ingest: nr_part_open: %s\n", err);
		exit(2);
	}
	snprintf(path, sizeof(path), "%s", nr_part_path(p));
	nr_part_close(p, false);

	check(NULL, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL),
	      "open"); /* the same flags as the store: a fair baseline */
	/* The store's pragmas for the open partition. */
	check(db, sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			       "PRAGMA cache_size = -16384; PRAGMA journal_size_limit = 67108864;",
			       NULL, NULL, NULL), "pragmas");
	check(db, sqlite3_prepare_v2(db, "INSERT INTO flows VALUES "
				     "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL),
	      "prepare");

	c0 = cpu_seconds();
	t0 = nr_mono_ns();
	check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "begin");
	for (size_t i = 0; i < n; i++) {
		bind_flow(st, &recs[i].flow);
		check(db, sqlite3_step(st), "insert");
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if ((i + 1) % BATCH_ROWS == 0) {
			check(db, sqlite3_exec(db, "COMMIT; BEGIN", NULL, NULL, NULL), "commit");
		}
	}
	check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
	sqlite3_finalize(st);
	/* What the writer does when it stops: no -wal/-shm left. */
	check(db, sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE",
			       NULL, NULL, NULL), "checkpoint");
	sqlite3_close(db);
	t1 = nr_mono_ns();
	res->plain_cpu = cpu_seconds() - c0;

	res->plain_rps = (double)n * NR_NS_PER_SEC / (double)(t1 - t0);
	res->plain_bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	if (count_sql(path, "SELECT count(*) FROM flows") != (int64_t)n) {
		fprintf(stderr, "bench-ingest: plain loop stored the wrong number of rows\n");
		exit(1);
	}
	rm_store(dir);
	free(dir);
}

/* ---- main ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	int runs = argc > 2 ? atoi(argv[2]) : 1;
	double ratios[MAX_RUNS], pipes[MAX_RUNS], plains[MAX_RUNS];
	struct nr_record *recs;
	struct flowgen g;
	int64_t now;
	bool lost = false;

	if (n == 0 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: bench-ingest [ROWS [RUNS (1-%d)]]\n", MAX_RUNS);
		return 2;
	}
	recs = malloc(n * sizeof(*recs));
	if (!recs)
		die("malloc", -ENOMEM);
	flowgen_init(&g, 42);
	now = nr_now_ns();
	/* One flow per microsecond of recorded time, ending now. */
	for (size_t i = 0; i < n; i++)
		flowgen_flow(&g, now - (int64_t)(n - i) * NR_NS_PER_US, &recs[i]);
	printf("ingest: %zu flows rows (%zu bytes per record in the queue), queue %d, "
	       "batch %d rows / 1 s, width 1h, SQLite %s\n",
	       n, sizeof(*recs), QUEUE_CAP, BATCH_ROWS, sqlite3_libversion());

	for (int i = 0; i < runs; i++) {
		struct result res = { 0 };

		/* Alternate the order so neither side always runs on a warmer machine. */
		if (i % 2 == 0) {
			run_pipeline(recs, n, &res, i == runs - 1);
			run_plain(recs, n, &res);
		} else {
			run_plain(recs, n, &res);
			run_pipeline(recs, n, &res, i == runs - 1);
		}
		pipes[i] = res.pipeline_rps;
		plains[i] = res.plain_rps;
		ratios[i] = res.pipeline_rps / res.plain_rps;
		printf("ingest: %zu rows; pipeline %.0f rows/s; plain sqlite %.0f rows/s; "
		       "ratio X/Y = %.3f; drops=%llu gaps=%llu; partitions=%zu; "
		       "%.0f vs %.0f bytes/row; CPU s: writer+rest %.2f producer %.2f plain %.2f\n",
		       n, res.pipeline_rps, res.plain_rps, ratios[i], (unsigned long long)res.drops,
		       (unsigned long long)res.gaps, res.partitions,
		       (double)res.pipeline_bytes / (double)n, (double)res.plain_bytes / (double)n,
		       res.pipeline_cpu - res.producer_cpu, res.producer_cpu, res.plain_cpu);
		fflush(stdout);
		if (res.drops || res.gaps)
			lost = true;
	}
	if (runs > 1) {
		qsort(ratios, (size_t)runs, sizeof(double), cmp_double);
		qsort(pipes, (size_t)runs, sizeof(double), cmp_double);
		qsort(plains, (size_t)runs, sizeof(double), cmp_double);
		printf("ingest: %d runs: ratio median %.3f (min %.3f, max %.3f); pipeline median "
		       "%.0f rows/s (%.0f-%.0f); plain median %.0f rows/s (%.0f-%.0f)\n",
		       runs, ratios[runs / 2], ratios[0], ratios[runs - 1], pipes[runs / 2], pipes[0],
		       pipes[runs - 1], plains[runs / 2], plains[0], plains[runs - 1]);
	}
	free(recs);
	return lost ? 1 : 0;
}
