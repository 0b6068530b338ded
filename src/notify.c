/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  Change events over NOTIFY: compact JSON payloads, always under
 *	  PostgreSQL's payload limit.
 *
 * Events: "synchronized" (one per sync, with its summary), "conflict" (a
 * conflict queued for a person), "conflict_resolved", and "changed" (one per
 * row a live trigger reconciled, or one per statement).  NOTIFY is
 * transactional: nothing is delivered for a transaction that rolls back, and
 * events arrive in commit order.  A payload that would not fit drops its
 * bulky parts (the key) and says so with "truncated": true; the full data is
 * in diffsync.syncs, diffsync.conflicts and diffsync.history, fetched by the
 * ids the payload carries.  A payload is never cut into invalid JSON.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/async.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "diffsync.h"
#include "sync.h"

/* PostgreSQL's limit on a NOTIFY payload (async.c keeps it private) */
#define DIFFSYNC_NOTIFY_MAX		(BLCKSZ - NAMEDATALEN - 128)

/* diffsync.channel */
char	   *diffsync_channel = NULL;

/*
 * diffsync_check_channel
 *		Error unless channel is usable as a NOTIFY channel name.
 */
void
diffsync_check_channel(const char *channel, const char *fn)
{
	if (channel == NULL || channel[0] == '\0' || strlen(channel) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s option \"channel\" must be a non-empty name shorter than %d bytes",
						fn, NAMEDATALEN)));
}

/* The channel of a run: its option, else the GUC. */
static const char *
run_channel(DsRunOptions *opts)
{
	if (opts->channel)
		return opts->channel;
	return (diffsync_channel && diffsync_channel[0]) ? diffsync_channel : "diffsync";
}

/*
 * diffsync_notify
 *		Send payload (a jsonb object) on channel, or the fallback object when
 *		the payload's text would exceed the NOTIFY limit.
 */
void
diffsync_notify(const char *channel, Jsonb *payload, Jsonb *fallback)
{
	char	   *text = JsonbToCString(NULL, &payload->root, VARSIZE(payload));

	if (strlen(text) >= DIFFSYNC_NOTIFY_MAX)
		text = JsonbToCString(NULL, &fallback->root, VARSIZE(fallback));
	Async_Notify(channel, text);
}

/* Helpers building payload objects */
static void
put_string(JsonbParseState **st, const char *name, const char *value)
{
	JsonbValue	v;

	diffsync_push_cstring(st, WJB_KEY, name);
	if (value)
		diffsync_push_cstring(st, WJB_VALUE, value);
	else
	{
		v.type = jbvNull;
		pushJsonbValue(st, WJB_VALUE, &v);
	}
}

static void
put_jsonb(JsonbParseState **st, const char *name, Jsonb *j)
{
	JsonbValue	v;

	diffsync_jsonb_root(j, &v);
	diffsync_push_cstring(st, WJB_KEY, name);
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void put_truncated(JsonbParseState **st);

static Jsonb *
finish(JsonbParseState **st)
{
	return JsonbValueToJsonb(pushJsonbValue(st, WJB_END_OBJECT, NULL));
}

/*
 * diffsync_sync_notify
 *		The "synchronized" event of a finished run (not for dry runs, nor
 *		with option notify false).
 */
void
diffsync_sync_notify(SyncRun *run)
{
	JsonbParseState *st = NULL;
	JsonbParseState *fb = NULL;
	Jsonb	   *payload;

	if (!run->opts.notify || run->opts.dry_run)
		return;
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	put_string(&st, "event", "synchronized");
	put_string(&st, "engine", run->engine);
	put_string(&st, "source", run->source);
	put_string(&st, "target", run->target);
	diffsync_push_int(&st, "sync_id", run->sync_id);
	diffsync_push_cstring(&st, WJB_KEY, "summary");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	diffsync_push_int(&st, "create", run->totals[0]);
	diffsync_push_int(&st, "update", run->totals[1]);
	diffsync_push_int(&st, "delete", run->totals[2]);
	diffsync_push_int(&st, "conflicts", run->nconflicts);
	diffsync_push_int(&st, "queued", run->nqueued);
	diffsync_push_int(&st, "failed", run->nfailed);
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	if (run->last_change_id[0] || run->last_change_id[1])
		diffsync_push_int(&st, "last_change_id", Max(run->last_change_id[0], run->last_change_id[1]));
	payload = finish(&st);

	pushJsonbValue(&fb, WJB_BEGIN_OBJECT, NULL);
	put_string(&fb, "event", "synchronized");
	diffsync_push_int(&fb, "sync_id", run->sync_id);
	put_truncated(&fb);
	diffsync_notify(run_channel(&run->opts), payload, finish(&fb));
}

/* Push "truncated": true. */
static void
put_truncated(JsonbParseState **st)
{
	JsonbValue	t;

	diffsync_push_cstring(st, WJB_KEY, "truncated");
	t.type = jbvBool;
	t.val.boolean = true;
	pushJsonbValue(st, WJB_VALUE, &t);
}

/* The payload of a conflict event; without the key and model unless full. */
static Jsonb *
conflict_payload(bool full, const char *event, int64 conflict_id,
				 const char *engine, const char *model, Jsonb *key,
				 const char *resolution)
{
	JsonbParseState *st = NULL;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	put_string(&st, "event", event);
	diffsync_push_int(&st, "conflict_id", conflict_id);
	put_string(&st, "engine", engine);
	if (resolution)
		put_string(&st, "resolution", resolution);
	if (full)
	{
		put_string(&st, "model", model);
		if (key)
			put_jsonb(&st, "key", key);
	}
	else
		put_truncated(&st);
	return finish(&st);
}

/*
 * diffsync_conflict_notify
 *		The "conflict" event of a queued conflict, or "conflict_resolved".
 */
void
diffsync_conflict_notify(DsRunOptions *opts, const char *event, int64 conflict_id,
						 const char *engine, const char *model, Jsonb *key,
						 const char *resolution)
{
	if (!opts->notify || opts->dry_run)
		return;
	diffsync_notify(run_channel(opts),
					conflict_payload(true, event, conflict_id, engine, model, key, resolution),
					conflict_payload(false, event, conflict_id, engine, model, key, resolution));
}

/* The payload of a changed event; without the key unless full. */
static Jsonb *
change_payload(bool full, const char *engine, const char *adapter,
			   const char *model, Jsonb *key, const char *action,
			   int64 change_id, int64 rows)
{
	JsonbParseState *st = NULL;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	put_string(&st, "event", "changed");
	put_string(&st, "engine", engine);
	put_string(&st, "adapter", adapter);
	put_string(&st, "model", model);
	if (action)
		put_string(&st, "action", action);
	if (change_id)
		diffsync_push_int(&st, "change_id", change_id);
	if (rows >= 0)
		diffsync_push_int(&st, "rows", rows);
	if (!full)
		put_truncated(&st);
	else if (key)
		put_jsonb(&st, "key", key);
	return finish(&st);
}

/*
 * diffsync_change_notify
 *		The "changed" event of a row a live trigger reconciled (engine,
 *		adapter, model, key, action, change id of its version), or of a
 *		whole statement (key NULL, rows set).
 */
void
diffsync_change_notify(DsRunOptions *opts, const char *engine, const char *adapter,
					   const char *model, Jsonb *key, const char *action,
					   int64 change_id, int64 rows)
{
	if (!opts->notify)
		return;
	diffsync_notify(run_channel(opts),
					change_payload(true, engine, adapter, model, key, action, change_id, rows),
					change_payload(false, engine, adapter, model, key, action, change_id, rows));
}
