// SPDX-License-Identifier: MIT
/*
 * bench-bpfrun: what one run of a TC program costs, without the noise of real traffic.
 *
 *   bench-bpfrun [--repeat N] [--flows N] [--map-size N] OBJ.bpf.o PROG...
 *   bench-bpfrun --enable-stats
 *   bench-bpfrun --attach-null IFNAME...
 *
 * Loads OBJ (for each map-in-map, such as the flow source's, it creates and installs an inner
 * map, as netrecd does), then for each PROG and for a null program (one instruction: "next") runs
 * BPF_PROG_TEST_RUN on a 60-byte Ethernet/IPv4/UDP frame, --repeat times per flow over
 * --flows source ports, and prints the kernel's average ns per run. The null program is the
 * baseline measured in the same run: what the hook's indirect call and the test harness
 * cost; "added" is the program's own work. Runs alternate null and program, 5 rounds.
 *
 * --enable-stats turns on the kernel's run-time statistics of every BPF program
 * (BPF_ENABLE_STATS, BPF_STATS_RUN_TIME: run_time_ns and run_cnt in bpftool prog show) for as
 * long as it runs, prints "stats on" and waits for a signal. It is the way to see what the
 * programs cost on real traffic; the statistics cost two clock reads per run themselves, and
 * go off again when this process ends (the kernel counts holders; no sysctl is written).
 *
 * --attach-null attaches the null program with tcx to ingress and egress of each IFNAME (in
 * the current namespace), prints "attached" and waits for a signal; the links go with the
 * process. It measures what the hook itself costs real traffic, next to the flow programs.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "benchutil.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: bench-bpfrun [--repeat N] [--flows N] [--map-size N] OBJ PROG...\n"
		   "       bench-bpfrun --enable-stats\n"
		   "       bench-bpfrun --attach-null IFNAME...\n");
}

/* Ethernet, IPv4 (20 bytes), UDP (8), 18 bytes of payload: a 64-byte frame less its FCS. */
static void frame(uint8_t *p, uint16_t sport)
{
	static const uint8_t hdr[] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
		0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 251, 0, 1, 10, 251, 0, 2,
	};

	memset(p, 0, 60);
	memcpy(p, hdr, sizeof(hdr));
	p[34] = (uint8_t)(sport >> 8);
	p[35] = (uint8_t)sport;
	p[36] = 0x13;
	p[37] = 0x88; /* port 5000 */
	p[39] = 26; /* UDP length */
}

static int null_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "nr_null", "GPL", insns, 2, NULL);
}

/* Average ns per run of @fd over @flows frames, @repeat runs each. */
static double run(int fd, unsigned flows, unsigned repeat)
{
	uint8_t pkt[60], out[128];
	double sum = 0;

	for (unsigned i = 0; i < flows; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
			    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

		frame(pkt, (uint16_t)(20000 + i));
		if (bpf_prog_test_run_opts(fd, &o) < 0)
			bench_die("BPF_PROG_TEST_RUN");
		sum += o.duration;
	}
	return sum / flows;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "flows", required_argument, NULL, 'f' },
		{ "map-size", required_argument, NULL, 'm' },
		{ "enable-stats", no_argument, NULL, 's' },
		{ "attach-null", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	uint64_t repeat = 200000, flows = 64, map_size = 65536;
	bool attach_null = false;
	struct bpf_object *obj;
	struct bpf_map *m;
	int c, nullfd;

	bench_name = "bench-bpfrun";
	bench_usage = usage;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!bench_parse_u64(optarg, 1, 100000000, &repeat))
				bench_bad_arg("--repeat", optarg);
			break;
		case 'f':
			if (!bench_parse_u64(optarg, 1, 45000, &flows))
				bench_bad_arg("--flows", optarg);
			break;
		case 'm':
			if (!bench_parse_u64(optarg, 1, 1u << 24, &map_size))
				bench_bad_arg("--map-size", optarg);
			break;
		case 's': {
			int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

			if (fd < 0)
				bench_die("BPF_ENABLE_STATS");
			printf("bench-bpfrun: stats on\n");
			fflush(stdout);
			pause();
			return 0;
		}
		case 'a':
			attach_null = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (attach_null) {
		int fd = null_prog();

		if (fd < 0)
			bench_die("null program");
		for (int i = optind; i < argc; i++) {
			unsigned ifindex = if_nametoindex(argv[i]);

			if (!ifindex)
				bench_die(argv[i]);
			/* 46, 47: BPF_TCX_INGRESS, BPF_TCX_EGRESS (Debian's headers predate them). */
			if (bpf_link_create(fd, (int)ifindex, 46, NULL) < 0 ||
			    bpf_link_create(fd, (int)ifindex, 47, NULL) < 0)
				bench_die("tcx attach");
		}
		printf("bench-bpfrun: attached\n");
		fflush(stdout);
		pause();
		return 0;
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	obj = bpf_object__open_file(argv[optind], NULL);
	if (!obj)
		bench_die(argv[optind]);
	/* Every map-in-map gets an inner map made from its template and installed in slot 0. */
	int inner[8], nouter = 0;
	struct bpf_map *outers[8];

	bpf_object__for_each_map(m, obj) {
		const struct bpf_map *tmpl = bpf_map__inner_map(m);

		if (bpf_map__type(m) != BPF_MAP_TYPE_ARRAY_OF_MAPS || !tmpl || nouter == 8)
			continue;
		inner[nouter] = bpf_map_create(bpf_map__type(tmpl), "nr_inner",
					       bpf_map__key_size(tmpl), bpf_map__value_size(tmpl),
					       (uint32_t)map_size, NULL);
		if (inner[nouter] < 0 || bpf_map__set_inner_map_fd(m, inner[nouter]) < 0)
			bench_die("inner map");
		outers[nouter++] = m;
	}
	if (bpf_object__load(obj) < 0)
		bench_die("load");
	for (int i = 0; i < nouter; i++) {
		int zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(outers[i]), &zero, &inner[i], BPF_ANY) < 0)
			bench_die("install the inner map");
	}
	nullfd = null_prog();
	if (nullfd < 0)
		bench_die("null program");
	printf("bench-bpfrun: %s, %llu flows x %llu runs per measurement, median of 5\n",
	       argv[optind], (unsigned long long)flows, (unsigned long long)repeat);
	for (int i = optind + 1; i < argc; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(obj, argv[i]);
		double with[5], without[5];

		if (!p) {
			fprintf(stderr, "bench-bpfrun: no program %s in %s\n", argv[i], argv[optind]);
			return 1;
		}
		run(bpf_program__fd(p), (unsigned)flows, 1000); /* warm: every flow in the map */
		for (int k = 0; k < 5; k++) {
			without[k] = run(nullfd, (unsigned)flows, (unsigned)repeat);
			with[k] = run(bpf_program__fd(p), (unsigned)flows, (unsigned)repeat);
		}
		qsort(with, 5, sizeof(double), cmp_double);
		qsort(without, 5, sizeof(double), cmp_double);
		printf("%-16s %7.1f ns per run, null program %5.1f ns, added %6.1f ns\n", argv[i],
		       with[2], without[2], with[2] - without[2]);
	}
	bpf_object__close(obj);
	return 0;
}
