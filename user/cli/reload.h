/* SPDX-License-Identifier: GPL-2.0-only */
/* `mdredir reload`: SIGHUP to the running daemon, and how it went. */
#ifndef MDR_CLI_RELOAD_H
#define MDR_CLI_RELOAD_H

#include <stdbool.h>

/*
 * Asks the daemon to read its configuration again and waits for its
 * answer (MDR_RELOAD_WAIT_MS at most). 0 when the new configuration is in
 * force; else -errno after saying why (the daemon's own error lines).
 */
int mdr_reload(bool json);

#endif
