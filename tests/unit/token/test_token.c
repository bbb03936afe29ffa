// SPDX-License-Identifier: GPL-2.0-only
/*
 * IMDS session tokens on their own: a token is good for the guest it was
 * made for, until its expiry, under the key it was made with, and for
 * nothing else; its TTL header is read as AWS reads it. And the key file:
 * made once, found again, replaced when it is not ours.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "check.h"
#include "daemon/token_key.h"
#include "lib/log.h"
#include "proxy/token.h"

#define NOW 1000000

static const struct mdr_token_key key = { { 1, 2, 3, 4, 5 } };

static struct mdr_identity guest(unsigned int attach, const char *instance,
				 const char *network)
{
	struct mdr_identity g = { .attach_id = attach };

	snprintf(g.instance_id, sizeof(g.instance_id), "%s", instance);
	snprintf(g.network_id, sizeof(g.network_id), "%s", network);
	return g;
}

static struct in6_addr addr(const char *ip)
{
	struct in6_addr a = {};

	if (inet_pton(AF_INET6, ip, &a) != 1) {
		struct in_addr v4;

		inet_pton(AF_INET, ip, &v4);
		a.s6_addr[10] = a.s6_addr[11] = 0xff;
		memcpy(&a.s6_addr[12], &v4, 4);
	}
	return a;
}

static enum mdr_token_verdict check(const struct mdr_token_key *k,
				    const struct mdr_identity *id,
				    const char *ip, const char *t, uint64_t now)
{
	struct in6_addr a = addr(ip);

	return mdr_token_verify(k, id, &a, t, strlen(t), now);
}

static void test_round_trip(void)
{
	struct mdr_identity g = guest(7, "inst-a", "net-1");
	struct in6_addr a = addr("10.0.0.5");
	char t[MDR_TOKEN_LEN + 1], t2[MDR_TOKEN_LEN + 1];

	CHECK_INT(mdr_token_mint(&key, &g, &a, 21600, NOW, t), 0);
	CHECK_INT(strlen(t), MDR_TOKEN_LEN);
	/* URL-safe: a header value and a path segment as it is. */
	CHECK_INT(strspn(t,
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_"),
		  MDR_TOKEN_LEN);
	CHECK_INT(check(&key, &g, "10.0.0.5", t, NOW), MDR_TOKEN_VALID);
	CHECK_INT(check(&key, &g, "10.0.0.5", t, NOW + 21599999),
		  MDR_TOKEN_VALID);
	/* Another moment, another token; both good. */
	CHECK_INT(mdr_token_mint(&key, &g, &a, 21600, NOW + 1, t2), 0);
	CHECK(strcmp(t, t2));
	CHECK_INT(check(&key, &g, "10.0.0.5", t2, NOW), MDR_TOKEN_VALID);
	/* IPv6 guests too. */
	a = addr("fd00::5");
	CHECK_INT(mdr_token_mint(&key, &g, &a, 60, NOW, t), 0);
	CHECK_INT(check(&key, &g, "fd00::5", t, NOW), MDR_TOKEN_VALID);
	CHECK_INT(check(&key, &g, "fd00::6", t, NOW), MDR_TOKEN_FOREIGN);
}

static void test_expiry(void)
{
	struct mdr_identity g = guest(7, "inst-a", "net-1");
	struct in6_addr a = addr("10.0.0.5");
	char t[MDR_TOKEN_LEN + 1];

	CHECK_INT(mdr_token_mint(&key, &g, &a, 1, NOW, t), 0);
	CHECK_INT(check(&key, &g, "10.0.0.5", t, NOW), MDR_TOKEN_VALID);
	/* A whole second, whenever in a second it was made (ms). */
	CHECK_INT(check(&key, &g, "10.0.0.5", t, NOW + 999), MDR_TOKEN_VALID);
	CHECK_INT(check(&key, &g, "10.0.0.5", t, NOW + 1000),
		  MDR_TOKEN_EXPIRED);
	CHECK_INT(check(&key, &g, "10.0.0.5", t, NOW + 100000),
		  MDR_TOKEN_EXPIRED);
}

/* A token is its guest's: no other attachment, address or ids take it. */
static void test_bound_to_guest(void)
{
	struct mdr_identity g = guest(7, "inst-a", "net-1");
	struct mdr_identity other_attach = guest(8, "inst-a", "net-1");
	struct mdr_identity other_inst = guest(7, "inst-b", "net-1");
	struct mdr_identity other_net = guest(7, "inst-a", "net-2");
	struct mdr_identity as_router = guest(7, "inst-a", "");
	struct mdr_token_key other_key = key;
	struct in6_addr a = addr("10.0.0.5");
	char t[MDR_TOKEN_LEN + 1];

	snprintf(as_router.router_id, sizeof(as_router.router_id), "net-1");
	other_key.k[31] ^= 1;
	CHECK_INT(mdr_token_mint(&key, &g, &a, 600, NOW, t), 0);
	CHECK_INT(check(&key, &other_attach, "10.0.0.5", t, NOW),
		  MDR_TOKEN_FOREIGN);
	CHECK_INT(check(&key, &g, "10.0.0.6", t, NOW), MDR_TOKEN_FOREIGN);
	CHECK_INT(check(&key, &g, "::ffff:10.0.0.5", t, NOW), MDR_TOKEN_VALID);
	CHECK_INT(check(&key, &other_inst, "10.0.0.5", t, NOW),
		  MDR_TOKEN_FOREIGN);
	CHECK_INT(check(&key, &other_net, "10.0.0.5", t, NOW),
		  MDR_TOKEN_FOREIGN);
	/* The same id as a network's or a router's is not the same guest. */
	CHECK_INT(check(&key, &as_router, "10.0.0.5", t, NOW),
		  MDR_TOKEN_FOREIGN);
	CHECK_INT(check(&other_key, &g, "10.0.0.5", t, NOW), MDR_TOKEN_FOREIGN);
}

/* Every character changed, the token is refused: none is slack. */
static void test_tampered(void)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct mdr_identity g = guest(7, "inst-a", "net-1");
	struct in6_addr a = addr("10.0.0.5");
	char t[MDR_TOKEN_LEN + 1], bad[MDR_TOKEN_LEN + 2];
	int accepted = 0, tried = 0;

	CHECK_INT(mdr_token_mint(&key, &g, &a, 600, NOW, t), 0);
	for (int i = 0; i < MDR_TOKEN_LEN; i++) {
		for (const char *c = alphabet; *c; c++) {
			if (*c == t[i])
				continue;
			memcpy(bad, t, sizeof(t));
			bad[i] = *c;
			accepted += check(&key, &g, "10.0.0.5", bad, NOW) ==
				    MDR_TOKEN_VALID;
			tried++;
		}
	}
	CHECK_INT(accepted, 0);
	CHECK_INT(tried, MDR_TOKEN_LEN * 63);
	/* The expiry is under the MAC: a later one is not a longer life. */
	memcpy(bad, t, sizeof(t));
	bad[5] = bad[5] == 'A' ? 'B' : 'A';
	CHECK_INT(check(&key, &g, "10.0.0.5", bad, NOW), MDR_TOKEN_FOREIGN);
	/* Not the right shape at all. */
	CHECK_INT(check(&key, &g, "10.0.0.5", "", NOW), MDR_TOKEN_MALFORMED);
	CHECK_INT(check(&key, &g, "10.0.0.5", "AQ", NOW), MDR_TOKEN_MALFORMED);
	memcpy(bad, t, sizeof(t));
	bad[MDR_TOKEN_LEN] = 'A';
	bad[MDR_TOKEN_LEN + 1] = '\0';
	CHECK_INT(check(&key, &g, "10.0.0.5", bad, NOW), MDR_TOKEN_MALFORMED);
	memcpy(bad, t, sizeof(t));
	bad[10] = '+'; /* base64, not base64url */
	CHECK_INT(check(&key, &g, "10.0.0.5", bad, NOW), MDR_TOKEN_MALFORMED);
	/* Another version byte ("AQ" is 1, "Ag" 2, ours): another layout,
	 * such as version 1's, whose expiry was in seconds. */
	memcpy(bad, t, sizeof(t));
	bad[0] = 'A';
	bad[1] = 'Q';
	CHECK_INT(check(&key, &g, "10.0.0.5", bad, NOW), MDR_TOKEN_MALFORMED);
	/* A token cut short. */
	CHECK_INT(mdr_token_verify(&key, &g, &a, t, MDR_TOKEN_LEN - 1, NOW),
		  MDR_TOKEN_MALFORMED);
}

static void test_ttl(void)
{
	struct mdr_identity g = guest(7, "inst-a", "net-1");
	struct in6_addr a = addr("10.0.0.5");
	char t[MDR_TOKEN_LEN + 1];
	unsigned int ttl = 0;

	CHECK_INT(mdr_token_parse_ttl("1", 1, &ttl), 0);
	CHECK_INT(ttl, 1);
	CHECK_INT(mdr_token_parse_ttl("21600", 5, &ttl), 0);
	CHECK_INT(ttl, 21600);
	CHECK_INT(mdr_token_parse_ttl("0", 1, &ttl), -EINVAL);
	CHECK_INT(mdr_token_parse_ttl("21601", 5, &ttl), -EINVAL);
	CHECK_INT(mdr_token_parse_ttl("", 0, &ttl), -EINVAL);
	CHECK_INT(mdr_token_parse_ttl("-1", 2, &ttl), -EINVAL);
	CHECK_INT(mdr_token_parse_ttl("60s", 3, &ttl), -EINVAL);
	CHECK_INT(mdr_token_parse_ttl("4294967356", 10, &ttl), -EINVAL);
	CHECK_INT(mdr_token_mint(&key, &g, &a, 0, NOW, t), -EINVAL);
	CHECK_INT(mdr_token_mint(&key, &g, &a, 21601, NOW, t), -EINVAL);
}

static void test_modes(void)
{
	enum mdr_imds_tokens m;

	for (int i = 0; i < MDR_TOKENS_COUNT; i++) {
		CHECK_INT(mdr_imds_tokens_parse(mdr_imds_tokens_name(i), &m),
			  0);
		CHECK_INT(m, i);
	}
	CHECK_INT(mdr_imds_tokens_parse("Required", &m), -EINVAL);
	CHECK_INT(mdr_imds_tokens_parse("on", &m), -EINVAL);
	CHECK(!mdr_imds_tokens_name(MDR_TOKENS_COUNT));
}

static void test_key_file(void)
{
	char dir[] = "/tmp/mdr-token-XXXXXX", path[64];
	struct mdr_token_key k1, k2, k3;
	struct stat st;
	int fd;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	CHECK_INT(mdr_token_key_load(path, &k1), 0);
	CHECK(!stat(path, &st) && (st.st_mode & 0777) == 0600 &&
	      st.st_size == MDR_TOKEN_KEY_LEN);
	/* A restart finds the same key: tokens outlive the daemon. */
	CHECK_INT(mdr_token_key_load(path, &k2), 0);
	CHECK(!memcmp(&k1, &k2, sizeof(k1)));
	/* The replacements below warn, as they should: not in the output. */
	mdr_log_level = MDR_LOG_ERR;
	/* One others could read is not a secret any more: replaced. */
	CHECK(!chmod(path, 0644));
	CHECK_INT(mdr_token_key_load(path, &k3), 0);
	CHECK(memcmp(&k1, &k3, sizeof(k1)));
	CHECK(!stat(path, &st) && (st.st_mode & 0777) == 0600);
	/* Nor is one of another length a key. */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "short", 5) == 5);
	close(fd);
	CHECK_INT(mdr_token_key_load(path, &k2), 0);
	CHECK(memcmp(&k2, &k3, sizeof(k2)));
	CHECK(!stat(path, &st) && st.st_size == MDR_TOKEN_KEY_LEN);
	mdr_log_level = MDR_LOG_INFO;
	unlink(path);
	CHECK(!rmdir(dir));
}

int main(void)
{
	test_round_trip();
	test_expiry();
	test_bound_to_guest();
	test_tampered();
	test_ttl();
	test_modes();
	test_key_file();
	return check_summary();
}
