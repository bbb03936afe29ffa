// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/file_update.h"

int mdr_file_update_begin(struct mdr_file_update *u, const char *path,
			  mode_t mode)
{
	int fd;

	u->path = path;
	if ((size_t)snprintf(u->tmp, sizeof(u->tmp), "%s.new", path) >=
	    sizeof(u->tmp))
		return -ENAMETOOLONG;
	/* A .new left by a crash, or planted: never written through. */
	unlink(u->tmp);
	fd = open(u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  mode);
	if (fd < 0)
		return -errno;
	u->f = fdopen(fd, "w");
	if (!u->f) {
		int err = -errno;

		close(fd);
		unlink(u->tmp);
		return err;
	}
	return 0;
}

int mdr_file_update_end(struct mdr_file_update *u)
{
	int err = ferror(u->f) ? -EIO : 0;

	if (fclose(u->f) && !err)
		err = -errno;
	if (!err && rename(u->tmp, u->path))
		err = -errno;
	if (err)
		unlink(u->tmp);
	return err;
}
