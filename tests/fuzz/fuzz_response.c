/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target: a backend's response through the response parser, the
 * rewriter toward the guest and the body relay (chunked scanner included),
 * relayed raw and decoded for HTTP/1.0 guests.
 *
 * Invariants: a parsed head's rewrite is well formed (CRLF only at line
 * ends, no NUL) with exactly one Connection header of ours and, decoded,
 * no chunked framing left; the relay never writes more than it is given
 * room for, never takes more than it is given, and decoding yields exactly
 * the chunk data the raw relay carried.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/parser.h"
#include "http/rewrite.h"

#define OUT_CAP 32768

static void check_head(const char *out, size_t n, bool dechunk)
{
	unsigned int conn = 0;
	size_t pos, eol;

	ASSERT(n >= 4 && n <= OUT_CAP);
	ASSERT(!memcmp(out + n - 4, "\r\n\r\n", 4));
	for (pos = 0; pos < n - 2; pos = eol + 2) {
		struct mdr_str line;

		for (eol = pos; out[eol] != '\r'; eol++)
			ASSERT(out[eol] != '\n' && out[eol] != '\0' &&
			       eol + 1 < n);
		ASSERT(out[eol + 1] == '\n' && eol > pos);
		line = (struct mdr_str){ out + pos, eol - pos };
		conn += mdr_str_iprefix(line, "connection:");
		if (dechunk)
			ASSERT(!mdr_str_iprefix(line, "transfer-encoding:"));
	}
	ASSERT(pos == n - 2 && conn == 1);
}

/*
 * Relays the body from buf through windows of odd sizes. Returns the bytes
 * written to out (at most cap), or -1 for broken framing.
 */
static ssize_t relay_body(const struct mdr_http_head *h, bool dechunk,
			  const char *buf, size_t len, char *out, size_t cap,
			  size_t step)
{
	struct mdr_body b;
	size_t off = 0, total = 0, used;
	ssize_t n;

	mdr_body_init(&b, h, dechunk);
	while (!b.done && off < len && total < cap) {
		size_t avail = len - off < step ? len - off : step;
		size_t room = cap - total < 53 ? cap - total : 53;

		n = mdr_body_copy(&b, buf + off, avail, out + total, room,
				  &used);
		if (n < 0)
			return -1;
		ASSERT(used <= avail && (size_t)n <= room);
		ASSERT(dechunk || (size_t)n == used);
		if (!used)
			break; /* a decoded run waits for room: cap reached */
		off += used;
		total += (size_t)n;
	}
	return (ssize_t)total;
}

/* Decoding keeps exactly the data bytes of the raw relay's chunks. */
static void check_dechunk(const char *raw, size_t raw_len, const char *dec,
			  size_t dec_len)
{
	struct mdr_chunked ch = { 0 };
	size_t off = 0, dpos = 0;

	while (off < raw_len && dpos <= dec_len) {
		bool is_data;
		ssize_t r = mdr_chunked_step(&ch, raw + off, raw_len - off,
					     &is_data);

		ASSERT(r > 0);
		if (is_data) {
			ASSERT(dpos + (size_t)r <= dec_len);
			ASSERT(!memcmp(raw + off, dec + dpos, (size_t)r));
			dpos += (size_t)r;
		}
		off += (size_t)r;
	}
	ASSERT(dpos == dec_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mdr_http_head h;
	static char head[OUT_CAP], raw[OUT_CAP], dec[OUT_CAP];
	struct mdr_http_parser p = { 0 };
	const char *buf = (const char *)data + 1;
	size_t len, cut;
	bool head_req;
	ssize_t nraw, ndec;
	int ret;

	if (!size)
		return 0;
	head_req = data[0] & 1;
	len = size - 1;
	cut = len * (data[0] >> 4) / 16;
	ret = mdr_http_parse_response(&p, buf, cut, head_req, &h);
	if (!ret)
		ret = mdr_http_parse_response(&p, buf, len, head_req, &h);
	if (ret != 1)
		return 0;
	ASSERT(h.len <= len && h.status >= 100 && h.status <= 999);
	for (int dechunk = 0; dechunk < 2; dechunk++) {
		int n = mdr_rewrite_response(&h, data[0] & 2, dechunk, head,
					     sizeof(head));

		ASSERT(n > 0 || n == -ENOSPC);
		if (n > 0)
			check_head(head, (size_t)n, dechunk);
	}
	nraw = relay_body(&h, false, buf + h.len, len - h.len, raw, sizeof(raw),
			  1 + (data[0] >> 2) % 61);
	ndec = relay_body(&h, true, buf + h.len, len - h.len, dec, sizeof(dec),
			  97);
	/* Both read the same framing: broken for one is broken for both. */
	if (h.body != MDR_BODY_CHUNKED || (size_t)nraw >= sizeof(raw) ||
	    (size_t)ndec >= sizeof(dec))
		return 0;
	ASSERT((nraw < 0) == (ndec < 0));
	if (nraw >= 0)
		check_dechunk(raw, (size_t)nraw, dec, (size_t)ndec);
	return 0;
}
