/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backends/kinds.h"
#include "http/rewrite.h"

/*
 * Compares a header name with a lowercase literal, taking '_' for '-':
 * WSGI servers (eventlet's, which runs Nova and the metadata agent, among
 * them) turn both into '_' in the environ key, so "X_Instance_ID" would
 * reach the backend as X-Instance-ID. prefix: lit need only start name.
 */
static bool name_matches(struct mdr_str name, const char *lit, bool prefix)
{
	size_t n = strlen(lit);

	if (name.n < n || (!prefix && name.n != n))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name.p[i];

		c = c >= 'A' && c <= 'Z' ? c + 32 : c == '_' ? '-' : c;
		if (c != lit[i])
			return false;
	}
	return true;
}

bool mdr_header_is_identity(struct mdr_str name)
{
	return name_matches(name, "x-forwarded-for", false) ||
	       name_matches(name, "x-neutron-", true) ||
	       name_matches(name, "x-ovn-", true) ||
	       name_matches(name, "x-instance-id", true) ||
	       name_matches(name, "x-tenant-id", false);
}

bool mdr_header_is_hop_by_hop(const struct mdr_http_head *h,
			      struct mdr_str name)
{
	static const char *const fixed[] = {
		"connection", "keep-alive", "proxy-connection", "te", "upgrade",
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (mdr_str_ieq(name, fixed[i]))
			return true;
	/* Naming the framing headers in Connection must not make us drop
	 * them while still relaying the body they describe. */
	if (mdr_str_ieq(name, "content-length") ||
	    mdr_str_ieq(name, "transfer-encoding") || mdr_str_ieq(name, "host"))
		return false;
	for (unsigned int i = 0; i < h->nheaders; i++)
		if (mdr_str_ieq(h->headers[i].name, "connection") &&
		    mdr_http_list_has(h->headers[i].value, name))
			return true;
	return false;
}

/* Appends to a bounded buffer; the first overflow sticks. */
struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void putf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += n;
}

static void put_header(struct out *o, const struct mdr_http_header *hd)
{
	put(o, hd->name.p, hd->name.n);
	put(o, ": ", 2);
	put(o, hd->value.p, hd->value.n);
	put(o, "\r\n", 2);
}

static int finish(struct out *o)
{
	put(o, "\r\n", 2);
	return o->full ? -ENOSPC : (int)o->len;
}

int mdr_rewrite_request(const struct mdr_http_head *req,
			const struct mdr_identity *id,
			const struct mdr_backend *be, char *out, size_t cap)
{
	return mdr_rewrite_request_conn(req, id, be, false, out, cap);
}

int mdr_rewrite_request_conn(const struct mdr_http_head *req,
			     const struct mdr_identity *id,
			     const struct mdr_backend *be, bool keep_alive,
			     char *out, size_t cap)
{
	struct out o = { .p = out, .cap = cap };
	const struct mdr_backend_ops *ops = mdr_backend_ops(be);
	bool nova = ops->nova_headers;
	char sig[MDR_NOVA_SIGNATURE_LEN + 1];
	bool length_sent = false;

	put(&o, req->method.p, req->method.n);
	put(&o, " ", 1);
	put(&o, req->target.p, req->target.n);
	put(&o, " HTTP/1.1\r\n", 11);
	for (unsigned int i = 0; i < req->nheaders; i++) {
		const struct mdr_http_header *hd = &req->headers[i];

		if (mdr_header_is_hop_by_hop(req, hd->name) ||
		    mdr_header_is_identity(hd->name))
			continue;
		/* We answer 100-continue ourselves (see proxy.c). */
		if (mdr_str_ieq(hd->name, "expect"))
			continue;
		/* Nova is addressed by its own name, as a client of its URL. */
		if (nova && mdr_str_ieq(hd->name, "host"))
			continue;
		/* Identical duplicates were accepted; send the length once. */
		if (mdr_str_ieq(hd->name, "content-length")) {
			if (length_sent)
				continue;
			length_sent = true;
		}
		put_header(&o, hd);
	}
	if (nova)
		putf(&o, "Host: %s\r\n", be->authority);
	else if (!req->has_host)
		put(&o, "Host: 169.254.169.254\r\n", 23);
	putf(&o, "X-Forwarded-For: %s\r\n", id->vm_ip);
	/* What neutron-metadata-agent sends Nova. Without a project id Nova
	 * answers 400 itself, which says more than we could. */
	if (nova && id->instance_id[0]) {
		if (mdr_nova_sign(be, id->instance_id, sig))
			return -EIO;
		putf(&o, "X-Instance-ID: %s\r\n", id->instance_id);
		if (id->project_id[0])
			putf(&o, "X-Tenant-ID: %s\r\n", id->project_id);
		putf(&o, "X-Instance-ID-Signature: %s\r\n", sig);
	}
	if (ops->neutron_headers) {
		if (id->network_id[0])
			putf(&o, "X-Neutron-Network-ID: %s\r\n",
			     id->network_id);
		else if (id->router_id[0])
			putf(&o, "X-Neutron-Router-ID: %s\r\n", id->router_id);
	}
	/* Either one backend connection per request, like haproxy's
	 * "option http-server-close", or a pooled one kept open (the guest's
	 * own Connection header was dropped above as hop-by-hop). Identity
	 * headers are written afresh for every request, so a pooled
	 * connection may carry requests of different guests in turn. */
	if (keep_alive)
		put(&o, "Connection: keep-alive\r\n", 24);
	else
		put(&o, "Connection: close\r\n", 19);
	return finish(&o);
}

int mdr_rewrite_response(const struct mdr_http_head *resp, bool keep_alive,
			 bool dechunk, char *out, size_t cap)
{
	struct out o = { .p = out, .cap = cap };

	putf(&o, "HTTP/1.1 %03d ", resp->status);
	put(&o, resp->reason.p, resp->reason.n);
	put(&o, "\r\n", 2);
	for (unsigned int i = 0; i < resp->nheaders; i++) {
		const struct mdr_http_header *hd = &resp->headers[i];

		if (mdr_header_is_hop_by_hop(resp, hd->name))
			continue;
		if (dechunk && (mdr_str_ieq(hd->name, "transfer-encoding") ||
				mdr_str_ieq(hd->name, "trailer")))
			continue;
		put_header(&o, hd);
	}
	put(&o,
	    keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n",
	    keep_alive ? 24 : 19);
	return finish(&o);
}
