/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rewrites for XDP, by direct writes. An XDP frame carries no checksum
 * state: a guest's TCP checksum may be complete or only the pseudo-header
 * part its NIC offload would finish (CHECKSUM_PARTIAL on a veth or tap),
 * and the frame we redirect arrives at the proxy namespace as an skb with
 * CHECKSUM_NONE. So the TCP checksum is recomputed whole, not patched:
 * right whatever state the guest left it in.
 */
#ifndef MDR_BPF_REWRITE_XDP_H
#define MDR_BPF_REWRITE_XDP_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* No GSO reaches XDP; a jumbo frame is the most one segment holds. */
#define MDR_MAX_SEGMENT 9000

static __always_inline __u16 mdr_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/*
 * Adds @len bytes at @start to a ones'-complement sum, in memory order:
 * 32-bit words (folded later, which makes them 16-bit words), then what is
 * left. Four bytes a step keeps the verifier's walk short.
 */
static __always_inline __u64 mdr_csum_bytes(const void *start,
					    const void *data_end, __u32 len,
					    __u64 sum)
{
	const __u8 *p = start;
	__u32 words = len / 4;

	__u32 word;
	__u16 half;

	/* memcpy, not a cast: the caller just zeroed the checksum through
	 * another type, and strict aliasing would let the load move first. */
	for (__u32 i = 0; i < MDR_MAX_SEGMENT / 4; i++) {
		if (i >= words || (const void *)(p + 4) > data_end)
			break;
		__builtin_memcpy(&word, p, 4);
		sum += word;
		p += 4;
	}
	if ((len & 2) && (const void *)(p + 2) <= data_end) {
		__builtin_memcpy(&half, p, 2);
		sum += half;
		p += 2;
	}
	/* An odd last byte is the high half of a zero-padded word. */
	if ((len & 1) && (const void *)(p + 1) <= data_end)
		sum += *p;
	return sum;
}

static __always_inline void mdr_xdp_ip4_checksum(struct iphdr *ip,
						 const void *data_end)
{
	ip->check = 0;
	ip->check = mdr_csum_fold(mdr_csum_bytes(ip, data_end, ip->ihl * 4, 0));
}

/* The TCP checksum of an IPv4 segment, recomputed from scratch. */
static __always_inline void mdr_xdp_tcp4_checksum(const struct iphdr *ip,
						  struct tcphdr *tcp,
						  const void *data_end)
{
	__u32 len = bpf_ntohs(ip->tot_len) - ip->ihl * 4;
	struct {
		__be32 saddr, daddr;
		__u8 zero, proto;
		__be16 len;
	} pseudo = { ip->saddr, ip->daddr, 0, IPPROTO_TCP, bpf_htons(len) };
	__u64 sum;

	tcp->check = 0;
	sum = (__u32)bpf_csum_diff(NULL, 0, (__be32 *)&pseudo,
				   sizeof(pseudo), 0);
	tcp->check = mdr_csum_fold(mdr_csum_bytes(tcp, data_end, len, sum));
}

static __always_inline void mdr_xdp_tcp6_checksum(const struct ipv6hdr *ip6,
						  struct tcphdr *tcp,
						  const void *data_end)
{
	__u32 len = bpf_ntohs(ip6->payload_len);
	struct {
		__u8 saddr[16], daddr[16];
		__be32 len;
		__u8 zero[3], nexthdr;
	} pseudo = {};
	__u64 sum;

	__builtin_memcpy(pseudo.saddr, &ip6->saddr, 16);
	__builtin_memcpy(pseudo.daddr, &ip6->daddr, 16);
	pseudo.len = bpf_htonl(len);
	pseudo.nexthdr = IPPROTO_TCP;
	tcp->check = 0;
	sum = (__u32)bpf_csum_diff(NULL, 0, (__be32 *)&pseudo,
				   sizeof(pseudo), 0);
	tcp->check = mdr_csum_fold(mdr_csum_bytes(tcp, data_end, len, sum));
}

#endif
