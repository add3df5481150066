#!/bin/sh
# SPDX-License-Identifier: MIT
# The flow map full (--flows-map-size 16): 500 UDP datagrams to 500 ports in one burst, far
# more flows than the map holds. Packets without room are counted in 'overflow' rows of their
# interface and direction, so all rows still sum to the interface counter deltas exactly; the
# sender's UDP flow rows plus its overflow rows are the 500 datagrams; gaps rows (source flows,
# 'flow map full...') say how many packets and bytes went to overflow rows. The next interval
# starts with an empty map: a ping after the burst is recorded as a flow again. (Most of the
# 500 flows get a slot of the per-CPU IPv4 cache and need no map room; those whose slot was
# taken go to the map, which has room for 16, and the rest to the overflow counter.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-flows.sh"

need_root "network namespaces, BPF"
need_cmd ip ping

A=nrfm-a-$$
B=nrfm-b-$$
netns_add "$A" "$B"
quiet_pair "$A" a0 "$B" b0 10.87.0

NFLOWS=500
PAYLOAD=100 # 142 bytes at TC
PORT0=20000
NPING=3

# Every port has a socket in B, so no datagram brings an ICMP port-unreachable back.
cat >"$T/sink.py" <<'EOF'
import socket, sys, time
socks = []
for p in range(int(sys.argv[1]), int(sys.argv[1]) + int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.87.0.2", p))
    socks.append(s)
open(sys.argv[3], "w").close()
time.sleep(3600)
EOF
cat >"$T/burst.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.87.0.1", 40100))
for p in range(int(sys.argv[1]), int(sys.argv[1]) + int(sys.argv[2])):
    s.sendto(b"m" * int(sys.argv[3]), ("10.87.0.2", p))
EOF
spawn ip netns exec "$B" "$PY" "$T/sink.py" "$PORT0" "$NFLOWS" "$T/sink.ready"
wait_until 10 "the sockets in $B" test -e "$T/sink.ready"

settle "$A" "$B"
link_stats "$A" "$B" >"$T/before.txt"
D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources flows --netns "$A,$B" --flows-map-size 16 \
	--flows-interval 1s --batch-latency 200ms
wait_until 10 "netrecd to attach in 2 namespaces" recording 2

t0=$(date +%s%N)
ip netns exec "$A" "$PY" "$T/burst.py" "$PORT0" "$NFLOWS" "$PAYLOAD" || fail "burst"
t1=$(date +%s%N)
ok "$NFLOWS datagrams to $NFLOWS ports sent in $(((t1 - t0) / 1000000)) ms"
# Two intervals later the map in use is a fresh one.
sleep 2.5
ip netns exec "$A" ping -q -c "$NPING" -i 0.05 -W 2 10.87.0.2 >/dev/null || fail "ping"
sleep 0.2
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
ok "netrecd stopped with status 0"
link_stats "$A" "$B" >"$T/after.txt"

flows_vs_counters "$D" "$T/before.txt" "$T/after.txt"

IA=$(netns_inode "$A")
IB=$(netns_inode "$B")
UDP="kind = 'flow' AND proto = 17 AND src = '10.87.0.1' AND dst = '10.87.0.2' AND sport = 40100
	AND dport BETWEEN $PORT0 AND $((PORT0 + NFLOWS - 1))"
for x in "$IA a0 egress" "$IB b0 ingress"; do
	set -- $x
	at="netns = $1 AND ifname = '$2' AND direction = '$3'"
	flows=$(q -d "$D" sql "SELECT count(*), count(DISTINCT dport), coalesce(sum(packets), 0),
		coalesce(sum(bytes), 0) FROM flows WHERE $at AND $UDP" | tr ',' ' ')
	ovf=$(q -d "$D" sql "SELECT count(*), coalesce(sum(packets), 0), coalesce(sum(bytes), 0)
		FROM flows WHERE $at AND kind = 'overflow'" | tr ',' ' ')
	set -- $flows $ovf
	nf=$1 nd=$2 fp=$3 fb=$4 no=$5 op=$6 ob=$7
	[ "$no" -ge 1 ] && [ "$op" -ge 1 ] || fail "$x: no overflow rows ($no rows, $op packets)"
	[ "$nf" -ge 1 ] || fail "$x: no UDP flow rows at all (the map holds 16)"
	[ "$nd" -lt "$NFLOWS" ] || fail "$x: all $NFLOWS flows have rows, with a map of 16"
	ok "$x: $nf UDP flow rows ($nd ports) with $fp packets; $no overflow rows with $op packets"
	assert_eq "$((fp + op)) $((fb + ob))" "$NFLOWS $((NFLOWS * (PAYLOAD + 42)))" \
		"$x: packets and bytes of the UDP flow rows and the overflow rows"
done
# Overflow rows: an interface and a direction, nothing of a flow.
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE kind = 'overflow' AND (netns IS NULL
	OR ifname IS NULL OR ifindex IS NULL OR family IS NOT NULL OR proto IS NOT NULL
	OR src IS NOT NULL OR dst IS NOT NULL OR sport IS NOT NULL OR dport IS NOT NULL
	OR packets < 1 OR ts_start_ns > ts_end_ns)")
assert_eq "$got" 0 "overflow rows without their place, or with flow fields"

# gaps: lost = the overflow rows' packets; the reason gives their bytes.
ovf=$(q -d "$D" sql "SELECT sum(packets), sum(bytes) FROM flows WHERE kind = 'overflow'" | tr ',' ' ')
gaps=$(q -d "$D" sql "SELECT count(*), sum(lost) FROM gaps WHERE source = 'flows'
	AND reason LIKE 'flow map full%'" | tr ',' ' ')
set -- $gaps
[ "$1" -ge 1 ] || fail "no gaps row with source 'flows' and reason 'flow map full...'"
assert_eq "$2" "${ovf% *}" "lost in the $1 'flow map full' gaps rows = packets of all overflow rows"
# "flow map full: N bytes counted in overflow rows, not per flow"
got=$(q -d "$D" sql "SELECT sum(CAST(substr(reason, 16) AS INTEGER)) FROM gaps
	WHERE source = 'flows' AND reason LIKE 'flow map full: % bytes %'")
assert_eq "$got" "${ovf#* }" "bytes the 'flow map full' reasons give = bytes of all overflow rows"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'flows' AND reason LIKE 'flow map full%'
	AND ts_start_ns <= $t1 AND ts_end_ns >= $t0 AND ts_start_ns < ts_end_ns")
[ "$got" -ge 1 ] || fail "no 'flow map full' gaps row whose period meets the burst ($t0..$t1)"
ok "'flow map full' gaps rows whose period meets the burst: $got"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'flows' AND reason NOT LIKE 'flow map full%'")
assert_eq "$got" 0 "other flows gaps (nothing counted nowhere, no unreadable headers)"
grep -q "flows: flow map full" "$T/rec.log" || fail "no 'flow map full' warning in the log"

# After the burst's interval the map is empty again: the ping is a flow, on both sides.
for x in "$IA a0 egress 8" "$IB b0 ingress 8" "$IB b0 egress 0" "$IA a0 ingress 0"; do
	set -- $x
	got=$(q -d "$D" sql "SELECT coalesce(sum(packets), 0) FROM flows WHERE netns = $1
		AND ifname = '$2' AND direction = '$3' AND kind = 'flow' AND proto = 1
		AND icmp_type = $4")
	assert_eq "$got" "$NPING" "ICMP type $4 packets in flow rows on $2 $3 after the burst"
done
echo "PASS"
