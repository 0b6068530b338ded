-- test/bench/live_bench.sql: cost of live reconciliation (diffsync.attach)
--
-- A 100,000-row UPDATE on a 200,000-row table, three ways, each on its own
-- fresh copies, repeated and alternated (median reported):
--   hand      the same UPDATE applied by hand to both tables (the baseline)
--   live      the UPDATE on the source with a one-way engine attached, history off
--   live_hist the same with history on (versions of both sides)
--   plpgsql   a PL/pgSQL full-row jsonb history trigger (the usual hand-made history)
-- and the bytes a version takes for a jsonb-heavy row.
-- Run with test/bench/run_live_bench.sh.

\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS diffsync;

CREATE TABLE bench_seed AS
SELECT g AS id, g AS a, 'text ' || g AS b,
       jsonb_build_object('x', g, 'nested', jsonb_build_object('y', g, 'tags', jsonb_build_array('p', 'q'))) AS c
  FROM generate_series(1, 200000) g;

CREATE TABLE bench_times (run text, rep int, ms float8);

-- fresh copies: source s_<run>, target t_<run> with other column names
CREATE FUNCTION bench_fresh(run text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TABLE IF EXISTS %I, %I, %I CASCADE', 's_' || run, 't_' || run, 'h_' || run);
    EXECUTE format('CREATE TABLE %I AS SELECT * FROM bench_seed', 's_' || run);
    EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id)', 's_' || run);
    EXECUTE format('CREATE TABLE %I AS SELECT id AS key, a AS a_val, b, c FROM bench_seed', 't_' || run);
    EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (key)', 't_' || run);
    EXECUTE format('ANALYZE %I', 's_' || run);
    EXECUTE format('ANALYZE %I', 't_' || run);
END
$$;

CREATE FUNCTION bench_history_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO h_plpgsql (id, old_row, new_row, at) VALUES (NEW.id, to_jsonb(OLD), to_jsonb(NEW), now());
    UPDATE t_plpgsql SET a_val = NEW.a, b = NEW.b, c = NEW.c WHERE key = NEW.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION bench_setup(run text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bench_fresh(run);
    -- each repetition starts without history: the same versions each time
    DELETE FROM diffsync.history_versions WHERE adapter IN ('s_' || run, 't_' || run);
    DELETE FROM diffsync.history_batches WHERE adapter IN ('s_' || run, 't_' || run);
    IF run IN ('live', 'live_hist') THEN
        PERFORM diffsync.drop_engine(e) FROM (SELECT name AS e FROM diffsync.engine WHERE name = 'e_' || run) x;
        PERFORM diffsync.drop_adapter(a) FROM (SELECT name AS a FROM diffsync.adapter WHERE name IN ('s_' || run, 't_' || run)) x;
        PERFORM diffsync.create_adapter('s_' || run, ('s_' || run)::regclass, '{id}');
        PERFORM diffsync.create_adapter('t_' || run, ('t_' || run)::regclass, '{id}',
                                        columns => '{"id": "key", "a": "a_val"}');
        PERFORM diffsync.create_engine('e_' || run, 's_' || run, 't_' || run, 'source_to_target',
                                       'last_update_wins',
                                       jsonb_build_object('history', run = 'live_hist', 'notify', false));
        PERFORM diffsync.attach('e_' || run);
    ELSIF run = 'plpgsql' THEN
        CREATE TABLE h_plpgsql (id int, old_row jsonb, new_row jsonb, at timestamptz);
        CREATE TRIGGER hist AFTER UPDATE ON s_plpgsql FOR EACH ROW EXECUTE FUNCTION bench_history_trigger();
    END IF;
END
$$;

CREATE FUNCTION bench_run(run text, rep int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    EXECUTE format('UPDATE %I SET a = a + 1, c = jsonb_set(c, ''{nested,y}'', to_jsonb(a + 1)) WHERE id <= 100000', 's_' || run);
    IF run = 'hand' THEN
        EXECUTE 'UPDATE t_hand SET a_val = a_val + 1, c = jsonb_set(c, ''{nested,y}'', to_jsonb(a_val + 1)) WHERE key <= 100000';
    END IF;
    INSERT INTO bench_times VALUES (run, rep, extract(epoch FROM clock_timestamp() - t0) * 1000);
END
$$;

-- alternate the contenders, three repetitions, fresh copies each time
DO $$
DECLARE
    r text;
BEGIN
    FOR rep IN 1..3 LOOP
        FOREACH r IN ARRAY ARRAY['hand', 'live', 'live_hist', 'plpgsql'] LOOP
            PERFORM bench_setup(r);
            PERFORM bench_run(r, rep);
        END LOOP;
    END LOOP;
END
$$;

-- the live targets really equal their sources
SELECT 'live' AS engine, diffsync.diff_summary('s_live', 't_live') AS after_live_update
UNION ALL
SELECT 'live_hist', diffsync.diff_summary('s_live_hist', 't_live_hist');

\echo
\echo '== 100,000-row UPDATE on a 200,000-row table (median of 3, ms; ratio = / hand)'
WITH m AS (
    SELECT run, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM bench_times GROUP BY run
)
SELECT m.run, round(m.ms::numeric, 1) AS ms,
       round((m.ms / h.ms)::numeric, 2) AS ratio,
       CASE m.run WHEN 'live' THEN '<= 1.5' WHEN 'live_hist' THEN '<= 2.5' ELSE '' END AS target,
       CASE m.run WHEN 'live' THEN CASE WHEN m.ms / h.ms <= 1.5 THEN 'PASS' ELSE 'MISS' END
                  WHEN 'live_hist' THEN CASE WHEN m.ms / h.ms <= 2.5 THEN 'PASS' ELSE 'MISS' END
                  ELSE '' END AS result
  FROM m, m h
 WHERE h.run = 'hand'
 ORDER BY array_position(ARRAY['hand', 'live', 'live_hist', 'plpgsql'], m.run);

-- what numbering the versions costs, later: materialize_history() of the
-- last live_hist run's batches (200,000 versions), and what one indexed row
-- per version costs on its own (the floor of a design that would number and
-- store each version in the statement): inserting the 200,000 version rows
-- alone into history_versions, no lookup, no diff, no model rows
CREATE FUNCTION bench_materialize() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM diffsync.materialize_history('s_live_hist');
    PERFORM diffsync.materialize_history('t_live_hist');
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
CREATE TEMP TABLE batch_bytes AS
SELECT h.adapter, h.action, count(*) AS versions, round(avg(pg_column_size(h.*))) AS bytes_per_version
  FROM diffsync.history h WHERE h.adapter IN ('s_live_hist', 't_live_hist') GROUP BY 1, 2;
-- the arrays as stored (compressed, out of line)
CREATE TEMP TABLE batch_table_bytes AS
SELECT sum(pg_column_size(b.change_ids) + pg_column_size(b.keys) + pg_column_size(b.actions)
           + pg_column_size(b.states) + pg_column_size(b.patches) + pg_column_size(b.before_hashes)
           + pg_column_size(b.state_hashes)) AS bytes,
       sum(cardinality(b.change_ids)) AS versions
  FROM diffsync.history_batches b WHERE b.adapter IN ('s_live_hist', 't_live_hist');
CREATE TEMP TABLE materialize_ms AS SELECT bench_materialize() AS ms;
CREATE TEMP TABLE floor_versions AS
SELECT key, version, action, state, patch, state_hash
  FROM diffsync.history_versions WHERE adapter IN ('s_live_hist', 't_live_hist') LIMIT 200000;
CREATE FUNCTION bench_floor() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    INSERT INTO diffsync.history_versions (adapter, key, version, action, state, patch, state_hash)
    SELECT 'floor', key, version + 1000, action, state, patch, state_hash FROM floor_versions;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
CREATE TEMP TABLE floor_ms (ms float8);
BEGIN;
INSERT INTO floor_ms SELECT bench_floor();
ROLLBACK;
BEGIN;
INSERT INTO floor_ms SELECT bench_floor();
COMMIT;
DELETE FROM diffsync.history_versions WHERE adapter = 'floor';
\echo
\echo '== later, outside the statement (info; ratio = / hand):'
\echo '   materialize: numbering and storing the 200,000 batched versions of the last live_hist UPDATE'
\echo '   one row each: inserting those 200,000 versions alone as indexed rows (what numbering them in the statement would cost at least)'
SELECT 'materialize' AS what, round(m.ms::numeric, 1) AS ms, round((m.ms / h.ms)::numeric, 2) AS ratio
  FROM materialize_ms m,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM bench_times WHERE run = 'hand') h
UNION ALL
SELECT 'one row each', round(f.ms::numeric, 1), round((f.ms / h.ms)::numeric, 2)
  FROM (SELECT ms FROM floor_ms ORDER BY ms DESC LIMIT 1) f,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM bench_times WHERE run = 'hand') h;

\echo
\echo '== history size per version, while batched (the full state rides along until numbered)'
SELECT * FROM batch_bytes ORDER BY 1, 2;
SELECT bytes AS history_batches_bytes, versions, round(bytes::numeric / versions) AS stored_bytes_per_version
  FROM batch_table_bytes;
\echo
\echo '== history size per version, numbered (materialized)'
SELECT h.adapter, h.action, count(*) AS versions,
       count(h.state) AS with_full_state,
       round(avg(pg_column_size(h.*))) AS bytes_per_version
  FROM diffsync.history h
 WHERE h.adapter IN ('s_live_hist', 't_live_hist')
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT round(avg(pg_column_size(p.*))) AS plpgsql_full_row_bytes_per_version FROM h_plpgsql p;

-- a jsonb-heavy row (~50 KB document), one field changed, through the live engine
CREATE TABLE heavy_s (id int PRIMARY KEY, doc jsonb);
CREATE TABLE heavy_t (id int PRIMARY KEY, doc jsonb);
INSERT INTO heavy_s SELECT 1, jsonb_build_object('items', (SELECT jsonb_agg(jsonb_build_object('n', g, 'text', repeat('x', 40))) FROM generate_series(1, 1000) g), 'rev', 1);
INSERT INTO heavy_t SELECT * FROM heavy_s;
SELECT diffsync.create_adapter('heavy_s', 'heavy_s', '{id}');
SELECT diffsync.create_adapter('heavy_t', 'heavy_t', '{id}');
SELECT diffsync.create_engine('heavy', 'heavy_s', 'heavy_t', 'source_to_target', 'last_update_wins', '{"notify": false}');
SELECT diffsync.attach('heavy');
UPDATE heavy_s SET doc = jsonb_set(doc, '{rev}', to_jsonb(r)) FROM generate_series(2, 3) r WHERE id = 1;
UPDATE heavy_s SET doc = jsonb_set(doc, '{rev}', '4') WHERE id = 1;
\echo
\echo '== a ~50 KB jsonb row, one field changed per version: bytes while batched (full states ride along)'
SELECT b.adapter, sum(cardinality(b.change_ids)) AS versions,
       sum(pg_column_size(b.*)) AS batch_bytes,
       round(sum(pg_column_size(b.*))::numeric / sum(cardinality(b.change_ids))) AS bytes_per_version
  FROM diffsync.history_batches b WHERE b.adapter LIKE 'heavy%' GROUP BY 1 ORDER BY 1;
SELECT diffsync.materialize_history('heavy_s') + diffsync.materialize_history('heavy_t') AS materialized;
\echo '== the same, numbered: bytes stored per version'
-- as stored in history_versions (state and patch as stored: compressed
-- where PostgreSQL compresses them), against the row's document as stored
SELECT h.adapter, h.version, h.action, h.state IS NOT NULL AS full_state,
       pg_column_size(h.*) AS bytes, pg_column_size(h.state) AS state_bytes,
       pg_column_size(h.patch) AS patch_bytes,
       (SELECT pg_column_size(doc) FROM heavy_s) AS row_doc_bytes
  FROM diffsync.history_versions h WHERE h.adapter LIKE 'heavy%' ORDER BY 1, 2;
