#!/usr/bin/env bash
# scripts/cluster.sh -- start and stop a throwaway PostgreSQL 15 cluster
#
# usage: scripts/cluster.sh start        start a cluster; prints the path of
#                                         an env file to source
#        scripts/cluster.sh stop [DIR]   stop the cluster in DIR (default
#                                         $DIFFSYNC_CLUSTER_DIR) and remove DIR
#
# The cluster lives in a fresh directory under ${TMPDIR:-/tmp}: data/,
# socket/ (the only way in: no TCP), postgresql.log.  Port: $DIFFSYNC_PGPORT
# (default 54329); with a private socket directory it cannot collide with
# another cluster.  Run as root, the server runs as the "postgres" OS user.
# The env file exports PGHOST, PGPORT, PGUSER, PGDATABASE and
# DIFFSYNC_CLUSTER_DIR.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MARKER=.diffsync-cluster

# cluster_pg_ctl DIR ARGS...: pg_ctl on the cluster in DIR, as its owner.
cluster_pg_ctl() {
	local dir=$1
	shift
	ds_as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -s "$@"
}

# cluster_remove DIR: stop the server in DIR if it runs, then delete DIR.
cluster_remove() {
	local dir=$1 pid
	if [ -f "$dir/data/postmaster.pid" ]; then
		cluster_pg_ctl "$dir" -m fast -w -t 60 stop 2>/dev/null ||
			cluster_pg_ctl "$dir" -m immediate -w -t 30 stop 2>/dev/null || true
	fi
	if [ -f "$dir/data/postmaster.pid" ]; then
		pid=$(head -n 1 "$dir/data/postmaster.pid")
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			ds_log "server $pid did not stop; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 1
		fi
	fi
	rm -rf -- "$dir"
}

# cluster_start: create, configure and start a cluster; print the env file.
cluster_start() {
	local base dir port sockdir

	[ -x "$PG_BINDIR/initdb" ] ||
		ds_die "PostgreSQL 15 server not found in $PG_BINDIR (run: bash scripts/setup.sh)"
	if ds_is_root; then
		id postgres >/dev/null 2>&1 || ds_die "no \"postgres\" OS user to run the server as"
	fi
	port=${DIFFSYNC_PGPORT:-54329}
	case $port in
	'' | *[!0-9]*) ds_die "DIFFSYNC_PGPORT must be a port number, not \"$port\"" ;;
	esac

	base=${TMPDIR:-/tmp}
	dir=$(mktemp -d "$base/diffsync-pg.XXXXXX")
	# From here on, anything that fails removes the half-made cluster.
	# shellcheck disable=SC2064
	trap "[ \$? -eq 0 ] || cluster_remove '$dir'" EXIT
	: >"$dir/$MARKER"
	sockdir="$dir/socket"
	mkdir "$sockdir"
	if ds_is_root; then
		chown -R postgres: "$dir"
		ds_as_pg test -w "$dir" ||
			ds_die "user postgres cannot reach $dir: point TMPDIR at a directory every user can enter"
	fi

	if ! ds_as_pg "$PG_BINDIR/initdb" -D "$dir/data" -U postgres -A trust \
		-E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		ds_die "initdb failed"
	fi

	# Single quotes in the path are doubled for the configuration syntax.
	cat >>"$dir/data/postgresql.conf" <<EOF

# diffsync throwaway cluster (scripts/cluster.sh)
port = $port
listen_addresses = ''
unix_socket_directories = '${sockdir//\'/\'\'}'
track_commit_timestamp = on
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

	if ! cluster_pg_ctl "$dir" -l "$dir/postgresql.log" -w -t 60 start; then
		tail -n 30 "$dir/postgresql.log" >&2 || true
		ds_die "the server did not start (log above)"
	fi

	{
		printf '# diffsync throwaway cluster: source this file\n'
		printf 'export PGHOST=%q\n' "$sockdir"
		printf 'export PGPORT=%q\n' "$port"
		printf 'export PGUSER=postgres\n'
		printf 'export PGDATABASE=postgres\n'
		printf 'export DIFFSYNC_CLUSTER_DIR=%q\n' "$dir"
	} >"$dir/env.sh"
	printf '%s\n' "$dir/env.sh"
}

# cluster_stop DIR: stop and remove a cluster made by cluster_start.
cluster_stop() {
	local dir=${1:-${DIFFSYNC_CLUSTER_DIR:-}}

	[ -n "$dir" ] || ds_die "usage: $0 stop DIR (or set DIFFSYNC_CLUSTER_DIR)"
	# Accept the env file's path too.
	[ -f "$dir" ] && dir=$(dirname "$dir")
	[ -d "$dir" ] || ds_die "no such cluster directory: $dir"
	[ -f "$dir/$MARKER" ] || ds_die "$dir is not a cluster made by $0; not removing it"
	cluster_remove "$dir"
}

case ${1:-} in
start)
	[ $# -eq 1 ] || ds_die "usage: $0 start"
	cluster_start
	;;
stop)
	[ $# -le 2 ] || ds_die "usage: $0 stop [DIR]"
	cluster_stop "${2:-}"
	;;
*)
	ds_die "usage: $0 start | stop [DIR]"
	;;
esac
