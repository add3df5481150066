#!/bin/sh
# SPDX-License-Identifier: MIT
# The topology source against iproute2, in two namespaces the test creates: a bridge with two
# veth ports, a veth pair across the namespaces, a VXLAN, a macvlan, a tun and a tap device
# and an ifb (no dummy: this kernel has none, FACTS.md; ifb stands in), IPv4 and IPv6
# addresses, routes in the main table and in table 100, a multipath route, and a listening
# server.
#  - the stored snapshot equals `ip -j -d link show`, `ip -j addr show` and
#    `ip -N -j route show table all` of the namespace, field by field (topo_compare.py);
#  - the veth peer's namespace and the listener's process are right;
#  - an unchanged network adds no snapshot over several intervals;
#  - adding a route and an address stores a new snapshot within the debounce time, and it
#    differs from the one before by exactly that route and that address;
#  - `netrec topology --at T` between the two snapshots shows the earlier one, and `netrec
#    topology diff` shows exactly the change.
. "$(dirname "$0")/lib.sh"

need_root "network namespaces, rtnetlink"
need_cmd ip

A=nrts-a-$$
B=nrts-b-$$
netns_add "$A" "$B"
# No automatic link-local addresses (each would add routes a second later, when DAD ends),
# and a bridge that forwards at once: the network settles before netrecd starts.
for n in "$A" "$B"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.addr_gen_mode=1 \
		net.ipv6.conf.default.addr_gen_mode=1 || fail "sysctl in $n"
done
veth "$A" ta0 "$B" tb0
ip -n "$A" link add br0 type bridge forward_delay 0
for p in 1 2; do
	ip -n "$A" link add p${p}a type veth peer name p${p}b
	ip -n "$A" link set p${p}a master br0 up
	ip -n "$A" link set p${p}b up
done
ip -n "$A" link set br0 up
ip -n "$A" addr add 10.92.0.1/24 dev ta0
ip -n "$A" addr add 2001:db8:92::1/64 dev ta0 nodad
ip -n "$A" addr add 10.93.0.1/24 dev br0
ip -n "$B" addr add 10.92.0.2/24 dev tb0
ip -n "$A" link add vx0 type vxlan id 42 remote 10.92.0.2 local 10.92.0.1 dstport 4789 dev ta0
ip -n "$A" link add mv0 link p1b type macvlan mode bridge
ip -n "$A" tuntap add dev tun0 mode tun
ip -n "$A" tuntap add dev tap0 mode tap
# The stand-in for the dummy this kernel lacks: ifb, another virtual device of its own kind.
ip -n "$A" link add ifb0 type ifb || fail "ifb0"
ip -n "$A" route add 10.94.0.0/16 via 10.92.0.2
ip -n "$A" route add default via 10.92.0.2 table 100
ip -n "$A" route add 10.95.0.0/16 nexthop via 10.92.0.2 weight 1 nexthop via 10.93.0.2 weight 3
ip -n "$A" -6 route add 2001:db8:99::/48 via 2001:db8:92::2 metric 50
# Neighbours: one learnt by ARP, one permanent.
ip netns exec "$A" ping -c 1 -W 2 10.92.0.2 > /dev/null || fail "ping 10.92.0.2"
ip -n "$A" neigh add 10.92.0.9 lladdr 02:00:00:00:00:09 dev ta0 nud permanent
spawn ip netns exec "$A" "$PY" -c '
import socket, time, sys
s = socket.socket(); s.bind(("10.92.0.1", 8080)); s.listen(); open(sys.argv[1], "w").close()
time.sleep(600)' "$T/lis.ready"
wait_until 10 "the listener" test -e "$T/lis.ready"
LPID=$(ip netns pids "$A" | head -1)

D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources topology --netns "$A,$B" --topology-interval 2s \
	--topology-debounce 300ms --batch-latency 100ms
wait_until 10 "netrecd to record both namespaces" \
	sh -c "[ \$(grep -c 'topology: recording netns' '$T/rec.log') -eq 2 ]"
AI=$(netns_inode "$A")
BI=$(netns_inode "$B")
sleep 2.5 # the first interval: B's peer namespace, now known, is in its second snapshot
# Settled: no snapshot stored for 2 s.
n=$(q -d "$D" sql "SELECT count(*) FROM snapshots")
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep 2
	m=$(q -d "$D" sql "SELECT count(*) FROM snapshots")
	[ "$m" = "$n" ] && break
	n=$m
done

last_snap() { q -d "$D" sql "SELECT id FROM snapshots WHERE netns = $1 ORDER BY id DESC LIMIT 1"; }
nsnaps() { q -d "$D" sql "SELECT count(*) FROM snapshots WHERE netns = $1"; }
S1=$(last_snap "$AI")
[ -n "$S1" ] || fail "no snapshot of $A: $(cat "$T/rec.log")"
"$PY" "$(dirname "$0")/topo_compare.py" "$NETREC" "$D" "$S1" "$A" || fail "snapshot of $A differs from ip -j"
"$PY" "$(dirname "$0")/topo_compare.py" "$NETREC" "$D" "$(last_snap "$BI")" "$B" ||
	fail "snapshot of $B differs from ip -j"
got=$(q -d "$D" sql "SELECT peer_netns FROM links WHERE snapshot_id = $S1 AND name = 'ta0'")
assert_eq "$got" "$BI" "ta0's peer namespace (the inode of $B)"
got=$(q -d "$D" sql "SELECT port || ' ' || pid || ' ' || comm FROM listeners WHERE snapshot_id = $S1 AND port = 8080")
assert_eq "$got" "8080 $LPID python3" "the listener and its process"

# Unchanged: three intervals, no snapshot stored.
n0=$(nsnaps "$AI")
sleep 6.5
assert_eq "$(nsnaps "$AI")" "$n0" "snapshots of $A after 3 unchanged intervals (taken, not stored)"

# A change: one route, one address.
T_MID=$(date +%s%N)
sleep 0.2
T_CHANGE=$(date +%s%N)
ip -n "$A" route add 10.96.0.0/16 via 10.92.0.2
ip -n "$A" addr add 10.97.0.1/24 dev br0
wait_until 5 "a new snapshot of $A" sh -c "[ \$(nsnaps_() { :; }; '$NETREC' -f csv --no-header -d '$D' sql \"SELECT count(*) FROM snapshots WHERE netns = $AI\") -gt $n0 ]"
S2=$(last_snap "$AI")
ts=$(q -d "$D" sql "SELECT ts_ns FROM snapshots WHERE id = $S2")
delay=$(((ts - T_CHANGE) / 1000000))
[ "$delay" -ge 0 ] && [ "$delay" -le 1500 ] || fail "new snapshot $delay ms after the change"
ok "new snapshot $delay ms after the change (debounce 300 ms)"
"$PY" "$(dirname "$0")/topo_compare.py" "$NETREC" "$D" "$S2" "$A" || fail "snapshot after the change differs from ip -j"
got=$(q -d "$D" sql "SELECT group_concat(x, ' ') FROM (
	SELECT '+route ' || dst || '/' || dst_len AS x FROM (SELECT table_id, dst, dst_len, gateway, oif, nexthop FROM routes WHERE snapshot_id = $S2
		EXCEPT SELECT table_id, dst, dst_len, gateway, oif, nexthop FROM routes WHERE snapshot_id = $S1)
	UNION ALL SELECT '-route ' || dst AS x FROM (SELECT table_id, dst, dst_len, gateway, oif, nexthop FROM routes WHERE snapshot_id = $S1
		EXCEPT SELECT table_id, dst, dst_len, gateway, oif, nexthop FROM routes WHERE snapshot_id = $S2)
	UNION ALL SELECT '+address ' || address || '/' || prefixlen AS x FROM (SELECT ifindex, address, prefixlen FROM addresses WHERE snapshot_id = $S2
		EXCEPT SELECT ifindex, address, prefixlen FROM addresses WHERE snapshot_id = $S1)
	UNION ALL SELECT '-address ' || address AS x FROM (SELECT ifindex, address, prefixlen FROM addresses WHERE snapshot_id = $S1
		EXCEPT SELECT ifindex, address, prefixlen FROM addresses WHERE snapshot_id = $S2)
	ORDER BY x)")
assert_eq "$got" "+address 10.97.0.1/24 +route 10.96.0.0/16 +route 10.97.0.0/24 +route 10.97.0.1/32 +route 10.97.0.255/32" \
	"rows the new snapshot adds (the route, the address and the kernel's routes for it)"
T_AFTER=$(date +%s%N)
at() { awk -v n="$1" 'BEGIN { printf "@%d.%09d", n / 1e9, n % 1e9 }'; } # epoch seconds
# As of a time between S1 and S2 (before the change): S1. After it: S2.
got=$("$NETREC" -d "$D" -f json topology --at "$(at "$T_MID")" --netns "$A" |
	"$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d["namespaces"][0]["snapshot"]["id"], len(d["namespaces"][0]["routes"]))')
assert_eq "$got" "$S1 $(q -d "$D" sql "SELECT count(*) FROM routes WHERE snapshot_id = $S1")" \
	"topology --at a time between the two snapshots: the earlier one (id, its routes)"
got=$("$NETREC" -d "$D" -f json topology --at "$(at "$T_AFTER")" --netns "$A" |
	"$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d["namespaces"][0]["snapshot"]["id"])')
assert_eq "$got" "$S2" "topology --at a time after the change: the new snapshot"
"$NETREC" -d "$D" topology --at "$(at "$T_MID")" --netns "$A" > "$T/topo.txt"
grep -q "vx0 .*vxlan.*id 42 remote 10.92.0.2 local 10.92.0.1 port 4789 dev ta0" "$T/topo.txt" ||
	fail "the text output has no readable vx0 line: $(cat "$T/topo.txt")"
ok "text output: $(grep -c . "$T/topo.txt") lines, e.g. '$(grep ' vx0 ' "$T/topo.txt" | sed 's/^ *//')'"
# The diff: exactly the route and the address added (and the kernel's routes for the address).
"$NETREC" -d "$D" topology diff "$(at "$T_MID")" "$(at "$T_AFTER")" > "$T/diff.txt"
cat "$T/diff.txt"
got=$(grep -c . "$T/diff.txt")
assert_eq "$got" 5 "lines of topology diff (the address, the route, and the 3 routes the kernel adds for the address)"
grep -q "^+ netns $AI.* address br0 10.97.0.1/24" "$T/diff.txt" || fail "diff: no added address"
grep -q "^+ netns $AI.* route main 10.96.0.0/16 via 10.92.0.2 dev ta0" "$T/diff.txt" || fail "diff: no added route"
got=$(grep -c '^[-~]' "$T/diff.txt" || true)
assert_eq "$got" 0 "removed or changed items in the diff"
got=$("$NETREC" -d "$D" listening --at "$(at "$T_AFTER")" --netns "$A" | grep ' 8080 ' | tr -s ' ')
ok "listening: $got"
case "$got" in *"tcp 10.92.0.1 8080 $LPID python3"*) ;; *) fail "listening does not show the listener: $got" ;; esac

kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'topology'")
assert_eq "$got" 0 "gaps rows of the topology source"
echo "PASS"
