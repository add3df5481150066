/* SPDX-License-Identifier: MIT */
/*
 * netrecd's settings: defaults, a config file of "key = value" lines, and command-line
 * options with the same names ("--data-dir DIR" is "data-dir = DIR"). The command line wins
 * over the file. Every key is documented in docs/netrecd.md and dist/netrecd.conf.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "netrec-config.h"

#define NR_CONFIG_DEFAULT_PATH NETREC_SYSCONFDIR "/netrec/netrecd.conf"

enum {
	NR_SOURCE_FLOWS = 1 << 0,
	NR_SOURCE_CONNTRACK = 1 << 1,
	NR_SOURCE_SOCKETS = 1 << 2,
	NR_SOURCE_TOPOLOGY = 1 << 3,
	NR_SOURCE_ALL = 0xf,
};

/* Conntrack event types (conntrack-events). */
enum {
	NR_CT_EV_NEW = 1 << 0,
	NR_CT_EV_UPDATE = 1 << 1,
	NR_CT_EV_DESTROY = 1 << 2,
	NR_CT_EV_ALL = 0x7,
};

struct nr_config {
	char *data_dir;
	int64_t partition_ns;
	int64_t retention_age_ns; /* 0: keep forever */
	uint64_t retention_bytes; /* 0: no limit */
	unsigned sources; /* NR_SOURCE_* */
	size_t batch_rows;
	int64_t batch_ns;
	size_t queue_size;
	char *netns; /* "all" or a comma-separated list of names ("host": the recorder's own) */
	int64_t netns_rescan_ns;
	unsigned ct_events; /* NR_CT_EV_* */
	uint64_t ct_rcvbuf; /* bytes */
	uint64_t ct_max_rate; /* events per second; 0: no limit */
	bool ct_accounting; /* turn on nf_conntrack_acct and _timestamp */
	bool ct_force_events; /* nf_conntrack_events 2 -> 1 */
	int64_t flows_interval_ns;
	uint64_t flows_map_size; /* flow keys per collection interval */
	uint64_t flows_cache_size; /* IPv4 cache slots per CPU, a power of two; 0: auto */
	uint64_t flows_sampling; /* 1 in N packets; 1: all */
	char *flows_include, *flows_exclude; /* comma-separated fnmatch patterns on ifname */
	char *flows_attach; /* "auto", "tcx" or "clsact" */
	int64_t sk_interval_ns; /* socket samples */
	uint64_t sk_rcvbuf; /* bytes, close notification socket */
	uint64_t sk_owners; /* entries of the BPF socket-creator map */
	int64_t tp_interval_ns; /* topology snapshots */
	int64_t tp_debounce_ns; /* quiet time after a change before a snapshot */
	enum nr_log_level log_level;
	int64_t duration_ns; /* 0: until signalled */
	uint64_t synthetic_rate; /* rows per second; 0: off */
	uint64_t synthetic_seed;
	int64_t health_ns;
	char *config_path; /* NULL: the default path if it exists */
	bool config_path_given;
	/* The command line, kept so a reload applies it over the file again. */
	int argc;
	char **argv;
};

void nr_config_init(struct nr_config *c);
void nr_config_clear(struct nr_config *c);

/* Sets one key. Returns 0, or -EINVAL with a message in @err (unknown key, bad value). */
int nr_config_set(struct nr_config *c, const char *key, const char *value, char *err,
		  size_t errlen);

/* Reads a config file: blank lines and '#' comments allowed. -errno, or -EINVAL with "FILE:LINE:
 * message" in @err. */
int nr_config_load(struct nr_config *c, const char *path, char *err, size_t errlen);

/*
 * Parses the command line, loading the config file first (--config FILE, or the default path
 * when it exists), then applying the options. Returns 0, 1 when --help or --version was
 * printed (exit 0), or -EINVAL with a message in @err.
 */
int nr_config_parse_args(struct nr_config *c, int argc, char **argv, char *err, size_t errlen);

/* Comma-separated source names of @mask ("flows,conntrack"). */
void nr_config_sources_str(unsigned mask, char *buf, size_t len);
