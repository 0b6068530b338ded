/* test/bench/jsonb_bench.sql */

/*
 * jsonb diff/patch benchmark: diffsync against the baselines of
 * baselines_jsonb.sql, measured side by side in one run.  Ratios are only
 * meaningful within a run (the machines this runs on are shared and noisy).
 *
 * Run it through run_jsonb_bench.sh, or by hand in a scratch database that
 * has CREATE EXTENSION diffsync and baselines_jsonb.sql loaded:
 *     psql -X -v ON_ERROR_STOP=1 [-v reps=N] -f jsonb_bench.sql
 *
 * Sections (targets from the jsonb core issue):
 *   1  2,000 pairs of ~700-byte documents, 4 changes each:
 *      jsonb_diff >= 20x faster than bench.plpgsql_diff
 *   2  identical ~1 MB documents stored in a table: jsonb_diff <= 3x a = b
 *   3  10,000-element array of objects, one field changed: 1 op, < 10 ms
 *   4  prepend to 10,000- and 100,000-element arrays: 1 op each, time
 *      roughly linear (100k/10k <= 20), extra peak memory <= 8x the input
 *   5  1,000-op patch on a ~76 KB document: jsonb_patch >= 50x faster
 *      than bench.jsonb_set_patch, same result
 *
 * Every timing is a clock_timestamp() delta around a statement inside a
 * DO block; each figure is the median of several repetitions, diffsync
 * and baseline interleaved.  Values are read from tables, so detoasting is
 * part of every figure.  Data are generated with setseed() and random(),
 * so every run sees the same documents.
 *
 * Results go to bench.results and are printed as one table at the end:
 * speedup = baseline_ms / diffsync_ms.  A section that raises an error is
 * recorded as ERROR with the message, and the other sections still run.
 */

\set ON_ERROR_STOP 1
\if :{?reps}
\else
\set reps 5
\endif
SET bench.reps = :reps;
SET client_min_messages = warning;

/* ---------------------------------------------------------------- helpers */

CREATE TABLE bench.results (
    id          serial PRIMARY KEY,
    section     text NOT NULL,
    what        text NOT NULL,
    diffsync_ms numeric,
    baseline    text,
    baseline_ms numeric,
    target      text,
    result      text,
    detail      text
);

/* Median of a set of timings (ms). */
CREATE FUNCTION bench.median(xs numeric[])
RETURNS numeric
LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric FROM pg_catalog.unnest(xs) AS x $$;

/* Milliseconds elapsed since t. */
CREATE FUNCTION bench.ms_since(t timestamptz)
RETURNS numeric
LANGUAGE sql VOLATILE
AS $$ SELECT (extract(epoch FROM pg_catalog.clock_timestamp() - t) * 1000)::numeric $$;

/* Peak resident set size (VmHWM) of this backend in kB; NULL if unreadable (not superuser). */
CREATE FUNCTION bench.peak_rss_kb()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    RETURN (pg_catalog.regexp_match(pg_catalog.pg_read_file('/proc/self/status'),
                                    'VmHWM:\s+(\d+)\s+kB'))[1]::bigint;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;

/* Uniform random integer in [lo, hi] (seeded by setseed()). */
CREATE FUNCTION bench.rnd(lo int, hi int)
RETURNS int
LANGUAGE sql VOLATILE
AS $$ SELECT lo + pg_catalog.floor(pg_catalog.random() * (hi - lo + 1))::int $$;

/* Record one result row. */
CREATE FUNCTION bench.record(section text, what text, diffsync_ms numeric, baseline text,
                             baseline_ms numeric, target text, ok boolean, detail text)
RETURNS void
LANGUAGE sql VOLATILE
AS $$
    INSERT INTO bench.results (section, what, diffsync_ms, baseline, baseline_ms, target, result, detail)
    VALUES (section, what, round(diffsync_ms, 3), baseline, round(baseline_ms, 3), target,
            CASE WHEN ok THEN 'PASS' ELSE 'MISS' END, detail)
$$;

/* Record a section that raised an error. */
CREATE FUNCTION bench.record_error(section text, what text, msg text)
RETURNS void
LANGUAGE sql VOLATILE
AS $$
    INSERT INTO bench.results (section, what, result, detail)
    VALUES (section, what, 'ERROR', msg)
$$;

/*
 * A "user record" of about 700 bytes of JSON text: 17 scalar members (one
 * key needing ~0/~1 escaping), a nested address, 10 tags, 8 small items.
 */
CREATE FUNCTION bench.make_doc(i int)
RETURNS jsonb
LANGUAGE sql VOLATILE
AS $$
SELECT pg_catalog.jsonb_build_object(
    'id', i,
    'uuid', pg_catalog.md5(pg_catalog.random()::text),
    'name', 'User ' || i,
    'nickname', 'nick' || bench.rnd(1, 9999),
    'email', 'user' || i || '@example.com',
    'phone', '+1-555-' || pg_catalog.lpad(bench.rnd(0, 9999)::text, 4, '0'),
    'active', pg_catalog.random() < 0.8,
    'score', pg_catalog.round((pg_catalog.random() * 1000)::numeric, 2),
    'level', bench.rnd(1, 60),
    'plan', (ARRAY['free', 'pro', 'team', 'enterprise'])[bench.rnd(1, 4)],
    'locale', (ARRAY['en_US', 'de_DE', 'fr_FR', 'ja_JP'])[bench.rnd(1, 4)],
    'created_at', pg_catalog.to_char(timestamp '2024-01-01' + pg_catalog.random() * interval '365 days',
                                     'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'verified', pg_catalog.random() < 0.5,
    'ref/x~y', 'r-' || bench.rnd(1, 99999),
    'notes', NULL::text,
    'address', pg_catalog.jsonb_build_object(
        'street', bench.rnd(1, 300) || ' Main St',
        'city', (ARRAY['Berlin', 'Paris', 'Osaka', 'Austin'])[bench.rnd(1, 4)],
        'zip', pg_catalog.lpad(bench.rnd(0, 99999)::text, 5, '0'),
        'country', (ARRAY['DE', 'FR', 'JP', 'US'])[bench.rnd(1, 4)]),
    'tags', (SELECT pg_catalog.jsonb_agg('t' || bench.rnd(1, 99)) FROM pg_catalog.generate_series(1, 10)),
    'items', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('sku', bench.rnd(100, 999),
                                                                        'qty', bench.rnd(1, 9)))
              FROM pg_catalog.generate_series(1, 8)))
$$;

/* ------------------------------------------------------------------- data */

\echo == generating data
SELECT pg_catalog.setseed(0.42);

/*
 * 1: b differs from a by 4 changes: one member replaced ("score" or the
 * escaped "ref/x~y"), one removed, one nested item field, one tag appended.
 */
CREATE TABLE bench.pairs (i int PRIMARY KEY, a jsonb NOT NULL, b jsonb);
INSERT INTO bench.pairs (i, a) SELECT i, bench.make_doc(i) FROM pg_catalog.generate_series(1, 2000) AS i;
UPDATE bench.pairs SET b =
    pg_catalog.jsonb_set(
        pg_catalog.jsonb_set(
            CASE WHEN i % 2 = 0
                 THEN pg_catalog.jsonb_set(a, '{score}', pg_catalog.to_jsonb((a ->> 'score')::numeric + 1.5))
                 ELSE pg_catalog.jsonb_set(a, '{ref/x~y}', pg_catalog.to_jsonb('r-new-' || i))
            END - 'nickname',
            ARRAY['items', (i % 8)::text, 'qty'],
            pg_catalog.to_jsonb((a #>> ARRAY['items', (i % 8)::text, 'qty'])::int + 10)),
        '{tags}', (a -> 'tags') || pg_catalog.to_jsonb('new' || i));

/* 2: two identical ~1 MB documents, each TOASTed on its own. */
CREATE TABLE bench.big (a jsonb NOT NULL, b jsonb NOT NULL);
INSERT INTO bench.big
SELECT d, d
FROM (SELECT pg_catalog.jsonb_build_object(
                 'kind', 'export',
                 'rows', pg_catalog.jsonb_agg(bench.make_doc(i) - 'items' - 'tags' ORDER BY i)) AS d
      FROM pg_catalog.generate_series(1, 2200) AS i) AS s;

/* 3: 10,000 objects, element 5000's "v" changed. */
CREATE TABLE bench.objarray (a jsonb NOT NULL, b jsonb);
INSERT INTO bench.objarray (a)
SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', i, 'v', bench.rnd(0, 1000), 'name', 'item ' || i)
                            ORDER BY i)
FROM pg_catalog.generate_series(0, 9999) AS i;
UPDATE bench.objarray SET b = pg_catalog.jsonb_set(a, '{5000,v}', '-1');

/* 4: prepend one element to arrays of 10,000 and 100,000 objects. */
CREATE TABLE bench.prepend (n int PRIMARY KEY, a jsonb NOT NULL, b jsonb, input_bytes bigint);
INSERT INTO bench.prepend (n, a)
SELECT n, (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', i, 'v', i % 97) ORDER BY i)
           FROM pg_catalog.generate_series(1, n) AS i)
FROM (VALUES (10000), (100000)) AS v(n);
UPDATE bench.prepend
SET b = '[{"id": 0, "v": 0}]'::jsonb || a,
    input_bytes = 2 * pg_catalog.pg_column_size(a || '[]'::jsonb);  /* uncompressed, both sides */

/*
 * 5: a ~76 KB document of 200 users and a 1,000-op patch, five ops per
 * user (so users do not interfere): replace, add a member whose key needs
 * escaping, remove, insert at the front of an array, and one of replace
 * nested / test / move / copy / remove array element.
 */
CREATE TABLE bench.patchdoc (doc jsonb NOT NULL, patch jsonb, doc_bytes int);
INSERT INTO bench.patchdoc (doc)
SELECT pg_catalog.jsonb_build_object(
    'version', 1,
    'users', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'id', k,
        'name', 'User ' || k,
        'nickname', 'nick' || bench.rnd(1, 9999),
        'email', 'user' || k || '@example.com',
        'score', pg_catalog.round((pg_catalog.random() * 1000)::numeric, 2),
        'active', pg_catalog.random() < 0.8,
        'created_at', pg_catalog.to_char(timestamp '2024-01-01' + pg_catalog.random() * interval '365 days',
                                         'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'address', pg_catalog.jsonb_build_object('street', bench.rnd(1, 300) || ' Main St',
                                                 'city', (ARRAY['Berlin', 'Paris', 'Osaka'])[bench.rnd(1, 3)],
                                                 'zip', pg_catalog.lpad(bench.rnd(0, 99999)::text, 5, '0')),
        'prefs', pg_catalog.jsonb_build_object('lang', 'en', 'theme', 'dark', 'digest', 'weekly'),
        'tags', (SELECT pg_catalog.jsonb_agg('t' || bench.rnd(1, 99)) FROM pg_catalog.generate_series(1, 4)))
        ORDER BY k))
FROM pg_catalog.generate_series(0, 199) AS k;
UPDATE bench.patchdoc SET
    doc_bytes = pg_catalog.pg_column_size(doc || '{}'::jsonb),
    patch = (SELECT pg_catalog.jsonb_agg(op ORDER BY k, j)
             FROM pg_catalog.generate_series(0, 199) AS k,
                  LATERAL (VALUES
        (1, pg_catalog.jsonb_build_object('op', 'replace', 'path', '/users/' || k || '/score',
                                          'value', k * 3 + 0.25)),
        (2, pg_catalog.jsonb_build_object('op', 'add', 'path', '/users/' || k || '/prefs/ui~1x~0',
                                          'value', 'compact')),
        (3, pg_catalog.jsonb_build_object('op', 'remove', 'path', '/users/' || k || '/nickname')),
        (4, pg_catalog.jsonb_build_object('op', 'add', 'path', '/users/' || k || '/tags/0', 'value', 'new')),
        (5, CASE k % 5
            WHEN 0 THEN pg_catalog.jsonb_build_object('op', 'replace', 'path', '/users/' || k || '/address/city',
                                                      'value', 'Lyon')
            WHEN 1 THEN pg_catalog.jsonb_build_object('op', 'test', 'path', '/users/' || k || '/id', 'value', k)
            WHEN 2 THEN pg_catalog.jsonb_build_object('op', 'move', 'from', '/users/' || k || '/email',
                                                      'path', '/users/' || k || '/contact')
            WHEN 3 THEN pg_catalog.jsonb_build_object('op', 'copy', 'from', '/users/' || k || '/name',
                                                      'path', '/users/' || k || '/display')
            ELSE pg_catalog.jsonb_build_object('op', 'remove', 'path', '/users/' || k || '/tags/2')
            END)) AS ops(j, op));

ANALYZE bench.pairs, bench.big, bench.objarray, bench.prepend, bench.patchdoc;

/* Load the library and compile the PL/pgSQL baselines before any timing. */
DO $$
BEGIN
    PERFORM bench.plpgsql_diff('{"a": [1]}', '{"a": [2]}'),
            bench.jsonb_set_patch('{}', '[{"op": "add", "path": "/a", "value": 1}]');
    PERFORM diffsync.jsonb_diff('{"a": [1]}', '{"a": [2]}'), diffsync.jsonb_patch('{}', '[]');
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'diffsync warm-up failed: %', SQLERRM;
END
$$;

/* ------------------------------------------- 1: 2,000 pairs of ~700 bytes */

\echo == 1: 2,000 pairs of ~700-byte documents, 4 changes each
DO $$
DECLARE
    reps int := current_setting('bench.reps')::int;
    t timestamptz;
    d_ms numeric[] := '{}';
    b_ms numeric[] := '{}';
    d_ops bigint;
    b_ops bigint;
    d_bad bigint;
    b_bad bigint;
    txt_bytes numeric;
    bin_bytes numeric;
BEGIN
    SELECT avg(octet_length(a::text)), avg(pg_column_size(a)) INTO txt_bytes, bin_bytes FROM bench.pairs;

    /* honesty checks first: both patches must turn a into b */
    SELECT count(*) FILTER (WHERE diffsync.jsonb_patch(a, bench.plpgsql_diff(a, b)) IS DISTINCT FROM b),
           count(*) FILTER (WHERE diffsync.jsonb_patch(a, diffsync.jsonb_diff(a, b)) IS DISTINCT FROM b)
      INTO b_bad, d_bad
      FROM bench.pairs;

    FOR r IN 1 .. reps LOOP
        t := clock_timestamp();
        SELECT sum(jsonb_array_length(bench.plpgsql_diff(a, b))) INTO b_ops FROM bench.pairs;
        b_ms := b_ms || bench.ms_since(t);
        t := clock_timestamp();
        SELECT sum(jsonb_array_length(diffsync.jsonb_diff(a, b))) INTO d_ops FROM bench.pairs;
        d_ms := d_ms || bench.ms_since(t);
    END LOOP;

    PERFORM bench.record('1', '2,000 pairs ~700 B, 4 changes: jsonb_diff',
        bench.median(d_ms), 'bench.plpgsql_diff (recursive PL/pgSQL)', bench.median(b_ms),
        'speedup >= 20, patches apply',
        bench.median(b_ms) / bench.median(d_ms) >= 20 AND d_bad = 0 AND b_bad = 0,
        format('ops diffsync=%s baseline=%s; not applying: diffsync=%s baseline=%s; doc %s B text / %s B jsonb',
               d_ops, b_ops, d_bad, b_bad, round(txt_bytes), round(bin_bytes)));
EXCEPTION WHEN OTHERS THEN
    PERFORM bench.record_error('1', '2,000 pairs ~700 B: jsonb_diff', SQLERRM);
END
$$;

/* ------------------------------------------ 2: identical ~1 MB documents */

\echo == 2: identical ~1 MB documents
DO $$
DECLARE
    reps int := 4 * current_setting('bench.reps')::int;
    t timestamptz;
    d_ms numeric[] := '{}';
    b_ms numeric[] := '{}';
    eq boolean;
    n int;
    raw_bytes int;
    stored_bytes int;
BEGIN
    SELECT pg_column_size(a || '{}'::jsonb), pg_column_size(a) INTO raw_bytes, stored_bytes FROM bench.big;
    FOR r IN 1 .. reps LOOP
        t := clock_timestamp();
        SELECT a = b INTO eq FROM bench.big;
        b_ms := b_ms || bench.ms_since(t);
        t := clock_timestamp();
        SELECT jsonb_array_length(diffsync.jsonb_diff(a, b)) INTO n FROM bench.big;
        d_ms := d_ms || bench.ms_since(t);
    END LOOP;

    PERFORM bench.record('2', 'identical ~1 MB docs (from table): jsonb_diff',
        bench.median(d_ms), 'a = b (jsonb_eq)', bench.median(b_ms),
        'diffsync <= 3x baseline, 0 ops',
        bench.median(d_ms) <= 3 * bench.median(b_ms) AND n = 0 AND eq,
        format('ops=%s; doc %s B jsonb, %s B stored (each of a, b TOASTed)', n, raw_bytes, stored_bytes));
EXCEPTION WHEN OTHERS THEN
    PERFORM bench.record_error('2', 'identical ~1 MB docs: jsonb_diff', SQLERRM);
END
$$;

/* ------------------------------- 3: 10,000 objects, one field changed */

\echo == 3: 10,000-element array of objects, one field changed
DO $$
DECLARE
    reps int := 4 * current_setting('bench.reps')::int;
    t timestamptz;
    d_ms numeric[] := '{}';
    k_ms numeric[] := '{}';
    b_ms numeric[] := '{}';
    d_patch jsonb;
    k_patch jsonb;
    b_ops int;
BEGIN
    FOR r IN 1 .. reps LOOP
        IF r <= 3 THEN          /* the baseline takes tens of ms: 3 runs are enough */
            t := clock_timestamp();
            SELECT jsonb_array_length(bench.plpgsql_diff(a, b)) INTO b_ops FROM bench.objarray;
            b_ms := b_ms || bench.ms_since(t);
        END IF;
        t := clock_timestamp();
        SELECT diffsync.jsonb_diff(a, b) INTO d_patch FROM bench.objarray;
        d_ms := d_ms || bench.ms_since(t);
        t := clock_timestamp();
        SELECT diffsync.jsonb_diff(a, b, '{"array_key": "id"}') INTO k_patch FROM bench.objarray;
        k_ms := k_ms || bench.ms_since(t);
    END LOOP;

    PERFORM bench.record('3', '10,000 objects, 1 field changed: jsonb_diff',
        bench.median(d_ms), 'bench.plpgsql_diff', bench.median(b_ms),
        '1 op, < 10 ms',
        jsonb_array_length(d_patch) = 1 AND bench.median(d_ms) < 10,
        format('ops diffsync=%s baseline=%s; patch %s', jsonb_array_length(d_patch), b_ops, d_patch));
    PERFORM bench.record('3', '  same, options {"array_key": "id"}',
        bench.median(k_ms), 'bench.plpgsql_diff', bench.median(b_ms),
        '1 op, < 10 ms',
        jsonb_array_length(k_patch) = 1 AND bench.median(k_ms) < 10,
        format('ops=%s; patch %s', jsonb_array_length(k_patch), k_patch));
EXCEPTION WHEN OTHERS THEN
    PERFORM bench.record_error('3', '10,000 objects, 1 field changed: jsonb_diff', SQLERRM);
END
$$;

/* ----------------------------------- 4: prepend to 10k / 100k arrays */

\echo == 4: prepend to 10,000- and 100,000-element arrays
/*
 * Each size runs in a fresh backend (\c) so that VmHWM (peak RSS) shows
 * what jsonb_diff itself needs: the peak is read after a warm-up a = b on
 * the same row (which detoasts both values) and again after the timed
 * jsonb_diff calls.
 */
CREATE FUNCTION bench.prepend_case(size int)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    reps int := 2 * current_setting('bench.reps')::int;
    t timestamptz;
    d_ms numeric[] := '{}';
    b_ms numeric[] := '{}';
    eq boolean;
    patch jsonb;
    hwm0 bigint;
    hwm1 bigint;
    in_bytes bigint;
BEGIN
    PERFORM diffsync.jsonb_diff('[1]', '[0,1]');
    SELECT a = b, input_bytes INTO eq, in_bytes FROM bench.prepend WHERE n = size;
    hwm0 := bench.peak_rss_kb();
    FOR r IN 1 .. reps LOOP
        t := clock_timestamp();
        SELECT a = b INTO eq FROM bench.prepend WHERE n = size;
        b_ms := b_ms || bench.ms_since(t);
        t := clock_timestamp();
        SELECT diffsync.jsonb_diff(a, b) INTO patch FROM bench.prepend WHERE n = size;
        d_ms := d_ms || bench.ms_since(t);
    END LOOP;
    hwm1 := bench.peak_rss_kb();

    PERFORM bench.record('4', format('prepend to %s objects: jsonb_diff', size),
        bench.median(d_ms), 'a = b (detoast + compare floor)', bench.median(b_ms),
        '1 op',
        jsonb_array_length(patch) = 1,
        format('ops=%s; input %s kB (a+b jsonb); extra peak RSS %s kB; patch %s',
               jsonb_array_length(patch), in_bytes / 1024, coalesce((hwm1 - hwm0)::text, 'n/a'),
               left(patch::text, 60)));
    INSERT INTO bench.prepend_stats VALUES (size, bench.median(d_ms), hwm1 - hwm0, in_bytes);
EXCEPTION WHEN OTHERS THEN
    PERFORM bench.record_error('4', format('prepend to %s objects: jsonb_diff', size), SQLERRM);
END
$$;
CREATE TABLE bench.prepend_stats (n int PRIMARY KEY, ms numeric, extra_kb bigint, input_bytes bigint);

\c
SET bench.reps = :reps;
SET client_min_messages = warning;
DO $$ BEGIN PERFORM bench.prepend_case(10000); END $$;
\c
SET bench.reps = :reps;
SET client_min_messages = warning;
DO $$ BEGIN PERFORM bench.prepend_case(100000); END $$;

DO $$
DECLARE
    s10 bench.prepend_stats;
    s100 bench.prepend_stats;
BEGIN
    SELECT * INTO s10 FROM bench.prepend_stats WHERE n = 10000;
    SELECT * INTO s100 FROM bench.prepend_stats WHERE n = 100000;
    IF s10 IS NULL OR s100 IS NULL THEN
        PERFORM bench.record_error('4', 'scaling 10k -> 100k', 'a size failed, see above');
        RETURN;
    END IF;
    PERFORM bench.record('4', 'scaling 10k -> 100k (time, memory)',
        s100.ms, 'jsonb_diff at 10k', s10.ms,
        'time x <= 20; extra peak <= 8x input',
        s100.ms / s10.ms <= 20
            AND (s100.extra_kb IS NULL OR s100.extra_kb * 1024 <= 8 * s100.input_bytes),
        format('time x%s; extra peak RSS %s kB -> %s kB (input %s kB -> %s kB)',
               round(s100.ms / s10.ms, 1), coalesce(s10.extra_kb::text, 'n/a'),
               coalesce(s100.extra_kb::text, 'n/a'), s10.input_bytes / 1024, s100.input_bytes / 1024));
END
$$;

/* ------------------------------------ 5: 1,000-op patch, ~76 KB document */

\echo == 5: 1,000-op patch on a ~76 KB document
DO $$
DECLARE
    reps int := current_setting('bench.reps')::int;
    t timestamptz;
    d_ms numeric[] := '{}';
    b_ms numeric[] := '{}';
    d_res jsonb;
    b_res jsonb;
    nops int;
    bytes int;
BEGIN
    SELECT jsonb_array_length(patch), doc_bytes INTO nops, bytes FROM bench.patchdoc;
    FOR r IN 1 .. reps LOOP
        IF r <= 3 THEN          /* the baseline takes seconds: 3 runs are enough */
            t := clock_timestamp();
            SELECT bench.jsonb_set_patch(doc, patch) INTO b_res FROM bench.patchdoc;
            b_ms := b_ms || bench.ms_since(t);
        END IF;
        t := clock_timestamp();
        SELECT diffsync.jsonb_patch(doc, patch) INTO d_res FROM bench.patchdoc;
        d_ms := d_ms || bench.ms_since(t);
    END LOOP;

    PERFORM bench.record('5', '1,000-op patch on ~76 KB doc: jsonb_patch',
        bench.median(d_ms), 'bench.jsonb_set_patch (jsonb_set loop)', bench.median(b_ms),
        'speedup >= 50, same result',
        bench.median(b_ms) / bench.median(d_ms) >= 50 AND d_res = b_res,
        format('ops=%s; doc %s B jsonb; results equal: %s', nops, bytes, d_res = b_res));
EXCEPTION WHEN OTHERS THEN
    PERFORM bench.record_error('5', '1,000-op patch on ~76 KB doc: jsonb_patch', SQLERRM);
END
$$;

/* ------------------------------------------------------------- the table */

\echo
\echo == diffsync jsonb benchmark (median ms; speedup = baseline / diffsync)
SELECT section AS "§", what, diffsync_ms, baseline, baseline_ms,
       CASE WHEN what NOT LIKE 'scaling%' THEN round(baseline_ms / NULLIF(diffsync_ms, 0), 1) END AS speedup,
       target, result, detail
FROM bench.results
ORDER BY id;
