/* SPDX-License-Identifier: GPL-2.0-only */
/* `mdredir list` and `mdredir stats`: read the pinned maps, print them. */
#ifndef MDR_SHOW_H
#define MDR_SHOW_H

#include <stdbool.h>

int mdr_show_list(bool json);
int mdr_show_stats(bool json);

#endif
