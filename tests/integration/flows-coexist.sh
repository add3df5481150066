#!/bin/sh
# SPDX-License-Identifier: MIT
# The flow source lives beside TC filters that were there first, and follows interfaces that
# come and go. On s0 (namespace S), before netrecd starts: a clsact qdisc, the classic-BPF
# pass filter on ingress and egress (prio 40000), and an ingress filter dropping UDP to port 9
# (prio 30000). While netrecd runs: its tcx programs are on every interface, ping passes, the
# filters are listed as before and still act (port 9 dropped, yet counted by netrecd, which
# runs first; port 10 delivered). An interface pair made while netrecd runs is recorded, its
# rows equal to its counters. After netrecd stops: qdisc, filters and `bpftool net show` as
# before, no tcx program left, traffic and filters as before. Every interface's rows equal its
# counter deltas. Last: a pair deleted while netrecd runs keeps its names on its last rows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-flows.sh"

need_root "network namespaces, BPF"
need_cmd ip tc ping bpftool

C=nrfc-c-$$
S=nrfc-s-$$
netns_add "$C" "$S"
quiet_pair "$C" c0 "$S" s0 10.90.0
quiet_pair "$C" d0 "$S" d1 10.92.0 # deleted while netrecd runs

# The filters that were there first. DROP9 (classic BPF, direct action): IPv4 UDP to port 9
# is TC_ACT_SHOT (2), anything else TC_ACT_UNSPEC (-1: on to the next filter).
PASS='1,6 0 0 0,'
DROP9='8,40 0 0 12,21 0 5 2048,48 0 0 23,21 0 3 17,40 0 0 36,21 0 1 9,6 0 0 2,6 0 0 4294967295,'
tc -n "$S" qdisc add dev s0 clsact || fail "clsact on s0"
tc -n "$S" filter add dev s0 ingress prio 30000 bpf da bytecode "$DROP9" || fail "drop filter"
tc -n "$S" filter add dev s0 ingress prio 40000 bpf da bytecode "$PASS" || fail "pass filter"
tc -n "$S" filter add dev s0 egress prio 40000 bpf da bytecode "$PASS" || fail "egress filter"
tc_state() {
	echo "== qdisc"
	tc -n "$S" qdisc show dev s0
	echo "== ingress"
	tc -n "$S" filter show dev s0 ingress
	echo "== egress"
	tc -n "$S" filter show dev s0 egress
	echo "== bpftool net show"
	ip netns exec "$S" bpftool net show
}
tc_state >"$T/tc.before"
grep -q "pref 30000 bpf" "$T/tc.before" && grep -q "pref 40000 bpf" "$T/tc.before" ||
	fail "filters not listed: $(cat "$T/tc.before")"

# Receiver in S: one line "PORT" per datagram to port 9 or 10.
cat >"$T/recv.py" <<'EOF'
import select, socket, sys
socks = {}
for p in (9, 10):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", p))
    socks[s] = p
log = open(sys.argv[1], "a")
open(sys.argv[1] + ".ready", "w").close()
while True:
    for s in select.select(list(socks), [], [])[0]:
        s.recv(65536)
        log.write("%d\n" % socks[s])
        log.flush()
EOF
cat >"$T/send.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"c" * 50, (sys.argv[1], int(sys.argv[2])))
EOF
spawn ip netns exec "$S" "$PY" "$T/recv.py" "$T/recv.log"
wait_until 10 "the receiver" test -e "$T/recv.log.ready"
got() { # PORT: datagrams the receiver got on PORT
	grep -c "^$1\$" "$T/recv.log" || true
}
have10() {
	[ "$(got 10)" -ge "$N10" ]
}
# send DST PORT N: N datagrams; waits until the receiver has every one that gets through
# (port 10: all of them; port 9: none, and a datagram to port 10 after them is proof).
N10=0
send() {
	ip netns exec "$C" "$PY" "$T/send.py" "$1" "$2" "$3" || fail "sending to $1:$2"
	if [ "$2" = 10 ]; then
		N10=$((N10 + $3))
	else
		ip netns exec "$C" "$PY" "$T/send.py" "$1" 10 1 || fail "sending to $1:10"
		N10=$((N10 + 1))
	fi
	wait_until 10 "$N10 datagrams at port 10" have10
	assert_eq "$(got 9) $(got 10)" "0 $N10" "datagrams received at ports 9 and 10 ($3 more sent to $1:$2)"
}
send 10.90.0.2 9 3
send 10.90.0.2 10 3
ok "before netrecd: the drop filter drops UDP to port 9, port 10 is delivered"

settle "$C" "$S"
link_stats "$C" "$S" >"$T/before.txt"
D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources flows --netns "$C,$S" --batch-latency 200ms
wait_until 10 "netrecd to attach in 2 namespaces" recording 2
for x in "$C c0" "$C d0" "$C lo" "$S s0" "$S d1" "$S lo"; do
	set -- $x
	assert_eq "$(tcx_count "$1" "$2" ingress) $(tcx_count "$1" "$2" egress)" "1 1" \
		"tcx programs on $2 (ingress, egress) while recording"
done

# ---- while netrecd runs -------------------------------------------------------------------
ip netns exec "$C" ping -q -c 5 -i 0.05 -W 2 10.90.0.2 >/dev/null || fail "ping while recording"
ok "ping passes while recording"
tc_state >"$T/tc.during"
diff -u "$T/tc.before" "$T/tc.during" >&2 || fail "qdisc or filters changed while recording"
ok "qdisc and filters listed as before while recording"
send 10.90.0.2 9 5
send 10.90.0.2 10 5
ok "while recording: the drop filter still drops UDP to port 9, port 10 is delivered"

# A new pair of interfaces, C n0 -- n1 S: netrecd attaches on the link notification.
quiet_pair "$C" n0 "$S" n1 10.91.0
attached_new() {
	[ "$(tcx_count "$C" n0 ingress)$(tcx_count "$C" n0 egress)" = 11 ] &&
		[ "$(tcx_count "$S" n1 ingress)$(tcx_count "$S" n1 egress)" = 11 ]
}
t0=$(date +%s%N)
wait_until 10 "netrecd to attach to the new interfaces n0, n1" attached_new
ok "netrecd attached to n0 and n1 within $((($(date +%s%N) - t0) / 1000000)) ms"
link_stats "$C" "$S" | awk '$2 == "n0" || $2 == "n1"' >>"$T/before.txt"
ip netns exec "$C" ping -q -c 4 -i 0.05 -W 2 10.91.0.2 >/dev/null || fail "ping over n0"
send 10.91.0.2 10 7

# The pair that goes away: traffic, its counters, then deleted while netrecd runs.
ip netns exec "$C" ping -q -c 4 -i 0.05 -W 2 10.92.0.2 >/dev/null || fail "ping over d0"
link_stats "$C" "$S" | awk '$2 == "d0" || $2 == "d1"' >"$T/deleted.txt"
ip -n "$C" link del dev d0 || fail "deleting d0"
sleep 0.5

kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
ok "netrecd stopped with status 0"
link_stats "$C" "$S" >"$T/after.txt"

# ---- after netrecd ------------------------------------------------------------------------
tc_state >"$T/tc.after"
diff -u "$T/tc.before" "$T/tc.after" >&2 || fail "qdisc or filters differ after netrecd stopped"
ok "qdisc, filters and 'bpftool net show' identical to before netrecd: $(grep -c . "$T/tc.after") lines"
for x in "$C c0" "$C n0" "$C lo" "$S s0" "$S n1" "$S lo"; do
	set -- $x
	assert_eq "$(tcx_count "$1" "$2" ingress) $(tcx_count "$1" "$2" egress)" "0 0" \
		"tcx programs on $2 (ingress, egress) after the stop"
done
ip netns exec "$C" ping -q -c 3 -i 0.05 -W 2 10.90.0.2 >/dev/null || fail "ping after netrecd stopped"
ip netns exec "$C" ping -q -c 3 -i 0.05 -W 2 10.91.0.2 >/dev/null || fail "ping over n0 after netrecd stopped"
ok "ping passes after netrecd stopped (c0 and n0)"
send 10.90.0.2 9 3
send 10.90.0.2 10 3
ok "after netrecd: the drop filter still drops UDP to port 9, port 10 is delivered"

# ---- what was recorded --------------------------------------------------------------------
flows_vs_counters "$D" "$T/before.txt" "$T/after.txt" only
IC=$(netns_inode "$C")
IS=$(netns_inode "$S")
rows() { # INODE IFNAME DIRECTION WHERE: sum(packets)
	q -d "$D" sql "SELECT coalesce(sum(packets), 0) FROM flows WHERE netns = $1
		AND ifname = '$2' AND direction = '$3' AND $4"
}
assert_eq "$(rows "$IS" s0 ingress "kind = 'flow' AND proto = 17 AND dport = 9")" 5 \
	"UDP to port 9 on s0 ingress: counted before the filter dropped it"
assert_eq "$(rows "$IC" c0 egress "kind = 'flow' AND proto = 17 AND dport = 9")" 5 \
	"UDP to port 9 on c0 egress"
ICMP="kind = 'flow' AND proto = 1 AND src = '10.91.0.1' AND dst = '10.91.0.2' AND icmp_type = 8"
assert_eq "$(rows "$IC" n0 egress "$ICMP")" 4 "echo requests on the new interface n0 (egress)"
assert_eq "$(rows "$IS" n1 ingress "$ICMP")" 4 "echo requests on the new interface n1 (ingress)"
UDP="kind = 'flow' AND proto = 17 AND dst = '10.91.0.2' AND dport = 10"
assert_eq "$(rows "$IC" n0 egress "$UDP")" 7 "UDP to 10.91.0.2:10 on n0 egress"
assert_eq "$(rows "$IS" n1 ingress "$UDP")" 7 "UDP to 10.91.0.2:10 on n1 ingress"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'flows'")
assert_eq "$got" 0 "flows gaps"

# ---- the deleted pair ---------------------------------------------------------------------
# Its last counts are collected after it is gone; the rows still name it (d0 in C, d1 in S)
# and sum to its counters as they were just before the deletion.
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE ifname IS NULL")
if [ "$got" != 0 ]; then
	q -d "$D" sql "SELECT netns, ifindex, ifname, direction, kind, proto, icmp_type, packets,
		bytes FROM flows WHERE ifname IS NULL" | sed 's/^/  /' >&2
	fail "$got rows without an interface name (above): the last rows of d0 and d1, deleted while recording, must still name them"
fi
cat "$T/deleted.txt" >>"$T/after.txt"
flows_vs_counters "$D" "$T/before.txt" "$T/after.txt"
assert_eq "$(rows "$IC" d0 egress "kind = 'flow' AND proto = 1 AND icmp_type = 8")" 4 \
	"echo requests on d0 (deleted while recording), under its name"
echo "PASS"
