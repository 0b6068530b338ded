/*-------------------------------------------------------------------------
 *
 * sync.h
 *	  The state of one sync run, shared by sync.c (decisions, result) and
 *	  engine.c (engines, base state, conflict queue).
 *
 *-------------------------------------------------------------------------
 */
#ifndef DIFFSYNC_SYNC_H
#define DIFFSYNC_SYNC_H

#include "fmgr.h"
#include "utils/jsonb.h"

#include "diffsync.h"

typedef struct SyncRun
{
	/* what to do */
	char	   *source;
	char	   *target;
	char	   *engine;			/* NULL for a plain diffsync.sync() */
	DsDirection dir;
	DsStrategy	strategy;
	DsRunOptions opts;
	bool		use_base;		/* bidirectional engine: three-way decisions */
	int			live_side;		/* live trigger: 1 source, 2 target changed now */
	bool		skip_counts;	/* do not count unchanged rows (live triggers) */
	bool		has_resolver;
	FmgrInfo	resolver;
	int64		sync_id;
	List	   *pairs;
	DsHistory	history;		/* how writers record versions */

	/* while running */
	int			cur;			/* index of the level being synced */
	bool		defer_deletes;	/* the level has children */
	DsWriter  **wsrc;			/* writers per level */
	DsWriter  **wdst;
	SPIPlanPtr	queue_plan;
	SPIPlanPtr	base_upsert_plan;
	SPIPlanPtr	base_insert_plan;
	bool		base_empty;		/* first sync of an engine: base written at the end */
	bool		has_watermark;	/* keys without a base: decide by last-update times */
	TimestampTz watermark;		/* ... against the start of the engine's last sync */
	bool		base_plain_insert;	/* writing that first base */
	SPIPlanPtr	base_delete_plan;
	List	   *base_upserts;	/* keys whose base state waits to be written */
	List	   *base_states;	/* ... and those states */
	List	   *base_deletes;	/* keys waiting */
	MemoryContext basecxt;
	List	   *pending_queue;	/* conflicts of the current key to queue */

	/* what happened */
	MemoryContext resultcxt;
	JsonbParseState *conflicts_js;
	JsonbParseState *failures_js;
	int64		nconflicts;
	int64		nlisted;
	int64		nqueued;
	int64		nfailed;
	int64		nskip;
	int64		nochange;
	int64		nunchanged_conflicts;
	int64		changed_keys;
	int64		examined;		/* differing keys seen, for progress reports */
	int64		ndeleted[2];
	int64		totals[3];
	int64		first_change_id[2];	/* versions recorded, per side */
	int64		last_change_id[2];
	char	   *first_error;
	TimestampTz started_at;
	TimestampTz finished_at;
} SyncRun;

/* in sync.c */
extern DsDirection diffsync_parse_direction(const char *s);
extern DsStrategy diffsync_parse_strategy(const char *s);
extern const char *diffsync_direction_name(DsDirection d);
extern const char *diffsync_strategy_name(DsStrategy s);
extern void diffsync_sync_prepare(SyncRun *run);
extern void diffsync_sync_execute(SyncRun *run);
extern void diffsync_sync_row(SyncRun *run, DsPair *pair, DsDiffRow *row);
extern Jsonb *diffsync_sync_result(SyncRun *run);
extern void diffsync_sync_log(SyncRun *run, Jsonb *result);
extern int64 diffsync_next_sync_id(void);

/* in notify.c */
extern void diffsync_sync_notify(SyncRun *run);

/* in engine.c */
extern void diffsync_base_queue(SyncRun *run, DsPair *pair, Jsonb *key, Jsonb *state);
extern void diffsync_base_forget(SyncRun *run, DsPair *pair, Jsonb *key);
extern void diffsync_base_flush(SyncRun *run, DsPair *pair);
extern Jsonb *diffsync_row_from_object(SyncRun *run, DsPair *pair, Jsonb *key,
									   Jsonb *obj);

/* in jsonb_patch.c */
extern Jsonb *diffsync_set_section(const JsonbValue *doc, DsSegment *segs,
								   int nsegs, const JsonbValue *value);

/* in jsonb_merge.c */
extern Jsonb *diffsync_merge3_values(const JsonbValue *base, const JsonbValue *source,
									 const JsonbValue *target, bool source_wins);

#endif							/* DIFFSYNC_SYNC_H */
