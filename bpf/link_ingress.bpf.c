// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ingress of a link veth, in the namespace of the attached interfaces: the
 * proxy's replies arrive here. The source (a service address) names the
 * attachment; it becomes 169.254.169.254 again, the frame is addressed to
 * the guest that asked and leaves through the attached interface.
 *
 * The link is ours alone, so anything else arriving on it is dropped.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/common.h"
#include "lib/parse.h"
#include "lib/rewrite_tc.h"

#define MDR_MAX_HDR_LEN (14 + 60 + 20)

SEC("tc")
int mdr_link_ingress(struct __sk_buff *skb)
{
	struct mdr_neigh_key nkey = {};
	struct mdr_attachment *att;
	struct mdr_config *cfg;
	struct mdr_neigh *guest;
	struct mdr_ip4_tcp p;
	void *data, *data_end;
	__be32 service;
	__u32 id;

	cfg = mdr_get_config();
	if (!cfg || mdr_tc_pull(skb, MDR_MAX_HDR_LEN))
		goto not_ours;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (mdr_parse_ip4_tcp(data, data_end, &p) ||
	    p.tcp->source != bpf_htons(MDR_METADATA_PORT))
		goto not_ours;
	id = mdr_service_id(cfg, p.ip->saddr);
	if (!id)
		goto not_ours;
	att = mdr_attachment_by_id(id);
	if (!att || att->link_ifindex != skb->ifindex) {
		mdr_count(0, MDR_DROP_NO_ATTACH);
		return TC_ACT_SHOT;
	}
	nkey.attach_id = id;
	nkey.vm_addr = p.ip->daddr;
	guest = bpf_map_lookup_elem(&mdr_neigh, &nkey);
	if (!guest) {
		mdr_count(id, MDR_DROP_NO_NEIGH);
		return TC_ACT_SHOT;
	}

	service = p.ip->saddr;
	if (mdr_tc_set_ip4_addr(skb, p.ip_off, p.tcp_off,
				offsetof(struct iphdr, saddr), service,
				bpf_htonl(MDR_METADATA_IP4)) ||
	    mdr_tc_set_macs(skb, guest->mac, att->mac)) {
		mdr_count(id, MDR_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	mdr_count(id, MDR_PKT_TO_GUEST);
	return bpf_redirect(att->ifindex, 0);

not_ours:
	mdr_count(0, MDR_DROP_NOT_OURS);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
