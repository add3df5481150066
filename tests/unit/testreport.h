/* SPDX-License-Identifier: MIT */
/*
 * Shared by the unit tests of netrec's reports: the store they query, written with the store
 * API in hourly partitions from t0 (the first finalized, the second left open, as the recorder
 * leaves the current hour), and times as minutes after t0. It does not check what was written:
 * each test's rows and assertions are its own. Include after <cmocka.h>, "nrtime.h", "store.h"
 * and "testdir.h".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WIDTH (3600LL * NR_NS_PER_SEC)

/* The start of the first partition: a whole hour (2023-11-14T22:00:00Z). */
static int64_t t0;

/* Minute @m after t0, in ns. */
static inline int64_t at_min(int m)
{
	return t0 + (int64_t)m * 60 * NR_NS_PER_SEC;
}

/* "@SECONDS" of minute @m: a TIME nr_time_parse reads without a time zone. Free it. */
static inline char *at_arg(int m)
{
	char *s;

	assert_true(asprintf(&s, "@%lld", (long long)(at_min(m) / NR_NS_PER_SEC)) > 0);
	return s;
}

/* The ts_ns of each minute in @mins (-1 ends the list), joined with '|' as column() does. */
static inline char *ns_list(const int *mins)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; mins[i] >= 0; i++)
		fprintf(f, "%s%lld", i ? "|" : "", (long long)at_min(mins[i]));
	fclose(f);
	return buf;
}

/* A scratch directory for the store (tmpdir), and t0. Call first in a group setup. */
static inline void store_dir_setup(void **state)
{
	tmpdir_setup(state);
	t0 = nr_part_align(1700000000LL * NR_NS_PER_SEC, WIDTH);
}

/* The partition of the hour from minute @first_min, opened with a write transaction begun. */
static inline struct nr_part *part_open(int first_min)
{
	struct nr_meta_info m;
	struct nr_part *p;
	char err[256];

	nr_meta_info_fill(&m, "test", false);
	assert_int_equal(nr_part_open(tmpdir, at_min(first_min), WIDTH, &m, &p, err, sizeof(err)),
			 0);
	assert_int_equal(nr_part_begin(p), 0);
	return p;
}

/* Commits and closes @p: finalized (with the lookup indexes), or left as the open one. */
static inline void part_close(struct nr_part *p, bool finalize)
{
	assert_int_equal(nr_part_commit(p), 0);
	assert_int_equal(nr_part_close(p, finalize), 0);
}

/* Builds record @i of a test's rows into @r, every byte of it. */
typedef void make_record_fn(struct nr_record *r, size_t i);

/* The time that files a row in a partition: a flow by its start. Only the tables whose rows
 * part_write() takes. */
static inline int64_t record_time(const struct nr_record *r)
{
	switch (r->table) {
	case NR_T_FLOWS:
		return r->flow.ts_start_ns;
	case NR_T_CONNTRACK:
		return r->ct.ts_ns;
	case NR_T_SOCKETS:
		return r->sock.ts_ns;
	default:
		fail_msg("record_time: table %d", r->table);
	}
	return 0;
}

/* Writes the partition of the hour from minute @first_min: of the @n records @make builds,
 * those whose time falls in that hour, in order. */
static inline void part_write(int first_min, size_t n, make_record_fn *make, bool finalize)
{
	struct nr_part *p = part_open(first_min);
	int64_t start = at_min(first_min);

	for (size_t i = 0; i < n; i++) {
		struct nr_record r;

		make(&r, i);
		if (record_time(&r) < start || record_time(&r) >= start + WIDTH)
			continue;
		assert_int_equal(nr_part_insert(p, &r), 0);
	}
	part_close(p, finalize);
}

/* The group setup of a test over @n rows of minutes 0-119: minutes 0-59 go to the first
 * partition, finalized, 60-119 to the second, left open. */
static inline int store_setup(void **state, size_t n, make_record_fn *make)
{
	store_dir_setup(state);
	part_write(0, n, make, true);
	part_write(60, n, make, false);
	return 0;
}
