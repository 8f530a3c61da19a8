#!/usr/bin/env bash
# Footprint of the router build (issue 18), each figure beside its anchor:
# - the static musl binary after `xz -9e` and the .ipk, per target (LuCI's whole stack on
#   flash: ≈ 0.53 MB compressed);
# - bytes on the wire and requests of the first wizard page and the overview, cold cache,
#   Chromium over plain HTTP in the lab (LuCI's status page: 106 KB gzipped);
# - RSS of `serve` (the x86_64 musl build) in the lab's router namespace, idle with the portal
#   and the offload on, and after creating and printing 1000 vouchers (target ≤ 16 MiB);
# - with UCI_SOURCE=<openwrt/uci checkout>: `portico uci` against the C tool (bench/uci.sh).
# Not part of CI (two release cross-builds and a lab: ~15 min cold).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }

echo "== package size (anchor: LuCI ≈ 0.53 MB compressed on flash)"
for t in aarch64-unknown-linux-musl x86_64-unknown-linux-musl; do
  ipk=$(cargo xtask package --target "$t" 2>/dev/null | tail -n 1)
  bin="$target_dir/$t/release/portico"
  xz_bytes=$(xz -9e -c "$bin" | wc -c)
  printf '%-28s binary %s, xz -9e %s, .ipk %s\n' "$t" "$(mib "$(stat -c %s "$bin")")" \
    "$(mib "$xz_bytes")" "$(mib "$(stat -c %s "$ipk")")"
done

echo "== in the lab (x86_64 musl build): page weight (anchor: LuCI 106 KB) and RSS (target ≤ 16 MiB)"
bin=$(realpath "$target_dir/x86_64-unknown-linux-musl/release/portico")
(cd e2e && PORTICO_BIN="$bin" node ../bench/footprint.mjs)

if [ -n "${UCI_SOURCE:-}" ]; then
  echo "== portico uci against the C tool"
  PORTICO_UCI_BIN="$bin" bench/uci.sh "$UCI_SOURCE"
fi
