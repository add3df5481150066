// SPDX-License-Identifier: MIT
/*
 * sock_diag messages (recorder/sockdiag.h): inet_diag messages built here the way the kernel
 * lays them out (struct inet_diag_msg, then INET_DIAG_PROTOCOL and a tcp_info in
 * INET_DIAG_INFO) become the sockets they describe; the dump request asks for what the socket
 * source needs; anything that is not a well-formed inet_diag message is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>

#include "addr.h"
#include "sockdiag.h"

/* Aligned as a receive buffer is: tcp_info holds 64-bit counters. */
static _Alignas(uint64_t) char buf[8192];

/* The message of one socket as the kernel starts it: header and struct inet_diag_msg, no
 * attributes yet. idiag_src/idiag_dst hold 4 bytes for IPv4 and the rest is zero. */
static struct nlmsghdr *diag_msg(uint16_t flags, uint8_t family, uint8_t state, const char *src,
				 uint16_t sport, const char *dst, uint16_t dport)
{
	struct nlmsghdr *nlh;
	struct inet_diag_msg *m;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = 77;
	m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
	m->idiag_family = family;
	m->idiag_state = state;
	m->idiag_timer = 1;
	m->idiag_retrans = 2;
	m->id.idiag_sport = htons(sport);
	m->id.idiag_dport = htons(dport);
	assert_int_equal(inet_pton(family, src, m->id.idiag_src), 1);
	assert_int_equal(inet_pton(family, dst, m->id.idiag_dst), 1);
	m->id.idiag_if = 3;
	/* The high word with its top bit set: the cookie must not be sign-extended. */
	m->id.idiag_cookie[0] = 0x89abcdef;
	m->id.idiag_cookie[1] = 0xfedcba98;
	m->idiag_expires = 200;
	m->idiag_rqueue = 5;
	m->idiag_wqueue = 6;
	m->idiag_uid = 1000;
	m->idiag_inode = 0xfffffff0;
	return nlh;
}

#define COOKIE 0xfedcba9889abcdefULL
#define INODE 4294967280ULL

/* A tcp_info with every counter netrecd reads distinct, and the fields next to them (current
 * retransmits, ssthresh, acked bytes, data segments, min_rtt) different again, so that a
 * parser reading the wrong field is caught. Byte counts above 2^32. */
static void fill_tcp_info(struct tcp_info *ti)
{
	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = NR_TCP_ESTABLISHED;
	ti->tcpi_retransmits = 1;
	ti->tcpi_retrans = 1;
	ti->tcpi_snd_mss = 1448;
	ti->tcpi_rcv_mss = 1448;
	ti->tcpi_rtt = 12345;
	ti->tcpi_rttvar = 678;
	ti->tcpi_snd_ssthresh = 20;
	ti->tcpi_snd_cwnd = 10;
	ti->tcpi_total_retrans = 3;
	ti->tcpi_bytes_acked = 4999990001ULL;
	ti->tcpi_bytes_received = 6000000001ULL;
	ti->tcpi_segs_out = 90;
	ti->tcpi_segs_in = 80;
	ti->tcpi_min_rtt = 11111;
	ti->tcpi_data_segs_in = 70;
	ti->tcpi_data_segs_out = 60;
	ti->tcpi_bytes_sent = 5000000000ULL + 4344;
	ti->tcpi_bytes_retrans = 4344;
}

static void put_tcp_info(struct nlmsghdr *nlh, size_t len)
{
	union {
		struct tcp_info ti;
		char bytes[sizeof(struct tcp_info) + 64];
	} info;

	/* Past the struct: what a newer kernel appends, here nonzero. */
	memset(&info, 0x5a, sizeof(info));
	assert_true(len <= sizeof(info));
	fill_tcp_info(&info.ti);
	mnl_attr_put(nlh, INET_DIAG_INFO, len, &info);
}

static void assert_addr(const struct nr_addr *a, int family, const char *want)
{
	char s[NR_ADDR_STRLEN];

	assert_int_equal(a->family, family);
	assert_true(nr_addr_format(a, s, sizeof(s)) > 0);
	assert_string_equal(s, want);
}

static void assert_tcp_info(const struct nr_diag_sock *d)
{
	assert_true(d->has_info);
	assert_int_equal(d->bytes_sent, 5000000000LL); /* tcpi_bytes_sent - tcpi_bytes_retrans */
	assert_int_equal(d->bytes_received, 6000000001LL);
	assert_int_equal(d->segs_out, 90);
	assert_int_equal(d->segs_in, 80);
	assert_int_equal(d->retrans, 3); /* tcpi_total_retrans, not tcpi_retrans */
	assert_int_equal(d->rtt_us, 12345);
	assert_int_equal(d->rttvar_us, 678);
	assert_int_equal(d->cwnd, 10);
}

static void assert_no_info(const struct nr_diag_sock *d)
{
	assert_false(d->has_info);
	assert_int_equal(d->bytes_sent, -1);
	assert_int_equal(d->bytes_received, -1);
	assert_int_equal(d->segs_out, -1);
	assert_int_equal(d->segs_in, -1);
	assert_int_equal(d->retrans, -1);
	assert_int_equal(d->rtt_us, -1);
	assert_int_equal(d->rttvar_us, -1);
	assert_int_equal(d->cwnd, -1);
}

/* A dump reply of a TCP/IPv4 request: the protocol from the attribute, every field of
 * inet_diag_msg and the counters of tcp_info. */
static void test_tcp4(void **state)
{
	struct nlmsghdr *nlh = diag_msg(NLM_F_MULTI, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.2",
					40000, "198.51.100.7", 443);
	struct nr_diag_sock d;

	(void)state;
	mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 0);
	mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, IPPROTO_TCP);
	mnl_attr_put_strz(nlh, INET_DIAG_CONG, "cubic");
	put_tcp_info(nlh, sizeof(struct tcp_info));
	/* An attribute newer than these headers: skipped. */
	mnl_attr_put_u32(nlh, INET_DIAG_MAX + 1, 42);

	assert_int_equal(nr_diag_parse(nlh, 0, &d), 0);
	assert_int_equal(d.proto, IPPROTO_TCP);
	assert_int_equal(d.state, NR_TCP_ESTABLISHED);
	assert_addr(&d.src, AF_INET, "10.0.0.2");
	assert_addr(&d.dst, AF_INET, "198.51.100.7");
	for (int i = 4; i < 16; i++) {
		assert_int_equal(d.src.bytes[i], 0);
		assert_int_equal(d.dst.bytes[i], 0);
	}
	assert_int_equal(d.sport, 40000);
	assert_int_equal(d.dport, 443);
	assert_int_equal(d.inode, INODE);
	assert_int_equal(d.uid, 1000);
	assert_int_equal(d.cookie, COOKIE);
	assert_tcp_info(&d);

	/* The attribute wins over the request's protocol. */
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_UDP, &d), 0);
	assert_int_equal(d.proto, IPPROTO_TCP);
	assert_tcp_info(&d);
}

/* TCP/IPv6 without INET_DIAG_PROTOCOL: the protocol is the request's. */
static void test_tcp6(void **state)
{
	struct nlmsghdr *nlh = diag_msg(NLM_F_MULTI, AF_INET6, NR_TCP_FIN_WAIT1, "2001:db8::1",
					0x1234, "2001:db8:ffff::2:53", 0xfffe);
	struct nr_diag_sock d;

	(void)state;
	put_tcp_info(nlh, sizeof(struct tcp_info));
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_int_equal(d.proto, IPPROTO_TCP);
	assert_int_equal(d.state, NR_TCP_FIN_WAIT1);
	assert_addr(&d.src, AF_INET6, "2001:db8::1");
	assert_addr(&d.dst, AF_INET6, "2001:db8:ffff::2:53");
	assert_int_equal(d.sport, 0x1234);
	assert_int_equal(d.dport, 0xfffe);
	assert_int_equal(d.inode, INODE);
	assert_int_equal(d.uid, 1000);
	assert_int_equal(d.cookie, COOKIE);
	assert_tcp_info(&d);

	/* Neither attribute nor request protocol: not a socket netrecd can name. */
	assert_int_equal(nr_diag_parse(nlh, 0, &d), -EINVAL);
}

/* A listener has tcp_info too, and no peer. */
static void test_tcp_listen(void **state)
{
	struct nlmsghdr *nlh = diag_msg(NLM_F_MULTI, AF_INET6, NR_TCP_LISTEN, "::", 22, "::", 0);
	struct nr_diag_sock d;

	(void)state;
	put_tcp_info(nlh, sizeof(struct tcp_info));
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_int_equal(d.state, NR_TCP_LISTEN);
	assert_addr(&d.src, AF_INET6, "::");
	assert_addr(&d.dst, AF_INET6, "::");
	assert_int_equal(d.sport, 22);
	assert_int_equal(d.dport, 0);
	assert_true(d.has_info);
}

/* A destroy notification (multicast, flags 0) carries INET_DIAG_PROTOCOL, since it answers no
 * request; the socket source passes 0 as @proto. */
static void test_destroy(void **state)
{
	struct nlmsghdr *nlh = diag_msg(0, AF_INET, NR_TCP_CLOSE, "192.0.2.1", 55555,
					"203.0.113.9", 80);
	struct nr_diag_sock d;

	(void)state;
	nlh->nlmsg_seq = 0;
	mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, IPPROTO_TCP);
	put_tcp_info(nlh, sizeof(struct tcp_info));
	assert_int_equal(nr_diag_parse(nlh, 0, &d), 0);
	assert_int_equal(d.proto, IPPROTO_TCP);
	assert_int_equal(d.state, NR_TCP_CLOSE);
	assert_addr(&d.src, AF_INET, "192.0.2.1");
	assert_addr(&d.dst, AF_INET, "203.0.113.9");
	assert_int_equal(d.sport, 55555);
	assert_int_equal(d.dport, 80);
	assert_int_equal(d.inode, INODE);
	assert_int_equal(d.uid, 1000);
	assert_int_equal(d.cookie, COOKIE);
	assert_tcp_info(&d);
}

/* UDP has no tcp_info: counters -1. A UDP message that carries INET_DIAG_INFO anyway does not
 * get TCP counters. */
static void test_udp(void **state)
{
	struct nlmsghdr *nlh = diag_msg(NLM_F_MULTI, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.7",
					5353, "10.0.0.53", 53);
	struct nr_diag_sock d;

	(void)state;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_UDP, &d), 0);
	assert_int_equal(d.proto, IPPROTO_UDP);
	assert_int_equal(d.state, NR_TCP_ESTABLISHED);
	assert_addr(&d.src, AF_INET, "10.0.0.7");
	assert_addr(&d.dst, AF_INET, "10.0.0.53");
	assert_int_equal(d.sport, 5353);
	assert_int_equal(d.dport, 53);
	assert_int_equal(d.inode, INODE);
	assert_int_equal(d.uid, 1000);
	assert_int_equal(d.cookie, COOKIE);
	assert_no_info(&d);

	/* An unconnected IPv6 socket, the protocol from the attribute. */
	nlh = diag_msg(0, AF_INET6, NR_TCP_CLOSE, "fe80::1", 546, "::", 0);
	mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, IPPROTO_UDP);
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_int_equal(d.proto, IPPROTO_UDP);
	assert_int_equal(d.state, NR_TCP_CLOSE);
	assert_addr(&d.src, AF_INET6, "fe80::1");
	assert_addr(&d.dst, AF_INET6, "::");
	assert_int_equal(d.sport, 546);
	assert_int_equal(d.dport, 0);
	assert_no_info(&d);

	nlh = diag_msg(0, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.7", 5353, "10.0.0.53", 53);
	put_tcp_info(nlh, sizeof(struct tcp_info));
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_UDP, &d), 0);
	assert_int_equal(d.proto, IPPROTO_UDP);
	assert_no_info(&d);
}

/* tcp_info is read as far as the kernel filled it: an older kernel's shorter struct gives -1
 * for the fields it does not reach, a newer kernel's longer one is read up to our struct. */
static void test_tcp_info_sizes(void **state)
{
	struct nr_diag_sock d;
	struct nlmsghdr *nlh;

	(void)state;
	/* Before tcpi_bytes_sent (kernels before 4.19): everything but bytes_sent. */
	nlh = diag_msg(NLM_F_MULTI, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.2", 1, "10.0.0.3", 2);
	put_tcp_info(nlh, offsetof(struct tcp_info, tcpi_bytes_sent));
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_true(d.has_info);
	assert_int_equal(d.bytes_sent, -1);
	assert_int_equal(d.bytes_received, 6000000001LL);
	assert_int_equal(d.segs_out, 90);
	assert_int_equal(d.segs_in, 80);
	assert_int_equal(d.retrans, 3);
	assert_int_equal(d.rtt_us, 12345);
	assert_int_equal(d.rttvar_us, 678);
	assert_int_equal(d.cwnd, 10);

	/* Before tcpi_bytes_received (kernels before 4.1): the byte and segment counters are
	 * missing, RTT, cwnd and retransmits are read. */
	nlh = diag_msg(NLM_F_MULTI, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.2", 1, "10.0.0.3", 2);
	put_tcp_info(nlh, offsetof(struct tcp_info, tcpi_bytes_received));
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_true(d.has_info);
	assert_int_equal(d.bytes_sent, -1);
	assert_int_equal(d.bytes_received, -1);
	assert_int_equal(d.segs_out, -1);
	assert_int_equal(d.segs_in, -1);
	assert_int_equal(d.retrans, 3);
	assert_int_equal(d.rtt_us, 12345);
	assert_int_equal(d.rttvar_us, 678);
	assert_int_equal(d.cwnd, 10);

	/* Cut inside tcpi_rtt: a field is read whole or not at all. */
	nlh = diag_msg(NLM_F_MULTI, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.2", 1, "10.0.0.3", 2);
	put_tcp_info(nlh, offsetof(struct tcp_info, tcpi_rtt) + 2);
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_true(d.has_info);
	assert_int_equal(d.rtt_us, -1);
	assert_int_equal(d.rttvar_us, -1);
	assert_int_equal(d.cwnd, -1);
	assert_int_equal(d.retrans, -1);
	assert_int_equal(d.bytes_sent, -1);
	assert_int_equal(d.bytes_received, -1);

	/* Empty: present, but nothing in it. */
	nlh = diag_msg(NLM_F_MULTI, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.2", 1, "10.0.0.3", 2);
	put_tcp_info(nlh, 0);
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_true(d.has_info);
	assert_int_equal(d.bytes_sent, -1);
	assert_int_equal(d.rtt_us, -1);
	assert_int_equal(d.cwnd, -1);

	/* Longer than our struct (a newer kernel): accepted, the known fields read. */
	nlh = diag_msg(NLM_F_MULTI, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.2", 1, "10.0.0.3", 2);
	put_tcp_info(nlh, sizeof(struct tcp_info) + 64);
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_tcp_info(&d);
}

/* Messages that are not well-formed inet_diag messages are refused. */
static void test_bad_messages(void **state)
{
	struct nr_diag_sock d;
	struct nlmsghdr *nlh;
	struct nlattr *a;

	(void)state;
#define MSG() diag_msg(NLM_F_MULTI, AF_INET, NR_TCP_ESTABLISHED, "10.0.0.2", 1, "10.0.0.3", 2)
	/* The message itself is fine. */
	nlh = MSG();
	put_tcp_info(nlh, sizeof(struct tcp_info));
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);

	/* Another message type: the end of a dump, an error, a route. */
	nlh->nlmsg_type = NLMSG_DONE;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	nlh->nlmsg_type = NLMSG_ERROR;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY + 1;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);

	/* Shorter than struct inet_diag_msg. */
	nlh = MSG();
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_msg) - 1);
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	/* Exactly inet_diag_msg, no attributes: fine. */
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_msg));
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_no_info(&d);

	/* Not an inet family: unspecified, a unix_diag reply (same message type), packet. */
	{
		static const uint8_t families[] = { AF_UNSPEC, AF_UNIX, AF_PACKET, AF_NETLINK,
						    255 };

		for (size_t i = 0; i < sizeof(families); i++) {
			nlh = MSG();
			((struct inet_diag_msg *)mnl_nlmsg_get_payload(nlh))->idiag_family =
				families[i];
			assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
		}
	}

	/* INET_DIAG_PROTOCOL of the wrong size: empty, 16 bits, 32 bits. */
	nlh = MSG();
	mnl_attr_put(nlh, INET_DIAG_PROTOCOL, 0, "");
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	nlh = MSG();
	mnl_attr_put_u16(nlh, INET_DIAG_PROTOCOL, IPPROTO_TCP);
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	nlh = MSG();
	mnl_attr_put_u32(nlh, INET_DIAG_PROTOCOL, IPPROTO_TCP);
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);

	/* A protocol other than TCP and UDP, from the attribute or from the request. */
	{
		static const uint8_t protos[] = { 0, IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_UDPLITE,
						  IPPROTO_RAW, 255 };

		for (size_t i = 0; i < sizeof(protos); i++) {
			nlh = MSG();
			mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, protos[i]);
			assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
			nlh = MSG();
			assert_int_equal(nr_diag_parse(nlh, protos[i], &d), -EINVAL);
		}
	}

	/* A malformed attribute: its length runs past the end of the message. */
	nlh = MSG();
	mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, IPPROTO_TCP);
	a = mnl_nlmsg_get_payload_tail(nlh);
	put_tcp_info(nlh, sizeof(struct tcp_info));
	a->nla_len += 8;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	/* ... the message ends inside it. */
	nlh = MSG();
	put_tcp_info(nlh, sizeof(struct tcp_info));
	nlh->nlmsg_len -= 8;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	/* ... shorter than an attribute header. */
	nlh = MSG();
	a = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, IPPROTO_TCP);
	a->nla_len = 2;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	/* ... a header whose 4 bytes the message cuts after 2: libmnl's walk goes to the aligned
	 * tail and would read its type past nlmsg_len (mnl_attr_parse accepted this). */
	nlh = MSG();
	a = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put(nlh, INET_DIAG_SHUTDOWN, 0, "");
	nlh->nlmsg_len -= 2;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	/* ... 1 to 3 bytes after the last attribute, too few for another. */
	nlh = MSG();
	mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, IPPROTO_TCP);
	nlh->nlmsg_len += 3;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), -EINVAL);
	/* The last attribute whole but its padding not counted in nlmsg_len: fine. */
	nlh = MSG();
	mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, IPPROTO_UDP);
	nlh->nlmsg_len -= 3;
	assert_int_equal(nr_diag_parse(nlh, IPPROTO_TCP, &d), 0);
	assert_int_equal(d.proto, IPPROTO_UDP);
#undef MSG
}

static void test_request(void **state)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	_Alignas(uint64_t) char req[NR_DIAG_REQ_SIZE];

	(void)state;
	assert_true(NLMSG_LENGTH(sizeof(struct inet_diag_req_v2)) <= NR_DIAG_REQ_SIZE);
	for (size_t f = 0; f < sizeof(families); f++) {
		for (size_t p = 0; p < sizeof(protos); p++) {
			const struct nlmsghdr *nlh = (const struct nlmsghdr *)req;
			const struct inet_diag_req_v2 *r;
			static const struct inet_diag_sockid any;
			uint32_t seq = 0x80000000u + (uint32_t)(f * 2 + p);
			size_t len;

			memset(req, 0xa5, sizeof(req));
			len = nr_diag_request(req, families[f], protos[p], seq);
			assert_int_equal(len, NLMSG_LENGTH(sizeof(*r)));
			assert_int_equal(nlh->nlmsg_len, len);
			assert_int_equal(nlh->nlmsg_type, SOCK_DIAG_BY_FAMILY);
			assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
			assert_int_equal(nlh->nlmsg_seq, seq);
			assert_int_equal(nlh->nlmsg_pid, 0);
			r = mnl_nlmsg_get_payload(nlh);
			assert_int_equal(r->sdiag_family, families[f]);
			assert_int_equal(r->sdiag_protocol, protos[p]);
			assert_int_equal(r->pad, 0);
			/* No filter on addresses, ports, interface or cookie. */
			assert_memory_equal(&r->id, &any, sizeof(any));
			if (protos[p] == IPPROTO_TCP) {
				for (unsigned s = NR_TCP_ESTABLISHED; s <= NR_TCP_NEW_SYN_RECV; s++) {
					bool want = s != NR_TCP_SYN_RECV && s != NR_TCP_TIME_WAIT &&
						    s != NR_TCP_NEW_SYN_RECV;

					assert_int_equal(!!(r->idiag_states & (1u << s)), want);
				}
				assert_int_equal(r->idiag_ext, 1 << (INET_DIAG_INFO - 1));
			} else {
				assert_int_equal(r->idiag_states, 0xffff);
				assert_int_equal(r->idiag_ext, 0);
			}
		}
	}
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(nr_tcp_state_name(NR_TCP_ESTABLISHED), "ESTABLISHED");
	assert_string_equal(nr_tcp_state_name(NR_TCP_SYN_SENT), "SYN_SENT");
	assert_string_equal(nr_tcp_state_name(NR_TCP_SYN_RECV), "SYN_RECV");
	assert_string_equal(nr_tcp_state_name(NR_TCP_FIN_WAIT1), "FIN_WAIT1");
	assert_string_equal(nr_tcp_state_name(NR_TCP_FIN_WAIT2), "FIN_WAIT2");
	assert_string_equal(nr_tcp_state_name(NR_TCP_TIME_WAIT), "TIME_WAIT");
	assert_string_equal(nr_tcp_state_name(NR_TCP_CLOSE), "CLOSE");
	assert_string_equal(nr_tcp_state_name(NR_TCP_CLOSE_WAIT), "CLOSE_WAIT");
	assert_string_equal(nr_tcp_state_name(NR_TCP_LAST_ACK), "LAST_ACK");
	assert_string_equal(nr_tcp_state_name(NR_TCP_LISTEN), "LISTEN");
	assert_string_equal(nr_tcp_state_name(NR_TCP_CLOSING), "CLOSING");
	assert_string_equal(nr_tcp_state_name(NR_TCP_NEW_SYN_RECV), "NEW_SYN_RECV");
	/* The kernel's numbering (include/net/tcp_states.h). */
	assert_int_equal(NR_TCP_ESTABLISHED, 1);
	assert_int_equal(NR_TCP_TIME_WAIT, 6);
	assert_int_equal(NR_TCP_LISTEN, 10);
	assert_int_equal(NR_TCP_NEW_SYN_RECV, 12);
	/* Out of range. */
	assert_string_equal(nr_tcp_state_name(0), "UNKNOWN");
	assert_string_equal(nr_tcp_state_name(NR_TCP_NEW_SYN_RECV + 1), "UNKNOWN");
	assert_string_equal(nr_tcp_state_name(255), "UNKNOWN");
	assert_string_equal(nr_tcp_state_name(UINT_MAX), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4),
		cmocka_unit_test(test_tcp6),
		cmocka_unit_test(test_tcp_listen),
		cmocka_unit_test(test_destroy),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_tcp_info_sizes),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
