// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/reload_status.h"
#include "lib/file_update.h"

int mdr_reload_status_write(const struct mdr_reload_status *rs)
{
	const char *line = rs->errors, *end;
	struct mdr_file_update u;
	int err;

	err = mdr_file_update_begin(&u, MDR_RELOAD_STATUS_FILE, 0666);
	if (err)
		return err;
	fprintf(u.f, "pid %d\ngeneration %lu\nresult %s\n", (int)rs->pid,
		rs->generation, rs->ok ? "ok" : "failed");
	for (; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		fprintf(u.f, "error %.*s\n", (int)(end - line), line);
	}
	return mdr_file_update_end(&u);
}

int mdr_reload_status_read(struct mdr_reload_status *rs)
{
	char line[1024];
	size_t used = 0;
	int fields = 0;
	FILE *f;

	memset(rs, 0, sizeof(*rs));
	f = fopen(MDR_RELOAD_STATUS_FILE, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "pid ", 4)) {
			rs->pid = atoi(line + 4);
			fields++;
		} else if (!strncmp(line, "generation ", 11)) {
			rs->generation = strtoul(line + 11, NULL, 10);
			fields++;
		} else if (!strncmp(line, "result ", 7)) {
			rs->ok = !strcmp(line + 7, "ok");
			fields++;
		} else if (!strncmp(line, "error ", 6)) {
			n = strlen(line + 6);
			if (used + n + 2 > sizeof(rs->errors))
				continue;
			memcpy(rs->errors + used, line + 6, n);
			used += n;
			rs->errors[used++] = '\n';
			rs->errors[used] = '\0';
		}
	}
	fclose(f);
	return fields == 3 ? 0 : -EBADMSG;
}

void mdr_reload_status_remove(void)
{
	unlink(MDR_RELOAD_STATUS_FILE);
}
