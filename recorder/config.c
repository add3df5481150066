// SPDX-License-Identifier: MIT
/*
 * netrecd settings: defaults, config file, command line (see config.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "nrtime.h"

void nr_config_init(struct nr_config *c)
{
	memset(c, 0, sizeof(*c));
	c->data_dir = strdup(NETREC_DEFAULT_DATA_DIR);
	c->partition_ns = 3600 * NR_NS_PER_SEC;
	c->retention_age_ns = 30 * 86400 * NR_NS_PER_SEC;
	c->retention_bytes = 10ULL << 30;
	c->sources = NR_SOURCE_ALL;
	c->batch_rows = 10000;
	c->batch_ns = 1 * NR_NS_PER_SEC;
	c->queue_size = 65536;
	c->netns = strdup("all");
	c->netns_rescan_ns = 2 * NR_NS_PER_SEC;
	c->ct_events = NR_CT_EV_ALL;
	c->ct_rcvbuf = 64ULL << 20;
	c->ct_force_events = true;
	c->flows_interval_ns = 5 * NR_NS_PER_SEC;
	c->flows_map_size = 65536;
	c->flows_sampling = 1;
	c->flows_include = strdup("*");
	c->flows_exclude = strdup("");
	c->flows_attach = strdup("auto");
	c->sk_interval_ns = 10 * NR_NS_PER_SEC;
	c->sk_rcvbuf = 32ULL << 20;
	c->sk_owners = 65536;
	c->tp_interval_ns = 60 * NR_NS_PER_SEC;
	c->tp_debounce_ns = 1 * NR_NS_PER_SEC;
	c->log_level = NR_LOG_INFO;
	c->health_ns = 10 * NR_NS_PER_SEC;
	c->synthetic_seed = 1;
}

void nr_config_clear(struct nr_config *c)
{
	free(c->data_dir);
	free(c->netns);
	free(c->flows_include);
	free(c->flows_exclude);
	free(c->flows_attach);
	free(c->config_path);
	memset(c, 0, sizeof(*c));
}

static const struct {
	const char *name;
	unsigned bit;
} source_bits[] = {
	{ "flows", NR_SOURCE_FLOWS },
	{ "conntrack", NR_SOURCE_CONNTRACK },
	{ "sockets", NR_SOURCE_SOCKETS },
	{ "topology", NR_SOURCE_TOPOLOGY },
};

void nr_config_sources_str(unsigned mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(source_bits) / sizeof(source_bits[0]); i++)
		if ((mask & source_bits[i].bit) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "",
						source_bits[i].name);
	if (!mask)
		snprintf(buf, len, "none");
}

static int parse_sources(const char *v, unsigned *ret)
{
	unsigned mask = 0;
	char *dup, *tok, *save = NULL;

	if (strcasecmp(v, "all") == 0) {
		*ret = NR_SOURCE_ALL;
		return 0;
	}
	if (strcasecmp(v, "none") == 0) {
		*ret = 0;
		return 0;
	}
	dup = strdup(v);
	if (!dup)
		return -ENOMEM;
	if (!strtok_r(dup, ", ", &save)) {
		free(dup);
		return -EINVAL; /* no names at all: say "none" to mean none */
	}
	strcpy(dup, v);
	save = NULL;
	for (tok = strtok_r(dup, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		size_t i;

		for (i = 0; i < sizeof(source_bits) / sizeof(source_bits[0]); i++)
			if (strcasecmp(tok, source_bits[i].name) == 0)
				break;
		if (i == sizeof(source_bits) / sizeof(source_bits[0])) {
			free(dup);
			return -EINVAL;
		}
		mask |= source_bits[i].bit;
	}
	free(dup);
	*ret = mask;
	return 0;
}

static int parse_ct_events(const char *v, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = { { "new", NR_CT_EV_NEW }, { "update", NR_CT_EV_UPDATE },
		      { "destroy", NR_CT_EV_DESTROY } };
	unsigned mask = 0;
	const char *p = v;

	if (strcasecmp(v, "all") == 0) {
		*ret = NR_CT_EV_ALL;
		return 0;
	}
	while (*p) {
		size_t n = strcspn(p, ", "), i;

		for (i = 0; n && i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n && strncasecmp(p, names[i].name, n) == 0)
				break;
		if (n) {
			if (i == sizeof(names) / sizeof(names[0]))
				return -EINVAL;
			mask |= names[i].bit;
		}
		p += n;
		p += strspn(p, ", ");
	}
	if (!mask)
		return -EINVAL;
	*ret = mask;
	return 0;
}

static int parse_bool(const char *v, bool *ret)
{
	if (strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0)
		*ret = true;
	else if (strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0 ||
		 strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long x;
	char *end;

	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return -EINVAL;
	*ret = x;
	return 0;
}

static int set_str(char **field, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return -ENOMEM;
	free(*field);
	*field = d;
	return 0;
}

int nr_config_set(struct nr_config *c, const char *key, const char *v, char *err, size_t errlen)
{
	uint64_t u;
	int64_t d;
	int r = -EINVAL;
	const char *expect = "";

	if (strcmp(key, "data-dir") == 0) {
		expect = "a directory path";
		if (*v)
			r = set_str(&c->data_dir, v);
	} else if (strcmp(key, "partition") == 0) {
		expect = "a whole number of seconds, at least 1s (e.g. 1h, 10m, 1s)";
		r = nr_duration_parse(v, &d);
		if (r == 0 && (d < NR_NS_PER_SEC || d % NR_NS_PER_SEC || d > 366 * 86400 * NR_NS_PER_SEC))
			r = -EINVAL;
		if (r == 0)
			c->partition_ns = d;
	} else if (strcmp(key, "retention-age") == 0) {
		expect = "a duration (e.g. 30d), 0 for none";
		r = nr_duration_parse(v, &d);
		if (r == 0)
			c->retention_age_ns = d;
	} else if (strcmp(key, "retention-size") == 0) {
		expect = "a size (e.g. 10G, 500M), 0 for none";
		r = nr_size_parse(v, &u);
		if (r == 0)
			c->retention_bytes = u;
	} else if (strcmp(key, "sources") == 0) {
		expect = "all, none, or a list of flows, conntrack, sockets, topology";
		r = parse_sources(v, &c->sources);
	} else if (strcmp(key, "batch-rows") == 0) {
		expect = "a number of rows from 1 to 1000000";
		r = parse_u64(v, 1, 1000000, &u);
		if (r == 0)
			c->batch_rows = u;
	} else if (strcmp(key, "batch-latency") == 0) {
		expect = "a duration from 1ms to 60s";
		r = nr_duration_parse(v, &d);
		if (r == 0 && (d < NR_NS_PER_MS || d > 60 * NR_NS_PER_SEC))
			r = -EINVAL;
		if (r == 0)
			c->batch_ns = d;
	} else if (strcmp(key, "queue-size") == 0) {
		expect = "a number of records from 1024 to 16777216";
		r = parse_u64(v, 1024, 16777216, &u);
		if (r == 0)
			c->queue_size = u;
	} else if (strcmp(key, "netns") == 0) {
		expect = "all, or a comma-separated list of namespace names";
		if (*v)
			r = set_str(&c->netns, v);
	} else if (strcmp(key, "netns-rescan") == 0) {
		expect = "a duration from 100ms to 1h";
		r = nr_duration_parse(v, &d);
		if (r == 0 && (d < 100 * NR_NS_PER_MS || d > 3600 * NR_NS_PER_SEC))
			r = -EINVAL;
		if (r == 0)
			c->netns_rescan_ns = d;
	} else if (strcmp(key, "conntrack-events") == 0) {
		expect = "all, or a list of new, update, destroy";
		r = parse_ct_events(v, &c->ct_events);
	} else if (strcmp(key, "conntrack-rcvbuf") == 0) {
		expect = "a size from 4K to 2G (e.g. 64M)";
		r = nr_size_parse(v, &u);
		if (r == 0 && (u < 4096 || u > (2ULL << 30)))
			r = -EINVAL;
		if (r == 0)
			c->ct_rcvbuf = u;
	} else if (strcmp(key, "conntrack-max-rate") == 0) {
		expect = "events per second, 0 for no limit";
		r = parse_u64(v, 0, 100000000, &c->ct_max_rate);
	} else if (strcmp(key, "conntrack-accounting") == 0) {
		expect = "on or off";
		r = parse_bool(v, &c->ct_accounting);
	} else if (strcmp(key, "conntrack-force-events") == 0) {
		expect = "on or off";
		r = parse_bool(v, &c->ct_force_events);
	} else if (strcmp(key, "flows-interval") == 0) {
		expect = "a duration from 100ms to 10m";
		r = nr_duration_parse(v, &d);
		if (r == 0 && (d < 100 * NR_NS_PER_MS || d > 600 * NR_NS_PER_SEC))
			r = -EINVAL;
		if (r == 0)
			c->flows_interval_ns = d;
	} else if (strcmp(key, "flows-map-size") == 0) {
		expect = "a number of flows from 16 to 16777216";
		r = parse_u64(v, 16, 16777216, &c->flows_map_size);
	} else if (strcmp(key, "flows-cache-size") == 0) {
		expect = "0 (auto) or a power of two from 1 to 65536";
		r = parse_u64(v, 0, 65536, &u);
		if (r == 0 && (u & (u - 1)))
			r = -EINVAL;
		if (r == 0)
			c->flows_cache_size = u;
	} else if (strcmp(key, "flows-sampling") == 0) {
		expect = "N for 1 packet in N, from 1 (every packet) to 1000000";
		r = parse_u64(v, 1, 1000000, &c->flows_sampling);
	} else if (strcmp(key, "flows-include") == 0) {
		expect = "interface name patterns (e.g. eth*,veth*)";
		if (*v)
			r = set_str(&c->flows_include, v);
	} else if (strcmp(key, "flows-exclude") == 0) {
		expect = "interface name patterns, or nothing";
		r = set_str(&c->flows_exclude, v);
	} else if (strcmp(key, "flows-attach") == 0) {
		expect = "auto, tcx or clsact";
		if (strcmp(v, "auto") == 0 || strcmp(v, "tcx") == 0 || strcmp(v, "clsact") == 0)
			r = set_str(&c->flows_attach, v);
	} else if (strcmp(key, "sockets-interval") == 0) {
		expect = "a duration from 100ms to 10m";
		r = nr_duration_parse(v, &d);
		if (r == 0 && (d < 100 * NR_NS_PER_MS || d > 600 * NR_NS_PER_SEC))
			r = -EINVAL;
		if (r == 0)
			c->sk_interval_ns = d;
	} else if (strcmp(key, "sockets-rcvbuf") == 0) {
		expect = "a size from 4K to 2G (e.g. 32M)";
		r = nr_size_parse(v, &u);
		if (r == 0 && (u < 4096 || u > (2ULL << 30)))
			r = -EINVAL;
		if (r == 0)
			c->sk_rcvbuf = u;
	} else if (strcmp(key, "sockets-owners") == 0) {
		expect = "a number of sockets from 1024 to 16777216";
		r = parse_u64(v, 1024, 16777216, &c->sk_owners);
	} else if (strcmp(key, "topology-interval") == 0) {
		expect = "a duration from 1s to 1h";
		r = nr_duration_parse(v, &d);
		if (r == 0 && (d < NR_NS_PER_SEC || d > 3600 * NR_NS_PER_SEC))
			r = -EINVAL;
		if (r == 0)
			c->tp_interval_ns = d;
	} else if (strcmp(key, "topology-debounce") == 0) {
		expect = "a duration from 10ms to 60s";
		r = nr_duration_parse(v, &d);
		if (r == 0 && (d < 10 * NR_NS_PER_MS || d > 60 * NR_NS_PER_SEC))
			r = -EINVAL;
		if (r == 0)
			c->tp_debounce_ns = d;
	} else if (strcmp(key, "log-level") == 0) {
		expect = "error, warn, info or debug";
		r = nr_log_level_parse(v, &c->log_level);
	} else if (strcmp(key, "duration") == 0) {
		expect = "a duration (e.g. 30s), 0 for until stopped";
		r = nr_duration_parse(v, &d);
		if (r == 0)
			c->duration_ns = d;
	} else if (strcmp(key, "synthetic") == 0) {
		expect = "rows per second from 0 to 10000000";
		r = parse_u64(v, 0, 10000000, &c->synthetic_rate);
	} else if (strcmp(key, "synthetic-seed") == 0) {
		expect = "a number";
		r = parse_u64(v, 0, UINT64_MAX, &c->synthetic_seed);
	} else if (strcmp(key, "health-interval") == 0) {
		expect = "a duration from 1s to 1h";
		r = nr_duration_parse(v, &d);
		if (r == 0 && (d < NR_NS_PER_SEC || d > 3600 * NR_NS_PER_SEC))
			r = -EINVAL;
		if (r == 0)
			c->health_ns = d;
	} else {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -EINVAL;
	}
	if (r == -EINVAL)
		snprintf(err, errlen, "bad value '%s' for %s: expected %s", v, key, expect);
	return r;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int nr_config_load(struct nr_config *c, const char *path, char *err, size_t errlen)
{
	char msg[512] = "", *line = NULL;
	unsigned lineno = 0;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	errno = 0;
	while ((n = getline(&line, &cap, f)) != -1) {
		char *s, *eq;

		lineno++;
		if (memchr(line, '\0', (size_t)n)) {
			snprintf(err, errlen, "%s:%u: a NUL byte in the line", path, lineno);
			r = -EINVAL;
			break;
		}
		if (n > 4096) {
			snprintf(err, errlen, "%s:%u: line too long (over 4096 bytes)", path, lineno);
			r = -EINVAL;
			break;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		r = nr_config_set(c, trim(s), trim(eq + 1), msg, sizeof(msg));
		if (r < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno,
				 r == -ENOMEM ? "out of memory" : msg);
			break;
		}
	}
	if (r == 0 && ferror(f)) {
		r = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	}
	free(line);
	fclose(f);
	return r;
}

static void usage(FILE *f)
{
	fputs("Usage: netrecd [OPTION]...\n"
	      "Records network flows, conntrack events, socket stats and topology snapshots\n"
	      "into a time-partitioned SQLite store.\n\n"
	      "  -c, --config FILE         config file (default " NR_CONFIG_DEFAULT_PATH
	      " if it exists)\n"
	      "  -d, --data-dir DIR        data directory (default " NETREC_DEFAULT_DATA_DIR ")\n"
	      "      --partition DUR       partition width, UTC-aligned (default 1h, minimum 1s)\n"
	      "      --retention-age DUR   delete partitions older than this (default 30d; 0: never)\n"
	      "      --retention-size SIZE keep the store under this size (default 10G; 0: no limit)\n"
	      "      --sources LIST        all, none, or flows,conntrack,sockets,topology (default all)\n"
	      "      --batch-rows N        commit after N rows (default 10000)\n"
	      "      --batch-latency DUR   or when the batch is this old (default 1s)\n"
	      "      --queue-size N        records between collectors and writer (default 65536)\n"
	      "      --netns LIST          network namespaces to record: all, or names under\n"
	      "                            /run/netns and 'host' for netrecd's own (default all)\n"
	      "      --netns-rescan DUR    how often to look for new namespaces (default 2s)\n"
	      "      --conntrack-events LIST  new,update,destroy or all (default all)\n"
	      "      --conntrack-rcvbuf SIZE  event socket receive buffer (default 64M)\n"
	      "      --conntrack-max-rate N   record at most N events/s, count the rest (default 0:\n"
	      "                            no limit)\n"
	      "      --conntrack-accounting on|off  turn on nf_conntrack_acct and\n"
	      "                            nf_conntrack_timestamp in recorded namespaces (default off)\n"
	      "      --conntrack-force-events on|off  set nf_conntrack_events from 2 to 1 so\n"
	      "                            connections made while netrecd is down report their end\n"
	      "                            (default on)\n"
	      "      --flows-interval DUR  how often flow counts are collected (default 5s)\n"
	      "      --flows-map-size N    flows per interval the kernel map holds (default 65536)\n"
	      "      --flows-cache-size N  IPv4 flows cached per CPU, a power of two (default 0:\n"
	      "                            4096 up to 8 CPUs, fewer beyond)\n"
	      "      --flows-sampling N    count 1 packet in N (default 1: every packet)\n"
	      "      --flows-include PATS  interfaces to record, fnmatch patterns (default *)\n"
	      "      --flows-exclude PATS  interfaces not to record (default none)\n"
	      "      --flows-attach MODE   auto (tcx, else clsact), tcx or clsact (default auto)\n"
	      "      --sockets-interval DUR  how often sockets are sampled (default 10s)\n"
	      "      --sockets-rcvbuf SIZE close notification socket receive buffer (default 32M)\n"
	      "      --sockets-owners N    sockets whose creating process the kernel map holds\n"
	      "                            until netrecd reads it (default 65536)\n"
	      "      --topology-interval DUR  how often every namespace is snapshotted (default 60s)\n"
	      "      --topology-debounce DUR  quiet time after a change before a snapshot\n"
	      "                            (default 1s)\n"
	      "      --log-level LEVEL     error, warn, info, debug (default info)\n"
	      "      --duration DUR        stop after this long (default: run until signalled)\n"
	      "      --synthetic RATE      generate synthetic rows at RATE rows/s (tests, benchmarks)\n"
	      "      --synthetic-seed N    seed of the synthetic generator (default 1)\n"
	      "      --health-interval DUR how often to store health counters (default 10s)\n"
	      "  -h, --help                this help\n"
	      "  -V, --version             print the version\n\n"
	      "Signals: TERM/INT stop (everything pending is committed); HUP re-reads the config\n"
	      "file and applies log-level and retention-*. See netrecd(8) and docs/netrecd.md.\n",
	      f);
}

int nr_config_parse_args(struct nr_config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "partition", required_argument, NULL, 0 },
		{ "retention-age", required_argument, NULL, 0 },
		{ "retention-size", required_argument, NULL, 0 },
		{ "sources", required_argument, NULL, 0 },
		{ "batch-rows", required_argument, NULL, 0 },
		{ "batch-latency", required_argument, NULL, 0 },
		{ "queue-size", required_argument, NULL, 0 },
		{ "netns", required_argument, NULL, 0 },
		{ "netns-rescan", required_argument, NULL, 0 },
		{ "conntrack-events", required_argument, NULL, 0 },
		{ "conntrack-rcvbuf", required_argument, NULL, 0 },
		{ "conntrack-max-rate", required_argument, NULL, 0 },
		{ "conntrack-accounting", required_argument, NULL, 0 },
		{ "conntrack-force-events", required_argument, NULL, 0 },
		{ "flows-interval", required_argument, NULL, 0 },
		{ "flows-map-size", required_argument, NULL, 0 },
		{ "flows-cache-size", required_argument, NULL, 0 },
		{ "flows-sampling", required_argument, NULL, 0 },
		{ "flows-include", required_argument, NULL, 0 },
		{ "flows-exclude", required_argument, NULL, 0 },
		{ "flows-attach", required_argument, NULL, 0 },
		{ "sockets-interval", required_argument, NULL, 0 },
		{ "sockets-rcvbuf", required_argument, NULL, 0 },
		{ "sockets-owners", required_argument, NULL, 0 },
		{ "topology-interval", required_argument, NULL, 0 },
		{ "topology-debounce", required_argument, NULL, 0 },
		{ "log-level", required_argument, NULL, 0 },
		{ "duration", required_argument, NULL, 0 },
		{ "synthetic", required_argument, NULL, 0 },
		{ "synthetic-seed", required_argument, NULL, 0 },
		{ "health-interval", required_argument, NULL, 0 },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	char msg[512];
	int opt, idx, r;

	c->argc = argc;
	c->argv = argv;
	/* Pass 1: --config, --help, --version and unknown options. */
	opterr = 0;
	optind = 0; /* 0, not 1: glibc then also forgets a half-scanned option cluster */
	while ((opt = getopt_long(argc, argv, ":c:d:hV", opts, &idx)) != -1) {
		switch (opt) {
		case 'c':
			r = set_str(&c->config_path, optarg);
			if (r < 0)
				return r;
			c->config_path_given = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("netrecd %s\n", NETREC_VERSION);
			return 1;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		case '?':
			if (optopt)
				snprintf(err, errlen, "unknown option '-%c' (see --help)", optopt);
			else
				snprintf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		default:
			break;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	if (c->config_path_given) {
		r = nr_config_load(c, c->config_path, err, errlen);
		if (r < 0)
			return -EINVAL;
	} else if (access(NR_CONFIG_DEFAULT_PATH, F_OK) == 0) {
		r = set_str(&c->config_path, NR_CONFIG_DEFAULT_PATH);
		if (r < 0)
			return r;
		r = nr_config_load(c, c->config_path, err, errlen);
		if (r < 0)
			return -EINVAL;
	}
	/* Pass 2: the options, over the file. */
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":c:d:hV", opts, &idx)) != -1) {
		const char *key = NULL;

		if (opt == 'd')
			key = "data-dir";
		else if (opt == 0)
			key = opts[idx].name;
		if (!key)
			continue;
		r = nr_config_set(c, key, optarg, msg, sizeof(msg));
		if (r < 0) {
			snprintf(err, errlen, "%s", msg);
			return -EINVAL;
		}
	}
	return 0;
}
