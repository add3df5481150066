// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the socket source's message parsing (recorder/sockdiag.h): the bytes
 * of one sock_diag message as they could arrive on a dump or destroy-notification socket. The
 * kernel is the only sender netrecd believes, but the parser must not trust lengths either.
 * Besides the sanitizers, checks that a socket it accepts is TCP or UDP, IPv4 or IPv6, and
 * has tcp_info only if it is TCP.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include "sockdiag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct nlmsghdr *nlh;
	struct nr_diag_sock d;

	if (size < sizeof(*nlh) || size > 65536)
		return 0;
	/* A message is read from an aligned buffer, as recvmmsg fills one. */
	nlh = malloc(size);
	if (!nlh)
		return 0;
	memcpy(nlh, data, size);
	/* The socket layer guarantees the header's length is within what was received. */
	if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > size) {
		free(nlh);
		return 0;
	}
	for (size_t i = 0; i < sizeof(protos); i++) {
		if (nr_diag_parse(nlh, protos[i], &d) == 0 &&
		    ((d.proto != IPPROTO_TCP && d.proto != IPPROTO_UDP) ||
		     (d.src.family != AF_INET && d.src.family != AF_INET6) ||
		     (d.has_info && d.proto == IPPROTO_UDP)))
			abort();
	}
	free(nlh);
	return 0;
}
