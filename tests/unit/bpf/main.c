// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet fixtures for the BPF programs, run through bpf_prog_test_run_opts
 * (katran's way): pkt.c builds the frames, harness.c loads the programs
 * and runs a fixture, and one file per program holds its fixtures: tap.c,
 * tap_guard.c and tap_via.c (the tap), link.c, proxy.c. Every tap fixture
 * runs through both tap programs, TC and XDP; tap_xdp.c holds the frames
 * where the two part.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "harness.h"

/* The builder and the checker are tested first (selftest.c). */
bool harness_self_test(char *why, size_t n);
bool harness_ipv6_self_test(char *why, size_t n);

int main(void)
{
	const struct fixture_table *tables[] = {
		&tap_fixtures,	     &link_fixtures,	&proxy_fixtures,
		&tap_guard_fixtures, &tap_xdp_fixtures, &tap_via_fixtures,
	};
	const char *what = NULL;
	char why[256];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = progs_load(&what);
	if (err) {
		/* Setup failures still end in the summary line scripts look for. */
		printf("not ok - setup: %s: %s\n", what, strerror(-err));
		check_failed++;
		return check_summary();
	}

	why[0] = '\0';
	report(harness_self_test(why, sizeof(why)),
	       "harness: checksum checker catches corruption", why);
	why[0] = '\0';
	report(harness_ipv6_self_test(why, sizeof(why)),
	       "harness: IPv6 builder and checksum checker", why);

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		run_fixtures(tables[i]);
	/* Every tap fixture again, through the XDP entry (tap_xdp.c). */
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		run_fixtures_xdp(tables[i]);
	progs_unload();
	return check_summary();
}
