/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The proxy: one thread, one epoll set (loop.c), and every guest
 * connection a small state machine (conn.h) driven until it can make no
 * more progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/sendfile.h>

#include "proxy/conn.h"
#include "backends/kinds.h"
#include "backends/local.h"
#include "lib/log.h"

#define LINGER_MS          2000
#define STOP_CHECK_MS      200
#define ACCEPT_PAUSE_MS    100
#define MAX_ROUNDS         16 /* per wakeup, then let others run */
#define SENDFILE_CHUNK     (256 * 1024)
#define MAX_EVENTS         64
#define MAX_ACCEPTS        128 /* per wakeup */
/* Descriptors a connection can hold at once: guest, backend, local file. */
#define FDS_PER_CONN       3
#define FDS_SPARE          64
/* Connection buffers kept for reuse: 8 MiB at most. */
#define SPARE_BUFS         256

void conn_timer_set(struct proxy *p, struct conn *c, enum timer_kind kind)
{
	loop_timer_set(&p->loop, &c->le, kind);
	c->progress = false;
}

void conn_set_events(struct proxy *p, struct conn *c, bool backend,
		     uint32_t events)
{
	if (backend)
		loop_set_events(&p->loop, c->bfd, &c->bev,
				c->b_slot >= 0 ? &p->idle[c->b_slot].ep :
						 &c->bep,
				events, "backend");
	else
		loop_set_events(&p->loop, c->cfd, &c->cev, &c->cep, events,
				"guest");
}

/* Copies s for a quoted log field: no quotes, spaces or control bytes. */
static void log_copy(char *dst, size_t cap, struct mdr_str s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = s.p[i];
		bool plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\';

		if (o + (plain ? 1 : 4) + 4 > cap) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (plain) {
			dst[o++] = c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
}

static void log_request(struct proxy *p, struct conn *c)
{
	const struct mdr_proxy_options *o = p->o;
	struct mdr_request_record rec = {
		.id = c->have_id ? &c->id : NULL,
		.method = c->method,
		.path = c->path,
		.status = c->status,
		.bytes_in = c->bytes_in,
		.bytes_out = c->bytes_out,
		.duration_ms = loop_precise_ms() - c->started_ms,
	};
	bool ns = c->have_id && c->id.netns[0];

	if (o->access_log) {
		fprintf(o->access_log,
			"mdredir: access attach=%s%s%s vm=%s \"%s %s\" %d bytes=%" PRIu64
			" dur=%.1fms%s%s%s\n",
			c->have_id && c->id.ifname[0] ? c->id.ifname : "-",
			ns ? "@" : "", ns ? c->id.netns : "", c->peer, c->method,
			c->path, c->status, c->bytes_out, rec.duration_ms,
			c->cache_hit ? " cache=hit" : "",
			c->note ? " error=" : "", c->note ? c->note : "");
		/* Flushed once per loop turn, before waiting (mdr_proxy_run). */
	}
	if (o->on_request)
		o->on_request(o->on_request_ctx, &rec);
	c->in_request = false;
}

static void begin_request(struct conn *c, const struct mdr_http_head *h)
{
	static const struct mdr_http_head none = { .minor = 1 };

	if (!h)
		h = &none;
	c->in_request = true;
	c->started_ms = loop_precise_ms();
	c->status = 0;
	c->note = NULL;
	c->cache_hit = false;
	c->bytes_in = h->len;
	c->bytes_out = 0;
	c->minor = h->minor;
	c->is_head = mdr_str_eq(h->method, "HEAD");
	c->close_after = !mdr_http_wants_keep_alive(h);
	mdr_body_init(&c->req_body, h, false);
	if (h == &none) {
		strcpy(c->method, "-");
		strcpy(c->path, "-");
	} else {
		log_copy(c->method, sizeof(c->method), h->method);
		log_copy(c->path, sizeof(c->path), h->target);
	}
}

/*
 * Formats a complete response made by the proxy: text/plain, one line.
 * extra: more header lines ("Name: value\r\n"), or NULL. Returns its
 * length, or 0 if cap is too small (cannot happen: responses are tiny).
 */
static size_t format_response(char *buf, size_t cap, const struct proxy *p,
			      int status, const char *why, bool keep_alive,
			      bool head, const char *extra)
{
	const char *allow = mdr_backend_ops(p->o->backend)->allow;
	int n;

	n = snprintf(buf, cap,
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %zu\r\n"
		     "%s%s%s%s"
		     "Connection: %s\r\n\r\n%s%s",
		     status, mdr_http_reason(status), strlen(why) + 1,
		     status == 405 ? "Allow: " : "", status == 405 ? allow : "",
		     status == 405 ? "\r\n" : "", extra ? extra : "",
		     keep_alive ? "keep-alive" : "close",
		     head ? "" : why, head ? "" : "\n");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void respond(struct proxy *p, struct conn *c, int status,
		    const char *why, bool keep_alive, const char *extra)
{
	size_t n;

	relay_close(p, c);
	/* Unread request body bytes would be taken for the next request. */
	keep_alive = keep_alive && !c->close_after && c->req_body.done;
	n = format_response(mdr_buf_end(&c->cout), mdr_buf_room(&c->cout), p,
			    status, why, keep_alive, c->is_head, extra);
	c->cout.tail += n;
	c->close_after = !keep_alive || !n;
	c->status = status;
	c->state = CS_RESPOND;
	conn_timer_set(p, c, T_CLIENT);
}

void conn_respond(struct proxy *p, struct conn *c, int status,
		  const char *why, bool keep_alive)
{
	respond(p, c, status, why, keep_alive, NULL);
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

	wait = mdr_rate_check(&p->rate, c->id.attach_id, &c->peer_addr,
			      p->loop.now_ms);
	if (!wait)
		return false;
	snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", wait);
	c->note = "rate limited";
	respond(p, c, 429, "too many requests, retry later", true, retry);
	return true;
}

static void serve_local(struct proxy *p, struct conn *c,
			const struct mdr_http_head *h)
{
	struct mdr_local_reply r;
	bool keep;
	int n;

	if (mdr_str_eq(h->method, "POST")) {
		conn_respond(p, c, 405, "the local backend serves GET and HEAD only",
			     true);
		return;
	}
	if (mdr_local_lookup(p->base_fd, &c->id, h->target, &r) != 200) {
		conn_respond(p, c, r.status, r.why, r.status < 500);
		return;
	}
	keep = !c->close_after && c->req_body.done;
	n = snprintf(mdr_buf_end(&c->cout), mdr_buf_room(&c->cout),
		     "HTTP/1.1 200 OK\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %" PRIu64 "\r\n"
		     "Connection: %s\r\n\r\n",
		     r.content_type, r.size, keep ? "keep-alive" : "close");
	c->cout.tail += n;
	c->close_after = !keep;
	c->file_fd = r.fd;
	c->file_off = 0;
	c->file_left = c->is_head ? 0 : r.size;
	c->status = 200;
	c->state = CS_RESPOND;
	conn_timer_set(p, c, T_CLIENT);
}

/*
 * A GET the cache may answer: from the cache when it holds a fresh
 * response for exactly this identity and target (true); else the relay
 * keeps the response on its way for the cache (see cache.h) and false.
 */
static bool serve_cached(struct proxy *p, struct conn *c,
			 const struct mdr_http_head *h)
{
	char key[MDR_BUF_SIZE];
	struct mdr_cache_hit hit;
	size_t len, need;
	bool keep;

	if (!mdr_cache_enabled(&p->cache) || !mdr_str_eq(h->method, "GET") ||
	    h->body != MDR_BODY_NONE)
		return false;
	len = mdr_cache_key(&c->id, h->target.p, h->target.n, key, sizeof(key));
	if (!len)
		return false;
	if (!mdr_cache_lookup(&p->cache, key, len, p->loop.now_ms, &hit)) {
		mdr_cache_capture_begin(&c->cap, key, len);
		return false;
	}
	keep = !c->close_after;
	need = hit.head_len + sizeof("Connection: keep-alive\r\n\r\n");
	c->file_fd = need <= mdr_buf_room(&c->cout) ?
			     fcntl(hit.body_fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (c->file_fd < 0)
		return false;	/* then the backend answers instead */
	memcpy(mdr_buf_end(&c->cout), hit.head, hit.head_len);
	c->cout.tail += hit.head_len;
	c->cout.tail += snprintf(mdr_buf_end(&c->cout), mdr_buf_room(&c->cout),
				 "Connection: %s\r\n\r\n",
				 keep ? "keep-alive" : "close");
	c->close_after = !keep;
	c->file_off = 0;
	c->file_left = hit.body_len;
	c->status = 200;
	c->cache_hit = true;
	c->state = CS_RESPOND;
	conn_timer_set(p, c, T_CLIENT);
	return true;
}

/* Where an identified guest's request that is within its limits goes. */
static int dispatch_request(struct proxy *p, struct conn *c,
			    const struct mdr_http_head *h)
{
	const struct mdr_backend_ops *ops = mdr_backend_ops(p->o->backend);

	if (!mdr_str_eq(h->method, "GET") && !mdr_str_eq(h->method, "HEAD") &&
	    !mdr_str_eq(h->method, "POST"))
		conn_respond(p, c, 405, "method not allowed", true);
	else if (ops->needs_instance && !c->id.instance_id[0])
		/* Nova knows instances only; a network's tap needs neutron. */
		conn_respond(p, c, 404,
			     "no instance is associated with this interface",
			     true);
	else if (!ops->relayed)
		serve_local(p, c, h);
	else if (!serve_cached(p, c, h))
		return relay_start(p, c, h);
	return 0;
}

static int start_request(struct proxy *p, struct conn *c,
			 const struct mdr_http_head *h)
{
	int ret = 0;

	begin_request(c, h);
	if (!c->have_id)
		conn_respond(p, c, 404, "no metadata service for this address",
			     false);
	else if (!refused_over_rate(p, c))
		ret = dispatch_request(p, c, h);
	/* The body, if any, stays in cin for the relay (or is never read). */
	mdr_buf_consume(&c->cin, h->len);
	return ret;
}

static int handle_head(struct proxy *p, struct conn *c, bool *progress)
{
	struct mdr_http_head h;
	int ret;

	if (!mdr_buf_len(&c->cin))
		return c->cin_eof ? -ENOTCONN : 0;
	ret = mdr_http_parse_request(&c->req_parser, mdr_buf_data(&c->cin),
				     mdr_buf_len(&c->cin), &h);
	if (ret == 0)
		return c->cin_eof ? -ENOTCONN : 0; /* gave up mid-head */
	*progress = true;
	memset(&c->req_parser, 0, sizeof(c->req_parser));
	if (ret < 0) {
		begin_request(c, NULL);
		conn_respond(p, c, h.error_status, h.error, false);
		return 0;
	}
	return start_request(p, c, &h);
}

static int client_read(struct conn *c, bool *progress)
{
	size_t room;
	ssize_t n;

	if (c->cin_eof || c->cin_drained)
		return 0;
	room = mdr_buf_room(&c->cin);
	if (!room)
		return 0;
	n = recv(c->cfd, mdr_buf_end(&c->cin), room, 0);
	if (n < 0) {
		c->cin_drained = errno == EAGAIN;
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	}
	c->cin_drained = n > 0 && (size_t)n < room;
	*progress = true;
	if (n == 0)
		c->cin_eof = true;
	c->cin.tail += n;
	if (c->state == CS_LINGER)
		mdr_buf_reset(&c->cin);
	return 0;
}

/* Nothing more of the response is to come: what is left is queued. */
static bool response_complete(const struct conn *c)
{
	return c->state == CS_RESPOND ||
	       (c->state == CS_RELAY && c->rs == RS_DONE);
}

/* The connection ends with this response, all of it queued or in a file. */
static bool closing_response(const struct conn *c)
{
	return c->close_after && response_complete(c);
}

static int client_write(struct conn *c, bool *progress)
{
	ssize_t n;

	if (mdr_buf_len(&c->cout)) {
		/*
		 * The last bytes before we close wait for the FIN that
		 * request_done() sends at once, and leave in one segment with
		 * it: a guest that saw them alone would close first.
		 */
		n = send(c->cfd, mdr_buf_data(&c->cout), mdr_buf_len(&c->cout),
			 MSG_NOSIGNAL | (closing_response(c) && !c->file_left ?
						 MSG_MORE : 0));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		mdr_buf_consume(&c->cout, n);
		c->bytes_out += n;
		*progress = true;
	}
	if (!mdr_buf_len(&c->cout) && c->file_left) {
		size_t chunk = c->file_left < SENDFILE_CHUNK ? c->file_left :
							       SENDFILE_CHUNK;
		int one = 1;

		/* sendfile() has no MSG_MORE: cork its last chunk instead. */
		if (closing_response(c) && chunk == c->file_left)
			setsockopt(c->cfd, IPPROTO_TCP, TCP_CORK, &one,
				   sizeof(one));
		n = sendfile(c->cfd, c->file_fd, &c->file_off, chunk);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0) {
			c->note = "file shrank while being sent";
			return -EIO;
		}
		c->file_left -= n;
		c->bytes_out += n;
		*progress = true;
	}
	return 0;
}

/* The response is out: log it and wait for the next request, or finish. */
static int request_done(struct proxy *p, struct conn *c)
{
	/*
	 * Closing: our FIN goes right behind the last byte, before anything
	 * else (the log line), so we close first and the TIME_WAIT is ours.
	 * A guest that closes first keeps one per connection, and a guest
	 * opening many (a benchmark, a storm) then spends its connect()s
	 * searching for a free port. The guest's remaining bytes are read
	 * until it closes, so our last response is not destroyed by a reset
	 * for unread request bytes.
	 */
	bool shut = c->close_after && !c->cin_eof &&
		    shutdown(c->cfd, SHUT_WR) == 0;

	log_request(p, c);
	mdr_cache_capture_end(&c->cap);
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	if (!c->close_after) {
		c->state = CS_HEAD;
		conn_timer_set(p, c, mdr_buf_len(&c->cin) ? T_REQUEST :
							    T_KEEPALIVE);
		return 0;
	}
	if (!shut)
		return -ENOTCONN;
	mdr_buf_reset(&c->cin);
	c->state = CS_LINGER;
	conn_timer_set(p, c, T_LINGER);
	return 0;
}

static int conn_step(struct proxy *p, struct conn *c, bool *progress)
{
	int ret;

	ret = client_read(c, progress);
	if (ret)
		return ret;
	switch (c->state) {
	case CS_HEAD:
		ret = handle_head(p, c, progress);
		break;
	case CS_RELAY:
		ret = relay_step(p, c, progress);
		break;
	case CS_RESPOND:
		break;
	case CS_LINGER:
		return c->cin_eof ? -ENOTCONN : 0;
	}
	if (ret)
		return ret;
	ret = client_write(c, progress);
	if (ret)
		return ret;
	if (response_complete(c) && !mdr_buf_len(&c->cout) && !c->file_left) {
		*progress = true;
		return request_done(p, c);
	}
	return 0;
}

static void conn_close(struct proxy *p, struct conn *c)
{
	if (c->le.dead)
		return;
	if (c->in_request) {
		if (!c->note)
			c->note = "aborted";
		log_request(p, c);
	}
	relay_close(p, c);
	mdr_cache_capture_end(&c->cap);
	if (c->file_fd >= 0)
		close(c->file_fd);
	close(c->cfd);
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		p->all = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	loop_kill(&p->loop, &c->le);
	mdr_caps_release(&p->caps, c->have_id, c->id.attach_id);
}

/* Registers what each socket should wake us for, and restarts the stall
 * timers when bytes moved. */
static void conn_settle(struct proxy *p, struct conn *c)
{
	uint32_t ev = 0;
	enum timer_kind kind;

	if (!c->cin_eof && mdr_buf_len(&c->cin) < c->cin.cap)
		ev |= EPOLLIN;
	if (mdr_buf_len(&c->cout) || c->file_left)
		ev |= EPOLLOUT;
	conn_set_events(p, c, false, ev);

	/* The first byte of the next request ends the keep-alive wait and
	 * starts the http-request one; neither restarts on progress. */
	if (c->state == CS_HEAD && c->le.tkind == T_KEEPALIVE &&
	    mdr_buf_len(&c->cin))
		conn_timer_set(p, c, T_REQUEST);
	if (c->state == CS_RESPOND && c->progress)
		conn_timer_set(p, c, T_CLIENT);
	/* Connect and handshake share the connect deadline. */
	if (c->state == CS_RELAY && c->rs == RS_HANDSHAKE)
		relay_update_events(p, c);
	if (c->state == CS_RELAY && c->rs != RS_CONNECTING &&
	    c->rs != RS_HANDSHAKE) {
		relay_update_events(p, c);
		/* Blame whoever we are waiting for. */
		bool guest = mdr_buf_len(&c->cout) ||
			     (!c->req_body.done && !c->bout_broken &&
			      !mdr_buf_len(&c->bout));
		kind = guest ? T_CLIENT : T_SERVER;
		if (kind != c->le.tkind || c->progress)
			conn_timer_set(p, c, kind);
	}
}

static void conn_drive(struct proxy *p, struct conn *c)
{
	for (int round = 0; round < MAX_ROUNDS; round++) {
		bool progress = false;

		if (conn_step(p, c, &progress) < 0) {
			conn_close(p, c);
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

static void conn_timeout(struct proxy *p, struct conn *c)
{
	switch (c->state) {
	case CS_HEAD:
		/* Idle, whether kept alive or never used: just close. */
		if (c->le.tkind == T_KEEPALIVE || !mdr_buf_len(&c->cin)) {
			conn_close(p, c);
			return;
		}
		begin_request(c, NULL);
		conn_respond(p, c, 408, "request not received in time", false);
		break;
	case CS_RELAY:
		if (c->le.tkind != T_CLIENT && c->rs != RS_BODY) {
			if (c->rs == RS_HANDSHAKE)
				c->note = "TLS handshake with backend timed out";
			conn_respond(p, c, 504, c->rs == RS_CONNECTING ?
				     "backend connect timed out" :
				     c->rs == RS_HANDSHAKE ?
				     "backend TLS handshake timed out" :
				     "backend did not answer in time", false);
			break;
		}
		/* fall through */
	default:
		c->note = "timeout";
		conn_close(p, c);
		return;
	}
	conn_drive(p, c);
}

static void format_addr(const struct sockaddr_storage *ss, char *buf,
			size_t len)
{
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;

	snprintf(buf, len, "-");
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &s4->sin_addr, buf, len);
	else if (ss->ss_family == AF_INET6 &&
		 IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, len);
}

/* Where the connection comes from (peer, from accept) and which
 * attachment it reached. 0, or -1 when the socket cannot say. A guest
 * that already reset is found out at its first read. */
static int conn_identify(struct proxy *p, struct conn *c, int fd,
			 const struct sockaddr_storage *peer)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	const struct mdr_proxy_options *o = p->o;
	const struct sockaddr_in *s4 = (const void *)peer;
	const struct sockaddr_in6 *s6 = (const void *)peer;

	if (getsockname(fd, (struct sockaddr *)&local, &llen))
		return -1;
	format_addr(peer, c->peer, sizeof(c->peer));
	if (peer->ss_family == AF_INET6) {
		c->peer_addr = s6->sin6_addr;
	} else if (peer->ss_family == AF_INET) {
		c->peer_addr.s6_addr[10] = c->peer_addr.s6_addr[11] = 0xff;
		memcpy(&c->peer_addr.s6_addr[12], &s4->sin_addr, 4);
	}
	c->have_id = o->identify &&
		     !o->identify(o->identify_ctx, (struct sockaddr *)&local,
				  (const struct sockaddr *)peer, &c->id);
	return 0;
}

/*
 * Refuses a connection over a cap at once: 503, then close. What the guest
 * already sent is read first, so that the close is a FIN after our answer
 * rather than a reset that could destroy it. No state is kept: a guest
 * flooding us costs one accept each, and never a slot.
 */
static void conn_shed(struct proxy *p, struct conn *c, int fd, const char *why)
{
	static char scratch[16384];
	char resp[256];
	size_t n;
	ssize_t r;

	c->in_request = true;
	c->started_ms = loop_precise_ms();
	c->note = why;
	c->status = 503;
	strcpy(c->method, "-");
	strcpy(c->path, "-");
	for (int i = 0; i < 4; i++) {
		r = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (r <= 0)
			break;
		c->bytes_in += r;
	}
	n = format_response(resp, sizeof(resp), p, 503, why, false, false,
			    "Retry-After: 1\r\n");
	r = send(fd, resp, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	c->bytes_out = r > 0 ? (uint64_t)r : 0;
	close(fd);
	log_request(p, c);
}

/* Makes a connection of a socket admitted under the caps. 0 or -ENOMEM. */
static int conn_start(struct proxy *p, struct conn *c, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->cep };

	if (mdr_buf_get(&p->bufs, &c->cin) || mdr_buf_get(&p->bufs, &c->cout))
		return -ENOMEM;
	c->cfd = fd;
	c->bfd = -1;
	c->b_slot = -1;
	c->file_fd = -1;
	c->le.tkind = T_NONE;
	c->cep = (struct endpoint){ c, false, -1 };
	c->bep = (struct endpoint){ c, true, -1 };
	if (epoll_ctl(p->loop.epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int err = errno;

		pr_warn("proxy: cannot watch a new guest connection, closing "
			"it (epoll_ctl: %s)", strerror(err));
		return -err;
	}
	c->cev = EPOLLIN;
	c->state = CS_HEAD;
	c->all_next = p->all;
	if (p->all)
		p->all->all_prev = c;
	p->all = c;
	conn_timer_set(p, c, T_REQUEST);
	return 0;
}

static void conn_accept(struct proxy *p, int fd,
			const struct sockaddr_storage *peer, const char *shed_why)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || conn_identify(p, c, fd, peer))
		goto fail;
	if (!shed_why) {
		switch (mdr_caps_admit(&p->caps, c->have_id, c->id.attach_id)) {
		case MDR_ADMIT_OK:
			if (!conn_start(p, c, fd))
				return;
			mdr_caps_release(&p->caps, c->have_id,
					 c->id.attach_id);
			goto fail;
		case MDR_ADMIT_FULL:
			shed_why = "too many connections";
			break;
		case MDR_ADMIT_ATTACH_FULL:
			shed_why = "too many connections from this attachment";
			break;
		}
	}
	conn_shed(p, c, fd, shed_why);
	free(c);
	return;
fail:
	if (c) {
		mdr_buf_put(&p->bufs, &c->cin);
		mdr_buf_put(&p->bufs, &c->cout);
		free(c);
	}
	close(fd);
}

static void set_accepting(struct proxy *p, bool on)
{
	struct epoll_event ev = {
		.events = on ? EPOLLIN : 0,
		.data.ptr = &p->listener,
	};

	if (p->accepting == on)
		return;
	if (!epoll_ctl(p->loop.epfd, EPOLL_CTL_MOD, p->o->listen_fd, &ev))
		p->accepting = on;
	else
		pr_warn("proxy: cannot %s accepting guests (epoll_ctl: %s)",
			on ? "resume" : "pause", strerror(errno));
}

static int accept_guest(struct proxy *p, struct sockaddr_storage *peer)
{
	socklen_t len = sizeof(*peer);

	return accept4(p->o->listen_fd, (struct sockaddr *)peer, &len,
		       SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/*
 * Out of descriptors: gives up the spare one for long enough to accept a
 * guest and tell it 503, so load is shed rather than queued. Returns
 * whether the queue was served (a guest taken off it, or none waiting).
 */
static bool shed_with_spare(struct proxy *p)
{
	struct sockaddr_storage peer;
	int fd;

	if (p->spare_fd < 0)
		return false;
	close(p->spare_fd);
	fd = accept_guest(p, &peer);
	if (fd >= 0)
		conn_accept(p, fd, &peer, "out of file descriptors");
	else if (errno == EAGAIN || errno == EWOULDBLOCK)
		fd = 0; /* the queue is empty: nobody waits */
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0;
}

static void accept_all(struct proxy *p)
{
	/* Bounded, so a burst of connections cannot hold up guests already
	 * served: the listener is level-triggered and comes back. */
	for (int i = 0; i < MAX_ACCEPTS; i++) {
		struct sockaddr_storage peer;
		int fd = accept_guest(p, &peer);

		if (fd >= 0) {
			conn_accept(p, fd, &peer, NULL);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if ((errno == EMFILE || errno == ENFILE) && shed_with_spare(p))
			continue;
		/* Out of descriptors or memory: a level-triggered listener
		 * would spin, so look away for a moment. */
		p->accept_resume_ms = p->loop.now_ms + ACCEPT_PAUSE_MS;
		set_accepting(p, false);
		return;
	}
}

static void conn_event(struct proxy *p, struct conn *c, bool backend,
		       uint32_t events)
{
	if (backend) {
		if (c->bfd < 0)
			return; /* stale: that backend socket is gone */
		c->b_drained = false;
		/*
		 * Otherwise HUP and ERR need nothing special: what the backend
		 * sent before hanging up is still queued, and recv() reports
		 * the end after it.
		 */
		if (c->rs == RS_CONNECTING)
			relay_connected(p, c);
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		/* Both directions are down: nothing we send can arrive. */
		conn_close(p, c);
		return;
	} else {
		c->cin_drained = false;
	}
	conn_drive(p, c);
}

/* How long to wait for events: until the next stop check, the listener's
 * resumption or the next timer, whichever comes first. */
static int next_wait_ms(const struct proxy *p)
{
	uint64_t wait = STOP_CHECK_MS, now = p->loop.now_ms;

	/* A paused listener resumes on time, not at the next stop check
	 * (the loop resumes it before waiting once the time has come). */
	if (!p->accepting && p->accept_resume_ms > now &&
	    p->accept_resume_ms - now < wait)
		wait = p->accept_resume_ms - now;
	return loop_wait_ms(&p->loop, wait);
}

/* Runs what ran out of rounds last time; entries queued meanwhile wait
 * for the next turn. */
static void run_queue(struct proxy *p)
{
	struct loop_entry *e, *next;

	for (e = loop_run_take(&p->loop); e; e = next) {
		next = loop_run_next(e);
		if (!e->dead)
			conn_drive(p, conn_of(e));
	}
}

static void expire_timers(struct proxy *p)
{
	struct loop_entry *e;

	while ((e = loop_next_expired(&p->loop)))
		conn_timeout(p, conn_of(e));
}

/* Frees closed connections once no queued event can still name them. */
static void reap(struct proxy *p)
{
	struct loop_entry *e;

	while ((e = loop_next_reaped(&p->loop))) {
		struct conn *c = conn_of(e);

		mdr_buf_put(&p->bufs, &c->cin);
		mdr_buf_put(&p->bufs, &c->cout);
		free(c);
	}
}

/* The options come complete (see proxy.h): no defaults of our own here. */
static int init_timeouts(struct proxy *p, const struct mdr_proxy_options *o)
{
	if (!o->timeout_http_request_ms || !o->timeout_keepalive_ms ||
	    !o->timeout_client_ms || !o->timeout_server_ms ||
	    !o->timeout_connect_ms)
		return -EINVAL;
	p->loop.timeout_ms[T_REQUEST] = o->timeout_http_request_ms;
	p->loop.timeout_ms[T_KEEPALIVE] = o->timeout_keepalive_ms;
	p->loop.timeout_ms[T_CLIENT] = o->timeout_client_ms;
	p->loop.timeout_ms[T_SERVER] = o->timeout_server_ms;
	p->loop.timeout_ms[T_CONNECT] = o->timeout_connect_ms;
	p->loop.timeout_ms[T_LINGER] = LINGER_MS;
	return 0;
}

/* Enough descriptors for every connection the caps allow, as far as the
 * hard limit lets us: past it guests are shed (see shed_with_spare()). */
static void raise_fd_limit(unsigned int max_conns)
{
	rlim_t want = (rlim_t)max_conns * FDS_PER_CONN + FDS_SPARE +
		      MDR_POOL_MAX;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ?
			      rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int init_limits(struct proxy *p, const struct mdr_proxy_options *o)
{
	int ret;

	if (!o->max_connections || !o->max_connections_per_attachment)
		return -EINVAL;
	ret = init_timeouts(p, o);
	if (ret)
		return ret;
	raise_fd_limit(o->max_connections);
	ret = mdr_caps_init(&p->caps, o->max_connections,
			    o->max_connections_per_attachment);
	if (!ret)
		ret = mdr_rate_init(&p->rate, &o->rate_limit);
	if (!ret)
		ret = mdr_cache_init(&p->cache, o->cache_ttl_ms,
				     o->cache_max_bytes);
	if (!ret && mdr_buf_pool_init(&p->bufs, MDR_BUF_SIZE, SPARE_BUFS))
		ret = -ENOMEM;
	if (ret)
		return ret;
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return p->spare_fd < 0 ? -errno : 0;
}

static void free_limits(struct proxy *p)
{
	mdr_buf_pool_free(&p->bufs);
	mdr_cache_free(&p->cache);
	mdr_rate_free(&p->rate);
	mdr_caps_free(&p->caps);
	if (p->spare_fd >= 0)
		close(p->spare_fd);
}

int mdr_proxy_run(const struct mdr_proxy_options *o)
{
	struct proxy p = { .o = o, .loop.epfd = -1, .base_fd = -1,
			   .spare_fd = -1 };
	struct epoll_event evs[MAX_EVENTS];
	struct epoll_event lev = { .events = EPOLLIN };
	int ret = 0, n;

	if (!o || o->listen_fd < 0 || !o->backend || !o->stop)
		return -EINVAL;
	if (mdr_backend_needs_endpoint(o->backend) ||
	    (o->backend->tls && !o->backend->ssl_ctx))
		return -EINVAL; /* mdr_backend_finish() was not called */
	/* sendfile() has no MSG_NOSIGNAL: a guest that vanishes mid-file
	 * must cost an EPIPE, not the daemon. */
	signal(SIGPIPE, SIG_IGN);
	ret = init_limits(&p, o);
	if (ret)
		goto out;
	if (!mdr_backend_ops(o->backend)->relayed) {
		p.base_fd = open(o->backend->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (p.base_fd < 0) {
			ret = -errno;
			goto out;
		}
	}
	ret = loop_init(&p.loop);
	if (ret)
		goto out;
	lev.data.ptr = &p.listener;
	if (epoll_ctl(p.loop.epfd, EPOLL_CTL_ADD, o->listen_fd, &lev)) {
		ret = -errno;
		goto out;
	}
	p.accepting = true;
	relay_pool_init(&p);

	while (!*o->stop) {
		loop_tick(&p.loop);
		if (!p.accepting && p.loop.now_ms >= p.accept_resume_ms)
			set_accepting(&p, true);
		/* A line per request, one write per loop turn under load. */
		if (o->access_log)
			fflush(o->access_log);
		n = epoll_wait(p.loop.epfd, evs, MAX_EVENTS, next_wait_ms(&p));
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		loop_tick(&p.loop);
		for (int i = 0; i < n; i++) {
			struct endpoint *ep = evs[i].data.ptr;

			if (ep == &p.listener)
				accept_all(&p);
			else if (!ep->c)
				relay_pool_event(&p, ep->slot);
			else if (!ep->c->le.dead)
				conn_event(&p, ep->c, ep->backend, evs[i].events);
		}
		run_queue(&p);
		expire_timers(&p);
		relay_pool_expire(&p);
		reap(&p);
	}
	while (p.all)
		conn_close(&p, p.all);
	for (struct loop_entry *e = loop_run_take(&p.loop); e;)
		e = loop_run_next(e);
	reap(&p);
	relay_pool_free(&p);
	relay_forget_sessions(&p);
	if (o->access_log)
		fflush(o->access_log);
out:
	if (p.loop.epfd >= 0)
		epoll_ctl(p.loop.epfd, EPOLL_CTL_DEL, o->listen_fd, NULL);
	loop_free(&p.loop);
	if (p.base_fd >= 0)
		close(p.base_fd);
	free_limits(&p);
	return ret;
}
