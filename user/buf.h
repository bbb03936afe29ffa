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

static inline int mdr_buf_alloc(struct mdr_buf *b, size_t cap)
{
	b->p = malloc(cap);
	b->head = b->tail = 0;
	b->cap = b->p ? cap : 0;
	return b->p ? 0 : -1;
}

static inline void mdr_buf_free(struct mdr_buf *b)
{
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
