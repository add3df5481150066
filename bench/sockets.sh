#!/bin/bash
# SPDX-License-Identifier: MIT
# Sockets benchmark: what one sample of the socket source costs with 10,000 and 100,000 open
# TCP connections, against `ss -tin` and `ss -tinp` dumping the same sockets in the same run
# (the baseline: the same sock_diag dump, and for -p the same /proc walk), and whether netrecd
# keeps up, without loss, with all of them closing at once.
#
#   bench/sockets.sh [--counts "10000 100000"] [--samples N] [--build DIR] [--keep]
#
# Its own world, removed by the EXIT trap: namespaces nrbench-sk-PID-a (the clients, the one
# recorded) and -b (the servers), a veth pair (10.252.0.1, .2), per-namespace sysctls only
# (local port range, somaxconn). For each count N:
#   1. bench/sockhold.py opens N connections from -a to server ports in -b and holds them
#      (spread over processes of 15,000 connections at most: the descriptor limit);
#   2. baseline: `ss -tin` and `ss -tinp` in -a, 3 runs each (wall time and CPU, medians);
#   3. netrecd --sources sockets --netns A --sockets-interval 2s --log-level debug: its log
#      says each sample's duration; the first sample writes N 'open' rows and, since the
#      connections are older than netrecd, looks their process up in /proc; later ones
#      write no row (idle connections). netrecd's CPU (schedstat) over SAMPLES idle samples,
#      divided by their number, is the CPU of one idle sample;
#   4. the client closes all N at once (a burst of N destroy notifications for -a); netrecd
#      is stopped, and the store must hold N 'close' rows for -a's connections and no gaps
#      row: the close rate it kept up with is N over the time the client took to close them.
# Prints the figures and a summary line per N. Needs root, ip, ss, python3.
set -euo pipefail

BUILD=${BUILD:-$(dirname "$0")/../build}
COUNTS=${COUNTS:-"10000 100000"}
SAMPLES=${SAMPLES:-5}
KEEP=${KEEP:-0}
INTERVAL=2

while [ $# -gt 0 ]; do
	case $1 in
	--counts) COUNTS=$2; shift 2 ;;
	--samples) SAMPLES=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) sed -n '8p' "$0" | sed 's/^#  */usage: /'; exit 0 ;;
	*) echo "sockets.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

say() { echo "skbench: $*"; }
fail() { echo "skbench: error: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root"
NETRECD=$BUILD/netrecd
NETREC=$BUILD/netrec
[ -x "$NETRECD" ] || fail "$NETRECD is not built"
HOLD="$(dirname "$0")/sockhold.py"
WORK=$(mktemp -d /tmp/nrbench-sk.XXXXXX)
PIDS=()
NS_MADE=()
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

NS_A=nrbench-sk-$$-a
NS_B=nrbench-sk-$$-b
for ns in "$NS_A" "$NS_B"; do
	ip netns add "$ns"
	NS_MADE+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.core.somaxconn=65535 \
		net.ipv4.tcp_max_syn_backlog=65535 net.ipv4.ip_local_port_range="1024 65535"
done
ip -n "$NS_A" link add veth-a type veth peer name veth-b netns "$NS_B"
ip -n "$NS_A" addr add 10.252.0.1/24 dev veth-a
ip -n "$NS_B" addr add 10.252.0.2/24 dev veth-b
ip -n "$NS_A" link set veth-a up
ip -n "$NS_B" link set veth-b up
# A process may hold at most the hard limit of descriptors (20,000 on these machines, and
# raising it is not allowed here): the connections are spread over client and server
# processes of PER connections each.
PER=15000
ulimit -n "$(ulimit -Hn)"


# ss_cost ARGS: "WALL_MS CPU_MS" of one `ss ARGS` in -a (its output counted, not printed).
ss_cost() {
	local out
	out=$( { /usr/bin/time -f '%e %U %S' ip netns exec "$NS_A" ss "$@" > "$WORK/ss.out"; } 2>&1)
	awk '{ printf "%.0f %.0f\n", $1 * 1000, ($2 + $3) * 1000 }' <<< "$out"
}

MAXN=0
for N in $COUNTS; do [ "$N" -gt "$MAXN" ] && MAXN=$N; done
NPROC_MAX=$(((MAXN + PER - 1) / PER))
# Server i holds port 5000+i: the connections of client i.
for i in $(seq 0 $((NPROC_MAX - 1))); do
	bg SRV "server-$i" ip netns exec "$NS_B" python3 "$HOLD" server 10.252.0.2 $((5000 + i)) 1 \
		"$WORK/srv-$i.ready"
	for _ in $(seq 1 100); do [ -e "$WORK/srv-$i.ready" ] && break; sleep 0.05; done
	[ -e "$WORK/srv-$i.ready" ] || fail "server $i did not start: $(cat "$WORK/server-$i.err")"
done

for N in $COUNTS; do
	say "--- $N connections"
	nproc=$(((N + PER - 1) / PER))
	clis=()
	for i in $(seq 0 $((nproc - 1))); do
		n=$((N / nproc + (i < N % nproc ? 1 : 0)))
		rm -f "$WORK/ctl-$i"
		mkfifo "$WORK/ctl-$i"
		bg CLI "client-$N-$i" ip netns exec "$NS_A" python3 "$HOLD" client 10.252.0.2 \
			$((5000 + i)) 1 "$n" "$WORK/ctl-$i"
		clis+=("$CLI")
		eval "exec $((10 + i))> '$WORK/ctl-$i'"
	done
	for i in $(seq 0 $((nproc - 1))); do
		wait_for "$WORK/client-$N-$i.out" '^open ' "${clis[$i]}" 600 ||
			fail "client $i failed: $(cat "$WORK/client-$N-$i.err")"
	done
	say "opened $N connections from $nproc client processes: $(cat "$WORK"/client-"$N"-*.out | awk '{ printf "%s in %s s; ", $2, $3 }')"
	# Baseline: ss in the same namespace, same sockets.
	w=(); c=(); wp=(); cp=()
	for _ in 1 2 3; do
		read -r a b <<< "$(ss_cost -tinH state established)"
		w+=("$a"); c+=("$b")
		read -r a b <<< "$(ss_cost -tinpH state established)"
		wp+=("$a"); cp+=("$b")
	done
	lines=$(grep -c . "$WORK/ss.out" || true)
	SS_W=$(median "${w[@]}"); SS_C=$(median "${c[@]}")
	SSP_W=$(median "${wp[@]}"); SSP_C=$(median "${cp[@]}")
	say "ss -tin: ${SS_W} ms wall, ${SS_C} ms CPU; ss -tinp: ${SSP_W} ms wall, ${SSP_C} ms CPU (medians of 3; $lines lines of output, two per socket)"

	data=$WORK/data-$N
	bg NR "netrecd-$N" "$NETRECD" -d "$data" --sources sockets --netns "$NS_A" \
		--sockets-interval ${INTERVAL}s --log-level debug
	wait_for "$WORK/netrecd-$N.err" 'sockets: sample 1:' "$NR" 600 || fail "netrecd: $(tail -3 "$WORK/netrecd-$N.err")"
	first=$(grep -m1 'sockets: sample 1:' "$WORK/netrecd-$N.err" | sed 's/.*sample 1: //')
	say "netrecd's first sample: $first"
	wait_for "$WORK/netrecd-$N.err" 'sockets: sample 2:' "$NR" 60 || fail "no second sample"
	c0=$(cpu_ns "$NR")
	last=$((2 + SAMPLES))
	wait_for "$WORK/netrecd-$N.err" "sockets: sample $last:" "$NR" $((INTERVAL * SAMPLES + 30)) ||
		fail "no sample $last"
	c1=$(cpu_ns "$NR")
	ms=()
	for k in $(seq 3 "$last"); do
		ms+=("$(grep -m1 "sockets: sample $k:" "$WORK/netrecd-$N.err" | sed 's/.*, \([0-9.]*\) ms$/\1/')")
	done
	IDLE_W=$(median "${ms[@]}")
	IDLE_C=$(awk -v a="$c0" -v b="$c1" -v n="$SAMPLES" 'BEGIN { printf "%.1f", (b - a) / n / 1e6 }')
	say "netrecd's idle samples 3..$last: ${ms[*]} ms (median $IDLE_W); CPU ${IDLE_C} ms per sample (all threads, schedstat, over $SAMPLES samples)"

	# The burst of closes.
	cb0=$(cpu_ns "$NR")
	t0=$EPOCHREALTIME
	for i in $(seq 0 $((nproc - 1))); do echo close >&$((10 + i)); done
	for i in $(seq 0 $((nproc - 1))); do
		wait_for "$WORK/client-$N-$i.out" '^closed ' "${clis[$i]}" 600 || fail "client $i did not close"
	done
	t1=$EPOCHREALTIME
	sleep 3
	cb1=$(cpu_ns "$NR")
	stop_pid "$NR"
	for i in $(seq 0 $((nproc - 1))); do
		echo exit >&$((10 + i))
		eval "exec $((10 + i))>&-"
		stop_pid "${clis[$i]}"
	done
	ino=$(stat -L -c %i "/run/netns/$NS_A")
	rows=$("$NETREC" -d "$data" -f csv --no-header sql \
		"SELECT count(*) FROM sockets WHERE netns = $ino AND kind = 'close' AND dport BETWEEN 5000 AND 5099")
	opens=$("$NETREC" -d "$data" -f csv --no-header sql \
		"SELECT count(*) FROM sockets WHERE netns = $ino AND kind = 'open'")
	gaps=$("$NETREC" -d "$data" -f csv --no-header sql \
		"SELECT count(*) || ' rows, lost ' || ifnull(sum(lost), 0) FROM gaps WHERE source = 'sockets'")
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	say "closes: the clients closed $N in $secs s ($(awk -v n="$N" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')/s); close rows $rows, open rows $opens, gaps: $gaps; netrecd CPU over the burst $(awk -v a="$cb0" -v b="$cb1" 'BEGIN { printf "%.0f", (b - a) / 1e6 }') ms"
	say "summary N=$N: first sample $(sed 's/.*, \([0-9.]*\) ms$/\1/' <<< "$first") ms; idle sample ${IDLE_W} ms wall, ${IDLE_C} ms CPU; ss -tin ${SS_W} ms (${SS_C} CPU), ss -tinp ${SSP_W} ms (${SSP_C} CPU): idle sample / ss -tin = $(awk -v a="$IDLE_W" -v b="$SS_W" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'); closes kept: $rows of $N"
done
