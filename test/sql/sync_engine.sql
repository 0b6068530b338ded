--
-- sync_engine: bidirectional engines with a base (the state both sides had
-- after the last sync): first sync, one-sided changes, conflicts,
-- deletions, delete/modify conflicts per strategy, jsonb merge, the manual
-- queue with resolve_conflict, the engines view, drop_engine.
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

-- the same documents under different column names; ts is the last update
CREATE TABLE regress_a (id int PRIMARY KEY, name text, qty int, doc jsonb, ts timestamptz);
CREATE TABLE regress_b (code int PRIMARY KEY, title text, amount int, body jsonb, ts timestamptz);
SELECT diffsync.create_adapter('a', 'regress_a', '{id}', '{name,qty,doc}', updated_at => 'ts');
SELECT diffsync.create_adapter('b', 'regress_b', '{id}', '{name,qty,doc}',
    columns => '{"id": "code", "name": "title", "qty": "amount", "doc": "body"}',
    updated_at => 'ts');

-- both tables, one line per side
CREATE FUNCTION pg_temp.state() RETURNS TABLE (side text, rows text)
LANGUAGE sql AS $$
    SELECT 'a', string_agg(format('%s=%s/%s/%s', id, name, qty, doc), ' ' ORDER BY id) FROM regress_a
    UNION ALL
    SELECT 'b', string_agg(format('%s=%s/%s/%s', code, title, amount, body), ' ' ORDER BY code) FROM regress_b
    ORDER BY 1
$$;
-- a sync result without what varies: summary and conflicts
CREATE FUNCTION pg_temp.report(r jsonb) RETURNS TABLE (summary jsonb, conflicts text)
LANGUAGE sql AS $$
    SELECT r->'summary',
           (SELECT string_agg(format('%s %s %s:%s', c->'key', c->>'kind', coalesce(c->>'attribute', 'row'), c->>'resolution'),
                              '; ' ORDER BY c->>'key', c->>'attribute')
              FROM jsonb_array_elements(r->'conflicts') c)
$$;

SELECT diffsync.create_engine('e', 'a', 'b');
SELECT name, source, target, direction, strategy, options, open_conflicts FROM diffsync.engines ORDER BY name;

-- first sync: nothing is deleted, both sides gain the rows they lack; the
-- differing row 2 is settled by last update (b is newer)
INSERT INTO regress_a VALUES
    (1, 'one', 1, '{"k": 1}', '2024-01-01'),
    (2, 'two', 2, '{"k": 2}', '2024-01-01'),
    (3, 'three', 3, '{"k": 3}', '2024-01-01');
INSERT INTO regress_b VALUES
    (2, 'TWO', 2, '{"k": 2}', '2024-01-02'),
    (4, 'four', 4, '{"k": 4}', '2024-01-01');
SELECT * FROM pg_temp.report(diffsync.sync_engine('e'));
SELECT * FROM pg_temp.state();
SELECT model, key, state FROM diffsync.engine_base WHERE engine = 'e' ORDER BY key;
-- nothing left to do
SELECT * FROM pg_temp.report(diffsync.sync_engine('e'));

-- a change on one side only propagates, whatever the timestamps: no conflict
UPDATE regress_a SET name = 'one (a)', ts = '2023-01-01' WHERE id = 1;
UPDATE regress_b SET amount = 30 WHERE code = 3;
SELECT * FROM pg_temp.report(diffsync.sync_engine('e'));
SELECT * FROM pg_temp.state();

-- different attributes of one row changed on each side: both propagate
UPDATE regress_a SET qty = 11 WHERE id = 1;
UPDATE regress_b SET title = 'one (b)' WHERE code = 1;
SELECT * FROM pg_temp.report(diffsync.sync_engine('e'));
SELECT * FROM pg_temp.state();

-- the same attribute changed on both sides: a conflict, last update wins
UPDATE regress_a SET qty = 21, ts = '2024-02-01' WHERE id = 2;
UPDATE regress_b SET amount = 22, ts = '2024-02-02' WHERE code = 2;
UPDATE regress_a SET qty = 41, ts = '2024-02-02' WHERE id = 4;
UPDATE regress_b SET amount = 42, ts = '2024-02-01' WHERE code = 4;
SELECT * FROM pg_temp.report(diffsync.sync_engine('e'));
SELECT * FROM pg_temp.state();

-- deletions propagate: 4 deleted in b, 1 deleted in a
DELETE FROM regress_b WHERE code = 4;
DELETE FROM regress_a WHERE id = 1;
SELECT * FROM pg_temp.report(diffsync.sync_engine('e'));
SELECT * FROM pg_temp.state();
SELECT key FROM diffsync.engine_base WHERE engine = 'e' ORDER BY key;

-- options given to sync_engine override the engine's: dry_run
UPDATE regress_a SET name = 'dry' WHERE id = 2;
SELECT r->'dry_run' AS dry_run, r->>'engine' AS engine, r->'summary'->'target' AS target
  FROM (SELECT diffsync.sync_engine('e', '{"dry_run": true}') r) x;
SELECT * FROM pg_temp.state();
SELECT * FROM pg_temp.report(diffsync.sync_engine('e'));
SELECT * FROM pg_temp.state();

-- the engines view and the run log
SELECT name, open_conflicts, last_sync_id IS NOT NULL AS has_last_sync FROM diffsync.engines ORDER BY name;
SELECT count(*) AS runs FROM diffsync.syncs WHERE engine = 'e';

SELECT diffsync.drop_engine('e');
SELECT count(*) AS base_rows FROM diffsync.engine_base WHERE engine = 'e';

--
-- delete/modify conflicts: row 1 synced, then deleted on one side and
-- modified on the other
--
CREATE FUNCTION regress_keep(c jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_build_object('name', 'kept by resolver', 'qty', 7, 'doc', c->'base_value'->'doc') $$;
CREATE FUNCTION regress_drop(c jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT NULL::jsonb $$;

CREATE FUNCTION pg_temp.delmod(strat text, deleted text, opts jsonb DEFAULT '{}')
RETURNS TABLE (summary jsonb, conflicts text, a text, b text)
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    DELETE FROM regress_a;
    DELETE FROM regress_b;
    PERFORM diffsync.create_engine('dm', 'a', 'b', 'bidirectional', strat, opts);
    INSERT INTO regress_a VALUES (1, 'one', 1, '{"k": 1}', '2024-01-01'), (2, 'two', 2, '{}', '2024-01-01');
    INSERT INTO regress_b VALUES (1, 'one', 1, '{"k": 1}', '2024-01-01'), (2, 'two', 2, '{}', '2024-01-01');
    PERFORM diffsync.sync_engine('dm');
    IF deleted = 'source' THEN
        DELETE FROM regress_a WHERE id = 1;
        UPDATE regress_b SET amount = 99, ts = '2024-03-01' WHERE code = 1;
    ELSE
        UPDATE regress_a SET qty = 99, ts = '2024-03-01' WHERE id = 1;
        DELETE FROM regress_b WHERE code = 1;
    END IF;
    r := diffsync.sync_engine('dm');
    SELECT * INTO summary, conflicts FROM pg_temp.report(r);
    SELECT s.rows INTO a FROM pg_temp.state() s WHERE side = 'a';
    SELECT s.rows INTO b FROM pg_temp.state() s WHERE side = 'b';
    RETURN NEXT;
    PERFORM diffsync.drop_engine('dm');
END
$$;

-- delete/modify (deleted in the source, modified in the target)
SELECT * FROM pg_temp.delmod('source_wins', 'source');
SELECT * FROM pg_temp.delmod('target_wins', 'source');
SELECT * FROM pg_temp.delmod('last_update_wins', 'source');
SELECT * FROM pg_temp.delmod('merge', 'source');
SELECT * FROM pg_temp.delmod('manual', 'source', '{"resolver": "regress_keep"}');
SELECT * FROM pg_temp.delmod('manual', 'source', '{"resolver": "regress_drop"}');
SELECT * FROM pg_temp.delmod('manual', 'source');
-- modify/delete (modified in the source, deleted in the target)
SELECT * FROM pg_temp.delmod('source_wins', 'target');
SELECT * FROM pg_temp.delmod('target_wins', 'target');
SELECT * FROM pg_temp.delmod('last_update_wins', 'target');
SELECT * FROM pg_temp.delmod('merge', 'target');
SELECT * FROM pg_temp.delmod('manual', 'target', '{"resolver": "regress_keep"}');
SELECT * FROM pg_temp.delmod('manual', 'target', '{"resolver": "regress_drop"}');
SELECT * FROM pg_temp.delmod('manual', 'target');

--
-- merge: a jsonb attribute changed in different places on both sides is
-- merged against the base; a true conflict inside goes by last update
--
DELETE FROM regress_a;
DELETE FROM regress_b;
SELECT diffsync.create_engine('mg', 'a', 'b', 'bidirectional', 'merge');
INSERT INTO regress_a VALUES
    (1, 'doc', 1, '{"title": "t", "tags": ["x"], "meta": {"owner": "ann", "rev": 1}}', '2024-01-01'),
    (2, 'doc', 2, '{"p": 1, "q": 1}', '2024-01-01');
INSERT INTO regress_b SELECT * FROM regress_a;
SELECT * FROM pg_temp.report(diffsync.sync_engine('mg'));
UPDATE regress_a SET doc = jsonb_set(doc, '{title}', '"title from a"'), ts = '2024-02-01' WHERE id = 1;
UPDATE regress_b SET body = jsonb_set(body, '{meta,owner}', '"bob"'), ts = '2024-02-02' WHERE code = 1;
-- row 2: both change p (b is newer, so b's p wins), a also changes q
UPDATE regress_a SET doc = '{"p": 2, "q": 2}', ts = '2024-02-01' WHERE id = 2;
UPDATE regress_b SET body = '{"p": 3, "q": 1}', ts = '2024-02-02' WHERE code = 2;
SELECT * FROM pg_temp.report(diffsync.sync_engine('mg'));
SELECT * FROM pg_temp.state();
SELECT key, state->'doc' AS base_doc FROM diffsync.engine_base WHERE engine = 'mg' ORDER BY key;
SELECT diffsync.drop_engine('mg');

--
-- manual: conflicts wait in diffsync.conflicts; resolve_conflict settles them
--
DELETE FROM regress_a;
DELETE FROM regress_b;
SELECT diffsync.create_engine('man', 'a', 'b', 'bidirectional', 'manual');
INSERT INTO regress_a VALUES (1, 'one', 1, '{"k": 1}', '2024-01-01'), (2, 'two', 2, '{"k": 2}', '2024-01-01'),
                             (3, 'three', 3, '{}', '2024-01-01');
INSERT INTO regress_b SELECT * FROM regress_a;
SELECT * FROM pg_temp.report(diffsync.sync_engine('man'));
UPDATE regress_a SET name = 'one (a)', doc = '{"k": 10}' WHERE id = 1;
UPDATE regress_b SET title = 'one (b)', body = '{"k": 11}' WHERE code = 1;
UPDATE regress_a SET qty = 20 WHERE id = 2;
UPDATE regress_b SET amount = 21 WHERE code = 2;
UPDATE regress_a SET name = 'three (a)' WHERE id = 3;   -- one-sided: propagates
SELECT * FROM pg_temp.report(diffsync.sync_engine('man'));
-- the keys with a queued conflict are untouched on both sides
SELECT * FROM pg_temp.state();
SELECT engine, source, target, direction, model, key, status, resolution, resolved_value,
       conflict - 'source_timestamp' - 'target_timestamp' AS conflict
  FROM diffsync.conflicts ORDER BY key, conflict->>'attribute';
SELECT name, open_conflicts FROM diffsync.engines ORDER BY name;
-- syncing again changes nothing and does not queue the same conflicts twice
SELECT r->'summary'->'source' AS source, r->'summary'->'target' AS target
  FROM (SELECT diffsync.sync_engine('man') r) x;
SELECT * FROM pg_temp.state();
SELECT key, conflict->>'attribute' AS attribute, count(*)
  FROM diffsync.conflicts WHERE status = 'open' GROUP BY 1, 2 ORDER BY 1, 2;

-- ids of the queued conflicts, by key and attribute
CREATE TEMP TABLE q AS
SELECT conflict_id AS id, key->>'id' AS k, conflict->>'attribute' AS attr
  FROM diffsync.conflicts WHERE status = 'open';
-- resolve by source, target and explicit value
SELECT r - 'conflict_id' AS result FROM q, diffsync.resolve_conflict(q.id, 'source') r WHERE k = '1' AND attr = 'name';
SELECT r - 'conflict_id' AS result FROM q, diffsync.resolve_conflict(q.id, 'target') r WHERE k = '2' AND attr = 'qty';
SELECT * FROM pg_temp.state();
SELECT key, conflict->>'attribute' AS attribute, status, resolution, resolved_value
  FROM diffsync.conflicts ORDER BY key, conflict->>'attribute';
-- the doc conflict of row 1 is still open: the next sync leaves row 1 alone
-- (resolving the name conflict did not settle the doc conflict)
SELECT r->'summary'->'source' AS source, r->'summary'->'target' AS target
  FROM (SELECT diffsync.sync_engine('man') r) x;
SELECT * FROM pg_temp.state();
SELECT r - 'conflict_id' AS result FROM q, diffsync.resolve_conflict(q.id, 'value', '{"k": 12}') r WHERE k = '1' AND attr = 'doc';
SELECT * FROM pg_temp.state();
SELECT name, open_conflicts FROM diffsync.engines ORDER BY name;
-- all settled: the next sync has nothing to do
SELECT * FROM pg_temp.report(diffsync.sync_engine('man'));

-- resolve_conflict errors (conflict ids masked)
SELECT regexp_replace(pg_temp.err(format('SELECT diffsync.resolve_conflict(%s, %L)', id, 'source')), '\d+ is', 'N is')
  FROM q WHERE k = '1' AND attr = 'name';
SELECT pg_temp.err($$SELECT diffsync.resolve_conflict(-1, 'source')$$);
SELECT pg_temp.err($$SELECT diffsync.resolve_conflict(NULL, 'source')$$);
SELECT pg_temp.err($$SELECT diffsync.resolve_conflict(id, 'mine') FROM q WHERE k = '1' AND attr = 'doc'$$);
SELECT pg_temp.err($$SELECT diffsync.resolve_conflict(id, 'value') FROM q WHERE k = '1' AND attr = 'doc'$$);
SELECT pg_temp.err($$SELECT diffsync.resolve_conflict(id, 'source', '1') FROM q WHERE k = '1' AND attr = 'doc'$$);

-- engine errors
SELECT pg_temp.err($$SELECT diffsync.create_engine('man', 'a', 'b')$$);
SELECT pg_temp.err($$SELECT diffsync.create_engine('x1', 'a', 'nosuch')$$);
SELECT pg_temp.err($$SELECT diffsync.create_engine('x2', 'a', 'b', 'sideways')$$);
SELECT pg_temp.err($$SELECT diffsync.create_engine('x3', 'a', 'b', 'bidirectional', 'coin_toss')$$);
SELECT pg_temp.err($$SELECT diffsync.create_engine('x4', 'a', 'b', 'bidirectional', 'source_wins', '{"bogus": 1}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_engine('x5', 'a', 'b', 'bidirectional', 'source_wins', '{"resolver": "regress_keep"}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync_engine('nosuch')$$);
SELECT pg_temp.err($$SELECT diffsync.sync_engine('man', '{"bogus": 1}')$$);
SELECT pg_temp.err($$SELECT diffsync.drop_engine('nosuch')$$);
-- an adapter used by an engine cannot be dropped
SELECT pg_temp.err($$SELECT diffsync.drop_adapter('a')$$);
SELECT name FROM diffsync.engines ORDER BY name;

-- drop_engine removes its base and its conflicts
SELECT diffsync.drop_engine('man');
SELECT count(*) AS base_rows FROM diffsync.engine_base;
SELECT count(*) AS conflicts FROM diffsync.conflicts;
SELECT diffsync.drop_adapter('a');

-- rows the sync's own transaction wrote before it (equal on both sides)
-- commit after the watermark that sync sets; they get base rows, so a later
-- change on one side propagates instead of looking like a change on both
-- (a false conflict, queued by manual)
CREATE TABLE regress_wm_a (id int PRIMARY KEY, v text);
CREATE TABLE regress_wm_b (id int PRIMARY KEY, v text);
INSERT INTO regress_wm_a VALUES (1, 'one');
INSERT INTO regress_wm_b VALUES (1, 'one');
SELECT diffsync.create_adapter('wm_a', 'regress_wm_a', '{id}');
SELECT diffsync.create_adapter('wm_b', 'regress_wm_b', '{id}');
SELECT diffsync.create_engine('wm', 'wm_a', 'wm_b', 'bidirectional', 'manual');
SELECT diffsync.sync_engine('wm')->'summary'->'conflicts' AS conflicts;
BEGIN;
INSERT INTO regress_wm_a VALUES (2, 'two');
INSERT INTO regress_wm_b VALUES (2, 'two');
UPDATE regress_wm_b SET v = 'one' WHERE id = 1;   -- a no-op rewrite, same transaction
SELECT diffsync.sync_engine('wm')->'summary'->'conflicts' AS conflicts;
COMMIT;
SELECT key, state FROM diffsync.engine_base WHERE engine = 'wm' ORDER BY key;
UPDATE regress_wm_a SET v = 'two, changed' WHERE id = 2;
UPDATE regress_wm_b SET v = 'one, changed' WHERE id = 1;
SELECT diffsync.sync_engine('wm')->'summary'->'conflicts' AS conflicts;
SELECT * FROM regress_wm_a JOIN regress_wm_b USING (id) ORDER BY id;
SELECT diffsync.drop_engine('wm');
SELECT diffsync.drop_adapter('wm_a');
SELECT diffsync.drop_adapter('wm_b');
DROP TABLE regress_wm_a, regress_wm_b;

DROP EXTENSION diffsync;
DROP FUNCTION regress_keep(jsonb), regress_drop(jsonb);
DROP TABLE regress_a, regress_b;
