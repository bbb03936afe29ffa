/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MDR_DAEMON_H
#define MDR_DAEMON_H

/* --config files at most: mdredir.ini and an agent's ini, with room. */
#define MDR_DAEMON_MAX_CONFIG 8

/* Command-line flags; each NULL (or 0) when not given. */
struct mdr_daemon_options {
	const char *backend; /* overrides [mdredir] backend */
	/* INI files (metadata_agent.ini style), later ones winning */
	const char *config[MDR_DAEMON_MAX_CONFIG];
	unsigned int n_config;
	const char *proxy_netns; /* overrides [mdredir] proxy_netns */
	const char *reply_ttl;	 /* overrides [mdredir] reply_ttl */
	const char *attach_from; /* overrides [mdredir] attach_from */
	const char *imds_tokens; /* overrides [mdredir] imds_tokens */
};

/* Runs in the foreground until SIGINT/SIGTERM; 0 on a clean stop. */
int mdr_daemon_run(const struct mdr_daemon_options *opts);

#endif
