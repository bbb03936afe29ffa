// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "proxy/shared.h"

int mdr_shared_init(struct mdr_shared *sh, const struct mdr_proxy_options *o,
		    unsigned int max_total, unsigned int max_per_attach)
{
	pthread_condattr_t ca;
	int err;

	memset(sh, 0, sizeof(*sh));
	sh->workers = o->workers;
	sh->backend_done = o->backend_done;
	sh->backend_done_ctx = o->backend_done_ctx;
	for (unsigned int i = 0; i < MDR_WORKERS_MAX; i++)
		sh->wake_fd[i] = -1;
	sh->ref = mdr_backend_ref_new(o->backend);
	if (!sh->ref)
		return -ENOMEM;
	err = mdr_caps_init(&sh->caps, max_total, max_per_attach);
	if (!err)
		err = mdr_rate_init(&sh->rate, &o->rate_limit);
	if (!err)
		err = mdr_cache_init(&sh->cache, o->cache_ttl_ms,
				     o->cache_max_bytes);
	if (err) {
		mdr_rate_free(&sh->rate);
		mdr_caps_free(&sh->caps);
		free(sh->ref); /* never published: the backend is the caller's */
		return err;
	}
	pthread_mutex_init(&sh->caps_lock, NULL);
	pthread_mutex_init(&sh->rate_lock, NULL);
	pthread_mutex_init(&sh->lock, NULL);
	pthread_mutex_init(&sh->short_lock, NULL);
	/* Waits are bounded in monotonic time, as the loop's clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sh->adopted_cond, &ca);
	pthread_condattr_destroy(&ca);
	sh->opts = *o;
	sh->cache_epoch = mdr_cache_epoch(&sh->cache);
	sh->seq = 1;
	return 0;
}

void mdr_shared_free(struct mdr_shared *sh)
{
	mdr_backend_ref_put(sh, sh->ref);
	mdr_cache_free(&sh->cache);
	mdr_rate_free(&sh->rate);
	mdr_caps_free(&sh->caps);
	pthread_cond_destroy(&sh->adopted_cond);
	pthread_mutex_destroy(&sh->short_lock);
	pthread_mutex_destroy(&sh->lock);
	pthread_mutex_destroy(&sh->rate_lock);
	pthread_mutex_destroy(&sh->caps_lock);
}

enum mdr_admit mdr_shared_admit(struct mdr_shared *sh, bool have_id,
				uint32_t attach_id)
{
	enum mdr_admit a;

	pthread_mutex_lock(&sh->caps_lock);
	a = mdr_caps_admit(&sh->caps, have_id, attach_id);
	pthread_mutex_unlock(&sh->caps_lock);
	return a;
}

void mdr_shared_release(struct mdr_shared *sh, bool have_id, uint32_t attach_id)
{
	pthread_mutex_lock(&sh->caps_lock);
	mdr_caps_release(&sh->caps, have_id, attach_id);
	pthread_mutex_unlock(&sh->caps_lock);
}

unsigned int mdr_shared_rate_check(struct mdr_shared *sh, uint32_t attach_id,
				   const struct in6_addr *addr, uint64_t now_ms)
{
	unsigned int wait;

	pthread_mutex_lock(&sh->rate_lock);
	wait = mdr_rate_check(&sh->rate, attach_id, addr, now_ms);
	pthread_mutex_unlock(&sh->rate_lock);
	return wait;
}

void mdr_shared_publish(struct mdr_shared *sh,
			const struct mdr_proxy_options *o,
			struct mdr_backend_ref *ref, unsigned int max_total,
			unsigned int max_per_attach,
			struct mdr_rate_limiter *rate)
{
	struct mdr_backend_ref *old;
	uint64_t one = 1;

	pthread_mutex_lock(&sh->caps_lock);
	mdr_caps_set_limits(&sh->caps, max_total, max_per_attach);
	pthread_mutex_unlock(&sh->caps_lock);
	if (rate) {
		struct mdr_rate_limiter prev;

		/* Counts start afresh: windows of another length do not
		 * carry over. */
		pthread_mutex_lock(&sh->rate_lock);
		prev = sh->rate;
		sh->rate = *rate;
		pthread_mutex_unlock(&sh->rate_lock);
		*rate = prev;
	}
	pthread_mutex_lock(&sh->lock);
	old = sh->ref;
	sh->opts = *o;
	sh->ref = ref;
	sh->cache_epoch = mdr_cache_epoch(&sh->cache);
	__atomic_store_n(&sh->seq, sh->seq + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&sh->lock);
	mdr_backend_ref_put(sh, old);
	/* (A counter that is full has its worker awake already.) */
	for (unsigned int i = 1; i < sh->workers; i++)
		(void)!write(sh->wake_fd[i], &one, sizeof(one));
}

void mdr_shared_snapshot(struct mdr_shared *sh, struct mdr_proxy_options *o,
			 struct mdr_backend_ref **ref, uint64_t *cache_epoch,
			 uint64_t *seq)
{
	pthread_mutex_lock(&sh->lock);
	*o = sh->opts;
	*ref = sh->ref;
	sh->ref->users++;
	*cache_epoch = sh->cache_epoch;
	*seq = sh->seq;
	pthread_mutex_unlock(&sh->lock);
}

void mdr_shared_adopted(struct mdr_shared *sh, unsigned int worker,
			uint64_t seq)
{
	pthread_mutex_lock(&sh->lock);
	sh->adopted[worker] = seq;
	pthread_cond_broadcast(&sh->adopted_cond);
	pthread_mutex_unlock(&sh->lock);
}

/* The stop flag is set on whichever thread took the signal. */
static bool stop_asked(struct mdr_shared *sh)
{
	return __atomic_load_n(sh->opts.stop, __ATOMIC_RELAXED);
}

static unsigned int first_late(struct mdr_shared *sh, uint64_t seq)
{
	for (unsigned int i = 0; i < sh->workers; i++)
		if (sh->adopted[i] < seq)
			return i;
	return sh->workers;
}

bool mdr_shared_wait_adopted(struct mdr_shared *sh, uint64_t seq,
			     unsigned int timeout_ms)
{
	struct timespec until;
	unsigned int late;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&sh->lock);
	while ((late = first_late(sh, seq)) < sh->workers && !stop_asked(sh) &&
	       !mdr_shared_failed(sh))
		if (pthread_cond_timedwait(&sh->adopted_cond, &sh->lock,
					   &until) == ETIMEDOUT)
			break;
	late = first_late(sh, seq);
	pthread_mutex_unlock(&sh->lock);
	if (late < sh->workers && !stop_asked(sh))
		pr_warn("proxy: worker %u did not take the new settings within "
			"%u ms (busy, or stuck in a turn); it will at its "
			"next turn",
			late, timeout_ms);
	return late == sh->workers;
}

struct mdr_backend_ref *mdr_backend_ref_new(const struct mdr_backend *be)
{
	struct mdr_backend_ref *ref = calloc(1, sizeof(*ref));

	if (ref) {
		ref->be = be;
		ref->users = 1;
	}
	return ref;
}

void mdr_backend_ref_put(struct mdr_shared *sh, struct mdr_backend_ref *ref)
{
	bool last;

	pthread_mutex_lock(&sh->lock);
	last = !--ref->users;
	pthread_mutex_unlock(&sh->lock);
	if (!last)
		return;
	if (sh->backend_done)
		sh->backend_done(sh->backend_done_ctx, ref->be);
	free(ref);
}

bool mdr_shared_all_turned(struct mdr_shared *sh, uint64_t now_ms,
			   uint64_t late_ms)
{
	for (unsigned int i = 0; i < sh->workers; i++) {
		uint64_t t = __atomic_load_n(&sh->turn_ms[i], __ATOMIC_RELAXED);

		if (t + late_ms < now_ms)
			return false;
	}
	return true;
}

void mdr_shared_fail(struct mdr_shared *sh, int err)
{
	int zero = 0;

	__atomic_compare_exchange_n(&sh->failed, &zero, err, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
