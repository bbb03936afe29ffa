/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The proxy's admission control with a fake clock: the per-guest rate
 * limiter and the connection caps (user/proxy/admission.c).
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "proxy/admission.h"
#include "http_tests.h"

static struct in6_addr guest4(unsigned int n)
{
	struct in6_addr a = { 0 };

	a.s6_addr[10] = a.s6_addr[11] = 0xff;
	a.s6_addr[12] = 10;
	a.s6_addr[14] = n >> 8;
	a.s6_addr[15] = n & 0xff;
	return a;
}

static struct in6_addr guest6(unsigned int n)
{
	struct in6_addr a = { .s6_addr = { 0xfe, 0x80 } };

	a.s6_addr[15] = n;
	return a;
}

static const struct mdr_rate_config rate_cfg = {
	.enabled = true,
	.ip_versions = MDR_RATE_IPV4,
	.base_window_ms = 10000,
	.base_limit = 3,
	.burst_window_ms = 1000,
	.burst_limit = 100,
};

void test_rate_base_window(void)
{
	struct mdr_rate_limiter rl;
	struct in6_addr g = guest4(5), other = guest4(6);

	CHECK_INT(mdr_rate_init(&rl, &rate_cfg), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(mdr_rate_check(&rl, 1, &g, 1000 + i), 0);
	/* The fourth in the window is over; refused ones count too. */
	CHECK(mdr_rate_check(&rl, 1, &g, 1003) >= 1);
	/* Same address behind another attachment, another address: other
	 * guests, untouched. */
	CHECK_INT(mdr_rate_check(&rl, 2, &g, 1004), 0);
	CHECK_INT(mdr_rate_check(&rl, 1, &other, 1005), 0);
	/* Half way into the next window the previous four weigh two. */
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 16000), 0);
	CHECK(mdr_rate_check(&rl, 1, &g, 16001) >= 1);
	/* Two windows later nothing is left. */
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 40000), 0);
	mdr_rate_free(&rl);
}

void test_rate_burst_window(void)
{
	struct mdr_rate_config cfg = rate_cfg;
	struct mdr_rate_limiter rl;
	struct in6_addr g = guest4(5);

	cfg.base_limit = 1000;
	cfg.burst_limit = 2;
	CHECK_INT(mdr_rate_init(&rl, &cfg), 0);
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 0), 0);
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 10), 0);
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 20), 2);
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 3000), 0);
	mdr_rate_free(&rl);
}

/* Replays n requests of a pseudo-random sequence (gaps of 0-1.5 s), then
 * one at time at; returns the last answer and the time of the n-th. */
static unsigned int replay(const struct mdr_rate_config *cfg, unsigned int seed,
			   unsigned int n, uint64_t at, uint64_t *last)
{
	struct mdr_rate_limiter rl;
	struct in6_addr g = guest4(1);
	unsigned int x = seed, ret = 0;
	uint64_t t = 1000;

	mdr_rate_init(&rl, cfg);
	for (unsigned int i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		t += (x >> 8) % 1500;
		ret = mdr_rate_check(&rl, 1, &g, t);
	}
	*last = t;
	if (at)
		ret = mdr_rate_check(&rl, 1, &g, at);
	mdr_rate_free(&rl);
	return ret;
}

/* Retry-After is a promise: a guest that waits that long is served. And it
 * is no wild overestimate: at most two of the longest windows. */
void test_rate_retry_after(void)
{
	struct mdr_rate_config cfg = rate_cfg;
	unsigned int broken = 0, refusals = 0;
	uint64_t last;

	cfg.burst_window_ms = 3000;
	cfg.burst_limit = 2;
	for (unsigned int seed = 1; seed <= 300; seed++) {
		for (unsigned int n = 1; n <= 12; n++) {
			unsigned int wait = replay(&cfg, seed, n, 0, &last);

			if (!wait)
				continue;
			refusals++;
			broken += wait > 2 * 10 + 1;
			broken += !!replay(&cfg, seed, n, last + wait * 1000ULL,
					   &last);
		}
	}
	CHECK(refusals > 300);
	CHECK_INT(broken, 0);
}

void test_rate_versions_and_disabled(void)
{
	struct mdr_rate_config cfg = rate_cfg;
	struct mdr_rate_limiter rl;
	struct in6_addr g6 = guest6(9), g4 = guest4(9);
	unsigned int refused = 0;

	CHECK_INT(mdr_rate_init(&rl, &cfg), 0);
	for (int i = 0; i < 20; i++)
		refused += !!mdr_rate_check(&rl, 1, &g6, i);
	CHECK_INT(refused, 0); /* IPv6 guests are not limited here */
	CHECK_INT(mdr_rate_tracked(&rl), 0);
	mdr_rate_free(&rl);

	cfg.ip_versions = MDR_RATE_IPV6;
	mdr_rate_init(&rl, &cfg);
	for (int i = 0; i < 20; i++)
		refused += !!mdr_rate_check(&rl, 1, &g6, i);
	CHECK_INT(refused, 17);
	mdr_rate_free(&rl);

	cfg.enabled = false;
	refused = 0;
	CHECK_INT(mdr_rate_init(&rl, &cfg), 0);
	for (int i = 0; i < 20; i++)
		refused += !!mdr_rate_check(&rl, 1, &g4, i);
	CHECK_INT(refused, 0);
	mdr_rate_free(&rl);

	cfg.enabled = true;
	cfg.base_limit = 0;
	CHECK_INT(mdr_rate_init(&rl, &cfg), -EINVAL);
}

/* Memory is fixed: past max_guests the least recently seen is forgotten,
 * and idle guests are given back as time passes. */
void test_rate_bounded(void)
{
	struct mdr_rate_config cfg = rate_cfg;
	struct mdr_rate_limiter rl;
	struct in6_addr g0 = guest4(0);
	unsigned int over = 0;

	cfg.max_guests = 4;
	CHECK_INT(mdr_rate_init(&rl, &cfg), 0);
	for (int i = 0; i < 4; i++)
		mdr_rate_check(&rl, 1, &g0, i);
	CHECK(mdr_rate_check(&rl, 1, &g0, 5) >= 1);
	for (unsigned int n = 1; n <= 1000; n++) {
		struct in6_addr g = guest4(n);

		mdr_rate_check(&rl, 1, &g, 10 + n);
		over += mdr_rate_tracked(&rl) > 4;
	}
	CHECK_INT(over, 0);
	CHECK_INT(mdr_rate_tracked(&rl), 4);
	/* g0 was forgotten: it starts afresh. */
	CHECK_INT(mdr_rate_check(&rl, 1, &g0, 2000), 0);
	/* Idle for two windows: given back, a couple per check. */
	for (unsigned int n = 0; n < 3; n++) {
		struct in6_addr g = guest4(5000 + n);

		mdr_rate_check(&rl, 1, &g, 100000 + n);
	}
	CHECK_INT(mdr_rate_tracked(&rl), 3);
	mdr_rate_free(&rl);
}

void test_conn_caps(void)
{
	struct mdr_conn_caps caps;

	CHECK_INT(mdr_caps_init(&caps, 4, 2), 0);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_ATTACH_FULL);
	CHECK_INT(mdr_caps_admit(&caps, true, 2), MDR_ADMIT_OK);
	/* Without an attachment: one shared slot, capped like one. */
	CHECK_INT(mdr_caps_admit(&caps, false, 1), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 3), MDR_ADMIT_FULL);
	CHECK_INT(caps.total, 4);
	mdr_caps_release(&caps, true, 1);
	CHECK_INT(mdr_caps_admit(&caps, true, 3), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_FULL);
	mdr_caps_release(&caps, false, 77);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_FULL);
	/* An id beyond the map's range cannot escape the cap. */
	mdr_caps_release(&caps, true, 3);
	CHECK_INT(mdr_caps_admit(&caps, true, 1u << 30), MDR_ADMIT_OK);
	mdr_caps_release(&caps, true, 1u << 30);
	CHECK_INT(caps.total, 3);
	mdr_caps_free(&caps);
}
