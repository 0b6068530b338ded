/*-------------------------------------------------------------------------
 *
 * diffsync.h
 *	  Shared types and declarations of the diffsync extension.
 *
 * The jsonb core works on JsonbValue: a scalar, or jbvBinary pointing at a
 * JsonbContainer that lives inside a detoasted argument.  Such values are
 * only valid while the argument is, i.e. for the duration of one call; all
 * allocations happen in CurrentMemoryContext unless a comment says
 * otherwise.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DIFFSYNC_H
#define DIFFSYNC_H

#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* diffsync's own SQLSTATE for a failed JSON Patch "test" operation */
#define DIFFSYNC_ERRCODE_TEST_FAILED	MAKE_SQLSTATE('D','S','0','0','1')

/* JSON value kinds as JSON sees them (containers and scalars alike) */
typedef enum DsKind
{
	DS_KIND_NULL,
	DS_KIND_BOOL,
	DS_KIND_NUMBER,
	DS_KIND_STRING,
	DS_KIND_ARRAY,
	DS_KIND_OBJECT
} DsKind;

/*
 * One segment of a JSON pointer, unescaped: an object member name (index is
 * -1) or, while diffing, an array index (name is NULL).  Parsed pointers only
 * hold names, since "1" may name a member or an element.
 */
typedef struct DsSegment
{
	const char *name;			/* member name, not NUL-terminated */
	int			len;			/* its length in bytes */
	int			index;			/* array index, or -1 */
} DsSegment;

/* A JSON pointer as a growable stack of segments */
typedef struct DsPath
{
	DsSegment  *segs;
	int			depth;
	int			cap;
} DsPath;

/* How arrays are compared */
typedef enum DsArrayMode
{
	DS_ARRAYS_LCS,
	DS_ARRAYS_INDEX,
	DS_ARRAYS_ATOMIC
} DsArrayMode;

/* Options shared by jsonb_diff, jsonb_changes and jsonb_merge3 */
typedef struct DsArrayOptions
{
	DsArrayMode mode;
	bool		mode_given;		/* "arrays" was set explicitly */
	int			nkeys;			/* array_key fields, 0 if none */
	JsonbValue *keys;			/* jbvString values */
} DsArrayOptions;

/* RFC 6902 operation kinds */
typedef enum DsOpKind
{
	DS_OP_ADD,
	DS_OP_REMOVE,
	DS_OP_REPLACE,
	DS_OP_MOVE,
	DS_OP_COPY,
	DS_OP_TEST
} DsOpKind;

/* in json_pointer.c */
extern void diffsync_path_init(DsPath *path);
extern void diffsync_path_push_key(DsPath *path, const char *name, int len);
extern void diffsync_path_push_index(DsPath *path, int index);
extern void diffsync_path_pop(DsPath *path);
extern char *diffsync_path_to_pointer(const DsPath *path);
extern Datum diffsync_path_to_text_array(const DsPath *path);
extern char *diffsync_segment_text(const DsSegment *seg, int *len);
extern void diffsync_pointer_escape(StringInfo buf, const char *name, int len);
extern int	diffsync_pointer_parse(const char *ptr, int len, DsSegment **segs);
extern bool diffsync_parse_array_index(const char *s, int len, int *index);

/* in jsonb_util.c */
extern void diffsync_jsonb_root(Jsonb *jb, JsonbValue *out);
extern DsKind diffsync_value_kind(const JsonbValue *v);
extern const char *diffsync_kind_name(DsKind kind);
extern bool diffsync_values_equal(const JsonbValue *a, const JsonbValue *b);
extern uint64 diffsync_value_hash(const JsonbValue *v, uint64 seed);
extern int	diffsync_container_items(JsonbContainer *c, JsonbValue **items);
extern int	diffsync_object_members(JsonbContainer *c, JsonbValue **keys,
									JsonbValue **values);
extern int	diffsync_key_compare(const JsonbValue *a, const JsonbValue *b);
extern bool diffsync_object_get(const JsonbValue *obj, const char *key, int len,
								JsonbValue *out);
extern bool diffsync_value_get_path(const JsonbValue *root, DsSegment *segs,
									int nsegs, JsonbValue *out);
extern Jsonb *diffsync_value_to_jsonb(const JsonbValue *v);
extern void diffsync_push_value(JsonbParseState **state, JsonbIteratorToken tok,
								const JsonbValue *v);
extern void diffsync_push_cstring(JsonbParseState **state, JsonbIteratorToken tok,
								  const char *s);
extern void diffsync_push_int(JsonbParseState **state, const char *name, int64 n);
extern char *diffsync_value_to_cstring(const JsonbValue *v);
extern char *diffsync_string_option(const JsonbValue *v, const char *fn,
									const char *option);
extern bool diffsync_bool_option(const JsonbValue *v, const char *fn,
								 const char *option);
extern void diffsync_parse_array_options(const JsonbValue *key, const JsonbValue *v,
										 DsArrayOptions *opts, const char *fn);
extern void diffsync_finish_array_options(DsArrayOptions *opts, const char *fn);
extern bool diffsync_pointer_valid(const char *ptr, int len);
extern void diffsync_unknown_option(const JsonbValue *key, const char *fn,
									const char *valid);

/* in array_align.c */
extern void diffsync_array_align(JsonbValue *a, int n, JsonbValue *b, int m,
								 const DsArrayOptions *opts, bool keyed,
								 int *amatch, int *bmatch);
extern uint64 diffsync_identity_hash(const JsonbValue *v,
									 const DsArrayOptions *opts, bool keyed);
extern bool diffsync_identity_equal(const JsonbValue *x, const JsonbValue *y,
									const DsArrayOptions *opts, bool keyed);
extern bool diffsync_array_is_keyed(JsonbValue *items, int n,
									const DsArrayOptions *opts);

/* Schema of the extension (fixed: the extension is not relocatable) */
#define DIFFSYNC_SCHEMA "diffsync"

/* One field of a model as an adapter maps it */
typedef struct DsField
{
	char	   *name;			/* model field name */
	char	   *column;			/* column written, or NULL if read-only */
	char	   *read_sql;		/* SQL expression over the relation (alias r) */
	char	   *write_sql;		/* SQL expression over model fields, or NULL */
	Oid			type;			/* type of read_sql */
	int32		typmod;
	bool		is_identifier;
} DsField;

/* A row adapter, validated, as cached per backend */
typedef struct DsAdapter
{
	char	   *name;
	Oid			relid;
	char		relkind;
	char	   *relname;		/* schema-qualified, quoted */
	char	   *model;
	int			nfields;		/* identifiers first, then attributes */
	int			nids;
	DsField    *fields;
	char	   *filter;			/* user filter text, or NULL */
	char	   *ts_sql;			/* what the last-update time comes from (over r), or NULL */
	bool		ts_is_commit;	/* ts_sql is the commit timestamp of xmin */
	char	   *parent;			/* parent adapter name, or NULL */
	int			nparent_keys;
	char	  **parent_key_fields;	/* this adapter's fields ... */
	char	  **parent_key_parent;	/* ... and the parent's identifiers */
	bool		ids_unique;		/* a unique index covers the identifiers */
} DsAdapter;

/* in adapter.c */
extern DsAdapter *diffsync_adapter_get(const char *name);
extern DsAdapter *diffsync_adapter_copy(DsAdapter *src);
extern List *diffsync_adapter_children(const char *name);
extern DsField *diffsync_adapter_field(DsAdapter *a, const char *name);
extern char *diffsync_adapter_select_sql(DsAdapter *a, const char *extra_where);
extern char *diffsync_adapter_ts_expr(DsAdapter *a, const char *col);
extern char *diffsync_adapter_select_from(DsAdapter *a, const char *relation,
										  const char *extra_where, bool with_ts);
extern void diffsync_check_unique(DsAdapter *a, DsField **ids, int nids,
								  const char *where, bool read_only);
extern char *diffsync_jsonb_object_sql(DsField **fields, int nfields,
									   const char *alias);
extern void diffsync_validate_expression(const char *expr, const char *what);

/* Sync directions */
typedef enum DsDirection
{
	DS_SOURCE_TO_TARGET,
	DS_TARGET_TO_SOURCE,
	DS_BIDIRECTIONAL
} DsDirection;

/* Conflict strategies */
typedef enum DsStrategy
{
	DS_SOURCE_WINS,
	DS_TARGET_WINS,
	DS_LAST_UPDATE_WINS,
	DS_MERGE,
	DS_MANUAL
} DsStrategy;

/* Options of diff, diff_summary, diff_text, sync and sync_engine */
typedef struct DsRunOptions
{
	bool		skip_unmatched_src;
	bool		skip_unmatched_dst;
	bool		log_unchanged;
	List	   *attributes;		/* subset of attributes to compare, or NIL */
	char	   *where;			/* row subset, an expression over model fields */
	int			buckets;		/* checksum-bucket diff: number of buckets, 0 off */
	char	   *path;			/* JSON pointer of the section to sync */
	int			path_len;
	DsSegment  *path_segs;
	/* sync only */
	bool		dry_run;
	bool		continue_on_failure;
	char	   *resolver;
	int			max_conflicts;	/* conflicts listed in the result */
	int			batch_size;
	bool		history;		/* record versions (default true) */
	bool		notify;			/* send change events (default true) */
	char	   *channel;		/* NOTIFY channel, NULL: diffsync.channel */
	bool		notify_per_statement;	/* live triggers: one event per statement */
	/* set by live triggers, not by users */
	char	   *src_where;		/* extra condition on source rows (alias r) */
	char	   *dst_where;		/* extra condition on target rows (alias r) */
	char	   *base_sql;		/* expression of the base state, over s, t, o */
	char	   *base_join;		/* join clause bringing in alias o, or NULL */
} DsRunOptions;

/* One model level of a diff: a source adapter paired with a target adapter */
typedef struct DsPair
{
	DsAdapter  *src;
	DsAdapter  *dst;
	char	   *model;
	int			depth;			/* 0 for the top level */
	int			parent;			/* index of the parent pair, or -1 */
	int			nids;
	int			nattrs;			/* attributes compared and synced */
	DsField   **sids;			/* identifier fields, source side */
	DsField   **dids;			/* ... and target side, same order */
	DsField   **sattrs;
	DsField   **dattrs;
	int			path_attr;		/* with a path option: index in attrs, else -1 */
} DsPair;

/* A differing key, as the diff query returns it */
typedef struct DsDiffRow
{
	Jsonb	   *key;
	Jsonb	   *src;			/* source model row, NULL if absent */
	Jsonb	   *dst;			/* target model row, NULL if absent */
	bool		src_ts_null;
	bool		dst_ts_null;
	TimestampTz src_ts;
	TimestampTz dst_ts;
	Jsonb	   *base;			/* engine base state, NULL if none */
} DsDiffRow;

/* in table_diff.c */
extern void diffsync_parse_run_options(Jsonb *options, DsRunOptions *opts,
									   const char *fn, bool sync);
extern List *diffsync_build_pairs(const char *source, const char *target,
								  DsRunOptions *opts);
extern char *diffsync_diff_sql(DsPair *pair, DsRunOptions *opts, bool all_rows,
							   const char *base_engine);
extern void diffsync_check_pair(DsPair *pair, DsRunOptions *opts);
extern char *diffsync_equal_rows_sql(DsPair *pair, DsRunOptions *opts, bool untimed_only);
extern char *diffsync_bucket_compare_sql(DsPair *pair, DsRunOptions *opts);
extern const char *diffsync_compare_cast(Oid type);
extern void diffsync_check_key(DsPair *pair, DsDiffRow *row);
extern void diffsync_read_diff_row(HeapTuple tup, TupleDesc desc, DsDiffRow *row);
extern char *diffsync_model_where(DsPair *pair, DsRunOptions *opts, bool source);
extern Jsonb *diffsync_row_changes(DsPair *pair, DsRunOptions *opts,
								   Jsonb *src, Jsonb *dst);
extern Jsonb *diffsync_fetch_row(DsPair *pair, bool source, Jsonb *key);
extern Jsonb *diffsync_fetch_row_locked(DsPair *pair, bool source, Jsonb *key);
extern DsPair *diffsync_pair_for_adapter(DsAdapter *a);
extern Jsonb *diffsync_row_from_state(DsPair *pair, Jsonb *key, Jsonb *state);

/* Operations of a writer */
typedef enum DsWriteOp
{
	DS_WRITE_INSERT,
	DS_WRITE_UPDATE,
	DS_WRITE_DELETE
} DsWriteOp;

/* Called for each row a batch could not write (continue_on_failure) */
typedef void (*DsWriteFailureFn) (void *arg, DsWriteOp op, Jsonb *row,
								  ErrorData *edata);

/* Where a writer records versions (history) and what it tags them with */
typedef struct DsHistory
{
	bool		enabled;
	int64		sync_id;		/* 0: not written by a sync */
	const char *engine;			/* NULL: no engine */
	const char *message;
} DsHistory;

/* A queued write: the new model row, and the row it replaces */
typedef struct DsPendingRow
{
	Jsonb	   *row;			/* written row (for deletes: the deleted row) */
	Jsonb	   *old;			/* previous row, NULL for inserts */
} DsPendingRow;

/* Batched, prepared writes of model rows into one adapter's relation */
typedef struct DsWriter
{
	DsPair	   *pair;
	DsAdapter  *a;				/* the adapter written */
	DsField   **ids;			/* its identifier fields, in pair order */
	DsField   **attrs;			/* its attribute fields written */
	int			nattrs;
	SPIPlanPtr	plan[3];
	List	   *pending[3];		/* DsPendingRow waiting for a flush */
	int64		written[3];		/* rows written so far */
	DsHistory  *history;		/* NULL: record no versions */
	const char *engine;			/* engine on whose behalf it writes, or NULL */
	SPIPlanPtr	history_plan;
	int64		first_change_id;	/* versions recorded: change id range */
	int64		last_change_id;
	int64		versions;
	int			batch_size;
	bool		continue_on_failure;
	bool		dry_run;
	DsWriteFailureFn on_failure;
	void	   *failure_arg;
	MemoryContext cxt[3];		/* hold pending rows, per operation */
	MemoryContext flushcxt;		/* what one flush builds */
} DsWriter;

/* in apply.c */
extern DsWriter *diffsync_writer_create(DsPair *pair, bool to_source,
										DsRunOptions *opts,
										DsWriteFailureFn on_failure, void *arg);
extern void diffsync_writer_add(DsWriter *w, DsWriteOp op, Jsonb *row,
								Jsonb *old, bool defer);
extern void diffsync_history_insert(DsAdapter *a, DsField **ids, int nids,
									List *entries, DsHistory *h,
									SPIPlanPtr *plan, int64 *first,
									int64 *last, int64 *count);
extern int64 diffsync_history_materialize(const char *adapter);
extern bool diffsync_history_batched(void);
extern const char *diffsync_history_table(void);
extern Jsonb *diffsync_row_key(Jsonb *row, DsField **ids, int nids);
typedef void (*DsHistoryNotify) (void *arg, int64 change_id, Jsonb *key, const char *action);
typedef struct DsRowBuilder DsRowBuilder;
extern DsRowBuilder *diffsync_row_builder(DsField **fields, int nfields, int nids);
extern char *diffsync_row_builder_columns(DsRowBuilder *rb, const char *rel);
extern void diffsync_history_record_sql(const char *adapter, const char *other,
										bool other_derived, const char *engine,
										const char *changes_sql, DsRowBuilder *rb,
										int nargs,
										Oid *argtypes, Datum *args,
										bool want_rows, DsHistoryNotify notify,
										void *notify_arg, int64 *first,
										int64 *last, int64 *count);
extern void diffsync_applying_push(const char *engine);
extern void diffsync_applying_pop(void);
extern bool diffsync_is_applying(const char *engine);
extern void diffsync_writer_flush(DsWriter *w, DsWriteOp op);
extern void diffsync_writer_check(DsWriter *w, DsWriteOp op);
extern void diffsync_check_write_privilege(DsAdapter *a);
extern char *diffsync_writer_value_sql(DsField *f);
extern char *diffsync_writer_match_sql(DsWriter *w, const char *alias);
extern char *diffsync_writer_key_filter(DsWriter *w, const char *keys_prefix,
										const char *keys_suffix);

/* Identity saved while diffsync acts as the extension owner */
typedef struct DsUserSave
{
	Oid			userid;
	int			sec_context;
	int			guc_level;		/* search_path pinned at this GUC nest level */
} DsUserSave;

/* in owner.c */
extern void diffsync_become_owner(DsUserSave *save);
extern void diffsync_restore_user(DsUserSave *save);
extern int	diffsync_pin_search_path(void);
extern void diffsync_unpin_search_path(int level);
extern void diffsync_check_owner(Oid owner, const char *what);
extern SPIPlanPtr diffsync_owner_prepare(const char *sql, int nargs, Oid *argtypes);
extern int	diffsync_owner_execute_plan(SPIPlanPtr plan, Datum *args,
										const char *nulls, bool read_only,
										long count);
extern int	diffsync_owner_execute(const char *sql, int nargs, Oid *argtypes,
								   Datum *args, const char *nulls,
								   bool read_only, long count);

/* in trigger.c */
extern int	diffsync_drop_engine_triggers(const char *engine);

/* in diffsync.c */
extern int	diffsync_progress_rows;

/* in notify.c */
extern char *diffsync_channel;
extern void diffsync_check_channel(const char *channel, const char *fn);
extern void diffsync_notify(const char *channel, Jsonb *payload, Jsonb *fallback);
extern void diffsync_conflict_notify(DsRunOptions *opts, const char *event,
									 int64 conflict_id, const char *engine,
									 const char *model, Jsonb *key,
									 const char *resolution);
extern void diffsync_change_notify(DsRunOptions *opts, const char *engine,
								   const char *adapter, const char *model,
								   Jsonb *key, const char *action,
								   int64 change_id, int64 rows);

/* in sync.c */
extern Oid	diffsync_lookup_function(const char *name);
extern void diffsync_lookup_resolver(const char *name, FmgrInfo *finfo);

/* in jsonb_diff.c */
extern Jsonb *diffsync_diff_values(const JsonbValue *a, const JsonbValue *b);

#endif							/* DIFFSYNC_H */
