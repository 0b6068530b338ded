/*-------------------------------------------------------------------------
 *
 * json_pointer.c
 *	  RFC 6901 JSON pointers: parsing, escaping and rendering.
 *
 * A pointer is "" (the whole document) or a sequence of "/"-prefixed
 * segments in which "~1" stands for "/" and "~0" for "~".  Parsed segments
 * are unescaped copies in CurrentMemoryContext.  While diffing, the current
 * location is a DsPath stack whose member names point into the jsonb being
 * diffed, so pushing and popping costs nothing; the pointer text is only
 * rendered when an operation is emitted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "diffsync.h"

/*
 * diffsync_path_init
 *		Start an empty path (the document root).
 */
void
diffsync_path_init(DsPath *path)
{
	path->cap = 16;
	path->depth = 0;
	path->segs = palloc(sizeof(DsSegment) * path->cap);
}

/* Make room for one more segment. */
static DsSegment *
path_push(DsPath *path)
{
	if (path->depth == path->cap)
	{
		path->cap *= 2;
		path->segs = repalloc(path->segs, sizeof(DsSegment) * path->cap);
	}
	return &path->segs[path->depth++];
}

/*
 * diffsync_path_push_key
 *		Descend into object member "name" (len bytes, not copied: the caller
 *		keeps it alive while it is on the path).
 */
void
diffsync_path_push_key(DsPath *path, const char *name, int len)
{
	DsSegment  *seg = path_push(path);

	seg->name = name;
	seg->len = len;
	seg->index = -1;
}

/*
 * diffsync_path_push_index
 *		Descend into array element "index".
 */
void
diffsync_path_push_index(DsPath *path, int index)
{
	DsSegment  *seg = path_push(path);

	seg->name = NULL;
	seg->len = 0;
	seg->index = index;
}

/*
 * diffsync_path_pop
 *		Go back up one level.
 */
void
diffsync_path_pop(DsPath *path)
{
	Assert(path->depth > 0);
	path->depth--;
}

/*
 * diffsync_pointer_escape
 *		Append one segment to buf with "~" written as "~0" and "/" as "~1".
 */
void
diffsync_pointer_escape(StringInfo buf, const char *name, int len)
{
	for (int i = 0; i < len; i++)
	{
		if (name[i] == '~')
			appendBinaryStringInfo(buf, "~0", 2);
		else if (name[i] == '/')
			appendBinaryStringInfo(buf, "~1", 2);
		else
			appendStringInfoChar(buf, name[i]);
	}
}

/*
 * diffsync_path_to_pointer
 *		Render a path as an escaped JSON pointer string ("" for the root).
 */
char *
diffsync_path_to_pointer(const DsPath *path)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < path->depth; i++)
	{
		const DsSegment *seg = &path->segs[i];

		appendStringInfoChar(&buf, '/');
		if (seg->index >= 0)
			appendStringInfo(&buf, "%d", seg->index);
		else
			diffsync_pointer_escape(&buf, seg->name, seg->len);
	}
	return buf.data;
}

/*
 * diffsync_segment_text
 *		A segment's unescaped text as a palloc'd NUL-terminated string;
 *		*len receives its length.
 */
char *
diffsync_segment_text(const DsSegment *seg, int *len)
{
	char	   *s;

	if (seg->index >= 0)
	{
		s = psprintf("%d", seg->index);
		*len = strlen(s);
	}
	else
	{
		s = pnstrdup(seg->name, seg->len);
		*len = seg->len;
	}
	return s;
}

/*
 * diffsync_path_to_text_array
 *		The path as a text[] of unescaped segments ('{}' for the root).
 */
Datum
diffsync_path_to_text_array(const DsPath *path)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(path->depth, 1));
	ArrayType  *arr;

	for (int i = 0; i < path->depth; i++)
	{
		int			len;
		char	   *s = diffsync_segment_text(&path->segs[i], &len);

		elems[i] = PointerGetDatum(cstring_to_text_with_len(s, len));
	}
	arr = construct_array(elems, path->depth, TEXTOID, -1, false, TYPALIGN_INT);
	return PointerGetDatum(arr);
}

/*
 * diffsync_pointer_parse
 *		Parse JSON pointer text ptr (len bytes) into unescaped segments.
 *
 * Returns the number of segments (0 for the root pointer "") and sets *segs
 * to a palloc'd array of them.  Malformed pointers raise an error.
 */
int
diffsync_pointer_parse(const char *ptr, int len, DsSegment **segs)
{
	int			nsegs = 0;
	int			pos;
	DsSegment  *out;

	*segs = NULL;
	if (len == 0)
		return 0;
	if (ptr[0] != '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid JSON pointer \"%.*s\"", len, ptr),
				 errdetail("A JSON pointer is empty or starts with \"/\".")));

	for (int i = 0; i < len; i++)
		if (ptr[i] == '/')
			nsegs++;
	out = palloc(sizeof(DsSegment) * nsegs);

	pos = 1;
	for (int s = 0; s < nsegs; s++)
	{
		int			end = pos;
		char	   *buf;
		int			blen = 0;

		while (end < len && ptr[end] != '/')
			end++;
		buf = palloc(end - pos + 1);
		for (int i = pos; i < end; i++)
		{
			if (ptr[i] == '~')
			{
				if (i + 1 < end && ptr[i + 1] == '0')
					buf[blen++] = '~';
				else if (i + 1 < end && ptr[i + 1] == '1')
					buf[blen++] = '/';
				else
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							 errmsg("invalid JSON pointer \"%.*s\"", len, ptr),
							 errdetail("In a JSON pointer \"~\" must be followed by \"0\" or \"1\".")));
				i++;
			}
			else
				buf[blen++] = ptr[i];
		}
		buf[blen] = '\0';
		out[s].name = buf;
		out[s].len = blen;
		out[s].index = -1;
		pos = end + 1;
	}
	*segs = out;
	return nsegs;
}

/*
 * diffsync_pointer_valid
 *		Is ptr (len bytes) a well-formed JSON pointer?  Lets callers raise an
 *		error in their own terms before diffsync_pointer_parse would.
 */
bool
diffsync_pointer_valid(const char *ptr, int len)
{
	if (len == 0)
		return true;
	if (ptr[0] != '/')
		return false;
	for (int i = 0; i < len; i++)
		if (ptr[i] == '~' && (i + 1 >= len || (ptr[i + 1] != '0' && ptr[i + 1] != '1')))
			return false;
	return true;
}

/*
 * diffsync_parse_array_index
 *		Read an RFC 6901 array index: "0" or digits without a leading zero,
 *		small enough for an int.  Returns false for anything else ("-",
 *		"-1", "01", "1e0", "").
 */
bool
diffsync_parse_array_index(const char *s, int len, int *index)
{
	int64		v = 0;

	if (len == 0 || len > 10)
		return false;
	if (len > 1 && s[0] == '0')
		return false;
	for (int i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > PG_INT32_MAX)
		return false;
	*index = (int) v;
	return true;
}
