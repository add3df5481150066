#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs every build and test dependency of netrec on Debian 12 / Ubuntu with apt.
# Running it again is harmless: apt-get install skips what is there.
set -eu

packages="
	meson ninja-build pkg-config gcc libc6-dev python3
	libsqlite3-dev sqlite3
	libbpf-dev libelf-dev zlib1g-dev clang llvm libclang-rt-14-dev bpftool
	libmnl-dev libnetfilter-conntrack-dev
	libnl-3-dev libnl-route-3-dev
	libcmocka-dev
	iproute2 nftables conntrack util-linux procps iputils-ping
"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
