#!/usr/bin/env bash
# scripts/demo.sh -- build diffsync and show what it does
#
# Installs what is missing (scripts/setup.sh), starts a throwaway cluster
# (scripts/cluster.sh), runs demo/demo.sql in it with psql and removes the
# cluster again, whatever happens.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

cluster_dir=

# cleanup: stop and remove the cluster, if one was started.
cleanup() {
	if [ -n "$cluster_dir" ]; then
		bash "$DIFFSYNC_SCRIPTS/cluster.sh" stop "$cluster_dir" || true
		cluster_dir=
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$DIFFSYNC_SCRIPTS/setup.sh"

envfile=$(bash "$DIFFSYNC_SCRIPTS/cluster.sh" start)
cluster_dir=$(dirname "$envfile")
# shellcheck source=/dev/null
. "$envfile"

"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off \
	-f "$DIFFSYNC_REPO/demo/demo.sql" </dev/null
