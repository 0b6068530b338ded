--
-- jsonb_properties: randomized property tests of jsonb_diff, jsonb_changes,
-- jsonb_patch, jsonb_merge3, jsonb_merge_diff and jsonb_merge_patch.
--
-- A seeded generator builds JSON documents (objects and arrays nested up to
-- depth 4, unicode keys, keys holding "~" and "/", the empty key, numbers
-- of different scales, strings, true/false/null) and a mutator derives a
-- related document from each.  Every property is checked on every pair;
-- the output is one failure count per property (all 0), a few coarse
-- sanity checks on the generated data, and, only when something fails, the
-- first offending pairs.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;
CREATE SCHEMA regress_prop;
SET search_path = regress_prop, diffsync, public;

--
-- Generator
--
CREATE FUNCTION pick(pool text[]) RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT pool[1 + floor(random() * cardinality(pool))::int]
$$;

CREATE FUNCTION rand_key() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT pick(ARRAY['a', 'b', 'c', 'id', 'name', 'x', '', ' ', '~', '/',
                      'a/b', 'm~n', '~1', '~01', '/~0', '0', '1', '-',
                      'ключ', '日本語', 'é', 'emoji 😀', 'k"q', 'back\slash'])
$$;

CREATE FUNCTION rand_scalar() RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT pick(ARRAY['0', '1', '1.0', '1.50', '1.5', '-0', '2', '10', '1e3',
                      '0.1', '0.10', '12345678901234567890123', '-3.25',
                      '""', '"x"', '"y"', '"ü"', '"~/"', '"1"', '"a b"',
                      'true', 'false', 'null', 'null', '1', '"x"'])::jsonb
$$;

-- a record: an object carrying "id" plus a few other members
CREATE FUNCTION rand_record(id jsonb, depth int) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r jsonb := jsonb_build_object('id', id);
BEGIN
    FOR i IN 1 .. floor(random() * 3)::int + 1 LOOP
        r := r || jsonb_build_object(pick(ARRAY['name', 'qty', 'tags', 'a', 'a/b']),
                                     CASE WHEN random() < 0.7 THEN rand_scalar()
                                          ELSE gen(depth + 1) END);
    END LOOP;
    RETURN r;
END
$$;

-- an array of records with distinct ids
CREATE FUNCTION rand_records(depth int) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r jsonb := '[]';
    ids jsonb[];
BEGIN
    SELECT array_agg(v ORDER BY random()) INTO ids
    FROM unnest(ARRAY['1', '2', '3', '4', '5', '6', '7', '8', '"k1"', '"k/2"']::jsonb[]) v;
    FOR i IN 1 .. floor(random() * 6)::int LOOP
        r := r || jsonb_build_array(rand_record(ids[i], depth));
    END LOOP;
    RETURN r;
END
$$;

-- a random JSON value; depth is the nesting level of the value
CREATE FUNCTION gen(depth int) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    x float8 := random();
    r jsonb;
BEGIN
    IF depth >= 4 OR x < 0.40 THEN
        RETURN rand_scalar();
    ELSIF x < 0.72 THEN
        r := '{}';
        FOR i IN 1 .. floor(random() * 5)::int LOOP
            r := r || jsonb_build_object(rand_key(), gen(depth + 1));
        END LOOP;
    ELSIF x < 0.90 THEN
        r := '[]';
        FOR i IN 1 .. floor(random() * 7)::int LOOP
            r := r || jsonb_build_array(gen(depth + 1));
        END LOOP;
    ELSE
        r := rand_records(depth);
    END IF;
    RETURN r;
END
$$;

-- a long array of small values (many repeats, so alignment is ambiguous)
CREATE FUNCTION gen_long() RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r jsonb := '[]';
BEGIN
    FOR i IN 1 .. floor(random() * 60)::int LOOP
        r := r || jsonb_build_array(CASE WHEN random() < 0.8
                                         THEN pick(ARRAY['1', '2', '3', '"a"', '[1]', '{"k": 1}'])::jsonb
                                         ELSE gen(2) END);
    END LOOP;
    RETURN r;
END
$$;

-- the same value with every number written at a larger scale (1 -> 1.000)
CREATE FUNCTION renum(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'number' THEN to_jsonb(v::text::numeric + 0.000)
        WHEN 'object' THEN (SELECT coalesce(jsonb_object_agg(key, renum(value)), '{}')
                            FROM jsonb_each(v))
        WHEN 'array' THEN (SELECT coalesce(jsonb_agg(renum(value) ORDER BY n), '[]')
                           FROM jsonb_array_elements(v) WITH ORDINALITY e(value, n))
        ELSE v END
$$;

CREATE FUNCTION is_record_array(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_typeof(v) = 'array' AND jsonb_array_length(v) > 0 AND
           NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
                       WHERE jsonb_typeof(e) <> 'object' OR NOT e ? 'id')
$$;

-- a document related to v: members changed, added, removed; array elements
-- inserted, deleted, replaced, swapped; prepends, appends; type changes
CREATE FUNCTION mutate(v jsonb, depth int) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    x float8 := random();
    r jsonb;
    e jsonb;
    k text;
    n int;
    i int;
    j int;
    keyed boolean;
    id jsonb;
BEGIN
    IF x < 0.06 THEN
        RETURN gen(depth);                  -- anything, often another type
    ELSIF x < 0.10 THEN
        RETURN renum(v);                    -- same value, other spelling
    END IF;
    CASE jsonb_typeof(v)
    WHEN 'object' THEN
        r := '{}';
        FOR k, e IN SELECT key, value FROM jsonb_each(v) LOOP
            x := random();
            IF x < 0.15 THEN
                CONTINUE;                   -- member removed
            ELSIF x < 0.45 THEN
                e := mutate(e, depth + 1);
            END IF;
            r := r || jsonb_build_object(k, e);
        END LOOP;
        WHILE random() < 0.3 LOOP
            r := r || jsonb_build_object(rand_key(), gen(depth + 1));
        END LOOP;
        RETURN r;
    WHEN 'array' THEN
        keyed := is_record_array(v);
        r := '[]';
        FOR e IN SELECT a FROM jsonb_array_elements(v) a LOOP
            x := random();
            IF x < 0.10 THEN
                CONTINUE;                   -- element deleted
            ELSIF x < 0.18 THEN             -- element inserted before
                r := r || jsonb_build_array(CASE WHEN keyed
                                                 THEN rand_record(to_jsonb(100 + jsonb_array_length(r)), depth + 1)
                                                 ELSE gen(depth + 1) END);
            ELSIF x < 0.40 THEN
                IF keyed AND random() < 0.9 THEN  -- record changed, id kept
                    id := e->'id';
                    e := mutate(e - 'id', depth + 1);
                    e := CASE WHEN jsonb_typeof(e) = 'object' THEN e ELSE '{}' END
                         || jsonb_build_object('id', id);
                ELSE
                    e := mutate(e, depth + 1);
                END IF;
            ELSIF x < 0.45 THEN             -- element replaced
                e := CASE WHEN keyed THEN rand_record(to_jsonb(200 + jsonb_array_length(r)), depth + 1)
                          ELSE gen(depth + 1) END;
            END IF;
            r := r || jsonb_build_array(e);
        END LOOP;
        IF random() < 0.15 THEN             -- prepend
            r := jsonb_build_array(CASE WHEN keyed THEN rand_record('"new"', depth + 1)
                                        ELSE gen(depth + 1) END) || r;
        END IF;
        IF random() < 0.15 THEN             -- append
            r := r || jsonb_build_array(CASE WHEN keyed THEN rand_record('"last"', depth + 1)
                                             ELSE gen(depth + 1) END);
        END IF;
        n := jsonb_array_length(r);
        IF n > 1 AND random() < 0.2 THEN    -- two elements swap places
            i := floor(random() * n)::int;
            j := floor(random() * n)::int;
            e := r->i;
            r := jsonb_set(jsonb_set(r, ARRAY[i::text], r->j), ARRAY[j::text], e);
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

--
-- Helpers for the checks
--

-- RFC 6901 pointer -> unescaped segments (independent of the C code)
CREATE FUNCTION ptr_segments(p text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p = '' THEN '{}'::text[]
                ELSE (SELECT array_agg(replace(replace(s, '~1', '/'), '~0', '~') ORDER BY n)
                      FROM regexp_split_to_table(substr(p, 2), '/') WITH ORDINALITY t(s, n))
           END
$$;

-- every JSON pointer into v, the root "" included
CREATE FUNCTION all_ptrs(v jsonb) RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
    WITH RECURSIVE walk(p, v) AS (
        SELECT '', v
        UNION ALL
        SELECT w.p || '/' || replace(replace(c.k, '~', '~0'), '/', '~1'), c.v
        FROM walk w
        CROSS JOIN LATERAL (
            SELECT e.key, e.value
            FROM jsonb_each(CASE WHEN jsonb_typeof(w.v) = 'object' THEN w.v END) e
            UNION ALL
            SELECT (e.n - 1)::text, e.value
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.v) = 'array' THEN w.v END)
                 WITH ORDINALITY e(value, n)
        ) c(k, v)
    )
    SELECT p FROM walk
$$;

-- true when v holds an object member whose value is JSON null, at any depth
CREATE FUNCTION has_null_member(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_path_exists(v, 'strict $.** ? (@.type() == "object").* ? (@ == null)')
$$;

-- true when an RFC 7396 merge patch from s cannot produce t: t needs a JSON
-- null as an object member that s does not already hold at that place
-- (s IS NULL: no usable object there, the patch starts from {})
CREATE FUNCTION needs_null(s jsonb, t jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
    v jsonb;
    sk jsonb;
BEGIN
    IF jsonb_typeof(t) <> 'object' THEN
        RETURN false;
    END IF;
    FOR k, v IN SELECT key, value FROM jsonb_each(t) LOOP
        sk := CASE WHEN jsonb_typeof(s) = 'object' THEN s -> k END;
        IF v = 'null' AND sk IS DISTINCT FROM 'null' THEN
            RETURN true;
        END IF;
        IF jsonb_typeof(v) = 'object' AND sk IS DISTINCT FROM v AND needs_null(sk, v) THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END
$$;

-- NULL when jsonb_changes(a, b, opts) matches the patch d = jsonb_diff(a, b, opts)
-- row for row (op, path, path_array, old and new value, checked against the
-- document as the preceding operations left it); otherwise what differs
CREATE FUNCTION changes_mismatch(a jsonb, b jsonb, opts jsonb, d jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st jsonb := a;
    o jsonb;
    r record;
    n int := 0;
    nd int := jsonb_array_length(d);
    want_old jsonb;
    want_new jsonb;
BEGIN
    FOR r IN SELECT * FROM jsonb_changes(a, b, opts)
                 WITH ORDINALITY c(op, path, path_array, old_value, new_value, ord)
             ORDER BY ord LOOP
        n := n + 1;
        IF n > nd THEN
            RETURN format('more rows than the %s ops', nd);
        END IF;
        o := d -> (n - 1);
        IF r.op IS DISTINCT FROM o->>'op' OR r.path IS DISTINCT FROM o->>'path' THEN
            RETURN format('row %s is %s %s, op is %s', n, r.op, r.path, o);
        END IF;
        IF r.path_array IS DISTINCT FROM ptr_segments(r.path) THEN
            RETURN format('row %s: path_array %s for path %s', n, r.path_array, r.path);
        END IF;
        CASE r.op
        WHEN 'add' THEN
            want_old := NULL;
            want_new := o->'value';
        WHEN 'remove' THEN
            want_old := st #> r.path_array;
            want_new := NULL;
        WHEN 'replace' THEN
            want_old := st #> r.path_array;
            want_new := o->'value';
        WHEN 'test' THEN
            want_old := o->'value';
            want_new := NULL;
        WHEN 'move' THEN
            want_old := NULL;
            want_new := st #> ptr_segments(o->>'from');
        ELSE
            RETURN format('row %s: unexpected op %s', n, r.op);
        END CASE;
        IF r.old_value IS DISTINCT FROM want_old OR r.new_value IS DISTINCT FROM want_new THEN
            RETURN format('row %s (%s %s): old %s new %s, expected old %s new %s', n, r.op, r.path,
                          coalesce(r.old_value::text, 'NULL'), coalesce(r.new_value::text, 'NULL'),
                          coalesce(want_old::text, 'NULL'), coalesce(want_new::text, 'NULL'));
        END IF;
        st := jsonb_patch(st, jsonb_build_array(o));
    END LOOP;
    IF n <> nd THEN
        RETURN format('%s rows for %s ops', n, nd);
    END IF;
    RETURN NULL;
END
$$;

-- NULL when d2 (diff with test_ops) is d with one test of the same path
-- placed directly before each remove and replace, and nothing else changed
CREATE FUNCTION test_ops_mismatch(d jsonb, d2 jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN (SELECT coalesce(jsonb_agg(e ORDER BY n), '[]')
              FROM jsonb_array_elements(d2) WITH ORDINALITY x(e, n)
              WHERE e->>'op' <> 'test') IS DISTINCT FROM d
            THEN 'without its tests the patch differs from the plain diff'
        WHEN EXISTS (SELECT 1
                     FROM jsonb_array_elements(d2) WITH ORDINALITY x(e, n)
                     WHERE e->>'op' IN ('remove', 'replace')
                       AND (n = 1 OR d2->(n::int - 2)->>'op' <> 'test'
                            OR d2->(n::int - 2)->>'path' <> e->>'path'))
            THEN 'a remove/replace is not directly preceded by a test of its path'
        WHEN (SELECT count(*) FROM jsonb_array_elements(d2) e WHERE e->>'op' = 'test')
             <> (SELECT count(*) FROM jsonb_array_elements(d) e WHERE e->>'op' IN ('remove', 'replace'))
            THEN 'test count differs from remove+replace count'
    END
$$;

CREATE TYPE outcome AS (area text, mode text, prop text, ok boolean, detail text);

CREATE FUNCTION outc(area text, mode text, prop text, ok boolean, detail text) RETURNS outcome
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(area, mode, prop, ok, CASE WHEN NOT ok THEN detail END)::outcome
$$;

-- all jsonb_diff / jsonb_changes / jsonb_patch properties of one pair under
-- one set of options
CREATE FUNCTION check_diff(a jsonb, b jsonb, mode text, opts jsonb) RETURNS SETOF outcome
LANGUAGE plpgsql AS $$
DECLARE
    d jsonb;
    d2 jsonb;
    d3 jsonb;
    res jsonb;
    msg text;
BEGIN
    BEGIN
        d := jsonb_diff(a, b, opts);
    EXCEPTION WHEN OTHERS THEN
        RETURN NEXT outc('diff', mode, 'jsonb_diff does not raise', false, SQLSTATE || ' ' || SQLERRM);
        RETURN;
    END;
    RETURN NEXT outc('diff', mode, 'jsonb_diff does not raise', true, NULL);

    BEGIN
        res := jsonb_patch(a, d);
        RETURN NEXT outc('diff', mode, 'patch(a, diff(a,b)) = b', res IS NOT DISTINCT FROM b,
                        'diff ' || d::text || ' gave ' || res::text);
    EXCEPTION WHEN OTHERS THEN
        RETURN NEXT outc('diff', mode, 'patch(a, diff(a,b)) = b', false,
                        'diff ' || d::text || ' raised ' || SQLSTATE || ' ' || SQLERRM);
    END;

    BEGIN
        res := jsonb_diff(a, a, opts);
        RETURN NEXT outc('diff', mode, 'diff(a,a) = []', res = '[]', res::text);
        res := jsonb_diff(b, b, opts);
        RETURN NEXT outc('diff', mode, 'diff(a,a) = []', res = '[]', res::text);
    EXCEPTION WHEN OTHERS THEN
        RETURN NEXT outc('diff', mode, 'diff(a,a) = []', false, SQLSTATE || ' ' || SQLERRM);
    END;

    RETURN NEXT outc('diff', mode, '(diff(a,b) = []) = (a = b)', (d = '[]') = (a = b), d::text);

    BEGIN
        msg := changes_mismatch(a, b, opts, d);
    EXCEPTION WHEN OTHERS THEN
        msg := SQLSTATE || ' ' || SQLERRM;
    END;
    RETURN NEXT outc('diff', mode, 'jsonb_changes agrees with jsonb_diff', msg IS NULL, msg || ' in ' || d::text);

    BEGIN
        d2 := jsonb_diff(a, b, opts || '{"test_ops": true}');
        res := jsonb_patch(a, d2);
        RETURN NEXT outc('diff', mode, 'test_ops: patch(a, diff) = b', res IS NOT DISTINCT FROM b,
                        'diff ' || d2::text || ' gave ' || res::text);
        msg := test_ops_mismatch(d, d2);
        RETURN NEXT outc('diff', mode, 'test_ops: a test before each remove/replace', msg IS NULL,
                        msg || ': ' || d2::text || ' vs ' || d::text);
        msg := changes_mismatch(a, b, opts || '{"test_ops": true}', d2);
        RETURN NEXT outc('diff', mode, 'test_ops: jsonb_changes agrees', msg IS NULL, msg || ' in ' || d2::text);
    EXCEPTION WHEN OTHERS THEN
        RETURN NEXT outc('diff', mode, 'test_ops: patch(a, diff) = b', false,
                        coalesce('diff ' || d2::text, 'jsonb_diff') || ' raised ' || SQLSTATE || ' ' || SQLERRM);
    END;

    BEGIN
        d3 := jsonb_diff(a, b, opts || '{"moves": true}');
        res := jsonb_patch(a, d3);
        RETURN NEXT outc('diff', mode, 'moves: patch(a, diff) = b', res IS NOT DISTINCT FROM b,
                        'diff ' || d3::text || ' gave ' || res::text);
        msg := changes_mismatch(a, b, opts || '{"moves": true}', d3);
        RETURN NEXT outc('diff', mode, 'moves: jsonb_changes agrees', msg IS NULL, msg || ' in ' || d3::text);
    EXCEPTION WHEN OTHERS THEN
        RETURN NEXT outc('diff', mode, 'moves: patch(a, diff) = b', false,
                        coalesce('diff ' || d3::text, 'jsonb_diff') || ' raised ' || SQLSTATE || ' ' || SQLERRM);
    END;
END
$$;

-- the "path" option: for every location present in both a and b, the
-- patch only touches that subtree and turns it into b's
CREATE FUNCTION check_path(a jsonb, b jsonb) RETURNS SETOF outcome
LANGUAGE plpgsql AS $$
DECLARE
    p text;
    d jsonb;
    res jsonb;
    want jsonb;
BEGIN
    FOR p IN SELECT q FROM all_ptrs(a) q INTERSECT SELECT q FROM all_ptrs(b) q ORDER BY 1 LOOP
        want := CASE WHEN p = '' THEN b ELSE jsonb_set(a, ptr_segments(p), b #> ptr_segments(p)) END;
        BEGIN
            d := jsonb_diff(a, b, jsonb_build_object('path', p));
            res := jsonb_patch(a, d);
            RETURN NEXT outc('diff', 'path', 'patch(a, diff(a, b, path)) = a with b''s subtree',
                             res = want AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(d) o
                                                        WHERE p <> '' AND o->>'path' <> p
                                                          AND NOT starts_with(o->>'path', p || '/')),
                             'path ' || p || ': diff ' || d::text || ' gave ' || res::text);
        EXCEPTION WHEN OTHERS THEN
            RETURN NEXT outc('diff', 'path', 'patch(a, diff(a, b, path)) = a with b''s subtree', false,
                             'path ' || p || ': ' || coalesce('diff ' || d::text || ' ', '')
                             || 'raised ' || SQLSTATE || ' ' || SQLERRM);
        END;
    END LOOP;
END
$$;

-- source and target swapped in a conflict object (kind and resolution too)
CREATE FUNCTION flip_conflict(c jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT (c - 'source' - 'target' - 'kind' - 'resolution')
           || CASE WHEN c ? 'target' THEN jsonb_build_object('source', c->'target') ELSE '{}' END
           || CASE WHEN c ? 'source' THEN jsonb_build_object('target', c->'source') ELSE '{}' END
           || jsonb_build_object('kind', CASE c->>'kind'
                                             WHEN 'delete/modify' THEN 'modify/delete'
                                             WHEN 'modify/delete' THEN 'delete/modify'
                                             ELSE c->>'kind' END,
                                 'resolution', CASE c->>'resolution'
                                                   WHEN 'source' THEN 'target'
                                                   WHEN 'target' THEN 'source'
                                                   ELSE c->>'resolution' END)
$$;

CREATE FUNCTION sorted_conflicts(cs jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_agg(c ORDER BY c::text), '[]') FROM jsonb_array_elements(cs) c
$$;

-- NULL when every conflict object describes the three documents correctly:
-- base/source/target are the values at its path (key absent = no value
-- there), kind follows from them, merged holds the winner's value
CREATE FUNCTION conflict_mismatch(base jsonb, src jsonb, tgt jsonb, r jsonb,
                                  resolution text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c jsonb;
    p text[];
    vb jsonb;
    vs jsonb;
    vt jsonb;
    want_kind text;
    winner jsonb;
BEGIN
    FOR c IN SELECT e FROM jsonb_array_elements(r->'conflicts') e LOOP
        p := ptr_segments(c->>'path');
        vb := base #> p;
        vs := src #> p;
        vt := tgt #> p;
        IF c->'base' IS DISTINCT FROM vb OR c->'source' IS DISTINCT FROM vs
           OR c->'target' IS DISTINCT FROM vt THEN
            RETURN 'values in ' || c::text;
        END IF;
        want_kind := CASE WHEN vb IS NULL THEN 'add/add'
                          WHEN vs IS NULL THEN 'delete/modify'
                          WHEN vt IS NULL THEN 'modify/delete'
                          WHEN jsonb_typeof(vs) <> jsonb_typeof(vt) THEN 'type'
                          ELSE 'modify/modify' END;
        IF c->>'kind' IS DISTINCT FROM want_kind AND
           NOT (want_kind = 'add/add' AND c->>'kind' = 'type'
                AND jsonb_typeof(vs) <> jsonb_typeof(vt)) THEN
            RETURN 'kind in ' || c::text;
        END IF;
        IF c->>'resolution' IS DISTINCT FROM resolution THEN
            RETURN 'resolution in ' || c::text;
        END IF;
        winner := CASE WHEN resolution = 'source' THEN vs ELSE vt END;
        IF r->'merged' #> p IS DISTINCT FROM winner THEN
            RETURN 'merged value at ' || (c->>'path') || ' is ' || coalesce((r->'merged' #> p)::text, 'absent');
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION check_merge3(a jsonb, b jsonb, c jsonb) RETURNS SETOF outcome
LANGUAGE plpgsql AS $$
DECLARE
    m record;
    r jsonb;
    s1 jsonb;
    t1 jsonb;
    m1 jsonb;
    t2 jsonb;
    msg text;
BEGIN
    FOR m IN SELECT * FROM (VALUES ('default', '{}'::jsonb),
                                   ('lcs', '{"arrays": "lcs"}'),
                                   ('array_key', '{"array_key": "id"}')) v(mode, opts) LOOP
        BEGIN
            r := jsonb_merge3(a, b, a, m.opts);
            RETURN NEXT outc('merge3', m.mode, 'merge3(a, b, a) = b, no conflict',
                            r = jsonb_build_object('merged', b, 'conflicts', '[]'::jsonb), r::text);
            r := jsonb_merge3(a, a, b, m.opts);
            RETURN NEXT outc('merge3', m.mode, 'merge3(a, a, b) = b, no conflict',
                            r = jsonb_build_object('merged', b, 'conflicts', '[]'::jsonb), r::text);
            r := jsonb_merge3(a, b, b, m.opts);
            RETURN NEXT outc('merge3', m.mode, 'merge3(a, b, b) = b, no conflict',
                            r = jsonb_build_object('merged', b, 'conflicts', '[]'::jsonb), r::text);
        EXCEPTION WHEN OTHERS THEN
            RETURN NEXT outc('merge3', m.mode, 'merge3(a, b, a) = b, no conflict', false,
                            SQLSTATE || ' ' || SQLERRM);
        END;
    END LOOP;

    -- two independent edits of a (default arrays: atomic)
    BEGIN
        s1 := jsonb_merge3(a, b, c, '{"strategy": "source_wins"}');
        t1 := jsonb_merge3(a, b, c, '{"strategy": "target_wins"}');
        m1 := jsonb_merge3(a, b, c);
        t2 := jsonb_merge3(a, c, b, '{"strategy": "target_wins"}');
        RETURN NEXT outc('merge3', 'default', 'source_wins(a,b,c) = target_wins(a,c,b)',
                        s1->'merged' = t2->'merged'
                        AND sorted_conflicts(t2->'conflicts') =
                            sorted_conflicts((SELECT coalesce(jsonb_agg(flip_conflict(x)), '[]')
                                              FROM jsonb_array_elements(s1->'conflicts') x)),
                        s1::text || ' vs ' || t2::text);
        RETURN NEXT outc('merge3', 'default', 'manual merged = target_wins merged',
                        m1->'merged' = t1->'merged'
                        AND jsonb_array_length(m1->'conflicts') = jsonb_array_length(t1->'conflicts'),
                        m1::text || ' vs ' || t1::text);
        msg := coalesce(conflict_mismatch(a, b, c, m1, 'unresolved'),
                        conflict_mismatch(a, b, c, t1, 'target'),
                        conflict_mismatch(a, b, c, s1, 'source'));
        RETURN NEXT outc('merge3', 'default', 'conflict objects describe base/source/target',
                        msg IS NULL, msg);
    EXCEPTION WHEN OTHERS THEN
        RETURN NEXT outc('merge3', 'default', 'source_wins(a,b,c) = target_wins(a,c,b)', false,
                        SQLSTATE || ' ' || SQLERRM);
    END;
END
$$;

CREATE FUNCTION check_merge_diff(a jsonb, b jsonb) RETURNS SETOF outcome
LANGUAGE plpgsql AS $$
DECLARE
    md jsonb;
    res jsonb;
    prop text;
BEGIN
    prop := CASE WHEN NOT has_null_member(b) THEN 'merge_patch(a, merge_diff(a,b)) = b (b without null members)'
                 WHEN NOT needs_null(a, b) THEN 'merge_patch(a, merge_diff(a,b)) = b (nulls already in a)'
                 ELSE 'merge_diff raises 22023 when b needs a null member' END;
    BEGIN
        md := jsonb_merge_diff(a, b);
        res := jsonb_merge_patch(a, md);
        RETURN NEXT outc('merge_diff', '', prop, NOT needs_null(a, b) AND res IS NOT DISTINCT FROM b,
                        'merge_diff ' || md::text || ' gave ' || res::text);
    EXCEPTION WHEN OTHERS THEN
        RETURN NEXT outc('merge_diff', '', prop, needs_null(a, b) AND SQLSTATE = '22023',
                        'raised ' || SQLSTATE || ' ' || SQLERRM);
    END;
END
$$;

--
-- The pairs (a, b) and a second edit c of a for the merge checks
--
CREATE TABLE pair (id int PRIMARY KEY, kind text NOT NULL, a jsonb, b jsonb, c jsonb);

DO $$
DECLARE
    a jsonb;
    k text;
BEGIN
    PERFORM setseed(0.2024);
    FOR i IN 1 .. 2200 LOOP
        IF i <= 1300 THEN
            k := 'general';
            a := gen(0);
            IF jsonb_typeof(a) NOT IN ('object', 'array') AND random() < 0.8 THEN
                a := jsonb_build_object(rand_key(), gen(1), rand_key(), gen(1), rand_key(), gen(1));
            END IF;
            INSERT INTO pair VALUES (i, k, a, mutate(a, 0), mutate(a, 0));
        ELSIF i <= 1700 THEN
            k := 'records';
            a := CASE WHEN random() < 0.3 THEN rand_records(0)
                      ELSE jsonb_build_object('items', rand_records(1), 'meta', gen(1)) END;
            INSERT INTO pair VALUES (i, k, a, mutate(a, 0), mutate(a, 0));
        ELSIF i <= 1900 THEN
            k := 'long arrays';
            a := gen_long();
            INSERT INTO pair VALUES (i, k, a, mutate(mutate(a, 0), 0), mutate(a, 0));
        ELSIF i <= 2100 THEN
            k := 'unrelated';
            INSERT INTO pair VALUES (i, k, gen(0), gen(0), gen(0));
        ELSE
            k := 'equal';
            a := gen(1);
            INSERT INTO pair VALUES (i, k, a, renum(a), a);
        END IF;
    END LOOP;
END
$$;

SELECT kind, count(*) AS pairs FROM pair GROUP BY kind ORDER BY kind;

CREATE TABLE outcome_row AS
SELECT p.id, o.*
FROM pair p,
     LATERAL (SELECT * FROM check_diff(p.a, p.b, 'lcs', '{"arrays": "lcs"}')
              UNION ALL
              SELECT * FROM check_diff(p.a, p.b, 'index', '{"arrays": "index"}')
              UNION ALL
              SELECT * FROM check_diff(p.a, p.b, 'atomic', '{"arrays": "atomic"}')
              UNION ALL
              SELECT * FROM check_diff(p.a, p.b, 'array_key', '{"array_key": "id"}')
              UNION ALL
              SELECT * FROM check_path(p.a, p.b) WHERE p.id % 2 = 0
              UNION ALL
              SELECT * FROM check_merge3(p.a, p.b, p.c)
              UNION ALL
              SELECT * FROM check_merge_diff(p.a, p.b)
              UNION ALL
              SELECT * FROM check_merge_diff(p.a, p.c)) o;

-- failures per property (all 0)
SELECT area, mode, prop, count(*) FILTER (WHERE NOT ok) AS failures
FROM outcome_row
GROUP BY area, mode, prop
ORDER BY area, mode, prop;

-- the first offending pairs (none)
SELECT o.area, o.mode, o.prop, p.id, p.a, p.b, p.c, left(o.detail, 600) AS detail
FROM outcome_row o JOIN pair p USING (id)
WHERE NOT o.ok
ORDER BY o.area, o.mode, o.prop, p.id
LIMIT 8;

-- the generated data exercise what they should
SELECT count(*) FILTER (WHERE a <> b) > 1500 AS most_pairs_differ,
       count(*) FILTER (WHERE a = b AND a::text <> b::text) >= 100 AS equal_but_spelled_differently,
       count(*) FILTER (WHERE jsonb_path_exists(a, 'strict $.**{4}')) >= 200 AS depth_4_reached,
       count(*) FILTER (WHERE jsonb_typeof(a) <> jsonb_typeof(b)) >= 100 AS root_type_changes,
       count(*) FILTER (WHERE jsonb_diff(a, b)::text ~ '~[01]') >= 100 AS escaped_paths,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM jsonb_changes(a, b) ch
                                      WHERE '' = ANY (ch.path_array))) >= 30 AS empty_key_paths,
       count(*) FILTER (WHERE jsonb_array_length(jsonb_diff(a, b, '{"arrays": "lcs"}'))
                              < jsonb_array_length(jsonb_diff(a, b, '{"arrays": "index"}'))) >= 100 AS lcs_shorter_than_index,
       count(*) FILTER (WHERE jsonb_diff(a, b, '{"array_key": "id"}')
                              <> jsonb_diff(a, b)) >= 50 AS array_key_matters,
       count(*) FILTER (WHERE jsonb_diff(a, b, '{"moves": true}')::text ~ '"op": "move"') >= 20 AS moves_emitted
FROM pair;

SELECT k.kind, count(x.conflict) >= 5 AS seen
FROM (VALUES ('add/add'), ('delete/modify'), ('modify/delete'), ('modify/modify'), ('type')) k(kind)
LEFT JOIN (SELECT conflict
           FROM pair, jsonb_array_elements(jsonb_merge3(a, b, c)->'conflicts') conflict) x
       ON x.conflict->>'kind' = k.kind
GROUP BY k.kind
ORDER BY k.kind;

-- properties checked fewer than 20 times (none)
SELECT area, mode, prop, count(*) AS checks
FROM outcome_row
GROUP BY area, mode, prop
HAVING count(*) < 20
ORDER BY area, mode, prop;

RESET search_path;
DROP SCHEMA regress_prop CASCADE;
DROP EXTENSION diffsync;
