/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A file replaced whole: written under PATH.new, renamed over PATH, so that
 * a reader (another mdredir, an operator's cat) never sees half of it.
 */
#ifndef MDR_FILE_UPDATE_H
#define MDR_FILE_UPDATE_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

struct mdr_file_update {
	FILE *f; /* write the new content here */
	const char *path;
	char tmp[PATH_MAX];
};

/* Opens PATH.new afresh, created with @mode (less the umask). 0 or -errno. */
int mdr_file_update_begin(struct mdr_file_update *u, const char *path,
			  mode_t mode);
/* Puts what was written in place of the path; on any error, nothing. */
int mdr_file_update_end(struct mdr_file_update *u);

#endif
