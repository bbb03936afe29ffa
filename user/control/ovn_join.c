// SPDX-License-Identifier: GPL-2.0-only
/* The ovn source's join (ovn_join.h): rows in, attachments out. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ovn_join.h"
#include "lib/values.h"

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

/* ---- addresses ---- */

/* "MAC IP IP..." into @req's --mac and --ip; false if it is not that. */
static bool parse_addresses(const char *addrs, struct mdr_attach_request *req)
{
	char buf[1024], *tok, *save = NULL;

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

/* The addresses of Port_Binding @pb (its mac column) into @req. */
static void binding_addresses(const json_t *pb, struct mdr_attach_request *req)
{
	const json_t *mac = set_elem(json_object_get(pb, "mac"), 0);

	parse_addresses(json_string_value(mac) ?: "", req);
}

/* The first IPv4 of @req's --ip, or 0. */
static __be32 first_ip4(const struct mdr_attach_request *req)
{
	__be32 ip = 0;

	for (size_t i = 0; i < req->n_fixed_ips && !ip; i++)
		if (req->fixed_ips[i].family == AF_INET)
			memcpy(&ip, req->fixed_ips[i].addr, 4);
	return ip;
}

/* The network id of datapath @uuid (neutron-<id>), or NULL. */
static const char *network_of(const struct mdr_ovn_rows *rows,
			      const json_t *datapath)
{
	const char *uuid = json_string_value(json_array_get(datapath, 1));
	const json_t *row;
	const char *name;

	row = uuid ? json_object_get(rows->datapaths, uuid) : NULL;
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
 * IPv4; 0: any) among @localport's neutron:cidrs, or 0. Without
 * neutron:cidrs (a deployer other than Neutron), no prefix is known: the
 * first IPv4 of its addresses.
 */
static __be32 metadata_ip_for(const json_t *localport, __be32 guest)
{
	const char *cidrs =
		column_map(localport, "external_ids", "neutron:cidrs");
	struct mdr_attach_request addrs = { 0 };
	char buf[1024], *tok, *save = NULL;
	__be32 first = 0;

	if (!cidrs) {
		binding_addresses(localport, &addrs);
		return first_ip4(&addrs);
	}
	snprintf(buf, sizeof(buf), "%s", cidrs);
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
			   const struct mdr_attach_request *req)
{
	const char *uuid = json_string_value(json_array_get(datapath, 1));
	__be32 guest = first_ip4(req), ip;
	const json_t *ports, *row;
	size_t i;

	ports = uuid ? json_object_get(metadata_ports, uuid) : NULL;
	json_array_foreach(ports, i, row)
	{
		ip = metadata_ip_for(row, guest);
		if (ip)
			return ip;
	}
	return 0;
}

/* ---- the join ---- */

/* Each network's metadata port (type localport): {datapath: [rows]}. */
static json_t *metadata_ports(const json_t *port_bindings)
{
	json_t *by_dp = json_object(), *list;
	const char *key, *dp;
	const json_t *row;

	json_object_foreach((json_t *)port_bindings, key, row)
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
static json_t *interfaces_by_port(const json_t *interfaces)
{
	json_t *by_port = json_object();
	const char *key;
	const json_t *row;

	json_object_foreach((json_t *)interfaces, key, row)
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
 * rows->refused() says why).
 */
static bool want_binding(const struct mdr_ovn_rows *rows, const json_t *pb,
			 const json_t *ifaces, const json_t *meta,
			 struct mdr_ovn_want *w)
{
	const char *port = column_string(pb, "logical_port");
	const char *chassis = rows->chassis;
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
	if (!name[0] || strlen(name) >= IF_NAMESIZE ||
	    !rows->tap_exists(name, rows->ctx))
		return false; /* not plugged, or no tap (yet) */

	device = column_map(pb, "external_ids", "neutron:device_id");
	project = column_map(pb, "external_ids", "neutron:project_id");
	network = network_of(rows, datapath);
	vm = column_map(iface, "external_ids", "vm-uuid");
	vm = vm ? vm : column_map(iface, "external_ids", "vm-id");
	if (!device || mdr_parse_id(device) || !project ||
	    mdr_parse_id(project) || !network) {
		snprintf(msg, sizeof(msg),
			 "port %.64s (tap '%s') has no valid "
			 "neutron:device_id, neutron:project_id or "
			 "neutron-<network> datapath: not attached",
			 port, name);
		rows->refused(msg, rows->ctx);
		return false;
	}
	/* The tap's VM (written by Nova's side on this host) and the
	 * binding's instance must agree: a guest is served as nothing else. */
	if (vm && strcmp(vm, device)) {
		snprintf(msg, sizeof(msg),
			 "tap '%s' belongs to VM %.64s but port %.64s to "
			 "instance %.64s: not attached",
			 name, vm, port, device);
		rows->refused(msg, rows->ctx);
		return false;
	}
	memset(w, 0, sizeof(*w));
	snprintf(w->ifname, sizeof(w->ifname), "%s", name);
	snprintf(w->network_id, sizeof(w->network_id), "%s", network);
	snprintf(w->instance_id, sizeof(w->instance_id), "%s", device);
	snprintf(w->project_id, sizeof(w->project_id), "%s", project);
	/* Port security off ("unknown" addresses): no anti-spoofing. */
	binding_addresses(pb, &w->req);
	w->req.next_hop4 = next_hop_for(meta, datapath, &w->req);
	return true;
}

int mdr_ovn_plan(const struct mdr_ovn_rows *rows, struct mdr_ovn_plan *p)
{
	json_t *ifaces = interfaces_by_port(rows->interfaces);
	json_t *meta = metadata_ports(rows->port_bindings);
	const char *key;
	const json_t *pb;

	p->n = 0;
	p->w = calloc(json_object_size(rows->port_bindings) + 1, sizeof(*p->w));
	if (!ifaces || !meta || !p->w) {
		json_decref(ifaces);
		json_decref(meta);
		free(p->w);
		p->w = NULL;
		return -ENOMEM;
	}
	json_object_foreach((json_t *)rows->port_bindings, key, pb)
	{
		struct mdr_ovn_want *w = &p->w[p->n];

		if (!want_binding(rows, pb, ifaces, meta, w))
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

/* ---- our chassis ---- */

const char *mdr_ovn_system_id(const json_t *open_vswitch)
{
	const char *key, *id;
	const json_t *row;

	json_object_foreach((json_t *)open_vswitch, key, row)
	{
		id = column_map(row, "external_ids", "system-id");
		if (id && id[0])
			return id;
	}
	return NULL;
}

const char *mdr_ovn_chassis_uuid(const json_t *chassis, const char *system_id)
{
	const char *uuid;
	const json_t *row;

	json_object_foreach((json_t *)chassis, uuid, row)
	{
		if (!strcmp(column_string(row, "name"), system_id))
			return uuid;
	}
	return NULL;
}
