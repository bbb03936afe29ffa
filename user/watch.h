/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Follows the interfaces the data path is attached to: when one is deleted,
 * or its whole namespace goes, its attachment is removed without an
 * operator having to say so.
 */
#ifndef MDR_WATCH_H
#define MDR_WATCH_H

#include <pthread.h>
#include <signal.h>

struct mdr_watch {
	pthread_t thread;
	volatile sig_atomic_t *stop;
	int started;
};

/* Starts the watcher thread; it ends soon after *stop becomes non-zero. */
int mdr_watch_start(struct mdr_watch *w, volatile sig_atomic_t *stop);
void mdr_watch_join(struct mdr_watch *w);

#endif
