/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  Sync engines (named, persisted sync configurations), their base state
 *	  (the attribute values both sides had after the last sync, for
 *	  three-way decisions), and the conflict queue: create_engine(),
 *	  drop_engine(), sync_engine(), resolve_conflict().
 *
 * Concurrency: sync_engine() locks the engine's catalog row FOR UPDATE, so
 * two syncs of one engine serialize; the second sees the first's writes and
 * base.  resolve_conflict() locks the conflict's engine row, then the
 * conflict row, in the same order, so it serializes with syncs too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "diffsync.h"
#include "sync.h"

/* Memory for queued base changes of the current level. */
static MemoryContext
base_context(SyncRun *run)
{
	if (run->basecxt == NULL)
		run->basecxt = AllocSetContextCreate(CurrentMemoryContext, "diffsync base",
											 ALLOCSET_DEFAULT_SIZES);
	return run->basecxt;
}

/* Copy a jsonb datum into memory context cxt. */
static Jsonb *
jsonb_copy_in(MemoryContext cxt, Jsonb *j)
{
	Jsonb	   *copy = MemoryContextAlloc(cxt, VARSIZE(j));

	memcpy(copy, j, VARSIZE(j));
	return copy;
}

/*
 * diffsync_base_queue
 *		Remember that key's base state is now state (written at the next
 *		flush).  Only copies: the flush passes keys and states as jsonb[]
 *		arrays, without taking the values apart.
 */
void
diffsync_base_queue(SyncRun *run, DsPair *pair, Jsonb *key, Jsonb *state)
{
	MemoryContext old;

	if (!run->use_base || run->opts.dry_run)
		return;
	/* a first sync records every key once, at the end (base_populate) */
	if (run->base_empty && !run->base_plain_insert)
		return;
	old = MemoryContextSwitchTo(base_context(run));
	run->base_upserts = lappend(run->base_upserts, jsonb_copy_in(run->basecxt, key));
	run->base_states = lappend(run->base_states, jsonb_copy_in(run->basecxt, state));
	MemoryContextSwitchTo(old);
	if (list_length(run->base_upserts) >= run->opts.batch_size)
		diffsync_base_flush(run, pair);
}

/*
 * diffsync_base_forget
 *		Remember that key has no base any more (deleted on both sides).
 */
void
diffsync_base_forget(SyncRun *run, DsPair *pair, Jsonb *key)
{
	MemoryContext old;

	if (!run->use_base || run->opts.dry_run)
		return;
	old = MemoryContextSwitchTo(base_context(run));
	run->base_deletes = lappend(run->base_deletes, jsonb_copy_in(run->basecxt, key));
	MemoryContextSwitchTo(old);
	if (list_length(run->base_deletes) >= run->opts.batch_size)
		diffsync_base_flush(run, pair);
}

/* A jsonb[] datum of the list's jsonb values. */
static Datum
list_to_array(List *l)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(l), 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, l)
		elems[i++] = JsonbPGetDatum(lfirst(lc));
	return PointerGetDatum(construct_array(elems, i, JSONBOID, -1, false, TYPALIGN_INT));
}

/*
 * diffsync_base_flush
 *		Write the queued base changes of the current level.
 */
void
diffsync_base_flush(SyncRun *run, DsPair *pair)
{
	Oid			argtypes[4] = {TEXTOID, TEXTOID, JSONBARRAYOID, JSONBARRAYOID};
	Datum		args[4];

	if (run->base_upserts == NIL && run->base_deletes == NIL)
		return;
	args[0] = CStringGetTextDatum(run->engine);
	args[1] = CStringGetTextDatum(pair->model);
	if (run->base_upserts != NIL && run->base_plain_insert)
	{
		/* a first sync: every key is new, no conflict to handle */
		if (run->base_insert_plan == NULL)
			run->base_insert_plan =
				diffsync_owner_prepare("INSERT INTO " DIFFSYNC_SCHEMA ".engine_base (engine, model, key, state, synced_at) "
							"SELECT $1, $2, u.key, u.state, pg_catalog.now() "
							"FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(key, state)",
							4, argtypes);
		args[2] = list_to_array(run->base_upserts);
		args[3] = list_to_array(run->base_states);
		if (diffsync_owner_execute_plan(run->base_insert_plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write the base state of engine \"%s\"", run->engine);
	}
	else if (run->base_upserts != NIL)
	{
		if (run->base_upsert_plan == NULL)
			run->base_upsert_plan =
				diffsync_owner_prepare("INSERT INTO " DIFFSYNC_SCHEMA ".engine_base (engine, model, key, state, synced_at) "
							"SELECT $1, $2, u.key, u.state, pg_catalog.now() "
							"FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(key, state) "
							"ON CONFLICT (engine, model, key) DO UPDATE "
							"SET state = EXCLUDED.state, synced_at = EXCLUDED.synced_at",
							4, argtypes);
		args[2] = list_to_array(run->base_upserts);
		args[3] = list_to_array(run->base_states);
		if (diffsync_owner_execute_plan(run->base_upsert_plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write the base state of engine \"%s\"", run->engine);
	}
	if (run->base_deletes != NIL)
	{
		if (run->base_delete_plan == NULL)
			run->base_delete_plan =
				diffsync_owner_prepare("DELETE FROM " DIFFSYNC_SCHEMA ".engine_base "
							"WHERE engine OPERATOR(pg_catalog.=) $1 AND model OPERATOR(pg_catalog.=) $2 "
							"AND key OPERATOR(pg_catalog.=) ANY ($3)",
							3, argtypes);
		args[2] = list_to_array(run->base_deletes);
		if (diffsync_owner_execute_plan(run->base_delete_plan, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete base state of engine \"%s\"", run->engine);
	}
	run->base_upserts = NIL;
	run->base_states = NIL;
	run->base_deletes = NIL;
	MemoryContextReset(run->basecxt);
}

/*
 * After the first sync of an engine, every key equal on both sides gets its
 * base state.  With untimed_only, only the equal keys where a side's row
 * has no commit time yet: rows the sync's own transaction wrote before it
 * (see relations_written_in_xact).
 */
static void
base_populate(SyncRun *run, bool untimed_only)
{
	ListCell   *lc;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "diffsync base row",
												 ALLOCSET_DEFAULT_SIZES);

	run->base_plain_insert = !untimed_only;
	foreach(lc, run->pairs)
	{
		DsPair	   *pair = lfirst(lc);
		char	   *sql = diffsync_equal_rows_sql(pair, &run->opts, untimed_only);
		Portal		portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, false, 0);

		/* the user's rows are read as the caller; base rows written as the owner */
		for (;;)
		{
			SPITupleTable *batch;
			uint64		n;

			SPI_cursor_fetch(portal, true, Max(run->opts.batch_size, 5000));
			batch = SPI_tuptable;
			n = SPI_processed;
			if (n == 0)
				break;
			for (uint64 i = 0; i < n; i++)
			{
				bool		isnull;
				MemoryContext old = MemoryContextSwitchTo(rowcxt);

				diffsync_base_queue(run, pair,
									DatumGetJsonbP(SPI_getbinval(batch->vals[i], batch->tupdesc, 1, &isnull)),
									DatumGetJsonbP(SPI_getbinval(batch->vals[i], batch->tupdesc, 2, &isnull)));
				MemoryContextSwitchTo(old);
				MemoryContextReset(rowcxt);
			}
			SPI_freetuptable(batch);
			diffsync_base_flush(run, pair);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
	}
	run->base_plain_insert = false;
	MemoryContextDelete(rowcxt);
}

/*
 * diffsync_row_from_object
 *		A model row with the identifiers of key and the attributes of obj (a
 *		resolver's answer for a whole row); missing attributes are null.
 */
Jsonb *
diffsync_row_from_object(SyncRun *run, DsPair *pair, Jsonb *key, Jsonb *obj)
{
	JsonbParseState *st = NULL;
	JsonbValue	k,
				o;

	if (!JB_ROOT_IS_OBJECT(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resolver must return a JSON object of attributes (or NULL) for a conflict over a whole row")));
	diffsync_jsonb_root(key, &k);
	diffsync_jsonb_root(obj, &o);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < pair->nids; i++)
	{
		JsonbValue	v;
		const char *name = pair->sids[i]->name;

		diffsync_push_cstring(&st, WJB_KEY, name);
		if (!diffsync_object_get(&k, name, strlen(name), &v))
			v.type = jbvNull;
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	for (int i = 0; i < pair->nattrs; i++)
	{
		JsonbValue	v;
		const char *name = pair->sattrs[i]->name;

		diffsync_push_cstring(&st, WJB_KEY, name);
		if (!diffsync_object_get(&o, name, strlen(name), &v))
			v.type = jbvNull;
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

PG_FUNCTION_INFO_V1(diffsync_create_engine);

/*
 * diffsync.create_engine(name, source, target, direction, strategy, options)
 */
Datum
diffsync_create_engine(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SyncRun		run;
	Oid			argtypes[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, REGROLEOID};
	Datum		args[7];
	int			rc;

	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engine name must not be empty")));
	memset(&run, 0, sizeof(run));
	run.source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	run.target = text_to_cstring(PG_GETARG_TEXT_PP(2));
	run.dir = diffsync_parse_direction(text_to_cstring(PG_GETARG_TEXT_PP(3)));
	run.strategy = diffsync_parse_strategy(text_to_cstring(PG_GETARG_TEXT_PP(4)));
	diffsync_parse_run_options(PG_GETARG_JSONB_P(5), &run.opts, "create_engine", true);
	run.resultcxt = CurrentMemoryContext;
	diffsync_sync_prepare(&run);	/* validates adapters, options, resolver */

	for (int i = 0; i < 6; i++)
		args[i] = PG_GETARG_DATUM(i);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT 1 FROM " DIFFSYNC_SCHEMA ".engine WHERE name OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, NULL, true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("engine \"%s\" already exists", name)));
	args[6] = ObjectIdGetDatum(GetUserId());
	rc = diffsync_owner_execute("INSERT INTO " DIFFSYNC_SCHEMA ".engine (name, source, target, direction, strategy, options, owner) "
								"VALUES ($1, $2, $3, $4, $5, $6, $7)", 7, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not insert into the engine catalog");
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(diffsync_drop_engine);

/*
 * diffsync.drop_engine(name) -- remove an engine with its base state and
 * its queued conflicts.
 */
Datum
diffsync_drop_engine(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];

	args[0] = PG_GETARG_DATUM(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT owner FROM " DIFFSYNC_SCHEMA ".engine WHERE name OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the engine catalog");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("engine \"%s\" does not exist", name)));
	{
		bool		isnull;

		diffsync_check_owner(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
							 psprintf("engine \"%s\"", name));
	}
	/* an attached engine is detached first: its triggers would outlive it */
	(void) diffsync_drop_engine_triggers(name);
	if (diffsync_owner_execute("DELETE FROM " DIFFSYNC_SCHEMA ".engine_base WHERE engine OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the base state of engine \"%s\"", name);
	if (diffsync_owner_execute("DELETE FROM " DIFFSYNC_SCHEMA ".engine WHERE name OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from the engine catalog");
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Does every adapter of the run take its last-update time from commit
 * timestamps?  Only those are comparable with the watermark (the server's
 * own clock at the start of a sync); an updated_at column may be set by
 * the application or another server's clock.
 */
static bool
all_commit_timestamped(SyncRun *run)
{
	ListCell   *lc;

	if (strcmp(GetConfigOption("track_commit_timestamp", false, false), "on") != 0)
		return false;
	foreach(lc, run->pairs)
	{
		DsPair	   *p = lfirst(lc);

		if (!p->src->ts_is_commit || !p->dst->ts_is_commit)
			return false;
	}
	return true;
}

/*
 * Has the current transaction written any of the engine's relations (or
 * their partitions) yet?  Rows it wrote will commit after the watermark
 * this sync sets, so an engine without base rows for them would take them
 * for changed since, on both sides: a false conflict at the next sync when
 * the sync saw them equal.  Such rows get base rows (base_populate).
 */
static bool
relations_written_in_xact(SyncRun *run)
{
	ListCell   *lc;
	List	   *rels = NIL;
	Datum	   *relids;
	int			n = 0;
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		args[1];
	bool		isnull;
	Datum		d;

	/* without statistics there is no telling: assume it has */
	if (!pgstat_track_counts)
		return true;
	/* the relations and everything under them (partitions, inheritance) */
	foreach(lc, run->pairs)
	{
		DsPair	   *p = lfirst(lc);

		rels = list_concat_unique_oid(rels, find_all_inheritors(p->src->relid, NoLock, NULL));
		rels = list_concat_unique_oid(rels, find_all_inheritors(p->dst->relid, NoLock, NULL));
	}
	relids = palloc(sizeof(Datum) * Max(list_length(rels), 1));
	foreach(lc, rels)
		relids[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	args[0] = PointerGetDatum(construct_array(relids, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT pg_catalog.bool_or(pg_catalog.pg_stat_get_xact_tuples_inserted(r) "
							  "OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_xact_tuples_updated(r) "
							  "OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_xact_tuples_deleted(r) "
							  "OPERATOR(pg_catalog.>) 0) FROM pg_catalog.unnest($1) r",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the transaction's statistics");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(d);
}

PG_FUNCTION_INFO_V1(diffsync_sync_engine);

/*
 * diffsync.sync_engine(name, options) -> jsonb
 *		Run an engine: its stored settings, options overridden by the call's.
 */
Datum
diffsync_sync_engine(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *call_options = PG_GETARG_JSONB_P(1);
	SyncRun		run;
	Oid			argtypes[2] = {TEXTOID, JSONBOID};
	Datum		args[2];
	int			rc;
	bool		isnull;
	bool		base_empty = false;
	bool		watermark_null = true;
	bool		lazy = false;
	bool		txn_wrote;
	Jsonb	   *result;
	MemoryContext caller = CurrentMemoryContext;

	memset(&run, 0, sizeof(run));
	run.resultcxt = caller;
	args[0] = PG_GETARG_DATUM(0);
	args[1] = JsonbPGetDatum(call_options);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* lock the engine: syncs of one engine run one at a time */
	rc = diffsync_owner_execute("SELECT source, target, direction, strategy, "
								"options OPERATOR(pg_catalog.||) $2, watermark "
								"FROM " DIFFSYNC_SCHEMA ".engine WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
								2, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the engine catalog");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("engine \"%s\" does not exist", name)));
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext spi = MemoryContextSwitchTo(caller);

		run.engine = pstrdup(name);
		run.source = pstrdup(SPI_getvalue(tup, desc, 1));
		run.target = pstrdup(SPI_getvalue(tup, desc, 2));
		run.dir = diffsync_parse_direction(SPI_getvalue(tup, desc, 3));
		run.strategy = diffsync_parse_strategy(SPI_getvalue(tup, desc, 4));
		diffsync_parse_run_options(DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 5, &isnull)),
								   &run.opts, "sync_engine", true);
		run.use_base = (run.dir == DS_BIDIRECTIONAL);
		{
			Datum		wm = SPI_getbinval(tup, desc, 6, &isnull);

			watermark_null = isnull;
			if (!isnull)
				run.watermark = DatumGetTimestampTz(wm);
		}
		diffsync_sync_prepare(&run);
		MemoryContextSwitchTo(spi);
	}

	if (run.use_base)
	{
		/*
		 * With commit timestamps on every adapter, keys the engine never
		 * wrote need no base row (see watermark_base in sync.c): the first
		 * sync then records none for them, and later syncs compare against
		 * the watermark.  Otherwise the first sync records every key.
		 */
		lazy = all_commit_timestamped(&run);
		run.has_watermark = lazy && !watermark_null;
		if (!lazy)
		{
			rc = diffsync_owner_execute("SELECT 1 FROM " DIFFSYNC_SCHEMA ".engine_base WHERE engine OPERATOR(pg_catalog.=) $1 LIMIT 1",
										1, argtypes, args, NULL, false, 1);
			base_empty = (rc == SPI_OK_SELECT && SPI_processed == 0);
			run.base_empty = base_empty;
		}
	}

	txn_wrote = lazy && !run.opts.dry_run && relations_written_in_xact(&run);
	run.sync_id = diffsync_next_sync_id();
	diffsync_sync_execute(&run);
	if (base_empty && !run.opts.dry_run)
		base_populate(&run, false);
	else if (txn_wrote)
		base_populate(&run, true);
	result = diffsync_sync_result(&run);
	diffsync_sync_log(&run, result);
	diffsync_sync_notify(&run);
	{
		Oid			t2[2] = {TEXTOID, INT8OID};
		Datum		a2[2];

		a2[0] = args[0];
		a2[1] = Int64GetDatum(run.sync_id);
		/*
		 * The watermark is the start of this transaction: every change
		 * committed before it was visible to this sync.
		 */
		if (diffsync_owner_execute(run.opts.dry_run ?
								   "UPDATE " DIFFSYNC_SCHEMA ".engine SET last_sync_id = $2 WHERE name OPERATOR(pg_catalog.=) $1" :
								   "UPDATE " DIFFSYNC_SCHEMA ".engine SET last_sync_id = $2, watermark = pg_catalog.now() "
								   "WHERE name OPERATOR(pg_catalog.=) $1",
								   2, t2, a2, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update the engine catalog");
	}
	SPI_finish();
	PG_RETURN_JSONB_P(result);
}

/* Are two jsonb values equal? */
static bool
jsonb_equal(Jsonb *a, Jsonb *b)
{
	JsonbValue	av,
				bv;

	diffsync_jsonb_root(a, &av);
	diffsync_jsonb_root(b, &bv);
	return diffsync_values_equal(&av, &bv);
}

/* The base state of key in an engine's model, or NULL. */
static Jsonb *
fetch_base(const char *engine, const char *model, Jsonb *key)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, JSONBOID};
	Datum		args[3];
	bool		isnull;

	args[0] = CStringGetTextDatum(engine);
	args[1] = CStringGetTextDatum(model);
	args[2] = JsonbPGetDatum(key);
	if (diffsync_owner_execute("SELECT state FROM " DIFFSYNC_SCHEMA ".engine_base "
							   "WHERE engine OPERATOR(pg_catalog.=) $1 AND model OPERATOR(pg_catalog.=) $2 "
							   "AND key OPERATOR(pg_catalog.=) $3",
							   3, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the base state");
	if (SPI_processed == 0)
		return NULL;
	return DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * row with attribute attr (a jbvString) set to value (JSON null when NULL),
 * or with opts' path section of it set.
 */
static Jsonb *
replace_attribute(Jsonb *row, JsonbValue *attr, DsRunOptions *opts,
				  JsonbValue *value)
{
	JsonbParseState *rs = NULL;
	JsonbValue	root;
	JsonbValue *keys,
			   *vals;
	int			n;

	diffsync_jsonb_root(row, &root);
	n = diffsync_object_members(root.val.binary.data, &keys, &vals);
	pushJsonbValue(&rs, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < n; i++)
	{
		pushJsonbValue(&rs, WJB_KEY, &keys[i]);
		if (keys[i].val.string.len == attr->val.string.len &&
			memcmp(keys[i].val.string.val, attr->val.string.val, attr->val.string.len) == 0)
		{
			JsonbValue	nv;

			if (opts->path_len > 1)
				diffsync_jsonb_root(diffsync_set_section(&vals[i], opts->path_segs + 1,
														 opts->path_len - 1, value), &nv);
			else if (value)
				nv = *value;
			else
				nv.type = jbvNull;
			pushJsonbValue(&rs, WJB_VALUE, &nv);
		}
		else
			pushJsonbValue(&rs, WJB_VALUE, &vals[i]);
	}
	return JsonbValueToJsonb(pushJsonbValue(&rs, WJB_END_OBJECT, NULL));
}

/* Does the key have open conflicts (besides the one being resolved)? */
static bool
other_open_conflicts(const char *source, const char *target, const char *model,
					 Jsonb *key)
{
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID};
	Datum		args[4];

	args[0] = CStringGetTextDatum(source);
	args[1] = CStringGetTextDatum(target);
	args[2] = CStringGetTextDatum(model);
	args[3] = JsonbPGetDatum(key);
	if (diffsync_owner_execute("SELECT 1 FROM " DIFFSYNC_SCHEMA ".conflicts "
							   "WHERE source OPERATOR(pg_catalog.=) $1 AND target OPERATOR(pg_catalog.=) $2 "
							   "AND model OPERATOR(pg_catalog.=) $3 AND key OPERATOR(pg_catalog.=) $4 "
							   "AND status OPERATOR(pg_catalog.=) 'open' LIMIT 1",
							   4, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the conflict queue");
	return SPI_processed > 0;
}

/* Count written rows of a writer. */
static int64
writer_total(DsWriter *w)
{
	return w->written[0] + w->written[1] + w->written[2];
}

PG_FUNCTION_INFO_V1(diffsync_resolve_conflict);

/*
 * diffsync.resolve_conflict(conflict_id, resolution, value) -> jsonb
 *		Settle a queued conflict with the source value, the target value or
 *		an explicit value, written to the side(s) its sync's direction
 *		writes.
 */
Datum
diffsync_resolve_conflict(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	char	   *resolution = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *value = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	MemoryContext caller = CurrentMemoryContext;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *engine,
			   *source,
			   *target,
			   *model;
	DsDirection dir;
	Jsonb	   *key,
			   *conflict;
	JsonbValue	croot,
				attrv,
				chosen;
	bool		has_chosen;
	bool		row_level;
	DsRunOptions opts;
	List	   *pairs;
	ListCell   *lc;
	DsPair	   *pair = NULL;
	int64		written[2] = {0, 0};
	Jsonb	   *final = NULL;
	JsonbParseState *st = NULL;
	JsonbValue	v;
	DsHistory	hist;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("conflict_id must not be NULL")));
	if (resolution == NULL && value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resolve_conflict needs a resolution (\"source\" or \"target\") or a value")));
	if (resolution && strcmp(resolution, "source") != 0 && strcmp(resolution, "target") != 0 &&
		strcmp(resolution, "value") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized resolution \"%s\"", resolution),
				 errhint("Valid resolutions are \"source\", \"target\" and \"value\" (with a value).")));
	if (resolution && strcmp(resolution, "value") != 0 && value != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resolution \"%s\" takes no value", resolution)));
	if (resolution && strcmp(resolution, "value") == 0 && value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resolution \"value\" needs a value")));
	if (resolution == NULL)
		resolution = "value";

	args[0] = Int64GetDatum(id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * Lock the conflict's engine first, as sync_engine() does, so that a
	 * resolution and a sync of its engine serialize (a sync that had read
	 * the conflict before it was resolved would queue it again), and in the
	 * same order as a sync takes the engine and then its conflicts.
	 */
	if (diffsync_owner_execute("SELECT 1 FROM " DIFFSYNC_SCHEMA ".engine e"
							   " WHERE e.name OPERATOR(pg_catalog.=) (SELECT c.engine FROM "
							   DIFFSYNC_SCHEMA ".conflicts c WHERE c.conflict_id OPERATOR(pg_catalog.=) $1)"
							   " FOR UPDATE OF e",
							   1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the conflict's engine");
	if (diffsync_owner_execute("SELECT engine, source, target, direction, model, key, conflict, status "
							   "FROM " DIFFSYNC_SCHEMA ".conflicts WHERE conflict_id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
							   1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the conflict queue");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("conflict " INT64_FORMAT " does not exist", id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (strcmp(SPI_getvalue(tup, desc, 8), "open") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("conflict " INT64_FORMAT " is already resolved", id)));
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		engine = SPI_getvalue(tup, desc, 1);
		engine = engine ? pstrdup(engine) : NULL;
		source = pstrdup(SPI_getvalue(tup, desc, 2));
		target = pstrdup(SPI_getvalue(tup, desc, 3));
		dir = diffsync_parse_direction(SPI_getvalue(tup, desc, 4));
		model = pstrdup(SPI_getvalue(tup, desc, 5));
		key = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 6, &isnull));
		conflict = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 7, &isnull));
		MemoryContextSwitchTo(spi);
	}

	/* what to write */
	diffsync_jsonb_root(conflict, &croot);
	if (strcmp(resolution, "value") == 0)
	{
		diffsync_jsonb_root(value, &chosen);
		has_chosen = true;
	}
	else
		has_chosen = diffsync_object_get(&croot, strcmp(resolution, "source") == 0 ?
										 "source_value" : "target_value", 12, &chosen) &&
			chosen.type != jbvNull;
	row_level = !diffsync_object_get(&croot, "attribute", 9, &attrv) || attrv.type == jbvNull;

	/* find the model level, with the conflict's section path if it had one */
	diffsync_parse_run_options(NULL, &opts, "resolve_conflict", true);
	if (!row_level)
	{
		JsonbValue	pathv;

		if (diffsync_object_get(&croot, "path", 4, &pathv) && pathv.type == jbvString)
		{
			opts.path = pnstrdup(pathv.val.string.val, pathv.val.string.len);
			opts.path_len = diffsync_pointer_parse(opts.path, strlen(opts.path), &opts.path_segs);
		}
	}
	pairs = diffsync_build_pairs(source, target, &opts);
	foreach(lc, pairs)
		if (strcmp(((DsPair *) lfirst(lc))->model, model) == 0)
			pair = lfirst(lc);
	hist.enabled = true;
	hist.sync_id = 0;
	hist.engine = engine;
	hist.message = psprintf("resolution of conflict " INT64_FORMAT, id);
	if (pair == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" of conflict " INT64_FORMAT " is no longer synced by adapters \"%s\" and \"%s\"",
						model, id, source, target)));

	for (int side = 0; side < 2; side++)
	{
		bool		to_source = (side == 0);
		Jsonb	   *cur;
		DsWriter   *w;

		if (to_source ? dir == DS_SOURCE_TO_TARGET : dir == DS_TARGET_TO_SOURCE)
			continue;
		cur = diffsync_fetch_row(pair, to_source, key);
		w = diffsync_writer_create(pair, to_source, &opts, NULL, NULL);
		w->history = &hist;
		w->engine = engine;
		if (row_level)
		{
			if (!has_chosen)
			{
				if (cur)
					diffsync_writer_add(w, DS_WRITE_DELETE, cur, cur, true);
			}
			else
			{
				SyncRun		tmp;

				memset(&tmp, 0, sizeof(tmp));
				final = diffsync_row_from_object(&tmp, pair, key, diffsync_value_to_jsonb(&chosen));
				if (!cur || !jsonb_equal(cur, final))
					diffsync_writer_add(w, cur ? DS_WRITE_UPDATE : DS_WRITE_INSERT, final, cur, true);
			}
		}
		else
		{
			if (cur == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("the row of conflict " INT64_FORMAT " no longer exists in adapter \"%s\"",
								id, to_source ? source : target),
						 errhint("Run the sync again: the deletion will be reconciled as a change of its own.")));
			/* the current row with the attribute (or section) replaced */
			final = replace_attribute(cur, &attrv, &opts, has_chosen ? &chosen : NULL);
			/* the side that already holds the value is not written */
			if (!jsonb_equal(cur, final))
				diffsync_writer_add(w, DS_WRITE_UPDATE, final, cur, true);
		}
		for (int op = 0; op < 3; op++)
			diffsync_writer_flush(w, op);
		written[side] = writer_total(w);
	}

	/* settle it, and the engine's base */
	{
		Oid			t3[3] = {INT8OID, TEXTOID, JSONBOID};
		Datum		a3[3];
		char		n3[3] = {' ', ' ', ' '};

		a3[0] = Int64GetDatum(id);
		a3[1] = CStringGetTextDatum(resolution);
		a3[2] = has_chosen ? JsonbPGetDatum(diffsync_value_to_jsonb(&chosen)) : (Datum) 0;
		n3[2] = has_chosen ? ' ' : 'n';
		if (diffsync_owner_execute("UPDATE " DIFFSYNC_SCHEMA ".conflicts SET status = 'resolved', "
								  "resolution = $2, resolved_value = $3, resolved_at = pg_catalog.now() "
								   "WHERE conflict_id OPERATOR(pg_catalog.=) $1",
								   3, t3, a3, n3, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update the conflict queue");
	}
	if (engine && dir == DS_BIDIRECTIONAL)
	{
		SyncRun		brun;

		memset(&brun, 0, sizeof(brun));
		brun.engine = engine;
		brun.use_base = true;
		brun.opts = opts;
		if (row_level)
		{
			if (has_chosen && final)
				diffsync_base_queue(&brun, pair, key, final);
			else if (!has_chosen)
				diffsync_base_forget(&brun, pair, key);
		}
		else
		{
			/*
			 * Only the settled attribute joins the base: the key's other
			 * attributes may have open conflicts of their own.
			 */
			Jsonb	   *base = fetch_base(engine, model, key);

			if (base)
				diffsync_base_queue(&brun, pair, key,
									replace_attribute(base, &attrv, &opts,
													  has_chosen ? &chosen : NULL));
			else if (final && !other_open_conflicts(source, target, model, key))
			{
				/* the key is settled: both sides now hold the written row */
				diffsync_base_queue(&brun, pair, key, final);
			}
		}
		diffsync_base_flush(&brun, pair);
	}
	diffsync_conflict_notify(&opts, "conflict_resolved", id, engine, model, key, resolution);
	SPI_finish();

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_int(&st, "conflict_id", id);
	diffsync_push_cstring(&st, WJB_KEY, "resolution");
	diffsync_push_cstring(&st, WJB_VALUE, resolution);
	diffsync_push_cstring(&st, WJB_KEY, "value");
	if (has_chosen)
		pushJsonbValue(&st, WJB_VALUE, &chosen);
	else
	{
		v.type = jbvNull;
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	diffsync_push_int(&st, "source_rows_written", written[0]);
	diffsync_push_int(&st, "target_rows_written", written[1]);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)));
}
