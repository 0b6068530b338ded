/*-------------------------------------------------------------------------
 *
 * array_align.c
 *	  Align the elements of two JSON arrays: which element of the first
 *	  array corresponds to which element of the second.
 *
 * Elements are first mapped to equivalence classes (small integers): by
 * whole value (hash, then deep equality on hash collisions), or, for keyed
 * arrays, by the values of the array_key fields.  A longest common
 * subsequence of the two class sequences is then found with Myers' O(ND)
 * algorithm in its linear-space form (divide and conquer on the "middle
 * snake"), after trimming the common prefix and suffix.  Memory is O(N+M)
 * whatever the edit distance; time is O((N+M)D).  A work budget bounds the
 * search: past it the remaining middle parts are left unaligned, which still
 * yields a correct (if longer) patch.  Query cancel is honoured.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "diffsync.h"

/* Give up on a minimal alignment after this many diagonal steps. */
#define DIFFSYNC_ALIGN_BUDGET	INT64CONST(50000000)

typedef struct AlignEntry
{
	uint64		hash;
	int			pos;			/* index into the combined element list */
} AlignEntry;

typedef struct AlignState
{
	const int  *a;				/* class of each element of a */
	const int  *b;				/* class of each element of b */
	int		   *amatch;
	int		   *bmatch;
	int		   *vf;				/* forward furthest-reaching x per diagonal */
	int		   *vb;				/* backward, in reversed coordinates */
	int			voff;			/* offset of diagonal 0 in vf/vb */
	int64		budget;
} AlignState;

/*
 * diffsync_array_is_keyed
 *		True when every element is an object carrying every array_key field,
 *		so the array can be matched by key.
 */
bool
diffsync_array_is_keyed(JsonbValue *items, int n, const DsArrayOptions *opts)
{
	if (opts->nkeys == 0)
		return false;
	for (int i = 0; i < n; i++)
	{
		JsonbValue	v;

		if (items[i].type != jbvBinary ||
			!JsonContainerIsObject(items[i].val.binary.data))
			return false;
		for (int k = 0; k < opts->nkeys; k++)
			if (!diffsync_object_get(&items[i], opts->keys[k].val.string.val,
									 opts->keys[k].val.string.len, &v))
				return false;
	}
	return true;
}

/*
 * diffsync_identity_hash
 *		Hash of an array element's identity: its array_key fields when keyed,
 *		else its whole value.
 */
uint64
diffsync_identity_hash(const JsonbValue *v, const DsArrayOptions *opts, bool keyed)
{
	uint64		h = 0;

	if (!keyed)
		return diffsync_value_hash(v, 0);
	for (int k = 0; k < opts->nkeys; k++)
	{
		JsonbValue	field;

		diffsync_object_get(v, opts->keys[k].val.string.val,
							opts->keys[k].val.string.len, &field);
		h = h * UINT64CONST(31) + diffsync_value_hash(&field, k);
	}
	return h;
}

/*
 * diffsync_identity_equal
 *		Do two array elements have the same identity?
 */
bool
diffsync_identity_equal(const JsonbValue *x, const JsonbValue *y,
					 const DsArrayOptions *opts, bool keyed)
{
	if (!keyed)
		return diffsync_values_equal(x, y);
	for (int k = 0; k < opts->nkeys; k++)
	{
		JsonbValue	fx,
					fy;

		diffsync_object_get(x, opts->keys[k].val.string.val,
							opts->keys[k].val.string.len, &fx);
		diffsync_object_get(y, opts->keys[k].val.string.val,
							opts->keys[k].val.string.len, &fy);
		if (!diffsync_values_equal(&fx, &fy))
			return false;
	}
	return true;
}

static int
align_entry_cmp(const void *x, const void *y)
{
	const AlignEntry *ex = x;
	const AlignEntry *ey = y;

	if (ex->hash != ey->hash)
		return ex->hash < ey->hash ? -1 : 1;
	return ex->pos - ey->pos;
}

/*
 * Map every element of a (positions 0..n-1) and b (n..n+m-1) to a class
 * number; elements of equal identity get the same class.
 */
static void
align_classes(JsonbValue *a, int n, JsonbValue *b, int m,
			  const DsArrayOptions *opts, bool keyed, int *classes)
{
	int			total = n + m;
	AlignEntry *entries = palloc(sizeof(AlignEntry) * Max(total, 1));
	int			next_class = 0;
	int			run_start = 0;

	for (int i = 0; i < total; i++)
	{
		JsonbValue *v = i < n ? &a[i] : &b[i - n];

		entries[i].hash = diffsync_identity_hash(v, opts, keyed);
		entries[i].pos = i;
	}
	qsort(entries, total, sizeof(AlignEntry), align_entry_cmp);

	while (run_start < total)
	{
		int			run_end = run_start + 1;

		while (run_end < total && entries[run_end].hash == entries[run_start].hash)
			run_end++;

		/*
		 * Within a run of equal hashes, compare against each class
		 * representative seen so far in the run (almost always one).
		 */
		for (int i = run_start; i < run_end; i++)
		{
			int			pos = entries[i].pos;
			JsonbValue *v = pos < n ? &a[pos] : &b[pos - n];
			int			cls = -1;

			for (int j = run_start; j < i && cls < 0; j++)
			{
				int			rpos = entries[j].pos;
				JsonbValue *r = rpos < n ? &a[rpos] : &b[rpos - n];

				if (diffsync_identity_equal(v, r, opts, keyed))
					cls = classes[rpos];
			}
			classes[pos] = cls >= 0 ? cls : next_class++;
		}
		run_start = run_end;
	}
	pfree(entries);
}

/*
 * Find the middle snake of a[a0..a1) and b[b0..b1) (both non-empty, with
 * differing first and last elements).  Sets the snake's start (x, y) and end
 * (u, v) in absolute coordinates.  Returns false when the work budget ran
 * out.
 */
static bool
align_middle_snake(AlignState *st, int a0, int a1, int b0, int b1,
				   int *x_out, int *y_out, int *u_out, int *v_out)
{
	const int  *A = st->a;
	const int  *B = st->b;
	int			N = a1 - a0;
	int			M = b1 - b0;
	int			delta = N - M;
	bool		odd = (delta & 1) != 0;
	int			maxd = (N + M + 1) / 2;
	int		   *vf = st->vf + st->voff;
	int		   *vb = st->vb + st->voff;

	vf[1] = 0;
	vb[1] = 0;
	for (int d = 0; d <= maxd; d++)
	{
		CHECK_FOR_INTERRUPTS();
		st->budget -= 2 * d + 1;
		if (st->budget < 0)
			return false;

		/* forward search along diagonals k = x - y */
		for (int k = -d; k <= d; k += 2)
		{
			int			x,
						y,
						sx,
						sy;

			if (k == -d || (k != d && vf[k - 1] < vf[k + 1]))
				x = vf[k + 1];
			else
				x = vf[k - 1] + 1;
			y = x - k;
			sx = x;
			sy = y;
			while (x < N && y < M && A[a0 + x] == B[b0 + y])
				x++, y++;
			vf[k] = x;
			if (odd && delta - k >= -(d - 1) && delta - k <= d - 1 &&
				vf[k] + vb[delta - k] >= N)
			{
				*x_out = a0 + sx;
				*y_out = b0 + sy;
				*u_out = a0 + x;
				*v_out = b0 + y;
				return true;
			}
		}

		/* backward search, in coordinates of the reversed sequences */
		for (int k = -d; k <= d; k += 2)
		{
			int			x,
						y,
						sx,
						sy;

			if (k == -d || (k != d && vb[k - 1] < vb[k + 1]))
				x = vb[k + 1];
			else
				x = vb[k - 1] + 1;
			y = x - k;
			sx = x;
			sy = y;
			while (x < N && y < M && A[a1 - 1 - x] == B[b1 - 1 - y])
				x++, y++;
			vb[k] = x;
			if (!odd && delta - k >= -d && delta - k <= d &&
				vb[k] + vf[delta - k] >= N)
			{
				*x_out = a1 - x;
				*y_out = b1 - y;
				*u_out = a1 - sx;
				*v_out = b1 - sy;
				return true;
			}
		}
	}
	elog(ERROR, "middle snake not found");
	return false;				/* keep compiler quiet */
}

/* Record a matched pair. */
static inline void
align_match(AlignState *st, int i, int j)
{
	st->amatch[i] = j;
	st->bmatch[j] = i;
}

/*
 * Align a[a0..a1) with b[b0..b1): trim the common ends, split at the middle
 * snake and recurse.  The recursion depth is O(log D).
 */
static void
align_range(AlignState *st, int a0, int a1, int b0, int b1)
{
	int			x,
				y,
				u,
				v;

	check_stack_depth();
	while (a0 < a1 && b0 < b1 && st->a[a0] == st->b[b0])
	{
		align_match(st, a0, b0);
		a0++, b0++;
	}
	while (a0 < a1 && b0 < b1 && st->a[a1 - 1] == st->b[b1 - 1])
	{
		align_match(st, a1 - 1, b1 - 1);
		a1--, b1--;
	}
	if (a0 == a1 || b0 == b1 || st->budget < 0)
		return;

	if (!align_middle_snake(st, a0, a1, b0, b1, &x, &y, &u, &v))
		return;
	for (int i = x; i < u; i++)
		align_match(st, i, y + (i - x));
	/* both halves are strictly smaller: the snake lies d >= 1 steps inside */
	align_range(st, a0, x, b0, y);
	align_range(st, u, a1, v, b1);
}

/*
 * diffsync_array_align
 *		Align elements of arrays a (n elements) and b (m elements) by
 *		identity (whole value, or array_key fields when keyed).  On return
 *		amatch[i] is the index in b matched with a[i] or -1, and bmatch[j]
 *		likewise; matched pairs appear in the same order in both arrays.
 */
void
diffsync_array_align(JsonbValue *a, int n, JsonbValue *b, int m,
					 const DsArrayOptions *opts, bool keyed,
					 int *amatch, int *bmatch)
{
	int		   *classes;
	AlignState	st;
	int			vsize;
	int			pre = 0,
				suf = 0,
				mn,
				mm;

	for (int i = 0; i < n; i++)
		amatch[i] = -1;
	for (int j = 0; j < m; j++)
		bmatch[j] = -1;

	/*
	 * Common prefix and suffix first, compared directly: most edits touch a
	 * few elements, and hashing and sorting the whole arrays would cost more
	 * than the diff itself.
	 */
	while (pre < n && pre < m && diffsync_identity_equal(&a[pre], &b[pre], opts, keyed))
	{
		amatch[pre] = bmatch[pre] = pre;
		pre++;
	}
	while (suf < n - pre && suf < m - pre &&
		   diffsync_identity_equal(&a[n - 1 - suf], &b[m - 1 - suf], opts, keyed))
	{
		amatch[n - 1 - suf] = m - 1 - suf;
		bmatch[m - 1 - suf] = n - 1 - suf;
		suf++;
	}
	mn = n - pre - suf;
	mm = m - pre - suf;
	if (mn == 0 || mm == 0 || (mn == 1 && mm == 1))
		return;					/* nothing left that could align */

	classes = palloc(sizeof(int) * (mn + mm));
	align_classes(a + pre, mn, b + pre, mm, opts, keyed, classes);

	st.a = classes;
	st.b = classes + mn;
	st.amatch = amatch + pre;
	st.bmatch = bmatch + pre;
	st.voff = (mn + mm + 1) / 2 + 2;
	vsize = 2 * st.voff + 1;
	st.vf = palloc(sizeof(int) * vsize);
	st.vb = palloc(sizeof(int) * vsize);
	st.budget = DIFFSYNC_ALIGN_BUDGET;

	align_range(&st, 0, mn, 0, mm);

	/* matches found in the middle are relative to it */
	for (int i = 0; i < mn; i++)
		if (amatch[pre + i] >= 0)
			amatch[pre + i] += pre;
	for (int j = 0; j < mm; j++)
		if (bmatch[pre + j] >= 0)
			bmatch[pre + j] += pre;

	pfree(st.vf);
	pfree(st.vb);
	pfree(classes);
}
