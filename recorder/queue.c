// SPDX-License-Identifier: MIT
/*
 * Bounded single-lock ring of records with per-source loss accounting (see queue.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nrtime.h"
#include "queue.h"

/* The writer is woken when this many records wait, or by nr_queue_kick(). */
#define QUEUE_WAKE_CHUNK 1024

struct pending_loss {
	uint64_t lost;
	int64_t first_ns, last_ns;
};

struct nr_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nr_record *ring;
	size_t cap, head, count, high_water;
	bool closed, waiting;
	uint64_t pushed[NR_SRC_COUNT], dropped[NR_SRC_COUNT];
	struct pending_loss pending[NR_SRC_COUNT];
};

int nr_queue_new(size_t capacity, struct nr_queue **ret)
{
	struct nr_queue *q;
	pthread_condattr_t ca;

	if (capacity < 16)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->ring = calloc(capacity, sizeof(*q->ring));
	if (!q->ring) {
		free(q);
		return -ENOMEM;
	}
	q->cap = capacity;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	*ret = q;
	return 0;
}

void nr_queue_free(struct nr_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q->ring);
	free(q);
}

static void put_locked(struct nr_queue *q, const struct nr_record *r)
{
	q->ring[(q->head + q->count) % q->cap] = *r;
	q->count++;
	if (q->count > q->high_water)
		q->high_water = q->count;
}

static void wake_locked(struct nr_queue *q)
{
	if (q->waiting)
		pthread_cond_signal(&q->cond);
}

int nr_queue_push(struct nr_queue *q, const struct nr_record *r)
{
	unsigned src = r->source < NR_SRC_COUNT ? r->source : NR_SRC_RECORDER;
	struct pending_loss *pl = &q->pending[src];
	int ret = 0;

	size_t before;

	pthread_mutex_lock(&q->lock);
	before = q->count;
	/* A pending loss needs one slot for its gap record, plus one for @r. */
	if (q->closed || q->count + (pl->lost ? 2 : 1) > q->cap) {
		int64_t now = nr_now_ns();

		if (!pl->lost)
			pl->first_ns = now;
		pl->last_ns = now;
		pl->lost++;
		q->dropped[src]++;
		ret = -ENOSPC;
		goto out;
	}
	if (pl->lost) {
		struct nr_record gap;

		nr_record_gap(&gap, src, pl->first_ns, pl->last_ns, "queue full",
			      (int64_t)pl->lost);
		put_locked(q, &gap);
		memset(pl, 0, sizeof(*pl));
	}
	put_locked(q, r);
	q->pushed[src]++;
	if (before == 0 || q->count / QUEUE_WAKE_CHUNK != before / QUEUE_WAKE_CHUNK)
		wake_locked(q);
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}

size_t nr_queue_pop(struct nr_queue *q, struct nr_record *out, size_t max,
		    int64_t deadline_mono_ns)
{
	struct timespec ts;
	size_t n = 0;

	if (deadline_mono_ns < 0)
		deadline_mono_ns = 0;
	ts.tv_sec = deadline_mono_ns / NR_NS_PER_SEC;
	ts.tv_nsec = deadline_mono_ns % NR_NS_PER_SEC;

	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->closed) {
		int rc;

		q->waiting = true;
		rc = pthread_cond_timedwait(&q->cond, &q->lock, &ts);
		q->waiting = false;
		if (rc != 0) /* ETIMEDOUT, or EINVAL for a deadline it cannot take */
			break;
	}
	while (n < max && q->count > 0) {
		size_t run = q->cap - q->head;

		if (run > q->count)
			run = q->count;
		if (run > max - n)
			run = max - n;
		memcpy(out + n, q->ring + q->head, run * sizeof(*out));
		q->head = (q->head + run) % q->cap;
		q->count -= run;
		n += run;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

void nr_queue_kick(struct nr_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->count)
		wake_locked(q);
	pthread_mutex_unlock(&q->lock);
}

size_t nr_queue_take_losses(struct nr_queue *q, struct nr_record *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	for (unsigned src = 0; src < NR_SRC_COUNT && n < max; src++) {
		struct pending_loss *pl = &q->pending[src];

		if (!pl->lost)
			continue;
		nr_record_gap(&out[n++], src, pl->first_ns, pl->last_ns, "queue full",
			      (int64_t)pl->lost);
		memset(pl, 0, sizeof(*pl));
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

void nr_queue_close(struct nr_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

bool nr_queue_closed_and_empty(struct nr_queue *q)
{
	bool r;

	pthread_mutex_lock(&q->lock);
	r = q->closed && q->count == 0;
	pthread_mutex_unlock(&q->lock);
	return r;
}

size_t nr_queue_room(struct nr_queue *q)
{
	size_t room;

	pthread_mutex_lock(&q->lock);
	room = q->cap - q->count;
	pthread_mutex_unlock(&q->lock);
	return room;
}

void nr_queue_stats(struct nr_queue *q, struct nr_queue_stats *ret)
{
	pthread_mutex_lock(&q->lock);
	ret->depth = q->count;
	ret->capacity = q->cap;
	ret->high_water = q->high_water;
	memcpy(ret->pushed, q->pushed, sizeof(ret->pushed));
	memcpy(ret->dropped, q->dropped, sizeof(ret->dropped));
	q->high_water = q->count;
	pthread_mutex_unlock(&q->lock);
}
