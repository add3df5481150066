// SPDX-License-Identifier: MIT
/*
 * recorder/queue: FIFO order across the ring's wrap-around, full-queue drops counted per
 * source and turned into exactly one "queue full" gap record ahead of the source's next
 * record, the slot kept for that gap record, timeouts, wake-ups, close and drain, leftover
 * losses at shutdown, and producers racing a consumer with every record accounted for.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nrtime.h"
#include "queue.h"
#include "record.h"

#define MS(x) ((int64_t)(x) * NR_NS_PER_MS)

/* A data record of @src carrying @seq (in flow.packets). */
static struct nr_record rec(enum nr_source_id src, uint64_t seq)
{
	struct nr_record r;

	memset(&r, 0, sizeof(r));
	r.table = NR_T_FLOWS;
	r.source = src;
	r.flow.packets = seq;
	r.flow.ts_start_ns = (int64_t)seq;
	return r;
}

static void assert_data(const struct nr_record *r, enum nr_source_id src, uint64_t seq)
{
	assert_int_equal(r->table, NR_T_FLOWS);
	assert_int_equal(r->source, src);
	assert_int_equal(r->flow.packets, seq);
}

static void assert_gap(const struct nr_record *r, enum nr_source_id src, int64_t lost,
		       int64_t t0, int64_t t1)
{
	assert_int_equal(r->table, NR_T_GAPS);
	assert_int_equal(r->source, src);
	assert_string_equal(r->gap.source, nr_source_name(src));
	assert_string_equal(r->gap.reason, "queue full");
	assert_int_equal(r->gap.lost, lost);
	/* When the drops happened: between the first and the last, inside the test. */
	assert_true(r->gap.ts_start_ns >= t0);
	assert_true(r->gap.ts_start_ns <= r->gap.ts_end_ns);
	assert_true(r->gap.ts_end_ns <= t1);
}

static struct nr_queue *new_queue(size_t cap)
{
	struct nr_queue *q = NULL;

	assert_int_equal(nr_queue_new(cap, &q), 0);
	assert_non_null(q);
	return q;
}

/* Pops without waiting. */
static size_t pop_now(struct nr_queue *q, struct nr_record *out, size_t max)
{
	return nr_queue_pop(q, out, max, nr_mono_ns());
}

static void test_new(void **state)
{
	struct nr_queue *q = (void *)1;
	struct nr_queue_stats st;

	assert_int_equal(nr_queue_new(0, &q), -EINVAL);
	assert_int_equal(nr_queue_new(15, &q), -EINVAL);
	assert_ptr_equal(q, (void *)1);
	q = new_queue(16);
	nr_queue_stats(q, &st);
	assert_int_equal(st.capacity, 16);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.high_water, 0);
	for (int s = 0; s < NR_SRC_COUNT; s++) {
		assert_int_equal(st.pushed[s], 0);
		assert_int_equal(st.dropped[s], 0);
	}
	nr_queue_free(q);
	nr_queue_free(NULL);
}

static void test_fifo_wraparound(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct nr_record out[32], r;
	uint64_t next_in = 0, next_out = 0;

	/* Many laps around a 16-slot ring with varying fill levels and pop sizes, so that
	 * pops start at every offset and cross the end of the ring. */
	for (int round = 0; round < 200; round++) {
		size_t fill = 1 + (size_t)(round * 7) % 16, max = 1 + (size_t)(round * 5) % 16, n;

		for (size_t i = 0; i < fill; i++) {
			r = rec(NR_SRC_FLOWS, next_in++);
			assert_int_equal(nr_queue_push(q, &r), 0);
		}
		while (next_out < next_in) {
			n = pop_now(q, out, max);
			assert_true(n >= 1 && n <= max);
			for (size_t i = 0; i < n; i++)
				assert_data(&out[i], NR_SRC_FLOWS, next_out++);
		}
		assert_int_equal(pop_now(q, out, 32), 0);
	}
	/* Exactly full, then drained in one pop larger than the ring. */
	for (int i = 0; i < 16; i++) {
		r = rec(NR_SRC_SOCKETS, next_in++);
		assert_int_equal(nr_queue_push(q, &r), 0);
	}
	assert_int_equal(pop_now(q, out, 32), 16);
	for (int i = 0; i < 16; i++)
		assert_data(&out[i], NR_SRC_SOCKETS, next_out++);
	/* max 0 moves nothing. */
	r = rec(NR_SRC_SOCKETS, 1);
	assert_int_equal(nr_queue_push(q, &r), 0);
	assert_int_equal(pop_now(q, out, 0), 0);
	assert_int_equal(pop_now(q, out, 1), 1);
	nr_queue_free(q);
}

static void test_full_and_gap(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct nr_queue_stats st;
	struct nr_record out[32], r;
	int64_t t0 = nr_now_ns(), t1;
	size_t n;

	for (int i = 0; i < 16; i++) {
		r = rec(NR_SRC_FLOWS, (uint64_t)i);
		assert_int_equal(nr_queue_push(q, &r), 0);
	}
	/* Full: dropped, counted against the record's source. */
	r = rec(NR_SRC_FLOWS, 100);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	r = rec(NR_SRC_FLOWS, 101);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	r = rec(NR_SRC_CONNTRACK, 200);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	nr_queue_stats(q, &st);
	assert_int_equal(st.depth, 16);
	assert_int_equal(st.pushed[NR_SRC_FLOWS], 16);
	assert_int_equal(st.dropped[NR_SRC_FLOWS], 2);
	assert_int_equal(st.dropped[NR_SRC_CONNTRACK], 1);
	assert_int_equal(st.dropped[NR_SRC_SOCKETS], 0);

	/* One slot free: not enough for flows' gap record and its record, so this is a drop
	 * too; a source with no pending loss may take the slot. */
	assert_int_equal(pop_now(q, out, 1), 1);
	assert_data(&out[0], NR_SRC_FLOWS, 0);
	r = rec(NR_SRC_FLOWS, 102);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	r = rec(NR_SRC_CONNTRACK, 201);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	r = rec(NR_SRC_SOCKETS, 300);
	assert_int_equal(nr_queue_push(q, &r), 0);
	r = rec(NR_SRC_SOCKETS, 301);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);

	/* Two slots: the gap record of flows, then the record. */
	assert_int_equal(pop_now(q, out, 2), 2);
	assert_data(&out[0], NR_SRC_FLOWS, 1);
	assert_data(&out[1], NR_SRC_FLOWS, 2);
	r = rec(NR_SRC_FLOWS, 103);
	assert_int_equal(nr_queue_push(q, &r), 0);
	/* Full again: conntrack's next record is dropped. */
	r = rec(NR_SRC_CONNTRACK, 202);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	t1 = nr_now_ns();

	n = pop_now(q, out, 32);
	assert_int_equal(n, 16);
	for (int i = 0; i < 13; i++)
		assert_data(&out[i], NR_SRC_FLOWS, (uint64_t)i + 3);
	assert_data(&out[13], NR_SRC_SOCKETS, 300);
	assert_gap(&out[14], NR_SRC_FLOWS, 3, t0, t1); /* 100, 101, 102 */
	assert_data(&out[15], NR_SRC_FLOWS, 103);

	/* Room now: conntrack's three drops come out before its next record, sockets' one
	 * before its. */
	r = rec(NR_SRC_CONNTRACK, 203);
	assert_int_equal(nr_queue_push(q, &r), 0);
	r = rec(NR_SRC_SOCKETS, 302);
	assert_int_equal(nr_queue_push(q, &r), 0);
	r = rec(NR_SRC_CONNTRACK, 204);
	assert_int_equal(nr_queue_push(q, &r), 0);
	n = pop_now(q, out, 32);
	assert_int_equal(n, 5);
	assert_gap(&out[0], NR_SRC_CONNTRACK, 3, t0, t1);
	assert_data(&out[1], NR_SRC_CONNTRACK, 203);
	assert_gap(&out[2], NR_SRC_SOCKETS, 1, t0, t1);
	assert_data(&out[3], NR_SRC_SOCKETS, 302);
	assert_data(&out[4], NR_SRC_CONNTRACK, 204); /* no second gap: the loss was reported */

	nr_queue_stats(q, &st);
	assert_int_equal(st.pushed[NR_SRC_FLOWS], 17);
	assert_int_equal(st.dropped[NR_SRC_FLOWS], 3);
	assert_int_equal(st.pushed[NR_SRC_CONNTRACK], 2);
	assert_int_equal(st.dropped[NR_SRC_CONNTRACK], 3);
	assert_int_equal(st.pushed[NR_SRC_SOCKETS], 2);
	assert_int_equal(st.dropped[NR_SRC_SOCKETS], 1);
	assert_int_equal(st.depth, 0);
	/* Nothing left to report. */
	assert_int_equal(nr_queue_take_losses(q, out, 32), 0);
	nr_queue_free(q);
}

static void test_unknown_source(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct nr_queue_stats st;
	struct nr_record r, out[32];

	for (int i = 0; i < 16; i++) {
		r = rec(NR_SRC_RECORDER, (uint64_t)i);
		assert_int_equal(nr_queue_push(q, &r), 0);
	}
	/* A source id out of range is counted as the recorder's, not out of bounds. */
	r = rec(NR_SRC_FLOWS, 0);
	r.source = 200;
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	nr_queue_stats(q, &st);
	assert_int_equal(st.dropped[NR_SRC_RECORDER], 1);
	assert_int_equal(nr_queue_take_losses(q, out, 32), 1);
	assert_int_equal(out[0].source, NR_SRC_RECORDER);
	assert_int_equal(out[0].gap.lost, 1);
	nr_queue_free(q);
}

static void test_high_water(void **state)
{
	struct nr_queue *q = new_queue(32);
	struct nr_queue_stats st;
	struct nr_record r, out[32];

	for (int i = 0; i < 10; i++) {
		r = rec(NR_SRC_FLOWS, (uint64_t)i);
		assert_int_equal(nr_queue_push(q, &r), 0);
	}
	assert_int_equal(pop_now(q, out, 7), 7);
	nr_queue_stats(q, &st);
	assert_int_equal(st.depth, 3);
	assert_int_equal(st.high_water, 10);
	/* The high-water mark restarts from the current depth at each read. */
	nr_queue_stats(q, &st);
	assert_int_equal(st.high_water, 3);
	nr_queue_free(q);
}

static void test_pop_timeout(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct nr_record out[4];
	int64_t t0, dt;

	t0 = nr_mono_ns();
	assert_int_equal(nr_queue_pop(q, out, 4, t0 + MS(200)), 0);
	dt = nr_mono_ns() - t0;
	assert_true(dt >= MS(195));
	assert_true(dt < MS(1500));

	/* A deadline in the past: no wait. */
	t0 = nr_mono_ns();
	assert_int_equal(nr_queue_pop(q, out, 4, t0 - MS(1000)), 0);
	assert_true(nr_mono_ns() - t0 < MS(100));
	nr_queue_free(q);
}

struct popper {
	struct nr_queue *q;
	int64_t deadline;
	size_t n;
	int64_t done_mono;
	struct nr_record out[8];
};

static void *popper_main(void *arg)
{
	struct popper *p = arg;

	p->n = nr_queue_pop(p->q, p->out, 8, p->deadline);
	__atomic_store_n(&p->done_mono, nr_mono_ns(), __ATOMIC_RELEASE);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Starts a pop with a long deadline in another thread, lets it block, runs @push, and
 * returns how long the pop took after @push. */
static int64_t wake_latency(struct nr_queue *q, struct popper *p, void (*push)(struct nr_queue *))
{
	pthread_t t;
	int64_t t0;

	memset(p, 0, sizeof(*p));
	p->q = q;
	p->deadline = nr_mono_ns() + MS(3000);
	assert_int_equal(pthread_create(&t, NULL, popper_main, p), 0);
	sleep_ms(100);
	t0 = nr_mono_ns();
	push(q);
	assert_int_equal(pthread_join(t, NULL), 0);
	return p->done_mono - t0;
}

static void push_one(struct nr_queue *q)
{
	struct nr_record r = rec(NR_SRC_FLOWS, 42);

	assert_int_equal(nr_queue_push(q, &r), 0);
}

static void do_close(struct nr_queue *q)
{
	nr_queue_close(q);
}

static void test_pop_wakes(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct popper p;

	/* A push to an empty queue wakes a waiting pop at once. */
	assert_true(wake_latency(q, &p, push_one) < MS(500));
	assert_int_equal(p.n, 1);
	assert_data(&p.out[0], NR_SRC_FLOWS, 42);
	/* So does close, with nothing to return. */
	assert_true(wake_latency(q, &p, do_close) < MS(500));
	assert_int_equal(p.n, 0);
	nr_queue_free(q);
}

static void push_after_loss(struct nr_queue *q)
{
	struct nr_record r = rec(NR_SRC_CONNTRACK, 7);

	assert_int_equal(nr_queue_push(q, &r), 0);
}

/*
 * BUG (recorder/queue.c, nr_queue_push): the writer is woken only when the depth becomes
 * exactly 1 (or a multiple of QUEUE_WAKE_CHUNK). A push of a source with a pending loss
 * into an empty queue adds two records (gap + record), so the depth goes 0 -> 2 and the
 * waiting pop is never signalled: it sleeps until its deadline although records wait.
 */
static void test_pop_wakes_after_loss(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct nr_record r, out[16];
	struct popper p;
	int64_t dt;

	for (int i = 0; i < 16; i++) {
		r = rec(NR_SRC_FLOWS, (uint64_t)i);
		assert_int_equal(nr_queue_push(q, &r), 0);
	}
	r = rec(NR_SRC_CONNTRACK, 6);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	assert_int_equal(pop_now(q, out, 16), 16);

	dt = wake_latency(q, &p, push_after_loss);
	assert_int_equal(p.n, 2);
	assert_gap(&p.out[0], NR_SRC_CONNTRACK, 1, 0, nr_now_ns());
	assert_data(&p.out[1], NR_SRC_CONNTRACK, 7);
	nr_queue_free(q);
	if (dt >= MS(500))
		fail_msg("BUG: pop woke %lld ms after a gap+record push into an empty queue "
			 "(slept until its deadline)",
			 (long long)(dt / NR_NS_PER_MS));
}

/*
 * BUG (recorder/queue.c nr_queue_pop): a negative deadline (one that has passed, e.g. computed
 * as mono - x shortly after boot) gives a timespec with a negative tv_nsec;
 * pthread_cond_timedwait() then fails at once with EINVAL (not ETIMEDOUT) without releasing
 * the lock, and the wait loop, which only leaves on ETIMEDOUT, spins forever holding the
 * queue's mutex: pushes, close and stats then block for good. Run in a child process with
 * an alarm, since the queue cannot be rescued from inside.
 */
static void test_pop_negative_deadline(void **state)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nr_queue *q;
		struct nr_record out[4];

		alarm(2);
		if (nr_queue_new(16, &q) < 0)
			_exit(3);
		_exit(nr_queue_pop(q, out, 4, -1) == 0 ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("BUG: pop with a deadline in the past (-1 ns) had not returned after 2 s "
			 "(killed by signal %d)",
			 WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_kick(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct popper p;
	pthread_t t;
	int64_t t0;

	/* kick on an empty queue does not make a pop return early with nothing. */
	memset(&p, 0, sizeof(p));
	p.q = q;
	t0 = nr_mono_ns();
	p.deadline = t0 + MS(300);
	assert_int_equal(pthread_create(&t, NULL, popper_main, &p), 0);
	sleep_ms(50);
	nr_queue_kick(q);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(p.n, 0);
	assert_true(p.done_mono - t0 >= MS(295));
	nr_queue_free(q);
}

static void test_close_and_drain(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct nr_queue_stats st;
	struct nr_record r, out[16];
	int64_t t0;

	for (int i = 0; i < 5; i++) {
		r = rec(NR_SRC_FLOWS, (uint64_t)i);
		assert_int_equal(nr_queue_push(q, &r), 0);
	}
	assert_false(nr_queue_closed_and_empty(q));
	nr_queue_close(q);
	assert_false(nr_queue_closed_and_empty(q));
	/* No pushes after close: refused and counted as lost. */
	r = rec(NR_SRC_FLOWS, 5);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	nr_queue_stats(q, &st);
	assert_int_equal(st.pushed[NR_SRC_FLOWS], 5);
	assert_int_equal(st.dropped[NR_SRC_FLOWS], 1);

	/* What is left comes out in order, then pops return 0 at once, not at the deadline. */
	t0 = nr_mono_ns();
	assert_int_equal(nr_queue_pop(q, out, 3, t0 + MS(5000)), 3);
	assert_int_equal(nr_queue_pop(q, out + 3, 16, t0 + MS(5000)), 2);
	for (int i = 0; i < 5; i++)
		assert_data(&out[i], NR_SRC_FLOWS, (uint64_t)i);
	assert_true(nr_queue_closed_and_empty(q));
	assert_int_equal(nr_queue_pop(q, out, 16, t0 + MS(5000)), 0);
	assert_true(nr_mono_ns() - t0 < MS(1000));

	/* The refused push is still reported, by take_losses. */
	assert_int_equal(nr_queue_take_losses(q, out, 16), 1);
	assert_gap(&out[0], NR_SRC_FLOWS, 1, 0, nr_now_ns());
	nr_queue_free(q);
}

static void test_take_losses(void **state)
{
	struct nr_queue *q = new_queue(16);
	struct nr_record r, out[16];
	int64_t t0 = nr_now_ns(), t1;

	for (int i = 0; i < 16; i++) {
		r = rec(NR_SRC_RECORDER, (uint64_t)i);
		assert_int_equal(nr_queue_push(q, &r), 0);
	}
	for (int i = 0; i < 4; i++) {
		r = rec(NR_SRC_SYNTHETIC, 0);
		assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	}
	r = rec(NR_SRC_FLOWS, 0);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	r = rec(NR_SRC_TOPOLOGY, 0);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	r = rec(NR_SRC_TOPOLOGY, 0);
	assert_int_equal(nr_queue_push(q, &r), -ENOSPC);
	t1 = nr_now_ns();

	/* At most @max, in source order; the rest stays for the next call. */
	assert_int_equal(nr_queue_take_losses(q, out, 2), 2);
	assert_gap(&out[0], NR_SRC_FLOWS, 1, t0, t1);
	assert_gap(&out[1], NR_SRC_TOPOLOGY, 2, t0, t1);
	assert_int_equal(nr_queue_take_losses(q, out, 16), 1);
	assert_gap(&out[0], NR_SRC_SYNTHETIC, 4, t0, t1);
	assert_int_equal(nr_queue_take_losses(q, out, 16), 0);
	assert_int_equal(nr_queue_take_losses(q, out, 0), 0);

	/* Taken losses are forgotten: the next push of the source inserts no gap record. The
	 * queue itself is untouched by take_losses. */
	assert_int_equal(pop_now(q, out, 16), 16);
	for (int i = 0; i < 16; i++)
		assert_data(&out[i], NR_SRC_RECORDER, (uint64_t)i);
	r = rec(NR_SRC_SYNTHETIC, 9);
	assert_int_equal(nr_queue_push(q, &r), 0);
	assert_int_equal(pop_now(q, out, 16), 1);
	assert_data(&out[0], NR_SRC_SYNTHETIC, 9);
	nr_queue_free(q);
}

/* ---- producers racing a consumer ----------------------------------------------------- */

#define RACE_N 200000
#define RACE_PRODUCERS 2

struct producer {
	struct nr_queue *q;
	enum nr_source_id src;
	uint64_t accepted, dropped;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (uint64_t i = 0; i < RACE_N; i++) {
		struct nr_record r = rec(p->src, i);
		int k;

		/* Bursts far larger than the queue, with pauses in which the consumer drains it:
		 * every burst overflows, and the next one starts with a gap record. */
		if (i % 5000 == 4999)
			sleep_ms(3);
		k = nr_queue_push(p->q, &r);

		if (k == 0)
			p->accepted++;
		else if (k == -ENOSPC)
			p->dropped++;
		else
			abort();
	}
	return NULL;
}

struct consumer {
	struct nr_queue *q;
	/* Per source: data records seen, gap records seen, their lost sum, and the number of
	 * records missing between consecutive data records (the ground truth for the gaps). */
	uint64_t data[NR_SRC_COUNT], gaps[NR_SRC_COUNT], gap_lost[NR_SRC_COUNT];
	uint64_t missing[NR_SRC_COUNT];
	int64_t last_seq[NR_SRC_COUNT];
	int64_t pending_gap[NR_SRC_COUNT]; /* lost of a gap not yet followed by its record */
	bool bad_order, gap_mismatch, stray;
	uint64_t pops;
};

static void consume(struct consumer *c, const struct nr_record *r)
{
	unsigned s = r->source;

	if (s >= NR_SRC_COUNT) {
		c->stray = true;
		return;
	}
	if (r->table == NR_T_GAPS) {
		c->gaps[s]++;
		c->gap_lost[s] += (uint64_t)r->gap.lost;
		if (c->pending_gap[s] || strcmp(r->gap.reason, "queue full") != 0)
			c->gap_mismatch = true;
		c->pending_gap[s] = r->gap.lost;
		return;
	}
	{
		int64_t seq = (int64_t)r->flow.packets, miss = seq - c->last_seq[s] - 1;

		if (seq <= c->last_seq[s])
			c->bad_order = true;
		c->missing[s] += (uint64_t)miss;
		/* The gap record right before a record accounts for exactly the records
		 * missing since the previous one of the same source. */
		if (miss != c->pending_gap[s])
			c->gap_mismatch = true;
		c->pending_gap[s] = 0;
		c->last_seq[s] = seq;
		c->data[s]++;
	}
}

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	struct nr_record out[64];

	for (int s = 0; s < NR_SRC_COUNT; s++)
		c->last_seq[s] = -1;
	for (;;) {
		size_t n = nr_queue_pop(c->q, out, 64, nr_mono_ns() + MS(100));

		c->pops++;
		for (size_t i = 0; i < n; i++)
			consume(c, &out[i]);
		if (n == 0 && nr_queue_closed_and_empty(c->q))
			break;
		/* Much slower than the producers' bursts, so the queue fills in each. */
		if (n)
			sleep_ms(1);
	}
	return NULL;
}

static void test_race(void **state)
{
	struct producer prod[RACE_PRODUCERS];
	struct nr_queue *q = new_queue(256);
	struct nr_queue_stats st;
	struct consumer *c = calloc(1, sizeof(*c));
	pthread_t tp[RACE_PRODUCERS], tc;
	struct nr_record left[NR_SRC_COUNT];
	size_t nleft;

	assert_non_null(c);
	c->q = q;
	assert_int_equal(pthread_create(&tc, NULL, consumer_main, c), 0);
	for (int i = 0; i < RACE_PRODUCERS; i++) {
		prod[i] = (struct producer){ .q = q, .src = i ? NR_SRC_CONNTRACK : NR_SRC_FLOWS };
		assert_int_equal(pthread_create(&tp[i], NULL, producer_main, &prod[i]), 0);
	}
	for (int i = 0; i < RACE_PRODUCERS; i++)
		assert_int_equal(pthread_join(tp[i], NULL), 0);
	nr_queue_close(q);
	assert_int_equal(pthread_join(tc, NULL), 0);

	/* Losses still pending at the end (the queue stayed full for the last pushes). */
	nleft = nr_queue_take_losses(q, left, NR_SRC_COUNT);
	for (size_t i = 0; i < nleft; i++) {
		assert_int_equal(left[i].table, NR_T_GAPS);
		c->gap_lost[left[i].source] += (uint64_t)left[i].gap.lost;
		c->missing[left[i].source] += RACE_N - 1 - (uint64_t)c->last_seq[left[i].source];
	}

	nr_queue_stats(q, &st);
	assert_false(c->bad_order);
	assert_false(c->gap_mismatch);
	assert_false(c->stray);
	for (int i = 0; i < RACE_PRODUCERS; i++) {
		enum nr_source_id s = prod[i].src;

		assert_int_equal(prod[i].accepted + prod[i].dropped, RACE_N);
		assert_int_equal(st.pushed[s], prod[i].accepted);
		assert_int_equal(st.dropped[s], prod[i].dropped);
		assert_int_equal(c->data[s], prod[i].accepted);
		assert_int_equal(c->gap_lost[s], prod[i].dropped);
		assert_int_equal(c->missing[s], prod[i].dropped);
		/* The test is only meaningful if the queue did overflow. */
		assert_true(prod[i].dropped > 0);
		assert_true(c->gaps[s] > 0);
	}
	assert_true(st.high_water <= 256);
	free(c);
	nr_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new),
		cmocka_unit_test(test_fifo_wraparound),
		cmocka_unit_test(test_full_and_gap),
		cmocka_unit_test(test_unknown_source),
		cmocka_unit_test(test_high_water),
		cmocka_unit_test(test_pop_timeout),
		cmocka_unit_test(test_pop_wakes),
		cmocka_unit_test(test_pop_wakes_after_loss),
		cmocka_unit_test(test_pop_negative_deadline),
		cmocka_unit_test(test_kick),
		cmocka_unit_test(test_close_and_drain),
		cmocka_unit_test(test_take_losses),
		cmocka_unit_test(test_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
