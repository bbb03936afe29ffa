/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What each backend kind does, as one table: the proxy and the request
 * rewriter ask it instead of switching on the kind.
 */
#ifndef MDR_BACKEND_KINDS_H
#define MDR_BACKEND_KINDS_H

#include <stdbool.h>

#include "backends/spec.h"

struct mdr_backend_ops {
	/* The methods it serves, as the Allow header of a 405 says them. */
	const char *allow;
	/* Relayed to a backend server (whose connections may be pooled and
	 * whose responses may be cached); false: served in-process. */
	bool relayed;
	/* Answers instances only: a guest without an instance id gets 404. */
	bool needs_instance;
	/* Identity headers toward the backend: Nova's Host, X-Instance-ID,
	 * X-Tenant-ID and signature; or neutron's X-Neutron-*-ID. */
	bool nova_headers;
	bool neutron_headers;
};

extern const struct mdr_backend_ops mdr_backend_kinds[];

static inline const struct mdr_backend_ops *
mdr_backend_ops(const struct mdr_backend *be)
{
	return &mdr_backend_kinds[be->kind];
}

#endif
