#!/usr/bin/env bash
# Build the HTML report from real runs, from a fresh clone: configure and build the dev
# preset if needed, then run every lab's leaky and fixed variants into one file.
#
#   scripts/build-report.sh [--labs 01,05] [--out DIR] [--preset P]
#
# Default output: build/<preset>/leaklab-report/report.html. Everything after the
# script's own options goes to `leaklab report` unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=dev
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=${2:?--preset needs a name}; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ ! -x "build/$preset/bin/leaklab" ]; then
  echo "build-report: building the $preset preset first (cmake --preset $preset && cmake --build --preset $preset)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
fi
start=$(date +%s)
"build/$preset/bin/leaklab" report --preset "$preset" "${args[@]}"
echo "build-report: done in $(( $(date +%s) - start )) s"
