--
-- jsonb_errors: every error of the jsonb core API raises the documented
-- SQLSTATE (never XX000), and patch errors name the operation index and path.
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS diffsync;
SET LOCAL search_path = diffsync, public;

SELECT plan(115);

-- the error fields of a statement that fails, as jsonb
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    det text;
    hin text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
    RETURN jsonb_build_object('state', st, 'message', msg, 'detail', det, 'hint', hin);
END
$$;

--
-- jsonb_patch: malformed patches (22023)
--
SELECT throws_ok($$SELECT jsonb_patch('{}', '{"op": "add", "path": "/a", "value": 1}')$$,
                 '22023', NULL, 'patch that is an object');
SELECT throws_ok($$SELECT jsonb_patch('{}', '"add"')$$, '22023', NULL, 'patch that is a string');
SELECT throws_ok($$SELECT jsonb_patch('{}', 'null')$$, '22023', NULL, 'patch that is JSON null');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[1]')$$, '22023', NULL, 'operation that is a number');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[[{"op": "add", "path": "/a", "value": 1}]]')$$,
                 '22023', NULL, 'operation that is an array');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[{"path": "/a", "value": 1}]')$$, '22023', NULL, 'missing "op"');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[{"op": 1, "path": "/a", "value": 1}]')$$, '22023', NULL, '"op" not a string');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[{"op": "spam", "path": "/a", "value": 1}]')$$, '22023', NULL, 'unknown op');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[{"op": "ADD", "path": "/a", "value": 1}]')$$, '22023', NULL, 'op names are case sensitive');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[{"op": "add", "value": 1}]')$$, '22023', NULL, 'missing "path"');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[{"op": "add", "path": null, "value": 1}]')$$, '22023', NULL, '"path": null');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[{"op": "add", "path": ["a"], "value": 1}]')$$, '22023', NULL, '"path" an array');
SELECT throws_ok($$SELECT jsonb_patch('{}', '[{"op": "add", "path": "/a"}]')$$, '22023', NULL, 'add without "value"');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "replace", "path": "/a"}]')$$, '22023', NULL, 'replace without "value"');
SELECT throws_ok($$SELECT jsonb_patch('{"a": null}', '[{"op": "test", "path": "/a"}]')$$, '22023', NULL, 'test without "value" (null member)');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "move", "path": "/b"}]')$$, '22023', NULL, 'move without "from"');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "copy", "path": "/b"}]')$$, '22023', NULL, 'copy without "from"');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "copy", "from": 5, "path": "/b"}]')$$, '22023', NULL, '"from" not a string');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "move", "from": null, "path": "/b"}]')$$, '22023', NULL, '"from": null');
SELECT throws_ok($$SELECT jsonb_patch('{"a": {"b": 1}}', '[{"op": "move", "from": "/a", "path": "/a/b/c"}]')$$,
                 '22023', NULL, 'move into its own child');
SELECT throws_ok($$SELECT jsonb_patch('{"a": {"b": 1}}', '[{"op": "move", "from": "/a", "path": "/a/x"}]')$$,
                 '22023', NULL, 'move into its own new member');
SELECT throws_ok($$SELECT jsonb_patch('{"a": {"b": 1}}', '[{"op": "move", "from": "", "path": "/x"}]')$$,
                 '22023', NULL, 'move of the root into a child');
SELECT lives_ok($$SELECT jsonb_patch('{"a": {"b": 1}, "ab": 1}', '[{"op": "move", "from": "/a", "path": "/ab"}]')$$,
                'move to a sibling whose name starts with the source name is not a move into a child');

--
-- jsonb_patch: malformed JSON pointers (22P02)
--
SELECT throws_ok($$SELECT jsonb_patch('{"a": {"b": 1}}', '[{"op": "remove", "path": "a/b"}]')$$, '22P02', NULL, 'pointer without leading "/"');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "remove", "path": "/a~2"}]')$$, '22P02', NULL, 'pointer with "~2"');
SELECT throws_ok($$SELECT jsonb_patch('{"a~": 1}', '[{"op": "remove", "path": "/a~"}]')$$, '22P02', NULL, 'pointer ending in "~"');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "copy", "from": "a", "path": "/b"}]')$$, '22P02', NULL, '"from" without leading "/"');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "move", "from": "/~", "path": "/b"}]')$$, '22P02', NULL, '"from" with a lone "~"');

--
-- jsonb_patch: missing locations (2203A)
--
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "remove", "path": "/x"}]')$$, '2203A', NULL, 'remove of a missing member');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "replace", "path": "/x", "value": 1}]')$$, '2203A', NULL, 'replace of a missing member');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "test", "path": "/x", "value": null}]')$$, '2203A', NULL, 'test of a missing member against null');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "add", "path": "/x/y", "value": 1}]')$$, '2203A', NULL, 'add below a missing member');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "add", "path": "/a/b", "value": 1}]')$$, '2203A', NULL, 'add below a scalar');
SELECT throws_ok($$SELECT jsonb_patch('{"a": "s"}', '[{"op": "remove", "path": "/a/0"}]')$$, '2203A', NULL, 'remove below a string');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "move", "from": "/x", "path": "/b"}]')$$, '2203A', NULL, 'move from a missing member');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "copy", "from": "/x", "path": "/b"}]')$$, '2203A', NULL, 'copy from a missing member');
SELECT throws_ok($$SELECT jsonb_patch('{"a": {}}', '[{"op": "remove", "path": "/A"}]')$$, '2203A', NULL, 'member names are case sensitive');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "remove", "path": "/"}]')$$, '2203A', NULL, 'remove of a missing empty-named member');

--
-- jsonb_patch: bad array indexes (22033)
--
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "replace", "path": "/01", "value": 0}]')$$, '22033', NULL, 'index "01"');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "test", "path": "/00", "value": 1}]')$$, '22033', NULL, 'index "00"');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "add", "path": "/-1", "value": 0}]')$$, '22033', NULL, 'index "-1"');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "remove", "path": "/+1"}]')$$, '22033', NULL, 'index "+1"');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "remove", "path": "/1e0"}]')$$, '22033', NULL, 'index "1e0"');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "remove", "path": "/ 1"}]')$$, '22033', NULL, 'index " 1"');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "remove", "path": "/"}]')$$, '22033', NULL, 'empty index');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "add", "path": "/x", "value": 0}]')$$, '22033', NULL, 'member name on an array');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "remove", "path": "/99999999999999999999"}]')$$, '22033', NULL, 'index overflow');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "remove", "path": "/2"}]')$$, '22033', NULL, 'remove at index = length');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "replace", "path": "/2", "value": 0}]')$$, '22033', NULL, 'replace at index = length');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "test", "path": "/2", "value": 0}]')$$, '22033', NULL, 'test at index = length');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "add", "path": "/3", "value": 0}]')$$, '22033', NULL, 'add at index > length');
SELECT throws_ok($$SELECT jsonb_patch('[]', '[{"op": "remove", "path": "/0"}]')$$, '22033', NULL, 'remove from an empty array');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "remove", "path": "/-"}]')$$, '22033', NULL, '"-" for remove');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "replace", "path": "/-", "value": 0}]')$$, '22033', NULL, '"-" for replace');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "test", "path": "/-", "value": 2}]')$$, '22033', NULL, '"-" for test');
SELECT throws_ok($$SELECT jsonb_patch('[1, 2]', '[{"op": "copy", "from": "/-", "path": "/0"}]')$$, '22033', NULL, '"-" as "from"');
SELECT throws_ok($$SELECT jsonb_patch('{"a": [[1]]}', '[{"op": "add", "path": "/a/-/0", "value": 0}]')$$, '22033', NULL, '"-" in the middle of a path');
SELECT lives_ok($$SELECT jsonb_patch('{"0": 1, "01": 2}', '[{"op": "remove", "path": "/01"}]')$$,
                '"01" is a plain member name on an object');

--
-- jsonb_patch: test failures (DS001)
--
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "test", "path": "/a", "value": 2}]')$$, 'DS001', NULL, 'test of a different number');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "test", "path": "/a", "value": "1"}]')$$, 'DS001', NULL, 'test of "1" against 1');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "test", "path": "/a", "value": true}]')$$, 'DS001', NULL, 'test of true against 1');
SELECT throws_ok($$SELECT jsonb_patch('{"a": null}', '[{"op": "test", "path": "/a", "value": false}]')$$, 'DS001', NULL, 'test of false against null');
SELECT throws_ok($$SELECT jsonb_patch('{"a": [1, 2]}', '[{"op": "test", "path": "/a", "value": [2, 1]}]')$$, 'DS001', NULL, 'test of an array in another order');
SELECT throws_ok($$SELECT jsonb_patch('{"a": {"b": 1}}', '[{"op": "test", "path": "", "value": {"a": {"b": 1, "c": 1}}}]')$$, 'DS001', NULL, 'test of the root');
SELECT lives_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "test", "path": "/a", "value": 1.0}]')$$, 'test of 1.0 against 1 passes');

--
-- jsonb_patch: messages name the operation index (0-based) and the path
--
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1, "b": {}}',
                   '[{"op": "replace", "path": "/a", "value": 2}, {"op": "add", "path": "/b/y", "value": 1},
                     {"op": "remove", "path": "/b/x"}]')$$,
                 '2203A', 'JSON Patch operation 2 (remove) failed at path "/b/x"', 'message of a missing member');
SELECT throws_ok($$SELECT jsonb_patch('{"a": 1}', '[{"op": "test", "path": "/a", "value": 1}, {"op": "test", "path": "/a", "value": 2}]')$$,
                 'DS001', 'JSON Patch operation 1 (test) failed at path "/a"', 'message of a failed test');
SELECT throws_like($$SELECT jsonb_patch('{"l": [1, 2]}', '[{"op": "add", "path": "/l/0", "value": 0}, {"op": "remove", "path": "/l/3"}]')$$,
                   '%operation 1%"/l/3"%', 'message of an index out of range');
SELECT throws_like($$SELECT jsonb_patch('{"l": [1, 2]}', '[{"op": "test", "path": "/l", "value": [1, 2]}, {"op": "remove", "path": "/l/01"}]')$$,
                   '%operation 1%"/l/01"%', 'message of a bad index');
SELECT throws_like($$SELECT jsonb_patch('{"a~b": 1}', '[{"op": "test", "path": "/a~0b", "value": 1}, {"op": "move", "from": "/a~0b", "path": "/a~0b/c"}]')$$,
                   '%operation 1%"/a~0b/c"%', 'message of a move into a child');
SELECT throws_like($$SELECT jsonb_patch('{}', '[{"op": "add", "path": "/a", "value": 1}, {"op": "remove", "path": "a"}]')$$,
                   '%operation 1%"a"%', 'message of a malformed pointer names the operation');
SELECT throws_like($$SELECT jsonb_patch('{}', '[{"op": "add", "path": "/a", "value": 1}, {"op": "remove"}]')$$,
                   '%operation 1%', 'message of a missing "path"');
SELECT throws_like($$SELECT jsonb_patch('{}', '[{"op": "add", "path": "/a", "value": 1}, {"op": "frobnicate", "path": "/a"}]')$$,
                   '%operation 1%frobnicate%', 'message of an unknown op');
SELECT is(pg_temp.error_of($$SELECT diffsync.jsonb_patch('{"a": 1}', '[{"op": "remove", "path": "/x"}]')$$)->>'detail' IS NOT NULL,
          true, 'a failed operation has a detail');

--
-- jsonb_merge_diff: null inside an object cannot be expressed (22023, with a hint)
--
SELECT throws_ok($$SELECT jsonb_merge_diff('{"a": 1}', '{"a": null}')$$, '22023', NULL, 'merge_diff to a null member');
SELECT throws_ok($$SELECT jsonb_merge_diff('{"a": 1}', '{"a": {"b": null}}')$$, '22023', NULL, 'merge_diff to a nested null member');
SELECT throws_ok($$SELECT jsonb_merge_diff('[1]', '{"a": null}')$$, '22023', NULL, 'merge_diff from a non-object to a null member');
SELECT throws_ok($$SELECT jsonb_merge_diff('{}', '{"a": {"b": {"c": null}}}')$$, '22023', NULL, 'merge_diff adding an object with a null member');
SELECT is(pg_temp.error_of($$SELECT diffsync.jsonb_merge_diff('{"a": 1}', '{"a": {"b": null}}')$$)->>'hint' IS NOT NULL,
          true, 'the merge_diff error has a hint');
SELECT ok(pg_temp.error_of($$SELECT diffsync.jsonb_merge_diff('{"a": 1}', '{"a": {"b": null}}')$$)::text LIKE '%/a/b%',
          'the merge_diff error names the path of the null');

--
-- jsonb_diff options (22023)
--
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"bogus": 1}')$$, '22023', NULL, 'jsonb_diff: unknown option');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"Arrays": "lcs"}')$$, '22023', NULL, 'jsonb_diff: option names are case sensitive');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '[]')$$, '22023', NULL, 'jsonb_diff: options not an object');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"arrays": "fast"}')$$, '22023', NULL, 'jsonb_diff: arrays unknown');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"arrays": 1}')$$, '22023', NULL, 'jsonb_diff: arrays not a string');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"moves": "yes"}')$$, '22023', NULL, 'jsonb_diff: moves not a boolean');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"test_ops": 1}')$$, '22023', NULL, 'jsonb_diff: test_ops not a boolean');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"path": 1}')$$, '22023', NULL, 'jsonb_diff: path not a string');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"path": "a/b"}')$$, '22023', NULL, 'jsonb_diff: path not a JSON pointer');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"array_key": 1}')$$, '22023', NULL, 'jsonb_diff: array_key a number');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"array_key": []}')$$, '22023', NULL, 'jsonb_diff: array_key empty');
SELECT throws_ok($$SELECT jsonb_diff('{}', '{}', '{"array_key": ["id", 2]}')$$, '22023', NULL, 'jsonb_diff: array_key with a non-string');
SELECT throws_like($$SELECT jsonb_diff('{}', '{}', '{"bogus": 1}')$$, '%bogus%', 'jsonb_diff: the message names the unknown option');

--
-- jsonb_changes options (22023)
--
SELECT throws_ok($$SELECT * FROM jsonb_changes('{}', '{}', '{"bogus": 1}')$$, '22023', NULL, 'jsonb_changes: unknown option');
SELECT throws_ok($$SELECT * FROM jsonb_changes('{}', '{}', '{"arrays": "fast"}')$$, '22023', NULL, 'jsonb_changes: arrays unknown');
SELECT throws_ok($$SELECT * FROM jsonb_changes('{}', '{}', '{"test_ops": "true"}')$$, '22023', NULL, 'jsonb_changes: test_ops not a boolean');
SELECT throws_ok($$SELECT * FROM jsonb_changes('{}', '{}', '"lcs"')$$, '22023', NULL, 'jsonb_changes: options not an object');

--
-- jsonb_merge3 options (22023)
--
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"bogus": 1}')$$, '22023', NULL, 'jsonb_merge3: unknown option');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"moves": true}')$$, '22023', NULL, 'jsonb_merge3: jsonb_diff-only option');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '[]')$$, '22023', NULL, 'jsonb_merge3: options not an object');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"strategy": "ours"}')$$, '22023', NULL, 'jsonb_merge3: unknown strategy');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"strategy": 1}')$$, '22023', NULL, 'jsonb_merge3: strategy not a string');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"arrays": "fast"}')$$, '22023', NULL, 'jsonb_merge3: arrays unknown');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"array_key": {}}')$$, '22023', NULL, 'jsonb_merge3: array_key an object');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"strategy": "last_update_wins"}')$$,
                 '22023', NULL, 'jsonb_merge3: last_update_wins without timestamps');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"strategy": "last_update_wins", "source_ts": "2024-01-01 00:00:00+00"}')$$,
                 '22023', NULL, 'jsonb_merge3: last_update_wins without target_ts');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"strategy": "last_update_wins", "source_ts": "yesterday-ish", "target_ts": "2024-01-01 00:00:00+00"}')$$,
                 '22023', NULL, 'jsonb_merge3: source_ts not a timestamp');
SELECT throws_ok($$SELECT jsonb_merge3('{}', '{}', '{}', '{"strategy": "last_update_wins", "source_ts": 1, "target_ts": 2}')$$,
                 '22023', NULL, 'jsonb_merge3: timestamps not strings');

--
-- jsonb_merge3 resolver: must exist, take jsonb, return jsonb, be IMMUTABLE
--
CREATE FUNCTION pg_temp.resolver_volatile(c jsonb) RETURNS jsonb LANGUAGE sql VOLATILE AS $$ SELECT c->'target' $$;
CREATE FUNCTION pg_temp.resolver_stable(c jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT c->'target' $$;
CREATE FUNCTION pg_temp.resolver_text_arg(c text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT c::jsonb $$;
CREATE FUNCTION pg_temp.resolver_text_result(c jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT c::text $$;
CREATE FUNCTION pg_temp.resolver_ok(c jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT c->'source' $$;

SELECT throws_ok($$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "regress_no_such_resolver"}')$$,
                 '42883', NULL, 'resolver that does not exist');
SELECT throws_ok($$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "pg_temp.resolver_text_arg"}')$$,
                 '42883', NULL, 'resolver that takes text');
SELECT throws_ok($$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "pg_temp.resolver_text_result"}')$$,
                 '42804', NULL, 'resolver that returns text');
SELECT throws_ok($$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "pg_temp.resolver_volatile"}')$$,
                 '22023', NULL, 'VOLATILE resolver');
SELECT throws_ok($$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "pg_temp.resolver_stable"}')$$,
                 '22023', NULL, 'STABLE resolver');
SELECT throws_ok($$SELECT jsonb_merge3('1', '2', '3', '{"resolver": 5}')$$,
                 '22023', NULL, 'resolver not a string');
SELECT is(jsonb_merge3('1', '2', '3', '{"resolver": "pg_temp.resolver_ok"}'),
          '{"merged": 2, "conflicts": [{"base": 1, "kind": "modify/modify", "path": "", "source": 2, "target": 3, "resolution": "custom"}]}',
          'an IMMUTABLE resolver decides the conflict');

SELECT * FROM finish();
ROLLBACK;
