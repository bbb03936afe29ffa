// SPDX-License-Identifier: GPL-2.0-only
#include "backends/kinds.h"

const struct mdr_backend_ops mdr_backend_kinds[] = {
	[MDR_BACKEND_LOCAL] = {
		.allow = "GET, HEAD",
	},
	[MDR_BACKEND_NEUTRON] = {
		.allow = "GET, HEAD, POST",
		.relayed = true,
		.neutron_headers = true,
	},
	[MDR_BACKEND_NOVA] = {
		.allow = "GET, HEAD, POST",
		.relayed = true,
		.needs_instance = true,
		.nova_headers = true,
	},
};
