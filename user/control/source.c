// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/lock.h"
#include "control/pinned_state.h"
#include "control/source.h"
#include "lib/file_update.h"

static const char *const names[MDR_SOURCE_MAX] = {
	[MDR_SOURCE_CLI] = "cli",
	[MDR_SOURCE_OVN] = "ovn",
	[MDR_SOURCE_NEUTRON_NS] = "neutron-namespaces",
};

const char *mdr_source_name(unsigned int source)
{
	return source < MDR_SOURCE_MAX ? names[source] : "unknown";
}

int mdr_source_parse(const char *name, enum mdr_source *source)
{
	for (unsigned int i = 0; i < MDR_SOURCE_MAX; i++) {
		if (!strcmp(name, names[i])) {
			*source = i;
			return 0;
		}
	}
	return -EINVAL;
}

static void status_path(enum mdr_source source, char *buf, size_t len)
{
	snprintf(buf, len, "%s/source-%s", MDR_RUN_DIR,
		 mdr_source_name(source));
}

int mdr_source_status_write(enum mdr_source source,
			    const struct mdr_source_status *status)
{
	struct mdr_file_update u;
	char path[128];
	int err;

	status_path(source, path, sizeof(path));
	if (mkdir(MDR_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	err = mdr_file_update_begin(&u, path, 0666);
	if (err)
		return err;
	/* One "key value" a line; the error, last, runs to the line's end. */
	fprintf(u.f,
		"connected %d\nsynced %d\nlast_sync %lld\nerrors %llu\n"
		"last_error %s\n",
		status->connected, status->synced, status->last_sync,
		status->errors, status->last_error);
	return mdr_file_update_end(&u);
}

int mdr_source_status_read(enum mdr_source source,
			   struct mdr_source_status *status)
{
	char path[128], line[512];
	int connected = 0, synced = 0, err = 0;
	FILE *f;

	memset(status, 0, sizeof(*status));
	/* A daemon killed outright leaves its file: it says nothing now. */
	if (!mdr_daemon_pid())
		return -ENOENT;
	status_path(source, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "connected %d", &connected) == 1 ||
		    sscanf(line, "synced %d", &synced) == 1 ||
		    sscanf(line, "last_sync %lld", &status->last_sync) == 1 ||
		    sscanf(line, "errors %llu", &status->errors) == 1)
			continue;
		if (!strncmp(line, "last_error ", 11)) {
			size_t n = strnlen(line + 11,
					   sizeof(status->last_error) - 1);

			memcpy(status->last_error, line + 11, n);
			status->last_error[n] = '\0';
		}
	}
	if (ferror(f))
		err = -EIO;
	fclose(f);
	status->connected = connected;
	status->synced = synced;
	return err;
}

void mdr_source_status_remove(enum mdr_source source)
{
	char path[128];

	status_path(source, path, sizeof(path));
	unlink(path);
}

static int count_one(__u32 id, const struct mdr_attachment *att, void *data)
{
	struct mdr_source_report *r = data;

	(void)id;
	r->attachments++;
	if (att->source < MDR_SOURCE_MAX)
		r->per_source[att->source]++;
	return 0;
}

int mdr_source_report(const struct mdr_state *st, struct mdr_source_report *r)
{
	int err = 0;

	memset(r, 0, sizeof(*r));
	if (st)
		err = mdr_state_for_each_attachment(st, count_one, r);
	for (unsigned int i = 0; i < MDR_SOURCE_MAX; i++)
		r->running[i] = i != MDR_SOURCE_CLI &&
				!mdr_source_status_read(i, &r->status[i]);
	return err;
}

bool mdr_source_reported(const struct mdr_source_report *r, unsigned int source)
{
	return source != MDR_SOURCE_CLI &&
	       (r->running[source] || r->per_source[source]);
}
