// SPDX-License-Identifier: GPL-2.0-only
/*
 * The checker is tested before anything it checks: a passing run means
 * nothing if it would accept anything.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "frames.h"
#include "pkt.h"

bool harness_self_test(char *why, size_t n);
bool harness_ipv6_self_test(char *why, size_t n);

#pragma GCC diagnostic ignored "-Woverride-init"

/*
 * The checker itself is tested first: a passing run means nothing if it
 * would accept anything. A header with a well-known checksum (0xb861),
 * then a built packet with one bit flipped in each checksummed part.
 */
bool harness_self_test(char *why, size_t n)
{
	static const uint8_t known_ip[IP4_HDR_LEN] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};
	struct pkt_spec spec = {
		.eth_dst = GW_MAC,
		.eth_src = GUEST_MAC,
		.ethertype = ETH_P_IP,
		.saddr = "10.0.0.5",
		.daddr = "169.254.169.254",
		.proto = IPPROTO_TCP,
		.sport = 40000,
		.dport = 80,
		.tcp_flags = TCP_SYN,
		.payload = "odd",
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
	p.b[p.len - 1] ^= 0x01; /* last payload byte: TCP only */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n, "a corrupted TCP payload passed the checker");
		return false;
	}
	p.b[p.len - 1] ^= 0x01;
	p.b[ETH_HDR_LEN + 8] ^= 0x01; /* TTL: IP header only */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n, "a corrupted IPv4 header passed the checker");
		return false;
	}
	return true;
}

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
	uint8_t want[16], got[16];

	eui64_link_local(mac, want);
	put_addr(got, AF_INET6, text);
	return memcmp(want, got, 16) == 0;
}

bool harness_ipv6_self_test(char *why, size_t n)
{
	static const uint8_t group_mac[6] = {
		0x33, 0x33, 0xff, 0xfe, 0xa9, 0xfe
	};
	const struct pkt_spec ns = { NS_FOR_METADATA },
			      na = { NA_FROM_METADATA };
	const struct pkt_spec syn = { SYN6_TO_METADATA, .payload = "odd" };
	const size_t icmp_off = ETH_HDR_LEN + IP6_HDR_LEN;
	uint8_t group[16];
	char ignored[128];
	struct pkt p;

	put_addr(group, AF_INET6, "ff02::1:fffe:a9fe");
	build(&ns, &p);
	if (memcmp(p.b + ETH_HDR_LEN + 24, group, 16) ||
	    memcmp(p.b, group_mac, 6)) {
		snprintf(
			why, n,
			"NS not sent to ff02::1:fffe:a9fe / 33:33:ff:fe:a9:fe");
		return false;
	}
	if (get16(p.b + icmp_off + 2) != 0x4586) {
		snprintf(why, n, "NS checksum %#06x, expected 0x4586",
			 get16(p.b + icmp_off + 2));
		return false;
	}
	if (!csums_ok(p.b, p.len, why, n))
		return false;
	p.b[icmp_off + ND_HDR_LEN] ^= 0x01; /* the target */
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
	p.b[ETH_HDR_LEN + 8 + 15] ^= 0x01; /* source: pseudo-header only */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n,
			 "a corrupted IPv6 source passed the TCP checker");
		return false;
	}
	p.b[ETH_HDR_LEN + 8 + 15] ^= 0x01;
	p.b[p.len - 1] ^= 0x01; /* last payload byte */
	if (csums_ok(p.b, p.len, ignored, sizeof(ignored))) {
		snprintf(why, n,
			 "a corrupted IPv6 TCP payload passed the checker");
		return false;
	}
	if (!eui64_is(GUEST_MAC, GUEST6_EUI64) ||
	    !eui64_is(GUEST2_MAC, GUEST2_6_EUI64)) {
		snprintf(why, n, "an EUI-64 literal does not match its MAC");
		return false;
	}
	return true;
}
