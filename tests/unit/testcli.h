/* SPDX-License-Identifier: MIT */
/*
 * Shared by the unit tests of netrec's reports: run nr_cli_main() as a user would ("netrec -d
 * TMPDIR ARGS..."), with stdout and stderr captured, and read CSV results by column. Include
 * after <cmocka.h>, "cli.h" and "testdir.h".
 */
#pragma once

#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- running netrec --------------------------------------------------------------------- */

struct result {
	int status;
	char *out, *err;
};

static inline char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t cap = 0, len = 0, n;

	assert_non_null(f);
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		n = fread(s + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	s[len] = '\0';
	fclose(f);
	return s;
}

/* Runs "netrec -d STORE ARGS..." (NULL-terminated) with stdout and stderr captured. */
static inline struct result run(const char *arg, ...)
{
	char *argv[40], *out_path = path_in(tmpdir, "stdout"), *err_path = path_in(tmpdir, "stderr");
	struct result res;
	int argc = 0, so, se, fo, fe;
	va_list ap;

	argv[argc++] = strdup("netrec");
	argv[argc++] = strdup("-d");
	argv[argc++] = strdup(tmpdir);
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 39);
		argv[argc++] = strdup(a);
	}
	va_end(ap);
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
	dup2(fo, 1);
	dup2(fe, 2);
	optind = 0; /* glibc: start getopt afresh for every run */
	res.status = nr_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	res.out = slurp(out_path);
	res.err = slurp(err_path);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "%s", res.err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(out_path);
	free(err_path);
	return res;
}

static inline void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* ---- reading CSV ------------------------------------------------------------------------ */

struct csv {
	char **cells; /* row-major; row 0 is the header */
	size_t nrows, ncols;
};

/* RFC 4180 as output.c writes it: CRLF after each record, "" for a quote inside quotes. */
static inline struct csv csv_parse(const char *s)
{
	struct csv c = { 0 };
	size_t cap = 0, col = 0;

	while (*s) {
		char *field = malloc(strlen(s) + 1);
		size_t n = 0;

		assert_non_null(field);
		if (*s == '"') {
			for (s++; *s && !(s[0] == '"' && s[1] != '"'); s++) {
				if (s[0] == '"')
					s++;
				field[n++] = *s;
			}
			if (*s == '"')
				s++;
		} else {
			while (*s && *s != ',' && *s != '\r' && *s != '\n')
				field[n++] = *s++;
		}
		field[n] = '\0';
		c.cells = realloc(c.cells, (cap + 1) * sizeof(*c.cells));
		assert_non_null(c.cells);
		c.cells[cap++] = field;
		col++;
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == '\r')
			s++;
		if (*s == '\n')
			s++;
		if (c.nrows == 0)
			c.ncols = col;
		else
			assert_int_equal(col, c.ncols);
		c.nrows++;
		col = 0;
	}
	return c;
}

static inline void csv_free(struct csv *c)
{
	for (size_t i = 0; i < c->nrows * c->ncols; i++)
		free(c->cells[i]);
	free(c->cells);
}

/* The values of column @name in every data row, joined with '|'. */
static inline char *column(const struct csv *c, const char *name)
{
	size_t k, len = 0;
	char *buf = NULL;
	FILE *f;

	for (k = 0; k < c->ncols; k++)
		if (strcmp(c->cells[k], name) == 0)
			break;
	if (k == c->ncols)
		fail_msg("no column '%s'", name);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	for (size_t r = 1; r < c->nrows; r++)
		fprintf(f, "%s%s", r > 1 ? "|" : "", c->cells[r * c->ncols + k]);
	fclose(f);
	return buf;
}

static inline void assert_column(const struct csv *c, const char *name, const char *want)
{
	char *got = column(c, name);

	if (strcmp(got, want) != 0)
		fail_msg("column %s:\n got  %s\n want %s", name, got, want);
	free(got);
}

/* netrec -f csv ARGS...: must succeed; returns the parsed rows. */
#define CSV(...) csv_run(run("-f", "csv", __VA_ARGS__, NULL))

static inline struct csv csv_run(struct result r)
{
	struct csv c;

	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_string_equal(r.err, "");
	c = csv_parse(r.out);
	assert_true(c.nrows >= 1); /* the header is always there */
	result_free(&r);
	return c;
}

/* Fails when @want is not in @out, with the whole output on stderr (cmocka cuts long
 * messages). */
static inline void assert_has(const char *out, const char *want)
{
	if (!strstr(out, want)) {
		fprintf(stderr, "output:\n%s", out);
		fail_msg("'%s' not in the output", want);
	}
}

/* A usage error: status 2, one line on stderr, nothing on stdout. Frees @r. */
static inline void expect_usage(const char *what, struct result r)
{
	char *nl;

	if (r.status != NR_EXIT_USAGE)
		fail_msg("%s: exit %d, want 2; stderr: %s", what, r.status, r.err);
	nl = strchr(r.err, '\n');
	if (!nl || nl[1] != '\0')
		fail_msg("%s: want one line on stderr, got: %s", what, r.err);
	assert_string_equal(r.out, "");
	result_free(&r);
}
