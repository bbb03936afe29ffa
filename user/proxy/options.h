/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the daemon hands the proxy (mdr_proxy_run() in proxy.h): the
 * listening socket, the backend, how to identify a guest, what to do with
 * each finished request, and the limits. Its own header, so the proxy's
 * files read the options without depending on the file that runs them.
 */
#ifndef MDR_PROXY_OPTIONS_H
#define MDR_PROXY_OPTIONS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "backends/spec.h"
#include "lib/identity.h"
#include "proxy/admission.h"
#include "proxy/counters.h"
#include "proxy/token.h"

/*
 * Resolves an accepted connection to its attachment from the local (service)
 * and peer (guest) addresses. Returns 0, or -ENOENT when no attachment owns
 * the local address (the proxy then answers 404 and closes).
 */
typedef int (*mdr_identify_fn)(void *ctx, const struct sockaddr *local,
			       const struct sockaddr *peer,
			       struct mdr_identity *id);

/* One finished request, for counters and the access log. */
struct mdr_request_record {
	const struct mdr_identity *id; /* NULL when the connection had none */
	const char *method;
	const char *path;
	int status;
	uint64_t bytes_in;  /* request bytes read from the guest */
	uint64_t bytes_out; /* response bytes written to the guest */
	double duration_ms;
};

struct proxy;

struct mdr_proxy_options {
	/*
	 * The workers, each a thread with its own loop on its own listening
	 * socket, listen_fds[i] (non-blocking, already listening; the
	 * daemon's are SO_REUSEPORT sockets on one address, so the kernel
	 * spreads guests over them). Worker 0 runs on the caller's thread.
	 * 1..MDR_WORKERS_MAX, fixed for the proxy's life.
	 */
	const int *listen_fds;
	unsigned int workers;
	const struct mdr_backend *backend;
	mdr_identify_fn identify;
	void *identify_ctx;
	/* Called once per finished request (may be NULL). */
	void (*on_request)(void *ctx, const struct mdr_request_record *rec);
	void *on_request_ctx;
	/*
	 * Called on worker 0's thread at its turns, at least every 200 ms,
	 * while every worker has turned lately (may be NULL): a sign of life
	 * that stops when any worker's loop hangs.
	 */
	void (*on_turn)(void *ctx);
	void *on_turn_ctx;
	FILE *access_log;	     /* one line per request; NULL for none */
	bool access_log_json;	     /* JSON objects rather than text lines */
	volatile sig_atomic_t *stop; /* the loop returns soon after *stop != 0 */
	/* Where the proxy counts itself (counters.h); NULL: nowhere. */
	struct mdr_proxy_counters *counters;
	/*
	 * Reload (NULL: none): soon after *reload != 0 worker 0 clears it and
	 * calls on_reload(on_reload_ctx, proxy) on its own thread, between
	 * two turns, where the caller may hand new options to
	 * mdr_proxy_reconfigure().
	 *
	 * The callbacks (identify, on_request, backend_done) are called on
	 * any worker's thread, at once from several.
	 */
	volatile sig_atomic_t *reload;
	void (*on_reload)(void *ctx, struct proxy *p);
	void *on_reload_ctx;
	/*
	 * Called once for each backend given to the proxy when no request
	 * uses it any more: replaced by a reload and its last request ended,
	 * or the proxy stopped (may be NULL).
	 */
	void (*backend_done)(void *ctx, const struct mdr_backend *be);
	void *backend_done_ctx;
	/*
	 * Every field below is required: the proxy has no defaults of its own
	 * (they are the daemon's settings, mdr_settings_proxy_options()).
	 *
	 * Guest connections open at once, in all and per attachment. A guest
	 * over either gets a prompt 503 and a close, never a wait in the
	 * accept queue.
	 */
	unsigned int max_connections;
	unsigned int max_connections_per_attachment;
	/*
	 * Per-guest (attachment and address) request rate limits, Neutron's
	 * [metadata_rate_limiting] in milliseconds; a guest over either
	 * window's limit gets 429 with Retry-After. Disabled when !enabled.
	 */
	struct mdr_rate_config rate_limit;
	/*
	 * Timeouts in milliseconds, none 0. They mirror haproxy's, under
	 * the names of Neutron's [metadata_haproxy]:
	 *
	 * http_request: from accepting a connection, or from the first byte
	 *   of a later request on it, to that request's complete head
	 *   (haproxy "timeout http-request"). A guest that runs out of
	 *   it mid-head gets 408, one that sent nothing is closed silently.
	 * keepalive: how long a kept-alive connection may stay idle between
	 *   a response and the next request's first byte (haproxy "timeout
	 *   http-keep-alive"). Then it is closed silently.
	 * client: inactivity while the guest is in the middle of a request
	 *   body or of reading a response (haproxy "timeout client").
	 * server: inactivity while waiting for the backend's response head
	 *   or body (haproxy "timeout server"). The guest gets 504 if
	 *   no response head came in time.
	 * connect: connecting to the backend, TLS handshake included
	 *   (haproxy "timeout connect"). The guest gets 504.
	 */
	unsigned int timeout_http_request_ms;
	unsigned int timeout_keepalive_ms;
	unsigned int timeout_client_ms;
	unsigned int timeout_server_ms;
	unsigned int timeout_connect_ms;
	/*
	 * The response cache for boot storms (see cache.h): GET 200s from a
	 * neutron or nova backend kept cache_ttl_ms, in cache_max_bytes at
	 * most; either 0 turns it off.
	 */
	unsigned int cache_ttl_ms;
	size_t cache_max_bytes;
	/*
	 * Keep backend connections open between requests, in a small idle
	 * pool ([mdredir] backend_keepalive), for neutron backends and nova
	 * over plain HTTP; nova over https keeps one connection per request.
	 * false: one backend connection per request, like haproxy's
	 * "option http-server-close".
	 */
	bool backend_keepalive;
	/*
	 * IMDSv2-style session tokens ([mdredir] imds_tokens, token.h):
	 * off, or PUT /latest/api/token answered by the proxy with a token
	 * under token_key, which requests may (optional) or must (required)
	 * carry. The key is the daemon's (daemon/token_key.h).
	 */
	enum mdr_imds_tokens imds_tokens;
	struct mdr_token_key token_key;
};

#endif
