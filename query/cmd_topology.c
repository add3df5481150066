// SPDX-License-Identifier: MIT
/*
 * netrec topology: every network namespace as of a time T, with its interfaces, addresses,
 * routes, neighbours and listening sockets. netrec topology diff: what changed between the
 * topology as of T1 and as of T2. netrec listening: the listening sockets as of T with their
 * processes. All three read the catalog's snapshots table and its five detail tables with SQL;
 * none changes anything.
 *
 * What "as of T" rests on (the recorder's side, recorder/topology.c): a namespace's snapshot is
 * stored only when its content changed since its last stored one, and at least once per
 * partition window besides (the first snapshot taken in a window is always stored), so while
 * the recorder ran, a namespace's latest snapshot at or before T is never older than about two
 * partition widths. A namespace that went away gets one last snapshot, with hash
 * 0000000000000000 and no detail rows. So the topology as of T is each namespace's latest
 * snapshot in [T - 2W, T], W being the width of the partition that holds T (or of the latest
 * one before T), leaving out the namespaces whose latest is such a gone-marker. Reading only
 * that window keeps the cost to about three partitions whatever the size of the store. The trap:
 * a namespace that vanished while no recorder ran has no marker; it drops out of view 2W after
 * its last snapshot, not when it went.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nrtime.h"
#include "store.h"

/* The hash of a gone-marker: the namespace went away at its ts_ns. */
#define TP_GONE_HASH "0000000000000000"

#define IFF_UP_BIT 0x1
#define IFF_LOOPBACK_BIT 0x8
#define IFA_F_PERMANENT_BIT 0x80

/* ---- names for numbers ------------------------------------------------------------------ */

struct tp_name {
	int64_t v;
	const char *name;
};

#define TP_N(a) (a), sizeof(a) / sizeof((a)[0])

static const struct tp_name tp_rt_tables[] = {
	{ 253, "default" }, { 254, "main" }, { 255, "local" },
};

static const struct tp_name tp_scopes[] = {
	{ 0, "global" }, { 200, "site" }, { 253, "link" }, { 254, "host" }, { 255, "nowhere" },
};

static const struct tp_name tp_rt_types[] = {
	{ 0, "unspec" },     { 1, "unicast" },	  { 2, "local" },	{ 3, "broadcast" },
	{ 4, "anycast" },    { 5, "multicast" },  { 6, "blackhole" },	{ 7, "unreachable" },
	{ 8, "prohibit" },   { 9, "throw" },	  { 10, "nat" },	{ 11, "xresolve" },
};

static const struct tp_name tp_rt_protos[] = {
	{ 0, "unspec" },   { 1, "redirect" }, { 2, "kernel" },	    { 3, "boot" },
	{ 4, "static" },   { 8, "gated" },    { 9, "ra" },	    { 10, "mrt" },
	{ 11, "zebra" },   { 12, "bird" },    { 13, "dnrouted" },   { 14, "xorp" },
	{ 15, "ntk" },	   { 16, "dhcp" },    { 17, "mrouted" },    { 18, "keepalived" },
	{ 42, "babel" },   { 99, "openr" },   { 186, "bgp" },	    { 187, "isis" },
	{ 188, "ospf" },   { 189, "rip" },    { 192, "eigrp" },
};

/* NUD_* bits, as ip neigh shows them. */
static const struct tp_name tp_nud[] = {
	{ 0x01, "INCOMPLETE" }, { 0x02, "REACHABLE" }, { 0x04, "STALE" },  { 0x08, "DELAY" },
	{ 0x10, "PROBE" },	{ 0x20, "FAILED" },    { 0x40, "NOARP" },  { 0x80, "PERMANENT" },
};

/* IFA_F_* bits but permanent, which is the normal case: its absence shows as "dynamic". */
static const struct tp_name tp_ifa_flags[] = {
	{ 0x01, "secondary" },	 { 0x02, "nodad" },	    { 0x04, "optimistic" },
	{ 0x08, "dadfailed" },	 { 0x10, "homeaddress" },   { 0x20, "deprecated" },
	{ 0x40, "tentative" },	 { 0x100, "mngtmpaddr" },   { 0x200, "noprefixroute" },
	{ 0x400, "autojoin" },	 { 0x800, "stable-privacy" },
};

static const struct tp_name tp_protos[] = {
	{ 6, "tcp" }, { 17, "udp" }, { 33, "dccp" }, { 132, "sctp" }, { 136, "udplite" },
};

static const char *tp_name(const struct tp_name *names, size_t n, int64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (names[i].v == v)
			return names[i].name;
	return NULL;
}

/* The name of @v, or the number. */
static void tp_append_name(sqlite3_str *s, const struct tp_name *names, size_t n, int64_t v)
{
	const char *name = tp_name(names, n, v);

	if (name)
		sqlite3_str_appendall(s, name);
	else
		sqlite3_str_appendf(s, "%lld", (long long)v);
}

/* The names of the bits set in @v, each after @sep; bits without a name as one hex number. */
static void tp_append_bits(sqlite3_str *s, const struct tp_name *names, size_t n, int64_t v,
			   const char *first, const char *sep)
{
	int64_t rest = v;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (!(v & names[i].v))
			continue;
		sqlite3_str_appendf(s, "%s%s", any ? sep : first, names[i].name);
		rest &= ~names[i].v;
		any = true;
	}
	if (rest)
		sqlite3_str_appendf(s, "%s0x%llx", any ? sep : first, (unsigned long long)rest);
}

/* ---- the rows of one table, as read --------------------------------------------------------- */

/*
 * Every column of every row, typed as stored (the catalog gives NULL for the columns an older
 * partition lacks), so the JSON form can show them all whatever the schema version. Text and
 * blobs are copies, NUL-terminated.
 */
struct tp_tab {
	int ncols;
	int nshown; /* the table's own columns; after them, what the query added */
	char **names;
	struct nr_val *v; /* nrows rows of ncols values */
	size_t nrows, cap;
};

static const struct nr_val tp_null = { .type = NR_VAL_NULL };

/* Columns of a row as CSV and JSON show it: a table's (at most 48 in the catalog) and what
 * netrec adds. */
#define TP_VIEW_MAX 64

static void tp_tab_clear(struct tp_tab *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		if (t->v[i].type == NR_VAL_TEXT || t->v[i].type == NR_VAL_BLOB)
			free((char *)t->v[i].s);
	free(t->v);
	for (int c = 0; t->names && c < t->ncols; c++)
		free(t->names[c]);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

static int tp_col(const struct tp_tab *t, const char *name)
{
	for (int c = 0; c < t->ncols; c++)
		if (strcmp(t->names[c], name) == 0)
			return c;
	return -1;
}

static const struct nr_val *tp_get(const struct tp_tab *t, size_t row, int col)
{
	if (col < 0 || col >= t->ncols || row >= t->nrows)
		return &tp_null;
	return &t->v[row * (size_t)t->ncols + (size_t)col];
}

static const struct nr_val *tp_cell(const struct tp_tab *t, size_t row, const char *name)
{
	return tp_get(t, row, tp_col(t, name));
}

/* An INTEGER cell: true and *ret, or false for NULL (and anything else). */
static bool tp_int(const struct tp_tab *t, size_t row, const char *name, int64_t *ret)
{
	const struct nr_val *v = tp_cell(t, row, name);

	if (v->type != NR_VAL_INT)
		return false;
	*ret = v->i;
	return true;
}

static int64_t tp_int_or(const struct tp_tab *t, size_t row, const char *name, int64_t dflt)
{
	int64_t v;

	return tp_int(t, row, name, &v) ? v : dflt;
}

/* A TEXT cell, or NULL. */
static const char *tp_text(const struct tp_tab *t, size_t row, const char *name)
{
	const struct nr_val *v = tp_cell(t, row, name);

	return v->type == NR_VAL_TEXT ? v->s : NULL;
}

/* Orders values as SQLite does: NULL, numbers, text, blobs; text and blobs byte by byte. */
static int tp_val_cmp(const struct nr_val *a, const struct nr_val *b)
{
	static const int rank[] = { [NR_VAL_NULL] = 0, [NR_VAL_INT] = 1, [NR_VAL_REAL] = 1,
				    [NR_VAL_TEXT] = 2, [NR_VAL_BLOB] = 3 };
	size_t n;
	int c;

	if (rank[a->type] != rank[b->type])
		return rank[a->type] - rank[b->type];
	switch (a->type) {
	case NR_VAL_NULL:
		return 0;
	case NR_VAL_INT:
	case NR_VAL_REAL:
		if (a->type == NR_VAL_INT && b->type == NR_VAL_INT)
			return a->i < b->i ? -1 : a->i > b->i;
		{
			double x = a->type == NR_VAL_INT ? (double)a->i : a->d;
			double y = b->type == NR_VAL_INT ? (double)b->i : b->d;

			return x < y ? -1 : x > y;
		}
	default:
		n = a->len < b->len ? a->len : b->len;
		c = n ? memcmp(a->s, b->s, n) : 0;
		if (c)
			return c;
		return a->len < b->len ? -1 : a->len > b->len;
	}
}

static int tp_tab_columns(struct tp_tab *t, sqlite3_stmt *st)
{
	int n = sqlite3_column_count(st);

	t->names = calloc((size_t)n + 1, sizeof(*t->names));
	if (!t->names)
		return -ENOMEM;
	t->ncols = t->nshown = n;
	for (int c = 0; c < n; c++) {
		t->names[c] = strdup(sqlite3_column_name(st, c));
		if (!t->names[c])
			return -ENOMEM;
	}
	return 0;
}

/* Appends the statement's current row. */
static int tp_tab_add(struct tp_tab *t, sqlite3_stmt *st)
{
	struct nr_val *row;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct nr_val *v = realloc(t->v, cap * (size_t)t->ncols * sizeof(*v) + 1);

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	row = &t->v[t->nrows * (size_t)t->ncols];
	memset(row, 0, (size_t)t->ncols * sizeof(*row));
	/* Counted first: a copy that fails leaves NULLs behind, which tp_tab_clear() handles. */
	t->nrows++;
	for (int c = 0; c < t->ncols; c++) {
		int type = sqlite3_column_type(st, c);
		const void *p;
		char *copy;
		size_t len;

		switch (type) {
		case SQLITE_INTEGER:
			row[c].type = NR_VAL_INT;
			row[c].i = sqlite3_column_int64(st, c);
			break;
		case SQLITE_FLOAT:
			row[c].type = NR_VAL_REAL;
			row[c].d = sqlite3_column_double(st, c);
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, c)
						: sqlite3_column_blob(st, c);
			len = (size_t)sqlite3_column_bytes(st, c);
			copy = malloc(len + 1);
			if (!copy)
				return -ENOMEM;
			if (len)
				memcpy(copy, p, len);
			copy[len] = '\0';
			row[c].type = type == SQLITE_TEXT ? NR_VAL_TEXT : NR_VAL_BLOB;
			row[c].s = copy;
			row[c].len = len;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Is the statement's column @c the same INTEGER or NULL as @v? */
static bool tp_same_key(const struct nr_val *v, sqlite3_stmt *st, int c)
{
	switch (sqlite3_column_type(st, c)) {
	case SQLITE_NULL:
		return v->type == NR_VAL_NULL;
	case SQLITE_INTEGER:
		return v->type == NR_VAL_INT && v->i == sqlite3_column_int64(st, c);
	default:
		return false;
	}
}

/*
 * Runs @sql and keeps its rows in @t. With @first_of, the rows come sorted by that column and
 * only the first of each value is kept. Returns 0 or an exit status, with the error printed.
 */
static int tp_read(struct nr_cli *cli, const char *sql, const struct nr_sql_param *params,
		   size_t nparams, const char *first_of, struct tp_tab *t)
{
	sqlite3_stmt *st;
	int kc = -1, rc, r;

	r = nr_cli_prepare(cli, sql, params, nparams, &st);
	if (r)
		return r;
	if (tp_tab_columns(t, st) < 0) {
		r = nr_cli_error("out of memory");
		goto out;
	}
	if (first_of)
		kc = tp_col(t, first_of);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (kc >= 0 && t->nrows && tp_same_key(tp_get(t, t->nrows - 1, kc), st, kc))
			continue;
		if (tp_tab_add(t, st) < 0) {
			r = nr_cli_error("out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		r = nr_cli_error("sql: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- the topology as of T ------------------------------------------------------------------- */

enum {
	TP_SNAPSHOTS,
	TP_LINKS,
	TP_ADDRESSES,
	TP_ROUTES,
	TP_NEIGHBORS,
	TP_LISTENERS,
	TP_NTABLES,
};

/* The order of the routes shown: main, the numbered tables, default, local (the kernel's own
 * routes for local addresses and broadcasts, least read); in a table, the default route first.
 * A multipath route's next hops are consecutive. */
#define TP_ROUTE_ORDER                                                                        \
	"CASE table_id WHEN 254 THEN 0 WHEN 253 THEN 2 WHEN 255 THEN 3 ELSE 1 END, table_id, " \
	"family, dst IS NOT NULL, dst, dst_len, metric, type, nexthop, nr_rowid"

static const struct tp_table {
	const char *name;
	const char *object; /* what a diff line calls a row */
	const char *section; /* its heading in the text form */
	const char *order; /* of one snapshot's rows; nr_rowid is the partition's rowid */
	const char *key[8]; /* the identity of a row in a namespace, for diff */
} tp_tables[TP_NTABLES] = {
	[TP_SNAPSHOTS] = { "snapshots", "netns", NULL, NULL, { "netns" } },
	[TP_LINKS] = { "links", "link", "interfaces", "ifindex, nr_rowid", { "ifindex" } },
	[TP_ADDRESSES] = { "addresses", "address", "addresses",
			   "ifindex, family, address, prefixlen, nr_rowid",
			   { "ifindex", "address", "prefixlen" } },
	[TP_ROUTES] = { "routes", "route", "routes", TP_ROUTE_ORDER,
			{ "table_id", "family", "dst", "dst_len", "metric", "type", "nexthop" } },
	[TP_NEIGHBORS] = { "neighbors", "neighbour", "neighbours", "ifindex, address, nr_rowid",
			   { "ifindex", "address" } },
	[TP_LISTENERS] = { "listeners", "listener", "listeners", "proto, port, address, nr_rowid",
			   { "proto", "address", "port" } },
};

struct tp_ns {
	size_t row; /* its snapshot, in tabs[TP_SNAPSHOTS] */
	const char *partition; /* the file that holds it and its rows */
	bool has_netns; /* false: the inode is unknown (NULL) */
	int64_t netns, id, ts_ns;
	const char *name; /* NULL: unnamed */
	size_t first[TP_NTABLES], n[TP_NTABLES]; /* its rows of each detail table */
};

struct tp_topo {
	int64_t at_ns; /* T */
	int64_t w_ns; /* W; 0: no window (--db) */
	int64_t lo_ns, hi_ns; /* the snapshots read: ts_ns in [lo, hi] (lo > hi: none) */
	int64_t last_end_ns; /* end of the store's partitions up to T; NR_TIME_MIN: unknown */
	struct tp_tab tabs[TP_NTABLES];
	struct tp_ns *ns; /* the namespaces shown, by netns */
	size_t nns;
	struct tp_ns *gone; /* those whose latest snapshot is a gone-marker */
	size_t ngone;
};

static void tp_topo_clear(struct tp_topo *t)
{
	for (int k = 0; k < TP_NTABLES; k++)
		tp_tab_clear(&t->tabs[k]);
	free(t->ns);
	free(t->gone);
	t->ns = t->gone = NULL;
	t->nns = t->ngone = 0;
}

/*
 * W for the topology as of @at: the width of the partition that holds @at (the widest, if a
 * clock step left two), else of the latest one that starts before it, else of the first. 0 when
 * unknown: files given with --db are read as given, with no lookback limit.
 */
static int64_t tp_width(const struct nr_cli *cli, int64_t at, int64_t *ret_last_end)
{
	int64_t w = 0, before_start = NR_TIME_MIN, before_w = 0, last_end = NR_TIME_MIN;
	struct nr_part_info *parts;
	size_t n;

	*ret_last_end = NR_TIME_MIN;
	/* A store that cannot be listed is reported when the catalog opens it. */
	if (cli->ndb_files || nr_store_list(cli->data_dir, &parts, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int64_t start = parts[i].start_ns, width = parts[i].width_ns;

		if (start > at)
			continue;
		if (at < start + width) {
			if (width > w)
				w = width;
		} else if (start > before_start || (start == before_start && width > before_w)) {
			before_start = start;
			before_w = width;
		}
		if (start + width > last_end)
			last_end = start + width;
	}
	if (!w)
		w = before_w;
	if (!w && n)
		w = parts[0].width_ns;
	nr_store_list_free(parts, n);
	*ret_last_end = last_end;
	return w;
}

/* Where the snapshots of the topology as of @at lie: [T - 2W, T], within --since/--until. */
static void tp_window(const struct nr_cli *cli, int64_t since, int64_t until, int64_t at,
		      struct tp_topo *t)
{
	int64_t w = tp_width(cli, at, &t->last_end_ns);
	int64_t lo = w > 0 ? at - 2 * w : NR_TIME_MIN;

	t->at_ns = at;
	t->w_ns = w;
	t->lo_ns = lo > since ? lo : since;
	t->hi_ns = at < until ? at : until;
}

/* Opens the catalog over [@lo, @hi]; the queries bound themselves, so an empty window is
 * opened as one instant. Returns 0 or an exit status. */
static int tp_open(struct nr_cli *cli, int64_t lo, int64_t hi)
{
	cli->since_ns = lo <= hi ? lo : hi;
	cli->until_ns = hi;
	return nr_cli_open_catalog(cli);
}

static struct tp_ns *tp_by_id(struct tp_topo *t, const struct nr_val *id)
{
	for (size_t i = 0; id->type == NR_VAL_INT && i < t->nns; i++)
		if (t->ns[i].id == id->i)
			return &t->ns[i];
	return NULL;
}

/* Each namespace's rows of table @k: they come sorted by snapshot_id. */
static void tp_assign(struct tp_topo *t, int k)
{
	const struct tp_tab *tab = &t->tabs[k];
	int c = tp_col(tab, "snapshot_id");
	size_t i = 0;

	while (i < tab->nrows) {
		const struct nr_val *id = tp_get(tab, i, c);
		struct tp_ns *ns = tp_by_id(t, id);
		size_t j = i + 1;

		while (j < tab->nrows && tp_val_cmp(tp_get(tab, j, c), id) == 0)
			j++;
		if (ns) {
			ns->first[k] = i;
			ns->n[k] = j - i;
		}
		i = j;
	}
}

/* Which columns of @table partition @db has (older schemas lack some): @have[c] for each of
 * @t's columns. */
static void tp_part_columns(sqlite3 *db, const char *table, const struct tp_tab *t, bool *have)
{
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", table);

	memset(have, 0, (size_t)t->ncols * sizeof(*have));
	if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 1);

			for (int c = 0; name && c < t->ncols; c++)
				if (strcmp(name, t->names[c]) == 0)
					have[c] = true;
		}
		sqlite3_finalize(st);
	}
	sqlite3_free(sql);
}

/*
 * Appends to @t the rows of table @k of the snapshots @ids ("1,2,3") in catalog partition @i.
 * They are read on the partition's own connection, not through the catalog's virtual table:
 * a lookup there runs once per id over every partition of the range, which took seconds for
 * a few hundred namespaces; here a finalized partition's snapshot_id index serves the ids and
 * the open one (no indexes yet) is scanned once. A partition that fails is skipped with a
 * warning and counted, as the catalog does. Returns 0 or an exit status (out of memory).
 */
static int tp_read_part(struct nr_cli *cli, size_t i, int k, const char *ids, struct tp_tab *t)
{
	sqlite3 *db = nr_catalog_part_db(cli->cat, i);
	const char *table = tp_tables[k].name;
	sqlite3_stmt *st = NULL;
	sqlite3_str *s;
	bool have[TP_VIEW_MAX];
	char *sql;
	int rc, r = 0;

	if (!db)
		return 0; /* unreadable: already warned */
	if (t->ncols > TP_VIEW_MAX)
		return nr_cli_error("%s: too many columns", table);
	tp_part_columns(db, table, t, have);
	s = sqlite3_str_new(NULL);
	sqlite3_str_appendall(s, "SELECT ");
	for (int c = 0; c < t->ncols; c++)
		sqlite3_str_appendf(s, "%s\"%w\"", c ? ", " : "", t->names[c]);
	sqlite3_str_appendall(s, " FROM (SELECT ");
	for (int c = 0; c < t->ncols; c++) {
		if (!have[c])
			sqlite3_str_appendall(s, "NULL AS ");
		sqlite3_str_appendf(s, "\"%w\", ", t->names[c]);
	}
	sqlite3_str_appendf(s, "rowid AS nr_rowid FROM \"%w\" WHERE snapshot_id IN (%s))"
			       " ORDER BY snapshot_id, %s",
			    table, ids, tp_tables[k].order);
	sql = sqlite3_str_finish(s);
	if (!sql)
		return nr_cli_error("out of memory");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		/* A partition of an older schema may lack the table: no rows. */
		if (strncmp(sqlite3_errmsg(db), "no such table", 13) != 0)
			nr_catalog_part_fail(cli->cat, i, sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (tp_tab_add(t, st) < 0) {
			r = nr_cli_error("out of memory");
			goto out;
		}
	if (rc != SQLITE_DONE)
		nr_catalog_part_fail(cli->cat, i, sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return r;
}

/* The columns of the catalog's table @k, for @t: those of the current schema. */
static int tp_table_columns(struct nr_cli *cli, int k, struct tp_tab *t)
{
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", tp_tables[k].name);
	int r;

	if (!sql)
		return nr_cli_error("out of memory");
	r = nr_cli_prepare(cli, sql, NULL, 0, &st);
	sqlite3_free(sql);
	if (r)
		return r;
	r = tp_tab_columns(t, st) < 0 ? nr_cli_error("out of memory") : 0;
	sqlite3_finalize(st);
	return r;
}

/*
 * Reads the topology of the window set by tp_window() from the open catalog: each namespace's
 * latest snapshot in it, and the detail rows of those that are not gone-markers. Returns 0 or
 * an exit status, with the error printed.
 */
static int tp_load(struct nr_cli *cli, struct tp_topo *t)
{
	struct nr_sql_param p[2] = { { .i = t->lo_ns }, { .i = t->hi_ns } };
	struct tp_tab *snaps = &t->tabs[TP_SNAPSHOTS];
	int r;

	/* The hidden column partition: the file that holds each snapshot's rows too. */
	r = tp_read(cli,
		    "SELECT *, partition FROM snapshots WHERE ts_ns BETWEEN ?1 AND ?2"
		    " ORDER BY netns, ts_ns DESC, id DESC",
		    p, 2, "netns", snaps);
	if (r)
		return r;
	snaps->nshown = snaps->ncols - 1;
	t->ns = calloc(snaps->nrows + 1, sizeof(*t->ns));
	t->gone = calloc(snaps->nrows + 1, sizeof(*t->gone));
	if (!t->ns || !t->gone)
		return nr_cli_error("out of memory");
	for (size_t i = 0; i < snaps->nrows; i++) {
		const char *hash = tp_text(snaps, i, "hash");
		struct tp_ns *ns = hash && strcmp(hash, TP_GONE_HASH) == 0 ? &t->gone[t->ngone++]
									  : &t->ns[t->nns++];

		ns->row = i;
		ns->partition = tp_get(snaps, i, snaps->ncols - 1)->s;
		ns->has_netns = tp_int(snaps, i, "netns", &ns->netns);
		ns->id = tp_int_or(snaps, i, "id", 0);
		ns->ts_ns = tp_int_or(snaps, i, "ts_ns", 0);
		ns->name = tp_text(snaps, i, "netns_name");
	}
	for (int k = TP_LINKS; k < TP_NTABLES && r == 0; k++)
		r = tp_table_columns(cli, k, &t->tabs[k]);
	/* Partition by partition, the ids of the snapshots it holds. (Files given with --db
	 * are named by their base name: two of the same name are both asked.) */
	for (size_t i = 0; i < nr_catalog_count(cli->cat) && r == 0; i++) {
		const struct nr_cat_part *part = nr_catalog_part(cli->cat, i);
		sqlite3_str *ids = sqlite3_str_new(NULL);
		char *list;

		for (size_t n = 0; n < t->nns; n++) {
			const struct tp_ns *ns = &t->ns[n];

			if (!ns->partition || strcmp(ns->partition, part->name) != 0)
				continue;
			if (sqlite3_str_length(ids))
				sqlite3_str_appendall(ids, ",");
			sqlite3_str_appendf(ids, "%lld", (long long)ns->id);
		}
		if (sqlite3_str_errcode(ids)) {
			sqlite3_free(sqlite3_str_finish(ids));
			return nr_cli_error("out of memory");
		}
		list = sqlite3_str_finish(ids);
		for (int k = TP_LINKS; list && k < TP_NTABLES && r == 0; k++)
			r = tp_read_part(cli, i, k, list, &t->tabs[k]);
		sqlite3_free(list);
	}
	for (int k = TP_LINKS; k < TP_NTABLES && r == 0; k++)
		tp_assign(t, k);
	return r;
}

static const struct tp_ns *tp_find(const struct tp_topo *t, bool has_netns, int64_t netns)
{
	for (size_t i = 0; i < t->nns; i++)
		if (t->ns[i].has_netns == has_netns && (!has_netns || t->ns[i].netns == netns))
			return &t->ns[i];
	return NULL;
}

static const struct tp_ns *tp_find_gone(const struct tp_topo *t, bool has_netns, int64_t netns)
{
	for (size_t i = 0; i < t->ngone; i++)
		if (t->gone[i].has_netns == has_netns && (!has_netns || t->gone[i].netns == netns))
			return &t->gone[i];
	return NULL;
}

/* The links row of @ifindex in @ns. */
static bool tp_link_row(const struct tp_topo *t, const struct tp_ns *ns, int64_t ifindex,
			size_t *ret)
{
	const struct tp_tab *l = &t->tabs[TP_LINKS];

	for (size_t i = 0; ns && i < ns->n[TP_LINKS]; i++) {
		size_t row = ns->first[TP_LINKS] + i;

		if (tp_int_or(l, row, "ifindex", 0) == ifindex) {
			*ret = row;
			return true;
		}
	}
	return false;
}

static const char *tp_ifname(const struct tp_topo *t, const struct tp_ns *ns, int64_t ifindex)
{
	size_t row;

	return tp_link_row(t, ns, ifindex, &row) ? tp_text(&t->tabs[TP_LINKS], row, "name") : NULL;
}

/* The interface's name, or "if7" without one. */
static void tp_append_if(sqlite3_str *s, const struct tp_topo *t, const struct tp_ns *ns,
			 int64_t ifindex)
{
	const char *name = tp_ifname(t, ns, ifindex);

	if (name)
		sqlite3_str_appendall(s, name);
	else
		sqlite3_str_appendf(s, "if%lld", (long long)ifindex);
}

/* "netns 4026532001 (blue)", "netns 4026531840", "netns ?". */
static void tp_append_ns(sqlite3_str *s, bool has_netns, int64_t netns, const char *name)
{
	if (has_netns)
		sqlite3_str_appendf(s, "netns %lld", (long long)netns);
	else
		sqlite3_str_appendall(s, "netns ?");
	if (name)
		sqlite3_str_appendf(s, " (%s)", name);
}

/*
 * The namespace a link's veth peer or lower device is in: peer_netns when it names another
 * namespace (*ret_other true; NULL when that one is not in the topology), else the link's own.
 * NULL for @ns NULL.
 */
static const struct tp_ns *tp_peer_ns(const struct tp_topo *t, const struct tp_ns *ns,
				      size_t row, bool *ret_other, int64_t *ret_netns)
{
	int64_t pn;

	*ret_other = false;
	if (!ns)
		return NULL;
	if (!tp_int(&t->tabs[TP_LINKS], row, "peer_netns", &pn) ||
	    (ns->has_netns && pn == ns->netns))
		return ns;
	*ret_other = true;
	*ret_netns = pn;
	return tp_find(t, true, pn);
}

/* ---- rows as text ------------------------------------------------------------------------- */

struct tp_render {
	struct nr_cli *cli;
	sqlite3_stmt *info_st; /* json_each() over links.info, on the catalog's connection */
	bool info_failed;
};

static void tp_render_done(struct tp_render *r)
{
	sqlite3_finalize(r->info_st);
	r->info_st = NULL;
}

/* A time in text meant for people: ISO 8601, or nanoseconds in tables with --raw. (CSV and
 * JSON carry the raw *_ns columns beside such text.) */
static const char *tp_time(const struct nr_cli *cli, int64_t ns, char *buf, size_t len)
{
	if (!nr_cli_is_table(cli) || nr_cli_human_times(cli))
		nr_time_format(ns, 3, buf, len);
	else
		snprintf(buf, len, "%lld", (long long)ns);
	return buf;
}

/* A time for messages on stderr: always ISO 8601. */
static const char *tp_iso(int64_t ns, char *buf, size_t len)
{
	nr_time_format(ns, 3, buf, len);
	return buf;
}

/* links.info, a JSON object, as " key value" pairs in its order: " id 42 remote 192.0.2.9".
 * What is not a JSON object shows as it is. */
static void tp_append_info(struct tp_render *r, sqlite3_str *s, const char *info)
{
	sqlite3_str *pairs;
	char *text;
	int rc;

	if (!r->info_st && !r->info_failed &&
	    sqlite3_prepare_v2(nr_catalog_db(r->cli->cat),
			       "SELECT key, CASE type WHEN 'true' THEN 'true'"
			       " WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' ELSE value END"
			       " FROM json_each(?1)"
			       " WHERE json_type(?1) = 'object'",
			       -1, &r->info_st, NULL) != SQLITE_OK) {
		sqlite3_finalize(r->info_st);
		r->info_st = NULL;
		r->info_failed = true;
	}
	if (!r->info_st) {
		sqlite3_str_appendf(s, " info %s", info);
		return;
	}
	pairs = sqlite3_str_new(NULL);
	sqlite3_bind_text(r->info_st, 1, info, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(r->info_st)) == SQLITE_ROW)
		sqlite3_str_appendf(pairs, " %s %s",
				    (const char *)sqlite3_column_text(r->info_st, 0),
				    (const char *)sqlite3_column_text(r->info_st, 1));
	sqlite3_reset(r->info_st);
	sqlite3_clear_bindings(r->info_st);
	text = sqlite3_str_finish(pairs);
	/* Not an object (no pairs, unless it is "{}"), or not JSON at all (an error). */
	if (rc == SQLITE_DONE && text)
		sqlite3_str_appendall(s, text);
	else if (rc != SQLITE_DONE || strcmp(info, "{}") != 0)
		sqlite3_str_appendf(s, " info %s", info);
	sqlite3_free(text);
}

/* The columns of a section's lines that are padded to line up; 0: not padded. */
struct tp_widths {
	int a, b, c, d;
};

static int tp_max(int a, int b)
{
	return a > b ? a : b;
}

static int tp_len(const char *s)
{
	size_t n = s ? strlen(s) : 1;

	return n > 64 ? 64 : (int)n;
}

static int tp_digits(int64_t v)
{
	char buf[24];

	return snprintf(buf, sizeof(buf), "%lld", (long long)v);
}

static const char *tp_link_kind(const struct tp_tab *l, size_t row)
{
	const char *kind = tp_text(l, row, "kind");

	if (kind)
		return kind;
	return tp_int_or(l, row, "flags", 0) & IFF_LOOPBACK_BIT ? "loopback" : "device";
}

/* operstate, or admin-down for an interface that is not up (IFF_UP): operstate is then "down"
 * too, but for another reason than a missing carrier. */
static const char *tp_link_state(const struct tp_tab *l, size_t row)
{
	const char *op = tp_text(l, row, "operstate");
	int64_t flags;

	if (tp_int(l, row, "flags", &flags) && !(flags & IFF_UP_BIT))
		return "admin-down";
	return op ? op : "?";
}

/* " in netns 4026532001 (blue)" */
static void tp_append_in_ns(sqlite3_str *s, const struct tp_ns *other, int64_t netns)
{
	sqlite3_str_appendall(s, " in ");
	tp_append_ns(s, true, netns, other ? other->name : NULL);
}

/*
 * "2 veth0 veth up mtu 1500 02:00:00:00:00:01 peer 5 eth0 in netns 4026532001 (blue); master
 * br0", "5 vx0 vxlan up mtu 1450 id 42 remote 192.0.2.9 local 192.0.2.1 port 4789 dev eth0".
 */
static void tp_link_line(struct tp_render *r, const struct tp_topo *t, const struct tp_ns *ns,
			 size_t row, const struct tp_widths *w, sqlite3_str *s)
{
	const struct tp_tab *l = &t->tabs[TP_LINKS];
	const char *name = tp_text(l, row, "name"), *mac = tp_text(l, row, "mac");
	const char *info = tp_text(l, row, "info");
	int64_t idx = tp_int_or(l, row, "ifindex", 0), mtu, peer = 0, link, master, pnetns = 0;
	bool has_peer = tp_int(l, row, "peer_ifindex", &peer), other;
	const struct tp_ns *pns = tp_peer_ns(t, ns, row, &other, &pnetns);

	sqlite3_str_appendf(s, "%*lld %-*s %-*s %-*s", w->a, (long long)idx, w->b,
			    name ? name : "?", w->c, tp_link_kind(l, row), w->d,
			    tp_link_state(l, row));
	if (tp_int(l, row, "mtu", &mtu))
		sqlite3_str_appendf(s, " mtu %lld", (long long)mtu);
	if (mac)
		sqlite3_str_appendf(s, " %s", mac);
	if (info)
		tp_append_info(r, s, info);
	/* A veth's IFLA_LINK is its peer again: shown once, as the peer. */
	if (tp_int(l, row, "link_ifindex", &link) && !(has_peer && link == peer)) {
		sqlite3_str_appendall(s, " dev ");
		tp_append_if(s, t, pns, link);
		if (other)
			tp_append_in_ns(s, pns, pnetns);
	}
	if (has_peer) {
		const char *pname = tp_ifname(t, pns, peer);
		size_t prow;

		/* Without peer_netns the peer is taken to be in the same namespace, but only when
		 * the link there says this one is its peer: the namespace might be unknown. */
		if (!other && !(tp_link_row(t, ns, peer, &prow) &&
				tp_int_or(l, prow, "peer_ifindex", 0) == idx))
			pname = NULL;
		sqlite3_str_appendf(s, " peer %lld", (long long)peer);
		if (pname)
			sqlite3_str_appendf(s, " %s", pname);
		if (other)
			tp_append_in_ns(s, pns, pnetns);
	}
	if (tp_int(l, row, "master_ifindex", &master)) {
		sqlite3_str_appendall(s, "; master ");
		tp_append_if(s, t, ns, master);
	}
}

/* The interface name of a row, or "if7", padded to @w. */
static void tp_append_ifcol(sqlite3_str *s, const struct tp_topo *t, const struct tp_ns *ns,
			    const struct tp_tab *tab, size_t row, int w)
{
	int64_t ifindex = tp_int_or(tab, row, "ifindex", 0);
	const char *name = tp_ifname(t, ns, ifindex);

	if (name)
		sqlite3_str_appendf(s, "%-*s", w, name);
	else
		sqlite3_str_appendf(s, "if%-*lld", w > 2 ? w - 2 : 0, (long long)ifindex);
}

static int tp_ifcol_len(const struct tp_topo *t, const struct tp_ns *ns,
			const struct tp_tab *tab, size_t row)
{
	int64_t ifindex = tp_int_or(tab, row, "ifindex", 0);
	const char *name = tp_ifname(t, ns, ifindex);

	return name ? tp_len(name) : 2 + tp_digits(ifindex);
}

/* "eth0 192.0.2.1/24 scope global", "eth0 2001:db8::5/64 scope global dynamic noprefixroute" */
static void tp_addr_line(const struct tp_topo *t, const struct tp_ns *ns, size_t row, int w,
			 sqlite3_str *s)
{
	const struct tp_tab *a = &t->tabs[TP_ADDRESSES];
	const char *addr = tp_text(a, row, "address");
	int64_t flags;

	tp_append_ifcol(s, t, ns, a, row, w);
	sqlite3_str_appendf(s, " %s/%lld scope ", addr ? addr : "?",
			    (long long)tp_int_or(a, row, "prefixlen", 0));
	tp_append_name(s, TP_N(tp_scopes), tp_int_or(a, row, "scope", 0));
	if (tp_int(a, row, "flags", &flags)) {
		if (!(flags & IFA_F_PERMANENT_BIT))
			sqlite3_str_appendall(s, " dynamic");
		tp_append_bits(s, TP_N(tp_ifa_flags), flags & ~(int64_t)IFA_F_PERMANENT_BIT, " ",
			       " ");
	}
}

/* " via 10.0.0.1 dev eth0" of one route row (one next hop). */
static void tp_append_hop(const struct tp_topo *t, const struct tp_ns *ns, size_t row,
			  sqlite3_str *s)
{
	const struct tp_tab *rt = &t->tabs[TP_ROUTES];
	const char *gw = tp_text(rt, row, "gateway");
	int64_t oif;

	if (gw)
		sqlite3_str_appendf(s, " via %s", gw);
	if (tp_int(rt, row, "oif", &oif)) {
		sqlite3_str_appendall(s, " dev ");
		tp_append_if(s, t, ns, oif);
	}
}

/* "main", "local", "table 100" */
static void tp_append_table(sqlite3_str *s, int64_t table)
{
	const char *name = tp_name(TP_N(tp_rt_tables), table);

	if (name)
		sqlite3_str_appendall(s, name);
	else
		sqlite3_str_appendf(s, "table %lld", (long long)table);
}

/* "[type ]default", "[type ]10.8.0.0/16", a host route without its /32 or /128. */
static void tp_append_dst(const struct tp_tab *rt, size_t row, sqlite3_str *s)
{
	const char *dst = tp_text(rt, row, "dst");
	int64_t type, len = tp_int_or(rt, row, "dst_len", 0);
	int64_t family = tp_int_or(rt, row, "family", 0);

	if (tp_int(rt, row, "type", &type) && type != 1) {
		sqlite3_str_appendall(s, " ");
		tp_append_name(s, TP_N(tp_rt_types), type);
	}
	if (!dst)
		sqlite3_str_appendall(s, " default");
	else if ((family == 4 && len == 32) || (family == 6 && len == 128))
		sqlite3_str_appendf(s, " %s", dst);
	else
		sqlite3_str_appendf(s, " %s/%lld", dst, (long long)len);
}

/*
 * One route: "main default via 192.0.2.254 dev eth0 proto static metric 100"; a multipath
 * route's @nhops rows from @row as one line, "main 10.8.0.0/16 proto static nexthop via
 * 10.0.0.2 dev br0 weight 1, nexthop via 10.0.0.3 dev br0 weight 2", with each hop's number
 * when @numbered (a diff names one hop).
 */
static void tp_route_line(const struct tp_topo *t, const struct tp_ns *ns, size_t row,
			  size_t nhops, bool numbered, sqlite3_str *s)
{
	const struct tp_tab *rt = &t->tabs[TP_ROUTES];
	const char *src = tp_text(rt, row, "prefsrc");
	int64_t v, hop = tp_int_or(rt, row, "nexthop", 0);

	tp_append_table(s, tp_int_or(rt, row, "table_id", 0));
	tp_append_dst(rt, row, s);
	if (hop == 0)
		tp_append_hop(t, ns, row, s);
	if (tp_int(rt, row, "protocol", &v)) {
		sqlite3_str_appendall(s, " proto ");
		tp_append_name(s, TP_N(tp_rt_protos), v);
	}
	if (tp_int(rt, row, "scope", &v) && v != 0) {
		sqlite3_str_appendall(s, " scope ");
		tp_append_name(s, TP_N(tp_scopes), v);
	}
	if (src)
		sqlite3_str_appendf(s, " src %s", src);
	if (tp_int(rt, row, "metric", &v) && v != 0)
		sqlite3_str_appendf(s, " metric %lld", (long long)v);
	for (size_t i = 0; hop > 0 && i < nhops; i++) {
		sqlite3_str_appendall(s, i ? ", nexthop" : " nexthop");
		if (numbered)
			sqlite3_str_appendf(s, " %lld",
					    (long long)tp_int_or(rt, row + i, "nexthop", 0));
		tp_append_hop(t, ns, row + i, s);
		if (tp_int(rt, row + i, "weight", &v))
			sqlite3_str_appendf(s, " weight %lld", (long long)v);
	}
}

/* How many rows from @row make one route: the next hops of a multipath route. */
static size_t tp_route_hops(const struct tp_topo *t, const struct tp_ns *ns, size_t row)
{
	static const char *const same[] = { "table_id", "family", "dst",
					    "dst_len",	"metric", "type" };
	const struct tp_tab *rt = &t->tabs[TP_ROUTES];
	size_t end = ns->first[TP_ROUTES] + ns->n[TP_ROUTES], n = 1;

	if (tp_int_or(rt, row, "nexthop", 0) <= 0)
		return 1;
	for (; row + n < end && tp_int_or(rt, row + n, "nexthop", 0) > 0; n++)
		for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++)
			if (tp_val_cmp(tp_cell(rt, row, same[k]), tp_cell(rt, row + n, same[k])))
				return n;
	return n;
}

/* "eth0 192.0.2.254 lladdr 52:54:00:aa:bb:cc REACHABLE" */
static void tp_neigh_line(const struct tp_topo *t, const struct tp_ns *ns, size_t row, int w,
			  sqlite3_str *s)
{
	const struct tp_tab *n = &t->tabs[TP_NEIGHBORS];
	const char *addr = tp_text(n, row, "address"), *ll = tp_text(n, row, "lladdr");
	int64_t state;

	tp_append_ifcol(s, t, ns, n, row, w);
	sqlite3_str_appendf(s, " %s", addr ? addr : "?");
	if (ll)
		sqlite3_str_appendf(s, " lladdr %s", ll);
	if (tp_int(n, row, "state", &state)) {
		if (state == 0)
			sqlite3_str_appendall(s, " NONE");
		tp_append_bits(s, TP_N(tp_nud), state, " ", ",");
	}
}

/* "0.0.0.0:22", "[::]:80", "*:53" */
static void tp_append_endpoint(const struct tp_tab *l, size_t row, sqlite3_str *s)
{
	const char *addr = tp_text(l, row, "address");
	long long port = (long long)tp_int_or(l, row, "port", 0);

	if (!addr)
		sqlite3_str_appendf(s, "*:%lld", port);
	else if (strchr(addr, ':'))
		sqlite3_str_appendf(s, "[%s]:%lld", addr, port);
	else
		sqlite3_str_appendf(s, "%s:%lld", addr, port);
}

static int tp_endpoint_len(const struct tp_tab *l, size_t row)
{
	sqlite3_str *s = sqlite3_str_new(NULL);
	int n;

	tp_append_endpoint(l, row, s);
	n = sqlite3_str_length(s);
	sqlite3_free(sqlite3_str_finish(s));
	return n;
}

/* "tcp 0.0.0.0:22 sshd pid 812 inode 31337", "udp [::]:5353 process unknown" */
static void tp_listener_line(const struct tp_topo *t, size_t row, const struct tp_widths *w,
			     sqlite3_str *s)
{
	const struct tp_tab *l = &t->tabs[TP_LISTENERS];
	const char *comm = tp_text(l, row, "comm"), *proto;
	int64_t v, pid;
	sqlite3_str *ep = sqlite3_str_new(NULL);
	char *eps;

	v = tp_int_or(l, row, "proto", 0);
	proto = tp_name(TP_N(tp_protos), v);
	if (proto)
		sqlite3_str_appendf(s, "%-*s", w->a, proto);
	else
		sqlite3_str_appendf(s, "%-*lld", w->a, (long long)v);
	tp_append_endpoint(l, row, ep);
	eps = sqlite3_str_finish(ep);
	sqlite3_str_appendf(s, " %-*s", w->b, eps ? eps : "?");
	sqlite3_free(eps);
	if (comm)
		sqlite3_str_appendf(s, " %s", comm);
	if (tp_int(l, row, "pid", &pid))
		sqlite3_str_appendf(s, " pid %lld", (long long)pid);
	else if (!comm)
		sqlite3_str_appendall(s, " process unknown");
	if (tp_int(l, row, "inode", &v))
		sqlite3_str_appendf(s, " inode %lld", (long long)v);
}

/* ---- --netns ------------------------------------------------------------------------------ */

struct tp_args {
	const char *cmd; /* for messages */
	bool diff;
	bool has_at;
	int64_t at;
	int64_t t[2]; /* diff: T1, T2 */
	int nt;
	const char *netns; /* --netns: a name, or an inode */
};

static bool tp_all_digits(const char *s)
{
	if (!*s || strlen(s) > 20)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool tp_match(const struct tp_args *a, const struct tp_ns *ns)
{
	if (!a->netns || !ns)
		return !a->netns;
	if (ns->name && strcmp(ns->name, a->netns) == 0)
		return true;
	return ns->has_netns && tp_all_digits(a->netns) &&
	       strtoull(a->netns, NULL, 10) == (unsigned long long)ns->netns;
}

/* ---- one row with every column, for CSV and JSON -------------------------------------------- */

/*
 * A row's stored columns, then what netrec resolves for it: the snapshot's time in ISO 8601;
 * a link's master_name, link_name, peer_name and peer_netns_name; the ifname of an address or
 * neighbour, the oif_name of a route. NULL when not resolved.
 */
struct tp_view {
	int n;
	const char *names[TP_VIEW_MAX];
	struct nr_val vals[TP_VIEW_MAX];
	char time[40];
};

/* A TEXT value; NULL for @s NULL. */
static struct nr_val tp_textval(const char *s)
{
	if (!s)
		return tp_null;
	return (struct nr_val){ .type = NR_VAL_TEXT, .s = s, .len = strlen(s) };
}

static void tp_view_text(struct tp_view *v, const char *name, const char *text)
{
	v->names[v->n] = name;
	v->vals[v->n++] = tp_textval(text);
}

static void tp_view(const struct tp_topo *t, const struct tp_ns *ns, int k, size_t row,
		    struct tp_view *v)
{
	const struct tp_tab *tab = &t->tabs[k];
	int64_t x;

	v->n = 0;
	for (int c = 0; c < tab->nshown && v->n < TP_VIEW_MAX - 4; c++) {
		v->names[v->n] = tab->names[c];
		v->vals[v->n++] = *tp_get(tab, row, c);
	}
	switch (k) {
	case TP_SNAPSHOTS:
		nr_time_format(tp_int_or(tab, row, "ts_ns", 0), 3, v->time, sizeof(v->time));
		tp_view_text(v, "time", v->time);
		break;
	case TP_LINKS: {
		bool other;
		const struct tp_ns *pns = tp_peer_ns(t, ns, row, &other, &x);

		tp_view_text(v, "master_name", tp_int(tab, row, "master_ifindex", &x)
						       ? tp_ifname(t, ns, x) : NULL);
		tp_view_text(v, "link_name", tp_int(tab, row, "link_ifindex", &x)
						     ? tp_ifname(t, pns, x) : NULL);
		tp_view_text(v, "peer_name", tp_int(tab, row, "peer_ifindex", &x)
						     ? tp_ifname(t, pns, x) : NULL);
		tp_view_text(v, "peer_netns_name", other && pns ? pns->name : NULL);
		break;
	}
	case TP_ADDRESSES:
	case TP_NEIGHBORS:
		tp_view_text(v, "ifname",
			     tp_int(tab, row, "ifindex", &x) ? tp_ifname(t, ns, x) : NULL);
		break;
	case TP_ROUTES:
		tp_view_text(v, "oif_name",
			     tp_int(tab, row, "oif", &x) ? tp_ifname(t, ns, x) : NULL);
		break;
	default:
		break;
	}
}

/* ---- writers ------------------------------------------------------------------------------ */

/*
 * The text forms: lines written as the cells of a one-column table without a header, so that
 * they are escaped as every table is (a hostile interface or process name cannot break a line
 * or drive the terminal).
 */
struct tp_text {
	struct nr_out *o;
	sqlite3_str *s; /* the line being built */
	bool begun;
	int err; /* the first failure, -errno */
};

static int tp_text_open(struct tp_text *x, struct nr_cli *cli)
{
	x->s = sqlite3_str_new(NULL);
	if (nr_out_new(cli->out, NR_FMT_TABLE, NR_OUT_NO_HEADER, &x->o) < 0)
		return -ENOMEM;
	return 0;
}

/* Writes the line built in x->s. */
static void tp_text_line(struct tp_text *x)
{
	static const char *const names[] = { "line" };
	struct nr_val v = { .type = NR_VAL_TEXT };
	int r = 0;

	if (!x->err && sqlite3_str_errcode(x->s))
		x->err = -ENOMEM;
	if (!x->err && !x->begun) {
		r = nr_out_begin(x->o, 1, names);
		x->begun = r == 0;
	}
	v.s = sqlite3_str_value(x->s) ? sqlite3_str_value(x->s) : "";
	v.len = strlen(v.s);
	if (!x->err && r == 0)
		r = nr_out_row(x->o, &v);
	if (!x->err && r < 0)
		x->err = r;
	sqlite3_str_reset(x->s);
}

/* Ends the output: 0 or an exit status. */
static int tp_text_close(struct tp_text *x)
{
	int r = x->err;

	if (x->begun) {
		int e = nr_out_end(x->o);

		if (!r)
			r = e;
	}
	nr_out_free(x->o);
	sqlite3_free(sqlite3_str_finish(x->s));
	if (r == -ENOMEM)
		return nr_cli_error("out of memory");
	return r < 0 ? nr_cli_output_error(r) : 0;
}

/*
 * JSON objects, written by output.c's own JSON writer (NDJSON, into memory), so that strings are
 * escaped exactly as in every other JSON output. The objects are then nested here.
 */
struct tp_json {
	FILE *out;
	FILE *mem;
	char *buf;
	size_t len;
	struct nr_out *o;
	bool nd; /* NDJSON: everything of one object on one line */
	int err;
};

static int tp_json_open(struct tp_json *j, struct nr_cli *cli)
{
	j->out = cli->out;
	j->nd = cli->fmt == NR_FMT_NDJSON;
	j->mem = open_memstream(&j->buf, &j->len);
	if (!j->mem || nr_out_new(j->mem, NR_FMT_NDJSON, 0, &j->o) < 0)
		return -ENOMEM;
	return 0;
}

static int tp_json_close(struct tp_json *j)
{
	int r = j->err;

	nr_out_free(j->o);
	if (j->mem)
		fclose(j->mem);
	free(j->buf);
	if (!r && (fflush(j->out) != 0 || ferror(j->out)))
		r = -EIO;
	if (r == -ENOMEM)
		return nr_cli_error("out of memory");
	return r < 0 ? nr_cli_output_error(r) : 0;
}

static void tp_json_puts(struct tp_json *j, const char *s)
{
	if (!j->err && fputs(s, j->out) == EOF)
		j->err = -EIO;
}

/* A newline between the parts of the JSON form; nothing in NDJSON. */
static void tp_json_nl(struct tp_json *j)
{
	if (!j->nd)
		tp_json_puts(j, "\n");
}

/* One object of @n members; with @open, without its closing brace, for more members to follow. */
static void tp_json_obj(struct tp_json *j, int n, const char *const *names,
			const struct nr_val *vals, bool open)
{
	long len;
	int r;

	if (j->err)
		return;
	if (fseek(j->mem, 0, SEEK_SET) != 0) {
		j->err = -EIO;
		return;
	}
	r = nr_out_begin(j->o, n, names);
	if (r == 0) {
		int e;

		r = nr_out_row(j->o, vals);
		e = nr_out_end(j->o); /* flushes j->mem: j->buf holds "{...}\n" from 0 */
		if (!r)
			r = e;
	}
	len = ftell(j->mem);
	if (!r && len < 3)
		r = -EIO;
	if (r) {
		j->err = r;
		return;
	}
	len -= open ? 2 : 1;
	if (fwrite(j->buf, 1, (size_t)len, j->out) != (size_t)len)
		j->err = -EIO;
}

static void tp_json_view(struct tp_json *j, const struct tp_view *v)
{
	tp_json_obj(j, v->n, v->names, v->vals, false);
}


/* ---- topology [--at T] [--netns N] ----------------------------------------------------------- */

/* "  routes:", or "  routes: none" */
static void tp_section(struct tp_text *x, const char *title, size_t n)
{
	sqlite3_str_appendf(x->s, "  %s:%s", title, n ? "" : " none");
	tp_text_line(x);
}

/* One namespace as a block of lines: its interfaces, addresses, routes, neighbours, listeners. */
static void tp_show_ns(struct tp_render *r, const struct tp_topo *t, const struct tp_ns *ns,
		       struct tp_text *x)
{
	const struct tp_tab *tabs = t->tabs;
	struct tp_widths w;
	char buf[40];
	int64_t pid;
	size_t i, end;

	tp_append_ns(x->s, ns->has_netns, ns->netns, ns->name);
	if (tp_int(&tabs[TP_SNAPSHOTS], ns->row, "pid", &pid))
		sqlite3_str_appendf(x->s, " pid %lld", (long long)pid);
	sqlite3_str_appendf(x->s, ", snapshot %s", tp_time(r->cli, ns->ts_ns, buf, sizeof(buf)));
	tp_text_line(x);

	memset(&w, 0, sizeof(w));
	for (i = ns->first[TP_LINKS]; i < ns->first[TP_LINKS] + ns->n[TP_LINKS]; i++) {
		w.a = tp_max(w.a, tp_digits(tp_int_or(&tabs[TP_LINKS], i, "ifindex", 0)));
		w.b = tp_max(w.b, tp_len(tp_text(&tabs[TP_LINKS], i, "name")));
		w.c = tp_max(w.c, tp_len(tp_link_kind(&tabs[TP_LINKS], i)));
		w.d = tp_max(w.d, tp_len(tp_link_state(&tabs[TP_LINKS], i)));
	}
	tp_section(x, tp_tables[TP_LINKS].section, ns->n[TP_LINKS]);
	for (i = ns->first[TP_LINKS]; i < ns->first[TP_LINKS] + ns->n[TP_LINKS]; i++) {
		sqlite3_str_appendall(x->s, "    ");
		tp_link_line(r, t, ns, i, &w, x->s);
		tp_text_line(x);
	}

	memset(&w, 0, sizeof(w));
	for (i = ns->first[TP_ADDRESSES]; i < ns->first[TP_ADDRESSES] + ns->n[TP_ADDRESSES]; i++)
		w.a = tp_max(w.a, tp_ifcol_len(t, ns, &tabs[TP_ADDRESSES], i));
	tp_section(x, tp_tables[TP_ADDRESSES].section, ns->n[TP_ADDRESSES]);
	for (i = ns->first[TP_ADDRESSES]; i < ns->first[TP_ADDRESSES] + ns->n[TP_ADDRESSES]; i++) {
		sqlite3_str_appendall(x->s, "    ");
		tp_addr_line(t, ns, i, w.a, x->s);
		tp_text_line(x);
	}

	tp_section(x, tp_tables[TP_ROUTES].section, ns->n[TP_ROUTES]);
	end = ns->first[TP_ROUTES] + ns->n[TP_ROUTES];
	for (i = ns->first[TP_ROUTES]; i < end;) {
		size_t n = tp_route_hops(t, ns, i);

		sqlite3_str_appendall(x->s, "    ");
		tp_route_line(t, ns, i, n, false, x->s);
		tp_text_line(x);
		i += n;
	}

	memset(&w, 0, sizeof(w));
	for (i = ns->first[TP_NEIGHBORS]; i < ns->first[TP_NEIGHBORS] + ns->n[TP_NEIGHBORS]; i++)
		w.a = tp_max(w.a, tp_ifcol_len(t, ns, &tabs[TP_NEIGHBORS], i));
	tp_section(x, tp_tables[TP_NEIGHBORS].section, ns->n[TP_NEIGHBORS]);
	for (i = ns->first[TP_NEIGHBORS]; i < ns->first[TP_NEIGHBORS] + ns->n[TP_NEIGHBORS]; i++) {
		sqlite3_str_appendall(x->s, "    ");
		tp_neigh_line(t, ns, i, w.a, x->s);
		tp_text_line(x);
	}

	memset(&w, 0, sizeof(w));
	for (i = ns->first[TP_LISTENERS]; i < ns->first[TP_LISTENERS] + ns->n[TP_LISTENERS]; i++) {
		int64_t proto = tp_int_or(&tabs[TP_LISTENERS], i, "proto", 0);
		const char *name = tp_name(TP_N(tp_protos), proto);

		w.a = tp_max(w.a, name ? tp_len(name) : tp_digits(proto));
		w.b = tp_max(w.b, tp_endpoint_len(&tabs[TP_LISTENERS], i));
	}
	tp_section(x, tp_tables[TP_LISTENERS].section, ns->n[TP_LISTENERS]);
	for (i = ns->first[TP_LISTENERS]; i < ns->first[TP_LISTENERS] + ns->n[TP_LISTENERS]; i++) {
		sqlite3_str_appendall(x->s, "    ");
		tp_listener_line(t, i, &w, x->s);
		tp_text_line(x);
	}
}

static int tp_show_text(struct tp_render *r, const struct tp_topo *t, const struct tp_args *a)
{
	struct nr_cli *cli = r->cli;
	struct tp_text x = { 0 };
	char b1[40], b2[40];
	bool first = true;

	if (tp_text_open(&x, cli) < 0)
		x.err = -ENOMEM;
	for (size_t i = 0; i < t->nns && !x.err; i++) {
		if (!tp_match(a, &t->ns[i]))
			continue;
		if (first) {
			sqlite3_str_appendf(x.s, "topology as of %s",
					    tp_time(cli, t->at_ns, b1, sizeof(b1)));
			if (t->lo_ns != NR_TIME_MIN)
				sqlite3_str_appendf(x.s, " (snapshots since %s)",
						    tp_time(cli, t->lo_ns, b2, sizeof(b2)));
			tp_text_line(&x);
			first = false;
		}
		tp_text_line(&x);
		tp_show_ns(r, t, &t->ns[i], &x);
	}
	return tp_text_close(&x);
}

/*
 * JSON: {"at_ns":T,"from_ns":..,"to_ns":..,"namespaces":[{"netns":..,"netns_name":..,
 * "snapshot":{..},"links":[..],"addresses":[..],"routes":[..],"neighbors":[..],
 * "listeners":[..]},..]}. NDJSON: one namespace object per line.
 */
static int tp_show_json(struct tp_render *r, const struct tp_topo *t, const struct tp_args *a)
{
	static const char *const head[] = { "netns", "netns_name" };
	struct tp_json j = { 0 };
	struct tp_view v;
	size_t shown = 0;
	char buf[160];

	if (tp_json_open(&j, r->cli) < 0)
		j.err = -ENOMEM;
	if (!j.nd) {
		snprintf(buf, sizeof(buf), "{\"at_ns\":%lld,\"from_ns\":", (long long)t->at_ns);
		tp_json_puts(&j, buf);
		if (t->lo_ns == NR_TIME_MIN)
			snprintf(buf, sizeof(buf), "null,\"to_ns\":%lld,\"namespaces\":[",
				 (long long)t->hi_ns);
		else
			snprintf(buf, sizeof(buf), "%lld,\"to_ns\":%lld,\"namespaces\":[",
				 (long long)t->lo_ns, (long long)t->hi_ns);
		tp_json_puts(&j, buf);
	}
	for (size_t i = 0; i < t->nns && !j.err; i++) {
		const struct tp_ns *ns = &t->ns[i];
		const struct tp_tab *snaps = &t->tabs[TP_SNAPSHOTS];
		struct nr_val hv[2];

		if (!tp_match(a, ns))
			continue;
		if (!j.nd)
			tp_json_puts(&j, shown ? ",\n" : "\n");
		shown++;
		hv[0] = *tp_cell(snaps, ns->row, "netns");
		hv[1] = *tp_cell(snaps, ns->row, "netns_name");
		tp_json_obj(&j, 2, head, hv, true);
		tp_json_puts(&j, ",\"snapshot\":");
		tp_view(t, ns, TP_SNAPSHOTS, ns->row, &v);
		tp_json_view(&j, &v);
		for (int k = TP_LINKS; k < TP_NTABLES; k++) {
			tp_json_puts(&j, ",");
			tp_json_nl(&j);
			snprintf(buf, sizeof(buf), "\"%s\":[", tp_tables[k].name);
			tp_json_puts(&j, buf);
			for (size_t n = 0; n < ns->n[k]; n++) {
				if (n)
					tp_json_puts(&j, ",");
				tp_json_nl(&j);
				tp_view(t, ns, k, ns->first[k] + n, &v);
				tp_json_view(&j, &v);
			}
			tp_json_puts(&j, "]");
		}
		tp_json_puts(&j, j.nd ? "}\n" : "}");
	}
	if (!j.nd)
		tp_json_puts(&j, shown ? "\n]}\n" : "]}\n");
	return tp_json_close(&j);
}

/* Frees @o and turns @res (its last result) into the command's exit status. */
static int tp_out_close(struct nr_out *o, int res)
{
	nr_out_free(o);
	if (res == -ENOMEM)
		return nr_cli_error("out of memory");
	return res < 0 ? nr_cli_output_error(res) : 0;
}

/*
 * CSV: six result sets, one per table (snapshots, links, addresses, routes, neighbors,
 * listeners), each row with every column of the JSON form; the detail rows start with their
 * namespace's netns and netns_name.
 */
static int tp_show_csv(struct tp_render *r, const struct tp_topo *t, const struct tp_args *a)
{
	struct nr_cli *cli = r->cli;
	const char *names[TP_VIEW_MAX + 2];
	struct nr_val vals[TP_VIEW_MAX + 2];
	struct nr_out *o = NULL;
	struct tp_view v;
	int res = 0;

	if (nr_out_new(cli->out, cli->fmt, cli->out_flags, &o) < 0)
		return nr_cli_error("out of memory");
	for (int k = 0; k < TP_NTABLES && res == 0; k++) {
		int pre = k == TP_SNAPSHOTS ? 0 : 2;

		tp_view(t, NULL, k, (size_t)-1, &v);
		names[0] = "netns";
		names[1] = "netns_name";
		memcpy(names + pre, v.names, (size_t)v.n * sizeof(*names));
		res = nr_out_begin(o, v.n + pre, names);
		for (size_t i = 0; i < t->nns && res == 0; i++) {
			const struct tp_ns *ns = &t->ns[i];
			size_t first = k == TP_SNAPSHOTS ? ns->row : ns->first[k];
			size_t n = k == TP_SNAPSHOTS ? 1 : ns->n[k];

			if (!tp_match(a, ns))
				continue;
			vals[0] = *tp_cell(&t->tabs[TP_SNAPSHOTS], ns->row, "netns");
			vals[1] = *tp_cell(&t->tabs[TP_SNAPSHOTS], ns->row, "netns_name");
			for (size_t row = first; row < first + n && res == 0; row++) {
				tp_view(t, ns, k, row, &v);
				memcpy(vals + pre, v.vals, (size_t)v.n * sizeof(*vals));
				res = nr_out_row(o, vals);
			}
		}
		if (res == 0)
			res = nr_out_end(o);
	}
	return tp_out_close(o, res);
}

/* ---- listening [--at T] [--netns N] ---------------------------------------------------------- */

static int tp_show_listening(struct tp_render *r, const struct tp_topo *t,
			     const struct tp_args *a)
{
	static const char *const tnames[] = { "netns", "netns_name", "proto", "address",
					      "port",  "pid",	     "comm",  "inode" };
	static const char *const rnames[] = { "ts_ns",	 "time",    "netns", "netns_name",
					      "snapshot_id", "proto", "address", "port",
					      "inode",	 "pid",	    "comm" };
	struct nr_cli *cli = r->cli;
	const struct tp_tab *l = &t->tabs[TP_LISTENERS], *snaps = &t->tabs[TP_SNAPSHOTS];
	bool table = nr_cli_is_table(cli);
	struct nr_out *o = NULL;
	struct nr_val vals[11];
	int res;

	if (nr_out_new(cli->out, cli->fmt, cli->out_flags, &o) < 0)
		return nr_cli_error("out of memory");
	res = table ? nr_out_begin(o, 8, tnames) : nr_out_begin(o, 11, rnames);
	for (size_t i = 0; i < t->nns && res == 0; i++) {
		const struct tp_ns *ns = &t->ns[i];
		char time[40];

		if (!tp_match(a, ns))
			continue;
		nr_time_format(ns->ts_ns, 3, time, sizeof(time));
		for (size_t row = ns->first[TP_LISTENERS];
		     row < ns->first[TP_LISTENERS] + ns->n[TP_LISTENERS] && res == 0; row++) {
			const struct nr_val *proto = tp_cell(l, row, "proto");
			const char *pname = proto->type == NR_VAL_INT
						    ? tp_name(TP_N(tp_protos), proto->i) : NULL;
			struct nr_val *p = vals;

			if (!table) {
				*p++ = *tp_cell(snaps, ns->row, "ts_ns");
				*p++ = tp_textval(time);
			}
			*p++ = *tp_cell(snaps, ns->row, "netns");
			*p++ = *tp_cell(snaps, ns->row, "netns_name");
			if (!table)
				*p++ = *tp_cell(l, row, "snapshot_id");
			*p++ = table && pname ? tp_textval(pname) : *proto;
			*p++ = *tp_cell(l, row, "address");
			*p++ = *tp_cell(l, row, "port");
			if (!table)
				*p++ = *tp_cell(l, row, "inode");
			*p++ = *tp_cell(l, row, "pid");
			*p++ = *tp_cell(l, row, "comm");
			if (table)
				*p++ = *tp_cell(l, row, "inode");
			res = nr_out_row(o, vals);
		}
	}
	if (res == 0)
		res = nr_out_end(o);
	return tp_out_close(o, res);
}

/* ---- topology diff T1 T2 [--netns N] ------------------------------------------------------- */

struct tp_diff {
	struct tp_render *r;
	const struct tp_args *args;
	const struct tp_topo *a, *b; /* as of T1, as of T2 */
	struct tp_text x; /* text */
	struct nr_out *o; /* CSV */
	struct tp_json j; /* JSON, NDJSON */
	size_t n; /* changes written */
	int err;
};

/* A row's identity as a diff line names it: "4 veth0", "eth0 10.0.0.1/24", "main 10.8.0.0/16
 * nexthop 2", "eth0 10.0.0.2", "tcp 0.0.0.0:22". */
static void tp_append_key(const struct tp_topo *t, const struct tp_ns *ns, int k, size_t row,
			  sqlite3_str *s)
{
	const struct tp_tab *tab = &t->tabs[k];
	const char *text;
	int64_t v;

	switch (k) {
	case TP_LINKS:
		text = tp_text(tab, row, "name");
		sqlite3_str_appendf(s, "%lld %s", (long long)tp_int_or(tab, row, "ifindex", 0),
				    text ? text : "?");
		break;
	case TP_ADDRESSES:
		tp_append_ifcol(s, t, ns, tab, row, 0);
		text = tp_text(tab, row, "address");
		sqlite3_str_appendf(s, " %s/%lld", text ? text : "?",
				    (long long)tp_int_or(tab, row, "prefixlen", 0));
		break;
	case TP_ROUTES:
		tp_append_table(s, tp_int_or(tab, row, "table_id", 0));
		tp_append_dst(tab, row, s);
		if (tp_int(tab, row, "metric", &v) && v != 0)
			sqlite3_str_appendf(s, " metric %lld", (long long)v);
		if (tp_int(tab, row, "nexthop", &v) && v != 0)
			sqlite3_str_appendf(s, " nexthop %lld", (long long)v);
		break;
	case TP_NEIGHBORS:
		tp_append_ifcol(s, t, ns, tab, row, 0);
		text = tp_text(tab, row, "address");
		sqlite3_str_appendf(s, " %s", text ? text : "?");
		break;
	case TP_LISTENERS:
		v = tp_int_or(tab, row, "proto", 0);
		tp_append_name(s, TP_N(tp_protos), v);
		sqlite3_str_appendall(s, " ");
		tp_append_endpoint(tab, row, s);
		break;
	default:
		break;
	}
}

/* A row as the topology shows it, on one line without padding. */
static void tp_append_desc(struct tp_render *r, const struct tp_topo *t, const struct tp_ns *ns,
			   int k, size_t row, sqlite3_str *s)
{
	static const struct tp_widths none;

	switch (k) {
	case TP_LINKS:
		tp_link_line(r, t, ns, row, &none, s);
		break;
	case TP_ADDRESSES:
		tp_addr_line(t, ns, row, 0, s);
		break;
	case TP_ROUTES:
		tp_route_line(t, ns, row, 1, true, s);
		break;
	case TP_NEIGHBORS:
		tp_neigh_line(t, ns, row, 0, s);
		break;
	case TP_LISTENERS:
		tp_listener_line(t, row, &none, s);
		break;
	default:
		break;
	}
}

/* A value in a change, "old -> new": names for numbers where the topology shows names. */
static void tp_append_value(sqlite3_str *s, const struct tp_topo *t, const struct tp_ns *ns,
			    int k, const char *col, const struct nr_val *v)
{
	const char *name;

	switch (v->type) {
	case NR_VAL_NULL:
		sqlite3_str_appendall(s, "none");
		return;
	case NR_VAL_REAL:
		sqlite3_str_appendf(s, "%!.15g", v->d);
		return;
	case NR_VAL_TEXT:
		sqlite3_str_appendall(s, v->s);
		return;
	case NR_VAL_BLOB:
		sqlite3_str_appendf(s, "(%zu bytes)", v->len);
		return;
	default:
		break;
	}
	if (strcmp(col, "flags") == 0) {
		sqlite3_str_appendf(s, "0x%llx", (unsigned long long)v->i);
	} else if (k == TP_NEIGHBORS && strcmp(col, "state") == 0) {
		if (v->i == 0)
			sqlite3_str_appendall(s, "NONE");
		tp_append_bits(s, TP_N(tp_nud), v->i, "", ",");
	} else if (strcmp(col, "scope") == 0) {
		tp_append_name(s, TP_N(tp_scopes), v->i);
	} else if (k == TP_ROUTES && strcmp(col, "protocol") == 0) {
		tp_append_name(s, TP_N(tp_rt_protos), v->i);
	} else if (strcmp(col, "oif") == 0 || strcmp(col, "master_ifindex") == 0) {
		name = tp_ifname(t, ns, v->i);
		sqlite3_str_appendf(s, "%lld", (long long)v->i);
		if (name)
			sqlite3_str_appendf(s, " (%s)", name);
	} else {
		sqlite3_str_appendf(s, "%lld", (long long)v->i);
	}
}

/*
 * Writes one change. @na, @ra: the namespace and row as of T1 (NULL: none); @nb, @rb: as of T2.
 * For @k == TP_SNAPSHOTS the change is the namespace itself, and for one that went away @nb is
 * its gone-marker (NULL: none recorded). @changed: the columns (of T1's table) that differ.
 */
static void tp_emit(struct tp_diff *d, char c, int k, const struct tp_ns *na, size_t ra,
		    const struct tp_ns *nb, size_t rb, const int *changed, int nchanged)
{
	static const char *const head[] = { "change", "object", "netns", "netns_name",
					    "key",    "detail", "table" };
	const struct tp_topo *t = c == '-' ? d->a : d->b;
	const struct tp_ns *ns = c == '-' ? na : nb;
	const struct tp_tab *snaps = &t->tabs[TP_SNAPSHOTS];
	struct nr_cli *cli = d->r->cli;
	sqlite3_str *key = sqlite3_str_new(NULL), *detail = sqlite3_str_new(NULL);
	struct nr_val vals[7];
	char cs[2] = { c, '\0' }, buf[40];
	struct tp_view v;
	int res = 0;

	if (k == TP_SNAPSHOTS && c == '-' && nb)
		sqlite3_str_appendf(detail, "went away at %s",
				    tp_time(cli, nb->ts_ns, buf, sizeof(buf)));
	else if (k == TP_SNAPSHOTS && c == '-')
		sqlite3_str_appendf(detail, "no snapshot as of %s",
				    tp_time(cli, d->b->at_ns, buf, sizeof(buf)));
	else if (k == TP_SNAPSHOTS && c == '+')
		sqlite3_str_appendf(detail, "appeared (snapshot %s)",
				    tp_time(cli, nb->ts_ns, buf, sizeof(buf)));
	else if (c != '~')
		tp_append_desc(d->r, t, ns, k, c == '-' ? ra : rb, detail);
	if (k != TP_SNAPSHOTS)
		tp_append_key(t, ns, k, c == '-' ? ra : rb, key);
	for (int i = 0; c == '~' && i < nchanged; i++) {
		const struct tp_tab *tab = &d->a->tabs[k];
		const char *col = tab->names[changed[i]];

		sqlite3_str_appendf(detail, "%s%s ", i ? ", " : "", col);
		tp_append_value(detail, d->a, na, k, col, tp_get(tab, ra, changed[i]));
		sqlite3_str_appendall(detail, " -> ");
		tp_append_value(detail, d->b, nb, k, col, tp_cell(&d->b->tabs[k], rb, col));
	}
	if (sqlite3_str_errcode(key) || sqlite3_str_errcode(detail)) {
		res = -ENOMEM;
		goto out;
	}

	if (cli->fmt == NR_FMT_TABLE) {
		sqlite3_str_appendf(d->x.s, "%c ", c);
		tp_append_ns(d->x.s, ns->has_netns, ns->netns, ns->name);
		if (k == TP_SNAPSHOTS)
			sqlite3_str_appendf(d->x.s, ": %s", sqlite3_str_value(detail));
		else if (c == '~')
			sqlite3_str_appendf(d->x.s, " %s %s: %s", tp_tables[k].object,
					    sqlite3_str_value(key), sqlite3_str_value(detail));
		else
			sqlite3_str_appendf(d->x.s, " %s %s", tp_tables[k].object,
					    sqlite3_str_value(detail));
		tp_text_line(&d->x);
		goto out;
	}
	/* CSV: the first six (tp_diff_write() wrote the header); JSON: all seven. */
	vals[0] = tp_textval(cs);
	vals[1] = tp_textval(tp_tables[k].object);
	vals[2] = *tp_cell(snaps, ns->row, "netns");
	vals[3] = *tp_cell(snaps, ns->row, "netns_name");
	vals[4] = sqlite3_str_length(key) ? tp_textval(sqlite3_str_value(key)) : tp_null;
	vals[5] = tp_textval(sqlite3_str_value(detail));
	vals[6] = tp_textval(tp_tables[k].name);
	if (cli->fmt == NR_FMT_CSV) {
		res = nr_out_row(d->o, vals);
		goto out;
	}
	if (!d->j.nd)
		tp_json_puts(&d->j, d->n ? ",\n" : "\n");
	tp_json_obj(&d->j, 7, head, vals, true);
	tp_json_puts(&d->j, ",\"changed\":[");
	for (int i = 0; i < nchanged; i++) {
		tp_json_puts(&d->j, i ? ",\"" : "\"");
		tp_json_puts(&d->j, d->a->tabs[k].names[changed[i]]);
		tp_json_puts(&d->j, "\"");
	}
	tp_json_puts(&d->j, "],\"old\":");
	if (na) {
		tp_view(d->a, na, k, k == TP_SNAPSHOTS ? na->row : ra, &v);
		tp_json_view(&d->j, &v);
	} else {
		tp_json_puts(&d->j, "null");
	}
	tp_json_puts(&d->j, ",\"new\":");
	if (nb) {
		tp_view(d->b, nb, k, k == TP_SNAPSHOTS ? nb->row : rb, &v);
		tp_json_view(&d->j, &v);
	} else {
		tp_json_puts(&d->j, "null");
	}
	tp_json_puts(&d->j, d->j.nd ? "}\n" : "}");
out:
	d->n++;
	if (res && !d->err)
		d->err = res;
	sqlite3_free(sqlite3_str_finish(key));
	sqlite3_free(sqlite3_str_finish(detail));
}

/* A table's identity columns (tp_tables[].key), for sorting and matching rows. */
struct tp_keys {
	const struct tp_tab *tab;
	int col[8];
	int n;
};

static void tp_keys_init(struct tp_keys *ks, const struct tp_tab *tab, int k)
{
	ks->tab = tab;
	ks->n = 0;
	for (int i = 0; i < 8 && tp_tables[k].key[i]; i++)
		ks->col[ks->n++] = tp_col(tab, tp_tables[k].key[i]);
}

static int tp_keys_cmp(const struct tp_keys *ka, size_t ra, const struct tp_keys *kb, size_t rb)
{
	for (int i = 0; i < ka->n; i++) {
		int c = tp_val_cmp(tp_get(ka->tab, ra, ka->col[i]),
				   tp_get(kb->tab, rb, kb->col[i]));

		if (c)
			return c;
	}
	return 0;
}

/* For qsort_r(): by identity, then as read (duplicates pair up in order). */
static int tp_sort_cmp(const void *x, const void *y, void *ctx)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int c = tp_keys_cmp(ctx, a, ctx, b);

	return c ? c : (a > b) - (a < b);
}

static bool tp_is_key(int k, const char *col)
{
	for (int i = 0; i < 8 && tp_tables[k].key[i]; i++)
		if (strcmp(tp_tables[k].key[i], col) == 0)
			return true;
	return false;
}

/* The columns of row @ra (T1) that differ in row @rb (T2): every column but the identity and
 * snapshot_id, compared by name (partitions of older schemas read as NULL). */
static int tp_changes(const struct tp_topo *a, size_t ra, const struct tp_topo *b, size_t rb,
		      int k, int *ret, int max)
{
	const struct tp_tab *ta = &a->tabs[k], *tb = &b->tabs[k];
	int n = 0;

	for (int c = 0; c < ta->nshown && n < max; c++) {
		const char *col = ta->names[c];

		if (strcmp(col, "snapshot_id") == 0 || tp_is_key(k, col))
			continue;
		if (tp_val_cmp(tp_get(ta, ra, c), tp_cell(tb, rb, col)) != 0)
			ret[n++] = c;
	}
	return n;
}

/* The rows of table @k of namespace @ns, sorted by identity. */
static size_t *tp_sorted(const struct tp_ns *ns, int k, struct tp_keys *ks)
{
	size_t *idx = malloc((ns->n[k] + 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < ns->n[k]; i++)
		idx[i] = ns->first[k] + i;
	qsort_r(idx, ns->n[k], sizeof(*idx), tp_sort_cmp, ks);
	return idx;
}

/* A namespace in both topologies: its rows added, removed and changed, table by table. */
static void tp_diff_ns(struct tp_diff *d, const struct tp_ns *na, const struct tp_ns *nb)
{
	int changed[TP_VIEW_MAX];

	for (int k = TP_LINKS; k < TP_NTABLES && !d->err; k++) {
		struct tp_keys ka, kb;
		size_t *ia, *ib, i = 0, j = 0;

		tp_keys_init(&ka, &d->a->tabs[k], k);
		tp_keys_init(&kb, &d->b->tabs[k], k);
		ia = tp_sorted(na, k, &ka);
		ib = tp_sorted(nb, k, &kb);
		if (!ia || !ib)
			d->err = -ENOMEM;
		while (!d->err && (i < na->n[k] || j < nb->n[k])) {
			int c, n;

			if (i == na->n[k])
				c = 1;
			else if (j == nb->n[k])
				c = -1;
			else
				c = tp_keys_cmp(&ka, ia[i], &kb, ib[j]);
			if (c < 0) {
				tp_emit(d, '-', k, na, ia[i++], NULL, 0, NULL, 0);
			} else if (c > 0) {
				tp_emit(d, '+', k, NULL, 0, nb, ib[j++], NULL, 0);
			} else {
				n = tp_changes(d->a, ia[i], d->b, ib[j], k, changed, TP_VIEW_MAX);
				if (n)
					tp_emit(d, '~', k, na, ia[i], nb, ib[j], changed, n);
				i++;
				j++;
			}
		}
		free(ia);
		free(ib);
	}
}

/* Namespaces by inode, the unknown one first (as SQLite sorts NULL). */
static int tp_ns_cmp(const struct tp_ns *a, const struct tp_ns *b)
{
	if (a->has_netns != b->has_netns)
		return a->has_netns ? 1 : -1;
	return a->netns < b->netns ? -1 : a->netns > b->netns;
}

static int tp_diff_write(struct tp_render *r, const struct tp_args *args, const struct tp_topo *a,
			 const struct tp_topo *b)
{
	static const char *const csv_names[] = { "change", "object", "netns", "netns_name", "key",
						 "detail" };
	struct nr_cli *cli = r->cli;
	struct tp_diff d = { .r = r, .args = args, .a = a, .b = b };
	size_t i = 0, j = 0;
	char buf[160];
	int res;

	if (cli->fmt == NR_FMT_TABLE) {
		if (tp_text_open(&d.x, cli) < 0)
			d.err = -ENOMEM;
	} else if (cli->fmt == NR_FMT_CSV) {
		if (nr_out_new(cli->out, cli->fmt, cli->out_flags, &d.o) < 0)
			d.err = -ENOMEM;
		else
			d.err = nr_out_begin(d.o, 6, csv_names);
	} else {
		if (tp_json_open(&d.j, cli) < 0)
			d.err = -ENOMEM;
		if (!d.j.nd) {
			snprintf(buf, sizeof(buf), "{\"from_ns\":%lld,\"to_ns\":%lld,\"changes\":[",
				 (long long)a->at_ns, (long long)b->at_ns);
			tp_json_puts(&d.j, buf);
		}
	}
	while (!d.err && (i < a->nns || j < b->nns)) {
		const struct tp_ns *na = i < a->nns ? &a->ns[i] : NULL;
		const struct tp_ns *nb = j < b->nns ? &b->ns[j] : NULL;
		int c = !na ? 1 : !nb ? -1 : tp_ns_cmp(na, nb);

		if (c < 0)
			nb = NULL, i++;
		else if (c > 0)
			na = NULL, j++;
		else
			i++, j++;
		if (!tp_match(args, na) && !tp_match(args, nb))
			continue;
		if (!nb) {
			tp_emit(&d, '-', TP_SNAPSHOTS, na, na->row,
				tp_find_gone(b, na->has_netns, na->netns), 0, NULL, 0);
			continue;
		}
		if (!na) {
			tp_emit(&d, '+', TP_SNAPSHOTS, NULL, 0, nb, nb->row, NULL, 0);
			continue;
		}
		{
			const struct tp_tab *sa = &a->tabs[TP_SNAPSHOTS];
			int col = tp_col(sa, "netns_name");

			if (tp_val_cmp(tp_get(sa, na->row, col),
				       tp_cell(&b->tabs[TP_SNAPSHOTS], nb->row, "netns_name")))
				tp_emit(&d, '~', TP_SNAPSHOTS, na, na->row, nb, nb->row, &col, 1);
		}
		tp_diff_ns(&d, na, nb);
	}

	if (cli->fmt == NR_FMT_TABLE) {
		res = tp_text_close(&d.x);
		return d.err && !res ? (d.err == -ENOMEM ? nr_cli_error("out of memory")
							 : nr_cli_output_error(d.err))
				     : res;
	}
	if (cli->fmt == NR_FMT_CSV) {
		res = d.err;
		if (!res)
			res = nr_out_end(d.o);
		nr_out_free(d.o);
		if (res == -ENOMEM)
			return nr_cli_error("out of memory");
		return res < 0 ? nr_cli_output_error(res) : 0;
	}
	if (!d.j.nd)
		tp_json_puts(&d.j, d.n ? "\n]}\n" : "]}\n");
	if (d.err && !d.j.err)
		d.j.err = d.err;
	return tp_json_close(&d.j);
}

/* ---- commands ----------------------------------------------------------------------------- */

/* Without --at, T is --until if given, else now. */
static int64_t tp_default_at(const struct nr_cli *cli, const struct tp_args *a)
{
	if (a->has_at)
		return a->at;
	return cli->until_ns != NR_TIME_MAX ? cli->until_ns : cli->now_ns;
}

/* When a topology shows nothing, says why on stderr: an empty result is not an error. */
static void tp_note(const char *cmd, const struct tp_args *a, const struct tp_topo *t)
{
	char b1[40], b2[40], b3[40], q[80];

	for (size_t i = 0; i < t->nns; i++)
		if (tp_match(a, &t->ns[i]))
			return;
	if (t->lo_ns > t->hi_ns) {
		fprintf(stderr, "netrec: note: %s: nothing read: --until (%s) is before the "
				"snapshots of %s could begin (%s)\n",
			cmd, tp_iso(t->hi_ns, b1, sizeof(b1)), tp_iso(t->at_ns, b2, sizeof(b2)),
			tp_iso(t->lo_ns, b3, sizeof(b3)));
	} else if (t->nns || t->ngone) {
		if (t->nns)
			fprintf(stderr, "netrec: note: %s: no namespace '%s' as of %s\n", cmd,
				nr_cli_printable(a->netns, q, sizeof(q)),
				tp_iso(t->at_ns, b1, sizeof(b1)));
		else
			fprintf(stderr, "netrec: note: %s: every namespace recorded up to %s had "
					"gone away by then\n",
				cmd, tp_iso(t->at_ns, b1, sizeof(b1)));
	} else {
		if (t->lo_ns == NR_TIME_MIN)
			fprintf(stderr, "netrec: note: %s: no snapshot recorded up to %s", cmd,
				tp_iso(t->hi_ns, b1, sizeof(b1)));
		else
			fprintf(stderr, "netrec: note: %s: no snapshot recorded between %s and %s",
				cmd, tp_iso(t->lo_ns, b1, sizeof(b1)),
				tp_iso(t->hi_ns, b2, sizeof(b2)));
		if (t->last_end_ns != NR_TIME_MIN && t->last_end_ns < t->lo_ns)
			fprintf(stderr, "; the store's partitions before then end at %s",
				tp_iso(t->last_end_ns, b3, sizeof(b3)));
		fputc('\n', stderr);
	}
}

/* As nr_cli_done(), counting also the partitions of a catalog closed before (@bad0 of @n0). */
static int tp_done(struct nr_cli *cli, size_t bad0, size_t n0)
{
	if (!n0)
		return nr_cli_done(cli);
	return nr_cli_done_of(bad0 + nr_catalog_bad_count(cli->cat),
			      n0 + nr_catalog_count(cli->cat));
}

static int tp_run_show(struct nr_cli *cli, const struct tp_args *a, bool listening)
{
	struct tp_render r = { .cli = cli };
	struct tp_topo t = { 0 };
	int res;

	tp_window(cli, cli->since_ns, cli->until_ns, tp_default_at(cli, a), &t);
	res = tp_open(cli, t.lo_ns, t.hi_ns);
	if (res == 0)
		res = tp_load(cli, &t);
	if (res == 0) {
		tp_note(a->cmd, a, &t);
		if (listening)
			res = tp_show_listening(&r, &t, a);
		else if (cli->fmt == NR_FMT_TABLE)
			res = tp_show_text(&r, &t, a);
		else if (cli->fmt == NR_FMT_CSV)
			res = tp_show_csv(&r, &t, a);
		else
			res = tp_show_json(&r, &t, a);
	}
	if (res == 0)
		res = nr_cli_done(cli);
	tp_render_done(&r);
	tp_topo_clear(&t);
	return res;
}

static int tp_run_diff(struct nr_cli *cli, const struct tp_args *a)
{
	int64_t since = cli->since_ns, until = cli->until_ns, gap;
	struct tp_render r = { .cli = cli };
	struct tp_topo ta = { 0 }, tb = { 0 };
	size_t bad0 = 0, n0 = 0;
	int res;

	tp_window(cli, since, until, a->t[0], &ta);
	tp_window(cli, since, until, a->t[1], &tb);
	/* Two windows close together are read through one catalog, so that a partition both
	 * can hold is opened (and, if unreadable, warned about) once; far apart, through one
	 * each, so that the partitions between them are not read. */
	if (ta.lo_ns > tb.hi_ns)
		gap = ta.lo_ns - tb.hi_ns;
	else if (tb.lo_ns > ta.hi_ns)
		gap = tb.lo_ns - ta.hi_ns;
	else
		gap = 0;
	if (gap <= 2 * (ta.w_ns > tb.w_ns ? ta.w_ns : tb.w_ns) + 2 * NR_PART_SLACK_NS ||
	    ta.lo_ns > ta.hi_ns || tb.lo_ns > tb.hi_ns) {
		res = tp_open(cli, ta.lo_ns < tb.lo_ns ? ta.lo_ns : tb.lo_ns,
			      ta.hi_ns > tb.hi_ns ? ta.hi_ns : tb.hi_ns);
		if (res == 0)
			res = tp_load(cli, &ta);
		if (res == 0)
			res = tp_load(cli, &tb);
	} else {
		res = tp_open(cli, ta.lo_ns, ta.hi_ns);
		if (res == 0)
			res = tp_load(cli, &ta);
		if (res == 0) {
			bad0 = nr_catalog_bad_count(cli->cat);
			n0 = nr_catalog_count(cli->cat);
			nr_catalog_free(cli->cat);
			cli->cat = NULL;
			res = tp_open(cli, tb.lo_ns, tb.hi_ns);
		}
		if (res == 0)
			res = tp_load(cli, &tb);
	}
	if (res == 0) {
		/* A side with nothing recorded would make everything look added or removed: say
		 * so (an unfiltered note; a namespace missing on one side is a change). */
		struct tp_args all = *a;

		all.netns = NULL;
		tp_note("topology diff", &all, &ta);
		tp_note("topology diff", &all, &tb);
		res = tp_diff_write(&r, a, &ta, &tb);
	}
	if (res == 0)
		res = tp_done(cli, bad0, n0);
	tp_render_done(&r);
	tp_topo_clear(&ta);
	tp_topo_clear(&tb);
	return res;
}

/* "--at T", "--at=T" and the like: the value, or NULL when missing. */
static const char *tp_opt(const char *opt, int argc, char **argv, int *i)
{
	size_t n = strlen(opt);
	const char *a = argv[*i];

	if (strncmp(a, opt, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] == '\0')
		return *i + 1 < argc ? argv[++*i] : "";
	return NULL;
}

static bool tp_is_opt(const char *a, const char *opt)
{
	size_t n = strlen(opt);

	return strncmp(a, opt, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

static int tp_parse(struct nr_cli *cli, struct tp_args *a, int argc, char **argv, int first)
{
	const char *opts = a->diff ? "--netns NAME|INODE" : "--at TIME, --netns NAME|INODE";
	char q[80], b1[40];

	for (int i = first; i < argc; i++) {
		const char *arg = argv[i], *v;

		if (!a->diff && tp_is_opt(arg, "--at")) {
			v = tp_opt("--at", argc, argv, &i);
			if (!*v)
				return nr_cli_usage_error("%s: --at needs a time, e.g. --at 03:14",
							  a->cmd);
			if (nr_time_parse(v, cli->now_ns, &a->at) < 0)
				return nr_cli_usage_error("%s: bad time for --at: '%s'", a->cmd,
							  nr_cli_printable(v, q, sizeof(q)));
			a->has_at = true;
		} else if (tp_is_opt(arg, "--netns")) {
			v = tp_opt("--netns", argc, argv, &i);
			if (!*v)
				return nr_cli_usage_error(
					"%s: --netns needs a namespace name or inode", a->cmd);
			a->netns = v;
		} else if (arg[0] == '-') {
			return nr_cli_usage_error("%s: unknown option '%s' (options: %s)", a->cmd,
						  nr_cli_printable(arg, q, sizeof(q)), opts);
		} else if (a->diff && a->nt < 2) {
			if (nr_time_parse(arg, cli->now_ns, &a->t[a->nt]) < 0)
				return nr_cli_usage_error(
					"topology diff: bad time '%s' (a time with blanks is one "
					"argument: '2h ago')",
					nr_cli_printable(arg, q, sizeof(q)));
			a->nt++;
		} else if (a->diff) {
			return nr_cli_usage_error(
				"topology diff takes two times, got a third: '%s'",
				nr_cli_printable(arg, q, sizeof(q)));
		} else {
			return nr_cli_usage_error("%s: unexpected argument '%s' (options: %s%s)",
						  a->cmd, nr_cli_printable(arg, q, sizeof(q)), opts,
						  strcmp(a->cmd, "topology") == 0
							  ? "; or topology diff T1 T2" : "");
		}
	}
	if (a->diff && a->nt < 2)
		return nr_cli_usage_error("topology diff needs two times: topology diff T1 T2 "
					  "[--netns NAME|INODE], e.g. topology diff 03:00 03:15");
	for (int i = 0; i < (a->diff ? 2 : 1); i++) {
		int64_t at = a->diff ? a->t[i] : tp_default_at(cli, a);

		if (at < cli->since_ns)
			return nr_cli_usage_error("%s: %s is before --since: its snapshots are not "
						  "in the range",
						  a->cmd, tp_iso(at, b1, sizeof(b1)));
	}
	return 0;
}

int nr_cmd_topology(struct nr_cli *cli, int argc, char **argv)
{
	struct tp_args a = { .cmd = "topology" };
	int r;

	if (argc > 1 && strcmp(argv[1], "diff") == 0) {
		a.cmd = "topology diff";
		a.diff = true;
		r = tp_parse(cli, &a, argc, argv, 2);
		return r ? r : tp_run_diff(cli, &a);
	}
	r = tp_parse(cli, &a, argc, argv, 1);
	return r ? r : tp_run_show(cli, &a, false);
}

int nr_cmd_listening(struct nr_cli *cli, int argc, char **argv)
{
	struct tp_args a = { .cmd = "listening" };
	int r = tp_parse(cli, &a, argc, argv, 1);

	return r ? r : tp_run_show(cli, &a, true);
}
