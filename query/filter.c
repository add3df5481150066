// SPDX-License-Identifier: MIT
/*
 * The filter shorthand (see filter.h): words are split into tokens, a recursive-descent parser
 * builds a table-independent tree, and the tree is compiled per table into SQL text with '?'
 * placeholders. Values only ever travel as parameters; column names come only from the
 * caller's struct nr_filter_cols. Nesting is capped so hostile input cannot exhaust the stack.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "filter.h"
#include "sqlfuncs.h"

/* Levels of "not" and "(" one filter may nest. */
#define FILTER_MAX_DEPTH 64
/* Linux interface names are at most IFNAMSIZ - 1 bytes, process names TASK_COMM_LEN - 1. */
#define FILTER_IFNAME_MAX 15
#define FILTER_COMM_MAX 15
/* pid_t is an int; the kernel's own limit (pid_max) is lower and may change. */
#define FILTER_PID_MAX 2147483647
/* How much of an offending word an error message quotes. */
#define FILTER_QUOTE_MAX 48

#define EXPECT_TERM                                                                           \
	"host, net, port, proto, iface, dir, direction, event, pid, comm, src, dst, not or ("

enum node_kind {
	NODE_AND,
	NODE_OR,
	NODE_NOT,
	NODE_HOST,
	NODE_NET,
	NODE_PORT,
	NODE_PROTO,
	NODE_IFACE,
	NODE_EVENT,
	NODE_DIR,
	NODE_SOCKDIR,
	NODE_PID,
	NODE_COMM,
};

enum node_dir {
	DIR_ANY,
	DIR_SRC,
	DIR_DST,
};

/*
 * "and" and "or" nodes are n-ary, so a long chain ("a or b or c ...") is one wide node rather
 * than a deep one: the tree is never deeper than about three times FILTER_MAX_DEPTH, which
 * keeps compiling and freeing (both recursive) safe too.
 */
struct node {
	enum node_kind kind;
	enum node_dir dir;
	struct node **kids; /* AND, OR: two or more; NOT: one */
	size_t nkids;
	char *text; /* HOST: canonical address; NET: canonical prefix; IFACE, EVENT, DIR, SOCKDIR,
		     * COMM: name */
	int64_t num; /* PORT, PROTO, PID */
};

struct nr_filter {
	struct node *root; /* NULL: the empty filter */
};

static void node_free(struct node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

void nr_filter_free(struct nr_filter *f)
{
	if (!f)
		return;
	node_free(f->root);
	free(f);
}

static struct node *node_new(enum node_kind kind, enum node_dir dir)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n) {
		n->kind = kind;
		n->dir = dir;
	}
	return n;
}

static int node_add_kid(struct node *n, struct node *kid)
{
	struct node **k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));

	if (!k)
		return -ENOMEM;
	k[n->nkids++] = kid;
	n->kids = k;
	return 0;
}

/* ASCII-only case folding: keywords must not depend on the locale (Turkish 'I'). */
static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool word_is(const char *w, const char *kw)
{
	for (; *kw; w++, kw++)
		if (ascii_lower(*w) != *kw)
			return false;
	return *w == '\0';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Copies at most FILTER_QUOTE_MAX bytes of @w into @buf for an error message: control bytes
 * become '?' so the message stays one line and cannot drive a terminal, and a cut is marked
 * with "...". @buf holds FILTER_QUOTE_MAX + 4 bytes.
 */
static const char *quote(char *buf, const char *w)
{
	size_t i, n = 0;

	for (i = 0; w[i] && n < FILTER_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)w[i];

		buf[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (w[i]) {
		/* Do not end inside a UTF-8 sequence: find where the last one starts and drop it
		 * if the cut left it short. */
		size_t k = n;

		while (k > 0 && ((unsigned char)buf[k - 1] & 0xc0) == 0x80)
			k--;
		if (k > 0 && (unsigned char)buf[k - 1] >= 0xc0) {
			unsigned char lead = (unsigned char)buf[k - 1];
			size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

			if (n - (k - 1) < need)
				n = k - 1;
		}
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

__attribute__((format(printf, 3, 4))) static int set_err(char *err, size_t errlen,
							  const char *fmt, ...)
{
	static const char prefix[] = "filter: ";
	const size_t plen = sizeof(prefix) - 1;
	va_list ap;

	if (!err || errlen == 0)
		return -EINVAL;
	if (errlen <= plen) {
		memcpy(err, prefix, errlen - 1);
		err[errlen - 1] = '\0';
		return -EINVAL;
	}
	memcpy(err, prefix, plen);
	va_start(ap, fmt);
	vsnprintf(err + plen, errlen - plen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---------------------------------------------------------------------------------------- */
/* Tokens */

struct tokens {
	char **v;
	size_t n, cap;
};

static void tokens_clear(struct tokens *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	*t = (struct tokens){ 0 };
}

static int tokens_add(struct tokens *t, const char *s, size_t len)
{
	char *w;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	w = strndup(s, len);
	if (!w)
		return -ENOMEM;
	t->v[t->n++] = w;
	return 0;
}

/* Splits every argv word on blanks and splits parentheses off as words of their own. */
static int tokenize(int argc, char *const *argv, struct tokens *t)
{
	int i, r;

	for (i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (!s)
			continue;
		while (*s) {
			size_t len = 0;

			if (is_blank(*s)) {
				s++;
				continue;
			}
			if (*s == '(' || *s == ')')
				len = 1;
			else
				while (s[len] && !is_blank(s[len]) && s[len] != '(' && s[len] != ')')
					len++;
			r = tokens_add(t, s, len);
			if (r < 0)
				return r;
			s += len;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Parser */

struct parser {
	char *const *tok;
	size_t ntok;
	size_t pos; /* next token */
	unsigned depth;
	size_t prim_start; /* first token of the last primitive, for "missing ')' after ..." */
	char *err;
	size_t errlen;
};

static int parse_or(struct parser *p, struct node **ret);

static const char *peek(const struct parser *p)
{
	return p->pos < p->ntok ? p->tok[p->pos] : NULL;
}

static bool peek_is(const struct parser *p, const char *kw)
{
	const char *w = peek(p);

	return w && word_is(w, kw);
}

/* "port 80", "host a)": the words from the last primitive to here, for "missing ')'". */
static const char *tail_text(const struct parser *p, char *buf)
{
	char raw[FILTER_QUOTE_MAX + 8];
	size_t i, n = 0;

	raw[0] = '\0';
	for (i = p->prim_start; i < p->pos && n < FILTER_QUOTE_MAX + 1; i++) {
		const char *w = p->tok[i];
		size_t len = strlen(w);

		if (n > 0 && strcmp(w, ")") != 0 && strcmp(p->tok[i - 1], "(") != 0)
			raw[n++] = ' ';
		if (len > sizeof(raw) - 1 - n)
			len = sizeof(raw) - 1 - n;
		memcpy(raw + n, w, len);
		n += len;
		raw[n] = '\0';
	}
	return quote(buf, raw);
}

/* Decimal digits only, at most @maxdigits of them, from @min to @max: ports, pids. */
static int parse_decimal(const char *w, size_t maxdigits, int64_t min, int64_t max, int64_t *ret)
{
	int64_t v = 0;
	size_t i;

	if (!w[0] || strlen(w) > maxdigits)
		return -EINVAL;
	for (i = 0; w[i]; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -EINVAL;
		v = v * 10 + (w[i] - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Reads the argument of @n's keyword (the word at p->pos) into @n. */
static int parse_arg(struct parser *p, struct node *n, const char *kw)
{
	static const char *const needs[] = {
		[NODE_HOST] = "an IPv4 or IPv6 address",
		[NODE_NET] = "an address or prefix such as 10.0.0.0/8 or 2001:db8::/32",
		[NODE_PORT] = "a number from 0 to 65535",
		[NODE_PROTO] = "tcp, udp, icmp, icmp6, sctp, gre, esp, ah or a number from 0 to 255",
		[NODE_IFACE] = "an interface name (at most 15 characters)",
		[NODE_EVENT] = "new, update, destroy or dump",
		[NODE_DIR] = "ingress or egress",
		[NODE_SOCKDIR] = "in, out or local",
		[NODE_PID] = "a process id (a number from 1 to 2147483647)",
		[NODE_COMM] = "a process name (at most 15 characters)",
	};
	char q[FILTER_QUOTE_MAX + 4], text[NR_ADDR_STRLEN + 4];
	const char *w = peek(p);
	bool paren;
	int r;

	if (!w)
		return set_err(p->err, p->errlen, "'%s' needs %s, got nothing", kw, needs[n->kind]);
	paren = strcmp(w, "(") == 0 || strcmp(w, ")") == 0;

	switch (n->kind) {
	case NODE_HOST: {
		struct nr_addr a;

		if (nr_addr_parse(w, &a) < 0 || nr_addr_format(&a, text, sizeof(text)) < 0)
			return set_err(p->err, p->errlen, "'%s' needs %s, got '%s'%s", kw,
				       needs[n->kind], quote(q, w),
				       strchr(w, '/') ? " (use 'net' for a prefix)" : "");
		n->text = strdup(text);
		break;
	}
	case NODE_NET: {
		struct nr_cidr c;
		int len;

		if (nr_cidr_parse(w, &c) < 0)
			return set_err(p->err, p->errlen, "'%s' needs %s, got '%s'", kw,
				       needs[n->kind], quote(q, w));
		len = nr_addr_format(&c.addr, text, sizeof(text));
		if (len < 0)
			return set_err(p->err, p->errlen, "'%s' needs %s, got '%s'", kw,
				       needs[n->kind], quote(q, w));
		snprintf(text + len, sizeof(text) - (size_t)len, "/%u", (unsigned)c.prefixlen);
		n->text = strdup(text);
		break;
	}
	case NODE_PORT:
	case NODE_PID:
		if (n->kind == NODE_PORT ? parse_decimal(w, 5, 0, 65535, &n->num) < 0
					 : parse_decimal(w, 10, 1, FILTER_PID_MAX, &n->num) < 0)
			return set_err(p->err, p->errlen, "'%s' needs %s, got '%s'", kw,
				       needs[n->kind], quote(q, w));
		return 0;
	case NODE_PROTO:
		r = nr_proto_number(w);
		if (r < 0)
			return set_err(p->err, p->errlen, "'%s' needs %s, got '%s'", kw,
				       needs[n->kind], quote(q, w));
		n->num = r;
		return 0;
	case NODE_IFACE:
	case NODE_COMM:
		/* Compared as stored (case matters). A name with a blank or a parenthesis, such as
		 * systemd's "(sd-pam)", cannot be given: the tokenizer splits there. */
		if (paren || strlen(w) > (n->kind == NODE_IFACE ? FILTER_IFNAME_MAX : FILTER_COMM_MAX))
			return set_err(p->err, p->errlen, "'%s' needs %s, got '%s'", kw,
				       needs[n->kind], quote(q, w));
		n->text = strdup(w);
		break;
	case NODE_EVENT:
	case NODE_DIR:
	case NODE_SOCKDIR: {
		/* Conntrack events, flow directions (the TC hook) and socket directions (who
		 * connected) as the recorder stores them: lower-case. */
		static const char *const events[] = { "new", "update", "destroy", "dump", NULL };
		static const char *const dirs[] = { "ingress", "egress", NULL };
		static const char *const sockdirs[] = { "in", "out", "local", NULL };
		const char *const *words = n->kind == NODE_EVENT ? events
					   : n->kind == NODE_DIR ? dirs : sockdirs;
		size_t i;

		for (i = 0; words[i]; i++)
			if (word_is(w, words[i]))
				break;
		if (!words[i])
			return set_err(p->err, p->errlen, "'%s' needs %s, got '%s'", kw,
				       needs[n->kind], quote(q, w));
		n->text = strdup(words[i]);
		break;
	}
	default:
		return -EINVAL;
	}
	return n->text ? 0 : -ENOMEM;
}

static int parse_prim(struct parser *p, struct node **ret)
{
	static const struct {
		const char *kw;
		enum node_kind kind;
		bool directed;
	} words[] = {
		{ "host", NODE_HOST, true },   { "net", NODE_NET, true },
		{ "port", NODE_PORT, true },   { "proto", NODE_PROTO, false },
		{ "iface", NODE_IFACE, false }, { "event", NODE_EVENT, false },
		{ "dir", NODE_DIR, false },    { "direction", NODE_SOCKDIR, false },
		{ "pid", NODE_PID, false },    { "comm", NODE_COMM, false },
	};
	char q[FILTER_QUOTE_MAX + 4], q2[FILTER_QUOTE_MAX + 4];
	size_t start = p->pos, i;
	enum node_dir dir = DIR_ANY;
	struct node *n;
	const char *w;
	int r;

	w = peek(p);
	if (word_is(w, "src") || word_is(w, "dst")) {
		dir = word_is(w, "src") ? DIR_SRC : DIR_DST;
		p->pos++;
		if (!peek(p))
			return set_err(p->err, p->errlen,
				       "'%s' at word %zu must be followed by host, net or port, got nothing",
				       quote(q, w), start + 1);
	}

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (word_is(peek(p), words[i].kw) && (dir == DIR_ANY || words[i].directed))
			break;
	if (i == sizeof(words) / sizeof(words[0])) {
		if (dir != DIR_ANY)
			return set_err(p->err, p->errlen,
				       "'%s' at word %zu must be followed by host, net or port, got '%s'",
				       quote(q, w), start + 1, quote(q2, peek(p)));
		return set_err(p->err, p->errlen, "unknown word '%s' at word %zu; expected " EXPECT_TERM,
			       quote(q, w), start + 1);
	}
	p->pos++;

	n = node_new(words[i].kind, dir);
	if (!n)
		return -ENOMEM;
	r = parse_arg(p, n, words[i].kw);
	if (r < 0) {
		node_free(n);
		return r;
	}
	p->pos++;
	p->prim_start = start;
	*ret = n;
	return 0;
}

static int parse_term(struct parser *p, struct node **ret)
{
	char q[FILTER_QUOTE_MAX + 4];
	struct node *kid = NULL, *n;
	const char *w = peek(p);
	bool is_not;
	int r;

	if (!w)
		/* Only reached after a word that needs more: "and", "or", "not" or "(". */
		return set_err(p->err, p->errlen,
			       "'%s' at word %zu needs a condition after it; expected " EXPECT_TERM,
			       quote(q, p->pos ? p->tok[p->pos - 1] : ""), p->pos);
	if (word_is(w, "and") || word_is(w, "or") || strcmp(w, ")") == 0)
		return set_err(p->err, p->errlen, "unexpected '%s' at word %zu; expected " EXPECT_TERM,
			       quote(q, w), p->pos + 1);

	is_not = word_is(w, "not");
	if (!is_not && strcmp(w, "(") != 0)
		return parse_prim(p, ret);

	if (p->depth >= FILTER_MAX_DEPTH)
		return set_err(p->err, p->errlen,
			       "more than %d levels of 'not' and '(' at word %zu",
			       FILTER_MAX_DEPTH, p->pos + 1);
	p->pos++;
	p->depth++;
	r = is_not ? parse_term(p, &kid) : parse_or(p, &kid);
	p->depth--;
	if (r < 0)
		return r;

	if (!is_not) {
		char t[FILTER_QUOTE_MAX + 4];

		if (!peek(p))
			r = set_err(p->err, p->errlen, "missing ')' after '%s'", tail_text(p, t));
		else if (strcmp(peek(p), ")") != 0)
			r = set_err(p->err, p->errlen,
				    "unexpected word '%s' at word %zu; expected and, or or ')'",
				    quote(q, peek(p)), p->pos + 1);
		if (r < 0) {
			node_free(kid);
			return r;
		}
		p->pos++;
		*ret = kid;
		return 0;
	}

	n = node_new(NODE_NOT, DIR_ANY);
	if (!n || node_add_kid(n, kid) < 0) {
		node_free(n);
		node_free(kid);
		return -ENOMEM;
	}
	*ret = n;
	return 0;
}

/* One of: term { "and" term } (@kind NODE_AND), and_expr { "or" and_expr } (NODE_OR). */
static int parse_list(struct parser *p, enum node_kind kind, struct node **ret)
{
	const char *op = kind == NODE_AND ? "and" : "or";
	struct node *n = NULL, *kid;
	int r;

	for (;;) {
		r = kind == NODE_AND ? parse_term(p, &kid) : parse_list(p, NODE_AND, &kid);
		if (r < 0)
			goto fail;
		if (!n && !peek_is(p, op)) {
			/* A single operand needs no node of its own. */
			*ret = kid;
			return 0;
		}
		if (!n) {
			n = node_new(kind, DIR_ANY);
			if (!n) {
				node_free(kid);
				r = -ENOMEM;
				goto fail;
			}
		}
		r = node_add_kid(n, kid);
		if (r < 0) {
			node_free(kid);
			goto fail;
		}
		if (!peek_is(p, op))
			break;
		p->pos++;
	}
	*ret = n;
	return 0;
fail:
	node_free(n);
	return r;
}

static int parse_or(struct parser *p, struct node **ret)
{
	return parse_list(p, NODE_OR, ret);
}

int nr_filter_parse(int argc, char *const *argv, struct nr_filter **ret, char *err, size_t errlen)
{
	struct tokens t = { 0 };
	struct nr_filter *f = NULL;
	struct parser p;
	char q[FILTER_QUOTE_MAX + 4];
	int r;

	if (argc < 0 || (argc > 0 && !argv) || !ret)
		return set_err(err, errlen, "invalid arguments");
	r = tokenize(argc, argv, &t);
	if (r < 0)
		goto out;
	f = calloc(1, sizeof(*f));
	if (!f) {
		r = -ENOMEM;
		goto out;
	}
	if (t.n == 0)
		goto out;

	p = (struct parser){ .tok = t.v, .ntok = t.n, .err = err, .errlen = errlen };
	r = parse_or(&p, &f->root);
	if (r < 0)
		goto out;
	if (p.pos < p.ntok) {
		if (strcmp(p.tok[p.pos], ")") == 0)
			r = set_err(err, errlen, "unmatched ')' at word %zu", p.pos + 1);
		else
			r = set_err(err, errlen,
				    "unexpected word '%s' at word %zu; expected and, or or the end of the filter",
				    quote(q, p.tok[p.pos]), p.pos + 1);
	}
out:
	tokens_clear(&t);
	if (r == -ENOMEM)
		set_err(err, errlen, "out of memory");
	if (r < 0) {
		nr_filter_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Compiler */

struct compiler {
	const struct nr_filter_cols *cols;
	char *sql;
	size_t len, cap;
	struct nr_sql_param *params;
	size_t nparams, cap_params;
	char *err;
	size_t errlen;
};

static int emit(struct compiler *c, const char *s)
{
	size_t n = strlen(s);

	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 64;
		char *p;

		while (cap < c->len + n + 1)
			cap *= 2;
		p = realloc(c->sql, cap);
		if (!p)
			return -ENOMEM;
		c->sql = p;
		c->cap = cap;
	}
	memcpy(c->sql + c->len, s, n + 1);
	c->len += n;
	return 0;
}

static int emit_param(struct compiler *c, const char *text, int64_t num)
{
	struct nr_sql_param *v = c->params;

	if (c->nparams == c->cap_params) {
		size_t cap = c->cap_params ? c->cap_params * 2 : 8;

		v = realloc(c->params, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->params = v;
		c->cap_params = cap;
	}
	v[c->nparams] = (struct nr_sql_param){ .is_text = !!text, .i = num };
	if (text) {
		v[c->nparams].s = strdup(text);
		if (!v[c->nparams].s)
			return -ENOMEM;
	}
	c->nparams++;
	return 0;
}

/* The columns for @n: src and/or dst, or sport and/or dport. Returns how many (at most 8). */
static size_t node_columns(const struct compiler *c, const struct node *n, const char *out[8])
{
	const char *const *a = n->kind == NODE_PORT ? c->cols->sport : c->cols->src;
	const char *const *b = n->kind == NODE_PORT ? c->cols->dport : c->cols->dst;
	size_t k = 0, i;

	/* The lists hold at most 4 names; index 4 is only ever the terminator. */
	if (n->dir != DIR_DST)
		for (i = 0; i < 4 && a[i] && a[i][0]; i++)
			out[k++] = a[i];
	if (n->dir != DIR_SRC)
		for (i = 0; i < 4 && b[i] && b[i][0]; i++)
			out[k++] = b[i];
	return k;
}

static int not_applicable(const struct compiler *c, const struct node *n)
{
	static const char *const kw[] = {
		[NODE_HOST] = "host", [NODE_NET] = "net",     [NODE_PORT] = "port",
		[NODE_PROTO] = "proto", [NODE_IFACE] = "iface",   [NODE_EVENT] = "event",
		[NODE_DIR] = "dir", [NODE_SOCKDIR] = "direction", [NODE_PID] = "pid",
		[NODE_COMM] = "comm",
	};
	const char *dir = n->dir == DIR_SRC ? "src " : n->dir == DIR_DST ? "dst " : "";

	return set_err(c->err, c->errlen, "'%s%s' does not apply to table %s", dir, kw[n->kind],
		       c->cols->table ? c->cols->table : "(unnamed)");
}

static int compile_node(struct compiler *c, const struct node *n)
{
	const char *cols[8], *col;
	size_t ncols, i;
	int r = 0;

	switch (n->kind) {
	case NODE_AND:
	case NODE_OR:
		r = emit(c, "(");
		for (i = 0; r >= 0 && i < n->nkids; i++) {
			if (i > 0)
				r = emit(c, n->kind == NODE_AND ? " AND " : " OR ");
			if (r >= 0)
				r = compile_node(c, n->kids[i]);
		}
		return r < 0 ? r : emit(c, ")");

	case NODE_NOT:
		/*
		 * A comparison with a NULL column is NULL, and NOT NULL is NULL again, so a plain
		 * NOT would drop rows whose column is NULL: "not host A" must keep a row with no
		 * src. Unknown counts as "does not match" before negating.
		 */
		r = emit(c, "NOT coalesce(");
		if (r >= 0)
			r = compile_node(c, n->kids[0]);
		return r < 0 ? r : emit(c, ", 0)");

	case NODE_HOST:
	case NODE_NET:
	case NODE_PORT:
		ncols = node_columns(c, n, cols);
		if (ncols == 0)
			return not_applicable(c, n);
		if (ncols > 1)
			r = emit(c, "(");
		for (i = 0; r >= 0 && i < ncols; i++) {
			if (i > 0)
				r = emit(c, " OR ");
			if (r >= 0 && n->kind == NODE_NET)
				r = emit(c, "in_cidr(");
			if (r >= 0)
				r = emit(c, cols[i]);
			if (r >= 0)
				r = emit(c, n->kind == NODE_NET ? ", ?)" : " = ?");
			if (r >= 0)
				r = emit_param(c, n->kind == NODE_PORT ? NULL : n->text, n->num);
		}
		if (r >= 0 && ncols > 1)
			r = emit(c, ")");
		return r;

	case NODE_PROTO:
	case NODE_IFACE:
	case NODE_EVENT:
	case NODE_DIR:
	case NODE_SOCKDIR:
	case NODE_PID:
	case NODE_COMM:
		col = n->kind == NODE_PROTO ? c->cols->proto :
		      n->kind == NODE_IFACE ? c->cols->iface :
		      n->kind == NODE_EVENT ? c->cols->event :
		      n->kind == NODE_DIR ? c->cols->dir :
		      n->kind == NODE_SOCKDIR ? c->cols->sockdir :
		      n->kind == NODE_PID ? c->cols->pid : c->cols->comm;
		if (!col || !col[0])
			return not_applicable(c, n);
		r = emit(c, col);
		if (r >= 0)
			r = emit(c, " = ?");
		if (r >= 0)
			r = emit_param(c, n->kind == NODE_PROTO || n->kind == NODE_PID ? NULL : n->text,
				       n->num);
		return r;
	}
	return -EINVAL;
}

void nr_sql_expr_clear(struct nr_sql_expr *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->nparams; i++)
		free(e->params[i].s);
	free(e->params);
	free(e->sql);
	*e = (struct nr_sql_expr){ 0 };
}

int nr_filter_compile(const struct nr_filter *f, const struct nr_filter_cols *cols,
		      struct nr_sql_expr *ret, char *err, size_t errlen)
{
	struct compiler c = { .cols = cols, .err = err, .errlen = errlen };
	struct nr_sql_expr e;
	int r;

	if (!f || !cols || !ret)
		return set_err(err, errlen, "invalid arguments");
	r = f->root ? compile_node(&c, f->root) : emit(&c, "1");
	e = (struct nr_sql_expr){ .sql = c.sql, .params = c.params, .nparams = c.nparams };
	if (r < 0) {
		nr_sql_expr_clear(&e);
		if (r == -ENOMEM)
			set_err(err, errlen, "out of memory");
		return r;
	}
	*ret = e;
	return 0;
}
