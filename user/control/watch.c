// SPDX-License-Identifier: GPL-2.0-only
/*
 * One thread and one rtnetlink socket for every namespace that holds
 * attachments. The socket lives in the proxy namespace and listens with
 * NETLINK_LISTEN_ALL_NSID: it hears the link events of each namespace the
 * proxy namespace has an id (nsid) for, tagged with that id, and each
 * attached namespace is given one when it is first seen. A deleted tap is
 * noticed at once, in any namespace, without a socket (and a descriptor,
 * and a place in every link event's delivery list) per namespace. A
 * rescan every second follows namespaces that came or went.
 *
 * The sources that follow the control plane run here too: their events
 * come on the same socket (see ns_source.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "control/attach.h"
#include "control/ns_source.h"
#include "control/ovn_source.h"
#include "lib/log.h"
#include "datapath/netlink.h"
#include "datapath/netns.h"
#include "control/pinned_state.h"
#include "control/watch.h"
#include "lib/clock.h"

#define RESCAN_MS	1000
/* Link events of every attached namespace arrive here: room for bursts. */
#define EVENT_BUF_BYTES (4 << 20)

struct watched {
	__u64 cookie;
	char netns[MDR_NETNS_LEN]; /* "" for the host */
	ino_t ino;		   /* of /run/netns/NAME when watched */
	int nsid;		   /* its id in the proxy namespace */
	bool seen;		   /* still in mdr_link at the last scan */
	bool fresh;		   /* watched since the last sweep */
};

struct watcher {
	struct mdr_watch *w;
	struct mdr_state st;
	int fd;	     /* the one event socket, or -1 */
	bool resync; /* events were lost: check everything */
	/* The neutron-namespaces source, if it runs, and whether it must
	 * look at every namespace again (at start, after lost events). */
	struct mdr_ns_source *ns_source;
	bool ns_source_resync;
	/* The ovn source, if it runs, and the host namespace's id in the
	 * proxy's (whose link events tell it a tap came or went). */
	struct mdr_ovn_source *ovn_source;
	int host_nsid;
	bool sweep;	     /* a rescan found a namespace to sweep */
	int repin_failed;    /* said so already */
	int name_err;	     /* keep_proxy_name()'s, said already */
	long long next_keep; /* when to look at the pins again */
	struct watched ns[MDR_MAX_LINKS];
	size_t n;
};

/* The event socket, opened in the proxy namespace; -errno on failure. */
static int open_events(const char *proxy_netns)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK };
	int one = 1, size = EVENT_BUF_BYTES;
	struct mdr_netns_saved saved;
	int fd, err;

	err = mdr_netns_enter(proxy_netns, &saved);
	if (err)
		return err;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    NETLINK_ROUTE);
	mdr_netns_leave(&saved);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &one,
		       sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	/* Best effort: a lost event only costs a full check (resync). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return fd;
}

static struct watched *find(struct watcher *wt, __u64 cookie)
{
	for (size_t i = 0; i < wt->n; i++)
		if (wt->ns[i].cookie == cookie)
			return &wt->ns[i];
	return NULL;
}

static struct watched *find_nsid(struct watcher *wt, int nsid)
{
	for (size_t i = 0; i < wt->n; i++)
		if (wt->ns[i].nsid == nsid)
			return &wt->ns[i];
	return NULL;
}

/*
 * Attachments whose interface vanished while nobody listened: in the
 * namespaces watched since the last sweep, or everywhere after lost
 * events. One walk for all of them.
 */
static int sweep_one(__u32 id, const struct mdr_attachment *att, void *data)
{
	struct watcher *wt = data;
	const struct watched *ns = find(wt, att->netns_cookie);
	struct mdr_netns_saved saved;
	bool gone;

	(void)id;
	if (!ns || (!ns->fresh && !wt->resync) ||
	    mdr_netns_enter(ns->netns, &saved))
		return 0;
	gone = !mdr_attached_iface_here(att);
	mdr_netns_leave(&saved);
	if (gone)
		mdr_detach_vanished(att->netns_cookie, att->ifindex);
	return 0;
}

static void unwatch(struct watcher *wt, size_t i)
{
	wt->ns[i] = wt->ns[--wt->n];
}

/* One namespace of mdr_link: watched already, or watched from now on.
 * Sets wt->sweep when a new one is. */
static int rescan_link(__u64 cookie, const struct mdr_link *link, void *data)
{
	struct watcher *wt = data;
	struct watched *ns;
	int nsid;

	ns = find(wt, cookie);
	if (ns) {
		ns->seen = true;
		return 0;
	}
	if (wt->n == MDR_MAX_LINKS)
		return 1;
	nsid = mdr_netns_id_in(wt->w->proxy_netns, link->netns);
	/* (-ENOENT also when the proxy namespace's name is gone.) */
	if (nsid == -ENOENT && !mdr_netns_exists(link->netns)) {
		/* Gone before we ever watched it. */
		pr_info("network namespace '%s' is gone", link->netns);
		mdr_detach_vanished(cookie, 0);
		return 0;
	}
	if (nsid < 0)
		return 0; /* try again at the next scan */
	ns = &wt->ns[wt->n++];
	*ns = (struct watched){ .cookie = cookie,
				.nsid = nsid,
				.seen = true,
				.fresh = true,
				.ino = mdr_netns_ino(link->netns) };
	snprintf(ns->netns, sizeof(ns->netns), "%s", link->netns);
	wt->sweep = true;
	return 0;
}

/* Follows mdr_link: an id for each namespace in it, no interest in others. */
static void rescan(struct watcher *wt)
{
	struct watched *ns;
	bool sweep;

	for (size_t i = 0; i < wt->n; i++)
		wt->ns[i].seen = false;
	wt->sweep = wt->resync;
	mdr_state_for_each_link(&wt->st, rescan_link, wt);
	sweep = wt->sweep;
	if (sweep) {
		mdr_state_for_each_attachment(&wt->st, sweep_one, wt);
		for (size_t i = 0; i < wt->n; i++)
			wt->ns[i].fresh = false;
		wt->resync = false;
	}
	for (size_t i = wt->n; i-- > 0;) {
		ns = &wt->ns[i];
		/* A namespace something still holds outlives `ip netns del`
		 * with its interfaces: the name going away is what tells. */
		if (ns->seen && mdr_netns_ino(ns->netns) != ns->ino) {
			pr_info("network namespace '%s' is gone", ns->netns);
			mdr_detach_vanished(ns->cookie, 0);
			ns->seen = false;
		}
		if (!ns->seen)
			unwatch(wt, i);
	}
}

/* The sender's namespace id, or -1 for the proxy namespace's own events. */
static int event_nsid(struct msghdr *msg)
{
	struct cmsghdr *cm;
	int nsid;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == SOL_NETLINK &&
		    cm->cmsg_type == NETLINK_LISTEN_ALL_NSID &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(nsid))) {
			memcpy(&nsid, CMSG_DATA(cm), sizeof(nsid));
			return nsid;
		}
	}
	return -1;
}

static void read_events(struct watcher *wt)
{
	static char buf[65536];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct watched *ns;
	struct nlmsghdr *nlh;
	ssize_t n;
	int nsid;

	for (;;) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		n = recvmsg(wt->fd, &msg, 0);
		if (n <= 0)
			break;
		/* Our own (proxy) namespace's events are our link ends: a
		 * namespace going away shows there too, and the rescan's
		 * name check handles it. */
		nsid = event_nsid(&msg);
		if (nsid < 0)
			continue;
		ns = find_nsid(wt, nsid);
		for (nlh = (void *)buf; NLMSG_OK(nlh, (size_t)n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			struct ifinfomsg *ifi = NLMSG_DATA(nlh);

			if (nlh->nlmsg_type == RTM_DELLINK && ns)
				mdr_detach_vanished(ns->cookie, ifi->ifi_index);
			else if (nlh->nlmsg_type == RTM_NEWLINK &&
				 wt->ns_source)
				mdr_ns_source_link_event(wt->ns_source, nsid);
			if (wt->ovn_source && nsid == wt->host_nsid &&
			    (nlh->nlmsg_type == RTM_NEWLINK ||
			     nlh->nlmsg_type == RTM_DELLINK))
				mdr_ovn_source_link_event(wt->ovn_source);
		}
	}
	if (n < 0 && errno == ENOBUFS) {
		/* events lost: check everything */
		wt->resync = true;
		wt->ns_source_resync = true;
		if (wt->ovn_source)
			mdr_ovn_source_link_event(wt->ovn_source);
	}
}

/*
 * Pins removed under us (rm -rf of the directory, say) leave the data path
 * running, since the hooks hold the programs and they the maps, but every
 * later command, and the next daemon, would find nothing attached, and an
 * attach would load a second, empty set. The daemon holds a descriptor of
 * each object, so it pins them again. Looked at with each rescan rather
 * than through inotify: a watch on the directory goes with it (and with
 * bpffs unmounted), and a second's delay costs guests nothing.
 */
static void keep_pins(struct watcher *wt)
{
	unsigned int maps, progs;
	int err;

	err = mdr_state_repin(wt->w->held, &maps, &progs);
	if (err && !wt->repin_failed)
		pr_err("pins under %s were removed and cannot be put back: "
		       "%s; until they are, `mdredir list`, attach and a "
		       "restarted daemon will not see the attachments",
		       MDR_PIN_DIR, strerror(-err));
	else if (maps || progs)
		pr_warn("pins under %s removed; re-pinned %u maps and %u "
			"programs from the running daemon's objects: every "
			"attachment is kept",
			MDR_PIN_DIR, maps, progs);
	wt->repin_failed = err;
}

/*
 * `ip netns delete` of the proxy namespace only takes its name: the
 * namespace lives on, held by the daemon's sockets and descriptor, with
 * the listener and every link veth's far end in it, so guests are still
 * served. But attach finds the namespace by that name, to put a new link
 * veth's far end in, and a restarted daemon would make a new, empty one
 * under it (the old one, and every link veth with it, gone with its last
 * holder). The daemon names its own again.
 */
static void keep_proxy_name(struct watcher *wt)
{
	const char *name = wt->w->proxy_netns;
	int err = mdr_netns_keep_name(wt->w->proxy_netns_fd, name);

	if (err == 1)
		pr_warn("network namespace '%s', the proxy's, was deleted "
			"while the daemon ran; it lived on, held by the "
			"daemon with its listener and link veths: named "
			"again from the daemon's handle",
			name);
	else if (err == -EEXIST && wt->name_err != err)
		pr_err("network namespace '%s' is no longer the proxy's: it "
		       "was deleted while the daemon ran, and another was "
		       "made under its name; guests attached from now on "
		       "cannot be served: run `mdredir unload` and start "
		       "the daemon again",
		       name);
	else if (err == -EXDEV && wt->name_err != err)
		pr_err("network namespace '%s', the proxy's, was deleted "
		       "while the daemon ran; it lives on, held by the daemon "
		       "with its listener and link veths, but cannot be "
		       "named again from here: the daemon's mounts do not "
		       "reach the host's (a mount namespace of its own, as "
		       "its systemd unit makes). Until it is, attach fails, "
		       "and a restart loses every link; name it from the "
		       "host: touch %s/%s && mount --bind /proc/%d/fd/%d "
		       "%s/%s",
		       name, MDR_NETNS_RUN_DIR, name, getpid(),
		       wt->w->proxy_netns_fd, MDR_NETNS_RUN_DIR, name);
	else if (err < 0 && wt->name_err != err)
		pr_err("network namespace '%s', the proxy's, was deleted "
		       "while the daemon ran and cannot be named again: %s; "
		       "attach and a restarted daemon fail until it is",
		       name, strerror(-err));
	else if (!err && wt->name_err)
		pr_info("network namespace '%s', the proxy's, has its name "
			"again",
			name);
	wt->name_err = err < 0 ? err : 0;
}

/*
 * What the daemon is known by, kept: before anything else, since neither
 * the watcher's own state nor its event socket can open without it.
 */
static void keep_names(struct watcher *wt)
{
	if (!wt->w->held || mdr_now_ms() < wt->next_keep)
		return;
	keep_pins(wt);
	keep_proxy_name(wt);
	wt->next_keep = mdr_now_ms() + RESCAN_MS;
}

/* The periodic work: namespaces that came or went, Neutron's too. */
static void rescan_all(struct watcher *wt)
{
	rescan(wt);
	if (wt->ns_source) {
		mdr_ns_source_scan(wt->ns_source, wt->ns_source_resync);
		wt->ns_source_resync = false;
	}
	if (wt->ovn_source && wt->host_nsid < 0)
		wt->host_nsid = mdr_netns_id_in(wt->w->proxy_netns, "");
}

static void *watch_main(void *arg)
{
	static struct watcher wt;
	struct pollfd pfd[1 + MDR_OVN_SOURCE_FDS];
	long long next_rescan = 0;
	unsigned int n_ovn;
	int timeout;

	/* Started again by a reload: nothing of the last run is left. */
	memset(&wt, 0, sizeof(wt));
	wt.w = arg;
	wt.fd = -1;
	wt.host_nsid = -1;
	if (wt.w->sources & 1u << MDR_SOURCE_OVN) {
		wt.ovn_source = mdr_ovn_source_new(wt.w->ovn);
		if (!wt.ovn_source)
			pr_err("the ovn source cannot start: out of memory");
	}
	mdr_state_init(&wt.st);
	if (wt.w->sources & 1u << MDR_SOURCE_NEUTRON_NS) {
		wt.ns_source = mdr_ns_source_new(wt.w->proxy_netns);
		wt.ns_source_resync = true;
		if (!wt.ns_source)
			pr_err("the neutron-namespaces source cannot start: "
			       "out of memory");
	}
	while (!*wt.w->stop) {
		keep_names(&wt);
		if (wt.st.link_fd < 0 &&
		    mdr_state_open(&wt.st, MDR_STATE_READ)) {
			usleep(RESCAN_MS * 1000);
			continue;
		}
		if (wt.fd < 0) {
			wt.fd = open_events(wt.w->proxy_netns);
			if (wt.fd < 0) {
				usleep(RESCAN_MS * 1000);
				continue;
			}
		}
		if (mdr_now_ms() >= next_rescan) {
			rescan_all(&wt);
			next_rescan = mdr_now_ms() + RESCAN_MS;
		}
		pfd[0] = (struct pollfd){ .fd = wt.fd, .events = POLLIN };
		timeout = (int)(next_rescan - mdr_now_ms());
		timeout = timeout < 0 ? 0 : timeout;
		n_ovn = wt.ovn_source ? mdr_ovn_source_poll(wt.ovn_source,
							    pfd + 1, &timeout)
				      : 0;
		if (poll(pfd, 1 + n_ovn, timeout) < 0)
			continue; /* a signal: look at *stop */
		if (pfd[0].revents)
			read_events(&wt);
		if (wt.ovn_source)
			mdr_ovn_source_run(wt.ovn_source, pfd + 1, n_ovn);
	}
	if (wt.fd >= 0)
		close(wt.fd);
	mdr_ovn_source_free(wt.ovn_source);
	mdr_ns_source_free(wt.ns_source);
	mdr_state_close(&wt.st);
	return NULL;
}

int mdr_watch_start(struct mdr_watch *w, const char *proxy_netns,
		    unsigned int sources, const struct mdr_ovn_config *ovn,
		    volatile sig_atomic_t *stop)
{
	sigset_t all, old;
	int err;

	w->proxy_netns = proxy_netns;
	w->sources = sources;
	w->ovn = ovn;
	w->stop = stop;
	/* Signals are the proxy's thread's: its epoll_wait() is the one
	 * to interrupt. The watcher looks at *stop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&w->thread, NULL, watch_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	w->started = !err;
	return -err;
}

void mdr_watch_join(struct mdr_watch *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = 0;
}
