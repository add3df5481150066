// SPDX-License-Identifier: MIT
/*
 * netrecd: the network flight recorder daemon. Everything is in the netrecd-core library.
 */
#include <stdio.h>
#include <sys/resource.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

/* Sockets per recorded namespace add up: take the hard limit, not the 1024 soft default. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct nr_config c;
	char err[1024] = "";
	int r;

	nr_log_init("netrecd", NR_LOG_INFO);
	nr_config_init(&c);
	r = nr_config_parse_args(&c, argc, argv, err, sizeof(err));
	if (r != 0) {
		if (r < 0)
			log_error("%s", err);
		nr_config_clear(&c);
		return r < 0 ? 2 : 0;
	}
	nr_log_set_level(c.log_level);
	raise_fd_limit();
	r = nr_daemon_run(&c);
	nr_config_clear(&c);
	return r;
}
