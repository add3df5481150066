// SPDX-License-Identifier: MIT
/*
 * netrec export: one self-contained SQLite file holding every table for the time range (and an
 * optional filter on flows, conntrack and sockets), for a bug report. Stock sqlite3 opens it;
 * netrec --db FILE queries it like a data directory. Its meta says where it came from. The
 * file appears under its name only when complete (written aside, then renamed). With
 * --anonymize, addresses and MACs are replaced consistently (see anonymize()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "netrec-config.h"
#include "nrtime.h"
#include "store.h"

static int exec_out(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return nr_cli_error("export: %s", sqlite3_errmsg(db));
	return 0;
}

static int create_file(const char *path)
{
	sqlite3 *db = NULL;
	int r = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		r = nr_cli_error("export: cannot create %s: %s", path,
				 db ? sqlite3_errmsg(db) : "out of memory");
	} else if (nr_schema_apply(db) < 0) {
		r = nr_cli_error("export: cannot write the schema to %s: %s", path,
				 sqlite3_errmsg(db));
	}
	sqlite3_close(db);
	return r;
}

static int copy_table(struct nr_cli *cli, const char *table, const struct nr_filter *f,
		      int64_t *ret_rows)
{
	const struct nr_filter_cols *cols = nr_cli_filter_cols(table);
	sqlite3 *db = nr_catalog_db(cli->cat);
	struct nr_sql_expr e = { 0 };
	sqlite3_stmt *st;
	char err[512];
	char *sql;
	int r = 0;

	if (f && cols && nr_filter_compile(f, cols, &e, err, sizeof(err)) < 0) {
		/* The words parsed, so the table lacks one of them (iface on conntrack): the
		 * filter cannot select its rows, and all of them go into the export. */
		fprintf(stderr, "netrec: note: %s; %s exported unfiltered\n", err, table);
		memset(&e, 0, sizeof(e));
	}
	/* OR IGNORE: the same snapshot read from two inputs (overlapping --db files) is one. */
	sql = sqlite3_mprintf("INSERT OR IGNORE INTO out.\"%w\" SELECT * FROM temp.\"%w\" WHERE %s", table,
			      table, e.sql ? e.sql : "1");
	if (!sql) {
		nr_sql_expr_clear(&e);
		return nr_cli_error("out of memory");
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = nr_cli_error("export %s: %s", table, sqlite3_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < e.nparams; i++) {
		if (e.params[i].is_text)
			sqlite3_bind_text(st, (int)i + 1, e.params[i].s, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, (int)i + 1, e.params[i].i);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		r = nr_cli_error("export %s: %s", table, sqlite3_errmsg(db));
	else
		*ret_rows = sqlite3_changes64(db);
	sqlite3_finalize(st);
out:
	sqlite3_free(sql);
	nr_sql_expr_clear(&e);
	return r;
}

static int meta_put(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO out.meta(key, value) VALUES (?, ?)", -1,
			       &st, NULL) != SQLITE_OK)
		return nr_cli_error("export: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return nr_cli_error("export: %s", sqlite3_errmsg(db));
	return 0;
}

static int meta_put_i64(sqlite3 *db, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return meta_put(db, key, buf);
}

/* The export's own meta: where it came from and what window it holds. Per-partition values
 * (host, boot_id, kernel) are joined when partitions disagree. */
static int write_meta(struct nr_cli *cli, const char *filter_text)
{
	static const char *const joined[] = { "host", "boot_id", "kernel" };
	sqlite3 *db = nr_catalog_db(cli->cat);
	int64_t since, until, first = NR_TIME_MAX, last = NR_TIME_MIN;
	sqlite3_str *parts = sqlite3_str_new(db);
	char *list;
	char num[16];
	int r;

	nr_catalog_range(cli->cat, &since, &until);
	for (size_t i = 0; i < nr_catalog_count(cli->cat); i++) {
		const struct nr_cat_part *p = nr_catalog_part(cli->cat, i);

		/* Partitions after the range are in the catalog only for the gaps table. */
		if (p->bad || !nr_catalog_part_in_range(cli->cat, i))
			continue;
		sqlite3_str_appendf(parts, "%s%s", sqlite3_str_length(parts) ? "," : "", p->name);
		if (p->start_ns < first)
			first = p->start_ns;
		if (p->end_ns > last)
			last = p->end_ns;
	}
	list = sqlite3_str_finish(parts);
	snprintf(num, sizeof(num), "%d", NR_SCHEMA_VERSION);
	r = meta_put(db, "schema_version", num);
	for (size_t k = 0; r == 0 && k < sizeof(joined) / sizeof(joined[0]); k++) {
		sqlite3_stmt *st;
		char *sql = sqlite3_mprintf("SELECT group_concat(v, ', ') FROM (SELECT DISTINCT value "
					    "AS v FROM temp.meta WHERE key = '%q')",
					    joined[k]);

		if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
			sqlite3_free(sql);
			r = nr_cli_error("export: %s", sqlite3_errmsg(db));
			break;
		}
		sqlite3_free(sql);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			r = meta_put(db, joined[k], (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	if (r == 0)
		r = exec_out(db, "INSERT OR REPLACE INTO out.meta(key, value) SELECT 'synthetic', '1' "
				 "WHERE EXISTS (SELECT 1 FROM temp.meta WHERE key = 'synthetic' AND "
				 "value = '1')");
	if (r == 0)
		r = meta_put(db, "netrec_version", NETREC_VERSION);
	/* The window: the range asked for, else the partitions' windows, else (files given
	 * with --db have none) the span of the data itself. */
	if (r == 0 && (since != NR_TIME_MIN || first != NR_TIME_MAX))
		r = meta_put_i64(db, "partition_start_ns", since != NR_TIME_MIN ? since : first);
	if (r == 0 && (until != NR_TIME_MAX || last != NR_TIME_MIN))
		r = meta_put_i64(db, "partition_end_ns", until != NR_TIME_MAX ? until : last);
	if (r == 0 && first == NR_TIME_MIN && since == NR_TIME_MIN)
		r = nr_schema_note_span(db, "out", "partition_start_ns", "data_max_ns") < 0
			    ? nr_cli_error("export: %s", sqlite3_errmsg(db))
			    : 0;
	if (r == 0 && last == NR_TIME_MAX && until == NR_TIME_MAX)
		r = nr_schema_note_span(db, "out", "data_min_ns", "partition_end_ns") < 0
			    ? nr_cli_error("export: %s", sqlite3_errmsg(db))
			    : 0;
	if (r == 0)
		r = meta_put_i64(db, "exported_ns", nr_now_ns());
	if (r == 0 && since != NR_TIME_MIN)
		r = meta_put_i64(db, "export_since_ns", since);
	if (r == 0 && until != NR_TIME_MAX)
		r = meta_put_i64(db, "export_until_ns", until);
	if (r == 0)
		r = meta_put(db, "export_filter", filter_text);
	if (r == 0)
		r = meta_put(db, "source_partitions", list ? list : "");
	sqlite3_free(list);
	return r;
}

static int check_file(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	int r = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		r = nr_cli_error("export: cannot reopen %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	if (nr_schema_build_indexes(db) < 0) {
		r = nr_cli_error("export: indexes: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
		r = nr_cli_error("export: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		r = nr_cli_error("export: %s failed its integrity check", path);
	sqlite3_finalize(st);
out:
	sqlite3_close(db);
	return r;
}

/*
 * Anonymization: every distinct address becomes a documentation address, the same one
 * wherever it appears in the export (so joins and NAT pairs still line up): IPv4 from
 * 198.18.0.0/15, IPv6 from 2001:db8:ffff::/48. Loopback, unspecified and link-local-multicast
 * style addresses that identify nothing are kept. MAC addresses become 02:00:00:xx:xx:xx,
 * and meta host, boot_id and kernel are blanked.
 */
struct anon_col {
	const char *table, *col;
};

static const struct anon_col anon_addrs[] = {
	{ "flows", "src" },	      { "flows", "dst" },	 { "conntrack", "orig_src" },
	{ "conntrack", "orig_dst" },  { "conntrack", "reply_src" }, { "conntrack", "reply_dst" },
	{ "sockets", "src" },	      { "sockets", "dst" },	 { "addresses", "address" },
	{ "routes", "dst" },	      { "routes", "gateway" },	 { "routes", "prefsrc" },
	{ "neighbors", "address" },   { "listeners", "address" },
};

static const struct anon_col anon_macs[] = {
	{ "flows", "src_mac" }, { "flows", "dst_mac" }, { "links", "mac" }, { "neighbors", "lladdr" },
};

static void anon_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *a = (const char *)sqlite3_value_text(argv[0]);
	int64_t n = sqlite3_value_int64(argv[1]);
	int kind = sqlite3_value_int(argv[2]);
	char buf[64];

	if (!a) {
		sqlite3_result_null(ctx);
		return;
	}
	if (kind == 1) {
		snprintf(buf, sizeof(buf), "02:00:00:%02x:%02x:%02x", (unsigned)(n >> 16) & 0xff,
			 (unsigned)(n >> 8) & 0xff, (unsigned)n & 0xff);
	} else if (strcmp(a, "::") == 0 || strcmp(a, "::1") == 0 || strcmp(a, "0.0.0.0") == 0 ||
		   strncmp(a, "127.", 4) == 0) {
		snprintf(buf, sizeof(buf), "%s", a);
	} else if (strchr(a, ':')) {
		struct nr_addr x = { .family = AF_INET6 };

		/* 2001:db8:ffff::/48 plus the number, in canonical text like every stored
		 * address. */
		x.bytes[0] = 0x20;
		x.bytes[1] = 0x01;
		x.bytes[2] = 0x0d;
		x.bytes[3] = 0xb8;
		x.bytes[4] = 0xff;
		x.bytes[5] = 0xff;
		for (int i = 0; i < 8; i++)
			x.bytes[15 - i] = (uint8_t)((uint64_t)n >> (8 * i));
		if (nr_addr_format(&x, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "2001:db8::");
	} else {
		/* 198.18.0.0/15 holds 131072 addresses; beyond that, wrap (documented). */
		n %= 131072;
		snprintf(buf, sizeof(buf), "198.%u.%u.%u", 18 + (unsigned)(n >> 16),
			 (unsigned)(n >> 8) & 0xff, (unsigned)n & 0xff);
	}
	sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static int anonymize(sqlite3 *db)
{
	static const struct {
		const struct anon_col *cols;
		size_t n;
		int kind;
	} sets[] = {
		{ anon_addrs, sizeof(anon_addrs) / sizeof(anon_addrs[0]), 0 },
		{ anon_macs, sizeof(anon_macs) / sizeof(anon_macs[0]), 1 },
	};
	int r;

	if (sqlite3_create_function(db, "netrec_anon", 3, SQLITE_UTF8, NULL, anon_fn, NULL, NULL) !=
	    SQLITE_OK)
		return nr_cli_error("export: %s", sqlite3_errmsg(db));
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		r = exec_out(db, "DROP TABLE IF EXISTS temp.anon_map;"
				 "CREATE TEMP TABLE anon_map(a TEXT PRIMARY KEY, b TEXT)");
		for (size_t i = 0; r == 0 && i < sets[k].n; i++) {
			char *sql = sqlite3_mprintf("INSERT OR IGNORE INTO temp.anon_map(a) SELECT DISTINCT "
						    "\"%w\" FROM out.\"%w\" WHERE \"%w\" IS NOT NULL",
						    sets[k].cols[i].col, sets[k].cols[i].table,
						    sets[k].cols[i].col);

			r = sql ? exec_out(db, sql) : nr_cli_error("out of memory");
			sqlite3_free(sql);
		}
		if (r == 0) {
			char *sql = sqlite3_mprintf("UPDATE temp.anon_map SET b = netrec_anon(a, rowid, %d)",
						    sets[k].kind);

			r = sql ? exec_out(db, sql) : nr_cli_error("out of memory");
			sqlite3_free(sql);
		}
		for (size_t i = 0; r == 0 && i < sets[k].n; i++) {
			char *sql = sqlite3_mprintf("UPDATE out.\"%w\" SET \"%w\" = (SELECT b FROM "
						    "temp.anon_map WHERE a = \"%w\") WHERE \"%w\" IS NOT NULL",
						    sets[k].cols[i].table, sets[k].cols[i].col,
						    sets[k].cols[i].col, sets[k].cols[i].col);

			r = sql ? exec_out(db, sql) : nr_cli_error("out of memory");
			sqlite3_free(sql);
		}
		if (r)
			return r;
	}
	/* The filter as typed may name real addresses. A link's attributes (links.info) may hold
	 * tunnel endpoints (VXLAN remote, local, group): those keys are dropped. */
	return exec_out(db, "UPDATE out.links SET info = json_remove(info, '$.remote', '$.local', "
			    "'$.group') WHERE info IS NOT NULL;"
			    "UPDATE out.meta SET value = '' WHERE key IN ('host', 'boot_id', 'kernel');"
			    "UPDATE out.meta SET value = '(anonymized)' WHERE key = 'export_filter' AND "
			    "value != '';"
			    "INSERT OR REPLACE INTO out.meta(key, value) VALUES ('anonymized', '1');"
			    "DROP TABLE temp.anon_map");
}

static char *words(int argc, char **argv)
{
	sqlite3_str *s = sqlite3_str_new(NULL);

	for (int i = 0; i < argc; i++)
		sqlite3_str_appendf(s, "%s%s", i ? " " : "", argv[i]);
	return sqlite3_str_finish(s);
}

int nr_cmd_export(struct nr_cli *cli, int argc, char **argv)
{
	const char *out = NULL;
	struct nr_filter *f = NULL;
	char err[512], *tmp = NULL, *ftext = NULL, *attach = NULL;
	bool force = false, anon = false;
	int64_t total = 0;
	int i, r, fd;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
			if (++i == argc)
				return nr_cli_usage_error("export: %s needs a file name", argv[i - 1]);
			out = argv[i];
		} else if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (strcmp(argv[i], "--anonymize") == 0) {
			anon = true;
		} else {
			break;
		}
	}
	if (!out)
		return nr_cli_usage_error("export needs -o FILE");
	r = nr_filter_parse(argc - i, argv + i, &f, err, sizeof(err));
	if (r < 0)
		return nr_cli_usage_error("%s", err);
	ftext = words(argc - i, argv + i);
	if (!force && access(out, F_OK) == 0) {
		r = nr_cli_error("export: %s exists (use --force to replace it)", out);
		goto done;
	}
	if (asprintf(&tmp, "%s.tmp-%d", out, (int)getpid()) < 0) {
		tmp = NULL;
		r = nr_cli_error("out of memory");
		goto done;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = nr_cli_error("export: cannot create %s: %m", tmp);
		free(tmp);
		tmp = NULL;
		goto done;
	}
	close(fd);
	r = create_file(tmp);
	if (r)
		goto done;
	r = nr_cli_open_catalog(cli);
	if (r)
		goto done;
	attach = sqlite3_mprintf("ATTACH %Q AS out", tmp);
	r = exec_out(nr_catalog_db(cli->cat), attach);
	if (r == 0)
		r = exec_out(nr_catalog_db(cli->cat), "BEGIN");
	for (int t = 0; r == 0 && nr_catalog_tables[t]; t++) {
		int64_t rows = 0;

		if (strcmp(nr_catalog_tables[t], "meta") == 0)
			continue;
		r = copy_table(cli, nr_catalog_tables[t], f, &rows);
		total += rows;
	}
	if (r == 0)
		r = write_meta(cli, ftext ? ftext : "");
	if (r == 0 && anon)
		r = anonymize(nr_catalog_db(cli->cat));
	if (r == 0)
		r = exec_out(nr_catalog_db(cli->cat), "COMMIT");
	if (r == 0)
		r = exec_out(nr_catalog_db(cli->cat), "DETACH out");
	if (r == 0)
		r = check_file(tmp);
	/* Immutable like a closed partition: netrec --db reads it as one. */
	if (r == 0 && chmod(tmp, 0444) < 0)
		r = nr_cli_error("export: chmod %s: %m", tmp);
	if (r == 0 && rename(tmp, out) < 0)
		r = nr_cli_error("export: cannot rename %s to %s: %m", tmp, out);
	if (r == 0) {
		struct stat st;

		fprintf(stderr, "netrec: exported %lld rows from %zu partition(s) to %s (%lld bytes)\n",
			(long long)total, nr_catalog_count(cli->cat) - nr_catalog_bad_count(cli->cat),
			out, stat(out, &st) == 0 ? (long long)st.st_size : 0LL);
		r = nr_cli_done(cli);
	}
done:
	if (tmp && r != 0 && r != NR_EXIT_PARTIAL)
		unlink(tmp);
	free(tmp);
	sqlite3_free(attach);
	sqlite3_free(ftext);
	nr_filter_free(f);
	return r;
}
