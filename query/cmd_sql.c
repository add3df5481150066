// SPDX-License-Identifier: MIT
/*
 * netrec sql: ad-hoc read-only SQL over every table in the time range; netrec gaps: where the
 * recorder lost data or could not record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static char *read_all(FILE *f)
{
	size_t len = 0, cap = 4096;
	char *s = malloc(cap);

	while (s) {
		size_t n = fread(s + len, 1, cap - len - 1, f);

		len += n;
		if (n == 0)
			break;
		if (cap - len < 2) {
			char *ns = realloc(s, cap * 2);

			if (!ns) {
				free(s);
				return NULL;
			}
			s = ns;
			cap *= 2;
		}
	}
	if (s)
		s[len] = '\0';
	return s;
}

/* The first line of a statement, for error messages. */
static void stmt_head(const char *sql, char *buf, size_t len)
{
	size_t n;

	while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '\r')
		sql++;
	n = strcspn(sql, "\n");
	if (n > 60)
		n = 60;
	snprintf(buf, len, "%.*s%s", (int)n, sql, sql[n] ? "..." : "");
}

int nr_cmd_sql(struct nr_cli *cli, int argc, char **argv)
{
	struct nr_out *o = NULL;
	const char *tail;
	sqlite3 *db;
	char *sql;
	int r, nstmt = 0;

	if (argc < 2)
		return nr_cli_usage_error("sql needs a query, e.g. netrec sql 'SELECT count(*) FROM flows'"
					  " (or - to read it from standard input)");
	sql = argc == 2 && strcmp(argv[1], "-") == 0 ? read_all(stdin) : join_args(argc - 1, argv + 1);
	if (!sql)
		return nr_cli_error("out of memory");
	r = nr_cli_open_catalog(cli);
	if (r)
		goto out;
	db = nr_catalog_db(cli->cat);
	nr_catalog_lock_down(cli->cat);
	r = nr_out_new(cli->out, cli->fmt, cli->out_flags, &o);
	if (r < 0) {
		r = nr_cli_error("out of memory");
		goto out;
	}
	tail = sql;
	while (tail && *tail) {
		const char *start = tail;
		sqlite3_stmt *st = NULL;
		char head[80];
		int rc;

		rc = sqlite3_prepare_v2(db, start, -1, &st, &tail);
		stmt_head(start, head, sizeof(head));
		if (rc != SQLITE_OK) {
			if (rc == SQLITE_AUTH || strstr(sqlite3_errmsg(db), "may not be modified"))
				r = nr_cli_error("read-only: netrec sql cannot change, attach or extend the "
						 "store (%s)", head);
			else
				r = nr_cli_error("sql: %s", sqlite3_errmsg(db));
			goto out;
		}
		if (!st)
			continue; /* blank or comment */
		if (!sqlite3_stmt_readonly(st)) {
			sqlite3_finalize(st);
			r = nr_cli_error("read-only: netrec sql runs only statements that read (%s)", head);
			goto out;
		}
		r = nr_cli_write_stmt(cli, o, st);
		sqlite3_finalize(st);
		if (r)
			goto out;
		nstmt++;
	}
	if (!nstmt) {
		r = nr_cli_usage_error("sql: the query is empty");
		goto out;
	}
	r = nr_cli_done(cli);
out:
	nr_out_free(o);
	free(sql);
	return r;
}

int nr_cmd_gaps(struct nr_cli *cli, int argc, char **argv)
{
	static const char sql[] =
		"SELECT ts_start_ns, ts_end_ns, round((ts_end_ns - ts_start_ns) / 1e9, 3) AS seconds, "
		"source, reason, lost FROM gaps "
		"WHERE ?1 IS NULL OR source = ?1 ORDER BY ts_start_ns, source";
	struct nr_sql_param p = { 0 };
	int r;

	if (argc > 2)
		return nr_cli_usage_error("gaps takes at most one argument, a source name");
	if (argc == 2) {
		p.is_text = 1;
		p.s = argv[1];
	}
	r = nr_cli_open_catalog(cli);
	if (r)
		return r;
	if (argc == 2)
		r = nr_cli_query(cli, NULL, sql, &p, 1);
	else
		r = nr_cli_query(cli, NULL, sql, NULL, 0);
	return r ? r : nr_cli_done(cli);
}
