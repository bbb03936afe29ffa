/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The access log and the per-request record (see mdr_proxy_run() in
 * proxy.h for the line's format).
 */
#ifndef MDR_ACCESS_LOG_H
#define MDR_ACCESS_LOG_H

#include "http/parser.h"
#include "proxy/conn.h"

/* A request starts: its method and target kept for the log (h NULL: one
 * that could not be parsed, or none at all, logged as "- -"). */
void access_log_begin(struct request_log *log, const struct mdr_http_head *h);
/* It is over: one line, and the record handed to options->on_request. */
void access_log_end(struct proxy *p, struct conn *c);

#endif
