/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  Writing model rows into an adapter's relation: batched, set-based
 *	  INSERT, UPDATE and DELETE statements, prepared once per sync.
 *
 * Rows to write are model rows (jsonb objects of field values).  They are
 * queued per operation and flushed in batches: each batch is one statement
 * that reads the batch as a record set (jsonb_to_recordset with the model
 * field types), applies each field's write expression, and joins on the
 * identifier fields.  Statements also carry the adapter's filter, so a
 * partial sync never touches rows outside it.
 *
 * With continue_on_failure a batch runs in a subtransaction; if it fails,
 * its rows are retried one by one, each in its own subtransaction, and the
 * rows that still fail are reported to the caller and skipped.  Without
 * it, any failure raises and the caller's transaction rolls back: the sync
 * is atomic.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/resowner.h"

#include "diffsync.h"

static const char *const write_op_names[] = {"insert", "update", "delete"};

/*
 * The engines whose writes are being applied right now, innermost last.
 * A live trigger of an engine on this list does nothing, so a write an
 * engine makes is never reconciled back by that engine (no loops, also
 * through chains of engines), while other engines' triggers, user
 * triggers and foreign keys fire as usual.  Writes of a plain sync() carry
 * no engine.  Backend-local; entries are popped on error too.
 */
static const char *applying[64];
static int	napplying = 0;

/*
 * diffsync_applying_push / diffsync_applying_pop
 *		Bracket diffsync's own writes on behalf of engine (NULL: none).
 */
void
diffsync_applying_push(const char *engine)
{
	if (napplying >= lengthof(applying))
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("live reconciliation nested more than %d levels deep", (int) lengthof(applying)),
				 errhint("Check the attached engines for a cycle.")));
	applying[napplying++] = engine;
}

void
diffsync_applying_pop(void)
{
	Assert(napplying > 0);
	napplying--;
}

/*
 * diffsync_is_applying
 *		Is engine's write being applied (so its own trigger must not act)?
 */
bool
diffsync_is_applying(const char *engine)
{
	for (int i = 0; i < napplying; i++)
		if (applying[i] && strcmp(applying[i], engine) == 0)
			return true;
	return false;
}

/* "m"(field type, ...) column definitions of the model record set. */
static char *
writer_coldefs(DsWriter *w, bool with_attrs)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < w->pair->nids; i++)
		appendStringInfo(&buf, "%s%s %s", i ? ", " : "", quote_identifier(w->ids[i]->name),
						 format_type_with_typemod(w->ids[i]->type, w->ids[i]->typmod));
	if (with_attrs)
		for (int i = 0; i < w->nattrs; i++)
			appendStringInfo(&buf, ", %s %s", quote_identifier(w->attrs[i]->name),
							 format_type_with_typemod(w->attrs[i]->type, w->attrs[i]->typmod));
	return buf.data;
}

/*
 * diffsync_writer_value_sql
 *		The value written to field f's column (over alias m of model
 *		fields): its write expression, or the field itself.
 */
char *
diffsync_writer_value_sql(DsField *f)
{
	return f->write_sql ? f->write_sql : psprintf("m.%s", quote_identifier(f->name));
}

/*
 * diffsync_writer_match_sql
 *		Condition matching relation row r with the batch record alias on the
 *		identifiers, and the adapter's filter.  The batch carries the model
 *		identifiers as "__w_k0", "__w_k1"... and no column named like a model
 *		field: the adapter's read and filter expressions name the relation's
 *		columns unqualified, and must not find a batch column of that name.
 */
char *
diffsync_writer_match_sql(DsWriter *w, const char *alias)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < w->pair->nids; i++)
		appendStringInfo(&buf, "%s%s OPERATOR(pg_catalog.=) %s.\"__w_k%d\"", i ? " AND " : "",
						 w->ids[i]->read_sql, alias, i);
	if (w->a->filter)
		appendStringInfo(&buf, " AND (%s\n)", w->a->filter);
	return buf.data;
}

/*
 * diffsync_check_write_privilege
 *		Error (42501) up front when the current user cannot write the
 *		adapter's relation at all, rather than part-way through a sync.
 *		Finer checks (column privileges, row-level security) are left to the
 *		statements themselves, which run with the caller's privileges.
 */
void
diffsync_check_write_privilege(DsAdapter *a)
{
	AclMode		need = ACL_INSERT | ACL_UPDATE | ACL_DELETE;

	if (pg_class_aclmask(a->relid, GetUserId(), need, ACLMASK_ANY) != 0)
		return;
	if (pg_attribute_aclcheck_all(a->relid, GetUserId(), ACL_INSERT | ACL_UPDATE,
								  ACLMASK_ANY) == ACLCHECK_OK)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to write relation %s of adapter \"%s\"",
					a->relname, a->name),
			 errhint("diffsync writes with your privileges: you need INSERT, UPDATE or DELETE on the relation, or use a direction that does not write it.")));
}

/*
 * diffsync_writer_key_filter
 *		" AND r.col = ANY (ARRAY(<keys>))" for each identifier read from a
 *		plain column, where the keys query is keys_prefix, the field's name,
 *		keys_suffix (e.g. "SELECT o.", "id", " FROM (...) o"; user text in
 *		them is copied as is).  Redundant with the join, but a condition on
 *		the relation alone: a local table can use its index, and postgres_fdw
 *		sends it to the remote server, which then locks and returns only the
 *		batch's rows instead of the whole table.
 */
char *
diffsync_writer_key_filter(DsWriter *w, const char *keys_prefix, const char *keys_suffix)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < w->pair->nids; i++)
	{
		if (w->ids[i]->column == NULL || strncmp(w->ids[i]->read_sql, "r.", 2) != 0)
			continue;
		appendStringInfo(&buf, " AND %s OPERATOR(pg_catalog.=) ANY (ARRAY(",
						 w->ids[i]->read_sql);
		appendStringInfoString(&buf, keys_prefix);
		appendStringInfoString(&buf, quote_identifier(w->ids[i]->name));
		appendStringInfoString(&buf, keys_suffix);
		appendStringInfoString(&buf, "))");
	}
	return buf.data;
}

/*
 * diffsync_writer_check
 *		Error unless the adapter can perform op: every field it must write
 *		needs a column.
 */
void
diffsync_writer_check(DsWriter *w, DsWriteOp op)
{
	if (op == DS_WRITE_DELETE)
		return;
	for (int i = 0; i < w->nattrs; i++)
		if (w->attrs[i]->column == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot %s rows through adapter \"%s\": attribute \"%s\" is read-only",
							write_op_names[op], w->a->name, w->attrs[i]->name),
					 errhint("Give the field a \"column\" (and a \"write\" expression if it is transformed).")));
	if (op == DS_WRITE_INSERT)
		for (int i = 0; i < w->pair->nids; i++)
			if (w->ids[i]->column == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot insert rows through adapter \"%s\": identifier \"%s\" is read-only",
								w->a->name, w->ids[i]->name)));
}

/*
 * The model row of relation row r as the sync reads it (identifiers and the
 * pair's attributes of the written side), to compare with the row a write
 * expects to replace.
 */
static char *
writer_current_row_sql(DsWriter *w)
{
	DsPair	   *p = w->pair;
	bool		src = (w->a == p->src);
	int			n = p->nids + p->nattrs;
	DsField   **fields = palloc(sizeof(DsField *) * n);

	for (int i = 0; i < n; i++)
		fields[i] = i < p->nids ? (src ? p->sids : p->dids)[i] :
			(src ? p->sattrs : p->dattrs)[i - p->nids];
	return diffsync_jsonb_object_sql(fields, n, NULL);
}

/* Model row with the row it expects to replace as member "__ds_old". */
static Jsonb *
row_with_old(Jsonb *row, Jsonb *old)
{
	JsonbParseState *st = NULL;
	JsonbIterator *it = JsonbIteratorInit(&row->root);
	JsonbIteratorToken tok;
	JsonbValue	v,
				ov;
	JsonbValue *res = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_END_OBJECT)
		{
			diffsync_push_cstring(&st, WJB_KEY, "__ds_old");
			diffsync_jsonb_root(old, &ov);
			pushJsonbValue(&st, WJB_VALUE, &ov);
		}
		res = pushJsonbValue(&st, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	return JsonbValueToJsonb(res);
}

/* Prepare the statement of op (once per sync). */
static SPIPlanPtr
writer_plan(DsWriter *w, DsWriteOp op)
{
	StringInfoData sql;
	StringInfoData inner;
	Oid			argtypes[1] = {JSONBOID};
	SPIPlanPtr	plan;

	if (w->plan[op])
		return w->plan[op];
	diffsync_writer_check(w, op);

	/* the batch as typed model fields, write expressions applied */
	initStringInfo(&inner);
	appendStringInfoString(&inner, "SELECT ");
	for (int i = 0; i < w->pair->nids; i++)
		appendStringInfo(&inner, "%sm.%s AS \"__w_k%d\", %s AS \"__w_id%d\"", i ? ", " : "",
						 quote_identifier(w->ids[i]->name), i, diffsync_writer_value_sql(w->ids[i]), i);
	for (int i = 0; i < w->nattrs; i++)
		appendStringInfo(&inner, ", %s AS \"__w_%d\"", diffsync_writer_value_sql(w->attrs[i]), i);
	if (op == DS_WRITE_UPDATE)
		appendStringInfoString(&inner, ", m.\"__ds_old\"");
	appendStringInfo(&inner, " FROM pg_catalog.jsonb_to_recordset($1) AS m(%s%s)",
					 writer_coldefs(w, true),
					 op == DS_WRITE_UPDATE ? ", \"__ds_old\" pg_catalog.jsonb" : "");

	initStringInfo(&sql);
	switch (op)
	{
		case DS_WRITE_INSERT:
			appendStringInfo(&sql, "INSERT INTO %s (", w->a->relname);
			for (int i = 0; i < w->pair->nids; i++)
				appendStringInfo(&sql, "%s%s", i ? ", " : "", quote_identifier(w->ids[i]->column));
			for (int i = 0; i < w->nattrs; i++)
				appendStringInfo(&sql, ", %s", quote_identifier(w->attrs[i]->column));
			appendStringInfoString(&sql, ") SELECT ");
			for (int i = 0; i < w->pair->nids; i++)
				appendStringInfo(&sql, "%sw.\"__w_id%d\"", i ? ", " : "", i);
			for (int i = 0; i < w->nattrs; i++)
				appendStringInfo(&sql, ", w.\"__w_%d\"", i);
			appendStringInfo(&sql, " FROM (%s) w", inner.data);
			break;
		case DS_WRITE_UPDATE:
			appendStringInfo(&sql, "UPDATE %s r SET ", w->a->relname);
			for (int i = 0; i < w->nattrs; i++)
				appendStringInfo(&sql, "%s%s = w.\"__w_%d\"", i ? ", " : "",
								 quote_identifier(w->attrs[i]->column), i);
			appendStringInfo(&sql, " FROM (%s) w WHERE %s%s"
							 " AND (w.\"__ds_old\" IS NULL OR %s OPERATOR(pg_catalog.=) w.\"__ds_old\")",
							 inner.data,
							 diffsync_writer_match_sql(w, "w"),
							 diffsync_writer_key_filter(w, "SELECT m.",
														psprintf(" FROM pg_catalog.jsonb_to_recordset($1) AS m(%s)",
																 writer_coldefs(w, false))),
							 writer_current_row_sql(w));
			break;
		case DS_WRITE_DELETE:
			{
				StringInfoData keys;

				initStringInfo(&keys);
				for (int i = 0; i < w->pair->nids; i++)
					appendStringInfo(&keys, "m.%s AS \"__w_k%d\", ", quote_identifier(w->ids[i]->name), i);
				appendStringInfo(&sql, "DELETE FROM %s r USING (SELECT %sm.\"__ds_old\" "
								 "FROM pg_catalog.jsonb_to_recordset($1) AS m(%s, \"__ds_old\" pg_catalog.jsonb)) m",
								 w->a->relname, keys.data, writer_coldefs(w, false));
			}
			appendStringInfo(&sql, " WHERE %s%s AND (m.\"__ds_old\" IS NULL OR %s OPERATOR(pg_catalog.=) m.\"__ds_old\")",
							 diffsync_writer_match_sql(w, "m"),
							 diffsync_writer_key_filter(w, "SELECT m.",
														psprintf(" FROM pg_catalog.jsonb_to_recordset($1) AS m(%s)",
																 writer_coldefs(w, false))),
							 writer_current_row_sql(w));
			break;
	}
	plan = SPI_prepare(sql.data, 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare %s statement for adapter \"%s\": %s",
			 write_op_names[op], w->a->name, SPI_result_code_string(SPI_result));
	w->plan[op] = plan;
	return plan;
}

/*
 * diffsync_writer_create
 *		A writer for one side of a pair (the source adapter when to_source).
 *		Must be created inside the sync's SPI connection.  With a path option
 *		only the path's attribute is written.
 */
DsWriter *
diffsync_writer_create(DsPair *pair, bool to_source, DsRunOptions *opts,
					   DsWriteFailureFn on_failure, void *arg)
{
	DsWriter   *w = palloc0(sizeof(DsWriter));
	DsField   **attrs = to_source ? pair->sattrs : pair->dattrs;

	w->pair = pair;
	w->a = to_source ? pair->src : pair->dst;
	w->ids = to_source ? pair->sids : pair->dids;
	w->attrs = palloc(sizeof(DsField *) * Max(pair->nattrs, 1));
	for (int i = 0; i < pair->nattrs; i++)
		if (pair->path_attr < 0 || i == pair->path_attr)
			w->attrs[w->nattrs++] = attrs[i];
	w->batch_size = opts->batch_size;
	w->continue_on_failure = opts->continue_on_failure;
	w->dry_run = opts->dry_run;
	w->on_failure = on_failure;
	w->failure_arg = arg;
	for (int op = 0; op < 3; op++)
		w->cxt[op] = AllocSetContextCreate(CurrentMemoryContext, "diffsync writer",
										   ALLOCSET_DEFAULT_SIZES);
	w->flushcxt = AllocSetContextCreate(CurrentMemoryContext, "diffsync writer flush",
										ALLOCSET_DEFAULT_SIZES);
	return w;
}

/*
 * diffsync_row_key
 *		The identifier object of a model row.
 */
Jsonb *
diffsync_row_key(Jsonb *row, DsField **ids, int nids)
{
	JsonbParseState *st = NULL;
	JsonbValue	root;

	diffsync_jsonb_root(row, &root);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < nids; i++)
	{
		JsonbValue	v;

		diffsync_push_cstring(&st, WJB_KEY, ids[i]->name);
		if (!diffsync_object_get(&root, ids[i]->name, strlen(ids[i]->name), &v))
			v.type = jbvNull;
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/*
 * The pieces of SQL every history insert shares, over a relation v of
 * (key, action, state, patch, before_hash): the transaction's row in
 * commit_log (numbered in commit order at commit), the version columns
 * (the next number of the key's chain; the full state for non-updates,
 * every 16th version and whenever the row replaced is not the previous
 * version's state, so that patches always chain), and the lookup of the
 * key's latest version p in the chain of adapter ADAPTER_SQL.
 */
#define HISTORY_COMMIT_LOG_CTE \
	"c AS (INSERT INTO " DIFFSYNC_SCHEMA ".commit_log (xid) " \
	"VALUES (pg_catalog.pg_current_xact_id()) ON CONFLICT DO NOTHING)"
#define HISTORY_VERSION_COLUMNS \
	"COALESCE(p.version, 0) OPERATOR(pg_catalog.+) 1, v.action, " \
	"CASE WHEN v.action OPERATOR(pg_catalog.=) 'delete' THEN NULL " \
	"WHEN v.action OPERATOR(pg_catalog.<>) 'update' " \
	"OR (COALESCE(p.version, 0) OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.%%) 16 OPERATOR(pg_catalog.=) 1 " \
	"OR p.state_hash IS DISTINCT FROM v.before_hash THEN v.state END, " \
	"CASE WHEN v.action OPERATOR(pg_catalog.=) ANY ('{update,restore}') THEN v.patch END"
#define HISTORY_LATEST_VERSION(ADAPTER_SQL) \
	"LEFT JOIN LATERAL (SELECT y.version, y.state_hash FROM %1$s y " \
	"WHERE y.adapter OPERATOR(pg_catalog.=) " ADAPTER_SQL " " \
	"AND y.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(v.key, 0) " \
	"AND y.key OPERATOR(pg_catalog.=) v.key " \
	"ORDER BY y.version DESC LIMIT 1) p ON true"

/* Add the change ids lo..hi (n of them) to the range *first..*last, *count. */
static void
add_change_range(int64 lo, int64 hi, int64 n, int64 *first, int64 *last, int64 *count)
{
	if (n <= 0)
		return;
	if (*count == 0 || lo < *first)
		*first = lo;
	if (hi > *last)
		*last = hi;
	*count += n;
}

/* The same from a (min, max, count) row of change ids in SPI_tuptable. */
static void
add_change_range_row(int64 *first, int64 *last, int64 *count)
{
	bool		isnull;
	int64		n;

	if (SPI_processed != 1)
		return;
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (n > 0)
		add_change_range(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
						 DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)),
						 n, first, last, count);
}

/*
 * Whether the extension's tables have history_batches: in a database whose
 * extension is still at 0.1 or 0.2 (until ALTER EXTENSION diffsync UPDATE),
 * numbered versions go into the table history itself, and there are no
 * batches.
 */
bool
diffsync_history_batched(void)
{
	Oid			nsp = get_namespace_oid(DIFFSYNC_SCHEMA, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("history_batches", nsp));
}

/* The table numbered versions go into (see diffsync_history_batched). */
const char *
diffsync_history_table(void)
{
	return diffsync_history_batched() ? DIFFSYNC_SCHEMA ".history_versions" : DIFFSYNC_SCHEMA ".history";
}

/*
 * diffsync_history_materialize
 *		Number the versions live statements recorded in history_batches (of
 *		adapter, or of all adapters when NULL) and move them into
 *		history_versions, as the extension owner: each key's batched
 *		versions continue its chain in change id order, with the same
 *		numbers the history view shows them under, and keep their full
 *		state only where the chain needs it (see HISTORY_VERSION_COLUMNS).
 *		Returns the number of versions moved.
 *
 *		The batches are locked first, in their order, and moved by a second
 *		statement: a concurrent materialization of the same batches is
 *		waited for, and (in read committed) the numbers it gave are seen.
 *		Called before every numbered write of an adapter's history, so that
 *		numbered versions always follow the batched ones of their key.
 */
int64
diffsync_history_materialize(const char *adapter)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char		nulls[1] = {' '};
	Datum		ids;
	bool		isnull;
	int			guc_level;
	int64		n;

	if (!diffsync_history_batched())
		return 0;
	args[0] = adapter ? CStringGetTextDatum(adapter) : (Datum) 0;
	nulls[0] = adapter ? ' ' : 'n';
	if (diffsync_owner_execute("SELECT pg_catalog.array_agg(b.batch_id) FROM "
							   "(SELECT b.batch_id FROM " DIFFSYNC_SCHEMA ".history_batches b "
							   "WHERE $1 IS NULL OR b.adapter OPERATOR(pg_catalog.=) $1 "
							   "ORDER BY b.batch_id FOR UPDATE) b",
							   1, argtypes, args, nulls, false, 0) != SPI_OK_SELECT
		|| SPI_processed != 1)
		elog(ERROR, "could not lock the history batches");
	ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return 0;
	ids = PointerGetDatum(DatumGetArrayTypePCopy(ids));
	SPI_freetuptable(SPI_tuptable);

	/* one index probe per key for its latest version (see below) */
	guc_level = NewGUCNestLevel();
	(void) set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	{
		Oid			types[2] = {INT8ARRAYOID, TEXTOID};
		Datum		vals[2];
		char		vnulls[2] = {' ', ' '};

		vals[0] = ids;
		vals[1] = adapter ? CStringGetTextDatum(adapter) : (Datum) 0;
		vnulls[1] = adapter ? ' ' : 'n';

		/*
		 * What the view shows of these batches is what is stored: one
		 * definition of the numbering, the states kept and the versions of
		 * derived batches that drop out.
		 */
		if (diffsync_owner_execute("WITH i AS (INSERT INTO " DIFFSYNC_SCHEMA ".history_versions "
								   "(change_id, adapter, key, version, action, state, patch, state_hash, "
								   "sync_id, engine, xid, recorded_at, message) "
								   "SELECT h.change_id, h.adapter, h.key, h.version, h.action, h.state, h.patch, "
								   "h.state_hash, h.sync_id, h.engine, h.xid, h.recorded_at, h.message "
								   "FROM " DIFFSYNC_SCHEMA ".history h "
								   "WHERE h.batch_id OPERATOR(pg_catalog.=) ANY ($1) "
								   "AND ($2 IS NULL OR h.adapter OPERATOR(pg_catalog.=) $2) RETURNING 1), "
								   "d AS (DELETE FROM " DIFFSYNC_SCHEMA ".history_batches b "
								   "WHERE b.batch_id OPERATOR(pg_catalog.=) ANY ($1)) "
								   "SELECT pg_catalog.count(*) FROM i",
								   2, types, vals, vnulls, false, 0) != SPI_OK_SELECT
			|| SPI_processed != 1)
			elog(ERROR, "could not number the batched versions");
	}
	{
		bool		cnull;

		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &cnull));
	}
	AtEOXact_GUC(true, guc_level);
	return n;
}

PG_FUNCTION_INFO_V1(diffsync_materialize_history);

/*
 * diffsync.materialize_history(adapter text DEFAULT NULL) -> bigint
 *		diffsync_history_materialize for SQL: of one adapter (which must
 *		exist), or of all.  It reveals nothing: the versions it moves read
 *		the same through the history view before and after.
 */
Datum
diffsync_materialize_history(PG_FUNCTION_ARGS)
{
	char	   *adapter = NULL;
	int64		n;

	if (!PG_ARGISNULL(0))
	{
		adapter = text_to_cstring(PG_GETARG_TEXT_PP(0));
		(void) diffsync_adapter_get(adapter);
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = diffsync_history_materialize(adapter);
	SPI_finish();
	PG_RETURN_INT64(n);
}

/* Whether a text datum is the ASCII string s. */
static bool
text_is(Datum t, const char *s)
{
	text	   *tx = DatumGetTextPP(t);
	size_t		len = strlen(s);

	return VARSIZE_ANY_EXHDR(tx) == len && memcmp(VARDATA_ANY(tx), s, len) == 0;
}

/* The versions of one side of a batch of changes, as arrays are built. */
typedef struct HistorySide
{
	int			n;
	Datum	   *keys,
			   *actions,
			   *states,
			   *patches,
			   *bhs,
			   *ahs;
	bool	   *snull,
			   *pnull,
			   *bnull,
			   *anull;
} HistorySide;

static void
history_side_init(HistorySide *s, uint64 n)
{
	s->n = 0;
	s->keys = palloc(sizeof(Datum) * n);
	s->actions = palloc(sizeof(Datum) * n);
	s->states = palloc(sizeof(Datum) * n);
	s->patches = palloc(sizeof(Datum) * n);
	s->bhs = palloc(sizeof(Datum) * n);
	s->ahs = palloc(sizeof(Datum) * n);
	s->snull = palloc(sizeof(bool) * n);
	s->pnull = palloc(sizeof(bool) * n);
	s->bnull = palloc(sizeof(bool) * n);
	s->anull = palloc(sizeof(bool) * n);
}

/* Add a version to side s; a patch belongs to an update or a restore only. */
static void
history_side_add(HistorySide *s, Datum key, Datum action, Datum state, bool snull,
				 Datum patch, Datum bh, bool bnull, Datum ah, bool anull)
{
	int			i = s->n++;

	s->keys[i] = key;
	s->actions[i] = action;
	s->states[i] = state;
	s->snull[i] = snull;
	s->pnull[i] = (patch == (Datum) 0 ||
				   !(text_is(action, "update") || text_is(action, "restore")));
	s->patches[i] = s->pnull[i] ? (Datum) 0 : patch;
	s->bhs[i] = bh;
	s->bnull[i] = bnull;
	s->ahs[i] = ah;
	s->anull[i] = anull;
}

/*
 * The one statement that writes a batch: the versions of side s, given
 * change ids in their order, the transaction registered in commit_log.
 */
static SPIPlanPtr
history_batch_prepare(void)
{
	static const Oid types[11] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, BOOLOID, JSONBARRAYOID,
		TEXTARRAYOID, JSONBARRAYOID, JSONBARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	SPIPlanPtr	plan;

	plan = diffsync_owner_prepare("WITH " HISTORY_COMMIT_LOG_CTE " "
								  "INSERT INTO " DIFFSYNC_SCHEMA ".history_batches "
								  "(adapter, engine, sync_id, message, derived, change_ids, keys, actions, "
								  "states, patches, before_hashes, state_hashes) "
								  "SELECT $1, $2, $3, $4, $5, "
								  "ARRAY(SELECT pg_catalog.nextval('" DIFFSYNC_SCHEMA ".history_change_id_seq') "
								  "FROM pg_catalog.generate_series(1, pg_catalog.cardinality($6))), "
								  "$6, $7, $8, $9, $10, $11 RETURNING change_ids",
								  11, (Oid *) types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the history insert: %s", SPI_result_code_string(SPI_result));
	return plan;
}

/*
 * Write side s (n > 0) as a batch of adapter with plan (history_batch_prepare);
 * returns its change ids, in the caller's memory context.
 */
static Datum *
history_batch_insert(SPIPlanPtr plan, const char *adapter, const char *engine,
					 int64 sync_id, const char *message, bool derived, HistorySide *s)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			dims[1] = {s->n};
	int			lbs[1] = {1};
	Datum		args[11];
	char		nulls[11];
	bool		isnull;
	Datum	   *ids;
	int			nids;

	memset(nulls, ' ', sizeof(nulls));
	args[0] = CStringGetTextDatum(adapter);
	args[1] = engine ? CStringGetTextDatum(engine) : (Datum) 0;
	nulls[1] = engine ? ' ' : 'n';
	args[2] = Int64GetDatum(sync_id);
	nulls[2] = sync_id ? ' ' : 'n';
	args[3] = message ? CStringGetTextDatum(message) : (Datum) 0;
	nulls[3] = message ? ' ' : 'n';
	args[4] = BoolGetDatum(derived);
	args[5] = PointerGetDatum(construct_array(s->keys, s->n, JSONBOID, -1, false, TYPALIGN_INT));
	args[6] = PointerGetDatum(construct_array(s->actions, s->n, TEXTOID, -1, false, TYPALIGN_INT));
	args[7] = PointerGetDatum(construct_md_array(s->states, s->snull, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	args[8] = PointerGetDatum(construct_md_array(s->patches, s->pnull, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	args[9] = PointerGetDatum(construct_md_array(s->bhs, s->bnull, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[10] = PointerGetDatum(construct_md_array(s->ahs, s->anull, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (diffsync_owner_execute_plan(plan, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING
		|| SPI_processed != 1)
		elog(ERROR, "could not record history of adapter \"%s\"", adapter);
	/* SPI returns in its procedure context: back to the caller's */
	MemoryContextSwitchTo(cxt);
	deconstruct_array(DatumGetArrayTypePCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
					  INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, NULL, &nids);
	SPI_freetuptable(SPI_tuptable);
	if (nids != s->n)
		elog(ERROR, "history batch of %d versions got %d change ids", s->n, nids);
	return ids;
}

/*
 * The versions of history entries (jsonb objects {"key", "action", "state",
 * "patch"[, "before"]}, see writer_history) as one side of a batch.
 */
static void
history_side_from_entries(HistorySide *s, List *entries)
{
	ListCell   *lc;

	history_side_init(s, list_length(entries));
	foreach(lc, entries)
	{
		JsonbValue	root,
					v;
		Datum		key,
					action,
					state = (Datum) 0,
					patch = (Datum) 0,
					bh = (Datum) 0,
					ah = (Datum) 0;
		bool		has_state,
					has_before;

		diffsync_jsonb_root(lfirst(lc), &root);
		if (!diffsync_object_get(&root, "key", 3, &v))
			elog(ERROR, "a history entry has no key");
		key = JsonbPGetDatum(diffsync_value_to_jsonb(&v));
		if (!diffsync_object_get(&root, "action", 6, &v) || v.type != jbvString)
			elog(ERROR, "a history entry has no action");
		action = PointerGetDatum(cstring_to_text_with_len(v.val.string.val, v.val.string.len));
		has_state = !text_is(action, "delete") &&
			diffsync_object_get(&root, "state", 5, &v) && v.type != jbvNull;
		if (has_state)
		{
			state = JsonbPGetDatum(diffsync_value_to_jsonb(&v));
			ah = DirectFunctionCall2(jsonb_hash_extended, state, Int64GetDatum(0));
		}
		if (diffsync_object_get(&root, "patch", 5, &v) && v.type == jbvBinary &&
			JsonContainerIsArray(v.val.binary.data))
			patch = JsonbPGetDatum(diffsync_value_to_jsonb(&v));
		has_before = diffsync_object_get(&root, "before", 6, &v);
		if (has_before)
			bh = DirectFunctionCall2(jsonb_hash_extended,
									 JsonbPGetDatum(diffsync_value_to_jsonb(&v)), Int64GetDatum(0));
		history_side_add(s, key, action, state, !has_state, patch, bh, !has_before, ah, !has_state);
	}
}

/* The history entries (jsonb objects) as one jsonb array. */
static Jsonb *
entries_array(List *entries)
{
	JsonbParseState *st = NULL;
	ListCell   *lc;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, entries)
	{
		JsonbValue	v;

		diffsync_jsonb_root(lfirst(lc), &v);
		pushJsonbValue(&st, WJB_ELEM, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_ARRAY, NULL));
}

/* Whether versions of adapter wait in history_batches (that we can see). */
static bool
history_has_batches(const char *adapter)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		found;
	MemoryContext cxt = CurrentMemoryContext;

	if (!diffsync_history_batched())
		return false;
	args[0] = CStringGetTextDatum(adapter);
	if (diffsync_owner_execute("SELECT 1 FROM " DIFFSYNC_SCHEMA ".history_batches b "
							   "WHERE b.adapter OPERATOR(pg_catalog.=) $1 LIMIT 1",
							   1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the history batches");
	found = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	/* SPI returns in its procedure context: back to the caller's */
	MemoryContextSwitchTo(cxt);
	return found;
}

/*
 * diffsync_history_insert
 *		Record versions of adapter a: entries are jsonb objects {"key",
 *		"action", "state", "patch"[, "before"]} (see writer_history); "before"
 *		is the row the write replaced, whose hash tells whether the patch
 *		chains onto the previous version (else the full state is kept).  The version number
 *		continues each key's chain; the transaction is registered in
 *		commit_log so that it is numbered in commit order.  Adds the change
 *		ids recorded to *first, *last and *count.
 */
void
diffsync_history_insert(DsAdapter *a, DsField **ids, int nids, List *entries,
						DsHistory *h, SPIPlanPtr *plan, int64 *first,
						int64 *last, int64 *count)
{
	MemoryContext mycxt = CurrentMemoryContext;
	Oid			argtypes[5] = {TEXTOID, JSONBOID, INT8OID, TEXTOID, TEXTOID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	if (entries == NIL)
		return;
	args[0] = CStringGetTextDatum(a->name);
	args[2] = Int64GetDatum(h->sync_id);
	nulls[2] = h->sync_id ? ' ' : 'n';
	args[3] = h->engine ? CStringGetTextDatum(h->engine) : (Datum) 0;
	nulls[3] = h->engine ? ' ' : 'n';
	args[4] = h->message ? CStringGetTextDatum(h->message) : (Datum) 0;
	nulls[4] = h->message ? ' ' : 'n';
	if (history_has_batches(a->name))
	{
		/*
		 * Versions of this adapter wait in batches, to be numbered: these
		 * follow them there, in change id order (a numbered row now would
		 * come before them).  Nothing is locked or moved.
		 */
		HistorySide side;
		SPIPlanPtr	bplan = history_batch_prepare();
		Datum	   *change_ids;

		history_side_from_entries(&side, entries);
		change_ids = history_batch_insert(bplan, a->name, h->engine, h->sync_id, h->message,
										  false, &side);
		SPI_freeplan(bplan);
		add_change_range(DatumGetInt64(change_ids[0]), DatumGetInt64(change_ids[side.n - 1]),
						 side.n, first, last, count);
		return;
	}
	if (*plan == NULL)
	{
		*plan = diffsync_owner_prepare(psprintf("WITH " HISTORY_COMMIT_LOG_CTE ", "
									 "h AS (INSERT INTO %1$s "
									 "(adapter, key, version, action, state, patch, state_hash, sync_id, engine, message) "
									 "SELECT $1, v.key, " HISTORY_VERSION_COLUMNS ", "
									 "CASE WHEN v.action OPERATOR(pg_catalog.<>) 'delete' "
									 "THEN pg_catalog.jsonb_hash_extended(v.state, 0) END, "
									 "$3, $4, $5 "
									 "FROM (SELECT e OPERATOR(pg_catalog.->) 'key' AS key, "
									 "e OPERATOR(pg_catalog.->>) 'action' AS action, "
									 "e OPERATOR(pg_catalog.->) 'state' AS state, "
									 "CASE WHEN pg_catalog.jsonb_typeof(e OPERATOR(pg_catalog.->) 'patch') "
									 "OPERATOR(pg_catalog.=) 'array' THEN e OPERATOR(pg_catalog.->) 'patch' END AS patch, "
									 "pg_catalog.jsonb_hash_extended(e OPERATOR(pg_catalog.->) 'before', 0) AS before_hash "
									 "FROM pg_catalog.jsonb_array_elements($2) e) v "
									 HISTORY_LATEST_VERSION("$1") " "
									 "RETURNING change_id) "
									 "SELECT pg_catalog.min(change_id), pg_catalog.max(change_id), pg_catalog.count(*) FROM h",
									 diffsync_history_table()),
							5, argtypes);
		if (*plan == NULL)
			elog(ERROR, "could not prepare the history insert: %s", SPI_result_code_string(SPI_result));
	}
	args[1] = PointerGetDatum(entries_array(entries));
	if (diffsync_owner_execute_plan(*plan, args, nulls, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not record history of adapter \"%s\"", a->name);
	MemoryContextSwitchTo(mycxt);
	add_change_range_row(first, last, count);
}

/*
 * Model rows built in C from typed field values, for the live history of a
 * statement: what jsonb_build_object gives for the same values (numbers as
 * numerics, NaN and infinities as strings, text as strings, jsonb as
 * itself, NULL as null), without its per-value catalog lookups.  Only the
 * types listed are handled; a model with another type is read the SQL way.
 */
typedef enum DsConv
{
	DS_CONV_BOOL,
	DS_CONV_INT2,
	DS_CONV_INT4,
	DS_CONV_INT8,
	DS_CONV_NUMERIC,
	DS_CONV_TEXT,
	DS_CONV_JSONB
} DsConv;

struct DsRowBuilder
{
	int			nfields;		/* identifiers first */
	int			nids;
	const char **names;
	DsConv	   *conv;
};

/*
 * diffsync_row_builder
 *		A builder of model rows of fields (nids identifiers first), or NULL
 *		when a field's type is not one it handles.
 */
DsRowBuilder *
diffsync_row_builder(DsField **fields, int nfields, int nids)
{
	DsRowBuilder *rb = palloc(sizeof(DsRowBuilder));

	rb->nfields = nfields;
	rb->nids = nids;
	rb->names = palloc(sizeof(char *) * nfields);
	rb->conv = palloc(sizeof(DsConv) * nfields);
	for (int i = 0; i < nfields; i++)
	{
		rb->names[i] = fields[i]->name;
		switch (getBaseType(fields[i]->type))
		{
			case BOOLOID:
				rb->conv[i] = DS_CONV_BOOL;
				break;
			case INT2OID:
				rb->conv[i] = DS_CONV_INT2;
				break;
			case INT4OID:
				rb->conv[i] = DS_CONV_INT4;
				break;
			case INT8OID:
				rb->conv[i] = DS_CONV_INT8;
				break;
			case NUMERICOID:
				rb->conv[i] = DS_CONV_NUMERIC;
				break;
			case TEXTOID:
			case VARCHAROID:
				rb->conv[i] = DS_CONV_TEXT;
				break;
			case JSONBOID:
				rb->conv[i] = DS_CONV_JSONB;
				break;
			default:
				return NULL;
		}
	}
	return rb;
}

/* The jsonb value of field i holding d. */
static void
row_builder_value(DsRowBuilder *rb, int i, Datum d, bool isnull, JsonbValue *v)
{
	if (isnull)
	{
		v->type = jbvNull;
		return;
	}
	switch (rb->conv[i])
	{
		case DS_CONV_BOOL:
			v->type = jbvBool;
			v->val.boolean = DatumGetBool(d);
			break;
		case DS_CONV_INT2:
			v->type = jbvNumeric;
			v->val.numeric = int64_to_numeric(DatumGetInt16(d));
			break;
		case DS_CONV_INT4:
			v->type = jbvNumeric;
			v->val.numeric = int64_to_numeric(DatumGetInt32(d));
			break;
		case DS_CONV_INT8:
			v->type = jbvNumeric;
			v->val.numeric = int64_to_numeric(DatumGetInt64(d));
			break;
		case DS_CONV_NUMERIC:
			{
				Numeric		n = DatumGetNumeric(d);

				if (numeric_is_nan(n) || numeric_is_inf(n))
				{
					/* not a JSON number: to_jsonb makes it a string */
					char	   *str = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));

					v->type = jbvString;
					v->val.string.val = str;
					v->val.string.len = strlen(str);
				}
				else
				{
					v->type = jbvNumeric;
					v->val.numeric = n;
				}
				break;
			}
		case DS_CONV_TEXT:
			{
				text	   *t = DatumGetTextPP(d);

				v->type = jbvString;
				v->val.string.val = VARDATA_ANY(t);
				v->val.string.len = VARSIZE_ANY_EXHDR(t);
				break;
			}
		case DS_CONV_JSONB:
			{
				Jsonb	   *j = DatumGetJsonbP(d);

				if (JB_ROOT_IS_SCALAR(j))
					(void) JsonbExtractScalar(&j->root, v);
				else
				{
					v->type = jbvBinary;
					v->val.binary.data = &j->root;
					v->val.binary.len = VARSIZE(j) - VARHDRSZ;
				}
				break;
			}
	}
}

/*
 * The model object of fields [0, n) (n = nids: the key) of a row whose
 * field i is at column first + i of tup.
 */
static Jsonb *
row_builder_build(DsRowBuilder *rb, HeapTuple tup, TupleDesc desc, int first, int n)
{
	JsonbParseState *st = NULL;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < n; i++)
	{
		JsonbValue	k,
					v;
		bool		isnull;
		Datum		d = SPI_getbinval(tup, desc, first + i, &isnull);

		k.type = jbvString;
		k.val.string.val = (char *) rb->names[i];
		k.val.string.len = strlen(rb->names[i]);
		pushJsonbValue(&st, WJB_KEY, &k);
		row_builder_value(rb, i, d, isnull, &v);
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/*
 * diffsync_row_builder_columns
 *		The select list of the rows a builder reads: a presence flag, then
 *		the fields, of relation alias rel.
 */
char *
diffsync_row_builder_columns(DsRowBuilder *rb, const char *rel)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s.\"__ds_p\"", rel);
	for (int i = 0; i < rb->nfields; i++)
		appendStringInfo(&buf, ", %s.%s", rel, quote_identifier(rb->names[i]));
	return buf.data;
}

/* Rows of a set-based history recording fetched and recorded at a time */
#define HISTORY_BATCH 10000

/*
 * diffsync_history_record_sql
 *		Record versions set-based from changes_sql, a query of (key jsonb,
 *		before jsonb, after jsonb, action text, other_action text) with
 *		parameters (nargs, argtypes, args): a row makes a version of adapter
 *		when action is not null, and one of other when other_action is not
 *		null (the same change seen on both sides: the diff and hashes are
 *		computed once).
 *
 *		changes_sql runs as the caller: it reads the user's data through the
 *		adapters' expressions, which must never run with more rights than
 *		the caller has.  Only the insert into the history tables runs as the
 *		extension owner, fed the fetched rows as arrays, a batch at a time
 *		(memory stays bounded, whatever the statement's size); the patches
 *		and state hashes are computed here, in C.
 *
 *		The versions go into history_batches, one row per side and batch:
 *		no index entry and no lookup of the previous version per key.  They
 *		are numbered when read (the history view) and when materialized
 *		(diffsync_history_materialize), which is what makes history cheap
 *		enough for bulk statements.  They carry their full states until
 *		then, so that a chain broken by a write diffsync did not see still
 *		gets its full state when numbered.
 *
 *		With a row builder rb, changes_sql instead gives typed model fields:
 *		the row after the statement (a presence flag, then rb's fields), then
 *		the row before (the same), as diffsync_row_builder_columns lists
 *		them; the model rows, key and actions are made here (the adapter's
 *		own action when the row changed, and "update" or "delete" for other).
 *
 *		With other_derived, other's versions are derived (see the view
 *		history): changes_sql gives one for every row of the statement, and
 *		which of them the write changed, and how, is decided against other's
 *		previous versions when they are numbered.
 *
 *		For adapter's versions (side 0): with want_rows, notify(arg, change
 *		id, key, action) is called for each, in change id order; always, the
 *		change id range is added to *first, *last and *count.
 */
void
diffsync_history_record_sql(const char *adapter, const char *other, bool other_derived,
							const char *engine, const char *changes_sql, DsRowBuilder *rb,
							int nargs, Oid *argtypes, Datum *args, bool want_rows,
							DsHistoryNotify notify, void *notify_arg,
							int64 *first, int64 *last, int64 *count)
{
	Datum		act_create = CStringGetTextDatum("create");
	Datum		act_update = CStringGetTextDatum("update");
	Datum		act_delete = CStringGetTextDatum("delete");
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext batchcxt;
	SPIPlanPtr	insert_plan;
	SPIPlanPtr	select_plan;
	Portal		portal;

	if (!diffsync_history_batched())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("live history needs diffsync's tables of version 0.3"),
				 errhint("Run ALTER EXTENSION diffsync UPDATE.")));
	insert_plan = history_batch_prepare();

	/* the changes, read as the caller */
	select_plan = SPI_prepare(changes_sql, nargs, argtypes);
	if (select_plan == NULL)
		elog(ERROR, "could not prepare the changes of adapter \"%s\": %s", adapter,
			 SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, select_plan, args, NULL, false);
	batchcxt = AllocSetContextCreate(callercxt, "diffsync history batch", ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		uint64		n;
		HistorySide sides[2];
		SPITupleTable *tt;

		SPI_cursor_fetch(portal, true, HISTORY_BATCH);
		n = SPI_processed;
		if (n == 0)
			break;
		tt = SPI_tuptable;
		MemoryContextSwitchTo(batchcxt);
		history_side_init(&sides[0], n);
		history_side_init(&sides[1], n);
		for (uint64 i = 0; i < n; i++)
		{
			HeapTuple	tup = tt->vals[i];
			bool		isnull,
						bisnull,
						aisnull;
			Datum		key,
						before,
						after,
						patch = (Datum) 0,
						bh,
						ah;

			Datum		acts[2];
			bool		actnull[2];

			CHECK_FOR_INTERRUPTS();
			if (rb)
			{
				int			bcol = rb->nfields + 2;

				(void) SPI_getbinval(tup, tt->tupdesc, 1, &aisnull);
				(void) SPI_getbinval(tup, tt->tupdesc, bcol, &bisnull);
				after = aisnull ? (Datum) 0 :
					JsonbPGetDatum(row_builder_build(rb, tup, tt->tupdesc, 2, rb->nfields));
				before = bisnull ? (Datum) 0 :
					JsonbPGetDatum(row_builder_build(rb, tup, tt->tupdesc, bcol + 1, rb->nfields));
				key = JsonbPGetDatum(row_builder_build(rb, tup, tt->tupdesc,
													   aisnull ? bcol + 1 : 2, rb->nids));
				actnull[0] = false;
				if (aisnull)
					acts[0] = act_delete;
				else if (bisnull)
					acts[0] = act_create;
				else if (compareJsonbContainers(&DatumGetJsonbP(before)->root,
												&DatumGetJsonbP(after)->root) == 0)
					actnull[0] = true;
				else
					acts[0] = act_update;
				acts[1] = aisnull ? act_delete : act_update;
				actnull[1] = false;
			}
			else
			{
				key = SPI_getbinval(tup, tt->tupdesc, 1, &isnull);
				if (isnull)
					elog(ERROR, "a change of adapter \"%s\" has no key", adapter);
				before = SPI_getbinval(tup, tt->tupdesc, 2, &bisnull);
				after = SPI_getbinval(tup, tt->tupdesc, 3, &aisnull);
				acts[0] = SPI_getbinval(tup, tt->tupdesc, 4, &actnull[0]);
				acts[1] = SPI_getbinval(tup, tt->tupdesc, 5, &actnull[1]);
			}
			ah = aisnull ? (Datum) 0 :
				DirectFunctionCall2(jsonb_hash_extended, after, Int64GetDatum(0));
			bh = bisnull ? (Datum) 0 :
				DirectFunctionCall2(jsonb_hash_extended, before, Int64GetDatum(0));
			if (!bisnull && !aisnull && !(rb && actnull[0]))
			{
				JsonbValue	bv,
							av;

				diffsync_jsonb_root(DatumGetJsonbP(before), &bv);
				diffsync_jsonb_root(DatumGetJsonbP(after), &av);
				patch = JsonbPGetDatum(diffsync_diff_values(&bv, &av));
			}
			for (int side = 0; side < 2; side++)
			{
				HistorySide *s = &sides[side];
				Datum		action = acts[side];

				if (actnull[side] || (side == 1 && other == NULL))
					continue;
				history_side_add(s, key, action, after, aisnull, patch, bh, bisnull, ah, aisnull);
			}
		}

		MemoryContextSwitchTo(batchcxt);
		for (int side = 0; side < 2; side++)
		{
			HistorySide *s = &sides[side];
			Datum	   *idv;

			if (s->n == 0)
				continue;
			idv = history_batch_insert(insert_plan, side == 0 ? adapter : other, engine, 0, NULL,
									   side == 1 && other_derived, s);
			if (side == 1)
				continue;
			if (want_rows)
			{
				for (int i = 0; i < s->n; i++)
				{
					notify(notify_arg, DatumGetInt64(idv[i]), DatumGetJsonbP(s->keys[i]),
						   TextDatumGetCString(s->actions[i]));
					add_change_range(DatumGetInt64(idv[i]), DatumGetInt64(idv[i]), 1, first, last, count);
				}
			}
			else
				add_change_range(DatumGetInt64(idv[0]), DatumGetInt64(idv[s->n - 1]), s->n,
								 first, last, count);
		}
		SPI_freetuptable(tt);
		MemoryContextSwitchTo(callercxt);
		MemoryContextReset(batchcxt);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(select_plan);
	SPI_freeplan(insert_plan);
	MemoryContextDelete(batchcxt);
}

/* Push "name": value, or null. */
static void
history_member(JsonbParseState **st, const char *name, Jsonb *value)
{
	JsonbValue	v;

	diffsync_push_cstring(st, WJB_KEY, name);
	if (value)
		diffsync_jsonb_root(value, &v);
	else
		v.type = jbvNull;
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* Record one version per row just written by op. */
static void
writer_history(DsWriter *w, DsWriteOp op, List *rows)
{
	static const char *const actions[] = {"create", "update", "delete"};
	List	   *entries = NIL;
	ListCell   *lc;

	foreach(lc, rows)
	{
		DsPendingRow *pr = lfirst(lc);
		JsonbParseState *st = NULL;
		Jsonb	   *patch = NULL;

		if (op == DS_WRITE_UPDATE && pr->old)
		{
			JsonbValue	o,
						n;

			diffsync_jsonb_root(pr->old, &o);
			diffsync_jsonb_root(pr->row, &n);
			patch = diffsync_diff_values(&o, &n);
		}
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		history_member(&st, "key", diffsync_row_key(pr->row, w->ids, w->pair->nids));
		diffsync_push_cstring(&st, WJB_KEY, "action");
		diffsync_push_cstring(&st, WJB_VALUE, actions[op]);
		history_member(&st, "state", op == DS_WRITE_DELETE ? NULL : pr->row);
		history_member(&st, "patch", patch);
		if (pr->old)
			history_member(&st, "before", pr->old);
		entries = lappend(entries, JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)));
	}
	diffsync_history_insert(w->a, w->ids, w->pair->nids, entries, w->history,
							&w->history_plan, &w->first_change_id,
							&w->last_change_id, &w->versions);
}

/* Build the jsonb array of rows, and run op's statement on it. */
static int64
writer_execute(DsWriter *w, DsWriteOp op, List *rows)
{
	JsonbParseState *st = NULL;
	ListCell   *lc;
	Datum		args[1];
	volatile int rc;			/* set in PG_TRY, read after it */
	MemoryContext mycxt = CurrentMemoryContext;
	int			expected = (op == DS_WRITE_INSERT) ? SPI_OK_INSERT :
		(op == DS_WRITE_UPDATE) ? SPI_OK_UPDATE : SPI_OK_DELETE;

	int64		processed;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, rows)
	{
		JsonbValue	v;

		DsPendingRow *pr = lfirst(lc);

		if (op != DS_WRITE_INSERT && pr->old != NULL)
			diffsync_jsonb_root(row_with_old(pr->row, pr->old), &v);
		else
			diffsync_jsonb_root(pr->row, &v);
		pushJsonbValue(&st, WJB_ELEM, &v);
	}
	args[0] = JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_ARRAY, NULL)));
	diffsync_applying_push(w->engine);
	PG_TRY();
	{
		rc = SPI_execute_plan(writer_plan(w, op), args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		diffsync_applying_pop();
	}
	PG_END_TRY();
	if (rc != expected)
		elog(ERROR, "%s through adapter \"%s\" failed: %s", write_op_names[op],
			 w->a->name, SPI_result_code_string(rc));
	processed = (int64) SPI_processed;
	/* SPI returns in its procedure context: back to the flush's */
	MemoryContextSwitchTo(mycxt);

	/*
	 * An update or delete that found fewer rows than it was given met rows
	 * changed (or removed) since the sync read them, by a transaction that
	 * committed meanwhile: writing over them would lose that change.
	 */
	if (op != DS_WRITE_INSERT && processed < list_length(rows))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not %s " INT64_FORMAT " of %d rows of adapter \"%s\": they changed since the sync read them",
						write_op_names[op], (int64) list_length(rows) - processed,
						list_length(rows), w->a->name),
				 errhint("Another transaction changed them meanwhile; run the sync again.")));
	if (w->history && w->history->enabled)
		writer_history(w, op, rows);
	return processed;
}

/*
 * Run rows in a subtransaction.  Returns true on success; on failure the
 * subtransaction is rolled back and *edata receives the error.
 */
static bool
writer_try(DsWriter *w, DsWriteOp op, List *rows, ErrorData **edata)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;	/* set in PG_CATCH, read after it */

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		w->written[op] += writer_execute(w, op, rows);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		*edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		/* a cancel or timeout stops the sync, it is no failure of a row */
		if (ERRCODE_TO_CATEGORY((*edata)->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION)
			ReThrowError(*edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * diffsync_writer_flush
 *		Write the pending rows of op.
 */
void
diffsync_writer_flush(DsWriter *w, DsWriteOp op)
{
	List	   *rows = w->pending[op];
	ErrorData  *edata;
	MemoryContext oldcxt;

	if (rows == NIL)
		return;
	CHECK_FOR_INTERRUPTS();

	/*
	 * Everything a flush builds (the batch array, history entries, patches)
	 * goes in a context reset afterwards: SPI leaves its long-lived procedure
	 * context current, where it would pile up until the sync ends.
	 */
	oldcxt = MemoryContextSwitchTo(w->flushcxt);
	if (w->dry_run)
		w->written[op] += list_length(rows);
	else if (!w->continue_on_failure)
		w->written[op] += writer_execute(w, op, rows);
	else if (!writer_try(w, op, rows, &edata))
	{
		ListCell   *lc;

		/* find the culprits: one row at a time */
		FreeErrorData(edata);
		foreach(lc, rows)
		{
			if (!writer_try(w, op, list_make1(lfirst(lc)), &edata))
			{
				w->on_failure(w->failure_arg, op, ((DsPendingRow *) lfirst(lc))->row, edata);
				FreeErrorData(edata);
			}
		}
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(w->flushcxt);
	w->pending[op] = NIL;
	MemoryContextReset(w->cxt[op]);
}

/*
 * diffsync_writer_add
 *		Queue model row for op (old: the row it replaces, for history); flushes a full batch unless defer (deletes of
 *		a parent level wait until its children are done).
 */
void
diffsync_writer_add(DsWriter *w, DsWriteOp op, Jsonb *row, Jsonb *old, bool defer)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(w->cxt[op]);
	DsPendingRow *pr = palloc(sizeof(DsPendingRow));

	pr->row = palloc(VARSIZE(row));
	memcpy(pr->row, row, VARSIZE(row));
	pr->old = NULL;
	if (old && (op != DS_WRITE_INSERT || (w->history && w->history->enabled)))
	{
		pr->old = palloc(VARSIZE(old));
		memcpy(pr->old, old, VARSIZE(old));
	}
	w->pending[op] = lappend(w->pending[op], pr);
	MemoryContextSwitchTo(oldcxt);
	if (!defer && list_length(w->pending[op]) >= w->batch_size)
		diffsync_writer_flush(w, op);
}
