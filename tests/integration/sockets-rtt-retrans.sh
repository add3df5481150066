#!/bin/sh
# SPDX-License-Identifier: MIT
# RTT and retransmits as the socket source records them, against the kernel's own figures.
#  - Delay: this kernel has no netem (FACTS.md), so a slow tbf queue on the client's egress
#    (1 mbit/s, 300 ms of queue) and a transfer faster than that make the round trip long;
#    `ss -ti` read during the transfer is the independent figure. Recorded RTT >= 50 ms, like
#    ss's.
#  - Loss: nftables drops 1 in 5 of the connection's packets at the server's input; the client's
#    close row has retrans > 0, equal to the namespace's TcpRetransSegs delta
#    (/proc/net/snmp) over that transfer, the only connection in the namespace then.
. "$(dirname "$0")/lib.sh"

need_root "network namespaces, sock_diag, BPF, tc, nft"
need_cmd ip ss tc nft

C=nrsr-c-$$
S=nrsr-s-$$
netns_add "$C" "$S"
veth "$C" re0 "$S" rs0
ip -n "$C" addr add 10.86.0.1/24 dev re0
ip -n "$S" addr add 10.86.0.2/24 dev rs0
PEER="$(dirname "$0")/sockpeer.py"

spawn ip netns exec "$S" "$PY" "$PEER" server nrt-rserver 10.86.0.2 5004 "$T/srv4" 0
spawn ip netns exec "$S" "$PY" "$PEER" server nrt-lserver 10.86.0.2 5005 "$T/srv5" 0
wait_until 10 "the servers" test -e "$T/srv4" -a -e "$T/srv5"

D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources sockets --netns "$C" --sockets-interval 500ms \
	--batch-latency 200ms
wait_until 10 "netrecd to record $C" grep -q 'sockets: recording netns' "$T/rec.log"
CI=$(netns_inode "$C")

# --- delay
ip netns exec "$C" tc qdisc add dev re0 root tbf rate 1mbit burst 16kb latency 300ms ||
	fail "tbf on re0"
spawn sh -c "ip netns exec '$C' '$PY' '$PEER' client nrt-slow 10.86.0.2 5004 400000 > '$T/slow.out'"
SLOW=$BPID
sleep 2
SS_RTT=$(ip netns exec "$C" ss -tiH "( dport = :5004 )" |
	grep -o ' rtt:[0-9.]*' | cut -d: -f2 | cut -d. -f1)
[ -n "$SS_RTT" ] || fail "ss shows no rtt for the slow connection: $(ip netns exec "$C" ss -tinH)"
ok "ss -ti during the slow transfer: rtt $SS_RTT ms"
[ "$SS_RTT" -ge 50 ] || fail "the tbf queue did not slow the round trip to 50 ms (ss: $SS_RTT ms)"
wait_exit "$SLOW" 60 || fail "the slow client failed"
read -r _ SPORT _ < "$T/slow.out"
ip netns exec "$C" tc qdisc del dev re0 root
got=$(q -d "$D" sql "SELECT max(rtt_us) FROM sockets WHERE netns = $CI AND sport = $SPORT
	AND dport = 5004")
[ -n "$got" ] && [ "$got" -ge 50000 ] || fail "recorded RTT of the slow connection: '$got' us"
ok "recorded RTT of the slow connection: max $got us (>= 50 ms, ss said $SS_RTT ms)"

# --- loss
# At the server's input: a packet the client's own output hook dropped would not be a loss
# (TCP sends it again as new data, not as a retransmission).
ip netns exec "$S" nft -f - <<'NFT' || fail "nft ruleset"
table inet nrloss {
	chain in {
		type filter hook input priority 0;
		tcp dport 5005 numgen random mod 5 == 0 drop
	}
}
NFT
retrans_segs() {
	ip netns exec "$C" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1 } else print $c }' /proc/net/snmp
}
r0=$(retrans_segs)
read -r _ LPORT _ <<OUT
$(ip netns exec "$C" "$PY" "$PEER" client nrt-lossy 10.86.0.2 5005 4000000)
OUT
r1=$(retrans_segs)
ok "TcpRetransSegs in $C over the lossy transfer: $((r1 - r0))"
[ $((r1 - r0)) -gt 0 ] || fail "the nft drops caused no retransmission"
sleep 1
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
got=$(q -d "$D" sql "SELECT retrans FROM sockets WHERE netns = $CI AND sport = $LPORT
	AND dport = 5005 AND kind = 'close'")
assert_eq "$got" "$((r1 - r0))" "retrans of the lossy connection's close row (TcpRetransSegs delta)"
got=$(q -d "$D" sql "SELECT bytes_sent FROM sockets WHERE netns = $CI AND sport = $LPORT
	AND dport = 5005 AND kind = 'close'")
assert_eq "$got" 4000000 "bytes_sent of the lossy connection (payload, retransmissions not counted again)"
echo "PASS"
