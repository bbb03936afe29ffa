// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>

#include "check.h"

int check_passed, check_failed;

void check_report(int ok, const char *file, int line, const char *func,
		  const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		check_passed++;
		return;
	}
	check_failed++;
	printf("not ok - %s:%d: %s: ", file, line, func);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
