/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The neutron and nova backends: one backend connection per guest request,
 * or, with backend_keepalive, one taken from a small idle pool. The
 * rewritten head and the request body go out, the response head comes
 * back to be checked and rewritten, and the body is relayed as it arrives,
 * its framing tracked so the guest connection can be reused afterwards.
 *
 * The pool: a backend connection is parked (LIFO, pool_max at most: each
 * worker's share of MDR_POOL_MAX, dropped after MDR_POOL_IDLE_MS idle) only when its exchange ended
 * cleanly: the request fully sent, the response framed by Content-Length
 * or chunked (never close-delimited) and fully read, nothing extra after
 * it, and no "Connection: close" from the backend. Idle sockets stay in
 * epoll, so a backend closing one is noticed and it is freed. Reuse across
 * guests is safe: the identity headers (X-Forwarded-For, X-Neutron-*,
 * X-Instance-ID and its signature) are written for every request, and the
 * backend trusts each request's own headers, never the connection's past.
 * A bodiless GET or HEAD that a reused connection fails before any
 * response byte (the backend closed it meanwhile) is sent again, once, on
 * a fresh connection; other requests never take a pooled connection. Nova
 * over https keeps one connection per request: no pooling with TLS.
 *
 * Over https the same steps run through OpenSSL on the non-blocking socket:
 * each SSL call that cannot go on says whether it waits to read or to
 * write (a read may need to write, and the other way round), and that, not
 * the direction of the data, is what the socket is watched for.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "backends/kinds.h"
#include "http/rewrite.h"
#include "lib/log.h"
#include "lib/tls.h"
#include "proxy/relay.h"

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void tls_free(struct relay *r)
{
	if (r->tls.ssl) {
		/* The socket BIO leaves the fd to us. */
		SSL_free(r->tls.ssl);
		r->tls.ssl = NULL;
	}
}

/* Closes r's backend connection, if any, and frees the pool slot it was
 * lent from. */
static void backend_close(struct relay_env *re, struct relay *r)
{
	if (r->fd < 0)
		return;
	close(r->fd); /* also leaves the epoll set */
	if (r->pool.slot >= 0) {
		re->idle[r->pool.slot].fd = -1;
		re->idle[r->pool.slot].ep.c = NULL;
		r->pool.slot = -1;
	}
	r->fd = -1;
	r->ev = 0;
}

void relay_close(struct relay_env *re, struct relay *r)
{
	tls_free(r);
	backend_close(re, r);
	mdr_buf_put(re->bufs, &r->in);
	mdr_buf_put(re->bufs, &r->out);
	if (mdr_cache_capturing(&r->cap))
		mdr_cache_capture_end(&r->cap);
	r->outcome.status = 0;
}

void relay_init(struct relay *r, struct conn *owner)
{
	r->fd = -1;
	r->pool.slot = -1;
	r->ep = (struct endpoint){ owner, true, -1, NULL };
}

/* ---- the idle pool ---- */

static void pool_unstack(struct relay_env *re, unsigned int i)
{
	memmove(&re->idle_stack[i], &re->idle_stack[i + 1], re->n_idle - i - 1);
	re->n_idle--;
}

static void pool_drop_at(struct relay_env *re, unsigned int i)
{
	struct idle_backend *ib = &re->idle[re->idle_stack[i]];

	close(ib->fd); /* also leaves the epoll set */
	ib->fd = -1;
	pool_unstack(re, i);
}

void relay_env_init(struct relay_env *re, struct mdr_loop *loop,
		    const struct mdr_backend *be, struct mdr_buf_pool *bufs,
		    struct mdr_cache *cache, uint64_t cache_epoch,
		    bool keepalive, unsigned int pool_max)
{
	re->loop = loop;
	re->be = be;
	re->bufs = bufs;
	re->cache = cache;
	re->cache_epoch = cache_epoch;
	re->pool_max = pool_max < MDR_POOL_MAX ? pool_max : MDR_POOL_MAX;
	re->pool_on = keepalive && re->pool_max && !be->tls &&
		      mdr_backend_ops(be)->relayed;
	re->n_idle = 0;
	for (int i = 0; i < MDR_POOL_MAX; i++) {
		re->idle[i].fd = -1;
		re->idle[i].ep = (struct endpoint){ NULL, true, i, re };
	}
}

static void forget_tls_session(struct relay_env *re)
{
	SSL_SESSION_free(re->tls_session);
	re->tls_session = NULL;
}

void relay_env_free(struct relay_env *re)
{
	relay_env_drain(re);
	forget_tls_session(re);
}

void relay_env_drain(struct relay_env *re)
{
	while (re->n_idle)
		pool_drop_at(re, re->n_idle - 1);
	re->pool_on = false;
}

/* An idle backend socket must have nothing to say: EOF, an error or stray
 * bytes all mean it cannot carry another request. */
static bool idle_usable(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* epoll woke an idle slot (a lent one wakes its conn instead): the
 * backend closed it, or said something unasked. Either way it is done. */
void relay_pool_event(struct relay_env *re, int slot)
{
	if (slot < 0 || slot >= MDR_POOL_MAX || re->idle[slot].fd < 0 ||
	    idle_usable(re->idle[slot].fd))
		return; /* stale: the slot was emptied or refilled */
	for (unsigned int i = 0; i < re->n_idle; i++) {
		if (re->idle_stack[i] == slot) {
			pool_drop_at(re, i);
			return;
		}
	}
}

/* The stack is in parking order, so the oldest are at the bottom. Checked
 * every loop turn, which is at least every 200 ms. */
void relay_pool_expire(struct relay_env *re)
{
	while (re->n_idle &&
	       re->loop->now_ms - re->idle[re->idle_stack[0]].since_ms >=
		       MDR_POOL_IDLE_MS)
		pool_drop_at(re, 0);
}

/*
 * Lends r the most recently parked backend connection. Not probed first:
 * one the backend closed meanwhile (its event not yet seen) fails the
 * request before any answer, and the request, a bodiless GET or HEAD, is
 * sent again on a fresh connection (retry_fresh()).
 */
static bool pool_take(struct relay_env *re, struct relay *r)
{
	while (re->n_idle) {
		unsigned int top = re->n_idle - 1;
		int slot = re->idle_stack[top];
		struct idle_backend *ib = &re->idle[slot];

		if (re->loop->now_ms - ib->since_ms >= MDR_POOL_IDLE_MS) {
			pool_drop_at(re, top);
			continue;
		}
		pool_unstack(re, top);
		ib->ep.c = r->ep.c;
		r->fd = ib->fd;
		r->ev = ib->events;
		r->pool.slot = slot;
		return true;
	}
	return false;
}

/* Parks r's backend connection after a clean exchange (see the top): in
 * the slot it was lent from, or in a free one. */
static bool pool_put(struct relay_env *re, struct relay *r,
		     const struct exchange *x)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct idle_backend *ib = NULL;

	if (!re->pool_on || r->tls.ssl || r->fd < 0 || r->close || r->in_eof ||
	    r->out_broken || mdr_buf_len(&r->in) || mdr_buf_len(&r->out) ||
	    !x->req_body.done || !r->body.done || x->note ||
	    r->body.kind == MDR_BODY_CLOSE)
		return false;
	if (r->pool.slot >= 0) {
		ib = &re->idle[r->pool.slot];
	} else {
		if (re->n_idle >= re->pool_max)
			pool_drop_at(re, 0); /* the oldest makes room */
		for (int i = 0; i < MDR_POOL_MAX && !ib; i++)
			if (re->idle[i].fd < 0)
				ib = &re->idle[i];
		if (!ib)
			return false; /* every slot is lent out */
	}
	ev.data.ptr = &ib->ep;
	if ((r->pool.slot < 0 || r->ev != ev.events) &&
	    epoll_ctl(re->loop->epfd, r->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		      r->fd, &ev)) {
		pr_warn("proxy: cannot keep an idle backend connection, "
			"closing it (epoll_ctl: %s)",
			strerror(errno));
		return false;
	}
	ib->fd = r->fd;
	ib->events = ev.events;
	ib->since_ms = re->loop->now_ms;
	ib->ep.c = NULL;
	re->idle_stack[re->n_idle++] = ib->ep.slot;
	r->fd = -1;
	r->ev = 0;
	r->pool.slot = -1;
	return true;
}

/* Gives up on the exchange: the session answers the guest with status. */
static void fail(struct relay *r, int status, const char *what, int err)
{
	if (err)
		snprintf(r->outcome.why, sizeof(r->outcome.why), "%s: %s", what,
			 strerror(err));
	else
		snprintf(r->outcome.why, sizeof(r->outcome.why), "%s", what);
	r->outcome.status = status;
}

/*
 * Puts why a TLS call failed into x->note for the access log, in OpenSSL's
 * words, with the certificate check's verdict when that was the cause.
 * The first failure of a request is the one kept.
 */
static void tls_note(struct relay *r, struct exchange *x, const char *what,
		     int ssl_err)
{
	if (x->note)
		return;
	mdr_tls_why(r->tls.ssl, ssl_err, what,
		    "connection closed by the backend", r->why, sizeof(r->why));
	x->note = r->why;
}

/* TCP is up: plain backends are ready, https ones start the handshake. */
static void backend_connected(struct relay_env *re, struct relay *r,
			      struct exchange *x)
{
	const struct mdr_backend *be = re->be;
	SSL *ssl;

	if (!be->tls) {
		r->rs = RS_HEAD;
		return;
	}
	ERR_clear_error();
	ssl = SSL_new(be->ssl_ctx);
	if (!ssl || SSL_set_fd(ssl, r->fd) != 1 ||
	    (!be->host_is_ip && SSL_set_tlsext_host_name(ssl, be->host) != 1) ||
	    (!be->insecure &&
	     (be->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(
				       SSL_get0_param(ssl), be->host) != 1
			     : SSL_set1_host(ssl, be->host) != 1))) {
		SSL_free(ssl);
		tls_note(r, x, "cannot start TLS with backend", SSL_ERROR_SSL);
		fail(r, 502, "cannot start TLS with the backend", 0);
		return;
	}
	/* Resumption skips the certificate check, which is sound only
	 * because every session here was verified for this same backend. */
	if (re->tls_session)
		SSL_set_session(ssl, re->tls_session);
	SSL_set_connect_state(ssl);
	r->tls.ssl = ssl;
	r->rs = RS_HANDSHAKE;
	r->tls.hs_ev = EPOLLOUT;
	r->tls.rd_ev = EPOLLIN;
	r->tls.wr_ev = EPOLLOUT;
	/* The connect timer keeps running: it covers the handshake too. */
}

/*
 * After a clean exchange, so TLS 1.3 tickets (sent after the handshake)
 * have arrived: says goodbye (OpenSSL marks a session freed without
 * close_notify as not resumable) and keeps the session for the next one.
 */
static void tls_keep_session(struct relay_env *re, struct relay *r)
{
	SSL_SESSION *s;

	ERR_clear_error();
	SSL_shutdown(r->tls.ssl); /* one alert, not waiting for the reply */
	ERR_clear_error();
	s = SSL_get1_session(r->tls.ssl);
	if (!s)
		return;
	if (s == re->tls_session || !SSL_SESSION_is_resumable(s)) {
		SSL_SESSION_free(s);
		return;
	}
	SSL_SESSION_free(re->tls_session);
	re->tls_session = s;
}

static void tls_handshake(struct relay_env *re, struct relay *r,
			  struct exchange *x, bool *progress)
{
	int ret, e;

	ERR_clear_error();
	ret = SSL_do_handshake(r->tls.ssl);
	if (ret == 1) {
		r->rs = RS_HEAD;
		*progress = true;
		return;
	}
	e = SSL_get_error(r->tls.ssl, ret);
	if (e == SSL_ERROR_WANT_READ) {
		r->tls.hs_ev = EPOLLIN;
	} else if (e == SSL_ERROR_WANT_WRITE) {
		r->tls.hs_ev = EPOLLOUT;
	} else {
		tls_note(r, x, "TLS handshake with backend failed", e);
		forget_tls_session(re); /* start over with a full one */
		fail(r, 502, "TLS handshake with the backend failed", 0);
	}
}

/* Opens a fresh backend connection for r; on failure, the outcome says. */
static void backend_open(struct relay_env *re, struct relay *r,
			 struct exchange *x)
{
	const struct mdr_backend *be = re->be;
	struct epoll_event ev = { .data.ptr = &r->ep };

	r->fd = socket(be->addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0) {
		fail(r, 503, "cannot create backend socket", errno);
		return;
	}
	if (!connect(r->fd, (const struct sockaddr *)&be->addr, be->addrlen)) {
		r->rs = RS_HEAD; /* for now: see backend_connected() below */
	} else if (errno == EINPROGRESS) {
		r->rs = RS_CONNECTING;
	} else if (errno == EAGAIN) {
		/* A unix socket whose listen queue is full. */
		fail(r, 503, "backend busy (listen queue full)", 0);
		return;
	} else {
		/* Unix sockets fail here at once: ENOENT, ECONNREFUSED. */
		fail(r, 503, "backend unreachable", errno);
		return;
	}
	/* Connected already (a unix socket): the request is written at once,
	 * and EPOLLOUT asked for only if it does not all fit. */
	ev.events = r->rs == RS_CONNECTING ? EPOLLOUT : EPOLLIN;
	r->drained = false;
	if (epoll_ctl(re->loop->epfd, EPOLL_CTL_ADD, r->fd, &ev)) {
		fail(r, 503, "cannot watch backend socket", errno);
		return;
	}
	r->ev = ev.events;
	if (r->rs == RS_HEAD)
		backend_connected(re, r, x);
}

/*
 * A pooled connection the backend had closed meanwhile failed the request
 * before any answer: resends it, once, on a fresh connection. Only bodiless
 * GET and HEAD take pooled connections, so the request is its head alone,
 * still at the start of out (nothing else is ever written there).
 */
static bool retry_fresh(struct relay_env *re, struct relay *r,
			struct exchange *x)
{
	if (!r->pool.reused || r->pool.retried || !r->pool.retryable ||
	    r->pool.got_bytes)
		return false;
	backend_close(re, r);
	r->pool.reused = false;
	r->pool.retried = true;
	memset(&r->parser, 0, sizeof(r->parser));
	mdr_buf_reset(&r->in);
	r->in_eof = r->out_broken = false;
	r->err = 0;
	x->close_after = r->pool.close_after;
	r->out.head = 0;
	r->out.tail = r->pool.head_len;
	backend_open(re, r, x);
	return true;
}

void relay_start(struct relay_env *re, struct relay *r, struct exchange *x,
		 const struct mdr_identity *id, const struct mdr_http_head *req,
		 const char *cache_key, size_t key_len)
{
	int n;

	r->outcome.status = 0;
	if (cache_key)
		mdr_cache_capture_begin(re->cache, &r->cap, cache_key, key_len,
					re->cache_epoch);
	if (mdr_buf_get(re->bufs, &r->in) || mdr_buf_get(re->bufs, &r->out)) {
		fail(r, 503, "proxy out of memory", 0);
		return;
	}
	memset(&r->parser, 0, sizeof(r->parser));
	r->in_eof = r->out_broken = r->tls.write_failed = false;
	r->drained = false;
	r->err = 0;
	r->pool.reused = r->pool.got_bytes = r->pool.retried = r->close = false;
	r->pool.close_after = x->close_after;
	/* Done already: no body at all, or Content-Length: 0. */
	r->pool.retryable = (mdr_str_eq(req->method, "GET") || x->is_head) &&
			    x->req_body.done;

	n = mdr_rewrite_request_conn(req, id, re->be, re->pool_on, r->out.p,
				     r->out.cap);
	if (n < 0) {
		if (n == -EIO)
			x->note = "cannot sign the request for nova";
		fail(r, n == -EIO ? 500 : 431,
		     n == -EIO ? "cannot sign the request"
			       : "request head too large to forward",
		     0);
		return;
	}
	r->out.tail = n;
	r->pool.head_len = n;

	/* POST and the like always get a fresh connection: their body could
	 * not be sent again if a pooled one turned out to be closed. */
	if (re->pool_on && r->pool.retryable && pool_take(re, r)) {
		r->pool.reused = true;
		backend_connected(re, r, x); /* plain: waits for the response */
	} else {
		backend_open(re, r, x);
	}
	if (r->outcome.status)
		return; /* no backend, or TLS could not start */

	/* The backend never sees Expect (see rewrite.c): we invite the body
	 * ourselves, since we will read it whatever the backend says. */
	if (req->expect_continue && x->minor >= 1 && !x->req_body.done) {
		memcpy(mdr_buf_end(&x->out), continue_100,
		       sizeof(continue_100) - 1);
		x->out.tail += sizeof(continue_100) - 1;
	}
}

bool relay_event(struct relay_env *re, struct relay *r, struct exchange *x)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int), slen = sizeof(ss);
	int err = 0;

	if (r->fd < 0)
		return false; /* stale: that backend socket is gone */
	r->drained = false;
	/*
	 * Otherwise HUP and ERR need nothing special: what the backend sent
	 * before hanging up is still queued, and recv() reports the end
	 * after it.
	 */
	if (r->rs != RS_CONNECTING)
		return true;
	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (!err && getpeername(r->fd, (struct sockaddr *)&ss, &slen)) {
		if (errno == ENOTCONN)
			return true; /* not yet: a stale wakeup */
		err = errno;
	}
	if (err) {
		fail(r, 503, "backend unreachable", err);
		return true;
	}
	backend_connected(re, r, x);
	return true;
}

/* The backend is gone for good; whatever it sent is still in r->in. */
static void backend_gone(struct relay_env *re, struct relay *r,
			 struct exchange *x, int err)
{
	tls_free(r);
	backend_close(re, r);
	r->in_eof = true;
	r->err = err;
	r->out_broken = true;
	mdr_buf_reset(&r->out);
	if (!x->req_body.done)
		x->close_after = true; /* rest of the body unread */
}

/* Request body: guest -> r->out, as far as its framing goes. */
static int pump_request(struct relay *r, struct exchange *x, bool *progress)
{
	size_t used;
	ssize_t n;

	if (x->req_body.done || r->out_broken)
		return 0;
	n = mdr_body_copy(&x->req_body, mdr_buf_data(&x->in),
			  mdr_buf_len(&x->in), mdr_buf_end(&r->out),
			  mdr_buf_room(&r->out), &used);
	if (n < 0) {
		if (r->rs == RS_BODY)
			return -EBADMSG; /* a response is already underway */
		fail(r, 400, "malformed chunked request body", 0);
		return 0;
	}
	mdr_buf_consume(&x->in, used);
	r->out.tail += n;
	x->bytes_in += used;
	if (used || n)
		*progress = true;
	if (!x->req_body.done && x->in_eof && !mdr_buf_len(&x->in)) {
		x->note = "guest closed mid-body";
		return -ECONNRESET;
	}
	return 0;
}

static void backend_write_tls(struct relay *r, struct exchange *x,
			      bool *progress)
{
	int n, e;

	ERR_clear_error();
	n = SSL_write(r->tls.ssl, mdr_buf_data(&r->out), mdr_buf_len(&r->out));
	if (n > 0) {
		mdr_buf_consume(&r->out, n);
		r->tls.wr_ev = EPOLLOUT;
		*progress = true;
		return;
	}
	e = SSL_get_error(r->tls.ssl, n);
	if (e == SSL_ERROR_WANT_WRITE) {
		r->tls.wr_ev = EPOLLOUT;
	} else if (e == SSL_ERROR_WANT_READ) {
		r->tls.wr_ev = EPOLLIN;
	} else {
		/* Kept only if reading says nothing better: a server that
		 * refuses us after the handshake (TLS 1.3 checks the client
		 * certificate then) may have sent its alert before the reset
		 * that failed this write. */
		tls_note(r, x, "TLS write to backend failed", e);
		r->tls.write_failed = true;
		r->out_broken = true;
		mdr_buf_reset(&r->out);
		x->close_after = true;
		*progress = true;
	}
}

static void backend_write(struct relay *r, struct exchange *x, bool *progress)
{
	ssize_t n;

	if (r->fd < 0 || r->out_broken || !mdr_buf_len(&r->out))
		return;
	if (r->tls.ssl) {
		backend_write_tls(r, x, progress);
		return;
	}
	n = send(r->fd, mdr_buf_data(&r->out), mdr_buf_len(&r->out),
		 MSG_NOSIGNAL);
	if (n > 0) {
		mdr_buf_consume(&r->out, n);
		/* Any answer to it comes after this: epoll will say. */
		r->drained = true;
		*progress = true;
	} else if (errno != EAGAIN && errno != EINTR) {
		/* It may still have answered (say, 413): keep reading. */
		r->out_broken = true;
		mdr_buf_reset(&r->out);
		x->close_after = true;
		*progress = true;
	}
}

/*
 * Like the plain path, one read per step, so the response head is parsed
 * before the backend's close is noticed. But more while OpenSSL still
 * holds bytes it has taken off the socket: those would never wake epoll.
 */
static void backend_read_tls(struct relay_env *re, struct relay *r,
			     struct exchange *x, bool *progress)
{
	size_t room;
	int n, e;

	while ((room = mdr_buf_room(&r->in))) {
		ERR_clear_error();
		n = SSL_read(r->tls.ssl, mdr_buf_end(&r->in),
			     room > INT32_MAX ? INT32_MAX : (int)room);
		if (n > 0) {
			r->in.tail += n;
			r->tls.rd_ev = EPOLLIN;
			*progress = true;
			if (SSL_has_pending(r->tls.ssl))
				continue;
			return;
		}
		e = SSL_get_error(r->tls.ssl, n);
		if (e == SSL_ERROR_WANT_READ) {
			r->tls.rd_ev = EPOLLIN;
			return;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			r->tls.rd_ev = EPOLLOUT;
			return;
		}
		*progress = true;
		if (e == SSL_ERROR_ZERO_RETURN) {
			backend_gone(re, r, x, 0);
		} else if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
			backend_gone(re, r, x, errno);
		} else {
			if (r->tls.write_failed && x->note == r->why)
				x->note = NULL;
			tls_note(r, x, "TLS error from backend", e);
			backend_gone(re, r, x, EPROTO);
		}
		return;
	}
}

static void backend_read(struct relay_env *re, struct relay *r,
			 struct exchange *x, bool *progress)
{
	size_t room;
	ssize_t n;

	if (r->fd < 0 || r->in_eof)
		return;
	if (r->tls.ssl) {
		backend_read_tls(re, r, x, progress);
		return;
	}
	room = mdr_buf_room(&r->in);
	if (!room || r->drained)
		return;
	n = recv(r->fd, mdr_buf_end(&r->in), room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		r->drained = errno == EAGAIN;
		return;
	}
	*progress = true;
	if (n > 0) {
		r->in.tail += n;
		r->drained = (size_t)n < room;
		r->pool.got_bytes = true;
	} else {
		backend_gone(re, r, x, n < 0 ? errno : 0);
	}
}

/* Parses the response head; 0 means wait, or that the outcome is set. */
static int response_head(struct relay_env *re, struct relay *r,
			 struct exchange *x, bool *progress)
{
	struct mdr_http_head h;
	bool keep, dechunk;
	char why[160];
	int ret;

	for (;;) {
		ret = mdr_http_parse_response(&r->parser, mdr_buf_data(&r->in),
					      mdr_buf_len(&r->in), x->is_head,
					      &h);
		if (ret == 0 && !r->in_eof)
			return 0;
		if (ret == 0) {
			if (retry_fresh(re, r, x)) {
				*progress = true;
				return 0;
			}
			fail(r, 502,
			     mdr_buf_len(&r->in)
				     ? "backend closed the connection mid-head"
				     : "backend closed the connection without answering",
			     r->err);
			return 0;
		}
		if (ret < 0) {
			snprintf(why, sizeof(why),
				 "backend sent an invalid response (%s)",
				 h.error);
			fail(r, 502, why, 0);
			return 0;
		}
		if (h.status >= 200)
			break;
		if (h.status == 101) {
			fail(r, 502, "backend switched protocols", 0);
			return 0;
		}
		/* Interim 1xx: the guest already had our 100 Continue. */
		mdr_buf_consume(&r->in, h.len);
		memset(&r->parser, 0, sizeof(r->parser));
		*progress = true;
	}

	/* HTTP/1.0 guests cannot take chunked framing: strip it and end the
	 * body by closing instead. */
	dechunk = h.body == MDR_BODY_CHUNKED && x->minor == 0;
	keep = !x->close_after && x->req_body.done && !r->out_broken &&
	       h.body != MDR_BODY_CLOSE && !dechunk;
	ret = mdr_rewrite_response(&h, keep, dechunk, mdr_buf_end(&x->out),
				   mdr_buf_room(&x->out));
	if (ret < 0) {
		fail(r, 502, "backend response head too large", 0);
		return 0;
	}
	x->out.tail += ret;
	x->status = h.status;
	x->close_after = !keep;
	r->close = h.conn_close || (h.minor == 0 && !h.conn_keep_alive);
	mdr_body_init(&r->body, &h, dechunk);
	/* The head just queued is the one the cache keeps (less Connection). */
	if (mdr_cache_capturing(&r->cap))
		mdr_cache_capture_head(&r->cap, &h, dechunk, r->body.left,
				       mdr_buf_end(&x->out) - ret, ret, keep);
	mdr_buf_consume(&r->in, h.len);
	r->rs = RS_BODY;
	*progress = true;
	return 0;
}

/*
 * The backend went away with its response half sent (a crash, a reset, a
 * short body): the guest's connection is to end at once, reset by the
 * session, and the response is neither cached (its capture is incomplete)
 * nor its backend connection pooled (closed already).
 */
static int backend_died(struct relay_env *re, struct relay *r,
			struct exchange *x)
{
	char be[80];

	mdr_backend_describe(re->be, be, sizeof(be));
	snprintf(r->why, sizeof(r->why),
		 "backend died mid-response (%.48s, %.64s); reset the guest's "
		 "connection, cached nothing",
		 r->err ? strerror(r->err) : "closed early", be);
	x->note = r->why;
	return -ECONNABORTED;
}

static int response_body(struct relay_env *re, struct relay *r,
			 struct exchange *x, bool *progress)
{
	size_t used;
	ssize_t n;

	n = mdr_body_copy(&r->body, mdr_buf_data(&r->in), mdr_buf_len(&r->in),
			  mdr_buf_end(&x->out), mdr_buf_room(&x->out), &used);
	if (n < 0) {
		/* Half a response is out: closing is the only honest end. */
		x->note = "backend sent broken chunked framing";
		return -EBADMSG;
	}
	mdr_buf_consume(&r->in, used);
	if (mdr_cache_capturing(&r->cap))
		mdr_cache_capture_body(re->cache, &r->cap, mdr_buf_end(&x->out),
				       n, r->body.done && !x->note,
				       re->loop->now_ms);
	x->out.tail += n;
	if (used || n)
		*progress = true;
	if (r->in_eof && !mdr_buf_len(&r->in) && !r->body.done) {
		/* A body that ends with the connection ends well on a FIN. */
		if (r->body.kind != MDR_BODY_CLOSE || r->err)
			return backend_died(re, r, x);
		r->body.done = true;
	}
	if (r->body.done) {
		if (r->tls.ssl)
			tls_keep_session(re, r);
		pool_put(re, r, x); /* or relay_close() closes it */
		relay_close(re, r);
		r->rs = RS_DONE;
		*progress = true;
	}
	return 0;
}

int relay_step(struct relay_env *re, struct relay *r, struct exchange *x,
	       bool *progress)
{
	int ret;

	if (r->rs == RS_CONNECTING || r->rs == RS_DONE)
		return 0;
	if (r->rs == RS_HANDSHAKE) {
		tls_handshake(re, r, x, progress);
		if (r->outcome.status || r->rs == RS_HANDSHAKE)
			return 0;
	}
	ret = pump_request(r, x, progress);
	if (ret || r->outcome.status)
		return ret;
	backend_write(r, x, progress);
	backend_read(re, r, x, progress);
	if (r->rs == RS_HEAD) {
		ret = response_head(re, r, x, progress);
		if (ret || r->outcome.status)
			return ret;
	}
	if (r->rs == RS_BODY)
		return response_body(re, r, x, progress);
	return 0;
}

void relay_update_events(struct relay_env *re, struct relay *r)
{
	uint32_t ev = 0;

	if (r->fd < 0)
		return;
	if (r->rs == RS_CONNECTING)
		ev = EPOLLOUT;
	if (r->rs == RS_HANDSHAKE)
		ev = r->tls.hs_ev;
	if (r->rs == RS_HEAD || r->rs == RS_BODY) {
		if (!r->in_eof && mdr_buf_len(&r->in) < r->in.cap)
			ev |= r->tls.ssl ? r->tls.rd_ev : EPOLLIN;
		if (!r->out_broken && mdr_buf_len(&r->out))
			ev |= r->tls.ssl ? r->tls.wr_ev : EPOLLOUT;
	}
	loop_set_events(re->loop, r->fd, &r->ev,
			r->pool.slot >= 0 ? &re->idle[r->pool.slot].ep : &r->ep,
			ev, "backend");
}

bool relay_waits_for_guest(const struct relay *r, const struct exchange *x)
{
	return !x->req_body.done && !r->out_broken && !mdr_buf_len(&r->out);
}
