/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The plumbing around the BPF programs: the proxy namespace with its
 * service pool and reply device, one link veth pair per namespace that
 * holds attached interfaces, and TC attachment.
 */
#ifndef MDR_DATAPATH_H
#define MDR_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>

#include "lib/idset.h"
#include "control/pinned_state.h"

#define MDR_DEFAULT_PROXY_NETNS	 "mdredir"
#define MDR_DEFAULT_POOL	 "100.100.0.0"
#define MDR_DEFAULT_POOL_PREFIX	 16
#define MDR_DEFAULT_POOL6	 "fd6d:6472:6972::"
#define MDR_DEFAULT_POOL6_PREFIX 64
#define MDR_LINK_IFNAME		 "mdr-link" /* beside attached interfaces */
/* The device group of both ends of every link veth: unload deletes them at once. */
#define MDR_LINK_GROUP		 0x6d64
#define MDR_OUT_IFNAME		 "mdr-out" /* reply device, proxy netns */
#define MDR_OUT_PEER_IFNAME	 "mdr-out-peer"
/* The reply route's next hop: never resolved, the egress program redirects. */
#define MDR_REPLY_GATEWAY	 "169.254.0.1"

/* What the daemon's settings ask for; NULL/zero pools: keep. */
struct mdr_proxy_wish {
	const char *proxy_netns;
	struct in_addr pool;
	unsigned int pool_prefix;
	struct in6_addr pool6;
	unsigned int pool6_prefix;
	unsigned int syn_rate; /* new connections/s per attachment; 0: any */
	unsigned int syn_burst;
	unsigned int guest_syn_rate; /* the same per guest */
	unsigned int guest_syn_burst;
	unsigned int reply_ttl; /* 0: leave replies alone */
};

/*
 * Makes sure the proxy namespace and everything in it exist (repairing what
 * is missing) and that mdr_config describes them. @wish may be NULL for
 * "whatever is configured, else the defaults".
 */
int mdr_dp_ensure_proxy(const struct mdr_state *st,
			const struct mdr_proxy_wish *wish,
			struct mdr_config *cfg);

/*
 * A reload: the per-packet settings of @wish (syn_rate, syn_burst,
 * reply_ttl) into the pinned mdr_config, and guest_syn_rate, _burst into
 * mdr_guest_limit, which the programs read for each packet; the rest of it
 * is left as it is. Fills @cfg with the result.
 */
int mdr_dp_set_proxy_limits(const struct mdr_state *st,
			    const struct mdr_proxy_wish *wish,
			    struct mdr_config *cfg);

/* The link ids in use, for mdr_dp_ensure_link(); free with mdr_idset_free(). */
int mdr_dp_link_ids(const struct mdr_state *st, struct mdr_idset *ids);
/*
 * Makes sure the namespace the caller is in has its link veth pair; fills
 * @link and @proxy_mac. @netns names that namespace ("" for the host); a
 * new link takes its id from @link_ids.
 */
int mdr_dp_ensure_link(const struct mdr_state *st, const struct mdr_config *cfg,
		       struct mdr_idset *link_ids, const char *netns,
		       __u64 cookie, struct mdr_link *link,
		       uint8_t proxy_mac[6]);
/* Points every link veth's ingress filter at st->link_prog_fd (after an
 * upgrade replaced the programs); how many were moved. */
unsigned int mdr_dp_rehook_links(const struct mdr_state *st);
/* Drops one user of the link of @cookie, removing the pair with the last. */
int mdr_dp_release_link(const struct mdr_state *st, __u64 cookie);

#endif
