#!/usr/bin/env bash
# qaul BLE goodput (issue 8): both generations over the simulated link, at MTU 23/185/247 and
# 0/5/10 % loss. Not part of CI; run before closing BLE work.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q --profile measure -p qaul-ble --example goodput
