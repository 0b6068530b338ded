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

-- ---------------------------------------------------------------------------
-- Reconciling real tables: the same things described twice, differently
-- ---------------------------------------------------------------------------
\echo
\echo '################ Reconciling tables ################'
\echo '== A central config table and a component''s own copy, with other column names'
CREATE TABLE central_config (service text, name text, value jsonb, note text,
                             PRIMARY KEY (service, name));
CREATE TABLE billing_settings (setting text PRIMARY KEY, setting_value jsonb, comment text,
                               changed timestamptz NOT NULL DEFAULT now());
INSERT INTO central_config VALUES
    ('billing', 'pool',     '{"size": 10}',                'db pool'),
    ('billing', 'features', '{"audit": true, "beta": []}', 'flags'),
    ('billing', 'timeout',  '30',                          NULL),
    ('search',  'pool',     '{"size": 4}',                 'not billing''s');
INSERT INTO billing_settings (setting, setting_value, comment) VALUES
    ('pool',     '{"size": 8}',                 'db pool'),
    ('features', '{"audit": false, "beta": []}', 'flags'),
    ('legacy',   'true',                         'left over');

-- adapters map each table to the model "setting": fields name, value, note
SELECT diffsync.create_adapter('central', 'central_config', '{name}', '{value,note}',
                               filter => $$service = 'billing'$$, model => 'setting');
SELECT diffsync.create_adapter('billing', 'billing_settings', '{name}', '{value,note}',
                               columns => '{"name": "setting", "value": "setting_value", "note": "comment"}',
                               updated_at => 'changed', model => 'setting');
SELECT name, model, relation, identifiers, attributes, filter FROM diffsync.adapters ORDER BY name;

\echo '== diff_text(central, billing): what differs, as a tree'
SELECT diffsync.diff_text('central', 'billing');

\echo '== diff(): one row per differing key; jsonb attributes carry an RFC 6902 patch'
SELECT key, action, changes FROM diffsync.diff('central', 'billing') ORDER BY key;

\echo '== sync central -> billing (one-way, source wins): one transaction, batched writes'
SELECT r -> 'summary' AS summary,
       r -> 'target_version' AS versions_recorded
  FROM diffsync.sync('central', 'billing', 'source_to_target', 'source_wins') AS r;
SELECT setting, setting_value, comment FROM billing_settings ORDER BY setting;
SELECT diffsync.diff_summary('central', 'billing') AS after;

\echo '== history of one row: every version, its patch and full state'
SELECT version, action, patch, state
  FROM diffsync.history('billing', '{"name": "features"}');

\echo
\echo '== A bidirectional engine (strategy merge), attached: changes on either side follow live'
CREATE TABLE docs_internal (id int PRIMARY KEY, title text, body jsonb);
CREATE TABLE docs_external (doc_id int PRIMARY KEY, heading text, content jsonb);
INSERT INTO docs_internal VALUES (1, 'Intro', '{"text": "hello", "tags": ["a"]}');
SELECT diffsync.create_adapter('internal', 'docs_internal', '{id}');
SELECT diffsync.create_adapter('external', 'docs_external', '{id}',
                               columns => '{"id": "doc_id", "title": "heading", "body": "content"}');
SELECT diffsync.create_engine('docs', 'internal', 'external', 'bidirectional', 'merge');
SELECT diffsync.sync_engine('docs') -> 'summary' AS first_sync;
SELECT diffsync.attach('docs');
UPDATE docs_external SET content = jsonb_set(content, '{tags}', '["a", "b"]') WHERE doc_id = 1;
INSERT INTO docs_internal VALUES (2, 'Guide', '{"text": "how to"}');
SELECT 'internal' AS side, id, title, body FROM docs_internal
UNION ALL
SELECT 'external', doc_id, heading, content FROM docs_external ORDER BY side, id;

\echo '== the change feed a LISTEN consumer would catch up with (commit order)'
SELECT change_id, adapter, key, action, patch FROM diffsync.changes_since(0)
 WHERE adapter IN ('internal', 'external') ORDER BY commit_seq, change_id;

\echo '== three-way merge: both sides change the same document in different places'
SELECT diffsync.detach('docs');
UPDATE docs_internal SET body = jsonb_set(body, '{text}', '"hello, world"') WHERE id = 1;
UPDATE docs_external SET content = jsonb_set(content, '{tags}', '["a", "b", "c"]') WHERE doc_id = 1;
SELECT r -> 'summary' -> 'conflicts' AS conflicts,
       r -> 'conflicts' -> 0 ->> 'resolution' AS resolution
  FROM diffsync.sync_engine('docs') AS r;
SELECT 'internal' AS side, id, body FROM docs_internal WHERE id = 1
UNION ALL SELECT 'external', doc_id, content FROM docs_external WHERE doc_id = 1;
