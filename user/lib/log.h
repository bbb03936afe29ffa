/* SPDX-License-Identifier: GPL-2.0-only */
/* Logging to stderr; libbpf's own messages are routed through here too. */
#ifndef MDR_LOG_H
#define MDR_LOG_H

enum mdr_log_level { MDR_LOG_ERR, MDR_LOG_WARN, MDR_LOG_INFO, MDR_LOG_DEBUG };

extern enum mdr_log_level mdr_log_level;

void mdr_log(enum mdr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mdr_log_init(enum mdr_log_level level);
/*
 * From now on this thread's error lines are also kept in buf (cap bytes,
 * one line each, without the "mdredir: error: " prefix, cut when full),
 * to be reported elsewhere (a reload's, to `mdredir reload`); cap 0 stops.
 */
void mdr_log_capture(char *buf, size_t cap);

#define pr_err(...)   mdr_log(MDR_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  mdr_log(MDR_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  mdr_log(MDR_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) mdr_log(MDR_LOG_DEBUG, __VA_ARGS__)

#endif
