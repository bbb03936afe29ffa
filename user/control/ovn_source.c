// SPDX-License-Identifier: GPL-2.0-only
/* The ovn source (ovn_source.h): two OVSDB clients, and converging on
 * what their join (ovn_join.h) asks for. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "control/attach.h"
#include "control/ovn_join.h"
#include "control/ovn_source.h"
#include "control/ovsdb.h"
#include "control/pinned_state.h"
#include "control/source.h"
#include "lib/log.h"
#include "lib/clock.h"

/* After attachments failed, how soon to try again though nothing changed. */
#define RETRY_MS 2000

/* One database: its client, its remotes tried in turn, its backoff. */
struct db {
	const char *what; /* for messages */
	struct mdr_ovsdb *c;
	char **remotes;
	size_t n_remotes, cur; /* cur: the remote in use, or tried last */
	unsigned int backoff_ms;
	long long retry_at; /* monotonic ms of the next attempt */
	bool ever_synced;   /* has been read whole once */
	bool down_logged;   /* said it is unreachable since it last was */
};

struct mdr_ovn_source {
	struct mdr_ovn_config cfg; /* strings owned */
	struct db local, sb;
	/* What the Southbound conditions were last set from. */
	char cond_system_id[MDR_ID_LEN * 4];
	char cond_chassis[40]; /* our Chassis row's uuid; "" unknown */
	bool sb_bound_synced;  /* read whole with our chassis known */
	bool dirty;	       /* something changed: converge */
	bool ever_converged;
	long long retry_sync_at;
	/* Names logged once, so that a sync per change does not repeat. */
	json_t *said; /* {message: true} */
	int host_fd;  /* a socket of the host namespace, for tap_exists() */
	struct mdr_source_status status;
};

/* ---- what we say once ---- */

/* Whether @msg is news: not said before (and now noted as said). */
static bool first_time(struct mdr_ovn_source *src, const char *msg)
{
	if (json_object_get(src->said, msg))
		return false;
	json_object_set_new(src->said, msg, json_true());
	return true;
}

/* Logs @msg (at warning, counted as an error) unless already said. */
static void say_once(const char *msg, void *ctx)
{
	struct mdr_ovn_source *src = ctx;

	if (!first_time(src, msg))
		return;
	pr_warn("ovn: %s", msg);
	src->status.errors++;
	snprintf(src->status.last_error, sizeof(src->status.last_error), "%s",
		 msg);
}

/* ---- the join ---- */

/*
 * The tap is in the host namespace, where the ovn source attaches: asked
 * of a socket made there, once (if_nametoindex() makes one a call, and a
 * sync asks for every binding).
 */
static bool tap_exists(const char *name, void *ctx)
{
	struct mdr_ovn_source *src = ctx;
	struct ifreq ifr = { 0 };

	if (src->host_fd < 0 || strlen(name) >= sizeof(ifr.ifr_name))
		return src->host_fd < 0 && if_nametoindex(name);
	strcpy(ifr.ifr_name, name);
	return !ioctl(src->host_fd, SIOCGIFINDEX, &ifr);
}

/* What the replicas ask for. */
static int plan(struct mdr_ovn_source *src, struct mdr_ovn_plan *p)
{
	const struct mdr_ovn_rows rows = {
		.interfaces = mdr_ovsdb_rows(src->local.c, "Interface"),
		.port_bindings = mdr_ovsdb_rows(src->sb.c, "Port_Binding"),
		.datapaths = mdr_ovsdb_rows(src->sb.c, "Datapath_Binding"),
		.chassis = src->cond_chassis,
		.tap_exists = tap_exists,
		.refused = say_once,
		.ctx = src,
	};

	return mdr_ovn_plan(&rows, p);
}

/* ---- converging ---- */

/* The host namespace's attachments, as they are. */
struct known {
	struct mdr_attachment *atts;
	__u32 *ids;
	size_t n;
	json_t *by_name; /* {ifname: index in atts} */
};

static int collect(__u32 id, const struct mdr_attachment *att, void *data)
{
	struct known *k = data;

	if (!att->netns[0] && k->n < MDR_MAX_ATTACH) {
		k->ids[k->n] = id;
		k->atts[k->n++] = *att;
	}
	return 0;
}

/*
 * {name: index} of @n names, each @stride bytes after the last: a sync
 * matches every binding with every attachment, by name, in linear time.
 */
static json_t *index_names(const char *first, size_t n, size_t stride)
{
	json_t *idx = json_object();

	for (size_t i = 0; idx && i < n; i++)
		if (json_object_set_new(idx, first + i * stride,
					json_integer((json_int_t)i))) {
			json_decref(idx);
			return NULL;
		}
	return idx;
}

/* The index of @name in @idx (index_names()), or -1. */
static long lookup_name(const json_t *idx, const char *name)
{
	const json_t *i = json_object_get(idx, name);

	return i ? (long)json_integer_value(i) : -1;
}

/* Whether @att already is what @w asks for. */
static bool same(const struct mdr_attachment *att,
		 const struct mdr_next_hop *hop, const struct mdr_ovn_want *w)
{
	const struct mdr_attach_request *r = &w->req;
	bool has_mac = att->flags & MDR_F_HAS_VM_MAC;
	unsigned int n_ips = 0;

	while (n_ips < MDR_MAX_FIXED_IPS && att->fixed_ips[n_ips].family)
		n_ips++;
	return att->source == MDR_SOURCE_OVN &&
	       !strcmp(att->network_id, r->network_id) && !att->router_id[0] &&
	       !strcmp(att->instance_id, r->instance_id) &&
	       !strcmp(att->project_id, r->project_id) &&
	       has_mac == r->has_vm_mac &&
	       (!has_mac || !memcmp(att->vm_mac, r->vm_mac, 6)) &&
	       n_ips == r->n_fixed_ips &&
	       !memcmp(att->fixed_ips, r->fixed_ips,
		       n_ips * sizeof(r->fixed_ips[0])) &&
	       hop->addr4 == r->next_hop4;
}

/* Attaches (or, where @update[i], updates in place) @reqs. */
static void attach_all(struct mdr_ovn_source *src,
		       struct mdr_attach_request *reqs, const bool *update,
		       size_t n)
{
	uint32_t *ids = calloc(n, sizeof(*ids));
	size_t failed;

	if (!ids)
		return;
	failed = mdr_attach_each(reqs, n, ids, src->status.last_error,
				 sizeof(src->status.last_error));
	if (failed) {
		src->status.errors += failed;
		src->retry_sync_at = mdr_now_ms() + RETRY_MS;
	}
	for (size_t i = 0; i < n; i++)
		if (ids[i])
			pr_info("ovn: %s '%s' (instance %s, network %s)",
				update[i] ? "updated" : "attached",
				reqs[i].ifname, reqs[i].instance_id,
				reqs[i].network_id);
	free(ids);
}

/* Makes the host's attachments what the databases say. */
static void converge(struct mdr_ovn_source *src)
{
	struct known k = { 0 };
	struct mdr_ovn_plan p = { 0 };
	struct mdr_attach_request *reqs = NULL;
	bool *update = NULL;
	struct mdr_state st;
	bool have_state;
	size_t n = 0;
	char msg[256];

	json_t *wanted = NULL;
	long i_att;

	k.atts = malloc(MDR_MAX_ATTACH * sizeof(*k.atts));
	k.ids = malloc(MDR_MAX_ATTACH * sizeof(*k.ids));
	if (!k.atts || !k.ids || plan(src, &p))
		goto out;
	wanted = index_names(p.w[0].ifname, p.n, sizeof(p.w[0]));
	if (!wanted)
		goto out;
	reqs = calloc(p.n + 1, sizeof(*reqs));
	update = calloc(p.n + 1, sizeof(*update));
	if (!reqs || !update)
		goto out;
	/* Nothing pinned yet (a fresh host) is nothing attached. */
	have_state = !mdr_state_open(&st, MDR_STATE_READ);
	if (have_state)
		mdr_state_for_each_attachment(&st, collect, &k);
	k.by_name = index_names(k.atts[0].ifname, k.n, sizeof(k.atts[0]));
	if (!k.by_name) {
		if (have_state)
			mdr_state_close(&st);
		goto out;
	}
	for (size_t i = 0; i < p.n; i++) {
		const struct mdr_attachment *att = NULL;
		struct mdr_next_hop hop = { 0 };

		i_att = lookup_name(k.by_name, p.w[i].ifname);
		att = i_att >= 0 ? &k.atts[i_att] : NULL;
		if (att && att->source != MDR_SOURCE_OVN) {
			snprintf(msg, sizeof(msg),
				 "'%s' was attached by hand: the ovn source "
				 "leaves it alone",
				 att->ifname);
			if (first_time(src, msg))
				pr_info("ovn: %s", msg);
			continue;
		}
		if (att && have_state)
			mdr_state_get_next_hop(&st, k.ids[i_att], &hop);
		if (att && same(att, &hop, &p.w[i]))
			continue;
		update[n] = att != NULL;
		reqs[n++] = p.w[i].req;
	}
	if (have_state)
		mdr_state_close(&st);
	if (n)
		attach_all(src, reqs, update, n);
	/* Ours that the databases no longer have (the watcher detaches
	 * what vanished with its tap). */
	for (size_t i = 0; i < k.n; i++) {
		const struct mdr_attachment *att = &k.atts[i];

		if (att->source != MDR_SOURCE_OVN ||
		    lookup_name(wanted, att->ifname) >= 0)
			continue;
		if (!mdr_detach(att->ifname, ""))
			pr_info("ovn: detached '%s' (instance %s): no longer "
				"bound here or plugged",
				att->ifname, att->instance_id);
	}
	src->status.last_sync = time(NULL);
out:
	json_decref(wanted);
	json_decref(k.by_name);
	free(update);
	free(reqs);
	free(p.w);
	free(k.ids);
	free(k.atts);
}

/* ---- the Southbound's conditions ---- */

/*
 * Points the Southbound monitors at our chassis: its Chassis row by name,
 * then the bindings by its uuid. A change takes a new session (the
 * replica keeps it to what really changed). Returns whether to reconnect.
 */
static bool update_conditions(struct mdr_ovn_source *src)
{
	const char *sysid, *uuid;
	json_t *chassis_where, *pb_where;
	int err;

	sysid = mdr_ovn_system_id(mdr_ovsdb_rows(src->local.c, "Open_vSwitch"));
	if (!sysid || strlen(sysid) >= sizeof(src->cond_system_id))
		return false;
	uuid = mdr_ovn_chassis_uuid(mdr_ovsdb_rows(src->sb.c, "Chassis"),
				    sysid);
	if (!strcmp(sysid, src->cond_system_id) &&
	    !strcmp(uuid ? uuid : "", src->cond_chassis))
		return false;
	if (strcmp(sysid, src->cond_system_id))
		uuid = NULL; /* another chassis: its row comes next */
	snprintf(src->cond_system_id, sizeof(src->cond_system_id), "%s", sysid);
	snprintf(src->cond_chassis, sizeof(src->cond_chassis), "%s",
		 uuid ? uuid : "");
	src->sb_bound_synced = false;

	chassis_where = json_pack("[[s, s, s]]", "name", "==", sysid);
	/* Every network's metadata port, and the bindings of ours. */
	pb_where = uuid ? json_pack("[[s, s, s], [s, s, [s, s]], "
				    "[s, s, [s, s]]]",
				    "type", "==", "localport", "chassis",
				    "==", "uuid", uuid, "additional_chassis",
				    "includes", "uuid", uuid)
			: json_pack("[[s, s, s]]", "type", "==", "localport");
	err = chassis_where && pb_where ? 0 : -ENOMEM;
	err = err ?: mdr_ovsdb_set_where(src->sb.c, "Chassis", chassis_where);
	err = err ?: mdr_ovsdb_set_where(src->sb.c, "Port_Binding", pb_where);
	json_decref(chassis_where);
	json_decref(pb_where);
	if (err) {
		src->cond_system_id[0] = '\0'; /* try again */
		return false;
	}
	if (uuid)
		pr_info("ovn: chassis '%s' is Chassis row %s: following "
			"its port bindings",
			sysid, uuid);
	else
		pr_info("ovn: this host is chassis '%s' (Open_vSwitch "
			"external_ids:system-id)",
			sysid);
	return true;
}

/* ---- the connections ---- */

static void on_row(void *ctx, const char *table, const char *uuid,
		   const json_t *old, const json_t *new)
{
	struct mdr_ovn_source *src = ctx;

	(void)table, (void)uuid, (void)old, (void)new;
	src->dirty = true;
}

static const struct mdr_ovsdb_ops ops = { .row = on_row };

static void db_free(struct db *d)
{
	mdr_ovsdb_free(d->c);
	for (size_t i = 0; i < d->n_remotes; i++)
		free(d->remotes[i]);
	free(d->remotes);
}

/* @d's client for @db, trying each of comma-separated @remotes. */
static int db_init(struct db *d, const char *what, const char *db,
		   const char *remotes, struct mdr_ovn_source *src)
{
	const char *p = remotes;

	d->what = what;
	d->c = mdr_ovsdb_new(db, &ops, src);
	if (!d->c)
		return -ENOMEM;
	do {
		size_t len = strcspn(p, ",");
		char **r = realloc(d->remotes, (d->n_remotes + 1) * sizeof(*r));

		if (!r)
			return -ENOMEM;
		d->remotes = r;
		r[d->n_remotes] = strndup(p, len);
		if (!r[d->n_remotes])
			return -ENOMEM;
		d->n_remotes++;
		p += len;
	} while (*p++);
	return 0;
}

/* The connection failed or closed: the next remote, after a while. */
static void db_lost(struct db *d, bool was_connected)
{
	const char *remote = d->remotes[d->cur];

	d->cur = (d->cur + 1) % d->n_remotes;
	d->backoff_ms = mdr_ovsdb_backoff(d->backoff_ms);
	d->retry_at = mdr_now_ms() + d->backoff_ms;
	if (was_connected || !d->down_logged)
		pr_warn("ovn: %s database %s: %s; %s, attachments kept "
			"as they are",
			d->what, remote, mdr_ovsdb_error(d->c),
			d->n_remotes > 1 ? "trying the next remote"
					 : "retrying");
	d->down_logged = true;
}

static void db_connect(struct db *d)
{
	if (mdr_ovsdb_connect(d->c, d->remotes[d->cur]))
		db_lost(d, false);
}

/* Connects @d when its time comes, or steps its connection with
 * @revents. */
static void db_run(struct db *d, short revents)
{
	bool was = mdr_ovsdb_connected(d->c);

	if (mdr_ovsdb_fd(d->c) < 0) {
		if (mdr_now_ms() >= d->retry_at)
			db_connect(d);
		return;
	}
	if (mdr_ovsdb_step(d->c, revents & (POLLIN | POLLHUP | POLLERR),
			   revents & POLLOUT)) {
		db_lost(d, was);
		return;
	}
	if (mdr_ovsdb_synced(d->c)) {
		if (!d->ever_synced || d->down_logged)
			pr_info("ovn: %s database %s: connected and read",
				d->what, d->remotes[d->cur]);
		d->ever_synced = true;
		d->down_logged = false;
		d->backoff_ms = 0;
	}
}

static const char *const ovs_tables[] = { "Open_vSwitch", "Interface" };
static const char *const ovs_columns[][3] = { { "external_ids", NULL },
					      { "name", "external_ids",
						NULL } };

int mdr_ovn_config_check(const struct mdr_ovn_config *cfg)
{
	char err[256];
	const char *p = cfg->sb_remotes;
	static const struct mdr_ovsdb_ops no_ops = { 0 };
	struct mdr_ovsdb *c;
	int rc;
	bool ssl = false;

	if (strchr(cfg->ovs_remote, ',') ||
	    !strncmp(cfg->ovs_remote, "ssl:", 4) ||
	    mdr_ovsdb_check_remote(cfg->ovs_remote, err, sizeof(err))) {
		pr_err("[ovs] ovsdb_connection '%s': the local database is "
		       "one unix:PATH or tcp:IP:PORT",
		       cfg->ovs_remote);
		return -EINVAL;
	}
	do {
		ssl |= !strncmp(p, "ssl:", 4);
		p += strcspn(p, ",");
	} while (*p++);
	if (!ssl)
		return 0;
	if (!cfg->sb_private_key[0] || !cfg->sb_certificate[0] ||
	    !cfg->sb_ca_cert[0]) {
		pr_err("[ovn] ovn_sb_connection has ssl: remotes: set "
		       "ovn_sb_private_key, ovn_sb_certificate and "
		       "ovn_sb_ca_cert");
		return -EINVAL;
	}
	/* The files are read now: a wrong path stops the start, not the
	 * first connection in a thread nobody watches. */
	c = mdr_ovsdb_new("OVN_Southbound", &no_ops, NULL);
	if (!c)
		return -ENOMEM;
	rc = mdr_ovsdb_set_ssl(c, cfg->sb_private_key, cfg->sb_certificate,
			       cfg->sb_ca_cert);
	if (rc)
		pr_err("[ovn] ovn_sb_private_key, ovn_sb_certificate, "
		       "ovn_sb_ca_cert: %s",
		       mdr_ovsdb_error(c));
	mdr_ovsdb_free(c);
	return rc;
}

struct mdr_ovn_source *mdr_ovn_source_new(const struct mdr_ovn_config *cfg)
{
	static const char *const pb_columns[] = {
		"logical_port", "type", "chassis",	"additional_chassis",
		"datapath",	"mac",	"external_ids", NULL
	};
	static const char *const chassis_columns[] = { "name", NULL };
	static const char *const dp_columns[] = { "external_ids", NULL };
	struct mdr_ovn_source *src = calloc(1, sizeof(*src));
	json_t *none = json_pack("[b]", 0); /* no rows */
	int err;

	if (!src)
		return NULL;
	src->host_fd = -1;
	src->cfg = *cfg;
	src->said = json_object();
	/* Made here, in the host namespace: it stays of it. */
	src->host_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	err = src->said && none ? 0 : -ENOMEM;
	err = err
		      ?: db_init(&src->local, "local Open vSwitch",
				 "Open_vSwitch", cfg->ovs_remote, src);
	err = err
		      ?: db_init(&src->sb, "Southbound", "OVN_Southbound",
				 cfg->sb_remotes, src);
	/* (mdr_ovn_config_check() made sure these can be read.) */
	if (!err && cfg->sb_private_key[0] && cfg->sb_certificate[0] &&
	    cfg->sb_ca_cert[0])
		err = mdr_ovsdb_set_ssl(src->sb.c, cfg->sb_private_key,
					cfg->sb_certificate, cfg->sb_ca_cert);
	if (!err) {
		mdr_ovsdb_set_probe(src->local.c, cfg->probe_ms);
		mdr_ovsdb_set_probe(src->sb.c, cfg->probe_ms);
	}
	for (size_t i = 0; !err && i < 2; i++)
		err = mdr_ovsdb_monitor(src->local.c, ovs_tables[i],
					ovs_columns[i], NULL);
	/* Nothing of the Southbound until we know our chassis. */
	err = err
		      ?: mdr_ovsdb_monitor(src->sb.c, "Chassis",
					   chassis_columns, none);
	err = err
		      ?: mdr_ovsdb_monitor(src->sb.c, "Port_Binding",
					   pb_columns, none);
	err = err
		      ?: mdr_ovsdb_monitor(src->sb.c, "Datapath_Binding",
					   dp_columns, NULL);
	json_decref(none);
	if (err) {
		mdr_ovn_source_free(src);
		return NULL;
	}
	return src;
}

void mdr_ovn_source_free(struct mdr_ovn_source *src)
{
	if (!src)
		return;
	mdr_source_status_remove(MDR_SOURCE_OVN);
	db_free(&src->local);
	db_free(&src->sb);
	json_decref(src->said);
	if (src->host_fd >= 0)
		close(src->host_fd);
	free(src);
}

static void add_poll(struct db *d, struct pollfd *pfd, unsigned int *n,
		     int *timeout_ms)
{
	long long wait;

	if (mdr_ovsdb_fd(d->c) >= 0) {
		pfd[*n] = (struct pollfd){
			.fd = mdr_ovsdb_fd(d->c),
			.events = POLLIN |
				  (mdr_ovsdb_want_write(d->c) ? POLLOUT : 0),
		};
		(*n)++;
		/* The probe's timer, or TLS holding bytes already read. */
		wait = mdr_ovsdb_timeout_ms(d->c);
		if (wait >= 0 && (*timeout_ms < 0 || wait < *timeout_ms))
			*timeout_ms = (int)wait;
		return;
	}
	wait = d->retry_at - mdr_now_ms();
	wait = wait < 0 ? 0 : wait;
	if (*timeout_ms < 0 || wait < *timeout_ms)
		*timeout_ms = (int)wait;
}

unsigned int mdr_ovn_source_poll(struct mdr_ovn_source *src, struct pollfd *pfd,
				 int *timeout_ms)
{
	unsigned int n = 0;

	add_poll(&src->local, pfd, &n, timeout_ms);
	/* The Southbound waits for our chassis's name. */
	if (src->cond_system_id[0])
		add_poll(&src->sb, pfd, &n, timeout_ms);
	if (src->retry_sync_at) {
		long long wait = src->retry_sync_at - mdr_now_ms();

		wait = wait < 0 ? 0 : wait;
		if (*timeout_ms < 0 || wait < *timeout_ms)
			*timeout_ms = (int)wait;
	}
	return n;
}

static short revents_of(const struct db *d, const struct pollfd *pfd,
			unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (pfd[i].fd >= 0 && pfd[i].fd == mdr_ovsdb_fd(d->c))
			return pfd[i].revents;
	return 0;
}

/* The status file, rewritten when it changes or after a sync. */
static void write_status(struct mdr_ovn_source *src, bool converged)
{
	struct mdr_source_status *s = &src->status;
	struct mdr_source_status before = *s;

	s->connected = mdr_ovsdb_connected(src->local.c) &&
		       mdr_ovsdb_connected(src->sb.c);
	s->synced = src->ever_converged && mdr_ovsdb_synced(src->local.c) &&
		    src->sb_bound_synced && mdr_ovsdb_synced(src->sb.c);
	if (converged || memcmp(&before, s, sizeof(*s)))
		mdr_source_status_write(MDR_SOURCE_OVN, s);
}

void mdr_ovn_source_run(struct mdr_ovn_source *src, const struct pollfd *pfd,
			unsigned int n)
{
	short local = revents_of(&src->local, pfd, n);
	short sb = revents_of(&src->sb, pfd, n);
	bool converged = false;

	db_run(&src->local, local);
	if (src->cond_system_id[0])
		db_run(&src->sb, sb);
	if (src->local.ever_synced && update_conditions(src)) {
		/* A new condition takes a new session, at once. */
		mdr_ovsdb_close(src->sb.c);
		src->sb.retry_at = 0;
		db_run(&src->sb, 0);
	}
	if (src->cond_chassis[0] && mdr_ovsdb_synced(src->sb.c))
		src->sb_bound_synced = true;
	if (src->retry_sync_at && mdr_now_ms() >= src->retry_sync_at) {
		src->retry_sync_at = 0;
		src->dirty = true;
	}
	/* Both read whole once: from then on, stale beats down. */
	if (src->dirty && src->local.ever_synced && src->sb_bound_synced) {
		src->dirty = false;
		if (!src->ever_converged)
			pr_info("ovn: both databases read: converging");
		converge(src);
		src->ever_converged = converged = true;
	}
	write_status(src, converged);
}

void mdr_ovn_source_link_event(struct mdr_ovn_source *src)
{
	src->dirty = true;
}
