/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target: what an OVSDB server (or anything pretending to be one)
 * sends, through the client's framing, JSON-RPC handling and replica.
 *
 * The client has asked for the schema (id 1) and monitors Interface (id 2)
 * and Port_Binding (id 3) and Datapath_Binding (id 4), as the ovn source
 * would. The first byte of the input chooses whether a valid schema answer
 * comes first (so the rest reaches the update2 diffs sooner) and where the
 * stream is cut in two reads; the rest is the stream. Whatever comes, the client must not crash, leak or
 * read out of bounds; once it fails it is closed and refuses more input;
 * every row of its replica is a JSON object; and the ovn source's join,
 * run over the replica as it is left (every tap named "tap..." exists,
 * our chassis is the one the seeds bind to), asks only for attachments
 * with valid ids and at most MDR_MAX_FIXED_IPS addresses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "control/ovn_join.h"
#include "control/ovsdb.h"
#include "lib/values.h"

static const char schema[] =
	"{\"id\":1,\"error\":null,\"result\":{\"name\":\"db\",\"tables\":{"
	"\"Interface\":{\"columns\":{\"name\":{\"type\":\"string\"},"
	"\"external_ids\":{\"type\":{\"key\":\"string\",\"value\":\"string\","
	"\"min\":0,\"max\":\"unlimited\"}},\"ofport\":{\"type\":{\"key\":"
	"\"integer\",\"min\":0,\"max\":1}}}},\"Port_Binding\":{\"columns\":{"
	"\"chassis\":{\"type\":{\"key\":{\"type\":\"uuid\"},\"min\":0,"
	"\"max\":1}},\"mac\":{\"type\":{\"key\":\"string\",\"min\":0,"
	"\"max\":\"unlimited\"}}}}}}}";

static void on_row(void *ctx, const char *table, const char *uuid,
		   const json_t *old, const json_t *new)
{
	(void)ctx;
	ASSERT(table && uuid && (old || new));
	ASSERT(!old || json_is_object(old));
	ASSERT(!new || json_is_object(new));
}

static const struct mdr_ovsdb_ops ops = { .row = on_row };

static void check_replica(const struct mdr_ovsdb *c, const char *table)
{
	const json_t *rows = mdr_ovsdb_rows(c, table), *row;
	const char *uuid;

	ASSERT(json_is_object(rows));
	json_object_foreach((json_t *)rows, uuid, row)
		ASSERT(json_is_object(row));
}

static bool tap_exists(const char *name, void *ctx)
{
	(void)ctx;
	return !strncmp(name, "tap", 3);
}

static void refused(const char *msg, void *ctx)
{
	(void)ctx;
	ASSERT(msg[0]);
}

static void check_join(const struct mdr_ovsdb *c)
{
	const struct mdr_ovn_rows rows = {
		.interfaces = mdr_ovsdb_rows(c, "Interface"),
		.port_bindings = mdr_ovsdb_rows(c, "Port_Binding"),
		.datapaths = mdr_ovsdb_rows(c, "Datapath_Binding"),
		.chassis = "0d5a2a8b-0000-4000-8000-00000000000c",
		.tap_exists = tap_exists,
		.refused = refused,
	};
	struct mdr_ovn_plan p;

	ASSERT(!mdr_ovn_plan(&rows, &p));
	for (size_t i = 0; i < p.n; i++) {
		const struct mdr_attach_request *r = &p.w[i].req;

		ASSERT(tap_exists(r->ifname, NULL) &&
		       strlen(r->ifname) < sizeof(p.w[i].ifname));
		ASSERT(!mdr_parse_id(r->network_id) &&
		       !mdr_parse_id(r->instance_id) &&
		       !mdr_parse_id(r->project_id));
		ASSERT(r->n_fixed_ips <= MDR_MAX_FIXED_IPS);
	}
	free(p.w);
	/* Any table will do: they must not crash on a foreign one. */
	mdr_ovn_system_id(rows.interfaces);
	mdr_ovn_chassis_uuid(rows.port_bindings, "compute-1");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdr_ovsdb *c;
	size_t cut;
	int rc;

	if (!size)
		return 0;
	c = mdr_ovsdb_new("db", &ops, NULL);
	ASSERT(c);
	ASSERT(!mdr_ovsdb_monitor(c, "Interface", NULL, NULL));
	ASSERT(!mdr_ovsdb_monitor(c, "Port_Binding", NULL, NULL));
	ASSERT(!mdr_ovsdb_monitor(c, "Datapath_Binding", NULL, NULL));
	ASSERT(!mdr_ovsdb_adopt(c, -1));
	if (data[0] & 1)
		ASSERT(!mdr_ovsdb_feed(c, schema, sizeof(schema) - 1));
	cut = size > 1 ? (data[0] >> 1) % size : 0;
	data++, size--;
	if (cut > size)
		cut = size;
	rc = mdr_ovsdb_feed(c, (const char *)data, cut);
	if (!rc)
		rc = mdr_ovsdb_feed(c, (const char *)data + cut, size - cut);
	if (rc) {
		ASSERT(!mdr_ovsdb_connected(c) && !mdr_ovsdb_synced(c));
		ASSERT(mdr_ovsdb_error(c)[0]);
		ASSERT(mdr_ovsdb_feed(c, "{}", 2) < 0);
	}
	check_replica(c, "Interface");
	check_replica(c, "Port_Binding");
	check_replica(c, "Datapath_Binding");
	check_join(c);
	mdr_ovsdb_free(c);
	return 0;
}
