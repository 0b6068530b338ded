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
 *	  adapter.c       row adapters: catalog, validation, cache, load
 *	  table_diff.c    diff of two adapters
 *	  sync.c          sync decisions and results
 *	  apply.c         batched writes and the versions they record
 *	  engine.c        engines, base state, conflict queue
 *	  notify.c        change events over NOTIFY
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "diffsync.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* diffsync.progress_rows */
int			diffsync_progress_rows = 0;

/* diffsync.channel must be a valid channel name */
static bool
check_channel(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A channel is a non-empty name shorter than %d bytes.", NAMEDATALEN);
		return false;
	}
	return true;
}

/*
 * _PG_init
 *		Define the GUCs, then reserve the "diffsync." prefix so that a typo in
 *		a diffsync setting is reported instead of silently creating a
 *		placeholder.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("diffsync.channel",
							   "Sets the NOTIFY channel of diffsync's change events.",
							   "Engines and syncs can override it with the option \"channel\".",
							   &diffsync_channel,
							   "diffsync",
							   PGC_USERSET,
							   0,
							   check_channel, NULL, NULL);
	DefineCustomIntVariable("diffsync.progress_rows",
							"Reports the progress of long diffs and syncs every this many rows (0: never).",
							"Each report is a NOTICE naming the adapters, the rows examined and the rows written so far.",
							&diffsync_progress_rows,
							0, 0, INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("diffsync");
}
