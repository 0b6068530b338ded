/*-------------------------------------------------------------------------
 *
 * diffsync.c
 *	  Module entry point of the diffsync extension: module magic, _PG_init
 *	  and the GUCs.  Everything else lives in one file per concern:
 *
 *	  json_pointer.c  RFC 6901 pointers
 *	  jsonb_util.c    jsonb helpers: equality, hashing, option parsing
 *	  array_align.c   LCS alignment of arrays (linear-space Myers)
 *	  jsonb_diff.c    RFC 6902 diff: jsonb_diff, jsonb_changes
 *	  jsonb_patch.c   RFC 6902 apply: jsonb_patch
 *	  jsonb_merge.c   RFC 7396 merge patch and the three-way merge
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "diffsync.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Reserve the "diffsync." GUC prefix so that a typo in a diffsync
 *		setting is reported instead of silently creating a placeholder.
 */
void
_PG_init(void)
{
	MarkGUCPrefixReserved("diffsync");
}
