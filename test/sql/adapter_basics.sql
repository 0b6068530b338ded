--
-- adapter_basics: row adapters (diffsync.create_adapter, diffsync.adapters,
-- diffsync.load, diffsync.drop_adapter): renames, read/write transforms,
-- filters, default attributes, updated_at, parent/parent_key, model names,
-- and every error with its SQLSTATE.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;

-- SQLSTATE and message of a failing statement ('ok' if it succeeds)
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

CREATE TABLE regress_product (
    id          int PRIMARY KEY,
    name        text NOT NULL,
    price_cents int,
    active      bool NOT NULL DEFAULT true,
    note        text,
    modified    timestamptz
);
INSERT INTO regress_product VALUES
    (1, 'apple', 150, true, 'red', '2024-01-01 10:00+00'),
    (2, 'pear', NULL, true, NULL, '2024-01-02 10:00+00'),
    (3, 'plum', 99, false, 'old', NULL);

-- default attributes: every column except the identifiers and updated_at,
-- named after the field that renames it; a read/write transform
SELECT diffsync.create_adapter('product', 'regress_product', '{id}',
    columns => '{"title": "name",
                 "price": {"column": "price_cents",
                           "read": "price_cents / 100.0",
                           "write": "(price * 100)::int"}}',
    updated_at => 'modified');
SELECT name, model, relation, identifiers, attributes, columns, filter,
       updated_at, parent, parent_key
  FROM diffsync.adapters ORDER BY name;
-- SQL NULL columns become JSON null; price is read through its expression;
-- updated_at comes from the modified column (NULL stays NULL)
SELECT key, attrs, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS updated_at
  FROM diffsync.load('product') ORDER BY key;

-- an explicit attribute subset, a filter (partial sync), a model name, and
-- the commit timestamp as default time
SELECT diffsync.create_adapter('active_product', 'regress_product', '{id}',
    attributes => '{title}', columns => '{"title": "name"}',
    filter => 'active AND price_cents IS NOT NULL', model => 'product');
SELECT name, model, identifiers, attributes, filter, updated_at
  FROM diffsync.adapters ORDER BY name;
SELECT key, attrs, updated_at IS NOT NULL AS has_commit_time
  FROM diffsync.load('active_product') ORDER BY key;

-- a read-only field (read without column): computed, never written
SELECT diffsync.create_adapter('product_label', 'regress_product', '{id}',
    attributes => '{label}',
    columns => '{"label": {"read": "upper(name) || '' #'' || id"}}');
SELECT key, attrs FROM diffsync.load('product_label') ORDER BY key;

-- a view has no commit timestamp: no time unless updated_at is given
CREATE VIEW regress_product_v AS SELECT id, name FROM regress_product;
SELECT diffsync.create_adapter('product_view', 'regress_product_v', '{id}');
SELECT name, attributes FROM diffsync.adapters
 WHERE name = 'product_view';
SELECT key, attrs, updated_at FROM diffsync.load('product_view') ORDER BY key;

-- composite identifiers with renames; parent / parent_key
CREATE TABLE regress_site (code text PRIMARY KEY, city text);
CREATE TABLE regress_device (site_code text, dev text, model text,
                             PRIMARY KEY (site_code, dev));
INSERT INTO regress_site VALUES ('nyc', 'New York'), ('sfo', 'San Francisco');
INSERT INTO regress_device VALUES ('nyc', 'r1', 'mx480'), ('sfo', 'r1', 'mx960');
SELECT diffsync.create_adapter('site', 'regress_site', '{name}',
    columns => '{"name": "code"}');
SELECT diffsync.create_adapter('device', 'regress_device', '{site,name}',
    columns => '{"site": "site_code", "name": "dev"}',
    parent => 'site', parent_key => '{"site": "name"}');
SELECT name, model, identifiers, attributes, parent, parent_key
  FROM diffsync.adapters WHERE name IN ('site', 'device') ORDER BY name;
SELECT key, attrs FROM diffsync.load('device') ORDER BY key;

-- the adapter cache follows the relation: renaming a mapped column breaks
-- the adapter at once (42703), renaming it back repairs it
ALTER TABLE regress_product RENAME COLUMN note TO remark;
SELECT pg_temp.err($$SELECT * FROM diffsync.load('product')$$);
ALTER TABLE regress_product RENAME COLUMN remark TO note;
UPDATE regress_product SET note = 'green' WHERE id = 1;
SELECT key, attrs FROM diffsync.load('product') WHERE key = '{"id": 1}';

-- the write expression turns the model price back into cents when a sync
-- writes through the adapter (only the attributes both adapters have, here
-- price, are compared and written)
CREATE TABLE regress_price (id int PRIMARY KEY, price numeric);
INSERT INTO regress_price VALUES (1, 2.25), (2, 0.5), (3, 0.99);
SELECT diffsync.create_adapter('price_list', 'regress_price', '{id}');
SELECT diffsync.sync('price_list', 'product', 'source_to_target', 'source_wins')->'summary'->'target' AS written;
SELECT id, name, price_cents, note FROM regress_product ORDER BY id;
-- a read-only field cannot be written
CREATE TABLE regress_labels (id int PRIMARY KEY, label text);
INSERT INTO regress_labels VALUES (1, 'x');
SELECT diffsync.create_adapter('labels', 'regress_labels', '{id}');
SELECT pg_temp.err($$SELECT diffsync.sync('labels', 'product_label', 'source_to_target', 'source_wins')$$);
SELECT diffsync.drop_adapter('labels');
SELECT diffsync.drop_adapter('price_list');

-- errors (each call uses a fresh name, so that a wrongly accepted call
-- cannot change the outcome of the next one)
SELECT pg_temp.err($$SELECT diffsync.create_adapter('product', 'regress_product', '{id}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e1', 'regress_product', '{id}', '{nosuch}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e2', 'regress_product', '{nosuch}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e3', 'regress_product', '{id}', '{t}', columns => '{"t": "nosuch"}')$$);
-- a rename onto a missing column is an error even with default attributes
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e4', 'regress_product', '{id}', columns => '{"t": "nosuch"}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e5', 'regress_product', '{id}', columns => '{"t": {"column": "name", "bogus": 1}}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e6', 'regress_product', '{id}', '{name,name}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e7', 'regress_product', '{id}', '{id}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e8', 'regress_product', '{id}', filter => 'true; DROP TABLE regress_product')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e9', 'regress_product', '{id}', filter => 'nosuch > 0')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e10', 'regress_product', '{id}', updated_at => 'nosuch')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e11', 'regress_product', '{id}', parent => 'nosuch', parent_key => '{"id": "name"}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e12', 'regress_device', '{site,name}', columns => '{"site": "site_code", "name": "dev"}', parent => 'site')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e13', 'regress_device', '{site,name}', columns => '{"site": "site_code", "name": "dev"}', parent => 'site', parent_key => '{"name": "city"}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e14', 'regress_product', '{id}', columns => '{"t": {"read": "nosuch + 1"}}', attributes => '{t}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter(NULL, 'regress_product', '{id}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e15', NULL, '{id}')$$);
SELECT pg_temp.err($$SELECT diffsync.create_adapter('e16', 'regress_product', NULL)$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.load('nosuch')$$);
SELECT pg_temp.err($$SELECT diffsync.drop_adapter('nosuch')$$);
-- a parent with children cannot be dropped
SELECT pg_temp.err($$SELECT diffsync.drop_adapter('site')$$);
-- nothing was registered by the failing calls
SELECT name FROM diffsync.adapters ORDER BY name;

-- drop_adapter; the adapter is gone for load()
SELECT diffsync.drop_adapter('device');
SELECT diffsync.drop_adapter('site');
SELECT diffsync.drop_adapter('product_label');
SELECT pg_temp.err($$SELECT * FROM diffsync.load('product_label')$$);
SELECT name FROM diffsync.adapters ORDER BY name;

DROP EXTENSION diffsync;
DROP VIEW regress_product_v;
DROP TABLE regress_product, regress_device, regress_site, regress_price, regress_labels;
