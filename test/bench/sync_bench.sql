/* test/bench/sync_bench.sql */

/*
 * Table diff and sync benchmark: diffsync.diff, diffsync.sync and the sync
 * engine against the queries a user would write by hand in PostgreSQL 15,
 * measured side by side in one run.  Ratios are only meaningful within a
 * run (the machines this runs on are shared and noisy).
 *
 * Run it through run_sync_bench.sh, which calls this file once per phase,
 * each time in a new session (so a new backend):
 *     psql -X -v ON_ERROR_STOP=1 -v phase=P -v rep=N [-v sync_options=JSON] -f sync_bench.sql
 * phases: setup (data, helpers), diff_ds, diff_hand, diff_bare, sync_ds,
 * sync_nohist, sync_hand, engine (the measurements of repetition N), report.
 *
 * Data (deterministic, no random()): src(id bigint pk, a int, b text,
 * c jsonb), 1,000,000 rows of ~250 bytes; tgt(key bigint pk, a_val int,
 * b_txt text, doc jsonb), the same rows under other column names, with
 * 20,000 differing keys spread evenly: 5,000 scalar updates (a), 5,000
 * nested jsonb updates (c.nested.x), 5,000 rows only in src, 5,000 only in
 * tgt.  Adapters map the renames (id->key, a->a_val, b->b_txt, c->doc) and
 * have no updated_at column (commit timestamps).
 *
 * Cases (targets from the adapters/table diff/sync engine issue):
 *   a  diffsync.diff vs the FULL JOIN ... IS DISTINCT FROM query returning
 *      the same things (key, action, both rows as jsonb): <= 1.25x; the
 *      bare query (count of differing keys) is shown for information
 *   b  diffsync.sync(source_to_target, source_wins) on a fresh copy of tgt
 *      vs PG15 MERGE + DELETE on another fresh copy: <= 1.25x; both copies
 *      must equal src afterwards.  The same sync with the options history
 *      and notify off is shown for information (on by default).
 *   c  a second sync with nothing to do: <= the diff of case a
 *   d  bidirectional engine (create_engine + sync_engine, last_update_wins)
 *      on fresh copies of both tables, then again after 20,000 more changes
 *      on both sides: each <= 3x the one-way sync of case b
 *   e  peak backend memory (VmHWM) of the diff and the sync, and of their
 *      baselines
 *
 * Every timing is a clock_timestamp() delta around the statement(s),
 * taken in a fresh backend after a warm-up that reads every page of the
 * tables and indexes involved, so that the contenders see the same cache
 * state and VmHWM already includes the shared buffers they will touch.
 * Copies are made with CREATE TABLE AS + primary key + VACUUM ANALYZE,
 * with autovacuum off so that it cannot run in the middle of a timing.
 * Each figure printed is the median over the repetitions.
 */

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\if :{?phase}
\else
\echo 'sync_bench.sql: set -v phase=... (see run_sync_bench.sh)'
\quit
\endif
\if :{?rep}
\else
\set rep 0
\endif
\if :{?sync_options}
\else
\set sync_options '{}'
\endif

SELECT :'phase' = 'setup' AS is_setup,
       :'phase' = 'diff_ds' AS is_diff_ds,
       :'phase' = 'diff_hand' AS is_diff_hand,
       :'phase' = 'diff_bare' AS is_diff_bare,
       :'phase' = 'sync_ds' AS is_sync_ds,
       :'phase' = 'sync_hand' AS is_sync_hand,
       :'phase' = 'sync_nohist' AS is_sync_nohist,
       :'phase' = 'engine' AS is_engine,
       :'phase' = 'report' AS is_report \gset
\if :is_report
\else
\pset tuples_only on
\pset format unaligned
\endif

\if :is_setup
/* ================================================================= setup */

CREATE SCHEMA bench;
CREATE EXTENSION pg_prewarm SCHEMA bench;

/* One row per measurement. */
CREATE TABLE bench.timings (
    id          serial PRIMARY KEY,
    rep         int NOT NULL,
    section     text NOT NULL,
    contender   text NOT NULL,
    ms          numeric NOT NULL,
    hwm_before  bigint,             /* VmHWM in kB before the statement(s) */
    hwm_after   bigint,             /* and after */
    shared_after bigint,            /* RssShmem + RssFile in kB after */
    result      text,
    verified    boolean             /* NULL: nothing to verify */
);

/* When the installed library changed (it must not change during a run). */
CREATE FUNCTION bench.library_mtime()
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    RETURN (pg_catalog.pg_stat_file((SELECT setting FROM pg_catalog.pg_config WHERE name = 'PKGLIBDIR')
                                     || '/diffsync.so')).modification;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;
CREATE TABLE bench.library AS SELECT bench.library_mtime() AS mtime;

/* Phases that failed. */
CREATE TABLE bench.errors (
    rep         int NOT NULL,
    phase       text NOT NULL,
    message     text
);

/* Median of a set of numbers. */
CREATE FUNCTION bench.median(xs numeric[])
RETURNS numeric
LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric FROM pg_catalog.unnest(xs) AS x $$;

/*
 * Memory figures of this backend in kB from /proc/self/status (VmHWM: peak
 * resident set; RssShmem, RssFile: the shared memory and files mapped);
 * NULL if unreadable (not superuser).
 */
CREATE FUNCTION bench.rss_kb(field text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    RETURN (pg_catalog.regexp_match(pg_catalog.pg_read_file('/proc/self/status'),
                                    field || ':\s+(\d+)\s+kB'))[1]::bigint;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;

/*
 * Warm-up before a measurement, in its backend: load every page of the
 * tables and their indexes into shared buffers (pg_prewarm: a plain seq
 * scan of a table larger than shared_buffers/4 would go through a small
 * ring), then read them all from this backend (whole rows; the primary key
 * in key order), so that they are mapped into it; and load the JIT
 * provider, so that its libraries do not count as the statement's memory.
 */
CREATE FUNCTION bench.warm(rels regclass[])
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    r regclass;
    keycol name;
    n bigint;
BEGIN
    FOREACH r IN ARRAY rels LOOP
        PERFORM bench.pg_prewarm(r);
        PERFORM bench.pg_prewarm(i.indexrelid) FROM pg_catalog.pg_index i WHERE i.indrelid = r;
        EXECUTE format('SELECT count(t.*) FROM %s t', r) INTO n;
        SELECT a.attname INTO keycol
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = r AND i.indisprimary;
        SET LOCAL enable_seqscan = off;
        SET LOCAL enable_bitmapscan = off;
        SET LOCAL enable_sort = off;
        EXECUTE format('SELECT count(*) FROM (SELECT %I FROM %s ORDER BY 1) x', keycol, r) INTO n;
        RESET enable_seqscan;
        RESET enable_bitmapscan;
        RESET enable_sort;
    END LOOP;
    SET LOCAL jit_above_cost = 0;
    SET LOCAL jit_inline_above_cost = 0;
    SET LOCAL jit_optimize_above_cost = 0;
    EXECUTE 'SELECT sum(x) FROM pg_catalog.generate_series(1, 10) AS x' INTO n;
END
$$;

/*
 * Run statements and record the time they took together, with this
 * backend's peak memory before and after.  SELECTs give a result (the
 * first column of their first row); other statements their row count.
 */
CREATE FUNCTION bench.measure(rep int, section text, contender text, stmts text[])
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    s text;
    out text;
    results text[] := '{}';
    n bigint;
    h0 bigint;
    t0 timestamptz;
    elapsed numeric;
BEGIN
    /*
     * No checkpoint in the middle of a measurement: the previous phases'
     * bulk writes are flushed first (a timed checkpoint landing in one
     * repetition of one contender made it two to three times slower).
     */
    EXECUTE 'CHECKPOINT';
    h0 := bench.rss_kb('VmHWM');
    t0 := pg_catalog.clock_timestamp();
    FOREACH s IN ARRAY stmts LOOP
        IF s ~* '^\s*SELECT' THEN
            EXECUTE s INTO out;
        ELSE
            EXECUTE s;
            GET DIAGNOSTICS n = ROW_COUNT;
            out := n::text;
        END IF;
        results := results || out;
    END LOOP;
    elapsed := extract(epoch FROM pg_catalog.clock_timestamp() - t0) * 1000;
    INSERT INTO bench.timings (rep, section, contender, ms, hwm_before, hwm_after, shared_after, result)
    VALUES (rep, section, contender, elapsed, h0, bench.rss_kb('VmHWM'),
            bench.rss_kb('RssShmem') + bench.rss_kb('RssFile'),
            pg_catalog.array_to_string(results, ' | '));
    RETURN pg_catalog.format('%s %s: %s s, peak RSS %s -> %s kB: %s', section, contender,
                             pg_catalog.round(elapsed / 1000, 3), h0, bench.rss_kb('VmHWM'),
                             pg_catalog.array_to_string(results, ' | '));
END
$$;

/* Number of keys on which src-shaped table s and tgt-shaped table t differ. */
CREATE FUNCTION bench.differences(s regclass, t regclass)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s s FULL JOIN %s t ON s.id = t.key
                    WHERE s.id IS NULL OR t.key IS NULL
                       OR (s.a, s.b, s.c) IS DISTINCT FROM (t.a_val, t.b_txt, t.doc)', s, t) INTO n;
    RETURN n;
END
$$;

/* Mark the latest measurement of a section and contender verified (or not). */
CREATE FUNCTION bench.verify(rep int, section text, contender text, ok boolean)
RETURNS text
LANGUAGE sql VOLATILE
AS $$
    UPDATE bench.timings m SET verified = coalesce(ok, false)
    WHERE m.id = (SELECT max(id) FROM bench.timings x
                  WHERE x.rep = verify.rep AND x.section = verify.section AND x.contender = verify.contender)
    RETURNING CASE WHEN coalesce(ok, false) THEN '  verified' ELSE '  NOT VERIFIED' END
$$;

/*
 * A fresh copy bench.<name> of bench.src (shape 'src') or bench.tgt_base
 * (shape 'tgt') with its primary key, autovacuum off, and an adapter of
 * the same name mapping the renamed columns.  VACUUM ANALYZE it afterwards.
 */
CREATE FUNCTION bench.make_copy(shape text, name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM diffsync.adapter a WHERE a.name = make_copy.name) THEN
        PERFORM diffsync.drop_adapter(name);
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS bench.%I', name);
    IF shape = 'src' THEN
        EXECUTE format('CREATE TABLE bench.%I WITH (autovacuum_enabled = off) AS SELECT * FROM bench.src', name);
        EXECUTE format('ALTER TABLE bench.%I ADD PRIMARY KEY (id)', name);
        PERFORM diffsync.create_adapter(name, format('bench.%I', name)::regclass, ARRAY['id']);
    ELSE
        EXECUTE format('CREATE TABLE bench.%I WITH (autovacuum_enabled = off) AS SELECT * FROM bench.tgt_base', name);
        EXECUTE format('ALTER TABLE bench.%I ADD PRIMARY KEY (key)', name);
        PERFORM diffsync.create_adapter(name, format('bench.%I', name)::regclass, ARRAY['id'],
                                        columns => '{"id": "key", "a": "a_val", "b": "b_txt", "c": "doc"}');
    END IF;
END
$$;

/* Drop a copy and its adapter. */
CREATE FUNCTION bench.drop_copy(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM diffsync.adapter a WHERE a.name = drop_copy.name) THEN
        PERFORM diffsync.drop_adapter(name);
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS bench.%I', name);
END
$$;

/* The jsonb document of row i (about 180 bytes). */
CREATE FUNCTION bench.doc(i bigint, tag text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
SELECT pg_catalog.jsonb_build_object(
    'name', tag || ' ' || i,
    'score', (i * 7919) % 1000,
    'active', i % 3 = 0,
    'tags', pg_catalog.jsonb_build_array('t' || i % 17, 't' || i % 23),
    'nested', pg_catalog.jsonb_build_object('x', i % 1000,
                                            'y', pg_catalog.substr(pg_catalog.md5((i * 3)::text), 1, 8),
                                            'deep', pg_catalog.jsonb_build_object('z', i % 7)))
$$;

/*
 * src: ids 2, 4, ..., 2,000,000 (row i has id 2i).  tgt_base: the same rows
 * under other column names, except (spread evenly over the key range):
 *   i % 200 = 1  a differs (scalar update)               5,000
 *   i % 200 = 2  c.nested.x differs (nested jsonb)        5,000
 *   i % 200 = 3  row missing from tgt (only in src)       5,000
 *   i % 200 = 4  extra row with odd key 2i+1 (only tgt)   5,000
 */
CREATE TABLE bench.src WITH (autovacuum_enabled = off) AS
SELECT 2 * i AS id,
       ((i * 2654435761) % 1000000)::int AS a,
       pg_catalog.md5(i::text) AS b,
       bench.doc(i, 'item') AS c
FROM pg_catalog.generate_series(1::bigint, 1000000) AS i;
ALTER TABLE bench.src ADD PRIMARY KEY (id);

CREATE TABLE bench.tgt_base WITH (autovacuum_enabled = off) AS
SELECT * FROM (
    SELECT id AS key,
           CASE WHEN (id / 2) % 200 = 1 THEN a + 1 ELSE a END AS a_val,
           b AS b_txt,
           CASE WHEN (id / 2) % 200 = 2
                THEN pg_catalog.jsonb_set(c, '{nested,x}', pg_catalog.to_jsonb((c #>> '{nested,x}')::int + 1000))
                ELSE c END AS doc
    FROM bench.src
    WHERE (id / 2) % 200 <> 3
    UNION ALL
    SELECT 2 * i + 1, ((i * 40503) % 1000000)::int, pg_catalog.md5('t' || i), bench.doc(i, 'extra')
    FROM pg_catalog.generate_series(1::bigint, 1000000) AS i
    WHERE i % 200 = 4) u
ORDER BY key;
ALTER TABLE bench.tgt_base ADD PRIMARY KEY (key);
VACUUM ANALYZE bench.src;
VACUUM ANALYZE bench.tgt_base;

SELECT diffsync.create_adapter('src', 'bench.src', ARRAY['id']);
SELECT diffsync.create_adapter('tgt', 'bench.tgt_base', ARRAY['id'],
                               columns => '{"id": "key", "a": "a_val", "b": "b_txt", "c": "doc"}');

/* The data must be what the cases claim. */
DO $$
DECLARE
    n_src bigint := (SELECT count(*) FROM bench.src);
    n_tgt bigint := (SELECT count(*) FROM bench.tgt_base);
    n_diff bigint := bench.differences('bench.src', 'bench.tgt_base');
BEGIN
    IF n_src <> 1000000 OR n_tgt <> 1000000 OR n_diff <> 20000 THEN
        RAISE EXCEPTION 'bad data: % src rows, % tgt rows, % differing keys', n_src, n_tgt, n_diff;
    END IF;
END
$$;
\endif

\if :is_diff_ds
/* ============================================= a: diffsync.diff, 20,000 differences */
SELECT bench.warm('{bench.src,bench.tgt_base}') \g /dev/null
SELECT bench.measure(:rep, 'diff', 'diffsync',
                     ARRAY['SELECT count(*) FROM diffsync.diff(''src'', ''tgt'')']);
\endif

\if :is_diff_hand
/*
 * a: the hand-written diff returning what diffsync.diff returns: the key,
 * the action and both rows as jsonb (count() of each row column, so that
 * the planner cannot drop them).
 */
SELECT bench.warm('{bench.src,bench.tgt_base}') \g /dev/null
SELECT bench.measure(:rep, 'diff', 'hand', ARRAY[$q$
SELECT count(*) || ' ' || count(q.source) || ' ' || count(q.target)
FROM (SELECT coalesce(s.id, t.key) AS id,
             CASE WHEN t.key IS NULL THEN 'create' WHEN s.id IS NULL THEN 'delete' ELSE 'update' END AS action,
             CASE WHEN s.id IS NOT NULL
                  THEN pg_catalog.jsonb_build_object('id', s.id, 'a', s.a, 'b', s.b, 'c', s.c) END AS source,
             CASE WHEN t.key IS NOT NULL
                  THEN pg_catalog.jsonb_build_object('id', t.key, 'a', t.a_val, 'b', t.b_txt, 'c', t.doc) END AS target
      FROM bench.src s FULL JOIN bench.tgt_base t ON s.id = t.key
      WHERE s.id IS NULL OR t.key IS NULL
         OR (s.a, s.b, s.c) IS DISTINCT FROM (t.a_val, t.b_txt, t.doc)) q
$q$]);
\endif

\if :is_diff_bare
/* a: the bare hand-written diff (anchors 7.2, D1): differing keys only */
SELECT bench.warm('{bench.src,bench.tgt_base}') \g /dev/null
SELECT bench.measure(:rep, 'diff', 'bare', ARRAY[$q$
SELECT count(*)
FROM bench.src s FULL JOIN bench.tgt_base t ON s.id = t.key
WHERE s.id IS NULL OR t.key IS NULL OR (s.a, s.b, s.c) IS DISTINCT FROM (t.a_val, t.b_txt, t.doc)
$q$]);
\endif

\if :is_sync_ds
/* ===================== b, c: diffsync.sync one way, then again with nothing to do */
/* every repetition starts with empty version history */
TRUNCATE diffsync.history_versions, diffsync.history_batches, diffsync.commit_log;
SELECT bench.make_copy('tgt', 'tgt_ds') \g /dev/null
VACUUM ANALYZE bench.tgt_ds;
\connect
SELECT bench.warm('{bench.src,bench.tgt_ds}') \g /dev/null
SELECT bench.measure(:rep, 'sync', 'diffsync', ARRAY[pg_catalog.format(
    'SELECT pg_catalog.jsonb_build_object(''success'', r -> ''success'', ''summary'', r -> ''summary'')::text
     FROM diffsync.sync(''src'', ''tgt_ds'', ''source_to_target'', ''source_wins'', %L) AS r', :'sync_options')]);
SELECT bench.verify(:rep, 'sync', 'diffsync', bench.differences('bench.src', 'bench.tgt_ds') = 0);

\connect
SELECT bench.warm('{bench.src,bench.tgt_ds}') \g /dev/null
SELECT bench.measure(:rep, 'sync_again', 'diffsync', ARRAY[pg_catalog.format(
    'SELECT pg_catalog.jsonb_build_object(''success'', r -> ''success'', ''summary'', r -> ''summary'')::text
     FROM diffsync.sync(''src'', ''tgt_ds'', ''source_to_target'', ''source_wins'', %L) AS r', :'sync_options')]);
SELECT bench.verify(:rep, 'sync_again', 'diffsync',
                    (SELECT (r ->> 'create')::int + (r ->> 'update')::int + (r ->> 'delete')::int = 0
                     FROM (SELECT m.result::jsonb -> 'summary' AS r
                           FROM bench.timings m
                           WHERE m.rep = :rep AND m.section = 'sync_again'
                           ORDER BY m.id DESC LIMIT 1) x)
                    AND bench.differences('bench.src', 'bench.tgt_ds') = 0);

\connect
SELECT bench.warm('{bench.src,bench.tgt_ds}') \g /dev/null
SELECT bench.measure(:rep, 'diff_nothing', 'diffsync',
                     ARRAY['SELECT count(*) FROM diffsync.diff(''src'', ''tgt_ds'')']);
SELECT bench.drop_copy('tgt_ds') \g /dev/null
\endif

\if :is_sync_nohist
/*
 * b, for information: the same one-way sync without version history and
 * NOTIFY (options history and notify false), to show what they cost.
 */
TRUNCATE diffsync.history_versions, diffsync.history_batches, diffsync.commit_log;
SELECT bench.make_copy('tgt', 'tgt_nh') \g /dev/null
VACUUM ANALYZE bench.tgt_nh;
\connect
SELECT bench.warm('{bench.src,bench.tgt_nh}') \g /dev/null
SELECT bench.measure(:rep, 'sync', 'diffsync_nohist', ARRAY[pg_catalog.format(
    'SELECT pg_catalog.jsonb_build_object(''success'', r -> ''success'', ''summary'', r -> ''summary'')::text
     FROM diffsync.sync(''src'', ''tgt_nh'', ''source_to_target'', ''source_wins'', %L) AS r',
    :'sync_options'::jsonb || '{"history": false, "notify": false}')]);
SELECT bench.verify(:rep, 'sync', 'diffsync_nohist', bench.differences('bench.src', 'bench.tgt_nh') = 0);
SELECT bench.drop_copy('tgt_nh') \g /dev/null
\endif

\if :is_sync_hand
/* b: the hand-written one-way sync (anchors 7.1, S1): PG15 MERGE + DELETE */
SELECT bench.make_copy('tgt', 'tgt_hand') \g /dev/null
VACUUM ANALYZE bench.tgt_hand;
\connect
SELECT bench.warm('{bench.src,bench.tgt_hand}') \g /dev/null
SELECT bench.measure(:rep, 'sync', 'hand', ARRAY[$q$
MERGE INTO bench.tgt_hand t USING bench.src s ON t.key = s.id
WHEN MATCHED AND (t.a_val, t.b_txt, t.doc) IS DISTINCT FROM (s.a, s.b, s.c)
    THEN UPDATE SET a_val = s.a, b_txt = s.b, doc = s.c
WHEN NOT MATCHED THEN INSERT (key, a_val, b_txt, doc) VALUES (s.id, s.a, s.b, s.c)
$q$, $q$
DELETE FROM bench.tgt_hand t WHERE NOT EXISTS (SELECT 1 FROM bench.src s WHERE s.id = t.key)
$q$]);
SELECT bench.verify(:rep, 'sync', 'hand', bench.differences('bench.src', 'bench.tgt_hand') = 0);
SELECT bench.drop_copy('tgt_hand') \g /dev/null
\endif

\if :is_engine
/*
 * d: a bidirectional engine (last_update_wins on commit timestamps) on
 * fresh copies of both tables: the first sync (empty base: both sides gain
 * the rows they lack, the 10,000 differing rows are settled by commit
 * time; with commit timestamps the engine records a base only for the keys
 * it writes and a watermark for the rest), then 20,000 more changes on both
 * sides and a second sync.
 */
TRUNCATE diffsync.history_versions, diffsync.history_batches, diffsync.commit_log;
SELECT bench.make_copy('src', 'src_e') \g /dev/null
SELECT bench.make_copy('tgt', 'tgt_e') \g /dev/null
VACUUM ANALYZE bench.src_e;
VACUUM ANALYZE bench.tgt_e;
\connect
SELECT bench.warm('{bench.src_e,bench.tgt_e}') \g /dev/null
SELECT bench.measure(:rep, 'engine_first', 'diffsync', ARRAY[
    'SELECT diffsync.create_engine(''bench_engine'', ''src_e'', ''tgt_e'', ''bidirectional'', ''last_update_wins'')::text',
    pg_catalog.format('SELECT pg_catalog.jsonb_build_object(''success'', r -> ''success'', ''summary'', r -> ''summary'')::text
                       FROM diffsync.sync_engine(''bench_engine'', %L) AS r', :'sync_options')]);
SELECT bench.verify(:rep, 'engine_first', 'diffsync',
                    bench.differences('bench.src_e', 'bench.tgt_e') = 0);
VACUUM ANALYZE diffsync.engine_base;

/*
 * 20,000 more changes, each statement its own transaction (so its own
 * commit time), on keys the first round did not touch:
 *   src: 5,000 scalar updates, 2,500 deletes, 2,500 inserts (new odd keys)
 *   tgt: 5,000 nested jsonb updates, 2,500 deletes, 2,500 inserts
 */
UPDATE bench.src_e SET a = a + 7 WHERE (id / 2) % 200 = 10 AND id % 2 = 0;
UPDATE bench.tgt_e SET doc = pg_catalog.jsonb_set(doc, '{nested,y}', '"changed"') WHERE (key / 2) % 200 = 11 AND key % 2 = 0;
DELETE FROM bench.src_e WHERE (id / 2) % 400 = 12 AND id % 2 = 0;
DELETE FROM bench.tgt_e WHERE (key / 2) % 400 = 212 AND key % 2 = 0;
INSERT INTO bench.src_e
SELECT 2 * i + 1, (i % 1000)::int, pg_catalog.md5('s2' || i), bench.doc(i, 'new src')
FROM pg_catalog.generate_series(1::bigint, 1000000) AS i WHERE i % 400 = 13;
INSERT INTO bench.tgt_e
SELECT 2 * i + 1, (i % 1000)::int, pg_catalog.md5('t2' || i), bench.doc(i, 'new tgt')
FROM pg_catalog.generate_series(1::bigint, 1000000) AS i WHERE i % 400 = 213;
SELECT bench.differences('bench.src_e', 'bench.tgt_e');

\connect
SELECT bench.warm('{bench.src_e,bench.tgt_e}') \g /dev/null
SELECT bench.measure(:rep, 'engine_second', 'diffsync', ARRAY[
    pg_catalog.format('SELECT pg_catalog.jsonb_build_object(''success'', r -> ''success'', ''summary'', r -> ''summary'')::text
                       FROM diffsync.sync_engine(''bench_engine'', %L) AS r', :'sync_options')]);
SELECT bench.verify(:rep, 'engine_second', 'diffsync',
                    bench.differences('bench.src_e', 'bench.tgt_e') = 0);

/* every repetition starts from an empty base table */
SELECT diffsync.drop_engine('bench_engine') \g /dev/null
TRUNCATE diffsync.engine_base;
SELECT bench.drop_copy('src_e') \g /dev/null
SELECT bench.drop_copy('tgt_e') \g /dev/null
\endif

\if :is_report
/* ================================================================ report */
\pset footer off
\echo
SELECT pg_catalog.version() AS server \gset
\echo :server
SELECT pg_catalog.string_agg(name || '=' || pg_catalog.current_setting(name), ', ' ORDER BY name) AS settings
FROM pg_catalog.pg_settings
WHERE name IN ('shared_buffers', 'work_mem', 'jit', 'track_commit_timestamp', 'fsync',
               'synchronous_commit', 'max_parallel_workers_per_gather') \gset
\echo :settings
\echo 'sync options:' :'sync_options'
SELECT CASE WHEN mtime IS DISTINCT FROM bench.library_mtime()
            THEN 'WARNING: diffsync.so was reinstalled during the run (' || mtime || ' -> '
                 || bench.library_mtime() || '): the figures mix two builds'
            ELSE 'diffsync.so installed ' || mtime END AS library
FROM bench.library \gset
\echo :library

CREATE TEMP VIEW med AS
SELECT section, contender,
       bench.median(pg_catalog.array_agg(ms)) / 1000 AS s,
       pg_catalog.string_agg(pg_catalog.round(ms / 1000, 2)::text, '/' ORDER BY rep) AS runs,
       bool_and(verified) AS verified,
       count(*) AS n
FROM bench.timings
GROUP BY section, contender;

CREATE TEMP VIEW cases (ord, "case", ds_section, ds_contender, base_section, base_contender, baseline, target) AS
VALUES
    (1, 'a  diff, 20,000 differing keys', 'diff', 'diffsync', 'diff', 'hand',
        'FULL JOIN .. IS DISTINCT FROM, key + action + both rows', 1.25),
    (2, 'a  (diff vs bare hand query)', 'diff', 'diffsync', 'diff', 'bare',
        'FULL JOIN .. IS DISTINCT FROM, count of keys', NULL),
    (3, 'b  one-way sync (source_wins)', 'sync', 'diffsync', 'sync', 'hand',
        'PG15 MERGE + DELETE', 1.25),
    (3.5, 'b  (one-way sync, history and notify off)', 'sync', 'diffsync_nohist', 'sync', 'hand',
        'PG15 MERGE + DELETE', NULL),
    (4, 'c  second sync, nothing to do', 'sync_again', 'diffsync', 'diff', 'diffsync',
        'diffsync.diff of case a', 1.00),
    (5, 'c  (second sync vs no-op diff)', 'sync_again', 'diffsync', 'diff_nothing', 'diffsync',
        'diffsync.diff, nothing to do', NULL),
    (6, 'd  engine, first sync', 'engine_first', 'diffsync', 'sync', 'diffsync',
        'diffsync.sync of case b', 3.00),
    (7, 'd  engine, second sync', 'engine_second', 'diffsync', 'sync', 'diffsync',
        'diffsync.sync of case b', 3.00);

\echo
\echo 'Times in seconds, medians over the repetitions (individual runs in "runs").'
SELECT c."case",
       pg_catalog.round(d.s, 3) AS "diffsync s",
       pg_catalog.round(b.s, 3) AS "baseline s",
       pg_catalog.round(d.s / NULLIF(b.s, 0), 2) AS ratio,
       CASE WHEN c.target IS NULL THEN 'info' ELSE '<= ' || c.target || 'x' END AS target,
       CASE WHEN d.s IS NULL OR b.s IS NULL THEN 'ERROR'
            WHEN c.target IS NULL THEN ''
            WHEN d.verified IS FALSE OR (b.verified IS FALSE AND c.base_contender <> 'diffsync') THEN 'MISS (not verified)'
            WHEN d.s / NULLIF(b.s, 0) <= c.target THEN 'PASS'
            ELSE 'MISS' END AS result,
       c.baseline,
       d.runs || ' vs ' || b.runs AS runs,
       concat_ws(', ',
                 CASE WHEN d.verified IS NOT NULL THEN 'diffsync verified ' || d.verified END,
                 CASE WHEN b.verified IS NOT NULL AND c.base_contender <> 'diffsync'
                      THEN 'baseline verified ' || b.verified END) AS checks
FROM cases c
LEFT JOIN med d ON d.section = c.ds_section AND d.contender = c.ds_contender
LEFT JOIN med b ON b.section = c.base_section AND b.contender = c.base_contender
ORDER BY c.ord;

\echo 'e  peak backend memory (MB, medians): VmHWM of a fresh backend after the warm-up ("before") and after'
\echo '   the statement(s) ("peak").  The warm-up maps the shared buffers the statement reads, but shared'
\echo '   buffers it writes (new row versions) or newly reads still count in VmHWM, so "private" estimates'
\echo '   the private peak as VmHWM after minus the shared memory and files mapped after (a lower bound).'
SELECT section, contender,
       pg_catalog.round(bench.median(pg_catalog.array_agg(hwm_before)) / 1024, 1) AS "before",
       pg_catalog.round(bench.median(pg_catalog.array_agg(hwm_after)) / 1024, 1) AS "peak",
       pg_catalog.round(bench.median(pg_catalog.array_agg(hwm_after - hwm_before)) / 1024, 1) AS "growth",
       pg_catalog.round(bench.median(pg_catalog.array_agg(hwm_after - shared_after)) / 1024, 1) AS "private",
       pg_catalog.string_agg(pg_catalog.round((hwm_after - shared_after) / 1024.0, 1)::text, '/' ORDER BY rep) AS "private runs"
FROM bench.timings
GROUP BY section, contender
ORDER BY pg_catalog.array_position(ARRAY['diff', 'diff_nothing', 'sync', 'sync_again', 'engine_first', 'engine_second'], section),
         contender DESC;

SELECT rep, section, contender, result
FROM bench.timings
WHERE section IN ('sync', 'sync_again', 'engine_first', 'engine_second')
ORDER BY section, contender, rep;

SELECT rep, phase, message AS "failed phases"
FROM bench.errors
ORDER BY rep, phase;
\endif
