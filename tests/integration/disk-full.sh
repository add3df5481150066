#!/bin/sh
# SPDX-License-Identifier: MIT
# Disk full: on a small tmpfs (in a private mount namespace, so the host sees nothing) the
# recorder fills the disk, logs it once, keeps running without spinning, and once space is
# freed writes a gaps row for the blind period with the number of records lost. Every
# partition still passes integrity_check, and it stops cleanly.
. "$(dirname "$0")/lib.sh"
need_root "mounts a tmpfs in a private mount namespace"
command -v unshare >/dev/null || skip "unshare (util-linux) is missing"

if [ "${NETREC_IN_NS:-}" != 1 ]; then
	NETREC_IN_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

D="$T/small"
mkdir -p "$D"
mount -t tmpfs -o size=4m tmpfs "$D"
MOUNTS="$D"
# Ballast we can free later to end the blind period.
dd if=/dev/zero of="$D/ballast" bs=1M count=1 status=none

start_recorder "$T/rec.log" -d "$D" --partition 2s --synthetic 20000 --batch-latency 200ms \
	--health-interval 1s --retention-age 0 --retention-size 0 --sources none
i=0
until grep -q "cannot write to" "$T/rec.log"; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || fail "the disk never filled: $(tail -n 3 "$T/rec.log")"
	sleep 0.1
done
ok "disk full reached: $(grep "cannot write" "$T/rec.log")"

# Blind, not spinning: CPU over 2 s stays low (the synthetic source itself costs a little).
t0=$(awk '{print $14 + $15}' "/proc/$RPID/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$RPID/stat")
hz=$(getconf CLK_TCK)
cpu=$(((t1 - t0) * 100 / hz / 2))
[ "$cpu" -lt 60 ] || fail "recorder used ${cpu}% CPU while blind"
ok "recorder alive and using ${cpu}% CPU while the disk is full"
kill -0 "$RPID" || fail "recorder died"
n=$(grep -c "cannot write to" "$T/rec.log")
assert_eq "$n" 1 "error lines logged for one blind period"

rm -f "$D/ballast"
i=0
until grep -q "store writable again" "$T/rec.log"; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || fail "the recorder did not recover: $(tail -n 3 "$T/rec.log")"
	sleep 0.1
done
ok "$(grep "store writable again" "$T/rec.log")"
kill -TERM "$RPID"
wait_exit "$RPID" 10 || echo "note: netrecd exited with status $? (disk may have filled again)"

lost=$(q -d "$D" sql "SELECT sum(lost) FROM gaps WHERE source = 'synthetic' AND reason LIKE 'store:%'")
[ -n "$lost" ] && [ "$lost" -gt 0 ] || fail "no gaps row with the records lost while blind"
reason=$(q -d "$D" sql "SELECT reason FROM gaps WHERE reason LIKE 'store:%' LIMIT 1")
ok "gaps row: $lost synthetic records lost, reason '$reason'"
logged=$(sed -n 's/.*after [0-9.]* s; \([0-9]*\) records lost.*/\1/p' "$T/rec.log" | head -n 1)
total=$(q -d "$D" sql "SELECT sum(lost) FROM gaps WHERE reason LIKE 'store:%' AND ts_start_ns = (SELECT min(ts_start_ns) FROM gaps WHERE reason LIKE 'store:%')")
assert_eq "$total" "$logged" "records lost in the first blind period (gaps rows vs log)"
integrity_all "$D"
echo "PASS"
