/* test/bench/baselines_jsonb.sql */

/*
 * Baselines for the jsonb benchmark (jsonb_bench.sql), written the way
 * people write them in PL/pgSQL when they have no C extension.  They live
 * in the schema "bench", which the benchmark creates in its scratch
 * database; nothing here belongs to the extension.
 *
 *   bench.ptr_escape(key)          RFC 6901 escaping of one key ("~" -> "~0"
 *                                  first, then "/" -> "~1")
 *   bench.ptr_to_path(pointer)     RFC 6901 pointer -> text[] usable with
 *                                  #>, #-, jsonb_set and jsonb_insert
 *   bench.plpgsql_diff(a, b)       typical recursive RFC 6902 diff: objects
 *                                  by key, arrays index-wise, one replace on a
 *                                  type or scalar change, "a = b" short-cut
 *   bench.jsonb_set_patch(doc, p)  RFC 6902 apply, op by op, through
 *                                  jsonb_set / jsonb_insert / #- / #>
 *
 * They are competent, not deliberately slow: no dynamic SQL, no temporary
 * tables, one pass per container, the equality short-cut that published
 * versions have.  The benchmark checks that their output is correct
 * (diffsync.jsonb_patch(a, bench.plpgsql_diff(a, b)) = b, and the same
 * result from bench.jsonb_set_patch and diffsync.jsonb_patch).
 */

DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

CREATE FUNCTION bench.ptr_escape(key text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT pg_catalog.replace(pg_catalog.replace(key, '~', '~0'), '/', '~1') $$;

CREATE FUNCTION bench.ptr_to_path(pointer text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN pointer = '' THEN '{}'::text[]
        WHEN pointer = '/' THEN '{""}'::text[]
        ELSE (SELECT pg_catalog.array_agg(pg_catalog.replace(pg_catalog.replace(s, '~1', '/'), '~0', '~')
                                          ORDER BY n)
              FROM pg_catalog.unnest(pg_catalog.string_to_array(pg_catalog.substr(pointer, 2), '/'))
                   WITH ORDINALITY AS u(s, n))
    END
$$;

/*
 * Recursive RFC 6902 diff, index-wise arrays.  Returns a jsonb array of
 * operations turning a into b; path is the pointer of a/b in the whole
 * document.  Members are paired with a FULL JOIN of jsonb_each() and
 * elements with jsonb_array_elements() WITH ORDINALITY, so each container
 * is read once (indexing a TOASTed argument with -> in a loop would detoast
 * it on every access).  Removals at the end of an array go from the highest
 * index down so that every index is valid when its op is applied.
 */
CREATE FUNCTION bench.plpgsql_diff(a jsonb, b jsonb, path text DEFAULT '')
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    ops jsonb := '[]';
    ta text;
    tb text;
    k text;
    i bigint;
    va jsonb;
    vb jsonb;
BEGIN
    IF a = b THEN
        RETURN ops;
    END IF;
    ta := pg_catalog.jsonb_typeof(a);
    tb := pg_catalog.jsonb_typeof(b);
    IF ta = 'object' AND tb = 'object' THEN
        FOR k, va, vb IN
            SELECT coalesce(x.key, y.key), x.value, y.value
            FROM pg_catalog.jsonb_each(a) AS x FULL JOIN pg_catalog.jsonb_each(b) AS y ON x.key = y.key
        LOOP
            IF vb IS NULL THEN
                ops := ops || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                    'op', 'remove', 'path', path || '/' || bench.ptr_escape(k)));
            ELSIF va IS NULL THEN
                ops := ops || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                    'op', 'add', 'path', path || '/' || bench.ptr_escape(k), 'value', vb));
            ELSE
                ops := ops || bench.plpgsql_diff(va, vb, path || '/' || bench.ptr_escape(k));
            END IF;
        END LOOP;
    ELSIF ta = 'array' AND tb = 'array' THEN
        /* common positions, then the tail of a (removed, backwards) or of b (added) */
        FOR i, va, vb IN
            SELECT coalesce(x.n, y.n) - 1, x.value, y.value
            FROM pg_catalog.jsonb_array_elements(a) WITH ORDINALITY AS x(value, n)
                 FULL JOIN pg_catalog.jsonb_array_elements(b) WITH ORDINALITY AS y(value, n) ON x.n = y.n
            ORDER BY CASE WHEN y.n IS NULL THEN -x.n ELSE coalesce(x.n, y.n) END
        LOOP
            IF vb IS NULL THEN
                ops := ops || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                    'op', 'remove', 'path', path || '/' || i));
            ELSIF va IS NULL THEN
                ops := ops || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                    'op', 'add', 'path', path || '/' || i, 'value', vb));
            ELSE
                ops := ops || bench.plpgsql_diff(va, vb, path || '/' || i);
            END IF;
        END LOOP;
    ELSE
        ops := pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'op', 'replace', 'path', path, 'value', b));
    END IF;
    RETURN ops;
END
$$;

/*
 * RFC 6902 apply, the way it is done with the built-ins: one jsonb_set,
 * jsonb_insert or #- per operation, each re-serialising the document.
 * Raises on a failed test; does not reproduce the RFC's error cases
 * (jsonb_set silently ignores missing paths), which the benchmark's
 * patches do not contain.
 */
CREATE FUNCTION bench.jsonb_set_patch(doc jsonb, patch jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    op jsonb;
    kind text;
    path text[];
    parent text[];
    v jsonb;
BEGIN
    FOR op IN SELECT e FROM pg_catalog.jsonb_array_elements(patch) AS e LOOP
        kind := op ->> 'op';
        path := bench.ptr_to_path(op ->> 'path');
        IF kind IN ('move', 'copy') THEN
            v := doc #> bench.ptr_to_path(op ->> 'from');
            IF kind = 'move' THEN
                doc := doc #- bench.ptr_to_path(op ->> 'from');
            END IF;
            kind := 'add';
        ELSE
            v := op -> 'value';
        END IF;

        IF kind = 'test' THEN
            IF (doc #> path) IS DISTINCT FROM v THEN
                RAISE EXCEPTION 'test failed at %', op ->> 'path';
            END IF;
        ELSIF kind = 'remove' THEN
            doc := doc #- path;
        ELSIF pg_catalog.cardinality(path) = 0 THEN
            doc := v;                   /* add or replace at the root */
        ELSIF kind = 'replace' THEN
            doc := pg_catalog.jsonb_set(doc, path, v, false);
        ELSIF kind = 'add' THEN
            parent := path[1:pg_catalog.cardinality(path) - 1];
            IF pg_catalog.jsonb_typeof(doc #> parent) = 'array' THEN
                IF path[pg_catalog.cardinality(path)] = '-' THEN
                    doc := pg_catalog.jsonb_set(doc, parent, (doc #> parent) || pg_catalog.jsonb_build_array(v));
                ELSE
                    doc := pg_catalog.jsonb_insert(doc, path, v);
                END IF;
            ELSE
                doc := pg_catalog.jsonb_set(doc, path, v, true);
            END IF;
        ELSE
            RAISE EXCEPTION 'unknown op %', kind;
        END IF;
    END LOOP;
    RETURN doc;
END
$$;
