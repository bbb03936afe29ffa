/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small OVSDB client (RFC 7047 JSON-RPC, with ovsdb-server's
 * monitor_cond / update2 extensions) for a poll loop: no threads, no
 * blocking call. The control-plane sources build on it; it knows nothing
 * of OVN itself.
 *
 * - Remotes: "unix:PATH", "tcp:IP:PORT" and "ssl:IP:PORT" (an IPv6
 *   address in brackets, "tcp:[::1]:6642"; an IP address, never a name to
 *   resolve). ssl: is TLS with OpenSSL on the same non-blocking socket,
 *   after mdr_ovsdb_set_ssl(); OpenSSL writes with write(), so the process
 *   must ignore SIGPIPE (the daemon does).
 * - The JSON is parsed and built with libjansson. The stream is a sequence
 *   of JSON objects with nothing between them; a message over
 *   MDR_OVSDB_MAX_MSG bytes, anything that is not one of the messages we
 *   expect, an error answer or an id we never sent closes the connection
 *   with a message (mdr_ovsdb_error()). The caller reconnects, waiting
 *   mdr_ovsdb_backoff() between attempts.
 * - On each connection the client asks for the database's schema (the
 *   kinds of its columns say how update2 diffs apply), then sends one
 *   monitor_cond per monitored table. The server's "echo" is answered.
 * - An inactivity probe, as OVS's (mdr_ovsdb_set_probe()): after an
 *   interval with nothing from the server the client sends an "echo"; a
 *   second one closes the connection, "no answer for N ms: peer is dead".
 *   The poll loop wakes for it after mdr_ovsdb_timeout_ms().
 * - A replica of the monitored rows (uuid -> row, a JSON object of the
 *   monitored columns) is kept across reconnects: a new connection's
 *   initial contents are compared with it, so the callback hears only of
 *   rows that really changed while the connection was down.
 */
#ifndef MDR_OVSDB_H
#define MDR_OVSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define MDR_OVSDB_MAX_MSG (16u << 20)

struct mdr_ovsdb;

struct mdr_ovsdb_ops {
	/*
	 * A row of a monitored table changed: @old is NULL for a new row,
	 * @new NULL for a deleted one. Called once a whole update (one
	 * transaction, or a monitor's initial contents) has been applied to
	 * the replica, so lookups from here see all of it. Rows are as the
	 * server sends them: a column at its default (an empty set or map,
	 * "", 0, false) may be absent; a set of one element is the element.
	 */
	/* Neither may close or free the client (they may add monitors). */
	void (*row)(void *ctx, const char *table, const char *uuid,
		    const json_t *old, const json_t *new);
	/* Every monitor has its initial contents (optional). */
	void (*synced)(void *ctx);
};

/* A client of database @db (e.g. "Open_vSwitch"); NULL if out of memory. */
struct mdr_ovsdb *mdr_ovsdb_new(const char *db, const struct mdr_ovsdb_ops *ops,
				void *ctx);
void mdr_ovsdb_free(struct mdr_ovsdb *c);

/*
 * Monitors @table's @columns (NULL-terminated; NULL for all) on the rows
 * matching @where, a monitor_cond condition: a JSON array of clauses
 * [column, function, value], or true / false, of which ANY must hold
 * (NULL: every row); the caller keeps its own reference. Sent on this and every
 * later connection. -EEXIST if @table is already monitored, -ENOMEM.
 */
int mdr_ovsdb_monitor(struct mdr_ovsdb *c, const char *table,
		      const char *const *columns, json_t *where);

/*
 * Replaces the condition of @table's monitor (as mdr_ovsdb_monitor()'s
 * @where) for the next connections; the caller reconnects for it to take
 * effect now, and the replica makes that reconnect report only the rows
 * that the new condition adds or drops. -ENOENT if @table is not
 * monitored, -ENOMEM.
 */
int mdr_ovsdb_set_where(struct mdr_ovsdb *c, const char *table, json_t *where);

/* Whether @remote is one mdr_ovsdb_connect() takes: 0, or -errno with the
 * reason in @err. An ssl: remote also needs mdr_ovsdb_set_ssl()'s files. */
int mdr_ovsdb_check_remote(const char *remote, char *err, size_t err_len);

/*
 * The files for ssl: remotes, as OVS takes them (ovn_sb_private_key,
 * ovn_sb_certificate, ovn_sb_ca_cert): our PEM key and certificate,
 * presented to the server (ovsdb-server's pssl: asks for them), and the CA
 * the server's certificate must chain to. Its name is not checked, as OVS
 * does not: Southbound certificates rarely name the address clients use.
 * Read now: -errno with mdr_ovsdb_error() naming a file missing,
 * unreadable or invalid, or a key not matching its certificate. Taken by
 * the next connection.
 */
int mdr_ovsdb_set_ssl(struct mdr_ovsdb *c, const char *private_key,
		      const char *certificate, const char *ca_cert);

/*
 * Starts connecting to @remote (closing any connection first). 0 when
 * under way (watch mdr_ovsdb_fd()), or -errno with mdr_ovsdb_error() set
 * (a malformed remote, ssl: without mdr_ovsdb_set_ssl(), or the socket).
 * A failed TLS handshake fails mdr_ovsdb_step() with OpenSSL's reason,
 * e.g. "TLS handshake failed: certificate verify failed (...)".
 */
int mdr_ovsdb_connect(struct mdr_ovsdb *c, const char *remote);
/* Starts a session on @fd, an already connected stream socket (tests). */
int mdr_ovsdb_adopt(struct mdr_ovsdb *c, int fd);
void mdr_ovsdb_close(struct mdr_ovsdb *c);

/* The socket to poll, or -1 when not connected. */
int mdr_ovsdb_fd(const struct mdr_ovsdb *c);
/* Poll for POLLOUT too: connecting, requests not yet sent, or TLS
 * waiting to write. */
bool mdr_ovsdb_want_write(const struct mdr_ovsdb *c);
/*
 * The inactivity probe's interval (OVN's ovsdb_probe_interval; 60000 is
 * OVS's default, 0 turns it off, as it is in a new client): once nothing
 * came from the server for @ms, an echo is sent; nothing for @ms more and
 * the connection fails. It also bounds connecting and the TLS handshake,
 * to twice @ms. Counts from now.
 */
void mdr_ovsdb_set_probe(struct mdr_ovsdb *c, unsigned ms);
/*
 * How long the poll loop may wait (ms) before calling mdr_ovsdb_step()
 * without readiness; -1 when only readiness matters (no probe set, or no
 * connection at all), 0 when it should step at once.
 */
int mdr_ovsdb_timeout_ms(const struct mdr_ovsdb *c);
/*
 * Does what readiness allows: finishes connecting, sends, reads and
 * handles every whole message; and what the time asks: the probe's echo
 * or its verdict (step(c, false, false) when mdr_ovsdb_timeout_ms() is
 * up). 0, or -errno when the connection failed and was closed
 * (mdr_ovsdb_error() says why; connect again): -ETIMEDOUT from the probe.
 */
int mdr_ovsdb_step(struct mdr_ovsdb *c, bool readable, bool writable);
/*
 * Handles @len bytes as if read from the connection (the fuzzer and the
 * unit tests); same return as mdr_ovsdb_step().
 */
int mdr_ovsdb_feed(struct mdr_ovsdb *c, const char *buf, size_t len);

/* Why the last connection failed or closed ("" if none did). */
const char *mdr_ovsdb_error(const struct mdr_ovsdb *c);
bool mdr_ovsdb_connected(const struct mdr_ovsdb *c);
/* Connected, and every monitor has its initial contents. */
bool mdr_ovsdb_synced(const struct mdr_ovsdb *c);

/* The replica: @table's rows (an object uuid -> row), or one row; NULL. */
const json_t *mdr_ovsdb_rows(const struct mdr_ovsdb *c, const char *table);
const json_t *mdr_ovsdb_row(const struct mdr_ovsdb *c, const char *table,
			    const char *uuid);

/* The delay before the next attempt after @prev_ms (0 at first): 100 ms
 * doubling up to 8 s, with a little jitter. Reset to 0 once synced. */
unsigned mdr_ovsdb_backoff(unsigned prev_ms);

#endif
