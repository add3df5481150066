// SPDX-License-Identifier: MIT
/*
 * netrec's command line: global options, dispatch, shared query helpers (see cli.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "netrec-config.h"
#include "nrtime.h"

int nr_cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("netrec: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return NR_EXIT_ERROR;
}

int nr_cli_parse_count(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v = 0;

	if (!s[0] || strlen(s) > 10)
		return -EINVAL;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int nr_cli_output_error(int r)
{
	/* The reader went away (netrec ... | head): not an error worth a message. */
	if (errno == EPIPE)
		return NR_EXIT_OK;
	return nr_cli_error("cannot write the output: %s", strerror(errno ? errno : -r));
}

int nr_cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("netrec: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see netrec --help)\n", stderr);
	return NR_EXIT_USAGE;
}

static void warn_cb(void *ud, const char *msg)
{
	fprintf(stderr, "netrec: warning: %s\n", msg);
}

int nr_cli_open_catalog(struct nr_cli *cli)
{
	struct nr_catalog_opts o = {
		.data_dir = cli->data_dir,
		.db_files = cli->db_files,
		.ndb_files = cli->ndb_files,
		.since_ns = cli->since_ns,
		.until_ns = cli->until_ns,
		.warn = warn_cb,
	};
	char err[512];
	int r;

	r = nr_catalog_open(&o, &cli->cat, err, sizeof(err));
	if (r < 0)
		return nr_cli_error("%s", err);
	return 0;
}

int nr_cli_done(struct nr_cli *cli)
{
	return cli->cat ? nr_cli_done_of(nr_catalog_bad_count(cli->cat), nr_catalog_count(cli->cat))
			: NR_EXIT_OK;
}

int nr_cli_done_of(size_t bad, size_t n)
{
	if (bad && bad == n)
		return nr_cli_error("none of the %zu partitions could be read", bad);
	if (bad) {
		fprintf(stderr, "netrec: warning: %zu partition%s could not be read; results are "
				"incomplete\n",
			bad, bad == 1 ? "" : "s");
		return NR_EXIT_PARTIAL;
	}
	return NR_EXIT_OK;
}

static int write_rows(struct nr_cli *cli, struct nr_out *o, sqlite3_stmt *st)
{
	int ncols = sqlite3_column_count(st), rc, r;
	const char **names;
	struct nr_val *vals;

	names = calloc((size_t)ncols + 1, sizeof(*names));
	vals = calloc((size_t)ncols + 1, sizeof(*vals));
	if (!names || !vals) {
		free(names);
		free(vals);
		return nr_cli_error("out of memory");
	}
	for (int i = 0; i < ncols; i++)
		names[i] = sqlite3_column_name(st, i);
	r = nr_out_begin(o, ncols, names);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++) {
			struct nr_val *v = &vals[i];

			memset(v, 0, sizeof(*v));
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				v->type = NR_VAL_INT;
				v->i = sqlite3_column_int64(st, i);
				break;
			case SQLITE_FLOAT:
				v->type = NR_VAL_REAL;
				v->d = sqlite3_column_double(st, i);
				break;
			case SQLITE_TEXT:
				v->type = NR_VAL_TEXT;
				v->s = (const char *)sqlite3_column_text(st, i);
				v->len = (size_t)sqlite3_column_bytes(st, i);
				break;
			case SQLITE_BLOB:
				v->type = NR_VAL_BLOB;
				v->s = sqlite3_column_blob(st, i);
				v->len = (size_t)sqlite3_column_bytes(st, i);
				break;
			default:
				v->type = NR_VAL_NULL;
			}
		}
		r = nr_out_row(o, vals);
	}
	free(names);
	free(vals);
	if (r < 0) {
		nr_out_end(o);
		return nr_cli_output_error(r);
	}
	if (rc != SQLITE_DONE) {
		sqlite3 *db = sqlite3_db_handle(st);

		nr_out_end(o);
		if (sqlite3_errcode(db) == SQLITE_AUTH || strcmp(sqlite3_errmsg(db), "not authorized") == 0)
			return nr_cli_error("read-only: %s (netrec loads no extensions and changes nothing)",
					    sqlite3_errmsg(db));
		return nr_cli_error("sql: %s", sqlite3_errmsg(db));
	}
	r = nr_out_end(o);
	if (r < 0)
		return nr_cli_output_error(r);
	return 0;
}

int nr_cli_write_stmt(struct nr_cli *cli, struct nr_out *o, sqlite3_stmt *st)
{
	return write_rows(cli, o, st);
}

int nr_cli_prepare(struct nr_cli *cli, const char *sql, const struct nr_sql_param *params,
		   size_t nparams, sqlite3_stmt **ret)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(nr_catalog_db(cli->cat), sql, -1, &st, NULL) != SQLITE_OK)
		return nr_cli_error("%s", sqlite3_errmsg(nr_catalog_db(cli->cat)));
	for (size_t i = 0; i < nparams; i++) {
		if (params[i].is_text)
			sqlite3_bind_text(st, (int)i + 1, params[i].s, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, (int)i + 1, params[i].i);
	}
	*ret = st;
	return 0;
}

int nr_cli_query(struct nr_cli *cli, struct nr_out *o, const char *sql,
		 const struct nr_sql_param *params, size_t nparams)
{
	struct nr_out *own = NULL;
	sqlite3_stmt *st;
	int r;

	r = nr_cli_prepare(cli, sql, params, nparams, &st);
	if (r)
		return r;
	if (!o) {
		r = nr_out_new(cli->out, cli->fmt, cli->out_flags, &own);
		if (r < 0) {
			sqlite3_finalize(st);
			return nr_cli_error("out of memory");
		}
		o = own;
	}
	r = write_rows(cli, o, st);
	sqlite3_finalize(st);
	nr_out_free(own);
	return r;
}

/* ---- filter columns ------------------------------------------------------------------ */

static const struct nr_filter_cols filter_cols[] = {
	{ .table = "flows",
	  .src = { "src" },
	  .dst = { "dst" },
	  .sport = { "sport" },
	  .dport = { "dport" },
	  .proto = "proto",
	  .iface = "ifname",
	  .dir = "direction" },
	/* Either tuple: the original (as the initiator saw it) or the reply (after NAT). */
	{ .table = "conntrack",
	  .src = { "orig_src", "reply_dst" },
	  .dst = { "orig_dst", "reply_src" },
	  .sport = { "orig_sport", "reply_dport" },
	  .dport = { "orig_dport", "reply_sport" },
	  .proto = "proto",
	  .event = "event" },
	/* sockets.direction is in/out/local (who connected), not a TC hook: "direction", not
	 * "dir". */
	{ .table = "sockets",
	  .src = { "src" },
	  .dst = { "dst" },
	  .sport = { "sport" },
	  .dport = { "dport" },
	  .proto = "proto",
	  .sockdir = "direction",
	  .pid = "pid",
	  .comm = "comm" },
};

const struct nr_filter_cols *nr_cli_filter_cols(const char *table)
{
	for (size_t i = 0; i < sizeof(filter_cols) / sizeof(filter_cols[0]); i++)
		if (strcmp(filter_cols[i].table, table) == 0)
			return &filter_cols[i];
	return NULL;
}

int nr_cli_filter(const char *cmd, const char *table, int argc, char **argv,
		  struct nr_sql_expr *ret)
{
	struct nr_filter *f = NULL;
	char err[512];
	int r;

	r = nr_filter_parse(argc, argv, &f, err, sizeof(err));
	if (r == 0) {
		r = nr_filter_compile(f, nr_cli_filter_cols(table), ret, err, sizeof(err));
		nr_filter_free(f);
	}
	if (r == -ENOMEM)
		return nr_cli_error("out of memory");
	if (r < 0)
		return nr_cli_usage_error("%s: %s", cmd, err);
	return 0;
}

/* ---- report helpers ------------------------------------------------------------------ */

bool nr_cli_is_table(const struct nr_cli *cli)
{
	return cli->fmt == NR_FMT_TABLE;
}

bool nr_cli_human_times(const struct nr_cli *cli)
{
	return nr_cli_is_table(cli) && (cli->out_flags & NR_OUT_HUMAN_TIME);
}

const char *nr_cli_printable(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; *s && n + 4 < len; s++)
		buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	if (*s) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("Usage: netrec [OPTION]... COMMAND [ARG]...\n"
	      "Queries what netrecd recorded: flows, conntrack events, sockets, topology.\n\n"
	      "Options (before the command):\n"
	      "  -d, --data-dir DIR   the store (default $NETREC_DATA_DIR or " NETREC_DEFAULT_DATA_DIR
	      ")\n"
	      "      --db FILE        read this partition or export instead (repeatable)\n"
	      "  -s, --since TIME     start of the time range (default: the beginning)\n"
	      "  -u, --until TIME     end of the time range (default: now and later)\n"
	      "  -f, --format FMT     table, csv, json or ndjson (default table)\n"
	      "      --raw            tables show *_ns times as numbers, not ISO 8601\n"
	      "      --no-header      tables and CSV without the header line\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        print the version\n\n"
	      "Commands:\n"
	      "  info                 partitions, time span, rows per table, size, gaps\n"
	      "  sql QUERY            run SQL (read-only) over every table in the range\n"
	      "  gaps                 periods and counts of data the recorder lost\n"
	      "  export -o FILE [--force] [--anonymize] [FILTER]\n"
	      "                       write the range into one self-contained SQLite file\n"
	      "  conntrack [FILTER]   conntrack events in the range, oldest first\n"
	      "  nat ADDR[:PORT] [--at TIME]\n"
	      "                       the conntrack entries ADDR (and PORT) took part in, with\n"
	      "                       their lifetime and the address on the other side of the NAT\n"
	      "  flows [FILTER]       flow rows in the range, oldest first\n"
	      "  top [--by bytes|packets|flows] [--group src|dst|pair|sport|dport|proto|iface]\n"
	      "      [-n N] [FILTER]  top talkers (default: by bytes, per pair, 10); each flow\n"
	      "                       counts once however many interfaces it crossed\n"
	      "  sockets [FILTER]     connections (sockets) seen in the range, oldest first, with\n"
	      "                       their process, state and latest counters\n"
	      "  retrans [-n N] [FILTER]\n"
	      "                       the N connections with the most retransmissions (default 10)\n"
	      "  rtt [-n N] [FILTER]  the N connections with the longest round-trip time\n"
	      "                       (default 10)\n"
	      "  topology [--at TIME] [--netns NAME|INODE]\n"
	      "                       each network namespace as of TIME (default: --until, or\n"
	      "                       now): interfaces, addresses, routes, neighbours, listeners\n"
	      "  topology diff T1 T2 [--netns NAME|INODE]\n"
	      "                       what changed in the topology between T1 and T2\n"
	      "  listening [--at TIME] [--netns NAME|INODE]\n"
	      "                       the listening sockets as of TIME, with their processes\n\n"
	      "TIME: 2026-11-22T03:10:00Z, 2026-11-22 03:10 (local), 1700000000 (epoch s),\n"
	      "      now, 90s ago, 15m ago, 2h ago, 3d ago, today, yesterday, yesterday 03:00\n"
	      "FILTER: [src|dst] host ADDR, [src|dst] net CIDR, [src|dst] port N, proto NAME,\n"
	      "        iface NAME, dir ingress|egress, event new|update|destroy|dump,\n"
	      "        direction in|out|local, pid N, comm NAME,\n"
	      "        joined with and, or, not and parentheses\n"
	      "Exit status: 0 ok, 1 error, 2 bad usage, 3 some partitions unreadable (warned).\n"
	      "See netrec(1) and docs/query.md.\n",
	      f);
}

static const struct {
	const char *name;
	int (*run)(struct nr_cli *cli, int argc, char **argv);
} commands[] = {
	{ "sql", nr_cmd_sql },
	{ "info", nr_cmd_info },
	{ "gaps", nr_cmd_gaps },
	{ "export", nr_cmd_export },
	{ "conntrack", nr_cmd_conntrack },
	{ "nat", nr_cmd_nat },
	{ "flows", nr_cmd_flows },
	{ "top", nr_cmd_top },
	{ "sockets", nr_cmd_sockets },
	{ "retrans", nr_cmd_retrans },
	{ "rtt", nr_cmd_rtt },
	{ "topology", nr_cmd_topology },
	{ "listening", nr_cmd_listening },
};

int nr_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "db", required_argument, NULL, 'D' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'f' },
		{ "raw", no_argument, NULL, 'R' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct nr_cli cli = {
		.since_ns = NR_TIME_MIN,
		.until_ns = NR_TIME_MAX,
		.fmt = NR_FMT_TABLE,
		.out_flags = NR_OUT_HUMAN_TIME,
		.out = stdout,
		.now_ns = nr_now_ns(),
	};
	int64_t now = cli.now_ns;
	const char *env;
	int opt, status;

	signal(SIGPIPE, SIG_IGN);
	/* No memory statistics: they take a global mutex on every SQLite allocation, and a
	 * report over millions of rows makes tens of millions of them. Must come before any other
	 * SQLite call; fails harmlessly (SQLITE_MISUSE) if SQLite is already initialized, as in a
	 * test that runs several commands. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	env = getenv("NETREC_DATA_DIR");
	cli.data_dir = env && *env ? env : NETREC_DEFAULT_DATA_DIR;
	cli.db_files = calloc((size_t)argc + 1, sizeof(char *));
	if (!cli.db_files)
		return nr_cli_error("out of memory");
	opterr = 0;
	/* '+': stop at the command, so its arguments (SQL, filters) are never taken as ours. */
	while ((opt = getopt_long(argc, argv, "+:d:s:u:f:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			cli.data_dir = optarg;
			break;
		case 'D':
			cli.db_files[cli.ndb_files++] = optarg;
			break;
		case 's':
			if (nr_time_parse(optarg, now, &cli.since_ns) < 0) {
				status = nr_cli_usage_error("bad time for --since: '%s'", optarg);
				goto out;
			}
			break;
		case 'u':
			if (nr_time_parse(optarg, now, &cli.until_ns) < 0) {
				status = nr_cli_usage_error("bad time for --until: '%s'", optarg);
				goto out;
			}
			break;
		case 'f':
			if (nr_format_parse(optarg, &cli.fmt) < 0) {
				status = nr_cli_usage_error(
					"bad format '%s': expected table, csv, json or ndjson", optarg);
				goto out;
			}
			break;
		case 'R':
			cli.out_flags &= ~(unsigned)NR_OUT_HUMAN_TIME;
			break;
		case 'H':
			cli.out_flags |= NR_OUT_NO_HEADER;
			break;
		case 'h':
			usage(stdout);
			status = NR_EXIT_OK;
			goto out;
		case 'V':
			printf("netrec %s\n", NETREC_VERSION);
			status = NR_EXIT_OK;
			goto out;
		case ':':
			status = nr_cli_usage_error("option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			status = nr_cli_usage_error("unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (cli.since_ns > cli.until_ns) {
		status = nr_cli_usage_error("the time range is empty: --since is after --until");
		goto out;
	}
	if (optind >= argc) {
		status = nr_cli_usage_error("no command given");
		goto out;
	}
	status = -1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0) {
			status = commands[i].run(&cli, argc - optind, argv + optind);
			break;
		}
	if (status < 0)
		status = nr_cli_usage_error("unknown command '%s'", argv[optind]);
out:
	nr_catalog_free(cli.cat);
	free(cli.db_files);
	if (fflush(stdout) != 0 && status == NR_EXIT_OK && errno != EPIPE)
		status = nr_cli_error("cannot write the output: %m");
	return status;
}
