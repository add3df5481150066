#!/bin/sh
# SPDX-License-Identifier: MIT
# NAT through the conntrack source: inside (10.81.0.2) -- router (10.81.0.1 / 10.82.0.1) --
# outside (10.82.0.2), recorded in the router's namespace. Source NAT: masquerade to ports
# 30000-30999 on the router's outside interface; the outside server tells which address and
# port it saw. Destination NAT: 10.82.0.1:8080 is forwarded to the inside server 10.81.0.2:80,
# which tells which client it saw. The recorded rows carry both tuples and the NAT status
# bits, and `netrec nat` answers, at a time while the connections were open, "who was behind
# the outside address and port" and "what did the inside endpoint go out as"; at a time before
# they existed, or after they were destroyed, it finds nothing.
. "$(dirname "$0")/lib.sh"

need_root "network namespaces, conntrack, nftables NAT"
need_cmd ip nft conntrack

I=nrnat-in-$$
R=nrnat-rt-$$
O=nrnat-out-$$
netns_add "$I" "$R" "$O"
veth "$I" ni0 "$R" nr0
veth "$R" nr1 "$O" no0
ip -n "$I" addr add 10.81.0.2/24 dev ni0
ip -n "$R" addr add 10.81.0.1/24 dev nr0
ip -n "$R" addr add 10.82.0.1/24 dev nr1
ip -n "$O" addr add 10.82.0.2/24 dev no0
ip -n "$I" route add default via 10.81.0.1
# The outside has no route to 10.81.0.0/24: without the NAT, nothing would come back.
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$R" nft -f - <<'EOF' || fail "nft NAT ruleset"
table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat;
		iifname "nr1" tcp dport 8080 dnat to 10.81.0.2:80
	}
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "nr1" meta l4proto tcp masquerade to :30000-30999
	}
}
EOF

cat >"$T/server.py" <<'EOF'
# server ADDR PORT READY LOG: accepts; logs "PEER_ADDR PEER_PORT" per connection.
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
open(sys.argv[3], "w").close()
def sink(c):
    while c.recv(65536):
        pass
    c.close()
while True:
    c, a = s.accept()
    with open(sys.argv[4], "a") as f:
        f.write("%s %d\n" % a)
    threading.Thread(target=sink, args=(c,), daemon=True).start()
EOF
cat >"$T/client.py" <<'EOF'
# client ADDR PORT OUT RELEASE: connects, writes its own port to OUT, sends a little, holds
# the connection until RELEASE exists, then closes it.
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"hello")
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
while not os.path.exists(sys.argv[4]):
    time.sleep(0.05)
s.close()
EOF
# ndjson on stdin: the listed keys of each object, space-separated (null as -).
cat >"$T/fields.py" <<'EOF'
import json, sys
for line in sys.stdin:
    if line.strip():
        o = json.loads(line)
        print(" ".join("-" if o[k] is None else str(o[k]) for k in sys.argv[1:]))
EOF

spawn ip netns exec "$O" "$PY" "$T/server.py" 10.82.0.2 9000 "$T/out.ready" "$T/out.log"
spawn ip netns exec "$I" "$PY" "$T/server.py" 10.81.0.2 80 "$T/in.ready" "$T/in.log"
wait_until 10 "the servers" test -e "$T/out.ready" -a -e "$T/in.ready"

D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources conntrack --netns "$R" --batch-latency 200ms
wait_until 10 "netrecd to subscribe in $R" grep -q "conntrack: recording netns" "$T/rec.log"

now() { date +%s.%N; }
T0=$(now)
sleep 0.3
# Source NAT: inside client to the outside server.
spawn ip netns exec "$I" "$PY" "$T/client.py" 10.82.0.2 9000 "$T/snat.port" "$T/release"
SNAT_PID=$BPID
# Destination NAT: outside client to the router's port 8080, forwarded to the inside server.
spawn ip netns exec "$O" "$PY" "$T/client.py" 10.82.0.1 8080 "$T/dnat.port" "$T/release"
DNAT_PID=$BPID
wait_until 10 "the NAT connections" test -s "$T/snat.port" -a -s "$T/dnat.port" \
	-a -s "$T/out.log" -a -s "$T/in.log"
CPORT=$(cat "$T/snat.port")
read -r SEEN_ADDR MASQ <"$T/out.log"
OPORT=$(cat "$T/dnat.port")
read -r IN_PEER IN_PEER_PORT <"$T/in.log"
assert_eq "$SEEN_ADDR" 10.82.0.1 "source address the outside server saw"
[ "$MASQ" -ge 30000 ] && [ "$MASQ" -le 30999 ] || fail "masqueraded port $MASQ not in 30000-30999"
ok "SNAT: inside 10.81.0.2:$CPORT went out as 10.82.0.1:$MASQ (as the outside server saw it)"
assert_eq "$IN_PEER $IN_PEER_PORT" "10.82.0.2 $OPORT" "client the inside server saw (DNAT)"
ok "DNAT: outside 10.82.0.2:$OPORT -> 10.82.0.1:8080 reached 10.81.0.2:80"
sleep 0.3
T1=$(now)
sleep 0.3
touch "$T/release"
wait "$SNAT_PID" || fail "SNAT client"
wait "$DNAT_PID" || fail "DNAT client"
sleep 0.3
ip netns exec "$R" conntrack -F 2>/dev/null || fail "conntrack -F"
sleep 0.5
T3=$(now)
kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
ok "netrecd stopped with status 0"

# ---- the rows themselves ----------------------------------------------------------------
got=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'new' AND proto = 6
	AND orig_src = '10.81.0.2' AND orig_sport = $CPORT AND orig_dst = '10.82.0.2'
	AND orig_dport = 9000 AND reply_src = '10.82.0.2' AND reply_sport = 9000
	AND reply_dst = '10.82.0.1' AND reply_dport = $MASQ AND (status & 0x10) <> 0
	AND (status & 0x20) = 0")
assert_eq "$got" 1 "SNAT new rows: reply tuple to 10.82.0.1:$MASQ, SRC_NAT status bit"
got=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'destroy' AND proto = 6
	AND orig_src = '10.81.0.2' AND orig_sport = $CPORT AND reply_dst = '10.82.0.1'
	AND reply_dport = $MASQ")
assert_eq "$got" 1 "SNAT destroy rows"
got=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'new' AND proto = 6
	AND orig_src = '10.82.0.2' AND orig_sport = $OPORT AND orig_dst = '10.82.0.1'
	AND orig_dport = 8080 AND reply_src = '10.81.0.2' AND reply_sport = 80
	AND reply_dst = '10.82.0.2' AND reply_dport = $OPORT AND (status & 0x20) <> 0
	AND (status & 0x10) = 0")
assert_eq "$got" 1 "DNAT new rows: reply from 10.81.0.2:80, DST_NAT status bit"
got=$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'destroy' AND proto = 6
	AND orig_src = '10.82.0.2' AND orig_sport = $OPORT AND reply_src = '10.81.0.2'")
assert_eq "$got" 1 "DNAT destroy rows"

# ---- netrec nat -------------------------------------------------------------------------
# nat ENDPOINT TIME KEYS...: the entries netrec nat finds (--at TIME unless TIME is -).
nat() {
	ep=$1
	at=$2
	shift 2
	if [ "$at" = - ]; then
		"$NETREC" -d "$D" -f ndjson nat "$ep" >"$T/nat.json" || fail "netrec nat $ep"
	else
		"$NETREC" -d "$D" -f ndjson nat "$ep" --at "$at" >"$T/nat.json" ||
			fail "netrec nat $ep --at $at"
	fi
	"$PY" "$T/fields.py" "$@" <"$T/nat.json"
}
K="nat inside translated orig_src orig_sport orig_dst orig_dport reply_src reply_sport reply_dst reply_dport"
# shellcheck disable=SC2086
{
	assert_eq "$(nat "10.82.0.1:$MASQ" "$T1" $K)" \
		"snat 10.81.0.2:$CPORT 10.82.0.1:$MASQ 10.81.0.2 $CPORT 10.82.0.2 9000 10.82.0.2 9000 10.82.0.1 $MASQ" \
		"netrec nat 10.82.0.1:$MASQ --at T1 (while open): the inside client"
	assert_eq "$(nat "10.81.0.2:$CPORT" "$T1" $K)" \
		"snat 10.81.0.2:$CPORT 10.82.0.1:$MASQ 10.81.0.2 $CPORT 10.82.0.2 9000 10.82.0.2 9000 10.82.0.1 $MASQ" \
		"netrec nat 10.81.0.2:$CPORT --at T1: what it went out as"
	assert_eq "$(nat "10.82.0.1:8080" "$T1" $K)" \
		"dnat 10.81.0.2:80 10.82.0.1:8080 10.82.0.2 $OPORT 10.82.0.1 8080 10.81.0.2 80 10.82.0.2 $OPORT" \
		"netrec nat 10.82.0.1:8080 --at T1: the inside server and the outside client"
}
assert_eq "$(nat "10.82.0.1:$MASQ" "$T1" matched)" reply_dst "SNAT: where the outside endpoint matched"
assert_eq "$(nat "10.82.0.1:8080" "$T1" matched)" orig_dst "DNAT: where the public endpoint matched"
for ep in "10.82.0.1:$MASQ" "10.81.0.2:$CPORT" "10.82.0.1:8080"; do
	assert_eq "$(nat "$ep" "$T0" nat | wc -l)" 0 "entries of $ep at T0, before the connection"
	assert_eq "$(nat "$ep" "$T3" nat | wc -l)" 0 "entries of $ep at T3, after conntrack -F"
done
# Without --at: the entry with its lifetime, which brackets T1 and ends before T3.
nat "10.82.0.1:$MASQ" - start_ns end_ns >"$T/life"
assert_eq "$(wc -l <"$T/life")" 1 "entries of 10.82.0.1:$MASQ in the whole store"
read -r start_ns end_ns <"$T/life"
ns() { echo "$1" | awk -F. '{ printf "%s%s\n", $1, substr($2 "000000000", 1, 9) }'; }
[ "$start_ns" -gt "$(ns "$T0")" ] && [ "$start_ns" -lt "$(ns "$T1")" ] ||
	fail "SNAT entry start $start_ns not between T0 and T1"
[ "$end_ns" != - ] && [ "$end_ns" -gt "$(ns "$T1")" ] && [ "$end_ns" -lt "$(ns "$T3")" ] ||
	fail "SNAT entry end $end_ns not between T1 and T3"
ok "SNAT entry lifetime $start_ns .. $end_ns brackets T1 and lies between T0 and T3"
# A port nobody used finds nothing, even without --at.
assert_eq "$(nat "10.82.0.1:8081" - nat | wc -l)" 0 "entries of 10.82.0.1:8081"
echo "PASS"
