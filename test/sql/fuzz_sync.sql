--
-- fuzz_sync: seeded randomized robustness suite for adapters, table diff,
-- sync, engines, conflicts, history and live triggers.
--
-- Each round builds a source/target table pair (and a child pair) with a
-- random schema: int, bigint, text, numeric, float8, jsonb, bool,
-- timestamptz and array columns, composite keys, odd column names, with or
-- without a primary key; random rows (NULLs, duplicates, NaN, infinities,
-- odd jsonb).  Then it makes a few hundred random calls of every function
-- with mostly hostile arguments: adapter names and expressions built for
-- injection ('x"; drop table t; --', filters such as 'true; drop table t'
-- and '1) or (1=1'), unicode and over-long names, NULLs everywhere, random
-- option objects (unknown keys, wrong types), directions, strategies,
-- conflict ids, versions, plus DML and DDL on the tables under the adapters.
--
-- Every call runs in its own subtransaction.  Checked for every call:
--   * an error has a SQLSTATE the README documents (never XX000, no crash);
--   * a call that raised changed nothing (user tables and diffsync's
--     catalogs have the same checksum as before);
--   * read-only calls (load, diff, diff_summary, diff_text, history, ...)
--     and dry runs write no user table; a one-way sync never writes the side
--     it reads from (unless an attached engine reconciles that write);
--   * diff and diff_summary agree on the counts;
--   * after a successful plain one-way sync (source_wins / target_wins, no
--     restricting options, adapters without filters or transforms)
--     diff_summary finds nothing left to do.
-- A fixed corpus of hostile calls must each end with the SQLSTATE it lists.
-- The output is the number of calls (fixed by the seed), the unexpected
-- SQLSTATEs (none) and the property failures (none).
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;
CREATE ROLE regress_fuzz_nopriv;
CREATE SCHEMA regress_fuzz_sync;
GRANT USAGE ON SCHEMA regress_fuzz_sync TO regress_fuzz_nopriv;
SET search_path = regress_fuzz_sync, public;
SELECT setseed(0.2718);

CREATE TABLE seen (fn text, state text, n int NOT NULL DEFAULT 0,
                   first_message text, first_input text, PRIMARY KEY (fn, state));
CREATE TABLE failures (property text, input text);
-- the SQLSTATEs the README documents (Errors), plus 42701 (duplicate field,
-- sync contract), 42P01 (relation of a dropped table), 42809 (an adapter
-- over a sequence) and 42846 (an updated_at column that cannot be cast to
-- timestamptz); PostgreSQL's own errors for a user's expression that
-- parses but is not valid there: 42803 (an aggregate in a filter), 22012; and
-- write errors of the tables themselves: 23505 (a key hidden by a filter),
-- 23502 (NOT NULL)
CREATE TABLE allowed (state text PRIMARY KEY);
INSERT INTO allowed VALUES ('22023'), ('22P02'), ('2203A'), ('22033'), ('DS001'), ('54001'),
    ('42704'), ('42710'), ('42703'), ('42601'), ('42804'), ('42883'), ('42501'),
    ('22004'), ('23505'), ('2BP01'), ('55000'), ('P0002'), ('0A000'), ('42701'),
    ('42P01'), ('42809'), ('42846'), ('42803'), ('22012'), ('23502'), ('42939');

CREATE FUNCTION note(p_fn text, p_state text, p_msg text, p_input text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO regress_fuzz_sync.seen AS s VALUES (p_fn, p_state, 1, p_msg, left(p_input, 300))
    ON CONFLICT (fn, state) DO UPDATE SET n = s.n + 1
$$;

CREATE FUNCTION fail(p_property text, p_input text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO regress_fuzz_sync.failures VALUES (p_property, p_input)
$$;

CREATE FUNCTION pick(pool text[]) RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT pool[1 + floor(random() * cardinality(pool))::int]
$$;

CREATE FUNCTION chance(p float8) RETURNS boolean
LANGUAGE sql VOLATILE AS $$ SELECT random() < p $$;

-- resolvers for the manual strategy
CREATE FUNCTION res_source(c jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT c->'source_value' $$;
CREATE FUNCTION res_null(c jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT NULL::jsonb $$;
CREATE FUNCTION res_garbage(c jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"no": ["such", "value"]}'::jsonb $$;
CREATE FUNCTION res_text(c jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
CREATE FUNCTION res_err(c jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'resolver refuses' USING ERRCODE = 'invalid_parameter_value';
END $$;

--
-- Schemas and rows
--
-- column types and a SQL literal generator for each
CREATE FUNCTION rand_type() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT regress_fuzz_sync.pick(ARRAY['int', 'bigint', 'text', 'numeric', 'float8', 'jsonb',
                                        'bool', 'timestamptz', 'int[]', 'text[]', 'text', 'jsonb'])
$$;

CREATE FUNCTION rand_literal(typ text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF chance(0.12) THEN
        RETURN 'NULL';
    END IF;
    RETURN CASE typ
        WHEN 'int' THEN quote_literal(pick(ARRAY['0', '1', '2', '3', '-1', '2147483647', '7']))
        WHEN 'bigint' THEN quote_literal(pick(ARRAY['0', '1', '9223372036854775807', '-9223372036854775808', '5']))
        WHEN 'text' THEN quote_literal(pick(ARRAY['', 'x', 'y', 'ü', E'a\nb', 'O''Reilly', 'x"; drop table t; --',
                                                  repeat('z', 3000), '{"a": 1}', '\', '%s', '日本語']))
        WHEN 'numeric' THEN quote_literal(pick(ARRAY['0', '1.0', '1.50', '-0', '1e20', 'NaN', 'Infinity',
                                                     '-Infinity', '12345678901234567890.123', '1']))
        WHEN 'float8' THEN quote_literal(pick(ARRAY['0', '-0', '1.5', 'NaN', 'Infinity', '1e308', '5e-324', '2']))
        WHEN 'jsonb' THEN quote_literal(pick(ARRAY['{}', '[]', 'null', 'null', 'null', '1', '"s"', '{"a": 1, "b": [1, 2]}',
                                                   '{"a": 2, "b": [2, 1]}', '{"": {"~1": "/"}}', '[[[[[1]]]]]',
                                                   '{"a": null}', '{"meta": {"lang": "en"}}', '1e300']))
        WHEN 'bool' THEN pick(ARRAY['true', 'false'])
        WHEN 'timestamptz' THEN quote_literal(pick(ARRAY['2024-01-01 00:00+00', 'infinity', '-infinity',
                                                         '1970-01-01 00:00+00', '2024-06-30 12:34:56.789+02']))
        WHEN 'int[]' THEN quote_literal(pick(ARRAY['{}', '{1,2}', '{NULL}', '{{1,2},{3,4}}', '{2,1}']))
        WHEN 'text[]' THEN quote_literal(pick(ARRAY['{}', '{a,"b c"}', '{NULL}', '{"\""}', '{a}']))
        ELSE 'NULL' END || '::' || typ;
END
$$;

CREATE FUNCTION rand_colname(i int) RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT regress_fuzz_sync.pick(ARRAY['a' || i, 'a' || i, 'a' || i, 'Col ' || i, 'ü' || i,
                                        'x"y' || i, 'select' || i, 'a' || i || '; drop table t'])
$$;

-- the layout of a round: key and attribute columns of both tables
CREATE TABLE layout (tbl text, col text, field text, typ text, is_key boolean, pos int,
                     PRIMARY KEY (tbl, col));

-- build the tables of one round: s / d (source, target), cs / cd (children)
CREATE FUNCTION build_round() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    nkeys int := 1 + (random() < 0.3)::int;
    nattrs int := 1 + floor(random() * 4)::int;
    ktypes text[] := ARRAY[]::text[];
    cols text;
    t text;
    typ text;
    col text;
    pk boolean;
BEGIN
    DELETE FROM layout;
    FOR i IN 1 .. nkeys LOOP
        ktypes := ktypes || pick(ARRAY['int', 'text', 'int', 'bigint']);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['s', 'd'] LOOP
        FOR i IN 1 .. nkeys LOOP
            col := CASE WHEN t = 'd' AND chance(0.3) THEN 'key ' || i ELSE 'k' || i END;
            INSERT INTO layout VALUES (t, col, 'k' || i, ktypes[i], true, i);
        END LOOP;
        FOR i IN 1 .. nattrs LOOP
            IF t = 'd' AND chance(0.1) THEN
                CONTINUE;                       -- the target lacks this field
            END IF;
            typ := CASE WHEN t = 'd' AND chance(0.08) THEN rand_type()
                        ELSE (SELECT l.typ FROM layout l WHERE l.tbl = 's' AND l.field = 'f' || i) END;
            INSERT INTO layout VALUES (t, CASE WHEN t = 's' THEN rand_colname(i)
                                               ELSE pick(ARRAY['f' || i, 'f' || i, 'col_' || i, 'Ĉol ' || i]) END,
                                       'f' || i, coalesce(typ, rand_type()), false, 10 + i);
        END LOOP;
        IF chance(0.5) THEN
            INSERT INTO layout VALUES (t, 'ts', NULL, 'timestamptz', false, 50);
        END IF;
        pk := chance(0.75);
        SELECT string_agg(format('%I %s', l.col, l.typ), ', ' ORDER BY l.pos) INTO cols
          FROM layout l WHERE l.tbl = t;
        IF pk THEN
            cols := cols || ', PRIMARY KEY (' ||
                    (SELECT string_agg(format('%I', l.col), ', ' ORDER BY l.pos) FROM layout l
                      WHERE l.tbl = t AND l.is_key) || ')';
        END IF;
        EXECUTE format('CREATE TABLE %I (%s)', t, cols);
        EXECUTE format('CREATE VIEW %I AS SELECT * FROM %I', 'v_' || t, t);
    END LOOP;
    -- children: (parent key k1, child key c) with one attribute
    CREATE TABLE cs (k1 int, c text, val text, PRIMARY KEY (k1, c));
    CREATE TABLE cd (k1 int, c text, val text);
    CREATE SEQUENCE seq_s;
    GRANT SELECT ON d TO regress_fuzz_nopriv;
END
$$;

-- random rows: keys from a small domain (overlapping on both sides)
CREATE FUNCTION fill_round() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    vals text;
BEGIN
    FOREACH t IN ARRAY ARRAY['s', 'd'] LOOP
        FOR i IN 1 .. 2 + floor(random() * 8)::int LOOP
            SELECT string_agg(CASE WHEN l.is_key AND l.typ IN ('int', 'bigint')
                                   THEN CASE WHEN chance(0.03) THEN 'NULL' ELSE floor(random() * 6)::int::text END
                                   WHEN l.is_key THEN CASE WHEN chance(0.03) THEN 'NULL'
                                                           ELSE quote_literal(pick(ARRAY['a', 'b', 'c', 'ü', '', 'x y'])) END
                                   ELSE rand_literal(l.typ) END, ', ' ORDER BY l.pos)
              INTO vals FROM layout l WHERE l.tbl = t;
            BEGIN
                EXECUTE format('INSERT INTO %I VALUES (%s)', t, vals);
            EXCEPTION WHEN OTHERS THEN
                NULL;                   -- a duplicate key or a NULL in a primary key

            END;
        END LOOP;
    END LOOP;
    FOR i IN 1 .. floor(random() * 5)::int LOOP
        INSERT INTO cs VALUES (floor(random() * 6)::int, pick(ARRAY['p', 'q', 'r']), pick(ARRAY['1', '2', NULL]))
        ON CONFLICT DO NOTHING;
        INSERT INTO cd VALUES (floor(random() * 6)::int, pick(ARRAY['p', 'q', 'r']), pick(ARRAY['1', '3', NULL]));
    END LOOP;
END
$$;

--
-- Arguments
--
CREATE FUNCTION rand_adapter_name() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT regress_fuzz_sync.pick(ARRAY['src', 'dst', 'src', 'dst', 'src', 'dst', 'vsrc', 'csrc', 'cdst',
        'src2', NULL, '', ' ', 'x"; drop table t; --', 'ü名前', repeat('n', 100), E'tab\tname',
        'SRC', '%s%n', 'src''', 'nosuch'])
$$;

CREATE FUNCTION rand_engine_name() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN random() < 0.8 THEN regress_fuzz_sync.pick(ARRAY['e1', 'e2'])
                ELSE regress_fuzz_sync.pick(ARRAY['e3', NULL, '', 'x"; drop table t; --', repeat('e', 100), 'ё', 'nosuch']) END
$$;

CREATE FUNCTION rand_direction() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN random() < 0.85
                THEN regress_fuzz_sync.pick(ARRAY['source_to_target', 'source_to_target', 'target_to_source',
                                                  'bidirectional'])
                ELSE regress_fuzz_sync.pick(ARRAY[NULL, '', 'both', 'SOURCE_TO_TARGET', 'source_to_target ']) END
$$;

CREATE FUNCTION rand_strategy() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN random() < 0.85
                THEN regress_fuzz_sync.pick(ARRAY['source_wins', 'source_wins', 'target_wins', 'last_update_wins',
                                                  'merge', 'manual', 'manual'])
                ELSE regress_fuzz_sync.pick(ARRAY[NULL, '', 'newest', 'Source_Wins']) END
$$;

CREATE FUNCTION rand_expr() RETURNS text
LANGUAGE sql VOLATILE AS $f$
    SELECT regress_fuzz_sync.pick(ARRAY['k1 > 1', 'k1 IS NOT NULL', 'true', 'true; drop table t',
        '1) or (1=1', 'true) UNION SELECT 1 --', 'true --', 'true /*', '$$', '', ' ', 'NULL', 'k1',
        '(SELECT true)', 'k1 IN (SELECT 1)', 'nosuch = 1', '1/0 = 1', 'f1 IS NULL',
        'true) AS x FROM pg_class --', E'true\n) --', 'pg_sleep(0) IS NOT NULL', 'f2 IS NOT NULL',
        'row(1,2)', 'k1 = ANY(''{1,2}'')', '"k1" > 0', '(k1 > 0)::text', 'count(*) > 0', 'k1 > 0 ORDER BY 1'])
$f$;

CREATE FUNCTION rand_columns() RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c jsonb := '{}';
    f text;
BEGIN
    IF chance(0.05) THEN
        RETURN pick(ARRAY['[]', '1', 'null', '"k1"', '{"f1": 1}', '{"f1": null}', '{"f1": []}',
                          '{"f1": {"colum": "f1"}}', '{"f1": {"column": 1}}', '{"": "k1"}'])::jsonb;
    END IF;
    FOR i IN 1 .. floor(random() * 3)::int LOOP
        f := pick(ARRAY['k1', 'k2', 'f1', 'f2', 'f3', 'f4', 'extra', 'x"y']);
        c := c || jsonb_build_object(f,
            CASE WHEN chance(0.6) THEN to_jsonb(pick(ARRAY['k1', 'f1', 'key 1', 'Col 1', 'ü1', 'x"y1', 'nosuch',
                                                              'ts', 'select1', 'a1; drop table t', 'a1']))
                 ELSE jsonb_build_object('column', pick(ARRAY['f1', 'a1', 'k1', NULL]),
                                         'read', CASE WHEN chance(0.6) THEN rand_expr() END,
                                         'write', CASE WHEN chance(0.4) THEN rand_expr() END) END);
    END LOOP;
    RETURN c;
END
$$;

-- options for diff-like (sync false) and sync-like calls
CREATE FUNCTION rand_run_options(sync boolean) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    o jsonb := '{}';
    k text;
BEGIN
    IF chance(0.04) THEN
        RETURN pick(ARRAY['[]', '1', 'null', '"dry_run"'])::jsonb;
    END IF;
    FOR i IN 1 .. floor(random() * 3)::int LOOP
        k := pick(CASE WHEN sync THEN
                  ARRAY['dry_run', 'continue_on_failure', 'resolver', 'max_conflicts', 'batch_size', 'history',
                        'notify', 'notify_per', 'channel', 'skip_unmatched_src', 'skip_unmatched_dst',
                        'attributes', 'where', 'path', 'log_unchanged', 'bogus', '', 'dry_run', 'batch_size']
                  ELSE ARRAY['skip_unmatched_src', 'skip_unmatched_dst', 'attributes', 'where', 'path',
                             'log_unchanged', 'bogus', 'dry_run', ''] END);
        IF chance(0.6) THEN
            -- a valid value for the option
            o := o || jsonb_build_object(k, (CASE k
                WHEN 'resolver' THEN pick(ARRAY['"regress_fuzz_sync.res_source"', '"regress_fuzz_sync.res_null"',
                                                '"regress_fuzz_sync.res_garbage"', '"regress_fuzz_sync.res_err"'])
                WHEN 'max_conflicts' THEN pick(ARRAY['0', '1', '1000'])
                WHEN 'batch_size' THEN pick(ARRAY['1', '2', '1000'])
                WHEN 'notify_per' THEN pick(ARRAY['"row"', '"statement"'])
                WHEN 'channel' THEN pick(ARRAY['"c1"', '"a b; select"', '"ü"'])
                WHEN 'attributes' THEN pick(ARRAY['["f1"]', '["f1", "f2"]', '["f2"]'])
                WHEN 'where' THEN to_jsonb(pick(ARRAY['k1 IS NOT NULL', 'f1 IS NULL', 'true', 'f2 IS NOT NULL']))::text
                WHEN 'path' THEN pick(ARRAY['"/f1"', '"/f1/a"', '"/f2/b/0"', '"/f2"', '"/f1/meta/lang"'])
                ELSE pick(ARRAY['true', 'false'])
                END)::jsonb);
            CONTINUE;
        END IF;
        o := o || jsonb_build_object(k, (CASE k
            WHEN 'resolver' THEN pick(ARRAY['"regress_fuzz_sync.res_text"', '"nosuch"', '"a b"', '"x.y.z.w"', '1', '""'])
            WHEN 'max_conflicts' THEN pick(ARRAY['-1', '1e300', '1.5', '"5"', 'null', '2147483648'])
            WHEN 'batch_size' THEN pick(ARRAY['0', '-5', '1e300', '9223372036854775808', '"1"', '0.5'])
            WHEN 'notify_per' THEN pick(ARRAY['"table"', '1', '""'])
            WHEN 'channel' THEN pick(ARRAY['""', to_jsonb(repeat('c', 64))::text, '1', 'null'])
            WHEN 'attributes' THEN pick(ARRAY['[]', '["nosuch"]', '["k1"]', '"f1"', '[1]', '[null]', '["f1", "f1"]'])
            WHEN 'where' THEN to_jsonb(rand_expr())::text
            WHEN 'path' THEN pick(ARRAY['""', '"f1"', '"/~2"', '"/nosuch"', '"/k1"', '"/"', '1', '"/f1/-"', '"/f1/01"'])
            ELSE pick(ARRAY['null', '1', '"true"', '{}', '[]'])
            END)::jsonb);
    END LOOP;
    RETURN o;
END
$$;

CREATE FUNCTION rand_key_json() RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT regress_fuzz_sync.pick(ARRAY['{"k1": 1}', '{"k1": 2}', '{"k1": "a"}', '{"k1": 1, "k2": "a"}',
        '{"k1": 1, "k2": 1}', '{}', 'null', '[]', '1', '{"k1": null}', '{"nosuch": 1}', '{"k1": [1]}',
        '{"k1": 1, "c": "p"}', NULL, '{"k1": 3}', '{"k1": 0}', '{"k1": "b", "k2": 2}'])::jsonb
$$;

--
-- State checksums
--
CREATE FUNCTION table_sum(rel text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    IF to_regclass(rel) IS NULL THEN
        RETURN 'absent';
    END IF;
    EXECUTE format('SELECT md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) FROM %s x', '|', '', rel) INTO r;
    RETURN r;
END
$$;

-- checksums of the user tables and of diffsync's catalogs
CREATE FUNCTION sums() RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        's', regress_fuzz_sync.table_sum('regress_fuzz_sync.s'),
        'd', regress_fuzz_sync.table_sum('regress_fuzz_sync.d'),
        'cs', regress_fuzz_sync.table_sum('regress_fuzz_sync.cs'),
        'cd', regress_fuzz_sync.table_sum('regress_fuzz_sync.cd'),
        'adapter', regress_fuzz_sync.table_sum('diffsync.adapter'),
        'engine', regress_fuzz_sync.table_sum('diffsync.engine'),
        'conflicts', regress_fuzz_sync.table_sum('diffsync.conflicts'),
        'history', regress_fuzz_sync.table_sum('diffsync.history'),
        'base', regress_fuzz_sync.table_sum('diffsync.engine_base'))
$$;

-- the rows of the round's tables and the adapters, for failure reports
CREATE FUNCTION snapshot() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := '{}';
    t text;
    v jsonb;
BEGIN
    FOREACH t IN ARRAY ARRAY['s', 'd'] LOOP
        IF to_regclass(t) IS NOT NULL THEN
            EXECUTE format('SELECT coalesce(jsonb_agg(x::text ORDER BY x::text), %L) FROM %I x', '[]', t) INTO v;
            r := r || jsonb_build_object(t, v);
        END IF;
    END LOOP;
    RETURN r || jsonb_build_object('adapters',
        (SELECT jsonb_agg(jsonb_build_object('name', name, 'rel', relation::text, 'ids', identifiers,
                                             'attrs', attributes, 'columns', columns, 'filter', filter,
                                             'updated_at', updated_at) ORDER BY name)
           FROM diffsync.adapter));
END
$$;

-- are live triggers of an engine on the round's tables? (then a write to
-- one side is reconciled into the other by design)
CREATE FUNCTION live_attached() RETURNS boolean
LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM pg_trigger g
                    WHERE g.tgrelid IN (SELECT oid FROM pg_class
                                         WHERE relnamespace = 'regress_fuzz_sync'::regnamespace)
                      AND g.tgfoid = 'diffsync.live_reconcile'::regproc)
$$;

-- the relation an adapter reads ('' if unknown)
CREATE FUNCTION adapter_rel(name text) RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce((SELECT CASE c.relname WHEN 'v_s' THEN 's' WHEN 'v_d' THEN 'd' ELSE c.relname END
                       FROM diffsync.adapter a JOIN pg_class c ON c.oid = a.relation
                      WHERE a.name = $1), '')
$$;

-- an adapter that reads its relation as it is: no filter, no transform, no hierarchy
CREATE FUNCTION adapter_plain(name text) RETURNS boolean
LANGUAGE sql AS $$
    SELECT coalesce((SELECT a.filter IS NULL AND a.parent IS NULL
                            AND NOT EXISTS (SELECT 1 FROM diffsync.adapter ch WHERE ch.parent = a.name)
                            AND NOT EXISTS (SELECT 1 FROM jsonb_each(a.columns) e WHERE jsonb_typeof(e.value) <> 'string')
                       FROM diffsync.adapter a WHERE a.name = $1), false)
$$;

-- a random INSERT, UPDATE or DELETE on a table of the round
CREATE FUNCTION rand_dml() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    t text := pick(ARRAY['s', 'd', 's', 'd', 'cs', 'cd']);
    x float8 := random();
    kcol text;
    kval text;
    acol text;
    atyp text;
    vals text;
BEGIN
    IF t IN ('cs', 'cd') THEN
        RETURN CASE
            WHEN x < 0.4 THEN format('INSERT INTO %I VALUES (%s, %L, %L) ON CONFLICT DO NOTHING', t,
                                     floor(random() * 6)::int, pick(ARRAY['p', 'q', 'r']), pick(ARRAY['1', '2', NULL]))
            WHEN x < 0.7 THEN format('UPDATE %I SET val = %L WHERE k1 = %s', t, pick(ARRAY['1', '2', '9', NULL]),
                                     floor(random() * 6)::int)
            ELSE format('DELETE FROM %I WHERE c = %L', t, pick(ARRAY['p', 'q', 'r'])) END;
    END IF;
    SELECT l.col, CASE WHEN l.typ IN ('int', 'bigint') THEN floor(random() * 6)::int::text
                       ELSE quote_literal(pick(ARRAY['a', 'b', 'c', 'ü', '', 'x y'])) END
      INTO kcol, kval
      FROM layout l WHERE l.tbl = t AND l.is_key ORDER BY l.pos LIMIT 1;
    SELECT l.col, l.typ INTO acol, atyp
      FROM layout l WHERE l.tbl = t AND NOT l.is_key ORDER BY l.pos OFFSET floor(random() * 3)::int LIMIT 1;
    IF x < 0.35 THEN
        SELECT string_agg(CASE WHEN l.is_key AND l.typ IN ('int', 'bigint') THEN floor(random() * 6)::int::text
                               WHEN l.is_key THEN quote_literal(pick(ARRAY['a', 'b', 'c', 'ü', '', 'x y']))
                               ELSE rand_literal(l.typ) END, ', ' ORDER BY l.pos)
          INTO vals FROM layout l WHERE l.tbl = t;
        RETURN format('INSERT INTO %I VALUES (%s) ON CONFLICT DO NOTHING', t, vals);
    ELSIF x < 0.55 AND acol IS NOT NULL THEN
        RETURN format('UPDATE %I SET %I = %s WHERE %I = %s', t, acol, rand_literal(atyp), kcol, kval);
    ELSIF x < 0.65 THEN
        RETURN format('UPDATE %I SET %I = %I', t, kcol, kcol);
    ELSIF x < 0.75 AND acol IS NOT NULL THEN
        RETURN format('UPDATE %I SET %I = %s', t, acol, rand_literal(atyp));
    ELSE
        RETURN format('DELETE FROM %I WHERE %I = %s', t, kcol, kval);
    END IF;
END
$$;

--
-- One random call
--
CREATE FUNCTION rand_call(OUT fn text, OUT sql text) RETURNS record
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    x float8 := random();
    t text;
BEGIN
    IF x < 0.12 THEN
        fn := 'create_adapter';
        sql := format('SELECT diffsync.create_adapter(%L, %s, %L, %L, %L, %L, %L, %L, %L, %L)',
            rand_adapter_name(),
            pick(ARRAY['''s''::regclass', '''d''::regclass', '''v_s''::regclass', '''v_d''::regclass',
                       '''cs''::regclass', '''cd''::regclass', '''seq_s''::regclass', 'NULL', '1::oid::regclass',
                       '''pg_class''::regclass', '''s''::regclass', '''d''::regclass']),
            pick(ARRAY['{k1}', '{k1,k2}', '{k1}', '{k1,c}', '{}', '{nosuch}', '{k1,k1}', '{NULL}', NULL, '{"x\"y1"}']),
            CASE WHEN chance(0.6) THEN NULL
                 ELSE pick(ARRAY['{f1}', '{f1,f2}', '{}', '{nosuch}', '{f1,f1}', '{k1}', '{NULL}', '{val}', '{ts}']) END,
            CASE WHEN chance(0.5) THEN '{}' ELSE rand_columns()::text END,
            CASE WHEN chance(0.7) THEN NULL ELSE rand_expr() END,
            CASE WHEN chance(0.7) THEN NULL ELSE pick(ARRAY['ts', 'f1', 'k1', 'nosuch', '"; drop table t; --', '', 'TS']) END,
            CASE WHEN chance(0.85) THEN NULL ELSE rand_adapter_name() END,
            CASE WHEN chance(0.85) THEN NULL
                 ELSE pick(ARRAY['{"k1": "k1"}', '{"k1": "k2"}', '{}', '[]', '{"nosuch": "k1"}', '{"k1": 1}', 'null']) END,
            CASE WHEN chance(0.8) THEN NULL ELSE pick(ARRAY['m', 'src', 'dst', '', 'x"y']) END);
        -- well-formed adapters are drawn often enough to get real syncs
        IF chance(0.55) THEN
            t := pick(ARRAY['s', 'd', 'v_s', 'cs', 'cd']);
            sql := format('SELECT diffsync.create_adapter(%L, %L::regclass, %L, columns => %L)',
                CASE t WHEN 's' THEN 'src' WHEN 'd' THEN 'dst' WHEN 'v_s' THEN 'vsrc' WHEN 'cs' THEN 'csrc' ELSE 'cdst' END,
                t,
                CASE WHEN t IN ('cs', 'cd') THEN '{c}' ELSE '{k1,k2}' END,
                '{}');
            -- the identifiers and renames come from the layout at run time
            sql := sql || ' /*layout*/';
            IF t IN ('cs', 'cd') AND chance(0.7) THEN
                sql := format('SELECT diffsync.create_adapter(%L, %L::regclass, %L, parent => %L, parent_key => %L, model => %L)',
                              CASE t WHEN 'cs' THEN 'csrc' ELSE 'cdst' END, t, '{c}',
                              CASE t WHEN 'cs' THEN 'src' ELSE 'dst' END, '{"k1": "k1"}', 'child');
            END IF;
        END IF;
    ELSIF x < 0.16 THEN
        fn := 'drop_adapter';
        sql := format('SELECT diffsync.drop_adapter(%L)', rand_adapter_name());
    ELSIF x < 0.20 THEN
        fn := 'load';
        sql := format('SELECT count(*) FROM diffsync.load(%L)', rand_adapter_name());
    ELSIF x < 0.30 THEN
        fn := pick(ARRAY['diff', 'diff_summary', 'diff_text']);
        sql := format('SELECT %s FROM diffsync.%s(%L, %L, %L) r',
                      CASE fn WHEN 'diff' THEN 'count(*)::text' ELSE 'r::text' END, fn,
                      rand_adapter_name(), rand_adapter_name(),
                      CASE WHEN chance(0.5) THEN '{}' ELSE rand_run_options(false)::text END);
    ELSIF x < 0.43 THEN
        -- a plain one-way sync, after which nothing is left to do
        fn := 'sync';
        sql := CASE WHEN chance(0.5)
                    THEN 'SELECT diffsync.sync(''src'', ''dst'', ''source_to_target'', ''source_wins'')::text'
                    ELSE 'SELECT diffsync.sync(''src'', ''dst'', ''target_to_source'', ''target_wins'')::text' END;
    ELSIF x < 0.48 THEN
        fn := 'sync';
        sql := format('SELECT diffsync.sync(%L, %L, %L, %L, %L)::text',
                      CASE WHEN chance(0.8) THEN 'src' ELSE rand_adapter_name() END,
                      CASE WHEN chance(0.8) THEN 'dst' ELSE rand_adapter_name() END,
                      rand_direction(), rand_strategy(),
                      CASE WHEN chance(0.5) THEN '{}' ELSE rand_run_options(true)::text END);
    ELSIF x < 0.53 THEN
        fn := 'create_engine';
        sql := format('SELECT diffsync.create_engine(%L, %L, %L, %L, %L, %L)',
                      rand_engine_name(),
                      CASE WHEN chance(0.8) THEN 'src' ELSE rand_adapter_name() END,
                      CASE WHEN chance(0.8) THEN 'dst' ELSE rand_adapter_name() END,
                      rand_direction(), rand_strategy(),
                      CASE WHEN chance(0.6) THEN '{}' ELSE rand_run_options(true)::text END);
    ELSIF x < 0.55 THEN
        fn := 'drop_engine';
        sql := format('SELECT diffsync.drop_engine(%L)', rand_engine_name());
    ELSIF x < 0.62 THEN
        fn := 'sync_engine';
        sql := format('SELECT diffsync.sync_engine(%L, %L)::text', rand_engine_name(),
                      CASE WHEN chance(0.6) THEN '{}' ELSE rand_run_options(true)::text END);
    ELSIF x < 0.65 THEN
        fn := 'resolve_conflict';
        sql := format('SELECT diffsync.resolve_conflict(%s, %L, %L)::text',
                      pick(ARRAY['(SELECT min(conflict_id) FROM diffsync.conflicts WHERE status = ''open'')',
                                 '(SELECT max(conflict_id) FROM diffsync.conflicts)', '0', '-1', 'NULL',
                                 '9223372036854775807']),
                      pick(ARRAY['source', 'target', 'value', NULL, '', 'SOURCE']),
                      pick(ARRAY[NULL, '1', '"x"', 'null', '{"f1": 1}', '[]']));
    ELSIF x < 0.69 THEN
        fn := 'commit_version';
        sql := format('SELECT diffsync.commit_version(%L, %L, %L)', rand_adapter_name(), rand_key_json(),
                      pick(ARRAY[NULL, 'msg', '', repeat('m', 5000)]));
    ELSIF x < 0.72 THEN
        fn := 'restore';
        sql := format('SELECT diffsync.restore(%L, %L, %s)::text', rand_adapter_name(), rand_key_json(),
                      pick(ARRAY['1', '2', '0', '-1', 'NULL', '9223372036854775807', '3']));
    ELSIF x < 0.76 THEN
        fn := pick(ARRAY['history', 'state_at_version', 'state_as_of', 'changes_since', 'prune_history']);
        sql := CASE fn
            WHEN 'history' THEN format('SELECT count(*) FROM diffsync.history(%L, %L)', rand_adapter_name(), rand_key_json())
            WHEN 'state_at_version' THEN format('SELECT diffsync.state_at_version(%L, %L, %s)::text', rand_adapter_name(),
                                                rand_key_json(), pick(ARRAY['1', '2', '0', '-1', 'NULL']))
            WHEN 'state_as_of' THEN format('SELECT diffsync.state_as_of(%L, %L, %s)::text', rand_adapter_name(),
                                           rand_key_json(), pick(ARRAY['now()', '''infinity''', '''-infinity''', 'NULL']))
            WHEN 'changes_since' THEN format('SELECT count(*) FROM diffsync.changes_since(%s)',
                                             pick(ARRAY['0', '1', '-1', 'NULL', '9223372036854775807',
                                                        '(SELECT max(change_id) FROM diffsync.history)']))
            ELSE format('SELECT diffsync.prune_history(%s)',
                        pick(ARRAY['''1 day''', '''-1 day''', 'NULL', '''0''', '''100 years''']))
            END;
    ELSIF x < 0.80 THEN
        fn := pick(ARRAY['attach', 'detach']);
        sql := format('SELECT diffsync.%s(%L)', fn, rand_engine_name());
    ELSIF x < 0.98 THEN
        -- DML under the adapters (live triggers fire when attached)
        fn := 'dml';
        sql := rand_dml();
    ELSE
        -- DDL under the adapters: renamed, dropped or retyped columns, dropped relations
        fn := 'ddl';
        sql := pick(ARRAY['ALTER TABLE s RENAME COLUMN k1 TO k1_renamed', 'ALTER TABLE d ADD COLUMN extra int',
                          'ALTER TABLE d DROP COLUMN IF EXISTS f1', 'ALTER TABLE s ALTER COLUMN k1 TYPE text',
                          'DROP VIEW IF EXISTS v_s', 'ALTER TABLE cs RENAME TO cs_moved',
                          'ALTER TABLE cs_moved RENAME TO cs', 'ALTER TABLE d RENAME COLUMN k1_renamed TO k1',
                          'ALTER TABLE s RENAME COLUMN k1_renamed TO k1']);
    END IF;
END
$$;

-- an adapter over a table of the round with the layout's real identifiers and renames
CREATE FUNCTION layout_adapter(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    name text := substring(sql FROM 'create_adapter\(''([a-z]+)''');
    t text := substring(sql FROM ', ''([a-z_]+)''::regclass');
    base text := CASE t WHEN 'v_s' THEN 's' WHEN 'v_d' THEN 'd' ELSE t END;
    ids text[];
    cols jsonb;
    ts text;
BEGIN
    IF base NOT IN ('s', 'd') THEN
        RETURN replace(sql, ' /*layout*/', '');
    END IF;
    SELECT array_agg(l.field ORDER BY l.pos) FILTER (WHERE l.is_key),
           coalesce(jsonb_object_agg(l.field, l.col) FILTER (WHERE l.field IS NOT NULL AND l.field <> l.col), '{}'),
           min(l.col) FILTER (WHERE l.col = 'ts')
      INTO ids, cols, ts
      FROM layout l WHERE l.tbl = base;
    RETURN format('SELECT diffsync.create_adapter(%L, %L::regclass, %L, columns => %L, updated_at => %L)',
                  name, t, ids, cols, ts);
END
$$;

--
-- A round: build, fill, call, check, clean up
--
CREATE FUNCTION fuzz_round(ncalls int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    sql text;
    res text;
    st text;
    msg text;
    pre jsonb;
    post jsonb;
    r jsonb;
    srcrel text;
    dstrel text;
    nopriv boolean;
    done int := 0;
    summary jsonb;
    cnt jsonb;
    snap jsonb;
BEGIN
    PERFORM build_round();
    PERFORM fill_round();
    FOR i IN -1 .. ncalls LOOP
        IF i <= 0 THEN
            -- every round starts with well-formed adapters over both tables
            SELECT 'create_adapter' AS fn,
                   format('SELECT diffsync.create_adapter(%L, %L::regclass, NULL) /*layout*/',
                          CASE i WHEN -1 THEN 'src' ELSE 'dst' END,
                          CASE i WHEN -1 THEN 's' ELSE 'd' END) AS sql
              INTO c;
        ELSE
            c := rand_call();
        END IF;
        sql := c.sql;
        IF sql LIKE '% /*layout*/' THEN
            sql := layout_adapter(sql);
        END IF;
        nopriv := chance(0.05);
        pre := sums();
        snap := CASE WHEN c.fn = 'sync' THEN snapshot() END;
        BEGIN
            IF nopriv THEN
                PERFORM set_config('role', 'regress_fuzz_nopriv', true);
            END IF;
            IF c.fn IN ('dml', 'ddl') THEN
                EXECUTE sql;
            ELSE
                EXECUTE sql INTO res;
            END IF;
            IF nopriv THEN
                PERFORM set_config('role', 'none', true);
            END IF;
            st := '00000';
            msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            res := NULL;
        END;
        post := sums();
        PERFORM note(c.fn, st, msg, sql);
        done := done + 1;

        IF st <> '00000' THEN
            IF post <> pre THEN
                PERFORM fail('a call that raised changed nothing', sql);
            END IF;
            CONTINUE;
        END IF;

        -- read-only calls and dry runs write no user table
        IF c.fn IN ('load', 'diff', 'diff_summary', 'diff_text', 'history', 'state_at_version', 'state_as_of',
                    'changes_since', 'prune_history', 'create_engine', 'drop_engine', 'attach', 'detach',
                    'create_adapter', 'drop_adapter', 'commit_version')
           OR (c.fn IN ('sync', 'sync_engine') AND (res::jsonb->>'dry_run')::boolean) THEN
            IF (post->>'s', post->>'d', post->>'cs', post->>'cd') IS DISTINCT FROM
               (pre->>'s', pre->>'d', pre->>'cs', pre->>'cd') THEN
                PERFORM fail(c.fn || ' writes no user table', sql);
            END IF;
        END IF;

        IF c.fn = 'sync' THEN
            r := res::jsonb;
            srcrel := adapter_rel(r->>'source');
            dstrel := adapter_rel(r->>'target');
            -- a one-way sync never writes the side it reads from
            IF srcrel <> dstrel AND srcrel IN ('s', 'd') AND dstrel IN ('s', 'd') AND NOT live_attached() THEN
                IF r->>'direction' = 'source_to_target' AND pre->>srcrel <> post->>srcrel THEN
                    PERFORM fail('source_to_target leaves the source alone', sql || ' on ' || snap::text || ' gives ' || snapshot()::text);
                ELSIF r->>'direction' = 'target_to_source' AND pre->>dstrel <> post->>dstrel THEN
                    PERFORM fail('target_to_source leaves the target alone', sql || ' on ' || snap::text || ' gives ' || snapshot()::text);
                END IF;
            END IF;
            -- a plain one-way sync converges
            IF srcrel <> dstrel AND adapter_plain(r->>'source') AND adapter_plain(r->>'target') AND NOT live_attached()
               AND (r->>'success')::boolean AND NOT (r->>'dry_run')::boolean
               AND (r->'summary'->>'failed')::int = 0
               AND ((r->>'direction' = 'source_to_target' AND r->>'strategy' = 'source_wins')
                    OR (r->>'direction' = 'target_to_source' AND r->>'strategy' = 'target_wins'))
               AND NOT (sql ~ '"(where|attributes|path|skip_unmatched_src|skip_unmatched_dst|resolver)"') THEN
                PERFORM note('convergence check', '00000', NULL, sql);
                BEGIN
                    summary := diffsync.diff_summary(r->>'source', r->>'target');
                    IF (summary->>'create')::int + (summary->>'update')::int + (summary->>'delete')::int <> 0 THEN
                        PERFORM fail('a plain one-way sync converges', sql || ' then ' || summary::text || ' on ' || snap::text || ' gives ' || snapshot()::text);
                    END IF;
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
                    PERFORM fail('diff_summary after a successful sync', sql || ': ' || msg);
                END;
            END IF;
        END IF;

        -- diff and diff_summary agree
        IF c.fn = 'diff_summary' THEN
            BEGIN
                EXECUTE replace(replace(sql, 'diffsync.diff_summary(', 'diffsync.diff('),
                                'SELECT r::text FROM', 'SELECT jsonb_object_agg(a, n)::text FROM (SELECT action AS a, count(*) AS n FROM')
                        || ' GROUP BY action) g' INTO res;
                cnt := coalesce(res::jsonb, '{}');
                EXECUTE sql INTO res;
                summary := res::jsonb;
                IF coalesce((cnt->>'create')::int, 0) <> (summary->>'create')::int
                   OR coalesce((cnt->>'update')::int, 0) <> (summary->>'update')::int
                   OR coalesce((cnt->>'delete')::int, 0) <> (summary->>'delete')::int THEN
                    PERFORM fail('diff and diff_summary agree', sql || ': ' || cnt::text || ' vs ' || summary::text);
                END IF;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
                PERFORM fail('diff runs where diff_summary did', sql || ': ' || msg);
            END;
        END IF;
    END LOOP;

    -- clean up through the API: engines, then adapters children first
    FOR c IN SELECT name FROM diffsync.engine ORDER BY name LOOP
        BEGIN
            PERFORM diffsync.drop_engine(c.name);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            PERFORM fail('drop_engine at cleanup', c.name || ': ' || st || ' ' || msg);
            DELETE FROM diffsync.engine WHERE name = c.name;
        END;
    END LOOP;
    FOR c IN WITH RECURSIVE tree AS (
                 SELECT name, 0 AS depth FROM diffsync.adapter WHERE parent IS NULL
                 UNION ALL
                 SELECT a.name, t.depth + 1 FROM diffsync.adapter a JOIN tree t ON a.parent = t.name)
             SELECT name FROM tree ORDER BY depth DESC, name LOOP
        BEGIN
            PERFORM diffsync.drop_adapter(c.name);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            PERFORM fail('drop_adapter at cleanup', c.name || ': ' || st || ' ' || msg);
        END;
    END LOOP;
    DELETE FROM diffsync.adapter;
    DELETE FROM diffsync.conflicts;
    DELETE FROM diffsync.history_versions;
    DELETE FROM diffsync.history_batches;
    DROP TABLE IF EXISTS s, d, cs, cd, cs_moved CASCADE;
    DROP SEQUENCE seq_s;
    RETURN done;
END
$$;

SELECT sum(fuzz_round(200)) AS calls FROM generate_series(1, 20);

--
-- A fixed corpus of hostile calls against a fresh pair of adapters: each
-- must raise a documented SQLSTATE (or succeed) and change nothing when it
-- raises
--
CREATE TABLE corpus (n serial, fn text, sql text, expect text[]);
INSERT INTO corpus (fn, sql, expect) VALUES
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"batch_size": 1e300}')$q$, '{22023}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"batch_size": 9223372036854775808}')$q$, '{22023}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"max_conflicts": -1e300}')$q$, '{22023}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"batch_size": 0.4}')$q$, '{22023}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'manual', '{"resolver": ""}')$q$, '{22023,42883}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'manual', '{"resolver": "x.y.z.w"}')$q$, '{22023,42883}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'manual', '{"resolver": "a b"}')$q$, '{22023,42883}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'manual', '{"resolver": "nosuchdb.public.f"}')$q$, '{22023,42883}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'manual', '{"resolver": "regress_fuzz_sync.res_text"}')$q$, '{42804}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"resolver": "regress_fuzz_sync.res_source"}')$q$, '{22023}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"channel": "üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüü"}')$q$, '{22023}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"where": "true) OR (1=1"}')$q$, '{00000}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"where": "k1 > 0; DROP TABLE s"}')$q$, '{42601}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'source_to_target', 'source_wins', '{"path": "/f1/01"}')$q$, '{00000,42804,22023}'),
    ('sync', $q$SELECT diffsync.sync('src', 'src', 'bidirectional', 'source_wins')$q$, '{22023}'),
    ('sync', $q$SELECT diffsync.sync('src', 'dst', 'sideways', 'source_wins')$q$, '{22023}'),
    ('create_engine', $q$SELECT diffsync.create_engine('', 'src', 'dst')$q$, '{22023}'),
    ('create_engine', $q$SELECT diffsync.create_engine('e', 'src', 'dst', 'bidirectional', 'last_update_wins', '{"batch_size": 1e300}')$q$, '{22023}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('', 's', '{k1}')$q$, '{22023}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter(NULL, 's', '{k1}')$q$, '{22004}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x1', NULL, '{k1}')$q$, '{22004}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x2', 's', NULL)$q$, '{22004}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x3', 's', '{}')$q$, '{22023}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x4', 's', '{k1}', filter => 'true; DROP TABLE s')$q$, '{42601}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x5', 's', '{k1}', filter => '1) OR (1=1')$q$, '{42804}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x6', 's', '{k1}', filter => 'true) UNION SELECT 1 --')$q$, '{42601}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x7', 's', '{k1}', '{f9}', '{"f9": {"read": "(SELECT 1); DROP TABLE s"}}')$q$, '{42601}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x8', 's', '{k1}', '{f9}', '{"f9": {"read": "1", "write": "2"}}')$q$, '{22023}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x9', 's', '{k1}', updated_at => 'k1"; DROP TABLE s; --')$q$, '{42703}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x10', 's', '{k1}', parent => 'dst', parent_key => '[1]')$q$, '{22023}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x11', 's', '{k1}', columns => '{"k1": {"column": "k1", "bogus": 1}}')$q$, '{22023}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x12', 'seq_s', '{k1}')$q$, '{42809}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x13', 'corpus_t', '{k}', updated_at => 'flag')$q$, '{42804,42846}'),
    ('create_adapter', $q$SELECT diffsync.create_adapter('x14', 'corpus_t', '{k}', updated_at => 'j')$q$, '{42804,42846}'),
    ('resolve_conflict', $q$SELECT diffsync.resolve_conflict(NULL)$q$, '{22004}'),
    ('resolve_conflict', $q$SELECT diffsync.resolve_conflict(1, NULL, NULL)$q$, '{22023}'),
    ('resolve_conflict', $q$SELECT diffsync.resolve_conflict(-1, 'source')$q$, '{42704}'),
    ('commit_version', $q$SELECT diffsync.commit_version(NULL, NULL)$q$, '{22004}'),
    ('commit_version', $q$SELECT diffsync.commit_version('src', '{"k1": [1]}')$q$, '{22023,22P02}'),
    ('commit_version', $q$SELECT diffsync.commit_version('src', '"k1"')$q$, '{22023}'),
    ('restore', $q$SELECT diffsync.restore('src', '{"k1": 1}', -1)$q$, '{P0002}'),
    ('prune_history', $q$SELECT diffsync.prune_history('-1 day')$q$, '{22023}'),
    ('changes_since', $q$SELECT count(*) FROM diffsync.changes_since(9223372036854775807)$q$, '{55000}'),
    ('attach', $q$SELECT diffsync.attach('')$q$, '{42704}'),
    ('detach', $q$SELECT diffsync.detach('nosuch')$q$, '{42704}'),
    ('drop_adapter', $q$SELECT diffsync.drop_adapter('x"; DROP TABLE s; --')$q$, '{42704}'),
    ('load', $q$SELECT count(*) FROM diffsync.load(repeat('n', 10000))$q$, '{42704}'),
    ('diff', $q$SELECT count(*) FROM diffsync.diff('src', 'dst', '{"attributes": ["f1", "f1"]}')$q$, '{00000,22023,42701}'),
    ('diff', $q$SELECT count(*) FROM diffsync.diff('src', 'dst', '{"where": "nosuch = 1"}')$q$, '{42703}'),
    ('diff', $q$SELECT count(*) FROM diffsync.diff('src', 'dst', '{"path": ""}')$q$, '{22023}');

CREATE FUNCTION fuzz_corpus() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    st text;
    msg text;
    pre jsonb;
    done int := 0;
BEGIN
    PERFORM setseed(0.5);
    CREATE TABLE corpus_t (k int PRIMARY KEY, flag bool, j jsonb);
    PERFORM build_round();
    PERFORM fill_round();
    EXECUTE layout_adapter('SELECT diffsync.create_adapter(''src'', ''s''::regclass, NULL) /*layout*/');
    EXECUTE layout_adapter('SELECT diffsync.create_adapter(''dst'', ''d''::regclass, NULL) /*layout*/');
    FOR c IN SELECT * FROM corpus ORDER BY n LOOP
        pre := sums();
        BEGIN
            EXECUTE c.sql;
            st := '00000';
            msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            IF sums() <> pre THEN
                PERFORM fail('a call that raised changed nothing', c.sql);
            END IF;
        END;
        PERFORM note('corpus ' || c.fn, st, msg, c.sql);
        IF NOT st = ANY (c.expect) THEN
            PERFORM fail('corpus call ends with its SQLSTATE', c.sql || ': ' || st || ' ' || msg);
        END IF;
        done := done + 1;
    END LOOP;
    PERFORM diffsync.drop_adapter('src');
    PERFORM diffsync.drop_adapter('dst');
    DROP TABLE s, d, cs, cd, corpus_t CASCADE;
    DROP SEQUENCE seq_s;
    RETURN done;
END
$$;
SELECT fuzz_corpus() AS corpus_calls;

-- every SQLSTATE must be a documented one (expected: none listed); our own
-- DML and DDL may also fail the way PostgreSQL's statements do
SELECT s.fn, s.state, s.n, s.first_message, s.first_input
  FROM seen s
 WHERE s.state <> '00000' AND s.state NOT IN (SELECT state FROM allowed)
   AND NOT (s.fn IN ('dml', 'ddl') AND s.state IN ('42P01', '42703', '42P07', '42701', '2BP01', '42P16',
                                                   '42804', '22P02', '0A000', '42809', '23505'))
 ORDER BY s.fn, s.state;

-- property failures (expected: none)
SELECT property, count(*) AS failures, left(min(input), 300) AS example
  FROM failures GROUP BY property ORDER BY property;

-- the fuzzer got through: successes of the main calls, convergence checked
SELECT fn, sum(n) FILTER (WHERE state = '00000') > 0 AS had_successes
  FROM seen WHERE fn IN ('create_adapter', 'diff', 'diff_summary', 'diff_text', 'sync', 'create_engine',
                         'sync_engine', 'load', 'dml', 'attach', 'restore', 'convergence check')
 GROUP BY fn ORDER BY fn;

RESET search_path;
DROP SCHEMA regress_fuzz_sync CASCADE;
DROP ROLE regress_fuzz_nopriv;
DROP EXTENSION diffsync;
