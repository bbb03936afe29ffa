// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon: listeners in the proxy namespace (one per proxy worker, on
 * one address) serving every attachment.
 * The data path lives in pinned BPF objects and does not need us; we only
 * add the HTTP side, so stopping or restarting the daemon detaches nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/attach.h"
#include "backends/spec.h"
#include "daemon/settings.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/metrics_server.h"
#include "daemon/reload_status.h"
#include "daemon/token_key.h"
#include "daemon/notify.h"
#include "datapath/links.h"
#include "lib/identity.h"
#include "control/lock.h"
#include "lib/log.h"
#include "lib/version.h"
#include "datapath/netns.h"
#include "proxy/proxy.h"
#include "control/ovn_source.h"
#include "control/pinned_state.h"
#include "control/watch.h"
#include "service_addr.h"

static volatile sig_atomic_t stop_requested, reload_requested;

/*
 * Attachments as identify() last read them, so that a connection costs no
 * bpf() lookup: slot id % ATTACH_CACHE_SLOTS, valid while the attachments'
 * generation (mdr_attach_generation()) is the one it was read under. A
 * collision only costs the lookup again. One cache per proxy worker (each
 * calls identify() on its own thread): no lock on the way.
 */
#define ATTACH_CACHE_SLOTS 256

struct cached_attachment {
	uint32_t id; /* 0: empty */
	__u64 generation;
	struct mdr_attachment att;
};

/* On whichever thread takes the signal: the proxy's workers read the
 * flags on theirs (proxy.h), so they are stored atomically. */
static void on_signal(int sig)
{
	if (sig == SIGHUP)
		__atomic_store_n(&reload_requested, 1, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&stop_requested, 1, __ATOMIC_RELAXED);
}

struct daemon {
	const struct mdr_daemon_options *opts; /* read again at each reload */
	struct mdr_settings *set;	       /* in force */
	struct mdr_state st;
	struct mdr_config cfg;
	/* cfg as the data path was prepared: identify() reads its pools on
	 * the workers' threads while a reload rewrites cfg (the pools
	 * themselves never change: check_layout()). */
	struct mdr_config pools;
	struct mdr_proxy_options popts;	   /* in force */
	struct mdr_http_stats *http_stats; /* mmapped mdr_http_stats */
	size_t http_stats_len;
	unsigned int workers;
	int listen_fds[MDR_WORKERS_MAX]; /* one per worker, SO_REUSEPORT */
	int proxy_netns_fd; /* held: its name can be put back from it */
	int pid_fd;
	struct mdr_proxy_counters counters; /* the proxy's, for metrics */
	struct mdr_metrics metrics;
	struct mdr_metrics_server metrics_server;
	/* The sources' thread, and the settings it was started with: a
	 * reload that changes them starts it again. */
	struct mdr_watch watch;
	char watch_netns[MDR_NETNS_LEN];
	struct mdr_settings *watch_set;
	struct mdr_ovn_config ovn;
	volatile sig_atomic_t watch_stop;
	unsigned long generation; /* reloads tried */
	/* ATTACH_CACHE_SLOTS per worker; each worker's thread takes the
	 * next free cache at its first identify(). */
	struct cached_attachment *attachments;
	unsigned int attach_caches_taken;
};

/* This thread's attachment cache (a proxy worker's), or NULL. */
static __thread struct cached_attachment *thread_attachments;

/*
 * The attachment a service address stands for, or 0. The listener is
 * dual-stack, so IPv4 arrives as ::ffff:a.b.c.d.
 */
static uint32_t service_id(const struct mdr_config *cfg,
			   const struct sockaddr_in6 *local)
{
	const uint8_t *a = local->sin6_addr.s6_addr;
	__be32 addr4;

	if (IN6_IS_ADDR_V4MAPPED(&local->sin6_addr)) {
		memcpy(&addr4, a + 12, 4);
		return mdr_service_id4(cfg, addr4);
	}
	return mdr_service_id6(cfg, a);
}

static bool owns_address(const struct mdr_attachment *att,
			 const struct sockaddr_in6 *local)
{
	const uint8_t *a = local->sin6_addr.s6_addr;

	if (IN6_IS_ADDR_V4MAPPED(&local->sin6_addr))
		return !memcmp(a + 12, &att->service_addr, 4);
	return !memcmp(a, att->service_addr6, 16);
}

/* The guest's address as X-Forwarded-For shows it: no ::ffff:, no %scope. */
static void guest_address(const struct sockaddr_in6 *peer, char *buf,
			  size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(&peer->sin6_addr))
		inet_ntop(AF_INET, peer->sin6_addr.s6_addr + 12, buf, len);
	else
		inet_ntop(AF_INET6, &peer->sin6_addr, buf, len);
}

/* The calling worker's attachment cache, taken at its first call. */
static struct cached_attachment *attachment_cache(struct daemon *d)
{
	unsigned int i;

	if (thread_attachments)
		return thread_attachments;
	i = __atomic_fetch_add(&d->attach_caches_taken, 1, __ATOMIC_RELAXED);
	if (i >= d->workers) /* cannot be: identify() is the workers' */
		return NULL;
	thread_attachments = &d->attachments[i * ATTACH_CACHE_SLOTS];
	return thread_attachments;
}

/* Attachment @id as it is now (in *scratch without a cache), or NULL when
 * there is none. */
static const struct mdr_attachment *
attachment(struct daemon *d, uint32_t id, struct cached_attachment *scratch)
{
	struct cached_attachment *cache = attachment_cache(d);
	struct cached_attachment *c = cache ? &cache[id % ATTACH_CACHE_SLOTS]
					    : scratch;
	/* Before the lookup: a change made after it bumps it again. */
	__u64 gen = mdr_attach_generation(d->http_stats);

	if (c->id == id && c->generation == gen)
		return &c->att;
	c->id = 0;
	if (mdr_state_get_attachment(&d->st, id, &c->att))
		return NULL;
	c->id = id;
	c->generation = gen;
	return &c->att;
}

/* The service address says which attachment; the peer is the guest. */
static int identify(void *data, const struct sockaddr *local,
		    const struct sockaddr *peer, struct mdr_identity *id)
{
	const struct sockaddr_in6 *l6 = (const void *)local;
	struct cached_attachment scratch = { 0 };
	struct daemon *d = data;
	const struct mdr_attachment *att;
	uint32_t attach_id;

	if (local->sa_family != AF_INET6 || peer->sa_family != AF_INET6)
		return -ENOENT;
	attach_id = service_id(&d->pools, l6);
	att = attach_id ? attachment(d, attach_id, &scratch) : NULL;
	if (!att || !owns_address(att, l6))
		return -ENOENT;

	memset(id, 0, sizeof(*id));
	id->attach_id = attach_id;
	memcpy(id->ifname, att->ifname, sizeof(id->ifname));
	memcpy(id->netns, att->netns, sizeof(id->netns));
	memcpy(id->network_id, att->network_id, sizeof(id->network_id));
	memcpy(id->router_id, att->router_id, sizeof(id->router_id));
	memcpy(id->instance_id, att->instance_id, sizeof(id->instance_id));
	memcpy(id->project_id, att->project_id, sizeof(id->project_id));
	guest_address((const void *)peer, id->vm_ip, sizeof(id->vm_ip));
	return 0;
}

/*
 * Counters go straight into the mmapped map: no syscall per request.
 * Atomic adds, as workers on several threads may count one attachment.
 */
static void count_request(void *data, const struct mdr_request_record *rec)
{
	struct daemon *d = data;
	struct mdr_http_stats *s;
	__u64 *status;

	mdr_metrics_count(&d->metrics, rec);
	if (!rec->id || !d->http_stats || rec->id->attach_id > MDR_MAX_ATTACH)
		return;
	s = &d->http_stats[rec->id->attach_id];
	switch (rec->status / 100) {
	case 1: status = &s->status_1xx; break;
	case 2: status = &s->status_2xx; break;
	case 3: status = &s->status_3xx; break;
	case 4: status = &s->status_4xx; break;
	default: status = &s->status_5xx; break;
	}
	__atomic_fetch_add(&s->requests, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(status, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->bytes_in, rec->bytes_in, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->bytes_out, rec->bytes_out, __ATOMIC_RELAXED);
}

/* One daemon at a time: the pid file's flock is held while we run. */
static int take_pid_file(struct daemon *d)
{
	char buf[32];
	int fd, n;

	if (mkdir(MDR_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	fd = open(MDR_PID_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		pr_err("another mdredir daemon is running (pid %s)",
		       buf[0] ? strtok(buf, "\n") : "?");
		close(fd);
		return -EBUSY;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, n, 0) != n) {
		close(fd);
		return -errno;
	}
	d->pid_fd = fd;
	return 0;
}

/* One listening socket, in the proxy namespace (entered already). */
static int listen_socket(unsigned int port)
{
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6,
				     .sin6_port = htons(port) };
	int fd, one = 1, zero = 0, err;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Each worker its own socket on the address: the kernel spreads
	 * new connections over them by their addresses' hash. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	/* One socket for both families: IPv4 guests arrive v4-mapped. */
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/*
	 * No Nagle on guests' connections (accepted sockets inherit it): a
	 * response head and its body are written apart, and Nagle held the
	 * body until the guest's delayed ACK of the head, 10-40 ms.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(fd, 4096)) {
		err = -errno;
		close(fd);
		return err;
	}
	/*
	 * No ACK of its own for a guest's request: the response carries it.
	 * A new connection is in quick-ACK mode, so its first request was
	 * acknowledged at once, a packet per connection for nothing (9
	 * rather than 8 with a connection per request). Accepted sockets
	 * inherit the listener's delayed-ACK mode, which listen() resets:
	 * hence after it. haproxy does the same (tcp-smart-accept).
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	return fd;
}

/* d->workers listening sockets, left in the proxy namespace. */
static int open_listeners(struct daemon *d, unsigned int port)
{
	struct mdr_netns_saved saved;
	int err;

	d->proxy_netns_fd = mdr_netns_hold(d->cfg.proxy_netns);
	if (d->proxy_netns_fd < 0)
		return d->proxy_netns_fd;
	err = mdr_netns_enter_fd(d->proxy_netns_fd, &saved);
	if (err)
		return err;
	for (unsigned int i = 0; i < d->workers; i++) {
		err = listen_socket(port);
		if (err < 0)
			break;
		d->listen_fds[i] = err;
		err = 0;
	}
	mdr_netns_leave(&saved);
	if (err)
		pr_err("cannot listen on port %u in namespace '%s': %s", port,
		       d->cfg.proxy_netns, strerror(-err));
	return err;
}

static int map_http_stats(struct daemon *d)
{
	d->http_stats = mdr_state_map_http_stats(&d->st, &d->http_stats_len);
	if (!d->http_stats)
		return -errno;
	/* identify() reads the generation in the mapped counters. */
	d->attachments = calloc((size_t)d->workers * ATTACH_CACHE_SLOTS,
				sizeof(*d->attachments));
	return d->attachments ? 0 : -ENOMEM;
}

/*
 * After an upgrade the pinned programs are the old build's, and every hook
 * still runs them: this build's take their place, hook by hook, each swap
 * atomic. (The proxy's egress hook follows in mdr_dp_ensure_proxy().)
 */
static void renew_programs(struct mdr_state *st)
{
	unsigned int atts, links;
	int err = mdr_state_renew_programs(st);

	if (err < 0) {
		pr_warn("cannot tell whether the BPF programs pinned in %s are "
			"this build's (%s): `mdredir unload` and attaching "
			"again would make sure",
			MDR_PIN_DIR, strerror(-err));
		return;
	}
	if (!err)
		return;
	atts = mdr_rehook_all(st);
	links = mdr_dp_rehook_links(st);
	pr_info("the BPF programs pinned in %s were another build's: replaced "
		"by this build's, %u attachments and %u link veths moved over",
		MDR_PIN_DIR, atts, links);
}

/* What the settings ask of the data path. */
static int proxy_wish(const struct mdr_settings *set,
		      struct mdr_proxy_wish *wish)
{
	*wish = (struct mdr_proxy_wish){
		.proxy_netns = set->proxy_netns,
		.syn_rate = set->new_connection_rate,
		.syn_burst = set->new_connection_burst,
		.guest_syn_rate = set->new_connection_rate_per_guest,
		.guest_syn_burst = set->new_connection_burst_per_guest,
		.reply_ttl = set->reply_ttl,
	};
	if (mdr_settings_pool4(set, &wish->pool, &wish->pool_prefix) ||
	    mdr_settings_pool6(set, &wish->pool6, &wish->pool6_prefix))
		return -EINVAL; /* mdr_settings_finish() vetted them */
	return 0;
}

/* Pinned state and the proxy namespace, created or repaired. */
static int prepare_data_path(struct daemon *d, const struct mdr_settings *set)
{
	struct mdr_proxy_wish wish;
	int lock, err;

	err = proxy_wish(set, &wish);
	if (err)
		return err;
	lock = mdr_lock();
	if (lock < 0)
		return lock;
	err = mdr_state_open(&d->st, MDR_STATE_LOAD);
	if (!err)
		renew_programs(&d->st);
	if (!err)
		err = mdr_dp_ensure_proxy(&d->st, &wish, &d->cfg);
	mdr_unlock(lock);
	d->pools = d->cfg;
	return err;
}

/* Defaults, then --config, then flags: what this daemon runs with. */
static int load_settings(const struct mdr_daemon_options *opts,
			 struct mdr_settings *set)
{
	int err = 0;

	mdr_settings_defaults(set);
	for (unsigned int i = 0; !err && i < opts->n_config; i++)
		err = mdr_settings_load_file(set, opts->config[i]);
	if (!err && opts->backend)
		err = mdr_settings_set(set, "backend", opts->backend,
				       "--backend");
	if (!err && opts->proxy_netns)
		err = mdr_settings_set(set, "proxy_netns", opts->proxy_netns,
				       "--proxy-netns");
	if (!err && opts->reply_ttl)
		err = mdr_settings_set(set, "reply_ttl", opts->reply_ttl,
				       "--reply-ttl");
	if (!err && opts->attach_from)
		err = mdr_settings_set(set, "attach_from", opts->attach_from,
				       "--attach-from");
	if (!err && opts->imds_tokens)
		err = mdr_settings_set(set, "imds_tokens", opts->imds_tokens,
				       "--imds-tokens");
	return err ?: mdr_settings_finish(set);
}

/* The ovn source's part of the settings (the OVN metadata agent's). */
static void ovn_config(const struct mdr_settings *set,
		       struct mdr_ovn_config *ovn)
{
	*ovn = (struct mdr_ovn_config){
		.ovs_remote = set->ovsdb_connection,
		.sb_remotes = set->ovn_sb_connection,
		.sb_private_key = set->ovn_sb_private_key,
		.sb_certificate = set->ovn_sb_certificate,
		.sb_ca_cert = set->ovn_sb_ca_cert,
		.probe_ms = set->ovsdb_probe_interval,
	};
}

/* The backend the settings describe, ready to serve. */
static int setup_backend(struct mdr_backend *be, const struct mdr_settings *set)
{
	char errbuf[512];
	int err;

	err = mdr_backend_parse(set->backend, be, errbuf, sizeof(errbuf));
	if (err) {
		pr_err("bad backend '%s': %s", set->backend, errbuf);
		return err;
	}
	if (be->kind == MDR_BACKEND_NOVA) {
		if (mdr_backend_needs_endpoint(be))
			err = mdr_backend_set_nova_endpoint(
				be, set->nova_metadata_host,
				set->nova_metadata_port,
				set->nova_metadata_https, errbuf,
				sizeof(errbuf));
		if (!err && !set->metadata_proxy_shared_secret[0])
			pr_warn("metadata_proxy_shared_secret is empty: Nova "
				"will refuse the signatures unless its own "
				"secret is empty too");
		if (!err)
			err = mdr_backend_set_secret(
				be, set->metadata_proxy_shared_secret,
				strlen(set->metadata_proxy_shared_secret));
		if (!err)
			err = mdr_backend_set_tls(
				be,
				set->auth_ca_cert[0] ? set->auth_ca_cert : NULL,
				set->nova_client_cert[0] ? set->nova_client_cert
							 : NULL,
				set->nova_client_priv_key[0]
					? set->nova_client_priv_key
					: NULL,
				set->nova_metadata_insecure, errbuf,
				sizeof(errbuf));
	}
	if (!err)
		err = mdr_backend_finish(be, errbuf, sizeof(errbuf));
	if (err)
		pr_err("backend '%s': %s", set->backend, errbuf);
	return err;
}

/* A backend of its own for each configuration: the proxy keeps the old
 * one alive while requests still use it (backend_done). */
static struct mdr_backend *new_backend(const struct mdr_settings *set, int *err)
{
	struct mdr_backend *be = calloc(1, sizeof(*be));

	*err = be ? setup_backend(be, set) : -ENOMEM;
	if (*err) {
		if (be)
			mdr_backend_release(be);
		free(be);
		return NULL;
	}
	return be;
}

static void backend_done(void *ctx, const struct mdr_backend *be)
{
	(void)ctx;
	mdr_backend_release((struct mdr_backend *)be);
	free((struct mdr_backend *)be);
}

/*
 * The access log goes to stderr, like every other line, but through a
 * buffer of its own, which the proxy flushes once per loop turn: a write
 * per turn under load rather than one per request, and stderr itself stays
 * unbuffered for everyone else's messages. Plain stderr if that fails.
 */
static FILE *open_access_log(void)
{
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return stderr;
	}
	setvbuf(f, NULL, _IOFBF, 64 << 10);
	return f;
}

/*
 * The metrics endpoint, if metrics_listen asks for one: made here, in the
 * host's namespace (this thread's), never in the proxy's.
 */
static int start_metrics(struct daemon *d, const struct mdr_settings *set)
{
	int err;

	if (!set->metrics_listen[0])
		return 0;
	d->metrics.st = &d->st;
	d->metrics.http = d->http_stats;
	d->metrics.proxy = &d->counters;
	err = mdr_metrics_init(&d->metrics);
	if (!err)
		err = mdr_metrics_serve(&d->metrics_server, set->metrics_listen,
					&d->metrics);
	if (!err)
		pr_info("serving metrics on %s", set->metrics_listen);
	return err;
}

static void daemon_cleanup(struct daemon *d)
{
	mdr_metrics_stop(&d->metrics_server);
	mdr_metrics_free(&d->metrics);
	for (unsigned int i = 0; i < MDR_WORKERS_MAX; i++)
		if (d->listen_fds[i] >= 0)
			close(d->listen_fds[i]);
	if (d->proxy_netns_fd >= 0)
		close(d->proxy_netns_fd);
	if (d->http_stats)
		munmap(d->http_stats, d->http_stats_len);
	free(d->attachments);
	mdr_state_close(&d->st);
	if (d->pid_fd >= 0) {
		mdr_reload_status_remove();
		unlink(MDR_PID_FILE);
		close(d->pid_fd);
	}
}

static int start_sources(struct daemon *d)
{
	int err;

	ovn_config(d->watch_set, &d->ovn);
	/* Its own copy: a reload rewrites d->cfg while the thread runs. */
	memcpy(d->watch_netns, d->cfg.proxy_netns, sizeof(d->watch_netns));
	d->watch.held = &d->st;
	d->watch.proxy_netns_fd = d->proxy_netns_fd;
	err = mdr_watch_start(&d->watch, d->watch_netns,
			      d->watch_set->attach_from, &d->ovn,
			      &d->watch_stop);
	if (err)
		pr_err("cannot start the interface watcher: %s",
		       strerror(-err));
	return err;
}

/* ---- reload ---- */

/*
 * The data path's layout: the proxy namespace holds the listener, and the
 * pools give every attachment its service address. Neither can move under
 * a running daemon: with attachments, they would all be readdressed (as at
 * start, refused); without, the listener would have to be closed and made
 * again elsewhere, refusing guests meanwhile, which a reload never does.
 */
static int check_layout(struct daemon *d, const struct mdr_settings *next)
{
	char why[512], pool[INET_ADDRSTRLEN], pool6[INET6_ADDRSTRLEN];
	struct mdr_proxy_wish w;
	const char *name = NULL;

	if (proxy_wish(next, &w))
		return -EINVAL;
	/* A reload that leaves the setting as it is keeps the workers as
	 * they are: auto is not counted again, so CPUs the daemon gained or
	 * lost since (AllowedCPUs= changed, taskset) refuse no reload. */
	if (next->workers != d->set->workers &&
	    mdr_settings_workers(next) != d->workers) {
		snprintf(why, sizeof(why),
			 "cannot change on reload: %u workers run, each on a "
			 "listening socket of its own made at start; restart "
			 "the daemon to change it",
			 d->workers);
		mdr_settings_refuse(next, "workers", why);
		return -EBUSY;
	}
	if (next->proxy_netns[0] &&
	    strcmp(next->proxy_netns, d->cfg.proxy_netns))
		name = "proxy_netns";
	else if (w.pool_prefix && (w.pool.s_addr != d->cfg.pool_addr ||
				   w.pool_prefix != d->cfg.pool_prefix))
		name = "service_pool";
	else if (w.pool6_prefix && (memcmp(&w.pool6, d->cfg.pool6_addr, 16) ||
				    w.pool6_prefix != d->cfg.pool6_prefix))
		name = "service_pool6";
	if (!name)
		return 0;
	inet_ntop(AF_INET, &d->cfg.pool_addr, pool, sizeof(pool));
	inet_ntop(AF_INET6, d->cfg.pool6_addr, pool6, sizeof(pool6));
	if (mdr_state_has_attachments(&d->st))
		snprintf(why, sizeof(why),
			 "cannot change on reload: interfaces are attached "
			 "with proxy namespace '%s', service pools %s/%u and "
			 "%s/%u, and each has its service address from them; "
			 "detach them (or run `mdredir unload`) and restart "
			 "the daemon to change it",
			 d->cfg.proxy_netns, pool, d->cfg.pool_prefix, pool6,
			 d->cfg.pool6_prefix);
	else
		snprintf(why, sizeof(why),
			 "cannot change on reload: the listener lives in "
			 "proxy namespace '%s' with service pools %s/%u and "
			 "%s/%u, and moving it would refuse guests meanwhile; "
			 "restart the daemon to change it",
			 d->cfg.proxy_netns, pool, d->cfg.pool_prefix, pool6,
			 d->cfg.pool6_prefix);
	mdr_settings_refuse(next, name, why);
	return -EBUSY;
}

/* The per-packet settings of the BPF programs (new_connection_rate and
 * _burst, per attachment and per guest, reply_ttl), in the pinned maps
 * they read. */
static int set_data_path_limits(struct daemon *d,
				const struct mdr_settings *set)
{
	struct mdr_proxy_wish w;
	int lock, err;

	err = proxy_wish(set, &w);
	if (err)
		return err;
	lock = mdr_lock();
	if (lock < 0)
		return lock;
	err = mdr_dp_set_proxy_limits(&d->st, &w, &d->cfg);
	mdr_unlock(lock);
	if (err)
		pr_err("cannot write the new connection rates and reply TTL "
		       "to the pinned mdr_config and mdr_guest_limit: %s",
		       strerror(-err));
	return err;
}

static bool same_sources(const struct mdr_settings *a,
			 const struct mdr_settings *b)
{
	return a->attach_from == b->attach_from &&
	       !strcmp(a->ovsdb_connection, b->ovsdb_connection) &&
	       !strcmp(a->ovn_sb_connection, b->ovn_sb_connection) &&
	       !strcmp(a->ovn_sb_private_key, b->ovn_sb_private_key) &&
	       !strcmp(a->ovn_sb_certificate, b->ovn_sb_certificate) &&
	       !strcmp(a->ovn_sb_ca_cert, b->ovn_sb_ca_cert) &&
	       a->ovsdb_probe_interval == b->ovsdb_probe_interval;
}

/*
 * The sources' settings changed: their thread starts again with the new
 * ones. Stopping a source detaches nothing (the attachments it made stay
 * until their interfaces go, or a source that runs again converges on
 * them), and a source that starts reads its databases before it detaches
 * anything.
 */
static int restart_sources(struct daemon *d, const struct mdr_settings *next)
{
	d->watch_stop = 1;
	mdr_watch_join(&d->watch);
	d->watch_stop = 0;
	memcpy(d->watch_set, next, sizeof(*next));
	pr_info("the sources' settings changed: the watcher starts again");
	return start_sources(d);
}

/*
 * Everything new is made and checked before anything changes: settings,
 * layout, the ovn source's, the backend; then the data path's per-packet
 * settings, which are put back if the proxy refuses the rest. A request
 * under way ends as it began (see mdr_proxy_reconfigure()).
 */
static int reload(struct daemon *d, struct proxy *p, struct mdr_settings *next,
		  bool *applied)
{
	struct mdr_proxy_options popts = d->popts;
	struct mdr_ovn_config ovn;
	struct mdr_backend *be;
	int err;

	err = load_settings(d->opts, next);
	if (!err)
		err = check_layout(d, next);
	if (err)
		return err;
	ovn_config(next, &ovn);
	if (next->attach_from & 1u << MDR_SOURCE_OVN) {
		err = mdr_ovn_config_check(&ovn);
		if (err)
			return err;
	}
	be = new_backend(next, &err);
	if (!be)
		return err;
	popts.backend = be;
	/* Everything the settings say of the proxy, access log included. */
	mdr_settings_proxy_options(next, &popts);
	err = set_data_path_limits(d, next);
	if (!err) {
		err = mdr_proxy_reconfigure(p, &popts);
		if (err) {
			pr_err("the proxy cannot take the new settings: %s",
			       strerror(-err));
			set_data_path_limits(d, d->set);
		}
	}
	if (err) {
		backend_done(NULL, be);
		return err;
	}
	*applied = true;
	d->popts = popts;
	memcpy(d->set, next, sizeof(*next));
	/* (Also when they could not start last time.) */
	if (!same_sources(d->watch_set, next) || !d->watch.started)
		err = restart_sources(d, next);
	return err;
}

/* SIGHUP, on the proxy's thread between two turns of its loop. */
static void on_reload(void *ctx, struct proxy *p)
{
	static struct mdr_settings next; /* large: not on the stack */
	struct daemon *d = ctx;
	struct mdr_reload_status rs = { .pid = getpid() };
	char desc[PATH_MAX + 32];
	bool applied = false;
	int err;

	rs.generation = ++d->generation;
	pr_info("reload %lu: reading the configuration again", rs.generation);
	mdr_log_capture(rs.errors, sizeof(rs.errors));
	err = reload(d, p, &next, &applied);
	mdr_log_capture(NULL, 0);
	rs.ok = !err;
	if (!err) {
		mdr_backend_describe(d->popts.backend, desc, sizeof(desc));
		pr_info("reload %lu: done, backend %s", rs.generation, desc);
	} else if (applied) {
		pr_err("reload %lu: the new settings are in force, but the "
		       "sources did not start again (above)",
		       rs.generation);
	} else {
		pr_err("reload %lu: refused, the settings in force are "
		       "unchanged",
		       rs.generation);
	}
	err = mdr_reload_status_write(&rs);
	if (err)
		pr_warn("cannot write %s: %s", MDR_RELOAD_STATUS_FILE,
			strerror(-err));
}

int mdr_daemon_run(const struct mdr_daemon_options *opts)
{
	/* Large: not on the stack. */
	static struct mdr_settings set, watch_set;
	struct daemon d = { .opts = opts,
			    .set = &set,
			    .watch_set = &watch_set,
			    .proxy_netns_fd = -1,
			    .pid_fd = -1,
			    .metrics_server.fd = -1 };
	struct mdr_proxy_options *popts = &d.popts;
	struct mdr_reload_status rs = { .pid = getpid(), .ok = true };
	struct sigaction sa = { .sa_handler = on_signal };
	struct mdr_backend *be = NULL;
	char desc[PATH_MAX + 32];
	int err;

	mdr_state_init(&d.st);
	for (unsigned int i = 0; i < MDR_WORKERS_MAX; i++)
		d.listen_fds[i] = -1;
	err = load_settings(opts, &set);
	if (err)
		return err;
	d.workers = mdr_settings_workers(&set);
	ovn_config(&set, &d.ovn);
	if (set.attach_from & 1u << MDR_SOURCE_OVN) {
		err = mdr_ovn_config_check(&d.ovn);
		if (err)
			return err;
	}
	be = new_backend(&set, &err);
	if (!be)
		return err;
	err = take_pid_file(&d);
	if (err)
		goto out;
	/* Whatever imds_tokens says now: a reload may turn tokens on. */
	err = mdr_token_key_load(MDR_TOKEN_KEY_FILE, &popts->token_key);
	if (err)
		goto out;
	err = prepare_data_path(&d, &set);
	if (err)
		goto out;
	err = open_listeners(&d, MDR_METADATA_PORT);
	if (err)
		goto out;
	err = map_http_stats(&d);
	if (err) {
		pr_err("cannot map the request counters: %s", strerror(-err));
		goto out;
	}
	err = start_metrics(&d, &set);
	if (err)
		goto out;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	mdr_backend_describe(be, desc, sizeof(desc));
	pr_info("mdredir %s listening on port %u in network namespace '%s', "
		"%u worker%s, backend %s",
		mdr_version, MDR_METADATA_PORT, d.cfg.proxy_netns, d.workers,
		d.workers == 1 ? "" : "s", desc);
	popts->listen_fds = d.listen_fds;
	popts->workers = d.workers;
	popts->backend = be;
	popts->backend_done = backend_done;
	popts->identify = identify;
	popts->identify_ctx = &d;
	popts->on_request = count_request;
	popts->on_request_ctx = &d;
	popts->counters = &d.counters;
	popts->on_turn = mdr_notify_turn;
	popts->access_log = open_access_log();
	popts->stop = &stop_requested;
	popts->reload = &reload_requested;
	popts->on_reload = on_reload;
	popts->on_reload_ctx = &d;
	mdr_settings_proxy_options(&set, popts);
	err = mdr_reload_status_write(&rs);
	if (err)
		pr_warn("cannot write %s: %s", MDR_RELOAD_STATUS_FILE,
			strerror(-err));
	memcpy(&watch_set, &set, sizeof(set));
	err = start_sources(&d);
	if (err)
		goto out;
	err = mdr_notify_start(&d.st);
	if (err)
		goto out;
	be = NULL; /* the proxy's now, until backend_done() */
	err = mdr_proxy_run(popts);
	mdr_notify_stop();
	if (err)
		pr_err("the proxy stopped: %s", strerror(-err));
	else
		pr_info("stopped");
out:
	d.watch_stop = 1; /* whatever stopped the proxy */
	mdr_watch_join(&d.watch);
	if (popts->access_log && popts->access_log != stderr)
		fclose(popts->access_log);
	daemon_cleanup(&d);
	if (be)
		backend_done(NULL, be);
	return err;
}
