--
-- sync_directions: diffsync.sync(), the semantics table cell by cell.
--
-- Fixture (source s, target t, both with an updated_at column ts):
--   id 1 only in source, id 3 only in target, id 2 in both with a different
--   val (same note), id 4 equal on both sides.
-- Each cell shows the summary, the conflict resolutions and the contents of
-- both tables afterwards.
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

CREATE TABLE regress_s (id int PRIMARY KEY, val text, note text, ts timestamptz);
CREATE TABLE regress_t (id int PRIMARY KEY, v text, note text, ts timestamptz);
SELECT diffsync.create_adapter('s', 'regress_s', '{id}', '{val,note}', updated_at => 'ts');
SELECT diffsync.create_adapter('t', 'regress_t', '{id}', '{val,note}',
    columns => '{"val": "v"}', updated_at => 'ts');

-- resolvers: the conflict object in, the value to keep out
CREATE FUNCTION regress_join(c jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT to_jsonb((c->>'source_value') || '+' || (c->>'target_value')) $$;
CREATE FUNCTION regress_pass(c jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT NULL::jsonb $$;

-- one cell: reset the fixture (newer = which side of id 2 was updated
-- later: 'source', 'target' or 'tie'), sync, report
CREATE FUNCTION pg_temp.cell(dir text, strat text, newer text DEFAULT 'source',
                             opts jsonb DEFAULT '{}')
RETURNS TABLE (summary jsonb, resolutions text, source text, target text)
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    DELETE FROM regress_s;
    DELETE FROM regress_t;
    DELETE FROM diffsync.conflicts;
    INSERT INTO regress_s VALUES
        (1, 's1', 'n1', '2024-01-01'),
        (2, 's2', 'n2', CASE newer WHEN 'source' THEN '2024-01-03'::timestamptz
                                   WHEN 'target' THEN '2024-01-02'
                                   ELSE '2024-01-02' END),
        (4, 'same', 'n4', '2024-01-01');
    INSERT INTO regress_t VALUES
        (2, 't2', 'n2', CASE newer WHEN 'source' THEN '2024-01-02'::timestamptz
                                   WHEN 'target' THEN '2024-01-03'
                                   ELSE '2024-01-02' END),
        (3, 't3', 'n3', '2024-01-01'),
        (4, 'same', 'n4', '2024-01-01');
    r := diffsync.sync('s', 't', dir, strat, opts);
    summary := r->'summary';
    SELECT string_agg((c->>'attribute') || ':' || (c->>'resolution'), ',' ORDER BY c->>'attribute')
      INTO resolutions FROM jsonb_array_elements(r->'conflicts') c;
    resolutions := coalesce(resolutions, '')
        || (SELECT CASE WHEN count(*) > 0 THEN ' queued:' || count(*) ELSE '' END
              FROM diffsync.conflicts WHERE status = 'open');
    SELECT string_agg(id || '=' || val || '/' || note, ' ' ORDER BY id) INTO source FROM regress_s;
    SELECT string_agg(id || '=' || v || '/' || note, ' ' ORDER BY id) INTO target FROM regress_t;
    RETURN NEXT;
END
$$;

-- the fixture before any sync
SELECT 'before' AS state, source, target FROM pg_temp.cell('source_to_target', 'source_wins', 'source', '{"dry_run": true}');

-- source_to_target: create 1 in target, delete 3 from target, id 2 settled
-- by the strategy but written to the target only
SELECT * FROM pg_temp.cell('source_to_target', 'source_wins');
SELECT * FROM pg_temp.cell('source_to_target', 'target_wins');
SELECT * FROM pg_temp.cell('source_to_target', 'last_update_wins', 'source');
SELECT * FROM pg_temp.cell('source_to_target', 'last_update_wins', 'target');
SELECT * FROM pg_temp.cell('source_to_target', 'last_update_wins', 'tie');
SELECT * FROM pg_temp.cell('source_to_target', 'merge', 'source');
SELECT * FROM pg_temp.cell('source_to_target', 'merge', 'target');
SELECT * FROM pg_temp.cell('source_to_target', 'manual', 'source', '{"resolver": "regress_join"}');
SELECT * FROM pg_temp.cell('source_to_target', 'manual', 'source', '{"resolver": "regress_pass"}');
SELECT * FROM pg_temp.cell('source_to_target', 'manual');

-- target_to_source: delete 1 from source, create 3 in source, id 2 written
-- to the source only
SELECT * FROM pg_temp.cell('target_to_source', 'source_wins');
SELECT * FROM pg_temp.cell('target_to_source', 'target_wins');
SELECT * FROM pg_temp.cell('target_to_source', 'last_update_wins', 'source');
SELECT * FROM pg_temp.cell('target_to_source', 'last_update_wins', 'target');
SELECT * FROM pg_temp.cell('target_to_source', 'last_update_wins', 'tie');
SELECT * FROM pg_temp.cell('target_to_source', 'merge', 'source');
SELECT * FROM pg_temp.cell('target_to_source', 'merge', 'target');
SELECT * FROM pg_temp.cell('target_to_source', 'manual', 'source', '{"resolver": "regress_join"}');
SELECT * FROM pg_temp.cell('target_to_source', 'manual', 'source', '{"resolver": "regress_pass"}');
SELECT * FROM pg_temp.cell('target_to_source', 'manual');

-- bidirectional: create 1 in target, create 3 in source, id 2 written to
-- whichever side lost
SELECT * FROM pg_temp.cell('bidirectional', 'source_wins');
SELECT * FROM pg_temp.cell('bidirectional', 'target_wins');
SELECT * FROM pg_temp.cell('bidirectional', 'last_update_wins', 'source');
SELECT * FROM pg_temp.cell('bidirectional', 'last_update_wins', 'target');
SELECT * FROM pg_temp.cell('bidirectional', 'last_update_wins', 'tie');
SELECT * FROM pg_temp.cell('bidirectional', 'merge', 'source');
SELECT * FROM pg_temp.cell('bidirectional', 'merge', 'target');
SELECT * FROM pg_temp.cell('bidirectional', 'manual', 'source', '{"resolver": "regress_join"}');
SELECT * FROM pg_temp.cell('bidirectional', 'manual', 'source', '{"resolver": "regress_pass"}');
SELECT * FROM pg_temp.cell('bidirectional', 'manual');

-- skip_unmatched_src / skip_unmatched_dst leave the one-sided rows alone
SELECT * FROM pg_temp.cell('source_to_target', 'source_wins', 'source', '{"skip_unmatched_src": true}');
SELECT * FROM pg_temp.cell('source_to_target', 'source_wins', 'source', '{"skip_unmatched_dst": true}');
SELECT * FROM pg_temp.cell('target_to_source', 'source_wins', 'source', '{"skip_unmatched_dst": true}');
SELECT * FROM pg_temp.cell('bidirectional', 'source_wins', 'source', '{"skip_unmatched_src": true, "skip_unmatched_dst": true}');

-- dry_run: the same summary as the real run, nothing written, no queue
SELECT * FROM pg_temp.cell('bidirectional', 'source_wins', 'source', '{"dry_run": true}');
SELECT * FROM pg_temp.cell('source_to_target', 'manual', 'source', '{"dry_run": true}');

-- the queued conflict of manual without resolver, as stored
SELECT summary->'queued' AS queued FROM pg_temp.cell('bidirectional', 'manual');
SELECT source, target, direction, model, key, status, resolution,
       conflict - 'source_timestamp' - 'target_timestamp' AS conflict
  FROM diffsync.conflicts ORDER BY key;

-- the result object: fixed fields and a conflict object
SELECT r->'success' AS success, r->'error' AS error, r->>'source' AS source,
       r->>'target' AS target, r->>'direction' AS direction,
       r->>'strategy' AS strategy, r->'dry_run' AS dry_run,
       r->'failures' AS failures, r->'conflicts_truncated' AS truncated,
       jsonb_array_length(r->'conflicts') AS nconflicts,
       r ? 'sync_id' AS has_sync_id, r ? 'started_at' AS has_started_at,
       r ? 'finished_at' AS has_finished_at
  FROM (SELECT diffsync.sync('t', 's', 'source_to_target', 'source_wins', '{"dry_run": true}') r) x;
SELECT jsonb_array_elements(diffsync.sync('s', 't', 'bidirectional', 'last_update_wins', '{"dry_run": true}')->'conflicts')
       - 'source_timestamp' - 'target_timestamp' AS conflict;
SELECT (c->>'source_timestamp')::timestamptz = '2024-01-03' AS source_time_is_updated_at,
       (c->>'target_timestamp')::timestamptz = '2024-01-02' AS target_time_is_updated_at
  FROM jsonb_array_elements(diffsync.sync('s', 't', 'bidirectional', 'last_update_wins', '{"dry_run": true}')->'conflicts') c;
-- each run is recorded in diffsync.syncs with its result
SELECT count(*) > 0 AS recorded FROM diffsync.syncs s
 WHERE s.result->>'source' = 's' AND s.result->>'direction' = 'bidirectional';

-- every differing attribute is a conflict of its own; one update per row
UPDATE regress_s SET note = 'src note' WHERE id = 2;
SELECT r->'summary' AS summary,
       (SELECT string_agg(c->>'attribute', ',' ORDER BY c->>'attribute') FROM jsonb_array_elements(r->'conflicts') c) AS attributes
  FROM (SELECT diffsync.sync('s', 't', 'source_to_target', 'source_wins') r) x;
SELECT id, v, note FROM regress_t ORDER BY id;

-- max_conflicts: the list is cut, the count is not
UPDATE regress_s SET note = 'changed again' WHERE id = 2;
UPDATE regress_s SET val = 'changed again' WHERE id = 2;
SELECT r->'summary'->'conflicts' AS conflicts, jsonb_array_length(r->'conflicts') AS listed,
       r->'conflicts_truncated' AS truncated
  FROM (SELECT diffsync.sync('s', 't', 'source_to_target', 'source_wins', '{"max_conflicts": 1}') r) x;

-- NULL time counts as oldest; two NULL times tie, and ties go to the source
DELETE FROM regress_s;
DELETE FROM regress_t;
INSERT INTO regress_s VALUES (1, 's1', 'n', NULL), (2, 's2', 'n', '2024-01-01'), (3, 's3', 'n', NULL);
INSERT INTO regress_t VALUES (1, 't1', 'n', '2024-01-01'), (2, 't2', 'n', NULL), (3, 't3', 'n', NULL);
SELECT diffsync.sync('s', 't', 'bidirectional', 'last_update_wins')->'summary' AS summary;
SELECT s.id, s.val AS source, t.v AS target FROM regress_s s JOIN regress_t t USING (id) ORDER BY id;

-- last_update_wins with commit timestamps (no updated_at column): the row
-- committed later wins.  Each statement is its own transaction: row 1 is
-- committed in the source after the target, row 2 in the target after the
-- source.
CREATE TABLE regress_cs (id int PRIMARY KEY, val text);
CREATE TABLE regress_ct (id int PRIMARY KEY, val text);
SELECT diffsync.create_adapter('cs', 'regress_cs', '{id}');
SELECT diffsync.create_adapter('ct', 'regress_ct', '{id}');
INSERT INTO regress_ct VALUES (1, 'target first');
INSERT INTO regress_cs VALUES (1, 'source later'), (2, 'source first');
INSERT INTO regress_ct VALUES (2, 'target later');
SELECT diffsync.sync('cs', 'ct', 'bidirectional', 'last_update_wins')->'summary' AS summary;
SELECT s.id, s.val AS source, t.val AS target FROM regress_cs s JOIN regress_ct t USING (id) ORDER BY id;
-- now the source changes row 2 last: it wins in the next sync
UPDATE regress_cs SET val = 'source latest' WHERE id = 2;
SELECT diffsync.sync('cs', 'ct', 'bidirectional', 'last_update_wins')->'summary' AS summary;
SELECT s.id, s.val AS source, t.val AS target FROM regress_cs s JOIN regress_ct t USING (id) ORDER BY id;

-- an adapter without time (a view without updated_at) cannot be used with
-- last_update_wins or merge: 55000; the other strategies work
CREATE VIEW regress_cv AS SELECT id, val FROM regress_ct;
SELECT diffsync.create_adapter('cv', 'regress_cv', '{id}');
SELECT pg_temp.err($$SELECT diffsync.sync('cs', 'cv', 'source_to_target', 'last_update_wins')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('cv', 'cs', 'source_to_target', 'merge')$$);
SELECT diffsync.sync('cv', 'cs', 'source_to_target', 'source_wins', '{"dry_run": true}')->'summary'->'no-change' AS no_change;

-- the default direction is source_to_target, the default strategy
-- last_update_wins
UPDATE regress_cs SET val = 'default run' WHERE id = 1;
SELECT r->>'direction' AS direction, r->>'strategy' AS strategy, r->'summary'->'target' AS target
  FROM (SELECT diffsync.sync('cs', 'ct') r) x;
SELECT id, val FROM regress_ct ORDER BY id;

-- errors
SELECT pg_temp.err($$SELECT diffsync.sync('s', 't', 'sideways')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('s', 't', 'bidirectional', 'coin_toss')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('s', 't', 'bidirectional', 'source_wins', '{"bogus": true}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('s', 't', 'bidirectional', 'source_wins', '{"resolver": "regress_join"}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('s', 't', 'bidirectional', 'last_update_wins', '{"resolver": "regress_join"}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('s', 't', 'bidirectional', 'manual', '{"resolver": "regress_nosuch"}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('s', 't', 'bidirectional', 'source_wins', '{"max_conflicts": "many"}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('s', 't', 'bidirectional', 'source_wins', '{"batch_size": 0}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('s', 'nosuch')$$);
-- failed calls queued nothing (the one conflict queued above is still open)
SELECT count(*) AS open_conflicts FROM diffsync.conflicts WHERE status = 'open';

DROP EXTENSION diffsync;
DROP VIEW regress_cv;
DROP FUNCTION regress_join(jsonb), regress_pass(jsonb);
DROP TABLE regress_s, regress_t, regress_cs, regress_ct;
