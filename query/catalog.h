/* SPDX-License-Identifier: MIT */
/*
 * The catalog: the partitions a query may read, and one SQLite connection on which every
 * table of the schema (flows, conntrack, ..., meta) is a virtual table spanning them all.
 *
 * Why virtual tables: Debian's libsqlite3 allows 10 attached databases, and a month of hourly
 * partitions is 720 files. Each virtual table opens partitions lazily, read-only, on their own
 * connections (a pool shared by all tables), runs a per-partition SELECT with the query's
 * constraints pushed down (so each partition's own indexes serve lookups), and streams the
 * rows. Partitions whose window cannot hold a row of the time range are never opened.
 *
 * Time range: rows are kept when their time lies in [since, until]: flows and gaps by overlap
 * of [ts_start_ns, ts_end_ns], conntrack, sockets, snapshots and health by ts_ns, topology
 * tables (links, addresses, routes, neighbors, listeners) through their snapshot's ts_ns.
 * meta has no time. Each table has a hidden column `partition` (the file name).
 *
 * A partition that cannot be read (corrupt, truncated, newer schema, unreadable) is skipped
 * with a warning through the warning callback, and counted; the others are still read.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define NR_TIME_MIN INT64_MIN
#define NR_TIME_MAX INT64_MAX

/* How far a row's time may lie outside its partition's window: rows are written when they
 * are collected, up to a collection interval plus a batch after the fact. */
#define NR_PART_SLACK_NS (600LL * 1000000000LL)

struct nr_catalog_opts {
	const char *data_dir; /* either this */
	char *const *db_files; /* or these files (partitions or exports), when ndb_files > 0 */
	size_t ndb_files;
	int64_t since_ns, until_ns; /* NR_TIME_MIN / NR_TIME_MAX for open ends */
	void (*warn)(void *ud, const char *msg); /* may be NULL */
	void *warn_ud;
};

struct nr_cat_part {
	char *path;
	const char *name; /* base name */
	int64_t start_ns, end_ns; /* window; for --db files, from their meta */
	uint64_t size;
	bool finalized;
	bool bad; /* skipped: see err */
	char err[160];
};

struct nr_catalog;

/*
 * Lists and selects the partitions, and creates the connection with the virtual tables and
 * netrec's SQL functions. Returns 0, -ENOENT (no such directory or file), -EACCES, -ENOMEM,
 * or -EINVAL, with a one-line message in @err.
 */
int nr_catalog_open(const struct nr_catalog_opts *o, struct nr_catalog **ret, char *err,
		    size_t errlen);
void nr_catalog_free(struct nr_catalog *c);

sqlite3 *nr_catalog_db(struct nr_catalog *c);

/* Partitions whose window overlaps the time range (all of them with --db). */
size_t nr_catalog_count(const struct nr_catalog *c);
const struct nr_cat_part *nr_catalog_part(const struct nr_catalog *c, size_t i);
/* Partitions skipped so far because they could not be read. */
size_t nr_catalog_bad_count(const struct nr_catalog *c);

/* The read-only connection to partition @i (opened on first use), or NULL if it is bad. */
sqlite3 *nr_catalog_part_db(struct nr_catalog *c, size_t i);
/* Can partition @i hold rows of the time range (its window, with slack)? */
bool nr_catalog_part_in_range(const struct nr_catalog *c, size_t i);
/* Marks partition @i bad with a reason (warns once). */
void nr_catalog_part_fail(struct nr_catalog *c, size_t i, const char *why);

/*
 * The SQL condition selecting rows of @table in the time range, for queries run directly on a
 * partition connection ("1" when the range is open or the table has no time); parameters
 * ?1 = since, ?2 = until are bound by nr_catalog_bind_range().
 */
const char *nr_catalog_time_sql(const char *table);
void nr_catalog_bind_range(const struct nr_catalog *c, sqlite3_stmt *st);
void nr_catalog_range(const struct nr_catalog *c, int64_t *ret_since, int64_t *ret_until);

/*
 * Makes the connection read-only for user SQL: an authorizer that refuses every statement
 * that writes, attaches, detaches, creates, drops, or changes pragmas; extension loading off.
 */
void nr_catalog_lock_down(struct nr_catalog *c);

/* Table names of the schema, in order, NULL-terminated. */
extern const char *const nr_catalog_tables[];
