// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/lock.h"
#include "lib/log.h"

int mdr_lock(void)
{
	int fd, err;

	if (mkdir(MDR_RUN_DIR, 0755) && errno != EEXIST)
		goto fail;
	fd = open(MDR_RUN_DIR "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	/* flock is released by the kernel if we die: no stale locks. */
	if (flock(fd, LOCK_EX)) {
		close(fd);
		goto fail;
	}
	return fd;
fail:
	err = -errno;
	pr_err("cannot take the lock in %s: %s", MDR_RUN_DIR, strerror(-err));
	return err;
}

void mdr_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
