/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rewrites for XDP, by direct writes and incremental checksum updates
 * (RFC 1624). An XDP frame carries no checksum state, so the updates assume
 * what a wire frame has: complete checksums. That is what native XDP sees.
 * In generic mode a locally sent frame (a veth guest, say) may still be
 * CHECKSUM_PARTIAL; the skb keeps that state through the redirect and the
 * proxy namespace then trusts it without reading the field, so the update
 * is harmless there too. Recomputing whole would not do: a GSO frame in
 * generic mode is far longer than a program can walk.
 */
#ifndef MDR_BPF_REWRITE_XDP_H
#define MDR_BPF_REWRITE_XDP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* @check updated for @len bytes (a multiple of 4) changing @from -> @to. */
static __always_inline void mdr_csum_update(__u16 *check, const void *from,
					    const void *to, __u32 len)
{
	__u8 old[16], new[16];
	__u32 sum;
	__s64 diff;

	if (len > sizeof(old))
		return;
	__builtin_memcpy(old, from, sizeof(old));
	__builtin_memcpy(new, to, sizeof(new));
	diff = bpf_csum_diff((__be32 *)old, len, (__be32 *)new, len,
			     ~(__u32)*check & 0xffff);
	sum = (__u32)diff;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	*check = ~sum & 0xffff;
}

#endif
