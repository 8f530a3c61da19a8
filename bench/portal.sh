#!/usr/bin/env bash
# Captive-portal benchmarks (issue 5) in a namespace lab of their own: voucher → first packet,
# expiry → cut, the portal page at 200 connections against nginx, throughput with 10 000
# authorised MACs against 10. Not part of CI; run before closing portal work. Needs root.
# BENCH_SECONDS (default 30) sets the length of each wrk run.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in wrk nginx-light iperf3; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  # Installed without starting anything on the host (nginx would listen on its port 80).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
cargo build -q --profile measure -p portico -p portal-bench
target_dir="${CARGO_TARGET_DIR:-target}"
PORTICO_BIN="$target_dir/measure/portico" "$target_dir/measure/portal-bench"
