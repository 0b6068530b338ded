-- demo/demo.sql: a short tour of diffsync
--
-- Run it with "bash scripts/demo.sh", which builds and installs diffsync and
-- runs this file in a throwaway cluster.  Each section prints a heading, the
-- call it makes and what comes back.

\pset null '(absent)'
\pset footer off

CREATE EXTENSION diffsync;

-- Two versions of a service's configuration.
\set v1 '{"service": "billing", "version": 3, "replicas": 2, "env": {"LOG_LEVEL": "info", "DB_POOL": 10}, "hosts": ["b.internal", "c.internal"], "features": {"audit": false}}'
\set v2 '{"service": "billing", "version": 4, "replicas": 2, "env": {"LOG_LEVEL": "debug", "DB_POOL": 10, "CACHE_TTL": 300}, "hosts": ["a.internal", "b.internal", "c.internal"]}'

\echo
\echo '== The two documents: v1 and v2'
SELECT pg_catalog.jsonb_pretty(:'v1') AS v1, pg_catalog.jsonb_pretty(:'v2') AS v2;

\echo '== jsonb_diff(v1, v2): the RFC 6902 JSON Patch that turns v1 into v2'
SELECT pg_catalog.jsonb_pretty(diffsync.jsonb_diff(:'v1', :'v2')) AS patch;

\echo '== Arrays are aligned, not compared slot by slot: prepending one element is 1 op'
SELECT m.mode AS arrays, pg_catalog.jsonb_array_length(d.patch) AS ops, d.patch
  FROM (VALUES ('lcs'), ('index')) AS m(mode),
       LATERAL diffsync.jsonb_diff('["b", "c"]', '["a", "b", "c"]',
                                   pg_catalog.jsonb_build_object('arrays', m.mode)) AS d(patch);

\echo '== jsonb_changes(v1, v2): the same patch as rows (absent = no value on that side)'
SELECT op, path, path_array, old_value, new_value
  FROM diffsync.jsonb_changes(:'v1', :'v2');

\echo '== jsonb_patch(v1, jsonb_diff(v1, v2)) gives back v2'
SELECT diffsync.jsonb_patch(:'v1', diffsync.jsonb_diff(:'v1', :'v2')) = :'v2'::jsonb
       AS round_trip_ok;

\echo '== jsonb_patch is all or nothing: a failing "test" op rejects the whole patch'
CREATE FUNCTION pg_temp.try_patch(doc jsonb, patch jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN diffsync.jsonb_patch(doc, patch)::text;
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT pg_temp.try_patch('{"version": 3}',
           '[{"op": "replace", "path": "/version", "value": 4},
             {"op": "test", "path": "/version", "value": 3}]') AS result;

\echo '== jsonb_merge_patch: RFC 7396, a partial document where null removes a member'
SELECT pg_catalog.jsonb_pretty(diffsync.jsonb_merge_patch(:'v1',
           '{"replicas": 3, "env": {"LOG_LEVEL": "warn"}, "features": null}')) AS merged;

\echo '== jsonb_merge_diff(v1, v2): the merge patch that turns v1 into v2'
SELECT pg_catalog.jsonb_pretty(diffsync.jsonb_merge_diff(:'v1', :'v2')) AS merge_patch;

\echo '== jsonb_merge3: v1 is the base; one side scales out and sets LOG_LEVEL to warn,'
\echo '== the other side is v2 (LOG_LEVEL debug).  One-side changes merge cleanly;'
\echo '== LOG_LEVEL changed on both sides is a conflict (manual: target kept, unresolved).'
\set ours '{"service": "billing", "version": 3, "replicas": 5, "env": {"LOG_LEVEL": "warn", "DB_POOL": 10}, "hosts": ["b.internal", "c.internal"], "features": {"audit": false}}'
SELECT pg_catalog.jsonb_pretty(diffsync.jsonb_merge3(:'v1', :'ours', :'v2')) AS merge3;

\echo '== The same merge with strategy source_wins: the conflict is resolved for "ours"'
SELECT r #> '{merged,env,LOG_LEVEL}' AS "LOG_LEVEL",
       r #> '{merged,replicas}' AS replicas,
       c ->> 'path' AS conflict_path,
       c ->> 'kind' AS kind,
       c ->> 'resolution' AS resolution
  FROM diffsync.jsonb_merge3(:'v1', :'ours', :'v2',
                             '{"strategy": "source_wins"}') AS r,
       pg_catalog.jsonb_array_elements(r -> 'conflicts') AS c;
