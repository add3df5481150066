#!/bin/bash
# SPDX-License-Identifier: MIT
# Where the flow programs' cost goes, by sampling: the same 64-byte UDP flood as bench/flows.sh
# over one veth pair, in rounds of three phases (nothing attached; a one-instruction program on
# tcx ingress and egress of both veth ends, bench-bpfrun --attach-null; netrecd --sources
# flows), with `perf record -e cpu-clock` on the sender's CPU, which carries the whole packet
# path (send, both TC hooks, the peer's receive in softirq).
#
#   bench/flows-profile.sh [-d SEC] [--rounds N] [--tcp] [--build DIR] [--keep]
#
# --tcp: one iperf3 TCP stream instead of the flood (iperf3 -s on CPU 1, -c on CPU 0; apt-get
# installs iperf3 if missing), sampled on both CPUs (the stream's softirq work is on both);
# the rate is the receiver's Gbit/s.
#
# For each phase it prints the packet rate, the sender's CPU per packet, and the share of the
# CPU's samples in the symbols a TC program's work shows up in: the programs themselves
# (bpf_prog_*), the hash map (htab_*, lookup_nulls_elem_raw), the clock helpers, tcx. The
# share is the direct cost only (not the cache lines the programs take from the rest of the
# path), but unlike the rate it hardly moves when another tenant takes the CPU: the figure to
# compare two versions of the programs by. A share in the "nothing" phase is somebody else's
# BPF (this VM runs tracing programs of its own: htab lookups, bpf_probe_read_kernel), the
# same in every phase.
#
# Needs root, perf (Debian: linux-perf), ip, taskset, and bench-udpflood and bench-bpfrun from
# the build. Makes namespaces nrbench-fp-PID-a and -b; the EXIT trap stops what it started, by
# PID, and deletes them. Options: -d SEC (DURATION, default 4: perf samples SEC-1 seconds),
# --rounds N (ROUNDS, default 4), --build DIR (BUILD, default ../build), --keep (KEEP=1).
set -euo pipefail

BUILD=${BUILD:-$(dirname "$0")/../build}
DURATION=${DURATION:-4}
ROUNDS=${ROUNDS:-4}
KEEP=${KEEP:-0}
TCP=${TCP:-0}
while [ $# -gt 0 ]; do
	case $1 in
	-d) DURATION=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--tcp) TCP=1; shift ;;
	*) sed -n '9p' "$0" | sed 's/^#  */usage: /' >&2; exit 2 ;;
	esac
done

say() { echo "flprof: $*"; }
fail() { echo "flprof: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root"
case $DURATION in '' | 0 | 1 | *[!0-9]*) fail "-d takes whole seconds, at least 2" ;; esac
for t in ip taskset perf; do
	command -v "$t" > /dev/null || fail "$t not found (perf: apt-get install linux-perf)"
done
if [ "$TCP" = 1 ] && ! command -v iperf3 > /dev/null; then
	say "installing iperf3 (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iperf3 > /dev/null
fi
BUILD=$(cd "$BUILD" && pwd) || fail "no build directory"
FLOOD=$BUILD/bench/bench-udpflood
BPFRUN=$BUILD/bench/bench-bpfrun
NETRECD=$BUILD/netrecd
for f in "$FLOOD" "$BPFRUN" "$NETRECD"; do
	[ -x "$f" ] || fail "$f not built"
done

NS_A=nrbench-fp-$$-a
NS_B=nrbench-fp-$$-b
WORK=$(mktemp -d /tmp/nrbench-fp.XXXXXX)
PIDS=()
NS_MADE=()
. "$(dirname "$0")/lib.sh"

veth_pair "$NS_A" "$NS_B" veth-a veth-b 10.251.0.1 10.251.0.2
if [ "$TCP" = 1 ]; then
	bg RECV recv ip netns exec "$NS_B" taskset -c 1 iperf3 -s -B 10.251.0.2 -p 5201
	sleep 1
	PERF_CPUS=(-a)
else
	bg RECV recv ip netns exec "$NS_B" taskset -c 1 "$FLOOD" --recv --ports 64 10.251.0.2 9000
	wait_for "$WORK/recv.err" listening "$RECV" 5 || fail "the receiver did not start"
	PERF_CPUS=(-C 0)
fi

# The symbols of a TC program's work, and somebody else's BPF trampolines left out.
SYMS='bpf_prog_|htab_|lookup_nulls_elem_raw|jiffies|ktime_get_coarse|tcx_|bpf_mprog'

declare -A RATE NSPP SHARE
# flood PHASE: one flood with perf sampling CPU 0; appends to RATE, NSPP, SHARE.
flood() {
	local ph=$1 spid line share
	if [ "$TCP" = 1 ]; then
		bg spid "send-$ph" ip netns exec "$NS_A" taskset -c 0 iperf3 -c 10.251.0.2 -p 5201 \
			-t "$DURATION" -J
	else
		bg spid "send-$ph" ip netns exec "$NS_A" taskset -c 0 "$FLOOD" --duration "$DURATION" \
			--ports 64 --size 18 10.251.0.2 9000
	fi
	sleep 0.5
	perf record -q "${PERF_CPUS[@]}" -e cpu-clock -F 4000 -o "$WORK/$ph.data" -- sleep $((DURATION - 1)) \
		2> /dev/null
	wait "$spid" || fail "bench-udpflood failed: $(cat "$WORK/send-$ph.err")"
	forget "$spid"
	share=$(perf report -i "$WORK/$ph.data" --sort sym --stdio 2> /dev/null |
		grep -E "$SYMS" | grep -v "bpf_prog_enter\|bpf_prog_exit" |
		awk '{ s += $1 } END { printf "%.2f", s }')
	if [ "$TCP" = 1 ]; then
		RATE[$ph]+=" $(python3 -c 'import json, sys
print(round(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9, 2))' \
			"$WORK/send-$ph.out")"
		NSPP[$ph]+=" 0"
	else
		line=$(cat "$WORK/send-$ph.out")
		RATE[$ph]+=" $(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<< "$line")"
		NSPP[$ph]+=" $(awk '{ for (i = 1; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
			printf "%.0f", v["cpu"] * 1e9 / v["sent"] }' <<< "$line")"
	fi
	SHARE[$ph]+=" $share"
	perf report -i "$WORK/$ph.data" --sort sym --stdio 2> /dev/null | grep -E "$SYMS" |
		grep -v "bpf_prog_enter\|bpf_prog_exit" | head -8 | sed "s/^/  $ph: /" > "$WORK/$ph.top"
}

say "namespaces $NS_A, $NS_B; $ROUNDS rounds of nothing / null / netrecd, ${DURATION}s each"
for ((r = 1; r <= ROUNDS; r++)); do
	flood nothing
	bg NA null-a ip netns exec "$NS_A" "$BPFRUN" --attach-null veth-a
	bg NB null-b ip netns exec "$NS_B" "$BPFRUN" --attach-null veth-b
	if ! wait_for "$WORK/null-a.out" attached "$NA" 5 ||
		! wait_for "$WORK/null-b.out" attached "$NB" 5; then
		fail "bench-bpfrun --attach-null did not attach"
	fi
	flood null
	stop_pid "$NA" 5
	forget "$NA"
	stop_pid "$NB" 5
	forget "$NB"
	bg NR netrecd "$NETRECD" -d "$WORK/store" --sources flows --netns "$NS_A,$NS_B"
	wait_for "$WORK/netrecd.err" "source flows: recording" "$NR" 10 ||
		fail "netrecd did not start: $(cat "$WORK/netrecd.err")"
	sleep 1
	flood netrecd
	stop_pid "$NR" 10
	forget "$NR"
	rm -rf "$WORK/store"
	say "round $r: share of the sampled CPU time in TC program symbols (%): nothing ${SHARE[nothing]##* }," \
		"null ${SHARE[null]##* }, netrecd ${SHARE[netrecd]##* }"
done

# shellcheck disable=SC2086 # word splitting of the lists is meant
base=$(median ${SHARE[nothing]})
for ph in nothing null netrecd; do
	# shellcheck disable=SC2086
	say "$ph: rate median $(median ${RATE[$ph]})/s (${RATE[$ph]# }), sender CPU median" \
		"$(median ${NSPP[$ph]}) ns/packet (${NSPP[$ph]# }); TC program symbols median" \
		"$(median ${SHARE[$ph]})% of the sampled CPU time (${SHARE[$ph]# }), above nothing" \
		"$(awk -v a="$(median ${SHARE[$ph]})" -v b="$base" 'BEGIN { printf "%.2f", a - b }')%"
done
say "the symbols of the last round's netrecd phase:"
cat "$WORK/netrecd.top"
