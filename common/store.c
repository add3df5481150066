// SPDX-License-Identifier: MIT
/*
 * The store: partition files, schema, batched inserts, finalization and retention
 * (see store.h). Only this file of the recorder includes sqlite3.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <sqlite3.h>

#include "nrtime.h"
#include "store.h"

extern const char *const nr_schema_sql[];
extern const size_t nr_schema_sql_count;

/* ---- records ------------------------------------------------------------------------- */

static const char *const table_names[NR_T_COUNT] = {
	[NR_T_FLOWS] = "flows",		[NR_T_CONNTRACK] = "conntrack",
	[NR_T_SOCKETS] = "sockets",	[NR_T_SNAPSHOTS] = "snapshots",
	[NR_T_LINKS] = "links",		[NR_T_ADDRESSES] = "addresses",
	[NR_T_ROUTES] = "routes",	[NR_T_NEIGHBORS] = "neighbors",
	[NR_T_LISTENERS] = "listeners", [NR_T_GAPS] = "gaps",
	[NR_T_HEALTH] = "health",
};

static const char *const source_names[NR_SRC_COUNT] = {
	[NR_SRC_RECORDER] = "recorder", [NR_SRC_FLOWS] = "flows",
	[NR_SRC_CONNTRACK] = "conntrack", [NR_SRC_SOCKETS] = "sockets",
	[NR_SRC_TOPOLOGY] = "topology",	  [NR_SRC_SYNTHETIC] = "synthetic",
};

const char *nr_table_name(enum nr_table t)
{
	return t < NR_T_COUNT ? table_names[t] : "?";
}

const char *nr_source_name(enum nr_source_id s)
{
	return s < NR_SRC_COUNT ? source_names[s] : "?";
}

void nr_record_gap(struct nr_record *r, enum nr_source_id src, int64_t start_ns, int64_t end_ns,
		   const char *reason, int64_t lost)
{
	memset(r, 0, sizeof(*r));
	r->table = NR_T_GAPS;
	r->source = src;
	r->gap.ts_start_ns = start_ns;
	r->gap.ts_end_ns = end_ns;
	snprintf(r->gap.source, sizeof(r->gap.source), "%s", nr_source_name(src));
	snprintf(r->gap.reason, sizeof(r->gap.reason), "%s", reason);
	r->gap.lost = lost;
}

void nr_record_health(struct nr_record *r, enum nr_source_id src, int64_t ts_ns,
		      const char *metric, double value)
{
	memset(r, 0, sizeof(*r));
	r->table = NR_T_HEALTH;
	r->source = src;
	r->health.ts_ns = ts_ns;
	snprintf(r->health.source, sizeof(r->health.source), "%s", nr_source_name(src));
	snprintf(r->health.metric, sizeof(r->health.metric), "%s", metric);
	r->health.value = value;
}

/* ---- names --------------------------------------------------------------------------- */

int64_t nr_part_align(int64_t t_ns, int64_t width_ns)
{
	int64_t r = t_ns % width_ns;

	return r < 0 ? t_ns - r - width_ns : t_ns - r;
}

int nr_part_name(int64_t start_ns, int64_t width_ns, char *buf, size_t len)
{
	char ts[32];

	if (width_ns < NR_NS_PER_SEC || width_ns % NR_NS_PER_SEC || start_ns % NR_NS_PER_SEC)
		return -EINVAL;
	if (nr_time_format_compact(start_ns, ts, sizeof(ts)) < 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s-%llds%s", ts, (long long)(width_ns / NR_NS_PER_SEC),
			     NR_PART_SUFFIX) >= len)
		return -ENOSPC;
	return 0;
}

int nr_part_name_parse(const char *name, int64_t *ret_start_ns, int64_t *ret_width_ns)
{
	char ts[17], *end;
	long long w;
	int64_t start;

	if (strlen(name) < 16 + 5 || name[16] != '-')
		return -EINVAL;
	memcpy(ts, name, 16);
	ts[16] = '\0';
	if (nr_time_parse_compact(ts, &start) < 0)
		return -EINVAL;
	if (name[17] < '1' || name[17] > '9')
		return -EINVAL;
	errno = 0;
	w = strtoll(name + 17, &end, 10);
	if (errno || w <= 0 || w > 366LL * 86400 || strcmp(end, "s" NR_PART_SUFFIX) != 0)
		return -EINVAL;
	*ret_start_ns = start;
	*ret_width_ns = w * NR_NS_PER_SEC;
	return 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int cmp_parts(const void *a, const void *b)
{
	const struct nr_part_info *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->width_ns != y->width_ns)
		return x->width_ns < y->width_ns ? -1 : 1;
	return 0;
}

void nr_store_list_free(struct nr_part_info *parts, size_t n)
{
	if (!parts)
		return;
	for (size_t i = 0; i < n; i++)
		free(parts[i].path);
	free(parts);
}

int nr_store_list(const char *dir, struct nr_part_info **ret, size_t *ret_n)
{
	struct nr_part_info *parts = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct nr_part_info *p;
		char side[PATH_MAX];
		struct stat st;
		int64_t start, width;

		if (nr_part_name_parse(de->d_name, &start, &width) < 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct nr_part_info *np = realloc(parts, ncap * sizeof(*np));

			if (!np) {
				r = -ENOMEM;
				break;
			}
			parts = np;
			cap = ncap;
		}
		p = &parts[n];
		memset(p, 0, sizeof(*p));
		p->start_ns = start;
		p->width_ns = width;
		snprintf(p->name, sizeof(p->name), "%.63s", de->d_name);
		if (asprintf(&p->path, "%s/%s", dir, de->d_name) < 0) {
			p->path = NULL;
			r = -ENOMEM;
			break;
		}
		n++;
		if (stat(p->path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(p->path);
			n--;
			continue;
		}
		p->size = (uint64_t)st.st_size;
		snprintf(side, sizeof(side), "%s-wal", p->path);
		p->finalized = !(st.st_mode & 0222) && !file_exists(side);
		p->size += file_size(side);
		snprintf(side, sizeof(side), "%s-shm", p->path);
		p->size += file_size(side);
	}
	closedir(d);
	if (r < 0) {
		nr_store_list_free(parts, n);
		return r;
	}
	if (n)
		qsort(parts, n, sizeof(*parts), cmp_parts);
	*ret = parts;
	*ret_n = n;
	return 0;
}

int nr_store_last_seen(const char *dir, int64_t *ret_ns)
{
	struct nr_part_info *parts;
	size_t n;
	int r = -ENOENT;

	if (nr_store_list(dir, &parts, &n) < 0)
		return -ENOENT;
	/* Newest first; a partition may be empty or unreadable, then look further back. */
	for (size_t i = n; i-- > 0 && r < 0;) {
		sqlite3 *db = NULL;
		sqlite3_stmt *st;

		if (sqlite3_open_v2(parts[i].path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, "SELECT max(ts_ns) FROM health", -1, &st, NULL) ==
			    SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW &&
			    sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
				*ret_ns = sqlite3_column_int64(st, 0);
				r = 0;
			}
			sqlite3_finalize(st);
		}
		sqlite3_close(db);
	}
	nr_store_list_free(parts, n);
	return r;
}

int nr_store_lock(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, NR_LOCK_NAME);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return r;
	}
	return fd;
}

static void read_line_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

void nr_meta_info_fill(struct nr_meta_info *m, const char *version, bool synthetic)
{
	struct utsname u;

	memset(m, 0, sizeof(*m));
	if (gethostname(m->host, sizeof(m->host) - 1) < 0)
		snprintf(m->host, sizeof(m->host), "unknown");
	read_line_file("/proc/sys/kernel/random/boot_id", m->boot_id, sizeof(m->boot_id));
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
	m->version = version;
	m->synthetic = synthetic;
}

/* ---- SQL helpers --------------------------------------------------------------------- */

int nr_sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int exec(sqlite3 *db, const char *sql)
{
	return nr_sqlite_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/*
 * Journal modes. A partition is in WAL while it is written and in the rollback-journal format
 * once it is closed, so that any reader (stock sqlite3, a user without write access) can open it
 * without a -wal or -shm. The trap: SQLite writes the header change of a switch between the two
 * (PRAGMA journal_mode = WAL from DELETE, or back) in a rollback-journal transaction, and a
 * rollback-journal transaction killed midway leaves a hot -journal, which only a writer can roll
 * back: every read-only open of the file then fails ("attempt to write a readonly database")
 * until netrecd starts again. So the switches go through journal_mode OFF, which writes the
 * header (a few bytes of page 1) with no journal at all, and every change of content happens in
 * WAL, where a kill leaves at most uncommitted frames that readers skip.
 */

/* Runs the journal_mode pragma @sql; true in *ret_wal when the connection is in WAL after it. */
static int journal_mode(sqlite3 *db, const char *sql, bool *ret_wal)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return nr_sqlite_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_wal = strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : nr_sqlite_errno(rc);
}

/* Puts @db in WAL without a rollback journal. Where WAL cannot be had (SQLite then answers
 * with the old mode, no error), back to DELETE: never left writing in journal mode OFF. */
static int wal_enter(sqlite3 *db)
{
	bool wal = false;
	int r;

	r = journal_mode(db, "PRAGMA journal_mode", &wal);
	if (r < 0 || wal)
		return r;
	r = exec(db, "PRAGMA journal_mode = OFF");
	if (r >= 0)
		r = journal_mode(db, "PRAGMA journal_mode = WAL", &wal);
	if (r >= 0 && !wal)
		r = exec(db, "PRAGMA journal_mode = DELETE");
	return r;
}

static int user_version(sqlite3 *db, int *ret)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return nr_sqlite_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : nr_sqlite_errno(rc);
}

int nr_schema_migrate(sqlite3 *db, const char *const *scripts, size_t nscripts)
{
	int target = (int)nscripts, v = 0, r;
	char sql[64];

	r = user_version(db, &v);
	if (r < 0)
		return r;
	if (v > target)
		return -EPROTONOSUPPORT;
	if (v == target)
		return v;
	r = exec(db, "SAVEPOINT nr_schema");
	if (r < 0)
		return r;
	/* scripts[k] takes a database from version k to k + 1, in order, all or nothing. */
	for (int k = v; k < target; k++) {
		r = exec(db, scripts[k]);
		if (r < 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", target);
	r = exec(db, sql);
	if (r < 0)
		goto fail;
	r = exec(db, "RELEASE nr_schema");
	if (r < 0)
		goto fail;
	return v;
fail:
	exec(db, "ROLLBACK TO nr_schema");
	exec(db, "RELEASE nr_schema");
	return r;
}

int nr_schema_apply(sqlite3 *db)
{
	/* The build embeds one script per version (tools/embed.py). */
	if (nr_schema_sql_count != NR_SCHEMA_VERSION)
		return -EIO;
	return nr_schema_migrate(db, nr_schema_sql, nr_schema_sql_count);
}

int nr_schema_note_span(sqlite3 *db, const char *schema, const char *min_key,
			const char *max_key)
{
	char *sql = sqlite3_mprintf(
		"INSERT OR REPLACE INTO \"%w\".meta(key, value) SELECT %Q, min(t) FROM ("
		"SELECT min(ts_start_ns) t FROM \"%w\".flows UNION ALL SELECT min(ts_ns) FROM \"%w\".conntrack "
		"UNION ALL SELECT min(ts_ns) FROM \"%w\".sockets UNION ALL SELECT min(ts_ns) FROM \"%w\".snapshots "
		"UNION ALL SELECT min(ts_start_ns) FROM \"%w\".gaps UNION ALL SELECT min(ts_ns) FROM \"%w\".health) "
		"HAVING min(t) IS NOT NULL;"
		"INSERT OR REPLACE INTO \"%w\".meta(key, value) SELECT %Q, max(t) FROM ("
		"SELECT max(ts_end_ns) t FROM \"%w\".flows UNION ALL SELECT max(ts_ns) FROM \"%w\".conntrack "
		"UNION ALL SELECT max(ts_ns) FROM \"%w\".sockets UNION ALL SELECT max(ts_ns) FROM \"%w\".snapshots "
		"UNION ALL SELECT max(ts_end_ns) FROM \"%w\".gaps UNION ALL SELECT max(ts_ns) FROM \"%w\".health) "
		"HAVING max(t) IS NOT NULL;",
		schema, min_key, schema, schema, schema, schema, schema, schema, schema, max_key, schema,
		schema, schema, schema, schema, schema);
	int r;

	if (!sql)
		return -ENOMEM;
	r = exec(db, sql);
	sqlite3_free(sql);
	return r;
}

int nr_schema_build_indexes(sqlite3 *db)
{
	/* Lookup indexes, built once when a partition closes: on the open partition they would
	 * cost ingest speed (random keys such as addresses fall to ~50k rows/s once the index
	 * outgrows the page cache; docs/performance.md). */
	static const char sql[] =
		"CREATE INDEX IF NOT EXISTS flows_ts ON flows(ts_start_ns);"
		"CREATE INDEX IF NOT EXISTS flows_src ON flows(src);"
		"CREATE INDEX IF NOT EXISTS flows_dst ON flows(dst);"
		"CREATE INDEX IF NOT EXISTS conntrack_ts ON conntrack(ts_ns);"
		"CREATE INDEX IF NOT EXISTS conntrack_orig_src ON conntrack(orig_src);"
		"CREATE INDEX IF NOT EXISTS conntrack_orig_dst ON conntrack(orig_dst);"
		"CREATE INDEX IF NOT EXISTS conntrack_reply_src ON conntrack(reply_src);"
		"CREATE INDEX IF NOT EXISTS conntrack_reply_dst ON conntrack(reply_dst);"
		"CREATE INDEX IF NOT EXISTS sockets_ts ON sockets(ts_ns);"
		"CREATE INDEX IF NOT EXISTS sockets_src ON sockets(src);"
		"CREATE INDEX IF NOT EXISTS sockets_dst ON sockets(dst);"
		"CREATE INDEX IF NOT EXISTS snapshots_ts ON snapshots(ts_ns);"
		"CREATE INDEX IF NOT EXISTS links_snapshot ON links(snapshot_id);"
		"CREATE INDEX IF NOT EXISTS addresses_snapshot ON addresses(snapshot_id);"
		"CREATE INDEX IF NOT EXISTS routes_snapshot ON routes(snapshot_id);"
		"CREATE INDEX IF NOT EXISTS neighbors_snapshot ON neighbors(snapshot_id);"
		"CREATE INDEX IF NOT EXISTS listeners_snapshot ON listeners(snapshot_id);"
		"PRAGMA analysis_limit = 1000;"
		"ANALYZE;";

	return exec(db, sql);
}

static int meta_set(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", -1,
				&st, NULL);
	if (rc != SQLITE_OK)
		return nr_sqlite_errno(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : nr_sqlite_errno(rc);
}

static int meta_set_i64(sqlite3 *db, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return meta_set(db, key, buf);
}

/* ---- writing ------------------------------------------------------------------------- */

static const char *const insert_sql[NR_T_COUNT] = {
	[NR_T_FLOWS] = "INSERT INTO flows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[NR_T_CONNTRACK] = "INSERT INTO conntrack VALUES "
			   "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[NR_T_SOCKETS] = "INSERT INTO sockets VALUES "
			 "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[NR_T_SNAPSHOTS] = "INSERT OR REPLACE INTO snapshots VALUES (?,?,?,?,?,?)",
	[NR_T_LINKS] = "INSERT INTO links VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[NR_T_ADDRESSES] = "INSERT INTO addresses VALUES (?,?,?,?,?,?,?)",
	[NR_T_ROUTES] = "INSERT INTO routes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[NR_T_NEIGHBORS] = "INSERT INTO neighbors VALUES (?,?,?,?,?)",
	[NR_T_LISTENERS] = "INSERT INTO listeners VALUES (?,?,?,?,?,?,?)",
	[NR_T_GAPS] = "INSERT INTO gaps VALUES (?,?,?,?,?)",
	[NR_T_HEALTH] = "INSERT INTO health VALUES (?,?,?,?)",
};

struct nr_part {
	sqlite3 *db;
	sqlite3_stmt *ins[NR_T_COUNT];
	char *path;
	int64_t start_ns, width_ns;
	int64_t min_ts_ns, max_ts_ns; /* of rows written by this handle */
	bool in_txn;
};

int64_t nr_part_start_ns(const struct nr_part *p)
{
	return p->start_ns;
}

int64_t nr_part_end_ns(const struct nr_part *p)
{
	return p->start_ns + p->width_ns;
}

const char *nr_part_path(const struct nr_part *p)
{
	return p->path;
}

const char *nr_part_errmsg(const struct nr_part *p)
{
	return p && p->db ? sqlite3_errmsg(p->db) : "no database";
}

static void part_free(struct nr_part *p)
{
	if (!p)
		return;
	for (int t = 0; t < NR_T_COUNT; t++)
		sqlite3_finalize(p->ins[t]);
	sqlite3_close(p->db);
	free(p->path);
	free(p);
}

static int write_meta(sqlite3 *db, const struct nr_meta_info *m, int64_t start_ns,
		      int64_t width_ns)
{
	char v[16];
	int r;

	snprintf(v, sizeof(v), "%d", NR_SCHEMA_VERSION);
	r = meta_set(db, "schema_version", v);
	if (r >= 0)
		r = meta_set(db, "host", m->host);
	if (r >= 0)
		r = meta_set(db, "boot_id", m->boot_id);
	if (r >= 0)
		r = meta_set(db, "kernel", m->kernel);
	if (r >= 0)
		r = meta_set(db, "netrec_version", m->version ? m->version : "");
	if (r >= 0)
		r = meta_set_i64(db, "partition_start_ns", start_ns);
	if (r >= 0)
		r = meta_set_i64(db, "partition_end_ns", start_ns + width_ns);
	if (r >= 0 && m->synthetic)
		r = meta_set(db, "synthetic", "1");
	return r;
}

static void set_err(char *err, size_t errlen, sqlite3 *db, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

int nr_part_open(const char *dir, int64_t start_ns, int64_t width_ns,
		 const struct nr_meta_info *meta, struct nr_part **ret, char *err, size_t errlen)
{
	struct nr_part *p;
	char name[64];
	struct stat st;
	int r, rc, v;

	r = nr_part_name(start_ns, width_ns, name, sizeof(name));
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->start_ns = start_ns;
	p->width_ns = width_ns;
	p->min_ts_ns = INT64_MAX;
	p->max_ts_ns = INT64_MIN;
	if (asprintf(&p->path, "%s/%s", dir, name) < 0) {
		p->path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	if (stat(p->path, &st) == 0 && !(st.st_mode & 0222)) {
		r = -EROFS;
		goto fail;
	}
	/* NOMUTEX: a partition handle is used by one thread at a time (the writer), so SQLite's
	 * per-call connection mutex is pure cost on the ingest path. */
	rc = sqlite3_open_v2(p->path, &p->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, p->db, "open");
		r = nr_sqlite_errno(rc);
		if (r == -ENOENT)
			r = errno == EACCES || errno == EROFS ? -EACCES : -ENOENT;
		goto fail;
	}
	sqlite3_busy_timeout(p->db, 5000);
	/* WAL with synchronous=NORMAL: a crash loses at most the last transactions, never the
	 * file's integrity. The page cache is sized for the open partition's tables, which have
	 * no secondary indexes until finalization. */
	r = wal_enter(p->db);
	if (r >= 0)
		r = exec(p->db, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;"
				"PRAGMA journal_size_limit = 67108864;");
	if (r < 0) {
		set_err(err, errlen, p->db, "pragmas");
		goto fail;
	}
	r = exec(p->db, "BEGIN IMMEDIATE");
	if (r < 0) {
		set_err(err, errlen, p->db, "begin");
		goto fail;
	}
	v = nr_schema_apply(p->db);
	if (v < 0) {
		r = v;
		set_err(err, errlen, p->db, "schema");
		exec(p->db, "ROLLBACK");
		goto fail;
	}
	if (v == 0) {
		r = write_meta(p->db, meta, start_ns, width_ns);
	} else {
		char sv[16];

		/* Resumed (or migrated): the schema is current now; a synthetic run marks it. */
		snprintf(sv, sizeof(sv), "%d", NR_SCHEMA_VERSION);
		r = meta_set(p->db, "schema_version", sv);
		if (r >= 0 && meta->synthetic)
			r = meta_set(p->db, "synthetic", "1");
	}
	if (r >= 0)
		r = exec(p->db, "COMMIT");
	if (r < 0) {
		set_err(err, errlen, p->db, "meta");
		exec(p->db, "ROLLBACK");
		goto fail;
	}
	for (int t = 0; t < NR_T_COUNT; t++) {
		rc = sqlite3_prepare_v3(p->db, insert_sql[t], -1, SQLITE_PREPARE_PERSISTENT,
					&p->ins[t], NULL);
		if (rc != SQLITE_OK) {
			set_err(err, errlen, p->db, "prepare");
			r = nr_sqlite_errno(rc);
			goto fail;
		}
	}
	*ret = p;
	return 0;
fail:
	part_free(p);
	return r;
}

int nr_part_begin(struct nr_part *p)
{
	int r;

	if (p->in_txn)
		return 0;
	r = exec(p->db, "BEGIN");
	if (r == 0)
		p->in_txn = true;
	return r;
}

int nr_part_commit(struct nr_part *p)
{
	int moved = 0, r;

	if (!p->in_txn)
		return 0;
	/* A deleted (or renamed) file still takes commits through its open descriptor, into
	 * nothing anyone can read: treat it as a store that cannot be written. */
	if (sqlite3_file_control(p->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK &&
	    moved)
		return -ENOENT;
	r = exec(p->db, "COMMIT");
	if (r == 0)
		p->in_txn = false;
	return r;
}

void nr_part_rollback(struct nr_part *p)
{
	if (!sqlite3_get_autocommit(p->db))
		sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
	p->in_txn = false;
}

/* Binding helpers: "unknown" sentinels become NULL. */
static void bind_addr(sqlite3_stmt *st, int i, const struct nr_addr *a)
{
	char buf[NR_ADDR_STRLEN];

	if (a->family && nr_addr_format(a, buf, sizeof(buf)) > 0)
		sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_mac(sqlite3_stmt *st, int i, bool has, const uint8_t mac[6])
{
	char buf[NR_MAC_STRLEN];

	if (!has) {
		sqlite3_bind_null(st, i);
		return;
	}
	nr_mac_format(mac, buf);
	sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

static void bind_str(sqlite3_stmt *st, int i, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n)
		sqlite3_bind_text(st, i, s, (int)n, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

#define BIND_STR(st, i, field) bind_str(st, i, field, sizeof(field))

static void bind_u_or_null(sqlite3_stmt *st, int i, uint64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, (int64_t)v);
	else
		sqlite3_bind_null(st, i);
}

static void bind_i_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	if (v != NR_NONE)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136 || proto == 33;
}

static void bind_port(sqlite3_stmt *st, int i, uint8_t proto, uint16_t port)
{
	if (proto_has_ports(proto))
		sqlite3_bind_int(st, i, port);
	else
		sqlite3_bind_null(st, i);
}

static void bind_family(sqlite3_stmt *st, int i, uint8_t family)
{
	if (family == 2)
		sqlite3_bind_int(st, i, 4);
	else if (family == 10)
		sqlite3_bind_int(st, i, 6);
	else
		sqlite3_bind_null(st, i);
}

static void bind_flow(sqlite3_stmt *st, const struct nr_rec_flow *f)
{
	bool ip = f->src.family != 0;

	sqlite3_bind_int64(st, 1, f->ts_start_ns);
	sqlite3_bind_int64(st, 2, f->ts_end_ns);
	bind_u_or_null(st, 3, f->netns);
	bind_u_or_null(st, 4, f->ifindex);
	BIND_STR(st, 5, f->ifname);
	sqlite3_bind_text(st, 6, f->egress ? "egress" : "ingress", -1, SQLITE_STATIC);
	bind_family(st, 7, f->src.family);
	if (ip)
		sqlite3_bind_int(st, 8, f->proto);
	bind_addr(st, 9, &f->src);
	bind_addr(st, 10, &f->dst);
	if (ip) {
		bind_port(st, 11, f->proto, f->sport);
		bind_port(st, 12, f->proto, f->dport);
	}
	sqlite3_bind_int64(st, 13, (int64_t)f->packets);
	sqlite3_bind_int64(st, 14, (int64_t)f->bytes);
	if (f->proto == 6)
		sqlite3_bind_int(st, 15, f->tcp_flags);
	bind_mac(st, 16, f->has_mac, f->src_mac);
	bind_mac(st, 17, f->has_mac, f->dst_mac);
	sqlite3_bind_int64(st, 18, f->sampling ? f->sampling : 1);
	bind_u_or_null(st, 19, f->ethertype);
	bind_i_or_null(st, 20, f->icmp_type);
	bind_i_or_null(st, 21, f->icmp_code);
	sqlite3_bind_text(st, 22,
			  f->kind == NR_FLOW_OVERFLOW ? "overflow"
			  : f->kind == NR_FLOW_OTHER  ? "other"
						      : "flow",
			  -1, SQLITE_STATIC);
}

static void bind_ct(sqlite3_stmt *st, const struct nr_rec_conntrack *c)
{
	sqlite3_bind_int64(st, 1, c->ts_ns);
	BIND_STR(st, 2, c->event);
	bind_u_or_null(st, 3, c->netns);
	sqlite3_bind_int64(st, 4, c->ct_id);
	bind_family(st, 5, c->orig_src.family);
	sqlite3_bind_int(st, 6, c->proto);
	bind_addr(st, 7, &c->orig_src);
	bind_addr(st, 8, &c->orig_dst);
	bind_port(st, 9, c->proto, c->orig_sport);
	bind_port(st, 10, c->proto, c->orig_dport);
	bind_addr(st, 11, &c->reply_src);
	bind_addr(st, 12, &c->reply_dst);
	bind_port(st, 13, c->proto, c->reply_sport);
	bind_port(st, 14, c->proto, c->reply_dport);
	sqlite3_bind_int64(st, 15, c->status);
	BIND_STR(st, 16, c->tcp_state);
	sqlite3_bind_int64(st, 17, c->mark);
	sqlite3_bind_int(st, 18, c->zone);
	if (c->has_counters) {
		sqlite3_bind_int64(st, 19, (int64_t)c->orig_packets);
		sqlite3_bind_int64(st, 20, (int64_t)c->orig_bytes);
		sqlite3_bind_int64(st, 21, (int64_t)c->reply_packets);
		sqlite3_bind_int64(st, 22, (int64_t)c->reply_bytes);
	}
	bind_u_or_null(st, 23, (uint64_t)c->start_ns);
	bind_u_or_null(st, 24, (uint64_t)c->stop_ns);
	if (c->proto == 1 || c->proto == 58) {
		sqlite3_bind_int(st, 25, c->icmp_type);
		sqlite3_bind_int(st, 26, c->icmp_code);
		sqlite3_bind_int(st, 27, c->icmp_id);
		sqlite3_bind_int(st, 28, c->reply_icmp_id);
	}
}

static void bind_sock(sqlite3_stmt *st, const struct nr_rec_socket *s)
{
	sqlite3_bind_int64(st, 1, s->ts_ns);
	BIND_STR(st, 2, s->kind);
	bind_u_or_null(st, 3, s->netns);
	sqlite3_bind_int(st, 4, s->proto);
	bind_family(st, 5, s->src.family);
	BIND_STR(st, 6, s->state);
	bind_addr(st, 7, &s->src);
	sqlite3_bind_int(st, 8, s->sport);
	bind_addr(st, 9, &s->dst);
	sqlite3_bind_int(st, 10, s->dport);
	BIND_STR(st, 11, s->direction);
	bind_u_or_null(st, 12, s->inode);
	bind_u_or_null(st, 13, s->cookie);
	bind_i_or_null(st, 14, s->uid);
	bind_i_or_null(st, 15, s->pid);
	BIND_STR(st, 16, s->comm);
	bind_i_or_null(st, 17, s->bytes_sent);
	bind_i_or_null(st, 18, s->bytes_received);
	bind_i_or_null(st, 19, s->segs_out);
	bind_i_or_null(st, 20, s->segs_in);
	bind_i_or_null(st, 21, s->retrans);
	bind_i_or_null(st, 22, s->rtt_us);
	bind_i_or_null(st, 23, s->rttvar_us);
	bind_i_or_null(st, 24, s->cwnd);
}

static void bind_record(sqlite3_stmt *st, const struct nr_record *r)
{
	char hash[17];

	switch (r->table) {
	case NR_T_FLOWS:
		bind_flow(st, &r->flow);
		break;
	case NR_T_CONNTRACK:
		bind_ct(st, &r->ct);
		break;
	case NR_T_SOCKETS:
		bind_sock(st, &r->sock);
		break;
	case NR_T_SNAPSHOTS:
		sqlite3_bind_int64(st, 1, r->snap.id);
		sqlite3_bind_int64(st, 2, r->snap.ts_ns);
		bind_u_or_null(st, 3, r->snap.netns);
		BIND_STR(st, 4, r->snap.netns_name);
		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)r->snap.hash);
		sqlite3_bind_text(st, 5, hash, -1, SQLITE_TRANSIENT);
		bind_i_or_null(st, 6, r->snap.pid);
		break;
	case NR_T_LINKS:
		sqlite3_bind_int64(st, 1, r->link.snapshot_id);
		sqlite3_bind_int64(st, 2, r->link.ifindex);
		BIND_STR(st, 3, r->link.name);
		BIND_STR(st, 4, r->link.kind);
		bind_mac(st, 5, r->link.has_mac, r->link.mac);
		sqlite3_bind_int64(st, 6, r->link.mtu);
		BIND_STR(st, 7, r->link.operstate);
		sqlite3_bind_int64(st, 8, r->link.flags);
		bind_u_or_null(st, 9, r->link.master_ifindex);
		bind_u_or_null(st, 10, r->link.peer_ifindex);
		bind_u_or_null(st, 11, r->link.peer_netns);
		bind_u_or_null(st, 12, r->link.link_ifindex);
		BIND_STR(st, 13, r->link.info);
		break;
	case NR_T_ADDRESSES:
		sqlite3_bind_int64(st, 1, r->addr.snapshot_id);
		sqlite3_bind_int64(st, 2, r->addr.ifindex);
		bind_family(st, 3, r->addr.addr.family);
		bind_addr(st, 4, &r->addr.addr);
		sqlite3_bind_int(st, 5, r->addr.prefixlen);
		sqlite3_bind_int(st, 6, r->addr.scope);
		sqlite3_bind_int64(st, 7, r->addr.flags);
		break;
	case NR_T_ROUTES:
		sqlite3_bind_int64(st, 1, r->route.snapshot_id);
		sqlite3_bind_int64(st, 2, r->route.table_id);
		bind_family(st, 3, r->route.family);
		bind_addr(st, 4, &r->route.dst);
		sqlite3_bind_int(st, 5, r->route.dst_len);
		bind_addr(st, 6, &r->route.gateway);
		bind_u_or_null(st, 7, r->route.oif);
		bind_addr(st, 8, &r->route.prefsrc);
		sqlite3_bind_int(st, 9, r->route.protocol);
		sqlite3_bind_int(st, 10, r->route.scope);
		sqlite3_bind_int(st, 11, r->route.type);
		sqlite3_bind_int64(st, 12, r->route.metric);
		sqlite3_bind_int(st, 13, r->route.nexthop);
		if (r->route.nexthop)
			sqlite3_bind_int(st, 14, r->route.weight);
		else
			sqlite3_bind_null(st, 14);
		break;
	case NR_T_NEIGHBORS:
		sqlite3_bind_int64(st, 1, r->neigh.snapshot_id);
		sqlite3_bind_int64(st, 2, r->neigh.ifindex);
		bind_addr(st, 3, &r->neigh.addr);
		bind_mac(st, 4, r->neigh.has_lladdr, r->neigh.lladdr);
		sqlite3_bind_int(st, 5, r->neigh.state);
		break;
	case NR_T_LISTENERS:
		sqlite3_bind_int64(st, 1, r->listener.snapshot_id);
		sqlite3_bind_int(st, 2, r->listener.proto);
		bind_addr(st, 3, &r->listener.addr);
		sqlite3_bind_int(st, 4, r->listener.port);
		bind_u_or_null(st, 5, r->listener.inode);
		bind_i_or_null(st, 6, r->listener.pid);
		BIND_STR(st, 7, r->listener.comm);
		break;
	case NR_T_GAPS:
		sqlite3_bind_int64(st, 1, r->gap.ts_start_ns);
		sqlite3_bind_int64(st, 2, r->gap.ts_end_ns);
		BIND_STR(st, 3, r->gap.source);
		BIND_STR(st, 4, r->gap.reason);
		bind_i_or_null(st, 5, r->gap.lost);
		break;
	case NR_T_HEALTH:
		sqlite3_bind_int64(st, 1, r->health.ts_ns);
		BIND_STR(st, 2, r->health.source);
		BIND_STR(st, 3, r->health.metric);
		sqlite3_bind_double(st, 4, r->health.value);
		break;
	}
}

static int64_t record_ts(const struct nr_record *r)
{
	switch (r->table) {
	case NR_T_FLOWS:
		return r->flow.ts_end_ns;
	case NR_T_CONNTRACK:
		return r->ct.ts_ns;
	case NR_T_SOCKETS:
		return r->sock.ts_ns;
	case NR_T_SNAPSHOTS:
		return r->snap.ts_ns;
	case NR_T_GAPS:
		return r->gap.ts_end_ns;
	case NR_T_HEALTH:
		return r->health.ts_ns;
	default:
		return 0;
	}
}

int nr_part_insert(struct nr_part *p, const struct nr_record *r)
{
	sqlite3_stmt *st;
	int64_t ts;
	int rc;

	if (r->table >= NR_T_COUNT)
		return -EINVAL;
	st = p->ins[r->table];
	bind_record(st, r);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return nr_sqlite_errno(rc);
	ts = record_ts(r);
	if (ts) {
		if (ts < p->min_ts_ns)
			p->min_ts_ns = ts;
		if (ts > p->max_ts_ns)
			p->max_ts_ns = ts;
	}
	return 0;
}

/* Checkpoints the WAL into the file and leaves no -wal/-shm behind: the file is in the
 * rollback-journal format for the next reader. Through journal_mode OFF (see wal_enter()); the
 * connection must not write after this. */
static int checkpoint_out(sqlite3 *db)
{
	int r = exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");

	if (r == 0)
		r = exec(db, "PRAGMA journal_mode = OFF");
	return r;
}

static int finalize_db(sqlite3 *db, const char *path)
{
	int r;

	r = exec(db, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = nr_schema_build_indexes(db);
	if (r >= 0)
		r = nr_schema_note_span(db, "main", "data_min_ns", "data_max_ns");
	if (r >= 0)
		r = meta_set_i64(db, "finalized_ns", nr_now_ns());
	if (r >= 0)
		r = exec(db, "COMMIT");
	else
		exec(db, "ROLLBACK");
	if (r >= 0)
		r = checkpoint_out(db);
	if (r >= 0 && chmod(path, 0444) < 0)
		r = -errno;
	return r;
}

int nr_part_close(struct nr_part *p, bool finalize)
{
	int r = 0;

	if (!p)
		return 0;
	for (int t = 0; t < NR_T_COUNT; t++) {
		sqlite3_finalize(p->ins[t]);
		p->ins[t] = NULL;
	}
	if (p->in_txn) {
		r = exec(p->db, "COMMIT");
		if (r < 0)
			nr_part_rollback(p);
	}
	if (finalize) {
		int k = finalize_db(p->db, p->path);

		r = r < 0 ? r : k;
	} else {
		int k;

		/* A reader holding the file must not stall the writer: try briefly; if it is
		 * busy the -wal stays and finalization (in the background) finishes the job. */
		sqlite3_busy_timeout(p->db, 200);
		k = checkpoint_out(p->db);
		r = r < 0 ? r : k;
	}
	part_free(p);
	return r;
}

int nr_store_finalize_path(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc, r;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, db, "open");
		sqlite3_close(db);
		return nr_sqlite_errno(rc);
	}
	sqlite3_busy_timeout(db, 5000);
	/* The writer left the file out of WAL at its rollover: the indexes are built in WAL again,
	 * so that a kill during the build leaves no hot journal (wal_enter()). */
	r = wal_enter(db);
	if (r >= 0)
		r = nr_schema_apply(db);
	if (r >= 0)
		r = finalize_db(db, path);
	if (r < 0)
		set_err(err, errlen, db, "finalize");
	sqlite3_close(db);
	return r;
}

/* ---- retention ----------------------------------------------------------------------- */

static int delete_part(const struct nr_part_info *p)
{
	char side[PATH_MAX];

	if (unlink(p->path) < 0 && errno != ENOENT)
		return -errno;
	snprintf(side, sizeof(side), "%s-wal", p->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", p->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-journal", p->path);
	unlink(side);
	return 0;
}

int nr_store_retention(const char *dir, int64_t now_ns, int64_t max_age_ns, uint64_t max_bytes,
		       const char *keep_path, struct nr_part_info **ret_deleted, size_t *ret_n)
{
	struct nr_part_info *parts, *del;
	size_t n, ndel = 0;
	uint64_t total = 0;
	int r;

	r = nr_store_list(dir, &parts, &n);
	if (r < 0)
		return r;
	del = calloc(n ? n : 1, sizeof(*del));
	if (!del) {
		nr_store_list_free(parts, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		total += parts[i].size;
	/* Oldest first: the list is sorted by start. */
	for (size_t i = 0; i < n; i++) {
		struct nr_part_info *p = &parts[i];
		bool old = max_age_ns > 0 && p->start_ns + p->width_ns < now_ns - max_age_ns;
		bool big = max_bytes > 0 && total > max_bytes;

		if (!p->finalized || (keep_path && strcmp(p->path, keep_path) == 0))
			continue;
		if (!old && !big)
			continue;
		if (delete_part(p) < 0)
			continue;
		total -= p->size;
		del[ndel] = *p;
		p->path = NULL; /* moved */
		ndel++;
	}
	nr_store_list_free(parts, n);
	*ret_deleted = del;
	*ret_n = ndel;
	return 0;
}
