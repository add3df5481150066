#!/bin/bash
# SPDX-License-Identifier: MIT
# Query benchmark: netrec over hourly partitions (virtual tables, one connection per partition)
# against stock sqlite3 on one merged file holding the same rows, schema and indexes.
#
#   bench/query.sh [DIR]      (default /tmp/netrec-bench-query)
#
# DIR/store and DIR/merged.db come from bench-genstore (run here when missing: 10M flows over
# 24 hourly partitions; ROWS and HOURS override). Each command runs once untimed (results
# compared, page cache warmed), then RUNS times (default 3); the median is printed.
# COLD=1 drops the page cache before every timed run instead (root only).
# Environment: NETREC (default /tmp/build-bench/netrec), GENSTORE (default beside it in
# bench/), SQLITE3 (default sqlite3), ADDR (the looked-up address, default 10.1.0.101).
# Prints figures; it fails only when netrec and sqlite3 disagree on a result.
set -euo pipefail

DIR=${1:-/tmp/netrec-bench-query}
NETREC=${NETREC:-/tmp/build-bench/netrec}
GENSTORE=${GENSTORE:-$(dirname "$NETREC")/bench/bench-genstore}
SQLITE3=${SQLITE3:-sqlite3}
RUNS=${RUNS:-3}
ADDR=${ADDR:-10.1.0.101}
COLD=${COLD:-0}

if [ ! -e "$DIR/merged.db" ]; then
	"$GENSTORE" "$DIR" "${ROWS:-10000000}" "${HOURS:-24}"
fi

mismatch=0

# Runs "$@" quietly and prints its wall time in seconds.
timed() {
	local t0 t1
	[ "$COLD" = 1 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
	t0=$EPOCHREALTIME
	"$@" > /dev/null
	t1=$EPOCHREALTIME
	echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }'
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# bench NAME QUERY [SQLITE_QUERY]: netrec on the store, netrec on merged.db (--db: the virtual
# table over one file), sqlite3 on merged.db (SQLITE_QUERY if given, for a plan variant).
bench() {
	local name=$1 q=$2 sq=${3:-$2} r_n r_s a b c ta=() tb=() tc=() i
	local n=("$NETREC" -d "$DIR/store" -f csv --no-header sql "$q")
	local m=("$NETREC" --db "$DIR/merged.db" -f csv --no-header sql "$q")
	local s=("$SQLITE3" -csv "$DIR/merged.db" "$sq")

	# Untimed first run: checks the results agree and warms the page cache.
	r_n=$("${n[@]}" | tr -d '\r')
	r_s=$("${s[@]}" | tr -d '\r')
	if [ "$r_n" != "$r_s" ]; then
		echo "query: $name: MISMATCH: netrec and sqlite3 disagree" >&2
		diff <(echo "$r_n") <(echo "$r_s") | head -20 >&2 || true
		mismatch=1
	fi
	"${m[@]}" > /dev/null
	for ((i = 0; i < RUNS; i++)); do
		ta+=("$(timed "${n[@]}")")
		tb+=("$(timed "${m[@]}")")
		tc+=("$(timed "${s[@]}")")
	done
	a=$(median "${ta[@]}")
	b=$(median "${tb[@]}")
	c=$(median "${tc[@]}")
	echo "$name $a $b $c ${ta[*]} | ${tb[*]} | ${tc[*]}" | awk '{
		printf "query: %-22s netrec %7.3f s  netrec --db merged %7.3f s  sqlite3 merged %7.3f s" \
		       "  ratio netrec/sqlite3 %.2f  (runs:", $1, $2, $3, $4, $2 / $4
		for (i = 5; i <= NF; i++) printf " %s", $i
		print ")"
	}'
}

nparts=$(find "$DIR/store" -name '*.db' | wc -l)
rows=$("$SQLITE3" "$DIR/merged.db" "SELECT count(*) FROM flows")
echo "query: $rows flows, $nparts partitions in $DIR/store, merged $DIR/merged.db;" \
	"median of $RUNS runs, page cache $([ "$COLD" = 1 ] && echo cold || echo warm);" \
	"sqlite3 $("$SQLITE3" --version | cut -d' ' -f1)"

TOP="SELECT src, sum(bytes) AS b FROM flows GROUP BY src ORDER BY b DESC LIMIT 10"
bench top10 "$TOP"
# The same with a full scan for sqlite3: its planner picks the flows_src index for GROUP BY and
# then fetches every row through it, a much slower plan on a file this size.
bench top10-scan "$TOP" \
	"SELECT src, sum(bytes) AS b FROM flows NOT INDEXED GROUP BY src ORDER BY b DESC LIMIT 10"
bench lookup "SELECT count(*), sum(bytes) FROM flows WHERE src = '$ADDR' OR dst = '$ADDR'"
# The same lookup written as two index lookups, which does not depend on the virtual table's
# rowids (SQLite's OR plan de-duplicates rows by rowid).
bench lookup-union "SELECT count(*), sum(b) FROM (SELECT bytes AS b FROM flows WHERE src = '$ADDR'
	UNION ALL SELECT bytes FROM flows WHERE dst = '$ADDR' AND src IS NOT '$ADDR')"
exit $mismatch
