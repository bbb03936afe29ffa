// SPDX-License-Identifier: GPL-2.0-only
/* The skeleton, the maps' default state and the runner (see harness.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "datapath/netns.h"
#include "frames.h"
#include "harness.h"

/* ---- Map state ---- */

struct mdredir_bpf *skel;
__u32 lo_ifindex;
__u64 test_netns;
static int ncpus;

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

static int clear_map(int fd)
{
	uint8_t key[64];

	/* Deleting the first key each time never loses our place. */
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	return 0;
}

/* Puts every map back to the one attachment the fixtures assume. */
static int reset_state(void)
{
	struct mdr_config cfg = { .pool_prefix = 16,
				  .pool6_prefix = POOL6_PREFIX };
	struct mdr_iface_key ik = { test_netns, lo_ifindex, 0 };
	struct mdr_attachment att = test_attachment();
	__u32 zero = 0, id = TEST_ATTACH_ID;
	int err;

	/* No SYN rate, replies keep their TTL: the defaults. */
	cfg.pool_addr = inet_addr("100.100.0.0");
	put_addr(cfg.pool6_addr, AF_INET6, POOL6);
	struct mdr_syn_rate no_rate = {};
	struct mdr_next_hop no_hop = {};

	err = clear_map(bpf_map__fd(skel->maps.mdr_iface));
	err = err ?: clear_map(bpf_map__fd(skel->maps.mdr_attach));
	err = err ?: clear_map(bpf_map__fd(skel->maps.mdr_neigh));
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
	    bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_iface), &ik, &id,
				0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_attach), &id, &att,
				0))
		return -errno;
	return 0;
}

/* The mdr_neigh key of a guest of attachment 1: IPv4 in the first 4 bytes. */
struct mdr_neigh_key neigh_key(int family, const char *vm_ip)
{
	struct mdr_neigh_key key = { .attach_id = TEST_ATTACH_ID,
				     .family = (__u32)family };

	put_addr(key.addr, family, vm_ip);
	return key;
}

int set_neigh(int family, const char *vm_ip, const uint8_t *mac)
{
	struct mdr_neigh_key key = neigh_key(family, vm_ip);
	struct mdr_neigh val = {};

	memcpy(val.mac, mac, 6);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_neigh), &key,
				   &val, 0)
		       ? -errno
		       : 0;
}

/* Sums one attachment's per-CPU counters. */
static int read_counters(__u32 id, __u64 out[MDR_PKT_COUNTER_MAX])
{
	struct mdr_pkt_stats *per_cpu = calloc(ncpus, sizeof(*per_cpu));
	int err = 0;

	if (!per_cpu)
		return -ENOMEM;
	memset(out, 0, sizeof(__u64) * MDR_PKT_COUNTER_MAX);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.mdr_pkt_stats), &id,
				per_cpu)) {
		err = -errno;
		goto out;
	}
	for (int cpu = 0; cpu < ncpus; cpu++)
		for (int c = 0; c < MDR_PKT_COUNTER_MAX; c++)
			out[c] += per_cpu[cpu].count[c];
out:
	free(per_cpu);
	return err;
}

/* ---- The runner ---- */

static struct bpf_program *prog_of(enum prog_id id)
{
	switch (id) {
	case TAP: return skel->progs.mdr_tap_ingress;
	case TAP_XDP: return skel->progs.mdr_tap_xdp;
	case LINK: return skel->progs.mdr_link_ingress;
	case PROXY: return skel->progs.mdr_proxy_egress;
	}
	return NULL;
}

/*
 * One pass of @in through @prog, on this namespace's loopback device as
 * test_run's skb or xdp_buff sees it; the output frame in @out.
 */
static int test_run(enum prog_id prog, const struct pkt *in, uint8_t *out,
		    __u32 *out_len, int *retval, char *why, size_t n)
{
	struct __sk_buff skb = { .ifindex = lo_ifindex }, skb_out = {};
	/* XDP wants data_end = the frame's length, the rest zero. */
	struct xdp_md xdp = { .data_end = (__u32)in->len,
			      .ingress_ifindex = lo_ifindex },
		      xdp_out = {};
	bool is_xdp = prog == TAP_XDP;
	__u32 ifindex;

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->b,
		    .data_size_in = (__u32)in->len, .data_out = out,
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

/* The tap program run_tap() uses: the one the fixture runs through. */
static enum prog_id tap_hook = TAP;

int xdp_verdict(int tc_verdict, int counter)
{
	switch (tc_verdict) {
	case TC_ACT_OK: return XDP_PASS;
	case TC_ACT_SHOT: return XDP_DROP;
	case TC_ACT_REDIRECT:
		/* TC answers with bpf_redirect() to the tap; XDP bounces. */
		if (counter == MDR_PKT_ARP_REPLIED ||
		    counter == MDR_PKT_NDP_REPLIED)
			return XDP_TX;
		return XDP_REDIRECT;
	}
	return -1;
}

/*
 * Runs @s through the tap program the way a fixture does; the state it
 * leaves is the fixture's starting point. @verdict is TC's, mapped for
 * XDP when the fixture runs there (the setups send SYNs only). -EPROTO:
 * not the verdict a setup step expects, so the fixture's premise does not
 * hold.
 */
int run_tap(const struct pkt_spec *s, int verdict)
{
	uint8_t out[PKT_MAX + 64];
	__u32 out_len = sizeof(out);
	char why[128];
	struct pkt p;
	int err, got;

	build(s, &p);
	err = test_run(tap_hook, &p, out, &out_len, &got, why, sizeof(why));
	if (err)
		return err;
	if (tap_hook == TAP_XDP)
		verdict = xdp_verdict(verdict, -1);
	return got == verdict ? 0 : -EPROTO;
}

/* The first differing byte, for a failure message that points at it. */
static void describe_diff(const struct pkt *want, const uint8_t *got,
			  size_t got_len, char *why, size_t n)
{
	size_t i;

	if (got_len != want->len) {
		snprintf(why, n, "output is %zu bytes, expected %zu", got_len,
			 want->len);
		return;
	}
	for (i = 0; i < got_len && got[i] == want->b[i]; i++)
		;
	snprintf(why, n, "output byte %zu is %#04x, expected %#04x", i, got[i],
		 want->b[i]);
}

/* Failures name a counter as the BPF code does: MDR_DROP_NO_NEIGH. */
#define COUNTER_X_ID(id, name, kind) [id] = #id,
static const char *const counter_names[MDR_PKT_COUNTER_MAX] = {
	MDR_PKT_COUNTERS(COUNTER_X_ID)
};
#undef COUNTER_X_ID

static bool counters_ok(const struct fixture *f,
			__u64 before[N_CHECKED_IDS][MDR_PKT_COUNTER_MAX],
			char *why, size_t n)
{
	__u64 after[MDR_PKT_COUNTER_MAX];

	for (__u32 id = 0; id < N_CHECKED_IDS; id++) {
		if (read_counters(id, after)) {
			snprintf(why, n, "cannot read mdr_pkt_stats[%u]", id);
			return false;
		}
		for (int c = 0; c < MDR_PKT_COUNTER_MAX; c++) {
			__u64 want = before[id][c] + (f->counted &&
						      f->count_id == id &&
						      f->counter == c);

			if (after[c] != want) {
				snprintf(
					why, n,
					"%s of id %u moved by %lld, expected %lld",
					counter_names[c], id,
					(long long)(after[c] - before[id][c]),
					(long long)(want - before[id][c]));
				return false;
			}
		}
	}
	return true;
}

static bool run_fixture(const struct fixture *f, char *why, size_t n)
{
	__u64 before[N_CHECKED_IDS][MDR_PKT_COUNTER_MAX];
	uint8_t out[PKT_MAX + 64];
	__u32 out_len = sizeof(out);
	struct pkt in, want;
	int err, verdict;

	build(&f->in, &in);
	build(f->out ? f->out : &f->in, &want);

	tap_hook = f->prog == TAP_XDP ? TAP_XDP : TAP;
	err = reset_state();
	if (!err && f->setup)
		err = f->setup();
	if (err) {
		snprintf(why, n, "cannot set up the maps: %s", strerror(-err));
		return false;
	}
	for (__u32 id = 0; id < N_CHECKED_IDS; id++)
		if (read_counters(id, before[id])) {
			snprintf(why, n, "cannot read mdr_pkt_stats[%u]", id);
			return false;
		}

	if (test_run(f->prog, &in, out, &out_len, &verdict, why, n))
		return false;
	if (verdict != f->verdict) {
		snprintf(why, n, "verdict %d, expected %d", verdict,
			 f->verdict);
		return false;
	}
	if (out_len != want.len || memcmp(out, want.b, want.len)) {
		describe_diff(&want, out, out_len, why, n);
		return false;
	}
	if (!csums_ok(out, out_len, why, n))
		return false;
	if (!counters_ok(f, before, why, n))
		return false;
	return !f->check || f->check(why, n);
}

void report(bool ok, const char *name, const char *why)
{
	if (ok) {
		printf("ok - %s\n", name);
		check_passed++;
	} else {
		printf("not ok - %s: %s\n", name, why);
		check_failed++;
	}
}

void run_fixtures(const struct fixture_table *t)
{
	char why[256];

	for (size_t i = 0; i < t->len; i++) {
		why[0] = '\0';
		report(run_fixture(&t->fixtures[i], why, sizeof(why)),
		       t->fixtures[i].name, why);
	}
}

/*
 * The XDP twin of a tap fixture: the same frame and state, the verdict
 * XDP gives for TC's, the same output and counters, unless the fixture
 * says how and why XDP differs.
 */
static struct fixture as_xdp(const struct fixture *f)
{
	struct fixture x = *f;
	const struct xdp_differs *d = f->xdp;

	x.prog = TAP_XDP;
	x.verdict = xdp_verdict(f->verdict, f->counted ? f->counter : -1);
	if (d) {
		x.verdict = d->verdict;
		x.out = d->out;
		x.counted = d->counted;
		x.count_id = d->count_id;
		x.counter = d->counter;
		x.check = d->check;
	}
	return x;
}

void run_fixtures_xdp(const struct fixture_table *t)
{
	char name[256], why[256];

	for (size_t i = 0; i < t->len; i++) {
		const struct fixture *f = &t->fixtures[i];
		struct fixture x;

		if (f->prog != TAP)
			continue;
		x = as_xdp(f);
		why[0] = '\0';
		snprintf(name, sizeof(name), "xdp: %s", f->name);
		report(run_fixture(&x, why, sizeof(why)), name, why);
	}
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int harness_init(const char **what)
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
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0) {
		*what = "counting CPUs";
		return ncpus;
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

void harness_fini(void)
{
	mdredir_bpf__destroy(skel);
}
