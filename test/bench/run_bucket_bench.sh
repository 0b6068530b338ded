#!/bin/sh
# test/bench/run_bucket_bench.sh -- checksum-bucket diff across servers
#
# Uses an existing server (PGHOST, PGPORT, PGUSER, ...; a superuser, with
# diffsync and postgres_fdw installed).  It creates two scratch databases:
# diffsync_bench_remote holds the "remote" table, diffsync_bench_bucket
# holds the local copy, with BENCH_DIFFS rows changed, deleted or added,
# and reaches the remote table through a postgres_fdw foreign table over a
# loopback connection (the same transport as a second server).
#
# Compares, in one run, on the same data:
#   full     diffsync.diff() without buckets: every remote row crosses
#   hand     the FULL JOIN a user writes by hand over the foreign table
#   buckets  diffsync.diff() with {"buckets": BENCH_BUCKETS}: per-bucket
#            checksums cross, then only the rows of differing buckets
# and prints for each the time (median of BENCH_REPS), the rows and the
# bytes (text format, as postgres_fdw transfers them) that crossed from the
# remote server, and checks that both diffs return the same rows.
#
#   BENCH_ROWS=N      remote rows (default 500000)
#   BENCH_DIFFS=N     differing rows (default 50)
#   BENCH_BUCKETS=N   buckets, a power of two (default 4096)
#   BENCH_REPS=N      repetitions (default 3)
#   BENCH_KEEP=1      keep the databases
set -eu

rows=${BENCH_ROWS:-500000}
diffs=${BENCH_DIFFS:-50}
buckets=${BENCH_BUCKETS:-4096}
reps=${BENCH_REPS:-3}
rdb=diffsync_bench_remote
ldb=diffsync_bench_bucket

psql_q() {
	db=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}

cleanup() {
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		psql_q postgres -c "DROP DATABASE IF EXISTS $ldb" -c "DROP DATABASE IF EXISTS $rdb" || true
	fi
}
trap cleanup EXIT

psql_q postgres -c "DROP DATABASE IF EXISTS $ldb" -c "DROP DATABASE IF EXISTS $rdb" \
	-c "CREATE DATABASE $rdb" -c "CREATE DATABASE $ldb"

psql_q "$rdb" <<SQL
CREATE TABLE items (item_no integer PRIMARY KEY, title text, qty integer, doc jsonb);
INSERT INTO items
SELECT g, 'item ' || g, g % 1000,
       jsonb_build_object('color', 'c' || (g % 17), 'size', g % 41, 'tags', jsonb_build_array('a', g % 7))
FROM generate_series(1, $rows) g;
ANALYZE items;
SQL

host=${PGHOST:-/var/run/postgresql}
port=${PGPORT:-5432}
user=${PGUSER:-$(id -un)}
psql_q "$ldb" <<SQL
CREATE EXTENSION diffsync;
CREATE EXTENSION postgres_fdw;
CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$host', port '$port', dbname '$rdb');
CREATE USER MAPPING FOR CURRENT_USER SERVER remote;
CREATE FOREIGN TABLE ritems (item_no integer, title text, qty integer, doc jsonb)
    SERVER remote OPTIONS (table_name 'items');
CREATE TABLE litems (item_no integer PRIMARY KEY, title text, qty integer, doc jsonb);
INSERT INTO litems SELECT * FROM ritems;
-- BENCH_DIFFS differences: a third updated, a third deleted, a third new
UPDATE litems SET title = title || ' (local)'
 WHERE item_no IN (SELECT g * ($rows / $diffs) FROM generate_series(1, $diffs / 3) g);
DELETE FROM litems
 WHERE item_no IN (SELECT g * ($rows / $diffs) - 1 FROM generate_series(1, $diffs / 3) g);
INSERT INTO litems
SELECT $rows + g, 'new ' || g, 0, '{}' FROM generate_series(1, $diffs - 2 * ($diffs / 3)) g;
ANALYZE litems;
SELECT diffsync.create_adapter('litems', 'litems', '{item_no}', '{title,qty,doc}');
SELECT diffsync.create_adapter('ritems', 'ritems', '{item_no}', '{title,qty,doc}');
SQL

psql_q "$ldb" <<SQL
\set buckets $buckets
CREATE TEMP TABLE t(kind text, ms float8);
DO \$\$
DECLARE
	t0 timestamptz;
	n bigint;
	opt jsonb := jsonb_build_object('buckets', $buckets);
BEGIN
	FOR i IN 1 .. $reps LOOP
		t0 := clock_timestamp();
		SELECT count(*) INTO n FROM diffsync.diff('litems', 'ritems');
		INSERT INTO t VALUES ('full', 1000 * extract(epoch FROM clock_timestamp() - t0));
		t0 := clock_timestamp();
		SELECT count(*) INTO n
		  FROM litems l FULL JOIN ritems r ON l.item_no = r.item_no
		 WHERE l.item_no IS NULL OR r.item_no IS NULL
		    OR (l.title, l.qty, l.doc) IS DISTINCT FROM (r.title, r.qty, r.doc);
		INSERT INTO t VALUES ('hand', 1000 * extract(epoch FROM clock_timestamp() - t0));
		t0 := clock_timestamp();
		SELECT count(*) INTO n FROM diffsync.diff('litems', 'ritems', opt);
		INSERT INTO t VALUES ('buckets', 1000 * extract(epoch FROM clock_timestamp() - t0));
	END LOOP;
END
\$\$;

-- the same differences either way
SELECT CASE WHEN count(*) = 0 THEN 'PASS' ELSE 'FAIL' END AS same_rows
  FROM ((SELECT model, key, action, source, target, changes FROM diffsync.diff('litems', 'ritems')
         EXCEPT ALL
         SELECT model, key, action, source, target, changes
           FROM diffsync.diff('litems', 'ritems', jsonb_build_object('buckets', :buckets)))
        UNION ALL
        (SELECT model, key, action, source, target, changes
           FROM diffsync.diff('litems', 'ritems', jsonb_build_object('buckets', :buckets))
         EXCEPT ALL
         SELECT model, key, action, source, target, changes FROM diffsync.diff('litems', 'ritems'))) d
\gset
\echo same differences with and without buckets: :same_rows

-- What crosses from the remote server.  full: every row's four columns.
-- buckets: one checksum row per non-empty bucket, then the rows of the
-- buckets holding a differing key (the bucket of a key is
-- hashint4extended(item_no, 0) & (buckets - 1), as diffsync computes it).
CREATE TEMP TABLE xfer AS
WITH diff_buckets AS (
	SELECT DISTINCT hashint4extended((key->>'item_no')::int, 0) & (:buckets - 1) AS b
	  FROM diffsync.diff('litems', 'ritems')),
agg AS (
	SELECT hashint4extended(item_no, 0) & (:buckets - 1) AS b, count(*) AS n,
	       sum(hashint4extended(item_no, 0)) AS k,
	       sum(hashint4extended(item_no, 0) # hashtextextended(title, 1000)) AS a0,
	       sum(hashint4extended(item_no, 0) # hashint4extended(qty, 1001)) AS a1,
	       sum(hashint4extended(item_no, 0) # jsonb_hash_extended(doc, 1002)) AS a2
	  FROM ritems GROUP BY 1)
SELECT 'full' AS kind, count(*) AS rows_moved,
       sum(octet_length(item_no::text) + coalesce(octet_length(title), 0)
           + coalesce(octet_length(qty::text), 0) + coalesce(octet_length(doc::text), 0)) AS bytes_moved
  FROM ritems
UNION ALL
SELECT 'buckets',
       (SELECT count(*) FROM agg) + count(*),
       (SELECT sum(octet_length(b::text) + octet_length(n::text) + octet_length(k::text)
                   + octet_length(a0::text) + octet_length(a1::text) + octet_length(a2::text)) FROM agg)
       + coalesce(sum(octet_length(item_no::text) + coalesce(octet_length(title), 0)
           + coalesce(octet_length(qty::text), 0) + coalesce(octet_length(doc::text), 0)), 0)
  FROM ritems r
 WHERE hashint4extended(item_no, 0) & (:buckets - 1) IN (SELECT b FROM diff_buckets);

\echo
\echo $rows remote rows, $diffs differences, $buckets buckets
SELECT t.kind,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
       x.rows_moved, pg_size_pretty(x.bytes_moved::bigint) AS bytes_moved
  FROM t LEFT JOIN xfer x ON x.kind = CASE t.kind WHEN 'hand' THEN 'full' ELSE t.kind END
 GROUP BY t.kind, x.rows_moved, x.bytes_moved ORDER BY 2;
SELECT round((SELECT bytes_moved FROM xfer WHERE kind = 'full')
             / (SELECT bytes_moved FROM xfer WHERE kind = 'buckets'), 1) AS bytes_ratio_full_over_buckets,
       round((SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) FROM t WHERE kind = 'hand')::numeric
             / (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) FROM t WHERE kind = 'buckets')::numeric, 2)
           AS time_ratio_hand_over_buckets,
       (SELECT count(*) FROM diffsync.diff('litems', 'ritems')) AS differences;
SQL
