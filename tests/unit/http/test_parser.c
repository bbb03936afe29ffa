/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The request and response head parser: strict rejections, limits,
 * incremental and pipelined parsing split at every byte, the chunked
 * scanner and body framing (user/http/parser.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http/parser.h"
#include "http_tests.h"

void test_simple_get(void)
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

void test_keep_alive_rules(void)
{
	static struct mdr_http_head h;

	CHECK_INT(parse_req("GET / HTTP/1.0\r\n\r\n", &h), 1);
	CHECK(!mdr_http_wants_keep_alive(&h));
	CHECK(!h.has_host);
	CHECK_INT(parse_req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			    &h),
		  1);
	CHECK(mdr_http_wants_keep_alive(&h));
	CHECK_INT(
		parse_req(
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n",
			&h),
		1);
	CHECK(!mdr_http_wants_keep_alive(&h));
	CHECK_INT(
		parse_req(
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n",
			&h),
		1);
	CHECK_INT(h.body, MDR_BODY_LENGTH);
	CHECK_INT(h.content_length, 12);
	CHECK_INT(
		parse_req(
			"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
			&h),
		1);
	CHECK_INT(h.body, MDR_BODY_CHUNKED);
	/* Identical duplicate lengths are harmless. */
	CHECK_INT(
		parse_req(
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n",
			&h),
		1);
	CHECK_INT(
		parse_req(
			"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
			&h),
		1);
	CHECK(h.expect_continue);
	/* HTTP/1.2 is spoken as 1.1. */
	CHECK_INT(parse_req("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &h), 1);
	CHECK_INT(h.minor, 1);
}

static const struct reject_case {
	const char *name, *req;
	int status;
} reject_cases[] = {
	{ "CL and TE",
	  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400 },
	{ "TE and CL",
	  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	  400 },
	{ "differing CL",
	  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	  400 },
	{ "CL list",
	  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", 400 },
	{ "CL sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
	  400 },
	{ "CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
	  400 },
	{ "CL huge",
	  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789012\r\n\r\n",
	  400 },
	{ "TE gzip",
	  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
	  400 },
	{ "TE gzip, chunked",
	  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	  400 },
	{ "TE chunked, chunked",
	  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	  400 },
	{ "TE twice",
	  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400 },
	{ "TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400 },
	{ "obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
	  400 },
	{ "obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n",
	  400 },
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
	{ "bad name char", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n",
	  400 },
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

void test_rejections(void)
{
	static struct mdr_http_head h;

	for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]);
	     i++) {
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

void test_limits(void)
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
		size_t value =
			MDR_HTTP_MAX_HEADER_BLOCK - 9 - 2 - strlen("X-1: \r\n");

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
void test_pipelining_splits(void)
{
	static struct mdr_http_head h;
	const char *stream =
		"POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
		"GET /two HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n";
	size_t n = strlen(stream),
	       first_len = strlen(stream) - strlen(strstr(stream, "GET"));
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
							  have - off, &h)
				 : 0;
		if (ret == 0)
			ret = mdr_http_parse_request(&p, stream + off, n - off,
						     &h);
		if (ret == 1 && mdr_str_eq(h.target, "/two") &&
		    h.nheaders == 2 && h.len == n - off)
			ok++;
	}
	CHECK_INT(ok, n + 1);
}

/* Byte-at-a-time arrival gives the same head as all at once, and a bad byte
 * is reported as soon as it arrives. */
void test_incremental(void)
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

void test_responses(void)
{
	static struct mdr_http_head h;

	CHECK_INT(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
			     false, &h),
		  1);
	CHECK_INT(h.status, 200);
	CHECK(mdr_str_eq(h.reason, "OK"));
	CHECK_INT(h.body, MDR_BODY_LENGTH);
	CHECK_INT(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
			     true, &h),
		  1);
	CHECK_INT(h.body, MDR_BODY_NONE); /* HEAD */
	CHECK_INT(
		parse_resp(
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			false, &h),
		1);
	CHECK_INT(h.body, MDR_BODY_CHUNKED);
	CHECK_INT(parse_resp(
			  "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n",
			  false, &h),
		  1);
	CHECK_INT(h.body, MDR_BODY_CLOSE);
	CHECK_INT(h.minor, 0);
	CHECK_INT(
		parse_resp(
			"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
			false, &h),
		1);
	CHECK_INT(h.body, MDR_BODY_NONE);
	CHECK_INT(parse_resp("HTTP/1.1 304 Not Modified\r\n\r\n", false, &h),
		  1);
	CHECK_INT(h.body, MDR_BODY_NONE);
	CHECK_INT(parse_resp("HTTP/1.1 100 Continue\r\n\r\n", false, &h), 1);
	CHECK_INT(h.body, MDR_BODY_NONE);
	CHECK_INT(parse_resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false,
			     &h),
		  1);
	CHECK_INT(h.reason.n, 0);
	CHECK_INT(parse_resp("HTTP/1.1 404 \r\n\r\n", false, &h), 1);

	CHECK(parse_resp(
		      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		      false, &h) < 0);
	CHECK(parse_resp(
		      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		      false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 2000 OK\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 20x OK\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 099 Low\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("ICY 200 OK\r\n\r\n", false, &h) < 0);
	CHECK(parse_resp("HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n", false,
			 &h) < 0);
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

void test_chunked(void)
{
	char stream[512], out[512];
	size_t body_len = strlen(chunked_body), n, out_len, used;
	int err, raw_ok = 0, dec_ok = 0, split_ok = 0;

	/* The body followed by the next pipelined request. */
	n = (size_t)snprintf(stream, sizeof(stream), "%sGET / HTTP/1.1\r\n",
			     chunked_body);
	for (size_t step = 1; step <= n; step++) {
		for (size_t room = 1; room <= 7; room += 3) {
			used = relay(stream, n, false, step, room, out,
				     &out_len, &err);
			raw_ok += used == body_len && out_len == body_len &&
				  !memcmp(out, chunked_body, body_len) && !err;
			used = relay(stream, n, true, step, room, out, &out_len,
				     &err);
			dec_ok += used == body_len &&
				  out_len == strlen(chunked_data) &&
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
			ssize_t r = mdr_chunked_step(&c, chunked_body + pos,
						     end - pos, &is_data);

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
		"zz\r\n",		   /* not hex */
		";x\r\n",		   /* no size */
		"5\r\nhelloX\r\n",	   /* data not followed by CRLF */
		"5\nhello\r\n0\r\n\r\n",   /* bare LF after size */
		"5\r\nhello\n0\r\n\r\n",   /* bare LF after data */
		"0\r\n\r\r",		   /* bad final CRLF */
		"1000000000000000\r\n",	   /* 16 hex digits */
		"0\r\nX: a\nY: b\r\n\r\n", /* bare LF in trailer */
		"0\r\n folded\r\n\r\n",	   /* folded trailer */
		"5 \x01\r\nhello\r\n",	   /* CTL in extension */
		"0\r\nX: \0\r\n\r\n",	   /* NUL in trailer (cut short) */
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

void test_body_length(void)
{
	struct mdr_http_head h = { .body = MDR_BODY_LENGTH,
				   .content_length = 5 };
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
