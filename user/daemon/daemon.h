/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MDR_DAEMON_H
#define MDR_DAEMON_H

/* Command-line flags; each NULL when not given. */
struct mdr_daemon_options {
	const char *backend;	 /* overrides [mdredir] backend */
	const char *config;	 /* an INI file (metadata_agent.ini style) */
	const char *proxy_netns; /* overrides [mdredir] proxy_netns */
	const char *reply_ttl;	 /* overrides [mdredir] reply_ttl */
	const char *attach_from; /* overrides [mdredir] attach_from */
};

/* Runs in the foreground until SIGINT/SIGTERM; 0 on a clean stop. */
int mdr_daemon_run(const struct mdr_daemon_options *opts);

#endif
