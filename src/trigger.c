/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  Live reconciliation: attach() installs statement-level triggers with
 *	  transition tables on an engine's relations, so that every change on
 *	  one side is reconciled into the other in the same transaction;
 *	  detach() removes them.
 *
 * One statement, one reconciliation: the keys the statement touched (from
 * its transition tables) restrict the engine's diff to those keys, the
 * rows as they were before the statement serve as the base of three-way
 * decisions (a change made on the changed side only propagates; where the
 * other side had drifted, the strategy decides, and the change being made
 * now counts as the newest), and the writes go through the adapters like a
 * sync's, with history and events.
 *
 * No loops: while an engine applies its own writes (apply.c keeps a
 * backend-local list of them), that engine's triggers return at once, so a
 * reconciled write is never reconciled back.  Other engines' triggers, user
 * triggers and foreign keys fire as usual (unlike session_replication_role,
 * which would silence them all).
 *
 * Concurrency: a live reconciliation holds the engine's catalog row FOR
 * SHARE, a batch sync_engine() FOR UPDATE, so they never interleave; live
 * reconciliations of different transactions run side by side.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/queryenvironment.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/rls.h"
#include "utils/tuplestore.h"

#include "diffsync.h"
#include "sync.h"

#define TRIGGER_NEW		"diffsync_new"
#define TRIGGER_OLD		"diffsync_old"

/*
 * Names of the triggers of an engine on a relation.  A 64-bit hash of the
 * engine's name keeps them short and apart; which engine a trigger serves
 * is its argument, which is what lookups match (triggers of earlier
 * releases had a 32-bit hash in their name).
 */
static char *
trigger_name(const char *engine, const char *op)
{
	return psprintf("diffsync_%016" INT64_MODIFIER "x_%s",
					hash_bytes_extended((const unsigned char *) engine, strlen(engine), 0),
					op);
}

/* The SQL condition "trigger t is one of engine $n's" */
#define ENGINE_TRIGGER(n) \
	"t.tgfoid OPERATOR(pg_catalog.=) '" DIFFSYNC_SCHEMA ".live_reconcile()'::pg_catalog.regprocedure " \
	"AND t.tgnargs OPERATOR(pg_catalog.=) 1 " \
	"AND t.tgargs OPERATOR(pg_catalog.=) (pg_catalog.convert_to(" n ", pg_catalog.getdatabaseencoding()) " \
	"OPERATOR(pg_catalog.||) pg_catalog.decode('00', 'hex'))"

/* Read an engine's settings into run (and lock its row in mode lock). */
static void
load_engine(SyncRun *run, const char *name, const char *lock, Jsonb *extra)
{
	Oid			argtypes[2] = {TEXTOID, JSONBOID};
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	MemoryContext spi;

	args[0] = CStringGetTextDatum(name);
	args[1] = JsonbPGetDatum(extra ? extra : DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"))));
	if (diffsync_owner_execute(psprintf("SELECT source, target, direction, strategy, "
										"options OPERATOR(pg_catalog.||) $2 FROM " DIFFSYNC_SCHEMA ".engine "
										"WHERE name OPERATOR(pg_catalog.=) $1 %s", lock),
							   2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the engine catalog");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("engine \"%s\" does not exist", name)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	spi = MemoryContextSwitchTo(run->resultcxt);
	run->engine = pstrdup(name);
	run->source = pstrdup(SPI_getvalue(tup, desc, 1));
	run->target = pstrdup(SPI_getvalue(tup, desc, 2));
	run->dir = diffsync_parse_direction(SPI_getvalue(tup, desc, 3));
	run->strategy = diffsync_parse_strategy(SPI_getvalue(tup, desc, 4));
	diffsync_parse_run_options(DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 5, &isnull)),
							   &run->opts, "engine", true);
	MemoryContextSwitchTo(spi);
}

/* "ROW(exprs) IN (SELECT k.fields FROM (keys) k)" for one side. */
static char *
key_filter(DsField **ids, int nids, const char *keys_sql)
{
	StringInfoData l,
				r;

	initStringInfo(&l);
	initStringInfo(&r);
	for (int i = 0; i < nids; i++)
	{
		appendStringInfo(&l, "%s%s", i ? ", " : "", ids[i]->read_sql);
		appendStringInfo(&r, "%sk.%s", i ? ", " : "", quote_identifier(ids[i]->name));
	}
	if (nids == 1)
		return psprintf("%s IN (SELECT %s FROM (%s) k)", l.data, r.data, keys_sql);
	return psprintf("ROW(%s) IN (SELECT %s FROM (%s) k)", l.data, r.data, keys_sql);
}

/*
 * The live run of one statement on relation relid: which pair and side it
 * is, the keys it touched, and the rows as they were before it.
 */
static DsPair *
live_setup(SyncRun *run, Oid relid, bool has_new, bool has_old)
{
	ListCell   *lc;
	DsPair	   *pair = NULL;
	bool		is_source = false;
	DsAdapter  *w;
	DsField   **wids;
	DsField   **fields;
	StringInfoData keys;
	StringInfoData idlist;

	foreach(lc, run->pairs)
	{
		DsPair	   *p = lfirst(lc);

		if (p->src->relid == relid && run->dir != DS_TARGET_TO_SOURCE)
		{
			pair = p;
			is_source = true;
			break;
		}
		if (p->dst->relid == relid && run->dir != DS_SOURCE_TO_TARGET)
		{
			pair = p;
			break;
		}
	}
	if (pair == NULL)
		return NULL;			/* not a side this engine reconciles from */

	run->pairs = list_make1(pair);
	pair->parent = -1;
	run->live_side = is_source ? 1 : 2;
	w = is_source ? pair->src : pair->dst;
	wids = is_source ? pair->sids : pair->dids;

	/* the keys the statement touched, as model identifier values */
	initStringInfo(&idlist);
	for (int i = 0; i < pair->nids; i++)
		appendStringInfo(&idlist, "%s%s AS %s", i ? ", " : "", wids[i]->read_sql,
						 quote_identifier(wids[i]->name));
	initStringInfo(&keys);
	if (has_new)
		appendStringInfo(&keys, "SELECT %s FROM " TRIGGER_NEW " r", idlist.data);
	if (has_old)
		appendStringInfo(&keys, "%sSELECT %s FROM " TRIGGER_OLD " r",
						 has_new ? " UNION " : "", idlist.data);
	run->opts.src_where = key_filter(pair->sids, pair->nids, keys.data);
	run->opts.dst_where = key_filter(pair->dids, pair->nids, keys.data);

	/* the base: the row before the statement, else the engine's base */
	fields = palloc(sizeof(DsField *) * (pair->nids + pair->nattrs));
	for (int i = 0; i < pair->nids; i++)
		fields[i] = wids[i];
	for (int i = 0; i < pair->nattrs; i++)
		fields[pair->nids + i] = is_source ? pair->sattrs[i] : pair->dattrs[i];
	{
		char	   *engine_base = psprintf("(SELECT b.state FROM " DIFFSYNC_SCHEMA ".engine_base b"
										   " WHERE b.engine OPERATOR(pg_catalog.=) %s"
										   " AND b.model OPERATOR(pg_catalog.=) %s"
										   " AND b.key OPERATOR(pg_catalog.=) CASE WHEN s.\"__ds_p\" THEN %s ELSE %s END)",
										   quote_literal_cstr(run->engine), quote_literal_cstr(pair->model),
										   diffsync_jsonb_object_sql(fields, pair->nids, "s"),
										   diffsync_jsonb_object_sql(fields, pair->nids, "t"));
		char	   *old_base = NULL;

		if (has_old)
		{
			/* a hash join on the key, not a lookup per row */
			run->opts.base_join =
				psprintf("LEFT JOIN (SELECT %s AS \"__ds_key\", %s AS \"__ds_row\" FROM (%s) o) o "
						 "ON o.\"__ds_key\" OPERATOR(pg_catalog.=) CASE WHEN s.\"__ds_p\" THEN %s ELSE %s END",
						 diffsync_jsonb_object_sql(fields, pair->nids, "o"),
						 diffsync_jsonb_object_sql(fields, pair->nids + pair->nattrs, "o"),
						 diffsync_adapter_select_from(w, TRIGGER_OLD, NULL, false),
						 diffsync_jsonb_object_sql(fields, pair->nids, "s"),
						 diffsync_jsonb_object_sql(fields, pair->nids, "t"));
			old_base = "o.\"__ds_row\"";
		}
		if (old_base && run->use_base)
			run->opts.base_sql = psprintf("COALESCE(%s, %s)", old_base, engine_base);
		else if (old_base)
			run->opts.base_sql = old_base;
		else if (run->use_base)
			run->opts.base_sql = engine_base;
		else
			run->opts.base_sql = "NULL::pg_catalog.jsonb";
	}
	return pair;
}

/* The pair's fields of one side: identifiers, then attributes. */
static DsField **
side_fields(DsPair *pair, bool source)
{
	DsField   **fields = palloc(sizeof(DsField *) * (pair->nids + pair->nattrs));

	for (int i = 0; i < pair->nids; i++)
		fields[i] = source ? pair->sids[i] : pair->dids[i];
	for (int i = 0; i < pair->nattrs; i++)
		fields[pair->nids + i] = source ? pair->sattrs[i] : pair->dattrs[i];
	return fields;
}

/*
 * A side's rows (of relation table, NULL: the adapter's own, with an extra
 * condition where) as model identifier columns (typed, named after the fields, so joins on them hash plain
 * values) plus (key, row) model objects; an empty relation when the
 * statement has no such table.
 */
static char *
model_rows(DsPair *pair, bool source, const char *table, const char *where)
{
	DsAdapter  *a = source ? pair->src : pair->dst;
	DsField   **fields = side_fields(pair, source);
	StringInfoData ids;

	initStringInfo(&ids);
	for (int i = 0; i < pair->nids; i++)
		appendStringInfo(&ids, "m.%s, ", quote_identifier(fields[i]->name));
	return psprintf("SELECT %s%s AS \"__ds_key\", %s AS \"__ds_row\" FROM (%s) m",
					ids.data,
					diffsync_jsonb_object_sql(fields, pair->nids, "m"),
					diffsync_jsonb_object_sql(fields, pair->nids + pair->nattrs, "m"),
					diffsync_adapter_select_from(a, table, where, false));
}

/* The same over a transition table, or an empty relation when absent */
static char *
transition_rows(DsPair *pair, bool source, const char *table, bool present)
{
	return model_rows(pair, source, present ? table : NULL, present ? NULL : "false");
}

/* "a.id1 = b.id1 AND ..." over the pair's identifier fields */
static char *
ids_join(DsPair *pair, const char *a, const char *b)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < pair->nids; i++)
		appendStringInfo(&buf, "%s%s.%s OPERATOR(pg_catalog.=) %s.%s", i ? " AND " : "",
						 a, quote_identifier(pair->sids[i]->name),
						 b, quote_identifier(pair->sids[i]->name));
	return buf.data;
}

/* What a per-row event needs besides the version: engine, adapter, model */
typedef struct LiveNotify
{
	SyncRun    *run;
	const char *adapter;
	const char *model;
} LiveNotify;

/* One event per version of the changed side, carrying its change id */
static void
live_notify_version(void *arg, int64 change_id, Jsonb *key, const char *action)
{
	LiveNotify *ln = arg;

	diffsync_change_notify(&ln->run->opts, ln->run->engine, ln->adapter, ln->model,
						   key, action, change_id, -1);
}

/*
 * "n" and "o", the changed side's rows after and before the statement, and
 * "b", the two joined on the key: (model identifier columns, key, before,
 * after), as CTEs.
 */
static char *
statement_rows_ctes(DsPair *pair, bool source, bool has_new, bool has_old)
{
	StringInfoData ids;

	initStringInfo(&ids);
	for (int i = 0; i < pair->nids; i++)
	{
		const char *f = quote_identifier(pair->sids[i]->name);

		appendStringInfo(&ids, "COALESCE(n.%s, o.%s) AS %s, ", f, f, f);
	}
	return psprintf("n AS MATERIALIZED (%s), o AS MATERIALIZED (%s), "
					"b AS MATERIALIZED (SELECT %sCOALESCE(n.\"__ds_key\", o.\"__ds_key\") AS \"__ds_key\", "
					"o.\"__ds_row\" AS \"__ds_before\", n.\"__ds_row\" AS \"__ds_after\" "
					"FROM n FULL JOIN o ON %s)",
					transition_rows(pair, source, TRIGGER_NEW, has_new),
					transition_rows(pair, source, TRIGGER_OLD, has_old),
					ids.data, ids_join(pair, "n", "o"));
}

/* The changed side's own version of a row of b, when its model row changed */
#define OWN_ACTION \
	"CASE WHEN b.\"__ds_after\" IS NOT DISTINCT FROM b.\"__ds_before\" THEN NULL " \
	"WHEN b.\"__ds_before\" IS NULL THEN 'create' WHEN b.\"__ds_after\" IS NULL THEN 'delete' " \
	"ELSE 'update' END"

/* b's key, before and after rows, as the columns the history recording reads */
#define B_ROWS "b.\"__ds_key\" AS key, b.\"__ds_before\" AS before, b.\"__ds_after\" AS after"

/*
 * The changed side's own changes in a statement: its rows whose model row
 * changed (no-op writes drop out), from the transition tables.
 */
static char *
statement_changes(DsPair *pair, bool source, bool has_new, bool has_old)
{
	return psprintf("WITH %s SELECT " B_ROWS ", " OWN_ACTION " AS action, "
					"NULL::pg_catalog.text AS other_action FROM b "
					"WHERE b.\"__ds_after\" IS DISTINCT FROM b.\"__ds_before\"",
					statement_rows_ctes(pair, source, has_new, has_old));
}

/*
 * Record the versions of the changed side's own rows (changes: a query of
 * key, before, after, action, other_action as statement_changes makes),
 * set-based, and send their events.
 */
static void
live_own_changes(SyncRun *run, DsPair *pair, const char *changes)
{
	bool		is_source = (run->live_side == 1);
	DsAdapter  *w = is_source ? pair->src : pair->dst;
	int64		first = 0,
				last = 0,
				count = 0;
	bool		per_row = run->opts.notify && !run->opts.notify_per_statement;

	if (!run->opts.history && !run->opts.notify)
		return;

	if (run->opts.history)
	{
		LiveNotify	ln = {run, w->name, pair->model};

		diffsync_history_record_sql(w->name, NULL, false, run->engine, changes, NULL, 0, NULL, NULL,
									per_row, live_notify_version, &ln,
									&first, &last, &count);
		if (per_row)
			return;
	}
	else
	{
		/* no history: the events come straight from the changes */
		if (SPI_execute(psprintf("SELECT key, action FROM (%s) x", changes), false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the statement's changes");
		count = SPI_processed;
		if (per_row)
		{
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				bool		isnull;
				HeapTuple	tup = SPI_tuptable->vals[i];

				diffsync_change_notify(&run->opts, run->engine, w->name, pair->model,
									   DatumGetJsonbP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)),
									   SPI_getvalue(tup, SPI_tuptable->tupdesc, 2), 0, -1);
			}
			return;
		}
	}
	if (run->opts.notify && count > 0)
		diffsync_change_notify(&run->opts, run->engine, w->name, pair->model,
							   NULL, NULL, last, count);
}

/* Does side a write and read every pair field as its plain column? */
static bool
plain_mapping(DsField **fields, int n)
{
	for (int i = 0; i < n; i++)
		if (fields[i]->write_sql != NULL || fields[i]->column == NULL ||
			strncmp(fields[i]->read_sql, "r.", 2) != 0)
			return false;
	return true;
}

/*
 * Identifiers no unique index guarantees: after the statement, a key of its
 * new rows held by more than one row of the relation is the error a sync
 * gives (23505), not an arbitrary winner on the other side (or MERGE's
 * complaint about a row affected twice), whether the statement added the
 * second row or both.
 */
static void
live_check_unique(DsPair *pair, DsAdapter *live, bool has_new)
{
	if (!has_new)
		return;
	/* read_only false: the statement's own rows must be seen */
	diffsync_check_unique(live, (live == pair->src) ? pair->sids : pair->dids, pair->nids,
						  psprintf("EXISTS (SELECT 1 FROM (%s) n WHERE %s)",
								   diffsync_adapter_select_from(live, TRIGGER_NEW, NULL, false),
								   ids_join(pair, "n", "m")),
						  false);
}

/*
 * The fast path of a live reconciliation: when the change being made now
 * wins whatever the other side holds (last_update_wins, or the strategy
 * that favours the changed side) and there is no base to keep, the
 * statement's rows are applied to the other side straight from the
 * transition tables, set-based, as a hand-written trigger would: a DELETE of
 * the keys the statement removed, then a MERGE (or UPDATE and INSERT for
 * relations MERGE cannot write).  With history, the other side's versions
 * are recorded set-based too, from the keys the writes returned; that needs
 * plain column mappings, so that the row written is the row read back.
 * Returns false when the generic path must run.
 */
static bool
live_fast_path(SyncRun *run, DsPair *pair, bool has_new, bool has_old, bool *own_done)
{
	bool		from_source = (run->live_side == 1);
	DsAdapter  *live = from_source ? pair->src : pair->dst;
	DsWriter   *w;
	DsField   **lids = from_source ? pair->sids : pair->dids;
	DsField   **wfields = side_fields(pair, !from_source);
	StringInfoData inner,
				cols,
				vals,
				sets,
				cur,
				newv,
				keys,
				okeys;
	char	   *n_rows;
	char	   *o_rows;
	bool		table;
	bool		history = run->opts.history;

	if (run->use_base || run->opts.path)
		return false;
	if (!(run->strategy == DS_LAST_UPDATE_WINS ||
		  (run->strategy == DS_SOURCE_WINS && from_source) ||
		  (run->strategy == DS_TARGET_WINS && !from_source)))
		return false;
	if (history && !plain_mapping(wfields, pair->nids + pair->nattrs))
		return false;

	w = diffsync_writer_create(pair, !from_source, &run->opts, NULL, NULL);
	diffsync_writer_check(w, DS_WRITE_INSERT);
	table = (w->a->relkind == RELKIND_RELATION || w->a->relkind == RELKIND_PARTITIONED_TABLE);

	n_rows = diffsync_adapter_select_from(live, TRIGGER_NEW, NULL, false);
	o_rows = diffsync_adapter_select_from(live, TRIGGER_OLD, NULL, false);
	/* the changed rows as model fields, write expressions of the other side applied */
	initStringInfo(&inner);
	initStringInfo(&cols);
	initStringInfo(&vals);
	initStringInfo(&sets);
	initStringInfo(&cur);
	initStringInfo(&newv);
	initStringInfo(&keys);
	initStringInfo(&okeys);
	appendStringInfoString(&inner, "SELECT ");
	for (int i = 0; i < pair->nids; i++)
	{
		/* batch columns are never named like model fields: see diffsync_writer_match_sql */
		appendStringInfo(&inner, "%sm.%s AS \"__w_k%d\", %s AS \"__w_id%d\"", i ? ", " : "",
						 quote_identifier(w->ids[i]->name), i, diffsync_writer_value_sql(w->ids[i]), i);
		appendStringInfo(&cols, "%s%s", i ? ", " : "", quote_identifier(w->ids[i]->column));
		appendStringInfo(&vals, "%sw.\"__w_id%d\"", i ? ", " : "", i);
		appendStringInfo(&keys, "%sn.%s OPERATOR(pg_catalog.=) m.\"__w_k%d\"", i ? " AND " : "",
						 quote_identifier(lids[i]->name), i);
		appendStringInfo(&okeys, "%so.%s AS \"__w_k%d\"", i ? ", " : "",
						 quote_identifier(lids[i]->name), i);
	}
	for (int i = 0; i < w->nattrs; i++)
	{
		const char *cast;

		appendStringInfo(&inner, ", %s AS \"__w_%d\"", diffsync_writer_value_sql(w->attrs[i]), i);
		appendStringInfo(&cols, ", %s", quote_identifier(w->attrs[i]->column));
		appendStringInfo(&vals, ", w.\"__w_%d\"", i);
		appendStringInfo(&sets, "%s%s = w.\"__w_%d\"", i ? ", " : "",
						 quote_identifier(w->attrs[i]->column), i);
		cast = diffsync_compare_cast(w->attrs[i]->type);
		appendStringInfo(&cur, "%sr.%s%s", i ? ", " : "", quote_identifier(w->attrs[i]->column), cast);
		appendStringInfo(&newv, "%sw.\"__w_%d\"%s", i ? ", " : "", i, cast);
	}
	appendStringInfo(&inner, " FROM (%s) m", n_rows);

	diffsync_applying_push(run->engine);
	PG_TRY();
	{
		/*
		 * Key filters on the written relation alone (see
		 * diffsync_writer_key_filter), for views and foreign tables; a table
		 * is joined to the transition table, whose size the planner knows,
		 * and an index probe per key would cost more at scale.
		 */
		char	   *old_keys = table ? "" :
			diffsync_writer_key_filter(w, "SELECT o.", psprintf(" FROM (%s) o", o_rows));
		char	   *new_keys = table ? "" :
			diffsync_writer_key_filter(w, "SELECT o.", psprintf(" FROM (%s) o", n_rows));
		char	   *del = has_old ?
			psprintf("DELETE FROM %s r USING (SELECT %s FROM (%s) o) m WHERE %s%s AND NOT EXISTS "
					 "(SELECT 1 FROM (%s) n WHERE %s)",
					 w->a->relname, okeys.data, o_rows, diffsync_writer_match_sql(w, "m"), old_keys,
					 has_new ? n_rows : diffsync_adapter_select_from(live, TRIGGER_OLD, "false", false),
					 keys.data) : NULL;
		char	   *upd = (has_new && w->nattrs > 0) ?
			psprintf("UPDATE %s r SET %s FROM (%s) w WHERE %s%s AND ROW(%s) IS DISTINCT FROM ROW(%s)",
					 w->a->relname, sets.data, inner.data,
					 diffsync_writer_match_sql(w, "w"), new_keys, cur.data, newv.data) : NULL;
		char	   *ins = has_new ?
			psprintf("INSERT INTO %s AS r (%s) SELECT %s FROM (%s) w WHERE NOT EXISTS "
					 "(SELECT 1 FROM %s r WHERE %s%s)",
					 w->a->relname, cols.data, vals.data, inner.data,
					 w->a->relname, diffsync_writer_match_sql(w, "w"), new_keys) : NULL;

		if (del && SPI_execute(del, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "live delete through adapter \"%s\" failed", w->a->name);
		if (has_new && table)
		{
			/* one join for both: update what differs, insert what is missing */
			if (SPI_execute(psprintf("MERGE INTO %s r USING (%s) w ON %s "
									 "%s WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)",
									 w->a->relname, inner.data, diffsync_writer_match_sql(w, "w"),
									 w->nattrs > 0 ?
									 psprintf("WHEN MATCHED AND ROW(%s) IS DISTINCT FROM ROW(%s) THEN UPDATE SET %s",
											  cur.data, newv.data, sets.data) : "",
									 cols.data, vals.data),
							false, 0) != SPI_OK_MERGE)
				elog(ERROR, "live merge through adapter \"%s\" failed", w->a->name);
		}
		else if (has_new)
		{
			/* MERGE cannot write views or foreign tables: update, then insert */
			if (upd && SPI_execute(upd, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "live update through adapter \"%s\" failed", w->a->name);
			if (SPI_execute(ins, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "live insert through adapter \"%s\" failed", w->a->name);
		}
	}
	PG_FINALLY();
	{
		diffsync_applying_pop();
	}
	PG_END_TRY();

	if (history)
	{
		/*
		 * Both sides' versions from one reading of the statement's rows: the
		 * changed side's own (side 0), for the rows whose model row changed,
		 * and the written side's (side 1, derived), for every row: the
		 * writes above changed it where its previous version differs from
		 * the new row (see the view diffsync.history), which spares them
		 * returning what they wrote.
		 */
		int64		first = 0,
					last = 0,
					count = 0;
		bool		per_row = run->opts.notify && !run->opts.notify_per_statement;
		LiveNotify	ln = {run, live->name, pair->model};
		DsRowBuilder *rb = diffsync_row_builder(side_fields(pair, from_source),
												pair->nids + pair->nattrs, pair->nids);
		char	   *changes;

		if (rb)
		{
			/* typed fields: the model rows are built in C */
			changes = psprintf("WITH n AS (SELECT true AS \"__ds_p\", m.* FROM (%s) m), "
							   "o AS (SELECT true AS \"__ds_p\", m.* FROM (%s) m) "
							   "SELECT %s, %s FROM n FULL JOIN o ON %s",
							   has_new ? n_rows : diffsync_adapter_select_from(live, NULL, "false", false),
							   has_old ? o_rows : diffsync_adapter_select_from(live, NULL, "false", false),
							   diffsync_row_builder_columns(rb, "n"),
							   diffsync_row_builder_columns(rb, "o"),
							   ids_join(pair, "n", "o"));
		}
		else
			changes = psprintf("WITH %s SELECT " B_ROWS ", " OWN_ACTION " AS action, "
							   "CASE WHEN b.\"__ds_after\" IS NULL THEN 'delete' ELSE 'update' END AS other_action "
							   "FROM b",
							   statement_rows_ctes(pair, from_source, has_new, has_old));

		diffsync_history_record_sql(live->name, w->a->name, true, run->engine, changes, rb,
									0, NULL, NULL, per_row, live_notify_version, &ln,
									&first, &last, &count);
		if (run->opts.notify && !per_row && count > 0)
			diffsync_change_notify(&run->opts, run->engine, live->name, pair->model,
								   NULL, NULL, last, count);
		*own_done = true;
	}
	return true;
}

/*
 * Reconcile one statement on relation relid, whose rows before and after
 * are registered in this SPI connection as the relations diffsync_old and
 * diffsync_new (has_old, has_new).
 */
static void
live_reconcile_statement(const char *engine, Oid relid, bool has_new, bool has_old)
{
	SyncRun		run;
	DsPair	   *pair;
	int			guc_level;

	memset(&run, 0, sizeof(run));
	run.resultcxt = CurrentMemoryContext;

	/*
	 * No JIT for the statements run here: transition tables and key lists
	 * have no statistics, the planner's row estimates are wild, and
	 * compiling their plans costs more than running them (0.5 s of a
	 * 100,000-row UPDATE).  Undone below, or by the abort on error.
	 */
	guc_level = NewGUCNestLevel();
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/* FOR SHARE: live changes of many transactions, never during a batch sync */
	load_engine(&run, engine, "FOR SHARE", NULL);
	run.use_base = (run.dir == DS_BIDIRECTIONAL);
	run.skip_counts = true;
	/* a statement's keys are few: bucket checksums would read whole tables */
	run.opts.buckets = 0;
	diffsync_sync_prepare(&run);
	pair = live_setup(&run, relid, has_new, has_old);
	if (pair != NULL)
	{
		bool		own_done = false;

		live_check_unique(pair, run.live_side == 1 ? pair->src : pair->dst, has_new);
		if (!live_fast_path(&run, pair, has_new, has_old, &own_done))
			diffsync_sync_execute(&run);
		if (!own_done)
			live_own_changes(&run, pair,
							 statement_changes(pair, run.live_side == 1, has_new, has_old));
	}
	AtEOXact_GUC(true, guc_level);
}

/*
 * TRUNCATE has no transition tables: the BEFORE TRUNCATE trigger keeps the
 * rows of the relation (while they are still there) in a tuplestore, which
 * the AFTER TRUNCATE trigger of the same statement takes, registers as
 * diffsync_old and reconciles as the DELETE of every row the statement is,
 * there and then; the rows are freed right after.
 *
 * A capture lives between the two triggers of one statement.  Its memory is
 * in TopTransactionContext and its temporary file (past work_mem) belongs to
 * the transaction's resource owner, so nothing that ends in between (a
 * nested statement, a subtransaction) closes it under it.  A subtransaction
 * that aborts frees the captures made in it; one whose AFTER trigger never
 * fired (disabled on its own) is freed with a warning at the next TRUNCATE
 * of its table or at commit.
 */
typedef struct TruncateCapture
{
	char	   *engine;
	Oid			relid;
	char	   *relname;
	SubTransactionId subxid;	/* made in this subtransaction */
	TimestampTz stmt;			/* by the statement that started then */
	TupleDesc	desc;
	Tuplestorestate *rows;
} TruncateCapture;

static List *truncate_captures = NIL;
static bool truncate_callback_registered = false;

static void
free_capture(TruncateCapture *c)
{
	tuplestore_end(c->rows);
	if (c->desc)
		FreeTupleDesc(c->desc);
	pfree(c->engine);
	pfree(c->relname);
	pfree(c);
}

static void
warn_unreconciled(TruncateCapture *c)
{
	ereport(WARNING,
			(errmsg("TRUNCATE of %s was not reconciled by engine \"%s\": its AFTER TRUNCATE trigger did not fire",
					c->relname, c->engine),
			 errhint("Enable the engine's triggers (or detach and attach it again), then run diffsync.sync_engine.")));
}

static void
truncate_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		while (truncate_captures != NIL)
		{
			TruncateCapture *c = linitial(truncate_captures);

			truncate_captures = list_delete_first(truncate_captures);
			warn_unreconciled(c);
			free_capture(c);
		}
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
			 event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
			 event == XACT_EVENT_PREPARE)
		truncate_captures = NIL;	/* memory and files go with the transaction */
}

/*
 * A subtransaction that aborts frees the captures made since it began.
 * (This runs in the abort's own memory context: the list is changed in
 * place, nothing is allocated.)
 */
static void
truncate_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	foreach(lc, truncate_captures)
	{
		TruncateCapture *c = lfirst(lc);

		if (c->subxid >= mySubid)
		{
			truncate_captures = foreach_delete_current(truncate_captures, lc);
			free_capture(c);
		}
	}
}

/* Take (and forget) the capture of engine on relid, or NULL. */
static TruncateCapture *
take_capture(const char *engine, Oid relid)
{
	ListCell   *lc;

	foreach(lc, truncate_captures)
	{
		TruncateCapture *c = lfirst(lc);

		if (c->relid == relid && strcmp(c->engine, engine) == 0)
		{
			truncate_captures = foreach_delete_current(truncate_captures, lc);
			return c;
		}
	}
	return NULL;
}

static void
live_truncate(TriggerData *trigdata)
{
	const char *engine = trigdata->tg_trigger->tgargs[0];
	Relation	rel = trigdata->tg_relation;
	Oid			relid = RelationGetRelid(rel);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (TRIGGER_FIRED_BEFORE(trigdata->tg_event))
	{
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;
		TruncateCapture *c;
		TruncateCapture *stale;
		Portal		portal;

		/*
		 * The rows read here must be all the rows TRUNCATE removes: under
		 * row-level security the caller would see only some of them.
		 */
		if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot reconcile TRUNCATE of %s for engine \"%s\": row-level security hides rows from the current user",
							RelationGetRelationName(rel), engine),
					 errhint("Use DELETE, which is reconciled row by row, or TRUNCATE as a role that bypasses row-level security.")));
		if (!truncate_callback_registered)
		{
			RegisterXactCallback(truncate_xact_callback, NULL);
			RegisterSubXactCallback(truncate_subxact_callback, NULL);
			truncate_callback_registered = true;
		}
		/* an earlier TRUNCATE of it whose AFTER trigger did not fire */
		stale = take_capture(engine, relid);
		if (stale)
		{
			warn_unreconciled(stale);
			free_capture(stale);
		}
		portal = SPI_cursor_open_with_args(NULL,
										   psprintf("SELECT * FROM %s%s",
													/* a table's own rows (inheritance children fire their own triggers) */
													rel->rd_rel->relkind == RELKIND_RELATION ? "ONLY " : "",
													quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
																			   RelationGetRelationName(rel))),
										   0, NULL, NULL, NULL, true, 0);
		MemoryContextSwitchTo(TopTransactionContext);
		c = palloc0(sizeof(TruncateCapture));
		c->engine = pstrdup(engine);
		c->relid = relid;
		c->relname = pstrdup(RelationGetRelationName(rel));
		c->subxid = GetCurrentSubTransactionId();
		c->stmt = GetCurrentStatementStartTimestamp();
		/* the tuplestore's file, when it spills, is the transaction's */
		CurrentResourceOwner = TopTransactionResourceOwner;
		c->rows = tuplestore_begin_heap(false, false, work_mem);
		CurrentResourceOwner = owner;
		truncate_captures = lappend(truncate_captures, c);
		MemoryContextSwitchTo(cxt);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 1000);
			if (c->desc == NULL)
			{
				MemoryContextSwitchTo(TopTransactionContext);
				c->desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
				MemoryContextSwitchTo(cxt);
			}
			if (SPI_processed == 0)
				break;
			for (uint64 i = 0; i < SPI_processed; i++)
				tuplestore_puttuple(c->rows, SPI_tuptable->vals[i]);
			SPI_freetuptable(SPI_tuptable);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
	}
	else
	{
		/* taken off the list first: nothing nested can reach it */
		TruncateCapture *c = take_capture(engine, relid);

		/*
		 * An earlier statement's (this one's BEFORE trigger did not fire):
		 * told apart by the statement's start time, so only across
		 * statements of the client; disabling one of an engine's triggers
		 * alone is not supported (detach, or disable them all).
		 */
		if (c != NULL && c->stmt != GetCurrentStatementStartTimestamp())
		{
			warn_unreconciled(c);
			free_capture(c);
			c = NULL;
		}
		if (c != NULL)
		{
			/* on error the transaction (or subtransaction) frees it */
			PG_TRY();
			{
				EphemeralNamedRelation enr = palloc0(sizeof(EphemeralNamedRelationData));

				enr->md.name = TRIGGER_OLD;
				enr->md.reliddesc = InvalidOid;
				enr->md.tupdesc = c->desc;
				enr->md.enrtype = ENR_NAMED_TUPLESTORE;
				enr->md.enrtuples = tuplestore_tuple_count(c->rows);
				enr->reldata = c->rows;
				if (SPI_register_relation(enr) != SPI_OK_REL_REGISTER)
					elog(ERROR, "could not register the rows of %s before TRUNCATE", c->relname);
				live_reconcile_statement(engine, relid, false, true);
			}
			PG_CATCH();
			{
				/* back on the list, for the abort to free with its subtransaction */
				MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

				truncate_captures = lappend(truncate_captures, c);
				MemoryContextSwitchTo(old);
				PG_RE_THROW();
			}
			PG_END_TRY();
			free_capture(c);
		}
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(diffsync_live_reconcile);

/*
 * The trigger function of attach(): AFTER INSERT, UPDATE or DELETE FOR
 * EACH STATEMENT, with transition tables; argument: the engine's name.
 */
Datum
diffsync_live_reconcile(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		trigdata->tg_trigger->tgnargs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("diffsync.live_reconcile must be attached with diffsync.attach")));

	/* an engine's own writes are never reconciled back by it */
	if (diffsync_is_applying(trigdata->tg_trigger->tgargs[0]))
		return PointerGetDatum(NULL);

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		live_truncate(trigdata);
		return PointerGetDatum(NULL);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "could not register the transition tables");
	live_reconcile_statement(trigdata->tg_trigger->tgargs[0], RelationGetRelid(trigdata->tg_relation),
							 trigdata->tg_newtable != NULL, trigdata->tg_oldtable != NULL);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* Relations an engine's changes come from: each side its direction reads from. */
static List *
watched_relations(SyncRun *run)
{
	List	   *rels = NIL;
	ListCell   *lc;

	foreach(lc, run->pairs)
	{
		DsPair	   *p = lfirst(lc);

		if (run->dir != DS_TARGET_TO_SOURCE)
			rels = lappend(rels, p->src);
		if (run->dir != DS_SOURCE_TO_TARGET)
			rels = lappend(rels, p->dst);
	}
	return rels;
}

/*
 * In the PG_CATCH of an internal subtransaction begun in memory context cxt
 * under resource owner owner: roll it back, be back there, and return the
 * error (to rethrow or to look at).
 */
static ErrorData *
subxact_abort(MemoryContext cxt, ResourceOwner owner)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return edata;
}

/*
 * Lock relations relids[i] in modes[i] without ever waiting for one while
 * holding another: all but one are tried without waiting, in a
 * subtransaction; when one is busy, the subtransaction gives back what it
 * took and the next round waits for that one alone.  So attach and detach
 * cannot deadlock with writers that lock the same tables in another order
 * (a writer holding one table and wanting another just proceeds, and attach
 * waits for it to finish).  Must run before anything else of the statement
 * locks those relations.  statement_timeout, lock_timeout and cancel end
 * the wait with the subtransaction rolled back, as any error would.
 */
static void
lock_relations(int n, const Oid *relids, const LOCKMODE *modes)
{
	volatile int wait_for = -1;	/* live across PG_TRY */

	for (;;)
	{
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;
		volatile int busy = -1;	/* set in PG_TRY, read after it */

		CHECK_FOR_INTERRUPTS();
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			if (wait_for >= 0)
				LockRelationOid(relids[wait_for], modes[wait_for]);
			for (int i = 0; i < n && busy < 0; i++)
				if (i != wait_for && !ConditionalLockRelationOid(relids[i], modes[i]))
					busy = i;
		}
		PG_CATCH();
		{
			ReThrowError(subxact_abort(cxt, owner));
		}
		PG_END_TRY();
		if (busy < 0)
		{
			/* all held: they pass to the enclosing transaction */
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			return;
		}
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		wait_for = busy;
	}
}

/*
 * Lock the relations of every adapter of an engine (the trees of its source
 * and target), before anything opens them: the ones it watches in mode
 * watched_mode, the others ACCESS SHARE (what reading them takes).
 */
static void
lock_engine_relations(const char *engine, LOCKMODE watched_mode)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	Oid		   *relids;
	LOCKMODE   *modes;
	int			n;

	args[0] = CStringGetTextDatum(engine);
	if (diffsync_owner_execute("WITH RECURSIVE e AS (SELECT source, target, direction FROM " DIFFSYNC_SCHEMA ".engine "
							   "WHERE name OPERATOR(pg_catalog.=) $1), "
							   "t(name, relation, watched) AS ("
							   "SELECT a.name, a.relation, "
							   "CASE WHEN a.name OPERATOR(pg_catalog.=) e.source "
							   "THEN e.direction OPERATOR(pg_catalog.<>) 'target_to_source' "
							   "ELSE e.direction OPERATOR(pg_catalog.<>) 'source_to_target' END "
							   "FROM " DIFFSYNC_SCHEMA ".adapter a, e WHERE a.name IN (e.source, e.target) "
							   "UNION ALL SELECT a.name, a.relation, t.watched FROM " DIFFSYNC_SCHEMA ".adapter a "
							   "JOIN t ON a.parent OPERATOR(pg_catalog.=) t.name) "
							   "SELECT t.relation::pg_catalog.oid, pg_catalog.bool_or(t.watched) FROM t "
							   "GROUP BY 1 ORDER BY 1",
							   1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the adapters of engine \"%s\"", engine);
	n = (int) SPI_processed;
	relids = palloc(sizeof(Oid) * Max(n, 1));
	modes = palloc(sizeof(LOCKMODE) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		relids[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		modes[i] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull)) ?
			watched_mode : AccessShareLock;
	}
	lock_relations(n, relids, modes);
}

PG_FUNCTION_INFO_V1(diffsync_attach);

/*
 * diffsync.attach(engine) -- install the live triggers of an engine on the
 * relations its changes come from.
 */
Datum
diffsync_attach(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SyncRun		run;
	ListCell   *lc;
	static const char *const ops[5][3] = {
		{"ins", "AFTER INSERT", "REFERENCING NEW TABLE AS " TRIGGER_NEW},
		{"upd", "AFTER UPDATE", "REFERENCING OLD TABLE AS " TRIGGER_OLD " NEW TABLE AS " TRIGGER_NEW},
		{"del", "AFTER DELETE", "REFERENCING OLD TABLE AS " TRIGGER_OLD},
		{"btr", "BEFORE TRUNCATE", ""},
		{"trn", "AFTER TRUNCATE", ""},
	};

	memset(&run, 0, sizeof(run));
	run.resultcxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* CREATE TRIGGER's lock on the watched tables, all taken first */
	lock_engine_relations(name, ShareRowExclusiveLock);
	load_engine(&run, name, "", NULL);
	diffsync_sync_prepare(&run);

	foreach(lc, watched_relations(&run))
	{
		DsAdapter  *a = lfirst(lc);

		if (a->relkind != RELKIND_RELATION && a->relkind != RELKIND_PARTITIONED_TABLE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot attach engine \"%s\": %s of adapter \"%s\" is not a table",
							name, a->relname, a->name),
					 errdetail("Live reconciliation uses statement triggers with transition tables, which only tables have."),
					 errhint("Run diffsync.sync_engine on a schedule for views and foreign tables.")));
		{
			Oid			targtypes[2] = {OIDOID, TEXTOID};
			Datum		targs[2];

			targs[0] = ObjectIdGetDatum(a->relid);
			targs[1] = CStringGetTextDatum(name);
			if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) $1 "
									  "AND " ENGINE_TRIGGER("$2"), 2, targtypes, targs, NULL, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not look up the triggers of %s", a->relname);
		}
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("engine \"%s\" is already attached to %s", name, a->relname)));
		for (int i = 0; i < lengthof(ops); i++)
		{
			char	   *sql = psprintf("CREATE TRIGGER %s %s ON %s %s FOR EACH STATEMENT "
									   "EXECUTE FUNCTION " DIFFSYNC_SCHEMA ".live_reconcile(%s)",
									   quote_identifier(trigger_name(name, ops[i][0])), ops[i][1],
									   a->relname, ops[i][2], quote_literal_cstr(name));

			if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
				elog(ERROR, "could not create a trigger on %s", a->relname);
		}
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * diffsync_drop_engine_triggers
 *		Drop the live triggers of engine wherever they are; returns how
 *		many.  Inside SPI.
 */
int
diffsync_drop_engine_triggers(const char *engine)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	List	   *drops = NIL;
	List	   *relids = NIL;
	ListCell   *lc;

	args[0] = CStringGetTextDatum(engine);
	if (SPI_execute_with_args("SELECT pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::pg_catalog.regclass), t.tgrelid "
							  "FROM pg_catalog.pg_trigger t WHERE " ENGINE_TRIGGER("$1"),
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look up the triggers of engine \"%s\"", engine);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		drops = lappend(drops, pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
		relids = list_append_unique_oid(relids,
										DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	   SPI_tuptable->tupdesc, 2, &isnull)));
	}
	/* DROP TRIGGER's lock, taken for all of them first */
	{
		int			n = list_length(relids);
		Oid		   *oids = palloc(sizeof(Oid) * Max(n, 1));
		LOCKMODE   *modes = palloc(sizeof(LOCKMODE) * Max(n, 1));
		int			i = 0;

		foreach(lc, relids)
		{
			oids[i] = lfirst_oid(lc);
			modes[i++] = AccessExclusiveLock;
		}
		lock_relations(n, oids, modes);
	}
	foreach(lc, drops)
		if (SPI_execute(lfirst(lc), false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not drop a trigger of engine \"%s\"", engine);
	return list_length(drops);
}

PG_FUNCTION_INFO_V1(diffsync_detach);

/*
 * diffsync.detach(engine) -- remove the live triggers of an engine.
 */
Datum
diffsync_detach(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SyncRun		run;

	memset(&run, 0, sizeof(run));
	run.resultcxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	load_engine(&run, name, "", NULL);	/* errors when there is no such engine */
	if (diffsync_drop_engine_triggers(name) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("engine \"%s\" is not attached", name)));
	SPI_finish();
	PG_RETURN_VOID();
}
