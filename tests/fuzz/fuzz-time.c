// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the time, duration and size parsers of common/nrtime.h: every string a
 * user types after --since, --until, --partition or --retention-size, and the partition file
 * names the store reads back. Besides the sanitizers, checks that what parses as a time also
 * survives nr_time_format() and parses back to the same nanosecond.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nrtime.h"

/* 2026-11-22T13:24:06Z: a fixed "now" keeps every run reproducible. */
#define FUZZ_NOW_NS (1795267446LL * NR_NS_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_time_round_trip(const char *input, int64_t ns)
{
	char buf[64];
	int64_t back;

	/* Times before 1970 are refused; int64_t nanoseconds end in 2262, well within the
	 * 4-digit years both sides handle. */
	if (ns < 0)
		return;
	nr_time_format(ns, 9, buf, sizeof(buf));
	if (nr_time_parse(buf, FUZZ_NOW_NS, &back) != 0 || back != ns) {
		fprintf(stderr, "time round trip: '%s' -> %lld -> '%s' -> %lld\n", input,
			(long long)ns, buf, (long long)back);
		abort();
	}
}

static void check_compact_round_trip(const char *input, int64_t ns)
{
	char buf[32];
	int64_t back;

	if (nr_time_format_compact(ns, buf, sizeof(buf)) < 0)
		return;
	if (nr_time_parse_compact(buf, &back) != 0 || back != ns) {
		fprintf(stderr, "compact round trip: '%s' -> %lld -> '%s'\n", input, (long long)ns,
			buf);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int64_t ns = 0;
	uint64_t bytes;

	/* The parsers take C strings: an embedded NUL simply ends the string early. */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (nr_time_parse(s, FUZZ_NOW_NS, &ns) == 0)
		check_time_round_trip(s, ns);
	if (nr_duration_parse(s, &ns) == 0 && ns < 0) {
		fprintf(stderr, "negative duration: '%s' -> %lld\n", s, (long long)ns);
		abort();
	}
	(void)nr_size_parse(s, &bytes);
	if (nr_time_parse_compact(s, &ns) == 0)
		check_compact_round_trip(s, ns);

	free(s);
	return 0;
}
