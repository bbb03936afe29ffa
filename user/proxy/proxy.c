/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The proxy: one thread, one epoll set (loop.c), and every guest
 * connection a small state machine (session.c) driven until it can make no
 * more progress. This file sets it all up and runs the turns of the loop:
 * wait, dispatch what epoll reports (listener.c, session.c, the relay's
 * idle pool), run the run queue, expire timers, free the closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "backends/kinds.h"
#include "proxy/conn.h"
#include "proxy/listener.h"
#include "proxy/proxy.h"
#include "proxy/relay.h"
#include "proxy/session.h"

#define LINGER_MS     2000
#define STOP_CHECK_MS 200
#define MAX_EVENTS    64
/* Descriptors a connection can hold at once: guest, backend, local file. */
#define FDS_PER_CONN  3
#define FDS_SPARE     64
/* Connection buffers kept for reuse: 8 MiB at most. */
#define SPARE_BUFS    256

/* Runs what ran out of rounds last time; entries queued meanwhile wait
 * for the next turn. */
static void run_queue(struct proxy *p)
{
	struct loop_entry *e, *next;

	for (e = loop_run_take(&p->loop); e; e = next) {
		next = loop_run_next(e);
		if (!e->dead)
			session_drive(p, conn_of(e));
	}
}

static void expire_timers(struct proxy *p)
{
	enum timer_kind kind;
	struct loop_entry *e;

	while ((e = loop_next_expired(&p->loop, &kind)))
		session_timeout(p, conn_of(e), kind);
}

/* Frees closed connections once no queued event can still name them. */
static void reap(struct proxy *p)
{
	struct loop_entry *e;

	while ((e = loop_next_reaped(&p->loop))) {
		struct conn *c = conn_of(e);

		mdr_buf_put(&p->bufs, &c->x.in);
		mdr_buf_put(&p->bufs, &c->x.out);
		free(c);
	}
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
	rlim_t want =
		(rlim_t)max_conns * FDS_PER_CONN + FDS_SPARE + MDR_POOL_MAX;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want
			      ? rl.rlim_max
			      : want;
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
	struct proxy p = {
		.o = o, .loop.epfd = -1, .base_fd = -1, .spare_fd = -1
	};
	struct mdr_proxy_counters own_counters = {};
	struct epoll_event evs[MAX_EVENTS];
	struct epoll_event lev = { .events = EPOLLIN };
	int ret = 0, n;

	if (!o || o->listen_fd < 0 || !o->backend || !o->stop)
		return -EINVAL;
	p.ctr = o->counters ? o->counters : &own_counters;
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
		p.base_fd =
			open(o->backend->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
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
	relay_env_init(&p.relay, &p.loop, o->backend, &p.bufs, &p.cache,
		       o->backend_keepalive);

	while (!*o->stop) {
		loop_tick(&p.loop);
		if (!p.accepting && p.loop.now_ms >= p.accept_resume_ms)
			listener_set_accepting(&p, true);
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
				listener_accept(&p);
			else if (!ep->c)
				relay_pool_event(&p.relay, ep->slot);
			else if (!ep->c->le.dead)
				session_event(&p, ep->c, ep->backend,
					      evs[i].events);
		}
		run_queue(&p);
		expire_timers(&p);
		relay_pool_expire(&p.relay);
		reap(&p);
	}
	while (p.all)
		session_close(&p, p.all);
	for (struct loop_entry *e = loop_run_take(&p.loop); e;)
		e = loop_run_next(e);
	reap(&p);
	relay_env_free(&p.relay);
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
