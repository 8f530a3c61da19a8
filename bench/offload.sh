#!/usr/bin/env bash
# Firewall offload benchmarks (issue 7) in a namespace lab of their own, one run comparing
# (a) kernel forwarding with an nftables conntrack + NAT firewall, (b) Portico's XDP offload,
# (c) its TC offload: maximum forwarded 64-byte UDP packets/s, CPU time per forwarded packet
# at a fixed load below saturation, TCP throughput, and the delay from a flow's first packet
# to its first fast-path packet. Not part of CI; needs root. BENCH_SECONDS (default 5) sets
# each measurement's length, BENCH_REPEAT (default 3) how often it is repeated (median).
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg -s iperf3 >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null
cargo build -q --profile measure -p portico -p offload-bench
target_dir="${CARGO_TARGET_DIR:-target}"
PORTICO_BIN="$target_dir/measure/portico" "$target_dir/measure/offload-bench"
