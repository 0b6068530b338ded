/* sql/diffsync--0.1.sql */

\echo Use "CREATE EXTENSION diffsync" to load this file. \quit

/*
 * jsonb diff core: RFC 6902 diff / apply, RFC 7396 merge patch, three-way
 * merge.  All of these are pure functions of their arguments, implemented
 * in C.
 */

CREATE FUNCTION @extschema@.jsonb_diff(source pg_catalog.jsonb,
                                       target pg_catalog.jsonb,
                                       options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_diff'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_diff(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
'RFC 6902 JSON Patch (array of operations) that turns source into target; options: arrays, array_key, moves, test_ops, path';

CREATE FUNCTION @extschema@.jsonb_changes(source pg_catalog.jsonb,
                                          target pg_catalog.jsonb,
                                          options pg_catalog.jsonb DEFAULT '{}',
                                          OUT op pg_catalog.text,
                                          OUT path pg_catalog.text,
                                          OUT path_array pg_catalog.text[],
                                          OUT old_value pg_catalog.jsonb,
                                          OUT new_value pg_catalog.jsonb)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'diffsync_jsonb_changes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION @extschema@.jsonb_changes(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
'the changes of jsonb_diff as rows: op, JSON pointer, unescaped path segments, old and new value (SQL NULL = absent)';

CREATE FUNCTION @extschema@.jsonb_patch(doc pg_catalog.jsonb,
                                        patch pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_patch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_patch(pg_catalog.jsonb, pg_catalog.jsonb) IS
'apply an RFC 6902 JSON Patch, all or nothing; any failing operation raises an error naming its index and path';

CREATE FUNCTION @extschema@.jsonb_merge_patch(doc pg_catalog.jsonb,
                                              patch pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_merge_patch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_merge_patch(pg_catalog.jsonb, pg_catalog.jsonb) IS
'apply an RFC 7396 JSON Merge Patch';

CREATE FUNCTION @extschema@.jsonb_merge_diff(source pg_catalog.jsonb,
                                             target pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_merge_diff'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_merge_diff(pg_catalog.jsonb, pg_catalog.jsonb) IS
'an RFC 7396 JSON Merge Patch that turns source into target; error when target needs a JSON null inside an object';

CREATE FUNCTION @extschema@.jsonb_merge3(base pg_catalog.jsonb,
                                         source pg_catalog.jsonb,
                                         target pg_catalog.jsonb,
                                         options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'diffsync_jsonb_merge3'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jsonb_merge3(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
'three-way merge of source and target against base: {"merged": ..., "conflicts": [...]}; options: strategy, source_ts, target_ts, resolver, arrays, array_key';
