/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A batch file: one command's arguments per line, split at whitespace (no
 * quoting: names and ids never hold spaces). Blank lines and lines whose
 * first word starts with '#' are skipped.
 */
#ifndef MDR_BATCH_H
#define MDR_BATCH_H

#include <stddef.h>
#include <stdio.h>

struct mdr_batch_line {
	unsigned int lineno;
	int argc;
	char **argv; /* argv[0] is a label, "FILE:LINE" */
};

struct mdr_batch {
	struct mdr_batch_line *lines;
	size_t n;
};

/* Reads all of @f; @name labels its lines. -errno (-ENOMEM, a read error). */
int mdr_batch_read(FILE *f, const char *name, struct mdr_batch *batch);
void mdr_batch_free(struct mdr_batch *batch);

#endif
