/* SPDX-License-Identifier: MIT */
/*
 * Shared by the unit tests that check what landed in a partition: SQL run through a separate
 * read-only connection, rows printed as the sqlite3 shell prints them. Include after
 * <cmocka.h> and <sqlite3.h>.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of @sql at @path, as the sqlite3 shell prints them ('|' between columns, '\n'
 * between rows, NULL as "NULL"), read through a separate read-only connection. */
static inline char *query(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool first = true;
	int rc;

	assert_non_null(f);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s: %s", path, sql, sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!first)
			fputc('\n', f);
		first = false;
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			if (i)
				fputc('|', f);
			if (sqlite3_column_type(st, i) == SQLITE_NULL)
				fputs("NULL", f);
			else
				fputs((const char *)sqlite3_column_text(st, i), f);
		}
	}
	if (rc != SQLITE_DONE)
		fail_msg("%s: %s: %s", path, sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(f);
	return out;
}

static inline int64_t query_i64(const char *path, const char *sql)
{
	char *got = query(path, sql);
	long long v = 0;

	if (sscanf(got, "%lld", &v) != 1)
		fail_msg("%s: '%s' is not a number", sql, got);
	free(got);
	return v;
}

static inline void assert_query(const char *path, const char *sql, const char *want)
{
	char *got = query(path, sql);

	if (strcmp(got, want) != 0)
		fail_msg("%s\n got: %s\nwant: %s", sql, got, want);
	free(got);
}
