#!/bin/sh
# SPDX-License-Identifier: MIT
# SIGTERM and SIGINT: everything pending is committed, no -wal/-shm is left, exit 0 within 2 s,
# even under load. SIGHUP re-reads the config file. A second recorder on the same directory
# is refused. Bad options and config files: one line, exit 2.
. "$(dirname "$0")/lib.sh"

# elapsed_ms CMD: how long since the mark.
mark() { MARK=$(date +%s%N); }
elapsed_ms() { echo $((($(date +%s%N) - MARK) / 1000000)); }

for sig in TERM INT; do
	D="$T/data-$sig"
	start_recorder "$T/rec-$sig.log" -d "$D" --partition 1h --synthetic 50000 \
		--batch-rows 1000000 --batch-latency 10s --sources none
	sleep 2
	mark
	kill -"$sig" "$RPID"
	wait_exit "$RPID" 5 || fail "SIG$sig: exit status $?"
	ms=$(elapsed_ms)
	[ "$ms" -le 2000 ] || fail "SIG$sig: took $ms ms to stop"
	ok "SIG$sig: exit 0 after $ms ms"
	want=$(produced "$T/rec-$sig.log" flows)
	got=$(q -d "$D" sql "SELECT count(*) FROM flows")
	assert_eq "$got" "$want" "SIG$sig: flows committed at stop (batch latency 10 s, never reached)"
	[ -z "$(ls "$D" | grep -e '-wal$' -e '-shm$' || true)" ] || fail "SIG$sig: -wal/-shm left"
	ok "SIG$sig: no -wal/-shm left"
	integrity_all "$D"
done

# A restart within the same window resumes the partition.
D="$T/data-TERM"
before=$(ls "$D"/*.db | wc -l)
"$NETRECD" -d "$D" --partition 1h --synthetic 1000 --duration 1s --sources none 2>"$T/again.log" ||
	fail "restart: $(cat "$T/again.log")"
after=$(ls "$D"/*.db | wc -l)
[ "$after" -le $((before + 1)) ] || fail "restart made $after partitions from $before"
ok "restart resumed: $before partition(s) before, $after after"

# SIGHUP: re-read the config file; log level and retention apply at once.
D="$T/data-hup"
printf 'data-dir = %s\nlog-level = info\nsources = none\n' "$D" >"$T/conf"
start_recorder "$T/hup.log" --config "$T/conf" --synthetic 100
sleep 1
# A second recorder on the same directory is refused.
st=0
"$NETRECD" --config "$T/conf" --duration 1s 2>"$T/second.log" || st=$?
assert_eq "$st" 1 "exit status of a second recorder on the same directory"
grep -q "another netrecd" "$T/second.log" || fail "second recorder: $(cat "$T/second.log")"
ok "second recorder refused: $(cat "$T/second.log")"
printf 'data-dir = %s\nlog-level = debug\nretention-age = 2d\nsources = none\n' "$D" >"$T/conf"
kill -HUP "$RPID"
sleep 0.5
grep -q "SIGHUP: re-read" "$T/hup.log" || fail "no SIGHUP line: $(cat "$T/hup.log")"
ok "$(grep "SIGHUP" "$T/hup.log")"
printf 'data-dir = %s\nlog-level = loud\n' "$D" >"$T/conf"
kill -HUP "$RPID"
sleep 0.5
grep -q "keeping the current settings" "$T/hup.log" || fail "a bad config on SIGHUP was not reported"
ok "$(grep "keeping the current" "$T/hup.log")"
kill -0 "$RPID" || fail "a bad config on SIGHUP stopped the recorder"
kill -TERM "$RPID"
wait_exit "$RPID" 5 || fail "exit status $?"

# Bad options: one line, exit 2.
for args in "--partition 0s" "--batch-rows x" "--bogus" "--synthetic" "--config $T/none"; do
	st=0
	# shellcheck disable=SC2086
	"$NETRECD" $args 2>"$T/err" || st=$?
	assert_eq "$st" 2 "exit status for netrecd $args"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "netrecd $args: $(cat "$T/err")"
	ok "netrecd $args: $(cat "$T/err")"
done
printf 'partition = 1h\nbatch-rows = lots\n' >"$T/bad.conf"
st=0
"$NETRECD" --config "$T/bad.conf" 2>"$T/err" || st=$?
assert_eq "$st" 2 "exit status for a bad config file"
grep -q "bad.conf:2:" "$T/err" || fail "bad config: $(cat "$T/err")"
ok "bad config: $(cat "$T/err")"
echo "PASS"
