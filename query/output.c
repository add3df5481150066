// SPDX-License-Identifier: MIT
/*
 * Result output (see output.h): aligned tables, CSV, JSON and NDJSON from typed cells.
 * Does not know SQLite, does not log, never closes the stream. Choices beyond output.h:
 *  - All text goes through one strict UTF-8 decoder (no overlongs, surrogates or code points
 *    above U+10FFFF); an ill-formed sequence is handled as its maximal subpart, as Unicode and
 *    Python's errors="replace" do.
 *  - Table: backslash is shown as \\ so an escape in the data cannot pass for an escaped byte;
 *    \n \r \t by name, other C0 controls and DEL as \xNN, C1 controls, U+2028/U+2029 and the
 *    bidi controls (Trojan Source) as \uXXXX, ill-formed bytes as \xNN. Blobs as x'0a0b'.
 *    Numbers are right-aligned, text, blobs and human times left-aligned; a header is
 *    right-aligned when every non-NULL value buffered for its column is right-aligned.
 *    Padding is never left at the end of a line.
 *    Rows are buffered for widths until 1000 rows or 16 MiB of rendered text, whichever first.
 *    "_ns" (any case) marks time columns for NR_OUT_HUMAN_TIME.
 *  - CSV is byte-faithful: text is written as is, only quoted. Quoted when it contains a comma,
 *    a double quote, CR or LF, when it starts or ends with a space or a tab (many readers trim
 *    unquoted blanks), and when empty (so "" differs from NULL). Blobs as bare hex ("" if
 *    empty), non-finite reals as NaN, Inf, -Inf.
 *  - JSON/NDJSON: besides RFC 8259's required escapes, DEL, C1 controls, U+2028/U+2029 and
 *    the bidi controls are written as \u escapes so the output is also safe on a terminal.
 *    Ill-formed UTF-8 becomes U+FFFD. Blobs as bare hex strings. Duplicate column names get a
 *    suffix: the first keeps its name, later ones become name_2, name_3, ... skipping any
 *    suffix that is already a column name, so no key is lost by parsers that keep the last.
 *  - Reals everywhere: the shortest of %.15g, %.16g, %.17g that reads back to the same value,
 *    with ".0" appended when it would otherwise look like an integer; always a '.', whatever
 *    the locale.
 *  - Misuse (row outside a result set, begin inside one, unknown value type) returns -EINVAL.
 *    A write error is sticky on the FILE (ferror), so every later call returns -EIO; a
 *    result set stays open after -EIO from nr_out_begin() or nr_out_row(), so nr_out_end()
 *    or nr_out_free() may follow. Tables write nothing before the widths are known, so
 *    their write errors usually surface at the 1000th row or at nr_out_end().
 *    EPIPE only reaches us when the caller ignores SIGPIPE.
 */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nrtime.h"
#include "output.h"

#define TABLE_BUFFER_ROWS 1000
#define TABLE_BUFFER_BYTES (16u << 20)

static const char hexdigits[] = "0123456789abcdef";

/* A growing byte buffer whose allocation failure is sticky, checked once per row. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

struct col {
	char *head;		/* table: escaped name; CSV: quoted name; JSON: "key": */
	size_t head_len;
	size_t head_width;	/* table: display width of head */
	size_t width;		/* table: column width */
	size_t nnum;		/* table: buffered INT/REAL values */
	size_t nother;		/* table: buffered TEXT/BLOB values */
	bool human;		/* table: format INT values as times */
};

/* A buffered table cell: text at @off in o->tbuf. */
struct tcell {
	size_t off;
	size_t len;
	size_t width;
	bool right;
};

struct nr_out {
	FILE *f;
	enum nr_format fmt;
	unsigned flags;
	unsigned nsets;
	bool in_set;
	bool streaming;		/* table: widths fixed, rows written as they come */
	int ncols;
	uint64_t nrows;
	struct col *cols;
	struct sbuf line;
	struct sbuf cell;
	struct sbuf tbuf;
	struct tcell *cells;
	size_t cells_cap;
	size_t nbuf;
};

static void sb_reserve(struct sbuf *b, size_t add)
{
	size_t cap;
	char *p;

	if (b->oom || add <= b->cap - b->len)
		return;
	if (add > SIZE_MAX / 4 - b->len) {
		b->oom = true;
		return;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < add)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_put(struct sbuf *b, const void *s, size_t n)
{
	if (n == 0)
		return;
	sb_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_put(b, &c, 1);
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_spaces(struct sbuf *b, size_t n)
{
	if (n == 0)
		return;
	sb_reserve(b, n);
	if (b->oom)
		return;
	memset(b->p + b->len, ' ', n);
	b->len += n;
}

static void sb_hexbyte(struct sbuf *b, const char *prefix, unsigned char c)
{
	sb_puts(b, prefix);
	sb_putc(b, hexdigits[c >> 4]);
	sb_putc(b, hexdigits[c & 15]);
}

static void sb_hex(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	sb_reserve(b, 2 * n);
	for (i = 0; i < n && !b->oom; i++) {
		b->p[b->len++] = hexdigits[u[i] >> 4];
		b->p[b->len++] = hexdigits[u[i] & 15];
	}
}

static void sb_u16(struct sbuf *b, uint32_t cp)
{
	sb_puts(b, "\\u");
	sb_putc(b, hexdigits[(cp >> 12) & 15]);
	sb_putc(b, hexdigits[(cp >> 8) & 15]);
	sb_putc(b, hexdigits[(cp >> 4) & 15]);
	sb_putc(b, hexdigits[cp & 15]);
}

static void sb_done(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){ 0 };
}

/*
 * Decodes one code point from @s (@n > 0 bytes) into *@cp and returns its length. On an
 * ill-formed sequence, sets *@cp to -1 and returns the length of its maximal subpart (the
 * longest prefix that could start a valid sequence, at least 1), Unicode table 3-7.
 */
static size_t utf8_next(const unsigned char *s, size_t n, int32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;
	int32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*cp = -1;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*cp = -1;
			return i;
		}
		v = (v << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = v;
	return need + 1;
}

/* Code points that can move the cursor, reorder text or end a line for some reader. */
static bool cp_is_hostile(int32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c ||
	       cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Table text: escaped for a terminal. Returns the display width in code points. */
static size_t table_text(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, j, k, width = 0;
	int32_t cp;

	for (i = 0; i < n; i += k) {
		k = utf8_next(u + i, n - i, &cp);
		if (cp < 0) {
			for (j = 0; j < k; j++)
				sb_hexbyte(b, "\\x", u[i + j]);
			width += 4 * k;
		} else if (cp == '\\') {
			sb_puts(b, "\\\\");
			width += 2;
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			sb_puts(b, cp == '\n' ? "\\n" : cp == '\r' ? "\\r" : "\\t");
			width += 2;
		} else if (cp < 0x20 || cp == 0x7f) {
			sb_hexbyte(b, "\\x", (unsigned char)cp);
			width += 4;
		} else if (cp_is_hostile(cp)) {
			sb_u16(b, (uint32_t)cp);
			width += 6;
		} else {
			sb_put(b, u + i, k);
			width++;
		}
	}
	return width;
}

/* A JSON string with quotes: always valid JSON, whatever the bytes. */
static void json_str(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k;
	int32_t cp;

	sb_putc(b, '"');
	for (i = 0; i < n; i += k) {
		k = utf8_next(u + i, n - i, &cp);
		if (cp < 0)
			sb_puts(b, "\xef\xbf\xbd");
		else if (cp == '"')
			sb_puts(b, "\\\"");
		else if (cp == '\\')
			sb_puts(b, "\\\\");
		else if (cp == '\b')
			sb_puts(b, "\\b");
		else if (cp == '\f')
			sb_puts(b, "\\f");
		else if (cp == '\n')
			sb_puts(b, "\\n");
		else if (cp == '\r')
			sb_puts(b, "\\r");
		else if (cp == '\t')
			sb_puts(b, "\\t");
		else if (cp_is_hostile(cp))
			sb_u16(b, (uint32_t)cp);
		else
			sb_put(b, u + i, k);
	}
	sb_putc(b, '"');
}

static void csv_field(struct sbuf *b, const char *s, size_t n)
{
	bool quote = n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
		     s[n - 1] == '\t';
	size_t i;

	for (i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		sb_put(b, s, n);
		return;
	}
	sb_putc(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			sb_putc(b, '"');
		sb_putc(b, s[i]);
	}
	sb_putc(b, '"');
}

static void put_int(struct sbuf *b, int64_t v)
{
	char buf[32];
	int r = snprintf(buf, sizeof(buf), "%" PRId64, v);

	if (r > 0)
		sb_put(b, buf, (size_t)r);
}

/* Shortest round-trip form of a finite @d with a '.' whatever the locale, into @buf[48]. */
static void format_real(double d, char *buf, size_t len)
{
	const char *dp = localeconv()->decimal_point;
	size_t dplen = dp && *dp ? strlen(dp) : 0;
	char *p;
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* snprintf honours LC_NUMERIC; CSV and JSON must not. */
	if (dplen && strcmp(dp, ".") != 0) {
		p = strstr(buf, dp);
		if (p) {
			*p = '.';
			memmove(p + 1, p + dplen, strlen(p + dplen) + 1);
		}
	}
	if (buf[strspn(buf, "-0123456789")] == '\0' && strlen(buf) + 3 <= len)
		strcat(buf, ".0");
}

/* @nonfinite replaces NaN and infinities when not NULL. */
static void put_real(struct sbuf *b, double d, const char *nonfinite)
{
	char buf[48];

	if (isnan(d))
		sb_puts(b, nonfinite ? nonfinite : "NaN");
	else if (isinf(d))
		sb_puts(b, nonfinite ? nonfinite : d < 0 ? "-Inf" : "Inf");
	else {
		format_real(d, buf, sizeof(buf));
		sb_puts(b, buf);
	}
}

static bool name_is_time(const char *name)
{
	size_t n = strlen(name);

	return n >= 3 && strcasecmp(name + n - 3, "_ns") == 0;
}

/* Renders a table cell into @b. Returns its display width; *@right says how to align it. */
static size_t table_cell(const struct nr_out *o, int c, const struct nr_val *v, struct sbuf *b,
			 bool *right)
{
	size_t start = b->len;
	char buf[64];
	int r;

	*right = v->type == NR_VAL_INT || v->type == NR_VAL_REAL;
	switch (v->type) {
	case NR_VAL_INT:
		if (o->cols[c].human) {
			r = nr_time_format(v->i, 3, buf, sizeof(buf));
			if (r > 0 && (size_t)r < sizeof(buf)) {
				*right = false;
				sb_put(b, buf, (size_t)r);
				return (size_t)r;
			}
		}
		put_int(b, v->i);
		return b->len - start;
	case NR_VAL_REAL:
		put_real(b, v->d, NULL);
		return b->len - start;
	case NR_VAL_TEXT:
		return table_text(b, v->s, v->s ? v->len : 0);
	case NR_VAL_BLOB:
		sb_puts(b, "x'");
		sb_hex(b, v->s, v->s ? v->len : 0);
		sb_putc(b, '\'');
		return b->len - start;
	case NR_VAL_NULL:
	default:
		return 0;
	}
}

/*
 * Appends one padded cell to a table line. *@end is the line length after the last byte
 * that is not padding, so the caller can drop trailing padding.
 */
static void table_put(struct sbuf *line, size_t *end, int c, const char *s, size_t len,
		      size_t width, size_t colw, bool right)
{
	if (c > 0)
		sb_spaces(line, 2);
	if (right && width < colw)
		sb_spaces(line, colw - width);
	sb_put(line, s, len);
	if (len)
		*end = line->len;
	if (!right && width < colw)
		sb_spaces(line, colw - width);
}

static void line_write(struct nr_out *o, size_t len)
{
	if (len)
		fwrite(o->line.p, 1, len, o->f);
	fputc('\n', o->f);
}

/* Writes header, separator and the buffered rows, then switches to streaming. */
static int table_flush(struct nr_out *o)
{
	size_t r, end, n;
	int c;

	if (!(o->flags & NR_OUT_NO_HEADER)) {
		o->line.len = end = 0;
		for (c = 0; c < o->ncols; c++) {
			const struct col *col = &o->cols[c];

			table_put(&o->line, &end, c, col->head, col->head_len, col->head_width,
				  col->width, col->nnum > 0 && col->nother == 0);
		}
		if (o->line.oom)
			goto oom;
		line_write(o, end);

		o->line.len = 0;
		for (c = 0; c < o->ncols; c++) {
			if (c > 0)
				sb_spaces(&o->line, 2);
			n = o->line.len;
			sb_spaces(&o->line, o->cols[c].width);
			if (!o->line.oom)
				memset(o->line.p + n, '-', o->cols[c].width);
		}
		if (o->line.oom)
			goto oom;
		line_write(o, o->line.len);
	}

	for (r = 0; r < o->nbuf; r++) {
		o->line.len = end = 0;
		for (c = 0; c < o->ncols; c++) {
			const struct tcell *t = &o->cells[r * (size_t)o->ncols + (size_t)c];

			table_put(&o->line, &end, c, t->len ? o->tbuf.p + t->off : "", t->len,
				  t->width, o->cols[c].width, t->right);
		}
		if (o->line.oom)
			goto oom;
		line_write(o, end);
	}

	o->nbuf = 0;
	o->tbuf.len = 0;
	o->streaming = true;
	return 0;
oom:
	o->line.oom = false;
	return -ENOMEM;
}

static int table_row(struct nr_out *o, const struct nr_val *vals)
{
	size_t ncols = (size_t)o->ncols, end, width, old_len = o->tbuf.len;
	struct tcell *t;
	bool right;
	int c;

	if (o->streaming) {
		o->line.len = end = 0;
		for (c = 0; c < o->ncols; c++) {
			o->cell.len = 0;
			width = table_cell(o, c, &vals[c], &o->cell, &right);
			table_put(&o->line, &end, c, o->cell.p, o->cell.len, width,
				  o->cols[c].width, right);
		}
		if (o->line.oom || o->cell.oom) {
			o->line.oom = o->cell.oom = false;
			return -ENOMEM;
		}
		line_write(o, end);
		return 0;
	}

	if ((o->nbuf + 1) * ncols > o->cells_cap) {
		size_t cap = o->cells_cap ? 2 * o->cells_cap : 64 * (ncols ? ncols : 1);

		t = reallocarray(o->cells, cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		o->cells = t;
		o->cells_cap = cap;
	}
	for (c = 0; c < o->ncols; c++) {
		t = &o->cells[o->nbuf * ncols + (size_t)c];
		t->off = o->tbuf.len;
		t->width = table_cell(o, c, &vals[c], &o->tbuf, &t->right);
		t->len = o->tbuf.len - t->off;
	}
	if (o->tbuf.oom) {
		o->tbuf.oom = false;
		o->tbuf.len = old_len;
		return -ENOMEM;
	}
	for (c = 0; c < o->ncols; c++) {
		struct col *col = &o->cols[c];

		t = &o->cells[o->nbuf * ncols + (size_t)c];
		if (t->width > col->width)
			col->width = t->width;
		if (t->right)
			col->nnum++;
		else if (vals[c].type != NR_VAL_NULL)
			col->nother++;
	}
	o->nbuf++;
	if (o->nbuf >= TABLE_BUFFER_ROWS || o->tbuf.len >= TABLE_BUFFER_BYTES)
		return table_flush(o);
	return 0;
}

static void csv_row(struct nr_out *o, const struct nr_val *vals)
{
	int c;

	for (c = 0; c < o->ncols; c++) {
		const struct nr_val *v = &vals[c];

		if (c > 0)
			sb_putc(&o->line, ',');
		switch (v->type) {
		case NR_VAL_INT:
			put_int(&o->line, v->i);
			break;
		case NR_VAL_REAL:
			put_real(&o->line, v->d, NULL);
			break;
		case NR_VAL_TEXT:
			csv_field(&o->line, v->s, v->s ? v->len : 0);
			break;
		case NR_VAL_BLOB:
			if (v->s && v->len)
				sb_hex(&o->line, v->s, v->len);
			else
				sb_puts(&o->line, "\"\"");
			break;
		case NR_VAL_NULL:
		default:
			break;
		}
	}
	sb_puts(&o->line, "\r\n");
}

static void json_obj(struct nr_out *o, const struct nr_val *vals)
{
	int c;

	sb_putc(&o->line, '{');
	for (c = 0; c < o->ncols; c++) {
		const struct nr_val *v = &vals[c];

		if (c > 0)
			sb_putc(&o->line, ',');
		sb_put(&o->line, o->cols[c].head, o->cols[c].head_len);
		switch (v->type) {
		case NR_VAL_INT:
			put_int(&o->line, v->i);
			break;
		case NR_VAL_REAL:
			put_real(&o->line, v->d, "null");
			break;
		case NR_VAL_TEXT:
			json_str(&o->line, v->s, v->s ? v->len : 0);
			break;
		case NR_VAL_BLOB:
			sb_putc(&o->line, '"');
			sb_hex(&o->line, v->s, v->s ? v->len : 0);
			sb_putc(&o->line, '"');
			break;
		case NR_VAL_NULL:
		default:
			sb_puts(&o->line, "null");
			break;
		}
	}
	sb_putc(&o->line, '}');
}

int nr_format_parse(const char *s, enum nr_format *ret)
{
	static const struct {
		const char *name;
		enum nr_format fmt;
	} names[] = {
		{ "table", NR_FMT_TABLE },
		{ "csv", NR_FMT_CSV },
		{ "json", NR_FMT_JSON },
		{ "ndjson", NR_FMT_NDJSON },
	};
	size_t i;

	if (!s || !ret)
		return -EINVAL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*ret = names[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

int nr_out_new(FILE *f, enum nr_format fmt, unsigned flags, struct nr_out **ret)
{
	struct nr_out *o;

	if (!f || !ret || (fmt != NR_FMT_TABLE && fmt != NR_FMT_CSV && fmt != NR_FMT_JSON &&
			   fmt != NR_FMT_NDJSON))
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->f = f;
	o->fmt = fmt;
	o->flags = flags;
	*ret = o;
	return 0;
}

static void set_free(struct nr_out *o)
{
	int c;

	if (o->cols)
		for (c = 0; c < o->ncols; c++)
			free(o->cols[c].head);
	free(o->cols);
	o->cols = NULL;
	free(o->cells);
	o->cells = NULL;
	o->cells_cap = 0;
	o->nbuf = 0;
	o->tbuf.len = 0;
	o->ncols = 0;
	o->in_set = false;
	o->streaming = false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns 1 if two names are equal, 0 if not, -ENOMEM. O(n log n): SQLite allows 32767 columns. */
static int names_have_dups(int ncols, const char *const *names)
{
	const char **sorted;
	int c, dups = 0;

	if (ncols < 2)
		return 0;
	sorted = malloc((size_t)ncols * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, names, (size_t)ncols * sizeof(*sorted));
	qsort(sorted, (size_t)ncols, sizeof(*sorted), cmp_str);
	for (c = 1; c < ncols && !dups; c++)
		dups = strcmp(sorted[c - 1], sorted[c]) == 0;
	free(sorted);
	return dups;
}

/* A renamed key must not be any column's own name, nor a key already given out. */
static bool key_taken(const char *key, int ncols, const char *const *names, char *const *keys,
		      int upto)
{
	int c;

	for (c = 0; c < ncols; c++)
		if (strcmp(key, names[c]) == 0)
			return true;
	for (c = 0; c < upto; c++)
		if (strcmp(key, keys[c]) == 0)
			return true;
	return false;
}

/*
 * JSON keys: the names, with later duplicates renamed name_2, name_3, ... Returns an array
 * of ncols malloc'd strings or NULL on ENOMEM.
 */
static char **json_keys(int ncols, const char *const *names)
{
	char **keys;
	int c, d, k, dups;

	dups = names_have_dups(ncols, names);
	if (dups < 0)
		return NULL;
	keys = calloc((size_t)ncols + 1, sizeof(*keys));
	if (!keys)
		return NULL;
	for (c = 0; c < ncols; c++) {
		bool seen = false;

		for (d = 0; dups && d < c && !seen; d++)
			seen = strcmp(names[c], keys[d]) == 0;
		if (!seen) {
			keys[c] = strdup(names[c]);
		} else {
			for (k = 2;; k++) {
				free(keys[c]);
				if (asprintf(&keys[c], "%s_%d", names[c], k) < 0) {
					keys[c] = NULL;
					break;
				}
				if (!key_taken(keys[c], ncols, names, keys, c))
					break;
			}
		}
		if (!keys[c])
			goto fail;
	}
	return keys;
fail:
	for (c = 0; c < ncols; c++)
		free(keys[c]);
	free(keys);
	return NULL;
}

static int set_headers(struct nr_out *o, const char *const *names)
{
	char **keys = NULL;
	struct sbuf b = { 0 };
	int c, r = 0;

	if (o->fmt == NR_FMT_JSON || o->fmt == NR_FMT_NDJSON) {
		keys = json_keys(o->ncols, names);
		if (!keys)
			return -ENOMEM;
	}
	for (c = 0; c < o->ncols; c++) {
		struct col *col = &o->cols[c];

		b.len = 0;
		switch (o->fmt) {
		case NR_FMT_TABLE:
			col->head_width = table_text(&b, names[c], strlen(names[c]));
			col->width = col->head_width ? col->head_width : 1;
			col->human = (o->flags & NR_OUT_HUMAN_TIME) && name_is_time(names[c]);
			break;
		case NR_FMT_CSV:
			csv_field(&b, names[c], strlen(names[c]));
			break;
		case NR_FMT_JSON:
		case NR_FMT_NDJSON:
			json_str(&b, keys[c], strlen(keys[c]));
			sb_putc(&b, ':');
			break;
		}
		sb_putc(&b, '\0');
		if (b.oom) {
			r = -ENOMEM;
			break;
		}
		col->head = malloc(b.len);
		if (!col->head) {
			r = -ENOMEM;
			break;
		}
		memcpy(col->head, b.p, b.len);
		col->head_len = b.len - 1;
	}
	if (keys)
		for (c = 0; c < o->ncols; c++)
			free(keys[c]);
	free(keys);
	sb_done(&b);
	return r;
}

int nr_out_begin(struct nr_out *o, int ncols, const char *const *names)
{
	const char **fixed = NULL;
	int c, r;

	if (!o || o->in_set || ncols < 0 || (ncols > 0 && !names))
		return -EINVAL;

	/* A NULL name would crash strlen() below; show it as an empty name. */
	for (c = 0; c < ncols; c++)
		if (!names[c])
			break;
	if (c < ncols) {
		fixed = malloc((size_t)ncols * sizeof(*fixed));
		if (!fixed)
			return -ENOMEM;
		for (c = 0; c < ncols; c++)
			fixed[c] = names[c] ? names[c] : "";
		names = fixed;
	}

	o->cols = calloc((size_t)ncols + 1, sizeof(*o->cols));
	if (!o->cols) {
		free(fixed);
		return -ENOMEM;
	}
	o->ncols = ncols;
	r = set_headers(o, names);
	free(fixed);
	if (r < 0) {
		set_free(o);
		return r;
	}

	o->line.len = 0;
	switch (o->fmt) {
	case NR_FMT_TABLE:
		if (o->nsets > 0)
			sb_putc(&o->line, '\n');
		break;
	case NR_FMT_CSV:
		if (o->nsets > 0)
			sb_puts(&o->line, "\r\n");
		if (!(o->flags & NR_OUT_NO_HEADER)) {
			for (c = 0; c < ncols; c++) {
				if (c > 0)
					sb_putc(&o->line, ',');
				sb_put(&o->line, o->cols[c].head, o->cols[c].head_len);
			}
			sb_puts(&o->line, "\r\n");
		}
		break;
	case NR_FMT_JSON:
		sb_putc(&o->line, '[');
		break;
	case NR_FMT_NDJSON:
		break;
	}
	if (o->line.oom) {
		o->line.oom = false;
		set_free(o);
		return -ENOMEM;
	}
	if (o->line.len)
		fwrite(o->line.p, 1, o->line.len, o->f);

	o->in_set = true;
	o->nsets++;
	o->nrows = 0;
	return ferror(o->f) ? -EIO : 0;
}

int nr_out_row(struct nr_out *o, const struct nr_val *vals)
{
	int c, r = 0;

	if (!o || !o->in_set || (o->ncols > 0 && !vals))
		return -EINVAL;
	for (c = 0; c < o->ncols; c++)
		if ((unsigned)vals[c].type > NR_VAL_BLOB)
			return -EINVAL;

	o->line.len = 0;
	switch (o->fmt) {
	case NR_FMT_TABLE:
		r = table_row(o, vals);
		break;
	case NR_FMT_CSV:
		csv_row(o, vals);
		break;
	case NR_FMT_JSON:
		sb_puts(&o->line, o->nrows ? ",\n" : "\n");
		json_obj(o, vals);
		break;
	case NR_FMT_NDJSON:
		json_obj(o, vals);
		sb_putc(&o->line, '\n');
		break;
	}
	if (o->fmt != NR_FMT_TABLE) {
		if (o->line.oom) {
			o->line.oom = false;
			return -ENOMEM;
		}
		if (o->line.len)
			fwrite(o->line.p, 1, o->line.len, o->f);
	}
	if (r < 0)
		return r;
	o->nrows++;
	return ferror(o->f) ? -EIO : 0;
}

int nr_out_end(struct nr_out *o)
{
	int r = 0;

	if (!o || !o->in_set)
		return -EINVAL;
	switch (o->fmt) {
	case NR_FMT_TABLE:
		if (!o->streaming)
			r = table_flush(o);
		break;
	case NR_FMT_JSON:
		fputs(o->nrows ? "\n]\n" : "]\n", o->f);
		break;
	case NR_FMT_CSV:
	case NR_FMT_NDJSON:
		break;
	}
	set_free(o);
	o->line.oom = false;
	if (fflush(o->f) != 0 || ferror(o->f))
		return -EIO;
	return r;
}

void nr_out_free(struct nr_out *o)
{
	if (!o)
		return;
	set_free(o);
	sb_done(&o->line);
	sb_done(&o->cell);
	sb_done(&o->tbuf);
	free(o);
}
