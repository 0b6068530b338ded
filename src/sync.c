/*-------------------------------------------------------------------------
 *
 * sync.c
 *	  The sync engine: decide, for each differing key, what each side gets
 *	  (direction, base state, conflict strategy), write it through batched
 *	  writers, and report: diffsync.sync() and the shared run used by
 *	  diffsync.sync_engine().
 *
 * Flow of one run, per model level (parents before children):
 *	 diff statement (cursor, batches) -> decide per key -> queue writes ->
 *	 flush batches.  Deletes of a level with child levels wait until the end
 *	 and run children first, so foreign keys between the tables hold.
 *
 * Decisions (see README for the table):
 *	 - a key on one side only is created on the other side, or deleted from
 *	   the written side, by direction and skip_unmatched_*; with a base (a
 *	   bidirectional engine) a key that was synced before and has vanished
 *	   on one side was deleted there, and the deletion propagates unless the
 *	   other side changed it (then it is a delete/modify conflict);
 *	 - attributes that differ: with a base, a change made on one side only
 *	   propagates; everything else is a conflict settled by the strategy.
 *
 * Everything runs in the caller's transaction with the caller's privileges:
 * an error anywhere rolls the whole sync back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"

#include "diffsync.h"
#include "sync.h"

/* How one attribute (or the path section) of a key is settled */
typedef enum Take
{
	TAKE_NOTHING,				/* equal, or left as it is */
	TAKE_SOURCE,				/* the target gets the source value */
	TAKE_TARGET,				/* the source gets the target value */
	TAKE_VALUE,					/* both get a merged or resolver value */
	TAKE_QUEUE					/* queued for a person: the key is untouched */
} Take;

static const char *const direction_names[] = {
	"source_to_target", "target_to_source", "bidirectional"
};
static const char *const strategy_names[] = {
	"source_wins", "target_wins", "last_update_wins", "merge", "manual"
};

/*
 * diffsync_parse_direction / diffsync_parse_strategy
 *		Read a direction or strategy name; unknown names are errors.
 */
DsDirection
diffsync_parse_direction(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, direction_names[i]) == 0)
			return (DsDirection) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unrecognized sync direction \"%s\"", s),
			 errhint("Valid directions are \"source_to_target\", \"target_to_source\" and \"bidirectional\".")));
	return DS_SOURCE_TO_TARGET;	/* keep compiler quiet */
}

DsStrategy
diffsync_parse_strategy(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(s, strategy_names[i]) == 0)
			return (DsStrategy) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unrecognized conflict strategy \"%s\"", s),
			 errhint("Valid strategies are \"source_wins\", \"target_wins\", \"last_update_wins\", \"merge\" and \"manual\".")));
	return DS_SOURCE_WINS;		/* keep compiler quiet */
}

const char *
diffsync_direction_name(DsDirection d)
{
	return direction_names[d];
}

const char *
diffsync_strategy_name(DsStrategy s)
{
	return strategy_names[s];
}

/*
 * diffsync_lookup_function
 *		The function name(jsonb), or InvalidOid when there is none; a name
 *		that does not even parse as a function name counts as none.
 */
Oid
diffsync_lookup_function(const char *name)
{
	Oid			argtypes[1] = {JSONBOID};
	Oid			fn = InvalidOid;
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		fn = LookupFuncName(stringToQualifiedNameList(name), 1, argtypes, true);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		fn = InvalidOid;
	}
	PG_END_TRY();
	return fn;
}

/*
 * diffsync_lookup_resolver
 *		Find resolver function name(jsonb) RETURNS jsonb that the caller may
 *		execute, and set up finfo to call it.
 */
void
diffsync_lookup_resolver(const char *name, FmgrInfo *finfo)
{
	Oid			fn = diffsync_lookup_function(name);
	AclResult	aclresult;

	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("resolver function %s(jsonb) does not exist", name),
				 errhint("A resolver takes the conflict as jsonb and returns the value to use as jsonb.")));
	if (get_func_rettype(fn) != JSONBOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("resolver function %s must return jsonb", name)));
	aclresult = pg_proc_aclcheck(fn, GetUserId(), ACL_EXECUTE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FUNCTION, name);
	fmgr_info(fn, finfo);
}

/* Call the resolver on a conflict; NULL when it returns SQL NULL. */
static Jsonb *
call_resolver(FmgrInfo *finfo, Jsonb *conflict)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		d;

	InitFunctionCallInfoData(*fcinfo, finfo, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = JsonbPGetDatum(conflict);
	fcinfo->args[0].isnull = false;
	d = FunctionCallInvoke(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return DatumGetJsonbPCopy(d);
}

/* Push "name": value (JSON null when value is NULL). */
static void
push_member(JsonbParseState **st, const char *name, const JsonbValue *value)
{
	JsonbValue	null_value;

	null_value.type = jbvNull;
	diffsync_push_cstring(st, WJB_KEY, name);
	pushJsonbValue(st, WJB_VALUE, (JsonbValue *) (value ? value : &null_value));
}

/* Push "name": timestamp string, or null. */
static void
push_timestamp(JsonbParseState **st, const char *name, bool isnull, TimestampTz ts)
{
	if (isnull)
	{
		push_member(st, name, NULL);
		return;
	}
	diffsync_push_cstring(st, WJB_KEY, name);
	diffsync_push_cstring(st, WJB_VALUE, pstrdup(timestamptz_to_str(ts)));
}

/* The value of field name in a model row (NULL when the row or field is absent). */
static JsonbValue *
row_get(Jsonb *row, const char *name, JsonbValue *out)
{
	JsonbValue	root;

	if (row == NULL)
		return NULL;
	diffsync_jsonb_root(row, &root);
	return diffsync_object_get(&root, name, strlen(name), out) ? out : NULL;
}

/*
 * The compared value of attribute i of a model row: the attribute, or with
 * a path option its section (NULL when absent).
 */
static JsonbValue *
row_value(SyncRun *run, DsPair *pair, Jsonb *row, int i, JsonbValue *out)
{
	JsonbValue	attr;

	if (row_get(row, pair->sattrs[i]->name, &attr) == NULL)
		return NULL;
	if (i != pair->path_attr || run->opts.path_len <= 1)
	{
		*out = attr;
		return out;
	}
	if (attr.type == jbvNull)
		return NULL;
	return diffsync_value_get_path(&attr, run->opts.path_segs + 1,
								   run->opts.path_len - 1, out) ? out : NULL;
}

static bool
values_equal(const JsonbValue *a, const JsonbValue *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return diffsync_values_equal(a, b);
}

/* Do rows x and y agree on every compared attribute (or the section)? */
static bool
rows_agree(SyncRun *run, DsPair *pair, Jsonb *x, Jsonb *y)
{
	for (int i = 0; i < pair->nattrs; i++)
	{
		JsonbValue	xv,
					yv;

		if (pair->path_attr >= 0 && i != pair->path_attr)
			continue;
		if (!values_equal(row_value(run, pair, x, i, &xv), row_value(run, pair, y, i, &yv)))
			return false;
	}
	return true;
}

/*
 * Build the conflict object the result lists, the queue stores and the
 * resolver receives.
 */
static Jsonb *
conflict_object(SyncRun *run, DsPair *pair, DsDiffRow *row, int attr,
				const char *kind, const JsonbValue *bv, const JsonbValue *sv,
				const JsonbValue *tv, const char *resolution)
{
	JsonbParseState *st = NULL;
	JsonbValue	key;
	JsonbValue	v;

	diffsync_jsonb_root(row->key, &key);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_cstring(&st, WJB_KEY, "model");
	diffsync_push_cstring(&st, WJB_VALUE, pair->model);
	push_member(&st, "key", &key);
	diffsync_push_cstring(&st, WJB_KEY, "kind");
	diffsync_push_cstring(&st, WJB_VALUE, kind);
	if (attr >= 0)
	{
		diffsync_push_cstring(&st, WJB_KEY, "attribute");
		diffsync_push_cstring(&st, WJB_VALUE, pair->sattrs[attr]->name);
		diffsync_push_cstring(&st, WJB_KEY, "path");
		if (attr == pair->path_attr)
			diffsync_push_cstring(&st, WJB_VALUE, run->opts.path);
		else
		{
			StringInfoData p;

			initStringInfo(&p);
			appendStringInfoChar(&p, '/');
			diffsync_pointer_escape(&p, pair->sattrs[attr]->name, strlen(pair->sattrs[attr]->name));
			diffsync_push_cstring(&st, WJB_VALUE, p.data);
		}
		diffsync_push_cstring(&st, WJB_KEY, "field_type");
		diffsync_push_cstring(&st, WJB_VALUE, format_type_be(pair->sattrs[attr]->type));
	}
	else
	{
		push_member(&st, "attribute", NULL);
		diffsync_push_cstring(&st, WJB_KEY, "path");
		diffsync_push_cstring(&st, WJB_VALUE, "");
		diffsync_push_cstring(&st, WJB_KEY, "field_type");
		diffsync_push_cstring(&st, WJB_VALUE, "row");
	}
	push_member(&st, "base_value", bv);
	push_member(&st, "source_value", sv);
	push_member(&st, "target_value", tv);
	push_timestamp(&st, "source_timestamp", row->src_ts_null, row->src_ts);
	push_timestamp(&st, "target_timestamp", row->dst_ts_null, row->dst_ts);
	if (resolution)
	{
		diffsync_push_cstring(&st, WJB_KEY, "resolution");
		diffsync_push_cstring(&st, WJB_VALUE, resolution);
	}
	else
		push_member(&st, "resolution", NULL);
	(void) v;
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/* Record a settled conflict: count it, list it (up to max_conflicts). */
static void
record_conflict(SyncRun *run, Jsonb *conflict)
{
	run->nconflicts++;
	if (run->nlisted < run->opts.max_conflicts)
	{
		JsonbValue	v;
		MemoryContext old = MemoryContextSwitchTo(run->resultcxt);
		Jsonb	   *copy = palloc(VARSIZE(conflict));

		/* the parse state keeps pointers into it: copy to result memory */
		memcpy(copy, conflict, VARSIZE(conflict));
		diffsync_jsonb_root(copy, &v);
		pushJsonbValue(&run->conflicts_js, WJB_ELEM, &v);
		MemoryContextSwitchTo(old);
		run->nlisted++;
	}
}

/* Queue a conflict in diffsync.conflicts. */
static void
queue_conflict(SyncRun *run, DsPair *pair, DsDiffRow *row, Jsonb *conflict)
{
	Oid			argtypes[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID};
	Datum		args[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	run->nqueued++;
	if (run->opts.dry_run)
		return;
	if (run->queue_plan == NULL)
	{
		run->queue_plan = diffsync_owner_prepare("INSERT INTO " DIFFSYNC_SCHEMA ".conflicts "
									  "(sync_id, engine, source, target, direction, model, key, conflict) "
									  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
									  "ON CONFLICT (source, target, model, key, "
									  "(COALESCE(conflict OPERATOR(pg_catalog.->>) 'attribute', ''))) "
									  "WHERE status OPERATOR(pg_catalog.=) 'open' "
									  "DO UPDATE SET conflict = EXCLUDED.conflict, sync_id = EXCLUDED.sync_id "
									  "RETURNING conflict_id", 8, argtypes);
		if (run->queue_plan == NULL)
			elog(ERROR, "could not prepare the conflict queue insert");
	}
	args[0] = Int64GetDatum(run->sync_id);
	args[1] = run->engine ? CStringGetTextDatum(run->engine) : (Datum) 0;
	nulls[1] = run->engine ? ' ' : 'n';
	args[2] = CStringGetTextDatum(run->source);
	args[3] = CStringGetTextDatum(run->target);
	args[4] = CStringGetTextDatum(direction_names[run->dir]);
	args[5] = CStringGetTextDatum(pair->model);
	args[6] = JsonbPGetDatum(row->key);
	args[7] = JsonbPGetDatum(conflict);
	rc = diffsync_owner_execute_plan(run->queue_plan, args, nulls, false, 0);
	if ((rc != SPI_OK_INSERT_RETURNING && rc != SPI_OK_UPDATE_RETURNING) || SPI_processed != 1)
		elog(ERROR, "could not queue a conflict: %s", SPI_result_code_string(rc));
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		diffsync_conflict_notify(&run->opts, "conflict", id, run->engine, pair->model,
								 row->key, NULL);
	}
}

/* Row-level last update wins: does the source row win? (ties: source) */
static bool
source_is_newer(SyncRun *run, DsDiffRow *row)
{
	/* a change being made right now is newer than anything committed */
	if (run->live_side)
		return run->live_side == 1;
	if (row->dst_ts_null)
		return true;
	if (row->src_ts_null)
		return false;
	return row->src_ts >= row->dst_ts;
}

/*
 * Build a model row from the ids of key row idrow and per-attribute values
 * (NULL entries: JSON null).  With a path option, attribute values given
 * are sections and are set into the attribute of baserow.
 */
static Jsonb *
build_row(SyncRun *run, DsPair *pair, Jsonb *idrow, Jsonb *baserow,
		  JsonbValue **values)
{
	JsonbParseState *st = NULL;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < pair->nids; i++)
	{
		JsonbValue	v;

		push_member(&st, pair->sids[i]->name, row_get(idrow, pair->sids[i]->name, &v));
	}
	for (int i = 0; i < pair->nattrs; i++)
	{
		JsonbValue	whole;

		if (pair->path_attr >= 0 && i != pair->path_attr)
		{
			/* outside the synced section: the row keeps its own value */
			push_member(&st, pair->sattrs[i]->name, row_get(baserow, pair->sattrs[i]->name, &whole));
			continue;
		}
		if (i == pair->path_attr && run->opts.path_len > 1)
		{
			/* set the section inside the row's current attribute value */
			JsonbValue *cur = row_get(baserow, pair->sattrs[i]->name, &whole);
			Jsonb	   *attr = diffsync_set_section(cur, run->opts.path_segs + 1,
													run->opts.path_len - 1, values[i]);
			JsonbValue	av;

			diffsync_jsonb_root(attr, &av);
			push_member(&st, pair->sattrs[i]->name, &av);
			continue;
		}
		push_member(&st, pair->sattrs[i]->name, values[i]);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/* Has the level a child level (so its deletes must wait)? */
static bool
pair_has_children(SyncRun *run, int index)
{
	ListCell   *lc;

	foreach(lc, run->pairs)
		if (((DsPair *) lfirst(lc))->parent == index)
			return true;
	return false;
}

/*
 * Queue a write (old: the row it replaces) and count it.  A one-way sync
 * never writes the side it reads from, whatever a strategy decided.
 */
static void
sync_write(SyncRun *run, bool to_source, DsWriteOp op, Jsonb *row, Jsonb *old)
{
	DsWriter   *w = to_source ? run->wsrc[run->cur] : run->wdst[run->cur];

	if (to_source ? run->dir == DS_SOURCE_TO_TARGET : run->dir == DS_TARGET_TO_SOURCE)
	{
		run->nskip++;
		return;
	}

	diffsync_writer_add(w, op, row, old, op == DS_WRITE_DELETE && run->defer_deletes);
	run->changed_keys++;
}

/* Remember the base state of a key after the sync (engines only). */
static void
base_set(SyncRun *run, DsPair *pair, Jsonb *key, Jsonb *state)
{
	if (!run->use_base)
		return;
	diffsync_base_queue(run, pair, key, state);
}

/*
 * Settle a row-level conflict (a key deleted on one side and modified on
 * the other).  src_deleted tells which side deleted it.
 */
static void
sync_row_conflict(SyncRun *run, DsPair *pair, DsDiffRow *row, bool src_deleted)
{
	const char *kind = src_deleted ? "delete/modify" : "modify/delete";
	Jsonb	   *survivor = src_deleted ? row->dst : row->src;
	JsonbValue	bv,
				sv,
				tv;
	JsonbValue *b = NULL,
			   *s = NULL,
			   *t = NULL;
	bool		keep;			/* does the modified row survive? */
	const char *resolution;

	if (row->base)
	{
		diffsync_jsonb_root(row->base, &bv);
		b = &bv;
	}
	if (row->src)
	{
		diffsync_jsonb_root(row->src, &sv);
		s = &sv;
	}
	if (row->dst)
	{
		diffsync_jsonb_root(row->dst, &tv);
		t = &tv;
	}

	switch (run->strategy)
	{
		case DS_SOURCE_WINS:
			keep = !src_deleted;
			break;
		case DS_TARGET_WINS:
			keep = src_deleted;
			break;
		case DS_MANUAL:
			if (!run->has_resolver)
			{
				Jsonb	   *c = conflict_object(run, pair, row, -1, kind, b, s, t, "queued");

				record_conflict(run, c);
				queue_conflict(run, pair, row, c);
				return;
			}
			{
				Jsonb	   *r = call_resolver(&run->resolver,
											  conflict_object(run, pair, row, -1, kind, b, s, t, NULL));

				keep = (r != NULL);
				if (keep)
				{
					/* the resolver's object is the row to keep, on both sides */
					survivor = diffsync_row_from_object(run, pair, row->key, r);
				}
				record_conflict(run, conflict_object(run, pair, row, -1, kind, b, s, t, "custom"));
				goto apply;
			}
		default:
			if (run->live_side)
			{
				/* the change being made now is the newest: it wins */
				keep = src_deleted ? (run->live_side == 2) : (run->live_side == 1);
				break;
			}
			/* a deletion has no commit time to compare: the modification wins */
			keep = true;
			break;
	}
	resolution = (keep == !src_deleted) ? "source" : "target";
	record_conflict(run, conflict_object(run, pair, row, -1, kind, b, s, t, resolution));

apply:
	if (keep)
	{
		if (row->src == NULL)
			sync_write(run, true, DS_WRITE_INSERT, survivor, NULL);
		else if (survivor != row->src)
			sync_write(run, true, DS_WRITE_UPDATE, survivor, row->src);
		if (row->dst == NULL)
			sync_write(run, false, DS_WRITE_INSERT, survivor, NULL);
		else if (survivor != row->dst)
			sync_write(run, false, DS_WRITE_UPDATE, survivor, row->dst);
		base_set(run, pair, row->key, survivor);
	}
	else
	{
		if (row->src)
			sync_write(run, true, DS_WRITE_DELETE, row->src, row->src);
		if (row->dst)
			sync_write(run, false, DS_WRITE_DELETE, row->dst, row->dst);
		diffsync_base_forget(run, pair, row->key);
	}
}

/* A key present in one side only. */
static void
sync_unmatched(SyncRun *run, DsPair *pair, DsDiffRow *row)
{
	bool		in_src = (row->src != NULL);
	Jsonb	   *present = in_src ? row->src : row->dst;

	/*
	 * Synced before: the other side deleted it since.  Only where this side
	 * may be written: a one-way sync (a live one has the changed side's
	 * previous row as base) mirrors its source onto the side it writes.
	 */
	if (row->base &&
		(run->dir == DS_BIDIRECTIONAL ||
		 run->dir == (in_src ? DS_TARGET_TO_SOURCE : DS_SOURCE_TO_TARGET)))
	{
		if (rows_agree(run, pair, present, row->base))
		{
			sync_write(run, in_src, DS_WRITE_DELETE, present, present);
			diffsync_base_forget(run, pair, row->key);
			run->ndeleted[in_src ? 0 : 1]++;
		}
		else
			sync_row_conflict(run, pair, row, !in_src);
		return;
	}
	/* a section sync only touches keys both sides have */
	if (run->opts.path != NULL ||
		(in_src ? run->opts.skip_unmatched_src : run->opts.skip_unmatched_dst))
	{
		run->nskip++;
		return;
	}
	if (in_src)
	{
		if (run->dir != DS_TARGET_TO_SOURCE)
		{
			sync_write(run, false, DS_WRITE_INSERT, present, NULL);
			base_set(run, pair, row->key, present);
		}
		else
			sync_write(run, true, DS_WRITE_DELETE, present, present);
	}
	else
	{
		if (run->dir != DS_SOURCE_TO_TARGET)
		{
			sync_write(run, true, DS_WRITE_INSERT, present, NULL);
			base_set(run, pair, row->key, present);
		}
		else
			sync_write(run, false, DS_WRITE_DELETE, present, present);
	}
}

/*
 * Settle one attribute conflict by the strategy.  Sets *value for
 * TAKE_VALUE (NULL means JSON null).
 */
static Take
settle(SyncRun *run, DsPair *pair, DsDiffRow *row, int i, JsonbValue *bv,
	   JsonbValue *sv, JsonbValue *tv, JsonbValue **value)
{
	const char *kind = (bv == NULL && row->base == NULL) ? "modify/modify" : "modify/modify";
	Take		take;
	const char *resolution;

	switch (run->strategy)
	{
		case DS_SOURCE_WINS:
			take = TAKE_SOURCE;
			break;
		case DS_TARGET_WINS:
			take = TAKE_TARGET;
			break;
		case DS_LAST_UPDATE_WINS:
			take = source_is_newer(run, row) ? TAKE_SOURCE : TAKE_TARGET;
			break;
		case DS_MERGE:
			take = source_is_newer(run, row) ? TAKE_SOURCE : TAKE_TARGET;
			if (bv && sv && tv && pair->sattrs[i]->type == JSONBOID)
			{
				/* three-way jsonb merge; true conflicts inside go by last update */
				Jsonb	   *merged = diffsync_merge3_values(bv, sv, tv, take == TAKE_SOURCE);
				JsonbValue *mv = palloc(sizeof(JsonbValue));

				diffsync_jsonb_root(merged, mv);
				*value = mv;
				take = TAKE_VALUE;
			}
			break;
		case DS_MANUAL:
		default:
			if (run->has_resolver)
			{
				Jsonb	   *r = call_resolver(&run->resolver,
											  conflict_object(run, pair, row, i, kind, bv, sv, tv, NULL));

				if (r == NULL)
					take = TAKE_NOTHING;
				else
				{
					JsonbValue *rv = palloc(sizeof(JsonbValue));

					diffsync_jsonb_root(r, rv);
					*value = rv;
					take = TAKE_VALUE;
				}
				record_conflict(run, conflict_object(run, pair, row, i, kind, bv, sv, tv,
													 r ? "custom" : "skipped"));
				return take;
			}
			take = TAKE_QUEUE;
			break;
	}
	resolution = take == TAKE_SOURCE ? "source" : take == TAKE_TARGET ? "target" :
		take == TAKE_VALUE ? "merged" : "queued";
	{
		Jsonb	   *c = conflict_object(run, pair, row, i, kind, bv, sv, tv, resolution);

		record_conflict(run, c);
		if (take == TAKE_QUEUE)
			run->pending_queue = lappend(run->pending_queue, c);
	}
	return take;
}

/* A key present on both sides whose attributes differ. */
static void
sync_matched(SyncRun *run, DsPair *pair, DsDiffRow *row)
{
	int			n = pair->nattrs;
	JsonbValue **news = palloc0(sizeof(JsonbValue *) * Max(n, 1));
	JsonbValue **newt = palloc0(sizeof(JsonbValue *) * Max(n, 1));
	JsonbValue *svals = palloc(sizeof(JsonbValue) * Max(n, 1));
	JsonbValue *tvals = palloc(sizeof(JsonbValue) * Max(n, 1));
	JsonbValue *bvals = palloc(sizeof(JsonbValue) * Max(n, 1));
	bool		write_s = false,
				write_t = false,
				queued = false,
				skipped = false;
	bool		ws = run->dir != DS_SOURCE_TO_TARGET;
	bool		wt = run->dir != DS_TARGET_TO_SOURCE;

	run->pending_queue = NIL;
	for (int i = 0; i < n; i++)
	{
		JsonbValue *sv,
				   *tv,
				   *bv = NULL;
		JsonbValue *value = NULL;
		Take		take;

		if (pair->path_attr >= 0 && i != pair->path_attr)
			continue;
		sv = row_value(run, pair, row->src, i, &svals[i]);
		tv = row_value(run, pair, row->dst, i, &tvals[i]);
		news[i] = sv;
		newt[i] = tv;
		if (values_equal(sv, tv))
			continue;
		if (row->base)
			bv = row_value(run, pair, row->base, i, &bvals[i]);

		if (row->base && !values_equal(sv, bv) && values_equal(tv, bv))
			take = TAKE_SOURCE;
		else if (row->base && values_equal(sv, bv) && !values_equal(tv, bv))
			take = TAKE_TARGET;
		else
			take = settle(run, pair, row, i, bv, sv, tv, &value);

		switch (take)
		{
			case TAKE_SOURCE:
				if (wt)
				{
					newt[i] = sv;
					write_t = true;
				}
				else
					skipped = true;
				break;
			case TAKE_TARGET:
				if (ws)
				{
					news[i] = tv;
					write_s = true;
				}
				else
					skipped = true;
				break;
			case TAKE_VALUE:
				if (ws)
				{
					news[i] = value;
					write_s = true;
				}
				if (wt)
				{
					newt[i] = value;
					write_t = true;
				}
				if (!ws || !wt)
					skipped = true;
				break;
			case TAKE_QUEUE:
				queued = true;
				break;
			case TAKE_NOTHING:
				skipped = true;
				break;
		}
	}

	if (queued)
	{
		ListCell   *lc;

		/* a person decides: leave the key untouched on both sides */
		foreach(lc, run->pending_queue)
			queue_conflict(run, pair, row, lfirst(lc));
		return;
	}
	if (write_s)
		sync_write(run, true, DS_WRITE_UPDATE, build_row(run, pair, row->src, row->src, news), row->src);
	if (write_t)
		sync_write(run, false, DS_WRITE_UPDATE, build_row(run, pair, row->dst, row->dst, newt), row->dst);
	if (!write_s && !write_t)
		run->nunchanged_conflicts++;
	if (run->use_base && !skipped)
		base_set(run, pair, row->key, build_row(run, pair, row->dst, row->dst, newt));
}

/*
 * diffsync_sync_row
 *		Decide and queue the writes for one differing key of the current
 *		level.
 */
/* Has this side's row changed since the engine's last sync (NULL time: maybe)? */
static bool
changed_since_watermark(SyncRun *run, bool ts_null, TimestampTz ts)
{
	return ts_null || ts > run->watermark;
}

/*
 * A key with no base row in an engine that has synced before: the base is
 * what both sides held at the last sync.  A side whose row was last updated
 * before that sync still holds it, so its row is the base; when both sides
 * changed (or a time is unknown) there is no base and the strategy decides.
 * This is why an engine needs no base row for the keys it never wrote.
 */
static void
watermark_base(SyncRun *run, DsDiffRow *row)
{
	bool		s_changed = row->src && changed_since_watermark(run, row->src_ts_null, row->src_ts);
	bool		t_changed = row->dst && changed_since_watermark(run, row->dst_ts_null, row->dst_ts);

	if (row->src && row->dst)
	{
		if (!s_changed && t_changed)
			row->base = row->src;
		else if (s_changed && !t_changed)
			row->base = row->dst;
	}
	else if (row->src && !s_changed)
		row->base = row->src;	/* existed then: the target deleted it since */
	else if (row->dst && !t_changed)
		row->base = row->dst;
}

void
diffsync_sync_row(SyncRun *run, DsPair *pair, DsDiffRow *row)
{
	diffsync_check_key(pair, row);
	if (row->base == NULL && run->has_watermark)
		watermark_base(run, row);
	if (row->src == NULL || row->dst == NULL)
		sync_unmatched(run, pair, row);
	else
		sync_matched(run, pair, row);
}

/* Failure callback of the writers: report the row, count it. */
static void
sync_write_failed(void *arg, DsWriteOp op, Jsonb *row, ErrorData *edata)
{
	SyncRun    *run = arg;
	JsonbParseState **st = &run->failures_js;
	JsonbValue	v;
	MemoryContext old = MemoryContextSwitchTo(run->resultcxt);
	static const char *const ops[] = {"create", "update", "delete"};

	Jsonb	   *copy = palloc(VARSIZE(row));
	char	   *message = pstrdup(edata->message);

	memcpy(copy, row, VARSIZE(row));
	run->nfailed++;
	if (run->first_error == NULL)
		run->first_error = message;
	diffsync_jsonb_root(copy, &v);
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_cstring(st, WJB_KEY, "action");
	diffsync_push_cstring(st, WJB_VALUE, ops[op]);
	diffsync_push_cstring(st, WJB_KEY, "row");
	pushJsonbValue(st, WJB_VALUE, &v);
	diffsync_push_cstring(st, WJB_KEY, "error");
	diffsync_push_cstring(st, WJB_VALUE, message);
	diffsync_push_cstring(st, WJB_KEY, "sqlstate");
	diffsync_push_cstring(st, WJB_VALUE, pstrdup(unpack_sql_state(edata->sqlerrcode)));
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
	MemoryContextSwitchTo(old);
}

/* Error out unless every adapter of the run has a last-update time. */
static void
check_timestamps(SyncRun *run)
{
	ListCell   *lc;
	bool		commit_ts_used = false;

	if (run->strategy != DS_LAST_UPDATE_WINS && run->strategy != DS_MERGE)
		return;
	foreach(lc, run->pairs)
	{
		DsPair	   *p = lfirst(lc);
		DsAdapter  *sides[2] = {p->src, p->dst};

		for (int i = 0; i < 2; i++)
		{
			if (sides[i]->ts_sql == NULL && sides[i]->relkind == RELKIND_FOREIGN_TABLE)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("strategy \"%s\" needs the last-update time of adapter \"%s\"",
								strategy_names[run->strategy], sides[i]->name),
						 errdetail("%s is a foreign table.", sides[i]->relname),
						 errhint("Commit timestamps of the remote server are not visible through a foreign table: recreate the adapter with updated_at => 'a timestamp column the remote server keeps current'.")));
			if (sides[i]->ts_sql == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("strategy \"%s\" needs the last-update time of adapter \"%s\"",
								strategy_names[run->strategy], sides[i]->name),
						 errdetail("Relation %s has no commit timestamps diffsync can read (views do not).",
								   sides[i]->relname),
						 errhint("Recreate the adapter with updated_at => 'a timestamp column'.")));
			if (sides[i]->ts_is_commit)
				commit_ts_used = true;
		}
	}
	if (commit_ts_used && strcmp(GetConfigOption("track_commit_timestamp", false, false), "on") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("strategy \"%s\" needs commit timestamps, but track_commit_timestamp is off",
						strategy_names[run->strategy]),
				 errhint("Set track_commit_timestamp = on (and restart), or give the adapters an updated_at column.")));
}

/*
 * diffsync_sync_prepare
 *		Set up a run: validate, pair the adapters, look up the resolver.
 */
void
diffsync_sync_prepare(SyncRun *run)
{
	if (run->opts.resolver && run->strategy != DS_MANUAL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"resolver\" is only valid with strategy \"manual\""),
				 errhint("Use strategy => 'manual' to settle conflicts with a resolver function.")));
	if (run->opts.resolver)
	{
		diffsync_lookup_resolver(run->opts.resolver, &run->resolver);
		run->has_resolver = true;
	}
	run->pairs = diffsync_build_pairs(run->source, run->target, &run->opts);
	check_timestamps(run);
	if (!run->opts.dry_run)
	{
		ListCell   *lc;

		foreach(lc, run->pairs)
		{
			DsPair	   *p = lfirst(lc);

			if (run->dir != DS_TARGET_TO_SOURCE)
				diffsync_check_write_privilege(p->dst);
			if (run->dir != DS_SOURCE_TO_TARGET)
				diffsync_check_write_privilege(p->src);
		}
	}
	if (run->resultcxt == NULL)
		run->resultcxt = CurrentMemoryContext;
	{
		MemoryContext old = MemoryContextSwitchTo(run->resultcxt);

		pushJsonbValue(&run->conflicts_js, WJB_BEGIN_ARRAY, NULL);
		pushJsonbValue(&run->failures_js, WJB_BEGIN_ARRAY, NULL);
		MemoryContextSwitchTo(old);
	}
	run->started_at = GetCurrentTimestamp();
}

/* Count the source rows of a level (for "no-change"). */
static int64
count_rows(DsPair *pair, DsRunOptions *opts)
{
	char	   *where = diffsync_model_where(pair, opts, true);
	char	   *sql = psprintf("SELECT pg_catalog.count(*) FROM (%s) m%s%s",
							   diffsync_adapter_select_sql(pair->src, NULL),
							   where ? " WHERE " : "", where ? where : "");
	bool		isnull;

	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count rows of adapter \"%s\"", pair->src->name);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * diffsync_sync_execute
 *		Run the sync: every level, writes, deferred deletes children first.
 *		Must be called inside an SPI connection.
 */
void
diffsync_sync_execute(SyncRun *run)
{
	int			npairs = list_length(run->pairs);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "diffsync sync row",
												 ALLOCSET_DEFAULT_SIZES);
	int64		src_rows_total = 0,
				only_src_total = 0,
				matched_diff_total = 0;

	run->history.enabled = run->opts.history && !run->opts.dry_run;
	run->history.sync_id = run->sync_id;
	run->history.engine = run->engine;
	run->history.message = NULL;

	/* not under rowcxt: base changes outlive the row that queued them */
	run->basecxt = AllocSetContextCreate(CurrentMemoryContext, "diffsync base",
										 ALLOCSET_DEFAULT_SIZES);
	run->wsrc = palloc0(sizeof(DsWriter *) * npairs);
	run->wdst = palloc0(sizeof(DsWriter *) * npairs);

	for (run->cur = 0; run->cur < npairs; run->cur++)
	{
		DsPair	   *pair = list_nth(run->pairs, run->cur);
		char	   *sql = diffsync_diff_sql(pair, &run->opts, false,
											run->use_base ? run->engine : NULL);
		Portal		portal;

		diffsync_check_pair(pair, &run->opts);
		run->wsrc[run->cur] = diffsync_writer_create(pair, true, &run->opts, sync_write_failed, run);
		run->wdst[run->cur] = diffsync_writer_create(pair, false, &run->opts, sync_write_failed, run);
		run->wsrc[run->cur]->history = &run->history;
		run->wdst[run->cur]->history = &run->history;
		run->wsrc[run->cur]->engine = run->engine;
		run->wdst[run->cur]->engine = run->engine;
		run->defer_deletes = pair_has_children(run, run->cur);
		if (!run->skip_counts)
			src_rows_total += count_rows(pair, &run->opts);

		portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, false, 0);
		for (;;)
		{
			SPITupleTable *batch;
			uint64		nrows;

			SPI_cursor_fetch(portal, true, run->opts.batch_size);
			/* decisions run statements of their own, which reset SPI_tuptable */
			batch = SPI_tuptable;
			nrows = SPI_processed;
			if (nrows == 0)
				break;
			for (uint64 i = 0; i < nrows; i++)
			{
				DsDiffRow	row;
				MemoryContext old = MemoryContextSwitchTo(rowcxt);

				diffsync_read_diff_row(batch->vals[i], batch->tupdesc, &row);
				if (row.dst == NULL)
					only_src_total++;
				else if (row.src != NULL)
					matched_diff_total++;
				diffsync_sync_row(run, pair, &row);
				MemoryContextSwitchTo(old);
				MemoryContextReset(rowcxt);
				run->examined++;
				if (diffsync_progress_rows > 0 && run->examined % diffsync_progress_rows == 0)
					ereport(NOTICE,
							(errmsg("diffsync: sync of \"%s\" and \"%s\": " INT64_FORMAT " differing keys examined, " INT64_FORMAT " written so far",
									run->source, run->target, run->examined, run->changed_keys)));
			}
			SPI_freetuptable(batch);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);

		/* creates and updates of this level before its children's */
		for (int op = DS_WRITE_INSERT; op <= DS_WRITE_UPDATE; op++)
		{
			diffsync_writer_flush(run->wsrc[run->cur], op);
			diffsync_writer_flush(run->wdst[run->cur], op);
		}
		if (!run->defer_deletes)
		{
			diffsync_writer_flush(run->wsrc[run->cur], DS_WRITE_DELETE);
			diffsync_writer_flush(run->wdst[run->cur], DS_WRITE_DELETE);
		}
		diffsync_base_flush(run, pair);
	}

	/* deferred deletes: children first */
	for (int i = npairs - 1; i >= 0; i--)
	{
		diffsync_writer_flush(run->wsrc[i], DS_WRITE_DELETE);
		diffsync_writer_flush(run->wdst[i], DS_WRITE_DELETE);
	}
	run->nochange = run->skip_counts ? 0 : src_rows_total - only_src_total - matched_diff_total;
	MemoryContextDelete(rowcxt);
}

/* Push the create/update/delete counts of one side's writers. */
static void
push_side(SyncRun *run, JsonbParseState **st, const char *name, bool src)
{
	int64		n[3] = {0, 0, 0};

	for (int i = 0; i < list_length(run->pairs); i++)
	{
		DsWriter   *w = src ? run->wsrc[i] : run->wdst[i];

		for (int op = 0; op < 3; op++)
			n[op] += w->written[op];
	}
	diffsync_push_cstring(st, WJB_KEY, name);
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_int(st, "create", n[0]);
	diffsync_push_int(st, "update", n[1]);
	diffsync_push_int(st, "delete", n[2]);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
	run->totals[0] += n[0];
	run->totals[1] += n[1];
	run->totals[2] += n[2];
}

/*
 * Push the versions one side's writes recorded: {"versions", "first_change_id",
 * "last_change_id"} (null when history is off or nothing was written).
 */
static void
push_versions(SyncRun *run, JsonbParseState **st, const char *name, bool src)
{
	int64		count = 0,
				first = 0,
				last = 0;
	JsonbValue	null_value;

	for (int i = 0; i < list_length(run->pairs); i++)
	{
		DsWriter   *w = src ? run->wsrc[i] : run->wdst[i];

		if (w->versions == 0)
			continue;
		if (count == 0 || w->first_change_id < first)
			first = w->first_change_id;
		if (w->last_change_id > last)
			last = w->last_change_id;
		count += w->versions;
	}
	diffsync_push_cstring(st, WJB_KEY, name);
	if (count == 0)
	{
		null_value.type = jbvNull;
		pushJsonbValue(st, WJB_VALUE, &null_value);
		return;
	}
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_int(st, "versions", count);
	diffsync_push_int(st, "first_change_id", first);
	diffsync_push_int(st, "last_change_id", last);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
	if (src)
		run->first_change_id[0] = first, run->last_change_id[0] = last;
	else
		run->first_change_id[1] = first, run->last_change_id[1] = last;
}

/*
 * diffsync_sync_result
 *		The result object of a finished run.
 */
Jsonb *
diffsync_sync_result(SyncRun *run)
{
	JsonbParseState *st = NULL;
	MemoryContext old = MemoryContextSwitchTo(run->resultcxt);
	JsonbValue *conflicts = pushJsonbValue(&run->conflicts_js, WJB_END_ARRAY, NULL);
	Jsonb	   *result;
	JsonbValue *failures = pushJsonbValue(&run->failures_js, WJB_END_ARRAY, NULL);
	JsonbValue	v;

	run->finished_at = GetCurrentTimestamp();
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_int(&st, "sync_id", run->sync_id);
	diffsync_push_cstring(&st, WJB_KEY, "success");
	v.type = jbvBool;
	v.val.boolean = (run->nfailed == 0);
	pushJsonbValue(&st, WJB_VALUE, &v);
	diffsync_push_cstring(&st, WJB_KEY, "error");
	if (run->first_error)
		diffsync_push_cstring(&st, WJB_VALUE, run->first_error);
	else
	{
		v.type = jbvNull;
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	if (run->engine)
	{
		diffsync_push_cstring(&st, WJB_KEY, "engine");
		diffsync_push_cstring(&st, WJB_VALUE, run->engine);
	}
	diffsync_push_cstring(&st, WJB_KEY, "source");
	diffsync_push_cstring(&st, WJB_VALUE, run->source);
	diffsync_push_cstring(&st, WJB_KEY, "target");
	diffsync_push_cstring(&st, WJB_VALUE, run->target);
	diffsync_push_cstring(&st, WJB_KEY, "direction");
	diffsync_push_cstring(&st, WJB_VALUE, direction_names[run->dir]);
	diffsync_push_cstring(&st, WJB_KEY, "strategy");
	diffsync_push_cstring(&st, WJB_VALUE, strategy_names[run->strategy]);
	diffsync_push_cstring(&st, WJB_KEY, "dry_run");
	v.type = jbvBool;
	v.val.boolean = run->opts.dry_run;
	pushJsonbValue(&st, WJB_VALUE, &v);

	diffsync_push_cstring(&st, WJB_KEY, "summary");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	run->totals[0] = run->totals[1] = run->totals[2] = 0;
	push_side(run, &st, "source", true);
	push_side(run, &st, "target", false);
	diffsync_push_int(&st, "create", run->totals[0]);
	diffsync_push_int(&st, "update", run->totals[1]);
	diffsync_push_int(&st, "delete", run->totals[2]);
	diffsync_push_int(&st, "no-change", run->nochange);
	diffsync_push_int(&st, "skip", run->nskip);
	diffsync_push_int(&st, "conflicts", run->nconflicts);
	diffsync_push_int(&st, "queued", run->nqueued);
	diffsync_push_int(&st, "failed", run->nfailed);
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);

	push_versions(run, &st, "source_version", true);
	push_versions(run, &st, "target_version", false);
	diffsync_push_cstring(&st, WJB_KEY, "conflicts");
	pushJsonbValue(&st, WJB_VALUE, conflicts);
	diffsync_push_cstring(&st, WJB_KEY, "conflicts_truncated");
	v.type = jbvBool;
	v.val.boolean = run->nconflicts > run->nlisted;
	pushJsonbValue(&st, WJB_VALUE, &v);
	diffsync_push_cstring(&st, WJB_KEY, "failures");
	pushJsonbValue(&st, WJB_VALUE, failures);
	diffsync_push_cstring(&st, WJB_KEY, "started_at");
	diffsync_push_cstring(&st, WJB_VALUE, pstrdup(timestamptz_to_str(run->started_at)));
	diffsync_push_cstring(&st, WJB_KEY, "finished_at");
	diffsync_push_cstring(&st, WJB_VALUE, pstrdup(timestamptz_to_str(run->finished_at)));
	result = JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
	MemoryContextSwitchTo(old);
	return result;
}

/*
 * diffsync_sync_log
 *		Record the run in diffsync.syncs.
 */
void
diffsync_sync_log(SyncRun *run, Jsonb *result)
{
	Oid			argtypes[6] = {INT8OID, TEXTOID, TIMESTAMPTZOID, JSONBOID, TEXTOID, TEXTOID};
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	args[4] = CStringGetTextDatum(run->source);
	args[5] = CStringGetTextDatum(run->target);
	args[0] = Int64GetDatum(run->sync_id);
	args[1] = run->engine ? CStringGetTextDatum(run->engine) : (Datum) 0;
	nulls[1] = run->engine ? ' ' : 'n';
	args[2] = TimestampTzGetDatum(run->started_at);
	args[3] = JsonbPGetDatum(result);
	if (diffsync_owner_execute("INSERT INTO " DIFFSYNC_SCHEMA ".syncs (sync_id, engine, source, target, started_at, finished_at, result) "
							   "VALUES ($1, $2, $5, $6, $3, pg_catalog.clock_timestamp(), $4)",
							   6, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the sync");
}

/*
 * diffsync_next_sync_id
 *		A new sync id from diffsync.sync_id_seq.
 */
int64
diffsync_next_sync_id(void)
{
	bool		isnull;

	if (diffsync_owner_execute("SELECT pg_catalog.nextval('" DIFFSYNC_SCHEMA ".sync_id_seq')",
							   0, NULL, NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not get a sync id");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

PG_FUNCTION_INFO_V1(diffsync_sync);

/*
 * diffsync.sync(source, target, direction, strategy, options) -> jsonb
 *		Reconcile two adapters once.
 */
Datum
diffsync_sync(PG_FUNCTION_ARGS)
{
	SyncRun		run;
	Jsonb	   *result;

	memset(&run, 0, sizeof(run));
	run.source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	run.target = text_to_cstring(PG_GETARG_TEXT_PP(1));
	run.dir = diffsync_parse_direction(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	run.strategy = diffsync_parse_strategy(text_to_cstring(PG_GETARG_TEXT_PP(3)));
	diffsync_parse_run_options(PG_GETARG_JSONB_P(4), &run.opts, "sync", true);
	diffsync_sync_prepare(&run);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	run.sync_id = diffsync_next_sync_id();
	diffsync_sync_execute(&run);
	result = diffsync_sync_result(&run);
	diffsync_sync_log(&run, result);
	diffsync_sync_notify(&run);
	SPI_finish();
	PG_RETURN_JSONB_P(result);
}
