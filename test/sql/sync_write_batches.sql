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

DROP EXTENSION diffsync;
DROP TABLE regress_ba, regress_bb;
