#!/usr/bin/env bash
# scripts/setup.sh -- install what diffsync needs, then build and install it
#
# Installs the missing Debian packages (PostgreSQL 15 server and headers,
# pgTAP, pg_prove, IPC::Run for the Perl TAP tests, a C toolchain), then runs
# "make" and "make install" against PostgreSQL 15.  Safe to run again: it
# installs nothing that is there and make rebuilds only what changed.
# Package installs and "make install" need root (or sudo).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PACKAGES=(
	postgresql-15
	postgresql-server-dev-15
	postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	libdbd-pg-perl
	build-essential
	make
	gcc
)

# pkg_installed NAME: true when the Debian package NAME is installed.
pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# install_packages NAME...: apt-get install the given packages, quietly;
# the apt output is shown only if it fails.  When PostgreSQL is installed for
# the first time, Debian would create and start a "main" cluster on port
# 5432; a createcluster.d drop-in turns that off for the install.
install_packages() {
	local log dropin=/etc/postgresql-common/createcluster.d/diffsync-setup.conf

	log=$(mktemp "${TMPDIR:-/tmp}/diffsync-apt.XXXXXX")
	ds_log "installing: $*"
	if ! pkg_installed postgresql-15; then
		ds_as_root mkdir -p "$(dirname "$dropin")"
		printf 'create_main_cluster = false\n' | ds_as_root tee "$dropin" >/dev/null
	fi
	if ! { ds_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		ds_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "$@"; } </dev/null >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		ds_as_root rm -f "$dropin"
		rm -f "$log"
		ds_die "apt-get failed (output above)"
	fi
	ds_as_root rm -f "$dropin"
	rm -f "$log"
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	pkg_installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	install_packages "${missing[@]}"
fi

[ -x "$PG_CONFIG" ] || ds_die "$PG_CONFIG not found after installing packages"

jobs=$(nproc 2>/dev/null || echo 1)
make -s -C "$DIFFSYNC_REPO" -j"$jobs" PG_CONFIG="$PG_CONFIG" ||
	ds_die "build failed"
ds_as_root make -s -C "$DIFFSYNC_REPO" PG_CONFIG="$PG_CONFIG" install ||
	ds_die "make install failed"
ds_log "built and installed into $("$PG_CONFIG" --pkglibdir)"
