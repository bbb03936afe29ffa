// SPDX-License-Identifier: GPL-2.0-only
/*
 * sd_notify(3) for a Type=notify unit. The watchdog's pings come from the
 * proxy's own loop, not from a thread of ours: a timer thread would go on
 * pinging while the loop that serves every guest hung, and the watchdog
 * would mean nothing. The loop turns at least every 200 ms (its stop
 * check), so a ping is at most that late; the unit's WatchdogSec= is
 * seconds. The status, which walks every attachment, is gathered on a
 * thread of its own so that the loop never waits for it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "control/source.h"
#include "daemon/notify.h"
#include "lib/log.h"

/* How often the status is looked at; it is sent when it changed. */
#define STATUS_INTERVAL_S 5

static struct {
	bool enabled;	      /* NOTIFY_SOCKET is set */
	bool ready;	      /* READY=1 sent */
	uint64_t watchdog_us; /* 0: no watchdog asked for */
	uint64_t last_ping_us;
	const struct mdr_state *st;
	pthread_t thread;
	bool thread_started;
	bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
} notify = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void tell(const char *state)
{
	int err = sd_notify(0, state);

	if (err < 0)
		pr_warn("cannot tell systemd '%.*s': %s",
			(int)strcspn(state, "\n"), state, strerror(-err));
}

static const char *source_state(bool running, const struct mdr_source_status *s)
{
	if (!running)
		return "not running";
	if (!s->connected)
		return "not connected";
	return s->synced ? "synced" : "syncing";
}

/*
 * "serving 12 attachments; ovn: synced (10 attachments);
 * neutron-namespaces: not connected (2 attachments, 1 error)".
 */
static void describe(char *buf, size_t len)
{
	struct mdr_source_report r;
	size_t n;

	mdr_source_report(notify.st, &r);
	n = snprintf(buf, len, "STATUS=serving %u attachment%s", r.attachments,
		     r.attachments == 1 ? "" : "s");
	for (unsigned int i = 0; i < MDR_SOURCE_MAX && n < len; i++) {
		const struct mdr_source_status *s = &r.status[i];
		const char *state;

		if (!mdr_source_reported(&r, i))
			continue;
		state = source_state(r.running[i], s);
		n += snprintf(buf + n, len - n, "; %s: %s (%u attachment%s",
			      mdr_source_name(i), state, r.per_source[i],
			      r.per_source[i] == 1 ? "" : "s");
		if (n < len && s->errors)
			n += snprintf(buf + n, len - n, ", %llu error%s",
				      s->errors, s->errors == 1 ? "" : "s");
		if (n < len)
			n += snprintf(buf + n, len - n, ")");
	}
}

static void *status_thread(void *arg)
{
	char last[1024] = "", now[1024];
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&notify.lock);
	while (!notify.stopping) {
		pthread_mutex_unlock(&notify.lock);
		describe(now, sizeof(now));
		if (strcmp(now, last)) {
			tell(now);
			memcpy(last, now, sizeof(last));
		}
		pthread_mutex_lock(&notify.lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += STATUS_INTERVAL_S;
		while (!notify.stopping &&
		       pthread_cond_timedwait(&notify.wake, &notify.lock,
					      &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&notify.lock);
	return NULL;
}

int mdr_notify_start(const struct mdr_state *st)
{
	uint64_t usec = 0;
	int err;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	notify.enabled = true;
	notify.st = st;
	/* > 0 only when WATCHDOG_PID, if set, is ours. */
	if (sd_watchdog_enabled(0, &usec) > 0)
		notify.watchdog_us = usec;
	err = pthread_create(&notify.thread, NULL, status_thread, NULL);
	if (err) {
		pr_err("cannot start the thread that reports to systemd: %s",
		       strerror(err));
		return -err;
	}
	notify.thread_started = true;
	return 0;
}

void mdr_notify_turn(void *ctx)
{
	uint64_t now;

	(void)ctx;
	if (!notify.enabled)
		return;
	if (!notify.ready) {
		tell("READY=1");
		notify.ready = true;
	}
	if (!notify.watchdog_us)
		return;
	now = now_us();
	if (now - notify.last_ping_us >= notify.watchdog_us / 2) {
		tell("WATCHDOG=1");
		notify.last_ping_us = now;
	}
}

void mdr_notify_stop(void)
{
	if (!notify.enabled)
		return;
	tell("STOPPING=1");
	if (notify.thread_started) {
		pthread_mutex_lock(&notify.lock);
		notify.stopping = true;
		pthread_cond_signal(&notify.wake);
		pthread_mutex_unlock(&notify.lock);
		pthread_join(notify.thread, NULL);
		notify.thread_started = false;
	}
	notify.enabled = false;
}
