/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metrics endpoint ([mdredir] metrics_listen): GET /metrics over
 * HTTP/1.1 on a host address or a unix socket, served by a thread of its
 * own, one client at a time, each bounded in size and time, so that a slow
 * or broken scraper costs the proxy nothing.
 *
 * The socket is made in the namespace of the thread that calls
 * mdr_metrics_serve(): the daemon calls it from the host's, never from the
 * proxy namespace where guests' connections land.
 */
#ifndef MDR_METRICS_SERVER_H
#define MDR_METRICS_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon/metrics.h"

/* Bounds on one scrape: the request head, and the whole exchange. */
#define MDR_METRICS_MAX_REQUEST 8192
#define MDR_METRICS_TIMEOUT_MS	5000

/* Where to listen: "IPv4:PORT", "[IPv6]:PORT" or "unix:PATH". */
struct mdr_metrics_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Parses SPEC; "" means off (0, with a->len 0). 0, or -EINVAL with a
 * sentence in WHY saying what is wrong and what to write.
 */
int mdr_metrics_parse_listen(const char *spec, struct mdr_metrics_addr *a,
			     char *why, size_t why_len);

struct mdr_metrics_server {
	int fd;			      /* -1: not serving */
	struct sockaddr_un unix_path; /* removed at stop; sun_path "" if TCP */
	const struct mdr_metrics *m;
	pthread_t thread;
	bool running;
	int quit; /* set by mdr_metrics_stop(), read by the thread */
};

/*
 * Listens on SPEC (nothing for "") and serves M from a new thread until
 * mdr_metrics_stop(). A stale unix socket left by a daemon killed outright
 * is replaced; any other file is not. 0, or -errno after pr_err.
 */
int mdr_metrics_serve(struct mdr_metrics_server *s, const char *spec,
		      const struct mdr_metrics *m);
/* Stops serving and closes the socket; safe on one never started. */
void mdr_metrics_stop(struct mdr_metrics_server *s);

#endif
