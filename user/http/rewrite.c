/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <string.h>

#include "backends/kinds.h"
#include "http/rewrite.h"

/*
 * Compares a header name with a lowercase literal, taking '_' for '-': the
 * backends read headers from a WSGI environ (HTTP_X_INSTANCE_ID), where
 * both become '_' (webob.Request.from_file in Neutron's metadata proxies,
 * the WSGI server Nova runs under, eventlet's among them), so
 * "X_Instance_ID" would reach the backend as X-Instance-ID. prefix: lit
 * need only start name.
 */
static bool name_matches_n(struct mdr_str name, const char *lit, size_t n,
			   bool prefix)
{
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

static inline bool name_matches(struct mdr_str name, const char *lit,
				bool prefix)
{
	return name_matches_n(name, lit, strlen(lit), prefix);
}

/*
 * Every request header a backend behind us reads as the guest's identity
 * or as the request's provenance, and where (the README's Hardening table
 * says the same). Only the proxy may say these: a guest sending one could
 * name another instance, address or provider, or claim a hop it never made.
 */
#define IDENTITY(name, prefix)                 \
	{                                      \
		name, sizeof(name) - 1, prefix \
	}
static const struct {
	const char *name;
	size_t len; /* its strlen(), checked first */
	bool prefix;
} identity_headers[] = {
	/* nova/api/metadata/handler.py, MetadataRequestHandler:
	 * _handle_instance_id_request, _handle_instance_id_request_from_lb
	 * (the guest's address, for the load-balancer lookup); neutron/agent/
	 * metadata/proxy_base.py, MetadataProxyHandlerBase:
	 * _get_instance_and_project_id (the port lookup); oslo.middleware
	 * HTTPProxyToWSGI.process_request makes it Nova's REMOTE_ADDR. */
	IDENTITY("x-forwarded-for", false),
	/* RFC 7239. HTTPProxyToWSGI.process_request (in Nova's metadata
	 * pipeline, etc/nova/api-paste.ini [pipeline:meta], when
	 * [oslo_middleware] enable_proxy_headers_parsing is on): for= becomes
	 * REMOTE_ADDR, which _handle_remote_ip_request looks the instance up
	 * by; when present, X-Forwarded-For, -Proto and -Host are not read. */
	IDENTITY("forwarded", false),
	/* HTTPProxyToWSGI.process_request: the scheme, host and path prefix
	 * the first proxy was reached by (wsgi.url_scheme, HTTP_HOST,
	 * SCRIPT_NAME). nova/api/wsgi.py Request.__init__ also takes the
	 * scheme from [wsgi] secure_proxy_ssl_header, documented as
	 * HTTP_X_FORWARDED_PROTO and as a header the proxy must strip. */
	IDENTITY("x-forwarded-proto", false),
	IDENTITY("x-forwarded-host", false),
	IDENTITY("x-forwarded-prefix", false),
	/* handler.py: __call__ (warns of it), _handle_instance_id_request
	 * (X-Instance-ID, X-Instance-ID-Signature). */
	IDENTITY("x-instance-id", true),
	/* handler.py: _handle_instance_id_request. */
	IDENTITY("x-tenant-id", false),
	/* handler.py: __call__ (its presence selects the load-balancer
	 * lookup), _handle_instance_id_request_from_lb (X-Metadata-Provider,
	 * X-Metadata-Provider-Signature): the provider and the guest's
	 * address name the instance. */
	IDENTITY("x-metadata-provider", true),
	/* neutron/agent/metadata/agent.py MetadataProxyHandler's
	 * NETWORK_ID_HEADER, ROUTER_ID_HEADER (X-Neutron-Network-ID,
	 * X-Neutron-Router-ID), read by proxy_base.py _get_instance_id. */
	IDENTITY("x-neutron-", true),
	/* neutron/agent/ovn/metadata/server_socket.py MetadataProxyHandler's
	 * NETWORK_ID_HEADER (X-OVN-Network-ID), read by _get_instance_id;
	 * the OVN metadata agent and neutron-ovn-agent's metadata extension
	 * (neutron/agent/ovn/extensions/metadata.py) both serve it. */
	IDENTITY("x-ovn-", true),
#undef IDENTITY
};

bool mdr_header_is_identity(struct mdr_str name)
{
	for (size_t i = 0;
	     i < sizeof(identity_headers) / sizeof(identity_headers[0]); i++)
		if (name_matches_n(name, identity_headers[i].name,
				   identity_headers[i].len,
				   identity_headers[i].prefix))
			return true;
	return false;
}

bool mdr_header_name_is(struct mdr_str name, const char *lit)
{
	return name_matches(name, lit, false);
}

/* IMDS session tokens are the proxy's business (proxy/token.h): a backend
 * has no use for them, and a token is worth keeping from its logs. */
bool mdr_header_is_token(struct mdr_str name)
{
	return name_matches(name, "x-aws-ec2-metadata-token", true);
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

/* One header line of ours: name, then a NUL-terminated value. */
static void put_field(struct out *o, const char *name, const char *value)
{
	put(o, name, strlen(name));
	put(o, ": ", 2);
	put(o, value, strlen(value));
	put(o, "\r\n", 2);
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
		    mdr_header_is_identity(hd->name) ||
		    mdr_header_is_token(hd->name))
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
		put_field(&o, "Host", be->authority);
	else if (!req->has_host)
		put(&o, "Host: 169.254.169.254\r\n", 23);
	put_field(&o, "X-Forwarded-For", id->vm_ip);
	/* What neutron-metadata-agent sends Nova. Without a project id Nova
	 * answers 400 itself, which says more than we could. */
	if (nova && id->instance_id[0]) {
		if (mdr_nova_sign(be, id->instance_id, sig))
			return -EIO;
		put_field(&o, "X-Instance-ID", id->instance_id);
		if (id->project_id[0])
			put_field(&o, "X-Tenant-ID", id->project_id);
		put_field(&o, "X-Instance-ID-Signature", sig);
	}
	if (ops->neutron_headers) {
		if (id->network_id[0])
			put_field(&o, "X-Neutron-Network-ID", id->network_id);
		else if (id->router_id[0])
			put_field(&o, "X-Neutron-Router-ID", id->router_id);
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
	/* The parser took exactly three digits. */
	char code[4] = { '0' + resp->status / 100, '0' + resp->status / 10 % 10,
			 '0' + resp->status % 10, ' ' };

	put(&o, "HTTP/1.1 ", 9);
	put(&o, code, sizeof(code));
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
