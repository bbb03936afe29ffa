/* SPDX-License-Identifier: GPL-2.0-only */
/* The sources of attachments (enum mdr_source) by name. */
#ifndef MDR_SOURCE_H
#define MDR_SOURCE_H

#include <stdbool.h>

#include "mdredir.h"

/* "cli", "ovn", "neutron-namespaces"; "unknown" for anything else. */
const char *mdr_source_name(unsigned int source);
/* The source called @name (as above); -EINVAL if none is. */
int mdr_source_parse(const char *name, enum mdr_source *source);

/*
 * What a running source says of itself, for `stats`: kept by the daemon
 * in MDR_RUN_DIR/source-NAME while it runs that source.
 */
struct mdr_source_status {
	bool connected;		   /* reaches what it follows */
	bool synced;		   /* has looked at everything once */
	long long last_sync;	   /* unix time of its last sync; 0: none */
	unsigned long long errors; /* attachments it could not make */
	char last_error[256];	   /* "" if none */
};

/* Replaces the source's status file (atomically). */
int mdr_source_status_write(enum mdr_source source,
			    const struct mdr_source_status *status);
/* -ENOENT unless a running daemon runs @source. */
int mdr_source_status_read(enum mdr_source source,
			   struct mdr_source_status *status);
void mdr_source_status_remove(enum mdr_source source);

struct mdr_state;

/*
 * What `stats` and the daemon's status to systemd say of the sources: the
 * pinned attachments counted by source, and each source's own word.
 */
struct mdr_source_report {
	unsigned int attachments;		 /* all of them */
	unsigned int per_source[MDR_SOURCE_MAX]; /* each source's */
	bool running[MDR_SOURCE_MAX];		 /* a running daemon runs it */
	struct mdr_source_status status[MDR_SOURCE_MAX]; /* if running */
};

/* Fills @r; @st NULL (nothing pinned) counts no attachments. */
int mdr_source_report(const struct mdr_state *st, struct mdr_source_report *r);
/* Whether @source is worth a word: it runs, or owns attachments (never cli). */
bool mdr_source_reported(const struct mdr_source_report *r,
			 unsigned int source);

#endif
