/* SPDX-License-Identifier: MIT */
/*
 * netrec's command line: global options, command dispatch, and the helpers every command
 * uses to run SQL over the catalog and write results. Exit status: 0 success, 1 error,
 * 2 bad usage, 3 results printed but some partitions could not be read (each named in a
 * warning on stderr).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "filter.h"
#include "output.h"

enum {
	NR_EXIT_OK = 0,
	NR_EXIT_ERROR = 1,
	NR_EXIT_USAGE = 2,
	NR_EXIT_PARTIAL = 3,
};

struct nr_cli {
	const char *data_dir;
	char **db_files;
	size_t ndb_files;
	int64_t since_ns, until_ns;
	int64_t now_ns; /* when netrec started: relative times in arguments count from it */
	enum nr_format fmt;
	unsigned out_flags;
	FILE *out;
	struct nr_catalog *cat; /* opened by nr_cli_open_catalog() */
};

/* Entry point of netrec. Returns the exit status. */
int nr_cli_main(int argc, char **argv);

/* Prints "netrec: error: ..." and returns NR_EXIT_ERROR (for "return nr_cli_error(...)"). */
int nr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For a failed write of results: quiet success on EPIPE (a closed pipe), else an error. */
int nr_cli_output_error(int r);
/* A count for -n: decimal digits only, 1 to @max. Returns 0 or -EINVAL. */
int nr_cli_parse_count(const char *s, unsigned long max, unsigned long *ret);
int nr_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the catalog over the chosen partitions and time range. Returns 0 or an exit status. */
int nr_cli_open_catalog(struct nr_cli *cli);

/*
 * Prepares @sql on the catalog connection, binds @params (may be NULL) and writes every row.
 * With @o NULL, a writer on cli->out in cli->fmt is used. Returns 0 or an exit status, with
 * the error printed.
 */
int nr_cli_query(struct nr_cli *cli, struct nr_out *o, const char *sql,
		 const struct nr_sql_param *params, size_t nparams);

/* Prepares @sql on the catalog connection and binds @params. Returns 0 and *ret, or an exit
 * status with the error printed. */
int nr_cli_prepare(struct nr_cli *cli, const char *sql, const struct nr_sql_param *params,
		   size_t nparams, sqlite3_stmt **ret);

/* Steps a prepared statement on the catalog connection and writes every row to @o. Returns
 * 0 or an exit status, with the error printed. */
int nr_cli_write_stmt(struct nr_cli *cli, struct nr_out *o, sqlite3_stmt *st);

/* The exit status for a command that succeeded: NR_EXIT_PARTIAL if partitions were skipped. */
int nr_cli_done(struct nr_cli *cli);
/* The same for @bad unreadable partitions of @n read (a command that read two catalogs). */
int nr_cli_done_of(size_t bad, size_t n);

/* Column names a table offers to the filter shorthand (NULL if it offers none). */
const struct nr_filter_cols *nr_cli_filter_cols(const char *table);

/*
 * Parses the filter words @argv[0..@argc) and compiles them for @table, for command @cmd (the
 * prefix of error messages). Returns 0 and *ret (free with nr_sql_expr_clear()), or an exit
 * status with the error printed: NR_EXIT_USAGE for a bad filter, NR_EXIT_ERROR without memory.
 */
int nr_cli_filter(const char *cmd, const char *table, int argc, char **argv,
		  struct nr_sql_expr *ret);

/* Reports show their table form (tuples spelled out, names for numbers) only in tables... */
bool nr_cli_is_table(const struct nr_cli *cli);
/* ... and ISO 8601 times there unless --raw. */
bool nr_cli_human_times(const struct nr_cli *cli);

/* @s for an error message in @buf: control bytes become '?' so the message stays one line,
 * and a long word is cut with "...". Returns @buf. */
const char *nr_cli_printable(const char *s, char *buf, size_t len);

/* SQL text of an endpoint for reports: "10.0.0.5:443", "[2001:db8::5]:443", or the bare
 * address for protocols without ports ('?' for no address). @a and @p are column names. */
#define NR_SQL_ENDPOINT(a, p)                                                                 \
	"(CASE WHEN " p " IS NULL THEN coalesce(" a ", '?') WHEN instr(" a ", ':') THEN '[' || " a \
	" || ']:' || " p " ELSE coalesce(" a ", '?') || ':' || " p " END)"

/* Commands. argv[0] is the command name. */
int nr_cmd_sql(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_gaps(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_info(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_export(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_conntrack(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_nat(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_flows(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_top(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_sockets(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_retrans(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_rtt(struct nr_cli *cli, int argc, char **argv);
/* topology [--at T] [--netns N], topology diff T1 T2 [--netns N] */
int nr_cmd_topology(struct nr_cli *cli, int argc, char **argv);
int nr_cmd_listening(struct nr_cli *cli, int argc, char **argv);

/* The SQL that sockets, retrans or rtt (@cmd) runs over the sockets rows matching @where, with
 * @cli's format, showing @n lines (retrans, rtt): for tests of its plan. NULL for another
 * @cmd or without memory; free with sqlite3_free(). */
char *nr_sockets_report_sql(const struct nr_cli *cli, const char *cmd, const char *where,
			    unsigned long n);
