// SPDX-License-Identifier: MIT
/*
 * bench-tcxquery: which BPF programs are attached with tcx (the link-based TC hook of kernel
 * 6.6 and later) to the interfaces of the current network namespace, so that bench/flows.sh
 * can show that netrecd's flow source leaves nothing behind when it stops.
 *
 *   bench-tcxquery [IFNAME]...      (default: every interface of the namespace)
 *
 * Prints one line per interface and direction on stdout:
 *
 *   tcxquery: IFNAME ingress progs=N ids=ID,ID links=ID,ID
 *
 * and a last line `tcxquery: total=N`, the number of programs found. Neither `tc filter show`
 * (which lists clsact filters only) nor Debian 12's bpftool 7.1 (`bpftool net` learned tcx
 * in 7.3) sees tcx attachments; BPF_PROG_QUERY on the ifindex does. Debian 12's uapi header
 * predates tcx, so the attach types and the newer tail of the query attributes are spelled
 * out here. Exit status 1 if the kernel has no tcx (EINVAL on the query).
 */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "benchutil.h"

#define CMD_PROG_QUERY 16 /* BPF_PROG_QUERY */
#define ATTACH_TCX_INGRESS 46
#define ATTACH_TCX_EGRESS 47
#define MAX_PROGS 64

/* The BPF_PROG_QUERY member of union bpf_attr as of kernel 6.6. */
struct prog_query_attr {
	uint32_t target_ifindex;
	uint32_t attach_type;
	uint32_t query_flags;
	uint32_t attach_flags;
	uint64_t prog_ids;
	uint32_t count; /* in: room in the arrays; out: programs attached */
	uint32_t pad;
	uint64_t prog_attach_flags;
	uint64_t link_ids;
	uint64_t link_attach_flags;
	uint64_t revision;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: bench-tcxquery [IFNAME]...\n");
}

static void print_ids(const char *label, const uint32_t *ids, uint32_t n)
{
	printf(" %s=", label);
	if (n == 0)
		printf("-");
	for (uint32_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", ids[i]);
}

/* Queries one direction of one interface; returns the number of programs, or -errno. */
static int query(const char *name, unsigned ifindex, uint32_t type, const char *dir)
{
	uint32_t prog_ids[MAX_PROGS] = { 0 }, link_ids[MAX_PROGS] = { 0 };
	struct prog_query_attr a;
	uint32_t n;

	memset(&a, 0, sizeof(a));
	a.target_ifindex = ifindex;
	a.attach_type = type;
	a.prog_ids = (uintptr_t)prog_ids;
	a.link_ids = (uintptr_t)link_ids;
	a.count = MAX_PROGS;
	if (syscall(__NR_bpf, CMD_PROG_QUERY, &a, sizeof(a)) < 0)
		return -errno;
	n = a.count < MAX_PROGS ? a.count : MAX_PROGS;
	printf("tcxquery: %s %s progs=%u", name, dir, a.count);
	print_ids("ids", prog_ids, n);
	print_ids("links", link_ids, n);
	printf("\n");
	return (int)a.count;
}

int main(int argc, char **argv)
{
	struct if_nameindex *all = NULL;
	int total = 0;

	bench_name = "bench-tcxquery";
	bench_usage = usage;
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 1) {
		all = if_nameindex();
		if (!all)
			bench_die("if_nameindex");
	}
	for (int i = 0;; i++) {
		const char *name;
		unsigned ifindex;
		int r;

		if (all) {
			if (!all[i].if_index)
				break;
			name = all[i].if_name;
			ifindex = all[i].if_index;
		} else {
			if (i + 1 >= argc)
				break;
			name = argv[i + 1];
			ifindex = if_nametoindex(name);
			if (!ifindex)
				bench_die(name);
		}
		r = query(name, ifindex, ATTACH_TCX_INGRESS, "ingress");
		if (r >= 0) {
			total += r;
			r = query(name, ifindex, ATTACH_TCX_EGRESS, "egress");
		}
		if (r < 0) {
			errno = -r;
			bench_die(r == -EINVAL ? "BPF_PROG_QUERY (no tcx in this kernel?)"
					       : "BPF_PROG_QUERY");
		}
		total += r;
	}
	if (all)
		if_freenameindex(all);
	printf("tcxquery: total=%d\n", total);
	return 0;
}
