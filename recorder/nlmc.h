/* SPDX-License-Identifier: MIT */
/*
 * Kernel multicast on netlink (conntrack events, sock_diag destroy notifications), read in
 * batches with recvmmsg. Only messages from the kernel (port 0) to a group are believed: a
 * process with CAP_NET_ADMIN in a recorded namespace could otherwise unicast forged ones.
 * And the kernel's count of what it dropped on a socket whose buffer was full.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define NR_NLMC_BATCH 64 /* datagrams per recvmmsg */

struct nr_nlmc {
	struct mmsghdr msgs[NR_NLMC_BATCH];
	struct iovec iov[NR_NLMC_BATCH];
	struct sockaddr_nl from[NR_NLMC_BATCH];
	char *bufs; /* NR_NLMC_BATCH buffers of msg_size bytes */
	size_t msg_size;
};

/* Buffers for datagrams of up to @msg_size bytes. Returns 0 or -ENOMEM. */
int nr_nlmc_init(struct nr_nlmc *m, size_t msg_size);
void nr_nlmc_free(struct nr_nlmc *m);

/* Called for every netlink message of a datagram the kernel multicast. */
typedef void (*nr_nlmc_cb)(const struct nlmsghdr *nlh, void *data);

/*
 * Reads one batch from @fd (non-blocking) and calls @cb for each message. Datagrams not from
 * the kernel to a group are counted in *@refused, truncated ones in *@truncated. Returns the
 * number of datagrams read, or -errno: -EAGAIN when the socket is empty, -ENOBUFS when the
 * kernel has dropped messages since the last read (the count is in nr_sock_drops()).
 */
int nr_nlmc_read(struct nr_nlmc *m, int fd, nr_nlmc_cb cb, void *data, uint64_t *refused,
		 uint64_t *truncated);

/* The kernel's count of messages dropped on @fd (SO_MEMINFO, SK_MEMINFO_DROPS; 32 bits,
 * wrapping), or -1 if unknown. */
int64_t nr_sock_drops(int fd);
