// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loop's timer queues: expired in deadline order, also after a reload
 * shortened a timeout, when entries armed before it hold later deadlines
 * than those armed after.
 */
#include <stddef.h>

#include "check.h"
#include "proxy/loop.h"

#define N 6

/* Which entries expire at @now, in order, as indexes into e[]. */
static int expire(struct mdr_loop *l, struct loop_entry *e, uint64_t now,
		  int *out)
{
	enum timer_kind kind;
	struct loop_entry *x;
	int n = 0;

	l->now_ms = now;
	while ((x = loop_next_expired(l, &kind)))
		out[n++] = (int)(x - e);
	return n;
}

static void test_steady_state_is_fifo(void)
{
	struct mdr_loop l = { .epfd = -1 };
	struct loop_entry e[N] = {};
	int got[N];

	for (int i = 0; i < N; i++) {
		loop_entry_init(&e[i]);
		l.now_ms = 100 + i;
		loop_timer_set(&l, &e[i], T_SERVER, 1000);
	}
	CHECK_INT(loop_wait_ms(&l, 5000), 1100 - 105);
	CHECK_INT(expire(&l, e, 1102, got), 3);
	CHECK_INT(got[0], 0);
	CHECK_INT(got[2], 2);
	CHECK_INT(expire(&l, e, 5000, got), 3);
	CHECK_INT(got[0], 3);
	CHECK_INT(got[2], 5);
}

static void test_shortened_timeout_keeps_order(void)
{
	struct mdr_loop l = { .epfd = -1 };
	struct loop_entry e[N] = {};
	int got[N];

	for (int i = 0; i < N; i++)
		loop_entry_init(&e[i]);
	/* Armed with 30 s, then a reload makes it 1 s. */
	l.now_ms = 0;
	loop_timer_set(&l, &e[0], T_SERVER, 30000);
	loop_timer_set(&l, &e[1], T_SERVER, 30000);
	l.now_ms = 10;
	loop_timer_set(&l, &e[2], T_SERVER, 1000);
	l.now_ms = 20;
	loop_timer_set(&l, &e[3], T_SERVER, 1000);
	/* The newer ones are due first, and the wait says so. */
	CHECK_INT(loop_wait_ms(&l, 60000), 1010 - 20);
	CHECK_INT(expire(&l, e, 1015, got), 1);
	CHECK_INT(got[0], 2);
	/* Re-arming moves an entry behind those due earlier. */
	l.now_ms = 1015;
	loop_timer_set(&l, &e[0], T_SERVER, 30000);
	CHECK_INT(expire(&l, e, 30000, got), 2);
	CHECK_INT(got[0], 3);
	CHECK_INT(got[1], 1);
	CHECK_INT(expire(&l, e, 31015, got), 1);
	CHECK_INT(got[0], 0);
	CHECK(!l.t_head[T_SERVER] && !l.t_tail[T_SERVER]);
}

int main(void)
{
	test_steady_state_is_fifo();
	test_shortened_timeout_keeps_order();
	return check_summary();
}
