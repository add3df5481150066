#!/bin/bash
# SPDX-License-Identifier: MIT
# TCP throughput with and without netrecd's flow programs, measured inside one long iperf3
# stream: the recorder is started and stopped while the stream runs, and short windows with
# it are compared with the windows just before and after.
#
#   bench/flows-tcp.sh [-w SEC] [--rounds N] [--pin split|same|both] [--null] [--build DIR] [--keep]
#
# Why this and not bench/flows.sh's TCP figure: there every measurement is a new iperf3 run,
# seconds apart, and on this shared VM one stream alone moves between 14 and 22 Gbit/s from run
# to run, more than the 3% the target is about. Here one connection runs for the whole
# benchmark (no slow start, no new socket, no new process), and the windows of one round are
# seconds apart, so what the neighbours of the VM do cancels out in the pairs; and there are
# many pairs, so the mean of the paired overheads comes with a confidence interval.
#
# The world: namespaces nrbench-ft-PID-a (iperf3 client) and -b (iperf3 server), a veth pair
# veth-a (10.251.0.1) - veth-b (10.251.0.2), IPv6 off; nothing of the host is touched. The
# EXIT trap stops what the script started, by PID, and deletes both namespaces.
#
# Each round: a window without the recorder; netrecd started (`--sources flows --netns A,B
# --flows-interval 5s`), and once its programs are on both veth ends (bench-tcxquery) and
# SETTLE s have passed, a window with it; netrecd stopped (SIGTERM), SETTLE s, and the next
# round. A closing window without follows the last round, so every window with the recorder
# has one without just before and one just after. With --null, each round also has a window
# with a one-instruction program on both hooks of both veth ends (bench-bpfrun --attach-null):
# the floor, what the hooks cost before a program does anything; it comes after the window
# with netrecd in odd rounds and before it in even ones. A window of WINDOW s (default 5, the flow interval: every window with netrecd holds
# one of its collections) reads the bytes the server's socket has received (`ss -tin`
# bytes_received: goodput, retransmissions not counted) at its start and end; the rate is
# their difference over the time between the two readings (each taken as the midpoint of the
# `ss` call). netrecd's start and stop (loading and verifying the programs, the last
# collection) fall outside the windows: that is the cost of starting the recorder, not of
# recording.
#
# Pinning (--pin): "split" puts the client on CPU 0 and the server on CPU 1, as in
# bench/flows.sh: both CPUs work, and this VM shows thousands of retransmissions per second on
# the veth (data sent from both CPUs' softirqs arrives out of order), which makes the rate
# move with timing. "same" puts both on CPU 0: one CPU does all the work (the client, the
# server, both TC hooks), no retransmissions, and the rate is that CPU's capacity over the
# cost per byte, the cleanest measure of what the programs cost. "both" (the default) runs
# split, then same, each with its own stream.
#
# It prints each round's rates, then per pinning: the medians and their overhead, and the
# overhead of each window with the recorder against the mean of its two neighbours without:
# mean, median, and the 95% confidence interval of the mean (Student's t). Target: 3%. With
# --null, the same for the null program, and netrecd against the null program of its round
# (what the programs' work costs above the hooks').
# Options (or environment): -w SEC (WINDOW), --rounds N (ROUNDS, default 30), --pin MODE
# (PIN, default both), --null (NULL=1), SETTLE (default 1), --build DIR (BUILD, default
# ../build), --keep (KEEP=1: keep the work directory). Needs root, iperf3 (installed with
# apt-get if missing), ss, bench-tcxquery and netrecd from the build (bench-bpfrun for --null).
set -euo pipefail

BUILD=${BUILD:-$(dirname "$0")/../build}
WINDOW=${WINDOW:-5}
ROUNDS=${ROUNDS:-30}
PIN=${PIN:-both}
NULL=${NULL:-0}
SETTLE=${SETTLE:-1}
KEEP=${KEEP:-0}
TARGET=3 # percent

usage() { sed -n '7p' "$0" | sed 's/^#  */usage: /'; }
while [ $# -gt 0 ]; do
	case $1 in
	-w) WINDOW=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--pin) PIN=$2; shift 2 ;;
	--null) NULL=1; shift ;;
	--build) BUILD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

say() { echo "fltcp: $*"; }
fail() { echo "fltcp: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (network namespaces, BPF)"
case $WINDOW in '' | 0 | *[!0-9]*) fail "-w takes whole seconds, at least 1" ;; esac
case $ROUNDS in '' | 0 | 1 | *[!0-9]*) fail "--rounds takes a number >= 2" ;; esac
case $PIN in split | same | both) ;; *) fail "--pin takes split, same or both" ;; esac
if ! command -v iperf3 > /dev/null; then
	say "installing iperf3 (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iperf3 > /dev/null
fi
for t in ip ss iperf3 python3 taskset; do
	command -v "$t" > /dev/null || fail "$t not found"
done
[ "$(nproc)" -ge 2 ] || fail "needs 2 CPUs (pinning)"
BUILD=$(cd "$BUILD" && pwd) || fail "no build directory"
NETRECD=$BUILD/netrecd
TCXQ=$BUILD/bench/bench-tcxquery
BPFRUN=$BUILD/bench/bench-bpfrun
for f in "$NETRECD" "$TCXQ"; do
	[ -x "$f" ] || fail "$f not built (meson compile -C $BUILD)"
done
[ "$NULL" = 0 ] || [ -x "$BPFRUN" ] || fail "$BPFRUN not built (needed for --null)"

NS_A=nrbench-ft-$$-a
NS_B=nrbench-ft-$$-b
WORK=$(mktemp -d /tmp/nrbench-ft.XXXXXX)
PIDS=()
NS_MADE=()
. "$(dirname "$0")/lib.sh"

veth_pair "$NS_A" "$NS_B" veth-a veth-b 10.251.0.1 10.251.0.2

# received: "TIME BYTES": the most bytes any established socket of the server has received
# (the data connection; the control one has a few hundred), and when, in s: the midpoint of
# the ss call.
received() {
	local t0 t1 b
	t0=$EPOCHREALTIME
	b=$(ip netns exec "$NS_B" ss -Htin state established '( sport = :5201 )' |
		sed -n 's/.*bytes_received:\([0-9]*\).*/\1/p' | sort -n | tail -1)
	t1=$EPOCHREALTIME
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (a + b) / 2 }')" "${b:-0}"
}

# retrans: the bytes the client has retransmitted so far (`ss -tin` bytes_retrans).
retrans() {
	ip netns exec "$NS_A" ss -Htin state established '( dport = :5201 )' |
		sed -n 's/.*bytes_retrans:\([0-9]*\).*/\1/p' | sort -n | tail -1
}

# window KIND: sleeps WINDOW s and appends "ROUND KIND GBITS RETRANS" to $WORK/MODE.rates: the
# server's goodput over the window, and the bytes retransmitted in it, in % of those received.
window() {
	local t0 b0 t1 b1 r0 r1
	r0=$(retrans)
	read -r t0 b0 <<< "$(received)"
	sleep "$WINDOW"
	read -r t1 b1 <<< "$(received)"
	r1=$(retrans)
	kill -0 "$CLIENT" 2> /dev/null || fail "iperf3 -c ended early: $(tail -3 "$WORK/client.err")"
	[ "$b1" -gt "$b0" ] || fail "the server received nothing in a window (ss -tin: $b0, then $b1 bytes)"
	awk -v r="$ROUND" -v k="$1" -v t0="$t0" -v t1="$t1" -v b=$((b1 - b0)) -v x=$((${r1:-0} - ${r0:-0})) \
		'BEGIN { printf "%d %s %.3f %.3f\n", r, k, b * 8 / (t1 - t0) / 1e9, (b > 0 ? x * 100 / b : 0) }' \
		>> "$RATES"
}

# detached: true when neither veth end has a tcx program or a tc filter left.
detached() {
	local pair ns dev
	for pair in "$NS_A veth-a" "$NS_B veth-b"; do
		read -r ns dev <<< "$pair"
		ip netns exec "$ns" "$TCXQ" "$dev" 2> /dev/null | grep -q 'progs=[1-9]' && return 1
		[ -z "$(ip netns exec "$ns" tc filter show dev "$dev" ingress)$(ip netns exec "$ns" tc filter show dev "$dev" egress)" ] ||
			return 1
	done
	return 0
}

# until_attached PID: waits (10 s at most) for programs on both veth ends (attached: lib.sh).
until_attached() {
	local i
	for ((i = 0; i < 200; i++)); do
		attached "$NS_A" veth-a && attached "$NS_B" veth-b && return 0
		kill -0 "$1" 2> /dev/null || return 1
		sleep 0.05
	done
	return 1
}

# recorder_window MODE: netrecd started, a window with it, netrecd stopped.
recorder_window() {
	local nr log=$WORK/netrecd-$1-$ROUND.err
	bg nr "netrecd-$1-$ROUND" "$NETRECD" -d "$WORK/store" --sources flows \
		--netns "$NS_A,$NS_B" --flows-interval 5s
	until_attached "$nr" || fail "netrecd's programs are not on both veth ends: $(tail -3 "$log")"
	sleep "$SETTLE"
	window with
	kill -0 "$nr" 2> /dev/null || fail "netrecd died: $(tail -3 "$log")"
	stop_pid "$nr" 30
	[ "$STATUS" = 0 ] || fail "netrecd exited with status $STATUS: $(tail -3 "$log")"
	detached || fail "tcx programs left on the veth ends after netrecd stopped"
	rm -rf "$WORK/store"
	sleep "$SETTLE"
}

# null_window: the null program attached to both ends, a window, the program detached.
null_window() {
	local na nb
	bg na null-a ip netns exec "$NS_A" "$BPFRUN" --attach-null veth-a
	bg nb null-b ip netns exec "$NS_B" "$BPFRUN" --attach-null veth-b
	if ! wait_for "$WORK/null-a.out" attached "$na" 5 ||
		! wait_for "$WORK/null-b.out" attached "$nb" 5; then
		fail "bench-bpfrun --attach-null did not attach"
	fi
	sleep "$SETTLE"
	window null
	stop_pid "$na" 5
	stop_pid "$nb" 5
	sleep "$SETTLE"
}

# run_pinning MODE: one stream, ROUNDS rounds; the windows go to $WORK/MODE.rates (KIND:
# without, with, null).
ROUND=0
RATES=""
run_pinning() {
	local mode=$1 rx dur
	[ "$mode" = split ] && rx=1 || rx=0
	RATES=$WORK/$mode.rates
	: > "$RATES"
	bg SERVER "server-$mode" ip netns exec "$NS_B" taskset -c "$rx" iperf3 -s -B 10.251.0.2 -p 5201 -1
	sleep 0.5
	dur=$((ROUNDS * (2 * WINDOW + 4 * SETTLE + 8) * (NULL + 2) / 2 + 60))
	bg CLIENT client ip netns exec "$NS_A" taskset -c 0 iperf3 -c 10.251.0.2 -p 5201 -t "$dur" \
		-i 0
	sleep 3 # slow start and the autotuned buffers settle
	say "pinning $mode: server on CPU $rx, client on CPU 0; $ROUNDS rounds of ${WINDOW}s windows"
	for ((ROUND = 1; ROUND <= ROUNDS + 1; ROUND++)); do
		window without
		if [ "$ROUND" -gt "$ROUNDS" ]; then
			say "  closing window without: $(tail -1 "$RATES" | cut -d' ' -f3) Gbit/s"
			break
		fi
		# Odd rounds: netrecd, then the null program; even rounds the other way round, so
		# that neither kind always follows netrecd's start or a detach.
		if [ "$NULL" = 1 ] && [ $((ROUND % 2)) = 0 ]; then
			null_window
		fi
		recorder_window "$mode"
		if [ "$NULL" = 1 ] && [ $((ROUND % 2)) = 1 ]; then
			null_window
		fi
		say "  round $ROUND (Gbit/s, retransmitted %): $(awk -v r="$ROUND" \
			'$1 == r { printf "%s %s %s  ", $2, $3, $4 }' "$RATES")"
	done
	stop_pid "$CLIENT" 5
	stop_pid "$SERVER" 5
	summarize "$mode"
}

# summarize MODE: medians, and the paired overheads with their confidence interval.
summarize() {
	python3 - "$WORK/$1.rates" "$1" "$TARGET" << 'EOF'
import statistics as st, sys
rates, retr = {}, {}
for line in open(sys.argv[1]):
    r, kind, v, x = line.split()
    rates.setdefault(kind, {})[int(r)] = float(v)
    retr.setdefault(kind, []).append(float(x))
mode, target = sys.argv[2], float(sys.argv[3])
wo = rates["without"]
# Two-sided 95% quantiles of Student's t by degrees of freedom (from 30 on, 2.04 to 1.96).
T = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
     10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09, 25: 2.06, 30: 2.04, 40: 2.02, 60: 2.00}
def tq(df):
    return T[max(k for k in T if k <= df)] if df < 120 else 1.96
def pct(a, b):
    return (a - b) * 100 / a
print(f"fltcp: pinning {mode}: without: median {st.median(wo.values()):.2f} Gbit/s "
      f"(min {min(wo.values()):.2f}, max {max(wo.values()):.2f}, {len(wo)} windows); "
      f"retransmitted: median {st.median(retr['without']):.3f}% of the bytes received")
for kind in ("with", "null"):
    if kind not in rates:
        continue
    w = rates[kind]
    paired = [pct((wo[r] + wo[r + 1]) / 2, w[r]) for r in sorted(w) if r in wo and r + 1 in wo]
    n = len(paired)
    m, sd = st.mean(paired), st.stdev(paired)
    half = tq(n - 1) * sd / n ** 0.5
    name = "netrecd" if kind == "with" else "null program"
    verdict = ""
    if kind == "with":
        verdict = "; target <= %g%%: %s" % (target,
            "met (the whole interval is under it)" if m + half <= target else
            "NOT shown (the mean is under it, the interval reaches %.2f%%)" % (m + half)
            if m <= target else "NOT met")
    print(f"fltcp: pinning {mode}: {name}: median {st.median(w.values()):.2f} Gbit/s; overhead of "
          f"the medians {pct(st.median(wo.values()), st.median(w.values())):.2f}%; paired with "
          f"the windows before and after ({n}): mean {m:.2f}%, median {st.median(paired):.2f}%, "
          f"sd {sd:.2f}, 95% confidence interval of the mean {m - half:.2f}% to {m + half:.2f}%"
          + verdict + f"; retransmitted: median {st.median(retr[kind]):.3f}%")
if "null" in rates:
    # The programs' work above the hook's: netrecd against the null program of its round.
    d = [pct(rates["null"][r], rates["with"][r]) for r in sorted(rates["with"]) if r in rates["null"]]
    m, half = st.mean(d), tq(len(d) - 1) * st.stdev(d) / len(d) ** 0.5
    print(f"fltcp: pinning {mode}: netrecd against the null program of the same round "
          f"({len(d)}): mean {m:.2f}%, median {st.median(d):.2f}%, 95% confidence interval "
          f"{m - half:.2f}% to {m + half:.2f}%")
EOF
}

case $PIN in
both) run_pinning split; run_pinning same ;;
*) run_pinning "$PIN" ;;
esac
