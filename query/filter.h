/* SPDX-License-Identifier: MIT */
/*
 * The filter shorthand every report shares, compiled to an SQL boolean expression with bound
 * parameters (never with values pasted into SQL):
 *
 *   expr  := term { ("and" | "or") term }      "and" binds tighter than "or"
 *   term  := "not" term | "(" expr ")" | prim
 *   prim  := [ "src" | "dst" ] "host" ADDR
 *          | [ "src" | "dst" ] "net" CIDR
 *          | [ "src" | "dst" ] "port" PORT
 *          | "proto" NAME-OR-NUMBER             tcp, udp, icmp, icmp6 (icmpv6, ipv6-icmp),
 *                                                sctp, gre, esp, ah, or 0..255
 *          | "iface" NAME
 *          | "event" NAME                       new, update, destroy, dump (conntrack)
 *          | "dir" NAME                         ingress, egress (flows)
 *          | "direction" NAME                   in, out, local (sockets)
 *          | "pid" NUMBER                       1..2147483647 (sockets)
 *          | "comm" NAME                        a process name (sockets)
 *
 * Words may come as separate argv elements or in one string ("host 10.0.0.1 and port 53");
 * parentheses may touch words ("(host", "a)"). Keywords are case-insensitive. Addresses are
 * canonicalized (inet_pton then inet_ntop), so "2001:DB8::1" matches stored "2001:db8::1".
 * "net" compiles to the SQL function in_cidr(column, ?) (query/sqlfuncs.h).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct nr_filter; /* parsed, table-independent */

/*
 * The columns a table offers for each filter word. Lists are NULL-terminated (at most 4
 * names). An empty list means "this table has no such thing": compiling a filter that uses it
 * fails. "host A" matches any column of src or dst; "src host A" only the src ones.
 */
struct nr_filter_cols {
	const char *table; /* for error messages */
	const char *src[5];
	const char *dst[5];
	const char *sport[5];
	const char *dport[5];
	const char *proto; /* NULL: none */
	const char *iface; /* NULL: none */
	const char *event; /* NULL: none */
	const char *dir; /* NULL: none. A flow's TC hook: ingress, egress */
	const char *sockdir; /* NULL: none. Who opened a socket: in, out, local */
	const char *pid; /* NULL: none */
	const char *comm; /* NULL: none */
};

struct nr_sql_param {
	int is_text;
	int64_t i;
	char *s;
};

struct nr_sql_expr {
	char *sql; /* e.g. "((src = ? OR dst = ?) AND (sport = ? OR dport = ?))" */
	struct nr_sql_param *params; /* in the order of the ?s */
	size_t nparams;
};

/*
 * Parses @argc words. Returns 0 and *ret, or -EINVAL with a one-line message in @err that
 * names the offending word and says what was expected, e.g.
 *   "filter: unknown word 'hots' at word 1; expected host, net, port, proto, iface, dir, direction, event, pid, comm, src, dst, not or ("
 *   "filter: 'port' needs a number from 0 to 65535, got '99999'"
 *   "filter: missing ')' after 'port 80'"
 * An empty filter (argc 0) is valid and matches everything. -ENOMEM on allocation failure.
 */
int nr_filter_parse(int argc, char *const *argv, struct nr_filter **ret, char *err, size_t errlen);

/*
 * Compiles @f for a table. On success *ret holds a malloc'd expression ("1" for an empty
 * filter) to be freed with nr_sql_expr_clear(). -EINVAL with a message in @err when the
 * filter uses something the table lacks ("filter: 'port' does not apply to table gaps").
 */
int nr_filter_compile(const struct nr_filter *f, const struct nr_filter_cols *cols,
		      struct nr_sql_expr *ret, char *err, size_t errlen);

void nr_sql_expr_clear(struct nr_sql_expr *e);

/* Accepts NULL. */
void nr_filter_free(struct nr_filter *f);
