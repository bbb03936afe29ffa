// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ingress of an attached interface (a VM's tap, or the tap of a qdhcp /
 * qrouter namespace). Four kinds of packet are ours and everything else
 * leaves untouched with TC_ACT_OK:
 *  - ARP requests for 169.254.169.254 and Neighbor Solicitations for
 *    fe80::a9fe:a9fe: answered with the interface's own MAC and sent
 *    straight back out of the same interface;
 *  - TCP to 169.254.169.254:80 or [fe80::a9fe:a9fe]:80: the destination
 *    becomes the attachment's service address and the packet goes into the
 *    proxy namespace through this namespace's link veth.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/common.h"
#include "lib/guard.h"
#include "lib/parse.h"
#include "lib/rewrite_tc.h"

/* Largest Ethernet + IPv4 (with options) + TCP header we ever read. */
#define MDR_MAX_HDR_LEN (14 + 60 + 20)

/*
 * Which namespace this instance serves, set before load. An ifindex only
 * means something within its namespace, and no helper tells a TC program
 * which namespace it runs in (bpf_get_netns_cookie() answers for skb->sk,
 * i.e. the sender's socket), so each namespace gets its own instance.
 */
const volatile __u32 mdr_link_id = 0;

static __always_inline struct mdr_attachment *
lookup_attachment(struct __sk_buff *skb, __u32 *id)
{
	struct mdr_iface_key key = {
		.link_id = mdr_link_id,
		.ifindex = skb->ifindex,
	};
	__u32 *found = bpf_map_lookup_elem(&mdr_iface, &key);

	if (!found)
		return NULL;
	*id = *found;
	return mdr_attachment_by_id(*id);
}

/* Drops what the guard refuses, counted under its reason. */
static __always_inline int refused(__u32 id, __u32 reason)
{
	mdr_count(id, reason);
	return TC_ACT_SHOT;
}

static __always_inline int answer_arp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__be32 metadata_ip = bpf_htonl(MDR_METADATA_IP4);
	struct mdr_attachment *att;
	struct mdr_arp_ipv4 *arp;
	struct ethhdr *eth = data;
	__u32 id;

	__u32 reason;

	arp = mdr_parse_arp_request(data, data_end, metadata_ip);
	if (!arp)
		return TC_ACT_OK;
	att = lookup_attachment(skb, &id);
	if (!att)
		return TC_ACT_OK;
	reason = mdr_check_guest(att, eth->h_source, MDR_AF_INET, arp->spa);
	if (reason)
		return refused(id, reason);

	/* Turn the request into its reply, in place. */
	__builtin_memcpy(eth->h_dest, arp->sha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, att->mac, ETH_ALEN);
	arp->op = bpf_htons(MDR_ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->tpa, arp->spa, 4);
	__builtin_memcpy(arp->sha, att->mac, ETH_ALEN);
	__builtin_memcpy(arp->spa, &metadata_ip, 4);

	mdr_count(id, MDR_PKT_ARP_REPLIED);
	return bpf_redirect(skb->ifindex, 0);
}

/* A Neighbor Advertisement, whole: what answer_ns() sends. */
struct neigh_advert {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	struct icmp6hdr icmp;
	__u8 target[16];
	__u8 opt_type;
	__u8 opt_len;		/* in units of 8 bytes */
	__u8 opt_mac[ETH_ALEN];
} __attribute__((packed));

#define NA_ICMP_LEN (sizeof(struct neigh_advert) - sizeof(struct ethhdr) - \
		     sizeof(struct ipv6hdr))

static __always_inline __u16 icmp6_checksum(const struct neigh_advert *na)
{
	struct {
		__u8 saddr[16];
		__u8 daddr[16];
		__be32 len;
		__u8 zero[3];
		__u8 nexthdr;
	} pseudo = {};
	__u8 body[NA_ICMP_LEN];
	__u32 sum;
	__s64 s;

	__builtin_memcpy(pseudo.saddr, &na->ip6.saddr, 16);
	__builtin_memcpy(pseudo.daddr, &na->ip6.daddr, 16);
	pseudo.len = bpf_htonl(NA_ICMP_LEN);
	pseudo.nexthdr = IPPROTO_ICMPV6;
	__builtin_memcpy(body, &na->icmp, NA_ICMP_LEN);
	s = bpf_csum_diff(NULL, 0, (__be32 *)&pseudo, sizeof(pseudo), 0);
	s = bpf_csum_diff(NULL, 0, (__be32 *)body, sizeof(body), s);
	sum = (__u32)s;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/*
 * The IPv6 twin of answer_arp(): a solicited Neighbor Advertisement for
 * fe80::a9fe:a9fe with the interface's MAC, rebuilt whole because its
 * length need not match the solicitation's.
 */
static __always_inline int answer_ns(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct mdr_attachment *att;
	struct neigh_advert na = {};
	__u8 metadata_ip6[16];
	struct ipv6hdr *ip6;
	__u32 id;

	__u32 reason;

	mdr_metadata_ip6(metadata_ip6);
	ip6 = mdr_parse_ns(data, data_end, metadata_ip6);
	if (!ip6)
		return TC_ACT_OK;
	att = lookup_attachment(skb, &id);
	if (!att)
		return TC_ACT_OK;
	reason = mdr_check_guest(att, ((struct ethhdr *)data)->h_source,
				 MDR_AF_INET6, (const __u8 *)&ip6->saddr);
	if (reason)
		return refused(id, reason);

	__builtin_memcpy(na.eth.h_dest, ((struct ethhdr *)data)->h_source,
			 ETH_ALEN);
	__builtin_memcpy(na.eth.h_source, att->mac, ETH_ALEN);
	na.eth.h_proto = bpf_htons(ETH_P_IPV6);
	na.ip6.version = 6;
	na.ip6.payload_len = bpf_htons(NA_ICMP_LEN);
	na.ip6.nexthdr = IPPROTO_ICMPV6;
	na.ip6.hop_limit = 255;
	__builtin_memcpy(&na.ip6.saddr, metadata_ip6, 16);
	__builtin_memcpy(&na.ip6.daddr, &ip6->saddr, 16);
	na.icmp.icmp6_type = MDR_NDISC_NA;
	na.icmp.icmp6_solicited = 1;
	na.icmp.icmp6_override = 1;
	__builtin_memcpy(na.target, metadata_ip6, 16);
	na.opt_type = MDR_ND_OPT_TLLA;
	na.opt_len = 1;
	__builtin_memcpy(na.opt_mac, att->mac, ETH_ALEN);
	/* Ones'-complement sums come out in the byte order they went in. */
	na.icmp.icmp6_cksum = icmp6_checksum(&na);

	if (bpf_skb_change_tail(skb, sizeof(na), 0) ||
	    bpf_skb_store_bytes(skb, 0, &na, sizeof(na), 0)) {
		mdr_count(id, MDR_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	mdr_count(id, MDR_PKT_NDP_REPLIED);
	return bpf_redirect(skb->ifindex, 0);
}

static __always_inline void learn_guest(__u32 id, __u32 family,
					const void *vm_addr, __u32 addr_len,
					const __u8 *vm_mac)
{
	struct mdr_neigh_key key = { .attach_id = id, .family = family };
	struct mdr_neigh *known, val = {};

	if (addr_len > sizeof(key.addr))
		return;
	__builtin_memcpy(key.addr, vm_addr, addr_len);
	known = bpf_map_lookup_elem(&mdr_neigh, &key);
	/* Writes only on change: a connection's packets all carry one MAC. */
	if (known && mdr_bytes_equal(known->mac, vm_mac, ETH_ALEN))
		return;
	__builtin_memcpy(val.mac, vm_mac, ETH_ALEN);
	bpf_map_update_elem(&mdr_neigh, &key, &val, BPF_ANY);
}

static __always_inline int redirect_ip4(struct __sk_buff *skb,
					const struct mdr_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct mdr_attachment *att;
	struct mdr_ip4_tcp p;
	__u32 id, reason;

	if (mdr_parse_ip4_tcp(data, data_end, &p) ||
	    p.ip->daddr != bpf_htonl(MDR_METADATA_IP4) ||
	    p.tcp->dest != bpf_htons(MDR_METADATA_PORT))
		return TC_ACT_OK;
	att = lookup_attachment(skb, &id);
	if (!att)
		return TC_ACT_OK;
	reason = mdr_check_guest(att, p.eth->h_source, MDR_AF_INET,
				 (const __u8 *)&p.ip->saddr);
	if (reason)
		return refused(id, reason);
	if (!mdr_syn_allowed(cfg, id, p.tcp))
		return refused(id, MDR_DROP_SYN_RATE);

	learn_guest(id, MDR_AF_INET, &p.ip->saddr, 4, p.eth->h_source);
	if (mdr_tc_set_ip4_addr(skb, p.ip_off, p.tcp_off,
				offsetof(struct iphdr, daddr), p.ip->daddr,
				att->service_addr) ||
	    mdr_tc_set_macs(skb, att->proxy_mac, att->mac)) {
		mdr_count(id, MDR_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	mdr_count(id, MDR_PKT_TO_PROXY);
	return bpf_redirect(att->link_ifindex, 0);
}

static __always_inline int redirect_ip6(struct __sk_buff *skb,
					const struct mdr_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct mdr_attachment *att;
	__u8 metadata_ip6[16];
	struct mdr_ip6_tcp p;
	__u32 id, reason;

	mdr_metadata_ip6(metadata_ip6);
	if (mdr_parse_ip6_tcp(data, data_end, &p) ||
	    !mdr_bytes_equal(&p.ip6->daddr, metadata_ip6, 16) ||
	    p.tcp->dest != bpf_htons(MDR_METADATA_PORT))
		return TC_ACT_OK;
	att = lookup_attachment(skb, &id);
	if (!att)
		return TC_ACT_OK;
	reason = mdr_check_guest(att, p.eth->h_source, MDR_AF_INET6,
				 (const __u8 *)&p.ip6->saddr);
	if (reason)
		return refused(id, reason);
	if (!mdr_syn_allowed(cfg, id, p.tcp))
		return refused(id, MDR_DROP_SYN_RATE);

	learn_guest(id, MDR_AF_INET6, &p.ip6->saddr, 16, p.eth->h_source);
	if (mdr_tc_set_ip6_addr(skb, offsetof(struct ipv6hdr, daddr),
				metadata_ip6, att->service_addr6) ||
	    mdr_tc_set_macs(skb, att->proxy_mac, att->mac)) {
		mdr_count(id, MDR_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	mdr_count(id, MDR_PKT_TO_PROXY);
	return bpf_redirect(att->link_ifindex, 0);
}

/*
 * Ethernet + IPv6 + the longer of a TCP header and the solicitation we
 * read (its options we ignore).
 */
#define MDR_IP6_HDR_LEN (14 + 40 + sizeof(struct mdr_ns))

SEC("tc")
int mdr_tap_ingress(struct __sk_buff *skb)
{
	struct mdr_config *cfg = mdr_get_config();
	int verdict;

	/* A tag the device already stripped is still a tag: not ours. */
	if (skb->vlan_present || !cfg)
		return TC_ACT_OK;
	switch (skb->protocol) {
	case bpf_htons(ETH_P_ARP):
		if (mdr_tc_pull(skb, sizeof(struct ethhdr) +
					     sizeof(struct mdr_arp_ipv4)))
			return TC_ACT_OK;
		return answer_arp(skb);
	case bpf_htons(ETH_P_IP):
		if (mdr_tc_pull(skb, MDR_MAX_HDR_LEN))
			return TC_ACT_OK;
		return redirect_ip4(skb, cfg);
	case bpf_htons(ETH_P_IPV6):
		if (mdr_tc_pull(skb, MDR_IP6_HDR_LEN))
			return TC_ACT_OK;
		verdict = redirect_ip6(skb, cfg);
		return verdict != TC_ACT_OK ? verdict : answer_ns(skb);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
