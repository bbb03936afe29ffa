// SPDX-License-Identifier: GPL-2.0-only
/* Map state beyond the default that several tables use, and its checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "frames.h"
#include "harness.h"

/* ---- Setup hooks: the state a fixture needs beyond the default ---- */

int know_guest(void)
{
	return set_neigh(TEST_ATTACH_ID, AF_INET, GUEST_IP, GUEST_MAC);
}

/* The guest's IP was last seen with another MAC (a recycled address). */
int know_guest_old_mac(void)
{
	return set_neigh(TEST_ATTACH_ID, AF_INET, GUEST_IP, GUEST2_MAC);
}

int know_guest6(void)
{
	return set_neigh(TEST_ATTACH_ID, AF_INET6, GUEST6_IP, GUEST_MAC);
}

int know_guest6_old_mac(void)
{
	return set_neigh(TEST_ATTACH_ID, AF_INET6, GUEST6_IP, GUEST2_MAC);
}

int know_global_guest6(void)
{
	return set_neigh(TEST_ATTACH_ID, AF_INET6, GUEST6_GLOBAL_IP, GUEST_MAC);
}

/* The tap is not attached: its mdr_iface entry is gone. */
int forget_iface(void)
{
	struct mdr_iface_key ik = { test_netns, lo_ifindex, 0 };

	return bpf_map_delete_elem(bpf_map__fd(skel->maps.mdr_iface), &ik)
		       ? -errno
		       : 0;
}

/*
 * The same ifindex is attached, but in another namespace: a frame arriving
 * here must not be taken for that attachment's.
 */
int iface_in_other_netns(void)
{
	struct mdr_iface_key other = { test_netns + 1, lo_ifindex, 0 };
	__u32 id = TEST_ATTACH_ID;
	int err = forget_iface();

	if (err)
		return err;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_iface), &other,
				   &id, 0)
		       ? -errno
		       : 0;
}

/* A reply for attachment 1 arriving on some other link veth. */
int reply_on_wrong_link(void)
{
	struct mdr_attachment att = test_attachment();
	__u32 id = TEST_ATTACH_ID;

	att.link_ifindex = lo_ifindex + 1000;
	return know_guest() ?: know_guest6() ?:
		(bpf_map_update_elem(bpf_map__fd(skel->maps.mdr_attach), &id, &att, 0)
		 ? -errno : 0);
}

/* Attachment 1 was attached with --metadata-via NEXT_HOP_IP. */
int via_next_hop(void)
{
	return set_next_hop(TEST_ATTACH_ID, NEXT_HOP_IP);
}

/* ---- Post-checks ---- */

/* mdr_neigh maps {@id, @family, @vm_ip} to @mac. */
bool has_neigh(__u32 id, int family, const char *vm_ip, const uint8_t *mac,
	       char *why, size_t n)
{
	int fd = bpf_map__fd(skel->maps.mdr_neigh);
	struct mdr_neigh_key key = neigh_key(id, family, vm_ip);
	struct mdr_neigh val;

	if (bpf_map_lookup_elem(fd, &key, &val)) {
		snprintf(why, n, "mdr_neigh has no entry for {%u, %s, %s}", id,
			 family == AF_INET ? "AF_INET" : "AF_INET6", vm_ip);
		return false;
	}
	if (memcmp(val.mac, mac, 6)) {
		snprintf(why, n, "mdr_neigh {%u, %s} holds the wrong MAC", id,
			 vm_ip);
		return false;
	}
	return true;
}

/* mdr_neigh holds @want entries in all. */
bool neigh_count(int want, char *why, size_t n)
{
	int fd = bpf_map__fd(skel->maps.mdr_neigh);
	struct mdr_neigh_key k;
	void *prev = NULL;
	int entries = 0;

	for (; bpf_map_get_next_key(fd, prev, &k) == 0; prev = &k)
		entries++;
	if (entries != want) {
		snprintf(why, n, "mdr_neigh has %d entries, expected %d",
			 entries, want);
		return false;
	}
	return true;
}

/*
 * mdr_neigh holds exactly one guest, {1, @family, @vm_ip} -> @mac: the
 * key is compared whole, so a family or padding mix-up shows.
 */
bool learnt_only_as(int family, const char *vm_ip, const uint8_t *mac,
		    char *why, size_t n)
{
	return has_neigh(TEST_ATTACH_ID, family, vm_ip, mac, why, n) &&
	       neigh_count(1, why, n);
}

bool learnt_only(int family, const char *vm_ip, char *why, size_t n)
{
	return learnt_only_as(family, vm_ip, GUEST_MAC, why, n);
}

bool guest_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET, GUEST_IP, why, n);
}

bool guest6_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET6, GUEST6_IP, why, n);
}

bool global_guest6_learnt(char *why, size_t n)
{
	return learnt_only(AF_INET6, GUEST6_GLOBAL_IP, why, n);
}

/* Untouched guest traffic must not teach us anything either. */
bool nothing_learnt(char *why, size_t n)
{
	struct mdr_neigh_key key;

	if (bpf_map_get_next_key(bpf_map__fd(skel->maps.mdr_neigh), NULL,
				 &key) == 0) {
		snprintf(
			why, n,
			"mdr_neigh learnt a guest from a packet it left alone");
		return false;
	}
	return true;
}

/* ---- Configuration: the reply TTL ---- */

int ttl1_know_guest(void)
{
	return set_config(0, 0, 1) ?: know_guest();
}

int ttl1_know_guest6(void)
{
	return set_config(0, 0, 1) ?: know_guest6();
}

int ttl2_know_guest(void)
{
	return set_config(0, 0, 2) ?: know_guest();
}

int ttl1(void)
{
	return set_config(0, 0, 1);
}
