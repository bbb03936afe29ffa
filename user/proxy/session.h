/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest session: a guest connection's state machine, driven until it
 * can make no more progress. It reads requests, applies the request
 * policy (identity, rate limits, methods), answers from the local backend
 * or the response cache itself, hands the rest to the relay and answers
 * the guest with the relay's outcome when it has one.
 */
#ifndef MDR_SESSION_H
#define MDR_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/conn.h"

/* Starts serving an admitted guest connection on fd. 0, or a negative
 * errno (the caller then frees c and closes fd). */
int session_open(struct proxy *p, struct conn *c, int fd);
/* epoll reported c's guest socket, or its backend one. */
void session_event(struct proxy *p, struct conn *c, bool backend,
		   uint32_t events);
/* Runs c for a while (it goes on the run queue if it could do more). */
void session_drive(struct proxy *p, struct conn *c);
/* c's timer of @kind expired. */
void session_timeout(struct proxy *p, struct conn *c, enum timer_kind kind);
/* Closes c: logged if a request was under way, freed once reaped. */
void session_close(struct proxy *p, struct conn *c);

/*
 * Formats a complete response made by the proxy: text/plain, one line.
 * extra: more header lines ("Name: value\r\n"), or NULL. A 405 says what
 * be allows in an Allow line, unless extra is given: it then carries its
 * own. Returns its length, or 0 if cap is too small (cannot happen:
 * responses are tiny).
 */
size_t session_format_reply(char *buf, size_t cap, const struct mdr_backend *be,
			    int status, const char *why, bool keep_alive,
			    bool head, const char *extra);
/* Between two requests: c takes the proxy's newest generation for the
 * next one (what a reload changed applies to it). */
void session_adopt_gen(struct proxy *p, struct conn *c);

#endif
