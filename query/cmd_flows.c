// SPDX-License-Identifier: MIT
/*
 * netrec flows: the flow rows of the time range, oldest first, selected with the filter
 * shorthand. netrec top: the top talkers of the range, by bytes, packets or flows, grouped by
 * source, destination, pair, port, protocol or interface. Both read the catalog's flows table
 * with SQL; neither changes anything. top's SQL groups the rows by flow tuple, sorted by the
 * report's key, and its lines are summed here as that one sort streams out, keeping N.
 *
 * The trap top avoids: the recorder writes one row per flow, interface, direction and
 * interval, so a packet that crossed a container's veth, the host side of that veth, a bridge
 * port and the uplink is in four rows, and a plain sum counts it four times. top counts each
 * flow tuple once: for every observation point (netns, ifindex, direction) it sums the tuple's
 * rows of the range, and takes the largest of those sums (max_sum(), query/sqlfuncs.h). NAT
 * changes the tuple, so a NATed flow still counts once per tuple it had. --group iface is the
 * other view: each interface's own sums, nothing merged.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sqlfuncs.h"

/* What an overflow row says instead of a tuple: its packets belong to no flow the store knows. */
#define NOT_ATTRIBUTED_TEXT "(not attributed: map full)"
#define NOT_ATTRIBUTED "'" NOT_ATTRIBUTED_TEXT "'"

/* ---- flows [FILTER] --------------------------------------------------------------------- */

/* EtherTypes of non-IP rows (kind 'other') worth a name at night. IPv4 and IPv6 appear there
 * too: packets whose headers could not be read. 0x0001 and 0x0004 are the kernel's protocol
 * values for 802.3 frames without an EtherType (ETH_P_802_3, ETH_P_802_2). */
static const struct {
	unsigned type;
	const char *name;
} ethertypes[] = {
	{ 0x0001, "802.3" },  { 0x0004, "802.2" }, { 0x0800, "ipv4" },  { 0x0806, "arp" },
	{ 0x0842, "wol" },    { 0x8035, "rarp" },  { 0x8100, "vlan" },  { 0x86dd, "ipv6" },
	{ 0x8809, "lacp" },   { 0x8847, "mpls" },  { 0x8848, "mpls" },  { 0x8863, "pppoe-disc" },
	{ 0x8864, "pppoe" },  { 0x888e, "eapol" }, { 0x88a8, "qinq" },  { 0x88cc, "lldp" },
	{ 0x88e5, "macsec" }, { 0x88f7, "ptp" },   { 0x8906, "fcoe" },
};

/* "arp 0x0806", "ethertype 0x9999": the EtherType of a non-IP row. */
static void append_ethertype(sqlite3_str *s)
{
	sqlite3_str_appendall(s, "(CASE WHEN ethertype IS NULL THEN 'ethertype unknown'"
				 " ELSE (CASE ethertype");
	for (size_t i = 0; i < sizeof(ethertypes) / sizeof(ethertypes[0]); i++)
		sqlite3_str_appendf(s, " WHEN %u THEN '%s'", ethertypes[i].type,
				    ethertypes[i].name);
	sqlite3_str_appendall(s, " ELSE 'ethertype' END) || printf(' 0x%04x', ethertype) END)");
}

/* "10.0.0.5:43210 -> 93.184.216.34:443", "[2001:db8::5]:443 -> ...", "10.0.0.5 -> 8.8.8.8 type
 * 8/0" for IP rows; the EtherType for non-IP rows; a plain statement for overflow rows. */
static void append_flow(sqlite3_str *s)
{
	sqlite3_str_appendall(s, "(CASE coalesce(kind, 'flow') WHEN 'overflow' THEN " NOT_ATTRIBUTED
				 " WHEN 'other' THEN ");
	append_ethertype(s);
	sqlite3_str_appendall(s, " ELSE " NR_SQL_ENDPOINT("src", "sport") " || ' -> ' || "
			      NR_SQL_ENDPOINT("dst", "dport")
			      " || coalesce(' type ' || icmp_type || '/' || icmp_code, '') END)");
}

/* The TCP flags seen, by name, in the order a handshake reads. */
#define SQL_TCP_FLAGS                                                                         \
	"substr(CASE WHEN tcp_flags & 0x02 THEN ',SYN' ELSE '' END"                               \
	" || CASE WHEN tcp_flags & 0x10 THEN ',ACK' ELSE '' END"                                  \
	" || CASE WHEN tcp_flags & 0x01 THEN ',FIN' ELSE '' END"                                  \
	" || CASE WHEN tcp_flags & 0x04 THEN ',RST' ELSE '' END"                                  \
	" || CASE WHEN tcp_flags & 0x08 THEN ',PSH' ELSE '' END"                                  \
	" || CASE WHEN tcp_flags & 0x20 THEN ',URG' ELSE '' END"                                  \
	" || CASE WHEN tcp_flags & 0x40 THEN ',ECE' ELSE '' END"                                  \
	" || CASE WHEN tcp_flags & 0x80 THEN ',CWR' ELSE '' END, 2)"

/* An interface by name, or "if7" (its index) when the recorder had no name for it. */
#define SQL_IFACE "coalesce(ifname, 'if' || ifindex)"

/* CSV and JSON: the times, then every column as stored (kind NULL: a partition older than
 * schema version 3, whose rows are all IP flows). */
static const char flows_raw_cols[] =
	"ts_start_ns, ts_end_ns, ts_iso(ts_start_ns) AS start, ts_iso(ts_end_ns) AS \"end\", netns, "
	"ifindex, ifname, direction, family, proto, src, dst, sport, dport, packets, bytes, "
	"tcp_flags, src_mac, dst_mac, sampling, ethertype, icmp_type, icmp_code, kind";

static char *flows_sql(const struct nr_cli *cli, const char *where)
{
	bool h = nr_cli_human_times(cli);
	sqlite3_str *s = sqlite3_str_new(NULL);

	if (!nr_cli_is_table(cli)) {
		sqlite3_str_appendf(s, "SELECT %s FROM flows WHERE %s ORDER BY ts_start_ns, rowid",
				    flows_raw_cols, where);
		return sqlite3_str_finish(s);
	}
	sqlite3_str_appendf(s, "SELECT %s, %s, netns, " SQL_IFACE " AS iface, direction AS dir,"
			       " proto_name(proto) AS proto, ",
			    h ? "ts_iso(ts_start_ns) AS start" : "ts_start_ns",
			    h ? "ts_iso(ts_end_ns) AS \"end\"" : "ts_end_ns");
	append_flow(s);
	sqlite3_str_appendf(s, " AS flow, packets, bytes, " SQL_TCP_FLAGS " AS flags,"
			       " coalesce(kind, 'flow') AS kind,"
			       " CASE WHEN sampling <> 1 THEN sampling END AS sampling"
			       " FROM flows WHERE %s ORDER BY ts_start_ns, rowid",
			    where);
	return sqlite3_str_finish(s);
}

int nr_cmd_flows(struct nr_cli *cli, int argc, char **argv)
{
	struct nr_sql_expr e = { 0 };
	char *sql;
	int r;

	r = nr_cli_filter("flows", "flows", argc - 1, argv + 1, &e);
	if (r)
		return r;
	sql = flows_sql(cli, e.sql);
	if (!sql) {
		nr_sql_expr_clear(&e);
		return nr_cli_error("out of memory");
	}
	r = nr_cli_open_catalog(cli);
	if (r == 0)
		r = nr_cli_query(cli, NULL, sql, e.params, e.nparams);
	if (r == 0)
		r = nr_cli_done(cli);
	sqlite3_free(sql);
	nr_sql_expr_clear(&e);
	return r;
}

/* ---- top [--by ...] [--group ...] [-n N] [FILTER] --------------------------------------- */

#define TOP_MAX_N 1000000000
#define TOP_MAX_N_TEXT "1000000000"
#define GROUPS_TEXT "src, dst, pair, sport, dport, proto or iface"
#define TOP_MAX_KEYS 3

/*
 * How rows are grouped. A flow tuple is (proto, src, dst, sport, dport, icmp_type, icmp_code);
 * the family is left out because the address text implies it. The report's key columns come
 * first in the GROUP BY, then the rest of the tuple, so that the one sort of the query leaves
 * the rows of a key next to each other.
 */
static const struct top_group {
	const char *word;
	const char *keys; /* the key columns, as SQL */
	int nkey;
	const char *key[TOP_MAX_KEYS]; /* their names, also the CSV/JSON headers */
	const char *rest;
} top_groups[] = {
	{ "src", "src", 1, { "src" }, "dst, sport, dport, proto, icmp_type, icmp_code" },
	{ "dst", "dst", 1, { "dst" }, "src, sport, dport, proto, icmp_type, icmp_code" },
	{ "pair", "src, dst", 2, { "src", "dst" }, "sport, dport, proto, icmp_type, icmp_code" },
	{ "sport", "proto, sport", 2, { "proto", "sport" },
	  "src, dst, dport, icmp_type, icmp_code" },
	{ "dport", "proto, dport", 2, { "proto", "dport" },
	  "src, dst, sport, icmp_type, icmp_code" },
	{ "proto", "proto", 1, { "proto" }, "src, dst, sport, dport, icmp_type, icmp_code" },
	/* Observation points; the rest tells apart the tuples (and kinds) seen there. */
	{ "iface", "netns, ifindex, direction", 3, { "netns", "ifindex", "direction" },
	  "src, dst, sport, dport, proto, icmp_type, icmp_code, coalesce(kind, 'flow')" },
};

#define TOP_GROUP_IFACE (&top_groups[sizeof(top_groups) / sizeof(top_groups[0]) - 1])

enum top_by { TOP_BYTES, TOP_PACKETS, TOP_FLOWS };

struct top_opts {
	enum top_by by;
	const struct top_group *group;
	unsigned long n;
};

/*
 * The query: one row per flow tuple (per observation point and tuple with --group iface),
 * sorted by the report's key, so that the rows of a group come one after the other and are
 * summed as they stream by (top_run()). Its columns: the key, the interface name (iface),
 * bytes b, packets p, and f, 1 for an IP flow tuple.
 *
 * The default rule, each flow tuple once: per observation point (netns, ifindex, direction)
 * the tuple's rows of the range are summed, scaled by their sampling, and the largest sum is
 * the tuple's (max_sum()). Overflow rows (no tuple) are one pseudo-tuple counted the same way:
 * the most any one interface and direction could not attribute; theirs are the only rows
 * whose key is NULL (an IP row always has addresses and a protocol). Non-IP rows have no
 * tuple and are left out. --group iface sums each observation point's own rows of every kind.
 *
 * ORDER BY repeats GROUP BY exactly: SQLite then sorts once (a prefix would sort twice).
 */
static char *top_sql(const struct top_opts *o, const char *where)
{
	const struct top_group *g = o->group;
	sqlite3_str *s = sqlite3_str_new(NULL);

	if (g == TOP_GROUP_IFACE)
		sqlite3_str_appendf(s, "SELECT %s, max(ifname), sum(bytes * sampling),"
				       " sum(packets * sampling), coalesce(kind, 'flow') = 'flow'"
				       " FROM flows WHERE %s",
				    g->keys, where);
	else
		sqlite3_str_appendf(s, "SELECT %s, NULL,"
				       " max_sum(bytes * sampling, netns, ifindex, direction),"
				       " max_sum(packets * sampling, netns, ifindex, direction),"
				       " %s IS NOT NULL"
				       " FROM flows WHERE (%s) AND coalesce(kind, 'flow') <> 'other'",
				    g->keys, g->key[0], where);
	sqlite3_str_appendf(s, " GROUP BY %s, %s ORDER BY %s, %s", g->keys, g->rest, g->keys,
			    g->rest);
	return sqlite3_str_finish(s);
}

/* One line of the report. */
struct top_row {
	struct nr_val key[TOP_MAX_KEYS]; /* text is owned (NUL-terminated) */
	char *name; /* iface: the interface's name, the greatest if it changed; owned */
	int64_t bytes, packets, flows;
	bool attributed; /* false only on the overflow line */
};

static void top_row_free(struct top_row *r)
{
	if (!r)
		return;
	for (int i = 0; i < TOP_MAX_KEYS; i++)
		if (r->key[i].type == NR_VAL_TEXT)
			free((char *)r->key[i].s);
	free(r->name);
	free(r);
}

/* NULL before numbers before text, as SQLite orders them; text byte by byte. */
static int val_cmp(const struct nr_val *a, const struct nr_val *b)
{
	if (a->type != b->type)
		return a->type == NR_VAL_NULL ? -1 : b->type == NR_VAL_NULL ? 1
						: a->type == NR_VAL_TEXT ? 1 : -1;
	if (a->type == NR_VAL_INT)
		return a->i < b->i ? -1 : a->i > b->i;
	if (a->type == NR_VAL_TEXT) {
		int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);

		return c ? c : a->len < b->len ? -1 : a->len > b->len;
	}
	return 0;
}

/* The counter ranked by; -1 for the overflow line's flows (none, shown as NULL). */
static int64_t top_metric(const struct top_row *r, enum top_by by)
{
	return by == TOP_BYTES ? r->bytes : by == TOP_PACKETS ? r->packets
							   : r->attributed ? r->flows : -1;
}

/* < 0 when @a ranks before @b: the counter ranked by, the others, then the key ascending,
 * so the order never depends on the plan. */
static int top_cmp(const struct top_row *a, const struct top_row *b, const struct top_opts *o)
{
	const enum top_by order[] = { o->by, TOP_BYTES, TOP_PACKETS, TOP_FLOWS };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int64_t x = top_metric(a, order[i]), y = top_metric(b, order[i]);

		if (x != y)
			return x > y ? -1 : 1;
	}
	for (int i = 0; i < o->group->nkey; i++) {
		int c = val_cmp(&a->key[i], &b->key[i]);

		if (c)
			return c;
	}
	return 0;
}

/*
 * The first N lines, kept as a heap whose root ranks last, and the total of the counter
 * ranked by over every line (for share). Memory is O(N), however many groups stream by.
 */
struct top_run {
	const struct top_opts *o;
	struct top_row **heap;
	size_t n, cap;
	int64_t total;
	bool overflow; /* a counter passed 2^63 */
};

static void heap_down(struct top_run *t, size_t i)
{
	struct top_row *x;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;

		if (l < t->n && top_cmp(t->heap[l], t->heap[w], t->o) > 0)
			w = l;
		if (r < t->n && top_cmp(t->heap[r], t->heap[w], t->o) > 0)
			w = r;
		if (w == i)
			return;
		x = t->heap[i];
		t->heap[i] = t->heap[w];
		t->heap[w] = x;
		i = w;
	}
}

/* Moves the last leaf up while its parent ranks before it (the root ranks last). */
static void heap_up(struct top_run *t, size_t i)
{
	struct top_row *x;

	while (i > 0 && top_cmp(t->heap[(i - 1) / 2], t->heap[i], t->o) < 0) {
		x = t->heap[i];
		t->heap[i] = t->heap[(i - 1) / 2];
		t->heap[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

/* Takes @r (owned): keeps it if it is among the first N so far. Returns 0 or -ENOMEM. */
static int top_offer(struct top_run *t, struct top_row *r)
{
	int64_t m = top_metric(r, t->o->by);

	if (m > 0 && __builtin_add_overflow(t->total, m, &t->total))
		t->overflow = true;
	if (t->n < t->o->n) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 16;
			struct top_row **h = realloc(t->heap, cap * sizeof(*h));

			if (!h) {
				top_row_free(r);
				return -ENOMEM;
			}
			t->heap = h;
			t->cap = cap;
		}
		t->heap[t->n++] = r;
		heap_up(t, t->n - 1);
	} else if (top_cmp(r, t->heap[0], t->o) < 0) {
		top_row_free(t->heap[0]);
		t->heap[0] = r;
		heap_down(t, 0);
	} else {
		top_row_free(r);
	}
	return 0;
}

/* Does the current row's key (columns 0..nkey-1) equal @r's? */
static bool same_key(sqlite3_stmt *st, const struct top_row *r, int nkey)
{
	for (int i = 0; i < nkey; i++) {
		const struct nr_val *v = &r->key[i];
		int type = sqlite3_column_type(st, i);

		if (type == SQLITE_NULL || v->type == NR_VAL_NULL) {
			if (type != SQLITE_NULL || v->type != NR_VAL_NULL)
				return false;
		} else if (type == SQLITE_INTEGER) {
			if (v->type != NR_VAL_INT || v->i != sqlite3_column_int64(st, i))
				return false;
		} else {
			const void *p = sqlite3_column_text(st, i);
			size_t len = (size_t)sqlite3_column_bytes(st, i);

			if (v->type != NR_VAL_TEXT || v->len != len || memcmp(v->s, p, len) != 0)
				return false;
		}
	}
	return true;
}

/* A new line for the current row's key. Key columns are integers, text or NULL (the
 * schema's affinities); anything else is kept as its text. */
static struct top_row *top_row_new(sqlite3_stmt *st, int nkey)
{
	struct top_row *r = calloc(1, sizeof(*r));
	const char *p;
	size_t len;
	char *copy;

	if (!r)
		return NULL;
	for (int i = 0; i < nkey; i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			break;
		case SQLITE_INTEGER:
			r->key[i] = (struct nr_val){ .type = NR_VAL_INT,
						     .i = sqlite3_column_int64(st, i) };
			break;
		default:
			p = (const char *)sqlite3_column_text(st, i);
			len = (size_t)sqlite3_column_bytes(st, i);
			copy = malloc(len + 1);
			if (!copy) {
				top_row_free(r);
				return NULL;
			}
			memcpy(copy, p ? p : "", len);
			copy[len] = '\0';
			r->key[i] = (struct nr_val){ .type = NR_VAL_TEXT, .s = copy, .len = len };
		}
	}
	return r;
}

/* Adds the current row to @r: its counters, its name. Returns 0 or -ENOMEM. */
static int top_row_add(struct top_row *r, sqlite3_stmt *st, int nkey, bool *overflow)
{
	const char *name = (const char *)sqlite3_column_text(st, nkey);

	if (__builtin_add_overflow(r->bytes, sqlite3_column_int64(st, nkey + 1), &r->bytes) ||
	    __builtin_add_overflow(r->packets, sqlite3_column_int64(st, nkey + 2), &r->packets))
		*overflow = true;
	if (sqlite3_column_int(st, nkey + 3)) {
		r->flows++;
		r->attributed = true;
	}
	if (name && (!r->name || strcmp(name, r->name) > 0)) {
		char *copy = strdup(name);

		if (!copy)
			return -ENOMEM;
		free(r->name);
		r->name = copy;
	}
	return 0;
}

/* Streams the query's rows into @t. Returns 0 or an exit status, with the error printed. */
static int top_run(struct top_run *t, sqlite3_stmt *st)
{
	const struct top_group *g = t->o->group;
	struct top_row *cur = NULL;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cur && !same_key(st, cur, g->nkey)) {
			if (top_offer(t, cur) < 0)
				return nr_cli_error("out of memory");
			cur = NULL;
		}
		if (!cur) {
			cur = top_row_new(st, g->nkey);
			if (!cur)
				return nr_cli_error("out of memory");
			/* An interface line is all its own rows: none is "the overflow line". */
			cur->attributed = g == TOP_GROUP_IFACE;
		}
		if (top_row_add(cur, st, g->nkey, &t->overflow) < 0) {
			top_row_free(cur);
			return nr_cli_error("out of memory");
		}
	}
	if (rc != SQLITE_DONE) {
		top_row_free(cur);
		return nr_cli_error("sql: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
	}
	if (cur && top_offer(t, cur) < 0)
		return nr_cli_error("out of memory");
	if (t->overflow)
		return nr_cli_error("top: a counter passed 2^63");
	return 0;
}

static int top_qsort_cmp(const void *a, const void *b, void *o)
{
	return top_cmp(*(struct top_row *const *)a, *(struct top_row *const *)b, o);
}

/* A key value as tables show it: protocol numbers by name. @buf holds 24 bytes. */
static struct nr_val shown_key(const struct top_group *g, int k, struct nr_val v, char *buf)
{
	const char *name;

	if (strcmp(g->key[k], "proto") != 0 || v.type != NR_VAL_INT)
		return v;
	name = v.i >= 0 && v.i <= 255 ? nr_proto_name((int)v.i) : NULL;
	if (!name) {
		snprintf(buf, 24, "%lld", (long long)v.i);
		name = buf;
	}
	return (struct nr_val){ .type = NR_VAL_TEXT, .s = name, .len = strlen(name) };
}

static struct nr_val text_val(const char *s)
{
	return s ? (struct nr_val){ .type = NR_VAL_TEXT, .s = s, .len = strlen(s) }
		 : (struct nr_val){ .type = NR_VAL_NULL };
}

/* Percent of @total, to two decimals (half up, as SQL's round()); NULL without a total. */
static struct nr_val share_val(int64_t m, int64_t total)
{
	if (m < 0 || total <= 0)
		return (struct nr_val){ .type = NR_VAL_NULL };
	return (struct nr_val){ .type = NR_VAL_REAL,
				.d = (double)(int64_t)(10000.0 * (double)m / (double)total + 0.5) /
				     100.0 };
}

/* The columns of line @i: rank, key, counters, share. @buf holds 24 bytes. */
static void top_line(const struct nr_cli *cli, const struct top_run *t, size_t i,
		    struct nr_val *vals, char *buf)
{
	const struct top_group *g = t->o->group;
	const struct top_row *row = t->heap[i];
	bool table = nr_cli_is_table(cli);
	int c = 0;

	vals[c++] = (struct nr_val){ .type = NR_VAL_INT, .i = (int64_t)i + 1 };
	if (g == TOP_GROUP_IFACE) {
		const char *name = row->name;

		vals[c++] = row->key[0];
		if (!table)
			vals[c++] = row->key[1];
		if (table && !name && row->key[1].type == NR_VAL_INT) {
			snprintf(buf, 24, "if%lld", (long long)row->key[1].i);
			name = buf;
		}
		vals[c++] = text_val(name);
		vals[c++] = row->key[2];
	} else if (table && !row->attributed) {
		vals[c++] = text_val(NOT_ATTRIBUTED_TEXT);
		for (int k = 1; k < g->nkey; k++)
			vals[c++] = (struct nr_val){ .type = NR_VAL_NULL };
	} else {
		for (int k = 0; k < g->nkey; k++)
			vals[c++] = table ? shown_key(g, k, row->key[k], buf) : row->key[k];
	}
	vals[c++] = (struct nr_val){ .type = NR_VAL_INT, .i = row->bytes };
	vals[c++] = (struct nr_val){ .type = NR_VAL_INT, .i = row->packets };
	vals[c++] = row->attributed ? (struct nr_val){ .type = NR_VAL_INT, .i = row->flows }
				    : (struct nr_val){ .type = NR_VAL_NULL };
	vals[c] = share_val(top_metric(row, t->o->by), t->total);
}

/*
 * Writes the lines, best first. Tables show names: the protocol's, the interface's ("if7"
 * when it had none), and on the overflow line the first key column says the packets were not
 * attributed. CSV and JSON keep the key columns as stored, NULL on the overflow line.
 */
static int top_write(struct nr_cli *cli, struct top_run *t)
{
	static const char *const iface_table[] = { "rank", "netns", "iface", "dir" };
	static const char *const iface_raw[] = { "rank", "netns", "ifindex", "ifname", "direction" };
	static const char *const counters[] = { "bytes", "packets", "flows", "share" };
	const struct top_group *g = t->o->group;
	const char *names[TOP_MAX_KEYS + 6];
	struct nr_val vals[TOP_MAX_KEYS + 6];
	struct nr_out *o = NULL;
	int ncols = 0, r;

	qsort_r(t->heap, t->n, sizeof(*t->heap), top_qsort_cmp, (void *)t->o);
	if (g == TOP_GROUP_IFACE && nr_cli_is_table(cli)) {
		memcpy(names, iface_table, sizeof(iface_table));
		ncols = 4;
	} else if (g == TOP_GROUP_IFACE) {
		memcpy(names, iface_raw, sizeof(iface_raw));
		ncols = 5;
	} else {
		names[ncols++] = "rank";
		for (int k = 0; k < g->nkey; k++)
			names[ncols++] = g->key[k];
	}
	for (size_t k = 0; k < 4; k++)
		names[ncols++] = counters[k];
	if (nr_out_new(cli->out, cli->fmt, cli->out_flags, &o) < 0)
		return nr_cli_error("out of memory");
	r = nr_out_begin(o, ncols, names);
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		char buf[24];

		top_line(cli, t, i, vals, buf);
		r = nr_out_row(o, vals);
	}
	if (r == 0)
		r = nr_out_end(o);
	else
		nr_out_end(o);
	nr_out_free(o);
	return r < 0 ? nr_cli_output_error(r) : 0;
}

/* Option @name's value: "--by X", "--by=X" (or "-n N", "-nN" for @name "-n"). Returns the
 * value and moves *@i past it, or NULL if argv[*i] is not that option. *@missing is set when
 * the option is there without a value. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
	const char *a = argv[*i];
	size_t len = strlen(name);

	if (strncmp(a, name, len) != 0)
		return NULL;
	if (a[len] == '\0') {
		if (*i + 1 == argc) {
			*missing = true;
			return NULL;
		}
		return argv[++*i];
	}
	if (a[len] == '=' || name[1] != '-')
		return a + len + (a[len] == '=');
	return NULL;
}

/* "top: --by needs bytes, packets or flows, got 'x'", or without "got" when @v is NULL. */
static int bad_value(const char *opt, const char *needs, const char *v)
{
	char q[80];

	if (!v)
		return nr_cli_usage_error("top: %s needs %s", opt, needs);
	return nr_cli_usage_error("top: %s needs %s, got '%s'", opt, needs,
				  nr_cli_printable(v, q, sizeof(q)));
}

/*
 * Options first, then the filter. Known options are also taken after filter words (a filter
 * word never starts with '-'), so "top host 10.0.0.7 -n 5" works; any other word starting
 * with '-' before the filter is an unknown option. The filter words are collected in
 * @ret_words (argv's pointers). Returns 0 or an exit status, with the error printed.
 */
static int top_parse(int argc, char **argv, struct top_opts *o, char **ret_words,
		     int *ret_nwords)
{
	static const char *const bys[] = { [TOP_BYTES] = "bytes", [TOP_PACKETS] = "packets",
					   [TOP_FLOWS] = "flows" };
	const size_t nbys = sizeof(bys) / sizeof(bys[0]);
	const size_t ngroups = sizeof(top_groups) / sizeof(top_groups[0]);
	char q[80];
	int nwords = 0;

	*o = (struct top_opts){ .by = TOP_BYTES, .group = &top_groups[2], .n = 10 };
	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *v;
		size_t k;

		if ((v = option_value(argc, argv, &i, "--by", &missing)) || missing) {
			for (k = 0; v && k < nbys && strcmp(v, bys[k]) != 0; k++)
				;
			if (!v || k == nbys)
				return bad_value("--by", "bytes, packets or flows", v);
			o->by = (enum top_by)k;
		} else if ((v = option_value(argc, argv, &i, "--group", &missing)) || missing) {
			for (k = 0; v && k < ngroups && strcmp(v, top_groups[k].word) != 0; k++)
				;
			if (!v || k == ngroups)
				return bad_value("--group", GROUPS_TEXT, v);
			o->group = &top_groups[k];
		} else if ((v = option_value(argc, argv, &i, "-n", &missing)) || missing) {
			if (!v || nr_cli_parse_count(v, TOP_MAX_N, &o->n) < 0)
				return bad_value("-n", "a number from 1 to " TOP_MAX_N_TEXT, v);
		} else if (argv[i][0] == '-' && nwords == 0) {
			return nr_cli_usage_error("top: unknown option '%s' (options: --by, --group, "
						  "-n; then the filter)",
						  nr_cli_printable(argv[i], q, sizeof(q)));
		} else {
			ret_words[nwords++] = argv[i];
		}
	}
	*ret_nwords = nwords;
	return 0;
}

int nr_cmd_top(struct nr_cli *cli, int argc, char **argv)
{
	struct nr_sql_expr e = { 0 };
	struct top_opts o;
	struct top_run t = { .o = &o };
	sqlite3_stmt *st = NULL;
	char **words, *sql = NULL;
	int nwords = 0, r;

	words = calloc((size_t)argc + 1, sizeof(*words));
	if (!words)
		return nr_cli_error("out of memory");
	r = top_parse(argc, argv, &o, words, &nwords);
	if (r == 0)
		r = nr_cli_filter("top", "flows", nwords, words, &e);
	free(words);
	if (r)
		return r;
	sql = top_sql(&o, e.sql);
	if (!sql)
		r = nr_cli_error("out of memory");
	if (r == 0)
		r = nr_cli_open_catalog(cli);
	if (r == 0)
		r = nr_cli_prepare(cli, sql, e.params, e.nparams, &st);
	if (r == 0)
		r = top_run(&t, st);
	sqlite3_finalize(st);
	if (r == 0)
		r = top_write(cli, &t);
	if (r == 0)
		r = nr_cli_done(cli);
	for (size_t i = 0; i < t.n; i++)
		top_row_free(t.heap[i]);
	free(t.heap);
	sqlite3_free(sql);
	nr_sql_expr_clear(&e);
	return r;
}
