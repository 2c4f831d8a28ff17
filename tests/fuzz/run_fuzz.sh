#!/usr/bin/env bash
# Runs one libFuzzer target for a short time from its seed corpus (copied,
# so the checked-in seeds stay untouched). Fails if the target is missing
# or finds a crash.   usage: run_fuzz.sh <binary> <seed dir> <seconds>
set -euo pipefail
bin=$(realpath "$1") seeds=$(realpath "$2") secs=$3
[ -x "$bin" ] || { echo "fuzz target $bin not built (run make build-fuzz)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds/." "$work/"
cd "$work"
"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$work"
