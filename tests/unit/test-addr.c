// SPDX-License-Identifier: MIT
/*
 * common/addr: parse and canonical text of IPv4/IPv6, CIDR parse and containment at every
 * byte and bit boundary, MAC text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "addr.h"

/* Parses @in and checks the canonical text is @want. */
static void check_canon(const char *in, int family, const char *want)
{
	struct nr_addr a;
	char buf[NR_ADDR_STRLEN];

	assert_int_equal(nr_addr_parse(in, &a), 0);
	assert_int_equal(a.family, family);
	assert_int_equal(nr_addr_format(&a, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_parse_format(void **state)
{
	check_canon("10.0.0.1", AF_INET, "10.0.0.1");
	check_canon("0.0.0.0", AF_INET, "0.0.0.0");
	check_canon("255.255.255.255", AF_INET, "255.255.255.255");
	check_canon("2001:DB8::1", AF_INET6, "2001:db8::1");
	check_canon("2001:0db8:0000:0000:0000:0000:0000:0001", AF_INET6, "2001:db8::1");
	check_canon("::", AF_INET6, "::");
	check_canon("::1", AF_INET6, "::1");
	check_canon("fe80:0:0:0:1:0:0:1", AF_INET6, "fe80::1:0:0:1");
	/* A v4-mapped address stays IPv6: the store keeps what the kernel reported. */
	check_canon("::ffff:10.0.0.1", AF_INET6, "::ffff:10.0.0.1");
	check_canon("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", AF_INET6,
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void test_parse_bytes(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct nr_addr a;

	assert_int_equal(nr_addr_parse("192.168.1.2", &a), 0);
	assert_memory_equal(a.bytes, ((uint8_t[]){ 192, 168, 1, 2 }), 4);
	/* The unused 12 bytes are zero, so whole structs compare equal. */
	assert_memory_equal(a.bytes + 4, ((uint8_t[12]){ 0 }), 12);
	assert_int_equal(nr_addr_parse("2001:db8::1", &a), 0);
	assert_memory_equal(a.bytes, v6, 16);
}

static void test_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"", " ", "10.0.0.1 ", " 10.0.0.1", "10.0.0", "10.0.0.1.2", "256.0.0.1", "10.0.0.-1",
		"1e1.0.0.1", "0x10.0.0.1", "10.0.0.1/32", "localhost", ":", ":::", "1::2::3",
		"2001:db8::g", "fe80::1%eth0", "12345::", "::ffff:1.2.3", "10.0.0.1\n",
		"1:2:3:4:5:6:7:8:9",
	};
	struct nr_addr a = { .family = 99 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(nr_addr_parse(bad[i], &a), -EINVAL);
		/* ret_ is written only on success. */
		assert_int_equal(a.family, 99);
	}
	assert_int_equal(nr_addr_parse(NULL, &a), -EINVAL);
	assert_int_equal(nr_addr_parse("10.0.0.1", NULL), -EINVAL);
}

/* IPv4 is formatted by hand for speed: it must match inet_ntop for every octet value in every
 * position. */
static void test_format_v4_matches_inet_ntop(void **state)
{
	(void)state;
	for (int pos = 0; pos < 4; pos++)
		for (int v = 0; v < 256; v++) {
			struct nr_addr a = { .family = AF_INET };
			char want[INET_ADDRSTRLEN], got[NR_ADDR_STRLEN];

			for (int k = 0; k < 4; k++)
				a.bytes[k] = (uint8_t)(k == pos ? v : (v * 7 + k * 61) & 0xff);
			assert_non_null(inet_ntop(AF_INET, a.bytes, want, sizeof(want)));
			assert_int_equal(nr_addr_format(&a, got, sizeof(got)), (int)strlen(want));
			assert_string_equal(got, want);
		}
}

static void test_format_edges(void **state)
{
	struct nr_addr none = { 0 }, a;
	char buf[NR_ADDR_STRLEN];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(nr_addr_format(&none, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(nr_addr_format(&none, buf, 0), -ENOSPC);

	assert_int_equal(nr_addr_parse("10.0.0.1", &a), 0);
	assert_int_equal(nr_addr_format(&a, buf, 9), 8);
	assert_string_equal(buf, "10.0.0.1");
	assert_int_equal(nr_addr_format(&a, buf, 8), -ENOSPC);
	assert_int_equal(nr_addr_format(&a, buf, 0), -ENOSPC);

	/* The longest IPv6 text fits NR_ADDR_STRLEN. */
	assert_int_equal(nr_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.254", &a), 0);
	assert_int_equal(nr_addr_format(&a, buf, sizeof(buf)), 39);
	a.family = 7;
	assert_int_equal(nr_addr_format(&a, buf, sizeof(buf)), -EINVAL);
}

static void check_cidr(const char *in, const char *want_addr, int want_len)
{
	struct nr_cidr c;
	char buf[NR_ADDR_STRLEN];

	assert_int_equal(nr_cidr_parse(in, &c), 0);
	assert_true(nr_addr_format(&c.addr, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, want_addr);
	assert_int_equal(c.prefixlen, want_len);
}

static void test_cidr_parse(void **state)
{
	check_cidr("10.0.0.0/8", "10.0.0.0", 8);
	check_cidr("10.1.2.3/8", "10.0.0.0", 8); /* host bits cleared */
	check_cidr("10.1.2.3", "10.1.2.3", 32);
	check_cidr("10.1.2.3/32", "10.1.2.3", 32);
	check_cidr("10.255.255.255/13", "10.248.0.0", 13);
	check_cidr("10.1.2.3/0", "0.0.0.0", 0);
	check_cidr("192.168.1.129/25", "192.168.1.128", 25);
	check_cidr("192.168.1.129/31", "192.168.1.128", 31);
	check_cidr("2001:DB8:1:2::5/32", "2001:db8::", 32);
	check_cidr("2001:db8::1", "2001:db8::1", 128);
	check_cidr("2001:db8::1/128", "2001:db8::1", 128);
	check_cidr("2001:db8:ffff::/33", "2001:db8:8000::", 33);
	check_cidr("ffff::1/0", "::", 0);
	check_cidr("fe80::1:2:3:4/127", "fe80::1:2:3:4", 127);
	check_cidr("10.0.0.0/08", "10.0.0.0", 8);
}

static void test_cidr_invalid(void **state)
{
	static const char *const bad[] = {
		"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/8/8", "10.0.0.0/0x8", "10.0.0.0/0008",
		"2001:db8::/129", "2001:db8::/1000", "10.0.0/8", "nonsense/8", " 10.0.0.0/8",
		"2001:db8::%eth0/64",
		"0000000000000000000000000000000000000000000000000000000000000000000010.0.0.0/8",
	};
	struct nr_cidr c = { .prefixlen = 99 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(nr_cidr_parse(bad[i], &c), -EINVAL);
		assert_int_equal(c.prefixlen, 99);
	}
	assert_int_equal(nr_cidr_parse(NULL, &c), -EINVAL);
}

static bool contains(const char *cidr, const char *addr)
{
	struct nr_cidr c;
	struct nr_addr a;

	assert_int_equal(nr_cidr_parse(cidr, &c), 0);
	assert_int_equal(nr_addr_parse(addr, &a), 0);
	return nr_cidr_contains(&c, &a);
}

static void test_cidr_contains(void **state)
{
	struct nr_cidr c;
	struct nr_addr none = { 0 };

	assert_true(contains("10.0.0.0/8", "10.255.255.255"));
	assert_true(contains("10.0.0.0/8", "10.0.0.0"));
	assert_false(contains("10.0.0.0/8", "11.0.0.0"));
	assert_false(contains("10.0.0.0/8", "9.255.255.255"));
	/* Mid-byte prefix boundaries. */
	assert_true(contains("10.0.0.0/13", "10.7.255.255"));
	assert_false(contains("10.0.0.0/13", "10.8.0.0"));
	assert_true(contains("192.168.1.128/25", "192.168.1.255"));
	assert_false(contains("192.168.1.128/25", "192.168.1.127"));
	/* /0, /32 */
	assert_true(contains("0.0.0.0/0", "1.2.3.4"));
	assert_true(contains("0.0.0.0/0", "255.255.255.255"));
	assert_true(contains("10.0.0.1/32", "10.0.0.1"));
	assert_false(contains("10.0.0.1/32", "10.0.0.0"));
	assert_false(contains("10.0.0.1/32", "10.0.0.2"));
	/* IPv6, /0, /128, odd lengths */
	assert_true(contains("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(contains("2001:db8::/32", "2001:db9::1"));
	assert_true(contains("::/0", "ffff::1"));
	assert_true(contains("2001:db8::1/128", "2001:db8::1"));
	assert_false(contains("2001:db8::1/128", "2001:db8::"));
	assert_false(contains("2001:db8::1/128", "2001:db8::3"));
	assert_true(contains("2001:db8:8000::/33", "2001:db8:ffff::"));
	assert_false(contains("2001:db8:8000::/33", "2001:db8:7fff::"));
	assert_true(contains("fe80::/127", "fe80::1"));
	assert_false(contains("fe80::/127", "fe80::2"));
	/* Families never mix, not even through /0 or v4-mapped addresses. */
	assert_false(contains("0.0.0.0/0", "::1"));
	assert_false(contains("::/0", "10.0.0.1"));
	assert_false(contains("10.0.0.0/8", "::ffff:10.0.0.1"));
	assert_false(contains("::/96", "0.0.0.1"));

	assert_int_equal(nr_cidr_parse("0.0.0.0/0", &c), 0);
	assert_false(nr_cidr_contains(&c, &none));
	assert_false(nr_cidr_contains(NULL, &none));
	assert_false(nr_cidr_contains(&c, NULL));
}

static void test_mac(void **state)
{
	static const uint8_t m1[6] = { 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e };
	static const uint8_t m2[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	char buf[NR_MAC_STRLEN + 1];

	memset(buf, 'x', sizeof(buf));
	nr_mac_format(m1, buf);
	assert_string_equal(buf, "00:1a:2b:3c:4d:5e");
	assert_int_equal(buf[NR_MAC_STRLEN], 'x'); /* 18 bytes exactly */
	nr_mac_format(m2, buf);
	assert_string_equal(buf, "ff:ff:ff:ff:ff:ff");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),  cmocka_unit_test(test_parse_bytes),
		cmocka_unit_test(test_parse_invalid), cmocka_unit_test(test_format_edges),
		cmocka_unit_test(test_format_v4_matches_inet_ntop),
		cmocka_unit_test(test_cidr_parse),    cmocka_unit_test(test_cidr_invalid),
		cmocka_unit_test(test_cidr_contains), cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
