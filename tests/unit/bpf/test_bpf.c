// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet fixtures for the three TC programs, run through
 * bpf_prog_test_run_opts: {name, input packet, expected verdict, expected
 * output packet, expected counter}. Packets are described field by field and
 * built with correct checksums, so an expected output is "the input with
 * these fields changed", checksums recomputed from scratch.
 *
 * The skeleton is loaded privately (no pin paths), so nothing here touches
 * /sys/fs/bpf/mdredir or a running daemon; the maps are filled by hand
 * before every fixture.
 *
 * What test_run cannot show: where bpf_redirect() would send the packet.
 * It returns TC_ACT_REDIRECT and leaves the target in per-CPU state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mdredir.h"
#include "mdredir.skel.h"
#include "datapath/netns.h"

/* The link id recorded in the attachment (names its proxy end only). */
#define TEST_LINK_ID	3
/* The attachment; its service address is pool + 1. */
#define TEST_ATTACH_ID	1
/* A second one, only where a fixture adds it (its own SYN budget). */
#define TEST_ATTACH2_ID	2
/* Counters are compared for ids 0 (unowned) and both attachments. */
#define N_CHECKED_IDS	3

#define PKT_MAX		256
#define ETH_HDR_LEN	14
#define VLAN_HDR_LEN	4
#define ARP_LEN		28
#define IP4_HDR_LEN	20
#define IP6_HDR_LEN	40
#define TCP_HDR_LEN	20
#define UDP_HDR_LEN	8
#define ICMP_HDR_LEN	8
#define HBH_LEN		8	/* the hop-by-hop header build_ip6() adds */
#define ND_HDR_LEN	8	/* ICMPv6 type, code, checksum, flags word */
#define ND_TARGET_LEN	16
#define ND_OPT_LEN	8	/* every option we build is one 8-byte unit */
/* A Neighbor Advertisement with one option: 14 + 40 + 32 = 86 bytes. */
#define NA_LEN		(ETH_HDR_LEN + IP6_HDR_LEN + ND_HDR_LEN + \
			 ND_TARGET_LEN + ND_OPT_LEN)

#define TCP_SYN		0x02
#define TCP_PSH		0x08
#define TCP_ACK		0x10
#define IP_DF		0x4000
#define IP_MF		0x2000

/* ICMPv6 neighbour discovery (RFC 4861, RFC 3971 for the nonce). */
#define ND_ROUTER_SOLICIT	133
#define ND_NEIGHBOR_SOLICIT	135
#define ND_NEIGHBOR_ADVERT	136
#define ND_OPT_SLLA		1	/* source link-layer address */
#define ND_OPT_TLLA		2	/* target link-layer address */
#define ND_OPT_NONCE		14
#define ND_NA_SOLICITED		0x40000000U
#define ND_NA_OVERRIDE		0x20000000U

static const uint8_t GUEST_MAC[6] = { 0xfa, 0x16, 0x3e, 0x00, 0x00, 0x05 };
static const uint8_t GUEST2_MAC[6] = { 0xfa, 0x16, 0x3e, 0x00, 0x00, 0x09 };
/* What the guest thinks the gateway is; the tap program must replace it. */
static const uint8_t GW_MAC[6] = { 0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01 };
static const uint8_t TAP_MAC[6] = { 0x02, 0x6d, 0x64, 0x00, 0x00, 0x01 };
static const uint8_t PROXY_MAC[6] = { 0x02, 0x6d, 0x64, 0x00, 0x00, 0x02 };
static const uint8_t LINK_MAC[6] = { 0x02, 0x6d, 0x64, 0x00, 0x00, 0x03 };
static const uint8_t BCAST_MAC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t ZERO_MAC[6];

#define METADATA_IP	"169.254.169.254"
#define SERVICE_IP	"100.100.0.1"
#define SERVICE2_IP	"100.100.0.2"
#define GUEST_IP	"10.0.0.5"
/* An address the guest has not been given (anti-spoofing). */
#define OTHER_IP	"10.0.0.6"

/* The IPv6 pool is its first 96 bits; attachment n is pool + n. */
#define METADATA_IP6	MDR_METADATA_IP6	/* fe80::a9fe:a9fe */
#define POOL6		"fd6d:6472:6972::"
#define POOL6_PREFIX	64
#define SERVICE_IP6	"fd6d:6472:6972::1"
#define SERVICE2_IP6	"fd6d:6472:6972::2"
#define GUEST6_IP	"fe80::1"
#define GUEST6_GLOBAL_IP "2001:db8::5"
#define OTHER6_GLOBAL_IP "2001:db8::6"
/*
 * The EUI-64 link-local addresses of GUEST_MAC and GUEST2_MAC (RFC 4291
 * appendix A: U/L bit flipped, ff:fe in the middle); the harness checks
 * these literals against the MACs.
 */
#define GUEST6_EUI64	"fe80::f816:3eff:fe00:5"
#define GUEST2_6_EUI64	"fe80::f816:3eff:fe00:9"
/* Its first 4 bytes are 10.0.0.5: a family mix-up would take it for it. */
#define LOOKALIKE6_IP	"a00:5::"

/*
 * A packet, field by field: fixtures name the fields they care about and
 * leave the rest zero (no tag, no options, no payload, not a fragment).
 */
struct pkt_spec {
	const uint8_t *eth_dst, *eth_src;
	uint16_t vlan_id;		/* nonzero: an 802.1Q tag in the frame */
	uint16_t ethertype;		/* ETH_P_ARP, ETH_P_IP, ETH_P_IPV6 */
	/* ARP */
	uint16_t arp_op;
	const uint8_t *arp_sha, *arp_tha;
	const char *arp_spa, *arp_tpa;
	/* IPv4 or IPv6, by ethertype */
	const char *saddr, *daddr;
	uint8_t proto;			/* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	uint8_t ip_opt_words;		/* 32-bit words of IPv4 options */
	uint16_t frag;			/* flags and offset, host order */
	uint8_t hop_limit;		/* IPv4 TTL or IPv6 hop limit; 0: 64 */
	/* IPv6 only */
	bool hbh;			/* a hop-by-hop header before proto */
	/*
	 * Sent to nd_target's solicited-node group, as a Neighbor
	 * Solicitation is: daddr and eth_dst are computed, not given.
	 */
	bool to_solicited_node;
	/* TCP, UDP or ICMP */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	const char *payload;
	/* ICMPv6 neighbour discovery */
	uint8_t icmp6_type, icmp6_code;
	uint32_t nd_flags;		/* the word after the checksum */
	const char *nd_target;		/* NS, NA: the target address */
	uint8_t nd_ll_opt;		/* ND_OPT_SLLA/TLLA with nd_ll_mac; 0: none */
	const uint8_t *nd_ll_mac;
	bool nd_nonce;			/* then a nonce option */
	/* Shaping the frame after it is built */
	size_t pad_to;			/* zero bytes up to this length */
	size_t truncate;		/* keep only this many bytes (0 = all) */
};

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

/* ---- Checksums: RFC 1071, computed from scratch every time. ---- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header sum of an L4 segment of @len bytes. */
static uint32_t pseudo_sum(const uint8_t *saddr, const uint8_t *daddr,
			   size_t alen, uint8_t proto, size_t len)
{
	uint32_t sum = 0;

	sum = csum_add(sum, saddr, alen);
	sum = csum_add(sum, daddr, alen);
	return sum + proto + (uint32_t)len;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- The packet builder ---- */

static void put_addr(uint8_t *p, int family, const char *text)
{
	if (inet_pton(family, text, p) != 1) {
		fprintf(stderr, "fixture bug: bad address %s\n", text);
		exit(2);
	}
}

static size_t l4_csum_offset(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

/* One 8-byte link-layer address option. */
static size_t put_ll_opt(uint8_t *opt, uint8_t type, const uint8_t *mac)
{
	opt[0] = type;
	opt[1] = ND_OPT_LEN / 8;
	memcpy(opt + 2, mac, ETH_ALEN);
	return ND_OPT_LEN;
}

/*
 * An ICMPv6 neighbour discovery message, checksum left zero: type, code,
 * the flags/reserved word, the target if any, then the options.
 */
static size_t build_nd(const struct pkt_spec *s, uint8_t *icmp)
{
	size_t len = ND_HDR_LEN;

	icmp[0] = s->icmp6_type;
	icmp[1] = s->icmp6_code;
	put32(icmp + 4, s->nd_flags);
	if (s->nd_target) {
		put_addr(icmp + len, AF_INET6, s->nd_target);
		len += ND_TARGET_LEN;
	}
	if (s->nd_ll_opt)
		len += put_ll_opt(icmp + len, s->nd_ll_opt, s->nd_ll_mac);
	if (s->nd_nonce) {
		icmp[len] = ND_OPT_NONCE;
		icmp[len + 1] = ND_OPT_LEN / 8;
		memcpy(icmp + len + 2, "\x6d\x64\x72\x65\x64\x69", 6);
		len += ND_OPT_LEN;
	}
	return len;
}

/* Writes the L4 header and payload at @l4; returns its length. */
static size_t build_l4(const struct pkt_spec *s, uint8_t *l4,
		       const uint8_t *saddr, const uint8_t *daddr, size_t alen)
{
	size_t plen = s->payload ? strlen(s->payload) : 0;
	size_t hlen, len;
	uint32_t sum;

	switch (s->proto) {
	case IPPROTO_TCP:
		hlen = TCP_HDR_LEN;
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		memcpy(l4 + 4, "\x6d\x64\x00\x01", 4);		/* seq */
		if (s->tcp_flags & TCP_ACK)
			memcpy(l4 + 8, "\x00\x00\x10\x01", 4);	/* ack */
		l4[12] = (TCP_HDR_LEN / 4) << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 64240);				/* window */
		break;
	case IPPROTO_UDP:
		hlen = UDP_HDR_LEN;
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)(hlen + plen));
		break;
	case IPPROTO_ICMP:
		hlen = ICMP_HDR_LEN;
		l4[0] = 8;					/* echo */
		put16(l4 + 4, 0x6d64);				/* id */
		put16(l4 + 6, 1);				/* seq */
		break;
	case IPPROTO_ICMPV6:
		hlen = build_nd(s, l4);
		break;
	default:
		return 0;
	}
	memcpy(l4 + hlen, s->payload ? s->payload : "", plen);
	len = hlen + plen;

	/* ICMPv4 has no pseudo-header; TCP, UDP and ICMPv6 do. */
	sum = s->proto == IPPROTO_ICMP ? 0 :
		pseudo_sum(saddr, daddr, alen, s->proto, len);
	put16(l4 + l4_csum_offset(s->proto), csum_fold(csum_add(sum, l4, len)));
	return len;
}

static size_t build_arp(const struct pkt_spec *s, uint8_t *arp)
{
	put16(arp, 1);					/* Ethernet */
	put16(arp + 2, ETH_P_IP);
	arp[4] = 6;
	arp[5] = 4;
	put16(arp + 6, s->arp_op);
	memcpy(arp + 8, s->arp_sha, 6);
	put_addr(arp + 14, AF_INET, s->arp_spa);
	memcpy(arp + 18, s->arp_tha ? s->arp_tha : ZERO_MAC, 6);
	put_addr(arp + 24, AF_INET, s->arp_tpa);
	return ARP_LEN;
}

static size_t build_ip4(const struct pkt_spec *s, uint8_t *ip)
{
	size_t ihl = IP4_HDR_LEN + 4 * s->ip_opt_words, l4len;

	memset(ip, 0, ihl);
	ip[0] = 0x40 | (uint8_t)(ihl / 4);
	put16(ip + 4, 0x1234);				/* id */
	put16(ip + 6, s->frag);
	ip[8] = s->hop_limit ? s->hop_limit : 64;	/* ttl */
	ip[9] = s->proto;
	put_addr(ip + 12, AF_INET, s->saddr);
	put_addr(ip + 16, AF_INET, s->daddr);
	/* Router Alert first, then NOPs: options a parser must skip. */
	if (s->ip_opt_words) {
		memcpy(ip + IP4_HDR_LEN, "\x94\x04\x00\x00", 4);
		memset(ip + IP4_HDR_LEN + 4, 0x01, ihl - IP4_HDR_LEN - 4);
	}
	l4len = build_l4(s, ip + ihl, ip + 12, ip + 16, 4);
	put16(ip + 2, (uint16_t)(ihl + l4len));
	put16(ip + 10, csum_fold(csum_add(0, ip, ihl)));
	return ihl + l4len;
}

/* ff02::1:ffXX:XXXX, XX:XXXX the low 24 bits of @target (RFC 4291 2.7.1). */
static void solicited_node(uint8_t group[16], const char *target)
{
	uint8_t t[16];

	put_addr(t, AF_INET6, target);
	memset(group, 0, 16);
	group[0] = 0xff;
	group[1] = 0x02;
	group[11] = 0x01;
	group[12] = 0xff;
	memcpy(group + 13, t + 13, 3);
}

static size_t build_ip6(const struct pkt_spec *s, uint8_t *ip6)
{
	uint8_t *l4 = ip6 + IP6_HDR_LEN;
	size_t ext = 0, l4len;

	memset(ip6, 0, IP6_HDR_LEN);
	ip6[0] = 0x60;
	ip6[6] = s->proto;
	ip6[7] = s->hop_limit ? s->hop_limit : 64;
	put_addr(ip6 + 8, AF_INET6, s->saddr);
	if (s->to_solicited_node)
		solicited_node(ip6 + 24, s->nd_target);
	else
		put_addr(ip6 + 24, AF_INET6, s->daddr);
	/* Hop-by-hop header: next header, length 0, one PadN of 4 bytes. */
	if (s->hbh) {
		ip6[6] = IPPROTO_HOPOPTS;
		memcpy(l4, "\x00\x00\x01\x04\x00\x00\x00\x00", HBH_LEN);
		l4[0] = s->proto;
		ext = HBH_LEN;
	}
	/* The pseudo-header counts the upper layer only, not extensions. */
	l4len = build_l4(s, l4 + ext, ip6 + 8, ip6 + 24, 16);
	put16(ip6 + 4, (uint16_t)(ext + l4len));
	return IP6_HDR_LEN + ext + l4len;
}

static void build(const struct pkt_spec *s, struct pkt *p)
{
	size_t len = 2 * ETH_ALEN;
	uint8_t *l3;

	memset(p, 0, sizeof(*p));
	if (s->eth_dst)
		memcpy(p->b, s->eth_dst, ETH_ALEN);
	memcpy(p->b + ETH_ALEN, s->eth_src, ETH_ALEN);
	if (s->vlan_id) {
		put16(p->b + len, ETH_P_8021Q);
		put16(p->b + len + 2, s->vlan_id);
		len += VLAN_HDR_LEN;
	}
	put16(p->b + len, s->ethertype);
	len += 2;
	l3 = p->b + len;
	switch (s->ethertype) {
	case ETH_P_ARP:
		len += build_arp(s, l3);
		break;
	case ETH_P_IP:
		len += build_ip4(s, l3);
		break;
	case ETH_P_IPV6:
		len += build_ip6(s, l3);
		/* 33:33 and the group's low 32 bits (RFC 2464 7). */
		if (s->to_solicited_node) {
			memcpy(p->b, "\x33\x33", 2);
			memcpy(p->b + 2, l3 + 24 + 12, 4);
		}
		break;
	}
	if (s->pad_to > len)
		len = s->pad_to;
	if (s->truncate && s->truncate < len)
		len = s->truncate;
	p->len = len;
}

/*
 * For an output that is a whole untagged IPv4 TCP packet, checks both
 * checksums from scratch: the programs patch them incrementally, and an
 * error there is invisible until a real guest drops the packet.
 */
static bool csums4_ok(const uint8_t *b, size_t len, char *why, size_t n)
{
	const uint8_t *ip = b + ETH_HDR_LEN, *tcp;
	size_t ihl, tot;

	if (len < ETH_HDR_LEN + IP4_HDR_LEN)
		return true;
	ihl = (ip[0] & 0x0f) * 4u;
	tot = get16(ip + 2);
	if (ihl < IP4_HDR_LEN || ETH_HDR_LEN + tot > len || tot < ihl)
		return true;
	if (csum_fold(csum_add(0, ip, ihl)) != 0) {
		snprintf(why, n, "bad IPv4 header checksum %#06x",
			 get16(ip + 10));
		return false;
	}
	if (ip[9] != IPPROTO_TCP || (get16(ip + 6) & 0x3fff) ||
	    tot < ihl + TCP_HDR_LEN)
		return true;
	tcp = ip + ihl;
	if (csum_fold(csum_add(pseudo_sum(ip + 12, ip + 16, 4, IPPROTO_TCP,
					  tot - ihl),
			       tcp, tot - ihl)) != 0) {
		snprintf(why, n, "bad TCP checksum %#06x", get16(tcp + 16));
		return false;
	}
	return true;
}

/*
 * The same for a whole untagged IPv6 packet carrying TCP, UDP or ICMPv6,
 * directly or behind one hop-by-hop header: IPv6 has no header checksum,
 * but all three sum a pseudo-header of both addresses, the upper-layer
 * length and next header (RFC 8200 8.1).
 */
static bool csums6_ok(const uint8_t *b, size_t len, char *why, size_t n)
{
	const uint8_t *ip6 = b + ETH_HDR_LEN, *l4 = ip6 + IP6_HDR_LEN;
	size_t plen, l4len;
	uint8_t nh;

	if (len < ETH_HDR_LEN + IP6_HDR_LEN)
		return true;
	plen = get16(ip6 + 4);
	if (ETH_HDR_LEN + IP6_HDR_LEN + plen > len)
		return true;
	l4len = plen;
	nh = ip6[6];
	if (nh == IPPROTO_HOPOPTS) {
		size_t ext = (l4[1] + 1u) * 8;

		if (plen < 2 || ext > plen)
			return true;
		nh = l4[0];
		l4 += ext;
		l4len -= ext;
	}
	if ((nh != IPPROTO_TCP && nh != IPPROTO_UDP && nh != IPPROTO_ICMPV6) ||
	    l4len < l4_csum_offset(nh) + 2 ||
	    (nh == IPPROTO_TCP && l4len < TCP_HDR_LEN))
		return true;
	if (csum_fold(csum_add(pseudo_sum(ip6 + 8, ip6 + 24, 16, nh, l4len),
			       l4, l4len)) != 0) {
		snprintf(why, n, "bad %s checksum %#06x",
			 nh == IPPROTO_TCP ? "TCP" :
			 nh == IPPROTO_UDP ? "UDP" : "ICMPv6",
			 get16(l4 + l4_csum_offset(nh)));
		return false;
	}
	return true;
}

static bool csums_ok(const uint8_t *b, size_t len, char *why, size_t n)
{
	if (len < ETH_HDR_LEN)
		return true;
	switch (get16(b + 12)) {
	case ETH_P_IP:
		return csums4_ok(b, len, why, n);
	case ETH_P_IPV6:
		return csums6_ok(b, len, why, n);
	}
	return true;
}

/*
 * The checker itself is tested first: a passing run means nothing if it
 * would accept anything. A header with a well-known checksum (0xb861),
 * then a built packet with one bit flipped in each checksummed part.
 */
static bool harness_self_test(char *why, size_t n)
{
	static const uint8_t known_ip[IP4_HDR_LEN] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};
	struct pkt_spec spec = {
		.eth_dst = GW_MAC, .eth_src = GUEST_MAC, .ethertype = ETH_P_IP,
		.saddr = "10.0.0.5", .daddr = "169.254.169.254",
		.proto = IPPROTO_TCP, .sport = 40000, .dport = 80,
		.tcp_flags = TCP_SYN, .payload = "odd",
	};
	char ignored[128];
	struct pkt p;

	if (csum_fold(csum_add(0, known_ip, sizeof(known_ip))) != 0xb861) {
		snprintf(why, n, "IPv4 checksum of the known header is wrong");
		return false;
	}
	build(&spec, &p);
	if (!csums_ok(p.b, p.len, why, n))
		return false;
	p.b[p.len - 1] ^= 0x01;		/* last payload byte: TCP only */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n, "a corrupted TCP payload passed the checker");
		return false;
	}
	p.b[p.len - 1] ^= 0x01;
	p.b[ETH_HDR_LEN + 8] ^= 0x01;	/* TTL: IP header only */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n, "a corrupted IPv4 header passed the checker");
		return false;
	}
	return true;
}

/* ---- Map state ---- */

static struct mdredir_bpf *skel;
static __u32 lo_ifindex;
/* test_run's devices are this namespace's: attachments are keyed by it. */
static __u64 test_netns;
static int ncpus;

static struct mdr_attachment test_attachment(void)
{
	struct mdr_attachment att = {
		.ifindex = lo_ifindex,
		/* Replies are accepted only on the link veth: test_run's. */
		.link_ifindex = lo_ifindex,
		.proxy_ifindex = lo_ifindex,
		.mode = MDR_MODE_TC,
		.link_id = TEST_LINK_ID,
		.ifname = "tap-test",
	};

	att.service_addr = inet_addr(SERVICE_IP);
	put_addr(att.service_addr6, AF_INET6, SERVICE_IP6);
	memcpy(att.mac, TAP_MAC, 6);
	memcpy(att.proxy_mac, PROXY_MAC, 6);
	return att;
}

static int clear_map(int fd)
{
	uint8_t key[64];

	/* Deleting the first key each time never loses our place. */
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	return 0;
}

/* Puts every map back to the one attachment the fixtures assume. */
static int reset_state(void)
{
	struct mdr_config cfg = { .pool_prefix = 16,
				  .pool6_prefix = POOL6_PREFIX };
	struct mdr_iface_key ik = { test_netns, lo_ifindex, 0 };
	struct mdr_attachment att = test_attachment();
	__u32 zero = 0, id = TEST_ATTACH_ID;
	int err;

	/* No SYN rate, replies keep their TTL: the defaults. */
	cfg.pool_addr = inet_addr("100.100.0.0");
	put_addr(cfg.pool6_addr, AF_INET6, POOL6);
	struct mdr_syn_rate no_rate = {};

	err = clear_map(bpf_map__fd(skel->maps.mdr_iface));
	err = err ?: clear_map(bpf_map__fd(skel->maps.mdr_attach));
	err = err ?: clear_map(bpf_map__fd(skel->maps.mdr_neigh));
	if (err)
		return err;
	/* An array: entries cannot go, only go back to "nothing scheduled". */
	for (__u32 i = 0; i < N_CHECKED_IDS; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_syn_rate),
					&i, &no_rate, 0))
			return -errno;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_config), &zero, &cfg, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_iface), &ik, &id, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_attach), &id, &att, 0))
		return -errno;
	return 0;
}

/* The mdr_neigh key of a guest of attachment 1: IPv4 in the first 4 bytes. */
static struct mdr_neigh_key neigh_key(int family, const char *vm_ip)
{
	struct mdr_neigh_key key = { .attach_id = TEST_ATTACH_ID,
				     .family = (__u32)family };

	put_addr(key.addr, family, vm_ip);
	return key;
}

static int set_neigh(int family, const char *vm_ip, const uint8_t *mac)
{
	struct mdr_neigh_key key = neigh_key(family, vm_ip);
	struct mdr_neigh val = {};

	memcpy(val.mac, mac, 6);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_neigh), &key, &val, 0)
		? -errno : 0;
}

/* Sums one attachment's per-CPU counters. */
static int read_counters(__u32 id, __u64 out[MDR_PKT_COUNTER_MAX])
{
	struct mdr_pkt_stats *per_cpu = calloc(ncpus, sizeof(*per_cpu));
	int err = 0;

	if (!per_cpu)
		return -ENOMEM;
	memset(out, 0, sizeof(__u64) * MDR_PKT_COUNTER_MAX);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.mdr_pkt_stats), &id, per_cpu)) {
		err = -errno;
		goto out;
	}
	for (int cpu = 0; cpu < ncpus; cpu++)
		for (int c = 0; c < MDR_PKT_COUNTER_MAX; c++)
			out[c] += per_cpu[cpu].count[c];
out:
	free(per_cpu);
	return err;
}

/* ---- Setup hooks: the state a fixture needs beyond the default ---- */

static int know_guest(void)
{
	return set_neigh(AF_INET, GUEST_IP, GUEST_MAC);
}

/* The guest's IP was last seen with another MAC (a recycled address). */
static int know_guest_old_mac(void)
{
	return set_neigh(AF_INET, GUEST_IP, GUEST2_MAC);
}

static int know_guest6(void)
{
	return set_neigh(AF_INET6, GUEST6_IP, GUEST_MAC);
}

static int know_guest6_old_mac(void)
{
	return set_neigh(AF_INET6, GUEST6_IP, GUEST2_MAC);
}

static int know_global_guest6(void)
{
	return set_neigh(AF_INET6, GUEST6_GLOBAL_IP, GUEST_MAC);
}

/* The tap is not attached: its mdr_iface entry is gone. */
static int forget_iface(void)
{
	struct mdr_iface_key ik = { test_netns, lo_ifindex, 0 };

	return bpf_map_delete_elem(bpf_map__fd(skel->maps.mdr_iface), &ik) ? -errno : 0;
}

/*
 * The same ifindex is attached, but in another namespace: a frame arriving
 * here must not be taken for that attachment's.
 */
static int iface_in_other_netns(void)
{
	struct mdr_iface_key other = { test_netns + 1, lo_ifindex, 0 };
	__u32 id = TEST_ATTACH_ID;
	int err = forget_iface();

	if (err)
		return err;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_iface), &other, &id, 0)
		? -errno : 0;
}

/* A reply for attachment 1 arriving on some other link veth. */
static int reply_on_wrong_link(void)
{
	struct mdr_attachment att = test_attachment();
	__u32 id = TEST_ATTACH_ID;

	att.link_ifindex = lo_ifindex + 1000;
	return know_guest() ?: know_guest6() ?:
		(bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_attach), &id, &att, 0)
		 ? -errno : 0);
}

/* ---- Post-checks ---- */

/* mdr_neigh maps {@id, @family, @vm_ip} to @mac. */
static bool has_neigh(__u32 id, int family, const char *vm_ip,
		      const uint8_t *mac, char *why, size_t n)
{
	int fd = bpf_map__fd(skel->maps.mdr_neigh);
	struct mdr_neigh_key key = neigh_key(family, vm_ip);
	struct mdr_neigh val;

	key.attach_id = id;
	if (bpf_map_lookup_elem(fd, &key, &val)) {
		snprintf(why, n, "mdr_neigh has no entry for {%u, %s, %s}", id,
			 family == AF_INET ? "AF_INET" : "AF_INET6", vm_ip);
		return false;
	}
	if (memcmp(val.mac, mac, 6)) {
		snprintf(why, n, "mdr_neigh {%u, %s} holds the wrong MAC", id,
			 vm_ip);
		return false;
	}
	return true;
}

/* mdr_neigh holds @want entries in all. */
static bool neigh_count(int want, char *why, size_t n)
{
	int fd = bpf_map__fd(skel->maps.mdr_neigh);
	struct mdr_neigh_key k;
	void *prev = NULL;
	int entries = 0;

	for (; bpf_map_get_next_key(fd, prev, &k) == 0; prev = &k)
		entries++;
	if (entries != want) {
		snprintf(why, n, "mdr_neigh has %d entries, expected %d",
			 entries, want);
		return false;
	}
	return true;
}

/*
 * mdr_neigh holds exactly one guest, {1, @family, @vm_ip} -> @mac: the
 * key is compared whole, so a family or padding mix-up shows.
 */
static bool learnt_only_as(int family, const char *vm_ip, const uint8_t *mac,
			   char *why, size_t n)
{
	return has_neigh(TEST_ATTACH_ID, family, vm_ip, mac, why, n) &&
	       neigh_count(1, why, n);
}

static bool learnt_only(int family, const char *vm_ip, char *why, size_t n)
{
	return learnt_only_as(family, vm_ip, GUEST_MAC, why, n);
}

static bool guest_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET, GUEST_IP, why, n);
}

static bool guest6_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET6, GUEST6_IP, why, n);
}

static bool global_guest6_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET6, GUEST6_GLOBAL_IP, why, n);
}

/* Untouched guest traffic must not teach us anything either. */
static bool nothing_learnt(char *why, size_t n)
{
	struct mdr_neigh_key key;

	if (bpf_map_get_next_key(bpf_map__fd(skel->maps.mdr_neigh), NULL, &key) == 0) {
		snprintf(why, n, "mdr_neigh learnt a guest from a packet it left alone");
		return false;
	}
	return true;
}

/* ---- Fixtures ---- */

enum prog_id { TAP, LINK, PROXY };

struct fixture {
	const char *name;
	enum prog_id prog;
	struct pkt_spec in;
	int verdict;
	const struct pkt_spec *out;	/* NULL: output equals input */
	bool counted;			/* else no counter may move */
	__u32 count_id;
	int counter;
	int (*setup)(void);
	bool (*check)(char *why, size_t n);
};

#define COUNTS(id, c)	.counted = true, .count_id = (id), .counter = (c)

/* Base packets; fixtures name only the fields they change. */
#define ARP_WHO_HAS_METADATA						\
	.eth_dst = BCAST_MAC, .eth_src = GUEST_MAC,			\
	.ethertype = ETH_P_ARP, .arp_op = 1,				\
	.arp_sha = GUEST_MAC, .arp_spa = GUEST_IP,			\
	.arp_tpa = METADATA_IP

#define ARP_METADATA_IS_AT						\
	.eth_dst = GUEST_MAC, .eth_src = TAP_MAC,			\
	.ethertype = ETH_P_ARP, .arp_op = 2,				\
	.arp_sha = TAP_MAC, .arp_spa = METADATA_IP,			\
	.arp_tha = GUEST_MAC, .arp_tpa = GUEST_IP

/* Linux guests set DF: it must not count as a fragment. */
#define SYN_TO_METADATA							\
	.eth_dst = GW_MAC, .eth_src = GUEST_MAC,			\
	.ethertype = ETH_P_IP, .frag = IP_DF,				\
	.saddr = GUEST_IP, .daddr = METADATA_IP,			\
	.proto = IPPROTO_TCP, .sport = 40000, .dport = 80,		\
	.tcp_flags = TCP_SYN

/* ...and as the tap program must hand it to the proxy. */
#define SYN_TO_SERVICE							\
	SYN_TO_METADATA, .daddr = SERVICE_IP,				\
	.eth_dst = PROXY_MAC, .eth_src = TAP_MAC

/* An odd-length body: checksums must cope with the padding byte. */
#define REPLY_FROM_SERVICE						\
	.eth_dst = LINK_MAC, .eth_src = PROXY_MAC,			\
	.ethertype = ETH_P_IP, .frag = IP_DF,				\
	.saddr = SERVICE_IP, .daddr = GUEST_IP,				\
	.proto = IPPROTO_TCP, .sport = 80, .dport = 40000,		\
	.tcp_flags = TCP_PSH | TCP_ACK, .payload = "HTTP/1.0 200 OK\r\n\r\nlatest"

#define REPLY_FROM_METADATA						\
	REPLY_FROM_SERVICE, .saddr = METADATA_IP,			\
	.eth_dst = GUEST_MAC, .eth_src = TAP_MAC

/* Sizes of the SYN's headers, to cut it at a chosen place. */
#define SYN_LEN		(ETH_HDR_LEN + IP4_HDR_LEN + TCP_HDR_LEN)

/*
 * A guest resolving fe80::a9fe:a9fe, as Linux sends it: to the target's
 * solicited-node group ff02::1:fffe:a9fe (33:33:ff:fe:a9:fe), hop limit
 * 255, with its own MAC in a source link-layer address option.
 */
#define NS_FOR_METADATA							\
	.eth_src = GUEST_MAC, .ethertype = ETH_P_IPV6,			\
	.saddr = GUEST6_IP, .to_solicited_node = true,			\
	.hop_limit = 255, .proto = IPPROTO_ICMPV6,			\
	.icmp6_type = ND_NEIGHBOR_SOLICIT, .nd_target = METADATA_IP6,	\
	.nd_ll_opt = ND_OPT_SLLA, .nd_ll_mac = GUEST_MAC

/* ...and the one answer, whatever options the solicitation had. */
#define NA_FROM_METADATA						\
	.eth_dst = GUEST_MAC, .eth_src = TAP_MAC,			\
	.ethertype = ETH_P_IPV6, .saddr = METADATA_IP6,			\
	.daddr = GUEST6_IP, .hop_limit = 255, .proto = IPPROTO_ICMPV6,	\
	.icmp6_type = ND_NEIGHBOR_ADVERT,				\
	.nd_flags = ND_NA_SOLICITED | ND_NA_OVERRIDE,			\
	.nd_target = METADATA_IP6,					\
	.nd_ll_opt = ND_OPT_TLLA, .nd_ll_mac = TAP_MAC

/* The guest learnt TAP_MAC for fe80::a9fe:a9fe from that answer. */
#define SYN6_TO_METADATA						\
	.eth_dst = TAP_MAC, .eth_src = GUEST_MAC,			\
	.ethertype = ETH_P_IPV6,					\
	.saddr = GUEST6_IP, .daddr = METADATA_IP6,			\
	.proto = IPPROTO_TCP, .sport = 40000, .dport = 80,		\
	.tcp_flags = TCP_SYN

#define SYN6_TO_SERVICE							\
	SYN6_TO_METADATA, .daddr = SERVICE_IP6,				\
	.eth_dst = PROXY_MAC, .eth_src = TAP_MAC

#define REPLY6_FROM_SERVICE						\
	.eth_dst = LINK_MAC, .eth_src = PROXY_MAC,			\
	.ethertype = ETH_P_IPV6,					\
	.saddr = SERVICE_IP6, .daddr = GUEST6_IP,			\
	.proto = IPPROTO_TCP, .sport = 80, .dport = 40000,		\
	.tcp_flags = TCP_PSH | TCP_ACK, .payload = "HTTP/1.0 200 OK\r\n\r\nlatest"

#define REPLY6_FROM_METADATA						\
	REPLY6_FROM_SERVICE, .saddr = METADATA_IP6,			\
	.eth_dst = GUEST_MAC, .eth_src = TAP_MAC

#define SYN6_LEN	(ETH_HDR_LEN + IP6_HDR_LEN + TCP_HDR_LEN)

/*
 * Base packets are reused with a field or two overridden: later
 * designated initialisers win, which is the point.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"

/* ---- Hardening: anti-spoofing, SYN rate, reply TTL ---- */

#define NSEC_PER_SEC	1000000000ULL
/*
 * The SYN rate the fixtures use: one SYN per 10 s, bursts up to two
 * intervals ahead, so three SYNs in a row pass and the fourth does not.
 * Long enough that the time test_run takes can never flip a result.
 */
#define TEST_SYN_INTERVAL	(10 * NSEC_PER_SEC)
#define TEST_SYN_BURST		(2 * TEST_SYN_INTERVAL)

static int set_config(__u64 syn_interval_ns, __u64 syn_burst_ns,
		      __u32 reply_ttl)
{
	int fd = bpf_map__fd(skel->maps.mdr_config);
	struct mdr_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		return -errno;
	cfg.syn_interval_ns = syn_interval_ns;
	cfg.syn_burst_ns = syn_burst_ns;
	cfg.reply_ttl = reply_ttl;
	return bpf_map_update_elem(fd, &zero, &cfg, 0) ? -errno : 0;
}

/*
 * Attachment 1 with --mac @vm_mac (NULL: none) and --ip for each of the
 * NULL-terminated @ips (NULL: none), as `mdredir attach` stores them.
 */
static int guard(const uint8_t *vm_mac, const char *const *ips)
{
	struct mdr_attachment att = test_attachment();
	__u32 id = TEST_ATTACH_ID;

	if (vm_mac) {
		att.flags |= MDR_F_HAS_VM_MAC;
		memcpy(att.vm_mac, vm_mac, 6);
	}
	for (int i = 0; ips && ips[i]; i++) {
		int family = strchr(ips[i], ':') ? AF_INET6 : AF_INET;

		if (i >= MDR_MAX_FIXED_IPS) {
			fprintf(stderr, "fixture bug: too many fixed IPs\n");
			exit(2);
		}
		att.flags |= MDR_F_HAS_FIXED_IP;
		att.fixed_ips[i].family =
			family == AF_INET6 ? MDR_AF_INET6 : MDR_AF_INET;
		put_addr(att.fixed_ips[i].addr, family, ips[i]);
	}
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_attach), &id,
				   &att, 0) ? -errno : 0;
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
		"10.0.0.101", "2001:db8::101", "10.0.0.102", "2001:db8::102",
		"10.0.0.103", "2001:db8::103", GUEST6_GLOBAL_IP, GUEST_IP, NULL,
	};

	return guard(GUEST_MAC, ips);
}

/* The only --ip is IPv6, and its first 4 bytes spell 10.0.0.5. */
static int guard_lookalike6(void)
{
	static const char *const ips[] = { LOOKALIKE6_IP, NULL };

	return guard(GUEST_MAC, ips);
}

/* Guarded, and the tap no longer attached. */
static int guard_unattached(void)
{
	return guard_mac_ip() ?: forget_iface();
}

/*
 * Runs @s through the tap program the way a fixture does; the state it
 * leaves is the fixture's starting point. -EPROTO: not the verdict a
 * setup step expects, so the fixture's premise does not hold.
 */
static int run_tap(const struct pkt_spec *s, int verdict)
{
	struct __sk_buff ctx = { .ifindex = lo_ifindex };
	uint8_t out[PKT_MAX + 64];
	struct pkt p;

	build(s, &p);
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = p.b, .data_size_in = (__u32)p.len,
		.data_out = out, .data_size_out = sizeof(out),
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mdr_tap_ingress),
				   &opts))
		return -errno;
	return (int)opts.retval == verdict ? 0 : -EPROTO;
}

static int send_syns(const struct pkt_spec *s, int count, int verdict)
{
	int err = 0;

	for (int i = 0; i < count && !err; i++)
		err = run_tap(s, verdict);
	return err;
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

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + (__u64)ts.tv_nsec;
}

static int note_schedule(void)
{
	for (__u32 id = 0; id < N_CHECKED_IDS; id++)
		tat_before[id] = syn_tat(id);
	clock_before = monotonic_ns();
	return 0;
}

static int rate_on(void)
{
	return set_config(TEST_SYN_INTERVAL, TEST_SYN_BURST, 0) ?:
		note_schedule();
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
	struct mdr_attachment att = test_attachment();
	struct mdr_iface_key ik = { test_netns, lo_ifindex, 0 };
	__u32 id = TEST_ATTACH2_ID;

	att.service_addr = inet_addr(SERVICE2_IP);
	put_addr(att.service_addr6, AF_INET6, SERVICE2_IP6);
	memcpy(att.ifname, "tap-test2", sizeof("tap-test2"));
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_attach), &id, &att, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_iface), &ik, &id, 0))
		return -errno;
	return 0;
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

static int ttl1_know_guest(void)
{
	return set_config(0, 0, 1) ?: know_guest();
}

static int ttl1_know_guest6(void)
{
	return set_config(0, 0, 1) ?: know_guest6();
}

static int ttl2_know_guest(void)
{
	return set_config(0, 0, 2) ?: know_guest();
}

static int ttl1(void)
{
	return set_config(0, 0, 1);
}

/* Attachment @id's schedule moved by @by since note_schedule(). */
static bool schedule_moved(__u32 id, __u64 by, char *why, size_t n)
{
	__u64 tat = syn_tat(id);

	if (tat != tat_before[id] + by) {
		snprintf(why, n, "mdr_syn_rate[%u].tat moved by %lld ns, expected %llu",
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
		snprintf(why, n, "mdr_syn_rate[%u].tat is %llu, expected now + 10 s (now %llu)",
			 id, (unsigned long long)tat, (unsigned long long)now);
		return false;
	}
	return true;
}

static bool nothing_scheduled(char *why, size_t n)
{
	for (__u32 id = 0; id < N_CHECKED_IDS; id++)
		if (syn_tat(id) != 0) {
			snprintf(why, n, "mdr_syn_rate[%u].tat is %llu, expected 0",
				 id, (unsigned long long)syn_tat(id));
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
	return has_neigh(TEST_ATTACH_ID, AF_INET, GUEST_IP, GUEST_MAC, why, n) &&
	       has_neigh(TEST_ATTACH2_ID, AF_INET, GUEST_IP, GUEST_MAC, why, n) &&
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
	/* -- mdr_tap_ingress: ARP -- */
	{
		.name = "tap: ARP who-has 169.254.169.254 is answered",
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
	},
	{
		/* On the wire ARP is padded to 60 bytes; the padding stays. */
		.name = "tap: padded ARP who-has 169.254.169.254 is answered",
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA, .pad_to = 60 },
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
		.in = { ARP_WHO_HAS_METADATA, .arp_op = 2,
			.arp_tha = TAP_MAC },
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
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_OK, .setup = forget_iface,
	},

	/* -- mdr_tap_ingress: NDP -- */
	{
		.name = "tap: NS for fe80::a9fe:a9fe is answered with an NA",
		.prog = TAP, .in = { NS_FOR_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.check = nothing_learnt,
	},
	{
		/* 78 bytes in, 86 out: the frame grows. */
		.name = "tap: NS for fe80::a9fe:a9fe without options is answered",
		.prog = TAP, .in = { NS_FOR_METADATA, .nd_ll_opt = 0 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.check = nothing_learnt,
	},
	{
		/* 94 bytes in, 86 out: the frame shrinks. */
		.name = "tap: NS for fe80::a9fe:a9fe with a nonce option is answered",
		.prog = TAP, .in = { NS_FOR_METADATA, .nd_nonce = true },
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
		.prog = TAP, .in = { NS_FOR_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA,
			.daddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.check = nothing_learnt,
	},
	{
		.name = "tap: NS for another target is untouched",
		.prog = TAP, .in = { NS_FOR_METADATA, .nd_target = "fe80::2" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		/* Same low 24 bits, so the same solicited-node group. */
		.name = "tap: NS for fe80::1:a9fe:a9fe (same group) is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .nd_target = "fe80::1:a9fe:a9fe" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		/* RFC 4861 7.1.1: a router may have forwarded it. */
		.name = "tap: NS with hop limit 64 is untouched",
		.prog = TAP, .in = { NS_FOR_METADATA, .hop_limit = 64 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		/* Duplicate address detection: no source, so no option. */
		.name = "tap: DAD NS (source ::) is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = "::", .nd_ll_opt = 0 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: NS with ICMPv6 code 1 is untouched",
		.prog = TAP, .in = { NS_FOR_METADATA, .icmp6_code = 1 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		/* An unsolicited NA for the very address: only the type differs. */
		.name = "tap: NA for fe80::a9fe:a9fe is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .to_solicited_node = false,
			.eth_dst = TAP_MAC, .daddr = "ff02::1",
			.icmp6_type = ND_NEIGHBOR_ADVERT,
			.nd_flags = ND_NA_OVERRIDE, .nd_ll_opt = ND_OPT_TLLA },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: Router Solicitation is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .to_solicited_node = false,
			.eth_dst = TAP_MAC, .daddr = "ff02::2",
			.icmp6_type = ND_ROUTER_SOLICIT, .nd_target = NULL },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: NS cut inside its target address is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .truncate = ETH_HDR_LEN + IP6_HDR_LEN +
			ND_HDR_LEN + ND_TARGET_LEN - 1 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: VLAN-tagged NS for fe80::a9fe:a9fe is untouched",
		.prog = TAP, .in = { NS_FOR_METADATA, .vlan_id = 100 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: NS on an unattached interface is untouched",
		.prog = TAP, .in = { NS_FOR_METADATA },
		.verdict = TC_ACT_OK, .setup = forget_iface,
		.check = nothing_learnt,
	},

	/* -- mdr_tap_ingress: TCP to the metadata service -- */
	{
		.name = "tap: SYN to 169.254.169.254:80 goes to the proxy",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
	},
	{
		.name = "tap: SYN from a new MAC for a known IP relearns the MAC",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = know_guest_old_mac, .check = guest_learnt,
	},
	{
		.name = "tap: request with a body goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
			.tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
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
		.prog = TAP, .in = { SYN_TO_METADATA, .ip_opt_words = 1 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .ip_opt_words = 1 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
	},
	{
		/* ihl=15: the headers fill MDR_MAX_HDR_LEN exactly. */
		.name = "tap: SYN with 40 bytes of IP options goes to the proxy",
		.prog = TAP, .in = { SYN_TO_METADATA, .ip_opt_words = 10 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .ip_opt_words = 10 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest_learnt,
	},
	{
		.name = "tap: TCP to 169.254.169.254:443 is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA, .dport = 443 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: TCP to 169.254.169.254:8080 is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA, .dport = 8080 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: TCP to 10.0.0.1:80 is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA, .daddr = "10.0.0.1" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: UDP to 169.254.169.254:80 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .proto = IPPROTO_UDP,
			.payload = "metadata?" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: ICMP echo to 169.254.169.254 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .proto = IPPROTO_ICMP,
			.payload = "ping" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: first fragment (MF) to 169.254.169.254:80 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .frag = IP_MF,
			.payload = "GET / HTTP/1.1\r\n" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		/* Offset 8 (64 bytes): what looks like TCP is mid-payload. */
		.name = "tap: non-first fragment to 169.254.169.254 is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .frag = 8,
			.payload = "Host: 169.254.169.254\r\n" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: VLAN-tagged SYN to 169.254.169.254:80 is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA, .vlan_id = 100 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: VLAN-tagged ARP for 169.254.169.254 is untouched",
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA, .vlan_id = 100 },
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
		.in = { SYN_TO_METADATA, .truncate = ETH_HDR_LEN + IP4_HDR_LEN },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: IPv4 header cut inside its options is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .ip_opt_words = 10,
			.truncate = ETH_HDR_LEN + 40 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: TCP header cut short is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA, .truncate = SYN_LEN - 1 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: metadata SYN on an unattached interface is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_OK, .setup = forget_iface,
		.check = nothing_learnt,
	},
	{
		.name = "tap: metadata SYN on an ifindex attached in another netns is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_OK, .setup = iface_in_other_netns,
		.check = nothing_learnt,
	},

	/* -- mdr_tap_ingress: IPv6 TCP to the metadata service -- */
	{
		.name = "tap: SYN to [fe80::a9fe:a9fe]:80 goes to the proxy",
		.prog = TAP, .in = { SYN6_TO_METADATA },
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
		.prog = TAP, .in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = know_guest6_old_mac, .check = guest6_learnt,
	},
	{
		/* Odd length: the checksum update must cope with the pad byte. */
		.name = "tap: IPv6 request with a body goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /openstack/latest HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
			.tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /openstack/latest HTTP/1.1\r\n\r\n" },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.check = guest6_learnt,
	},
	{
		.name = "tap: IPv6 TCP to [fe80::a9fe:a9fe]:443 is untouched",
		.prog = TAP, .in = { SYN6_TO_METADATA, .dport = 443 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 TCP to [fe80::1]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = "fe80::5", .daddr = "fe80::1" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		/* One bit off in the last byte: the whole address is compared. */
		.name = "tap: IPv6 TCP to [fe80::a9fe:a9ff]:80 is untouched",
		.prog = TAP, .in = { SYN6_TO_METADATA, .daddr = "fe80::a9fe:a9ff" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 TCP to [::ffff:169.254.169.254]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .daddr = "::ffff:169.254.169.254" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: UDP to [fe80::a9fe:a9fe]:80 is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .proto = IPPROTO_UDP,
			.payload = "metadata?" },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: hop-by-hop header before TCP to [fe80::a9fe:a9fe]:80 is untouched",
		.prog = TAP, .in = { SYN6_TO_METADATA, .hbh = true },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		/* test_run refuses IPv6 frames shorter than the fixed header. */
		.name = "tap: IPv6 header with no TCP header is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .truncate = ETH_HDR_LEN + IP6_HDR_LEN },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 TCP header cut short is untouched",
		.prog = TAP, .in = { SYN6_TO_METADATA, .truncate = SYN6_LEN - 1 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: VLAN-tagged IPv6 SYN to [fe80::a9fe:a9fe]:80 is untouched",
		.prog = TAP, .in = { SYN6_TO_METADATA, .vlan_id = 100 },
		.verdict = TC_ACT_OK, .check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 metadata SYN on an unattached interface is untouched",
		.prog = TAP, .in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_OK, .setup = forget_iface,
		.check = nothing_learnt,
	},
	{
		.name = "tap: IPv6 metadata SYN on an ifindex attached in another netns is untouched",
		.prog = TAP, .in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_OK, .setup = iface_in_other_netns,
		.check = nothing_learnt,
	},

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

	/* -- mdr_proxy_egress: picking the link by service address -- */
	{
		.name = "proxy: reply from 100.100.0.1 is redirected unchanged",
		.prog = PROXY, .in = { REPLY_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
	},
	{
		.name = "proxy: reply from 100.100.0.7 is dropped (no attachment)",
		.prog = PROXY, .in = { REPLY_FROM_SERVICE, .saddr = "100.100.0.7" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NO_ATTACH),
	},
	{
		.name = "proxy: packet from 10.1.1.1 is dropped as not ours",
		.prog = PROXY, .in = { REPLY_FROM_SERVICE, .saddr = "10.1.1.1" },
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
		.prog = PROXY, .in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "proxy: reply from fd6d:6472:6972::1 is redirected unchanged",
		.prog = PROXY, .in = { REPLY6_FROM_SERVICE },
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
		.prog = PROXY, .in = { REPLY6_FROM_SERVICE, .saddr = "2001:db8::1" },
		.verdict = TC_ACT_SHOT,
		COUNTS(0, MDR_DROP_NOT_OURS),
	},
	{
		.name = "proxy: IPv6 from the pool base fd6d:6472:6972:: is dropped as not ours",
		.prog = PROXY, .in = { REPLY6_FROM_SERVICE, .saddr = POOL6 },
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

	/* -- mdr_tap_ingress: anti-spoofing against --mac and --ip -- */
	{
		.name = "guard: SYN from the attachment's MAC and IPv4 goes to the proxy",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip, .check = guest_learnt,
	},
	{
		.name = "guard: ARP from the attachment's MAC and IPv4 is answered",
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from the attachment's MAC and IPv6 goes to the proxy",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
			.saddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip, .check = global_guest6_learnt,
	},
	{
		.name = "guard: NS from the attachment's MAC and IPv6 is answered",
		.prog = TAP, .in = { NS_FOR_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA,
			.daddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: request with a body from the right MAC and IP goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
			.tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip, .check = guest_learnt,
	},
	{
		.name = "guard: SYN from another MAC is dropped (spoofed MAC)",
		.prog = TAP, .in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip, .check = nothing_learnt,
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
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: ARP from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .eth_src = GUEST2_MAC,
			.arp_sha = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		/* The frame's source is what is checked, not the ARP body. */
		.name = "guard: ARP from another MAC claiming the right sender MAC is dropped",
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP,
			.eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: NS from another MAC is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = GUEST6_GLOBAL_IP,
			.eth_src = GUEST2_MAC, .nd_ll_mac = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		/* Both wrong: the MAC is checked first, one counter moves. */
		.name = "guard: SYN from another MAC and IP counts as a spoofed MAC only",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: SYN from another IPv4 is dropped (spoofed IP)",
		.prog = TAP, .in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		/* Unused slots are family 0, address zero: they match nothing. */
		.name = "guard: SYN from 0.0.0.0 is dropped (spoofed IP)",
		.prog = TAP, .in = { SYN_TO_METADATA, .saddr = "0.0.0.0" },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: ARP whose sender IP is another is dropped (spoofed IP)",
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA, .arp_spa = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from another global IPv6 is dropped (spoofed IP)",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = OTHER6_GLOBAL_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: NS from another global IPv6 is dropped (spoofed IP)",
		.prog = TAP, .in = { NS_FOR_METADATA, .saddr = OTHER6_GLOBAL_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		/* fe80::1 is link-local, but not the EUI-64 of the --mac. */
		.name = "guard: IPv6 SYN from a link-local IPv6 not derived from the MAC is dropped",
		.prog = TAP, .in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: NS from a link-local IPv6 not derived from the MAC is dropped",
		.prog = TAP, .in = { NS_FOR_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from the MAC's EUI-64 link-local goes to the proxy",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = GUEST6_EUI64 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
			.saddr = GUEST6_EUI64 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip, .check = eui64_guest6_learnt,
	},
	{
		.name = "guard: NS from the MAC's EUI-64 link-local is answered",
		.prog = TAP, .in = { NS_FOR_METADATA, .saddr = GUEST6_EUI64 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA,
			.daddr = GUEST6_EUI64 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		/* Without any IPv6 --ip, the EUI-64 address is all there is. */
		.name = "guard: --mac and IPv4 --ip only: EUI-64 link-local SYN goes to the proxy",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = GUEST6_EUI64 },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
			.saddr = GUEST6_EUI64 },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_ip4, .check = eui64_guest6_learnt,
	},
	{
		.name = "guard: --mac and IPv4 --ip only: IPv6 SYN from a global IPv6 is dropped",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip4, .check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 SYN from another MAC's EUI-64 link-local is dropped",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = GUEST2_6_EUI64 },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: NS from another MAC's EUI-64 link-local is dropped",
		.prog = TAP, .in = { NS_FOR_METADATA, .saddr = GUEST2_6_EUI64 },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		/* ...even sent from that other MAC: then the MAC is wrong. */
		.name = "guard: IPv6 SYN from another MAC and its EUI-64 is dropped (spoofed MAC)",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .saddr = GUEST2_6_EUI64,
			.eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: eight --ip: the IPv4 in the last slot goes to the proxy",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_full_table, .check = guest_learnt,
	},
	{
		.name = "guard: eight --ip: the IPv6 in the seventh slot goes to the proxy",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = GUEST6_GLOBAL_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
			.saddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_full_table, .check = global_guest6_learnt,
	},
	{
		.name = "guard: eight --ip: an IPv4 in none of them is dropped",
		.prog = TAP, .in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_full_table, .check = nothing_learnt,
	},
	{
		/* The family is compared, not only the first 4 bytes. */
		.name = "guard: IPv4 --ip 10.0.0.5 does not let a00:5:: through",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = LOOKALIKE6_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 --ip a00:5:: does not let 10.0.0.5 through",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_lookalike6, .check = nothing_learnt,
	},
	{
		.name = "guard: --mac only: SYN from any IPv4 goes to the proxy",
		.prog = TAP, .in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .saddr = OTHER_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_only, .check = any_guest_learnt,
	},
	{
		.name = "guard: --mac only: ARP from any IPv4 is answered",
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA, .arp_spa = OTHER_IP },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT,
			.arp_tpa = OTHER_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = guard_mac_only, .check = nothing_learnt,
	},
	{
		.name = "guard: --mac only: IPv6 SYN from any IPv6 goes to the proxy",
		.prog = TAP, .in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_mac_only, .check = any_guest6_learnt,
	},
	{
		.name = "guard: --mac only: NS from any IPv6 is answered",
		.prog = TAP, .in = { NS_FOR_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.setup = guard_mac_only, .check = nothing_learnt,
	},
	{
		.name = "guard: --mac only: SYN from another MAC is dropped",
		.prog = TAP, .in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = guard_mac_only, .check = nothing_learnt,
	},
	{
		.name = "guard: --ip only: SYN from any MAC goes to the proxy",
		.prog = TAP, .in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = guard_ip_only, .check = guest_learnt_as_guest2,
	},
	{
		.name = "guard: --ip only: ARP from any MAC is answered",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .eth_src = GUEST2_MAC,
			.arp_sha = GUEST2_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT,
			.eth_dst = GUEST2_MAC, .arp_tha = GUEST2_MAC },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = guard_ip_only, .check = nothing_learnt,
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
		.setup = guard_ip_only, .check = global_guest6_learnt_as_guest2,
	},
	{
		.name = "guard: --ip only: NS from any MAC is answered",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .saddr = GUEST6_GLOBAL_IP,
			.eth_src = GUEST2_MAC, .nd_ll_mac = GUEST2_MAC },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ NA_FROM_METADATA,
			.eth_dst = GUEST2_MAC, .daddr = GUEST6_GLOBAL_IP },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_NDP_REPLIED),
		.setup = guard_ip_only, .check = nothing_learnt,
	},
	{
		.name = "guard: --ip only: SYN from another IPv4 is dropped",
		.prog = TAP, .in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_ip_only, .check = nothing_learnt,
	},
	{
		/* No --mac, so no EUI-64 address to allow. */
		.name = "guard: --ip only: IPv6 SYN from an EUI-64 link-local is dropped",
		.prog = TAP, .in = { SYN6_TO_METADATA, .saddr = GUEST6_EUI64 },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = guard_ip_only, .check = nothing_learnt,
	},
	{
		.name = "guard: TCP to 10.0.0.1:80 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC, .saddr = OTHER_IP,
			.daddr = "10.0.0.1" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: TCP to 169.254.169.254:443 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC, .saddr = OTHER_IP,
			.dport = 443 },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: UDP to 169.254.169.254:80 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC, .saddr = OTHER_IP,
			.proto = IPPROTO_UDP, .payload = "metadata?" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: ARP who-has 10.0.0.1 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { ARP_WHO_HAS_METADATA, .eth_src = GUEST2_MAC,
			.arp_sha = GUEST2_MAC, .arp_spa = OTHER_IP,
			.arp_tpa = "10.0.0.1" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: IPv6 TCP to [fe80::2]:80 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .eth_src = GUEST2_MAC,
			.saddr = OTHER6_GLOBAL_IP, .daddr = "fe80::2" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: NS for fe80::2 from a spoofed MAC and IP is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .eth_src = GUEST2_MAC,
			.nd_ll_mac = GUEST2_MAC, .saddr = OTHER6_GLOBAL_IP,
			.nd_target = "fe80::2" },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		/* DAD: not a solicitation we answer, so not ours to police. */
		.name = "guard: DAD NS for fe80::a9fe:a9fe from a spoofed MAC is untouched",
		.prog = TAP,
		.in = { NS_FOR_METADATA, .eth_src = GUEST2_MAC, .saddr = "::",
			.nd_ll_opt = 0 },
		.verdict = TC_ACT_OK,
		.setup = guard_mac_ip, .check = nothing_learnt,
	},
	{
		.name = "guard: metadata SYN from a spoofed MAC on an unattached interface is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_OK,
		.setup = guard_unattached, .check = nothing_learnt,
	},

	/* -- mdr_tap_ingress: new connections per attachment (GCRA) -- */
	{
		.name = "rate: first SYN goes to the proxy and books now + interval",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_on, .check = guest_learnt_schedule_started,
	},
	{
		.name = "rate: third SYN in a row (burst of two intervals) goes to the proxy",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_two_syns, .check = guest_learnt_schedule_advanced,
	},
	{
		.name = "rate: fourth SYN in a row is dropped",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_spent, .check = guest_learnt_schedule_kept,
	},
	{
		/* A refused SYN books nothing, so refusals do not pile up. */
		.name = "rate: fifth SYN in a row is dropped too",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_spent_refused, .check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: burst 0: a second SYN within the interval is dropped",
		.prog = TAP, .in = { SYN_TO_METADATA },
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
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .tcp_flags = TCP_ACK },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent_refused, .check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: request with a body past the burst goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
			.tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n" },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent_refused, .check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: IPv6 request with a body past the burst goes to the proxy",
		.prog = TAP,
		.in = { SYN6_TO_METADATA, .tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /openstack/latest HTTP/1.1\r\n\r\n" },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN6_TO_SERVICE,
			.tcp_flags = TCP_PSH | TCP_ACK,
			.payload = "GET /openstack/latest HTTP/1.1\r\n\r\n" },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent6, .check = guest6_learnt_schedule_kept,
	},
	{
		.name = "rate: SYN-ACK from a guest past the burst goes to the proxy",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_SYN | TCP_ACK },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
			.tcp_flags = TCP_SYN | TCP_ACK },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent_refused, .check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: SYN-ACK from a guest books no new connection",
		.prog = TAP,
		.in = { SYN_TO_METADATA, .tcp_flags = TCP_SYN | TCP_ACK },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE,
			.tcp_flags = TCP_SYN | TCP_ACK },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_on, .check = guest_learnt_nothing_scheduled,
	},
	{
		.name = "rate: fourth IPv6 SYN in a row is dropped",
		.prog = TAP, .in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_spent6, .check = guest6_learnt_schedule_kept,
	},
	{
		/* One budget per attachment, whatever the family. */
		.name = "rate: IPv6 SYN after three IPv4 SYNs is dropped",
		.prog = TAP, .in = { SYN6_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SYN_RATE),
		.setup = rate_spent, .check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: interval 0: the twenty-first SYN in a row goes to the proxy",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = rate_off_many_syns,
		.check = guest_learnt_nothing_scheduled,
	},
	{
		.name = "rate: a second attachment's first SYN goes to the proxy on its own budget",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE, .daddr = SERVICE2_IP },
		COUNTS(TEST_ATTACH2_ID, MDR_PKT_TO_PROXY),
		.setup = rate_spent_then_attach2, .check = attach2_on_its_own,
	},
	{
		.name = "rate: a second attachment's fourth SYN in a row is dropped",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH2_ID, MDR_DROP_SYN_RATE),
		.setup = rate_both_spent, .check = both_learnt_schedule_kept,
	},
	{
		/* Spoofing is checked first: a spoofed SYN spends no budget. */
		.name = "rate: SYN from a spoofed MAC is dropped as spoofed and books nothing",
		.prog = TAP, .in = { SYN_TO_METADATA, .eth_src = GUEST2_MAC },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_MAC),
		.setup = rate_on_guarded, .check = learnt_nothing_scheduled,
	},
	{
		.name = "rate: SYN from a spoofed IP past the burst counts as spoofed",
		.prog = TAP, .in = { SYN_TO_METADATA, .saddr = OTHER_IP },
		.verdict = TC_ACT_SHOT,
		COUNTS(TEST_ATTACH_ID, MDR_DROP_SPOOF_IP),
		.setup = rate_spent_guarded, .check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: TCP SYN to 169.254.169.254:443 past the burst is untouched",
		.prog = TAP, .in = { SYN_TO_METADATA, .dport = 443 },
		.verdict = TC_ACT_OK,
		.setup = rate_spent, .check = guest_learnt_schedule_kept,
	},
	{
		.name = "rate: ARP past the burst is answered",
		.prog = TAP, .in = { ARP_WHO_HAS_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ ARP_METADATA_IS_AT },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_ARP_REPLIED),
		.setup = rate_spent, .check = guest_learnt_schedule_kept,
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
	{
		/* Only replies: the guest's own packets keep their TTL. */
		.name = "ttl: reply_ttl 1: a guest's SYN keeps its TTL on the way in",
		.prog = TAP, .in = { SYN_TO_METADATA },
		.verdict = TC_ACT_REDIRECT,
		.out = &(struct pkt_spec){ SYN_TO_SERVICE },
		COUNTS(TEST_ATTACH_ID, MDR_PKT_TO_PROXY),
		.setup = ttl1, .check = guest_learnt,
	},
	{
		.name = "ttl: reply_ttl 1: proxy egress redirects a reply unchanged",
		.prog = PROXY, .in = { REPLY_FROM_SERVICE },
		.verdict = TC_ACT_REDIRECT,
		.setup = ttl1,
	},
};

/*
 * The IPv6 half of the harness check, after the base packets it uses: the
 * solicited-node group is computed right, the expected answer is the
 * 86-byte frame, and the checker sees the pseudo-header (an address
 * flipped) as well as the body. 0x4586 is what tcpdump -vv reports as the
 * correct ICMPv6 checksum of this solicitation.
 */
/* Whether @text is fe80::/64 with the modified EUI-64 of @mac. */
static bool eui64_is(const uint8_t *mac, const char *text)
{
	uint8_t want[16] = { 0xfe, 0x80 }, got[16];

	want[8] = mac[0] ^ 0x02;
	memcpy(want + 9, mac + 1, 2);
	want[11] = 0xff;
	want[12] = 0xfe;
	memcpy(want + 13, mac + 3, 3);
	put_addr(got, AF_INET6, text);
	return memcmp(want, got, 16) == 0;
}

static bool harness_ipv6_self_test(char *why, size_t n)
{
	static const uint8_t group_mac[6] = { 0x33, 0x33, 0xff, 0xfe, 0xa9, 0xfe };
	const struct pkt_spec ns = { NS_FOR_METADATA }, na = { NA_FROM_METADATA };
	const struct pkt_spec syn = { SYN6_TO_METADATA, .payload = "odd" };
	const size_t icmp_off = ETH_HDR_LEN + IP6_HDR_LEN;
	uint8_t group[16];
	char ignored[128];
	struct pkt p;

	put_addr(group, AF_INET6, "ff02::1:fffe:a9fe");
	build(&ns, &p);
	if (memcmp(p.b + ETH_HDR_LEN + 24, group, 16) ||
	    memcmp(p.b, group_mac, 6)) {
		snprintf(why, n, "NS not sent to ff02::1:fffe:a9fe / 33:33:ff:fe:a9:fe");
		return false;
	}
	if (get16(p.b + icmp_off + 2) != 0x4586) {
		snprintf(why, n, "NS checksum %#06x, expected 0x4586",
			 get16(p.b + icmp_off + 2));
		return false;
	}
	if (!csums_ok(p.b, p.len, why, n))
		return false;
	p.b[icmp_off + ND_HDR_LEN] ^= 0x01;	/* the target */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n, "a corrupted ICMPv6 body passed the checker");
		return false;
	}
	build(&na, &p);
	if (p.len != NA_LEN || NA_LEN != 86) {
		snprintf(why, n, "the expected NA is %zu bytes, not 86", p.len);
		return false;
	}
	build(&syn, &p);
	if (!csums_ok(p.b, p.len, why, n))
		return false;
	p.b[ETH_HDR_LEN + 8 + 15] ^= 0x01;	/* source: pseudo-header only */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n, "a corrupted IPv6 source passed the TCP checker");
		return false;
	}
	p.b[ETH_HDR_LEN + 8 + 15] ^= 0x01;
	p.b[p.len - 1] ^= 0x01;			/* last payload byte */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n, "a corrupted IPv6 TCP payload passed the checker");
		return false;
	}
	if (!eui64_is(GUEST_MAC, GUEST6_EUI64) ||
	    !eui64_is(GUEST2_MAC, GUEST2_6_EUI64)) {
		snprintf(why, n, "an EUI-64 literal does not match its MAC");
		return false;
	}
	return true;
}

#pragma GCC diagnostic pop

/* ---- The runner ---- */

static struct bpf_program *prog_of(enum prog_id id)
{
	switch (id) {
	case TAP:
		return skel->progs.mdr_tap_ingress;
	case LINK:
		return skel->progs.mdr_link_ingress;
	case PROXY:
		return skel->progs.mdr_proxy_egress;
	}
	return NULL;
}

/* The first differing byte, for a failure message that points at it. */
static void describe_diff(const struct pkt *want, const uint8_t *got,
			  size_t got_len, char *why, size_t n)
{
	size_t i;

	if (got_len != want->len) {
		snprintf(why, n, "output is %zu bytes, expected %zu",
			 got_len, want->len);
		return;
	}
	for (i = 0; i < got_len && got[i] == want->b[i]; i++)
		;
	snprintf(why, n, "output byte %zu is %#04x, expected %#04x", i,
		 got[i], want->b[i]);
}

static const char *const counter_names[MDR_PKT_COUNTER_MAX] = {
	[MDR_PKT_ARP_REPLIED] = "MDR_PKT_ARP_REPLIED",
	[MDR_PKT_NDP_REPLIED] = "MDR_PKT_NDP_REPLIED",
	[MDR_PKT_TO_PROXY] = "MDR_PKT_TO_PROXY",
	[MDR_PKT_TO_GUEST] = "MDR_PKT_TO_GUEST",
	[MDR_DROP_NO_NEIGH] = "MDR_DROP_NO_NEIGH",
	[MDR_DROP_NO_ATTACH] = "MDR_DROP_NO_ATTACH",
	[MDR_DROP_REWRITE] = "MDR_DROP_REWRITE",
	[MDR_DROP_NOT_OURS] = "MDR_DROP_NOT_OURS",
	[MDR_DROP_SPOOF_MAC] = "MDR_DROP_SPOOF_MAC",
	[MDR_DROP_SPOOF_IP] = "MDR_DROP_SPOOF_IP",
	[MDR_DROP_SYN_RATE] = "MDR_DROP_SYN_RATE",
};

static bool counters_ok(const struct fixture *f,
			__u64 before[N_CHECKED_IDS][MDR_PKT_COUNTER_MAX],
			char *why, size_t n)
{
	__u64 after[MDR_PKT_COUNTER_MAX];

	for (__u32 id = 0; id < N_CHECKED_IDS; id++) {
		if (read_counters(id, after)) {
			snprintf(why, n, "cannot read mdr_pkt_stats[%u]", id);
			return false;
		}
		for (int c = 0; c < MDR_PKT_COUNTER_MAX; c++) {
			__u64 want = before[id][c] +
				(f->counted && f->count_id == id &&
				 f->counter == c);

			if (after[c] != want) {
				snprintf(why, n,
					 "%s of id %u moved by %lld, expected %lld",
					 counter_names[c], id,
					 (long long)(after[c] - before[id][c]),
					 (long long)(want - before[id][c]));
				return false;
			}
		}
	}
	return true;
}

static bool run_fixture(const struct fixture *f, char *why, size_t n)
{
	__u64 before[N_CHECKED_IDS][MDR_PKT_COUNTER_MAX];
	struct __sk_buff ctx = { .ifindex = lo_ifindex };
	struct __sk_buff ctx_out = {};
	uint8_t out[PKT_MAX + 64];
	struct pkt in, want;
	int err;

	build(&f->in, &in);
	build(f->out ? f->out : &f->in, &want);

	err = reset_state();
	if (!err && f->setup)
		err = f->setup();
	if (err) {
		snprintf(why, n, "cannot set up the maps: %s", strerror(-err));
		return false;
	}
	for (__u32 id = 0; id < N_CHECKED_IDS; id++)
		if (read_counters(id, before[id])) {
			snprintf(why, n, "cannot read mdr_pkt_stats[%u]", id);
			return false;
		}

	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in.b, .data_size_in = (__u32)in.len,
		.data_out = out, .data_size_out = sizeof(out),
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out),
		.repeat = 1);
	err = bpf_prog_test_run_opts(bpf_program__fd(prog_of(f->prog)), &opts);
	if (err) {
		snprintf(why, n, "bpf_prog_test_run_opts: %s", strerror(errno));
		return false;
	}
	/* Every attachment check keys on skb->ifindex: be sure what it was. */
	if (ctx_out.ifindex != lo_ifindex) {
		snprintf(why, n, "ran with skb->ifindex %u, expected %u",
			 ctx_out.ifindex, lo_ifindex);
		return false;
	}
	if ((int)opts.retval != f->verdict) {
		snprintf(why, n, "verdict %d, expected %d", (int)opts.retval,
			 f->verdict);
		return false;
	}
	if (opts.data_size_out != want.len ||
	    memcmp(out, want.b, want.len)) {
		describe_diff(&want, out, opts.data_size_out, why, n);
		return false;
	}
	if (!csums_ok(out, opts.data_size_out, why, n))
		return false;
	if (!counters_ok(f, before, why, n))
		return false;
	return !f->check || f->check(why, n);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Setup failures still end in the summary line scripts look for. */
static int setup_failed(const char *what, int err)
{
	printf("not ok - setup: %s: %s\n", what, strerror(err));
	printf("0 passed, 1 failed\n");
	return 1;
}

int main(void)
{
	size_t n_fix = sizeof(fixtures) / sizeof(fixtures[0]);
	int passed = 0, failed = 0, err;
	char why[256];

	libbpf_set_print(libbpf_print);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* test_run's skb lives on this namespace's loopback device. */
	lo_ifindex = if_nametoindex("lo");
	if (!lo_ifindex)
		return setup_failed("no loopback device", errno);
	err = mdr_netns_cookie(&test_netns);
	if (err)
		return setup_failed("reading this namespace's cookie", -err);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return setup_failed("counting CPUs", -ncpus);

	skel = mdredir_bpf__open();
	if (!skel)
		return setup_failed("opening the BPF skeleton", errno);
	err = mdredir_bpf__load(skel);
	if (err) {
		mdredir_bpf__destroy(skel);
		return setup_failed("loading the BPF programs (as root?)", -err);
	}

	why[0] = '\0';
	if (harness_self_test(why, sizeof(why))) {
		printf("ok - harness: checksum checker catches corruption\n");
		passed++;
	} else {
		printf("not ok - harness: checksum checker: %s\n", why);
		failed++;
	}
	why[0] = '\0';
	if (harness_ipv6_self_test(why, sizeof(why))) {
		printf("ok - harness: IPv6 builder and checksum checker\n");
		passed++;
	} else {
		printf("not ok - harness: IPv6: %s\n", why);
		failed++;
	}

	for (size_t i = 0; i < n_fix; i++) {
		why[0] = '\0';
		if (run_fixture(&fixtures[i], why, sizeof(why))) {
			printf("ok - %s\n", fixtures[i].name);
			passed++;
		} else {
			printf("not ok - %s: %s\n", fixtures[i].name, why);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	mdredir_bpf__destroy(skel);
	return failed ? 1 : 0;
}
