#!/usr/bin/env bash
# scripts/test.sh -- build diffsync and run every test suite
#
# Installs what is missing and builds (scripts/setup.sh), starts a throwaway
# cluster (scripts/cluster.sh), then runs each suite that has tests, going on
# after a failing one:
#   pg_regress   "make installcheck" with REGRESS (test/sql/*.sql)
#   isolation    "make installcheck" with ISOLATION (specs/*.spec), if the
#                Makefile sets it
#   pgTAP        pg_prove over test/pgtap/*.sql in a scratch database
#   Perl TAP     test/t/*.pl through PGXS (TAP_TESTS); these start their own
#                clusters, so as root they run as the postgres OS user in a
#                copy of the tree
# SQL tests find the conformance data (../shared/conformance beside the
# repository) through $DIFFSYNC_CONFORMANCE, e.g. with psql's \getenv.
# The last line is "N passed, N failed", counting tests; the exit status is
# non-zero if anything failed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REPO=$DIFFSYNC_REPO
conformance="$REPO/../shared/conformance"
[ -d "$conformance" ] ||
	ds_die "conformance data not found at $conformance: the shared/ folder must sit beside the repository"
DIFFSYNC_CONFORMANCE=$(cd "$conformance" && pwd)
export DIFFSYNC_CONFORMANCE

work=
cluster_dir=
sandbox=

# cleanup: stop the cluster and remove temporary files (runs at exit, too).
cleanup() {
	if [ -n "$cluster_dir" ]; then
		bash "$DIFFSYNC_SCRIPTS/cluster.sh" stop "$cluster_dir" || true
		cluster_dir=
	fi
	if [ -n "$sandbox" ]; then
		rm -rf -- "$sandbox"
		sandbox=
	fi
	if [ -n "$work" ]; then
		rm -rf -- "$work"
		work=
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

total_passed=0
total_failed=0
failed_suites=()

# regress_counts LOG: "passed failed" summed over pg_regress and
# pg_isolation_regress summary lines in LOG.
regress_counts() {
	awk '
	/^ *All [0-9]+ tests passed\. *$/ { p += $2 }
	/^ *[0-9]+ of [0-9]+ tests failed\. *$/ { f += $1; p += $3 - $1 }
	/^ *[0-9]+ of [0-9]+ tests passed, [0-9]+ failed test\(s\) ignored\. *$/ { p += $3 }
	/^ *[0-9]+ of [0-9]+ tests failed, [0-9]+ of these failures ignored\. *$/ {
		f += $1 - $6; p += $3 - ($1 - $6)
	}
	END { print p + 0, f + 0 }' "$1"
}

# prove_counts LOG: "passed failed" from the output of prove or pg_prove.
# "Files=..., Tests=N" gives the tests run; each file in the Test Summary
# Report adds its failed tests, or 1 if it failed otherwise (died, bad plan).
prove_counts() {
	awk '
	/^Files=[0-9]+, Tests=[0-9]+/ {
		match($0, /Tests=[0-9]+/); t += substr($0, RSTART + 6, RLENGTH - 6)
	}
	/\(Wstat: [0-9]+.*Failed: [0-9]+\)/ {
		match($0, /Failed: [0-9]+\)/); n = substr($0, RSTART + 8, RLENGTH - 9) + 0
		match($0, /Wstat: [0-9]+/); w = substr($0, RSTART + 7, RLENGTH - 7) + 0
		real += n; f += n; pending = 0
		if (n == 0) { if (w != 0) f += 1; else pending = 1 }
	}
	/^ *Parse errors:/ { if (pending) { f += 1; pending = 0 } }
	END { p = t - real; if (p < 0) p = 0; print p, f + 0 }' "$1"
}

# record NAME PASSED FAILED STATUS: add a suite's result to the totals.  A
# suite that exited non-zero without a failed test counts one failure.
record() {
	local name=$1 passed=$2 failed=$3 status=$4
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	if [ "$failed" -ne 0 ]; then
		failed_suites+=("$name")
	fi
	printf -- '-- suite %s: passed %d, failed %d (exit status %d)\n' \
		"$name" "$passed" "$failed" "$status"
}

# make_var NAME: the value of a variable of the repository's Makefile.
make_var() {
	make -s --no-print-directory -C "$REPO" PG_CONFIG="$PG_CONFIG" \
		-f Makefile -f - diffsync-print-var VAR="$1" 2>/dev/null <<'EOF' || true
diffsync-print-var:
	@echo '$($(VAR))'
EOF
}

# run_installcheck NAME LOG-DIR: "make installcheck" for one pg_regress-style
# suite: NAME is pg_regress (REGRESS) or isolation (ISOLATION); the other
# suites are switched off on the command line, so that each suite runs even
# when another fails.  LOG-DIR is where pg_regress leaves regression.diffs.
run_installcheck() {
	local name=$1 outdir=$2 log="$work/$1.log" status=0 counts
	local -a off=(TAP_TESTS=)

	if [ "$name" = pg_regress ]; then
		off+=(ISOLATION=)
	else
		off+=(REGRESS=)
	fi
	printf '\n== %s: make installcheck\n' "$name"
	rm -f "$outdir/regression.diffs" "$outdir/regression.out"
	make -s --no-print-directory -C "$REPO" PG_CONFIG="$PG_CONFIG" "${off[@]}" \
		installcheck </dev/null 2>&1 | tee "$log" || status=$?
	counts=$(regress_counts "$log")
	if [ "$status" -ne 0 ] && [ -s "$outdir/regression.diffs" ]; then
		printf '\n== %s\n' "$outdir/regression.diffs"
		cat "$outdir/regression.diffs"
	fi
	# shellcheck disable=SC2086  # counts is "passed failed"
	record "$name" $counts "$status"
}

# run_pgtap: pg_prove over test/pgtap/*.sql in the scratch database
# diffsync_pgtap, which has pgtap installed; each file creates diffsync
# itself inside its own transaction.
run_pgtap() {
	local log="$work/pgtap.log" status=0 counts
	local -a files

	printf '\n== pgTAP: pg_prove test/pgtap/*.sql\n'
	files=(test/pgtap/*.sql)
	if ! "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c 'SET client_min_messages = warning' \
		-c 'DROP DATABASE IF EXISTS diffsync_pgtap' \
		-c 'CREATE DATABASE diffsync_pgtap' </dev/null ||
		! "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d diffsync_pgtap \
			-c 'CREATE EXTENSION pgtap' </dev/null; then
		record pgTAP 0 1 1
		return
	fi
	(cd "$REPO" && PATH="$PG_BINDIR:$PATH" pg_prove -d diffsync_pgtap \
		--failures "${files[@]}") </dev/null 2>&1 | tee "$log" || status=$?
	counts=$(prove_counts "$log")
	# shellcheck disable=SC2086
	record pgTAP $counts "$status"
}

# run_perl_tap: test/t/*.pl through PGXS's TAP support.  The tests run
# initdb, which refuses root: as root they run as postgres in a copy of the
# tree (with a copy of the conformance data that postgres can surely read).
run_perl_tap() {
	local log="$work/tap.log" status=0 counts dir conf tmp

	printf '\n== Perl TAP: make installcheck (TAP_TESTS) over test/t/*.pl\n'
	if ds_is_root; then
		sandbox=$(mktemp -d "${TMPDIR:-/tmp}/diffsync-tap.XXXXXX")
		dir="$sandbox/src"
		conf="$sandbox/conformance"
		tmp="$sandbox/tmp"
		mkdir "$dir" "$conf" "$tmp"
		tar -C "$REPO" --exclude=./.git --exclude=./results \
			--exclude=./tmp_check --exclude=./output_iso -cf - . | tar -C "$dir" -xf -
		cp -R "$DIFFSYNC_CONFORMANCE/." "$conf/"
		chown -R postgres: "$sandbox"
	else
		dir=$REPO
		conf=$DIFFSYNC_CONFORMANCE
		tmp="$work/tmp"
		mkdir -p "$tmp"
	fi
	# TAP_TESTS and PROVE_TESTS come from the environment, so that the
	# Makefile's own settings win; PG* variables of our cluster are dropped.
	ds_as_pg env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE \
		TAP_TESTS=1 PROVE_TESTS='test/t/*.pl' TMPDIR="$tmp" \
		DIFFSYNC_CONFORMANCE="$conf" PATH="$PG_BINDIR:$PATH" \
		make -s --no-print-directory -C "$dir" PG_CONFIG="$PG_CONFIG" \
		REGRESS= ISOLATION= installcheck </dev/null 2>&1 | tee "$log" || status=$?
	counts=$(prove_counts "$log")
	# The logs of the test files that failed, as named in prove's report.
	sed -n 's|^test/t/\([^ ]*\)\.pl  *(Wstat.*|\1|p' "$log" | while read -r f; do
		f="$dir/tmp_check/log/regress_log_$f"
		[ -f "$f" ] || continue
		printf '\n== %s (last 60 lines)\n' "${f#"$dir"/}"
		tail -n 60 "$f"
	done
	# shellcheck disable=SC2086
	record "Perl TAP" $counts "$status"
}

if ! bash "$DIFFSYNC_SCRIPTS/setup.sh"; then
	printf '\nsetup or build failed\n0 passed, 1 failed\n'
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/diffsync-test.XXXXXX")
envfile=$(bash "$DIFFSYNC_SCRIPTS/cluster.sh" start)
cluster_dir=$(dirname "$envfile")
# shellcheck source=/dev/null
. "$envfile"
export PATH="$PG_BINDIR:$PATH"

cd "$REPO"
shopt -s nullglob
if [ -n "$(make_var REGRESS)" ]; then
	run_installcheck pg_regress "$REPO"
fi
specs=(specs/*.spec)
if [ -n "$(make_var ISOLATION)" ]; then
	run_installcheck isolation "$REPO/output_iso"
elif [ ${#specs[@]} -gt 0 ]; then
	ds_log "warning: specs/*.spec exist but the Makefile does not set ISOLATION; they do not run"
fi
pgtap_files=(test/pgtap/*.sql)
if [ ${#pgtap_files[@]} -gt 0 ]; then
	run_pgtap
fi
tap_files=(test/t/*.pl)
if [ ${#tap_files[@]} -gt 0 ]; then
	run_perl_tap
fi
shopt -u nullglob

cleanup
printf '\n'
if [ ${#failed_suites[@]} -gt 0 ]; then
	printf 'failed suites: %s\n' "${failed_suites[*]}"
fi
if [ $((total_passed + total_failed)) -eq 0 ]; then
	ds_log "warning: no test ran"
fi
printf '%d passed, %d failed\n' "$total_passed" "$total_failed"
[ "$total_failed" -eq 0 ]
