#!/bin/sh
# SPDX-License-Identifier: MIT
# --conntrack-accounting on: netrecd turns on nf_conntrack_acct and nf_conntrack_timestamp in
# the namespace it records (and says so in `health`), and a 3 MiB TCP transfer's destroy row
# carries the same packet and byte counts, in each direction, as nftables counters on that
# connection's packets in the server namespace (both count the IP packets conntrack sees), and
# kernel start/stop times that bracket the transfer. The host's own sysctls are not touched.
. "$(dirname "$0")/lib.sh"

need_root "network namespaces, conntrack, sysctls in a namespace"
need_cmd ip nft conntrack

C=nrca-c-$$
S=nrca-s-$$
netns_add "$C" "$S"
veth "$C" ae0 "$S" as0
ip -n "$C" addr add 10.78.0.1/24 dev ae0
ip -n "$S" addr add 10.78.0.2/24 dev as0
# Independent truth: named counters on the connection's packets, client to server (input) and
# server to client (output), at priority 0, after conntrack (-200) has counted the same packets.
ip netns exec "$S" nft -f - <<'EOF' || fail "nft ruleset"
table inet t {
	counter to_server { }
	counter to_client { }
	chain in {
		type filter hook input priority 0;
		ct state new counter
		tcp dport 5001 counter name "to_server"
	}
	chain out {
		type filter hook output priority 0;
		tcp sport 5001 counter name "to_client"
	}
}
EOF

SIZE=3145728
SYSCTL=/proc/sys/net/netfilter
host_acct=$(cat $SYSCTL/nf_conntrack_acct)
host_ts=$(cat $SYSCTL/nf_conntrack_timestamp)
for f in nf_conntrack_acct nf_conntrack_timestamp; do
	v=$(ip netns exec "$S" cat $SYSCTL/$f)
	assert_eq "$v" 0 "$f in $S before netrecd"
done

cat >"$T/server.py" <<'EOF'
# Sink on 10.78.0.2:5001: reads until EOF, logs "CLIENT_PORT BYTES", closes.
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.2", 5001))
s.listen(4)
open(sys.argv[1], "w").close()
c, a = s.accept()
n = 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    n += len(d)
c.close()
open(sys.argv[2], "w").write("%d %d\n" % (a[1], n))
EOF
cat >"$T/client.py" <<'EOF'
# Sends SIZE bytes to 10.78.0.2:5001, closes cleanly. Prints "PORT T_BEFORE T_CONNECTED T_END"
# (wall-clock ns: before connect, connected, after the server closed).
import socket, sys, time
size = int(sys.argv[1])
t0 = time.time_ns()
s = socket.create_connection(("10.78.0.2", 5001), timeout=10)
t1 = time.time_ns()
port = s.getsockname()[1]
buf = b"a" * 65536
left = size
while left:
    left -= s.send(buf[:min(left, len(buf))])
s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
s.close()
print(port, t0, t1, time.time_ns())
EOF
# A named counter as "PACKETS BYTES", from nft's JSON.
counter() {
	ip netns exec "$S" nft -j list counter inet t "$1" | "$PY" -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    if "counter" in o:
        print(o["counter"]["packets"], o["counter"]["bytes"])'
}

spawn ip netns exec "$S" "$PY" "$T/server.py" "$T/server.ready" "$T/server.log"
wait_until 10 "the server" test -e "$T/server.ready"

D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources conntrack --netns "$S" --conntrack-accounting on \
	--batch-latency 200ms --health-interval 1s
wait_until 10 "netrecd to subscribe in $S" grep -q "conntrack: recording netns" "$T/rec.log"
for f in nf_conntrack_acct nf_conntrack_timestamp; do
	v=$(ip netns exec "$S" cat $SYSCTL/$f)
	assert_eq "$v" 1 "$f in $S after netrecd started"
done

read -r PORT T_BEFORE T_CONN T_END <<EOF
$(ip netns exec "$C" "$PY" "$T/client.py" "$SIZE")
EOF
[ -n "$T_END" ] || fail "the client failed"
wait_until 10 "the server's count" test -s "$T/server.log"
assert_eq "$(cat "$T/server.log")" "$PORT $SIZE" "client port and bytes the server received"
sleep 0.3
read -r IN_P IN_B <<EOF
$(counter to_server)
EOF
read -r OUT_P OUT_B <<EOF
$(counter to_client)
EOF
ok "nft counters: to the server $IN_P packets $IN_B bytes, to the client $OUT_P packets $OUT_B bytes"
T_FLUSH=$(date +%s%N)
ip netns exec "$S" conntrack -F 2>/dev/null || fail "conntrack -F"
T_FLUSHED=$(date +%s%N)
sleep 0.5
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
ok "netrecd stopped with status 0"

W="proto = 6 AND orig_src = '10.78.0.1' AND orig_sport = $PORT AND orig_dst = '10.78.0.2'
	AND orig_dport = 5001"
row=$(q -d "$D" sql "SELECT orig_packets, orig_bytes, reply_packets, reply_bytes, start_ns,
	stop_ns FROM conntrack WHERE event = 'destroy' AND $W")
[ "$(echo "$row" | wc -l)" -eq 1 ] && [ -n "$row" ] || fail "destroy rows of the transfer: '$row'"
IFS=, read -r OP OB RP RB START STOP <<EOF
$row
EOF
assert_eq "$OP" "$IN_P" "orig_packets (nft counter to the server)"
assert_eq "$OB" "$IN_B" "orig_bytes (nft counter to the server)"
assert_eq "$RP" "$OUT_P" "reply_packets (nft counter to the client)"
assert_eq "$RB" "$OUT_B" "reply_bytes (nft counter to the client)"
[ "$OB" -ge $((SIZE + OP * 40)) ] || fail "orig_bytes $OB < payload $SIZE + $OP packets * 40"
ok "orig_bytes $OB >= payload $SIZE + $OP packets * 40 bytes of headers"
[ -n "$START" ] && [ "$START" -ge "$T_BEFORE" ] && [ "$START" -le "$T_CONN" ] ||
	fail "start_ns '$START' not between before-connect $T_BEFORE and connected $T_CONN"
ok "start_ns $START: between before-connect and connected ($(((START - T_BEFORE) / 1000)) us after)"
[ -n "$STOP" ] && [ "$STOP" -ge "$T_FLUSH" ] && [ "$STOP" -le "$T_FLUSHED" ] ||
	fail "stop_ns '$STOP' not within conntrack -F ($T_FLUSH .. $T_FLUSHED)"
[ "$STOP" -ge "$T_END" ] || fail "stop_ns $STOP before the transfer ended ($T_END)"
ok "stop_ns $STOP: after the transfer ended, within conntrack -F"
# The kernel puts counters and times only into destroy events (and dumps); the new row is there,
# collected between the connect and the end of the transfer.
got=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'new' AND $W
	AND ts_ns BETWEEN $T_BEFORE AND $T_END")
assert_eq "$got" 1 "new rows of the transfer, collected while it ran"
n=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'update' AND $W")
ok "update rows of the transfer: $n"

INO=$(netns_inode "$S")
for f in nf_conntrack_acct nf_conntrack_timestamp; do
	v=$(q -d "$D" sql "SELECT group_concat(DISTINCT CAST(value AS INTEGER)) FROM health
		WHERE source = 'conntrack' AND metric = '$f netns=$INO'")
	assert_eq "$v" 1 "health '$f netns=$INO'"
done
assert_eq "$(cat $SYSCTL/nf_conntrack_acct)" "$host_acct" "the host's nf_conntrack_acct (unchanged)"
assert_eq "$(cat $SYSCTL/nf_conntrack_timestamp)" "$host_ts" \
	"the host's nf_conntrack_timestamp (unchanged)"
echo "PASS"
