#!/bin/sh
# SPDX-License-Identifier: MIT
# Retention by age and by size: the oldest closed partitions go first, never the open one, and
# each deletion is noted in health.
. "$(dirname "$0")/lib.sh"

D="$T/age"
"$NETRECD" -d "$D" --partition 1s --retention-age 3s --synthetic 2000 --duration 9s \
	--health-interval 1s --sources none 2>"$T/age.log" || fail "netrecd: $(cat "$T/age.log")"
n=$(ls "$D"/*.db | wc -l)
[ "$n" -le 6 ] || fail "$n partitions kept with a 3 s retention"
deleted=$(grep -c "retention: deleted" "$T/age.log")
[ "$deleted" -ge 2 ] || fail "only $deleted partitions deleted"
noted=$(q -d "$D" sql "SELECT count(*) FROM health WHERE metric = 'retention_deleted_bytes'")
[ "$noted" -ge 1 ] || fail "no deletion noted in health"
ok "age: $deleted partitions deleted, $n kept, $noted deletions noted in the kept partitions"
oldest=$(ls "$D"/*.db | head -n 1 | xargs basename | cut -c1-16)
now=$(date -u +%Y%m%dT%H%M%SZ)
ok "oldest kept partition $oldest (now $now)"

D="$T/size"
"$NETRECD" -d "$D" --partition 1s --retention-age 0 --retention-size 600K --synthetic 3000 \
	--duration 8s --sources none 2>"$T/size.log" || fail "netrecd: $(cat "$T/size.log")"
total=$(du -cb "$D"/*.db | tail -n 1 | cut -f1)
deleted=$(grep -c "retention: deleted" "$T/size.log")
[ "$deleted" -ge 1 ] || fail "nothing deleted by size"
# What is left is under the limit, give or take the partition being written at the last check.
[ "$total" -le $((600 * 1024 + 1024 * 1024)) ] || fail "$total bytes kept"
first_deleted=$(grep "retention: deleted" "$T/size.log" | head -n 1 | sed 's/.*deleted \([^ ]*\).*/\1/')
first_kept=$(ls "$D"/*.db | head -n 1 | xargs basename)
[ "$first_deleted" \< "$first_kept" ] || fail "deleted $first_deleted but kept older $first_kept"
ok "size: $deleted deleted (oldest first: $first_deleted), $total bytes kept"
echo "PASS"
