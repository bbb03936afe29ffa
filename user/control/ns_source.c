// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/attach.h"
#include "control/ns_source.h"
#include "control/pinned_state.h"
#include "control/source.h"
#include "datapath/netns.h"
#include "lib/log.h"
#include "lib/values.h"

/* Neutron's namespaces, and the interfaces of each that serve guests. */
static const struct ns_kind {
	const char *prefix;    /* of the namespace's name */
	const char *ifaces[2]; /* prefixes of its interfaces */
	bool router;	       /* the id is a router's, else a network's */
} kinds[] = {
	/* The DHCP port: tap* under Open vSwitch, ns-* under Linux bridge. */
	{ "qdhcp-", { "tap", "ns-" }, false },
	/* The router's internal ports (not qg-, its gateway). */
	{ "qrouter-", { "qr-", NULL }, true },
};

struct ns_entry {
	char name[MDR_NETNS_LEN];
	const struct ns_kind *kind;
	ino_t ino;  /* of /run/netns/NAME: a new namespace of an old name */
	bool seen;  /* at the last scan of /run/netns */
	bool dirty; /* to sync: new, or its links changed */
	int nsid;   /* its id in the proxy namespace */
};

struct mdr_ns_source {
	const char *proxy_netns;
	struct ns_entry *ns;
	size_t n, cap;
	struct mdr_source_status status; /* for `stats` */
};

struct mdr_ns_source *mdr_ns_source_new(const char *proxy_netns)
{
	struct mdr_ns_source *src = calloc(1, sizeof(*src));

	if (src)
		src->proxy_netns = proxy_netns;
	return src;
}

void mdr_ns_source_free(struct mdr_ns_source *src)
{
	if (!src)
		return;
	mdr_source_status_remove(MDR_SOURCE_NEUTRON_NS);
	free(src->ns);
	free(src);
}

static const struct ns_kind *kind_of(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (!strncmp(name, kinds[i].prefix, n) &&
		    !mdr_parse_id(name + n))
			return &kinds[i];
	}
	return NULL;
}

static struct ns_entry *find(struct mdr_ns_source *src, const char *name)
{
	for (size_t i = 0; i < src->n; i++)
		if (!strcmp(src->ns[i].name, name))
			return &src->ns[i];
	return NULL;
}

/* One name under /run/netns: a Neutron namespace to follow, or not. */
static int visit(const char *name, void *data)
{
	struct mdr_ns_source *src = data;
	const struct ns_kind *kind = kind_of(name);
	struct ns_entry *e;
	ino_t ino;
	int nsid;

	if (!kind || strlen(name) >= MDR_NETNS_LEN)
		return 0;
	ino = mdr_netns_ino(name);
	if (ino == (ino_t)-1)
		return 0;
	e = find(src, name);
	if (e && e->ino == ino) {
		e->seen = true;
		return 0;
	}
	/* New: its link events must reach us before we look, so that an
	 * interface added in between is not missed. */
	nsid = mdr_netns_id_in(src->proxy_netns, name);
	if (nsid < 0)
		return 0; /* not mounted yet, or gone: the next scan retries */
	if (!e) {
		if (src->n == src->cap) {
			size_t cap = src->cap ? 2 * src->cap : 64;
			struct ns_entry *ns =
				realloc(src->ns, cap * sizeof(*ns));

			if (!ns)
				return 0;
			src->ns = ns;
			src->cap = cap;
		}
		e = &src->ns[src->n++];
		snprintf(e->name, sizeof(e->name), "%s", name);
	}
	e->kind = kind;
	e->ino = ino;
	e->nsid = nsid;
	e->seen = true;
	e->dirty = true;
	return 0;
}

/* What is attached in the namespaces to sync, for sync() to compare. */
struct known {
	struct mdr_ns_source *src;
	struct mdr_attachment *atts;
	size_t n;
};

static int collect(__u32 id, const struct mdr_attachment *att, void *data)
{
	struct known *k = data;
	struct ns_entry *e = find(k->src, att->netns);

	(void)id;
	if (e && e->dirty && k->n < MDR_MAX_ATTACH)
		k->atts[k->n++] = *att;
	return 0;
}

static const struct mdr_attachment *
known_iface(const struct known *k, const char *netns, const char *ifname)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->atts[i].netns, netns) &&
		    !strcmp(k->atts[i].ifname, ifname))
			return &k->atts[i];
	return NULL;
}

static bool serves_guests(const struct ns_kind *kind, const char *ifname)
{
	for (size_t i = 0; i < 2 && kind->ifaces[i]; i++)
		if (!strncmp(ifname, kind->ifaces[i], strlen(kind->ifaces[i])))
			return true;
	return false;
}

/* The requests for namespace @e's interfaces that are not attached as
 * they should be; how many were added to @reqs (room for @room). */
static size_t wanted(const struct ns_entry *e, const struct known *k,
		     struct mdr_attach_request *reqs,
		     char (*names)[IF_NAMESIZE], size_t room)
{
	const char *id = e->name + strlen(e->kind->prefix);
	struct mdr_netns_saved saved;
	struct if_nameindex *ifs;
	size_t n = 0;

	if (mdr_netns_enter(e->name, &saved))
		return 0;
	ifs = if_nameindex();
	mdr_netns_leave(&saved);
	for (size_t i = 0; ifs && ifs[i].if_index && n < room; i++) {
		const char *ifname = ifs[i].if_name;
		const struct mdr_attachment *att;

		if (!serves_guests(e->kind, ifname) ||
		    strlen(ifname) >= IF_NAMESIZE)
			continue;
		att = known_iface(k, e->name, ifname);
		if (att && att->source == MDR_SOURCE_CLI) {
			pr_info("'%s' in %s was attached by hand: the "
				"neutron-namespaces source leaves it alone",
				ifname, e->name);
			continue;
		}
		if (att && att->source == MDR_SOURCE_NEUTRON_NS &&
		    !strcmp(e->kind->router ? att->router_id : att->network_id,
			    id))
			continue; /* attached as it should be */
		snprintf(names[n], IF_NAMESIZE, "%s", ifname);
		reqs[n] = (struct mdr_attach_request){
			.ifname = names[n],
			.netns = e->name,
			.network_id = e->kind->router ? "" : id,
			.router_id = e->kind->router ? id : "",
			.instance_id = "",
			.project_id = "",
			.source = MDR_SOURCE_NEUTRON_NS,
		};
		n++;
	}
	if_freenameindex(ifs);
	return n;
}

static void attach_all(struct mdr_ns_source *src,
		       struct mdr_attach_request *reqs, size_t n)
{
	struct mdr_source_status *status = &src->status;
	uint32_t *ids = calloc(n, sizeof(*ids));

	if (!ids)
		return;
	status->errors += mdr_attach_each(reqs, n, ids, status->last_error,
					  sizeof(status->last_error));
	for (size_t i = 0; i < n; i++)
		if (ids[i])
			pr_info("attached '%s' in %s (%s %s)", reqs[i].ifname,
				reqs[i].netns,
				reqs[i].router_id[0] ? "router" : "network",
				reqs[i].router_id[0] ? reqs[i].router_id
						     : reqs[i].network_id);
	free(ids);
}

/* Attaches what the dirty namespaces have and we have not. */
static void sync(struct mdr_ns_source *src)
{
	struct known k = { .src = src };
	struct mdr_attach_request *reqs = NULL;
	char(*names)[IF_NAMESIZE] = NULL;
	struct mdr_state st;
	size_t n = 0;

	k.atts = malloc(MDR_MAX_ATTACH * sizeof(*k.atts));
	reqs = calloc(MDR_MAX_ATTACH, sizeof(*reqs));
	names = calloc(MDR_MAX_ATTACH, sizeof(*names));
	if (!k.atts || !reqs || !names)
		goto out;
	/* Nothing pinned yet (a fresh host) is nothing attached. */
	if (!mdr_state_open(&st, MDR_STATE_READ)) {
		mdr_state_for_each_attachment(&st, collect, &k);
		mdr_state_close(&st);
	}
	for (size_t i = 0; i < src->n; i++) {
		if (!src->ns[i].dirty)
			continue;
		src->ns[i].dirty = false;
		n += wanted(&src->ns[i], &k, reqs + n, names + n,
			    MDR_MAX_ATTACH - n);
	}
	if (n)
		attach_all(src, reqs, n);
out:
	free(names);
	free(reqs);
	free(k.atts);
}

void mdr_ns_source_scan(struct mdr_ns_source *src, bool everything)
{
	bool dirty = false;
	int err;

	for (size_t i = 0; i < src->n; i++) {
		src->ns[i].seen = false;
		src->ns[i].dirty |= everything;
	}
	err = mdr_netns_for_each(visit, src);
	if (err && src->status.connected)
		snprintf(src->status.last_error, sizeof(src->status.last_error),
			 "cannot read %s: %s", MDR_NETNS_RUN_DIR,
			 strerror(-err));
	src->status.connected = !err;
	if (err) {
		/* A namespace we cannot see is not gone: keep them all. */
		mdr_source_status_write(MDR_SOURCE_NEUTRON_NS, &src->status);
		return;
	}
	/* Gone namespaces: the watcher detaches what was attached there. */
	for (size_t i = src->n; i-- > 0;) {
		if (!src->ns[i].seen)
			src->ns[i] = src->ns[--src->n];
		else
			dirty |= src->ns[i].dirty;
	}
	if (dirty)
		sync(src);
	if (dirty || everything) {
		src->status.synced |= everything;
		src->status.last_sync = time(NULL);
		mdr_source_status_write(MDR_SOURCE_NEUTRON_NS, &src->status);
	}
}

void mdr_ns_source_link_event(struct mdr_ns_source *src, int nsid)
{
	for (size_t i = 0; i < src->n; i++)
		if (src->ns[i].nsid == nsid)
			src->ns[i].dirty = true;
}
