/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The listening socket: accepting guests, identifying them, admitting
 * them under the connection caps, and shedding the rest with a prompt 503
 * (out of descriptors included) rather than a wait in the accept queue.
 */
#ifndef MDR_LISTENER_H
#define MDR_LISTENER_H

#include <stdbool.h>

#include "proxy/conn.h"

/* Takes what waits in the accept queue (a bounded number per call). */
void listener_accept(struct proxy *p);
/* Watches the listener, or stops for a while (see p->accept_resume_ms). */
void listener_set_accepting(struct proxy *p, bool on);

#endif
