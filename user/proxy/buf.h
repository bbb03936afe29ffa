/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fixed-capacity byte buffer: bytes are appended at tail and consumed from
 * head. Capacity never grows, which is what bounds a connection's memory and
 * gives backpressure: a full buffer simply stops reading its source.
 */
#ifndef MDR_BUF_H
#define MDR_BUF_H

#include <stdlib.h>
#include <string.h>

struct mdr_buf {
	char *p;
	size_t head, tail, cap;
};

/*
 * Where buffers of one capacity come from, and spare ones wait to be used
 * again (up to max of them). The proxy takes four 32 KiB buffers for a
 * request and gives them back after: handed to free() each time, glibc
 * gave the top of its heap back to the kernel and faulted it in again on
 * the next request, about two page faults a request, which cost a
 * kept-alive request a third more CPU.
 */
struct mdr_buf_pool {
	void **spare;
	size_t n, max, cap;
};

static inline int mdr_buf_pool_init(struct mdr_buf_pool *pool, size_t cap,
				    size_t max)
{
	pool->spare = calloc(max, sizeof(*pool->spare));
	pool->n = 0;
	pool->max = pool->spare ? max : 0;
	pool->cap = cap;
	return pool->spare ? 0 : -1;
}

static inline void mdr_buf_pool_free(struct mdr_buf_pool *pool)
{
	while (pool->n)
		free(pool->spare[--pool->n]);
	free(pool->spare);
	pool->spare = NULL;
	pool->max = 0;
}

/* An empty buffer of pool->cap bytes in b; 0, or -1 out of memory. */
static inline int mdr_buf_get(struct mdr_buf_pool *pool, struct mdr_buf *b)
{
	b->p = pool->n ? pool->spare[--pool->n] : malloc(pool->cap);
	b->head = b->tail = 0;
	b->cap = b->p ? pool->cap : 0;
	return b->p ? 0 : -1;
}

/* Gives b's memory back (b may have none). */
static inline void mdr_buf_put(struct mdr_buf_pool *pool, struct mdr_buf *b)
{
	if (b->p && pool->n < pool->max)
		pool->spare[pool->n++] = b->p;
	else
		free(b->p);
	b->p = NULL;
	b->head = b->tail = b->cap = 0;
}

static inline size_t mdr_buf_len(const struct mdr_buf *b)
{
	return b->tail - b->head;
}

static inline char *mdr_buf_data(const struct mdr_buf *b)
{
	return b->p + b->head;
}

static inline char *mdr_buf_end(const struct mdr_buf *b)
{
	return b->p + b->tail;
}

/* Free space at the end, after moving pending bytes to the front if that
 * is the only way to get any. */
static inline size_t mdr_buf_room(struct mdr_buf *b)
{
	if (b->tail == b->cap && b->head) {
		memmove(b->p, b->p + b->head, b->tail - b->head);
		b->tail -= b->head;
		b->head = 0;
	}
	return b->cap - b->tail;
}

static inline void mdr_buf_consume(struct mdr_buf *b, size_t n)
{
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}

static inline void mdr_buf_reset(struct mdr_buf *b)
{
	b->head = b->tail = 0;
}

#endif
