#!/usr/bin/env bash
# Port detection benchmark (issue 21) in a namespace lab of its own: the time from link-up to a
# verdict for every scenario (the far ends plugged in one at a time while `portico ports
# --watch` runs in the router), and the observer's CPU while it listens to every port. Not part
# of CI (about two minutes); run before closing ports work. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -q --profile measure -p portico --test ports_lab -- --ignored --nocapture link_up_to_verdict 2>&1 |
  grep -E '^\||observer CPU|test result|panicked'
