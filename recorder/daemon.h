/* SPDX-License-Identifier: MIT */
/*
 * netrecd's main loop: one epoll loop for the sources (signalfd, timerfds, netlink and BPF
 * fds), the queue, the writer thread, health counters, and orderly stop. Sources register
 * fds and timers here and hand records to nr_daemon_emit(); they never touch the store.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "record.h"

struct nr_daemon;

typedef void (*nr_io_cb)(struct nr_daemon *d, int fd, uint32_t events, void *data);

/* Watches @fd for EPOLLIN. Returns 0 or -errno. */
int nr_daemon_watch(struct nr_daemon *d, int fd, nr_io_cb cb, void *data);
void nr_daemon_unwatch(struct nr_daemon *d, int fd);

/* A periodic timer; the callback must read(fd) its expiration count. Returns the fd. */
int nr_daemon_timer(struct nr_daemon *d, int64_t interval_ns, nr_io_cb cb, void *data);

/* Hands a record to the writer. Never blocks; a full queue counts the loss (queue.h).
 * Returns 0 or -ENOSPC. */
int nr_daemon_emit(struct nr_daemon *d, const struct nr_record *r);

/* Free slots in the queue: a source whose input can wait (a netlink dump the kernel paces)
 * reads only while there is room, instead of losing records to a full queue. */
size_t nr_daemon_queue_room(struct nr_daemon *d);
/* Wakes the writer now (a source that waits for room calls it). */
void nr_daemon_kick(struct nr_daemon *d);
/* Waits (2 ms at a time, 5 s at most) until the queue has room for @rows: for a source
 * that must hand over many rows at once and whose input can wait (a drained flow map, a
 * socket sample), instead of losing rows to a full queue. Blocks the loop meanwhile.
 * Returns false if there is still no room (the writer is stuck): the caller stops waiting
 * for the rest of its pass, and what does not fit is counted as lost by the queue. */
bool nr_daemon_wait_room(struct nr_daemon *d, size_t rows);

/* Hands a gaps row from @src to the writer: [from, to], why, and how much was lost
 * (NR_NONE: unknown). */
void nr_daemon_gap(struct nr_daemon *d, enum nr_source_id src, int64_t from, int64_t to,
		   const char *reason, int64_t lost);

/* Hands a health row about @src to the writer (sources call it from their health hook). */
void nr_daemon_health(struct nr_daemon *d, enum nr_source_id src, int64_t now,
		      const char *metric, double v);

const struct nr_config *nr_daemon_config(const struct nr_daemon *d);

/* Runs netrecd with @c until a signal or --duration. Returns the process exit status. */
int nr_daemon_run(struct nr_config *c);
