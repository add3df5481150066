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
NETNS=""

cleanup() {
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null || true
	done
	# The test's own namespaces: what still runs in them was started by the test.
	for n in $NETNS; do
		for p in $(ip netns pids "$n" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null || true
		done
		ip netns del "$n" 2>/dev/null || true
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

# need_cmd CMD...: skips unless every command is installed.
need_cmd() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# Debian's python3 starts in 20 ms; a python3 found first on PATH may be a slow shim.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# spawn CMD...: runs CMD in the background, killed by the cleanup; sets BPID.
spawn() {
	"$@" &
	BPID=$!
	PIDS="$PIDS $BPID"
}

# netns_add NAME...: new network namespaces with lo up, deleted (and what runs in them
# killed) by the cleanup. Names must be unique to the test: put $$ in them.
netns_add() {
	for n in "$@"; do
		ip netns add "$n" || skip "cannot create network namespace $n"
		NETNS="$NETNS $n"
		ip -n "$n" link set lo up
	done
}

# veth NS1 IF1 NS2 IF2: a veth pair from IF1 in NS1 to IF2 in NS2, both up. It is created
# inside NS1, so the host's own interfaces are never involved.
veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || fail "veth $2 -- $4"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# conntrack_on NS...: a netfilter rule that uses conntrack in each namespace (the kernel
# tracks connections in a namespace only once a rule there does), on input and output.
conntrack_on() {
	for n in "$@"; do
		ip netns exec "$n" nft -f - <<'EOF' || fail "nft ruleset in $n"
table inet nrtest {
	chain in {
		type filter hook input priority 0;
		ct state new counter
	}
	chain out {
		type filter hook output priority 0;
		ct state new counter
	}
}
EOF
	done
}

# netns_inode NAME: the namespace's inode, as the store's netns columns hold it.
netns_inode() {
	stat -L -c %i "/run/netns/$1"
}

# wait_until SECONDS WHAT CMD...: runs CMD every 0.1 s until it succeeds; fails on timeout.
wait_until() {
	_wt=$1
	_ww=$2
	shift 2
	_wend=$(($(date +%s) + _wt))
	until "$@"; do
		[ "$(date +%s)" -lt "$_wend" ] || fail "timed out after $_wt s waiting for $_ww"
		sleep 0.1
	done
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
