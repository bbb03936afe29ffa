/* SPDX-License-Identifier: GPL-2.0-only */
/* The one clock of timers and timeouts: monotonic, in milliseconds. */
#ifndef MDR_CLOCK_H
#define MDR_CLOCK_H

#include <time.h>

static inline long long mdr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

#endif
