/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the proxy's workers share (proxy.h: each worker its own thread,
 * loop and listener). Everything a limit depends on lives here once, so
 * that limits hold for the daemon as a whole whichever worker a guest's
 * connection landed on:
 *
 * - the connection caps and the rate limiter, each under its own mutex
 *   (admit, release and a check are O(1), so a worker holds it for well
 *   under a microsecond, once per connection or request);
 * - the response cache (cache.h, under its own lock);
 * - the options in force, published by worker 0 at a reload and adopted
 *   by each worker between two of its turns (a sequence number, an
 *   eventfd per worker to wake it, a condition variable to wait for all);
 * - each backend's count of users in all workers, so the daemon's
 *   backend_done runs once, after the last;
 * - a shortage of descriptors at accept, as the log tells it;
 * - each worker's last turn, for the watchdog.
 */
#ifndef MDR_PROXY_SHARED_H
#define MDR_PROXY_SHARED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proxy/admission.h"
#include "proxy/cache.h"
#include "proxy/options.h"

/* Out of descriptors (or memory) at accept, as the log tells it. */
struct accept_shortage {
	bool on, told;	   /* under way; its start was logged */
	uint64_t since_ms; /* it began */
	uint64_t logged_ms;
	uint64_t refused, pauses; /* guests refused with 503; accept pauses */
};

/* A backend and how many use it: generations in any worker, plus one
 * while it is the published one. */
struct mdr_backend_ref {
	const struct mdr_backend *be;
	unsigned int users;
};

struct mdr_shared {
	unsigned int workers;
	/* The options' (never changed by a reload). */
	void (*backend_done)(void *ctx, const struct mdr_backend *be);
	void *backend_done_ctx;

	pthread_mutex_t caps_lock;
	struct mdr_conn_caps caps;
	pthread_mutex_t rate_lock;
	struct mdr_rate_limiter rate;
	struct mdr_cache cache;

	/* The options in force: guarded by lock, but for seq, which workers
	 * read once a turn without it. */
	pthread_mutex_t lock;
	pthread_cond_t adopted_cond;
	struct mdr_proxy_options opts;
	struct mdr_backend_ref *ref; /* opts.backend's */
	uint64_t cache_epoch;	     /* the cache's when opts were published */
	uint64_t seq;		     /* publications so far */
	uint64_t adopted[MDR_WORKERS_MAX]; /* the seq each worker serves */
	int wake_fd[MDR_WORKERS_MAX];	   /* eventfds; -1: none */

	/* The descriptor limit is the process's: one shortage, told once,
	 * whichever workers meet it (listener.c). on is read unlocked. */
	pthread_mutex_t short_lock;
	struct accept_shortage accept_short;

	uint64_t turn_ms[MDR_WORKERS_MAX]; /* each worker's last turn */
	int failed;			   /* a worker's -errno: all stop */
};

/*
 * Made from the first options (whose backend becomes the published one),
 * with the caps given. 0, or -errno and nothing to free.
 */
int mdr_shared_init(struct mdr_shared *sh, const struct mdr_proxy_options *o,
		    unsigned int max_total, unsigned int max_per_attach);
/* After every worker is gone: the published backend is let go. */
void mdr_shared_free(struct mdr_shared *sh);

enum mdr_admit mdr_shared_admit(struct mdr_shared *sh, bool have_id,
				uint32_t attach_id);
void mdr_shared_release(struct mdr_shared *sh, bool have_id,
			uint32_t attach_id);
unsigned int mdr_shared_rate_check(struct mdr_shared *sh, uint32_t attach_id,
				   const struct in6_addr *addr,
				   uint64_t now_ms);

/*
 * A reload, by worker 0, once everything new is made: the new caps, the
 * new rate limiter (when its settings changed: *rate takes the old one's
 * place, for the caller to free) and @o with @ref (users 1: being
 * published) become the ones in force, and the other workers are woken
 * to adopt them.
 */
void mdr_shared_publish(struct mdr_shared *sh,
			const struct mdr_proxy_options *o,
			struct mdr_backend_ref *ref, unsigned int max_total,
			unsigned int max_per_attach,
			struct mdr_rate_limiter *rate);

/* Whether options newer than @seq were published (no lock: a worker asks
 * once a turn). */
static inline bool mdr_shared_newer(struct mdr_shared *sh, uint64_t seq)
{
	return __atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE) != seq;
}

/*
 * The options in force for a worker to adopt: a copy in *o, their
 * backend's ref with a user more (the worker's new generation), the cache
 * epoch and the seq to report with mdr_shared_adopted().
 */
void mdr_shared_snapshot(struct mdr_shared *sh, struct mdr_proxy_options *o,
			 struct mdr_backend_ref **ref, uint64_t *cache_epoch,
			 uint64_t *seq);
void mdr_shared_adopted(struct mdr_shared *sh, unsigned int worker,
			uint64_t seq);
/* Waits until every worker serves @seq, or timeout_ms passed, or *stop;
 * false (and a warning naming the late) if one does not. */
bool mdr_shared_wait_adopted(struct mdr_shared *sh, uint64_t seq,
			     unsigned int timeout_ms);

struct mdr_backend_ref *mdr_backend_ref_new(const struct mdr_backend *be);
/* One user less; the last one calls the options' backend_done. */
void mdr_backend_ref_put(struct mdr_shared *sh, struct mdr_backend_ref *ref);

/* The watchdog: each worker notes its turns; all_turned says whether
 * every worker turned within the last late_ms. */
static inline void mdr_shared_turned(struct mdr_shared *sh, unsigned int worker,
				     uint64_t now_ms)
{
	__atomic_store_n(&sh->turn_ms[worker], now_ms, __ATOMIC_RELAXED);
}
bool mdr_shared_all_turned(struct mdr_shared *sh, uint64_t now_ms,
			   uint64_t late_ms);

/* A worker failed (0 first -errno kept): every worker stops. */
void mdr_shared_fail(struct mdr_shared *sh, int err);
static inline int mdr_shared_failed(struct mdr_shared *sh)
{
	return __atomic_load_n(&sh->failed, __ATOMIC_RELAXED);
}

#endif
