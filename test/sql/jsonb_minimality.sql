--
-- jsonb_minimality: hand-picked behaviour of jsonb_diff, jsonb_changes,
-- jsonb_merge_diff and jsonb_merge3: minimal patches on large arrays,
-- pointer escaping, jsonb equality, array modes and options, deep nesting,
-- and the three-way merge conflict kinds and strategies.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;
CREATE SCHEMA regress_min;
SET search_path = regress_min, diffsync, public;

-- true when expr gives want, or fails with "statement too complex" (54001):
-- the answer for documents nested deeper than the stack allows
CREATE FUNCTION correct_or_too_deep(expr text, want jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    got jsonb;
BEGIN
    EXECUTE expr INTO got;
    RETURN CASE WHEN got IS NOT DISTINCT FROM want THEN 'ok' ELSE 'wrong answer' END;
EXCEPTION
    WHEN statement_too_complex THEN
        RETURN 'ok';
    WHEN OTHERS THEN
        RETURN 'raised ' || SQLSTATE;
END
$$;

--
-- Large arrays: one change is one operation
--
CREATE TABLE big (n int PRIMARY KEY, a jsonb);
INSERT INTO big
SELECT n, (SELECT jsonb_agg(i) FROM generate_series(1, n) i)
FROM (VALUES (10), (1000), (100000)) v(n);

-- prepend: exactly one add at /0
SELECT n, jsonb_diff(a, '["new"]' || a) AS prepend,
       jsonb_diff(a, '["new"]' || a, '{"arrays": "lcs"}') = jsonb_diff(a, '["new"]' || a) AS lcs_is_default
FROM big ORDER BY n;
-- append, delete the first, delete one in the middle, insert in the middle
SELECT n, jsonb_diff(a, a || '["new"]') AS append,
       jsonb_diff(a, a - 0) AS delete_first,
       jsonb_diff(a, a - (n / 2)) AS delete_middle,
       jsonb_diff(a, jsonb_insert(a, ARRAY[(n / 2)::text], '"new"')) AS insert_middle
FROM big ORDER BY n;
-- the patches apply
SELECT n, jsonb_patch(a, jsonb_diff(a, '["new"]' || a)) = '["new"]' || a AS prepend_applies,
       jsonb_patch(a, jsonb_diff(a, a - (n / 2))) = a - (n / 2) AS delete_applies
FROM big ORDER BY n;
-- index mode pairs by position: a prepend rewrites every element
SELECT n, jsonb_array_length(jsonb_diff(a, '["new"]' || a, '{"arrays": "index"}')) AS index_ops,
       jsonb_patch(a, jsonb_diff(a, '["new"]' || a, '{"arrays": "index"}')) = '["new"]' || a AS index_applies
FROM big WHERE n <= 1000 ORDER BY n;
SELECT jsonb_diff('[1, 2, 3]', '[0, 1, 2, 3]', '{"arrays": "index"}');
-- atomic mode: one replace of the whole array
SELECT n, jsonb_array_length(d) AS ops, d->0->>'op' AS op, d->0->>'path' AS path,
       d->0->'value' = '["new"]' || a AS value_is_target
FROM big, LATERAL (SELECT jsonb_diff(a, '["new"]' || a, '{"arrays": "atomic"}') AS d) x
ORDER BY n;
DROP TABLE big;

-- one field of one object in a 10,000-element array of objects
CREATE TABLE recs (a jsonb);
INSERT INTO recs
SELECT jsonb_agg(jsonb_build_object('id', i, 'name', 'n' || i, 'qty', i % 7) ORDER BY i)
FROM generate_series(1, 10000) i;
SELECT m.mode, jsonb_diff(a, jsonb_set(a, '{4999,qty}', '"changed"'), m.opts) AS patch
FROM recs, (VALUES (1, 'default', '{}'::jsonb), (2, 'lcs', '{"arrays": "lcs"}'),
                   (3, 'index', '{"arrays": "index"}'), (4, 'array_key', '{"array_key": "id"}')) m(ord, mode, opts)
ORDER BY m.ord;
SELECT jsonb_array_length(d) AS ops, d->0->>'op' AS op, d->0->>'path' AS path
FROM recs, LATERAL (SELECT jsonb_diff(a, jsonb_set(a, '{4999,qty}', '"changed"'),
                                      '{"arrays": "atomic"}') AS d) x;
-- prepend a record, with and without array_key
SELECT jsonb_diff(a, '[{"id": 0, "name": "first"}]' || a) AS lcs,
       jsonb_diff(a, '[{"id": 0, "name": "first"}]' || a, '{"array_key": "id"}') AS array_key
FROM recs;
DROP TABLE recs;

--
-- Type changes: one replace at the path
--
SELECT jsonb_diff('{"a": {"b": 1}}', '{"a": [1]}') AS object_to_array,
       jsonb_diff('{"a": [1]}', '{"a": {"0": 1}}') AS array_to_object,
       jsonb_diff('{"a": "1"}', '{"a": 1}') AS string_to_number,
       jsonb_diff('{"a": true}', '{"a": 1}') AS bool_to_number;
SELECT jsonb_diff('[[1, 2], {"x": 1}]', '[{"x": 1}, {"x": 1}]') AS nested_in_array;

--
-- The root: path ""
--
SELECT jsonb_diff('1', '2') AS scalar_root,
       jsonb_diff('{}', '[]') AS object_to_array,
       jsonb_diff('{"a": 1}', '"x"') AS object_to_string,
       jsonb_diff('null', '{}') AS null_to_object,
       jsonb_diff('"x"', '"x"') AS same_scalar;
SELECT op, path, path_array, old_value, new_value FROM jsonb_changes('[1]', 'null');

--
-- RFC 6901 escaping: "~" -> "~0", "/" -> "~1", the empty key
--
SELECT op, path, path_array, old_value, new_value
FROM jsonb_changes('{"a/b": 1, "m~n": 1, "~1": 1, "": 1, "/~": 1, "x": {"": {"": 1}}}',
                   '{"a/b": 2, "m~n": 2, "~1": 2, "": 2, "/~": 2, "x": {"": {"": 2}}}')
ORDER BY path;
SELECT jsonb_diff('{"ключ": {"日本語": 1}, "é": [1]}', '{"ключ": {"日本語": 2}, "é": [1, "😀"]}') AS unicode;
SELECT jsonb_patch('{"a/b": 1, "m~n": 1, "~1": 1, "": 1, "/~": 1, "x": {"": {"": 1}}}',
                   jsonb_diff('{"a/b": 1, "m~n": 1, "~1": 1, "": 1, "/~": 1, "x": {"": {"": 1}}}',
                              '{"a/b": 2, "m~n": 2, "~1": 2, "": 2, "/~": 2, "x": {"": {"": 2}}}'));

--
-- jsonb equality: 1 = 1.0, null is not absent, true is not 1
--
SELECT jsonb_diff('{"a": 1}', '{"a": 1.0}') AS one_vs_one_point_zero,
       jsonb_diff('[1, 1.50, 1e3, 0.1, -0]', '[1.000, 1.5, 1000, 0.10, 0]') AS scales,
       jsonb_diff('{"a": {"b": [1, {"c": 2.0}]}}', '{"a": {"b": [1.0, {"c": 2}]}}') AS nested_scales,
       jsonb_diff('{"a": 12345678901234567890123}', '{"a": 12345678901234567890124}') AS big_ints;
SELECT jsonb_diff('{"a": null}', '{}') AS null_to_absent,
       jsonb_diff('{}', '{"a": null}') AS absent_to_null,
       jsonb_diff('{"a": null}', '{"a": false}') AS null_to_false,
       jsonb_diff('[true]', '[1]') AS true_vs_1,
       jsonb_diff('{"a": "1"}', '{"a": 1}') AS string_vs_number;
-- SQL NULL is "absent", 'null'::jsonb is JSON null
SELECT op, path, old_value IS NULL AS old_absent, old_value, new_value IS NULL AS new_absent, new_value
FROM jsonb_changes('{"a": null, "b": 1}', '{"b": null, "c": null}')
ORDER BY path;

--
-- Arrays: lcs alignment recurses into matched pairs
--
SELECT jsonb_diff('[1, 2, 3, 4, 5]', '[1, 2, 4, 5]') AS delete_middle,
       jsonb_diff('[1, 2, 4]', '[1, 2, 3, 4]') AS insert_middle,
       jsonb_patch('[1, 2, 3]', jsonb_diff('[1, 2, 3]', '[]')) AS delete_all_applies;
SELECT jsonb_diff('[{"id": 1, "v": 1}, {"id": 2, "v": 2}]',
                  '[{"id": 1, "v": 1}, {"id": 2, "v": 3}]') AS changed_element,
       jsonb_diff('[[1, 2, 3], "x"]', '[[1, 2, 3, 4], "x"]') AS nested_array,
       jsonb_diff('["a", "b", "c"]', '["c", "b", "a"]', '{"arrays": "index"}') AS index_reverse;
SELECT jsonb_diff('{"a": [{"x": 1}, {"x": 2}]}', '{"a": [{"x": 1}, {"x": 3}]}', '{"arrays": "index"}') AS index_recurses,
       jsonb_diff('{"a": [1, 2, 3]}', '{"a": [1, 2, 4]}', '{"arrays": "atomic"}') AS atomic,
       jsonb_diff('{"a": [1, 2, 3]}', '{"a": [1.0, 2, 3]}', '{"arrays": "atomic"}') AS atomic_unchanged,
       jsonb_diff('{"a": [1, 2, 3]}', '{"a": [1, 2, 3, 4]}', '{"arrays": "atomic"}') AS atomic_append;

--
-- array_key: elements matched by key, matched elements diffed recursively
--
SELECT jsonb_diff('[{"id": 1, "v": "a"}]', '[{"id": 2, "v": "a"}]', '{"array_key": "id"}') AS key_changed,
       jsonb_diff('[{"id": 1, "v": "a"}]', '[{"id": 2, "v": "a"}]') AS key_changed_lcs;
SELECT jsonb_patch(a, jsonb_diff(a, b, '{"array_key": "id"}')) = b AS applies,
       jsonb_diff(a, b, '{"array_key": "id"}') AS patch
FROM (VALUES ('[{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]'::jsonb,
              '[{"id": 3, "v": "z"}, {"id": 1, "v": "a"}, {"id": 2, "v": "B"}]'::jsonb)) t(a, b);
SELECT jsonb_diff('{"l": [{"k1": 1, "k2": "x", "v": 1}, {"k1": 1, "k2": "y", "v": 1}]}',
                  '{"l": [{"k1": 1, "k2": "x", "v": 1}, {"k1": 1, "k2": "y", "v": 2}]}',
                  '{"array_key": ["k1", "k2"]}') AS two_keys;
-- elements that do not all carry the key: the arrays mode applies
SELECT jsonb_diff('[{"id": 1}, 5]', '[{"id": 1}, 6]', '{"array_key": "id"}') AS not_all_keyed,
       jsonb_diff('[{"id": 1}, {"x": 1}]', '[{"id": 1}, {"x": 2}]', '{"array_key": "id"}') AS key_missing;
-- array_key is an alignment: a key is never rewritten in place; combined
-- with arrays "index" or "atomic" it is an error, not silently ignored
SELECT v.options, jsonb_patch(a, d) = b AS applies,
       NOT EXISTS (SELECT 1 FROM jsonb_array_elements(d) e WHERE e->>'path' LIKE '%/id') AS keys_never_replaced
FROM (VALUES (1, '{"array_key": "id"}'::jsonb), (2, '{"array_key": "id", "arrays": "lcs"}')) v(ord, options),
     LATERAL (SELECT '[{"id": 1, "v": 1}, {"id": 2, "v": 1}]'::jsonb AS a,
                     '[{"id": 2, "v": 1}, {"id": 1, "v": 2}]'::jsonb AS b) t,
     LATERAL (SELECT jsonb_diff(t.a, t.b, v.options) AS d) x
ORDER BY v.ord;
SELECT jsonb_diff('[{"id": 1}]', '[{"id": 2}]', '{"array_key": "id", "arrays": "index"}');
SELECT jsonb_diff('[{"id": 1}]', '[{"id": 2}]', '{"array_key": "id", "arrays": "atomic"}');
-- a keyed element that moved and changed, with and without moves
SELECT jsonb_patch(a, jsonb_diff(a, b, '{"array_key": "id"}')) = b AS applies,
       jsonb_patch(a, jsonb_diff(a, b, '{"array_key": "id", "moves": true}')) = b AS applies_with_moves,
       (SELECT count(*) FROM jsonb_array_elements(jsonb_diff(a, b, '{"array_key": "id", "moves": true}')) e
        WHERE e->>'op' = 'move') AS moves
FROM (VALUES ('[{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "c"}]'::jsonb,
              '[{"id": 3, "v": "c"}, {"id": 1, "v": "a"}, {"id": 2, "v": "B"}]'::jsonb)) t(a, b);

--
-- path: diff only one subtree; paths stay absolute
--
SELECT jsonb_diff('{"a": {"b": {"x": 1}, "c": 1}, "z": 1}',
                  '{"a": {"b": {"x": 2}, "c": 2}, "z": 2}', '{"path": "/a/b"}') AS subtree,
       jsonb_diff('{"a": {"b": {"x": 1}, "c": 1}, "z": 1}',
                  '{"a": {"b": {"x": 2}, "c": 2}, "z": 2}', '{"path": ""}') AS whole;
SELECT jsonb_diff('{"a/b": {"~": [1, 2]}}', '{"a/b": {"~": [1, 2, 3]}}', '{"path": "/a~1b/~0"}') AS escaped_path,
       jsonb_diff('{"l": [{"x": 1}, {"x": 2}]}', '{"l": [{"x": 1}, {"x": 3}]}', '{"path": "/l/1"}') AS array_element,
       jsonb_diff('{"a": {"b": 1}, "z": 1}', '{"a": {"b": 1}, "z": 2}', '{"path": "/a"}') AS unchanged_subtree;

-- a location missing from the source: the patch applies, or jsonb_diff refuses
CREATE FUNCTION path_diff_sound(a jsonb, b jsonb, p text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    d jsonb;
    res jsonb;
BEGIN
    BEGIN
        d := diffsync.jsonb_diff(a, b, jsonb_build_object('path', p));
    EXCEPTION WHEN OTHERS THEN
        RETURN CASE WHEN SQLSTATE IN ('22023', '2203A', '22033') THEN 'ok' ELSE 'diff raised ' || SQLSTATE END;
    END;
    res := diffsync.jsonb_patch(a, d);
    RETURN CASE WHEN res #> regress_min.ptr_segments(p) IS NOT DISTINCT FROM b #> regress_min.ptr_segments(p)
                THEN 'ok' ELSE 'patch ' || d::text || ' gave ' || res::text END;
EXCEPTION WHEN OTHERS THEN
    RETURN 'patch ' || d::text || ' does not apply to the source: ' || SQLSTATE;
END
$$;
CREATE FUNCTION ptr_segments(p text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p = '' THEN '{}'::text[]
                ELSE (SELECT array_agg(replace(replace(s, '~1', '/'), '~0', '~') ORDER BY n)
                      FROM regexp_split_to_table(substr(p, 2), '/') WITH ORDINALITY t(s, n))
           END
$$;
SELECT label, path_diff_sound(a, b, p) AS outcome
FROM (VALUES (1, 'parent missing in source', '{}'::jsonb, '{"x": {"y": 1}}'::jsonb, '/x/y'),
             (2, 'index beyond the source array', '{"x": [1]}', '{"x": [1, 2, 3]}', '/x/2'),
             (3, 'parent a scalar in source', '{"x": 1}', '{"x": {"y": 1}}', '/x/y'),
             (4, 'parent missing in target', '{"x": {"y": 1}}', '{}', '/x/y'),
             (5, 'missing in both', '{"a": 1}', '{"a": 2}', '/x/y')) v(ord, label, a, b, p)
ORDER BY ord;

--
-- moves
--
SELECT jsonb_diff('[1, 2, 3]', '[3, 1, 2]', '{"moves": true}') AS moved,
       jsonb_diff('[1, 2, 3]', '[3, 1, 2]') AS without_moves;
SELECT op, path, path_array, old_value, new_value FROM jsonb_changes('[1, 2, 3]', '[3, 1, 2]', '{"moves": true}');
SELECT jsonb_patch('["a", "b", "c", "d", "e"]', jsonb_diff('["a", "b", "c", "d", "e"]', '["e", "d", "c", "b", "a"]', '{"moves": true}'))
       AS reversed;

--
-- test_ops: a test of the old value before every remove and replace
--
SELECT jsonb_diff('{"a": 1, "b": 2, "c": [1, 2]}', '{"a": 3, "c": [1]}', '{"test_ops": true}') AS with_tests;
SELECT op, path, path_array, old_value, new_value
FROM jsonb_changes('{"a": 1, "b": 2}', '{"a": 3}', '{"test_ops": true}');
-- the patch no longer applies to a document that changed meanwhile
SELECT jsonb_patch('{"a": 5, "b": 2, "c": [1, 2]}',
                   jsonb_diff('{"a": 1, "b": 2, "c": [1, 2]}', '{"a": 3, "c": [1]}', '{"test_ops": true}'));
SELECT jsonb_diff('{"a": 1}', '{"a": 1}', '{"test_ops": true}') AS no_change,
       jsonb_diff('{"a": 1}', '{"a": 1, "b": 2}', '{"test_ops": true}') AS add_only;

--
-- jsonb_changes: hand examples
--
SELECT op, path, path_array, old_value, new_value
FROM jsonb_changes('{"a": 1, "b": [1, 2], "c": {"d": null}, "e": "x"}',
                   '{"a": 2, "b": [1, 2, 3], "c": {}, "f": {"g": true}}')
ORDER BY path;
SELECT op, path, path_array, old_value, new_value
FROM jsonb_changes('[{"id": 1}, {"id": 2}, {"id": 3}]', '[{"id": 1}, {"id": 3}]');
SELECT count(*) AS no_rows FROM jsonb_changes('{"a": [1, {"b": 2}]}', '{"a": [1.0, {"b": 2.00}]}');
SELECT op, path, path_array, old_value, new_value FROM jsonb_changes('{"a": 1}', '{"a": 1}', '{"path": "/a"}');

--
-- Deep nesting: a correct answer or a clean "too deep" error, never a crash
--
CREATE TABLE deep (n int, arr jsonb, obj1 jsonb, obj2 jsonb);
INSERT INTO deep
SELECT n, (repeat('[', n) || repeat(']', n))::jsonb,
       (repeat('{"a": ', n) || '1' || repeat('}', n))::jsonb,
       (repeat('{"a": ', n) || '2' || repeat('}', n))::jsonb
FROM (VALUES (100), (10000)) v(n);
SELECT n,
       correct_or_too_deep(format('SELECT diffsync.jsonb_diff(%L, %L)', arr, arr), '[]') AS same_arrays,
       correct_or_too_deep(format('SELECT diffsync.jsonb_diff(%L, %L)', obj1, obj2),
                           jsonb_build_array(jsonb_build_object('op', 'replace', 'path', repeat('/a', n), 'value', 2)))
           AS innermost_change,
       correct_or_too_deep(format('SELECT diffsync.jsonb_diff(%L, %L, ''{"arrays": "index"}'')', obj1, obj2),
                           jsonb_build_array(jsonb_build_object('op', 'replace', 'path', repeat('/a', n), 'value', 2)))
           AS innermost_change_index,
       correct_or_too_deep(format('SELECT diffsync.jsonb_patch(%L, %L)', obj1,
                                  jsonb_build_array(jsonb_build_object('op', 'replace', 'path', repeat('/a', n), 'value', 2))),
                           obj2) AS patch_innermost,
       correct_or_too_deep(format('SELECT diffsync.jsonb_patch(%L, diffsync.jsonb_diff(%L, %L))', obj1, obj1, obj2), obj2)
           AS roundtrip,
       correct_or_too_deep(format('SELECT diffsync.jsonb_diff(%L, %L)', arr, '[' || arr::text || ']'),
                           jsonb_build_array(jsonb_build_object('op', 'add', 'path', repeat('/0', n), 'value', '[]'::jsonb)))
           AS wrap_array
FROM deep ORDER BY n;
SELECT n,
       correct_or_too_deep(format('SELECT diffsync.jsonb_merge_patch(%L, %L)', obj1, obj2), obj2) AS merge_patch,
       correct_or_too_deep(format('SELECT diffsync.jsonb_merge_patch(%L, diffsync.jsonb_merge_diff(%L, %L))', obj1, obj1, obj2), obj2)
           AS merge_roundtrip,
       correct_or_too_deep(format('SELECT diffsync.jsonb_merge3(%L, %L, %L)->''merged''', obj1, obj2, obj1), obj2) AS merge3,
       correct_or_too_deep(format('SELECT jsonb_agg(to_jsonb(c)) FROM diffsync.jsonb_changes(%L, %L) c', obj1, obj2),
                           jsonb_build_array(jsonb_build_object('op', 'replace', 'path', repeat('/a', n),
                                                                'path_array', (SELECT jsonb_agg('a'::text) FROM generate_series(1, n)),
                                                                'old_value', 1, 'new_value', 2)))
           AS changes
FROM deep ORDER BY n;
DROP TABLE deep;

--
-- jsonb_merge_diff (RFC 7396)
--
SELECT jsonb_merge_diff('{"a": 1, "b": 2}', '{"a": 1, "c": 3}') AS members,
       jsonb_merge_diff('{"o": {"x": 1, "y": 2}}', '{"o": {"x": 1}}') AS nested,
       jsonb_merge_diff('{"l": [1, 2]}', '{"l": [1, 2, 3]}') AS array_whole,
       jsonb_merge_diff('{"l": [1, {"a": null}]}', '{"l": [2, {"a": null}]}') AS null_in_array;
SELECT jsonb_merge_diff('{"a": 1}', '{"a": 1.0}') AS unchanged,
       jsonb_merge_diff('{"a": 1}', '[1]') AS to_array,
       jsonb_merge_diff('[1]', '{"a": 1}') AS from_array,
       jsonb_merge_diff('[1]', '[1]') AS same_array,
       jsonb_merge_diff('"x"', '"x"') AS same_scalar,
       jsonb_merge_diff('{"a": 1}', 'null') AS to_null,
       jsonb_merge_diff('{"a": null}', '{"a": null, "b": 1}') AS null_kept;
SELECT jsonb_merge_diff('{"a": 1}', '{"a": null}');
SELECT jsonb_merge_diff('{"a": 1}', '{"a": {"b": null}}');

--
-- jsonb_merge3: clean merges
--
SELECT jsonb_merge3('{"o": {"x": 1, "y": 1}, "d": 1}', '{"o": {"x": 2, "y": 1}, "d": 1}', '{"o": {"x": 1, "y": 2}}') AS both_sides,
       jsonb_merge3('{"a": 1}', '{"a": 1.0}', '{"a": 2}') AS one_equals_one_point_zero,
       jsonb_merge3('{"a": 1}', '{}', '{}') AS delete_delete,
       jsonb_merge3('{}', '{"a": 1}', '{"a": 1.0}') AS same_add;
SELECT jsonb_merge3('{"a": null}', '{}', '{"a": null}') AS delete_vs_unchanged_null,
       jsonb_merge3('{}', '{"a": null}', '{}') AS null_added;

--
-- jsonb_merge3: conflict kinds (default strategy manual: merged keeps target)
--
SELECT kind, jsonb_merge3(base, src, tgt) AS result
FROM (VALUES (1, 'modify/modify', '{"a": 1, "k": 0}'::jsonb, '{"a": 2, "k": 0}'::jsonb, '{"a": 3, "k": 0}'::jsonb),
             (2, 'add/add', '{"k": 0}', '{"a": 1, "k": 0}', '{"a": 2, "k": 0}'),
             (3, 'delete/modify', '{"a": 1, "k": 0}', '{"k": 0}', '{"a": 2, "k": 0}'),
             (4, 'modify/delete', '{"a": 1, "k": 0}', '{"a": 2, "k": 0}', '{"k": 0}'),
             (5, 'type', '{"a": 1, "k": 0}', '{"a": "x", "k": 0}', '{"a": [1], "k": 0}'),
             (6, 'root', '1', '2', '3'),
             (7, 'escaped path', '{"a/b": {"~": 1}}', '{"a/b": {"~": 2}}', '{"a/b": {"~": 3}}'),
             (8, 'null is a value', '{"a": 1}', '{"a": null}', '{"a": 2}')) v(ord, kind, base, src, tgt)
ORDER BY ord;
-- arrays: atomic by default; lcs and array_key merge edits of different elements
SELECT jsonb_merge3('{"l": [1, 2]}', '{"l": [0, 1, 2]}', '{"l": [1, 2, 3]}') AS atomic,
       jsonb_merge3('{"l": [1, 2]}', '{"l": [0, 1, 2]}', '{"l": [1, 2, 3]}', '{"arrays": "lcs"}') AS lcs;
SELECT jsonb_merge3('[1, 2, 3]', '[1, 5, 3]', '[1, 2, 4]', '{"arrays": "index"}') AS index_clean,
       jsonb_merge3('[1, 2, 3]', '[1, 5, 3]', '[1, 6, 3]', '{"arrays": "index"}') AS index_conflict;
SELECT jsonb_merge3('{"l": [{"id": 1, "v": 1}, {"id": 2, "v": 1}]}',
                    '{"l": [{"id": 1, "v": 2}, {"id": 2, "v": 1}]}',
                    '{"l": [{"id": 1, "v": 1}, {"id": 2, "v": 3}]}', '{"array_key": "id"}') AS keyed_clean;
SELECT jsonb_merge3('{"l": [{"id": 1, "v": 1}]}',
                    '{"l": [{"id": 1, "v": 2}]}',
                    '{"l": [{"id": 1, "v": 3}]}', '{"array_key": "id"}')->'merged' AS keyed_conflict_merged;

--
-- jsonb_merge3: strategies
--
SELECT strategy, jsonb_merge3('{"a": 1, "b": 1, "c": 1}', '{"a": 2, "b": 2}', '{"a": 3, "c": 3}', opts) AS result
FROM (VALUES (1, 'manual', '{}'::jsonb),
             (2, 'manual (explicit)', '{"strategy": "manual"}'),
             (3, 'source_wins', '{"strategy": "source_wins"}'),
             (4, 'target_wins', '{"strategy": "target_wins"}')) v(ord, strategy, opts)
ORDER BY ord;
SELECT label, r->'merged' AS merged, (SELECT jsonb_agg(c->>'resolution') FROM jsonb_array_elements(r->'conflicts') c) AS resolutions
FROM (VALUES (1, 'source later', '{"strategy": "last_update_wins", "source_ts": "2024-01-02 00:00:00+00", "target_ts": "2024-01-01 00:00:00+00"}'::jsonb),
             (2, 'target later', '{"strategy": "last_update_wins", "source_ts": "2024-01-01 00:00:00+00", "target_ts": "2024-01-02 00:00:00+00"}'),
             (3, 'tie', '{"strategy": "last_update_wins", "source_ts": "2024-01-01 00:00:00+00", "target_ts": "2024-01-01 00:00:00+00"}'),
             (4, 'tie, other zone', '{"strategy": "last_update_wins", "source_ts": "2024-01-01 01:00:00+01", "target_ts": "2024-01-01 00:00:00+00"}'),
             (5, 'target later by 1us', '{"strategy": "last_update_wins", "source_ts": "2024-01-01 00:00:00+00", "target_ts": "2024-01-01 00:00:00.000001+00"}')
     ) v(ord, label, opts),
     LATERAL (SELECT jsonb_merge3('{"a": 1, "b": 1}', '{"a": 2, "b": 2}', '{"a": 3, "b": 1}', opts) AS r) x
ORDER BY ord;

-- a resolver: IMMUTABLE f(jsonb) RETURNS jsonb gets the conflict object
CREATE FUNCTION resolve_sum(c jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(c->'source') = 'number' AND jsonb_typeof(c->'target') = 'number'
                THEN to_jsonb((c->>'source')::numeric + (c->>'target')::numeric)
                WHEN c->>'kind' = 'type' THEN NULL          -- member removed
                ELSE jsonb_build_object('conflict', c) END
$$;
SELECT jsonb_merge3('{"n": 1, "t": 1, "d": 1, "same": 0}',
                    '{"n": 2, "t": "x", "same": 0}',
                    '{"n": 3, "t": [1], "d": 5, "same": 0}',
                    '{"resolver": "regress_min.resolve_sum"}') AS resolved;
SELECT jsonb_merge3('1', '2', '3', '{"resolver": "regress_min.resolve_sum"}') AS root_resolved;

RESET search_path;
DROP SCHEMA regress_min CASCADE;
DROP EXTENSION diffsync;
