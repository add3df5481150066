#!/bin/sh
# SPDX-License-Identifier: MIT
# The conntrack source against `conntrack -E -o id` as ground truth, in a server namespace
# joined to a client namespace by a veth pair (IPv4 and IPv6). Connections open before the
# recorder starts are recorded by the start dump with their tuples and ids. Then TCP
# connections with a known payload, UDP exchanges over IPv4 and IPv6, ICMP and ICMPv6 echoes,
# and `conntrack -F` (every entry destroyed at once): the recorded new/update/destroy rows are
# exactly the events conntrack -E printed (same ct ids, per protocol), with the right tuples,
# reply tuples mirrored, ICMP type and echo id, and the namespace's inode.
. "$(dirname "$0")/lib.sh"

need_root "network namespaces, conntrack"
need_cmd ip nft conntrack ping

C=nrce-c-$$
S=nrce-s-$$
netns_add "$C" "$S"
veth "$C" ce0 "$S" se0
ip -n "$C" addr add 10.77.0.1/24 dev ce0
ip -n "$S" addr add 10.77.0.2/24 dev se0
ip -n "$C" addr add fd77::1/64 dev ce0 nodad
ip -n "$S" addr add fd77::2/64 dev se0 nodad
conntrack_on "$S"

NTCP=50
NUDP=20
NPING=4
PAYLOAD=1000

cat >"$T/server.py" <<'EOF'
# Server: TCP sinks on 5000 (long-lived) and 5001 (payload) and UDP echo on 5002, IPv4 and
# IPv6. Each TCP connection is logged at EOF as "tcp FAMILY CLIENT_PORT BYTES".
import socket, sys, threading
log = open(sys.argv[2], "a")
lock = threading.Lock()
def sink(c, a):
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.close()
    with lock:
        log.write("tcp %d %d %d\n" % (c.family == socket.AF_INET6 and 6 or 4, a[1], n))
        log.flush()
def accept(s):
    while True:
        c, a = s.accept()
        threading.Thread(target=sink, args=(c, a), daemon=True).start()
def echo(s):
    while True:
        d, a = s.recvfrom(65536)
        s.sendto(d, a)
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for port in (5000, 5001):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        s.listen(128)
        threading.Thread(target=accept, args=(s,), daemon=True).start()
    u = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    u.bind((addr, 5002))
    threading.Thread(target=echo, args=(u,), daemon=True).start()
open(sys.argv[1], "w").close()
threading.Event().wait()
EOF

cat >"$T/client.py" <<'EOF'
# hold OUT: two connections (IPv4, IPv6) to port 5000, kept open; "FAMILY PORT" lines to OUT.
# tcp N SIZE OUT: N connections to 10.77.0.2:5001, SIZE bytes each, closed cleanly.
# udp FAMILY N OUT: N exchanges with the UDP echo server, each from its own socket and port.
# probe: one UDP socket sends to 10.77.0.2:5999 (nothing listens) every 0.1 s, forever.
import socket, sys, time
mode = sys.argv[1]
dst = {4: "10.77.0.2", 6: "fd77::2"}
fam = {4: socket.AF_INET, 6: socket.AF_INET6}
if mode == "hold":
    held = []
    with open(sys.argv[2] + ".tmp", "w") as f:
        for v in (4, 6):
            s = socket.create_connection((dst[v], 5000), timeout=5)
            held.append(s)
            f.write("%d %d\n" % (v, s.getsockname()[1]))
    import os
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    time.sleep(3600)
elif mode == "tcp":
    n, size, ports = int(sys.argv[2]), int(sys.argv[3]), []
    for i in range(n):
        s = socket.create_connection((dst[4], 5001), timeout=5)
        ports.append(s.getsockname()[1])
        s.sendall(b"p" * size)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
        s.close()
    open(sys.argv[4], "w").write("".join("%d\n" % p for p in ports))
elif mode == "udp":
    # The sockets stay open until the end: a closed socket's port could come again, and its
    # tuple would find the entry of before instead of making a new one.
    v, n, ports, socks = int(sys.argv[2]), int(sys.argv[3]), [], []
    for i in range(n):
        s = socket.socket(fam[v], socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(b"u%d" % i, (dst[v], 5002))
        d, a = s.recvfrom(100)
        assert d == b"u%d" % i
        ports.append(s.getsockname()[1])
        socks.append(s)
    open(sys.argv[4], "w").write("".join("%d\n" % p for p in ports))
elif mode == "probe":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while True:
        s.sendto(b"probe", (dst[4], 5999))
        time.sleep(0.1)
EOF

# Ground truth: conntrack -E, known to be listening once it prints the probe's entry. It starts
# first: the kernel gives an entry its event cache only if a conntrack event listener exists
# in the namespace when the entry is made, and an entry made without one never sends an event,
# not even its destroy (kernel 6.18: a connection made before any listener gets a dump row
# and never an update or destroy row).
spawn ip netns exec "$S" conntrack -E -o id >"$T/ct.txt" 2>"$T/ct.err"
CTE=$BPID
spawn ip netns exec "$C" "$PY" "$T/client.py" probe
PROBE=$BPID
wait_until 10 "conntrack -E to listen" grep -q "dport=5999" "$T/ct.txt"
kill "$PROBE"
wait "$PROBE" 2>/dev/null || true

ip netns exec "$C" ping -c 1 -W 2 10.77.0.2 >/dev/null || fail "no IPv4 between the namespaces"

spawn ip netns exec "$S" "$PY" "$T/server.py" "$T/server.ready" "$T/server.log"
wait_until 10 "the server" test -e "$T/server.ready"

# Connections older than the recorder, and their ids as the kernel gives them.
spawn ip netns exec "$C" "$PY" "$T/client.py" hold "$T/hold.ports"
HOLD=$BPID
wait_until 10 "the long-lived connections" test -e "$T/hold.ports"
H4=$(awk '$1 == 4 { print $2 }' "$T/hold.ports")
H6=$(awk '$1 == 6 { print $2 }' "$T/hold.ports")
ip netns exec "$S" conntrack -L -o id >"$T/before.txt" 2>/dev/null
hold_id() { # PORT: ct id of the long-lived connection from PORT, per conntrack -L
	grep "sport=$1 dport=5000 " "$T/before.txt" | sed 's/.* id=\([0-9]*\)$/\1/'
}
HID4=$(hold_id "$H4")
HID6=$(hold_id "$H6")
[ -n "$HID4" ] && [ -n "$HID6" ] || fail "long-lived connections not in the table: $(cat "$T/before.txt")"
ok "long-lived connections open before the recorder: IPv4 port $H4 (id $HID4), IPv6 port $H6 (id $HID6)"

D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources conntrack --netns "$S" --batch-latency 200ms \
	--health-interval 2s
wait_until 10 "netrecd to subscribe in $S" grep -q "conntrack: recording netns" "$T/rec.log"
# Everything conntrack -E printed so far happened before the recorder listened.
SKIP=$(wc -l <"$T/ct.txt")

ip netns exec "$C" "$PY" "$T/client.py" tcp "$NTCP" "$PAYLOAD" "$T/tcp.ports" || fail "TCP client"
ip netns exec "$C" "$PY" "$T/client.py" udp 4 "$NUDP" "$T/udp4.ports" || fail "UDP client (IPv4)"
ip netns exec "$C" "$PY" "$T/client.py" udp 6 "$NUDP" "$T/udp6.ports" || fail "UDP client (IPv6)"
ip netns exec "$C" ping -c "$NPING" -i 0.2 -W 2 10.77.0.2 >"$T/ping4.txt" || fail "ping"
ip netns exec "$C" ping -6 -c 1 -W 2 fd77::2 >"$T/ping6.txt" || fail "ping -6"
logged() { # BYTES N: the server logged N connections that brought BYTES
	[ "$(awk -v b="$1" '$4 == b' "$T/server.log" | wc -l)" -ge "$2" ]
}
wait_until 10 "the server to log $NTCP connections" logged "$PAYLOAD" "$NTCP"
got=$(awk -v s="$PAYLOAD" '$4 == s' "$T/server.log" | wc -l)
assert_eq "$got" "$NTCP" "TCP connections whose $PAYLOAD-byte payload the server received"

# The long-lived connections close (FIN exchange: update events), then every entry goes.
kill "$HOLD"
wait "$HOLD" 2>/dev/null || true
wait_until 10 "the long-lived connections to close" logged 0 2
sleep 0.3
ip netns exec "$S" conntrack -F 2>/dev/null || fail "conntrack -F"
# Wait until conntrack -E has printed every DESTROY: the table is empty and the output still.
# (A late packet of a closing connection would make a new entry: flush that too; conntrack -E
# and netrecd see the same events either way.)
settled() {
	if [ "$(ip netns exec "$S" conntrack -C)" != 0 ]; then
		ip netns exec "$S" conntrack -F 2>/dev/null
		return 1
	fi
	a=$(wc -l <"$T/ct.txt")
	sleep 0.5
	[ "$a" = "$(wc -l <"$T/ct.txt")" ]
}
wait_until 20 "conntrack -E to print every destroy event" settled

kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
ok "netrecd stopped with status 0"
kill -TERM "$CTE"
wait "$CTE" 2>/dev/null || true

# ---- conntrack -E against the store -----------------------------------------------------
# "EVENT PROTO CT_ID" for every event after the recorder started listening. The ct id is the
# last id= of a line (ICMP lines have echo ids before it; DESTROY lines may end in portid=).
tail -n +$((SKIP + 1)) "$T/ct.txt" | awk '$1 ~ /^\[/ {
	ev = tolower($1); gsub(/[][]/, "", ev)
	for (i = 3; i <= NF; i++) if ($i ~ /^id=/) id = substr($i, 4)
	print ev, $3, id }' | sort >"$T/truth.txt"
q -d "$D" sql "SELECT event, proto, ct_id FROM conntrack WHERE event <> 'dump'" |
	tr ',' ' ' | sort >"$T/recorded.txt"
for ev in new update destroy; do
	for p in 1 6 17 58; do
		want=$(awk -v e="$ev" -v p="$p" '$1 == e && $2 == p' "$T/truth.txt" | wc -l)
		got=$(awk -v e="$ev" -v p="$p" '$1 == e && $2 == p' "$T/recorded.txt" | wc -l)
		assert_eq "$got" "$want" "'$ev' rows of protocol $p (conntrack -E printed $want)"
	done
	want=$(awk -v e="$ev" '$1 == e' "$T/truth.txt" | wc -l)
	got=$(awk -v e="$ev" '$1 == e' "$T/recorded.txt" | wc -l)
	assert_eq "$got" "$want" "'$ev' rows in all"
done
if ! diff "$T/truth.txt" "$T/recorded.txt" >"$T/diff.txt"; then
	head -n 20 "$T/diff.txt" >&2
	fail "recorded (event, proto, ct_id) differ from conntrack -E (< conntrack -E, > store)"
fi
ok "every (event, proto, ct_id) equals conntrack -E's: $(wc -l <"$T/truth.txt") events"
n=$(awk '$1 == "new"' "$T/truth.txt" | wc -l)
[ "$n" -ge $((NTCP + 2 * NUDP + 2)) ] || fail "only $n new events for $NTCP TCP, $((2 * NUDP)) UDP, 2 ICMP"
n=$(awk '$1 == "destroy"' "$T/truth.txt" | wc -l)
[ "$n" -ge $((NTCP + 2 * NUDP + 2 + 2)) ] || fail "only $n destroy events"

INO=$(netns_inode "$S")
got=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE netns IS NOT $INO")
assert_eq "$got" 0 "rows whose netns is not $S's inode $INO"

# ---- the start dump: connections older than the recorder ---------------------------------
dump_row() { # FAMILY SRC DST PORT ID
	q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'dump' AND proto = 6
		AND family = $1 AND orig_src = '$2' AND orig_dst = '$3' AND orig_sport = $4
		AND orig_dport = 5000 AND reply_src = '$3' AND reply_dst = '$2' AND reply_sport = 5000
		AND reply_dport = $4 AND ct_id = $5 AND tcp_state = 'ESTABLISHED'"
}
assert_eq "$(dump_row 4 10.77.0.1 10.77.0.2 "$H4" "$HID4")" 1 \
	"dump rows of the IPv4 connection 10.77.0.1:$H4 -> 10.77.0.2:5000 (id $HID4)"
assert_eq "$(dump_row 6 fd77::1 fd77::2 "$H6" "$HID6")" 1 \
	"dump rows of the IPv6 connection [fd77::1]:$H6 -> [fd77::2]:5000 (id $HID6)"
for id in "$HID4" "$HID6"; do
	got=$(q -d "$D" sql "SELECT group_concat(event, ' ') FROM (SELECT event FROM conntrack
		WHERE ct_id = $id AND event IN ('update', 'destroy') ORDER BY ts_ns)")
	case $got in
	*update*" destroy") ok "long-lived connection id $id: $got" ;;
	*) fail "long-lived connection id $id: expected its closing updates and a destroy, got '$got'" ;;
	esac
done
got=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'dump'")
ok "dump rows in all: $got (the long-lived connections, the probe's and the first ping's entries)"

# ---- tuples -----------------------------------------------------------------------------
inlist() { paste -sd, "$1"; }
tuples() { # FAMILY PROTO SRC DST DPORT PORTFILE: new rows with exactly these tuples
	q -d "$D" sql "SELECT count(*), count(DISTINCT orig_sport) FROM conntrack
		WHERE event = 'new' AND family = $1 AND proto = $2 AND orig_src = '$3'
		AND orig_dst = '$4' AND orig_dport = $5 AND reply_src = '$4' AND reply_dst = '$3'
		AND reply_sport = $5 AND reply_dport = orig_sport AND icmp_type IS NULL
		AND orig_sport IN ($(inlist "$6"))"
}
assert_eq "$(tuples 4 6 10.77.0.1 10.77.0.2 5001 "$T/tcp.ports")" "$NTCP,$NTCP" \
	"TCP: new rows (and distinct client ports) with the client's port and mirrored reply"
assert_eq "$(tuples 4 17 10.77.0.1 10.77.0.2 5002 "$T/udp4.ports")" "$NUDP,$NUDP" \
	"UDP over IPv4: new rows (and distinct ports) with the right tuples"
assert_eq "$(tuples 6 17 fd77::1 fd77::2 5002 "$T/udp6.ports")" "$NUDP,$NUDP" \
	"UDP over IPv6: new rows (and distinct ports) with the right tuples, family 6"
# Each of those entries also has its destroy row, with the same tuple.
got=$(q -d "$D" sql "SELECT count(*) FROM conntrack n JOIN conntrack d
	ON d.event = 'destroy' AND d.ct_id = n.ct_id AND d.proto = n.proto
	AND d.orig_src = n.orig_src AND d.orig_dst = n.orig_dst AND d.orig_sport = n.orig_sport
	AND d.orig_dport = n.orig_dport AND d.reply_src = n.reply_src AND d.reply_dst = n.reply_dst
	AND d.reply_sport = n.reply_sport AND d.reply_dport = n.reply_dport
	WHERE n.event = 'new' AND n.proto IN (6, 17) AND n.orig_dport IN (5001, 5002)")
assert_eq "$got" $((NTCP + 2 * NUDP)) "TCP and UDP entries with a destroy row of the same tuple"

# ---- ICMP -------------------------------------------------------------------------------
# conntrack -E: "... type=8 code=0 id=ECHO_ID ... id=CT_ID"; the first id= is the echo id.
icmp_truth() { # PROTO_NAME: "ECHO_ID CT_ID" of its NEW event
	tail -n +$((SKIP + 1)) "$T/ct.txt" | awk -v p="$1" '$1 == "[NEW]" && $2 == p {
		e = ""; for (i = 3; i <= NF; i++) if ($i ~ /^id=/) { if (e == "") e = substr($i, 4)
			c = substr($i, 4) }
		print e, c; exit }'
}
icmp_check() { # PROTO_NAME PROTO FAMILY TYPE SRC DST
	t=$(icmp_truth "$1")
	eid=${t% *}
	cid=${t#* }
	[ -n "$eid" ] || fail "$1: no NEW event from conntrack -E"
	got=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'new' AND proto = $2
		AND family = $3 AND icmp_type = $4 AND icmp_code = 0 AND icmp_id = $eid
		AND reply_icmp_id = $eid AND ct_id = $cid AND orig_src = '$5' AND orig_dst = '$6'
		AND reply_src = '$6' AND reply_dst = '$5' AND orig_sport IS NULL AND orig_dport IS NULL")
	assert_eq "$got" 1 "$1: new rows with type $4, echo id $eid, ct id $cid (as conntrack -E)"
}
icmp_check icmp 1 4 8 10.77.0.1 10.77.0.2
icmp_check icmpv6 58 6 128 fd77::1 fd77::2

got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'conntrack'")
assert_eq "$got" 0 "conntrack gaps"
got=$(q -d "$D" sql "SELECT CAST(value AS INTEGER) FROM health WHERE source = 'conntrack'
	AND metric = 'events_new' ORDER BY ts_ns DESC LIMIT 1")
assert_eq "$got" "$(awk '$1 == "new"' "$T/truth.txt" | wc -l)" "health events_new at stop"
echo "PASS"
