/* SPDX-License-Identifier: MIT */
/*
 * Flows-like records for the benchmarks: deterministic (seeded), fast, and shaped like a busy
 * host's traffic: a few thousand internal hosts talking to tens of thousands of external ones,
 * a skewed host popularity (some hosts are far busier than others), 10% IPv6, mostly TCP.
 * Benchmarks only: nothing here is used by netrecd or netrec.
 */
#pragma once

#include <stdint.h>

#include "record.h"

struct flowgen {
	uint64_t rng;
};

void flowgen_init(struct flowgen *g, uint64_t seed);

/* Fills @r (table NR_T_FLOWS, source NR_SRC_FLOWS) with a flow that ended at @ts_end_ns. */
void flowgen_flow(struct flowgen *g, int64_t ts_end_ns, struct nr_record *r);

/* The canonical text of internal host @i (0 is the busiest), as the store writes it. */
void flowgen_internal_host(unsigned i, char *buf, size_t len);
