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
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "backends/kinds.h"
#include "lib/cgroup_mem.h"
#include "lib/log.h"
#include "proxy/conn.h"
#include "proxy/listener.h"
#include "proxy/proxy.h"
#include "proxy/relay.h"
#include "proxy/session.h"

#define STOP_CHECK_MS  200
#define MAX_EVENTS     64
/* Descriptors a connection can hold at once: guest, backend, local file. */
#define FDS_PER_CONN   3
#define FDS_SPARE      64
/* A turn this much later than its wait was stopped or starved; then
 * timers wait at most this many full turns for epoll to report all. */
#define STALL_MS       1000
#define CATCH_UP_TURNS 64
/* Connection buffers kept for reuse: 8 MiB at most. */
#define SPARE_BUFS     256

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

/*
 * A turn that came back from epoll_wait() much later than it asked
 * (*last_ms: the previous turn's return) was stopped (SIGSTOP, a
 * debugger, a frozen cgroup) or starved of CPU. Every timer whose
 * deadline passed meanwhile is due now, although what guests and backends
 * sent meanwhile is waiting, unread: so timers wait until epoll has
 * reported everything ready (a turn with fewer than MAX_EVENTS), for a
 * bounded number of turns. The clock is monotonic and counts the stall:
 * what was really idle that long still times out after.
 */
static void note_stall(struct proxy *p, uint64_t *last_ms, int wait)
{
	uint64_t now = p->loop.now_ms, late = now - *last_ms - wait;

	if (*last_ms && now - *last_ms > (uint64_t)wait + STALL_MS) {
		pr_warn("proxy: the loop stalled for %.1f s (the daemon was "
			"stopped, or starved of CPU); reading what %llu guest "
			"connections sent meanwhile before their timeouts",
			late / 1e3,
			(unsigned long long)mdr_counter_read(
				&p->ctr->connections_open));
		p->catch_up_turns = CATCH_UP_TURNS;
	}
	*last_ms = now;
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
	if (rl.rlim_cur < want)
		pr_warn("proxy: the open-file limit is %llu, below the %llu "
			"that max_connections = %u needs: short of "
			"descriptors, new guests are refused with 503 (raise "
			"the hard limit, LimitNOFILE= under systemd)",
			(unsigned long long)rl.rlim_cur,
			(unsigned long long)want, max_conns);
}

/*
 * The connection caps (*total, *per_attach: o's on entry) as far as the
 * memory cap of our cgroup allows. A connection holds up to four buffers
 * (guest in and out, backend in and out); half of what the cap leaves
 * above today's use goes to them, the other half to the rest (sockets,
 * the cache, the kernel's pages). Past the cap the kernel kills the whole
 * daemon, so a flood is better refused with 503 at the connection cap than
 * met there. The per-attachment cap shrinks in proportion, so that one
 * attachment still cannot take them all.
 */
static void caps_for_memory(unsigned int *total, unsigned int *per_attach)
{
	const uint64_t per_conn = 4 * MDR_BUF_SIZE;
	uint64_t limit, usage, fit, per;

	if (mdr_cgroup_memory(&limit, &usage) || !limit)
		return;
	fit = limit > usage ? (limit - usage) / 2 / per_conn : 0;
	if (fit >= *total)
		return;
	fit = fit ?: 1;
	per = (uint64_t)*per_attach * fit / *total ?: 1;
	pr_warn("proxy: max_connections = %u could take %" PRIu64
		" MiB of buffers, more than the cgroup's memory limit "
		"(%" PRIu64 " MiB, %" PRIu64 " MiB in use) leaves: serving "
		"at most %" PRIu64 " connections at once, %" PRIu64
		" per attachment, so that a flood is refused with 503 rather "
		"than the daemon OOM-killed",
		*total, (uint64_t)*total * per_conn >> 20, limit >> 20,
		usage >> 20, fit, per);
	*total = (unsigned int)fit;
	*per_attach = (unsigned int)(per < *per_attach ? per : *per_attach);
}

/* The options come complete (see proxy.h): no defaults of our own here. */
static int check_options(const struct mdr_proxy_options *o)
{
	if (!o || o->listen_fd < 0 || !o->backend || !o->stop ||
	    !o->max_connections || !o->max_connections_per_attachment ||
	    !o->timeout_http_request_ms || !o->timeout_keepalive_ms ||
	    !o->timeout_client_ms || !o->timeout_server_ms ||
	    !o->timeout_connect_ms)
		return -EINVAL;
	if (mdr_backend_needs_endpoint(o->backend) ||
	    (o->backend->tls && !o->backend->ssl_ctx))
		return -EINVAL; /* mdr_backend_finish() was not called */
	return 0;
}

static void gen_free(struct proxy *p, struct proxy_gen *g)
{
	relay_env_free(&g->relay);
	mdr_cache_free(&g->cache);
	if (g->base_fd >= 0)
		close(g->base_fd);
	if (p->o->backend_done)
		p->o->backend_done(p->o->backend_done_ctx, g->backend);
	free(g);
}

/* Whether two backends answer alike, so one's cached responses may be the
 * other's (a reload that changed other settings keeps the cache). */
static bool same_backend(const struct mdr_backend *a,
			 const struct mdr_backend *b)
{
	char da[PATH_MAX + 32], db[PATH_MAX + 32];

	mdr_backend_describe(a, da, sizeof(da));
	mdr_backend_describe(b, db, sizeof(db));
	return !strcmp(da, db);
}

/*
 * A generation for o's backend, timeouts and cache. The cache of @old is
 * taken over when nothing about it changed (and @old then keeps an empty
 * one, where what its last requests would store goes nowhere).
 */
static struct proxy_gen *gen_new(struct proxy *p,
				 const struct mdr_proxy_options *o,
				 struct proxy_gen *old, int *err)
{
	struct proxy_gen *g = calloc(1, sizeof(*g));
	bool keep_cache;

	*err = -ENOMEM;
	if (!g)
		return NULL;
	g->backend = o->backend;
	g->base_fd = -1;
	g->timeout_ms[T_REQUEST] = o->timeout_http_request_ms;
	g->timeout_ms[T_KEEPALIVE] = o->timeout_keepalive_ms;
	g->timeout_ms[T_CLIENT] = o->timeout_client_ms;
	g->timeout_ms[T_SERVER] = o->timeout_server_ms;
	g->timeout_ms[T_CONNECT] = o->timeout_connect_ms;
	g->tokens = o->imds_tokens;
	if (!mdr_backend_ops(o->backend)->relayed) {
		g->base_fd =
			open(o->backend->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (g->base_fd < 0) {
			*err = -errno;
			goto fail;
		}
	}
	keep_cache = old && old->cache.ttl_ms == o->cache_ttl_ms &&
		     old->cache.max_bytes == o->cache_max_bytes &&
		     same_backend(old->backend, o->backend);
	if (keep_cache) {
		g->cache = old->cache;
		*err = mdr_cache_init(&old->cache, 0, 0);
	} else {
		*err = mdr_cache_init(&g->cache, o->cache_ttl_ms,
				      o->cache_max_bytes);
	}
	if (*err) {
		if (keep_cache)
			old->cache = g->cache;
		goto fail;
	}
	relay_env_init(&g->relay, &p->loop, o->backend, &p->bufs, &g->cache,
		       o->backend_keepalive);
	g->users = 1; /* the proxy's, while it is the newest */
	return g;
fail:
	if (g->base_fd >= 0)
		close(g->base_fd);
	free(g);
	return NULL;
}

/* The newest generation steps down: freed once its last request ends. */
static void gen_retire(struct proxy *p, struct proxy_gen *g)
{
	relay_env_drain(&g->relay);
	g->users--;
	g->next_retired = p->retired;
	p->retired = g;
}

/* Frees the retired generations no connection uses any more. */
static void reap_gens(struct proxy *p)
{
	struct proxy_gen **pp = &p->retired, *g;

	while ((g = *pp)) {
		if (g->users) {
			pp = &g->next_retired;
			continue;
		}
		*pp = g->next_retired;
		gen_free(p, g);
	}
}

static bool same_rate_config(const struct mdr_rate_config *a,
			     const struct mdr_rate_config *b)
{
	return a->enabled == b->enabled && a->ip_versions == b->ip_versions &&
	       a->base_window_ms == b->base_window_ms &&
	       a->base_limit == b->base_limit &&
	       a->burst_window_ms == b->burst_window_ms &&
	       a->burst_limit == b->burst_limit &&
	       a->max_guests == b->max_guests;
}

int mdr_proxy_reconfigure(struct proxy *p, const struct mdr_proxy_options *o)
{
	unsigned int total, per_attach;
	struct mdr_rate_limiter rate;
	bool new_rate;
	struct proxy_gen *g;
	int err;

	err = check_options(o);
	if (!err && (o->listen_fd != p->o->listen_fd || o->stop != p->o->stop))
		err = -EINVAL; /* the listener stays: see proxy.h */
	if (err)
		return err;
	/* Everything new is made first: a failure leaves the old in force. */
	/* (Against the options given: the limiter fills in its defaults.) */
	new_rate = !same_rate_config(&o->rate_limit, &p->o->rate_limit);
	if (new_rate) {
		err = mdr_rate_init(&rate, &o->rate_limit);
		if (err)
			return err;
	}
	g = gen_new(p, o, p->gen, &err);
	if (!g) {
		if (new_rate)
			mdr_rate_free(&rate);
		return err;
	}

	gen_retire(p, p->gen);
	p->gen = g;
	if (new_rate) {
		/* Counts start afresh: windows of another length do not
		 * carry over. */
		mdr_rate_free(&p->rate);
		p->rate = rate;
	}
	total = o->max_connections;
	per_attach = o->max_connections_per_attachment;
	caps_for_memory(&total, &per_attach);
	mdr_caps_set_limits(&p->caps, total, per_attach);
	raise_fd_limit(o->max_connections);
	p->opts = *o;
	/* Connections between two requests hold nothing of the old one. */
	for (struct conn *c = p->all; c; c = c->all_next)
		if (c->state == CS_HEAD)
			session_adopt_gen(p, c);
	return 0;
}

static int init_limits(struct proxy *p, const struct mdr_proxy_options *o)
{
	unsigned int total = o->max_connections,
		     per_attach = o->max_connections_per_attachment;
	int ret;

	raise_fd_limit(o->max_connections);
	caps_for_memory(&total, &per_attach);
	ret = mdr_caps_init(&p->caps, total, per_attach);
	if (!ret)
		ret = mdr_rate_init(&p->rate, &o->rate_limit);
	if (!ret && mdr_buf_pool_init(&p->bufs, MDR_BUF_SIZE, SPARE_BUFS))
		ret = -ENOMEM;
	if (!ret)
		p->gen = gen_new(p, o, NULL, &ret);
	if (ret)
		return ret;
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return p->spare_fd < 0 ? -errno : 0;
}

static void free_limits(struct proxy *p)
{
	if (p->gen)
		gen_retire(p, p->gen);
	else if (p->o->backend_done) /* never served with */
		p->o->backend_done(p->o->backend_done_ctx, p->o->backend);
	p->gen = NULL;
	reap_gens(p);
	mdr_buf_pool_free(&p->bufs);
	mdr_rate_free(&p->rate);
	mdr_caps_free(&p->caps);
	if (p->spare_fd >= 0)
		close(p->spare_fd);
}

int mdr_proxy_run(const struct mdr_proxy_options *o)
{
	struct proxy p = { .loop.epfd = -1, .spare_fd = -1 };
	struct mdr_proxy_counters own_counters = {};
	struct epoll_event evs[MAX_EVENTS];
	struct epoll_event lev = { .events = EPOLLIN };
	uint64_t last_ms = 0;
	int ret = 0, n, wait;

	if (!o)
		return -EINVAL;
	p.opts = *o;
	p.o = &p.opts;
	p.ctr = o->counters ? o->counters : &own_counters;
	ret = check_options(o);
	if (ret)
		goto out;
	/* sendfile() has no MSG_NOSIGNAL: a guest that vanishes mid-file
	 * must cost an EPIPE, not the daemon. */
	signal(SIGPIPE, SIG_IGN);
	ret = loop_init(&p.loop);
	if (ret)
		goto out;
	ret = init_limits(&p, o);
	if (ret)
		goto out;
	lev.data.ptr = &p.listener;
	if (epoll_ctl(p.loop.epfd, EPOLL_CTL_ADD, o->listen_fd, &lev)) {
		ret = -errno;
		goto out;
	}
	p.accepting = true;

	while (!*p.o->stop) {
		if (p.o->on_turn)
			p.o->on_turn(p.o->on_turn_ctx);
		loop_tick(&p.loop);
		/* Between two turns: nothing is half done. */
		if (p.o->reload && *p.o->reload) {
			*p.o->reload = 0;
			p.o->on_reload(p.o->on_reload_ctx, &p);
			loop_tick(&p.loop);
		}
		if (!p.accepting && p.loop.now_ms >= p.accept_resume_ms)
			listener_set_accepting(&p, true);
		/* A line per request, one write per loop turn under load. */
		if (p.o->access_log)
			fflush(p.o->access_log);
		wait = next_wait_ms(&p);
		n = epoll_wait(p.loop.epfd, evs, MAX_EVENTS, wait);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		loop_tick(&p.loop);
		note_stall(&p, &last_ms, wait);
		/* A signal: a reload or a stop to see to, or a SIGCONT that
		 * ended one (see note_stall()), before any timer. */
		if (n < 0)
			continue;
		for (int i = 0; i < n; i++) {
			struct endpoint *ep = evs[i].data.ptr;

			if (ep == &p.listener)
				listener_accept(&p);
			else if (!ep->c)
				relay_pool_event(ep->env, ep->slot);
			else if (!ep->c->le.dead)
				session_event(&p, ep->c, ep->backend,
					      evs[i].events);
		}
		run_queue(&p);
		if (p.catch_up_turns && n == MAX_EVENTS) {
			p.catch_up_turns--;
		} else {
			p.catch_up_turns = 0;
			expire_timers(&p);
			relay_pool_expire(&p.gen->relay);
		}
		reap(&p);
		reap_gens(&p);
	}
	while (p.all)
		session_close(&p, p.all);
	for (struct loop_entry *e = loop_run_take(&p.loop); e;)
		e = loop_run_next(e);
	reap(&p);
	if (p.o->access_log)
		fflush(p.o->access_log);
out:
	if (p.loop.epfd >= 0)
		epoll_ctl(p.loop.epfd, EPOLL_CTL_DEL, o->listen_fd, NULL);
	free_limits(&p);
	loop_free(&p.loop);
	return ret;
}
