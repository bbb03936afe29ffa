/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The neutron-namespaces source: on a network node, Neutron's DHCP and L3
 * agents make a namespace per network (qdhcp-<network id>, its DHCP port
 * tap* or, under Linux bridge, ns-*) and per router (qrouter-<router id>,
 * its qr-* ports). Their names say every id an attachment needs, so each
 * such interface is attached (--network-id or --router-id) as it appears.
 * What goes away is detached by the watcher, like any attachment.
 *
 * Driven by the watcher's thread: a scan of /run/netns each round gives
 * every new qdhcp-/qrouter- namespace an id in the proxy namespace, so its
 * link events reach the watcher's socket, and syncs it; a link event from
 * one of them syncs it again.
 */
#ifndef MDR_NS_SOURCE_H
#define MDR_NS_SOURCE_H

#include <stdbool.h>

struct mdr_ns_source;

/* NULL on failure (out of memory). */
struct mdr_ns_source *mdr_ns_source_new(const char *proxy_netns);
void mdr_ns_source_free(struct mdr_ns_source *src);
/*
 * Follows /run/netns, then syncs every namespace that is new or whose
 * links changed since the last call; with @everything, every namespace
 * (at start, or after link events were lost).
 */
void mdr_ns_source_scan(struct mdr_ns_source *src, bool everything);
/* A link came or changed in the namespace of @nsid (in the proxy's). */
void mdr_ns_source_link_event(struct mdr_ns_source *src, int nsid);

#endif
