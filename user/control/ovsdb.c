// SPDX-License-Identifier: GPL-2.0-only
/*
 * The OVSDB client of ovsdb.h: a connection, the stream cut into messages,
 * the requests we send and the answers and notifications we expect. The
 * rows themselves are ovsdb_replica.c's.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "control/ovsdb.h"
#include "control/ovsdb_replica.h"
#include "lib/tls.h"
#include "lib/clock.h"

#define READ_CHUNK 65536
#define ERR_LEN	   256

struct monitor {
	char *table;
	json_t *request;  /* the <monitor-cond-request> */
	json_int_t rpc;	  /* id of our monitor_cond awaiting its answer */
	bool initial;	  /* its initial contents arrived (this session) */
	json_t *previous; /* the rows before this session, until then */
};

enum state { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_CONNECTED };

struct mdr_ovsdb {
	char *db;
	const struct mdr_ovsdb_ops *ops;
	void *ctx;
	enum state state;
	int fd;
	char err[ERR_LEN];

	SSL_CTX *ssl_ctx; /* mdr_ovsdb_set_ssl()'s, for ssl: remotes */
	SSL *ssl;	  /* this connection's TLS; NULL when plain */
	/*
	 * What the last handshake, read or write that could not go on waits
	 * for (SSL_ERROR_WANT_READ or _WRITE, 0 if nothing): a TLS read may
	 * need to write and a write to read, so these, not the way the data
	 * flows, say whether to poll for POLLOUT.
	 */
	int hs_wait, rd_wait, wr_wait;

	char *in;		 /* bytes read, not yet a whole message */
	size_t in_len, in_cap;	 /* ... */
	size_t scan;		 /* bytes of in[] already scanned */
	unsigned depth;		 /* of braces and brackets at scan */
	bool in_str, esc;	 /* the scanner is in a string, after '\' */
	char *out;		 /* requests not yet sent */
	size_t out_len, out_off; /* ... */

	json_int_t next_rpc, schema_rpc;
	/*
	 * The inactivity probe: once nothing came for probe_ms, an echo goes
	 * out (probing); nothing for twice that and the peer is dead.
	 */
	unsigned probe_ms;
	long long heard_ms; /* when bytes last came (CLOCK_MONOTONIC) */
	bool probing;
	unsigned echoes; /* our echoes not answered yet */
	struct mdr_ovsdb_replica replica;
	struct monitor *mon;
	size_t n_mon;
};

static int fail(struct mdr_ovsdb *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records why the connection ends, closes it, returns @err (< 0). */
static int fail(struct mdr_ovsdb *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	mdr_ovsdb_close(c);
	return err;
}

/* Closes the connection, c->err saying why already. */
static int drop(struct mdr_ovsdb *c, int err)
{
	mdr_ovsdb_close(c);
	return err;
}

struct mdr_ovsdb *mdr_ovsdb_new(const char *db, const struct mdr_ovsdb_ops *ops,
				void *ctx)
{
	struct mdr_ovsdb *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->ops = ops;
	c->ctx = ctx;
	c->db = strdup(db);
	if (!c->db ||
	    mdr_ovsdb_replica_init(&c->replica, c->err, sizeof(c->err))) {
		mdr_ovsdb_free(c);
		return NULL;
	}
	return c;
}

void mdr_ovsdb_free(struct mdr_ovsdb *c)
{
	if (!c)
		return;
	mdr_ovsdb_close(c);
	for (size_t i = 0; i < c->n_mon; i++) {
		free(c->mon[i].table);
		json_decref(c->mon[i].request);
	}
	free(c->mon);
	mdr_ovsdb_replica_free(&c->replica);
	SSL_CTX_free(c->ssl_ctx);
	free(c->db);
	free(c);
}

void mdr_ovsdb_close(struct mdr_ovsdb *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	c->hs_wait = c->rd_wait = c->wr_wait = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = ST_IDLE;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->in_cap = c->scan = c->depth = 0;
	c->in_str = c->esc = false;
	c->out_len = c->out_off = 0;
	c->next_rpc = c->schema_rpc = 0; /* ids are per connection */
	c->probing = false;
	c->echoes = 0;
	json_decref(c->replica.kinds);
	c->replica.kinds = NULL;
	json_decref(mdr_ovsdb_replica_take_changes(&c->replica));
	for (size_t i = 0; i < c->n_mon; i++) {
		c->mon[i].rpc = 0;
		c->mon[i].initial = false;
		json_decref(c->mon[i].previous);
		c->mon[i].previous = NULL;
	}
}

static struct monitor *monitor_of(struct mdr_ovsdb *c, const char *table)
{
	for (size_t i = 0; i < c->n_mon; i++)
		if (!strcmp(c->mon[i].table, table))
			return &c->mon[i];
	return NULL;
}

/* Queues @msg (taking it) for sending. */
static int send_msg(struct mdr_ovsdb *c, json_t *msg)
{
	char *text;
	size_t len;
	char *out;

	if (!msg)
		return -ENOMEM;
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	out = realloc(c->out, c->out_len + len);
	if (!out) {
		free(text);
		return -ENOMEM;
	}
	memcpy(out + c->out_len, text, len);
	c->out = out;
	c->out_len += len;
	free(text);
	return 0;
}

static int send_request(struct mdr_ovsdb *c, const char *method, json_t *params,
			json_int_t *rpc)
{
	*rpc = ++c->next_rpc;
	return send_msg(c, json_pack("{s:s, s:o, s:I}", "method", method,
				     "params", params, "id", *rpc));
}

static int send_monitor(struct mdr_ovsdb *c, struct monitor *m)
{
	json_t *params = json_pack("[s, s, {s:[O]}]", c->db, m->table, m->table,
				   m->request);

	return params ? send_request(c, "monitor_cond", params, &m->rpc)
		      : -ENOMEM;
}

int mdr_ovsdb_monitor(struct mdr_ovsdb *c, const char *table,
		      const char *const *columns, json_t *where)
{
	struct monitor *mon, *m;
	json_t *req = json_object(), *cols;

	if (monitor_of(c, table))
		return -EEXIST;
	if (!req)
		return -ENOMEM;
	if (columns) {
		cols = json_array();
		for (size_t i = 0; cols && columns[i]; i++)
			if (json_array_append_new(cols,
						  json_string(columns[i])))
				json_decref(cols), cols = NULL;
		if (json_object_set_new(req, "columns", cols))
			goto nomem;
	}
	if (where && json_object_set(req, "where", where))
		goto nomem;
	mon = realloc(c->mon, (c->n_mon + 1) * sizeof(*mon));
	if (!mon)
		goto nomem;
	c->mon = mon;
	m = &mon[c->n_mon];
	memset(m, 0, sizeof(*m));
	m->table = strdup(table);
	if (!m->table)
		goto nomem;
	m->request = req;
	c->n_mon++;
	if (mdr_ovsdb_replica_add_table(&c->replica, table))
		return -ENOMEM;
	if (c->state == ST_IDLE)
		return 0;
	m->previous = json_deep_copy(json_object_get(c->replica.tables, table));
	return send_monitor(c, m);
nomem:
	json_decref(req);
	return -ENOMEM;
}

int mdr_ovsdb_set_where(struct mdr_ovsdb *c, const char *table, json_t *where)
{
	struct monitor *m = monitor_of(c, table);

	if (!m)
		return -ENOENT;
	if (!where) {
		json_object_del(m->request, "where"); /* -1: had none */
		return 0;
	}
	return json_object_set(m->request, "where", where) ? -ENOMEM : 0;
}

/* A new session: ask for the schema, then for every monitor. */
static int start_session(struct mdr_ovsdb *c)
{
	int err;

	c->heard_ms = mdr_now_ms(); /* the probe counts from the start */
	err = send_request(c, "get_schema", json_pack("[s]", c->db),
			   &c->schema_rpc);
	for (size_t i = 0; !err && i < c->n_mon; i++) {
		struct monitor *m = &c->mon[i];

		/* Kept to tell what changed while we were away. */
		m->previous = json_deep_copy(
			json_object_get(c->replica.tables, m->table));
		err = m->previous ? send_monitor(c, m) : -ENOMEM;
	}
	return err ? fail(c, err, "out of memory") : 0;
}

int mdr_ovsdb_adopt(struct mdr_ovsdb *c, int fd)
{
	mdr_ovsdb_close(c);
	c->err[0] = '\0';
	c->fd = fd;
	c->state = ST_CONNECTED;
	return start_session(c);
}

int mdr_ovsdb_set_ssl(struct mdr_ovsdb *c, const char *private_key,
		      const char *certificate, const char *ca_cert)
{
	const char *missing = !private_key || !*private_key   ? "private key"
			      : !certificate || !*certificate ? "certificate"
			      : !ca_cert || !*ca_cert	      ? "CA certificate"
							      : NULL;
	SSL_CTX *ctx;
	int err;

	c->err[0] = '\0';
	if (missing) {
		snprintf(c->err, sizeof(c->err),
			 "SSL needs a private key, a certificate and a CA "
			 "certificate: the %s is missing",
			 missing);
		return -EINVAL;
	}
	/*
	 * As Open vSwitch does: the server's certificate must chain to
	 * @ca_cert, but its names are never checked against the remote's
	 * address (no SSL_set1_host()): Southbound certificates usually come
	 * from OVS's own PKI (ovs-pki) and name no address the clients use.
	 */
	err = mdr_tls_client_ctx(&ctx, ca_cert, certificate, private_key, false,
				 c->err, sizeof(c->err));
	if (err)
		return err;
	SSL_CTX_free(c->ssl_ctx);
	c->ssl_ctx = ctx;
	return 0;
}

/* "IP:PORT" or "[IP]:PORT" (after "tcp:" or "ssl:") into an address. */
static int parse_tcp(const char *remote, struct sockaddr_storage *ss,
		     socklen_t *len, char *err, size_t err_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	const char *spec = remote + 4, *port;
	struct addrinfo *ai;
	char host[128];
	int rc;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':' ||
		    (size_t)(end - spec) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(end - spec - 1),
			 spec + 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(spec, ':');

		if (!colon || (size_t)(colon - spec) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		port = colon + 1;
	}
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc)
		goto bad;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
bad:
	snprintf(err, err_len,
		 "bad remote \"%s\": want %.4sIP:PORT or %.4s[IPv6]:PORT "
		 "(an address, not a name)",
		 remote, remote, remote);
	return -EINVAL;
}

/* @remote's socket address; -errno with the reason in @err. */
static int parse_remote(const char *remote, struct sockaddr_storage *ss,
			socklen_t *len, char *err, size_t err_len)
{
	if (!strncmp(remote, "unix:", 5)) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;

		if (strlen(remote + 5) >= sizeof(sun->sun_path) || !remote[5]) {
			snprintf(err, err_len,
				 "bad remote \"%s\": empty or too long a path",
				 remote);
			return -EINVAL;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, remote + 5);
		*len = sizeof(*sun);
		return 0;
	}
	if (!strncmp(remote, "tcp:", 4) || !strncmp(remote, "ssl:", 4))
		return parse_tcp(remote, ss, len, err, err_len);
	snprintf(err, err_len,
		 "bad remote \"%s\": want unix:PATH, tcp:IP:PORT or "
		 "ssl:IP:PORT",
		 remote);
	return -EINVAL;
}

int mdr_ovsdb_check_remote(const char *remote, char *err, size_t err_len)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;

	return parse_remote(remote, &ss, &len, err, err_len);
}

int mdr_ovsdb_connect(struct mdr_ovsdb *c, const char *remote)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, err;

	mdr_ovsdb_close(c);
	c->err[0] = '\0';
	err = parse_remote(remote, &ss, &len, c->err, sizeof(c->err));
	if (err)
		return err;
	if (!strncmp(remote, "ssl:", 4) && !c->ssl_ctx) {
		snprintf(c->err, sizeof(c->err),
			 "remote \"%s\" needs a private key, a certificate "
			 "and a CA certificate for SSL, and none were given",
			 remote);
		return -EINVAL;
	}

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		err = -errno;
		snprintf(c->err, sizeof(c->err), "%s: socket: %s", remote,
			 strerror(-err));
		return err;
	}
	c->fd = fd;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		return fail(c, -errno, "%s: connect: %s", remote,
			    strerror(errno));
	if (!strncmp(remote, "ssl:", 4)) {
		ERR_clear_error();
		c->ssl = SSL_new(c->ssl_ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
			mdr_tls_why(c->ssl, SSL_ERROR_SSL, "cannot start TLS",
				    "out of memory", c->err, sizeof(c->err));
			return drop(c, -ENOMEM);
		}
		SSL_set_connect_state(c->ssl);
	}
	c->state = ST_CONNECTING;
	return start_session(c);
}

int mdr_ovsdb_fd(const struct mdr_ovsdb *c)
{
	return c->fd;
}

bool mdr_ovsdb_want_write(const struct mdr_ovsdb *c)
{
	switch (c->state) {
	case ST_CONNECTING: return true;
	case ST_HANDSHAKE: return c->hs_wait == SSL_ERROR_WANT_WRITE;
	case ST_CONNECTED:
		return (c->out_off < c->out_len &&
			c->wr_wait != SSL_ERROR_WANT_READ) ||
		       c->rd_wait == SSL_ERROR_WANT_WRITE;
	default: return false;
	}
}

bool mdr_ovsdb_connected(const struct mdr_ovsdb *c)
{
	return c->state == ST_CONNECTED;
}

bool mdr_ovsdb_synced(const struct mdr_ovsdb *c)
{
	if (c->state != ST_CONNECTED || !c->replica.kinds)
		return false;
	for (size_t i = 0; i < c->n_mon; i++)
		if (!c->mon[i].initial)
			return false;
	return true;
}

const char *mdr_ovsdb_error(const struct mdr_ovsdb *c)
{
	return c->err;
}

const json_t *mdr_ovsdb_rows(const struct mdr_ovsdb *c, const char *table)
{
	return json_object_get(c->replica.tables, table);
}

const json_t *mdr_ovsdb_row(const struct mdr_ovsdb *c, const char *table,
			    const char *uuid)
{
	return json_object_get(json_object_get(c->replica.tables, table), uuid);
}

unsigned mdr_ovsdb_backoff(unsigned prev_ms)
{
	unsigned next = !prev_ms ? 100 : prev_ms >= 4000 ? 8000 : prev_ms * 2;
	struct timespec ts;

	if (next > 8000)
		next = 8000;
	/* Up to an eighth more, so hosts that lost one server spread out. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return next + (unsigned)(ts.tv_nsec % (next / 8 + 1));
}

/* Tells the caller of every change noted, now the update is applied. */
static void report_changes(struct mdr_ovsdb *c)
{
	json_t *changes = mdr_ovsdb_replica_take_changes(&c->replica), *ch;
	size_t i;

	json_array_foreach(changes, i, ch)
	{
		json_t *old = json_array_get(ch, 2),
		       *new = json_array_get(ch, 3);

		if (c->ops && c->ops->row)
			c->ops->row(c->ctx,
				    json_string_value(json_array_get(ch, 0)),
				    json_string_value(json_array_get(ch, 1)),
				    json_is_null(old) ? NULL : old,
				    json_is_null(new) ? NULL : new);
	}
	json_decref(changes);
}

static int handle_reply(struct mdr_ovsdb *c, json_t *msg, json_t *id)
{
	json_t *error = json_object_get(msg, "error");
	json_t *result = json_object_get(msg, "result");
	json_int_t rpc = json_integer_value(id);
	struct monitor *m = NULL;
	int err;

	if (c->echoes && json_is_string(id) &&
	    !strcmp(json_string_value(id), "echo")) {
		c->echoes--; /* its coming was what counted */
		return 0;
	}
	for (size_t i = 0; i < c->n_mon; i++)
		if (c->mon[i].rpc && c->mon[i].rpc == rpc)
			m = &c->mon[i];
	if (!json_is_integer(id) || (!m && rpc != c->schema_rpc) ||
	    (rpc == c->schema_rpc && c->replica.kinds)) {
		char *s = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);

		snprintf(c->err, sizeof(c->err),
			 "an answer to a request we never sent (id %s)",
			 s ? s : "?");
		free(s);
		return -EPROTO;
	}
	if (error && !json_is_null(error)) {
		char *s = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);

		snprintf(c->err, sizeof(c->err), "%s of %s refused: %.160s",
			 m ? "monitor_cond" : "get_schema",
			 m ? m->table : c->db, s ? s : "?");
		free(s);
		return -EPROTO;
	}
	if (!m)
		return mdr_ovsdb_replica_schema(&c->replica, result, c->db);
	m->rpc = 0;
	err = mdr_ovsdb_replica_initial(&c->replica, m->table, result,
					m->previous);
	if (err)
		return err;
	json_decref(m->previous);
	m->previous = NULL;
	m->initial = true;
	report_changes(c);
	if (c->ops && c->ops->synced && mdr_ovsdb_synced(c))
		c->ops->synced(c->ctx);
	return 0;
}

static int handle_msg(struct mdr_ovsdb *c, json_t *msg)
{
	json_t *method = json_object_get(msg, "method");
	json_t *params = json_object_get(msg, "params");
	json_t *id = json_object_get(msg, "id");
	const char *name;
	int err;

	if (!json_is_object(msg) || !id)
		goto bad;
	if (!method)
		return handle_reply(c, msg, id);
	if (!json_is_string(method) || !json_is_array(params))
		goto bad;
	name = json_string_value(method);
	if (!strcmp(name, "echo") && !json_is_null(id))
		return send_msg(c, json_pack("{s:O, s:n, s:O}", "result",
					     params, "error", "id", id));
	if (!strcmp(name, "update2") && json_is_null(id) &&
	    json_array_size(params) == 2 &&
	    json_is_string(json_array_get(params, 0))) {
		struct monitor *m = monitor_of(
			c, json_string_value(json_array_get(params, 0)));

		if (!m || !m->initial || !c->replica.kinds) {
			snprintf(c->err, sizeof(c->err),
				 "an update2 for a monitor not (yet) ours");
			return -EPROTO;
		}
		err = mdr_ovsdb_replica_update(&c->replica,
					       json_array_get(params, 1));
		/* Even on an error: the caller hears of every row the
		 * replica changed, so the next session's resync holds. */
		report_changes(c);
		if (err && !c->err[0])
			snprintf(c->err, sizeof(c->err), "a malformed update2");
		return err;
	}
	snprintf(c->err, sizeof(c->err), "an unexpected request \"%.64s\"",
		 name);
	return -EPROTO;
bad:
	snprintf(c->err, sizeof(c->err), "a message that is not JSON-RPC");
	return -EPROTO;
}

/*
 * Cuts whole messages off c->in: a message is one JSON object, its end
 * found by counting braces and brackets outside strings (resumed where the
 * last read stopped), then parsed by jansson.
 */
static int handle_input(struct mdr_ovsdb *c)
{
	size_t start = 0, i;
	int err = 0;

	for (i = c->scan; i < c->in_len && !err; i++) {
		char ch = c->in[i];

		if (c->in_str) {
			if (c->esc)
				c->esc = false;
			else if (ch == '\\')
				c->esc = true;
			else if (ch == '"')
				c->in_str = false;
			continue;
		}
		if (!c->depth) {
			if (ch == ' ' || ch == '\t' || ch == '\n' ||
			    ch == '\r') {
				start = i + 1;
				continue;
			}
			if (ch != '{') {
				snprintf(c->err, sizeof(c->err),
					 "garbage where a message should "
					 "start (byte 0x%02x)",
					 (unsigned char)ch);
				return -EPROTO;
			}
		}
		if (ch == '"') {
			c->in_str = true;
		} else if (ch == '{' || ch == '[') {
			c->depth++;
		} else if (ch == '}' || ch == ']') {
			json_error_t jerr;
			json_t *msg;

			if (--c->depth)
				continue;
			msg = json_loadb(c->in + start, i + 1 - start,
					 JSON_DISABLE_EOF_CHECK, &jerr);
			if (!msg) {
				snprintf(c->err, sizeof(c->err),
					 "a message that is not JSON: %s",
					 jerr.text);
				return -EPROTO;
			}
			c->err[0] = '\0';
			err = handle_msg(c, msg);
			json_decref(msg);
			start = i + 1;
		}
	}
	if (err)
		return err;
	if (c->depth && i - start > MDR_OVSDB_MAX_MSG) {
		snprintf(c->err, sizeof(c->err),
			 "a message over %u bytes: not an OVSDB we can follow",
			 MDR_OVSDB_MAX_MSG);
		return -EMSGSIZE;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	c->scan = i - start;
	return 0;
}

int mdr_ovsdb_feed(struct mdr_ovsdb *c, const char *buf, size_t len)
{
	if (c->state == ST_IDLE)
		return -ENOTCONN;
	c->heard_ms = mdr_now_ms();
	c->probing = false;
	while (len) {
		size_t n = len < READ_CHUNK ? len : READ_CHUNK;
		int err;

		if (c->in_cap - c->in_len < n) {
			size_t cap = c->in_len + n + READ_CHUNK;
			char *in = realloc(c->in, cap);

			if (!in)
				return fail(c, -ENOMEM, "out of memory");
			c->in = in;
			c->in_cap = cap;
		}
		memcpy(c->in + c->in_len, buf, n);
		c->in_len += n;
		buf += n;
		len -= n;
		err = handle_input(c);
		if (err)
			return drop(c, err);
	}
	return 0;
}

/*
 * A TLS call that failed with @ret: if it only waits for the socket, notes
 * for what in @wait and returns -EAGAIN; anything else closes the
 * connection, saying why in OpenSSL's words.
 */
static int tls_stop(struct mdr_ovsdb *c, int ret, const char *what, int *wait)
{
	int sys = errno, e = SSL_get_error(c->ssl, ret);

	*wait = 0;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*wait = e;
		return -EAGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return fail(c, -ECONNRESET, "the server closed the connection");
	mdr_tls_why(c->ssl, e, what, "the server closed the connection", c->err,
		    sizeof(c->err));
	return drop(c, e == SSL_ERROR_SYSCALL && sys ? -sys : -EPROTO);
}

/*
 * Reads into @buf: the bytes read, 0 at the end of the stream, -EAGAIN
 * when there is nothing yet; any other error has closed the connection.
 */
static ssize_t conn_read(struct mdr_ovsdb *c, char *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		ERR_clear_error();
		n = SSL_read(c->ssl, buf, (int)len);
		c->rd_wait = 0;
		return n > 0 ? n
			     : tls_stop(c, (int)n, "TLS error from the server",
					&c->rd_wait);
	}
	n = read(c->fd, buf, len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (n < 0)
		return fail(c, -errno, "read: %s", strerror(errno));
	return n;
}

/* Writes from @buf: as conn_read(), bytes written or -EAGAIN. */
static ssize_t conn_write(struct mdr_ovsdb *c, const char *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		ERR_clear_error();
		n = SSL_write(c->ssl, buf, (int)len);
		c->wr_wait = 0;
		return n > 0 ? n
			     : tls_stop(c, (int)n,
					"TLS error writing to the server",
					&c->wr_wait);
	}
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (n < 0)
		return fail(c, -errno, "write: %s", strerror(errno));
	return n;
}

static int do_read(struct mdr_ovsdb *c)
{
	char buf[READ_CHUNK];

	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = conn_read(c, buf, sizeof(buf));
		int err;

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
		if (!n)
			return fail(c, -ECONNRESET,
				    "the server closed the connection");
		err = mdr_ovsdb_feed(c, buf, n);
		if (err)
			return err;
	}
	return 0;
}

static int do_write(struct mdr_ovsdb *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_write(c, c->out + c->out_off,
				       c->out_len - c->out_off);

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
		c->out_off += n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* The TLS handshake, as far as the socket lets it go. */
static int do_handshake(struct mdr_ovsdb *c)
{
	int ret;

	ERR_clear_error();
	ret = SSL_do_handshake(c->ssl);
	if (ret == 1) {
		c->state = ST_CONNECTED;
		return 0;
	}
	ret = tls_stop(c, ret, "TLS handshake failed", &c->hs_wait);
	return ret == -EAGAIN ? 0 : ret;
}

static int step_io(struct mdr_ovsdb *c, bool readable, bool writable)
{
	int err, soerr = 0;
	socklen_t len = sizeof(soerr);

	if (c->state == ST_IDLE)
		return -ENOTCONN;
	if (c->state == ST_CONNECTING) {
		if (!writable && !readable)
			return 0;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
			soerr = errno;
		if (soerr)
			return fail(c, -soerr, "connect: %s", strerror(soerr));
		c->state = c->ssl ? ST_HANDSHAKE : ST_CONNECTED;
		writable = true;
	}
	if (c->state == ST_HANDSHAKE) {
		if (!writable && !readable)
			return 0;
		err = do_handshake(c);
		if (err || c->state != ST_CONNECTED)
			return err;
		writable = true;
	}
	/* A TLS read may wait on POLLOUT, or OpenSSL hold records read
	 * already (mdr_ovsdb_timeout_ms() is 0 then). */
	if (readable || (c->ssl && (writable || SSL_has_pending(c->ssl)))) {
		err = do_read(c);
		if (err)
			return err;
	}
	return writable || c->out_off < c->out_len ? do_write(c) : 0;
}

void mdr_ovsdb_set_probe(struct mdr_ovsdb *c, unsigned ms)
{
	c->probe_ms = ms;
	c->probing = false;
	c->heard_ms = mdr_now_ms(); /* a new interval counts from now */
}

/* When the probe acts next: an echo when connected, else the verdict. */
static long long probe_due(const struct mdr_ovsdb *c)
{
	bool last = c->probing || c->state != ST_CONNECTED;

	return c->heard_ms + (long long)c->probe_ms * (last ? 2 : 1);
}

int mdr_ovsdb_timeout_ms(const struct mdr_ovsdb *c)
{
	long long left;

	if (c->state == ST_IDLE)
		return -1;
	/* Records OpenSSL read but we did not (a read stops after 16). */
	if (c->ssl && SSL_has_pending(c->ssl))
		return 0;
	if (!c->probe_ms)
		return -1;
	left = probe_due(c) - mdr_now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * The inactivity probe, as Open vSwitch's jsonrpc sessions do it: a
 * server that went silent (a host gone, a cable pulled, a process stopped)
 * leaves a TCP connection open for a long time, so silence is asked about
 * with an echo, and a second silent interval ends the connection for the
 * caller to reconnect, maybe to another remote.
 */
static int run_probe(struct mdr_ovsdb *c)
{
	long long quiet = mdr_now_ms() - c->heard_ms;
	int err;

	if (!c->probe_ms || quiet < c->probe_ms)
		return 0;
	if (c->state == ST_CONNECTED && !c->probing) {
		c->probing = true;
		c->echoes++;
		err = send_msg(c, json_pack("{s:s, s:[], s:s}", "method",
					    "echo", "params", "id", "echo"));
		return err ? fail(c, err, "out of memory") : do_write(c);
	}
	if (quiet < 2LL * c->probe_ms)
		return 0;
	if (c->state == ST_CONNECTING)
		return fail(c, -ETIMEDOUT, "connect: no answer for %lld ms",
			    quiet);
	if (c->state == ST_HANDSHAKE)
		return fail(c, -ETIMEDOUT,
			    "TLS handshake: no answer for %lld ms", quiet);
	return fail(c, -ETIMEDOUT, "no answer for %lld ms: peer is dead",
		    quiet);
}

int mdr_ovsdb_step(struct mdr_ovsdb *c, bool readable, bool writable)
{
	int err = step_io(c, readable, writable);

	return err ? err : run_probe(c);
}
