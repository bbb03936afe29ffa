/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's word to systemd (sd_notify(3)) under a Type=notify unit:
 * READY=1, STATUS=, WATCHDOG=1, STOPPING=1. Without NOTIFY_SOCKET (not
 * started by systemd) every call here does nothing.
 */
#ifndef MDR_NOTIFY_H
#define MDR_NOTIFY_H

struct mdr_state;

/*
 * Starts telling systemd how the daemon fares: a STATUS= line now and on
 * every change, looked at every few seconds from a thread of its own
 * (attachments in @st, which must outlive mdr_notify_stop(), and each
 * source's state). 0 or -errno.
 */
int mdr_notify_start(const struct mdr_state *st);
/*
 * The proxy loop's sign of life, called on its thread at every turn
 * (mdr_proxy_options.on_turn): READY=1 at the first, then WATCHDOG=1 every
 * half of WatchdogSec= if the unit sets it.
 */
void mdr_notify_turn(void *ctx);
/* STOPPING=1, and the status thread stopped. */
void mdr_notify_stop(void);

#endif
