/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A response cache for boot storms: opt-in, bounded in memory, GET 200
 * responses with a Content-Length only, each kept for a fixed time (Nova's
 * own metadata_cache_expiration is 15 s). The key is the whole identity the
 * backend would have seen (attachment, guest address, every id) plus the
 * request target, so one instance's data is never served to another.
 *
 * Pure bookkeeping: the caller passes the time, and bodies live in memfds
 * so a hit goes out with sendfile like any local file.
 */
#ifndef MDR_CACHE_H
#define MDR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/parser.h"
#include "lib/identity.h"

struct mdr_cache_entry;

struct mdr_cache {
	uint64_t ttl_ms;  /* 0: the cache is off */
	size_t max_bytes; /* everything held, keys and heads too */
	size_t max_body;  /* larger responses are not kept */
	size_t used;
	struct mdr_cache_entry **bucket;
	uint32_t nbuckets;			     /* a power of two */
	struct mdr_cache_entry *lru_head, *lru_tail; /* most recent first */
	uint64_t hits, stores;
};

/* What a hit hands out; valid until the next call into the cache. */
struct mdr_cache_hit {
	const char *head; /* status line and headers, no Connection */
	size_t head_len;
	int body_fd; /* a memfd: send with an explicit offset */
	uint64_t body_len;
};

/* 0 or -ENOMEM. ttl_ms 0 makes a cache that holds nothing. */
int mdr_cache_init(struct mdr_cache *c, uint64_t ttl_ms, size_t max_bytes);
void mdr_cache_free(struct mdr_cache *c);

static inline bool mdr_cache_enabled(const struct mdr_cache *c)
{
	return c->ttl_ms != 0;
}

/*
 * The key of a request: every identity field, the guest's address and
 * the target. Returns its length, or 0 if it does not fit in cap.
 */
size_t mdr_cache_key(const struct mdr_identity *id, const char *target,
		     size_t target_len, char *out, size_t cap);

/* true and *hit filled for a fresh entry; stale ones are dropped. */
bool mdr_cache_lookup(struct mdr_cache *c, const char *key, size_t key_len,
		      uint64_t now_ms, struct mdr_cache_hit *hit);

/*
 * Keeps a response (replacing an older one for the key), evicting the
 * least recently used entries to stay within max_bytes. 0, -E2BIG when the
 * response is too large to keep, or -errno.
 */
int mdr_cache_store(struct mdr_cache *c, const char *key, size_t key_len,
		    const char *head, size_t head_len, const void *body,
		    size_t body_len, uint64_t now_ms);

/*
 * A response on its way from the backend, kept for the cache: started for
 * a GET the cache could not answer (its key), given the response head as
 * it goes to the guest and every body byte after it, and stored when the
 * body is complete. key NULL: nothing is being kept.
 */
struct mdr_cache_capture {
	char *key, *head, *body;
	size_t key_len, head_len, len;
};

/* Whether a response is being kept (callers skip the calls when not). */
static inline bool mdr_cache_capturing(const struct mdr_cache_capture *cap)
{
	return cap->key != NULL;
}

/* Keeps a copy of key (nothing is kept out of memory). */
void mdr_cache_capture_begin(struct mdr_cache_capture *cap, const char *key,
			     size_t key_len);
/*
 * The response head h, as rewritten for the guest (out, len bytes, ending
 * with the Connection line for keep_alive and the blank line, which the
 * cache leaves out: each guest gets its own). Only a 200 framed by a
 * Content-Length the cache can hold is kept; anything else ends the
 * capture.
 */
void mdr_cache_capture_head(struct mdr_cache *c, struct mdr_cache_capture *cap,
			    const struct mdr_http_head *h, bool dechunk,
			    uint64_t body_len, const char *out, size_t len,
			    bool keep_alive);
/* Body bytes just sent on to the guest; complete: the body is all there
 * and clean, so the response is stored. */
void mdr_cache_capture_body(struct mdr_cache *c, struct mdr_cache_capture *cap,
			    const char *data, size_t n, bool complete,
			    uint64_t now_ms);
void mdr_cache_capture_end(struct mdr_cache_capture *cap);

#endif
