/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the proxy counts of itself, for the metrics exporter: one struct
 * the proxy's thread updates and another thread reads, so every access is
 * a relaxed atomic (a counter read mid-update is merely a moment old).
 * Per attachment counts live elsewhere (the mmapped mdr_http_stats, the
 * daemon's latency histograms); these are the proxy's as a whole.
 */
#ifndef MDR_PROXY_COUNTERS_H
#define MDR_PROXY_COUNTERS_H

#include <stdint.h>

/*
 * X(field, Prometheus type, metric name, help): the one list, which the
 * exporter prints from. Gauges go up and down, counters only up.
 */
#define MDR_PROXY_COUNTERS(X)                                                  \
	X(connections_open, "gauge", "mdredir_connections_open",               \
	  "Guest connections open now.")                                       \
	X(connections_refused, "counter", "mdredir_connections_refused_total", \
	  "Guest connections answered 503 at once: a connection cap reached, " \
	  "or out of file descriptors.")                                       \
	X(rate_limited, "counter", "mdredir_rate_limited_total",               \
	  "Requests answered 429, over [metadata_rate_limiting].")             \
	X(backend_errors, "counter", "mdredir_backend_errors_total",           \
	  "Requests answered 502 or 503 because the backend could not be "     \
	  "reached, failed TLS or broke HTTP, or cut short as it died.")       \
	X(backend_timeouts, "counter", "mdredir_backend_timeouts_total",       \
	  "Requests the backend did not connect, answer or finish in time "    \
	  "(504, or a response cut short).")                                   \
	X(guest_timeouts, "counter", "mdredir_guest_timeouts_total",           \
	  "Requests a guest did not send or read in time (408, or closed).")   \
	X(cache_hits, "counter", "mdredir_cache_hits_total",                   \
	  "GET requests answered from the response cache.")                    \
	X(cache_misses, "counter", "mdredir_cache_misses_total",               \
	  "Cacheable GET requests the response cache could not answer.")       \
	X(tokens_issued, "counter", "mdredir_imds_tokens_issued_total",        \
	  "IMDS session tokens issued (PUT /latest/api/token).")               \
	X(token_refused, "counter", "mdredir_imds_token_refused_total",        \
	  "Requests answered 401: an IMDS session token missing where one "    \
	  "is required, or not valid.")

/* Workers at most: the backend idle pool (MDR_POOL_MAX) is split among
 * them, a connection or more each. */
#define MDR_WORKERS_MAX 64

struct mdr_proxy_counters {
#define MDR_PROXY_X_FIELD(f, type, name, help) uint64_t f;
	MDR_PROXY_COUNTERS(MDR_PROXY_X_FIELD)
#undef MDR_PROXY_X_FIELD
	/* Guest connections each worker accepted, the first workers of
	 * them: the spread SO_REUSEPORT gives. */
	unsigned int workers;
	uint64_t worker_connections[MDR_WORKERS_MAX];
};

static inline void mdr_counter_add(uint64_t *c, int64_t n)
{
	__atomic_fetch_add(c, (uint64_t)n, __ATOMIC_RELAXED);
}

static inline uint64_t mdr_counter_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif
