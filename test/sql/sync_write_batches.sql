--
-- sync_write_batches: batch_size only changes how writes are grouped, never what
-- a sync does: small batches (writes flushed while the diff is still being
-- read) give the same result as one batch, and a conflict queued by the
-- manual strategy does not stop the rest of the keys from being synced.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;

CREATE TABLE regress_ba (id int PRIMARY KEY, val text);
CREATE TABLE regress_bb (id int PRIMARY KEY, val text);
SELECT diffsync.create_adapter('ba', 'regress_ba', '{id}');
SELECT diffsync.create_adapter('bb', 'regress_bb', '{id}');

-- odd ids only in ba, even ids only in bb, 41..60 in both with different
-- values, 61..70 equal
CREATE FUNCTION pg_temp.reset() RETURNS void LANGUAGE sql AS $$
    DELETE FROM regress_ba;
    DELETE FROM regress_bb;
    INSERT INTO regress_ba SELECT g, 'a' || g FROM generate_series(1, 39, 2) g;
    INSERT INTO regress_bb SELECT g, 'b' || g FROM generate_series(2, 40, 2) g;
    INSERT INTO regress_ba SELECT g, 'a' || g FROM generate_series(41, 60) g;
    INSERT INTO regress_bb SELECT g, 'b' || g FROM generate_series(41, 60) g;
    INSERT INTO regress_ba SELECT g, 'same' FROM generate_series(61, 70) g;
    INSERT INTO regress_bb SELECT g, 'same' FROM generate_series(61, 70) g;
$$;
CREATE FUNCTION pg_temp.check() RETURNS TABLE (a_rows bigint, b_rows bigint, a_from_a bigint, b_from_a bigint, a_from_b bigint, b_from_b bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM regress_ba), (SELECT count(*) FROM regress_bb),
           (SELECT count(*) FROM regress_ba WHERE val LIKE 'a%'), (SELECT count(*) FROM regress_bb WHERE val LIKE 'a%'),
           (SELECT count(*) FROM regress_ba WHERE val LIKE 'b%'), (SELECT count(*) FROM regress_bb WHERE val LIKE 'b%')
$$;

-- bidirectional, source wins: both sides end with 70 rows, 41..60 from ba
SELECT pg_temp.reset();
SELECT diffsync.sync('ba', 'bb', 'bidirectional', 'source_wins')->'summary' AS summary;
SELECT * FROM pg_temp.check();
SELECT pg_temp.reset();
SELECT diffsync.sync('ba', 'bb', 'bidirectional', 'source_wins', '{"batch_size": 3}')->'summary' AS summary;
SELECT * FROM pg_temp.check();
SELECT pg_temp.reset();
SELECT diffsync.sync('ba', 'bb', 'bidirectional', 'source_wins', '{"batch_size": 1}')->'summary' AS summary;
SELECT * FROM pg_temp.check();

-- source_to_target: creates, updates and deletes interleaved in the target
SELECT pg_temp.reset();
SELECT diffsync.sync('ba', 'bb', 'source_to_target', 'source_wins', '{"batch_size": 2}')->'summary' AS summary;
SELECT * FROM pg_temp.check();
SELECT count(*) AS differences FROM diffsync.diff('ba', 'bb');

-- manual: the 20 conflicting keys are queued, every other key is synced
SELECT pg_temp.reset();
SELECT diffsync.sync('ba', 'bb', 'bidirectional', 'manual')->'summary' AS summary;
SELECT * FROM pg_temp.check();
SELECT count(*) AS open_conflicts, min(key->>'id') AS first, max(key->>'id') AS last
  FROM diffsync.conflicts WHERE status = 'open';

-- through an engine: its base is written in batches too, and after the
-- first sync every key has a base
SELECT pg_temp.reset();
SELECT diffsync.create_engine('be', 'ba', 'bb', 'bidirectional', 'source_wins', '{"batch_size": 4}');
SELECT diffsync.sync_engine('be')->'summary' AS summary;
SELECT * FROM pg_temp.check();
SELECT count(*) AS base_keys FROM diffsync.engine_base WHERE engine = 'be';
SELECT diffsync.drop_engine('be');

-- read and filter expressions name the relation's columns unqualified, also
-- where a column has a model field's name: the writers' batches never bring
-- such a name into scope (update, delete, insert, batch and live)
CREATE TABLE regress_un_s (id int PRIMARY KEY, name text);
CREATE TABLE regress_un_t (id int PRIMARY KEY, name text);
INSERT INTO regress_un_s VALUES (1001, 'a'), (1005, 'gone');
INSERT INTO regress_un_t VALUES (1, 'x'), (2, 'new');
SELECT diffsync.create_adapter('un_s', 'regress_un_s', '{id}',
                               columns => '{"id": {"column": "id", "read": "id - 1000", "write": "id + 1000"}}',
                               filter => 'id > 0 AND name IS NOT NULL');
SELECT diffsync.create_adapter('un_t', 'regress_un_t', '{id}');
SELECT diffsync.sync('un_t', 'un_s', 'source_to_target', 'source_wins')->'summary'->'target' AS written;
SELECT * FROM regress_un_s ORDER BY id;
SELECT diffsync.create_engine('un', 'un_t', 'un_s', 'source_to_target', 'last_update_wins', '{"notify": false}');
SELECT diffsync.attach('un');
UPDATE regress_un_t SET name = 'y' WHERE id = 1;
DELETE FROM regress_un_t WHERE id = 2;
INSERT INTO regress_un_t VALUES (7, 'seven');
SELECT * FROM regress_un_s ORDER BY id;
SELECT diffsync.drop_engine('un');
DROP TABLE regress_un_s, regress_un_t;

-- '%' in identifiers, filters and read expressions is text, never a format
CREATE TABLE "regress_pct%s" ("i%s%s%s%s" int PRIMARY KEY, v text);
CREATE TABLE regress_pct_t ("i%s%s%s%s" int PRIMARY KEY, v text);
CREATE VIEW regress_pct_v AS SELECT * FROM regress_pct_t;
INSERT INTO "regress_pct%s" VALUES (1, 'one'), (2, 'tmp%s%s%s%s');
SELECT diffsync.create_adapter('pct_s', '"regress_pct%s"', '{i%s%s%s%s}',
                               filter => 'v NOT LIKE ''tmp%s%s%s%s%s%s%s%s%%''');
SELECT diffsync.create_adapter('pct_v', 'regress_pct_v', '{i%s%s%s%s}');
SELECT diffsync.sync('pct_s', 'pct_v', 'source_to_target', 'source_wins')->'summary'->'target' AS written;
DELETE FROM "regress_pct%s" WHERE "i%s%s%s%s" = 1;
INSERT INTO "regress_pct%s" VALUES (3, 'three');
SELECT diffsync.sync('pct_s', 'pct_v', 'source_to_target', 'source_wins')->'summary'->'target' AS written;
SELECT diffsync.create_engine('pct', 'pct_s', 'pct_v', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.attach('pct');
UPDATE "regress_pct%s" SET v = 'three, live' WHERE "i%s%s%s%s" = 3;
INSERT INTO "regress_pct%s" VALUES (4, 'four');
DELETE FROM "regress_pct%s" WHERE "i%s%s%s%s" = 3;
SELECT * FROM regress_pct_t ORDER BY 1;
SELECT diffsync.drop_engine('pct');
DROP VIEW regress_pct_v;
DROP TABLE "regress_pct%s", regress_pct_t;

DROP EXTENSION diffsync;
DROP TABLE regress_ba, regress_bb;
