/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the proxy sends a guest's request: a directory served in-process, or
 * a neutron-metadata-agent reached over a unix socket or plain HTTP.
 */
#ifndef MDR_BACKEND_H
#define MDR_BACKEND_H

#include <limits.h>
#include <stddef.h>
#include <sys/socket.h>

enum mdr_backend_kind {
	MDR_BACKEND_LOCAL,   /* local:DIR */
	MDR_BACKEND_NEUTRON, /* neutron:unix:PATH or neutron:http://HOST:PORT */
};

struct mdr_backend {
	enum mdr_backend_kind kind;
	char dir[PATH_MAX];           /* local: the base directory, as given */
	struct sockaddr_storage addr; /* neutron: AF_UNIX, AF_INET or AF_INET6 */
	socklen_t addrlen;
};

#define MDR_BACKEND_FORMS \
	"local:DIR, neutron:unix:PATH, neutron:http://HOST[:PORT]"

/*
 * Parses a --backend value. Host names are resolved now, once, so a typo
 * fails at startup rather than on the first guest request. Returns 0, or a
 * negative errno with a message for humans in err.
 */
int mdr_backend_parse(const char *spec, struct mdr_backend *out, char *err,
		      size_t errlen);

/* Writes a short description ("neutron:unix:/run/x") for logs. */
void mdr_backend_describe(const struct mdr_backend *be, char *buf,
			  size_t len);

#endif
