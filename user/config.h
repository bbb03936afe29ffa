/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's settings: built-in defaults, then the INI file given with
 * --config, then command-line flags, each overriding the one before.
 */
#ifndef MDR_CONFIG_H
#define MDR_CONFIG_H

#include "daemon.h"
#include "mdredir.h"

struct mdr_daemon_settings {
	char backend[4096];
	char proxy_netns[MDR_NETNS_LEN];	/* "" = keep what is configured */
	unsigned int port;
};

/* Returns 0, or -errno after saying which file, line and option is wrong. */
int mdr_config_load(const struct mdr_daemon_options *opts,
		    struct mdr_daemon_settings *set);

#endif
