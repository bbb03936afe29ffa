/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A set of small ids (attachment ids, link ids): which are taken, read once
 * from a map, then handed out in order. A batch of attaches thus reads each
 * map once instead of once per attach.
 */
#ifndef MDR_IDSET_H
#define MDR_IDSET_H

#include <stdint.h>

struct mdr_idset {
	uint32_t first, last; /* the ids that may be handed out */
	uint32_t next;	      /* every id below it is taken */
	uint8_t *used;	      /* indexed by id, last + 1 entries */
};

/* An empty set of ids first..last; -ENOMEM. */
int mdr_idset_init(struct mdr_idset *set, uint32_t first, uint32_t last);
void mdr_idset_free(struct mdr_idset *set);
/* Marks @id taken (ids outside first..last are ignored). */
void mdr_idset_mark(struct mdr_idset *set, uint32_t id);
/* Takes the lowest free id; -ENOSPC if none is left. */
int mdr_idset_take(struct mdr_idset *set, uint32_t *id);
/* Gives @id back, e.g. when what it was for failed. */
void mdr_idset_put(struct mdr_idset *set, uint32_t id);

#endif
