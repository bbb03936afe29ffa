// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP twin of tap_ingress.bpf.c: the same decisions (lib/tap.h), carried
 * out before an skb even exists. ARP and NDP answers leave with XDP_TX;
 * metadata TCP is readdressed in place and redirected to the link veth.
 * A frame longer than a wire frame (a guest's GSO segment, in generic
 * mode) cannot be redirected by XDP: it passes on to the TC program,
 * which is attached in XDP mode too. The return path is the TC one.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/netns.h"
#include "lib/rewrite_xdp.h"
#include "lib/tap.h"

static __always_inline int drop(__u32 id, __u32 reason)
{
	mdr_count(id, reason);
	return XDP_DROP;
}

static __always_inline int answer_ns(struct xdp_md *ctx,
				     const struct mdr_tap_verdict *v)
{
	struct mdr_neigh_advert na;
	void *data, *data_end;
	__u32 id = v->id;
	int delta;

	mdr_na_build(&na, v->eth, v->ip6, v->att->mac);
	delta = (int)sizeof(na) - (int)(ctx->data_end - ctx->data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return drop(id, MDR_DROP_REWRITE);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(na) > data_end)
		return drop(id, MDR_DROP_REWRITE);
	__builtin_memcpy(data, &na, sizeof(na));
	mdr_count(id, MDR_PKT_NDP_REPLIED);
	return XDP_TX;
}

static __always_inline void set_macs(struct ethhdr *eth,
				     const struct mdr_attachment *att)
{
	__builtin_memcpy(eth->h_dest, att->proxy_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, att->mac, ETH_ALEN);
}

static __always_inline int to_proxy4(const struct mdr_tap_verdict *v)
{
	struct iphdr *ip = v->ip4.ip;
	__be32 old[4] = { ip->daddr }, new[4] = { v->att->service_addr };

	mdr_csum_update(&ip->check, old, new, 4);
	mdr_csum_update(&v->ip4.tcp->check, old, new, 4);
	ip->daddr = new[0];
	set_macs(v->eth, v->att);
	mdr_count(v->id, MDR_PKT_TO_PROXY);
	return bpf_redirect(v->att->link_ifindex, 0);
}

static __always_inline int to_proxy6(const struct mdr_tap_verdict *v)
{
	struct ipv6hdr *ip6 = v->ip6tcp.ip6;

	mdr_csum_update(&v->ip6tcp.tcp->check, &ip6->daddr,
			v->att->service_addr6, 16);
	__builtin_memcpy(&ip6->daddr, v->att->service_addr6, 16);
	set_macs(v->eth, v->att);
	mdr_count(v->id, MDR_PKT_TO_PROXY);
	return bpf_redirect(v->att->link_ifindex, 0);
}

/* Ethernet + 1500, with a VLAN tag's worth of slack. */
#define MDR_XDP_MAX_FRAME 1522

SEC("xdp")
int mdr_tap_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct mdr_config *cfg = mdr_get_config();
	struct mdr_tap_verdict v = { .netns = mdr_xdp_netns_cookie(ctx),
				     .ifindex = ctx->ingress_ifindex };

	if (!cfg || ctx->data_end - ctx->data > MDR_XDP_MAX_FRAME)
		return XDP_PASS; /* TC's, see above */
	mdr_tap_decide((void *)(long)ctx->data, data_end, cfg, &v);
	switch (v.action) {
	case MDR_TAP_PASS: return XDP_PASS;
	case MDR_TAP_DROP: return drop(v.id, v.reason);
	case MDR_TAP_ARP_REPLY:
		mdr_arp_make_reply(v.eth, v.arp, v.att->mac);
		mdr_count(v.id, MDR_PKT_ARP_REPLIED);
		return XDP_TX;
	case MDR_TAP_NA_REPLY: return answer_ns(ctx, &v);
	case MDR_TAP_TO_PROXY4: return to_proxy4(&v);
	case MDR_TAP_TO_PROXY6: return to_proxy6(&v);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
