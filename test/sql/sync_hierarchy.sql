--
-- sync_hierarchy: parent/child adapters (site -> device), ported from
-- DiffSync's behaviours: children paired by model name, parents created
-- before their children, children deleted before their parents (foreign
-- keys between the target tables, ON DELETE RESTRICT), a device moving to
-- another site is an update, skip_unmatched_src/dst on every level,
-- continue_on_failure converging over repeated syncs, diff summaries.
--
-- DiffSync orders elements by insertion; here every listing is ordered by
-- model and key instead.
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

-- source: an inventory; target: a monitoring system with other names and
-- its own constraints
CREATE TABLE regress_inv_site (name text PRIMARY KEY, region text);
CREATE TABLE regress_inv_device (name text PRIMARY KEY,
                                 site text NOT NULL REFERENCES regress_inv_site ON DELETE RESTRICT,
                                 role text, serial text);
CREATE TABLE regress_inv_rack (site text REFERENCES regress_inv_site, rack text, PRIMARY KEY (site, rack));
CREATE TABLE regress_mon_site (code text PRIMARY KEY, region text);
CREATE TABLE regress_mon_device (hostname text PRIMARY KEY,
                                 site_code text NOT NULL REFERENCES regress_mon_site (code) ON DELETE RESTRICT,
                                 role text,
                                 serial text CHECK (serial LIKE 'SN%'));

SELECT diffsync.create_adapter('inv_site', 'regress_inv_site', '{name}', model => 'site');
SELECT diffsync.create_adapter('inv_device', 'regress_inv_device', '{name}',
    parent => 'inv_site', parent_key => '{"site": "name"}', model => 'device');
-- racks exist in the inventory only: a child model the target lacks is not synced
SELECT diffsync.create_adapter('inv_rack', 'regress_inv_rack', '{site,rack}',
    parent => 'inv_site', parent_key => '{"site": "name"}', model => 'rack');
SELECT diffsync.create_adapter('mon_site', 'regress_mon_site', '{name}',
    columns => '{"name": "code"}', model => 'site');
SELECT diffsync.create_adapter('mon_device', 'regress_mon_device', '{name}',
    columns => '{"name": "hostname", "site": "site_code"}',
    parent => 'mon_site', parent_key => '{"site": "name"}', model => 'device');
SELECT name, model, parent, parent_key FROM diffsync.adapters ORDER BY name;

CREATE FUNCTION pg_temp.target() RETURNS TABLE (site text, devices text)
LANGUAGE sql AS $$
    SELECT s.code || ' (' || s.region || ')',
           string_agg(d.hostname || ':' || d.role || ':' || d.serial, ' ' ORDER BY d.hostname)
      FROM regress_mon_site s LEFT JOIN regress_mon_device d ON d.site_code = s.code
     GROUP BY s.code, s.region ORDER BY s.code
$$;
CREATE FUNCTION pg_temp.source() RETURNS TABLE (site text, devices text)
LANGUAGE sql AS $$
    SELECT s.name || ' (' || s.region || ')',
           string_agg(d.name || ':' || d.role || ':' || d.serial, ' ' ORDER BY d.name)
      FROM regress_inv_site s LEFT JOIN regress_inv_device d ON d.site = s.name
     GROUP BY s.name, s.region ORDER BY s.name
$$;

INSERT INTO regress_inv_site VALUES ('atl', 'south'), ('nyc', 'east'), ('sfo', 'west');
INSERT INTO regress_inv_device VALUES
    ('atl-r1', 'atl', 'router', 'SN10'),
    ('nyc-r1', 'nyc', 'router', 'SN20'), ('nyc-s1', 'nyc', 'switch', 'SN21'),
    ('sfo-r1', 'sfo', 'router', 'SN30');
INSERT INTO regress_inv_rack VALUES ('nyc', 'A1');

-- the diff covers both levels (racks are not compared: no target model)
SELECT model, key, action, source, target FROM diffsync.diff('inv_site', 'mon_site')
 ORDER BY model DESC, key;
SELECT diffsync.diff_summary('inv_site', 'mon_site');
SELECT diffsync.diff_text('inv_site', 'mon_site');

-- creates: sites before their devices (else the foreign key would fail)
SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins')->'summary' AS summary;
SELECT * FROM pg_temp.target();
SELECT diffsync.diff_summary('inv_site', 'mon_site');

-- a device moving to another site is an update of its site attribute
UPDATE regress_inv_device SET site = 'sfo' WHERE name = 'nyc-s1';
SELECT model, key, action, changes FROM diffsync.diff('inv_site', 'mon_site') ORDER BY model DESC, key;
SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins')->'summary' AS summary;
SELECT * FROM pg_temp.target();

-- a site closed with its devices: devices deleted before the site
-- (ON DELETE RESTRICT would reject the other order)
DELETE FROM regress_inv_device WHERE site = 'atl';
DELETE FROM regress_inv_site WHERE name = 'atl';
SELECT diffsync.diff_text('inv_site', 'mon_site');
SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins')->'summary' AS summary;
SELECT * FROM pg_temp.target();

-- skip_unmatched_dst: a site and device known only to the target stay
INSERT INTO regress_mon_site VALUES ('lab', 'none');
INSERT INTO regress_mon_device VALUES ('lab-r1', 'lab', 'router', 'SN90');
SELECT diffsync.diff_summary('inv_site', 'mon_site', '{"skip_unmatched_dst": true}');
SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins', '{"skip_unmatched_dst": true}')->'summary' AS summary;
SELECT * FROM pg_temp.target();
-- skip_unmatched_src: a new site and device of the source are not created,
-- but the target-only ones are deleted (device first)
INSERT INTO regress_inv_site VALUES ('bos', 'east');
INSERT INTO regress_inv_device VALUES ('bos-r1', 'bos', 'router', 'SN40');
SELECT diffsync.diff_summary('inv_site', 'mon_site', '{"skip_unmatched_src": true}');
SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins', '{"skip_unmatched_src": true}')->'summary' AS summary;
SELECT * FROM pg_temp.target();

-- target_to_source on the hierarchy: the source loses bos, device first
-- (the source's foreign key is ON DELETE RESTRICT too); rolled back
BEGIN;
SELECT diffsync.sync('inv_site', 'mon_site', 'target_to_source', 'source_wins')->'summary'->'source' AS source_writes;
SELECT * FROM pg_temp.source();
ROLLBACK;

-- without continue_on_failure a failing row aborts the whole sync: nothing
-- is written (the CHECK constraint of the target rejects serial 'XX41')
INSERT INTO regress_inv_device VALUES ('bos-r2', 'bos', 'router', 'XX41');
SELECT pg_temp.err($$SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins')$$);
SELECT * FROM pg_temp.target();

-- continue_on_failure: failing rows are reported, the rest is applied
UPDATE regress_inv_device SET serial = 'bad' WHERE name = 'nyc-r1';
INSERT INTO regress_inv_device VALUES ('sfo-r2', 'sfo', 'router', 'SN31');
CREATE TEMP TABLE run1 AS
SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins', '{"continue_on_failure": true}') r;
SELECT r->'success' AS success, r->>'error' AS error, r->'summary' AS summary FROM run1;
SELECT f->>'action' AS action, f->'row' AS row, f->>'sqlstate' AS sqlstate, f->>'error' AS error
  FROM run1, jsonb_array_elements(r->'failures') f ORDER BY f->'row'->>'name';
SELECT * FROM pg_temp.target();
-- the run is recorded as failed in diffsync.syncs
SELECT s.result->'success' AS success, s.result->'summary'->'failed' AS failed
  FROM diffsync.syncs s, run1 WHERE s.sync_id = (run1.r->>'sync_id')::bigint;
-- a second run with the same data fails on the same rows only
CREATE TEMP TABLE run2 AS
SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins', '{"continue_on_failure": true}') r;
SELECT r->'success' AS success, r->'summary'->'failed' AS failed, r->'summary'->'target' AS target FROM run2;
SELECT f->>'action' AS action, f->'row'->>'name' AS name, f->>'sqlstate' AS sqlstate
  FROM run2, jsonb_array_elements(r->'failures') f ORDER BY 2;
-- fix the data: the next sync converges
UPDATE regress_inv_device SET serial = 'SN41' WHERE name = 'bos-r2';
UPDATE regress_inv_device SET serial = 'SN22' WHERE name = 'nyc-r1';
SELECT r->'success' AS success, r->'error' AS error, r->'summary' AS summary
  FROM (SELECT diffsync.sync('inv_site', 'mon_site', 'source_to_target', 'source_wins', '{"continue_on_failure": true}') r) x;
SELECT * FROM pg_temp.target();
SELECT diffsync.diff_summary('inv_site', 'mon_site');
SELECT diffsync.diff_text('inv_site', 'mon_site');

-- bidirectional on the hierarchy: a target-only site with a device is
-- created in the source, parent first (the source has a foreign key too)
INSERT INTO regress_mon_site VALUES ('mia', 'south');
INSERT INTO regress_mon_device VALUES ('mia-r1', 'mia', 'router', 'SN50');
SELECT diffsync.sync('inv_site', 'mon_site', 'bidirectional', 'source_wins')->'summary' AS summary;
SELECT * FROM pg_temp.source();
SELECT diffsync.diff_summary('inv_site', 'mon_site');

-- adapters with children cannot be dropped before them
SELECT pg_temp.err($$SELECT diffsync.drop_adapter('inv_site')$$);
SELECT diffsync.drop_adapter('inv_rack');
SELECT diffsync.drop_adapter('inv_device');
SELECT diffsync.drop_adapter('inv_site');

DROP EXTENSION diffsync;
DROP TABLE regress_inv_rack, regress_inv_device, regress_inv_site, regress_mon_device, regress_mon_site;
