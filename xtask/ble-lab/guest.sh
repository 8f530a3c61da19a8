#!/bin/sh
# Inside the BLE lab VM (started by xtask/ble-lab.sh): D-Bus, virtual LE controllers on one
# virtual air (btvirt), bluetoothd, then the Python driver that runs two Portico instances on
# two of them.
set -eu
OUT=$1
BIN=$2
modprobe hci_vhci
mkdir -p /run/dbus /var/lib/bluetooth
dbus-daemon --system --fork --nopidfile
btvirt -L -l3 > "$OUT/btvirt.log" 2>&1 &
for _ in $(seq 100); do [ -e /sys/class/bluetooth/hci2 ] && break; sleep 0.2; done
# Under software emulation the first controller's reset can time out (dmesg: "Opcode 0x0c03
# failed: -110") and the kernel leaves it out: three are made, two are used.
sleep 3
for _ in $(seq 20); do
  [ "$(btmgmt info | grep -c 'Primary controller' || true)" -ge 2 ] && break
  sleep 1
done
set -- "$OUT" "$BIN" $(btmgmt info | sed -n 's/^\(hci[0-9]*\):.*Primary controller.*/\1/p' | sort | head -2)
echo "controllers used: $3 $4"
/usr/libexec/bluetooth/bluetoothd -n > "$OUT/bluetoothd.log" 2>&1 &
for _ in $(seq 120); do
  [ "$(bluetoothctl list | grep -c Controller || true)" -ge 2 ] && break
  sleep 0.5
done
bluetoothctl list
exec python3 "$(dirname "$0")/driver.py" "$@"
