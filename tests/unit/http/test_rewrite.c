/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Heads as they leave the proxy: identity and hop-by-hop headers of the
 * guest dropped, ours added, for the neutron, nova and local backends
 * (user/http/rewrite.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "backends/spec.h"
#include "http/parser.h"
#include "http/rewrite.h"
#include "http_tests.h"

static const char forged_request[] = "GET /latest/meta-data HTTP/1.1\r\n"
				     "Host: 169.254.169.254\r\n"
				     "X-Forwarded-For: 6.6.6.6\r\n"
				     "x-forwarded-for: 6.6.6.7\r\n"
				     "X-FORWARDED-FOR: 6.6.6.8\r\n"
				     "X-Neutron-Network-ID: evil\r\n"
				     "x-neutron-router-id: evil\r\n"
				     "X-NEUTRON-ANYTHING: evil\r\n"
				     "X-OVN-Network-ID: evil\r\n"
				     "x-ovn-whatever: evil\r\n"
				     "X-Instance-ID: evil\r\n"
				     "x-instance-id-signature: evil\r\n"
				     "X-INSTANCE-ID-Other: evil\r\n"
				     "X-Tenant-ID: evil\r\n"
				     "x-tenant-id: evil\r\n"
				     "Connection: keep-alive, X-Hop\r\n"
				     "X-Hop: dropped\r\n"
				     "Keep-Alive: timeout=5\r\n"
				     "Proxy-Connection: keep-alive\r\n"
				     "TE: trailers\r\n"
				     "Upgrade: h2c\r\n"
				     "Expect: 100-continue\r\n"
				     "X-Tenant-Name: kept\r\n"
				     "X-Forwarded-Proto: evil\r\n"
				     "Accept: */*\r\n"
				     "\r\n";

void test_rewrite_request(void)
{
	static struct mdr_http_head h;
	struct mdr_identity id = { .vm_ip = "10.0.0.5",
				   .network_id = "net-1",
				   .router_id = "rtr-1" };
	struct mdr_backend be = { .kind = MDR_BACKEND_NEUTRON };
	char out[4096], lower[4096];
	int n;

	CHECK_INT(parse_req(forged_request, &h), 1);
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	for (int i = 0; i <= n; i++)
		lower[i] = out[i] >= 'A' && out[i] <= 'Z' ? out[i] + 32
							  : out[i];
	CHECK(!strncmp(out, "GET /latest/meta-data HTTP/1.1\r\n", 32));
	CHECK(!strstr(lower, "evil"));
	CHECK(!strstr(lower, "6.6.6"));
	CHECK(!strstr(lower, "x-hop"));
	CHECK(!strstr(lower, "keep-alive"));
	CHECK(!strstr(lower, "proxy-connection"));
	CHECK(!strstr(lower, "\r\nte:"));
	CHECK(!strstr(lower, "upgrade"));
	CHECK(!strstr(lower, "expect"));
	CHECK(has_header(out, "\r\nHost: 169.254.169.254\r\n"));
	CHECK(has_header(out, "\r\nX-Tenant-Name: kept\r\n"));
	CHECK(has_header(out, "\r\nX-Forwarded-For: 10.0.0.5\r\n"));
	/* Network wins over router, and only one of them is sent. */
	CHECK(has_header(out, "\r\nX-Neutron-Network-ID: net-1\r\n"));
	CHECK(!strstr(out, "X-Neutron-Router-ID"));
	CHECK(has_header(out, "\r\nConnection: close\r\n\r\n"));
	/* Exactly one X-Forwarded-For: ours. */
	CHECK(!strstr(strstr(lower, "x-forwarded-for") + 1, "x-forwarded-for"));

	/* A pooled backend connection: keep-alive instead, the guest's own
	 * Connection and Keep-Alive still dropped, nothing else changed. */
	n = mdr_rewrite_request_conn(&h, &id, &be, true, out, sizeof(out) - 1);
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	CHECK(has_header(out, "\r\nConnection: keep-alive\r\n\r\n"));
	CHECK(!strstr(out, "Connection: close"));
	CHECK(has_header(out, "\r\nX-Forwarded-For: 10.0.0.5\r\n"));
	CHECK(has_header(out, "\r\nX-Neutron-Network-ID: net-1\r\n"));
	CHECK(!strstr(out, "evil"));
	n = mdr_rewrite_request_conn(&h, &id, &be, false, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(has_header(out, "\r\nConnection: close\r\n\r\n"));

	id.network_id[0] = '\0';
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(has_header(out, "\r\nX-Neutron-Router-ID: rtr-1\r\n"));
	CHECK(!strstr(out, "X-Neutron-Network-ID"));

	/* Local backends get no neutron headers. */
	be.kind = MDR_BACKEND_LOCAL;
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(!strstr(out, "X-Neutron"));

	/* Too small a buffer is an error, not a cut head. */
	CHECK_INT(mdr_rewrite_request(&h, &id, &be, out, 64), -ENOSPC);

	for (const char *const *s =
		     (const char *const[]){
			     "X-Forwarded-For", "x-neutron-",
			     "X-Neutron-Network-ID", "X-OVN-Network-ID",
			     "X-Instance-ID", "X-Instance-ID-Signature",
			     "x-instance-idx", "X-Tenant-ID", "Forwarded",
			     "X-Forwarded-Proto", "X-Metadata-Provider", NULL };
	     *s; s++)
		CHECK(mdr_header_is_identity(
			(struct mdr_str){ *s, strlen(*s) }));
	for (const char *const *s =
		     (const char *const[]){ "X-Forwarded", "X-Tenant",
					    "X-Tenant-ID-2", "X-Instance",
					    "Neutron", "X-OVNx", NULL };
	     *s; s++)
		CHECK(!mdr_header_is_identity(
			(struct mdr_str){ *s, strlen(*s) }));
}

void test_rewrite_request_http10(void)
{
	static struct mdr_http_head h;
	struct mdr_identity id = { .vm_ip = "10.0.0.5" };
	struct mdr_backend be = { .kind = MDR_BACKEND_NEUTRON };
	const char *req = "POST /x HTTP/1.0\r\nContent-Length: 3\r\n"
			  "Connection: content-length, keep-alive\r\n\r\n";
	char out[1024];
	int n;

	CHECK_INT(parse_req(req, &h), 1);
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(!strncmp(out, "POST /x HTTP/1.1\r\n", 18));
	CHECK(has_header(out, "\r\nHost: 169.254.169.254\r\n"));
	/* Naming framing in Connection must not strip it. */
	CHECK(has_header(out, "\r\nContent-Length: 3\r\n"));
	CHECK(has_header(out, "\r\nX-Forwarded-For: 10.0.0.5\r\n"));

	/* Identical duplicate lengths are forwarded once. */
	CHECK_INT(
		parse_req(
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
			&h),
		1);
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(!strstr(strstr(out, "Content-Length") + 1, "Content-Length"));
}

void test_rewrite_response(void)
{
	static struct mdr_http_head h;
	const char *resp = "HTTP/1.0 200 OK\r\n"
			   "Content-Type: text/plain\r\n"
			   "Transfer-Encoding: chunked\r\n"
			   "Trailer: X-T\r\n"
			   "Connection: close, X-Secret\r\n"
			   "X-Secret: hop\r\n"
			   "Keep-Alive: timeout=1\r\n"
			   "X-Instance-ID: from-backend\r\n"
			   "\r\n";
	char out[1024];
	int n;

	CHECK_INT(parse_resp(resp, false, &h), 1);
	n = mdr_rewrite_response(&h, true, false, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(!strncmp(out, "HTTP/1.1 200 OK\r\n", 17));
	CHECK(has_header(out, "\r\nTransfer-Encoding: chunked\r\n"));
	CHECK(has_header(out, "\r\nContent-Type: text/plain\r\n"));
	CHECK(!strstr(out, "X-Secret"));
	CHECK(!strstr(out, "Keep-Alive:"));
	CHECK(has_header(out, "\r\nConnection: keep-alive\r\n\r\n"));
	/* Identity headers in responses are the backend's business. */
	CHECK(has_header(out, "\r\nX-Instance-ID: from-backend\r\n"));

	n = mdr_rewrite_response(&h, false, true, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(!strstr(out, "Transfer-Encoding"));
	CHECK(!strstr(out, "Trailer"));
	CHECK(has_header(out, "\r\nConnection: close\r\n\r\n"));
}

/* Counts lines of head that start with name (case-insensitive). */
static int count_header(const char *head, const char *name)
{
	size_t n = strlen(name);
	int count = 0;

	for (const char *p = strstr(head, "\r\n"); p && p[2];
	     p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':')
			count++;
	return count;
}

/* A GET whose one header besides Host is "name: value", rewritten for be
 * into out (NUL-terminated, cap > 1); returns the head's length. */
static int rewrite_one(const char *name, const char *value,
		       const struct mdr_identity *id,
		       const struct mdr_backend *be, char *out, size_t cap)
{
	static struct mdr_http_head h;
	char req[256];
	int n;

	snprintf(req, sizeof(req),
		 "GET / HTTP/1.1\r\nHost: x\r\n%s: %s\r\n\r\n", name, value);
	CHECK_INT(parse_req(req, &h), 1);
	n = mdr_rewrite_request(&h, id, be, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	return n;
}

void test_rewrite_nova(void)
{
	static struct mdr_http_head h;
	struct mdr_identity id = { .vm_ip = "10.0.0.5",
				   .network_id = "net-1",
				   .router_id = "rtr-1",
				   .instance_id = "inst-1",
				   .project_id = "proj-1" };
	struct mdr_backend be;
	char out[4096], lower[4096], err[256];
	int n;

	CHECK_INT(mdr_backend_parse("nova:http://127.0.0.1:18775", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(mdr_backend_set_secret(&be, "s3cr3t", 6), 0);
	CHECK_INT(parse_req(forged_request, &h), 1);
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	for (int i = 0; i <= n; i++)
		lower[i] = out[i] >= 'A' && out[i] <= 'Z' ? out[i] + 32
							  : out[i];
	CHECK(!strncmp(out, "GET /latest/meta-data HTTP/1.1\r\n", 32));
	CHECK(!strstr(lower, "evil"));
	CHECK(!strstr(lower, "6.6.6"));
	CHECK(!strstr(lower, "x-neutron"));
	CHECK(!strstr(lower, "x-ovn"));
	/* Exactly our four identity headers, once each, in this order. */
	CHECK(has_header(
		out,
		"\r\nX-Forwarded-For: 10.0.0.5\r\n"
		"X-Instance-ID: inst-1\r\n"
		"X-Tenant-ID: proj-1\r\n"
		"X-Instance-ID-Signature: "
		"439de97388f549a2dcc1028067b052f1128de208ae3ed06f3ef648f998988fbc\r\n"));
	CHECK_INT(count_header(out, "x-forwarded-for"), 1);
	CHECK_INT(count_header(out, "x-instance-id"), 1);
	CHECK_INT(count_header(out, "x-instance-id-signature"), 1);
	CHECK_INT(count_header(out, "x-tenant-id"), 1);
	/* Nova is addressed by its own name, once. */
	CHECK(has_header(out, "\r\nHost: 127.0.0.1:18775\r\n"));
	CHECK_INT(count_header(out, "host"), 1);
	CHECK(has_header(out, "\r\nX-Tenant-Name: kept\r\n"));
	CHECK(has_header(out, "\r\nConnection: close\r\n\r\n"));

	/* No project: Nova will say what is missing. */
	id.project_id[0] = '\0';
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK_INT(count_header(out, "x-tenant-id"), 0);
	CHECK_INT(count_header(out, "x-instance-id-signature"), 1);

	/* No instance (the proxy answers 404 before this): nothing signed. */
	id.instance_id[0] = '\0';
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(!strstr(out, "X-Instance"));
	CHECK_INT(count_header(out, "x-forwarded-for"), 1);

	/* Every case variant of a forged name goes, one at a time too. */
	static const char *const names[] = {
		"x-instance-id",    "X-INSTANCE-ID",
		"X-Instance-Id",    "x-InStAnCe-iD-sIgNaTuRe",
		"X-TENANT-ID",	    "x-tenant-id",
		"X-Forwarded-FOR",  "X-NEUTRON-network-id",
		"x-ovn-network-id",
	};
	strcpy(id.instance_id, "inst-2");
	strcpy(id.project_id, "proj-2");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		rewrite_one(names[i], "forged", &id, &be, out, sizeof(out));
		CHECK(!strstr(out, "forged"));
		CHECK_INT(count_header(out, "x-instance-id"), 1);
	}
	mdr_backend_release(&be);
}

/* The one-shot and the pooled head of one request, compared. */
static void check_keep_alive(const struct mdr_http_head *h,
			     const struct mdr_identity *id,
			     const struct mdr_backend *be)
{
	static const char close_end[] = "\r\nConnection: close\r\n\r\n";
	static const char keep_end[] = "\r\nConnection: keep-alive\r\n\r\n";
	const size_t same = sizeof(close_end) - 1, extra = 5;
	char one[4096], kept[4096], plain[4096];
	int n1, nk;

	n1 = mdr_rewrite_request_conn(h, id, be, false, one, sizeof(one) - 1);
	nk = mdr_rewrite_request_conn(h, id, be, true, kept, sizeof(kept) - 1);
	CHECK(n1 > (int)same);
	CHECK_INT(nk, n1 + (int)extra);
	if (n1 <= (int)same || nk != n1 + (int)extra)
		return;
	one[n1] = kept[nk] = '\0';
	/* The close head is what mdr_rewrite_request() sends. */
	CHECK_INT(mdr_rewrite_request(h, id, be, plain, sizeof(plain)), n1);
	CHECK(!memcmp(plain, one, (size_t)n1));
	CHECK_STR(one + n1 - same, close_end);
	CHECK_STR(kept + nk - (same + extra), keep_end);
	CHECK(!memcmp(one, kept, (size_t)n1 - same));
	CHECK_INT(count_header(kept, "connection"), 1);
	CHECK_INT(count_header(kept, "keep-alive"), 0);
	CHECK_INT(count_header(kept, "x-forwarded-for"), 1);
	CHECK(!strstr(kept, "forged"));
	/* Bounded alike: the exact size fits, a byte less is -ENOSPC (the
	 * close head's size too), never a cut head. */
	CHECK_INT(mdr_rewrite_request_conn(h, id, be, true, kept, nk), nk);
	CHECK_INT(mdr_rewrite_request_conn(h, id, be, true, kept, nk - 1),
		  -ENOSPC);
	CHECK_INT(mdr_rewrite_request_conn(h, id, be, true, kept, n1), -ENOSPC);
}

/*
 * The head production sends on a pooled backend connection (keep_alive,
 * the default for neutron and for nova over plain http) is the one-shot
 * head with only its last line changed: for every request shape, backend
 * and identity, byte for byte the same head but for "Connection:
 * keep-alive", once, whatever Connection the guest sent.
 */
void test_rewrite_request_keep_alive(void)
{
	static const char *const reqs[] = {
		forged_request,
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
		"Keep-Alive: timeout=9\r\n\r\n",
		"POST /x HTTP/1.0\r\nContent-Length: 3\r\n"
		"Connection: content-length, keep-alive\r\n\r\n",
		"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		"Expect: 100-continue\r\nConnection: Upgrade\r\n"
		"Upgrade: h2c\r\n\r\n",
		"HEAD /h HTTP/1.1\r\nHost: h\r\nX_Instance_ID: forged\r\n"
		"Content-Length: 0\r\nContent-Length: 0\r\n\r\n",
	};
	static const char *const specs[] = {
		"neutron:unix:/run/neutron/metadata_proxy",
		"nova:http://127.0.0.1:18775",
		"local:/tmp",
	};
	const struct mdr_identity full = { .vm_ip = "10.0.0.5",
					   .network_id = "net-1",
					   .router_id = "rtr-1",
					   .instance_id = "inst-1",
					   .project_id = "proj-1" };
	const struct mdr_identity router = { .vm_ip = "fd00::5",
					     .router_id = "rtr-1",
					     .instance_id = "inst-1" };
	static struct mdr_http_head h;
	struct mdr_backend be;
	char kept[4096], err[256];
	int n;

	for (size_t b = 0; b < sizeof(specs) / sizeof(specs[0]); b++) {
		CHECK_INT(mdr_backend_parse(specs[b], &be, err, sizeof(err)),
			  0);
		if (be.kind == MDR_BACKEND_NOVA)
			CHECK_INT(mdr_backend_set_secret(&be, "s3cr3t", 6), 0);
		for (size_t r = 0; r < sizeof(reqs) / sizeof(reqs[0]); r++) {
			CHECK_INT(parse_req(reqs[r], &h), 1);
			check_keep_alive(&h, &full, &be);
			check_keep_alive(&h, &router, &be);
		}
		mdr_backend_release(&be);
	}

	/* What a pooled nova connection carries: signed, addressed to Nova. */
	CHECK_INT(mdr_backend_parse("nova:http://127.0.0.1:18775", &be, err,
				    sizeof(err)),
		  0);
	CHECK_INT(mdr_backend_set_secret(&be, "s3cr3t", 6), 0);
	CHECK_INT(parse_req(forged_request, &h), 1);
	n = mdr_rewrite_request_conn(&h, &full, &be, true, kept,
				     sizeof(kept) - 1);
	kept[n > 0 ? n : 0] = '\0';
	CHECK(has_header(kept, "\r\nHost: 127.0.0.1:18775\r\n"));
	CHECK(has_header(kept, "\r\nX-Forwarded-For: 10.0.0.5\r\n"
			       "X-Instance-ID: inst-1\r\n"
			       "X-Tenant-ID: proj-1\r\n"
			       "X-Instance-ID-Signature: "
			       "439de97388f549a2dcc1028067b052f1"
			       "128de208ae3ed06f3ef648f998988fbc\r\n"
			       "Connection: keep-alive\r\n\r\n"));
	CHECK(!strstr(kept, "evil"));
	mdr_backend_release(&be);
}

/*
 * Every header a backend behind us reads as identity or provenance, as the
 * backends spell it; listed here apart from rewrite.c's table, so that a
 * name dropped from the table fails here. Where each is read: README,
 * Hardening.
 */
static const char *const backend_identity_headers[] = {
	"X-Forwarded-For",	   "Forwarded",
	"X-Forwarded-Proto",	   "X-Forwarded-Host",
	"X-Forwarded-Prefix",	   "X-Instance-ID",
	"X-Instance-ID-Signature", "X-Tenant-ID",
	"X-Metadata-Provider",	   "X-Metadata-Provider-Signature",
	"X-Neutron-Network-ID",	   "X-Neutron-Router-ID",
	"X-OVN-Network-ID",
};

/* The v-th spelling of name that a WSGI environ reads as name: as is, lower,
 * upper, '_' for every '-', alternating case with '_', and a lone '_'. */
static void spelling(const char *name, int v, char *out)
{
	bool dash_done = false;
	size_t i;

	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (v == 1 || (v == 4 && i % 2))
			c = c >= 'A' && c <= 'Z' ? c + 32 : c;
		else if (v == 2 || v == 4)
			c = c >= 'a' && c <= 'z' ? c - 32 : c;
		if (c == '-' && (v == 3 || v == 4 || (v == 5 && !dash_done))) {
			c = '_';
			dash_done = true;
		}
		out[i] = c;
	}
	out[i] = '\0';
}

#define SPELLINGS 6

/*
 * Each of them, in every spelling, alone and all at once, is dropped for
 * the neutron and the nova backend alike, and the backend gets ours
 * exactly once; names that only resemble them are kept.
 */
void test_rewrite_identity_headers(void)
{
	static const char *const specs[] = {
		"neutron:unix:/run/neutron/metadata_proxy",
		"nova:http://127.0.0.1:18775",
	};
	static const char *const kept[] = {
		"X-Forwarded-Port", "X-Forwarded-Server", "Forwarded-For",
		"X-Real-IP",	    "X-Metadata",	  "X-Tenant-Name",
		"X-Forwarded-Fo",   "Xforwarded",	  "X-Instance",
	};
	const struct mdr_identity id = { .vm_ip = "10.0.0.5",
					 .network_id = "net-1",
					 .instance_id = "inst-1",
					 .project_id = "proj-1" };
	const size_t nnames = sizeof(backend_identity_headers) /
			      sizeof(backend_identity_headers[0]);
	static struct mdr_http_head h;
	static char all[8192];
	struct mdr_backend be;
	char name[64], line[128], out[8192], err[256];
	size_t len;
	int n;

	len = (size_t)snprintf(all, sizeof(all),
			       "GET / HTTP/1.1\r\nHost: x\r\n");
	for (size_t i = 0; i < nnames; i++)
		for (int v = 0; v < SPELLINGS; v++) {
			spelling(backend_identity_headers[i], v, name);
			CHECK(mdr_header_is_identity(
				(struct mdr_str){ name, strlen(name) }));
			len += (size_t)snprintf(all + len, sizeof(all) - len,
						"%s: forged\r\n", name);
		}
	snprintf(all + len, sizeof(all) - len, "\r\n");
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		CHECK(!mdr_header_is_identity(
			(struct mdr_str){ kept[i], strlen(kept[i]) }));

	for (size_t b = 0; b < sizeof(specs) / sizeof(specs[0]); b++) {
		bool nova;

		CHECK_INT(mdr_backend_parse(specs[b], &be, err, sizeof(err)),
			  0);
		nova = be.kind == MDR_BACKEND_NOVA;
		if (nova)
			CHECK_INT(mdr_backend_set_secret(&be, "s3cr3t", 6), 0);
		for (size_t i = 0; i < nnames; i++)
			for (int v = 0; v < SPELLINGS; v++) {
				spelling(backend_identity_headers[i], v, name);
				CHECK(rewrite_one(name, "forged", &id, &be, out,
						  sizeof(out)) > 0);
				CHECK(!strstr(out, "forged"));
			}

		CHECK_INT(parse_req(all, &h), 1);
		CHECK_INT(h.nheaders, 1 + nnames * SPELLINGS);
		n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
		CHECK(n > 0);
		out[n > 0 ? n : 0] = '\0';
		CHECK(!strstr(out, "forged"));
		/* Ours, once each. */
		CHECK_INT(count_header(out, "x-forwarded-for"), 1);
		CHECK_INT(count_header(out, "x-instance-id"), nova);
		CHECK_INT(count_header(out, "x-tenant-id"), nova);
		CHECK_INT(count_header(out, "x-instance-id-signature"), nova);
		CHECK_INT(count_header(out, "x-neutron-network-id"), !nova);
		CHECK_INT(count_header(out, "forwarded"), 0);
		CHECK_INT(count_header(out, "x-metadata-provider"), 0);
		mdr_backend_release(&be);
	}

	/* The near misses reach the backend untouched. */
	CHECK_INT(mdr_backend_parse(specs[0], &be, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		rewrite_one(kept[i], "kept", &id, &be, out, sizeof(out));
		snprintf(line, sizeof(line), "\r\n%s: kept\r\n", kept[i]);
		CHECK(has_header(out, line));
	}
	mdr_backend_release(&be);
}

/* IMDS token headers never reach a backend, however they are spelt. */
void test_rewrite_tokens(void)
{
	static struct mdr_http_head h;
	struct mdr_identity id = { .vm_ip = "10.0.0.5", .network_id = "net-1" };
	struct mdr_backend be = { .kind = MDR_BACKEND_NEUTRON };
	const char *req = "GET /latest/meta-data/ HTTP/1.1\r\nHost: h\r\n"
			  "X-aws-ec2-metadata-token: AQAAAA\r\n"
			  "x_AWS_ec2_metadata_token: AQAAAB\r\n"
			  "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n"
			  "X_aws_ec2_metadata_token_ttl_seconds: 61\r\n"
			  "X-aws-ec2-metadata: kept\r\n\r\n";
	char out[2048];
	int n;

	CHECK_INT(parse_req(req, &h), 1);
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	CHECK(!strstr(out, "AQAAA"));
	CHECK(!strcasestr(out, "ttl"));
	CHECK(!strcasestr(out, "metadata_token"));
	CHECK_HAS(out, "\r\nX-aws-ec2-metadata: kept\r\n");
	for (const char *const *s =
		     (const char *const[]){
			     "X-aws-ec2-metadata-token",
			     "X-AWS-EC2-METADATA-TOKEN-TTL-SECONDS",
			     "x_aws_ec2_metadata_token", NULL };
	     *s; s++)
		CHECK(mdr_header_is_token((struct mdr_str){ *s, strlen(*s) }));
	for (const char *const *s =
		     (const char *const[]){ "X-aws-ec2-metadata", "Token",
					    "X-aws-ec2-metadata-toke", NULL };
	     *s; s++)
		CHECK(!mdr_header_is_token((struct mdr_str){ *s, strlen(*s) }));
}
