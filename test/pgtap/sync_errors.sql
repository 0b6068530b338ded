--
-- sync_errors: every error of the adapter / diff / sync / engine API raises
-- its documented SQLSTATE; privileges are the caller's (42501); a sync that
-- fails on one row (without continue_on_failure) leaves both tables as
-- they were.
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS diffsync;
SET LOCAL search_path = public;
SET LOCAL client_min_messages = warning;

SELECT plan(71);

CREATE TABLE regress_src (id int PRIMARY KEY, val text, n int, doc jsonb, ts timestamptz);
CREATE TABLE regress_dst (id int PRIMARY KEY, val text, n int, doc jsonb, ts timestamptz,
                          CHECK (val <> 'forbidden'));
CREATE TABLE regress_other (code int PRIMARY KEY, val text);
CREATE TABLE regress_typed (id int PRIMARY KEY, val text, n text);
CREATE TABLE regress_raw (id int, val text);
CREATE VIEW regress_raw_v AS SELECT id, val FROM regress_raw;
CREATE VIEW regress_src_v AS SELECT id, val FROM regress_src;
CREATE TABLE regress_parent (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE regress_child (id int PRIMARY KEY, a int, b int);
INSERT INTO regress_src VALUES (1, 'one', 1, '{}', '2024-01-01'), (2, 'two', 2, '{}', '2024-01-01'),
                               (3, 'three', 3, '{}', '2024-01-01');
INSERT INTO regress_dst VALUES (2, 'TWO', 2, '{}', '2024-01-02'), (4, 'four', 4, '{}', '2024-01-01');

SELECT diffsync.create_adapter('src', 'regress_src', '{id}', '{val,n,doc}', updated_at => 'ts');
SELECT diffsync.create_adapter('dst', 'regress_dst', '{id}', '{val,n,doc}', updated_at => 'ts');
SELECT diffsync.create_adapter('other', 'regress_other', '{code}');
SELECT diffsync.create_adapter('typed', 'regress_typed', '{id}');
SELECT diffsync.create_adapter('raw', 'regress_raw_v', '{id}');
SELECT diffsync.create_adapter('srcview', 'regress_src_v', '{id}');
SELECT diffsync.create_adapter('parent', 'regress_parent', '{a,b}');
CREATE FUNCTION regress_resolver(c jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT c->'source_value' $$;

--
-- adapters
--
SELECT throws_ok($$SELECT diffsync.create_adapter('src', 'regress_src', '{id}')$$,
                 '42710', 'adapter "src" already exists', 'duplicate adapter: 42710');
SELECT throws_ok($$SELECT diffsync.create_adapter('x1', 'regress_src', '{id}', '{nosuch}')$$,
                 '42703', NULL, 'unknown attribute column: 42703');
SELECT throws_ok($$SELECT diffsync.create_adapter('x2', 'regress_src', '{nosuch}')$$,
                 '42703', NULL, 'unknown identifier column: 42703');
SELECT throws_ok($$SELECT diffsync.create_adapter('x3', 'regress_src', '{id}', '{v}', '{"v": "nosuch"}')$$,
                 '42703', NULL, 'field renamed to an unknown column: 42703');
SELECT throws_ok($$SELECT diffsync.create_adapter('x4', 'regress_src', '{id}', columns => '{"v": "nosuch"}')$$,
                 '42703', NULL, 'unused field renamed to an unknown column: 42703');
SELECT throws_ok($$SELECT diffsync.create_adapter('x5', 'regress_src', '{id}', '{v}', '{"v": {"column": "val", "bogus": 1}}')$$,
                 '22023', NULL, 'unknown key in a columns entry: 22023');
SELECT throws_ok($$SELECT diffsync.create_adapter('x6', 'regress_src', '{id}', columns => '[]')$$,
                 '22023', NULL, 'columns not an object: 22023');
SELECT throws_ok($$SELECT diffsync.create_adapter('x7', 'regress_src', '{id}', '{val,val}')$$,
                 '42701', NULL, 'duplicate field: 42701');
SELECT throws_ok($$SELECT diffsync.create_adapter('x8', 'regress_src', '{id}', '{id}')$$,
                 '42701', NULL, 'field both identifier and attribute: 42701');
SELECT throws_ok($$SELECT diffsync.create_adapter('x9', 'regress_src', '{id}', filter => 'true; DROP TABLE regress_src')$$,
                 '42601', NULL, 'filter with a second statement: 42601');
SELECT throws_ok($$SELECT diffsync.create_adapter('x10', 'regress_src', '{id}', filter => 'nosuch > 1')$$,
                 '42703', NULL, 'filter over an unknown column: 42703');
SELECT throws_ok($$SELECT diffsync.create_adapter('x11', 'regress_src', '{id}', updated_at => 'nosuch')$$,
                 '42703', NULL, 'unknown updated_at column: 42703');
SELECT throws_ok($$SELECT diffsync.create_adapter(NULL, 'regress_src', '{id}')$$,
                 '22004', NULL, 'NULL name: 22004');
SELECT throws_ok($$SELECT diffsync.create_adapter('x12', NULL, '{id}')$$,
                 '22004', NULL, 'NULL relation: 22004');
SELECT throws_ok($$SELECT diffsync.create_adapter('x13', 'regress_src', NULL)$$,
                 '22004', NULL, 'NULL identifiers: 22004');
SELECT throws_ok($$SELECT diffsync.create_adapter('x14', 'regress_child', '{id}', parent => 'nosuch', parent_key => '{"a": "a"}')$$,
                 '42704', NULL, 'unknown parent adapter: 42704');
SELECT throws_ok($$SELECT diffsync.create_adapter('x15', 'regress_child', '{id}', parent => 'parent')$$,
                 '22023', NULL, 'parent without parent_key: 22023');
SELECT throws_ok($$SELECT diffsync.create_adapter('x16', 'regress_child', '{id}', parent => 'parent', parent_key => '{"a": "a"}')$$,
                 '22023', 'parent_key of adapter "x16" must map every identifier of parent adapter "parent"',
                 'parent_key missing a parent identifier: 22023');
SELECT throws_ok($$SELECT * FROM diffsync.load('nosuch')$$,
                 '42704', 'adapter "nosuch" does not exist', 'load of an unknown adapter: 42704');
SELECT throws_ok($$SELECT diffsync.drop_adapter('nosuch')$$,
                 '42704', NULL, 'drop of an unknown adapter: 42704');
SELECT is((SELECT count(*) FROM diffsync.adapter WHERE name LIKE 'x%'), 0::bigint,
          'no failing create_adapter registered anything');
-- a child adapter; its parent cannot be dropped
SELECT lives_ok($$SELECT diffsync.create_adapter('child', 'regress_child', '{id}', parent => 'parent', parent_key => '{"a": "a", "b": "b"}')$$,
                'a child adapter can be created');
SELECT throws_ok($$SELECT diffsync.drop_adapter('parent')$$,
                 '2BP01', NULL, 'drop of an adapter with children: 2BP01');

--
-- diff
--
SELECT throws_ok($$SELECT * FROM diffsync.diff('src', 'other')$$,
                 '22023', NULL, 'different identifier names: 22023');
SELECT throws_ok($$SELECT * FROM diffsync.diff('src', 'dst', '{"attributes": ["nosuch"]}')$$,
                 '42703', NULL, 'attributes option naming an unknown attribute: 42703');
SELECT throws_ok($$SELECT * FROM diffsync.diff('src', 'typed')$$,
                 '42804', NULL, 'attribute types differ: 42804');
SELECT throws_ok($$SELECT * FROM diffsync.diff('src', 'dst', '{"bogus": true}')$$,
                 '22023', NULL, 'unknown diff option: 22023');
SELECT throws_ok($$SELECT diffsync.diff_summary('src', 'dst', '{"bogus": true}')$$,
                 '22023', NULL, 'unknown diff_summary option: 22023');
SELECT throws_ok($$SELECT diffsync.diff_text('nosuch', 'dst')$$,
                 '42704', NULL, 'diff_text of an unknown adapter: 42704');
SELECT throws_ok($$SELECT * FROM diffsync.diff('src', 'dst', '{"path": "/val/x"}')$$,
                 '42804', NULL, 'path into a non-jsonb attribute: 42804');
INSERT INTO regress_raw VALUES (1, 'one'), (NULL, 'nobody');
SELECT throws_ok($$SELECT * FROM diffsync.diff('raw', 'src')$$,
                 '22004', NULL, 'NULL identifier: 22004');
DELETE FROM regress_raw WHERE id IS NULL;
INSERT INTO regress_raw VALUES (1, 'uno');
SELECT throws_ok($$SELECT * FROM diffsync.diff('src', 'raw')$$,
                 '23505', NULL, 'duplicate identifiers: 23505');
SELECT throws_ok($$SELECT diffsync.sync('raw', 'src', 'source_to_target', 'source_wins')$$,
                 '23505', NULL, 'duplicate identifiers in a sync: 23505');

--
-- sync
--
SELECT throws_ok($$SELECT diffsync.sync('src', 'dst', 'sideways')$$,
                 '22023', NULL, 'unknown direction: 22023');
SELECT throws_ok($$SELECT diffsync.sync('src', 'dst', 'bidirectional', 'coin_toss')$$,
                 '22023', NULL, 'unknown strategy: 22023');
SELECT throws_ok($$SELECT diffsync.sync('src', 'dst', 'bidirectional', 'source_wins', '{"bogus": 1}')$$,
                 '22023', NULL, 'unknown sync option: 22023');
SELECT throws_ok($$SELECT diffsync.sync('src', 'dst', 'bidirectional', 'source_wins', '{"resolver": "regress_resolver"}')$$,
                 '22023', NULL, 'resolver with source_wins: 22023');
SELECT throws_ok($$SELECT diffsync.sync('src', 'dst', 'bidirectional', 'merge', '{"resolver": "regress_resolver"}')$$,
                 '22023', NULL, 'resolver with merge: 22023');
SELECT throws_ok($$SELECT diffsync.sync('src', 'dst', 'bidirectional', 'source_wins', '{"max_conflicts": "lots"}')$$,
                 '22023', NULL, 'max_conflicts not a number: 22023');
SELECT throws_ok($$SELECT diffsync.sync('srcview', 'dst', 'source_to_target', 'last_update_wins')$$,
                 '55000', NULL, 'last_update_wins with an adapter without time: 55000');
SELECT throws_ok($$SELECT diffsync.sync('dst', 'srcview', 'source_to_target', 'merge')$$,
                 '55000', NULL, 'merge with an adapter without time: 55000');
SELECT throws_ok($$SELECT diffsync.sync('src', 'nosuch')$$,
                 '42704', NULL, 'sync with an unknown adapter: 42704');
SELECT is((SELECT count(*) FROM diffsync.syncs), 0::bigint, 'failed syncs are not recorded');

--
-- engines and the conflict queue
--
SELECT diffsync.create_engine('eng', 'src', 'dst', 'bidirectional', 'manual');
SELECT throws_ok($$SELECT diffsync.create_engine('eng', 'src', 'dst')$$,
                 '42710', NULL, 'duplicate engine: 42710');
SELECT throws_ok($$SELECT diffsync.create_engine('e2', 'src', 'dst', 'sideways')$$,
                 '22023', NULL, 'engine with an unknown direction: 22023');
SELECT throws_ok($$SELECT diffsync.create_engine('e2', 'src', 'nosuch')$$,
                 '42704', NULL, 'engine over an unknown adapter: 42704');
SELECT throws_ok($$SELECT diffsync.sync_engine('nosuch')$$,
                 '42704', NULL, 'sync of an unknown engine: 42704');
SELECT throws_ok($$SELECT diffsync.sync_engine('eng', '{"bogus": 1}')$$,
                 '22023', NULL, 'sync_engine with an unknown option: 22023');
SELECT throws_ok($$SELECT diffsync.drop_engine('nosuch')$$,
                 '42704', NULL, 'drop of an unknown engine: 42704');
SELECT throws_ok($$SELECT diffsync.drop_adapter('src')$$,
                 '2BP01', NULL, 'drop of an adapter an engine uses: 2BP01');
-- queue one conflict: row 2 differs on both sides at the first sync
SELECT is(diffsync.sync_engine('eng')->'summary'->'queued', '1'::jsonb, 'one conflict queued');
SELECT throws_ok($$SELECT diffsync.resolve_conflict(-1, 'source')$$,
                 '42704', NULL, 'unknown conflict: 42704');
SELECT throws_ok($$SELECT diffsync.resolve_conflict((SELECT max(conflict_id) FROM diffsync.conflicts), 'mine')$$,
                 '22023', NULL, 'unknown resolution: 22023');
SELECT throws_ok($$SELECT diffsync.resolve_conflict((SELECT max(conflict_id) FROM diffsync.conflicts), 'value')$$,
                 '22023', NULL, 'resolution value without a value: 22023');
SELECT is(diffsync.resolve_conflict((SELECT max(conflict_id) FROM diffsync.conflicts), 'source')->'value',
          '"two"'::jsonb, 'the conflict is resolved with the source value');
SELECT throws_ok($$SELECT diffsync.resolve_conflict((SELECT max(conflict_id) FROM diffsync.conflicts), 'target')$$,
                 '55000', NULL, 'already resolved conflict: 55000');
SELECT diffsync.drop_engine('eng');

--
-- privileges: diffsync runs with the caller's privileges
--
CREATE ROLE regress_diffsync_user;
GRANT USAGE ON SCHEMA diffsync TO regress_diffsync_user;
CREATE TABLE regress_secret (id int PRIMARY KEY, val text);
CREATE TABLE regress_readonly (id int PRIMARY KEY, val text);
CREATE TABLE regress_mine (id int PRIMARY KEY, val text, n int, doc jsonb);
GRANT SELECT ON regress_src, regress_readonly TO regress_diffsync_user;
GRANT ALL ON regress_mine TO regress_diffsync_user;
-- no grant on diffsync's own tables: diffsync keeps its records itself
SELECT diffsync.create_adapter('secret', 'regress_secret', '{id}');
SELECT diffsync.create_adapter('readonly', 'regress_readonly', '{id}');
SELECT diffsync.create_adapter('mine', 'regress_mine', '{id}');
SET LOCAL ROLE regress_diffsync_user;
SELECT throws_ok($$SELECT diffsync.create_adapter('mine', 'regress_secret', '{id}')$$,
                 '42501', 'permission denied for relation public.regress_secret of adapter "mine"',
                 'create_adapter over a table without SELECT: 42501');
SELECT throws_ok($$SELECT * FROM diffsync.load('secret')$$,
                 '42501', NULL, 'load through an adapter over a table without SELECT: 42501');
SELECT throws_ok($$SELECT * FROM diffsync.diff('src', 'secret')$$,
                 '42501', NULL, 'diff with an adapter over a table without SELECT: 42501');
SELECT throws_ok($$SELECT diffsync.sync('secret', 'src', 'source_to_target', 'source_wins')$$,
                 '42501', NULL, 'sync from an adapter over a table without SELECT: 42501');
SELECT throws_ok($$SELECT diffsync.sync('src', 'readonly', 'source_to_target', 'source_wins')$$,
                 '42501', NULL, 'sync into a table without INSERT: 42501');
SELECT lives_ok($$SELECT diffsync.sync('src', 'mine', 'source_to_target', 'source_wins')$$,
                'with privileges on its own tables, the same role syncs');
RESET ROLE;
SELECT is((SELECT count(*) FROM regress_mine), (SELECT count(*) FROM regress_src), 'the role''s sync wrote its table');
SELECT is((SELECT count(*) FROM regress_readonly), 0::bigint, 'nothing was written into the read-only table');

--
-- atomicity: one failing row rolls the whole sync back
--
CREATE TABLE regress_asrc (id int PRIMARY KEY, val text, ts timestamptz);
CREATE TABLE regress_adst (id int PRIMARY KEY, val text CHECK (val <> 'forbidden'), ts timestamptz);
INSERT INTO regress_asrc VALUES (1, 'one', '2024-01-01'), (2, 'two', '2024-01-02'), (3, 'forbidden', '2024-01-01');
INSERT INTO regress_adst VALUES (2, 'TWO', '2024-01-03'), (4, 'four', '2024-01-01');
SELECT diffsync.create_adapter('asrc', 'regress_asrc', '{id}', '{val}', updated_at => 'ts');
SELECT diffsync.create_adapter('adst', 'regress_adst', '{id}', '{val}', updated_at => 'ts');
CREATE TEMP TABLE before_src AS SELECT * FROM regress_asrc;
CREATE TEMP TABLE before_dst AS SELECT * FROM regress_adst;
-- bidirectional: the source gains row 4 and row 2's newer value, the
-- target row 1, and then the target rejects row 3
SELECT throws_ok($$SELECT diffsync.sync('asrc', 'adst', 'bidirectional', 'last_update_wins')$$,
                 '23514', NULL, 'a sync failing on one row raises its error');
SELECT results_eq('SELECT * FROM regress_asrc ORDER BY id', 'SELECT * FROM before_src ORDER BY id',
                  'the source is unchanged after the failed sync');
SELECT results_eq('SELECT * FROM regress_adst ORDER BY id', 'SELECT * FROM before_dst ORDER BY id',
                  'the target is unchanged after the failed sync');
SELECT is((SELECT count(*) FROM diffsync.syncs WHERE result->>'source' = 'asrc'),
          0::bigint, 'the failed sync is not recorded');
-- with continue_on_failure the other rows are applied, the failure reported
SELECT is((SELECT jsonb_build_object('success', r->'success', 'error', r->'error', 'failures', r->'failures')
             FROM diffsync.sync('asrc', 'adst', 'bidirectional', 'last_update_wins', '{"continue_on_failure": true}') r),
          '{"success": false, "error": "new row for relation \"regress_adst\" violates check constraint \"regress_adst_val_check\"",
            "failures": [{"action": "create", "row": {"id": 3, "val": "forbidden"}, "error": "new row for relation \"regress_adst\" violates check constraint \"regress_adst_val_check\"", "sqlstate": "23514"}]}'::jsonb,
          'continue_on_failure reports the failing row');
SELECT results_eq('SELECT id, val FROM regress_adst ORDER BY id',
                  $$VALUES (1, 'one'), (2, 'TWO'), (4, 'four')$$,
                  'the other rows reached the target');
SELECT results_eq('SELECT id, val FROM regress_asrc ORDER BY id',
                  $$VALUES (1, 'one'), (2, 'TWO'), (3, 'forbidden'), (4, 'four')$$,
                  'the source gained row 4 and the newer value of row 2');

SELECT * FROM finish();
ROLLBACK;
