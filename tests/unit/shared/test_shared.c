// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the proxy's workers share, hammered by two threads at once as two
 * workers would: the connection caps and the rate limit stay exact, and a
 * backend is let go once, after its last user in any worker.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proxy/shared.h"

#define ROUNDS 200000

static volatile sig_atomic_t never;
static const int fds[2] = { 100, 101 };

static struct mdr_proxy_options options(void)
{
	static const struct mdr_backend be; /* only its address is used */

	return (struct mdr_proxy_options){
		.listen_fds = fds,
		.workers = 2,
		.backend = &be,
		.stop = &never,
	};
}

/* A worker's connections: admit, hold up to 10, release, over and over;
 * two of them want 20 at once, over the cap of 16. */
struct caps_worker {
	struct mdr_shared *sh;
	uint32_t attach;
	int over; /* connections held at once beyond the caps allowed */
	unsigned int admitted;
};

static void *caps_loop(void *arg)
{
	struct caps_worker *w = arg;
	unsigned int held = 0;

	for (int i = 0; i < ROUNDS; i++) {
		if (held < 10 && i % 3 != 2) {
			if (mdr_shared_admit(w->sh, true, w->attach) ==
			    MDR_ADMIT_OK) {
				held++;
				w->admitted++;
			}
		} else if (held) {
			mdr_shared_release(w->sh, true, w->attach);
			held--;
		}
	}
	while (held--)
		mdr_shared_release(w->sh, true, w->attach);
	return NULL;
}

/* Both threads on one attachment: the caps never let more in than they
 * allow, and every admit is released. */
static void test_caps_exact_across_threads(void)
{
	struct mdr_proxy_options o = options();
	struct caps_worker w[2];
	struct mdr_shared sh;
	pthread_t t[2];

	CHECK_INT(mdr_shared_init(&sh, &o, 64, 16), 0);
	for (int i = 0; i < 2; i++) {
		w[i] = (struct caps_worker){ .sh = &sh, .attach = 7 };
		CHECK_INT(pthread_create(&t[i], NULL, caps_loop, &w[i]), 0);
	}
	/* The counts, read under the lock while both run, never pass. */
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&sh.caps_lock);
		if (sh.caps.per_attach[7] > 16 || sh.caps.total > 64)
			w[0].over++;
		pthread_mutex_unlock(&sh.caps_lock);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(w[0].over, 0);
	CHECK(w[0].admitted > 0 && w[1].admitted > 0);
	CHECK_INT(sh.caps.total, 0);
	CHECK_INT(sh.caps.per_attach[7], 0);
	/* Filled to the cap by both, exactly: the next one is refused. */
	for (int i = 0; i < 16; i++)
		CHECK_INT(mdr_shared_admit(&sh, true, 7), MDR_ADMIT_OK);
	CHECK_INT(mdr_shared_admit(&sh, true, 7), MDR_ADMIT_ATTACH_FULL);
	mdr_shared_free(&sh);
}

struct rate_worker {
	struct mdr_shared *sh;
	unsigned int served;
};

static void *rate_loop(void *arg)
{
	struct rate_worker *w = arg;
	struct in6_addr guest = {
		.s6_addr = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 5 }
	};

	for (int i = 0; i < 5000; i++)
		w->served += !mdr_shared_rate_check(w->sh, 3, &guest, 1000);
	return NULL;
}

/* One guest's requests, served by two workers at once: exactly the limit
 * is served in the window, whoever serves them. */
static void test_rate_exact_across_threads(void)
{
	struct mdr_proxy_options o = options();
	struct rate_worker w[2];
	struct mdr_shared sh;
	pthread_t t[2];

	o.rate_limit = (struct mdr_rate_config){
		.enabled = true,
		.ip_versions = MDR_RATE_IPV4,
		.base_window_ms = 60000,
		.base_limit = 1000,
		.burst_window_ms = 60000,
		.burst_limit = 1000,
	};
	CHECK_INT(mdr_shared_init(&sh, &o, 64, 16), 0);
	for (int i = 0; i < 2; i++) {
		w[i] = (struct rate_worker){ .sh = &sh };
		CHECK_INT(pthread_create(&t[i], NULL, rate_loop, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(w[0].served + w[1].served, 1000);
	mdr_shared_free(&sh);
}

static int done_calls;
static const struct mdr_backend *done_be;

static void backend_done(void *ctx, const struct mdr_backend *be)
{
	(void)ctx;
	done_calls++;
	done_be = be;
}

/* A backend is the proxy's until its last user in any worker is gone,
 * the publication included, and then let go once. */
static void test_backend_done_once(void)
{
	static const struct mdr_backend next;
	struct mdr_proxy_options o = options();
	struct mdr_proxy_options got;
	struct mdr_backend_ref *first, *ref, *w0, *w1;
	struct mdr_shared sh;
	uint64_t epoch, seq;

	o.backend_done = backend_done;
	CHECK_INT(mdr_shared_init(&sh, &o, 64, 16), 0);
	first = sh.ref;
	mdr_shared_snapshot(&sh, &got, &w0, &epoch, &seq); /* worker 0 */
	mdr_shared_snapshot(&sh, &got, &w1, &epoch, &seq); /* worker 1 */
	CHECK(w0 == first && w1 == first && got.backend == o.backend);
	CHECK_INT(seq, 1);
	/* A reload publishes another backend; the first is still used. */
	o.backend = &next;
	ref = mdr_backend_ref_new(&next);
	mdr_shared_publish(&sh, &o, ref, 64, 16, NULL);
	CHECK(mdr_shared_newer(&sh, seq));
	mdr_backend_ref_put(&sh, w0);
	CHECK_INT(done_calls, 0);
	mdr_backend_ref_put(&sh, w1);
	CHECK_INT(done_calls, 1);
	CHECK(done_be != &next);
	/* Stopping lets the published one go. */
	mdr_shared_free(&sh);
	CHECK_INT(done_calls, 2);
	CHECK(done_be == &next);
}

/* A reload waits for every worker, and says which did not follow. */
static void test_wait_adopted(void)
{
	struct mdr_proxy_options o = options();
	struct mdr_shared sh;

	CHECK_INT(mdr_shared_init(&sh, &o, 64, 16), 0);
	mdr_shared_adopted(&sh, 0, 1);
	CHECK(!mdr_shared_wait_adopted(&sh, 1, 50));
	mdr_shared_adopted(&sh, 1, 1);
	CHECK(mdr_shared_wait_adopted(&sh, 1, 50));
	/* The watchdog hears of all or nothing. */
	mdr_shared_turned(&sh, 0, 5000);
	mdr_shared_turned(&sh, 1, 1000);
	CHECK(!mdr_shared_all_turned(&sh, 5000, 2000));
	mdr_shared_turned(&sh, 1, 4000);
	CHECK(mdr_shared_all_turned(&sh, 5000, 2000));
	mdr_shared_free(&sh);
}

int main(void)
{
	test_caps_exact_across_threads();
	test_rate_exact_across_threads();
	test_backend_done_once();
	test_wait_adopted();
	return check_summary();
}
