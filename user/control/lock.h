/* SPDX-License-Identifier: GPL-2.0-only */
/* One lock serialises every command that changes the data path. */
#ifndef MDR_LOCK_H
#define MDR_LOCK_H

#define MDR_RUN_DIR  "/run/mdredir"
#define MDR_PID_FILE MDR_RUN_DIR "/daemon.pid"

#include <sys/types.h>

/* Returns a lock fd to pass to mdr_unlock(), or -errno. */
int mdr_lock(void);
void mdr_unlock(int fd);
/* The pid of the running daemon, 0 if none runs. */
pid_t mdr_daemon_pid(void);

#endif
