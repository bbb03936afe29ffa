// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proxy/token.h"

/*
 * Bumped whenever what the MAC covers changes, so that a token of another
 * layout is refused as malformed rather than checked the wrong way.
 */
#define TOKEN_VERSION 2 /* 2: the expiry in ms, was s */
#define MAC_LEN	      32
#define RAW_LEN	      (1 + 8 + MAC_LEN)

_Static_assert(MDR_TOKEN_LEN == (RAW_LEN * 4 + 2) / 3,
	       "MDR_TOKEN_LEN is RAW_LEN in unpadded base64");

static const char *const mode_names[MDR_TOKENS_COUNT] = {
	[MDR_TOKENS_OFF] = "off",
	[MDR_TOKENS_OPTIONAL] = "optional",
	[MDR_TOKENS_REQUIRED] = "required",
};

const char *mdr_imds_tokens_name(enum mdr_imds_tokens mode)
{
	return (unsigned int)mode < MDR_TOKENS_COUNT ? mode_names[mode] : NULL;
}

int mdr_imds_tokens_parse(const char *name, enum mdr_imds_tokens *mode)
{
	for (unsigned int i = 0; i < MDR_TOKENS_COUNT; i++) {
		if (!strcmp(name, mode_names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

uint64_t mdr_token_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void encode(const unsigned char *in, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		for (bits += 8; bits >= 6; bits -= 6)
			*out++ = b64url[acc >> (bits - 6) & 63];
	}
	if (bits)
		*out++ = b64url[acc << (6 - bits) & 63];
	*out = '\0';
}

/* Exactly MDR_TOKEN_LEN characters of b64url into RAW_LEN bytes. */
static bool decode(const char *in, size_t n, unsigned char *out)
{
	uint32_t acc = 0;
	size_t len = 0;
	int bits = 0;

	if (n != MDR_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *at = memchr(b64url, in[i], 64);

		if (!at || !in[i])
			return false;
		acc = acc << 6 | (uint32_t)(at - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = acc >> bits & 0xff;
		}
	}
	/* The unused low bits of the last character must be zero, so that
	 * each token has one spelling only. */
	return len == RAW_LEN && !(acc & ((1u << bits) - 1));
}

static void put_id(unsigned char *msg, size_t *len, const char *id)
{
	size_t n = strnlen(id, MDR_ID_LEN - 1);

	/* NUL-terminated: ids hold no NUL, so the fields cannot slide. */
	memcpy(msg + *len, id, n);
	msg[*len + n] = 0;
	*len += n + 1;
}

/*
 * The MAC over the version and expiry (raw[0..8]) and who the guest is:
 * the attachment's id and ids (a reused attachment id with other ids
 * does not take over its predecessor's tokens) and the guest's address.
 */
static int mac(const struct mdr_token_key *key, const struct mdr_identity *id,
	       const struct in6_addr *addr, unsigned char *raw)
{
	unsigned char msg[9 + 4 + sizeof(*addr) + 3 * MDR_ID_LEN];
	unsigned int out_len = MAC_LEN;
	size_t len = 9;

	memcpy(msg, raw, 9);
	msg[len++] = id->attach_id >> 24;
	msg[len++] = id->attach_id >> 16;
	msg[len++] = id->attach_id >> 8;
	msg[len++] = id->attach_id;
	memcpy(msg + len, addr, sizeof(*addr));
	len += sizeof(*addr);
	put_id(msg, &len, id->instance_id);
	put_id(msg, &len, id->network_id);
	put_id(msg, &len, id->router_id);
	if (!HMAC(EVP_sha256(), key->k, sizeof(key->k), msg, len, raw + 9,
		  &out_len) ||
	    out_len != MAC_LEN)
		return -EIO;
	return 0;
}

int mdr_token_mint(const struct mdr_token_key *key,
		   const struct mdr_identity *id, const struct in6_addr *addr,
		   unsigned int ttl, uint64_t now, char *out)
{
	unsigned char raw[RAW_LEN];
	uint64_t expiry = now + (uint64_t)ttl * 1000;
	int err;

	if (ttl < MDR_TOKEN_TTL_MIN || ttl > MDR_TOKEN_TTL_MAX)
		return -EINVAL;
	raw[0] = TOKEN_VERSION;
	for (int i = 0; i < 8; i++)
		raw[1 + i] = expiry >> (56 - 8 * i);
	err = mac(key, id, addr, raw);
	if (err)
		return err;
	encode(raw, sizeof(raw), out);
	return 0;
}

enum mdr_token_verdict mdr_token_verify(const struct mdr_token_key *key,
					const struct mdr_identity *id,
					const struct in6_addr *addr,
					const char *token, size_t n,
					uint64_t now)
{
	unsigned char raw[RAW_LEN], want[RAW_LEN];
	uint64_t expiry = 0;

	if (!decode(token, n, raw) || raw[0] != TOKEN_VERSION)
		return MDR_TOKEN_MALFORMED;
	memcpy(want, raw, 9);
	if (mac(key, id, addr, want) ||
	    CRYPTO_memcmp(want + 9, raw + 9, MAC_LEN))
		return MDR_TOKEN_FOREIGN;
	for (int i = 0; i < 8; i++)
		expiry = expiry << 8 | raw[1 + i];
	return now < expiry ? MDR_TOKEN_VALID : MDR_TOKEN_EXPIRED;
}

const char *mdr_token_verdict_why(enum mdr_token_verdict v)
{
	switch (v) {
	case MDR_TOKEN_VALID: return "valid token";
	case MDR_TOKEN_MALFORMED: return "malformed token";
	case MDR_TOKEN_FOREIGN:
		return "token not issued to this guest, or altered";
	case MDR_TOKEN_EXPIRED: return "expired token";
	}
	return "invalid token";
}

int mdr_token_parse_ttl(const char *v, size_t n, unsigned int *ttl)
{
	unsigned int t = 0;

	if (!n || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		t = t * 10 + (unsigned int)(v[i] - '0');
	}
	if (t < MDR_TOKEN_TTL_MIN || t > MDR_TOKEN_TTL_MAX)
		return -EINVAL;
	*ttl = t;
	return 0;
}
