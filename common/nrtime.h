/* SPDX-License-Identifier: MIT */
/*
 * Time: one unit everywhere, int64_t nanoseconds since the Unix epoch (UTC), suffix _ns.
 * Signed because SQLite's INTEGER is, and because differences must not wrap.
 * This module reads clocks, parses the times and durations users type, and formats times
 * for display. It does not log and holds no state.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define NR_NS_PER_US 1000LL
#define NR_NS_PER_MS 1000000LL
#define NR_NS_PER_SEC 1000000000LL

/* CLOCK_REALTIME and CLOCK_MONOTONIC in nanoseconds. */
int64_t nr_now_ns(void);
int64_t nr_mono_ns(void);

/*
 * Parses a point in time typed by a user, relative to @now_ns:
 *   ISO 8601: 2026-11-22T03:10:00Z, 2026-11-22 03:10, 2026-11-22T03:10:00.5+01:00, 2026-11-22
 *             (no zone: local time, the TZ environment variable applies)
 *   epoch seconds: 1700000000, 1700000000.25, @1700000000
 *   relative: now, 90s ago, 15m ago, 2h ago, 3d ago, 1w ago, 500ms ago
 *   days: today, yesterday, today 03:00, yesterday 03:00:30 (local time)
 * Surrounding blanks are ignored. Returns 0, or -EINVAL if @s is not one of these (including
 * out-of-range fields such as month 13 or a time before 1970). *ret_ns written only on success.
 */
int nr_time_parse(const char *s, int64_t now_ns, int64_t *ret_ns);

/*
 * Parses a duration: a number followed by ns, us, ms, s, m, h, d or w; several may follow
 * each other ("1h30m"); a bare number is seconds. Returns 0, or -EINVAL (empty, unknown
 * unit, negative, overflow). *ret_ns written only on success.
 */
int nr_duration_parse(const char *s, int64_t *ret_ns);

/*
 * Parses a byte size: a number with an optional K, M, G or T suffix (powers of 1024, an
 * optional trailing "B" or "iB"). Returns 0 or -EINVAL.
 */
int nr_size_parse(const char *s, uint64_t *ret_bytes);

/*
 * Formats @ns as ISO 8601 in UTC with @digits fractional digits (0, 3, 6 or 9):
 * "2026-11-22T13:24:06.123Z". Returns the length written (always NUL-terminated when
 * @len > 0), like snprintf. Times before 1970 are formatted too.
 */
int nr_time_format(int64_t ns, int digits, char *buf, size_t len);

/* UTC calendar second for the partition names: "20261122T130000Z" (16 chars + NUL). */
int nr_time_format_compact(int64_t ns, char *buf, size_t len);
/* The reverse; -EINVAL unless exactly that form. */
int nr_time_parse_compact(const char *s, int64_t *ret_ns);
