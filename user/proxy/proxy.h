/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metadata proxy: event-driven workers for every attachment, each a
 * thread with its own loop on its own listening socket.
 *
 * The daemon owns the listening sockets (they live in the proxy namespace)
 * and knows how to turn an accepted connection's addresses into an
 * attachment's identity; the proxy owns everything HTTP.
 *
 * Limits hold for all workers together (shared.h): the connection caps,
 * the rate limiter and the response cache are one each, under a mutex;
 * the backend idle pool is split among the workers.
 */
#ifndef MDR_PROXY_H
#define MDR_PROXY_H

#include "proxy/options.h"

/*
 * Runs the workers until *opts->stop (checked at least every 200 ms):
 * worker 0 on the caller's thread, the others on threads of their own,
 * all joined before it returns. Returns 0 or a negative errno (a worker
 * that failed stops them all). Sets SIGPIPE to SIG_IGN for the process
 * (sendfile() has no MSG_NOSIGNAL). Raises the soft RLIMIT_NOFILE (up to
 * the hard one) to what max_connections needs. -EINVAL if a connection cap
 * or a timeout is 0, or if opts->backend has not been through
 * mdr_backend_finish() (a nova backend without endpoint or TLS context).
 *
 * Statuses the proxy itself answers: 400 malformed request, 404 no
 * attachment (or, for nova, no instance id on it), 405 a method other than
 * GET, HEAD, POST (GET, HEAD for local), 408 head not received in time,
 * with imds_tokens the token path's 200, 400, 403 and 405 and 401 for a
 * token missing or not valid (session.c, token.h),
 * 414/431 request line or header block over its limit, 429 over the rate
 * limit, 502 backend broke the protocol or TLS failed, 503 backend
 * unreachable or too many connections (answered at accept, before any
 * request is read), 504 backend connect or response timed out.
 * Everything else is the backend's, passed through with its headers and
 * body.
 *
 * Access log, one line per request (text; see log_json() in access_log.c
 * for the same fields as JSON, opts->access_log_json):
 *   mdredir: access attach=tap0@qdhcp-x vm=10.0.0.5 "GET /path" 200 bytes=123 dur=1.2ms
 * with " error=<why>" appended when the request did not end cleanly
 * (aborted, timeout, backend died mid-response, why a backend failure
 * earned a 5xx, ...) and for every TLS failure toward the backend, with
 * OpenSSL's reason, e.g.
 *   error=TLS handshake with backend failed: certificate verify failed
 *   (unable to get local issuer certificate) attach=- when no
 * attachment owns the address; "- -" when the request could not be parsed.
 */
int mdr_proxy_run(const struct mdr_proxy_options *opts);

/*
 * A reload, from opts->on_reload: @next replaces the options in force,
 * complete as for mdr_proxy_run() and with the same listeners, workers and
 * stop flag (the listening sockets are never closed or made again, so no
 * guest is refused). It returns once every worker serves with @next (or
 * after 2 s, with a warning naming a worker that did not yet, which then
 * does at its next turn). Requests from now on are served with @next;
 * each request under way ends with the backend and timeouts it started
 * with, and a connection between two requests takes the new ones for its
 * next. The response cache is kept unless its size, its ttl or the
 * backend changed (then it is emptied, and a response still coming from
 * the old backend is not kept); the rate limiter's counts start afresh if
 * its settings changed; connections over a lowered cap stay open.
 *
 * 0: done, and next->backend is the proxy's until opts->backend_done.
 * -EINVAL (bad options) or -errno: nothing changed at all, and the
 * backend is still the caller's.
 */
int mdr_proxy_reconfigure(struct proxy *p,
			  const struct mdr_proxy_options *next);

#endif
