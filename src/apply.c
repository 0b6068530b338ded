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
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "diffsync.h"

static const char *const write_op_names[] = {"insert", "update", "delete"};

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

/* The value written to field f's column: its write expression, or itself. */
static char *
writer_value_sql(DsField *f)
{
	return f->write_sql ? f->write_sql : psprintf("m.%s", quote_identifier(f->name));
}

/* Condition matching relation row r with record w on the identifiers. */
static char *
writer_match_sql(DsWriter *w, const char *alias)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < w->pair->nids; i++)
		appendStringInfo(&buf, "%s%s OPERATOR(pg_catalog.=) %s.%s", i ? " AND " : "",
						 w->ids[i]->read_sql, alias, quote_identifier(w->ids[i]->name));
	if (w->a->filter)
		appendStringInfo(&buf, " AND (%s\n)", w->a->filter);
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
		appendStringInfo(&inner, "%sm.%s, %s AS \"__w_id%d\"", i ? ", " : "",
						 quote_identifier(w->ids[i]->name), writer_value_sql(w->ids[i]), i);
	for (int i = 0; i < w->nattrs; i++)
		appendStringInfo(&inner, ", %s AS \"__w_%d\"", writer_value_sql(w->attrs[i]), i);
	appendStringInfo(&inner, " FROM pg_catalog.jsonb_to_recordset($1) AS m(%s)",
					 writer_coldefs(w, true));

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
			appendStringInfo(&sql, " FROM (%s) w WHERE %s", inner.data,
							 writer_match_sql(w, "w"));
			break;
		case DS_WRITE_DELETE:
			appendStringInfo(&sql, "DELETE FROM %s r USING pg_catalog.jsonb_to_recordset($1) AS m(%s) WHERE %s",
							 w->a->relname, writer_coldefs(w, false), writer_match_sql(w, "m"));
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
	return w;
}

/* Build the jsonb array of rows, and run op's statement on it. */
static int64
writer_execute(DsWriter *w, DsWriteOp op, List *rows)
{
	JsonbParseState *st = NULL;
	ListCell   *lc;
	Datum		args[1];
	int			rc;
	int			expected = (op == DS_WRITE_INSERT) ? SPI_OK_INSERT :
		(op == DS_WRITE_UPDATE) ? SPI_OK_UPDATE : SPI_OK_DELETE;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, rows)
	{
		JsonbValue	v;

		diffsync_jsonb_root(lfirst(lc), &v);
		pushJsonbValue(&st, WJB_ELEM, &v);
	}
	args[0] = JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_ARRAY, NULL)));
	rc = SPI_execute_plan(writer_plan(w, op), args, NULL, false, 0);
	if (rc != expected)
		elog(ERROR, "%s through adapter \"%s\" failed: %s", write_op_names[op],
			 w->a->name, SPI_result_code_string(rc));
	return (int64) SPI_processed;
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
	bool		ok = true;

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

	if (rows == NIL)
		return;
	CHECK_FOR_INTERRUPTS();
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
				w->on_failure(w->failure_arg, op, lfirst(lc), edata);
				FreeErrorData(edata);
			}
		}
	}
	w->pending[op] = NIL;
	MemoryContextReset(w->cxt[op]);
}

/*
 * diffsync_writer_add
 *		Queue model row for op; flushes a full batch unless defer (deletes of
 *		a parent level wait until its children are done).
 */
void
diffsync_writer_add(DsWriter *w, DsWriteOp op, Jsonb *row, bool defer)
{
	MemoryContext old = MemoryContextSwitchTo(w->cxt[op]);
	Jsonb	   *copy = palloc(VARSIZE(row));

	memcpy(copy, row, VARSIZE(row));
	w->pending[op] = lappend(w->pending[op], copy);
	MemoryContextSwitchTo(old);
	if (!defer && list_length(w->pending[op]) >= w->batch_size)
		diffsync_writer_flush(w, op);
}
