#!/bin/sh
# SPDX-License-Identifier: MIT
# The socket source on known transfers between two namespaces the test creates (client C,
# server S, over a veth), recorded with --sources sockets --sockets-interval 1s:
#  - a client that sends SIZE bytes, reads REPLY bytes and exits at once: its 'close' row has
#    bytes_sent = SIZE (payload sent once; TCP over this veth retransmits) and bytes_received
#    = REPLY (+1 for the server's FIN, which tcp_info counts), the client's pid and command name; the server's side of the same connection
#    has the mirror figures and the server's pid and name; directions 'out' and 'in';
#  - a connection inside S (client and server in one namespace): 'local' on both ends;
#  - a long-lived connection: samples over time whose counters only grow, and a final row
#    that agrees with `ss -tin` read just before it closed.
. "$(dirname "$0")/lib.sh"

need_root "network namespaces, sock_diag, BPF"
need_cmd ip ss

C=nrst-c-$$
S=nrst-s-$$
netns_add "$C" "$S"
veth "$C" te0 "$S" ts0
ip -n "$C" addr add 10.84.0.1/24 dev te0
ip -n "$S" addr add 10.84.0.2/24 dev ts0
PEER="$(dirname "$0")/sockpeer.py"
SIZE=2097152
REPLY=100000

spawn ip netns exec "$S" "$PY" "$PEER" server nrt-server 10.84.0.2 5001 "$T/srv1" "$REPLY"
SRV1=$BPID
spawn ip netns exec "$S" "$PY" "$PEER" server nrt-quiet 10.84.0.2 5002 "$T/srv2" 0
wait_until 10 "the servers" test -e "$T/srv1" -a -e "$T/srv2"
# ip netns exec runs the server as its child: the python process is the listener's owner.
SPID1=$(ip netns pids "$S" | while read -r p; do
	[ "$(cat /proc/"$p"/comm 2>/dev/null)" != nrt-server ] || echo "$p"; done)
[ -n "$SPID1" ] || fail "no nrt-server process in $S"

D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources sockets --netns "$C,$S" --sockets-interval 1s \
	--batch-latency 200ms
wait_until 10 "netrecd to record both namespaces" \
	sh -c "[ \$(grep -c 'sockets: recording netns' '$T/rec.log') -eq 2 ]"
CI=$(netns_inode "$C")
SI=$(netns_inode "$S")

# 1. A short transfer: the client is gone long before the next sample.
read -r CPID CPORT CGOT <<EOF
$(ip netns exec "$C" "$PY" "$PEER" client nrt-client 10.84.0.2 5001 "$SIZE")
EOF
assert_eq "$CGOT" "$REPLY" "bytes the client read"
wait_until 10 "the server's log" grep -qs "^$CPORT " "$T/srv1.log"
assert_eq "$(grep "^$CPORT " "$T/srv1.log")" "$CPORT $SIZE" "client port and bytes the server read"

# 2. A connection inside S.
read -r LPID LPORT LGOT <<EOF
$(ip netns exec "$S" "$PY" "$PEER" client nrt-local 10.84.0.2 5001 1000)
EOF

# 3. A long-lived connection: 12 sends of 64 KiB 0.3 s apart, over four samples.
spawn sh -c "ip netns exec '$C' '$PY' '$PEER' long nrt-long 10.84.0.2 5002 12 '$T/go' > '$T/long.out'"
wait_until 20 "the long connection's sends" test -s "$T/long.out"
read -r GPID GPORT < "$T/long.out"
# ss, just before it closes: the independent figures for the final row.
SS=$(ip netns exec "$C" ss -tinH state established "( sport = :$GPORT )")
SS_SENT=$(echo "$SS" | grep -o 'bytes_sent:[0-9]*' | cut -d: -f2)
SS_RBYTES=$(echo "$SS" | grep -o 'bytes_retrans:[0-9]*' | cut -d: -f2)
SS_SENT=$((SS_SENT - ${SS_RBYTES:-0})) # the store keeps payload sent once
SS_RETR=$(echo "$SS" | grep -o 'retrans:[0-9]*/[0-9]*' | cut -d/ -f2)
SS_RECV=$(echo "$SS" | grep -o 'bytes_received:[0-9]*' | cut -d: -f2)
[ -n "$SS_SENT" ] || fail "ss shows no bytes_sent for port $GPORT: $SS"
ok "ss -tin before the close: bytes_sent - bytes_retrans $SS_SENT, bytes_received ${SS_RECV:-0}, retrans ${SS_RETR:-0}"
touch "$T/go"
wait_until 10 "the long connection's end" grep -qs "^$GPORT " "$T/srv2.log"
sleep 1.5 # a sample after everything ended: no row may follow a close
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
ok "netrecd stopped with status 0"

# --- 1. the short transfer, both ends
row() { # NETNS SPORT DPORT KIND: "bytes_sent,bytes_received,pid,comm,direction"
	q -d "$D" sql "SELECT bytes_sent, bytes_received, pid, comm, direction FROM sockets
		WHERE netns = $1 AND sport = $2 AND dport = $3 AND kind = '$4'"
}
got=$(row "$CI" "$CPORT" 5001 close)
assert_eq "$got" "$SIZE,$((REPLY + 1)),$CPID,nrt-client,out" \
	"client's close row: sent, received (reply + FIN), pid, comm, direction"
got=$(row "$SI" 5001 "$CPORT" close)
assert_eq "$got" "$REPLY,$((SIZE + 1)),$SPID1,nrt-server,in" \
	"server's close row of the same connection"
n=$(q -d "$D" sql "SELECT count(*) FROM sockets WHERE netns = $CI AND sport = $CPORT")
ok "rows of the client's side: $n (the connection ended between two samples: close only, or open and close)"

# --- 2. the local connection
got=$(q -d "$D" sql "SELECT group_concat(DISTINCT direction) FROM sockets WHERE netns = $SI
	AND ((sport = $LPORT AND dport = 5001) OR (sport = 5001 AND dport = $LPORT))")
assert_eq "$got" "local" "direction of both ends of the connection inside $S"
got=$(row "$SI" "$LPORT" 5001 close)
assert_eq "$got" "1000,$((REPLY + 1)),$LPID,nrt-local,local" "the local client's close row"

# --- 3. the long connection
W="netns = $CI AND sport = $GPORT AND dport = 5002"
got=$(q -d "$D" sql "SELECT count(*) FROM sockets WHERE $W AND kind IN ('open', 'sample')")
[ "$got" -ge 3 ] || fail "samples of the long connection: $got, expected at least 3"
ok "samples of the long connection before its close: $got"
got=$(q -d "$D" sql "SELECT count(*) FROM (SELECT bytes_sent, lag(bytes_sent) OVER (ORDER BY ts_ns)
	AS prev FROM sockets WHERE $W) WHERE prev IS NOT NULL AND bytes_sent <= prev
	AND bytes_sent < $((12 * 65536))")
assert_eq "$got" 0 "samples of the long connection whose bytes_sent did not grow"
got=$(q -d "$D" sql "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM sockets WHERE $W ORDER BY ts_ns)")
case "$got" in
open*close) ok "kinds in time order: $got" ;;
*) fail "kinds of the long connection in time order: '$got'" ;;
esac
got=$(q -d "$D" sql "SELECT bytes_sent, bytes_received, retrans, pid, comm FROM sockets
	WHERE $W AND kind = 'close'")
assert_eq "$got" "$SS_SENT,$((${SS_RECV:-0} + 1)),${SS_RETR:-0},$GPID,nrt-long" \
	"final row against ss -tin (bytes_received + the peer's FIN)"
got=$(q -d "$D" sql "SELECT count(*) FROM sockets WHERE $W AND ts_ns > (SELECT ts_ns FROM sockets
	WHERE $W AND kind = 'close')")
assert_eq "$got" 0 "rows after the close row"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'sockets'")
assert_eq "$got" 0 "gaps rows of the socket source"
echo "PASS"
