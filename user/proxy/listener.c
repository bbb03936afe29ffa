// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "proxy/access_log.h"
#include "proxy/listener.h"
#include "proxy/session.h"

#define ACCEPT_PAUSE_MS 100
#define MAX_ACCEPTS	128 /* per wakeup */
#define SHORT_LOG_MS	10000

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
static int identify(struct proxy *p, struct guest *g, int fd,
		    const struct sockaddr_storage *peer)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	const struct mdr_proxy_options *o = p->o;
	const struct sockaddr_in *s4 = (const void *)peer;
	const struct sockaddr_in6 *s6 = (const void *)peer;

	if (getsockname(fd, (struct sockaddr *)&local, &llen))
		return -1;
	format_addr(peer, g->peer, sizeof(g->peer));
	if (peer->ss_family == AF_INET6) {
		g->peer_addr = s6->sin6_addr;
	} else if (peer->ss_family == AF_INET) {
		g->peer_addr.s6_addr[10] = g->peer_addr.s6_addr[11] = 0xff;
		memcpy(&g->peer_addr.s6_addr[12], &s4->sin_addr, 4);
	}
	g->have_id = o->identify &&
		     !o->identify(o->identify_ctx, (struct sockaddr *)&local,
				  (const struct sockaddr *)peer, &g->id);
	return 0;
}

/*
 * Refuses a connection over a cap at once: 503, then close. What the guest
 * already sent is read first, so that the close is a FIN after our answer
 * rather than a reset that could destroy it. No state is kept: a guest
 * flooding us costs one accept each, and never a slot.
 */
static void shed(struct proxy *p, struct conn *c, int fd, const char *why)
{
	/* Thrown away, but written: each worker's thread its own. */
	static __thread char scratch[16384];
	char resp[256];
	size_t n;
	ssize_t r;

	mdr_counter_add(&p->ctr->connections_refused, 1);
	access_log_begin(&c->log, NULL);
	c->x.note = why;
	c->x.status = 503;
	for (int i = 0; i < 4; i++) {
		r = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (r <= 0)
			break;
		c->x.bytes_in += r;
	}
	n = session_format_reply(resp, sizeof(resp), p->gen->backend, 503, why,
				 false, false, "Retry-After: 1\r\n");
	r = send(fd, resp, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	c->log.bytes_out = r > 0 ? (uint64_t)r : 0;
	close(fd);
	access_log_end(p, c);
}

static void admit(struct proxy *p, int fd, const struct sockaddr_storage *peer,
		  const char *shed_why)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || identify(p, &c->g, fd, peer))
		goto fail;
	if (!shed_why) {
		switch (mdr_shared_admit(p->sh, c->g.have_id,
					 c->g.id.attach_id)) {
		case MDR_ADMIT_OK:
			if (!session_open(p, c, fd))
				return;
			mdr_shared_release(p->sh, c->g.have_id,
					   c->g.id.attach_id);
			goto fail;
		case MDR_ADMIT_FULL: shed_why = "too many connections"; break;
		case MDR_ADMIT_ATTACH_FULL:
			shed_why = "too many connections from this attachment";
			break;
		}
	}
	shed(p, c, fd, shed_why);
	free(c);
	return;
fail:
	if (c) {
		mdr_buf_put(&p->bufs, &c->x.in);
		mdr_buf_put(&p->bufs, &c->x.out);
		free(c);
	}
	close(fd);
}

void listener_set_accepting(struct proxy *p, bool on)
{
	struct epoll_event ev = {
		.events = on ? EPOLLIN : 0,
		.data.ptr = &p->listener,
	};

	if (p->accepting == on)
		return;
	if (!epoll_ctl(p->loop.epfd, EPOLL_CTL_MOD, p->listen_fd, &ev))
		p->accepting = on;
	else
		pr_warn("proxy: cannot %s accepting guests (epoll_ctl: %s)",
			on ? "resume" : "pause", strerror(errno));
}

static int accept_guest(struct proxy *p, struct sockaddr_storage *peer)
{
	socklen_t len = sizeof(*peer);

	return accept4(p->listen_fd, (struct sockaddr *)peer, &len,
		       SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static unsigned long long fd_limit(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) ? 0
					     : (unsigned long long)rl.rlim_cur;
}

/*
 * accept() failed for want of a resource (err: EMFILE, ENFILE, ENOMEM,
 * ENOBUFS), and a guest was refused with 503 or accepting paused. Said
 * when it starts, then at most every SHORT_LOG_MS with what it cost, and
 * when it ends (short_over()): an hour of it is a few lines, not one per
 * guest. One that comes and goes within SHORT_LOG_MS of the last line is
 * not told. One account for all workers (the limit is the process's),
 * under its lock, and the clock read under it so that it never goes back.
 */
static void tell_short_of(struct proxy *p, struct accept_shortage *s, int err,
			  bool refused)
{
	uint64_t now = p->loop.now_ms;
	unsigned long long open = mdr_counter_read(&p->ctr->connections_open);
	bool fds = err == EMFILE || err == ENFILE;
	char pausing[48];

	if (!s->on) {
		*s = (struct accept_shortage){ .since_ms = now,
					       .logged_ms = s->logged_ms };
		__atomic_store_n(&s->on, true, __ATOMIC_RELAXED);
	}
	s->refused += refused;
	s->pauses += !refused;
	if (s->logged_ms && now - s->logged_ms < SHORT_LOG_MS)
		return;
	snprintf(pausing, sizeof(pausing),
		 "pausing accepts for %d ms at a time", ACCEPT_PAUSE_MS);
	if (!s->told)
		pr_warn("proxy: %s (accept: %s; %llu guest connections open, "
			"open-file limit %llu): %s until %s free up",
			fds ? "out of file descriptors"
			    : "cannot accept guests",
			strerror(err), open, fd_limit(),
			refused ? "refusing new guests with 503" : pausing,
			fds ? "descriptors" : "resources");
	else
		pr_warn("proxy: still %s after %.1f s: %llu guests refused "
			"with 503, %llu accept pauses; %llu guest connections "
			"open, open-file limit %llu",
			fds ? "out of file descriptors" : "unable to accept",
			(now - s->since_ms) / 1e3,
			(unsigned long long)s->refused,
			(unsigned long long)s->pauses, open, fd_limit());
	s->told = true;
	s->logged_ms = now;
}

static void short_of(struct proxy *p, int err, bool refused)
{
	pthread_mutex_lock(&p->sh->short_lock);
	loop_tick(&p->loop);
	tell_short_of(p, &p->sh->accept_short, err, refused);
	pthread_mutex_unlock(&p->sh->short_lock);
}

static void tell_short_over(struct proxy *p, struct accept_shortage *s)
{
	if (!s->on)
		return;
	__atomic_store_n(&s->on, false, __ATOMIC_RELAXED);
	if (!s->told)
		return;
	pr_info("proxy: accepting guests again after %.1f s (%llu refused "
		"with 503, %llu accept pauses meanwhile)",
		(p->loop.now_ms - s->since_ms) / 1e3,
		(unsigned long long)s->refused, (unsigned long long)s->pauses);
	s->logged_ms = p->loop.now_ms;
}

/* A guest accepted as usual again: a shortage that was told is over. */
static void short_over(struct proxy *p)
{
	/* Unlocked first: every accept asks. */
	if (!__atomic_load_n(&p->sh->accept_short.on, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&p->sh->short_lock);
	loop_tick(&p->loop);
	tell_short_over(p, &p->sh->accept_short);
	pthread_mutex_unlock(&p->sh->short_lock);
}

/*
 * Out of descriptors: gives up the spare one for long enough to accept a
 * guest and tell it 503, so load is shed rather than queued. 1: a guest
 * was refused, 0: none waits, -1: no descriptor even so.
 */
static int shed_with_spare(struct proxy *p)
{
	struct sockaddr_storage peer;
	int fd, ret = -1;

	if (p->spare_fd < 0)
		return -1;
	close(p->spare_fd);
	fd = accept_guest(p, &peer);
	if (fd >= 0) {
		admit(p, fd, &peer, "out of file descriptors");
		ret = 1;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		ret = 0;
	}
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return ret;
}

void listener_accept(struct proxy *p)
{
	/* Another thread (metrics, the sources) took the spare's number
	 * while shed_with_spare() had let it go: the spare comes first,
	 * before any guest, as soon as a descriptor is free. */
	if (p->spare_fd < 0)
		p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Bounded, so a burst of connections cannot hold up guests already
	 * served: the listener is level-triggered and comes back. */
	for (int i = 0; i < MAX_ACCEPTS; i++) {
		struct sockaddr_storage peer;
		int fd = accept_guest(p, &peer), err = errno, shed = -1;

		if (fd >= 0) {
			mdr_counter_add(&p->ctr->worker_connections[p->worker],
					1);
			short_over(p);
			admit(p, fd, &peer, NULL);
			continue;
		}
		if (err == EAGAIN || err == EWOULDBLOCK)
			return;
		if (err == EINTR || err == ECONNABORTED || err == EPROTO)
			continue;
		if (err == EMFILE || err == ENFILE)
			shed = shed_with_spare(p);
		if (!shed)
			return; /* nobody waits */
		short_of(p, err, shed > 0);
		if (shed > 0)
			continue;
		/* Out of descriptors, even the spare, or of memory: a
		 * level-triggered listener would spin, so look away for a
		 * moment. */
		p->accept_resume_ms = p->loop.now_ms + ACCEPT_PAUSE_MS;
		listener_set_accepting(p, false);
		return;
	}
}
