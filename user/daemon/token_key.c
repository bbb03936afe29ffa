// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "daemon/token_key.h"
#include "lib/file_update.h"
#include "lib/log.h"

/* What was in path, if it is a key only root could have written. */
static int read_key(const char *path, struct mdr_token_key *key,
		    const char **why)
{
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
	} else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		   (st.st_mode & 077)) {
		*why = "is not a file only we can read and write";
		err = -EPERM;
	} else if (st.st_size != sizeof(key->k)) {
		*why = "does not hold a key";
		err = -EINVAL;
	} else {
		n = read(fd, key->k, sizeof(key->k));
		if (n != (ssize_t)sizeof(key->k))
			err = n < 0 ? -errno : -EIO;
	}
	close(fd);
	return err;
}

/* A fresh key, written whole under another name and renamed into place. */
static int make_key(const char *path, struct mdr_token_key *key)
{
	struct mdr_file_update u;
	int err;

	if (getrandom(key->k, sizeof(key->k), 0) != (ssize_t)sizeof(key->k))
		return -errno ?: -EIO;
	err = mdr_file_update_begin(&u, path, 0600);
	if (err)
		return err;
	fwrite(key->k, sizeof(key->k), 1, u.f);
	return mdr_file_update_end(&u);
}

int mdr_token_key_load(const char *path, struct mdr_token_key *key)
{
	const char *why = NULL;
	int err;

	err = read_key(path, key, &why);
	if (!err)
		return 0;
	if (err != -ENOENT)
		pr_warn("%s %s: replaced by a new key; IMDS tokens issued "
			"before are void, and their guests get 401 until "
			"they ask for new ones",
			path, why ?: strerror(-err));
	err = make_key(path, key);
	if (err)
		pr_err("cannot make the IMDS token key %s: %s", path,
		       strerror(-err));
	return err;
}
