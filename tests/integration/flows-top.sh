#!/bin/sh
# SPDX-License-Identifier: MIT
# netrec top over what the flow source really records: a "container" namespace C routed
# through a "host" H to a "remote" R, all silent (lib-flows.sh), so a ping from C to R crosses
# four observation points each way (c0 out, hc in, hr out, r0 in; back the other way) and is
# in four rows per interval. top counts each echo flow once, exactly what ping sent; a plain
# sum counts it four times; --group iface shows the eight points' own counts. Then with
# masquerade on H's uplink: the tuple changes at H, so each direction counts twice, once per
# tuple, as docs/query.md says.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-flows.sh"

need_root "network namespaces, BPF"
need_cmd ip ping nft

C=nrtop-c-$$
H=nrtop-h-$$
R=nrtop-r-$$
netns_add "$C" "$H" "$R"
quiet_veth "$C" c0 "$H" hc
quiet_veth "$H" hr "$R" r0
ip -n "$C" addr add 10.77.1.2/24 dev c0
ip -n "$H" addr add 10.77.1.1/24 dev hc
ip -n "$H" addr add 10.77.2.1/24 dev hr
ip -n "$R" addr add 10.77.2.2/24 dev r0
ip -n "$C" route add default via 10.77.1.1
ip -n "$R" route add 10.77.1.0/24 via 10.77.2.1
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward in $H"
neigh_perm "$C" c0 10.77.1.1 "$(link_mac "$H" hc)"
neigh_perm "$H" hc 10.77.1.2 "$(link_mac "$C" c0)"
neigh_perm "$H" hr 10.77.2.2 "$(link_mac "$R" r0)"
neigh_perm "$R" r0 10.77.2.1 "$(link_mac "$H" hr)"

NPING=20 # 98 bytes at TC on every veth (14 + 20 + 8 + 56)
BYTES=$((NPING * 98))

# record DIR: netrecd on the three namespaces, into $T/DIR, while C pings R.
record() {
	settle "$C" "$H" "$R"
	start_recorder "$T/rec.log" -d "$T/$1" --sources flows --netns "$C,$H,$R" \
		--batch-latency 200ms
	wait_until 10 "netrecd to attach in 3 namespaces" recording 3
	ip netns exec "$C" ping -q -c "$NPING" -i 0.02 -W 2 10.77.2.2 >/dev/null || fail "ping R"
	sleep 0.2
	kill -TERM "$RPID"
	wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
}

# ---- routed, no NAT ----------------------------------------------------------------------
record plain
D="$T/plain"
assert_eq "$(q -d "$D" top | tr '\n' ' ')" \
	"1,10.77.1.2,10.77.2.2,$BYTES,$NPING,1,50.0 2,10.77.2.2,10.77.1.2,$BYTES,$NPING,1,50.0 " \
	"top: each echo flow once"
assert_eq "$(q -d "$D" sql "SELECT sum(packets), sum(bytes) FROM flows WHERE src = '10.77.1.2'")" \
	"$((4 * NPING)),$((4 * BYTES))" "a plain sum of the requests (four rows each)"
IFACE=""
for x in c0,egress c0,ingress hc,egress hc,ingress hr,egress hr,ingress r0,egress r0,ingress; do
	IFACE="$IFACE$x,$BYTES,$NPING,1,12.5 "
done
assert_eq "$(q -d "$D" top --group iface | cut -d, -f4- | sort | tr '\n' ' ')" "$IFACE" \
	"top --group iface: every point's own count"
assert_eq "$(q -d "$D" top --group proto --by packets)" "1,1,$((2 * BYTES)),$((2 * NPING)),2,100.0" \
	"top --group proto"
assert_eq "$(q -d "$D" top --group src src host 10.77.2.2 and dir egress)" \
	"1,10.77.2.2,$BYTES,$NPING,1,100.0" "top with a filter"
assert_eq "$(q -d "$D" flows iface hr and dir egress | cut -d, -f11,12 | sort -u)" \
	"10.77.1.2,10.77.2.2" "flows iface hr and dir egress: the requests only"

# ---- masquerade on H's uplink ------------------------------------------------------------
ip netns exec "$H" nft -f - <<'EOF' || fail "nft masquerade in $H"
table ip nrtop {
	chain post {
		type nat hook postrouting priority 100;
		oifname "hr" masquerade
	}
}
EOF
record nat
D="$T/nat"
# Requests: C's tuple on c0 and hc, H's on hr and r0; replies the other way round.
assert_eq "$(q -d "$D" top -n 10 | cut -d, -f2- | sort | tr '\n' ' ')" \
	"10.77.1.2,10.77.2.2,$BYTES,$NPING,1,25.0 10.77.2.1,10.77.2.2,$BYTES,$NPING,1,25.0 \
10.77.2.2,10.77.1.2,$BYTES,$NPING,1,25.0 10.77.2.2,10.77.2.1,$BYTES,$NPING,1,25.0 " \
	"top with NAT: one line per tuple, so each direction twice"
echo "PASS"
