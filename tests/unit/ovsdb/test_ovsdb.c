// SPDX-License-Identifier: GPL-2.0-only
/*
 * The OVSDB client on recorded messages, written as ovsdb-server sends
 * them: the requests it makes, the schema and monitor_cond answers, update2
 * inserts, modifies (map, set, optional and scalar diffs) and deletes, echo,
 * messages cut at every byte, a resync after a reconnect, and every kind of
 * garbage, each of which closes the connection with a message.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "control/ovsdb.h"

/* What the callbacks heard: "insert|modify|delete TABLE UUID" lines. */
static char heard[4096];
static int synced_calls;
static json_t *last_new;

static void on_row(void *ctx, const char *table, const char *uuid,
		   const json_t *old, const json_t *new)
{
	size_t n = strlen(heard);

	(void)ctx;
	snprintf(heard + n, sizeof(heard) - n, "%s %s %s\n",
		 !old	? "insert"
		 : !new ? "delete"
			: "modify",
		 table, uuid);
	json_decref(last_new);
	last_new = new ? json_deep_copy(new) : NULL;
}

static void on_synced(void *ctx)
{
	(void)ctx;
	synced_calls++;
}

static const struct mdr_ovsdb_ops ops = { .row = on_row, .synced = on_synced };

static const char schema_reply[] =
	"{\"id\":1,\"error\":null,\"result\":{\"name\":\"Open_vSwitch\","
	"\"version\":\"8.3.1\",\"tables\":{\"Interface\":{\"columns\":{"
	"\"name\":{\"type\":\"string\",\"mutable\":false},"
	"\"external_ids\":{\"type\":{\"key\":\"string\",\"value\":\"string\","
	"\"min\":0,\"max\":\"unlimited\"}},"
	"\"ofport\":{\"type\":{\"key\":\"integer\",\"min\":0,\"max\":1}},"
	"\"status\":{\"type\":{\"key\":{\"type\":\"string\"},\"min\":0,"
	"\"max\":\"unlimited\"}},"
	"\"mtu\":{\"type\":{\"key\":\"integer\"}}}}}}}";

/* Two rows, as the answer to monitor_cond id 2. */
static const char initial_reply[] =
	"{\"id\":2,\"error\":null,\"result\":{\"Interface\":{"
	"\"7b3c1d2e-0000-4000-8000-000000000001\":{\"initial\":{"
	"\"name\":\"tap1\",\"external_ids\":[\"map\",[[\"attached-mac\","
	"\"fa:16:3e:00:00:01\"],[\"iface-id\",\"port-1\"]]],\"mtu\":1500}},"
	"\"7b3c1d2e-0000-4000-8000-000000000002\":{\"initial\":{"
	"\"name\":\"tap2\",\"external_ids\":[\"map\",[[\"iface-id\","
	"\"port-2\"]]],\"ofport\":5,\"status\":[\"set\",[\"a\",\"b\"]]}}}}}";

#define U1 "7b3c1d2e-0000-4000-8000-000000000001"
#define U2 "7b3c1d2e-0000-4000-8000-000000000002"
#define U3 "7b3c1d2e-0000-4000-8000-000000000003"

struct session {
	struct mdr_ovsdb *c;
	int server; /* our end of the socketpair: what ovsdb-server sees */
};

static void reset_heard(void)
{
	heard[0] = '\0';
	synced_calls = 0;
	json_decref(last_new);
	last_new = NULL;
}

/* Everything the client sent so far, as one string. */
static char *client_sent(struct session *s)
{
	static char buf[8192];
	ssize_t n;

	while (mdr_ovsdb_want_write(s->c))
		if (mdr_ovsdb_step(s->c, false, true))
			break;
	n = recv(s->server, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* A client monitoring Interface, on a fresh socketpair. */
static void start(struct session *s, struct mdr_ovsdb *reuse)
{
	int sv[2];
	const char *cols[] = { "name",	 "external_ids", "ofport",
			       "status", "mtu",		 NULL };

	reset_heard();
	if (reuse) {
		s->c = reuse;
	} else {
		json_t *where = json_pack("[[s, s, [s, [[s, s]]]]]",
					  "external_ids", "includes", "map",
					  "iface-id", "port-1");

		s->c = mdr_ovsdb_new("Open_vSwitch", &ops, NULL);
		CHECK(s->c != NULL);
		CHECK_INT(mdr_ovsdb_monitor(s->c, "Interface", cols, where), 0);
		CHECK_INT(mdr_ovsdb_monitor(s->c, "Interface", cols, NULL),
			  -EEXIST);
		json_decref(where);
	}
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	s->server = sv[1];
	CHECK_INT(mdr_ovsdb_adopt(s->c, sv[0]), 0);
	CHECK(mdr_ovsdb_connected(s->c));
	CHECK(!mdr_ovsdb_synced(s->c));
}

static int server_says(struct session *s, const char *msg)
{
	return mdr_ovsdb_feed(s->c, msg, strlen(msg));
}

/* A client synced on the schema and the two initial rows. */
static void start_synced(struct session *s)
{
	start(s, NULL);
	client_sent(s);
	CHECK_INT(server_says(s, schema_reply), 0);
	CHECK_INT(server_says(s, initial_reply), 0);
	CHECK(mdr_ovsdb_synced(s->c));
	reset_heard();
}

static void finish(struct session *s)
{
	close(s->server);
	mdr_ovsdb_free(s->c);
	reset_heard();
}

static const char *str_at(const json_t *row, const char *col)
{
	const char *v = json_string_value(json_object_get(row, col));

	return v ? v : "(none)";
}

/* The value of key @key in map column @col of @row, or "(none)". */
static const char *map_get(const json_t *row, const char *col, const char *key)
{
	json_t *pairs = json_array_get(json_object_get(row, col), 1), *p;
	size_t i;

	json_array_foreach(pairs, i, p)
	{
		if (!strcmp(json_string_value(json_array_get(p, 0)), key))
			return json_string_value(json_array_get(p, 1));
	}
	return "(none)";
}

static void test_requests(void)
{
	struct session s;
	json_error_t jerr;
	const char *sent;
	json_t *m1, *m2;
	size_t off;

	start(&s, NULL);
	sent = client_sent(&s);
	/* get_schema, then monitor_cond, back to back. */
	m1 = json_loadb(sent, strlen(sent), JSON_DISABLE_EOF_CHECK, &jerr);
	CHECK(m1 != NULL);
	off = jerr.position;
	m2 = json_loads(sent + off, 0, &jerr);
	CHECK(m2 != NULL);
	CHECK_STR(json_string_value(json_object_get(m1, "method")),
		  "get_schema");
	CHECK_INT(json_integer_value(json_object_get(m1, "id")), 1);
	CHECK_STR(json_string_value(
			  json_array_get(json_object_get(m1, "params"), 0)),
		  "Open_vSwitch");
	CHECK_STR(json_string_value(json_object_get(m2, "method")),
		  "monitor_cond");
	CHECK_INT(json_integer_value(json_object_get(m2, "id")), 2);
	CHECK_HAS(sent + off,
		  "\"params\":[\"Open_vSwitch\",\"Interface\",{\"Interface\":[{"
		  "\"columns\":[\"name\",\"external_ids\",\"ofport\","
		  "\"status\",\"mtu\"],\"where\":[[\"external_ids\","
		  "\"includes\",[\"map\",[[\"iface-id\",\"port-1\"]]]]]}]}]");
	json_decref(m1);
	json_decref(m2);
	finish(&s);
}

static void test_initial_contents(void)
{
	struct session s;
	const json_t *r;

	start(&s, NULL);
	client_sent(&s);
	CHECK_INT(server_says(&s, schema_reply), 0);
	CHECK(!mdr_ovsdb_synced(s.c));
	CHECK_INT(server_says(&s, initial_reply), 0);
	CHECK(mdr_ovsdb_synced(s.c));
	CHECK_INT(synced_calls, 1);
	CHECK_STR(heard, "insert Interface " U1 "\n"
			 "insert Interface " U2 "\n");
	CHECK_INT(json_object_size(mdr_ovsdb_rows(s.c, "Interface")), 2);
	r = mdr_ovsdb_row(s.c, "Interface", U1);
	CHECK_STR(str_at(r, "name"), "tap1");
	CHECK_STR(map_get(r, "external_ids", "iface-id"), "port-1");
	CHECK(mdr_ovsdb_row(s.c, "Interface", U3) == NULL);
	CHECK(mdr_ovsdb_rows(s.c, "Port_Binding") == NULL);
	finish(&s);
}

/* The same conversation cut at every byte gives the same replica. */
static void test_every_split(void)
{
	char all[sizeof(schema_reply) + sizeof(initial_reply)];
	size_t len;

	snprintf(all, sizeof(all), "%s\n%s", schema_reply, initial_reply);
	len = strlen(all);
	for (size_t cut = 0; cut <= len; cut++) {
		struct session s;
		int ok = 1;

		start(&s, NULL);
		client_sent(&s);
		ok &= !mdr_ovsdb_feed(s.c, all, cut);
		ok &= !mdr_ovsdb_feed(s.c, all + cut, len - cut);
		ok &= mdr_ovsdb_synced(s.c);
		ok &= !strcmp(heard, "insert Interface " U1 "\n"
				     "insert Interface " U2 "\n");
		if (!ok)
			CHECK_INT(cut, -1);
		finish(&s);
	}
	/* And a byte at a time, with whitespace between messages. */
	{
		struct session s;
		int ok = 1;

		start(&s, NULL);
		client_sent(&s);
		for (size_t i = 0; i < len && ok; i++)
			ok &= !mdr_ovsdb_feed(s.c, all + i, 1);
		ok &= !mdr_ovsdb_feed(s.c, " \r\n\t", 4);
		CHECK(ok);
		CHECK(mdr_ovsdb_synced(s.c));
		finish(&s);
	}
}

static void test_insert_modify_delete(void)
{
	struct session s;
	const json_t *r;

	start_synced(&s);
	/* A new row. */
	CHECK_INT(server_says(&s, "{\"method\":\"update2\",\"params\":["
				  "\"Interface\",{\"Interface\":{\"" U3
				  "\":{\"insert\":{\"name\":\"tap3\"}}}}],"
				  "\"id\":null}"),
		  0);
	CHECK_STR(heard, "insert Interface " U3 "\n");
	CHECK_STR(str_at(last_new, "name"), "tap3");
	reset_heard();

	/*
	 * A modify: a map key added, one changed, one removed; a set
	 * element removed and one added; an optional integer changed; a
	 * scalar replaced.
	 */
	CHECK_INT(
		server_says(&s,
			    "{\"method\":\"update2\",\"params\":[\"Interface\","
			    "{\"Interface\":{\"" U1 "\":{\"modify\":{"
			    "\"external_ids\":[\"map\",[[\"vm-uuid\",\"vm-1\"],"
			    "[\"iface-id\",\"port-9\"],[\"attached-mac\","
			    "\"fa:16:3e:00:00:01\"]]],\"mtu\":9000}},"
			    "\"" U2 "\":{\"modify\":{\"status\":[\"set\","
			    "[\"a\",\"c\"]],\"ofport\":[\"set\",[5,7]]}}}}],"
			    "\"id\":null}"),
		0);
	CHECK_STR(heard, "modify Interface " U1 "\n"
			 "modify Interface " U2 "\n");
	r = mdr_ovsdb_row(s.c, "Interface", U1);
	CHECK_STR(map_get(r, "external_ids", "vm-uuid"), "vm-1");
	CHECK_STR(map_get(r, "external_ids", "iface-id"), "port-9");
	CHECK_STR(map_get(r, "external_ids", "attached-mac"), "(none)");
	CHECK_INT(json_array_size(json_array_get(
			  json_object_get(r, "external_ids"), 1)),
		  2);
	CHECK_INT(json_integer_value(json_object_get(r, "mtu")), 9000);
	CHECK_STR(str_at(r, "name"), "tap1");
	r = mdr_ovsdb_row(s.c, "Interface", U2);
	CHECK_INT(json_integer_value(json_object_get(r, "ofport")), 7);
	{
		json_t *want = json_pack("[s, [s, s]]", "set", "b", "c");

		CHECK(json_equal(json_object_get(r, "status"), want));
		json_decref(want);
	}
	reset_heard();

	/* A set down to one element is that element; down to none, gone. */
	CHECK_INT(server_says(&s, "{\"method\":\"update2\",\"params\":["
				  "\"Interface\",{\"Interface\":{\"" U2
				  "\":{\"modify\":{\"status\":\"b\"}}}}],"
				  "\"id\":null}"),
		  0);
	r = mdr_ovsdb_row(s.c, "Interface", U2);
	CHECK_STR(str_at(r, "status"), "c");
	CHECK_INT(server_says(&s, "{\"method\":\"update2\",\"params\":["
				  "\"Interface\",{\"Interface\":{\"" U2
				  "\":{\"modify\":{\"status\":\"c\",\"ofport\":"
				  "7}}}}],\"id\":null}"),
		  0);
	r = mdr_ovsdb_row(s.c, "Interface", U2);
	CHECK(json_object_get(r, "status") == NULL);
	CHECK(json_object_get(r, "ofport") == NULL);
	CHECK(last_new != NULL && json_object_get(last_new, "ofport") == NULL);
	reset_heard();

	/* A delete; the replica forgets the row. */
	CHECK_INT(server_says(&s, "{\"method\":\"update2\",\"params\":["
				  "\"Interface\",{\"Interface\":{\"" U1
				  "\":{\"delete\":null}}}],\"id\":null}"),
		  0);
	CHECK_STR(heard, "delete Interface " U1 "\n");
	CHECK(last_new == NULL);
	CHECK(mdr_ovsdb_row(s.c, "Interface", U1) == NULL);
	CHECK_INT(json_object_size(mdr_ovsdb_rows(s.c, "Interface")), 2);
	CHECK(mdr_ovsdb_connected(s.c));
	finish(&s);
}

static void test_echo(void)
{
	struct session s;

	start_synced(&s);
	CHECK_INT(server_says(&s, "{\"method\":\"echo\",\"params\":[],"
				  "\"id\":\"echo\"}"),
		  0);
	CHECK(mdr_ovsdb_want_write(s.c));
	CHECK_STR(client_sent(&s),
		  "{\"result\":[],\"error\":null,\"id\":\"echo\"}");
	CHECK(!mdr_ovsdb_want_write(s.c));
	finish(&s);
}

/* The connection is read and written through step(). */
static void test_step(void)
{
	struct session s;
	char buf[256];

	start(&s, NULL);
	client_sent(&s);
	CHECK(write(s.server, schema_reply, strlen(schema_reply)) > 0);
	CHECK(write(s.server, initial_reply, strlen(initial_reply)) > 0);
	CHECK_INT(mdr_ovsdb_step(s.c, true, false), 0);
	CHECK(mdr_ovsdb_synced(s.c));
	CHECK(write(s.server, "{\"method\":\"echo\",\"params\":[1],\"id\":7}",
		    37) == 37);
	CHECK_INT(mdr_ovsdb_step(s.c, true, true), 0);
	CHECK(!mdr_ovsdb_want_write(s.c));
	CHECK(read(s.server, buf, sizeof(buf)) > 0);
	/* The server going away is an error, and a close. */
	close(s.server);
	CHECK_INT(mdr_ovsdb_step(s.c, true, false), -ECONNRESET);
	CHECK_HAS(mdr_ovsdb_error(s.c), "closed the connection");
	CHECK(!mdr_ovsdb_connected(s.c));
	CHECK_INT(mdr_ovsdb_fd(s.c), -1);
	CHECK_INT(mdr_ovsdb_step(s.c, true, true), -ENOTCONN);
	s.server = -1;
	finish(&s);
}

/*
 * After a reconnect, the new initial contents against the old replica:
 * only what changed is reported (nothing for the unchanged row, whose map
 * came back in another order).
 */
static void test_resync(void)
{
	struct session s;
	struct mdr_ovsdb *c;

	start_synced(&s);
	c = s.c;
	close(s.server);
	mdr_ovsdb_close(c);
	CHECK(mdr_ovsdb_rows(c, "Interface") != NULL);
	start(&s, c);
	CHECK_HAS(client_sent(&s), "\"monitor_cond\"");
	CHECK_INT(server_says(&s, schema_reply), 0);
	CHECK_INT(server_says(
			  &s,
			  "{\"id\":2,\"error\":null,\"result\":{\"Interface\":{"
			  "\"" U1 "\":{\"initial\":{\"name\":\"tap1\","
			  "\"external_ids\":[\"map\",[[\"iface-id\","
			  "\"port-1\"],[\"attached-mac\","
			  "\"fa:16:3e:00:00:01\"]]],\"mtu\":1500}},"
			  "\"" U3 "\":{\"initial\":{\"name\":\"tap3\"}}}}}"),
		  0);
	CHECK_STR(heard, "insert Interface " U3 "\n"
			 "delete Interface " U2 "\n");
	CHECK_INT(synced_calls, 1);
	CHECK_INT(json_object_size(mdr_ovsdb_rows(c, "Interface")), 2);
	finish(&s);
}

/* Each of these closes the connection, says why, and crashes nothing. */
static void test_bad_messages(void)
{
	static const struct {
		const char *msg, *why;
	} bad[] = {
		{ "garbage", "garbage" },
		{ "[1,2]", "garbage" },
		{ "{\"id\":1,\"result\":tru}", "not JSON" },
		{ "{\"id\":99,\"error\":null,\"result\":{}}", "never sent" },
		{ "{\"id\":\"x\",\"error\":null,\"result\":{}}", "never sent" },
		{ "{\"id\":1,\"error\":null,\"result\":{}}", "never sent" },
		{ "{\"result\":1}", "not JSON-RPC" },
		{ "{\"method\":\"update\",\"params\":[],\"id\":null}",
		  "unexpected" },
		{ "{\"method\":\"update2\",\"params\":[\"Bridge\",{}],"
		  "\"id\":null}",
		  "not (yet) ours" },
		{ "{\"method\":\"update2\",\"params\":[\"Interface\","
		  "{\"Bridge\":{}}],\"id\":null}",
		  "never asked for" },
		{ "{\"method\":\"update2\",\"params\":[\"Interface\","
		  "{\"Interface\":{\"" U3 "\":{\"modify\":{}}}}],\"id\":null}",
		  "never inserted" },
		{ "{\"method\":\"update2\",\"params\":[\"Interface\","
		  "{\"Interface\":{\"" U3
		  "\":{\"delete\":null}}}],\"id\":null}",
		  "never inserted" },
		{ "{\"method\":\"update2\",\"params\":[\"Interface\","
		  "{\"Interface\":{\"" U1 "\":{\"modify\":{\"nope\":1}}}}],"
		  "\"id\":null}",
		  "not in the schema" },
		{ "{\"method\":\"update2\",\"params\":[\"Interface\","
		  "{\"Interface\":{\"" U1 "\":{\"modify\":{\"external_ids\":"
		  "\"x\"}}}}],\"id\":null}",
		  "bad diff" },
		{ "{\"method\":\"update2\",\"params\":[\"Interface\","
		  "{\"Interface\":{\"" U1 "\":{\"upsert\":{}}}}],\"id\":null}",
		  "malformed row update" },
		{ "{\"method\":\"update2\",\"params\":[\"Interface\","
		  "{\"Interface\":{\"" U1
		  "\":{\"insert\":{},\"delete\":null}}}],"
		  "\"id\":null}",
		  "malformed row update" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct session s;

		start_synced(&s);
		CHECK(server_says(&s, bad[i].msg) < 0);
		CHECK_HAS(mdr_ovsdb_error(s.c), bad[i].why);
		CHECK(!mdr_ovsdb_connected(s.c));
		CHECK(!mdr_ovsdb_synced(s.c));
		CHECK_INT(mdr_ovsdb_feed(s.c, "{}", 2), -ENOTCONN);
		finish(&s);
	}
	/* The server refusing a monitor. */
	{
		struct session s;

		start(&s, NULL);
		client_sent(&s);
		CHECK_INT(server_says(&s, schema_reply), 0);
		CHECK(server_says(&s,
				  "{\"id\":2,\"error\":{\"error\":"
				  "\"unknown column\"},\"result\":null}") < 0);
		CHECK_HAS(mdr_ovsdb_error(s.c),
			  "monitor_cond of Interface refused: "
			  "{\"error\":\"unknown column\"}");
		finish(&s);
	}
}

/*
 * A failure never leaves the replica ahead of what the caller was told: an
 * update2 that breaks midway still reports the rows it changed, and bad
 * initial contents leave the previous session's rows in place.
 */
static void test_failures_keep_caller_in_step(void)
{
	struct session s;
	struct mdr_ovsdb *c;

	start_synced(&s);
	c = s.c;
	CHECK(server_says(&s, "{\"method\":\"update2\",\"params\":["
			      "\"Interface\",{\"Interface\":{\"" U3
			      "\":{\"insert\":{\"name\":\"tap3\"}},"
			      "\"" U1 "\":{\"modify\":{\"nope\":1}}}}],"
			      "\"id\":null}") < 0);
	CHECK_STR(heard, "insert Interface " U3 "\n");
	CHECK(mdr_ovsdb_row(c, "Interface", U3) != NULL);
	close(s.server);

	start(&s, c);
	client_sent(&s);
	CHECK_INT(server_says(&s, schema_reply), 0);
	CHECK(server_says(&s, "{\"id\":2,\"error\":null,\"result\":{"
			      "\"Interface\":{\"" U1 "\":{\"initial\":{}},"
			      "\"" U2 "\":{\"bogus\":{}}}}}") < 0);
	CHECK_STR(heard, "");
	CHECK_INT(json_object_size(mdr_ovsdb_rows(c, "Interface")), 3);
	CHECK_STR(str_at(mdr_ovsdb_row(c, "Interface", U1), "name"), "tap1");
	finish(&s);
}

/* A message that never ends is cut off at MDR_OVSDB_MAX_MSG. */
static void test_bounded(void)
{
	struct session s;
	size_t chunk = 1 << 20, sent = 0;
	char *junk = malloc(chunk);
	int rc = 0;

	memset(junk, 'x', chunk);
	start_synced(&s);
	CHECK_INT(server_says(&s, "{\"method\":\"echo\",\"params\":[\""), 0);
	while (!rc && sent <= MDR_OVSDB_MAX_MSG + chunk) {
		rc = mdr_ovsdb_feed(s.c, junk, chunk);
		sent += chunk;
	}
	CHECK_INT(rc, -EMSGSIZE);
	CHECK(sent >= MDR_OVSDB_MAX_MSG);
	CHECK_HAS(mdr_ovsdb_error(s.c), "over");
	free(junk);
	finish(&s);
}

static void test_remotes(void)
{
	struct mdr_ovsdb *c = mdr_ovsdb_new("OVN_Southbound", &ops, NULL);

	/* ssl: wants its three files first, each one readable. */
	CHECK_INT(mdr_ovsdb_connect(c, "ssl:10.0.0.1:6642"), -EINVAL);
	CHECK_HAS(mdr_ovsdb_error(c), "needs a private key, a certificate "
				      "and a CA certificate");
	CHECK_INT(mdr_ovsdb_set_ssl(c, "/k.pem", "", "/ca.pem"), -EINVAL);
	CHECK_HAS(mdr_ovsdb_error(c), "the certificate is missing");
	CHECK_INT(mdr_ovsdb_set_ssl(c, "/k.pem", "/c.pem", "/nonexistent/ca"),
		  -ENOENT);
	CHECK_HAS(mdr_ovsdb_error(c), "'/nonexistent/ca' is not readable: "
				      "No such file or directory");
	CHECK_INT(mdr_ovsdb_connect(c, "ssl:10.0.0.1:6642"), -EINVAL);
	CHECK_INT(mdr_ovsdb_connect(c, "ssl:controller:6642"), -EINVAL);
	CHECK_HAS(mdr_ovsdb_error(c), "want ssl:IP:PORT or ssl:[IPv6]:PORT");
	CHECK_INT(mdr_ovsdb_connect(c, "tcp:controller:6642"), -EINVAL);
	CHECK_HAS(mdr_ovsdb_error(c), "not a name");
	CHECK_INT(mdr_ovsdb_connect(c, "tcp:10.0.0.1"), -EINVAL);
	CHECK_INT(mdr_ovsdb_connect(c, "punix:/x"), -EINVAL);
	CHECK_INT(mdr_ovsdb_connect(c, "unix:"), -EINVAL);
	CHECK(mdr_ovsdb_connect(c, "unix:/nonexistent/db.sock") < 0);
	CHECK_HAS(mdr_ovsdb_error(c), "connect");
	CHECK_INT(mdr_ovsdb_fd(c), -1);
	/* A TCP connect fails at once or when the socket says so. */
	if (!mdr_ovsdb_connect(c, "tcp:127.0.0.1:1")) {
		CHECK(mdr_ovsdb_fd(c) >= 0 && mdr_ovsdb_want_write(c));
		CHECK(!mdr_ovsdb_connected(c));
		CHECK_INT(mdr_ovsdb_step(c, false, true), -ECONNREFUSED);
	}
	CHECK_HAS(mdr_ovsdb_error(c), "refused");
	/* An IPv6 address is bracketed (refused, or unreachable here). */
	CHECK(mdr_ovsdb_connect(c, "tcp:[::1]:1") != -EINVAL);
	mdr_ovsdb_free(c);
}

/* A new condition is what the next session asks for. */
static void test_set_where(void)
{
	struct session s;
	json_t *where = json_pack("[[s, s, s]]", "name", "==", "tap1");
	const char *sent;

	start(&s, NULL);
	client_sent(&s);
	CHECK_INT(mdr_ovsdb_set_where(s.c, "Port", where), -ENOENT);
	CHECK_INT(mdr_ovsdb_set_where(s.c, "Interface", where), 0);
	json_decref(where);
	close(s.server);
	start(&s, s.c);
	sent = client_sent(&s);
	CHECK_HAS(sent, "\"where\":[[\"name\",\"==\",\"tap1\"]]");
	CHECK(!strstr(sent, "iface-id"));
	/* NULL: every row. */
	CHECK_INT(mdr_ovsdb_set_where(s.c, "Interface", NULL), 0);
	close(s.server);
	start(&s, s.c);
	sent = client_sent(&s);
	CHECK_HAS(sent, "\"monitor_cond\"");
	CHECK(!strstr(sent, "where"));
	finish(&s);
}

/* The check settings use says what connect would. */
static void test_check_remote(void)
{
	char err[256];

	CHECK_INT(mdr_ovsdb_check_remote("unix:/run/ovn/sb.sock", err,
					 sizeof(err)),
		  0);
	CHECK_INT(mdr_ovsdb_check_remote("tcp:[2001:db8::1]:6642", err,
					 sizeof(err)),
		  0);
	CHECK_INT(mdr_ovsdb_check_remote("tcp:sb:6642", err, sizeof(err)),
		  -EINVAL);
	CHECK_HAS(err, "not a name");
	CHECK_INT(mdr_ovsdb_check_remote("pssl:6642", err, sizeof(err)),
		  -EINVAL);
	CHECK_HAS(err, "pssl:6642");
}

#define PROBE_MS 100

/* Sleeps until the client asks to be stepped, then steps it. */
static int wait_and_step(struct session *s)
{
	int ms = mdr_ovsdb_timeout_ms(s->c);

	CHECK(ms >= 0 && ms <= 2 * PROBE_MS);
	poll(NULL, 0, ms);
	return mdr_ovsdb_step(s->c, false, false);
}

static const char echo_request[] =
	"{\"method\":\"echo\",\"params\":[],\"id\":\"echo\"}";
static const char echo_reply[] =
	"{\"id\":\"echo\",\"result\":[],\"error\":null}";

/*
 * A server that stops answering: an echo after one quiet interval, the
 * connection closed after the second, with the time it waited.
 */
static void test_probe_dead_peer(void)
{
	struct session s;
	int ms;

	start_synced(&s);
	CHECK_INT(mdr_ovsdb_timeout_ms(s.c), -1); /* off by default */
	mdr_ovsdb_set_probe(s.c, PROBE_MS);
	ms = mdr_ovsdb_timeout_ms(s.c);
	CHECK(ms > PROBE_MS / 2 && ms <= PROBE_MS);
	CHECK_INT(mdr_ovsdb_step(s.c, false, false), 0);
	CHECK_STR(client_sent(&s), ""); /* not yet */
	CHECK_INT(wait_and_step(&s), 0);
	CHECK_STR(client_sent(&s), echo_request);
	ms = mdr_ovsdb_timeout_ms(s.c);
	CHECK(ms > PROBE_MS / 2 && ms <= PROBE_MS);
	CHECK_INT(wait_and_step(&s), -ETIMEDOUT);
	CHECK_HAS(mdr_ovsdb_error(s.c), "ms: peer is dead");
	CHECK_HAS(mdr_ovsdb_error(s.c), "no answer for ");
	CHECK(!mdr_ovsdb_connected(s.c));
	CHECK_INT(mdr_ovsdb_timeout_ms(s.c), -1);
	finish(&s);
}

/*
 * A quiet server that answers the echoes keeps the connection, interval
 * after interval; anything it sends counts, so a talking server is never
 * probed; an echo answer nobody asked for is still an id never sent.
 */
static void test_probe_alive_peer(void)
{
	struct session s;

	start_synced(&s);
	mdr_ovsdb_set_probe(s.c, PROBE_MS);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(wait_and_step(&s), 0);
		CHECK_STR(client_sent(&s), echo_request);
		CHECK(write(s.server, echo_reply, strlen(echo_reply)) > 0);
		CHECK_INT(mdr_ovsdb_step(s.c, true, false), 0);
		CHECK(mdr_ovsdb_connected(s.c));
		CHECK(mdr_ovsdb_timeout_ms(s.c) > PROBE_MS / 2);
	}
	/* The server's own echo, answered, counts as hearing from it. */
	poll(NULL, 0, PROBE_MS * 3 / 4);
	CHECK_INT(server_says(&s, "{\"method\":\"echo\",\"params\":[],"
				  "\"id\":9}"),
		  0);
	CHECK(mdr_ovsdb_timeout_ms(s.c) > PROBE_MS / 2);
	CHECK_STR(client_sent(&s), "{\"result\":[],\"error\":null,\"id\":9}");
	/* Turned off, nothing is due. */
	mdr_ovsdb_set_probe(s.c, 0);
	CHECK_INT(mdr_ovsdb_timeout_ms(s.c), -1);
	CHECK(server_says(&s, echo_reply) < 0);
	CHECK_HAS(mdr_ovsdb_error(s.c), "never sent (id \"echo\")");
	finish(&s);
}

static void test_backoff(void)
{
	unsigned d = mdr_ovsdb_backoff(0);

	CHECK(d >= 100 && d <= 113);
	d = mdr_ovsdb_backoff(100);
	CHECK(d >= 200 && d <= 226);
	for (int i = 0; i < 20; i++)
		d = mdr_ovsdb_backoff(d);
	CHECK(d >= 8000 && d <= 9001);
}

int main(void)
{
	test_requests();
	test_initial_contents();
	test_every_split();
	test_insert_modify_delete();
	test_echo();
	test_step();
	test_resync();
	test_bad_messages();
	test_failures_keep_caller_in_step();
	test_bounded();
	test_remotes();
	test_set_where();
	test_check_remote();
	test_probe_dead_peer();
	test_probe_alive_peer();
	test_backoff();
	return check_summary();
}
