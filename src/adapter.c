/*-------------------------------------------------------------------------
 *
 * adapter.c
 *	  Row adapters: the catalog diffsync.adapter, validation, the per-backend
 *	  cache, the SQL that reads a relation as model rows, and the functions
 *	  create_adapter(), drop_adapter() and load().
 *
 * An adapter maps one relation (table, view, foreign table) to a model:
 * identifier fields and attribute fields, each read by a SQL expression
 * over the relation (by default its column of the same name) and written
 * to a column, optionally through a write expression over the model fields.
 * User-supplied expressions (filter, read, write) are checked to parse as a
 * single expression before they are ever embedded in a statement, and every
 * statement runs with the caller's privileges.
 *
 * Cache: validated adapters live in a memory context under
 * CacheMemoryContext.  The whole cache is dropped on a relcache
 * invalidation of the catalog table (sent by the catalog trigger whenever
 * adapters change) or of any relation an adapter reads, so definitions,
 * column types and renames are never stale.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "diffsync.h"

/* Cached adapters; NULL context when the cache is empty */
static MemoryContext adapter_cache_cxt = NULL;
static List *adapter_cache = NIL;
static bool adapter_callback_registered = false;

/* Drop every cached adapter. */
static void
adapter_cache_reset(void)
{
	if (adapter_cache_cxt)
		MemoryContextDelete(adapter_cache_cxt);
	adapter_cache_cxt = NULL;
	adapter_cache = NIL;
}

/*
 * Relcache invalidation callback: drop the cache when the catalog table or a
 * relation under an adapter changes (relid InvalidOid means "everything").
 */
static void
adapter_relcache_callback(Datum arg, Oid relid)
{
	ListCell   *lc;
	Oid			catalog;

	if (adapter_cache == NIL)
		return;
	if (!OidIsValid(relid))
	{
		adapter_cache_reset();
		return;
	}
	catalog = get_relname_relid("adapter", get_namespace_oid(DIFFSYNC_SCHEMA, true));
	if (relid == catalog)
	{
		adapter_cache_reset();
		return;
	}
	foreach(lc, adapter_cache)
	{
		DsAdapter  *a = lfirst(lc);

		if (a->relid == relid)
		{
			adapter_cache_reset();
			return;
		}
	}
}

/*
 * diffsync_validate_expression
 *		Check that expr is exactly one SQL expression (no statement
 *		separator, no clauses, no subquery trickery around it); "what" names
 *		it in the error.  Semantic checks happen later, when it is prepared
 *		against the relation.
 */
void
diffsync_validate_expression(const char *expr, const char *what)
{
	List	   *stmts;
	SelectStmt *sel;
	MemoryContext oldcxt = CurrentMemoryContext;

	if (expr == NULL || expr[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is empty", what)));

	PG_TRY();
	{
		stmts = raw_parser(psprintf("SELECT (%s\n)", expr), RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s is not a valid SQL expression: %s", what, expr),
				 errdetail("%s", edata->message)));
	}
	PG_END_TRY();

	if (list_length(stmts) != 1 ||
		!IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt))
		goto bad;
	sel = (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt;
	if (sel->op != SETOP_NONE || list_length(sel->targetList) != 1 ||
		sel->fromClause || sel->whereClause || sel->groupClause ||
		sel->havingClause || sel->windowClause || sel->sortClause ||
		sel->limitCount || sel->limitOffset || sel->lockingClause ||
		sel->withClause || sel->intoClause || sel->distinctClause ||
		sel->valuesLists)
		goto bad;
	return;

bad:
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("%s must be a single SQL expression: %s", what, expr)));
}

/* Text of a jsonb string member, or NULL when absent or JSON null. */
static char *
adapter_json_string(JsonbValue *obj, const char *key, const char *adapter,
					const char *field)
{
	JsonbValue	v;

	if (!diffsync_object_get(obj, key, strlen(key), &v) || v.type == jbvNull)
		return NULL;
	if (v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" of field \"%s\" in the columns of adapter \"%s\" must be a string",
						key, field, adapter)));
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/*
 * Fill field f (model field "name") from the adapter's columns map: a
 * column name, or {"column", "read", "write"}.
 */
static void
adapter_map_field(DsAdapter *a, DsField *f, const char *name, Jsonb *columns)
{
	JsonbValue	root,
				m;
	char	   *column = NULL;
	char	   *read = NULL;
	char	   *write = NULL;

	f->name = pstrdup(name);
	diffsync_jsonb_root(columns, &root);
	if (diffsync_object_get(&root, name, strlen(name), &m))
	{
		if (m.type == jbvString)
			column = pnstrdup(m.val.string.val, m.val.string.len);
		else if (diffsync_value_kind(&m) == DS_KIND_OBJECT)
		{
			JsonbValue *keys,
					   *vals;
			int			n = diffsync_object_members(m.val.binary.data, &keys, &vals);

			for (int i = 0; i < n; i++)
			{
				char	   *k = pnstrdup(keys[i].val.string.val, keys[i].val.string.len);

				if (strcmp(k, "column") != 0 && strcmp(k, "read") != 0 &&
					strcmp(k, "write") != 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("unrecognized key \"%s\" for field \"%s\" in the columns of adapter \"%s\"",
									k, name, a->name),
							 errhint("A field maps to a column name, or to an object with \"column\", \"read\" and \"write\".")));
			}
			column = adapter_json_string(&m, "column", a->name, name);
			read = adapter_json_string(&m, "read", a->name, name);
			write = adapter_json_string(&m, "write", a->name, name);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" in the columns of adapter \"%s\" must map to a column name or an object",
							name, a->name)));
	}
	if (column == NULL && read == NULL)
		column = pstrdup(name);

	if (column)
	{
		AttrNumber	attnum = get_attnum(a->relid, column);

		if (attnum == InvalidAttrNumber || attnum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation %s does not exist",
							column, a->relname),
					 errdetail("Adapter \"%s\" maps model field \"%s\" to it.",
							   a->name, name),
					 errhint("Map the field to an existing column with the \"columns\" argument.")));
	}
	if (read)
		diffsync_validate_expression(read, psprintf("read expression of field \"%s\" of adapter \"%s\"", name, a->name));
	if (write)
	{
		if (column == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" of adapter \"%s\" has a write expression but no column",
							name, a->name)));
		diffsync_validate_expression(write, psprintf("write expression of field \"%s\" of adapter \"%s\"", name, a->name));
	}
	f->column = column;
	f->read_sql = read ? psprintf("(%s\n)", read) :
		psprintf("r.%s", quote_identifier(column));
	f->write_sql = write ? psprintf("(%s\n)", write) : NULL;
}

/* Read a text[] datum into a list of C strings; NULL elements are errors. */
static List *
adapter_text_array(Datum d, const char *what, const char *adapter)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *out = NIL;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s of adapter \"%s\" contain a NULL", what, adapter)));
		out = lappend(out, TextDatumGetCString(elems[i]));
	}
	return out;
}

/* Does a unique index (or primary key) cover exactly the identifier columns? */
static bool
adapter_ids_unique(DsAdapter *a)
{
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;
	bool		found = false;

	for (int i = 0; i < a->nids; i++)
		if (a->fields[i].column == NULL ||
			strncmp(a->fields[i].read_sql, "r.", 2) != 0)
			return false;
	if (a->relkind != RELKIND_RELATION && a->relkind != RELKIND_PARTITIONED_TABLE)
		return false;

	rel = table_open(a->relid, AccessShareLock);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index idx;
		bool		all = true;

		if (!HeapTupleIsValid(tup))
			continue;
		idx = (Form_pg_index) GETSTRUCT(tup);
		if (idx->indisunique && idx->indimmediate &&
			heap_attisnull(tup, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(tup, Anum_pg_index_indexprs, NULL) &&
			idx->indnkeyatts <= a->nids)
		{
			/* every key column of the index must be an identifier column */
			for (int k = 0; k < idx->indnkeyatts && all; k++)
			{
				bool		hit = false;

				for (int i = 0; i < a->nids; i++)
					if (get_attnum(a->relid, a->fields[i].column) == idx->indkey.values[k])
						hit = true;
				all = hit;
			}
			if (all)
				found = true;
		}
		ReleaseSysCache(tup);
		if (found)
			break;
	}
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Prepare the model query against the relation (LIMIT 0) to check the
 * filter and expressions and learn each field's type.
 */
static void
adapter_learn_types(DsAdapter *a)
{
	char	   *sql = psprintf("%s LIMIT 0", diffsync_adapter_select_sql(a, NULL));
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute(sql, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	for (int i = 0; i < a->nfields; i++)
	{
		Form_pg_attribute att = TupleDescAttr(SPI_tuptable->tupdesc, i);

		a->fields[i].type = att->atttypid;
		a->fields[i].typmod = att->atttypmod;
	}
	SPI_finish();
}

/*
 * Build and validate an adapter from its catalog values.  Allocates in the
 * current memory context.  Errors name the adapter.
 */
static DsAdapter *
adapter_build(const char *name, Oid relid, const char *model, List *ids,
			  List *attrs, Jsonb *columns, const char *filter,
			  const char *updated_at, const char *parent, Jsonb *parent_key)
{
	DsAdapter  *a = palloc0(sizeof(DsAdapter));
	ListCell   *lc;
	int			i = 0;
	AclResult	aclresult;

	a->name = pstrdup(name);
	a->relid = relid;
	a->relkind = get_rel_relkind(relid);
	if (a->relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation of adapter \"%s\" no longer exists", name),
				 errhint("Drop the adapter with diffsync.drop_adapter, or recreate it.")));
	if (a->relkind != RELKIND_RELATION && a->relkind != RELKIND_PARTITIONED_TABLE &&
		a->relkind != RELKIND_VIEW && a->relkind != RELKIND_MATVIEW &&
		a->relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("adapter \"%s\" must be on a table, view, materialized view or foreign table", name)));
	a->relname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											get_rel_name(relid));
	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for relation %s of adapter \"%s\"", a->relname, name),
				 errhint("diffsync runs with your privileges: you need SELECT on the relation to use the adapter.")));

	a->model = pstrdup(model);
	if (list_length(ids) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("adapter \"%s\" needs at least one identifier field", name)));

	a->nids = list_length(ids);
	a->nfields = a->nids + list_length(attrs);
	a->fields = palloc0(sizeof(DsField) * a->nfields);
	foreach(lc, ids)
	{
		a->fields[i].is_identifier = true;
		adapter_map_field(a, &a->fields[i++], lfirst(lc), columns);
	}
	foreach(lc, attrs)
		adapter_map_field(a, &a->fields[i++], lfirst(lc), columns);

	/* field names are unique across identifiers and attributes */
	for (int x = 0; x < a->nfields; x++)
		for (int y = x + 1; y < a->nfields; y++)
			if (strcmp(a->fields[x].name, a->fields[y].name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("field \"%s\" appears twice in adapter \"%s\"",
								a->fields[x].name, name),
						 errhint("A field is either an identifier or an attribute, once.")));

	if (filter)
	{
		diffsync_validate_expression(filter, psprintf("filter of adapter \"%s\"", name));
		a->filter = pstrdup(filter);
	}

	if (updated_at)
	{
		AttrNumber	attnum = get_attnum(relid, updated_at);

		if (attnum == InvalidAttrNumber || attnum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("updated_at column \"%s\" of adapter \"%s\" does not exist in %s",
							updated_at, name, a->relname)));
		{
			Oid			t = get_atttype(relid, attnum);

			if (t != TIMESTAMPTZOID && t != TIMESTAMPOID && t != DATEOID)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("updated_at column \"%s\" of adapter \"%s\" has type %s",
								updated_at, name, format_type_be(t)),
						 errhint("The last-update time must be a timestamptz, timestamp or date column.")));
		}
		a->ts_sql = psprintf("r.%s", quote_identifier(updated_at));
	}
	else if (a->relkind == RELKIND_RELATION || a->relkind == RELKIND_PARTITIONED_TABLE ||
			 a->relkind == RELKIND_MATVIEW)
	{
		a->ts_sql = pstrdup("r.xmin");
		a->ts_is_commit = true;
	}

	if (parent)
	{
		JsonbValue	root;
		JsonbValue *keys,
				   *vals;
		int			n;

		a->parent = pstrdup(parent);
		if (parent_key == NULL || !JB_ROOT_IS_OBJECT(parent_key) ||
			JB_ROOT_COUNT(parent_key) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("adapter \"%s\" has a parent but no parent_key", name),
					 errhint("parent_key maps this adapter's fields to the parent's identifier fields, e.g. '{\"site\": \"name\"}'.")));
		diffsync_jsonb_root(parent_key, &root);
		n = diffsync_object_members(root.val.binary.data, &keys, &vals);
		a->nparent_keys = n;
		a->parent_key_fields = palloc(sizeof(char *) * n);
		a->parent_key_parent = palloc(sizeof(char *) * n);
		for (int k = 0; k < n; k++)
		{
			a->parent_key_fields[k] = pnstrdup(keys[k].val.string.val, keys[k].val.string.len);
			if (vals[k].type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parent_key of adapter \"%s\" must map field names to parent field names", name)));
			a->parent_key_parent[k] = pnstrdup(vals[k].val.string.val, vals[k].val.string.len);
			if (diffsync_adapter_field(a, a->parent_key_fields[k]) == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("parent_key of adapter \"%s\" names field \"%s\", which the adapter does not have",
								name, a->parent_key_fields[k])));
		}
	}
	else if (parent_key != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("adapter \"%s\" has a parent_key but no parent", name)));

	adapter_learn_types(a);
	a->ids_unique = adapter_ids_unique(a);
	return a;
}

/*
 * diffsync_adapter_field
 *		The field of adapter a named name, or NULL.
 */
DsField *
diffsync_adapter_field(DsAdapter *a, const char *name)
{
	for (int i = 0; i < a->nfields; i++)
		if (strcmp(a->fields[i].name, name) == 0)
			return &a->fields[i];
	return NULL;
}

/* Read one adapter's catalog row and build it; NULL if there is none. */
static DsAdapter *
adapter_load(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int			rc;
	DsAdapter  *a = NULL;
	MemoryContext caller = CurrentMemoryContext;

	args[0] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT relation::pg_catalog.oid, model, identifiers, attributes, "
							   "columns, filter, updated_at, parent, parent_key "
							   "FROM " DIFFSYNC_SCHEMA ".adapter WHERE name OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *model = SPI_getvalue(tup, desc, 2);
		Datum		ids = SPI_getbinval(tup, desc, 3, &isnull);
		Datum		attrs = SPI_getbinval(tup, desc, 4, &isnull);
		Jsonb	   *columns = DatumGetJsonbP(SPI_getbinval(tup, desc, 5, &isnull));
		char	   *filter = SPI_getvalue(tup, desc, 6);
		char	   *updated_at = SPI_getvalue(tup, desc, 7);
		char	   *parent = SPI_getvalue(tup, desc, 8);
		Datum		pk = SPI_getbinval(tup, desc, 9, &isnull);
		MemoryContext spicxt = MemoryContextSwitchTo(caller);

		a = adapter_build(name, relid, model,
						  adapter_text_array(ids, "identifiers", name),
						  adapter_text_array(attrs, "attributes", name),
						  columns, filter, updated_at, parent,
						  isnull ? NULL : DatumGetJsonbPCopy(pk));
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();
	return a;
}

/*
 * diffsync_adapter_copy
 *		Deep copy of an adapter in the current memory context.
 */
DsAdapter *
diffsync_adapter_copy(DsAdapter *src)
{
	DsAdapter  *a = palloc(sizeof(DsAdapter));

	*a = *src;
	a->name = pstrdup(src->name);
	a->relname = pstrdup(src->relname);
	a->model = pstrdup(src->model);
	a->filter = src->filter ? pstrdup(src->filter) : NULL;
	a->ts_sql = src->ts_sql ? pstrdup(src->ts_sql) : NULL;
	a->parent = src->parent ? pstrdup(src->parent) : NULL;
	a->fields = palloc(sizeof(DsField) * src->nfields);
	for (int i = 0; i < src->nfields; i++)
	{
		DsField    *f = &a->fields[i];

		*f = src->fields[i];
		f->name = pstrdup(f->name);
		f->column = f->column ? pstrdup(f->column) : NULL;
		f->read_sql = pstrdup(f->read_sql);
		f->write_sql = f->write_sql ? pstrdup(f->write_sql) : NULL;
	}
	a->parent_key_fields = palloc(sizeof(char *) * Max(src->nparent_keys, 1));
	a->parent_key_parent = palloc(sizeof(char *) * Max(src->nparent_keys, 1));
	for (int i = 0; i < src->nparent_keys; i++)
	{
		a->parent_key_fields[i] = pstrdup(src->parent_key_fields[i]);
		a->parent_key_parent[i] = pstrdup(src->parent_key_parent[i]);
	}
	return a;
}

/*
 * diffsync_adapter_get
 *		The adapter named name, validated and cached; error if unknown.
 *		The result stays valid until the next cache invalidation, i.e. for
 *		the current statement: callers must not keep it longer.
 */
DsAdapter *
diffsync_adapter_get(const char *name)
{
	ListCell   *lc;
	DsAdapter  *a;
	MemoryContext oldcxt;

	if (!adapter_callback_registered)
	{
		CacheRegisterRelcacheCallback(adapter_relcache_callback, (Datum) 0);
		adapter_callback_registered = true;
	}
	foreach(lc, adapter_cache)
	{
		a = lfirst(lc);
		if (strcmp(a->name, name) == 0)
		{
			/* privileges are per user: check them on every use */
			if (pg_class_aclcheck(a->relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied for relation %s of adapter \"%s\"",
								a->relname, name)));
			return a;
		}
	}

	a = adapter_load(name);
	if (a == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("adapter \"%s\" does not exist", name),
				 errhint("List adapters with: SELECT * FROM diffsync.adapters;")));

	if (adapter_cache_cxt == NULL)
		adapter_cache_cxt = AllocSetContextCreate(CacheMemoryContext,
												  "diffsync adapter cache",
												  ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(adapter_cache_cxt);
	a = diffsync_adapter_copy(a);
	adapter_cache = lappend(adapter_cache, a);
	MemoryContextSwitchTo(oldcxt);
	return a;
}

/*
 * diffsync_adapter_children
 *		Names of the adapters whose parent is name, ordered by name.
 */
List *
diffsync_adapter_children(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	List	   *out = NIL;
	MemoryContext caller = CurrentMemoryContext;

	args[0] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT name FROM " DIFFSYNC_SCHEMA ".adapter "
							  "WHERE parent OPERATOR(pg_catalog.=) $1 ORDER BY name",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read child adapters");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *child = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext spicxt = MemoryContextSwitchTo(caller);

		out = lappend(out, pstrdup(child));
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();
	return out;
}

/*
 * diffsync_adapter_select_from
 *		SELECT of the adapter's model rows from relation (NULL: the adapter's
 *		own; or e.g. a trigger's transition table, which has the same
 *		columns): one column per field, named after the field, then, with
 *		with_ts, "__ds_ts" (what the last-update time comes from: the row's
 *		xmin or its updated_at column, turned into a time only for the rows
 *		that need it by diffsync_adapter_ts_expr).  The
 *		adapter's filter applies; extra_where, if given, is ANDed (an
 *		expression over alias r).
 */
char *
diffsync_adapter_select_from(DsAdapter *a, const char *relation,
							 const char *extra_where, bool with_ts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT ");
	for (int i = 0; i < a->nfields; i++)
		appendStringInfo(&buf, "%s%s AS %s", i ? ", " : "", a->fields[i].read_sql,
						 quote_identifier(a->fields[i].name));
	if (with_ts)
		appendStringInfo(&buf, ", %s AS \"__ds_ts\"",
						 a->ts_sql ? a->ts_sql : "NULL::pg_catalog.timestamptz");
	appendStringInfo(&buf, " FROM %s r", relation ? relation : a->relname);
	if (a->filter || extra_where)
	{
		appendStringInfoString(&buf, " WHERE ");
		if (a->filter)
			appendStringInfo(&buf, "(%s\n)", a->filter);
		if (a->filter && extra_where)
			appendStringInfoString(&buf, " AND ");
		if (extra_where)
			appendStringInfo(&buf, "(%s\n)", extra_where);
	}
	return buf.data;
}

/*
 * diffsync_adapter_ts_expr
 *		The last-update time of a model row whose "__ds_ts" column is col:
 *		the commit timestamp of its xmin, or its updated_at column as a
 *		timestamptz, or NULL when the adapter has none.  Computed outside
 *		the scans, so that only rows that differ pay for it.
 */
char *
diffsync_adapter_ts_expr(DsAdapter *a, const char *col)
{
	if (a->ts_sql == NULL)
		return "NULL::pg_catalog.timestamptz";
	if (a->ts_is_commit)
	{
		/* unknown without track_commit_timestamp: only strategies that need it fail */
		if (strcmp(GetConfigOption("track_commit_timestamp", false, false), "on") != 0)
			return "NULL::pg_catalog.timestamptz";
		return psprintf("pg_catalog.pg_xact_commit_timestamp(%s)", col);
	}
	return psprintf("(%s)::pg_catalog.timestamptz", col);
}

/*
 * diffsync_adapter_select_sql
 *		SELECT of the adapter's model rows with their last-update time.
 */
char *
diffsync_adapter_select_sql(DsAdapter *a, const char *extra_where)
{
	return diffsync_adapter_select_from(a, NULL, extra_where, true);
}

/*
 * diffsync_jsonb_object_sql
 *		SQL building a jsonb object of the given fields read from alias
 *		(e.g. s."id"), or with alias NULL from the relation row r through
 *		the fields' read expressions; chunks of 50 pairs are concatenated,
 *		since a function takes at most 100 arguments.
 */
char *
diffsync_jsonb_object_sql(DsField **fields, int nfields, const char *alias)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (nfields == 0)
	{
		appendStringInfoString(&buf, "'{}'::pg_catalog.jsonb");
		return buf.data;
	}
	appendStringInfoChar(&buf, '(');
	for (int i = 0; i < nfields; i++)
	{
		if (i % 50 == 0)
			appendStringInfo(&buf, "%spg_catalog.jsonb_build_object(",
							 i == 0 ? "" : ") OPERATOR(pg_catalog.||) ");
		else
			appendStringInfoString(&buf, ", ");
		if (alias)
			appendStringInfo(&buf, "%s, %s.%s",
							 quote_literal_cstr(fields[i]->name), alias,
							 quote_identifier(fields[i]->name));
		else
			appendStringInfo(&buf, "%s, %s",
							 quote_literal_cstr(fields[i]->name), fields[i]->read_sql);
	}
	appendStringInfoString(&buf, "))");
	return buf.data;
}

/* Tell every backend (and this one) that adapters changed. */
static void
adapter_catalog_changed(void)
{
	Oid			catalog = get_relname_relid("adapter", get_namespace_oid(DIFFSYNC_SCHEMA, false));

	CacheInvalidateRelcacheByRelid(catalog);
	adapter_cache_reset();
}

PG_FUNCTION_INFO_V1(diffsync_adapter_catalog_trigger);

/*
 * Statement trigger on diffsync.adapter: any change to the catalog drops
 * every backend's adapter cache at commit.
 */
Datum
diffsync_adapter_catalog_trigger(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("diffsync_adapter_catalog_trigger must be called as a trigger")));
	adapter_catalog_changed();
	return PointerGetDatum(NULL);
}

/* A text[] datum from a list of C strings. */
static Datum
adapter_list_to_array(List *l)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(l), 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, l)
		elems[i++] = CStringGetTextDatum(lfirst(lc));
	return PointerGetDatum(construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Default attributes: every column (not dropped, not system) that no
 * identifier reads, other than the updated_at column, named by the field
 * that renames it or else by the column name.
 */
static List *
adapter_default_attributes(Oid relid, List *ids, Jsonb *columns,
						   const char *updated_at)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *out = NIL;
	JsonbValue	root;
	JsonbValue *keys = NULL,
			   *vals = NULL;
	int			nmap = 0;

	diffsync_jsonb_root(columns, &root);
	if (diffsync_value_kind(&root) == DS_KIND_OBJECT)
		nmap = diffsync_object_members(root.val.binary.data, &keys, &vals);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		char	   *col = NameStr(att->attname);
		char	   *field = col;
		bool		used = false;
		ListCell   *lc;

		if (att->attisdropped)
			continue;
		if (updated_at && strcmp(col, updated_at) == 0)
			continue;
		/* a field renamed onto this column takes its name */
		for (int k = 0; k < nmap; k++)
		{
			JsonbValue	c;

			if (vals[k].type == jbvString)
				c = vals[k];
			else if (!diffsync_object_get(&vals[k], "column", 6, &c) || c.type != jbvString)
				continue;
			if (c.val.string.len == (int) strlen(col) &&
				memcmp(c.val.string.val, col, c.val.string.len) == 0)
				field = pnstrdup(keys[k].val.string.val, keys[k].val.string.len);
		}
		foreach(lc, ids)
			if (strcmp(lfirst(lc), field) == 0)
				used = true;
		if (!used)
			out = lappend(out, pstrdup(field));
	}
	relation_close(rel, AccessShareLock);
	return out;
}

/*
 * Every field the columns map names must be a field of the adapter: a
 * mapping nothing uses is a mistake (often a misspelt field, or a rename
 * onto a column that does not exist, which default attributes skip).
 */
static void
adapter_check_columns_map(DsAdapter *a, Jsonb *columns)
{
	JsonbValue	root;
	JsonbValue *keys,
			   *vals;
	int			n;

	diffsync_jsonb_root(columns, &root);
	n = diffsync_object_members(root.val.binary.data, &keys, &vals);
	for (int i = 0; i < n; i++)
	{
		char	   *field = pnstrdup(keys[i].val.string.val, keys[i].val.string.len);

		if (diffsync_adapter_field(a, field) == NULL && vals[i].type == jbvString)
		{
			char	   *column = pnstrdup(vals[i].val.string.val, vals[i].val.string.len);
			AttrNumber	attnum = get_attnum(a->relid, column);

			if (attnum == InvalidAttrNumber || attnum < 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of relation %s does not exist", column, a->relname),
						 errdetail("Adapter \"%s\" maps model field \"%s\" to it.", a->name, field),
						 errhint("Map the field to an existing column with the \"columns\" argument.")));
		}
		if (diffsync_adapter_field(a, field) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("columns of adapter \"%s\" map field \"%s\", which is neither an identifier nor an attribute",
							a->name, field),
					 errhint("With attributes left NULL, only existing columns become attributes: check the column name.")));
	}
}

PG_FUNCTION_INFO_V1(diffsync_create_adapter);

/*
 * diffsync.create_adapter(name, relation, identifiers, attributes, columns,
 *						   filter, updated_at, parent, parent_key, model)
 *		Register (and validate) a row adapter.
 */
Datum
diffsync_create_adapter(PG_FUNCTION_ARGS)
{
	char	   *name;
	Oid			relid;
	List	   *ids;
	List	   *attrs;
	Jsonb	   *columns;
	char	   *filter = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	char	   *updated_at = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
	char	   *parent = PG_ARGISNULL(7) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(7));
	Jsonb	   *parent_key = PG_ARGISNULL(8) ? NULL : PG_GETARG_JSONB_P(8);
	char	   *model;
	Oid			argtypes[11] = {TEXTOID, OIDOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID,
	JSONBOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, REGROLEOID};
	Datum		args[11];
	char		nulls[11];
	int			rc;
	DsAdapter  *a;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name, relation and identifiers of an adapter must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("adapter name must not be empty")));
	relid = PG_GETARG_OID(1);
	ids = adapter_text_array(PG_GETARG_DATUM(2), "identifiers", name);
	columns = PG_ARGISNULL(4) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(4);
	if (!JB_ROOT_IS_OBJECT(columns))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("columns of adapter \"%s\" must be a JSON object", name),
				 errhint("Map model field names to column names, e.g. '{\"content\": \"body\"}'.")));
	model = PG_ARGISNULL(9) ? name : text_to_cstring(PG_GETARG_TEXT_PP(9));
	if (get_rel_relkind(relid) == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	attrs = PG_ARGISNULL(3) ? adapter_default_attributes(relid, ids, columns, updated_at)
		: adapter_text_array(PG_GETARG_DATUM(3), "attributes", name);

	if (parent)
	{
		Oid			ptypes[1] = {TEXTOID};
		Datum		pargs[1];

		pargs[0] = CStringGetTextDatum(parent);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute_with_args("SELECT 1 FROM " DIFFSYNC_SCHEMA ".adapter WHERE name OPERATOR(pg_catalog.=) $1",
								   1, ptypes, pargs, NULL, false, 1);
		if (rc != SPI_OK_SELECT || SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("parent adapter \"%s\" of adapter \"%s\" does not exist", parent, name)));
		SPI_finish();
	}

	/* validate everything before writing anything */
	a = adapter_build(name, relid, model, ids, attrs, columns, filter,
					  updated_at, parent, parent_key);
	adapter_check_columns_map(a, columns);
	/* names diffsync's own statements use for their working columns */
	for (int i = 0; i < a->nfields; i++)
		if (strncmp(a->fields[i].name, "__ds_", 5) == 0 || strncmp(a->fields[i].name, "__w_", 4) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 errmsg("field name \"%s\" of adapter \"%s\" is reserved", a->fields[i].name, name),
					 errdetail("Names beginning with \"__ds_\" or \"__w_\" are diffsync's working columns."),
					 errhint("Give the field another name and map it to its column, e.g. columns => '{\"%s\": \"%s\"}'.",
							 a->fields[i].name + (a->fields[i].name[2] == 'd' ? 5 : 4), a->fields[i].name)));
	if (parent)
	{
		/* the parent's identifiers must all be covered by parent_key */
		DsAdapter  *p = diffsync_adapter_get(parent);

		for (int i = 0; i < a->nparent_keys; i++)
		{
			DsField    *pf = diffsync_adapter_field(p, a->parent_key_parent[i]);

			if (pf == NULL || !pf->is_identifier)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parent_key of adapter \"%s\" maps to \"%s\", which is not an identifier of parent adapter \"%s\"",
								name, a->parent_key_parent[i], parent)));
		}
		if (a->nparent_keys != p->nids)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parent_key of adapter \"%s\" must map every identifier of parent adapter \"%s\"",
							name, parent)));
	}

	args[0] = CStringGetTextDatum(name);
	args[1] = ObjectIdGetDatum(relid);
	args[2] = CStringGetTextDatum(model);
	args[3] = adapter_list_to_array(ids);
	args[4] = adapter_list_to_array(attrs);
	args[5] = JsonbPGetDatum(columns);
	args[6] = filter ? CStringGetTextDatum(filter) : (Datum) 0;
	args[7] = updated_at ? CStringGetTextDatum(updated_at) : (Datum) 0;
	args[8] = parent ? CStringGetTextDatum(parent) : (Datum) 0;
	args[9] = parent_key ? JsonbPGetDatum(parent_key) : (Datum) 0;
	memset(nulls, ' ', sizeof(nulls));
	if (!filter)
		nulls[6] = 'n';
	if (!updated_at)
		nulls[7] = 'n';
	if (!parent)
		nulls[8] = 'n';
	if (!parent_key)
		nulls[9] = 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT 1 FROM " DIFFSYNC_SCHEMA ".adapter WHERE name OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, nulls, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the adapter catalog");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("adapter \"%s\" already exists", name)));
	if (parent)
	{
		rc = SPI_execute_with_args("SELECT 1 FROM " DIFFSYNC_SCHEMA ".adapter WHERE name OPERATOR(pg_catalog.=) $1",
								   1, argtypes + 8, args + 8, nulls + 8, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("parent adapter \"%s\" of adapter \"%s\" does not exist", parent, name)));
	}
	args[10] = ObjectIdGetDatum(GetUserId());
	nulls[10] = ' ';
	rc = diffsync_owner_execute("INSERT INTO " DIFFSYNC_SCHEMA ".adapter "
								"(name, relation, model, identifiers, attributes, columns, filter, updated_at, parent, parent_key, owner) "
								"VALUES ($1, $2::pg_catalog.regclass, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
								11, argtypes, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not insert into the adapter catalog");
	SPI_finish();

	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(diffsync_drop_adapter);

/*
 * diffsync.drop_adapter(name) -- remove an adapter.  Adapters with child
 * adapters or engines using them cannot be dropped (foreign keys say so).
 */
Datum
diffsync_drop_adapter(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int			rc;

	args[0] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT 1 FROM " DIFFSYNC_SCHEMA ".adapter WHERE parent OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, NULL, true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop adapter \"%s\" because other adapters are its children", name),
				 errhint("Drop the child adapters first.")));
	rc = SPI_execute_with_args("SELECT 1 FROM " DIFFSYNC_SCHEMA ".engine WHERE source OPERATOR(pg_catalog.=) $1 OR target OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, NULL, true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop adapter \"%s\" because an engine uses it", name),
				 errhint("Drop the engine first with diffsync.drop_engine.")));
	rc = SPI_execute_with_args("SELECT owner FROM " DIFFSYNC_SCHEMA ".adapter WHERE name OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the adapter catalog");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("adapter \"%s\" does not exist", name)));
	{
		bool		isnull;

		diffsync_check_owner(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
							 psprintf("adapter \"%s\"", name));
	}
	rc = diffsync_owner_execute("DELETE FROM " DIFFSYNC_SCHEMA ".adapter WHERE name OPERATOR(pg_catalog.=) $1",
								1, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not delete from the adapter catalog");
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(diffsync_load);

/*
 * diffsync.load(adapter) -> SETOF (key jsonb, attrs jsonb, updated_at)
 *		The model view of an adapter's rows.
 */
Datum
diffsync_load(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DsAdapter  *a = diffsync_adapter_get(name);
	DsField   **ids = palloc(sizeof(DsField *) * a->nfields);
	DsField   **attrs = palloc(sizeof(DsField *) * a->nfields);
	char	   *sql;
	Portal		portal;

	for (int i = 0; i < a->nfields; i++)
	{
		ids[i] = &a->fields[i];
		attrs[i] = &a->fields[i];
	}
	sql = psprintf("SELECT %s, %s, %s FROM (%s) m",
				   diffsync_jsonb_object_sql(ids, a->nids, "m"),
				   diffsync_jsonb_object_sql(attrs + a->nids, a->nfields - a->nids, "m"),
				   diffsync_adapter_ts_expr(a, "m.\"__ds_ts\""),
				   diffsync_adapter_select_sql(a, NULL));

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			Datum		values[3];
			bool		nulls[3];

			heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return (Datum) 0;
}
