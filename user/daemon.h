/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MDR_DAEMON_H
#define MDR_DAEMON_H

#define MDR_DEFAULT_BACKEND "local:/var/lib/mdredir/metadata"

struct mdr_daemon_options {
	const char *backend;		/* NULL: config file, else default */
	const char *config;		/* NULL: none */
	const char *proxy_netns;	/* NULL: config, else default */
	unsigned int port;		/* listening port; 80 */
};

/* Runs in the foreground until SIGINT/SIGTERM; 0 on a clean stop. */
int mdr_daemon_run(const struct mdr_daemon_options *opts);

#endif
