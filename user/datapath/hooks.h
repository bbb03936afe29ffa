/* SPDX-License-Identifier: GPL-2.0-only */
/* Our programs on interfaces: TC filters (clsact) and XDP programs. */
#ifndef MDR_HOOKS_H
#define MDR_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include "mdredir.h"

int mdr_tc_attach(int ifindex, enum bpf_tc_attach_point where, int prog_fd,
		  bool *hook_created);
/*
 * Removes our filter; with @destroy_hook, the clsact qdisc too if no other
 * filter is left on it.
 */
int mdr_tc_detach(int ifindex, enum bpf_tc_attach_point where,
		  bool destroy_hook);
/* Whether a program is one of ours (its name says mdr_). */
bool mdr_prog_is_ours(uint32_t prog_id);
/* XDP in @mode (MDR_MODE_XDP native, MDR_MODE_XDP_GENERIC). */
int mdr_xdp_attach(int ifindex, int prog_fd, __u32 mode);
/* Takes our XDP program off, if the one there is ours. */
void mdr_xdp_detach(int ifindex, __u32 mode);
/* Our mode (MDR_MODE_XDP*) for an XDP_ATTACHED_* attach mode. */
__u32 mdr_xdp_mode(uint8_t attach_mode);
/* The id of the XDP program on @ifindex in any mode, 0 if none. */
uint32_t mdr_xdp_prog_id(int ifindex, __u32 *mode);
/* The id of the program behind our filter, 0 if there is none. */
uint32_t mdr_tc_prog_id(int ifindex, enum bpf_tc_attach_point where);

#endif
