/* SPDX-License-Identifier: MIT */
/*
 * Logging for the main loops and commands of both programs (modules return errors and do not
 * log). One line per message on stderr: "netrecd: warning: ...". Thread-safe.
 */
#pragma once

#include <errno.h>

enum nr_log_level {
	NR_LOG_ERROR,
	NR_LOG_WARN,
	NR_LOG_INFO,
	NR_LOG_DEBUG,
};

void nr_log_init(const char *progname, enum nr_log_level level);
void nr_log_set_level(enum nr_log_level level);
enum nr_log_level nr_log_get_level(void);
/* "error", "warn"/"warning", "info", "debug". Returns 0 or -EINVAL. */
int nr_log_level_parse(const char *s, enum nr_log_level *ret);

void nr_log(enum nr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) nr_log(NR_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) nr_log(NR_LOG_WARN, __VA_ARGS__)
#define log_info(...) nr_log(NR_LOG_INFO, __VA_ARGS__)
#define log_debug(...) nr_log(NR_LOG_DEBUG, __VA_ARGS__)

/* Logs and returns the (negative) error, for "return log_error_errno(r, ...)". */
#define log_error_errno(r, ...) (nr_log(NR_LOG_ERROR, __VA_ARGS__), (r) < 0 ? (r) : -(r))
