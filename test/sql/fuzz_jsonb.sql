--
-- fuzz_jsonb: seeded randomized robustness suite for the jsonb core
-- (jsonb_diff, jsonb_changes, jsonb_patch, jsonb_merge_patch,
-- jsonb_merge_diff, jsonb_merge3).
--
-- Thousands of generated inputs: odd but valid documents (deep nesting,
-- long arrays, the empty key, keys holding "~" and "/", unicode, numbers such
-- as 1e300, -0 and 1.000000000000000000001, strings with escapes), random
-- option objects (unknown keys, wrong types, nulls, non-objects) and garbage
-- patches (wrong types, pointers with random "~" escapes, indexes such as
-- "01", "-", "9999999999" and huge negatives).  Every call runs in its own
-- subtransaction; an error's SQLSTATE must be one the README documents for
-- that function (never XX000, never a crash), and every call on valid
-- options must satisfy the round-trip properties:
--   jsonb_patch(a, jsonb_diff(a, b, o)) = b, jsonb_changes = jsonb_diff row by row,
--   jsonb_merge_patch(a, jsonb_merge_diff(a, b)) = b, merge patches are idempotent,
--   jsonb_merge3 of a one-sided change takes that change without conflict.
-- Documents near the parser's nesting limit must give a result or a clean
-- 54001, and a fixed corpus of hostile calls must each end with the SQLSTATE
-- it lists.  The output is case counts (fixed by the seed and the generator
-- alone), the unexpected SQLSTATEs (none), the property failures (none), and
-- whether each documented error class was reached at all.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;
CREATE SCHEMA regress_fuzz_jsonb;
SET search_path = regress_fuzz_jsonb, diffsync, public;
SELECT setseed(0.4242);

-- what the fuzzer saw: one row per function and SQLSTATE ('00000' = success)
CREATE TABLE seen (fn text, state text, n int NOT NULL DEFAULT 0,
                   first_message text, first_input text, PRIMARY KEY (fn, state));
-- the SQLSTATEs each function may raise (README, "Errors")
CREATE TABLE allowed (fn text, state text, PRIMARY KEY (fn, state));
INSERT INTO allowed
SELECT fn, s FROM
  (VALUES ('jsonb_diff', '{22023,54001}'::text[]),
          ('jsonb_changes', '{22023,54001}'),
          ('jsonb_patch', '{22023,22P02,2203A,22033,DS001,54001}'),
          ('jsonb_merge_patch', '{54001}'),
          ('jsonb_merge_diff', '{22023,54001}'),
          ('jsonb_merge3', '{22023,42883,42804,54001}')) v(fn, states),
  unnest(states) s;
-- property failures: one row per failing case
CREATE TABLE failures (property text, input text);

CREATE FUNCTION note(p_fn text, p_state text, p_msg text, p_input text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO regress_fuzz_jsonb.seen AS s VALUES (p_fn, p_state, 1, p_msg, left(p_input, 400))
    ON CONFLICT (fn, state) DO UPDATE SET n = s.n + 1
$$;

CREATE FUNCTION fail(p_property text, p_input text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO regress_fuzz_jsonb.failures VALUES (p_property, p_input)
$$;

--
-- Generators
--
CREATE FUNCTION pick(pool text[]) RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT pool[1 + floor(random() * cardinality(pool))::int]
$$;

CREATE FUNCTION rand_key() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF random() < 0.02 THEN
        RETURN repeat('k', 200 + floor(random() * 300)::int);
    END IF;
    RETURN pick(ARRAY['a', 'b', 'c', 'id', 'x', '', ' ', '~', '/', '~0', '~1',
                      '~01', '~~', '//', 'a/b', 'm~n', '/~0', '~2', '0', '1', '01',
                      '-', '-1', '9999999999', '1e3', 'ключ', '日本語', 'é', 'e' || chr(769),
                      'emoji 😀', 'k"q', 'back\slash', E'tab\there', E'new\nline',
                      E'\u2028', 'null', 'true', '$', '*', '.', '%s%n']);
END
$$;

CREATE FUNCTION rand_scalar() RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF random() < 0.03 THEN
        RETURN to_jsonb(repeat(pick(ARRAY['x', 'ü', '~/', '"', '\']), 100 + floor(random() * 2000)::int));
    END IF;
    RETURN pick(ARRAY['0', '-0', '0.0', '-0.0', '1', '1.0', '1.000000000000000000001',
                      '1e300', '-1e300', '1e-300', '1E+2', '100', '123456789012345678901234567890.5',
                      '-3.25', '0.1', '9999999999', '-9223372036854775808', '2147483648',
                      '""', '"x"', '"ü"', '"~1/~0"', '"\"quoted\""', '"\\"', '"\n\t\r\b\f"',
                      '"\u00e9"', '"\ud83d\ude00"', '"\u0001"', '"null"', '"1"', '"a b"',
                      'true', 'false', 'null', 'null', '[]', '{}'])::jsonb;
END
$$;

-- a random JSON value; depth is the nesting level of the value
CREATE FUNCTION gen(depth int) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    x float8 := random();
    r jsonb;
BEGIN
    IF depth >= 5 OR x < 0.35 THEN
        RETURN rand_scalar();
    ELSIF x < 0.65 THEN
        r := '{}';
        FOR i IN 1 .. floor(random() * 5)::int LOOP
            r := r || jsonb_build_object(rand_key(), gen(depth + 1));
        END LOOP;
    ELSIF x < 0.88 THEN
        r := '[]';
        FOR i IN 1 .. floor(random() * 7)::int LOOP
            r := r || jsonb_build_array(gen(depth + 1));
        END LOOP;
    ELSE
        -- records: objects carrying "id" (sometimes duplicate or missing ids)
        r := '[]';
        FOR i IN 1 .. floor(random() * 6)::int LOOP
            r := r || jsonb_build_array(
                CASE WHEN random() < 0.1 THEN gen(depth + 1)
                     ELSE jsonb_build_object('id', pick(ARRAY['1', '2', '3', '4', '"k/1"', '"~"', 'null', '1.0'])::jsonb,
                                             pick(ARRAY['v', 'w', 'id2']), gen(depth + 2)) END);
        END LOOP;
    END IF;
    RETURN r;
END
$$;

-- odd shapes: deep nesting, long arrays, wide objects
CREATE FUNCTION gen_odd() RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    x float8 := random();
    n int;
BEGIN
    IF x < 0.25 THEN                -- nested arrays, a few hundred levels
        n := 50 + floor(random() * 350)::int;
        RETURN (repeat('[', n) || rand_scalar()::text || repeat(']', n))::jsonb;
    ELSIF x < 0.5 THEN              -- nested objects under one random key
        n := 50 + floor(random() * 350)::int;
        RETURN jsonb_build_object(rand_key(),
                                  (repeat('{"d": ', n) || gen(3)::text || repeat('}', n))::jsonb);
    ELSIF x < 0.75 THEN             -- a long array of small, often equal values
        n := floor(random() * 3000)::int;
        RETURN (SELECT coalesce(jsonb_agg(pick(ARRAY['1', '2', '"a"', 'null', '[1]', '{"id": 1}'])::jsonb), '[]')
                  FROM generate_series(1, n));
    ELSE                            -- a wide object
        n := floor(random() * 800)::int;
        RETURN (SELECT coalesce(jsonb_object_agg('k' || i, i), '{}') FROM generate_series(1, n) i);
    END IF;
END
$$;

-- every path of v as a text[] of unescaped segments ('{}' = root)
CREATE FUNCTION paths(v jsonb, prefix text[] DEFAULT '{}') RETURNS SETOF text[]
LANGUAGE plpgsql AS $$
DECLARE
    k text;
    e jsonb;
    i int := 0;
BEGIN
    RETURN NEXT prefix;
    IF cardinality(prefix) > 6 THEN
        RETURN;
    END IF;
    IF jsonb_typeof(v) = 'object' THEN
        FOR k, e IN SELECT key, value FROM jsonb_each(v) LIMIT 20 LOOP
            RETURN QUERY SELECT * FROM regress_fuzz_jsonb.paths(e, prefix || k);
        END LOOP;
    ELSIF jsonb_typeof(v) = 'array' THEN
        FOR e IN SELECT a FROM jsonb_array_elements(v) a LIMIT 20 LOOP
            RETURN QUERY SELECT * FROM regress_fuzz_jsonb.paths(e, prefix || i::text);
            i := i + 1;
        END LOOP;
    END IF;
END
$$;

-- the value at segs by RFC 6901 (no negative or zero-padded array
-- indexes, unlike #>); SQL NULL when absent
CREATE FUNCTION strict_get(doc jsonb, segs text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    cur jsonb := doc;
    s text;
BEGIN
    FOREACH s IN ARRAY segs LOOP
        IF jsonb_typeof(cur) = 'object' THEN
            IF NOT cur ? s THEN
                RETURN NULL;
            END IF;
            cur := cur -> s;
        ELSIF jsonb_typeof(cur) = 'array' THEN
            IF s !~ '^(0|[1-9][0-9]{0,8})$' OR s::int >= jsonb_array_length(cur) THEN
                RETURN NULL;
            END IF;
            cur := cur -> s::int;
        ELSE
            RETURN NULL;
        END IF;
    END LOOP;
    RETURN cur;
END
$$;

CREATE FUNCTION to_pointer(segs text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg('/' || replace(replace(s, '~', '~0'), '/', '~1'), '' ORDER BY n), '')
      FROM unnest(segs) WITH ORDINALITY u(s, n)
$$;

CREATE FUNCTION rand_path_of(v jsonb) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    all_paths jsonb := (SELECT jsonb_agg(to_jsonb(p)) FROM paths(v) p);
    one jsonb := all_paths->(floor(random() * jsonb_array_length(all_paths))::int);
BEGIN
    RETURN ARRAY(SELECT jsonb_array_elements_text(one));
END
$$;

-- a document related to v: members changed, added, removed; array elements
-- inserted, deleted, replaced, swapped; type changes
CREATE FUNCTION mutate(v jsonb, depth int) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    x float8 := random();
    r jsonb;
    e jsonb;
    k text;
BEGIN
    IF x < 0.07 OR depth > 8 THEN
        RETURN CASE WHEN random() < 0.5 THEN gen(depth) ELSE v END;
    END IF;
    CASE jsonb_typeof(v)
    WHEN 'object' THEN
        r := '{}';
        FOR k, e IN SELECT key, value FROM jsonb_each(v) LOOP
            x := random();
            IF x < 0.15 THEN
                CONTINUE;
            ELSIF x < 0.45 THEN
                e := mutate(e, depth + 1);
            ELSIF x < 0.48 THEN
                e := 'null';
            END IF;
            r := r || jsonb_build_object(k, e);
        END LOOP;
        WHILE random() < 0.3 LOOP
            r := r || jsonb_build_object(rand_key(), gen(depth + 1));
        END LOOP;
        RETURN r;
    WHEN 'array' THEN
        IF jsonb_array_length(v) > 200 THEN
            -- long arrays: a few edits by position
            r := v;
            FOR i IN 1 .. floor(random() * 6)::int LOOP
                x := random();
                IF x < 0.4 AND jsonb_array_length(r) > 0 THEN
                    r := r - floor(random() * jsonb_array_length(r))::int;
                ELSIF x < 0.8 THEN
                    r := jsonb_insert(r, ARRAY[floor(random() * (jsonb_array_length(r) + 1))::int::text],
                                      rand_scalar(), random() < 0.5);
                ELSE
                    r := r || jsonb_build_array(rand_scalar());
                END IF;
            END LOOP;
            RETURN r;
        END IF;
        r := '[]';
        FOR e IN SELECT a FROM jsonb_array_elements(v) a LOOP
            x := random();
            IF x < 0.12 THEN
                CONTINUE;
            ELSIF x < 0.20 THEN
                r := r || jsonb_build_array(gen(depth + 1));
            ELSIF x < 0.42 THEN
                e := mutate(e, depth + 1);
            ELSIF x < 0.46 THEN
                e := gen(depth + 1);
            END IF;
            r := r || jsonb_build_array(e);
        END LOOP;
        IF random() < 0.15 THEN
            r := jsonb_build_array(gen(depth + 1)) || r;
        END IF;
        IF random() < 0.15 AND jsonb_array_length(r) > 1 THEN
            -- swap the first and the last element
            r := jsonb_set(jsonb_set(r, '{0}', r->-1), ARRAY[(jsonb_array_length(r) - 1)::text], r->0);
        END IF;
        RETURN r;
    ELSE
        IF random() < 0.5 THEN
            RETURN rand_scalar();
        END IF;
        RETURN v;
    END CASE;
END
$$;

CREATE FUNCTION rand_doc() RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN random() < 0.12 THEN regress_fuzz_jsonb.gen_odd()
                ELSE regress_fuzz_jsonb.gen(0) END
$$;

-- valid jsonb_diff options
CREATE FUNCTION valid_diff_options() RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    o jsonb := '{}';
BEGIN
    IF random() < 0.5 THEN
        o := o || jsonb_build_object('arrays', pick(ARRAY['lcs', 'index', 'atomic']));
    END IF;
    IF random() < 0.3 AND coalesce(o->>'arrays', 'lcs') = 'lcs' THEN
        o := o || jsonb_build_object('array_key',
                 pick(ARRAY['"id"', '["id"]', '["id", "v"]', '""', '"v"'])::jsonb);
    END IF;
    IF random() < 0.4 THEN
        o := o || jsonb_build_object('moves', random() < 0.5);
    END IF;
    IF random() < 0.4 THEN
        o := o || jsonb_build_object('test_ops', random() < 0.5);
    END IF;
    RETURN o;
END
$$;

-- a garbage option value
CREATE FUNCTION rand_option_value() RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT regress_fuzz_jsonb.pick(ARRAY[
        '"lcs"', '"index"', '"atomic"', '"LCS"', '""', '1', '0', 'null', 'true', 'false', '[]', '{}',
        '"id"', '["id"]', '["id", 1]', '[null]', '[[]]', '"/a"', '"a"', '"/~2"', '"/~"', '""', '"/"',
        '"/0/-"', '"/a/01"', '"manual"', '"source_wins"', '"target_wins"', '"last_update_wins"',
        '"merge"', '"2024-01-01 00:00:00+00"', '"infinity"', '"-infinity"', '"not a time"',
        '"2024-13-45"', '"epoch"', '"now"', '"jsonb_strip_nulls"', '"pg_catalog.jsonb_strip_nulls"',
        '"regress_fuzz_jsonb.res_imm"', '"regress_fuzz_jsonb.res_vol"', '"regress_fuzz_jsonb.res_text"',
        '"regress_fuzz_jsonb.res_err"', '"regress_fuzz_jsonb.res_null"', '"no_such_function"',
        '"jsonb_typeof"', '"lower"', '"a b"', '"\""', '"x.y.z.w"', '"pg_catalog."', '"1abc"',
        '"upper(\"x\")"', '"now()"'])::jsonb
$$;

-- a random, usually invalid, options object for one of the functions
CREATE FUNCTION rand_options() RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    o jsonb := '{}';
BEGIN
    IF random() < 0.06 THEN
        RETURN pick(ARRAY['[]', '1', 'null', '"arrays"', '[{"arrays": "lcs"}]', 'true'])::jsonb;
    END IF;
    FOR i IN 1 .. floor(random() * 4)::int LOOP
        o := o || jsonb_build_object(
            pick(ARRAY['arrays', 'array_key', 'moves', 'test_ops', 'path', 'strategy', 'source_ts',
                       'target_ts', 'resolver', 'arrays', 'strategy', 'resolver', 'bogus', '', 'Arrays',
                       'array_key ', 'dry_run']),
            rand_option_value());
    END LOOP;
    RETURN o;
END
$$;

-- a pointer: a real path of doc, often corrupted
CREATE FUNCTION rand_pointer(doc jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    p text := to_pointer(rand_path_of(doc));
    x float8 := random();
BEGIN
    IF x < 0.05 THEN
        RETURN pick(ARRAY['1', 'null', 'true', '[]', '{}', '["/a"]'])::jsonb;
    ELSIF x < 0.45 THEN
        p := p || pick(ARRAY['/-', '/01', '/00', '/0', '/1', '/9999999999', '/2147483648', '/2147483647',
                             '/-1', '/-9223372036854775808', '/1e0', '/ 1', '/+1', '/0x1', '/~2', '/~',
                             '~1', '/~01', '/~10', '/', '//', '/a', '/-/a', '/ключ', '/' || repeat('9', 30),
                             '/' || repeat('x', 1000), '']);
    ELSIF x < 0.55 THEN
        p := pick(ARRAY['', '/', 'a', 'a/b', '~', '#/a', '/a~', '/~/', ' /a', '/\u0001',
                        repeat('/a', 500), repeat('/0', 300)]);
    END IF;
    RETURN to_jsonb(p);
END
$$;

-- one random, usually broken, patch operation against doc
CREATE FUNCTION rand_op(doc jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    x float8 := random();
    o jsonb;
BEGIN
    IF x < 0.04 THEN
        RETURN pick(ARRAY['1', '"add"', 'null', '[]', '[{"op": "add"}]', 'true'])::jsonb;
    END IF;
    o := jsonb_build_object('op', pick(ARRAY['"add"', '"remove"', '"replace"', '"move"', '"copy"', '"test"',
                                             '"add"', '"remove"', '"replace"', '"move"', '"copy"', '"test"',
                                             '"ADD"', '""', '"bogus"', '1', 'null', '["add"]', '"add "'])::jsonb);
    IF random() < 0.95 THEN
        o := o || jsonb_build_object('path', rand_pointer(doc));
    END IF;
    IF random() < 0.8 THEN
        o := o || jsonb_build_object('from', rand_pointer(doc));
    END IF;
    IF random() < 0.85 THEN
        o := o || jsonb_build_object('value',
                 CASE WHEN random() < 0.5 THEN doc #> rand_path_of(doc) ELSE gen(2) END);
    END IF;
    IF random() < 0.1 THEN
        o := o || jsonb_build_object(rand_key(), gen(3));
    END IF;
    RETURN o;
END
$$;

CREATE FUNCTION rand_patch(doc jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    p jsonb := '[]';
BEGIN
    IF random() < 0.04 THEN
        RETURN pick(ARRAY['{}', '1', 'null', '"[]"', '{"op": "add", "path": "", "value": 1}'])::jsonb;
    END IF;
    FOR i IN 1 .. 1 + floor(random() * 4)::int LOOP
        p := p || jsonb_build_array(rand_op(doc));
    END LOOP;
    RETURN p;
END
$$;

-- resolvers for jsonb_merge3 option "resolver"
CREATE FUNCTION res_imm(c jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE
AS $$ SELECT coalesce(c->'source', c->'target', c->'base') $$;
CREATE FUNCTION res_null(c jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT NULL::jsonb $$;
CREATE FUNCTION res_vol(c jsonb) RETURNS jsonb LANGUAGE sql VOLATILE AS $$ SELECT c $$;
CREATE FUNCTION res_text(c jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT c::text $$;
CREATE FUNCTION res_err(c jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE EXCEPTION 'resolver refuses' USING ERRCODE = 'invalid_parameter_value';
END $$;

-- does v hold a JSON null as an object member, anywhere?
CREATE FUNCTION has_member_null(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'object' THEN EXISTS (SELECT 1 FROM jsonb_each(v) e
                                   WHERE jsonb_typeof(e.value) = 'null'
                                      OR regress_fuzz_jsonb.has_member_null(e.value))
        WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
                                  WHERE regress_fuzz_jsonb.has_member_null(e))
        ELSE false END
$$;

--
-- Phase 1: garbage options for every function that takes options
--
CREATE FUNCTION fuzz_options(ncases int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    a jsonb;
    b jsonb;
    c jsonb;
    o jsonb;
    st text;
    msg text;
    fn text;
    done int := 0;
BEGIN
    FOR i IN 1 .. ncases LOOP
        a := gen(0);
        b := mutate(a, 0);
        c := mutate(a, 0);
        o := rand_options();
        fn := pick(ARRAY['jsonb_diff', 'jsonb_changes', 'jsonb_merge3']);
        BEGIN
            IF fn = 'jsonb_diff' THEN
                PERFORM jsonb_diff(a, b, o);
            ELSIF fn = 'jsonb_changes' THEN
                PERFORM count(*) FROM jsonb_changes(a, b, o);
            ELSE
                PERFORM jsonb_merge3(a, b, c, o);
            END IF;
            st := '00000';
            msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        PERFORM note(fn, st, msg, format('options %s on %s / %s / %s', o, a, b, c));
        done := done + 1;
    END LOOP;
    RETURN done;
END
$$;

--
-- Phase 2: garbage patches
--
CREATE FUNCTION fuzz_patches(ncases int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    d jsonb;
    p jsonb;
    r jsonb;
    st text;
    msg text;
    done int := 0;
BEGIN
    FOR i IN 1 .. ncases LOOP
        d := CASE WHEN random() < 0.05 THEN gen_odd() ELSE gen(0) END;
        p := rand_patch(d);
        BEGIN
            r := jsonb_patch(d, p);
            st := '00000';
            msg := NULL;
            IF r IS NULL THEN
                PERFORM fail('jsonb_patch never returns NULL', format('%s / %s', d, p));
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            -- the message names the operation index
            IF st NOT IN ('54001') AND msg !~ '^(a JSON Patch must|JSON Patch operation [0-9]+)' THEN
                PERFORM fail('jsonb_patch error names the operation', msg);
            END IF;
        END;
        PERFORM note('jsonb_patch', st, msg, format('%s / %s', d, p));
        -- garbage as a merge patch: any JSON value is a valid merge patch
        BEGIN
            r := jsonb_merge_patch(d, p);
            st := '00000';
            msg := NULL;
            IF jsonb_merge_patch(r, p) IS DISTINCT FROM r THEN
                PERFORM fail('jsonb_merge_patch is idempotent', format('%s / %s', d, p));
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        PERFORM note('jsonb_merge_patch', st, msg, format('%s / %s', d, p));
        done := done + 1;
    END LOOP;
    RETURN done;
END
$$;

--
-- Phase 3: round trips on random pairs with valid options
--
CREATE FUNCTION fuzz_roundtrip(ncases int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    a jsonb;
    b jsonb;
    o jsonb;
    p jsonb;
    r jsonb;
    m jsonb;
    nrows int;
    nbad int;
    st text;
    msg text;
    inp text;
    sect text[];
    bad boolean;
    done int := 0;
BEGIN
    FOR i IN 1 .. ncases LOOP
        a := rand_doc();
        b := CASE WHEN random() < 0.1 THEN rand_doc() ELSE mutate(a, 0) END;
        o := valid_diff_options();
        inp := format('%s -> %s with %s', a, b, o);

        -- jsonb_patch(a, jsonb_diff(a, b, o)) = b
        BEGIN
            p := jsonb_diff(a, b, o);
            st := '00000';
            msg := NULL;
            BEGIN
                r := jsonb_patch(a, p);
                IF r IS DISTINCT FROM b THEN
                    PERFORM fail('patch(a, diff(a, b)) = b', inp || ' got ' || r::text);
                END IF;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
                PERFORM fail('diff output applies', inp || ': ' || msg);
            END;
            IF a = b AND p <> '[]' THEN
                PERFORM fail('diff(a, a) = []', inp);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            p := NULL;
        END;
        PERFORM note('jsonb_diff', st, msg, inp);

        -- jsonb_changes: same operations, same order
        BEGIN
            SELECT count(*), count(*) FILTER (WHERE d.op IS NULL OR c.op IS DISTINCT FROM d.op->>'op'
                                              OR c.path IS DISTINCT FROM d.op->>'path'
                                              OR c.path_array IS DISTINCT FROM
                                                 (SELECT coalesce(array_agg(replace(replace(s, '~1', '/'), '~0', '~') ORDER BY k), '{}')
                                                    FROM unnest((string_to_array(d.op->>'path', '/'))[2:]) WITH ORDINALITY u(s, k))
                                              OR (c.op IN ('add', 'replace') AND c.new_value IS DISTINCT FROM d.op->'value')
                                              OR (c.op = 'test' AND c.old_value IS DISTINCT FROM d.op->'value'))
              INTO nrows, nbad
              FROM jsonb_changes(a, b, o) WITH ORDINALITY c(op, path, path_array, old_value, new_value, n)
              LEFT JOIN jsonb_array_elements(p) WITH ORDINALITY d(op, n) USING (n);
            st := '00000';
            msg := NULL;
            IF p IS NOT NULL AND (nrows <> jsonb_array_length(p) OR nbad <> 0) THEN
                PERFORM fail('jsonb_changes matches jsonb_diff', inp);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        PERFORM note('jsonb_changes', st, msg, inp);

        -- option "path": only that section changes, to b's value there
        -- (or it is removed when b lacks it)
        sect := rand_path_of(CASE WHEN random() < 0.5 THEN a ELSE b END);
        BEGIN
            p := jsonb_diff(a, b, o || jsonb_build_object('path', to_pointer(sect)));
            st := '00000';
            msg := NULL;
            BEGIN
                r := jsonb_patch(a, p);
                -- b lacks the section: it is removed from a; else it is b's
                bad := CASE WHEN strict_get(b, sect) IS NOT NULL
                                 THEN strict_get(r, sect) IS DISTINCT FROM strict_get(b, sect)
                            WHEN strict_get(a, sect) IS NOT NULL THEN r IS DISTINCT FROM (a #- sect)
                            ELSE r IS DISTINCT FROM a END;
                IF bad THEN
                    PERFORM fail('diff with path sets the section', inp || ' path ' || to_pointer(sect) || ' got ' || r::text);
                END IF;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
                PERFORM fail('diff with path applies', inp || ' path ' || to_pointer(sect) || ': ' || msg);
            END;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        PERFORM note('jsonb_diff', st, msg, inp || ' path ' || to_pointer(sect));

        -- merge patch round trip; an error only for a member null in the target
        BEGIN
            m := jsonb_merge_diff(a, b);
            st := '00000';
            msg := NULL;
            IF jsonb_merge_patch(a, m) IS DISTINCT FROM b THEN
                PERFORM fail('merge_patch(a, merge_diff(a, b)) = b', inp || ' got ' || m::text);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            IF st = '22023' AND NOT has_member_null(b) THEN
                PERFORM fail('merge_diff refuses only member nulls', inp);
            END IF;
        END;
        PERFORM note('jsonb_merge_diff', st, msg, inp);

        -- three-way merge of one-sided changes: no conflict, that side's value
        o := jsonb_build_object('arrays', pick(ARRAY['atomic', 'lcs', 'index']),
                                'strategy', pick(ARRAY['manual', 'source_wins', 'target_wins']));
        BEGIN
            m := jsonb_merge3(a, b, a, o);
            IF m->'merged' IS DISTINCT FROM b OR m->'conflicts' <> '[]' THEN
                PERFORM fail('merge3(a, b, a) = b', inp || ' ' || o::text || ' got ' || m::text);
            END IF;
            m := jsonb_merge3(a, a, b, o);
            IF m->'merged' IS DISTINCT FROM b OR m->'conflicts' <> '[]' THEN
                PERFORM fail('merge3(a, a, b) = b', inp || ' ' || o::text || ' got ' || m::text);
            END IF;
            m := jsonb_merge3(a, b, b, o);
            IF m->'merged' IS DISTINCT FROM b OR m->'conflicts' <> '[]' THEN
                PERFORM fail('merge3(a, b, b) = b', inp || ' ' || o::text || ' got ' || m::text);
            END IF;
            -- two independent edits: the merge is well-formed, each conflict has its keys
            m := jsonb_merge3(a, b, mutate(a, 0), o);
            IF NOT (m ? 'merged' AND jsonb_typeof(m->'conflicts') = 'array')
               OR EXISTS (SELECT 1 FROM jsonb_array_elements(m->'conflicts') c
                           WHERE NOT (c ? 'path' AND c ? 'kind' AND c ? 'resolution')
                              OR c->>'kind' NOT IN ('modify/modify', 'add/add', 'delete/modify', 'modify/delete', 'type')) THEN
                PERFORM fail('merge3 result is well-formed', inp || ' got ' || m::text);
            END IF;
            st := '00000';
            msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        PERFORM note('jsonb_merge3', st, msg, inp || ' ' || o::text);
        done := done + 1;
    END LOOP;
    RETURN done;
END
$$;

SELECT fuzz_options(3000) AS option_cases;
SELECT fuzz_patches(3000) AS patch_cases;
SELECT fuzz_roundtrip(1500) AS roundtrip_cases;

-- Deep documents near the parser's limit: a clean 54001 or a result
CREATE FUNCTION fuzz_deep() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    docs jsonb[] := ARRAY[(repeat('[', 14000) || repeat(']', 14000))::jsonb,
                          (repeat('[', 14000) || '1' || repeat(']', 14000))::jsonb,
                          (repeat('{"a": ', 12000) || '1' || repeat('}', 12000))::jsonb,
                          (repeat('{"a": ', 12000) || '2' || repeat('}', 12000))::jsonb,
                          (repeat('{"a": [', 6000) || '1' || repeat(']}', 6000))::jsonb,
                          (repeat('{"a": [', 6000) || '2' || repeat(']}', 6000))::jsonb,
                          (repeat('[', 1000) || '1' || repeat(']', 1000))::jsonb,
                          (repeat('[{"a": 1}, ', 1000) || '1' || repeat(']', 1000))::jsonb];
    opts jsonb[] := ARRAY['{}', '{"arrays": "index"}', '{"arrays": "atomic"}', '{"moves": true, "test_ops": true}',
                          '{"array_key": "a"}', '{"arrays": "lcs"}', '{"strategy": "source_wins"}']::jsonb[];
    done int := 0;
    st text;
    msg text;
    j int;
BEGIN
    FOR i IN 1 .. 8 LOOP
        FOREACH j IN ARRAY ARRAY[i, 1 + i % 8, 1 + (i + 2) % 8] LOOP
            FOR k IN 1 .. 7 LOOP
                -- lcs alignment of very deep arrays is slow (quadratic in the
                -- depth): those pairs run with "index"/"atomic" only
                IF k <= 5 AND (k IN (2, 3) OR (i IN (3, 4) AND j IN (3, 4)) OR i > 6 OR j > 6) THEN
                    BEGIN
                        PERFORM jsonb_diff(docs[i], docs[j], opts[k]);
                        st := '00000'; msg := NULL;
                    EXCEPTION WHEN OTHERS THEN
                        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                    END;
                    PERFORM note('jsonb_diff', st, msg, format('deep %s %s %s', i, j, k));
                    BEGIN
                        PERFORM count(*) FROM jsonb_changes(docs[i], docs[j], opts[k]);
                        st := '00000'; msg := NULL;
                    EXCEPTION WHEN OTHERS THEN
                        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                    END;
                    PERFORM note('jsonb_changes', st, msg, format('deep %s %s %s', i, j, k));
                END IF;
                IF k IN (1, 6) OR (k = 7 AND i = j) THEN
                    BEGIN
                        PERFORM jsonb_merge3(docs[i], docs[j], docs[1 + (i + j) % 8],
                                             CASE WHEN k = 1 THEN '{}' ELSE opts[k] END);
                        st := '00000'; msg := NULL;
                    EXCEPTION WHEN OTHERS THEN
                        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                    END;
                    PERFORM note('jsonb_merge3', st, msg, format('deep %s %s %s', i, j, k));
                END IF;
                done := done + 1;
            END LOOP;
            BEGIN
                PERFORM jsonb_merge_patch(docs[i], docs[j]);
                st := '00000'; msg := NULL;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            END;
            PERFORM note('jsonb_merge_patch', st, msg, format('deep %s %s', i, j));
            BEGIN
                -- (merge_diff of the two 12000-level objects is left out: it
                -- takes seconds, quadratic in the depth)
                IF i IN (3, 4) AND j IN (3, 4) AND i <> j THEN
                    CONTINUE;
                END IF;
                PERFORM jsonb_merge_diff(docs[i], docs[j]);
                st := '00000'; msg := NULL;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            END;
            PERFORM note('jsonb_merge_diff', st, msg, format('deep %s %s', i, j));
            BEGIN
                PERFORM jsonb_patch(docs[i], jsonb_build_array(
                    jsonb_build_object('op', 'test', 'path', '', 'value', docs[j]),
                    jsonb_build_object('op', 'copy', 'from', '', 'path', CASE WHEN i < 3 THEN '/0' ELSE '/b' END)));
                st := '00000'; msg := NULL;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            END;
            PERFORM note('jsonb_patch', st, msg, format('deep %s %s', i, j));
        END LOOP;
    END LOOP;
    RETURN done;
END
$$;
SELECT fuzz_deep() AS deep_cases;

-- A fixed corpus of hostile calls: each must end with the SQLSTATE it lists
-- ('00000': success)
CREATE TABLE corpus (n serial, fn text, sql text, expect text[]);
INSERT INTO corpus (fn, sql, expect) VALUES
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "regress_fuzz_jsonb.res_null"}')$q$, '{00000,22023}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('[]', '[1]', '[2]', '{"resolver": "regress_fuzz_jsonb.res_null"}')$q$, '{00000,22023}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('{"a": 1}', '{"a": 2}', '{"a": 3}', '{"resolver": "regress_fuzz_jsonb.res_null"}')$q$, '{00000}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"resolver": ""}')$q$, '{22023,42883}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "x.y.z.w"}')$q$, '{22023,42883}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "a b"}')$q$, '{22023,42883}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "nosuchdb.public.f"}')$q$, '{22023,42883}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "regress_fuzz_jsonb.res_vol"}')$q$, '{22023}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"resolver": "regress_fuzz_jsonb.res_text"}')$q$, '{42804}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"strategy": "last_update_wins", "source_ts": "2024-01-01", "target_ts": "not a time"}')$q$, '{22023}'),
    ('jsonb_merge3', $q$SELECT jsonb_merge3('1', '2', '3', '{"strategy": "last_update_wins"}')$q$, '{22023}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{"a": [1]}', '[{"op": "add", "path": "/a/-/b", "value": 1}]')$q$, '{22033}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{"a": [1]}', '[{"op": "remove", "path": "/a/01"}]')$q$, '{22033}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{"a": [1]}', '[{"op": "remove", "path": "/a/9999999999"}]')$q$, '{22033}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{"a": [1]}', '[{"op": "add", "path": "/a/-9223372036854775808", "value": 1}]')$q$, '{22033}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{"a": 1}', '[{"op": "add", "path": "/a/b", "value": 1}]')$q$, '{2203A}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{}', '[{"op": "move", "from": "/a", "path": "/a/b"}]')$q$, '{22023}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{}', '[{"op": "remove", "path": ""}]')$q$, '{22023}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{}', '[{"op": "add", "path": "a", "value": 1}]')$q$, '{22P02}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{}', '[{"op": "add", "path": "/~2", "value": 1}]')$q$, '{22P02}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{}', '[{"op": "test", "path": "", "value": []}]')$q$, '{DS001}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{}', '[{"op": "add", "path": "/a"}]')$q$, '{22023}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{}', '[{"op": 1, "path": "/a"}]')$q$, '{22023}'),
    ('jsonb_patch', $q$SELECT jsonb_patch('{}', '{"op": "add"}')$q$, '{22023}'),
    ('jsonb_diff', $q$SELECT jsonb_diff('{}', '{}', '{"path": "a"}')$q$, '{22023}'),
    ('jsonb_diff', $q$SELECT jsonb_diff('{}', '{}', '{"arrays": "index", "array_key": "id"}')$q$, '{22023}'),
    ('jsonb_diff', $q$SELECT jsonb_diff('{}', '{}', '{"array_key": []}')$q$, '{22023}'),
    ('jsonb_diff', $q$SELECT jsonb_diff('{}', '{}', '[]')$q$, '{22023}'),
    ('jsonb_diff', $q$SELECT jsonb_patch('{"a": []}', jsonb_diff('{"a": []}', '{"a": [{"b": 1}]}', '{"path": "/a/0/b"}'))$q$, '{00000}'),
    ('jsonb_diff', $q$SELECT jsonb_diff('{"a": 1}', '{"a": {"b": 1}}', '{"path": "/a/b"}')$q$, '{22023}'),
    ('jsonb_merge_diff', $q$SELECT jsonb_merge_diff('{}', '{"a": null}')$q$, '{22023}'),
    ('jsonb_merge_diff', $q$SELECT jsonb_merge_diff('{}', '[{"a": null}]')$q$, '{00000}'),
    ('jsonb_merge_diff', $q$SELECT jsonb_merge_diff('{"a": {"b": 1}}', '{"a": {"b": null}}')$q$, '{22023}');

CREATE FUNCTION fuzz_corpus() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    st text;
    msg text;
    done int := 0;
BEGIN
    FOR c IN SELECT * FROM corpus ORDER BY n LOOP
        BEGIN
            EXECUTE c.sql;
            st := '00000';
            msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        PERFORM note(c.fn, st, msg, c.sql);
        IF NOT st = ANY (c.expect) THEN
            PERFORM fail('corpus call ends with its SQLSTATE', c.sql || ': ' || st || ' ' || msg);
        END IF;
        done := done + 1;
    END LOOP;
    RETURN done;
END
$$;
SELECT fuzz_corpus() AS corpus_cases;

-- every SQLSTATE must be documented for its function (expected: none listed)
SELECT s.fn, s.state, s.n, s.first_message, s.first_input
  FROM seen s
 WHERE s.state <> '00000'
   AND NOT EXISTS (SELECT 1 FROM allowed a WHERE a.fn = s.fn AND a.state = s.state)
 ORDER BY s.fn, s.state;

-- property failures (expected: none)
SELECT property, count(*) AS failures, left(min(input), 300) AS example
  FROM failures GROUP BY property ORDER BY property;

-- the fuzzer reached successes and every documented error class (54001
-- depends on the stack size and is not required)
SELECT a.fn, array_agg(a.state ORDER BY a.state) FILTER (WHERE s.n IS NULL AND a.state <> '54001') AS never_raised,
       EXISTS (SELECT 1 FROM seen o WHERE o.fn = a.fn AND o.state = '00000') AS had_successes
  FROM allowed a LEFT JOIN seen s USING (fn, state)
 GROUP BY a.fn ORDER BY a.fn;

RESET search_path;
DROP SCHEMA regress_fuzz_jsonb CASCADE;
DROP EXTENSION diffsync;
