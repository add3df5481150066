#!/bin/sh
# SPDX-License-Identifier: MIT
# The flow source cuts a long flow into one row per interval (--flows-interval 1s): a TCP
# transfer paced to last about 4.5 s between two silent namespaces gives at least 3 rows for
# the same flow key on each interface and direction, with times that do not overlap, whose
# packets and bytes sum to the interface counter deltas (all rows of the interface) and to the
# payload the server received plus one set of headers per packet. Meanwhile two processes
# flood UDP (about 800k datagrams in 4 s): across every swap of the kernel maps, each datagram
# sent is in exactly one row on the sender's side and one on the receiver's. With a 2-slot
# IPv4 cache, so that the counts of one flow in one interval are split between the cache (on
# the CPU where it got a slot) and the flow map (where it did not), and must come out merged
# in one row.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-flows.sh"

need_root "network namespaces, BPF"
need_cmd ip

A=nrfi-a-$$
B=nrfi-b-$$
netns_add "$A" "$B"
quiet_pair "$A" a0 "$B" b0 10.86.0

CHUNK=32768
NCHUNK=45 # one every 0.1 s: about 4.5 s
PAYLOAD=$((CHUNK * NCHUNK))

cat >"$T/server.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.86.0.2", 7100))
s.listen(1)
open(sys.argv[1] + ".ready", "w").close()
c, a = s.accept()
n = 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    n += len(d)
c.close()
open(sys.argv[1], "w").write("%d\n" % n)
EOF
cat >"$T/client.py" <<'EOF'
# CHUNK NCHUNK PORTFILE: NCHUNK chunks of CHUNK bytes, 0.1 s apart, then a clean close.
import socket, sys, time
s = socket.create_connection(("10.86.0.2", 7100), timeout=10)
open(sys.argv[3], "w").write("%d\n" % s.getsockname()[1])
for i in range(int(sys.argv[2])):
    s.sendall(b"i" * int(sys.argv[1]))
    time.sleep(0.1)
s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
s.close()
EOF

# UDP floods from two processes (so both CPUs count, and map swaps happen under load) for the
# length of the transfer; B has a socket on the port (no port-unreachable errors), unread.
cat >"$T/flood.py" <<'EOF'
# PORT SECONDS OUTFILE: datagrams from PORT, moving to the next CPU every 100, so that the
# flow is counted on every CPU (where the TC programs run: the sender's, for both veth ends).
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.86.0.1", int(sys.argv[1])))
end, n, d = time.monotonic() + float(sys.argv[2]), 0, b"f" * 64
cpus, k = sorted(os.sched_getaffinity(0)), 0
while time.monotonic() < end:
    os.sched_setaffinity(0, {cpus[k % len(cpus)]})
    k += 1
    for i in range(100):
        s.sendto(d, ("10.86.0.2", 7101))
        n += 1
open(sys.argv[3], "w").write("%d\n" % n)
EOF
cat >"$T/sink.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.86.0.2", 7101))
open(sys.argv[1], "w").close()
time.sleep(3600)
EOF
spawn ip netns exec "$B" "$PY" "$T/sink.py" "$T/sink.ready"
wait_until 10 "the UDP sink" test -e "$T/sink.ready"

settle "$A" "$B"
link_stats "$A" "$B" >"$T/before.txt"
D="$T/data"
# A 1-slot cache: the floods move between the CPUs, and a flood that holds the slot of one
# CPU in an interval finds it taken on another, so its counts of the interval are split
# between the cache and the flow map, to be merged into one row.
start_recorder "$T/rec.log" -d "$D" --sources flows --netns "$A,$B" --flows-interval 1s \
	--flows-cache-size 1 --batch-latency 200ms
wait_until 10 "netrecd to attach in 2 namespaces" recording 2

spawn ip netns exec "$B" "$PY" "$T/server.py" "$T/got"
wait_until 10 "the server" test -e "$T/got.ready"
t0=$(date +%s%N)
RETRANS0=$(tcp_retrans "$A")
RETRANS0B=$(tcp_retrans "$B")
spawn ip netns exec "$A" "$PY" "$T/flood.py" 41001 4 "$T/flood1"
F1=$BPID
spawn ip netns exec "$A" "$PY" "$T/flood.py" 41002 4 "$T/flood2"
F2=$BPID
ip netns exec "$A" "$PY" "$T/client.py" "$CHUNK" "$NCHUNK" "$T/port" || fail "TCP client"
t1=$(date +%s%N)
ok "paced transfer took $(((t1 - t0) / 1000000)) ms"
wait "$F1" || fail "UDP flood 1"
wait "$F2" || fail "UDP flood 2"
ok "UDP floods sent $(cat "$T/flood1") and $(cat "$T/flood2") datagrams"
wait_until 10 "the server to finish" test -s "$T/got"
assert_eq "$(cat "$T/got")" "$PAYLOAD" "bytes the server received"
CPORT=$(cat "$T/port")
RETRANS=$(($(tcp_retrans "$A") - RETRANS0 + $(tcp_retrans "$B") - RETRANS0B))
ok "TCP segments retransmitted during the transfer (both ends): $RETRANS"

sleep 0.2
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
ok "netrecd stopped with status 0"
link_stats "$A" "$B" >"$T/after.txt"

flows_vs_counters "$D" "$T/before.txt" "$T/after.txt"

IA=$(netns_inode "$A")
IB=$(netns_inode "$B")
CS="kind = 'flow' AND proto = 6 AND src = '10.86.0.1' AND dst = '10.86.0.2' AND sport = $CPORT
	AND dport = 7100"
SC="kind = 'flow' AND proto = 6 AND src = '10.86.0.2' AND dst = '10.86.0.1' AND sport = 7100
	AND dport = $CPORT"
# disjoint INODE IFNAME DIRECTION WHERE: the flow's rows there, one per interval (at least 3,
# each its own interval, none overlapping the next), into $T/rows.txt. Times are in ticks of
# the kernel's clock (jiffies): a flow that sends through a collection has packets of the
# same tick on both sides of it, so a row may start in the tick the previous one ended in;
# anything more than that (10 ms: a tick at HZ >= 100) is an overlap.
disjoint() {
	q --raw -d "$D" sql "SELECT ts_start_ns, ts_end_ns, packets, bytes FROM flows
		WHERE netns = $1 AND ifname = '$2' AND direction = '$3' AND $4
		ORDER BY ts_start_ns" | tr ',' ' ' >"$T/rows.txt"
	d_rows=$(wc -l <"$T/rows.txt")
	[ "$d_rows" -ge 3 ] || fail "$2 $3: $d_rows rows for the flow over ~4 s of 1 s intervals, want >= 3"
	awk 'NR > 1 && $1 < prev - 10000000 { print "row " NR " starts at " $1 ", before the previous row ends at " prev; bad = 1 }
		$1 > $2 { print "row " NR " ends before it starts"; bad = 1 }
		{ prev = $2 } END { exit bad }' "$T/rows.txt" ||
		fail "$2 $3: rows of one flow overlap in time"
	d_spans=$(awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), ($2 - $1) / 1e9 }' "$T/rows.txt")
	ok "$2 $3: $d_rows rows of the flow, in disjoint times (spans in s: $d_spans)"
}
# per_interval INODE IFNAME DIRECTION WHERE PAYLOAD: disjoint, and the rows carry PAYLOAD
# bytes and the headers.
per_interval() {
	disjoint "$@"
	p=$(awk '{ s += $3 } END { print s }' "$T/rows.txt")
	b=$(awk '{ s += $4 } END { print s }' "$T/rows.txt")
	# Ethernet, IPv4 and TCP with timestamps: 66 bytes a packet, 8 more on the SYN (or
	# SYN-ACK); exact unless a segment was retransmitted (payload again, SACK options).
	[ "$b" -ge $(($5 + 66 * p + 8)) ] ||
		fail "$2 $3: $b bytes in $p packets, less than the $5-byte payload and headers"
	if [ "$RETRANS" = 0 ]; then
		assert_eq "$((b - $5))" "$((66 * p + 8))" "$2 $3: bytes beyond the $5-byte payload, over $p packets"
	else
		ok "$2 $3: $b bytes in $p packets, >= the $5-byte payload and headers"
	fi
}
# The times are the kernel's jiffies turned into wall-clock time: the connection's first
# packet is not before t0 and its last not after t1, to within a tick and a tick of the
# conversion (10 ms covers HZ >= 250 twice).
read -r FIRST LAST <<EOF
$(q --raw -d "$D" sql "SELECT min(ts_start_ns), max(ts_end_ns) FROM flows WHERE $CS" | tr ',' ' ')
EOF
[ "$FIRST" -ge $((t0 - 10000000)) ] && [ "$FIRST" -le "$t1" ] ||
	fail "the connection's first row starts at $FIRST, not within $t0 - 10 ms .. $t1"
[ "$LAST" -le $((t1 + 10000000)) ] && [ "$LAST" -ge "$FIRST" ] ||
	fail "the connection's last row ends at $LAST, after $t1 + 10 ms"
ok "the connection's rows from t0 + $(((FIRST - t0) / 1000000)) ms to t1 - $(((t1 - LAST) / 1000000)) ms" \
	"(t0, t1: date before and after the transfer)"
per_interval "$IA" a0 egress "$CS" "$PAYLOAD"
per_interval "$IB" b0 ingress "$CS" "$PAYLOAD"
per_interval "$IB" b0 egress "$SC" 0
per_interval "$IA" a0 ingress "$SC" 0
# The floods: every datagram sent is in exactly one row, on each side, across the swaps.
for f in 1 2; do
	n=$(cat "$T/flood$f")
	FL="kind = 'flow' AND proto = 17 AND src = '10.86.0.1' AND dst = '10.86.0.2'
		AND sport = 4100$f AND dport = 7101"
	for x in "$IA a0 egress" "$IB b0 ingress"; do
		set -- $x
		disjoint "$1" "$2" "$3" "$FL"
		got=$(q -d "$D" sql "SELECT count(*), sum(packets), sum(bytes) FROM flows
			WHERE netns = $1 AND ifname = '$2' AND direction = '$3' AND $FL" | tr ',' ' ')
		set -- $x $got
		[ "$4" -ge 3 ] || fail "flood $f on $2 $3: $4 rows over ~4 s of 1 s intervals"
		assert_eq "$5 $6" "$n $((n * 106))" "flood $f on $2 $3, $4 rows: packets, bytes (106 each)"
	done
done
# Nothing else was sent.
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE NOT ($CS) AND NOT ($SC)
	AND NOT (proto = 17 AND sport IN (41001, 41002) AND dport = 7101)")
assert_eq "$got" 0 "rows of anything but the transfer and the floods"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'flows'")
assert_eq "$got" 0 "flows gaps"
echo "PASS"
