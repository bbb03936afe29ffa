/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Follows the interfaces the data path is attached to: when one is deleted,
 * or its whole namespace goes, its attachment is removed without an
 * operator having to say so. Puts the pins, and the proxy namespace's
 * name, back if they are removed.
 */
#ifndef MDR_WATCH_H
#define MDR_WATCH_H

#include <pthread.h>
#include <signal.h>

struct mdr_ovn_config;
struct mdr_state;

struct mdr_watch {
	pthread_t thread;
	const char *proxy_netns; /* where its event socket lives */
	unsigned int sources;	 /* bit 1 << enum mdr_source of each to run */
	const struct mdr_ovn_config *ovn; /* the ovn source's, if it runs */
	volatile sig_atomic_t *stop;
	int started;
	/* The daemon's descriptors of every pinned object, and of the
	 * proxy namespace, set before mdr_watch_start(): pinned, or named,
	 * again when their pins, or its name, go. */
	const struct mdr_state *held;
	int proxy_netns_fd;
};

/*
 * Starts the watcher thread, and with it the @sources (attach_from) that
 * follow the control plane, the ovn one with @ovn; it ends soon after
 * *stop becomes non-zero. proxy_netns and @ovn must outlive it.
 */
int mdr_watch_start(struct mdr_watch *w, const char *proxy_netns,
		    unsigned int sources, const struct mdr_ovn_config *ovn,
		    volatile sig_atomic_t *stop);
void mdr_watch_join(struct mdr_watch *w);

#endif
