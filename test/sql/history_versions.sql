--
-- history_versions: the versions syncs record on both sides (create, update,
-- delete), per-key version numbers, patches and periodic full states,
-- history(), state_at_version, commit_version, restore, the "history"
-- option, the result's source_version/target_version, prune_history,
-- changes_since, and the patch size of a small change to a large document.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END
$$;

-- the stable parts of a result's source_version / target_version
CREATE FUNCTION pg_temp.versions(r jsonb) RETURNS TABLE (side text, versions int, change_ids int)
LANGUAGE sql AS $$
    SELECT s, (r->v->>'versions')::int,
           (r->v->>'last_change_id')::int - (r->v->>'first_change_id')::int + 1
      FROM (VALUES ('source', 'source_version'), ('target', 'target_version')) x(s, v)
     ORDER BY s
$$;

-- every recorded version, oldest first per key
CREATE FUNCTION pg_temp.hist(a text) RETURNS TABLE (key jsonb, version int8, action text, has_state bool, patch jsonb, message text)
LANGUAGE sql AS $$
    SELECT h.key, h.version, h.action, h.state IS NOT NULL, h.patch, h.message
      FROM diffsync.history h WHERE h.adapter = a ORDER BY h.key, h.version
$$;

CREATE TABLE regress_hs (id int PRIMARY KEY, name text, n int, doc jsonb);
CREATE TABLE regress_ht (id int PRIMARY KEY, name text, n int, doc jsonb);
SELECT diffsync.create_adapter('hs', 'regress_hs', '{id}');
SELECT diffsync.create_adapter('ht', 'regress_ht', '{id}');

--
-- syncs record versions of the rows they write, on the side they write
--
INSERT INTO regress_hs VALUES (1, 'one', 1, '{"a": 1}'), (2, 'two', 2, '{"a": 2}'), (3, 'three', 3, '{}');
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins')) ORDER BY side;
SELECT * FROM pg_temp.hist('ht') ORDER BY key, version;
SELECT count(*) AS source_versions FROM diffsync.history WHERE adapter = 'hs';
-- the state of a create is the full model row
SELECT key, state FROM diffsync.history WHERE adapter = 'ht' ORDER BY key;

-- one bidirectional run writes both sides: creates in the source, an
-- update and a create in the target
INSERT INTO regress_ht VALUES (5, 'five', 5, '{"b": 5}');
INSERT INTO regress_hs VALUES (4, 'four', 4, '{}');
UPDATE regress_hs SET name = 'ONE', doc = '{"a": 1, "c": true}' WHERE id = 1;
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'bidirectional', 'source_wins')) ORDER BY side;
SELECT * FROM pg_temp.hist('hs') ORDER BY key, version;
SELECT * FROM pg_temp.hist('ht') ORDER BY key, version;
-- the patch of an update turns the previous version's state into the new one
SELECT diffsync.jsonb_patch(diffsync.state_at_version('ht', '{"id": 1}', 1),
                            (SELECT patch FROM diffsync.history WHERE adapter = 'ht' AND key = '{"id": 1}' AND version = 2))
       = (SELECT to_jsonb(r) FROM regress_ht r WHERE id = 1) AS patch_rebuilds;

-- deletes on both sides: source_to_target deletes from the target what the
-- source lost; target_to_source deletes from the source what only it has
DELETE FROM regress_hs WHERE id = 3;
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins')) ORDER BY side;
INSERT INTO regress_hs VALUES (6, 'six', 6, '{}');
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'target_to_source', 'target_wins')) ORDER BY side;
SELECT * FROM pg_temp.hist('hs') ORDER BY key, version;
SELECT * FROM pg_temp.hist('ht') ORDER BY key, version;
-- a deleted version has no state
SELECT diffsync.state_at_version('ht', '{"id": 3}', 1) AS v1, diffsync.state_at_version('ht', '{"id": 3}', 2) AS v2;

-- a sync that finds nothing to write records nothing
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'bidirectional', 'source_wins')) ORDER BY side;

--
-- a long chain: 20 updates of one key in 20 transactions; the full state is
-- stored at version 1 and every 16th version after it (17, 33, ...)
--
DO $$
BEGIN
    FOR i IN 1..20 LOOP
        UPDATE regress_hs SET n = 100 + i WHERE id = 2;
        PERFORM diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins');
        COMMIT;
    END LOOP;
END
$$;
SELECT version, action, has_state, patch FROM pg_temp.hist('ht') WHERE key = '{"id": 2}' ORDER BY key, version;
-- history() rebuilds the full state of every version
SELECT version, action, state FROM diffsync.history('ht', '{"id": 2}') ORDER BY version;
-- ... and agrees with state_at_version everywhere
SELECT count(*) AS versions,
       count(*) FILTER (WHERE h.state IS DISTINCT FROM diffsync.state_at_version('ht', '{"id": 2}', h.version)) AS mismatches
  FROM diffsync.history('ht', '{"id": 2}') h;
SELECT diffsync.state_at_version('ht', '{"id": 2}', 16) AS v16,
       diffsync.state_at_version('ht', '{"id": 2}', 18) AS v18;
-- by commit time: now, the newest state; before anything was recorded, none
SELECT diffsync.state_as_of('ht', '{"id": 2}', now()) ->> 'n' AS n_now,
       diffsync.state_as_of('ht', '{"id": 2}', '2000-01-01') IS NULL AS before_history;
-- unknown key, version before the first: NULL
SELECT diffsync.state_at_version('ht', '{"id": 99}', 1) IS NULL AS unknown_key,
       diffsync.state_at_version('ht', '{"id": 2}', 0) IS NULL AS version_0;

--
-- commit_version: the current state as a version, with a message
--
SELECT diffsync.commit_version('ht', '{"id": 2}', 'checkpoint before cleanup') AS committed;
SELECT version, action, has_state, patch, message FROM pg_temp.hist('ht') WHERE key = '{"id": 2}' AND version >= 21 ORDER BY key, version;
SELECT state = (SELECT to_jsonb(r) FROM regress_ht r WHERE id = 2) AS state_is_current
  FROM diffsync.history WHERE adapter = 'ht' AND key = '{"id": 2}' AND action = 'commit';
-- a key without history yet starts at version 1; the message is optional
UPDATE regress_hs SET name = 'hand edit' WHERE id = 4;
SELECT diffsync.commit_version('hs', '{"id": 4}') AS committed;
SELECT version, action, has_state, message FROM pg_temp.hist('hs') WHERE key = '{"id": 4}' ORDER BY key, version;
SELECT pg_temp.err($$SELECT diffsync.commit_version('ht', '{"id": 99}', 'nothing there')$$);
-- the edit reaches the target as its version 2
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins')) ORDER BY side;
SELECT version, action, patch FROM pg_temp.hist('ht') WHERE key = '{"id": 4}' ORDER BY key, version;

--
-- restore
--
-- to an older version: the row is rewritten, recorded as a 'restore' version
SELECT diffsync.restore('ht', '{"id": 2}', 5);
SELECT * FROM regress_ht WHERE id = 2;
SELECT version, action, has_state, patch, message FROM pg_temp.hist('ht') WHERE key = '{"id": 2}' AND version >= 22 ORDER BY key, version;
SELECT state FROM diffsync.history('ht', '{"id": 2}') WHERE version = 23;
-- to a version of a deleted key: the row comes back
SELECT diffsync.restore('ht', '{"id": 3}', 1);
SELECT * FROM regress_ht WHERE id = 3;
-- to a deleted version: the row is deleted again
SELECT diffsync.restore('ht', '{"id": 3}', 2) IS NULL AS restored_nothing;
SELECT count(*) AS rows_3 FROM regress_ht WHERE id = 3;
SELECT version, action, has_state, message FROM pg_temp.hist('ht') WHERE key = '{"id": 3}' ORDER BY key, version;
SELECT version, action, state FROM diffsync.history('ht', '{"id": 3}') ORDER BY version;
-- unknown versions and keys
SELECT pg_temp.err($$SELECT diffsync.restore('ht', '{"id": 2}', 99)$$);
SELECT pg_temp.err($$SELECT diffsync.restore('ht', '{"id": 2}', 0)$$);
SELECT pg_temp.err($$SELECT diffsync.restore('ht', '{"id": 99}', 1)$$);
-- the source side was not touched by any of this
SELECT * FROM regress_hs ORDER BY id;

--
-- option history = false records nothing
--
SELECT max(change_id) AS last_change FROM diffsync.history \gset
UPDATE regress_hs SET n = -1 WHERE id = 1;
DELETE FROM regress_hs WHERE id = 5;
INSERT INTO regress_hs VALUES (7, 'seven', 7, '{}');
SELECT r->'source_version' AS source_version, r->'target_version' AS target_version, r->'summary'->'target' AS written
  FROM diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins', '{"history": false}') r;
SELECT count(*) AS new_versions FROM diffsync.history WHERE change_id > :last_change;
SELECT * FROM regress_ht ORDER BY id;
-- the next version of a key continues its chain from what was recorded
UPDATE regress_hs SET n = -2 WHERE id = 1;
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins')) ORDER BY side;
SELECT version, action, patch FROM pg_temp.hist('ht') WHERE key = '{"id": 1}' ORDER BY key, version;

--
-- changes_since: committed changes in commit order
--
SELECT count(*) AS all_changes, count(*) = (SELECT count(*) FROM diffsync.history) AS all_committed,
       bool_and(ok) AS commit_order
  FROM (SELECT (c.commit_seq, c.change_id) > (lag(c.commit_seq, 1, 0::int8) OVER w, lag(c.change_id, 1, 0::int8) OVER w) AS ok
          FROM diffsync.changes_since(0) c WINDOW w AS (ORDER BY c.commit_seq, c.change_id)) x;
SELECT change_id FROM diffsync.history WHERE adapter = 'ht' AND key = '{"id": 2}' AND action = 'commit' \gset
SELECT adapter, key, version, action, state, patch, engine
  FROM diffsync.changes_since(:change_id) ORDER BY commit_seq, change_id;
-- changes of a transaction appear once it has committed
SELECT max(change_id) AS last_change FROM diffsync.history \gset
BEGIN;
UPDATE regress_hs SET n = 42 WHERE id = 4;
SELECT (diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins'))->'summary'->'update' AS updated;
SELECT count(*) AS visible_before_commit FROM diffsync.changes_since(:last_change);
COMMIT;
SELECT adapter, key, version, action, patch FROM diffsync.changes_since(:last_change) ORDER BY commit_seq, change_id;
SELECT pg_temp.err($$SELECT * FROM diffsync.changes_since(999999)$$);

--
-- a large document: a one-field change stores a patch of a few dozen bytes
--
CREATE TABLE regress_docs_s (id int PRIMARY KEY, doc jsonb);
CREATE TABLE regress_docs_t (id int PRIMARY KEY, doc jsonb);
SELECT diffsync.create_adapter('docs_s', 'regress_docs_s', '{id}');
SELECT diffsync.create_adapter('docs_t', 'regress_docs_t', '{id}');
INSERT INTO regress_docs_s
SELECT 1, jsonb_object_agg('field' || i, jsonb_build_object('label', repeat('x', 30), 'n', i))
  FROM generate_series(1, 1000) i;
SELECT octet_length(doc::text) > 50000 AS doc_over_50kb FROM regress_docs_s;
SELECT (diffsync.sync('docs_s', 'docs_t'))->'summary'->'create' AS created;
UPDATE regress_docs_s SET doc = jsonb_set(doc, '{field500,n}', '-1');
SELECT (diffsync.sync('docs_s', 'docs_t', 'source_to_target', 'source_wins'))->'summary'->'update' AS updated;
SELECT version, action, state IS NULL AS no_state, octet_length(patch::text) < 200 AS small_patch, patch
  FROM diffsync.history WHERE adapter = 'docs_t' ORDER BY version;
SELECT state = (SELECT to_jsonb(r) FROM regress_docs_t r) AS rebuilt
  FROM diffsync.history('docs_t', '{"id": 1}') WHERE version = 2;

--
-- prune_history
--
-- history() before pruning, to compare against afterwards
CREATE TEMP TABLE before_prune AS
SELECT 'ht' AS adapter, k.key, h.version, h.action, h.state
  FROM (SELECT DISTINCT key FROM diffsync.history WHERE adapter = 'ht') k,
       LATERAL diffsync.history('ht', k.key) h;
-- age: key 2 up to version 10, all of keys 1 and 3 (3 ends deleted), and
-- everything of docs_t; hs's key 6 ends deleted but is recent: kept
-- (versions live statements recorded in batches are numbered first)
SELECT diffsync.materialize_history() >= 0 AS materialized;
UPDATE diffsync.history_versions SET recorded_at = '2000-01-01'
 WHERE (adapter = 'ht' AND key = '{"id": 2}' AND version <= 10)
    OR (adapter = 'ht' AND key IN ('{"id": 1}', '{"id": 3}'))
    OR adapter LIKE 'docs_%';
SELECT change_id AS pruned_id FROM diffsync.history WHERE adapter = 'ht' AND key = '{"id": 3}' AND version = 1 \gset
SELECT count(*) AS total_before FROM diffsync.history;
SELECT diffsync.prune_history('1 day') AS pruned;
SELECT count(*) AS total_after FROM diffsync.history;
-- key 2 keeps version 11 onwards, and version 11 now carries its full state;
-- key 1 keeps its newest version only; key 3 (deleted) is gone
SELECT key, min(version), max(version), count(*),
       bool_and(state IS NOT NULL) FILTER (WHERE version = min_version) AS first_has_state
  FROM (SELECT *, min(version) OVER (PARTITION BY key) AS min_version FROM diffsync.history WHERE adapter = 'ht') h
 GROUP BY key ORDER BY key;
SELECT adapter, key, version, action, state IS NOT NULL AS has_state FROM diffsync.history
 WHERE adapter IN ('docs_t', 'hs') ORDER BY adapter, key, version;
-- history() rebuilds every kept version exactly as before
SELECT count(*) AS kept_versions, count(*) FILTER (WHERE h.state IS DISTINCT FROM b.state) AS changed
  FROM (SELECT DISTINCT key FROM diffsync.history WHERE adapter = 'ht') k
 CROSS JOIN LATERAL diffsync.history('ht', k.key) h
  JOIN before_prune b ON b.key = k.key AND b.version = h.version;
SELECT version, action, state FROM diffsync.history('ht', '{"id": 2}') ORDER BY version LIMIT 2;
SELECT count(*) AS key_3_versions FROM diffsync.history('ht', '{"id": 3}');
-- a pruned change id is no longer a starting point; the kept ones are
SELECT pg_temp.err(format('SELECT * FROM diffsync.changes_since(%s)', :pruned_id));
SELECT count(*) > 0 AS follows_kept
  FROM diffsync.changes_since((SELECT min(change_id) FROM diffsync.history WHERE adapter = 'ht'));
-- nothing is old any more: a second prune removes nothing
SELECT diffsync.prune_history('1 day') AS pruned_again;
-- new versions continue the kept chains
UPDATE regress_hs SET name = 'one again' WHERE id = 1;
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins')) ORDER BY side;
SELECT version, action, state->>'name' AS name FROM diffsync.history('ht', '{"id": 1}') ORDER BY version;

--
-- writes diffsync did not record do not corrupt the chain: the next recorded
-- version still rebuilds to the row as it was written.  Key 4: a hand edit
-- of the target's doc, while the source changes n; key 2: the history-off
-- sync above rewrote n (the restore had set it back), now doc changes
--
SELECT max(change_id) AS last_change FROM diffsync.history \gset
UPDATE regress_ht SET doc = '{"z": 1}' WHERE id = 4;
UPDATE regress_hs SET n = 43 WHERE id = 4;
UPDATE regress_hs SET doc = '{"a": 2, "q": [1, 2]}' WHERE id = 2;
SELECT * FROM pg_temp.versions(diffsync.sync('hs', 'ht', 'source_to_target', 'source_wins')) ORDER BY side;
SELECT * FROM regress_ht WHERE id IN (2, 4) ORDER BY id;
SELECT version, action, state FROM diffsync.history('ht', '{"id": 4}') ORDER BY version;
SELECT version, action, state FROM diffsync.history('ht', '{"id": 2}') WHERE version >= 23 ORDER BY version;
SELECT adapter, key, version, action, state FROM diffsync.changes_since(:last_change) ORDER BY commit_seq, key, version;

-- resolving a queued conflict writes a version only on the side whose row
-- changes (the side that already holds the chosen value gets none)
UPDATE regress_hs SET name = 'SEVEN' WHERE id = 7;
SELECT (diffsync.sync('hs', 'ht', 'bidirectional', 'manual'))->'summary'->'queued' AS queued;
SELECT (diffsync.resolve_conflict(conflict_id, 'target'))->'value' AS value
  FROM diffsync.conflicts WHERE status = 'open' AND key = '{"id": 7}';
SELECT 'hs' AS side, * FROM regress_hs WHERE id = 7 UNION ALL SELECT 'ht', * FROM regress_ht WHERE id = 7 ORDER BY 1;
SELECT adapter, version, action, state, patch, message FROM diffsync.history WHERE key = '{"id": 7}' ORDER BY adapter, version;

DROP TABLE regress_hs, regress_ht, regress_docs_s, regress_docs_t;
DROP EXTENSION diffsync;
