// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdr_tap_ingress for a guest routed to metadata through a gateway (DHCP
 * option 121: 169.254.169.254/32 via the metadata port's IP, as under
 * OVN): it ARPs for that next hop, which the attachment names with
 * --metadata-via, and the tap answers for it as for 169.254.169.254.
 * Only the L2 next hop differs: the TCP that follows is the same.
 */
#include <linux/pkt_cls.h>

#include "frames.h"
#include "harness.h"

/* Base packets with a field or two overridden: see frames.h. */
#pragma GCC diagnostic ignored "-Woverride-init"

/* The next hop belongs to attachment 2, not to this tap's. */
static int via_other_attachment(void)
{
	return set_next_hop(TEST_ATTACH2_ID, NEXT_HOP_IP);
}

static int via_unattached(void)
{
	return via_next_hop() ?: forget_iface();
}

static const struct fixture fixtures[] = {
	{
		.name = "via: ARP who-has the next hop is answered by the next hop",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_NEXT_HOP_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = via_next_hop,
		.check = nothing_learnt,
	},
	{
		.name = "via: padded ARP who-has the next hop is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP, .pad_to = 60 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_NEXT_HOP_IS_AT, .pad_to = 60 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = via_next_hop,
	},
	{
		/* A unicast refresh of the entry the guest already has. */
		.name = "via: unicast ARP who-has the next hop is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP, .eth_dst = TAP_MAC,
			.arp_tha = TAP_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_NEXT_HOP_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = via_next_hop,
	},
	{
		.name = "via: ARP who-has 169.254.169.254 is still answered by it",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = via_next_hop,
	},
	{
		.name = "via: ARP who-has another IP is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .arp_tpa = "10.0.0.1" },
		.verdict = TC_ACT_OK,
		.setup = via_next_hop,
	},
	{
		/* The next hop's neighbour: only the last byte differs. */
		.name = "via: ARP who-has 10.0.0.3 is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .arp_tpa = "10.0.0.3" },
		.verdict = TC_ACT_OK,
		.setup = via_next_hop,
	},
	{
		/* Unset is 0: a request for 0.0.0.0 must not match it. */
		.name = "via: ARP who-has 0.0.0.0 without a next hop is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .arp_tpa = "0.0.0.0" },
		.verdict = TC_ACT_OK,
	},
	{
		.name = "via: ARP who-has the next hop without --metadata-via is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP },
		.verdict = TC_ACT_OK,
	},
	{
		.name = "via: ARP who-has another attachment's next hop is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP },
		.verdict = TC_ACT_OK,
		.setup = via_other_attachment,
	},
	{
		.name = "via: ARP who-has the next hop on an unattached interface is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP },
		.verdict = TC_ACT_OK,
		.setup = via_unattached,
	},
	{
		/* Another host's answer for it, or a gratuitous announcement. */
		.name = "via: ARP reply for the next hop is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP, .arp_op = 2, .arp_tha = TAP_MAC },
		.verdict = TC_ACT_OK,
		.setup = via_next_hop,
	},
	{
		.name = "via: VLAN-tagged ARP who-has the next hop is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_NEXT_HOP, .vlan_id = 100 },
		.verdict = TC_ACT_OK,
		.setup = via_next_hop,
	},
	{
		/* Sent to the MAC the next hop answered with: the tap's. */
		.name = "via: SYN to 169.254.169.254:80 through the next hop goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_dst = TAP_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = via_next_hop,
		.check = guest_learnt,
	},
	{
		/* The next hop is an L2 address only: it serves nothing itself. */
		.name = "via: SYN to the next hop itself, port 80, is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_dst = TAP_MAC,
			.daddr = NEXT_HOP_IP },
		.verdict = TC_ACT_OK,
		.setup = via_next_hop,
		.check = nothing_learnt,
	},
};

FIXTURE_TABLE(tap_via_fixtures, fixtures);
