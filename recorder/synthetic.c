// SPDX-License-Identifier: MIT
/*
 * The synthetic source: realistic rows for every table at a fixed rate, for tests and
 * benchmarks only (never on by default). Partitions it writes are marked synthetic in meta.
 * It counts what it handed to the queue per table, so a test can compare the store's row
 * counts with exactly what was produced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "nrtime.h"
#include "sources.h"

#define TICK_NS (10 * NR_NS_PER_MS)
#define SNAPSHOT_EVERY 500 /* records between two topology snapshots */
#define GAP_EVERY 20011 /* records between two synthetic gaps */

struct synth {
	uint64_t rng;
	uint64_t rate;
	int64_t start_mono;
	uint64_t made; /* records attempted */
	uint64_t produced[NR_T_COUNT]; /* accepted by the queue */
	uint64_t dropped;
	int64_t last_snapshot_id;
	int timer_fd;
};

static uint64_t rnd(struct synth *s)
{
	/* xorshift64*: fast and good enough for test data. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ULL;
}

static uint32_t rnd_below(struct synth *s, uint32_t n)
{
	return (uint32_t)(rnd(s) % n);
}

static void rnd_addr(struct synth *s, struct nr_addr *a, bool v6)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		static const uint8_t pfx[] = { 0x20, 0x01, 0x0d, 0xb8 };

		a->family = AF_INET6;
		memcpy(a->bytes, pfx, sizeof(pfx));
		a->bytes[14] = (uint8_t)rnd_below(s, 4);
		a->bytes[15] = (uint8_t)(1 + rnd_below(s, 250));
	} else {
		/* A few hundred hosts, some much busier than others. */
		a->family = AF_INET;
		a->bytes[0] = 10;
		a->bytes[1] = (uint8_t)rnd_below(s, 3);
		a->bytes[2] = (uint8_t)rnd_below(s, 4);
		a->bytes[3] = (uint8_t)(1 + (rnd_below(s, 250) * rnd_below(s, 250)) / 250);
	}
}

static uint16_t rnd_port(struct synth *s, bool server)
{
	static const uint16_t well_known[] = { 22, 53, 80, 443, 5432, 6379, 8080, 9090 };

	if (server)
		return well_known[rnd_below(s, sizeof(well_known) / sizeof(well_known[0]))];
	return (uint16_t)(32768 + rnd_below(s, 28232));
}

static void make_flow(struct synth *s, int64_t now, struct nr_record *r)
{
	struct nr_rec_flow *f = &r->flow;
	bool v6 = rnd_below(s, 10) == 0;

	r->table = NR_T_FLOWS;
	f->ts_start_ns = now - (int64_t)rnd_below(s, 5000) * NR_NS_PER_MS;
	f->ts_end_ns = now;
	f->netns = 4026531840ULL + rnd_below(s, 3);
	f->ifindex = 1 + rnd_below(s, 4);
	snprintf(f->ifname, sizeof(f->ifname), "eth%u", f->ifindex - 1);
	f->egress = rnd_below(s, 2);
	f->proto = rnd_below(s, 10) < 7 ? 6 : rnd_below(s, 3) ? 17 : (v6 ? 58 : 1);
	rnd_addr(s, &f->src, v6);
	rnd_addr(s, &f->dst, v6);
	if (f->proto == 6 || f->proto == 17) {
		f->sport = rnd_port(s, false);
		f->dport = rnd_port(s, true);
		f->icmp_type = f->icmp_code = NR_NONE;
	} else {
		f->icmp_type = v6 ? 128 : 8;
		f->icmp_code = 0;
	}
	f->packets = 1 + rnd_below(s, 1000);
	f->bytes = f->packets * (64 + rnd_below(s, 1400));
	f->tcp_flags = f->proto == 6 ? (uint8_t)(0x10 | rnd_below(s, 0x20)) : 0;
	f->has_mac = true;
	for (int i = 0; i < 6; i++) {
		f->src_mac[i] = (uint8_t)rnd(s);
		f->dst_mac[i] = (uint8_t)rnd(s);
	}
	f->src_mac[0] &= 0xfe;
	f->dst_mac[0] &= 0xfe;
	f->sampling = 1;
	f->ethertype = v6 ? 0x86dd : 0x0800;
}

static void make_ct(struct synth *s, int64_t now, struct nr_record *r)
{
	static const char *const events[] = { "new", "update", "destroy" };
	struct nr_rec_conntrack *c = &r->ct;
	bool nat = rnd_below(s, 3) == 0;

	r->table = NR_T_CONNTRACK;
	c->ts_ns = now;
	snprintf(c->event, sizeof(c->event), "%s", events[rnd_below(s, 3)]);
	c->netns = 4026531840ULL;
	c->ct_id = (uint32_t)rnd(s);
	c->proto = rnd_below(s, 4) ? 6 : 17;
	rnd_addr(s, &c->orig_src, false);
	rnd_addr(s, &c->orig_dst, false);
	c->orig_sport = rnd_port(s, false);
	c->orig_dport = rnd_port(s, true);
	c->reply_src = c->orig_dst;
	c->reply_sport = c->orig_dport;
	c->reply_dport = nat ? rnd_port(s, false) : c->orig_sport;
	if (nat) {
		nr_addr_parse("192.0.2.1", &c->reply_dst);
	} else {
		c->reply_dst = c->orig_src;
	}
	c->status = 0x18e;
	if (c->proto == 6)
		snprintf(c->tcp_state, sizeof(c->tcp_state), "ESTABLISHED");
	c->has_counters = true;
	c->orig_packets = rnd_below(s, 100);
	c->orig_bytes = c->orig_packets * 100;
	c->reply_packets = rnd_below(s, 100);
	c->reply_bytes = c->reply_packets * 1000;
	c->start_ns = now - (int64_t)rnd_below(s, 60) * NR_NS_PER_SEC;
	if (strcmp(c->event, "destroy") == 0)
		c->stop_ns = now;
}

static void make_sock(struct synth *s, int64_t now, struct nr_record *r)
{
	static const char *const comms[] = { "curl", "nginx", "postgres", "sshd", "redis-server" };
	struct nr_rec_socket *k = &r->sock;
	bool close = rnd_below(s, 4) == 0;

	r->table = NR_T_SOCKETS;
	k->ts_ns = now;
	snprintf(k->kind, sizeof(k->kind), "%s", close ? "close" : "sample");
	k->netns = 4026531840ULL;
	k->proto = 6;
	snprintf(k->state, sizeof(k->state), "%s", close ? "CLOSE" : "ESTABLISHED");
	rnd_addr(s, &k->src, false);
	rnd_addr(s, &k->dst, false);
	k->sport = rnd_port(s, false);
	k->dport = rnd_port(s, true);
	snprintf(k->direction, sizeof(k->direction), "%s", rnd_below(s, 2) ? "out" : "in");
	k->inode = close ? 0 : 100000 + rnd_below(s, 100000);
	k->cookie = rnd(s) >> 1;
	k->uid = rnd_below(s, 2) ? 0 : 1000;
	k->pid = 100 + rnd_below(s, 30000);
	snprintf(k->comm, sizeof(k->comm), "%s", comms[rnd_below(s, 5)]);
	k->bytes_sent = rnd_below(s, 1 << 20);
	k->bytes_received = rnd_below(s, 1 << 20);
	k->segs_out = k->bytes_sent / 1400 + 1;
	k->segs_in = k->bytes_received / 1400 + 1;
	k->retrans = rnd_below(s, 20) == 0 ? rnd_below(s, 5) : 0;
	k->rtt_us = 50 + rnd_below(s, 50000);
	k->rttvar_us = k->rtt_us / 4;
	k->cwnd = 10 + rnd_below(s, 100);
}

static int emit(struct nr_daemon *d, struct synth *s, struct nr_record *r)
{
	r->source = NR_SRC_SYNTHETIC;
	if (r->table >= NR_T_SNAPSHOTS && r->table <= NR_T_LISTENERS &&
	    !(r->table == NR_T_LISTENERS && r->listener.port == 53))
		r->flags |= NR_REC_MORE; /* the snapshot's group ends with its last listener */
	s->made++;
	if (nr_daemon_emit(d, r) < 0) {
		s->dropped++;
		return -ENOSPC;
	}
	s->produced[r->table]++;
	return 0;
}

/* One snapshot of a small namespace: 1 + 4 links + 4 addresses + 3 routes + 2 neighbours +
 * 2 listeners. */
static void make_snapshot(struct nr_daemon *d, struct synth *s, int64_t now)
{
	struct nr_record r;
	int64_t id = now > s->last_snapshot_id ? now : s->last_snapshot_id + 1;

	s->last_snapshot_id = id;
	memset(&r, 0, sizeof(r));
	r.table = NR_T_SNAPSHOTS;
	r.snap.id = id;
	r.snap.ts_ns = now;
	r.snap.netns = 4026531840ULL;
	snprintf(r.snap.netns_name, sizeof(r.snap.netns_name), "synthetic");
	r.snap.hash = rnd(s);
	r.snap.pid = 1;
	emit(d, s, &r);
	for (uint32_t i = 1; i <= 4; i++) {
		memset(&r, 0, sizeof(r));
		r.table = NR_T_LINKS;
		r.link.snapshot_id = id;
		r.link.ifindex = i;
		snprintf(r.link.name, sizeof(r.link.name), i == 1 ? "lo" : "eth%u", i - 2);
		snprintf(r.link.kind, sizeof(r.link.kind), i == 1 ? "loopback" : i == 4 ? "veth" : "ether");
		r.link.has_mac = i != 1;
		r.link.mac[0] = 0x02;
		r.link.mac[5] = (uint8_t)i;
		r.link.mtu = i == 1 ? 65536 : 1500;
		snprintf(r.link.operstate, sizeof(r.link.operstate), "up");
		r.link.flags = 0x1043;
		if (i == 4) {
			r.link.peer_ifindex = 7;
			r.link.peer_netns = 4026532000ULL;
		}
		if (i == 3) { /* a tunnel: its endpoints are addresses an anonymized export drops */
			snprintf(r.link.kind, sizeof(r.link.kind), "vxlan");
			r.link.link_ifindex = 2;
			snprintf(r.link.info, sizeof(r.link.info),
				 "{\"id\":42,\"remote\":\"192.0.2.9\",\"local\":\"192.0.2.1\","
				 "\"port\":4789}");
		}
		emit(d, s, &r);
	}
	for (uint32_t i = 1; i <= 4; i++) {
		memset(&r, 0, sizeof(r));
		r.table = NR_T_ADDRESSES;
		r.addr.snapshot_id = id;
		r.addr.ifindex = i;
		rnd_addr(s, &r.addr.addr, i == 4);
		r.addr.prefixlen = i == 4 ? 64 : 24;
		emit(d, s, &r);
	}
	for (uint32_t i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		r.table = NR_T_ROUTES;
		r.route.snapshot_id = id;
		r.route.table_id = i == 2 ? 255 : 254;
		r.route.family = AF_INET;
		if (i)
			rnd_addr(s, &r.route.dst, false);
		r.route.dst_len = i ? 24 : 0;
		if (!i)
			nr_addr_parse("10.0.0.1", &r.route.gateway);
		r.route.oif = 2;
		r.route.protocol = i ? 2 : 4;
		r.route.type = 1;
		emit(d, s, &r);
	}
	for (uint32_t i = 0; i < 2; i++) {
		memset(&r, 0, sizeof(r));
		r.table = NR_T_NEIGHBORS;
		r.neigh.snapshot_id = id;
		r.neigh.ifindex = 2;
		rnd_addr(s, &r.neigh.addr, false);
		r.neigh.has_lladdr = true;
		r.neigh.lladdr[0] = 0x02;
		r.neigh.lladdr[5] = (uint8_t)(0x10 + i);
		r.neigh.state = 2;
		emit(d, s, &r);
	}
	for (uint32_t i = 0; i < 2; i++) {
		memset(&r, 0, sizeof(r));
		r.table = NR_T_LISTENERS;
		r.listener.snapshot_id = id;
		r.listener.proto = i ? 17 : 6;
		r.listener.addr.family = AF_INET;
		r.listener.port = i ? 53 : 22;
		r.listener.inode = 5000 + i;
		r.listener.pid = 1 + i;
		snprintf(r.listener.comm, sizeof(r.listener.comm), i ? "dnsmasq" : "sshd");
		emit(d, s, &r);
	}
}

static void make_some(struct nr_daemon *d, struct synth *s, uint64_t n)
{
	int64_t now = nr_now_ns();

	for (uint64_t i = 0; i < n; i++) {
		struct nr_record r;
		uint32_t k = (uint32_t)(s->made % 20);

		if (s->made % GAP_EVERY == GAP_EVERY - 1) {
			nr_record_gap(&r, NR_SRC_SYNTHETIC, now - NR_NS_PER_SEC, now, "synthetic", 0);
			emit(d, s, &r);
			continue;
		}
		if (s->made % SNAPSHOT_EVERY == SNAPSHOT_EVERY - 1) {
			make_snapshot(d, s, now);
			i += 15;
			continue;
		}
		memset(&r, 0, sizeof(r));
		if (k < 12)
			make_flow(s, now, &r);
		else if (k < 16)
			make_ct(s, now, &r);
		else
			make_sock(s, now, &r);
		emit(d, s, &r);
	}
}

static void on_tick(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct synth *s = data;
	uint64_t exp, due;
	int64_t elapsed;

	if (read(fd, &exp, sizeof(exp)) < 0)
		return;
	elapsed = nr_mono_ns() - s->start_mono;
	due = (uint64_t)((__int128)elapsed * s->rate / NR_NS_PER_SEC);
	if (due > s->made)
		make_some(d, s, due - s->made);
}

static int synth_start(struct nr_daemon *d, void **ret_state, char *why, size_t whylen)
{
	const struct nr_config *c = nr_daemon_config(d);
	struct synth *s;
	int fd;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	s->rng = c->synthetic_seed ? c->synthetic_seed : 0x9e3779b97f4a7c15ULL;
	s->rate = c->synthetic_rate;
	s->start_mono = nr_mono_ns();
	fd = nr_daemon_timer(d, TICK_NS, on_tick, s);
	if (fd < 0) {
		snprintf(why, whylen, "timer: %s", strerror(-fd));
		free(s);
		return fd;
	}
	s->timer_fd = fd;
	*ret_state = s;
	return 0;
}

static void synth_stop(struct nr_daemon *d, void *state)
{
	struct synth *s = state;
	uint64_t total = 0;

	if (!s)
		return;
	nr_daemon_unwatch(d, s->timer_fd);
	close(s->timer_fd);
	for (int t = 0; t < NR_T_COUNT; t++)
		total += s->produced[t];
	/* The exact counts, for tests that compare them with the store. */
	log_info("synthetic: produced %llu rows: flows=%llu conntrack=%llu sockets=%llu "
		 "snapshots=%llu links=%llu addresses=%llu routes=%llu neighbors=%llu "
		 "listeners=%llu gaps=%llu; dropped=%llu",
		 (unsigned long long)total, (unsigned long long)s->produced[NR_T_FLOWS],
		 (unsigned long long)s->produced[NR_T_CONNTRACK],
		 (unsigned long long)s->produced[NR_T_SOCKETS],
		 (unsigned long long)s->produced[NR_T_SNAPSHOTS],
		 (unsigned long long)s->produced[NR_T_LINKS],
		 (unsigned long long)s->produced[NR_T_ADDRESSES],
		 (unsigned long long)s->produced[NR_T_ROUTES],
		 (unsigned long long)s->produced[NR_T_NEIGHBORS],
		 (unsigned long long)s->produced[NR_T_LISTENERS],
		 (unsigned long long)s->produced[NR_T_GAPS], (unsigned long long)s->dropped);
	free(s);
}

const struct nr_source_desc nr_source_synthetic = {
	"synthetic", 0, NR_SRC_SYNTHETIC, synth_start, synth_stop,
};
