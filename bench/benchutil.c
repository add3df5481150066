// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

const char *bench_name = "bench";
void (*bench_usage)(FILE *f);

void bench_die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", bench_name, what, strerror(errno));
	exit(1);
}

void bench_bad_arg(const char *opt, const char *val)
{
	fprintf(stderr, "%s: bad value for %s: '%s'\n", bench_name, opt, val);
	if (bench_usage)
		bench_usage(stderr);
	exit(2);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool bench_parse_seconds(const char *s, uint64_t *ret_ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 1e9)
		return false;
	*ret_ns = (uint64_t)(v * 1e9);
	return true;
}
