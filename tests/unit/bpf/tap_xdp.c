// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdr_tap_xdp where it parts from mdr_tap_ingress. Every tap fixture runs
 * through both programs (harness.c, run_fixtures_xdp()); the ones here
 * are about the edge XDP has and TC has not: a frame longer than a wire
 * frame cannot be redirected by XDP, so the XDP program passes it on
 * untouched and the TC program beside it (attached in XDP mode too)
 * sends it to the proxy. In generic mode such frames are real: a guest's
 * GSO segment.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "frames.h"
#include "harness.h"

/* Base packets with a field or two overridden: see frames.h. */
#pragma GCC diagnostic ignored "-Woverride-init"

/* tap_xdp.bpf.c's MDR_XDP_MAX_FRAME: Ethernet + 1500 + a VLAN tag. */
#define XDP_MAX_FRAME 1522

/* A request segment to the metadata service, @len bytes on the wire. */
#define DATA_TO_METADATA(len) \
	SYN_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK, .fill = (len)-SYN_LEN
#define DATA_TO_SERVICE(len) \
	SYN_TO_SERVICE, .tcp_flags = TCP_PSH | TCP_ACK, .fill = (len)-SYN_LEN
#define DATA6_TO_METADATA(len) \
	SYN6_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK, .fill = (len)-SYN6_LEN
#define DATA6_TO_SERVICE(len) \
	SYN6_TO_SERVICE, .tcp_flags = TCP_PSH | TCP_ACK, .fill = (len)-SYN6_LEN

/* XDP leaves the frame to TC: untouched, uncounted, nothing learnt. */
static const struct xdp_differs left_to_tc = {
	.verdict = XDP_PASS,
	.check = nothing_learnt,
};

static const struct fixture fixtures[] = {
	{
		/* The longest frame XDP still handles itself. */
		.name = "tap: a 1522-byte segment to 169.254.169.254:80 goes to the proxy",
		.prog = TAP,
		.in = { DATA_TO_METADATA(XDP_MAX_FRAME) },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ DATA_TO_SERVICE(XDP_MAX_FRAME) },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
	},
	{
		/* One byte more: TC's alone (see the top of this file). */
		.name = "tap: a 1523-byte segment to 169.254.169.254:80 goes to the proxy (XDP: left to TC)",
		.prog = TAP,
		.in = { DATA_TO_METADATA(XDP_MAX_FRAME + 1) },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ DATA_TO_SERVICE(XDP_MAX_FRAME + 1) },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
		.xdp = &left_to_tc,
	},
	{
		/* A GSO-sized segment, as generic XDP sees from a veth guest. */
		.name = "tap: a 2000-byte segment to 169.254.169.254:80 goes to the proxy (XDP: left to TC)",
		.prog = TAP,
		.in = { DATA_TO_METADATA(2000) },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ DATA_TO_SERVICE(2000) },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
		.xdp = &left_to_tc,
	},
	{
		.name = "tap: a 1522-byte IPv6 segment to fe80::a9fe:a9fe:80 goes to the proxy",
		.prog = TAP,
		.in = { DATA6_TO_METADATA(XDP_MAX_FRAME) },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ DATA6_TO_SERVICE(XDP_MAX_FRAME) },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest6_learnt,
	},
	{
		.name = "tap: a 1523-byte IPv6 segment to fe80::a9fe:a9fe:80 goes to the proxy (XDP: left to TC)",
		.prog = TAP,
		.in = { DATA6_TO_METADATA(XDP_MAX_FRAME + 1) },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ DATA6_TO_SERVICE(XDP_MAX_FRAME + 1) },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest6_learnt,
		.xdp = &left_to_tc,
	},
	{
		/*
		 * The length test comes first: a long ARP request is left
		 * to TC as well, and answered there.
		 */
		.name = "tap: a padded 1523-byte ARP who-has 169.254.169.254 is answered (XDP: left to TC)",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .pad_to = XDP_MAX_FRAME + 1 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT,
					   .pad_to = XDP_MAX_FRAME + 1 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.xdp = &left_to_tc,
	},
};

FIXTURE_TABLE(tap_xdp_fixtures, fixtures);
