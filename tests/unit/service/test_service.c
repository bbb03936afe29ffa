// SPDX-License-Identifier: GPL-2.0-only
/*
 * The service-address codec (include/service_addr.h) that attach, the
 * daemon and the BPF programs share: every id attach hands out decodes
 * back to itself, in both families, and nothing outside the pool decodes
 * to an attachment (prefix, pool base, ids past MDR_MAX_ATTACH).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mdredir.h"
#include "service_addr.h"

static struct mdr_config pool(const char *addr4, unsigned prefix4,
			      const char *addr6, unsigned prefix6)
{
	struct mdr_config cfg = { .pool_prefix = prefix4,
				  .pool6_prefix = prefix6 };

	if (inet_pton(AF_INET, addr4, &cfg.pool_addr) != 1 ||
	    inet_pton(AF_INET6, addr6, cfg.pool6_addr) != 1) {
		fprintf(stderr, "test bug: bad pool %s %s\n", addr4, addr6);
		exit(2);
	}
	return cfg;
}

/* The default pools: 100.100.0.0/16 and fd6d:6472:6972::/64. */
static struct mdr_config default_pools(void)
{
	return pool("100.100.0.0", 16, "fd6d:6472:6972::", 64);
}

static __be32 ip4(const char *text)
{
	__be32 a;

	if (inet_pton(AF_INET, text, &a) != 1) {
		fprintf(stderr, "test bug: bad address %s\n", text);
		exit(2);
	}
	return a;
}

static uint32_t id6(const struct mdr_config *cfg, const char *text)
{
	uint8_t a[16];

	if (inet_pton(AF_INET6, text, a) != 1) {
		fprintf(stderr, "test bug: bad address %s\n", text);
		exit(2);
	}
	return mdr_service_id6(cfg, a);
}

static const char *str4(__be32 a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static const char *str6(const uint8_t *a, char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static void test_encode(void)
{
	struct mdr_config cfg = default_pools();
	char buf[INET6_ADDRSTRLEN];
	uint8_t a6[16];

	CHECK_STR(str4(mdr_service_addr4(&cfg, 1), buf), "100.100.0.1");
	/* Carries into the next byte: the sum is in host order. */
	CHECK_STR(str4(mdr_service_addr4(&cfg, 300), buf), "100.100.1.44");
	CHECK_STR(str4(mdr_service_addr4(&cfg, MDR_MAX_ATTACH), buf),
		  "100.100.16.0");
	/* What attach wrote before the codec: htonl(ntohl(pool) + id). */
	CHECK_INT(mdr_service_addr4(&cfg, 4000),
		  htonl(ntohl(cfg.pool_addr) + 4000));

	mdr_service_addr6(&cfg, 1, a6);
	CHECK_STR(str6(a6, buf), "fd6d:6472:6972::1");
	mdr_service_addr6(&cfg, MDR_MAX_ATTACH, a6);
	CHECK_STR(str6(a6, buf), "fd6d:6472:6972::1000");
	/* The id fills the low 32 bits, most significant byte first. */
	mdr_service_addr6(&cfg, 0x01020304, a6);
	CHECK_STR(str6(a6, buf), "fd6d:6472:6972::102:304");
	/* Bits 64..95 of the pool are kept, whatever they are. */
	cfg = pool("100.100.0.0", 16, "fd6d:6472:6972:0:aa:bb::", 64);
	mdr_service_addr6(&cfg, 7, a6);
	CHECK_STR(str6(a6, buf), "fd6d:6472:6972:0:aa:bb:0:7");
}

/* Every id attach can hand out comes back from its address. */
static void test_round_trip(void)
{
	struct mdr_config cfg = default_pools();
	uint32_t bad4 = 0, bad6 = 0;
	uint8_t a6[16];

	for (uint32_t id = 1; id <= MDR_MAX_ATTACH; id++) {
		if (mdr_service_id4(&cfg, mdr_service_addr4(&cfg, id)) != id)
			bad4++;
		mdr_service_addr6(&cfg, id, a6);
		if (mdr_service_id6(&cfg, a6) != id)
			bad6++;
	}
	CHECK_INT(bad4, 0);
	CHECK_INT(bad6, 0);

	/* A /24 pool not at a round address, and the smallest, a /30. */
	cfg = pool("10.9.8.0", 24, "fd00:1:2:3::", 64);
	CHECK_INT(mdr_service_id4(&cfg, mdr_service_addr4(&cfg, 254)), 254);
	cfg = pool("192.0.2.4", 30, "fd00::", 96);
	CHECK_INT(mdr_service_id4(&cfg, mdr_service_addr4(&cfg, 1)), 1);
	CHECK_INT(mdr_service_id4(&cfg, mdr_service_addr4(&cfg, 2)), 2);
	mdr_service_addr6(&cfg, 2, a6);
	CHECK_INT(mdr_service_id6(&cfg, a6), 2);
}

static void test_decode4_edges(void)
{
	struct mdr_config cfg = default_pools();

	/* The pool base is nobody's; the ids run 1..MDR_MAX_ATTACH. */
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.0.0")), 0);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.0.1")), 1);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.16.0")), MDR_MAX_ATTACH);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.16.1")), 0);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.255.255")), 0);
	/* Outside the pool, on either side of it. */
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.99.255.255")), 0);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.101.0.1")), 0);
	CHECK_INT(mdr_service_id4(&cfg, ip4("10.0.0.5")), 0);
	CHECK_INT(mdr_service_id4(&cfg, ip4("169.254.169.254")), 0);

	/*
	 * The prefix counts, not just the distance from the base: in a /24,
	 * base + 261 is within MDR_MAX_ATTACH but outside the pool (the
	 * daemon's own decoder used to take it for attachment 261).
	 */
	cfg = pool("100.100.0.0", 24, "fd6d:6472:6972::", 64);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.0.254")), 254);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.1.5")), 0);
	/* Below a base that is not at the start of its /24. */
	cfg = pool("10.1.2.16", 28, "fd6d:6472:6972::", 64);
	CHECK_INT(mdr_service_id4(&cfg, ip4("10.1.2.17")), 1);
	CHECK_INT(mdr_service_id4(&cfg, ip4("10.1.2.15")), 0);
	CHECK_INT(mdr_service_id4(&cfg, ip4("10.1.2.32")), 0);

	/* A pool with no room for an attachment decodes nothing. */
	cfg = pool("100.100.0.0", 0, "fd6d:6472:6972::", 64);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.0.1")), 0);
	cfg = pool("100.100.0.0", 31, "fd6d:6472:6972::", 64);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.0.1")), 0);
	cfg = pool("100.100.0.0", 32, "fd6d:6472:6972::", 64);
	CHECK_INT(mdr_service_id4(&cfg, ip4("100.100.0.1")), 0);
}

static void test_decode6_edges(void)
{
	struct mdr_config cfg = default_pools();

	CHECK_INT(id6(&cfg, "fd6d:6472:6972::"), 0);
	CHECK_INT(id6(&cfg, "fd6d:6472:6972::1"), 1);
	CHECK_INT(id6(&cfg, "fd6d:6472:6972::1000"), MDR_MAX_ATTACH);
	CHECK_INT(id6(&cfg, "fd6d:6472:6972::1001"), 0);
	CHECK_INT(id6(&cfg, "fd6d:6472:6972::1:1"), 0);
	CHECK_INT(id6(&cfg, "fd6d:6472:6972::ffff:ffff"), 0);
	/* The first 96 bits must be the pool's, to the last bit. */
	CHECK_INT(id6(&cfg, "fd6d:6472:6972:0:0:1::1"), 0);
	CHECK_INT(id6(&cfg, "fd6d:6472:6973::1"), 0);
	CHECK_INT(id6(&cfg, "fe80::a9fe:a9fe"), 0);
	CHECK_INT(id6(&cfg, "::ffff:100.100.0.1"), 0);
	/* No IPv6 pool configured: nothing is in it. */
	cfg = pool("100.100.0.0", 16, "::", 0);
	CHECK_INT(id6(&cfg, "::1"), 0);
}

int main(void)
{
	test_encode();
	test_round_trip();
	test_decode4_edges();
	test_decode6_edges();
	return check_summary();
}
