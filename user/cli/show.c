// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/values.h"
#include "lib/json.h"
#include "lib/log.h"
#include "cli/show.h"
#include "control/pinned_state.h"
#include "control/source.h"

static const char *const mode_names[] = {
	[MDR_MODE_TC] = "tc",
	[MDR_MODE_XDP] = "xdp",
	[MDR_MODE_XDP_GENERIC] = "xdp-generic",
};

static const char *mode_name(__u32 mode)
{
	if (mode < sizeof(mode_names) / sizeof(mode_names[0]) &&
	    mode_names[mode])
		return mode_names[mode];
	return "unknown";
}

struct show_ctx {
	const struct mdr_state *st;
	bool json;
	int count;
	struct mdr_source_report sources;
};

static void service_str(const struct mdr_attachment *att, char buf[16])
{
	inet_ntop(AF_INET, &att->service_addr, buf, 16);
}

/* The attachment's --metadata-via into @buf; false if it has none. */
static bool metadata_via(const struct mdr_state *st, __u32 id,
			 char buf[INET_ADDRSTRLEN])
{
	struct mdr_next_hop hop;

	if (mdr_state_get_next_hop(st, id, &hop) || !hop.addr4)
		return false;
	return inet_ntop(AF_INET, &hop.addr4, buf, INET_ADDRSTRLEN);
}

static int list_one_json(__u32 id, const struct mdr_attachment *att,
			 struct show_ctx *ctx)
{
	char svc[16], mac[18], ip[INET6_ADDRSTRLEN];

	service_str(att, svc);
	printf("%s\n  {\"id\": %u, \"ifname\": ", ctx->count ? "," : "", id);
	mdr_json_str(stdout, att->ifname);
	printf(", \"netns\": ");
	mdr_json_str_or_null(stdout, att->netns);
	printf(", \"mode\": \"%s\", \"source\": \"%s\", \"network_id\": ",
	       mode_name(att->mode), mdr_source_name(att->source));
	mdr_json_str_or_null(stdout, att->network_id);
	printf(", \"router_id\": ");
	mdr_json_str_or_null(stdout, att->router_id);
	printf(", \"instance_id\": ");
	mdr_json_str_or_null(stdout, att->instance_id);
	printf(", \"project_id\": ");
	mdr_json_str_or_null(stdout, att->project_id);
	printf(", \"service_addr\": \"%s\", \"ifindex\": %u", svc,
	       att->ifindex);
	mdr_format_mac(att->mac, mac);
	printf(", \"mac\": \"%s\", \"vm_mac\": ", mac);
	if (att->flags & MDR_F_HAS_VM_MAC) {
		mdr_format_mac(att->vm_mac, mac);
		printf("\"%s\"", mac);
	} else {
		printf("null");
	}
	printf(", \"fixed_ips\": [");
	for (int i = 0; i < MDR_MAX_FIXED_IPS && att->fixed_ips[i].family;
	     i++) {
		mdr_format_fixed_ip(&att->fixed_ips[i], ip, sizeof(ip));
		printf("%s\"%s\"", i ? ", " : "", ip);
	}
	printf("], \"metadata_via\": ");
	if (metadata_via(ctx->st, id, ip))
		printf("\"%s\"", ip);
	else
		printf("null");
	printf("}");
	return 0;
}

static const char *or_dash(const char *s)
{
	return s[0] ? s : "-";
}

static int list_one(__u32 id, const struct mdr_attachment *att, void *data)
{
	struct show_ctx *ctx = data;
	char svc[16], via[INET_ADDRSTRLEN];

	if (ctx->json) {
		list_one_json(id, att, ctx);
	} else {
		if (!ctx->count)
			printf("%-4s %-15s %-12s %-11s %-18s %-15s %-15s %-36s "
			       "%-36s %s\n",
			       "ID", "IFNAME", "NETNS", "MODE", "SOURCE",
			       "SERVICE", "VIA", "NETWORK/ROUTER", "INSTANCE",
			       "PROJECT");
		service_str(att, svc);
		if (!metadata_via(ctx->st, id, via))
			snprintf(via, sizeof(via), "-");
		printf("%-4u %-15s %-12s %-11s %-18s %-15s %-15s %-36s %-36s "
		       "%s\n",
		       id, att->ifname, att->netns[0] ? att->netns : "(host)",
		       mode_name(att->mode), mdr_source_name(att->source), svc,
		       via,
		       att->network_id[0] ? att->network_id
					  : or_dash(att->router_id),
		       or_dash(att->instance_id), or_dash(att->project_id));
	}
	ctx->count++;
	return 0;
}

/* With nothing loaded there is nothing attached: not an error. */
static int open_for_show(struct mdr_state *st)
{
	int err = mdr_state_open(st, MDR_STATE_READ);

	if (err == -ENOENT)
		return 1;
	if (err)
		pr_err("cannot open the pinned maps in %s: %s", MDR_PIN_DIR,
		       strerror(-err));
	return err;
}

int mdr_show_list(bool json)
{
	struct show_ctx ctx = { .json = json };
	struct mdr_state st;
	int err;

	err = open_for_show(&st);
	if (err < 0)
		return err;
	if (json)
		printf("[");
	if (err == 0) {
		ctx.st = &st;
		mdr_state_for_each_attachment(&st, list_one, &ctx);
		mdr_state_close(&st);
	}
	if (json)
		printf("%s]\n", ctx.count ? "\n" : "");
	else if (!ctx.count)
		printf("no interfaces attached\n");
	return 0;
}

/* Counters of one kind, in the header's order, as a JSON object's members. */
static void print_pkt_kind_json(const struct mdr_pkt_stats *p,
				enum mdr_count_kind kind)
{
	bool first = true;

	for (unsigned int i = 0; i < MDR_PKT_COUNTER_MAX; i++) {
		if (mdr_pkt_counter_kind(i) != kind)
			continue;
		printf("%s\"%s\": %llu", first ? "" : ", ",
		       mdr_pkt_counter_name(i),
		       (unsigned long long)p->count[i]);
		first = false;
	}
}

static void print_pkt_json(const struct mdr_pkt_stats *p)
{
	printf("\"packets\": {");
	print_pkt_kind_json(p, MDR_COUNT_PASS);
	printf("}, \"dropped\": {");
	print_pkt_kind_json(p, MDR_COUNT_DROP);
	printf("}");
}

static int stats_one(__u32 id, const struct mdr_attachment *att, void *data)
{
	struct show_ctx *ctx = data;
	struct mdr_http_stats h = {};
	struct mdr_pkt_stats p;
	char svc[16];

	/* Counters read as zero if they cannot be read at all. */
	mdr_state_get_http_stats(ctx->st, id, &h);
	mdr_state_get_pkt_stats(ctx->st, id, &p);
	service_str(att, svc);
	if (ctx->json) {
		printf("%s\n    {\"id\": %u, \"ifname\": ",
		       ctx->count ? "," : "", id);
		mdr_json_str(stdout, att->ifname);
		printf(", \"netns\": ");
		mdr_json_str_or_null(stdout, att->netns);
		printf(", \"service_addr\": \"%s\", \"requests\": %llu, "
		       "\"responses\": {\"1xx\": %llu, \"2xx\": %llu, "
		       "\"3xx\": %llu, \"4xx\": %llu, \"5xx\": %llu}, "
		       "\"bytes_in\": %llu, \"bytes_out\": %llu, ",
		       svc, (unsigned long long)h.requests,
		       (unsigned long long)h.status_1xx,
		       (unsigned long long)h.status_2xx,
		       (unsigned long long)h.status_3xx,
		       (unsigned long long)h.status_4xx,
		       (unsigned long long)h.status_5xx,
		       (unsigned long long)h.bytes_in,
		       (unsigned long long)h.bytes_out);
		print_pkt_json(&p);
		printf("}");
	} else {
		printf("%u %s%s%s (%s)\n", id, att->ifname,
		       att->netns[0] ? "@" : "", att->netns, svc);
		printf("  requests %llu  2xx %llu  3xx %llu  4xx %llu  5xx %llu"
		       "  bytes in %llu out %llu\n",
		       (unsigned long long)h.requests,
		       (unsigned long long)h.status_2xx,
		       (unsigned long long)h.status_3xx,
		       (unsigned long long)h.status_4xx,
		       (unsigned long long)h.status_5xx,
		       (unsigned long long)h.bytes_in,
		       (unsigned long long)h.bytes_out);
		printf(" ");
		for (unsigned int i = 0; i < MDR_PKT_COUNTER_MAX; i++)
			printf(" %s%s %llu",
			       mdr_pkt_counter_kind(i) == MDR_COUNT_DROP
				       ? "drop_"
				       : "",
			       mdr_pkt_counter_name(i),
			       (unsigned long long)p.count[i]);
		printf("\n");
	}
	ctx->count++;
	return 0;
}

/*
 * The sources that follow the control plane: each that a running daemon
 * runs (its own word on how it fares) or that owns attachments.
 */
static void print_sources(const struct show_ctx *ctx)
{
	const struct mdr_source_report *r = &ctx->sources;
	bool first = true;

	if (ctx->json)
		printf(", \"sources\": {");
	for (unsigned int i = 0; i < MDR_SOURCE_MAX; i++) {
		const struct mdr_source_status *st = &r->status[i];

		if (!mdr_source_reported(r, i))
			continue;
		if (!ctx->json) {
			printf("source %s: %s, %s, %s, %u attachments, "
			       "%llu errors%s%s\n",
			       mdr_source_name(i),
			       r->running[i] ? "running" : "not running",
			       st->connected ? "connected" : "not connected",
			       st->synced ? "synced" : "not synced",
			       r->per_source[i], st->errors,
			       st->last_error[0] ? ": " : "", st->last_error);
			continue;
		}
		printf("%s\n    \"%s\": {\"running\": %s, \"connected\": %s, "
		       "\"synced\": %s, \"last_sync\": ",
		       first ? "" : ",", mdr_source_name(i),
		       r->running[i] ? "true" : "false",
		       st->connected ? "true" : "false",
		       st->synced ? "true" : "false");
		if (st->last_sync)
			printf("%lld", st->last_sync);
		else
			printf("null");
		printf(", \"attachments\": %u, \"errors\": %llu, "
		       "\"last_error\": ",
		       r->per_source[i], st->errors);
		mdr_json_str_or_null(stdout, st->last_error);
		printf("}");
		first = false;
	}
	if (ctx->json)
		printf("%s}", first ? "" : "\n  ");
}

int mdr_show_stats(bool json)
{
	struct show_ctx ctx = { .json = json };
	struct mdr_pkt_stats global = {};
	struct mdr_state st;
	int err;

	err = open_for_show(&st);
	if (err < 0)
		return err;
	if (err == 0) {
		ctx.st = &st;
		mdr_state_get_pkt_stats(&st, 0, &global);
	}
	mdr_source_report(ctx.st, &ctx.sources);
	if (json)
		printf("{\"attachments\": [");
	if (err == 0)
		mdr_state_for_each_attachment(&st, stats_one, &ctx);
	if (json) {
		printf("%s], \"unattributed\": {", ctx.count ? "\n  " : "");
		print_pkt_json(&global);
		printf("}");
		print_sources(&ctx);
		printf("}\n");
	} else {
		if (!ctx.count)
			printf("no interfaces attached\n");
		printf("unattributed:");
		for (unsigned int i = 0; i < MDR_PKT_COUNTER_MAX; i++)
			if (mdr_pkt_counter_kind(i) == MDR_COUNT_DROP)
				printf(" drop_%s %llu", mdr_pkt_counter_name(i),
				       (unsigned long long)global.count[i]);
		printf("\n");
		print_sources(&ctx);
	}
	if (err == 0)
		mdr_state_close(&st);
	return 0;
}
