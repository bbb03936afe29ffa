// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdr_tap_ingress hardened: anti-spoofing against --mac and --ip, new
 * connections per attachment (GCRA), and the reply TTL leaving the guest's
 * own packets alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "frames.h"
#include "harness.h"

/* Base packets with a field or two overridden: see frames.h. */
#pragma GCC diagnostic ignored "-Woverride-init"

/*
 * The SYN rate the fixtures use: one SYN per 10 s, bursts up to two
 * intervals ahead, so three SYNs in a row pass and the fourth does not.
 * Long enough that the time test_run takes can never flip a result.
 */
#define TEST_SYN_INTERVAL (10 * NSEC_PER_SEC)
#define TEST_SYN_BURST	  (2 * TEST_SYN_INTERVAL)

/* Attachment 1 with --mac @vm_mac and --ip @ips (see guard_attachment()). */
static int guard(const uint8_t *vm_mac, const char *const *ips)
{
	struct mdr_attachment att = test_attachment();

	guard_attachment(&att, vm_mac, ips);
	return put_attachment(TEST_ATTACH_ID, &att);
}

static const char *const GUEST_IPS[] = { GUEST_IP, GUEST6_GLOBAL_IP, NULL };

static int guard_mac_ip(void)
{
	return guard(GUEST_MAC, GUEST_IPS);
}

static int guard_mac_only(void)
{
	return guard(GUEST_MAC, NULL);
}

static int guard_ip_only(void)
{
	return guard(NULL, GUEST_IPS);
}

/* --mac and an IPv4 --ip only: IPv6 rests on the EUI-64 address. */
static int guard_mac_ip4(void)
{
	static const char *const ips[] = { GUEST_IP, NULL };

	return guard(GUEST_MAC, ips);
}

/* All eight slots used, the guest's addresses in the last two. */
static int guard_full_table(void)
{
	static const char *const ips[] = {
		"10.0.0.101",	  "2001:db8::101", "10.0.0.102",
		"2001:db8::102",  "10.0.0.103",	   "2001:db8::103",
		GUEST6_GLOBAL_IP, GUEST_IP,	   NULL,
	};

	return guard(GUEST_MAC, ips);
}

/* The only --ip is IPv6, and its first 4 bytes spell 10.0.0.5. */
static int guard_lookalike6(void)
{
	static const char *const ips[] = { LOOKALIKE6_IP, NULL };

	return guard(GUEST_MAC, ips);
}

/* Guarded, and attached with --metadata-via NEXT_HOP_IP. */
static int guard_mac_ip_via(void)
{
	return guard_mac_ip() ?: via_next_hop();
}

/* Guarded, and the tap no longer attached. */
static int guard_unattached(void)
{
	return guard_mac_ip() ?: forget_iface();
}

static const struct pkt_spec syn4 = { SYN_TO_METADATA };
static const struct pkt_spec syn6 = { SYN6_TO_METADATA };

static __u64 syn_tat(__u32 id)
{
	struct mdr_syn_rate rate = {};

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.mdr_syn_rate), &id,
				&rate))
		return ~0ULL;
	return rate.tat;
}

/* Where the schedules stood, and when, before the fixture's packet. */
static __u64 tat_before[N_CHECKED_IDS], clock_before;

static int note_schedule(void)
{
	for (__u32 id = 0; id < N_CHECKED_IDS; id++)
		tat_before[id] = syn_tat(id);
	clock_before = monotonic_ns();
	return 0;
}

static int rate_on(void)
{
	return set_config(TEST_SYN_INTERVAL, TEST_SYN_BURST, 0)
		       ?: note_schedule();
}

/* No burst at all: one SYN per interval, the second too soon. */
static int rate_no_burst_one_syn(void)
{
	return set_config(TEST_SYN_INTERVAL, 0, 0) ?:
		run_tap(&syn4, TC_ACT_REDIRECT) ?: note_schedule();
}

static int rate_two_syns(void)
{
	return rate_on() ?: send_syns(&syn4, 2, TC_ACT_REDIRECT) ?:
		note_schedule();
}

/* The burst is spent: three SYNs went through. */
static int rate_spent(void)
{
	return rate_on() ?: send_syns(&syn4, 3, TC_ACT_REDIRECT) ?:
		note_schedule();
}

/* ...and a fourth was refused already. */
static int rate_spent_refused(void)
{
	return rate_on() ?: send_syns(&syn4, 3, TC_ACT_REDIRECT) ?:
		run_tap(&syn4, TC_ACT_SHOT) ?: note_schedule();
}

static int rate_spent6(void)
{
	return rate_on() ?: send_syns(&syn6, 3, TC_ACT_REDIRECT) ?:
		note_schedule();
}

/* Interval 0 (a burst set all the same): twenty SYNs pass. */
static int rate_off_many_syns(void)
{
	return set_config(0, TEST_SYN_BURST, 0) ?:
		send_syns(&syn4, 20, TC_ACT_REDIRECT) ?: note_schedule();
}

static int rate_on_guarded(void)
{
	return guard_mac_ip() ?: rate_on();
}

static int rate_spent_guarded(void)
{
	return guard_mac_ip() ?: rate_spent();
}

/*
 * Attachment 2 takes over the tap (pool + 2), after attachment 1 spent
 * its burst on it: what it may send is its own business.
 */
static int switch_to_attach2(void)
{
	struct mdr_attachment att = test_attachment2();
	struct mdr_iface_key ik = { test_netns, lo_ifindex, 0 };
	__u32 id = TEST_ATTACH2_ID;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_iface), &ik, &id, 0))
		return -errno;
	return put_attachment(id, &att);
}

static int rate_spent_then_attach2(void)
{
	return rate_spent() ?: switch_to_attach2() ?: note_schedule();
}

static int rate_both_spent(void)
{
	return rate_spent() ?: switch_to_attach2() ?:
		send_syns(&syn4, 3, TC_ACT_REDIRECT) ?: note_schedule();
}

/* Attachment @id's schedule moved by @by since note_schedule(). */
static bool schedule_moved(__u32 id, __u64 by, char *why, size_t n)
{
	__u64 tat = syn_tat(id);

	if (tat != tat_before[id] + by) {
		snprintf(why, n,
			 "mdr_syn_rate[%u].tat moved by %lld ns, expected %llu",
			 id, (long long)(tat - tat_before[id]),
			 (unsigned long long)by);
		return false;
	}
	return true;
}

/* The fixture's SYN was not counted: no schedule moved. */
static bool schedule_kept(char *why, size_t n)
{
	for (__u32 id = 0; id < N_CHECKED_IDS; id++)
		if (!schedule_moved(id, 0, why, n))
			return false;
	return true;
}

/* The fixture's SYN was counted: attachment 1 booked one more interval. */
static bool schedule_advanced(char *why, size_t n)
{
	return schedule_moved(0, 0, why, n) &&
	       schedule_moved(TEST_ATTACH_ID, TEST_SYN_INTERVAL, why, n) &&
	       schedule_moved(TEST_ATTACH2_ID, 0, why, n);
}

/*
 * A first SYN books the next slot at now + interval, now being
 * bpf_ktime_get_ns(): CLOCK_MONOTONIC, read here around the run (1 ms of
 * slack for the NMI-safe clock the helper reads).
 */
static bool schedule_started(__u32 id, char *why, size_t n)
{
	__u64 tat = syn_tat(id), now = monotonic_ns();
	const __u64 slack = NSEC_PER_SEC / 1000;

	if (tat_before[id] != 0 ||
	    tat < clock_before + TEST_SYN_INTERVAL - slack ||
	    tat > now + TEST_SYN_INTERVAL + slack) {
		snprintf(
			why, n,
			"mdr_syn_rate[%u].tat is %llu, expected now + 10 s (now %llu)",
			id, (unsigned long long)tat, (unsigned long long)now);
		return false;
	}
	return true;
}

static bool nothing_scheduled(char *why, size_t n)
{
	for (__u32 id = 0; id < N_CHECKED_IDS; id++)
		if (syn_tat(id) != 0) {
			snprintf(why, n,
				 "mdr_syn_rate[%u].tat is %llu, expected 0", id,
				 (unsigned long long)syn_tat(id));
			return false;
		}
	return true;
}

static bool learnt_nothing_scheduled(char *why, size_t n)
{
	return nothing_learnt(why, n) && nothing_scheduled(why, n);
}

static bool guest_learnt_schedule_kept(char *why, size_t n)
{
	return learnt_only(AF_INET, GUEST_IP, why, n) && schedule_kept(why, n);
}

static bool guest_learnt_schedule_advanced(char *why, size_t n)
{
	return learnt_only(AF_INET, GUEST_IP, why, n) &&
	       schedule_advanced(why, n);
}

static bool guest_learnt_schedule_started(char *why, size_t n)
{
	return learnt_only(AF_INET, GUEST_IP, why, n) &&
	       schedule_moved(0, 0, why, n) &&
	       schedule_started(TEST_ATTACH_ID, why, n) &&
	       schedule_moved(TEST_ATTACH2_ID, 0, why, n);
}

static bool guest6_learnt_schedule_kept(char *why, size_t n)
{
	return learnt_only(AF_INET6, GUEST6_IP, why, n) &&
	       schedule_kept(why, n);
}

static bool guest_learnt_nothing_scheduled(char *why, size_t n)
{
	return learnt_only(AF_INET, GUEST_IP, why, n) &&
	       nothing_scheduled(why, n);
}

/*
 * Attachment 2 learnt the guest for itself and booked its own slot;
 * attachment 1's schedule stayed where its burst left it.
 */
static bool both_learnt(char *why, size_t n)
{
	return has_neigh(TEST_ATTACH_ID, AF_INET, GUEST_IP, GUEST_MAC, why,
			 n) &&
	       has_neigh(TEST_ATTACH2_ID, AF_INET, GUEST_IP, GUEST_MAC, why,
			 n) &&
	       neigh_count(2, why, n);
}

static bool attach2_on_its_own(char *why, size_t n)
{
	return both_learnt(why, n) && schedule_moved(0, 0, why, n) &&
	       schedule_moved(TEST_ATTACH_ID, 0, why, n) &&
	       schedule_started(TEST_ATTACH2_ID, why, n);
}

/* Attachment 2 spent its own burst; the refused SYN booked nothing. */
static bool both_learnt_schedule_kept(char *why, size_t n)
{
	return both_learnt(why, n) && schedule_kept(why, n);
}

static bool guest_learnt_as_guest2(char *why, size_t n)
{
	return learnt_only_as(AF_INET, GUEST_IP, GUEST2_MAC, why, n);
}

static bool global_guest6_learnt_as_guest2(char *why, size_t n)
{
	return learnt_only_as(AF_INET6, GUEST6_GLOBAL_IP, GUEST2_MAC, why, n);
}

static bool eui64_guest6_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET6, GUEST6_EUI64, why, n);
}

static bool any_guest_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET, OTHER_IP, why, n);
}

static bool any_guest6_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET6, GUEST6_IP, why, n);
}

static const struct fixture fixtures[] = {
	/* -- mdr_tap_ingress: anti-spoofing against --mac and --ip -- */
	{
		.name = "guard: SYN from the attachment's MAC and IPv4 goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip,
		.check = guest_learnt,
	},
	{
		.name = "guard: ARP from the attachment's MAC and IPv4 is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from the attachment's MAC and IPv6 goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
					   .saddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip,
		.check = global_guest6_learnt,
	},
	{
		.name = "guard: NS from the attachment's MAC and IPv6 is answered",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA,
					   .daddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: request with a body from the right MAC and IP goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_REDIRECT,
		.out =
			&(struct pkt_spec){
				SYN_TO_SERVICE, .tcp_flags = TCP_PSH | TCP_ACK,
				.payload =
					"GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip,
		.check = guest_learnt,
	},
	{
		.name = "guard: SYN from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* An established connection's data, not only its SYN. */
		.name = "guard: request with a body from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC,
			.tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: ARP from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .eth_src = GUEST2_MAC,
			.arp_sha = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* The frame's source is what is checked, not the ARP body. */
		.name = "guard: ARP from another MAC claiming the right sender MAC is dropped",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP,
			.eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: NS from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = GUEST6_GLOBAL_IP,
			.eth_src = GUEST2_MAC, .nd_ll_mac = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* Both wrong: the MAC is checked first, one counter moves. */
		.name = "guard: SYN from another MAC and IP counts as a spoofed MAC only",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC,
			.saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: SYN from another IPv4 is dropped (spoofed IP)",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* Unused slots are family 0, address zero: they match nothing. */
		.name = "guard: SYN from 0.0.0.0 is dropped (spoofed IP)",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = "0.0.0.0" },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: ARP whose sender IP is another is dropped (spoofed IP)",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .arp_spa = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* The next hop's ARP is guarded as 169.254.169.254's is. */
		.name = "guard: ARP for the next hop from the attachment's MAC and IPv4 is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_NEXT_HOP_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = guard_mac_ip_via,
		.check = nothing_learnt,
	},
	{
		.name = "guard: ARP for the next hop from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP, .eth_src = GUEST2_MAC,
			.arp_sha = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip_via,
		.check = nothing_learnt,
	},
	{
		.name = "guard: ARP for the next hop whose sender IP is another is dropped (spoofed IP)",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP, .arp_spa = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip_via,
		.check = nothing_learnt,
	},
	{
		/* Not ours: the guard never sees it, so nothing is counted. */
		.name = "guard: spoofed ARP for another IP is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .arp_tpa = "10.0.0.1",
			.eth_src = GUEST2_MAC, .arp_sha = GUEST2_MAC },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip_via,
		.check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from another global IPv6 is dropped (spoofed IP)",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = OTHER6_GLOBAL_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: NS from another global IPv6 is dropped (spoofed IP)",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = OTHER6_GLOBAL_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* fe80::1 is link-local, but not the EUI-64 of the --mac. */
		.name = "guard: IPv6 SYN from a link-local IPv6 not derived from the MAC is dropped",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: NS from a link-local IPv6 not derived from the MAC is dropped",
		.prog = TAP,
		.in = { NS_FOR_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from the MAC's EUI-64 link-local goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_EUI64 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
					   .saddr = GUEST6_EUI64 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip,
		.check = eui64_guest6_learnt,
	},
	{
		.name = "guard: NS from the MAC's EUI-64 link-local is answered",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = GUEST6_EUI64 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA,
					   .daddr = GUEST6_EUI64 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* Without any IPv6 --ip, the EUI-64 address is all there is. */
		.name = "guard: --mac and IPv4 --ip only: EUI-64 link-local SYN goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_EUI64 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
					   .saddr = GUEST6_EUI64 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip4,
		.check = eui64_guest6_learnt,
	},
	{
		.name = "guard: --mac and IPv4 --ip only: IPv6 SYN from a global IPv6 is dropped",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip4,
		.check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from another MAC's EUI-64 link-local is dropped",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST2_6_EUI64 },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: NS from another MAC's EUI-64 link-local is dropped",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = GUEST2_6_EUI64 },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* ...even sent from that other MAC: then the MAC is wrong. */
		.name = "guard: IPv6 SYN from another MAC and its EUI-64 is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST2_6_EUI64,
			.eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: eight --ip: the IPv4 in the last slot goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_full_table,
		.check = guest_learnt,
	},
	{
		.name = "guard: eight --ip: the IPv6 in the seventh slot goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
					   .saddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_full_table,
		.check = global_guest6_learnt,
	},
	{
		.name = "guard: eight --ip: an IPv4 in none of them is dropped",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_full_table,
		.check = nothing_learnt,
	},
	{
		/* The family is compared, not only the first 4 bytes. */
		.name = "guard: IPv4 --ip 10.0.0.5 does not let a00:5:: through",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = LOOKALIKE6_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 --ip a00:5:: does not let 10.0.0.5 through",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_lookalike6,
		.check = nothing_learnt,
	},
	{
		.name = "guard: --mac only: SYN from any IPv4 goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .saddr = OTHER_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_only,
		.check = any_guest_learnt,
	},
	{
		.name = "guard: --mac only: ARP from any IPv4 is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .arp_spa = OTHER_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT,
					   .arp_tpa = OTHER_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = guard_mac_only,
		.check = nothing_learnt,
	},
	{
		.name = "guard: --mac only: IPv6 SYN from any IPv6 goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_only,
		.check = any_guest6_learnt,
	},
	{
		.name = "guard: --mac only: NS from any IPv6 is answered",
		.prog = TAP,
		.in = { NS_FOR_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.setup = guard_mac_only,
		.check = nothing_learnt,
	},
	{
		.name = "guard: --mac only: SYN from another MAC is dropped",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_only,
		.check = nothing_learnt,
	},
	{
		.name = "guard: --ip only: SYN from any MAC goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_ip_only,
		.check = guest_learnt_as_guest2,
	},
	{
		.name = "guard: --ip only: ARP from any MAC is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .eth_src = GUEST2_MAC,
			.arp_sha = GUEST2_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT,
					   .eth_dst = GUEST2_MAC,
					   .arp_tha = GUEST2_MAC },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = guard_ip_only,
		.check = nothing_learnt,
	},
	{
		.name = "guard: --ip only: IPv6 SYN from any MAC goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP,
			.eth_src = GUEST2_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
					   .saddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_ip_only,
		.check = global_guest6_learnt_as_guest2,
	},
	{
		.name = "guard: --ip only: NS from any MAC is answered",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = GUEST6_GLOBAL_IP,
			.eth_src = GUEST2_MAC, .nd_ll_mac = GUEST2_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA,
					   .eth_dst = GUEST2_MAC,
					   .daddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.setup = guard_ip_only,
		.check = nothing_learnt,
	},
	{
		.name = "guard: --ip only: SYN from another IPv4 is dropped",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_ip_only,
		.check = nothing_learnt,
	},
	{
		/* No --mac, so no EUI-64 address to allow. */
		.name = "guard: --ip only: IPv6 SYN from an EUI-64 link-local is dropped",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_EUI64 },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_ip_only,
		.check = nothing_learnt,
	},
	{
		.name = "guard: TCP to 10.0.0.1:80 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC,
			.saddr = OTHER_IP, .daddr = "10.0.0.1" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: TCP to 169.254.169.254:443 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC,
			.saddr = OTHER_IP, .dport = 443 },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: UDP to 169.254.169.254:80 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC,
			.saddr = OTHER_IP, .proto = IPPROTO_UDP,
			.payload = "metadata?" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: ARP who-has 10.0.0.1 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .eth_src = GUEST2_MAC,
			.arp_sha = GUEST2_MAC, .arp_spa = OTHER_IP,
			.arp_tpa = "10.0.0.1" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 TCP to [fe80::2]:80 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .eth_src = GUEST2_MAC,
			.saddr = OTHER6_GLOBAL_IP, .daddr = "fe80::2" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: NS for fe80::2 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .eth_src = GUEST2_MAC,
			.nd_ll_mac = GUEST2_MAC, .saddr = OTHER6_GLOBAL_IP,
			.nd_target = "fe80::2" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		/* DAD: not a solicitation we answer, so not ours to police. */
		.name = "guard: DAD NS for fe80::a9fe:a9fe from a spoofed MAC is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .eth_src = GUEST2_MAC,
			.saddr = "::", .nd_ll_opt = 0 },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip,
		.check = nothing_learnt,
	},
	{
		.name = "guard: metadata SYN from a spoofed MAC on an unattached interface is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_OK,
		.setup = guard_unattached,
		.check = nothing_learnt,
	},

	/* -- mdr_tap_ingress: new connections per attachment (GCRA) -- */
	{
		.name = "rate: first SYN goes to the proxy and books now + interval",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_on,
		.check = guest_learnt_schedule_started,
	},
	{
		.name = "rate: third SYN in a row (burst of two intervals) goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_two_syns,
		.check = guest_learnt_schedule_advanced,
	},
	{
		.name = "rate: fourth SYN in a row is dropped",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_spent,
		.check = guest_learnt_schedule_kept,
	},
	{
		/* A refused SYN books nothing, so refusals do not pile up. */
		.name = "rate: fifth SYN in a row is dropped too",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_spent_refused,
		.check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: burst 0: a second SYN within the interval is dropped",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_no_burst_one_syn,
		.check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: ACK past the burst goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_ACK },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
					   .tcp_flags = TCP_ACK },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent_refused,
		.check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: request with a body past the burst goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_REDIRECT,
		.out =
			&(struct pkt_spec){
				SYN_TO_SERVICE, .tcp_flags = TCP_PSH | TCP_ACK,
				.payload =
					"GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent_refused,
		.check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: IPv6 request with a body past the burst goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /openstack/latest HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_REDIRECT,
		.out =
			&(struct pkt_spec){
				SYN6_TO_SERVICE, .tcp_flags = TCP_PSH | TCP_ACK,
				.payload =
					"GET /openstack/latest HTTP/1.1\r\n\r\n" },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent6,
		.check = guest6_learnt_schedule_kept,
	},
	{
		.name = "rate: SYN-ACK from a guest past the burst goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_SYN | TCP_ACK },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
					   .tcp_flags = TCP_SYN | TCP_ACK },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent_refused,
		.check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: SYN-ACK from a guest books no new connection",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_SYN | TCP_ACK },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
					   .tcp_flags = TCP_SYN | TCP_ACK },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_on,
		.check = guest_learnt_nothing_scheduled,
	},
	{
		.name = "rate: fourth IPv6 SYN in a row is dropped",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_spent6,
		.check = guest6_learnt_schedule_kept,
	},
	{
		/* One budget per attachment, whatever the family. */
		.name = "rate: IPv6 SYN after three IPv4 SYNs is dropped",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_spent,
		.check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: interval 0: the twenty-first SYN in a row goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_off_many_syns,
		.check = guest_learnt_nothing_scheduled,
	},
	{
		.name = "rate: a second attachment's first SYN goes to the proxy on its own budget",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
					   .daddr = SERVICE2_IP },
		COUNTS(TEST_ATTACH2_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent_then_attach2,
		.check = attach2_on_its_own,
	},
	{
		.name = "rate: a second attachment's fourth SYN in a row is dropped",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH2_ID, MDR_DROP_SYN_RATE),
		.setup = rate_both_spent,
		.check = both_learnt_schedule_kept,
	},
	{
		/* Spoofing is checked first: a spoofed SYN spends no budget. */
		.name = "rate: SYN from a spoofed MAC is dropped as spoofed and books nothing",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = rate_on_guarded,
		.check = learnt_nothing_scheduled,
	},
	{
		.name = "rate: SYN from a spoofed IP past the burst counts as spoofed",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = rate_spent_guarded,
		.check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: TCP SYN to 169.254.169.254:443 past the burst is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .dport = 443 },
		.verdict = TC_ACT_OK,
		.setup = rate_spent,
		.check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: ARP past the burst is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = rate_spent,
		.check = guest_learnt_schedule_kept,
	},

	/* -- mdr_tap_ingress: reply TTL -- */
	{
		/* Only replies: the guest's own packets keep their TTL. */
		.name = "ttl: reply_ttl 1: a guest's SYN keeps its TTL on the way in",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = ttl1,
		.check = guest_learnt,
	},
};

FIXTURE_TABLE(tap_guard_fixtures, fixtures);
