// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include <libmnl/libmnl.h>
#include <linux/sock_diag.h>

#include "nlmc.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

int nr_nlmc_init(struct nr_nlmc *m, size_t msg_size)
{
	m->msg_size = msg_size;
	m->bufs = malloc(NR_NLMC_BATCH * msg_size);
	if (!m->bufs)
		return -ENOMEM;
	for (int i = 0; i < NR_NLMC_BATCH; i++) {
		m->iov[i] = (struct iovec){ m->bufs + (size_t)i * msg_size, msg_size };
		m->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &m->from[i],
			.msg_namelen = sizeof(m->from[i]),
			.msg_iov = &m->iov[i],
			.msg_iovlen = 1,
		};
	}
	return 0;
}

void nr_nlmc_free(struct nr_nlmc *m)
{
	free(m->bufs);
	m->bufs = NULL;
}

int nr_nlmc_read(struct nr_nlmc *m, int fd, nr_nlmc_cb cb, void *data, uint64_t *refused,
		 uint64_t *truncated)
{
	int got;

	for (int i = 0; i < NR_NLMC_BATCH; i++)
		m->msgs[i].msg_hdr.msg_namelen = sizeof(m->from[i]);
	got = recvmmsg(fd, m->msgs, NR_NLMC_BATCH, MSG_DONTWAIT, NULL);
	if (got < 0)
		return -errno;
	for (int i = 0; i < got; i++) {
		const struct nlmsghdr *nlh = m->iov[i].iov_base;
		int len = (int)m->msgs[i].msg_len;

		if (m->msgs[i].msg_hdr.msg_namelen != sizeof(m->from[i]) || m->from[i].nl_pid != 0 ||
		    m->from[i].nl_groups == 0) {
			(*refused)++;
			continue;
		}
		if (m->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			(*truncated)++;
			continue;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			cb(nlh, data);
	}
	return got;
}

int64_t nr_sock_drops(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return -1;
	return mem[SK_MEMINFO_DROPS];
}
