// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ovn source's join on recorded rows: which bindings become which
 * attach requests (ifname, ids, --mac, --ip, next hop), which are refused
 * and with what words, and rows of every wrong shape, which are never
 * served and never crash it.
 *
 * The rows are what ovsdb-server 3.1 answered a monitor_cond for the ovn
 * source's columns (their "initial" contents), after the harness of
 * tests/bats/ovn_helpers.bash made one Neutron network with its metadata
 * port, one VM port bound to compute-1 and its tap plugged as os-vif does:
 *	ovn_network NET 10.0.0.0/24 10.0.0.2 PROJECT
 *	ovn_port NET PORT fa:16:3e:11:22:33 10.0.0.5,fd00::5 DEVICE PROJECT
 *	ovn_bind PORT; ovs_plug TAP PORT fa:16:3e:11:22:33 DEVICE
 * Each test changes what it is about in a copy of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "control/ovn_join.h"
#include "lib/values.h"

#define OURS	"2600bb3b-b697-4339-ab12-ab15a436e4a3" /* compute-1 */
#define OTHER	"6b39dcb2-ce5d-4070-983d-1074843654a8" /* other */
#define DP	"212255b5-85a6-403e-9dc1-bf2075ebcd13"
#define NET	"3f6a2c1e-5b0d-4c1a-9e8f-1a2b3c4d5e6f"
#define DEVICE	"8c2f1e4a-6b3d-4e5f-9a0b-1c2d3e4f5a6b"
#define PROJECT "9a8b7c6d5e4f40318a2b3c4d5e6f7081"
#define PORT	"7d1e0f52-3c4b-4a5d-8e6f-0a1b2c3d4e5f"
#define TAP	"tap7d1e0f52-3c"
#define PB_VM	"54d9f838-ce5d-46f0-b4f8-9673685732f8"
#define PB_META "3f7d95c2-1c6e-4b07-ba75-aaf7b5bf401e"
#define IF_TAP	"38ee1bf5-df7d-48e4-a195-1ed160f7f316"

/* What the base rows ask for. */
#define WANT_BASE                                               \
	TAP " net=" NET " instance=" DEVICE " project=" PROJECT \
	    " mac=fa:16:3e:11:22:33 ip=10.0.0.5,fd00::5 via=10.0.0.2"

static const char open_vswitch_rows[] =
	"{\"a7bed536-2e80-472d-a6d5-86f352225c8f\":{\"external_ids\":[\"map\","
	"[[\"system-id\",\"compute-1\"]]]}}";

static const char chassis_rows[] = "{\"" OURS "\":{\"name\":\"compute-1\"},"
				   "\"" OTHER "\":{\"name\":\"other\"}}";

static const char interface_rows[] =
	"{\"" IF_TAP "\":{\"external_ids\":[\"map\",[[\"attached-mac\","
	"\"fa:16:3e:11:22:33\"],[\"iface-id\",\"" PORT "\"],"
	"[\"iface-status\",\"active\"],[\"vm-uuid\",\"" DEVICE "\"]]],"
	"\"name\":\"" TAP "\"},"
	"\"8731617e-b0e5-4b26-a1da-a4d167045276\":{\"name\":\"br-int\"}}";

static const char datapath_rows[] =
	"{\"" DP "\":{\"external_ids\":[\"map\",[[\"logical-switch\","
	"\"3363e3bc-a90f-4b27-8896-d4de94bc5059\"],[\"name\",\"neutron-" NET
	"\"],[\"name2\",\"name-" NET "\"]]]}}";

/* Neutron's external_ids of a port, but for cidrs, device and owner. */
#define NEUTRON_IDS(cidrs, device, owner, mtu)                               \
	"[\"map\",[[\"neutron:cidrs\",\"" cidrs "\"],"                       \
	"[\"neutron:device_id\",\"" device "\"],"                            \
	"[\"neutron:device_owner\",\"" owner "\"],"                          \
	"[\"neutron:mtu\",\"" mtu "\"],"                                     \
	"[\"neutron:network_name\",\"neutron-" NET "\"],"                    \
	"[\"neutron:port_capabilities\",\"\"],[\"neutron:port_name\",\"\"]," \
	"[\"neutron:project_id\",\"" PROJECT "\"],"                          \
	"[\"neutron:revision_number\",\"1\"],"                               \
	"[\"neutron:security_group_ids\",\"\"],"                             \
	"[\"neutron:subnet_pool_addr_scope4\",\"\"],"                        \
	"[\"neutron:subnet_pool_addr_scope6\",\"\"],"                        \
	"[\"neutron:vnic_type\",\"normal\"]]]"

static const char port_binding_rows[] =
	"{\"" PB_META "\":{\"datapath\":[\"uuid\",\"" DP "\"],"
	"\"external_ids\":" NEUTRON_IDS(
		"10.0.0.2/24", "ovnmeta-" NET, "network:distributed",
		"1442") ","
			"\"logical_port\":\"meta-" NET "\","
			"\"mac\":\"fa:16:3e:00:00:02 10.0.0.2\",\"type\":\"localport\"},"
			"\"" PB_VM "\":{\"chassis\":[\"uuid\",\"" OURS "\"],"
			"\"datapath\":[\"uuid\",\"" DP "\"],"
			"\"external_ids\":" NEUTRON_IDS(
				"10.0.0.5/24 fd00::5/64", DEVICE,
				"compute:nova",
				"") ","
				    "\"logical_port\":\"" PORT "\","
				    "\"mac\":\"fa:16:3e:11:22:33 10.0.0.5 fd00::5\"}}";

/* The rows of one test, the taps that exist, and what the join said. */
struct fx {
	json_t *ifaces, *pbs, *dps;
	const char *taps[4]; /* NULL-terminated */
	const char *chassis;
	char refused[2048]; /* each message on a line */
	int n_refused;
	struct mdr_ovn_plan p;
};

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	if (!v)
		fprintf(stderr, "bad fixture: %s: %s\n", err.text, text);
	CHECK(v != NULL);
	return v;
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->ifaces = load(interface_rows);
	f->pbs = load(port_binding_rows);
	f->dps = load(datapath_rows);
	f->taps[0] = TAP;
	f->chassis = OURS;
}

static void fx_free(struct fx *f)
{
	json_decref(f->ifaces);
	json_decref(f->pbs);
	json_decref(f->dps);
	free(f->p.w);
}

static bool tap_exists(const char *name, void *ctx)
{
	struct fx *f = ctx;

	for (size_t i = 0; f->taps[i]; i++)
		if (!strcmp(f->taps[i], name))
			return true;
	return false;
}

static void refused(const char *msg, void *ctx)
{
	struct fx *f = ctx;
	size_t n = strlen(f->refused);

	snprintf(f->refused + n, sizeof(f->refused) - n, "%s\n", msg);
	f->n_refused++;
}

/* Runs the join on @f's rows; how many attachments it asks for. */
static size_t fx_plan(struct fx *f)
{
	const struct mdr_ovn_rows rows = {
		.interfaces = f->ifaces,
		.port_bindings = f->pbs,
		.datapaths = f->dps,
		.chassis = f->chassis,
		.tap_exists = tap_exists,
		.refused = refused,
		.ctx = f,
	};

	free(f->p.w);
	f->refused[0] = '\0';
	f->n_refused = 0;
	CHECK_INT(mdr_ovn_plan(&rows, &f->p), 0);
	return f->p.n;
}

/*
 * Want @i of the last plan, as one line: "IFNAME net= instance= project=
 * mac= ip=A,B via=" ("-" for no MAC or no next hop). Checks on the way
 * that the request is one of the ovn source's for the host namespace.
 */
static const char *fx_want(const struct fx *f, size_t i)
{
	static char buf[1024];
	const struct mdr_ovn_want *w = &f->p.w[i];
	const struct mdr_attach_request *r = &w->req;
	char mac[18] = "-", ip[INET6_ADDRSTRLEN], via[INET_ADDRSTRLEN] = "-";
	size_t n;

	if (i >= f->p.n) {
		CHECK(i < f->p.n);
		return "(not wanted)";
	}
	CHECK(r->ifname == w->ifname && r->network_id == w->network_id &&
	      r->instance_id == w->instance_id &&
	      r->project_id == w->project_id);
	CHECK_STR(r->netns, "");
	CHECK_STR(r->router_id, "");
	CHECK_INT(r->source, MDR_SOURCE_OVN);
	CHECK(!r->xdp);
	if (r->has_vm_mac)
		mdr_format_mac(r->vm_mac, mac);
	if (r->next_hop4)
		inet_ntop(AF_INET, &r->next_hop4, via, sizeof(via));
	n = snprintf(buf, sizeof(buf),
		     "%s net=%s instance=%s project=%s mac=%s ip=", r->ifname,
		     r->network_id, r->instance_id, r->project_id, mac);
	if (!r->n_fixed_ips)
		n += snprintf(buf + n, sizeof(buf) - n, "-");
	for (unsigned int k = 0; k < r->n_fixed_ips; k++) {
		mdr_format_fixed_ip(&r->fixed_ips[k], ip, sizeof(ip));
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s", k ? "," : "",
			      ip);
	}
	snprintf(buf + n, sizeof(buf) - n, " via=%s", via);
	return buf;
}

static json_t *row(json_t *table, const char *uuid)
{
	json_t *r = json_object_get(table, uuid);

	CHECK(r != NULL);
	return r;
}

/* Sets @column of @r to JSON @value; NULL: absent (at its default). */
static void set_col(json_t *r, const char *column, const char *value)
{
	if (value)
		json_object_set_new(r, column, load(value));
	else
		json_object_del(r, column);
}

/* Sets @key of map column @column of @r to @value; NULL: removes it. */
static void set_key(json_t *r, const char *column, const char *key,
		    const char *value)
{
	json_t *pairs = json_array_get(json_object_get(r, column), 1), *pair;
	size_t i;

	CHECK(json_is_array(pairs));
	json_array_foreach(pairs, i, pair)
	{
		if (strcmp(json_string_value(json_array_get(pair, 0)), key))
			continue;
		if (value)
			json_array_set_new(pair, 1, json_string(value));
		else
			json_array_remove(pairs, i);
		return;
	}
	if (value)
		json_array_append_new(pairs, json_pack("[s, s]", key, value));
}

static json_t *vm_port(struct fx *f)
{
	return row(f->pbs, PB_VM);
}

static json_t *meta_port(struct fx *f)
{
	return row(f->pbs, PB_META);
}

static json_t *tap_iface(struct fx *f)
{
	return row(f->ifaces, IF_TAP);
}

static void test_bound_here(void)
{
	struct fx f;

	fx_init(&f);
	CHECK_INT(fx_plan(&f), 1);
	CHECK_STR(fx_want(&f, 0), WANT_BASE);
	CHECK_INT(f.n_refused, 0);
	/* The bindings as Neutron and os-vif leave them, on another host. */
	f.chassis = OTHER;
	CHECK_INT(fx_plan(&f), 0);
	CHECK_INT(f.n_refused, 0);
	fx_free(&f);
}

static void test_chassis(void)
{
	struct fx f;

	fx_init(&f);
	/* Migrating here: the source host keeps chassis meanwhile. */
	set_col(vm_port(&f), "chassis", "[\"uuid\",\"" OTHER "\"]");
	set_col(vm_port(&f), "additional_chassis", "[\"uuid\",\"" OURS "\"]");
	CHECK_INT(fx_plan(&f), 1);
	CHECK_STR(fx_want(&f, 0), WANT_BASE);
	set_col(vm_port(&f), "additional_chassis",
		"[\"set\",[[\"uuid\",\"" OTHER "\"],[\"uuid\",\"" OURS "\"]]]");
	CHECK_INT(fx_plan(&f), 1);
	set_col(vm_port(&f), "chassis", NULL);
	CHECK_INT(fx_plan(&f), 1);
	/* Bound elsewhere, or nowhere. */
	set_col(vm_port(&f), "additional_chassis", NULL);
	CHECK_INT(fx_plan(&f), 0);
	set_col(vm_port(&f), "chassis", "[\"uuid\",\"" OTHER "\"]");
	CHECK_INT(fx_plan(&f), 0);
	set_col(vm_port(&f), "additional_chassis",
		"[\"set\",[[\"uuid\",\"" OTHER "\"]]]");
	CHECK_INT(fx_plan(&f), 0);
	CHECK_INT(f.n_refused, 0);
	fx_free(&f);
}

static void test_unplugged(void)
{
	struct fx f;

	fx_init(&f);
	/* No Interface for the port (not plugged here yet). */
	set_key(tap_iface(&f), "external_ids", "iface-id", "another-port");
	CHECK_INT(fx_plan(&f), 0);
	set_key(tap_iface(&f), "external_ids", "iface-id", NULL);
	CHECK_INT(fx_plan(&f), 0);
	CHECK_INT(f.n_refused, 0);
	fx_free(&f);

	/* Plugged, but its tap is not (or no longer) in the namespace. */
	fx_init(&f);
	f.taps[0] = "tap-else";
	CHECK_INT(fx_plan(&f), 0);
	/* An Interface without a name, or one no interface can have. */
	f.taps[0] = TAP;
	set_col(tap_iface(&f), "name", NULL);
	CHECK_INT(fx_plan(&f), 0);
	set_col(tap_iface(&f), "name", "\"tap7d1e0f52-3c4b\"");
	f.taps[0] = "tap7d1e0f52-3c4b";
	CHECK_INT(fx_plan(&f), 0);
	CHECK_INT(f.n_refused, 0);
	fx_free(&f);
}

static void test_vm_of_tap(void)
{
	struct fx f;

	fx_init(&f);
	set_key(tap_iface(&f), "external_ids", "vm-uuid",
		"0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b");
	CHECK_INT(fx_plan(&f), 0);
	CHECK_STR(f.refused,
		  "tap '" TAP "' belongs to VM "
		  "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b but port " PORT
		  " to instance " DEVICE ": not attached\n");
	/* libvirt's vm-id, where os-vif's vm-uuid is not. */
	set_key(tap_iface(&f), "external_ids", "vm-uuid", NULL);
	set_key(tap_iface(&f), "external_ids", "vm-id", DEVICE);
	CHECK_INT(fx_plan(&f), 1);
	CHECK_STR(fx_want(&f, 0), WANT_BASE);
	set_key(tap_iface(&f), "external_ids", "vm-id", "another-vm");
	CHECK_INT(fx_plan(&f), 0);
	CHECK_STR(f.refused,
		  "tap '" TAP "' belongs to VM another-vm but port " PORT
		  " to instance " DEVICE ": not attached\n");
	/* vm-uuid, when both are there. */
	set_key(tap_iface(&f), "external_ids", "vm-uuid", DEVICE);
	CHECK_INT(fx_plan(&f), 1);
	/* Nothing says: the binding's word. */
	set_key(tap_iface(&f), "external_ids", "vm-uuid", NULL);
	set_key(tap_iface(&f), "external_ids", "vm-id", NULL);
	CHECK_INT(fx_plan(&f), 1);
	CHECK_STR(fx_want(&f, 0), WANT_BASE);
	CHECK_INT(f.n_refused, 0);
	fx_free(&f);
}

static void test_ids(void)
{
	static const char why[] =
		"port " PORT " (tap '" TAP "') has no valid neutron:device_id, "
		"neutron:project_id or neutron-<network> datapath: not "
		"attached\n";
	/* What each case changes: a key of the binding's external_ids, of
	 * the datapath's, or the binding's datapath column. */
	static const struct {
		char what; /* 'p' binding key, 'd' datapath key, 'c' column */
		const char *key, *value;
	} cases[] = {
		{ 'p', "neutron:device_id", NULL },
		{ 'p', "neutron:device_id", "" },
		{ 'p', "neutron:device_id", "8c2f1e4a 6b3d" },
		{ 'p', "neutron:device_id", "../../etc" },
		{ 'p', "neutron:project_id", NULL },
		{ 'p', "neutron:project_id", "a\r\nX-Injected: 1" },
		{ 'd', "name", NULL },
		{ 'd', "name", NET },
		{ 'd', "name", "neutron-" },
		{ 'd', "name", "neutron-net 1" },
		{ 'd', "name", "ovn-" NET },
		{ 'c', "datapath", NULL },
		{ 'c', "datapath",
		  "[\"uuid\",\"0a0a0a0a-0000-4000-8000-"
		  "000000000000\"]" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;

		fx_init(&f);
		if (cases[i].what == 'p')
			set_key(vm_port(&f), "external_ids", cases[i].key,
				cases[i].value);
		else if (cases[i].what == 'd')
			set_key(row(f.dps, DP), "external_ids", cases[i].key,
				cases[i].value);
		else
			set_col(vm_port(&f), cases[i].key, cases[i].value);
		CHECK_INT(fx_plan(&f), 0);
		CHECK_INT(f.n_refused, 1);
		CHECK_STR(f.refused, why);
		fx_free(&f);
	}
}

static void test_port_types(void)
{
	static const char *const types[] = {
		"\"localport\"", "\"router\"",		"\"virtual\"",
		"\"external\"",	 "\"localnet\"",	"\"l2gateway\"",
		"\"l3gateway\"", "\"chassisredirect\"", "\"patch\"",
		"\"vtep\"",	 "\"remote\"",
	};
	struct fx f;

	fx_init(&f);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		set_col(vm_port(&f), "type", types[i]);
		CHECK_INT(fx_plan(&f), 0);
	}
	/* The metadata port bound here and plugged is still not a VM's. */
	set_col(meta_port(&f), "chassis", "[\"uuid\",\"" OURS "\"]");
	set_key(tap_iface(&f), "external_ids", "iface-id", "meta-" NET);
	CHECK_INT(fx_plan(&f), 0);
	CHECK_INT(f.n_refused, 0);
	fx_free(&f);
}

static void test_addresses(void)
{
	struct fx f;

	fx_init(&f);
	/* Port security off: no anti-spoofing, and the next hop of any
	 * guest (the metadata port's first IPv4). */
	set_col(vm_port(&f), "mac", "\"unknown\"");
	CHECK_INT(fx_plan(&f), 1);
	CHECK_STR(fx_want(&f, 0),
		  TAP " net=" NET " instance=" DEVICE " project=" PROJECT
		      " mac=- ip=- via=10.0.0.2");
	set_col(vm_port(&f), "mac", NULL);
	CHECK_INT(fx_plan(&f), 1);
	CHECK_STR(fx_want(&f, 0),
		  TAP " net=" NET " instance=" DEVICE " project=" PROJECT
		      " mac=- ip=- via=10.0.0.2");
	/* A MAC alone. */
	set_col(vm_port(&f), "mac", "\"fa:16:3e:11:22:33\"");
	CHECK_INT(fx_plan(&f), 1);
	CHECK_STR(fx_want(&f, 0),
		  TAP " net=" NET " instance=" DEVICE " project=" PROJECT
		      " mac=fa:16:3e:11:22:33 ip=- via=10.0.0.2");
	/* A set of addresses: the first. */
	set_col(vm_port(&f), "mac",
		"[\"set\",[\"fa:16:3e:11:22:33 10.0.0.5 fd00::5\","
		"\"unknown\"]]");
	CHECK_INT(fx_plan(&f), 1);
	CHECK_STR(fx_want(&f, 0), WANT_BASE);
	/* More than an attachment holds: the first MDR_MAX_FIXED_IPS, the
	 * invalid ones skipped. */
	set_col(vm_port(&f), "mac",
		"\"fa:16:3e:11:22:33 10.0.0.5 fd00::5 bogus 10.0.0.6 10.0.0.7 "
		"fd00::6 10.0.0.8 fd00::7 10.0.0.9 10.0.0.10 10.0.0.11\"");
	CHECK_INT(fx_plan(&f), 1);
	CHECK_INT(MDR_MAX_FIXED_IPS, 8);
	CHECK_STR(fx_want(&f, 0), TAP
		  " net=" NET " instance=" DEVICE " project=" PROJECT
		  " mac=fa:16:3e:11:22:33 ip=10.0.0.5,fd00::5,10.0.0.6,"
		  "10.0.0.7,fd00::6,10.0.0.8,fd00::7,10.0.0.9 via=10.0.0.2");
	CHECK_INT(f.n_refused, 0);
	fx_free(&f);
}

/* The next hop the join gives the base binding, once @f is changed. */
static const char *via(struct fx *f)
{
	const char *w;

	if (fx_plan(f) != 1)
		return "(not wanted)";
	w = fx_want(f, 0);
	return strstr(w, " via=") + 5;
}

static void test_next_hop(void)
{
	struct fx f;

	fx_init(&f);
	CHECK_STR(via(&f), "10.0.0.2");
	/* Two subnets: the guest's subnet's address, whichever comes first. */
	set_key(meta_port(&f), "external_ids", "neutron:cidrs",
		"10.1.0.2/24 fd00::2/64 10.0.0.3/24");
	CHECK_STR(via(&f), "10.0.0.3");
	set_col(vm_port(&f), "mac", "\"fa:16:3e:11:22:33 fd00::5 10.1.0.7\"");
	CHECK_STR(via(&f), "10.1.0.2");
	/* A guest without IPv4: the first IPv4 of them. */
	set_col(vm_port(&f), "mac", "\"fa:16:3e:11:22:33 fd00::5\"");
	CHECK_STR(via(&f), "10.1.0.2");
	/* None on the guest's subnet: no next hop. */
	set_col(vm_port(&f), "mac", "\"fa:16:3e:11:22:33 10.2.0.7\"");
	CHECK_STR(via(&f), "-");
	set_key(meta_port(&f), "external_ids", "neutron:cidrs", "fd00::2/64");
	set_col(vm_port(&f), "mac", "\"fa:16:3e:11:22:33 fd00::5\"");
	CHECK_STR(via(&f), "-");
	fx_free(&f);

	/* A metadata port on another network's datapath is not ours. */
	fx_init(&f);
	set_col(meta_port(&f), "datapath",
		"[\"uuid\",\"0a0a0a0a-0000-4000-8000-000000000000\"]");
	CHECK_STR(via(&f), "-");
	set_col(meta_port(&f), "datapath", NULL);
	CHECK_STR(via(&f), "-");
	/* Nor one that is not a localport. */
	set_col(meta_port(&f), "datapath", "[\"uuid\",\"" DP "\"]");
	set_col(meta_port(&f), "type", NULL);
	CHECK_STR(via(&f), "-");
	fx_free(&f);

	/* No neutron:cidrs (not Neutron's): the first IPv4 of its
	 * addresses, whatever the guest's subnet (no prefix is known). */
	fx_init(&f);
	set_key(meta_port(&f), "external_ids", "neutron:cidrs", NULL);
	CHECK_STR(via(&f), "10.0.0.2");
	set_col(meta_port(&f), "mac",
		"\"fa:16:3e:00:00:02 fd00::2 10.9.0.3 10.0.0.2\"");
	CHECK_STR(via(&f), "10.9.0.3");
	set_col(meta_port(&f), "mac", "\"fa:16:3e:00:00:02 fd00::2\"");
	CHECK_STR(via(&f), "-");
	set_col(meta_port(&f), "mac", "\"unknown\"");
	CHECK_STR(via(&f), "-");
	set_col(meta_port(&f), "mac", NULL);
	CHECK_STR(via(&f), "-");
	CHECK_INT(f.n_refused, 0);
	fx_free(&f);
}

static void test_our_chassis(void)
{
	json_t *ovs = load(open_vswitch_rows), *chassis = load(chassis_rows);
	const char *id = mdr_ovn_system_id(ovs);

	CHECK(id && !strcmp(id, "compute-1"));
	id = mdr_ovn_chassis_uuid(chassis, "compute-1");
	CHECK(id && !strcmp(id, OURS));
	id = mdr_ovn_chassis_uuid(chassis, "other");
	CHECK(id && !strcmp(id, OTHER));
	CHECK(!mdr_ovn_chassis_uuid(chassis, "compute-2"));
	CHECK(!mdr_ovn_chassis_uuid(NULL, "compute-1"));
	/* No system-id (yet), or an empty one: no chassis. */
	set_key(row(ovs, "a7bed536-2e80-472d-a6d5-86f352225c8f"),
		"external_ids", "system-id", "");
	CHECK(!mdr_ovn_system_id(ovs));
	set_col(row(ovs, "a7bed536-2e80-472d-a6d5-86f352225c8f"),
		"external_ids", NULL);
	CHECK(!mdr_ovn_system_id(ovs));
	CHECK(!mdr_ovn_system_id(NULL));
	json_decref(ovs);
	json_decref(chassis);
}

static void test_malformed(void)
{
	/* One column of one row of the wrong shape, and whether the
	 * binding is still served (a column of the wrong type is read as
	 * at its default, as an absent one is). */
	static const struct {
		char table; /* 'p' binding, 'm' metadata port, 'i' Interface,
			     * 'd' Datapath_Binding */
		const char *column, *value;
		int wanted;
	} cases[] = {
		{ 'p', "logical_port", "7", 0 },
		{ 'p', "logical_port", "[\"set\",[\"" PORT "\"]]", 0 },
		{ 'p', "type", "5", 1 },
		{ 'p', "chassis", "\"" OURS "\"", 0 },
		{ 'p', "chassis", "{\"uuid\":\"" OURS "\"}", 0 },
		{ 'p', "chassis", "[\"uuid\"]", 0 },
		{ 'p', "chassis", "[\"uuid\",5]", 0 },
		{ 'p', "chassis", "[\"set\"]", 0 },
		{ 'p', "chassis", "[\"set\",5]", 0 },
		{ 'p', "chassis", "[\"set\",[5,[],{}]]", 0 },
		{ 'p', "chassis", "[]", 0 },
		{ 'p', "additional_chassis",
		  "[\"map\",[[\"uuid\",\"" OURS "\"]]]", 1 },
		{ 'p', "external_ids", "{\"neutron:device_id\":\"" DEVICE "\"}",
		  0 },
		{ 'p', "external_ids", "[\"map\"]", 0 },
		{ 'p', "external_ids", "[\"map\",5]", 0 },
		{ 'p', "external_ids", "[\"map\",[[\"neutron:device_id\"]]]",
		  0 },
		{ 'p', "external_ids", "[\"map\",[[1,2],[],5,\"x\"]]", 0 },
		{ 'p', "external_ids", "[5,[]]", 0 },
		{ 'p', "datapath", "\"" DP "\"", 0 },
		{ 'p', "datapath", "[\"uuid\",5]", 0 },
		{ 'p', "datapath", "[\"uuid\"]", 0 },
		{ 'p', "mac", "5", 1 },
		{ 'p', "mac", "[\"set\",5]", 1 },
		{ 'p', "mac", "[\"set\",[5]]", 1 },
		{ 'p', "mac", "{\"mac\":\"fa:16:3e:11:22:33\"}", 1 },
		{ 'm', "type", "[\"localport\"]", 1 },
		{ 'm', "datapath", "{}", 1 },
		{ 'm', "external_ids", "[\"map\",[[\"neutron:cidrs\",5]]]", 1 },
		{ 'm', "mac", "[\"set\",[[],{}]]", 1 },
		{ 'i', "name", "5", 0 },
		{ 'i', "name", "[\"set\",[\"" TAP "\"]]", 0 },
		{ 'i', "external_ids", "{\"iface-id\":\"" PORT "\"}", 0 },
		{ 'i', "external_ids", "[\"map\",[[\"iface-id\",5]]]", 0 },
		{ 'i', "external_ids",
		  "[\"map\",[[\"iface-id\",\"" PORT "\"],[\"vm-uuid\",5]]]",
		  1 },
		{ 'd', "external_ids", "{\"name\":\"neutron-" NET "\"}", 0 },
		{ 'd', "external_ids", "[\"map\",[[\"name\",5]]]", 0 },
		{ 'd', "external_ids", "\"neutron-" NET "\"", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		json_t *r;

		fx_init(&f);
		r = cases[i].table == 'p'   ? vm_port(&f)
		    : cases[i].table == 'm' ? meta_port(&f)
		    : cases[i].table == 'i' ? tap_iface(&f)
					    : row(f.dps, DP);
		set_col(r, cases[i].column, cases[i].value);
		if ((fx_plan(&f) == 1) != cases[i].wanted)
			fprintf(stderr, "case %zu: %c %s = %s\n", i,
				cases[i].table, cases[i].column,
				cases[i].value);
		CHECK_INT(f.p.n, cases[i].wanted);
		fx_free(&f);
	}
}

/* Tables and rows that are not objects at all. */
static void test_malformed_tables(void)
{
	static const char *const shapes[] = {
		"5",	     "\"x\"",	      "[]",	      "[{}]", "null",
		"{\"u\":5}", "{\"u\":[1,2]}", "{\"u\":\"r\"}"
	};

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct fx f;

		fx_init(&f);
		json_decref(f.pbs);
		f.pbs = load(shapes[i]);
		CHECK_INT(fx_plan(&f), 0);
		fx_free(&f);

		fx_init(&f);
		json_decref(f.ifaces);
		f.ifaces = load(shapes[i]);
		CHECK_INT(fx_plan(&f), 0);
		CHECK_INT(f.n_refused, 0);
		CHECK(!mdr_ovn_system_id(f.ifaces));
		CHECK(!mdr_ovn_chassis_uuid(f.ifaces, "compute-1"));
		fx_free(&f);

		/* The binding's network cannot be told: refused. */
		fx_init(&f);
		json_decref(f.dps);
		f.dps = load(shapes[i]);
		CHECK_INT(fx_plan(&f), 0);
		CHECK_INT(f.n_refused, 1);
		fx_free(&f);
	}
}

int main(void)
{
	test_bound_here();
	test_chassis();
	test_unplugged();
	test_vm_of_tap();
	test_ids();
	test_port_types();
	test_addresses();
	test_next_hop();
	test_our_chassis();
	test_malformed();
	test_malformed_tables();
	return check_summary();
}
