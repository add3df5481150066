#!/bin/sh
# SPDX-License-Identifier: MIT
# Bad input to netrec gets one clear line on stderr and a non-zero exit, never a crash:
# malformed SQL, writes, unknown commands and options, bad times and filters, missing data,
# and corrupt, truncated or newer-schema partitions (skipped with a warning naming them while
# the others are still queried, exit 3).
. "$(dirname "$0")/lib.sh"

D="$T/data"
"$NETRECD" -d "$D" --partition 1s --synthetic 3000 --duration 4s --sources none 2>"$T/rec.log" ||
	fail "netrecd: $(cat "$T/rec.log")"

# expect STATUS PATTERN ARGS...: exit status, exactly one stderr line matching PATTERN.
expect() {
	want=$1
	pat=$2
	shift 2
	st=0
	"$NETREC" "$@" >"$T/out" 2>"$T/err" || st=$?
	[ "$st" -eq "$want" ] || fail "netrec $*: exit $st, expected $want; stderr: $(cat "$T/err")"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "netrec $*: expected one line on stderr, got: $(cat "$T/err")"
	grep -q -- "$pat" "$T/err" || fail "netrec $*: stderr '$(cat "$T/err")' lacks '$pat'"
	ok "netrec $* -> $st: $(cat "$T/err")"
}

expect 1 "syntax error" -d "$D" sql "SELEC * FROM flows"
expect 1 "no such table" -d "$D" sql "SELECT * FROM nope"
expect 1 "no such column" -d "$D" sql "SELECT nope FROM flows"
expect 1 "read-only" -d "$D" sql "DELETE FROM flows"
expect 1 "read-only" -d "$D" sql "INSERT INTO gaps VALUES (1, 2, 'x', 'y', 3)"
expect 1 "read-only" -d "$D" sql "UPDATE meta SET value = 'x'"
expect 1 "read-only" -d "$D" sql "ATTACH '$T/x.db' AS x"
expect 1 "read-only" -d "$D" sql "CREATE TABLE t(a)"
expect 1 "read-only" -d "$D" sql "CREATE TEMP TABLE t(a)"
expect 1 "read-only" -d "$D" sql "PRAGMA user_version = 4"
expect 1 "read-only" -d "$D" sql "DROP TABLE flows"
expect 1 "read-only" -d "$D" sql "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')"
expect 2 "unknown command" -d "$D" frobnicate
expect 2 "no command" -d "$D"
expect 2 "unknown option" --bogus info
expect 2 "bad time for --since" -d "$D" --since "yesterday at noonish" info
expect 2 "bad time for --until" -d "$D" --until "2026-13-01" info
expect 2 "time range is empty" -d "$D" --since now --until "1h ago" info
expect 2 "bad format" -d "$D" -f xml info
expect 2 "sql needs a query" -d "$D" sql
expect 2 "hots" -d "$D" export -o "$T/e.db" hots 10.0.0.1
expect 2 "port" -d "$D" export -o "$T/e.db" port 99999
expect 2 "bad address '300.1.2.3'" -d "$D" nat 300.1.2.3
expect 2 "bad address" -d "$D" nat "[2001:db8::1"
expect 2 "bad address" -d "$D" nat 10.0.0.0/8
expect 2 "bad port" -d "$D" nat 192.0.2.1:99999
expect 2 "bad port" -d "$D" nat "[2001:db8::1]:http"
expect 2 "bad time for --at" -d "$D" nat 192.0.2.1:40000 --at "half past three"
expect 2 "--at needs a time" -d "$D" nat 192.0.2.1:40000 --at
expect 2 "nat needs an address" -d "$D" nat
expect 2 "hots" -d "$D" conntrack hots 10.0.0.1
expect 2 "port" -d "$D" conntrack port 99999
expect 2 "new, update, destroy or dump" -d "$D" conntrack event created
expect 2 "does not apply to table conntrack" -d "$D" conntrack iface eth0
expect 2 "does not apply to table conntrack" -d "$D" conntrack dir ingress
expect 2 "hots" -d "$D" flows hots 10.0.0.1
expect 2 "ingress or egress" -d "$D" flows dir inbound
expect 2 "does not apply to table flows" -d "$D" flows event new
expect 2 "--by needs bytes, packets or flows, got 'octets'" -d "$D" top --by octets
expect 2 "--by needs bytes, packets or flows" -d "$D" top --by
expect 2 "--group needs src, dst, pair, sport, dport, proto or iface, got 'host'" -d "$D" top --group host
expect 2 "-n needs a number from 1 to" -d "$D" top -n 0
expect 2 "-n needs a number from 1 to" -d "$D" top -n ten
expect 2 "-n needs a number from 1 to" -d "$D" top --group src -n
expect 2 "unknown option '--limit'" -d "$D" top --limit 5
expect 2 "hots" -d "$D" top --by packets hots 10.0.0.1
expect 2 "'dir' needs ingress or egress" -d "$D" top dir sideways
expect 2 "hots" -d "$D" sockets hots 10.0.0.1
expect 2 "sockets: unknown option '--bogus'" -d "$D" sockets --bogus
expect 2 "'dir' does not apply to table sockets" -d "$D" sockets dir egress
expect 2 "'direction' needs in, out or local" -d "$D" sockets direction ingress
expect 2 "'pid' needs a process id" -d "$D" sockets pid 0
expect 2 "'comm' needs a process name" -d "$D" sockets comm abcdefghijklmnop
expect 2 "-n needs a number from 1 to" -d "$D" retrans -n 0
expect 2 "-n needs a number from 1 to" -d "$D" rtt -n
expect 2 "unknown option '--limit'" -d "$D" rtt --limit 5
expect 1 "No such file" -d "$T/nowhere" info
expect 1 "No such file" --db "$T/nowhere.db" info
[ ! -e "$T/e.db" ] || fail "a failed export left a file"

# The conntrack reports over the synthetic rows: the same rows as SQL, and a NAT lookup of
# the synthetic source's masquerading address that finds entries.
assert_eq "$(q -d "$D" conntrack event destroy | wc -l)" \
	"$(q -d "$D" sql "SELECT count(*) FROM conntrack WHERE event = 'destroy'")" "conntrack event destroy rows"
[ "$(q -d "$D" nat 192.0.2.1 | wc -l)" -gt 0 ] || fail "nat 192.0.2.1 found no entry"
ok "nat 192.0.2.1 finds entries"

# The flow reports over the synthetic rows: flows selects what SQL selects; top --group iface
# adds up to every row (scaled by its sampling); the default top adds up to each tuple's
# largest total over the observation points, computed here in plain SQL.
assert_eq "$(q -d "$D" flows dir egress and proto tcp | wc -l)" \
	"$(q -d "$D" sql "SELECT count(*) FROM flows WHERE direction = 'egress' AND proto = 6")" "flows dir egress and proto tcp rows"
assert_eq "$(q -d "$D" top --group iface -n 1000 | awk -F, '{ s += $6 } END { printf "%.0f\n", s }')" \
	"$(q -d "$D" sql "SELECT sum(bytes * sampling) FROM flows")" "top --group iface bytes"
assert_eq "$(q -d "$D" top --group proto | awk -F, '{ s += $3 } END { printf "%.0f\n", s }')" \
	"$(q -d "$D" sql "SELECT sum(b) FROM (SELECT max(b) AS b FROM (SELECT proto, src, dst,
	   sport, dport, icmp_type, icmp_code, sum(bytes * sampling) AS b FROM flows
	   WHERE coalesce(kind, 'flow') <> 'other' GROUP BY proto, src, dst, sport, dport, icmp_type,
	   icmp_code, netns, ifindex, direction) GROUP BY proto, src, dst, sport, dport, icmp_type,
	   icmp_code)")" "top --group proto bytes"
[ "$(q -d "$D" top -n 3 | wc -l)" -eq 3 ] || fail "top -n 3 did not print 3 lines"
ok "top -n 3 prints 3 lines"

# The socket reports over the synthetic rows: one line per socket, and the retransmissions
# ranked as SQL ranks the sockets' largest counts.
assert_eq "$(q -d "$D" sockets | wc -l)" \
	"$(q -d "$D" sql "SELECT count(*) FROM (SELECT DISTINCT netns, cookie FROM sockets)")" "sockets lines"
assert_eq "$(q -d "$D" retrans -n 5 | cut -d, -f23 | tr '\n' ' ')" \
	"$(q -d "$D" sql "SELECT max(retrans) AS r FROM sockets GROUP BY netns, cookie HAVING r > 0
	   ORDER BY r DESC LIMIT 5" | tr '\n' ' ')" "retrans -n 5 counts"
assert_eq "$(q -d "$D" rtt -n 5 | cut -d, -f24 | tr '\n' ' ')" \
	"$(q -d "$D" sql "SELECT max(rtt_us) AS r FROM sockets GROUP BY netns, cookie HAVING r IS NOT NULL
	   ORDER BY r DESC LIMIT 5" | tr '\n' ' ')" "rtt -n 5 max_rtt_us"

# Damaged partitions next to good ones.
good=$(ls "$D"/*.db | head -n 1)
rows_all=$(q -d "$D" sql "SELECT count(*) FROM flows")
cp "$good" "$T/copy.db"
chmod u+w "$T/copy.db"
head -c 100000 /dev/urandom >"$D/20200101T000000Z-1s.db"
head -c $(($(stat -c %s "$T/copy.db") / 3)) "$T/copy.db" >"$D/20200101T000001Z-1s.db"
cp "$T/copy.db" "$D/20200101T000002Z-1s.db"
sqlite3 "$D/20200101T000002Z-1s.db" "PRAGMA user_version = 99"
st=0
"$NETREC" -f csv --no-header -d "$D" sql "SELECT count(*) FROM flows" >"$T/out" 2>"$T/err" || st=$?
assert_eq "$st" 3 "exit status with damaged partitions"
assert_eq "$(tr -d '\r' <"$T/out")" "$rows_all" "rows from the good partitions"
for f in 20200101T000000Z-1s.db 20200101T000001Z-1s.db 20200101T000002Z-1s.db; do
	grep -q "skipping partition .*$f" "$T/err" || fail "no warning names $f: $(cat "$T/err")"
done
grep -q "newer than this netrec" "$T/err" || fail "no schema-version warning"
ok "damaged partitions named: $(tr '\n' '|' <"$T/err")"
st=0
"$NETREC" -d "$D" info >/dev/null 2>"$T/err" || st=$?
assert_eq "$st" 3 "info exit status with damaged partitions"
st=0
"$NETREC" --db "$D/20200101T000000Z-1s.db" sql "SELECT count(*) FROM flows" >/dev/null 2>"$T/err" || st=$?
[ "$st" -ne 0 ] || fail "a garbage --db file was accepted"
ok "garbage --db file: exit $st: $(head -n 1 "$T/err")"
echo "PASS"
