// SPDX-License-Identifier: GPL-2.0-only
/* mdr_link_ingress: replies on their way back to the guest. */
#include <linux/pkt_cls.h>

#include "frames.h"
#include "harness.h"

/* Base packets with a field or two overridden: see frames.h. */
#pragma GCC diagnostic ignored "-Woverride-init"

static const struct fixture fixtures[] = {
	/* -- mdr_link_ingress: replies on their way back to the guest -- */
	{
		.name = "link: reply to a known guest goes back as 169.254.169.254",
		.prog = LINK, .in = { REPLY_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = know_guest,
	},
	{
		.name = "link: SYN-ACK with IP options goes back as 169.254.169.254",
		.prog = LINK,
		.in = { REPLY_FROM_SERVICE, .tcp_flags = TCP_SYN | TCP_ACK,
			.payload = NULL, .ip_opt_words = 2 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY_FROM_METADATA,
			.tcp_flags = TCP_SYN | TCP_ACK, .payload = NULL,
			.ip_opt_words = 2 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = know_guest,
	},
	{
		.name = "link: reply to an unknown guest is dropped",
		.prog = LINK, .in = { REPLY_FROM_SERVICE, .daddr = "10.0.0.9" },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_NO_NEIGH),
		.setup = know_guest,
	},
	{
		.name = "link: reply from an unowned service address is dropped",
		.prog = LINK, .in = { REPLY_FROM_SERVICE, .saddr = "100.100.0.7" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NO_ATTACH),
		.setup = know_guest,
	},
	{
		.name = "link: reply arriving on another attachment's link is dropped",
		.prog = LINK, .in = { REPLY_FROM_SERVICE },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NO_ATTACH),
		.setup = reply_on_wrong_link,
	},
	{
		.name = "link: TCP from 8.8.8.8:80 is dropped as not ours",
		.prog = LINK, .in = { REPLY_FROM_SERVICE, .saddr = "8.8.8.8" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest,
	},
	{
		.name = "link: TCP from the service address, port 443, is dropped as not ours",
		.prog = LINK, .in = { REPLY_FROM_SERVICE, .sport = 443 },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest,
	},
	{
		.name = "link: UDP from the service address is dropped as not ours",
		.prog = LINK,
		.in = { REPLY_FROM_SERVICE, .proto = IPPROTO_UDP },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest,
	},
	{
		.name = "link: ARP is dropped as not ours",
		.prog = LINK, .in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "link: IPv6 from fd00::1 (outside the pool) is dropped as not ours",
		.prog = LINK,
		.in = { REPLY_FROM_SERVICE, .ethertype = ETH_P_IPV6,
			.saddr = "fd00::1", .daddr = "fd00::5" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "link: reply cut inside the TCP header is dropped as not ours",
		.prog = LINK,
		.in = { REPLY_FROM_SERVICE, .truncate = SYN_LEN - 1 },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest,
	},

	/* -- mdr_link_ingress: IPv6 replies -- */
	{
		.name = "link: IPv6 reply to a known guest goes back as fe80::a9fe:a9fe",
		.prog = LINK, .in = { REPLY6_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY6_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = know_guest6,
	},
	{
		.name = "link: IPv6 SYN-ACK to a global guest goes back as fe80::a9fe:a9fe",
		.prog = LINK,
		.in = { REPLY6_FROM_SERVICE, .daddr = GUEST6_GLOBAL_IP,
			.tcp_flags = TCP_SYN | TCP_ACK, .payload = NULL },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY6_FROM_METADATA,
			.daddr = GUEST6_GLOBAL_IP,
			.tcp_flags = TCP_SYN | TCP_ACK, .payload = NULL },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = know_global_guest6,
	},
	{
		.name = "link: IPv6 reply to an unknown guest is dropped",
		.prog = LINK, .in = { REPLY6_FROM_SERVICE },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_NO_NEIGH),
	},
	{
		/* The guest is known by its IPv4 address only. */
		.name = "link: IPv6 reply to a guest known only over IPv4 is dropped",
		.prog = LINK, .in = { REPLY6_FROM_SERVICE },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_NO_NEIGH),
		.setup = know_guest,
	},
	{
		.name = "link: IPv6 reply from an unowned service address is dropped",
		.prog = LINK,
		.in = { REPLY6_FROM_SERVICE, .saddr = "fd6d:6472:6972::7" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NO_ATTACH),
		.setup = know_guest6,
	},
	{
		.name = "link: IPv6 reply arriving on another attachment's link is dropped",
		.prog = LINK, .in = { REPLY6_FROM_SERVICE },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NO_ATTACH),
		.setup = reply_on_wrong_link,
	},
	{
		.name = "link: IPv6 TCP from 2001:db8::9:80 is dropped as not ours",
		.prog = LINK, .in = { REPLY6_FROM_SERVICE, .saddr = "2001:db8::9" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest6,
	},
	{
		/* Inside the /64, but the pool is its first 96 bits. */
		.name = "link: IPv6 TCP from fd6d:6472:6972:1::1 is dropped as not ours",
		.prog = LINK,
		.in = { REPLY6_FROM_SERVICE, .saddr = "fd6d:6472:6972:1::1" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest6,
	},
	{
		/* pool + 4097: past MDR_MAX_ATTACH, no attachment id. */
		.name = "link: IPv6 TCP from fd6d:6472:6972::1001 is dropped as not ours",
		.prog = LINK,
		.in = { REPLY6_FROM_SERVICE, .saddr = "fd6d:6472:6972::1001" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest6,
	},
	{
		.name = "link: IPv6 TCP from the service address, port 443, is dropped as not ours",
		.prog = LINK, .in = { REPLY6_FROM_SERVICE, .sport = 443 },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest6,
	},
	{
		.name = "link: IPv6 UDP from the service address is dropped as not ours",
		.prog = LINK,
		.in = { REPLY6_FROM_SERVICE, .proto = IPPROTO_UDP },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest6,
	},
	{
		.name = "link: IPv6 reply cut inside the TCP header is dropped as not ours",
		.prog = LINK,
		.in = { REPLY6_FROM_SERVICE, .truncate = SYN6_LEN - 1 },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = know_guest6,
	},
	{
		.name = "link: NS for fe80::a9fe:a9fe is dropped as not ours",
		.prog = LINK, .in = { NS_FOR_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},

	/* -- mdr_link_ingress: reply TTL / hop limit -- */
	{
		.name = "ttl: reply_ttl 1: IPv4 reply leaves with TTL 1",
		.prog = LINK, .in = { REPLY_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY_FROM_METADATA, .hop_limit = 1 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = ttl1_know_guest,
	},
	{
		/* 255 -> 1: a large change in the checksummed word. */
		.name = "ttl: reply_ttl 1: IPv4 reply with TTL 255 leaves with TTL 1",
		.prog = LINK, .in = { REPLY_FROM_SERVICE, .hop_limit = 255 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY_FROM_METADATA, .hop_limit = 1 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = ttl1_know_guest,
	},
	{
		.name = "ttl: reply_ttl 1: IPv4 SYN-ACK with IP options leaves with TTL 1",
		.prog = LINK,
		.in = { REPLY_FROM_SERVICE, .tcp_flags = TCP_SYN | TCP_ACK,
			.payload = NULL, .ip_opt_words = 2 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY_FROM_METADATA,
			.tcp_flags = TCP_SYN | TCP_ACK, .payload = NULL,
			.ip_opt_words = 2, .hop_limit = 1 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = ttl1_know_guest,
	},
	{
		.name = "ttl: reply_ttl 2: IPv4 reply leaves with TTL 2",
		.prog = LINK, .in = { REPLY_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY_FROM_METADATA, .hop_limit = 2 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = ttl2_know_guest,
	},
	{
		.name = "ttl: reply_ttl 0: IPv4 reply keeps its TTL 37",
		.prog = LINK, .in = { REPLY_FROM_SERVICE, .hop_limit = 37 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY_FROM_METADATA, .hop_limit = 37 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = know_guest,
	},
	{
		.name = "ttl: reply_ttl 1: IPv6 reply leaves with hop limit 1",
		.prog = LINK, .in = { REPLY6_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY6_FROM_METADATA, .hop_limit = 1 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = ttl1_know_guest6,
	},
	{
		.name = "ttl: reply_ttl 0: IPv6 reply keeps its hop limit 37",
		.prog = LINK, .in = { REPLY6_FROM_SERVICE, .hop_limit = 37 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ REPLY6_FROM_METADATA, .hop_limit = 37 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_GUEST),
		.setup = know_guest6,
	},
	{
		.name = "ttl: reply_ttl 1: IPv4 reply to an unknown guest is dropped unchanged",
		.prog = LINK, .in = { REPLY_FROM_SERVICE, .daddr = "10.0.0.9" },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_NO_NEIGH),
		.setup = ttl1_know_guest,
	},
	{
		.name = "ttl: reply_ttl 1: TCP from 8.8.8.8:80 is dropped unchanged",
		.prog = LINK, .in = { REPLY_FROM_SERVICE, .saddr = "8.8.8.8" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
		.setup = ttl1_know_guest,
	},
};

FIXTURE_TABLE(link_fixtures, fixtures);
