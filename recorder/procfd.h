/* SPDX-License-Identifier: MIT */
/*
 * Which process holds a socket: one pass over /proc/PID/fd of every process, for a set of
 * socket inodes at once. Used for connections and listeners netrecd did not see created.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct nr_proc_owner {
	int64_t pid; /* NR_NONE: unknown */
	char comm[NR_COMMSIZ];
};

struct nr_procfd_want {
	uint64_t inode;
	struct nr_proc_owner *owner; /* filled when found */
	bool found;
};

/*
 * Fills the owner of every wanted inode: the first process holding it (lowest pid first, as
 * /proc lists them: the parent of a forked server before its children) and its command name.
 * Costs one readlink per open file of the host; call it only when something is wanted.
 * Sorts @w by inode.
 */
void nr_procfd_owners(struct nr_procfd_want *w, size_t n);
