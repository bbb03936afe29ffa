// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

/* A daemon holds an flock on its pid file for as long as it runs. */
pid_t mdr_daemon_pid(void)
{
	char buf[32] = "";
	pid_t pid = 0;
	int fd;

	fd = open(MDR_PID_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd); /* nobody holds it: stale file */
		return 0;
	}
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		pid = atoi(buf);
	close(fd);
	return pid > 1 ? pid : 0;
}

int mdr_await_daemon(bool (*done)(const void *arg), const void *arg,
		     const char *what)
{
	pid_t pid;

	for (int i = 0; !done(arg); i++) {
		pid = mdr_daemon_pid();
		if (!pid || pid == getpid())
			return 0;
		if (i == MDR_DAEMON_REPAIR_MS / 50) {
			pr_err("the daemon (pid %d) did not %s within %d s: "
			       "its log says why; not going on without it",
			       pid, what, MDR_DAEMON_REPAIR_MS / 1000);
			return -ETIMEDOUT;
		}
		if (!i)
			pr_info("waiting for the daemon (pid %d) to %s", pid,
				what);
		usleep(50 * 1000);
	}
	return 0;
}
