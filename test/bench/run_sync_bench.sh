#!/bin/sh
# test/bench/run_sync_bench.sh -- run the table diff / sync benchmark
#
# Uses an existing server: the connection comes from the usual libpq
# environment (PGHOST, PGPORT, PGUSER, ...); nothing is started here.
# diffsync must be installed in that server (make install), the server
# should run with track_commit_timestamp = on (the engine case uses
# last_update_wins on commit timestamps), and the user must be a superuser
# (peak memory is read from /proc/self/status through pg_read_file).
#
# Creates the scratch database diffsync_bench_sync (dropped first if it
# exists), generates the data once (sync_bench.sql, phase "setup"), then
# runs BENCH_REPS repetitions.  Every measurement runs in a psql session
# of its own, so in a backend of its own; the order of the contenders
# alternates between repetitions.  Finally it prints the result tables
# (phase "report").  The database is dropped afterwards unless BENCH_KEEP=1.
#
#   BENCH_REPS=N            repetitions (default 3; each figure is a median)
#   BENCH_KEEP=1            keep the database (for EXPLAIN, perf, ...)
#   BENCH_DB=name           scratch database name (default diffsync_bench_sync)
#   BENCH_SYNC_OPTIONS=json options passed to diffsync.sync and
#                           diffsync.sync_engine (default {})
#
# A phase that fails (an error, or a crashed backend) is recorded with its
# message and shown by the report as ERROR; the other phases still run.
# Read ratios from one run only: the machines are shared and noisy.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
db=${BENCH_DB:-diffsync_bench_sync}
reps=${BENCH_REPS:-3}
sync_options=${BENCH_SYNC_OPTIONS:-"{}"}
errlog=$(mktemp)

psql_admin() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}

cleanup() {
	rm -f "$errlog"
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		psql_admin -c "DROP DATABASE IF EXISTS \"$db\"" || true
	fi
}

# Wait until the server accepts connections again (after a crash it
# restarts and runs recovery).
wait_ready() {
	n=0
	until psql -X -q -d "$db" -c "SELECT 1" >/dev/null 2>&1; do
		n=$((n + 1))
		if [ "$n" -ge 120 ]; then
			echo "server did not come back" >&2
			exit 1
		fi
		sleep 1
	done
}

# Run one phase of sync_bench.sql: phase rep
phase() {
	PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
		psql -X -q -v ON_ERROR_STOP=1 -v phase="$1" -v rep="$2" \
			-v sync_options="$sync_options" -d "$db" -f "$here/sync_bench.sql"
}

# Run a measured phase; on failure record the error and go on.
measured() {
	echo "== repetition $2: $1"
	if ! phase "$1" "$2" 2>"$errlog"; then
		cat "$errlog" >&2
		wait_ready
		msg=$(grep -E 'ERROR|FATAL|PANIC|server closed|connection to server' "$errlog" | head -3 | tr '\n' ' ')
		[ -n "$msg" ] || msg="psql failed (see the server log)"
		# (variables are not interpolated in -c commands: feed stdin)
		echo "INSERT INTO bench.errors (rep, phase, message) VALUES (:r, :'p', :'m');" |
			psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v p="$1" -v r="$2" -v m="$msg" ||
			echo "could not record the failure of phase $1" >&2
	else
		cat "$errlog" >&2
	fi
}

psql_admin -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
trap cleanup EXIT

PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION diffsync"
echo "== generating data"
phase setup 0

rep=1
while [ "$rep" -le "$reps" ]; do
	if [ $((rep % 2)) -eq 1 ]; then
		order="diff_ds diff_hand diff_bare sync_ds sync_nohist sync_hand engine"
	else
		order="diff_hand diff_bare diff_ds sync_hand sync_nohist sync_ds engine"
	fi
	for p in $order; do
		measured "$p" "$rep"
	done
	rep=$((rep + 1))
done

phase report 0
