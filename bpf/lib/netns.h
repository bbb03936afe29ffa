/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which network namespace a frame arrived in: the cookie of the receiving
 * device's namespace, the key attachments are found by.
 *
 * No helper says it (for an skb, bpf_get_netns_cookie() answers for
 * skb->sk, the sender's socket, and XDP has none), so the programs read it
 * from the kernel's own structures: bpf_cast_to_kern_ctx() (Linux 6.2)
 * turns the context into the sk_buff or xdp_buff behind it, and CO-RE
 * relocates the few fields it reads against the running kernel's BTF. One
 * loaded program thus serves every namespace.
 */
#ifndef MDR_BPF_NETNS_H
#define MDR_BPF_NETNS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/*
 * Defined once, in netns.bpf.c: libbpf 1.1's static linker cannot join two
 * objects that both declare the same kfunc extern.
 */
__u64 mdr_skb_netns_cookie(struct __sk_buff *ctx);
__u64 mdr_xdp_netns_cookie(struct xdp_md *ctx);

#endif
