/* SPDX-License-Identifier: MIT */
/*
 * SQL functions netrec registers on its connections, for reports, filters and ad-hoc SQL
 * alike (documented in docs/query.md):
 *   in_cidr(addr, cidr)  1 if text address @addr is inside @cidr, 0 if not (or a different
 *                        family), NULL if either is NULL; an invalid cidr is an SQL error,
 *                        an invalid address is 0.
 *   ts_iso(ns)           UTC ISO 8601 text with milliseconds, NULL for NULL.
 *   ns(text)             a time as nr_time_parse() reads it ("2h ago", "2026-11-22T03:00Z")
 *                        relative to the statement's start, NULL for NULL; error if bad.
 *   proto_name(n)        "tcp", "udp", "icmp", "icmp6", ... or the number as text.
 *   max_sum(x, k1, ...)  aggregate, 1 to 8 keys: sums x per distinct (k1, ...) in the group
 *                        and returns the largest sum (NULL if every x is NULL). netrec top
 *                        counts a flow once with it: max_sum(bytes, netns, ifindex, direction).
 * All are deterministic except ns(), and safe on hostile input.
 */
#pragma once

#include <sqlite3.h>

/* Returns 0 or a negative errno-style code. */
int nr_sqlfuncs_register(sqlite3 *db);

/* The name of an IP protocol number ("tcp"), or NULL when netrec has no name for it. */
const char *nr_proto_name(int proto);
/* The number for a name as the filter accepts it, or -EINVAL. */
int nr_proto_number(const char *name);
