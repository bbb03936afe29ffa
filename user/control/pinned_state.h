/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pinned BPF objects under MDR_PIN_DIR: the maps that are mdredir's
 * whole state, and the programs attached to interfaces.
 *
 * This module owns the maps: everything else reads and writes them through
 * the typed calls below (no bpf_map_* call elsewhere), so a map's layout,
 * its per-CPU shape and its error convention live in one place. Every call
 * returns 0 or a negative errno.
 */
#ifndef MDR_STATE_H
#define MDR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include "mdredir.h"

struct mdr_state {
	int config_fd;
	int iface_fd;
	int attach_fd;
	int link_fd;
	int neigh_fd;
	int pkt_stats_fd; /* -1 in pins of an older build (READ) */
	int http_stats_fd;
	int syn_rate_fd;
	int next_hop_fd;    /* -1 in pins of an older build (READ) */
	int guest_limit_fd; /* likewise */
	int guest_syn_fd;   /* likewise */
	int tap_prog_fd;    /* programs: -1 unless opened with */
	int xdp_prog_fd;    /* MDR_STATE_LOAD */
	int link_prog_fd;
	int egress_prog_fd;
	bool loaded; /* every program was loaded and pinned by this open */
};

enum mdr_state_mode {
	MDR_STATE_READ, /* existing maps only; -ENOENT if none */
	MDR_STATE_LOAD, /* create maps and programs as needed */
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
/*
 * Pins st's maps and programs again where their pins are missing (removed
 * by hand, or the whole directory): the objects live on while anything
 * holds them, and st does. Counts what it pinned into @maps and @progs;
 * 0 or -errno. Pins that are there are left alone.
 */
int mdr_state_repin(const struct mdr_state *st, unsigned int *maps,
		    unsigned int *progs);

int mdr_state_get_config(const struct mdr_state *st, struct mdr_config *cfg);
int mdr_state_set_config(const struct mdr_state *st,
			 const struct mdr_config *cfg);

/* Calls @fn for every attachment, by id; stops early on a non-zero
 * return, which it returns. @fn may change the attachments. */
int mdr_state_for_each_attachment(const struct mdr_state *st,
				  int (*fn)(__u32 id,
					    const struct mdr_attachment *att,
					    void *ctx),
				  void *ctx);
/* Whether anything is attached at all. */
bool mdr_state_has_attachments(const struct mdr_state *st);
/* The ids in use, sorted, at most @max; how many (or -errno). */
int mdr_state_attachment_ids(const struct mdr_state *st, __u32 *ids,
			     size_t max);
/* -ENOENT when @id is not attached. */
int mdr_state_get_attachment(const struct mdr_state *st, __u32 id,
			     struct mdr_attachment *att);
/* The attachment id of an interface; -ENOENT when it is not attached. */
int mdr_state_find_iface(const struct mdr_state *st,
			 const struct mdr_iface_key *key, __u32 *id);
/* Records @att under @id; with @key, maps that interface to it too. */
int mdr_state_put_attachment(const struct mdr_state *st, __u32 id,
			     const struct mdr_attachment *att,
			     const struct mdr_iface_key *key);
/*
 * Forgets attachment @id, its next hop and its interface @key (either may
 * be gone).
 */
void mdr_state_delete_attachment(const struct mdr_state *st, __u32 id,
				 const struct mdr_iface_key *key);
/*
 * The next hop attachment @id answers ARP for (--metadata-via); zero when
 * none, also in pins of an older build, which have no such map.
 */
int mdr_state_get_next_hop(const struct mdr_state *st, __u32 id,
			   struct mdr_next_hop *hop);
/* Sets it (zero: none); -ENOENT for a next hop where there is no map. */
int mdr_state_set_next_hop(const struct mdr_state *st, __u32 id,
			   const struct mdr_next_hop *hop);
/*
 * Forgets the guests learnt behind attachment @id: their MACs and their
 * new-connection rate state.
 */
int mdr_state_forget_guests(const struct mdr_state *st, __u32 id);

/*
 * Sets the new-connection rate per guest the programs apply; -ENOENT in
 * pins of an older build, which have no such map.
 */
int mdr_state_set_guest_limit(const struct mdr_state *st,
			      const struct mdr_guest_limit *limit);

/* Counters of attachment @id (0: what no attachment could be charged). */
int mdr_state_reset_counters(const struct mdr_state *st, __u32 id);
/*
 * The packet counters summed over every CPU; zero in pins of an older
 * build, whose counter map has another layout.
 */
int mdr_state_get_pkt_stats(const struct mdr_state *st, __u32 id,
			    struct mdr_pkt_stats *sum);
int mdr_state_get_http_stats(const struct mdr_state *st, __u32 id,
			     struct mdr_http_stats *stats);
/*
 * The request counters, mapped into memory (the map is mmapable), indexed
 * by attachment id: the daemon counts each request with no system call.
 * Unmap @len bytes with munmap().
 */
struct mdr_http_stats *mdr_state_map_http_stats(const struct mdr_state *st,
						size_t *len);
/*
 * The attachments' generation: every change of an attachment (put,
 * delete) bumps it once the change is made, so that whoever keeps copies
 * of attachments (the daemon, per connection) learns with one load from
 * the mapped request counters that they may be stale, and reads the map
 * again. It lives in slot 0 of mdr_http_stats, which no attachment uses
 * (ids start at 1): no new map, and pins of an older build carry it too.
 * Read it before the attachment it validates.
 */
static inline __u64 mdr_attach_generation(const struct mdr_http_stats *mapped)
{
	return __atomic_load_n(&mapped[0].requests, __ATOMIC_ACQUIRE);
}

/* The link veth pair of the namespace of @cookie; -ENOENT if none. */
int mdr_state_get_link(const struct mdr_state *st, __u64 cookie,
		       struct mdr_link *link);
int mdr_state_put_link(const struct mdr_state *st, __u64 cookie,
		       const struct mdr_link *link);
void mdr_state_delete_link(const struct mdr_state *st, __u64 cookie);
/* Calls @fn for every link; as mdr_state_for_each_attachment(). */
int mdr_state_for_each_link(const struct mdr_state *st,
			    int (*fn)(__u64 cookie, const struct mdr_link *link,
				      void *ctx),
			    void *ctx);

#endif
