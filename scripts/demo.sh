#!/bin/sh
# SPDX-License-Identifier: MIT
# Sets up, builds, records for a short while with every source this machine supports into
# ./data inside the checkout, then prints what was recorded.
# Usage (as root on Debian 12): scripts/demo.sh [SECONDS]
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-30}
"$src/scripts/install-deps.sh"
meson setup "$src/build" "$src" >/dev/null 2>&1 || meson setup --reconfigure "$src/build" "$src" >/dev/null
ninja -C "$src/build"
echo "=== recording for ${secs}s into $src/data"
"$src/build/netrecd" --data-dir "$src/data" --partition 10s --health-interval 5s --duration "${secs}s"
echo "=== netrec info"
"$src/build/netrec" --data-dir "$src/data" info
echo "=== netrec gaps (what could not be recorded, and why)"
"$src/build/netrec" --data-dir "$src/data" gaps
echo "=== recorder health, latest values"
"$src/build/netrec" --data-dir "$src/data" sql \
	"SELECT source, metric, value FROM health WHERE ts_ns = (SELECT max(ts_ns) FROM health) ORDER BY source, metric"
