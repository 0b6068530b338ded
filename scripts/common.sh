# scripts/common.sh -- helpers shared by the diffsync scripts
#
# Sourced (never run) by setup.sh, cluster.sh, demo.sh and test.sh.  Sets
# DIFFSYNC_REPO (the repository root), PG_CONFIG and PG_BINDIR (PostgreSQL 15
# from Debian's packages; DIFFSYNC_PG_CONFIG overrides), and defines small
# helpers.  Messages go to stderr so that stdout stays free for results.
# shellcheck shell=bash disable=SC2034  # the variables are used by the sourcing scripts

DIFFSYNC_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIFFSYNC_SCRIPTS="$DIFFSYNC_REPO/scripts"
PG_CONFIG=${DIFFSYNC_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BINDIR=$(dirname "$PG_CONFIG")
if [ -x "$PG_CONFIG" ]; then
	PG_BINDIR=$("$PG_CONFIG" --bindir)
fi

# ds_log MESSAGE...: print a message on stderr.
ds_log() {
	printf 'diffsync: %s\n' "$*" >&2
}

# ds_die MESSAGE...: print an error on stderr and exit 1.
ds_die() {
	printf 'diffsync: error: %s\n' "$*" >&2
	exit 1
}

# ds_is_root: true when running as root.
ds_is_root() {
	[ "$(id -u)" -eq 0 ]
}

# ds_as_root CMD...: run a command as root (directly, or through sudo).
ds_as_root() {
	if ds_is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		ds_die "need root for: $* (run as root or install sudo)"
	fi
}

# ds_as_pg CMD...: run a command as the OS user that owns the throwaway
# clusters: "postgres" when we are root (the server refuses to run as root),
# the current user otherwise.  The environment is passed on.
ds_as_pg() {
	if ! ds_is_root; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u postgres -- "$@"
	else
		su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
	fi
}
