/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who is asking: what the attachment knows about a guest, plus the guest's
 * address. The daemon fills it in from the pinned attachment; the proxy,
 * the cache key, the local backend and the request rewriter read it.
 */
#ifndef MDR_IDENTITY_H
#define MDR_IDENTITY_H

#include <stdint.h>
#include <netinet/in.h> /* INET6_ADDRSTRLEN */

#include "mdredir.h" /* MDR_ID_LEN, MDR_NETNS_LEN, MDR_IFNAME_LEN */

struct mdr_identity {
	uint32_t attach_id;
	char ifname[MDR_IFNAME_LEN];
	char netns[MDR_NETNS_LEN];
	char network_id[MDR_ID_LEN];
	char router_id[MDR_ID_LEN];
	char instance_id[MDR_ID_LEN];
	char project_id[MDR_ID_LEN];
	char vm_ip[INET6_ADDRSTRLEN]; /* the X-Forwarded-For value */
};

#endif
