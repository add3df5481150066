// SPDX-License-Identifier: MIT
/*
 * query/filter: the exact SQL text and parameters for many expressions, every error message,
 * hostile input (deep nesting, control bytes, long words, random word salad), and the
 * independent truth: compiled filters run against a real SQLite table with in_cidr().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "filter.h"
#include "sqlfuncs.h"

static const struct nr_filter_cols flows_cols = {
	.table = "flows",
	.src = { "src" },
	.dst = { "dst" },
	.sport = { "sport" },
	.dport = { "dport" },
	.proto = "proto",
	.iface = "ifname",
	.dir = "direction",
};

static const struct nr_filter_cols conntrack_cols = {
	.table = "conntrack",
	.src = { "orig_src", "reply_src" },
	.dst = { "orig_dst", "reply_dst" },
	.sport = { "orig_sport", "reply_sport" },
	.dport = { "orig_dport", "reply_dport" },
	.proto = "proto",
	.event = "event",
};

static const struct nr_filter_cols sockets_cols = {
	.table = "sockets",
	.src = { "src" },
	.dst = { "dst" },
	.sport = { "sport" },
	.dport = { "dport" },
	.proto = "proto",
	.sockdir = "direction",
	.pid = "pid",
	.comm = "comm",
};

static const struct nr_filter_cols listeners_cols = {
	.table = "listeners",
	.src = { "address" },
	.sport = { "port" },
	.proto = "proto",
};

static const struct nr_filter_cols gaps_cols = { .table = "gaps" };

/* Parses one string (the shell-quoted form); returns the filter or fails the test. */
static struct nr_filter *parse1(const char *s)
{
	char *argv[] = { (char *)s };
	struct nr_filter *f = NULL;
	char err[256] = "";
	int r;

	r = nr_filter_parse(1, argv, &f, err, sizeof(err));
	if (r < 0)
		fail_msg("parse '%s': %d %s", s, r, err);
	assert_non_null(f);
	return f;
}

/* "'10.0.0.1', 53": the params as one malloc'd string, for exact comparison. */
static char *params_text(const struct nr_sql_expr *e)
{
	char *buf = NULL;
	size_t i, len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (i = 0; i < e->nparams; i++) {
		if (e->params[i].is_text)
			fprintf(f, "%s'%s'", i ? ", " : "", e->params[i].s);
		else
			fprintf(f, "%s%lld", i ? ", " : "", (long long)e->params[i].i);
	}
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void check_sql_cols(const struct nr_filter_cols *cols, const char *filter,
			   const char *want_sql, const char *want_params)
{
	struct nr_filter *f = parse1(filter);
	struct nr_sql_expr e = { 0 };
	char err[256] = "", *params;
	int r;

	r = nr_filter_compile(f, cols, &e, err, sizeof(err));
	if (r < 0)
		fail_msg("compile '%s': %d %s", filter, r, err);
	if (strcmp(e.sql, want_sql) != 0)
		fail_msg("'%s':\n got  %s\n want %s", filter, e.sql, want_sql);
	params = params_text(&e);
	if (strcmp(params, want_params) != 0)
		fail_msg("'%s': params\n got  %s\n want %s", filter, params, want_params);
	free(params);
	nr_sql_expr_clear(&e);
	nr_filter_free(f);
}

static void check_sql(const char *filter, const char *want_sql, const char *want_params)
{
	check_sql_cols(&flows_cols, filter, want_sql, want_params);
}

static void test_sql_primitives(void **state)
{
	check_sql("host 10.0.0.1", "(src = ? OR dst = ?)", "'10.0.0.1', '10.0.0.1'");
	check_sql("src host 10.0.0.1", "src = ?", "'10.0.0.1'");
	check_sql("dst host 10.0.0.1", "dst = ?", "'10.0.0.1'");
	check_sql("net 10.0.0.0/8", "(in_cidr(src, ?) OR in_cidr(dst, ?))",
		  "'10.0.0.0/8', '10.0.0.0/8'");
	check_sql("src net 10.1.2.3/8", "in_cidr(src, ?)", "'10.0.0.0/8'");
	check_sql("dst net 10.0.0.1", "in_cidr(dst, ?)", "'10.0.0.1/32'");
	check_sql("port 53", "(sport = ? OR dport = ?)", "53, 53");
	check_sql("src port 0", "sport = ?", "0");
	check_sql("dst port 65535", "dport = ?", "65535");
	check_sql("port 0053", "(sport = ? OR dport = ?)", "53, 53");
	check_sql("proto tcp", "proto = ?", "6");
	check_sql("proto udp", "proto = ?", "17");
	check_sql("proto icmp", "proto = ?", "1");
	check_sql("proto icmp6", "proto = ?", "58");
	check_sql("proto icmpv6", "proto = ?", "58");
	check_sql("proto ipv6-icmp", "proto = ?", "58");
	check_sql("proto sctp", "proto = ?", "132");
	check_sql("proto gre", "proto = ?", "47");
	check_sql("proto esp", "proto = ?", "50");
	check_sql("proto ah", "proto = ?", "51");
	check_sql("proto 0", "proto = ?", "0");
	check_sql("proto 255", "proto = ?", "255");
	check_sql("iface eth0", "ifname = ?", "'eth0'");
	check_sql("iface veth-a.b_c@x", "ifname = ?", "'veth-a.b_c@x'");
	check_sql("iface abcdefghijklmno", "ifname = ?", "'abcdefghijklmno'");
}

static void test_sql_canonical(void **state)
{
	check_sql("host 2001:DB8::1", "(src = ? OR dst = ?)", "'2001:db8::1', '2001:db8::1'");
	check_sql("src host 2001:0db8:0:0:0:0:0:0001", "src = ?", "'2001:db8::1'");
	check_sql("src host ::ffff:10.0.0.1", "src = ?", "'::ffff:10.0.0.1'");
	check_sql("src net 2001:DB8:1:2::/32", "in_cidr(src, ?)", "'2001:db8::/32'");
	check_sql("src net 2001:db8::1", "in_cidr(src, ?)", "'2001:db8::1/128'");
	check_sql("src net ::/0", "in_cidr(src, ?)", "'::/0'");
	check_sql("src net 1.2.3.4/0", "in_cidr(src, ?)", "'0.0.0.0/0'");
	/* Keywords and protocol names are case-insensitive. */
	check_sql("SRC HOST 10.0.0.1 AND Port 53 OR NOT Proto TCP",
		  "((src = ? AND (sport = ? OR dport = ?)) OR NOT coalesce(proto = ?, 0))",
		  "'10.0.0.1', 53, 53, 6");
	/* Interface names are not: "ETH0" is another interface. */
	check_sql("IFACE ETH0", "ifname = ?", "'ETH0'");
}

static void test_sql_logic(void **state)
{
	check_sql("host 10.0.0.1 and port 53",
		  "((src = ? OR dst = ?) AND (sport = ? OR dport = ?))",
		  "'10.0.0.1', '10.0.0.1', 53, 53");
	/* "and" binds tighter than "or", on either side. */
	check_sql("proto tcp or port 53 and iface eth1",
		  "(proto = ? OR ((sport = ? OR dport = ?) AND ifname = ?))", "6, 53, 53, 'eth1'");
	check_sql("port 53 and iface eth1 or proto tcp",
		  "(((sport = ? OR dport = ?) AND ifname = ?) OR proto = ?)", "53, 53, 'eth1', 6");
	check_sql("(proto tcp or port 53) and iface eth1",
		  "((proto = ? OR (sport = ? OR dport = ?)) AND ifname = ?)", "6, 53, 53, 'eth1'");
	/* Chains are flat. */
	check_sql("proto 1 or proto 2 or proto 3 and proto 4 and proto 5 or proto 6",
		  "(proto = ? OR proto = ? OR (proto = ? AND proto = ? AND proto = ?) OR proto = ?)",
		  "1, 2, 3, 4, 5, 6");
	check_sql("not proto tcp", "NOT coalesce(proto = ?, 0)", "6");
	check_sql("not not proto tcp", "NOT coalesce(NOT coalesce(proto = ?, 0), 0)", "6");
	check_sql("not host 10.0.0.1", "NOT coalesce((src = ? OR dst = ?), 0)",
		  "'10.0.0.1', '10.0.0.1'");
	/* "not" applies to one term, not to the rest of the chain. */
	check_sql("not proto tcp and iface eth0",
		  "(NOT coalesce(proto = ?, 0) AND ifname = ?)", "6, 'eth0'");
	check_sql("not (proto tcp and iface eth0)",
		  "NOT coalesce((proto = ? AND ifname = ?), 0)", "6, 'eth0'");
	/* Redundant parentheses vanish. */
	check_sql("((((proto tcp))))", "proto = ?", "6");
	check_sql("((port 53) and ((not proto tcp)))",
		  "((sport = ? OR dport = ?) AND NOT coalesce(proto = ?, 0))", "53, 53, 6");
	check_sql("(src net 10.0.0.0/8 or (dst net 192.168.0.0/16 and not (port 22 or port 443)))",
		  "(in_cidr(src, ?) OR (in_cidr(dst, ?) AND "
		  "NOT coalesce(((sport = ? OR dport = ?) OR (sport = ? OR dport = ?)), 0)))",
		  "'10.0.0.0/8', '192.168.0.0/16', 22, 22, 443, 443");
}

/* Conntrack events: a fixed set of words, case-insensitive, stored lower-case. */
static void test_sql_event(void **state)
{
	check_sql_cols(&conntrack_cols, "event new", "event = ?", "'new'");
	check_sql_cols(&conntrack_cols, "event update", "event = ?", "'update'");
	check_sql_cols(&conntrack_cols, "EVENT Destroy", "event = ?", "'destroy'");
	check_sql_cols(&conntrack_cols, "event DUMP", "event = ?", "'dump'");
	check_sql_cols(&conntrack_cols, "host 10.0.0.1 and not event update",
		       "((orig_src = ? OR reply_src = ? OR orig_dst = ? OR reply_dst = ?) AND "
		       "NOT coalesce(event = ?, 0))",
		       "'10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.0.1', 'update'");
}

/* Flow directions, the TC hook: a fixed set of words, case-insensitive, stored lower-case. */
static void test_sql_dir(void **state)
{
	check_sql("dir ingress", "direction = ?", "'ingress'");
	check_sql("DIR Egress", "direction = ?", "'egress'");
	check_sql("iface eth0 and not dir egress", "(ifname = ? AND NOT coalesce(direction = ?, 0))",
		  "'eth0', 'egress'");
	check_sql("(dir ingress)and(port 53)", "(direction = ? AND (sport = ? OR dport = ?))",
		  "'ingress', 53, 53");
}

/* Sockets: who connected (in, out, local, like dir a fixed set), the owning process's id and
 * name (compared as stored). */
static void test_sql_sockets(void **state)
{
	check_sql_cols(&sockets_cols, "direction in", "direction = ?", "'in'");
	check_sql_cols(&sockets_cols, "DIRECTION Out", "direction = ?", "'out'");
	check_sql_cols(&sockets_cols, "direction local", "direction = ?", "'local'");
	check_sql_cols(&sockets_cols, "pid 1234", "pid = ?", "1234");
	check_sql_cols(&sockets_cols, "pid 0042", "pid = ?", "42");
	check_sql_cols(&sockets_cols, "pid 2147483647", "pid = ?", "2147483647");
	check_sql_cols(&sockets_cols, "comm Web", "comm = ?", "'Web'");
	check_sql_cols(&sockets_cols, "host 10.0.0.1 and (comm curl or not direction in)",
		       "((src = ? OR dst = ?) AND (comm = ? OR NOT coalesce(direction = ?, 0)))",
		       "'10.0.0.1', '10.0.0.1', 'curl', 'in'");
}

static void test_sql_multi_columns(void **state)
{
	check_sql_cols(&conntrack_cols, "host 10.0.0.1",
		       "(orig_src = ? OR reply_src = ? OR orig_dst = ? OR reply_dst = ?)",
		       "'10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.0.1'");
	check_sql_cols(&conntrack_cols, "src host 10.0.0.1", "(orig_src = ? OR reply_src = ?)",
		       "'10.0.0.1', '10.0.0.1'");
	check_sql_cols(&conntrack_cols, "dst net 10.0.0.0/8",
		       "(in_cidr(orig_dst, ?) OR in_cidr(reply_dst, ?))", "'10.0.0.0/8', '10.0.0.0/8'");
	check_sql_cols(&conntrack_cols, "port 80",
		       "(orig_sport = ? OR reply_sport = ? OR orig_dport = ? OR reply_dport = ?)",
		       "80, 80, 80, 80");
	/* A table with sources only: "host" means its src columns; "dst host" does not apply. */
	check_sql_cols(&listeners_cols, "host 10.0.0.1 and port 22 and proto tcp",
		       "(address = ? AND port = ? AND proto = ?)", "'10.0.0.1', 22, 6");
}

/* Every way to deliver the same words gives the same SQL. */
static void test_word_splitting(void **state)
{
	static const char *const want = "((src = ? OR dst = ?) AND (sport = ? OR dport = ?))";
	const char *v1[] = { "host", "10.0.0.1", "and", "port", "53" };
	const char *v2[] = { "host 10.0.0.1", "and port 53" };
	const char *v3[] = { "(host", "10.0.0.1)", "and", "(port", "53)" };
	const char *v4[] = { " \thost\n10.0.0.1\r\v\fand  port 53 " };
	const char *v5[] = { "(host 10.0.0.1)and(port 53)" };
	const char *v6[] = { "", "host", "", "10.0.0.1 and", "   ", "port 53" };
	struct {
		int argc;
		const char **argv;
	} cases[] = {
		{ 5, v1 }, { 2, v2 }, { 5, v3 }, { 1, v4 }, { 1, v5 }, { 6, v6 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nr_filter *f = NULL;
		struct nr_sql_expr e = { 0 };
		char err[256] = "";

		assert_int_equal(nr_filter_parse(cases[i].argc, (char *const *)cases[i].argv, &f, err, sizeof(err)), 0);
		assert_int_equal(nr_filter_compile(f, &flows_cols, &e, err, sizeof(err)), 0);
		assert_string_equal(e.sql, want);
		assert_int_equal(e.nparams, 4);
		nr_sql_expr_clear(&e);
		nr_filter_free(f);
	}
}

static void test_empty(void **state)
{
	char blank0[] = "", blank1[] = " \t\n";
	char *blank[] = { blank0, blank1 };
	struct nr_filter *f = NULL;
	struct nr_sql_expr e = { 0 };
	char err[64];

	assert_int_equal(nr_filter_parse(0, NULL, &f, err, sizeof(err)), 0);
	assert_int_equal(nr_filter_compile(f, &gaps_cols, &e, err, sizeof(err)), 0);
	assert_string_equal(e.sql, "1");
	assert_int_equal(e.nparams, 0);
	assert_null(e.params);
	nr_sql_expr_clear(&e);
	nr_filter_free(f);

	f = NULL;
	assert_int_equal(nr_filter_parse(2, blank, &f, err, sizeof(err)), 0);
	assert_int_equal(nr_filter_compile(f, &flows_cols, &e, err, sizeof(err)), 0);
	assert_string_equal(e.sql, "1");
	nr_sql_expr_clear(&e);
	nr_sql_expr_clear(&e); /* twice is fine */
	nr_sql_expr_clear(NULL);
	nr_filter_free(f);
	nr_filter_free(NULL);
}

/* Fails to parse @filter (one string) with exactly @want; *ret stays untouched. */
static void check_parse_error(const char *filter, const char *want)
{
	char *argv[] = { (char *)filter };
	struct nr_filter *sentinel = (struct nr_filter *)&sentinel, *f = sentinel;
	char err[512] = "";
	int r;

	r = nr_filter_parse(1, argv, &f, err, sizeof(err));
	if (r != -EINVAL)
		fail_msg("'%s': want -EINVAL, got %d", filter, r);
	assert_ptr_equal(f, sentinel);
	if (strcmp(err, want) != 0)
		fail_msg("'%s':\n got  %s\n want %s", filter, err, want);
	assert_null(strchr(err, '\n'));
}

#define EXPECT_TERM                                                                           \
	"expected host, net, port, proto, iface, dir, direction, event, pid, comm, src, dst, not or ("

static void test_parse_errors(void **state)
{
	/* Unknown words. */
	check_parse_error("hots 10.0.0.1",
			  "filter: unknown word 'hots' at word 1; " EXPECT_TERM);
	check_parse_error("host 10.0.0.1 and prot tcp",
			  "filter: unknown word 'prot' at word 4; " EXPECT_TERM);
	check_parse_error("10.0.0.1", "filter: unknown word '10.0.0.1' at word 1; " EXPECT_TERM);

	/* Missing arguments. */
	check_parse_error("host", "filter: 'host' needs an IPv4 or IPv6 address, got nothing");
	check_parse_error("port 53 and src net",
			  "filter: 'net' needs an address or prefix such as 10.0.0.0/8 or "
			  "2001:db8::/32, got nothing");
	check_parse_error("port", "filter: 'port' needs a number from 0 to 65535, got nothing");
	check_parse_error("proto", "filter: 'proto' needs tcp, udp, icmp, icmp6, sctp, gre, esp, "
				   "ah or a number from 0 to 255, got nothing");
	check_parse_error("iface",
			  "filter: 'iface' needs an interface name (at most 15 characters), got nothing");
	check_parse_error("event", "filter: 'event' needs new, update, destroy or dump, got nothing");
	check_parse_error("(host)", "filter: 'host' needs an IPv4 or IPv6 address, got ')'");
	check_parse_error("src", "filter: 'src' at word 1 must be followed by host, net or port, "
				 "got nothing");
	check_parse_error("port 1 or dst",
			  "filter: 'dst' at word 4 must be followed by host, net or port, got nothing");

	/* Bad values. */
	check_parse_error("host 10.0.0.256",
			  "filter: 'host' needs an IPv4 or IPv6 address, got '10.0.0.256'");
	check_parse_error("host 2001:db8::g",
			  "filter: 'host' needs an IPv4 or IPv6 address, got '2001:db8::g'");
	check_parse_error("host 10.0.0.0/8", "filter: 'host' needs an IPv4 or IPv6 address, got "
					     "'10.0.0.0/8' (use 'net' for a prefix)");
	check_parse_error("net 10.0.0.0/33", "filter: 'net' needs an address or prefix such as "
					     "10.0.0.0/8 or 2001:db8::/32, got '10.0.0.0/33'");
	check_parse_error("net 2001:db8::/129", "filter: 'net' needs an address or prefix such as "
						"10.0.0.0/8 or 2001:db8::/32, got '2001:db8::/129'");
	check_parse_error("net 10/8", "filter: 'net' needs an address or prefix such as "
				      "10.0.0.0/8 or 2001:db8::/32, got '10/8'");
	check_parse_error("port 99999", "filter: 'port' needs a number from 0 to 65535, got '99999'");
	check_parse_error("port 65536", "filter: 'port' needs a number from 0 to 65535, got '65536'");
	check_parse_error("port -1", "filter: 'port' needs a number from 0 to 65535, got '-1'");
	check_parse_error("port 0x35", "filter: 'port' needs a number from 0 to 65535, got '0x35'");
	check_parse_error("port domain",
			  "filter: 'port' needs a number from 0 to 65535, got 'domain'");
	check_parse_error("proto 256", "filter: 'proto' needs tcp, udp, icmp, icmp6, sctp, gre, "
				       "esp, ah or a number from 0 to 255, got '256'");
	check_parse_error("proto ipv4", "filter: 'proto' needs tcp, udp, icmp, icmp6, sctp, gre, "
					"esp, ah or a number from 0 to 255, got 'ipv4'");
	check_parse_error("iface abcdefghijklmnop", "filter: 'iface' needs an interface name (at "
						    "most 15 characters), got 'abcdefghijklmnop'");
	check_parse_error("iface )", "filter: 'iface' needs an interface name (at most 15 "
				     "characters), got ')'");
	check_parse_error("event created",
			  "filter: 'event' needs new, update, destroy or dump, got 'created'");
	check_parse_error("event (new)",
			  "filter: 'event' needs new, update, destroy or dump, got '('");
	check_parse_error("dir", "filter: 'dir' needs ingress or egress, got nothing");
	check_parse_error("dir in", "filter: 'dir' needs ingress or egress, got 'in'");
	check_parse_error("dir inbound", "filter: 'dir' needs ingress or egress, got 'inbound'");
	check_parse_error("dir (ingress)", "filter: 'dir' needs ingress or egress, got '('");
	check_parse_error("src dir ingress",
			  "filter: 'src' at word 1 must be followed by host, net or port, got 'dir'");
	check_parse_error("dir ingress egress", "filter: unexpected word 'egress' at word 3; "
						"expected and, or or the end of the filter");
	check_parse_error("direction", "filter: 'direction' needs in, out or local, got nothing");
	check_parse_error("direction ingress",
			  "filter: 'direction' needs in, out or local, got 'ingress'");
	check_parse_error("pid", "filter: 'pid' needs a process id (a number from 1 to "
				 "2147483647), got nothing");
	check_parse_error("pid 0", "filter: 'pid' needs a process id (a number from 1 to "
				   "2147483647), got '0'");
	check_parse_error("pid 2147483648", "filter: 'pid' needs a process id (a number from 1 "
					    "to 2147483647), got '2147483648'");
	check_parse_error("pid 12345678901", "filter: 'pid' needs a process id (a number from 1 "
					     "to 2147483647), got '12345678901'");
	check_parse_error("pid -1", "filter: 'pid' needs a process id (a number from 1 to "
				    "2147483647), got '-1'");
	check_parse_error("comm", "filter: 'comm' needs a process name (at most 15 characters), "
				  "got nothing");
	check_parse_error("comm abcdefghijklmnop", "filter: 'comm' needs a process name (at most "
						   "15 characters), got 'abcdefghijklmnop'");
	check_parse_error("comm (sd-pam)", "filter: 'comm' needs a process name (at most 15 "
					   "characters), got '('");
	check_parse_error("src pid 1",
			  "filter: 'src' at word 1 must be followed by host, net or port, got 'pid'");
	check_parse_error("src event new",
			  "filter: 'src' at word 1 must be followed by host, net or port, got 'event'");
	check_parse_error("src proto tcp",
			  "filter: 'src' at word 1 must be followed by host, net or port, got 'proto'");
	check_parse_error("dst iface eth0",
			  "filter: 'dst' at word 1 must be followed by host, net or port, got 'iface'");
	check_parse_error("src src host 10.0.0.1",
			  "filter: 'src' at word 1 must be followed by host, net or port, got 'src'");

	/* Unbalanced parentheses. */
	check_parse_error("(host 10.0.0.1 and port 80", "filter: missing ')' after 'port 80'");
	check_parse_error("((host 10.0.0.1)", "filter: missing ')' after 'host 10.0.0.1)'");
	check_parse_error("(not (src port 1", "filter: missing ')' after 'src port 1'");
	check_parse_error("host 10.0.0.1)", "filter: unmatched ')' at word 3");
	check_parse_error("(port 1))", "filter: unmatched ')' at word 5");
	check_parse_error(")", "filter: unexpected ')' at word 1; " EXPECT_TERM);
	check_parse_error("()", "filter: unexpected ')' at word 2; " EXPECT_TERM);
	check_parse_error("(", "filter: '(' at word 1 needs a condition after it; " EXPECT_TERM);
	check_parse_error("(port 53 port 54)",
			  "filter: unexpected word 'port' at word 4; expected and, or or ')'");

	/* Trailing words. */
	check_parse_error("host 10.0.0.1 port 53", "filter: unexpected word 'port' at word 3; "
						   "expected and, or or the end of the filter");
	check_parse_error("port 53 53", "filter: unexpected word '53' at word 3; "
					"expected and, or or the end of the filter");
	check_parse_error("port 53 (port 54)", "filter: unexpected word '(' at word 3; "
					       "expected and, or or the end of the filter");
	check_parse_error("port 53 not port 54", "filter: unexpected word 'not' at word 3; "
						 "expected and, or or the end of the filter");

	/* Dangling and, or, not. */
	check_parse_error("host 10.0.0.1 and",
			  "filter: 'and' at word 3 needs a condition after it; " EXPECT_TERM);
	check_parse_error("port 1 OR", "filter: 'OR' at word 3 needs a condition after it; " EXPECT_TERM);
	check_parse_error("not", "filter: 'not' at word 1 needs a condition after it; " EXPECT_TERM);
	check_parse_error("port 1 and not not",
			  "filter: 'not' at word 5 needs a condition after it; " EXPECT_TERM);
	check_parse_error("and port 53", "filter: unexpected 'and' at word 1; " EXPECT_TERM);
	check_parse_error("or", "filter: unexpected 'or' at word 1; " EXPECT_TERM);
	check_parse_error("port 53 and or port 54",
			  "filter: unexpected 'or' at word 4; " EXPECT_TERM);
	check_parse_error("not and port 1", "filter: unexpected 'and' at word 2; " EXPECT_TERM);
	check_parse_error("(and port 1)", "filter: unexpected 'and' at word 2; " EXPECT_TERM);
	check_parse_error("port 1 and )", "filter: unexpected ')' at word 4; " EXPECT_TERM);
}

/* Offending words are quoted safely: control bytes replaced, long words cut. */
static void test_error_quoting(void **state)
{
	char big[5000];

	check_parse_error("host \x1b[31mred", "filter: 'host' needs an IPv4 or IPv6 address, got "
					      "'?[31mred'");
	check_parse_error("h\x01st", "filter: unknown word 'h?st' at word 1; " EXPECT_TERM);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "port ", 5);
	check_parse_error(big, "filter: 'port' needs a number from 0 to 65535, got "
			       "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
	/* A cut never splits a UTF-8 sequence. */
	check_parse_error("port aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\xc3\xa9",
			  "filter: 'port' needs a number from 0 to 65535, got "
			  "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9...'");
	check_parse_error("port aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\xc3\xa9",
			  "filter: 'port' needs a number from 0 to 65535, got "
			  "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
}

/* The caller's error buffer may be absent or tiny. */
static void test_error_buffers(void **state)
{
	char hots[] = "hots", port1[] = "port 1";
	char *argv[] = { hots };
	struct nr_filter *f = NULL;
	struct nr_sql_expr e = { 0 };
	char small[12];

	assert_int_equal(nr_filter_parse(1, argv, &f, NULL, 0), -EINVAL);
	assert_int_equal(nr_filter_parse(1, argv, &f, small, 0), -EINVAL);
	assert_int_equal(nr_filter_parse(1, argv, &f, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "filter: unk");
	assert_int_equal(nr_filter_parse(1, argv, &f, small, 3), -EINVAL);
	assert_int_equal(nr_filter_parse(-1, argv, &f, NULL, 0), -EINVAL);
	assert_int_equal(nr_filter_parse(1, NULL, &f, NULL, 0), -EINVAL);
	assert_null(f);

	argv[0] = port1;
	assert_int_equal(nr_filter_parse(1, argv, NULL, NULL, 0), -EINVAL);
	assert_int_equal(nr_filter_parse(1, argv, &f, NULL, 0), 0);
	assert_int_equal(nr_filter_compile(f, &gaps_cols, &e, NULL, 0), -EINVAL);
	assert_int_equal(nr_filter_compile(NULL, &gaps_cols, &e, NULL, 0), -EINVAL);
	assert_int_equal(nr_filter_compile(f, NULL, &e, NULL, 0), -EINVAL);
	assert_null(e.sql);
	nr_filter_free(f);
}

static void check_compile_error(const struct nr_filter_cols *cols, const char *filter,
				const char *want)
{
	struct nr_filter *f = parse1(filter);
	struct nr_sql_expr e = { .sql = (char *)"untouched" };
	char err[256] = "";

	assert_int_equal(nr_filter_compile(f, cols, &e, err, sizeof(err)), -EINVAL);
	assert_string_equal(e.sql, "untouched");
	if (strcmp(err, want) != 0)
		fail_msg("'%s':\n got  %s\n want %s", filter, err, want);
	nr_filter_free(f);
}

static void test_missing_columns(void **state)
{
	static const struct nr_filter_cols unnamed = { .src = { "a" } };

	check_compile_error(&gaps_cols, "port 53", "filter: 'port' does not apply to table gaps");
	check_compile_error(&gaps_cols, "host 10.0.0.1",
			    "filter: 'host' does not apply to table gaps");
	check_compile_error(&gaps_cols, "not (iface eth0 or proto tcp)",
			    "filter: 'iface' does not apply to table gaps");
	check_compile_error(&listeners_cols, "dst host 10.0.0.1",
			    "filter: 'dst host' does not apply to table listeners");
	check_compile_error(&listeners_cols, "proto tcp and dst port 22",
			    "filter: 'dst port' does not apply to table listeners");
	check_compile_error(&listeners_cols, "host 10.0.0.1 or iface lo",
			    "filter: 'iface' does not apply to table listeners");
	check_compile_error(&conntrack_cols, "iface eth0",
			    "filter: 'iface' does not apply to table conntrack");
	check_compile_error(&flows_cols, "port 53 and event new",
			    "filter: 'event' does not apply to table flows");
	check_compile_error(&conntrack_cols, "host 10.0.0.1 and dir ingress",
			    "filter: 'dir' does not apply to table conntrack");
	check_compile_error(&gaps_cols, "not dir egress", "filter: 'dir' does not apply to table gaps");
	check_compile_error(&flows_cols, "pid 1", "filter: 'pid' does not apply to table flows");
	check_compile_error(&conntrack_cols, "not comm sshd",
			    "filter: 'comm' does not apply to table conntrack");
	check_compile_error(&flows_cols, "direction in",
			    "filter: 'direction' does not apply to table flows");
	check_compile_error(&sockets_cols, "dir egress",
			    "filter: 'dir' does not apply to table sockets");
	check_compile_error(&unnamed, "src net 10.0.0.0/8 and dst net 10.0.0.0/8",
			    "filter: 'dst net' does not apply to table (unnamed)");
}

/* 10,000 levels of "not" or "(": a clean error at the cap, never a stack overflow. */
static void test_deep_nesting(void **state)
{
	static const char *const openers[] = { "not ", "(", "not (" };
	size_t k, i, n = 10000;
	char *s;

	for (k = 0; k < sizeof(openers) / sizeof(openers[0]); k++) {
		size_t olen = strlen(openers[k]);
		struct nr_filter *f = NULL;
		char err[256] = "";
		char *argv[1];

		s = malloc(n * olen + 16);
		assert_non_null(s);
		for (i = 0; i < n; i++)
			memcpy(s + i * olen, openers[k], olen);
		strcpy(s + n * olen, "port 53");
		argv[0] = s;
		assert_int_equal(nr_filter_parse(1, argv, &f, err, sizeof(err)), -EINVAL);
		assert_null(f);
		/* Every opener word is one level, so level 65 is word 65. */
		assert_string_equal(err, "filter: more than 64 levels of 'not' and '(' at word 65");
		free(s);
	}

	/* Unbalanced the other way, 10,000 closing parentheses. */
	s = malloc(n + 16);
	assert_non_null(s);
	strcpy(s, "port 53");
	memset(s + 7, ')', n);
	s[7 + n] = '\0';
	check_parse_error(s, "filter: unmatched ')' at word 3");
	free(s);
}

/* Exactly at the cap is fine, and the SQL still runs. */
static void test_nesting_at_cap(void **state)
{
	char s[1024] = "", want[2048] = "";
	int i;

	for (i = 0; i < 32; i++)
		strcat(s, "not (");
	strcat(s, "proto tcp");
	for (i = 0; i < 32; i++)
		strcat(s, ")");
	for (i = 0; i < 32; i++)
		strcat(want, "NOT coalesce(");
	strcat(want, "proto = ?");
	for (i = 0; i < 32; i++)
		strcat(want, ", 0)");
	check_sql(s, want, "6");

	s[0] = '\0';
	for (i = 0; i < 64; i++)
		strcat(s, "(");
	strcat(s, "port 1");
	for (i = 0; i < 64; i++)
		strcat(s, ")");
	check_sql(s, "(sport = ? OR dport = ?)", "1, 1");
	/* One more level fails. */
	memmove(s + 1, s, strlen(s) + 1);
	strcat(s, ")");
	check_parse_error(s, "filter: more than 64 levels of 'not' and '(' at word 65");
}

/* A 10,000-term chain is wide, not deep: parsing, compiling and freeing cost no stack. */
static void test_long_chain(void **state)
{
	size_t n = 10000, i, len = 0;
	struct nr_filter *f = NULL;
	struct nr_sql_expr e = { 0 };
	char err[256], *argv[1];
	char *s = malloc(n * 24);

	assert_non_null(s);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%sproto %zu", i ? (i % 3 ? " or " : " and ") : "",
				       i % 256);
	argv[0] = s;
	assert_int_equal(nr_filter_parse(1, argv, &f, err, sizeof(err)), 0);
	assert_int_equal(nr_filter_compile(f, &flows_cols, &e, err, sizeof(err)), 0);
	assert_int_equal(e.nparams, n);
	assert_int_equal(e.params[n - 1].i, (n - 1) % 256);
	nr_sql_expr_clear(&e);
	nr_filter_free(f);
	free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* The independent truth: run compiled filters over real rows. */

static sqlite3 *db;

static int db_setup(void **state)
{
	static const char *const sql =
		"CREATE TABLE flows (id INTEGER PRIMARY KEY, src TEXT, dst TEXT, sport INTEGER,"
		" dport INTEGER, proto INTEGER, ifname TEXT, direction TEXT);"
		"INSERT INTO flows VALUES"
		" (1, '10.0.0.1', '10.0.0.2', 12345, 53, 17, 'eth0', 'egress'),"
		" (2, '10.0.0.2', '192.168.1.1', 40000, 443, 6, 'eth0', 'egress'),"
		" (3, '2001:db8::1', '2001:db8::2', 5353, 53, 17, 'eth1', 'ingress'),"
		" (4, 'fe80::1', 'ff02::1', NULL, NULL, 58, 'eth1', 'egress'),"
		" (5, NULL, '10.0.0.1', NULL, NULL, 1, NULL, 'ingress'),"
		" (6, '192.168.1.1', '10.0.0.1', 443, 40000, 6, 'eth0', 'ingress');"
		"CREATE TABLE conntrack (id INTEGER PRIMARY KEY, orig_src, orig_dst, orig_sport,"
		" orig_dport, reply_src, reply_dst, reply_sport, reply_dport, proto);"
		"INSERT INTO conntrack VALUES"
		" (1, '192.168.1.10', '8.8.8.8', 5000, 53, '8.8.8.8', '203.0.113.1', 53, 6000, 17),"
		" (2, '2001:db8::10', '2001:db8:1::1', 6000, 443, '2001:db8:1::1', '2001:db8::10',"
		"  443, 6000, 6);";

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(nr_sqlfuncs_register(db), 0);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	return 0;
}

static int db_teardown(void **state)
{
	sqlite3_close(db);
	db = NULL;
	return 0;
}

/* The ids of the rows of @table matching @filter, as "1,3,5". */
static void match(const struct nr_filter_cols *cols, const char *filter, const char *want)
{
	struct nr_filter *f = parse1(filter);
	struct nr_sql_expr e = { 0 };
	char err[256] = "", sql[4096], got[256] = "";
	sqlite3_stmt *st = NULL;
	size_t i, n = 0;
	int rc;

	assert_int_equal(nr_filter_compile(f, cols, &e, err, sizeof(err)), 0);
	snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE %s ORDER BY id", cols->table, e.sql);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		fail_msg("'%s': %s: %s", filter, sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_bind_parameter_count(st), (int)e.nparams);
	for (i = 0; i < e.nparams; i++) {
		if (e.params[i].is_text)
			rc = sqlite3_bind_text(st, (int)i + 1, e.params[i].s, -1, SQLITE_TRANSIENT);
		else
			rc = sqlite3_bind_int64(st, (int)i + 1, e.params[i].i);
		assert_int_equal(rc, SQLITE_OK);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%d", n ? "," : "",
				      sqlite3_column_int(st, 0));
	if (rc != SQLITE_DONE)
		fail_msg("'%s': %s", filter, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (strcmp(got, want) != 0)
		fail_msg("'%s' (%s):\n got  [%s]\n want [%s]", filter, e.sql, got, want);
	nr_sql_expr_clear(&e);
	nr_filter_free(f);
}

static void test_rows_primitives(void **state)
{
	const struct nr_filter_cols *c = &flows_cols;

	match(c, "", "1,2,3,4,5,6");
	match(c, "host 10.0.0.1", "1,5,6");
	match(c, "src host 10.0.0.1", "1");
	match(c, "dst host 10.0.0.1", "5,6");
	match(c, "host 10.0.0.3", "");
	match(c, "host 2001:DB8::1", "3");
	match(c, "host 2001:0db8:0000:0000:0000:0000:0000:0002", "3");
	match(c, "net 10.0.0.0/8", "1,2,5,6");
	match(c, "src net 10.0.0.0/8", "1,2");
	match(c, "net 10.0.0.0/30", "1,2,5,6");
	match(c, "net 10.0.0.2/31", "1,2");
	match(c, "net 10.0.0.2/32", "1,2");
	match(c, "net 10.0.0.2", "1,2");
	match(c, "net 192.168.0.0/16", "2,6");
	match(c, "dst net 192.168.0.0/16", "2");
	match(c, "net 0.0.0.0/0", "1,2,5,6");
	match(c, "net ::/0", "3,4");
	match(c, "net 2001:db8::/32", "3");
	match(c, "net 2001:DB8::2/128", "3");
	match(c, "net fe80::/10", "4");
	match(c, "dst net ff00::/8", "4");
	match(c, "port 53", "1,3");
	match(c, "src port 443", "6");
	match(c, "dst port 443", "2");
	match(c, "port 443", "2,6");
	match(c, "proto tcp", "2,6");
	match(c, "proto UDP", "1,3");
	match(c, "proto icmp6", "4");
	match(c, "proto 1", "5");
	match(c, "iface eth1", "3,4");
	match(c, "dir ingress", "3,5,6");
	match(c, "dir egress", "1,2,4");
}

static void test_rows_logic(void **state)
{
	const struct nr_filter_cols *c = &flows_cols;

	/* a or b and c: b and c first. */
	match(c, "proto tcp or port 53 and iface eth1", "2,3,6");
	match(c, "(proto tcp or port 53) and iface eth1", "3");
	match(c, "iface eth1 and port 53 or proto tcp", "2,3,6");
	match(c, "iface eth1 and (port 53 or proto tcp)", "3");
	match(c, "port 53 or port 443 or proto 1", "1,2,3,5,6");
	match(c, "net 10.0.0.0/8 and not host 10.0.0.1", "2");
	match(c, "not (host 10.0.0.1 or net 2001:db8::/32)", "2,4");
	match(c, "not not proto tcp", "2,6");
	match(c, "((port 53) and ((not proto tcp)))", "1,3");
	match(c, "(((src net 10.0.0.0/8 or src net ::/0) and (not (port 53))))", "2,4");
	/* NULL columns: "not X" keeps every row X does not match, NULLs included. */
	match(c, "not src host 10.0.0.2", "1,3,4,5,6");
	match(c, "not iface eth0", "3,4,5");
	match(c, "not port 53", "2,4,5,6");
	match(c, "not src net 10.0.0.0/8", "3,4,5,6");
	match(c, "not (port 53 and iface eth0)", "2,3,4,5,6");
	match(c, "iface eth0 and not dir egress", "6");
	match(c, "dir ingress or dir egress", "1,2,3,4,5,6");
	match(c, "proto tcp and dir egress or proto 1", "2,5");
	match(c, "not (not port 53)", "1,3");
	match(c, "not (port 53 or proto 1)", "2,4,6");
	/* A filter and its negation split the table, whatever the NULLs. */
	match(c, "src port 12345 or not src port 12345", "1,2,3,4,5,6");
	match(c, "src port 12345 and not src port 12345", "");

	c = &conntrack_cols;
	match(c, "host 8.8.8.8", "1");
	match(c, "src host 8.8.8.8", "1"); /* the reply source */
	match(c, "dst host 8.8.8.8", "1");
	match(c, "dst host 203.0.113.1", "1");
	match(c, "src host 203.0.113.1", "");
	match(c, "net 2001:db8:1::/48", "2");
	match(c, "port 6000", "1,2");
	match(c, "src port 6000", "2");
	match(c, "dst port 6000", "1,2");
	match(c, "not port 53", "2");
}

/*
 * Word salad: random sequences of filter words. Whatever parses compiles, prepares in SQLite
 * with as many placeholders as parameters, and runs. Run under ASan to catch the rest.
 */
static void test_random_words(void **state)
{
	static const char *const vocab[] = {
		"host", "net", "port", "proto", "iface", "dir", "ingress", "src", "dst", "not", "and",
		"or", "(",
		")", "10.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "53", "99999", "tcp", "eth0",
		"(host", "1)", "", "AND", "\x01", "/", "::/0",
	};
	const size_t nv = sizeof(vocab) / sizeof(vocab[0]);
	unsigned seed = 12345, ok = 0, i, j;

	for (i = 0; i < 20000; i++) {
		char *argv[12], err[256];
		struct nr_filter *f = NULL;
		struct nr_sql_expr e = { 0 };
		int argc, r;

		seed = seed * 1103515245 + 12345;
		argc = (int)((seed >> 16) % 12);
		for (j = 0; j < (unsigned)argc; j++) {
			seed = seed * 1103515245 + 12345;
			argv[j] = (char *)vocab[(seed >> 16) % nv];
		}
		r = nr_filter_parse(argc, argv, &f, err, sizeof(err));
		if (r < 0) {
			assert_int_equal(r, -EINVAL);
			assert_memory_equal(err, "filter: ", 8);
			continue;
		}
		r = nr_filter_compile(f, &flows_cols, &e, err, sizeof(err));
		assert_int_equal(r, 0);
		{
			char sql[4096];
			sqlite3_stmt *st = NULL;

			snprintf(sql, sizeof(sql), "SELECT id FROM flows WHERE %s", e.sql);
			assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
			assert_int_equal(sqlite3_bind_parameter_count(st), (int)e.nparams);
			for (j = 0; j < e.nparams; j++) {
				if (e.params[j].is_text)
					sqlite3_bind_text(st, (int)j + 1, e.params[j].s, -1,
							  SQLITE_STATIC);
				else
					sqlite3_bind_int64(st, (int)j + 1, e.params[j].i);
			}
			while ((r = sqlite3_step(st)) == SQLITE_ROW)
				;
			assert_int_equal(r, SQLITE_DONE);
			sqlite3_finalize(st);
		}
		ok++;
		nr_sql_expr_clear(&e);
		nr_filter_free(f);
	}
	/* The salad must sometimes be valid, or this tests nothing but errors. */
	assert_true(ok > 500);
}

/* Values never reach the SQL text, whatever they hold. */
static void test_no_values_in_sql(void **state)
{
	check_sql("iface x';DROP", "ifname = ?", "'x';DROP'");
	check_sql("iface \"x\"", "ifname = ?", "'\"x\"'");
	check_sql("iface --", "ifname = ?", "'--'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sql_primitives),
		cmocka_unit_test(test_sql_canonical),
		cmocka_unit_test(test_sql_logic),
		cmocka_unit_test(test_sql_event),
		cmocka_unit_test(test_sql_dir),
		cmocka_unit_test(test_sql_sockets),
		cmocka_unit_test(test_sql_multi_columns),
		cmocka_unit_test(test_word_splitting),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_error_quoting),
		cmocka_unit_test(test_error_buffers),
		cmocka_unit_test(test_missing_columns),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_nesting_at_cap),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_no_values_in_sql),
		cmocka_unit_test_setup_teardown(test_rows_primitives, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_rows_logic, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_random_words, db_setup, db_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
