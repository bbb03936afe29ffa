// SPDX-License-Identifier: GPL-2.0-only
/* The fixture runner (see harness.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "frames.h"
#include "harness.h"

/* ---- Counters ---- */

/* Sums one attachment's per-CPU counters. */
static int read_counters(__u32 id, __u64 out[MDR_PKT_COUNTER_MAX])
{
	int ncpus = libbpf_num_possible_cpus();
	struct mdr_pkt_stats *per_cpu;
	int err = 0;

	if (ncpus < 0)
		return ncpus;
	per_cpu = calloc(ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	memset(out, 0, sizeof(__u64) * MDR_PKT_COUNTER_MAX);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.mdr_pkt_stats2), &id,
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
	err = test_run(tap_hook, p.b, p.len, out, &out_len, &got, why,
		       sizeof(why));
	if (err)
		return err;
	if (tap_hook == TAP_XDP)
		verdict = xdp_verdict(verdict, -1);
	return got == verdict ? 0 : -EPROTO;
}

int send_syns(const struct pkt_spec *s, int count, int verdict)
{
	int err = 0;

	for (int i = 0; i < count && !err; i++)
		err = run_tap(s, verdict);
	return err;
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
			snprintf(why, n, "cannot read mdr_pkt_stats2[%u]", id);
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
			snprintf(why, n, "cannot read mdr_pkt_stats2[%u]", id);
			return false;
		}

	if (test_run(f->prog, in.b, in.len, out, &out_len, &verdict, why, n))
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
