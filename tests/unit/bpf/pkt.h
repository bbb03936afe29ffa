/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The packet builder: a frame described field by field (struct pkt_spec)
 * and built with correct checksums, and a checker that recomputes the
 * checksums of a frame from scratch. Fixtures describe an expected output
 * as "the input with these fields changed", so every byte the programs
 * write is compared against a frame built independently of them.
 */
#ifndef MDR_TEST_PKT_H
#define MDR_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for a frame longer than a wire frame (XDP leaves those to TC). */
#define PKT_MAX	      2048
#define ETH_HDR_LEN   14
#define VLAN_HDR_LEN  4
#define ARP_LEN	      28
#define IP4_HDR_LEN   20
#define IP6_HDR_LEN   40
#define TCP_HDR_LEN   20
#define UDP_HDR_LEN   8
#define ICMP_HDR_LEN  8
#define HBH_LEN	      8 /* the hop-by-hop header build_ip6() adds */
#define ND_HDR_LEN    8 /* ICMPv6 type, code, checksum, flags word */
#define ND_TARGET_LEN 16
#define ND_OPT_LEN    8 /* every option we build is one 8-byte unit */
/* A Neighbor Advertisement with one option: 14 + 40 + 32 = 86 bytes. */
#define NA_LEN \
	(ETH_HDR_LEN + IP6_HDR_LEN + ND_HDR_LEN + ND_TARGET_LEN + ND_OPT_LEN)

#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define IP_DF	0x4000
#define IP_MF	0x2000

/* ICMPv6 neighbour discovery (RFC 4861, RFC 3971 for the nonce). */
#define ND_ROUTER_SOLICIT   133
#define ND_NEIGHBOR_SOLICIT 135
#define ND_NEIGHBOR_ADVERT  136
#define ND_OPT_SLLA	    1 /* source link-layer address */
#define ND_OPT_TLLA	    2 /* target link-layer address */
#define ND_OPT_NONCE	    14
#define ND_NA_SOLICITED	    0x40000000U
#define ND_NA_OVERRIDE	    0x20000000U

/*
 * A packet, field by field: fixtures name the fields they care about and
 * leave the rest zero (no tag, no options, no payload, not a fragment).
 */
struct pkt_spec {
	const uint8_t *eth_dst, *eth_src;
	uint16_t vlan_id;   /* nonzero: an 802.1Q tag in the frame */
	uint16_t ethertype; /* ETH_P_ARP, ETH_P_IP, ETH_P_IPV6 */
	/* ARP */
	uint16_t arp_op;
	const uint8_t *arp_sha, *arp_tha;
	const char *arp_spa, *arp_tpa;
	/* IPv4 or IPv6, by ethertype */
	const char *saddr, *daddr;
	uint8_t proto;	      /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	uint8_t ip_opt_words; /* 32-bit words of IPv4 options */
	uint16_t frag;	      /* flags and offset, host order */
	uint8_t hop_limit;    /* IPv4 TTL or IPv6 hop limit; 0: 64 */
	/* IPv6 only */
	bool hbh; /* a hop-by-hop header before proto */
	/*
	 * Sent to nd_target's solicited-node group, as a Neighbor
	 * Solicitation is: daddr and eth_dst are computed, not given.
	 */
	bool to_solicited_node;
	/* TCP, UDP or ICMP */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	const char *payload;
	uint16_t fill; /* then this many bytes of 'x' */
	/* ICMPv6 neighbour discovery */
	uint8_t icmp6_type, icmp6_code;
	uint32_t nd_flags;     /* the word after the checksum */
	const char *nd_target; /* NS, NA: the target address */
	uint8_t nd_ll_opt;     /* ND_OPT_SLLA/TLLA with nd_ll_mac; 0: none */
	const uint8_t *nd_ll_mac;
	bool nd_nonce; /* then a nonce option */
	/* Shaping the frame after it is built */
	size_t pad_to;	 /* zero bytes up to this length */
	size_t truncate; /* keep only this many bytes (0 = all) */
};

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

/* RFC 1071 sums, for the checker's own self-test. */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t csum_fold(uint32_t sum);
/* The pseudo-header sum of an L4 segment of @len bytes. */
uint32_t pseudo_sum(const uint8_t *saddr, const uint8_t *daddr, size_t alen,
		    uint8_t proto, size_t len);
uint16_t get16(const uint8_t *p);
/* @text as @family's address at @p; a bad literal is a fixture bug (exit 2). */
void put_addr(uint8_t *p, int family, const char *text);

/* fe80::/64 with the modified EUI-64 of @mac (RFC 4291 appendix A). */
void eui64_link_local(const uint8_t *mac, uint8_t addr[16]);

void build(const struct pkt_spec *s, struct pkt *p);
/*
 * Whether the IPv4 header, TCP, UDP and ICMPv6 checksums of an untagged
 * frame are right (a frame it cannot read whole passes); if not, @why says
 * which.
 */
bool csums_ok(const uint8_t *b, size_t len, char *why, size_t n);

#endif
