/*-------------------------------------------------------------------------
 *
 * jsonb_patch.c
 *	  RFC 6902 JSON Patch application: jsonb_patch().
 *
 * The document is turned into a tree of PatchNodes lazily: a node starts as
 * a reference to the (immutable) jsonb value it came from and is expanded
 * into a mutable array or object only when an operation has to look or
 * change inside it.  All operations run against this tree, and the result is
 * serialized once at the end, so a patch of k operations on a document of
 * size n costs O(n + k * path length) rather than k rewrites of the
 * document.  Untouched subtrees are copied into the result as they are.
 *
 * Any failure raises an error naming the operation index and path; since
 * nothing is written until the end, application is all or nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "diffsync.h"
#include "sync.h"

typedef enum PatchNodeKind
{
	NODE_VALUE,					/* a scalar or an unexpanded container */
	NODE_ARRAY,
	NODE_OBJECT
} PatchNodeKind;

typedef struct PatchNode
{
	PatchNodeKind kind;
	JsonbValue	value;			/* NODE_VALUE only */
	int			n;				/* elements or members */
	int			cap;
	struct PatchNode **items;	/* elements, or member values */
	JsonbValue *keys;			/* member names, in jsonb key order */
} PatchNode;

/* What the error messages need to know about the current operation */
typedef struct PatchOp
{
	int			index;
	const char *op;
	const char *path;
} PatchOp;

/* Raise an error about operation pop, with a detail sentence. */
#define patch_error(pop, code, ...) \
	ereport(ERROR, \
			(errcode(code), \
			 errmsg("JSON Patch operation %d (%s) failed at path \"%s\"", \
					(pop)->index, (pop)->op, (pop)->path), \
			 errdetail(__VA_ARGS__)))

static PatchNode *
node_from_value(const JsonbValue *v)
{
	PatchNode  *node = palloc0(sizeof(PatchNode));

	node->kind = NODE_VALUE;
	node->value = *v;
	return node;
}

/* Is the node an array or object, expanded or not? */
static bool
node_is_container(PatchNode *node)
{
	return node->kind != NODE_VALUE || node->value.type == jbvBinary;
}

/* Grow a node's element or member arrays to hold one more entry. */
static void
node_reserve(PatchNode *node)
{
	if (node->n < node->cap)
		return;
	node->cap = Max(node->cap * 2, 8);
	if (node->items)
		node->items = repalloc(node->items, sizeof(PatchNode *) * node->cap);
	else
		node->items = palloc(sizeof(PatchNode *) * node->cap);
	if (node->kind == NODE_OBJECT)
	{
		if (node->keys)
			node->keys = repalloc(node->keys, sizeof(JsonbValue) * node->cap);
		else
			node->keys = palloc(sizeof(JsonbValue) * node->cap);
	}
}

/*
 * Expand an unexpanded container node in place into NODE_ARRAY or
 * NODE_OBJECT, its children becoming unexpanded NODE_VALUEs.
 */
static void
node_expand(PatchNode *node)
{
	JsonbContainer *c;

	if (node->kind != NODE_VALUE)
		return;
	Assert(node->value.type == jbvBinary);
	c = node->value.val.binary.data;
	if (JsonContainerIsObject(c))
	{
		JsonbValue *keys,
				   *values;
		int			n = diffsync_object_members(c, &keys, &values);

		node->kind = NODE_OBJECT;
		node->keys = keys;
		node->items = palloc(sizeof(PatchNode *) * Max(n, 1));
		for (int i = 0; i < n; i++)
			node->items[i] = node_from_value(&values[i]);
		node->n = n;
		node->cap = Max(n, 1);
	}
	else
	{
		JsonbValue *items;
		int			n = diffsync_container_items(c, &items);

		node->kind = NODE_ARRAY;
		node->items = palloc(sizeof(PatchNode *) * Max(n, 1));
		for (int i = 0; i < n; i++)
			node->items[i] = node_from_value(&items[i]);
		node->n = n;
		node->cap = Max(n, 1);
	}
}

/*
 * Binary search for member name in an expanded object.  Returns its position
 * and sets *found, or the insertion position.
 */
static int
node_find_key(PatchNode *node, const char *name, int len, bool *found)
{
	JsonbValue	key;
	int			lo = 0,
				hi = node->n;

	key.type = jbvString;
	key.val.string.val = (char *) name;
	key.val.string.len = len;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		int			cmp = diffsync_key_compare(&node->keys[mid], &key);

		if (cmp == 0)
		{
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Deep copy of a node (unexpanded values are immutable and shared). */
static PatchNode *
node_clone(PatchNode *node)
{
	PatchNode  *copy = palloc(sizeof(PatchNode));

	check_stack_depth();
	*copy = *node;
	if (node->kind == NODE_VALUE)
		return copy;
	copy->cap = Max(node->n, 1);
	copy->items = palloc(sizeof(PatchNode *) * copy->cap);
	for (int i = 0; i < node->n; i++)
		copy->items[i] = node_clone(node->items[i]);
	if (node->kind == NODE_OBJECT)
	{
		copy->keys = palloc(sizeof(JsonbValue) * copy->cap);
		memcpy(copy->keys, node->keys, sizeof(JsonbValue) * node->n);
	}
	return copy;
}

/* Does a node hold the same JSON value as v (jsonb equality)? */
static bool
node_equals(PatchNode *node, const JsonbValue *v)
{
	check_stack_depth();
	if (node->kind == NODE_VALUE)
		return diffsync_values_equal(&node->value, v);
	if (v->type != jbvBinary)
		return false;
	if (node->kind == NODE_ARRAY)
	{
		JsonbValue *items;
		int			n;

		if (!JsonContainerIsArray(v->val.binary.data) ||
			(int) JsonContainerSize(v->val.binary.data) != node->n)
			return false;
		n = diffsync_container_items(v->val.binary.data, &items);
		for (int i = 0; i < n; i++)
			if (!node_equals(node->items[i], &items[i]))
				return false;
		return true;
	}
	else
	{
		JsonbValue *keys,
				   *values;
		int			n;

		if (!JsonContainerIsObject(v->val.binary.data) ||
			(int) JsonContainerSize(v->val.binary.data) != node->n)
			return false;
		n = diffsync_object_members(v->val.binary.data, &keys, &values);
		for (int i = 0; i < n; i++)
			if (diffsync_key_compare(&keys[i], &node->keys[i]) != 0 ||
				!node_equals(node->items[i], &values[i]))
				return false;
		return true;
	}
}

/*
 * Serialize a node into a parse state as token tok (WJB_ELEM/WJB_VALUE).
 * Returns what the last pushJsonbValue returned: the finished value when the
 * node is the root.
 */
static JsonbValue *
node_push(JsonbParseState **state, PatchNode *node, JsonbIteratorToken tok)
{
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (node->kind == NODE_VALUE)
		return pushJsonbValue(state, tok, &node->value);
	if (node->kind == NODE_ARRAY)
	{
		pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
		for (int i = 0; i < node->n; i++)
			node_push(state, node->items[i], WJB_ELEM);
		return pushJsonbValue(state, WJB_END_ARRAY, NULL);
	}
	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < node->n; i++)
	{
		pushJsonbValue(state, WJB_KEY, &node->keys[i]);
		node_push(state, node->items[i], WJB_VALUE);
	}
	return pushJsonbValue(state, WJB_END_OBJECT, NULL);
}

/* Read the array index of segment seg of an array of n elements. */
static int
patch_array_index(PatchOp *pop, const DsSegment *seg, int n, bool allow_end)
{
	int			index;

	if (seg->len == 1 && seg->name[0] == '-')
	{
		if (allow_end)
			return n;
		patch_error(pop, ERRCODE_INVALID_SQL_JSON_SUBSCRIPT,
					"Array index \"-\" (past the last element) is only valid as the last segment of an \"add\" path.");
	}
	if (!diffsync_parse_array_index(seg->name, seg->len, &index))
		patch_error(pop, ERRCODE_INVALID_SQL_JSON_SUBSCRIPT,
					"\"%.*s\" is not a valid array index: use digits without a leading zero, or \"-\".",
					seg->len, seg->name);
	if (index > n || (index == n && !allow_end))
		patch_error(pop, ERRCODE_INVALID_SQL_JSON_SUBSCRIPT,
					"Array index %d is out of range: the array has %d elements.",
					index, n);
	return index;
}

/*
 * Walk segs[0..nsegs) from root to an existing node; errors when a member or
 * element is missing or a scalar is in the way.
 */
static PatchNode *
patch_resolve(PatchOp *pop, PatchNode *root, DsSegment *segs, int nsegs)
{
	PatchNode  *cur = root;

	for (int i = 0; i < nsegs; i++)
	{
		if (!node_is_container(cur))
			patch_error(pop, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND,
						"The value at \"%s\" segment %d is a scalar, not an object or array.",
						pop->path, i);
		node_expand(cur);
		if (cur->kind == NODE_OBJECT)
		{
			bool		found;
			int			pos = node_find_key(cur, segs[i].name, segs[i].len, &found);

			if (!found)
				patch_error(pop, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND,
							"Object member \"%.*s\" does not exist.",
							segs[i].len, segs[i].name);
			cur = cur->items[pos];
		}
		else
			cur = cur->items[patch_array_index(pop, &segs[i], cur->n, false)];
	}
	return cur;
}

/*
 * The container that holds the last segment of segs (nsegs >= 1),
 * expanded.
 */
static PatchNode *
patch_parent(PatchOp *pop, PatchNode *root, DsSegment *segs, int nsegs)
{
	PatchNode  *parent = patch_resolve(pop, root, segs, nsegs - 1);

	if (!node_is_container(parent))
		patch_error(pop, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND,
					"The parent of the target location is a scalar, not an object or array.");
	node_expand(parent);
	return parent;
}

/* RFC 6902 "add": insert or set value at segs. */
static void
patch_add(PatchOp *pop, PatchNode **root, DsSegment *segs, int nsegs,
		  PatchNode *value)
{
	PatchNode  *parent;
	DsSegment  *last;

	if (nsegs == 0)
	{
		*root = value;
		return;
	}
	parent = patch_parent(pop, *root, segs, nsegs);
	last = &segs[nsegs - 1];
	if (parent->kind == NODE_OBJECT)
	{
		bool		found;
		int			pos = node_find_key(parent, last->name, last->len, &found);

		if (found)
		{
			parent->items[pos] = value;
			return;
		}
		node_reserve(parent);
		memmove(&parent->items[pos + 1], &parent->items[pos],
				sizeof(PatchNode *) * (parent->n - pos));
		memmove(&parent->keys[pos + 1], &parent->keys[pos],
				sizeof(JsonbValue) * (parent->n - pos));
		parent->items[pos] = value;
		parent->keys[pos].type = jbvString;
		parent->keys[pos].val.string.val = (char *) last->name;
		parent->keys[pos].val.string.len = last->len;
		parent->n++;
	}
	else
	{
		int			pos = patch_array_index(pop, last, parent->n, true);

		node_reserve(parent);
		memmove(&parent->items[pos + 1], &parent->items[pos],
				sizeof(PatchNode *) * (parent->n - pos));
		parent->items[pos] = value;
		parent->n++;
	}
}

/* RFC 6902 "replace": set the existing location segs to value. */
static void
patch_replace(PatchOp *pop, PatchNode **root, DsSegment *segs, int nsegs,
			  PatchNode *value)
{
	PatchNode  *parent;
	DsSegment  *last;
	int			pos;

	if (nsegs == 0)
	{
		*root = value;
		return;
	}
	parent = patch_parent(pop, *root, segs, nsegs);
	last = &segs[nsegs - 1];
	if (parent->kind == NODE_OBJECT)
	{
		bool		found;

		pos = node_find_key(parent, last->name, last->len, &found);
		if (!found)
			patch_error(pop, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND,
						"Object member \"%.*s\" does not exist.", last->len, last->name);
	}
	else
		pos = patch_array_index(pop, last, parent->n, false);
	parent->items[pos] = value;
}

/* RFC 6902 "remove": take the value at segs out and return it. */
static PatchNode *
patch_remove(PatchOp *pop, PatchNode *root, DsSegment *segs, int nsegs)
{
	PatchNode  *parent;
	PatchNode  *removed;
	DsSegment  *last;
	int			pos;

	if (nsegs == 0)
		patch_error(pop, ERRCODE_INVALID_PARAMETER_VALUE,
					"The whole document cannot be removed.");
	parent = patch_parent(pop, root, segs, nsegs);
	last = &segs[nsegs - 1];
	if (parent->kind == NODE_OBJECT)
	{
		bool		found;

		pos = node_find_key(parent, last->name, last->len, &found);
		if (!found)
			patch_error(pop, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND,
						"Object member \"%.*s\" does not exist.", last->len, last->name);
		memmove(&parent->keys[pos], &parent->keys[pos + 1],
				sizeof(JsonbValue) * (parent->n - pos - 1));
	}
	else
		pos = patch_array_index(pop, last, parent->n, false);
	removed = parent->items[pos];
	memmove(&parent->items[pos], &parent->items[pos + 1],
			sizeof(PatchNode *) * (parent->n - pos - 1));
	parent->n--;
	return removed;
}

/* Read a string member "name" of operation object opv; NULL if absent. */
static char *
patch_string_member(PatchOp *pop, const JsonbValue *opv, const char *name,
					int *len)
{
	JsonbValue	v;

	if (!diffsync_object_get(opv, name, strlen(name), &v))
		return NULL;
	if (v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JSON Patch operation %d has a non-string \"%s\" member",
						pop->index, name)));
	*len = v.val.string.len;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/* Is pointer a a proper prefix of pointer b, segment-wise? */
static bool
segments_proper_prefix(DsSegment *a, int na, DsSegment *b, int nb)
{
	if (na >= nb)
		return false;
	for (int i = 0; i < na; i++)
		if (a[i].len != b[i].len || memcmp(a[i].name, b[i].name, a[i].len) != 0)
			return false;
	return true;
}

/* Apply operation opv (the index-th of the patch) to the tree. */
static void
patch_apply_op(PatchNode **root, const JsonbValue *opv, int index)
{
	PatchOp		pop;
	char	   *op;
	char	   *path;
	char	   *from = NULL;
	int			oplen,
				pathlen,
				fromlen = 0;
	DsSegment  *segs,
			   *fsegs = NULL;
	int			nsegs,
				nfsegs = 0;
	JsonbValue	value;
	bool		has_value = false;

	pop.index = index;
	pop.op = "?";
	pop.path = "";

	if (opv->type != jbvBinary || !JsonContainerIsObject(opv->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JSON Patch operation %d is not a JSON object", index)));

	op = patch_string_member(&pop, opv, "op", &oplen);
	if (op == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JSON Patch operation %d has no \"op\" member", index)));
	pop.op = op;
	if (strcmp(op, "add") != 0 && strcmp(op, "remove") != 0 &&
		strcmp(op, "replace") != 0 && strcmp(op, "move") != 0 &&
		strcmp(op, "copy") != 0 && strcmp(op, "test") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JSON Patch operation %d has unknown op \"%s\"", index, op),
				 errhint("Valid operations are \"add\", \"remove\", \"replace\", \"move\", \"copy\" and \"test\".")));

	path = patch_string_member(&pop, opv, "path", &pathlen);
	if (path == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JSON Patch operation %d (%s) has no \"path\" member", index, op)));
	pop.path = path;
	if (!diffsync_pointer_valid(path, pathlen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("JSON Patch operation %d (%s) has an invalid JSON pointer \"%s\"", index, op, path),
				 errdetail("A JSON pointer is empty or starts with \"/\", and \"~\" must be followed by \"0\" or \"1\".")));
	nsegs = diffsync_pointer_parse(path, pathlen, &segs);

	if (strcmp(op, "move") == 0 || strcmp(op, "copy") == 0)
	{
		from = patch_string_member(&pop, opv, "from", &fromlen);
		if (from == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("JSON Patch operation %d (%s) has no \"from\" member", index, op)));
		if (!diffsync_pointer_valid(from, fromlen))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("JSON Patch operation %d (%s) has an invalid JSON pointer \"%s\" in \"from\"", index, op, from),
					 errdetail("A JSON pointer is empty or starts with \"/\", and \"~\" must be followed by \"0\" or \"1\".")));
		nfsegs = diffsync_pointer_parse(from, fromlen, &fsegs);
	}
	else if (strcmp(op, "remove") != 0)
	{
		has_value = diffsync_object_get(opv, "value", 5, &value);
		if (!has_value)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("JSON Patch operation %d (%s) has no \"value\" member", index, op)));
	}

	if (strcmp(op, "add") == 0)
		patch_add(&pop, root, segs, nsegs, node_from_value(&value));
	else if (strcmp(op, "remove") == 0)
		(void) patch_remove(&pop, *root, segs, nsegs);
	else if (strcmp(op, "replace") == 0)
		patch_replace(&pop, root, segs, nsegs, node_from_value(&value));
	else if (strcmp(op, "move") == 0)
	{
		PatchNode  *moved;

		if (segments_proper_prefix(fsegs, nfsegs, segs, nsegs))
			patch_error(&pop, ERRCODE_INVALID_PARAMETER_VALUE,
						"A value cannot be moved into one of its own children (from \"%s\").",
						from);
		(void) patch_resolve(&pop, *root, fsegs, nfsegs);
		if (fromlen == pathlen && memcmp(from, path, pathlen) == 0)
			return;
		/* from is not the root here: the root is a prefix of every other path */
		moved = patch_remove(&pop, *root, fsegs, nfsegs);
		patch_add(&pop, root, segs, nsegs, moved);
	}
	else if (strcmp(op, "copy") == 0)
	{
		PatchNode  *src = patch_resolve(&pop, *root, fsegs, nfsegs);

		patch_add(&pop, root, segs, nsegs, node_clone(src));
	}
	else
	{
		PatchNode  *cur = patch_resolve(&pop, *root, segs, nsegs);

		if (!node_equals(cur, &value))
			ereport(ERROR,
					(errcode(DIFFSYNC_ERRCODE_TEST_FAILED),
					 errmsg("JSON Patch operation %d (test) failed at path \"%s\"",
							index, path),
					 errdetail("The value there is not equal to the tested value %s.",
							   diffsync_value_to_cstring(&value))));
	}
}

PG_FUNCTION_INFO_V1(diffsync_jsonb_patch);

/*
 * diffsync.jsonb_patch(doc jsonb, patch jsonb) -> jsonb
 *		Apply an RFC 6902 JSON Patch, all or nothing.
 */
Datum
diffsync_jsonb_patch(PG_FUNCTION_ARGS)
{
	Jsonb	   *doc = PG_GETARG_JSONB_P(0);
	Jsonb	   *patch = PG_GETARG_JSONB_P(1);
	JsonbValue	docv;
	JsonbValue *ops;
	int			nops;
	PatchNode  *root;
	JsonbParseState *state = NULL;
	JsonbValue *res;

	if (!JB_ROOT_IS_ARRAY(patch) || JB_ROOT_IS_SCALAR(patch))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a JSON Patch must be a JSON array of operations")));

	diffsync_jsonb_root(doc, &docv);
	root = node_from_value(&docv);
	nops = diffsync_container_items(&patch->root, &ops);
	for (int i = 0; i < nops; i++)
	{
		CHECK_FOR_INTERRUPTS();
		patch_apply_op(&root, &ops[i], i);
	}

	if (root->kind == NODE_VALUE)
		PG_RETURN_JSONB_P(diffsync_value_to_jsonb(&root->value));
	res = node_push(&state, root, WJB_ELEM);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

/* Follow segs from root without raising: NULL when missing. */
static PatchNode *
node_lookup(PatchNode *root, DsSegment *segs, int nsegs)
{
	PatchNode  *cur = root;

	for (int i = 0; i < nsegs; i++)
	{
		if (!node_is_container(cur))
			return NULL;
		node_expand(cur);
		if (cur->kind == NODE_OBJECT)
		{
			bool		found;
			int			pos = node_find_key(cur, segs[i].name, segs[i].len, &found);

			if (!found)
				return NULL;
			cur = cur->items[pos];
		}
		else
		{
			int			index;

			if (!diffsync_parse_array_index(segs[i].name, segs[i].len, &index) ||
				index >= cur->n)
				return NULL;
			cur = cur->items[index];
		}
	}
	return cur;
}

/*
 * diffsync_set_section
 *		doc (NULL or JSON null: an empty object) with the value at segs set
 *		to value, or removed when value is NULL.  Missing parent objects are
 *		created.  Used by incremental sync to write one section of a jsonb
 *		attribute and leave the rest as it is.
 */
Jsonb *
diffsync_set_section(const JsonbValue *doc, DsSegment *segs, int nsegs,
					 const JsonbValue *value)
{
	PatchNode  *root;
	PatchOp		pop;
	JsonbParseState *state = NULL;

	pop.index = 0;
	pop.op = "set section";
	pop.path = "";
	if (doc == NULL || doc->type == jbvNull)
	{
		root = palloc0(sizeof(PatchNode));
		root->kind = NODE_OBJECT;
	}
	else
		root = node_from_value(doc);

	for (int i = 1; i < nsegs; i++)
	{
		if (node_lookup(root, segs, i) == NULL)
		{
			PatchNode  *empty = palloc0(sizeof(PatchNode));

			empty->kind = NODE_OBJECT;
			patch_add(&pop, &root, segs, i, empty);
		}
	}
	if (value)
	{
		if (node_lookup(root, segs, nsegs) != NULL)
			patch_replace(&pop, &root, segs, nsegs, node_from_value(value));
		else
			patch_add(&pop, &root, segs, nsegs, node_from_value(value));
	}
	else if (node_lookup(root, segs, nsegs) != NULL)
		(void) patch_remove(&pop, root, segs, nsegs);

	if (root->kind == NODE_VALUE)
		return diffsync_value_to_jsonb(&root->value);
	return JsonbValueToJsonb(node_push(&state, root, WJB_ELEM));
}
