// SPDX-License-Identifier: GPL-2.0-only
/* mdr_proxy_egress: picking the link by service address. */
#include <linux/pkt_cls.h>

#include "frames.h"
#include "harness.h"

/* Base packets with a field or two overridden: see frames.h. */
#pragma GCC diagnostic ignored "-Woverride-init"

static const struct fixture fixtures[] = {
	/* -- mdr_proxy_egress: picking the link by service address -- */
	{
		.name = "proxy: reply from 100.100.0.1 is redirected unchanged",
		.prog = PROXY,
		.in = { REPLY_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
	},
	{
		.name = "proxy: reply from 100.100.0.7 is dropped (no attachment)",
		.prog = PROXY,
		.in = { REPLY_FROM_SERVICE, .saddr = "100.100.0.7" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NO_ATTACH),
	},
	{
		.name = "proxy: packet from 10.1.1.1 is dropped as not ours",
		.prog = PROXY,
		.in = { REPLY_FROM_SERVICE, .saddr = "10.1.1.1" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "proxy: IPv6 from fd00::1 (outside the pool) is dropped as not ours",
		.prog = PROXY,
		.in = { REPLY_FROM_SERVICE, .ethertype = ETH_P_IPV6,
			.saddr = "fd00::1", .daddr = "fd00::5" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "proxy: ARP is dropped as not ours",
		.prog = PROXY,
		.in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "proxy: reply from fd6d:6472:6972::1 is redirected unchanged",
		.prog = PROXY,
		.in = { REPLY6_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
	},
	{
		.name = "proxy: IPv6 SYN-ACK from fd6d:6472:6972::1 is redirected unchanged",
		.prog = PROXY,
		.in = { REPLY6_FROM_SERVICE, .tcp_flags = TCP_SYN | TCP_ACK,
			.payload = NULL },
		.verdict = TC_ACT_REDIRECT,
	},
	{
		.name = "proxy: reply from fd6d:6472:6972::7 is dropped (no attachment)",
		.prog = PROXY,
		.in = { REPLY6_FROM_SERVICE, .saddr = "fd6d:6472:6972::7" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NO_ATTACH),
	},
	{
		.name = "proxy: IPv6 from 2001:db8::1 is dropped as not ours",
		.prog = PROXY,
		.in = { REPLY6_FROM_SERVICE, .saddr = "2001:db8::1" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "proxy: IPv6 from the pool base fd6d:6472:6972:: is dropped as not ours",
		.prog = PROXY,
		.in = { REPLY6_FROM_SERVICE, .saddr = POOL6 },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "proxy: IPv6 from fd6d:6472:6972:1::1 is dropped as not ours",
		.prog = PROXY,
		.in = { REPLY6_FROM_SERVICE, .saddr = "fd6d:6472:6972:1::1" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},

	/* -- mdr_proxy_egress: reply TTL / hop limit (set by mdr_link_ingress) -- */
	{
		.name = "ttl: reply_ttl 1: proxy egress redirects a reply unchanged",
		.prog = PROXY,
		.in = { REPLY_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
		.setup = ttl1,
	},
};

FIXTURE_TABLE(proxy_fixtures, fixtures);
