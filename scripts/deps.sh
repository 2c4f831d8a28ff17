#!/usr/bin/env bash
# Installs the Debian 12 packages Custody needs, only those that are missing.
#   scripts/deps.sh          build + run
#   scripts/deps.sh test     also what the tests need (real peers and clients)
#   scripts/deps.sh bench    also what the benchmarks need
# Idempotent: a second run installs nothing. Uses sudo when not root.
set -euo pipefail

build_pkgs=(
  g++ cmake ninja-build ccache pkg-config make git
  libboost1.74-dev libssl-dev libsqlite3-dev libcurl4-openssl-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libre2-dev libsodium-dev libarchive-dev libpqxx-dev
  libgtest-dev libgmock-dev   # CMake configures the unit tests too, even for `make run`
)
# What the README's tour uses against a running server.
tour_pkgs=( curl skopeo python3 )
test_pkgs=(
  docker-registry openssl podman
  clang-14 libclang-rt-14-dev
)
bench_pkgs=( wrk apache2-utils nginx-light libbenchmark-dev )

want=("${build_pkgs[@]}" "${tour_pkgs[@]}")
case "${1:-}" in
  test)  want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  "")    ;;
  *) echo "usage: $0 [test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}"
# Package scripts must not start services (docker-registry and nginx would
# grab port 5000/80): tests start their own instances on free ports.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  made_policy=1
fi
trap '[ $made_policy -eq 1 ] && $sudo rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for svc in docker-registry nginx; do
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi
