/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rewrites for TC programs. They go through the skb helpers rather than
 * direct stores so checksums stay right for CHECKSUM_PARTIAL (GSO) packets:
 * bpf_l4_csum_replace with BPF_F_PSEUDO_HDR adjusts only the pseudo-header
 * part the device will fold in later.
 */
#ifndef MDR_BPF_REWRITE_TC_H
#define MDR_BPF_REWRITE_TC_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/parse.h"

/*
 * Replaces the IPv4 source (@field = offsetof(struct iphdr, saddr)) or
 * destination address of a TCP segment and fixes both checksums.
 */
static __always_inline int mdr_tc_set_ip4_addr(struct __sk_buff *skb,
					       __u32 ip_off, __u32 tcp_off,
					       __u32 field, __be32 old_addr,
					       __be32 new_addr)
{
	if (bpf_l4_csum_replace(skb, tcp_off + offsetof(struct tcphdr, check),
				old_addr, new_addr, BPF_F_PSEUDO_HDR | 4))
		return -1;
	if (bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check),
				old_addr, new_addr, 4))
		return -1;
	if (bpf_skb_store_bytes(skb, ip_off + field, &new_addr, 4, 0))
		return -1;
	return 0;
}

/* Not in Debian 12's UAPI headers yet. */
#define MDR_BPF_F_IPV6 (1ULL << 7)

/*
 * The same for an IPv6 address (@field = offsetof(struct ipv6hdr, saddr) or
 * daddr): IPv6 has no header checksum, only TCP's pseudo-header changes.
 */
static __always_inline int mdr_tc_set_ip6_addr(struct __sk_buff *skb,
					       __u32 field,
					       const __u8 *old_addr,
					       const __u8 *new_addr)
{
	__u8 from[16], to[16];
	__s64 diff;

	__builtin_memcpy(from, old_addr, 16);
	__builtin_memcpy(to, new_addr, 16);
	diff = bpf_csum_diff((__be32 *)from, 16, (__be32 *)to, 16, 0);
	if (diff < 0)
		return -1;
	/*
	 * Size 0: the last argument is a precomputed difference. BPF_F_IPV6
	 * keeps CHECKSUM_COMPLETE packets right (6.13+); older kernels
	 * refuse the flag, and then the plain update is the best there is.
	 */
	if (bpf_l4_csum_replace(
		    skb, MDR_IP6_TCP_OFF + offsetof(struct tcphdr, check), 0,
		    diff, BPF_F_PSEUDO_HDR | MDR_BPF_F_IPV6) &&
	    bpf_l4_csum_replace(
		    skb, MDR_IP6_TCP_OFF + offsetof(struct tcphdr, check), 0,
		    diff, BPF_F_PSEUDO_HDR))
		return -1;
	if (bpf_skb_store_bytes(skb, MDR_IP6_OFF + field, to, 16, 0))
		return -1;
	return 0;
}

/* Sets the IPv4 TTL, fixing the header checksum (TTL shares a word). */
static __always_inline int mdr_tc_set_ttl(struct __sk_buff *skb, __u32 ip_off,
					  const struct iphdr *ip, __u8 ttl)
{
	__be16 old_word = bpf_htons((__u16)ip->ttl << 8 | ip->protocol);
	__be16 new_word = bpf_htons((__u16)ttl << 8 | ip->protocol);

	if (bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check),
				old_word, new_word, 2))
		return -1;
	return bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, ttl),
				   &ttl, 1, 0)
		       ? -1
		       : 0;
}

static __always_inline int mdr_tc_set_hop_limit(struct __sk_buff *skb,
						__u8 hop_limit)
{
	return bpf_skb_store_bytes(
		       skb, MDR_IP6_OFF + offsetof(struct ipv6hdr, hop_limit),
		       &hop_limit, 1, 0)
		       ? -1
		       : 0;
}

static __always_inline int mdr_tc_set_macs(struct __sk_buff *skb,
					   const __u8 *dst, const __u8 *src)
{
	__u8 macs[2 * ETH_ALEN];

	__builtin_memcpy(macs, dst, ETH_ALEN);
	__builtin_memcpy(macs + ETH_ALEN, src, ETH_ALEN);
	return bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0) ? -1 : 0;
}

/* Makes the first @len bytes directly readable (fails open on short). */
static __always_inline int mdr_tc_pull(struct __sk_buff *skb, __u32 len)
{
	if ((void *)(long)skb->data + len <= (void *)(long)skb->data_end)
		return 0;
	if (skb->len < len)
		len = skb->len;
	return bpf_skb_pull_data(skb, len);
}

#endif
