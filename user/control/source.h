/* SPDX-License-Identifier: GPL-2.0-only */
/* The sources of attachments (enum mdr_source) by name. */
#ifndef MDR_SOURCE_H
#define MDR_SOURCE_H

#include "mdredir.h"

/* "cli", "ovn", "neutron-namespaces"; "unknown" for anything else. */
const char *mdr_source_name(unsigned int source);
/* The source called @name (as above); -EINVAL if none is. */
int mdr_source_parse(const char *name, enum mdr_source *source);

#endif
