/* SPDX-License-Identifier: MIT */
/*
 * Addresses: IPv4 and IPv6 in one struct, their canonical text (what inet_ntop prints, which
 * is what the store holds), CIDR prefixes and MAC addresses. No I/O, no logging.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NR_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
#define NR_MAC_STRLEN 18

struct nr_addr {
	uint8_t family; /* AF_INET or AF_INET6; 0 means "no address" */
	uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
};

struct nr_cidr {
	struct nr_addr addr; /* host bits cleared */
	uint8_t prefixlen;
};

/* Parses IPv4 or IPv6 text. Returns 0 or -EINVAL. */
int nr_addr_parse(const char *s, struct nr_addr *ret);

/* Canonical text (inet_ntop). Writes "" for family 0. Returns the length, or -ENOSPC. */
int nr_addr_format(const struct nr_addr *a, char *buf, size_t len);

/*
 * Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits set
 * below the prefix are cleared, not an error ("10.1.2.3/8" is 10.0.0.0/8). Returns 0 or
 * -EINVAL (bad address, prefix out of range, trailing garbage).
 */
int nr_cidr_parse(const char *s, struct nr_cidr *ret);

/* True when @a is inside @c. Families must match: IPv4 never matches an IPv6 prefix. */
bool nr_cidr_contains(const struct nr_cidr *c, const struct nr_addr *a);

/* "aa:bb:cc:dd:ee:ff" into @buf of at least NR_MAC_STRLEN bytes. */
void nr_mac_format(const uint8_t mac[6], char *buf);
