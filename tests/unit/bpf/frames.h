/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The world the fixtures share: the guest, the tap, the proxy and their
 * addresses, and the base packets between them. Fixtures name only the
 * fields they change from a base packet.
 */
#ifndef MDR_TEST_FRAMES_H
#define MDR_TEST_FRAMES_H

#include <stdint.h>
#include <netinet/in.h>
#include <linux/if_ether.h>

#include "mdredir.h"
#include "pkt.h"

static const uint8_t GUEST_MAC[6] = { 0xfa, 0x16, 0x3e, 0x00, 0x00, 0x05 };
static const uint8_t GUEST2_MAC[6] = { 0xfa, 0x16, 0x3e, 0x00, 0x00, 0x09 };
/* What the guest thinks the gateway is; the tap program must replace it. */
static const uint8_t GW_MAC[6] = { 0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01 };
static const uint8_t TAP_MAC[6] = { 0x02, 0x6d, 0x64, 0x00, 0x00, 0x01 };
static const uint8_t PROXY_MAC[6] = { 0x02, 0x6d, 0x64, 0x00, 0x00, 0x02 };
static const uint8_t LINK_MAC[6] = { 0x02, 0x6d, 0x64, 0x00, 0x00, 0x03 };
static const uint8_t BCAST_MAC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define METADATA_IP "169.254.169.254"
#define SERVICE_IP  "100.100.0.1"
#define SERVICE2_IP "100.100.0.2"
#define GUEST_IP    "10.0.0.5"
/* An address the guest has not been given (anti-spoofing). */
#define OTHER_IP    "10.0.0.6"
/*
 * The metadata port's IP: the guest's route to 169.254.169.254 goes via
 * it (DHCP option 121), and the attachment's --metadata-via names it.
 */
#define NEXT_HOP_IP "10.0.0.2"

/* The IPv6 pool is its first 96 bits; attachment n is pool + n. */
#define METADATA_IP6	 MDR_METADATA_IP6 /* fe80::a9fe:a9fe */
#define POOL6		 "fd6d:6472:6972::"
#define POOL6_PREFIX	 64
#define SERVICE_IP6	 "fd6d:6472:6972::1"
#define SERVICE2_IP6	 "fd6d:6472:6972::2"
#define GUEST6_IP	 "fe80::1"
#define GUEST6_GLOBAL_IP "2001:db8::5"
#define OTHER6_GLOBAL_IP "2001:db8::6"
/*
 * The EUI-64 link-local addresses of GUEST_MAC and GUEST2_MAC (RFC 4291
 * appendix A: U/L bit flipped, ff:fe in the middle); the harness checks
 * these literals against the MACs.
 */
#define GUEST6_EUI64	 "fe80::f816:3eff:fe00:5"
#define GUEST2_6_EUI64	 "fe80::f816:3eff:fe00:9"
/* Its first 4 bytes are 10.0.0.5: a family mix-up would take it for it. */
#define LOOKALIKE6_IP	 "a00:5::"

/* Base packets; fixtures name only the fields they change. */
#define ARP_WHO_HAS_METADATA                                                \
	.eth_dst = BCAST_MAC, .eth_src = GUEST_MAC, .ethertype = ETH_P_ARP, \
	.arp_op = 1, .arp_sha = GUEST_MAC, .arp_spa = GUEST_IP,             \
	.arp_tpa = METADATA_IP

#define ARP_METADATA_IS_AT                                                \
	.eth_dst = GUEST_MAC, .eth_src = TAP_MAC, .ethertype = ETH_P_ARP, \
	.arp_op = 2, .arp_sha = TAP_MAC, .arp_spa = METADATA_IP,          \
	.arp_tha = GUEST_MAC, .arp_tpa = GUEST_IP

/* A guest routed to metadata via the next hop resolves that instead... */
#define ARP_WHO_HAS_NEXT_HOP ARP_WHO_HAS_METADATA, .arp_tpa = NEXT_HOP_IP

/* ...and the next hop answers, at the tap's MAC as 169.254.169.254 does. */
#define ARP_NEXT_HOP_IS_AT ARP_METADATA_IS_AT, .arp_spa = NEXT_HOP_IP

/* Linux guests set DF: it must not count as a fragment. */
#define SYN_TO_METADATA                                                 \
	.eth_dst = GW_MAC, .eth_src = GUEST_MAC, .ethertype = ETH_P_IP, \
	.frag = IP_DF, .saddr = GUEST_IP, .daddr = METADATA_IP,         \
	.proto = IPPROTO_TCP, .sport = 40000, .dport = 80,              \
	.tcp_flags = TCP_SYN

/* ...and as the tap program must hand it to the proxy. */
#define SYN_TO_SERVICE                                              \
	SYN_TO_METADATA, .daddr = SERVICE_IP, .eth_dst = PROXY_MAC, \
			 .eth_src = TAP_MAC

/* An odd-length body: checksums must cope with the padding byte. */
#define REPLY_FROM_SERVICE                                                \
	.eth_dst = LINK_MAC, .eth_src = PROXY_MAC, .ethertype = ETH_P_IP, \
	.frag = IP_DF, .saddr = SERVICE_IP, .daddr = GUEST_IP,            \
	.proto = IPPROTO_TCP, .sport = 80, .dport = 40000,                \
	.tcp_flags = TCP_PSH | TCP_ACK,                                   \
	.payload = "HTTP/1.0 200 OK\r\n\r\nlatest"

#define REPLY_FROM_METADATA                                             \
	REPLY_FROM_SERVICE, .saddr = METADATA_IP, .eth_dst = GUEST_MAC, \
			    .eth_src = TAP_MAC

/* Sizes of the SYN's headers, to cut it at a chosen place. */
#define SYN_LEN (ETH_HDR_LEN + IP4_HDR_LEN + TCP_HDR_LEN)

/*
 * A guest resolving fe80::a9fe:a9fe, as Linux sends it: to the target's
 * solicited-node group ff02::1:fffe:a9fe (33:33:ff:fe:a9:fe), hop limit
 * 255, with its own MAC in a source link-layer address option.
 */
#define NS_FOR_METADATA                                                       \
	.eth_src = GUEST_MAC, .ethertype = ETH_P_IPV6, .saddr = GUEST6_IP,    \
	.to_solicited_node = true, .hop_limit = 255, .proto = IPPROTO_ICMPV6, \
	.icmp6_type = ND_NEIGHBOR_SOLICIT, .nd_target = METADATA_IP6,         \
	.nd_ll_opt = ND_OPT_SLLA, .nd_ll_mac = GUEST_MAC

/* ...and the one answer, whatever options the solicitation had. */
#define NA_FROM_METADATA                                                   \
	.eth_dst = GUEST_MAC, .eth_src = TAP_MAC, .ethertype = ETH_P_IPV6, \
	.saddr = METADATA_IP6, .daddr = GUEST6_IP, .hop_limit = 255,       \
	.proto = IPPROTO_ICMPV6, .icmp6_type = ND_NEIGHBOR_ADVERT,         \
	.nd_flags = ND_NA_SOLICITED | ND_NA_OVERRIDE,                      \
	.nd_target = METADATA_IP6, .nd_ll_opt = ND_OPT_TLLA,               \
	.nd_ll_mac = TAP_MAC

/* The guest learnt TAP_MAC for fe80::a9fe:a9fe from that answer. */
#define SYN6_TO_METADATA                                                   \
	.eth_dst = TAP_MAC, .eth_src = GUEST_MAC, .ethertype = ETH_P_IPV6, \
	.saddr = GUEST6_IP, .daddr = METADATA_IP6, .proto = IPPROTO_TCP,   \
	.sport = 40000, .dport = 80, .tcp_flags = TCP_SYN

#define SYN6_TO_SERVICE                                               \
	SYN6_TO_METADATA, .daddr = SERVICE_IP6, .eth_dst = PROXY_MAC, \
			  .eth_src = TAP_MAC

#define REPLY6_FROM_SERVICE                                                 \
	.eth_dst = LINK_MAC, .eth_src = PROXY_MAC, .ethertype = ETH_P_IPV6, \
	.saddr = SERVICE_IP6, .daddr = GUEST6_IP, .proto = IPPROTO_TCP,     \
	.sport = 80, .dport = 40000, .tcp_flags = TCP_PSH | TCP_ACK,        \
	.payload = "HTTP/1.0 200 OK\r\n\r\nlatest"

#define REPLY6_FROM_METADATA                                              \
	REPLY6_FROM_SERVICE, .saddr = METADATA_IP6, .eth_dst = GUEST_MAC, \
			     .eth_src = TAP_MAC

#define SYN6_LEN (ETH_HDR_LEN + IP6_HDR_LEN + TCP_HDR_LEN)

/*
 * Base packets are reused with a field or two overridden: later
 * designated initialisers win, which is the point. Files that do so say
 * #pragma GCC diagnostic ignored "-Woverride-init" after their includes.
 */

#endif
