/* sql/diffsync--0.1.sql */

\echo Use "CREATE EXTENSION diffsync" to load this file. \quit

/*
 * jsonb diff core: RFC 6902 diff / apply, RFC 7396 merge patch, three-way
 * merge.  All of these are pure functions of their arguments, implemented
 * in C.
 */

CREATE FUNCTION @extschema@.jsonb_diff(source pg_catalog.jsonb,
                                       target pg_catalog.jsonb,
                                       options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_diff'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_diff(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
'RFC 6902 JSON Patch (array of operations) that turns source into target; options: arrays, array_key, moves, test_ops, path';

CREATE FUNCTION @extschema@.jsonb_changes(source pg_catalog.jsonb,
                                          target pg_catalog.jsonb,
                                          options pg_catalog.jsonb DEFAULT '{}',
                                          OUT op pg_catalog.text,
                                          OUT path pg_catalog.text,
                                          OUT path_array pg_catalog.text[],
                                          OUT old_value pg_catalog.jsonb,
                                          OUT new_value pg_catalog.jsonb)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'diffsync_jsonb_changes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION @extschema@.jsonb_changes(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
'the changes of jsonb_diff as rows: op, JSON pointer, unescaped path segments, old and new value (SQL NULL = absent)';

CREATE FUNCTION @extschema@.jsonb_patch(doc pg_catalog.jsonb,
                                        patch pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_patch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_patch(pg_catalog.jsonb, pg_catalog.jsonb) IS
'apply an RFC 6902 JSON Patch, all or nothing; any failing operation raises an error naming its index and path';

CREATE FUNCTION @extschema@.jsonb_merge_patch(doc pg_catalog.jsonb,
                                              patch pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_merge_patch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_merge_patch(pg_catalog.jsonb, pg_catalog.jsonb) IS
'apply an RFC 7396 JSON Merge Patch';

CREATE FUNCTION @extschema@.jsonb_merge_diff(source pg_catalog.jsonb,
                                             target pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_merge_diff'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_merge_diff(pg_catalog.jsonb, pg_catalog.jsonb) IS
'an RFC 7396 JSON Merge Patch that turns source into target; error when target needs a JSON null inside an object';

CREATE FUNCTION @extschema@.jsonb_merge3(base pg_catalog.jsonb,
                                         source pg_catalog.jsonb,
                                         target pg_catalog.jsonb,
                                         options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_merge3'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_merge3(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
'three-way merge of source and target against base: {"merged": ..., "conflicts": [...]}; options: strategy, source_ts, target_ts, resolver, arrays, array_key';

/*
 * Row adapters, engines and conflicts: catalog tables.
 *
 * These are extension configuration tables: pg_dump dumps their rows.  They
 * are read by diffsync's C code under the caller's privileges; PUBLIC may
 * read them, and writing goes through the functions below, which need the
 * corresponding table privileges (the extension owner has them; grant them
 * to roles that should manage adapters).
 */

CREATE TABLE @extschema@.adapter (
    name        pg_catalog.text PRIMARY KEY CHECK (name OPERATOR(pg_catalog.<>) ''),
    relation    pg_catalog.regclass NOT NULL,
    model       pg_catalog.text NOT NULL,
    identifiers pg_catalog.text[] NOT NULL,
    attributes  pg_catalog.text[] NOT NULL,
    columns     pg_catalog.jsonb NOT NULL DEFAULT '{}',
    filter      pg_catalog.text,
    updated_at  pg_catalog.text,
    parent      pg_catalog.text REFERENCES @extschema@.adapter (name),
    parent_key  pg_catalog.jsonb,
    created_at  pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.adapter IS
'row adapters: how a relation''s rows map to a model (identifier and attribute fields, renames and transforms, filter, timestamp source, parent)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.adapter', '');

CREATE TABLE @extschema@.engine (
    name        pg_catalog.text PRIMARY KEY CHECK (name OPERATOR(pg_catalog.<>) ''),
    source      pg_catalog.text NOT NULL REFERENCES @extschema@.adapter (name),
    target      pg_catalog.text NOT NULL REFERENCES @extschema@.adapter (name),
    direction   pg_catalog.text NOT NULL,
    strategy    pg_catalog.text NOT NULL,
    options     pg_catalog.jsonb NOT NULL DEFAULT '{}',
    created_at  pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_sync_id pg_catalog.int8
);
COMMENT ON TABLE @extschema@.engine IS
'named, persisted sync configurations (source and target adapter, direction, strategy, options)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.engine', '');

CREATE TABLE @extschema@.engine_base (
    engine      pg_catalog.text NOT NULL REFERENCES @extschema@.engine (name) ON DELETE CASCADE,
    model       pg_catalog.text NOT NULL,
    key         pg_catalog.jsonb NOT NULL,
    state       pg_catalog.jsonb NOT NULL,
    synced_at   pg_catalog.timestamptz NOT NULL,
    PRIMARY KEY (engine, model, key)
);
COMMENT ON TABLE @extschema@.engine_base IS
'per engine and key, the attribute values both sides had after the last sync: the base of three-way decisions';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.engine_base', '');

CREATE SEQUENCE @extschema@.sync_id_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sync_id_seq', '');

CREATE TABLE @extschema@.conflicts (
    conflict_id bigserial PRIMARY KEY,
    sync_id     pg_catalog.int8 NOT NULL,
    engine      pg_catalog.text REFERENCES @extschema@.engine (name) ON DELETE CASCADE,
    source      pg_catalog.text NOT NULL,
    target      pg_catalog.text NOT NULL,
    direction   pg_catalog.text NOT NULL,
    model       pg_catalog.text NOT NULL,
    key         pg_catalog.jsonb NOT NULL,
    conflict    pg_catalog.jsonb NOT NULL,
    status      pg_catalog.text NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'resolved')),
    resolution  pg_catalog.text,
    resolved_value pg_catalog.jsonb,
    created_at  pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    resolved_at pg_catalog.timestamptz
);
CREATE INDEX ON @extschema@.conflicts (status, source, target, model);
COMMENT ON TABLE @extschema@.conflicts IS
'conflicts queued by the manual strategy (status open) and how they were settled (status resolved)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.conflicts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.conflicts_conflict_id_seq', '');

GRANT SELECT ON @extschema@.adapter, @extschema@.engine, @extschema@.conflicts TO PUBLIC;

CREATE FUNCTION @extschema@.adapter_catalog_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'diffsync_adapter_catalog_trigger'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.adapter_catalog_trigger() IS
'invalidates every backend''s adapter cache when diffsync.adapter changes';

CREATE TRIGGER adapter_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.adapter
FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.adapter_catalog_trigger();

CREATE FUNCTION @extschema@.create_adapter(name pg_catalog.text,
                                           relation pg_catalog.regclass,
                                           identifiers pg_catalog.text[],
                                           attributes pg_catalog.text[] DEFAULT NULL,
                                           columns pg_catalog.jsonb DEFAULT '{}',
                                           filter pg_catalog.text DEFAULT NULL,
                                           updated_at pg_catalog.text DEFAULT NULL,
                                           parent pg_catalog.text DEFAULT NULL,
                                           parent_key pg_catalog.jsonb DEFAULT NULL,
                                           model pg_catalog.text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'diffsync_create_adapter'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.create_adapter(pg_catalog.text, pg_catalog.regclass, pg_catalog.text[], pg_catalog.text[], pg_catalog.jsonb, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
'register a row adapter mapping a relation to a model (identifiers, attributes, column renames and transforms, filter, timestamp column, parent)';

CREATE FUNCTION @extschema@.drop_adapter(name pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'diffsync_drop_adapter'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.drop_adapter(pg_catalog.text) IS
'remove a row adapter (not while child adapters or engines use it)';

CREATE FUNCTION @extschema@.load(adapter pg_catalog.text,
                                 OUT key pg_catalog.jsonb,
                                 OUT attrs pg_catalog.jsonb,
                                 OUT updated_at pg_catalog.timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'diffsync_load'
LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.load(pg_catalog.text) IS
'the model view of an adapter''s rows: identifier fields, attribute fields, last-update time';

CREATE VIEW @extschema@.adapters AS
SELECT a.name,
       a.model,
       a.relation,
       a.identifiers,
       a.attributes,
       a.columns,
       a.filter,
       COALESCE(a.updated_at, 'commit timestamp') AS updated_at,
       a.parent,
       a.parent_key
  FROM @extschema@.adapter a;
COMMENT ON VIEW @extschema@.adapters IS
'readable listing of row adapters';
GRANT SELECT ON @extschema@.adapters TO PUBLIC;

CREATE FUNCTION @extschema@.diff(source pg_catalog.text,
                                 target pg_catalog.text,
                                 options pg_catalog.jsonb DEFAULT '{}',
                                 OUT model pg_catalog.text,
                                 OUT key pg_catalog.jsonb,
                                 OUT action pg_catalog.text,
                                 OUT source pg_catalog.jsonb,
                                 OUT target pg_catalog.jsonb,
                                 OUT changes pg_catalog.jsonb)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'diffsync_diff'
LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.diff(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'differences between the rows of two adapters (and their child adapters): create, update, delete, with the changed attributes';

CREATE FUNCTION @extschema@.diff_summary(source pg_catalog.text,
                                         target pg_catalog.text,
                                         options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_diff_summary'
LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.diff_summary(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'counts of the differences between two adapters: create, update, delete, no-change, skip';

CREATE FUNCTION @extschema@.diff_text(source pg_catalog.text,
                                      target pg_catalog.text,
                                      options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'diffsync_diff_text'
LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.diff_text(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'the differences between two adapters as a readable tree';

CREATE TABLE @extschema@.syncs (
    sync_id     pg_catalog.int8 PRIMARY KEY,
    engine      pg_catalog.text,
    started_at  pg_catalog.timestamptz NOT NULL,
    finished_at pg_catalog.timestamptz NOT NULL,
    result      pg_catalog.jsonb NOT NULL
);
COMMENT ON TABLE @extschema@.syncs IS
'one row per sync run (diffsync.sync and diffsync.sync_engine), with its result object';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.syncs', '');
GRANT SELECT ON @extschema@.syncs TO PUBLIC;

CREATE FUNCTION @extschema@.sync(source pg_catalog.text,
                                 target pg_catalog.text,
                                 direction pg_catalog.text DEFAULT 'source_to_target',
                                 strategy pg_catalog.text DEFAULT 'last_update_wins',
                                 options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_sync'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.sync(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'reconcile two adapters once: direction, conflict strategy, options; returns the result object';

CREATE FUNCTION @extschema@.create_engine(name pg_catalog.text,
                                          source pg_catalog.text,
                                          target pg_catalog.text,
                                          direction pg_catalog.text DEFAULT 'bidirectional',
                                          strategy pg_catalog.text DEFAULT 'last_update_wins',
                                          options pg_catalog.jsonb DEFAULT '{}')
RETURNS void
AS 'MODULE_PATHNAME', 'diffsync_create_engine'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.create_engine(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'define a named sync engine between two adapters';

CREATE FUNCTION @extschema@.drop_engine(name pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'diffsync_drop_engine'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.drop_engine(pg_catalog.text) IS
'remove a sync engine with its base state and queued conflicts';

CREATE FUNCTION @extschema@.sync_engine(name pg_catalog.text,
                                        options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_sync_engine'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.sync_engine(pg_catalog.text, pg_catalog.jsonb) IS
'run a sync engine (its options overridden by the given ones); syncs of one engine serialize';

CREATE FUNCTION @extschema@.resolve_conflict(conflict_id pg_catalog.int8,
                                             resolution pg_catalog.text DEFAULT NULL,
                                             value pg_catalog.jsonb DEFAULT NULL)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_resolve_conflict'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.resolve_conflict(pg_catalog.int8, pg_catalog.text, pg_catalog.jsonb) IS
'settle a queued conflict with the source value, the target value or an explicit value';

CREATE VIEW @extschema@.engines AS
SELECT e.name, e.source, e.target, e.direction, e.strategy, e.options, e.last_sync_id,
       (SELECT pg_catalog.count(*) FROM @extschema@.conflicts c
         WHERE c.engine OPERATOR(pg_catalog.=) e.name AND c.status OPERATOR(pg_catalog.=) 'open') AS open_conflicts
  FROM @extschema@.engine e;
COMMENT ON VIEW @extschema@.engines IS
'readable listing of sync engines with their number of open conflicts';
GRANT SELECT ON @extschema@.engines TO PUBLIC;
