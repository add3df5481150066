// SPDX-License-Identifier: MIT
/*
 * sock_diag messages, parsed with libmnl: every attribute's size is checked before it is
 * read, and tcp_info is read only as far as the kernel filled it (older kernels send a
 * shorter struct, newer ones a longer one).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>

#include "sockdiag.h"

static const char *const state_names[] = {
	[NR_TCP_ESTABLISHED] = "ESTABLISHED", [NR_TCP_SYN_SENT] = "SYN_SENT",
	[NR_TCP_SYN_RECV] = "SYN_RECV",	      [NR_TCP_FIN_WAIT1] = "FIN_WAIT1",
	[NR_TCP_FIN_WAIT2] = "FIN_WAIT2",     [NR_TCP_TIME_WAIT] = "TIME_WAIT",
	[NR_TCP_CLOSE] = "CLOSE",	      [NR_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[NR_TCP_LAST_ACK] = "LAST_ACK",	      [NR_TCP_LISTEN] = "LISTEN",
	[NR_TCP_CLOSING] = "CLOSING",	      [NR_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

const char *nr_tcp_state_name(unsigned state)
{
	if (state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state])
		return state_names[state];
	return "UNKNOWN";
}

size_t nr_diag_request(void *buf, uint8_t family, uint8_t proto, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct inet_diag_req_v2 *req;

	memset(buf, 0, NR_DIAG_REQ_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = proto;
	if (proto == IPPROTO_TCP) {
		req->idiag_states = 0xffff & ~((1u << NR_TCP_SYN_RECV) | (1u << NR_TCP_TIME_WAIT) |
					       (1u << NR_TCP_NEW_SYN_RECV));
		req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	} else {
		req->idiag_states = 0xffff;
	}
	return nlh->nlmsg_len;
}

/* A tcp_info field, if the kernel's struct reaches that far. */
#define TI_FIELD(ti, len, f) \
	(offsetof(struct tcp_info, f) + sizeof((ti)->f) <= (len) ? (int64_t)(ti)->f : -1)

struct attrs {
	const struct nlattr *info, *proto;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *at = data;

	if (mnl_attr_type_valid(a, INET_DIAG_MAX) < 0)
		return MNL_CB_OK; /* newer than us: skipped */
	switch (mnl_attr_get_type(a)) {
	case INET_DIAG_INFO:
		at->info = a;
		break;
	case INET_DIAG_PROTOCOL:
		if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
			return MNL_CB_ERROR;
		at->proto = a;
		break;
	}
	return MNL_CB_OK;
}

int nr_diag_parse(const struct nlmsghdr *nlh, uint8_t proto, struct nr_diag_sock *d)
{
	const struct inet_diag_msg *m;
	const struct nlattr *a;
	const char *end;
	struct attrs at = { 0 };
	size_t alen;

	memset(d, 0, sizeof(*d));
	d->bytes_sent = d->bytes_received = d->segs_out = d->segs_in = d->retrans = -1;
	d->rtt_us = d->rttvar_us = d->cwnd = -1;
	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return -EINVAL;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EINVAL;
	/* Not mnl_attr_parse(): it stops quietly at an attribute that runs past the end, and
	 * walks to the aligned tail, up to 3 bytes past nlmsg_len. */
	end = (const char *)nlh + nlh->nlmsg_len;
	for (a = mnl_nlmsg_get_payload_offset(nlh, sizeof(*m));
	     mnl_attr_ok(a, (int)(end - (const char *)a)); a = mnl_attr_next(a)) {
		if (attr_cb(a, &at) < 0)
			return -EINVAL;
	}
	if ((const char *)a < end)
		return -EINVAL;
	d->proto = at.proto ? mnl_attr_get_u8(at.proto) : proto;
	if (d->proto != IPPROTO_TCP && d->proto != IPPROTO_UDP)
		return -EINVAL;
	d->state = m->idiag_state;
	alen = m->idiag_family == AF_INET ? 4 : 16;
	d->src.family = d->dst.family = m->idiag_family;
	memcpy(d->src.bytes, m->id.idiag_src, alen);
	memcpy(d->dst.bytes, m->id.idiag_dst, alen);
	d->sport = ntohs(m->id.idiag_sport);
	d->dport = ntohs(m->id.idiag_dport);
	d->inode = m->idiag_inode;
	d->uid = m->idiag_uid;
	d->cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	if (at.info && d->proto == IPPROTO_TCP) {
		struct tcp_info ti;
		size_t len = mnl_attr_get_payload_len(at.info);

		if (len > sizeof(ti))
			len = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		memcpy(&ti, mnl_attr_get_payload(at.info), len);
		d->has_info = true;
		/* Payload bytes sent, each counted once: tcpi_bytes_sent counts retransmitted
		 * bytes again. What the application wrote and the kernel sent. */
		d->bytes_sent = TI_FIELD(&ti, len, tcpi_bytes_sent);
		if (d->bytes_sent >= 0 && TI_FIELD(&ti, len, tcpi_bytes_retrans) >= 0) {
			d->bytes_sent -= (int64_t)ti.tcpi_bytes_retrans;
			if (d->bytes_sent < 0)
				d->bytes_sent = -1; /* nonsense: unknown */
		}
		d->bytes_received = TI_FIELD(&ti, len, tcpi_bytes_received);
		d->segs_out = TI_FIELD(&ti, len, tcpi_segs_out);
		d->segs_in = TI_FIELD(&ti, len, tcpi_segs_in);
		d->retrans = TI_FIELD(&ti, len, tcpi_total_retrans);
		d->rtt_us = TI_FIELD(&ti, len, tcpi_rtt);
		d->rttvar_us = TI_FIELD(&ti, len, tcpi_rttvar);
		d->cwnd = TI_FIELD(&ti, len, tcpi_snd_cwnd);
	}
	return 0;
}
