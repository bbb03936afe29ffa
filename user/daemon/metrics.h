/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's metrics in Prometheus' text exposition format (0.0.4):
 * what the pinned maps count (requests by status class, bytes, BPF packets
 * and drops, per attachment), the request latency histograms kept here,
 * the proxy's own counters (proxy/counters.h) and the sources' state.
 * The README's "Metrics" lists every metric; metrics_server.h serves them.
 *
 * Labels stay bounded: per attachment only its id and what the operator
 * named it by (interface, namespace, source), each a function of the id,
 * so there are at most MDR_MAX_ATTACH label sets; never a guest's address
 * or an instance's or project's id, which are unbounded and come and go.
 */
#ifndef MDR_METRICS_H
#define MDR_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "control/pinned_state.h"
#include "proxy/options.h"

/* The latency histogram's upper bounds, in seconds (metrics.c). */
#define MDR_METRICS_BUCKETS 13

/* One attachment's latencies: counts per bucket (not cumulative), the
 * last one above every bound, and the sum in microseconds. */
struct mdr_latency {
	uint64_t bucket[MDR_METRICS_BUCKETS + 1];
	uint64_t sum_us;
};

struct mdr_metrics {
	const struct mdr_state *st;
	/* The mmapped request counters, by attachment id; NULL: zeros. */
	const struct mdr_http_stats *http;
	const struct mdr_proxy_counters *proxy; /* NULL: not printed */
	/* By attachment id (0..MDR_MAX_ATTACH), written by the proxy's
	 * thread, read by the exporter's: relaxed atomics. */
	struct mdr_latency *latency;
};

/* Allocates the histograms; 0 or -ENOMEM. The rest is the caller's. */
int mdr_metrics_init(struct mdr_metrics *m);
void mdr_metrics_free(struct mdr_metrics *m);

/* Counts one finished request into its attachment's histogram. */
void mdr_metrics_count(struct mdr_metrics *m,
		       const struct mdr_request_record *rec);

/* Every metric, as the body of a scrape; 0 or -errno. */
int mdr_metrics_write(const struct mdr_metrics *m, FILE *out);

#endif
