// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdr_tap_ingress: new connections per guest (attachment and source
 * address, GCRA in the LRU map mdr_guest_syn), checked before the
 * attachment's own rate, so that a flooding guest spends only its own
 * budget.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "frames.h"
#include "harness.h"

/* Base packets with a field or two overridden: see frames.h. */
#pragma GCC diagnostic ignored "-Woverride-init"

/*
 * As tap_guard.c's attachment rate: one SYN per 10 s, bursts of two
 * intervals ahead, so three SYNs in a row pass and the fourth does not.
 */
#define TEST_INTERVAL (10 * NSEC_PER_SEC)
#define TEST_BURST    (2 * TEST_INTERVAL)
/* The attachment's, where a fixture turns it on too: five SYNs pass. */
#define ATTACH_BURST  (4 * TEST_INTERVAL)
/* Two more guests of the network (no --ip: a qdhcp tap). */
#define THIRD_IP      "10.0.0.7"
#define FOURTH_IP     "10.0.0.8"
#define OTHER6_IP     "fe80::2"

static const struct pkt_spec syn4 = { SYN_TO_METADATA };
static const struct pkt_spec syn6 = { SYN6_TO_METADATA };
static const struct pkt_spec other_syn4 = { SYN_TO_METADATA,
					    .saddr = OTHER_IP };
static const struct pkt_spec third_syn4 = { SYN_TO_METADATA,
					    .saddr = THIRD_IP };

/* The schedule of guest @ip of attachment 1; 0 when it has none. */
static __u64 guest_tat(int family, const char *ip)
{
	struct mdr_neigh_key key = neigh_key(TEST_ATTACH_ID, family, ip);
	struct mdr_guest_syn val;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.mdr_guest_syn), &key,
				&val))
		return 0;
	return val.tat;
}

/* Where GUEST_IP's schedule stood, and when, before the fixture's packet. */
static __u64 tat_before, clock_before;

static int note_schedule(void)
{
	tat_before = guest_tat(AF_INET, GUEST_IP);
	clock_before = monotonic_ns();
	return 0;
}

static int set_guest_limit(__u64 interval_ns, __u64 burst_ns)
{
	struct mdr_guest_limit limit = { interval_ns, burst_ns };
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_guest_limit),
				   &zero, &limit, 0)
		       ? -errno
		       : 0;
}

static int guest_rate_on(void)
{
	return set_guest_limit(TEST_INTERVAL, TEST_BURST) ?: note_schedule();
}

static int guest_two_syns(void)
{
	return guest_rate_on() ?: send_syns(&syn4, 2, TC_ACT_REDIRECT) ?:
		note_schedule();
}

/* The guest's burst is spent: three SYNs went through. */
static int guest_spent(void)
{
	return guest_rate_on() ?: send_syns(&syn4, 3, TC_ACT_REDIRECT) ?:
		note_schedule();
}

static int guest6_spent(void)
{
	return guest_rate_on() ?: send_syns(&syn6, 3, TC_ACT_REDIRECT) ?:
		note_schedule();
}

/* Both rates alike: the guest's is the one that refuses first. */
static int same_rates_spent(void)
{
	return set_config(TEST_INTERVAL, TEST_BURST, 0) ?: guest_spent();
}

/*
 * The attachment takes five SYNs; its guest GUEST_IP sent twenty, of
 * which its own rate passed three.
 */
static int guest_flooded(void)
{
	return set_config(TEST_INTERVAL, ATTACH_BURST, 0) ?: guest_spent() ?:
		send_syns(&syn4, 17, TC_ACT_SHOT) ?: note_schedule();
}

/* ...and a neighbour opened one: the attachment's fourth. */
static int guest_flooded_other_served(void)
{
	return guest_flooded() ?: run_tap(&other_syn4, TC_ACT_REDIRECT);
}

/* ...and another neighbour one more: the attachment's fifth, its last. */
static int guest_flooded_budget_spent(void)
{
	return guest_flooded_other_served()
		       ?: run_tap(&third_syn4, TC_ACT_REDIRECT);
}

/* A per-guest rate of 0 (a burst set all the same): no limit. */
static int guest_rate_off_many_syns(void)
{
	return set_guest_limit(0, TEST_BURST)
		       ?: send_syns(&syn4, 20, TC_ACT_REDIRECT);
}

/*
 * mdr_guest_syn filled with as many other guests (of attachment 2, their
 * bursts spent) as it holds: a new guest pushes one out.
 */
static int fill_guest_map(void)
{
	int fd = bpf_map__fd(skel->maps.mdr_guest_syn);
	struct mdr_guest_syn spent = { monotonic_ns() + 100 * NSEC_PER_SEC };
	struct mdr_neigh_key key = { .attach_id = TEST_ATTACH2_ID,
				     .family = MDR_AF_INET };

	for (__u32 i = 0; i < MDR_MAX_NEIGH; i++) {
		memcpy(key.addr, &i, sizeof(i));
		if (bpf_map_update_elem(fd, &key, &spent, 0))
			return -errno;
	}
	return 0;
}

static int guest_rate_on_map_full(void)
{
	return guest_rate_on() ?: fill_guest_map() ?: note_schedule();
}

/*
 * A first SYN books the guest's next slot at now + interval, now being
 * bpf_ktime_get_ns(): CLOCK_MONOTONIC, read here around the run (1 ms of
 * slack for the NMI-safe clock the helper reads).
 */
static bool guest_started(int family, const char *ip, char *why, size_t n)
{
	__u64 tat = guest_tat(family, ip), now = monotonic_ns();
	const __u64 slack = NSEC_PER_SEC / 1000;

	if (tat < clock_before + TEST_INTERVAL - slack ||
	    tat > now + TEST_INTERVAL + slack) {
		snprintf(why, n,
			 "mdr_guest_syn[%s].tat is %llu, expected now + 10 s "
			 "(now %llu)",
			 ip, (unsigned long long)tat, (unsigned long long)now);
		return false;
	}
	return true;
}

static bool guest_moved(__u64 by, char *why, size_t n)
{
	__u64 tat = guest_tat(AF_INET, GUEST_IP);

	if (tat != tat_before + by) {
		snprintf(
			why, n,
			"mdr_guest_syn[%s].tat moved by %lld ns, expected %llu",
			GUEST_IP, (long long)(tat - tat_before),
			(unsigned long long)by);
		return false;
	}
	return true;
}

static bool guest_schedule_started(char *why, size_t n)
{
	return guest_started(AF_INET, GUEST_IP, why, n);
}

static bool guest_schedule_advanced(char *why, size_t n)
{
	return guest_moved(TEST_INTERVAL, why, n);
}

/* The refused SYN booked nothing, so refusals do not pile up. */
static bool guest_schedule_kept(char *why, size_t n)
{
	return guest_moved(0, why, n);
}

/* The neighbour has a schedule of its own; the flooder's stayed put. */
static bool other_started_guest_kept(char *why, size_t n)
{
	return guest_started(AF_INET, OTHER_IP, why, n) &&
	       guest_moved(0, why, n);
}

static bool other6_started(char *why, size_t n)
{
	return guest_started(AF_INET6, OTHER6_IP, why, n);
}

/* Its first 4 bytes spell GUEST_IP; it is another guest all the same. */
static bool lookalike6_started_guest_kept(char *why, size_t n)
{
	return guest_started(AF_INET6, LOOKALIKE6_IP, why, n) &&
	       guest_moved(0, why, n);
}

static bool nothing_scheduled(char *why, size_t n)
{
	struct mdr_neigh_key key;
	int fd = bpf_map__fd(skel->maps.mdr_guest_syn);

	if (bpf_map_get_next_key(fd, NULL, &key) == 0) {
		snprintf(why, n, "mdr_guest_syn has an entry, expected none");
		return false;
	}
	return true;
}

static const struct fixture fixtures[] = {
	{
		.name = "guest rate: first SYN goes to the proxy and books now + interval for its guest",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_rate_on,
		.check = guest_schedule_started,
	},
	{
		.name = "guest rate: third SYN in a row from one guest goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_two_syns,
		.check = guest_schedule_advanced,
	},
	{
		.name = "guest rate: fourth SYN in a row from one guest is dropped (guest_syn_rate)",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_GUEST_SYN_RATE),
		.setup = guest_spent,
		.check = guest_schedule_kept,
	},
	{
		.name = "guest rate: another guest's SYN on the same attachment goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .saddr = OTHER_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_spent,
		.check = other_started_guest_kept,
	},
	{
		.name = "guest rate: an ACK from a guest past its burst goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_ACK },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
					   .tcp_flags = TCP_ACK },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_spent,
		.check = guest_schedule_kept,
	},
	{
		.name = "guest rate: a SYN-ACK from a guest past its burst goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_SYN | TCP_ACK },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
					   .tcp_flags = TCP_SYN | TCP_ACK },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_spent,
		.check = guest_schedule_kept,
	},
	{
		.name = "guest rate: TCP SYN to 169.254.169.254:443 past the burst is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .dport = 443 },
		.verdict = TC_ACT_OK,
		.setup = guest_spent,
		.check = guest_schedule_kept,
	},
	{
		.name = "guest rate: ARP from a guest past its burst is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = guest_spent,
		.check = guest_schedule_kept,
	},
	{
		.name = "guest rate: fourth IPv6 SYN in a row from one guest is dropped",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_GUEST_SYN_RATE),
		.setup = guest6_spent,
	},
	{
		.name = "guest rate: another IPv6 guest's SYN goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = OTHER6_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
					   .saddr = OTHER6_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest6_spent,
		.check = other6_started,
	},
	{
		/* The key holds the family: no mix-up with 10.0.0.5. */
		.name = "guest rate: an IPv6 SYN from a00:5:: after 10.0.0.5 spent its burst goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = LOOKALIKE6_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
					   .saddr = LOOKALIKE6_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_spent,
		.check = lookalike6_started_guest_kept,
	},
	{
		.name = "guest rate: at the attachment's rate too, a guest's fourth SYN counts as guest_syn_rate",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_GUEST_SYN_RATE),
		.setup = same_rates_spent,
		.check = guest_schedule_kept,
	},
	{
		/*
		 * The attachment takes five: the flooder's three and this
		 * one are four. Had its 17 refused SYNs been charged, this
		 * would be dropped as syn_rate.
		 */
		.name = "guest rate: a guest's refused SYNs spend nothing of the attachment's budget",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .saddr = OTHER_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_flooded,
		.check = other_started_guest_kept,
	},
	{
		.name = "guest rate: what the guests pass is still charged to the attachment: its sixth is dropped (syn_rate)",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .saddr = FOURTH_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = guest_flooded_budget_spent,
	},
	{
		.name = "guest rate: per-guest rate 0: the twenty-first SYN in a row goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_rate_off_many_syns,
		.check = nothing_scheduled,
	},
	{
		/*
		 * The kernel's LRU keeps an entry used since it was added
		 * for a second round, so which one goes is not ours to
		 * tell; that a new guest gets in and is tracked is.
		 */
		.name = "guest rate: a new guest's SYN with mdr_guest_syn full goes to the proxy and is tracked",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guest_rate_on_map_full,
		.check = guest_schedule_started,
	},
};

FIXTURE_TABLE(tap_guest_rate_fixtures, fixtures);
