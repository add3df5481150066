#!/bin/sh
# SPDX-License-Identifier: MIT
# The whole test suite, from scratch: installs dependencies (apt), builds warning-free with
# -Werror, runs unit and integration tests, then builds again with ASan+UBSan and runs the
# suite there too. Ends with one line "tests: N passed, N failed, N skipped".
# Usage (as root on Debian 12): scripts/test.sh
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${NETREC_TEST_BUILD:-$src/build-test}

"$src/scripts/install-deps.sh"

passed=0 failed=0 skipped=0
count() {
	# meson's testlog.json: one JSON object per test
	log="$1/meson-logs/testlog.json"
	[ -f "$log" ] || return 0
	p=$(grep -c '"result": "OK"' "$log" || true)
	f=$(grep -c -e '"result": "FAIL"' -e '"result": "TIMEOUT"' -e '"result": "ERROR"' "$log" || true)
	s=$(grep -c '"result": "SKIP"' "$log" || true)
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

run() {
	name=$1
	shift
	dir="$out/$name"
	rm -rf "$dir"
	echo "=== $name: meson setup $*"
	meson setup "$dir" "$src" -Dwerror=true "$@" >"$out/$name-setup.log" 2>&1 ||
		{ cat "$out/$name-setup.log"; exit 1; }
	echo "=== $name: build"
	ninja -C "$dir"
	echo "=== $name: test"
	st=0
	meson test -C "$dir" --print-errorlogs --num-processes 2 || st=$?
	count "$dir"
	return "$st"
}

mkdir -p "$out"
status=0
run plain || status=1
# ASan+UBSan: every error is fatal and every leak reported.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run sanitize -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug || status=1
# Fuzzers (clang + libFuzzer): a short run of each parser fuzzer from its seed corpus, so a
# regression that crashes a parser on odd input fails the suite. Longer runs: tests/fuzz/README.md.
fuzz_secs=${NETREC_FUZZ_SECONDS:-20}
fdir="$out/fuzz"
rm -rf "$fdir"
echo "=== fuzz: meson setup (clang, ${fuzz_secs}s per target)"
if CC=clang meson setup "$fdir" "$src" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
	-Dc_args=-fsanitize=fuzzer-no-link --buildtype=debugoptimized >"$out/fuzz-setup.log" 2>&1 &&
	ninja -C "$fdir" tests/fuzz/fuzz-time tests/fuzz/fuzz-filter tests/fuzz/fuzz-config \
		tests/fuzz/fuzz-output tests/fuzz/fuzz-conntrack tests/fuzz/fuzz-sockdiag \
		>"$out/fuzz-build.log" 2>&1; then
	for t in time filter config output conntrack sockdiag; do
		work="$fdir/corpus-$t"
		rm -rf "$work"
		cp -r "$src/tests/fuzz/corpus/$t" "$work"
		if "$fdir/tests/fuzz/fuzz-$t" -max_total_time="$fuzz_secs" -print_final_stats=1 \
			-artifact_prefix="$fdir/crash-$t-" "$work" >"$fdir/fuzz-$t.log" 2>&1; then
			echo "fuzz-$t: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' \
				"$fdir/fuzz-$t.log" | cut -d' ' -f2) runs)"
			passed=$((passed + 1))
		else
			echo "fuzz-$t: FAILED"
			tail -n 40 "$fdir/fuzz-$t.log"
			failed=$((failed + 1))
			status=1
		fi
	done
else
	echo "fuzz: build FAILED"
	tail -n 40 "$out/fuzz-setup.log" "$out/fuzz-build.log"
	failed=$((failed + 1))
	status=1
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
