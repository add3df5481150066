// SPDX-License-Identifier: MIT
/*
 * Tests for query/output.c: exact bytes for every format, hostile strings, write errors, and
 * independent checks by Python's json and csv modules (skipped when python3 is missing).
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "output.h"

#define VNULL { .type = NR_VAL_NULL }
#define VI(x) { .type = NR_VAL_INT, .i = (x) }
#define VR(x) { .type = NR_VAL_REAL, .d = (x) }
/* String literals only: sizeof keeps embedded NUL bytes. */
#define VT(x) { .type = NR_VAL_TEXT, .s = (x), .len = sizeof(x) - 1 }
#define VB(x) { .type = NR_VAL_BLOB, .s = (x), .len = sizeof(x) - 1 }

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct mem {
	FILE *f;
	char *buf;
	size_t len;
};

static void mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

static void mem_close(struct mem *m)
{
	assert_int_equal(fclose(m->f), 0);
	m->f = NULL;
}

static void print_escaped(const char *what, const char *s, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu bytes): \"", what, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			fputs("\\n\"\n\t\"", stderr);
		else if (c == '\\' || c == '"')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fputs("\"\n", stderr);
}

static void assert_bytes(const char *got, size_t got_len, const char *want, size_t want_len)
{
	if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0))
		return;
	print_escaped("expected", want, want_len);
	print_escaped("got", got, got_len);
	fail_msg("output differs");
}

#define assert_output(m, lit) assert_bytes((m)->buf, (m)->len, (lit), sizeof(lit) - 1)

/* One result set into @m (opened here, closed on return). */
static void render(struct mem *m, enum nr_format fmt, unsigned flags, int ncols,
		   const char *const *names, size_t nrows, const struct nr_val *vals)
{
	struct nr_out *o = NULL;
	size_t r;

	mem_open(m);
	assert_int_equal(nr_out_new(m->f, fmt, flags, &o), 0);
	assert_int_equal(nr_out_begin(o, ncols, names), 0);
	for (r = 0; r < nrows; r++)
		assert_int_equal(nr_out_row(o, vals + r * (size_t)ncols), 0);
	assert_int_equal(nr_out_end(o), 0);
	nr_out_free(o);
	mem_close(m);
}

static void set(struct nr_out *o, int ncols, const char *const *names, size_t nrows,
		const struct nr_val *vals)
{
	size_t r;

	assert_int_equal(nr_out_begin(o, ncols, names), 0);
	for (r = 0; r < nrows; r++)
		assert_int_equal(nr_out_row(o, vals + r * (size_t)ncols), 0);
	assert_int_equal(nr_out_end(o), 0);
}

static bool have_python(void)
{
	return system("python3 -c 'pass' >/dev/null 2>&1") == 0;
}

/* Feeds @n bytes to a shell command on stdin; returns its exit status (-1 if it died). */
static int pipe_to(const char *cmd, const char *buf, size_t n)
{
	FILE *p = popen(cmd, "w");
	int st;

	assert_non_null(p);
	if (n)
		assert_int_equal(fwrite(buf, 1, n, p), n);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Writes @n bytes to a new temporary file; *@path must be a "...XXXXXX" template. */
static void write_tmp(char *path, const char *buf, size_t n)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	if (n)
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

/* Runs @cmd and returns its whole stdout (malloc'd) in *@out; returns the exit status. */
static int run_capture(const char *cmd, char **out)
{
	struct mem m;
	char buf[4096];
	size_t n;
	FILE *p;
	int st;

	mem_open(&m);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, m.f);
	st = pclose(p);
	mem_close(&m);
	*out = m.buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void hex_append(FILE *f, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", (unsigned char)s[i]);
}

/* ------------------------------------------------------------------------------------------ */

static void test_format_parse(void **state)
{
	enum nr_format f = NR_FMT_CSV;

	assert_int_equal(nr_format_parse("table", &f), 0);
	assert_int_equal(f, NR_FMT_TABLE);
	assert_int_equal(nr_format_parse("csv", &f), 0);
	assert_int_equal(f, NR_FMT_CSV);
	assert_int_equal(nr_format_parse("json", &f), 0);
	assert_int_equal(f, NR_FMT_JSON);
	assert_int_equal(nr_format_parse("ndjson", &f), 0);
	assert_int_equal(f, NR_FMT_NDJSON);

	f = NR_FMT_NDJSON;
	assert_int_equal(nr_format_parse("", &f), -EINVAL);
	assert_int_equal(nr_format_parse("jsonl", &f), -EINVAL);
	assert_int_equal(nr_format_parse("csv ", &f), -EINVAL);
	assert_int_equal(nr_format_parse(NULL, &f), -EINVAL);
	assert_int_equal(f, NR_FMT_NDJSON); /* untouched on failure */
}

static void test_api_misuse(void **state)
{
	const char *names[] = { "a" };
	struct nr_val v[] = { VI(1) }, bad[] = { { .type = (enum nr_val_type)42 } };
	struct nr_out *o = NULL;
	struct mem m;

	nr_out_free(NULL);
	mem_open(&m);
	assert_int_equal(nr_out_new(NULL, NR_FMT_CSV, 0, &o), -EINVAL);
	assert_int_equal(nr_out_new(m.f, (enum nr_format)99, 0, &o), -EINVAL);
	assert_null(o);
	assert_int_equal(nr_out_new(m.f, NR_FMT_CSV, 0, &o), 0);
	assert_int_equal(nr_out_row(o, v), -EINVAL);
	assert_int_equal(nr_out_end(o), -EINVAL);
	assert_int_equal(nr_out_begin(o, -1, names), -EINVAL);
	assert_int_equal(nr_out_begin(o, 1, NULL), -EINVAL);
	assert_int_equal(nr_out_begin(o, 1, names), 0);
	assert_int_equal(nr_out_begin(o, 1, names), -EINVAL);
	assert_int_equal(nr_out_row(o, bad), -EINVAL);
	assert_int_equal(nr_out_row(o, NULL), -EINVAL);
	assert_int_equal(nr_out_row(o, v), 0);
	assert_int_equal(nr_out_end(o), 0);
	assert_int_equal(nr_out_end(o), -EINVAL);
	nr_out_free(o);
	mem_close(&m);
	assert_output(&m, "a\r\n1\r\n");
	free(m.buf);
}

/* Freeing in the middle of a result set releases everything (checked by ASan). */
static void test_free_mid_set(void **state)
{
	static const enum nr_format fmts[] = { NR_FMT_TABLE, NR_FMT_CSV, NR_FMT_JSON,
					       NR_FMT_NDJSON };
	const char *names[] = { "a", "a" };
	struct nr_val v[] = { VT("some text"), VB("\x01\x02") };
	struct nr_out *o;
	struct mem m;
	size_t i;

	for (i = 0; i < N_ELEMS(fmts); i++) {
		mem_open(&m);
		assert_int_equal(nr_out_new(m.f, fmts[i], 0, &o), 0);
		assert_int_equal(nr_out_begin(o, 2, names), 0);
		assert_int_equal(nr_out_row(o, v), 0);
		nr_out_free(o);
		mem_close(&m);
		free(m.buf);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* table */

static void test_table_basic(void **state)
{
	const char *names[] = { "id", "name", "score", "data" };
	const struct nr_val v[] = {
		VI(1), VT("alice"), VR(1.5), VB("\x0a\x0b"),
		VI(-20), VT("bob"), VNULL, VNULL,
		VNULL, VT(""), VR(0.1), VB(""),
	};
	struct mem m;

	render(&m, NR_FMT_TABLE, 0, 4, names, 3, v);
	assert_output(&m, " id  name   score  data\n"
			  "---  -----  -----  -------\n"
			  "  1  alice    1.5  x'0a0b'\n"
			  "-20  bob\n"
			  "              0.1  x''\n");
	free(m.buf);
}

static void test_table_hostile(void **state)
{
	const char *names[] = { "k", "\x1b]0;title\x07" };
	const struct nr_val v[] = {
		VI(1), VT("a,b\"c"),
		VI(2), VT("line1\nline2\r\n"),
		VI(3), VT("tab\there"),
		VI(4), VT("\x1b[31mred\x1b[0m"),
		VI(5), VT("\xff\xfe"),
		VI(6), VT("\xe6\x97"),
		VI(7), VT("é日本"),
		VI(8), VT("a\xe2\x80\xa8" "b"),
		VI(9), VT("\xc2\x85\x7f\x01"),
		VI(10), VT("back\\slash"),
		VI(11), VT("nul\0byte"),
		VI(12), VT("\xe2\x80\xae" "evil"),
		VI(13), VT("\xed\xa0\x80"),
		VI(14), VT("\xc0\xaf"),
	};
	struct mem m;

	render(&m, NR_FMT_TABLE, 0, 2, names, N_ELEMS(v) / 2, v);
	assert_output(&m, " k  \\x1b]0;title\\x07\n"
			  "--  ------------------\n"
			  " 1  a,b\"c\n"
			  " 2  line1\\nline2\\r\\n\n"
			  " 3  tab\\there\n"
			  " 4  \\x1b[31mred\\x1b[0m\n"
			  " 5  \\xff\\xfe\n"
			  " 6  \\xe6\\x97\n"
			  " 7  é日本\n"
			  " 8  a\\u2028b\n"
			  " 9  \\u0085\\x7f\\x01\n"
			  "10  back\\\\slash\n"
			  "11  nul\\x00byte\n"
			  "12  \\u202eevil\n"
			  "13  \\xed\\xa0\\x80\n"
			  "14  \\xc0\\xaf\n");
	free(m.buf);
}

/* Widths count code points, not bytes: "é日本" is 3 wide, so "x" lines up after it. */
static void test_table_utf8_width(void **state)
{
	const char *names[] = { "s", "n" };
	const struct nr_val v[] = {
		VT("é日本"), VI(1),
		VT("abcd"), VI(22),
		VT("\xff"), VI(3),
	};
	struct mem m;

	render(&m, NR_FMT_TABLE, 0, 2, names, 3, v);
	assert_output(&m, "s      n\n"
			  "----  --\n"
			  "é日本    1\n"
			  "abcd  22\n"
			  "\\xff   3\n");
	free(m.buf);
}

static void test_table_empty(void **state)
{
	const char *names[] = { "a_ns", "bb" };
	struct mem m;

	render(&m, NR_FMT_TABLE, 0, 2, names, 0, NULL);
	assert_output(&m, "a_ns  bb\n"
			  "----  --\n");
	free(m.buf);

	render(&m, NR_FMT_TABLE, NR_OUT_NO_HEADER, 2, names, 0, NULL);
	assert_output(&m, "");
	free(m.buf);
}

static void test_table_no_header(void **state)
{
	const char *names[] = { "a", "long_name" };
	const struct nr_val v[] = { VI(1), VT("x"), VI(100), VNULL };
	struct mem m;

	render(&m, NR_FMT_TABLE, NR_OUT_NO_HEADER, 2, names, 2, v);
	/* Widths still include the (unprinted) header. */
	assert_output(&m, "  1  x\n"
			  "100\n");
	free(m.buf);
}

static void test_table_numbers(void **state)
{
	const char *names[] = { "v" };
	const struct nr_val v[] = {
		VI(INT64_MIN), VI(INT64_MAX), VI(0), VR(-0.0), VR(1e300), VR(NAN), VR(INFINITY),
		VR(-INFINITY), VR(1.0 / 3), VR(100.0), VR(0.1 + 0.2), VR(-2.5e-10),
	};
	struct mem m;

	render(&m, NR_FMT_TABLE, 0, 1, names, N_ELEMS(v), v);
	assert_output(&m, "                   v\n"
			  "--------------------\n"
			  "-9223372036854775808\n"
			  " 9223372036854775807\n"
			  "                   0\n"
			  "                -0.0\n"
			  "              1e+300\n"
			  "                 NaN\n"
			  "                 Inf\n"
			  "                -Inf\n"
			  "  0.3333333333333333\n"
			  "               100.0\n"
			  " 0.30000000000000004\n"
			  "            -2.5e-10\n");
	free(m.buf);
}

static void test_table_human_time(void **state)
{
	const char *names[] = { "ts_ns", "n", "End_NS", "ns" };
	const struct nr_val v[] = {
		VI(1763817846123456789), VI(5), VI(0), VI(7),
		VT("n/a"), VI(1), VNULL, VI(8),
		VI(INT64_MIN), VI(2), VR(1.5), VI(9),
	};
	struct mem m;

	render(&m, NR_FMT_TABLE, NR_OUT_HUMAN_TIME, 4, names, 3, v);
	assert_output(&m, "ts_ns                     n  End_NS                    ns\n"
			  "------------------------  -  ------------------------  --\n"
			  "2025-11-22T13:24:06.123Z  5  1970-01-01T00:00:00.000Z   7\n"
			  "n/a                       1                             8\n"
			  "1677-09-21T00:12:43.145Z  2                       1.5   9\n");
	free(m.buf);

	/* Without the flag the same column keeps raw nanoseconds. */
	render(&m, NR_FMT_TABLE, 0, 2, names, 1, (const struct nr_val[]){ VI(1763817846123456789),
									 VI(5) });
	assert_output(&m, "              ts_ns  n\n"
			  "-------------------  -\n"
			  "1763817846123456789  5\n");
	free(m.buf);
}

/* After 1000 rows the widths are fixed and rows stream; a wider value just overflows. */
static void test_table_streaming(void **state)
{
	const char *names[] = { "n", "s" };
	struct nr_val v[2] = { VI(0), VT("ab") };
	struct nr_out *o;
	struct mem m, want;
	int i;

	mem_open(&m);
	assert_int_equal(nr_out_new(m.f, NR_FMT_TABLE, 0, &o), 0);
	assert_int_equal(nr_out_begin(o, 2, names), 0);
	for (i = 0; i < 999; i++) {
		v[0].i = i;
		assert_int_equal(nr_out_row(o, v), 0);
	}
	assert_int_equal(fflush(m.f), 0);
	assert_int_equal(m.len, 0); /* still buffering */
	v[0].i = 999;
	assert_int_equal(nr_out_row(o, v), 0);
	assert_int_equal(fflush(m.f), 0);
	assert_true(m.len > 0); /* the first 1000 rows are out before the set ends */

	v[0].i = 1000;
	v[1] = (struct nr_val)VT("wider text");
	assert_int_equal(nr_out_row(o, v), 0);
	v[0].i = 1001;
	v[1] = (struct nr_val)VT("c\n");
	assert_int_equal(nr_out_row(o, v), 0);
	assert_int_equal(nr_out_end(o), 0);
	nr_out_free(o);
	mem_close(&m);

	mem_open(&want);
	fputs("  n  s\n---  --\n", want.f);
	for (i = 0; i < 1000; i++)
		fprintf(want.f, "%3d  ab\n", i);
	fputs("1000  wider text\n1001  c\\n\n", want.f);
	mem_close(&want);
	assert_bytes(m.buf, m.len, want.buf, want.len);
	free(m.buf);
	free(want.buf);
}

static void test_table_multiple_sets(void **state)
{
	const char *n1[] = { "a" }, *n2[] = { "b", "c" };
	const struct nr_val v1[] = { VI(1) };
	struct nr_out *o;
	struct mem m;

	mem_open(&m);
	assert_int_equal(nr_out_new(m.f, NR_FMT_TABLE, 0, &o), 0);
	set(o, 1, n1, 1, v1);
	set(o, 2, n2, 0, NULL);
	set(o, 1, n1, 1, v1);
	nr_out_free(o);
	mem_close(&m);
	assert_output(&m, "a\n-\n1\n"
			  "\n"
			  "b  c\n-  -\n"
			  "\n"
			  "a\n-\n1\n");
	free(m.buf);
}

/* Duplicate names stay as they are in tables and CSV. */
static void test_table_csv_duplicate_names(void **state)
{
	const char *names[] = { "a", "a" };
	const struct nr_val v[] = { VI(1), VI(2) };
	struct mem m;

	render(&m, NR_FMT_TABLE, 0, 2, names, 1, v);
	assert_output(&m, "a  a\n-  -\n1  2\n");
	free(m.buf);
	render(&m, NR_FMT_CSV, 0, 2, names, 1, v);
	assert_output(&m, "a,a\r\n1,2\r\n");
	free(m.buf);
}

/* ------------------------------------------------------------------------------------------ */
/* CSV */

static void test_csv_basic(void **state)
{
	const char *names[] = { "id", "name", "note", "r", "b" };
	const struct nr_val v[] = {
		VI(1), VT("plain"), VT("a,b"), VR(1.5), VB("\x0a\x0b"),
		VI(INT64_MIN), VT("say \"hi\""), VT("line1\r\nline2"), VR(-0.0), VB(""),
		VI(INT64_MAX), VT(""), VNULL, VNULL, VNULL,
		VI(0), VT(" lead"), VT("trail "), VR(NAN), VB("\xff"),
		VNULL, VT("é日本"), VT("\x1b[31m\xff\xfe"), VR(INFINITY), VT("tab\tin"),
		VI(-1), VT("cr\ronly"), VT("lf\nonly"), VR(-INFINITY), VT("\""),
		VI(2), VT("\tx"), VT("0.1"), VR(0.1), VT("a\0b"),
	};
	struct mem m;

	render(&m, NR_FMT_CSV, 0, 5, names, N_ELEMS(v) / 5, v);
	assert_output(&m, "id,name,note,r,b\r\n"
			  "1,plain,\"a,b\",1.5,0a0b\r\n"
			  "-9223372036854775808,\"say \"\"hi\"\"\",\"line1\r\nline2\",-0.0,\"\"\r\n"
			  "9223372036854775807,\"\",,,\r\n"
			  "0,\" lead\",\"trail \",NaN,ff\r\n"
			  ",é日本,\x1b[31m\xff\xfe,Inf,tab\tin\r\n"
			  "-1,\"cr\ronly\",\"lf\nonly\",-Inf,\"\"\"\"\r\n"
			  "2,\"\tx\",0.1,0.1,a\0b\r\n");
	free(m.buf);
}

static void test_csv_header_names(void **state)
{
	const char *names[] = { "x", "a,b", "", "q\"", " s", "new\nline" };
	struct mem m;

	render(&m, NR_FMT_CSV, 0, 6, names, 0, NULL);
	assert_output(&m, "x,\"a,b\",\"\",\"q\"\"\",\" s\",\"new\nline\"\r\n");
	free(m.buf);
}

static void test_csv_sets_and_flags(void **state)
{
	const char *n1[] = { "a" }, *n2[] = { "b", "ts_ns" };
	const struct nr_val v1[] = { VI(1) }, v2[] = { VT("x"), VI(1763817846123456789) };
	struct nr_out *o;
	struct mem m;

	mem_open(&m);
	assert_int_equal(nr_out_new(m.f, NR_FMT_CSV, NR_OUT_HUMAN_TIME, &o), 0);
	set(o, 1, n1, 1, v1);
	set(o, 2, n2, 1, v2);
	set(o, 1, n1, 0, NULL);
	nr_out_free(o);
	mem_close(&m);
	/* CSV keeps raw nanoseconds even with NR_OUT_HUMAN_TIME. */
	assert_output(&m, "a\r\n1\r\n"
			  "\r\n"
			  "b,ts_ns\r\nx,1763817846123456789\r\n"
			  "\r\n"
			  "a\r\n");
	free(m.buf);

	mem_open(&m);
	assert_int_equal(nr_out_new(m.f, NR_FMT_CSV, NR_OUT_NO_HEADER, &o), 0);
	set(o, 1, n1, 1, v1);
	set(o, 2, n2, 1, v2);
	nr_out_free(o);
	mem_close(&m);
	assert_output(&m, "1\r\n"
			  "\r\n"
			  "x,1763817846123456789\r\n");
	free(m.buf);
}

/* Python's csv module, an independent RFC 4180 reader, gets back every field byte for byte. */
static void test_csv_python_roundtrip(void **state)
{
	static const char script[] =
		"import csv,sys\n"
		"with open(sys.argv[1], encoding='latin-1', newline='') as f:\n"
		"    for row in csv.reader(f, strict=True):\n"
		"        print('|'.join(x.encode('latin-1').hex() for x in row))\n";
	const char *names[] = { "a b", "c,d", "e\"f", "g" };
	const struct nr_val v[] = {
		VT("a,b"), VT("\"quoted\""), VT("multi\r\nline\n"), VT(" spaced  "),
		VT("\x1b[31m"), VT("\xff\xfe\xe6\x97"), VT("é日本"), VT("\xe2\x80\xa8"),
		VI(INT64_MIN), VR(0.1), VB("\x00\xff"), VT(""),
		VT("\t"), VT("\"\""), VT(",,,"), VT("\r"),
	};
	const char *expect_fields[] = {
		"a b", "c,d", "e\"f", "g",
		"a,b", "\"quoted\"", "multi\r\nline\n", " spaced  ",
		"\x1b[31m", "\xff\xfe\xe6\x97", "é日本", "\xe2\x80\xa8",
		"-9223372036854775808", "0.1", "00ff", "",
		"\t", "\"\"", ",,,", "\r",
	};
	char path[] = "/tmp/test-output-csv-XXXXXX", spath[] = "/tmp/test-output-py-XXXXXX";
	char cmd[256], *out;
	struct mem m, want;
	size_t i;

	if (!have_python())
		skip();
	render(&m, NR_FMT_CSV, 0, 4, names, N_ELEMS(v) / 4, v);
	write_tmp(path, m.buf, m.len);

	mem_open(&want);
	for (i = 0; i < N_ELEMS(expect_fields); i++) {
		hex_append(want.f, expect_fields[i], strlen(expect_fields[i]));
		fputc(i % 4 == 3 ? '\n' : '|', want.f);
	}
	mem_close(&want);

	write_tmp(spath, script, strlen(script));
	snprintf(cmd, sizeof(cmd), "python3 %s %s", spath, path);
	assert_int_equal(run_capture(cmd, &out), 0);
	assert_bytes(out, strlen(out), want.buf, want.len);
	unlink(spath);
	unlink(path);
	free(out);
	free(want.buf);
	free(m.buf);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON and NDJSON */

static void test_json_basic(void **state)
{
	const char *names[] = { "id", "name", "r", "b", "n" };
	const struct nr_val v[] = {
		VI(1), VT("alice"), VR(1.5), VB("\x0a\x0b"), VNULL,
		VI(INT64_MIN), VT(""), VR(NAN), VB(""), VI(INT64_MAX),
		VI(2), VT("q\"b\\s/"), VR(-INFINITY), VNULL, VR(1e-7),
		VI(3), VNULL, VR(INFINITY), VB("\xff"), VR(-0.0),
		VI(4), VT("x"), VR(2.0), VT("y"), VR(1e300),
	};
	struct mem m;

	render(&m, NR_FMT_JSON, 0, 5, names, N_ELEMS(v) / 5, v);
	assert_output(&m, "[\n"
			  "{\"id\":1,\"name\":\"alice\",\"r\":1.5,\"b\":\"0a0b\",\"n\":null},\n"
			  "{\"id\":-9223372036854775808,\"name\":\"\",\"r\":null,\"b\":\"\","
			  "\"n\":9223372036854775807},\n"
			  "{\"id\":2,\"name\":\"q\\\"b\\\\s/\",\"r\":null,\"b\":null,"
			  "\"n\":1e-07},\n"
			  "{\"id\":3,\"name\":null,\"r\":null,\"b\":\"ff\",\"n\":-0.0},\n"
			  "{\"id\":4,\"name\":\"x\",\"r\":2.0,\"b\":\"y\",\"n\":1e+300}\n"
			  "]\n");
	free(m.buf);
}

static const char *const hostile_names[] = { "na\"me\n", "s" };
static const struct nr_val hostile_vals[] = {
	VI(1), VT("a\"b\\c"),
	VI(2), VT("\b\f\n\r\t"),
	VI(3), VT("\x01\x1f\x7f"),
	VI(4), VT("\x1b[31mred"),
	VI(5), VT("\xff\xfe"),
	VI(6), VT("\xe6\x97"),
	VI(7), VT("\xe6\x97" "x"),
	VI(8), VT("é日本"),
	VI(9), VT("\xe2\x80\xa8\xe2\x80\xa9"),
	VI(10), VT("\xc2\x85"),
	VI(11), VT("nul\0x"),
	VI(12), VT("\xf0\x9f\x98\x80"),
	VI(13), VT("\xf4\x90\x80\x80"),
	VI(14), VT("\xed\xa0\x80"),
	VI(15), VT("\xc0\xaf"),
	VI(16), VT("\xe2\x80\xae" "evil"),
};

#define FFFD "\xef\xbf\xbd"
#define HOSTILE_OBJECTS \
	"{\"na\\\"me\\n\":1,\"s\":\"a\\\"b\\\\c\"}" SEP \
	"{\"na\\\"me\\n\":2,\"s\":\"\\b\\f\\n\\r\\t\"}" SEP \
	"{\"na\\\"me\\n\":3,\"s\":\"\\u0001\\u001f\\u007f\"}" SEP \
	"{\"na\\\"me\\n\":4,\"s\":\"\\u001b[31mred\"}" SEP \
	"{\"na\\\"me\\n\":5,\"s\":\"" FFFD FFFD "\"}" SEP \
	"{\"na\\\"me\\n\":6,\"s\":\"" FFFD "\"}" SEP \
	"{\"na\\\"me\\n\":7,\"s\":\"" FFFD "x\"}" SEP \
	"{\"na\\\"me\\n\":8,\"s\":\"é日本\"}" SEP \
	"{\"na\\\"me\\n\":9,\"s\":\"\\u2028\\u2029\"}" SEP \
	"{\"na\\\"me\\n\":10,\"s\":\"\\u0085\"}" SEP \
	"{\"na\\\"me\\n\":11,\"s\":\"nul\\u0000x\"}" SEP \
	"{\"na\\\"me\\n\":12,\"s\":\"\xf0\x9f\x98\x80\"}" SEP \
	"{\"na\\\"me\\n\":13,\"s\":\"" FFFD FFFD FFFD FFFD "\"}" SEP \
	"{\"na\\\"me\\n\":14,\"s\":\"" FFFD FFFD FFFD "\"}" SEP \
	"{\"na\\\"me\\n\":15,\"s\":\"" FFFD FFFD "\"}" SEP \
	"{\"na\\\"me\\n\":16,\"s\":\"\\u202eevil\"}"

static void test_json_hostile(void **state)
{
	struct mem m;

	render(&m, NR_FMT_JSON, 0, 2, hostile_names, N_ELEMS(hostile_vals) / 2, hostile_vals);
#define SEP ",\n"
	assert_output(&m, "[\n" HOSTILE_OBJECTS "\n]\n");
#undef SEP
	if (have_python())
		assert_int_equal(pipe_to("python3 -c 'import json,sys; json.load(sys.stdin)'",
					 m.buf, m.len), 0);
	free(m.buf);

	render(&m, NR_FMT_NDJSON, 0, 2, hostile_names, N_ELEMS(hostile_vals) / 2,
	       hostile_vals);
#define SEP "\n"
	assert_output(&m, HOSTILE_OBJECTS "\n");
#undef SEP
	free(m.buf);
}

/*
 * Python decodes what we wrote: each row carries its input bytes as hex in "raw" and the text
 * itself in a column with a hostile name; "s" must come back exactly as Python's own decoder
 * reads the input with errors="replace" (Unicode's maximal-subpart replacement). The whole
 * output must also be strict UTF-8.
 */
static const char decode_script[] =
	"import json,sys\n"
	"text = open(sys.argv[1], 'rb').read().decode('utf-8')\n"
	"if sys.argv[2] == 'json':\n"
	"    rows = json.load(open(sys.argv[1], encoding='utf-8'))\n"
	"else:\n"
	"    assert text == '' or text.endswith('\\n')\n"
	"    rows = [json.loads(l) for l in text.split('\\n')[:-1]]\n"
	"assert len(rows) == int(sys.argv[3]), len(rows)\n"
	"for o in rows:\n"
	"    assert list(o.keys()) == ['raw', 's\"\\n\\x1b'], list(o.keys())\n"
	"    want = bytes.fromhex(o['raw']).decode('utf-8', 'replace')\n"
	"    got = o['s\"\\n\\x1b']\n"
	"    assert got == want, (o['raw'], got, want)\n";

static void check_python_decodes(enum nr_format fmt, size_t n, const char *const *s,
				 const size_t *len)
{
	const char *names[] = { "raw", "s\"\n\x1b" };
	char data[] = "/tmp/test-output-data-XXXXXX", script[] = "/tmp/test-output-py-XXXXXX";
	char cmd[256], *hex, *out;
	struct nr_out *o;
	struct mem m;
	size_t r, i;

	if (!have_python())
		skip();
	mem_open(&m);
	assert_int_equal(nr_out_new(m.f, fmt, 0, &o), 0);
	assert_int_equal(nr_out_begin(o, 2, names), 0);
	for (r = 0; r < n; r++) {
		struct nr_val v[2] = { { .type = NR_VAL_TEXT }, { .type = NR_VAL_TEXT } };

		hex = malloc(2 * len[r] + 1);
		assert_non_null(hex);
		for (i = 0; i < len[r]; i++)
			snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[r][i]);
		v[0].s = hex;
		v[0].len = 2 * len[r];
		v[1].s = s[r];
		v[1].len = len[r];
		assert_int_equal(nr_out_row(o, v), 0);
		free(hex);
	}
	assert_int_equal(nr_out_end(o), 0);
	nr_out_free(o);
	mem_close(&m);

	write_tmp(data, m.buf, m.len);
	write_tmp(script, decode_script, strlen(decode_script));
	snprintf(cmd, sizeof(cmd), "python3 %s %s %s %zu", script, data,
		 fmt == NR_FMT_JSON ? "json" : "ndjson", n);
	if (run_capture(cmd, &out) != 0)
		fail_msg("python3 rejected the output: %s", out);
	free(out);
	unlink(data);
	unlink(script);
	free(m.buf);
}

static void test_json_python_decodes(void **state)
{
	const char *s[N_ELEMS(hostile_vals) / 2];
	size_t len[N_ELEMS(hostile_vals) / 2], i;

	for (i = 0; i < N_ELEMS(s); i++) {
		s[i] = hostile_vals[2 * i + 1].s;
		len[i] = hostile_vals[2 * i + 1].len;
	}
	check_python_decodes(NR_FMT_JSON, N_ELEMS(s), s, len);
	check_python_decodes(NR_FMT_NDJSON, N_ELEMS(s), s, len);
	check_python_decodes(NR_FMT_JSON, 0, s, len);
	check_python_decodes(NR_FMT_NDJSON, 0, s, len);
}

static void test_json_empty_and_sets(void **state)
{
	const char *n1[] = { "a" }, *n2[] = { "b" }, *n3[] = { "c", "ts_ns" };
	const struct nr_val v1[] = { VI(1), VI(2) };
	const struct nr_val v3[] = { VT("x"), VI(1763817846123456789) };
	struct nr_out *o;
	struct mem m;

	render(&m, NR_FMT_JSON, 0, 1, n1, 0, NULL);
	assert_output(&m, "[]\n");
	free(m.buf);

	render(&m, NR_FMT_NDJSON, 0, 1, n1, 0, NULL);
	assert_output(&m, "");
	free(m.buf);

	/* JSON ignores NR_OUT_NO_HEADER and NR_OUT_HUMAN_TIME. */
	mem_open(&m);
	assert_int_equal(nr_out_new(m.f, NR_FMT_JSON, NR_OUT_HUMAN_TIME | NR_OUT_NO_HEADER, &o),
			 0);
	set(o, 1, n1, 2, v1);
	set(o, 1, n2, 0, NULL);
	set(o, 2, n3, 1, v3);
	nr_out_free(o);
	mem_close(&m);
	assert_output(&m, "[\n{\"a\":1},\n{\"a\":2}\n]\n"
			  "[]\n"
			  "[\n{\"c\":\"x\",\"ts_ns\":1763817846123456789}\n]\n");
	/* Each array is a complete JSON text for a streaming parser. */
	if (have_python())
		assert_int_equal(pipe_to("python3 -c '\n"
					 "import json,sys\n"
					 "s = sys.stdin.read(); d = json.JSONDecoder()\n"
					 "i = n = 0\n"
					 "while i < len(s):\n"
					 "    o, i = d.raw_decode(s, i); n += 1\n"
					 "    assert s[i] == \"\\n\"; i += 1\n"
					 "assert n == 3\n'",
					 m.buf, m.len), 0);
	free(m.buf);

	mem_open(&m);
	assert_int_equal(nr_out_new(m.f, NR_FMT_NDJSON, 0, &o), 0);
	set(o, 1, n1, 2, v1);
	set(o, 1, n2, 0, NULL);
	set(o, 2, n3, 1, v3);
	nr_out_free(o);
	mem_close(&m);
	assert_output(&m, "{\"a\":1}\n{\"a\":2}\n"
			  "{\"c\":\"x\",\"ts_ns\":1763817846123456789}\n");
	free(m.buf);

	/* Zero columns still give valid JSON. */
	render(&m, NR_FMT_JSON, 0, 0, NULL, 2, NULL);
	assert_output(&m, "[\n{},\n{}\n]\n");
	free(m.buf);
}

/* Later duplicates get _2, _3, ... skipping suffixes that are real column names. */
static void test_json_duplicate_names(void **state)
{
	const char *names[] = { "a", "a", "a_2", "b", "a", "" , "" };
	const struct nr_val v[] = { VI(1), VI(2), VI(3), VI(4), VI(5), VI(6), VI(7) };
	struct mem m;

	render(&m, NR_FMT_JSON, 0, 7, names, 1, v);
	assert_output(&m, "[\n"
			  "{\"a\":1,\"a_3\":2,\"a_2\":3,\"b\":4,\"a_4\":5,\"\":6,\"_2\":7}\n"
			  "]\n");
	if (have_python())
		assert_int_equal(pipe_to("python3 -c 'import json,sys; "
					 "assert len(json.load(sys.stdin)[0]) == 7'",
					 m.buf, m.len), 0);
	free(m.buf);

	render(&m, NR_FMT_NDJSON, 0, 7, names, 1, v);
	assert_output(&m, "{\"a\":1,\"a_3\":2,\"a_2\":3,\"b\":4,\"a_4\":5,\"\":6,\"_2\":7}\n");
	free(m.buf);
}

/* ------------------------------------------------------------------------------------------ */
/* Random bytes: JSON always parses and decodes like Python; tables never emit controls. */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

#define FUZZ_ROWS 500

static void fuzz_strings(char (*s)[32], size_t *len)
{
	/* Biased towards bytes that matter to UTF-8 and escaping. */
	static const unsigned char pool[] = { 0x00, 0x01, 0x07, 0x08, 0x0a, 0x0d, 0x1b, 0x20, '"',
					      '\\', ',', 'a', 0x7f, 0x80, 0x85, 0x9f, 0xa0, 0xa8,
					      0xae, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe2, 0xed, 0xef,
					      0xf0, 0xf4, 0xf5, 0xff };
	size_t r, i;

	for (r = 0; r < FUZZ_ROWS; r++) {
		len[r] = rnd() % 32;
		for (i = 0; i < len[r]; i++)
			s[r][i] = (char)(rnd() % 3 ? pool[rnd() % sizeof(pool)] : rnd() % 256);
	}
}

static void test_fuzz_json(void **state)
{
	static char s[FUZZ_ROWS][32];
	static size_t len[FUZZ_ROWS];
	const char *p[FUZZ_ROWS];
	size_t r;

	fuzz_strings(s, len);
	for (r = 0; r < FUZZ_ROWS; r++)
		p[r] = s[r];
	check_python_decodes(NR_FMT_JSON, FUZZ_ROWS, p, len);
	check_python_decodes(NR_FMT_NDJSON, FUZZ_ROWS, p, len);
}

static void test_fuzz_table(void **state)
{
	static char s[FUZZ_ROWS][32];
	static size_t len[FUZZ_ROWS];
	const char *names[] = { "s", "t" };
	size_t r, i, lines = 0;
	struct nr_out *o;
	struct mem m;

	fuzz_strings(s, len);
	mem_open(&m);
	assert_int_equal(nr_out_new(m.f, NR_FMT_TABLE, 0, &o), 0);
	assert_int_equal(nr_out_begin(o, 2, names), 0);
	for (r = 0; r < FUZZ_ROWS; r++) {
		struct nr_val v[2] = { { .type = NR_VAL_TEXT, .s = s[r], .len = len[r] },
				       { .type = NR_VAL_BLOB, .s = s[r], .len = len[r] } };

		assert_int_equal(nr_out_row(o, v), 0);
	}
	assert_int_equal(nr_out_end(o), 0);
	nr_out_free(o);
	mem_close(&m);

	for (i = 0; i < m.len; i++) {
		unsigned char c = (unsigned char)m.buf[i];

		if (c == '\n') {
			lines++;
			continue;
		}
		assert_false(c < 0x20 || c == 0x7f);
		/* C1 controls (C2 80..9F), U+2028/U+2029, U+202A..U+202E. */
		if (c == 0xc2 && i + 1 < m.len)
			assert_false((unsigned char)m.buf[i + 1] <= 0x9f);
		if (c == 0xe2 && i + 2 < m.len && (unsigned char)m.buf[i + 1] == 0x80)
			assert_false((unsigned char)m.buf[i + 2] >= 0xa8 &&
				     (unsigned char)m.buf[i + 2] <= 0xae);
	}
	assert_int_equal(lines, FUZZ_ROWS + 2);
	if (have_python())
		assert_int_equal(pipe_to("python3 -c 'import sys; sys.stdin.buffer.read()"
					 ".decode(\"utf-8\")'",
					 m.buf, m.len), 0);
	free(m.buf);
}

/* ------------------------------------------------------------------------------------------ */
/* Write errors */

static void test_write_error_dev_full(void **state)
{
	static const enum nr_format fmts[] = { NR_FMT_TABLE, NR_FMT_CSV, NR_FMT_JSON,
					       NR_FMT_NDJSON };
	const char *names[] = { "a", "b" };
	const struct nr_val v[] = { VI(1), VT("x") };
	struct nr_out *o;
	size_t i;
	FILE *f;

	for (i = 0; i < N_ELEMS(fmts); i++) {
		f = fopen("/dev/full", "w");
		if (!f)
			skip();
		assert_int_equal(nr_out_new(f, fmts[i], 0, &o), 0);
		assert_int_equal(nr_out_begin(o, 2, names), 0); /* still in the stdio buffer */
		assert_int_equal(nr_out_row(o, v), 0);
		assert_int_equal(nr_out_end(o), -EIO);
		/* The error is sticky: a later result set fails too. */
		nr_out_begin(o, 2, names);
		nr_out_row(o, v);
		assert_int_equal(nr_out_end(o), -EIO);
		nr_out_free(o);
		fclose(f);
	}

	/* Unbuffered, every call sees the error at once. */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(nr_out_new(f, NR_FMT_CSV, 0, &o), 0);
	assert_int_equal(nr_out_begin(o, 2, names), -EIO);
	assert_int_equal(nr_out_row(o, v), -EIO);
	assert_int_equal(nr_out_end(o), -EIO);
	nr_out_free(o);
	fclose(f);
}

/* A reader that went away (netrec ... | head): EPIPE, with SIGPIPE ignored as netrec does. */
static void test_write_error_epipe(void **state)
{
	const char *names[] = { "a" };
	const struct nr_val v[] = { VT("0123456789abcdef0123456789abcdef") };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct nr_out *o;
	int fds[2], i, r = 0;
	FILE *f;

	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	f = fdopen(fds[1], "w");
	assert_non_null(f);
	assert_int_equal(nr_out_new(f, NR_FMT_NDJSON, 0, &o), 0);
	assert_int_equal(nr_out_begin(o, 1, names), 0);
	for (i = 0; i < 10000 && r == 0; i++)
		r = nr_out_row(o, v);
	assert_true(r == 0 || r == -EIO);
	assert_int_equal(nr_out_end(o), -EIO);
	nr_out_free(o);
	fclose(f);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

/* Reals keep a '.' under a locale whose decimal point is a comma (skipped if none installed). */
static void test_real_locale(void **state)
{
	static const char *const locales[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
					       "fr_FR.utf8" };
	const char *names[] = { "r" };
	const struct nr_val v[] = { VR(1.5), VR(-0.25) };
	struct mem m;
	size_t i;

	for (i = 0; i < N_ELEMS(locales); i++)
		if (setlocale(LC_NUMERIC, locales[i]))
			break;
	if (i == N_ELEMS(locales))
		skip();
	render(&m, NR_FMT_CSV, 0, 1, names, 2, v);
	setlocale(LC_NUMERIC, "C");
	assert_output(&m, "r\r\n1.5\r\n-0.25\r\n");
	free(m.buf);
}

/* A large value goes through every format without truncation. */
static void test_large_value(void **state)
{
	static const enum nr_format fmts[] = { NR_FMT_TABLE, NR_FMT_CSV, NR_FMT_JSON,
					       NR_FMT_NDJSON };
	const char *names[] = { "big" };
	size_t n = 3 << 20, i;
	struct nr_val v = { .type = NR_VAL_TEXT, .len = n };
	char *big = malloc(n);
	struct mem m;

	assert_non_null(big);
	memset(big, 'z', n);
	v.s = big;
	for (i = 0; i < N_ELEMS(fmts); i++) {
		render(&m, fmts[i], NR_OUT_NO_HEADER, 1, names, 1, &v);
		assert_true(m.len >= n && m.len <= n + 16);
		assert_non_null(memmem(m.buf, m.len, big, n));
		free(m.buf);
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_api_misuse),
		cmocka_unit_test(test_free_mid_set),
		cmocka_unit_test(test_table_basic),
		cmocka_unit_test(test_table_hostile),
		cmocka_unit_test(test_table_utf8_width),
		cmocka_unit_test(test_table_empty),
		cmocka_unit_test(test_table_no_header),
		cmocka_unit_test(test_table_numbers),
		cmocka_unit_test(test_table_human_time),
		cmocka_unit_test(test_table_streaming),
		cmocka_unit_test(test_table_multiple_sets),
		cmocka_unit_test(test_table_csv_duplicate_names),
		cmocka_unit_test(test_csv_basic),
		cmocka_unit_test(test_csv_header_names),
		cmocka_unit_test(test_csv_sets_and_flags),
		cmocka_unit_test(test_csv_python_roundtrip),
		cmocka_unit_test(test_json_basic),
		cmocka_unit_test(test_json_hostile),
		cmocka_unit_test(test_json_python_decodes),
		cmocka_unit_test(test_json_empty_and_sets),
		cmocka_unit_test(test_json_duplicate_names),
		cmocka_unit_test(test_fuzz_json),
		cmocka_unit_test(test_fuzz_table),
		cmocka_unit_test(test_write_error_dev_full),
		cmocka_unit_test(test_write_error_epipe),
		cmocka_unit_test(test_real_locale),
		cmocka_unit_test(test_large_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
