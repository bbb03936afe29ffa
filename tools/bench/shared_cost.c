// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the state the proxy's workers share costs a request
 * (user/proxy/shared.c): a connection's admit and release under the caps'
 * mutex and a request's check under the rate limiter's, the calls a
 * worker makes, timed from one thread and then from one thread per CPU
 * at once (each pinned to its own), so that the figures say what the
 * locks cost uncontended and how they bear contention. tools/bench.sh
 * reads its JSON; a many-core estimate divides the locks' hold time into
 * the rate they would have to serve.
 *
 *   shared_cost [SECONDS]    one JSON object on stdout
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy/shared.h"

#define GUESTS	  1000 /* distinct guests the limiter tracks */
#define BATCH	  1024 /* calls between two looks at the clock */
#define MAX_CPUS  64
#define ATTACH_ID 7

struct runner {
	pthread_t thread;
	struct mdr_shared *sh;
	unsigned int cpu;
	double seconds;
	unsigned long long calls; /* one admit, release and rate check each */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct runner *r = arg;
	struct in6_addr addr = { .s6_addr = { [10] = 0xff, [11] = 0xff } };
	double end;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	end = now_s() + r->seconds;
	for (double t = now_s(); t < end; t = now_s()) {
		uint64_t now_ms = (uint64_t)(t * 1e3);

		for (unsigned int i = 0; i < BATCH; i++) {
			uint32_t guest = (uint32_t)(r->calls + i) % GUESTS;

			memcpy(&addr.s6_addr[12], &guest, sizeof(guest));
			if (mdr_shared_admit(r->sh, true, ATTACH_ID) ==
			    MDR_ADMIT_OK)
				mdr_shared_release(r->sh, true, ATTACH_ID);
			mdr_shared_rate_check(r->sh, ATTACH_ID, &addr, now_ms);
		}
		r->calls += BATCH;
	}
	return NULL;
}

/* n threads at once for seconds: calls per second, all together. */
static double measure(struct mdr_shared *sh, unsigned int n, double seconds)
{
	struct runner r[MAX_CPUS] = {};
	unsigned long long calls = 0;

	for (unsigned int i = 0; i < n; i++) {
		r[i] = (struct runner){ .sh = sh,
					.cpu = i,
					.seconds = seconds };
		if (pthread_create(&r[i].thread, NULL, run, &r[i])) {
			fprintf(stderr, "shared_cost: cannot start a thread\n");
			exit(1);
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(r[i].thread, NULL);
		calls += r[i].calls;
	}
	return calls / seconds;
}

int main(int argc, char **argv)
{
	/* The limiter as Neutron's defaults have it, never refusing here:
	 * the cost of counting is what is timed, not of refusing. */
	struct mdr_proxy_options o = {
		.workers = 1,
		.rate_limit = { .enabled = true,
				.ip_versions = MDR_RATE_IPV4 | MDR_RATE_IPV6,
				.base_window_ms = 10000,
				.base_limit = 1u << 30,
				.burst_window_ms = 1000,
				.burst_limit = 1u << 30 },
	};
	struct mdr_shared sh;
	double seconds = argc > 1 ? atof(argv[1]) : 2, one, all;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int err;

	if (seconds <= 0) {
		fprintf(stderr, "usage: shared_cost [SECONDS > 0]\n");
		return 2;
	}
	cpus = cpus < 1 ? 1 : cpus > MAX_CPUS ? MAX_CPUS : cpus;
	err = mdr_shared_init(&sh, &o, 1u << 30, 1u << 30);
	if (err) {
		fprintf(stderr, "shared_cost: %s\n", strerror(-err));
		return 1;
	}
	one = measure(&sh, 1, seconds);
	all = measure(&sh, (unsigned int)cpus, seconds);
	/* Each call is one admit, one release and one rate check: a
	 * connection per request's share of the locks. */
	printf("{\"seconds\":%g,\"cpus\":%ld,\"ns_per_request_one_thread\":%.1f,"
	       "\"requests_per_s_one_thread\":%.0f,"
	       "\"ns_per_request_all_threads\":%.1f,"
	       "\"requests_per_s_all_threads\":%.0f}\n",
	       seconds, cpus, 1e9 / one, one, 1e9 * cpus / all, all);
	mdr_shared_free(&sh);
	return 0;
}
