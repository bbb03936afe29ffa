/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The event loop's primitives, shared by the guest session and the relay:
 * the epoll set, the clock, timer queues, the run queue and the reaping of
 * closed connections. It knows connections only as the struct loop_entry
 * each embeds, and calls nobody: the proxy asks it what is due.
 *
 * epoll is level-triggered. A connection often stops before a socket is
 * drained (a buffer is full, it used up its rounds for fairness, its peer
 * is slow), and level-triggering means the kernel simply reports the socket
 * again. Edge-triggered would make every one of those paths remember to
 * come back, which is where stalls hide. The price, an epoll_ctl when the
 * wanted events change, is paid only on change (cached per socket).
 */
#ifndef MDR_LOOP_H
#define MDR_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each kind has one duration, so appending a connection at the tail of its
 * kind's queue keeps every queue sorted by deadline: arming, re-arming and
 * expiring are all O(1), with no heap or wheel needed. A reload that
 * shortens a timeout breaks that for a while (connections armed before
 * it keep their longer deadlines): loop_timer_set() then walks back from
 * the tail past them, until they are gone. */
enum timer_kind {
	T_REQUEST,   /* waiting for a complete request head */
	T_KEEPALIVE, /* idle between requests */
	T_CLIENT,    /* waiting for the guest: request body, or to read */
	T_CONNECT,   /* backend connect */
	T_SERVER,    /* waiting for the backend */
	T_LINGER,    /* draining the guest after our final response */
	T_COUNT,
	T_NONE = T_COUNT,
};

/* What the loop knows of a connection. */
struct loop_entry {
	struct loop_entry *t_prev, *t_next; /* timer queue */
	struct loop_entry *run_next;	    /* ran out of rounds, resume soon */
	struct loop_entry *dead_next;	    /* closed, waiting to be freed */
	enum timer_kind tkind;
	uint64_t deadline;
	bool runnable, dead;
};

struct mdr_loop {
	int epfd;
	uint64_t now_ms; /* read once per wakeup (loop_tick) */
	struct loop_entry *t_head[T_COUNT], *t_tail[T_COUNT];
	struct loop_entry *runq, *dead;
};

#define loop_container(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* 0 or -errno (epoll_create1). */
int loop_init(struct mdr_loop *l);
void loop_free(struct mdr_loop *l);
/* Reads the clock into l->now_ms. */
void loop_tick(struct mdr_loop *l);
double loop_precise_ms(void); /* for durations in the access log */

/* The epoll_ctl behind loop_set_events(), when the events change. */
void loop_update_events(struct mdr_loop *l, int fd, uint32_t *cur, void *ptr,
			uint32_t events, const char *what);

/*
 * Registers fd for events, ptr naming it in what epoll reports; *cur is
 * what is registered now (0: not in the set), and an unchanged set costs
 * nothing. A failure is logged and tried again at the next change.
 */
static inline void loop_set_events(struct mdr_loop *l, int fd, uint32_t *cur,
				   void *ptr, uint32_t events, const char *what)
{
	if (fd >= 0 && *cur != events)
		loop_update_events(l, fd, cur, ptr, events, what);
}

static inline void loop_entry_init(struct loop_entry *e)
{
	e->tkind = T_NONE;
}

static inline void loop_timer_cancel(struct mdr_loop *l, struct loop_entry *e)
{
	enum timer_kind k = e->tkind;

	if (k == T_NONE)
		return;
	if (e->t_prev)
		e->t_prev->t_next = e->t_next;
	else
		l->t_head[k] = e->t_next;
	if (e->t_next)
		e->t_next->t_prev = e->t_prev;
	else
		l->t_tail[k] = e->t_prev;
	e->t_prev = e->t_next = NULL;
	e->tkind = T_NONE;
}

/* (Re-)arms e's timer of that kind, ms from now, keeping the queue sorted. */
static inline void loop_timer_set(struct mdr_loop *l, struct loop_entry *e,
				  enum timer_kind kind, unsigned int ms)
{
	struct loop_entry *after;

	loop_timer_cancel(l, e);
	e->tkind = kind;
	e->deadline = l->now_ms + ms;
	after = l->t_tail[kind];
	while (after && after->deadline > e->deadline)
		after = after->t_prev;
	e->t_prev = after;
	e->t_next = after ? after->t_next : l->t_head[kind];
	if (e->t_next)
		e->t_next->t_prev = e;
	else
		l->t_tail[kind] = e;
	if (after)
		after->t_next = e;
	else
		l->t_head[kind] = e;
}

/* The next entry whose timer has expired, disarmed; NULL when none.
 * @kind says which timer it was (disarmed, the entry no longer does). A
 * timeout re-arms at the tail with a later deadline, so a caller looping
 * until NULL ends. */
static inline struct loop_entry *loop_next_expired(struct mdr_loop *l,
						   enum timer_kind *kind)
{
	for (int k = 0; k < T_COUNT; k++) {
		struct loop_entry *e = l->t_head[k];

		if (e && e->deadline <= l->now_ms) {
			*kind = k;
			loop_timer_cancel(l, e);
			return e;
		}
	}
	return NULL;
}

/* How long epoll may wait: at most wait ms, 0 with work queued. */
static inline int loop_wait_ms(const struct mdr_loop *l, uint64_t wait)
{
	if (l->runq)
		return 0;
	for (int k = 0; k < T_COUNT; k++) {
		const struct loop_entry *e = l->t_head[k];

		if (e && e->deadline <= l->now_ms)
			return 0;
		if (e && e->deadline - l->now_ms < wait)
			wait = e->deadline - l->now_ms;
	}
	return (int)wait;
}

/* Puts e on the run queue (once), to resume at the end of this turn. */
static inline void loop_run_soon(struct mdr_loop *l, struct loop_entry *e)
{
	if (e->runnable)
		return;
	e->runnable = true;
	e->run_next = l->runq;
	l->runq = e;
}
/* Takes the run queue whole: entries added meanwhile wait for the next
 * turn. Walk it with loop_run_next(). */
struct loop_entry *loop_run_take(struct mdr_loop *l);
/* Takes e off the taken queue and returns the entry after it. */
struct loop_entry *loop_run_next(struct loop_entry *e);

/* Marks e closed: it is freed by loop_next_reaped() once no queued event
 * or run queue can still name it. Disarms its timer. */
static inline void loop_kill(struct mdr_loop *l, struct loop_entry *e)
{
	loop_timer_cancel(l, e);
	e->dead_next = l->dead;
	l->dead = e;
	e->dead = true;
}
/* The next closed entry that may be freed now; NULL when none. */
struct loop_entry *loop_next_reaped(struct mdr_loop *l);

#endif
