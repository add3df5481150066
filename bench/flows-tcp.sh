#!/bin/bash
# SPDX-License-Identifier: MIT
# TCP throughput with and without netrecd's flow programs, compared inside each iperf3
# connection: the recorder is started and stopped while the stream runs, and a window with it
# is compared with the windows of the same connection without it.
#
#   bench/flows-tcp.sh [-w SEC] [--rounds N] [--pin split|same|both] [--null] [--build DIR] [--keep]
#
# Why this and not bench/flows.sh's TCP figure: there every measurement is a new iperf3 run,
# tens of seconds apart, and on this shared VM one stream alone moves between 14 and 22 Gbit/s
# from run to run, more than the 3% the target is about. Here the windows compared are seconds
# apart and in one connection, so what the neighbours of the VM do and what state the
# connection settles in (its window, its rate of retransmissions) cancel out; every round is
# a new connection, so the rounds are independent samples, and the mean of their overheads
# comes with a confidence interval. (A first version measured all rounds inside one long
# connection: its pairs shared windows, and one connection's state decided a whole run.)
#
# The world: namespaces nrbench-ft-PID-a (iperf3 client) and -b (iperf3 server), a veth pair
# veth-a (10.251.0.1) - veth-b (10.251.0.2), IPv6 off; nothing of the host is touched. The
# EXIT trap stops what the script started, by PID, and deletes both namespaces.
#
# A round: iperf3 -s -1 and iperf3 -c start (one stream), WARM s (default 3) for slow start
# and the buffers to settle; a window without the recorder; netrecd started (`--sources flows
# --netns A,B --flows-interval 5s`), and once its programs are on both veth ends
# (bench-tcxquery) and SETTLE s (default 1) have passed, a window with it, then netrecd stopped
# (SIGTERM) and SETTLE s; a closing window without; the client and server stopped. With --null,
# a window with a one-instruction program on both hooks of both veth ends (bench-bpfrun
# --attach-null: the floor, what the hooks cost before a program does anything) comes after
# the window with netrecd in odd rounds and before it in even ones. A window of WINDOW s
# (default 5, the flow interval: every window with netrecd holds one of its collections) reads
# the bytes the server's socket has received (`ss -tin` bytes_received: goodput,
# retransmissions not counted) at its start and end; the rate is their difference over the
# time between the two readings (each taken as the midpoint of the `ss` call), and the
# client's bytes_retrans say how much was sent twice. netrecd's start and stop (loading and
# verifying the programs, the last collection) fall outside the windows: that is the cost of
# starting the recorder, not of recording.
#
# Pinning (--pin): "split" puts the client on CPU 0 and the server on CPU 1, as in
# bench/flows.sh: both CPUs work, and this VM shows retransmissions of 0.5-1% of the bytes on
# the veth (data sent from both CPUs' softirqs arrives out of order), which makes the rate
# move with timing. "same" puts both on CPU 0: one CPU does all the work (the client, the
# server, both TC hooks), no retransmissions, and the rate is that CPU's capacity over the
# cost per byte, the cleanest measure of what the programs cost. "both" (the default) runs
# split, then same.
#
# It prints each round's rates, then per pinning the medians, and the overhead of each round's
# window with the recorder against the mean of its two windows without: mean, median, and the
# 95% confidence interval of the mean (Student's t over the rounds). Target: 3%. With --null,
# the same for the null program, and netrecd against the null program of its round (what the
# programs' work costs above the hooks').
# Options (or environment): -w SEC (WINDOW), --rounds N (ROUNDS, default 30), --pin MODE
# (PIN, default both), --null (NULL=1), WARM and SETTLE (whole seconds), --build DIR (BUILD,
# default ../build), --keep (KEEP=1: keep the work directory). Needs root, iperf3 (installed
# with apt-get if missing), ss, bench-tcxquery and netrecd from the build (bench-bpfrun for
# --null).
set -euo pipefail

BUILD=${BUILD:-$(dirname "$0")/../build}
WINDOW=${WINDOW:-5}
ROUNDS=${ROUNDS:-30}
PIN=${PIN:-both}
NULL=${NULL:-0}
SETTLE=${SETTLE:-1}
WARM=${WARM:-3}
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
case $SETTLE$WARM in *[!0-9]* | '') fail "SETTLE and WARM take whole seconds" ;; esac
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

# recorder_window MODE: netrecd started, a window with it, netrecd stopped.
recorder_window() {
	local nr log=$WORK/netrecd-$1-$ROUND.err
	bg nr "netrecd-$1-$ROUND" "$NETRECD" -d "$WORK/store" --sources flows \
		--netns "$NS_A,$NS_B" --flows-interval 5s
	until_attached "$nr" "$NS_A" veth-a "$NS_B" veth-b || fail "netrecd's programs are not on both veth ends: $(tail -3 "$log")"
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
	detached || fail "the null program is still on a veth end after bench-bpfrun stopped"
	sleep "$SETTLE"
}

# until_listening PID: waits (5 s at most) for the iperf3 server PID to listen.
until_listening() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ip netns exec "$NS_B" ss -Hltn 'sport = :5201')" ] && return 0
		kill -0 "$1" 2> /dev/null || return 1
		sleep 0.05
	done
	return 1
}

# run_pinning MODE: ROUNDS rounds, each a new connection; the windows go to $WORK/MODE.rates
# (KIND: without, with, null).
ROUND=0
RATES=""
CLIENT=""
run_pinning() {
	local mode=$1 rx server
	[ "$mode" = split ] && rx=1 || rx=0
	RATES=$WORK/$mode.rates
	: > "$RATES"
	say "pinning $mode: server on CPU $rx, client on CPU 0; $ROUNDS rounds, a new connection" \
		"each, of ${WINDOW}s windows"
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		bg server "server-$mode" ip netns exec "$NS_B" taskset -c "$rx" iperf3 -s -1 \
			-B 10.251.0.2 -p 5201
		until_listening "$server" || fail "iperf3 -s did not start: $(tail -3 "$WORK/server-$mode.err")"
		bg CLIENT client ip netns exec "$NS_A" taskset -c 0 iperf3 -c 10.251.0.2 -p 5201 \
			-t $((4 * WINDOW + 6 * SETTLE + WARM + 60)) -i 0
		sleep "$WARM"
		window without
		# Odd rounds: netrecd, then the null program; even rounds the other way round, so
		# that neither kind always follows netrecd's start or a detach.
		if [ "$NULL" = 1 ] && [ $((ROUND % 2)) = 0 ]; then
			null_window
		fi
		recorder_window "$mode"
		if [ "$NULL" = 1 ] && [ $((ROUND % 2)) = 1 ]; then
			null_window
		fi
		window without
		stop_pid "$CLIENT" 5
		stop_pid "$server" 5
		say "  round $ROUND (Gbit/s, retransmitted %): $(awk -v r="$ROUND" \
			'$1 == r { printf "%s %s %s  ", $2, $3, $4 }' "$RATES")"
	done
	summarize "$mode"
}

# summarize MODE: medians, and the paired overheads with their confidence interval.
summarize() {
	python3 - "$WORK/$1.rates" "$1" "$TARGET" << 'EOF'
import statistics as st, sys
rounds, retr = {}, {}  # round -> kind -> [Gbit/s]; kind -> [retransmitted %]
for line in open(sys.argv[1]):
    r, kind, v, x = line.split()
    rounds.setdefault(int(r), {}).setdefault(kind, []).append(float(v))
    retr.setdefault(kind, []).append(float(x))
mode, target = sys.argv[2], float(sys.argv[3])
# Two-sided 95% quantiles of Student's t by degrees of freedom (the largest key <= df).
T = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
     10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09, 25: 2.06, 30: 2.04, 40: 2.02, 60: 2.00, 120: 1.98}
def tq(df):
    return T[max(k for k in T if k <= df)]
def pct(a, b):
    return (a - b) * 100 / a
def stats(d):
    m, sd = st.mean(d), st.stdev(d)
    half = tq(len(d) - 1) * sd / len(d) ** 0.5
    return (f"({len(d)} rounds): mean {m:.2f}%, median {st.median(d):.2f}%, sd {sd:.2f}, "
            f"95% confidence interval of the mean {m - half:.2f}% to {m + half:.2f}%"), m, m + half
full = [r for r in sorted(rounds) if len(rounds[r].get("without", [])) == 2 and "with" in rounds[r]]
if len(full) < 2:
    sys.exit(f"fltcp: pinning {mode}: fewer than 2 complete rounds")
wo = [v for r in full for v in rounds[r]["without"]]
print(f"fltcp: pinning {mode}: without: median {st.median(wo):.2f} Gbit/s (min {min(wo):.2f}, "
      f"max {max(wo):.2f}, {len(wo)} windows); retransmitted: median "
      f"{st.median(retr['without']):.3f}% of the bytes received")
for kind in ("with", "null"):
    rs = [r for r in full if kind in rounds[r]]
    if not rs:
        continue
    w = [rounds[r][kind][0] for r in rs]
    line, m, hi = stats([pct(st.mean(rounds[r]["without"]), rounds[r][kind][0]) for r in rs])
    verdict = ""
    if kind == "with":
        verdict = "; target <= %g%%: %s" % (target,
            "met (the whole interval is under it)" if hi <= target else
            "NOT shown (the mean is under it, the interval reaches %.2f%%)" % hi
            if m <= target else "NOT met")
    print(f"fltcp: pinning {mode}: {'netrecd' if kind == 'with' else 'null program'}: median "
          f"{st.median(w):.2f} Gbit/s; overhead against the mean of the round's windows "
          f"without {line}{verdict}; retransmitted: median {st.median(retr[kind]):.3f}%")
rs = [r for r in full if "null" in rounds[r]]
if rs:
    # The programs' work above the hook's: netrecd against the null program of its round.
    line, _, _ = stats([pct(rounds[r]["null"][0], rounds[r]["with"][0]) for r in rs])
    print(f"fltcp: pinning {mode}: netrecd against the null program of the same round {line}")
EOF
}

case $PIN in
both) run_pinning split; run_pinning same ;;
*) run_pinning "$PIN" ;;
esac
