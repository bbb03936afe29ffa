/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Not a unit test: follows a table of a real ovsdb-server through
 * control/ovsdb.h and prints what it hears, a line each, for the bats:
 *
 *   synced
 *   insert|modify|delete TABLE UUID ROW   (ROW: the new row, JSON; {} gone)
 *   error: WHY
 *
 * Usage: ovsdb_watch REMOTE DB TABLE [--columns A,B] [--where JSON]
 *                    [--reconnect] [--private-key FILE --certificate FILE
 *                    --ca-cert FILE] [--probe MS]
 * Without --reconnect it exits 1 at the first error; with it, it connects
 * again after mdr_ovsdb_backoff()'s delay. The SSL files, named as
 * ovsdb-server names them, go to mdr_ovsdb_set_ssl() (its error is printed
 * as "error: " and exits 1). --probe sets the inactivity probe, and the
 * poll waits as mdr_ovsdb_timeout_ms() says. Stops on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ovsdb.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_row(void *ctx, const char *table, const char *uuid,
		   const json_t *old, const json_t *new)
{
	char *row = new ? json_dumps(new, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	(void)ctx;
	printf("%s %s %s %s\n",
	       !old   ? "insert"
	       : !new ? "delete"
		      : "modify",
	       table, uuid, row ? row : "{}");
	free(row);
}

static void on_synced(void *ctx)
{
	(void)ctx;
	printf("synced\n");
}

static const struct mdr_ovsdb_ops ops = { .row = on_row, .synced = on_synced };

static int usage(void)
{
	fprintf(stderr, "usage: ovsdb_watch REMOTE DB TABLE [--columns A,B] "
			"[--where JSON] [--reconnect] [--private-key FILE "
			"--certificate FILE --ca-cert FILE] [--probe MS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *columns[32] = { NULL };
	const char *key = NULL, *cert = NULL, *ca = NULL;
	bool reconnect = false, have_columns = false;
	json_t *where = NULL;
	struct mdr_ovsdb *c;
	unsigned delay = 0, probe = 0;
	int rc;

	if (argc < 4)
		return usage();
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--reconnect")) {
			reconnect = true;
		} else if (!strcmp(argv[i], "--where") && i + 1 < argc) {
			json_error_t jerr;

			where = json_loads(argv[++i], 0, &jerr);
			if (!where) {
				fprintf(stderr, "--where: %s\n", jerr.text);
				return 2;
			}
		} else if (!strcmp(argv[i], "--private-key") && i + 1 < argc) {
			key = argv[++i];
		} else if (!strcmp(argv[i], "--certificate") && i + 1 < argc) {
			cert = argv[++i];
		} else if (!strcmp(argv[i], "--ca-cert") && i + 1 < argc) {
			ca = argv[++i];
		} else if (!strcmp(argv[i], "--probe") && i + 1 < argc) {
			probe = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--columns") && i + 1 < argc) {
			size_t n = 0;

			for (char *s = strtok(argv[++i], ","); s && n < 31;
			     s = strtok(NULL, ","))
				columns[n++] = s;
			have_columns = true;
		} else {
			return usage();
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN); /* as the daemon: OpenSSL uses write() */

	c = mdr_ovsdb_new(argv[2], &ops, NULL);
	if (!c || mdr_ovsdb_monitor(c, argv[3], have_columns ? columns : NULL,
				    where)) {
		fprintf(stderr, "ovsdb_watch: out of memory\n");
		return 1;
	}
	json_decref(where);
	if ((key || cert || ca) && mdr_ovsdb_set_ssl(c, key, cert, ca)) {
		printf("error: %s\n", mdr_ovsdb_error(c));
		mdr_ovsdb_free(c);
		return 1;
	}
	mdr_ovsdb_set_probe(c, probe);
	rc = mdr_ovsdb_connect(c, argv[1]);
	while (!stop) {
		struct pollfd pfd = { .fd = mdr_ovsdb_fd(c), .events = POLLIN };

		if (rc) {
			printf("error: %s\n", mdr_ovsdb_error(c));
			if (!reconnect)
				break;
			delay = mdr_ovsdb_backoff(delay);
			poll(NULL, 0, delay);
			rc = mdr_ovsdb_connect(c, argv[1]);
			continue;
		}
		if (mdr_ovsdb_synced(c))
			delay = 0;
		if (mdr_ovsdb_want_write(c))
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, mdr_ovsdb_timeout_ms(c)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		rc = mdr_ovsdb_step(c,
				    pfd.revents & (POLLIN | POLLHUP | POLLERR),
				    pfd.revents & POLLOUT);
	}
	mdr_ovsdb_free(c);
	return stop ? 0 : 1;
}
