#!/usr/bin/env bash
# test/bench/run_live_bench.sh -- the live reconciliation benchmark.
# Connects with PGHOST/PGPORT/PGUSER (a superuser on a cluster with
# track_commit_timestamp = on), uses a scratch database, prints ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
db=${BENCH_DB:-diffsync_bench_live}
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -d "$db" -f "$here/live_bench.sql"
[ -n "${BENCH_KEEP:-}" ] || psql -X -q -d postgres -c "DROP DATABASE $db"
