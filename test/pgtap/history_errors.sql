--
-- history_errors: every error of the history API (commit_version, restore,
-- changes_since, prune_history) and of attach / detach raises its
-- documented SQLSTATE; NULL arguments; restore writes with the caller's
-- privileges.
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS diffsync;
SET LOCAL search_path = public;
SET LOCAL client_min_messages = warning;

SELECT plan(41);

CREATE TABLE regress_hsrc (id int PRIMARY KEY, v text);
CREATE TABLE regress_hdst (id int PRIMARY KEY, v text);
CREATE VIEW regress_hdst_v AS SELECT id, v FROM regress_hdst;
INSERT INTO regress_hsrc VALUES (1, 'one'), (2, 'two');
SELECT diffsync.create_adapter('hsrc', 'regress_hsrc', '{id}');
SELECT diffsync.create_adapter('hdst', 'regress_hdst', '{id}');
SELECT diffsync.create_adapter('hview', 'regress_hdst_v', '{id}');
DO $$ BEGIN PERFORM diffsync.sync('hsrc', 'hdst', 'source_to_target', 'source_wins'); END $$;
SELECT diffsync.create_engine('h_oneway', 'hsrc', 'hdst', 'source_to_target', 'source_wins');
SELECT diffsync.create_engine('h_view_target', 'hsrc', 'hview', 'source_to_target', 'source_wins');
SELECT diffsync.create_engine('h_view_source', 'hview', 'hsrc', 'source_to_target', 'source_wins');
SELECT diffsync.create_engine('h_view_both', 'hsrc', 'hview', 'bidirectional', 'source_wins');
SELECT diffsync.create_engine('h_view_back', 'hsrc', 'hview', 'target_to_source', 'source_wins');

--
-- commit_version
--
SELECT is(diffsync.commit_version('hdst', '{"id": 1}', 'first'), 2::int8, 'commit_version: the next version of the key');
SELECT throws_ok($$SELECT diffsync.commit_version('hdst', '{"id": 99}')$$,
                 'P0002', NULL, 'commit_version of a key without a row: P0002');
SELECT throws_ok($$SELECT diffsync.commit_version('nosuch', '{"id": 1}')$$,
                 '42704', 'adapter "nosuch" does not exist', 'commit_version of an unknown adapter: 42704');
SELECT throws_ok($$SELECT diffsync.commit_version('hdst', '[1]')$$,
                 '22023', NULL, 'commit_version with a key that is not an object: 22023');
SELECT throws_ok($$SELECT diffsync.commit_version(NULL, '{"id": 1}')$$,
                 '22004', NULL, 'commit_version with a NULL adapter: 22004');
SELECT throws_ok($$SELECT diffsync.commit_version('hdst', NULL)$$,
                 '22004', NULL, 'commit_version with a NULL key: 22004');
SELECT is(diffsync.commit_version('hdst', '{"id": 1}', NULL), 3::int8, 'commit_version: a NULL message is fine');

--
-- restore
--
SELECT throws_ok($$SELECT diffsync.restore('hdst', '{"id": 1}', 99)$$,
                 'P0002', NULL, 'restore of an unknown version: P0002');
SELECT throws_ok($$SELECT diffsync.restore('hdst', '{"id": 1}', 0)$$,
                 'P0002', NULL, 'restore of version 0: P0002');
SELECT throws_ok($$SELECT diffsync.restore('hdst', '{"id": 99}', 1)$$,
                 'P0002', NULL, 'restore of a key without history: P0002');
SELECT throws_ok($$SELECT diffsync.restore('hsrc', '{"id": 1}', 1)$$,
                 'P0002', NULL, 'restore on an adapter that recorded nothing for the key: P0002');
SELECT throws_ok($$SELECT diffsync.restore('nosuch', '{"id": 1}', 1)$$,
                 '42704', 'adapter "nosuch" does not exist', 'restore on an unknown adapter: 42704');
SELECT throws_ok($$SELECT diffsync.restore('hdst', '"x"', 1)$$,
                 '22023', NULL, 'restore with a key that is not an object: 22023');
SELECT is(diffsync.restore(NULL, '{"id": 1}', 1), NULL, 'restore is strict: NULL adapter');
SELECT is(diffsync.restore('hdst', '{"id": 1}', NULL), NULL, 'restore is strict: NULL version');
SELECT is((SELECT count(*) FROM diffsync.history WHERE adapter = 'hdst' AND key = '{"id": 1}'), 3::int8,
          'failed and NULL restores recorded nothing');
-- restore writes with the caller's privileges
CREATE ROLE regress_diffsync_ro;
GRANT USAGE ON SCHEMA diffsync TO regress_diffsync_ro;
GRANT SELECT ON regress_hdst TO regress_diffsync_ro;
SET LOCAL ROLE regress_diffsync_ro;
SELECT throws_ok($$SELECT diffsync.restore('hdst', '{"id": 1}', 1)$$,
                 '42501', NULL, 'restore without write privilege on the relation: 42501');
SELECT throws_ok($$SELECT diffsync.prune_history('1 day')$$,
                 '42501', NULL, 'prune_history by a role that cannot write diffsync.history: 42501');
RESET ROLE;

--
-- changes_since
--
SELECT throws_ok($$SELECT * FROM diffsync.changes_since(999999)$$,
                 '55000', 'change 999999 is not in the history', 'changes_since of an unknown change: 55000');
SELECT is((SELECT count(*) FROM diffsync.changes_since(0)), 0::int8,
          'changes_since(0): nothing committed yet in this transaction');

--
-- prune_history
--
SELECT throws_ok($$SELECT diffsync.prune_history('-1 day')$$,
                 '22023', NULL, 'prune_history with a negative interval: 22023');
SELECT throws_ok($$SELECT diffsync.prune_history('1 day ago')$$,
                 '22023', NULL, 'prune_history with a negative interval written "ago": 22023');
SELECT throws_ok($$SELECT diffsync.prune_history(NULL)$$,
                 '22023', NULL, 'prune_history with a NULL interval: 22023');
SELECT is(diffsync.prune_history('0'), 0::int8, 'prune_history(0): nothing is older than now');

--
-- attach / detach
--
SELECT throws_ok($$SELECT diffsync.detach('h_oneway')$$,
                 '42704', 'engine "h_oneway" is not attached', 'detach when not attached: 42704');
SELECT throws_ok($$SELECT diffsync.attach('nosuch')$$,
                 '42704', 'engine "nosuch" does not exist', 'attach of an unknown engine: 42704');
SELECT throws_ok($$SELECT diffsync.detach('nosuch')$$,
                 '42704', 'engine "nosuch" does not exist', 'detach of an unknown engine: 42704');
SELECT ok(diffsync.attach(NULL) IS NULL, 'attach is strict');
SELECT ok(diffsync.detach(NULL) IS NULL, 'detach is strict');
SELECT diffsync.attach('h_oneway');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'regress_hsrc'::regclass AND tgname LIKE 'diffsync%'), 5::int8,
          'attach: five statement triggers on the watched side (insert, update, delete, before and after truncate)');
SELECT throws_ok($$SELECT diffsync.attach('h_oneway')$$,
                 '42710', NULL, 'attach twice: 42710');
SELECT throws_ok($$SELECT diffsync.attach('h_view_source')$$,
                 '0A000', NULL, 'attach with a view as the watched source: 0A000');
SELECT throws_ok($$SELECT diffsync.attach('h_view_both')$$,
                 '0A000', NULL, 'attach of a bidirectional engine with a view side: 0A000');
SELECT throws_ok($$SELECT diffsync.attach('h_view_back')$$,
                 '0A000', NULL, 'attach of target_to_source with a view as the watched target: 0A000');
SELECT diffsync.attach('h_view_target');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'regress_hsrc'::regclass AND tgname LIKE 'diffsync%'), 10::int8,
          'a view that is only written (not watched) is fine: five more triggers on the source');
SELECT diffsync.detach('h_view_target');
SELECT diffsync.detach('h_oneway');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'regress_hsrc'::regclass AND tgname LIKE 'diffsync%'), 0::int8,
          'detach removes the triggers');
-- the trigger function is only for attach
SELECT throws_ok($$SELECT diffsync.live_reconcile()$$,
                 '39P01', NULL, 'live_reconcile called directly: 39P01');
CREATE TRIGGER regress_misuse AFTER INSERT ON regress_hdst FOR EACH ROW EXECUTE FUNCTION diffsync.live_reconcile('h_oneway');
SELECT throws_ok($$INSERT INTO regress_hdst VALUES (50, 'x')$$,
                 '39P01', NULL, 'live_reconcile as a row trigger: 39P01');

-- materialize_history
SELECT throws_ok($$SELECT diffsync.materialize_history('nosuch')$$,
                 '42704', NULL, 'materialize_history of an unknown adapter: 42704');
SELECT is(diffsync.materialize_history('hdst'), 0::bigint, 'materialize_history with no batch: 0');
SELECT is(diffsync.materialize_history(NULL), 0::bigint, 'materialize_history of all, no batch: 0');

SELECT * FROM finish();
ROLLBACK;
