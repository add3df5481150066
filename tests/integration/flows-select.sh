#!/bin/sh
# SPDX-License-Identifier: MIT
# Which interfaces the flow source records: --netns A,B,L with L not there yet, and
# --flows-include 'i*' --flows-exclude 'ix*'. While netrecd runs, tcx programs are on the
# included interfaces (i0 in A, i1 in B) and on no other: not on ix0/ix1 (excluded), o0/o1
# and lo (not included), nor on i8/i9 in X, a namespace not in the list (their names match). L, created while
# netrecd runs with an interface pair i2 (L) -- i3 (A), is picked up within seconds (the
# namespace rescan, 2 s by default). After traffic on every pair: rows of i0, i1, i2 and i3
# only, each interface's rows equal to its counter deltas, L's under L's namespace inode; and
# after the stop no program is left anywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-flows.sh"

need_root "network namespaces, BPF"
need_cmd ip ping

A=nrfs-a-$$
B=nrfs-b-$$
X=nrfs-x-$$
Y=nrfs-y-$$
L=nrfs-l-$$
netns_add "$A" "$B" "$X"
quiet_pair "$A" i0 "$B" i1 10.95.0
quiet_pair "$A" ix0 "$B" ix1 10.95.1
quiet_pair "$A" o0 "$B" o1 10.95.2
netns_add "$Y"
quiet_veth "$X" i8 "$Y" i9 # X and Y: not listed
ip -n "$X" addr add 10.95.4.1/24 dev i8
ip -n "$Y" addr add 10.95.4.2/24 dev i9

# tcx NS IF: "INGRESS EGRESS", the tcx programs on IF.
tcx() { echo "$(tcx_count "$1" "$2" ingress) $(tcx_count "$1" "$2" egress)"; }

settle "$A" "$B"
link_stats "$A" "$B" >"$T/before.txt"
D="$T/data"
start_recorder "$T/rec.log" -d "$D" --sources flows --netns "$A,$B,$L" \
	--flows-include 'i*' --flows-exclude 'ix*' --batch-latency 200ms
wait_until 10 "netrecd to attach in 2 namespaces" recording 2
assert_eq "$(tcx "$A" i0) $(tcx "$B" i1)" "1 1 1 1" "tcx programs on i0, i1 (included)"
assert_eq "$(tcx "$A" ix0) $(tcx "$B" ix1)" "0 0 0 0" "tcx programs on ix0, ix1 (excluded)"
assert_eq "$(tcx "$A" o0) $(tcx "$B" o1) $(tcx "$A" lo) $(tcx "$B" lo)" "0 0 0 0 0 0 0 0" \
	"tcx programs on o0, o1 and lo (not included)"
assert_eq "$(tcx "$X" i8) $(tcx "$Y" i9)" "0 0 0 0" "tcx programs on i8, i9 (namespaces $X, $Y not listed)"

# L appears, with a pair into A: both ends match 'i*'.
t0=$(date +%s%N)
netns_add "$L"
quiet_pair "$A" i3 "$L" i2 10.95.3
attached_late() { [ "$(tcx "$L" i2) $(tcx "$A" i3)" = "1 1 1 1" ]; }
wait_until 10 "netrecd to attach to i2 in the new namespace $L and i3" attached_late
ok "namespace $L created while recording: programs on i2 (and i3 in $A) within $((($(date +%s%N) - t0) / 1000000)) ms"
assert_eq "$(tcx "$L" lo)" "0 0" "tcx programs on lo of $L (not included)"

ip netns exec "$A" ping -q -c 5 -i 0.05 -W 2 10.95.0.2 >/dev/null || fail "ping over i0"
ip netns exec "$A" ping -q -c 4 -i 0.05 -W 2 10.95.1.2 >/dev/null || fail "ping over ix0"
ip netns exec "$A" ping -q -c 3 -i 0.05 -W 2 10.95.2.2 >/dev/null || fail "ping over o0"
ip netns exec "$A" ping -q -c 6 -i 0.05 -W 2 10.95.3.2 >/dev/null || fail "ping over i3"
ip netns exec "$X" ping -q -c 2 -i 0.05 -W 2 10.95.4.2 >/dev/null || fail "ping over i8 in $X"

kill -TERM "$RPID"
wait_exit "$RPID" 10 || fail "netrecd exited with status $?: $(cat "$T/rec.log")"
ok "netrecd stopped with status 0"
link_stats "$A" "$B" "$L" | awk '$2 ~ /^i[0-9]$/' >"$T/after.txt"
for x in "$A i0" "$B i1" "$L i2" "$A i3"; do
	set -- $x
	assert_eq "$(tcx "$1" "$2")" "0 0" "tcx programs on $2 after the stop"
done

assert_eq "$(q -d "$D" sql "SELECT DISTINCT ifname FROM flows" | sort | tr '\n' ' ')" "i0 i1 i2 i3 " \
	"interfaces with flow rows"
assert_eq "$(q -d "$D" sql "SELECT count(*) FROM flows WHERE netns IN ($(netns_inode "$X"), $(netns_inode "$Y"))")" 0 \
	"rows from $X and $Y"
flows_vs_counters "$D" "$T/before.txt" "$T/after.txt"
IL=$(netns_inode "$L")
assert_eq "$(q -d "$D" sql "SELECT sum(packets) FROM flows WHERE netns = $IL AND ifname = 'i2'
	AND direction = 'ingress' AND proto = 1 AND icmp_type = 8")" 6 \
	"ICMP echo requests recorded on i2 in $L (netns $IL)"
echo PASS
