// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "lib/log.h"

enum mdr_log_level mdr_log_level = MDR_LOG_INFO;

/* Where this thread's error lines are also kept (mdr_log_capture()). */
static __thread char *capture;
static __thread size_t capture_cap, capture_len;

void mdr_log_capture(char *buf, size_t cap)
{
	capture = cap ? buf : NULL;
	capture_cap = cap;
	capture_len = 0;
	if (capture)
		capture[0] = '\0';
}

static void keep_line(const char *fmt, va_list ap)
{
	size_t room = capture_cap - capture_len;
	int n;

	if (room < 2)
		return;
	n = vsnprintf(capture + capture_len, room - 1, fmt, ap);
	if (n < 0)
		return;
	capture_len += (size_t)n < room - 1 ? (size_t)n : room - 2;
	capture[capture_len++] = '\n';
	capture[capture_len] = '\0';
}

static const char *const level_prefix[] = {
	[MDR_LOG_ERR] = "error: ",
	[MDR_LOG_WARN] = "warning: ",
	[MDR_LOG_INFO] = "",
	[MDR_LOG_DEBUG] = "debug: ",
};

void mdr_log(enum mdr_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > mdr_log_level)
		return;
	/* One line, whole: the proxy's workers log from threads of their
	 * own, and three calls could interleave with another's. */
	flockfile(stderr);
	fprintf(stderr, "mdredir: %s", level_prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	if (capture && level == MDR_LOG_ERR) {
		va_start(ap, fmt);
		keep_line(fmt, ap);
		va_end(ap);
	}
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf is chatty at info level; its warnings matter. */
	if ((level == LIBBPF_DEBUG || level == LIBBPF_INFO) &&
	    mdr_log_level < MDR_LOG_DEBUG)
		return 0;
	/* We create clsact hooks optimistically; EEXIST is expected. */
	if (strstr(fmt, "Exclusivity flag on") ||
	    (level == LIBBPF_WARN &&
	     !strcmp(fmt, "libbpf: Kernel error message: %s\n")))
		return 0;
	fputs("mdredir: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void mdr_log_init(enum mdr_log_level level)
{
	mdr_log_level = level;
	libbpf_set_print(libbpf_print);
}
