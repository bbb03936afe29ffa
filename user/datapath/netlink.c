// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/neighbour.h>
#include <linux/net_namespace.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "datapath/netlink.h"

/*
 * Sends one request and runs cb on every answer until its end: the ACK
 * (ask for one with NLM_F_ACK) or the end of a dump. 0 or -errno.
 */
static int nl_request(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid;
	ssize_t n;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nlh->nlmsg_flags |= NLM_F_REQUEST;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		/* An NLMSG_ERROR with a code comes back as -1 and errno. */
		ret = mnl_cb_run(buf, n, nlh->nlmsg_seq, portid, cb, data);
	} while (ret > 0);
	ret = ret < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

/* Sends one request and waits for its ACK; returns 0 or -errno. */
static int nl_transact(struct nlmsghdr *nlh)
{
	nlh->nlmsg_flags |= NLM_F_ACK;
	return nl_request(nlh, NULL, NULL);
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags,
				 int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

int mdr_nl_veth_create(const char *name, const char *peer_name,
		       int peer_netns_fd, uint32_t group)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *linkinfo, *data, *peer;
	struct nlmsghdr *nlh;
	struct ifinfomsg *peer_ifi;

	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (group)
		mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of their own. */
	peer_ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer_ifi));
	memset(peer_ifi, 0, sizeof(*peer_ifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
	if (group)
		mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, peer_netns_fd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_transact(nlh);
}

int mdr_nl_link_set_flags(int ifindex, unsigned int flags)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_flags = flags;
	ifi->ifi_change = flags;
	return nl_transact(nlh);
}

int mdr_nl_link_up(int ifindex)
{
	return mdr_nl_link_set_flags(ifindex, IFF_UP);
}

int mdr_nl_link_noarp(int ifindex)
{
	return mdr_nl_link_set_flags(ifindex, IFF_NOARP);
}

int mdr_nl_link_no_ipv6_addrs(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);
	struct nlattr *spec, *inet6;

	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	inet6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, spec);
	return nl_transact(nlh);
}

int mdr_nl_link_del(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	return nl_transact(link_msg(buf, RTM_DELLINK, 0, ifindex));
}

int mdr_nl_link_del_group(uint32_t group)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, 0);

	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	return nl_transact(nlh);
}

/*
 * Stats are the bulk of a link message, and nothing here reads them;
 * a kernel that does not know the flag ignores it.
 */
static void put_skip_stats(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
}

static int xdp_attr(const struct nlattr *attr, void *data)
{
	struct mdr_nl_link *l = data;

	if (mnl_attr_get_type(attr) == IFLA_XDP_ATTACHED &&
	    !mnl_attr_validate(attr, MNL_TYPE_U8))
		l->xdp_attach_mode = mnl_attr_get_u8(attr);
	/* As bpf_xdp_query(): none when programs in two modes are there. */
	else if (mnl_attr_get_type(attr) == IFLA_XDP_PROG_ID &&
		 !mnl_attr_validate(attr, MNL_TYPE_U32))
		l->xdp_prog_id = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *attr, void *data)
{
	struct mdr_nl_link *l = data;

	if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
	    !mnl_attr_validate(attr, MNL_TYPE_NUL_STRING))
		snprintf(l->ifname, sizeof(l->ifname), "%s",
			 mnl_attr_get_str(attr));
	else if (mnl_attr_get_type(attr) == IFLA_XDP &&
		 !mnl_attr_validate(attr, MNL_TYPE_NESTED))
		mnl_attr_parse_nested(attr, xdp_attr, l);
	return MNL_CB_OK;
}

/* One RTM_NEWLINK message into @l. */
static void link_parse(const struct nlmsghdr *nlh, struct mdr_nl_link *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, l);
}

static int link_one_msg(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		link_parse(nlh, data);
	return MNL_CB_OK;
}

int mdr_nl_link_get(int ifindex, struct mdr_nl_link *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, NLM_F_ACK, ifindex);

	put_skip_stats(nlh);
	memset(l, 0, sizeof(*l));
	return nl_request(nlh, link_one_msg, l);
}

struct link_table {
	struct mdr_nl_link *links;
	size_t n, cap;
	int err;
};

static int link_table_msg(const struct nlmsghdr *nlh, void *data)
{
	struct link_table *t = data;
	struct mdr_nl_link *more;

	if (nlh->nlmsg_type != RTM_NEWLINK || t->err)
		return MNL_CB_OK;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		more = realloc(t->links, t->cap * sizeof(*more));
		if (!more) {
			/* Read the dump to its end all the same. */
			t->err = -ENOMEM;
			return MNL_CB_OK;
		}
		t->links = more;
	}
	link_parse(nlh, &t->links[t->n++]);
	return MNL_CB_OK;
}

int mdr_nl_link_list(struct mdr_nl_link **links, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, NLM_F_DUMP, 0);
	struct link_table t = {};
	int err;

	put_skip_stats(nlh);
	err = nl_request(nlh, link_table_msg, &t);
	err = err ?: t.err;
	if (err) {
		free(t.links);
		t.links = NULL;
		t.n = 0;
	}
	*links = t.links;
	*n = t.n;
	return err;
}

/* An interface ioctl on @ifname: 0 or -errno. */
static int if_ioctl(const char *ifname, unsigned long request,
		    struct ifreq *ifr)
{
	int fd, err = 0;

	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	strcpy(ifr->ifr_name, ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, request, ifr))
		err = -errno;
	close(fd);
	return err;
}

int mdr_link_ether_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = {};
	int err = if_ioctl(ifname, SIOCGIFHWADDR, &ifr);

	if (err)
		return err;
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return -EPROTONOSUPPORT;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int mdr_link_driver(const char *ifname, char *driver, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&info };
	int err = if_ioctl(ifname, SIOCETHTOOL, &ifr);

	if (!err)
		snprintf(driver, len, "%s", info.driver);
	return err;
}

static struct nlmsghdr *route_msg(char *buf, int family, unsigned char table,
				  unsigned char rtype, unsigned char scope)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_table = table;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_type = rtype;
	rtm->rtm_scope = scope;
	return nlh;
}

static size_t addr_len(int family)
{
	return family == AF_INET6 ? sizeof(struct in6_addr)
				  : sizeof(struct in_addr);
}

int mdr_nl_route_local(int family, const void *addr, int prefix, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	nlh = route_msg(buf, family, RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST);
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_dst_len = prefix;
	mnl_attr_put(nlh, RTA_DST, addr_len(family), addr);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return nl_transact(nlh);
}

int mdr_nl_route_dev(int family, const void *dst, int prefix, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err;

	nlh = route_msg(buf, family, RT_TABLE_MAIN, RTN_UNICAST, RT_SCOPE_LINK);
	/*
	 * Appended, neither replacing nor exclusive: for IPv6 both would see
	 * the same prefix on another device (fe80::/64 is on every link) as
	 * this route, and take it away or refuse.
	 */
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_APPEND;
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_dst_len = prefix;
	if (prefix)
		mnl_attr_put(nlh, RTA_DST, addr_len(family), dst);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	err = nl_transact(nlh);
	return err == -EEXIST ? 0 : err;
}

int mdr_nl_route_default_onlink(struct in_addr gw, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	nlh = route_msg(buf, AF_INET, RT_TABLE_MAIN, RTN_UNICAST,
			RT_SCOPE_UNIVERSE);
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_flags = RTNH_F_ONLINK;
	mnl_attr_put(nlh, RTA_GATEWAY, sizeof(gw), &gw);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return nl_transact(nlh);
}

int mdr_nl_neigh_permanent(struct in_addr addr, const uint8_t mac[6],
			   int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_INET;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_PERMANENT;
	mnl_attr_put(nlh, NDA_DST, sizeof(addr), &addr);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nl_transact(nlh);
}

static int count_msg(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(int *)data)++;
	return MNL_CB_OK;
}

int mdr_nl_tc_filter_count(int ifindex, uint32_t parent)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;
	int count = 0, err;

	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_DUMP;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	err = nl_request(nlh, count_msg, &count);
	return err ? err : count;
}

static int nsid_attr(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == NETNSA_NSID &&
	    !mnl_attr_validate(attr, MNL_TYPE_U32))
		*(int *)data = (int)mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int nsid_msg(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct rtgenmsg), nsid_attr, data);
}

static struct nlmsghdr *nsid_msg_put(char *buf, uint16_t type, int netns_fd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;

	nlh->nlmsg_type = type;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)netns_fd);
	return nlh;
}

int mdr_nl_netns_id(int netns_fd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int id = -1, err;

	/* -1: the kernel picks; EEXIST: it had one already. */
	nlh = nsid_msg_put(buf, RTM_NEWNSID, netns_fd);
	mnl_attr_put_u32(nlh, NETNSA_NSID, (uint32_t)-1);
	err = nl_transact(nlh);
	if (err && err != -EEXIST)
		return err;
	nlh = nsid_msg_put(buf, RTM_GETNSID, netns_fd);
	nlh->nlmsg_flags = NLM_F_ACK;
	err = nl_request(nlh, nsid_msg, &id);
	return err ? err : id < 0 ? -ENOENT : id;
}
