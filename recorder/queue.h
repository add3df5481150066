/* SPDX-License-Identifier: MIT */
/*
 * The bounded queue between the collectors (event loop thread) and the writer thread.
 * Fixed capacity, allocated once: memory never grows. A push to a full queue fails and the
 * record is counted as lost for its source; the next push of that source that finds room
 * first inserts a `gaps` record saying how many records were lost and when. Loss is never
 * silent. One lock; pushes and pops move many records per lock where they can.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct nr_queue;

/* Returns 0 or -ENOMEM / -EINVAL (capacity < 16). */
int nr_queue_new(size_t capacity, struct nr_queue **ret);
void nr_queue_free(struct nr_queue *q);

/*
 * Appends @r. Returns 0, or -ENOSPC when the queue is full: the record is dropped and
 * counted against r->source. Never blocks.
 */
int nr_queue_push(struct nr_queue *q, const struct nr_record *r);

/*
 * Waits until records are available, @deadline_mono_ns (CLOCK_MONOTONIC) passes, or the
 * queue is closed, then moves up to @max records to @out. Returns the number moved (0 on
 * timeout or when closed and empty).
 */
size_t nr_queue_pop(struct nr_queue *q, struct nr_record *out, size_t max,
		    int64_t deadline_mono_ns);

/* Wakes the writer even if fewer records than a chunk are waiting (end of a loop turn). */
void nr_queue_kick(struct nr_queue *q);

/*
 * Turns losses not yet reported (because the queue stayed full) into gap records in @out,
 * at most @max, and forgets them. For the writer's last drain at shutdown.
 */
size_t nr_queue_take_losses(struct nr_queue *q, struct nr_record *out, size_t max);

/* No more pushes will come; nr_queue_pop() drains what is left, then returns 0. */
void nr_queue_close(struct nr_queue *q);
bool nr_queue_closed_and_empty(struct nr_queue *q);

struct nr_queue_stats {
	size_t depth, capacity, high_water;
	uint64_t pushed[NR_SRC_COUNT]; /* accepted, monotonic */
	uint64_t dropped[NR_SRC_COUNT]; /* lost to a full queue, monotonic */
};
void nr_queue_stats(struct nr_queue *q, struct nr_queue_stats *ret);
/* Free slots now (a source that can wait, such as a table dump, checks before reading). */
size_t nr_queue_room(struct nr_queue *q);
