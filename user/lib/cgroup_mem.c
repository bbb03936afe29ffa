// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cgroup_mem.h"

/* v1 writes "no limit" as the largest page-aligned value, near 2^63. */
#define V1_UNLIMITED (1ULL << 62)

struct memcg_files {
	const char *root;  /* where the hierarchy is mounted */
	const char *limit; /* file names in each cgroup */
	const char *usage;
};

static const struct memcg_files v2 = { "/sys/fs/cgroup", "memory.max",
				       "memory.current" };
static const struct memcg_files v1 = { "/sys/fs/cgroup/memory",
				       "memory.limit_in_bytes",
				       "memory.usage_in_bytes" };

/* A number from a cgroup file; "max" (v2) and v1's huge value are 0. */
static int read_value(const char *dir, const char *name, uint64_t *v)
{
	char path[PATH_MAX], buf[32];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	*v = strncmp(buf, "max", 3) ? strtoull(buf, NULL, 10) : 0;
	if (*v >= V1_UNLIMITED)
		*v = 0;
	return 0;
}

/* Our cgroup's path in the hierarchy that has the memory controller. */
static const struct memcg_files *find_memcg(char *path, size_t len)
{
	char line[PATH_MAX + 64], *ctrl, *p;
	const struct memcg_files *found = NULL;
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ctrl = strchr(line, ':');
		p = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!p)
			continue;
		*p++ = '\0';
		ctrl++;
		if (!*ctrl &&
		    !access("/sys/fs/cgroup/cgroup.controllers", F_OK))
			found = &v2; /* the unified hierarchy, mounted there */
		else if (!strncmp(ctrl, "memory", 6) || strstr(ctrl, ",memory"))
			found = &v1;
		if (found)
			snprintf(path, len, "%s", p);
	}
	fclose(f);
	return found;
}

int mdr_cgroup_memory(uint64_t *limit, uint64_t *usage)
{
	const struct memcg_files *m;
	char path[PATH_MAX], dir[PATH_MAX * 2], *slash;
	uint64_t v;
	bool any = false;

	*limit = *usage = 0;
	m = find_memcg(path, sizeof(path));
	if (!m)
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%s%s", m->root, path);
	if (read_value(dir, m->usage, usage))
		*usage = 0;
	/* Every ancestor's cap holds us too: the lowest is ours. */
	for (;;) {
		snprintf(dir, sizeof(dir), "%s%s", m->root, path);
		if (!read_value(dir, m->limit, &v)) {
			any = true;
			if (v && (!*limit || v < *limit))
				*limit = v;
		}
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	return any || *usage ? 0 : -ENOENT;
}
