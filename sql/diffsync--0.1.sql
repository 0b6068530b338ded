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
    owner       pg_catalog.regrole NOT NULL,
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
    owner       pg_catalog.regrole NOT NULL,
    created_at  pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_sync_id pg_catalog.int8,
    watermark   pg_catalog.timestamptz  -- start of the last sync: older changes are reconciled
);
COMMENT ON TABLE @extschema@.engine IS
'named, persisted sync configurations (source and target adapter, direction, strategy, options)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.engine', '');

CREATE TABLE @extschema@.engine_base (
    engine      pg_catalog.text NOT NULL,   -- no foreign key: drop_engine deletes its rows
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
-- one open conflict per key and attribute: a later sync refreshes it
CREATE UNIQUE INDEX conflicts_open_key ON @extschema@.conflicts
    (source, target, model, key, (COALESCE(conflict OPERATOR(pg_catalog.->>) 'attribute', '')))
    WHERE status OPERATOR(pg_catalog.=) 'open';
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
       CASE WHEN a.updated_at IS NOT NULL THEN a.updated_at
            WHEN c.relkind IN ('r', 'p', 'm') THEN 'commit timestamp'
       END AS updated_at,
       a.parent,
       a.parent_key
  FROM @extschema@.adapter a
  LEFT JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.relation;
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
    source      pg_catalog.text NOT NULL,
    target      pg_catalog.text NOT NULL,
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

/*
 * Version history.
 *
 * One row per version of a key of an adapter.  Storage: every update
 * stores the RFC 6902 patch from the row as it was before the write; the
 * full state is stored for the first version of a key, for create, restore
 * and commit versions, for every 16th version (so rebuilding any version
 * replays at most 15 patches), and whenever the row before the write is not
 * the state of the previous version (a write diffsync did not see: the
 * patch would not chain).  state_hash is the hash of every version's state,
 * which is how that is detected.  A delete version stores neither.
 *
 * Commit order: each transaction that writes history gets one row in
 * commit_log, stamped with a commit sequence number by a deferred trigger
 * that holds an advisory lock until the transaction ends, so commit_seq
 * follows commit order.  changes_since() orders by (commit_seq, change_id).
 */

CREATE TABLE @extschema@.history (
    change_id   bigserial PRIMARY KEY,
    adapter     pg_catalog.text NOT NULL,
    key         pg_catalog.jsonb NOT NULL,
    version     pg_catalog.int8 NOT NULL,
    action      pg_catalog.text NOT NULL
                CHECK (action IN ('create', 'update', 'delete', 'restore', 'commit')),
    state       pg_catalog.jsonb,
    patch       pg_catalog.jsonb,
    state_hash  pg_catalog.int8,
    sync_id     pg_catalog.int8,
    engine      pg_catalog.text,
    xid         pg_catalog.xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    recorded_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    message     pg_catalog.text,
    key_hash    pg_catalog.int8 NOT NULL
                GENERATED ALWAYS AS (pg_catalog.jsonb_hash_extended(key, 0)) STORED
);
-- versions of a key are found by the hash of the key (an int8 compares far
-- faster than a jsonb in an index); the key itself is rechecked
CREATE INDEX history_key ON @extschema@.history (adapter, key_hash, version);
CREATE INDEX ON @extschema@.history (xid);
COMMENT ON TABLE @extschema@.history IS
'versions of every key diffsync wrote or committed: patch from the previous version, full state at snapshots';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history_change_id_seq', '');

CREATE SEQUENCE @extschema@.commit_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commit_seq', '');

CREATE TABLE @extschema@.commit_log (
    xid          pg_catalog.xid8 PRIMARY KEY,
    commit_seq   pg_catalog.int8 UNIQUE,
    committed_at pg_catalog.timestamptz
);
COMMENT ON TABLE @extschema@.commit_log IS
'one row per transaction that wrote history, numbered in commit order';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commit_log', '');

-- SECURITY DEFINER: the deferred trigger fires as whoever commits, and
-- commit_log is writable only by the extension owner; it runs fixed SQL.
CREATE FUNCTION @extschema@.commit_log_stamp()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- held until the transaction ends: stamps follow commit order
    PERFORM pg_catalog.pg_advisory_xact_lock(1684629094, 1);
    UPDATE @extschema@.commit_log
       SET commit_seq = pg_catalog.nextval('@extschema@.commit_seq'),
           committed_at = pg_catalog.clock_timestamp()
     WHERE xid OPERATOR(pg_catalog.=) NEW.xid;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.commit_log_stamp() IS
'deferred trigger: numbers a transaction that wrote history in commit order';

REVOKE ALL ON FUNCTION @extschema@.commit_log_stamp() FROM PUBLIC;

-- only new transactions: rows a restore loads carry their number already
CREATE CONSTRAINT TRIGGER commit_log_stamp
AFTER INSERT ON @extschema@.commit_log
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.commit_seq IS NULL)
EXECUTE FUNCTION @extschema@.commit_log_stamp();

GRANT SELECT ON @extschema@.history, @extschema@.commit_log TO PUBLIC;

CREATE FUNCTION @extschema@.state_at_version(adapter pg_catalog.text,
                                             key pg_catalog.jsonb,
                                             version pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    s jsonb;
BEGIN
    -- from the last stored state at or before the version, replay patches
    FOR r IN
        SELECT h.action, h.state, h.patch
          FROM @extschema@.history h
         WHERE h.adapter OPERATOR(pg_catalog.=) state_at_version.adapter
           AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(state_at_version.key, 0)
           AND h.key OPERATOR(pg_catalog.=) state_at_version.key
           AND h.version OPERATOR(pg_catalog.<=) state_at_version.version
           AND h.version OPERATOR(pg_catalog.>=) COALESCE(
                 (SELECT max(b.version) FROM @extschema@.history b
                   WHERE b.adapter OPERATOR(pg_catalog.=) state_at_version.adapter
                     AND b.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(state_at_version.key, 0)
                     AND b.key OPERATOR(pg_catalog.=) state_at_version.key
                     AND b.version OPERATOR(pg_catalog.<=) state_at_version.version
                     AND (b.state IS NOT NULL OR b.action OPERATOR(pg_catalog.=) 'delete')), 1)
         ORDER BY h.version
    LOOP
        IF r.action OPERATOR(pg_catalog.=) 'delete' THEN
            s := NULL;
        ELSIF r.state IS NOT NULL THEN
            s := r.state;
        ELSE
            s := @extschema@.jsonb_patch(s, r.patch);
        END IF;
    END LOOP;
    RETURN s;
END
$$;
COMMENT ON FUNCTION @extschema@.state_at_version(pg_catalog.text, pg_catalog.jsonb, pg_catalog.int8) IS
'the model state of a key of an adapter at a version (NULL: deleted or unknown)';

CREATE FUNCTION @extschema@.history(adapter pg_catalog.text,
                                    key pg_catalog.jsonb,
                                    OUT version pg_catalog.int8,
                                    OUT action pg_catalog.text,
                                    OUT state pg_catalog.jsonb,
                                    OUT patch pg_catalog.jsonb,
                                    OUT sync_id pg_catalog.int8,
                                    OUT recorded_at pg_catalog.timestamptz,
                                    OUT message pg_catalog.text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    s jsonb;
BEGIN
    FOR r IN
        SELECT h.version, h.action, h.state, h.patch, h.sync_id, h.recorded_at, h.message
          FROM @extschema@.history h
         WHERE h.adapter OPERATOR(pg_catalog.=) history.adapter
           AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(history.key, 0)
           AND h.key OPERATOR(pg_catalog.=) history.key
         ORDER BY h.version
    LOOP
        IF r.action OPERATOR(pg_catalog.=) 'delete' THEN
            s := NULL;
        ELSIF r.state IS NOT NULL THEN
            s := r.state;
        ELSIF s IS NULL THEN
            -- pruned before a stored state: rebuild from what is left
            s := @extschema@.state_at_version(history.adapter, history.key, r.version);
        ELSE
            s := @extschema@.jsonb_patch(s, r.patch);
        END IF;
        version := r.version;
        action := r.action;
        state := s;
        patch := r.patch;
        sync_id := r.sync_id;
        recorded_at := r.recorded_at;
        message := r.message;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.history(pg_catalog.text, pg_catalog.jsonb) IS
'every version of a key of an adapter, oldest first, with its full state';

CREATE FUNCTION @extschema@.state_as_of(adapter pg_catalog.text,
                                        key pg_catalog.jsonb,
                                        at pg_catalog.timestamptz)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @extschema@.state_at_version($1, $2, h.version)
      FROM @extschema@.history h
      JOIN @extschema@.commit_log c ON c.xid OPERATOR(pg_catalog.=) h.xid
     WHERE h.adapter OPERATOR(pg_catalog.=) $1
       AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended($2, 0)
       AND h.key OPERATOR(pg_catalog.=) $2
       AND c.committed_at OPERATOR(pg_catalog.<=) $3
     ORDER BY h.version DESC
     LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.state_as_of(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
'the model state of a key of an adapter as it was at a point in time (by commit time; NULL: absent)';

CREATE TYPE @extschema@.change AS (
    change_id    pg_catalog.int8,
    commit_seq   pg_catalog.int8,
    adapter      pg_catalog.text,
    key          pg_catalog.jsonb,
    version      pg_catalog.int8,
    action       pg_catalog.text,
    state        pg_catalog.jsonb,
    patch        pg_catalog.jsonb,
    sync_id      pg_catalog.int8,
    engine       pg_catalog.text,
    committed_at pg_catalog.timestamptz
);
COMMENT ON TYPE @extschema@.change IS
'one committed change, as changes_since returns it';

CREATE FUNCTION @extschema@.changes_since(change_id pg_catalog.int8)
RETURNS SETOF @extschema@.change
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    after_seq int8 := 0;
    after_id int8 := 0;
BEGIN
    IF changes_since.change_id IS NOT NULL AND changes_since.change_id OPERATOR(pg_catalog.>) 0 THEN
        SELECT c.commit_seq, h.change_id INTO after_seq, after_id
          FROM @extschema@.history h
          JOIN @extschema@.commit_log c ON c.xid OPERATOR(pg_catalog.=) h.xid
         WHERE h.change_id OPERATOR(pg_catalog.=) changes_since.change_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'change % is not in the history', changes_since.change_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'It was pruned, or never committed: resynchronize the consumer from the tables, then follow changes from the newest change_id.';
        END IF;
    END IF;
    RETURN QUERY
        SELECT h.change_id, c.commit_seq, h.adapter, h.key, h.version, h.action,
               CASE WHEN h.action OPERATOR(pg_catalog.=) 'delete' THEN NULL
                    WHEN h.state IS NOT NULL THEN h.state
                    ELSE @extschema@.state_at_version(h.adapter, h.key, h.version) END,
               h.patch, h.sync_id, h.engine, c.committed_at
          FROM @extschema@.history h
          JOIN @extschema@.commit_log c ON c.xid OPERATOR(pg_catalog.=) h.xid
         WHERE c.commit_seq IS NOT NULL
           AND (c.commit_seq, h.change_id) OPERATOR(pg_catalog.>) (after_seq, after_id)
         ORDER BY c.commit_seq, h.change_id;
END
$$;
COMMENT ON FUNCTION @extschema@.changes_since(pg_catalog.int8) IS
'every committed change after the given change id (0: all), in commit order: how a LISTEN consumer catches up';

CREATE FUNCTION @extschema@.commit_version(adapter pg_catalog.text,
                                           key pg_catalog.jsonb,
                                           message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'diffsync_commit_version'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.commit_version(pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
'record a row''s current model state as a new version (action commit); returns the version number';

CREATE FUNCTION @extschema@.restore(adapter pg_catalog.text,
                                    key pg_catalog.jsonb,
                                    version pg_catalog.int8)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_restore'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.restore(pg_catalog.text, pg_catalog.jsonb, pg_catalog.int8) IS
'write a version''s state back through the adapter, recorded as a new version; returns the restored state';

CREATE FUNCTION @extschema@.prune_history(older_than pg_catalog.interval)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cutoff timestamptz;
    r record;
    keep int8;
    n int8 := 0;
    c int8;
BEGIN
    IF older_than IS NULL OR older_than OPERATOR(pg_catalog.<) '0'::interval THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cutoff := pg_catalog.now() OPERATOR(pg_catalog.-) older_than;
    FOR r IN
        SELECT h.adapter, h.key, pg_catalog.max(h.version) AS newest,
               pg_catalog.min(h.version) FILTER (WHERE h.recorded_at OPERATOR(pg_catalog.>=) cutoff) AS first_kept
          FROM @extschema@.history h
         GROUP BY h.adapter, h.key
        HAVING pg_catalog.min(h.recorded_at) OPERATOR(pg_catalog.<) cutoff
    LOOP
        IF r.first_kept IS NULL AND EXISTS (
               SELECT 1 FROM @extschema@.history h
                WHERE h.adapter OPERATOR(pg_catalog.=) r.adapter AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(r.key, 0) AND h.key OPERATOR(pg_catalog.=) r.key
                  AND h.version OPERATOR(pg_catalog.=) r.newest AND h.action OPERATOR(pg_catalog.=) 'delete') THEN
            -- a key deleted before the cutoff: nothing of it is kept
            DELETE FROM @extschema@.history h
             WHERE h.adapter OPERATOR(pg_catalog.=) r.adapter AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(r.key, 0) AND h.key OPERATOR(pg_catalog.=) r.key;
            GET DIAGNOSTICS c = ROW_COUNT;
            n := n OPERATOR(pg_catalog.+) c;
            CONTINUE;
        END IF;
        -- keep the newest version of a live key, and every version after the cutoff
        keep := COALESCE(r.first_kept, r.newest);
        -- the first kept version must carry its full state: older patches go
        UPDATE @extschema@.history h
           SET state = @extschema@.state_at_version(r.adapter, r.key, keep)
         WHERE h.adapter OPERATOR(pg_catalog.=) r.adapter AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(r.key, 0) AND h.key OPERATOR(pg_catalog.=) r.key
           AND h.version OPERATOR(pg_catalog.=) keep AND h.state IS NULL
           AND h.action OPERATOR(pg_catalog.<>) 'delete';
        DELETE FROM @extschema@.history h
         WHERE h.adapter OPERATOR(pg_catalog.=) r.adapter AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(r.key, 0) AND h.key OPERATOR(pg_catalog.=) r.key
           AND h.version OPERATOR(pg_catalog.<) keep;
        GET DIAGNOSTICS c = ROW_COUNT;
        n := n OPERATOR(pg_catalog.+) c;
    END LOOP;
    DELETE FROM @extschema@.commit_log l
     WHERE l.commit_seq IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM @extschema@.history h WHERE h.xid OPERATOR(pg_catalog.=) l.xid);
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.prune_history(pg_catalog.interval) IS
'delete versions recorded longer ago than older_than, keeping the newest version of every live key; returns the number deleted';

/*
 * Row-level security on the records that hold row values: a user sees
 * history, conflicts and sync results only of adapters over relations they
 * may read themselves.  (diffsync's bookkeeping writes them as the extension
 * owner, which RLS does not restrict.)
 */
CREATE FUNCTION @extschema@.can_read_adapter(adapter pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM @extschema@.adapter a
                    WHERE a.name OPERATOR(pg_catalog.=) $1
                      AND pg_catalog.has_table_privilege(a.relation, 'SELECT'))
$$;
COMMENT ON FUNCTION @extschema@.can_read_adapter(pg_catalog.text) IS
'whether the current user may read the relation under an adapter (used by row-level security)';

ALTER TABLE @extschema@.engine_base ENABLE ROW LEVEL SECURITY;
CREATE POLICY engine_base_readable ON @extschema@.engine_base FOR SELECT
    USING (EXISTS (SELECT 1 FROM @extschema@.engine e
                    WHERE e.name OPERATOR(pg_catalog.=) engine_base.engine
                      AND @extschema@.can_read_adapter(e.source)
                      AND @extschema@.can_read_adapter(e.target)));
GRANT SELECT ON @extschema@.engine_base TO PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

ALTER TABLE @extschema@.history ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_readable ON @extschema@.history FOR SELECT
    USING (@extschema@.can_read_adapter(adapter));
ALTER TABLE @extschema@.conflicts ENABLE ROW LEVEL SECURITY;
CREATE POLICY conflicts_readable ON @extschema@.conflicts FOR SELECT
    USING (@extschema@.can_read_adapter(source) AND @extschema@.can_read_adapter(target));
ALTER TABLE @extschema@.syncs ENABLE ROW LEVEL SECURITY;
CREATE POLICY syncs_readable ON @extschema@.syncs FOR SELECT
    USING (@extschema@.can_read_adapter(source) AND @extschema@.can_read_adapter(target));

CREATE FUNCTION @extschema@.live_reconcile()
RETURNS trigger
AS 'MODULE_PATHNAME', 'diffsync_live_reconcile'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.live_reconcile() IS
'statement trigger installed by diffsync.attach: reconciles the rows a statement changed into the other side';

CREATE FUNCTION @extschema@.attach(engine pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'diffsync_attach'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.attach(pg_catalog.text) IS
'reconcile an engine live: triggers on its tables apply every change to the other side in the same transaction';

CREATE FUNCTION @extschema@.detach(engine pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'diffsync_detach'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.detach(pg_catalog.text) IS
'remove the live triggers of an engine';

COMMENT ON SEQUENCE @extschema@.sync_id_seq IS 'numbers sync runs (diffsync.syncs.sync_id)';
COMMENT ON SEQUENCE @extschema@.conflicts_conflict_id_seq IS 'numbers queued conflicts';
COMMENT ON SEQUENCE @extschema@.history_change_id_seq IS 'numbers versions (diffsync.history.change_id)';
COMMENT ON SEQUENCE @extschema@.commit_seq IS 'numbers transactions that wrote history, in commit order';
