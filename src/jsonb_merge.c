/*-------------------------------------------------------------------------
 *
 * jsonb_merge.c
 *	  RFC 7396 JSON Merge Patch (apply and diff) and the three-way merge:
 *	  jsonb_merge_patch(), jsonb_merge_diff(), jsonb_merge3().
 *
 * All three build their result in one pass with pushJsonbValue, walking the
 * inputs' containers directly; untouched subtrees are copied as they are.
 *
 * Three-way merge: a value changed on one side only (compared with the
 * base) is taken from that side; equal changes on both sides merge; when
 * both sides changed a value differently, objects are merged member by
 * member, arrays (modes lcs, index, keyed) element by element or chunk by
 * chunk as in diff3, and anything else is a conflict, settled by the
 * strategy and reported.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "diffsync.h"
#include "sync.h"

#define MERGE3_FN_NAME "jsonb_merge3"

/* ------------------------------------------------------------------------
 * RFC 7396 apply
 * ------------------------------------------------------------------------
 */

/*
 * Push the result of merging patch into target (NULL: absent, or not an
 * object, which RFC 7396 treats alike) as token tok.
 */
static JsonbValue *
merge_patch_push(JsonbParseState **st, const JsonbValue *target,
				 const JsonbValue *patch, JsonbIteratorToken tok)
{
	JsonbValue *tk = NULL,
			   *tv = NULL,
			   *pk,
			   *pv;
	int			nt = 0,
				np,
				i = 0,
				j = 0;

	check_stack_depth();
	if (diffsync_value_kind(patch) != DS_KIND_OBJECT)
		return pushJsonbValue(st, tok, (JsonbValue *) patch);

	if (target && diffsync_value_kind(target) == DS_KIND_OBJECT)
		nt = diffsync_object_members(target->val.binary.data, &tk, &tv);
	np = diffsync_object_members(patch->val.binary.data, &pk, &pv);

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	while (i < nt || j < np)
	{
		int			cmp;

		if (i < nt && j < np)
			cmp = diffsync_key_compare(&tk[i], &pk[j]);
		else
			cmp = (i < nt) ? -1 : 1;

		if (cmp < 0)
		{
			pushJsonbValue(st, WJB_KEY, &tk[i]);
			pushJsonbValue(st, WJB_VALUE, &tv[i]);
			i++;
			continue;
		}
		if (pv[j].type != jbvNull)
		{
			pushJsonbValue(st, WJB_KEY, &pk[j]);
			merge_patch_push(st, cmp == 0 ? &tv[i] : NULL, &pv[j], WJB_VALUE);
		}
		if (cmp == 0)
			i++;
		j++;
	}
	return pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

PG_FUNCTION_INFO_V1(diffsync_jsonb_merge_patch);

/*
 * diffsync.jsonb_merge_patch(doc jsonb, patch jsonb) -> jsonb
 *		Apply an RFC 7396 JSON Merge Patch.
 */
Datum
diffsync_jsonb_merge_patch(PG_FUNCTION_ARGS)
{
	Jsonb	   *doc = PG_GETARG_JSONB_P(0);
	Jsonb	   *patch = PG_GETARG_JSONB_P(1);
	JsonbValue	docv,
				patchv;
	JsonbParseState *st = NULL;

	if (!JB_ROOT_IS_OBJECT(patch))
		PG_RETURN_JSONB_P(patch);
	diffsync_jsonb_root(doc, &docv);
	diffsync_jsonb_root(patch, &patchv);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(merge_patch_push(&st, &docv, &patchv, WJB_ELEM)));
}

/* ------------------------------------------------------------------------
 * RFC 7396 diff
 * ------------------------------------------------------------------------
 */

/*
 * Error out if value v, placed at path by a merge patch, holds a JSON null
 * as an object member at any depth (through objects; arrays are replaced
 * whole, so their nulls survive).  Merge patch reads such nulls as "remove".
 */
static void
merge_diff_check(const JsonbValue *v, DsPath *path)
{
	JsonbValue *keys,
			   *values;
	int			n;

	check_stack_depth();
	if (v->type == jbvNull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target cannot be expressed as a JSON merge patch"),
				 errdetail("The target has a JSON null at \"%s\", and a null in a merge patch means \"remove this member\".",
						   diffsync_path_to_pointer(path)),
				 errhint("Use jsonb_diff, whose RFC 6902 patches can set a member to null.")));
	if (diffsync_value_kind(v) != DS_KIND_OBJECT)
		return;
	n = diffsync_object_members(v->val.binary.data, &keys, &values);
	for (int i = 0; i < n; i++)
	{
		diffsync_path_push_key(path, keys[i].val.string.val, keys[i].val.string.len);
		merge_diff_check(&values[i], path);
		diffsync_path_pop(path);
	}
}

/*
 * Might members s and t differ?  Byte-identical values do not; two objects
 * are diffed member by member by the caller instead of being compared whole
 * first (comparing at every level would cost depth x size); anything else
 * is compared.
 */
static bool
merge_diff_differs(const JsonbValue *s, const JsonbValue *t)
{
	if (s->type == jbvBinary && t->type == jbvBinary &&
		s->val.binary.len == t->val.binary.len &&
		memcmp(s->val.binary.data, t->val.binary.data, s->val.binary.len) == 0)
		return false;
	if (diffsync_value_kind(s) == DS_KIND_OBJECT && diffsync_value_kind(t) == DS_KIND_OBJECT)
		return true;
	return !diffsync_values_equal(s, t);
}

/*
 * Push the merge patch that turns object s into object t.
 */
static JsonbValue *
merge_diff_objects(JsonbParseState **st, const JsonbValue *s,
				   const JsonbValue *t, DsPath *path, JsonbIteratorToken tok)
{
	JsonbValue *sk,
			   *sv,
			   *tk,
			   *tv;
	int			ns = diffsync_object_members(s->val.binary.data, &sk, &sv);
	int			nt = diffsync_object_members(t->val.binary.data, &tk, &tv);
	int			i = 0,
				j = 0;
	JsonbValue	null_value;

	check_stack_depth();
	null_value.type = jbvNull;
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	while (i < ns || j < nt)
	{
		int			cmp;

		if (i < ns && j < nt)
			cmp = diffsync_key_compare(&sk[i], &tk[j]);
		else
			cmp = (i < ns) ? -1 : 1;

		if (cmp < 0)
		{
			pushJsonbValue(st, WJB_KEY, &sk[i]);
			pushJsonbValue(st, WJB_VALUE, &null_value);
			i++;
			continue;
		}
		CHECK_FOR_INTERRUPTS();
		if (cmp > 0 || merge_diff_differs(&sv[i], &tv[j]))
		{
			diffsync_path_push_key(path, tk[j].val.string.val, tk[j].val.string.len);
			pushJsonbValue(st, WJB_KEY, &tk[j]);
			if (cmp == 0 &&
				diffsync_value_kind(&sv[i]) == DS_KIND_OBJECT &&
				diffsync_value_kind(&tv[j]) == DS_KIND_OBJECT)
				merge_diff_objects(st, &sv[i], &tv[j], path, WJB_VALUE);
			else
			{
				merge_diff_check(&tv[j], path);
				pushJsonbValue(st, WJB_VALUE, &tv[j]);
			}
			diffsync_path_pop(path);
		}
		if (cmp == 0)
			i++;
		j++;
	}
	return pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

PG_FUNCTION_INFO_V1(diffsync_jsonb_merge_diff);

/*
 * diffsync.jsonb_merge_diff(source jsonb, target jsonb) -> jsonb
 *		An RFC 7396 merge patch that turns source into target.
 */
Datum
diffsync_jsonb_merge_diff(PG_FUNCTION_ARGS)
{
	Jsonb	   *source = PG_GETARG_JSONB_P(0);
	Jsonb	   *target = PG_GETARG_JSONB_P(1);
	JsonbValue	s,
				t;
	DsPath		path;
	JsonbParseState *st = NULL;

	diffsync_jsonb_root(source, &s);
	diffsync_jsonb_root(target, &t);
	diffsync_path_init(&path);

	if (diffsync_value_kind(&t) != DS_KIND_OBJECT)
		PG_RETURN_JSONB_P(target);	/* a non-object patch replaces */
	if (diffsync_value_kind(&s) != DS_KIND_OBJECT)
	{
		/* an object patch applies to {} here: all of target, null-free */
		merge_diff_check(&t, &path);
		PG_RETURN_JSONB_P(target);
	}
	PG_RETURN_JSONB_P(JsonbValueToJsonb(merge_diff_objects(&st, &s, &t, &path, WJB_ELEM)));
}

/* ------------------------------------------------------------------------
 * Three-way merge
 * ------------------------------------------------------------------------
 */

typedef enum Merge3Strategy
{
	M3_MANUAL,
	M3_SOURCE_WINS,
	M3_TARGET_WINS,
	M3_LAST_UPDATE_WINS
} Merge3Strategy;

typedef struct Merge3Context
{
	DsArrayOptions arrays;
	Merge3Strategy strategy;
	bool		strategy_given;
	bool		has_source_ts;
	bool		has_target_ts;
	TimestampTz source_ts;
	TimestampTz target_ts;
	bool		has_resolver;
	FmgrInfo	resolver;
	DsPath		path;
	JsonbParseState *conflicts; /* the "conflicts" array being built */
} Merge3Context;

/* What m3_decide found for one location */
typedef enum Merge3Outcome
{
	M3_ABSENT,					/* no value: leave the member out */
	M3_VALUE,					/* *out is the merged value */
	M3_MERGE_OBJECTS,			/* both changed objects: merge members */
	M3_MERGE_ARRAYS				/* both changed arrays: merge elements */
} Merge3Outcome;

static bool m3_push(Merge3Context *ctx, JsonbParseState **st,
					const JsonbValue *b, const JsonbValue *s,
					const JsonbValue *t, JsonbIteratorToken tok,
					const JsonbValue *key);

/*
 * Look up and check the resolver function f(jsonb) RETURNS jsonb, which
 * here must be IMMUTABLE like jsonb_merge3 itself.
 */
static void
m3_lookup_resolver(Merge3Context *ctx, const char *name)
{
	diffsync_lookup_resolver(name, &ctx->resolver);
	if (func_volatile(ctx->resolver.fn_oid) != PROVOLATILE_IMMUTABLE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resolver function %s of %s must be IMMUTABLE", name, MERGE3_FN_NAME),
				 errdetail("%s is IMMUTABLE, so the resolver it calls must be too.", MERGE3_FN_NAME),
				 errhint("Declare the function IMMUTABLE, or use a resolver with diffsync.sync, which accepts any function.")));
	ctx->has_resolver = true;
}

/* Read a timestamptz option given as a string. */
static TimestampTz
m3_timestamp_option(const JsonbValue *v, const char *option)
{
	char	   *s = diffsync_string_option(v, MERGE3_FN_NAME, option);
	MemoryContext oldcxt = CurrentMemoryContext;
	TimestampTz ts = 0;

	PG_TRY();
	{
		ts = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
													 CStringGetDatum(s),
													 ObjectIdGetDatum(InvalidOid),
													 Int32GetDatum(-1)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s option \"%s\" is not a valid timestamp: \"%s\"", MERGE3_FN_NAME, option, s),
				 errdetail("%s", edata->message)));
	}
	PG_END_TRY();
	return ts;
}

/*
 * Parse the options object of jsonb_merge3 into ctx.
 */
static void
m3_parse_options(Merge3Context *ctx, Jsonb *options)
{
	JsonbIterator *it;
	JsonbValue	key,
				val;
	JsonbIteratorToken tok;
	char	   *resolver = NULL;

	memset(ctx, 0, sizeof(*ctx));
	ctx->arrays.mode = DS_ARRAYS_ATOMIC;
	ctx->strategy = M3_MANUAL;

	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s options must be a JSON object", MERGE3_FN_NAME)));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		char	   *k;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);
		k = pnstrdup(key.val.string.val, key.val.string.len);

		if (strcmp(k, "arrays") == 0 || strcmp(k, "array_key") == 0)
			diffsync_parse_array_options(&key, &val, &ctx->arrays, MERGE3_FN_NAME);
		else if (strcmp(k, "strategy") == 0)
		{
			char	   *s = diffsync_string_option(&val, MERGE3_FN_NAME, "strategy");

			if (strcmp(s, "manual") == 0)
				ctx->strategy = M3_MANUAL;
			else if (strcmp(s, "source_wins") == 0)
				ctx->strategy = M3_SOURCE_WINS;
			else if (strcmp(s, "target_wins") == 0)
				ctx->strategy = M3_TARGET_WINS;
			else if (strcmp(s, "last_update_wins") == 0)
				ctx->strategy = M3_LAST_UPDATE_WINS;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"strategy\" has invalid value \"%s\"", MERGE3_FN_NAME, s),
						 errhint("Valid strategies are \"manual\", \"source_wins\", \"target_wins\" and \"last_update_wins\".")));
			ctx->strategy_given = true;
		}
		else if (strcmp(k, "source_ts") == 0)
		{
			ctx->source_ts = m3_timestamp_option(&val, "source_ts");
			ctx->has_source_ts = true;
		}
		else if (strcmp(k, "target_ts") == 0)
		{
			ctx->target_ts = m3_timestamp_option(&val, "target_ts");
			ctx->has_target_ts = true;
		}
		else if (strcmp(k, "resolver") == 0)
			resolver = diffsync_string_option(&val, MERGE3_FN_NAME, "resolver");
		else
			diffsync_unknown_option(&key, MERGE3_FN_NAME,
									"\"strategy\", \"source_ts\", \"target_ts\", \"resolver\", \"arrays\" and \"array_key\"");
	}

	diffsync_finish_array_options(&ctx->arrays, MERGE3_FN_NAME);
	if (ctx->strategy == M3_LAST_UPDATE_WINS &&
		!(ctx->has_source_ts && ctx->has_target_ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s strategy \"last_update_wins\" needs options \"source_ts\" and \"target_ts\"",
						MERGE3_FN_NAME)));
	if (ctx->strategy != M3_LAST_UPDATE_WINS &&
		(ctx->has_source_ts || ctx->has_target_ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s options \"source_ts\" and \"target_ts\" are only valid with strategy \"last_update_wins\"",
						MERGE3_FN_NAME)));
	if (resolver)
	{
		if (ctx->strategy != M3_MANUAL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s option \"resolver\" is only valid with strategy \"manual\"",
							MERGE3_FN_NAME),
					 errhint("Leave out \"strategy\" or set it to \"manual\" to resolve conflicts with a function.")));
		m3_lookup_resolver(ctx, resolver);
	}
}

/* Equality where NULL stands for an absent value. */
static bool
m3_equal(const JsonbValue *x, const JsonbValue *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	return diffsync_values_equal(x, y);
}

/* Push key (if any) and value v as token tok. */
static void
m3_push_value(JsonbParseState **st, const JsonbValue *key, const JsonbValue *v,
			  JsonbIteratorToken tok)
{
	if (key)
		pushJsonbValue(st, WJB_KEY, (JsonbValue *) key);
	pushJsonbValue(st, tok, (JsonbValue *) v);
}

/* Push "name": v into an object under construction, unless v is absent. */
static void
m3_push_member(JsonbParseState **st, const char *name, const JsonbValue *v)
{
	if (v == NULL)
		return;
	diffsync_push_cstring(st, WJB_KEY, name);
	pushJsonbValue(st, WJB_VALUE, (JsonbValue *) v);
}

/* The jsonb text of a conflict, for the resolver. */
static Jsonb *
m3_conflict_jsonb(Merge3Context *ctx, const char *kind, const JsonbValue *b,
				  const JsonbValue *s, const JsonbValue *t,
				  const char *resolution)
{
	JsonbParseState *st = NULL;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_cstring(&st, WJB_KEY, "path");
	diffsync_push_cstring(&st, WJB_VALUE, diffsync_path_to_pointer(&ctx->path));
	diffsync_push_cstring(&st, WJB_KEY, "kind");
	diffsync_push_cstring(&st, WJB_VALUE, kind);
	m3_push_member(&st, "base", b);
	m3_push_member(&st, "source", s);
	m3_push_member(&st, "target", t);
	if (resolution)
	{
		diffsync_push_cstring(&st, WJB_KEY, "resolution");
		diffsync_push_cstring(&st, WJB_VALUE, resolution);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/*
 * Settle a conflict at ctx->path by the strategy, record it, and return the
 * value to use (NULL: absent).  Result memory lives in the current context.
 */
static const JsonbValue *
m3_resolve(Merge3Context *ctx, const char *kind, const JsonbValue *b,
		   const JsonbValue *s, const JsonbValue *t)
{
	const JsonbValue *result = NULL;
	const char *resolution = NULL;
	JsonbValue	conflict;

	switch (ctx->strategy)
	{
		case M3_SOURCE_WINS:
			result = s;
			resolution = "source";
			break;
		case M3_TARGET_WINS:
			result = t;
			resolution = "target";
			break;
		case M3_LAST_UPDATE_WINS:
			if (ctx->source_ts >= ctx->target_ts)
			{
				result = s;
				resolution = "source";
			}
			else
			{
				result = t;
				resolution = "target";
			}
			break;
		case M3_MANUAL:
			if (ctx->has_resolver)
			{
				LOCAL_FCINFO(fcinfo, 1);
				Datum		d;

				InitFunctionCallInfoData(*fcinfo, &ctx->resolver, 1, InvalidOid, NULL, NULL);
				fcinfo->args[0].value = JsonbPGetDatum(m3_conflict_jsonb(ctx, kind, b, s, t, NULL));
				fcinfo->args[0].isnull = false;
				d = FunctionCallInvoke(fcinfo);
				if (!fcinfo->isnull)
				{
					JsonbValue *rv = palloc(sizeof(JsonbValue));

					diffsync_jsonb_root(DatumGetJsonbP(d), rv);
					result = rv;
				}
				resolution = "custom";
			}
			else
			{
				result = t;
				resolution = "unresolved";
			}
			break;
	}

	diffsync_jsonb_root(m3_conflict_jsonb(ctx, kind, b, s, t, resolution), &conflict);
	pushJsonbValue(&ctx->conflicts, WJB_ELEM, &conflict);
	return result;
}

/* The kind of a conflict between changed values b -> s and b -> t. */
static const char *
m3_conflict_kind(const JsonbValue *b, const JsonbValue *s, const JsonbValue *t)
{
	if (b == NULL)
		return "add/add";
	if (s == NULL)
		return "delete/modify";
	if (t == NULL)
		return "modify/delete";
	if (diffsync_value_kind(s) != diffsync_value_kind(t))
		return "type";
	return "modify/modify";
}

/*
 * Decide the merged value at ctx->path of base b, source s and target t
 * (NULL for absent).
 */
static Merge3Outcome
m3_decide(Merge3Context *ctx, const JsonbValue *b, const JsonbValue *s,
		  const JsonbValue *t, const JsonbValue **out)
{
	const JsonbValue *r;

	if (m3_equal(s, t))
		r = s;
	else if (m3_equal(b, s))
		r = t;
	else if (m3_equal(b, t))
		r = s;
	else
	{
		DsKind		ks = s ? diffsync_value_kind(s) : DS_KIND_NULL;
		DsKind		kt = t ? diffsync_value_kind(t) : DS_KIND_NULL;
		DsKind		kb = b ? diffsync_value_kind(b) : DS_KIND_NULL;

		if (s && t && ks == DS_KIND_OBJECT && kt == DS_KIND_OBJECT &&
			(b == NULL || kb == DS_KIND_OBJECT))
			return M3_MERGE_OBJECTS;
		if (s && t && b && ks == DS_KIND_ARRAY && kt == DS_KIND_ARRAY &&
			kb == DS_KIND_ARRAY && ctx->arrays.mode != DS_ARRAYS_ATOMIC)
		{
			int			nb = JsonContainerSize(b->val.binary.data);

			if (ctx->arrays.mode != DS_ARRAYS_INDEX ||
				(nb == (int) JsonContainerSize(s->val.binary.data) &&
				 nb == (int) JsonContainerSize(t->val.binary.data)))
				return M3_MERGE_ARRAYS;
		}
		r = m3_resolve(ctx, m3_conflict_kind(b, s, t), b, s, t);
	}
	*out = r;
	return r ? M3_VALUE : M3_ABSENT;
}

/* Members of v when it is an object, else none. */
static int
m3_members(const JsonbValue *v, JsonbValue **keys, JsonbValue **values)
{
	if (v == NULL || diffsync_value_kind(v) != DS_KIND_OBJECT)
	{
		*keys = *values = NULL;
		return 0;
	}
	return diffsync_object_members(v->val.binary.data, keys, values);
}

/*
 * Merge three objects member by member (b may be absent).
 */
static void
m3_objects(Merge3Context *ctx, JsonbParseState **st, const JsonbValue *b,
		   const JsonbValue *s, const JsonbValue *t)
{
	JsonbValue *bk,
			   *bv,
			   *sk,
			   *sv,
			   *tk,
			   *tv;
	int			nb = m3_members(b, &bk, &bv);
	int			ns = m3_members(s, &sk, &sv);
	int			nt = m3_members(t, &tk, &tv);
	int			i = 0,
				j = 0,
				k = 0;

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	while (i < nb || j < ns || k < nt)
	{
		JsonbValue *key = NULL;

		/* the smallest key among the three heads */
		if (i < nb)
			key = &bk[i];
		if (j < ns && (key == NULL || diffsync_key_compare(&sk[j], key) < 0))
			key = &sk[j];
		if (k < nt && (key == NULL || diffsync_key_compare(&tk[k], key) < 0))
			key = &tk[k];

		{
			const JsonbValue *vb = NULL,
					   *vs = NULL,
					   *vt = NULL;

			if (i < nb && diffsync_key_compare(&bk[i], key) == 0)
				vb = &bv[i++];
			if (j < ns && diffsync_key_compare(&sk[j], key) == 0)
				vs = &sv[j++];
			if (k < nt && diffsync_key_compare(&tk[k], key) == 0)
				vt = &tv[k++];

			diffsync_path_push_key(&ctx->path, key->val.string.val, key->val.string.len);
			m3_push(ctx, st, vb, vs, vt, WJB_VALUE, key);
			diffsync_path_pop(&ctx->path);
		}
	}
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* Are a[0..n) and b[0..m) the same sequence? */
static bool
m3_same_run(JsonbValue *a, int n, JsonbValue *b, int m)
{
	if (n != m)
		return false;
	for (int i = 0; i < n; i++)
		if (!diffsync_values_equal(&a[i], &b[i]))
			return false;
	return true;
}

/* A run of elements as one jsonb array value, for conflict reports. */
static JsonbValue *
m3_run_value(JsonbValue *items, int n)
{
	JsonbParseState *st = NULL;
	JsonbValue *res = palloc(sizeof(JsonbValue));

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
		pushJsonbValue(&st, WJB_ELEM, &items[i]);
	diffsync_jsonb_root(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_ARRAY, NULL)), res);
	return res;
}

/* Push the elements of a run, or of an array value. */
static int
m3_push_run(JsonbParseState **st, JsonbValue *items, int n)
{
	for (int i = 0; i < n; i++)
		pushJsonbValue(st, WJB_ELEM, &items[i]);
	return n;
}

/*
 * Merge one unstable chunk of an array (diff3): base run B, source run S,
 * target run T, starting at output position *outpos.
 */
static void
m3_chunk(Merge3Context *ctx, JsonbParseState **st, JsonbValue *B, int nb,
		 JsonbValue *S, int ns, JsonbValue *T, int nt, int *outpos)
{
	const JsonbValue *r;
	const char *kind;

	if (nb == 0 && ns == 0 && nt == 0)
		return;
	if (m3_same_run(S, ns, T, nt) || m3_same_run(B, nb, T, nt))
	{
		*outpos += m3_push_run(st, S, ns);
		return;
	}
	if (m3_same_run(B, nb, S, ns))
	{
		*outpos += m3_push_run(st, T, nt);
		return;
	}
	if (nb == ns && ns == nt)
	{
		/* changed in place on both sides: merge element by element */
		for (int i = 0; i < nb; i++)
		{
			diffsync_path_push_index(&ctx->path, *outpos);
			if (m3_push(ctx, st, &B[i], &S[i], &T[i], WJB_ELEM, NULL))
				(*outpos)++;
			diffsync_path_pop(&ctx->path);
		}
		return;
	}

	/* a true conflict over a run of elements */
	kind = nb == 0 ? "add/add" : ns == 0 ? "delete/modify" : nt == 0 ? "modify/delete" : "modify/modify";
	diffsync_path_push_index(&ctx->path, *outpos);
	r = m3_resolve(ctx, kind, m3_run_value(B, nb), m3_run_value(S, ns), m3_run_value(T, nt));
	diffsync_path_pop(&ctx->path);
	if (r == NULL)
		return;
	if (diffsync_value_kind(r) != DS_KIND_ARRAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resolver returned %s for a conflict over array elements at \"%s\"",
						diffsync_kind_name(diffsync_value_kind(r)),
						diffsync_path_to_pointer(&ctx->path)),
				 errdetail("A conflict whose path ends in an array index covers a run of elements; the resolver must return the array of elements to put there.")));
	{
		JsonbValue *items;
		int			n = diffsync_container_items(r->val.binary.data, &items);

		*outpos += m3_push_run(st, items, n);
	}
}

/*
 * Merge three arrays element-wise (index mode, equal lengths) or with a
 * diff3 over the alignments base->source and base->target (lcs, keyed).
 */
static void
m3_arrays(Merge3Context *ctx, JsonbParseState **st, const JsonbValue *b,
		  const JsonbValue *s, const JsonbValue *t)
{
	JsonbValue *B,
			   *S,
			   *T;
	int			nb = diffsync_container_items(b->val.binary.data, &B);
	int			ns = diffsync_container_items(s->val.binary.data, &S);
	int			nt = diffsync_container_items(t->val.binary.data, &T);
	int			outpos = 0;

	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	if (ctx->arrays.mode == DS_ARRAYS_INDEX)
	{
		for (int i = 0; i < nb; i++)
		{
			diffsync_path_push_index(&ctx->path, outpos);
			if (m3_push(ctx, st, &B[i], &S[i], &T[i], WJB_ELEM, NULL))
				outpos++;
			diffsync_path_pop(&ctx->path);
		}
	}
	else
	{
		bool		keyed = ctx->arrays.nkeys > 0 &&
			diffsync_array_is_keyed(B, nb, &ctx->arrays) &&
			diffsync_array_is_keyed(S, ns, &ctx->arrays) &&
			diffsync_array_is_keyed(T, nt, &ctx->arrays);
		int		   *ms = palloc(sizeof(int) * Max(nb, 1));
		int		   *mt = palloc(sizeof(int) * Max(nb, 1));
		int		   *sm = palloc(sizeof(int) * Max(ns, 1));
		int		   *tm = palloc(sizeof(int) * Max(nt, 1));
		int			pb = 0,
					ps = 0,
					pt = 0;

		diffsync_array_align(B, nb, S, ns, &ctx->arrays, keyed, ms, sm);
		diffsync_array_align(B, nb, T, nt, &ctx->arrays, keyed, mt, tm);

		/* stable elements: aligned on both sides; chunks lie between them */
		for (int i = 0; i <= nb; i++)
		{
			if (i < nb && (ms[i] < 0 || mt[i] < 0))
				continue;
			if (i < nb)
				m3_chunk(ctx, st, &B[pb], i - pb, &S[ps], ms[i] - ps,
						 &T[pt], mt[i] - pt, &outpos);
			else
				m3_chunk(ctx, st, &B[pb], nb - pb, &S[ps], ns - ps,
						 &T[pt], nt - pt, &outpos);
			if (i == nb)
				break;
			/* the stable element itself: equal by value, or same key */
			diffsync_path_push_index(&ctx->path, outpos);
			if (m3_push(ctx, st, &B[i], &S[ms[i]], &T[mt[i]], WJB_ELEM, NULL))
				outpos++;
			diffsync_path_pop(&ctx->path);
			pb = i + 1;
			ps = ms[i] + 1;
			pt = mt[i] + 1;
		}
	}
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
}

/*
 * Push the merge of b, s and t at ctx->path as token tok, preceded by key
 * when it is an object member.  Nothing is pushed when the merged value is
 * absent (a member removed, or an array element a resolver dropped);
 * returns whether something was.
 */
static bool
m3_push(Merge3Context *ctx, JsonbParseState **st, const JsonbValue *b,
		const JsonbValue *s, const JsonbValue *t, JsonbIteratorToken tok,
		const JsonbValue *key)
{
	const JsonbValue *out = NULL;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	switch (m3_decide(ctx, b, s, t, &out))
	{
		case M3_ABSENT:
			return false;
		case M3_VALUE:
			m3_push_value(st, key, out, tok);
			break;
		case M3_MERGE_OBJECTS:
			if (key)
				pushJsonbValue(st, WJB_KEY, (JsonbValue *) key);
			m3_objects(ctx, st, b, s, t);
			break;
		case M3_MERGE_ARRAYS:
			if (key)
				pushJsonbValue(st, WJB_KEY, (JsonbValue *) key);
			m3_arrays(ctx, st, b, s, t);
			break;
	}
	return true;
}

PG_FUNCTION_INFO_V1(diffsync_jsonb_merge3);

/*
 * diffsync.jsonb_merge3(base jsonb, source jsonb, target jsonb, options jsonb)
 *		-> {"merged": ..., "conflicts": [...]}
 */
Datum
diffsync_jsonb_merge3(PG_FUNCTION_ARGS)
{
	Jsonb	   *base = PG_GETARG_JSONB_P(0);
	Jsonb	   *source = PG_GETARG_JSONB_P(1);
	Jsonb	   *target = PG_GETARG_JSONB_P(2);
	Jsonb	   *options = PG_GETARG_JSONB_P(3);
	Merge3Context ctx;
	JsonbValue	b,
				s,
				t;
	JsonbValue	merged;
	JsonbValue	conflicts;
	JsonbParseState *st = NULL;
	JsonbParseState *mst = NULL;
	JsonbValue *res;

	m3_parse_options(&ctx, options);
	diffsync_jsonb_root(base, &b);
	diffsync_jsonb_root(source, &s);
	diffsync_jsonb_root(target, &t);
	diffsync_path_init(&ctx.path);

	pushJsonbValue(&ctx.conflicts, WJB_BEGIN_ARRAY, NULL);

	/*
	 * Merge into a one-element array, so that scalar and container results
	 * come out the same way; then take the element.
	 */
	pushJsonbValue(&mst, WJB_BEGIN_ARRAY, NULL);
	m3_push(&ctx, &mst, &b, &s, &t, WJB_ELEM, NULL);
	res = pushJsonbValue(&mst, WJB_END_ARRAY, NULL);
	{
		Jsonb	   *wrapped = JsonbValueToJsonb(res);
		JsonbValue *elem = getIthJsonbValueFromContainer(&wrapped->root, 0);

		/* a resolver may remove the whole document: merged is then null */
		if (elem)
			merged = *elem;
		else
			merged.type = jbvNull;
	}
	diffsync_jsonb_root(JsonbValueToJsonb(pushJsonbValue(&ctx.conflicts, WJB_END_ARRAY, NULL)),
						&conflicts);

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_cstring(&st, WJB_KEY, "merged");
	pushJsonbValue(&st, WJB_VALUE, &merged);
	diffsync_push_cstring(&st, WJB_KEY, "conflicts");
	pushJsonbValue(&st, WJB_VALUE, &conflicts);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)));
}

/*
 * diffsync_merge3_values
 *		The merged value of a three-way merge of jsonb values, true conflicts
 *		going to the source (source_wins) or the target.  Used by the sync
 *		strategy "merge".
 */
Jsonb *
diffsync_merge3_values(const JsonbValue *base, const JsonbValue *source,
					   const JsonbValue *target, bool source_wins)
{
	Datum		opts = DirectFunctionCall1(jsonb_in, CStringGetDatum(source_wins ?
																	 "{\"strategy\": \"source_wins\"}" :
																	 "{\"strategy\": \"target_wins\"}"));
	Datum		res = DirectFunctionCall4(diffsync_jsonb_merge3,
										  JsonbPGetDatum(diffsync_value_to_jsonb(base)),
										  JsonbPGetDatum(diffsync_value_to_jsonb(source)),
										  JsonbPGetDatum(diffsync_value_to_jsonb(target)),
										  opts);
	JsonbValue	root,
				merged;

	diffsync_jsonb_root(DatumGetJsonbP(res), &root);
	if (!diffsync_object_get(&root, "merged", 6, &merged))
		elog(ERROR, "three-way merge returned no merged value");
	return diffsync_value_to_jsonb(&merged);
}
