/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Admission control: the request rate limiter and connection counts.
 *
 * The limiter is a fixed pool of guest entries, found through a seeded hash
 * table and kept on an LRU list. A guest unseen for two windows has nothing
 * left to count, so such entries are given back as the list's tail is
 * passed; when the pool is full the least recently seen guest is forgotten
 * (as haproxy's stick tables do when full). A guest that cycles through
 * addresses can thus only make the limiter forget, never grow it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "proxy/admission.h"
#include "mdredir.h"

#define NIL	       UINT32_MAX
/* Expired entries given back per check: enough to keep up with the one
 * entry a check can take, without making any check long. */
#define REAP_PER_CHECK 2

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint32_t guest_hash(const struct mdr_rate_limiter *rl,
			   uint32_t attach_id, const struct in6_addr *addr)
{
	uint64_t w[2], h = rl->seed ^ attach_id;

	memcpy(w, addr->s6_addr, sizeof(w));
	h = mix(h ^ w[0]);
	h = mix(h ^ w[1]);
	return (uint32_t)h & (rl->nbuckets - 1);
}

static uint64_t random_seed(void)
{
	struct timespec ts;
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32));
}

int mdr_rate_init(struct mdr_rate_limiter *rl,
		  const struct mdr_rate_config *cfg)
{
	uint32_t n = 1;
	uint64_t longest;

	memset(rl, 0, sizeof(*rl));
	rl->cfg = *cfg;
	rl->free_head = rl->lru_head = rl->lru_tail = NIL;
	if (!cfg->enabled)
		return 0;
	if (!cfg->base_window_ms || !cfg->base_limit || !cfg->burst_window_ms ||
	    !cfg->burst_limit)
		return -EINVAL;
	if (!rl->cfg.max_guests)
		rl->cfg.max_guests = MDR_RATE_DEFAULT_GUESTS;
	while (n < rl->cfg.max_guests)
		n <<= 1;
	rl->nbuckets = n;
	rl->bucket = malloc(n * sizeof(*rl->bucket));
	rl->e = calloc(rl->cfg.max_guests, sizeof(*rl->e));
	if (!rl->bucket || !rl->e) {
		mdr_rate_free(rl);
		return -ENOMEM;
	}
	memset(rl->bucket, 0xff, n * sizeof(*rl->bucket)); /* all NIL */
	longest = cfg->base_window_ms > cfg->burst_window_ms
			  ? cfg->base_window_ms
			  : cfg->burst_window_ms;
	rl->idle_ms = 2 * longest;
	rl->seed = random_seed();
	return 0;
}

void mdr_rate_free(struct mdr_rate_limiter *rl)
{
	free(rl->bucket);
	free(rl->e);
	rl->bucket = NULL;
	rl->e = NULL;
	rl->cfg.enabled = false;
}

static void lru_unlink(struct mdr_rate_limiter *rl, uint32_t i)
{
	struct mdr_rate_entry *e = &rl->e[i];

	if (e->lru_prev != NIL)
		rl->e[e->lru_prev].lru_next = e->lru_next;
	else
		rl->lru_head = e->lru_next;
	if (e->lru_next != NIL)
		rl->e[e->lru_next].lru_prev = e->lru_prev;
	else
		rl->lru_tail = e->lru_prev;
}

static void lru_push_front(struct mdr_rate_limiter *rl, uint32_t i)
{
	struct mdr_rate_entry *e = &rl->e[i];

	e->lru_prev = NIL;
	e->lru_next = rl->lru_head;
	if (rl->lru_head != NIL)
		rl->e[rl->lru_head].lru_prev = i;
	else
		rl->lru_tail = i;
	rl->lru_head = i;
}

/* Takes entry i out of the table and the LRU list. */
static void entry_remove(struct mdr_rate_limiter *rl, uint32_t i)
{
	struct mdr_rate_entry *e = &rl->e[i];
	uint32_t *pp = &rl->bucket[guest_hash(rl, e->attach_id, &e->addr)];

	while (*pp != i)
		pp = &rl->e[*pp].hnext;
	*pp = e->hnext;
	lru_unlink(rl, i);
	rl->live--;
}

static void entry_release(struct mdr_rate_limiter *rl, uint32_t i)
{
	entry_remove(rl, i);
	rl->e[i].hnext = rl->free_head;
	rl->free_head = i;
}

/* Gives back the oldest entries once they have nothing left to count. */
static void reap_idle(struct mdr_rate_limiter *rl, uint64_t now_ms)
{
	for (int n = 0; n < REAP_PER_CHECK && rl->lru_tail != NIL; n++) {
		uint32_t i = rl->lru_tail;

		if (now_ms - rl->e[i].last_ms < rl->idle_ms)
			return;
		entry_release(rl, i);
	}
}

static uint32_t entry_find(struct mdr_rate_limiter *rl, uint32_t attach_id,
			   const struct in6_addr *addr)
{
	uint32_t i = rl->bucket[guest_hash(rl, attach_id, addr)];

	while (i != NIL && (rl->e[i].attach_id != attach_id ||
			    memcmp(&rl->e[i].addr, addr, sizeof(*addr))))
		i = rl->e[i].hnext;
	return i;
}

/* A fresh entry for a guest not in the table: a free one, or the least
 * recently seen guest's. */
static uint32_t entry_new(struct mdr_rate_limiter *rl, uint32_t attach_id,
			  const struct in6_addr *addr, uint64_t now_ms)
{
	struct mdr_rate_entry *e;
	uint32_t i, *head;

	if (rl->free_head != NIL) {
		i = rl->free_head;
		rl->free_head = rl->e[i].hnext;
	} else if (rl->used < rl->cfg.max_guests) {
		i = rl->used++;
	} else {
		i = rl->lru_tail;
		entry_remove(rl, i);
	}
	e = &rl->e[i];
	memset(e, 0, sizeof(*e));
	e->attach_id = attach_id;
	e->addr = *addr;
	e->base.start_ms = e->burst.start_ms = now_ms;
	head = &rl->bucket[guest_hash(rl, attach_id, addr)];
	e->hnext = *head;
	*head = i;
	lru_push_front(rl, i);
	rl->live++;
	return i;
}

/* Moves the window forward to the one holding now. */
static void window_roll(struct mdr_rate_window *w, uint64_t now_ms,
			uint64_t period)
{
	uint64_t elapsed = now_ms - w->start_ms;

	if (elapsed < period)
		return;
	w->prev = elapsed < 2 * period ? w->curr : 0;
	w->curr = 0;
	w->start_ms = now_ms - elapsed % period;
}

/* The estimated count over the sliding window, times period (exact in
 * integers): curr + prev * (period - elapsed) / period. */
static uint64_t window_scaled(const struct mdr_rate_window *w, uint64_t now_ms,
			      uint64_t period)
{
	uint64_t elapsed = now_ms - w->start_ms;

	return (uint64_t)w->curr * period +
	       (uint64_t)w->prev * (period - elapsed);
}

static bool window_over(const struct mdr_rate_window *w, uint64_t now_ms,
			uint64_t period, uint64_t limit)
{
	return window_scaled(w, now_ms, period) > limit * period;
}

/*
 * Milliseconds until, if nothing more comes, the estimate leaves room for
 * one more request (is at most limit - 1), which is what Retry-After
 * promises. Within this window it falls as prev's weight does; if curr
 * alone is too high, it has to wait for the next window, where curr becomes
 * the fading prev. Rounding errs toward waiting longer.
 */
static uint64_t window_wait_ms(const struct mdr_rate_window *w, uint64_t now_ms,
			       uint64_t period, uint64_t limit)
{
	uint64_t elapsed = now_ms - w->start_ms, room = limit - 1, need;

	if (window_scaled(w, now_ms, period) <= room * period)
		return 0;
	if (w->curr <= room) {
		/* prev * (period - e) <= (room - curr) * period; prev > 0
		 * since curr alone leaves room. */
		need = period - (room - w->curr) * period / w->prev;
		return need > elapsed ? need - elapsed : 1;
	}
	return period - elapsed + period - room * period / w->curr;
}

static bool limited_family(const struct mdr_rate_limiter *rl,
			   const struct in6_addr *addr)
{
	unsigned int bit = IN6_IS_ADDR_V4MAPPED(addr) ? MDR_RATE_IPV4
						      : MDR_RATE_IPV6;

	return rl->cfg.ip_versions & bit;
}

unsigned int mdr_rate_check(struct mdr_rate_limiter *rl, uint32_t attach_id,
			    const struct in6_addr *addr, uint64_t now_ms)
{
	const struct mdr_rate_config *cfg = &rl->cfg;
	struct mdr_rate_entry *e;
	uint64_t wait, wait2;
	uint32_t i;

	if (!cfg->enabled || !limited_family(rl, addr))
		return 0;
	reap_idle(rl, now_ms);
	i = entry_find(rl, attach_id, addr);
	if (i == NIL) {
		i = entry_new(rl, attach_id, addr, now_ms);
	} else {
		lru_unlink(rl, i);
		lru_push_front(rl, i);
	}
	e = &rl->e[i];
	e->last_ms = now_ms;
	window_roll(&e->base, now_ms, cfg->base_window_ms);
	window_roll(&e->burst, now_ms, cfg->burst_window_ms);
	/* Saturating: a guest cannot wrap its way back under the limit. */
	if (e->base.curr < UINT32_MAX)
		e->base.curr++;
	if (e->burst.curr < UINT32_MAX)
		e->burst.curr++;
	if (!window_over(&e->base, now_ms, cfg->base_window_ms,
			 cfg->base_limit) &&
	    !window_over(&e->burst, now_ms, cfg->burst_window_ms,
			 cfg->burst_limit))
		return 0;
	/* Both windows must have room again, the one not over too. */
	wait = window_wait_ms(&e->base, now_ms, cfg->base_window_ms,
			      cfg->base_limit);
	wait2 = window_wait_ms(&e->burst, now_ms, cfg->burst_window_ms,
			       cfg->burst_limit);
	if (wait2 > wait)
		wait = wait2;
	return wait ? (unsigned int)((wait + 999) / 1000) : 1;
}

int mdr_caps_init(struct mdr_conn_caps *caps, unsigned int max_total,
		  unsigned int max_per_attach)
{
	memset(caps, 0, sizeof(*caps));
	mdr_caps_set_limits(caps, max_total, max_per_attach);
	caps->slots = MDR_MAX_ATTACH + 1;
	caps->per_attach = calloc(caps->slots, sizeof(*caps->per_attach));
	return caps->per_attach ? 0 : -ENOMEM;
}

void mdr_caps_set_limits(struct mdr_conn_caps *caps, unsigned int max_total,
			 unsigned int max_per_attach)
{
	caps->max_total = max_total ? max_total : 1;
	caps->max_per_attach = max_per_attach ? max_per_attach : 1;
}

void mdr_caps_free(struct mdr_conn_caps *caps)
{
	free(caps->per_attach);
	caps->per_attach = NULL;
}

/* Ids beyond the map's range cannot come from the daemon; were one to, it
 * shares slot 0 rather than escape the cap. */
static uint32_t *slot_of(struct mdr_conn_caps *caps, bool have_id,
			 uint32_t attach_id)
{
	return &caps->per_attach[have_id && attach_id < caps->slots ? attach_id
								    : 0];
}

enum mdr_admit mdr_caps_admit(struct mdr_conn_caps *caps, bool have_id,
			      uint32_t attach_id)
{
	uint32_t *slot = slot_of(caps, have_id, attach_id);

	if (caps->total >= caps->max_total)
		return MDR_ADMIT_FULL;
	if (*slot >= caps->max_per_attach)
		return MDR_ADMIT_ATTACH_FULL;
	caps->total++;
	(*slot)++;
	return MDR_ADMIT_OK;
}

void mdr_caps_release(struct mdr_conn_caps *caps, bool have_id,
		      uint32_t attach_id)
{
	uint32_t *slot = slot_of(caps, have_id, attach_id);

	if (caps->total)
		caps->total--;
	if (*slot)
		(*slot)--;
}
