/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target: arbitrary frames through the BPF programs, by
 * bpf_prog_test_run_opts, with attachments in the maps: the tap programs
 * (TC and XDP) and both halves of the return path (mdr_proxy_egress, which
 * only picks the link; mdr_link_ingress, which rewrites the reply).
 *
 * An input is one choice byte (tests/unit/bpf/progs.h: the program, which
 * attachment the device is, the reply TTL), then the frame. The world,
 * loaded once (world_init()): attachment 1 as on a qdhcp tap (no --mac,
 * no --ip, --metadata-via 10.0.0.2), attachment 2 guarded (--mac, an IPv4
 * and an IPv6 --ip, another next hop), attachment 3 whose replies arrive
 * on another link; a SYN rate that never refuses (the code runs, the
 * outcome stays the same run after run); a few guests in mdr_neigh.
 *
 * What a frame is, is decided here, by a reference written from the
 * design (DESIGN.md, RFC 826/4861), not from bpf/lib/parse.h, so this
 * checks the programs rather than itself. The invariants:
 *  - tap: a frame that is not ARP for 169.254.169.254 (or the attachment's
 *    next hop), not a valid Neighbor Solicitation for fe80::a9fe:a9fe, and
 *    not TCP to either on port 80, comes back byte for byte with
 *    TC_ACT_OK / XDP_PASS; so does every frame on an unattached device,
 *    and in XDP every frame longer than a wire frame (TC's).
 *  - tap, metadata's: from a guest its --mac/--ip refuse, dropped
 *    unchanged; else the ARP reply, the Neighbor Advertisement (checksum
 *    and all), or the segment readdressed to the attachment's service
 *    address and proxy MAC, exactly, and the guest learnt in mdr_neigh.
 *  - return path: mdr_proxy_egress redirects, unchanged, what comes from
 *    an attachment's service address and drops the rest; mdr_link_ingress
 *    turns a reply (TCP from port 80 of a service address) of an
 *    attachment on this link, to a guest in mdr_neigh, into one from the
 *    metadata address to that guest's MAC, and drops everything else
 *    unchanged (the link carries nothing else).
 *  - a rewrite keeps every IPv4 header and TCP checksum exactly as right
 *    as it was: a valid one stays valid, a wrong one exactly as wrong.
 *  - bpf_prog_test_run_opts succeeds, and no file descriptor leaks.
 *
 * Runs as root (CAP_BPF and CAP_NET_ADMIN for test_run), in whatever
 * namespace it starts in: it pins nothing and creates no device, so it
 * needs no suite lock. The seeds in tests/fuzz/corpus/fuzz_bpf are the
 * unit fixtures' frames: build/tests/test_bpf --corpus DIR writes them.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "frames.h"
#include "fuzz.h"
#include "progs.h"

/* Base packets with a field or two overridden: see frames.h. */
#pragma GCC diagnostic ignored "-Woverride-init"

/* Longer than any wire frame, so XDP's "left to TC" is reached. */
#define FRAME_MAX     2048
#define OUT_MAX	      4096
/* A wire frame, VLAN tag included: longer ones XDP leaves to TC. */
#define XDP_FRAME_MAX 1522
#define N_ATTACH      4 /* ids 1..3 */
/* A SYN rate 1 ns apart with an hour of burst: the GCRA runs, never refuses. */
#define SYN_INTERVAL  1ULL
#define SYN_BURST     (3600ULL * 1000000000ULL)

static struct mdr_attachment world[N_ATTACH];
static uint8_t next_hop[N_ATTACH][4]; /* 0.0.0.0: none */
static uint8_t metadata4[4], metadata6[16];

/* The guests the world starts with (check_neigh() keeps it so). */
static const struct {
	__u32 id;
	int family;
	const char *ip;
	const uint8_t *mac;
} seeded[] = {
	{ 1, AF_INET, GUEST_IP, GUEST_MAC },
	{ 1, AF_INET6, GUEST6_IP, GUEST_MAC },
	/* The same address behind attachment 2 is someone else. */
	{ 2, AF_INET, GUEST_IP, GUEST2_MAC },
	{ 2, AF_INET6, GUEST6_GLOBAL_IP, GUEST2_MAC },
	{ 3, AF_INET, GUEST_IP, GUEST_MAC },
};

static struct fuzz_choice now; /* what the maps say at the moment */
static int bpf_fds_after_load;

/* ---- Reporting ---- */

static void hexdump(const char *what, const uint8_t *b, size_t len)
{
	fprintf(stderr, "%s (%zu bytes):", what, len);
	for (size_t i = 0; i < len && i < 128; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", b[i]);
	fprintf(stderr, "%s\n", len > 128 ? " ..." : "");
}

/* The frame as it went in and came out, for every failure. */
static const uint8_t *cur_in, *cur_out;
static size_t cur_in_len, cur_out_len;
static int cur_verdict;

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr,
		"fuzz_bpf: invariant broken: %s, attached as %u, "
		"reply TTL %u, verdict %d: ",
		bpf_program__name(prog_of(now.prog)), now.attach_id,
		now.reply_ttl, cur_verdict);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	hexdump("in", cur_in, cur_in_len);
	hexdump("out", cur_out, cur_out_len);
	abort();
}

/* ---- Bytes ---- */

static bool is_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* ---- The world ---- */

static void die(const char *what, int err)
{
	fprintf(stderr, "fuzz_bpf: %s: %s\n", what, strerror(-err));
	exit(1);
}

/*
 * BPF objects (programs, maps, BTF, links) this process holds: loaded
 * once, so the count never grows. Other descriptors come and go (the
 * sanitizers' symbolizer, libFuzzer's own).
 */
static int count_bpf_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	char path[64], target[64];
	struct dirent *e;
	ssize_t len;
	int n = 0;

	if (!d)
		die("cannot list /proc/self/fd", -errno);
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += !strncmp(target, "anon_inode:bpf",
			      strlen("anon_inode:bpf")) ||
		     !strcmp(target, "anon_inode:btf");
	}
	closedir(d);
	return n;
}

static void set_attachment(__u32 id, const struct mdr_attachment *att,
			   const char *hop)
{
	int err = put_attachment(id, att) ?: set_next_hop(id, hop);

	if (err)
		die("cannot store an attachment", err);
	world[id] = *att;
	if (hop)
		put_addr(next_hop[id], AF_INET, hop);
}

static void world_init(void)
{
	static const char *const guest_ips[] = { GUEST_IP, GUEST6_GLOBAL_IP,
						 NULL };
	static const uint8_t mac2[6] = { 0x02, 0x6d, 0x64, 0x00, 0x02, 0x01 },
			     proxy2[6] = { 0x02, 0x6d, 0x64, 0x00, 0x02, 0x02 },
			     mac3[6] = { 0x02, 0x6d, 0x64, 0x00, 0x03, 0x01 };
	struct mdr_iface_key elsewhere;
	struct mdr_attachment att;
	const char *what = NULL;
	__u32 id3 = 3;
	int err;

	err = progs_load(&what);
	if (err)
		die(what, err);
	err = reset_state();
	err = err ?: set_config(SYN_INTERVAL, SYN_BURST, 0);
	if (err)
		die("cannot set up the maps", err);

	att = test_attachment();
	set_attachment(1, &att, NEXT_HOP_IP);
	/* Its own MACs, so that a frame rewritten for another shows. */
	att = test_attachment2();
	guard_attachment(&att, GUEST_MAC, guest_ips);
	memcpy(att.mac, mac2, 6);
	memcpy(att.proxy_mac, proxy2, 6);
	set_attachment(2, &att, "10.0.0.3");
	att = test_attachment();
	att.service_addr = inet_addr("100.100.0.3");
	put_addr(att.service_addr6, AF_INET6, "fd6d:6472:6972::3");
	memcpy(att.mac, mac3, 6);
	att.link_ifindex = lo_ifindex + 1000;
	set_attachment(3, &att, NULL);

	/* The same ifindex attached in another namespace, as 3. */
	elsewhere = (struct mdr_iface_key){ test_netns + 1, lo_ifindex, 0 };
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_iface), &elsewhere,
				&id3, 0))
		die("cannot attach in another namespace", -errno);
	for (size_t i = 0; i < sizeof(seeded) / sizeof(seeded[0]); i++) {
		err = set_neigh(seeded[i].id, seeded[i].family, seeded[i].ip,
				seeded[i].mac);
		if (err)
			die("cannot store a guest", err);
	}
	put_addr(metadata4, AF_INET, METADATA_IP);
	put_addr(metadata6, AF_INET6, METADATA_IP6);
	/* reset_state() attached the device as 1. */
	now = (struct fuzz_choice){ .attach_id = 1 };
	bpf_fds_after_load = count_bpf_fds();
}

/* The device attached as @c says, the reply TTL it says. */
static void apply_choice(const struct fuzz_choice *c)
{
	struct mdr_iface_key ik = { test_netns, lo_ifindex, 0 };
	int fd = bpf_map__fd(skel->maps.mdr_iface), err = 0;

	if (c->attach_id != now.attach_id) {
		if (c->attach_id)
			err = bpf_map_update_elem(fd, &ik, &c->attach_id, 0);
		else
			err = bpf_map_delete_elem(fd, &ik);
		if (err)
			die("cannot attach the device", -errno);
	}
	if (c->reply_ttl != now.reply_ttl) {
		err = set_config(SYN_INTERVAL, SYN_BURST, c->reply_ttl);
		if (err)
			die("cannot set the reply TTL", err);
	}
	now = *c;
}

static struct mdr_neigh_key guest_key(__u32 id, int family, const uint8_t *addr)
{
	struct mdr_neigh_key key = { .attach_id = id,
				     .family = family == AF_INET6
						       ? MDR_AF_INET6
						       : MDR_AF_INET };

	memcpy(key.addr, addr, family == AF_INET6 ? 16 : 4);
	return key;
}

/* The MAC mdr_neigh holds for a guest, or NULL. */
static const uint8_t *neigh_of(__u32 id, int family, const uint8_t *addr,
			       struct mdr_neigh *val)
{
	struct mdr_neigh_key key = guest_key(id, family, addr);

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.mdr_neigh), &key, val))
		return NULL;
	return val->mac;
}

static int seeded_index(__u32 id, int family, const uint8_t *addr)
{
	uint8_t a[16];

	for (size_t i = 0; i < sizeof(seeded) / sizeof(seeded[0]); i++) {
		if (seeded[i].id != id || seeded[i].family != family)
			continue;
		put_addr(a, family, seeded[i].ip);
		if (!memcmp(a, addr, family == AF_INET6 ? 16 : 4))
			return (int)i;
	}
	return -1;
}

/*
 * What mdr_neigh says of a guest after a frame: @learnt if the tap was to
 * learn the guest from it, else what the world started with. Then puts
 * the world back, so that every input meets the same maps.
 */
static void check_neigh(__u32 id, int family, const uint8_t *addr,
			const uint8_t *learnt)
{
	int i = seeded_index(id, family, addr);
	const uint8_t *want = learnt ? learnt : i >= 0 ? seeded[i].mac : NULL;
	struct mdr_neigh_key key = guest_key(id, family, addr);
	struct mdr_neigh val;
	const uint8_t *got = neigh_of(id, family, addr, &val);
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, text, sizeof(text));
	if (want && !got)
		fail("mdr_neigh {%u, %s}: %s", id, text,
		     learnt ? "the guest was not learnt"
			    : "a known guest was forgotten");
	if (!want && got)
		fail("mdr_neigh {%u, %s}: learnt from a frame not sent on", id,
		     text);
	if (want && memcmp(want, got, 6))
		fail("mdr_neigh {%u, %s}: holds the wrong MAC", id, text);
	if (!learnt)
		return;
	if (i >= 0)
		set_neigh(id, family, seeded[i].ip, seeded[i].mac);
	else
		bpf_map_delete_elem(bpf_map__fd(skel->maps.mdr_neigh), &key);
}

/* ---- The reference: what a frame is ---- */

/* A Neighbor Solicitation without options. */
#define NS_LEN (ND_HDR_LEN + ND_TARGET_LEN)

enum kind { NOT_OURS, ARP_REQUEST, SOLICIT, TCP4, TCP6 };

struct frame {
	const uint8_t *b;
	size_t len;
	enum kind kind;
	int family;
	const uint8_t *saddr, *daddr; /* ARP: sender and target */
	size_t l3, l4;		      /* offsets of the IP and TCP headers */
};

/* An untagged Ethernet/IPv4/TCP segment, not a fragment, headers whole. */
static bool ip4_tcp(struct frame *f)
{
	const uint8_t *ip = f->b + ETH_HDR_LEN;
	size_t ihl;

	if (f->len < ETH_HDR_LEN + IP4_HDR_LEN || get16(f->b + 12) != ETH_P_IP)
		return false;
	ihl = (ip[0] & 0x0f) * 4u;
	/* The MF flag and the offset: only a whole datagram has a port. */
	if (ip[0] >> 4 != 4 || ihl < IP4_HDR_LEN || ip[9] != IPPROTO_TCP ||
	    (get16(ip + 6) & 0x3fff) ||
	    f->len < ETH_HDR_LEN + ihl + TCP_HDR_LEN)
		return false;
	f->family = AF_INET;
	f->saddr = ip + 12;
	f->daddr = ip + 16;
	f->l3 = ETH_HDR_LEN;
	f->l4 = ETH_HDR_LEN + ihl;
	return true;
}

/* The same for IPv6: TCP straight after the fixed header. */
static bool ip6_tcp(struct frame *f)
{
	const uint8_t *ip6 = f->b + ETH_HDR_LEN;

	if (f->len < ETH_HDR_LEN + IP6_HDR_LEN + TCP_HDR_LEN ||
	    get16(f->b + 12) != ETH_P_IPV6 || ip6[0] >> 4 != 6 ||
	    ip6[6] != IPPROTO_TCP)
		return false;
	f->family = AF_INET6;
	f->saddr = ip6 + 8;
	f->daddr = ip6 + 24;
	f->l3 = ETH_HDR_LEN;
	f->l4 = ETH_HDR_LEN + IP6_HDR_LEN;
	return true;
}

/* An ARP request (RFC 826, Ethernet and IPv4) for one of @id's addresses. */
static bool arp_for_us(struct frame *f, __u32 id)
{
	const uint8_t *arp = f->b + ETH_HDR_LEN;

	if (f->len < ETH_HDR_LEN + ARP_LEN || get16(f->b + 12) != ETH_P_ARP ||
	    get16(arp) != 1 || get16(arp + 2) != ETH_P_IP || arp[4] != 6 ||
	    arp[5] != 4 || get16(arp + 6) != 1)
		return false;
	f->family = AF_INET;
	f->saddr = arp + 14;
	f->daddr = arp + 24;
	return !memcmp(f->daddr, metadata4, 4) ||
	       (!is_zero(next_hop[id], 4) &&
		!memcmp(f->daddr, next_hop[id], 4));
}

/*
 * A Neighbor Solicitation for fe80::a9fe:a9fe that RFC 4861 7.1.1 lets us
 * answer: hop limit 255, ICMPv6 code 0, 24 bytes or more, from a unicast
 * address (a DAD probe, from ::, is not ours to answer). Straight after
 * the fixed header: a guest resolving a neighbour sends no extensions.
 */
static bool solicits_us(struct frame *f)
{
	const uint8_t *ip6 = f->b + ETH_HDR_LEN, *icmp = ip6 + IP6_HDR_LEN;

	if (f->len < ETH_HDR_LEN + IP6_HDR_LEN + NS_LEN ||
	    get16(f->b + 12) != ETH_P_IPV6 || ip6[0] >> 4 != 6 ||
	    ip6[6] != IPPROTO_ICMPV6 || ip6[7] != 255 ||
	    get16(ip6 + 4) < NS_LEN || ip6[8] == 0xff || is_zero(ip6 + 8, 16) ||
	    icmp[0] != ND_NEIGHBOR_SOLICIT || icmp[1] != 0 ||
	    memcmp(icmp + ND_HDR_LEN, metadata6, 16))
		return false;
	f->family = AF_INET6;
	f->saddr = ip6 + 8;
	return true;
}

/* What the tap, attached as @id, must take for its own. */
static enum kind tap_kind(struct frame *f, __u32 id)
{
	if (arp_for_us(f, id))
		return ARP_REQUEST;
	if (ip4_tcp(f) && !memcmp(f->daddr, metadata4, 4) &&
	    get16(f->b + f->l4 + 2) == MDR_METADATA_PORT)
		return TCP4;
	if (ip6_tcp(f) && !memcmp(f->daddr, metadata6, 16) &&
	    get16(f->b + f->l4 + 2) == MDR_METADATA_PORT)
		return TCP6;
	if (solicits_us(f))
		return SOLICIT;
	return NOT_OURS;
}

/* Whether attachment @att lets @mac and @addr speak to metadata. */
static bool admitted(const struct mdr_attachment *att, const uint8_t *mac,
		     int family, const uint8_t *addr)
{
	size_t alen = family == AF_INET6 ? 16 : 4;
	__u32 af = family == AF_INET6 ? MDR_AF_INET6 : MDR_AF_INET;
	uint8_t ll[16];

	if ((att->flags & MDR_F_HAS_VM_MAC) && memcmp(mac, att->vm_mac, 6))
		return false;
	if (!(att->flags & MDR_F_HAS_FIXED_IP))
		return true;
	for (int i = 0; i < MDR_MAX_FIXED_IPS; i++)
		if (att->fixed_ips[i].family == af &&
		    !memcmp(att->fixed_ips[i].addr, addr, alen))
			return true;
	/* Neutron's port security allows the MAC's own link-local address. */
	if (family != AF_INET6 || !(att->flags & MDR_F_HAS_VM_MAC))
		return false;
	eui64_link_local(att->vm_mac, ll);
	return !memcmp(addr, ll, 16);
}

/* The attachment whose service address @addr is; 0 if none. */
static __u32 service_owner(int family, const uint8_t *addr)
{
	for (__u32 id = 1; id < N_ATTACH; id++)
		if (family == AF_INET
			    ? !memcmp(addr, &world[id].service_addr, 4)
			    : !memcmp(addr, world[id].service_addr6, 16))
			return id;
	return 0;
}

/* ---- Checks ---- */

static void expect(int verdict, const uint8_t *want, size_t len)
{
	size_t i;

	if (cur_verdict != verdict)
		fail("verdict %d, expected %d", cur_verdict, verdict);
	if (cur_out_len != len)
		fail("the output is %zu bytes, expected %zu", cur_out_len, len);
	for (i = 0; i < len && cur_out[i] == want[i]; i++)
		;
	if (i < len)
		fail("output byte %zu is %#04x, expected %#04x", i, cur_out[i],
		     want[i]);
}

static void expect_unchanged(int verdict)
{
	expect(verdict, cur_in, cur_in_len);
}

/*
 * The output's checksum at @off, copied into @want: the programs patch
 * checksums incrementally, so check_sums() judges them, not a compare.
 */
static void take_check(uint8_t *want, size_t off)
{
	if (off + 2 <= cur_out_len)
		memcpy(want + off, cur_out + off, 2);
}

/* The ones'-complement sum of what a checksum covers: 0 when right. */
static uint16_t residual(const uint8_t *b, const struct frame *f)
{
	const uint8_t *ip = b + f->l3;
	size_t seg;

	if (f->family == AF_INET) {
		seg = get16(ip + 2) - (f->l4 - f->l3);
		return csum_fold(csum_add(pseudo_sum(ip + 12, ip + 16, 4,
						     IPPROTO_TCP, seg),
					  b + f->l4, seg));
	}
	seg = get16(ip + 4);
	return csum_fold(
		csum_add(pseudo_sum(ip + 8, ip + 24, 16, IPPROTO_TCP, seg),
			 b + f->l4, seg));
}

/*
 * Every checksum of a rewritten TCP segment exactly as right as it came
 * in: the IPv4 header's, and TCP's where the IP length says where the
 * segment ends within the frame.
 */
static void check_sums(const struct frame *f)
{
	const uint8_t *ip = cur_in + f->l3;
	size_t ihl = f->l4 - f->l3, end;
	uint16_t in, out;

	if (f->family == AF_INET) {
		in = csum_fold(csum_add(0, cur_in + f->l3, ihl));
		out = csum_fold(csum_add(0, cur_out + f->l3, ihl));
		if (in != out)
			fail("IPv4 header checksum %s (residual 0x%04x, was 0x%04x)",
			     in ? "changed how wrong it is" : "broken", out,
			     in);
		end = f->l3 + get16(ip + 2);
		if (get16(ip + 2) < ihl + TCP_HDR_LEN || end > cur_in_len)
			return;
	} else {
		end = f->l4 + get16(ip + 4);
		if (get16(ip + 4) < TCP_HDR_LEN || end > cur_in_len)
			return;
	}
	in = residual(cur_in, f);
	out = residual(cur_out, f);
	if (in != out)
		fail("TCP checksum %s (residual 0x%04x, was 0x%04x)",
		     in ? "changed how wrong it is" : "broken", out, in);
}

/* ARP: the reply RFC 826 describes, from the attachment's MAC. */
static void expect_arp_reply(const struct frame *f,
			     const struct mdr_attachment *att, int verdict)
{
	uint8_t want[FRAME_MAX];
	const uint8_t *arp = cur_in + ETH_HDR_LEN;
	uint8_t *reply = want + ETH_HDR_LEN;

	memcpy(want, cur_in, cur_in_len);
	memcpy(want, arp + 8, 6); /* to the asker */
	memcpy(want + 6, att->mac, 6);
	reply[7] = 2; /* op: reply */
	memcpy(reply + 8, att->mac, 6);
	memcpy(reply + 14, f->daddr, 4); /* the address asked for */
	memcpy(reply + 18, arp + 8, 6);
	memcpy(reply + 24, arp + 14, 4);
	expect(verdict, want, cur_in_len);
}

/* NDP: the solicited advertisement, built whole by the fixtures' builder. */
static void expect_advert(const struct frame *f,
			  const struct mdr_attachment *att, int verdict)
{
	char guest[INET6_ADDRSTRLEN];
	struct pkt na;

	inet_ntop(AF_INET6, f->saddr, guest, sizeof(guest));
	build(&(struct pkt_spec){ NA_FROM_METADATA, .eth_dst = cur_in + 6,
				  .eth_src = att->mac, .daddr = guest,
				  .nd_ll_mac = att->mac },
	      &na);
	expect(verdict, na.b, na.len);
}

/* TCP to metadata, readdressed to the attachment's service address. */
static void expect_to_proxy(const struct frame *f, __u32 id, int verdict)
{
	const struct mdr_attachment *att = &world[id];
	uint8_t want[FRAME_MAX];

	memcpy(want, cur_in, cur_in_len);
	memcpy(want, att->proxy_mac, 6);
	memcpy(want + 6, att->mac, 6);
	if (f->family == AF_INET) {
		memcpy(want + f->l3 + 16, &att->service_addr, 4);
		take_check(want, f->l3 + 10);
	} else {
		memcpy(want + f->l3 + 24, att->service_addr6, 16);
	}
	take_check(want, f->l4 + 16);
	expect(verdict, want, cur_in_len);
	check_sums(f);
	check_neigh(id, f->family, f->saddr, cur_in + 6);
}

static void check_tap(void)
{
	bool xdp = now.prog == TAP_XDP;
	__u32 id = now.attach_id;
	struct frame f = { .b = cur_in, .len = cur_in_len };
	const struct mdr_attachment *att = &world[id];

	if (!id || (xdp && cur_in_len > XDP_FRAME_MAX) ||
	    (f.kind = tap_kind(&f, id)) == NOT_OURS) {
		expect_unchanged(xdp ? XDP_PASS : TC_ACT_OK);
		return;
	}
	if (!admitted(att, cur_in + 6, f.family, f.saddr)) {
		expect_unchanged(xdp ? XDP_DROP : TC_ACT_SHOT);
		check_neigh(id, f.family, f.saddr, NULL);
		return;
	}
	switch (f.kind) {
	case ARP_REQUEST:
		expect_arp_reply(&f, att, xdp ? XDP_TX : TC_ACT_REDIRECT);
		break;
	case SOLICIT:
		expect_advert(&f, att, xdp ? XDP_TX : TC_ACT_REDIRECT);
		break;
	case TCP4:
	case TCP6:
		expect_to_proxy(&f, id, xdp ? XDP_REDIRECT : TC_ACT_REDIRECT);
		return;
	case NOT_OURS: break;
	}
	/* Answered: no guest is learnt from ARP or NDP. */
	check_neigh(id, f.family, f.saddr, NULL);
}

/* The proxy's replies leave by the source address's attachment's link. */
static void check_proxy(void)
{
	const uint8_t *b = cur_in;
	bool ours = false;

	if (get16(b + 12) == ETH_P_IP &&
	    cur_in_len >= ETH_HDR_LEN + IP4_HDR_LEN)
		ours = service_owner(AF_INET, b + ETH_HDR_LEN + 12);
	else if (get16(b + 12) == ETH_P_IPV6 &&
		 cur_in_len >= ETH_HDR_LEN + IP6_HDR_LEN)
		ours = service_owner(AF_INET6, b + ETH_HDR_LEN + 8);
	expect_unchanged(ours ? TC_ACT_REDIRECT : TC_ACT_SHOT);
}

static void check_link(void)
{
	struct frame f = { .b = cur_in, .len = cur_in_len };
	uint8_t want[FRAME_MAX];
	const uint8_t *guest;
	struct mdr_neigh val;
	__u32 id = 0;

	if ((ip4_tcp(&f) || ip6_tcp(&f)) &&
	    get16(cur_in + f.l4) == MDR_METADATA_PORT)
		id = service_owner(f.family, f.saddr);
	/* Only replies to a known guest, on their own attachment's link. */
	guest = id && world[id].link_ifindex == lo_ifindex
			? neigh_of(id, f.family, f.daddr, &val)
			: NULL;
	if (!guest) {
		expect_unchanged(TC_ACT_SHOT);
		return;
	}
	memcpy(want, cur_in, cur_in_len);
	memcpy(want, guest, 6);
	memcpy(want + 6, world[id].mac, 6);
	if (f.family == AF_INET) {
		memcpy(want + f.l3 + 12, metadata4, 4);
		if (now.reply_ttl)
			want[f.l3 + 8] = (uint8_t)now.reply_ttl;
		take_check(want, f.l3 + 10);
	} else {
		memcpy(want + f.l3 + 8, metadata6, 16);
		if (now.reply_ttl)
			want[f.l3 + 7] = (uint8_t)now.reply_ttl;
	}
	take_check(want, f.l4 + 16);
	expect(TC_ACT_REDIRECT, want, cur_in_len);
	check_sums(&f);
}

/* ---- libFuzzer ---- */

/*
 * An IPv4 or IPv6 frame cut inside the IP header: test_run refuses it for
 * an skb (-EINVAL), so only XDP can show what becomes of it.
 */
static bool cut_ip_header(const uint8_t *b, size_t len)
{
	return (get16(b + 12) == ETH_P_IP && len < ETH_HDR_LEN + IP4_HDR_LEN) ||
	       (get16(b + 12) == ETH_P_IPV6 && len < ETH_HDR_LEN + IP6_HDR_LEN);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	world_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	struct fuzz_choice c;
	uint8_t out[OUT_MAX];
	__u32 out_len = sizeof(out);
	char why[128];
	int err;

	/* test_run refuses frames shorter than an Ethernet header. */
	if (size < 1 + ETH_HDR_LEN || size > 1 + FRAME_MAX)
		return -1;
	c = fuzz_choice_of(data[0]);
	if (c.prog != TAP_XDP && cut_ip_header(data + 1, size - 1))
		return -1;
	apply_choice(&c);
	cur_in = data + 1;
	cur_in_len = size - 1;
	cur_out = out;
	cur_out_len = 0;
	cur_verdict = -1;
	err = test_run(c.prog, cur_in, cur_in_len, out, &out_len, &cur_verdict,
		       why, sizeof(why));
	if (err)
		fail("%s", why);
	cur_out_len = out_len;
	switch (c.prog) {
	case TAP:
	case TAP_XDP: check_tap(); break;
	case LINK: check_link(); break;
	case PROXY: check_proxy(); break;
	}
	/* Loaded once: descriptors do not grow with the runs. */
	if (++runs % 4096 == 0 && count_bpf_fds() != bpf_fds_after_load)
		fail("%d BPF objects held, %d after loading", count_bpf_fds(),
		     bpf_fds_after_load);
	return 0;
}
