/* SPDX-License-Identifier: MIT */
/* What the conntrack bench programs (ctgen, ctcount) share: errors, options, a clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

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
/* A decimal number from @min to @max (no sign, no suffix). */
bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* An IPv4 or IPv6 address and a port from 1 to 65535 into @addr. */
bool bench_parse_addr(const char *host, const char *port, struct sockaddr_storage *addr,
		      socklen_t *addrlen);
