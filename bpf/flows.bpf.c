// SPDX-License-Identifier: GPL-2.0
/*
 * netrec flows: counts every packet and byte per flow on TC ingress and egress, in the kernel.
 *
 * The flow maps (IPv4, and everything else) are per-CPU (no lost updates between CPUs, no
 * atomics), in two sets reached through two-slot maps-in-map: user space flips the set the
 * programs count in (flows_set), waits out an RCU grace period (no program can still be
 * counting in the other set), then drains the other set whole. No packet is counted in no
 * row or in two rows. IPv4 packets go through a per-CPU cache first (a direct-mapped array,
 * one per set, drained with the maps): a packet of the flow in its slot costs no call at
 * all, where a hash map lookup is three. When the map is full, the packet is counted in a
 * per-interface overflow counter instead; if even that fails, in a lost counter. Every
 * verdict is "next": the programs only watch, and other TC programs run as before.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flows.h"

#define TC_NEXT -1 /* TCX_NEXT and TC_ACT_UNSPEC: go on with the next program */
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define E2BIG 7
#define EEXIST 17

const volatile __u32 sampling = 1; /* 1 in N packets; set before load */
/* The namespace this copy of the programs is attached in. TC programs cannot tell it
 * themselves (bpf_get_netns_cookie() answers for the packet's socket, if any), so netrecd
 * loads one copy per namespace, sharing the maps. */
const volatile __u64 netns_id = 0;
/* Slots of the IPv4 cache, less one (a power of two less one); set before load. */
const volatile __u32 cache_mask = 4095;

struct flow_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536); /* set before load */
	__uint(key_size, sizeof(struct nr_flow_key));
	__uint(value_size, sizeof(struct nr_flow_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct flow_map);
} flows_outer SEC(".maps");

struct flow_map4 {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536); /* set before load */
	__uint(key_size, sizeof(struct nr_flow_key4));
	__uint(value_size, sizeof(struct nr_flow_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct flow_map4);
} flows_outer4 SEC(".maps");

struct flow_cache4 {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096); /* set before load */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct nr_flow_slot4));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct flow_cache4);
} cache_outer4 SEC(".maps");

/* Which set of maps (0 or 1) the programs count in: each outer map holds both sets, and user
 * space flips this one word, waits out an RCU grace period, and drains the other set. A
 * program reads it once, so a packet's flow map and cache are always of one set. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flows_set SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nr_flow_ovf_key);
	__type(value, struct nr_flow_counter);
} flows_ovf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_FLOWS_STAT__COUNT);
	__type(key, __u32);
	__type(value, struct nr_flow_counter);
} flows_stats SEC(".maps");

static __always_inline void stat_add(__u32 which, __u64 len)
{
	struct nr_flow_counter *c = bpf_map_lookup_elem(&flows_stats, &which);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void overflow(__u32 ifindex, __u8 egress, __u64 len)
{
	struct nr_flow_ovf_key ok = { .netns_id = netns_id, .ifindex = ifindex, .egress = egress };
	struct nr_flow_counter *c = bpf_map_lookup_elem(&flows_ovf, &ok);
	struct nr_flow_counter one = { 1, len };

	if (c) {
		c->packets++;
		c->bytes += len;
		return;
	}
	if (bpf_map_update_elem(&flows_ovf, &ok, &one, BPF_NOEXIST) == 0)
		return;
	c = bpf_map_lookup_elem(&flows_ovf, &ok); /* another CPU made it */
	if (c) {
		c->packets++;
		c->bytes += len;
		return;
	}
	stat_add(NR_FLOWS_STAT_LOST, len);
}

/* Counts the packet under @k in set @set's flow map of @outer (flows_outer4 or flows_outer). */
static __always_inline void account(struct __sk_buff *skb, __u32 set, void *outer,
				    const void *k, __u8 egress, __u8 flags, bool l2)
{
	/* The clock is jiffies: the x86-64 JIT inlines bpf_jiffies64() as one load, where
	 * bpf_ktime_get_coarse_ns() (the same tick, in ns) is a call that cost 2-3% of the
	 * small-packet rate (bench/flows.sh) and bpf_ktime_get_ns() more. First and last seen
	 * within a tick (1/HZ, 4 ms at HZ=250) are plenty for rows of 5-second intervals; user
	 * space turns jiffies into nanoseconds with flows_clock. */
	__u64 len = skb->len, now = bpf_jiffies64();
	struct nr_flow_val *v, nv = {};
	void *map = bpf_map_lookup_elem(outer, &set);

	if (!map) {
		stat_add(NR_FLOWS_STAT_LOST, len);
		return;
	}
	v = bpf_map_lookup_elem(map, k);
	if (!v) {
		nv.packets = 1;
		nv.bytes = len;
		nv.first = nv.last = now;
		nv.tcp_flags = flags;
		if (l2) {
			__u8 eth[12]; /* destination, then source */

			if (bpf_skb_load_bytes_relative(skb, 0, eth, sizeof(eth),
							BPF_HDR_START_MAC) == 0) {
				__builtin_memcpy(nv.dst_mac, eth, 6);
				__builtin_memcpy(nv.src_mac, eth + 6, 6);
				nv.has_mac = 1;
			}
		}
		if (bpf_map_update_elem(map, k, &nv, BPF_NOEXIST) == 0)
			return;
		/* Another CPU inserted the key first: this CPU's slot is empty, fill it. */
		v = bpf_map_lookup_elem(map, k);
		if (!v) {
			overflow(skb->ifindex, egress, len);
			return;
		}
		if (!v->first) {
			*v = nv;
			return;
		}
	}
	v->packets++;
	v->bytes += len;
	v->last = now;
	v->tcp_flags |= flags;
	if (!v->first)
		v->first = now;
}

/* Counts an IPv4 packet in its cache slot, inline: true if it could. A slot holds the first
 * flow that hashed to it in the interval until the cache is drained; packets of other flows
 * that hash there go to the flow map (false). Nothing ever moves between the two: a packet
 * is counted once, in the structures of the set it found, like any other. @eth: the
 * Ethernet header, NULL without one. */
static __always_inline bool cache4(struct __sk_buff *skb, __u32 set,
				   const struct nr_flow_key4 *k, __u8 flags, const __u8 *eth)
{
	const __u64 *w = (const void *)k; /* the 24-byte key as three words */
	__u64 h = w[0] ^ (w[1] * 0x9E3779B97F4A7C15ULL) ^ (w[2] * 0xC2B2AE3D27D4EB4FULL);
	__u32 slot = (__u32)((h * 0x9E3779B97F4A7C15ULL) >> 40) & cache_mask;
	void *cache = bpf_map_lookup_elem(&cache_outer4, &set);
	struct nr_flow_slot4 *sl;
	__u64 now = bpf_jiffies64();

	if (!cache)
		return false;
	sl = bpf_map_lookup_elem(cache, &slot);
	if (!sl)
		return false;
	if (sl->val.packets) {
		const __u64 *sk = (const void *)&sl->key;

		if (sk[0] != w[0] || sk[1] != w[1] || sk[2] != w[2])
			return false; /* another flow's slot */
		sl->val.packets++;
		sl->val.bytes += skb->len;
		sl->val.last = now;
		sl->val.tcp_flags |= flags;
		return true;
	}
	sl->key = *k;
	sl->val.packets = 1;
	sl->val.bytes = skb->len;
	sl->val.first = sl->val.last = now;
	sl->val.tcp_flags = flags;
	sl->val.has_mac = 0;
	if (eth) {
		__builtin_memcpy(sl->val.dst_mac, eth, 6);
		__builtin_memcpy(sl->val.src_mac, eth + 6, 6);
		sl->val.has_mac = 1;
	}
	return true;
}

/* Ports (or ICMP type and code) and TCP flags from the L4 header at @l4, read straight from
 * the packet. False if the header is not all in the linear part. */
static __always_inline bool l4_direct(__u8 *l4, void *end, __u8 proto, __u16 *sport,
				      __u16 *dport, __u8 *icmp_type, __u8 *icmp_code, __u8 *flags)
{
	if (proto == IPPROTO_TCP) {
		if ((void *)(l4 + 14) > end)
			return false;
		*sport = (l4[0] << 8) | l4[1];
		*dport = (l4[2] << 8) | l4[3];
		*flags = l4[13];
	} else if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP) {
		if ((void *)(l4 + 4) > end)
			return false;
		*sport = (l4[0] << 8) | l4[1];
		*dport = (l4[2] << 8) | l4[3];
	} else if (proto == IPPROTO_ICMP || proto == 58 /* ICMPv6 */) {
		if ((void *)(l4 + 2) > end)
			return false;
		*icmp_type = l4[0];
		*icmp_code = l4[1];
	}
	return true;
}

/* The fast path, nearly every packet: IPv4 with its headers in the linear part, counted under
 * the short key with no helper call but the map's. False to take the general path. */
static __always_inline bool count4_direct(struct __sk_buff *skb, __u32 set, __u8 egress,
					  bool l2)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + (l2 ? 14 : 0);
	struct nr_flow_key4 k4 __attribute__((aligned(8))); /* read as three words */
	__u8 flags = 0;
	__u32 ihl;

	if ((void *)(ip + 1) > end)
		return false;
	__builtin_memset(&k4, 0, sizeof(k4));
	k4.netns_id = (__u32)netns_id;
	k4.ifindex = skb->ifindex;
	k4.egress = egress;
	k4.proto = ip->protocol;
	__builtin_memcpy(k4.src, &ip->saddr, 4);
	__builtin_memcpy(k4.dst, &ip->daddr, 4);
	/* Later fragments carry no L4 header: counted under the addresses alone. */
	if (!(ip->frag_off & bpf_htons(0x1fff))) {
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return false;
		if (!l4_direct((__u8 *)ip + ihl, end, k4.proto, &k4.sport, &k4.dport,
			       &k4.icmp_type, &k4.icmp_code, &flags))
			return false;
	}
	if (!cache4(skb, set, &k4, flags, l2 ? data : NULL))
		account(skb, set, &flows_outer4, &k4, egress, flags, l2);
	return true;
}

/* IPv6 straight from the packet. Returns false to take the slow path
 * (bpf_skb_load_bytes_relative). */
static __always_inline bool parse6_direct(struct __sk_buff *skb, struct nr_flow_key *k,
					  __u8 *flags, __u32 nh_off)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + nh_off;

	if ((void *)(ip6 + 1) > end)
		return false;
	k->family = 6;
	k->proto = ip6->nexthdr; /* extension headers are not followed */
	__builtin_memcpy(k->src, &ip6->saddr, 16);
	__builtin_memcpy(k->dst, &ip6->daddr, 16);
	return l4_direct((__u8 *)(ip6 + 1), end, k->proto, &k->sport, &k->dport, &k->icmp_type,
			 &k->icmp_code, flags);
}

static __always_inline int count(struct __sk_buff *skb, __u8 egress, bool l2)
{
	struct nr_flow_key k;
	__u16 ethertype = bpf_ntohs(skb->protocol);
	__u8 flags = 0;
	__u32 l4 = 0, zero = 0, set, *cur;

	if (sampling > 1 && bpf_get_prandom_u32() % sampling)
		return TC_NEXT;
	cur = bpf_map_lookup_elem(&flows_set, &zero);
	set = cur ? *cur & 1 : 0;
	if (ethertype == ETH_P_IP && count4_direct(skb, set, egress, l2))
		return TC_NEXT;
	__builtin_memset(&k, 0, sizeof(k));
	k.netns_id = netns_id;
	k.ifindex = skb->ifindex;
	k.egress = egress;
	k.ethertype = ethertype;
	if (ethertype == ETH_P_IPV6 && parse6_direct(skb, &k, &flags, l2 ? 14 : 0))
		goto done;
	if (ethertype == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
			goto unparsed;
		k.family = 4;
		k.proto = ip.protocol;
		__builtin_memcpy(k.src, &ip.saddr, 4);
		__builtin_memcpy(k.dst, &ip.daddr, 4);
		/* Later fragments carry no L4 header: counted under the addresses alone. */
		if (ip.frag_off & bpf_htons(0x1fff))
			goto done;
		l4 = ip.ihl * 4;
	} else if (ethertype == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes_relative(skb, 0, &ip6, sizeof(ip6), BPF_HDR_START_NET))
			goto unparsed;
		k.family = 6;
		k.proto = ip6.nexthdr; /* extension headers are not followed */
		__builtin_memcpy(k.src, &ip6.saddr, 16);
		__builtin_memcpy(k.dst, &ip6.daddr, 16);
		l4 = sizeof(ip6);
	} else {
		goto done; /* non-IP: family 0, by EtherType */
	}
	if (k.proto == IPPROTO_TCP) {
		__u8 h[14];

		if (bpf_skb_load_bytes_relative(skb, l4, h, sizeof(h), BPF_HDR_START_NET) == 0) {
			k.sport = (h[0] << 8) | h[1];
			k.dport = (h[2] << 8) | h[3];
			flags = h[13];
		}
	} else if (k.proto == IPPROTO_UDP || k.proto == IPPROTO_UDPLITE || k.proto == IPPROTO_SCTP) {
		__u8 h[4];

		if (bpf_skb_load_bytes_relative(skb, l4, h, sizeof(h), BPF_HDR_START_NET) == 0) {
			k.sport = (h[0] << 8) | h[1];
			k.dport = (h[2] << 8) | h[3];
		}
	} else if (k.proto == IPPROTO_ICMP || k.proto == 58 /* ICMPv6 */) {
		__u8 h[2];

		if (bpf_skb_load_bytes_relative(skb, l4, h, sizeof(h), BPF_HDR_START_NET) == 0) {
			k.icmp_type = h[0];
			k.icmp_code = h[1];
		}
	}
done:
	if (k.family == 4) {
		struct nr_flow_key4 k4 = {
			.netns_id = (__u32)netns_id, .ifindex = k.ifindex,
			.sport = k.sport, .dport = k.dport, .egress = egress, .proto = k.proto,
			.icmp_type = k.icmp_type, .icmp_code = k.icmp_code,
		};

		__builtin_memcpy(k4.src, k.src, 4);
		__builtin_memcpy(k4.dst, k.dst, 4);
		account(skb, set, &flows_outer4, &k4, egress, flags, l2);
	} else {
		account(skb, set, &flows_outer, &k, egress, flags, l2);
	}
	return TC_NEXT;
unparsed:
	/* Counted all the same, in the interface's row for its EtherType. */
	__builtin_memset(k.src, 0, sizeof(k.src));
	__builtin_memset(k.dst, 0, sizeof(k.dst));
	k.family = 0;
	k.proto = 0;
	stat_add(NR_FLOWS_STAT_PARSE, skb->len);
	account(skb, set, &flows_outer, &k, egress, 0, l2);
	return TC_NEXT;
}

/* Interfaces with an Ethernet header (Ethernet, veth, bridge, loopback, ...). */
SEC("tc")
int flows_in(struct __sk_buff *skb)
{
	return count(skb, 0, true);
}

SEC("tc")
int flows_out(struct __sk_buff *skb)
{
	return count(skb, 1, true);
}

/* Interfaces without one (tun, ...): no MAC addresses to read. */
SEC("tc")
int flows_in_l3(struct __sk_buff *skb)
{
	return count(skb, 0, false);
}

SEC("tc")
int flows_out_l3(struct __sk_buff *skb)
{
	return count(skb, 1, false);
}

/* One instant in jiffies and in nanoseconds, for user space (BPF_PROG_RUN on any frame; a TC
 * program, since syscall programs may not read the coarse clock). Read again when a tick came
 * in between. */
struct nr_flow_clock clock_now;

SEC("tc")
int flows_clock(struct __sk_buff *skb)
{
	for (int i = 0; i < 8; i++) {
		__u64 j = bpf_jiffies64();

		clock_now.coarse_ns = bpf_ktime_get_coarse_ns();
		clock_now.ns = bpf_ktime_get_ns();
		clock_now.jiffies = bpf_jiffies64();
		if (clock_now.jiffies == j)
			return 0;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
