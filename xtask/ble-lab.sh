#!/usr/bin/env bash
# The BLE VM lab (issue 8; design.md "Bluetooth"): this kernel has no Bluetooth, so a QEMU guest
# booting Debian's stock kernel (software emulation, --disable-kvm) runs two virtual LE
# controllers on one virtual air (btvirt -L -l2) under real bluetoothd, and two Portico
# instances, one per controller, exchange messages in both qaul generations
# (xtask/ble-lab/driver.py says what is checked). Output: target/ble-lab/ (logs, peer tables).
# Usage: xtask/ble-lab.sh   (as root; installs what it needs; ~5 min with TCG)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
need=()
for p in qemu-system-x86 linux-image-amd64 bluez bluez-test-tools busybox-static; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
command -v vng >/dev/null || pip install -q virtme-ng
# Optimised: password hashing and the web pages in a debug build are very slow under TCG.
cargo build -q --profile measure -p portico
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/measure/portico"
OUT="$ROOT/target/ble-lab"
rm -rf "$OUT" && mkdir -p "$OUT"
KERNEL=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -1)
exec vng -r "$KERNEL" --disable-kvm --memory 2G --cpus 2 --rwdir "$OUT" -- \
  "$ROOT/xtask/ble-lab/guest.sh" "$OUT" "$BIN"
