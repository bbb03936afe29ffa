/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The key the proxy's IMDS session tokens are made under (proxy/token.h).
 *
 * Kept in MDR_TOKEN_KEY_FILE under /run/mdredir, readable by root only,
 * so it lives exactly as long as the attachments do: a daemon restarted
 * (an upgrade, a crash, a new configuration) finds it again and every
 * token it issued stays good, so no guest is disturbed mid-boot, just as
 * the pinned attachments keep serving; a host reboot (tmpfs) or `mdredir
 * unload` loses it together with the attachments the tokens were bound
 * to. A key only in memory would void every token at each restart: guests
 * that cache theirs (cloud-init keeps one for its whole run, the AWS SDKs
 * for its TTL) would get 401s until they ask again.
 */
#ifndef MDR_TOKEN_KEY_H
#define MDR_TOKEN_KEY_H

#include "proxy/token.h"

/*
 * Reads the key in path, or makes a new random one there (mode 0600) when
 * there is none, or when what is there is not a key of ours (then saying
 * so: the tokens of the old key, if any, are void). 0, or -errno after
 * pr_err naming the file and what failed.
 */
int mdr_token_key_load(const char *path, struct mdr_token_key *key);

#endif
