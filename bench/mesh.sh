#!/usr/bin/env bash
# Mesh-wide vouchers (issue 23): chains of 3 and of 10 routers (namespaces, each knowing only its
# neighbours), the last one a router lab whose portal enforces for its client. Time from creating
# a voucher on the first node to the last router letting the client in with it, and from
# invalidating it to the last router's firewall dropping the client; sync bytes per voucher.
# Not part of CI. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -q --release -p portico --test mesh_lab -- --ignored --nocapture mesh_propagation_bench 2>&1 \
  | grep -E "nodes in a chain|bytes per voucher|test result"
