#!/bin/sh
# SPDX-License-Identifier: MIT
# SIGKILL during heavy synthetic writing: every partition passes integrity_check, no committed
# row is lost, the loss is at most what was not yet committed (one batch plus the queue), and
# the next start finalizes the leftovers and carries on recording.
. "$(dirname "$0")/lib.sh"

D="$T/data"
RATE=100000
BATCH=10000
start_recorder "$T/rec1.log" -d "$D" --partition 1s --synthetic $RATE --batch-rows $BATCH \
	--batch-latency 1s --queue-size 200000 --health-interval 1s --sources none
sleep 4
# What a reader sees is committed. Count it, then kill at once.
seen=$(q -d "$D" sql "SELECT count(*) FROM flows")
kill -KILL "$RPID"
wait "$RPID" 2>/dev/null || true
ok "killed netrecd after it committed at least $seen flows"

integrity_all "$D"
after=$(q -d "$D" sql "SELECT count(*) FROM flows")
[ "$after" -ge "$seen" ] || fail "committed rows lost: $seen seen before the kill, $after after"
ok "no committed row lost ($seen seen before, $after after)"

# The last health row before the kill says how many records the recorder had queued; what
# is stored now may lag by at most one batch plus what was in the queue at that moment.
queued=$(q -d "$D" sql "SELECT max(value) FROM health WHERE source = 'synthetic' AND metric = 'queued'" | cut -d. -f1)
stored=$(q -d "$D" sql "SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM conntrack) +
	(SELECT count(*) FROM sockets) + (SELECT count(*) FROM snapshots) + (SELECT count(*) FROM links) +
	(SELECT count(*) FROM addresses) + (SELECT count(*) FROM routes) +
	(SELECT count(*) FROM neighbors) + (SELECT count(*) FROM listeners) +
	(SELECT count(*) FROM gaps WHERE source = 'synthetic')")
depth=$(q -d "$D" sql "SELECT value FROM health WHERE source = 'recorder' AND metric = 'queue_depth' ORDER BY ts_ns DESC LIMIT 1" | cut -d. -f1)
[ "$stored" -ge $((queued - BATCH - depth - RATE / 10)) ] ||
	fail "stored $stored synthetic rows, but $queued were queued at the last health sample (depth $depth)"
ok "stored $stored synthetic rows; $queued had been queued at the last health sample"

# Leftovers: writable partitions with a -wal, whose windows are over.
left=$(find "$D" -name '*.db' -perm -u+w | wc -l)
[ "$left" -ge 1 ] || fail "expected a partition left open by the crash"
# Down for longer than twice the health interval plus 5 s: the restart records the silence.
sleep 8
start_recorder "$T/rec2.log" -d "$D" --partition 1s --synthetic 1000 --duration 3s --sources none \
	--health-interval 1s
wait_exit "$RPID" 20 || fail "restarted netrecd exited with $?"
integrity_all "$D"
open=$(find "$D" -name '*.db' -perm -u+w | wc -l)
[ "$open" -le 1 ] || fail "$open partitions still writable after the restart"
ok "the restart finalized the $left partitions the crash left open (now $open writable)"
down=$(q -d "$D" sql "SELECT round((ts_end_ns - ts_start_ns) / 1e9) FROM gaps WHERE reason = 'recorder not running'")
[ -n "$down" ] && [ "${down%.*}" -ge 8 ] || fail "no 'recorder not running' gap for the 8 s down: '$down'"
ok "the restart recorded ${down} s of 'recorder not running'"
n2=$(produced "$T/rec2.log" flows)
after2=$(q -d "$D" sql "SELECT count(*) FROM flows")
assert_eq "$after2" $((after + n2)) "flows after the restart (before + new)"
echo "PASS"
