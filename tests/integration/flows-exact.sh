#!/bin/sh
# SPDX-License-Identifier: MIT
# The flow source against interface counters as ground truth. Three silent namespaces,
# A -- (ma) bridge br0 in M (mb) -- B, so A's packets to B cross a0, ma, mb and b0. Traffic:
# UDP datagrams of a fixed size, a TCP transfer of several MiB, ping over IPv4 (to B and to
# the bridge's own address) and IPv6, UDP over IPv6, and ping on A's loopback. Per interface
# and direction, the packets and bytes of all rows equal the counter deltas exactly (every
# interface of the three namespaces). The UDP flow is egress on the sender's interfaces and
# ingress on the receiver's, with its addresses, ports, protocol, MACs and exact packets and
# bytes on every interface it crossed; TCP rows OR the flags of the whole connection; ICMP
# rows carry their echo type; IPv6 rows have family 6; times lie within the run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-flows.sh"

need_root "network namespaces, BPF"
need_cmd ip ping

A=nrfe-a-$$
M=nrfe-m-$$
B=nrfe-b-$$
netns_add "$A" "$M" "$B"
ip -n "$M" link add name br0 type bridge || fail "bridge"
quiet_veth "$A" a0 "$M" ma
quiet_veth "$B" b0 "$M" mb
ip -n "$M" link set dev ma master br0
ip -n "$M" link set dev mb master br0
quiet_up "$M" br0
ip -n "$A" addr add 10.88.0.1/24 dev a0
ip -n "$B" addr add 10.88.0.2/24 dev b0
ip -n "$M" addr add 10.88.0.3/24 dev br0
ip -n "$A" addr add fd88::1/64 dev a0 nodad
ip -n "$B" addr add fd88::2/64 dev b0 nodad
MAC_A=$(link_mac "$A" a0)
MAC_B=$(link_mac "$B" b0)
MAC_BR=$(link_mac "$M" br0)
neigh_perm "$A" a0 10.88.0.2 "$MAC_B"
neigh_perm "$A" a0 10.88.0.3 "$MAC_BR"
neigh_perm "$A" a0 fd88::2 "$MAC_B"
neigh_perm "$B" b0 10.88.0.1 "$MAC_A"
neigh_perm "$B" b0 fd88::1 "$MAC_A"
neigh_perm "$M" br0 10.88.0.1 "$MAC_A"

NUDP=1000   # IPv4 UDP datagrams
PUDP=200    # their payload: 242 bytes at TC (14 + 20 + 8 + 200)
NUDP6=300   # IPv6 UDP datagrams
PUDP6=300   # their payload: 362 bytes at TC (14 + 40 + 8 + 300)
TCPSIZE=$((6 * 1024 * 1024))
NPING=10    # echoes to B (98 bytes each way at TC)
NPINGBR=5   # echoes to the bridge's address
NPING6=4
NPINGLO=3

cat >"$T/server.py" <<'EOF'
# udp FAMILY ADDR PORT N OUT: receives N datagrams (or stops 3 s after the last one), writes
#   "COUNT BYTES" to OUT. tcp ADDR PORT OUT: one connection, writes its byte count at EOF.
import socket, sys
mode, fam, addr, port = sys.argv[1], socket.AF_INET6 if ":" in sys.argv[3] else socket.AF_INET, sys.argv[3], int(sys.argv[4])
if mode == "udp":
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
    s.bind((addr, port))
    open(sys.argv[6] + ".ready", "w").close()
    n = b = 0
    s.settimeout(None)
    while n < int(sys.argv[5]):
        d = s.recv(65536)
        n += 1
        b += len(d)
        s.settimeout(3)
    open(sys.argv[6], "w").write("%d %d\n" % (n, b))
else:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    open(sys.argv[5] + ".ready", "w").close()
    c, a = s.accept()
    n = 0
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        n += len(d)
    c.close()
    open(sys.argv[5], "w").write("%d\n" % n)
EOF
cat >"$T/client.py" <<'EOF'
# udp DST DPORT SPORT N SIZE: N datagrams of SIZE bytes from port SPORT.
# tcp DST DPORT SIZE OUT: SIZE bytes over one connection, closed cleanly; its port to OUT.
import socket, sys
mode, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
if mode == "udp":
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", int(sys.argv[4])))
    d = b"x" * int(sys.argv[6])
    for i in range(int(sys.argv[5])):
        s.sendto(d, (dst, dport))
else:
    s = socket.create_connection((dst, dport), timeout=10)
    open(sys.argv[5], "w").write("%d\n" % s.getsockname()[1])
    left, chunk = int(sys.argv[4]), b"t" * 65536
    while left:
        left -= s.send(chunk[:min(left, len(chunk))])
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()
EOF

settle "$A" "$M" "$B"
link_stats "$A" "$M" "$B" >"$T/before.txt"
D="$T/data"
T0=$(date +%s%N)
start_recorder "$T/rec.log" -d "$D" --sources flows --netns "$A,$M,$B" --batch-latency 200ms
wait_until 10 "netrecd to attach in 3 namespaces" recording 3
for n in "$A" "$M" "$B"; do
	grep -q "flows: recording netns $(netns_inode "$n") ($n)" "$T/rec.log" ||
		fail "no 'flows: recording netns $(netns_inode "$n") ($n)' line: $(cat "$T/rec.log")"
done
for x in "$A a0" "$A lo" "$M ma" "$M mb" "$M br0" "$B b0"; do
	set -- $x
	assert_eq "$(tcx_count "$1" "$2" ingress) $(tcx_count "$1" "$2" egress)" "1 1" \
		"tcx programs on $2 (ingress, egress) while recording"
done

# ---- traffic ----------------------------------------------------------------------------
spawn ip netns exec "$B" "$PY" "$T/server.py" udp 4 10.88.0.2 7001 "$NUDP" "$T/udp4.got"
wait_until 10 "the UDP receiver" test -e "$T/udp4.got.ready"
ip netns exec "$A" "$PY" "$T/client.py" udp 10.88.0.2 7001 40001 "$NUDP" "$PUDP" ||
	fail "UDP sender"
wait_until 10 "the UDP receiver to finish" test -s "$T/udp4.got"
assert_eq "$(cat "$T/udp4.got")" "$NUDP $((NUDP * PUDP))" "datagrams and bytes B received"

spawn ip netns exec "$B" "$PY" "$T/server.py" udp 6 fd88::2 7003 "$NUDP6" "$T/udp6.got"
wait_until 10 "the IPv6 UDP receiver" test -e "$T/udp6.got.ready"
ip netns exec "$A" "$PY" "$T/client.py" udp fd88::2 7003 40003 "$NUDP6" "$PUDP6" ||
	fail "IPv6 UDP sender"
wait_until 10 "the IPv6 UDP receiver to finish" test -s "$T/udp6.got"
assert_eq "$(cat "$T/udp6.got")" "$NUDP6 $((NUDP6 * PUDP6))" "IPv6 datagrams and bytes B received"

spawn ip netns exec "$B" "$PY" "$T/server.py" tcp 4 10.88.0.2 7002 "$T/tcp.got"
wait_until 10 "the TCP server" test -e "$T/tcp.got.ready"
RETRANS0=$(tcp_retrans "$A")
ip netns exec "$A" "$PY" "$T/client.py" tcp 10.88.0.2 7002 "$TCPSIZE" "$T/tcp.port" ||
	fail "TCP client"
wait_until 10 "the TCP server to finish" test -s "$T/tcp.got"
assert_eq "$(cat "$T/tcp.got")" "$TCPSIZE" "bytes the TCP server received"
RETRANS=$(($(tcp_retrans "$A") - RETRANS0))
ok "TCP segments retransmitted in $A during the transfer: $RETRANS"
CPORT=$(cat "$T/tcp.port")

ip netns exec "$A" ping -q -c "$NPING" -i 0.02 -W 2 10.88.0.2 >/dev/null || fail "ping B"
ip netns exec "$A" ping -q -c "$NPINGBR" -i 0.02 -W 2 10.88.0.3 >/dev/null || fail "ping br0"
ip netns exec "$A" ping -q -6 -c "$NPING6" -i 0.02 -W 2 fd88::2 >/dev/null || fail "ping -6 B"
ip netns exec "$A" ping -q -c "$NPINGLO" -i 0.02 -W 2 127.0.0.1 >/dev/null || fail "ping lo"

sleep 0.2
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
T1=$(date +%s%N)
ok "netrecd stopped with status 0"
link_stats "$A" "$M" "$B" >"$T/after.txt"

# ---- every packet and byte, per interface and direction ----------------------------------
flows_vs_counters "$D" "$T/before.txt" "$T/after.txt"
for x in "$A a0" "$A lo" "$M ma" "$M mb" "$M br0" "$B b0"; do
	set -- $x
	assert_eq "$(tcx_count "$1" "$2" ingress) $(tcx_count "$1" "$2" egress)" "0 0" \
		"tcx programs on $2 (ingress, egress) after the stop"
done

IA=$(netns_inode "$A")
IM=$(netns_inode "$M")
IB=$(netns_inode "$B")
# The interfaces a flow from A to B crosses, and the direction there.
PATH_AB="$IA a0 egress,$IM ma ingress,$IM mb egress,$IB b0 ingress"
PATH_BA="$IB b0 egress,$IM mb ingress,$IM ma egress,$IA a0 ingress"

# on_path PATH WHERE: for every hop of PATH, "IFNAME DIRECTION: count(*), sum(packets),
# sum(bytes)" of the rows matching WHERE there (plus, after a tab, the same over the
# interfaces and directions not on PATH, which must be none).
on_path() {
	echo "$1" | tr ',' '\n' | while read -r ino ifn dir; do
		printf '%s %s %s\n' "$ifn" "$dir" "$(q -d "$D" sql "SELECT count(*), sum(packets),
			sum(bytes) FROM flows WHERE netns = $ino AND ifname = '$ifn'
			AND direction = '$dir' AND $2" | tr ',' ' ')"
	done
}
# check_path PATH WHERE PACKETS BYTES WHAT: on every hop, the rows matching WHERE sum to
# PACKETS and BYTES; no row matching WHERE anywhere else.
check_path() {
	on_path "$1" "$2" >"$T/path.txt"
	while read -r ifn dir n p b; do
		assert_eq "$p $b" "$3 $4" "$5 on $ifn $dir: packets, bytes ($n rows)"
	done <"$T/path.txt"
	total=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $2")
	hops=$(awk '{ s += $3 } END { print s }' "$T/path.txt")
	assert_eq "$total" "$hops" "$5: rows in all (none off its path or in the wrong direction)"
}

# ---- UDP over IPv4 ------------------------------------------------------------------------
UDP4="kind = 'flow' AND family = 4 AND proto = 17 AND src = '10.88.0.1' AND dst = '10.88.0.2'
	AND sport = 40001 AND dport = 7001"
check_path "$PATH_AB" "$UDP4" "$NUDP" $((NUDP * (PUDP + 42))) "UDP 10.88.0.1:40001 -> 10.88.0.2:7001"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $UDP4 AND src_mac = '$MAC_A'
	AND dst_mac = '$MAC_B' AND ethertype = 2048 AND sampling = 1 AND tcp_flags IS NULL
	AND icmp_type IS NULL AND icmp_code IS NULL")
assert_eq "$got" "$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $UDP4")" \
	"UDP rows with src_mac $MAC_A (a0), dst_mac $MAC_B (b0), ethertype 2048, sampling 1, no TCP/ICMP fields"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE (netns = $IA AND ifname = 'a0')
	OR (netns = $IB AND ifname = 'b0')")
ok "rows on a0 and b0: $got"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE src = '10.88.0.2' AND proto = 17")
assert_eq "$got" 0 "UDP rows from B (it sent none)"

# ---- UDP over IPv6 ------------------------------------------------------------------------
UDP6="kind = 'flow' AND family = 6 AND proto = 17 AND src = 'fd88::1' AND dst = 'fd88::2'
	AND sport = 40003 AND dport = 7003"
check_path "$PATH_AB" "$UDP6" "$NUDP6" $((NUDP6 * (PUDP6 + 62))) \
	"UDP [fd88::1]:40003 -> [fd88::2]:7003"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $UDP6 AND src_mac = '$MAC_A'
	AND dst_mac = '$MAC_B' AND ethertype = 34525")
assert_eq "$got" "$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $UDP6")" \
	"IPv6 UDP rows with the veths' MACs and ethertype 34525"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE family = 6 AND kind = 'flow'
	AND (src LIKE '%.%' OR ethertype <> 34525)")
assert_eq "$got" 0 "family 6 rows with an IPv4 address or another ethertype"

# ---- TCP ----------------------------------------------------------------------------------
TCP_CS="kind = 'flow' AND family = 4 AND proto = 6 AND src = '10.88.0.1' AND dst = '10.88.0.2'
	AND sport = $CPORT AND dport = 7002"
TCP_SC="kind = 'flow' AND family = 4 AND proto = 6 AND src = '10.88.0.2' AND dst = '10.88.0.1'
	AND sport = 7002 AND dport = $CPORT"
# flags ORed over every row of a direction on one interface: "SYN ACK FIN RST" as 0/1
flags() { # INODE IFNAME DIRECTION WHERE
	q -d "$D" sql "SELECT max((tcp_flags & 2) > 0), max((tcp_flags & 16) > 0),
		max((tcp_flags & 1) > 0), max((tcp_flags & 4) > 0) FROM flows
		WHERE netns = $1 AND ifname = '$2' AND direction = '$3' AND $4" | tr ',' ' '
}
echo "$PATH_AB" | tr ',' '\n' >"$T/hops"
while read -r ino ifn dir; do
	assert_eq "$(flags "$ino" "$ifn" "$dir" "$TCP_CS")" "1 1 1 0" \
		"TCP client->server on $ifn $dir: SYN, ACK, FIN seen; no RST"
done <"$T/hops"
echo "$PATH_BA" | tr ',' '\n' >"$T/hops"
while read -r ino ifn dir; do
	assert_eq "$(flags "$ino" "$ifn" "$dir" "$TCP_SC")" "1 1 1 0" \
		"TCP server->client on $ifn $dir: SYN, ACK, FIN seen; no RST"
done <"$T/hops"
# Every hop saw the same packets; each carries one Ethernet, IPv4 and TCP header (32 bytes
# with the timestamp option, 40 on the SYN) over the payload.
on_path "$PATH_AB" "$TCP_CS" >"$T/path.txt"
assert_eq "$(awk '{ print $3, $4 }' "$T/path.txt" | sort -u | wc -l)" 1 \
	"TCP client->server: the same packets and bytes on a0, ma, mb and b0"
read -r _ _ _ p b <"$T/path.txt"
# (A retransmission, such as a tail-loss probe on a busy machine, carries payload again.)
if [ "$RETRANS" = 0 ]; then
	assert_eq "$((b - TCPSIZE))" "$((66 * p + 8))" \
		"TCP client->server bytes on a0 beyond the payload ($p packets: 66 each, 8 more on the SYN)"
else
	[ "$b" -ge $((TCPSIZE + 66 * p + 8)) ] ||
		fail "TCP client->server: $b bytes on a0 in $p packets, less than the payload and headers"
	ok "TCP client->server: $b bytes on a0 in $p packets, >= payload + headers ($((TCPSIZE + 66 * p + 8)); $RETRANS segments retransmitted)"
fi
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE ($TCP_CS) AND (src_mac <> '$MAC_A'
	OR dst_mac <> '$MAC_B')")
assert_eq "$got" 0 "TCP client->server rows with other MACs than a0's -> b0's"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE ($TCP_SC) AND (src_mac <> '$MAC_B'
	OR dst_mac <> '$MAC_A')")
assert_eq "$got" 0 "TCP server->client rows with other MACs than b0's -> a0's"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE kind = 'flow' AND proto <> 6
	AND tcp_flags IS NOT NULL")
assert_eq "$got" 0 "rows of other protocols with tcp_flags"

# ---- ICMP ---------------------------------------------------------------------------------
ICMP_REQ="kind = 'flow' AND family = 4 AND proto = 1 AND src = '10.88.0.1' AND dst = '10.88.0.2'
	AND icmp_type = 8 AND icmp_code = 0 AND sport IS NULL AND dport IS NULL"
ICMP_REP="kind = 'flow' AND family = 4 AND proto = 1 AND src = '10.88.0.2' AND dst = '10.88.0.1'
	AND icmp_type = 0 AND icmp_code = 0 AND sport IS NULL AND dport IS NULL"
check_path "$PATH_AB" "$ICMP_REQ" "$NPING" $((NPING * 98)) "ICMP echo requests A -> B"
check_path "$PATH_BA" "$ICMP_REP" "$NPING" $((NPING * 98)) "ICMP echo replies B -> A"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $ICMP_REP AND src_mac = '$MAC_B'
	AND dst_mac = '$MAC_A'")
assert_eq "$got" "$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $ICMP_REP")" \
	"ICMP reply rows with src_mac $MAC_B (b0), dst_mac $MAC_A (a0)"
# To the bridge's own address: in through ma, up into br0; the reply out of br0 and ma.
BR_REQ="kind = 'flow' AND proto = 1 AND src = '10.88.0.1' AND dst = '10.88.0.3' AND icmp_type = 8"
BR_REP="kind = 'flow' AND proto = 1 AND src = '10.88.0.3' AND dst = '10.88.0.1' AND icmp_type = 0"
check_path "$IA a0 egress,$IM ma ingress,$IM br0 ingress" "$BR_REQ" "$NPINGBR" \
	$((NPINGBR * 98)) "ICMP echo requests A -> br0"
check_path "$IM br0 egress,$IM ma egress,$IA a0 ingress" "$BR_REP" "$NPINGBR" \
	$((NPINGBR * 98)) "ICMP echo replies br0 -> A"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $BR_REP AND src_mac = '$MAC_BR'
	AND dst_mac = '$MAC_A'")
assert_eq "$got" "$(q -d "$D" sql "SELECT count(*) FROM flows WHERE $BR_REP")" \
	"echo reply rows from br0 with src_mac $MAC_BR (br0), dst_mac $MAC_A (a0)"
# ICMPv6: echo request 128, reply 129; 118 bytes (14 + 40 + 64).
check_path "$PATH_AB" "kind = 'flow' AND family = 6 AND proto = 58 AND src = 'fd88::1'
	AND dst = 'fd88::2' AND icmp_type = 128 AND icmp_code = 0" "$NPING6" $((NPING6 * 118)) \
	"ICMPv6 echo requests A -> B"
check_path "$PATH_BA" "kind = 'flow' AND family = 6 AND proto = 58 AND src = 'fd88::2'
	AND dst = 'fd88::1' AND icmp_type = 129 AND icmp_code = 0" "$NPING6" $((NPING6 * 118)) \
	"ICMPv6 echo replies B -> A"
# On A's loopback, both the request and the reply go out and come in again.
for ty in 8 0; do
	check_path "$IA lo egress,$IA lo ingress" "kind = 'flow' AND proto = 1 AND src = '127.0.0.1'
		AND dst = '127.0.0.1' AND icmp_type = $ty" "$NPINGLO" $((NPINGLO * 98)) \
		"ICMP type $ty on A's lo"
done

# ---- the rest -----------------------------------------------------------------------------
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE kind <> 'flow'")
assert_eq "$got" 0 "rows of kind other or overflow (no ARP, ND or MLD; the map had room)"
got=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE netns IS NULL OR ifname IS NULL
	OR ifindex IS NULL OR ts_start_ns > ts_end_ns OR ts_start_ns < $T0 OR ts_end_ns > $T1
	OR packets < 1 OR bytes < packets")
assert_eq "$got" 0 "rows without a place, or with times outside the run ($T0..$T1)"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'flows'")
assert_eq "$got" 0 "flows gaps"
ok "rows in all: $(q -d "$D" sql "SELECT count(*) FROM flows")"
echo "PASS"
