/* SPDX-License-Identifier: GPL-2.0-only */
/* Attaching an interface to the data path, and detaching it. */
#ifndef MDR_ATTACH_H
#define MDR_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include "mdredir.h"

struct mdr_state;

struct mdr_attach_request {
	const char *ifname;
	const char *netns;	/* "" for the host namespace */
	const char *network_id; /* each "" when not given */
	const char *router_id;
	const char *instance_id;
	const char *project_id;
	bool xdp;		/* --mode xdp: XDP, native if it can */
	enum mdr_source source; /* who asks: cli unless a source */
	bool has_vm_mac;
	uint8_t vm_mac[6];
	unsigned int n_fixed_ips;
	struct mdr_fixed_ip fixed_ips[MDR_MAX_FIXED_IPS];
	/*
	 * --metadata-via: the IPv4 address (network order) the guest's route
	 * to 169.254.169.254 goes via, whose ARP is answered too; 0: none.
	 */
	uint32_t next_hop4;
};

/*
 * Attaches, or updates an existing attachment; fills @id. What the
 * operator attached (cli) stays theirs: a source's request for it is
 * refused with -EEXIST (and logged), while an operator's attach of an
 * interface a source made takes it over.
 */
int mdr_attach(const struct mdr_attach_request *req, uint32_t *id);
/*
 * Attaches @n interfaces under one lock, reading the state once. Every
 * interface is checked first: if one is missing or unfit, nothing is done.
 * Then each attaches on its own; @ids[i] is 0 where one failed (reported),
 * and the first error is returned.
 */
int mdr_attach_many(const struct mdr_attach_request *reqs, size_t n,
		    uint32_t *ids);
/*
 * What a source does with the interfaces it found: mdr_attach_many(), and
 * if one of them went away meanwhile (which stops the whole batch), each
 * on its own. @ids[i] is 0 where one failed; returns how many did, with
 * the last one's reason in @why.
 */
size_t mdr_attach_each(const struct mdr_attach_request *reqs, size_t n,
		       uint32_t *ids, char *why, size_t why_len);
int mdr_detach(const char *ifname, const char *netns);
/*
 * Forgets the attachments of an interface that no longer exists (@ifindex
 * in the namespace of @netns_cookie), or of a whole namespace that is gone
 * (@ifindex 0). Nothing attached there is not an error.
 */
int mdr_detach_vanished(__u64 netns_cookie, int ifindex);
/*
 * Takes the programs off the attached interface (TC, and XDP in XDP mode)
 * if it is still the one that was attached; leaves the maps alone.
 */
void mdr_unhook(const struct mdr_attachment *att);

/*
 * Points every attachment's hooks at st's programs, each swapped in place
 * (the TC filter and, in XDP mode, the XDP program): after
 * mdr_state_renew_programs() replaced them. Returns how many attachments
 * were moved; one that cannot be is warned about and left as it is.
 */
unsigned int mdr_rehook_all(const struct mdr_state *st);
/*
 * Whether the attached interface still exists, as the same interface, in
 * the namespace the caller is in (which must be the attachment's).
 */
bool mdr_attached_iface_here(const struct mdr_attachment *att);

#endif
