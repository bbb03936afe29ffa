// SPDX-License-Identifier: GPL-2.0-only
/*
 * One thread, one rtnetlink socket per namespace that holds attachments
 * (subscribed to link events, so a deleted tap is noticed at once), and a
 * rescan every second for namespaces that came or went. setns() only moves
 * the calling thread, so this one can roam while the proxy keeps serving.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "attach.h"
#include "log.h"
#include "netns.h"
#include "state.h"
#include "watch.h"

#define RESCAN_MS 1000

struct watched {
	__u64 cookie;
	char netns[MDR_NETNS_LEN];	/* "" for the host */
	ino_t ino;			/* of /run/netns/NAME when watched */
	int fd;				/* rtnetlink, in that namespace */
	bool seen;			/* still in mdr_link at the last scan */
	bool fresh;			/* watched since the last sweep */
};

struct watcher {
	struct mdr_watch *w;
	struct mdr_state st;
	struct watched ns[MDR_MAX_LINKS];
	size_t n;
};

static ino_t netns_ino(const char *name)
{
	char path[256];
	struct stat sb;

	if (mdr_netns_is_host(name))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", MDR_NETNS_RUN_DIR, name);
	return stat(path, &sb) ? (ino_t)-1 : sb.st_ino;
}

/* A link-event socket opened inside @name; -errno on failure. */
static int subscribe(const char *name)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK };
	struct mdr_netns_saved saved;
	int fd, err;

	err = mdr_netns_enter(name, &saved);
	if (err)
		return err;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    NETLINK_ROUTE);
	mdr_netns_leave(&saved);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static struct watched *find(struct watcher *wt, __u64 cookie)
{
	for (size_t i = 0; i < wt->n; i++)
		if (wt->ns[i].cookie == cookie)
			return &wt->ns[i];
	return NULL;
}

/*
 * Attachments whose interface vanished before we were listening, in the
 * namespaces watched since the last sweep: one walk for all of them.
 */
static int sweep_one(__u32 id, const struct mdr_attachment *att, void *data)
{
	const struct watched *ns = find(data, att->netns_cookie);
	struct mdr_netns_saved saved;
	bool gone;

	(void)id;
	if (!ns || !ns->fresh || mdr_netns_enter(ns->netns, &saved))
		return 0;
	gone = !mdr_attached_iface_here(att);
	mdr_netns_leave(&saved);
	if (gone)
		mdr_detach_vanished(att->netns_cookie, att->ifindex);
	return 0;
}

static void unwatch(struct watcher *wt, size_t i)
{
	close(wt->ns[i].fd);
	wt->ns[i] = wt->ns[--wt->n];
}

/* Follows mdr_link: a socket for each namespace in it, none for others. */
static void rescan(struct watcher *wt)
{
	struct mdr_link link;
	struct watched *ns;
	__u64 key, *prev = NULL;
	bool sweep = false;
	int fd;

	for (size_t i = 0; i < wt->n; i++)
		wt->ns[i].seen = false;
	while (bpf_map_get_next_key(wt->st.link_fd, prev, &key) == 0) {
		prev = &key;
		if (bpf_map_lookup_elem(wt->st.link_fd, &key, &link))
			continue;
		ns = find(wt, key);
		if (ns) {
			ns->seen = true;
			continue;
		}
		if (wt->n == MDR_MAX_LINKS)
			break;
		fd = subscribe(link.netns);
		if (fd == -ENOENT) {
			/* Gone before we ever watched it. */
			pr_info("network namespace '%s' is gone", link.netns);
			mdr_detach_vanished(key, 0);
			continue;
		}
		if (fd < 0)
			continue;	/* try again at the next scan */
		ns = &wt->ns[wt->n++];
		*ns = (struct watched){ .cookie = key, .fd = fd, .seen = true,
					.fresh = true,
					.ino = netns_ino(link.netns) };
		snprintf(ns->netns, sizeof(ns->netns), "%s", link.netns);
		sweep = true;
	}
	if (sweep) {
		mdr_state_for_each_attachment(&wt->st, sweep_one, wt);
		for (size_t i = 0; i < wt->n; i++)
			wt->ns[i].fresh = false;
	}
	for (size_t i = wt->n; i-- > 0;) {
		ns = &wt->ns[i];
		/* An `ip netns del` leaves the namespace alive while our socket
		 * holds it; the name going away is what tells us. */
		if (ns->seen && netns_ino(ns->netns) != ns->ino) {
			pr_info("network namespace '%s' is gone", ns->netns);
			mdr_detach_vanished(ns->cookie, 0);
			ns->seen = false;
		}
		if (!ns->seen)
			unwatch(wt, i);
	}
}

static void read_events(struct watched *ns)
{
	char buf[16384];
	struct nlmsghdr *nlh;
	ssize_t n;

	while ((n = recv(ns->fd, buf, sizeof(buf), 0)) > 0) {
		for (nlh = (void *)buf; NLMSG_OK(nlh, (size_t)n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			struct ifinfomsg *ifi = NLMSG_DATA(nlh);

			if (nlh->nlmsg_type == RTM_DELLINK)
				mdr_detach_vanished(ns->cookie, ifi->ifi_index);
		}
	}
	if (n < 0 && errno == ENOBUFS)
		ns->seen = false;	/* events lost: resubscribe and sweep */
}

static void *watch_main(void *arg)
{
	static struct watcher wt;
	struct pollfd fds[MDR_MAX_LINKS];

	wt.w = arg;
	mdr_state_init(&wt.st);
	while (!*wt.w->stop) {
		if (wt.st.link_fd < 0 && mdr_state_open(&wt.st, MDR_STATE_READ)) {
			usleep(RESCAN_MS * 1000);
			continue;
		}
		rescan(&wt);
		for (size_t i = 0; i < wt.n; i++)
			fds[i] = (struct pollfd){ .fd = wt.ns[i].fd,
						  .events = POLLIN };
		if (poll(fds, wt.n, RESCAN_MS) <= 0)
			continue;
		for (size_t i = 0; i < wt.n; i++)
			if (fds[i].revents)
				read_events(&wt.ns[i]);
		for (size_t i = wt.n; i-- > 0;)
			if (!wt.ns[i].seen)
				unwatch(&wt, i);
	}
	while (wt.n)
		unwatch(&wt, wt.n - 1);
	mdr_state_close(&wt.st);
	return NULL;
}

int mdr_watch_start(struct mdr_watch *w, volatile sig_atomic_t *stop)
{
	int err;

	w->stop = stop;
	err = pthread_create(&w->thread, NULL, watch_main, w);
	w->started = !err;
	return -err;
}

void mdr_watch_join(struct mdr_watch *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = 0;
}
