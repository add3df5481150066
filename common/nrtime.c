// SPDX-License-Identifier: MIT
/*
 * Time: clocks, parsing of user-typed times, durations and sizes, formatting (see nrtime.h).
 * The parsers are strict and locale-independent: ASCII digits, lower-case words, every field
 * range-checked, no trailing junk, overflow refused. Local times go through mktime(), so TZ
 * applies and DST gaps and overlaps are resolved the way the C library resolves them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nrtime.h"

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NR_NS_PER_SEC + ts.tv_nsec;
}

int64_t nr_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t nr_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void split_ns(int64_t ns, time_t *ret_sec, int64_t *ret_frac)
{
	int64_t sec = ns / NR_NS_PER_SEC, frac = ns % NR_NS_PER_SEC;

	if (frac < 0) {
		frac += NR_NS_PER_SEC;
		sec--;
	}
	*ret_sec = (time_t)sec;
	*ret_frac = frac;
}

int nr_time_format(int64_t ns, int digits, char *buf, size_t len)
{
	struct tm tm;
	time_t sec;
	int64_t frac;

	split_ns(ns, &sec, &frac);
	if (!gmtime_r(&sec, &tm))
		return snprintf(buf, len, "%lld", (long long)ns);
	switch (digits) {
	case 3:
		return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				(long long)(frac / 1000000));
	case 6:
		return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				(long long)(frac / 1000));
	case 9:
		return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				(long long)frac);
	default:
		return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
}

int nr_time_format_compact(int64_t ns, char *buf, size_t len)
{
	struct tm tm;
	time_t sec;
	int64_t frac;

	split_ns(ns, &sec, &frac);
	if (!gmtime_r(&sec, &tm))
		return -EINVAL;
	return snprintf(buf, len, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}


/*
 * Parsing. Every parser works on [p, end) of a string already stripped of surrounding
 * blanks; the helpers advance *p only when they match.
 */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* isspace() would depend on the locale and is undefined for negative chars. */
static bool is_space(char c)
{
	return is_blank(c) || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **p, const char **end)
{
	while (*p < *end && is_space(**p))
		(*p)++;
	while (*end > *p && is_space((*end)[-1]))
		(*end)--;
}

static bool skip_blanks(const char **p, const char *end)
{
	const char *q = *p;

	while (*p < end && is_blank(**p))
		(*p)++;
	return *p != q;
}

static bool eat_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static bool eat_word(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Exactly @n digits: fixed-width fields reject signs, blanks and short fields. */
static bool eat_fixed(const char **p, const char *end, int n, int *ret)
{
	int i, v = 0;

	if (end - *p < n)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return true;
}

/*
 * '.' and 1 to 9 digits, returned scaled to 10^9 (".25" is 250000000), so it reads as
 * nanoseconds of a second. More digits than nanoseconds can hold are refused, not rounded.
 */
static int parse_fraction(const char **p, const char *end, int64_t *ret_frac9)
{
	const char *q = *p;
	int64_t frac9 = 0, scale = NR_NS_PER_SEC;

	if (!eat_char(&q, end, '.') || q >= end || !is_digit(*q))
		return -EINVAL;
	for (; q < end && is_digit(*q); q++) {
		if (scale == 1)
			return -EINVAL;
		scale /= 10;
		frac9 += (*q - '0') * scale;
	}
	*p = q;
	*ret_frac9 = frac9;
	return 0;
}

/* A non-negative decimal number: digits, optionally a fraction (see parse_fraction()). */
static int parse_number(const char **p, const char *end, int64_t *ret_whole, int64_t *ret_frac9)
{
	const char *q = *p;
	int64_t whole = 0, frac9 = 0;

	if (q >= end || !is_digit(*q))
		return -EINVAL;
	for (; q < end && is_digit(*q); q++)
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, *q - '0', &whole))
			return -EINVAL;
	if (q < end && *q == '.' && parse_fraction(&q, end, &frac9) < 0)
		return -EINVAL;
	*p = q;
	*ret_whole = whole;
	*ret_frac9 = frac9;
	return 0;
}

/* (whole + frac9 / 10^9) * unit, truncated to whole nanoseconds; -EINVAL on overflow. */
static int scale_number(int64_t whole, int64_t frac9, int64_t unit, int64_t *ret)
{
	/* Split unit so neither product can overflow: frac9 < 10^9 and unit % 10^9 < 10^9. */
	int64_t v, f = (unit / NR_NS_PER_SEC) * frac9 + (unit % NR_NS_PER_SEC) * frac9 / NR_NS_PER_SEC;

	if (__builtin_mul_overflow(whole, unit, &v) || __builtin_add_overflow(v, f, &v))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Seconds since the epoch plus a fraction to nanoseconds; -EINVAL if it does not fit. */
static int seconds_to_ns(int64_t sec, int64_t frac9, int64_t *ret_ns)
{
	int64_t ns;

	if (__builtin_mul_overflow(sec, NR_NS_PER_SEC, &ns) || __builtin_add_overflow(ns, frac9, &ns))
		return -EINVAL;
	*ret_ns = ns;
	return 0;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool date_valid(int y, int mo, int d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (mo < 1 || mo > 12 || d < 1)
		return false;
	return d <= mdays[mo - 1] + (mo == 2 && is_leap(y));
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int mo, int d)
{
	int64_t era, yoe, doy, doe;

	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * A local calendar time to epoch seconds. Fields must be range-checked by the caller, except
 * that @d may be 0 ("yesterday" on the 1st): mktime() normalizes it. tm_isdst = -1 lets mktime
 * decide whether DST applies; in a spring-forward gap or a fall-back overlap the C library
 * picks (glibc: 02:30 in a gap is read with the offset before the change, an ambiguous time as
 * standard time).
 */
static int local_to_seconds(int y, int mo, int d, int h, int mi, int s, int64_t *ret_sec)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = s, .tm_isdst = -1,
	};
	time_t t;

	t = mktime(&tm);
	/* -1 is also 1969-12-31T23:59:59Z, which is refused anyway as a time before 1970. */
	if (t == (time_t)-1)
		return -EINVAL;
	*ret_sec = (int64_t)t;
	return 0;
}

/* HH:MM[:SS[.fraction]], two digits each. Seconds may be 60 (a leap second). */
static int parse_clock(const char **p, const char *end, int *ret_h, int *ret_mi, int *ret_s,
		       int64_t *ret_frac9)
{
	const char *q = *p;
	int h, mi, s = 0;
	int64_t frac9 = 0;

	if (!eat_fixed(&q, end, 2, &h) || !eat_char(&q, end, ':') || !eat_fixed(&q, end, 2, &mi))
		return -EINVAL;
	if (eat_char(&q, end, ':')) {
		if (!eat_fixed(&q, end, 2, &s))
			return -EINVAL;
		if (q < end && *q == '.' && parse_fraction(&q, end, &frac9) < 0)
			return -EINVAL;
	}
	if (h > 23 || mi > 59 || s > 60)
		return -EINVAL;
	*p = q;
	*ret_h = h;
	*ret_mi = mi;
	*ret_s = s;
	*ret_frac9 = frac9;
	return 0;
}

/* Z, +HH, +HHMM or +HH:MM (or '-'); the offset east of UTC in seconds. */
static int parse_zone(const char **p, const char *end, int64_t *ret_off)
{
	const char *q = *p;
	int sign, h, mi = 0;

	if (eat_char(&q, end, 'Z') || eat_char(&q, end, 'z')) {
		*p = q;
		*ret_off = 0;
		return 0;
	}
	if (eat_char(&q, end, '+'))
		sign = 1;
	else if (eat_char(&q, end, '-'))
		sign = -1;
	else
		return -EINVAL;
	if (!eat_fixed(&q, end, 2, &h))
		return -EINVAL;
	if (eat_char(&q, end, ':')) {
		if (!eat_fixed(&q, end, 2, &mi))
			return -EINVAL;
	} else if (q < end && !eat_fixed(&q, end, 2, &mi)) {
		return -EINVAL;
	}
	if (h > 23 || mi > 59)
		return -EINVAL;
	*p = q;
	*ret_off = sign * (h * 3600 + mi * 60);
	return 0;
}

/* YYYY-MM-DD, optionally 'T' or ' ' and a clock, optionally a zone (only after a clock). */
static int parse_iso(const char *p, const char *end, int64_t *ret_ns)
{
	int y, mo, d, h = 0, mi = 0, s = 0, r;
	int64_t frac9 = 0, off = 0, sec;
	bool zoned = false;

	if (!eat_fixed(&p, end, 4, &y) || !eat_char(&p, end, '-') || !eat_fixed(&p, end, 2, &mo) ||
	    !eat_char(&p, end, '-') || !eat_fixed(&p, end, 2, &d))
		return -EINVAL;
	if (!date_valid(y, mo, d))
		return -EINVAL;
	if (p < end) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -EINVAL;
		p++;
		r = parse_clock(&p, end, &h, &mi, &s, &frac9);
		if (r < 0)
			return r;
		if (p < end) {
			r = parse_zone(&p, end, &off);
			if (r < 0)
				return r;
			zoned = true;
		}
		if (p != end)
			return -EINVAL;
	}
	if (zoned) {
		sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	} else {
		r = local_to_seconds(y, mo, d, h, mi, s, &sec);
		if (r < 0)
			return r;
	}
	if (sec < 0)
		return -EINVAL;
	return seconds_to_ns(sec, frac9, ret_ns);
}

/* "today" or "yesterday", optionally blanks and a clock, in local time. */
static int parse_day(const char *p, const char *end, int64_t now_ns, int64_t *ret_ns)
{
	int h = 0, mi = 0, s = 0, back, r;
	int64_t frac9 = 0, sec;
	struct tm tm;
	time_t t;

	if (eat_word(&p, end, "today")) {
		back = 0;
	} else if (eat_word(&p, end, "yesterday")) {
		back = 1;
	} else {
		/* A clock alone ("03:10") is today, the way people say it at 3 a.m. */
		back = 0;
		r = parse_clock(&p, end, &h, &mi, &s, &frac9);
		if (r < 0 || p != end)
			return -EINVAL;
	}
	if (p < end) {
		if (!skip_blanks(&p, end))
			return -EINVAL;
		r = parse_clock(&p, end, &h, &mi, &s, &frac9);
		if (r < 0)
			return r;
		if (p != end)
			return -EINVAL;
	}
	if (now_ns < 0)
		return -EINVAL;
	/* glibc's localtime_r() does not re-read TZ by itself; mktime() does. */
	tzset();
	t = (time_t)(now_ns / NR_NS_PER_SEC);
	if (!localtime_r(&t, &tm))
		return -EINVAL;
	/* Day arithmetic on the calendar, not "- 24h": a DST change day is 23 or 25 hours. */
	r = local_to_seconds(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday - back, h, mi, s, &sec);
	if (r < 0)
		return r;
	if (sec < 0)
		return -EINVAL;
	return seconds_to_ns(sec, frac9, ret_ns);
}

static const struct {
	const char *name;
	int64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "nsec", 1 },
	{ "nsecs", 1 },
	{ "nanosecond", 1 },
	{ "nanoseconds", 1 },
	{ "us", NR_NS_PER_US },
	{ "usec", NR_NS_PER_US },
	{ "usecs", NR_NS_PER_US },
	{ "microsecond", NR_NS_PER_US },
	{ "microseconds", NR_NS_PER_US },
	{ "ms", NR_NS_PER_MS },
	{ "msec", NR_NS_PER_MS },
	{ "msecs", NR_NS_PER_MS },
	{ "millisecond", NR_NS_PER_MS },
	{ "milliseconds", NR_NS_PER_MS },
	{ "s", NR_NS_PER_SEC },
	{ "sec", NR_NS_PER_SEC },
	{ "secs", NR_NS_PER_SEC },
	{ "second", NR_NS_PER_SEC },
	{ "seconds", NR_NS_PER_SEC },
	{ "m", 60 * NR_NS_PER_SEC },
	{ "min", 60 * NR_NS_PER_SEC },
	{ "mins", 60 * NR_NS_PER_SEC },
	{ "minute", 60 * NR_NS_PER_SEC },
	{ "minutes", 60 * NR_NS_PER_SEC },
	{ "h", 3600 * NR_NS_PER_SEC },
	{ "hr", 3600 * NR_NS_PER_SEC },
	{ "hrs", 3600 * NR_NS_PER_SEC },
	{ "hour", 3600 * NR_NS_PER_SEC },
	{ "hours", 3600 * NR_NS_PER_SEC },
	{ "d", 86400 * NR_NS_PER_SEC },
	{ "day", 86400 * NR_NS_PER_SEC },
	{ "days", 86400 * NR_NS_PER_SEC },
	{ "w", 7 * 86400 * NR_NS_PER_SEC },
	{ "week", 7 * 86400 * NR_NS_PER_SEC },
	{ "weeks", 7 * 86400 * NR_NS_PER_SEC },
};

static int unit_lookup(const char *name, size_t n, int64_t *ret_ns)
{
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && memcmp(units[i].name, name, n) == 0) {
			*ret_ns = units[i].ns;
			return 0;
		}
	return -EINVAL;
}

/*
 * One or more "number [blanks] unit" terms, optionally separated by blanks, summed. With
 * @bare_seconds, a lone number without a unit is seconds.
 */
static int parse_duration(const char *p, const char *end, bool bare_seconds, int64_t *ret_ns)
{
	int64_t total = 0;
	bool first = true;

	if (p >= end)
		return -EINVAL;
	while (p < end) {
		int64_t whole, frac9, unit, v;
		const char *name;
		int r;

		r = parse_number(&p, end, &whole, &frac9);
		if (r < 0)
			return r;
		skip_blanks(&p, end);
		name = p;
		while (p < end && *p >= 'a' && *p <= 'z')
			p++;
		if (p == name) {
			if (!bare_seconds || !first || p != end)
				return -EINVAL;
			unit = NR_NS_PER_SEC;
		} else {
			r = unit_lookup(name, (size_t)(p - name), &unit);
			if (r < 0)
				return r;
		}
		r = scale_number(whole, frac9, unit, &v);
		if (r < 0)
			return r;
		if (__builtin_add_overflow(total, v, &total))
			return -EINVAL;
		skip_blanks(&p, end);
		first = false;
	}
	*ret_ns = total;
	return 0;
}

int nr_time_parse_compact(const char *s, int64_t *ret_ns)
{
	const char *p, *end;
	int y, mo, d, h, mi, sec;
	int64_t ns;

	if (!s || !ret_ns)
		return -EINVAL;
	p = s;
	end = s + strlen(s);
	/* Field by field: sscanf("%2d") would take signs and blanks ("2026 122T..."). */
	if (!eat_fixed(&p, end, 4, &y) || !eat_fixed(&p, end, 2, &mo) || !eat_fixed(&p, end, 2, &d) ||
	    !eat_char(&p, end, 'T') || !eat_fixed(&p, end, 2, &h) || !eat_fixed(&p, end, 2, &mi) ||
	    !eat_fixed(&p, end, 2, &sec) || !eat_char(&p, end, 'Z') || p != end)
		return -EINVAL;
	/* The form nr_time_format_compact() writes: no leap second. */
	if (!date_valid(y, mo, d) || h > 23 || mi > 59 || sec > 59)
		return -EINVAL;
	if (seconds_to_ns(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec, 0, &ns) < 0)
		return -EINVAL;
	*ret_ns = ns;
	return 0;
}

int nr_time_parse(const char *s, int64_t now_ns, int64_t *ret_ns)
{
	const char *p, *end, *q;
	int64_t whole, frac9, ns, ago;
	int r;

	if (!s || !ret_ns)
		return -EINVAL;
	p = s;
	end = s + strlen(s);
	trim(&p, &end);
	if (p == end)
		return -EINVAL;

	if (end - p == 3 && memcmp(p, "now", 3) == 0) {
		if (now_ns < 0)
			return -EINVAL;
		*ret_ns = now_ns;
		return 0;
	}

	/* "HH:MM": a colon at index 2 and nothing date-like before it. */
	if (*p == 't' || *p == 'y' || (end - p >= 5 && p[2] == ':' && !memchr(p, '-', (size_t)(end - p)))) {
		r = parse_day(p, end, now_ns, &ns);
		if (r < 0)
			return r;
		*ret_ns = ns;
		return 0;
	}

	/* "<duration> ago": the word must stand apart ("5m ago", not "5mago"). */
	if (end - p > 4 && memcmp(end - 3, "ago", 3) == 0 && is_blank(end[-4])) {
		q = end - 4;
		while (q > p && is_blank(q[-1]))
			q--;
		r = parse_duration(p, q, false, &ago);
		if (r < 0)
			return r;
		if (now_ns < 0 || __builtin_sub_overflow(now_ns, ago, &ns) || ns < 0)
			return -EINVAL;
		*ret_ns = ns;
		return 0;
	}

	/* Epoch seconds, with or without '@'. A bare number is never a year. */
	q = p + (*p == '@');
	if (parse_number(&q, end, &whole, &frac9) == 0 && q == end) {
		r = seconds_to_ns(whole, frac9, &ns);
		if (r < 0)
			return r;
		*ret_ns = ns;
		return 0;
	}
	if (*p == '@')
		return -EINVAL;

	r = parse_iso(p, end, &ns);
	if (r < 0)
		return r;
	*ret_ns = ns;
	return 0;
}

int nr_duration_parse(const char *s, int64_t *ret_ns)
{
	const char *p, *end;
	int64_t ns;
	int r;

	if (!s || !ret_ns)
		return -EINVAL;
	p = s;
	end = s + strlen(s);
	trim(&p, &end);
	r = parse_duration(p, end, true, &ns);
	if (r < 0)
		return r;
	*ret_ns = ns;
	return 0;
}

int nr_size_parse(const char *s, uint64_t *ret_bytes)
{
	const char *p, *end;
	uint64_t v = 0;
	int shift = 0;

	if (!s || !ret_bytes)
		return -EINVAL;
	p = s;
	end = s + strlen(s);
	trim(&p, &end);
	if (p >= end || !is_digit(*p))
		return -EINVAL;
	for (; p < end && is_digit(*p); p++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
			return -EINVAL;
	skip_blanks(&p, end);
	if (p < end) {
		switch (*p) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		case 'T':
		case 't':
			shift = 40;
			break;
		}
		if (shift) {
			p++;
			if (!eat_char(&p, end, 'B'))
				eat_word(&p, end, "iB");
		} else {
			eat_char(&p, end, 'B');
		}
	}
	if (p != end)
		return -EINVAL;
	if (v > UINT64_MAX >> shift)
		return -EINVAL;
	*ret_bytes = v << shift;
	return 0;
}
