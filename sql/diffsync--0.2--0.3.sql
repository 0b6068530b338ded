/* sql/diffsync--0.2--0.3.sql -- upgrade diffsync from 0.2 to 0.3 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION diffsync UPDATE TO '0.3'" to load this file. \quit

/*
 * 0.3: versions of live statements are stored in batches.
 *
 * A statement an attached engine reconciles records its versions as one
 * row per side (and per 10,000 rows) in history_batches: arrays of change
 * ids, keys, actions, states and patches, no index entry per version, no
 * lookup of each key's previous version.  Numbering them (the version
 * number continues each key's chain) is deferred: the view history shows
 * them numbered already, after the key's stored versions, and they are
 * moved into history_versions, numbered and stored as patches, by
 * materialize_history(), and before any other write of an adapter's
 * history (syncs, commit_version, restore, prune_history).
 *
 * The versions table was called history; history is now the view over
 * both, with the same columns, read with the caller's rights (row-level
 * security of both tables applies).
 */

ALTER TABLE @extschema@.history RENAME TO history_versions;
ALTER INDEX @extschema@.history_key RENAME TO history_versions_key;
COMMENT ON TABLE @extschema@.history_versions IS
'numbered versions of every key diffsync wrote or committed: patch from the previous version, full state at snapshots';

CREATE TABLE @extschema@.history_batches (
    batch_id      pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    adapter       pg_catalog.text NOT NULL,
    engine        pg_catalog.text,
    sync_id       pg_catalog.int8,
    message       pg_catalog.text,
    xid           pg_catalog.xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    recorded_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- one element per version, in change id order
    change_ids    pg_catalog.int8[] NOT NULL,
    keys          pg_catalog.jsonb[] NOT NULL,
    actions       pg_catalog.text[] NOT NULL,
    states        pg_catalog.jsonb[] NOT NULL,
    patches       pg_catalog.jsonb[] NOT NULL,
    before_hashes pg_catalog.int8[] NOT NULL,
    state_hashes  pg_catalog.int8[] NOT NULL,
    -- versions of the side a live one-way engine wrote, recorded for every
    -- row of the statement: whether the write changed that side, and so its
    -- action, is decided against the side's previous version (see the view)
    derived       pg_catalog.bool NOT NULL DEFAULT false,
    CHECK (pg_catalog.cardinality(change_ids) OPERATOR(pg_catalog.>) 0)
);
-- batches are written once and read whole: compressed with lz4 where the
-- server has it (pglz costs more time than the bytes it saves are worth
-- before they are materialized)
DO $$
BEGIN
    ALTER TABLE @extschema@.history_batches
        ALTER keys SET COMPRESSION lz4, ALTER states SET COMPRESSION lz4,
        ALTER patches SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    ALTER TABLE @extschema@.history_batches
        ALTER keys SET STORAGE EXTERNAL, ALTER states SET STORAGE EXTERNAL,
        ALTER patches SET STORAGE EXTERNAL;
END
$$;
ALTER TABLE @extschema@.history_batches
    ALTER change_ids SET STORAGE EXTERNAL, ALTER actions SET STORAGE EXTERNAL,
    ALTER before_hashes SET STORAGE EXTERNAL, ALTER state_hashes SET STORAGE EXTERNAL;
CREATE INDEX history_batches_adapter ON @extschema@.history_batches (adapter, batch_id);
CREATE INDEX ON @extschema@.history_batches (xid);
COMMENT ON TABLE @extschema@.history_batches IS
'versions not numbered yet, one row per statement and side (see materialize_history)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history_batches', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history_batches_batch_id_seq', '');
ALTER TABLE @extschema@.history_batches ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_batches_readable ON @extschema@.history_batches FOR SELECT
    USING (@extschema@.can_read_adapter(adapter));
GRANT SELECT ON @extschema@.history_batches TO PUBLIC;

-- A batch's versions come after the key's numbered ones, in change id order
-- (versions of one key are written under its row lock: change id order is
-- commit order), and show their full state where the storage rule keeps it
-- (the full state for non-updates, every 16th version, and whenever the row
-- replaced was not the previous version's state).  materialize_history()
-- stores what this view shows: it reads the same before and after.
--
-- A derived version (the side a live one-way engine wrote) assumes the
-- side's state before the write was its previous version's (or, without
-- one, the live side's row before the statement, which the engine
-- mirrors): equal to the new state, the engine wrote nothing and there is
-- no version; otherwise its action follows (delete, create after nothing or
-- a delete, else update).  Nor is there one when the key's next version,
-- in the same transaction, is the side's own with the same state, recorded
-- by a live trigger: engines in a cycle, the inner one writing back what
-- the outer statement records.
CREATE VIEW @extschema@.history WITH (security_invoker = true) AS
SELECT v.change_id, v.adapter, v.key, v.version, v.action, v.state, v.patch,
       v.state_hash, v.sync_id, v.engine, v.xid, v.recorded_at, v.message, v.key_hash,
       NULL::pg_catalog.int8 AS batch_id, v.state AS full_state
  FROM @extschema@.history_versions v
UNION ALL
SELECT q.change_id, q.adapter, q.key, q.version, q.action,
       CASE WHEN q.action OPERATOR(pg_catalog.=) 'delete' THEN NULL
            WHEN q.action OPERATOR(pg_catalog.<>) 'update'
              OR q.version OPERATOR(pg_catalog.%) 16 OPERATOR(pg_catalog.=) 1
              OR q.prev_hash IS DISTINCT FROM q.before_hash THEN q.state END,
       CASE WHEN q.action OPERATOR(pg_catalog.=) ANY ('{update,restore}') THEN q.patch END,
       q.state_hash, q.sync_id, q.engine, q.xid, q.recorded_at,
       q.message, q.key_hash, q.batch_id, q.state
  FROM (SELECT k.*,
               COALESCE(k.base_version, 0) OPERATOR(pg_catalog.+)
                 pg_catalog.row_number() OVER (PARTITION BY k.adapter, k.key_hash, k.key
                                               ORDER BY k.change_id) AS version
          FROM (SELECT p.*, a.action,
                       p.derived AND a.assumed_hash IS NOT DISTINCT FROM p.state_hash AS unchanged
                  FROM (SELECT p.*, l.version AS base_version,
                               CASE WHEN p.pos OPERATOR(pg_catalog.=) 1 THEN l.state_hash ELSE p.lag_hash END AS prev_hash,
                               p.pos OPERATOR(pg_catalog.>) 1 OR l.version IS NOT NULL AS prev_exists
                          FROM (SELECT p.*,
                                       pg_catalog.row_number() OVER w AS pos,
                                       pg_catalog.lag(p.state_hash) OVER w AS lag_hash
                                  FROM (SELECT b.batch_id, b.adapter, b.engine, b.sync_id, b.message, b.xid,
                                               b.recorded_at, b.derived, e.change_id, e.key,
                                               pg_catalog.jsonb_hash_extended(e.key, 0) AS key_hash,
                                               e.action AS stored_action, e.state, e.patch, e.before_hash, e.state_hash,
                                               -- an echo: the key's next version, in the same
                                               -- transaction, is the side's own with the same
                                               -- state, recorded by a live trigger (not a sync,
                                               -- commit_version or restore of the user's)
                                               COALESCE(b.derived
                                                        AND (pg_catalog.lead(b.derived) OVER e1) IS FALSE
                                                        AND (pg_catalog.lead(b.engine) OVER e1) IS NOT NULL
                                                        AND (pg_catalog.lead(b.sync_id) OVER e1) IS NULL
                                                        AND (pg_catalog.lead(b.xid) OVER e1) OPERATOR(pg_catalog.=) b.xid
                                                        AND (pg_catalog.lead(e.state_hash) OVER e1) IS NOT DISTINCT FROM e.state_hash,
                                                        false) AS echo
                                          FROM @extschema@.history_batches b,
                                               ROWS FROM (pg_catalog.unnest(b.change_ids), pg_catalog.unnest(b.keys),
                                                          pg_catalog.unnest(b.actions), pg_catalog.unnest(b.states),
                                                          pg_catalog.unnest(b.patches), pg_catalog.unnest(b.before_hashes),
                                                          pg_catalog.unnest(b.state_hashes))
                                                 AS e(change_id, key, action, state, patch, before_hash, state_hash)
                                        WINDOW e1 AS (PARTITION BY b.adapter, pg_catalog.jsonb_hash_extended(e.key, 0), e.key
                                                      ORDER BY e.change_id)) p
                                 WHERE NOT p.echo
                                WINDOW w AS (PARTITION BY p.adapter, p.key_hash, p.key ORDER BY p.change_id)) p
                          LEFT JOIN LATERAL (SELECT y.version, y.state_hash FROM @extschema@.history_versions y
                                              WHERE y.adapter OPERATOR(pg_catalog.=) p.adapter
                                                AND y.key_hash OPERATOR(pg_catalog.=) p.key_hash
                                                AND y.key OPERATOR(pg_catalog.=) p.key
                                              ORDER BY y.version DESC LIMIT 1) l ON true) p
                 CROSS JOIN LATERAL (SELECT CASE WHEN p.prev_exists THEN p.prev_hash ELSE p.before_hash END AS assumed_hash) h
                 CROSS JOIN LATERAL (SELECT CASE WHEN NOT p.derived THEN p.stored_action
                                                 WHEN p.state_hash IS NULL THEN 'delete'
                                                 WHEN h.assumed_hash IS NULL THEN 'create'
                                                 ELSE 'update' END AS action,
                                            h.assumed_hash) a) k
         WHERE NOT k.unchanged) q;
COMMENT ON VIEW @extschema@.history IS
'every version of every key diffsync wrote or committed (history_versions and the batches of live statements, numbered)';
GRANT SELECT ON @extschema@.history TO PUBLIC;

CREATE FUNCTION @extschema@.materialize_history(adapter pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'diffsync_materialize_history'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.materialize_history(pg_catalog.text) IS
'number and store the versions waiting in batches (of one adapter, or of all); returns how many';
-- maintenance: it locks batches other writers may be reading
REVOKE ALL ON FUNCTION @extschema@.materialize_history(pg_catalog.text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.prune_history(older_than pg_catalog.interval)
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
    -- batched versions are numbered first: pruning works on stored versions
    PERFORM @extschema@.materialize_history();
    FOR r IN
        SELECT h.adapter, h.key, pg_catalog.max(h.version) AS newest,
               pg_catalog.min(h.version) FILTER (WHERE h.recorded_at OPERATOR(pg_catalog.>=) cutoff) AS first_kept
          FROM @extschema@.history_versions h
         GROUP BY h.adapter, h.key
        HAVING pg_catalog.min(h.recorded_at) OPERATOR(pg_catalog.<) cutoff
    LOOP
        IF r.first_kept IS NULL AND EXISTS (
               SELECT 1 FROM @extschema@.history_versions h
                WHERE h.adapter OPERATOR(pg_catalog.=) r.adapter AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(r.key, 0) AND h.key OPERATOR(pg_catalog.=) r.key
                  AND h.version OPERATOR(pg_catalog.=) r.newest AND h.action OPERATOR(pg_catalog.=) 'delete') THEN
            -- a key deleted before the cutoff: nothing of it is kept
            DELETE FROM @extschema@.history_versions h
             WHERE h.adapter OPERATOR(pg_catalog.=) r.adapter AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(r.key, 0) AND h.key OPERATOR(pg_catalog.=) r.key;
            GET DIAGNOSTICS c = ROW_COUNT;
            n := n OPERATOR(pg_catalog.+) c;
            CONTINUE;
        END IF;
        -- keep the newest version of a live key, and every version after the cutoff
        keep := COALESCE(r.first_kept, r.newest);
        -- the first kept version must carry its full state: older patches go
        UPDATE @extschema@.history_versions h
           SET state = @extschema@.state_at_version(r.adapter, r.key, keep)
         WHERE h.adapter OPERATOR(pg_catalog.=) r.adapter AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(r.key, 0) AND h.key OPERATOR(pg_catalog.=) r.key
           AND h.version OPERATOR(pg_catalog.=) keep AND h.state IS NULL
           AND h.action OPERATOR(pg_catalog.<>) 'delete';
        DELETE FROM @extschema@.history_versions h
         WHERE h.adapter OPERATOR(pg_catalog.=) r.adapter AND h.key_hash OPERATOR(pg_catalog.=) pg_catalog.jsonb_hash_extended(r.key, 0) AND h.key OPERATOR(pg_catalog.=) r.key
           AND h.version OPERATOR(pg_catalog.<) keep;
        GET DIAGNOSTICS c = ROW_COUNT;
        n := n OPERATOR(pg_catalog.+) c;
    END LOOP;
    DELETE FROM @extschema@.commit_log l
     WHERE l.commit_seq IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM @extschema@.history_versions h WHERE h.xid OPERATOR(pg_catalog.=) l.xid)
       AND NOT EXISTS (SELECT 1 FROM @extschema@.history_batches b WHERE b.xid OPERATOR(pg_catalog.=) l.xid);
    RETURN n;
END
$$;

-- batched versions carry their full state: no replay of patches per change
CREATE OR REPLACE FUNCTION @extschema@.changes_since(change_id pg_catalog.int8)
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
                    WHEN h.full_state IS NOT NULL THEN h.full_state
                    ELSE @extschema@.state_at_version(h.adapter, h.key, h.version) END,
               h.patch, h.sync_id, h.engine, c.committed_at
          FROM @extschema@.history h
          JOIN @extschema@.commit_log c ON c.xid OPERATOR(pg_catalog.=) h.xid
         WHERE c.commit_seq IS NOT NULL
           AND (c.commit_seq, h.change_id) OPERATOR(pg_catalog.>) (after_seq, after_id)
         ORDER BY c.commit_seq, h.change_id;
END
$$;
