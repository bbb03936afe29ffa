/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Named network namespaces, the way `ip netns` makes them (a bind mount
 * under /run/netns), and switching the calling thread between them.
 */
#ifndef MDR_NETNS_H
#define MDR_NETNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>

#define MDR_NETNS_RUN_DIR "/run/netns"

/* Where the caller was before mdr_netns_enter(), to go back to. */
struct mdr_netns_saved {
	int fd;
};

int mdr_netns_init(void);
/* "" or NULL means the host namespace (the one mdredir started in). */
bool mdr_netns_is_host(const char *name);
int mdr_netns_valid_name(const char *name);
bool mdr_netns_exists(const char *name);
int mdr_netns_open(const char *name);
/*
 * Namespace @name's descriptor, as mdr_netns_open()'s but opened from
 * inside: /proc/PID/fd/N reads net:[INODE], not the path of a mount that
 * `ip netns delete` detaches, so mount(8) can bind it to a name again.
 */
int mdr_netns_hold(const char *name);
int mdr_netns_enter(const char *name, struct mdr_netns_saved *saved);
int mdr_netns_enter_fd(int fd, struct mdr_netns_saved *saved);
void mdr_netns_leave(struct mdr_netns_saved *saved);
int mdr_netns_create(const char *name);
int mdr_netns_delete(const char *name);
/*
 * Keeps @name the name of the namespace @fd holds: a namespace lives on
 * after `ip netns delete` while anything holds it, and is named again
 * here, as `ip netns attach` would. 1 named again, 0 it was, -EEXIST when
 * another namespace has the name, -EXDEV when a name bound here would not
 * be seen outside this mount namespace, or -errno.
 */
int mdr_netns_keep_name(int fd, const char *name);
int mdr_netns_cookie(__u64 *cookie);
/*
 * The inode of /run/netns/NAME: a namespace made again under an old name
 * has a new one. 0 for the host, (ino_t)-1 when the name is gone.
 */
ino_t mdr_netns_ino(const char *name);
/* Writes a sysctl of the current namespace, e.g. "net/ipv4/conf/all/rp_filter". */
int mdr_sysctl_write(const char *path, const char *value);
/*
 * The id (nsid) that namespace @name has in namespace @in, given one if it
 * has none: netlink events from @name then reach a NETLINK_LISTEN_ALL_NSID
 * socket in @in, tagged with it. -ENOENT if @name is gone.
 */
int mdr_netns_id_in(const char *in, const char *name);
/* Calls @fn(name, ctx) for every name under /run/netns. */
int mdr_netns_for_each(int (*fn)(const char *name, void *ctx), void *ctx);

#endif
