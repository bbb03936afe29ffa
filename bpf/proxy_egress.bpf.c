// SPDX-License-Identifier: GPL-2.0-only
/*
 * Egress of the reply device in the proxy namespace. Every reply to every
 * guest is routed here by one default route; the source (service) address
 * says which attachment it belongs to, and the packet is sent down that
 * attachment's link veth instead.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/common.h"
#include "lib/parse.h"
#include "lib/rewrite_tc.h"

/* The attachment id a reply's source address names; 0 if none. */
static __always_inline __u32 source_id(struct __sk_buff *skb,
				       const struct mdr_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if ((void *)(ip + 1) > data_end)
			return 0;
		return mdr_service_id4(cfg, ip->saddr);
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if ((void *)(ip6 + 1) > data_end)
			return 0;
		return mdr_service_id6(cfg, (const __u8 *)&ip6->saddr);
	}
	return 0;
}

SEC("tc")
int mdr_proxy_egress(struct __sk_buff *skb)
{
	struct mdr_attachment *att;
	struct mdr_config *cfg;
	__u32 id;

	cfg = mdr_get_config();
	if (!cfg ||
	    mdr_tc_pull(skb, sizeof(struct ethhdr) + sizeof(struct ipv6hdr)))
		goto not_ours;
	id = source_id(skb, cfg);
	if (!id)
		goto not_ours;
	att = mdr_attachment_by_id(id);
	if (!att) {
		mdr_count(0, MDR_DROP_NO_ATTACH);
		return TC_ACT_SHOT;
	}
	return bpf_redirect(att->proxy_ifindex, 0);

not_ours:
	mdr_count(0, MDR_DROP_NOT_OURS);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
