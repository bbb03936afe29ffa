/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers every hook uses: counters, the configuration, attachments (the
 * service-address codec is include/service_addr.h).
 */
#ifndef MDR_BPF_COMMON_H
#define MDR_BPF_COMMON_H

#include "lib/maps.h"
#include "service_addr.h"

static __always_inline void mdr_count(__u32 attach_id, __u32 counter)
{
	struct mdr_pkt_stats *st;

	if (counter >= MDR_PKT_COUNTER_MAX)
		return;
	st = bpf_map_lookup_elem(&mdr_pkt_stats2, &attach_id);
	if (st)
		st->count[counter]++;
}

static __always_inline struct mdr_config *mdr_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mdr_config, &zero);
}

static __always_inline struct mdr_attachment *mdr_attachment_by_id(__u32 id)
{
	return bpf_map_lookup_elem(&mdr_attach, &id);
}

#endif
