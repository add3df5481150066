# SPDX-License-Identifier: MIT
# Shared by the integration tests: a private temp dir, cleanup of what the test started
# (by PID, never by name), root checks that skip with a reason, and small assertions.
# Meson treats exit status 77 as "skipped".

set -eu

BUILD=${NETREC_BUILD:?NETREC_BUILD must point at the build directory}
NETRECD="$BUILD/netrecd"
NETREC="$BUILD/netrec"
T=$(mktemp -d "${TMPDIR:-/tmp}/netrec-test.XXXXXX")
chmod 755 "$T"
PIDS=""

cleanup() {
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for m in ${MOUNTS:-}; do
		umount "$m" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok: $*"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root ($1)"
}

# start_recorder LOG ARGS...: starts netrecd in the background, sets RPID.
start_recorder() {
	log=$1
	shift
	"$NETRECD" "$@" 2>"$log" &
	RPID=$!
	PIDS="$PIDS $RPID"
}

# wait_exit PID SECONDS: waits for PID to exit, returns its status; fails on timeout.
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $(($2 * 20)) ] || fail "pid $1 still running after $2 s"
		sleep 0.05
	done
	st=0
	wait "$1" || st=$?
	return "$st"
}

# q SQL...: one value from netrec (csv, no header).
q() {
	"$NETREC" -f csv --no-header "$@" | tr -d '\r'
}

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
	ok "$3 = $1"
}

# produced LOG TABLE: the count the synthetic source reported for TABLE.
produced() {
	sed -n "s/.*synthetic: produced.* $2=\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

# integrity DIR: every partition passes PRAGMA integrity_check.
integrity_all() {
	n=0
	for f in "$1"/*.db; do
		[ -e "$f" ] || continue
		r=$(sqlite3 "file:$f?mode=ro" "PRAGMA integrity_check" 2>&1)
		[ "$r" = ok ] || fail "integrity_check of $f: $r"
		n=$((n + 1))
	done
	ok "integrity_check passed on $n partitions"
}
