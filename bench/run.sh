#!/usr/bin/env bash
# Side-by-side benchmarks: Custody vs CNCF Distribution 2.8 (Debian's
# docker-registry) vs the machine's own limits (dd, page cache, nginx), then
# the custody log's appends and proofs.
# Usage: bench/run.sh [--quick]   (make bench installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
python3 bench/registry_bench.py --custody build/src/custody --shared ../shared --out bench/results/registry.md "$@"
tree=10000000
[ "${1:-}" = "--quick" ] && tree=1000000
cmake --build build --target log_bench
./build/bench/log_bench --dir "$(mktemp -d -p .)" --tree-size "$tree" | tee bench/results/log.md
