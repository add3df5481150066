// SPDX-License-Identifier: MIT
/*
 * netrec sockets: the connections (sockets) with rows in the time range, one line each, oldest
 * first. netrec retrans and netrec rtt: the N connections with the most retransmissions, and
 * with the longest round-trip time. All three are one SQL query over the catalog's sockets
 * table, selected with the filter shorthand; none changes anything.
 *
 * The store holds observations, not connections: an 'open' row when the recorder first saw a
 * socket, 'sample' rows when its counters or state changed, a 'close' row when it went away.
 * A connection is the rows of one socket: (netns, cookie), or, for the rare rows without a
 * cookie, (netns, proto, src, sport, dst, dport). Cookies start again at every boot and the
 * initial namespace's inode is the same in every boot, and a tuple comes back when a port is
 * reused, so rows of a key after its close row start a new connection (as conntrack ids in
 * netrec nat). A socket whose close row was never written (a crash) can still merge with a
 * later one of the same key: narrow the range to one boot.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SK_MAX_N 1000000000
#define SK_MAX_N_TEXT "1000000000"

/*
 * Each row's place in its connection's history, as fixed-width text that sorts like the row:
 * by time, a close row after any other row of the same instant, then as stored (the catalog's
 * rowid grows with the partition and, within one, with the insertion). 41 characters.
 */
#define SK_ORDER "printf('%020d%d%020d', ts_ns, kind = 'close', rowid)"
#define SK_ORDER_LEN "41"

/*
 * A connection's latest known value of a column: the value of its latest row in which the
 * column is not NULL (NULL if it is NULL in every row). max() over the row's place with the
 * value appended does it in one aggregate pass: the place decides, the value rides along.
 * Counters only grow, so for them this is also the largest value, and for a connection whose
 * last row has them (every TCP row does), that row's value.
 */
#define LAST(x) "substr(max(o || " x "), " SK_ORDER_LEN " + 1)"
#define LAST_INT(x) "CAST(" LAST(x) " AS INTEGER)"

/* A connection's identity; k_* are NULL when there is a cookie. */
#define SK_KEY "netns, cookie, k_proto, k_src, k_sport, k_dst, k_dport"

/*
 * Rows of the range that match @where, grouped into connections (see the top). The filter is
 * applied to the sockets table itself, so that the catalog pushes its comparisons into each
 * partition: "host A" is src = A OR dst = A, which SQLite runs as one lookup per address index
 * (sockets_src, sockets_dst).
 */
static void append_connections(sqlite3_str *s, const char *where)
{
	sqlite3_str_appendall(
		s,
		"WITH r AS (SELECT rowid AS rid, ts_ns, kind = 'close' AS is_close, netns, cookie,"
		" CASE WHEN cookie IS NULL THEN proto END AS k_proto,"
		" CASE WHEN cookie IS NULL THEN src END AS k_src,"
		" CASE WHEN cookie IS NULL THEN sport END AS k_sport,"
		" CASE WHEN cookie IS NULL THEN dst END AS k_dst,"
		" CASE WHEN cookie IS NULL THEN dport END AS k_dport,"
		" " SK_ORDER " AS o,"
		" proto, state, src, sport, dst, dport, direction, uid, pid, comm, bytes_sent,"
		" bytes_received, segs_out, segs_in, retrans, rtt_us, rttvar_us FROM sockets WHERE ");
	sqlite3_str_appendall(s, where);
	sqlite3_str_appendall(
		s,
		"), g AS (SELECT *, coalesce(sum(is_close) OVER (PARTITION BY " SK_KEY
		" ORDER BY ts_ns, is_close, rid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)"
		" AS gen FROM r),"
		" conn AS (SELECT netns, cookie, min(ts_ns) AS first_ns, max(ts_ns) AS last_ns,"
		" max(is_close) AS closed, min(o) AS first_o, count(*) AS nrows,"
		" " LAST_INT("proto") " AS proto, " LAST("state") " AS state,"
		" " LAST("src") " AS src, " LAST_INT("sport") " AS sport,"
		" " LAST("dst") " AS dst, " LAST_INT("dport") " AS dport,"
		" " LAST("direction") " AS direction, " LAST_INT("uid") " AS uid,"
		" " LAST_INT("pid") " AS pid, " LAST("comm") " AS comm,"
		" " LAST_INT("bytes_sent") " AS bytes_sent,"
		" " LAST_INT("bytes_received") " AS bytes_received,"
		" " LAST_INT("segs_out") " AS segs_out, " LAST_INT("segs_in") " AS segs_in,"
		" " LAST_INT("retrans") " AS retrans, " LAST_INT("rtt_us") " AS rtt_us,"
		" " LAST_INT("rttvar_us") " AS rttvar_us,"
		" max(retrans) AS max_retrans, max(rtt_us) AS max_rtt_us"
		" FROM g GROUP BY " SK_KEY ", gen) ");
}

/* The three reports: which connections, in which order, and what retrans shows. */
static const struct sk_report {
	const char *cmd;
	bool ranked; /* a rank column and -n */
	const char *which; /* SQL condition on conn, or NULL for all */
	const char *order;
	const char *retrans; /* the retrans column: the latest, or the ranked maximum */
} sk_reports[] = {
	{ "sockets", false, NULL, "first_ns, first_o", "retrans" },
	{ "retrans", true, "max_retrans > 0", "max_retrans DESC, first_ns, first_o", "max_retrans" },
	{ "rtt", true, "max_rtt_us IS NOT NULL", "max_rtt_us DESC, first_ns, first_o", "retrans" },
};

#define SK_RTT (&sk_reports[2])

/* Milliseconds to 0.1 ms from a column of microseconds, for tables. */
#define SQL_MS(us) "round(" us " / 1000.0, 1)"

static char *sk_sql(const struct nr_cli *cli, const struct sk_report *rep, const char *where,
		    unsigned long n)
{
	bool h = nr_cli_human_times(cli);
	sqlite3_str *s = sqlite3_str_new(NULL);

	append_connections(s, where);
	sqlite3_str_appendall(s, "SELECT ");
	if (rep->ranked)
		sqlite3_str_appendf(s, "row_number() OVER (ORDER BY %s) AS \"rank\", ", rep->order);
	if (nr_cli_is_table(cli)) {
		sqlite3_str_appendf(
			s,
			"%s, %s, CASE WHEN closed THEN 'yes' ELSE 'no' END AS closed, netns,"
			" proto_name(proto) AS proto, state, " NR_SQL_ENDPOINT("src", "sport")
			" AS local, " NR_SQL_ENDPOINT("dst", "dport") " AS remote, direction, pid, comm,"
			" bytes_sent AS sent, bytes_received AS received, %s AS retrans, ",
			h ? "ts_iso(first_ns) AS \"first\"" : "first_ns",
			h ? "ts_iso(last_ns) AS \"last\"" : "last_ns", rep->retrans);
		if (rep == SK_RTT)
			sqlite3_str_appendall(s, SQL_MS("max_rtt_us") " AS max_rtt_ms, " SQL_MS("rtt_us")
					      " AS rtt_ms, " SQL_MS("rttvar_us") " AS rttvar_ms");
		else
			sqlite3_str_appendall(s, SQL_MS("rtt_us") " AS rtt_ms");
	} else {
		sqlite3_str_appendf(
			s,
			"first_ns, last_ns, ts_iso(first_ns) AS \"first\", ts_iso(last_ns) AS \"last\","
			" closed, netns, cookie, proto, state, src, sport, dst, dport, direction, uid,"
			" pid, comm, bytes_sent, bytes_received, segs_out, segs_in, %s AS retrans, %s"
			"rtt_us, rttvar_us, nrows AS \"rows\"",
			rep->retrans, rep == SK_RTT ? "max_rtt_us, " : "");
	}
	sqlite3_str_appendall(s, " FROM conn");
	if (rep->which)
		sqlite3_str_appendf(s, " WHERE %s", rep->which);
	sqlite3_str_appendf(s, " ORDER BY %s", rep->order);
	if (rep->ranked)
		sqlite3_str_appendf(s, " LIMIT %lu", n);
	return sqlite3_str_finish(s);
}

/*
 * "-n N", "-nN" or "-n=N" for ranked reports, before the filter or after it (a filter word
 * never starts with '-'); any other word starting with '-' before the filter is an unknown
 * option. The filter words are collected in @ret_words (argv's pointers). Returns 0 or an exit
 * status, with the error printed.
 */
static int sk_parse(const struct sk_report *rep, int argc, char **argv, unsigned long *ret_n,
		    char **ret_words, int *ret_nwords)
{
	unsigned long n = 10;
	int nwords = 0;
	char q[80];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (rep->ranked && strncmp(a, "-n", 2) == 0) {
			v = a[2] == '\0' ? (i + 1 < argc ? argv[++i] : NULL) : a + 2 + (a[2] == '=');
			if (!v)
				return nr_cli_usage_error("%s: -n needs a number from 1 to " SK_MAX_N_TEXT,
							  rep->cmd);
			if (nr_cli_parse_count(v, SK_MAX_N, &n) < 0)
				return nr_cli_usage_error("%s: -n needs a number from 1 to " SK_MAX_N_TEXT
							  ", got '%s'",
							  rep->cmd, nr_cli_printable(v, q, sizeof(q)));
		} else if (a[0] == '-' && nwords == 0) {
			return nr_cli_usage_error("%s: unknown option '%s' (%s)", rep->cmd,
						  nr_cli_printable(a, q, sizeof(q)),
						  rep->ranked ? "options: -n; then the filter"
							      : "it takes a filter only");
		} else {
			ret_words[nwords++] = argv[i];
		}
	}
	*ret_n = n;
	*ret_nwords = nwords;
	return 0;
}

static int sk_run(struct nr_cli *cli, const struct sk_report *rep, int argc, char **argv)
{
	struct nr_sql_expr e = { 0 };
	unsigned long n = 0;
	char **words, *sql;
	int nwords = 0, r;

	words = calloc((size_t)argc + 1, sizeof(*words));
	if (!words)
		return nr_cli_error("out of memory");
	r = sk_parse(rep, argc, argv, &n, words, &nwords);
	if (r == 0)
		r = nr_cli_filter(rep->cmd, "sockets", nwords, words, &e);
	free(words);
	if (r)
		return r;
	sql = sk_sql(cli, rep, e.sql, n);
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

int nr_cmd_sockets(struct nr_cli *cli, int argc, char **argv)
{
	return sk_run(cli, &sk_reports[0], argc, argv);
}

int nr_cmd_retrans(struct nr_cli *cli, int argc, char **argv)
{
	return sk_run(cli, &sk_reports[1], argc, argv);
}

int nr_cmd_rtt(struct nr_cli *cli, int argc, char **argv)
{
	return sk_run(cli, SK_RTT, argc, argv);
}

char *nr_sockets_report_sql(const struct nr_cli *cli, const char *cmd, const char *where,
			    unsigned long n)
{
	for (size_t i = 0; i < sizeof(sk_reports) / sizeof(sk_reports[0]); i++)
		if (strcmp(cmd, sk_reports[i].cmd) == 0)
			return sk_sql(cli, &sk_reports[i], where, n);
	return NULL;
}
