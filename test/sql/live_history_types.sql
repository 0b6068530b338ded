--
-- live_history_types: a live statement's model rows, built in C for the
-- types the fast path handles (bool, int2/4/8, numeric, text, varchar,
-- jsonb, and domains over them), equal what the adapter reads the SQL way
-- (diffsync.load), to the text: edge values of each type, NULLs, JSON
-- null, jsonb scalars, unicode; and a type it does not handle (float8)
-- takes the SQL way with the same result.
--
CREATE EXTENSION diffsync;
SET client_min_messages = warning;
CREATE DOMAIN regress_positive AS int CHECK (VALUE > 0);

CREATE TABLE regress_ty_s (id int8 PRIMARY KEY, b bool, i2 int2, i4 int4, n numeric, t text,
                           vc varchar(20), j jsonb, d regress_positive);
CREATE TABLE regress_ty_t (LIKE regress_ty_s INCLUDING ALL);
SELECT diffsync.create_adapter('ty_s', 'regress_ty_s', '{id}');
SELECT diffsync.create_adapter('ty_t', 'regress_ty_t', '{id}');
SELECT diffsync.create_engine('ty', 'ty_s', 'ty_t', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.attach('ty');
INSERT INTO regress_ty_s VALUES
    (1, true, 32767, -2147483648, 1.50, 'plain', 'vc', '{"a": [1, 2.0, "x"]}', 1),
    (2, false, -32768, 2147483647, 'NaN', '', '', '"a string"', 2),
    (3, NULL, NULL, NULL, 'Infinity', NULL, NULL, NULL, NULL),
    (4, true, 0, 0, '-Infinity', 'quote " back \ tab 	 nl
 end', 'ünïcødé ✓', 'null', 3),
    (5, true, 1, 1, 0.000000000000000000001, 'x', 'y', '12.500', 4),
    (6, false, 2, 2, -0.0, 'é', 'z', 'true', 5),
    (9223372036854775807, true, 3, 3, 123456789012345678901234567890.123456789, 'big', 'b', '[]', 6),
    (-9223372036854775808, false, 4, 4, 1e-10, 'small', 's', '{}', 7);
-- every batched version's state is what load() reads, to the text
SELECT h.key, h.full_state::text = (l.key || l.attrs)::text AS same_text,
       h.full_state = (l.key || l.attrs) AS same_value
  FROM diffsync.history h JOIN diffsync.load('ty_s') l ON l.key = h.key
 WHERE h.adapter = 'ty_s' ORDER BY (h.key->>'id')::numeric;
-- updates: the patches and the versions of the other side too
UPDATE regress_ty_s SET n = n * 2, j = jsonb_build_object('v', id), t = t || '!' WHERE id IN (1, 4, 5);
UPDATE regress_ty_s SET b = b WHERE id = 6;
SELECT h.adapter, h.key, h.version, h.action, h.patch
  FROM diffsync.history h WHERE h.version > 1 ORDER BY h.adapter, (h.key->>'id')::numeric;
SELECT count(*) AS differing FROM diffsync.history h JOIN diffsync.load('ty_s') l ON l.key = h.key
 WHERE h.adapter = 'ty_s' AND h.version = (SELECT max(version) FROM diffsync.history y
                                            WHERE y.adapter = h.adapter AND y.key = h.key)
   AND h.full_state::text IS DISTINCT FROM (l.key || l.attrs)::text;
SELECT diffsync.diff_summary('ty_s', 'ty_t') AS sides;
SELECT diffsync.drop_engine('ty');

-- a float column: the SQL way, the same states
CREATE TABLE regress_fl_s (id int PRIMARY KEY, f float8);
CREATE TABLE regress_fl_t (id int PRIMARY KEY, f float8);
SELECT diffsync.create_adapter('fl_s', 'regress_fl_s', '{id}');
SELECT diffsync.create_adapter('fl_t', 'regress_fl_t', '{id}');
SELECT diffsync.create_engine('fl', 'fl_s', 'fl_t', 'source_to_target', 'source_wins', '{"notify": false}');
SELECT diffsync.attach('fl');
INSERT INTO regress_fl_s VALUES (1, 1.5), (2, 'NaN'), (3, '-Infinity'), (4, 1e300);
SELECT h.key, h.full_state::text = (l.key || l.attrs)::text AS same_text
  FROM diffsync.history h JOIN diffsync.load('fl_s') l ON l.key = h.key
 WHERE h.adapter = 'fl_s' ORDER BY h.key;
SELECT diffsync.drop_engine('fl');

DROP TABLE regress_ty_s, regress_ty_t, regress_fl_s, regress_fl_t;
DROP DOMAIN regress_positive;
DROP EXTENSION diffsync;
