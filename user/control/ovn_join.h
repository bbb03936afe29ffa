/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ovn source's join (ovn_source.h): from the rows of OVN's databases,
 * the attachments this host should have. A pure function of the rows as
 * an OVSDB replica keeps them (mdr_ovsdb_rows(): {uuid: row}, each as the
 * server sends it: a column at its default may be absent, a set of one
 * element is the element, maps are ["map", [[k, v]...]], uuids
 * ["uuid", "..."]), so that it can be tested on recorded rows. Rows of
 * any other shape are not served, never a crash.
 *
 * A Port_Binding makes an attachment when it is a VM's port (no type)
 * bound to our chassis (chassis, or additional_chassis while the VM
 * migrates here), a local Interface has its logical port as iface-id, and
 * a tap of that Interface's name exists. The instance is its
 * neutron:device_id, the project its neutron:project_id, the network its
 * datapath's neutron-<id> name, --mac/--ip its "MAC IP..." addresses; the
 * next hop to metadata is the IPv4 of the network's metadata port (type
 * localport) on the guest's subnet, by its neutron:cidrs; a metadata port
 * without them (not made by Neutron) gives the first IPv4 of its
 * addresses, no prefix being known.
 */
#ifndef MDR_OVN_JOIN_H
#define MDR_OVN_JOIN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "control/attach.h"

/* One attachment to make: @req points into the strings beside it. */
struct mdr_ovn_want {
	struct mdr_attach_request req;
	char ifname[IF_NAMESIZE];
	char network_id[MDR_ID_LEN];
	char instance_id[MDR_ID_LEN];
	char project_id[MDR_ID_LEN];
};

struct mdr_ovn_plan {
	struct mdr_ovn_want *w; /* free() it */
	size_t n;
};

/* What the join reads, and whom it asks. */
struct mdr_ovn_rows {
	const json_t *interfaces;    /* local Interface */
	const json_t *port_bindings; /* Southbound Port_Binding */
	const json_t *datapaths;     /* Southbound Datapath_Binding */
	const char *chassis;	     /* our Chassis row's uuid */
	/* Whether a tap named @name exists (where it is attached). */
	bool (*tap_exists)(const char *name, void *ctx);
	/* A binding of ours that cannot be served, and why (@msg). */
	void (*refused)(const char *msg, void *ctx);
	void *ctx;
};

/* The attachments @rows ask for, in @p; 0 or -ENOMEM. */
int mdr_ovn_plan(const struct mdr_ovn_rows *rows, struct mdr_ovn_plan *p);

/* Our chassis's name: external_ids:system-id of an Open_vSwitch row of
 * @open_vswitch; NULL if none says. */
const char *mdr_ovn_system_id(const json_t *open_vswitch);
/* The uuid of the row of Chassis rows @chassis named @system_id, or NULL. */
const char *mdr_ovn_chassis_uuid(const json_t *chassis, const char *system_id);

#endif
