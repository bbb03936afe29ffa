// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ingress of a link veth, in the namespace of the attached interfaces: the
 * proxy's replies arrive here. The source (a service address) names the
 * attachment; it becomes 169.254.169.254 (or fe80::a9fe:a9fe) again, the
 * frame is addressed to the guest that asked and leaves through the
 * attached interface.
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

/* The reply's attachment, if it is one we sent out of @skb's link. */
static __always_inline struct mdr_attachment *
reply_attachment(struct __sk_buff *skb, __u32 id)
{
	struct mdr_attachment *att = mdr_attachment_by_id(id);

	if (!att || att->link_ifindex != skb->ifindex) {
		mdr_count(0, MDR_DROP_NO_ATTACH);
		return NULL;
	}
	return att;
}

static __always_inline struct mdr_neigh *guest_of(__u32 id, __u32 family,
						  const void *addr, __u32 len)
{
	struct mdr_neigh_key key = { .attach_id = id, .family = family };
	struct mdr_neigh *guest;

	if (len > sizeof(key.addr))
		return NULL;
	__builtin_memcpy(key.addr, addr, len);
	guest = bpf_map_lookup_elem(&mdr_neigh, &key);
	if (!guest)
		mdr_count(id, MDR_DROP_NO_NEIGH);
	return guest;
}

static __always_inline int to_guest(struct __sk_buff *skb, __u32 id,
				    struct mdr_attachment *att,
				    struct mdr_neigh *guest)
{
	if (mdr_tc_set_macs(skb, guest->mac, att->mac)) {
		mdr_count(id, MDR_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	mdr_count(id, MDR_PKT_TO_GUEST);
	return bpf_redirect(att->ifindex, 0);
}

static __always_inline int reply_ip4(struct __sk_buff *skb,
				     const struct mdr_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct mdr_attachment *att;
	struct mdr_neigh *guest;
	struct mdr_ip4_tcp p;
	__be32 service;
	__u32 id;

	if (mdr_parse_ip4_tcp(data, data_end, &p) ||
	    p.tcp->source != bpf_htons(MDR_METADATA_PORT))
		return -1;
	id = mdr_service_id4(cfg, p.ip->saddr);
	if (!id)
		return -1;
	att = reply_attachment(skb, id);
	if (!att)
		return TC_ACT_SHOT;
	guest = guest_of(id, MDR_AF_INET, &p.ip->daddr, 4);
	if (!guest)
		return TC_ACT_SHOT;
	/*
	 * With a reply TTL of 1, a container or nested guest routed through
	 * the VM never sees the answer: the VM's forwarding drops it.
	 */
	service = p.ip->saddr; /* the helpers below invalidate p */
	if ((cfg->reply_ttl &&
	     mdr_tc_set_ttl(skb, p.ip_off, p.ip, cfg->reply_ttl)) ||
	    mdr_tc_set_ip4_addr(skb, p.ip_off, p.tcp_off,
				offsetof(struct iphdr, saddr), service,
				bpf_htonl(MDR_METADATA_IP4))) {
		mdr_count(id, MDR_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	return to_guest(skb, id, att, guest);
}

static __always_inline int reply_ip6(struct __sk_buff *skb,
				     const struct mdr_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct mdr_attachment *att;
	struct mdr_neigh *guest;
	__u8 service[16], metadata_ip6[16];
	struct mdr_ip6_tcp p;
	__u32 id;

	if (mdr_parse_ip6_tcp(data, data_end, &p) ||
	    p.tcp->source != bpf_htons(MDR_METADATA_PORT))
		return -1;
	id = mdr_service_id6(cfg, (const __u8 *)&p.ip6->saddr);
	if (!id)
		return -1;
	att = reply_attachment(skb, id);
	if (!att)
		return TC_ACT_SHOT;
	guest = guest_of(id, MDR_AF_INET6, &p.ip6->daddr, 16);
	if (!guest)
		return TC_ACT_SHOT;
	__builtin_memcpy(service, &p.ip6->saddr, 16);
	mdr_metadata_ip6(metadata_ip6);
	if ((cfg->reply_ttl && mdr_tc_set_hop_limit(skb, cfg->reply_ttl)) ||
	    mdr_tc_set_ip6_addr(skb, offsetof(struct ipv6hdr, saddr), service,
				metadata_ip6)) {
		mdr_count(id, MDR_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	return to_guest(skb, id, att, guest);
}

SEC("tc")
int mdr_link_ingress(struct __sk_buff *skb)
{
	struct mdr_config *cfg = mdr_get_config();
	int verdict = -1;

	if (!cfg || mdr_tc_pull(skb, MDR_MAX_HDR_LEN))
		goto not_ours;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		verdict = reply_ip4(skb, cfg);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		verdict = reply_ip6(skb, cfg);
	if (verdict >= 0)
		return verdict;
not_ours:
	mdr_count(0, MDR_DROP_NOT_OURS);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
