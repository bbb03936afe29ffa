/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for the HTTP layer: head parsing and its strict rejections,
 * incremental and pipelined parsing split at every byte, the chunked
 * scanner, header rewriting, backend specs and local path resolution, Nova
 * signatures and TLS option errors; the proxy's admission control (rate
 * limiter, connection caps) with a fake clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "proxy/admission.h"
#include "backends/spec.h"
#include "http/parser.h"
#include "backends/local.h"
#include "http/rewrite.h"


static int parse_req(const char *s, struct mdr_http_head *h)
{
	struct mdr_http_parser p = { 0 };

	return mdr_http_parse_request(&p, s, strlen(s), h);
}

static int parse_resp(const char *s, bool head, struct mdr_http_head *h)
{
	struct mdr_http_parser p = { 0 };

	return mdr_http_parse_response(&p, s, strlen(s), head, h);
}

static bool has_header(const char *head, const char *line)
{
	return strstr(head, line) != NULL;
}

static void test_simple_get(void)
{
	static struct mdr_http_head h;
	const char *req = "GET /latest/meta-data?x=1 HTTP/1.1\r\n"
			  "Host: 169.254.169.254\r\n"
			  "Accept:  */*  \r\n"
			  "\r\n";

	CHECK_INT(parse_req(req, &h), 1);
	CHECK(mdr_str_eq(h.method, "GET"));
	CHECK(mdr_str_eq(h.target, "/latest/meta-data?x=1"));
	CHECK_INT(h.minor, 1);
	CHECK_INT(h.nheaders, 2);
	CHECK(mdr_str_eq(h.headers[1].value, "*/*")); /* OWS trimmed */
	CHECK_INT(h.len, strlen(req));
	CHECK_INT(h.body, MDR_BODY_NONE);
	CHECK(mdr_http_wants_keep_alive(&h));
	CHECK(h.has_host);
}

static void test_keep_alive_rules(void)
{
	static struct mdr_http_head h;

	CHECK_INT(parse_req("GET / HTTP/1.0\r\n\r\n", &h), 1);
	CHECK(!mdr_http_wants_keep_alive(&h));
	CHECK(!h.has_host);
	CHECK_INT(parse_req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h), 1);
	CHECK(mdr_http_wants_keep_alive(&h));
	CHECK_INT(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", &h), 1);
	CHECK(!mdr_http_wants_keep_alive(&h));
	CHECK_INT(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", &h), 1);
	CHECK_INT(h.body, MDR_BODY_LENGTH);
	CHECK_INT(h.content_length, 12);
	CHECK_INT(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", &h), 1);
	CHECK_INT(h.body, MDR_BODY_CHUNKED);
	/* Identical duplicate lengths are harmless. */
	CHECK_INT(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", &h), 1);
	CHECK_INT(parse_req("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", &h), 1);
	CHECK(h.expect_continue);
	/* HTTP/1.2 is spoken as 1.1. */
	CHECK_INT(parse_req("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &h), 1);
	CHECK_INT(h.minor, 1);
}

static const struct reject_case {
	const char *name, *req;
	int status;
} reject_cases[] = {
	{ "CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400 },
	{ "differing CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400 },
	{ "CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", 400 },
	{ "CL sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n", 400 },
	{ "CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400 },
	{ "CL huge", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789012\r\n\r\n", 400 },
	{ "TE gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400 },
	{ "TE gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400 },
	{ "TE chunked, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400 },
	{ "TE twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400 },
	{ "obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400 },
	{ "leading space", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400 },
	{ "bare LF start", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400 },
	{ "bare LF header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400 },
	{ "bare LF end", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400 },
	{ "bare CR", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400 },
	{ "NUL in value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 400 },
	{ "NUL in target", "GET /a\0 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "CTL in value", "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400 },
	{ "DEL in value", "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400 },
	{ "space in name", "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", 400 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
	{ "empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400 },
	{ "no colon", "GET / HTTP/1.1\r\nHost: a\r\nXYZ\r\n\r\n", 400 },
	{ "bad name char", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400 },
	{ "bad method char", "GE{T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "lower http", "GET / http/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "HTTP/2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
	{ "HTTP/1", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400 },
	{ "two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },
	{ "no version", "GET /\r\nHost: a\r\n\r\n", 400 },
	{ "absolute form", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "asterisk form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "8bit target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "empty first line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
};

static void test_rejections(void)
{
	static struct mdr_http_head h;

	for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
		const struct reject_case *rc = &reject_cases[i];
		/* Some cases hold a NUL, so size them from the known end. */
		size_t len = strlen(rc->req);
		struct mdr_http_parser p = { 0 };
		int ret;

		if (strstr(rc->name, "NUL"))
			len += 1 + strlen(rc->req + len + 1);
		ret = mdr_http_parse_request(&p, rc->req, len, &h);
		if (ret >= 0 || h.error_status != rc->status)
			fprintf(stderr, "reject case '%s': ret %d status %d\n",
				rc->name, ret, h.error_status);
		CHECK(ret < 0);
		CHECK_INT(h.error_status, rc->status);
		CHECK(h.error && *h.error);
	}
}

static char *make_request(size_t target_len, unsigned int nheaders,
			  size_t value_len)
{
	size_t cap = target_len + nheaders * (value_len + 32) + 256;
	char *s = malloc(cap), *p = s;

	p += sprintf(p, "GET /");
	memset(p, 'a', target_len - 1);
	p += target_len - 1;
	p += sprintf(p, " HTTP/1.1\r\nHost: a\r\n");
	for (unsigned int i = 1; i < nheaders; i++) {
		p += sprintf(p, "X-%u: ", i);
		memset(p, 'v', value_len);
		p += value_len;
		p += sprintf(p, "\r\n");
	}
	sprintf(p, "\r\n");
	return s;
}

static void test_limits(void)
{
	static struct mdr_http_head h;
	size_t fixed = strlen("GET  HTTP/1.1");
	char *s;

	s = make_request(MDR_HTTP_MAX_START_LINE - fixed, 1, 0);
	CHECK_INT(parse_req(s, &h), 1);
	free(s);
	s = make_request(MDR_HTTP_MAX_START_LINE - fixed + 1, 1, 0);
	CHECK_INT(parse_req(s, &h), -EMSGSIZE);
	CHECK_INT(h.error_status, 414);
	/* Too long is known before the line ends. */
	s[MDR_HTTP_MAX_START_LINE + 2] = '\0';
	CHECK_INT(parse_req(s, &h), -EMSGSIZE);
	free(s);

	s = make_request(1, MDR_HTTP_MAX_HEADERS, 1);
	CHECK_INT(parse_req(s, &h), 1);
	CHECK_INT(h.nheaders, MDR_HTTP_MAX_HEADERS);
	free(s);
	s = make_request(1, MDR_HTTP_MAX_HEADERS + 1, 1);
	CHECK_INT(parse_req(s, &h), -EMSGSIZE);
	CHECK_INT(h.error_status, 431);
	free(s);

	/* Header block: "Host: a\r\n" (9) + 1 line + final CRLF (2). */
	{
		size_t value = MDR_HTTP_MAX_HEADER_BLOCK - 9 - 2 - strlen("X-1: \r\n");

		s = make_request(1, 2, value);
		CHECK_INT(parse_req(s, &h), 1);
		free(s);
		s = make_request(1, 2, value + 1);
		CHECK_INT(parse_req(s, &h), -EMSGSIZE);
		CHECK_INT(h.error_status, 431);
		free(s);
	}
	/* Bigger heads than the limits cannot fit any buffer we use. */
	CHECK(MDR_HTTP_MAX_HEAD <= 32768);
}

/* Two pipelined requests arriving in two pieces split at every byte. */
static void test_pipelining_splits(void)
{
	static struct mdr_http_head h;
	const char *stream = "POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
			     "GET /two HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n";
	size_t n = strlen(stream), first_len = strlen(stream) - strlen(strstr(stream, "GET"));
	int ok = 0;

	for (size_t split = 0; split <= n; split++) {
		struct mdr_http_parser p = { 0 };
		size_t have = split, off;
		int ret = mdr_http_parse_request(&p, stream, have, &h);

		if (ret == 0) {
			have = n;
			ret = mdr_http_parse_request(&p, stream, have, &h);
		}
		if (ret != 1 || !mdr_str_eq(h.target, "/one") ||
		    h.content_length != 5)
			continue;
		off = h.len + h.content_length;
		if (off != first_len)
			continue;
		/* Second request from whatever had arrived, then the rest. */
		memset(&p, 0, sizeof(p));
		ret = have > off ? mdr_http_parse_request(&p, stream + off,
							    have - off, &h) : 0;
		if (ret == 0)
			ret = mdr_http_parse_request(&p, stream + off, n - off, &h);
		if (ret == 1 && mdr_str_eq(h.target, "/two") && h.nheaders == 2 &&
		    h.len == n - off)
			ok++;
	}
	CHECK_INT(ok, n + 1);
}

/* Byte-at-a-time arrival gives the same head as all at once, and a bad byte
 * is reported as soon as it arrives. */
static void test_incremental(void)
{
	static struct mdr_http_head h;
	const char *req = "GET /a HTTP/1.1\r\nHost: a\r\nX-1: b\r\n\r\n";
	const char *bad = "GET /a HTTP/1.1\r\nHost: a\nX-1: b\r\n\r\n";
	struct mdr_http_parser p = { 0 };
	size_t n = strlen(req), i;
	int ret = 0;

	for (i = 1; i <= n && ret == 0; i++)
		ret = mdr_http_parse_request(&p, req, i, &h);
	CHECK_INT(ret, 1);
	CHECK_INT(i - 1, n);
	CHECK_INT(h.nheaders, 2);

	memset(&p, 0, sizeof(p));
	ret = 0;
	for (i = 1; i <= strlen(bad) && ret == 0; i++)
		ret = mdr_http_parse_request(&p, bad, i, &h);
	CHECK_INT(ret, -EBADMSG);
	CHECK_INT(i - 1, strlen("GET /a HTTP/1.1\r\nHost: a\n"));
}

static void test_responses(void)
{
	static struct mdr_http_head h;

	CHECK_INT(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", false, &h), 1);
	CHECK_INT(h.status, 200);
	CHECK(mdr_str_eq(h.reason, "OK"));
	CHECK_INT(h.body, MDR_BODY_LENGTH);
	CHECK_INT(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, &h), 1);
	CHECK_INT(h.body, MDR_BODY_NONE); /* HEAD */
	CHECK_INT(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, &h), 1);
	CHECK_INT(h.body, MDR_BODY_CHUNKED);
	CHECK_INT(parse_resp("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n", false, &h), 1);
	CHECK_INT(h.body, MDR_BODY_CLOSE);
	CHECK_INT(h.minor, 0);
	CHECK_INT(parse_resp("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, &h), 1);
	CHECK_INT(h.body, MDR_BODY_NONE);
	CHECK_INT(parse_resp("HTTP/1.1 304 Not Modified\r\n\r\n", false, &h), 1);
	CHECK_INT(h.body, MDR_BODY_NONE);
	CHECK_INT(parse_resp("HTTP/1.1 100 Continue\r\n\r\n", false, &h), 1);
	CHECK_INT(h.body, MDR_BODY_NONE);
	CHECK_INT(parse_resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, &h), 1);
	CHECK_INT(h.reason.n, 0);
	CHECK_INT(parse_resp("HTTP/1.1 404 \r\n\r\n", false, &h), 1);

	CHECK(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 2000 OK\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 20x OK\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 099 Low\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("ICY 200 OK\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("garbage garbage garbage\r\n\r\n", false, &h) < 0);
	CHECK_INT(parse_resp("HTTP/1.1 200 OK\r\nContent-Le", false, &h), 0);
}

static const char chunked_body[] =
	"5;name=value\r\nhello\r\n"
	"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	"0000000001 \r\n!\r\n"
	"0\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n";
static const char chunked_data[] = "helloabcdefghijklmnopqrstuvwxyz!";

/* Relays raw (or decodes) src through mdr_body_copy in pieces of `step`
 * bytes with a dst of `room` bytes at a time. Returns bytes consumed. */
static size_t relay(const char *src, size_t n, bool dechunk, size_t step,
		    size_t room, char *out, size_t *out_len, int *err)
{
	struct mdr_http_head h = { .body = MDR_BODY_CHUNKED };
	struct mdr_body b;
	size_t in = 0;

	mdr_body_init(&b, &h, dechunk);
	*out_len = 0;
	*err = 0;
	while (!b.done && in < n) {
		size_t avail = n - in < step ? n - in : step, used;
		ssize_t r = mdr_body_copy(&b, src + in, avail, out + *out_len,
					  room, &used);

		if (r < 0) {
			*err = (int)r;
			break;
		}
		if (!used && !r)
			break; /* stuck would be a bug */
		in += used;
		*out_len += r;
	}
	return b.done ? in : 0;
}

static void test_chunked(void)
{
	char stream[512], out[512];
	size_t body_len = strlen(chunked_body), n, out_len, used;
	int err, raw_ok = 0, dec_ok = 0, split_ok = 0;

	/* The body followed by the next pipelined request. */
	n = (size_t)snprintf(stream, sizeof(stream), "%sGET / HTTP/1.1\r\n", chunked_body);
	for (size_t step = 1; step <= n; step++) {
		for (size_t room = 1; room <= 7; room += 3) {
			used = relay(stream, n, false, step, room, out, &out_len, &err);
			raw_ok += used == body_len && out_len == body_len &&
				  !memcmp(out, chunked_body, body_len) && !err;
			used = relay(stream, n, true, step, room, out, &out_len, &err);
			dec_ok += used == body_len && out_len == strlen(chunked_data) &&
				  !memcmp(out, chunked_data, out_len) && !err;
		}
	}
	CHECK_INT(raw_ok, n * 3);
	CHECK_INT(dec_ok, n * 3);

	/* Two arbitrary pieces, straight through the scanner. */
	for (size_t split = 0; split <= body_len; split++) {
		struct mdr_chunked c = { 0 };
		size_t pos = 0, data = 0;
		bool is_data, ok = true;

		while (pos < body_len && !mdr_chunked_done(&c)) {
			size_t end = pos < split ? split : body_len;
			ssize_t r = mdr_chunked_step(&c, chunked_body + pos, end - pos, &is_data);

			if (r <= 0) {
				ok = false;
				break;
			}
			if (is_data)
				data += r;
			pos += r;
		}
		split_ok += ok && mdr_chunked_done(&c) && pos == body_len &&
			    data == strlen(chunked_data);
	}
	CHECK_INT(split_ok, body_len + 1);

	static const char *const bad[] = {
		"zz\r\n",                       /* not hex */
		";x\r\n",                       /* no size */
		"5\r\nhelloX\r\n",              /* data not followed by CRLF */
		"5\nhello\r\n0\r\n\r\n",        /* bare LF after size */
		"5\r\nhello\n0\r\n\r\n",        /* bare LF after data */
		"0\r\n\r\r",                    /* bad final CRLF */
		"1000000000000000\r\n",         /* 16 hex digits */
		"0\r\nX: a\nY: b\r\n\r\n",      /* bare LF in trailer */
		"0\r\n folded\r\n\r\n",         /* folded trailer */
		"5 \x01\r\nhello\r\n",          /* CTL in extension */
		"0\r\nX: \0\r\n\r\n",           /* NUL in trailer (cut short) */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		if (i == 10)
			len = 11;
		used = relay(bad[i], len, false, 1, 64, out, &out_len, &err);
		if (err != -EBADMSG)
			fprintf(stderr, "bad chunked case %zu accepted\n", i);
		CHECK_INT(err, -EBADMSG);
	}
}

static void test_body_length(void)
{
	struct mdr_http_head h = { .body = MDR_BODY_LENGTH, .content_length = 5 };
	struct mdr_body b;
	char out[16];
	size_t used;

	mdr_body_init(&b, &h, false);
	CHECK_INT(mdr_body_copy(&b, "helloGET", 8, out, 3, &used), 3);
	CHECK_INT(used, 3);
	CHECK(!b.done);
	CHECK_INT(mdr_body_copy(&b, "loGET", 5, out, 16, &used), 2);
	CHECK_INT(used, 2);
	CHECK(b.done);
	h.content_length = 0;
	mdr_body_init(&b, &h, false);
	CHECK(b.done);
}

static const char forged_request[] =
	"GET /latest/meta-data HTTP/1.1\r\n"
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
	"X-Forwarded-Proto: kept\r\n"
	"Accept: */*\r\n"
	"\r\n";

static void test_rewrite_request(void)
{
	static struct mdr_http_head h;
	struct mdr_identity id = { .vm_ip = "10.0.0.5", .network_id = "net-1",
				   .router_id = "rtr-1" };
	struct mdr_backend be = { .kind = MDR_BACKEND_NEUTRON };
	char out[4096], lower[4096];
	int n;

	CHECK_INT(parse_req(forged_request, &h), 1);
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	for (int i = 0; i <= n; i++)
		lower[i] = out[i] >= 'A' && out[i] <= 'Z' ? out[i] + 32 : out[i];
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
	CHECK(has_header(out, "\r\nX-Forwarded-Proto: kept\r\n"));
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

	for (const char *const *s = (const char *const[]){
		     "X-Forwarded-For", "x-neutron-", "X-Neutron-Network-ID",
		     "X-OVN-Network-ID", "X-Instance-ID", "X-Instance-ID-Signature",
		     "x-instance-idx", "X-Tenant-ID", NULL };
	     *s; s++)
		CHECK(mdr_header_is_identity((struct mdr_str){ *s, strlen(*s) }));
	for (const char *const *s = (const char *const[]){
		     "X-Forwarded-Proto", "X-Tenant", "X-Tenant-ID-2", "X-Instance",
		     "Neutron", "X-OVNx", NULL };
	     *s; s++)
		CHECK(!mdr_header_is_identity((struct mdr_str){ *s, strlen(*s) }));
}

static void test_rewrite_request_http10(void)
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
	CHECK_INT(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", &h), 1);
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK(!strstr(strstr(out, "Content-Length") + 1, "Content-Length"));
}

static void test_rewrite_response(void)
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

static void test_backend_specs(void)
{
	struct mdr_backend be;
	char err[512];

	CHECK_INT(mdr_backend_parse("local:/tmp", &be, err, sizeof(err)), 0);
	CHECK_INT(be.kind, MDR_BACKEND_LOCAL);
	CHECK(!strcmp(be.dir, "/tmp"));
	CHECK_INT(mdr_backend_parse("local:/nonexistent-mdredir", &be, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/nonexistent-mdredir") != NULL);
	CHECK_INT(mdr_backend_parse("local:/etc/hostname", &be, err, sizeof(err)), -ENOTDIR);
	CHECK_INT(mdr_backend_parse("local:", &be, err, sizeof(err)), -EINVAL);

	CHECK_INT(mdr_backend_parse("neutron:unix:/run/neutron/metadata_proxy", &be, err, sizeof(err)), 0);
	CHECK_INT(be.kind, MDR_BACKEND_NEUTRON);
	CHECK_INT(be.addr.ss_family, AF_UNIX);
	CHECK_INT(mdr_backend_parse("neutron:unix:", &be, err, sizeof(err)), -EINVAL);
	{
		char spec[200] = "neutron:unix:/";

		memset(spec + 14, 'x', 150);
		spec[164] = '\0';
		CHECK_INT(mdr_backend_parse(spec, &be, err, sizeof(err)), -ENAMETOOLONG);
	}

	CHECK_INT(mdr_backend_parse("neutron:http://127.0.0.1:8775", &be, err, sizeof(err)), 0);
	CHECK_INT(be.addr.ss_family, AF_INET);
	CHECK_INT(ntohs(((struct sockaddr_in *)&be.addr)->sin_port), 8775);
	CHECK_INT(mdr_backend_parse("neutron:http://127.0.0.1", &be, err, sizeof(err)), 0);
	CHECK_INT(ntohs(((struct sockaddr_in *)&be.addr)->sin_port), 80);
	CHECK_INT(mdr_backend_parse("neutron:http://127.0.0.1:9697/", &be, err, sizeof(err)), 0);
	CHECK_INT(mdr_backend_parse("neutron:http://[::1]:9697", &be, err, sizeof(err)), 0);
	CHECK_INT(be.addr.ss_family, AF_INET6);
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&be.addr)->sin6_port), 9697);
	CHECK_INT(mdr_backend_parse("neutron:http://localhost:9697", &be, err, sizeof(err)), 0);

	static const char *const bad[] = {
		"neutron:http://127.0.0.1:0", "neutron:http://127.0.0.1:65536",
		"neutron:http://127.0.0.1:x", "neutron:http://127.0.0.1:",
		"neutron:http://:80", "neutron:http://[::1", "neutron:http://[::1]x",
		"neutron:http://127.0.0.1:80/path", "neutron:http://",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = mdr_backend_parse(bad[i], &be, err, sizeof(err));

		if (ret != -EINVAL)
			fprintf(stderr, "backend '%s': %d (%s)\n", bad[i], ret, err);
		CHECK_INT(ret, -EINVAL);
		CHECK(strstr(err, bad[i]) != NULL);
	}
	CHECK_INT(mdr_backend_parse("neutron:http://no-such-host.invalid:80", &be, err, sizeof(err)), -ENOENT);

	CHECK_INT(mdr_backend_parse("haproxy:http://x", &be, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "haproxy:http://x") && strstr(err, "local:DIR") &&
	      strstr(err, "neutron:unix:PATH") && strstr(err, "neutron:http://HOST") &&
	      strstr(err, "nova:https://HOST"));
	CHECK_INT(mdr_backend_parse("", &be, err, sizeof(err)), -EINVAL);
	CHECK_INT(mdr_backend_parse("neutron", &be, err, sizeof(err)), -EINVAL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static void test_nova_specs(void)
{
	struct mdr_backend be;
	char err[512], desc[512];

	CHECK_INT(mdr_backend_parse("nova:http://127.0.0.1", &be, err, sizeof(err)), 0);
	CHECK_INT(be.kind, MDR_BACKEND_NOVA);
	CHECK(!be.tls && be.endpoint_set && be.host_is_ip);
	CHECK_INT(ntohs(((struct sockaddr_in *)&be.addr)->sin_port), 8775);
	CHECK(!strcmp(be.authority, "127.0.0.1:8775"));
	CHECK(!mdr_backend_needs_endpoint(&be));
	CHECK_INT(mdr_backend_finish(&be, err, sizeof(err)), 0);
	mdr_backend_describe(&be, desc, sizeof(desc));
	CHECK(!strcmp(desc, "nova:http://127.0.0.1:8775 (no shared secret)"));
	/* TLS options mean nothing to plain http: accepted and ignored. */
	CHECK_INT(mdr_backend_set_tls(&be, "/nonexistent", NULL, NULL, false, err, sizeof(err)), 0);
	CHECK(be.ssl_ctx == NULL);

	CHECK_INT(mdr_backend_parse("nova:https://localhost:8443/", &be, err, sizeof(err)), 0);
	CHECK(be.tls && !be.host_is_ip);
	CHECK(!strcmp(be.host, "localhost"));
	CHECK(!strcmp(be.authority, "localhost:8443"));
	CHECK_INT(mdr_backend_set_secret(&be, "s", 1), 0);
	/* finish() gives an https backend the system CAs. */
	CHECK_INT(mdr_backend_finish(&be, err, sizeof(err)), 0);
	CHECK(be.ssl_ctx != NULL);
	mdr_backend_describe(&be, desc, sizeof(desc));
	CHECK(!strncmp(desc, "nova:https://localhost:8443 (", 29));
	mdr_backend_release(&be);
	CHECK(be.ssl_ctx == NULL && be.key_len == 0);

	CHECK_INT(mdr_backend_parse("nova:https://[::1]", &be, err, sizeof(err)), 0);
	CHECK(be.tls && be.host_is_ip);
	CHECK(!strcmp(be.host, "::1"));
	CHECK(!strcmp(be.authority, "[::1]:8775"));
	CHECK_INT(be.addr.ss_family, AF_INET6);

	/* Bare: the endpoint comes later, from Neutron's configuration. */
	CHECK_INT(mdr_backend_parse("nova", &be, err, sizeof(err)), 0);
	CHECK_INT(be.kind, MDR_BACKEND_NOVA);
	CHECK(mdr_backend_needs_endpoint(&be));
	CHECK_INT(mdr_backend_finish(&be, err, sizeof(err)), -EDESTADDRREQ);
	CHECK(strstr(err, "nova_metadata_host") != NULL);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "", 0, false, err, sizeof(err)), -EINVAL);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "127.0.0.1", 70000, false, err, sizeof(err)), -EINVAL);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "no-such-host.invalid", 0, false, err, sizeof(err)), -ENOENT);
	CHECK(mdr_backend_needs_endpoint(&be));
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "fd00::1", 0, true, err, sizeof(err)), 0);
	CHECK(be.tls && be.host_is_ip && !mdr_backend_needs_endpoint(&be));
	CHECK(!strcmp(be.authority, "[fd00::1]:8775"));
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&be.addr)->sin6_port), 8775);
	/* Once set (or when the spec named it), it stays. */
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "127.0.0.1", 80, false, err, sizeof(err)), -EINVAL);
	CHECK_INT(mdr_backend_parse("nova", &be, err, sizeof(err)), 0);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "127.0.0.1", 9999, false, err, sizeof(err)), 0);
	CHECK(!be.tls && !strcmp(be.authority, "127.0.0.1:9999"));
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "[::1]", 0, false, err, sizeof(err)), -EINVAL);

	/* Only nova takes a secret or an endpoint. */
	CHECK_INT(mdr_backend_parse("neutron:http://127.0.0.1", &be, err, sizeof(err)), 0);
	CHECK_INT(mdr_backend_set_secret(&be, "s", 1), -EINVAL);
	CHECK_INT(mdr_backend_set_nova_endpoint(&be, "127.0.0.1", 0, false, err, sizeof(err)), -EINVAL);
	CHECK_INT(mdr_backend_finish(&be, err, sizeof(err)), 0);

	static const char *const bad[] = {
		"nova:", "nova:x", "nova:unix:/run/x", "nova:ftp://h", "nova:http://",
		"nova:https://", "nova:http://127.0.0.1:0", "nova:https://127.0.0.1:x",
		"nova:http://127.0.0.1/openstack", "nova:https://[::1", "novax",
		"nova:HTTP://127.0.0.1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = mdr_backend_parse(bad[i], &be, err, sizeof(err));

		if (ret != -EINVAL)
			fprintf(stderr, "backend '%s': %d (%s)\n", bad[i], ret, err);
		CHECK_INT(ret, -EINVAL);
		CHECK(strstr(err, bad[i]) != NULL);
	}
	CHECK_INT(mdr_backend_parse("nova:https://no-such-host.invalid", &be, err, sizeof(err)), -ENOENT);
}

/*
 * Expected values from neutron-metadata-agent's own computation:
 *   python3 -c 'import hmac, hashlib; print(hmac.new(SECRET.encode(),
 *               INSTANCE.encode(), hashlib.sha256).hexdigest())'
 */
static void test_nova_signature(void)
{
	static const struct {
		const char *secret;
		size_t repeat; /* secret repeated this many times */
		const char *instance, *sig;
	} vec[] = {
		/* secret "s3cr3t", instance "inst-1" */
		{ "s3cr3t", 1, "inst-1",
		  "439de97388f549a2dcc1028067b052f1128de208ae3ed06f3ef648f998988fbc" },
		/* secret "" (Nova's default), a real-looking uuid */
		{ "", 1, "6a5c3b4f-1b7e-4d4a-9f44-0c1d8d0b2a11",
		  "25c74cae21940357383e83b06e0fcedda92869a6f34cf5e6439ee008959e81d6" },
		/* secret "x" * 64: exactly one SHA-256 block, used as is */
		{ "x", 64, "i",
		  "842b7a8a18f809326c616ca2225a47e8aebdada0477f074310497b10c52dc4b6" },
		/* secret "y" * 65: one byte over, hashed into the key */
		{ "y", 65, "i",
		  "10fd2372a528804e804c24a3d850ddaa056911645bf45c90d2b27b4d7f8a5640" },
		/* secret "metadata-secret-" * 10 (160 bytes) */
		{ "metadata-secret-", 10, "6a5c3b4f-1b7e-4d4a-9f44-0c1d8d0b2a11",
		  "2fedc3813ac81d69ad6bb905fa47bc8378ce7b70d01230d0e2ba79452e84f202" },
	};
	char secret[256], sig[MDR_NOVA_SIGNATURE_LEN + 1];
	struct mdr_backend be;
	char err[256];

	CHECK_INT(mdr_backend_parse("nova:http://127.0.0.1", &be, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = strlen(vec[i].secret), len = 0;

		for (size_t r = 0; r < vec[i].repeat; r++, len += n)
			memcpy(secret + len, vec[i].secret, n);
		CHECK_INT(mdr_backend_set_secret(&be, secret, len), 0);
		CHECK_INT(mdr_nova_sign(&be, vec[i].instance, sig), 0);
		if (strcmp(sig, vec[i].sig))
			fprintf(stderr, "vector %zu: got %s\n", i, sig);
		CHECK(!strcmp(sig, vec[i].sig));
	}
	/* No secret at all signs like the empty one. */
	mdr_backend_release(&be);
	CHECK_INT(mdr_nova_sign(&be, vec[1].instance, sig), 0);
	CHECK(!strcmp(sig, vec[1].sig));
}

/* Counts lines of head that start with name (case-insensitive). */
static int count_header(const char *head, const char *name)
{
	size_t n = strlen(name);
	int count = 0;

	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':')
			count++;
	return count;
}

static void test_rewrite_nova(void)
{
	static struct mdr_http_head h;
	struct mdr_identity id = { .vm_ip = "10.0.0.5", .network_id = "net-1",
				   .router_id = "rtr-1",
				   .instance_id = "inst-1",
				   .project_id = "proj-1" };
	struct mdr_backend be;
	char out[4096], lower[4096], err[256];
	int n;

	CHECK_INT(mdr_backend_parse("nova:http://127.0.0.1:18775", &be, err, sizeof(err)), 0);
	CHECK_INT(mdr_backend_set_secret(&be, "s3cr3t", 6), 0);
	CHECK_INT(parse_req(forged_request, &h), 1);
	n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	for (int i = 0; i <= n; i++)
		lower[i] = out[i] >= 'A' && out[i] <= 'Z' ? out[i] + 32 : out[i];
	CHECK(!strncmp(out, "GET /latest/meta-data HTTP/1.1\r\n", 32));
	CHECK(!strstr(lower, "evil"));
	CHECK(!strstr(lower, "6.6.6"));
	CHECK(!strstr(lower, "x-neutron"));
	CHECK(!strstr(lower, "x-ovn"));
	/* Exactly our four identity headers, once each, in this order. */
	CHECK(has_header(out, "\r\nX-Forwarded-For: 10.0.0.5\r\n"
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
		"x-instance-id", "X-INSTANCE-ID", "X-Instance-Id", "x-InStAnCe-iD-sIgNaTuRe",
		"X-TENANT-ID", "x-tenant-id", "X-Forwarded-FOR", "X-NEUTRON-network-id",
		"x-ovn-network-id",
	};
	strcpy(id.instance_id, "inst-2");
	strcpy(id.project_id, "proj-2");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char req[256];

		snprintf(req, sizeof(req),
			 "GET / HTTP/1.1\r\nHost: x\r\n%s: forged\r\n\r\n", names[i]);
		CHECK_INT(parse_req(req, &h), 1);
		n = mdr_rewrite_request(&h, &id, &be, out, sizeof(out) - 1);
		out[n > 0 ? n : 0] = '\0';
		CHECK(!strstr(out, "forged"));
		CHECK_INT(count_header(out, "x-instance-id"), 1);
	}
	mdr_backend_release(&be);
}

/* Writes a self-signed EC certificate and its key as PEM files. */
static bool make_cert(const char *cert_path, const char *key_path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;
	bool ok = key && x;

	if (ok) {
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600);
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
					   MBSTRING_ASC,
					   (const unsigned char *)"test", -1, -1, 0);
		X509_set_issuer_name(x, X509_get_subject_name(x));
		ok = X509_set_pubkey(x, key) && X509_sign(x, key, EVP_sha256());
	}
	if (ok && (f = fopen(cert_path, "w"))) {
		ok = PEM_write_X509(f, x);
		fclose(f);
	}
	if (ok && (f = fopen(key_path, "w"))) {
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

static void test_tls_options(void)
{
	char dir[] = "/tmp/mdr-tls-XXXXXX", a_crt[64], a_key[64], b_crt[64],
	     b_key[64], junk[64], err[512], cmd[128];
	struct mdr_backend be;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(a_crt, sizeof(a_crt), "%s/a.crt", dir);
	snprintf(a_key, sizeof(a_key), "%s/a.key", dir);
	snprintf(b_crt, sizeof(b_crt), "%s/b.crt", dir);
	snprintf(b_key, sizeof(b_key), "%s/b.key", dir);
	snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
	CHECK(make_cert(a_crt, a_key));
	CHECK(make_cert(b_crt, b_key));
	write_file(junk, "not a certificate\n");

	CHECK_INT(mdr_backend_parse("nova:https://127.0.0.1", &be, err, sizeof(err)), 0);
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, NULL, NULL, false, err, sizeof(err)), 0);
	CHECK(be.ssl_ctx != NULL);
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, a_key, false, err, sizeof(err)), 0);
	CHECK_INT(mdr_backend_set_tls(&be, dir, NULL, NULL, false, err, sizeof(err)), 0);
	CHECK_INT(mdr_backend_set_tls(&be, NULL, NULL, NULL, true, err, sizeof(err)), 0);
	CHECK(be.insecure);

	/* Each error names the file at fault, and leaves the last good
	 * context in place. */
	CHECK_INT(mdr_backend_set_tls(&be, "/nonexistent/ca.pem", NULL, NULL, false, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "CA file '/nonexistent/ca.pem'") && strstr(err, "No such file"));
	CHECK(be.ssl_ctx != NULL && be.insecure);
	CHECK_INT(mdr_backend_set_tls(&be, junk, NULL, NULL, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, junk) != NULL);
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, b_key, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "does not match") && strstr(err, b_key) && strstr(err, a_crt));
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, junk, a_key, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "client certificate") && strstr(err, junk));
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, junk, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "client key") && strstr(err, junk));
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, "/nonexistent/k", false, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/nonexistent/k") != NULL);
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, NULL, a_key, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, a_key) != NULL);
	/* The certificate file alone, holding no key. */
	CHECK_INT(mdr_backend_set_tls(&be, a_crt, a_crt, NULL, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, a_crt) != NULL);
	mdr_backend_release(&be);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

static int lookup(int base, const struct mdr_identity *id, const char *target,
		  struct mdr_local_reply *r)
{
	int status = mdr_local_lookup(base, id, (struct mdr_str){ target, strlen(target) }, r);

	if (r->fd >= 0 && status != 200)
		close(r->fd);
	return status;
}


static void test_local(void)
{
	char dir[] = "/tmp/mdr-unit-XXXXXX", path[512], body[256];
	struct mdr_identity id = { .instance_id = "i-1", .vm_ip = "10.0.0.5" };
	struct mdr_local_reply r;
	int base;
	ssize_t n;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/i-1", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/i-1/sub", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/i-1/b.json", dir);
	write_file(path, "{}");
	snprintf(path, sizeof(path), "%s/i-1/a", dir);
	write_file(path, "A");
	snprintf(path, sizeof(path), "%s/i-1/out", dir);
	CHECK(!symlink("/etc/hostname", path));
	snprintf(path, sizeof(path), "%s/i-1/up", dir);
	CHECK(!symlink("../..", path));
	snprintf(path, sizeof(path), "%s/net-1", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/net-1/10.0.0.5", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/net-1/10.0.0.5/who", dir);
	write_file(path, "net");
	base = open(dir, O_PATH | O_DIRECTORY);

	CHECK_INT(lookup(base, &id, "/b.json", &r), 200);
	CHECK(!strcmp(r.content_type, "application/json"));
	CHECK_INT(r.size, 2);
	close(r.fd);
	CHECK_INT(lookup(base, &id, "/%61?query=/etc", &r), 200);
	CHECK(!strcmp(r.content_type, "text/plain"));
	close(r.fd);
	CHECK_INT(lookup(base, &id, "//./a", &r), 200);
	close(r.fd);
	CHECK_INT(lookup(base, &id, "/", &r), 200);
	n = pread(r.fd, body, sizeof(body) - 1, 0); /* sendfile-style: from 0 */
	body[n > 0 ? n : 0] = '\0';
	close(r.fd);
	CHECK(!strcmp(body, "a\nb.json\nout\nsub/\nup\n"));
	CHECK_INT(r.size, strlen(body));

	CHECK_INT(lookup(base, &id, "/missing", &r), 404);
	CHECK_INT(lookup(base, &id, "/../net-1/10.0.0.5/who", &r), 400);
	CHECK_INT(lookup(base, &id, "/%2e%2E/x", &r), 400);
	CHECK_INT(lookup(base, &id, "/a%00", &r), 400);
	CHECK_INT(lookup(base, &id, "/a%zz", &r), 400);
	CHECK_INT(lookup(base, &id, "/a%4", &r), 400);
	CHECK_INT(lookup(base, &id, "/out", &r), 403);
	CHECK_INT(lookup(base, &id, "/up/i-1/a", &r), 403);
	CHECK(r.fd < 0);

	id.instance_id[0] = '\0';
	strcpy(id.network_id, "net-1");
	CHECK_INT(lookup(base, &id, "/who", &r), 200);
	close(r.fd);
	id.network_id[0] = '\0';
	strcpy(id.router_id, "net-1");
	CHECK_INT(lookup(base, &id, "/who", &r), 200);
	close(r.fd);
	id.router_id[0] = '\0';
	CHECK_INT(lookup(base, &id, "/who", &r), 404);
	strcpy(id.instance_id, "..");
	CHECK_INT(lookup(base, &id, "/who", &r), 404);

	close(base);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK_INT(system(path), 0);
}

static struct in6_addr guest4(unsigned int n)
{
	struct in6_addr a = { 0 };

	a.s6_addr[10] = a.s6_addr[11] = 0xff;
	a.s6_addr[12] = 10;
	a.s6_addr[14] = n >> 8;
	a.s6_addr[15] = n & 0xff;
	return a;
}

static struct in6_addr guest6(unsigned int n)
{
	struct in6_addr a = { .s6_addr = { 0xfe, 0x80 } };

	a.s6_addr[15] = n;
	return a;
}

static const struct mdr_rate_config rate_cfg = {
	.enabled = true,
	.ip_versions = MDR_RATE_IPV4,
	.base_window_ms = 10000, .base_limit = 3,
	.burst_window_ms = 1000, .burst_limit = 100,
};

static void test_rate_base_window(void)
{
	struct mdr_rate_limiter rl;
	struct in6_addr g = guest4(5), other = guest4(6);

	CHECK_INT(mdr_rate_init(&rl, &rate_cfg), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(mdr_rate_check(&rl, 1, &g, 1000 + i), 0);
	/* The fourth in the window is over; refused ones count too. */
	CHECK(mdr_rate_check(&rl, 1, &g, 1003) >= 1);
	/* Same address behind another attachment, another address: other
	 * guests, untouched. */
	CHECK_INT(mdr_rate_check(&rl, 2, &g, 1004), 0);
	CHECK_INT(mdr_rate_check(&rl, 1, &other, 1005), 0);
	/* Half way into the next window the previous four weigh two. */
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 16000), 0);
	CHECK(mdr_rate_check(&rl, 1, &g, 16001) >= 1);
	/* Two windows later nothing is left. */
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 40000), 0);
	mdr_rate_free(&rl);
}

static void test_rate_burst_window(void)
{
	struct mdr_rate_config cfg = rate_cfg;
	struct mdr_rate_limiter rl;
	struct in6_addr g = guest4(5);

	cfg.base_limit = 1000;
	cfg.burst_limit = 2;
	CHECK_INT(mdr_rate_init(&rl, &cfg), 0);
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 0), 0);
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 10), 0);
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 20), 2);
	CHECK_INT(mdr_rate_check(&rl, 1, &g, 3000), 0);
	mdr_rate_free(&rl);
}

/* Replays n requests of a pseudo-random sequence (gaps of 0-1.5 s), then
 * one at time at; returns the last answer and the time of the n-th. */
static unsigned int replay(const struct mdr_rate_config *cfg, unsigned int seed,
			   unsigned int n, uint64_t at, uint64_t *last)
{
	struct mdr_rate_limiter rl;
	struct in6_addr g = guest4(1);
	unsigned int x = seed, ret = 0;
	uint64_t t = 1000;

	mdr_rate_init(&rl, cfg);
	for (unsigned int i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		t += (x >> 8) % 1500;
		ret = mdr_rate_check(&rl, 1, &g, t);
	}
	*last = t;
	if (at)
		ret = mdr_rate_check(&rl, 1, &g, at);
	mdr_rate_free(&rl);
	return ret;
}

/* Retry-After is a promise: a guest that waits that long is served. And it
 * is no wild overestimate: at most two of the longest windows. */
static void test_rate_retry_after(void)
{
	struct mdr_rate_config cfg = rate_cfg;
	unsigned int broken = 0, refusals = 0;
	uint64_t last;

	cfg.burst_window_ms = 3000;
	cfg.burst_limit = 2;
	for (unsigned int seed = 1; seed <= 300; seed++) {
		for (unsigned int n = 1; n <= 12; n++) {
			unsigned int wait = replay(&cfg, seed, n, 0, &last);

			if (!wait)
				continue;
			refusals++;
			broken += wait > 2 * 10 + 1;
			broken += !!replay(&cfg, seed, n, last + wait * 1000ULL,
					   &last);
		}
	}
	CHECK(refusals > 300);
	CHECK_INT(broken, 0);
}

static void test_rate_versions_and_disabled(void)
{
	struct mdr_rate_config cfg = rate_cfg;
	struct mdr_rate_limiter rl;
	struct in6_addr g6 = guest6(9), g4 = guest4(9);
	unsigned int refused = 0;

	CHECK_INT(mdr_rate_init(&rl, &cfg), 0);
	for (int i = 0; i < 20; i++)
		refused += !!mdr_rate_check(&rl, 1, &g6, i);
	CHECK_INT(refused, 0); /* IPv6 guests are not limited here */
	CHECK_INT(mdr_rate_tracked(&rl), 0);
	mdr_rate_free(&rl);

	cfg.ip_versions = MDR_RATE_IPV6;
	mdr_rate_init(&rl, &cfg);
	for (int i = 0; i < 20; i++)
		refused += !!mdr_rate_check(&rl, 1, &g6, i);
	CHECK_INT(refused, 17);
	mdr_rate_free(&rl);

	cfg.enabled = false;
	refused = 0;
	CHECK_INT(mdr_rate_init(&rl, &cfg), 0);
	for (int i = 0; i < 20; i++)
		refused += !!mdr_rate_check(&rl, 1, &g4, i);
	CHECK_INT(refused, 0);
	mdr_rate_free(&rl);

	cfg.enabled = true;
	cfg.base_limit = 0;
	CHECK_INT(mdr_rate_init(&rl, &cfg), -EINVAL);
}

/* Memory is fixed: past max_guests the least recently seen is forgotten,
 * and idle guests are given back as time passes. */
static void test_rate_bounded(void)
{
	struct mdr_rate_config cfg = rate_cfg;
	struct mdr_rate_limiter rl;
	struct in6_addr g0 = guest4(0);
	unsigned int over = 0;

	cfg.max_guests = 4;
	CHECK_INT(mdr_rate_init(&rl, &cfg), 0);
	for (int i = 0; i < 4; i++)
		mdr_rate_check(&rl, 1, &g0, i);
	CHECK(mdr_rate_check(&rl, 1, &g0, 5) >= 1);
	for (unsigned int n = 1; n <= 1000; n++) {
		struct in6_addr g = guest4(n);

		mdr_rate_check(&rl, 1, &g, 10 + n);
		over += mdr_rate_tracked(&rl) > 4;
	}
	CHECK_INT(over, 0);
	CHECK_INT(mdr_rate_tracked(&rl), 4);
	/* g0 was forgotten: it starts afresh. */
	CHECK_INT(mdr_rate_check(&rl, 1, &g0, 2000), 0);
	/* Idle for two windows: given back, a couple per check. */
	for (unsigned int n = 0; n < 3; n++) {
		struct in6_addr g = guest4(5000 + n);

		mdr_rate_check(&rl, 1, &g, 100000 + n);
	}
	CHECK_INT(mdr_rate_tracked(&rl), 3);
	mdr_rate_free(&rl);
}

static void test_conn_caps(void)
{
	struct mdr_conn_caps caps;

	CHECK_INT(mdr_caps_init(&caps, 4, 2), 0);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_ATTACH_FULL);
	CHECK_INT(mdr_caps_admit(&caps, true, 2), MDR_ADMIT_OK);
	/* Without an attachment: one shared slot, capped like one. */
	CHECK_INT(mdr_caps_admit(&caps, false, 1), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 3), MDR_ADMIT_FULL);
	CHECK_INT(caps.total, 4);
	mdr_caps_release(&caps, true, 1);
	CHECK_INT(mdr_caps_admit(&caps, true, 3), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_FULL);
	mdr_caps_release(&caps, false, 77);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_OK);
	CHECK_INT(mdr_caps_admit(&caps, true, 1), MDR_ADMIT_FULL);
	/* An id beyond the map's range cannot escape the cap. */
	mdr_caps_release(&caps, true, 3);
	CHECK_INT(mdr_caps_admit(&caps, true, 1u << 30), MDR_ADMIT_OK);
	mdr_caps_release(&caps, true, 1u << 30);
	CHECK_INT(caps.total, 3);
	mdr_caps_free(&caps);
}

int main(void)
{
	test_simple_get();
	test_keep_alive_rules();
	test_rejections();
	test_limits();
	test_pipelining_splits();
	test_incremental();
	test_responses();
	test_chunked();
	test_body_length();
	test_rewrite_request();
	test_rewrite_request_http10();
	test_rewrite_response();
	test_backend_specs();
	test_nova_specs();
	test_nova_signature();
	test_rewrite_nova();
	test_tls_options();
	test_local();
	test_rate_base_window();
	test_rate_burst_window();
	test_rate_retry_after();
	test_rate_versions_and_disabled();
	test_rate_bounded();
	test_conn_caps();
	return check_summary();
}
