// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>

#include "control/lock.h"
#include "datapath/hooks.h"
#include "datapath/links.h"
#include "lib/log.h"
#include "datapath/netlink.h"
#include "datapath/netns.h"

/* Logs what failed in the proxy namespace; returns @err for the caller. */
static int proxy_fail(int err, const char *what)
{
	pr_err("proxy namespace: cannot %s: %s", what, strerror(-err));
	return err;
}

static int proxy_netns_setup(const struct mdr_state *st, struct mdr_config *cfg)
{
	struct in_addr pool = { cfg->pool_addr }, gw;
	uint8_t peer_mac[6];
	int lo, out, peer, err;

	/*
	 * Replies arrive from guests whose route back is our default route,
	 * not the device they came in on: strict reverse-path filtering would
	 * drop every request. New devices inherit "default".
	 */
	mdr_sysctl_write("net/ipv4/conf/all/rp_filter", "0");
	mdr_sysctl_write("net/ipv4/conf/default/rp_filter", "0");
	/* Link-local addresses would only add NDP noise on our links. */
	mdr_sysctl_write("net/ipv6/conf/default/addr_gen_mode", "1");

	lo = if_nametoindex("lo");
	err = lo ? mdr_nl_link_up(lo) : -ENODEV;
	if (err)
		return proxy_fail(err, "bring lo up");
	/* AnyIP: every pool address is local, one socket takes them all. */
	err = mdr_nl_route_local(AF_INET, &pool, cfg->pool_prefix, lo);
	if (err)
		return proxy_fail(err,
				  "add the local route of the service pool");
	err = mdr_nl_route_local(AF_INET6, cfg->pool6_addr, cfg->pool6_prefix,
				 lo);
	if (err)
		return proxy_fail(err, "add the local route of the IPv6 pool");

	if (!if_nametoindex(MDR_OUT_IFNAME)) {
		err = mdr_nl_veth_create(MDR_OUT_IFNAME, MDR_OUT_PEER_IFNAME,
					 -1, 0);
		if (err && err != -EEXIST)
			return proxy_fail(err, "create " MDR_OUT_IFNAME);
	}
	out = if_nametoindex(MDR_OUT_IFNAME);
	peer = if_nametoindex(MDR_OUT_PEER_IFNAME);
	if (!out || !peer) {
		pr_err("proxy namespace: %s is incomplete; run `mdredir unload`",
		       MDR_OUT_IFNAME);
		return -ENODEV;
	}
	err = mdr_nl_link_noarp(out) ?: mdr_nl_link_up(peer) ?:
	      mdr_nl_link_up(out);
	if (err)
		return proxy_fail(err, "bring " MDR_OUT_IFNAME " up");
	err = mdr_link_ether_mac(MDR_OUT_PEER_IFNAME, peer_mac);
	inet_pton(AF_INET, MDR_REPLY_GATEWAY, &gw);
	err = err ?: mdr_nl_neigh_permanent(gw, peer_mac, out);
	err = err ?: mdr_nl_route_default_onlink(gw, out);
	/* IPv6 replies to guests with global addresses; NOARP: no NDP. */
	err = err ?: mdr_nl_route_dev(AF_INET6, &in6addr_any, 0, out);
	if (err)
		return proxy_fail(err, "set up the reply route");
	err = mdr_tc_attach(out, BPF_TC_EGRESS, st->egress_prog_fd, NULL);
	if (err)
		return proxy_fail(
			err, "attach the egress program to " MDR_OUT_IFNAME);
	cfg->out_ifindex = out;
	return mdr_netns_cookie(&cfg->proxy_netns_cookie);
}

/* @rate new connections/s, bursts of @burst, as a GCRA; 0: no limit. */
static void gcra(unsigned int rate, unsigned int burst, __u64 *interval_ns,
		 __u64 *burst_ns)
{
	*interval_ns = 0;
	*burst_ns = 0;
	if (!rate)
		return;
	/* A burst of n passes when n - 1 intervals fit ahead. */
	*interval_ns = 1000000000ULL / rate ?: 1;
	*burst_ns = *interval_ns * (burst ? burst - 1 : 0);
}

/* The settings the BPF programs apply per packet. */
static void wanted_limits(const struct mdr_proxy_wish *wish,
			  struct mdr_config *cfg)
{
	gcra(wish->syn_rate, wish->syn_burst, &cfg->syn_interval_ns,
	     &cfg->syn_burst_ns);
	cfg->reply_ttl = wish->reply_ttl;
}

/* The per-guest one lives in a map of its own (see mdr_guest_limit). */
static int set_guest_limit(const struct mdr_state *st,
			   const struct mdr_proxy_wish *wish)
{
	struct mdr_guest_limit limit;

	gcra(wish->guest_syn_rate, wish->guest_syn_burst,
	     &limit.syn_interval_ns, &limit.syn_burst_ns);
	return mdr_state_set_guest_limit(st, &limit);
}

/* What the operator asked for, or the defaults, as a configuration. */
static void wanted_config(const struct mdr_proxy_wish *wish,
			  const struct mdr_config *cur, struct mdr_config *cfg)
{
	bool fresh = cur->pool_addr == 0;

	memset(cfg, 0, sizeof(*cfg));
	if (wish && wish->pool_prefix) {
		cfg->pool_addr = wish->pool.s_addr;
		cfg->pool_prefix = wish->pool_prefix;
	} else if (!fresh) {
		cfg->pool_addr = cur->pool_addr;
		cfg->pool_prefix = cur->pool_prefix;
	} else {
		inet_pton(AF_INET, MDR_DEFAULT_POOL, &cfg->pool_addr);
		cfg->pool_prefix = MDR_DEFAULT_POOL_PREFIX;
	}
	if (wish && wish->pool6_prefix) {
		memcpy(cfg->pool6_addr, &wish->pool6, 16);
		cfg->pool6_prefix = wish->pool6_prefix;
	} else if (!fresh) {
		memcpy(cfg->pool6_addr, cur->pool6_addr, 16);
		cfg->pool6_prefix = cur->pool6_prefix;
	} else {
		inet_pton(AF_INET6, MDR_DEFAULT_POOL6, cfg->pool6_addr);
		cfg->pool6_prefix = MDR_DEFAULT_POOL6_PREFIX;
	}
	snprintf(cfg->proxy_netns, sizeof(cfg->proxy_netns), "%s",
		 wish && wish->proxy_netns ? wish->proxy_netns
		 : !fresh		   ? cur->proxy_netns
					   : MDR_DEFAULT_PROXY_NETNS);
	if (!wish) {
		/* attach: keep what the daemon set */
		cfg->syn_interval_ns = cur->syn_interval_ns;
		cfg->syn_burst_ns = cur->syn_burst_ns;
		cfg->reply_ttl = cur->reply_ttl;
	} else {
		wanted_limits(wish, cfg);
	}
}

static bool same_layout(const struct mdr_config *a, const struct mdr_config *b)
{
	return a->pool_addr == b->pool_addr &&
	       a->pool_prefix == b->pool_prefix &&
	       !memcmp(a->pool6_addr, b->pool6_addr, 16) &&
	       a->pool6_prefix == b->pool6_prefix &&
	       !strcmp(a->proxy_netns, b->proxy_netns);
}

/*
 * Moving the pools or the namespace would readdress every attachment, so it
 * is refused while there are any; with none, the old proxy namespace goes.
 */
static int change_layout(const struct mdr_state *st,
			 const struct mdr_config *cur,
			 const struct mdr_config *cfg)
{
	char pool[INET_ADDRSTRLEN], pool6[INET6_ADDRSTRLEN];
	if (mdr_state_has_attachments(st)) {
		inet_ntop(AF_INET, &cur->pool_addr, pool, sizeof(pool));
		inet_ntop(AF_INET6, cur->pool6_addr, pool6, sizeof(pool6));
		pr_err("interfaces are attached with proxy namespace '%s', "
		       "service pools %s/%u and %s/%u; detach them (or run "
		       "`mdredir unload`) before changing these",
		       cur->proxy_netns, pool, cur->pool_prefix, pool6,
		       cur->pool6_prefix);
		return -EBUSY;
	}
	if (strcmp(cur->proxy_netns, cfg->proxy_netns))
		pr_info("moving the proxy from namespace '%s' to '%s'",
			cur->proxy_netns, cfg->proxy_netns);
	/* Rebuilt from scratch below, with nothing stale left in it. */
	return mdr_netns_delete(cur->proxy_netns);
}

static bool netns_named(const void *name)
{
	return mdr_netns_exists(name);
}

/*
 * The proxy namespace's name deleted under a running daemon: the namespace
 * lives on, the listener and every link in it, and the daemon names it
 * again. Wait for that, rather than make a new, empty one under its name,
 * through which no guest could be served; and if it never comes, make
 * none.
 */
static int await_proxy_name(const char *name)
{
	char what[MDR_NETNS_LEN + 64];

	snprintf(what, sizeof(what), "name network namespace '%s' again", name);
	return mdr_await_daemon(netns_named, name, what);
}

int mdr_dp_ensure_proxy(const struct mdr_state *st,
			const struct mdr_proxy_wish *wish,
			struct mdr_config *cfg)
{
	struct mdr_netns_saved saved;
	struct mdr_config cur;
	bool created = false;
	int err;

	err = mdr_state_get_config(st, &cur);
	if (err)
		return err;
	wanted_config(wish, &cur, cfg);
	if (cur.pool_addr != 0 && !same_layout(&cur, cfg)) {
		err = change_layout(st, &cur, cfg);
		if (err)
			return err;
	}
	if (mdr_netns_valid_name(cfg->proxy_netns)) {
		pr_err("invalid proxy namespace name '%s'", cfg->proxy_netns);
		return -EINVAL;
	}
	if (!strcmp(cur.proxy_netns, cfg->proxy_netns)) {
		err = await_proxy_name(cfg->proxy_netns);
		if (err)
			return err;
	}
	if (!mdr_netns_exists(cfg->proxy_netns)) {
		err = mdr_netns_create(cfg->proxy_netns);
		if (err) {
			pr_err("cannot create network namespace '%s': %s",
			       cfg->proxy_netns, strerror(-err));
			return err;
		}
		created = true;
	}
	err = mdr_netns_enter(cfg->proxy_netns, &saved);
	if (err) {
		pr_err("cannot enter network namespace '%s': %s",
		       cfg->proxy_netns, strerror(-err));
		goto err_delete;
	}
	err = proxy_netns_setup(st, cfg);
	mdr_netns_leave(&saved);
	if (err)
		goto err_delete;
	err = mdr_state_set_config(st, cfg);
	if (!err && wish)
		err = set_guest_limit(st, wish);
	if (err)
		goto err_delete;
	return 0;

err_delete:
	if (created)
		mdr_netns_delete(cfg->proxy_netns);
	return err;
}

int mdr_dp_set_proxy_limits(const struct mdr_state *st,
			    const struct mdr_proxy_wish *wish,
			    struct mdr_config *cfg)
{
	struct mdr_config next;
	int err;

	err = mdr_state_get_config(st, &next);
	if (err)
		return err;
	wanted_limits(wish, &next);
	err = mdr_state_set_config(st, &next) ?: set_guest_limit(st, wish);
	if (!err)
		*cfg = next;
	return err;
}

static int mark_link_id(__u64 cookie, const struct mdr_link *link, void *ids)
{
	(void)cookie;
	mdr_idset_mark(ids, link->link_id);
	return 0;
}

int mdr_dp_link_ids(const struct mdr_state *st, struct mdr_idset *ids)
{
	int err;

	err = mdr_idset_init(ids, 0, MDR_MAX_LINKS - 1);
	return err ?: mdr_state_for_each_link(st, mark_link_id, ids);
}

static bool link_is_alive(const struct mdr_link *link)
{
	char name[IF_NAMESIZE];

	return if_indextoname(link->link_ifindex, name) &&
	       !strcmp(name, MDR_LINK_IFNAME);
}

/* Brings up the proxy end of a new link and reads its index and MAC. */
static int setup_proxy_end(const struct mdr_config *cfg, const char *name,
			   struct mdr_link *link, uint8_t proxy_mac[6])
{
	static const struct in6_addr link_local = { { { 0xfe, 0x80 } } };
	struct mdr_netns_saved saved;
	int ifindex, err;

	err = mdr_netns_enter(cfg->proxy_netns, &saved);
	if (err)
		return err;
	ifindex = if_nametoindex(name);
	link->proxy_ifindex = ifindex;
	/*
	 * Replies to a link-local guest leave by the device its request came
	 * in on (the kernel binds such connections to it), so this end needs
	 * a route to fe80::/64 and no NDP, which nobody would answer.
	 */
	err = ifindex ? mdr_nl_link_set_flags(ifindex, IFF_UP | IFF_NOARP)
		      : -ENODEV;
	err = err ?: mdr_nl_route_dev(AF_INET6, &link_local, 64, ifindex);
	err = err ?: mdr_link_ether_mac(name, proxy_mac);
	mdr_netns_leave(&saved);
	return err;
}

static void proxy_end_name(char name[IF_NAMESIZE], uint32_t link_id)
{
	snprintf(name, IF_NAMESIZE, "mdr-l%u", link_id);
}

int mdr_dp_ensure_link(const struct mdr_state *st, const struct mdr_config *cfg,
		       struct mdr_idset *link_ids, const char *netns,
		       __u64 cookie, struct mdr_link *link,
		       uint8_t proxy_mac[6])
{
	char proxy_name[IF_NAMESIZE];
	int proxy_fd, stale, err;

	if (!mdr_state_get_link(st, cookie, link) && link_is_alive(link)) {
		struct mdr_link seen = *link;

		proxy_end_name(proxy_name, link->link_id);
		err = setup_proxy_end(cfg, proxy_name, &seen, proxy_mac);
		if (!err && seen.proxy_ifindex == link->proxy_ifindex)
			return 0;
		/* The proxy end vanished: rebuild the pair below. */
	}

	memset(link, 0, sizeof(*link));
	err = mdr_idset_take(link_ids, &link->link_id);
	if (err) {
		pr_err("no free link: %u namespaces already have attachments",
		       MDR_MAX_LINKS);
		return err;
	}
	snprintf(link->netns, sizeof(link->netns), "%s", netns);
	proxy_end_name(proxy_name, link->link_id);

	stale = if_nametoindex(MDR_LINK_IFNAME);
	if (stale)
		mdr_nl_link_del(stale);
	proxy_fd = mdr_netns_open(cfg->proxy_netns);
	err = proxy_fd < 0 ? proxy_fd
			   : mdr_nl_veth_create(MDR_LINK_IFNAME, proxy_name,
						proxy_fd, MDR_LINK_GROUP);
	if (proxy_fd >= 0)
		close(proxy_fd);
	if (err) {
		pr_err("cannot create link veth %s: %s", MDR_LINK_IFNAME,
		       strerror(-err));
		mdr_idset_put(link_ids, link->link_id);
		return err;
	}
	link->link_ifindex = if_nametoindex(MDR_LINK_IFNAME);
	err = link->link_ifindex ? 0 : -ENODEV;
	/* Link-local addresses would only add NDP noise on our links. */
	err = err ?: mdr_nl_link_no_ipv6_addrs(link->link_ifindex);
	err = err ?: mdr_nl_link_up(link->link_ifindex);
	err = err ?: setup_proxy_end(cfg, proxy_name, link, proxy_mac);
	err = err
		      ?: mdr_tc_attach(link->link_ifindex, BPF_TC_INGRESS,
				       st->link_prog_fd, NULL);
	if (err) {
		pr_err("cannot set up link veth %s: %s", MDR_LINK_IFNAME,
		       strerror(-err));
		goto err_del;
	}
	err = mdr_state_put_link(st, cookie, link);
	if (err)
		goto err_del;
	return 0;

err_del:
	if (link->link_ifindex)
		mdr_nl_link_del(link->link_ifindex);
	mdr_idset_put(link_ids, link->link_id);
	return err;
}

struct rehook_links_ctx {
	const struct mdr_state *st;
	unsigned int moved;
};

static int rehook_link(__u64 cookie, const struct mdr_link *link, void *data)
{
	struct rehook_links_ctx *ctx = data;
	struct mdr_netns_saved saved;
	int err;

	(void)cookie;
	if (mdr_netns_enter(link->netns, &saved))
		return 0;
	err = link_is_alive(link)
		      ? mdr_tc_attach(link->link_ifindex, BPF_TC_INGRESS,
				      ctx->st->link_prog_fd, NULL)
		      : -ENODEV;
	mdr_netns_leave(&saved);
	if (!err)
		ctx->moved++;
	else if (err != -ENODEV)
		pr_warn("cannot move the link veth in '%s' to the new "
			"program: %s",
			link->netns, strerror(-err));
	return 0;
}

unsigned int mdr_dp_rehook_links(const struct mdr_state *st)
{
	struct rehook_links_ctx ctx = { .st = st };

	mdr_state_for_each_link(st, rehook_link, &ctx);
	return ctx.moved;
}

int mdr_dp_release_link(const struct mdr_state *st, __u64 cookie)
{
	struct mdr_netns_saved saved;
	struct mdr_link link;
	int err;

	if (mdr_state_get_link(st, cookie, &link))
		return 0;
	if (link.users > 1) {
		link.users--;
		return mdr_state_put_link(st, cookie, &link);
	}
	mdr_state_delete_link(st, cookie);
	err = mdr_netns_enter(link.netns, &saved);
	if (err)
		return err == -ENOENT ? 0 : err;
	/* Deleting one end of a veth pair deletes both. */
	if (link_is_alive(&link))
		err = mdr_nl_link_del(link.link_ifindex);
	mdr_netns_leave(&saved);
	return err;
}
