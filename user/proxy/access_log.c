// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/json.h"
#include "proxy/access_log.h"

/* Copies s for a quoted log field: no quotes, spaces or control bytes. */
static void log_copy(char *dst, size_t cap, struct mdr_str s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = s.p[i];
		bool plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\';

		if (o + (plain ? 1 : 4) + 4 > cap) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (plain) {
			dst[o++] = c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
}

void access_log_begin(struct request_log *log, const struct mdr_http_head *h)
{
	log->in_request = true;
	log->started_ms = loop_precise_ms();
	log->cache_hit = false;
	log->bytes_out = 0;
	if (!h) {
		strcpy(log->method, "-");
		strcpy(log->path, "-");
	} else {
		log_copy(log->method, sizeof(log->method), h->method);
		log_copy(log->path, sizeof(log->path), h->target);
	}
}

/* A log line being made; what does not fit is cut, the newline kept. */
struct line {
	char b[2048];
	size_t n;
};

static void put_str(struct line *l, const char *s)
{
	size_t n = strnlen(s, sizeof(l->b) - 1 - l->n);

	memcpy(l->b + l->n, s, n);
	l->n += n;
}

static void put_u64(struct line *l, uint64_t v)
{
	char d[21], *p = d + sizeof(d) - 1;

	*p = '\0';
	do
		*--p = '0' + v % 10;
	while (v /= 10);
	put_str(l, p);
}

/*
 * The text line, made for people and grep: see mdr_proxy_run(). Made by
 * appends and written at once: fprintf() was a seventh of the daemon's
 * instructions for a kept-alive request (issue 14).
 */
static void log_text(FILE *f, const struct conn *c, double duration_ms)
{
	const struct guest *g = &c->g;
	/* Tenths of a millisecond, rounded, as "%.1f" prints them. */
	uint64_t tenths = duration_ms > 0 ? (uint64_t)(duration_ms * 10 + 0.5)
					  : 0;
	struct line l;

	l.n = 0;
	put_str(&l, "mdredir: access attach=");
	if (g->have_id) {
		put_str(&l, g->id.ifname);
		if (g->id.netns[0]) {
			put_str(&l, "@");
			put_str(&l, g->id.netns);
		}
	} else {
		put_str(&l, "-");
	}
	put_str(&l, " vm=");
	put_str(&l, g->peer);
	put_str(&l, " \"");
	put_str(&l, c->log.method);
	put_str(&l, " ");
	put_str(&l, c->log.path);
	put_str(&l, "\" ");
	put_u64(&l, c->x.status);
	put_str(&l, " bytes=");
	put_u64(&l, c->log.bytes_out);
	put_str(&l, " dur=");
	put_u64(&l, tenths / 10);
	put_str(&l, ".");
	put_u64(&l, tenths % 10);
	put_str(&l, "ms");
	if (c->log.cache_hit)
		put_str(&l, " cache=hit");
	if (c->x.note) {
		put_str(&l, " error=");
		put_str(&l, c->x.note);
	}
	l.b[l.n++] = '\n';
	fwrite(l.b, 1, l.n, f);
}

/*
 * The same fields as one JSON object, for log pipelines; absent ones are
 * null, so every line has every key. Method and path are already the
 * escaped copies (log_copy()), the rest are ours or the kernel's.
 */
static void log_json(FILE *f, const struct conn *c, const char *attach,
		     double duration_ms)
{
	fputs("{\"attach\": ", f);
	mdr_json_str_or_null(f, attach);
	fputs(", \"vm\": ", f);
	mdr_json_str(f, c->g.peer);
	fputs(", \"method\": ", f);
	mdr_json_str(f, c->log.method);
	fputs(", \"path\": ", f);
	mdr_json_str(f, c->log.path);
	fprintf(f,
		", \"status\": %d, \"bytes\": %" PRIu64 ", \"dur_ms\": %.1f, "
		"\"cache\": %s, \"error\": ",
		c->x.status, c->log.bytes_out, duration_ms,
		c->log.cache_hit ? "\"hit\"" : "null");
	mdr_json_str_or_null(f, c->x.note);
	fputs("}\n", f);
}

void access_log_end(struct proxy *p, struct conn *c)
{
	const struct mdr_proxy_options *o = p->o;
	const struct guest *g = &c->g;
	struct mdr_request_record rec = {
		.id = g->have_id ? &g->id : NULL,
		.method = c->log.method,
		.path = c->log.path,
		.status = c->x.status,
		.bytes_in = c->x.bytes_in,
		.bytes_out = c->log.bytes_out,
		.duration_ms = loop_precise_ms() - c->log.started_ms,
	};
	char attach[sizeof(g->id.ifname) + sizeof(g->id.netns) + 1] = "";

	/* Flushed once per loop turn, before waiting (mdr_proxy_run); held
	 * for the line, which other workers would otherwise cut into. */
	if (o->access_log) {
		flockfile(o->access_log);
		if (o->access_log_json) {
			if (g->have_id)
				snprintf(attach, sizeof(attach), "%s%s%s",
					 g->id.ifname,
					 g->id.netns[0] ? "@" : "",
					 g->id.netns);
			log_json(o->access_log, c, attach, rec.duration_ms);
		} else {
			log_text(o->access_log, c, rec.duration_ms);
		}
		funlockfile(o->access_log);
	}
	if (o->on_request)
		o->on_request(o->on_request_ctx, &rec);
	c->log.in_request = false;
}
