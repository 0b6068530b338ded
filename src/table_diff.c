/*-------------------------------------------------------------------------
 *
 * table_diff.c
 *	  Diff of two adapters: model pairing (children by model name), run
 *	  options, the generated FULL JOIN that finds differing keys, and the
 *	  functions diff(), diff_summary() and diff_text().
 *
 * The diff of one model level is one statement: the two adapters' model
 * rows FULL JOINed on the identifier fields, keeping rows present on one
 * side only or whose compared attributes are DISTINCT, typed, exactly as a
 * hand-written query would.  jsonb model rows are built only for the rows
 * that differ, and streamed through a cursor, so memory stays bounded
 * whatever the table sizes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/typcache.h"

#include "diffsync.h"

/* Columns of the diff statement */
#define DIFF_COL_KEY		1
#define DIFF_COL_SRC		2
#define DIFF_COL_DST		3
#define DIFF_COL_SRC_TS		4
#define DIFF_COL_DST_TS		5
#define DIFF_COL_CHANGED	6

/* Does the string s equal JSON string v? */
static bool
key_is(const JsonbValue *v, const char *s)
{
	return v->val.string.len == (int) strlen(s) &&
		memcmp(v->val.string.val, s, v->val.string.len) == 0;
}

/* Read an integer option, at least min. */
static int
int_option(const JsonbValue *v, const char *fn, const char *name, int min)
{
	int64		n;

	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s option \"%s\" must be a number", fn, name)));
	{
		bool		overflow = false;

		n = numeric_int4_opt_error(v->val.numeric, &overflow);
		if (overflow)
			n = -1;				/* out of any range: reported below */
	}
	if (n < min || n > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s option \"%s\" must be between %d and %d", fn, name, min, PG_INT32_MAX)));
	return (int) n;
}

/*
 * diffsync_parse_run_options
 *		Read the options object of diff-like (sync false) or sync-like
 *		functions named fn.  Unknown keys are errors.
 */
void
diffsync_parse_run_options(Jsonb *options, DsRunOptions *opts, const char *fn,
						   bool sync)
{
	JsonbIterator *it;
	JsonbValue	key,
				val;
	JsonbIteratorToken tok;

	memset(opts, 0, sizeof(*opts));
	opts->max_conflicts = 1000;
	opts->batch_size = 1000;
	opts->history = true;
	opts->notify = true;
	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s options must be a JSON object", fn)));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);

		if (key_is(&key, "skip_unmatched_src"))
			opts->skip_unmatched_src = diffsync_bool_option(&val, fn, "skip_unmatched_src");
		else if (key_is(&key, "skip_unmatched_dst"))
			opts->skip_unmatched_dst = diffsync_bool_option(&val, fn, "skip_unmatched_dst");
		else if (key_is(&key, "log_unchanged"))
			opts->log_unchanged = diffsync_bool_option(&val, fn, "log_unchanged");
		else if (key_is(&key, "where"))
		{
			opts->where = diffsync_string_option(&val, fn, "where");
			diffsync_validate_expression(opts->where, psprintf("%s option \"where\"", fn));
		}
		else if (key_is(&key, "buckets"))
		{
			opts->buckets = int_option(&val, fn, "buckets", 1);
			if (opts->buckets > (1 << 24) || (opts->buckets & (opts->buckets - 1)) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"buckets\" must be a power of two between 1 and 16777216, not %d",
								fn, opts->buckets)));
		}
		else if (key_is(&key, "path"))
		{
			opts->path = diffsync_string_option(&val, fn, "path");
			if (!diffsync_pointer_valid(opts->path, strlen(opts->path)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"path\" is not a valid JSON pointer: \"%s\"", fn, opts->path)));
			opts->path_len = diffsync_pointer_parse(opts->path, strlen(opts->path),
													&opts->path_segs);
			if (opts->path_len == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"path\" must name an attribute, e.g. \"/doc/metadata\"", fn)));
		}
		else if (key_is(&key, "attributes"))
		{
			JsonbValue *items;
			int			n;

			if (diffsync_value_kind(&val) != DS_KIND_ARRAY)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"attributes\" must be an array of attribute names", fn)));
			n = diffsync_container_items(val.val.binary.data, &items);
			for (int i = 0; i < n; i++)
			{
				if (items[i].type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("%s option \"attributes\" must be an array of attribute names", fn)));
				opts->attributes = lappend(opts->attributes,
										   pnstrdup(items[i].val.string.val, items[i].val.string.len));
			}
		}
		else if (sync && key_is(&key, "dry_run"))
			opts->dry_run = diffsync_bool_option(&val, fn, "dry_run");
		else if (sync && key_is(&key, "continue_on_failure"))
			opts->continue_on_failure = diffsync_bool_option(&val, fn, "continue_on_failure");
		else if (sync && key_is(&key, "resolver"))
			opts->resolver = diffsync_string_option(&val, fn, "resolver");
		else if (sync && key_is(&key, "max_conflicts"))
			opts->max_conflicts = int_option(&val, fn, "max_conflicts", 0);
		else if (sync && key_is(&key, "batch_size"))
			opts->batch_size = int_option(&val, fn, "batch_size", 1);
		else if (sync && key_is(&key, "history"))
			opts->history = diffsync_bool_option(&val, fn, "history");
		else if (sync && key_is(&key, "notify"))
			opts->notify = diffsync_bool_option(&val, fn, "notify");
		else if (sync && key_is(&key, "notify_per"))
		{
			char	   *per = diffsync_string_option(&val, fn, "notify_per");

			if (strcmp(per, "row") == 0)
				opts->notify_per_statement = false;
			else if (strcmp(per, "statement") == 0)
				opts->notify_per_statement = true;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"notify_per\" must be \"row\" or \"statement\"", fn)));
		}
		else if (sync && key_is(&key, "channel"))
		{
			opts->channel = diffsync_string_option(&val, fn, "channel");
			diffsync_check_channel(opts->channel, fn);
		}
		else
			diffsync_unknown_option(&key, fn, sync ?
									"\"skip_unmatched_src\", \"skip_unmatched_dst\", \"log_unchanged\", \"attributes\", \"where\", \"path\", \"buckets\", \"dry_run\", \"continue_on_failure\", \"resolver\", \"max_conflicts\", \"batch_size\", \"history\", \"notify\", \"notify_per\" and \"channel\"" :
									"\"skip_unmatched_src\", \"skip_unmatched_dst\", \"log_unchanged\", \"attributes\", \"where\", \"path\" and \"buckets\"");
	}
	if (opts->buckets > 0 && opts->log_unchanged)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s options \"buckets\" and \"log_unchanged\" cannot be combined", fn),
				 errdetail("A bucket diff reads only the rows of buckets that differ.")));
}

/* Comma-separated field names, for messages. */
static char *
field_names(DsAdapter *a, bool ids)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < a->nfields; i++)
	{
		if (a->fields[i].is_identifier != ids)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, a->fields[i].name);
	}
	return buf.data;
}

/* Check that a field has the same type on both sides. */
static void
check_types(DsPair *p, DsField *sf, DsField *df)
{
	if (sf->type != df->type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("field \"%s\" has type %s in adapter \"%s\" but type %s in adapter \"%s\"",
						sf->name, format_type_be(sf->type), p->src->name,
						format_type_be(df->type), p->dst->name),
				 errhint("Give the field the same type on both sides, for example with a read transform in the adapter's columns: {\"%s\": {\"column\": \"...\", \"read\": \"...::%s\"}}.",
						 sf->name, format_type_be(df->type))));
}

/* Pair two adapters into p: identifiers, compared attributes, types. */
static void
pair_fields(DsPair *p, DsRunOptions *opts, bool top)
{
	DsAdapter  *s = p->src;
	DsAdapter  *d = p->dst;

	if (s->relid == d->relid && s->filter == NULL && d->filter == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("adapters \"%s\" and \"%s\" read the same rows of %s", s->name, d->name, s->relname),
				 errhint("A diff needs two different relations, or filters that split one.")));

	p->nids = s->nids;
	p->sids = palloc(sizeof(DsField *) * s->nids);
	p->dids = palloc(sizeof(DsField *) * s->nids);
	for (int i = 0; i < s->nids; i++)
	{
		DsField    *df = diffsync_adapter_field(d, s->fields[i].name);

		if (s->nids != d->nids || df == NULL || !df->is_identifier)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("adapters \"%s\" and \"%s\" have different identifiers", s->name, d->name),
					 errdetail("\"%s\" has (%s); \"%s\" has (%s).", s->name, field_names(s, true),
							   d->name, field_names(d, true))));
		p->sids[i] = &s->fields[i];
		p->dids[i] = df;
		check_types(p, p->sids[i], df);
	}

	p->nattrs = 0;
	p->sattrs = palloc(sizeof(DsField *) * Max(s->nfields, 1));
	p->dattrs = palloc(sizeof(DsField *) * Max(s->nfields, 1));
	p->path_attr = -1;
	for (int i = s->nids; i < s->nfields; i++)
	{
		DsField    *df = diffsync_adapter_field(d, s->fields[i].name);
		ListCell   *lc;
		bool		wanted = (opts->attributes == NIL);

		if (df == NULL || df->is_identifier)
			continue;
		foreach(lc, opts->attributes)
			if (strcmp(lfirst(lc), s->fields[i].name) == 0)
				wanted = true;
		if (!wanted)
			continue;
		check_types(p, &s->fields[i], df);
		p->sattrs[p->nattrs] = &s->fields[i];
		p->dattrs[p->nattrs] = df;
		p->nattrs++;
	}

	if (top)
	{
		ListCell   *lc;

		foreach(lc, opts->attributes)
		{
			bool		found = false;

			for (int i = 0; i < p->nattrs; i++)
				if (strcmp(p->sattrs[i]->name, lfirst(lc)) == 0)
					found = true;
			if (!found)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("\"%s\" is not an attribute of both adapters \"%s\" and \"%s\"",
								(char *) lfirst(lc), s->name, d->name)));
		}
		if (opts->path)
		{
			for (int i = 0; i < p->nattrs; i++)
				if (opts->path_segs[0].len == (int) strlen(p->sattrs[i]->name) &&
					memcmp(opts->path_segs[0].name, p->sattrs[i]->name, opts->path_segs[0].len) == 0)
					p->path_attr = i;
			if (p->path_attr < 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("path \"%s\" does not start with an attribute of both adapters \"%s\" and \"%s\"",
								opts->path, s->name, d->name)));
			if (opts->path_len > 1 && p->sattrs[p->path_attr]->type != JSONBOID)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("path \"%s\" goes into attribute \"%s\", which is not jsonb",
								opts->path, p->sattrs[p->path_attr]->name)));
		}
	}
}

/* Add pairs for the children of pair index parent, matched by model name. */
static List *
pair_children(List *pairs, int parent, DsRunOptions *opts)
{
	DsPair	   *pp = list_nth(pairs, parent);
	List	   *schildren = diffsync_adapter_children(pp->src->name);
	List	   *dchildren = diffsync_adapter_children(pp->dst->name);
	ListCell   *ls,
			   *ld;

	foreach(ls, schildren)
	{
		DsAdapter  *sa = diffsync_adapter_copy(diffsync_adapter_get(lfirst(ls)));

		foreach(ld, dchildren)
		{
			DsAdapter  *da = diffsync_adapter_get(lfirst(ld));
			DsPair	   *p;

			if (strcmp(sa->model, da->model) != 0)
				continue;
			p = palloc0(sizeof(DsPair));
			p->src = sa;
			p->dst = diffsync_adapter_copy(da);
			p->model = sa->model;
			p->depth = pp->depth + 1;
			p->parent = parent;
			if (p->depth > 32)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_RECURSION),
						 errmsg("adapter hierarchy under \"%s\" is deeper than 32 levels", pp->src->name),
						 errhint("Check the parent of the adapters for a cycle.")));
			pair_fields(p, opts, false);
			pairs = lappend(pairs, p);
			pairs = pair_children(pairs, list_length(pairs) - 1, opts);
			break;
		}
	}
	return pairs;
}

/*
 * diffsync_build_pairs
 *		The model levels of a diff of adapters source and target: the pair
 *		itself, then child adapters sharing a model name, depth first, so
 *		that a parent always comes before its children.
 */
List *
diffsync_build_pairs(const char *source, const char *target, DsRunOptions *opts)
{
	DsPair	   *p = palloc0(sizeof(DsPair));
	List	   *pairs;

	p->src = diffsync_adapter_copy(diffsync_adapter_get(source));
	p->dst = diffsync_adapter_copy(diffsync_adapter_get(target));
	p->model = p->src->model;
	p->parent = -1;
	pair_fields(p, opts, true);
	pairs = list_make1(p);
	if (opts->path == NULL)
		pairs = pair_children(pairs, 0, opts);
	return pairs;
}

/* The SQL comparing field f on aliases s and t, as a value to put in ROW(). */
static char *
compare_sql(DsField *f, const char *alias, DsRunOptions *opts, bool is_path)
{
	char	   *col = psprintf("%s.%s", alias, quote_identifier(f->name));

	if (is_path && opts->path_len > 1)
	{
		StringInfoData arr;

		initStringInfo(&arr);
		appendStringInfoChar(&arr, '{');
		for (int i = 1; i < opts->path_len; i++)
		{
			if (i > 1)
				appendStringInfoChar(&arr, ',');
			appendStringInfoChar(&arr, '"');
			for (int c = 0; c < opts->path_segs[i].len; c++)
			{
				char		ch = opts->path_segs[i].name[c];

				if (ch == '"' || ch == '\\')
					appendStringInfoChar(&arr, '\\');
				appendStringInfoChar(&arr, ch);
			}
			appendStringInfoChar(&arr, '"');
		}
		appendStringInfoChar(&arr, '}');
		return psprintf("(%s OPERATOR(pg_catalog.#>) %s::pg_catalog.text[])", col,
						quote_literal_cstr(arr.data));
	}
	/*
	 * A jsonb field's SQL NULL and JSON null are one model value (model rows
	 * show both as null, and writes store null as SQL NULL), so they compare
	 * equal; otherwise a sync could never converge on them.
	 */
	if (f->type == JSONBOID)
		return psprintf("COALESCE(%s, 'null'::pg_catalog.jsonb)", col);
	return psprintf("%s%s", col, diffsync_compare_cast(f->type));
}

/*
 * diffsync_compare_cast
 *		What to append to a value of type to compare it: nothing, or a cast
 *		to text for types without an equality operator (json, xml, point).
 */
const char *
diffsync_compare_cast(Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);

	return OidIsValid(tc->eq_opr) ? "" : "::pg_catalog.text";
}

/*
 * diffsync_model_where
 *		The WHERE of one side's model rows for this run ("where" option),
 *		or NULL.
 */
char *
diffsync_model_where(DsPair *pair, DsRunOptions *opts, bool source)
{
	return opts->where ? psprintf("(%s\n)", opts->where) : NULL;
}

/*
 * Checksum-bucket diff ("buckets" option).
 *
 * Each side's rows are hashed per bucket on its own server: the bucket is
 * the key hash masked to the bucket count, and a bucket's checksum is its
 * row count, the sum of its key hashes and, per attribute, the sum of the
 * key hash xor the attribute hash (NULL attributes drop out of the sum, so
 * NULL and a value differ).  Only the aggregates cross the wire; the diff
 * then reads only the rows of buckets whose checksums differ.  The hashes
 * are the types' own extended hash functions, which postgres_fdw ships to
 * the remote server.  A false "differs" costs only transfer; a missed
 * difference needs a 64-bit collision.
 */

/* The SQL of field f's 64-bit hash on alias, seeded with seed. */
static char *
hash_sql(DsField *f, const char *alias, int seed)
{
	TypeCacheEntry *tc = lookup_type_cache(getBaseType(f->type),
										   TYPECACHE_HASH_EXTENDED_PROC);
	char	   *col = psprintf("%s.%s", alias, quote_identifier(f->name));
	Oid			fn = tc->hash_extended_proc;

	if (OidIsValid(fn))
		return psprintf("%s(%s, %d)",
						quote_qualified_identifier(get_namespace_name(get_func_namespace(fn)),
												   get_func_name(fn)),
						col, seed);
	/* types without a hash opclass (json, xml, point) hash their text */
	return psprintf("pg_catalog.hashtextextended(%s::pg_catalog.text, %d)", col, seed);
}

/* The key hash of one side's row on alias m. */
static char *
key_hash_sql(DsField **ids, int nids)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (int i = 0; i < nids; i++)
		appendStringInfo(&buf, "%s%s", i ? " OPERATOR(pg_catalog.#) " : "",
						 hash_sql(ids[i], "m", i));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* The bucket of one side's row on alias m. */
static char *
bucket_sql(DsField **ids, int nids, int buckets)
{
	return psprintf("(%s OPERATOR(pg_catalog.&) %d::pg_catalog.int8)",
					key_hash_sql(ids, nids), buckets - 1);
}

/* One side's per-bucket checksums: (b, n, k, a0, a1, ...). */
static char *
bucket_side_sql(DsPair *pair, DsRunOptions *opts, bool source)
{
	DsField   **ids = source ? pair->sids : pair->dids;
	DsField   **attrs = source ? pair->sattrs : pair->dattrs;
	char	   *hk = key_hash_sql(ids, pair->nids);
	char	   *where = diffsync_model_where(pair, opts, source);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "SELECT %s, pg_catalog.count(*), pg_catalog.sum(%s)",
					 bucket_sql(ids, pair->nids, opts->buckets), hk);
	for (int i = 0; i < pair->nattrs; i++)
		appendStringInfo(&buf, ", pg_catalog.sum(%s OPERATOR(pg_catalog.#) %s)",
						 hk, hash_sql(attrs[i], "m", 1000 + i));
	appendStringInfo(&buf, " FROM (%s) m%s%s GROUP BY 1",
					 diffsync_adapter_select_sql(source ? pair->src : pair->dst,
												 source ? opts->src_where : opts->dst_where),
					 where ? " WHERE " : "", where ? where : "");
	return buf.data;
}

/*
 * diffsync_bucket_compare_sql
 *		The statement returning (bucket, source rows, target rows) of every
 *		bucket whose checksums differ, in bucket order.
 */
char *
diffsync_bucket_compare_sql(DsPair *pair, DsRunOptions *opts)
{
	StringInfoData cols,
				scols,
				tcols;

	initStringInfo(&cols);
	initStringInfo(&scols);
	initStringInfo(&tcols);
	appendStringInfoString(&cols, "b, n, k");
	appendStringInfoString(&scols, "s.n, s.k");
	appendStringInfoString(&tcols, "t.n, t.k");
	for (int i = 0; i < pair->nattrs; i++)
	{
		appendStringInfo(&cols, ", a%d", i);
		appendStringInfo(&scols, ", s.a%d", i);
		appendStringInfo(&tcols, ", t.a%d", i);
	}
	return psprintf("SELECT COALESCE(s.b, t.b), COALESCE(s.n, 0), COALESCE(t.n, 0)"
					" FROM (%s) s(%s) FULL JOIN (%s) t(%s) ON s.b OPERATOR(pg_catalog.=) t.b"
					" WHERE ROW(%s) IS DISTINCT FROM ROW(%s) ORDER BY 1",
					bucket_side_sql(pair, opts, true), cols.data,
					bucket_side_sql(pair, opts, false), cols.data,
					scols.data, tcols.data);
}

/*
 * The differing buckets of a pair, as the body of an int8[] literal, or
 * NULL when none differs.  Runs the bucket comparison; SPI must be
 * connected.
 */
static char *
differing_buckets(DsPair *pair, DsRunOptions *opts)
{
	StringInfoData list;
	int			rc;
	int64		srows = 0,
				drows = 0;

	rc = SPI_execute(diffsync_bucket_compare_sql(pair, opts), true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "bucket checksum query failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		ereport(DEBUG1,
				(errmsg_internal("diffsync: model \"%s\": no bucket of %d differs",
								 pair->model, opts->buckets)));
		return NULL;
	}
	initStringInfo(&list);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		b = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 1, &isnull));

		srows += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 2, &isnull));
		drows += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 3, &isnull));
		appendStringInfo(&list, "%s" INT64_FORMAT, i ? "," : "", b);
	}
	ereport(DEBUG1,
			(errmsg_internal("diffsync: model \"%s\": " UINT64_FORMAT " of %d buckets differ, reading "
							 INT64_FORMAT " source and " INT64_FORMAT " target rows",
							 pair->model, SPI_processed, opts->buckets, srows, drows)));
	SPI_freetuptable(SPI_tuptable);
	return list.data;
}

/* The condition keeping one side's rows (alias m) in the listed buckets. */
static char *
bucket_filter(DsPair *pair, DsRunOptions *opts, bool source, const char *list)
{
	if (list == NULL)
		return "false";
	return psprintf("%s OPERATOR(pg_catalog.=) ANY ('{%s}'::pg_catalog.int8[])",
					bucket_sql(source ? pair->sids : pair->dids, pair->nids, opts->buckets),
					list);
}

/*
 * The FROM clause of a pair's diff (source rows s FULL JOIN target rows t on
 * the identifiers, each with a "__ds_p" presence flag) and the condition
 * "attributes differ", into from and distinct.
 */
static void
diff_from_sql(DsPair *pair, DsRunOptions *opts, StringInfo from, StringInfo distinct,
			  bool buckets)
{
	char	   *where = diffsync_model_where(pair, opts, true);
	char	   *swhere = where,
			   *twhere = where;
	StringInfoData scmp,
				tcmp;

	initStringInfo(&scmp);
	initStringInfo(&tcmp);
	for (int i = 0; i < pair->nattrs; i++)
	{
		bool		is_path = (i == pair->path_attr);

		if (pair->path_attr >= 0 && !is_path)
			continue;
		appendStringInfo(&scmp, "%s%s", scmp.len ? ", " : "",
						 compare_sql(pair->sattrs[i], "s", opts, is_path));
		appendStringInfo(&tcmp, "%s%s", tcmp.len ? ", " : "",
						 compare_sql(pair->dattrs[i], "t", opts, is_path));
	}
	if (scmp.len)
		appendStringInfo(distinct, "ROW(%s) IS DISTINCT FROM ROW(%s)", scmp.data, tcmp.data);
	else
		appendStringInfoString(distinct, "false");

	if (buckets && opts->buckets > 0)
	{
		char	   *list = differing_buckets(pair, opts);
		char	   *sb = bucket_filter(pair, opts, true, list);
		char	   *tb = bucket_filter(pair, opts, false, list);

		swhere = where ? psprintf("%s AND %s", where, sb) : sb;
		twhere = where ? psprintf("%s AND %s", where, tb) : tb;
	}
	appendStringInfo(from,
					 " FROM (SELECT m.*, true AS \"__ds_p\" FROM (%s) m%s%s) s"
					 " FULL JOIN (SELECT m.*, true AS \"__ds_p\" FROM (%s) m%s%s) t ON ",
					 diffsync_adapter_select_sql(pair->src, opts->src_where),
					 swhere ? " WHERE " : "", swhere ? swhere : "",
					 diffsync_adapter_select_sql(pair->dst, opts->dst_where),
					 twhere ? " WHERE " : "", twhere ? twhere : "");
	for (int i = 0; i < pair->nids; i++)
		appendStringInfo(from, "%ss.%s OPERATOR(pg_catalog.=) t.%s", i ? " AND " : "",
						 quote_identifier(pair->sids[i]->name),
						 quote_identifier(pair->sids[i]->name));
	if (opts->base_join)
		appendStringInfo(from, " %s", opts->base_join);
}

/*
 * diffsync_diff_sql
 *		The statement returning (key, src, dst, src_ts, dst_ts, changed) for
 *		every differing key of a pair, or every key when all_rows.
 */
char *
diffsync_diff_sql(DsPair *pair, DsRunOptions *opts, bool all_rows,
				  const char *base_engine)
{
	StringInfoData buf;
	StringInfoData from;
	StringInfoData distinct;
	DsField   **sfields = palloc(sizeof(DsField *) * (pair->nids + pair->nattrs));

	for (int i = 0; i < pair->nids; i++)
		sfields[i] = pair->sids[i];
	for (int i = 0; i < pair->nattrs; i++)
		sfields[pair->nids + i] = pair->sattrs[i];
	initStringInfo(&from);
	initStringInfo(&distinct);
	diff_from_sql(pair, opts, &from, &distinct, !all_rows);

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "SELECT CASE WHEN s.\"__ds_p\" THEN %s ELSE %s END, "
					 "CASE WHEN s.\"__ds_p\" THEN %s END, "
					 "CASE WHEN t.\"__ds_p\" THEN %s END, "
					 "%s, %s, %s%s%s",
					 diffsync_jsonb_object_sql(sfields, pair->nids, "s"),
					 diffsync_jsonb_object_sql(sfields, pair->nids, "t"),
					 diffsync_jsonb_object_sql(sfields, pair->nids + pair->nattrs, "s"),
					 diffsync_jsonb_object_sql(sfields, pair->nids + pair->nattrs, "t"),
					 diffsync_adapter_ts_expr(pair->src, "s.\"__ds_ts\""),
					 diffsync_adapter_ts_expr(pair->dst, "t.\"__ds_ts\""),
					 distinct.data,
					 opts->base_sql ? psprintf(", %s", opts->base_sql) :
					 base_engine ? psprintf(", (SELECT b.state FROM " DIFFSYNC_SCHEMA ".engine_base b"
											" WHERE b.engine OPERATOR(pg_catalog.=) %s"
											" AND b.model OPERATOR(pg_catalog.=) %s"
											" AND b.key OPERATOR(pg_catalog.=) CASE WHEN s.\"__ds_p\" THEN %s ELSE %s END)",
											quote_literal_cstr(base_engine),
											quote_literal_cstr(pair->model),
											diffsync_jsonb_object_sql(sfields, pair->nids, "s"),
											diffsync_jsonb_object_sql(sfields, pair->nids, "t")) : "",
					 from.data);
	if (!all_rows)
		appendStringInfo(&buf, " WHERE s.\"__ds_p\" IS NULL OR t.\"__ds_p\" IS NULL OR %s",
						 distinct.data);
	return buf.data;
}

/*
 * diffsync_equal_rows_sql
 *		The statement returning (key, source row) of every key present and
 *		equal on both sides: an inner join on the identifiers keeping rows
 *		whose attributes are not distinct, building jsonb only for them.
 *		With untimed_only, only keys where a side's row has no last-update
 *		time (for commit timestamps: written by the current transaction).
 */
char *
diffsync_equal_rows_sql(DsPair *pair, DsRunOptions *opts, bool untimed_only)
{
	StringInfoData from;
	StringInfoData distinct;
	DsField   **sfields = palloc(sizeof(DsField *) * (pair->nids + pair->nattrs));
	char	   *sql;

	for (int i = 0; i < pair->nids; i++)
		sfields[i] = pair->sids[i];
	for (int i = 0; i < pair->nattrs; i++)
		sfields[pair->nids + i] = pair->sattrs[i];
	initStringInfo(&from);
	initStringInfo(&distinct);
	diff_from_sql(pair, opts, &from, &distinct, false);
	/* the FULL JOIN of diff_from_sql, as an inner join */
	sql = psprintf("SELECT %s, %s%s WHERE s.\"__ds_p\" AND t.\"__ds_p\" AND NOT (%s)%s",
				   diffsync_jsonb_object_sql(sfields, pair->nids, "s"),
				   diffsync_jsonb_object_sql(sfields, pair->nids + pair->nattrs, "s"),
				   from.data, distinct.data,
				   untimed_only ?
				   psprintf(" AND (%s IS NULL OR %s IS NULL)",
							diffsync_adapter_ts_expr(pair->src, "s.\"__ds_ts\""),
							diffsync_adapter_ts_expr(pair->dst, "t.\"__ds_ts\"")) : "");
	return sql;
}

/*
 * The statement counting, for a pair, rows only in source, only in target,
 * in both and changed, in both and unchanged, and rows with a NULL
 * identifier.
 */
static char *
diff_count_sql(DsPair *pair, DsRunOptions *opts)
{
	StringInfoData from;
	StringInfoData distinct;
	StringInfoData nullids;

	initStringInfo(&from);
	initStringInfo(&distinct);
	initStringInfo(&nullids);
	diff_from_sql(pair, opts, &from, &distinct, false);
	for (int i = 0; i < pair->nids; i++)
		appendStringInfo(&nullids, "%s(s.%s IS NULL AND s.\"__ds_p\") OR (t.%s IS NULL AND t.\"__ds_p\")",
						 i ? " OR " : "", quote_identifier(pair->sids[i]->name),
						 quote_identifier(pair->sids[i]->name));
	return psprintf("SELECT pg_catalog.count(*) FILTER (WHERE t.\"__ds_p\" IS NULL), "
					"pg_catalog.count(*) FILTER (WHERE s.\"__ds_p\" IS NULL), "
					"pg_catalog.count(*) FILTER (WHERE s.\"__ds_p\" AND t.\"__ds_p\" AND %s), "
					"pg_catalog.count(*) FILTER (WHERE s.\"__ds_p\" AND t.\"__ds_p\" AND NOT %s), "
					"pg_catalog.count(*) FILTER (WHERE %s)%s",
					distinct.data, distinct.data, nullids.data, from.data);
}

/*
 * diffsync_check_unique
 *		Error 23505 if two rows of adapter a that satisfy where (over alias
 *		m, the adapter's model rows; NULL: all) share identifiers ids, unless
 *		a unique index covers them.
 */
void
diffsync_check_unique(DsAdapter *a, DsField **ids, int nids, const char *where,
					  bool read_only)
{
	StringInfoData cols;
	char	   *sql;
	int			rc;

	if (a->ids_unique)
		return;
	initStringInfo(&cols);
	for (int i = 0; i < nids; i++)
		appendStringInfo(&cols, "%sm.%s", i ? ", " : "", quote_identifier(ids[i]->name));
	/*
	 * No LIMIT: with one, the planner would rather sort every key locally
	 * than let postgres_fdw group them on the remote server.
	 */
	sql = psprintf("SELECT %s FROM (SELECT %s FROM (%s) m%s%s GROUP BY %s"
				   " HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1) m",
				   diffsync_jsonb_object_sql(ids, nids, "m"),
				   cols.data, diffsync_adapter_select_sql(a, NULL),
				   where ? " WHERE " : "", where ? where : "", cols.data);
	rc = SPI_execute(sql, read_only, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "duplicate check failed: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("adapter \"%s\" has more than one row with identifiers %s", a->name,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Identifiers must be unique: fix the data, or choose identifier fields that are.")));
}

/*
 * Per-run checks of a pair that need queries: unique identifiers on both
 * sides.
 */
void
diffsync_check_pair(DsPair *pair, DsRunOptions *opts)
{
	diffsync_check_unique(pair->src, pair->sids, pair->nids,
						  diffsync_model_where(pair, opts, true), true);
	diffsync_check_unique(pair->dst, pair->dids, pair->nids,
						  diffsync_model_where(pair, opts, false), true);
}

/* Raise the error for a NULL identifier in a diff row. */
void
diffsync_check_key(DsPair *pair, DsDiffRow *row)
{
	JsonbValue	key;
	JsonbValue *keys,
			   *vals;
	int			n;

	diffsync_jsonb_root(row->key, &key);
	n = diffsync_object_members(key.val.binary.data, &keys, &vals);
	for (int i = 0; i < n; i++)
		if (vals[i].type == jbvNull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("adapter \"%s\" has a row whose identifier \"%.*s\" is NULL",
							row->src ? pair->src->name : pair->dst->name,
							keys[i].val.string.len, keys[i].val.string.val),
					 errhint("Filter such rows out with the adapter's filter, or give them identifiers.")));
}

/*
 * diffsync_read_diff_row
 *		Read one row of the diff statement (the values stay in SPI memory).
 */
void
diffsync_read_diff_row(HeapTuple tup, TupleDesc desc, DsDiffRow *row)
{
	bool		isnull;
	Datum		d;

	row->key = DatumGetJsonbP(SPI_getbinval(tup, desc, DIFF_COL_KEY, &isnull));
	d = SPI_getbinval(tup, desc, DIFF_COL_SRC, &isnull);
	row->src = isnull ? NULL : DatumGetJsonbP(d);
	d = SPI_getbinval(tup, desc, DIFF_COL_DST, &isnull);
	row->dst = isnull ? NULL : DatumGetJsonbP(d);
	row->src_ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, DIFF_COL_SRC_TS, &row->src_ts_null));
	row->dst_ts = DatumGetTimestampTz(SPI_getbinval(tup, desc, DIFF_COL_DST_TS, &row->dst_ts_null));
	row->base = NULL;
	if (desc->natts >= 7)
	{
		d = SPI_getbinval(tup, desc, 7, &isnull);
		row->base = isnull ? NULL : DatumGetJsonbP(d);
	}
}

/* Value of attribute name in model row jsonb, or NULL when absent. */
static JsonbValue *
row_attr(Jsonb *row, const char *name, JsonbValue *out)
{
	JsonbValue	root;

	diffsync_jsonb_root(row, &root);
	return diffsync_object_get(&root, name, strlen(name), out) ? out : NULL;
}

/*
 * diffsync_row_changes
 *		{attribute: {"source", "target"[, "patch"]}} for the attributes that
 *		differ between model rows src and dst (with a path option: just the
 *		section, keyed by the path).  jsonb attributes carry the RFC 6902
 *		patch from the target value to the source value.
 */
Jsonb *
diffsync_row_changes(DsPair *pair, DsRunOptions *opts, Jsonb *src, Jsonb *dst)
{
	JsonbParseState *st = NULL;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < pair->nattrs; i++)
	{
		JsonbValue	sv,
					dv;
		JsonbValue *s,
				   *d;
		const char *name = pair->sattrs[i]->name;

		if (pair->path_attr >= 0 && i != pair->path_attr)
			continue;
		s = row_attr(src, name, &sv);
		d = row_attr(dst, name, &dv);
		if (pair->path_attr == i && opts->path_len > 1)
		{
			JsonbValue	ssec,
						dsec;
			bool		has_s = s && diffsync_value_get_path(s, opts->path_segs + 1, opts->path_len - 1, &ssec);
			bool		has_d = d && diffsync_value_get_path(d, opts->path_segs + 1, opts->path_len - 1, &dsec);

			if (has_s == has_d && (!has_s || diffsync_values_equal(&ssec, &dsec)))
				continue;
			diffsync_push_cstring(&st, WJB_KEY, opts->path);
			pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
			if (has_s)
			{
				diffsync_push_cstring(&st, WJB_KEY, "source");
				pushJsonbValue(&st, WJB_VALUE, &ssec);
			}
			if (has_d)
			{
				diffsync_push_cstring(&st, WJB_KEY, "target");
				pushJsonbValue(&st, WJB_VALUE, &dsec);
			}
			if (has_s && has_d)
			{
				JsonbValue	patch;

				diffsync_jsonb_root(diffsync_diff_values(&dsec, &ssec), &patch);
				diffsync_push_cstring(&st, WJB_KEY, "patch");
				pushJsonbValue(&st, WJB_VALUE, &patch);
			}
			pushJsonbValue(&st, WJB_END_OBJECT, NULL);
			continue;
		}
		if (s && d && diffsync_values_equal(s, d))
			continue;
		diffsync_push_cstring(&st, WJB_KEY, name);
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		diffsync_push_cstring(&st, WJB_KEY, "source");
		pushJsonbValue(&st, WJB_VALUE, s);
		diffsync_push_cstring(&st, WJB_KEY, "target");
		pushJsonbValue(&st, WJB_VALUE, d);
		if (pair->sattrs[i]->type == JSONBOID)
		{
			JsonbValue	patch;

			diffsync_jsonb_root(diffsync_diff_values(d, s), &patch);
			diffsync_push_cstring(&st, WJB_KEY, "patch");
			pushJsonbValue(&st, WJB_VALUE, &patch);
		}
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

static Jsonb *fetch_row(DsPair *pair, bool source, Jsonb *key, bool lock);

/*
 * diffsync_fetch_row
 *		The current model row (identifiers and the pair's attributes) of key
 *		through one side of a pair, or NULL when there is none.  Inside SPI.
 */
Jsonb *
diffsync_fetch_row(DsPair *pair, bool source, Jsonb *key)
{
	return fetch_row(pair, source, key, false);
}

/*
 * diffsync_fetch_row_locked
 *		diffsync_fetch_row, locking the row FOR UPDATE when the adapter is
 *		over a table.
 */
Jsonb *
diffsync_fetch_row_locked(DsPair *pair, bool source, Jsonb *key)
{
	return fetch_row(pair, source, key, true);
}

/* The row of key through one side, optionally locked. */
static Jsonb *
fetch_row(DsPair *pair, bool source, Jsonb *key, bool lock)
{
	DsAdapter  *a = source ? pair->src : pair->dst;
	DsField   **ids = source ? pair->sids : pair->dids;
	DsField   **fields = palloc(sizeof(DsField *) * (pair->nids + pair->nattrs));
	StringInfoData defs,
				match;
	Oid			argtypes[1] = {JSONBOID};
	Datum		args[1];
	bool		isnull;
	char	   *sql;

	initStringInfo(&defs);
	initStringInfo(&match);
	for (int i = 0; i < pair->nids; i++)
	{
		fields[i] = ids[i];
		appendStringInfo(&defs, "%s%s %s", i ? ", " : "", quote_identifier(ids[i]->name),
						 format_type_with_typemod(ids[i]->type, ids[i]->typmod));
		appendStringInfo(&match, "%sm.%s OPERATOR(pg_catalog.=) k.%s", i ? " AND " : "",
						 quote_identifier(ids[i]->name), quote_identifier(ids[i]->name));
	}
	for (int i = 0; i < pair->nattrs; i++)
		fields[pair->nids + i] = source ? pair->sattrs[i] : pair->dattrs[i];
	sql = psprintf("SELECT %s FROM (%s) m, pg_catalog.jsonb_to_record($1) AS k(%s) WHERE %s%s",
				   diffsync_jsonb_object_sql(fields, pair->nids + pair->nattrs, "m"),
				   diffsync_adapter_select_sql(a, NULL), defs.data, match.data,
				   lock && (a->relkind == RELKIND_RELATION || a->relkind == RELKIND_PARTITIONED_TABLE) ?
				   " FOR UPDATE OF m" : "");
	args[0] = JsonbPGetDatum(key);
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, false, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read the current row of adapter \"%s\"", a->name);
	if (SPI_processed == 0)
		return NULL;
	return DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * diffsync_pair_for_adapter
 *		A pair whose two sides are the same adapter, covering all its
 *		fields: lets single-adapter operations (commit_version, restore)
 *		reuse the row reader and the writers.
 */
DsPair *
diffsync_pair_for_adapter(DsAdapter *a)
{
	DsPair	   *p = palloc0(sizeof(DsPair));

	p->src = p->dst = a;
	p->model = a->model;
	p->parent = -1;
	p->path_attr = -1;
	p->nids = a->nids;
	p->nattrs = a->nfields - a->nids;
	p->sids = p->dids = palloc(sizeof(DsField *) * Max(a->nids, 1));
	p->sattrs = p->dattrs = palloc(sizeof(DsField *) * Max(p->nattrs, 1));
	for (int i = 0; i < a->nids; i++)
		p->sids[i] = &a->fields[i];
	for (int i = 0; i < p->nattrs; i++)
		p->sattrs[i] = &a->fields[a->nids + i];
	return p;
}

/*
 * diffsync_row_from_state
 *		A model row of the pair from a stored state: the identifiers of key,
 *		the pair's attributes from state (JSON null where state lacks one).
 */
Jsonb *
diffsync_row_from_state(DsPair *pair, Jsonb *key, Jsonb *state)
{
	JsonbParseState *st = NULL;
	JsonbValue	k,
				s;

	diffsync_jsonb_root(key, &k);
	diffsync_jsonb_root(state, &s);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < pair->nids + pair->nattrs; i++)
	{
		DsField    *f = i < pair->nids ? pair->sids[i] : pair->sattrs[i - pair->nids];
		JsonbValue	v;

		diffsync_push_cstring(&st, WJB_KEY, f->name);
		if (!diffsync_object_get(i < pair->nids ? &k : &s, f->name, strlen(f->name), &v))
			v.type = jbvNull;
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/* Callback per diff row: the pair, the row, the action and the user data. */
typedef void (*DiffRowFn) (DsPair *pair, DsRunOptions *opts, DsDiffRow *row,
						   const char *action, void *arg);

/*
 * Run the diff of every pair (in order), calling fn for each row with its
 * action: create, update, delete, unchanged (with log_unchanged), or skip
 * (unmatched rows the skip_unmatched_* options suppress).  With sorted, rows
 * of a pair come ordered by key.
 */
static void
diff_walk(List *pairs, DsRunOptions *opts, bool sorted, DiffRowFn fn, void *arg)
{
	ListCell   *lc;
	int64		examined = 0;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "diffsync diff row",
												 ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, pairs)
	{
		DsPair	   *pair = lfirst(lc);
		char	   *sql = diffsync_diff_sql(pair, opts, opts->log_unchanged, NULL);
		Portal		portal;

		diffsync_check_pair(pair, opts);
		if (sorted)
			sql = psprintf("SELECT * FROM (%s) d(key, src, dst, src_ts, dst_ts, changed) ORDER BY d.key", sql);
		portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
		for (;;)
		{
			SPITupleTable *batch;
			uint64		nrows;

			SPI_cursor_fetch(portal, true, 1000);
			batch = SPI_tuptable;
			nrows = SPI_processed;
			if (nrows == 0)
				break;
			for (uint64 i = 0; i < nrows; i++)
			{
				DsDiffRow	row;
				const char *action;
				bool		isnull;
				MemoryContext old = MemoryContextSwitchTo(rowcxt);

				diffsync_read_diff_row(batch->vals[i], batch->tupdesc, &row);
				diffsync_check_key(pair, &row);
				if (row.dst == NULL)
					action = opts->skip_unmatched_src ? "skip" : "create";
				else if (row.src == NULL)
					action = opts->skip_unmatched_dst ? "skip" : "delete";
				else if (DatumGetBool(SPI_getbinval(batch->vals[i], batch->tupdesc,
													DIFF_COL_CHANGED, &isnull)))
					action = "update";
				else
					action = "unchanged";
				fn(pair, opts, &row, action, arg);
				MemoryContextSwitchTo(old);
				MemoryContextReset(rowcxt);
				examined++;
				if (diffsync_progress_rows > 0 && examined % diffsync_progress_rows == 0)
					ereport(NOTICE,
							(errmsg("diffsync: diff of \"%s\" and \"%s\": " INT64_FORMAT " rows examined so far",
									pair->src->name, pair->dst->name, examined)));
			}
			SPI_freetuptable(batch);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
	}
	SPI_finish();
	MemoryContextDelete(rowcxt);
}

/* State of diff(): where rows go */
typedef struct DiffSrfState
{
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
} DiffSrfState;

/* diff() row callback: one output row per create/update/delete/unchanged. */
static void
diff_emit_row(DsPair *pair, DsRunOptions *opts, DsDiffRow *row,
			  const char *action, void *arg)
{
	DiffSrfState *st = arg;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	if (strcmp(action, "skip") == 0)
		return;
	values[0] = CStringGetTextDatum(pair->model);
	values[1] = JsonbPGetDatum(row->key);
	values[2] = CStringGetTextDatum(action);
	values[3] = row->src ? JsonbPGetDatum(row->src) : (Datum) 0;
	nulls[3] = row->src == NULL;
	values[4] = row->dst ? JsonbPGetDatum(row->dst) : (Datum) 0;
	nulls[4] = row->dst == NULL;
	if (strcmp(action, "update") == 0)
		values[5] = JsonbPGetDatum(diffsync_row_changes(pair, opts, row->src, row->dst));
	else
		nulls[5] = true;
	tuplestore_putvalues(st->tupstore, st->tupdesc, values, nulls);
}

PG_FUNCTION_INFO_V1(diffsync_diff);

/*
 * diffsync.diff(source, target, options)
 *		-> SETOF (model, key, action, source, target, changes)
 */
Datum
diffsync_diff(PG_FUNCTION_ARGS)
{
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *target = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DsRunOptions opts;
	List	   *pairs;
	DiffSrfState st;

	diffsync_parse_run_options(PG_GETARG_JSONB_P(2), &opts, "diff", false);
	pairs = diffsync_build_pairs(source, target, &opts);
	InitMaterializedSRF(fcinfo, 0);
	st.tupstore = rsinfo->setResult;
	st.tupdesc = rsinfo->setDesc;
	diff_walk(pairs, &opts, false, diff_emit_row, &st);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(diffsync_diff_summary);

/*
 * diffsync.diff_summary(source, target, options) -> jsonb
 *		{"create", "update", "delete", "no-change", "skip"}: one aggregate
 *		pass per model level.
 */
Datum
diffsync_diff_summary(PG_FUNCTION_ARGS)
{
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *target = text_to_cstring(PG_GETARG_TEXT_PP(1));
	DsRunOptions opts;
	List	   *pairs;
	ListCell   *lc;
	int64		counts[4] = {0, 0, 0, 0};	/* only src, only dst, changed, same */
	int64		create,
				delete,
				skip = 0;

	diffsync_parse_run_options(PG_GETARG_JSONB_P(2), &opts, "diff_summary", false);
	if (opts.buckets > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("diff_summary does not take the \"buckets\" option"),
				 errdetail("It counts unchanged rows, so it reads every row."),
				 errhint("Use diff() with \"buckets\" to read only the rows of buckets that differ.")));
	pairs = diffsync_build_pairs(source, target, &opts);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, pairs)
	{
		DsPair	   *pair = lfirst(lc);
		char	   *sql;
		int			rc;

		diffsync_check_pair(pair, &opts);
		sql = diff_count_sql(pair, &opts);
		rc = SPI_execute(sql, true, 0);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "diff summary query failed");
		for (int i = 0; i < 4; i++)
		{
			bool		isnull;

			counts[i] += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull));
		}
		{
			bool		isnull;

			if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull)) > 0)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("adapter \"%s\" or \"%s\" has a row with a NULL identifier",
								pair->src->name, pair->dst->name),
						 errhint("Filter such rows out with the adapter's filter, or give them identifiers.")));
		}
	}
	SPI_finish();

	create = counts[0];
	delete = counts[1];
	if (opts.skip_unmatched_src)
	{
		skip += create;
		create = 0;
	}
	if (opts.skip_unmatched_dst)
	{
		skip += delete;
		delete = 0;
	}
	PG_RETURN_JSONB_P(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(
			psprintf("{\"create\": " INT64_FORMAT ", \"update\": " INT64_FORMAT ", \"delete\": " INT64_FORMAT
					 ", \"no-change\": " INT64_FORMAT ", \"skip\": " INT64_FORMAT "}",
					 create, counts[2], delete, counts[3], skip)))));
}

/* State of diff_text(): the text being built */
typedef struct DiffTextState
{
	StringInfoData buf;
	DsPair	   *last_pair;
	int64		n;
} DiffTextState;

/* Text of attribute name of a model row, "MISSING" when absent. */
static char *
attr_text(Jsonb *row, const char *name)
{
	JsonbValue	v;

	if (row == NULL || row_attr(row, name, &v) == NULL)
		return "MISSING";
	return diffsync_value_to_cstring(&v);
}

/* diff_text() row callback: append the row's lines. */
static void
diff_text_row(DsPair *pair, DsRunOptions *opts, DsDiffRow *row,
			  const char *action, void *arg)
{
	DiffTextState *st = arg;
	int			indent = pair->depth * 2;
	char	   *key = JsonbToCString(NULL, &row->key->root, VARSIZE(row->key));

	if (strcmp(action, "skip") == 0)
		return;
	if (st->last_pair != pair)
	{
		appendStringInfo(&st->buf, "%*s%s\n", indent, "", pair->model);
		st->last_pair = pair;
	}
	st->n++;
	if (strcmp(action, "create") == 0)
		appendStringInfo(&st->buf, "%*s  %s %s: MISSING in target\n", indent, "", pair->model, key);
	else if (strcmp(action, "delete") == 0)
		appendStringInfo(&st->buf, "%*s  %s %s: MISSING in source\n", indent, "", pair->model, key);
	else if (strcmp(action, "unchanged") == 0)
		appendStringInfo(&st->buf, "%*s  %s %s: no change\n", indent, "", pair->model, key);
	else
	{
		appendStringInfo(&st->buf, "%*s  %s %s\n", indent, "", pair->model, key);
		for (int i = 0; i < pair->nattrs; i++)
		{
			const char *name = pair->sattrs[i]->name;
			JsonbValue	sv,
						dv;
			JsonbValue *s = row_attr(row->src, name, &sv);
			JsonbValue *d = row_attr(row->dst, name, &dv);

			if (pair->path_attr >= 0 && i != pair->path_attr)
				continue;
			if (s && d && diffsync_values_equal(s, d))
				continue;
			appendStringInfo(&st->buf, "%*s    %s    source(%s)    target(%s)\n", indent, "",
							 name, attr_text(row->src, name), attr_text(row->dst, name));
		}
	}
}

PG_FUNCTION_INFO_V1(diffsync_diff_text);

/*
 * diffsync.diff_text(source, target, options) -> text
 *		The differences as an indented tree: model, key, attribute with the
 *		source and target values, or "MISSING in target/source".
 */
Datum
diffsync_diff_text(PG_FUNCTION_ARGS)
{
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *target = text_to_cstring(PG_GETARG_TEXT_PP(1));
	DsRunOptions opts;
	List	   *pairs;
	DiffTextState st;

	diffsync_parse_run_options(PG_GETARG_JSONB_P(2), &opts, "diff_text", false);
	pairs = diffsync_build_pairs(source, target, &opts);
	initStringInfo(&st.buf);
	st.last_pair = NULL;
	st.n = 0;
	diff_walk(pairs, &opts, true, diff_text_row, &st);
	if (st.n == 0)
		appendStringInfoString(&st.buf, "(no differences)\n");
	PG_RETURN_TEXT_P(cstring_to_text_with_len(st.buf.data, st.buf.len));
}

PG_FUNCTION_INFO_V1(diffsync_diff_buckets);

/*
 * diffsync.diff_buckets(source, target, options)
 *		-> SETOF (model, bucket, source_rows, target_rows)
 *		The buckets whose checksums differ, per model level, as a bucket
 *		diff (the "buckets" option, required) computes them: only these
 *		per-bucket aggregates are read from each side.
 */
Datum
diffsync_diff_buckets(PG_FUNCTION_ARGS)
{
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *target = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DsRunOptions opts;
	List	   *pairs;
	ListCell   *lc;

	diffsync_parse_run_options(PG_GETARG_JSONB_P(2), &opts, "diff_buckets", false);
	if (opts.buckets == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("diff_buckets needs the \"buckets\" option"),
				 errhint("Pass the number of buckets, a power of two, e.g. '{\"buckets\": 1024}'.")));
	pairs = diffsync_build_pairs(source, target, &opts);
	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, pairs)
	{
		DsPair	   *pair = lfirst(lc);
		int			rc;

		rc = SPI_execute(diffsync_bucket_compare_sql(pair, &opts), true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "bucket checksum query failed: %s", SPI_result_code_string(rc));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			CHECK_FOR_INTERRUPTS();
			/* tuplestore_putvalues copies the row into the tuplestore */
			values[0] = CStringGetTextDatum(pair->model);
			for (int c = 1; c < 4; c++)
				values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c, &nulls[c]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_finish();
	return (Datum) 0;
}
