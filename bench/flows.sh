#!/bin/bash
# SPDX-License-Identifier: MIT
# Flows benchmark: what the TC programs of netrecd's flow source cost the traffic they count,
# measured with and without the recorder in the same run, alternating, on one veth pair.
#
#   bench/flows.sh [-d SEC] [--runs N] [--ports N] [--senders N] [--no-pin] [--no-null] [--build DIR] [--keep]
#
# It builds its own world and leaves nothing behind: two network namespaces nrbench-fl-PID-a
# (sender, client) and -b (receiver, server), a veth pair veth-a/veth-b between them
# (10.251.0.1 and .2), IPv6 off in both. Every setting is inside these namespaces; the
# host's interfaces, routes, sysctls and firewall are never touched. The EXIT trap stops the
# processes it started, by PID, and deletes both namespaces (which takes any TC program still
# attached in them along).
#
# RUNS rounds, each three phases: "without" (netrecd not running), "null" (the UDP flood only,
# with a one-instruction program on tcx ingress and egress of both veth ends: the floor, what
# the hooks cost before a program does anything; bench-bpfrun --attach-null), then "with"
# (netrecd started for the phase, stopped with SIGTERM after it), and a closing "without"
# phase, so that every "with" phase has a "without" phase just before and just after it. The
# "without" and "with" phases measure
#   (a) TCP throughput: iperf3, one stream, -a to -b, DURATION s after a 1 s warm-up (-O 1),
#       the receiver's bits_per_second from iperf3's JSON;
#   (b) the small-packet rate: bench-udpflood sends datagrams of SIZE bytes of payload (18:
#       64-byte frames) with sendmmsg from SENDERS threads to PORTS ports (SENDERS x PORTS
#       flows) for DURATION s; bench-udpflood --recv in -b counts what arrives (recvmmsg);
#       the veth counters (ip -s -j link) and -b's Udp RcvbufErrors say what was sent, what
#       crossed the veth and what the socket dropped;
#   (c) in the "with" phase, netrecd's CPU (utime+stime of all its threads, /proc/PID/stat;
#       the same at ns resolution from /proc/PID/task/*/schedstat, since a tick is 10 ms)
#       over each measured window: CPU-s per second, and per million packets that crossed
#       the veth (each passes two TC programs: egress of veth-a, ingress of veth-b). The TC
#       programs themselves run in the sender's context and softirq, not in netrecd: their
#       cost shows as a lower rate in (a) and (b), not here.
# The recorder runs as `netrecd -d DIR --sources flows --netns A,B FLOWS_ARGS`. Started, the
# script waits for "source flows: recording" in its log and then until bench-tcxquery sees
# tcx programs on both directions of both veth ends; stopped, it checks that nothing remains:
# no tcx program (bench-tcxquery), no tc filter, and none of the programs it had attached
# still loaded (bpftool prog show id). If netrecd has no flow source yet (not built, or it
# does not know --flows-interval), the script says so and prints the baseline figures only.
#
# The summary gives the medians of all runs and the overhead between the medians (the figures
# the targets are for: TCP <= 3%, small packets <= 5%; for TCP, bench/flows-tcp.sh is the
# better measure: iperf3 runs here vary more from one to the next than the target), the overhead of each "with" run against
# the mean of its two neighbours (drift on a shared machine cancels out), and the sender's CPU
# per packet with and without: the sender does the whole packet path on its CPU, so this
# cost does not move when another process takes CPU time from it, while the rate does.
#
# Pinning (PIN=1, the default; --no-pin turns it off): on these 2-core machines the sending
# side (iperf3 -c, bench-udpflood sender) runs on CPU 0 (PIN_TX), the receiving side (iperf3
# -s, bench-udpflood --recv) on CPU 1 (PIN_RX); netrecd is not pinned. On a veth the
# receive path up to the socket (TC ingress of veth-b included) runs in the sender's
# softirq, so CPU 0 carries both TC programs: a sender at 100% of CPU 0 measures their cost.
#
# Options (or environment): -d/--duration SEC (DURATION, default 10), --runs N (RUNS, rounds,
# default 3), --ports N (PORTS, UDP destination ports, default 64), --senders N (SENDERS,
# sender threads, default 1), --size BYTES (SIZE, default 18), --no-pin (PIN=0), --no-null (NULL=0:
# no "null" phase), --build DIR
# (BUILD, default ../build beside this script), --keep (KEEP=1: keep the work directory with
# logs and netrecd's stores). FLOWS_ARGS (netrecd's flow options, default
# "--flows-interval 5s"), NETRECD_ARGS (more netrecd options), PIN_TX, PIN_RX (CPUs, default
# 0 and 1). iperf3 is installed with apt-get if missing.
# Prints figures and a summary; exit status 0 unless the setup failed.
set -euo pipefail

BUILD=${BUILD:-$(dirname "$0")/../build}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
PORTS=${PORTS:-64}
SENDERS=${SENDERS:-1}
SIZE=${SIZE:-18}
PIN=${PIN:-1}
PIN_TX=${PIN_TX:-0}
PIN_RX=${PIN_RX:-1}
KEEP=${KEEP:-0}
NULL=${NULL:-1}
FLOWS_ARGS=${FLOWS_ARGS---flows-interval 5s} # set but empty: no flow options
NETRECD_ARGS=${NETRECD_ARGS:-}
TCP_TARGET=3 # percent
UDP_TARGET=5

usage() {
	sed -n '6p' "$0" | sed 's/^#  */usage: /'
	echo "see the comment at the top of $0 for the options"
}

while [ $# -gt 0 ]; do
	case $1 in
	-d | --duration) DURATION=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--ports) PORTS=$2; shift 2 ;;
	--senders) SENDERS=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--no-pin) PIN=0; shift ;;
	--build) BUILD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--no-null) NULL=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

say() { echo "flbench: $*"; }
fail() { echo "flbench: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (network namespaces, BPF)"
case $DURATION in '' | *[!0-9]*) fail "-d takes whole seconds" ;; esac
case $RUNS in '' | 0 | *[!0-9]*) fail "--runs takes a number >= 1" ;; esac
if ! command -v iperf3 > /dev/null; then
	say "installing iperf3 (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends iperf3 > /dev/null
fi
for t in ip tc iperf3 python3 awk taskset; do
	command -v "$t" > /dev/null || fail "$t not found"
done
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
[ -x "$BPFTOOL" ] || BPFTOOL=""
BUILD=$(cd "$BUILD" && pwd) || fail "no build directory"
FLOOD=$BUILD/bench/bench-udpflood
TCXQ=$BUILD/bench/bench-tcxquery
BPFRUN=$BUILD/bench/bench-bpfrun
NETRECD=$BUILD/netrecd
NETREC=$BUILD/netrec
for f in "$FLOOD" "$TCXQ"; do
	[ -x "$f" ] || fail "$f not built (meson compile -C $BUILD)"
done
if [ "$NULL" = 1 ] && [ ! -x "$BPFRUN" ]; then
	say "$BPFRUN not built: no null-program phase"
	NULL=0
fi
if [ "$PIN" = 1 ] && [ "$(nproc)" -lt 2 ]; then
	say "fewer than 2 CPUs: not pinning"
	PIN=0
fi

NS_A=nrbench-fl-$$-a
NS_B=nrbench-fl-$$-b
DEV_A=veth-a
DEV_B=veth-b
ADDR_A=10.251.0.1
ADDR_B=10.251.0.2
TCP_PORT=5201
UDP_PORT=7000
WORK=$(mktemp -d /tmp/nrbench-fl.XXXXXX)
HZ=$(getconf CLK_TCK)
PIDS=()
NS_MADE=()
if [ "$PIN" = 1 ]; then
	ON_TX=(taskset -c "$PIN_TX")
	ON_RX=(taskset -c "$PIN_RX")
else
	ON_TX=()
	ON_RX=()
fi

. "$(dirname "$0")/lib.sh"

# cpu_sample PID: "TICKS NS": the clock ticks (utime + stime, all threads) PID has used so far,
# from /proc/PID/stat, and the run time of its threads in ns from /proc/PID/task/*/schedstat
# (the same CPU time at ns resolution; a tick is 10 ms, as long as a collection may take).
cpu_sample() {
	local stat rest f ns=0 t x
	stat=$(< "/proc/$1/stat") || { echo 0 0; return; }
	rest=${stat##*) } # the command name may hold blanks and parentheses
	read -ra f <<< "$rest"
	for t in /proc/"$1"/task/*/schedstat; do
		read -r x _ < "$t" 2> /dev/null && ns=$((ns + x))
	done
	echo $((f[11] + f[12])) "$ns"
}

# veth_stats NS DEV: "rx_packets rx_dropped tx_packets tx_dropped" from ip -s -j link.
veth_stats() {
	ip -n "$1" -s -j link show dev "$2" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(s["rx"]["packets"], s["rx"]["dropped"], s["tx"]["packets"], s["tx"]["dropped"])'
}

# udp_mib NS FIELD: one counter of the Udp line of the namespace's /proc/net/snmp.
# shellcheck disable=SC2016 # the $ are awk's
udp_mib() {
	ip netns exec "$1" awk -v k="$2" '$1 == "Udp:" {
		if (!n) { for (i = 2; i <= NF; i++) name[i] = $i; n = 1; next }
		for (i = 2; i <= NF; i++) if (name[i] == k) print $i }' /proc/net/snmp
}

# field LINE KEY: the value after KEY= in LINE (up to the next blank or slash).
field() { sed -n "s/.* $2=\([0-9.-]*\).*/\1/p" <<< "$1"; }

# overhead WITHOUT WITH: how much lower WITH is, in percent of WITHOUT.
overhead() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", (a - b) * 100 / a; else print "n/a" }'; }
met() { awk -v o="$1" -v t="$2" 'BEGIN { if (o == "n/a") print "n/a"; else if (o <= t) print "met"; else print "NOT met" }'; }
fmt_int() { awk -v v="$1" 'BEGIN { if (v == "" || v == "n/a") print "n/a"; else printf "%.0f", v }'; }
join_by() { local IFS=$1; shift; echo "$*"; }
gbit() { awk -v b="$1" 'BEGIN { if (b == "" || b == "n/a") print "n/a"; else printf "%.2f", b / 1e9 }'; }

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# ---------------------------------------------------------------------------
# The world: two namespaces, a veth pair, an iperf3 server in -b for the whole run.
setup() {
	local i
	veth_pair "$NS_A" "$NS_B" "$DEV_A" "$DEV_B" "$ADDR_A" "$ADDR_B"
	bg IPERF_PID iperf3-server ip netns exec "$NS_B" "${ON_RX[@]}" iperf3 -s -B "$ADDR_B" -p "$TCP_PORT"
	for ((i = 0; i < 100; i++)); do
		[ -n "$(in_b ss -Hltn "sport = :$TCP_PORT")" ] && break
		kill -0 "$IPERF_PID" 2> /dev/null || fail "iperf3 -s exited: $(cat "$WORK/iperf3-server.err")"
		sleep 0.05
	done
	in_a ping -c 1 -W 2 "$ADDR_B" > /dev/null || fail "no ping from $NS_A to $ADDR_B"
	say "namespaces $NS_A ($DEV_A $ADDR_A: iperf3 client, UDP sender) and $NS_B ($DEV_B" \
		"$ADDR_B: iperf3 server, UDP receiver); work directory $WORK"
	if [ "$PIN" = 1 ]; then
		say "pinned: senders and clients on CPU $PIN_TX, receivers and servers on CPU $PIN_RX" \
			"(taskset); netrecd not pinned"
	else
		say "not pinned"
	fi
	say "$(iperf3 --version | head -1); bench-udpflood: $SENDERS sender thread(s), $PORTS" \
		"ports, $((SENDERS * PORTS)) flows, $SIZE-byte payload; ${DURATION}s per measurement," \
		"$RUNS rounds of (without, with)"
}

# ---------------------------------------------------------------------------
# The recorder. NR_STATE: unknown (not tried yet), ok, unavailable (with NR_WHY).
NR_STATE=unknown
NR_WHY=""
NR_PID=""
NR_PROGS=""   # program ids attached while it ran (bench-tcxquery)
NR_VETH0=()   # veth_stats of veth-a and veth-b once the programs were attached
NR_CPU0=""    # cpu_sample of netrecd then, and the time
NR_T0=""

# tcx_count NS: programs tcx has on the namespace's interfaces; the listing goes to
# $WORK/tcx-NS.txt.
tcx_count() {
	ip netns exec "$1" "$TCXQ" > "$WORK/tcx-$1.txt" 2>&1 || { echo -1; return; }
	sed -n 's/^tcxquery: total=//p' "$WORK/tcx-$1.txt"
}

# clsact NS DEV: "clsact" if DEV has a clsact qdisc, else "no clsact".
clsact() {
	ip netns exec "$1" tc qdisc show dev "$2" | grep -q clsact && echo clsact || echo "no clsact"
}

# nr_start PHASE: starts netrecd on both namespaces; on success NR_PID is set and the TC
# programs are on both veth ends. Sets NR_STATE to unavailable (and NR_WHY) when netrecd has
# no flow source.
nr_start() {
	local phase=$1 data=$WORK/data-$1 i l dev dir
	if [ ! -x "$NETRECD" ]; then
		NR_STATE=unavailable
		NR_WHY="$NETRECD is not built"
		return 1
	fi
	# shellcheck disable=SC2086 # FLOWS_ARGS and NETRECD_ARGS are lists of options
	bg NR_PID "netrecd-$phase" "$NETRECD" -d "$data" --sources flows --netns "$NS_A,$NS_B" \
		$FLOWS_ARGS $NETRECD_ARGS
	for ((i = 0; i < 15 * 20; i++)); do
		grep -q 'source flows: ' "$WORK/netrecd-$phase.err" 2> /dev/null && break
		kill -0 "$NR_PID" 2> /dev/null || break
		sleep 0.05
	done
	if ! kill -0 "$NR_PID" 2> /dev/null; then
		stop_pid "$NR_PID"
		NR_PID=""
		l=$(grep -m1 -iE 'unrecognized|unknown|invalid|usage' "$WORK/netrecd-$phase.err" || true)
		NR_STATE=unavailable
		if grep -q -- '--flows-' <<< "$l"; then
			NR_WHY="netrecd does not accept the flow options yet ($l)"
		else
			NR_WHY="netrecd exited at start, status $STATUS: $(tail -3 "$WORK/netrecd-$phase.err" | tr '\n' ' ')"
		fi
		return 1
	fi
	l=$(grep -m1 'source flows: ' "$WORK/netrecd-$phase.err" || true)
	if [ -n "$l" ] && ! grep -q 'source flows: recording' <<< "$l"; then
		NR_STATE=unavailable
		NR_WHY=${l#netrecd: }
		stop_pid "$NR_PID" 60
		NR_PID=""
		return 1
	fi
	[ -n "$l" ] || say "  WARNING: no 'source flows: recording' in netrecd's log after 15 s; going on"
	# Attached when tcx lists programs on both directions of both veth ends.
	if ! until_attached "$NR_PID" "$NS_A" "$DEV_A" "$NS_B" "$DEV_B"; then
		say "  WARNING: netrecd runs but its TC programs are not on both veth ends after 10 s"
	fi
	NR_STATE=ok
	for i in "$NS_A $DEV_A" "$NS_B $DEV_B"; do
		read -r l dev <<< "$i"
		for dir in ingress egress; do
			ip netns exec "$l" tc filter show dev "$dev" "$dir" | sed "s/^/$dev $dir: /"
		done
	done > "$WORK/filters.txt"
	say "  netrecd PID $NR_PID: $(grep -c 'flows: recording' "$WORK/netrecd-$phase.err") 'flows:" \
		"recording' lines; tcx programs: $(tcx_count "$NS_A") in -a, $(tcx_count "$NS_B") in -b;" \
		"tc bpf filters on the veths: $(grep -c " id [0-9]" "$WORK/filters.txt" || true)"
	sed 's/^/flbench:     /' "$WORK/tcx-$NS_A.txt" "$WORK/tcx-$NS_B.txt" "$WORK/filters.txt" |
		grep -v 'progs=0\|total=' || true
	NR_PROGS=$({
		sed -n 's/.* ids=\([0-9,]*\) .*/\1/p' "$WORK/tcx-$NS_A.txt" "$WORK/tcx-$NS_B.txt" | tr ',' '\n'
		sed -n 's/.* id \([0-9]*\) .*/\1/p' "$WORK/filters.txt"
	} | sort -un | tr '\n' ' ')
	NR_VETH0=("$(veth_stats "$NS_A" "$DEV_A")" "$(veth_stats "$NS_B" "$DEV_B")")
	NR_CPU0=$(cpu_sample "$NR_PID")
	NR_T0=$EPOCHREALTIME
	return 0
}

# nr_stop PHASE: SIGTERM, then checks that nothing is left in the namespaces, and what the
# store holds against the veth counters of netrecd's lifetime.
nr_stop() {
	local phase=$1 data=$WORK/data-$1 a b id left="" i rows fa fb
	local -a va0 va1 vb0 vb1
	local cpu1 t1
	cpu1=$(cpu_sample "$NR_PID")
	t1=$EPOCHREALTIME
	read -r -a va0 <<< "${NR_VETH0[0]}"
	read -r -a vb0 <<< "${NR_VETH0[1]}"
	read -r -a va1 <<< "$(veth_stats "$NS_A" "$DEV_A")"
	read -r -a vb1 <<< "$(veth_stats "$NS_B" "$DEV_B")"
	if ! kill -0 "$NR_PID" 2> /dev/null; then
		stop_pid "$NR_PID"
		say "  NETRECD DIED DURING THE PHASE (exit status $STATUS); its log:"
		tail -20 "$WORK/netrecd-$phase.err" | sed 's/^/flbench:     /'
		NR_PID=""
		return 1
	fi
	nr_cpu_report "$NR_CPU0" "$cpu1" "$(awk -v a="$NR_T0" -v b="$t1" 'BEGIN { print b - a }')" \
		$((va1[2] - va0[2] + vb1[2] - vb0[2]))
	say "  netrecd over the phase (programs attached to SIGTERM, packets both ways): $CPU_LINE"
	stop_pid "$NR_PID" 60
	NR_PID=""
	say "  netrecd stopped (exit status $STATUS): $(grep -E 'flows: [0-9]+ rows' \
		"$WORK/netrecd-$phase.err" | sed 's/^netrecd: //' | tr '\n' ' ')"
	grep -E 'warn|error|full|lost' "$WORK/netrecd-$phase.err" | head -10 | sed 's/^/flbench:     /' || true
	# Nothing may remain: tcx (bench-tcxquery), clsact filters (tc), the programs themselves.
	a=$(tcx_count "$NS_A")
	b=$(tcx_count "$NS_B")
	for ((i = 0; i < 40; i++)); do
		left=""
		for id in $NR_PROGS; do
			[ -n "$BPFTOOL" ] && "$BPFTOOL" prog show id "$id" > /dev/null 2>&1 && left+="$id "
		done
		[ -z "$left" ] && break
		sleep 0.05
	done
	fa="$(in_a tc filter show dev "$DEV_A" ingress)$(in_a tc filter show dev "$DEV_A" egress)"
	fb="$(in_b tc filter show dev "$DEV_B" ingress)$(in_b tc filter show dev "$DEV_B" egress)"
	say "  after stop: tcx programs $a in -a, $b in -b;" \
		"tc filter show, ingress and egress: $(grep -c . <<< "$fa" || true) lines on $DEV_A" \
		"($(clsact "$NS_A" "$DEV_A")), $(grep -c . <<< "$fb" || true) on $DEV_B ($(clsact "$NS_B" "$DEV_B"));" \
		"programs it had attached still loaded: ${left:-none} (of ${NR_PROGS:-none})"
	if [ -n "$BPFTOOL" ]; then
		say "  bpftool net show in -a: $(in_a "$BPFTOOL" net show 2>&1 | grep -v ':$' | tr '\n' ' ' | sed 's/ *$//')" \
			"| in -b: $(in_b "$BPFTOOL" net show 2>&1 | grep -v ':$' | tr '\n' ' ' | sed 's/ *$//')" \
			"(empty: nothing; bpftool 7.1 lists tc filters and XDP, not tcx)"
	fi
	# The script never makes a clsact qdisc: one left is netrecd's (its clsact fallback).
	if [ "$a" != 0 ] || [ "$b" != 0 ] || [ -n "$left" ] || [ -n "$fa$fb" ] ||
		[ "$(clsact "$NS_A" "$DEV_A")$(clsact "$NS_B" "$DEV_B")" != "no clsactno clsact" ]; then
		say "  WARNING: SOMETHING REMAINS AFTER NETRECD STOPPED"
		LEFTOVERS=$((LEFTOVERS + 1))
	fi
	# What the store says, against the veth counters of netrecd's lifetime (informational).
	if [ -x "$NETREC" ]; then
		rows=$("$NETREC" -d "$data" -f csv --no-header sql \
			"SELECT ifname, direction, count(*), sum(packets) FROM flows
			 WHERE ifname IN ('$DEV_A', '$DEV_B') GROUP BY 1, 2 ORDER BY 1, 2" 2>&1 | tr '\n' ' ') ||
			rows="(netrec failed: $rows)"
		say "  store (ifname,direction,rows,packets): ${rows:-none};" \
			"veth counters over its lifetime: $DEV_A tx $((va1[2] - va0[2])) rx $((va1[0] - va0[0]))," \
			"$DEV_B rx $((vb1[0] - vb0[0])) tx $((vb1[2] - vb0[2]))"
	fi
	return 0
}

# ---------------------------------------------------------------------------
# Measurements, kept by round number (a failed run leaves a hole): W_* without, R_* with the
# recorder. The sender's CPU per packet (SCPU, ns) is the cost of the whole packet path on the
# sending CPU (send, veth, both TC programs, the peer's receive up to the socket), and unlike
# the rate it does not fall when another process takes CPU time from the sender.
W_TCP=() R_TCP=() W_TCPN=() R_TCPN=() W_UDP=() R_UDP=() W_SENT=() R_SENT=() W_SCPU=() R_SCPU=()
CPU_TCP=() CPU_UDP_S=() CPU_UDP_M=() RUN_TCP=() RUN_UDP_S=() RUN_UDP_M=()
LEFTOVERS=0

# nr_cpu_report SAMPLE0 SAMPLE1 WALL PACKETS: netrecd's CPU between two cpu_samples over WALL
# seconds in which PACKETS crossed the veth; sets CPU_S (utime+stime, CPU-s per s), CPU_M
# (utime+stime, CPU-s per million packets), RUN_S and RUN_M (the same from schedstat) and
# CPU_LINE (all four).
nr_cpu_report() {
	local t0 n0 t1 n1
	read -r t0 n0 <<< "$1"
	read -r t1 n1 <<< "$2"
	CPU_S=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v w="$3" 'BEGIN { printf "%.4f", (b - a) / hz / w }')
	CPU_M=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v p="$4" \
		'BEGIN { if (p > 0) printf "%.4f", (b - a) / hz * 1e6 / p; else print "n/a" }')
	CPU_LINE="netrecd $(awk -v a="$t0" -v b="$t1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	CPU_LINE+=" CPU-s (utime+stime) = $CPU_S CPU-s/s"
	[ "$4" -gt 0 ] && CPU_LINE+=", $CPU_M CPU-s per million packets"
	RUN_S=$(awk -v a="$n0" -v b="$n1" -v w="$3" 'BEGIN { printf "%.5f", (b - a) / 1e9 / w }')
	RUN_M=$(awk -v a="$n0" -v b="$n1" -v p="$4" \
		'BEGIN { if (p > 0) printf "%.5f", (b - a) / 1e9 * 1e6 / p; else print "n/a" }')
	CPU_LINE+=" (schedstat: $RUN_S CPU-s/s"
	[ "$4" -gt 0 ] && CPU_LINE+=", $RUN_M per million"
	CPU_LINE+=")"
}

# run_tcp KIND ROUND: one iperf3 run; KIND is without or with.
run_tcp() {
	local kind=$1 r=$2 name=tcp-$1-$2 c0="0 0" c1="0 0" t0 t1 json bps retr hcpu rcpu line norm
	local pid
	[ "$kind" = with ] && c0=$(cpu_sample "$NR_PID")
	t0=$EPOCHREALTIME
	# In the background and waited for: a SIGINT or SIGTERM then runs the trap at once (bash
	# defers traps while a foreground command runs, `wait` it interrupts).
	bg pid "$name" ip netns exec "$NS_A" "${ON_TX[@]}" iperf3 -c "$ADDR_B" -p "$TCP_PORT" \
		-t "$DURATION" -O 1 -J
	wait "$pid" || true
	forget "$pid"
	t1=$EPOCHREALTIME
	[ "$kind" = with ] && c1=$(cpu_sample "$NR_PID")
	json=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d: print("error", d["error"].replace(" ", "_")); sys.exit()
e = d["end"]
c = e.get("cpu_utilization_percent", {})
print(e["sum_received"]["bits_per_second"], e["sum_sent"].get("retransmits", 0),
      c.get("host_total", 0), c.get("remote_total", 0))' \
		"$WORK/$name.out" 2>&1) || json="error unreadable_JSON"
	read -r bps retr hcpu rcpu <<< "$json"
	if [ "$bps" = error ]; then
		say "  tcp: iperf3 FAILED: $retr $(head -c 300 "$WORK/$name.err")"
		return
	fi
	line="tcp: $(awk -v b="$bps" 'BEGIN { printf "%.2f", b / 1e9 }') Gbit/s"
	line+=" (iperf3, 1 stream, ${DURATION}s), retransmits $retr; CPU (iperf3's figures) client"
	line+=" $(fmt_int "$hcpu")%, server $(fmt_int "$rcpu")%"
	norm=$(awk -v b="$bps" -v h="$hcpu" -v s="$rcpu" 'BEGIN { if (h + s > 0) print b / ((h + s) / 100) }')
	line+=" = $(gbit "$norm") Gbit per CPU-s"
	if [ "$kind" = with ]; then
		nr_cpu_report "$c0" "$c1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 0
		line+="; $CPU_LINE"
		CPU_TCP[r]=$CPU_S
		RUN_TCP[r]=$RUN_S
		R_TCP[r]=$bps
		R_TCPN[r]=$norm
	else
		W_TCP[r]=$bps
		W_TCPN[r]=$norm
	fi
	say "  $line"
}

# run_udp KIND ROUND: one bench-udpflood run.
run_udp() {
	local kind=$1 r=$2 name=udp-$1-$2 rpid spid c0="0 0" c1="0 0" t0 t1 rb0 rb1 sent recv line scpu
	local -a a0 a1 b0 b1
	bg rpid "$name-recv" ip netns exec "$NS_B" "${ON_RX[@]}" "$FLOOD" --recv --ports "$PORTS" \
		"$ADDR_B" "$UDP_PORT"
	wait_for "$WORK/$name-recv.err" "listening" "$rpid" 5 ||
		fail "bench-udpflood --recv did not start: $(cat "$WORK/$name-recv.err")"
	read -r -a a0 <<< "$(veth_stats "$NS_A" "$DEV_A")"
	read -r -a b0 <<< "$(veth_stats "$NS_B" "$DEV_B")"
	rb0=$(udp_mib "$NS_B" RcvbufErrors)
	[ "$kind" = with ] && c0=$(cpu_sample "$NR_PID")
	t0=$EPOCHREALTIME
	bg spid "$name-send" ip netns exec "$NS_A" "${ON_TX[@]}" "$FLOOD" --duration "$DURATION" \
		--workers "$SENDERS" --ports "$PORTS" --size "$SIZE" "$ADDR_B" "$UDP_PORT"
	wait "$spid" || fail "bench-udpflood failed: $(cat "$WORK/$name-send.err")"
	forget "$spid"
	t1=$EPOCHREALTIME
	[ "$kind" = with ] && c1=$(cpu_sample "$NR_PID")
	sleep 0.3 # the receiver drains its sockets
	stop_pid "$rpid" 5
	read -r -a a1 <<< "$(veth_stats "$NS_A" "$DEV_A")"
	read -r -a b1 <<< "$(veth_stats "$NS_B" "$DEV_B")"
	rb1=$(udp_mib "$NS_B" RcvbufErrors)
	sent=$(grep '^udpflood: sent=' "$WORK/$name-send.out")
	recv=$(grep '^udpflood: received=' "$WORK/$name-recv.out") ||
		fail "the receiver printed nothing: $(cat "$WORK/$name-recv.err")"
	scpu=$(awk -v c="$(field "$sent" cpu)" -v n="$(field "$sent" sent)" \
		'BEGIN { if (n > 0) printf "%.0f", c * 1e9 / n; else print "n/a" }')
	line="udp: sent $(fmt_int "$(field "$sent" rate)")/s, received $(fmt_int "$(field "$recv" rate)")/s"
	line+=" ($(field "$sent" sent) sent, $(field "$recv" received) received, send errors"
	line+=" $(field "$sent" errors)); veth: $DEV_A tx $((a1[2] - a0[2])) (dropped $((a1[3] - a0[3])))"
	line+=", $DEV_B rx $((b1[0] - b0[0])) (dropped $((b1[1] - b0[1]))); RcvbufErrors $((rb1 - rb0))"
	line+="; sender CPU $(field "$sent" cpu) s = $scpu ns/packet, receiver CPU $(field "$recv" cpu) s"
	if [ "$kind" = with ]; then
		nr_cpu_report "$c0" "$c1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
			$((b1[0] - b0[0]))
		line+="; $CPU_LINE"
		CPU_UDP_S[r]=$CPU_S
		CPU_UDP_M[r]=$CPU_M
		RUN_UDP_S[r]=$RUN_S
		RUN_UDP_M[r]=$RUN_M
		R_UDP[r]=$(field "$recv" rate)
		R_SENT[r]=$(field "$sent" rate)
		R_SCPU[r]=$scpu
	elif [ "$kind" = null ]; then
		N_UDP[r]=$(field "$recv" rate)
		N_SCPU[r]=$scpu
	else
		W_UDP[r]=$(field "$recv" rate)
		W_SENT[r]=$(field "$sent" rate)
		W_SCPU[r]=$scpu
	fi
	say "  $line"
}

# phase_without ROUND [closing]
phase_without() {
	local a b
	a=$(tcx_count "$NS_A")
	b=$(tcx_count "$NS_B")
	say "round $1${2:+ ($2)}, without the recorder (tcx programs: $a in -a, $b in -b)"
	[ "$a$b" = 00 ] || say "  WARNING: TC PROGRAMS ARE ATTACHED IN A 'WITHOUT' PHASE"
	run_tcp without "$1"
	sleep 1
	run_udp without "$1"
	sleep 1
}

# phase_null ROUND: the floor. The same UDP flood with a one-instruction program ("next") on
# tcx ingress and egress of both veth ends (bench-bpfrun --attach-null): what the hook costs
# before any program does any work. No program can cost less than this on these hooks.
phase_null() {
	local pa pb
	[ "$NULL" = 1 ] || return 0
	bg pa "null-a-$1" ip netns exec "$NS_A" "$BPFRUN" --attach-null "$DEV_A"
	bg pb "null-b-$1" ip netns exec "$NS_B" "$BPFRUN" --attach-null "$DEV_B"
	if ! wait_for "$WORK/null-a-$1.out" attached "$pa" 5 ||
		! wait_for "$WORK/null-b-$1.out" attached "$pb" 5; then
		fail "bench-bpfrun --attach-null: $(cat "$WORK/null-a-$1.err" "$WORK/null-b-$1.err")"
	fi
	say "round $1, a null tcx program on both veth ends (tcx programs: $(tcx_count "$NS_A")" \
		"in -a, $(tcx_count "$NS_B") in -b)"
	run_udp null "$1"
	stop_pid "$pa" 5
	forget "$pa"
	stop_pid "$pb" 5
	forget "$pb"
	[ "$(tcx_count "$NS_A")$(tcx_count "$NS_B")" = 00 ] ||
		fail "the null programs are still attached after bench-bpfrun stopped"
	sleep 1
}

phase_with() {
	if [ "$NR_STATE" = unavailable ]; then
		return
	fi
	say "round $1, with netrecd --sources flows --netns $NS_A,$NS_B $FLOWS_ARGS $NETRECD_ARGS"
	if ! nr_start "$1"; then
		say "  THE FLOW SOURCE IS NOT AVAILABLE: $NR_WHY"
		say "  'with the recorder' phases skipped; the baseline figures follow"
		return
	fi
	run_tcp with "$1"
	sleep 1
	run_udp with "$1"
	nr_stop "$1" || true
	sleep 1
}

setup
for ((r = 1; r <= RUNS; r++)); do
	phase_without "$r"
	phase_null "$r"
	phase_with "$r"
done
# A last "without" phase, so that every "with" phase has one just before and one just after.
[ "$NR_STATE" = ok ] && phase_without $((RUNS + 1)) closing
stop_pid "$IPERF_PID" 5

# ---------------------------------------------------------------------------
gbits() { local v out=(); for v in "$@"; do out+=("$(gbit "$v")"); done; join_by / "${out[@]}"; }
ints() { local v out=(); for v in "$@"; do out+=("$(fmt_int "$v")"); done; join_by / "${out[@]}"; }

# paired W_ARRAY R_ARRAY: the median over the rounds of the overhead of each "with" run against
# the mean of the "without" runs just before and just after it (drift on a shared machine
# cancels out; the medians of all runs do not see it).
paired() {
	local -n w=$1 rr=$2
	local r ovs=() ref
	for r in "${!rr[@]}"; do
		if [ -z "${w[r]:-}" ] || [ -z "${w[r + 1]:-}" ]; then
			continue
		fi
		ref=$(awk -v a="${w[r]}" -v b="${w[r + 1]}" 'BEGIN { print (a + b) / 2 }')
		ovs+=("$(overhead "$ref" "${rr[r]}")")
	done
	[ ${#ovs[@]} -gt 0 ] || { echo "n/a"; return; }
	echo "$(median "${ovs[@]}")% ($(join_by / "${ovs[@]}"))"
}

tw=$(median "${W_TCP[@]}")
uw=$(median "${W_UDP[@]}")
sw=$(median "${W_SENT[@]}")
say "summary ($(date -u +%Y-%m-%dT%H:%MZ), ${DURATION}s per measurement, $RUNS rounds," \
	"$([ "$PIN" = 1 ] && echo "senders on CPU $PIN_TX, receivers on CPU $PIN_RX" || echo "not pinned")):"
say "  TCP, iperf3 1 stream, without: median $(gbit "$tw") Gbit/s ($(gbits "${W_TCP[@]}"))"
say "  UDP $((SIZE + 46))-byte frames ($SIZE-byte payload), $((SENDERS * PORTS)) flows, without:" \
	"median received $(fmt_int "$uw") packets/s ($(ints "${W_UDP[@]}")); sent $(fmt_int "$sw")/s;" \
	"sender CPU $(fmt_int "$(median "${W_SCPU[@]}")") ns/packet ($(join_by / "${W_SCPU[@]}"))"
if [ "$NR_STATE" != ok ]; then
	say "  with the recorder: NOT MEASURED: ${NR_WHY:-netrecd did not run}"
	exit 0
fi
tr_=$(median "${R_TCP[@]}")
ur=$(median "${R_UDP[@]}")
to=$(overhead "$tw" "$tr_")
uo=$(overhead "$uw" "$ur")
say "  TCP with netrecd: median $(gbit "$tr_") Gbit/s ($(gbits "${R_TCP[@]}"));" \
	"overhead of the medians $to% (target <= $TCP_TARGET%: $(met "$to" "$TCP_TARGET") here, where" \
	"each figure is a new iperf3 run; bench/flows-tcp.sh measures it within one stream);" \
	"per round against the runs before and after: $(paired W_TCP R_TCP)"
say "  UDP with netrecd: median received $(fmt_int "$ur") packets/s ($(ints "${R_UDP[@]}"));" \
	"sent $(fmt_int "$(median "${R_SENT[@]}")")/s; overhead of the medians $uo% (target <=" \
	"$UDP_TARGET%: $(met "$uo" "$UDP_TARGET")); per round against the runs before and after:" \
	"$(paired W_UDP R_UDP)"
wn=$(median "${W_TCPN[@]}")
rn=$(median "${R_TCPN[@]}")
say "  TCP per CPU-second of iperf3 (client + server, iperf3's CPU figures): without median" \
	"$(gbit "$wn") Gbit, with $(gbit "$rn") Gbit: overhead $(overhead "$wn" "$rn")%"
if [ "$NULL" = 1 ]; then
	un=$(median "${N_UDP[@]}")
	nn=$(median "${N_SCPU[@]}")
	say "  UDP with a null tcx program on both veth ends (the floor: the hooks alone): median" \
		"received $(fmt_int "$un") packets/s ($(ints "${N_UDP[@]}")); overhead of the medians" \
		"$(overhead "$uw" "$un")%; per round against the runs before and after:" \
		"$(paired W_UDP N_UDP); sender CPU $(fmt_int "$nn") ns/packet ($(join_by / "${N_SCPU[@]}"))"
	say "  netrecd's programs above the floor: $(overhead "$un" "$ur")% of the null program's rate" \
		"(overhead $uo% = hooks $(overhead "$uw" "$un")% + programs); sender CPU +$(awk -v a="$nn" \
		-v b="$(median "${R_SCPU[@]}")" 'BEGIN { printf "%.0f", b - a }') ns per packet over the null program"
fi
ws=$(median "${W_SCPU[@]}")
rs=$(median "${R_SCPU[@]}")
read -r add wpc rpc so < <(awk -v a="$ws" -v b="$rs" 'BEGIN {
	if (a > 0 && b > 0) printf "%.0f %.0f %.0f %.2f\n", b - a, 1e9 / a, 1e9 / b, (1 - a / b) * 100
	else print "n/a n/a n/a n/a" }')
say "  UDP sender CPU per packet: without median $(fmt_int "$ws") ns ($(join_by / "${W_SCPU[@]}")), with" \
	"$(fmt_int "$rs") ns ($(join_by / "${R_SCPU[@]}")): the TC programs add $add ns per packet; as a rate" \
	"per sender CPU-second $wpc without, $rpc with: overhead $so% (target <= $UDP_TARGET%:" \
	"$(met "$so" "$UDP_TARGET"))"
say "  netrecd CPU at the UDP load: median $(median "${CPU_UDP_S[@]}") CPU-s/s," \
	"$(median "${CPU_UDP_M[@]}") CPU-s per million packets (utime+stime, 1/$HZ s ticks);" \
	"schedstat $(median "${RUN_UDP_S[@]}") CPU-s/s, $(median "${RUN_UDP_M[@]}") CPU-s per" \
	"million packets; at the TCP load $(median "${CPU_TCP[@]}") CPU-s/s (schedstat" \
	"$(median "${RUN_TCP[@]}"))"
say "  after every stop: $([ "$LEFTOVERS" = 0 ] && echo "nothing left attached or loaded" ||
	echo "SOMETHING WAS LEFT $LEFTOVERS time(s), see above")"
