#!/bin/bash
# SPDX-License-Identifier: MIT
# Conntrack benchmark: how many conntrack events netrecd records, at what CPU cost, when a
# generator opens and closes TCP connections as fast as it can, against ground truth.
#
#   bench/conntrack.sh [-d SEC] [-w N] [--rst] [--rate N] [--phase a|b|ab] [--build DIR] [--keep]
#
# It builds its own world and leaves nothing behind: two network namespaces
# nrbench-ct-PID-a (client) and -b (server), a veth pair between them (10.250.0.1 and .2),
# an nft rule with `ct state` in -b only (conntrack tracks a namespace only once a rule
# there uses it), short TCP conntrack timeouts in -b (so expired entries, and their DESTROY
# events, come within seconds), and in -a a wide local port range with tcp_tw_reuse=1 (so
# the client does not run out of ports). Every setting is inside these namespaces; the host's
# interfaces, routes, sysctls and firewall are never touched. The EXIT trap stops the
# processes it started, by PID, and deletes both namespaces.
#
# Phase a (baseline): bench-ctcount counts the events in -b while bench-ctgen connects from
# -a for D seconds; then `conntrack -F` in -b destroys what is left (the DESTROY events come at
# once) and the script waits until ctcount has as many destroys as news.
# Phase b (recorder): the same, with netrecd recording -b (--sources conntrack --netns -b
# --conntrack-events new,destroy), and ctcount and `conntrack -E -e NEW,DESTROY` side by side
# as ground truth. netrecd is stopped with SIGTERM (it commits everything), then its store is
# counted with netrec. conntrack -E is only exact at low rates and small bursts (its socket
# keeps the default 208 KiB buffer): ctcount, with 256 MiB and the kernel's drop count, is the
# reference; conntrack -E is there to show what the usual tool sees.
#
# Options (or environment): -d/--duration SEC (DURATION, default 10), -w/--workers N (WORKERS,
# client processes, default 2), --rst (RST=1: close with a RST), --rate N (RATE, connections/s,
# default 0 = max), --phase a|b|ab (PHASES, default ab), --build DIR (BUILD, default
# ../build beside this script), --keep (KEEP=1: keep the work directory with logs and
# netrecd's store). SERVERS (server processes, default 2), FLUSH_AFTER (seconds conntrack's
# GC gets after the generator before `conntrack -F`, default 1), SETTLE (seconds to wait for
# the destroys after that, default 60), NETRECD_ARGS (more netrecd options, e.g.
# --conntrack-rcvbuf 256M).
#
# conntrack -E misses destroys from a flush burst of a few hundred entries already; to check
# that it agrees with ctcount, run slowly and let GC destroy the entries in small batches:
#   FLUSH_AFTER=30 bench/conntrack.sh --rate 100 -d 2 --phase b
# Prints figures; exit status 0 unless the setup failed.
set -euo pipefail

BUILD=${BUILD:-$(dirname "$0")/../build}
DURATION=${DURATION:-10}
WORKERS=${WORKERS:-2}
SERVERS=${SERVERS:-2}
RST=${RST:-0}
RATE=${RATE:-0}
PHASES=${PHASES:-ab}
KEEP=${KEEP:-0}
SETTLE=${SETTLE:-60}
FLUSH_AFTER=${FLUSH_AFTER:-1}
NETRECD_ARGS=${NETRECD_ARGS:-}

usage() {
	sed -n '5p' "$0" | sed 's/^#  */usage: /'
	echo "see the comment at the top of $0 for the options"
}

while [ $# -gt 0 ]; do
	case $1 in
	-d | --duration) DURATION=$2; shift 2 ;;
	-w | --workers) WORKERS=$2; shift 2 ;;
	--rst) RST=1; shift ;;
	--rate) RATE=$2; shift 2 ;;
	--phase) PHASES=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

say() { echo "ctbench: $*"; }
fail() { echo "ctbench: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (network namespaces, nft, conntrack)"
for t in ip nft conntrack awk; do
	command -v "$t" > /dev/null || fail "$t not found"
done
BUILD=$(cd "$BUILD" && pwd) || fail "no build directory"
CTGEN=$BUILD/bench/bench-ctgen
CTCOUNT=$BUILD/bench/bench-ctcount
NETRECD=$BUILD/netrecd
NETREC=$BUILD/netrec
for f in "$CTGEN" "$CTCOUNT"; do
	[ -x "$f" ] || fail "$f not built (meson compile -C $BUILD)"
done

NS_A=nrbench-ct-$$-a
NS_B=nrbench-ct-$$-b
ADDR_A=10.250.0.1
ADDR_B=10.250.0.2
PORT=5001
WORK=$(mktemp -d /tmp/nrbench-ct.XXXXXX)
PIDS=()
NS_MADE=()

. "$(dirname "$0")/lib.sh"

# field LINE KEY: the number after KEY= in LINE (empty if absent).
field() { sed -n "s/.*[ :]$2=\([0-9-]*\).*/\1/p" <<< "$1"; }

# CPU seconds (user + system) PID has used so far, from /proc/PID/stat.
cpu_of() {
	local stat rest f
	stat=$(< "/proc/$1/stat") || { echo 0; return; }
	rest=${stat##*) }   # the command name may hold blanks and parentheses
	read -ra f <<< "$rest"
	awk -v u="${f[11]}" -v s="${f[12]}" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", (u + s) / hz }'
}

in_b() { ip netns exec "$NS_B" "$@"; }
in_a() { ip netns exec "$NS_A" "$@"; }

# ---------------------------------------------------------------------------
# The world: two namespaces and a veth pair, created inside them.
setup() {
	veth_pair "$NS_A" "$NS_B" veth0 veth0 "$ADDR_A" "$ADDR_B"
	# Client: ports 1024-65535, and a port in TIME_WAIT is reusable after 1 s, else a FIN-closing
	# client runs out of ports within two seconds.
	in_a sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
	# Server: conntrack on (a rule that uses it and lets everything through), short timeouts
	# for the closing states so expired entries are destroyed within seconds.
	in_b nft -f - <<- EOF
		table inet nrbench {
			chain input {
				type filter hook input priority 0; policy accept;
				ct state new counter
			}
		}
	EOF
	in_b sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
		net.netfilter.nf_conntrack_tcp_timeout_close=1 \
		net.netfilter.nf_conntrack_tcp_timeout_close_wait=1 \
		net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1 \
		net.netfilter.nf_conntrack_tcp_timeout_last_ack=1 \
		net.netfilter.nf_conntrack_tcp_timeout_syn_recv=5 \
		net.netfilter.nf_conntrack_tcp_timeout_syn_sent=5
	bg SERVER_PID server ip netns exec "$NS_B" "$CTGEN" --listen --workers "$SERVERS" "$ADDR_B" "$PORT"
	wait_for "$WORK/server.err" "listening" "$SERVER_PID" 5 ||
		fail "the server did not start: $(cat "$WORK/server.err")"
	in_a "$CTGEN" --duration 0.2 --workers 1 --rate 10 "$ADDR_B" "$PORT" | grep -q 'connections=[1-9]' ||
		fail "no connection from $NS_A to $ADDR_B:$PORT"
	say "namespaces $NS_A ($ADDR_A, client) and $NS_B ($ADDR_B, server, conntrack on);" \
		"work directory $WORK"
}

GEN_ARGS=(--duration "$DURATION" --workers "$WORKERS" --rate "$RATE")
[ "$RST" = 1 ] && GEN_ARGS+=(--rst)

# Runs the generator in -a; sets GEN_LINE (its summary) and GEN_CONN, GEN_RATE, GEN_SECS.
# In the background, so that a SIGINT or SIGTERM runs the trap at once (bash defers traps until
# a foreground command ends; `wait` it interrupts).
run_gen() {
	local pid
	bg pid "gen-$1" ip netns exec "$NS_A" "$CTGEN" "${GEN_ARGS[@]}" "$ADDR_B" "$PORT"
	wait "$pid" || fail "the generator failed: $(cat "$WORK/gen-$1.err")"
	forget "$pid"
	GEN_LINE=$(grep '^ctgen: connections=' "$WORK/gen-$1.out")
	GEN_SECS=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<< "$GEN_LINE")
	GEN_RATE=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<< "$GEN_LINE")
	say "  generator: $GEN_LINE"
	grep '^ctgen: errors' "$WORK/gen-$1.out" | sed 's/^/ctbench:   /' || true
}

# Empties the server namespace's table (with no listener yet, no event reaches anyone).
flush_b() { in_b conntrack -F > /dev/null 2>&1 || true; }

# caught_up FILE: true when ctcount's latest progress line (in FILE) has as many destroys as
# news; sets CU_NEW and CU_DESTROY.
caught_up() {
	local l
	l=$(grep '^ctcount: progress' "$1" | tail -1)
	CU_NEW=$(field "$l" new)
	CU_DESTROY=$(field "$l" destroy)
	[ -n "$CU_NEW" ] && [ -n "$CU_DESTROY" ] && [ "$CU_DESTROY" -ge "$CU_NEW" ]
}

# settle FILE: after the generator, let conntrack's GC destroy expired entries for FLUSH_AFTER
# seconds, then flush the table in -b (every entry destroyed at once, one burst of DESTROY
# events), and wait until ctcount (progress lines in FILE) counted as many destroys as news,
# flushing again every 5 s (a late packet may create an entry after a flush). Sets SETTLE_S.
settle() {
	local t0=$EPOCHREALTIME i flushed=0
	for ((i = 1; i <= (FLUSH_AFTER + SETTLE) * 10; i++)); do
		sleep 0.1
		if caught_up "$1"; then
			break
		fi
		if [ "$i" -ge $((FLUSH_AFTER * 10)) ] && [ $(((i - FLUSH_AFTER * 10) % 50)) = 0 ]; then
			flush_b
			flushed=$((flushed + 1))
		fi
	done
	SETTLE_S=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	if caught_up "$1"; then
		if [ "$flushed" = 0 ]; then
			say "  all destroys in ${SETTLE_S}s after the generator (conntrack GC alone)"
		else
			say "  all destroys in ${SETTLE_S}s after the generator (conntrack -F" \
				"${flushed}x, the first after ${FLUSH_AFTER}s)"
		fi
	else
		say "  WARNING: after ${SETTLE_S}s ctcount has destroy=$CU_DESTROY < new=$CU_NEW;" \
			"counting anyway"
	fi
}

# Starts ctcount in -b for phase $1 (new,destroy: the groups netrecd joins; the update
# group would cost as much CPU as the rest together); sets CC_PID.
start_ctcount() {
	bg CC_PID "ctcount-$1" "$CTCOUNT" --netns "$NS_B" --events new,destroy --interval 0.2
	wait_for "$WORK/ctcount-$1.err" "listening" "$CC_PID" 5 ||
		fail "bench-ctcount did not start: $(cat "$WORK/ctcount-$1.err")"
}

# Stops ctcount; sets CC_NEW, CC_DESTROY, CC_ENOBUFS, CC_DROPS from its final line.
stop_ctcount() {
	local l
	stop_pid "$CC_PID" 10
	l=$(grep '^ctcount: new=' "$WORK/ctcount-$1.out" | tail -1)
	[ -n "$l" ] || fail "bench-ctcount printed no result: $(cat "$WORK/ctcount-$1.err")"
	CC_NEW=$(field "$l" new)
	CC_DESTROY=$(field "$l" destroy)
	CC_ENOBUFS=$(field "$l" enobufs)
	CC_DROPS=$(field "$l" drops)
	say "  ctcount (ground truth): $l"
}

# The ctcount progress line nearest to now: events counted while the generator ran.
snapshot() { grep '^ctcount: progress' "$WORK/ctcount-$1.out" | tail -1; }

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f%%", (b - a) * 100 / b; else print "n/a" }'; }
per_sec() { awk -v a="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", a / s; else print "n/a" }'; }

# ---------------------------------------------------------------------------
phase_a() {
	local s0 s1 n0 d0 n1 d1
	say "phase a: baseline (no recorder), ${DURATION}s, $WORKERS workers," \
		"close=$([ "$RST" = 1 ] && echo rst || echo fin), rate=$([ "$RATE" = 0 ] && echo max || echo "$RATE/s")"
	flush_b
	start_ctcount a
	sleep 0.3
	s0=$(snapshot a)
	run_gen a
	s1=$(snapshot a)
	settle "$WORK/ctcount-a.out"
	stop_ctcount a
	n0=$(field "$s0" new); d0=$(field "$s0" destroy)
	n1=$(field "$s1" new); d1=$(field "$s1" destroy)
	A_RATE=$GEN_RATE
	A_EVS=$(per_sec $((CC_NEW + CC_DESTROY)) "$GEN_SECS")
	say "  while generating: new $(per_sec $((n1 - n0)) "$GEN_SECS")/s," \
		"destroy $(per_sec $((d1 - d0)) "$GEN_SECS")/s (conntrack GC)"
	say "  result: $GEN_RATE connections/s; events (new+destroy) $((CC_NEW + CC_DESTROY))" \
		"= $A_EVS/s over ${GEN_SECS}s; ctcount enobufs=$CC_ENOBUFS drops=$CC_DROPS"
}

phase_b() {
	local data=$WORK/data nr_pid nr_ok=1 nr_status="" ce_pid cpu0 cpu1 ce_new ce_destroy
	local ce_enobufs rows nr_new nr_destroy nr_dump nr_update ev l n
	say "phase b: netrecd recording $NS_B (--conntrack-events new,destroy), with ctcount and" \
		"conntrack -E as ground truth"
	if [ ! -x "$NETRECD" ] || [ ! -x "$NETREC" ]; then
		say "  netrecd or netrec not built in $BUILD: phase b skipped"
		return
	fi
	flush_b
	start_ctcount b
	bg ce_pid conntrack-e ip netns exec "$NS_B" conntrack -E -e NEW,DESTROY
	# shellcheck disable=SC2086 # NETRECD_ARGS is a list of options
	bg nr_pid netrecd "$NETRECD" --data-dir "$data" --sources conntrack --netns "$NS_B" \
		--conntrack-events new,destroy $NETRECD_ARGS
	if ! wait_for "$WORK/netrecd.err" "conntrack: recording" "$nr_pid" 15; then
		if ! kill -0 "$nr_pid" 2> /dev/null; then
			stop_pid "$nr_pid"
			nr_ok=0
			say "  NETRECD FAILED TO START (exit status $STATUS); its log:"
			sed 's/^/ctbench:     /' "$WORK/netrecd.err" | tail -20
		else
			say "  WARNING: netrecd is running but did not log 'conntrack: recording' within" \
				"15 s; going on. Its log so far:"
			sed 's/^/ctbench:     /' "$WORK/netrecd.err" | tail -10
		fi
	fi
	sleep 0.5 # conntrack -E has no ready signal; it subscribes at once
	kill -0 "$ce_pid" 2> /dev/null || say "  WARNING: conntrack -E exited: $(cat "$WORK/conntrack-e.err")"
	[ "$nr_ok" = 1 ] && cpu0=$(cpu_of "$nr_pid")
	run_gen b
	settle "$WORK/ctcount-b.out"
	if [ "$nr_ok" = 1 ]; then
		# netrecd commits at least every batch-latency (1 s); give it that and more.
		sleep 2
		if kill -0 "$nr_pid" 2> /dev/null; then
			cpu1=$(cpu_of "$nr_pid")
			stop_pid "$nr_pid" 60
			nr_status=$STATUS
		else
			stop_pid "$nr_pid"
			nr_ok=0
			say "  NETRECD DIED DURING THE RUN (exit status $STATUS); its log:"
			sed 's/^/ctbench:     /' "$WORK/netrecd.err" | tail -20
		fi
	fi
	stop_pid "$ce_pid" 10
	stop_ctcount b
	ce_new=$(grep -c '^ *\[NEW\]' "$WORK/conntrack-e.out" || true)
	ce_destroy=$(grep -c '^ *\[DESTROY\]' "$WORK/conntrack-e.out" || true)
	ce_enobufs=$(grep -c 'ENOBUFS' "$WORK/conntrack-e.err" || true)
	say "  conntrack -E: new=$ce_new destroy=$ce_destroy (ENOBUFS reported $ce_enobufs times);" \
		"its loss against ctcount: new $(pct "$ce_new" "$CC_NEW"), destroy $(pct "$ce_destroy" "$CC_DESTROY")"
	B_RATE=$GEN_RATE
	B_EVS=$(per_sec $((CC_NEW + CC_DESTROY)) "$GEN_SECS")
	B_CC="$CC_NEW/$CC_DESTROY (drops $CC_DROPS)"
	B_CE="$ce_new/$ce_destroy"
	B_NR="n/a"; B_LOSS="n/a"; B_CPU="n/a"
	if [ "$nr_ok" = 0 ]; then
		say "  netrecd: no figures (it did not run)"
		return
	fi
	l=$(grep -E 'conntrack: recorded' "$WORK/netrecd.err" | sed 's/^netrecd: //' || true)
	say "  netrecd: exit status $nr_status; ${l:-no 'conntrack: recorded' log line}"
	grep -E 'warning|error' "$WORK/netrecd.err" | head -10 | sed 's/^/ctbench:     /' || true
	rows=$("$NETREC" -d "$data" -f csv --no-header sql \
		"SELECT event, count(*) FROM conntrack GROUP BY event" 2> "$WORK/netrec.err") || {
		say "  netrec could not read the store: $(cat "$WORK/netrec.err")"
		rows=""
	}
	nr_new=0; nr_update=0; nr_destroy=0; nr_dump=0
	while IFS=, read -r ev n; do
		case $ev in
		new) nr_new=$n ;;
		update) nr_update=$n ;;
		destroy) nr_destroy=$n ;;
		dump) nr_dump=$n ;;
		esac
	done <<< "$(tr -d '\r' <<< "$rows")"
	say "  netrecd recorded: new=$nr_new destroy=$nr_destroy dump=$nr_dump update=$nr_update"
	[ $((nr_new + nr_destroy)) = 0 ] && say "  NETRECD RECORDED NO CONNTRACK EVENTS"
	n=$("$NETREC" -d "$data" -f csv --no-header sql \
		"SELECT coalesce(sum(lost), 0) FROM gaps WHERE source = 'conntrack'" 2> /dev/null |
		tr -d '\r' || true)
	case $n in '' | *[!0-9]*) n=0 ;; esac
	say "  accounting: recorded new+destroy $((nr_new + nr_destroy)) + lost in gaps $n =" \
		"$((nr_new + nr_destroy + n)) (ctcount: $((CC_NEW + CC_DESTROY)))"
	say "  loss against ctcount:     new $(pct "$nr_new" "$CC_NEW")," \
		"destroy $(pct "$nr_destroy" "$CC_DESTROY")," \
		"total $(pct $((nr_new + nr_destroy)) $((CC_NEW + CC_DESTROY)))"
	say "  loss against conntrack -E: new $(pct "$nr_new" "$ce_new")," \
		"destroy $(pct "$nr_destroy" "$ce_destroy") (negative: conntrack -E lost more)"
	B_CPU=$(awk -v c0="$cpu0" -v c1="$cpu1" -v e=$((CC_NEW + CC_DESTROY)) 'BEGIN {
		if (e > 0) printf "%.3f", (c1 - c0) * 10000 / e; else print "n/a" }')
	say "  netrecd CPU: ${cpu0}s at start (incl. start-up dump), ${cpu1}s before SIGTERM;" \
		"$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')s for" \
		"$((CC_NEW + CC_DESTROY)) events = ${B_CPU} CPU-s per 10,000 events"
	l=$("$NETREC" -d "$data" gaps 2>&1 || true)
	if [ "$(wc -l <<< "$l")" -le 2 ] && ! grep -q '[0-9]' <<< "$l"; then
		say "  gaps (netrec gaps): none"
	else
		say "  gaps (netrec gaps):"
		printf 'ctbench:     %s\n' "${l//$'\n'/$'\n'ctbench:     }"
	fi
	B_NR="$nr_new/$nr_destroy"
	B_LOSS=$(pct $((nr_new + nr_destroy)) $((CC_NEW + CC_DESTROY)))
}

setup
case $PHASES in *a*) phase_a ;; esac
case $PHASES in *b*) phase_b ;; esac
stop_pid "$SERVER_PID" 5
say "server: $(grep '^ctgen:' "$WORK/server.out" | tr '\n' ' ')"
say "summary (close=$([ "$RST" = 1 ] && echo rst || echo fin), ${DURATION}s, $WORKERS workers):"
case $PHASES in *a*)
	say "  a baseline: ${A_RATE} conn/s, ${A_EVS} events/s (new+destroy)" ;;
esac
case $PHASES in *b*)
	say "  b netrecd:  ${B_RATE:-n/a} conn/s, ${B_EVS:-n/a} events/s; new/destroy: ctcount" \
		"${B_CC:-n/a}, conntrack -E ${B_CE:-n/a}, netrecd ${B_NR:-n/a}; netrecd loss" \
		"${B_LOSS:-n/a}; netrecd ${B_CPU:-n/a} CPU-s per 10k events" ;;
esac
