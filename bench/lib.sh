# SPDX-License-Identifier: MIT
# Shared by the bench drivers (bash; sourced once say, WORK, KEEP, PIDS=() and NS_MADE=() are
# set): programs started in the background, stopped by PID, and an EXIT trap that stops what
# is left and deletes the namespaces the driver made. Nothing else is ever signalled.

# Stops PID (TERM, then KILL after TIMEOUT seconds) and reaps it; sets STATUS to its exit
# status. Only processes this script started are ever signalled, by PID.
STATUS=0
stop_pid() {
	local pid=$1 timeout=${2:-10} i=0
	kill -TERM "$pid" 2> /dev/null || true
	while kill -0 "$pid" 2> /dev/null && [ $i -lt $((timeout * 20)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$pid" 2> /dev/null; then
		say "PID $pid did not stop within ${timeout}s after SIGTERM: SIGKILL"
		kill -KILL "$pid" 2> /dev/null || true
	fi
	STATUS=0
	wait "$pid" 2> /dev/null || STATUS=$?
	forget "$pid"
}

# Takes a reaped PID off the list the EXIT trap signals.
forget() {
	local p rest=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || rest+=("$p")
	done
	PIDS=("${rest[@]}")
}

cleanup() {
	local pid ns
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2> /dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2> /dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2> /dev/null; then
			kill -KILL "$pid" 2> /dev/null || true
		fi
		wait "$pid" 2> /dev/null || true
	done
	for ns in "${NS_MADE[@]}"; do
		ip netns del "$ns" 2> /dev/null || true
	done
	if [ "$KEEP" = 1 ]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# veth_pair NS_A NS_B DEV_A DEV_B ADDR_A ADDR_B: two new namespaces (in NS_MADE, for the
# trap), IPv6 off (no neighbour discovery or router solicitations: only the benchmark's
# traffic), lo up, and a veth pair DEV_A (ADDR_A/24, in NS_A) - DEV_B (ADDR_B/24, in NS_B), up.
veth_pair() {
	local ns
	for ns in "$1" "$2"; do
		ip netns add "$ns"
		NS_MADE+=("$ns")
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$1" link add "$3" type veth peer name "$4" netns "$2"
	ip -n "$1" addr add "$5/24" dev "$3"
	ip -n "$2" addr add "$6/24" dev "$4"
	ip -n "$1" link set "$3" up
	ip -n "$2" link set "$4" up
}

# bg VAR NAME CMD...: starts CMD in the background, stdout in $WORK/NAME.out and stderr in
# $WORK/NAME.err, and sets VAR to its PID. CMD must be a program, not a shell function; `ip
# netns exec` and taskset exec their command, which keeps the PID.
bg() {
	local var=$1 name=$2
	shift 2
	"$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
	PIDS+=($!)
	printf -v "$var" %s "$!"
}

# wait_for FILE PATTERN PID SECONDS: until FILE matches, PID exits, or time runs out.
wait_for() {
	local i
	for ((i = 0; i < $4 * 20; i++)); do
		grep -q -- "$2" "$1" 2> /dev/null && return 0
		kill -0 "$3" 2> /dev/null || return 1
		sleep 0.05
	done
	return 1
}

# cpu_ns PID: the run time of all its threads so far, ns (schedstat's first field).
cpu_ns() {
	local t sum=0
	for t in /proc/"$1"/task/*/schedstat; do
		sum=$((sum + $(cut -d' ' -f1 "$t")))
	done
	echo "$sum"
}

# median N...: the median of the numbers (the mean of the middle two of an even count), or n/a.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
		END { if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2];
		      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# until_attached PID NS DEV [NS DEV]...: waits (10 s at most, and while PID runs) until every
# DEV is attached (below); false otherwise.
until_attached() {
	local pid=$1 i j ok
	shift
	local -a nd=("$@")
	for ((i = 0; i < 200; i++)); do
		ok=1
		for ((j = 0; j < ${#nd[@]}; j += 2)); do
			attached "${nd[j]}" "${nd[j + 1]}" || { ok=0; break; }
		done
		[ "$ok" = 1 ] && return 0
		kill -0 "$pid" 2> /dev/null || return 1
		sleep 0.05
	done
	return 1
}

# attached NS DEV: true when DEV has a program on ingress and one on egress: tcx links
# (bench-tcxquery, at $TCXQ), or clsact filters (netrecd's fallback where the kernel has no tcx).
attached() {
	ip netns exec "$1" "$TCXQ" "$2" 2> /dev/null | grep -c 'progs=[1-9]' | grep -qx 2 && return 0
	[ -n "$(ip netns exec "$1" tc filter show dev "$2" ingress 2> /dev/null)" ] &&
		[ -n "$(ip netns exec "$1" tc filter show dev "$2" egress 2> /dev/null)" ]
}

# bare NS DEV: true when DEV has no program at all: bench-tcxquery (at $TCXQ) answers
# total=0, and tc lists no filter on either hook. False when either cannot be asked.
bare() {
	local q fi fe
	q=$(ip netns exec "$1" "$TCXQ" "$2" 2>&1) || return 1
	grep -q 'total=0' <<< "$q" || return 1
	fi=$(ip netns exec "$1" tc filter show dev "$2" ingress) || return 1
	fe=$(ip netns exec "$1" tc filter show dev "$2" egress) || return 1
	[ -z "$fi$fe" ]
}
