/* SPDX-License-Identifier: MIT */
/*
 * The writer thread: the only SQLite connection of the recorder. It drains the queue into the
 * open partition in transactions of up to batch_rows rows or batch_ns old, rolls over to a new
 * partition when the window ends, finalizes closed partitions in the background, applies
 * retention, and survives an unwritable store (disk full, read-only, deleted directory): it
 * then counts what it cannot write and, once it can write again, stores a `gaps` row per
 * source for the blind period. It never spins and never blocks the collectors.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "queue.h"
#include "record.h"

struct nr_writer_opts {
	const char *dir;
	int64_t width_ns;
	size_t batch_rows;
	int64_t batch_ns;
	int64_t retention_age_ns; /* 0: none */
	uint64_t retention_bytes; /* 0: none */
	bool synthetic; /* mark partitions synthetic in meta */
	/* A silence in the store longer than this before the start is recorded as a gap,
	 * "recorder not running" (0: not checked). */
	int64_t downtime_ns;
	const char *version;
};

struct nr_writer_stats {
	uint64_t rows[NR_T_COUNT]; /* committed, monotonic */
	uint64_t commits;
	int64_t commit_ns_last, commit_ns_max; /* max since the last call */
	uint64_t lost; /* records the store could not take, monotonic */
	uint64_t partitions_deleted;
	bool blind; /* the store is not writable right now */
};

struct nr_writer;

/* Starts the thread. The queue must outlive the writer. Returns 0 or -errno. */
int nr_writer_start(const struct nr_writer_opts *o, struct nr_queue *q, struct nr_writer **ret);

/* Changes retention (SIGHUP). Thread-safe. */
void nr_writer_set_retention(struct nr_writer *w, int64_t age_ns, uint64_t bytes);

void nr_writer_stats(struct nr_writer *w, struct nr_writer_stats *ret);

/*
 * Call after nr_queue_close(): the thread writes everything left, commits, closes the open
 * partition cleanly (no -wal/-shm), and exits. Returns 0, or -EIO if records were lost at
 * the end because the store stayed unwritable. Frees @w.
 */
int nr_writer_stop(struct nr_writer *w);
