--
-- privileges: diffsync reads and writes user tables with the caller's
-- rights only.  Grants (no SELECT: no diff; SELECT without UPDATE or
-- DELETE: no sync, nothing written) and row-level security (a diff or sync
-- sees and writes only the rows the policies let the caller see and write;
-- a write a policy refuses fails, with nothing half-written).
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

CREATE ROLE regress_priv_alice;
CREATE ROLE regress_priv_bob;
GRANT USAGE ON SCHEMA diffsync TO regress_priv_alice, regress_priv_bob;

-- tenant rows; each role sees its own in both tables
CREATE TABLE regress_priv_src (id int PRIMARY KEY, tenant name, val text);
CREATE TABLE regress_priv_dst (id int PRIMARY KEY, tenant name, val text);
INSERT INTO regress_priv_src VALUES
    (1, 'regress_priv_alice', 'a1'), (2, 'regress_priv_alice', 'a2'),
    (3, 'regress_priv_bob', 'b3'), (4, 'regress_priv_bob', 'b4');
INSERT INTO regress_priv_dst VALUES
    (1, 'regress_priv_alice', 'old'), (3, 'regress_priv_bob', 'old'),
    (9, 'regress_priv_bob', 'stale');
SELECT diffsync.create_adapter('priv_src', 'regress_priv_src', '{id}', '{tenant,val}');
SELECT diffsync.create_adapter('priv_dst', 'regress_priv_dst', '{id}', '{tenant,val}');

--
-- grants
--
SET ROLE regress_priv_alice;
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('priv_src', 'priv_dst')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.load('priv_src')$$);
RESET ROLE;
GRANT SELECT ON regress_priv_src, regress_priv_dst TO regress_priv_alice;
SET ROLE regress_priv_alice;
SELECT key, action FROM diffsync.diff('priv_src', 'priv_dst') ORDER BY key;
-- may read, not write: the sync fails and writes nothing
SELECT pg_temp.err($$SELECT diffsync.sync('priv_src', 'priv_dst', 'source_to_target', 'source_wins')$$);
RESET ROLE;
SELECT * FROM regress_priv_dst ORDER BY id;
GRANT INSERT, UPDATE ON regress_priv_dst TO regress_priv_alice;
SET ROLE regress_priv_alice;
-- still no DELETE (key 9 exists only in the target)
SELECT pg_temp.err($$SELECT diffsync.sync('priv_src', 'priv_dst', 'source_to_target', 'source_wins')$$);
-- without deletes it goes through
SELECT diffsync.sync('priv_src', 'priv_dst', 'source_to_target', 'source_wins',
                     '{"skip_unmatched_dst": true}')->'summary'->'target' AS written;
RESET ROLE;
SELECT * FROM regress_priv_dst ORDER BY id;
-- and a column the role may not write
REVOKE UPDATE ON regress_priv_dst FROM regress_priv_alice;
GRANT UPDATE (tenant) ON regress_priv_dst TO regress_priv_alice;
UPDATE regress_priv_src SET val = 'a1 again' WHERE id = 1;
SET ROLE regress_priv_alice;
SELECT pg_temp.err($$SELECT diffsync.sync('priv_src', 'priv_dst', 'source_to_target', 'source_wins',
                                          '{"skip_unmatched_dst": true}')$$);
RESET ROLE;
SELECT val FROM regress_priv_dst WHERE id = 1;

--
-- row-level security
--
DELETE FROM regress_priv_dst;
INSERT INTO regress_priv_dst VALUES
    (1, 'regress_priv_alice', 'old'), (3, 'regress_priv_bob', 'old'),
    (9, 'regress_priv_bob', 'stale');
ALTER TABLE regress_priv_src ENABLE ROW LEVEL SECURITY;
ALTER TABLE regress_priv_dst ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON regress_priv_src USING (tenant = current_user);
CREATE POLICY own ON regress_priv_dst USING (tenant = current_user);
GRANT SELECT ON regress_priv_src TO regress_priv_bob;
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_priv_dst TO regress_priv_alice, regress_priv_bob;

-- each role's diff holds its own rows only
SET ROLE regress_priv_alice;
SELECT key, action, source->>'val' AS val FROM diffsync.diff('priv_src', 'priv_dst') ORDER BY key;
SELECT diffsync.diff_summary('priv_src', 'priv_dst');
SET ROLE regress_priv_bob;
SELECT key, action, source->>'val' AS val FROM diffsync.diff('priv_src', 'priv_dst') ORDER BY key;

-- a sync by bob writes bob's rows only, and deletes only what bob may see
SELECT diffsync.sync('priv_src', 'priv_dst', 'source_to_target', 'source_wins')->'summary'->'target' AS written;
RESET ROLE;
SELECT * FROM regress_priv_dst ORDER BY id;

-- a source row bob may see but whose target row is hidden from him: it
-- looks missing, and inserting it fails on the key; nothing is written
UPDATE regress_priv_src SET tenant = 'regress_priv_bob' WHERE id = 1;
UPDATE regress_priv_src SET val = 'b3 new' WHERE id = 3;
SET ROLE regress_priv_bob;
SELECT pg_temp.err($$SELECT diffsync.sync('priv_src', 'priv_dst', 'source_to_target', 'source_wins')$$);
RESET ROLE;
SELECT * FROM regress_priv_dst ORDER BY id;

-- a write the policy refuses (WITH CHECK) among allowed ones: the sync
-- fails and writes none of them
UPDATE regress_priv_src SET tenant = 'regress_priv_alice' WHERE id = 1;
CREATE POLICY no_forbidden ON regress_priv_dst AS RESTRICTIVE
    USING (true) WITH CHECK (val <> 'forbidden');
UPDATE regress_priv_src SET val = 'forbidden' WHERE id = 2;
SET ROLE regress_priv_alice;
SELECT pg_temp.err($$SELECT diffsync.sync('priv_src', 'priv_dst', 'source_to_target', 'source_wins')$$);
RESET ROLE;
SELECT * FROM regress_priv_dst ORDER BY id;
-- once the row is allowed, the sync goes through
UPDATE regress_priv_src SET val = 'allowed' WHERE id = 2;
SET ROLE regress_priv_alice;
SELECT diffsync.sync('priv_src', 'priv_dst', 'source_to_target', 'source_wins')->'summary'->'target' AS written;
RESET ROLE;
SELECT * FROM regress_priv_dst ORDER BY id;

-- versions were recorded for the syncs that wrote, none for those that failed
SELECT adapter, key, action, state->>'val' AS val
  FROM diffsync.history ORDER BY adapter, key, version;

-- live reconciliation computes the model rows (read expressions included)
-- as the user whose statement fires it, for the writes and for the
-- versions alike: the extension owner only inserts the history rows
CREATE TABLE regress_live_src (id int PRIMARY KEY, val text);
CREATE TABLE regress_live_dst (id int PRIMARY KEY, val text, who text);
INSERT INTO regress_live_src VALUES (1, 'one'), (2, 'two');
SELECT diffsync.create_adapter('live_src', 'regress_live_src', '{id}', '{val,who}',
                               columns => '{"who": {"read": "current_user::text"}}');
SELECT diffsync.create_adapter('live_dst', 'regress_live_dst', '{id}', '{val,who}');
SELECT diffsync.create_engine('live_fast', 'live_src', 'live_dst', 'source_to_target', 'last_update_wins');
SELECT diffsync.attach('live_fast');
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_live_src, regress_live_dst TO regress_priv_alice;
SET ROLE regress_priv_alice;
UPDATE regress_live_src SET val = 'one, by alice' WHERE id = 1;
INSERT INTO regress_live_src VALUES (3, 'three');
RESET ROLE;
SELECT * FROM regress_live_dst ORDER BY id;
SELECT adapter, key, version, action, COALESCE(state, patch) AS recorded
  FROM diffsync.history WHERE adapter LIKE 'live_%' ORDER BY adapter, key, version;
-- the same through the general path (a strategy the fast path does not take)
SELECT diffsync.detach('live_fast');
SELECT diffsync.create_engine('live_general', 'live_src', 'live_dst', 'source_to_target', 'target_wins');
SELECT diffsync.attach('live_general');
SET ROLE regress_priv_alice;
UPDATE regress_live_src SET val = 'two, by alice' WHERE id = 2;
RESET ROLE;
SELECT * FROM regress_live_dst ORDER BY id;
SELECT adapter, key, version, action, COALESCE(state, patch) AS recorded
  FROM diffsync.history WHERE adapter LIKE 'live_%' AND key = '{"id": 2}' ORDER BY adapter, version;
SELECT diffsync.drop_engine('live_fast');
SELECT diffsync.drop_engine('live_general');
DROP TABLE regress_live_src, regress_live_dst;

REVOKE USAGE ON SCHEMA diffsync FROM regress_priv_alice, regress_priv_bob;
DROP EXTENSION diffsync;
DROP TABLE regress_priv_src, regress_priv_dst;
DROP ROLE regress_priv_alice, regress_priv_bob;
