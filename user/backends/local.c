/* SPDX-License-Identifier: GPL-2.0-only */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "backends/local.h"

#define MAX_LISTING_ENTRIES 100000

static int answer(struct mdr_local_reply *r, int status, const char *why)
{
	r->status = status;
	r->why = why;
	r->fd = -1;
	return status;
}

/* An id becomes one path component, so it must be exactly one. */
static bool safe_component(const char *s)
{
	return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Appends the decoded URL path of target to rel, one clean segment at a
 * time. Query and fragment are ignored. Returns 0 or the status to answer.
 */
static int append_url_path(char *rel, size_t cap, struct mdr_str target,
			   const char **why)
{
	size_t len = strlen(rel), seg = len;
	char c;

	for (size_t i = 0; i <= target.n; i++) {
		bool end = i == target.n || target.p[i] == '?' ||
			   target.p[i] == '#';

		c = end ? '/' : target.p[i];
		if (c == '%') {
			int hi = i + 2 < target.n ? hexval(target.p[i + 1])
						  : -1;
			int lo = hi >= 0 ? hexval(target.p[i + 2]) : -1;

			if (lo < 0) {
				*why = "bad percent-encoding in path";
				return 400;
			}
			c = hi * 16 + lo;
			i += 2;
			if (!c) {
				*why = "NUL byte in path";
				return 400;
			}
		}
		if (c == '/') {
			/* Close the segment: drop empty and ".", refuse "..". */
			size_t n = len - seg;

			if (n == 0 || (n == 1 && rel[seg] == '.')) {
				len = seg;
			} else if (n == 2 && !memcmp(rel + seg, "..", 2)) {
				*why = "'..' is not allowed in the path";
				return 400;
			} else {
				if (len + 1 >= cap)
					goto too_long;
				rel[len++] = '/';
				seg = len;
			}
			if (end)
				break;
			continue;
		}
		if (len + 1 >= cap)
			goto too_long;
		rel[len++] = c;
	}
	while (len > 0 && rel[len - 1] == '/')
		len--;
	rel[len] = '\0';
	return 0;
too_long:
	*why = "path too long";
	return 414;
}

static const char *content_type(const char *rel)
{
	size_t n = strlen(rel);

	if (n >= 5 && !strcmp(rel + n - 5, ".json"))
		return "application/json";
	return "text/plain";
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Renders dir_fd's entries, sorted bytewise, one per line with a trailing
 * "/" for directories, into a memfd. Takes dir_fd. Returns the memfd or a
 * negative errno.
 */
static int render_listing(int dir_fd, uint64_t *size)
{
	char **names = NULL, *text = NULL;
	size_t n = 0, cap = 0, total = 0, off = 0;
	struct dirent *de;
	int memfd = -1, ret;
	DIR *d;

	d = fdopendir(dir_fd);
	if (!d) {
		ret = -errno;
		close(dir_fd);
		return ret;
	}
	while ((de = readdir(d))) {
		struct stat st;
		bool is_dir = de->d_type == DT_DIR;
		size_t len = strlen(de->d_name);
		char *name;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    strchr(de->d_name, '\n') || n == MAX_LISTING_ENTRIES)
			continue;
		if (de->d_type == DT_UNKNOWN &&
		    !fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			is_dir = S_ISDIR(st.st_mode);
		if (n == cap) {
			char **grown =
				realloc(names, (cap = cap ? cap * 2 : 64) *
						       sizeof(*names));
			if (!grown)
				goto oom;
			names = grown;
		}
		name = malloc(len + 3);
		if (!name)
			goto oom;
		memcpy(name, de->d_name, len);
		memcpy(name + len, is_dir ? "/\n" : "\n", is_dir ? 3 : 2);
		names[n++] = name;
		total += len + 1 + is_dir;
	}
	/* Sorted as displayed: a directory by its name plus "/". */
	qsort(names, n, sizeof(*names), cmp_names);

	text = malloc(total ? total : 1);
	if (!text)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		memcpy(text + off, names[i], len);
		off += len;
	}
	memfd = memfd_create("mdredir-listing", MFD_CLOEXEC);
	if (memfd < 0 || write(memfd, text, total) != (ssize_t)total) {
		ret = memfd < 0 ? -errno : -EIO;
		goto out;
	}
	*size = total;
	ret = memfd;
	memfd = -1;
	goto out;
oom:
	ret = -ENOMEM;
out:
	if (memfd >= 0)
		close(memfd);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(text);
	closedir(d);
	return ret;
}

int mdr_local_lookup(int base_fd, const struct mdr_identity *id,
		     struct mdr_str target, struct mdr_local_reply *r)
{
	/* RESOLVE_BENEATH: "..", absolute symlinks and symlinks leading out
	 * of the base all fail with EXDEV, checked by the kernel at each step
	 * so a concurrent rename cannot race us out of the tree. */
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	char rel[PATH_MAX];
	const char *why = NULL;
	struct stat st;
	int fd, status;

	if (id->instance_id[0]) {
		if (!safe_component(id->instance_id))
			return answer(r, 404,
				      "instance id is not a usable name");
		snprintf(rel, sizeof(rel), "%s/", id->instance_id);
	} else if (id->network_id[0] || id->router_id[0]) {
		const char *net = id->network_id[0] ? id->network_id
						    : id->router_id;

		if (!safe_component(net) || !safe_component(id->vm_ip))
			return answer(r, 404,
				      "network id is not a usable name");
		snprintf(rel, sizeof(rel), "%s/%s/", net, id->vm_ip);
	} else {
		return answer(
			r, 404,
			"no instance, network or router id for this interface");
	}
	status = append_url_path(rel, sizeof(rel), target, &why);
	if (status)
		return answer(r, status, why);

	fd = syscall(SYS_openat2, base_fd, rel, &how, sizeof(how));
	if (fd < 0) {
		switch (errno) {
		case ENOENT:
		case ENOTDIR: return answer(r, 404, "no such metadata");
		case EXDEV:
		case ELOOP:
			return answer(
				r, 403,
				"path leads outside the metadata directory");
		case EACCES:
		case EPERM: return answer(r, 403, "metadata not readable");
		case ENOSYS:
			return answer(
				r, 500,
				"kernel lacks openat2 (needs Linux 5.6+)");
		default: return answer(r, 500, "cannot open metadata");
		}
	}
	if (fstat(fd, &st)) {
		close(fd);
		return answer(r, 500, "cannot stat metadata");
	}
	if (S_ISDIR(st.st_mode)) {
		fd = render_listing(fd, &r->size);
		if (fd < 0)
			return answer(r, 500, "cannot list metadata directory");
		r->content_type = "text/plain";
	} else if (S_ISREG(st.st_mode)) {
		r->size = st.st_size;
		r->content_type = content_type(rel);
	} else {
		/* FIFOs and devices could block the loop or never end. */
		close(fd);
		return answer(r, 404, "not a regular file");
	}
	r->status = 200;
	r->why = NULL;
	r->fd = fd;
	return 200;
}
