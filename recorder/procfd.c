// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfd.h"

static void read_comm(int pid, char *comm)
{
	char path[32];
	int fd;
	ssize_t n;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, NR_COMMSIZ - 1);
	close(fd);
	if (n <= 0)
		n = 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static int want_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct nr_procfd_want *)a)->inode, y = ((const struct nr_procfd_want *)b)->inode;

	return x < y ? -1 : x > y;
}

void nr_procfd_owners(struct nr_procfd_want *w, size_t n)
{
	DIR *proc;
	struct dirent *de;
	size_t left = n;

	if (!n)
		return;
	qsort(w, n, sizeof(*w), want_cmp);
	proc = opendir("/proc");
	if (!proc)
		return;
	while (left && (de = readdir(proc))) {
		char path[64];
		int pid = atoi(de->d_name), dfd;
		DIR *fds;
		struct dirent *fe;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		fds = fdopendir(dfd);
		if (!fds) {
			close(dfd);
			continue;
		}
		while ((fe = readdir(fds))) {
			char link[64];
			ssize_t len;
			struct nr_procfd_want key, *hit;

			if (fe->d_name[0] == '.')
				continue;
			len = readlinkat(dfd, fe->d_name, link, sizeof(link) - 1);
			if (len < 10 || memcmp(link, "socket:[", 8) != 0)
				continue;
			link[len] = '\0';
			key.inode = strtoull(link + 8, NULL, 10);
			hit = bsearch(&key, w, n, sizeof(*w), want_cmp);
			/* Equal inodes are next to each other: fill every one of them. */
			while (hit && hit > w && hit[-1].inode == key.inode)
				hit--;
			for (; hit && hit < w + n && hit->inode == key.inode; hit++) {
				if (hit->found)
					continue;
				hit->found = true;
				hit->owner->pid = pid;
				read_comm(pid, hit->owner->comm);
				left--;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

