--
-- live_triggers: attach / detach; every INSERT, UPDATE and DELETE on an
-- attached side is reconciled into the other side in the same transaction,
-- through the adapters (renamed columns), with history; no-op updates
-- write nothing; bidirectional engines do not loop; rollbacks leave
-- nothing behind; drift under target_wins; user triggers still fire (and
-- their own writes are reconciled by their engines); attach/detach errors.
-- (The "changed" events carry PIDs: they are not tested here.)
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

-- versions recorded per adapter
CREATE FUNCTION pg_temp.versions() RETURNS TABLE (adapter text, versions bigint)
LANGUAGE sql AS $$
    SELECT adapter, count(*) FROM diffsync.history GROUP BY adapter ORDER BY adapter
$$;

--
-- a one-way engine: the source is watched, the target (renamed columns)
-- follows; strategy target_wins
--
CREATE TABLE regress_src (id int PRIMARY KEY, name text, qty int, note text);
CREATE TABLE regress_dst (code int PRIMARY KEY, title text, amount int);
SELECT diffsync.create_adapter('src', 'regress_src', '{id}', '{name,qty}');
SELECT diffsync.create_adapter('dst', 'regress_dst', '{id}', '{name,qty}',
    columns => '{"id": "code", "name": "title", "qty": "amount"}');
SELECT diffsync.create_engine('oneway', 'src', 'dst', 'source_to_target', 'target_wins');
SELECT diffsync.attach('oneway');
-- three triggers on the source, none on the target
SELECT tgrelid::regclass AS relation, count(*) AS triggers
  FROM pg_trigger WHERE tgrelid IN ('regress_src'::regclass, 'regress_dst'::regclass) AND NOT tgisinternal
 GROUP BY 1 ORDER BY 1;

-- the other side follows within the same transaction
BEGIN;
INSERT INTO regress_src VALUES (1, 'one', 1, 'n'), (2, 'two', 2, 'n'), (3, 'three', 3, 'n');
SELECT * FROM regress_dst ORDER BY code;
UPDATE regress_src SET qty = qty * 10 WHERE id >= 2;
SELECT * FROM regress_dst ORDER BY code;
DELETE FROM regress_src WHERE id = 3;
SELECT * FROM regress_dst ORDER BY code;
COMMIT;
-- the trigger runs its statements without JIT and leaves the setting as
-- it was, after a success and after an error
-- (in one transaction: a setting left behind would show until its end)
BEGIN;
SET LOCAL jit = on;
UPDATE regress_src SET note = 'jit' WHERE id = 1;
SHOW jit;
ALTER TABLE regress_dst ADD CONSTRAINT regress_small CHECK (amount < 1000);
SELECT pg_temp.err($$INSERT INTO regress_src VALUES (-1, 'big', 5000, NULL)$$) AS refused_by_target;
SHOW jit;
ROLLBACK;
-- multi-row statements
INSERT INTO regress_src SELECT i, 'n' || i, i, NULL FROM generate_series(10, 14) i;
UPDATE regress_src SET name = upper(name) WHERE id >= 10;
DELETE FROM regress_src WHERE id IN (13, 14);
SELECT * FROM regress_dst ORDER BY code;
-- a key change is a delete of the old key and a create of the new one
UPDATE regress_src SET id = 20 WHERE id = 12;
SELECT code FROM regress_dst ORDER BY code;
SELECT * FROM pg_temp.versions() ORDER BY adapter;
SELECT adapter, key, version, action, patch, engine, sync_id FROM diffsync.history
 WHERE key IN ('{"id": 2}', '{"id": 3}') ORDER BY adapter, key, version;

-- an UPDATE that changes nothing the model sees (a column no field reads,
-- or SET x = x) writes nothing and records nothing
SELECT xmin AS dst_xmin FROM regress_dst WHERE code = 1 \gset
UPDATE regress_src SET note = 'not in the model' WHERE id = 1;
UPDATE regress_src SET name = name, qty = qty;
SELECT * FROM pg_temp.versions() ORDER BY adapter;
SELECT xmin = :'dst_xmin' AS dst_untouched FROM regress_dst WHERE code = 1;

-- the target is not watched: a change there stays there
UPDATE regress_dst SET title = 'drift' WHERE code = 1;
SELECT * FROM regress_src WHERE id = 1;
-- ... and under target_wins the drifted attribute keeps its value when
-- the source changes it; the source's other changes still propagate
UPDATE regress_src SET name = 'ONE', qty = 100 WHERE id = 1;
SELECT * FROM regress_dst WHERE code = 1;

-- a rolled back transaction leaves both sides and the history as they were
SELECT count(*) AS history_rows FROM diffsync.history \gset
BEGIN;
UPDATE regress_src SET qty = -1;
INSERT INTO regress_src VALUES (99, 'ninety-nine', 99, NULL);
DELETE FROM regress_src WHERE id = 2;
SELECT count(*) AS dst_rows_inside, sum(amount) AS dst_amount_inside FROM regress_dst;
ROLLBACK;
SELECT * FROM regress_dst ORDER BY code;
SELECT count(*) = :history_rows AS history_unchanged FROM diffsync.history;

--
-- a bidirectional engine between differently named columns, with a user
-- trigger on the target that logs every row it sees
--
CREATE TABLE regress_a (id int PRIMARY KEY, name text, qty int, doc jsonb);
CREATE TABLE regress_b (code int PRIMARY KEY, title text, amount int, body jsonb);
SELECT diffsync.create_adapter('a', 'regress_a', '{id}');
SELECT diffsync.create_adapter('b', 'regress_b', '{id}', '{name,qty,doc}',
    columns => '{"id": "code", "name": "title", "qty": "amount", "doc": "body"}');
SELECT diffsync.create_engine('bi', 'a', 'b');
-- (by_diffsync: the write came from inside a trigger, i.e. diffsync's)
CREATE TABLE regress_b_log (op text, code int, by_diffsync bool);
CREATE FUNCTION regress_b_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress_b_log VALUES (TG_OP, COALESCE(NEW.code, OLD.code), pg_trigger_depth() > 1);
    RETURN NULL;
END
$$;
CREATE TRIGGER regress_b_log AFTER INSERT OR UPDATE OR DELETE ON regress_b
FOR EACH ROW EXECUTE FUNCTION regress_b_log();
SELECT diffsync.attach('bi');
SELECT tgrelid::regclass AS relation, count(*) AS triggers
  FROM pg_trigger WHERE tgrelid IN ('regress_a'::regclass, 'regress_b'::regclass) AND NOT tgisinternal
 GROUP BY 1 ORDER BY 1;

INSERT INTO regress_a VALUES (1, 'x', 1, '{"k": 1}'), (2, 'y', 2, '{}');
SELECT * FROM regress_b ORDER BY code;
-- a change made on the target is applied once to the source, not echoed
-- back: one version on each side
SELECT * FROM pg_temp.versions() ORDER BY adapter;
UPDATE regress_b SET body = '{"k": 1, "extra": true}', amount = 11 WHERE code = 1;
SELECT * FROM regress_a ORDER BY id;
SELECT * FROM pg_temp.versions() ORDER BY adapter;
SELECT adapter, version, action, patch FROM diffsync.history
 WHERE adapter IN ('a', 'b') AND key = '{"id": 1}' ORDER BY adapter, version;
-- the base follows
SELECT key, state FROM diffsync.engine_base WHERE engine = 'bi' ORDER BY key;
-- rows created and deleted on the target
INSERT INTO regress_b VALUES (3, 'z', 3, '[1, 2]');
DELETE FROM regress_b WHERE code = 2;
SELECT * FROM regress_a ORDER BY id;
-- a no-op update on either side writes nothing on the other
UPDATE regress_a SET qty = qty;
UPDATE regress_b SET body = body;
SELECT * FROM pg_temp.versions() ORDER BY adapter;

-- drift while detached: the other side's change and the change being made
-- now differ; last_update_wins: the change being made now wins
SELECT diffsync.detach('bi');
UPDATE regress_b SET title = 'drifted' WHERE code = 3;
SELECT diffsync.attach('bi');
UPDATE regress_a SET name = 'now' WHERE id = 3;
SELECT 'a' AS side, * FROM regress_a WHERE id = 3 UNION ALL SELECT 'b', * FROM regress_b WHERE code = 3;

-- a rolled back transaction on the target side
SELECT count(*) AS history_rows FROM diffsync.history \gset
BEGIN;
UPDATE regress_b SET amount = 0;
DELETE FROM regress_b WHERE code = 1;
SELECT count(*) AS a_rows_inside, sum(qty) AS a_qty_inside FROM regress_a;
ROLLBACK;
SELECT 'a' AS side, * FROM regress_a UNION ALL SELECT 'b', * FROM regress_b ORDER BY 1, 2;
SELECT count(*) = :history_rows AS history_unchanged FROM diffsync.history;

-- a user trigger's own writes are not diffsync's: when diffsync writes the
-- target, the trigger's insert into a table of another engine is
-- reconciled by that engine like any other write
CREATE TABLE regress_audit (id int PRIMARY KEY, what text);
CREATE TABLE regress_audit_copy (id int PRIMARY KEY, what text);
CREATE SEQUENCE regress_audit_seq;
SELECT diffsync.create_adapter('audit', 'regress_audit', '{id}');
SELECT diffsync.create_adapter('audit_copy', 'regress_audit_copy', '{id}');
SELECT diffsync.create_engine('audit', 'audit', 'audit_copy', 'source_to_target', 'source_wins');
SELECT diffsync.attach('audit');
CREATE FUNCTION regress_b_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress_audit VALUES (nextval('regress_audit_seq'), TG_OP || ' ' || NEW.code);
    RETURN NULL;
END
$$;
CREATE TRIGGER regress_b_audit AFTER UPDATE ON regress_b
FOR EACH ROW EXECUTE FUNCTION regress_b_audit();
UPDATE regress_a SET qty = 7 WHERE id = 1;
UPDATE regress_b SET amount = 8 WHERE code = 3;
SELECT 'audit' AS side, * FROM regress_audit UNION ALL SELECT 'copy', * FROM regress_audit_copy ORDER BY 1, 2;
DROP TRIGGER regress_b_audit ON regress_b;

-- the user trigger on the target saw every write diffsync made to it, once
-- each (and the user's own statements)
SELECT by_diffsync, op, code, count(*) FROM regress_b_log GROUP BY 1, 2, 3 ORDER BY 1, 3, 2;

--
-- detach stops reconciliation
--
SELECT diffsync.detach('bi');
SELECT count(*) AS diffsync_triggers
  FROM pg_trigger WHERE tgrelid IN ('regress_a'::regclass, 'regress_b'::regclass) AND tgname LIKE 'diffsync%';
UPDATE regress_a SET name = 'after detach' WHERE id = 1;
SELECT title FROM regress_b WHERE code = 1;
-- the next batch sync catches up
SELECT (diffsync.sync_engine('bi'))->'summary'->'target' AS target;
SELECT title FROM regress_b WHERE code = 1;

--
-- errors
--
SELECT pg_temp.err($$SELECT diffsync.attach('oneway')$$);
SELECT pg_temp.err($$SELECT diffsync.detach('bi')$$);
SELECT pg_temp.err($$SELECT diffsync.attach('nosuch')$$);
SELECT pg_temp.err($$SELECT diffsync.detach('nosuch')$$);
-- a view cannot carry the triggers: as a watched side it is refused; as
-- an unwatched target it is fine
CREATE TABLE regress_plain (id int PRIMARY KEY, name text, qty int);
CREATE VIEW regress_plain_v AS SELECT id, name, qty FROM regress_plain;
SELECT diffsync.create_adapter('plain_v', 'regress_plain_v', '{id}');
SELECT diffsync.create_engine('from_view', 'plain_v', 'a', 'source_to_target', 'source_wins');
SELECT diffsync.create_engine('both_view', 'a', 'plain_v', 'bidirectional', 'source_wins');
SELECT diffsync.create_engine('to_view', 'a', 'plain_v', 'source_to_target', 'source_wins');
SELECT pg_temp.err($$SELECT diffsync.attach('from_view')$$);
SELECT pg_temp.err($$SELECT diffsync.attach('both_view')$$);
-- (a failed attach leaves no trigger behind)
SELECT count(*) AS diffsync_triggers_on_a
  FROM pg_trigger WHERE tgrelid = 'regress_a'::regclass AND tgname LIKE 'diffsync%';
SELECT pg_temp.err($$SELECT diffsync.attach('to_view')$$);
SELECT diffsync.detach('to_view');

-- dropping an attached engine must not leave the table unwritable: either
-- drop_engine refuses (2BP01) or it takes its triggers with it
SELECT diffsync.attach('to_view');
SELECT split_part(pg_temp.err($$SELECT diffsync.drop_engine('to_view')$$), ':', 1) IN ('ok', '2BP01') AS dropped_or_refused;
SELECT pg_temp.err($$INSERT INTO regress_a VALUES (50, 'still writable', 50, '{}')$$);
SELECT pg_temp.err($$SELECT diffsync.detach('to_view')$$) IN ('ok', '42704: engine "to_view" is not attached', '42704: engine "to_view" does not exist') AS detached_or_gone;
SELECT count(*) AS diffsync_triggers_on_a
  FROM pg_trigger WHERE tgrelid = 'regress_a'::regclass AND tgname LIKE 'diffsync%';

-- a one-way engine never writes the side it reads from, whatever the
-- strategy: with target_wins, a source change to a key the target lacks
-- creates it there, and a source DELETE of a row the target changed since
-- leaves the target as it is (nothing is written back to the source)
CREATE TABLE regress_ow_s (id int PRIMARY KEY, v text);
CREATE TABLE regress_ow_t (id int PRIMARY KEY, v text);
INSERT INTO regress_ow_s VALUES (1, 'one'), (2, 'two');
INSERT INTO regress_ow_t VALUES (2, 'two, changed on the target');
SELECT diffsync.create_adapter('ow_s', 'regress_ow_s', '{id}');
SELECT diffsync.create_adapter('ow_t', 'regress_ow_t', '{id}');
SELECT diffsync.create_engine('ow', 'ow_s', 'ow_t', 'source_to_target', 'target_wins', '{"notify": false}');
SELECT diffsync.attach('ow');
UPDATE regress_ow_s SET v = 'one, updated' WHERE id = 1;
DELETE FROM regress_ow_s WHERE id = 2;
SELECT 's' AS side, * FROM regress_ow_s UNION ALL SELECT 't', * FROM regress_ow_t ORDER BY 1, 2;
SELECT diffsync.drop_engine('ow');
DROP TABLE regress_ow_s, regress_ow_t;

-- TRUNCATE of a watched table is reconciled too, as the DELETE of every
-- row it is: the rows are kept before they go, then reconciled as a
-- statement's old rows (a row only the other side has is not touched)
CREATE TABLE regress_tr_s (id int PRIMARY KEY, v text);
CREATE TABLE regress_tr_t (id int PRIMARY KEY, v text);
INSERT INTO regress_tr_s VALUES (1, 'one'), (2, 'two');
INSERT INTO regress_tr_t VALUES (1, 'one'), (2, 'two'), (3, 'only on the target');
SELECT diffsync.create_adapter('tr_s', 'regress_tr_s', '{id}');
SELECT diffsync.create_adapter('tr_t', 'regress_tr_t', '{id}');
SELECT diffsync.create_engine('tr', 'tr_s', 'tr_t', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.attach('tr');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'regress_tr_s'::regclass AND tgname LIKE 'diffsync%';
BEGIN;
TRUNCATE regress_tr_s;
SELECT 's' AS side, * FROM regress_tr_s UNION ALL SELECT 't', * FROM regress_tr_t ORDER BY 1, 2;
SELECT adapter, key, version, action FROM diffsync.history
 WHERE adapter IN ('tr_s', 'tr_t') ORDER BY adapter, key, version;
ROLLBACK;
-- rolled back with the transaction: nothing happened
SELECT 's' AS side, * FROM regress_tr_s UNION ALL SELECT 't', * FROM regress_tr_t ORDER BY 1, 2;
SELECT count(*) AS versions FROM diffsync.history WHERE adapter IN ('tr_s', 'tr_t');
-- bidirectional: as for a DELETE, the change being made now is the newest,
-- so the truncate also wins over a row the other side changed since
SELECT diffsync.detach('tr');
SELECT diffsync.create_engine('tr2', 'tr_s', 'tr_t', 'bidirectional', 'last_update_wins', '{"notify": false}');
SELECT diffsync.sync_engine('tr2')->'summary' AS first_sync;
UPDATE regress_tr_s SET v = 'two, changed while detached' WHERE id = 2;
SELECT diffsync.attach('tr2');
TRUNCATE regress_tr_t;
SELECT 's' AS side, * FROM regress_tr_s UNION ALL SELECT 't', * FROM regress_tr_t ORDER BY 1, 2;
-- a bidirectional engine that never synced: TRUNCATE empties the other
-- side as DELETE would (the rows truncated are the base)
SELECT diffsync.detach('tr2');
INSERT INTO regress_tr_s VALUES (1, 'one'), (2, 'two');
INSERT INTO regress_tr_t VALUES (1, 'one'), (2, 'two');
SELECT diffsync.create_engine('tr3', 'tr_s', 'tr_t', 'bidirectional', 'last_update_wins', '{"notify": false}');
SELECT diffsync.attach('tr3');
TRUNCATE regress_tr_s;
SELECT 's' AS side, * FROM regress_tr_s UNION ALL SELECT 't', * FROM regress_tr_t ORDER BY 1, 2;
SELECT diffsync.detach('tr3');
SELECT diffsync.attach('tr2');
-- detach takes the TRUNCATE triggers too
SELECT diffsync.detach('tr2');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'regress_tr_s'::regclass AND tgname LIKE 'diffsync%';
SELECT diffsync.drop_engine('tr');
SELECT diffsync.drop_engine('tr2');
SELECT diffsync.drop_engine('tr3');
DROP TABLE regress_tr_s, regress_tr_t;

-- TRUNCATE of a big table (its rows spill to a temporary file), repeated in
-- one transaction: no leaked file or memory, every time reconciled
CREATE TABLE regress_tb_s (id int PRIMARY KEY, v text);
CREATE TABLE regress_tb_t (id int PRIMARY KEY, v text);
SELECT diffsync.create_adapter('tb_s', 'regress_tb_s', '{id}');
SELECT diffsync.create_adapter('tb_t', 'regress_tb_t', '{id}');
SELECT diffsync.create_engine('tb', 'tb_s', 'tb_t', 'source_to_target', 'source_wins',
                              '{"notify": false, "history": false}');
SELECT diffsync.attach('tb');
SET work_mem = '64kB';
DO $$
BEGIN
    FOR i IN 1..3 LOOP
        INSERT INTO regress_tb_s SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g;
        IF (SELECT count(*) FROM regress_tb_t) <> 20000 THEN
            RAISE EXCEPTION 'round %: target not filled', i;
        END IF;
        TRUNCATE regress_tb_s;
        IF (SELECT count(*) FROM regress_tb_t) <> 0 THEN
            RAISE EXCEPTION 'round %: target not emptied', i;
        END IF;
    END LOOP;
END
$$;
RESET work_mem;
SELECT (SELECT count(*) FROM regress_tb_s) AS source_rows, (SELECT count(*) FROM regress_tb_t) AS target_rows;
-- TRUNCATE ONLY of an inheritance parent: its own rows only
CREATE TABLE regress_tb_child () INHERITS (regress_tb_s);
INSERT INTO regress_tb_s VALUES (1, 'parent');
INSERT INTO regress_tb_child VALUES (2, 'child');
SELECT diffsync.sync_engine('tb')->'summary'->'target' AS synced;
TRUNCATE ONLY regress_tb_s;
SELECT * FROM regress_tb_t ORDER BY id;
-- under row-level security the rows TRUNCATE removes cannot all be read:
-- refused, nothing happens
CREATE ROLE regress_tb_role;
GRANT SELECT, TRUNCATE ON regress_tb_s TO regress_tb_role;
GRANT USAGE ON SCHEMA diffsync TO regress_tb_role;
ALTER TABLE regress_tb_s ENABLE ROW LEVEL SECURITY;
CREATE POLICY none_of_them ON regress_tb_s USING (false);
INSERT INTO regress_tb_s VALUES (3, 'hidden');
SET ROLE regress_tb_role;
SELECT pg_temp.err($$TRUNCATE regress_tb_s$$);
RESET ROLE;
SELECT count(*) AS still_there FROM ONLY regress_tb_s;
SELECT diffsync.drop_engine('tb');
DROP TABLE regress_tb_s, regress_tb_t CASCADE;
REVOKE USAGE ON SCHEMA diffsync FROM regress_tb_role;
DROP ROLE regress_tb_role;

-- fields named like the working columns of the live statements (key,
-- before, after, action) work; names beginning with __ds_ or __w_ are
-- reserved (42939)
CREATE TABLE regress_kw_s (key text PRIMARY KEY, before int, after int, action text);
CREATE TABLE regress_kw_t (key text PRIMARY KEY, before int, after int, action text);
SELECT diffsync.create_adapter('kw_s', 'regress_kw_s', '{key}');
SELECT diffsync.create_adapter('kw_t', 'regress_kw_t', '{key}');
SELECT diffsync.create_engine('kw', 'kw_s', 'kw_t', 'bidirectional', 'last_update_wins', '{"notify": false}');
SELECT diffsync.attach('kw');
INSERT INTO regress_kw_s VALUES ('a', 1, 2, 'x'), ('b', 3, 4, 'y');
UPDATE regress_kw_t SET after = 5 WHERE key = 'a';
DELETE FROM regress_kw_s WHERE key = 'b';
SELECT 's' AS side, * FROM regress_kw_s UNION ALL SELECT 't', * FROM regress_kw_t ORDER BY 1, 2;
SELECT adapter, key, version, action FROM diffsync.history WHERE adapter LIKE 'kw_%' ORDER BY 1, 2, 3;
SELECT diffsync.drop_engine('kw');
SELECT pg_temp.err($$SELECT diffsync.create_adapter('kw_bad', 'regress_kw_s', '{key}', '{__ds_row}', columns => '{"__ds_row": "before"}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('kw_bad', 'regress_kw_s', '{key}', '{__w_0}', columns => '{"__w_0": "after"}')$$);
DROP TABLE regress_kw_s, regress_kw_t;

-- TRUNCATE of tables with foreign keys between them: each table is
-- reconciled at its own AFTER TRUNCATE trigger, in the order PostgreSQL fires
-- them (a parent before the tables CASCADE adds); deleting a parent's rows
-- while the other side's children still reference them fails the statement
-- (23503) and nothing changes; children first works
CREATE TABLE regress_fk_sp (id int PRIMARY KEY, v text);
CREATE TABLE regress_fk_sc (id int PRIMARY KEY, pid int REFERENCES regress_fk_sp, v text);
CREATE TABLE regress_fk_tp (id int PRIMARY KEY, v text);
CREATE TABLE regress_fk_tc (id int PRIMARY KEY, pid int REFERENCES regress_fk_tp, v text);
SELECT diffsync.create_adapter('fk_sp', 'regress_fk_sp', '{id}');
SELECT diffsync.create_adapter('fk_sc', 'regress_fk_sc', '{id}');
SELECT diffsync.create_adapter('fk_tp', 'regress_fk_tp', '{id}');
SELECT diffsync.create_adapter('fk_tc', 'regress_fk_tc', '{id}');
SELECT diffsync.create_engine('fk_p', 'fk_sp', 'fk_tp', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.create_engine('fk_c', 'fk_sc', 'fk_tc', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.attach('fk_p');
SELECT diffsync.attach('fk_c');
CREATE FUNCTION pg_temp.fk_fill() RETURNS void LANGUAGE sql AS $$
    INSERT INTO regress_fk_sp VALUES (1, 'p1'), (2, 'p2');
    INSERT INTO regress_fk_sc VALUES (10, 1, 'c10'), (20, 2, 'c20');
$$;
CREATE FUNCTION pg_temp.fk_counts() RETURNS text LANGUAGE sql AS $$
    SELECT format('sp %s, sc %s, tp %s, tc %s',
                  (SELECT count(*) FROM regress_fk_sp), (SELECT count(*) FROM regress_fk_sc),
                  (SELECT count(*) FROM regress_fk_tp), (SELECT count(*) FROM regress_fk_tc))
$$;
SELECT pg_temp.fk_fill();
SELECT pg_temp.fk_counts() AS filled;
SELECT pg_temp.err($$TRUNCATE regress_fk_sp CASCADE$$);
SELECT pg_temp.fk_counts() AS after_cascade;
SELECT pg_temp.err($$TRUNCATE regress_fk_sp, regress_fk_sc$$);
SELECT pg_temp.fk_counts() AS after_parent_first;
TRUNCATE regress_fk_sc, regress_fk_sp;
SELECT pg_temp.fk_counts() AS after_child_first;
SELECT pg_temp.fk_fill();
BEGIN;
SAVEPOINT s;
SELECT pg_temp.err($$TRUNCATE regress_fk_sp$$);
ROLLBACK TO s;
TRUNCATE regress_fk_sc;
COMMIT;
SELECT pg_temp.fk_counts() AS after_savepoint;
SELECT diffsync.drop_engine('fk_p');
SELECT diffsync.drop_engine('fk_c');
DROP TABLE regress_fk_sc, regress_fk_sp, regress_fk_tc, regress_fk_tp;

-- detach finds an engine's triggers by their argument, the engine's name:
-- also triggers named by an earlier release, never another engine's
CREATE TABLE regress_tn (id int PRIMARY KEY, v text);
CREATE TABLE regress_tn_t (id int PRIMARY KEY, v text);
SELECT diffsync.create_adapter('tn', 'regress_tn', '{id}');
SELECT diffsync.create_adapter('tn_t', 'regress_tn_t', '{id}');
SELECT diffsync.create_engine('tn1', 'tn', 'tn_t', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.create_engine('tn2', 'tn', 'tn_t', 'source_to_target', 'source_wins', '{"notify": false}');
CREATE TRIGGER diffsync_0badc0de_ins AFTER INSERT ON regress_tn REFERENCING NEW TABLE AS diffsync_new
    FOR EACH STATEMENT EXECUTE FUNCTION diffsync.live_reconcile('tn1');
SELECT pg_temp.err($$SELECT diffsync.attach('tn1')$$);
SELECT diffsync.attach('tn2');
SELECT diffsync.detach('tn1');
SELECT count(*) AS tn2_triggers_left FROM pg_trigger WHERE tgrelid = 'regress_tn'::regclass;
INSERT INTO regress_tn VALUES (1, 'one');
SELECT * FROM regress_tn_t;
SELECT diffsync.drop_engine('tn1');
SELECT diffsync.drop_engine('tn2');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'regress_tn'::regclass;
DROP TABLE regress_tn, regress_tn_t;

-- TRUNCATE robustness: an AFTER TRUNCATE trigger disabled on its own holds
-- nothing else back (warned at commit); a TRUNCATE nested in another
-- table's TRUNCATE trigger, inside an exception block, with rows spilled to
-- disk, is reconciled; repeated failing TRUNCATEs caught by PL/pgSQL leave
-- no memory behind; lookups work with standard_conforming_strings off
CREATE TABLE regress_tx_a (id int PRIMARY KEY, v text);
CREATE TABLE regress_tx_at (id int PRIMARY KEY, v text);
CREATE TABLE regress_tx_b (id int PRIMARY KEY, v text);
CREATE TABLE regress_tx_bt (id int PRIMARY KEY, v text);
SELECT diffsync.create_adapter('tx_a', 'regress_tx_a', '{id}');
SELECT diffsync.create_adapter('tx_at', 'regress_tx_at', '{id}');
SELECT diffsync.create_adapter('tx_b', 'regress_tx_b', '{id}');
SELECT diffsync.create_adapter('tx_bt', 'regress_tx_bt', '{id}');
SELECT diffsync.create_engine('tx_ea', 'tx_a', 'tx_at', 'source_to_target', 'source_wins', '{"notify": false, "history": false}');
SELECT diffsync.create_engine('tx_eb', 'tx_b', 'tx_bt', 'source_to_target', 'source_wins', '{"notify": false, "history": false}');
SET standard_conforming_strings = off;
SELECT diffsync.attach('tx_ea');
SELECT diffsync.attach('tx_eb');
RESET standard_conforming_strings;
INSERT INTO regress_tx_a VALUES (1, 'a');
INSERT INTO regress_tx_b VALUES (1, 'b');
DO $$
BEGIN
    EXECUTE (SELECT format('ALTER TABLE regress_tx_a DISABLE TRIGGER %I', tgname)
               FROM pg_trigger WHERE tgrelid = 'regress_tx_a'::regclass AND tgname LIKE 'diffsync%trn');
END
$$;
BEGIN;
TRUNCATE regress_tx_a;
TRUNCATE regress_tx_b;
SELECT (SELECT count(*) FROM regress_tx_at) AS a_target_kept, (SELECT count(*) FROM regress_tx_bt) AS b_target_rows;
COMMIT;
ALTER TABLE regress_tx_a ENABLE TRIGGER ALL;
-- nested, in an exception block, spilled
CREATE FUNCTION regress_tx_nested() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        TRUNCATE regress_tx_b;
    EXCEPTION WHEN others THEN
        RAISE NOTICE 'nested TRUNCATE failed: %', SQLERRM;
    END;
    RETURN NULL;
END
$$;
CREATE TRIGGER a_nested AFTER TRUNCATE ON regress_tx_a FOR EACH STATEMENT EXECUTE FUNCTION regress_tx_nested();
INSERT INTO regress_tx_a VALUES (1, 'a');
INSERT INTO regress_tx_b SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g;
SET work_mem = '64kB';
TRUNCATE regress_tx_a;
RESET work_mem;
SELECT (SELECT count(*) FROM regress_tx_at) AS a_target_rows, (SELECT count(*) FROM regress_tx_bt) AS b_target_rows;
DROP TRIGGER a_nested ON regress_tx_a;
-- failing reconciliations caught by PL/pgSQL, many times in one transaction
CREATE FUNCTION regress_tx_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused';
END
$$;
CREATE TRIGGER refuse BEFORE DELETE ON regress_tx_bt FOR EACH ROW EXECUTE FUNCTION regress_tx_refuse();
INSERT INTO regress_tx_b SELECT g, repeat('x', 50) FROM generate_series(1, 2000) g;
BEGIN;
DO $$
BEGIN
    FOR i IN 1..30 LOOP
        BEGIN
            TRUNCATE regress_tx_b;
        EXCEPTION WHEN others THEN
            NULL;
        END;
    END LOOP;
END
$$;
SELECT total_bytes < 1024 * 1024 AS top_transaction_context_small
  FROM pg_backend_memory_contexts WHERE name = 'TopTransactionContext';
COMMIT;
SELECT (SELECT count(*) FROM regress_tx_b) AS b_rows, (SELECT count(*) FROM regress_tx_bt) AS b_target_rows;
DROP TRIGGER refuse ON regress_tx_bt;
SET standard_conforming_strings = off;
SELECT diffsync.detach('tx_ea');
SELECT diffsync.drop_engine('tx_eb');
RESET standard_conforming_strings;
SELECT diffsync.drop_engine('tx_ea');
DROP TABLE regress_tx_a, regress_tx_at, regress_tx_b, regress_tx_bt;
DROP FUNCTION regress_tx_nested(), regress_tx_refuse();

-- subtransactions that abort while another table's capture waits (a
-- multi-table TRUNCATE whose first reconciliation runs a target trigger
-- with exception blocks, one of them a failing nested TRUNCATE), rows
-- spilled to disk; and savepoints rolled back around TRUNCATEs whose AFTER
-- trigger is disabled
CREATE TABLE regress_ty_s1 (id int PRIMARY KEY, v text);
CREATE TABLE regress_ty_t1 (id int PRIMARY KEY, v text);
CREATE TABLE regress_ty_s2 (id int PRIMARY KEY, v text);
CREATE TABLE regress_ty_t2 (id int PRIMARY KEY, v text);
CREATE TABLE regress_ty_s3 (id int PRIMARY KEY, v text);
CREATE TABLE regress_ty_t3 (id int PRIMARY KEY, v text);
SELECT diffsync.create_adapter('ty_' || x, 'regress_ty_' || x, '{id}')
  FROM unnest(ARRAY['s1', 't1', 's2', 't2', 's3', 't3']) x;
SELECT diffsync.create_engine('ty_e' || i, 'ty_s' || i, 'ty_t' || i, 'source_to_target', 'source_wins',
                              '{"notify": false, "history": false}')
  FROM generate_series(1, 3) i;
SELECT diffsync.attach('ty_e' || i) FROM generate_series(1, 3) i;
CREATE FUNCTION regress_ty_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused';
END
$$;
CREATE TRIGGER refuse BEFORE DELETE ON regress_ty_t3 FOR EACH ROW EXECUTE FUNCTION regress_ty_refuse();
CREATE FUNCTION regress_ty_sub() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN PERFORM 1 / 0; EXCEPTION WHEN others THEN NULL; END;
    BEGIN TRUNCATE regress_ty_s3; EXCEPTION WHEN others THEN NULL; END;
    RETURN NULL;
END
$$;
CREATE TRIGGER sub AFTER DELETE ON regress_ty_t1 FOR EACH STATEMENT EXECUTE FUNCTION regress_ty_sub();
INSERT INTO regress_ty_s1 SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g;
INSERT INTO regress_ty_s2 SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g;
INSERT INTO regress_ty_s3 SELECT g, repeat('x', 50) FROM generate_series(1, 100) g;
SET work_mem = '64kB';
BEGIN;
TRUNCATE regress_ty_s1, regress_ty_s2;
COMMIT;
RESET work_mem;
SELECT (SELECT count(*) FROM regress_ty_t1) AS t1, (SELECT count(*) FROM regress_ty_t2) AS t2,
       (SELECT count(*) FROM regress_ty_s3) AS s3, (SELECT count(*) FROM regress_ty_t3) AS t3;
DO $$
BEGIN
    EXECUTE (SELECT string_agg(format('ALTER TABLE %s DISABLE TRIGGER %I', tgrelid::regclass, tgname), '; ')
               FROM pg_trigger WHERE tgrelid IN ('regress_ty_s1'::regclass, 'regress_ty_s2'::regclass)
                AND tgname LIKE 'diffsync%trn');
END
$$;
BEGIN;
TRUNCATE regress_ty_s1;
SAVEPOINT a;
ROLLBACK TO a;
SAVEPOINT b;
TRUNCATE regress_ty_s2;
ROLLBACK TO b;
COMMIT;
SELECT diffsync.drop_engine('ty_e' || i) FROM generate_series(1, 3) i;
DROP TABLE regress_ty_s1, regress_ty_t1, regress_ty_s2, regress_ty_t2, regress_ty_s3, regress_ty_t3;
DROP FUNCTION regress_ty_refuse(), regress_ty_sub();

-- restore() on an attached table: one version (the restore, full state),
-- and the live engine carries the restored row to the other side
CREATE TABLE regress_rs_s (id int PRIMARY KEY, v text);
CREATE TABLE regress_rs_t (id int PRIMARY KEY, v text);
SELECT diffsync.create_adapter('rs_s', 'regress_rs_s', '{id}');
SELECT diffsync.create_adapter('rs_t', 'regress_rs_t', '{id}');
SELECT diffsync.create_engine('rs', 'rs_s', 'rs_t', 'source_to_target', 'last_update_wins', '{"notify": false}');
SELECT diffsync.attach('rs');
INSERT INTO regress_rs_s VALUES (1, 'first');
UPDATE regress_rs_s SET v = 'second' WHERE id = 1;
SELECT diffsync.restore('rs_s', '{"id": 1}', 1);
DELETE FROM regress_rs_s WHERE id = 1;
SELECT diffsync.restore('rs_s', '{"id": 1}', 2);
SELECT 's' AS side, * FROM regress_rs_s UNION ALL SELECT 't', * FROM regress_rs_t ORDER BY 1, 2;
SELECT adapter, version, action, state->>'v' AS state_v, message
  FROM diffsync.history WHERE adapter IN ('rs_s', 'rs_t') ORDER BY adapter, version;
SELECT diffsync.drop_engine('rs');
DROP TABLE regress_rs_s, regress_rs_t;
-- a write expression stores something else than the version asked for: the
-- restore version holds the row as it reads back, and later patches chain
CREATE TABLE regress_rw_s (id int PRIMARY KEY, name text, qty int);
CREATE TABLE regress_rw_t (id int PRIMARY KEY, name text, qty int);
SELECT diffsync.create_adapter('rw_s', 'regress_rw_s', '{id}',
                               columns => '{"name": {"column": "name", "read": "name", "write": "upper(name)"}}');
SELECT diffsync.create_adapter('rw_t', 'regress_rw_t', '{id}');
SELECT diffsync.create_engine('rw', 'rw_s', 'rw_t', 'source_to_target', 'last_update_wins', '{"notify": false}');
SELECT diffsync.attach('rw');
INSERT INTO regress_rw_s VALUES (1, 'a', 1);
UPDATE regress_rw_s SET name = 'B';
SELECT diffsync.restore('rw_s', '{"id": 1}', 1);
UPDATE regress_rw_s SET qty = 2;
SELECT version, action, state, patch FROM diffsync.history WHERE adapter = 'rw_s' ORDER BY version;
SELECT diffsync.state_at_version('rw_s', '{"id": 1}', 4) = (SELECT to_jsonb(r) FROM regress_rw_s r) AS latest_rebuilds_the_row;
SELECT diffsync.drop_engine('rw');
DROP TABLE regress_rw_s, regress_rw_t;

-- the written side's versions of a one-way engine are derived: recorded for
-- every row of the statement and kept where the side's previous version
-- differs from the new row (the engine wrote it there)
CREATE TABLE regress_dv_s (id int PRIMARY KEY, v text);
CREATE TABLE regress_dv_t (id int PRIMARY KEY, v text);
INSERT INTO regress_dv_s VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO regress_dv_t VALUES (1, 'a'), (2, 'b');
SELECT diffsync.create_adapter('dv_s', 'regress_dv_s', '{id}');
SELECT diffsync.create_adapter('dv_t', 'regress_dv_t', '{id}');
SELECT diffsync.create_engine('dv', 'dv_s', 'dv_t', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.attach('dv');
-- a no-op statement: nothing written, no version on either side
UPDATE regress_dv_s SET v = v;
SELECT count(*) AS versions FROM diffsync.history WHERE adapter IN ('dv_s', 'dv_t');
-- a change on key 1; key 3, missing on the target, is written by the same
-- statement (no history there yet: its action follows the source's change)
UPDATE regress_dv_s SET v = v || '+' WHERE id IN (1, 3);
SELECT * FROM regress_dv_t ORDER BY id;
SELECT adapter, key->>'id' AS id, version, action, state->>'v' AS v
  FROM diffsync.history WHERE adapter IN ('dv_s', 'dv_t') ORDER BY adapter, id, version;
-- the target drifts behind the engine's back; a no-op statement on the
-- source puts it back: the target's history never saw the drift, so the
-- repair is no version either
UPDATE regress_dv_t SET v = 'drift' WHERE id = 1;
UPDATE regress_dv_s SET v = v WHERE id = 1;
SELECT v FROM regress_dv_t WHERE id = 1;
-- a source delete, then the key back: delete and create on both sides
DELETE FROM regress_dv_s WHERE id = 2;
INSERT INTO regress_dv_s VALUES (2, 'b2');
SELECT adapter, key->>'id' AS id, version, action, state->>'v' AS v
  FROM diffsync.history WHERE adapter IN ('dv_s', 'dv_t') AND key = '{"id": 2}' ORDER BY adapter, version;
-- the engine's write, then an explicit commit of the same state in the
-- same transaction: both versions (the commit is no echo)
BEGIN;
UPDATE regress_dv_s SET v = 'c' WHERE id = 3;
SELECT diffsync.commit_version('dv_t', '{"id": 3}', 'reviewed') AS committed;
COMMIT;
SELECT version, action, state->>'v' AS v, engine, message FROM diffsync.history
 WHERE adapter = 'dv_t' AND key = '{"id": 3}' ORDER BY version;
-- numbered and stored, the same
SELECT (SELECT jsonb_agg(to_jsonb(h) - 'batch_id' - 'full_state' ORDER BY change_id) FROM diffsync.history h WHERE adapter IN ('dv_s', 'dv_t')) AS before_mat \gset
SELECT diffsync.materialize_history('dv_t') > 0 AS materialized;
SELECT (SELECT jsonb_agg(to_jsonb(h) - 'batch_id' - 'full_state' ORDER BY change_id) FROM diffsync.history h WHERE adapter IN ('dv_s', 'dv_t')) = :'before_mat'::jsonb AS reads_the_same;
SELECT diffsync.drop_engine('dv');
DROP TABLE regress_dv_s, regress_dv_t;

-- identifiers no unique index covers: two new rows of one key in a
-- statement are 23505, as for a sync, and nothing is written
CREATE TABLE regress_nu_s (id int, v text);
CREATE TABLE regress_nu_t (id int PRIMARY KEY, v text);
SELECT diffsync.create_adapter('nu_s', 'regress_nu_s', '{id}');
SELECT diffsync.create_adapter('nu_t', 'regress_nu_t', '{id}');
SELECT diffsync.create_engine('nu', 'nu_s', 'nu_t', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.attach('nu');
INSERT INTO regress_nu_s VALUES (1, 'one'), (1, 'uno');
INSERT INTO regress_nu_s VALUES (2, 'two');
-- a second row of a key already there is the same error
INSERT INTO regress_nu_s VALUES (2, 'dos');
UPDATE regress_nu_s SET id = 2 WHERE id = 2;
SELECT * FROM regress_nu_s UNION ALL SELECT * FROM regress_nu_t ORDER BY 1, 2;
SELECT diffsync.drop_engine('nu');
DROP TABLE regress_nu_s, regress_nu_t;

-- two one-way engines in a cycle: each side's versions once, not an echo
-- of the other engine's write back
CREATE TABLE regress_cy_s (id int PRIMARY KEY, a int);
CREATE TABLE regress_cy_t (id int PRIMARY KEY, a int);
SELECT diffsync.create_adapter('cy_s', 'regress_cy_s', '{id}');
SELECT diffsync.create_adapter('cy_t', 'regress_cy_t', '{id}');
SELECT diffsync.create_engine('cy_st', 'cy_s', 'cy_t', 'source_to_target', 'last_update_wins', '{"notify": false}');
SELECT diffsync.create_engine('cy_ts', 'cy_t', 'cy_s', 'source_to_target', 'last_update_wins', '{"notify": false}');
SELECT diffsync.attach('cy_st');
SELECT diffsync.attach('cy_ts');
INSERT INTO regress_cy_s VALUES (1, 1);
UPDATE regress_cy_s SET a = 2;
UPDATE regress_cy_t SET a = 3;
DELETE FROM regress_cy_t;
SELECT adapter, version, action, state FROM diffsync.history
 WHERE adapter IN ('cy_s', 'cy_t') ORDER BY adapter, version;
-- a row the inner engine writes that the outer statement did not touch (a
-- trigger on the target adds a companion row): a version of its own
CREATE FUNCTION regress_cy_companion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id < 1000 THEN
        INSERT INTO regress_cy_t VALUES (NEW.id + 1000, NEW.a) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER companion AFTER INSERT ON regress_cy_t FOR EACH ROW EXECUTE FUNCTION regress_cy_companion();
INSERT INTO regress_cy_s VALUES (5, 5);
SELECT * FROM regress_cy_s ORDER BY id;
SELECT adapter, key, version, action FROM diffsync.history
 WHERE adapter IN ('cy_s', 'cy_t') AND (key->>'id')::int IN (5, 1005) ORDER BY 1, 2, 3;
SELECT diffsync.drop_engine('cy_st');
SELECT diffsync.drop_engine('cy_ts');
DROP TABLE regress_cy_s, regress_cy_t;
DROP FUNCTION regress_cy_companion();

SELECT diffsync.detach('oneway');
SELECT diffsync.detach('audit');
DROP TABLE regress_src, regress_dst, regress_a, regress_b, regress_b_log, regress_audit, regress_audit_copy, regress_plain CASCADE;
DROP FUNCTION regress_b_log(), regress_b_audit();
DROP SEQUENCE regress_audit_seq;
DROP EXTENSION diffsync;
