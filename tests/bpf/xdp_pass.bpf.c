// SPDX-License-Identifier: GPL-2.0-only
/* Someone else's XDP program, for tests: mdredir must leave it alone. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
