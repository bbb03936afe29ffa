/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The harness: the maps put back to one known attachment before every
 * fixture (progs.h), and the runner that sends a fixture's frame through
 * bpf_prog_test_run_opts and compares the verdict, the output bytes, their
 * checksums and every counter.
 *
 * A fixture is {name, program, input packet, expected verdict, expected
 * output packet, expected counter}, plus hooks that set up map state
 * beyond the default and check it afterwards.
 */
#ifndef MDR_TEST_HARNESS_H
#define MDR_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "mdredir.h"
#include "pkt.h"
#include "progs.h"

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
	tap_guest_rate_fixtures, tap_xdp_fixtures, tap_via_fixtures,
	link_fixtures, proxy_fixtures;

/* ---- harness.c: the runner ---- */

/* Runs @s through the tap program as a fixture does (see harness.c). */
int run_tap(const struct pkt_spec *s, int verdict);
/* run_tap() @count times, each expecting @verdict. */
int send_syns(const struct pkt_spec *s, int count, int verdict);

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
