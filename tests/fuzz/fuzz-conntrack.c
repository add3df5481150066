// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the conntrack source's message parsing (recorder/conntrack.h): the
 * bytes of one netlink message as they could arrive on an event or dump socket. The kernel is
 * the only sender netrecd believes, but the parser must not trust lengths or nesting either.
 * Besides the sanitizers, checks that a row it accepts is a conntrack row with an event name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlmsghdr *nlh;
	struct nr_record r;
	int ev;

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
	for (int dump = 0; dump < 2; dump++) {
		ev = nr_conntrack_event(nlh, dump);
		if (ev < 0)
			continue;
		if (nr_conntrack_parse(nlh, ev, 1, 2, &r) == 0 &&
		    (r.table != NR_T_CONNTRACK || !r.ct.event[0] || r.ct.netns != 2))
			abort();
	}
	free(nlh);
	return 0;
}
