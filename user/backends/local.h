/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The embedded "local:DIR" backend: metadata files served straight from a
 * directory tree, one subdirectory per instance (or per network/router and
 * guest address).
 */
#ifndef MDR_LOCAL_H
#define MDR_LOCAL_H

#include <stdint.h>

#include "http/parser.h"
#include "lib/identity.h"

struct mdr_local_reply {
	int status;		  /* 200, or the error to answer */
	const char *why;	  /* one line for the error body */
	int fd;			  /* 200: where the body comes from; else -1 */
	uint64_t size;		  /* 200: body length */
	const char *content_type; /* 200: application/json or text/plain */
};

/*
 * Resolves a request target for id beneath base_fd (an O_PATH descriptor of
 * DIR). Files are opened, never read here: the caller streams them with
 * sendfile. A directory's listing (entries sorted bytewise, one per line,
 * directories with a trailing "/") is rendered once into a memfd so it
 * streams the same way. Content type: application/json for *.json,
 * text/plain for everything else. Returns the status also in r->status.
 */
int mdr_local_lookup(int base_fd, const struct mdr_identity *id,
		     struct mdr_str target, struct mdr_local_reply *r);

#endif
