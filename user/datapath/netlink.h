/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rtnetlink requests mdredir needs, through libmnl. Each acts on the
 * calling thread's current network namespace and returns 0 or -errno.
 */
#ifndef MDR_NETLINK_H
#define MDR_NETLINK_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>

/*
 * Creates veth @name here with its peer @peer_name in namespace
 * @peer_netns_fd (-1: here too), both ends in device group @group (0 is
 * the default group).
 */
int mdr_nl_veth_create(const char *name, const char *peer_name,
		       int peer_netns_fd, uint32_t group);
int mdr_nl_link_up(int ifindex);
/* Sets @flags (IFF_UP, IFF_NOARP, ...) on @ifindex, others unchanged. */
int mdr_nl_link_set_flags(int ifindex, unsigned int flags);
/*
 * `ip link set IFINDEX addrgenmode none`: no link-local address when it
 * comes up (set it before). Cheaper than the sysctl, which is a walk
 * through /proc/sys.
 */
int mdr_nl_link_no_ipv6_addrs(int ifindex);
int mdr_nl_link_del(int ifindex);
/*
 * Deletes every interface of device group @group here, and the peers of
 * veths among them, as one batch: the kernel waits for one RCU grace
 * period for all of them instead of one each.
 */
int mdr_nl_link_del_group(uint32_t group);
/* What one RTM_GETLINK answer says of an interface. */
struct mdr_nl_link {
	int ifindex;
	char ifname[IF_NAMESIZE];
	/* As bpf_xdp_query() with no flags: 0 if none (or two modes). */
	uint32_t xdp_prog_id;
	uint8_t xdp_attach_mode; /* XDP_ATTACHED_* */
};

/*
 * One interface, asked for by index. bpf_xdp_query() would dump every
 * interface of the namespace to find it, which at a thousand interfaces
 * makes a loop over them quadratic.
 */
int mdr_nl_link_get(int ifindex, struct mdr_nl_link *l);
/*
 * Every interface here, from one dump, into a table for free(): to act
 * on each, look at the table instead of asking link by link.
 */
int mdr_nl_link_list(struct mdr_nl_link **links, size_t *n);
/* The MAC of an Ethernet interface; -EPROTONOSUPPORT for any other kind. */
int mdr_link_ether_mac(const char *ifname, uint8_t mac[6]);
/*
 * No neighbour discovery on @ifindex: frames go to its own MAC, which is
 * fine where a program rewrites them anyway.
 */
int mdr_nl_link_noarp(int ifindex);
/* The interface's driver name ("veth", "tun", ...), as ethtool -i says. */
int mdr_link_driver(const char *ifname, char *driver, size_t len);
/* `ip route replace local ADDR/PREFIX dev IFINDEX table local` */
int mdr_nl_route_local(int family, const void *addr, int prefix, int ifindex);
/* `ip route replace DST/PREFIX dev IFINDEX` (PREFIX 0: default) */
int mdr_nl_route_dev(int family, const void *dst, int prefix, int ifindex);
/* `ip route add default via GW dev IFINDEX onlink` */
int mdr_nl_route_default_onlink(struct in_addr gw, int ifindex);
/* `ip neigh replace GW lladdr MAC dev IFINDEX nud permanent` */
int mdr_nl_neigh_permanent(struct in_addr addr, const uint8_t mac[6],
			   int ifindex);

/* How many TC filters hang off @parent (e.g. clsact ingress) of @ifindex. */
int mdr_nl_tc_filter_count(int ifindex, uint32_t parent);

/*
 * The id (nsid) the current namespace knows the namespace of netns_fd by,
 * given one first if it has none: a netlink socket with
 * NETLINK_LISTEN_ALL_NSID here hears the link events of every namespace
 * with an id, tagged with it. The id or -errno.
 */
int mdr_nl_netns_id(int netns_fd);

#endif
