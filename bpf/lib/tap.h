/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tap-ingress logic, one source for both hooks: mdr_tap_decide() reads
 * a frame and says what to do with it (pass, drop, answer ARP/NDP, send to
 * the proxy), and the helpers below build the answers and rewrite the
 * frames. The TC and XDP entry files only carry the verdict out with what
 * their hook has (skb helpers, or direct writes and XDP_TX/XDP_REDIRECT).
 */
#ifndef MDR_BPF_TAP_H
#define MDR_BPF_TAP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/common.h"
#include "lib/guard.h"
#include "lib/parse.h"

enum mdr_tap_action {
	MDR_TAP_PASS,	   /* not ours: untouched */
	MDR_TAP_DROP,	   /* ours, refused: count v->reason */
	MDR_TAP_ARP_REPLY, /* v->arp is a request to answer */
	MDR_TAP_NA_REPLY,  /* v->ip6 heads a solicitation to answer */
	MDR_TAP_TO_PROXY4, /* v->ip4 goes to the proxy */
	MDR_TAP_TO_PROXY6, /* v->ip6tcp goes to the proxy */
};

struct mdr_tap_verdict {
	enum mdr_tap_action action;
	__u64 netns;   /* cookie of the receiving device's namespace */
	__u32 ifindex; /* and the device */
	__u32 id;
	__u32 reason;
	struct mdr_attachment *att;
	struct ethhdr *eth;
	struct mdr_arp_ipv4 *arp;
	struct ipv6hdr *ip6;
	struct mdr_ip4_tcp ip4;
	struct mdr_ip6_tcp ip6tcp;
};

/* The attachment id of the receiving device; 0 if it is not attached. */
static __always_inline __u32 mdr_tap_id(__u64 netns, __u32 ifindex)
{
	/* An ifindex only means something within its namespace. */
	struct mdr_iface_key key = { .netns_cookie = netns,
				     .ifindex = ifindex };
	__u32 *found = bpf_map_lookup_elem(&mdr_iface, &key);

	return found ? *found : 0;
}

static __always_inline struct mdr_attachment *
mdr_tap_attachment(__u64 netns, __u32 ifindex, __u32 *id)
{
	*id = mdr_tap_id(netns, ifindex);
	return *id ? mdr_attachment_by_id(*id) : NULL;
}

/*
 * Whether @arp asks for an address this interface answers for:
 * 169.254.169.254, or its attachment's next hop to it (--metadata-via),
 * which a guest routed there through a gateway (DHCP option 121) asks for.
 */
static __always_inline int mdr_arp_target_ours(const struct mdr_tap_verdict *v,
					       const struct mdr_arp_ipv4 *arp)
{
	__be32 metadata_ip = bpf_htonl(MDR_METADATA_IP4);
	struct mdr_next_hop *hop;
	__u32 id;

	if (mdr_bytes_equal(arp->tpa, &metadata_ip, 4))
		return 1;
	id = mdr_tap_id(v->netns, v->ifindex);
	hop = id ? bpf_map_lookup_elem(&mdr_next_hop, &id) : NULL;
	return hop && hop->addr4 && mdr_bytes_equal(arp->tpa, &hop->addr4, 4);
}

static __always_inline void mdr_learn_guest(__u32 id, __u32 family,
					    const void *vm_addr, __u32 len,
					    const __u8 *vm_mac)
{
	struct mdr_neigh_key key = { .attach_id = id, .family = family };
	struct mdr_neigh *known, val = {};

	if (len > sizeof(key.addr))
		return;
	__builtin_memcpy(key.addr, vm_addr, len);
	known = bpf_map_lookup_elem(&mdr_neigh, &key);
	/* Writes only on change: a connection's packets all carry one MAC. */
	if (known && mdr_bytes_equal(known->mac, vm_mac, ETH_ALEN))
		return;
	__builtin_memcpy(val.mac, vm_mac, ETH_ALEN);
	bpf_map_update_elem(&mdr_neigh, &key, &val, BPF_ANY);
}

/*
 * Ours, from an attached interface: is the guest who it must be, and (for
 * a new connection) within its rate? Sets the verdict to DROP if not.
 */
static __always_inline int mdr_tap_admit(struct mdr_tap_verdict *v,
					 __u32 family, const __u8 *saddr,
					 const struct mdr_config *cfg,
					 const struct tcphdr *tcp)
{
	v->att = mdr_tap_attachment(v->netns, v->ifindex, &v->id);
	if (!v->att)
		return 0; /* not attached (any more): not ours */
	v->reason = mdr_check_guest(v->att, v->eth->h_source, family, saddr);
	/*
	 * The guest's own rate first, and only what it passes is charged to
	 * the attachment: a flooding guest spends its own budget, never the
	 * one its neighbours on a qdhcp tap share.
	 */
	if (!v->reason && tcp && mdr_is_new_connection(tcp)) {
		if (!mdr_guest_syn_allowed(v->id, family, saddr))
			v->reason = MDR_DROP_GUEST_SYN_RATE;
		else if (!mdr_syn_allowed(cfg, v->id))
			v->reason = MDR_DROP_SYN_RATE;
	}
	if (v->reason)
		v->action = MDR_TAP_DROP;
	return !v->reason;
}

/* @v arrives with netns and ifindex set, the rest zero. */
static __always_inline void mdr_tap_decide(void *data, void *data_end,
					   const struct mdr_config *cfg,
					   struct mdr_tap_verdict *v)
{
	__be32 metadata_ip = bpf_htonl(MDR_METADATA_IP4);
	__u8 metadata_ip6[16];
	struct ethhdr *eth = data;

	v->action = MDR_TAP_PASS;
	if ((void *)(eth + 1) > data_end)
		return;
	v->eth = eth;
	mdr_metadata_ip6(metadata_ip6);

	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		v->arp = mdr_parse_arp_request(data, data_end);
		if (v->arp && mdr_arp_target_ours(v, v->arp) &&
		    mdr_tap_admit(v, MDR_AF_INET, v->arp->spa, cfg, NULL))
			v->action = MDR_TAP_ARP_REPLY;
	} else if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct mdr_ip4_tcp *p = &v->ip4;

		if (mdr_parse_ip4_tcp(data, data_end, p) ||
		    p->ip->daddr != metadata_ip ||
		    p->tcp->dest != bpf_htons(MDR_METADATA_PORT))
			return;
		if (!mdr_tap_admit(v, MDR_AF_INET, (const __u8 *)&p->ip->saddr,
				   cfg, p->tcp))
			return;
		mdr_learn_guest(v->id, MDR_AF_INET, &p->ip->saddr, 4,
				eth->h_source);
		v->action = MDR_TAP_TO_PROXY4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct mdr_ip6_tcp *p = &v->ip6tcp;

		if (!mdr_parse_ip6_tcp(data, data_end, p)) {
			if (!mdr_bytes_equal(&p->ip6->daddr, metadata_ip6,
					     16) ||
			    p->tcp->dest != bpf_htons(MDR_METADATA_PORT))
				return;
			if (!mdr_tap_admit(v, MDR_AF_INET6,
					   (const __u8 *)&p->ip6->saddr, cfg,
					   p->tcp))
				return;
			mdr_learn_guest(v->id, MDR_AF_INET6, &p->ip6->saddr, 16,
					eth->h_source);
			v->action = MDR_TAP_TO_PROXY6;
			return;
		}
		v->ip6 = mdr_parse_ns(data, data_end, metadata_ip6);
		if (v->ip6 &&
		    mdr_tap_admit(v, MDR_AF_INET6, (const __u8 *)&v->ip6->saddr,
				  cfg, NULL))
			v->action = MDR_TAP_NA_REPLY;
	}
}

/*
 * Turns an ARP request for one of our addresses (mdr_arp_target_ours())
 * into its reply, in place: the address asked for answers, at @mac.
 */
static __always_inline void mdr_arp_make_reply(struct ethhdr *eth,
					       struct mdr_arp_ipv4 *arp,
					       const __u8 *mac)
{
	__u8 asked[4];

	__builtin_memcpy(asked, arp->tpa, 4);
	__builtin_memcpy(eth->h_dest, arp->sha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	arp->op = bpf_htons(MDR_ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->tpa, arp->spa, 4);
	__builtin_memcpy(arp->sha, mac, ETH_ALEN);
	__builtin_memcpy(arp->spa, asked, 4);
}

/* A Neighbor Advertisement, whole: the answer to a solicitation. */
struct mdr_neigh_advert {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	struct icmp6hdr icmp;
	__u8 target[16];
	__u8 opt_type;
	__u8 opt_len; /* in units of 8 bytes */
	__u8 opt_mac[ETH_ALEN];
} __attribute__((packed));

#define MDR_NA_ICMP_LEN                                            \
	(sizeof(struct mdr_neigh_advert) - sizeof(struct ethhdr) - \
	 sizeof(struct ipv6hdr))

static __always_inline __u16 mdr_fold(__s64 sum64)
{
	__u32 sum = (__u32)sum64;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* ICMPv6 checksum of an advertisement (pseudo-header included). */
static __always_inline __u16 mdr_na_checksum(const struct mdr_neigh_advert *na)
{
	struct {
		__u8 saddr[16];
		__u8 daddr[16];
		__be32 len;
		__u8 zero[3];
		__u8 nexthdr;
	} pseudo = {};
	__u8 body[MDR_NA_ICMP_LEN];
	__s64 s;

	__builtin_memcpy(pseudo.saddr, &na->ip6.saddr, 16);
	__builtin_memcpy(pseudo.daddr, &na->ip6.daddr, 16);
	pseudo.len = bpf_htonl(MDR_NA_ICMP_LEN);
	pseudo.nexthdr = IPPROTO_ICMPV6;
	__builtin_memcpy(body, &na->icmp, MDR_NA_ICMP_LEN);
	s = bpf_csum_diff(NULL, 0, (__be32 *)&pseudo, sizeof(pseudo), 0);
	s = bpf_csum_diff(NULL, 0, (__be32 *)body, sizeof(body), s);
	/* Ones'-complement sums come out in the byte order they went in. */
	return mdr_fold(s);
}

/*
 * The solicited advertisement for fe80::a9fe:a9fe with the interface's
 * MAC, built whole: its length need not match the solicitation's.
 */
static __always_inline void mdr_na_build(struct mdr_neigh_advert *na,
					 const struct ethhdr *eth,
					 const struct ipv6hdr *ns,
					 const __u8 *mac)
{
	__u8 metadata_ip6[16];

	mdr_metadata_ip6(metadata_ip6);
	__builtin_memset(na, 0, sizeof(*na));
	__builtin_memcpy(na->eth.h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(na->eth.h_source, mac, ETH_ALEN);
	na->eth.h_proto = bpf_htons(ETH_P_IPV6);
	na->ip6.version = 6;
	na->ip6.payload_len = bpf_htons(MDR_NA_ICMP_LEN);
	na->ip6.nexthdr = IPPROTO_ICMPV6;
	na->ip6.hop_limit = 255;
	__builtin_memcpy(&na->ip6.saddr, metadata_ip6, 16);
	__builtin_memcpy(&na->ip6.daddr, &ns->saddr, 16);
	na->icmp.icmp6_type = MDR_NDISC_NA;
	na->icmp.icmp6_solicited = 1;
	na->icmp.icmp6_override = 1;
	__builtin_memcpy(na->target, metadata_ip6, 16);
	na->opt_type = MDR_ND_OPT_TLLA;
	na->opt_len = 1;
	__builtin_memcpy(na->opt_mac, mac, ETH_ALEN);
	na->icmp.icmp6_cksum = mdr_na_checksum(na);
}

#endif
