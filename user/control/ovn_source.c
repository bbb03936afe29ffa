// SPDX-License-Identifier: GPL-2.0-only
/* The ovn source (ovn_source.h): two OVSDB clients and a join. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/attach.h"
#include "control/ovn_source.h"
#include "control/ovsdb.h"
#include "control/pinned_state.h"
#include "control/source.h"
#include "lib/log.h"
#include "lib/values.h"

/* After attachments failed, how soon to try again though nothing changed. */
#define RETRY_MS 2000

/* One database: its client, its remotes tried in turn, its backoff. */
struct db {
	const char *what; /* for messages */
	struct mdr_ovsdb *c;
	char **remotes;
	size_t n_remotes, next; /* next: the remote to try next */
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
	struct mdr_source_status status;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- OVSDB values ---- */

/* The value of @key in OVSDB map @map (["map", [[k, v]...]]), or NULL. */
static const char *map_get(const json_t *map, const char *key)
{
	const json_t *pairs = json_array_get(map, 1), *pair;
	size_t i;

	if (!json_is_string(json_array_get(map, 0)) ||
	    strcmp(json_string_value(json_array_get(map, 0)), "map"))
		return NULL;
	json_array_foreach(pairs, i, pair)
	{
		const char *k = json_string_value(json_array_get(pair, 0));

		if (k && !strcmp(k, key))
			return json_string_value(json_array_get(pair, 1));
	}
	return NULL;
}

static const char *column_map(const json_t *row, const char *column,
			      const char *key)
{
	return map_get(json_object_get(row, column), key);
}

static const char *column_string(const json_t *row, const char *column)
{
	const char *s = json_string_value(json_object_get(row, column));

	return s ? s : ""; /* absent: at its default */
}

/*
 * The @i-th element of OVSDB set @v: ["set", [...]], or one element
 * alone; NULL past the end.
 */
static const json_t *set_elem(const json_t *v, size_t i)
{
	const char *tag = json_string_value(json_array_get(v, 0));

	if (!v)
		return NULL;
	if (tag && !strcmp(tag, "set"))
		return json_array_get(json_array_get(v, 1), i);
	return i ? NULL : v;
}

/* Whether uuid atom @atom (["uuid", "..."]) is @uuid. */
static bool is_uuid(const json_t *atom, const char *uuid)
{
	const char *tag = json_string_value(json_array_get(atom, 0));
	const char *u = json_string_value(json_array_get(atom, 1));

	return tag && !strcmp(tag, "uuid") && u && !strcmp(u, uuid);
}

static bool set_has_uuid(const json_t *v, const char *uuid)
{
	const json_t *e;

	for (size_t i = 0; (e = set_elem(v, i)); i++)
		if (is_uuid(e, uuid))
			return true;
	return false;
}

/* ---- what we say once ---- */

/* Logs @msg (at warning, counted as an error) unless already said. */
static void say_once(struct mdr_ovn_source *src, const char *msg)
{
	if (json_object_get(src->said, msg))
		return;
	json_object_set_new(src->said, msg, json_true());
	pr_warn("ovn: %s", msg);
	src->status.errors++;
	snprintf(src->status.last_error, sizeof(src->status.last_error), "%s",
		 msg);
}

/* ---- the desired attachments ---- */

struct want {
	struct mdr_attach_request req;
	char ifname[IF_NAMESIZE];
	char network_id[MDR_ID_LEN];
	char instance_id[MDR_ID_LEN];
	char project_id[MDR_ID_LEN];
};

struct plan {
	struct want *w;
	size_t n;
};

/* "MAC IP IP..." into @w's --mac and --ip; false if it is not that. */
static bool parse_addresses(const char *addrs, struct want *w)
{
	char buf[1024], *tok, *save = NULL;
	struct mdr_attach_request *req = &w->req;

	snprintf(buf, sizeof(buf), "%s", addrs);
	tok = strtok_r(buf, " ", &save);
	if (!tok || mdr_parse_mac(tok, req->vm_mac))
		return false;
	req->has_vm_mac = true;
	while ((tok = strtok_r(NULL, " ", &save)) &&
	       req->n_fixed_ips < MDR_MAX_FIXED_IPS)
		if (!mdr_parse_fixed_ip(tok, &req->fixed_ips[req->n_fixed_ips]))
			req->n_fixed_ips++;
	return true;
}

/* The network id of datapath @uuid (neutron-<id>), or NULL. */
static const char *network_of(const struct mdr_ovn_source *src,
			      const json_t *datapath)
{
	const char *uuid = json_string_value(json_array_get(datapath, 1));
	const json_t *row;
	const char *name;

	row = uuid ? mdr_ovsdb_row(src->sb.c, "Datapath_Binding", uuid) : NULL;
	name = row ? column_map(row, "external_ids", "name") : NULL;
	if (!name || strncmp(name, "neutron-", 8) || mdr_parse_id(name + 8))
		return NULL;
	return name + 8;
}

/* Whether IPv4 @ip is in "ADDR/LEN" @cidr. */
static bool in_cidr4(__be32 ip, const char *cidr)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	struct in_addr net;
	unsigned long len;
	char *end;
	__u32 mask;

	if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
		return false;
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - cidr), cidr);
	len = strtoul(slash + 1, &end, 10);
	if (*end || len > 32 || inet_pton(AF_INET, addr, &net) != 1)
		return false;
	mask = len ? htonl(~0u << (32 - len)) : 0;
	return (net.s_addr & mask) == (ip & mask);
}

/*
 * The metadata port's IPv4 on the subnet of @guest (the guest's first
 * IPv4; 0: any) among @localport's neutron:cidrs, or 0.
 */
static __be32 metadata_ip_for(const json_t *localport, __be32 guest)
{
	const char *cidrs =
		column_map(localport, "external_ids", "neutron:cidrs");
	char buf[1024], *tok, *save = NULL;
	__be32 first = 0;

	snprintf(buf, sizeof(buf), "%s", cidrs ? cidrs : "");
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *slash = strchr(tok, '/');
		struct in_addr a;

		if (slash)
			*slash = '\0';
		if (inet_pton(AF_INET, tok, &a) != 1)
			continue;
		if (slash)
			*slash = '/';
		if (!first)
			first = a.s_addr;
		if (guest && slash && in_cidr4(guest, tok))
			return a.s_addr;
	}
	return guest ? 0 : first;
}

/*
 * The next hop of the guest's metadata route on @datapath, or 0: from
 * @metadata_ports, {datapath uuid: [its localport rows]}.
 */
static __be32 next_hop_for(const json_t *metadata_ports, const json_t *datapath,
			   const struct want *w)
{
	const char *uuid = json_string_value(json_array_get(datapath, 1));
	const json_t *ports, *row;
	__be32 guest = 0, ip;
	size_t i;

	ports = uuid ? json_object_get(metadata_ports, uuid) : NULL;
	for (i = 0; i < w->req.n_fixed_ips && !guest; i++)
		if (w->req.fixed_ips[i].family == AF_INET)
			memcpy(&guest, w->req.fixed_ips[i].addr, 4);
	json_array_foreach(ports, i, row)
	{
		ip = metadata_ip_for(row, guest);
		if (ip)
			return ip;
	}
	return 0;
}

/* Each network's metadata port (type localport): {datapath: [rows]}. */
static json_t *metadata_ports(const struct mdr_ovn_source *src)
{
	const json_t *rows = mdr_ovsdb_rows(src->sb.c, "Port_Binding");
	json_t *by_dp = json_object(), *list;
	const char *key, *dp;
	const json_t *row;

	json_object_foreach((json_t *)rows, key, row)
	{
		dp = json_string_value(
			json_array_get(json_object_get(row, "datapath"), 1));
		if (!by_dp || !dp ||
		    strcmp(column_string(row, "type"), "localport"))
			continue;
		list = json_object_get(by_dp, dp);
		if (!list) {
			list = json_array();
			if (json_object_set_new(by_dp, dp, list))
				continue;
		}
		json_array_append(list, (json_t *)row);
	}
	return by_dp;
}

/* {iface-id: Interface row} of the local database. */
static json_t *interfaces_by_port(const struct mdr_ovn_source *src)
{
	const json_t *rows = mdr_ovsdb_rows(src->local.c, "Interface");
	json_t *by_port = json_object();
	const char *key;
	const json_t *row;

	json_object_foreach((json_t *)rows, key, row)
	{
		const char *port = column_map(row, "external_ids", "iface-id");

		if (by_port && port)
			json_object_set(by_port, port, (json_t *)row);
	}
	return by_port;
}

/*
 * Port_Binding @pb, if bound here, plugged and its tap present: what to
 * attach, in @w. Else false (and, for a binding that cannot be served,
 * a word in the log).
 */
static bool want_binding(struct mdr_ovn_source *src, const json_t *pb,
			 const json_t *ifaces, const json_t *meta,
			 struct want *w)
{
	const char *port = column_string(pb, "logical_port");
	const char *chassis = src->cond_chassis;
	const char *device, *project, *network, *name, *vm;
	const json_t *iface, *datapath = json_object_get(pb, "datapath");
	char msg[512];

	/* VM ports only (not localport, router or virtual ones), and ours:
	 * the server's condition says so, the replica may be older. */
	if (column_string(pb, "type")[0] ||
	    !(set_has_uuid(json_object_get(pb, "chassis"), chassis) ||
	      set_has_uuid(json_object_get(pb, "additional_chassis"), chassis)))
		return false;
	iface = json_object_get(ifaces, port);
	name = iface ? column_string(iface, "name") : "";
	if (!name[0] || strlen(name) >= IF_NAMESIZE || !if_nametoindex(name))
		return false; /* not plugged, or no tap (yet) */

	device = column_map(pb, "external_ids", "neutron:device_id");
	project = column_map(pb, "external_ids", "neutron:project_id");
	network = network_of(src, datapath);
	vm = column_map(iface, "external_ids", "vm-uuid");
	vm = vm ? vm : column_map(iface, "external_ids", "vm-id");
	if (!device || mdr_parse_id(device) || !project ||
	    mdr_parse_id(project) || !network) {
		snprintf(msg, sizeof(msg),
			 "port %.64s (tap '%s') has no valid "
			 "neutron:device_id, neutron:project_id or "
			 "neutron-<network> datapath: not attached",
			 port, name);
		say_once(src, msg);
		return false;
	}
	/* The tap's VM (written by Nova's side on this host) and the
	 * binding's instance must agree: a guest is served as nothing else. */
	if (vm && strcmp(vm, device)) {
		snprintf(msg, sizeof(msg),
			 "tap '%s' belongs to VM %.64s but port %.64s to "
			 "instance %.64s: not attached",
			 name, vm, port, device);
		say_once(src, msg);
		return false;
	}
	memset(w, 0, sizeof(*w));
	snprintf(w->ifname, sizeof(w->ifname), "%s", name);
	snprintf(w->network_id, sizeof(w->network_id), "%s", network);
	snprintf(w->instance_id, sizeof(w->instance_id), "%s", device);
	snprintf(w->project_id, sizeof(w->project_id), "%s", project);
	/* Port security off ("unknown" addresses): no anti-spoofing. */
	parse_addresses(
		json_string_value(set_elem(json_object_get(pb, "mac"), 0))
			?: "",
		w);
	w->req.next_hop4 = next_hop_for(meta, datapath, w);
	return true;
}

static int plan_bindings(struct mdr_ovn_source *src, struct plan *p)
{
	const json_t *rows = mdr_ovsdb_rows(src->sb.c, "Port_Binding");
	json_t *ifaces = interfaces_by_port(src), *meta = metadata_ports(src);
	const char *key;
	const json_t *pb;

	p->w = calloc(json_object_size(rows) + 1, sizeof(*p->w));
	if (!ifaces || !meta || !p->w) {
		json_decref(ifaces);
		json_decref(meta);
		return -ENOMEM;
	}
	json_object_foreach((json_t *)rows, key, pb)
	{
		struct want *w = &p->w[p->n];

		if (!want_binding(src, pb, ifaces, meta, w))
			continue;
		w->req.ifname = w->ifname;
		w->req.netns = "";
		w->req.network_id = w->network_id;
		w->req.router_id = "";
		w->req.instance_id = w->instance_id;
		w->req.project_id = w->project_id;
		w->req.source = MDR_SOURCE_OVN;
		p->n++;
	}
	json_decref(ifaces);
	json_decref(meta);
	return 0;
}

/* ---- converging ---- */

/* The host namespace's attachments, as they are. */
struct known {
	struct mdr_attachment *atts;
	__u32 *ids;
	size_t n;
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

static const struct mdr_attachment *known_iface(const struct known *k,
						const char *ifname)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->atts[i].ifname, ifname))
			return &k->atts[i];
	return NULL;
}

static const struct want *wanted_iface(const struct plan *p, const char *ifname)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->w[i].ifname, ifname))
			return &p->w[i];
	return NULL;
}

/* Whether @att already is what @w asks for. */
static bool same(const struct mdr_attachment *att,
		 const struct mdr_next_hop *hop, const struct want *w)
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
		src->retry_sync_at = now_ms() + RETRY_MS;
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
	struct plan p = { 0 };
	struct mdr_attach_request *reqs = NULL;
	bool *update = NULL;
	struct mdr_state st;
	bool have_state;
	size_t n = 0;
	char msg[256];

	k.atts = malloc(MDR_MAX_ATTACH * sizeof(*k.atts));
	k.ids = malloc(MDR_MAX_ATTACH * sizeof(*k.ids));
	if (!k.atts || !k.ids || plan_bindings(src, &p))
		goto out;
	reqs = calloc(p.n + 1, sizeof(*reqs));
	update = calloc(p.n + 1, sizeof(*update));
	if (!reqs || !update)
		goto out;
	/* Nothing pinned yet (a fresh host) is nothing attached. */
	have_state = !mdr_state_open(&st, MDR_STATE_READ);
	if (have_state)
		mdr_state_for_each_attachment(&st, collect, &k);
	for (size_t i = 0; i < p.n; i++) {
		const struct mdr_attachment *att =
			known_iface(&k, p.w[i].ifname);
		struct mdr_next_hop hop = { 0 };

		if (att && att->source != MDR_SOURCE_OVN) {
			snprintf(msg, sizeof(msg),
				 "'%s' was attached by hand: the ovn source "
				 "leaves it alone",
				 att->ifname);
			if (!json_object_get(src->said, msg)) {
				json_object_set_new(src->said, msg,
						    json_true());
				pr_info("ovn: %s", msg);
			}
			continue;
		}
		if (att && have_state)
			mdr_state_get_next_hop(&st, k.ids[att - k.atts], &hop);
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
		    wanted_iface(&p, att->ifname))
			continue;
		if (!mdr_detach(att->ifname, ""))
			pr_info("ovn: detached '%s' (instance %s): no longer "
				"bound here or plugged",
				att->ifname, att->instance_id);
	}
	src->status.last_sync = time(NULL);
out:
	free(update);
	free(reqs);
	free(p.w);
	free(k.ids);
	free(k.atts);
}

/* ---- the Southbound's conditions ---- */

static const char *system_id(const struct mdr_ovn_source *src)
{
	const json_t *rows = mdr_ovsdb_rows(src->local.c, "Open_vSwitch");
	const char *key, *id;
	const json_t *row;

	json_object_foreach((json_t *)rows, key, row)
	{
		id = column_map(row, "external_ids", "system-id");
		if (id && id[0])
			return id;
	}
	return NULL;
}

static const char *chassis_uuid(const struct mdr_ovn_source *src,
				const char *sysid)
{
	const json_t *rows = mdr_ovsdb_rows(src->sb.c, "Chassis");
	const char *uuid;
	const json_t *row;

	json_object_foreach((json_t *)rows, uuid,
			    row) if (!strcmp(column_string(row, "name"),
					     sysid)) return uuid;
	return NULL;
}

/*
 * Points the Southbound monitors at our chassis: its Chassis row by name,
 * then the bindings by its uuid. A change takes a new session (the
 * replica keeps it to what really changed). Returns whether to reconnect.
 */
static bool update_conditions(struct mdr_ovn_source *src)
{
	const char *sysid = system_id(src), *uuid;
	json_t *chassis_where, *pb_where;
	int err;

	if (!sysid || strlen(sysid) >= sizeof(src->cond_system_id))
		return false;
	uuid = chassis_uuid(src, sysid);
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
	const char *remote =
		d->remotes[(d->next + d->n_remotes - 1) % d->n_remotes];

	d->backoff_ms = mdr_ovsdb_backoff(d->backoff_ms);
	d->retry_at = now_ms() + d->backoff_ms;
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
	const char *remote = d->remotes[d->next];

	d->next = (d->next + 1) % d->n_remotes;
	if (mdr_ovsdb_connect(d->c, remote))
		db_lost(d, false);
}

/* Steps @d's connection with @revents; false if it was lost. */
static void db_run(struct db *d, short revents)
{
	bool was = mdr_ovsdb_connected(d->c);

	if (mdr_ovsdb_fd(d->c) < 0) {
		if (now_ms() >= d->retry_at)
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
				d->what,
				d->remotes[(d->next + d->n_remotes - 1) %
					   d->n_remotes]);
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
	src->cfg = *cfg;
	src->said = json_object();
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
	wait = d->retry_at - now_ms();
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
		long long wait = src->retry_sync_at - now_ms();

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
	if (src->retry_sync_at && now_ms() >= src->retry_sync_at) {
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
