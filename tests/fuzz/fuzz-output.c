// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the result writer of query/output.h, which prints whatever a capture
 * or a query returns: hostile strings are the normal case. The input drives one writer:
 *
 *   byte 0      format (bits 0-1), NR_OUT_HUMAN_TIME (bit 2), NR_OUT_NO_HEADER (bit 3)
 *   byte 1      number of columns, 0 to 7
 *   then cells: a tag byte, a length byte, that many bytes (cut short at the end of input)
 *     tag % 8:  0 NULL, 1 INT, 2 REAL (the bytes, zero-padded, as int64_t or double),
 *               3 TEXT, 4 BLOB, 5 a new result set with the same names, 6 TEXT again,
 *               7 the last row again (length + 1) * 8 times, so tables pass the 1000 rows
 *               they buffer and switch to streaming
 *   The first ncols cells name the columns (their bytes up to a NUL, whatever the tag), the
 *   rest fill rows; a short last row is padded with NULLs.
 *
 * Besides the sanitizers, checks output.h's promise for the formats read by programs and
 * terminals: JSON, NDJSON and table output is valid UTF-8 and holds no control character
 * other than '\n' (JSON strings escape them; tables show them as \xNN or \uXXXX).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define FUZZ_MAX_COLS 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cursor {
	const uint8_t *p;
	size_t left;
};

/* Returns the next cell's tag and bytes, or false at the end of input. */
static bool next_cell(struct cursor *c, unsigned *ret_tag, const uint8_t **ret_s, size_t *ret_n)
{
	size_t n;

	if (c->left < 2)
		return false;
	*ret_tag = c->p[0] % 8;
	n = c->p[1];
	c->p += 2;
	c->left -= 2;
	if (n > c->left)
		n = c->left;
	*ret_s = c->p;
	*ret_n = n;
	c->p += n;
	c->left -= n;
	return true;
}

static struct nr_val make_val(unsigned tag, const uint8_t *s, size_t n)
{
	struct nr_val v = { .type = NR_VAL_TEXT, .s = (const char *)s, .len = n };
	uint8_t raw[8] = { 0 };

	memcpy(raw, s, n < sizeof(raw) ? n : sizeof(raw));
	switch (tag) {
	case 0:
		v = (struct nr_val){ .type = NR_VAL_NULL };
		break;
	case 1:
		v = (struct nr_val){ .type = NR_VAL_INT };
		memcpy(&v.i, raw, sizeof(v.i));
		break;
	case 2:
		/* Any bit pattern: NaN, infinities and subnormals included. */
		v = (struct nr_val){ .type = NR_VAL_REAL };
		memcpy(&v.d, raw, sizeof(v.d));
		break;
	case 4:
		v.type = NR_VAL_BLOB;
		break;
	}
	return v;
}

/* Decodes one UTF-8 sequence strictly (no overlongs, surrogates, or above U+10FFFF). Returns
 * its length, or 0 if ill-formed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
	uint32_t cp, min;
	size_t len, i;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return len;
}

/* Writes a row, the cells after the first @nvals as NULL. */
static int put_row(struct nr_out *o, struct nr_val *vals, int nvals, int ncols)
{
	for (; nvals < ncols; nvals++)
		vals[nvals] = (struct nr_val){ .type = NR_VAL_NULL };
	return nr_out_row(o, vals);
}

static void check_text(const char *fmt, const char *out, size_t len)
{
	const unsigned char *u = (const unsigned char *)out;
	size_t i, k;
	uint32_t cp;

	for (i = 0; i < len; i += k) {
		k = utf8_decode(u + i, len - i, &cp);
		if (k == 0) {
			fprintf(stderr, "%s output: invalid UTF-8 at byte %zu of %zu\n", fmt, i, len);
			abort();
		}
		if ((cp < 0x20 && cp != '\n') || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			fprintf(stderr, "%s output: raw control U+%04X at byte %zu of %zu\n", fmt,
				(unsigned)cp, i, len);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fmt_names[] = { "table", "csv", "json", "ndjson" };
	char names_buf[FUZZ_MAX_COLS][256], *out = NULL;
	const char *names[FUZZ_MAX_COLS];
	struct nr_val vals[FUZZ_MAX_COLS];
	struct cursor cur;
	struct nr_out *o = NULL;
	enum nr_format fmt;
	unsigned flags = 0, tag;
	const uint8_t *s;
	size_t n, outlen = 0;
	bool have_row = false;
	int ncols, c, nvals = 0;
	FILE *f;

	if (size < 2)
		return 0;
	fmt = (enum nr_format)(data[0] & 3);
	if (data[0] & 4)
		flags |= NR_OUT_HUMAN_TIME;
	if (data[0] & 8)
		flags |= NR_OUT_NO_HEADER;
	ncols = data[1] % (FUZZ_MAX_COLS + 1);
	cur = (struct cursor){ .p = data + 2, .left = size - 2 };

	for (c = 0; c < ncols; c++) {
		names_buf[c][0] = '\0';
		if (next_cell(&cur, &tag, &s, &n)) {
			/* n <= 255: fits with its NUL. */
			memcpy(names_buf[c], s, n);
			names_buf[c][n] = '\0';
		}
		names[c] = names_buf[c];
	}

	f = open_memstream(&out, &outlen);
	if (!f)
		return 0;
	if (nr_out_new(f, fmt, flags, &o) < 0 || nr_out_begin(o, ncols, names) < 0)
		goto done;
	while (next_cell(&cur, &tag, &s, &n)) {
		if (tag == 5) {
			if ((nvals > 0 && put_row(o, vals, nvals, ncols) < 0) || nr_out_end(o) < 0 ||
			    nr_out_begin(o, ncols, names) < 0)
				goto done;
			if (nvals > 0)
				have_row = true;
			nvals = 0;
			continue;
		}
		if (tag == 7) {
			/* vals still holds the last row written, unless one is half built. */
			if (!have_row || nvals > 0)
				continue;
			for (size_t k = 0; k < (n + 1) * 8; k++)
				if (nr_out_row(o, vals) < 0)
					goto done;
			continue;
		}
		if (ncols > 0)
			vals[nvals++] = make_val(tag, s, n);
		if (nvals == ncols) {
			if (put_row(o, vals, nvals, ncols) < 0)
				goto done;
			have_row = true;
			nvals = 0;
		}
	}
	if (nvals > 0 && put_row(o, vals, nvals, ncols) < 0)
		goto done;
	nr_out_end(o);
done:
	nr_out_free(o);
	fclose(f);
	if (fmt != NR_FMT_CSV)
		check_text(fmt_names[fmt], out, outlen);
	free(out);
	return 0;
}
