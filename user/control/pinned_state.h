/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pinned BPF objects under MDR_PIN_DIR: the maps that are mdredir's
 * whole state, and the programs attached to interfaces.
 */
#ifndef MDR_STATE_H
#define MDR_STATE_H

#include <stdbool.h>
#include "mdredir.h"

struct mdr_state {
	int config_fd;
	int iface_fd;
	int attach_fd;
	int link_fd;
	int neigh_fd;
	int pkt_stats_fd;
	int http_stats_fd;
	int syn_rate_fd;
	int tap_prog_fd;	/* programs: -1 unless opened with */
	int xdp_prog_fd;	/* MDR_STATE_LOAD */
	int link_prog_fd;
	int egress_prog_fd;
	bool loaded;		/* the programs were loaded by this open */
};

enum mdr_state_mode {
	MDR_STATE_READ,		/* existing maps only; -ENOENT if none */
	MDR_STATE_LOAD,		/* create maps and programs as needed */
};

/* Marks every fd unused, so mdr_state_close() is always safe. */
void mdr_state_init(struct mdr_state *st);
int mdr_state_open(struct mdr_state *st, enum mdr_state_mode mode);
void mdr_state_close(struct mdr_state *st);

/*
 * Makes the pinned programs this build's. An upgrade leaves the old ones
 * pinned and running: this build's are loaded (reusing the pinned maps)
 * and compared by tag, the kernel's hash of a program's instructions; if
 * any differs, ours are pinned in their place and st's program
 * descriptors point at them. Moving the hooks over is the caller's
 * (mdr_rehook_all(), mdr_dp_rehook_links()). 1 replaced, 0 already
 * current (at once if st's open loaded them itself), -errno (say, pinned
 * maps this build cannot use).
 */
int mdr_state_renew_programs(struct mdr_state *st);
bool mdr_state_exists(void);
/* Removes every pin; objects still in use live on until released. */
int mdr_state_unpin(void);

int mdr_state_get_config(const struct mdr_state *st, struct mdr_config *cfg);
int mdr_state_set_config(const struct mdr_state *st,
			 const struct mdr_config *cfg);

/* Calls @fn for every attachment; stops early on a non-zero return. */
int mdr_state_for_each_attachment(const struct mdr_state *st,
				  int (*fn)(__u32 id,
					    const struct mdr_attachment *att,
					    void *ctx),
				  void *ctx);

#endif
