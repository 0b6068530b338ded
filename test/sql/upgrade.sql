--
-- upgrade: install the previous version (0.1), put adapters, an engine,
-- history and a queued conflict in it, ALTER EXTENSION diffsync UPDATE, and
-- check that everything is still there and behaves the same, that the new
-- version's objects exist, and that the upgraded extension has the same
-- members as a fresh install.
--
SET client_min_messages = warning;
CREATE EXTENSION diffsync VERSION '0.1';
SELECT extversion FROM pg_extension WHERE extname = 'diffsync';
SELECT to_regprocedure('diffsync.diff_buckets(text, text, jsonb)') IS NULL AS no_diff_buckets_yet;

CREATE TABLE regress_up_l (id int PRIMARY KEY, name text, qty int);
CREATE TABLE regress_up_r (code int PRIMARY KEY, title text, amount int);
INSERT INTO regress_up_l SELECT g, 'n' || g, g FROM generate_series(1, 50) g;
SELECT diffsync.create_adapter('up_l', 'regress_up_l', '{id}');
SELECT diffsync.create_adapter('up_r', 'regress_up_r', '{id}', '{name,qty}',
    columns => '{"id": "code", "name": "title", "qty": "amount"}');
SELECT diffsync.create_engine('up_eng', 'up_l', 'up_r', 'bidirectional', 'manual');
SELECT diffsync.sync_engine('up_eng')->'summary'->'target' AS first_sync;
UPDATE regress_up_l SET name = 'left' WHERE id = 1;
UPDATE regress_up_r SET title = 'right' WHERE code = 1;
UPDATE regress_up_l SET qty = 200 WHERE id = 2;
SELECT diffsync.sync_engine('up_eng')->'summary'->'queued' AS queued;
-- live history needs 0.3's tables: until the update, a clear error
CREATE TABLE regress_up_a (id int PRIMARY KEY, v text);
CREATE TABLE regress_up_b (id int PRIMARY KEY, v text);
SELECT diffsync.create_adapter('up_a', 'regress_up_a', '{id}');
SELECT diffsync.create_adapter('up_b', 'regress_up_b', '{id}');
SELECT diffsync.create_engine('up_live', 'up_a', 'up_b', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.attach('up_live');
\set VERBOSITY sqlstate
INSERT INTO regress_up_a VALUES (1, 'one');
\set VERBOSITY default
SELECT count(*) AS nothing_written FROM regress_up_a;

CREATE TEMP TABLE before_update AS
SELECT (SELECT count(*) FROM diffsync.adapters) AS adapters,
       (SELECT count(*) FROM diffsync.engines) AS engines,
       (SELECT count(*) FROM diffsync.history) AS versions,
       (SELECT count(*) FROM diffsync.conflicts WHERE status = 'open') AS open_conflicts,
       (SELECT count(*) FROM diffsync.syncs) AS syncs;

ALTER EXTENSION diffsync UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'diffsync';

-- everything kept
SELECT (SELECT count(*) FROM diffsync.adapters) AS adapters,
       (SELECT count(*) FROM diffsync.engines) AS engines,
       (SELECT count(*) FROM diffsync.history) AS versions,
       (SELECT count(*) FROM diffsync.conflicts WHERE status = 'open') AS open_conflicts,
       (SELECT count(*) FROM diffsync.syncs) AS syncs
EXCEPT
SELECT * FROM before_update;

-- and working: the queued conflict resolves, the engine syncs, history reads
SELECT diffsync.resolve_conflict(conflict_id, 'target') - 'conflict_id' AS resolved
  FROM diffsync.conflicts WHERE engine = 'up_eng' AND status = 'open';
SELECT name, qty FROM regress_up_l WHERE id = 1;
UPDATE regress_up_r SET amount = 300 WHERE code = 3;
SELECT diffsync.sync_engine('up_eng')->'summary'->'source' AS after_update_sync;
SELECT qty FROM regress_up_l WHERE id = 3;
SELECT count(*) AS versions_of_key_1
  FROM diffsync.history('up_l', '{"id": 1}');
SELECT diffsync.diff_summary('up_l', 'up_r');

-- the new tables and their sequence are dumped with the data
SELECT c::regclass AS dumped FROM pg_extension, unnest(extconfig) c
 WHERE extname = 'diffsync' AND c::regclass::text LIKE 'diffsync.history%' ORDER BY 1;
-- live history works after the update, batched, and is materialized
INSERT INTO regress_up_a VALUES (1, 'one'), (2, 'two');
SELECT * FROM regress_up_b ORDER BY id;
SELECT adapter, key, version, action FROM diffsync.history WHERE adapter IN ('up_a', 'up_b') ORDER BY adapter, key;
SELECT count(*) AS batches FROM diffsync.history_batches;
SELECT diffsync.materialize_history() AS materialized;
SELECT diffsync.drop_engine('up_live');

-- the new versions' functions
UPDATE regress_up_r SET title = 'drift' WHERE code IN (10, 20);
SELECT count(*) AS differing_buckets, sum(source_rows) = sum(target_rows) AS same_counts
  FROM diffsync.diff_buckets('up_l', 'up_r', '{"buckets": 1024}');
SELECT key, action FROM diffsync.diff('up_l', 'up_r', '{"buckets": 8}') ORDER BY key;

-- the upgraded extension has the members of a fresh install
CREATE TEMP TABLE upgraded_members AS
SELECT pg_describe_object(classid, objid, objsubid) AS member
  FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'diffsync');
SELECT diffsync.drop_engine('up_eng');
DROP EXTENSION diffsync;
CREATE EXTENSION diffsync;
SELECT count(*) AS members_differing FROM (
    (SELECT member FROM upgraded_members
     EXCEPT
     SELECT pg_describe_object(classid, objid, objsubid)
       FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
        AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'diffsync'))
    UNION ALL
    (SELECT pg_describe_object(classid, objid, objsubid)
       FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
        AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'diffsync')
     EXCEPT
     SELECT member FROM upgraded_members)) d;

DROP EXTENSION diffsync;
DROP TABLE regress_up_l, regress_up_r;
