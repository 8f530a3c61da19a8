#!/usr/bin/env bash
# UCI parse + write benchmark (issue 3): fixture files and 64 KiB .. 1 MiB generated configs,
# with a line-count baseline from the same run. Not part of CI; run before closing UCI work.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTICO_SHARED="${PORTICO_SHARED:-$(cd .. && pwd)/shared}"
exec cargo bench -p uci --bench parse "$@"
