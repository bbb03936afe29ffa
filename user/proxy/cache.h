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
 *
 * One cache serves every worker (proxy.h), so that one worker's stored
 * response is another's hit and max_bytes bounds them all: every call
 * takes the cache's lock, and nothing a caller keeps points into the
 * cache (a hit is a copy of the head and a dup() of the body's memfd), so
 * another worker evicting the entry meanwhile cannot pull it from under
 * a response being sent.
 */
#ifndef MDR_CACHE_H
#define MDR_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/parser.h"
#include "lib/identity.h"

struct mdr_cache_entry;

struct mdr_cache {
	pthread_mutex_t lock; /* every field below */
	/*
	 * Bumped by every mdr_cache_reconfigure(): a response captured under
	 * an older one (say, from the backend a reload replaced) is not
	 * stored.
	 */
	uint64_t epoch;
	uint64_t ttl_ms;  /* 0: the cache is off */
	size_t max_bytes; /* everything held, keys and heads too */
	size_t max_body;  /* larger responses are not kept */
	size_t used;
	struct mdr_cache_entry **bucket;
	uint32_t nbuckets;			     /* a power of two */
	struct mdr_cache_entry *lru_head, *lru_tail; /* most recent first */
	uint64_t hits, stores;
};

/*
 * What a hit hands out, the caller's own: the head (status line and
 * headers, no Connection) copied into the caller's buffer, and the body's
 * memfd dup()ed (send with an explicit offset, then close it).
 */
struct mdr_cache_hit {
	size_t head_len;
	int body_fd;
	uint64_t body_len;
};

/* 0 or -ENOMEM. ttl_ms 0 makes a cache that holds nothing. */
int mdr_cache_init(struct mdr_cache *c, uint64_t ttl_ms, size_t max_bytes);
void mdr_cache_free(struct mdr_cache *c);
/* Empties the cache and gives it a new ttl and size (a reload that changed
 * them, or the backend), under a new epoch. */
void mdr_cache_reconfigure(struct mdr_cache *c, uint64_t ttl_ms,
			   size_t max_bytes);

/* Unlocked: a reload may turn the cache on or off meanwhile, and a caller
 * that saw it on merely finds nothing. */
static inline bool mdr_cache_enabled(const struct mdr_cache *c)
{
	return __atomic_load_n(&c->ttl_ms, __ATOMIC_RELAXED) != 0;
}

static inline uint64_t mdr_cache_epoch(struct mdr_cache *c)
{
	return __atomic_load_n(&c->epoch, __ATOMIC_RELAXED);
}

/*
 * The key of a request: every identity field, the guest's address and
 * the target. Returns its length, or 0 if it does not fit in cap.
 */
size_t mdr_cache_key(const struct mdr_identity *id, const char *target,
		     size_t target_len, char *out, size_t cap);

/*
 * true and *hit filled for a fresh entry whose head fits in head_room
 * bytes at head; stale ones are dropped. false also when the memfd cannot
 * be duplicated.
 */
bool mdr_cache_lookup(struct mdr_cache *c, const char *key, size_t key_len,
		      uint64_t now_ms, char *head, size_t head_room,
		      struct mdr_cache_hit *hit);

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
	uint64_t epoch;	 /* the cache's when it began */
	size_t max_body; /* the cache's, then */
};

/* Whether a response is being kept (callers skip the calls when not). */
static inline bool mdr_cache_capturing(const struct mdr_cache_capture *cap)
{
	return cap->key != NULL;
}

/*
 * Keeps a copy of key (nothing is kept out of memory), for a request
 * served under the cache's @epoch: nothing is kept if the cache has moved
 * on to another.
 */
void mdr_cache_capture_begin(struct mdr_cache *c, struct mdr_cache_capture *cap,
			     const char *key, size_t key_len, uint64_t epoch);
/*
 * The response head h, as rewritten for the guest (out, len bytes, ending
 * with the Connection line for keep_alive and the blank line, which the
 * cache leaves out: each guest gets its own). Only a 200 framed by a
 * Content-Length the cache can hold is kept; anything else ends the
 * capture.
 */
void mdr_cache_capture_head(struct mdr_cache_capture *cap,
			    const struct mdr_http_head *h, bool dechunk,
			    uint64_t body_len, const char *out, size_t len,
			    bool keep_alive);
/* Body bytes just sent on to the guest; complete: the body is all there
 * and clean, so the response is stored (if the cache's epoch is still
 * the capture's). */
void mdr_cache_capture_body(struct mdr_cache *c, struct mdr_cache_capture *cap,
			    const char *data, size_t n, bool complete,
			    uint64_t now_ms);
void mdr_cache_capture_end(struct mdr_cache_capture *cap);

#endif
