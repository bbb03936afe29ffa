/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing shared by every hook. Parsers only read; each returns a
 * negative value for anything it does not fully understand, so callers can
 * fail open and leave the packet alone.
 */
#ifndef MDR_BPF_PARSE_H
#define MDR_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>

/* linux/if_arp.h pulls in glibc headers; these are the few bits we need. */
#define MDR_ARPHRD_ETHER  1
#define MDR_ARPOP_REQUEST 1
#define MDR_ARPOP_REPLY	  2

struct mdr_arp_ipv4 {
	__be16 hrd;
	__be16 pro;
	__u8 hln;
	__u8 pln;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4]; /* unaligned in the frame: bytes, not __be32 */
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

#define MDR_IP_FRAG_MASK 0x3fff /* MF flag and fragment offset */

/* Where the headers of an Ethernet/IPv4/TCP packet start. */
struct mdr_ip4_tcp {
	struct ethhdr *eth;
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u32 ip_off;
	__u32 tcp_off;
};

/* clang emits a libc call for __builtin_memcmp; BPF has no libc. */
static __always_inline int mdr_bytes_equal(const void *a, const void *b,
					   __u32 len)
{
	const __u8 *x = a, *y = b;
	__u8 diff = 0;

	for (__u32 i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* An ARP request (Ethernet, IPv4), for whatever address: the caller asks. */
static __always_inline struct mdr_arp_ipv4 *
mdr_parse_arp_request(void *data, void *data_end)
{
	struct mdr_arp_ipv4 *arp = data + sizeof(struct ethhdr);

	if ((void *)(arp + 1) > data_end)
		return NULL;
	if (arp->hrd != bpf_htons(MDR_ARPHRD_ETHER) ||
	    arp->pro != bpf_htons(ETH_P_IP) || arp->hln != ETH_ALEN ||
	    arp->pln != 4 || arp->op != bpf_htons(MDR_ARPOP_REQUEST))
		return NULL;
	return arp;
}

/*
 * An unfragmented IPv4 TCP segment behind an untagged Ethernet header.
 * IP options are allowed; fragments are not (no TCP header to trust).
 */
static __always_inline int mdr_parse_ip4_tcp(void *data, void *data_end,
					     struct mdr_ip4_tcp *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u32 ihl;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return -1;
	ihl = ip->ihl * 4;
	if (ip->version != 4 || ihl < sizeof(*ip) ||
	    ip->protocol != IPPROTO_TCP ||
	    (ip->frag_off & bpf_htons(MDR_IP_FRAG_MASK)))
		return -1;
	tcp = (void *)ip + ihl;
	if ((void *)(tcp + 1) > data_end)
		return -1;
	p->eth = eth;
	p->ip = ip;
	p->tcp = tcp;
	p->ip_off = sizeof(*eth);
	p->tcp_off = sizeof(*eth) + ihl;
	return 0;
}

/*
 * fe80::a9fe:a9fe, built on the stack: a static const array would land in
 * .rodata, which the static linker merges badly across compilation units.
 */
static __always_inline void mdr_metadata_ip6(__u8 addr[16])
{
	__builtin_memset(addr, 0, 16);
	addr[0] = 0xfe;
	addr[1] = 0x80;
	addr[12] = 0xa9;
	addr[13] = 0xfe;
	addr[14] = 0xa9;
	addr[15] = 0xfe;
}

/* Where the headers of an Ethernet/IPv6/TCP packet start. */
struct mdr_ip6_tcp {
	struct ethhdr *eth;
	struct ipv6hdr *ip6;
	struct tcphdr *tcp;
};

#define MDR_IP6_OFF	sizeof(struct ethhdr)
#define MDR_IP6_TCP_OFF (sizeof(struct ethhdr) + sizeof(struct ipv6hdr))

/*
 * An IPv6 TCP segment whose TCP header follows the fixed header directly.
 * Extension headers are not ours to walk: a guest talking to metadata has
 * no reason to send any, so such packets pass untouched.
 */
static __always_inline int mdr_parse_ip6_tcp(void *data, void *data_end,
					     struct mdr_ip6_tcp *p)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	struct tcphdr *tcp;

	if ((void *)(eth + 1) > data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IPV6))
		return -1;
	ip6 = (void *)(eth + 1);
	tcp = (void *)(ip6 + 1);
	if ((void *)(tcp + 1) > data_end || ip6->version != 6 ||
	    ip6->nexthdr != IPPROTO_TCP)
		return -1;
	p->eth = eth;
	p->ip6 = ip6;
	p->tcp = tcp;
	return 0;
}

/* A Neighbor Solicitation: ICMPv6 header, then the target address. */
struct mdr_ns {
	struct icmp6hdr icmp;
	__u8 target[16];
};

#define MDR_NDISC_NS	135
#define MDR_NDISC_NA	136
#define MDR_ND_OPT_TLLA 2 /* target link-layer address */

/*
 * A valid Neighbor Solicitation (RFC 4861 7.1.1: hop limit 255, code 0,
 * ICMPv6 length 24 or more) for @target from a guest with a unicast
 * address. DAD probes (source ::) pass.
 */
static __always_inline struct ipv6hdr *mdr_parse_ns(void *data, void *data_end,
						    const __u8 *target)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	struct mdr_ns *ns;
	__u32 any = 0;

	if ((void *)(eth + 1) > data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IPV6))
		return NULL;
	ip6 = (void *)(eth + 1);
	ns = (void *)(ip6 + 1);
	if ((void *)(ns + 1) > data_end || ip6->version != 6 ||
	    ip6->nexthdr != IPPROTO_ICMPV6 || ip6->hop_limit != 255 ||
	    bpf_ntohs(ip6->payload_len) < sizeof(*ns) ||
	    ip6->saddr.in6_u.u6_addr8[0] == 0xff ||
	    ns->icmp.icmp6_type != MDR_NDISC_NS || ns->icmp.icmp6_code != 0)
		return NULL;
	for (int i = 0; i < 16; i++)
		any |= ip6->saddr.in6_u.u6_addr8[i];
	if (!any || !mdr_bytes_equal(ns->target, target, 16))
		return NULL;
	return ip6;
}

#endif
