/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IMDSv2-compatible session tokens ([mdredir] imds_tokens): what a guest
 * gets from PUT /latest/api/token and sends back in
 * X-aws-ec2-metadata-token. A token is not kept anywhere: it carries its
 * expiry and a MAC, under the daemon's key, over that expiry and who the
 * guest is (the attachment, its ids and the guest's address), so the
 * proxy checks it with no state, and a token taken from one guest is
 * worth nothing to another.
 *
 * Pure functions: the caller passes the time (CLOCK_BOOTTIME milliseconds,
 * mdr_token_now()), so the unit tests drive them with any clock.
 */
#ifndef MDR_TOKEN_H
#define MDR_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "lib/identity.h"

enum mdr_imds_tokens {
	MDR_TOKENS_OFF,	     /* no token path: /latest/api/token is any path */
	MDR_TOKENS_OPTIONAL, /* tokens issued; a token sent must be valid */
	MDR_TOKENS_REQUIRED, /* every request but the PUT needs a valid one */
	MDR_TOKENS_COUNT,
};

#define MDR_TOKEN_KEY_LEN 32 /* HMAC-SHA256's block of randomness */
/* As AWS: a lifetime of 1 s to 6 h, asked for in seconds. */
#define MDR_TOKEN_TTL_MIN 1
#define MDR_TOKEN_TTL_MAX 21600
/* Base64url of a version byte, a 64-bit expiry and a 32-byte MAC. */
#define MDR_TOKEN_LEN	  55

#define MDR_TOKEN_PATH	     "/latest/api/token"
#define MDR_TOKEN_HEADER     "x-aws-ec2-metadata-token"
#define MDR_TOKEN_TTL_HEADER "x-aws-ec2-metadata-token-ttl-seconds"

struct mdr_token_key {
	unsigned char k[MDR_TOKEN_KEY_LEN];
};

/* "off", "optional", "required"; NULL for anything else. */
const char *mdr_imds_tokens_name(enum mdr_imds_tokens mode);
/* The mode called NAME: 0, or -EINVAL. */
int mdr_imds_tokens_parse(const char *name, enum mdr_imds_tokens *mode);

/* Milliseconds on CLOCK_BOOTTIME: steady, never stepped by NTP, and fine
 * enough that a token lives its whole TTL whenever in a second it is made. */
uint64_t mdr_token_now(void);

/*
 * A token for guest addr behind id, valid for ttl seconds from now
 * (MDR_TOKEN_TTL_MIN..MAX): MDR_TOKEN_LEN characters and a NUL in out.
 * 0, -EINVAL for a ttl out of range, or -EIO if the MAC failed.
 */
int mdr_token_mint(const struct mdr_token_key *key,
		   const struct mdr_identity *id, const struct in6_addr *addr,
		   unsigned int ttl, uint64_t now, char *out);

enum mdr_token_verdict {
	MDR_TOKEN_VALID,
	MDR_TOKEN_MALFORMED, /* not one of ours, or tampered with */
	MDR_TOKEN_FOREIGN,   /* another guest's, or an old key's */
	MDR_TOKEN_EXPIRED,
};

/* Whether token (n bytes, as sent) is valid for guest addr behind id now. */
enum mdr_token_verdict mdr_token_verify(const struct mdr_token_key *key,
					const struct mdr_identity *id,
					const struct in6_addr *addr,
					const char *token, size_t n,
					uint64_t now);
/* Why a token was refused, for the access log. */
const char *mdr_token_verdict_why(enum mdr_token_verdict v);

/*
 * The value of an X-aws-ec2-metadata-token-ttl-seconds header: 0 and
 * *ttl, or -EINVAL when it is not a decimal number in range (AWS: 400).
 */
int mdr_token_parse_ttl(const char *v, size_t n, unsigned int *ttl);

#endif
