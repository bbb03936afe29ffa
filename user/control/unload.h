/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MDR_UNLOAD_H
#define MDR_UNLOAD_H

/*
 * Removes everything mdredir made, whatever state it is in: stops a running
 * daemon, takes our programs off every interface, deletes our veths and the
 * proxy namespace, and removes every pin. Returns 0 or the first -errno.
 */
int mdr_unload(void);

#endif
