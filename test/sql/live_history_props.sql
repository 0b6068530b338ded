--
-- live_history_props: seeded random statements on tables with an attached
-- engine, history on.  After every statement, for every key with history on
-- either side:
--   * its latest version, rebuilt from the history (the last full state and
--     the patches after it), equals the key's current model row (NULL when
--     the key is gone, its latest version a delete);
--   * its versions are numbered 1..n, without gap or repeat;
-- and the engine's two sides agree (diff_summary finds nothing to do).
-- After some statements (at random), the versions live statements left in
-- batches are materialized: the history view must read the same before and
-- after, and no batch be left.
-- Statements: multi-row updates (scalars, nested jsonb, no-op rewrites,
-- identifier changes), inserts, deletes, TRUNCATE, restore() of an earlier
-- version; first through a one-way engine (the fast path: last_update_wins,
-- a transform (reverse(), its own inverse) and a composite key on the source, renamed columns on
-- the target), then a bidirectional one (the general path) with statements
-- on both sides.  The output is the number of statements and checks (fixed
-- by the seed) and the failures (none).
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;
SELECT setseed(0.4242);

CREATE TABLE regress_ph_s (id int, k text, a int, doc jsonb, note text, PRIMARY KEY (id, k));
CREATE TABLE regress_ph_t (pid int, pk text, a_val int, doc jsonb, note text, PRIMARY KEY (pid, pk));
INSERT INTO regress_ph_s
SELECT g, 'k' || (g % 3), g, jsonb_build_object('n', g, 'tags', jsonb_build_array('x', g % 5)), 'Note ' || g
  FROM generate_series(1, 60) g;
INSERT INTO regress_ph_t SELECT id, k, a, doc, reverse(note) FROM regress_ph_s;
SELECT diffsync.create_adapter('ph_s', 'regress_ph_s', '{id,k}', '{a,doc,note}',
                               columns => '{"note": {"column": "note", "read": "reverse(note)", "write": "reverse(note)"}}');
SELECT diffsync.create_adapter('ph_t', 'regress_ph_t', '{id,k}', '{a,doc,note}',
                               columns => '{"id": "pid", "k": "pk", "a": "a_val"}');

CREATE TABLE failures (step int, property text, detail text);
CREATE TABLE counters (what text PRIMARY KEY, n int NOT NULL DEFAULT 0);
CREATE TABLE statements (step int PRIMARY KEY, sql text);
INSERT INTO counters VALUES ('statements', 0), ('checks', 0), ('materializations', 0);

-- the properties, after statement step
CREATE FUNCTION check_props(step int, engine_src text, engine_dst text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ad text;
    r record;
    s jsonb;
BEGIN
    FOREACH ad IN ARRAY ARRAY[engine_src, engine_dst] LOOP
        FOR r IN
            SELECT h.key, max(h.version) AS latest, count(*) AS n, count(DISTINCT h.version) AS nd,
                   (SELECT l.key || l.attrs FROM diffsync.load(ad) l WHERE l.key = h.key) AS cur
              FROM diffsync.history h WHERE h.adapter = ad GROUP BY h.key
        LOOP
            UPDATE counters c SET n = c.n + 1 WHERE c.what = 'checks';
            s := diffsync.state_at_version(ad, r.key, r.latest);
            IF s IS DISTINCT FROM r.cur THEN
                INSERT INTO failures VALUES (step, 'latest version = current row',
                    format('%s %s: rebuilt %s, current %s', ad, r.key, s, r.cur));
            END IF;
            IF r.n <> r.latest OR r.nd <> r.n THEN
                INSERT INTO failures VALUES (step, 'versions 1..n',
                    format('%s %s: %s versions, latest %s', ad, r.key, r.n, r.latest));
            END IF;
        END LOOP;
    END LOOP;
    s := diffsync.diff_summary(engine_src, engine_dst);
    IF (s->>'create')::int + (s->>'update')::int + (s->>'delete')::int <> 0 THEN
        INSERT INTO failures VALUES (step, 'sides agree', s::text);
    END IF;
END
$$;

-- one random statement on relation rel (source side column names when
-- src, target side otherwise)
CREATE FUNCTION random_statement(rel text, src boolean, allow_truncate boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    id_col text := CASE WHEN src THEN 'id' ELSE 'pid' END;
    k_col text := CASE WHEN src THEN 'k' ELSE 'pk' END;
    a_col text := CASE WHEN src THEN 'a' ELSE 'a_val' END;
    m int := 2 + floor(random() * 5)::int;
    rem int := floor(random() * m)::int;
    pick float8 := random();
    sql text;
    hk jsonb;
    hv bigint;
BEGIN
    IF allow_truncate THEN
        RETURN format('TRUNCATE %I', rel);
    END IF;
    IF pick < 0.22 THEN
        sql := format('UPDATE %I SET %I = %I + 1 WHERE %I %% %s = %s', rel, a_col, a_col, id_col, m, rem);
    ELSIF pick < 0.40 THEN
        sql := format('UPDATE %I SET doc = jsonb_set(doc, ''{tags,1}'', to_jsonb(%s)) WHERE %I %% %s = %s',
                      rel, floor(random() * 100)::int, id_col, m, rem);
    ELSIF pick < 0.48 THEN
        sql := format('UPDATE %I SET note = note WHERE %I %% %s = %s', rel, id_col, m, rem);
    ELSIF pick < 0.56 THEN
        sql := format('UPDATE %I SET %I = %I || ''x'' WHERE %I %% %s = %s AND %I < 40',
                      rel, k_col, k_col, id_col, m + 7, rem, id_col);
    ELSIF pick < 0.72 THEN
        sql := format('INSERT INTO %I SELECT g, ''k'' || (g %% 3), g, jsonb_build_object(''n'', g, ''tags'', jsonb_build_array(''y'', g)), ''New '' || g '
                      'FROM generate_series(%s, %s) g ON CONFLICT DO NOTHING',
                      rel, 100 + floor(random() * 60)::int, 100 + floor(random() * 60)::int + floor(random() * 8)::int);
    ELSIF pick < 0.88 THEN
        sql := format('DELETE FROM %I WHERE %I %% %s = %s AND random() < 0.5', rel, id_col, m + 3, rem);
    ELSE
        -- restore a random earlier version of a random key of this side
        SELECT h.key, h.version INTO hk, hv FROM diffsync.history h
         WHERE h.adapter = CASE WHEN src THEN 'ph_s' ELSE 'ph_t' END
         ORDER BY h.change_id
        OFFSET floor(random() * (SELECT count(*) FROM diffsync.history h
                                  WHERE h.adapter = CASE WHEN src THEN 'ph_s' ELSE 'ph_t' END))::int
         LIMIT 1;
        IF hk IS NULL THEN
            RETURN format('UPDATE %I SET %I = %I WHERE false', rel, a_col, a_col);
        END IF;
        sql := format('SELECT diffsync.restore(%L, %L, %s)', CASE WHEN src THEN 'ph_s' ELSE 'ph_t' END, hk, hv);
    END IF;
    RETURN sql;
END
$$;

CREATE FUNCTION run_statements(nstatements int, bidirectional boolean, engine_src text, engine_dst text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    sql text;
    on_source boolean;
    versions_before bigint;
    view_before jsonb;
BEGIN
    FOR step IN 1..nstatements LOOP
        on_source := NOT bidirectional OR random() < 0.5;
        sql := random_statement(CASE WHEN on_source THEN 'regress_ph_s' ELSE 'regress_ph_t' END,
                                on_source, step % 20 = 0);
        versions_before := (SELECT count(*) FROM diffsync.history);
        BEGIN
            EXECUTE sql;
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO failures VALUES (step, 'statement runs', sqlstate || ': ' || sqlerrm || ' in ' || sql);
        END;
        IF sql LIKE '%SET note = note%'
           AND (SELECT count(*) FROM diffsync.history) <> versions_before THEN
            INSERT INTO failures VALUES (step, 'no version for a no-op write', sql);
        END IF;
        UPDATE counters c SET n = c.n + 1 WHERE c.what = 'statements';
        INSERT INTO statements VALUES ((SELECT n FROM counters WHERE what = 'statements'), sql);
        PERFORM check_props((SELECT n FROM counters WHERE what = 'statements'), engine_src, engine_dst);
        -- now and then, the batched versions are numbered and stored: the
        -- history reads the same before and after
        IF random() < 0.3 THEN
            view_before := (SELECT jsonb_agg(to_jsonb(h) - 'batch_id' - 'full_state' ORDER BY h.change_id) FROM diffsync.history h);
            PERFORM diffsync.materialize_history();
            UPDATE counters c SET n = c.n + 1 WHERE c.what = 'materializations';
            IF (SELECT jsonb_agg(to_jsonb(h) - 'batch_id' - 'full_state' ORDER BY h.change_id) FROM diffsync.history h)
               IS DISTINCT FROM view_before THEN
                INSERT INTO failures VALUES (step, 'materializing changes nothing visible', sql);
            END IF;
            IF EXISTS (SELECT 1 FROM diffsync.history_batches) THEN
                INSERT INTO failures VALUES (step, 'materializing leaves no batch', sql);
            END IF;
        END IF;
    END LOOP;
END
$$;

-- one-way: the fast path
SELECT diffsync.create_engine('ph_oneway', 'ph_s', 'ph_t', 'source_to_target', 'last_update_wins',
                              '{"notify": false}');
SELECT diffsync.attach('ph_oneway');
SELECT run_statements(60, false, 'ph_s', 'ph_t');
SELECT diffsync.drop_engine('ph_oneway');

-- bidirectional: the general path, statements on both sides
SELECT diffsync.create_engine('ph_both', 'ph_s', 'ph_t', 'bidirectional', 'last_update_wins',
                              '{"notify": false}');
SELECT diffsync.sync_engine('ph_both')->'summary'->'conflicts' AS conflicts;
SELECT diffsync.attach('ph_both');
SELECT run_statements(60, true, 'ph_s', 'ph_t');

SELECT * FROM counters ORDER BY what;
SELECT CASE WHEN sql LIKE 'SELECT diffsync.restore%' THEN 'restore'
            WHEN sql LIKE '%SET note = note%' THEN 'no-op update'
            WHEN sql LIKE '%|| ''x''%' THEN 'identifier update'
            ELSE split_part(sql, ' ', 1) END AS statement, count(*)
  FROM statements GROUP BY 1 ORDER BY 1;
SELECT count(*) > 100 AS versions_recorded FROM diffsync.history;
SELECT array_agg(DISTINCT action ORDER BY action) AS actions FROM diffsync.history;
-- the first failure, with the statements up to it
SELECT * FROM failures ORDER BY step, property LIMIT 5;
SELECT s.* FROM statements s, (SELECT min(step) AS first FROM failures) f
 WHERE s.step BETWEEN f.first - 3 AND f.first ORDER BY s.step;

SELECT diffsync.drop_engine('ph_both');
DROP EXTENSION diffsync;
DROP TABLE regress_ph_s, regress_ph_t;
