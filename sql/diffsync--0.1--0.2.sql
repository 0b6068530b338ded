/* sql/diffsync--0.1--0.2.sql -- upgrade diffsync from 0.1 to 0.2 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION diffsync UPDATE TO '0.2'" to load this file. \quit

-- 0.2: the checksum-bucket diff ("buckets" option of diff, diff_text, sync
-- and engines; it needs no catalog change) and diff_buckets(), which lists
-- the buckets whose checksums differ.

CREATE FUNCTION @extschema@.diff_buckets(source pg_catalog.text,
                                         target pg_catalog.text,
                                         options pg_catalog.jsonb,
                                         OUT model pg_catalog.text,
                                         OUT bucket pg_catalog.int8,
                                         OUT source_rows pg_catalog.int8,
                                         OUT target_rows pg_catalog.int8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'diffsync_diff_buckets'
LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.diff_buckets(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'the buckets whose checksums differ between two adapters (options: "buckets", a power of two, and the diff options), with their row counts on each side; only per-bucket aggregates are read';
