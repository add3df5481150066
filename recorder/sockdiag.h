/* SPDX-License-Identifier: MIT */
/*
 * sock_diag (inet_diag) messages: requests for a namespace's TCP and UDP sockets, and the
 * parsing of one socket's message (a dump reply or a destroy notification) with libmnl.
 * No I/O, so that tests and the fuzzer can feed it messages. The socket source is in
 * sources.h (nr_sockets_start and friends).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "addr.h"

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum {
	NR_TCP_ESTABLISHED = 1,
	NR_TCP_SYN_SENT,
	NR_TCP_SYN_RECV,
	NR_TCP_FIN_WAIT1,
	NR_TCP_FIN_WAIT2,
	NR_TCP_TIME_WAIT,
	NR_TCP_CLOSE,
	NR_TCP_CLOSE_WAIT,
	NR_TCP_LAST_ACK,
	NR_TCP_LISTEN,
	NR_TCP_CLOSING,
	NR_TCP_NEW_SYN_RECV,
};

/* One socket as sock_diag describes it. Counters are -1 when the message had no tcp_info
 * (UDP) or a tcp_info too short to hold them (an older kernel). bytes_sent is payload sent
 * at least once (tcpi_bytes_sent - tcpi_bytes_retrans); bytes_received is
 * tcpi_bytes_received, which counts the peer's FIN as one byte. */
struct nr_diag_sock {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t state; /* NR_TCP_*; UDP uses ESTABLISHED (connected) and CLOSE */
	struct nr_addr src, dst;
	uint16_t sport, dport; /* host order */
	uint64_t inode, cookie;
	uint32_t uid;
	bool has_info; /* the message carried tcp_info */
	int64_t bytes_sent, bytes_received, segs_out, segs_in, retrans;
	int64_t rtt_us, rttvar_us, cwnd;
};

/* The state's name ("ESTABLISHED", "SYN_SENT", ...); "UNKNOWN" out of range. For UDP the
 * kernel's ESTABLISHED means connected and CLOSE unconnected. */
const char *nr_tcp_state_name(unsigned state);

/* Builds a SOCK_DIAG_BY_FAMILY dump request for @family (AF_INET, AF_INET6) and @proto in
 * @buf (at least NR_DIAG_REQ_SIZE bytes): TCP in every state but the short-lived ones
 * (SYN_RECV, TIME_WAIT, NEW_SYN_RECV, which have no tcp_info), with tcp_info; UDP in every
 * state. Returns the message length. */
#define NR_DIAG_REQ_SIZE 128
size_t nr_diag_request(void *buf, uint8_t family, uint8_t proto, uint32_t seq);

/* Parses one inet_diag message (SOCK_DIAG_BY_FAMILY) into @d; @proto is used when the message
 * does not carry INET_DIAG_PROTOCOL (dump replies of a one-protocol request). Returns 0, or
 * -EINVAL for a message that is not a well-formed inet_diag message. */
int nr_diag_parse(const struct nlmsghdr *nlh, uint8_t proto, struct nr_diag_sock *d);
