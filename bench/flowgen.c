// SPDX-License-Identifier: MIT
/*
 * Flows-like records for the benchmarks (see flowgen.h).
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "flowgen.h"
#include "nrtime.h"

#define INTERNAL_V4 4000
#define EXTERNAL_V4 60000
#define INTERNAL_V6 1000
#define EXTERNAL_V6 10000

static uint64_t rnd(struct flowgen *g)
{
	/* xorshift64*, as the synthetic source. */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 2685821657736338717ULL;
}

static uint32_t rnd_below(struct flowgen *g, uint32_t n)
{
	return (uint32_t)(rnd(g) % n);
}

/* A host index in [0, n) where low indexes are much more likely (density ~ i^-2/3). */
static uint32_t rnd_skewed(struct flowgen *g, uint32_t n)
{
	double u = (double)(rnd(g) >> 11) / (double)(1ULL << 53);
	uint32_t i = (uint32_t)(u * u * u * n);

	return i < n ? i : n - 1;
}

void flowgen_init(struct flowgen *g, uint64_t seed)
{
	g->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static void internal_v4(unsigned i, struct nr_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->bytes[0] = 10;
	a->bytes[1] = 1;
	a->bytes[2] = (uint8_t)(i / 250);
	a->bytes[3] = (uint8_t)(1 + i % 250);
}

static void external_v4(unsigned i, struct nr_addr *a)
{
	uint32_t x = (uint32_t)i * 2654435761u;

	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->bytes[0] = (uint8_t)(20 + x % 180);
	a->bytes[1] = (uint8_t)(x >> 8);
	a->bytes[2] = (uint8_t)(x >> 16);
	a->bytes[3] = (uint8_t)(1 + i % 254);
}

static void v6(unsigned i, bool internal, struct nr_addr *a)
{
	static const uint8_t pfx[] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint32_t x = (uint32_t)i * 2654435761u;

	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	memcpy(a->bytes, pfx, sizeof(pfx));
	if (internal) {
		a->bytes[5] = 1;
		a->bytes[14] = (uint8_t)(i >> 8);
		a->bytes[15] = (uint8_t)i;
	} else {
		a->bytes[4] = 0xff;
		a->bytes[5] = (uint8_t)x;
		a->bytes[6] = (uint8_t)(x >> 8);
		a->bytes[15] = (uint8_t)(1 + i % 254);
	}
}

void flowgen_internal_host(unsigned i, char *buf, size_t len)
{
	struct nr_addr a;

	internal_v4(i, &a);
	nr_addr_format(&a, buf, len);
}

static uint16_t server_port(struct flowgen *g)
{
	static const uint16_t well_known[] = { 443, 443, 443, 80, 53, 22, 5432, 6379, 8080, 9090 };

	return well_known[rnd_below(g, sizeof(well_known) / sizeof(well_known[0]))];
}

void flowgen_flow(struct flowgen *g, int64_t ts_end_ns, struct nr_record *r)
{
	struct nr_rec_flow *f = &r->flow;
	bool is_v6 = rnd_below(g, 10) == 0;
	struct nr_addr in, out;
	uint32_t k;

	memset(r, 0, sizeof(*r));
	r->table = NR_T_FLOWS;
	r->source = NR_SRC_FLOWS;
	/* Most flows are short; a few last up to a minute. */
	k = rnd_below(g, 100);
	f->ts_end_ns = ts_end_ns;
	f->ts_start_ns = ts_end_ns - (int64_t)(k < 80 ? rnd_below(g, 2000) : rnd_below(g, 60000)) *
					     NR_NS_PER_MS;
	f->netns = 4026531840ULL + (rnd_below(g, 8) == 0 ? 1 + rnd_below(g, 3) : 0);
	f->ifindex = 1 + rnd_below(g, 4);
	snprintf(f->ifname, sizeof(f->ifname), "eth%u", f->ifindex - 1);
	f->egress = rnd_below(g, 2);
	k = rnd_below(g, 100);
	f->proto = k < 75 ? 6 : k < 97 ? 17 : (is_v6 ? 58 : 1);
	if (is_v6) {
		v6(rnd_skewed(g, INTERNAL_V6), true, &in);
		v6(rnd_skewed(g, EXTERNAL_V6), false, &out);
	} else {
		internal_v4(rnd_skewed(g, INTERNAL_V4), &in);
		external_v4(rnd_skewed(g, EXTERNAL_V4), &out);
	}
	/* Egress: an internal host talks out; ingress: the reply or an inbound client. */
	f->src = f->egress ? in : out;
	f->dst = f->egress ? out : in;
	if (f->proto == 6 || f->proto == 17) {
		uint16_t client = (uint16_t)(32768 + rnd_below(g, 28232));
		uint16_t server = server_port(g);

		f->sport = f->egress ? client : server;
		f->dport = f->egress ? server : client;
		f->icmp_type = f->icmp_code = NR_NONE;
	} else {
		f->icmp_type = is_v6 ? 128 : 8;
		f->icmp_code = 0;
	}
	/* Heavy tail: most flows are a few packets, a few are bulk transfers. */
	k = rnd_below(g, 100);
	f->packets = 1 + (k < 70 ? rnd_below(g, 10) : k < 97 ? rnd_below(g, 500) : rnd_below(g, 100000));
	f->bytes = f->packets * (64 + rnd_below(g, 1437));
	f->tcp_flags = f->proto == 6 ? (uint8_t)(0x10 | rnd_below(g, 0x20)) : 0;
	f->has_mac = true;
	for (int i = 0; i < 6; i++) {
		f->src_mac[i] = (uint8_t)rnd(g);
		f->dst_mac[i] = (uint8_t)rnd(g);
	}
	f->src_mac[0] &= 0xfe;
	f->dst_mac[0] &= 0xfe;
	f->sampling = 1;
	f->ethertype = is_v6 ? 0x86dd : 0x0800;
}
