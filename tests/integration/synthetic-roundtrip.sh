#!/bin/sh
# SPDX-License-Identifier: MIT
# netrecd --synthetic with 1-second partitions: what netrec counts across all partitions equals
# exactly what the synthetic source reports it produced; a query spans more than 10
# partitions (beyond SQLite's 10 attached databases); time-range queries agree with sqlite3 run
# on the partition files; a non-root user reads while netrecd writes; export round trip.
. "$(dirname "$0")/lib.sh"

D="$T/data"
start_recorder "$T/rec.log" -d "$D" --partition 1s --synthetic 4000 --duration 14s \
	--health-interval 1s --batch-latency 200ms --sources none

# While it writes: an unprivileged user reads the store, including the open partition.
sleep 4
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	n=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$NETREC" -d "$D" -f csv \
		--no-header sql "SELECT count(*) FROM flows" | tr -d '\r') ||
		fail "netrec as nobody failed while netrecd writes"
	[ "$n" -gt 0 ] || fail "netrec as nobody saw no flows"
	ok "user nobody read $n flows while netrecd was writing"
	if setpriv --reuid=nobody --regid=nogroup --clear-groups "$NETREC" -d "$D" sql \
		"DELETE FROM flows" 2>"$T/ro.err"; then
		fail "a DELETE succeeded"
	fi
	ok "DELETE refused: $(cat "$T/ro.err")"
else
	echo "note: not root, the unprivileged reader check is skipped"
fi

wait_exit "$RPID" 30 || fail "netrecd exited with status $?"
grep -q "synthetic: produced" "$T/rec.log" || fail "no production report in the log"
dropped=$(sed -n 's/.*dropped=\([0-9]*\).*/\1/p' "$T/rec.log")
assert_eq "$dropped" 0 "records the synthetic source could not queue"

for t in flows conntrack sockets snapshots links addresses routes neighbors listeners; do
	want=$(produced "$T/rec.log" "$t")
	got=$(q -d "$D" sql "SELECT count(*) FROM $t")
	assert_eq "$got" "$want" "rows in $t"
done
want=$(produced "$T/rec.log" gaps)
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE source = 'synthetic' AND reason = 'synthetic'")
assert_eq "$got" "$want" "synthetic gap rows"
got=$(q -d "$D" sql "SELECT count(*) FROM gaps WHERE reason = 'queue full' OR reason LIKE 'store:%'")
assert_eq "$got" 0 "loss gaps"

nparts=$(ls "$D"/*.db | wc -l)
[ "$nparts" -gt 10 ] || fail "only $nparts partitions"
spanned=$(q -d "$D" sql "SELECT count(DISTINCT partition) FROM flows")
[ "$spanned" -gt 10 ] || fail "a query spanned only $spanned partitions"
ok "one query spans $spanned of $nparts partitions"

# Independent truth for a time range: sqlite3 over each file, summed.
first=$(q -d "$D" sql "SELECT min(ts_ns) FROM conntrack")
since=$((first + 3000000000))
until=$((first + 7000000000))
truth=0
for f in "$D"/*.db; do
	c=$(sqlite3 "file:$f?mode=ro" "SELECT count(*) FROM conntrack WHERE ts_ns BETWEEN $since AND $until")
	truth=$((truth + c))
done
s_arg="$(echo "$since" | sed 's/\(.*\)\([0-9]\{9\}\)$/\1.\2/')"
u_arg="$(echo "$until" | sed 's/\(.*\)\([0-9]\{9\}\)$/\1.\2/')"
got=$(q -d "$D" --since "$s_arg" --until "$u_arg" sql "SELECT count(*) FROM conntrack")
assert_eq "$got" "$truth" "conntrack rows in a 4-second range"
opened=$(q -d "$D" --since "$s_arg" --until "$u_arg" sql "SELECT count(DISTINCT partition) FROM conntrack")
[ "$opened" -le 6 ] || fail "a 4 s range read $opened partitions"
ok "a 4 s range read rows from $opened partitions"

# Every partition but the last (its window may not be over) is finalized by the next start or
# by rollover: read-only, no -wal.
closed=$(find "$D" -name '*.db' -perm 0444 | wc -l)
[ "$closed" -ge $((nparts - 1)) ] || fail "only $closed of $nparts partitions finalized"
[ -z "$(ls "$D" | grep -e '-wal$' -e '-shm$' || true)" ] || fail "-wal/-shm left after exit"
ok "$closed of $nparts partitions finalized, no -wal/-shm left"
integrity_all "$D"
# A topology snapshot and its rows stay in one partition, so time ranges find them together.
for f in "$D"/*.db; do
	o=$(sqlite3 "file:$f?mode=ro" "SELECT (SELECT count(*) FROM links WHERE snapshot_id NOT IN
		(SELECT id FROM snapshots)) + (SELECT count(*) FROM listeners WHERE snapshot_id NOT IN
		(SELECT id FROM snapshots))")
	[ "$o" = 0 ] || fail "$f: $o topology rows without their snapshot"
done
ok "no topology row separated from its snapshot"

# Export round trip: whole store, then a window, then a filter.
"$NETREC" -d "$D" export -o "$T/all.db" 2>"$T/exp.log" || fail "export: $(cat "$T/exp.log")"
assert_eq "$(sqlite3 "$T/all.db" 'PRAGMA integrity_check')" ok "export integrity_check"
for t in flows conntrack sockets snapshots links gaps health; do
	a=$(q -d "$D" sql "SELECT count(*) FROM $t")
	b=$(sqlite3 "$T/all.db" "SELECT count(*) FROM $t")
	c=$(q --db "$T/all.db" sql "SELECT count(*) FROM $t")
	assert_eq "$b" "$a" "export rows of $t (stock sqlite3)"
	assert_eq "$c" "$a" "export rows of $t (netrec --db)"
done
a=$(q -d "$D" sql "SELECT sum(bytes), count(DISTINCT src) FROM flows")
b=$(sqlite3 -csv "$T/all.db" "SELECT sum(bytes), count(DISTINCT src) FROM flows")
assert_eq "$b" "$a" "export flow bytes and sources"
host=$(sqlite3 "$T/all.db" "SELECT value FROM meta WHERE key = 'host'")
assert_eq "$host" "$(hostname)" "export meta host"
srcs=$(sqlite3 "$T/all.db" "SELECT value FROM meta WHERE key = 'source_partitions'" | tr ',' '\n' | wc -l)
assert_eq "$srcs" "$nparts" "export meta source_partitions"

"$NETREC" -d "$D" --since "$s_arg" --until "$u_arg" export -o "$T/win.db" 2>/dev/null
a=$(q -d "$D" --since "$s_arg" --until "$u_arg" sql "SELECT count(*) FROM conntrack")
b=$(sqlite3 "$T/win.db" "SELECT count(*) FROM conntrack")
assert_eq "$b" "$a" "windowed export conntrack rows"
w=$(sqlite3 "$T/win.db" "SELECT value FROM meta WHERE key = 'export_since_ns'")
assert_eq "$w" "$since" "windowed export meta export_since_ns"

addr=$(q -d "$D" sql "SELECT src FROM flows GROUP BY src ORDER BY count(*) DESC LIMIT 1")
"$NETREC" -d "$D" export -o "$T/host.db" host "$addr" and proto tcp 2>/dev/null
a=$(q -d "$D" sql "SELECT count(*) FROM flows WHERE (src = '$addr' OR dst = '$addr') AND proto = 6")
b=$(sqlite3 "$T/host.db" "SELECT count(*) FROM flows")
assert_eq "$b" "$a" "filtered export (host $addr and proto tcp) flows"
[ "$a" -gt 0 ] || fail "the filter matched nothing"
# Anonymized: no recorded address or MAC survives, yet the structure does (same number of
# distinct addresses, same per-address flow counts, NAT pairs still line up).
"$NETREC" -d "$D" export -o "$T/anon.db" --anonymize 2>/dev/null
leaked=$(sqlite3 "$T/anon.db" "ATTACH '$T/all.db' AS o; SELECT count(*) FROM flows WHERE src IN
	(SELECT src FROM o.flows UNION SELECT dst FROM o.flows) OR src_mac IN (SELECT src_mac FROM o.flows)")
assert_eq "$leaked" 0 "recorded addresses or MACs left in the anonymized export"
a=$(sqlite3 "$T/all.db" "SELECT group_concat(n) FROM (SELECT count(*) n FROM flows GROUP BY src ORDER BY 1)")
b=$(sqlite3 "$T/anon.db" "SELECT group_concat(n) FROM (SELECT count(*) n FROM flows GROUP BY src ORDER BY 1)")
[ "$a" = "$b" ] || fail "anonymization changed the per-address flow counts"
a=$(sqlite3 "$T/all.db" "SELECT count(*) FROM conntrack WHERE reply_dst = orig_src")
b=$(sqlite3 "$T/anon.db" "SELECT count(*) FROM conntrack WHERE reply_dst = orig_src")
assert_eq "$b" "$a" "conntrack entries without NAT, after anonymization"
assert_eq "$(sqlite3 "$T/anon.db" "SELECT value FROM meta WHERE key = 'host'")" "" "anonymized host"
a=$(sqlite3 "$T/all.db" "SELECT count(*) FROM links WHERE json_extract(info, '$.remote') = '192.0.2.9'")
[ "$a" -gt 0 ] || fail "no VXLAN link with a remote in the plain export"
b=$(sqlite3 "$T/anon.db" "SELECT count(*) || ' ' || sum(info LIKE '%192.0.2.%') || ' ' ||
	sum(json_extract(info, '$.id') = 42) FROM links WHERE kind = 'vxlan'")
assert_eq "$b" "$a 0 $a" "anonymized VXLAN links: kept, endpoints dropped from info, id kept"
"$NETREC" -d "$D" export -o "$T/anon2.db" --anonymize host "$addr" 2>/dev/null
assert_eq "$(sqlite3 "$T/anon2.db" "SELECT value FROM meta WHERE key = 'export_filter'")" \
	"(anonymized)" "an anonymized export's filter words (they named an address)"
if "$NETREC" -d "$D" export -o "$T/all.db" 2>"$T/err"; then
	fail "export overwrote an existing file"
fi
ok "export refuses to overwrite: $(cat "$T/err")"
echo "PASS"
