/* SPDX-License-Identifier: MIT */
/*
 * Records: the plain C form of one row of one table, as collectors produce them and the
 * store writes them. Fixed size (no pointers), so they can be copied through the queue.
 * "Unknown" is a sentinel per field (documented below) that the store writes as NULL.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

enum nr_table {
	NR_T_FLOWS,
	NR_T_CONNTRACK,
	NR_T_SOCKETS,
	NR_T_SNAPSHOTS,
	NR_T_LINKS,
	NR_T_ADDRESSES,
	NR_T_ROUTES,
	NR_T_NEIGHBORS,
	NR_T_LISTENERS,
	NR_T_GAPS,
	NR_T_HEALTH,
	NR_T_COUNT,
};

/* Who produced a record: losses are counted per source. */
enum nr_source_id {
	NR_SRC_RECORDER, /* the recorder itself: health, store events */
	NR_SRC_FLOWS,
	NR_SRC_CONNTRACK,
	NR_SRC_SOCKETS,
	NR_SRC_TOPOLOGY,
	NR_SRC_SYNTHETIC,
	NR_SRC_COUNT,
};

/* Table name as in the schema ("flows"), and source name ("conntrack"). */
const char *nr_table_name(enum nr_table t);
const char *nr_source_name(enum nr_source_id s);

#define NR_IFNAMSIZ 16
#define NR_COMMSIZ 16
#define NR_NONE (-1) /* for signed fields: unknown, stored as NULL */

/* Unsigned fields use 0 for "unknown" where 0 is not a meaningful value: netns (an inode),
 * ifindex, ports of protocols that have none. Counters are always known. */

/* What a flows row counts (the `kind` column). */
enum nr_flow_kind {
	NR_FLOW_IP, /* "flow": one IP flow key */
	NR_FLOW_OTHER, /* "other": non-IP frames of one EtherType */
	NR_FLOW_OVERFLOW, /* "overflow": packets the kernel map had no room for */
};

struct nr_rec_flow {
	int64_t ts_start_ns, ts_end_ns;
	uint64_t netns;
	uint32_t ifindex;
	char ifname[NR_IFNAMSIZ];
	bool egress;
	uint8_t proto;
	struct nr_addr src, dst; /* family 0 for non-IP frames */
	uint16_t sport, dport;
	uint64_t packets, bytes;
	uint8_t tcp_flags;
	bool has_mac;
	uint8_t src_mac[6], dst_mac[6];
	uint32_t sampling; /* 1 = every packet */
	uint16_t ethertype;
	int16_t icmp_type, icmp_code; /* NR_NONE unless ICMP */
	uint8_t kind; /* enum nr_flow_kind */
};

struct nr_rec_conntrack {
	int64_t ts_ns;
	char event[8]; /* new, update, destroy, dump */
	uint64_t netns;
	uint32_t ct_id;
	uint8_t proto;
	struct nr_addr orig_src, orig_dst, reply_src, reply_dst;
	uint16_t orig_sport, orig_dport, reply_sport, reply_dport;
	uint32_t status;
	char tcp_state[12]; /* "" unless TCP */
	uint32_t mark;
	uint16_t zone;
	bool has_counters;
	uint64_t orig_packets, orig_bytes, reply_packets, reply_bytes;
	int64_t start_ns, stop_ns; /* 0: unknown */
	/* ICMP (proto 1) and ICMPv6 (58) only; stored as NULL for other protocols. */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id, reply_icmp_id;
};

struct nr_rec_socket {
	int64_t ts_ns;
	char kind[8]; /* sample, close */
	uint64_t netns;
	uint8_t proto;
	char state[12];
	struct nr_addr src, dst;
	uint16_t sport, dport;
	char direction[8]; /* in, out, local; "" unknown */
	uint64_t inode, cookie;
	int64_t uid, pid; /* NR_NONE: unknown */
	char comm[NR_COMMSIZ];
	int64_t bytes_sent, bytes_received, segs_out, segs_in, retrans; /* NR_NONE: unknown */
	int64_t rtt_us, rttvar_us, cwnd; /* NR_NONE: unknown */
};

struct nr_rec_snapshot {
	int64_t id, ts_ns;
	uint64_t netns;
	char netns_name[64];
	uint64_t hash;
	int64_t pid; /* a process in the namespace; NR_NONE: none known */
};

struct nr_rec_link {
	int64_t snapshot_id;
	uint32_t ifindex;
	char name[NR_IFNAMSIZ];
	char kind[16];
	bool has_mac;
	uint8_t mac[6];
	uint32_t mtu;
	char operstate[16];
	uint32_t flags;
	uint32_t master_ifindex, peer_ifindex; /* 0: none */
	uint64_t peer_netns; /* 0: none or unknown */
	uint32_t link_ifindex; /* IFLA_LINK: the lower device; 0: none */
	char info[112]; /* the kind's attributes, a JSON object; "" none */
};

struct nr_rec_address {
	int64_t snapshot_id;
	uint32_t ifindex;
	struct nr_addr addr;
	uint8_t prefixlen;
	uint8_t scope;
	uint32_t flags; /* IFA_F_* */
};

struct nr_rec_route {
	int64_t snapshot_id;
	uint32_t table_id;
	uint8_t family;
	struct nr_addr dst; /* family 0: default route */
	uint8_t dst_len;
	struct nr_addr gateway, prefsrc; /* family 0: none */
	uint32_t oif;
	uint8_t protocol, scope, type;
	uint32_t metric;
	uint16_t nexthop; /* 0: single path; 1..N: a multipath route's next hop */
	uint16_t weight; /* multipath weight (1..256) */
};

struct nr_rec_neighbor {
	int64_t snapshot_id;
	uint32_t ifindex;
	struct nr_addr addr;
	bool has_lladdr;
	uint8_t lladdr[6];
	uint16_t state;
};

struct nr_rec_listener {
	int64_t snapshot_id;
	uint8_t proto;
	struct nr_addr addr;
	uint16_t port;
	uint64_t inode;
	int64_t pid; /* NR_NONE: unknown */
	char comm[NR_COMMSIZ];
};

struct nr_rec_gap {
	int64_t ts_start_ns, ts_end_ns;
	char source[16];
	char reason[80];
	int64_t lost; /* NR_NONE: unknown */
};

struct nr_rec_health {
	int64_t ts_ns;
	char source[16];
	char metric[40];
	double value;
};

/* Record flags. */
enum {
	/* More records of the same group follow (a topology snapshot and its links, addresses,
	 * ...): the writer keeps a group in one partition, so queries find them together. */
	NR_REC_MORE = 1 << 0,
};

struct nr_record {
	uint8_t table; /* enum nr_table */
	uint8_t source; /* enum nr_source_id */
	uint8_t flags; /* NR_REC_* */
	union {
		struct nr_rec_flow flow;
		struct nr_rec_conntrack ct;
		struct nr_rec_socket sock;
		struct nr_rec_snapshot snap;
		struct nr_rec_link link;
		struct nr_rec_address addr;
		struct nr_rec_route route;
		struct nr_rec_neighbor neigh;
		struct nr_rec_listener listener;
		struct nr_rec_gap gap;
		struct nr_rec_health health;
	};
};

/* Builders for the two tables every part of the recorder writes. */
void nr_record_gap(struct nr_record *r, enum nr_source_id src, int64_t start_ns, int64_t end_ns,
		   const char *reason, int64_t lost);
void nr_record_health(struct nr_record *r, enum nr_source_id src, int64_t ts_ns,
		      const char *metric, double value);
