// SPDX-License-Identifier: MIT
/*
 * netrecd: the network flight recorder daemon. Everything is in the netrecd-core library.
 */
#include <stdio.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

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
	r = nr_daemon_run(&c);
	nr_config_clear(&c);
	return r;
}
