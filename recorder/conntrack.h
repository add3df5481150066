/* SPDX-License-Identifier: MIT */
/*
 * The conntrack source's message parsing, apart from its sockets so that tests can feed it
 * messages. The source itself is in sources.h (nr_conntrack_start and friends).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "record.h"

enum nr_ct_event { NR_CT_NEW, NR_CT_UPDATE, NR_CT_DESTROY, NR_CT_DUMP, NR_CT__COUNT };

/* The event a ctnetlink message carries (@dump: it is a dump reply), or -1 for a message
 * that is not a conntrack entry. */
int nr_conntrack_event(const struct nlmsghdr *nlh, bool dump);

/* Fills a `conntrack` row from the message. Returns 0, or -EINVAL if it does not parse. */
int nr_conntrack_parse(const struct nlmsghdr *nlh, enum nr_ct_event ev, int64_t now_ns,
		       uint64_t netns, struct nr_record *r);
