/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The replica of the OVSDB client (ovsdb.h), apart from any connection:
 * the monitored rows, {table: {uuid: row}}, kept from monitor_cond's
 * initial contents and update2's row updates. A modify carries diffs
 * whose meaning the schema's column types give: a set's diff toggles its
 * elements, a map's adds, changes or removes keys, anything else is
 * replaced. Every row that changes is noted as [table, uuid, old, new]
 * (old or new null for an insert or a delete) for the client to report.
 *
 * Errors are -EPROTO (or -ENOMEM) with the reason written in err[].
 */
#ifndef MDR_OVSDB_REPLICA_H
#define MDR_OVSDB_REPLICA_H

#include <stddef.h>
#include <jansson.h>

struct mdr_ovsdb_replica {
	json_t *tables;	 /* {table: {uuid: row}}, a table per monitor */
	json_t *kinds;	 /* each column's kind of diff; NULL until known */
	json_t *changes; /* [[table, uuid, old, new]...] not yet taken */
	char *err;	 /* where a failure says why */
	size_t err_len;
};

int mdr_ovsdb_replica_init(struct mdr_ovsdb_replica *r, char *err,
			   size_t err_len);
void mdr_ovsdb_replica_free(struct mdr_ovsdb_replica *r);
/* A table to keep (rows of other tables are a protocol error). */
int mdr_ovsdb_replica_add_table(struct mdr_ovsdb_replica *r, const char *table);
/* The column types from get_schema's answer, for the diffs. */
int mdr_ovsdb_replica_schema(struct mdr_ovsdb_replica *r, json_t *schema,
			     const char *db);
/* A <table-updates2> (update2's second parameter) applied, changes noted. */
int mdr_ovsdb_replica_update(struct mdr_ovsdb_replica *r, json_t *updates);
/*
 * @table's initial contents @res (a monitor_cond answer) replace its rows.
 * Compared with @prev, the rows before (another session's): the rows gone
 * are noted deleted, those that differ modified, unchanged ones not at
 * all. On failure the rows are @prev again.
 */
int mdr_ovsdb_replica_initial(struct mdr_ovsdb_replica *r, const char *table,
			      json_t *res, json_t *prev);
/* The changes noted since the last call (the caller's), or NULL. */
json_t *mdr_ovsdb_replica_take_changes(struct mdr_ovsdb_replica *r);

#endif
