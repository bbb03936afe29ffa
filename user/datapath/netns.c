// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "mdredir.h"
#include "datapath/netlink.h"
#include "datapath/netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The namespace the process started in; "host" from mdredir's view. */
static int host_netns_fd = -1;

/* Must run before the first setns(): remembers where "host" is. */
int mdr_netns_init(void)
{
	if (host_netns_fd < 0)
		host_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return host_netns_fd < 0 ? -errno : 0;
}

static int host_fd(void)
{
	return host_netns_fd;
}

bool mdr_netns_is_host(const char *name)
{
	return !name || !name[0];
}

int mdr_netns_valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= MDR_NETNS_LEN || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f)
			return -EINVAL;
	return 0;
}

static void netns_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", MDR_NETNS_RUN_DIR, name);
}

bool mdr_netns_exists(const char *name)
{
	char path[256];

	if (mdr_netns_is_host(name))
		return true;
	netns_path(name, path, sizeof(path));
	return access(path, F_OK) == 0;
}

int mdr_netns_open(const char *name)
{
	char path[256];
	int fd;

	if (mdr_netns_is_host(name)) {
		fd = host_fd();
		return fd < 0 ? -EBADF : fcntl(fd, F_DUPFD_CLOEXEC, 0);
	}
	if (mdr_netns_valid_name(name))
		return -EINVAL;
	netns_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int mdr_netns_hold(const char *name)
{
	struct mdr_netns_saved saved;
	int fd, err;

	err = mdr_netns_enter(name, &saved);
	if (err)
		return err;
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? -errno : fd;
	mdr_netns_leave(&saved);
	return err;
}

int mdr_netns_enter_fd(int fd, struct mdr_netns_saved *saved)
{
	saved->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved->fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		int err = -errno;

		close(saved->fd);
		saved->fd = -1;
		return err;
	}
	return 0;
}

int mdr_netns_enter(const char *name, struct mdr_netns_saved *saved)
{
	int fd = mdr_netns_open(name), err;

	saved->fd = -1;
	if (fd < 0)
		return fd;
	err = mdr_netns_enter_fd(fd, saved);
	close(fd);
	return err;
}

void mdr_netns_leave(struct mdr_netns_saved *saved)
{
	if (saved->fd < 0)
		return;
	/* Cannot fail for a namespace we were just in: it is still alive. */
	if (setns(saved->fd, CLONE_NEWNET))
		pr_err("cannot return to the original network namespace: %s",
		       strerror(errno));
	close(saved->fd);
	saved->fd = -1;
}

/*
 * Makes /run/netns a shared mount point, as iproute2 does, so namespaces
 * bound there are seen from every mount namespace.
 */
static int prepare_run_dir(void)
{
	if (mkdir(MDR_NETNS_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (mount("", MDR_NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (mount(MDR_NETNS_RUN_DIR, MDR_NETNS_RUN_DIR, "none",
		  MS_BIND | MS_REC, NULL))
		return -errno;
	if (mount("", MDR_NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL))
		return -errno;
	return 0;
}

/* Names the namespace at @src (a /proc path) @name, by a bind mount. */
static int bind_name(const char *src, const char *name)
{
	char path[256];
	int fd, err;

	err = prepare_run_dir();
	if (err)
		return err;
	netns_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	if (mount(src, path, "none", MS_BIND, NULL)) {
		err = -errno;
		unlink(path);
		return err;
	}
	return 0;
}

int mdr_netns_create(const char *name)
{
	struct mdr_netns_saved saved;
	int err;

	if (mdr_netns_valid_name(name))
		return -EINVAL;
	saved.fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved.fd < 0)
		return -errno;
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		close(saved.fd);
		return err;
	}
	/* Unnamed, the new namespace goes when we leave it. */
	err = bind_name("/proc/thread-self/ns/net", name);
	mdr_netns_leave(&saved);
	return err;
}

/*
 * Whether a name bound under /run/netns here is seen by the mount
 * namespace ours came from: not when the mount it would land on is a
 * slave of that one's, whose mounts never propagate back (a systemd
 * unit's mount namespace: MountFlags=slave, ProtectSystem=). The last
 * mount listed on the longest prefix of the path is the one on top.
 */
static bool names_reach_master(void)
{
	char line[1024], at[256] = "", mnt[256], *end;
	bool slave = false;
	size_t len;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return true;
	/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - ... */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
			continue;
		len = strlen(mnt);
		if (strncmp(MDR_NETNS_RUN_DIR, mnt, len) ||
		    (len > 1 && MDR_NETNS_RUN_DIR[len] &&
		     MDR_NETNS_RUN_DIR[len] != '/') ||
		    len < strlen(at))
			continue;
		end = strstr(line, " - ");
		if (end)
			*end = '\0';
		slave = strstr(line, " master:") != NULL;
		snprintf(at, sizeof(at), "%s", mnt);
	}
	fclose(f);
	return !slave;
}

int mdr_netns_keep_name(int fd, const char *name)
{
	char src[64];
	struct stat sb;
	ino_t ino;
	int err;

	if (fstat(fd, &sb))
		return -errno;
	ino = mdr_netns_ino(name);
	if (ino == sb.st_ino)
		return 0;
	if (ino != (ino_t)-1)
		return -EEXIST;
	/* Seen by us alone, the name would leave an empty file for all
	 * the others, which no command could enter. */
	if (!names_reach_master())
		return -EXDEV;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	err = bind_name(src, name);
	return err ?: 1;
}

int mdr_netns_delete(const char *name)
{
	char path[256];

	if (mdr_netns_valid_name(name))
		return -EINVAL;
	netns_path(name, path, sizeof(path));
	if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		return -errno;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int mdr_netns_cookie(__u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd, err = 0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

int mdr_sysctl_write(const char *path, const char *value)
{
	char full[256];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -errno : 0;
}

int mdr_netns_for_each(int (*fn)(const char *name, void *ctx), void *ctx)
{
	struct dirent *de;
	DIR *dir;
	int err = 0;

	dir = opendir(MDR_NETNS_RUN_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		err = fn(de->d_name, ctx);
		if (err)
			break;
	}
	closedir(dir);
	return err;
}

int mdr_netns_id_in(const char *in, const char *name)
{
	struct mdr_netns_saved saved;
	int fd, id;

	fd = mdr_netns_open(name);
	if (fd < 0)
		return fd;
	id = mdr_netns_enter(in, &saved);
	if (!id) {
		id = mdr_nl_netns_id(fd);
		mdr_netns_leave(&saved);
	}
	close(fd);
	return id;
}

ino_t mdr_netns_ino(const char *name)
{
	char path[sizeof(MDR_NETNS_RUN_DIR) + MDR_NETNS_LEN + 1];
	struct stat sb;

	if (mdr_netns_is_host(name))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", MDR_NETNS_RUN_DIR, name);
	return stat(path, &sb) ? (ino_t)-1 : sb.st_ino;
}
