// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "control/source.h"

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
