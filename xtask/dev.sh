#!/usr/bin/env bash
# Portico's two commands (README): `xtask/dev.sh run` and `xtask/dev.sh test`.
# Both first install what is missing (Debian packages, the pinned Rust toolchain and wasm
# target, wasm-bindgen at the version Cargo.lock pins, npm packages with binaryen's wasm-opt
# and playwright-core) and are quick when everything is there. Nothing comes from GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLCHAIN=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
CARGO_FUZZ=0.13.2
# The static router binary is cross-built with zig as the C compiler and linker (PyPI's
# ziglang, driven by cargo-zigbuild) for musl targets.
CARGO_ZIGBUILD=0.24.1
ZIGLANG=0.17.1
CROSS_TARGETS=(aarch64-unknown-linux-musl x86_64-unknown-linux-musl)
export PATH="$HOME/.cargo/bin:$PATH"
export PORTICO_SHARED="${PORTICO_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

setup() {
  local debs=(chromium dnsmasq-base nftables clang libbpf-dev libclang-dev busybox iproute2 conntrack ethtool iputils-ping pkg-config procps curl libdbus-1-dev qemu-user-static shellcheck xz-utils ieee-data babeld lldpd radvd tcpdump python3)
  local missing=()
  for p in "${debs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 && continue
    # The BLE VM lab installs busybox-static (virtme-ng needs it), which replaces busybox and
    # serves the lab's udhcpc as well.
    [ "$p" = busybox ] && dpkg -s busybox-static >/dev/null 2>&1 && continue
    missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    # lldpd, radvd and babeld run only inside lab namespaces: keep their packages from starting
    # them in the host's namespace (where they would talk on the host's interfaces).
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    [ "$added_policy" = 1 ] && rm -f "$policy"
  fi
  if ! command -v rustup >/dev/null; then
    say "installing rustup"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustup >/dev/null 2>&1 || { echo "rustup missing" >&2; exit 1; }
  fi
  if ! rustup toolchain list | grep -q "^$TOOLCHAIN"; then
    say "installing Rust $TOOLCHAIN"
    rustup toolchain install "$TOOLCHAIN" --profile minimal -c clippy,rustfmt -t wasm32-unknown-unknown
  fi
  local installed; installed=$(rustup target list --installed --toolchain "$TOOLCHAIN")
  for t in wasm32-unknown-unknown "${CROSS_TARGETS[@]}"; do
    grep -qx "$t" <<<"$installed" || rustup target add --toolchain "$TOOLCHAIN" "$t"
  done
  if [ "$(python3 -m ziglang version 2>/dev/null)" != "$ZIGLANG" ]; then
    say "installing zig $ZIGLANG (PyPI ziglang) for the cross-builds"
    python3 -m pip install -q --root-user-action=ignore "ziglang==$ZIGLANG"
  fi
  if [ "$(cargo-zigbuild --version 2>/dev/null | awk '{print $2}')" != "$CARGO_ZIGBUILD" ]; then
    say "installing cargo-zigbuild $CARGO_ZIGBUILD (a minute, once)"
    cargo "+$TOOLCHAIN" install cargo-zigbuild --version "$CARGO_ZIGBUILD" --force
  fi
  local wbg
  wbg=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
    say "installing wasm-bindgen-cli $wbg (a few minutes, once)"
    cargo "+$TOOLCHAIN" install wasm-bindgen-cli --version "$wbg" --force
  fi
  if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ (a minute or two, once)"
    cargo "+$TOOLCHAIN" install cargo-fuzz --version "$CARGO_FUZZ" --force
  fi
  if [ ! -x e2e/node_modules/.bin/wasm-opt ] || ! cmp -s e2e/package-lock.json e2e/node_modules/.package-lock.json.stamp; then
    say "installing npm packages (binaryen, playwright-core)"
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.package-lock.json.stamp)
  fi
}

portico_bin() { echo "${CARGO_TARGET_DIR:-$ROOT/target}/debug/portico"; }
# The community data site's build (`--features mongodb`), kept beside the router's binary.
site_bin() { echo "${CARGO_TARGET_DIR:-$ROOT/target}/debug/portico-site"; }

# Each build holds what it is for and nothing else (design.md, "Small on the router"):
# `has FEATURES crate...` and `lacks FEATURES crate...` read the normal dependency tree.
crates_of() {
  local flags; read -ra flags <<<"$1"
  cargo tree -p portico -e normal --prefix none "${flags[@]}" | awk '{print $1}' | sort -u
}
has() {
  local features=$1; shift
  local tree; tree=$(crates_of "$features")
  for c in "$@"; do grep -qx "$c" <<<"$tree" || { echo "build '$features' lacks $c" >&2; exit 1; }; done
}
lacks() {
  local features=$1; shift
  local tree; tree=$(crates_of "$features")
  for c in "$@"; do ! grep -qx "$c" <<<"$tree" || { echo "build '$features' contains $c" >&2; exit 1; }; done
}

# The host's own networking, to prove a test run left it alone.
host_snapshot() {
  { ip -o link show | sed 's/ qlen [0-9]*//' | awk '{print $2, $3}'; ip -4 route; ip -6 route; cat /etc/resolv.conf;
    nft list ruleset 2>/dev/null; ip netns list | grep -v -- '-t[0-9]*-[0-9]*' || true; } | sort
}

run_main() {
  setup
  say "building"
  cargo xtask build
  cargo build -p portico
  local bin; bin=$(portico_bin)
  say "building the namespace lab"
  "$bin" lab up
  # Expanded now: `bin` is local and gone when the EXIT trap runs.
  # shellcheck disable=SC2064
  trap "'$bin' lab down" EXIT
  say "Portico in the router namespace; open http://127.0.0.1:8080/ (Ctrl-C stops and removes the lab)"
  echo "http://127.0.0.1:8080/"
  ip netns exec router "$bin" serve --root "$ROOT/var/dev-root" --listen 0.0.0.0:80
}

# A bounded cargo-fuzz run of one target, seeded with a temporary copy of the fixture files
# (cargo-fuzz writes into its first corpus folder; the shared folder stays read-only).
# No sanitizer: the code under test is safe Rust, so libFuzzer looks for panics and hangs.
fuzz() {
  local target=$1 seeds=$2 corpus
  corpus=$(mktemp -d)
  find "$seeds" -path '*/expected' -prune -o -type f -print0 |
    while IFS= read -r -d '' f; do cp "$f" "$corpus/$(sha1sum < "$f" | cut -c1-16)"; done
  local dict=() status=0
  [ -f "$seeds/uci-tests/fuzz/dict/uci.dict" ] && dict=(-dict="$seeds/uci-tests/fuzz/dict/uci.dict")
  (cd fuzz && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/fuzz" \
    cargo "+$TOOLCHAIN" fuzz run --sanitizer none "$target" "$corpus" -- \
      -max_total_time="${FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 "${dict[@]}" 2>&1 | tail -n 30) || status=$?
  rm -rf "$corpus"
  return "$status"
}

run_tests() {
  setup
  local before after
  before=$(host_snapshot)
  say "format";  cargo fmt --all --check
  say "bundle";  cargo xtask build
  say "clippy: the router build (default), its small variant, the data site"
  cargo clippy --workspace --all-targets --features portico/mongodb -- -D warnings
  cargo clippy -p portico --all-targets --no-default-features -- -D warnings
  cargo clippy -p portico --all-targets -- -D warnings
  cargo clippy -p portico --all-targets --features communities -- -D warnings
  say "what each build contains"
  # (rand_chacha stays in every build: rand's StdRng, through leptos and sha-crypt; tar too:
  # the router's backups are sysupgrade-style .tar.gz files.)
  local site_only=(mongodb indicatif ureq)
  lacks "" "${site_only[@]}"
  has "" bluer aya
  lacks "" nftnl-sys mnl-sys  # nf_tables over netlink in Rust: no C library to cross-build
  lacks --no-default-features bluer dbus "${site_only[@]}"
  has "--features mongodb" "${site_only[@]}"
  say "unit, HTTP, integration and lab tests (router build; the data site's with its own)"
  cargo build -p portico --features mongodb
  cp "$(portico_bin)" "$(site_bin)"
  cargo build -p portico
  cargo test --workspace
  cargo test -p portico --features mongodb --test communities
  cargo test -p portico --features mongodb --lib -- communities::
  say "fuzzing the UCI parser for ${FUZZ_SECONDS:-60} s"
  fuzz uci_parse "$PORTICO_SHARED/fixtures/uci"
  say "fuzzing the qaul BLE decoders for ${FUZZ_SECONDS:-60} s"
  fuzz qaul_ble_decode "$PORTICO_SHARED/protocols"
  say "fuzzing the Freifunk summary-file reader for ${FUZZ_SECONDS:-60} s"
  fuzz communities_parse "$PORTICO_SHARED/fixtures/freifunk"
  say "browser tests (Chromium in the lab's client namespace)"
  # The router's browser tests run the router build as it ships: the data site's tests above
  # (`--features mongodb`) left their build at the same path.
  cargo build -p portico
  (cd e2e && PORTICO_BIN="$(portico_bin)" PORTICO_SITE_BIN="$(site_bin)" node --test --test-concurrency=1 --test-timeout=600000 tests/)
  say "the router on aarch64: the static musl build and its .ipk, checked under qemu"
  local ipk aarch64
  ipk=$(cargo xtask package --target aarch64-unknown-linux-musl | tail -n 1)
  aarch64="${CARGO_TARGET_DIR:-$ROOT/target}/aarch64-unknown-linux-musl/release/portico"
  PORTICO_UCI_EXEC="qemu-aarch64-static $aarch64" cargo test -p uci --test conformance --test reference
  PORTICO_EXEC="qemu-aarch64-static $aarch64" cargo test -p portico --test binary
  PORTICO_IPK="$ipk" cargo test -p xtask --test ipk -- --ignored
  after=$(host_snapshot)
  if [ "$before" != "$after" ]; then
    say "the host's own networking changed during the tests:"
    diff <(echo "$before") <(echo "$after") || true
    exit 1
  fi
  say "all tests passed; the host's interfaces, routes, resolv.conf and nft ruleset are unchanged"
}

case "${1:-}" in
  setup) setup ;;
  run) run_main ;;
  test) run_tests ;;
  *) echo "usage: xtask/dev.sh setup|run|test" >&2; exit 2 ;;
esac
