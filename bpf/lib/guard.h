/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a guest may send us: anti-spoofing against the attachment's --mac and
 * --ip, and the new-connection rates per guest and per attachment. Enforced
 * here, before a packet reaches the proxy namespace, so a misbehaving guest
 * costs the listener nothing.
 */
#ifndef MDR_BPF_GUARD_H
#define MDR_BPF_GUARD_H

#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>

#include "lib/common.h"
#include "lib/parse.h"

/* The link-local address Neutron's port security allows for @mac (EUI-64). */
static __always_inline void mdr_eui64_link_local(const __u8 *mac, __u8 a[16])
{
	__builtin_memset(a, 0, 16);
	a[0] = 0xfe;
	a[1] = 0x80;
	a[8] = mac[0] ^ 0x02;
	a[9] = mac[1];
	a[10] = mac[2];
	a[11] = 0xff;
	a[12] = 0xfe;
	a[13] = mac[3];
	a[14] = mac[4];
	a[15] = mac[5];
}

static __always_inline int mdr_is_fixed_ip(const struct mdr_attachment *att,
					   __u32 family, const __u8 *addr,
					   __u32 len)
{
	for (int i = 0; i < MDR_MAX_FIXED_IPS; i++) {
		const struct mdr_fixed_ip *ip = &att->fixed_ips[i];

		if (ip->family == family &&
		    mdr_bytes_equal(ip->addr, addr, len))
			return 1;
	}
	return 0;
}

/*
 * 0 when the guest may speak to metadata from @mac and @addr, else the
 * drop counter to bump. Without --mac or --ip, anything goes (a qdhcp tap
 * serves a whole network).
 */
static __always_inline __u32 mdr_check_guest(const struct mdr_attachment *att,
					     const __u8 *mac, __u32 family,
					     const __u8 *addr)
{
	__u32 len = family == MDR_AF_INET6 ? 16 : 4;
	__u8 ll[16];

	if ((att->flags & MDR_F_HAS_VM_MAC) &&
	    !mdr_bytes_equal(mac, att->vm_mac, ETH_ALEN))
		return MDR_DROP_SPOOF_MAC;
	if (!(att->flags & MDR_F_HAS_FIXED_IP) ||
	    mdr_is_fixed_ip(att, family, addr, len))
		return 0;
	if (family == MDR_AF_INET6 && (att->flags & MDR_F_HAS_VM_MAC)) {
		mdr_eui64_link_local(att->vm_mac, ll);
		if (mdr_bytes_equal(addr, ll, 16))
			return 0;
	}
	return MDR_DROP_SPOOF_IP;
}

/* A SYN without ACK: a guest opening a new connection. */
static __always_inline int mdr_is_new_connection(const struct tcphdr *tcp)
{
	return tcp->syn && !tcp->ack;
}

/*
 * Whether a new connection may go on under the attachment's rate: the
 * generic cell rate algorithm, one timestamp per attachment.
 */
static __always_inline int mdr_syn_allowed(const struct mdr_config *cfg,
					   __u32 id)
{
	__u64 now, interval = cfg->syn_interval_ns;
	struct mdr_syn_rate *rate;
	int allowed = 1;

	if (!interval)
		return 1;
	rate = bpf_map_lookup_elem(&mdr_syn_rate, &id);
	if (!rate)
		return 1;
	now = bpf_ktime_get_ns();
	bpf_spin_lock(&rate->lock);
	if (rate->tat < now)
		rate->tat = now;
	if (rate->tat - now > cfg->syn_burst_ns)
		allowed = 0;
	else
		rate->tat += interval;
	bpf_spin_unlock(&rate->lock);
	return allowed;
}

/*
 * Whether a new connection may go on under its guest's own rate: the same
 * algorithm, one timestamp per (attachment, source address) in an LRU map.
 *
 * No spin lock (an LRU map cannot hold one), and no compare-and-swap
 * (that needs -mcpu=v3): the charge is an atomic add, so every SYN that
 * passes is paid for. What races lose is bounded by the CPUs handling
 * one guest's SYNs at the same instant, few since a tap's packets mostly
 * arrive on one CPU: each may pass one SYN over the burst (then charged,
 * so later ones wait), and a restart after a quiet spell (the plain store)
 * may forget one charge. Close enough for a flood guard: a race lets a few
 * SYNs through early, and never charges a guest for one it refused.
 */
static __always_inline int mdr_guest_syn_allowed(__u32 id, __u32 family,
						 const __u8 *addr)
{
	struct mdr_neigh_key key = { .attach_id = id, .family = family };
	struct mdr_guest_syn *guest, fresh;
	struct mdr_guest_limit *limit;
	__u64 now, tat, interval;
	__u32 zero = 0;

	limit = bpf_map_lookup_elem(&mdr_guest_limit, &zero);
	if (!limit || !limit->syn_interval_ns)
		return 1;
	interval = limit->syn_interval_ns;
	if (family == MDR_AF_INET6)
		__builtin_memcpy(key.addr, addr, 16);
	else
		__builtin_memcpy(key.addr, addr, 4);
	now = bpf_ktime_get_ns();
	guest = bpf_map_lookup_elem(&mdr_guest_syn, &key);
	if (!guest) {
		/* First seen (or evicted): a burst is at least one SYN. */
		fresh.tat = now + interval;
		bpf_map_update_elem(&mdr_guest_syn, &key, &fresh, BPF_NOEXIST);
		return 1;
	}
	tat = *(volatile __u64 *)&guest->tat;
	if (tat < now) {
		guest->tat = now + interval;
		return 1;
	}
	if (tat - now > limit->syn_burst_ns)
		return 0;
	__sync_fetch_and_add(&guest->tat, interval);
	return 1;
}

#endif
