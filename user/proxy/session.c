// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>

#include "backends/kinds.h"
#include "backends/local.h"
#include "http/rewrite.h"
#include "lib/log.h"
#include "proxy/access_log.h"
#include "proxy/session.h"
#include "proxy/token.h"

#define MAX_ROUNDS     16 /* per wakeup, then let others run */
#define SENDFILE_CHUNK (256 * 1024)
/* Draining a guest after our final response: not a setting. */
#define LINGER_MS      2000

static void timer_set(struct proxy *p, struct conn *c, enum timer_kind kind)
{
	unsigned int ms = kind == T_LINGER ? LINGER_MS
					   : c->gen->timeout_ms[kind];

	loop_timer_set(&p->loop, &c->le, kind, ms);
	c->progress = false;
}

static void begin_request(struct conn *c, const struct mdr_http_head *h)
{
	static const struct mdr_http_head none = { .minor = 1 };
	struct exchange *x = &c->x;

	access_log_begin(&c->log, h);
	if (!h)
		h = &none;
	x->status = 0;
	x->note = NULL;
	x->bytes_in = h->len;
	x->minor = h->minor;
	x->is_head = mdr_str_eq(h->method, "HEAD");
	x->close_after = !mdr_http_wants_keep_alive(h);
	mdr_body_init(&x->req_body, h, false);
}

size_t session_format_reply(char *buf, size_t cap, const struct mdr_backend *be,
			    int status, const char *why, bool keep_alive,
			    bool head, const char *extra)
{
	/* A 405 names what is allowed: the backend's, unless extra does. */
	bool allow = status == 405 && !extra;
	int n;

	n = snprintf(buf, cap,
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %zu\r\n"
		     "%s%s%s%s"
		     "Connection: %s\r\n\r\n%s%s",
		     status, mdr_http_reason(status), strlen(why) + 1,
		     allow ? "Allow: " : "",
		     allow ? mdr_backend_ops(be)->allow : "",
		     allow ? "\r\n" : "", extra ? extra : "",
		     keep_alive ? "keep-alive" : "close", head ? "" : why,
		     head ? "" : "\n");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Queues a complete response made by the proxy (text/plain, one line). */
static void respond(struct proxy *p, struct conn *c, int status,
		    const char *why, bool keep_alive, const char *extra)
{
	struct exchange *x = &c->x;
	size_t n;

	relay_close(&c->gen->relay, &c->r);
	/* Unread request body bytes would be taken for the next request. */
	keep_alive = keep_alive && !x->close_after && x->req_body.done;
	n = session_format_reply(mdr_buf_end(&x->out), mdr_buf_room(&x->out),
				 c->gen->backend, status, why, keep_alive,
				 x->is_head, extra);
	x->out.tail += n;
	x->close_after = !keep_alive || !n;
	x->status = status;
	c->state = CS_RESPOND;
	timer_set(p, c, T_CLIENT);
}

/* The relay gave up: the guest gets its status, and the connection ends. */
static void answer_outcome(struct proxy *p, struct conn *c)
{
	int status = c->r.outcome.status;

	if (!status)
		return;
	mdr_counter_add(&p->ctr->backend_errors, 1);
	if (!c->x.note)
		c->x.note = c->r.outcome.why; /* kept until the log line */
	respond(p, c, status, c->r.outcome.why, false, NULL);
}

/*
 * Counts the request against its guest's rate limits and, when over, queues
 * the 429 (which is logged and counted like any response). Neutron's
 * haproxy denies before the request goes anywhere; so do we.
 */
static bool refused_over_rate(struct proxy *p, struct conn *c)
{
	char retry[40];
	unsigned int wait;

	wait = mdr_shared_rate_check(p->sh, c->g.id.attach_id, &c->g.peer_addr,
				     p->loop.now_ms);
	if (!wait)
		return false;
	snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", wait);
	c->x.note = "rate limited";
	mdr_counter_add(&p->ctr->rate_limited, 1);
	respond(p, c, 429, "too many requests, retry later", true, retry);
	return true;
}

/*
 * The guest's headers called name (any case, '_' for '-'): how many, and
 * the first one's value in *v.
 */
static unsigned int header_values(const struct mdr_http_head *h,
				  const char *name, struct mdr_str *v)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < h->nheaders; i++) {
		if (!mdr_header_name_is(h->headers[i].name, name))
			continue;
		if (!n++)
			*v = h->headers[i].value;
	}
	return n;
}

/*
 * PUT /latest/api/token, answered as AWS's IMDS does: the token for this
 * guest, valid for the seconds X-aws-ec2-metadata-token-ttl-seconds asks,
 * which the reply repeats. Refused (403) with X-Forwarded-For: a token
 * is for the guest that asks, never for whoever a proxy on it speaks for.
 */
static void issue_token(struct proxy *p, struct conn *c,
			const struct mdr_http_head *h)
{
	struct exchange *x = &c->x;
	char token[MDR_TOKEN_LEN + 1];
	struct mdr_str v = {};
	unsigned int ttl;
	bool keep;
	int n;

	if (!mdr_str_eq(h->method, "PUT")) {
		respond(p, c, 405, "a token is asked for with PUT", true,
			"Allow: PUT\r\n");
		return;
	}
	if (header_values(h, "x-forwarded-for", &v)) {
		respond(p, c, 403, "a token request may not be forwarded", true,
			NULL);
		return;
	}
	if (header_values(h, MDR_TOKEN_TTL_HEADER, &v) != 1 ||
	    mdr_token_parse_ttl(v.p, v.n, &ttl)) {
		respond(p, c, 400,
			"X-aws-ec2-metadata-token-ttl-seconds must be "
			"one number of seconds, 1 to 21600",
			true, NULL);
		return;
	}
	if (mdr_token_mint(&p->o->token_key, &c->g.id, &c->g.peer_addr, ttl,
			   mdr_token_now(), token)) {
		x->note = "cannot make a token";
		respond(p, c, 500, "cannot make a token", false, NULL);
		return;
	}
	mdr_counter_add(&p->ctr->tokens_issued, 1);
	keep = !x->close_after && x->req_body.done;
	/* The body is the token alone, no newline: guests take it as is. */
	n = snprintf(mdr_buf_end(&x->out), mdr_buf_room(&x->out),
		     "HTTP/1.1 200 OK\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %d\r\n"
		     "X-Aws-Ec2-Metadata-Token-Ttl-Seconds: %u\r\n"
		     "Connection: %s\r\n\r\n%s",
		     MDR_TOKEN_LEN, ttl, keep ? "keep-alive" : "close", token);
	x->out.tail += n;
	x->close_after = !keep;
	x->status = 200;
	c->state = CS_RESPOND;
	timer_set(p, c, T_CLIENT);
}

/*
 * With tokens on, the token path is ours (a token is issued or refused),
 * and a request that carries a token must carry a valid one, as must
 * every request when they are required: else 401, as AWS answers, and
 * the guest asks for a new token. True when the request was answered.
 */
static bool answered_by_tokens(struct proxy *p, struct conn *c,
			       const struct mdr_http_head *h)
{
	enum mdr_imds_tokens mode = c->gen->tokens;
	enum mdr_token_verdict v;
	struct mdr_str token = {};
	unsigned int n;

	if (mode == MDR_TOKENS_OFF)
		return false;
	if (mdr_str_eq(h->target, MDR_TOKEN_PATH)) {
		issue_token(p, c, h);
		return true;
	}
	n = header_values(h, MDR_TOKEN_HEADER, &token);
	if (!n && mode == MDR_TOKENS_OPTIONAL)
		return false;
	if (n == 1) {
		v = mdr_token_verify(&p->o->token_key, &c->g.id,
				     &c->g.peer_addr, token.p, token.n,
				     mdr_token_now());
		if (v == MDR_TOKEN_VALID)
			return false;
		c->x.note = mdr_token_verdict_why(v);
	} else {
		c->x.note = n ? "more than one token" : "no token";
	}
	mdr_counter_add(&p->ctr->token_refused, 1);
	respond(p, c, 401,
		n ? "the token is not valid: ask for a new one"
		  : "a token is required: PUT /latest/api/token first",
		true, NULL);
	return true;
}

static void serve_local(struct proxy *p, struct conn *c,
			const struct mdr_http_head *h)
{
	struct exchange *x = &c->x;
	struct mdr_local_reply r;
	bool keep;
	int n;

	if (mdr_str_eq(h->method, "POST")) {
		respond(p, c, 405, "the local backend serves GET and HEAD only",
			true, NULL);
		return;
	}
	if (mdr_local_lookup(c->gen->base_fd, &c->g.id, h->target, &r) != 200) {
		respond(p, c, r.status, r.why, r.status < 500, NULL);
		return;
	}
	keep = !x->close_after && x->req_body.done;
	n = snprintf(mdr_buf_end(&x->out), mdr_buf_room(&x->out),
		     "HTTP/1.1 200 OK\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %" PRIu64 "\r\n"
		     "Connection: %s\r\n\r\n",
		     r.content_type, r.size, keep ? "keep-alive" : "close");
	x->out.tail += n;
	x->close_after = !keep;
	c->file.fd = r.fd;
	c->file.off = 0;
	c->file.left = x->is_head ? 0 : r.size;
	x->status = 200;
	c->state = CS_RESPOND;
	timer_set(p, c, T_CLIENT);
}

/*
 * A GET the cache may answer: from the cache when it holds a fresh
 * response for exactly this identity and target (true). Otherwise false,
 * with *key_len set when the relay is to keep the response for key.
 */
static bool serve_cached(struct proxy *p, struct conn *c,
			 const struct mdr_http_head *h, char *key,
			 size_t *key_len)
{
	static const char conn_line[] = "Connection: keep-alive\r\n\r\n";
	struct exchange *x = &c->x;
	struct mdr_cache_hit hit;
	size_t len, room;
	bool keep;

	if (!mdr_cache_enabled(&p->sh->cache) ||
	    !mdr_str_eq(h->method, "GET") || h->body != MDR_BODY_NONE)
		return false;
	len = mdr_cache_key(&c->g.id, h->target.p, h->target.n, key,
			    MDR_BUF_SIZE);
	if (!len)
		return false;
	/* The head goes straight into x->out, leaving room for our line. */
	room = mdr_buf_room(&x->out);
	room = room > sizeof(conn_line) ? room - sizeof(conn_line) : 0;
	if (!mdr_cache_lookup(&p->sh->cache, key, len, p->loop.now_ms,
			      mdr_buf_end(&x->out), room, &hit)) {
		mdr_counter_add(&p->ctr->cache_misses, 1);
		*key_len = len;
		return false;
	}
	keep = !x->close_after;
	c->file.fd = hit.body_fd;
	mdr_counter_add(&p->ctr->cache_hits, 1);
	x->out.tail += hit.head_len;
	x->out.tail += snprintf(mdr_buf_end(&x->out), mdr_buf_room(&x->out),
				"Connection: %s\r\n\r\n",
				keep ? "keep-alive" : "close");
	x->close_after = !keep;
	c->file.off = 0;
	c->file.left = hit.body_len;
	x->status = 200;
	c->log.cache_hit = true;
	c->state = CS_RESPOND;
	timer_set(p, c, T_CLIENT);
	return true;
}

/* Where an identified guest's request that is within its limits goes. */
static void dispatch_request(struct proxy *p, struct conn *c,
			     const struct mdr_http_head *h)
{
	const struct mdr_backend_ops *ops = mdr_backend_ops(c->gen->backend);
	char key[MDR_BUF_SIZE];
	size_t key_len = 0;

	if (!mdr_str_eq(h->method, "GET") && !mdr_str_eq(h->method, "HEAD") &&
	    !mdr_str_eq(h->method, "POST")) {
		respond(p, c, 405, "method not allowed", true, NULL);
	} else if (ops->needs_instance && !c->g.id.instance_id[0]) {
		/* Nova knows instances only; a network's tap needs neutron. */
		respond(p, c, 404,
			"no instance is associated with this interface", true,
			NULL);
	} else if (!ops->relayed) {
		serve_local(p, c, h);
	} else if (!serve_cached(p, c, h, key, &key_len)) {
		relay_start(&c->gen->relay, &c->r, &c->x, &c->g.id, h,
			    key_len ? key : NULL, key_len);
		if (c->r.outcome.status)
			answer_outcome(p, c);
		else
			c->state = CS_RELAY;
	}
}

void session_adopt_gen(struct proxy *p, struct conn *c)
{
	if (c->gen == p->gen)
		return;
	relay_close(&c->gen->relay, &c->r);
	c->gen->users--;
	c->gen = p->gen;
	c->gen->users++;
}

static void start_request(struct proxy *p, struct conn *c,
			  const struct mdr_http_head *h)
{
	session_adopt_gen(p, c);
	begin_request(c, h);
	if (!c->g.have_id)
		respond(p, c, 404, "no metadata service for this address",
			false, NULL);
	else if (!refused_over_rate(p, c) && !answered_by_tokens(p, c, h))
		dispatch_request(p, c, h);
	/* The body, if any, stays in x.in for the relay (or is never read). */
	mdr_buf_consume(&c->x.in, h->len);
}

static int handle_head(struct proxy *p, struct conn *c, bool *progress)
{
	struct exchange *x = &c->x;
	struct mdr_http_head h;
	int ret;

	if (!mdr_buf_len(&x->in))
		return x->in_eof ? -ENOTCONN : 0;
	ret = mdr_http_parse_request(&c->g.req_parser, mdr_buf_data(&x->in),
				     mdr_buf_len(&x->in), &h);
	if (ret == 0)
		return x->in_eof ? -ENOTCONN : 0; /* gave up mid-head */
	*progress = true;
	memset(&c->g.req_parser, 0, sizeof(c->g.req_parser));
	if (ret < 0) {
		begin_request(c, NULL);
		respond(p, c, h.error_status, h.error, false, NULL);
		return 0;
	}
	start_request(p, c, &h);
	return 0;
}

static int client_read(struct conn *c, bool *progress)
{
	struct exchange *x = &c->x;
	size_t room;
	ssize_t n;

	if (x->in_eof || c->g.in_drained)
		return 0;
	room = mdr_buf_room(&x->in);
	if (!room)
		return 0;
	n = recv(c->g.fd, mdr_buf_end(&x->in), room, 0);
	if (n < 0) {
		c->g.in_drained = errno == EAGAIN;
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	}
	c->g.in_drained = n > 0 && (size_t)n < room;
	*progress = true;
	if (n == 0)
		x->in_eof = true;
	x->in.tail += n;
	if (c->state == CS_LINGER)
		mdr_buf_reset(&x->in);
	return 0;
}

/* Nothing more of the response is to come: what is left is queued. */
static bool response_complete(const struct conn *c)
{
	return c->state == CS_RESPOND ||
	       (c->state == CS_RELAY && c->r.rs == RS_DONE);
}

/* The connection ends with this response, all of it queued or in a file. */
static bool closing_response(const struct conn *c)
{
	return c->x.close_after && response_complete(c);
}

static int client_write(struct conn *c, bool *progress)
{
	struct exchange *x = &c->x;
	ssize_t n;

	if (mdr_buf_len(&x->out)) {
		/*
		 * The last bytes before we close wait for the FIN that
		 * request_done() sends at once, and leave in one segment with
		 * it: a guest that saw them alone would close first.
		 */
		n = send(c->g.fd, mdr_buf_data(&x->out), mdr_buf_len(&x->out),
			 MSG_NOSIGNAL | (closing_response(c) && !c->file.left
						 ? MSG_MORE
						 : 0));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		mdr_buf_consume(&x->out, n);
		c->log.bytes_out += n;
		*progress = true;
	}
	if (!mdr_buf_len(&x->out) && c->file.left) {
		size_t chunk = c->file.left < SENDFILE_CHUNK ? c->file.left
							     : SENDFILE_CHUNK;
		int one = 1;

		/* sendfile() has no MSG_MORE: cork its last chunk instead. */
		if (closing_response(c) && chunk == c->file.left)
			setsockopt(c->g.fd, IPPROTO_TCP, TCP_CORK, &one,
				   sizeof(one));
		n = sendfile(c->g.fd, c->file.fd, &c->file.off, chunk);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0) {
			x->note = "file shrank while being sent";
			return -EIO;
		}
		c->file.left -= n;
		c->log.bytes_out += n;
		*progress = true;
	}
	return 0;
}

/*
 * Whether the guest may still send bytes we have not read: what it sent
 * past its request, a body not read to its end, or a socket not found
 * empty by the last read. Closing on such bytes would answer them with a
 * reset, which can destroy our last response before the guest reads it.
 */
static bool guest_may_send_more(const struct conn *c)
{
	return mdr_buf_len(&c->x.in) || !c->x.req_body.done || !c->g.in_drained;
}

/* The response is out: log it and wait for the next request, or finish. */
static int request_done(struct proxy *p, struct conn *c)
{
	/*
	 * Closing: our FIN goes right behind the last byte, before anything
	 * else (the log line), so we close first and the TIME_WAIT is ours.
	 * A guest that closes first keeps one per connection, and a guest
	 * opening many (a benchmark, a storm) then spends its connect()s
	 * searching for a free port. A guest that may send more is read
	 * until it closes (shut down our side, linger), so that our last
	 * response is not destroyed by a reset for unread bytes. One that
	 * sent its request and nothing else is closed once the line is
	 * logged (a buffer, no I/O), which sends the same FIN, as nginx's
	 * "lingering_close auto" does: no shutdown(), no wakeup for the
	 * guest's FIN and no linger per connection (issue 14).
	 */
	bool linger = c->x.close_after && !c->x.in_eof &&
		      guest_may_send_more(c);
	bool shut = linger && shutdown(c->g.fd, SHUT_WR) == 0;

	access_log_end(p, c);
	if (c->file.fd >= 0) {
		close(c->file.fd);
		c->file.fd = -1;
	}
	if (!c->x.close_after) {
		c->state = CS_HEAD;
		timer_set(p, c,
			  mdr_buf_len(&c->x.in) ? T_REQUEST : T_KEEPALIVE);
		return 0;
	}
	if (!shut)
		return -ENOTCONN;
	mdr_buf_reset(&c->x.in);
	c->state = CS_LINGER;
	timer_set(p, c, T_LINGER);
	return 0;
}

static int conn_step(struct proxy *p, struct conn *c, bool *progress)
{
	int ret;

	ret = client_read(c, progress);
	if (ret)
		return ret;
	switch (c->state) {
	case CS_HEAD: ret = handle_head(p, c, progress); break;
	case CS_RELAY:
		ret = relay_step(&c->gen->relay, &c->r, &c->x, progress);
		if (!ret)
			answer_outcome(p, c);
		else if (ret == -ECONNABORTED) /* it died mid-response */
			mdr_counter_add(&p->ctr->backend_errors, 1);
		break;
	case CS_RESPOND: break;
	case CS_LINGER: return c->x.in_eof ? -ENOTCONN : 0;
	}
	if (ret)
		return ret;
	ret = client_write(c, progress);
	if (ret)
		return ret;
	if (response_complete(c) && !mdr_buf_len(&c->x.out) && !c->file.left) {
		*progress = true;
		return request_done(p, c);
	}
	return 0;
}

void session_close(struct proxy *p, struct conn *c)
{
	static const struct linger reset = { .l_onoff = 1, .l_linger = 0 };

	if (c->le.dead)
		return;
	/*
	 * A response cut short ends with a reset, never a FIN: a FIN ends a
	 * body framed by the close (an HTTP/1.0 guest's, a backend's that
	 * had no length) as if it were complete, and the guest would keep
	 * the half it has.
	 */
	if (c->log.in_request && c->x.status)
		setsockopt(c->g.fd, SOL_SOCKET, SO_LINGER, &reset,
			   sizeof(reset));
	if (c->log.in_request) {
		if (!c->x.note)
			c->x.note = "aborted";
		access_log_end(p, c);
	}
	relay_close(&c->gen->relay, &c->r);
	c->gen->users--; /* the generation is freed between loop turns */
	if (c->file.fd >= 0)
		close(c->file.fd);
	close(c->g.fd);
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		p->all = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	loop_kill(&p->loop, &c->le);
	mdr_shared_release(p->sh, c->g.have_id, c->g.id.attach_id);
	mdr_counter_add(&p->ctr->connections_open, -1);
}

/* Registers what each socket should wake us for, and restarts the stall
 * timers when bytes moved. */
static void conn_settle(struct proxy *p, struct conn *c)
{
	struct exchange *x = &c->x;
	uint32_t ev = 0;
	enum timer_kind kind;

	if (!x->in_eof && mdr_buf_len(&x->in) < x->in.cap)
		ev |= EPOLLIN;
	if (mdr_buf_len(&x->out) || c->file.left)
		ev |= EPOLLOUT;
	loop_set_events(&p->loop, c->g.fd, &c->g.ev, &c->g.ep, ev, "guest");

	/* The first byte of the next request ends the keep-alive wait and
	 * starts the http-request one; neither restarts on progress. */
	if (c->state == CS_HEAD && c->le.tkind == T_KEEPALIVE &&
	    mdr_buf_len(&x->in))
		timer_set(p, c, T_REQUEST);
	if (c->state == CS_RESPOND && c->progress)
		timer_set(p, c, T_CLIENT);
	if (c->state != CS_RELAY)
		return;
	if (c->r.rs == RS_CONNECTING || c->r.rs == RS_HANDSHAKE) {
		/* Connect and handshake share the connect deadline, armed
		 * when the connection was opened. */
		if (c->le.tkind != T_CONNECT)
			timer_set(p, c, T_CONNECT);
		if (c->r.rs == RS_HANDSHAKE)
			relay_update_events(&c->gen->relay, &c->r);
		return;
	}
	relay_update_events(&c->gen->relay, &c->r);
	/* Blame whoever we are waiting for. */
	kind = mdr_buf_len(&x->out) || relay_waits_for_guest(&c->r, x)
		       ? T_CLIENT
		       : T_SERVER;
	if (kind != c->le.tkind || c->progress)
		timer_set(p, c, kind);
}

void session_drive(struct proxy *p, struct conn *c)
{
	for (int round = 0; round < MAX_ROUNDS; round++) {
		bool progress = false;

		if (conn_step(p, c, &progress) < 0) {
			session_close(p, c);
			return;
		}
		if (!progress) {
			conn_settle(p, c);
			return;
		}
		c->progress = true;
	}
	loop_run_soon(&p->loop, &c->le);
	conn_settle(p, c);
}

/* A request that ran out of time: whose fault, for the counters. */
static void count_timeout(struct proxy *p, enum timer_kind kind)
{
	bool backend = kind == T_CONNECT || kind == T_SERVER;

	mdr_counter_add(backend ? &p->ctr->backend_timeouts
				: &p->ctr->guest_timeouts,
			1);
}

void session_timeout(struct proxy *p, struct conn *c, enum timer_kind kind)
{
	switch (c->state) {
	case CS_HEAD:
		/* Idle, whether kept alive or never used: just close. */
		if (kind == T_KEEPALIVE || !mdr_buf_len(&c->x.in)) {
			session_close(p, c);
			return;
		}
		begin_request(c, NULL);
		count_timeout(p, kind);
		respond(p, c, 408, "request not received in time", false, NULL);
		break;
	case CS_RELAY:
		/* Only the backend's silence is the backend's fault. */
		if (kind != T_CLIENT && c->r.rs != RS_BODY) {
			count_timeout(p, kind);
			if (c->r.rs == RS_HANDSHAKE)
				c->x.note =
					"TLS handshake with backend timed out";
			respond(p, c, 504,
				c->r.rs == RS_CONNECTING
					? "backend connect timed out"
				: c->r.rs == RS_HANDSHAKE
					? "backend TLS handshake timed out"
					: "backend did not answer in time",
				false, NULL);
			break;
		}
		/* fall through */
	default:
		if (c->log.in_request)
			count_timeout(p, kind);
		c->x.note = "timeout";
		session_close(p, c);
		return;
	}
	session_drive(p, c);
}

int session_open(struct proxy *p, struct conn *c, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->g.ep };

	if (mdr_buf_get(&p->bufs, &c->x.in) || mdr_buf_get(&p->bufs, &c->x.out))
		return -ENOMEM;
	c->g.fd = fd;
	c->file.fd = -1;
	c->gen = p->gen;
	loop_entry_init(&c->le);
	c->g.ep = (struct endpoint){ c, false, -1, NULL };
	relay_init(&c->r, c);
	if (epoll_ctl(p->loop.epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int err = errno;

		pr_warn("proxy: cannot watch a new guest connection, closing "
			"it (epoll_ctl: %s)",
			strerror(err));
		return -err;
	}
	c->g.ev = EPOLLIN;
	c->gen->users++;
	c->state = CS_HEAD;
	c->all_next = p->all;
	if (p->all)
		p->all->all_prev = c;
	p->all = c;
	mdr_counter_add(&p->ctr->connections_open, 1);
	timer_set(p, c, T_REQUEST);
	return 0;
}

void session_event(struct proxy *p, struct conn *c, bool backend,
		   uint32_t events)
{
	if (backend) {
		if (!relay_event(&c->gen->relay, &c->r, &c->x))
			return;
		answer_outcome(p, c);
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		/* Both directions are down: nothing we send can arrive. */
		session_close(p, c);
		return;
	} else {
		c->g.in_drained = false;
	}
	session_drive(p, c);
}
