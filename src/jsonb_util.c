/*-------------------------------------------------------------------------
 *
 * jsonb_util.c
 *	  Helpers on jsonb values shared by diff, patch and merge: kinds,
 *	  equality and hashing with jsonb semantics, container access, building
 *	  results, and reading option objects.
 *
 * Equality follows jsonb's "=": numbers compare numerically (1 = 1.0),
 * true is not 1, JSON null is a value distinct from an absent member.  The
 * hash is consistent with that equality (numbers hash by value), so equal
 * values always hash alike.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "diffsync.h"

/*
 * diffsync_jsonb_root
 *		The top-level value of a jsonb datum: its scalar for a scalar
 *		document, otherwise a jbvBinary pointing at the root container.
 */
void
diffsync_jsonb_root(Jsonb *jb, JsonbValue *out)
{
	if (JB_ROOT_IS_SCALAR(jb))
	{
		if (!JsonbExtractScalar(&jb->root, out))
			elog(ERROR, "could not extract scalar from jsonb");
		return;
	}
	out->type = jbvBinary;
	out->val.binary.data = &jb->root;
	out->val.binary.len = VARSIZE(jb) - VARHDRSZ;
}

/*
 * diffsync_value_kind
 *		The JSON kind of a value, looking inside jbvBinary containers.
 */
DsKind
diffsync_value_kind(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return DS_KIND_NULL;
		case jbvBool:
			return DS_KIND_BOOL;
		case jbvNumeric:
			return DS_KIND_NUMBER;
		case jbvString:
			return DS_KIND_STRING;
		case jbvArray:
			return DS_KIND_ARRAY;
		case jbvObject:
			return DS_KIND_OBJECT;
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ?
				DS_KIND_OBJECT : DS_KIND_ARRAY;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return DS_KIND_NULL;		/* keep compiler quiet */
}

/*
 * diffsync_kind_name
 *		The JSON type name of a kind, as jsonb_typeof spells it.
 */
const char *
diffsync_kind_name(DsKind kind)
{
	static const char *const names[] = {
		"null", "boolean", "number", "string", "array", "object"
	};

	return names[kind];
}

/*
 * diffsync_values_equal
 *		Deep equality with jsonb semantics.  Containers that are
 *		byte-identical are equal without walking them.
 */
bool
diffsync_values_equal(const JsonbValue *a, const JsonbValue *b)
{
	if (a->type != b->type)
		return false;

	switch (a->type)
	{
		case jbvNull:
			return true;
		case jbvBool:
			return a->val.boolean == b->val.boolean;
		case jbvNumeric:
			/* identical bytes are equal; else compare by value (1 = 1.0) */
			if (VARSIZE_ANY(a->val.numeric) == VARSIZE_ANY(b->val.numeric) &&
				memcmp(a->val.numeric, b->val.numeric, VARSIZE_ANY(a->val.numeric)) == 0)
				return true;
			return DatumGetBool(DirectFunctionCall2(numeric_eq,
													NumericGetDatum(a->val.numeric),
													NumericGetDatum(b->val.numeric)));
		case jbvString:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val,
					   a->val.string.len) == 0;
		case jbvBinary:
			{
				JsonbContainer *ca = a->val.binary.data;
				JsonbContainer *cb = b->val.binary.data;

				if (JsonContainerIsObject(ca) != JsonContainerIsObject(cb) ||
					JsonContainerSize(ca) != JsonContainerSize(cb))
					return false;
				if (a->val.binary.len == b->val.binary.len &&
					memcmp(ca, cb, a->val.binary.len) == 0)
					return true;
				return compareJsonbContainers(ca, cb) == 0;
			}
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) a->type);
	}
	return false;				/* keep compiler quiet */
}

/*
 * diffsync_value_hash
 *		A 64-bit hash of a value consistent with diffsync_values_equal.
 *		Containers are hashed token by token; object members come in jsonb's
 *		canonical key order, so equal objects hash alike.
 */
uint64
diffsync_value_hash(const JsonbValue *v, uint64 seed)
{
	uint64		hash = seed;
	JsonbIterator *it;
	JsonbValue	tokval;
	JsonbIteratorToken tok;

	if (v->type != jbvBinary)
	{
		JsonbHashScalarValueExtended(v, &hash, seed);
		return hash;
	}

	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &tokval, false)) != WJB_DONE)
	{
		/* mix the token kind, so that keys, values and nesting all count */
		hash = hash_combine64(hash, (uint64) tok * UINT64CONST(0x9E3779B97F4A7C15));
		if (tok == WJB_KEY || tok == WJB_VALUE || tok == WJB_ELEM)
			JsonbHashScalarValueExtended(&tokval, &hash, seed);
	}
	return hash;
}

/*
 * diffsync_container_items
 *		The elements of an array container as a palloc'd array of values
 *		(containers stay jbvBinary).  Returns their number.
 */
int
diffsync_container_items(JsonbContainer *c, JsonbValue **items)
{
	int			n = JsonContainerSize(c);
	int			i = 0;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbValue *out;

	Assert(JsonContainerIsArray(c));
	out = palloc(sizeof(JsonbValue) * Max(n, 1));
	it = JsonbIteratorInit(c);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM)
			out[i++] = v;
	}
	Assert(i == n);
	*items = out;
	return n;
}

/*
 * The value of entry i of container c (keys first, then values, for an
 * object), which occupies bytes [start, end) of the data area at base:
 * read straight from the entry's type bits, as jsonb lays values out
 * (numerics and nested containers padded to an int boundary).
 */
static void
container_entry(const JsonbContainer *c, char *base, int i, uint32 start,
				uint32 end, JsonbValue *v)
{
	JEntry		e = c->children[i];

	if (JBE_ISSTRING(e))
	{
		v->type = jbvString;
		v->val.string.val = base + start;
		v->val.string.len = end - start;
	}
	else if (JBE_ISNUMERIC(e))
	{
		v->type = jbvNumeric;
		v->val.numeric = (Numeric) (base + INTALIGN(start));
	}
	else if (JBE_ISBOOL_TRUE(e) || JBE_ISBOOL_FALSE(e))
	{
		v->type = jbvBool;
		v->val.boolean = JBE_ISBOOL_TRUE(e);
	}
	else if (JBE_ISNULL(e))
		v->type = jbvNull;
	else
	{
		Assert(JBE_ISCONTAINER(e));
		v->type = jbvBinary;
		v->val.binary.data = (JsonbContainer *) (base + INTALIGN(start));
		v->val.binary.len = end - INTALIGN(start);
	}
}

/*
 * diffsync_object_members
 *		The members of an object container, in jsonb key order, as two
 *		palloc'd arrays.  Returns the number of members.  The entries are
 *		read in one pass over the container's entry array, each ending
 *		where the next begins, without an iterator.
 */
int
diffsync_object_members(JsonbContainer *c, JsonbValue **keys,
						JsonbValue **values)
{
	int			n = JsonContainerSize(c);
	char	   *base = (char *) &c->children[n * 2];
	uint32		off = 0;
	JsonbValue *k_out,
			   *v_out;

	Assert(JsonContainerIsObject(c));
	k_out = palloc(sizeof(JsonbValue) * Max(n, 1));
	v_out = palloc(sizeof(JsonbValue) * Max(n, 1));
	for (int i = 0; i < n * 2; i++)
	{
		JEntry		e = c->children[i];
		uint32		end = JBE_HAS_OFF(e) ? JBE_OFFLENFLD(e) : off + JBE_OFFLENFLD(e);

		container_entry(c, base, i, off, end, i < n ? &k_out[i] : &v_out[i - n]);
		off = end;
	}
	*keys = k_out;
	*values = v_out;
	return n;
}

/*
 * diffsync_key_compare
 *		Order of object keys as jsonb stores them: shorter keys first, then
 *		bytewise.  Used to merge-join members of two objects.
 */
int
diffsync_key_compare(const JsonbValue *a, const JsonbValue *b)
{
	if (a->val.string.len != b->val.string.len)
		return a->val.string.len < b->val.string.len ? -1 : 1;
	return memcmp(a->val.string.val, b->val.string.val, a->val.string.len);
}

/*
 * diffsync_object_get
 *		Look up member key (len bytes) of obj; false if obj is not an object
 *		or has no such member.
 */
bool
diffsync_object_get(const JsonbValue *obj, const char *key, int len,
					JsonbValue *out)
{
	if (obj->type != jbvBinary || !JsonContainerIsObject(obj->val.binary.data))
		return false;
	return getKeyJsonValueFromContainer(obj->val.binary.data, key, len, out) != NULL;
}

/*
 * diffsync_value_get_path
 *		Follow parsed pointer segments from root.  Returns false when a
 *		member or element is missing or a scalar is in the way.
 */
bool
diffsync_value_get_path(const JsonbValue *root, DsSegment *segs, int nsegs,
						JsonbValue *out)
{
	JsonbValue	cur = *root;

	for (int i = 0; i < nsegs; i++)
	{
		JsonbContainer *c;

		if (cur.type != jbvBinary)
			return false;
		c = cur.val.binary.data;
		if (JsonContainerIsObject(c))
		{
			JsonbValue	next;

			if (!getKeyJsonValueFromContainer(c, segs[i].name, segs[i].len, &next))
				return false;
			cur = next;
		}
		else
		{
			int			index;
			JsonbValue *elem;

			if (!diffsync_parse_array_index(segs[i].name, segs[i].len, &index) ||
				index >= (int) JsonContainerSize(c))
				return false;
			elem = getIthJsonbValueFromContainer(c, index);
			cur = *elem;
		}
	}
	*out = cur;
	return true;
}

/*
 * diffsync_value_to_jsonb
 *		A value as a jsonb datum (copying containers).
 */
Jsonb *
diffsync_value_to_jsonb(const JsonbValue *v)
{
	return JsonbValueToJsonb((JsonbValue *) v);
}

/*
 * diffsync_push_value
 *		Push a value of any type (containers unpacked) into a parse state as
 *		WJB_ELEM or WJB_VALUE.
 */
void
diffsync_push_value(JsonbParseState **state, JsonbIteratorToken tok,
					const JsonbValue *v)
{
	pushJsonbValue(state, tok, (JsonbValue *) v);
}

/*
 * diffsync_push_cstring
 *		Push a NUL-terminated string as a key, value or element.
 */
void
diffsync_push_cstring(JsonbParseState **state, JsonbIteratorToken tok,
					  const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(state, tok, &v);
}

/*
 * diffsync_push_int
 *		Push "name": n into an object under construction.
 */
void
diffsync_push_int(JsonbParseState **state, const char *name, int64 n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	diffsync_push_cstring(state, WJB_KEY, name);
	pushJsonbValue(state, WJB_VALUE, &v);
}

/*
 * diffsync_value_to_cstring
 *		A value's JSON text, for messages.
 */
char *
diffsync_value_to_cstring(const JsonbValue *v)
{
	Jsonb	   *jb = diffsync_value_to_jsonb(v);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/*
 * diffsync_string_option
 *		The text of a string-valued option; error naming function fn and the
 *		option otherwise.
 */
char *
diffsync_string_option(const JsonbValue *v, const char *fn, const char *option)
{
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s option \"%s\" must be a string", fn, option)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * diffsync_bool_option
 *		The value of a boolean option; error naming function fn otherwise.
 */
bool
diffsync_bool_option(const JsonbValue *v, const char *fn, const char *option)
{
	if (v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s option \"%s\" must be true or false", fn, option)));
	return v->val.boolean;
}

/*
 * diffsync_parse_array_options
 *		Read option "arrays" or "array_key" (key) with value v into opts.
 */
void
diffsync_parse_array_options(const JsonbValue *key, const JsonbValue *v,
							 DsArrayOptions *opts, const char *fn)
{
	if (key->val.string.len == 6 && memcmp(key->val.string.val, "arrays", 6) == 0)
	{
		char	   *mode = diffsync_string_option(v, fn, "arrays");

		if (strcmp(mode, "lcs") == 0)
			opts->mode = DS_ARRAYS_LCS;
		else if (strcmp(mode, "index") == 0)
			opts->mode = DS_ARRAYS_INDEX;
		else if (strcmp(mode, "atomic") == 0)
			opts->mode = DS_ARRAYS_ATOMIC;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s option \"arrays\" has invalid value \"%s\"", fn, mode),
					 errhint("Valid values are \"lcs\", \"index\" and \"atomic\".")));
		opts->mode_given = true;
		return;
	}

	/* array_key: a field name or a non-empty array of field names */
	if (v->type == jbvString)
	{
		opts->nkeys = 1;
		opts->keys = palloc(sizeof(JsonbValue));
		opts->keys[0] = *v;
		return;
	}
	if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data) &&
		JsonContainerSize(v->val.binary.data) > 0)
	{
		JsonbValue *items;
		int			n = diffsync_container_items(v->val.binary.data, &items);

		for (int i = 0; i < n; i++)
			if (items[i].type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s option \"array_key\" must contain only strings", fn)));
		opts->nkeys = n;
		opts->keys = items;
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s option \"array_key\" must be a string or a non-empty array of strings", fn)));
}

/*
 * diffsync_finish_array_options
 *		Settle "arrays" and "array_key" together: matching by key is an
 *		alignment, so array_key implies arrays "lcs", and combining it with
 *		"index" or "atomic" is an error rather than a silently ignored key.
 */
void
diffsync_finish_array_options(DsArrayOptions *opts, const char *fn)
{
	if (opts->nkeys == 0)
		return;
	if (opts->mode_given && opts->mode != DS_ARRAYS_LCS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s option \"array_key\" cannot be combined with arrays \"%s\"", fn,
						opts->mode == DS_ARRAYS_INDEX ? "index" : "atomic"),
				 errhint("Matching elements by key is an alignment: leave out \"arrays\" or set it to \"lcs\".")));
	opts->mode = DS_ARRAYS_LCS;
}

/*
 * diffsync_unknown_option
 *		Raise the error for an option key that function fn does not know.
 */
void
diffsync_unknown_option(const JsonbValue *key, const char *fn, const char *valid)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unrecognized %s option \"%.*s\"", fn,
					key->val.string.len, key->val.string.val),
			 errhint("Valid options are %s.", valid)));
}
