#!/bin/bash
# SPDX-License-Identifier: MIT
# Topology benchmark: the topology source on a host of NS namespaces with IFS interfaces each
# (default 100 x 10 = 1,000 interfaces), against iproute2 reading the same in the same run.
#
#   bench/topology.sh [--namespaces N] [--ifs N] [--rounds N] [--build DIR] [--keep]
#
# Its own world, removed by the EXIT trap: namespaces nrbench-tp-PID-1..N, each with IFS/2
# veth pairs (both ends inside it), an IPv4 address and a route per pair. Then:
#   1. baseline: `ip -j -d link show`, `ip -j addr show` and `ip -j route show table all` in
#      every namespace, one after the other (what an operator would run to see the same),
#      3 runs, median wall time;
#   2. netrecd --sources topology --netns (all of them) --topology-interval 3s --log-level
#      debug: the first snapshots (every namespace, all stored: time from the first to the
#      last, rows), then ROUNDS interval rounds of an unchanged network (its debug log gives
#      each round's duration; rows stored must be 0) with netrecd's CPU over them
#      (schedstat, all threads);
#   3. one change (a route added in one namespace): the round stores one snapshot.
# Needs root and ip.
set -euo pipefail

BUILD=${BUILD:-$(dirname "$0")/../build}
NNS=${NNS:-100}
IFS_PER=${IFS_PER:-10}
ROUNDS=${ROUNDS:-5}
KEEP=${KEEP:-0}
INTERVAL=3

while [ $# -gt 0 ]; do
	case $1 in
	--namespaces) NNS=$2; shift 2 ;;
	--ifs) IFS_PER=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) sed -n '6p' "$0" | sed 's/^#  */usage: /'; exit 0 ;;
	*) echo "topology.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

say() { echo "tpbench: $*"; }
fail() { echo "tpbench: error: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root"
NETRECD=$BUILD/netrecd
NETREC=$BUILD/netrec
[ -x "$NETRECD" ] || fail "$NETRECD is not built"
WORK=$(mktemp -d /tmp/nrbench-tp.XXXXXX)
PIDS=()
NS_MADE=()
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"


t0=$EPOCHREALTIME
names=()
for i in $(seq 1 "$NNS"); do
	ns=nrbench-tp-$$-$i
	ip netns add "$ns"
	NS_MADE+=("$ns")
	names+=("$ns")
	{
		echo "link set lo up"
		for p in $(seq 1 $((IFS_PER / 2))); do
			echo "link add v${p}a type veth peer name v${p}b"
			echo "addr add 10.$((p)).$((i % 256)).1/24 dev v${p}a"
			echo "link set v${p}a up"
			echo "link set v${p}b up"
			echo "route add 172.$((16 + p % 16)).$((i % 256)).0/24 via 10.$((p)).$((i % 256)).2"
		done
	} > "$WORK/batch"
	ip -n "$ns" -batch "$WORK/batch" || fail "setting up $ns"
done
say "$NNS namespaces with $IFS_PER interfaces each (+ lo) made in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
sleep 2 # IPv6 link-local addresses and their routes settle

# Baseline: iproute2 reading the same.
ipw=()
for _ in 1 2 3; do
	a=$EPOCHREALTIME
	for ns in "${names[@]}"; do
		ip -n "$ns" -j -d link show > /dev/null
		ip -n "$ns" -j addr show > /dev/null
		ip -n "$ns" -j route show table all > /dev/null
	done
	ipw+=("$(awk -v a="$a" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')")
done
IPW=$(median "${ipw[@]}")
say "iproute2 (ip -j link, addr, route table all in each namespace): ${ipw[*]} ms (median $IPW)"

list=$(IFS=,; echo "${names[*]}")
data=$WORK/data
bg NR netrecd "$NETRECD" -d "$data" --sources topology --netns "$list" \
	--topology-interval ${INTERVAL}s --log-level debug
wait_for "$WORK/netrecd.err" "topology: interval round" "$NR" 120 || fail "netrecd: $(tail -3 "$WORK/netrecd.err")"
first=$("$NETREC" -d "$data" -f csv --no-header sql \
	"SELECT count(*) || ' snapshots, ' || ((max(ts_ns) - min(ts_ns)) / 1000000) || ' ms from first to last' FROM snapshots")
rows=$("$NETREC" -d "$data" -f csv --no-header sql \
	"SELECT (SELECT count(*) FROM links) || ' links, ' || (SELECT count(*) FROM addresses) || ' addresses, ' || (SELECT count(*) FROM routes) || ' routes, ' || (SELECT count(*) FROM neighbors) || ' neighbours, ' || (SELECT count(*) FROM listeners) || ' listeners'")
say "first snapshots (one per namespace as it is found): $first; rows: $rows"
c0=$(cpu_ns "$NR")
k0=$(grep -c "topology: interval round" "$WORK/netrecd.err")
sleep $((INTERVAL * ROUNDS + 1))
c1=$(cpu_ns "$NR")
k1=$(grep -c "topology: interval round" "$WORK/netrecd.err")
rounds=$(grep "topology: interval round" "$WORK/netrecd.err" | tail -n +2 | head -n $((k1 - 1)))
ms=$(sed 's/.*, \([0-9.]*\) ms$/\1/' <<< "$rounds" | tr '\n' ' ')
stored=$(sed 's/.*read, \([0-9]*\) snapshots stored.*/\1/' <<< "$rounds" | awk '{ s += $1 } END { print s + 0 }')
MS=$(median $ms)
CPU=$(awk -v a="$c0" -v b="$c1" -v n="$((k1 - k0))" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n / 1e6; else print "n/a" }')
say "unchanged rounds: $ms ms (median $MS); snapshots stored in them: $stored; netrecd CPU per round $CPU ms ($((k1 - k0)) rounds)"

# One change.
ip -n "${names[0]}" route add 192.0.2.0/24 via 10.1.1.2
wait_for "$WORK/netrecd.err" "topology: change round: 1 namespaces read, 1 snapshots stored" "$NR" 10 ||
	fail "no change round: $(grep 'change round' "$WORK/netrecd.err" | tail -2)"
say "after a route change in one namespace: $(grep 'topology: change round' "$WORK/netrecd.err" | tail -1 | sed 's/.*round: //')"
stop_pid "$NR"
say "summary: $NNS namespaces, $((NNS * (IFS_PER + 1))) interfaces: unchanged round ${MS} ms wall, ${CPU} ms CPU, 0 rows expected ($stored stored); iproute2 reading the same ${IPW} ms: ratio $(awk -v a="$MS" -v b="$IPW" 'BEGIN { printf "%.2f", a / b }')"
