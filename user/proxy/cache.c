// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proxy/cache.h"

#define NBUCKETS       4096
/* What an entry costs beyond its bytes: the struct and the memfd. */
#define ENTRY_OVERHEAD 512

struct mdr_cache_entry {
	struct mdr_cache_entry *hnext;
	struct mdr_cache_entry *lru_prev, *lru_next;
	uint64_t hash;
	uint64_t expires_ms;
	size_t cost;
	char *key;
	size_t key_len;
	char *head;
	size_t head_len;
	int body_fd;
	uint64_t body_len;
};

/* FNV-1a: keys come from guests, but only their own: no one can aim at
 * another guest's chain without being that guest. */
static uint64_t hash_key(const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int mdr_cache_init(struct mdr_cache *c, uint64_t ttl_ms, size_t max_bytes)
{
	memset(c, 0, sizeof(*c));
	if (!ttl_ms || !max_bytes)
		return 0;
	c->bucket = calloc(NBUCKETS, sizeof(*c->bucket));
	if (!c->bucket)
		return -ENOMEM;
	c->nbuckets = NBUCKETS;
	c->ttl_ms = ttl_ms;
	c->max_bytes = max_bytes;
	/* One response may take a sixteenth of the cache, a MiB at most. */
	c->max_body = max_bytes / 16 < (1 << 20) ? max_bytes / 16 : (1 << 20);
	return 0;
}

static void lru_unlink(struct mdr_cache *c, struct mdr_cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push(struct mdr_cache *c, struct mdr_cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

static struct mdr_cache_entry **slot_of(struct mdr_cache *c,
					const struct mdr_cache_entry *e)
{
	struct mdr_cache_entry **pp = &c->bucket[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	return pp;
}

static void drop(struct mdr_cache *c, struct mdr_cache_entry *e)
{
	*slot_of(c, e) = e->hnext;
	lru_unlink(c, e);
	c->used -= e->cost;
	close(e->body_fd);
	free(e->key);
	free(e->head);
	free(e);
}

void mdr_cache_free(struct mdr_cache *c)
{
	while (c->lru_head)
		drop(c, c->lru_head);
	free(c->bucket);
	memset(c, 0, sizeof(*c));
}

static size_t put_field(char *out, size_t o, size_t cap, const char *s)
{
	size_t n = strlen(s);

	/* Fields cannot hold a newline (ids are validated), so it separates. */
	if (o + n + 1 > cap)
		return cap + 1;
	memcpy(out + o, s, n);
	out[o + n] = '\n';
	return o + n + 1;
}

size_t mdr_cache_key(const struct mdr_identity *id, const char *target,
		     size_t target_len, char *out, size_t cap)
{
	char attach[16];
	size_t o = 0;

	snprintf(attach, sizeof(attach), "%u", id->attach_id);
	o = put_field(out, o, cap, attach);
	o = put_field(out, o, cap, id->vm_ip);
	o = put_field(out, o, cap, id->instance_id);
	o = put_field(out, o, cap, id->project_id);
	o = put_field(out, o, cap, id->network_id);
	o = put_field(out, o, cap, id->router_id);
	if (o > cap || o + target_len > cap)
		return 0;
	memcpy(out + o, target, target_len);
	return o + target_len;
}

static struct mdr_cache_entry *find(struct mdr_cache *c, const char *key,
				    size_t len, uint64_t hash)
{
	struct mdr_cache_entry *e = c->bucket[hash & (c->nbuckets - 1)];

	for (; e; e = e->hnext)
		if (e->hash == hash && e->key_len == len &&
		    !memcmp(e->key, key, len))
			return e;
	return NULL;
}

bool mdr_cache_lookup(struct mdr_cache *c, const char *key, size_t key_len,
		      uint64_t now_ms, struct mdr_cache_hit *hit)
{
	struct mdr_cache_entry *e;

	if (!mdr_cache_enabled(c))
		return false;
	e = find(c, key, key_len, hash_key(key, key_len));
	if (!e)
		return false;
	if (e->expires_ms <= now_ms) {
		drop(c, e);
		return false;
	}
	lru_unlink(c, e);
	lru_push(c, e);
	hit->head = e->head;
	hit->head_len = e->head_len;
	hit->body_fd = e->body_fd;
	hit->body_len = e->body_len;
	c->hits++;
	return true;
}

/* The body in a memfd of its own, sealed: nobody writes it again. */
static int body_memfd(const void *body, size_t len)
{
	const char *p = body;
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = memfd_create("mdredir-cache", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n < 0) {
			n = -errno;
			close(fd);
			return (int)n;
		}
		off += n;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
	return fd;
}

int mdr_cache_store(struct mdr_cache *c, const char *key, size_t key_len,
		    const char *head, size_t head_len, const void *body,
		    size_t body_len, uint64_t now_ms)
{
	uint64_t hash = hash_key(key, key_len);
	struct mdr_cache_entry *e, *old;
	size_t cost;

	if (!mdr_cache_enabled(c))
		return 0;
	cost = key_len + head_len + body_len + ENTRY_OVERHEAD;
	if (body_len > c->max_body || cost > c->max_bytes)
		return -E2BIG;
	old = find(c, key, key_len, hash);
	if (old)
		drop(c, old);
	while (c->lru_tail && c->used + cost > c->max_bytes)
		drop(c, c->lru_tail);

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = malloc(key_len);
	e->head = malloc(head_len);
	e->body_fd = body_memfd(body, body_len);
	if (!e->key || !e->head || e->body_fd < 0) {
		int err = e->body_fd < 0 ? e->body_fd : -ENOMEM;

		if (e->body_fd >= 0)
			close(e->body_fd);
		free(e->key);
		free(e->head);
		free(e);
		return err;
	}
	memcpy(e->key, key, key_len);
	memcpy(e->head, head, head_len);
	e->key_len = key_len;
	e->head_len = head_len;
	e->body_len = body_len;
	e->hash = hash;
	e->cost = cost;
	e->expires_ms = now_ms + c->ttl_ms;
	e->hnext = c->bucket[hash & (c->nbuckets - 1)];
	c->bucket[hash & (c->nbuckets - 1)] = e;
	lru_push(c, e);
	c->used += cost;
	c->stores++;
	return 0;
}

void mdr_cache_capture_begin(struct mdr_cache_capture *cap, const char *key,
			     size_t key_len)
{
	cap->key = malloc(key_len);
	if (cap->key) {
		memcpy(cap->key, key, key_len);
		cap->key_len = key_len;
	}
}

void mdr_cache_capture_end(struct mdr_cache_capture *cap)
{
	free(cap->key);
	free(cap->head);
	free(cap->body);
	cap->key = cap->head = cap->body = NULL;
	cap->key_len = cap->head_len = cap->len = 0;
}

void mdr_cache_capture_head(struct mdr_cache *c, struct mdr_cache_capture *cap,
			    const struct mdr_http_head *h, bool dechunk,
			    uint64_t body_len, const char *out, size_t len,
			    bool keep_alive)
{
	/* What mdr_rewrite_response() ended the head with, for this guest. */
	size_t own = (keep_alive ? strlen("Connection: keep-alive\r\n")
				 : strlen("Connection: close\r\n")) +
		     2;

	if (!cap->key)
		return;
	if (h->status != 200 || h->body != MDR_BODY_LENGTH || dechunk ||
	    body_len > c->max_body || len <= own) {
		mdr_cache_capture_end(cap);
		return;
	}
	cap->head_len = len - own;
	cap->head = malloc(cap->head_len);
	cap->body = malloc(body_len ?: 1);
	if (!cap->head || !cap->body) {
		mdr_cache_capture_end(cap);
		return;
	}
	memcpy(cap->head, out, cap->head_len);
}

void mdr_cache_capture_body(struct mdr_cache *c, struct mdr_cache_capture *cap,
			    const char *data, size_t n, bool complete,
			    uint64_t now_ms)
{
	if (!cap->head)
		return;
	memcpy(cap->body + cap->len, data, n);
	cap->len += n;
	if (complete)
		mdr_cache_store(c, cap->key, cap->key_len, cap->head,
				cap->head_len, cap->body, cap->len, now_ms);
}
