/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How the daemon's last reload went, for `mdredir reload`: a small file in
 * MDR_RUN_DIR, replaced whole (rename) after each reload, so a reader sees
 * one reload's outcome or the one before, never half of one. The
 * generation counts the daemon's reloads, tried ones too: the CLI waits
 * for it to move past what it read before sending SIGHUP.
 */
#ifndef MDR_RELOAD_STATUS_H
#define MDR_RELOAD_STATUS_H

#include <stdbool.h>
#include <sys/types.h>

#include "control/lock.h"

#define MDR_RELOAD_STATUS_FILE MDR_RUN_DIR "/reload.status"

struct mdr_reload_status {
	pid_t pid;		  /* the daemon's */
	unsigned long generation; /* 0: started, no reload yet */
	bool ok;		  /* the configuration read was taken */
	char errors[4096];	  /* why not: the error lines, one per line */
};

/* 0 or -errno. */
int mdr_reload_status_write(const struct mdr_reload_status *rs);
/* 0, -ENOENT when no daemon wrote one, -EBADMSG if it is not ours. */
int mdr_reload_status_read(struct mdr_reload_status *rs);
void mdr_reload_status_remove(void);

#endif
