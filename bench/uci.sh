#!/usr/bin/env bash
# UCI benchmarks, not part of CI; run before closing UCI work.
#   bench/uci.sh                 parse + write (issue 3): fixture files and 64 KiB .. 4 MiB
#                                generated configs, with a line-count baseline from the same run
#   bench/uci.sh UCI_SOURCE_DIR  also `portico uci` against OpenWrt's C tool (issue 17), built
#                                from that copy of openwrt/uci's source into a temporary folder:
#                                CPU time and peak RSS of the usage, `show` of a one-line file,
#                                `show`/`export` of a 64 KiB and a 1.2 MB config, in the same run,
#                                with the router build (`--release`, default features).
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTICO_SHARED="${PORTICO_SHARED:-$(cd .. && pwd)/shared}"
cargo bench -p uci --bench parse
src=${1:-}
[ -n "$src" ] || exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src" "$tmp/root"
cp "$src"/*.c "$src"/*.h "$tmp/src/"
(cd "$tmp/src" && : > uci_config.h && gcc -O2 -o "$tmp/uci" cli.c libuci.c file.c util.c delta.c parse.c)
# A static launcher: fork, exec, wait4 — the child's own peak RSS and CPU time, nothing of ours.
cat > "$tmp/measure.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
	(void)argc;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	struct rusage ru;
	wait4(pid, &status, 0, &ru);
	printf("%ld %.3f\n", ru.ru_maxrss, (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
	return 0;
}
C
gcc -O2 -static -o "$tmp/measure" "$tmp/measure.c"
# PORTICO_UCI_BIN: a binary to measure instead (bench/footprint.sh: the static musl build).
portico=${PORTICO_UCI_BIN:-}
if [ -z "$portico" ]; then
  cargo build -q --release -p portico
  portico="${CARGO_TARGET_DIR:-target}/release/portico"
fi
portico=$(realpath "$portico")
conf="$tmp/root/etc/config"
mkdir -p "$conf" "$tmp/root/tmp/.uci"
printf "config system 'system'\n" > "$conf/one"
python3 - "$conf" <<'PY'
import sys
conf = sys.argv[1]
for name, size in (("k64", 64 * 1024), ("m1", 1200 * 1024)):
    out, i = [], 0
    while sum(map(len, out)) < size:
        if i % 3 == 0:
            out.append(f"config interface 'if{i}'\n\toption proto 'static'\n\toption ipaddr '10.{i // 256 % 256}.{i % 256}.1'\n\tlist dns '9.9.9.9'\n\tlist dns '149.112.112.112'\n\n")
        else:
            out.append(f"config rule\n\toption name 'Allow-{i} it'\\''s'\n\toption src 'wan'\n\toption dest_port '{i % 65536}'\n\toption target 'ACCEPT'\n\n")
        i += 1
    open(f"{conf}/{name}", "w").write("".join(out))
PY
# Median CPU (ms) and peak RSS (KiB) of 21 runs.
measure() {
  for _ in $(seq 21); do "$tmp/measure" "$@"; done | sort -n -k2 | awk '{rss=($1>rss)?$1:rss; cpu[NR]=$2} END {printf "%d %.2f\n", rss, cpu[11]}'
}
echo
echo "## portico uci vs the C uci (same run; router build; 21 runs, median CPU, peak RSS)"
echo
echo "| command | C uci CPU | Portico CPU | ratio | C uci RSS | Portico RSS | ratio |"
echo "|---|---|---|---|---|---|---|"
for args in "" "show one" "show k64" "export k64" "show m1" "export m1"; do
  # shellcheck disable=SC2086 # the words of $args are the arguments
  read -r c_rss c_cpu < <(measure "$tmp/uci" -c "$conf" -t "$tmp/root/tmp/.uci" $args)
  # shellcheck disable=SC2086
  read -r p_rss p_cpu < <(measure "$portico" --root "$tmp/root" uci $args)
  awk -v a="${args:-(usage)}" -v cc="$c_cpu" -v pc="$p_cpu" -v cr="$c_rss" -v pr="$p_rss" \
    'BEGIN {printf "| `%s` | %.2f ms | %.2f ms | %.1f× | %.1f MiB | %.1f MiB | %.1f× |\n", a, cc, pc, pc/cc, cr/1024, pr/1024, pr/cr}'
done
stat -c %s "$portico" | awk '{printf "\nrouter binary: %.1f MiB\n", $1/1048576}'
