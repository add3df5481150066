/* SPDX-License-Identifier: MIT */
/*
 * The sources netrecd knows. Each starts on the daemon's loop and stops on request; one that
 * cannot start (no kernel support, no permission, not built) says why and the recorder goes
 * on with the others, recording the fact in `gaps` and `health`.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct nr_daemon;

struct nr_source_desc {
	const char *name;
	unsigned bit; /* NR_SOURCE_*, 0 for the synthetic source */
	enum nr_source_id id;
	/* Returns 0 and a state, or -errno with a one-line reason in @why. */
	int (*start)(struct nr_daemon *d, void **ret_state, char *why, size_t whylen);
	/* Accepts NULL. Emits what the source still holds, and its last health counters. */
	void (*stop)(struct nr_daemon *d, void *state);
	/* Optional: emits the source's own counters with nr_daemon_health(), on the health
	 * interval. */
	void (*health)(struct nr_daemon *d, void *state, int64_t now);
};

extern const struct nr_source_desc nr_sources[];
extern const size_t nr_sources_count;

/* The kernel sources (one module each). */
int nr_flows_start(struct nr_daemon *d, void **ret_state, char *why, size_t whylen);
void nr_flows_stop(struct nr_daemon *d, void *state);
void nr_flows_health(struct nr_daemon *d, void *state, int64_t now);
int nr_conntrack_start(struct nr_daemon *d, void **ret_state, char *why, size_t whylen);
void nr_conntrack_stop(struct nr_daemon *d, void *state);
void nr_conntrack_health(struct nr_daemon *d, void *state, int64_t now);
int nr_sockets_start(struct nr_daemon *d, void **ret_state, char *why, size_t whylen);
void nr_sockets_stop(struct nr_daemon *d, void *state);
void nr_sockets_health(struct nr_daemon *d, void *state, int64_t now);
int nr_topology_start(struct nr_daemon *d, void **ret_state, char *why, size_t whylen);
void nr_topology_stop(struct nr_daemon *d, void *state);
void nr_topology_health(struct nr_daemon *d, void *state, int64_t now);

/* libbpf prints only at log-level debug (the BPF sources call it before loading). */
void nr_sources_libbpf_quiet(void);

/* The synthetic source: rows for every table at the configured rate (tests, benchmarks). */
extern const struct nr_source_desc nr_source_synthetic;
