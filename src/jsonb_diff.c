/*-------------------------------------------------------------------------
 *
 * jsonb_diff.c
 *	  RFC 6902 diff of two jsonb values: jsonb_diff() and jsonb_changes().
 *
 * The diff walks both values together and reports each operation to a
 * sink, which either appends it to the JSON Patch being built or stores it
 * as a row; nothing is collected in between.  Byte-identical containers are
 * skipped without descending.  Objects are merge-joined on their keys, which
 * jsonb keeps sorted.  Arrays are aligned (array_align.c); the operations of
 * one array are then emitted in two passes that keep every index valid when
 * the patch is applied in order:
 *
 *	 1. removes of unaligned elements, right to left (original indexes);
 *	 2. left to right over the target array: adds of new elements, moves (only
 *		with the "moves" option), and the nested diff of aligned pairs whose
 *		values differ.
 *
 * After pass 1 the working array holds exactly the retained elements in
 * order, so without moves the element for target index j is always at j.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "diffsync.h"

#define DIFF_FN_NAME "jsonb_diff"

typedef struct DiffContext DiffContext;

/* Receives one operation: ctx->path is its path, from_ptr its "from". */
typedef void (*DiffEmitFn) (DiffContext *ctx, DsOpKind op, const char *from_ptr,
							const JsonbValue *oldv, const JsonbValue *newv);

struct DiffContext
{
	DsArrayOptions arrays;
	bool		moves;
	bool		test_ops;
	DsSegment  *subtree;		/* "path" option, parsed */
	int			subtree_len;
	bool		has_subtree;
	DsPath		path;			/* where the walk is */
	DiffEmitFn	emit;
	/* jsonb_diff sink */
	JsonbParseState *state;
	/* jsonb_changes sink */
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
};

static const char *const op_names[] = {
	"add", "remove", "replace", "move", "copy", "test"
};

static void diff_values(DiffContext *ctx, const JsonbValue *a, const JsonbValue *b);

/*
 * Parse the options object of jsonb_diff / jsonb_changes into ctx.
 */
static void
diff_parse_options(DiffContext *ctx, Jsonb *options)
{
	JsonbIterator *it;
	JsonbValue	key,
				val;
	JsonbIteratorToken tok;

	ctx->arrays.mode = DS_ARRAYS_LCS;
	ctx->arrays.nkeys = 0;
	ctx->arrays.keys = NULL;
	ctx->moves = false;
	ctx->test_ops = false;
	ctx->has_subtree = false;
	ctx->subtree = NULL;
	ctx->subtree_len = 0;

	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s options must be a JSON object", DIFF_FN_NAME)));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		const char *k;
		int			klen;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);
		k = key.val.string.val;
		klen = key.val.string.len;

		if ((klen == 6 && memcmp(k, "arrays", 6) == 0) ||
			(klen == 9 && memcmp(k, "array_key", 9) == 0))
			diffsync_parse_array_options(&key, &val, &ctx->arrays, DIFF_FN_NAME);
		else if (klen == 5 && memcmp(k, "moves", 5) == 0)
			ctx->moves = diffsync_bool_option(&val, DIFF_FN_NAME, "moves");
		else if (klen == 8 && memcmp(k, "test_ops", 8) == 0)
			ctx->test_ops = diffsync_bool_option(&val, DIFF_FN_NAME, "test_ops");
		else if (klen == 4 && memcmp(k, "path", 4) == 0)
		{
			char	   *ptr = diffsync_string_option(&val, DIFF_FN_NAME, "path");

			if (!diffsync_pointer_valid(ptr, strlen(ptr)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"path\" is not a valid JSON pointer: \"%s\"", DIFF_FN_NAME, ptr),
						 errhint("A JSON pointer is empty or starts with \"/\"; write \"~\" as \"~0\" and \"/\" as \"~1\".")));
			ctx->subtree_len = diffsync_pointer_parse(ptr, strlen(ptr), &ctx->subtree);
			ctx->has_subtree = true;
		}
		else
			diffsync_unknown_option(&key, DIFF_FN_NAME,
									"\"arrays\", \"array_key\", \"moves\", \"test_ops\" and \"path\"");
	}
	diffsync_finish_array_options(&ctx->arrays, DIFF_FN_NAME);
}

/*
 * Emit an operation, preceded by a "test" of the old value when the
 * test_ops option asks for it.
 */
static void
diff_emit(DiffContext *ctx, DsOpKind op, const char *from_ptr,
		  const JsonbValue *oldv, const JsonbValue *newv)
{
	if (ctx->test_ops && (op == DS_OP_REMOVE || op == DS_OP_REPLACE))
		ctx->emit(ctx, DS_OP_TEST, NULL, oldv, NULL);
	ctx->emit(ctx, op, from_ptr, oldv, newv);
}

/* Sink of jsonb_diff: append {"op", "path", ["from"], ["value"]}. */
static void
emit_patch_op(DiffContext *ctx, DsOpKind op, const char *from_ptr,
			  const JsonbValue *oldv, const JsonbValue *newv)
{
	pushJsonbValue(&ctx->state, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_cstring(&ctx->state, WJB_KEY, "op");
	diffsync_push_cstring(&ctx->state, WJB_VALUE, op_names[op]);
	if (from_ptr)
	{
		diffsync_push_cstring(&ctx->state, WJB_KEY, "from");
		diffsync_push_cstring(&ctx->state, WJB_VALUE, from_ptr);
	}
	diffsync_push_cstring(&ctx->state, WJB_KEY, "path");
	diffsync_push_cstring(&ctx->state, WJB_VALUE, diffsync_path_to_pointer(&ctx->path));
	if (op == DS_OP_ADD || op == DS_OP_REPLACE)
	{
		diffsync_push_cstring(&ctx->state, WJB_KEY, "value");
		diffsync_push_value(&ctx->state, WJB_VALUE, newv);
	}
	else if (op == DS_OP_TEST)
	{
		diffsync_push_cstring(&ctx->state, WJB_KEY, "value");
		diffsync_push_value(&ctx->state, WJB_VALUE, oldv);
	}
	pushJsonbValue(&ctx->state, WJB_END_OBJECT, NULL);
}

/* Sink of jsonb_changes: one row (op, path, path_array, old, new). */
static void
emit_change_row(DiffContext *ctx, DsOpKind op, const char *from_ptr,
				const JsonbValue *oldv, const JsonbValue *newv)
{
	Datum		values[5];
	bool		nulls[5] = {false, false, false, true, true};

	values[0] = CStringGetTextDatum(op_names[op]);
	values[1] = CStringGetTextDatum(diffsync_path_to_pointer(&ctx->path));
	values[2] = diffsync_path_to_text_array(&ctx->path);
	if (oldv && op != DS_OP_MOVE)
	{
		values[3] = JsonbPGetDatum(diffsync_value_to_jsonb(oldv));
		nulls[3] = false;
	}
	if (newv)
	{
		values[4] = JsonbPGetDatum(diffsync_value_to_jsonb(newv));
		nulls[4] = false;
	}
	tuplestore_putvalues(ctx->tupstore, ctx->tupdesc, values, nulls);
}

/*
 * Diff two objects by merge-joining their sorted keys.
 */
static void
diff_objects(DiffContext *ctx, JsonbContainer *a, JsonbContainer *b)
{
	JsonbValue *ak,
			   *av,
			   *bk,
			   *bv;
	int			na = diffsync_object_members(a, &ak, &av);
	int			nb = diffsync_object_members(b, &bk, &bv);
	int			i = 0,
				j = 0;

	while (i < na || j < nb)
	{
		int			cmp;

		if (i < na && j < nb)
			cmp = diffsync_key_compare(&ak[i], &bk[j]);
		else
			cmp = (i < na) ? -1 : 1;

		if (cmp < 0)
		{
			diffsync_path_push_key(&ctx->path, ak[i].val.string.val, ak[i].val.string.len);
			diff_emit(ctx, DS_OP_REMOVE, NULL, &av[i], NULL);
			diffsync_path_pop(&ctx->path);
			i++;
		}
		else if (cmp > 0)
		{
			diffsync_path_push_key(&ctx->path, bk[j].val.string.val, bk[j].val.string.len);
			diff_emit(ctx, DS_OP_ADD, NULL, NULL, &bv[j]);
			diffsync_path_pop(&ctx->path);
			j++;
		}
		else
		{
			diffsync_path_push_key(&ctx->path, ak[i].val.string.val, ak[i].val.string.len);
			diff_values(ctx, &av[i], &bv[j]);
			diffsync_path_pop(&ctx->path);
			i++;
			j++;
		}
	}
	pfree(ak);
	pfree(av);
	pfree(bk);
	pfree(bv);
}

/*
 * Render the pointer of element "index" of the array at ctx->path.
 */
static char *
diff_element_pointer(DiffContext *ctx, int index)
{
	char	   *ptr;

	diffsync_path_push_index(&ctx->path, index);
	ptr = diffsync_path_to_pointer(&ctx->path);
	diffsync_path_pop(&ctx->path);
	return ptr;
}

/*
 * Decide, for an array pair in lcs or keyed mode, which element of a
 * becomes which element of b.  Fills bsrc[j] (source index in a, or -1 for a
 * new element), recurse[j] (whether the pair may differ and needs a nested
 * diff), a_used[i] (whether a[i] survives) and returns the number of moves.
 */
static int
diff_plan_aligned(DiffContext *ctx, JsonbValue *a, int n, JsonbValue *b, int m,
				  int *bsrc, bool *recurse, bool *a_used)
{
	bool		keyed = ctx->arrays.nkeys > 0 &&
		diffsync_array_is_keyed(a, n, &ctx->arrays) &&
		diffsync_array_is_keyed(b, m, &ctx->arrays);
	int		   *amatch = palloc(sizeof(int) * Max(n, 1));
	bool	   *b_moved = palloc0(sizeof(bool) * Max(m, 1));
	int			nmoves = 0;
	int			prev_i = -1,
				prev_j = -1;

	diffsync_array_align(a, n, b, m, &ctx->arrays, keyed, amatch, bsrc);
	for (int i = 0; i < n; i++)
		a_used[i] = amatch[i] >= 0;
	/* matched by key only: the rest of the element may still differ */
	for (int j = 0; j < m; j++)
		recurse[j] = keyed;

	/*
	 * Moves: an element left unaligned in a whose identity (value, or key
	 * when keyed) equals one left unaligned in b.  Quadratic in the number of
	 * unaligned elements, which is why moves are off by default.
	 */
	if (ctx->moves)
	{
		uint64	   *ah = palloc(sizeof(uint64) * Max(n, 1));

		for (int i = 0; i < n; i++)
			if (!a_used[i])
				ah[i] = diffsync_identity_hash(&a[i], &ctx->arrays, keyed);
		for (int j = 0; j < m; j++)
		{
			uint64		bh;

			if (bsrc[j] >= 0)
				continue;
			bh = diffsync_identity_hash(&b[j], &ctx->arrays, keyed);
			for (int i = 0; i < n; i++)
			{
				CHECK_FOR_INTERRUPTS();
				if (a_used[i] || ah[i] != bh ||
					!diffsync_identity_equal(&a[i], &b[j], &ctx->arrays, keyed))
					continue;
				bsrc[j] = i;
				a_used[i] = true;
				b_moved[j] = true;
				recurse[j] = keyed;
				nmoves++;
				break;
			}
		}
		pfree(ah);
	}

	/*
	 * Pair the leftovers of each gap between aligned elements position by
	 * position: one replace (or a nested diff when both are containers of
	 * the same kind) is better than a remove and an add.  Elements matched by
	 * key are distinct entities, so keyed arrays do not pair.
	 */
	if (!keyed)
	{
		for (int j = 0; j <= m; j++)
		{
			int			gi,
						gj;

			if (j < m && (bsrc[j] < 0 || b_moved[j]))
				continue;
			/* gap before aligned pair (bsrc[j], j), or the tail */
			gi = prev_i + 1;
			gj = prev_j + 1;
			while (gj < j)
			{
				if (bsrc[gj] >= 0)
				{
					gj++;
					continue;
				}
				while (gi < (j < m ? bsrc[j] : n) && a_used[gi])
					gi++;
				if (gi >= (j < m ? bsrc[j] : n))
					break;
				bsrc[gj] = gi;
				recurse[gj] = true;
				a_used[gi] = true;
				gi++;
				gj++;
			}
			if (j < m)
			{
				prev_i = bsrc[j];
				prev_j = j;
			}
		}
	}

	pfree(amatch);
	pfree(b_moved);
	return nmoves;
}

/*
 * Diff two arrays (not byte-identical) in lcs, keyed or index mode.
 */
static void
diff_arrays(DiffContext *ctx, JsonbContainer *ca, JsonbContainer *cb)
{
	JsonbValue *a,
			   *b;
	int			n = diffsync_container_items(ca, &a);
	int			m = diffsync_container_items(cb, &b);
	int		   *bsrc = palloc(sizeof(int) * Max(m, 1));
	bool	   *recurse = palloc(sizeof(bool) * Max(m, 1));
	bool	   *a_used = palloc(sizeof(bool) * Max(n, 1));
	int			nmoves = 0;
	int		   *work = NULL;	/* with moves: the working array, by a index */
	int			wlen = 0;

	if (ctx->arrays.mode == DS_ARRAYS_INDEX)
	{
		for (int j = 0; j < m; j++)
		{
			bsrc[j] = j < n ? j : -1;
			recurse[j] = true;
		}
		for (int i = 0; i < n; i++)
			a_used[i] = i < m;
	}
	else
		nmoves = diff_plan_aligned(ctx, a, n, b, m, bsrc, recurse, a_used);

	/* pass 1: removes, right to left */
	for (int i = n - 1; i >= 0; i--)
	{
		if (a_used[i])
			continue;
		diffsync_path_push_index(&ctx->path, i);
		diff_emit(ctx, DS_OP_REMOVE, NULL, &a[i], NULL);
		diffsync_path_pop(&ctx->path);
	}

	if (nmoves > 0)
	{
		work = palloc(sizeof(int) * Max(n + m, 1));
		for (int i = 0; i < n; i++)
			if (a_used[i])
				work[wlen++] = i;
	}

	/* pass 2: left to right over b */
	for (int j = 0; j < m; j++)
	{
		int			src = bsrc[j];

		CHECK_FOR_INTERRUPTS();
		if (src < 0)
		{
			diffsync_path_push_index(&ctx->path, j);
			diff_emit(ctx, DS_OP_ADD, NULL, NULL, &b[j]);
			diffsync_path_pop(&ctx->path);
			if (work)
			{
				memmove(&work[j + 1], &work[j], sizeof(int) * (wlen - j));
				work[j] = -1;
				wlen++;
			}
			continue;
		}
		if (work && work[j] != src)
		{
			int			p = j + 1;
			char	   *from_ptr;

			while (work[p] != src)
				p++;
			from_ptr = diff_element_pointer(ctx, p);
			diffsync_path_push_index(&ctx->path, j);
			diff_emit(ctx, DS_OP_MOVE, from_ptr, &a[src], &a[src]);
			diffsync_path_pop(&ctx->path);
			memmove(&work[j + 1], &work[j], sizeof(int) * (p - j));
			work[j] = src;
		}
		if (recurse[j])
		{
			diffsync_path_push_index(&ctx->path, j);
			diff_values(ctx, &a[src], &b[j]);
			diffsync_path_pop(&ctx->path);
		}
	}

	pfree(a);
	pfree(b);
	pfree(bsrc);
	pfree(recurse);
	pfree(a_used);
	if (work)
		pfree(work);
}

/*
 * Diff two values at ctx->path, emitting the operations that turn a into b.
 */
static void
diff_values(DiffContext *ctx, const JsonbValue *a, const JsonbValue *b)
{
	DsKind		ka,
				kb;

	check_stack_depth();

	ka = diffsync_value_kind(a);
	kb = diffsync_value_kind(b);
	if (ka != kb)
	{
		diff_emit(ctx, DS_OP_REPLACE, NULL, a, b);
		return;
	}
	if (ka != DS_KIND_ARRAY && ka != DS_KIND_OBJECT)
	{
		if (!diffsync_values_equal(a, b))
			diff_emit(ctx, DS_OP_REPLACE, NULL, a, b);
		return;
	}

	/* byte-identical containers are equal: the common case, skip it fast */
	if (a->val.binary.len == b->val.binary.len &&
		memcmp(a->val.binary.data, b->val.binary.data, a->val.binary.len) == 0)
		return;

	if (ka == DS_KIND_OBJECT)
		diff_objects(ctx, a->val.binary.data, b->val.binary.data);
	else if (ctx->arrays.mode == DS_ARRAYS_ATOMIC)
	{
		if (!diffsync_values_equal(a, b))
			diff_emit(ctx, DS_OP_REPLACE, NULL, a, b);
	}
	else
		diff_arrays(ctx, a->val.binary.data, b->val.binary.data);
}

/*
 * With a "path" option, the subtree exists in the target but not in the
 * source: add it, first creating (as empty objects) the ancestors the
 * source lacks, so that the patch applies to the source.  An ancestor that
 * is a scalar in the source, or an array position past the end, cannot be
 * created that way and is an error.
 */
static void
diff_add_subtree(DiffContext *ctx, const JsonbValue *a, const JsonbValue *b,
				 const JsonbValue *sb)
{
	for (int i = 0; i < ctx->subtree_len; i++)
	{
		JsonbValue	pa,
					pb;
		bool		last = (i == ctx->subtree_len - 1);

		/* the parent (prefix of i segments) exists in the source now */
		if (diffsync_value_get_path(a, ctx->subtree, i, &pa) &&
			diffsync_value_kind(&pa) == DS_KIND_ARRAY)
		{
			int			index;

			if (!diffsync_parse_array_index(ctx->subtree[i].name, ctx->subtree[i].len, &index) ||
				index != (int) JsonContainerSize(pa.val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"path\" points past the end of an array of the source", DIFF_FN_NAME),
						 errdetail("The source has no element there, and an element can only be added at the end.")));
		}
		else if (diffsync_value_get_path(a, ctx->subtree, i, &pa) &&
				 diffsync_value_kind(&pa) != DS_KIND_OBJECT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s option \"path\" goes through a scalar of the source", DIFF_FN_NAME),
					 errdetail("The section cannot be added below a %s.",
							   diffsync_kind_name(diffsync_value_kind(&pa)))));

		diffsync_path_push_key(&ctx->path, ctx->subtree[i].name, ctx->subtree[i].len);
		if (last)
			diff_emit(ctx, DS_OP_ADD, NULL, NULL, sb);
		else if (!diffsync_value_get_path(a, ctx->subtree, i + 1, &pa))
		{
			/* a missing ancestor: the target has an object there, or fail */
			JsonbValue	empty;

			diffsync_value_get_path(b, ctx->subtree, i + 1, &pb);
			if (diffsync_value_kind(&pb) != DS_KIND_OBJECT)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"path\" needs an array the source lacks", DIFF_FN_NAME),
						 errhint("Diff the nearest ancestor that both documents have instead.")));
			diffsync_jsonb_root(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"))), &empty);
			diff_emit(ctx, DS_OP_ADD, NULL, NULL, &empty);
		}
	}
}

/*
 * Run the diff of source and target under ctx's options, restricted to the
 * "path" subtree when one is given.
 */
static void
diff_run(DiffContext *ctx, Jsonb *source, Jsonb *target)
{
	JsonbValue	a,
				b;

	diffsync_jsonb_root(source, &a);
	diffsync_jsonb_root(target, &b);
	diffsync_path_init(&ctx->path);

	if (ctx->has_subtree)
	{
		JsonbValue	sa,
					sb;
		bool		in_a = diffsync_value_get_path(&a, ctx->subtree, ctx->subtree_len, &sa);
		bool		in_b = diffsync_value_get_path(&b, ctx->subtree, ctx->subtree_len, &sb);

		if (in_a && in_b)
		{
			for (int i = 0; i < ctx->subtree_len; i++)
				diffsync_path_push_key(&ctx->path, ctx->subtree[i].name, ctx->subtree[i].len);
			diff_values(ctx, &sa, &sb);
		}
		else if (in_a)
		{
			for (int i = 0; i < ctx->subtree_len; i++)
				diffsync_path_push_key(&ctx->path, ctx->subtree[i].name, ctx->subtree[i].len);
			diff_emit(ctx, DS_OP_REMOVE, NULL, &sa, NULL);
		}
		else if (in_b)
			diff_add_subtree(ctx, &a, &b, &sb);
		return;
	}
	diff_values(ctx, &a, &b);
}

/*
 * diffsync_diff_values
 *		The RFC 6902 patch from a to b with default options, for callers in
 *		C (the table diff reports it for changed jsonb attributes).
 */
Jsonb *
diffsync_diff_values(const JsonbValue *a, const JsonbValue *b)
{
	DiffContext ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.arrays.mode = DS_ARRAYS_LCS;
	ctx.emit = emit_patch_op;
	diffsync_path_init(&ctx.path);
	pushJsonbValue(&ctx.state, WJB_BEGIN_ARRAY, NULL);
	diff_values(&ctx, a, b);
	return JsonbValueToJsonb(pushJsonbValue(&ctx.state, WJB_END_ARRAY, NULL));
}

PG_FUNCTION_INFO_V1(diffsync_jsonb_diff);

/*
 * diffsync.jsonb_diff(source jsonb, target jsonb, options jsonb) -> jsonb
 *		An RFC 6902 JSON Patch that turns source into target.
 */
Datum
diffsync_jsonb_diff(PG_FUNCTION_ARGS)
{
	Jsonb	   *source = PG_GETARG_JSONB_P(0);
	Jsonb	   *target = PG_GETARG_JSONB_P(1);
	Jsonb	   *options = PG_GETARG_JSONB_P(2);
	DiffContext ctx;
	JsonbValue *res;

	memset(&ctx, 0, sizeof(ctx));
	diff_parse_options(&ctx, options);
	ctx.emit = emit_patch_op;
	pushJsonbValue(&ctx.state, WJB_BEGIN_ARRAY, NULL);
	diff_run(&ctx, source, target);
	res = pushJsonbValue(&ctx.state, WJB_END_ARRAY, NULL);

	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

PG_FUNCTION_INFO_V1(diffsync_jsonb_changes);

/*
 * diffsync.jsonb_changes(source jsonb, target jsonb, options jsonb)
 *		-> SETOF (op, path, path_array, old_value, new_value)
 *		The operations of jsonb_diff as rows.
 */
Datum
diffsync_jsonb_changes(PG_FUNCTION_ARGS)
{
	Jsonb	   *source = PG_GETARG_JSONB_P(0);
	Jsonb	   *target = PG_GETARG_JSONB_P(1);
	Jsonb	   *options = PG_GETARG_JSONB_P(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DiffContext ctx;

	memset(&ctx, 0, sizeof(ctx));
	diff_parse_options(&ctx, options);
	InitMaterializedSRF(fcinfo, 0);
	ctx.emit = emit_change_row;
	ctx.tupstore = rsinfo->setResult;
	ctx.tupdesc = rsinfo->setDesc;
	diff_run(&ctx, source, target);

	return (Datum) 0;
}
