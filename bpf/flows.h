/* SPDX-License-Identifier: MIT */
/*
 * The ABI between bpf/flows.bpf.c and recorder/flows.c: map keys, values and counters.
 * Fixed-width types only; padding is explicit and zeroed, because keys are hashed as bytes.
 */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* One flow on one interface and direction. family 0: the non-IP frames of one EtherType
 * (and packets whose headers could not be read), counted per interface and direction. */
struct nr_flow_key {
	__u64 netns_id; /* which namespace the interface is in: netrecd's number for it */
	__u32 ifindex;
	__u8 egress;
	__u8 family; /* 4, 6, or 0 */
	__u8 proto;
	__u8 icmp_type;
	__u16 ethertype; /* host order */
	__u16 sport, dport; /* host order; 0 without ports */
	__u8 icmp_code;
	__u8 pad[3];
	__u8 src[16], dst[16]; /* IPv4 in the first 4 bytes */
};

/* The same for IPv4, in a map of its own: a 24-byte key hashes and compares in less than half
 * the time of the 64-byte one, and nearly all packets are IPv4 (bench-bpfrun). Family 4,
 * EtherType 0x0800 implied. */
struct nr_flow_key4 {
	__u32 netns_id;
	__u32 ifindex;
	__u8 src[4], dst[4];
	__u16 sport, dport; /* host order; 0 without ports */
	__u8 egress;
	__u8 proto;
	__u8 icmp_type, icmp_code;
};

struct nr_flow_val {
	__u64 packets, bytes; /* bytes: skb->len, what the interface counters count */
	__u64 first, last; /* jiffies (bpf_jiffies64()); user space makes them CLOCK_MONOTONIC */
	__u8 tcp_flags; /* ORed */
	__u8 has_mac;
	__u8 src_mac[6], dst_mac[6];
	__u8 pad[2];
};

/* One slot of the per-CPU IPv4 flow cache: the first flow of the interval that hashed to it
 * on this CPU, and its counts (val.packets 0: empty). A packet of that flow is counted in
 * place, inline; one of another flow goes to the flow map. */
struct nr_flow_slot4 {
	struct nr_flow_key4 key;
	struct nr_flow_val val;
};

/* Packets the flow map had no room for, per interface and direction. Monotonic: user space
 * reads them and never resets them. */
struct nr_flow_ovf_key {
	__u64 netns_id;
	__u32 ifindex;
	__u32 egress;
};

struct nr_flow_counter {
	__u64 packets, bytes;
};

/* What flows_clock writes: one instant in both clocks, for user space to turn jiffies into
 * nanoseconds. */
struct nr_flow_clock {
	__u64 jiffies;
	__u64 coarse_ns; /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC as of the same tick */
	__u64 ns; /* bpf_ktime_get_ns() */
};

/* Monotonic per-CPU counters of what could not be attributed. */
enum {
	NR_FLOWS_STAT_PARSE, /* headers unreadable: counted in the family-0 row of the interface */
	NR_FLOWS_STAT_LOST, /* counted nowhere: the overflow map was full too, or no flow map */
	NR_FLOWS_STAT__COUNT,
};
