/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Strict HTTP/1.x framing. A metadata proxy sits between untrusted guests and
 * a backend that trusts the headers we add, so anything two parsers could
 * read differently (request smuggling material: CL+TE, duplicate lengths,
 * bare CR/LF, folded lines) is refused rather than repaired.
 */
#include <errno.h>
#include <string.h>

#include "http/parser.h"

enum {
	CH_SIZE0, /* first hex digit of a chunk size (zero state) */
	CH_SIZE,
	CH_EXT,
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER, /* start of a trailer line, or the final CRLF */
	CH_TRAILER_LINE,
	CH_TRAILER_LF,
	CH_END_LF,
	CH_DONE,
};

#define CH_MAX_DIGITS  15 /* sizes below 2^60: no overflow, no silliness */
#define CH_MAX_EXT     4096
#define CH_MAX_TRAILER MDR_HTTP_MAX_HEADER_BLOCK

/* A switch rather than strchr(): every byte of every field name. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') ||
	    (mdr_ascii_lower(c) >= 'a' && mdr_ascii_lower(c) <= 'z'))
		return true;
	switch (c) {
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '+':
	case '-':
	case '.':
	case '^':
	case '_':
	case '`':
	case '|':
	case '~': return true;
	default: return false;
	}
}

/* Field values and reasons: HTAB, SP, VCHAR and obs-text; no other CTL. */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mdr_ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool mdr_http_list_has(struct mdr_str list, struct mdr_str tok)
{
	size_t i = 0, start, end;

	while (i < list.n) {
		while (i < list.n && (is_ows(list.p[i]) || list.p[i] == ','))
			i++;
		start = i;
		while (i < list.n && list.p[i] != ',')
			i++;
		end = i;
		while (end > start && is_ows(list.p[end - 1]))
			end--;
		if (end > start && end - start == tok.n &&
		    mdr_ieq_n(list.p + start, tok.p, tok.n))
			return true;
	}
	return false;
}

bool mdr_http_wants_keep_alive(const struct mdr_http_head *h)
{
	if (h->conn_close)
		return false;
	return h->minor >= 1 || h->conn_keep_alive;
}

const char *mdr_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static int reject(struct mdr_http_head *h, int status, const char *why)
{
	h->error_status = status;
	h->error = why;
	return status == 400 || status == 505 ? -EBADMSG : -EMSGSIZE;
}

/*
 * Finds the blank line ending the head, checking line endings and limits on
 * the way. Each byte is looked at once across calls.
 */
static int scan_head(struct mdr_http_parser *p, const char *buf, size_t len,
		     struct mdr_http_head *h)
{
	size_t i, line_len;

	for (i = p->scanned; i < len; i++) {
		unsigned char c = buf[i];

		if (c == '\0')
			return reject(h, 400, "NUL byte in the message head");
		if (c == '\r') {
			if (i + 1 == len)
				break; /* the next byte decides */
			if (buf[i + 1] != '\n')
				return reject(h, 400,
					      "bare CR in the message head");
			continue;
		}
		if (c != '\n')
			continue;
		if (i == 0 || buf[i - 1] != '\r')
			return reject(h, 400, "line ends in LF without CR");

		line_len = i - 1 - p->line_start;
		if (p->lines == 0) {
			if (line_len == 0)
				return reject(
					h, 400,
					"empty line before the start line");
			if (line_len > MDR_HTTP_MAX_START_LINE)
				return reject(h, 414, "start line too long");
			p->start_line_len = i + 1;
		} else if (i + 1 - p->start_line_len >
			   MDR_HTTP_MAX_HEADER_BLOCK) {
			return reject(h, 431, "header block too large");
		} else if (line_len == 0) {
			p->scanned = i + 1;
			h->len = i + 1;
			return 1;
		} else if (p->lines > MDR_HTTP_MAX_HEADERS) {
			return reject(h, 431, "too many header fields");
		}
		p->lines++;
		p->line_start = i + 1;
	}
	p->scanned = i;
	/* An unfinished line can already be over its limit. */
	if (p->lines == 0 && len - p->line_start > MDR_HTTP_MAX_START_LINE + 1)
		return reject(h, 414, "start line too long");
	if (p->lines > 0 && len - p->start_line_len > MDR_HTTP_MAX_HEADER_BLOCK)
		return reject(h, 431, "header block too large");
	return 0;
}

static int parse_version(struct mdr_http_head *h, const char *v, size_t n)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' || v[5] < '0' ||
	    v[5] > '9' || v[7] < '0' || v[7] > '9')
		return reject(h, 400, "malformed HTTP version");
	if (v[5] != '1')
		return reject(h, 505, "only HTTP/1.x is supported");
	h->minor = v[7] == '0' ? 0 : 1; /* 1.2+ is spoken as 1.1 */
	return 0;
}

static int parse_request_line(struct mdr_http_head *h, const char *line,
			      size_t n)
{
	const char *end = line + n, *sp1, *sp2;

	sp1 = memchr(line, ' ', n);
	if (!sp1 || sp1 == line)
		return reject(h, 400, "malformed request line");
	sp2 = memchr(sp1 + 1, ' ', end - sp1 - 1);
	if (!sp2 || sp2 == sp1 + 1)
		return reject(h, 400, "malformed request line");
	h->method = (struct mdr_str){ line, sp1 - line };
	h->target = (struct mdr_str){ sp1 + 1, sp2 - sp1 - 1 };
	for (size_t i = 0; i < h->method.n; i++)
		if (!is_tchar(h->method.p[i]))
			return reject(h, 400, "invalid character in method");
	for (size_t i = 0; i < h->target.n; i++) {
		unsigned char c = h->target.p[i];

		if (c <= 0x20 || c >= 0x7f)
			return reject(h, 400,
				      "invalid character in request target");
	}
	if (h->target.p[0] != '/')
		return reject(h, 400,
			      "request target must be a path (origin-form)");
	return parse_version(h, sp2 + 1, end - sp2 - 1);
}

static int parse_status_line(struct mdr_http_head *h, const char *line,
			     size_t n)
{
	int ret;

	if (n < 12 || line[8] != ' ')
		return reject(h, 400, "malformed status line");
	ret = parse_version(h, line, 8);
	if (ret)
		return ret;
	for (int i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return reject(h, 400, "malformed status code");
		h->status = h->status * 10 + line[i] - '0';
	}
	if (h->status < 100)
		return reject(h, 400, "malformed status code");
	if (n > 12 && line[12] != ' ')
		return reject(h, 400, "malformed status line");
	h->reason = (struct mdr_str){ line + 13, n > 13 ? n - 13 : 0 };
	for (size_t i = 0; i < h->reason.n; i++)
		if (!is_field_char(h->reason.p[i]))
			return reject(h, 400,
				      "invalid character in reason phrase");
	return 0;
}

static bool parse_length(struct mdr_str v, uint64_t *out)
{
	uint64_t n = 0;

	if (v.n == 0 || v.n > 18)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		n = n * 10 + (v.p[i] - '0');
	}
	*out = n;
	return true;
}

struct framing {
	bool cl, te;
};

/* Records what a field means for framing and connection handling. */
static int note_field(struct mdr_http_head *h, struct framing *f,
		      const struct mdr_http_header *hd)
{
	static const struct mdr_str close = { "close", 5 };
	static const struct mdr_str keep = { "keep-alive", 10 };
	uint64_t len;

	if (mdr_str_ieq(hd->name, "content-length")) {
		if (!parse_length(hd->value, &len))
			return reject(h, 400, "invalid Content-Length");
		if (f->cl && len != h->content_length)
			return reject(h, 400,
				      "conflicting Content-Length values");
		f->cl = true;
		h->content_length = len;
	} else if (mdr_str_ieq(hd->name, "transfer-encoding")) {
		if (f->te)
			return reject(h, 400, "repeated Transfer-Encoding");
		if (!mdr_str_ieq(hd->value, "chunked"))
			return reject(h, 400,
				      "Transfer-Encoding other than chunked");
		f->te = true;
	} else if (mdr_str_ieq(hd->name, "connection")) {
		h->conn_close |= mdr_http_list_has(hd->value, close);
		h->conn_keep_alive |= mdr_http_list_has(hd->value, keep);
	} else if (mdr_str_ieq(hd->name, "expect")) {
		h->expect_continue |= mdr_str_ieq(hd->value, "100-continue");
	} else if (mdr_str_ieq(hd->name, "host")) {
		if (h->has_host)
			return reject(h, 400, "repeated Host");
		h->has_host = true;
	}
	return 0;
}

static int parse_fields(struct mdr_http_head *h, const char *buf, size_t pos,
			struct framing *f)
{
	while (pos < h->len - 2) {
		const char *line = buf + pos;
		const char *eol = memchr(line, '\r', h->len - pos);
		struct mdr_http_header *hd = &h->headers[h->nheaders];
		const char *v, *ve, *c = line;
		int ret;

		if (is_ows(*line))
			return reject(h, 400, "obsolete line folding");
		while (c < eol && is_tchar(*c))
			c++;
		if (c == line)
			return reject(h, 400,
				      "empty or invalid header field name");
		if (c == eol || *c != ':')
			return reject(h, 400,
				      "invalid character in header field name");
		for (v = c + 1; v < eol && is_ows(*v); v++)
			;
		for (ve = eol; ve > v && is_ows(ve[-1]); ve--)
			;
		for (const char *q = v; q < ve; q++)
			if (!is_field_char(*q))
				return reject(
					h, 400,
					"invalid character in header field value");
		hd->name = (struct mdr_str){ line, c - line };
		hd->value = (struct mdr_str){ v, ve - v };
		h->nheaders++;
		ret = note_field(h, f, hd);
		if (ret)
			return ret;
		pos = eol + 2 - buf;
	}
	if (f->cl && f->te)
		return reject(h, 400,
			      "both Content-Length and Transfer-Encoding");
	return 0;
}

static void head_init(struct mdr_http_head *h)
{
	size_t len = h->len;

	memset(h, 0, offsetof(struct mdr_http_head, headers));
	memset(&h->body, 0, sizeof(*h) - offsetof(struct mdr_http_head, body));
	h->len = len;
}

/*
 * What requests and responses share: find the end of the head, parse the
 * start line with @start_line, then the fields. 1 when done, 0 for more
 * bytes, negative when rejected.
 */
static int parse_head(struct mdr_http_parser *p, const char *buf, size_t len,
		      struct mdr_http_head *h, struct framing *f,
		      int (*start_line)(struct mdr_http_head *h,
					const char *line, size_t n))
{
	int ret;

	ret = scan_head(p, buf, len, h);
	if (ret <= 0)
		return ret;
	head_init(h);
	ret = start_line(h, buf, p->start_line_len - 2);
	if (!ret)
		ret = parse_fields(h, buf, p->start_line_len, f);
	return ret ? ret : 1;
}

int mdr_http_parse_request(struct mdr_http_parser *p, const char *buf,
			   size_t len, struct mdr_http_head *h)
{
	struct framing f = { 0 };
	int ret;

	ret = parse_head(p, buf, len, h, &f, parse_request_line);
	if (ret <= 0)
		return ret;
	if (f.te && h->minor == 0)
		return reject(h, 400,
			      "Transfer-Encoding in an HTTP/1.0 request");
	if (h->minor == 1 && !h->has_host)
		return reject(h, 400, "HTTP/1.1 request without Host");
	h->body = f.te	 ? MDR_BODY_CHUNKED
		  : f.cl ? MDR_BODY_LENGTH
			 : MDR_BODY_NONE;
	return 1;
}

int mdr_http_parse_response(struct mdr_http_parser *p, const char *buf,
			    size_t len, bool head_request,
			    struct mdr_http_head *h)
{
	struct framing f = { 0 };
	int ret;

	ret = parse_head(p, buf, len, h, &f, parse_status_line);
	if (ret <= 0)
		return ret;
	if (head_request || h->status < 200 || h->status == 204 ||
	    h->status == 304)
		h->body = MDR_BODY_NONE;
	else
		h->body = f.te	 ? MDR_BODY_CHUNKED
			  : f.cl ? MDR_BODY_LENGTH
				 : MDR_BODY_CLOSE;
	return 1;
}

/* Feeds one framing byte. */
static int chunked_feed(struct mdr_chunked *c, unsigned char b)
{
	int hex;

	switch (c->state) {
	case CH_SIZE0:
	case CH_SIZE:
		hex = hexval(b);
		if (hex >= 0) {
			if (++c->digits > CH_MAX_DIGITS)
				return -EBADMSG;
			c->left = c->left * 16 + hex;
			c->state = CH_SIZE;
			return 0;
		}
		if (c->state == CH_SIZE0)
			return -EBADMSG;
		if (b == '\r') {
			c->state = CH_SIZE_LF;
			return 0;
		}
		if (b != ';' && !is_ows(b))
			return -EBADMSG;
		c->state = CH_EXT;
		c->line_len = 0;
		return 0;
	case CH_EXT:
		if (b == '\r') {
			c->state = CH_SIZE_LF;
			return 0;
		}
		if (!is_field_char(b) || ++c->line_len > CH_MAX_EXT)
			return -EBADMSG;
		return 0;
	case CH_SIZE_LF:
		if (b != '\n')
			return -EBADMSG;
		c->state = c->left ? CH_DATA : CH_TRAILER;
		return 0;
	case CH_DATA_CR:
		if (b != '\r')
			return -EBADMSG;
		c->state = CH_DATA_LF;
		return 0;
	case CH_DATA_LF:
		if (b != '\n')
			return -EBADMSG;
		c->state = CH_SIZE0;
		c->digits = 0;
		return 0;
	case CH_TRAILER:
		if (b == '\r') {
			c->state = CH_END_LF;
			return 0;
		}
		if (is_ows(b)) /* folded trailer line */
			return -EBADMSG;
		c->state = CH_TRAILER_LINE;
		/* fall through */
	case CH_TRAILER_LINE:
		if (b == '\r') {
			c->state = CH_TRAILER_LF;
			return 0;
		}
		if (!is_field_char(b) || ++c->trailer_len > CH_MAX_TRAILER)
			return -EBADMSG;
		return 0;
	case CH_TRAILER_LF:
		if (b != '\n')
			return -EBADMSG;
		c->state = CH_TRAILER;
		return 0;
	case CH_END_LF:
		if (b != '\n')
			return -EBADMSG;
		c->state = CH_DONE;
		return 0;
	}
	return -EBADMSG;
}

ssize_t mdr_chunked_step(struct mdr_chunked *c, const char *buf, size_t len,
			 bool *is_data)
{
	size_t i;

	*is_data = false;
	if (c->state == CH_DONE || len == 0)
		return 0;
	if (c->state == CH_DATA) {
		size_t n = len < c->left ? len : c->left;

		c->left -= n;
		if (!c->left)
			c->state = CH_DATA_CR;
		*is_data = true;
		return n;
	}
	for (i = 0; i < len && c->state != CH_DATA && c->state != CH_DONE; i++)
		if (chunked_feed(c, buf[i]))
			return -EBADMSG;
	return i;
}

bool mdr_chunked_done(const struct mdr_chunked *c)
{
	return c->state == CH_DONE;
}

void mdr_body_init(struct mdr_body *b, const struct mdr_http_head *h,
		   bool dechunk)
{
	memset(b, 0, sizeof(*b));
	b->kind = h->body;
	b->left = h->content_length;
	b->dechunk = dechunk && h->body == MDR_BODY_CHUNKED;
	b->done = b->kind == MDR_BODY_NONE ||
		  (b->kind == MDR_BODY_LENGTH && !b->left);
}

ssize_t mdr_body_copy(struct mdr_body *b, const char *src, size_t n, char *dst,
		      size_t room, size_t *used)
{
	size_t in = 0, out = 0, k;

	switch (b->done ? MDR_BODY_NONE : b->kind) {
	case MDR_BODY_NONE: b->done = true; break;
	case MDR_BODY_LENGTH:
		k = n < room ? n : room;
		k = k < b->left ? k : b->left;
		memcpy(dst, src, k);
		in = out = k;
		b->left -= k;
		b->done = !b->left;
		break;
	case MDR_BODY_CLOSE:
		k = n < room ? n : room;
		memcpy(dst, src, k);
		in = out = k;
		break;
	case MDR_BODY_CHUNKED:
		while (!b->done && in < n) {
			size_t avail = n - in;
			bool data;
			ssize_t r;

			/* What is copied out must fit: framing too when relaying
			 * raw, only data when decoding. */
			if ((!b->dechunk || b->ch.state == CH_DATA) &&
			    avail > room - out)
				avail = room - out;
			if (!avail)
				break;
			r = mdr_chunked_step(&b->ch, src + in, avail, &data);
			if (r < 0)
				return r;
			if (data || !b->dechunk) {
				memcpy(dst + out, src + in, r);
				out += r;
			}
			in += r;
			b->done = mdr_chunked_done(&b->ch);
		}
		break;
	}
	*used = in;
	return out;
}
