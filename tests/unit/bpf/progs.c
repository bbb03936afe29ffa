// SPDX-License-Identifier: GPL-2.0-only
/* The programs, their maps' state and one test_run pass (see progs.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/netns.h"
#include "frames.h"
#include "progs.h"

struct mdredir_bpf *skel;
__u32 lo_ifindex;
__u64 test_netns;

/* ---- Map state ---- */

struct mdr_attachment test_attachment(void)
{
	struct mdr_attachment att = {
		.ifindex = lo_ifindex,
		/* Replies are accepted only on the link veth: test_run's. */
		.link_ifindex = lo_ifindex,
		.proxy_ifindex = lo_ifindex,
		.mode = MDR_MODE_TC,
		.link_id = TEST_LINK_ID,
		.ifname = "tap-test",
	};

	att.service_addr = inet_addr(SERVICE_IP);
	put_addr(att.service_addr6, AF_INET6, SERVICE_IP6);
	memcpy(att.mac, TAP_MAC, 6);
	memcpy(att.proxy_mac, PROXY_MAC, 6);
	return att;
}

struct mdr_attachment test_attachment2(void)
{
	struct mdr_attachment att = test_attachment();

	att.service_addr = inet_addr(SERVICE2_IP);
	put_addr(att.service_addr6, AF_INET6, SERVICE2_IP6);
	memcpy(att.ifname, "tap-test2", sizeof("tap-test2"));
	return att;
}

void guard_attachment(struct mdr_attachment *att, const uint8_t *vm_mac,
		      const char *const *ips)
{
	if (vm_mac) {
		att->flags |= MDR_F_HAS_VM_MAC;
		memcpy(att->vm_mac, vm_mac, 6);
	}
	for (int i = 0; ips && ips[i]; i++) {
		int family = strchr(ips[i], ':') ? AF_INET6 : AF_INET;

		if (i >= MDR_MAX_FIXED_IPS) {
			fprintf(stderr, "fixture bug: too many fixed IPs\n");
			exit(2);
		}
		att->flags |= MDR_F_HAS_FIXED_IP;
		att->fixed_ips[i].family = family == AF_INET6 ? MDR_AF_INET6
							      : MDR_AF_INET;
		put_addr(att->fixed_ips[i].addr, family, ips[i]);
	}
}

int put_attachment(__u32 id, const struct mdr_attachment *att)
{
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_attach), &id, att,
				   0)
		       ? -errno
		       : 0;
}

static int clear_map(int fd)
{
	uint8_t key[64];

	/* Deleting the first key each time never loses our place. */
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	return 0;
}

int reset_state(void)
{
	struct mdr_config cfg = { .pool_prefix = 16,
				  .pool6_prefix = POOL6_PREFIX };
	struct mdr_iface_key ik = { test_netns, lo_ifindex, 0 };
	struct mdr_attachment att = test_attachment();
	__u32 zero = 0, id = TEST_ATTACH_ID;
	struct mdr_syn_rate no_rate = {};
	struct mdr_next_hop no_hop = {};
	struct mdr_guest_limit no_guest_limit = {};
	int err;

	/* No SYN rates, replies keep their TTL: the defaults. */
	cfg.pool_addr = inet_addr("100.100.0.0");
	put_addr(cfg.pool6_addr, AF_INET6, POOL6);

	err = clear_map(bpf_map__fd(skel->maps.mdr_iface));
	err = err ?: clear_map(bpf_map__fd(skel->maps.mdr_attach));
	err = err ?: clear_map(bpf_map__fd(skel->maps.mdr_neigh));
	err = err ?: clear_map(bpf_map__fd(skel->maps.mdr_guest_syn));
	if (err)
		return err;
	/* Arrays: entries cannot go, only go back to "nothing scheduled"
	 * and "no next hop". */
	for (__u32 i = 0; i < N_CHECKED_IDS; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_syn_rate),
					&i, &no_rate, 0) ||
		    bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_next_hop),
					&i, &no_hop, 0))
			return -errno;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_config), &zero, &cfg,
				0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_guest_limit), &zero,
				&no_guest_limit, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_iface), &ik, &id, 0))
		return -errno;
	return put_attachment(id, &att);
}

/* IPv4 in the first 4 bytes of the key. */
struct mdr_neigh_key neigh_key(__u32 id, int family, const char *vm_ip)
{
	struct mdr_neigh_key key = { .attach_id = id, .family = (__u32)family };

	put_addr(key.addr, family, vm_ip);
	return key;
}

int set_neigh(__u32 id, int family, const char *vm_ip, const uint8_t *mac)
{
	struct mdr_neigh_key key = neigh_key(id, family, vm_ip);
	struct mdr_neigh val = {};

	memcpy(val.mac, mac, 6);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_neigh), &key,
				   &val, 0)
		       ? -errno
		       : 0;
}

int set_next_hop(__u32 id, const char *ip)
{
	struct mdr_next_hop hop = { .addr4 = ip ? inet_addr(ip) : 0 };

	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_next_hop), &id,
				   &hop, 0)
		       ? -errno
		       : 0;
}

int set_config(__u64 syn_interval_ns, __u64 syn_burst_ns, __u32 reply_ttl)
{
	int fd = bpf_map__fd(skel->maps.mdr_config);
	struct mdr_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		return -errno;
	cfg.syn_interval_ns = syn_interval_ns;
	cfg.syn_burst_ns = syn_burst_ns;
	cfg.reply_ttl = reply_ttl;
	return bpf_map_update_elem(fd, &zero, &cfg, 0) ? -errno : 0;
}

__u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + (__u64)ts.tv_nsec;
}

/* ---- One pass ---- */

struct bpf_program *prog_of(enum prog_id id)
{
	switch (id) {
	case TAP: return skel->progs.mdr_tap_ingress;
	case TAP_XDP: return skel->progs.mdr_tap_xdp;
	case LINK: return skel->progs.mdr_link_ingress;
	case PROXY: return skel->progs.mdr_proxy_egress;
	}
	return NULL;
}

int test_run(enum prog_id prog, const uint8_t *in, size_t len, uint8_t *out,
	     __u32 *out_len, int *retval, char *why, size_t n)
{
	struct __sk_buff skb = { .ifindex = lo_ifindex }, skb_out = {};
	/* XDP wants data_end = the frame's length, the rest zero. */
	struct xdp_md xdp = { .data_end = (__u32)len,
			      .ingress_ifindex = lo_ifindex },
		      xdp_out = {};
	bool is_xdp = prog == TAP_XDP;
	__u32 ifindex;

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = *out_len,
		    .ctx_in = is_xdp ? (void *)&xdp : (void *)&skb,
		    .ctx_size_in = is_xdp ? sizeof(xdp) : sizeof(skb),
		    .ctx_out = is_xdp ? (void *)&xdp_out : (void *)&skb_out,
		    .ctx_size_out = is_xdp ? sizeof(xdp_out) : sizeof(skb_out),
		    .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(prog_of(prog)), &opts)) {
		int err = -errno;

		snprintf(why, n, "bpf_prog_test_run_opts: %s", strerror(-err));
		return err;
	}
	/* Every attachment check keys on the device: be sure what it was. */
	ifindex = is_xdp ? xdp_out.ingress_ifindex : skb_out.ifindex;
	if (ifindex != lo_ifindex) {
		snprintf(why, n, "ran with %s %u, expected %u",
			 is_xdp ? "ingress_ifindex" : "skb->ifindex", ifindex,
			 lo_ifindex);
		return -EINVAL;
	}
	*out_len = opts.data_size_out;
	*retval = (int)opts.retval;
	return 0;
}

/* ---- Loading ---- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int progs_load(const char **what)
{
	int err;

	libbpf_set_print(libbpf_print);
	/* test_run's skb lives on this namespace's loopback device. */
	lo_ifindex = if_nametoindex("lo");
	if (!lo_ifindex) {
		*what = "no loopback device";
		return -errno;
	}
	err = mdr_netns_cookie(&test_netns);
	if (err) {
		*what = "reading this namespace's cookie";
		return err;
	}
	skel = mdredir_bpf__open();
	if (!skel) {
		*what = "opening the BPF skeleton";
		return -errno;
	}
	err = mdredir_bpf__load(skel);
	if (err) {
		mdredir_bpf__destroy(skel);
		skel = NULL;
		*what = "loading the BPF programs (as root?)";
		return err;
	}
	return 0;
}

void progs_unload(void)
{
	mdredir_bpf__destroy(skel);
	skel = NULL;
}

/* ---- The fuzzer's choice byte ---- */

/*
 * Bits 0-1: the program (enum prog_id); bits 2-3: the attachment id the
 * device is attached as (0: none); bits 4-5: the reply TTL, one of these.
 */
static const __u32 fuzz_ttls[4] = { 0, 1, 2, 255 };

struct fuzz_choice fuzz_choice_of(uint8_t byte)
{
	return (struct fuzz_choice){
		.prog = (enum prog_id)(byte & 3),
		.attach_id = (byte >> 2) & 3,
		.reply_ttl = fuzz_ttls[(byte >> 4) & 3],
	};
}

uint8_t fuzz_choice_byte(const struct fuzz_choice *c)
{
	uint8_t ttl = 0;

	for (uint8_t i = 0; i < 4; i++)
		if (fuzz_ttls[i] == c->reply_ttl)
			ttl = i;
	return (uint8_t)((c->prog & 3) | (c->attach_id & 3) << 2 | ttl << 4);
}
