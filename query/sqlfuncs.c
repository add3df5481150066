// SPDX-License-Identifier: MIT
/*
 * SQL functions netrec registers on its connections (see sqlfuncs.h), and the IP protocol
 * names the filter and the reports share. in_cidr() runs once per row over millions of rows,
 * so it parses its prefix once per statement (auxdata) and never allocates per row.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <sqlite3.h>

#include "addr.h"
#include "nrtime.h"
#include "sqlfuncs.h"

static const struct {
	const char *name;
	int number;
} proto_names[] = {
	/* The first name for a number is the one nr_proto_name() returns. */
	{ "icmp", 1 },	  { "tcp", 6 },	      { "udp", 17 },	   { "gre", 47 }, { "esp", 50 },
	{ "ah", 51 },	  { "icmp6", 58 },    { "icmpv6", 58 },	   { "ipv6-icmp", 58 },
	{ "sctp", 132 },
};

#define N_PROTO_NAMES (sizeof(proto_names) / sizeof(proto_names[0]))

const char *nr_proto_name(int proto)
{
	size_t i;

	for (i = 0; i < N_PROTO_NAMES; i++)
		if (proto_names[i].number == proto)
			return proto_names[i].name;
	return NULL;
}

static bool ascii_eq_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

int nr_proto_number(const char *name)
{
	size_t i;
	int v = 0;

	if (!name || !name[0])
		return -EINVAL;
	for (i = 0; i < N_PROTO_NAMES; i++)
		if (ascii_eq_nocase(name, proto_names[i].name))
			return proto_names[i].number;
	/* Decimal 0..255, digits only (no sign, blanks or hex). */
	if (strlen(name) > 3)
		return -EINVAL;
	for (i = 0; name[i]; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		v = v * 10 + (name[i] - '0');
	}
	return v <= 255 ? v : -EINVAL;
}

/*
 * The text of @v as a NUL-terminated string no longer than @max bytes, or NULL if it is
 * longer or holds a NUL byte (a blob can): "10.0.0.1\0junk" must not read as 10.0.0.1.
 */
static const char *value_text(sqlite3_value *v, size_t max)
{
	const char *s = (const char *)sqlite3_value_text(v);
	int n = sqlite3_value_bytes(v);

	if (!s || n < 0 || (size_t)n > max || strlen(s) != (size_t)n)
		return NULL;
	return s;
}

/* Hostile text in an error message: at most 40 bytes, control bytes shown as '?'. */
static void error_with_text(sqlite3_context *ctx, const char *what, sqlite3_value *v)
{
	const unsigned char *s = sqlite3_value_text(v);
	int n = sqlite3_value_bytes(v), i;
	char shown[48], msg[128];

	for (i = 0; s && i < n && i < 40; i++)
		shown[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
	shown[i] = '\0';
	snprintf(msg, sizeof(msg), "%s '%s%s'", what, shown, s && n > 40 ? "..." : "");
	sqlite3_result_error(ctx, msg, -1);
}

static void fn_in_cidr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct nr_cidr *cached;
	struct nr_cidr cidr;
	struct nr_addr addr;
	const char *s;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
		return; /* NULL */

	cached = sqlite3_get_auxdata(ctx, 1);
	if (cached) {
		cidr = *cached;
	} else {
		struct nr_cidr *copy;

		s = value_text(argv[1], NR_ADDR_STRLEN + 4);
		if (!s || nr_cidr_parse(s, &cidr) < 0) {
			error_with_text(ctx, "in_cidr: invalid CIDR", argv[1]);
			return;
		}
		/* Cached for as long as argument 1 stays the same (a literal or a bound
		 * parameter: the whole statement). Without memory, just parse every row. */
		copy = sqlite3_malloc(sizeof(*copy));
		if (copy) {
			*copy = cidr;
			sqlite3_set_auxdata(ctx, 1, copy, sqlite3_free);
		}
	}

	s = value_text(argv[0], NR_ADDR_STRLEN - 1);
	/* The other family cannot match: skip parsing it (tables mix IPv4 and IPv6 rows). */
	if (!s || (strchr(s, ':') != NULL) != (cidr.addr.family == AF_INET6)) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	sqlite3_result_int(ctx, nr_addr_parse(s, &addr) == 0 && nr_cidr_contains(&cidr, &addr));
}

static void fn_ts_iso(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char buf[64];
	int64_t ns;
	int n;

	switch (sqlite3_value_numeric_type(argv[0])) {
	case SQLITE_INTEGER:
		ns = sqlite3_value_int64(argv[0]);
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_value_double(argv[0]);

		/* NaN fails both comparisons. */
		if (!(d >= -9.2e18 && d <= 9.2e18))
			return;
		ns = (int64_t)d;
		break;
	}
	default:
		return; /* NULL, and text or blobs that are not numbers */
	}
	n = nr_time_format(ns, 3, buf, sizeof(buf));
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	sqlite3_result_text(ctx, buf, n, SQLITE_TRANSIENT);
}

/*
 * "Now" is read once per statement: the result for a constant argument (the usual
 * ns('2h ago')) is kept as auxdata, so every row of one statement compares against the same
 * instant. An argument that changes per row is parsed against the clock at that row.
 */
static void fn_ns(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const int64_t *cached;
	int64_t ns, *copy;
	const char *s;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	cached = sqlite3_get_auxdata(ctx, 0);
	if (cached) {
		sqlite3_result_int64(ctx, *cached);
		return;
	}
	s = value_text(argv[0], 256);
	if (!s || nr_time_parse(s, nr_now_ns(), &ns) < 0) {
		error_with_text(ctx, "ns: not a time", argv[0]);
		return;
	}
	sqlite3_result_int64(ctx, ns);
	copy = sqlite3_malloc(sizeof(*copy));
	if (copy) {
		*copy = ns;
		sqlite3_set_auxdata(ctx, 0, copy, sqlite3_free);
	}
}

static void fn_proto_name(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *name;
	sqlite3_int64 v;

	switch (sqlite3_value_numeric_type(argv[0])) {
	case SQLITE_INTEGER:
		v = sqlite3_value_int64(argv[0]);
		break;
	case SQLITE_FLOAT: {
		/* SUM() and friends turn integers into reals: 6.0 is still tcp. */
		double d = sqlite3_value_double(argv[0]);

		if (!(d >= -1e15 && d <= 1e15) || d != (double)(sqlite3_int64)d)
			return;
		v = (sqlite3_int64)d;
		break;
	}
	default:
		return; /* NULL, text that is not a number, blobs */
	}
	name = v >= 0 && v <= 255 ? nr_proto_name((int)v) : NULL;
	if (name)
		sqlite3_result_text(ctx, name, -1, SQLITE_STATIC);
	else {
		char buf[24];

		snprintf(buf, sizeof(buf), "%lld", (long long)v);
		sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
	}
}

int nr_sqlfuncs_register(sqlite3 *db)
{
	static const struct {
		const char *name;
		int nargs;
		bool deterministic;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} funcs[] = {
		{ "in_cidr", 2, true, fn_in_cidr },
		{ "ts_iso", 1, true, fn_ts_iso },
		{ "ns", 1, false, fn_ns },
		{ "proto_name", 1, true, fn_proto_name },
	};
	size_t i;

	if (!db)
		return -EINVAL;
	for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		int flags = SQLITE_UTF8 | SQLITE_INNOCUOUS |
			    (funcs[i].deterministic ? SQLITE_DETERMINISTIC : 0);
		int rc = sqlite3_create_function_v2(db, funcs[i].name, funcs[i].nargs, flags, NULL,
						    funcs[i].fn, NULL, NULL, NULL);

		switch (rc) {
		case SQLITE_OK:
			break;
		case SQLITE_NOMEM:
			return -ENOMEM;
		case SQLITE_BUSY:
			/* Replacing a function while a statement that uses it is active. */
			return -EBUSY;
		case SQLITE_MISUSE:
			return -EINVAL;
		default:
			return -EIO;
		}
	}
	return 0;
}
