#!/usr/bin/env bash
# Makes tests/reference/expected.json from OpenWrt's C `uci` (issue 17):
#   crates/uci/tests/reference/make.sh <a copy of openwrt/uci's source>   (made at 66127cd)
# Builds the tool into a temporary folder (`gcc -O2 cli.c libuci.c file.c util.c delta.c
# parse.c` with an empty uci_config.h; no libubox needed), its default folders (/etc/config,
# /tmp/.uci, /var/run/uci) made relative so that it works inside each scenario's root, and runs
# the scenarios of tests/reference.rs through it. Nothing of the C source is kept or committed;
# CI compares with the stored outputs only.
set -euo pipefail
src=${1:?usage: make.sh <openwrt/uci source folder>}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
cp -r "$src"/*.c "$src"/*.h "$tmp/src/"
cd "$tmp/src"
: > uci_config.h
sed -i 's|"/etc/config"|"etc/config"|; s|"/tmp/.uci"|"tmp/.uci"|; s|"/var/run/uci"|"var/run/uci"|' uci.h
gcc -O2 -o "$tmp/uci" cli.c libuci.c file.c util.c delta.c parse.c
cd "$here/../../../.."
UCI_REFERENCE_BIN="$tmp/uci" cargo test -q -p uci --test reference -- --ignored make_reference
echo "wrote $here/expected.json"
