#!/bin/sh
# test/bench/run_jsonb_bench.sh -- run the jsonb diff/patch benchmark
#
# Uses an existing server: the connection comes from the usual libpq
# environment (PGHOST, PGPORT, PGUSER, ...); nothing is started here.
# diffsync must be installed in that server (make install).
#
# Creates the scratch database diffsync_bench (dropped first if it exists),
# runs CREATE EXTENSION diffsync, loads baselines_jsonb.sql, runs
# jsonb_bench.sql and prints its result table.  The database is dropped
# afterwards unless BENCH_KEEP=1 (handy for profiling).
#
#   BENCH_REPS=N    repetitions per timing (default 5; each figure is a median)
#   BENCH_KEEP=1    keep the diffsync_bench database
#   BENCH_DB=name   scratch database name (default diffsync_bench)
#
# Read ratios from one run only: the machines are shared and noisy.
# Peak-memory figures need a superuser (they read /proc/self/status through
# pg_read_file); otherwise they print n/a.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
db=${BENCH_DB:-diffsync_bench}
reps=${BENCH_REPS:-5}

psql_admin() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}

psql_admin -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
if [ "${BENCH_KEEP:-0}" != 1 ]; then
	trap 'psql_admin -c "DROP DATABASE IF EXISTS \"$db\"" || true' EXIT
fi

PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
		-c "CREATE EXTENSION diffsync" \
		-f "$here/baselines_jsonb.sql"

psql -X -q -v ON_ERROR_STOP=1 -v reps="$reps" -d "$db" -f "$here/jsonb_bench.sql"
