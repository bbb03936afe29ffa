// SPDX-License-Identifier: GPL-2.0-only
/* mdr_tap_ingress: ARP, NDP, and TCP to the metadata service. */
#include <linux/pkt_cls.h>

#include "frames.h"
#include "harness.h"

/* Base packets with a field or two overridden: see frames.h. */
#pragma GCC diagnostic ignored "-Woverride-init"

static const struct fixture fixtures[] = {
	/* -- mdr_tap_ingress: ARP -- */
	{
		.name = "tap: ARP who-has 169.254.169.254 is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
	},
	{
		/* On the wire ARP is padded to 60 bytes; the padding stays. */
		.name = "tap: padded ARP who-has 169.254.169.254 is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .pad_to = 60 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT, .pad_to = 60 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
	},
	{
		.name = "tap: ARP who-has another IP is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .arp_tpa = "10.0.0.1" },
		.verdict = TC_ACT_OK,
	},
	{
		.name = "tap: ARP reply for 169.254.169.254 is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .arp_op = 2, .arp_tha = TAP_MAC },
		.verdict = TC_ACT_OK,
	},
	{
		.name = "tap: ARP cut short is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .truncate = ETH_HDR_LEN + 20 },
		.verdict = TC_ACT_OK,
	},
	{
		.name = "tap: ARP on an unattached interface is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_OK,
		.setup = forget_iface,
	},

	/* -- mdr_tap_ingress: NDP -- */
	{
		.name = "tap: NS for fe80::a9fe:a9fe is answered with an NA",
		.prog = TAP,
		.in = { NS_FOR_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.check = nothing_learnt,
	},
	{
		/* 78 bytes in, 86 out: the frame grows. */
		.name = "tap: NS for fe80::a9fe:a9fe without options is answered",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .nd_ll_opt = 0 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.check = nothing_learnt,
	},
	{
		/* 94 bytes in, 86 out: the frame shrinks. */
		.name = "tap: NS for fe80::a9fe:a9fe with a nonce option is answered",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .nd_nonce = true },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.check = nothing_learnt,
	},
	{
		/* Unicast NUD probe, as a guest refreshing its cache sends. */
		.name = "tap: unicast NS for fe80::a9fe:a9fe is answered",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .to_solicited_node = false,
			.eth_dst = TAP_MAC, .daddr = METADATA_IP6 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.check = nothing_learnt,
	},
	{
		.name = "tap: NS from a global address is answered to it",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA,
					   .daddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.check = nothing_learnt,
	},
	{
		.name = "tap: NS for another target is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .nd_target = "fe80::2" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* Same low 24 bits, so the same solicited-node group. */
		.name = "tap: NS for fe80::1:a9fe:a9fe (same group) is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .nd_target = "fe80::1:a9fe:a9fe" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* RFC 4861 7.1.1: a router may have forwarded it. */
		.name = "tap: NS with hop limit 64 is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .hop_limit = 64 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* Duplicate address detection: no source, so no option. */
		.name = "tap: DAD NS (source ::) is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = "::", .nd_ll_opt = 0 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: NS with ICMPv6 code 1 is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .icmp6_code = 1 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* An unsolicited NA for the very address: only the type differs. */
		.name = "tap: NA for fe80::a9fe:a9fe is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .to_solicited_node = false,
			.eth_dst = TAP_MAC, .daddr = "ff02::1",
			.icmp6_type = ND_NEIGHBOR_ADVERT,
			.nd_flags = ND_NA_OVERRIDE, .nd_ll_opt = ND_OPT_TLLA },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: Router Solicitation is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .to_solicited_node = false,
			.eth_dst = TAP_MAC, .daddr = "ff02::2",
			.icmp6_type = ND_ROUTER_SOLICIT, .nd_target = NULL },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: NS cut inside its target address is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .truncate = ETH_HDR_LEN + IP6_HDR_LEN +
						     ND_HDR_LEN +
						     ND_TARGET_LEN - 1 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: VLAN-tagged NS for fe80::a9fe:a9fe is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .vlan_id = 100 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: NS on an unattached interface is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA },
		.verdict = TC_ACT_OK,
		.setup = forget_iface,
		.check = nothing_learnt,
	},

	/* -- mdr_tap_ingress: TCP to the metadata service -- */
	{
		.name = "tap: SYN to 169.254.169.254:80 goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
	},
	{
		.name = "tap: SYN from a new MAC for a known IP relearns the MAC",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = know_guest_old_mac,
		.check = guest_learnt,
	},
	{
		.name = "tap: request with a body goes to the proxy",
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
		.check = guest_learnt,
	},
	{
		/* A bare ACK is 54 bytes; padding to 60 is not part of TCP. */
		.name = "tap: ACK padded to 60 bytes goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_ACK, .pad_to = 60 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .tcp_flags = TCP_ACK,
					   .pad_to = 60 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
	},
	{
		.name = "tap: SYN with IP options (ihl=6) goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .ip_opt_words = 1 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .ip_opt_words = 1 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
	},
	{
		/* ihl=15: the headers fill MDR_MAX_HDR_LEN exactly. */
		.name = "tap: SYN with 40 bytes of IP options goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .ip_opt_words = 10 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .ip_opt_words = 10 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
	},
	{
		.name = "tap: TCP to 169.254.169.254:443 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .dport = 443 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: TCP to 169.254.169.254:8080 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .dport = 8080 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* One off the port: a range check would take it. */
		.name = "tap: TCP to 169.254.169.254:81 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .dport = 81 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: TCP to 10.0.0.1:80 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .daddr = "10.0.0.1" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: UDP to 169.254.169.254:80 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .proto = IPPROTO_UDP,
			.payload = "metadata?" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* A guest's everyday traffic: DNS to its server. */
		.name = "tap: UDP to 10.0.0.1:53 (DNS) is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .daddr = "10.0.0.1",
			.proto = IPPROTO_UDP, .dport = 53,
			.payload = "metadata" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: ICMP echo to 169.254.169.254 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .proto = IPPROTO_ICMP,
			.payload = "ping" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: first fragment (MF) to 169.254.169.254:80 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .frag = IP_MF,
			.payload = "GET / HTTP/1.1\r\n" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* Offset 8 (64 bytes): what looks like TCP is mid-payload. */
		.name = "tap: non-first fragment to 169.254.169.254 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .frag = 8,
			.payload = "Host: 169.254.169.254\r\n" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: VLAN-tagged SYN to 169.254.169.254:80 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .vlan_id = 100 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: VLAN-tagged ARP for 169.254.169.254 is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .vlan_id = 100 },
		.verdict = TC_ACT_OK,
	},
	/*
	 * Truncation. On this kernel test_run itself refuses (EINVAL) an
	 * IPv4 frame shorter than Ethernet + 20 bytes, so "Ethernet header
	 * only" and "base IP header cut" cannot be fed in; these are the
	 * shortest cuts it accepts.
	 */
	{
		.name = "tap: IPv4 header with no TCP header is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA,
			.truncate = ETH_HDR_LEN + IP4_HDR_LEN },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: IPv4 header cut inside its options is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .ip_opt_words = 10,
			.truncate = ETH_HDR_LEN + 40 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: TCP header cut short is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .truncate = SYN_LEN - 1 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: metadata SYN on an unattached interface is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_OK,
		.setup = forget_iface,
		.check = nothing_learnt,
	},
	{
		.name = "tap: metadata SYN on an ifindex attached in another netns is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA },
		.verdict = TC_ACT_OK,
		.setup = iface_in_other_netns,
		.check = nothing_learnt,
	},

	/* -- mdr_tap_ingress: IPv6 TCP to the metadata service -- */
	{
		.name = "tap: SYN to [fe80::a9fe:a9fe]:80 goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest6_learnt,
	},
	{
		.name = "tap: SYN from global 2001:db8::5 to [fe80::a9fe:a9fe]:80 goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
					   .saddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = global_guest6_learnt,
	},
	{
		.name = "tap: IPv6 SYN from a new MAC for a known IP relearns the MAC",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = know_guest6_old_mac,
		.check = guest6_learnt,
	},
	{
		/* Odd length: the checksum update must cope with the pad byte. */
		.name = "tap: IPv6 request with a body goes to the proxy",
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
		.check = guest6_learnt,
	},
	{
		.name = "tap: IPv6 TCP to [fe80::a9fe:a9fe]:443 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .dport = 443 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 TCP to [fe80::1]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = "fe80::5",
			.daddr = "fe80::1" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* One bit off in the last byte: the whole address is compared. */
		.name = "tap: IPv6 TCP to [fe80::a9fe:a9ff]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .daddr = "fe80::a9fe:a9ff" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 TCP to [::ffff:169.254.169.254]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .daddr = "::ffff:169.254.169.254" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: UDP to [fe80::a9fe:a9fe]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .proto = IPPROTO_UDP,
			.payload = "metadata?" },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: hop-by-hop header before TCP to [fe80::a9fe:a9fe]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .hbh = true },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		/* test_run refuses IPv6 frames shorter than the fixed header. */
		.name = "tap: IPv6 header with no TCP header is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA,
			.truncate = ETH_HDR_LEN + IP6_HDR_LEN },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 TCP header cut short is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .truncate = SYN6_LEN - 1 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: VLAN-tagged IPv6 SYN to [fe80::a9fe:a9fe]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .vlan_id = 100 },
		.verdict = TC_ACT_OK,
		.check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 metadata SYN on an unattached interface is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_OK,
		.setup = forget_iface,
		.check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 metadata SYN on an ifindex attached in another netns is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_OK,
		.setup = iface_in_other_netns,
		.check = nothing_learnt,
	},
};

FIXTURE_TABLE(tap_fixtures, fixtures);
