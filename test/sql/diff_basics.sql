--
-- diff_basics: diffsync.diff, diff_summary and diff_text between two
-- differently shaped tables: column renames, skip_unmatched_src/dst,
-- attributes subset, where, log_unchanged, jsonb changes with an RFC 6902
-- patch, the path option, and the diff errors.
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

-- the same model (id, title, qty, doc) stored under different column names
CREATE TABLE regress_src (id int PRIMARY KEY, title text, qty int, doc jsonb, extra text);
CREATE TABLE regress_dst (ident int PRIMARY KEY, label text, amount int, body jsonb);
INSERT INTO regress_src VALUES
    (1, 'one', 1, '{"a": 1, "tags": ["x"]}', 'e1'),
    (2, 'two', 2, '{"a": 2}', 'e2'),
    (3, 'three', 3, '{"a": 3, "meta": {"v": 1, "w": 1}}', 'e3'),
    (4, 'four', 4, NULL, 'e4');
INSERT INTO regress_dst VALUES
    (1, 'one', 1, '{"a": 1, "tags": ["x"]}'),          -- unchanged
    (2, 'TWO', 20, '{"a": 2}'),                        -- title, qty differ
    (3, 'three', 3, '{"a": 3, "meta": {"v": 2, "w": 1}, "old": true}'),  -- doc differs
    (5, 'five', 5, '{}');                              -- only in target
SELECT diffsync.create_adapter('src', 'regress_src', '{id}');
SELECT diffsync.create_adapter('dst', 'regress_dst', '{id}',
    columns => '{"id": "ident", "title": "label", "qty": "amount", "doc": "body"}');

-- compared attributes are those both adapters have: extra is ignored
SELECT model, key, action, source, target, changes
  FROM diffsync.diff('src', 'dst') ORDER BY key;
SELECT diffsync.diff_summary('src', 'dst');
SELECT diffsync.diff_text('src', 'dst');

-- the patch of a jsonb change turns the target value into the source value
SELECT key, diffsync.jsonb_patch(t.target->'doc', t.changes->'doc'->'patch') = t.source->'doc' AS patch_ok
  FROM diffsync.diff('src', 'dst') t WHERE t.changes ? 'doc' ORDER BY key;

-- log_unchanged reports unchanged rows too
SELECT key, action, changes FROM diffsync.diff('src', 'dst', '{"log_unchanged": true}') ORDER BY key;
SELECT diffsync.diff_summary('src', 'dst', '{"log_unchanged": true}');

-- skip_unmatched_src: rows only in the source are not reported, counted skip
SELECT key, action FROM diffsync.diff('src', 'dst', '{"skip_unmatched_src": true}') ORDER BY key;
SELECT diffsync.diff_summary('src', 'dst', '{"skip_unmatched_src": true}');
-- skip_unmatched_dst: rows only in the target likewise
SELECT key, action FROM diffsync.diff('src', 'dst', '{"skip_unmatched_dst": true}') ORDER BY key;
SELECT diffsync.diff_summary('src', 'dst', '{"skip_unmatched_dst": true}');
SELECT diffsync.diff_summary('src', 'dst', '{"skip_unmatched_src": true, "skip_unmatched_dst": true}');

-- attributes: compare only a subset (row 3 differs only in doc)
SELECT key, action, source, target, changes
  FROM diffsync.diff('src', 'dst', '{"attributes": ["title", "qty"]}') ORDER BY key;
SELECT diffsync.diff_summary('src', 'dst', '{"attributes": ["title"]}');

-- where: an expression over model field names, applied to both sides
SELECT key, action FROM diffsync.diff('src', 'dst', '{"where": "id >= 3"}') ORDER BY key;
SELECT diffsync.diff_summary('src', 'dst', '{"where": "qty < 4"}');

-- path: compare only one section of a jsonb attribute; the old key and the
-- other attributes are out of sight
SELECT key, action, source, target, changes
  FROM diffsync.diff('src', 'dst', '{"path": "/doc/meta"}') ORDER BY key;
UPDATE regress_dst SET body = '{"a": 3, "meta": {"v": 1, "w": 1}, "old": true}' WHERE ident = 3;
SELECT diffsync.diff_summary('src', 'dst', '{"path": "/doc/meta"}');
SELECT diffsync.diff_text('src', 'dst', '{"path": "/doc/meta"}');

-- identical tables: no differences
CREATE TABLE regress_copy (id int PRIMARY KEY, title text, qty int, doc jsonb);
INSERT INTO regress_copy SELECT id, title, qty, doc FROM regress_src;
SELECT diffsync.create_adapter('copy', 'regress_copy', '{id}');
SELECT count(*) FROM diffsync.diff('src', 'copy');
SELECT diffsync.diff_summary('src', 'copy');
SELECT diffsync.diff_text('src', 'copy');

-- option errors
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('src', 'dst', '{"bogus": 1}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('src', 'dst', '{"attributes": ["extra"]}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('src', 'dst', '{"attributes": ["nosuch"]}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('src', 'dst', '{"path": "/title/x"}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('src', 'dst', '{"path": "/extra/x"}')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('nosuch', 'dst')$$);
SELECT pg_temp.err($$SELECT diffsync.diff_summary('src', 'nosuch')$$);
SELECT pg_temp.err($$SELECT diffsync.diff_text('src', 'dst', '{"bogus": 1}')$$);

-- different identifier names -> 22023
CREATE TABLE regress_other (code int PRIMARY KEY, title text);
SELECT diffsync.create_adapter('other', 'regress_other', '{code}');
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('src', 'other')$$);

-- type mismatch of a compared field -> 42804
CREATE TABLE regress_typed (id int PRIMARY KEY, title text, qty text);
SELECT diffsync.create_adapter('typed', 'regress_typed', '{id}');
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('src', 'typed')$$);
-- ... but fine when the mismatching attribute is not compared
SELECT diffsync.diff_summary('src', 'typed', '{"attributes": ["title"]}');

-- a view without a unique index: NULL identifiers -> 22004, duplicate
-- identifiers -> 23505
CREATE TABLE regress_raw (id int, title text);
CREATE VIEW regress_raw_v AS SELECT id, title FROM regress_raw;
SELECT diffsync.create_adapter('raw', 'regress_raw_v', '{id}');
INSERT INTO regress_raw VALUES (1, 'one'), (NULL, 'nobody');
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('raw', 'src')$$);
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('src', 'raw')$$);
DELETE FROM regress_raw WHERE id IS NULL;
INSERT INTO regress_raw VALUES (2, 'two'), (2, 'deux');
SELECT pg_temp.err($$SELECT * FROM diffsync.diff('raw', 'src')$$);
SELECT pg_temp.err($$SELECT diffsync.diff_summary('src', 'raw')$$);
DELETE FROM regress_raw WHERE title = 'deux';
SELECT key, action, changes FROM diffsync.diff('raw', 'src', '{"attributes": ["title"]}') ORDER BY key;

DROP EXTENSION diffsync;
DROP VIEW regress_raw_v;
DROP TABLE regress_src, regress_dst, regress_copy, regress_other, regress_typed, regress_raw;
