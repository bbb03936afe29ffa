// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "control/source.h"
#include "daemon/metrics.h"

/*
 * Metadata answers take a millisecond from a local file and tens from
 * Nova; cloud-init gives up after seconds. The bounds cover both ends.
 */
static const struct {
	const char *le;
	uint64_t us;
} bounds[MDR_METRICS_BUCKETS] = {
	{ "0.001", 1000 },  { "0.0025", 2500 }, { "0.005", 5000 },
	{ "0.01", 10000 },  { "0.025", 25000 }, { "0.05", 50000 },
	{ "0.1", 100000 },  { "0.25", 250000 }, { "0.5", 500000 },
	{ "1", 1000000 },   { "2.5", 2500000 }, { "5", 5000000 },
	{ "10", 10000000 },
};

int mdr_metrics_init(struct mdr_metrics *m)
{
	m->latency = calloc(MDR_MAX_ATTACH + 1, sizeof(*m->latency));
	return m->latency ? 0 : -ENOMEM;
}

void mdr_metrics_free(struct mdr_metrics *m)
{
	free(m->latency);
	m->latency = NULL;
}

void mdr_metrics_count(struct mdr_metrics *m,
		       const struct mdr_request_record *rec)
{
	struct mdr_latency *l;
	uint64_t us;
	int b = 0;

	if (!m->latency || !rec->id || rec->id->attach_id > MDR_MAX_ATTACH)
		return;
	l = &m->latency[rec->id->attach_id];
	us = rec->duration_ms > 0 ? (uint64_t)(rec->duration_ms * 1000) : 0;
	while (b < MDR_METRICS_BUCKETS && us > bounds[b].us)
		b++;
	mdr_counter_add(&l->bucket[b], 1);
	mdr_counter_add(&l->sum_us, (int64_t)us);
}

/* ---- a scrape ---- */

/* One attachment as a scrape sees it, read once. */
struct att_snap {
	char labels[320]; /* attachment="1",ifname="...",netns="",source="" */
	struct mdr_http_stats http;
	struct mdr_pkt_stats pkt;
	struct mdr_latency lat;
};

struct snapshot {
	const struct mdr_metrics *m;
	struct att_snap *att;
	unsigned int n;
	unsigned int per_source[MDR_SOURCE_MAX];
};

/*
 * A label value as the format wants it: backslash, quote and newline
 * escaped. Names are the kernel's and the operator's; anything outside
 * printable ASCII becomes '?', so the output is always valid UTF-8.
 */
static size_t label_value(char *dst, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < cap; s++) {
		unsigned char c = *s;

		if (c == '\\' || c == '"') {
			dst[o++] = '\\';
			dst[o++] = c;
		} else if (c == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else {
			dst[o++] = c >= 0x20 && c < 0x7f ? c : '?';
		}
	}
	dst[o] = '\0';
	return o;
}

static uint64_t load64(const uint64_t *v)
{
	return mdr_counter_read(v);
}

static int snap_one(__u32 id, const struct mdr_attachment *att, void *data)
{
	struct snapshot *s = data;
	const struct mdr_metrics *m = s->m;
	struct att_snap *a;
	char ifname[2 * MDR_IFNAME_LEN], netns[2 * MDR_NETNS_LEN];

	if (s->n >= MDR_MAX_ATTACH || id > MDR_MAX_ATTACH)
		return 0;
	a = &s->att[s->n++];
	if (att->source < MDR_SOURCE_MAX)
		s->per_source[att->source]++;
	label_value(ifname, sizeof(ifname), att->ifname);
	label_value(netns, sizeof(netns), att->netns);
	snprintf(a->labels, sizeof(a->labels),
		 "attachment=\"%u\",ifname=\"%s\",netns=\"%s\",source=\"%s\"",
		 id, ifname, netns, mdr_source_name(att->source));
	if (m->http) {
		const uint64_t *src = (const uint64_t *)&m->http[id];
		uint64_t *dst = (uint64_t *)&a->http;

		for (size_t i = 0; i < sizeof(a->http) / sizeof(*dst); i++)
			dst[i] = load64(&src[i]);
	}
	/* Counters read as zero if they cannot be read, as in `stats`. */
	if (mdr_state_get_pkt_stats(m->st, id, &a->pkt))
		memset(&a->pkt, 0, sizeof(a->pkt));
	if (m->latency) {
		for (int b = 0; b <= MDR_METRICS_BUCKETS; b++)
			a->lat.bucket[b] = load64(&m->latency[id].bucket[b]);
		a->lat.sum_us = load64(&m->latency[id].sum_us);
	}
	return 0;
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void write_requests(FILE *f, const struct snapshot *s)
{
	static const char *const classes[] = { "1xx", "2xx", "3xx", "4xx",
					       "5xx" };

	family(f, "mdredir_requests_total", "counter",
	       "Requests answered, by attachment and status class (code).");
	for (unsigned int i = 0; i < s->n; i++) {
		const struct mdr_http_stats *h = &s->att[i].http;
		const uint64_t v[] = { h->status_1xx, h->status_2xx,
				       h->status_3xx, h->status_4xx,
				       h->status_5xx };

		for (int c = 0; c < 5; c++)
			fprintf(f,
				"mdredir_requests_total{%s,code=\"%s\"} %" PRIu64
				"\n",
				s->att[i].labels, classes[c], v[c]);
	}
	family(f, "mdredir_request_bytes_total", "counter",
	       "Request bytes read from guests, heads and bodies.");
	for (unsigned int i = 0; i < s->n; i++)
		fprintf(f, "mdredir_request_bytes_total{%s} %" PRIu64 "\n",
			s->att[i].labels, (uint64_t)s->att[i].http.bytes_in);
	family(f, "mdredir_response_bytes_total", "counter",
	       "Response bytes written to guests, heads and bodies.");
	for (unsigned int i = 0; i < s->n; i++)
		fprintf(f, "mdredir_response_bytes_total{%s} %" PRIu64 "\n",
			s->att[i].labels, (uint64_t)s->att[i].http.bytes_out);
}

static void write_latency(FILE *f, const struct snapshot *s)
{
	static const char *const name = "mdredir_request_duration_seconds";

	family(f, name, "histogram",
	       "Time from a request's first byte to its last response byte "
	       "(since this daemon started).");
	for (unsigned int i = 0; i < s->n; i++) {
		const struct att_snap *a = &s->att[i];
		uint64_t sum = 0;

		/* Cumulative, and the count their total: always consistent,
		 * however the proxy moved them while we read. */
		for (int b = 0; b <= MDR_METRICS_BUCKETS; b++) {
			sum += a->lat.bucket[b];
			fprintf(f, "%s_bucket{%s,le=\"%s\"} %" PRIu64 "\n",
				name, a->labels,
				b < MDR_METRICS_BUCKETS ? bounds[b].le : "+Inf",
				sum);
		}
		fprintf(f, "%s_sum{%s} %.6f\n", name, a->labels,
			a->lat.sum_us / 1e6);
		fprintf(f, "%s_count{%s} %" PRIu64 "\n", name, a->labels, sum);
	}
}

/* The BPF counters of one kind, per attachment. */
static void write_packets(FILE *f, const struct snapshot *s,
			  enum mdr_count_kind kind)
{
	const char *name = kind == MDR_COUNT_DROP ? "mdredir_bpf_drops_total"
						  : "mdredir_bpf_packets_total";
	const char *label = kind == MDR_COUNT_DROP ? "reason" : "kind";

	family(f, name, "counter",
	       kind == MDR_COUNT_DROP
		       ? "Packets the BPF programs dropped, by attachment and "
			 "reason."
		       : "Packets the BPF programs answered or passed on, by "
			 "attachment and kind.");
	for (unsigned int i = 0; i < s->n; i++)
		for (unsigned int c = 0; c < MDR_PKT_COUNTER_MAX; c++)
			if (mdr_pkt_counter_kind(c) == kind)
				fprintf(f, "%s{%s,%s=\"%s\"} %llu\n", name,
					s->att[i].labels, label,
					mdr_pkt_counter_name(c),
					(unsigned long long)s->att[i]
						.pkt.count[c]);
}

/* Drops no attachment could be charged with (attachment id 0). */
static void write_unattributed(FILE *f, const struct mdr_state *st)
{
	struct mdr_pkt_stats p;

	if (mdr_state_get_pkt_stats(st, 0, &p))
		memset(&p, 0, sizeof(p));
	family(f, "mdredir_bpf_unattributed_drops_total", "counter",
	       "Packets the BPF programs dropped that belong to no "
	       "attachment, by reason.");
	for (unsigned int c = 0; c < MDR_PKT_COUNTER_MAX; c++)
		if (mdr_pkt_counter_kind(c) == MDR_COUNT_DROP)
			fprintf(f,
				"mdredir_bpf_unattributed_drops_total{reason=\"%s\"} %llu\n",
				mdr_pkt_counter_name(c),
				(unsigned long long)p.count[c]);
}

static void write_proxy(FILE *f, const struct mdr_proxy_counters *c)
{
#define MDR_PROXY_X_WRITE(field, type, name, help) \
	family(f, name, type, help);               \
	fprintf(f, "%s %" PRIu64 "\n", name, mdr_counter_read(&c->field));
	MDR_PROXY_COUNTERS(MDR_PROXY_X_WRITE)
#undef MDR_PROXY_X_WRITE
	family(f, "mdredir_worker_connections_total", "counter",
	       "Guest connections each proxy worker accepted: how the "
	       "kernel spreads them over the workers' listeners.");
	for (unsigned int i = 0; i < c->workers && i < MDR_WORKERS_MAX; i++)
		fprintf(f,
			"mdredir_worker_connections_total{worker=\"%u\"} "
			"%" PRIu64 "\n",
			i, mdr_counter_read(&c->worker_connections[i]));
}

/*
 * Each source that follows the control plane, running or not (there are
 * MDR_SOURCE_MAX - 1), and the attachments of every source.
 */
static void write_sources(FILE *f, const struct snapshot *s)
{
	struct mdr_source_report r;
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "mdredir_source_running", "gauge",
		  "1 while this daemon runs the source (attach_from)." },
		{ "mdredir_source_connected", "gauge",
		  "1 while the source reaches what it follows." },
		{ "mdredir_source_synced", "gauge",
		  "1 once the source has looked at everything." },
		{ "mdredir_source_last_sync_timestamp_seconds", "gauge",
		  "When the source last synced, in Unix time; 0: never." },
		{ "mdredir_source_errors_total", "counter",
		  "Attachments the source could not make." },
	};

	family(f, "mdredir_attachments", "gauge",
	       "Interfaces attached, by the source that attached them.");
	for (unsigned int i = 0; i < MDR_SOURCE_MAX; i++)
		fprintf(f, "mdredir_attachments{source=\"%s\"} %u\n",
			mdr_source_name(i), s->per_source[i]);
	/* The sources' own word (as stats and systemd have it); their
	 * attachments were counted in this scrape's one walk of them. */
	mdr_source_report(NULL, &r);
	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		family(f, fam[k].name, fam[k].type, fam[k].help);
		for (unsigned int i = 0; i < MDR_SOURCE_MAX; i++) {
			const struct mdr_source_status *ss = &r.status[i];
			const long long v[] = { r.running[i], ss->connected,
						ss->synced, ss->last_sync,
						(long long)ss->errors };

			if (i == MDR_SOURCE_CLI)
				continue;
			fprintf(f, "%s{source=\"%s\"} %lld\n", fam[k].name,
				mdr_source_name(i), r.running[i] ? v[k] : 0);
		}
	}
}

int mdr_metrics_write(const struct mdr_metrics *m, FILE *out)
{
	struct snapshot s = { .m = m };
	int err = 0;

	s.att = calloc(MDR_MAX_ATTACH, sizeof(*s.att));
	if (!s.att)
		return -ENOMEM;
	if (m->st)
		err = mdr_state_for_each_attachment(m->st, snap_one, &s);
	if (!err) {
		write_sources(out, &s);
		write_requests(out, &s);
		write_latency(out, &s);
		write_packets(out, &s, MDR_COUNT_PASS);
		write_packets(out, &s, MDR_COUNT_DROP);
		if (m->st)
			write_unattributed(out, m->st);
		if (m->proxy)
			write_proxy(out, m->proxy);
	}
	free(s.att);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}
