// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/attach.h"
#include "datapath/hooks.h"
#include "datapath/links.h"
#include "lib/idset.h"
#include "control/lock.h"
#include "lib/log.h"
#include "datapath/netlink.h"
#include "datapath/netns.h"
#include "control/pinned_state.h"
#include "control/source.h"
#include "service_addr.h"

static const char *ns_label(const char *netns)
{
	return mdr_netns_is_host(netns) ? "the host namespace" : netns;
}

/* What a batch of attaches shares: one lock, one state, ids read once. */
struct attach_batch {
	struct mdr_state st;
	struct mdr_config cfg;
	struct mdr_idset attach_ids;
	struct mdr_idset link_ids;
};

static int attach_ids(const struct mdr_state *st, const struct mdr_config *cfg,
		      struct mdr_idset *ids)
{
	uint32_t *in_use, limit;
	int n, err;

	/* Service address = pool + id: the pools bound the ids too. */
	limit = MDR_MAX_ATTACH;
	if (32 - cfg->pool_prefix < 13)
		limit = (1U << (32 - cfg->pool_prefix)) - 2;
	if (128 - cfg->pool6_prefix < 13 &&
	    (1U << (128 - cfg->pool6_prefix)) - 2 < limit)
		limit = (1U << (128 - cfg->pool6_prefix)) - 2;
	err = mdr_idset_init(ids, 1, limit);
	if (err)
		return err;
	in_use = malloc(MDR_MAX_ATTACH * sizeof(*in_use));
	if (!in_use)
		return -ENOMEM;
	n = mdr_state_attachment_ids(st, in_use, MDR_MAX_ATTACH);
	for (int i = 0; i < n; i++)
		mdr_idset_mark(ids, in_use[i]);
	free(in_use);
	return 0;
}

/* A new attachment starts from zero; one detached leaves nothing behind. */
static void zero_counters(const struct mdr_state *st, uint32_t id,
			  const char *ifname)
{
	int err = mdr_state_reset_counters(st, id);

	if (err)
		pr_warn("cannot reset the counters of '%s' (attachment %u): %s",
			ifname, id, strerror(-err));
}

static void fill_attachment(struct mdr_attachment *att,
			    const struct mdr_attach_request *req,
			    const struct mdr_config *cfg, uint32_t id,
			    __u64 cookie, int ifindex, const uint8_t mac[6],
			    const struct mdr_link *link,
			    const uint8_t proxy_mac[6])
{
	att->netns_cookie = cookie;
	att->ifindex = ifindex;
	att->link_ifindex = link->link_ifindex;
	att->proxy_ifindex = link->proxy_ifindex;
	att->service_addr = mdr_service_addr4(cfg, id);
	mdr_service_addr6(cfg, id, att->service_addr6);
	memcpy(att->mac, mac, 6);
	memcpy(att->proxy_mac, proxy_mac, 6);
	if (req->has_vm_mac) {
		memcpy(att->vm_mac, req->vm_mac, 6);
		att->flags |= MDR_F_HAS_VM_MAC;
	}
	att->link_id = link->link_id;
	att->source = req->source;
	snprintf(att->ifname, sizeof(att->ifname), "%s", req->ifname);
	snprintf(att->netns, sizeof(att->netns), "%s", req->netns);
	snprintf(att->network_id, sizeof(att->network_id), "%s",
		 req->network_id);
	snprintf(att->router_id, sizeof(att->router_id), "%s", req->router_id);
	snprintf(att->instance_id, sizeof(att->instance_id), "%s",
		 req->instance_id);
	snprintf(att->project_id, sizeof(att->project_id), "%s",
		 req->project_id);
	memcpy(att->fixed_ips, req->fixed_ips,
	       req->n_fixed_ips * sizeof(req->fixed_ips[0]));
	if (req->n_fixed_ips)
		att->flags |= MDR_F_HAS_FIXED_IP;
}

/*
 * The XDP mode to try first. A veth's native XDP_TX and redirects land in
 * its peer only when the peer runs XDP itself, which is not ours to
 * arrange: answers would vanish. Generic XDP has no such condition.
 */
static __u32 xdp_mode_for(const struct mdr_attach_request *req)
{
	char driver[32] = "";

	mdr_link_driver(req->ifname, driver, sizeof(driver));
	if (strcmp(driver, "veth"))
		return MDR_MODE_XDP;
	pr_warn("'%s' in %s is a veth: native XDP could not send answers out "
		"of it (that needs an XDP program on its peer); using generic "
		"XDP",
		req->ifname, ns_label(req->netns));
	return MDR_MODE_XDP_GENERIC;
}

/*
 * Puts the programs on the interface. The TC program always: it does the
 * whole job in TC mode, and in XDP mode it takes what the XDP program
 * leaves to it (GSO frames, which generic XDP cannot redirect). In XDP
 * mode the XDP program too: native if the driver has it, else generic,
 * saying so. Sets att->mode and the hook flag.
 */
static int hook(const struct mdr_state *st, struct mdr_attachment *att,
		const struct mdr_attachment *old,
		const struct mdr_attach_request *req)
{
	bool hook_created = false;
	int err;

	if (old)
		att->flags |= old->flags & MDR_F_HOOK_CREATED;
	err = mdr_tc_attach(att->ifindex, BPF_TC_INGRESS, st->tap_prog_fd,
			    &hook_created);
	if (err) {
		pr_err("cannot attach the TC program to '%s' in %s: %s",
		       req->ifname, ns_label(req->netns), strerror(-err));
		return err;
	}
	if (hook_created)
		att->flags |= MDR_F_HOOK_CREATED;
	att->mode = req->xdp ? xdp_mode_for(req) : MDR_MODE_TC;
	if (old && old->mode != MDR_MODE_TC && old->mode != att->mode)
		mdr_xdp_detach(att->ifindex, old->mode);
	if (!req->xdp)
		return 0;

	err = mdr_xdp_attach(att->ifindex, st->xdp_prog_fd, att->mode);
	if (err == -EOPNOTSUPP || err == -EINVAL) {
		pr_warn("'%s' in %s cannot run native XDP (%s); using generic "
			"XDP, which runs after the skb is built",
			req->ifname, ns_label(req->netns), strerror(-err));
		att->mode = MDR_MODE_XDP_GENERIC;
		err = mdr_xdp_attach(att->ifindex, st->xdp_prog_fd, att->mode);
	}
	if (err)
		pr_err("cannot attach the XDP program to '%s' in %s: %s",
		       req->ifname, ns_label(req->netns),
		       err == -EBUSY ? "another XDP program is attached"
				     : strerror(-err));
	return err;
}

/* Everything of attach that runs inside the interface's namespace. */
static int attach_here(struct attach_batch *b,
		       const struct mdr_attach_request *req, uint32_t *id_out)
{
	const struct mdr_state *st = &b->st;
	const struct mdr_config *cfg = &b->cfg;
	struct mdr_next_hop hop = { .addr4 = req->next_hop4 };
	struct mdr_attachment att = {}, old;
	uint8_t mac[6], proxy_mac[6];
	bool is_new, had_old = false;
	struct mdr_iface_key key = {};
	struct mdr_link link;
	int ifindex, err;
	uint32_t id;
	__u64 cookie;

	/* check_interface() vetted it; it can only have vanished since. */
	ifindex = if_nametoindex(req->ifname);
	err = ifindex ? mdr_link_ether_mac(req->ifname, mac) : -ENODEV;
	if (err) {
		pr_err("'%s' in %s vanished while attaching", req->ifname,
		       ns_label(req->netns));
		return err;
	}
	err = mdr_netns_cookie(&cookie);
	if (err)
		return err;

	err = mdr_dp_ensure_link(st, cfg, &b->link_ids, req->netns, cookie,
				 &link, proxy_mac);
	if (err)
		return err;
	key.netns_cookie = cookie;
	key.ifindex = ifindex;
	is_new = mdr_state_find_iface(st, &key, &id) != 0;
	if (is_new) {
		err = mdr_idset_take(&b->attach_ids, &id);
		if (err) {
			pr_err("no free service address: %u attachments is "
			       "the limit",
			       MDR_MAX_ATTACH);
			goto err_link;
		}
	} else if (!mdr_state_get_attachment(st, id, &old)) {
		had_old = true;
		if (old.source == MDR_SOURCE_CLI &&
		    req->source != MDR_SOURCE_CLI) {
			pr_info("'%s' in %s was attached by hand: the %s source "
				"leaves it alone",
				req->ifname, ns_label(req->netns),
				mdr_source_name(req->source));
			return -EEXIST;
		}
	}
	fill_attachment(&att, req, cfg, id, cookie, ifindex, mac, &link,
			proxy_mac);
	if (is_new) {
		zero_counters(st, id, req->ifname);
		link.users++;
	}
	/* Always written, none too: an id is reused, its next hop must not be. */
	err = mdr_state_set_next_hop(st, id, &hop);
	err = err ?: mdr_state_put_attachment(st, id, &att, &key);
	err = err ?: mdr_state_put_link(st, cookie, &link);
	if (err) {
		pr_err("cannot record the attachment: %s", strerror(-err));
		goto err_undo;
	}

	/* Last: the program sees a complete attachment from its first packet. */
	err = hook(st, &att, had_old ? &old : NULL, req);
	if (err)
		goto err_undo;
	/* hook() set the mode and flags that detach and the listings read. */
	err = mdr_state_put_attachment(st, id, &att, NULL);
	if (err) {
		pr_err("cannot record how '%s' in %s is hooked: %s",
		       req->ifname, ns_label(req->netns), strerror(-err));
		if (is_new)
			mdr_unhook(&att);
		goto err_undo;
	}
	*id_out = id;
	return 0;

err_undo:
	if (is_new) {
		mdr_state_delete_attachment(st, id, &key);
		mdr_idset_put(&b->attach_ids, id);
	}
err_link:
	if (is_new)
		mdr_dp_release_link(st, cookie);
	return err;
}

/* Checks the interface before anything is created, so a typo leaves no trace. */
static int check_interface(const struct mdr_attach_request *req)
{
	struct mdr_netns_saved saved;
	uint8_t mac[6];
	int err;

	if (!mdr_netns_exists(req->netns)) {
		pr_err("network namespace '%s' not found (looked in %s)",
		       req->netns, MDR_NETNS_RUN_DIR);
		return -ENOENT;
	}
	err = mdr_netns_enter(req->netns, &saved);
	if (err) {
		pr_err("cannot enter network namespace '%s': %s", req->netns,
		       strerror(-err));
		return err;
	}
	if (!if_nametoindex(req->ifname)) {
		pr_err("no interface '%s' in %s", req->ifname,
		       ns_label(req->netns));
		err = -ENODEV;
	} else if (!strncmp(req->ifname, "mdr-", 4)) {
		pr_err("'%s' belongs to mdredir itself and cannot be attached",
		       req->ifname);
		err = -EINVAL;
	} else {
		err = mdr_link_ether_mac(req->ifname, mac);
		if (err)
			pr_err("cannot attach '%s' in %s: %s", req->ifname,
			       ns_label(req->netns),
			       err == -EPROTONOSUPPORT
				       ? "not an Ethernet interface"
				       : strerror(-err));
	}
	mdr_netns_leave(&saved);
	return err;
}

static int batch_open(struct attach_batch *b)
{
	int err;

	err = mdr_state_open(&b->st, MDR_STATE_LOAD);
	if (err)
		return err;
	err = mdr_dp_ensure_proxy(&b->st, NULL, &b->cfg);
	err = err ?: attach_ids(&b->st, &b->cfg, &b->attach_ids);
	err = err ?: mdr_dp_link_ids(&b->st, &b->link_ids);
	return err;
}

static void batch_close(struct attach_batch *b)
{
	mdr_idset_free(&b->attach_ids);
	mdr_idset_free(&b->link_ids);
	mdr_state_close(&b->st);
}

/* One attach within a batch: in its namespace, and back. */
static int attach_one(struct attach_batch *b,
		      const struct mdr_attach_request *req, uint32_t *id)
{
	struct mdr_netns_saved saved;
	int err;

	err = mdr_netns_enter(req->netns, &saved);
	if (err) {
		pr_err("cannot enter network namespace '%s': %s", req->netns,
		       strerror(-err));
		return err;
	}
	err = attach_here(b, req, id);
	mdr_netns_leave(&saved);
	return err;
}

int mdr_attach_many(const struct mdr_attach_request *reqs, size_t n,
		    uint32_t *ids)
{
	struct attach_batch b = {};
	int lock, err = 0, first = 0, e;

	for (size_t i = 0; i < n; i++) {
		ids[i] = 0;
		e = check_interface(&reqs[i]);
		err = err ?: e;
	}
	if (err || !n)
		return err; /* nothing done; each problem was reported */
	lock = mdr_lock();
	if (lock < 0)
		return lock;
	err = batch_open(&b);
	for (size_t i = 0; i < n && !err; i++) {
		/* Each attach is whole: one failing leaves the rest to go on. */
		e = attach_one(&b, &reqs[i], &ids[i]);
		if (e == -ENOSPC || e == -ENOMEM)
			err = e; /* the rest would fail alike */
		first = first ?: e;
	}
	batch_close(&b);
	mdr_unlock(lock);
	return err ?: first;
}

size_t mdr_attach_each(const struct mdr_attach_request *reqs, size_t n,
		       uint32_t *ids, char *why, size_t why_len)
{
	size_t failed = 0;
	int err;

	/* A batch does nothing if one interface went away meanwhile. */
	if (!mdr_attach_many(reqs, n, ids))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (ids[i])
			continue;
		err = mdr_attach_many(&reqs[i], 1, &ids[i]);
		if (!err)
			continue;
		ids[i] = 0;
		failed++;
		snprintf(why, why_len, "cannot attach '%s' in %s: %s",
			 reqs[i].ifname, ns_label(reqs[i].netns),
			 strerror(-err));
	}
	return failed;
}

int mdr_attach(const struct mdr_attach_request *req, uint32_t *id)
{
	return mdr_attach_many(req, 1, id);
}

/* Which attachments a detach is about: by name, or everything vanished. */
struct find_ctx {
	const char *ifname; /* by name: ifname in netns */
	const char *netns;
	__u64 cookie;  /* else by namespace cookie... */
	int ifindex;   /* ...and ifindex, or 0 for all of it */
	uint32_t *ids; /* what matched: MDR_MAX_ATTACH of each */
	struct mdr_attachment *atts;
	size_t n;
};

/* Per call, never static: the watcher's thread detaches too. */
static int find_ctx_alloc(struct find_ctx *ctx)
{
	ctx->ids = calloc(MDR_MAX_ATTACH, sizeof(*ctx->ids));
	ctx->atts = calloc(MDR_MAX_ATTACH, sizeof(*ctx->atts));
	ctx->n = 0;
	return ctx->ids && ctx->atts ? 0 : -ENOMEM;
}

static void find_ctx_free(struct find_ctx *ctx)
{
	free(ctx->ids);
	free(ctx->atts);
}

static int match_attachment(__u32 id, const struct mdr_attachment *att,
			    void *data)
{
	struct find_ctx *ctx = data;
	bool match;

	if (ctx->ifname)
		match = !strcmp(att->ifname, ctx->ifname) &&
			!strcmp(att->netns, ctx->netns);
	else
		match = att->netns_cookie == ctx->cookie &&
			(!ctx->ifindex || (int)att->ifindex == ctx->ifindex);
	if (!match || ctx->n == MDR_MAX_ATTACH)
		return 0;
	ctx->ids[ctx->n] = id;
	ctx->atts[ctx->n++] = *att;
	return 0;
}

bool mdr_attached_iface_here(const struct mdr_attachment *att)
{
	char name[IF_NAMESIZE];
	__u64 cookie;

	/* An ifindex is reused, a name moves: both must still match. */
	return !mdr_netns_cookie(&cookie) && cookie == att->netns_cookie &&
	       if_indextoname(att->ifindex, name) && !strcmp(name, att->ifname);
}

void mdr_unhook(const struct mdr_attachment *att)
{
	struct mdr_netns_saved saved;

	if (mdr_netns_enter(att->netns, &saved))
		return;
	if (mdr_attached_iface_here(att)) {
		if (att->mode != MDR_MODE_TC)
			mdr_xdp_detach(att->ifindex, att->mode);
		mdr_tc_detach(att->ifindex, BPF_TC_INGRESS,
			      att->flags & MDR_F_HOOK_CREATED);
	}
	mdr_netns_leave(&saved);
}

struct rehook_ctx {
	const struct mdr_state *st;
	unsigned int moved;
};

static int rehook_one(__u32 id, const struct mdr_attachment *att, void *data)
{
	struct rehook_ctx *ctx = data;
	const struct mdr_state *st = ctx->st;
	struct mdr_netns_saved saved;
	int err = 0;

	(void)id;
	if (mdr_netns_enter(att->netns, &saved))
		return 0; /* gone: the watcher detaches it */
	if (mdr_attached_iface_here(att)) {
		err = mdr_tc_attach(att->ifindex, BPF_TC_INGRESS,
				    st->tap_prog_fd, NULL);
		if (!err && att->mode != MDR_MODE_TC)
			err = mdr_xdp_attach(att->ifindex, st->xdp_prog_fd,
					     att->mode);
		if (!err)
			ctx->moved++;
	}
	mdr_netns_leave(&saved);
	if (err)
		pr_warn("cannot move '%s' in %s to the new programs: %s",
			att->ifname, ns_label(att->netns), strerror(-err));
	return 0;
}

unsigned int mdr_rehook_all(const struct mdr_state *st)
{
	struct rehook_ctx ctx = { .st = st };

	mdr_state_for_each_attachment(st, rehook_one, &ctx);
	return ctx.moved;
}

static void detach_one(const struct mdr_state *st, uint32_t id,
		       const struct mdr_attachment *att)
{
	struct mdr_iface_key key = { .netns_cookie = att->netns_cookie,
				     .ifindex = att->ifindex };
	int err;

	mdr_unhook(att);
	mdr_state_delete_attachment(st, id, &key);
	mdr_state_forget_guests(st, id);
	zero_counters(st, id, att->ifname);
	err = mdr_dp_release_link(st, att->netns_cookie);
	if (err)
		pr_warn("detached '%s', but removing its link veth failed: %s",
			att->ifname, strerror(-err));
}

/* Detaches whatever @ctx matches, under the lock; -ENOENT if nothing. */
static int detach_matching(struct find_ctx *ctx)
{
	struct mdr_state st;
	int lock, err;

	err = find_ctx_alloc(ctx);
	if (err)
		return err;
	lock = mdr_lock();
	if (lock < 0)
		return lock;
	err = mdr_state_open(&st, MDR_STATE_READ);
	if (!err)
		mdr_state_for_each_attachment(&st, match_attachment, ctx);
	for (size_t i = 0; i < ctx->n; i++)
		detach_one(&st, ctx->ids[i], &ctx->atts[i]);
	if (!err && !ctx->n)
		err = -ENOENT;
	mdr_state_close(&st);
	mdr_unlock(lock);
	return err;
}

int mdr_detach(const char *ifname, const char *netns)
{
	struct find_ctx ctx = { .ifname = ifname, .netns = netns };
	int err;

	err = detach_matching(&ctx);
	if (err == -ENOENT)
		pr_err("'%s' in %s is not attached", ifname, ns_label(netns));
	find_ctx_free(&ctx);
	return err;
}

int mdr_detach_vanished(__u64 netns_cookie, int ifindex)
{
	struct find_ctx ctx = { .cookie = netns_cookie, .ifindex = ifindex };
	int err;

	err = detach_matching(&ctx);
	for (size_t i = 0; i < ctx.n; i++)
		pr_info("'%s' in %s is gone: detached", ctx.atts[i].ifname,
			ns_label(ctx.atts[i].netns));
	find_ctx_free(&ctx);
	return err == -ENOENT ? 0 : err;
}
