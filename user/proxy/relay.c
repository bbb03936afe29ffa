/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The neutron and nova backends: one backend connection per guest request,
 * or, with backend_keepalive, one taken from a small idle pool. The
 * rewritten head and the request body go out, the response head comes
 * back to be checked and rewritten, and the body is relayed as it arrives,
 * its framing tracked so the guest connection can be reused afterwards.
 *
 * The pool: a backend connection is parked (LIFO, MDR_POOL_MAX at most,
 * dropped after MDR_POOL_IDLE_MS idle) only when its exchange ended
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

#include "proxy/conn.h"
#include "backends/kinds.h"
#include "http/rewrite.h"
#include "lib/log.h"

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void tls_free(struct conn *c)
{
	if (c->ssl) {
		/* The socket BIO leaves the fd to us. */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
}

/* Closes c's backend connection, if any, and frees the pool slot it was
 * lent from. */
static void backend_close(struct proxy *p, struct conn *c)
{
	if (c->bfd < 0)
		return;
	close(c->bfd); /* also leaves the epoll set */
	if (c->b_slot >= 0) {
		p->idle[c->b_slot].fd = -1;
		p->idle[c->b_slot].ep.c = NULL;
		c->b_slot = -1;
	}
	c->bfd = -1;
	c->bev = 0;
}

void relay_close(struct proxy *p, struct conn *c)
{
	tls_free(c);
	backend_close(p, c);
	mdr_buf_put(&p->bufs, &c->bin);
	mdr_buf_put(&p->bufs, &c->bout);
}

/* ---- the idle pool ---- */

static void pool_unstack(struct proxy *p, unsigned int i)
{
	memmove(&p->idle_stack[i], &p->idle_stack[i + 1], p->n_idle - i - 1);
	p->n_idle--;
}

static void pool_drop_at(struct proxy *p, unsigned int i)
{
	struct idle_backend *ib = &p->idle[p->idle_stack[i]];

	close(ib->fd); /* also leaves the epoll set */
	ib->fd = -1;
	pool_unstack(p, i);
}

void relay_pool_init(struct proxy *p)
{
	const struct mdr_backend *be = p->o->backend;

	p->pool_on = p->o->backend_keepalive && !be->tls &&
		     mdr_backend_ops(be)->relayed;
	p->n_idle = 0;
	for (int i = 0; i < MDR_POOL_MAX; i++) {
		p->idle[i].fd = -1;
		p->idle[i].ep = (struct endpoint){ NULL, true, i };
	}
}

void relay_pool_free(struct proxy *p)
{
	while (p->n_idle)
		pool_drop_at(p, p->n_idle - 1);
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
void relay_pool_event(struct proxy *p, int slot)
{
	if (slot < 0 || slot >= MDR_POOL_MAX || p->idle[slot].fd < 0 ||
	    idle_usable(p->idle[slot].fd))
		return; /* stale: the slot was emptied or refilled */
	for (unsigned int i = 0; i < p->n_idle; i++) {
		if (p->idle_stack[i] == slot) {
			pool_drop_at(p, i);
			return;
		}
	}
}

/* The stack is in parking order, so the oldest are at the bottom. Checked
 * every loop turn, which is at least every 200 ms. */
void relay_pool_expire(struct proxy *p)
{
	while (p->n_idle &&
	       p->loop.now_ms - p->idle[p->idle_stack[0]].since_ms >=
		       MDR_POOL_IDLE_MS)
		pool_drop_at(p, 0);
}

/*
 * Lends c the most recently parked backend connection. Not probed first:
 * one the backend closed meanwhile (its event not yet seen) fails the
 * request before any answer, and the request, a bodiless GET or HEAD, is
 * sent again on a fresh connection (retry_fresh()).
 */
static bool pool_take(struct proxy *p, struct conn *c)
{
	while (p->n_idle) {
		unsigned int top = p->n_idle - 1;
		int slot = p->idle_stack[top];
		struct idle_backend *ib = &p->idle[slot];

		if (p->loop.now_ms - ib->since_ms >= MDR_POOL_IDLE_MS) {
			pool_drop_at(p, top);
			continue;
		}
		pool_unstack(p, top);
		ib->ep.c = c;
		c->bfd = ib->fd;
		c->bev = ib->events;
		c->b_slot = slot;
		return true;
	}
	return false;
}

/* Parks c's backend connection after a clean exchange (see the top): in
 * the slot it was lent from, or in a free one. */
static bool pool_put(struct proxy *p, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct idle_backend *ib = NULL;

	if (!p->pool_on || c->ssl || c->bfd < 0 || c->b_close || c->bin_eof ||
	    c->bout_broken || mdr_buf_len(&c->bin) || mdr_buf_len(&c->bout) ||
	    !c->req_body.done || !c->resp_body.done || c->note ||
	    c->resp_body.kind == MDR_BODY_CLOSE)
		return false;
	if (c->b_slot >= 0) {
		ib = &p->idle[c->b_slot];
	} else {
		if (p->n_idle == MDR_POOL_MAX)
			pool_drop_at(p, 0); /* the oldest makes room */
		for (int i = 0; i < MDR_POOL_MAX && !ib; i++)
			if (p->idle[i].fd < 0)
				ib = &p->idle[i];
		if (!ib)
			return false; /* every slot is lent out */
	}
	ev.data.ptr = &ib->ep;
	if ((c->b_slot < 0 || c->bev != ev.events) &&
	    epoll_ctl(p->loop.epfd, c->bev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->bfd,
		      &ev)) {
		pr_warn("proxy: cannot keep an idle backend connection, "
			"closing it (epoll_ctl: %s)", strerror(errno));
		return false;
	}
	ib->fd = c->bfd;
	ib->events = ev.events;
	ib->since_ms = p->loop.now_ms;
	ib->ep.c = NULL;
	p->idle_stack[p->n_idle++] = ib->ep.slot;
	c->bfd = -1;
	c->bev = 0;
	c->b_slot = -1;
	return true;
}

static void fail(struct proxy *p, struct conn *c, int status,
		 const char *what, int err)
{
	char why[160];

	if (err)
		snprintf(why, sizeof(why), "%s: %s", what, strerror(err));
	else
		snprintf(why, sizeof(why), "%s", what);
	conn_respond(p, c, status, why, false);
}

/*
 * Puts why a TLS call failed into c->note for the access log, in OpenSSL's
 * words, with the certificate check's verdict when that was the cause.
 * The first failure of a request is the one kept.
 */
static void tls_note(struct conn *c, const char *what, int ssl_err)
{
	long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char buf[120];

	if (c->note)
		return;
	if (!reason && e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		reason = buf;
	} else if (!reason && ssl_err == SSL_ERROR_SYSCALL && errno) {
		reason = strerror(errno);
	} else if (!reason) {
		reason = "connection closed by the backend";
	}
	if (vr != X509_V_OK)
		snprintf(c->why, sizeof(c->why), "%s: %s (%s)", what, reason,
			 X509_verify_cert_error_string(vr));
	else
		snprintf(c->why, sizeof(c->why), "%s: %s", what, reason);
	c->note = c->why;
	ERR_clear_error();
}

/* TCP is up: plain backends are ready, https ones start the handshake. */
static void backend_connected(struct proxy *p, struct conn *c)
{
	const struct mdr_backend *be = p->o->backend;
	SSL *ssl;

	if (!be->tls) {
		c->rs = RS_HEAD;
		conn_timer_set(p, c, T_SERVER);
		return;
	}
	ERR_clear_error();
	ssl = SSL_new(be->ssl_ctx);
	if (!ssl || SSL_set_fd(ssl, c->bfd) != 1 ||
	    (!be->host_is_ip && SSL_set_tlsext_host_name(ssl, be->host) != 1) ||
	    (!be->insecure &&
	     (be->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(
				       SSL_get0_param(ssl), be->host) != 1 :
			       SSL_set1_host(ssl, be->host) != 1))) {
		SSL_free(ssl);
		tls_note(c, "cannot start TLS with backend", SSL_ERROR_SSL);
		fail(p, c, 502, "cannot start TLS with the backend", 0);
		return;
	}
	/* Resumption skips the certificate check, which is sound only
	 * because every session here was verified for this same backend. */
	if (p->tls_session)
		SSL_set_session(ssl, p->tls_session);
	SSL_set_connect_state(ssl);
	c->ssl = ssl;
	c->rs = RS_HANDSHAKE;
	c->tls_hs_ev = EPOLLOUT;
	c->tls_rd_ev = EPOLLIN;
	c->tls_wr_ev = EPOLLOUT;
	/* The connect timer keeps running: it covers the handshake too. */
}

/*
 * After a clean exchange, so TLS 1.3 tickets (sent after the handshake)
 * have arrived: says goodbye (OpenSSL marks a session freed without
 * close_notify as not resumable) and keeps the session for the next one.
 */
static void tls_keep_session(struct proxy *p, struct conn *c)
{
	SSL_SESSION *s;

	ERR_clear_error();
	SSL_shutdown(c->ssl); /* one alert, not waiting for the reply */
	ERR_clear_error();
	s = SSL_get1_session(c->ssl);
	if (!s)
		return;
	if (s == p->tls_session || !SSL_SESSION_is_resumable(s)) {
		SSL_SESSION_free(s);
		return;
	}
	SSL_SESSION_free(p->tls_session);
	p->tls_session = s;
}

void relay_forget_sessions(struct proxy *p)
{
	SSL_SESSION_free(p->tls_session);
	p->tls_session = NULL;
}

static void tls_handshake(struct proxy *p, struct conn *c, bool *progress)
{
	int ret, e;

	ERR_clear_error();
	ret = SSL_do_handshake(c->ssl);
	if (ret == 1) {
		c->rs = RS_HEAD;
		conn_timer_set(p, c, T_SERVER);
		*progress = true;
		return;
	}
	e = SSL_get_error(c->ssl, ret);
	if (e == SSL_ERROR_WANT_READ) {
		c->tls_hs_ev = EPOLLIN;
	} else if (e == SSL_ERROR_WANT_WRITE) {
		c->tls_hs_ev = EPOLLOUT;
	} else {
		tls_note(c, "TLS handshake with backend failed", e);
		relay_forget_sessions(p); /* start over with a full one */
		fail(p, c, 502, "TLS handshake with the backend failed", 0);
	}
}

/* Opens a fresh backend connection for c; on failure a reply is queued. */
static void backend_open(struct proxy *p, struct conn *c)
{
	const struct mdr_backend *be = p->o->backend;
	struct epoll_event ev = { .data.ptr = &c->bep };

	c->bfd = socket(be->addr.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->bfd < 0) {
		fail(p, c, 503, "cannot create backend socket", errno);
		return;
	}
	if (!connect(c->bfd, (const struct sockaddr *)&be->addr, be->addrlen)) {
		c->rs = RS_HEAD; /* for now: see backend_connected() below */
	} else if (errno == EINPROGRESS) {
		c->rs = RS_CONNECTING;
	} else if (errno == EAGAIN) {
		/* A unix socket whose listen queue is full. */
		fail(p, c, 503, "backend busy (listen queue full)", 0);
		return;
	} else {
		/* Unix sockets fail here at once: ENOENT, ECONNREFUSED. */
		fail(p, c, 503, "backend unreachable", errno);
		return;
	}
	/* Connected already (a unix socket): the request is written at once,
	 * and EPOLLOUT asked for only if it does not all fit. */
	ev.events = c->rs == RS_CONNECTING ? EPOLLOUT : EPOLLIN;
	c->b_drained = false;
	if (epoll_ctl(p->loop.epfd, EPOLL_CTL_ADD, c->bfd, &ev)) {
		fail(p, c, 503, "cannot watch backend socket", errno);
		return;
	}
	c->bev = ev.events;
	c->state = CS_RELAY;
	conn_timer_set(p, c, T_CONNECT);
	if (c->rs == RS_HEAD)
		backend_connected(p, c);
}

/*
 * A pooled connection the backend had closed meanwhile failed c's request
 * before any answer: resends it, once, on a fresh connection. Only bodiless
 * GET and HEAD take pooled connections, so the request is its head alone,
 * still at the start of bout (nothing else is ever written there).
 */
static bool retry_fresh(struct proxy *p, struct conn *c)
{
	if (!c->b_reused || c->b_retried || !c->b_retryable || c->b_got_bytes)
		return false;
	backend_close(p, c);
	c->b_reused = false;
	c->b_retried = true;
	memset(&c->resp_parser, 0, sizeof(c->resp_parser));
	mdr_buf_reset(&c->bin);
	c->bin_eof = c->bout_broken = false;
	c->backend_err = 0;
	c->close_after = c->b_close_after;
	c->bout.head = 0;
	c->bout.tail = c->b_head_len;
	backend_open(p, c);
	return true;
}

int relay_start(struct proxy *p, struct conn *c,
		const struct mdr_http_head *req)
{
	const struct mdr_backend *be = p->o->backend;
	int n;

	if (mdr_buf_get(&p->bufs, &c->bin) || mdr_buf_get(&p->bufs, &c->bout)) {
		fail(p, c, 503, "proxy out of memory", 0);
		return 0;
	}
	memset(&c->resp_parser, 0, sizeof(c->resp_parser));
	c->bin_eof = c->bout_broken = c->tls_write_failed = false;
	c->b_drained = false;
	c->backend_err = 0;
	c->b_reused = c->b_got_bytes = c->b_retried = c->b_close = false;
	c->b_close_after = c->close_after;
	/* Done already: no body at all, or Content-Length: 0. */
	c->b_retryable = (mdr_str_eq(req->method, "GET") || c->is_head) &&
			 c->req_body.done;

	n = mdr_rewrite_request_conn(req, &c->id, be, p->pool_on, c->bout.p,
				     c->bout.cap);
	if (n < 0) {
		if (n == -EIO)
			c->note = "cannot sign the request for nova";
		fail(p, c, n == -EIO ? 500 : 431, n == -EIO ?
		     "cannot sign the request" :
		     "request head too large to forward", 0);
		return 0;
	}
	c->bout.tail = n;
	c->b_head_len = n;

	/* POST and the like always get a fresh connection: their body could
	 * not be sent again if a pooled one turned out to be closed. */
	if (p->pool_on && c->b_retryable && pool_take(p, c)) {
		c->b_reused = true;
		c->state = CS_RELAY;
		backend_connected(p, c); /* plain: waits for the response */
	} else {
		backend_open(p, c);
	}
	if (c->state != CS_RELAY)
		return 0; /* no backend, or TLS could not start: reply queued */

	/* The backend never sees Expect (see rewrite.c): we invite the body
	 * ourselves, since we will read it whatever the backend says. */
	if (req->expect_continue && c->minor >= 1 && !c->req_body.done) {
		memcpy(mdr_buf_end(&c->cout), continue_100,
		       sizeof(continue_100) - 1);
		c->cout.tail += sizeof(continue_100) - 1;
	}
	return 0;
}

void relay_connected(struct proxy *p, struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int), slen = sizeof(ss);
	int err = 0;

	if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (!err && getpeername(c->bfd, (struct sockaddr *)&ss, &slen)) {
		if (errno == ENOTCONN)
			return; /* not yet: a stale wakeup */
		err = errno;
	}
	if (err) {
		fail(p, c, 503, "backend unreachable", err);
		return;
	}
	backend_connected(p, c);
}

/* The backend is gone for good; whatever it sent is still in bin. */
static void backend_gone(struct proxy *p, struct conn *c, int err)
{
	tls_free(c);
	backend_close(p, c);
	c->bin_eof = true;
	c->backend_err = err;
	c->bout_broken = true;
	mdr_buf_reset(&c->bout);
	if (!c->req_body.done)
		c->close_after = true; /* rest of the body unread */
}

/* Request body: guest -> bout, as far as its framing goes. */
static int pump_request(struct proxy *p, struct conn *c, bool *progress)
{
	size_t used;
	ssize_t n;

	if (c->req_body.done || c->bout_broken)
		return 0;
	n = mdr_body_copy(&c->req_body, mdr_buf_data(&c->cin),
			  mdr_buf_len(&c->cin), mdr_buf_end(&c->bout),
			  mdr_buf_room(&c->bout), &used);
	if (n < 0) {
		if (c->rs == RS_BODY)
			return -EBADMSG; /* a response is already underway */
		fail(p, c, 400, "malformed chunked request body", 0);
		return 0;
	}
	mdr_buf_consume(&c->cin, used);
	c->bout.tail += n;
	c->bytes_in += used;
	if (used || n)
		*progress = true;
	if (!c->req_body.done && c->cin_eof && !mdr_buf_len(&c->cin)) {
		c->note = "guest closed mid-body";
		return -ECONNRESET;
	}
	return 0;
}

static void backend_write_tls(struct conn *c, bool *progress)
{
	int n, e;

	ERR_clear_error();
	n = SSL_write(c->ssl, mdr_buf_data(&c->bout), mdr_buf_len(&c->bout));
	if (n > 0) {
		mdr_buf_consume(&c->bout, n);
		c->tls_wr_ev = EPOLLOUT;
		*progress = true;
		return;
	}
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_WRITE) {
		c->tls_wr_ev = EPOLLOUT;
	} else if (e == SSL_ERROR_WANT_READ) {
		c->tls_wr_ev = EPOLLIN;
	} else {
		/* Kept only if reading says nothing better: a server that
		 * refuses us after the handshake (TLS 1.3 checks the client
		 * certificate then) may have sent its alert before the reset
		 * that failed this write. */
		tls_note(c, "TLS write to backend failed", e);
		c->tls_write_failed = true;
		c->bout_broken = true;
		mdr_buf_reset(&c->bout);
		c->close_after = true;
		*progress = true;
	}
}

static void backend_write(struct conn *c, bool *progress)
{
	ssize_t n;

	if (c->bfd < 0 || c->bout_broken || !mdr_buf_len(&c->bout))
		return;
	if (c->ssl) {
		backend_write_tls(c, progress);
		return;
	}
	n = send(c->bfd, mdr_buf_data(&c->bout), mdr_buf_len(&c->bout),
		 MSG_NOSIGNAL);
	if (n > 0) {
		mdr_buf_consume(&c->bout, n);
		/* Any answer to it comes after this: epoll will say. */
		c->b_drained = true;
		*progress = true;
	} else if (errno != EAGAIN && errno != EINTR) {
		/* It may still have answered (say, 413): keep reading. */
		c->bout_broken = true;
		mdr_buf_reset(&c->bout);
		c->close_after = true;
		*progress = true;
	}
}

/*
 * Like the plain path, one read per step, so the response head is parsed
 * before the backend's close is noticed. But more while OpenSSL still
 * holds bytes it has taken off the socket: those would never wake epoll.
 */
static void backend_read_tls(struct proxy *p, struct conn *c, bool *progress)
{
	size_t room;
	int n, e;

	while ((room = mdr_buf_room(&c->bin))) {
		ERR_clear_error();
		n = SSL_read(c->ssl, mdr_buf_end(&c->bin),
			     room > INT32_MAX ? INT32_MAX : (int)room);
		if (n > 0) {
			c->bin.tail += n;
			c->tls_rd_ev = EPOLLIN;
			*progress = true;
			if (SSL_has_pending(c->ssl))
				continue;
			return;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ) {
			c->tls_rd_ev = EPOLLIN;
			return;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			c->tls_rd_ev = EPOLLOUT;
			return;
		}
		*progress = true;
		if (e == SSL_ERROR_ZERO_RETURN) {
			backend_gone(p, c, 0);
		} else if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
			backend_gone(p, c, errno);
		} else {
			if (c->tls_write_failed && c->note == c->why)
				c->note = NULL;
			tls_note(c, "TLS error from backend", e);
			backend_gone(p, c, EPROTO);
		}
		return;
	}
}

static void backend_read(struct proxy *p, struct conn *c, bool *progress)
{
	size_t room;
	ssize_t n;

	if (c->bfd < 0 || c->bin_eof)
		return;
	if (c->ssl) {
		backend_read_tls(p, c, progress);
		return;
	}
	room = mdr_buf_room(&c->bin);
	if (!room || c->b_drained)
		return;
	n = recv(c->bfd, mdr_buf_end(&c->bin), room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->b_drained = errno == EAGAIN;
		return;
	}
	*progress = true;
	if (n > 0) {
		c->bin.tail += n;
		c->b_drained = (size_t)n < room;
		c->b_got_bytes = true;
	} else {
		backend_gone(p, c, n < 0 ? errno : 0);
	}
}

/* Parses the response head; 0 means wait, or that a reply was queued. */
static int response_head(struct proxy *p, struct conn *c, bool *progress)
{
	struct mdr_http_head h;
	bool keep, dechunk;
	char why[160];
	int ret;

	for (;;) {
		ret = mdr_http_parse_response(&c->resp_parser,
					      mdr_buf_data(&c->bin),
					      mdr_buf_len(&c->bin), c->is_head,
					      &h);
		if (ret == 0 && !c->bin_eof)
			return 0;
		if (ret == 0) {
			if (retry_fresh(p, c)) {
				*progress = true;
				return 0;
			}
			fail(p, c, 502, mdr_buf_len(&c->bin) ?
				     "backend closed the connection mid-head" :
				     "backend closed the connection without answering",
			     c->backend_err);
			return 0;
		}
		if (ret < 0) {
			snprintf(why, sizeof(why),
				 "backend sent an invalid response (%s)", h.error);
			fail(p, c, 502, why, 0);
			return 0;
		}
		if (h.status >= 200)
			break;
		if (h.status == 101) {
			fail(p, c, 502, "backend switched protocols", 0);
			return 0;
		}
		/* Interim 1xx: the guest already had our 100 Continue. */
		mdr_buf_consume(&c->bin, h.len);
		memset(&c->resp_parser, 0, sizeof(c->resp_parser));
		*progress = true;
	}

	/* HTTP/1.0 guests cannot take chunked framing: strip it and end the
	 * body by closing instead. */
	dechunk = h.body == MDR_BODY_CHUNKED && c->minor == 0;
	keep = !c->close_after && c->req_body.done && !c->bout_broken &&
	       h.body != MDR_BODY_CLOSE && !dechunk;
	ret = mdr_rewrite_response(&h, keep, dechunk, mdr_buf_end(&c->cout),
				   mdr_buf_room(&c->cout));
	if (ret < 0) {
		fail(p, c, 502, "backend response head too large", 0);
		return 0;
	}
	c->cout.tail += ret;
	c->status = h.status;
	c->close_after = !keep;
	c->b_close = h.conn_close || (h.minor == 0 && !h.conn_keep_alive);
	mdr_body_init(&c->resp_body, &h, dechunk);
	/* The head just queued is the one the cache keeps (less Connection). */
	mdr_cache_capture_head(&p->cache, &c->cap, &h, dechunk,
			       c->resp_body.left, mdr_buf_end(&c->cout) - ret,
			       ret, keep);
	mdr_buf_consume(&c->bin, h.len);
	c->rs = RS_BODY;
	*progress = true;
	return 0;
}

static int response_body(struct proxy *p, struct conn *c, bool *progress)
{
	size_t used;
	ssize_t n;

	n = mdr_body_copy(&c->resp_body, mdr_buf_data(&c->bin),
			  mdr_buf_len(&c->bin), mdr_buf_end(&c->cout),
			  mdr_buf_room(&c->cout), &used);
	if (n < 0) {
		/* Half a response is out: closing is the only honest end. */
		c->note = "backend sent broken chunked framing";
		return -EBADMSG;
	}
	mdr_buf_consume(&c->bin, used);
	mdr_cache_capture_body(&p->cache, &c->cap, mdr_buf_end(&c->cout), n,
			       c->resp_body.done && !c->note, p->loop.now_ms);
	c->cout.tail += n;
	if (used || n)
		*progress = true;
	if (c->bin_eof && !mdr_buf_len(&c->bin) && !c->resp_body.done) {
		if (c->resp_body.kind != MDR_BODY_CLOSE) {
			/* Short body: the guest sees the close and can tell. */
			c->note = "backend response truncated";
			c->close_after = true;
		}
		c->resp_body.done = true;
	}
	if (c->resp_body.done) {
		if (c->ssl)
			tls_keep_session(p, c);
		pool_put(p, c); /* or relay_close() closes it */
		relay_close(p, c);
		c->rs = RS_DONE;
		*progress = true;
	}
	return 0;
}

int relay_step(struct proxy *p, struct conn *c, bool *progress)
{
	int ret;

	if (c->rs == RS_CONNECTING || c->rs == RS_DONE)
		return 0;
	if (c->rs == RS_HANDSHAKE) {
		tls_handshake(p, c, progress);
		if (c->state != CS_RELAY || c->rs == RS_HANDSHAKE)
			return 0;
	}
	ret = pump_request(p, c, progress);
	if (ret || c->state != CS_RELAY)
		return ret;
	backend_write(c, progress);
	backend_read(p, c, progress);
	if (c->rs == RS_HEAD) {
		ret = response_head(p, c, progress);
		if (ret || c->state != CS_RELAY)
			return ret;
	}
	if (c->rs == RS_BODY)
		return response_body(p, c, progress);
	return 0;
}

void relay_update_events(struct proxy *p, struct conn *c)
{
	uint32_t ev = 0;

	if (c->bfd < 0)
		return;
	if (c->rs == RS_CONNECTING)
		ev = EPOLLOUT;
	if (c->rs == RS_HANDSHAKE)
		ev = c->tls_hs_ev;
	if (c->rs == RS_HEAD || c->rs == RS_BODY) {
		if (!c->bin_eof && mdr_buf_len(&c->bin) < c->bin.cap)
			ev |= c->ssl ? c->tls_rd_ev : EPOLLIN;
		if (!c->bout_broken && mdr_buf_len(&c->bout))
			ev |= c->ssl ? c->tls_wr_ev : EPOLLOUT;
	}
	conn_set_events(p, c, true, ev);
}
