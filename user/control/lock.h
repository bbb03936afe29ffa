/* SPDX-License-Identifier: GPL-2.0-only */
/* One lock serialises every command that changes the data path. */
#ifndef MDR_LOCK_H
#define MDR_LOCK_H

#define MDR_RUN_DIR	     "/run/mdredir"
#define MDR_PID_FILE	     MDR_RUN_DIR "/daemon.pid"
/* The IMDS token key (daemon/token_key.h): gone with the attachments. */
#define MDR_TOKEN_KEY_FILE   MDR_RUN_DIR "/imds-token.key"
/* A running daemon repairs what it is known by within a second (its
 * watcher's rescan): commands wait this long for it. */
#define MDR_DAEMON_REPAIR_MS 3000

#include <stdbool.h>
#include <sys/types.h>

/* Returns a lock fd to pass to mdr_unlock(), or -errno. */
int mdr_lock(void);
void mdr_unlock(int fd);
/* The pid of the running daemon, 0 if none runs. */
pid_t mdr_daemon_pid(void);
/*
 * Waits, up to MDR_DAEMON_REPAIR_MS, for @done(@arg) while a daemon other
 * than the caller runs: for what it puts back by itself (its pins, its
 * namespace's name). Says once that it waits for it "to @what". 0 when
 * done, or no other daemon runs; -ETIMEDOUT (said) when it never was.
 */
int mdr_await_daemon(bool (*done)(const void *arg), const void *arg,
		     const char *what);

#endif
