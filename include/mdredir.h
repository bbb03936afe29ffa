/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one definition of everything the BPF programs and userspace share:
 * constants, map value layouts and counter names. Fixed-width types and
 * explicit padding only, so `bpftool map dump` and both compilers agree.
 */
#ifndef MDREDIR_H
#define MDREDIR_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

/* 169.254.169.254 (host byte order) and fe80::a9fe:a9fe. */
#define MDR_METADATA_IP4  0xa9fea9feU
#define MDR_METADATA_IP6  "fe80::a9fe:a9fe"
#define MDR_METADATA_PORT 80

/*
 * Attachment ids are 1..MDR_MAX_ATTACH; service address = pool + id, in
 * the IPv4 pool and in the low 32 bits of the IPv6 pool alike.
 */
#define MDR_MAX_ATTACH 4096
/* Namespaces holding attached interfaces (one link veth pair each). */
#define MDR_MAX_LINKS  1024
/*
 * Guests remembered for the return path (attachment, guest IP -> MAC), and
 * guests whose new connections are rate-limited (mdr_guest_syn).
 */
#define MDR_MAX_NEIGH  65536

#define MDR_ID_LEN	  64 /* network/router/instance/project ids */
#define MDR_NETNS_LEN	  64 /* a name under /run/netns */
#define MDR_IFNAME_LEN	  16 /* IFNAMSIZ */
#define MDR_MAX_FIXED_IPS 8

#define MDR_PIN_DIR "/sys/fs/bpf/mdredir"

/* TC handle and priority of our filters: fixed, so we find our own. */
#define MDR_TC_HANDLE	0x6d64 /* "md" */
#define MDR_TC_PRIORITY 0x6d64

enum mdr_mode {
	MDR_MODE_TC = 1,
	MDR_MODE_XDP,	      /* native XDP in the driver */
	MDR_MODE_XDP_GENERIC, /* XDP on the skb, where the driver has none */
};

/*
 * Who made an attachment. A source adds, updates and removes only its own;
 * what an operator attached by hand (cli) no source touches.
 */
enum mdr_source {
	MDR_SOURCE_CLI = 0,
	MDR_SOURCE_OVN,
	MDR_SOURCE_NEUTRON_NS, /* qdhcp- and qrouter- namespaces */
	MDR_SOURCE_MAX,
};

/* Address families as the kernel numbers them (no libc in BPF). */
#define MDR_AF_INET  2
#define MDR_AF_INET6 10

enum mdr_attach_flags {
	MDR_F_HOOK_CREATED = 1 << 0, /* we created the clsact qdisc */
	MDR_F_HAS_VM_MAC = 1 << 1,   /* --mac was given */
	MDR_F_HAS_FIXED_IP = 1 << 2, /* --ip was given */
};

/* Proxy-wide settings, entry 0 of mdr_config. */
struct mdr_config {
	__u32 pool_addr;	  /* service pool base, network order */
	__u32 pool_prefix;	  /* prefix length of the pool */
	__u64 proxy_netns_cookie; /* SO_NETNS_COOKIE of the proxy netns */
	__u32 out_ifindex;	  /* reply device in the proxy netns */
	__u32 pool6_prefix;	  /* prefix length of the IPv6 pool */
	__u8 pool6_addr[16];	  /* IPv6 pool base; low 32 bits zero */
	char proxy_netns[MDR_NETNS_LEN];
	/*
	 * New connections per attachment, as a GCRA: one SYN per interval,
	 * bursts up to burst_ns ahead of schedule. 0: no limit.
	 */
	__u64 syn_interval_ns;
	__u64 syn_burst_ns;
	__u32 reply_ttl; /* TTL / hop limit of replies; 0: keep */
	__u32 pad;
};

/* Key of mdr_iface: an interface is its ifindex within its namespace. */
struct mdr_iface_key {
	__u64 netns_cookie;
	__u32 ifindex;
	__u32 pad;
};

struct mdr_fixed_ip {
	__u32 family;  /* AF_INET / AF_INET6, 0 = unused */
	__u8 addr[16]; /* network order */
};

/* Value of mdr_attach, keyed by attachment id. */
struct mdr_attachment {
	__u64 netns_cookie;	/* namespace of the attached interface */
	__u32 ifindex;		/* the attached interface (tap) */
	__u32 link_ifindex;	/* link veth end beside it */
	__u32 proxy_ifindex;	/* link veth end in the proxy netns */
	__u32 service_addr;	/* pool + id, network order */
	__u8 service_addr6[16]; /* IPv6 pool + id */
	__u8 mac[6];		/* the attached interface's own MAC */
	__u8 proxy_mac[6];	/* MAC of the proxy-side link end */
	__u8 vm_mac[6];		/* --mac, if MDR_F_HAS_VM_MAC */
	__u16 source;		/* enum mdr_source: who made it */
	__u32 flags;		/* enum mdr_attach_flags */
	__u32 mode;		/* enum mdr_mode */
	__u32 link_id;		/* the link serving its namespace */
	char ifname[MDR_IFNAME_LEN];
	char netns[MDR_NETNS_LEN]; /* "" = host namespace */
	char network_id[MDR_ID_LEN];
	char router_id[MDR_ID_LEN];
	char instance_id[MDR_ID_LEN];
	char project_id[MDR_ID_LEN];
	struct mdr_fixed_ip fixed_ips[MDR_MAX_FIXED_IPS];
};

/*
 * Value of mdr_next_hop, keyed by attachment id: the address the guest's
 * route to 169.254.169.254 goes via (--metadata-via; under OVN, the
 * metadata port's IP from DHCP option 121), whose ARP the tap program
 * answers too. A map of its own, not a field of mdr_attachment: pinned
 * mdr_attach maps of older builds keep their layout and stay usable.
 */
struct mdr_next_hop {
	__u32 addr4; /* network order; 0: none */
};

/* Value of mdr_link, keyed by netns cookie: one veth pair per namespace. */
struct mdr_link {
	__u32 link_ifindex;  /* in the attachment's namespace */
	__u32 proxy_ifindex; /* in the proxy namespace */
	__u32 users;	     /* attachments using this link */
	__u32 link_id;	     /* names the proxy end mdr-l<link_id> */
	char netns[MDR_NETNS_LEN];
};

/*
 * Key of mdr_neigh and mdr_guest_syn: a guest behind an attachment, by its
 * address.
 */
struct mdr_neigh_key {
	__u32 attach_id;
	__u32 family;  /* AF_INET or AF_INET6 */
	__u8 addr[16]; /* IPv4 in the first 4 bytes */
};

struct mdr_neigh {
	__u8 mac[6];
	__u16 pad;
};

/*
 * Per-attachment packet counters kept by the BPF programs (per CPU), the
 * one list of them: X(enum name, the name `mdredir stats` prints, whether
 * it counts packets passed on or dropped). `stats` prints them in this
 * order, the passed ones as "packets", the dropped ones as "dropped"; the
 * README describes each (tests/bats/cli.bats checks that it does).
 *
 * The list sizes the value of the pinned counter map, and the kernel
 * reuses a pinned map only with the same layout: a new counter gives that
 * map a new name (bpf/lib/maps.h), so an upgrade over pins of an older
 * build creates it beside theirs instead of failing to load.
 */
enum mdr_count_kind {
	MDR_COUNT_PASS,
	MDR_COUNT_DROP,
};

#define MDR_PKT_COUNTERS(X)                                   \
	/* ARP requests for the metadata IP answered */       \
	X(MDR_PKT_ARP_REPLIED, "arp_replied", MDR_COUNT_PASS) \
	/* neighbour solicitations for it answered */         \
	X(MDR_PKT_NDP_REPLIED, "ndp_replied", MDR_COUNT_PASS) \
	/* guest packets redirected to the proxy */           \
	X(MDR_PKT_TO_PROXY, "to_proxy", MDR_COUNT_PASS)       \
	/* proxy packets delivered to a guest */              \
	X(MDR_PKT_TO_GUEST, "to_guest", MDR_COUNT_PASS)       \
	/* reply to a guest whose MAC was never seen */       \
	X(MDR_DROP_NO_NEIGH, "no_neigh", MDR_COUNT_DROP)      \
	/* reply from a service address nobody owns */        \
	X(MDR_DROP_NO_ATTACH, "no_attach", MDR_COUNT_DROP)    \
	/* a packet rewrite helper failed */                  \
	X(MDR_DROP_REWRITE, "rewrite", MDR_COUNT_DROP)        \
	/* foreign packet on our private link */              \
	X(MDR_DROP_NOT_OURS, "not_ours", MDR_COUNT_DROP)      \
	/* from a MAC other than the attachment's --mac */    \
	X(MDR_DROP_SPOOF_MAC, "spoofed_mac", MDR_COUNT_DROP)  \
	/* from an address not among its --ip */              \
	X(MDR_DROP_SPOOF_IP, "spoofed_ip", MDR_COUNT_DROP)    \
	/* new connection over the attachment's rate */       \
	X(MDR_DROP_SYN_RATE, "syn_rate", MDR_COUNT_DROP)      \
	/* new connection over its guest's own rate */        \
	X(MDR_DROP_GUEST_SYN_RATE, "guest_syn_rate", MDR_COUNT_DROP)

#define MDR_PKT_X_ENUM(id, name, kind) id,
enum mdr_pkt_counter {
	MDR_PKT_COUNTERS(MDR_PKT_X_ENUM) MDR_PKT_COUNTER_MAX,
};
#undef MDR_PKT_X_ENUM

struct mdr_pkt_stats {
	__u64 count[MDR_PKT_COUNTER_MAX];
};

/* Value of mdr_syn_rate: the attachment's GCRA state. */
struct mdr_syn_rate {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tat; /* theoretical arrival time, ns */
};

/*
 * Entry 0 of mdr_guest_limit: new connections per guest (attachment and
 * source address), a GCRA as in mdr_config; 0: no limit. A map of its own,
 * not fields of mdr_config: pinned mdr_config maps of older builds keep
 * their layout and stay usable.
 */
struct mdr_guest_limit {
	__u64 syn_interval_ns;
	__u64 syn_burst_ns;
};

/*
 * Value of mdr_guest_syn: a guest's GCRA state. No spin lock: the kernel
 * refuses one in an LRU map (EOPNOTSUPP); see mdr_guest_syn_allowed().
 */
struct mdr_guest_syn {
	__u64 tat; /* theoretical arrival time, ns */
};

/* Per-attachment request counters kept by the daemon (mmapped array). */
struct mdr_http_stats {
	__u64 requests;
	__u64 status_1xx;
	__u64 status_2xx;
	__u64 status_3xx;
	__u64 status_4xx;
	__u64 status_5xx;
	__u64 bytes_in;
	__u64 bytes_out;
};

#ifndef __bpf__
/* The name `stats` prints for counter @c, or NULL past the last one. */
static inline const char *mdr_pkt_counter_name(unsigned int c)
{
#define MDR_PKT_X_NAME(id, name, kind) [id] = name,
	static const char *const names[MDR_PKT_COUNTER_MAX] = {
		MDR_PKT_COUNTERS(MDR_PKT_X_NAME)
	};
#undef MDR_PKT_X_NAME

	return c < MDR_PKT_COUNTER_MAX ? names[c] : (const char *)0;
}

/* MDR_COUNT_PASS or MDR_COUNT_DROP. */
static inline enum mdr_count_kind mdr_pkt_counter_kind(unsigned int c)
{
#define MDR_PKT_X_KIND(id, name, kind) [id] = kind,
	static const enum mdr_count_kind kinds[MDR_PKT_COUNTER_MAX] = {
		MDR_PKT_COUNTERS(MDR_PKT_X_KIND)
	};
#undef MDR_PKT_X_KIND

	return c < MDR_PKT_COUNTER_MAX ? kinds[c] : MDR_COUNT_DROP;
}

_Static_assert(sizeof(struct mdr_config) == 128, "mdr_config layout");
_Static_assert(sizeof(struct mdr_iface_key) == 16, "mdr_iface_key layout");
_Static_assert(sizeof(struct mdr_attachment) == 568, "mdr_attachment layout");
_Static_assert(sizeof(struct mdr_next_hop) == 4, "mdr_next_hop layout");
_Static_assert(sizeof(struct mdr_link) == 80, "mdr_link layout");
_Static_assert(sizeof(struct mdr_neigh_key) == 24, "mdr_neigh_key layout");
_Static_assert(sizeof(struct mdr_neigh) == 8, "mdr_neigh layout");
_Static_assert(sizeof(struct mdr_guest_limit) == 16, "mdr_guest_limit layout");
_Static_assert(sizeof(struct mdr_guest_syn) == 8, "mdr_guest_syn layout");
#endif

#endif
