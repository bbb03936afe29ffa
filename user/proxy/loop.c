// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "lib/log.h"
#include "proxy/loop.h"
#include "lib/clock.h"

int loop_init(struct mdr_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_free(struct mdr_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

void loop_tick(struct mdr_loop *l)
{
	l->now_ms = (uint64_t)mdr_now_ms();
}

double loop_precise_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void loop_update_events(struct mdr_loop *l, int fd, uint32_t *cur, void *ptr,
			uint32_t events, const char *what)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };
	int op;

	/*
	 * epoll reports HUP and ERR whatever the mask says, so a socket we
	 * do not want to hear from at all (say, a backend that finished and
	 * closed while the guest is slow to read) leaves the set: registered
	 * exactly while *cur is non-zero.
	 */
	op = !events ? EPOLL_CTL_DEL : !*cur ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (!epoll_ctl(l->epfd, op, fd, &ev))
		*cur = events;
	else
		pr_warn("proxy: cannot watch the %s socket for events %#x "
			"(epoll_ctl: %s); tried again at the next change",
			what, events, strerror(errno));
}

struct loop_entry *loop_run_take(struct mdr_loop *l)
{
	struct loop_entry *e = l->runq;

	l->runq = NULL;
	return e;
}

struct loop_entry *loop_run_next(struct loop_entry *e)
{
	e->runnable = false;
	return e->run_next;
}

struct loop_entry *loop_next_reaped(struct mdr_loop *l)
{
	struct loop_entry **pp = &l->dead, *e;

	while ((e = *pp)) {
		if (e->runnable) { /* still on the run queue */
			pp = &e->dead_next;
			continue;
		}
		*pp = e->dead_next;
		return e;
	}
	return NULL;
}
