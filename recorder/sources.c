// SPDX-License-Identifier: MIT
/*
 * The table of sources: the four kernel sources, each in its own module. A source that cannot
 * start says why, and the recorder records that in the store (`gaps`, "unavailable: ...")
 * instead of silently recording nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "config.h"
#include "log.h"
#include "sources.h"

/* libbpf's messages are for debugging: a failure is reported by the source, once. */
__attribute__((format(printf, 2, 0))) static int libbpf_print(enum libbpf_print_level level,
							       const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && nr_log_get_level() >= NR_LOG_DEBUG)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

void nr_sources_libbpf_quiet(void)
{
	libbpf_set_print(libbpf_print);
}

const struct nr_source_desc nr_sources[] = {
	{ "flows", NR_SOURCE_FLOWS, NR_SRC_FLOWS, nr_flows_start, nr_flows_stop, nr_flows_health },
	{ "conntrack", NR_SOURCE_CONNTRACK, NR_SRC_CONNTRACK, nr_conntrack_start, nr_conntrack_stop,
	  nr_conntrack_health },
	{ "sockets", NR_SOURCE_SOCKETS, NR_SRC_SOCKETS, nr_sockets_start, nr_sockets_stop,
	  nr_sockets_health },
	{ "topology", NR_SOURCE_TOPOLOGY, NR_SRC_TOPOLOGY, nr_topology_start, nr_topology_stop,
	  nr_topology_health },
};
const size_t nr_sources_count = sizeof(nr_sources) / sizeof(nr_sources[0]);
