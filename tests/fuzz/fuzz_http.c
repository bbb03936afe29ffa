/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target: a guest's byte stream through the request parser, the
 * body framing and the rewriter, as the proxy runs them.
 *
 * The input is read as a connection: heads parsed incrementally (the bytes
 * arriving in three pieces), each body consumed by its framing, then the
 * next pipelined request. Every parsed head is rewritten for the neutron and
 * the nova backend, both for a backend connection of its own ("Connection:
 * close") and for a pooled one ("Connection: keep-alive", what the proxy
 * sends by default), and the result must be a head a backend can trust: our
 * identity headers exactly once each, none of the guest's, no CR, LF or NUL
 * inside a line, the guest's framing kept, and a bounded length; and the
 * two heads the same but for their Connection line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "backends/spec.h"
#include "http/parser.h"
#include "lib/identity.h"
#include "http/rewrite.h"

#define OUT_CAP	 32768 /* the proxy's buffer toward the backend */
#define MAX_REQS 8     /* pipelined requests followed per input */

static struct mdr_backend neutron, nova;
static struct mdr_identity ident = {
	.attach_id = 7,
	.network_id = "net-1",
	.instance_id = "inst-1",
	.project_id = "proj-1",
	.vm_ip = "10.0.0.5",
};

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (mdr_backend_parse("neutron:unix:/nonexistent/metadata_proxy",
			      &neutron, err, sizeof(err)) ||
	    mdr_backend_parse("nova:http://127.0.0.1:8775", &nova, err,
			      sizeof(err)) ||
	    mdr_backend_set_secret(&nova, "s3cret", 6)) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	return 0;
}

/* Counts header lines of out named name (compared as the backend's WSGI
 * environ would: case and '-'/'_' alike), and checks each value. */
struct seen {
	unsigned int identity_foreign; /* an identity header not ours */
	unsigned int xff, net, inst, tenant, sig, host, conn, cl, te;
	unsigned int conn_close, conn_keep; /* Connection lines, by value */
	unsigned int token; /* an IMDS token header, never the backend's */
};

/*
 * Whether a backend would take name for an identity header, written here
 * apart from the rewriter's own test so that one cannot hide the other's
 * mistake: WSGI servers fold case and turn '-' into '_'.
 */
static bool backend_sees_identity(struct mdr_str name)
{
	static const char *const exact[] = {
		"x-forwarded-for",  "forwarded",   "x-forwarded-proto",
		"x-forwarded-host", "x-tenant-id", "x-forwarded-prefix",
	};
	static const char *const prefix[] = { "x-neutron-", "x-ovn-",
					      "x-instance-id",
					      "x-metadata-provider" };
	char low[64];
	size_t n = name.n < sizeof(low) ? name.n : sizeof(low) - 1;

	for (size_t i = 0; i < n; i++) {
		char c = name.p[i];

		low[i] = c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? c + 32 : c;
	}
	low[n] = '\0';
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (name.n == strlen(exact[i]) && !strcmp(low, exact[i]))
			return true;
	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (!strncmp(low, prefix[i], strlen(prefix[i])))
			return true;
	return false;
}

/* X-aws-ec2-metadata-token and -ttl-seconds, as a WSGI backend reads them. */
static bool backend_sees_token(struct mdr_str name)
{
	static const char lit[] = "x-aws-ec2-metadata-token";

	if (name.n < sizeof(lit) - 1)
		return false;
	for (size_t i = 0; i < sizeof(lit) - 1; i++)
		if ((name.p[i] == '_'
			     ? '-'
			     : tolower((unsigned char)name.p[i])) != lit[i])
			return false;
	return true;
}

static bool value_is(const char *v, size_t n, const char *want)
{
	return strlen(want) == n && !memcmp(v, want, n);
}

static void note_line(struct seen *s, const char *line, size_t n,
		      const struct mdr_backend *be)
{
	const char *colon = memchr(line, ':', n);
	struct mdr_str name;
	const char *v;
	size_t vn;

	ASSERT(colon && colon > line);
	name = (struct mdr_str){ line, (size_t)(colon - line) };
	v = colon + 1;
	vn = n - (size_t)(v - line);
	while (vn && *v == ' ') {
		v++;
		vn--;
	}
	if (mdr_str_eq(name, "X-Forwarded-For")) {
		s->xff++;
		ASSERT(value_is(v, vn, ident.vm_ip));
	} else if (mdr_str_eq(name, "X-Neutron-Network-ID")) {
		s->net++;
		ASSERT(value_is(v, vn, ident.network_id));
	} else if (mdr_str_eq(name, "X-Instance-ID")) {
		s->inst++;
		ASSERT(value_is(v, vn, ident.instance_id));
	} else if (mdr_str_eq(name, "X-Tenant-ID")) {
		s->tenant++;
		ASSERT(value_is(v, vn, ident.project_id));
	} else if (mdr_str_eq(name, "X-Instance-ID-Signature")) {
		s->sig++;
		ASSERT(vn == MDR_NOVA_SIGNATURE_LEN);
	} else if (backend_sees_identity(name)) {
		s->identity_foreign++;
	}
	if (mdr_str_ieq(name, "host")) {
		s->host++;
		if (be == &nova)
			ASSERT(value_is(v, vn, nova.authority));
	}
	if (mdr_str_ieq(name, "connection")) {
		s->conn++;
		s->conn_close += value_is(v, vn, "close");
		s->conn_keep += value_is(v, vn, "keep-alive");
	}
	s->token += backend_sees_token(name);
	s->cl += mdr_str_ieq(name, "content-length");
	s->te += mdr_str_ieq(name, "transfer-encoding");
}

/* The rewritten head, line by line: CRLF only at line ends, no NUL, and
 * exactly the identity we put in. */
static void check_rewritten(const char *out, size_t n,
			    const struct mdr_http_head *req,
			    const struct mdr_backend *be, bool keep_alive)
{
	struct seen s = { 0 };
	size_t pos, eol;
	bool first = true;

	ASSERT(n >= 4 && n <= OUT_CAP);
	ASSERT(!memcmp(out + n - 4, "\r\n\r\n", 4));
	for (pos = 0; pos < n - 2; pos = eol + 2) {
		for (eol = pos; out[eol] != '\r'; eol++) {
			ASSERT(out[eol] != '\n' && out[eol] != '\0');
			ASSERT(eol + 1 < n);
		}
		ASSERT(out[eol + 1] == '\n');
		ASSERT(eol > pos); /* no empty line before the end */
		if (first)
			first = false;
		else
			note_line(&s, out + pos, eol - pos, be);
	}
	ASSERT(pos == n - 2);
	ASSERT(!s.identity_foreign);
	ASSERT(!s.token);
	ASSERT(s.xff == 1);
	ASSERT(s.host == 1);
	ASSERT(s.conn == 1);
	ASSERT(keep_alive ? s.conn_keep == 1 : s.conn_close == 1);
	if (be == &nova) {
		ASSERT(s.inst == 1 && s.tenant == 1 && s.sig == 1 && !s.net);
	} else {
		ASSERT(s.net == 1 && !s.inst && !s.tenant && !s.sig);
	}
	/* The body the proxy relays is framed as the guest framed it. */
	ASSERT(s.cl == (req->body == MDR_BODY_LENGTH));
	ASSERT(s.te == (req->body == MDR_BODY_CHUNKED));
}

static void rewrite_for(const struct mdr_http_head *h,
			const struct mdr_backend *be)
{
	static const char close_end[] = "Connection: close\r\n\r\n";
	static char out[OUT_CAP], kept[OUT_CAP];
	int n = mdr_rewrite_request(h, &ident, be, out, sizeof(out));
	int k = mdr_rewrite_request_conn(h, &ident, be, true, kept,
					 sizeof(kept));
	const int extra = (int)strlen("keep-alive") - (int)strlen("close");

	ASSERT(n > 0 || n == -ENOSPC);
	ASSERT(k > 0 || k == -ENOSPC);
	if (n > 0)
		check_rewritten(out, (size_t)n, h, be, false);
	if (k > 0)
		check_rewritten(kept, (size_t)k, h, be, true);
	/* The pooled head is the one-shot head but for its last line, which
	 * is what the bound may cut: never one without the other otherwise. */
	if (k > 0) {
		ASSERT(n == k - extra);
		ASSERT(!memcmp(out, kept, (size_t)n - (sizeof(close_end) - 1)));
	} else if (n > 0) {
		ASSERT(n > OUT_CAP - extra);
	}
}

/*
 * Parses one head from buf, the bytes arriving in three pieces. The pieces
 * must not change the verdict: a prefix can only need more bytes, or give
 * the same answer as the whole.
 */
static int parse_split(const char *buf, size_t len, uint8_t salt,
		       struct mdr_http_head *h)
{
	static struct mdr_http_head whole;
	struct mdr_http_parser p = { 0 }, q = { 0 };
	size_t cut1 = len * (salt & 15) / 16,
	       cut2 = len - len * (salt >> 4) / 32;
	int ref, ret = 0;

	ref = mdr_http_parse_request(&q, buf, len, &whole);
	if (cut1 < cut2)
		ret = mdr_http_parse_request(&p, buf, cut1, h);
	if (!ret && cut2 <= len)
		ret = mdr_http_parse_request(&p, buf, cut2, h);
	if (!ret)
		ret = mdr_http_parse_request(&p, buf, len, h);
	/* Which error can differ (a line over its limit may be cut short
	 * before a bad byte further on is seen), rejecting cannot. */
	ASSERT(ret == ref || (ret < 0 && ref < 0));
	if (ret == 1) {
		ASSERT(h->len == whole.len && h->len <= len);
		ASSERT(h->len <= MDR_HTTP_MAX_HEAD);
		ASSERT(h->nheaders == whole.nheaders);
		ASSERT(h->body == whole.body);
	} else if (ret < 0) {
		ASSERT(h->error_status >= 400 && h->error);
	}
	return ret;
}

/* Consumes a request body as the relay does, through a small window, so
 * chunk framing is cut everywhere. Returns bytes used, or -1 when the body
 * is broken or unfinished (the connection would end there). */
static ssize_t consume_body(const struct mdr_http_head *h, const char *buf,
			    size_t len)
{
	char out[61]; /* odd sizes, so framing is cut everywhere */
	struct mdr_body b;
	size_t off = 0, used;
	ssize_t n;

	mdr_body_init(&b, h, false);
	while (!b.done) {
		size_t avail = len - off < 97 ? len - off : 97;

		n = mdr_body_copy(&b, buf + off, avail, out, sizeof(out),
				  &used);
		if (n < 0)
			return -1;
		/* Relayed raw: what goes out is exactly what came in. */
		ASSERT(used <= avail && (size_t)n == used);
		off += used;
		if (!used && !b.done) {
			ASSERT(off == len || avail == 0);
			return -1; /* the guest would have to send more */
		}
	}
	return (ssize_t)off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mdr_http_head h;
	const char *buf = (const char *)data + 1;
	size_t len, off = 0;
	uint8_t salt;

	if (!size)
		return 0;
	salt = data[0];
	len = size - 1;
	for (int i = 0; i < MAX_REQS && off < len; i++) {
		ssize_t body;

		if (parse_split(buf + off, len - off, salt, &h) != 1)
			break; /* rejected or unfinished: the connection ends */
		rewrite_for(&h, &neutron);
		rewrite_for(&h, &nova);
		off += h.len;
		body = consume_body(&h, buf + off, len - off);
		if (body < 0)
			break;
		off += (size_t)body;
		salt = (uint8_t)(salt * 31 + 7);
	}
	return 0;
}
