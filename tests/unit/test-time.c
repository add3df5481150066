// SPDX-License-Identifier: MIT
/*
 * Tests for common/nrtime.c: every accepted form of nr_time_parse(), nr_duration_parse() and
 * nr_size_parse(), local time under several TZ settings, formatting round trips, and tables of
 * inputs that must be refused. Expected epoch values were computed independently with
 * `date -u -d <iso> +%s`, never with the code under test.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nrtime.h"

#define SEC(x) ((int64_t)(x) * NR_NS_PER_SEC)
#define MIN(x) (SEC(x) * 60)
#define HOUR(x) (MIN(x) * 60)
#define DAY(x) (HOUR(x) * 24)

/* A value no parser produces for the inputs below: proves failures leave *ret_* alone. */
#define SENTINEL ((int64_t)0x5a5a5a5a5a5a5a5aLL)

/* date -u -d 2026-11-22T13:24:06Z +%s */
#define T0 1795353846LL
/* date -u -d 2026-11-22T00:00:00Z +%s */
#define T0_MIDNIGHT 1795305600LL

/* A POSIX TZ string with explicit rules, so it needs no zoneinfo files. */
#define TZ_US_EAST "EST5EDT,M3.2.0,M11.1.0"

static void set_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static int reset_tz(void **state)
{
	(void)state;
	set_tz("UTC0");
	return 0;
}

static void expect_time_at(const char *s, int64_t now_ns, int64_t want, int line)
{
	int64_t got = SENTINEL;
	int r = nr_time_parse(s, now_ns, &got);

	if (r != 0 || got != want) {
		print_error("line %d: nr_time_parse(\"%s\") = %d, %lld; want 0, %lld\n", line, s, r,
			    (long long)got, (long long)want);
		_fail(__FILE__, line);
	}
}
#define expect_time(s, now, want) expect_time_at(s, now, want, __LINE__)

static void expect_time_bad_at(const char *s, int64_t now_ns, int line)
{
	int64_t got = SENTINEL;
	int r = nr_time_parse(s, now_ns, &got);

	if (r != -EINVAL || got != SENTINEL) {
		print_error("line %d: nr_time_parse(\"%s\") = %d, %lld; want -EINVAL, untouched\n",
			    line, s ? s : "(null)", r, (long long)got);
		_fail(__FILE__, line);
	}
}
#define expect_time_bad(s, now) expect_time_bad_at(s, now, __LINE__)

static void expect_duration_at(const char *s, int64_t want, int line)
{
	int64_t got = SENTINEL;
	int r = nr_duration_parse(s, &got);

	if (r != 0 || got != want) {
		print_error("line %d: nr_duration_parse(\"%s\") = %d, %lld; want 0, %lld\n", line, s,
			    r, (long long)got, (long long)want);
		_fail(__FILE__, line);
	}
}
#define expect_duration(s, want) expect_duration_at(s, want, __LINE__)

static void expect_size_at(const char *s, uint64_t want, int line)
{
	uint64_t got = (uint64_t)SENTINEL;
	int r = nr_size_parse(s, &got);

	if (r != 0 || got != want) {
		print_error("line %d: nr_size_parse(\"%s\") = %d, %llu; want 0, %llu\n", line, s, r,
			    (unsigned long long)got, (unsigned long long)want);
		_fail(__FILE__, line);
	}
}
#define expect_size(s, want) expect_size_at(s, want, __LINE__)

static void test_iso_utc(void **state)
{
	(void)state;
	expect_time("2026-11-22T13:24:06Z", 0, SEC(T0));
	expect_time("2026-11-22t13:24:06z", 0, SEC(T0));
	expect_time("2026-11-22 13:24:06Z", 0, SEC(T0));
	expect_time("2026-11-22T13:24Z", 0, SEC(T0 - 6));
	expect_time("2026-11-22T13:24:06.5Z", 0, SEC(T0) + 500000000);
	expect_time("2026-11-22T13:24:06.123Z", 0, SEC(T0) + 123000000);
	expect_time("2026-11-22T13:24:06.123456Z", 0, SEC(T0) + 123456000);
	expect_time("2026-11-22T13:24:06.123456789Z", 0, SEC(T0) + 123456789);
	expect_time("2026-11-22T13:24:06.000000001Z", 0, SEC(T0) + 1);

	/* Offsets: the same instant written in other zones. */
	expect_time("2026-11-22T14:24:06+01:00", 0, SEC(T0));
	expect_time("2026-11-22T14:24:06+0100", 0, SEC(T0));
	expect_time("2026-11-22T14:24:06+01", 0, SEC(T0));
	expect_time("2026-11-22T08:24:06-05:00", 0, SEC(T0));
	expect_time("2026-11-22T08:24:06-0500", 0, SEC(T0));
	expect_time("2026-11-22T08:24:06-05", 0, SEC(T0));
	expect_time("2026-11-22T18:54:06+05:30", 0, SEC(T0));
	expect_time("2026-11-22T13:24:06-00:00", 0, SEC(T0));
	expect_time("2026-11-22T13:24:06+00", 0, SEC(T0));
	expect_time("2026-11-22T14:24+01:00", 0, SEC(T0 - 6));
	/* The header's example; date -u -d 2026-11-22T02:10:00Z +%s */
	expect_time("2026-11-22T03:10:00.5+01:00", 0, SEC(1795313400) + 500000000);
	/* Crossing midnight backwards through the offset. */
	expect_time("2026-11-23T00:24:06+11:00", 0, SEC(T0));

	expect_time("1970-01-01T00:00:00Z", 0, 0);
	expect_time("1970-01-01T01:00:00+01:00", 0, 0);
	expect_time("2000-02-29T00:00:00Z", 0, SEC(951782400));
	expect_time("2024-02-29T12:00:00Z", 0, SEC(1709208000));
	/* A leap second reads as the first second of the next minute (POSIX time has no :60). */
	expect_time("2016-12-31T23:59:60Z", 0, SEC(1483228800));
	expect_time("2016-12-31T23:59:59Z", 0, SEC(1483228799));
	/* The last representable nanosecond. */
	expect_time("2262-04-11T23:47:16.854775807Z", 0, INT64_MAX);
	expect_time(" \t2026-11-22T13:24:06Z \n", 0, SEC(T0));
}

static void test_iso_local_utc(void **state)
{
	(void)state;
	set_tz("UTC0");
	expect_time("2026-11-22 13:24:06", 0, SEC(T0));
	expect_time("2026-11-22T13:24:06", 0, SEC(T0));
	expect_time("2026-11-22T13:24", 0, SEC(T0 - 6));
	expect_time("2026-11-22 13:24:06.25", 0, SEC(T0) + 250000000);
	expect_time("2026-11-22", 0, SEC(T0_MIDNIGHT));
	expect_time("1970-01-01", 0, 0);
}

static void test_iso_local_us_east(void **state)
{
	(void)state;
	set_tz(TZ_US_EAST);
	/* Winter, EST = UTC-5. */
	expect_time("2026-11-22T08:24:06", 0, SEC(T0));
	expect_time("2026-11-22 08:24:06.5", 0, SEC(T0) + 500000000);
	/* A bare date is local midnight: date -u -d 2026-11-22T05:00:00Z +%s */
	expect_time("2026-11-22", 0, SEC(1795323600));
	/* Summer, EDT = UTC-4: date -u -d 2026-07-01T16:00:00Z +%s */
	expect_time("2026-07-01 12:00", 0, SEC(1782921600));
	/* An explicit zone wins over TZ. */
	expect_time("2026-11-22T13:24:06Z", 0, SEC(T0));
	expect_time("2026-11-22T14:24:06+01:00", 0, SEC(T0));
	/* Local midnight 1970-01-01 is 05:00Z, so it is after the epoch and valid. */
	expect_time("1970-01-01", 0, SEC(5 * 3600));

	/*
	 * DST edges are resolved by mktime(); these are glibc's answers. 02:30 on 2026-03-08 does
	 * not exist and is read as EST (07:30Z); 01:30 on 2026-11-01 happens twice and is read
	 * as EST, the later one (06:30Z).
	 */
	expect_time("2026-03-08T02:30", 0, SEC(1772955000));
	expect_time("2026-11-01T01:30", 0, SEC(1793514600));
}

static void test_iso_local_berlin(void **state)
{
	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		skip();
	set_tz("Europe/Berlin");
	expect_time("2026-11-22 14:24:06", 0, SEC(T0));
	/* CEST = UTC+2: date -u -d 2026-07-01T10:00:00Z +%s */
	expect_time("2026-07-01 12:00", 0, SEC(1782900000));
	/* date -u -d 2026-11-21T23:00:00Z +%s */
	expect_time("2026-11-22", 0, SEC(1795302000));
	/* Local midnight 1970-01-01 is 1969-12-31T23:00Z: before the epoch. */
	expect_time_bad("1970-01-01", 0);
}

static void test_epoch(void **state)
{
	(void)state;
	expect_time("1700000000", 0, SEC(1700000000));
	expect_time("1700000000.25", 0, SEC(1700000000) + 250000000);
	expect_time("@1700000000", 0, SEC(1700000000));
	expect_time("@1700000000.123456789", 0, SEC(1700000000) + 123456789);
	expect_time("0", 0, 0);
	expect_time("@0", 0, 0);
	expect_time("  1700000000  ", 0, SEC(1700000000));
	/* A bare number is epoch seconds, never a year. */
	expect_time("2026", 0, SEC(2026));
	expect_time("9223372036.854775807", 0, INT64_MAX);
	expect_time_bad("9223372036.854775808", 0);
	expect_time_bad("9223372037", 0);
	expect_time_bad("99999999999999999999999", 0);
}

static void test_relative(void **state)
{
	const int64_t now = SEC(T0) + 500000000;

	(void)state;
	expect_time("now", now, now);
	expect_time("  now ", now, now);
	expect_time("90s ago", now, now - SEC(90));
	expect_time("90 s ago", now, now - SEC(90));
	expect_time("90 sec ago", now, now - SEC(90));
	expect_time("90 seconds ago", now, now - SEC(90));
	expect_time("90s\tago", now, now - SEC(90));
	expect_time("15m ago", now, now - MIN(15));
	expect_time("15min ago", now, now - MIN(15));
	expect_time("15 min ago", now, now - MIN(15));
	expect_time("15 mins ago", now, now - MIN(15));
	expect_time("1 minute ago", now, now - MIN(1));
	expect_time("15 minutes ago", now, now - MIN(15));
	expect_time("2h ago", now, now - HOUR(2));
	expect_time("2 hours ago", now, now - HOUR(2));
	expect_time("2hours ago", now, now - HOUR(2));
	expect_time("1 hour ago", now, now - HOUR(1));
	expect_time("3 hrs ago", now, now - HOUR(3));
	expect_time("3d ago", now, now - DAY(3));
	expect_time("3 days ago", now, now - DAY(3));
	expect_time("1 day ago", now, now - DAY(1));
	expect_time("1w ago", now, now - DAY(7));
	expect_time("1 week ago", now, now - DAY(7));
	expect_time("2 weeks ago", now, now - DAY(14));
	expect_time("500ms ago", now, now - 500000000);
	expect_time("500 msec ago", now, now - 500000000);
	expect_time("250us ago", now, now - 250000);
	expect_time("250 microseconds ago", now, now - 250000);
	expect_time("7ns ago", now, now - 7);
	expect_time("7 nanoseconds ago", now, now - 7);
	expect_time("1h30m ago", now, now - MIN(90));
	expect_time("1h 30m ago", now, now - MIN(90));
	expect_time("1.5h ago", now, now - MIN(90));
	expect_time("0s ago", now, now);

	/* Results before 1970 are refused. */
	expect_time("1m ago", SEC(60), 0);
	expect_time_bad("61s ago", SEC(60));
	expect_time_bad("now", -1);
	expect_time_bad("1s ago", -1);
}

static void test_days_utc(void **state)
{
	const int64_t now = SEC(T0) + 500000000;

	(void)state;
	set_tz("UTC0");
	expect_time("today", now, SEC(T0_MIDNIGHT));
	/* date -u -d 2026-11-21T00:00:00Z +%s */
	expect_time("yesterday", now, SEC(1795219200));
	/* date -u -d 2026-11-22T03:00:00Z +%s */
	expect_time("today 03:00", now, SEC(1795316400));
	expect_time("today   03:00", now, SEC(1795316400));
	expect_time("today\t03:00", now, SEC(1795316400));
	/* date -u -d 2026-11-21T03:00:30Z +%s */
	expect_time("yesterday 03:00:30", now, SEC(1795230030));
	expect_time("today 13:24:06", now, SEC(T0));
	/* A bare clock is today. */
	expect_time("03:00", now, SEC(1795316400));
	expect_time(" 13:24:06 ", now, SEC(T0));
	expect_time("today 13:24:06.75", now, SEC(T0) + 750000000);
	/* Later today is fine: it is a point in time, not necessarily in the past. */
	expect_time("today 23:59:59", now, SEC(T0_MIDNIGHT + 86399));
	/* The first of a month: yesterday is the last day of the month before. */
	expect_time("yesterday", SEC(1793491200) /* 2026-11-01T00:00:00Z */,
		    SEC(1793404800) /* 2026-10-31T00:00:00Z */);
}

static void test_days_local(void **state)
{
	(void)state;
	set_tz(TZ_US_EAST);
	/* 2026-11-22T03:00Z is 2026-11-21 22:00 EST: "today" is the 21st, local midnight. */
	expect_time("today", SEC(1795316400), SEC(1795237200) /* 2026-11-21T05:00:00Z */);
	expect_time("today 23:30", SEC(1795316400), SEC(1795321800) /* 2026-11-22T04:30Z */);
	/*
	 * 2026-11-02T12:00Z, the day after DST ended: yesterday (Nov 1) began at 00:00 EDT
	 * and today began at 00:00 EST, 25 hours apart.
	 */
	expect_time("today", SEC(1793620800), SEC(1793595600) /* 2026-11-02T05:00:00Z */);
	expect_time("yesterday", SEC(1793620800), SEC(1793505600) /* 2026-11-01T04:00:00Z */);
}

static void test_time_bad(void **state)
{
	static const char *const bad[] = {
		"",
		" ",
		"\t\n",
		"garbage",
		"NOW",
		"now now",
		"nowx",
		"tomorrow",
		"today x",
		"todayx",
		"today03:00",
		"today 24:00",
		"today 3:00",
		"today 03:60",
		"today 03:00Z",
		"3:00",
		"03:00 x",
		"03:00Z",
		"24:00",
		"03:60:00",
		"yesterday 03:00:61",
		"yesterday 03",
		"ago",
		" ago",
		"5 ago",
		"5x ago",
		"-5s ago",
		"5sago",
		"5s ago ago",
		"5s agox",
		"s ago",
		"1h30 ago",
		"106752d ago",
		"2026-13-01",
		"2026-00-10",
		"2026-11-00",
		"2026-11-32",
		"2026-04-31",
		"2026-02-29",
		"2100-02-29",
		"2026-02-30",
		"2026-11-22T24:00",
		"2026-11-22T23:60",
		"2026-11-22T23:59:61",
		"2026-11-22T13",
		"2026-11-22T1:00",
		"2026-11-22T13:4",
		"2026-11-22T13:24:",
		"2026-11-22T13:24:6",
		"2026-11-22T13:24.5",
		"2026-11-22T13:24:06.",
		"2026-11-22T13:24:06.1234567890",
		"2026-11-22T13:24:06,5",
		"2026-11-22T13:24:06Zjunk",
		"2026-11-22T13:24:06 Z",
		"2026-11-22T13:24:06ZZ",
		"2026-11-22T13:24:06+",
		"2026-11-22T13:24:06+1",
		"2026-11-22T13:24:06+013",
		"2026-11-22T13:24:06+01:",
		"2026-11-22T13:24:06+01:0",
		"2026-11-22T13:24:06+24:00",
		"2026-11-22T13:24:06+01:60",
		"2026-11-22T13:24:06+01:00:00",
		"2026-11-22T13:24:06UTC",
		"2026-11-22Z",
		"2026-11-22T",
		"2026-11-22  13:24",
		"2026-11-22x13:24",
		"2026-1-22",
		"26-11-22",
		"+2026-11-22",
		"2026/11/22",
		"20261122T132406Z",
		"1969-12-31T23:59:59Z",
		"1970-01-01T00:00:00+00:01",
		"2262-04-11T23:47:16.854775808Z",
		"9999-12-31T23:59:59Z",
		"0000-01-01T00:00:00Z",
		"-5",
		"-1700000000",
		"+1700000000",
		"1.5.5",
		"1e9",
		"1700000000.",
		".5",
		"1700000000.1234567891",
		"0x10",
		"@",
		"@-1",
		"@ 1",
		"@@1",
		"@now",
		"1 2",
		"\xff",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_time_bad(bad[i], SEC(T0));
	expect_time_bad(NULL, SEC(T0));
	assert_int_equal(nr_time_parse("now", SEC(T0), NULL), -EINVAL);
}

static void test_duration(void **state)
{
	(void)state;
	expect_duration("90s", SEC(90));
	expect_duration("1h30m", MIN(90));
	expect_duration("1h 30m", MIN(90));
	expect_duration("1 h 30 m", MIN(90));
	expect_duration("500ms", 500000000);
	expect_duration("2d", DAY(2));
	expect_duration("1w", DAY(7));
	expect_duration("10", SEC(10));
	expect_duration("1.5", 1500000000);
	expect_duration("0", 0);
	expect_duration("0s", 0);
	expect_duration(" 90s ", SEC(90));
	expect_duration("15 min", MIN(15));
	expect_duration("2 hours", HOUR(2));
	expect_duration("3 days", DAY(3));
	expect_duration("250us", 250000);
	expect_duration("7ns", 7);
	expect_duration("1h1m1s1ms1us1ns", SEC(3661) + 1001001);
	expect_duration("30m1h", MIN(90));
	expect_duration("1.5s", 1500000000);
	expect_duration("1.5us", 1500);
	expect_duration("0.000000001s", 1);
	expect_duration("0.25h", MIN(15));
	expect_duration("0.1w", SEC(60480));
	/* Below a nanosecond, fractions truncate. */
	expect_duration("1.5ns", 1);
	expect_duration("9223372036854775807ns", INT64_MAX);
	expect_duration("9223372036.854775807s", INT64_MAX);
	expect_duration("106751d", (int64_t)9223286400000000000LL);
}

static void test_duration_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"-1s",
		"+1s",
		"1x",
		"1M",
		"1S",
		"1y",
		"s",
		"ms",
		"h1",
		"1h30",
		"1h 30",
		"10 20",
		"5s5",
		"1.",
		".5s",
		"1.s",
		"1.0000000001s",
		"1,5s",
		"1e3s",
		"1h ago",
		"1h-30m",
		"1hh",
		"1 hour and 30 minutes",
		"9223372037s",
		"9223372036.854775808s",
		"9223372036854775808ns",
		"106752d",
		"15250285w",
		"99999999999999999999",
		"9223372036854775807s",
		"1\xffs",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t got = SENTINEL;
		int r = nr_duration_parse(bad[i], &got);

		if (r != -EINVAL || got != SENTINEL) {
			print_error("nr_duration_parse(\"%s\") = %d, %lld\n", bad[i], r,
				    (long long)got);
			fail();
		}
	}
	{
		int64_t got = SENTINEL;

		/* Each term fits, their sum (9223372037 s) does not. */
		assert_int_equal(nr_duration_parse("4611686018s 4611686019s", &got), -EINVAL);
		assert_int_equal(nr_duration_parse(NULL, &got), -EINVAL);
		assert_int_equal(got, SENTINEL);
		assert_int_equal(nr_duration_parse("1s", NULL), -EINVAL);
	}
}

static void test_size(void **state)
{
	(void)state;
	expect_size("10G", 10737418240ULL);
	expect_size("512MiB", 536870912ULL);
	expect_size("1024", 1024);
	expect_size("0", 0);
	expect_size("1K", 1024);
	expect_size("1KB", 1024);
	expect_size("1KiB", 1024);
	expect_size("1k", 1024);
	expect_size("1kB", 1024);
	expect_size("3m", 3145728);
	expect_size("2T", 2199023255552ULL);
	expect_size("2TiB", 2199023255552ULL);
	expect_size("1g", 1073741824);
	expect_size("512B", 512);
	expect_size("10 G", 10737418240ULL);
	expect_size(" 7 ", 7);
	expect_size("18446744073709551615", UINT64_MAX);
	expect_size("16777215T", 18446742974197923840ULL);
	expect_size("17179869183G", 18446744072635809792ULL);
}

static void test_size_bad(void **state)
{
	static const char *const bad[] = {
		"",
		" ",
		"-1",
		"+1",
		"1.5G",
		"G",
		"B",
		"10X",
		"10P",
		"10GiBs",
		"10GG",
		"10iB",
		"10b",
		"10Gb",
		"10GIB",
		"10gib",
		"10 GiB B",
		"1 0",
		"0x10",
		"18446744073709551616",
		"16777216T",
		"17179869184G",
		"99999999999999999999999K",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t got = 42;
		int r = nr_size_parse(bad[i], &got);

		if (r != -EINVAL || got != 42) {
			print_error("nr_size_parse(\"%s\") = %d, %llu\n", bad[i], r,
				    (unsigned long long)got);
			fail();
		}
	}
	{
		uint64_t got = 42;

		assert_int_equal(nr_size_parse(NULL, &got), -EINVAL);
		assert_int_equal(got, 42);
		assert_int_equal(nr_size_parse("1", NULL), -EINVAL);
	}
}

static void expect_format_at(int64_t ns, int digits, const char *want, int line)
{
	char buf[64];
	int n = nr_time_format(ns, digits, buf, sizeof(buf));

	if (n != (int)strlen(want) || strcmp(buf, want) != 0) {
		print_error("line %d: nr_time_format(%lld, %d) = %d \"%s\"; want \"%s\"\n", line,
			    (long long)ns, digits, n, buf, want);
		_fail(__FILE__, line);
	}
}
#define expect_format(ns, digits, want) expect_format_at(ns, digits, want, __LINE__)

static void test_format(void **state)
{
	const int64_t ns = SEC(T0) + 123456789;

	(void)state;
	expect_format(ns, 0, "2026-11-22T13:24:06Z");
	expect_format(ns, 3, "2026-11-22T13:24:06.123Z");
	expect_format(ns, 6, "2026-11-22T13:24:06.123456Z");
	expect_format(ns, 9, "2026-11-22T13:24:06.123456789Z");
	expect_format(0, 0, "1970-01-01T00:00:00Z");
	expect_format(0, 9, "1970-01-01T00:00:00.000000000Z");
	expect_format(SEC(T0) + 5000000, 3, "2026-11-22T13:24:06.005Z");
	expect_format(INT64_MAX, 9, "2262-04-11T23:47:16.854775807Z");

	/* Before 1970: the fraction counts forward from the second below, as in the calendar. */
	expect_format(-1, 0, "1969-12-31T23:59:59Z");
	expect_format(-1, 3, "1969-12-31T23:59:59.999Z");
	expect_format(-1, 6, "1969-12-31T23:59:59.999999Z");
	expect_format(-1, 9, "1969-12-31T23:59:59.999999999Z");
	expect_format(-1500000000, 3, "1969-12-31T23:59:58.500Z");
	expect_format(-SEC(86400), 0, "1969-12-31T00:00:00Z");
	/* date -u -d @-9223372037 +%FT%TZ; INT64_MIN is that second plus 145224192 ns. */
	expect_format(INT64_MIN, 9, "1677-09-21T00:12:43.145224192Z");
}

static void test_format_truncated(void **state)
{
	char buf[8];

	(void)state;
	/* Like snprintf: the full length is returned, the buffer holds a terminated prefix. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(nr_time_format(SEC(T0), 0, buf, sizeof(buf)), 20);
	assert_string_equal(buf, "2026-11");
	assert_int_equal(nr_time_format(SEC(T0), 9, NULL, 0), 30);
	buf[0] = 'x';
	assert_int_equal(nr_time_format(SEC(T0), 3, buf, 1), 24);
	assert_int_equal(buf[0], '\0');
}

static void test_format_round_trip(void **state)
{
	static const int64_t values[] = {
		0,
		1,
		999999999,
		NR_NS_PER_SEC,
		SEC(951782400) + 1000,
		SEC(T0),
		SEC(T0) + 123456789,
		SEC(T0) + 999999999,
		INT64_MAX,
	};
	static const int digits[] = { 0, 3, 6, 9 };
	static const int64_t unit[] = { NR_NS_PER_SEC, NR_NS_PER_MS, NR_NS_PER_US, 1 };
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		for (j = 0; j < sizeof(digits) / sizeof(digits[0]); j++) {
			char buf[64];
			int64_t got = SENTINEL;

			nr_time_format(values[i], digits[j], buf, sizeof(buf));
			assert_int_equal(nr_time_parse(buf, 0, &got), 0);
			/* Formatting truncates to the digits shown; parsing gives back exactly that. */
			assert_int_equal(got, values[i] - values[i] % unit[j]);
		}
	}

	/* Negative times format, but nr_time_parse() refuses times before 1970. */
	{
		char buf[64];

		nr_time_format(-1, 9, buf, sizeof(buf));
		expect_time_bad(buf, 0);
	}
}

static void test_compact(void **state)
{
	char buf[32];
	int64_t got;

	(void)state;
	assert_int_equal(nr_time_format_compact(SEC(T0) + 999999999, buf, sizeof(buf)), 16);
	assert_string_equal(buf, "20261122T132406Z");
	got = SENTINEL;
	assert_int_equal(nr_time_parse_compact(buf, &got), 0);
	assert_int_equal(got, SEC(T0));

	assert_int_equal(nr_time_format_compact(0, buf, sizeof(buf)), 16);
	assert_string_equal(buf, "19700101T000000Z");
	assert_int_equal(nr_time_parse_compact(buf, &got), 0);
	assert_int_equal(got, 0);

	/* Pre-1970 seconds round trip too: -1 ns lies in the second 1969-12-31T23:59:59. */
	assert_int_equal(nr_time_format_compact(-1, buf, sizeof(buf)), 16);
	assert_string_equal(buf, "19691231T235959Z");
	assert_int_equal(nr_time_parse_compact(buf, &got), 0);
	assert_int_equal(got, SEC(-1));

	assert_int_equal(nr_time_parse_compact("20000229T000000Z", &got), 0);
	assert_int_equal(got, SEC(951782400));
	assert_int_equal(nr_time_parse_compact("22620411T234716Z", &got), 0);
	assert_int_equal(got, SEC(9223372036LL));
}

static void test_compact_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"20261122T132406",
		"20261122T132406Z ",
		" 20261122T132406Z",
		"20261122T132406ZZ",
		"20261122 132406Z",
		"20261122t132406z",
		"2026-11-22T13:24:06Z",
		"20261322T000000Z",
		"20260022T000000Z",
		"20261100T000000Z",
		"20261131T000000Z",
		"20260230T000000Z",
		"20261122T240000Z",
		"20261122T236000Z",
		"20261122T235960Z",
		/* sscanf("%4d%2d...") would read these as year 202 and month " 1". */
		"+2021122T130000Z",
		"-2021122T130000Z",
		"2026 122T130000Z",
		"2026+122T130000Z",
		/* Past the last representable second. */
		"22620411T234717Z",
		"99991231T235959Z",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t got = SENTINEL;
		int r = nr_time_parse_compact(bad[i], &got);

		if (r != -EINVAL || got != SENTINEL) {
			print_error("nr_time_parse_compact(\"%s\") = %d, %lld\n", bad[i], r,
				    (long long)got);
			fail();
		}
	}
	assert_int_equal(nr_time_parse_compact(NULL, NULL), -EINVAL);
}

/*
 * Robustness: every prefix of every valid input, and every one-character mutation of it,
 * must give 0 or -EINVAL and leave the output alone on failure. Run under ASan/UBSan this
 * catches reads past the end and signed overflow.
 */
static void test_no_crash(void **state)
{
	static const char *const seeds[] = {
		"2026-11-22T03:10:00.123456789+01:00",
		"2026-11-22 03:10",
		"2026-11-22",
		"@1700000000.25",
		"9223372036.854775807",
		"1h 30min ago",
		"yesterday 03:00:30",
		"today 23:59:59.5",
		"now",
		"20261122T132406Z",
		"17179869183GiB",
		"106751d 23h 47m 16s 854ms 775us 807ns",
	};
	static const char mutations[] = { ' ', '-', '+', ':', '.', '0', '9', 'T', 'Z', 'x', '@', '\xff' };
	size_t i, j, k;
	char buf[64];

	(void)state;
	set_tz(TZ_US_EAST);
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		size_t n = strlen(seeds[i]);

		for (j = 0; j <= n; j++) {
			for (k = 0; k <= sizeof(mutations); k++) {
				int64_t t = SENTINEL, d = SENTINEL;
				uint64_t z = 42;
				int r;

				memcpy(buf, seeds[i], n + 1);
				if (k == sizeof(mutations))
					buf[j] = '\0';
				else if (j < n)
					buf[j] = mutations[k];
				else
					continue;

				r = nr_time_parse(buf, SEC(T0), &t);
				assert_true(r == 0 || (r == -EINVAL && t == SENTINEL));
				r = nr_time_parse_compact(buf, &t);
				assert_true(r == 0 || r == -EINVAL);
				r = nr_duration_parse(buf, &d);
				assert_true(r == 0 || (r == -EINVAL && d == SENTINEL));
				r = nr_size_parse(buf, &z);
				assert_true(r == 0 || (r == -EINVAL && z == 42));
			}
		}
	}
}

static void test_long_input(void **state)
{
	size_t n = 100000;
	char *s = malloc(n + 1);
	int64_t got = SENTINEL;
	uint64_t z = 42;

	(void)state;
	assert_non_null(s);
	memset(s, '9', n);
	s[n] = '\0';
	assert_int_equal(nr_time_parse(s, 0, &got), -EINVAL);
	assert_int_equal(nr_duration_parse(s, &got), -EINVAL);
	assert_int_equal(nr_size_parse(s, &z), -EINVAL);
	memset(s, ' ', n);
	assert_int_equal(nr_time_parse(s, 0, &got), -EINVAL);
	assert_int_equal(nr_duration_parse(s, &got), -EINVAL);
	assert_int_equal(nr_size_parse(s, &z), -EINVAL);
	/* Leading zeros are just zeros, however many. */
	memset(s, '0', n);
	s[n - 1] = '7';
	assert_int_equal(nr_time_parse(s, 0, &got), 0);
	assert_int_equal(got, SEC(7));
	assert_int_equal(nr_size_parse(s, &z), 0);
	assert_int_equal(z, 7);
	free(s);
}

static void test_clocks(void **state)
{
	int64_t a, b;

	(void)state;
	/* The wall clock is past 2023-11-14 (1700000000) and before 2262. */
	a = nr_now_ns();
	assert_true(a > SEC(1700000000));
	a = nr_mono_ns();
	b = nr_mono_ns();
	assert_true(a >= 0);
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_iso_utc, reset_tz),
		cmocka_unit_test_setup(test_iso_local_utc, reset_tz),
		cmocka_unit_test_setup(test_iso_local_us_east, reset_tz),
		cmocka_unit_test_setup(test_iso_local_berlin, reset_tz),
		cmocka_unit_test_setup(test_epoch, reset_tz),
		cmocka_unit_test_setup(test_relative, reset_tz),
		cmocka_unit_test_setup(test_days_utc, reset_tz),
		cmocka_unit_test_setup(test_days_local, reset_tz),
		cmocka_unit_test_setup(test_time_bad, reset_tz),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_size_bad),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_truncated),
		cmocka_unit_test_setup(test_format_round_trip, reset_tz),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_compact_bad),
		cmocka_unit_test_setup(test_no_crash, reset_tz),
		cmocka_unit_test_setup(test_long_input, reset_tz),
		cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
