// SPDX-License-Identifier: GPL-2.0-only
/* The packet builder and the checksum checker (see pkt.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include "pkt.h"

static const uint8_t ZERO_MAC[6];

/* ---- Checksums: RFC 1071, computed from scratch every time. ---- */

uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t pseudo_sum(const uint8_t *saddr, const uint8_t *daddr, size_t alen,
		    uint8_t proto, size_t len)
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

uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- The packet builder ---- */

void put_addr(uint8_t *p, int family, const char *text)
{
	if (inet_pton(family, text, p) != 1) {
		fprintf(stderr, "fixture bug: bad address %s\n", text);
		exit(2);
	}
}

void eui64_link_local(const uint8_t *mac, uint8_t addr[16])
{
	memset(addr, 0, 16);
	addr[0] = 0xfe;
	addr[1] = 0x80;
	addr[8] = mac[0] ^ 0x02; /* the universal/local bit, inverted */
	memcpy(addr + 9, mac + 1, 2);
	addr[11] = 0xff;
	addr[12] = 0xfe;
	memcpy(addr + 13, mac + 3, 3);
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
	size_t text = s->payload ? strlen(s->payload) : 0;
	size_t plen = text + s->fill;
	size_t hlen, len;
	uint32_t sum;

	switch (s->proto) {
	case IPPROTO_TCP:
		hlen = TCP_HDR_LEN;
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		memcpy(l4 + 4, "\x6d\x64\x00\x01", 4); /* seq */
		if (s->tcp_flags & TCP_ACK)
			memcpy(l4 + 8, "\x00\x00\x10\x01", 4); /* ack */
		l4[12] = (TCP_HDR_LEN / 4) << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 64240); /* window */
		break;
	case IPPROTO_UDP:
		hlen = UDP_HDR_LEN;
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)(hlen + plen));
		break;
	case IPPROTO_ICMP:
		hlen = ICMP_HDR_LEN;
		l4[0] = 8;	       /* echo */
		put16(l4 + 4, 0x6d64); /* id */
		put16(l4 + 6, 1);      /* seq */
		break;
	case IPPROTO_ICMPV6: hlen = build_nd(s, l4); break;
	default: return 0;
	}
	memcpy(l4 + hlen, s->payload ? s->payload : "", text);
	memset(l4 + hlen + text, 'x', s->fill);
	len = hlen + plen;

	/* ICMPv4 has no pseudo-header; TCP, UDP and ICMPv6 do. */
	sum = s->proto == IPPROTO_ICMP
		      ? 0
		      : pseudo_sum(saddr, daddr, alen, s->proto, len);
	put16(l4 + l4_csum_offset(s->proto), csum_fold(csum_add(sum, l4, len)));
	return len;
}

static size_t build_arp(const struct pkt_spec *s, uint8_t *arp)
{
	put16(arp, 1); /* Ethernet */
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
	put16(ip + 4, 0x1234); /* id */
	put16(ip + 6, s->frag);
	ip[8] = s->hop_limit ? s->hop_limit : 64; /* ttl */
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

void build(const struct pkt_spec *s, struct pkt *p)
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
	case ETH_P_ARP: len += build_arp(s, l3); break;
	case ETH_P_IP: len += build_ip4(s, l3); break;
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
	if (csum_fold(csum_add(pseudo_sum(ip6 + 8, ip6 + 24, 16, nh, l4len), l4,
			       l4len)) != 0) {
		snprintf(why, n, "bad %s checksum %#06x",
			 nh == IPPROTO_TCP   ? "TCP"
			 : nh == IPPROTO_UDP ? "UDP"
					     : "ICMPv6",
			 get16(l4 + l4_csum_offset(nh)));
		return false;
	}
	return true;
}

bool csums_ok(const uint8_t *b, size_t len, char *why, size_t n)
{
	if (len < ETH_HDR_LEN)
		return true;
	switch (get16(b + 12)) {
	case ETH_P_IP: return csums4_ok(b, len, why, n);
	case ETH_P_IPV6: return csums6_ok(b, len, why, n);
	}
	return true;
}
