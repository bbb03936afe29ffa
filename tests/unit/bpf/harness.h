/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The harness: the skeleton loaded privately (no pin paths, so nothing
 * here touches /sys/fs/bpf/mdredir or a running daemon), the maps put back
 * to one known attachment before every fixture, and the runner that sends
 * a fixture's frame through bpf_prog_test_run_opts and compares the
 * verdict, the output bytes, their checksums and every counter.
 *
 * A fixture is {name, program, input packet, expected verdict, expected
 * output packet, expected counter}, plus hooks that set up map state
 * beyond the default and check it afterwards.
 *
 * What test_run cannot show: where bpf_redirect() would send the packet.
 * It returns TC_ACT_REDIRECT (XDP_REDIRECT) and leaves the target in
 * per-CPU state.
 */
#ifndef MDR_TEST_HARNESS_H
#define MDR_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "mdredir.h"
#include "mdredir.skel.h"
#include "pkt.h"

/* The link id recorded in the attachment (names its proxy end only). */
#define TEST_LINK_ID	3
/* The attachment; its service address is pool + 1. */
#define TEST_ATTACH_ID	1
/* A second one, only where a fixture adds it (its own SYN budget). */
#define TEST_ATTACH2_ID 2
/* Counters are compared for ids 0 (unowned) and both attachments. */
#define N_CHECKED_IDS	3

enum prog_id { TAP, LINK, PROXY, TAP_XDP };

struct xdp_differs;

struct fixture {
	const char *name;
	enum prog_id prog;
	struct pkt_spec in;
	int verdict;
	const struct pkt_spec *out; /* NULL: output equals input */
	bool counted;		    /* else no counter may move */
	__u32 count_id;
	int counter;
	int (*setup)(void);
	bool (*check)(char *why, size_t n);
	/*
	 * A tap fixture runs through the XDP program too, its TC verdict
	 * mapped (xdp_verdict()) and all else alike; where XDP must differ,
	 * this says what it expects instead (and, in a comment, why).
	 */
	const struct xdp_differs *xdp;
};

/* What XDP expects instead, whole: verdict, output, counter, check. */
struct xdp_differs {
	int verdict;
	const struct pkt_spec *out; /* NULL: output equals input */
	bool counted;
	__u32 count_id;
	int counter;
	bool (*check)(char *why, size_t n);
};

#define COUNTS(id, c) .counted = true, .count_id = (id), .counter = (c)

/* The fixtures, one table per program (and per theme), each file's own. */
struct fixture_table {
	const struct fixture *fixtures;
	size_t len;
};

#define FIXTURE_TABLE(name, array)                        \
	const struct fixture_table name = {               \
		array, sizeof(array) / sizeof((array)[0]) \
	}

extern const struct fixture_table tap_fixtures, tap_guard_fixtures,
	tap_xdp_fixtures, tap_via_fixtures, link_fixtures, proxy_fixtures;

/* ---- harness.c: the skeleton, map state and the runner ---- */

extern struct mdredir_bpf *skel;
extern __u32 lo_ifindex;
/* test_run's devices are this namespace's: attachments are keyed by it. */
extern __u64 test_netns;

/* Loads the skeleton; a negative errno and what failed in @what. */
int harness_init(const char **what);
void harness_fini(void);

/* Attachment 1 as reset_state() stores it. */
struct mdr_attachment test_attachment(void);
struct mdr_neigh_key neigh_key(int family, const char *vm_ip);
/* mdr_neigh: guest @vm_ip of attachment 1 is at @mac. */
int set_neigh(int family, const char *vm_ip, const uint8_t *mac);
/* Runs @s through the tap program as a fixture does (see harness.c). */
int run_tap(const struct pkt_spec *s, int verdict);

/* Runs every fixture of @t, printing "ok - NAME" or "not ok - NAME: why". */
void run_fixtures(const struct fixture_table *t);
/* Runs @t's tap fixtures through the XDP program, as "xdp: NAME". */
void run_fixtures_xdp(const struct fixture_table *t);
/*
 * XDP's verdict for TC's: TC_ACT_OK -> XDP_PASS, TC_ACT_SHOT -> XDP_DROP,
 * TC_ACT_REDIRECT -> XDP_TX for an ARP or NDP answer (@counter says which
 * it was), XDP_REDIRECT for the rest.
 */
int xdp_verdict(int tc_verdict, int counter);
/* Counts one named result the same way (the harness self-tests use it). */
void report(bool ok, const char *name, const char *why);

/* ---- state.c: setup hooks and post-checks shared by the tables ---- */

int set_config(__u64 syn_interval_ns, __u64 syn_burst_ns, __u32 reply_ttl);

int know_guest(void);
int know_guest_old_mac(void);
int know_guest6(void);
int know_guest6_old_mac(void);
int know_global_guest6(void);
int forget_iface(void);
int iface_in_other_netns(void);
int reply_on_wrong_link(void);
int ttl1_know_guest(void);
int ttl1_know_guest6(void);
int ttl2_know_guest(void);
int ttl1(void);
/* mdr_next_hop: attachment @id answers ARP for @ip too (NULL: none). */
int set_next_hop(__u32 id, const char *ip);
int via_next_hop(void);

bool has_neigh(__u32 id, int family, const char *vm_ip, const uint8_t *mac,
	       char *why, size_t n);
bool neigh_count(int want, char *why, size_t n);
bool learnt_only_as(int family, const char *vm_ip, const uint8_t *mac,
		    char *why, size_t n);
bool learnt_only(int family, const char *vm_ip, char *why, size_t n);
bool guest_learnt(char *why, size_t n);
bool guest6_learnt(char *why, size_t n);
bool global_guest6_learnt(char *why, size_t n);
bool nothing_learnt(char *why, size_t n);

#endif
