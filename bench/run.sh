#!/usr/bin/env bash
# Side-by-side benchmarks: Custody vs CNCF Distribution 2.8 (Debian's
# docker-registry) vs the machine's own limits (dd, page cache, nginx).
# Usage: bench/run.sh [--quick]   (make bench installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/registry_bench.py --custody build/src/custody --shared ../shared "$@"
