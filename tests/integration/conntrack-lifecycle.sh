#!/bin/sh
# SPDX-License-Identifier: MIT
# The conntrack source over the life of namespaces and of the recorder:
# - a namespace created while netrecd runs is recorded within seconds (named, and unnamed:
#   a process's own namespace), and one that goes away gets a final dump of its entries;
# - --netns NAME records that namespace and no other;
# - a backlog of events queued while netrecd was stopped (SIGSTOP) is read at SIGTERM, not
#   dropped: rows equal a ground-truth listener's count, with no gap;
# - a forged conntrack message unicast to netrecd's socket is refused and counted;
# - conntrack-force-events: a connection made while netrecd was not running still reports
#   its end (nf_conntrack_events set to 1 by the earlier run).
. "$(dirname "$0")/lib.sh"

need_root "network namespaces, conntrack"
need_cmd ip nft conntrack unshare

A=nrcl-a-$$
B=nrcl-b-$$
L=nrcl-late-$$
netns_add "$A" "$B"
veth "$A" la0 "$B" lb0
ip -n "$A" addr add 10.76.0.1/24 dev la0
ip -n "$B" addr add 10.76.0.2/24 dev lb0
conntrack_on "$A" "$B"
CTCOUNT="$BUILD/bench/bench-ctcount"
[ -x "$CTCOUNT" ] || fail "$CTCOUNT not built"

cat >"$T/srv.py" <<'EOF'
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5000))
s.listen(1024)
open(sys.argv[2], "w").close()
def sink(c):
    while c.recv(65536):
        pass
    c.close()
while True:
    c, a = s.accept()
    threading.Thread(target=sink, args=(c,), daemon=True).start()
EOF
cat >"$T/cli.py" <<'EOF'
# cli.py ADDR N: N short connections. cli.py ADDR hold FILE: one connection, its local port
# written to FILE, kept open until stdin closes.
import socket, sys
if sys.argv[2] == "hold":
    c = socket.create_connection((sys.argv[1], 5000))
    open(sys.argv[3], "w").write("%d\n" % c.getsockname()[1])
    sys.stdin.read()
    c.close()
else:
    for i in range(int(sys.argv[2])):
        socket.create_connection((sys.argv[1], 5000)).close()
EOF
spawn ip netns exec "$B" "$PY" "$T/srv.py" 10.76.0.2 "$T/srv.ready"
wait_until 10 "the server" test -e "$T/srv.ready"

D="$T/data"
count() { q -d "$D" sql "$1"; }

# ---- 1. only the namespace asked for; forged messages refused; a backlog at stop ----------
start_recorder "$T/rec1.log" -d "$D" --sources conntrack --netns "$B" --health-interval 1s
wait_until 10 "netrecd to subscribe in $B" grep -q "recording netns .*($B)" "$T/rec1.log"
grep -q "($A)" "$T/rec1.log" && fail "netrecd recorded $A, not asked for: $(cat "$T/rec1.log")"
ok "--netns $B: $A not recorded"

# A forged NEW event for 6.6.6.6 -> 7.7.7.7, unicast from inside $B to every conntrack
# event socket of this netrecd there (CAP_NET_ADMIN in the namespace is all that takes).
# Only its own sockets (by inode): another recorder on the machine may be subscribed in $B
# too (netns = all), and its refusals are not this one's.
cat >"$T/forge.py" <<'EOF'
import socket, struct
def nla(t, p):
    l = 4 + len(p)
    return struct.pack("=HH", l, t) + p + b"\0" * ((4 - l % 4) % 4)
ip = nla(0x8001, nla(1, socket.inet_aton("6.6.6.6")) + nla(2, socket.inet_aton("7.7.7.7")))
pr = nla(0x8002, nla(1, b"\x06") + nla(2, struct.pack("!H", 31337)) + nla(3, struct.pack("!H", 22)))
body = struct.pack("=BBH", socket.AF_INET, 0, 0) + nla(0x8001, ip + pr) + nla(0x8002, ip + pr)
msg = struct.pack("=IHHII", 16 + len(body), 1 << 8, 0x600, 0, 0) + body
import os, sys
mine = set()
for fd in os.listdir("/proc/%s/fd" % sys.argv[1]):
    try:
        l = os.readlink("/proc/%s/fd/%s" % (sys.argv[1], fd))
    except OSError:
        continue
    if l.startswith("socket:["):
        mine.add(l[8:-1])
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
n = 0
for line in open("/proc/net/netlink").read().splitlines()[1:]:
    f = line.split()
    if f[1] == "12" and int(f[3], 16) != 0 and f[-1] in mine:
        s.sendto(msg, (int(f[2]), 0))
        n += 1
print(n)
EOF
sent=$(ip netns exec "$B" "$PY" "$T/forge.py" "$RPID")
[ "$sent" -ge 1 ] || fail "no conntrack event socket found to forge to"
ok "forged NEW sent to $sent event socket(s)"

# Backlog: stop netrecd, make connections, then SIGTERM while it is still stopped.
spawn "$CTCOUNT" --netns "$B" >"$T/ct1.out" 2>"$T/ct1.err"
CPID=$BPID
wait_until 10 "ctcount" grep -q listening "$T/ct1.err"
kill -STOP "$RPID"
ip netns exec "$A" "$PY" "$T/cli.py" 10.76.0.2 3000 || fail "client"
# No packet may make a new entry from here on (a late FIN or ACK of a closing connection
# would, after the flush): both listeners then see exactly the same events.
ip -n "$A" link set la0 down
ip -n "$B" link set lb0 down
ip netns exec "$B" conntrack -F 2>/dev/null || fail "conntrack -F"
sleep 0.5
kill -TERM "$RPID"
kill -CONT "$RPID"
wait_exit "$RPID" 20 || fail "netrecd exited with status $?: $(cat "$T/rec1.log")"
# The ground truth stops after netrecd: it saw every event netrecd could have.
kill -TERM "$CPID"
wait_exit "$CPID" 10 || fail "ctcount exited with $?"
ip -n "$A" link set la0 up
ip -n "$B" link set lb0 up
read -r TN TU TDE <<EOF
$(sed -n 's/^ctcount: new=\([0-9]*\) update=\([0-9]*\) destroy=\([0-9]*\) enobufs=0 drops=0$/\1 \2 \3/p' "$T/ct1.out")
EOF
[ -n "$TN" ] || fail "ground truth incomplete: $(cat "$T/ct1.out")"
got=$(count "SELECT count(*) FROM conntrack WHERE event IN ('new', 'update', 'destroy')
	AND orig_src = '10.76.0.1'")
assert_eq "$got" "$((TN + TU + TDE))" "events read from the backlog at stop (ground truth $TN new, $TU update, $TDE destroy)"
assert_eq "$(count "SELECT count(*) FROM gaps WHERE source = 'conntrack'")" 0 "conntrack gaps"
assert_eq "$(count "SELECT count(*) FROM conntrack WHERE orig_src = '6.6.6.6'")" 0 "forged rows"
got=$(count "SELECT CAST(value AS INTEGER) FROM health WHERE source = 'conntrack' AND
	metric = 'messages_refused' ORDER BY ts_ns DESC LIMIT 1")
assert_eq "$got" "$sent" "health messages_refused"
got=$(count "SELECT CAST(value AS INTEGER) FROM health WHERE source = 'conntrack' AND
	metric = 'nf_conntrack_events netns=$(netns_inode "$B")' ORDER BY ts_ns DESC LIMIT 1")
assert_eq "$got" 1 "nf_conntrack_events in $B after the first run (forced from 2 to 1)"

# ---- 2. a connection made while netrecd is not running still reports its end ------------
# The first run set nf_conntrack_events to 1 in $B: entries created with no listener still
# get events.
mkfifo "$T/hold.in"
spawn sh -c "ip netns exec '$A' '$PY' '$T/cli.py' 10.76.0.2 hold '$T/hold.port' <'$T/hold.in'"
exec 3>"$T/hold.in"
wait_until 10 "the held connection" test -s "$T/hold.port"
HP=$(cat "$T/hold.port")
ok "connection from port $HP made while netrecd was not running"

# ---- 3. all namespaces: late ones found, gone ones dumped one last time ------------------
start_recorder "$T/rec2.log" -d "$D" --sources conntrack --netns-rescan 500ms
wait_until 10 "netrecd to subscribe in $B" grep -q "recording netns .*($B)" "$T/rec2.log"
BI=$(netns_inode "$B")
held() { # EVENT: rows of the held connection in $B
	"$NETREC" -f csv --no-header -d "$D" sql "SELECT count(*) FROM conntrack WHERE
		event = '$1' AND netns = $BI AND orig_sport = $HP AND orig_dport = 5000"
}
held_is() { [ "$(held "$1")" -ge "$2" ]; }
wait_until 10 "the held connection in the start dump" held_is dump 1
ok "the held connection is in the start dump"
exec 3>&-
sleep 0.5
ip netns exec "$B" conntrack -F 2>/dev/null
wait_until 10 "its destroy row" held_is destroy 1
ok "the connection made while netrecd was down reported its end"

# A named namespace created now, with a connection inside it.
netns_add "$L"
conntrack_on "$L"
t0=$(date +%s%N)
# By inode: netrecd may find it through `ip netns add`'s own process, before the name.
LI=$(netns_inode "$L")
wait_until 10 "netrecd to find $L" grep -q "recording netns $LI " "$T/rec2.log"
ok "$L found after $((($(date +%s%N) - t0) / 1000000)) ms"
spawn ip netns exec "$L" "$PY" "$T/srv.py" 127.0.0.1 "$T/srvL.ready"
wait_until 10 "the server in $L" test -e "$T/srvL.ready"
ip netns exec "$L" "$PY" "$T/cli.py" 127.0.0.1 5 || fail "client in $L"
wait_until 10 "new rows from $L" sh -c "[ \$('$NETREC' -f csv --no-header -d '$D' sql \"SELECT count(*) FROM conntrack WHERE event = 'new' AND netns = $LI AND orig_dport = 5000\") -eq 5 ]"
ok "5 new rows from $L (netns $LI)"

# An unnamed namespace of a process: found through /proc, and when the process exits, its
# entries are dumped one last time (they die with it, without DESTROY events).
cat >"$T/unnamed.sh" <<EOF
ip link set lo up
nft -f - <<'RULES'
table inet t {
	chain out { type filter hook output priority 0; ct state new counter; }
}
RULES
readlink /proc/self/ns/net >'$T/unnamed.ns'
'$PY' '$T/srv.py' 127.0.0.1 '$T/srvU.ready' &
while [ ! -e '$T/srvU.ready' ]; do sleep 0.05; done
sleep 1.5
'$PY' '$T/cli.py' 127.0.0.1 3
sleep 1.5
kill \$!
EOF
unshare -n sh "$T/unnamed.sh" || fail "unnamed namespace script"
UI=$(sed 's/.*\[\([0-9]*\)\]/\1/' "$T/unnamed.ns")
wait_until 10 "the final dump of netns $UI" sh -c "[ \$('$NETREC' -f csv --no-header -d '$D' sql \"SELECT count(*) FROM conntrack WHERE event = 'dump' AND netns = $UI AND orig_dport = 5000\") -eq 3 ]"
got=$(count "SELECT count(*) FROM conntrack WHERE event = 'new' AND netns = $UI AND orig_dport = 5000")
assert_eq "$got" 3 "new rows from the unnamed namespace $UI"
ok "its 3 entries in the final dump after it went away"
grep -q "netns $UI .* is gone" "$T/rec2.log" || fail "no 'is gone' line for $UI"

kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec2.log")"
assert_eq "$(count "SELECT count(*) FROM gaps WHERE source = 'conntrack'")" 0 "conntrack gaps"
echo PASS
