/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Heads as they leave the proxy: the request toward the backend carries our
 * identity headers and none the guest forged; the response toward the guest
 * carries our own connection handling.
 */
#ifndef MDR_REWRITE_H
#define MDR_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "backends/spec.h"
#include "http/parser.h"
#include "lib/identity.h"

/* Whether name is one of the headers a backend reads as the guest's identity
 * or the request's provenance (X-Forwarded-For, Forwarded, X-Instance-ID*,
 * X-Metadata-Provider*, X-Neutron-*, ...: the table in rewrite.c), in any
 * case, '_' taken for '-'. Only the proxy may send these. */
bool mdr_header_is_identity(struct mdr_str name);
/* name is lit (lowercase), in any case and with '_' for '-' (as WSGI). */
bool mdr_header_name_is(struct mdr_str name, const char *lit);
/* X-aws-ec2-metadata-token and X-aws-ec2-metadata-token-ttl-seconds (any
 * case, '_' or '-', and any name they begin): never sent to a backend. */
bool mdr_header_is_token(struct mdr_str name);
/* Hop-by-hop: Connection, Keep-Alive, ..., and any name listed in h's
 * Connection header. */
bool mdr_header_is_hop_by_hop(const struct mdr_http_head *h,
			      struct mdr_str name);

/*
 * Writes the head sent to the backend for request req (parsed from the
 * guest) into out: the guest's headers minus hop-by-hop, identity and
 * token ones (those are dropped before ours are written), then
 * X-Forwarded-For and, for neutron, X-Neutron-Network-ID (or -Router-
 * ID); for nova, Host: <nova host:port>, X-Instance-ID, X-Tenant-ID and
 * X-Instance-ID-Signature; last "Connection: close" (one backend
 * connection per request). Returns its length, -ENOSPC if cap is too
 * small, or -EIO if signing failed.
 */
int mdr_rewrite_request(const struct mdr_http_head *req,
			const struct mdr_identity *id,
			const struct mdr_backend *be, char *out, size_t cap);
/* The same, ending "Connection: keep-alive" when keep_alive: the backend
 * connection is to be pooled and reused (see relay.c). */
int mdr_rewrite_request_conn(const struct mdr_http_head *req,
			     const struct mdr_identity *id,
			     const struct mdr_backend *be, bool keep_alive,
			     char *out, size_t cap);

/*
 * Writes the head sent to the guest for the backend's response resp.
 * dechunk: the body will be relayed without chunk framing (HTTP/1.0 guest).
 * Returns its length, or -ENOSPC.
 */
int mdr_rewrite_response(const struct mdr_http_head *resp, bool keep_alive,
			 bool dechunk, char *out, size_t cap);

#endif
