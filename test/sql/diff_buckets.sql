--
-- diff_buckets: the checksum-bucket diff ({"buckets": N}).  Each side is
-- summed per bucket; only rows of differing buckets are compared.  The
-- result must equal the plain diff whatever the shapes: composite and text
-- keys, NULL attributes, jsonb SQL NULL against JSON null, types without a
-- hash function (json, point), domains, sync with buckets; and the option
-- errors.
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

-- rows of diff(a, b, options) and diff(a, b, options + {"buckets": n}) that
-- the other lacks, both ways
CREATE FUNCTION pg_temp.mismatch(a text, b text, options jsonb, n int) RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM (
        (SELECT model, key, action, source, target, changes FROM diffsync.diff(a, b, options)
         EXCEPT ALL
         SELECT model, key, action, source, target, changes
           FROM diffsync.diff(a, b, options || jsonb_build_object('buckets', n)))
        UNION ALL
        (SELECT model, key, action, source, target, changes
           FROM diffsync.diff(a, b, options || jsonb_build_object('buckets', n))
         EXCEPT ALL
         SELECT model, key, action, source, target, changes FROM diffsync.diff(a, b, options))) d
$$;

CREATE DOMAIN regress_qty AS int CHECK (VALUE >= 0);
CREATE TABLE regress_a (region text, id int, title text, qty regress_qty, doc jsonb,
                        raw json, pos point, PRIMARY KEY (region, id));
CREATE TABLE regress_b (area text, ident int, label text, amount regress_qty, body jsonb,
                        raw json, pos point, PRIMARY KEY (area, ident));
INSERT INTO regress_a
SELECT r, g, 'item ' || g, g % 10, jsonb_build_object('n', g), ('{"g": ' || g || '}')::json,
       point(g, g)
  FROM generate_series(1, 2000) g, unnest(ARRAY['eu', 'us']) r;
INSERT INTO regress_b SELECT * FROM regress_a;
SELECT diffsync.create_adapter('regress_a', 'regress_a', '{region,id}',
                               '{title,qty,doc,raw,pos}');
SELECT diffsync.create_adapter('regress_b', 'regress_b', '{region,id}',
                               '{title,qty,doc,raw,pos}',
                               '{"region": "area", "id": "ident", "title": "label",
                                 "qty": "amount", "doc": "body"}');

-- equal tables: nothing with or without buckets
SELECT count(*) AS plain FROM diffsync.diff('regress_a', 'regress_b');
SELECT count(*) AS bucketed FROM diffsync.diff('regress_a', 'regress_b', '{"buckets": 64}');

-- one difference of each kind, in every column
UPDATE regress_b SET label = 'changed' WHERE area = 'eu' AND ident = 7;
UPDATE regress_b SET amount = NULL WHERE area = 'us' AND ident = 8;
UPDATE regress_b SET body = body || '{"x": 1}' WHERE area = 'eu' AND ident = 9;
UPDATE regress_b SET raw = '{"g": 0}' WHERE area = 'eu' AND ident = 10;
UPDATE regress_b SET pos = point(0, 0) WHERE area = 'us' AND ident = 11;
UPDATE regress_a SET title = NULL WHERE region = 'eu' AND id = 12;
DELETE FROM regress_b WHERE area = 'us' AND ident = 13;
INSERT INTO regress_b VALUES ('eu', 5000, 'only b', 1, '{}', '{}', point(1, 1));
INSERT INTO regress_a VALUES ('us', 5001, 'only a', 1, '{}', '{}', point(1, 1));
-- the same key under both regions: keys hash by all identifier fields
UPDATE regress_b SET label = 'swapped' WHERE area = 'us' AND ident = 7;
-- jsonb SQL NULL against JSON null: equal as model values
UPDATE regress_a SET doc = NULL WHERE region = 'eu' AND id = 20;
UPDATE regress_b SET body = 'null' WHERE area = 'eu' AND ident = 20;

SELECT key, action, changes FROM diffsync.diff('regress_a', 'regress_b', '{"buckets": 16}')
 ORDER BY key;
SELECT n AS buckets, pg_temp.mismatch('regress_a', 'regress_b', '{}', n)
  FROM unnest(ARRAY[1, 2, 64, 4096, 16777216]) n;
-- with the other options
SELECT pg_temp.mismatch('regress_a', 'regress_b',
                        '{"attributes": ["title"], "where": "region = ''eu''"}', 32);
SELECT pg_temp.mismatch('regress_a', 'regress_b', '{"skip_unmatched_dst": true}', 32);
SELECT pg_temp.mismatch('regress_a', 'regress_b', '{"path": "/doc"}', 32);
SELECT count(*) FROM diffsync.diff_text('regress_a', 'regress_b', '{"buckets": 8}');

-- a sync reading only differing buckets converges
SELECT diffsync.sync('regress_a', 'regress_b', 'source_to_target', 'source_wins',
                     '{"buckets": 128}')->'summary';
SELECT count(*) AS left_over FROM diffsync.diff('regress_a', 'regress_b');

-- an engine with buckets: batch syncs read differing buckets, live triggers
-- (a statement's keys only) ignore the option
SELECT diffsync.create_engine('regress_eng', 'regress_a', 'regress_b', 'source_to_target',
                              'source_wins', '{"buckets": 16}');
UPDATE regress_a SET title = 'engine' WHERE region = 'eu' AND id = 100;
DELETE FROM regress_a WHERE region = 'us' AND id = 101;
SELECT diffsync.sync_engine('regress_eng')->'summary'->'target';
SELECT diffsync.attach('regress_eng');
UPDATE regress_a SET title = 'live' WHERE region = 'eu' AND id = 102;
SELECT label FROM regress_b WHERE area = 'eu' AND ident = 102;
SELECT count(*) AS left_over FROM diffsync.diff('regress_a', 'regress_b');

-- errors
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('regress_a', 'regress_b', '{"buckets": 3}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('regress_a', 'regress_b', '{"buckets": 0}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('regress_a', 'regress_b', '{"buckets": 33554432}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('regress_a', 'regress_b', '{"buckets": "64"}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('regress_a', 'regress_b',
                                                  '{"buckets": 64, "log_unchanged": true}')$$);
SELECT pg_temp.err($$SELECT diffsync.diff_summary('regress_a', 'regress_b', '{"buckets": 64}')$$);

-- diff_buckets: the differing buckets themselves
UPDATE regress_b SET label = 'drift' WHERE area = 'eu' AND ident IN (1, 2, 3);
SELECT model, count(*) AS buckets, sum(source_rows) = sum(target_rows) AS same_counts
  FROM diffsync.diff_buckets('regress_a', 'regress_b', '{"buckets": 4096}') GROUP BY model;
SELECT count(*) FROM diffsync.diff_buckets('regress_a', 'regress_b', '{"buckets": 1}');
SELECT pg_temp.err($$SELECT * FROM diffsync.diff_buckets('regress_a', 'regress_b', '{}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff_buckets('regress_a', 'nope', '{"buckets": 2}')$$);

SELECT diffsync.drop_engine('regress_eng');
DROP EXTENSION diffsync;
DROP TABLE regress_a, regress_b;
DROP DOMAIN regress_qty;
