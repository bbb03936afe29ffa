// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "lib/idset.h"

int mdr_idset_init(struct mdr_idset *set, uint32_t first, uint32_t last)
{
	set->first = first;
	set->last = last;
	set->next = first;
	set->used = calloc((size_t)last + 1, 1);
	return set->used ? 0 : -ENOMEM;
}

void mdr_idset_free(struct mdr_idset *set)
{
	free(set->used);
	set->used = NULL;
}

void mdr_idset_mark(struct mdr_idset *set, uint32_t id)
{
	if (id >= set->first && id <= set->last)
		set->used[id] = 1;
}

int mdr_idset_take(struct mdr_idset *set, uint32_t *id)
{
	while (set->next <= set->last && set->used[set->next])
		set->next++;
	if (set->next > set->last)
		return -ENOSPC;
	set->used[set->next] = 1;
	*id = set->next;
	return 0;
}

void mdr_idset_put(struct mdr_idset *set, uint32_t id)
{
	if (id < set->first || id > set->last)
		return;
	set->used[id] = 0;
	if (id < set->next)
		set->next = id;
}
