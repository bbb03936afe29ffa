/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers every hook uses: counters and service-pool arithmetic. */
#ifndef MDR_BPF_COMMON_H
#define MDR_BPF_COMMON_H

#include "lib/maps.h"

static __always_inline void mdr_count(__u32 attach_id, __u32 counter)
{
	struct mdr_pkt_stats *st;

	if (counter >= MDR_PKT_COUNTER_MAX)
		return;
	st = bpf_map_lookup_elem(&mdr_pkt_stats, &attach_id);
	if (st)
		st->count[counter]++;
}

static __always_inline struct mdr_config *mdr_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mdr_config, &zero);
}

/*
 * The attachment id a service address stands for, or 0 when the address is
 * not in the pool: service address = pool base + id.
 */
static __always_inline __u32 mdr_service_id(const struct mdr_config *cfg,
					    __be32 addr)
{
	__u32 host = bpf_ntohl(addr), base = bpf_ntohl(cfg->pool_addr);
	__u32 mask;

	if (cfg->pool_prefix == 0 || cfg->pool_prefix > 30)
		return 0;
	mask = ~0U << (32 - cfg->pool_prefix);
	if ((host & mask) != (base & mask))
		return 0;
	host -= base;
	if (host == 0 || host > MDR_MAX_ATTACH)
		return 0;
	return host;
}

/* The same for the IPv6 pool: its first 96 bits, then the id. */
static __always_inline __u32 mdr_service6_id(const struct mdr_config *cfg,
					     const __u8 *addr)
{
	__u32 id;

	if (cfg->pool6_prefix == 0)
		return 0;
	for (int i = 0; i < 12; i++)
		if (addr[i] != cfg->pool6_addr[i])
			return 0;
	id = (__u32)addr[12] << 24 | (__u32)addr[13] << 16 |
	     (__u32)addr[14] << 8 | addr[15];
	return id <= MDR_MAX_ATTACH ? id : 0;
}

static __always_inline struct mdr_attachment *mdr_attachment_by_id(__u32 id)
{
	return bpf_map_lookup_elem(&mdr_attach, &id);
}

#endif
