// SPDX-License-Identifier: GPL-2.0-only
/*
 * The OVSDB client's replica (ovsdb_replica.h): update2's row updates and
 * diffs applied, as the schema's column types say, and a new session's
 * initial contents compared with the last one's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "control/ovsdb_replica.h"

/* How a column's modify diff applies (from the schema). */
enum kind { KIND_SCALAR, KIND_SET, KIND_MAP };

int mdr_ovsdb_replica_init(struct mdr_ovsdb_replica *r, char *err,
			   size_t err_len)
{
	memset(r, 0, sizeof(*r));
	r->err = err;
	r->err_len = err_len;
	r->tables = json_object();
	return r->tables ? 0 : -ENOMEM;
}

void mdr_ovsdb_replica_free(struct mdr_ovsdb_replica *r)
{
	json_decref(r->tables);
	json_decref(r->kinds);
	json_decref(r->changes);
	r->tables = r->kinds = r->changes = NULL;
}

int mdr_ovsdb_replica_add_table(struct mdr_ovsdb_replica *r, const char *table)
{
	if (json_object_get(r->tables, table))
		return 0;
	return json_object_set_new(r->tables, table, json_object()) ? -ENOMEM
								    : 0;
}

json_t *mdr_ovsdb_replica_take_changes(struct mdr_ovsdb_replica *r)
{
	json_t *changes = r->changes;

	r->changes = NULL;
	return changes;
}

/* The elements of a set value: ["set", [...]] or one atom. */
static json_t *set_elems(const json_t *v)
{
	if (json_is_array(v) && json_array_size(v) == 2 &&
	    json_is_string(json_array_get(v, 0)) &&
	    !strcmp(json_string_value(json_array_get(v, 0)), "set"))
		return json_is_array(json_array_get(v, 1))
			       ? json_copy(json_array_get(v, 1))
			       : NULL;
	return v ? json_pack("[O]", v) : json_array();
}

/* The pairs of a map value ["map", [[k, v]...]]; an absent one is empty. */
static json_t *map_pairs(const json_t *v)
{
	if (!v)
		return json_array();
	if (json_is_array(v) && json_array_size(v) == 2 &&
	    json_is_string(json_array_get(v, 0)) &&
	    !strcmp(json_string_value(json_array_get(v, 0)), "map") &&
	    json_is_array(json_array_get(v, 1))) {
		json_t *pairs = json_array_get(v, 1), *p;
		size_t i;

		json_array_foreach(pairs, i, p)
		{
			if (!json_is_array(p) || json_array_size(p) != 2)
				return NULL;
		}
		return json_copy(pairs);
	}
	return NULL;
}

static size_t find_elem(const json_t *arr, const json_t *v, bool by_key)
{
	const json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
	{
		if (by_key ? json_equal(json_array_get(e, 0),
					json_array_get(v, 0))
			   : json_equal(e, v))
			return i;
	}
	return (size_t)-1;
}

/* @old with the update2 @diff of a column of @kind applied; NULL if bad. */
static json_t *apply_diff(enum kind kind, const json_t *old, json_t *diff)
{
	json_t *base, *delta, *d;
	size_t i, at;

	if (kind == KIND_SCALAR)
		return json_incref(diff);
	base = kind == KIND_SET ? set_elems(old) : map_pairs(old);
	delta = kind == KIND_SET ? set_elems(diff) : map_pairs(diff);
	if (!base || !delta)
		goto bad;
	json_array_foreach(delta, i, d)
	{
		at = find_elem(base, d, kind == KIND_MAP);
		if (at == (size_t)-1)
			json_array_append(base, d);
		else if (kind == KIND_MAP &&
			 !json_equal(json_array_get(json_array_get(base, at),
						    1),
				     json_array_get(d, 1)))
			json_array_set(base, at, d);
		else
			json_array_remove(base, at);
	}
	json_decref(delta);
	if (kind == KIND_SET && json_array_size(base) == 1) {
		json_t *one = json_incref(json_array_get(base, 0));

		json_decref(base);
		return one;
	}
	return json_pack("[s, o]", kind == KIND_SET ? "set" : "map", base);
bad:
	json_decref(base);
	json_decref(delta);
	return NULL;
}

/* Whether a column's value is its set's or map's default (empty). */
static bool is_empty_collection(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) == 2 &&
	       json_is_array(json_array_get(v, 1)) &&
	       !json_array_size(json_array_get(v, 1));
}

/* Set and map values compared as sets: the server's order is not ours. */
static bool value_equal(const json_t *a, const json_t *b)
{
	const json_t *ea, *eb, *e;
	size_t i;

	if (json_is_array(a) && json_is_array(b) && json_array_size(a) == 2 &&
	    json_array_size(b) == 2 && json_is_string(json_array_get(a, 0)) &&
	    json_equal(json_array_get(a, 0), json_array_get(b, 0)) &&
	    json_is_array(ea = json_array_get(a, 1)) &&
	    json_is_array(eb = json_array_get(b, 1))) {
		if (json_array_size(ea) != json_array_size(eb))
			return false;
		json_array_foreach(ea, i, e)
		{
			if (find_elem(eb, e, false) == (size_t)-1)
				return false;
		}
		return true;
	}
	return json_equal(a, b);
}

static bool row_equal(const json_t *a, const json_t *b)
{
	const char *col;
	json_t *v;

	if (json_object_size(a) != json_object_size(b))
		return false;
	json_object_foreach((json_t *)a, col, v)
	{
		if (!value_equal(v, json_object_get(b, col)))
			return false;
	}
	return true;
}

static int note_change(struct mdr_ovsdb_replica *r, const char *table,
		       const char *uuid, json_t *old, json_t *new)
{
	if (!r->changes && !(r->changes = json_array()))
		return -ENOMEM;
	return json_array_append_new(r->changes,
				     json_pack("[s, s, O?, O?]", table, uuid,
					       old, new))
		       ? -ENOMEM
		       : 0;
}

/* @old with the columns of the update2 @diff applied, into *@out. */
static int modify_row(struct mdr_ovsdb_replica *r, const char *table,
		      json_t *old, json_t *diff, json_t **out)
{
	json_t *kinds = json_object_get(r->kinds, table), *new, *v, *k;
	const char *col;

	if (!json_is_object(diff) || !(new = json_copy(old)))
		return -EPROTO;
	json_object_foreach(diff, col, v)
	{
		enum kind kind;
		json_t *nv;

		k = json_object_get(kinds, col);
		if (json_is_integer(k)) {
			kind = json_integer_value(k);
		} else if (col[0] == '_') { /* _uuid, _version */
			kind = KIND_SCALAR;
		} else {
			snprintf(r->err, r->err_len,
				 "%s.%s: a column not in the schema", table,
				 col);
			goto bad;
		}
		nv = apply_diff(kind, json_object_get(old, col), v);
		if (!nv) {
			snprintf(r->err, r->err_len,
				 "%s.%s: a bad diff for its type", table, col);
			goto bad;
		}
		/* An empty set or map is its default: absent, as in inserts. */
		if (kind != KIND_SCALAR && is_empty_collection(nv)) {
			json_decref(nv);
			json_object_del(new, col);
		} else if (json_object_set_new(new, col, nv)) {
			goto bad;
		}
	}
	*out = new;
	return 0;
bad:
	json_decref(new);
	return -EPROTO;
}

/* One <row-update2> of @table's row @uuid into the replica, noted. */
static int apply_row(struct mdr_ovsdb_replica *r, const char *table,
		     json_t *replica, const char *uuid, json_t *upd)
{
	json_t *old = json_object_get(replica, uuid), *new = NULL, *val;
	const char *op;
	int err;

	if (!json_is_object(upd) || json_object_size(upd) != 1)
		goto bad;
	op = json_object_iter_key(json_object_iter(upd));
	val = json_object_iter_value(json_object_iter(upd));
	if (!strcmp(op, "initial") || !strcmp(op, "insert")) {
		if (!json_is_object(val))
			goto bad;
		new = json_incref(val);
	} else if (!strcmp(op, "modify") || !strcmp(op, "delete")) {
		if (!old) {
			snprintf(r->err, r->err_len,
				 "%s row %s: %s, but never inserted", table,
				 uuid, op[0] == 'm' ? "modified" : "deleted");
			return -EPROTO;
		}
		if (op[0] == 'm' && modify_row(r, table, old, val, &new))
			return -EPROTO;
	} else {
		goto bad;
	}
	/* The replica's reference goes: keep old for the callback. */
	json_incref(old);
	if (new)
		err = json_object_set(replica, uuid, new);
	else
		err = json_object_del(replica, uuid);
	if (!err)
		err = note_change(r, table, uuid, old, new);
	json_decref(old);
	json_decref(new);
	return err ? -ENOMEM : 0;
bad:
	snprintf(r->err, r->err_len, "%s row %s: a malformed row update", table,
		 uuid);
	return -EPROTO;
}

int mdr_ovsdb_replica_update(struct mdr_ovsdb_replica *r, json_t *updates)
{
	const char *table, *uuid;
	json_t *rows, *upd;

	if (!json_is_object(updates))
		return -EPROTO;
	json_object_foreach(updates, table, rows)
	{
		json_t *replica = json_object_get(r->tables, table);

		if (!replica || !json_is_object(rows)) {
			snprintf(r->err, r->err_len,
				 "an update of table \"%s\", never asked for",
				 table);
			return -EPROTO;
		}
		json_object_foreach(rows, uuid, upd)
		{
			int err = apply_row(r, table, replica, uuid, upd);

			if (err)
				return err;
		}
	}
	return 0;
}

int mdr_ovsdb_replica_initial(struct mdr_ovsdb_replica *r, const char *table,
			      json_t *res, json_t *prev)
{
	json_t *replica = json_object_get(r->tables, table), *row, *now;
	const char *uuid;
	void *tmp;
	int err;

	if (!json_is_object(res) || json_object_size(res) > 1 ||
	    (json_object_size(res) && !json_object_get(res, table))) {
		snprintf(r->err, r->err_len,
			 "the initial contents of %s are malformed", table);
		return -EPROTO;
	}
	json_object_clear(replica);
	err = mdr_ovsdb_replica_update(r, res);
	if (err) {
		/* Back to what the caller was told. */
		json_object_set(r->tables, table, prev);
		return err;
	}
	/* mdr_ovsdb_replica_update() noted every row as new: keep only real changes. */
	json_decref(r->changes);
	r->changes = NULL;
	json_object_foreach(replica, uuid, now)
	{
		row = json_object_get(prev, uuid);
		if (!row || !row_equal(row, now))
			if (note_change(r, table, uuid, row, now))
				return -ENOMEM;
	}
	json_object_foreach_safe(prev, tmp, uuid, row)
	{
		if (!json_object_get(replica, uuid) &&
		    note_change(r, table, uuid, row, NULL))
			return -ENOMEM;
	}
	return 0;
}

int mdr_ovsdb_replica_schema(struct mdr_ovsdb_replica *r, json_t *schema,
			     const char *db)
{
	json_t *tables = json_object_get(schema, "tables"), *t, *col, *type;
	const char *tname, *cname;

	if (!json_is_object(tables))
		goto bad;
	r->kinds = json_object();
	if (!r->kinds)
		return -ENOMEM;
	json_object_foreach(tables, tname, t)
	{
		json_t *cols = json_object_get(t, "columns"),
		       *k = json_object();

		if (!k || json_object_set_new(r->kinds, tname, k))
			return -ENOMEM;
		if (!json_is_object(cols))
			goto bad;
		json_object_foreach(cols, cname, col)
		{
			enum kind kind = KIND_SCALAR;

			type = json_object_get(col, "type");
			if (json_is_object(type)) {
				json_t *min = json_object_get(type, "min");
				json_t *max = json_object_get(type, "max");

				if (json_object_get(type, "value"))
					kind = KIND_MAP;
				else if ((min &&
					  json_integer_value(min) != 1) ||
					 (max &&
					  !(json_is_integer(max) &&
					    json_integer_value(max) == 1)))
					kind = KIND_SET;
			} else if (!json_is_string(type)) {
				goto bad;
			}
			if (json_object_set_new(k, cname, json_integer(kind)))
				return -ENOMEM;
		}
	}
	return 0;
bad:
	snprintf(r->err, r->err_len, "a malformed schema of %s", db);
	return -EPROTO;
}
