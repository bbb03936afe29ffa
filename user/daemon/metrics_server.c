// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "daemon/metrics_server.h"
#include "http/parser.h"
#include "lib/log.h"
#include "lib/clock.h"

#define POLL_MS 200 /* how often the idle thread looks at quit */

static int port_of(const char *s, unsigned short *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || !v || v > 65535)
		return -EINVAL;
	*port = htons((unsigned short)v);
	return 0;
}

int mdr_metrics_parse_listen(const char *spec, struct mdr_metrics_addr *a,
			     char *why, size_t why_len)
{
	struct sockaddr_in6 *s6 = (void *)&a->ss;
	struct sockaddr_in *s4 = (void *)&a->ss;
	struct sockaddr_un *su = (void *)&a->ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (!*spec)
		return 0;
	if (!strncmp(spec, "unix:", 5)) {
		n = strlen(spec + 5);
		if (spec[5] != '/' || n >= sizeof(su->sun_path)) {
			snprintf(why, why_len,
				 "'%.64s' needs an absolute path of at most "
				 "%zu bytes after unix:",
				 spec, sizeof(su->sun_path) - 1);
			return -EINVAL;
		}
		su->sun_family = AF_UNIX;
		memcpy(su->sun_path, spec + 5, n + 1);
		a->len = sizeof(*su);
		return 0;
	}
	colon = strrchr(spec, ':');
	n = colon ? (size_t)(colon - spec) : 0;
	if (!colon || n >= sizeof(host))
		goto bad;
	memcpy(host, spec, n);
	host[n] = '\0';
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1 ||
		    port_of(colon + 1, &s6->sin6_port))
			goto bad;
		a->len = sizeof(*s6);
		return 0;
	}
	s4->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1 ||
	    port_of(colon + 1, &s4->sin_port))
		goto bad;
	a->len = sizeof(*s4);
	return 0;
bad:
	snprintf(why, why_len,
		 "'%.64s' is not ADDRESS:PORT (127.0.0.1:9100, [::1]:9100; an "
		 "IP address, not a name, and a port 1-65535) or unix:PATH",
		 spec);
	return -EINVAL;
}

/* Waits for EVENTS on fd until the deadline; false on timeout or error. */
static bool wait_for(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now = mdr_now_ms();

	if (now >= deadline)
		return false;
	return poll(&pfd, 1, (int)(deadline - now)) == 1;
}

static bool send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			if (!wait_for(fd, POLLOUT, deadline))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static void reply(int fd, int status, const char *type, const char *extra,
		  const char *body, size_t len, bool head, uint64_t deadline)
{
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
		     status, mdr_http_reason(status), type, len,
		     extra ? extra : "");
	if (send_all(fd, hdr, (size_t)n, deadline) && !head)
		send_all(fd, body, len, deadline);
}

static void reply_text(int fd, int status, const char *why, const char *extra,
		       uint64_t deadline)
{
	reply(fd, status, "text/plain; charset=utf-8", extra, why, strlen(why),
	      false, deadline);
}

/* Reads one request head; 1 complete, 0 gave up silently, -1 answered. */
static int read_head(int fd, char *buf, struct mdr_http_head *h,
		     uint64_t deadline)
{
	struct mdr_http_parser parser = {};
	size_t len = 0;
	int r;

	for (;;) {
		ssize_t n = recv(fd, buf + len, MDR_METRICS_MAX_REQUEST - len,
				 MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_for(fd, POLLIN, deadline)) {
				if (len) /* a second more to say so */
					reply_text(fd, 408, "request timeout\n",
						   NULL, mdr_now_ms() + 1000);
				return len ? -1 : 0;
			}
			continue;
		}
		if (n <= 0)
			return 0;
		len += (size_t)n;
		r = mdr_http_parse_request(&parser, buf, len, h);
		if (r == 1)
			return 1;
		if (r < 0) {
			reply_text(fd, h->error_status, "bad request\n", NULL,
				   deadline);
			return -1;
		}
		if (len == MDR_METRICS_MAX_REQUEST) {
			reply_text(fd, 431, "request too large\n", NULL,
				   deadline);
			return -1;
		}
	}
}

static bool is_metrics_path(struct mdr_str t)
{
	static const char path[] = "/metrics";
	size_t n = sizeof(path) - 1;

	return t.n >= n && !memcmp(t.p, path, n) && (t.n == n || t.p[n] == '?');
}

static void serve_client(const struct mdr_metrics_server *s, int fd)
{
	uint64_t deadline = mdr_now_ms() + MDR_METRICS_TIMEOUT_MS;
	char req[MDR_METRICS_MAX_REQUEST];
	struct mdr_http_head h;
	char *body = NULL;
	size_t len = 0;
	bool head;
	FILE *f;
	int err;

	if (read_head(fd, req, &h, deadline) != 1)
		return;
	head = mdr_str_eq(h.method, "HEAD");
	if (!head && !mdr_str_eq(h.method, "GET")) {
		reply_text(fd, 405, "only GET and HEAD\n",
			   "Allow: GET, HEAD\r\n", deadline);
		return;
	}
	if (!is_metrics_path(h.target)) {
		reply_text(fd, 404, "metrics are at /metrics\n", NULL,
			   deadline);
		return;
	}
	f = open_memstream(&body, &len);
	err = f ? mdr_metrics_write(s->m, f) : -ENOMEM;
	if (f && fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		pr_warn("metrics: cannot gather the metrics: %s",
			strerror(-err));
		reply_text(fd, 500, "cannot gather the metrics\n", NULL,
			   deadline);
	} else {
		reply(fd, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
		      body, len, head, deadline);
	}
	free(body);
}

/*
 * A FIN after the response, and what the client sent that we did not read
 * (a request over the limit, a body) read first, so that the close is not
 * a reset that could destroy the answer before the client reads it. No
 * waiting: only what is there already.
 */
static void close_gently(int fd)
{
	char scratch[4096];

	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 16; i++)
		if (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

/*
 * Out of descriptors or memory, the scrape stays queued and the listener
 * readable: poll() would return at once, for as long as it lasts. So wait
 * a turn without it, and say so, once a minute at most. A client that
 * was gone already (ECONNABORTED) is no news.
 */
static void accept_failed(int err)
{
	static uint64_t logged_ms;
	uint64_t now = mdr_now_ms();

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	if (!logged_ms || now - logged_ms >= 60000) {
		pr_warn("metrics: cannot accept a scrape (accept: %s); "
			"pausing accepts for %d ms at a time until it can",
			strerror(err), POLL_MS);
		logged_ms = now;
	}
	poll(NULL, 0, POLL_MS);
}

static void *serve_main(void *arg)
{
	struct mdr_metrics_server *s = arg;

	while (!__atomic_load_n(&s->quit, __ATOMIC_RELAXED)) {
		int fd;

		if (!wait_for(s->fd, POLLIN, mdr_now_ms() + POLL_MS))
			continue;
		fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			accept_failed(errno);
			continue;
		}
		serve_client(s, fd);
		close_gently(fd);
	}
	return NULL;
}

/* A socket file where the path is, left by a daemon killed outright. */
static int clear_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlink(path) ? -errno : 0;
}

int mdr_metrics_serve(struct mdr_metrics_server *s, const char *spec,
		      const struct mdr_metrics *m)
{
	struct mdr_metrics_addr a;
	char why[256];
	int one = 1, err;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->m = m;
	if (mdr_metrics_parse_listen(spec, &a, why, sizeof(why))) {
		pr_err("metrics_listen: %s", why); /* settings vetted it */
		return -EINVAL;
	}
	if (!a.len)
		return 0;
	if (a.ss.ss_family == AF_UNIX) {
		memcpy(&s->unix_path, &a.ss, sizeof(s->unix_path));
		err = clear_stale_socket(s->unix_path.sun_path);
		if (err) {
			pr_err("metrics_listen: cannot use %s: %s",
			       s->unix_path.sun_path,
			       err == -EEXIST ? "a file that is not a socket "
						"is there"
					      : strerror(-err));
			s->unix_path.sun_path[0] = '\0';
			return err;
		}
	}
	s->fd = socket(a.ss.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		err = -errno;
		goto fail;
	}
	if (a.ss.ss_family != AF_UNIX)
		setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&a.ss, a.len) || listen(s->fd, 16)) {
		err = -errno;
		goto fail;
	}
	err = -pthread_create(&s->thread, NULL, serve_main, s);
	if (err)
		goto fail;
	s->running = true;
	return 0;
fail:
	pr_err("metrics_listen: cannot listen on %s: %s", spec, strerror(-err));
	mdr_metrics_stop(s);
	return err;
}

void mdr_metrics_stop(struct mdr_metrics_server *s)
{
	if (s->running) {
		__atomic_store_n(&s->quit, 1, __ATOMIC_RELAXED);
		pthread_join(s->thread, NULL);
		s->running = false;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->unix_path.sun_path[0])
		unlink(s->unix_path.sun_path);
	s->unix_path.sun_path[0] = '\0';
}
