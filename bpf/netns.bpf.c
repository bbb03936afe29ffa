// SPDX-License-Identifier: GPL-2.0-only
/*
 * The receiving device's namespace cookie, for the tap programs (see
 * lib/netns.h). Global functions: verified once per calling program, with
 * that program's context type.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/netns.h"

/* Only the fields we read; CO-RE finds them by name in vmlinux BTF. */
struct net {
	__u64 net_cookie;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} __attribute__((preserve_access_index)) possible_net_t;

struct net_device {
	possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct xdp_rxq_info {
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct xdp_buff {
	struct xdp_rxq_info *rxq;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *ctx) __ksym;

__u64 mdr_skb_netns_cookie(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);

	return skb->dev->nd_net.net->net_cookie;
}

__u64 mdr_xdp_netns_cookie(struct xdp_md *ctx)
{
	struct xdp_buff *xdp = bpf_cast_to_kern_ctx(ctx);

	return xdp->rxq->dev->nd_net.net->net_cookie;
}

char LICENSE[] SEC("license") = "GPL";
