/* SPDX-License-Identifier: MIT */
/*
 * Network namespaces to record: the named ones under /run/netns and those of running
 * processes (/proc/PID/ns/net), deduplicated by inode, rescanned periodically and when
 * /run/netns changes. A source subscribes with two callbacks and gets each namespace once
 * when it is found and once when it is gone (no name and no process left in it).
 *
 * A source works inside a namespace by creating its sockets there (nr_netns_socket()): a
 * socket stays in the namespace it was created in.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct nlmsghdr;

struct nr_daemon;

#define NR_NETNS_NAMESIZ 64

struct nr_netns {
	uint64_t inode;
	int fd; /* O_RDONLY on the namespace, owned by the watch */
	char name[NR_NETNS_NAMESIZ]; /* a name under /run/netns, "" if none */
	pid_t pid; /* a process in it, 0 if none was seen */
	bool self; /* netrecd's own namespace */
};

struct nr_netns_ops {
	/* Called once per namespace found. A source that cannot work in it logs and returns. */
	void (*added)(struct nr_daemon *d, const struct nr_netns *ns, void *data);
	/* Called once when the namespace is gone, and for every namespace at nr_netns_watch_free. */
	void (*removed)(struct nr_daemon *d, const struct nr_netns *ns, void *data);
};

struct nr_netns_watch;

/*
 * Starts watching on the daemon's loop. @filter is "all", or a comma-separated list of names
 * under /run/netns where "host" means netrecd's own namespace. The first scan runs before this
 * returns. Returns 0 or -errno.
 */
int nr_netns_watch_new(struct nr_daemon *d, const char *filter, int64_t rescan_ns,
		       const struct nr_netns_ops *ops, void *data, struct nr_netns_watch **ret);
/* Calls ops->removed for every namespace still known, then frees. Accepts NULL. */
void nr_netns_watch_free(struct nr_netns_watch *w);

/* Creates a socket inside @ns (SOCK_CLOEXEC is added). Returns the fd or -errno. */
int nr_netns_socket(const struct nr_netns *ns, int domain, int type, int protocol);

/*
 * Runs @fn(@arg) with the calling thread inside @ns, then returns the thread to the namespace
 * it was in. Returns fn's result, or -errno if the namespace could not be entered.
 */
int nr_netns_run(const struct nr_netns *ns, int (*fn)(void *arg), void *arg);

/* A netlink socket inside @ns, bound and connected to the kernel (it accepts no message from
 * another port). Returns the fd or -errno. */
int nr_netns_nl_socket(const struct nr_netns *ns, int type, int proto);

/*
 * A netlink dump inside @ns: sends @req (a complete request with NLM_F_DUMP and its
 * nlmsg_seq) on a new @proto socket there and calls @cb (libmnl's mnl_cb_t) for every reply,
 * reading into @buf. Blocks until the dump ends. Returns 0, or -errno if it was cut short
 * (including an error the kernel reports in NLMSG_DONE).
 */
int nr_netns_dump(const struct nr_netns *ns, int proto, const void *req, size_t len, void *buf,
		  size_t buflen, int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/* "netns 4026532xyz (name)" for log lines. */
const char *nr_netns_label(const struct nr_netns *ns, char *buf, size_t len);
