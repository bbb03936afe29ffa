/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The service address of an attachment, both ways: attachment id <->
 * pool + id, in the IPv4 pool and in the low 32 bits of the IPv6 pool
 * alike. One codec for `attach`, which hands the addresses out, for the
 * BPF programs, which find a reply's attachment by its source, and for the
 * daemon, which finds a connection's attachment by the address it came
 * in on. Addresses are in network order, as packets and struct
 * mdr_config hold them; the byte order is spelled out byte by byte, so
 * the same code compiles for BPF and for userspace without either's
 * helpers.
 */
#ifndef MDR_SERVICE_ADDR_H
#define MDR_SERVICE_ADDR_H

#include <linux/types.h>

#include "mdredir.h"

#define MDR_CODEC static inline __attribute__((always_inline))

MDR_CODEC __u32 mdr_load_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

MDR_CODEC void mdr_store_be32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Attachment @id's IPv4 service address: pool + id. */
MDR_CODEC __be32 mdr_service_addr4(const struct mdr_config *cfg, __u32 id)
{
	__u8 b[4];
	__be32 addr;

	__builtin_memcpy(b, &cfg->pool_addr, 4);
	mdr_store_be32(b, mdr_load_be32(b) + id);
	__builtin_memcpy(&addr, b, 4);
	return addr;
}

/* Its IPv6 service address: the pool's first 96 bits, then the id. */
MDR_CODEC void mdr_service_addr6(const struct mdr_config *cfg, __u32 id,
				 __u8 addr[16])
{
	__builtin_memcpy(addr, cfg->pool6_addr, 12);
	mdr_store_be32(addr + 12, id);
}

/*
 * The attachment id an IPv4 address stands for, or 0 when it is not in
 * the pool (prefix and all) or names no possible attachment.
 */
MDR_CODEC __u32 mdr_service_id4(const struct mdr_config *cfg, __be32 addr)
{
	__u8 a[4], p[4];
	__u32 host, base, mask;

	if (cfg->pool_prefix == 0 || cfg->pool_prefix > 30)
		return 0;
	__builtin_memcpy(a, &addr, 4);
	__builtin_memcpy(p, &cfg->pool_addr, 4);
	host = mdr_load_be32(a);
	base = mdr_load_be32(p);
	mask = ~0U << (32 - cfg->pool_prefix);
	if ((host & mask) != (base & mask))
		return 0;
	host -= base;
	if (host == 0 || host > MDR_MAX_ATTACH)
		return 0;
	return host;
}

/* The same for the IPv6 pool: its first 96 bits, then the id. */
MDR_CODEC __u32 mdr_service_id6(const struct mdr_config *cfg, const __u8 *addr)
{
	__u32 id;

	if (cfg->pool6_prefix == 0)
		return 0;
	for (int i = 0; i < 12; i++)
		if (addr[i] != cfg->pool6_addr[i])
			return 0;
	id = mdr_load_be32(addr + 12);
	return id <= MDR_MAX_ATTACH ? id : 0;
}

#undef MDR_CODEC

#endif
