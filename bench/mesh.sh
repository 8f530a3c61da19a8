#!/usr/bin/env bash
# Mesh-wide vouchers (issue 23): time from creating or invalidating a voucher on the first node
# of a chain of 3 and of 10 routers (namespaces, each knowing only its neighbours) to the last
# node holding the change, and sync bytes per voucher. Not part of CI. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -q --release -p portico --test mesh_lab -- --ignored --nocapture mesh_propagation_bench 2>&1 \
  | grep -E "nodes in a chain|bytes per voucher|test result"
