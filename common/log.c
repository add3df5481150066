// SPDX-License-Identifier: MIT
/*
 * Logging: one line per message on stderr, prefixed by the program name and the level.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static const char *log_prog = "netrec";
static enum nr_log_level log_level = NR_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void nr_log_init(const char *progname, enum nr_log_level level)
{
	log_prog = progname;
	log_level = level;
}

void nr_log_set_level(enum nr_log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum nr_log_level nr_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int nr_log_level_parse(const char *s, enum nr_log_level *ret)
{
	static const struct {
		const char *name;
		enum nr_log_level level;
	} names[] = {
		{ "error", NR_LOG_ERROR }, { "warn", NR_LOG_WARN }, { "warning", NR_LOG_WARN },
		{ "info", NR_LOG_INFO },   { "debug", NR_LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0) {
			*ret = names[i].level;
			return 0;
		}
	return -EINVAL;
}

void nr_log(enum nr_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	int saved = errno;
	va_list ap;

	if (level > nr_log_get_level())
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: %s", log_prog, prefix[level]);
	va_start(ap, fmt);
	errno = saved; /* so %m works */
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}
