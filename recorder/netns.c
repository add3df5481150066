// SPDX-License-Identifier: MIT
/*
 * Network namespace discovery (see netns.h).
 *
 * A namespace is known by its nsfs inode. Candidates are the files under /run/netns (what
 * `ip netns add` creates) and /proc/PID/ns/net of every process; a candidate counts only if it
 * is on nsfs, so a name that `ip netns add` has created but not yet bind-mounted is skipped
 * until the next scan. The watch holds an fd on each namespace it reports. Holding it keeps
 * the namespace alive, so "gone" is decided from the candidates, not from the fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "daemon.h"
#include "log.h"
#include "netns.h"

#define RUN_NETNS "/run/netns"

struct ns_entry {
	struct nr_netns ns;
	unsigned seen; /* generation of the last scan that found it */
	unsigned named; /* generation of the last scan that found it by name */
	struct ns_entry *next, *hnext;
};

#define HASH_SIZE 256 /* namespaces by inode */

struct nr_netns_watch {
	struct nr_daemon *d;
	const struct nr_netns_ops *ops;
	void *data;
	bool all, host;
	char **names; /* wanted names when !all */
	size_t nnames;
	dev_t nsfs_dev;
	uint64_t self_ino;
	int self_fd;
	int timer_fd, inotify_fd, inotify_wd;
	unsigned gen;
	struct ns_entry *list;
	struct ns_entry *hash[HASH_SIZE];
	/* Candidates that could not be read in the last scan (EACCES without CAP_SYS_PTRACE,
	 * EMFILE): said once per change, so a namespace missed for that reason is not silent. */
	unsigned unreadable, unreadable_said;
	int unreadable_err;
};

const char *nr_netns_label(const struct nr_netns *ns, char *buf, size_t len)
{
	if (ns->name[0])
		snprintf(buf, len, "netns %llu (%s)", (unsigned long long)ns->inode, ns->name);
	else if (ns->self)
		snprintf(buf, len, "netns %llu (host)", (unsigned long long)ns->inode);
	else
		snprintf(buf, len, "netns %llu (pid %d)", (unsigned long long)ns->inode, (int)ns->pid);
	return buf;
}

static bool wanted_name(const struct nr_netns_watch *w, const char *name)
{
	if (w->all)
		return true;
	for (size_t i = 0; i < w->nnames; i++)
		if (strcmp(w->names[i], name) == 0)
			return true;
	return false;
}

static struct ns_entry *find(struct nr_netns_watch *w, uint64_t ino)
{
	for (struct ns_entry *e = w->hash[ino % HASH_SIZE]; e; e = e->hnext)
		if (e->ns.inode == ino)
			return e;
	return NULL;
}

static void unhash(struct nr_netns_watch *w, struct ns_entry *e)
{
	for (struct ns_entry **pp = &w->hash[e->ns.inode % HASH_SIZE]; *pp; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			return;
		}
}

static void unreadable(struct nr_netns_watch *w, int err)
{
	/* A process that exited between readdir and stat is no news. */
	if (err == ENOENT || err == ESRCH)
		return;
	w->unreadable++;
	w->unreadable_err = err;
}

/* One candidate path: marks a known namespace seen, or opens and reports a new one. */
static void candidate(struct nr_netns_watch *w, const char *path, const char *name, pid_t pid)
{
	struct ns_entry *e;
	struct stat st;
	int fd;

	if (stat(path, &st) < 0) {
		unreadable(w, errno);
		return;
	}
	if (st.st_dev != w->nsfs_dev)
		return; /* not (yet) a namespace: `ip netns add` bind-mounts after creating */
	e = find(w, (uint64_t)st.st_ino);
	if (e) {
		e->seen = w->gen;
		if (name) {
			if (e->named != w->gen)
				snprintf(e->ns.name, sizeof(e->ns.name), "%s", name);
			e->named = w->gen;
		}
		if (pid && !e->ns.pid)
			e->ns.pid = pid;
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		unreadable(w, errno);
		return;
	}
	/* The path may have changed between stat and open (a process exiting, a PID reused). */
	if (fstat(fd, &st) < 0 || st.st_dev != w->nsfs_dev || find(w, (uint64_t)st.st_ino)) {
		close(fd);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		return;
	}
	e->ns.inode = (uint64_t)st.st_ino;
	e->ns.fd = fd;
	e->ns.pid = pid;
	e->ns.self = e->ns.inode == w->self_ino;
	if (name) {
		snprintf(e->ns.name, sizeof(e->ns.name), "%s", name);
		e->named = w->gen;
	}
	e->seen = w->gen;
	e->next = w->list;
	w->list = e;
	e->hnext = w->hash[e->ns.inode % HASH_SIZE];
	w->hash[e->ns.inode % HASH_SIZE] = e;
	if (nr_log_get_level() >= NR_LOG_DEBUG) {
		char label[128];

		log_debug("found %s", nr_netns_label(&e->ns, label, sizeof(label)));
	}
	w->ops->added(w->d, &e->ns, w->data);
}

static void scan_named(struct nr_netns_watch *w)
{
	struct dirent *de;
	char path[512];
	DIR *dir;

	dir = opendir(RUN_NETNS);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || !wanted_name(w, de->d_name))
			continue;
		snprintf(path, sizeof(path), RUN_NETNS "/%s", de->d_name);
		candidate(w, path, de->d_name, 0);
	}
	closedir(dir);
}

static void scan_procs(struct nr_netns_watch *w)
{
	struct dirent *de;
	char path[64];
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		candidate(w, path, NULL, (pid_t)pid);
	}
	closedir(dir);
}

static void scan(struct nr_netns_watch *w)
{
	struct ns_entry **pp;

	w->gen++;
	w->unreadable = 0;
	if (w->all || w->host)
		candidate(w, "/proc/thread-self/ns/net", NULL, getpid());
	scan_named(w);
	if (w->all)
		scan_procs(w);
	if (w->unreadable && !w->unreadable_said) {
		log_warn("network namespaces: %u processes' namespaces could not be read (%s); "
			 "namespaces only they are in are not recorded",
			 w->unreadable, strerror(w->unreadable_err));
		w->unreadable_said = 1;
	} else if (!w->unreadable) {
		w->unreadable_said = 0;
	}
	/* A namespace found neither by name nor by process in two scans in a row is gone (one
	 * miss can be a race: its only process handing over to another, a PID reused). */
	pp = &w->list;
	while (*pp) {
		struct ns_entry *e = *pp;

		if (e->named != w->gen)
			e->ns.name[0] = '\0'; /* renamed or `ip netns del`: no name now */
		if (e->seen + 1 >= w->gen) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		unhash(w, e);
		if (nr_log_get_level() >= NR_LOG_DEBUG) {
			char label[128];

			log_debug("gone: %s", nr_netns_label(&e->ns, label, sizeof(label)));
		}
		w->ops->removed(w->d, &e->ns, w->data);
		close(e->ns.fd);
		free(e);
	}
}

static void watch_run_netns(struct nr_netns_watch *w);

static void on_timer(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	struct nr_netns_watch *w = data;
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) <= 0)
		return;
	if (w->inotify_fd >= 0 && w->inotify_wd < 0)
		watch_run_netns(w); /* /run/netns did not exist yet */
	scan(w);
}

static void on_inotify(struct nr_daemon *d, int fd, uint32_t events, void *data)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* Any change under /run/netns: rescan now. A name not yet bind-mounted is picked up by
	 * the next periodic scan. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	scan(data);
}

/* Renames and removals under /run/netns show at once; a new name shows at the next periodic
 * scan (its bind mount makes no inotify event, and the file is not a namespace before it). */
static void watch_run_netns(struct nr_netns_watch *w)
{
	w->inotify_wd = inotify_add_watch(w->inotify_fd, RUN_NETNS,
					  IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
						  IN_ATTRIB);
}

static int parse_filter(struct nr_netns_watch *w, const char *filter)
{
	const char *p = filter;

	if (strcmp(filter, "all") == 0) {
		w->all = true;
		return 0;
	}
	while (*p) {
		size_t n = strcspn(p, ", ");

		if (n == 4 && strncmp(p, "host", 4) == 0) {
			w->host = true;
		} else if (n) {
			char **names = realloc(w->names, (w->nnames + 1) * sizeof(*names));

			if (!names)
				return -ENOMEM;
			w->names = names;
			w->names[w->nnames] = strndup(p, n);
			if (!w->names[w->nnames])
				return -ENOMEM;
			w->nnames++;
		}
		p += n;
		p += strspn(p, ", ");
	}
	return 0;
}

int nr_netns_watch_new(struct nr_daemon *d, const char *filter, int64_t rescan_ns,
		       const struct nr_netns_ops *ops, void *data, struct nr_netns_watch **ret)
{
	struct nr_netns_watch *w;
	struct stat st;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->d = d;
	w->ops = ops;
	w->data = data;
	w->timer_fd = w->inotify_fd = w->self_fd = -1;
	r = parse_filter(w, filter);
	if (r < 0)
		goto fail;
	w->self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (w->self_fd < 0 || fstat(w->self_fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	w->nsfs_dev = st.st_dev;
	w->self_ino = (uint64_t)st.st_ino;
	w->timer_fd = nr_daemon_timer(d, rescan_ns, on_timer, w);
	if (w->timer_fd < 0) {
		r = w->timer_fd;
		goto fail;
	}
	/* /run/netns may not exist yet: the timer tries again until it does. */
	w->inotify_wd = -1;
	w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify_fd >= 0 && nr_daemon_watch(d, w->inotify_fd, on_inotify, w) < 0) {
		close(w->inotify_fd);
		w->inotify_fd = -1;
	}
	if (w->inotify_fd >= 0)
		watch_run_netns(w);
	scan(w);
	*ret = w;
	return 0;
fail:
	nr_netns_watch_free(w);
	return r;
}

void nr_netns_watch_free(struct nr_netns_watch *w)
{
	if (!w)
		return;
	while (w->list) {
		struct ns_entry *e = w->list;

		w->list = e->next;
		w->ops->removed(w->d, &e->ns, w->data);
		close(e->ns.fd);
		free(e);
	}
	memset(w->hash, 0, sizeof(w->hash));
	if (w->timer_fd >= 0) {
		nr_daemon_unwatch(w->d, w->timer_fd);
		close(w->timer_fd);
	}
	if (w->inotify_fd >= 0) {
		nr_daemon_unwatch(w->d, w->inotify_fd);
		close(w->inotify_fd);
	}
	if (w->self_fd >= 0)
		close(w->self_fd);
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i]);
	free(w->names);
	free(w);
}

int nr_netns_run(const struct nr_netns *ns, int (*fn)(void *arg), void *arg)
{
	int self, r;

	if (ns->self)
		return fn(arg);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(ns->fd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(self);
		return r;
	}
	r = fn(arg);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Every later socket would land in the wrong namespace: nothing sane is left. */
		log_error("cannot return to netrecd's own network namespace: %m");
		abort();
	}
	close(self);
	return r;
}

struct sock_args {
	int domain, type, protocol;
};

static int make_socket(void *arg)
{
	struct sock_args *a = arg;
	int fd = socket(a->domain, a->type | SOCK_CLOEXEC, a->protocol);

	return fd < 0 ? -errno : fd;
}

int nr_netns_socket(const struct nr_netns *ns, int domain, int type, int protocol)
{
	struct sock_args a = { domain, type, protocol };

	return nr_netns_run(ns, make_socket, &a);
}

/* NLMSG_DONE carries the dump's own status: an error there means the dump stopped early. */
static int dump_done(const struct nlmsghdr *nlh, void *data)
{
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int err = *(const int *)mnl_nlmsg_get_payload(nlh);

		if (err < 0) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

int nr_netns_nl_socket(const struct nr_netns *ns, int type, int proto)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK }, kernel = { .nl_family = AF_NETLINK };
	int fd = nr_netns_socket(ns, AF_NETLINK, type, proto), r;

	if (fd < 0)
		return fd;
	/* Connected to the kernel (port 0): the socket then takes no unicast from any other
	 * port, so a process in the namespace cannot forge replies. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    connect(fd, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int nr_netns_dump(const struct nr_netns *ns, int proto, const void *req, size_t len, void *buf,
		  size_t buflen, int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_DONE] = dump_done };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	const struct nlmsghdr *nlh = req;
	socklen_t sl = sizeof(sa);
	int fd = nr_netns_nl_socket(ns, SOCK_RAW, proto), r = 0;

	if (fd < 0)
		return fd;
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0 || send(fd, req, len, 0) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	for (;;) {
		ssize_t got = recv(fd, buf, buflen, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		r = mnl_cb_run2(buf, (size_t)got, nlh->nlmsg_seq, sa.nl_pid, cb, data, ctl,
				NLMSG_MIN_TYPE);
		if (r <= MNL_CB_STOP) {
			r = r < 0 ? -errno : 0;
			break;
		}
	}
	close(fd);
	return r;
}
