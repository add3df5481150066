#!/bin/sh
# SPDX-License-Identifier: MIT
# 1,000 connections of a few milliseconds each, far shorter than the sample interval (10 s,
# the default): every one has a 'close' row on each end, with the client's pid and command on
# the client's side (the BPF creator map: the client has exited when the rows are written)
# and the server's on the server's side (the listener's owner), and the bytes it carried.
# Nothing is lost: no gaps rows. Then again with a 4 KiB notification buffer: the kernel drops
# notifications, and close rows plus the gaps rows' count of lost ones are every connection.
. "$(dirname "$0")/lib.sh"

need_root "network namespaces, sock_diag, BPF"
need_cmd ip

C=nrsb-c-$$
S=nrsb-s-$$
netns_add "$C" "$S"
veth "$C" be0 "$S" bs0
ip -n "$C" addr add 10.85.0.1/24 dev be0
ip -n "$S" addr add 10.85.0.2/24 dev bs0
PEER="$(dirname "$0")/sockpeer.py"
N=1000

spawn ip netns exec "$S" "$PY" "$PEER" server nrt-bserver 10.85.0.2 5003 "$T/srv" 10
wait_until 10 "the server" test -e "$T/srv"
SPID=$(ip netns pids "$S" | while read -r p; do
	[ "$(cat /proc/"$p"/comm 2>/dev/null)" != nrt-bserver ] || echo "$p"; done)
[ -n "$SPID" ] || fail "no nrt-bserver process in $S"

D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources sockets --netns "$C,$S" --batch-latency 200ms
wait_until 10 "netrecd to record both namespaces" \
	sh -c "[ \$(grep -c 'sockets: recording netns' '$T/rec.log') -eq 2 ]"
CI=$(netns_inode "$C")
SI=$(netns_inode "$S")

t0=$(date +%s%N)
CPID=$(ip netns exec "$C" "$PY" "$PEER" burst nrt-burst 10.85.0.2 5003 "$N" 100)
t1=$(date +%s%N)
[ -n "$CPID" ] || fail "the burst client failed"
ok "$N connections in $(((t1 - t0) / 1000000)) ms"
wait_until 10 "the server's log of $N connections" sh -c "[ \$(wc -l < '$T/srv.log') -ge $N ]"
sleep 1
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"

# Independent truth: the client ports the server logged.
cut -d' ' -f1 "$T/srv.log" | sort -n > "$T/ports.truth"
q -d "$D" sql "SELECT sport FROM sockets WHERE netns = $CI AND dport = 5003 AND kind = 'close'
	ORDER BY sport" > "$T/ports.client"
q -d "$D" sql "SELECT dport FROM sockets WHERE netns = $SI AND sport = 5003 AND kind = 'close'
	ORDER BY dport" > "$T/ports.server"
cmp -s "$T/ports.truth" "$T/ports.client" ||
	fail "client close rows: $(wc -l < "$T/ports.client") ports, the server saw $N: $(diff "$T/ports.truth" "$T/ports.client" | head -5)"
ok "client-side close rows, one per connection the server logged: $(wc -l < "$T/ports.client")"
cmp -s "$T/ports.truth" "$T/ports.server" ||
	fail "server close rows: $(wc -l < "$T/ports.server") ports: $(diff "$T/ports.truth" "$T/ports.server" | head -5)"
ok "server-side close rows, one per connection: $(wc -l < "$T/ports.server")"
got=$(q -d "$D" sql "SELECT count(*) FROM sockets WHERE netns = $CI AND dport = 5003
	AND kind = 'close' AND pid = $CPID AND comm = 'nrt-burst' AND bytes_sent = 100
	AND bytes_received = 11 AND direction = 'out'")
assert_eq "$got" "$N" "client close rows with the client's pid $CPID, its name, 100 bytes sent, 10 (+FIN) received, out"
got=$(q -d "$D" sql "SELECT count(*) FROM sockets WHERE netns = $SI AND sport = 5003
	AND kind = 'close' AND pid = $SPID AND comm = 'nrt-bserver' AND bytes_received = 101
	AND bytes_sent = 10 AND direction = 'in'")
assert_eq "$got" "$N" "server close rows with the server's pid $SPID, its name, in"
got=$(q -d "$D" sql "SELECT count(*) FROM sockets WHERE pid IS NULL")
assert_eq "$got" 0 "rows without a pid"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'sockets'")
assert_eq "$got" 0 "gaps rows of the socket source"

# The same burst into a 4 KiB notification buffer while netrecd is stopped: the kernel drops
# most notifications, and
# every one is accounted for: close rows + the gaps rows' lost = 2 x N (both ends).
D2="$T/data2"
start_recorder "$T/rec2.log" -d "$D2" --sources sockets --netns "$C,$S" --batch-latency 200ms \
	--sockets-rcvbuf 4K
wait_until 10 "netrecd to record both namespaces" \
	sh -c "[ \$(grep -c 'sockets: recording netns' '$T/rec2.log') -eq 2 ]"
: > "$T/srv.log"
# netrecd stopped (SIGSTOP) while the burst happens: the notifications pile up in 4 KiB.
kill -STOP "$RPID"
ip netns exec "$C" "$PY" "$PEER" burst nrt-burst 10.85.0.2 5003 "$N" 100 > /dev/null ||
	fail "the second burst failed"
wait_until 10 "the server's log of $N connections" sh -c "[ \$(wc -l < '$T/srv.log') -ge $N ]"
sleep 0.5
kill -CONT "$RPID"
sleep 2 # the drop count is read every second
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec2.log")"
rows=$(q -d "$D2" sql "SELECT count(*) FROM sockets WHERE kind = 'close' AND (dport = 5003 OR sport = 5003)")
lost=$(q -d "$D2" sql "SELECT ifnull(sum(lost), 0) FROM gaps WHERE source = 'sockets'
	AND reason LIKE 'close notifications lost%'")
[ "$lost" -gt 0 ] || fail "a 4 KiB buffer lost no close notification (rows $rows)"
assert_eq "$((rows + lost))" "$((2 * N))" "close rows ($rows) + notifications lost in gaps ($lost)"
echo "PASS"
