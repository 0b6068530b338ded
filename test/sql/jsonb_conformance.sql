--
-- jsonb_conformance: the public JSON Patch (RFC 6902) and JSON Merge Patch
-- (RFC 7396) conformance suites, read at run time from the directory named
-- by the environment variable DIFFSYNC_CONFORMANCE (shared/conformance; see
-- its README.txt for the origin of every file).
--
-- Every check prints a summary row per file; a second query lists each
-- failing case (file, 1-based position in the file, comment, reason), so the
-- expected output stays small and a regression names the case that broke.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;
CREATE SCHEMA regress_conf;
SET search_path = regress_conf, diffsync, public;

\getenv confdir DIFFSYNC_CONFORMANCE
\if :{?confdir}
\else
\set confdir ../shared/conformance
\endif
\set tests_json `cat :'confdir'/tests.json`
\set spec_json `cat :'confdir'/spec_tests.json`
\set revert_json `cat :'confdir'/revert_tests.json`
\set rfc7396_json `cat :'confdir'/rfc7396-test-cases.json`
\set rfc7396_spec_json `cat :'confdir'/rfc7396/spec_tests.json`
\set merge_json `cat :'confdir'/merge_tests.json`

CREATE TABLE suite (file text PRIMARY KEY, body jsonb NOT NULL);
INSERT INTO suite VALUES
    ('tests.json', :'tests_json'::jsonb),
    ('spec_tests.json', :'spec_json'::jsonb),
    ('revert_tests.json', :'revert_json'::jsonb),
    ('rfc7396-test-cases.json', :'rfc7396_json'::jsonb),
    ('rfc7396/spec_tests.json', :'rfc7396_spec_json'::jsonb),
    ('merge_tests.json', :'merge_json'::jsonb);
\unset tests_json
\unset spec_json
\unset revert_json
\unset rfc7396_json
\unset rfc7396_spec_json
\unset merge_json

-- the files are the ones README.txt describes
SELECT file, jsonb_array_length(body) AS records FROM suite ORDER BY file;

-- SQLSTATEs the contract documents for jsonb_patch failures
CREATE TABLE documented_state (state text PRIMARY KEY);
INSERT INTO documented_state VALUES
    ('22023'), ('22P02'), ('2203A'), ('22033'), ('DS001'), ('54001');

-- Apply a patch; return the result, or the SQLSTATE of the error it raised.
CREATE FUNCTION try_patch(doc jsonb, patch jsonb,
                          OUT result jsonb, OUT state text)
LANGUAGE plpgsql AS $$
BEGIN
    result := diffsync.jsonb_patch(doc, patch);
EXCEPTION WHEN OTHERS THEN
    state := SQLSTATE;
END
$$;

-- Same for jsonb_merge_diff followed by jsonb_merge_patch.
CREATE FUNCTION try_merge_roundtrip(doc jsonb, target jsonb,
                                    OUT result jsonb, OUT state text)
LANGUAGE plpgsql AS $$
BEGIN
    result := diffsync.jsonb_merge_patch(doc, diffsync.jsonb_merge_diff(doc, target));
EXCEPTION WHEN OTHERS THEN
    state := SQLSTATE;
END
$$;

-- true when v holds an object member whose value is JSON null, at any depth
-- (also inside arrays: deliberately conservative)
CREATE FUNCTION has_null_member(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    WITH RECURSIVE walk(v) AS (
        SELECT v
        UNION ALL
        SELECT c.v
        FROM walk w
        CROSS JOIN LATERAL (
            SELECT e.value FROM jsonb_each(CASE WHEN jsonb_typeof(w.v) = 'object' THEN w.v END) e
            UNION ALL
            SELECT e.value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.v) = 'array' THEN w.v END) e
        ) c(v)
    )
    SELECT EXISTS (SELECT 1
                   FROM walk w,
                        jsonb_each(CASE WHEN jsonb_typeof(w.v) = 'object' THEN w.v END) e
                   WHERE e.value = 'null'::jsonb)
$$;

--
-- RFC 6902: tests.json, spec_tests.json, revert_tests.json
--
CREATE TABLE p_case AS
SELECT s.file, r.ord, r.rec->>'comment' AS comment,
       r.rec->'doc' AS doc, r.rec->'patch' AS patch,
       r.rec ? 'expected' AS has_expected, r.rec->'expected' AS expected,
       r.rec ? 'error' AS has_error,
       coalesce((r.rec->>'disabled')::boolean, false) AS disabled
FROM suite s, jsonb_array_elements(s.body) WITH ORDINALITY r(rec, ord)
WHERE s.file IN ('tests.json', 'spec_tests.json', 'revert_tests.json');

-- The SQLSTATE the contract prescribes for every enabled error case.
CREATE TABLE p_want_state (file text, ord bigint, state text, PRIMARY KEY (file, ord));
INSERT INTO p_want_state VALUES
    ('tests.json', 19, '22033'),        -- add /bar/8: index out of range
    ('tests.json', 20, '22033'),        -- add /bar/-1: negative index
    ('tests.json', 29, '22033'),        -- add /3 to a 2-element array
    ('tests.json', 31, '22033'),        -- test /1e0 on an array
    ('tests.json', 32, '22033'),        -- add /bar on an array
    ('tests.json', 45, '2203A'),        -- replace /foo/bar, /foo missing
    ('tests.json', 56, 'DS001'),        -- test op fails
    ('tests.json', 67, '22033'),        -- remove /baz/1e0/qux
    ('tests.json', 70, '22033'),        -- remove /1e0
    ('tests.json', 71, '22033'),        -- replace /1e0
    ('tests.json', 72, '22033'),        -- copy from /baz/1e0
    ('tests.json', 73, '22033'),        -- move from /baz/1e0
    ('tests.json', 74, '22033'),        -- add /1e0
    ('tests.json', 75, '22023'),        -- missing "path"
    ('tests.json', 76, '22023'),        -- "path": null
    ('tests.json', 77, '22P02'),        -- "path": "foo"
    ('tests.json', 78, '22023'),        -- add without "value"
    ('tests.json', 79, '22023'),        -- replace without "value"
    ('tests.json', 80, '22023'),        -- test without "value"
    ('tests.json', 81, '22023'),        -- test without "value"
    ('tests.json', 82, '22023'),        -- copy without "from"
    ('tests.json', 83, '2203A'),        -- copy from /bar, missing
    ('tests.json', 84, '22023'),        -- move without "from"
    ('tests.json', 85, '2203A'),        -- move from /bar, missing
    ('tests.json', 87, '22023'),        -- op "spam"
    ('tests.json', 88, '22033'),        -- index "00"
    ('tests.json', 89, '22033'),        -- index "01"
    ('tests.json', 90, '2203A'),        -- remove /baz, missing
    ('tests.json', 91, '2203A'),        -- remove /missing1/missing2
    ('tests.json', 92, '22033'),        -- remove /2 of a 2-element array
    ('spec_tests.json', 1, '2203A'),    -- 4.1 add /a/b, /a missing
    ('spec_tests.json', 10, 'DS001'),   -- A.9 test fails
    ('spec_tests.json', 13, '2203A'),   -- A.12 add /baz/bat, /baz missing
    ('spec_tests.json', 16, 'DS001'),   -- A.15 test "10" against 10
    ('revert_tests.json', 1, '2203A'),  -- second op goes through a scalar
    ('revert_tests.json', 2, '22033'),  -- second op: index "bar"
    ('revert_tests.json', 3, '22033'),
    ('revert_tests.json', 4, '2203A'),  -- /foo was removed by the first op
    ('revert_tests.json', 5, '22033'),
    ('revert_tests.json', 6, '2203A'),
    ('revert_tests.json', 7, '22033'),
    ('revert_tests.json', 8, '2203A'),  -- /foo is now {"def": ...}
    ('revert_tests.json', 9, '22033'),
    ('revert_tests.json', 10, '22033'),
    ('revert_tests.json', 11, '2203A'),
    ('revert_tests.json', 12, '22033'),
    ('revert_tests.json', 13, '22033');

CREATE TABLE p_result AS
SELECT c.file, c.ord, c.comment, c.disabled, c.has_expected, c.has_error,
       t.result, t.state, w.state AS want_state,
       CASE
           WHEN c.has_expected AND t.state IS NOT NULL
               THEN 'raised ' || t.state || ', expected ' || c.expected::text
           WHEN c.has_expected AND t.result IS DISTINCT FROM c.expected
               THEN 'got ' || t.result::text || ', expected ' || c.expected::text
           WHEN c.has_error AND t.state IS NULL
               THEN 'no error, got ' || t.result::text
           WHEN c.has_error AND t.state NOT IN (SELECT state FROM documented_state)
               THEN 'undocumented SQLSTATE ' || t.state
           WHEN c.has_error AND t.state IS DISTINCT FROM w.state
               THEN 'SQLSTATE ' || t.state || ', expected ' || coalesce(w.state, '?')
           WHEN NOT c.has_expected AND NOT c.has_error AND t.state IS NOT NULL
               THEN 'raised ' || t.state
       END AS failure
FROM p_case c
CROSS JOIN LATERAL try_patch(c.doc, c.patch) t
LEFT JOIN p_want_state w ON w.file = c.file AND w.ord = c.ord;

-- every enabled record: 62 + 30 in tests.json, 12 + 4 in spec_tests.json,
-- 13 error cases in revert_tests.json
SELECT file,
       count(*) FILTER (WHERE NOT disabled) AS enabled,
       count(*) FILTER (WHERE NOT disabled AND has_expected) AS with_expected,
       count(*) FILTER (WHERE NOT disabled AND has_error) AS with_error,
       count(*) FILTER (WHERE disabled) AS skipped,
       count(*) FILTER (WHERE NOT disabled AND failure IS NULL) AS passed,
       count(*) FILTER (WHERE NOT disabled AND failure IS NOT NULL) AS failed
FROM p_result
GROUP BY file
ORDER BY file;

-- error cases by SQLSTATE (never XX000)
SELECT file, state, count(*)
FROM p_result
WHERE NOT disabled AND has_error
GROUP BY file, state
ORDER BY file, state;

-- failing enabled cases (none)
SELECT file, ord, comment, failure
FROM p_result
WHERE NOT disabled AND failure IS NOT NULL
ORDER BY file, ord;

-- The disabled records that jsonb can express: a scalar root document, and
-- the record with neither "expected" nor "error" (must apply without error).
-- The two "duplicate op" records cannot be expressed once the text is jsonb.
SELECT file, ord, comment, has_expected, has_error, coalesce(failure, 'ok') AS outcome
FROM p_result
WHERE disabled AND comment IN ('Toplevel scalar values OK?', 'Whole document')
ORDER BY file, ord;

--
-- RFC 7396: rfc7396-test-cases.json ({source, given, cases: [{patch, result}]}),
-- rfc7396/spec_tests.json ({doc, patch, result}) and merge_tests.json
-- ({comment, doc, patch, expected, merge}).
--
CREATE TABLE m_case AS
SELECT s.file, (g.ord * 100 + c.ord) AS ord, g.rec->>'source' AS comment,
       g.rec->'given' AS doc, c.rec->'patch' AS patch, c.rec->'result' AS result
FROM suite s,
     jsonb_array_elements(s.body) WITH ORDINALITY g(rec, ord),
     jsonb_array_elements(g.rec->'cases') WITH ORDINALITY c(rec, ord)
WHERE s.file = 'rfc7396-test-cases.json'
UNION ALL
SELECT s.file, r.ord, NULL, r.rec->'doc', r.rec->'patch', r.rec->'result'
FROM suite s, jsonb_array_elements(s.body) WITH ORDINALITY r(rec, ord)
WHERE s.file = 'rfc7396/spec_tests.json'
UNION ALL
SELECT s.file, r.ord, r.rec->>'comment', r.rec->'doc', r.rec->'patch', r.rec->'expected'
FROM suite s, jsonb_array_elements(s.body) WITH ORDINALITY r(rec, ord)
WHERE s.file = 'merge_tests.json';

CREATE TABLE m_result AS
SELECT c.file, c.ord, c.comment,
       -- jsonb_merge_patch(doc, patch) = result
       CASE WHEN jsonb_merge_patch(c.doc, c.patch) IS DISTINCT FROM c.result
            THEN 'merge_patch gave ' || jsonb_merge_patch(c.doc, c.patch)::text
                 || ', expected ' || c.result::text
       END AS patch_failure,
       -- jsonb_merge_patch(doc, jsonb_merge_diff(doc, result)) = result
       NOT has_null_member(c.result) AS roundtrip_eligible,
       CASE WHEN NOT has_null_member(c.result) AND
                 (rt.state IS NOT NULL OR rt.result IS DISTINCT FROM c.result)
            THEN 'merge_diff ' || coalesce('raised ' || rt.state,
                                           'round trip gave ' || rt.result::text)
                 || ', expected ' || c.result::text
       END AS roundtrip_failure
FROM m_case c
CROSS JOIN LATERAL try_merge_roundtrip(c.doc, c.result) rt;

SELECT file, count(*) AS cases,
       count(*) FILTER (WHERE patch_failure IS NULL) AS patch_passed,
       count(*) FILTER (WHERE roundtrip_eligible) AS roundtrip_cases,
       count(*) FILTER (WHERE roundtrip_eligible AND roundtrip_failure IS NULL) AS roundtrip_passed
FROM m_result
GROUP BY file
ORDER BY file;

-- failing merge cases (none)
SELECT file, ord, comment, coalesce(patch_failure, roundtrip_failure) AS failure
FROM m_result
WHERE patch_failure IS NOT NULL OR roundtrip_failure IS NOT NULL
ORDER BY file, ord;

RESET search_path;
DROP SCHEMA regress_conf CASCADE;
DROP EXTENSION diffsync;
