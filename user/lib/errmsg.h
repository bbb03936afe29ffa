/* SPDX-License-Identifier: GPL-2.0-only */
/* The error path of functions that hand their message to the caller. */
#ifndef MDR_ERRMSG_H
#define MDR_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Writes the message into @err (when there is one) and returns @ret. */
static inline __attribute__((format(printf, 4, 5))) int
mdr_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

#endif
