#!/bin/bash
# SPDX-License-Identifier: MIT
# TCP throughput over a veth path with netrecd's flow programs on it and over one without, in
# the same connection: the stream is moved between two identical veth pairs every few seconds,
# and netrecd, running throughout, records only one of them.
#
#   bench/flows-tcp.sh [-w SEC] [--cycles N] [--conns N] [--pin split|same|both] [--control|--start] [--build DIR] [--keep]
#
# Why this design. On this shared VM one iperf3 stream moves between 10 and 17 Gbit/s from
# second to second, and from one run to the next; the target is 3%. bench/flows.sh's TCP
# figure (a new iperf3 run for each measurement) cannot resolve that. An earlier version of
# this script compared 5 s windows of one connection before, during and after a netrecd run
# that it started and stopped inside the connection (the restart design, at commit b26858b):
# one comparison per connection, sd 6-7% per comparison, and netrecd's start in the middle of
# the stream. Here netrecd starts before the connection and stops after it, and the
# comparison is repeated many times inside each connection, in short windows alternating
# between the two paths (ABBA order: a steady drift of the rate cancels in each cycle).
#
# The world: namespaces nrbench-ft-PID-a (iperf3 client) and -b (iperf3 server), joined by two
# veth pairs, a0 (10.251.1.1) - b0 (10.251.1.2) and a1 (10.251.2.1) - b1 (10.251.2.2), with
# permanent neighbour entries; the stream's addresses are on lo, 10.251.9.1 (a) and 10.251.9.2
# (b), and a /32 route in each namespace says which pair carries it (`ip route replace`, both
# directions at once; rp_filter is off in the two namespaces and on the four ends). Nothing of
# the host is touched; the EXIT trap stops what the script started, by PID, and deletes both
# namespaces.
#
# A connection: netrecd starts (`--sources flows --netns A,B --flows-include aR,bR
# --flows-interval 5s`: only pair R, 0 in odd connections and 1 in even ones, so neither pair
# is always the recorded one), and the script checks its programs are on aR and bR and that
# aU and bU have none; iperf3 -s -1 and iperf3 -c start (one stream), WARM s (default 3) for
# slow start; then CYCLES cycles (default 10, even) of two windows, one on each path, in the
# order R U, then U R, and so on (U R, then R U, ... in connections 3, 4, 7, 8, ...: the path a
# connection starts on is R in half of them; hence CONNS a multiple of 4). A window: the route
# moved, SETTLE s (default 0.5: the packets in flight on the other path arrive), then WINDOW s
# (default 2) in which the rate is the goodput the server's socket received (`ss -tin`
# bytes_received, read at both ends of the window; each reading timed at the midpoint of its
# `ss` call), and the client's bytes_retrans say how much was sent twice; the window fails if
# more than 1% of the bytes a sent in it went out through the other pair. Then iperf3 and
# netrecd stop, and the script checks that no program is left on any of the four ends and
# that the bytes netrecd's store holds for aR's egress equal aR's tx_bytes counter over the
# connection, and that it holds none for aU.
#
# The connection's overhead is its mean rate on U less its mean rate on R, in % of the first;
# the connections are independent samples (each a new connection and a new netrecd), and the
# script prints their mean with a 95% confidence interval (Student's t). Target: 3%. What the
# comparison leaves out, by design: netrecd's own CPU (it runs in both windows; bench/flows.sh
# measures it, about 0.002 CPU-s/s) and its start and stop.
#
# --control: netrecd records both pairs, and the pair called R is the one it would record
# otherwise. Both windows then carry the programs, and the "overhead" is the design's own bias
# (the order of the windows, the route moves, the pairs): it should be 0 within its interval.
#
# --start: what netrecd's start costs the stream, second by second (the two-path comparison
# above leaves the start out by design; the restart design before it put it 1-6 s before its
# window and measured 3.10%). Each connection stays on one pair P (0 in odd connections, 1 in
# even ones); after WARM s, PRE (default 4) windows of 1 s without netrecd, then netrecd is
# started (at t = 0) and POST (default 10) windows of 1 s follow, aligned to t = 0. In "test"
# connections (1, 2, 5, 6, ...) netrecd records P, the stream's pair; in "control" ones (3, 4,
# 7, 8, ...) it records the other pair, so it does all of its start (load, verify, allocate,
# attach) but no program is on the stream's path. A window's overhead is 1 - its rate / the mean
# rate of the connection's PRE windows; the script prints, for each second after the start, the
# mean over the test and over the control connections with their 95% intervals, and test less
# control (what the programs on the path cost then). A background poller on the script's CPU
# notes when netrecd's programs were first seen on the recorded pair.
#
# Pinning (--pin): "same" (the default) puts the client and the server on CPU 0 and the
# script's own work on CPU 1 (netrecd may run on either): one CPU does all the stream's work,
# both TC hooks included, with no retransmissions, and the rate is that CPU's capacity over the
# cost per byte, the cleanest measure of what the programs cost. "split" puts the client on
# CPU 0 and the server on CPU 1, as in bench/flows.sh; this VM then retransmits 0.5-1% of the
# bytes (data sent from both CPUs' softirqs arrives out of order). "both" runs split, then same.
#
# Options (or environment): -w SEC (WINDOW), --cycles N (CYCLES), --conns N (CONNS, default
# 16), --pin MODE (PIN), --control (CONTROL=1), --start (START=1; PRE and POST, windows), WARM
# and SETTLE (seconds), --build DIR (BUILD,
# default ../build), --keep (KEEP=1: keep the work directory). Needs root, 2 CPUs, iperf3 (installed with apt-get
# if missing), tc, ss, python3, taskset, and netrecd, netrec and bench-tcxquery from the build.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME and awk: a decimal point

BUILD=${BUILD:-$(dirname "$0")/../build}
WINDOW=${WINDOW:-2}
CYCLES=${CYCLES:-10}
CONNS=${CONNS:-16}
PIN=${PIN:-same}
SETTLE=${SETTLE:-0.5}
WARM=${WARM:-3}
KEEP=${KEEP:-0}
CONTROL=${CONTROL:-0}
START=${START:-0}
PRE=${PRE:-4}
POST=${POST:-10}
TARGET=3 # percent

usage() { sed -n '7p' "$0" | sed 's/^#  */usage: /'; }
while [ $# -gt 0 ]; do
	case $1 in
	-w) WINDOW=$2; shift 2 ;;
	--cycles) CYCLES=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--pin) PIN=$2; shift 2 ;;
	--control) CONTROL=1; shift ;;
	--start) START=1; shift ;;
	--build) BUILD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

say() { echo "fltcp: $*"; }
fail() { echo "fltcp: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (network namespaces, BPF)"
for v in "$WINDOW" "$SETTLE" "$WARM"; do
	[[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "-w, SETTLE and WARM take seconds, got '$v'"
done
awk -v w="$WINDOW" 'BEGIN { exit !(w > 0) }' || fail "-w takes more than 0 seconds"
case $CYCLES in '' | 0 | *[!0-9]*) fail "--cycles takes a number >= 1" ;; esac
case $CONNS in '' | 0 | 1 | *[!0-9]*) fail "--conns takes a number >= 2" ;; esac
case $PIN in split | same | both) ;; *) fail "--pin takes split, same or both" ;; esac
[ "$CONTROL$START" != 11 ] || fail "--control and --start are two different runs"
case $PRE$POST in *[!0-9]*) fail "PRE and POST take whole numbers of windows" ;; esac
[ "$PRE" -ge 1 ] && [ "$POST" -ge 1 ] || fail "PRE and POST take at least 1 window"
if ! command -v iperf3 > /dev/null; then
	say "installing iperf3 (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iperf3 > /dev/null
fi
for t in ip tc ss iperf3 python3 taskset; do
	command -v "$t" > /dev/null || fail "$t not found"
done
[ "$(nproc)" -ge 2 ] || fail "needs 2 CPUs (pinning)"
[ $((CONNS % 4)) = 0 ] || fail "--conns takes a multiple of 4 (which pair is recorded, and which path a connection starts on, alternate in blocks of 4)"
[ $((CYCLES % 2)) = 0 ] || fail "--cycles takes an even number (the ABBA order balances over two cycles)"
ALL_CPUS=$(taskset -cp $$ | sed 's/.*: //') # for netrecd, before the script pins itself
LAST_CPU=$(($(nproc) - 1))
BUILD=$(cd "$BUILD" && pwd) || fail "no build directory"
NETRECD=$BUILD/netrecd
NETREC=$BUILD/netrec
TCXQ=$BUILD/bench/bench-tcxquery
for f in "$NETRECD" "$NETREC" "$TCXQ"; do
	[ -x "$f" ] || fail "$f not built (meson compile -C $BUILD)"
done

NS_A=nrbench-ft-$$-a
NS_B=nrbench-ft-$$-b
WORK=$(mktemp -d /tmp/nrbench-ft.XXXXXX)
PIDS=()
NS_MADE=()
. "$(dirname "$0")/lib.sh"

# The two paths: veth pairs a0-b0 and a1-b1 (veth_pair makes the namespaces and the first).
veth_pair "$NS_A" "$NS_B" a0 b0 10.251.1.1 10.251.1.2
ip -n "$NS_A" link add a1 type veth peer name b1 netns "$NS_B"
ip -n "$NS_A" addr add 10.251.2.1/24 dev a1
ip -n "$NS_B" addr add 10.251.2.2/24 dev b1
ip -n "$NS_A" link set a1 up
ip -n "$NS_B" link set b1 up
ip -n "$NS_A" addr add 10.251.9.1/32 dev lo
ip -n "$NS_B" addr add 10.251.9.2/32 dev lo
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
for d in a0 a1; do ip netns exec "$NS_A" sysctl -qw "net.ipv4.conf.$d.rp_filter=0"; done
for d in b0 b1; do ip netns exec "$NS_B" sysctl -qw "net.ipv4.conf.$d.rp_filter=0"; done
for p in 0 1; do
	ip -n "$NS_A" neigh replace "10.251.$((p + 1)).2" dev "a$p" nud permanent \
		lladdr "$(ip -n "$NS_B" -br link show dev "b$p" | awk '{ print $3 }')"
	ip -n "$NS_B" neigh replace "10.251.$((p + 1)).1" dev "b$p" nud permanent \
		lladdr "$(ip -n "$NS_A" -br link show dev "a$p" | awk '{ print $3 }')"
done

# path P: the stream's route in both namespaces through pair P.
path() {
	ip -n "$NS_A" route replace 10.251.9.2/32 via "10.251.$(($1 + 1)).2" dev "a$1" src 10.251.9.1
	ip -n "$NS_B" route replace 10.251.9.1/32 via "10.251.$(($1 + 1)).1" dev "b$1" src 10.251.9.2
}

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

# txb DEV...: the bytes each DEV of namespace a has sent (its tx_bytes counter), one per line.
txb() {
	local d
	for d in "$@"; do
		ip netns exec "$NS_A" cat "/sys/class/net/$d/statistics/tx_bytes"
	done
}

# window KIND P: the route moved to pair P, SETTLE s, then WINDOW s, appending "CONN KIND
# GBITS RETRANS BYTES" to $RATES: the server's goodput over the window, the bytes retransmitted
# in it (in % of those received), and the bytes received. Fails if more than 1% of the bytes
# a sent in the window went through the other pair (the stream did not move).
window() {
	local t0 b0 t1 b1 r0 r1 x0 x1 y0 y1
	path "$2"
	sleep "$SETTLE"
	r0=$(retrans)
	{ read -r x0; read -r y0; } <<< "$(txb "a$2" "a$((1 - $2))")"
	read -r t0 b0 <<< "$(received)"
	sleep "$WINDOW"
	read -r t1 b1 <<< "$(received)"
	{ read -r x1; read -r y1; } <<< "$(txb "a$2" "a$((1 - $2))")"
	r1=$(retrans)
	kill -0 "$CLIENT" 2> /dev/null || fail "iperf3 -c ended early: $(tail -3 "$WORK/client.err")"
	[ "$b1" -gt "$b0" ] || fail "the server received nothing in a window (ss -tin: $b0, then $b1 bytes)"
	[ $(((y1 - y0) * 100)) -le $((x1 - x0)) ] ||
		fail "connection $CONN: a window on a$2 sent $((x1 - x0)) bytes on it and $((y1 - y0)) on a$((1 - $2))"
	awk -v c="$CONN" -v k="$1" -v t0="$t0" -v t1="$t1" -v b=$((b1 - b0)) -v x=$((${r1:-0} - ${r0:-0})) \
		'BEGIN { printf "%d %s %.3f %.3f %.0f\n", c, k, b * 8 / (t1 - t0) / 1e9, (b > 0 ? x * 100 / b : 0), b }' \
		>> "$RATES"
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

# recorded_bytes DEV: the bytes netrecd's store holds for DEV's egress.
recorded_bytes() {
	"$NETREC" -d "$WORK/store" -f csv --no-header sql \
		"SELECT coalesce(sum(bytes), 0) FROM flows WHERE ifname = '$1' AND direction = 'egress'" |
		tail -1 | tr -d '\r'
}

# connection MODE: one connection with netrecd on pair R (CONN odd: 0, even: 1); its windows
# go to $RATES with KIND "with" (on pair R) and "without" (on pair U).
CONN=0
CLIENT=""
connection() {
	local mode=$1 r u s nr k first log include rec recu c0 c1 d0 d1 t0 cpu
	r=$(((CONN + 1) % 2))
	u=$((1 - r))
	# The path the connection starts on (warm-up and first window): R in connections 1, 2, 5,
	# 6, ..., U in 3, 4, 7, 8, ...: whatever the first path gains or loses cancels out.
	s=$r
	[ $(((CONN - 1) / 2 % 2)) = 0 ] || s=$u
	log=$WORK/netrecd-$mode-$CONN.err
	include=a$r,b$r
	[ "$CONTROL" = 0 ] || include=a0,b0,a1,b1
	t0=$EPOCHREALTIME
	recorder nr "$mode" "$include"
	until_attached "$nr" "$NS_A" "a$r" "$NS_B" "b$r" ||
		fail "netrecd's programs are not on a$r and b$r: $(tail -3 "$log")"
	if [ "$CONTROL" = 1 ]; then
		until_attached "$nr" "$NS_A" "a$u" "$NS_B" "b$u" ||
			fail "--control: netrecd's programs are not on a$u and b$u: $(tail -3 "$log")"
	elif ! bare "$NS_A" "a$u" || ! bare "$NS_B" "b$u"; then
		fail "programs on the unrecorded pair a$u-b$u"
	fi
	{ read -r c0; read -r d0; } <<< "$(txb "a$r" "a$u")"
	path "$s"
	stream "$mode" "$(awk -v w="$WARM" -v c="$CYCLES" -v x="$WINDOW" -v s="$SETTLE" \
		'BEGIN { printf "%d", w + c * 2 * (x + s + 1) + 60 }')"
	sleep "$WARM"
	for ((k = 0; k < CYCLES; k++)); do
		# S T, T S, S T, ... (T the other path): the route is on S when the loop starts.
		if [ $((k % 2)) = 0 ]; then first=$s; else first=$((1 - s)); fi
		window "$([ "$first" = "$r" ] && echo with || echo without)" "$first"
		window "$([ "$first" = "$r" ] && echo without || echo with)" $((1 - first))
	done
	stop_pid "$CLIENT" 5
	stop_pid "$SERVER" 5
	{ read -r c1; read -r d1; } <<< "$(txb "a$r" "a$u")"
	kill -0 "$nr" 2> /dev/null || fail "netrecd died: $(tail -3 "$log")"
	# netrecd's own CPU over the connection (it runs in both kinds of window, so the rates
	# leave it out): the issue asks for the recorder's CPU at this load.
	cpu=$(awk -v n="$(cpu_ns "$nr")" -v t0="$t0" -v t1="$EPOCHREALTIME" \
		'BEGIN { printf "%.6f %.1f", n / 1e9 / (t1 - t0), t1 - t0 }')
	echo "$cpu" >> "$RATES.cpu"
	recorder_stop "$nr" "$log"
	# netrecd recorded every byte aR sent while it ran (the interface counter, an independent
	# truth; nothing else crosses the pairs: permanent neighbours, IPv6 off), and nothing of aU
	# (all of it with --control).
	rec=$(recorded_bytes "a$r")
	recu=$(recorded_bytes "a$u")
	[ "$rec" = $((c1 - c0)) ] || fail "connection $CONN: netrecd recorded $rec bytes on a$r egress, its counter says $((c1 - c0))"
	if [ "$CONTROL" = 1 ]; then
		[ "$recu" = $((d1 - d0)) ] || fail "connection $CONN: recorded on a$u egress != its counter"
	else
		[ "$recu" = 0 ] || fail "connection $CONN: netrecd recorded bytes on a$u, which it was not to record"
	fi
	rm -rf "$WORK/store"
	say "  connection $CONN (netrecd on a$r-b$r; Gbit/s, retransmitted %): $(awk -v c="$CONN" \
		'$1 == c { printf "%s %s %s  ", ($2 == "with" ? "R" : "U"), $3, $4 }' "$RATES")"
	say "    recorded on a$r egress: $rec bytes; its tx_bytes counter: $((c1 - c0)); on a$u:" \
		"$((d1 - d0)) bytes sent, $recu recorded; netrecd's CPU: ${cpu% *} CPU-s/s over ${cpu#* } s"
}

# recorder VAR MODE INCLUDE: starts netrecd on the interfaces INCLUDE names (on any CPU; its log
# in $WORK/netrecd-MODE-CONN.err) and sets VAR to its PID.
recorder() {
	bg "$1" "netrecd-$2-$CONN" taskset -c "$ALL_CPUS" "$NETRECD" -d "$WORK/store" \
		--sources flows --netns "$NS_A,$NS_B" --flows-include "$3" --flows-interval 5s
}

# recorder_stop PID LOG: stops netrecd PID, which must exit with status 0 (LOG: its stderr)
# and leave no program or filter on any of the four ends.
recorder_stop() {
	local k
	stop_pid "$1" 30
	[ "$STATUS" = 0 ] || fail "netrecd exited with status $STATUS: $(tail -3 "$2")"
	for k in "$NS_A a0" "$NS_A a1" "$NS_B b0" "$NS_B b1"; do
		# shellcheck disable=SC2086 # "NS DEV"
		bare $k || fail "a program or filter left on $k after netrecd stopped"
	done
}

# stream MODE SECONDS: one iperf3 stream from a to b over the current route for SECONDS, the
# server (-1: one test) on CPU 0, or on CPU 1 with split, the client on CPU 0; sets SERVER and
# CLIENT.
stream() {
	local rx=0
	[ "$1" = split ] && rx=1
	bg SERVER "server-$1" ip netns exec "$NS_B" taskset -c "$rx" iperf3 -s -1 -B 10.251.9.2 \
		-p 5201
	until_listening "$SERVER" || fail "iperf3 -s did not start: $(tail -3 "$WORK/server-$1.err")"
	bg CLIENT client ip netns exec "$NS_A" taskset -c 0 iperf3 -c 10.251.9.2 -B 10.251.9.1 \
		-p 5201 -t "$2" -i 0
}

# sleep_until T: sleeps until EPOCHREALTIME reaches T (not at all if it has).
sleep_until() {
	sleep "$(awk -v t="$1" -v n="$EPOCHREALTIME" 'BEGIN { printf "%.6f", (t > n ? t - n : 0) }')"
}

# start_connection MODE (--start): one connection on pair P with netrecd started in its middle,
# recording P ("test") or the other pair ("control"). Appends "CONN KIND K GBITS" to $RATES for
# each 1 s window, K the second it ends at, counted from netrecd's start (<= 0: before it), and
# the time from the start until netrecd's programs were on the recorded pair to $RATES.attach.
start_connection() {
	local mode=$1 p=$(((CONN + 1) % 2)) rec kind nr t0 ts t b tp bp k poll log rb
	rec=$p kind=test
	[ $(((CONN - 1) / 2 % 2)) = 0 ] || { rec=$((1 - p)) kind=control; }
	log=$WORK/netrecd-$mode-$CONN.err
	rm -f "$WORK/attached"
	path "$p"
	stream "$mode" "$(awk -v w="$WARM" -v n=$((PRE + POST)) 'BEGIN { printf "%d", w + n + 60 }')"
	sleep "$WARM"
	read -r tp bp <<< "$(received)"
	t0=$(awk -v t="$tp" -v n="$PRE" 'BEGIN { printf "%.6f", t + n }')
	for ((k = 1 - PRE; k <= POST; k++)); do
		sleep_until "$(awk -v t="$t0" -v k="$k" 'BEGIN { printf "%.6f", t + k }')"
		read -r t b <<< "$(received)"
		[ "$b" -gt "$bp" ] || fail "the server received nothing in a window (ss -tin: $bp, then $b bytes)"
		awk -v c="$CONN" -v n="$kind" -v k="$k" -v b=$((b - bp)) -v t0="$tp" -v t1="$t" \
			'BEGIN { printf "%d %s %d %.3f\n", c, n, k, b * 8 / (t1 - t0) / 1e9 }' >> "$RATES"
		tp=$t bp=$b
		if [ "$k" = 0 ]; then
			ts=$EPOCHREALTIME
			recorder nr "$mode" "a$rec,b$rec"
			# The poller runs on the script's CPU, in test and control connections alike.
			(until_attached "$nr" "$NS_A" "a$rec" "$NS_B" "b$rec" &&
				echo "$EPOCHREALTIME" > "$WORK/attached") &
			poll=$!
			PIDS+=("$poll")
		fi
	done
	kill -0 "$CLIENT" 2> /dev/null || fail "iperf3 -c ended early: $(tail -3 "$WORK/client.err")"
	wait "$poll" || true
	forget "$poll"
	[ -s "$WORK/attached" ] ||
		fail "connection $CONN: netrecd's programs never reached a$rec and b$rec: $(tail -3 "$log")"
	awk -v a="$(cat "$WORK/attached")" -v s="$ts" 'BEGIN { printf "%.3f\n", a - s }' >> "$RATES.attach"
	bare "$NS_A" "a$((1 - rec))" && bare "$NS_B" "b$((1 - rec))" ||
		fail "connection $CONN: programs on a$((1 - rec))-b$((1 - rec)), which netrecd was not to record"
	stop_pid "$CLIENT" 5
	stop_pid "$SERVER" 5
	kill -0 "$nr" 2> /dev/null || fail "netrecd died: $(tail -3 "$log")"
	recorder_stop "$nr" "$log"
	# The stream's pair has rows in test connections only: a control really left it alone.
	rb=$(recorded_bytes "a$p")
	if [ "$kind" = test ]; then
		[ "$rb" -gt 0 ] || fail "connection $CONN: netrecd recorded nothing of the stream on a$p"
	else
		[ "$rb" = 0 ] || fail "connection $CONN: the control recorded $rb bytes on a$p, the stream's pair"
	fi
	rm -rf "$WORK/store"
	say "  connection $CONN ($kind: stream on a$p-b$p, netrecd on a$rec-b$rec, its programs there" \
		"$(tail -1 "$RATES.attach") s after its start; Gbit/s in each second): $(awk -v c="$CONN" \
		'$1 == c { printf "%s:%s ", $3, $4 }' "$RATES")"
}

run_pinning() {
	local mode=$1
	RATES=$WORK/$mode.rates
	: > "$RATES"
	: > "$RATES.cpu"
	: > "$RATES.attach"
	if [ "$START" = 1 ]; then
		say "pinning $mode: client on CPU 0, server on CPU $([ "$mode" = split ] && echo 1 || echo 0);" \
			"$CONNS connections, each $PRE 1 s windows before netrecd's start and $POST after"
		for ((CONN = 1; CONN <= CONNS; CONN++)); do
			start_connection "$mode"
		done
		summarize_start "$mode"
		return
	fi
	[ "$CONTROL" = 0 ] || say "--control: netrecd records both pairs; R is a name only"
	say "pinning $mode: client on CPU 0, server on CPU $([ "$mode" = split ] && echo 1 || echo 0);" \
		"$CONNS connections, each of $CYCLES cycles of two ${WINDOW}s windows"
	for ((CONN = 1; CONN <= CONNS; CONN++)); do
		connection "$mode"
	done
	summarize "$mode"
	say "pinning $mode: netrecd's CPU over a connection: median" \
		"$(median $(cut -d' ' -f1 "$RATES.cpu")) CPU-s/s (schedstat, all its threads; min" \
		"$(sort -g "$RATES.cpu" | head -1 | cut -d' ' -f1), max $(sort -g "$RATES.cpu" | tail -1 | cut -d' ' -f1))"
}

# summarize MODE: medians, and the connections' overheads with their confidence interval.
summarize() {
	python3 - "$WORK/$1.rates" "$1" "$TARGET" "$CONTROL" << 'EOF'
import statistics as st, sys
conns, retr = {}, {}  # conn -> kind -> [Gbit/s]; kind -> [retransmitted %]
for line in open(sys.argv[1]):
    c, kind, v, x = line.split()[:4]
    conns.setdefault(int(c), {}).setdefault(kind, []).append(float(v))
    retr.setdefault(kind, []).append(float(x))
mode, target, control = sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1"
# Two-sided 95% quantiles of Student's t by degrees of freedom (the largest key <= df).
T = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
     10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09, 25: 2.06, 30: 2.04, 40: 2.02, 60: 2.00, 120: 1.98}
tq = lambda df: T[max(k for k in T if k <= df)]
cs = sorted(c for c in conns if conns[c].get("with") and conns[c].get("without"))
if len(cs) < 2:
    sys.exit(f"fltcp: pinning {mode}: fewer than 2 complete connections")
for kind, name in (("without", "without (the pair netrecd does not record)"),
                   ("with", "with (the pair it records)")):
    w = [v for c in cs for v in conns[c][kind]]
    print(f"fltcp: pinning {mode}: {name}: median {st.median(w):.2f} Gbit/s (min {min(w):.2f}, "
          f"max {max(w):.2f}, {len(w)} windows); retransmitted: median {st.median(retr[kind]):.3f}%")
d = []
for c in cs:
    wo, wi = st.mean(conns[c]["without"]), st.mean(conns[c]["with"])
    d.append((wo - wi) * 100 / wo)
m, sd = st.mean(d), st.stdev(d)
half = tq(len(d) - 1) * sd / len(d) ** 0.5
verdict = ("met (the whole interval is under it)" if m + half <= target else
           f"NOT shown (the mean is under it, the interval reaches {m + half:.2f}%)"
           if m <= target else "NOT met")
tail = f"target <= {target:g}%: {verdict}"
if control:
    tail = "a control (netrecd on both paths): the design's own bias, 0 expected in the interval"
print(f"fltcp: pinning {mode}: overhead of the recorded path, per connection ({len(d)} "
      f"connections): mean {m:.2f}%, median {st.median(d):.2f}%, sd {sd:.2f}, 95% confidence "
      f"interval of the mean {m - half:.2f}% to {m + half:.2f}%; {tail}")
# Neither pair should be faster in itself: the mean by which pair was recorded.
for p, sel in (("a0-b0", [x for c, x in zip(cs, d) if c % 2]),
               ("a1-b1", [x for c, x in zip(cs, d) if not c % 2])):
    if sel:
        print(f"fltcp: pinning {mode}:   connections with netrecd on {p}: {len(sel)}, mean "
              f"{st.mean(sel):.2f}%")
# Nor the path a connection starts on (connections 1, 2, 5, 6, ... start on R).
for p, sel in (("R", [x for c, x in zip(cs, d) if (c - 1) // 2 % 2 == 0]),
               ("U", [x for c, x in zip(cs, d) if (c - 1) // 2 % 2 == 1])):
    if sel:
        print(f"fltcp: pinning {mode}:   connections starting on {p}: {len(sel)}, mean "
              f"{st.mean(sel):.2f}%")
EOF
}

# summarize_start MODE: for each second after netrecd's start, the mean overhead against the
# connection's own windows before it, over the test and over the control connections, and test
# less control; then the same over spans of seconds (one figure per connection: independent).
summarize_start() {
	python3 - "$WORK/$1.rates" "$1" "$POST" "$WORK/$1.rates.attach" << 'EOF'
import statistics as st, sys
rates = {}  # conn -> (kind, {k: Gbit/s})
for line in open(sys.argv[1]):
    c, kind, k, v = line.split()
    rates.setdefault(int(c), (kind, {}))[1][int(k)] = float(v)
mode, post = sys.argv[2], int(sys.argv[3])
att = [float(x) for x in open(sys.argv[4])]
# Two-sided 95% quantiles of Student's t by degrees of freedom (the largest key <= df).
T = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
     10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09, 25: 2.06, 30: 2.04, 40: 2.02, 60: 2.00, 120: 1.98}
tq = lambda df: T[max(k for k in T if k <= max(df, 1))]
ovh = {"test": [], "control": []}  # kind -> per connection {k: overhead %}
for c, (kind, r) in sorted(rates.items()):
    base = st.mean(v for k, v in r.items() if k <= 0)
    ovh[kind].append({k: (base - v) * 100 / base for k, v in r.items() if k > 0})
if min(len(v) for v in ovh.values()) < 2:
    sys.exit(f"fltcp: pinning {mode}: fewer than 2 connections of a kind")
def ci(xs):
    return st.mean(xs), tq(len(xs) - 1) * st.stdev(xs) / len(xs) ** 0.5
def diff(a, b):  # Welch: two independent samples
    va, vb = st.variance(a) / len(a), st.variance(b) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return st.mean(a) - st.mean(b), tq(int(df)) * (va + vb) ** 0.5
def line(label, f):
    a, b = [f(o) for o in ovh["test"]], [f(o) for o in ovh["control"]]
    out = [f"{m:6.2f}% ({m - h:6.2f} to {m + h:6.2f})" for m, h in (ci(a), ci(b), diff(a, b))]
    print(f"fltcp: pinning {mode}:   {label}: test {out[0]}, control {out[1]}, "
          f"test - control {out[2]}")
print(f"fltcp: pinning {mode}: overhead against each connection's windows before netrecd's start, "
      f"mean (95% interval); {len(ovh['test'])} test connections (netrecd on the stream's pair), "
      f"{len(ovh['control'])} control (on the other pair):")
for k in range(1, post + 1):
    line(f"second {k:2d}", lambda o: o[k])
for lo, hi in ([(1, 2), (3, 5), (6, post)] if post >= 6 else [(1, post)]):
    line(f"seconds {lo}-{hi}", lambda o: st.mean(o[k] for k in range(lo, hi + 1)))
print(f"fltcp: pinning {mode}: netrecd's programs on the recorded pair {st.median(att):.3f} s after "
      f"its start (median; min {min(att):.3f}, max {max(att):.3f}, {len(att)} connections)")
EOF
}

# The script's own work (ss, ip, sleeping) on the last CPU, away from the stream in "same".
taskset -cp "$LAST_CPU" $$ > /dev/null
case $PIN in
both) run_pinning split; run_pinning same ;;
*) run_pinning "$PIN" ;;
esac
