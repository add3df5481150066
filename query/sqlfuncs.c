// SPDX-License-Identifier: MIT
/*
 * SQL functions netrec registers on its connections (see sqlfuncs.h), and the IP protocol
 * names the filter and the reports share. in_cidr() and max_sum() run once per row over
 * millions of rows: in_cidr() parses its prefix once per statement (auxdata) and never
 * allocates per row; max_sum() reuses its buffers from row to row.
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

/*
 * max_sum(X, K1, ...): an aggregate. Within its group it sums X per distinct (K1, ...) and
 * returns the largest of those sums: "the most any one observation point saw" when the keys
 * name the point (netns, ifindex, direction), which is how `netrec top` counts a packet that
 * crossed several interfaces once. Keys compare as GROUP BY compares them, except that text
 * and blobs are compared byte for byte (no collation) and a real with an integer value is
 * that integer. NULL values of X are skipped, as sum() skips them; a group without any is
 * NULL. Sums are integers until a value is not, and an integer overflow is an error, as in
 * sum().
 *
 * A group usually has a handful of distinct keys, searched linearly; past MS_LINEAR, a hash
 * index takes over so that hostile SQL (max_sum(x, rowid)) costs O(n), not O(n^2).
 */
#define MS_LINEAR 16
#define MS_MAX_KEYS 8

struct ms_entry {
	uint64_t hash;
	size_t off, len; /* the serialized key, in ms_state.keys */
	int64_t i;
	double d;
	bool real;
};

struct ms_state {
	struct ms_entry *e;
	size_t n, cap;
	unsigned char *keys; /* every entry's serialized key, back to back */
	size_t keys_len, keys_cap;
	uint32_t *index; /* entry number + 1, 0 = empty; NULL while n <= MS_LINEAR */
	size_t index_cap; /* a power of two */
	unsigned char *scratch; /* this row's key */
	size_t scratch_cap;
	bool overflow, nomem;
};

static bool ms_reserve(unsigned char **buf, size_t *cap, size_t need)
{
	unsigned char *p;
	size_t c = *cap ? *cap : 64;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	p = sqlite3_realloc64(*buf, c);
	if (!p)
		return false;
	*buf = p;
	*cap = c;
	return true;
}

/* Appends one key value to the scratch key: a type byte, then 8 bytes or a length and bytes. */
static bool ms_put_key(struct ms_state *m, size_t *len, sqlite3_value *v)
{
	int type = sqlite3_value_type(v);
	unsigned char tag = (unsigned char)type;
	const void *bytes = NULL;
	size_t n = 0;
	int64_t i;
	double d;

	if (type == SQLITE_FLOAT) {
		d = sqlite3_value_double(v);
		/* 2.0 groups with 2, as in GROUP BY. */
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) {
			tag = SQLITE_INTEGER;
			i = (int64_t)d;
			bytes = &i;
		} else {
			bytes = &d;
		}
		n = 8;
	} else if (type == SQLITE_INTEGER) {
		i = sqlite3_value_int64(v);
		bytes = &i;
		n = 8;
	} else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
		bytes = type == SQLITE_TEXT ? (const void *)sqlite3_value_text(v) : sqlite3_value_blob(v);
		n = (size_t)sqlite3_value_bytes(v);
	}
	if (!ms_reserve(&m->scratch, &m->scratch_cap, *len + 1 + 8 + n))
		return false;
	m->scratch[(*len)++] = tag;
	if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
		uint64_t l = n;

		memcpy(m->scratch + *len, &l, 8);
		*len += 8;
	}
	if (n)
		memcpy(m->scratch + *len, bytes, n);
	*len += n;
	return true;
}

static uint64_t ms_hash(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	while (n--) {
		h ^= *p++;
		h *= 1099511628211ULL;
	}
	return h;
}

static bool ms_same(const struct ms_state *m, const struct ms_entry *e, uint64_t h, size_t len)
{
	return e->hash == h && e->len == len && memcmp(m->keys + e->off, m->scratch, len) == 0;
}

static bool ms_index_build(struct ms_state *m, size_t cap)
{
	uint32_t *idx = sqlite3_malloc64(cap * sizeof(*idx));

	if (!idx)
		return false;
	memset(idx, 0, cap * sizeof(*idx));
	for (size_t k = 0; k < m->n; k++) {
		size_t slot = m->e[k].hash & (cap - 1);

		while (idx[slot])
			slot = (slot + 1) & (cap - 1);
		idx[slot] = (uint32_t)(k + 1);
	}
	sqlite3_free(m->index);
	m->index = idx;
	m->index_cap = cap;
	return true;
}

/* The entry for the scratch key, created if new; NULL when out of memory. */
static struct ms_entry *ms_find(struct ms_state *m, size_t len)
{
	uint64_t h = ms_hash(m->scratch, len);
	size_t slot = 0;
	struct ms_entry *e;

	if (!m->index) {
		for (size_t k = 0; k < m->n; k++)
			if (ms_same(m, &m->e[k], h, len))
				return &m->e[k];
	} else {
		for (slot = h & (m->index_cap - 1); m->index[slot];
		     slot = (slot + 1) & (m->index_cap - 1))
			if (ms_same(m, &m->e[m->index[slot] - 1], h, len))
				return &m->e[m->index[slot] - 1];
	}
	if (m->n >= UINT32_MAX - 1)
		return NULL;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 4;
		struct ms_entry *p = sqlite3_realloc64(m->e, cap * sizeof(*p));

		if (!p)
			return NULL;
		m->e = p;
		m->cap = cap;
	}
	if (!ms_reserve(&m->keys, &m->keys_cap, m->keys_len + len))
		return NULL;
	e = &m->e[m->n];
	*e = (struct ms_entry){ .hash = h, .off = m->keys_len, .len = len };
	memcpy(m->keys + m->keys_len, m->scratch, len);
	m->keys_len += len;
	m->n++;
	if (m->index && m->n * 2 <= m->index_cap) {
		m->index[slot] = (uint32_t)m->n;
	} else if (m->n > MS_LINEAR) {
		/* (Re)build at a load of at most one half. */
		size_t cap = 64;

		while (cap < m->n * 4)
			cap *= 2;
		if (!ms_index_build(m, cap))
			return NULL;
	}
	return e;
}

static void ms_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct ms_state *m;
	struct ms_entry *e;
	size_t len = 0;
	int type = sqlite3_value_numeric_type(argv[0]);

	if (type == SQLITE_NULL)
		return;
	m = sqlite3_aggregate_context(ctx, sizeof(*m));
	if (!m || m->nomem) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (int k = 1; k < argc; k++)
		if (!ms_put_key(m, &len, argv[k])) {
			m->nomem = true;
			sqlite3_result_error_nomem(ctx);
			return;
		}
	e = ms_find(m, len);
	if (!e) {
		m->nomem = true;
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (type == SQLITE_INTEGER && !e->real) {
		if (__builtin_add_overflow(e->i, sqlite3_value_int64(argv[0]), &e->i))
			m->overflow = true;
		return;
	}
	if (!e->real) {
		e->real = true;
		e->d = (double)e->i;
	}
	e->d += sqlite3_value_double(argv[0]);
}

static void ms_final(sqlite3_context *ctx)
{
	struct ms_state *m = sqlite3_aggregate_context(ctx, 0);
	const struct ms_entry *best = NULL;

	if (!m)
		return; /* no row, or no value that was not NULL: NULL */
	if (m->overflow)
		sqlite3_result_error(ctx, "integer overflow", -1);
	else if (m->nomem)
		sqlite3_result_error_nomem(ctx);
	for (size_t k = 0; !m->overflow && !m->nomem && k < m->n; k++) {
		const struct ms_entry *e = &m->e[k];

		if (!best || (e->real || best->real ? (e->real ? e->d : (double)e->i) >
							      (best->real ? best->d : (double)best->i)
						    : e->i > best->i))
			best = e;
	}
	if (best && best->real)
		sqlite3_result_double(ctx, best->d);
	else if (best)
		sqlite3_result_int64(ctx, best->i);
	sqlite3_free(m->e);
	sqlite3_free(m->keys);
	sqlite3_free(m->index);
	sqlite3_free(m->scratch);
	/* A second call (never made by SQLite, but cheap to allow) finds nothing to free. */
	memset(m, 0, sizeof(*m));
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
	for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]) + MS_MAX_KEYS; i++) {
		int flags = SQLITE_UTF8 | SQLITE_INNOCUOUS, rc;

		if (i < sizeof(funcs) / sizeof(funcs[0])) {
			flags |= funcs[i].deterministic ? SQLITE_DETERMINISTIC : 0;
			rc = sqlite3_create_function_v2(db, funcs[i].name, funcs[i].nargs, flags,
							NULL, funcs[i].fn, NULL, NULL, NULL);
		} else {
			/* max_sum with 1 to MS_MAX_KEYS keys: SQLite itself refuses other counts. */
			int nkeys = (int)(i - sizeof(funcs) / sizeof(funcs[0])) + 1;

			rc = sqlite3_create_function_v2(db, "max_sum", 1 + nkeys,
							flags | SQLITE_DETERMINISTIC, NULL, NULL,
							ms_step, ms_final, NULL);
		}
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
