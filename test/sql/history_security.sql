--
-- history_security: row-level security on diffsync.history, conflicts and
-- syncs (a row is visible only to users who may read the adapters'
-- relations); a role that owns its tables syncs, versions, restores,
-- resolves conflicts and reconciles live without any grant on diffsync's
-- tables, which it still cannot write.
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

-- what the current user sees of diffsync's records, per adapter
CREATE FUNCTION pg_temp.visible() RETURNS TABLE (what text, adapter text, n bigint)
LANGUAGE sql AS $$
    SELECT 'history', h.adapter, count(*) FROM diffsync.history h GROUP BY h.adapter
    UNION ALL
    SELECT 'conflicts', c.source || '/' || c.target, count(*) FROM diffsync.conflicts c GROUP BY 2
    UNION ALL
    SELECT 'syncs', s.source || '/' || s.target, count(*) FROM diffsync.syncs s GROUP BY 2
    ORDER BY 1, 2
$$;

CREATE ROLE regress_diffsync_reader;
CREATE ROLE regress_diffsync_user;
-- the schema only: no grant on any of diffsync's tables
GRANT USAGE ON SCHEMA diffsync TO regress_diffsync_reader, regress_diffsync_user;
GRANT CREATE ON SCHEMA public TO regress_diffsync_user;

--
-- records of the superuser's tables
--
CREATE TABLE regress_sec_a (id int PRIMARY KEY, secret text);
CREATE TABLE regress_sec_b (id int PRIMARY KEY, secret text);
SELECT diffsync.create_adapter('sec_a', 'regress_sec_a', '{id}');
SELECT diffsync.create_adapter('sec_b', 'regress_sec_b', '{id}');
INSERT INTO regress_sec_a VALUES (1, 'alpha'), (2, 'beta');
SELECT (diffsync.sync('sec_a', 'sec_b', 'source_to_target', 'source_wins'))->'success' AS success;
UPDATE regress_sec_b SET secret = 'BETA' WHERE id = 2;
UPDATE regress_sec_a SET secret = 'Beta' WHERE id = 2;
SELECT (diffsync.sync('sec_a', 'sec_b', 'bidirectional', 'manual'))->'summary'->'queued' AS queued;
SELECT diffsync.commit_version('sec_a', '{"id": 1}', 'audit');
SELECT * FROM pg_temp.visible() ORDER BY 1, 2;

-- a reader without SELECT on the tables sees none of it
SET ROLE regress_diffsync_reader;
SELECT * FROM pg_temp.visible() ORDER BY 1, 2;
SELECT count(*) AS versions FROM diffsync.history('sec_b', '{"id": 1}');
SELECT diffsync.state_at_version('sec_b', '{"id": 1}', 1) AS state;
SELECT count(*) AS changes FROM diffsync.changes_since(0);
SELECT count(*) AS queued FROM diffsync.conflicts;
RESET ROLE;

-- SELECT on the target: its history; conflicts and syncs need both sides
GRANT SELECT ON regress_sec_b TO regress_diffsync_reader;
SET ROLE regress_diffsync_reader;
SELECT * FROM pg_temp.visible() ORDER BY 1, 2;
SELECT version, action, state FROM diffsync.history('sec_b', '{"id": 1}') ORDER BY version;
SELECT adapter, key, version, action FROM diffsync.changes_since(0) ORDER BY commit_seq, change_id;
RESET ROLE;

-- SELECT on both: everything
GRANT SELECT ON regress_sec_a TO regress_diffsync_reader;
SET ROLE regress_diffsync_reader;
SELECT * FROM pg_temp.visible() ORDER BY 1, 2;
SELECT key, conflict->>'attribute' AS attribute, conflict->>'source_value' AS source_value,
       conflict->>'target_value' AS target_value, status
  FROM diffsync.conflicts ORDER BY key;
-- reading is all it may do
SELECT pg_temp.err($$SELECT diffsync.resolve_conflict((SELECT min(conflict_id) FROM diffsync.conflicts), 'source')$$);
SELECT pg_temp.err($$SELECT diffsync.restore('sec_b', '{"id": 1}', 1)$$);
SELECT pg_temp.err($$DELETE FROM diffsync.history_versions$$);
SELECT pg_temp.err($$DELETE FROM diffsync.history_batches$$);
RESET ROLE;
REVOKE SELECT ON regress_sec_a, regress_sec_b FROM regress_diffsync_reader;

--
-- a role with its own tables and no grant on diffsync's tables
--
SET ROLE regress_diffsync_user;
CREATE TABLE regress_own_a (id int PRIMARY KEY, v text);
CREATE TABLE regress_own_b (id int PRIMARY KEY, v text);
SELECT diffsync.create_adapter('own_a', 'regress_own_a', '{id}');
SELECT diffsync.create_adapter('own_b', 'regress_own_b', '{id}');
INSERT INTO regress_own_a VALUES (1, 'one'), (2, 'two');
-- a one-off sync records versions and its run
SELECT r->'success' AS success, r->'summary'->'target' AS target, r->'target_version'->'versions' AS versions
  FROM diffsync.sync('own_a', 'own_b', 'source_to_target', 'source_wins') r;
-- a bidirectional engine keeps its base
SELECT diffsync.create_engine('own_e', 'own_a', 'own_b');
INSERT INTO regress_own_b VALUES (3, 'three');
UPDATE regress_own_a SET v = 'ONE' WHERE id = 1;
SELECT r->'summary'->'source' AS source, r->'summary'->'target' AS target
  FROM diffsync.sync_engine('own_e') r;
-- a queued conflict, resolved
UPDATE regress_own_a SET v = 'two (a)' WHERE id = 2;
UPDATE regress_own_b SET v = 'two (b)' WHERE id = 2;
SELECT (diffsync.sync('own_a', 'own_b', 'bidirectional', 'manual'))->'summary'->'queued' AS queued;
SELECT diffsync.resolve_conflict(conflict_id, 'value', '"two (agreed)"') ->> 'value' AS resolved
  FROM diffsync.conflicts WHERE source = 'own_a' AND status = 'open';
-- explicit versions and a restore
SELECT diffsync.commit_version('own_a', '{"id": 1}', 'mine');
SELECT diffsync.restore('own_b', '{"id": 1}', 1);
-- live reconciliation
SELECT diffsync.attach('own_e');
UPDATE regress_own_a SET v = 'live' WHERE id = 3;
SELECT diffsync.detach('own_e');
SELECT 'a' AS side, * FROM regress_own_a UNION ALL SELECT 'b', * FROM regress_own_b ORDER BY 1, 2;
-- its records are visible to it, the superuser's are not
SELECT * FROM pg_temp.visible() ORDER BY 1, 2;
SELECT adapter, key, version, action, message FROM diffsync.history ORDER BY adapter, key, version;
-- diffsync's tables are not writable
SELECT pg_temp.err($$INSERT INTO diffsync.history_versions (adapter, key, version, action) VALUES ('own_a', '{"id": 9}', 1, 'create')$$);
SELECT pg_temp.err($$UPDATE diffsync.history_versions SET message = 'forged'$$);
SELECT pg_temp.err($$DELETE FROM diffsync.history_versions$$);
SELECT pg_temp.err($$INSERT INTO diffsync.history_batches (adapter, change_ids, keys, actions, states, patches, before_hashes, state_hashes) VALUES ('own_a', '{1}', '{}', '{}', '{}', '{}', '{}', '{}')$$);
SELECT pg_temp.err($$UPDATE diffsync.history_batches SET adapter = 'own_b'$$);
SELECT pg_temp.err($$DELETE FROM diffsync.history_batches$$);
SELECT pg_temp.err($$UPDATE diffsync.history SET message = 'forged'$$);
SELECT pg_temp.err($$INSERT INTO diffsync.commit_log (xid) VALUES (pg_current_xact_id())$$);
SELECT pg_temp.err($$DELETE FROM diffsync.syncs$$);
SELECT pg_temp.err($$UPDATE diffsync.conflicts SET status = 'resolved'$$);
SELECT pg_temp.err($$DELETE FROM diffsync.engine_base$$);
SELECT pg_temp.err($$SELECT diffsync.prune_history('0')$$);
RESET ROLE;

-- the reader sees nothing of the user's tables
SET ROLE regress_diffsync_reader;
SELECT * FROM pg_temp.visible() ORDER BY 1, 2;
RESET ROLE;

--
-- operators of the caller's own on its search_path are never what
-- diffsync's bookkeeping (run as the extension owner) calls: the user
-- defines = and <> for the types that SQL compares (int8 hashes, text,
-- jsonb, bool), each of which would make it superuser if run by another
-- role, puts its schema first and works through every path that writes
-- history, events and base state, live and batched
--
CREATE SCHEMA regress_evil AUTHORIZATION regress_diffsync_user;
SET ROLE regress_diffsync_user;
CREATE FUNCTION regress_evil.hijack() RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> 'regress_diffsync_user' THEN
        EXECUTE 'ALTER ROLE regress_diffsync_user SUPERUSER';
    END IF;
    RETURN true;
END
$$;
CREATE FUNCTION regress_evil.eq(int8, int8) RETURNS bool LANGUAGE sql AS 'SELECT regress_evil.hijack() AND $1 OPERATOR(pg_catalog.=) $2';
CREATE FUNCTION regress_evil.ne(int8, int8) RETURNS bool LANGUAGE sql AS 'SELECT regress_evil.hijack() AND $1 OPERATOR(pg_catalog.<>) $2';
CREATE FUNCTION regress_evil.eq(text, text) RETURNS bool LANGUAGE sql AS 'SELECT regress_evil.hijack() AND $1 OPERATOR(pg_catalog.=) $2';
CREATE FUNCTION regress_evil.eq(jsonb, jsonb) RETURNS bool LANGUAGE sql AS 'SELECT regress_evil.hijack() AND $1 OPERATOR(pg_catalog.=) $2';
CREATE FUNCTION regress_evil.eq(bool, bool) RETURNS bool LANGUAGE sql AS 'SELECT regress_evil.hijack() AND $1 OPERATOR(pg_catalog.=) $2';
CREATE OPERATOR regress_evil.= (LEFTARG = int8, RIGHTARG = int8, FUNCTION = regress_evil.eq);
CREATE OPERATOR regress_evil.<> (LEFTARG = int8, RIGHTARG = int8, FUNCTION = regress_evil.ne);
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.eq);
CREATE OPERATOR regress_evil.= (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = regress_evil.eq);
CREATE OPERATOR regress_evil.= (LEFTARG = bool, RIGHTARG = bool, FUNCTION = regress_evil.eq);
SET search_path = regress_evil, pg_catalog, public;
SELECT diffsync.create_engine('evil_e', 'own_a', 'own_b', 'source_to_target', 'last_update_wins');
SELECT diffsync.attach('evil_e');
UPDATE regress_own_a SET v = v || '!';
SELECT diffsync.commit_version('own_a', '{"id": 1}', 'evil');
SELECT (diffsync.sync('own_a', 'own_b', 'source_to_target', 'source_wins'))->'success' AS synced;
SELECT diffsync.restore('own_a', '{"id": 1}', 1) IS NOT NULL AS restored;
SELECT count(*) > 0 AS has_history FROM diffsync.history('own_a', '{"id": 1}');
SELECT count(*) > 0 AS has_changes FROM diffsync.changes_since(0);
SELECT diffsync.detach('evil_e');
SELECT diffsync.drop_engine('evil_e');
RESET search_path;
RESET ROLE;
SELECT rolsuper AS user_became_superuser FROM pg_roles WHERE rolname = 'regress_diffsync_user';
-- the superuser's own calls, with the user's schema first, are safe too
SET search_path = regress_evil, pg_catalog, public;
SELECT diffsync.materialize_history() >= 0 AS materialized;
SELECT diffsync.prune_history('100 years') >= 0 AS pruned;
RESET search_path;
SELECT rolsuper AS user_became_superuser FROM pg_roles WHERE rolname = 'regress_diffsync_user';
DROP SCHEMA regress_evil CASCADE;

DROP EXTENSION diffsync;
DROP TABLE regress_sec_a, regress_sec_b;
DROP OWNED BY regress_diffsync_reader, regress_diffsync_user;
DROP ROLE regress_diffsync_reader, regress_diffsync_user;
