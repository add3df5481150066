// SPDX-License-Identifier: MIT
/*
 * The conntrack source's parsing: ctnetlink messages built here the way the kernel sends
 * them (libnetfilter_conntrack builds the tuples, the counters, id and timestamps are added
 * as the kernel adds them) become the `conntrack` rows they must.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "addr.h"
#include "conntrack.h"

static char buf[8192];

static struct nlmsghdr *msg(uint16_t type, uint16_t flags, uint8_t family)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfh;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = flags;
	nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
	nfh->nfgen_family = family;
	nfh->version = NFNETLINK_V0;
	return nlh;
}

/* What the kernel adds that a request does not carry: id, counters, timestamps. */
static void put_extras(struct nlmsghdr *nlh, uint32_t id, const uint64_t counters[4],
		       uint64_t start, uint64_t stop)
{
	struct nlattr *nest;

	mnl_attr_put_u32(nlh, CTA_ID, htonl(id));
	if (counters) {
		nest = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);
		mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(counters[0]));
		mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(counters[1]));
		mnl_attr_nest_end(nlh, nest);
		nest = mnl_attr_nest_start(nlh, CTA_COUNTERS_REPLY);
		mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(counters[2]));
		mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(counters[3]));
		mnl_attr_nest_end(nlh, nest);
	}
	if (start) {
		nest = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);
		mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START, htobe64(start));
		if (stop)
			mnl_attr_put_u64(nlh, CTA_TIMESTAMP_STOP, htobe64(stop));
		mnl_attr_nest_end(nlh, nest);
	}
}

static void set_v4(struct nf_conntrack *ct, int attr, const char *a)
{
	struct in_addr in;

	assert_int_equal(inet_pton(AF_INET, a, &in), 1);
	nfct_set_attr_u32(ct, attr, in.s_addr);
}

static void set_v6(struct nf_conntrack *ct, int attr, const char *a)
{
	struct in6_addr in6;

	assert_int_equal(inet_pton(AF_INET6, a, &in6), 1);
	nfct_set_attr(ct, attr, &in6);
}

static void assert_addr(const struct nr_addr *a, const char *want)
{
	char s[NR_ADDR_STRLEN];

	nr_addr_format(a, s, sizeof(s));
	assert_string_equal(s, want);
}

/* A masqueraded TCP connection: the reply tuple carries the translated source. */
static struct nlmsghdr *snat_tcp(uint16_t type, uint16_t flags)
{
	struct nf_conntrack *ct = nfct_new();
	struct nlmsghdr *nlh = msg(type, flags, AF_INET);

	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_TCP);
	set_v4(ct, ATTR_ORIG_IPV4_SRC, "10.0.0.2");
	set_v4(ct, ATTR_ORIG_IPV4_DST, "198.51.100.7");
	set_v4(ct, ATTR_REPL_IPV4_SRC, "198.51.100.7");
	set_v4(ct, ATTR_REPL_IPV4_DST, "203.0.113.1");
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(40000));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(443));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(443));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(61000));
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_SRC_NAT | IPS_CONFIRMED | IPS_SRC_NAT_DONE);
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, 1 /* TCP_CONNTRACK_SYN_SENT */);
	nfct_set_attr_u32(ct, ATTR_MARK, 7);
	nfct_set_attr_u16(ct, ATTR_ZONE, 3);
	assert_int_equal(nfct_nlmsg_build(nlh, ct), 0);
	nfct_destroy(ct);
	return nlh;
}

static void test_event_types(void **state)
{
	(void)state;
	assert_int_equal(nr_conntrack_event(snat_tcp(IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL),
					    false),
			 NR_CT_NEW);
	assert_int_equal(nr_conntrack_event(snat_tcp(IPCTNL_MSG_CT_NEW, 0), false), NR_CT_UPDATE);
	assert_int_equal(nr_conntrack_event(snat_tcp(IPCTNL_MSG_CT_DELETE, 0), false),
			 NR_CT_DESTROY);
	assert_int_equal(nr_conntrack_event(snat_tcp(IPCTNL_MSG_CT_NEW, NLM_F_MULTI), true),
			 NR_CT_DUMP);
	/* Not a conntrack entry: another ctnetlink message, another subsystem. */
	assert_int_equal(nr_conntrack_event(snat_tcp(IPCTNL_MSG_CT_GET_STATS, 0), false), -1);
	{
		struct nlmsghdr *nlh = snat_tcp(IPCTNL_MSG_CT_NEW, 0);

		nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_CT_NEW;
		assert_int_equal(nr_conntrack_event(nlh, false), -1);
	}
}

static void test_snat_tcp(void **state)
{
	struct nlmsghdr *nlh = snat_tcp(IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL);
	struct nr_record r;
	const struct nr_rec_conntrack *c = &r.ct;

	(void)state;
	put_extras(nlh, 0xdeadbeef, NULL, 0, 0);
	assert_int_equal(nr_conntrack_parse(nlh, NR_CT_NEW, 1234, 4026531840ULL, &r), 0);
	assert_int_equal(r.table, NR_T_CONNTRACK);
	assert_int_equal(r.source, NR_SRC_CONNTRACK);
	assert_int_equal(c->ts_ns, 1234);
	assert_string_equal(c->event, "new");
	assert_int_equal(c->netns, 4026531840ULL);
	assert_int_equal(c->ct_id, 0xdeadbeef);
	assert_int_equal(c->proto, 6);
	assert_addr(&c->orig_src, "10.0.0.2");
	assert_addr(&c->orig_dst, "198.51.100.7");
	assert_addr(&c->reply_src, "198.51.100.7");
	assert_addr(&c->reply_dst, "203.0.113.1");
	assert_int_equal(c->orig_sport, 40000);
	assert_int_equal(c->orig_dport, 443);
	assert_int_equal(c->reply_sport, 443);
	assert_int_equal(c->reply_dport, 61000);
	assert_int_equal(c->status, IPS_SRC_NAT | IPS_CONFIRMED | IPS_SRC_NAT_DONE);
	assert_string_equal(c->tcp_state, "SYN_SENT");
	assert_int_equal(c->mark, 7);
	assert_int_equal(c->zone, 3);
	/* Accounting and timestamps absent: no counters, no times. */
	assert_false(c->has_counters);
	assert_int_equal(c->start_ns, 0);
	assert_int_equal(c->stop_ns, 0);
}

static void test_destroy_ipv6_udp_counters(void **state)
{
	static const uint64_t counters[4] = { 3, 300, 2, 5000000000ULL };
	struct nf_conntrack *ct = nfct_new();
	struct nlmsghdr *nlh = msg(IPCTNL_MSG_CT_DELETE, 0, AF_INET6);
	struct nr_record r;
	const struct nr_rec_conntrack *c = &r.ct;

	(void)state;
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET6);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET6);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_UDP);
	set_v6(ct, ATTR_ORIG_IPV6_SRC, "2001:db8::1");
	set_v6(ct, ATTR_ORIG_IPV6_DST, "2001:db8::53");
	set_v6(ct, ATTR_REPL_IPV6_SRC, "2001:db8::53");
	set_v6(ct, ATTR_REPL_IPV6_DST, "2001:db8::1");
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(5353));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(53));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(53));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(5353));
	assert_int_equal(nfct_nlmsg_build(nlh, ct), 0);
	nfct_destroy(ct);
	put_extras(nlh, 42, counters, 1795352400000000001LL, 1795352460000000002LL);

	assert_int_equal(nr_conntrack_event(nlh, false), NR_CT_DESTROY);
	assert_int_equal(nr_conntrack_parse(nlh, NR_CT_DESTROY, 99, 0, &r), 0);
	assert_string_equal(c->event, "destroy");
	assert_int_equal(c->orig_src.family, AF_INET6);
	assert_addr(&c->orig_src, "2001:db8::1");
	assert_addr(&c->orig_dst, "2001:db8::53");
	assert_addr(&c->reply_src, "2001:db8::53");
	assert_addr(&c->reply_dst, "2001:db8::1");
	assert_int_equal(c->proto, 17);
	assert_int_equal(c->orig_sport, 5353);
	assert_int_equal(c->orig_dport, 53);
	assert_int_equal(c->ct_id, 42);
	assert_string_equal(c->tcp_state, "");
	assert_true(c->has_counters);
	assert_int_equal(c->orig_packets, 3);
	assert_int_equal(c->orig_bytes, 300);
	assert_int_equal(c->reply_packets, 2);
	assert_int_equal(c->reply_bytes, 5000000000ULL);
	assert_int_equal(c->start_ns, 1795352400000000001LL);
	assert_int_equal(c->stop_ns, 1795352460000000002LL);
}

/* ICMP: no ports; type, code and the echo ids of both tuples (NAT may rewrite the id). */
static void test_icmp_ids(void **state)
{
	struct nf_conntrack *ct = nfct_new();
	struct nlmsghdr *nlh = msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, AF_INET);
	struct nlattr *tuple, *proto;
	struct nr_record r;
	const struct nr_rec_conntrack *c = &r.ct;

	(void)state;
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_ICMP);
	set_v4(ct, ATTR_ORIG_IPV4_SRC, "10.0.0.2");
	set_v4(ct, ATTR_ORIG_IPV4_DST, "192.0.2.9");
	nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, 8);
	nfct_set_attr_u8(ct, ATTR_ICMP_CODE, 0);
	nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(100));
	assert_int_equal(nfct_nlmsg_build(nlh, ct), 0);
	nfct_destroy(ct);
	/* The reply tuple as the kernel sends it for a masqueraded echo. */
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_REPLY);
	{
		struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		struct in_addr a;

		inet_pton(AF_INET, "192.0.2.9", &a);
		mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, a.s_addr);
		inet_pton(AF_INET, "203.0.113.1", &a);
		mnl_attr_put_u32(nlh, CTA_IP_V4_DST, a.s_addr);
		mnl_attr_nest_end(nlh, ip);
	}
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_ICMP);
	mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(200));
	mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, 0);
	mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, 0);
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tuple);

	assert_int_equal(nr_conntrack_parse(nlh, NR_CT_NEW, 1, 1, &r), 0);
	assert_int_equal(c->proto, 1);
	assert_int_equal(c->icmp_type, 8);
	assert_int_equal(c->icmp_code, 0);
	assert_int_equal(c->icmp_id, 100);
	assert_int_equal(c->reply_icmp_id, 200);
	assert_addr(&c->reply_dst, "203.0.113.1");
	assert_int_equal(c->orig_sport, 0);
	assert_int_equal(c->reply_dport, 0);
}

/* Messages that are not whole entries are refused, not half-read. */
static void test_bad_messages(void **state)
{
	struct nlmsghdr *nlh = msg(IPCTNL_MSG_CT_NEW, 0, AF_INET);
	struct nr_record r;

	(void)state;
	/* No tuple at all. */
	assert_int_equal(nr_conntrack_parse(nlh, NR_CT_UPDATE, 1, 1, &r), -EINVAL);
	/* Shorter than its nfgenmsg header. */
	nlh->nlmsg_len = NLMSG_LENGTH(1);
	assert_int_equal(nr_conntrack_parse(nlh, NR_CT_UPDATE, 1, 1, &r), -EINVAL);
	/* An attribute of the wrong size for its type (libnetfilter_conntrack's own parser
	 * exits the process on this one). */
	nlh = msg(IPCTNL_MSG_CT_NEW, 0, AF_INET);
	{
		struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
		struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

		mnl_attr_put_u16(nlh, CTA_IP_V4_SRC, 0x0a00);
		mnl_attr_nest_end(nlh, ip);
		mnl_attr_nest_end(nlh, tuple);
	}
	assert_int_equal(nr_conntrack_parse(nlh, NR_CT_NEW, 1, 1, &r), -EINVAL);
	/* A counter of 16 bits. */
	nlh = snat_tcp(IPCTNL_MSG_CT_DELETE, 0);
	{
		struct nlattr *c = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);

		mnl_attr_put_u16(nlh, CTA_COUNTERS_PACKETS, 1);
		mnl_attr_nest_end(nlh, c);
	}
	assert_int_equal(nr_conntrack_parse(nlh, NR_CT_DESTROY, 1, 1, &r), -EINVAL);
	/* Attributes netrecd does not know are skipped, not refused. */
	nlh = snat_tcp(IPCTNL_MSG_CT_NEW, 0);
	mnl_attr_put_u32(nlh, 200, 1);
	assert_int_equal(nr_conntrack_parse(nlh, NR_CT_UPDATE, 1, 1, &r), 0);
	/* An unknown event number. */
	nlh = snat_tcp(IPCTNL_MSG_CT_NEW, 0);
	assert_int_equal(nr_conntrack_parse(nlh, (enum nr_ct_event)7, 1, 1, &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_types),
		cmocka_unit_test(test_snat_tcp),
		cmocka_unit_test(test_destroy_ipv6_udp_counters),
		cmocka_unit_test(test_icmp_ids),
		cmocka_unit_test(test_bad_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
