// SPDX-License-Identifier: MIT
/*
 * netrec info: what the store holds in the time range: partitions, span, rows per table,
 * size, and a summary of gaps. Counts are taken per partition with count(*), which SQLite
 * answers from the b-tree without reading rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nrtime.h"

/* count(*) of @table over the selected partitions, in the time range. */
static int64_t count_rows(struct nr_cli *cli, const char *table)
{
	int64_t since, until, total = 0;
	bool ranged;
	char sql[256];

	nr_catalog_range(cli->cat, &since, &until);
	ranged = since != NR_TIME_MIN || until != NR_TIME_MAX;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\" WHERE %s", table,
		 ranged ? nr_catalog_time_sql(table) : "1");
	for (size_t i = 0; i < nr_catalog_count(cli->cat); i++) {
		sqlite3 *db;
		sqlite3_stmt *st;

		/* Gaps are recorded when a blind period ends: later partitions may hold them. */
		if (strcmp(table, "gaps") != 0 && !nr_catalog_part_in_range(cli->cat, i))
			continue;
		db = nr_catalog_part_db(cli->cat, i);
		if (!db)
			continue;
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
			/* A partition of an older schema may lack a table: nothing to count. */
			if (strncmp(sqlite3_errmsg(db), "no such table", 13) == 0)
				continue;
			nr_catalog_part_fail(cli->cat, i, sqlite3_errmsg(db));
			continue;
		}
		if (ranged)
			nr_catalog_bind_range(cli->cat, st);
		if (sqlite3_step(st) == SQLITE_ROW)
			total += sqlite3_column_int64(st, 0);
		else
			nr_catalog_part_fail(cli->cat, i, sqlite3_errmsg(db));
		sqlite3_finalize(st);
	}
	return total;
}

static void meta_value(struct nr_cli *cli, size_t i, const char *key, char *buf, size_t len)
{
	sqlite3 *db = nr_catalog_part_db(cli->cat, i);
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (!db || sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) !=
			   SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* Is @item one of the entries of the ", "-separated @list? */
static bool in_list(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; (p = strstr(p, item)); p += n)
		if ((p == list || (p >= list + 2 && p[-2] == ',' && p[-1] == ' ')) &&
		    (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static struct nr_val text_val(const char *s)
{
	return (struct nr_val){ .type = NR_VAL_TEXT, .s = s, .len = strlen(s) };
}

static struct nr_val int_val(int64_t i)
{
	return (struct nr_val){ .type = NR_VAL_INT, .i = i };
}

static int kv(struct nr_out *o, const char *key, struct nr_val v)
{
	struct nr_val row[2] = { text_val(key), v };

	return nr_out_row(o, row);
}

static int summary(struct nr_cli *cli, struct nr_out *o)
{
	static const char *const names[] = { "key", "value" };
	size_t n = nr_catalog_count(cli->cat), used = 0, finalized = 0;
	int64_t since, until, first = 0, last = 0;
	uint64_t size = 0;
	char hosts[512] = "", host[256], synth[8];
	bool synthetic = false;
	char tbuf[64];
	int r;

	nr_catalog_range(cli->cat, &since, &until);
	for (size_t i = 0; i < n; i++) {
		const struct nr_cat_part *p = nr_catalog_part(cli->cat, i);

		if (!nr_catalog_part_in_range(cli->cat, i))
			continue;
		if (!used || p->start_ns < first)
			first = p->start_ns;
		if (!used || p->end_ns > last)
			last = p->end_ns;
		used++;
		size += p->size;
		finalized += p->finalized;
		meta_value(cli, i, "host", host, sizeof(host));
		if (host[0] && !in_list(hosts, host) && strlen(hosts) + strlen(host) + 3 < sizeof(hosts))
			snprintf(hosts + strlen(hosts), sizeof(hosts) - strlen(hosts), "%s%s",
				 hosts[0] ? ", " : "", host);
		meta_value(cli, i, "synthetic", synth, sizeof(synth));
		synthetic |= strcmp(synth, "1") == 0;
	}
	r = nr_out_begin(o, 2, names);
	if (r == 0)
		r = kv(o, "store", text_val(cli->ndb_files ? "files given with --db" : cli->data_dir));
	if (r == 0)
		r = kv(o, "partitions", int_val((int64_t)used));
	if (r == 0)
		r = kv(o, "partitions_open", int_val((int64_t)(used - finalized)));
	if (r == 0 && used && first != NR_TIME_MIN) {
		nr_time_format(first, 0, tbuf, sizeof(tbuf));
		r = kv(o, "first_partition_start", text_val(tbuf));
	}
	if (r == 0 && used && last != NR_TIME_MAX) {
		nr_time_format(last, 0, tbuf, sizeof(tbuf));
		r = kv(o, "last_partition_end", text_val(tbuf));
	}
	if (r == 0 && since != NR_TIME_MIN) {
		nr_time_format(since, 3, tbuf, sizeof(tbuf));
		r = kv(o, "range_since", text_val(tbuf));
	}
	if (r == 0 && until != NR_TIME_MAX) {
		nr_time_format(until, 3, tbuf, sizeof(tbuf));
		r = kv(o, "range_until", text_val(tbuf));
	}
	if (r == 0)
		r = kv(o, "size_bytes", int_val((int64_t)size));
	if (r == 0)
		r = kv(o, "hosts", text_val(hosts));
	if (r == 0 && synthetic)
		r = kv(o, "synthetic", text_val("yes: contains rows of the synthetic test source"));
	if (r == 0)
		r = kv(o, "partitions_unreadable", int_val((int64_t)nr_catalog_bad_count(cli->cat)));
	if (r == 0)
		r = nr_out_end(o);
	return r;
}

static int tables(struct nr_cli *cli, struct nr_out *o, const int64_t *counts)
{
	static const char *const names[] = { "table", "rows" };
	int r;

	r = nr_out_begin(o, 2, names);
	for (int t = 0; r == 0 && nr_catalog_tables[t]; t++) {
		struct nr_val row[2];

		if (strcmp(nr_catalog_tables[t], "meta") == 0)
			continue;
		row[0] = text_val(nr_catalog_tables[t]);
		row[1] = int_val(counts[t]);
		r = nr_out_row(o, row);
	}
	if (r == 0)
		r = nr_out_end(o);
	return r;
}

static int partitions(struct nr_cli *cli, struct nr_out *o)
{
	static const char *const names[] = { "partition", "start_ns", "end_ns", "size_bytes",
					     "state" };
	int r;

	r = nr_out_begin(o, 5, names);
	for (size_t i = 0; r == 0 && i < nr_catalog_count(cli->cat); i++) {
		const struct nr_cat_part *p = nr_catalog_part(cli->cat, i);
		struct nr_val row[5] = {
			text_val(p->name),
			p->start_ns == NR_TIME_MIN ? (struct nr_val){ 0 } : int_val(p->start_ns),
			p->end_ns == NR_TIME_MAX ? (struct nr_val){ 0 } : int_val(p->end_ns),
			int_val((int64_t)p->size),
			text_val(p->bad ? p->err : p->finalized ? "closed" : "open"),
		};

		r = nr_out_row(o, row);
	}
	if (r == 0)
		r = nr_out_end(o);
	return r;
}

int nr_cmd_info(struct nr_cli *cli, int argc, char **argv)
{
	int64_t counts[16] = { 0 };
	bool list = false;
	struct nr_out *o;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--partitions") == 0)
			list = true;
		else
			return nr_cli_usage_error("info: unknown argument '%s' (only --partitions)",
						  argv[i]);
	}
	r = nr_cli_open_catalog(cli);
	if (r)
		return r;
	if (nr_out_new(cli->out, cli->fmt, cli->out_flags, &o) < 0)
		return nr_cli_error("out of memory");
	/* Count first: opening the partitions finds the unreadable ones for the summary. */
	for (int t = 0; nr_catalog_tables[t]; t++)
		counts[t] = count_rows(cli, nr_catalog_tables[t]);
	r = summary(cli, o);
	if (r == 0)
		r = tables(cli, o, counts);
	if (r == 0 && list)
		r = partitions(cli, o);
	nr_out_free(o);
	if (r < 0)
		return nr_cli_output_error(r);
	r = nr_cli_query(cli, NULL,
			 "SELECT source, reason, count(*) AS gaps, sum(lost) AS lost, "
			 "min(ts_start_ns) AS first_ns, max(ts_end_ns) AS last_ns FROM gaps "
			 "GROUP BY source, reason ORDER BY source, reason",
			 NULL, 0);
	return r ? r : nr_cli_done(cli);
}
