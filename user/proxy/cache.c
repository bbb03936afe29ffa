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

/* One response may take a sixteenth of the cache, a MiB at most. */
static size_t max_body_of(size_t max_bytes)
{
	return max_bytes / 16 < (1 << 20) ? max_bytes / 16 : (1 << 20);
}

int mdr_cache_init(struct mdr_cache *c, uint64_t ttl_ms, size_t max_bytes)
{
	memset(c, 0, sizeof(*c));
	/* Made even for a cache that is off: a reload may turn it on, and
	 * then cannot fail. */
	c->bucket = calloc(NBUCKETS, sizeof(*c->bucket));
	if (!c->bucket)
		return -ENOMEM;
	c->nbuckets = NBUCKETS;
	pthread_mutex_init(&c->lock, NULL);
	if (ttl_ms && max_bytes) {
		c->ttl_ms = ttl_ms;
		c->max_bytes = max_bytes;
		c->max_body = max_body_of(max_bytes);
	}
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

static void entry_free(struct mdr_cache_entry *e)
{
	if (e->body_fd >= 0)
		close(e->body_fd);
	free(e->key);
	free(e->head);
	free(e);
}

static void drop(struct mdr_cache *c, struct mdr_cache_entry *e)
{
	*slot_of(c, e) = e->hnext;
	lru_unlink(c, e);
	c->used -= e->cost;
	entry_free(e);
}

static void drop_all(struct mdr_cache *c)
{
	while (c->lru_head)
		drop(c, c->lru_head);
}

void mdr_cache_free(struct mdr_cache *c)
{
	if (!c->bucket)
		return; /* never made, or freed */
	drop_all(c);
	free(c->bucket);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

void mdr_cache_reconfigure(struct mdr_cache *c, uint64_t ttl_ms,
			   size_t max_bytes)
{
	bool on = ttl_ms && max_bytes;

	pthread_mutex_lock(&c->lock);
	drop_all(c);
	__atomic_store_n(&c->ttl_ms, on ? ttl_ms : 0, __ATOMIC_RELAXED);
	c->max_bytes = on ? max_bytes : 0;
	__atomic_store_n(&c->max_body, on ? max_body_of(max_bytes) : 0,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&c->epoch, c->epoch + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->lock);
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

static bool lookup_locked(struct mdr_cache *c, const char *key, size_t key_len,
			  uint64_t now_ms, char *head, size_t head_room,
			  struct mdr_cache_hit *hit)
{
	struct mdr_cache_entry *e;

	if (!c->ttl_ms)
		return false;
	e = find(c, key, key_len, hash_key(key, key_len));
	if (!e)
		return false;
	if (e->expires_ms <= now_ms) {
		drop(c, e);
		return false;
	}
	if (e->head_len > head_room)
		return false;
	/* A dup, not the entry's own: another worker may evict it as soon
	 * as the lock is released, closing the entry's descriptor. */
	hit->body_fd = fcntl(e->body_fd, F_DUPFD_CLOEXEC, 0);
	if (hit->body_fd < 0)
		return false;
	lru_unlink(c, e);
	lru_push(c, e);
	memcpy(head, e->head, e->head_len);
	hit->head_len = e->head_len;
	hit->body_len = e->body_len;
	c->hits++;
	return true;
}

bool mdr_cache_lookup(struct mdr_cache *c, const char *key, size_t key_len,
		      uint64_t now_ms, char *head, size_t head_room,
		      struct mdr_cache_hit *hit)
{
	bool found;

	if (!mdr_cache_enabled(c))
		return false;
	pthread_mutex_lock(&c->lock);
	found = lookup_locked(c, key, key_len, now_ms, head, head_room, hit);
	pthread_mutex_unlock(&c->lock);
	return found;
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

/* An entry, made outside the lock: the memfd's syscalls hold up no other
 * worker. NULL and *err on failure. */
static struct mdr_cache_entry *entry_new(const char *key, size_t key_len,
					 const char *head, size_t head_len,
					 const void *body, size_t body_len,
					 int *err)
{
	struct mdr_cache_entry *e = calloc(1, sizeof(*e));

	*err = -ENOMEM;
	if (!e)
		return NULL;
	e->key = malloc(key_len);
	e->head = malloc(head_len);
	e->body_fd = body_memfd(body, body_len);
	if (!e->key || !e->head || e->body_fd < 0) {
		*err = e->body_fd < 0 ? e->body_fd : -ENOMEM;
		entry_free(e);
		return NULL;
	}
	memcpy(e->key, key, key_len);
	memcpy(e->head, head, head_len);
	e->key_len = key_len;
	e->head_len = head_len;
	e->body_len = body_len;
	e->hash = hash_key(key, key_len);
	e->cost = key_len + head_len + body_len + ENTRY_OVERHEAD;
	return e;
}

/* Links e in (replacing an older one for its key, evicting to make room),
 * or says why not: then e is still the caller's. */
static int insert_locked(struct mdr_cache *c, struct mdr_cache_entry *e,
			 uint64_t now_ms)
{
	struct mdr_cache_entry *old;

	if (!c->ttl_ms)
		return -ENOENT;
	if (e->body_len > c->max_body || e->cost > c->max_bytes)
		return -E2BIG;
	old = find(c, e->key, e->key_len, e->hash);
	if (old)
		drop(c, old);
	while (c->lru_tail && c->used + e->cost > c->max_bytes)
		drop(c, c->lru_tail);
	e->expires_ms = now_ms + c->ttl_ms;
	e->hnext = c->bucket[e->hash & (c->nbuckets - 1)];
	c->bucket[e->hash & (c->nbuckets - 1)] = e;
	lru_push(c, e);
	c->used += e->cost;
	c->stores++;
	return 0;
}

/* Stores e if the cache's epoch is still @epoch (any, for NULL). */
static int insert(struct mdr_cache *c, struct mdr_cache_entry *e,
		  const uint64_t *epoch, uint64_t now_ms)
{
	int err = -ESTALE;

	pthread_mutex_lock(&c->lock);
	if (!epoch || *epoch == c->epoch)
		err = insert_locked(c, e, now_ms);
	pthread_mutex_unlock(&c->lock);
	if (err)
		entry_free(e);
	return err;
}

int mdr_cache_store(struct mdr_cache *c, const char *key, size_t key_len,
		    const char *head, size_t head_len, const void *body,
		    size_t body_len, uint64_t now_ms)
{
	struct mdr_cache_entry *e;
	int err;

	if (!mdr_cache_enabled(c))
		return 0;
	if (body_len > __atomic_load_n(&c->max_body, __ATOMIC_RELAXED))
		return -E2BIG; /* (checked again under the lock) */
	e = entry_new(key, key_len, head, head_len, body, body_len, &err);
	if (!e)
		return err;
	err = insert(c, e, NULL, now_ms);
	return err == -ENOENT ? 0 : err; /* turned off meanwhile */
}

void mdr_cache_capture_begin(struct mdr_cache *c, struct mdr_cache_capture *cap,
			     const char *key, size_t key_len, uint64_t epoch)
{
	pthread_mutex_lock(&c->lock);
	cap->max_body = c->max_body;
	pthread_mutex_unlock(&c->lock);
	if (epoch != mdr_cache_epoch(c) || !cap->max_body)
		return;
	cap->epoch = epoch;
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

void mdr_cache_capture_head(struct mdr_cache_capture *cap,
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
	    body_len > cap->max_body || len <= own) {
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
	struct mdr_cache_entry *e;
	int err;

	if (!cap->head)
		return;
	memcpy(cap->body + cap->len, data, n);
	cap->len += n;
	if (!complete)
		return;
	e = entry_new(cap->key, cap->key_len, cap->head, cap->head_len,
		      cap->body, cap->len, &err);
	if (e)
		insert(c, e, &cap->epoch, now_ms);
}
