/* SPDX-License-Identifier: MIT */
/*
 * The ABI between bpf/sockets.bpf.c and recorder/sockets.c: who created each socket.
 */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NR_SOCK_COMMSIZ 16

/* The process that created a socket (socket(2) or accept's listener is not one: accepted
 * sockets are clones, made in softirq). Keyed by the socket cookie, which sock_diag reports
 * as idiag_cookie. */
struct nr_sock_owner {
	__u64 created_ns; /* bpf_ktime_get_ns() */
	__u32 pid; /* thread group id: the process */
	__u32 uid;
	char comm[NR_SOCK_COMMSIZ];
};
