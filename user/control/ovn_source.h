/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ovn source: on a compute host under OVN, each VM's own tap is
 * attached with its instance, project and network, as OVN's databases say,
 * with no command and no namespace per network.
 *
 * - The local Open vSwitch database names our chassis (Open_vSwitch
 *   external_ids:system-id) and each plugged tap: an Interface row with
 *   external_ids iface-id (the logical port), attached-mac, and vm-uuid
 *   (os-vif) or vm-id (libvirt).
 * - The Southbound database, through conditions the server evaluates
 *   (monitor_cond), gives our Chassis row, the Port_Binding rows bound to
 *   it (chassis, or additional_chassis while a VM migrates here) and each
 *   network's metadata port (type localport), and Datapath_Binding's
 *   neutron-<network id> names. Other chassis' ports never reach us.
 * - A binding of ours, its Interface and a tap of that name in the host
 *   namespace make an attachment: the instance is the binding's
 *   neutron:device_id, the project its neutron:project_id, --mac/--ip its
 *   "MAC IP..." addresses, and the metadata port's IP on the guest's
 *   subnet is the next hop its route to 169.254.169.254 goes through
 *   (DHCP option 121), whose ARP the tap program answers. (That join is
 *   ovn_join.h's.)
 *
 * Every change converges the attachments on what the databases say: new
 * ones attached, changed ones updated in place (same service address),
 * gone ones detached. Before both databases have been read once nothing
 * is done, and while one is unreachable what was attached stays: a stale
 * attachment serves, a detached one would not.
 *
 * Runs in the watcher's thread, from its poll loop (watch.c).
 */
#ifndef MDR_OVN_SOURCE_H
#define MDR_OVN_SOURCE_H

#include <poll.h>

/* The OVN metadata agent's settings ([ovs] and [ovn] of its ini). */
struct mdr_ovn_config {
	const char *ovs_remote;	    /* [ovs] ovsdb_connection */
	const char *sb_remotes;	    /* [ovn] ovn_sb_connection, comma list */
	const char *sb_private_key; /* [ovn] ovn_sb_private_key, for ssl: */
	const char *sb_certificate; /* [ovn] ovn_sb_certificate */
	const char *sb_ca_cert;	    /* [ovn] ovn_sb_ca_cert */
	unsigned int probe_ms;	    /* [ovn] ovsdb_probe_interval; 0: none */
};

/* Descriptors the source may ask to be polled. */
#define MDR_OVN_SOURCE_FDS 2

/* Whether @cfg can run: 0, or -errno after pr_err saying what is wrong. */
int mdr_ovn_config_check(const struct mdr_ovn_config *cfg);

/* A source for @cfg (copied), not yet connected; NULL if out of memory. */
struct mdr_ovn_source *mdr_ovn_source_new(const struct mdr_ovn_config *cfg);
void mdr_ovn_source_free(struct mdr_ovn_source *src);
/*
 * Fills @pfd (room for MDR_OVN_SOURCE_FDS) with what to poll; returns how
 * many, and in *timeout_ms (lowered, never raised; -1: none) when to call
 * mdr_ovn_source_run() even if nothing is ready.
 */
unsigned int mdr_ovn_source_poll(struct mdr_ovn_source *src, struct pollfd *pfd,
				 int *timeout_ms);
/* Does what the @n entries of @pfd (from the last poll) and the clock
 * allow: connects, reads, and converges the attachments. */
void mdr_ovn_source_run(struct mdr_ovn_source *src, const struct pollfd *pfd,
			unsigned int n);
/* A link came, changed or went in the host namespace: a tap may have. */
void mdr_ovn_source_link_event(struct mdr_ovn_source *src);

#endif
