// SPDX-License-Identifier: GPL-2.0-only
/* Our programs on interfaces: TC filters and XDP programs. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>

#include "datapath/hooks.h"
#include "datapath/netlink.h"
#include "lib/log.h"

int mdr_tc_attach(int ifindex, enum bpf_tc_attach_point where, int prog_fd,
		  bool *hook_created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MDR_TC_HANDLE,
			    .priority = MDR_TC_PRIORITY, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	if (hook_created)
		*hook_created = (err == 0);
	err = bpf_tc_attach(&hook, &opts);
	if (err && hook_created && *hook_created)
		bpf_tc_hook_destroy(&hook);
	return err;
}

/* A clsact qdisc with no filter left in either direction does nothing. */
static bool clsact_is_empty(int ifindex)
{
	return mdr_nl_tc_filter_count(ifindex, TC_H_MAKE(TC_H_CLSACT,
							 TC_H_MIN_INGRESS)) ==
		       0 &&
	       mdr_nl_tc_filter_count(ifindex, TC_H_MAKE(TC_H_CLSACT,
							 TC_H_MIN_EGRESS)) == 0;
}

int mdr_tc_detach(int ifindex, enum bpf_tc_attach_point where,
		  bool destroy_hook)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MDR_TC_HANDLE,
			    .priority = MDR_TC_PRIORITY);
	int err;

	err = bpf_tc_detach(&hook, &opts);
	if (err == -ENOENT || err == -EINVAL)
		err = 0; /* already gone */
	/*
	 * Destroying clsact takes every filter with it, so even a qdisc we
	 * created goes only once nobody else has put a filter there since.
	 */
	if (destroy_hook && clsact_is_empty(ifindex)) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	return err;
}

bool mdr_prog_is_ours(uint32_t prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	bool ours;
	int fd;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	       !strncmp(info.name, "mdr_", 4);
	close(fd);
	return ours;
}

static __u32 xdp_flags(__u32 mode)
{
	return mode == MDR_MODE_XDP_GENERIC ? XDP_FLAGS_SKB_MODE
					    : XDP_FLAGS_DRV_MODE;
}

int mdr_xdp_attach(int ifindex, int prog_fd, __u32 mode)
{
	/* Replaces an earlier one of ours; another program is refused. */
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 cur_mode, cur = mdr_xdp_prog_id(ifindex, &cur_mode);
	int old_fd = -1, err;

	if (cur && !mdr_prog_is_ours(cur))
		return -EBUSY;
	if (cur) {
		old_fd = bpf_prog_get_fd_by_id(cur);
		opts.old_prog_fd = old_fd;
	}
	err = bpf_xdp_attach(ifindex, prog_fd,
			     xdp_flags(mode) |
				     (cur ? XDP_FLAGS_REPLACE
					  : XDP_FLAGS_UPDATE_IF_NOEXIST),
			     &opts);
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

void mdr_xdp_detach(int ifindex, __u32 mode)
{
	__u32 cur_mode, cur = mdr_xdp_prog_id(ifindex, &cur_mode);

	(void)mode;
	if (cur && mdr_prog_is_ours(cur))
		bpf_xdp_detach(ifindex, xdp_flags(cur_mode), NULL);
}

__u32 mdr_xdp_mode(uint8_t attach_mode)
{
	return attach_mode == XDP_ATTACHED_SKB ? MDR_MODE_XDP_GENERIC
					       : MDR_MODE_XDP;
}

uint32_t mdr_xdp_prog_id(int ifindex, __u32 *mode)
{
	struct mdr_nl_link l;

	/* Not bpf_xdp_query(): it dumps every interface to find this one. */
	if (mdr_nl_link_get(ifindex, &l))
		return 0;
	*mode = mdr_xdp_mode(l.xdp_attach_mode);
	return l.xdp_prog_id;
}

uint32_t mdr_tc_prog_id(int ifindex, enum bpf_tc_attach_point where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MDR_TC_HANDLE,
			    .priority = MDR_TC_PRIORITY);

	if (bpf_tc_query(&hook, &opts))
		return 0;
	return opts.prog_id;
}
