/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The proxy: workers, each a thread with its own epoll set (loop.c) and
 * listener, and every guest connection a small state machine (session.c)
 * driven until it can make no more progress. This file sets them up and
 * runs the turns of a worker's loop: wait, dispatch what epoll reports
 * (listener.c, session.c, the relay's idle pool), run the run queue,
 * expire timers, free the closed. What the workers share, limits first,
 * is shared.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
/* And each worker's own: listener, epoll set, eventfd, spare. */
#define FDS_PER_WORKER 4
/* A turn this much later than its wait was stopped or starved; then
 * timers wait at most this many full turns for epoll to report all. */
#define STALL_MS       1000
#define CATCH_UP_TURNS 64
/* Connection buffers kept for reuse: 8 MiB at most, all workers. */
#define SPARE_BUFS     256
/* A worker that has not turned for this long is stuck: the watchdog
 * hears nothing more (on_turn). Turns come every STOP_CHECK_MS at least. */
#define TURN_LATE_MS   2000
/* How long a reload waits for every worker to take the new options. */
#define ADOPT_WAIT_MS  2000

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
		/* A stopped daemon stalls every worker alike: one line. */
		if (!p->worker)
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
 * hard limit lets us: past it guests are shed (see shed_with_spare()).
 * The idle pool is MDR_POOL_MAX in all, whatever the workers. */
static void raise_fd_limit(unsigned int max_conns, unsigned int workers)
{
	rlim_t want = (rlim_t)max_conns * FDS_PER_CONN + FDS_SPARE +
		      (rlim_t)workers * FDS_PER_WORKER + MDR_POOL_MAX;
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
	if (!o || !o->listen_fds || !o->workers ||
	    o->workers > MDR_WORKERS_MAX || !o->backend || !o->stop ||
	    !o->max_connections || !o->max_connections_per_attachment ||
	    !o->timeout_http_request_ms || !o->timeout_keepalive_ms ||
	    !o->timeout_client_ms || !o->timeout_server_ms ||
	    !o->timeout_connect_ms)
		return -EINVAL;
	for (unsigned int i = 0; i < o->workers; i++)
		if (o->listen_fds[i] < 0)
			return -EINVAL;
	if (mdr_backend_needs_endpoint(o->backend) ||
	    (o->backend->tls && !o->backend->ssl_ctx))
		return -EINVAL; /* mdr_backend_finish() was not called */
	return 0;
}

static void gen_free(struct proxy *p, struct proxy_gen *g)
{
	relay_env_free(&g->relay);
	if (g->base_fd >= 0)
		close(g->base_fd);
	mdr_backend_ref_put(p->sh, g->ref);
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
 * A generation for o's backend (whose @ref it takes a user of, kept on
 * failure), timeouts and cache epoch.
 */
static struct proxy_gen *gen_new(struct proxy *p,
				 const struct mdr_proxy_options *o,
				 struct mdr_backend_ref *ref,
				 uint64_t cache_epoch, int *err)
{
	struct proxy_gen *g = calloc(1, sizeof(*g));

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
			free(g);
			return NULL;
		}
	}
	/* Together, the workers keep MDR_POOL_MAX idle at most. */
	relay_env_init(&g->relay, &p->loop, o->backend, &p->bufs, &p->sh->cache,
		       cache_epoch, o->backend_keepalive,
		       MDR_POOL_MAX / o->workers);
	g->ref = ref;
	g->users = 1; /* the worker's, while it is the newest */
	*err = 0;
	return g;
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

/* @g, made for @o, is what the worker serves new requests with now. */
static void gen_switch(struct proxy *p, const struct mdr_proxy_options *o,
		       struct proxy_gen *g)
{
	if (p->gen)
		gen_retire(p, p->gen);
	p->gen = g;
	p->opts = *o;
	/* Connections between two requests hold nothing of the old one. */
	for (struct conn *c = p->all; c; c = c->all_next)
		if (c->state == CS_HEAD)
			session_adopt_gen(p, c);
}

/*
 * The options published last become this worker's, if it can make a
 * generation for them; else it tries again at its next turn. 0 or -errno.
 */
static int adopt_published(struct proxy *p)
{
	struct mdr_proxy_options o;
	struct mdr_backend_ref *ref;
	struct proxy_gen *g;
	uint64_t epoch, seq;
	int err;

	mdr_shared_snapshot(p->sh, &o, &ref, &epoch, &seq);
	g = gen_new(p, &o, ref, epoch, &err);
	if (!g) {
		mdr_backend_ref_put(p->sh, ref);
		pr_warn("proxy: worker %u cannot take the new settings (%s); "
			"trying again at its next turn",
			p->worker, strerror(-err));
		return err;
	}
	gen_switch(p, &o, g);
	p->seq = seq;
	mdr_shared_adopted(p->sh, p->worker, seq);
	return 0;
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

static bool same_listeners(const struct mdr_proxy_options *a,
			   const struct mdr_proxy_options *b)
{
	if (a->workers != b->workers || a->stop != b->stop)
		return false;
	for (unsigned int i = 0; i < a->workers; i++)
		if (a->listen_fds[i] != b->listen_fds[i])
			return false;
	return true;
}

/*
 * On worker 0's thread (on_reload): everything new is made first, so a
 * failure leaves the old in force; then the shared part changes (caps,
 * rate limiter, cache), worker 0 takes the new options, publishes them
 * and waits for the other workers to take them too.
 */
int mdr_proxy_reconfigure(struct proxy *p, const struct mdr_proxy_options *o)
{
	unsigned int total, per_attach;
	struct mdr_rate_limiter rate;
	struct mdr_backend_ref *ref;
	bool new_rate, new_cache;
	struct proxy_gen *g;
	int err;

	err = check_options(o);
	if (!err && !same_listeners(o, p->o))
		err = -EINVAL; /* the listeners stay: see proxy.h */
	if (err)
		return err;
	/* (Against the options given: the limiter fills in its defaults.) */
	new_rate = !same_rate_config(&o->rate_limit, &p->o->rate_limit);
	if (new_rate) {
		err = mdr_rate_init(&rate, &o->rate_limit);
		if (err)
			return err;
	}
	ref = mdr_backend_ref_new(o->backend);
	g = ref ? gen_new(p, o, ref, 0, &err) : NULL;
	if (!g) {
		free(ref); /* never published: the backend is the caller's */
		if (new_rate)
			mdr_rate_free(&rate);
		return ref ? err : -ENOMEM;
	}
	ref->users++; /* g's; the other is the publication's */

	/* A response from another backend, or kept under another ttl or
	 * size, is not this configuration's to serve. */
	new_cache = p->o->cache_ttl_ms != o->cache_ttl_ms ||
		    p->o->cache_max_bytes != o->cache_max_bytes ||
		    !same_backend(p->o->backend, o->backend);
	if (new_cache)
		mdr_cache_reconfigure(&p->sh->cache, o->cache_ttl_ms,
				      o->cache_max_bytes);
	g->relay.cache_epoch = mdr_cache_epoch(&p->sh->cache);
	total = o->max_connections;
	per_attach = o->max_connections_per_attachment;
	caps_for_memory(&total, &per_attach);
	raise_fd_limit(o->max_connections, o->workers);
	mdr_shared_publish(p->sh, o, ref, total, per_attach,
			   new_rate ? &rate : NULL);
	if (new_rate)
		mdr_rate_free(&rate); /* the old one, now */
	gen_switch(p, o, g);
	p->seq = __atomic_load_n(&p->sh->seq, __ATOMIC_RELAXED);
	mdr_shared_adopted(p->sh, 0, p->seq);
	mdr_shared_wait_adopted(p->sh, p->seq, ADOPT_WAIT_MS);
	return 0;
}

/* A worker's own part, made on mdr_proxy_run()'s thread before any
 * worker starts. 0 or -errno; worker_free() frees what was made. */
static int worker_init(struct proxy *p, struct mdr_shared *sh,
		       unsigned int worker, struct mdr_proxy_counters *ctr)
{
	struct epoll_event lev = { .events = EPOLLIN,
				   .data.ptr = &p->listener };
	struct epoll_event wev = { .events = EPOLLIN, .data.ptr = &p->waker };
	int ret;

	p->sh = sh;
	p->worker = worker;
	p->o = &p->opts;
	p->opts = sh->opts;
	p->ctr = ctr;
	p->listen_fd = sh->opts.listen_fds[worker];
	ret = loop_init(&p->loop);
	if (ret)
		return ret;
	/* The spares are shared out, so all keep what one did. */
	if (mdr_buf_pool_init(&p->bufs, MDR_BUF_SIZE,
			      SPARE_BUFS / sh->workers ?: 1))
		return -ENOMEM;
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->spare_fd < 0 || p->wake_fd < 0)
		return -errno;
	sh->wake_fd[worker] = p->wake_fd;
	if (epoll_ctl(p->loop.epfd, EPOLL_CTL_ADD, p->listen_fd, &lev) ||
	    epoll_ctl(p->loop.epfd, EPOLL_CTL_ADD, p->wake_fd, &wev))
		return -errno;
	p->accepting = true;
	return adopt_published(p);
}

static void worker_free(struct proxy *p)
{
	if (p->gen)
		gen_retire(p, p->gen);
	p->gen = NULL;
	reap_gens(p);
	mdr_buf_pool_free(&p->bufs);
	if (p->spare_fd >= 0)
		close(p->spare_fd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	if (p->loop.epfd >= 0)
		epoll_ctl(p->loop.epfd, EPOLL_CTL_DEL, p->listen_fd, NULL);
	loop_free(&p->loop);
}

static bool stopping(struct proxy *p)
{
	return __atomic_load_n(p->o->stop, __ATOMIC_RELAXED) ||
	       mdr_shared_failed(p->sh);
}

/* What worker 0 alone does between two turns: the watchdog's ping, and
 * a reload. */
static void first_worker_turn(struct proxy *p)
{
	if (p->o->on_turn &&
	    mdr_shared_all_turned(p->sh, p->loop.now_ms, TURN_LATE_MS))
		p->o->on_turn(p->o->on_turn_ctx);
	if (p->o->reload &&
	    __atomic_exchange_n(p->o->reload, 0, __ATOMIC_RELAXED)) {
		p->o->on_reload(p->o->on_reload_ctx, p);
		loop_tick(&p->loop);
	}
}

/* Runs a worker's loop until the proxy stops. 0 or -errno. */
static int worker_run(struct proxy *p)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t last_ms = 0, woken;
	int n, wait;

	while (!stopping(p)) {
		loop_tick(&p->loop);
		mdr_shared_turned(p->sh, p->worker, p->loop.now_ms);
		/* Between two turns: nothing is half done. */
		if (!p->worker)
			first_worker_turn(p);
		else if (mdr_shared_newer(p->sh, p->seq))
			adopt_published(p);
		if (!p->accepting && p->loop.now_ms >= p->accept_resume_ms)
			listener_set_accepting(p, true);
		/* A line per request, one write per loop turn under load. */
		if (p->o->access_log)
			fflush(p->o->access_log);
		wait = next_wait_ms(p);
		n = epoll_wait(p->loop.epfd, evs, MAX_EVENTS, wait);
		if (n < 0 && errno != EINTR)
			return -errno;
		loop_tick(&p->loop);
		note_stall(p, &last_ms, wait);
		/* A signal: a reload or a stop to see to, or a SIGCONT that
		 * ended one (see note_stall()), before any timer. */
		if (n < 0)
			continue;
		for (int i = 0; i < n; i++) {
			struct endpoint *ep = evs[i].data.ptr;

			if (ep == &p->listener)
				listener_accept(p);
			else if (ep == &p->waker)
				(void)!read(p->wake_fd, &woken, sizeof(woken));
			else if (!ep->c)
				relay_pool_event(ep->env, ep->slot);
			else if (!ep->c->le.dead)
				session_event(p, ep->c, ep->backend,
					      evs[i].events);
		}
		run_queue(p);
		if (p->catch_up_turns && n == MAX_EVENTS) {
			p->catch_up_turns--;
		} else {
			p->catch_up_turns = 0;
			expire_timers(p);
			relay_pool_expire(&p->gen->relay);
		}
		reap(p);
		reap_gens(p);
	}
	return 0;
}

/* The end of a worker's loop: its connections closed, then freed. */
static void worker_close_all(struct proxy *p)
{
	while (p->all)
		session_close(p, p->all);
	for (struct loop_entry *e = loop_run_take(&p->loop); e;)
		e = loop_run_next(e);
	reap(p);
	if (p->o->access_log)
		fflush(p->o->access_log);
}

static void *worker_thread(void *arg)
{
	struct proxy *p = arg;
	int err = worker_run(p);

	if (err) {
		pr_err("proxy: worker %u stopped: %s; stopping the others",
		       p->worker, strerror(-err));
		mdr_shared_fail(p->sh, err);
	}
	worker_close_all(p);
	return NULL;
}

/*
 * Workers 1.. on threads of their own, which hear no signal: they go to
 * the caller's thread, worker 0's, whose epoll_wait() they interrupt.
 * Returns how many started.
 */
static unsigned int start_workers(struct proxy *w, unsigned int n,
				  pthread_t *threads)
{
	sigset_t all, old;
	unsigned int i;
	int err = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 1; i < n; i++) {
		char name[16];

		err = pthread_create(&threads[i], NULL, worker_thread, &w[i]);
		if (err)
			break;
		/* So that top -H and /proc/PID/task tell the workers apart
		 * (worker 0 is the daemon's own thread). The modulo only
		 * tells the compiler what n <= MDR_WORKERS_MAX already says. */
		snprintf(name, sizeof(name), "mdredir-w%u",
			 i % MDR_WORKERS_MAX);
		pthread_setname_np(threads[i], name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pr_err("proxy: cannot start worker %u: %s", i, strerror(err));
		mdr_shared_fail(w[0].sh, -err);
	}
	return i;
}

int mdr_proxy_run(const struct mdr_proxy_options *o)
{
	static struct mdr_proxy_counters own_counters;
	struct mdr_proxy_counters *ctr;
	unsigned int total, per_attach, started = 0, made = 0;
	pthread_t threads[MDR_WORKERS_MAX];
	struct mdr_shared *sh = NULL;
	struct proxy *w = NULL;
	int ret;

	ret = check_options(o);
	if (ret) {
		if (o && o->backend && o->backend_done) /* never served with */
			o->backend_done(o->backend_done_ctx, o->backend);
		return ret;
	}
	ctr = o->counters ? o->counters : &own_counters;
	ctr->workers = o->workers;
	/* sendfile() has no MSG_NOSIGNAL: a guest that vanishes mid-file
	 * must cost an EPIPE, not the daemon. */
	signal(SIGPIPE, SIG_IGN);
	total = o->max_connections;
	per_attach = o->max_connections_per_attachment;
	raise_fd_limit(o->max_connections, o->workers);
	caps_for_memory(&total, &per_attach);
	sh = calloc(1, sizeof(*sh));
	w = calloc(o->workers, sizeof(*w));
	ret = sh && w ? mdr_shared_init(sh, o, total, per_attach) : -ENOMEM;
	if (ret) {
		free(sh);
		sh = NULL; /* the backend was never published */
		goto out;
	}
	for (made = 0; made < o->workers; made++) {
		w[made] = (struct proxy){ .loop.epfd = -1,
					  .spare_fd = -1,
					  .wake_fd = -1 };
		ret = worker_init(&w[made], sh, made, ctr);
		if (ret) {
			made++; /* freed below */
			goto out;
		}
	}
	started = start_workers(w, o->workers, threads);
	ret = worker_run(&w[0]);
	if (ret)
		mdr_shared_fail(sh, ret);
	worker_close_all(&w[0]);
	for (unsigned int i = 1; i < started; i++)
		pthread_join(threads[i], NULL);
	ret = ret ?: mdr_shared_failed(sh);
out:
	for (unsigned int i = 0; i < made; i++)
		worker_free(&w[i]);
	if (sh) {
		mdr_shared_free(sh);
		free(sh);
	} else if (o->backend_done) { /* never served with */
		o->backend_done(o->backend_done_ctx, o->backend);
	}
	free(w);
	return ret;
}
