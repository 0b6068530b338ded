/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Explicit versions: commit_version() snapshots a row's current model
 *	  state, restore() writes an earlier version back through the adapter.
 *	  (Versions of the rows syncs and live triggers write are recorded by
 *	  the writers, apply.c; reading history is SQL, see the install script.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "diffsync.h"

/* One history entry object {"key", "action", "state", "patch"}. */
static Jsonb *
history_entry(Jsonb *key, const char *action, Jsonb *state, Jsonb *patch,
			  Jsonb *before)
{
	JsonbParseState *st = NULL;
	JsonbValue	v;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_cstring(&st, WJB_KEY, "key");
	diffsync_jsonb_root(key, &v);
	pushJsonbValue(&st, WJB_VALUE, &v);
	diffsync_push_cstring(&st, WJB_KEY, "action");
	diffsync_push_cstring(&st, WJB_VALUE, action);
	diffsync_push_cstring(&st, WJB_KEY, "state");
	if (state)
		diffsync_jsonb_root(state, &v);
	else
		v.type = jbvNull;
	pushJsonbValue(&st, WJB_VALUE, &v);
	diffsync_push_cstring(&st, WJB_KEY, "patch");
	if (patch)
		diffsync_jsonb_root(patch, &v);
	else
		v.type = jbvNull;
	pushJsonbValue(&st, WJB_VALUE, &v);
	if (before)
	{
		diffsync_push_cstring(&st, WJB_KEY, "before");
		diffsync_jsonb_root(before, &v);
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/* Record one version; returns its version number. */
static int64
record_version(DsPair *pair, Jsonb *key, const char *action, Jsonb *state,
			   Jsonb *patch, Jsonb *before, const char *message)
{
	DsHistory	h;
	SPIPlanPtr	plan = NULL;
	int64		first = 0,
				last = 0,
				count = 0;
	Oid			argtypes[3] = {TEXTOID, JSONBOID, INT8OID};
	Datum		args[3];
	bool		isnull;

	h.enabled = true;
	h.sync_id = 0;
	h.engine = NULL;
	h.message = message;
	diffsync_history_insert(pair->src, pair->sids, pair->nids,
							list_make1(history_entry(key, action, state, patch, before)),
							&h, &plan, &first, &last, &count);
	/* numbered now or, after batched versions of the adapter, as the view shows it */
	args[0] = CStringGetTextDatum(pair->src->name);
	args[1] = JsonbPGetDatum(key);
	args[2] = Int64GetDatum(last);
	if (SPI_execute_with_args("SELECT h.version FROM " DIFFSYNC_SCHEMA ".history h "
							  "WHERE h.adapter OPERATOR(pg_catalog.=) $1 "
							  "AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended($2, 0) "
							  "AND h.key OPERATOR(pg_catalog.=) $2 "
							  "AND h.change_id OPERATOR(pg_catalog.=) $3",
							  3, argtypes, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read back a recorded version");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Error unless key is a JSON object. */
static void
check_key(Jsonb *key)
{
	if (!JB_ROOT_IS_OBJECT(key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key must be a JSON object of identifier fields, e.g. '{\"id\": 1}'")));
}

PG_FUNCTION_INFO_V1(diffsync_commit_version);

/*
 * diffsync.commit_version(adapter, key, message) -> bigint
 *		Snapshot a row's current model state as a new version (action
 *		"commit"); returns the version number.
 */
Datum
diffsync_commit_version(PG_FUNCTION_ARGS)
{
	char	   *name;
	Jsonb	   *key;
	char	   *message = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	DsPair	   *pair;
	Jsonb	   *row;
	int64		version;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("adapter and key must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	key = PG_GETARG_JSONB_P(1);
	check_key(key);
	pair = diffsync_pair_for_adapter(diffsync_adapter_copy(diffsync_adapter_get(name)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* locked: a concurrent write of the row waits, so versions stay in order */
	row = diffsync_fetch_row_locked(pair, true, key);
	if (row == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("adapter \"%s\" has no row with identifiers %s", name,
						JsonbToCString(NULL, &key->root, VARSIZE(key)))));
	version = record_version(pair, diffsync_row_key(row, pair->sids, pair->nids),
							 "commit", row, NULL, NULL, message);
	SPI_finish();
	PG_RETURN_INT64(version);
}

PG_FUNCTION_INFO_V1(diffsync_restore);

/*
 * diffsync.restore(adapter, key, version) -> jsonb
 *		Write the state of an earlier version back through the adapter
 *		(update, insert, or delete for a deleted version) and record it as a
 *		new version; returns the restored state.
 */
Datum
diffsync_restore(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *key = PG_GETARG_JSONB_P(1);
	int64		version = PG_GETARG_INT64(2);
	DsPair	   *pair;
	Jsonb	   *state = NULL;
	Jsonb	   *cur;
	Oid			argtypes[3] = {TEXTOID, JSONBOID, INT8OID};
	Datum		args[3];
	bool		isnull;
	DsRunOptions opts;
	DsWriter   *w;
	Jsonb	   *result = NULL;
	Jsonb	   *patch = NULL;
	int64		latest;

	check_key(key);
	pair = diffsync_pair_for_adapter(diffsync_adapter_copy(diffsync_adapter_get(name)));
	diffsync_parse_run_options(NULL, &opts, "restore", true);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(name);
	args[1] = JsonbPGetDatum(key);
	args[2] = Int64GetDatum(version);
	if (SPI_execute_with_args("SELECT " DIFFSYNC_SCHEMA ".state_at_version($1, $2, $3), "
							  "EXISTS (SELECT 1 FROM " DIFFSYNC_SCHEMA ".history h "
							  "WHERE h.adapter OPERATOR(pg_catalog.=) $1 "
							  "AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended($2, 0) "
							  "AND h.key OPERATOR(pg_catalog.=) $2 "
							  "AND h.version OPERATOR(pg_catalog.=) $3)",
							  3, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the history");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("adapter \"%s\" has no version " INT64_FORMAT " of key %s", name, version,
						JsonbToCString(NULL, &key->root, VARSIZE(key))),
				 errhint("List the versions with diffsync.history(adapter, key).")));
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			state = DatumGetJsonbPCopy(d);
	}

	cur = diffsync_fetch_row_locked(pair, true, key);
	/* the key's latest version now: the live trigger's, if any, comes after */
	if (SPI_execute_with_args("SELECT pg_catalog.max(h.change_id) FROM " DIFFSYNC_SCHEMA ".history h "
							  "WHERE h.adapter OPERATOR(pg_catalog.=) $1 "
							  "AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended($2, 0) "
							  "AND h.key OPERATOR(pg_catalog.=) $2",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the history");
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		latest = isnull ? 0 : DatumGetInt64(d);
	}
	w = diffsync_writer_create(pair, true, &opts, NULL, NULL);
	if (state == NULL)
	{
		if (cur)
			diffsync_writer_add(w, DS_WRITE_DELETE, cur, cur, false);
	}
	else
	{
		/* the restored row keeps the key it is restored under */
		state = diffsync_row_from_state(pair, key, state);
		diffsync_writer_add(w, cur ? DS_WRITE_UPDATE : DS_WRITE_INSERT, state, cur, false);
	}
	for (int op = 0; op < 3; op++)
		diffsync_writer_flush(w, op);

	/*
	 * The version's state is the row as it reads back (write expressions
	 * may store something else than was asked for), which is also what a
	 * live trigger on the relation hashed.
	 */
	if (state)
	{
		Jsonb	   *written = diffsync_fetch_row_locked(pair, true, key);

		if (written)
			state = written;
		if (cur)
		{
			JsonbValue	o,
						n;

			diffsync_jsonb_root(cur, &o);
			diffsync_jsonb_root(state, &n);
			patch = diffsync_diff_values(&o, &n);
		}
		result = state;
	}

	/*
	 * An engine attached to the relation has recorded the write already (a
	 * live trigger records its own side's changes): that version becomes
	 * the restore, with the full state, rather than a second version of the
	 * same change.  Otherwise the restore records its version here.
	 */
	{
		Oid			utypes[5] = {TEXTOID, JSONBOID, INT8OID, TEXTOID, JSONBOID};
		Datum		uargs[5];
		char		unulls[5] = {' ', ' ', ' ', ' ', ' '};
		char	   *message = psprintf("restore of version " INT64_FORMAT, version);

		uargs[0] = args[0];
		uargs[1] = args[1];
		uargs[2] = Int64GetDatum(latest);
		uargs[3] = CStringGetTextDatum(message);
		uargs[4] = state ? JsonbPGetDatum(state) : (Datum) 0;
		unulls[4] = state ? ' ' : 'n';
		if (diffsync_history_batched())
		{
			/* the live trigger's version waits in a batch of this transaction */
			if (diffsync_owner_execute("UPDATE " DIFFSYNC_SCHEMA ".history_batches b "
									   "SET actions[p.i] = CASE WHEN b.actions[p.i] OPERATOR(pg_catalog.=) 'delete' "
									   "THEN 'delete' ELSE 'restore' END, "
									   "states[p.i] = $5, message = $4 "
									   "FROM (SELECT b.batch_id, pg_catalog.array_position(b.keys, $2) AS i "
									   "FROM " DIFFSYNC_SCHEMA ".history_batches b "
									   "WHERE b.adapter OPERATOR(pg_catalog.=) $1 "
									   "AND b.xid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id() "
									   "AND NOT b.derived) p "
									   "WHERE b.batch_id OPERATOR(pg_catalog.=) p.batch_id AND p.i IS NOT NULL "
									   "AND b.change_ids[p.i] OPERATOR(pg_catalog.>) $3",
									   5, utypes, uargs, unulls, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not update the history");
		}
		else if (diffsync_owner_execute(psprintf("UPDATE %s h "
								   "SET action = CASE WHEN h.action OPERATOR(pg_catalog.=) 'delete' THEN 'delete' ELSE 'restore' END, "
								   "state = $5, message = $4 "
								   "WHERE h.adapter OPERATOR(pg_catalog.=) $1 "
								   "AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended($2, 0) "
								   "AND h.key OPERATOR(pg_catalog.=) $2 "
								   "AND h.change_id OPERATOR(pg_catalog.>) $3 "
								   "AND h.xid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()",
											diffsync_history_table()),
								   5, utypes, uargs, unulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update the history");
		if (SPI_processed == 0)
			(void) record_version(pair, key, state ? "restore" : "delete", state, patch, cur, message);
	}
	SPI_finish();
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}
