/* SPDX-License-Identifier: MIT */
/*
 * The store: a data directory of SQLite files, one per UTC-aligned time window
 * ("20261122T130000Z-3600s.db" holds what was written from 13:00:00 for 3600 s).
 * This module names, lists, creates, writes, finalizes and deletes partitions, and owns the
 * schema. It is the only part of the recorder that talks SQL. It does not log: errors come
 * back as -errno, with SQLite's message available from nr_part_errmsg().
 *
 * Life of a partition: created (WAL) -> written in batches -> finalized when its window is
 * over: lookup indexes built, meta completed, WAL checkpointed and removed (journal_mode
 * DELETE), file made read-only (0444). A finalized partition is never written again. A clean
 * stop inside the window checkpoints and removes the WAL but leaves the partition writable so
 * the next start resumes it; recovery finalizes any writable partition whose window is over.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct sqlite3;

#define NR_SCHEMA_VERSION 4
#define NR_PART_SUFFIX ".db"
#define NR_LOCK_NAME "netrecd.lock"

struct nr_part_info {
	int64_t start_ns, width_ns;
	char name[64];
	char *path; /* dir/name, malloc'd */
	uint64_t size; /* bytes, with -wal and -shm */
	bool finalized; /* read-only file and no -wal: immutable */
};

/* "20261122T130000Z-3600s.db". Returns 0 or -EINVAL (width < 1 s or not whole seconds). */
int nr_part_name(int64_t start_ns, int64_t width_ns, char *buf, size_t len);
/* The reverse; -EINVAL for names that are not partitions. */
int nr_part_name_parse(const char *name, int64_t *ret_start_ns, int64_t *ret_width_ns);
/* Start of the UTC-aligned window of @width_ns holding @t_ns (floor, also for t < 0). */
int64_t nr_part_align(int64_t t_ns, int64_t width_ns);

/* Partitions in @dir sorted by start, then width. -errno from opendir (ENOENT, EACCES...). */
int nr_store_list(const char *dir, struct nr_part_info **ret, size_t *ret_n);
void nr_store_list_free(struct nr_part_info *parts, size_t n);

/*
 * The time of the newest health row in @dir: when a recorder was last known to be running.
 * Returns 0, or -ENOENT when no partition holds one.
 */
int nr_store_last_seen(const char *dir, int64_t *ret_ns);

/* Takes the data directory's lock file (flock). Returns the fd, -EBUSY if another recorder
 * holds it, or -errno. */
int nr_store_lock(const char *dir);

/* What every partition's meta table says about where it came from. */
struct nr_meta_info {
	char host[256];
	char boot_id[40];
	char kernel[256];
	const char *version;
	bool synthetic;
};
void nr_meta_info_fill(struct nr_meta_info *m, const char *version, bool synthetic);

/* A partition open for writing. Not thread-safe: one thread at a time (the writer). */
struct nr_part;

/*
 * Opens the partition of window [@start_ns, +@width_ns) in @dir for writing: creates it with
 * the current schema, or resumes it (migrating an older schema). Returns 0, -EROFS if it is
 * finalized, -EPROTONOSUPPORT if its schema is newer than this build's, -ENOSPC, -EACCES,
 * -EIO or -ENOMEM. On failure *ret is untouched; a message may be left in @err.
 */
int nr_part_open(const char *dir, int64_t start_ns, int64_t width_ns,
		 const struct nr_meta_info *meta, struct nr_part **ret, char *err, size_t errlen);
int64_t nr_part_start_ns(const struct nr_part *p);
int64_t nr_part_end_ns(const struct nr_part *p);
const char *nr_part_path(const struct nr_part *p);
/* The last SQLite error message of @p. */
const char *nr_part_errmsg(const struct nr_part *p);

/* A write transaction. Errors as for nr_part_open. After a failed insert or commit, call
 * nr_part_rollback(): every row since nr_part_begin() is lost. */
int nr_part_begin(struct nr_part *p);
int nr_part_insert(struct nr_part *p, const struct nr_record *r);
int nr_part_commit(struct nr_part *p);
void nr_part_rollback(struct nr_part *p);

/*
 * Closes @p (accepts NULL). With @finalize, builds the lookup indexes, completes meta, and
 * makes the file immutable; otherwise only checkpoints so no -wal/-shm is left, waiting at
 * most 200 ms for readers (-EBUSY: the -wal stays, the data is safe in it). Returns 0 or
 * -errno; the handle is freed either way.
 */
int nr_part_close(struct nr_part *p, bool finalize);

/* Finalizes a partition file left writable (crash, stop inside the window, width change). */
int nr_store_finalize_path(const char *path, char *err, size_t errlen);

/*
 * Retention: deletes finalized partitions whose window ended before @now_ns - @max_age_ns
 * (0: no age limit), then the oldest finalized ones while the directory's partitions take
 * more than @max_bytes (0: no size limit). The partition at @keep_path (the open one) is
 * never deleted. Deleted partitions are returned in *ret_deleted (free with
 * nr_store_list_free). Returns 0 or -errno.
 */
int nr_store_retention(const char *dir, int64_t now_ns, int64_t max_age_ns, uint64_t max_bytes,
		       const char *keep_path, struct nr_part_info **ret_deleted, size_t *ret_n);

/*
 * Creates or migrates the schema on an open connection (for the query tool's export).
 * Returns the version found before (0: empty database), or -EPROTONOSUPPORT if newer than
 * NR_SCHEMA_VERSION, or -EIO.
 */
int nr_schema_apply(struct sqlite3 *db);

/*
 * The mechanism under nr_schema_apply(): @scripts[k] migrates version k to k + 1, and the
 * target version is @nscripts. Applied in order inside one savepoint (all or nothing).
 * Returns the version found before, -EPROTONOSUPPORT if newer than @nscripts, or -errno.
 */
int nr_schema_migrate(struct sqlite3 *db, const char *const *scripts, size_t nscripts);

/*
 * Writes the earliest and latest row times of database @schema ("main", "out") into its meta
 * under @min_key and @max_key (nothing when it has no rows). Returns 0 or -errno.
 */
int nr_schema_note_span(struct sqlite3 *db, const char *schema, const char *min_key,
			const char *max_key);

/* Builds the lookup indexes (finalization, export). Returns 0 or -EIO. */
int nr_schema_build_indexes(struct sqlite3 *db);

/* Maps an SQLite result code to -errno. */
int nr_sqlite_errno(int rc);
