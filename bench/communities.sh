#!/usr/bin/env bash
# Communities benchmarks (issue 6): import throughput against plain serde_json on one month of
# hourly files; 10 years of hourly history for 400 communities straight into the store (made
# once, kept in BENCH_DIR, default target/bench-communities: ~10 min the first time); p50/p99
# of every API endpoint against it, /healthz as the baseline; store size per million
# community snapshots. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --profile measure -p portico --features communities -p communities-bench
target_dir="${CARGO_TARGET_DIR:-target}"
shared="${PORTICO_SHARED:-../shared}"
PORTICO_BIN="$target_dir/measure/portico" \
SNAPSHOT="$shared/fixtures/freifunk/20160323-19.01.01-ffSummarizedDir.json" \
  "$target_dir/measure/communities-bench"
