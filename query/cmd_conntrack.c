// SPDX-License-Identifier: MIT
/*
 * netrec conntrack: the conntrack events of the time range, oldest first, selected with the
 * filter shorthand. netrec nat: the conntrack entries an address (and port) took part in, in
 * any of the four tuple positions, each with its lifetime, its kind of NAT and the endpoint on
 * the other side of the translation ("who was behind 192.0.2.1:40000 at 03:14?").
 * Both are SQL over the catalog's conntrack table; neither changes anything.
 *
 * An entry is the rows sharing (netns, ct_id, proto, original tuple): the kernel reuses ids,
 * so an id alone would merge unrelated connections. Rows of the same key after a destroy row
 * start a new entry, because the kernel can also hand out the same id again for the same
 * tuple (the id is derived from the entry's address, and freed memory is reused).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "nrtime.h"

/* ---- SQL fragments shared by both reports ---------------------------------------------- */

/* Endpoints: NR_SQL_ENDPOINT (cli.h). */
#define SQL_EP(a, p) NR_SQL_ENDPOINT(a, p)

/* The same, with an ICMP echo id in the port's place: "10.0.0.5 id 1234". */
#define SQL_EP_ID(a, p, id)                                                                   \
	"(CASE WHEN " p " IS NULL AND " id " IS NOT NULL THEN coalesce(" a ", '?') || ' id ' || " \
	id " ELSE " SQL_EP(a, p) " END)"

/* Tuples: "10.0.0.5:43210 -> 93.184.216.34:443", "10.0.0.5 -> 8.8.8.8 type 8/0 id 1234".
 * The store keeps the ICMP type and code of the original tuple only. */
#define SQL_ORIG                                                                              \
	"(" SQL_EP("orig_src", "orig_sport") " || ' -> ' || " SQL_EP("orig_dst", "orig_dport")  \
	" || coalesce(' type ' || icmp_type || '/' || icmp_code, '')"                            \
	" || coalesce(' id ' || icmp_id, ''))"
#define SQL_REPLY                                                                             \
	"(" SQL_EP("reply_src", "reply_sport") " || ' -> ' || "                                 \
	SQL_EP("reply_dst", "reply_dport") " || coalesce(' id ' || reply_icmp_id, ''))"

/*
 * The IPS_* status bits worth reading at night, as conntrack(8) names them. CONFIRMED and the
 * *_NAT_DONE bits are left out (always set on a stored entry, or implied by SNAT/DNAT), and a
 * missing SEEN_REPLY is shown as UNREPLIED. Status 0 means the recorder had none.
 */
#define SQL_FLAGS                                                                             \
	"substr(CASE WHEN status & 0x1 THEN ',EXPECTED' ELSE '' END"                              \
	" || CASE WHEN status <> 0 AND (status & 0x2) = 0 THEN ',UNREPLIED' ELSE '' END"          \
	" || CASE WHEN status & 0x4 THEN ',ASSURED' ELSE '' END"                                  \
	" || CASE WHEN status & 0x10 THEN ',SNAT' ELSE '' END"                                    \
	" || CASE WHEN status & 0x20 THEN ',DNAT' ELSE '' END"                                    \
	" || CASE WHEN status & 0x200 THEN ',DYING' ELSE '' END"                                  \
	" || CASE WHEN status & 0x400 THEN ',FIXED_TIMEOUT' ELSE '' END"                          \
	" || CASE WHEN status & 0x2000 THEN ',HELPER' ELSE '' END"                                \
	" || CASE WHEN status & 0x4000 THEN ',OFFLOAD' ELSE '' END"                               \
	" || CASE WHEN status & 0x8000 THEN ',HW_OFFLOAD' ELSE '' END, 2)"

/* ---- conntrack [FILTER] ----------------------------------------------------------------- */

/* CSV and JSON: every column as stored, plus the time in ISO 8601. */
static const char ct_raw_cols[] =
	"ts_ns, ts_iso(ts_ns) AS time, event, netns, ct_id, family, proto, orig_src, orig_dst, "
	"orig_sport, orig_dport, reply_src, reply_dst, reply_sport, reply_dport, status, "
	"tcp_state, mark, zone, orig_packets, orig_bytes, reply_packets, reply_bytes, start_ns, "
	"stop_ns, icmp_type, icmp_code, icmp_id, reply_icmp_id";

/* Tables: one line per event, tuples and flags spelled out, times in ISO 8601 unless --raw. */
static char *ct_table_sql(const struct nr_cli *cli, const char *where)
{
	bool h = nr_cli_human_times(cli);
	sqlite3_str *s = sqlite3_str_new(NULL);

	sqlite3_str_appendf(s, "SELECT %s, event, netns, ct_id, proto_name(proto) AS proto, ",
			    h ? "ts_iso(ts_ns) AS time" : "ts_ns");
	sqlite3_str_appendall(s, SQL_ORIG " AS original, " SQL_REPLY " AS reply, tcp_state, "
				 SQL_FLAGS " AS flags, mark, orig_packets AS orig_pkts, orig_bytes, "
				 "reply_packets AS reply_pkts, reply_bytes, ");
	sqlite3_str_appendf(s, "%s, %s FROM conntrack WHERE %s ORDER BY ts_ns, rowid",
			    h ? "ts_iso(start_ns) AS start" : "start_ns",
			    h ? "ts_iso(stop_ns) AS stop" : "stop_ns", where);
	return sqlite3_str_finish(s);
}

int nr_cmd_conntrack(struct nr_cli *cli, int argc, char **argv)
{
	struct nr_sql_expr e = { 0 };
	char *sql = NULL;
	int r;

	r = nr_cli_filter("conntrack", "conntrack", argc - 1, argv + 1, &e);
	if (r)
		return r;
	if (nr_cli_is_table(cli))
		sql = ct_table_sql(cli, e.sql);
	else
		sql = sqlite3_mprintf("SELECT %s FROM conntrack WHERE %s ORDER BY ts_ns, rowid",
				      ct_raw_cols, e.sql);
	if (!sql) {
		r = nr_cli_error("out of memory");
		goto out;
	}
	r = nr_cli_open_catalog(cli);
	if (r == 0)
		r = nr_cli_query(cli, NULL, sql, e.params, e.nparams);
	if (r == 0)
		r = nr_cli_done(cli);
out:
	sqlite3_free(sql);
	nr_sql_expr_clear(&e);
	return r;
}

/* ---- nat ADDR[:PORT] [--at TIME] ---------------------------------------------------------- */

/* Decimal 0..65535, at most 5 digits: the filter's rule for ports. */
static int parse_port(const char *s, int *ret)
{
	int v = 0;
	size_t i;

	if (!s[0] || strlen(s) > 5)
		return -ERANGE;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -ERANGE;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return -ERANGE;
	*ret = v;
	return 0;
}

/*
 * "192.0.2.1", "192.0.2.1:40000", "2001:db8::1" or "[2001:db8::1]:443" into the canonical
 * address text (as the store holds it) and the port, -1 for none. A bare IPv6 address never
 * has a port: "2001:db8::1:80" is an address. Returns 0, -EINVAL for a bad address, -ERANGE for
 * a bad port; writes the results only on success.
 */
static int parse_endpoint(const char *s, char *ret_addr, size_t len, int *ret_port)
{
	char buf[NR_ADDR_STRLEN + 1];
	const char *addr = s, *port = NULL;
	struct nr_addr a;
	size_t alen;
	int p = -1;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return -EINVAL;
		addr = s + 1;
		alen = (size_t)(close - addr);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return -EINVAL;
	} else {
		const char *colon = strchr(s, ':');

		alen = strlen(s);
		if (colon && !strchr(colon + 1, ':')) {
			alen = (size_t)(colon - s);
			port = colon + 1;
		}
	}
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, addr, alen);
	buf[alen] = '\0';
	if (nr_addr_parse(buf, &a) < 0)
		return -EINVAL;
	if (port && parse_port(port, &p) < 0)
		return -ERANGE;
	if (nr_addr_format(&a, buf, sizeof(buf)) < 0 || strlen(buf) >= len)
		return -EINVAL;
	memcpy(ret_addr, buf, strlen(buf) + 1);
	*ret_port = p;
	return 0;
}

/* The columns every step of the lookup carries. */
#define NAT_COLS                                                                              \
	"ts_ns, event, netns, ct_id, proto, orig_src, orig_dst, orig_sport, orig_dport, "       \
	"reply_src, reply_dst, reply_sport, reply_dport, status, start_ns, stop_ns, icmp_type, " \
	"icmp_code, icmp_id, reply_icmp_id"

/* What identifies an entry (with the generation: destroy rows seen before, see the top). */
#define NAT_KEY "netns, ct_id, proto, orig_src, orig_sport, orig_dst, orig_dport, icmp_id"

/* The four tuple positions, the bit each sets in `mask`, and the port that goes with the
 * address there (the ICMP echo id for ICMP, which NAT rewrites like a port). */
static const struct {
	const char *addr, *port;
	int bit;
} nat_positions[] = {
	{ "orig_src", "coalesce(orig_sport, icmp_id)", 1 },
	{ "orig_dst", "coalesce(orig_dport, icmp_id)", 2 },
	{ "reply_src", "coalesce(reply_sport, reply_icmp_id)", 4 },
	{ "reply_dst", "coalesce(reply_dport, reply_icmp_id)", 8 },
};

/* Source NAT: the inside endpoint is the original source, the translated one the reply's
 * destination. Destination NAT: the real server is the reply's source, the public endpoint the
 * original destination. */
#define SNAT_IN SQL_EP_ID("orig_src", "orig_sport", "icmp_id")
#define SNAT_OUT SQL_EP_ID("reply_dst", "reply_dport", "reply_icmp_id")
#define DNAT_IN SQL_EP_ID("reply_src", "reply_sport", "reply_icmp_id")
#define DNAT_OUT SQL_EP_ID("orig_dst", "orig_dport", "icmp_id")

/*
 * The lookup. Each tuple position is its own equality on an indexed column, so the catalog
 * pushes it into every partition's SELECT (an OR of the four could not be pushed down); the
 * branches are joined with UNION ALL and a row found in two positions (an entry without NAT
 * has its address twice) is one row again by its rowid, which the catalog keeps unique and
 * stable. Parameters: ?1 the address, ?2 the port (@has_port), then T (@has_at).
 */
static char *nat_sql(const struct nr_cli *cli, bool has_port, bool has_at)
{
	bool h = nr_cli_human_times(cli);
	sqlite3_str *s = sqlite3_str_new(NULL);
	int at = has_port ? 3 : 2;

	sqlite3_str_appendall(s, "WITH hit AS (");
	for (size_t i = 0; i < sizeof(nat_positions) / sizeof(nat_positions[0]); i++) {
		if (i)
			sqlite3_str_appendall(s, " UNION ALL ");
		sqlite3_str_appendf(s, "SELECT rowid AS rid, %d AS pos, " NAT_COLS
				    " FROM conntrack WHERE %s = ?1",
				    nat_positions[i].bit, nat_positions[i].addr);
		if (has_port)
			sqlite3_str_appendf(s, " AND %s = ?2", nat_positions[i].port);
	}
	sqlite3_str_appendall(
		s,
		"), hit_row AS (SELECT rid, sum(pos) AS pos, " NAT_COLS " FROM hit GROUP BY rid),"
		" keyed AS (SELECT *, coalesce(sum(event = 'destroy') OVER (PARTITION BY " NAT_KEY
		" ORDER BY ts_ns, rid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS gen"
		" FROM hit_row),"
		" entry AS (SELECT " NAT_KEY ", gen,"
		" max(icmp_type) AS icmp_type, max(icmp_code) AS icmp_code,"
		" max(reply_src) AS reply_src, max(reply_dst) AS reply_dst,"
		" max(reply_sport) AS reply_sport, max(reply_dport) AS reply_dport,"
		" max(reply_icmp_id) AS reply_icmp_id,"
		" min(coalesce(start_ns, ts_ns)) AS start_ns,"
		" max(CASE WHEN event = 'destroy' THEN coalesce(stop_ns, ts_ns) END) AS end_ns,"
		" max(ts_ns) AS last_seen_ns, count(*) AS events,"
		" max(pos & 1) | max(pos & 2) | max(pos & 4) | max(pos & 8) AS mask,"
		" max(CASE WHEN status <> 0 THEN (status & 0x10) <> 0 END) AS snat_bit,"
		" max(CASE WHEN status <> 0 THEN (status & 0x20) <> 0 END) AS dnat_bit"
		" FROM keyed GROUP BY " NAT_KEY ", gen),"
		/* Without status bits, the tuples tell: a reply that does not go back to the
		 * original source (address, port or echo id) is source NAT; one that does not
		 * come from the original destination is destination NAT. */
		" kind AS (SELECT *,"
		" coalesce(snat_bit, coalesce(reply_dst <> orig_src OR reply_dport <> orig_sport"
		" OR reply_icmp_id <> icmp_id, 0)) AS snat,"
		" coalesce(dnat_bit, coalesce(reply_src <> orig_dst OR reply_sport <> orig_dport, 0))"
		" AS dnat FROM entry),"
		/* With both kinds, show the pair on the side the address was found on. */
		" shown AS (SELECT *, snat AND ((NOT dnat) OR (mask & 9) <> 0) AS show_s,"
		" dnat AND ((NOT snat) OR (mask & 6) <> 0) AS show_d FROM kind),"
		" report AS (SELECT *,"
		" CASE WHEN snat AND dnat THEN 'both' WHEN snat THEN 'snat' WHEN dnat THEN 'dnat'"
		" ELSE 'none' END AS nat,"
		" substr(CASE WHEN mask & 1 THEN ',orig_src' ELSE '' END"
		" || CASE WHEN mask & 2 THEN ',orig_dst' ELSE '' END"
		" || CASE WHEN mask & 4 THEN ',reply_src' ELSE '' END"
		" || CASE WHEN mask & 8 THEN ',reply_dst' ELSE '' END, 2) AS matched,"
		" CASE WHEN show_s AND show_d THEN 'src ' || " SNAT_IN " || ', dst ' || " DNAT_IN
		" WHEN show_s THEN " SNAT_IN " WHEN show_d THEN " DNAT_IN " END AS inside,"
		" CASE WHEN show_s AND show_d THEN 'src ' || " SNAT_OUT " || ', dst ' || " DNAT_OUT
		" WHEN show_s THEN " SNAT_OUT " WHEN show_d THEN " DNAT_OUT " END AS translated"
		" FROM shown) ");
	if (!nr_cli_is_table(cli))
		sqlite3_str_appendall(
			s, "SELECT start_ns, ts_iso(start_ns) AS start, end_ns,"
			   " ts_iso(end_ns) AS \"end\","
			   " last_seen_ns, netns, ct_id, proto, nat, matched, inside, translated,"
			   " orig_src, orig_sport, orig_dst, orig_dport, reply_src, reply_sport,"
			   " reply_dst, reply_dport, icmp_type, icmp_code, icmp_id, reply_icmp_id,"
			   " events FROM report");
	else
		sqlite3_str_appendf(
			s, "SELECT %s, %s, netns, proto_name(proto) AS proto, nat, matched, inside,"
			   " translated, " SQL_ORIG " AS original, " SQL_REPLY " AS reply, ct_id, %s"
			   " FROM report",
			h ? "ts_iso(start_ns) AS start" : "start_ns",
			h ? "coalesce(ts_iso(end_ns), 'open') AS \"end\"" : "end_ns",
			h ? "ts_iso(last_seen_ns) AS last_seen" : "last_seen_ns");
	if (has_at)
		sqlite3_str_appendf(s, " WHERE start_ns <= ?%d AND (end_ns IS NULL OR end_ns >= ?%d)",
				    at, at);
	sqlite3_str_appendall(s, " ORDER BY start_ns, netns, ct_id");
	return sqlite3_str_finish(s);
}

int nr_cmd_nat(struct nr_cli *cli, int argc, char **argv)
{
	struct nr_sql_param params[3];
	char addr[NR_ADDR_STRLEN], q[80], q2[80], *sql;
	const char *ep = NULL;
	bool has_at = false;
	size_t np = 0;
	int64_t at = 0;
	int port = -1, r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *t;

		if (strcmp(a, "--at") == 0) {
			if (++i == argc)
				return nr_cli_usage_error("nat: --at needs a time, e.g. --at 03:14");
			t = argv[i];
		} else if (strncmp(a, "--at=", 5) == 0) {
			t = a + 5;
		} else if (a[0] == '-') {
			return nr_cli_usage_error("nat: unknown option '%s' (only --at TIME)",
						  nr_cli_printable(a, q, sizeof(q)));
		} else if (ep) {
			return nr_cli_usage_error("nat takes one address, got '%s' and '%s'",
						  nr_cli_printable(ep, q, sizeof(q)),
						  nr_cli_printable(a, q2, sizeof(q2)));
		} else {
			ep = a;
			continue;
		}
		if (nr_time_parse(t, cli->now_ns, &at) < 0)
			return nr_cli_usage_error("nat: bad time for --at: '%s'",
						  nr_cli_printable(t, q, sizeof(q)));
		has_at = true;
	}
	if (!ep)
		return nr_cli_usage_error("nat needs an address: nat ADDR[:PORT] [--at TIME], e.g. "
					  "nat 192.0.2.1:40000 --at 03:14");
	r = parse_endpoint(ep, addr, sizeof(addr), &port);
	if (r == -ERANGE)
		return nr_cli_usage_error("nat: bad port in '%s': expected a port from 0 to 65535 "
					  "after the address",
					  nr_cli_printable(ep, q, sizeof(q)));
	if (r < 0)
		return nr_cli_usage_error("nat: bad address '%s': expected an IPv4 or IPv6 address, "
					  "ADDR:PORT or [IPv6]:PORT",
					  nr_cli_printable(ep, q, sizeof(q)));

	params[np++] = (struct nr_sql_param){ .is_text = 1, .s = addr };
	if (port >= 0)
		params[np++] = (struct nr_sql_param){ .i = port };
	if (has_at)
		params[np++] = (struct nr_sql_param){ .i = at };
	sql = nat_sql(cli, port >= 0, has_at);
	if (!sql)
		return nr_cli_error("out of memory");
	r = nr_cli_open_catalog(cli);
	if (r == 0)
		r = nr_cli_query(cli, NULL, sql, params, np);
	if (r == 0)
		r = nr_cli_done(cli);
	sqlite3_free(sql);
	return r;
}
