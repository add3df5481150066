// SPDX-License-Identifier: MIT
/*
 * bench-genstore: writes a store for the query benchmark (bench/query.sh), fast, through the
 * store's own functions, so the partitions are exactly the recorder's: HOURS UTC-aligned
 * hourly partitions in the past, written with nr_part_insert in 10k-row transactions, closed,
 * then finalized with nr_store_finalize_path() as the recorder's finalizer thread does.
 * The same rows, in the same order, go into one partition spanning all the hours, finalized
 * the same way (same schema, same indexes, ANALYZE) and renamed to merged.db: the baseline a
 * plain `sqlite3` reads.
 *
 *   bench-genstore DIR [ROWS [HOURS]]     (default 10000000 rows, 24 hours)
 *
 * Creates DIR/store/ and DIR/merged.db (DIR must not hold them yet). Prints generation and
 * finalization times (per hourly partition and for the merged file) and file sizes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flowgen.h"
#include "nrtime.h"
#include "store.h"

#define HOUR_NS (3600 * NR_NS_PER_SEC)
#define BATCH_ROWS 10000

static void fail(const char *what, int r, const char *err)
{
	fprintf(stderr, "bench-genstore: %s: %s%s%s\n", what, strerror(r < 0 ? -r : r),
		err && err[0] ? ": " : "", err ? err : "");
	exit(2);
}

static void insert(struct nr_part *p, const struct nr_record *r, size_t *txn)
{
	int k;

	if (*txn == 0) {
		k = nr_part_begin(p);
		if (k < 0)
			fail("begin", k, nr_part_errmsg(p));
	}
	k = nr_part_insert(p, r);
	if (k < 0)
		fail("insert", k, nr_part_errmsg(p));
	if (++*txn == BATCH_ROWS) {
		k = nr_part_commit(p);
		if (k < 0)
			fail("commit", k, nr_part_errmsg(p));
		*txn = 0;
	}
}

/* Closes @p as the writer does at rollover, then finalizes it as the finalizer thread does.
 * Returns the finalization time. */
static int64_t close_and_finalize(struct nr_part *p, char *path, size_t pathlen)
{
	char err[256] = "";
	int64_t t0;
	int r;

	snprintf(path, pathlen, "%s", nr_part_path(p));
	r = nr_part_close(p, false);
	if (r < 0)
		fail("close", r, NULL);
	t0 = nr_mono_ns();
	r = nr_store_finalize_path(path, err, sizeof(err));
	if (r < 0)
		fail("finalize", r, err);
	return nr_mono_ns() - t0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	uint64_t rows = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000;
	int hours = argc > 3 ? atoi(argv[3]) : 24;
	char store[4096], merged[4096], path[4096], mpath[4096];
	int64_t start0, t0, fin_sum = 0, fin_min = INT64_MAX, fin_max = 0, fin_merged, gen_ns;
	uint64_t done = 0, part_bytes = 0;
	struct nr_meta_info meta;
	struct nr_part *m = NULL;
	struct flowgen g;
	size_t mtxn = 0;
	char err[256] = "";
	int r;

	if (!dir || rows == 0 || hours < 1 || hours > 24 * 90) {
		fprintf(stderr, "usage: bench-genstore DIR [ROWS [HOURS]]\n");
		return 2;
	}
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(merged, sizeof(merged), "%s/merged.db", dir);
	if (access(store, F_OK) == 0 || access(merged, F_OK) == 0) {
		fprintf(stderr, "bench-genstore: %s already holds a store or merged.db\n", dir);
		return 2;
	}
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || mkdir(store, 0755) < 0)
		fail("mkdir", -errno, dir);

	nr_meta_info_fill(&meta, "bench", true);
	flowgen_init(&g, 7);
	/* Whole hours in the past, ending at the last full hour. */
	start0 = nr_part_align(nr_now_ns(), HOUR_NS) - (int64_t)hours * HOUR_NS;
	r = nr_part_open(dir, start0, (int64_t)hours * HOUR_NS, &meta, &m, err, sizeof(err));
	if (r < 0)
		fail("open merged", r, err);

	t0 = nr_mono_ns();
	for (int h = 0; h < hours; h++) {
		uint64_t end = rows * (uint64_t)(h + 1) / (uint64_t)hours, n = end - done;
		int64_t hstart = start0 + (int64_t)h * HOUR_NS, fin;
		struct nr_part *p = NULL;
		size_t txn = 0;

		r = nr_part_open(store, hstart, HOUR_NS, &meta, &p, err, sizeof(err));
		if (r < 0)
			fail("open partition", r, err);
		for (uint64_t i = 0; i < n; i++) {
			struct nr_record rec;

			/* Evenly spread over the hour, in time order as the recorder writes. */
			flowgen_flow(&g, hstart + (int64_t)((__int128)HOUR_NS * i / n), &rec);
			insert(p, &rec, &txn);
			insert(m, &rec, &mtxn);
		}
		if (txn) {
			r = nr_part_commit(p);
			if (r < 0)
				fail("commit", r, nr_part_errmsg(p));
		}
		fin = close_and_finalize(p, path, sizeof(path));
		fin_sum += fin;
		fin_min = fin < fin_min ? fin : fin_min;
		fin_max = fin > fin_max ? fin : fin_max;
		part_bytes += file_size(path);
		done = end;
		fprintf(stderr, "\rbench-genstore: hour %d/%d", h + 1, hours);
	}
	fprintf(stderr, "\n");
	if (mtxn) {
		r = nr_part_commit(m);
		if (r < 0)
			fail("commit", r, nr_part_errmsg(m));
	}
	fin_merged = close_and_finalize(m, mpath, sizeof(mpath));
	gen_ns = nr_mono_ns() - t0;
	if (rename(mpath, merged) < 0)
		fail("rename", -errno, mpath);

	printf("genstore: %llu flows over %d hourly partitions in %s, and %s; %.1f s in all\n",
	       (unsigned long long)rows, hours, store, merged, (double)gen_ns / NR_NS_PER_SEC);
	printf("genstore: finalize per hourly partition (%llu rows): mean %.3f s, min %.3f, max %.3f"
	       " (nr_store_finalize_path: indexes + ANALYZE + checkpoint)\n",
	       (unsigned long long)(rows / (uint64_t)hours),
	       (double)fin_sum / hours / NR_NS_PER_SEC, (double)fin_min / NR_NS_PER_SEC,
	       (double)fin_max / NR_NS_PER_SEC);
	printf("genstore: finalize merged file (%llu rows): %.2f s\n", (unsigned long long)rows,
	       (double)fin_merged / NR_NS_PER_SEC);
	printf("genstore: sizes: partitions %.1f MiB (%.0f bytes/row), merged %.1f MiB\n",
	       (double)part_bytes / 1048576.0, (double)part_bytes / (double)rows,
	       (double)file_size(merged) / 1048576.0);
	{
		char a[64], b[64];

		flowgen_internal_host(0, a, sizeof(a));
		flowgen_internal_host(100, b, sizeof(b));
		printf("genstore: busiest internal host %s; a typical one (lookup) %s\n", a, b);
	}
	return 0;
}
