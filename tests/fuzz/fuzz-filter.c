// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the filter shorthand of query/filter.h, the words a user types after a
 * report ("host 10.0.0.1 and port 80"). The input is split into words on blanks, parsed, and
 * compiled for each table's columns; then the same words are joined into one string and go
 * through again. Besides the sanitizers, checks what the module promises: a failure always
 * leaves a one-line message, a compiled expression has exactly one parameter per '?' and
 * never a quoted value pasted into the SQL, and separate words mean what one string means.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "filter.h"

/* The column sets the commands use (query/cli.c). */
static const char *const fuzz_tables[] = { "flows", "conntrack", "sockets" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_sep(char c)
{
	/* NUL too: the words reach the parser as C strings. */
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
	       c == '\0';
}

static void check_failed(const char *what, int r, const char *err)
{
	size_t i;

	if (r != -EINVAL && r != -ENOMEM) {
		fprintf(stderr, "%s returned %d\n", what, r);
		abort();
	}
	if (r == -EINVAL && err[0] == '\0') {
		fprintf(stderr, "%s failed with -EINVAL and no message\n", what);
		abort();
	}
	/* Words are quoted with control bytes as '?': one line, safe on a terminal. */
	for (i = 0; err[i]; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f) {
			fprintf(stderr, "%s: control byte 0x%02x in message: %s\n", what,
				(unsigned char)err[i], err);
			abort();
		}
}

static void check_expr(const struct nr_filter_cols *cols, const struct nr_sql_expr *e)
{
	size_t i, marks = 0;

	if (!e->sql) {
		fprintf(stderr, "%s: compiled to NULL SQL\n", cols->table);
		abort();
	}
	for (i = 0; e->sql[i]; i++) {
		if (e->sql[i] == '?')
			marks++;
		/* Values travel as parameters only; a quote means one was pasted in. */
		if (e->sql[i] == '\'' || e->sql[i] == '"' || e->sql[i] == ';') {
			fprintf(stderr, "%s: value pasted into SQL: %s\n", cols->table, e->sql);
			abort();
		}
	}
	if (marks != e->nparams) {
		fprintf(stderr, "%s: %zu '?' but %zu parameters: %s\n", cols->table, marks,
			e->nparams, e->sql);
		abort();
	}
	for (i = 0; i < e->nparams; i++)
		if (e->params[i].is_text && !e->params[i].s) {
			fprintf(stderr, "%s: text parameter %zu is NULL\n", cols->table, i);
			abort();
		}
}

#define FUZZ_NCOLS (sizeof(fuzz_tables) / sizeof(fuzz_tables[0]))

/* One parse and the compilations: the return codes, and the expressions that compiled. */
struct outcome {
	int parse_r;
	int compile_r[FUZZ_NCOLS];
	struct nr_sql_expr e[FUZZ_NCOLS];
};

static void outcome_clear(struct outcome *o)
{
	for (size_t i = 0; i < FUZZ_NCOLS; i++)
		nr_sql_expr_clear(&o->e[i]);
}

static void run(int argc, char *const *argv, struct outcome *o)
{
	struct nr_filter *f = NULL;
	char err[512];

	*o = (struct outcome){ 0 };
	err[0] = '\0';
	o->parse_r = nr_filter_parse(argc, argv, &f, err, sizeof(err));
	if (o->parse_r < 0) {
		check_failed("nr_filter_parse", o->parse_r, err);
		return;
	}
	for (size_t i = 0; i < FUZZ_NCOLS; i++) {
		err[0] = '\0';
		o->compile_r[i] = nr_filter_compile(f, nr_cli_filter_cols(fuzz_tables[i]), &o->e[i], err,
						   sizeof(err));
		if (o->compile_r[i] < 0)
			check_failed("nr_filter_compile", o->compile_r[i], err);
		else
			check_expr(nr_cli_filter_cols(fuzz_tables[i]), &o->e[i]);
	}
	nr_filter_free(f);
}

static bool expr_equal(const struct nr_sql_expr *a, const struct nr_sql_expr *b)
{
	if (!a->sql || !b->sql || strcmp(a->sql, b->sql) != 0 || a->nparams != b->nparams)
		return a->sql == b->sql;
	for (size_t i = 0; i < a->nparams; i++) {
		const struct nr_sql_param *x = &a->params[i], *y = &b->params[i];

		if (x->is_text != y->is_text || (x->is_text ? strcmp(x->s, y->s) != 0 : x->i != y->i))
			return false;
	}
	return true;
}

/* "Words may come as separate argv elements or in one string": both must mean the same. */
static void check_same(const struct outcome *words, const struct outcome *line, const char *s)
{
	bool same = words->parse_r == line->parse_r;

	for (size_t i = 0; same && words->parse_r == 0 && i < FUZZ_NCOLS; i++)
		same = words->compile_r[i] == line->compile_r[i] &&
		       expr_equal(&words->e[i], &line->e[i]);
	if (!same) {
		fprintf(stderr, "separate words and one string differ: '%s'\n", s);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome words, line;
	char *buf, *joined, **argv;
	size_t i, n = 0, argc = 0;

	/* Words are NUL-terminated in place in a copy; there are at most (size + 1) / 2. */
	buf = malloc(size + 1);
	joined = malloc(size + 1);
	argv = calloc(size / 2 + 2, sizeof(*argv));
	if (!buf || !joined || !argv)
		goto out;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i < size;) {
		while (i < size && is_sep(buf[i]))
			buf[i++] = '\0';
		if (i == size)
			break;
		argv[argc++] = &buf[i];
		while (i < size && !is_sep(buf[i]))
			i++;
	}
	/* The same words joined by single spaces, as one argv element. */
	joined[0] = '\0';
	for (i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]);

		if (i > 0)
			joined[n++] = ' ';
		memcpy(joined + n, argv[i], len + 1);
		n += len;
	}

	run((int)argc, argv, &words);
	run(1, &joined, &line);
	check_same(&words, &line, joined);
	outcome_clear(&words);
	outcome_clear(&line);
out:
	free(argv);
	free(joined);
	free(buf);
	return 0;
}
