// SPDX-License-Identifier: GPL-2.0-only
/*
 * TC ingress of an attached interface (a VM's tap, or the tap of a qdhcp /
 * qrouter namespace). What is ours is decided in lib/tap.h, shared with the
 * XDP program; this file carries the verdict out with skb helpers, which
 * keep checksums right for CHECKSUM_PARTIAL (GSO) packets:
 *  - ARP requests for 169.254.169.254 (or for the attachment's next hop
 *    to it) and Neighbor Solicitations for fe80::a9fe:a9fe are answered
 *    out of the same interface;
 *  - TCP to the metadata address, port 80, is readdressed to the
 *    attachment's service address and handed to the ingress of this
 *    namespace's link veth's far end, in the proxy namespace, with
 *    bpf_redirect_peer(): one pass through the stack, where bpf_redirect()
 *    out of the link would queue it on the veth's backlog for a second.
 * Everything else leaves untouched with TC_ACT_OK.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/netns.h"
#include "lib/rewrite_tc.h"
#include "lib/tap.h"

/*
 * The longest headers we read: Ethernet + IPv4 with options + TCP, or
 * Ethernet + IPv6 + a Neighbor Solicitation.
 */
#define MDR_MAX_HDR_LEN (14 + 60 + 20)

static __always_inline int drop(__u32 id, __u32 reason)
{
	mdr_count(id, reason);
	return TC_ACT_SHOT;
}

static __always_inline int answer_ns(struct __sk_buff *skb,
				     const struct mdr_tap_verdict *v)
{
	struct mdr_neigh_advert na;

	mdr_na_build(&na, v->eth, v->ip6, v->att->mac);
	if (bpf_skb_change_tail(skb, sizeof(na), 0) ||
	    bpf_skb_store_bytes(skb, 0, &na, sizeof(na), 0))
		return drop(v->id, MDR_DROP_REWRITE);
	mdr_count(v->id, MDR_PKT_NDP_REPLIED);
	return bpf_redirect(skb->ifindex, 0);
}

static __always_inline int to_proxy4(struct __sk_buff *skb,
				     const struct mdr_tap_verdict *v)
{
	const struct mdr_ip4_tcp *p = &v->ip4;

	if (mdr_tc_set_ip4_addr(skb, p->ip_off, p->tcp_off,
				offsetof(struct iphdr, daddr), p->ip->daddr,
				v->att->service_addr) ||
	    mdr_tc_set_macs(skb, v->att->proxy_mac, v->att->mac))
		return drop(v->id, MDR_DROP_REWRITE);
	mdr_count(v->id, MDR_PKT_TO_PROXY);
	return bpf_redirect_peer(v->att->link_ifindex, 0);
}

static __always_inline int to_proxy6(struct __sk_buff *skb,
				     const struct mdr_tap_verdict *v)
{
	__u8 metadata_ip6[16];

	mdr_metadata_ip6(metadata_ip6);
	if (mdr_tc_set_ip6_addr(skb, offsetof(struct ipv6hdr, daddr),
				metadata_ip6, v->att->service_addr6) ||
	    mdr_tc_set_macs(skb, v->att->proxy_mac, v->att->mac))
		return drop(v->id, MDR_DROP_REWRITE);
	mdr_count(v->id, MDR_PKT_TO_PROXY);
	return bpf_redirect_peer(v->att->link_ifindex, 0);
}

SEC("tc")
int mdr_tap_ingress(struct __sk_buff *skb)
{
	struct mdr_config *cfg = mdr_get_config();
	struct mdr_tap_verdict v = { .netns = mdr_skb_netns_cookie(skb),
				     .ifindex = skb->ifindex };

	/* A tag the device already stripped is still a tag: not ours. */
	if (skb->vlan_present || !cfg || mdr_tc_pull(skb, MDR_MAX_HDR_LEN))
		return TC_ACT_OK;
	mdr_tap_decide((void *)(long)skb->data, (void *)(long)skb->data_end,
		       cfg, &v);
	switch (v.action) {
	case MDR_TAP_PASS: return TC_ACT_OK;
	case MDR_TAP_DROP: return drop(v.id, v.reason);
	case MDR_TAP_ARP_REPLY:
		mdr_arp_make_reply(v.eth, v.arp, v.att->mac);
		mdr_count(v.id, MDR_PKT_ARP_REPLIED);
		return bpf_redirect(skb->ifindex, 0);
	case MDR_TAP_NA_REPLY: return answer_ns(skb, &v);
	case MDR_TAP_TO_PROXY4: return to_proxy4(skb, &v);
	case MDR_TAP_TO_PROXY6: return to_proxy6(skb, &v);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
