// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet fixtures for the BPF programs, run through bpf_prog_test_run_opts
 * (katran's way): pkt.c builds the frames, harness.c loads the programs
 * and runs a fixture, and one file per program holds its fixtures: tap.c,
 * tap_guard.c, tap_guest_rate.c and tap_via.c (the tap), link.c, proxy.c.
 * Every tap fixture runs through both tap programs, TC and XDP; tap_xdp.c
 * holds the frames where the two part.
 *
 * `test_bpf --corpus DIR` writes every fixture's frame into DIR instead,
 * as the seeds of the BPF fuzzer (tests/fuzz/fuzz_bpf.c): the fixtures
 * are the real frames, metadata's and everyone else's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "harness.h"

/* The builder and the checker are tested first (selftest.c). */
bool harness_self_test(char *why, size_t n);
bool harness_ipv6_self_test(char *why, size_t n);

static const struct fixture_table *const tables[] = {
	&tap_fixtures,
	&link_fixtures,
	&proxy_fixtures,
	&tap_guard_fixtures,
	&tap_xdp_fixtures,
	&tap_via_fixtures,
	&tap_guest_rate_fixtures,
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

/* DIR/NAME: the fuzzer's choice byte, then the frame. */
static int write_seed(const char *dir, const char *prefix, const char *name,
		      const struct fuzz_choice *c, const struct pkt *p)
{
	char path[512];
	size_t len;
	uint8_t byte = fuzz_choice_byte(c);
	FILE *f;

	/* "tap: ARP who-has 169.254.169.254" -> "tap-arp-who-has-169-254-...". */
	len = (size_t)snprintf(path, sizeof(path), "%s/%s", dir, prefix);
	for (const char *s = name; *s && len < sizeof(path) - 1; s++) {
		char ch = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '-';
		if (ch != '-' || path[len - 1] != '-')
			path[len++] = ch;
	}
	while (path[len - 1] == '-')
		len--;
	path[len] = '\0';
	f = fopen(path, "wb");
	if (!f || fwrite(&byte, 1, 1, f) != 1 ||
	    fwrite(p->b, 1, p->len, f) != p->len) {
		int err = errno;

		fprintf(stderr, "test_bpf: cannot write %s: %s\n", path,
			strerror(err));
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) ? 1 : 0;
}

/*
 * Each fixture's input, for the program it runs through (tap ones for XDP
 * too), on attachment 1, or on the fuzzer's guarded attachment 2 for the
 * guard fixtures (attachment 1 with --mac/--ip here).
 */
static int write_corpus(const char *dir)
{
	int failed = 0;

	for (size_t t = 0; t < N_TABLES; t++) {
		for (size_t i = 0; i < tables[t]->len; i++) {
			const struct fixture *f = &tables[t]->fixtures[i];
			struct fuzz_choice c = {
				.prog = f->prog,
				.attach_id = tables[t] == &tap_guard_fixtures
						     ? TEST_ATTACH2_ID
						     : TEST_ATTACH_ID,
			};
			struct pkt p;

			build(&f->in, &p);
			failed |= write_seed(dir, "", f->name, &c, &p);
			if (f->prog != TAP)
				continue;
			c.prog = TAP_XDP;
			failed |= write_seed(dir, "xdp-", f->name, &c, &p);
		}
	}
	return failed;
}

int main(int argc, char **argv)
{
	const char *what = NULL;
	char why[256];
	int err;

	if (argc == 3 && !strcmp(argv[1], "--corpus"))
		return write_corpus(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: test_bpf [--corpus DIR]\n");
		return 2;
	}
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

	for (size_t i = 0; i < N_TABLES; i++)
		run_fixtures(tables[i]);
	/* Every tap fixture again, through the XDP entry (tap_xdp.c). */
	for (size_t i = 0; i < N_TABLES; i++)
		run_fixtures_xdp(tables[i]);
	progs_unload();
	return check_summary();
}
