/* SPDX-License-Identifier: MIT */
/*
 * Result output: aligned text tables for terminals, CSV (RFC 4180), a JSON array of objects,
 * and NDJSON. Values come in as typed cells so numbers stay numbers and NULL stays NULL.
 * Nothing here knows SQLite; callers convert. Hostile strings (quotes, separators, newlines,
 * control characters, terminal escapes, invalid UTF-8) never break the format or the terminal.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum nr_format {
	NR_FMT_TABLE,
	NR_FMT_CSV,
	NR_FMT_JSON,
	NR_FMT_NDJSON,
};

enum nr_val_type {
	NR_VAL_NULL,
	NR_VAL_INT,
	NR_VAL_REAL,
	NR_VAL_TEXT,
	NR_VAL_BLOB,
};

struct nr_val {
	enum nr_val_type type;
	int64_t i;
	double d;
	const char *s; /* TEXT or BLOB bytes, not necessarily NUL-terminated */
	size_t len;
};

/* Output options. */
enum {
	/* Table only: integer columns whose name ends in "_ns" are shown as UTC ISO 8601 with
	 * milliseconds instead of raw nanoseconds. CSV and JSON always keep raw numbers. */
	NR_OUT_HUMAN_TIME = 1 << 0,
	/* Table and CSV: no header line. */
	NR_OUT_NO_HEADER = 1 << 1,
};

struct nr_out;

/* "table", "csv", "json" or "ndjson". Returns 0 or -EINVAL. */
int nr_format_parse(const char *s, enum nr_format *ret);

/* A writer on @f (not closed by nr_out_free). Returns 0 or -ENOMEM. */
int nr_out_new(FILE *f, enum nr_format fmt, unsigned flags, struct nr_out **ret);

/*
 * Starts a result set with @ncols columns named @names (copied). Several result sets may
 * follow each other on one writer: tables are separated by a blank line, CSV by a blank line
 * and a new header, JSON by starting a new top-level array on a new line, NDJSON by nothing.
 */
int nr_out_begin(struct nr_out *o, int ncols, const char *const *names);

/* One row of ncols values (copied as needed). Returns 0, -ENOMEM or -EIO. */
int nr_out_row(struct nr_out *o, const struct nr_val *vals);

/* Ends the result set and flushes. Returns 0 or -EIO (write error, e.g. EPIPE or ENOSPC). */
int nr_out_end(struct nr_out *o);

/* Accepts NULL. */
void nr_out_free(struct nr_out *o);
