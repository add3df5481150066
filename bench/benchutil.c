// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

bool bench_parse_addr(const char *host, const char *port, struct sockaddr_storage *addr,
		      socklen_t *addrlen)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
	uint64_t p;

	if (!bench_parse_u64(port, 1, 65535, &p))
		return false;
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		*addrlen = sizeof(*a4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		*addrlen = sizeof(*a6);
		return true;
	}
	return false;
}
