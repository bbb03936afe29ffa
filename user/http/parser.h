/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HTTP/1.x message framing: request and response heads, and the body that
 * follows them. Nothing here allocates or does I/O: heads are parsed in the
 * caller's buffer and described by pointers into it.
 */
#ifndef MDR_HTTP_H
#define MDR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define MDR_HTTP_MAX_START_LINE	  8192	/* request or status line */
#define MDR_HTTP_MAX_HEADER_BLOCK 16384 /* every field line + blank line */
#define MDR_HTTP_MAX_HEADERS	  100
/* Room for the largest head we accept, with its line endings. */
#define MDR_HTTP_MAX_HEAD \
	(MDR_HTTP_MAX_START_LINE + 2 + MDR_HTTP_MAX_HEADER_BLOCK)

struct mdr_str {
	const char *p;
	size_t n;
};

struct mdr_http_header {
	struct mdr_str name, value; /* value without surrounding whitespace */
};

enum mdr_body_kind {
	MDR_BODY_NONE,	  /* no body at all */
	MDR_BODY_LENGTH,  /* Content-Length bytes */
	MDR_BODY_CHUNKED, /* Transfer-Encoding: chunked */
	MDR_BODY_CLOSE,	  /* responses only: until the server closes */
};

struct mdr_http_head {
	struct mdr_str method, target; /* requests */
	int status;		       /* responses */
	struct mdr_str reason;	       /* responses */
	int minor;		       /* HTTP/1.<minor> */
	size_t len;		       /* whole head, blank line included */
	unsigned int nheaders;
	struct mdr_http_header headers[MDR_HTTP_MAX_HEADERS];

	enum mdr_body_kind body;
	uint64_t content_length;
	bool conn_close;      /* "close" among the Connection tokens */
	bool conn_keep_alive; /* "keep-alive" among the Connection tokens */
	bool expect_continue;
	bool has_host;

	/* Set when parsing fails: the status to answer and a one-line why. */
	int error_status;
	const char *error;
};

/*
 * Incremental state: how far the buffer has been scanned for the end of the
 * head, so bytes arriving one at a time cost O(n) in total. Offsets are
 * relative to the head's first byte, so the caller may move the buffer.
 * Zero it before each new head.
 */
struct mdr_http_parser {
	size_t scanned;
	size_t line_start;
	size_t start_line_len; /* 0 until the start line is complete */
	unsigned int lines;
};

/*
 * Both return 1 when a complete, valid head is at buf (h describes it and
 * h->len says where the body starts), 0 when more bytes are needed, and
 * -EBADMSG (malformed) or -EMSGSIZE (over a limit) with h->error_status and
 * h->error set. A request is rejected as soon as an invalid byte arrives.
 */
int mdr_http_parse_request(struct mdr_http_parser *p, const char *buf,
			   size_t len, struct mdr_http_head *h);
/* head_request: the request was HEAD, so the response never has a body. */
int mdr_http_parse_response(struct mdr_http_parser *p, const char *buf,
			    size_t len, bool head_request,
			    struct mdr_http_head *h);

/* Whether the client asked to keep the connection open after this request. */
bool mdr_http_wants_keep_alive(const struct mdr_http_head *h);

/*
 * Comparisons with literals, inline so that the literal's length is known
 * where they are called: most comparisons of a header name fail on the
 * length alone, and a request's head makes a few hundred of them.
 */
static inline unsigned char mdr_ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static inline bool mdr_ieq_n(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mdr_ascii_lower(a[i]) != mdr_ascii_lower(b[i]))
			return false;
	return true;
}

/* exact */
static inline bool mdr_str_eq(struct mdr_str s, const char *lit)
{
	return strlen(lit) == s.n && !memcmp(s.p, lit, s.n);
}

/* ASCII case-insensitive */
static inline bool mdr_str_ieq(struct mdr_str s, const char *lit)
{
	return strlen(lit) == s.n && mdr_ieq_n(s.p, lit, s.n);
}

/* case-insensitive prefix */
static inline bool mdr_str_iprefix(struct mdr_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && mdr_ieq_n(s.p, lit, n);
}
/* Whether a comma-separated token list (a Connection value) holds tok. */
bool mdr_http_list_has(struct mdr_str list, struct mdr_str tok);
const char *mdr_http_reason(int status);

/*
 * Finds where a chunked body ends without decoding it into memory. Each step
 * consumes one run of input that is either all chunk data or all framing
 * (sizes, extensions, CRLFs, trailers), so a caller can relay the raw bytes
 * or keep only the data.
 */
struct mdr_chunked {
	uint8_t state;
	uint8_t digits;	   /* hex digits in the current size */
	uint32_t line_len; /* bytes in the current extension or trailer line */
	uint32_t trailer_len;
	uint64_t left; /* chunk data still to come */
};

/* Returns the run length (0 only when len is 0 or the body is complete) or
 * -EBADMSG; *is_data tells whether the run was chunk data. */
ssize_t mdr_chunked_step(struct mdr_chunked *c, const char *buf, size_t len,
			 bool *is_data);
bool mdr_chunked_done(const struct mdr_chunked *c);

/* A body being relayed from one buffer to another according to its framing. */
struct mdr_body {
	enum mdr_body_kind kind;
	uint64_t left;	       /* MDR_BODY_LENGTH */
	struct mdr_chunked ch; /* MDR_BODY_CHUNKED */
	bool dechunk;	       /* drop chunk framing, keep only the data */
	bool done;
};

void mdr_body_init(struct mdr_body *b, const struct mdr_http_head *h,
		   bool dechunk);
/*
 * Copies body bytes from src to dst, stopping at the end of the body, when
 * src is used up or dst is full. *used gets the bytes taken from src.
 * Returns the bytes written to dst, or -EBADMSG for broken chunk framing.
 * MDR_BODY_CLOSE bodies never end here: the caller ends them at EOF.
 */
ssize_t mdr_body_copy(struct mdr_body *b, const char *src, size_t n, char *dst,
		      size_t room, size_t *used);

#endif
