// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ingress of an attached interface (a VM's tap, or the tap of a qdhcp /
 * qrouter namespace). Two kinds of packet are ours and everything else
 * leaves untouched with TC_ACT_OK:
 *  - ARP requests for 169.254.169.254: answered with the interface's own MAC
 *    and sent straight back out of the same interface;
 *  - TCP to 169.254.169.254:80: the destination becomes the attachment's
 *    service address and the packet goes into the proxy namespace through
 *    this namespace's link veth.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/common.h"
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

static __always_inline __u32 lookup_attach_id(struct __sk_buff *skb)
{
	struct mdr_iface_key key = {
		.link_id = mdr_link_id,
		.ifindex = skb->ifindex,
	};
	__u32 *id = bpf_map_lookup_elem(&mdr_iface, &key);

	return id ? *id : 0;
}

static __always_inline int answer_arp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct mdr_arp_ipv4 *arp;
	struct mdr_attachment *att;
	struct ethhdr *eth = data;
	__be32 metadata_ip = bpf_htonl(MDR_METADATA_IP4);
	__u32 id;

	arp = mdr_parse_arp_request(data, data_end, metadata_ip);
	if (!arp)
		return TC_ACT_OK;
	id = lookup_attach_id(skb);
	att = id ? mdr_attachment_by_id(id) : NULL;
	if (!att)
		return TC_ACT_OK;

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

static __always_inline void learn_guest(__u32 id, __be32 vm_addr,
					const __u8 *vm_mac)
{
	struct mdr_neigh_key key = { .attach_id = id, .vm_addr = vm_addr };
	struct mdr_neigh *known = bpf_map_lookup_elem(&mdr_neigh, &key);
	struct mdr_neigh val = {};

	/* Writes only on change: a connection's packets all carry one MAC. */
	if (known && mdr_bytes_equal(known->mac, vm_mac, ETH_ALEN))
		return;
	__builtin_memcpy(val.mac, vm_mac, ETH_ALEN);
	bpf_map_update_elem(&mdr_neigh, &key, &val, BPF_ANY);
}

static __always_inline int redirect_to_proxy(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct mdr_attachment *att;
	struct mdr_ip4_tcp p;
	__be32 old_daddr, service;
	__u32 id;

	if (mdr_parse_ip4_tcp(data, data_end, &p) ||
	    p.ip->daddr != bpf_htonl(MDR_METADATA_IP4) ||
	    p.tcp->dest != bpf_htons(MDR_METADATA_PORT))
		return TC_ACT_OK;
	id = lookup_attach_id(skb);
	att = id ? mdr_attachment_by_id(id) : NULL;
	if (!att)
		return TC_ACT_OK;

	learn_guest(id, p.ip->saddr, p.eth->h_source);
	old_daddr = p.ip->daddr;
	service = att->service_addr;
	if (mdr_tc_set_ip4_addr(skb, p.ip_off, p.tcp_off,
				offsetof(struct iphdr, daddr), old_daddr,
				service) ||
	    mdr_tc_set_macs(skb, att->proxy_mac, att->mac)) {
		mdr_count(id, MDR_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	mdr_count(id, MDR_PKT_TO_PROXY);
	return bpf_redirect(att->link_ifindex, 0);
}

SEC("tc")
int mdr_tap_ingress(struct __sk_buff *skb)
{
	/* A tag the device already stripped is still a tag: not ours. */
	if (skb->vlan_present)
		return TC_ACT_OK;
	if (skb->protocol == bpf_htons(ETH_P_ARP)) {
		if (mdr_tc_pull(skb, sizeof(struct ethhdr) +
					     sizeof(struct mdr_arp_ipv4)))
			return TC_ACT_OK;
		return answer_arp(skb);
	}
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (mdr_tc_pull(skb, MDR_MAX_HDR_LEN))
			return TC_ACT_OK;
		return redirect_to_proxy(skb);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
