--
-- sync_incremental: the path option (sync one section of a jsonb
-- attribute, leave the rest of both rows as it is) and the three
-- integration patterns of the README as runnable scenarios:
-- configuration sync, document reconciliation, incremental sync of one
-- section of a document.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END
$$;

--
-- path: only /doc/metadata is compared and written
--
CREATE TABLE regress_pa (id int PRIMARY KEY, title text, doc jsonb);
CREATE TABLE regress_pb (id int PRIMARY KEY, title text, doc jsonb);
SELECT diffsync.create_adapter('pa', 'regress_pa', '{id}');
SELECT diffsync.create_adapter('pb', 'regress_pb', '{id}');
CREATE FUNCTION pg_temp.reset_path() RETURNS void LANGUAGE sql AS $$
    DELETE FROM regress_pa;
    DELETE FROM regress_pb;
    INSERT INTO regress_pa VALUES
        (1, 'one', '{"body": "source body", "metadata": {"lang": "en", "rev": 2}}'),
        (2, 'two', '{"body": "x", "metadata": {"lang": "en"}}'),
        (3, 'three', '{"body": "c"}'),
        (4, 'four', '{"metadata": {"lang": "de"}}'),
        (6, 'six', '{"metadata": {"lang": "it"}}');
    INSERT INTO regress_pb VALUES
        (1, 'one (b)', '{"body": "target body", "metadata": {"lang": "fr", "rev": 1}, "extra": true}'),
        (2, 'two (b)', '{"body": "y", "metadata": {"lang": "en"}}'),
        (3, 'three', '{"body": "c2", "metadata": {"lang": "es"}}'),
        (5, 'five', '{"metadata": {"lang": "pt"}}'),
        (6, 'six', '{"other": 1}');
$$;
SELECT pg_temp.reset_path();

-- row 2 differs only outside the section: unchanged; row 3 lacks the
-- section in the source, row 6 in the target
SELECT key, action, changes FROM diffsync.diff('pa', 'pb', '{"path": "/doc/metadata", "skip_unmatched_src": true, "skip_unmatched_dst": true}')
 ORDER BY key;
SELECT diffsync.diff_summary('pa', 'pb', '{"path": "/doc/metadata"}');

-- source_to_target: the target's metadata becomes the source's; its title,
-- body and extra stay; a section missing in the source is removed
SELECT r->'summary' AS summary,
       (SELECT string_agg(format('%s %s %s', c->'key', c->>'path', c->>'resolution'), '; ' ORDER BY c->>'key')
          FROM jsonb_array_elements(r->'conflicts') c) AS conflicts
  FROM (SELECT diffsync.sync('pa', 'pb', 'source_to_target', 'source_wins',
                             '{"path": "/doc/metadata", "skip_unmatched_src": true, "skip_unmatched_dst": true}') r) x;
SELECT id, title, doc FROM regress_pb ORDER BY id;
SELECT id, title, doc FROM regress_pa ORDER BY id;
SELECT diffsync.diff_summary('pa', 'pb', '{"path": "/doc/metadata", "skip_unmatched_src": true, "skip_unmatched_dst": true}');

-- bidirectional, target wins: the source's sections change, nothing else
SELECT pg_temp.reset_path();
SELECT diffsync.sync('pa', 'pb', 'bidirectional', 'target_wins',
                     '{"path": "/doc/metadata", "skip_unmatched_src": true, "skip_unmatched_dst": true}')->'summary' AS summary;
SELECT id, title, doc FROM regress_pa ORDER BY id;
SELECT id, title, doc FROM regress_pb ORDER BY id;

-- a deeper path: only /doc/metadata/lang
SELECT pg_temp.reset_path();
SELECT diffsync.sync('pa', 'pb', 'source_to_target', 'source_wins',
                     '{"path": "/doc/metadata/lang", "skip_unmatched_src": true, "skip_unmatched_dst": true}')->'summary'->'target' AS target;
SELECT id, doc FROM regress_pb WHERE id IN (1, 2) ORDER BY id;

-- path errors
SELECT pg_temp.err($$SELECT diffsync.sync('pa', 'pb', 'source_to_target', 'source_wins', '{"path": "/title/x"}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('pa', 'pb', 'source_to_target', 'source_wins', '{"path": "/nosuch/x"}')$$);
SELECT pg_temp.err($$SELECT diffsync.sync('pa', 'pb', 'source_to_target', 'source_wins', '{"path": "doc"}')$$);

--
-- pattern 1, configuration sync: a central table feeds a component's own
-- table, one way; the filter selects the component's rows
--
CREATE TABLE regress_central_config (service text, key text, value jsonb, PRIMARY KEY (service, key));
CREATE TABLE regress_billing_config (k text PRIMARY KEY, v jsonb);
SELECT diffsync.create_adapter('central', 'regress_central_config', '{key}', '{value}',
                               filter => $$service = 'billing'$$);
SELECT diffsync.create_adapter('billing', 'regress_billing_config', '{key}',
                               columns => '{"key": "k", "value": "v"}');
INSERT INTO regress_central_config VALUES
    ('billing', 'currency', '"EUR"'),
    ('billing', 'retry', '{"max": 3, "backoff": "exp"}'),
    ('mail', 'currency', '"USD"'),
    ('mail', 'relay', '"smtp.example"');
INSERT INTO regress_billing_config VALUES ('retry', '{"max": 5}'), ('local_hack', 'true');
SELECT diffsync.sync('central', 'billing', 'source_to_target', 'source_wins')->'summary' AS summary;
SELECT k, v FROM regress_billing_config ORDER BY k;
-- the central table changes: the next run propagates exactly that
UPDATE regress_central_config SET value = '"CHF"' WHERE service = 'billing' AND key = 'currency';
INSERT INTO regress_central_config VALUES ('billing', 'timeout', '30');
DELETE FROM regress_central_config WHERE service = 'billing' AND key = 'retry';
UPDATE regress_central_config SET value = '"GBP"' WHERE service = 'mail' AND key = 'currency';
SELECT diffsync.diff_text('central', 'billing');
SELECT diffsync.sync('central', 'billing', 'source_to_target', 'source_wins')->'summary' AS summary;
SELECT k, v FROM regress_billing_config ORDER BY k;
-- the central table is never written, other services are untouched
SELECT service, key, value FROM regress_central_config ORDER BY service, key;
SELECT diffsync.diff_summary('central', 'billing');

--
-- pattern 2, document reconciliation: two tables with different column
-- names, a bidirectional engine, last update wins
--
CREATE TABLE regress_docs (id int PRIMARY KEY, content text, meta jsonb, updated_at timestamptz);
CREATE TABLE regress_ext_docs (doc_id int PRIMARY KEY, body text, metadata jsonb, modified timestamptz);
SELECT diffsync.create_adapter('docs', 'regress_docs', '{id}', '{content,meta}', updated_at => 'updated_at');
SELECT diffsync.create_adapter('ext_docs', 'regress_ext_docs', '{id}', '{content,meta}',
    columns => '{"id": "doc_id", "content": "body", "meta": "metadata"}', updated_at => 'modified');
SELECT diffsync.create_engine('docs_sync', 'docs', 'ext_docs', 'bidirectional', 'last_update_wins');
INSERT INTO regress_docs VALUES
    (1, 'v1', '{"rev": 1, "lang": "en"}', '2024-01-01'),
    (2, 'draft', '{"rev": 1}', '2024-01-01');
INSERT INTO regress_ext_docs VALUES
    (2, 'published', '{"rev": 2}', '2024-01-05'),
    (3, 'external', '{"rev": 1}', '2024-01-02');
CREATE FUNCTION pg_temp.docs() RETURNS TABLE (side text, rows text)
LANGUAGE sql AS $$
    SELECT 'docs', string_agg(format('%s=%s %s', id, content, meta), '; ' ORDER BY id) FROM regress_docs
    UNION ALL
    SELECT 'ext_docs', string_agg(format('%s=%s %s', doc_id, body, metadata), '; ' ORDER BY doc_id) FROM regress_ext_docs
    ORDER BY 1
$$;
SELECT diffsync.sync_engine('docs_sync')->'summary' AS summary;
SELECT * FROM pg_temp.docs();
-- edits on both sides: one-sided edits propagate, the same field edited on
-- both sides goes to the later edit
UPDATE regress_docs SET content = 'v2', updated_at = '2024-02-01' WHERE id = 1;
UPDATE regress_ext_docs SET metadata = '{"rev": 3}', modified = '2024-02-02' WHERE doc_id = 2;
UPDATE regress_docs SET meta = '{"rev": 4}', updated_at = '2024-02-03' WHERE id = 2;
UPDATE regress_ext_docs SET body = 'external v2', modified = '2024-02-01' WHERE doc_id = 3;
UPDATE regress_docs SET content = 'local v2', updated_at = '2024-01-15' WHERE id = 3;
SELECT r->'summary' AS summary,
       (SELECT string_agg(format('%s %s:%s', c->'key', c->>'attribute', c->>'resolution'), '; ' ORDER BY c->>'key')
          FROM jsonb_array_elements(r->'conflicts') c) AS conflicts
  FROM (SELECT diffsync.sync_engine('docs_sync') r) x;
SELECT * FROM pg_temp.docs();
-- run it as often as you like: nothing more to do
SELECT diffsync.sync_engine('docs_sync')->'summary' AS summary;
-- a deletion on one side propagates
DELETE FROM regress_ext_docs WHERE doc_id = 1;
SELECT diffsync.sync_engine('docs_sync')->'summary'->'source' AS source_writes;
SELECT * FROM pg_temp.docs();

--
-- pattern 3, incremental sync of one section of a jsonb document: only
-- meta.lang is compared and written
--
UPDATE regress_docs SET meta = '{"rev": 9, "lang": "de"}', content = 'local edit' WHERE id = 2;
UPDATE regress_ext_docs SET metadata = '{"rev": 3, "lang": "en", "owner": "x"}' WHERE doc_id = 2;
SELECT diffsync.sync('docs', 'ext_docs', 'source_to_target', 'source_wins',
                     '{"path": "/meta/lang"}')->'summary' AS summary;
SELECT * FROM pg_temp.docs();

SELECT diffsync.drop_engine('docs_sync');
DROP EXTENSION diffsync;
DROP TABLE regress_pa, regress_pb, regress_central_config, regress_billing_config, regress_docs, regress_ext_docs;
