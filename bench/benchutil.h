/* SPDX-License-Identifier: MIT */
/* What the conntrack bench programs (ctgen, ctcount) share: errors, options, a clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

extern const char *bench_name; /* "bench-ctgen", for messages */
extern void (*bench_usage)(FILE *f);

/* "NAME: WHAT: strerror(errno)", exit 1. */
void bench_die(const char *what) __attribute__((noreturn));
/* "NAME: bad value for OPT: 'VAL'" and the usage, exit 2. */
void bench_bad_arg(const char *opt, const char *val) __attribute__((noreturn));
/* CLOCK_MONOTONIC in ns. */
uint64_t bench_now_ns(void);
/* Seconds, fractions allowed, 0 to 1e9. */
bool bench_parse_seconds(const char *s, uint64_t *ret_ns);
