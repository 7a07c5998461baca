#!/usr/bin/env bash
# Repeatability, measured: every lab's variants run N times, and the flip table with each
# variant's narrowest margin (leaklab verify --summary). Judges nothing but what verify
# judges: exit 0 when every run came out as expected (0 flips), 1 otherwise.
#
#   scripts/flake-check.sh [--runs N] [--load] [--labs 01,09|all] [--preset P] [--out FILE]
#
#   --runs N    runs of each variant (default 20)
#   --load      a CPU-bound job runs beside the whole check (one busy process, started
#               and stopped by this script, bounded by the check's own length)
#   --labs      which labs (default all)
#   --out FILE  also write the summary table to FILE (and every run's JSON to FILE.json)
#
# Every lab's wrong fixes (tests/wrong-fixes) run here too: verify runs them after the
# leaky and fixed variants, and a wrong fix that is not rejected for its reason is a flip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

runs=20
load=0
labs=all
preset=dev
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --load) load=1; shift ;;
    --labs) labs=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "flake-check.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*) echo "flake-check.sh: --runs wants a whole number" >&2; exit 2 ;; esac

echo "== building the $preset preset"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" >/dev/null
leaklab=$root/build/$preset/bin/leaklab

tmp=$(mktemp -d)
hog=""
cleanup() {
  if [ -n "$hog" ]; then kill -- "-$hog" 2>/dev/null || kill "$hog" 2>/dev/null || true; wait "$hog" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ "$load" = 1 ]; then
  # One busy process in its own process group, capped at 6 hours whatever happens to this script.
  setsid timeout 6h sh -c 'while :; do :; done' & hog=$!
  echo "== load: a CPU-bound job beside the check (pid $hog)"
fi

started=$(date +%s)
echo "== leaklab verify $labs --runs $runs$([ "$load" = 1 ] && echo ' (under load)')"
set +e
"$leaklab" verify "$labs" --runs "$runs" --summary --quiet --no-build --json "$tmp/runs.json" > "$tmp/verify.log" 2>&1
rc=$?
set -e
elapsed=$(( $(date +%s) - started ))

# Every run's line is in the log; the table is what matters here.
grep -E '^FAIL ' "$tmp/verify.log" || true
sed -n '/^lab  variant/,$p' "$tmp/verify.log"
flips=$(awk '/^lab  variant/ {t=1; next} /^narrowest margins/ {t=0} t && NF > 4 && $1 ~ /^[0-9][0-9]$/ {s += $5} END {print s+0}' "$tmp/verify.log")
echo "flips: $flips over $(grep -cE '^(ok|FAIL) ' "$tmp/verify.log") runs in ${elapsed} s$([ "$load" = 1 ] && echo ', under load')"
if [ -n "$out" ]; then
  { echo "# scripts/flake-check.sh --runs $runs$([ "$load" = 1 ] && echo ' --load') --labs $labs ($(git describe --always --dirty 2>/dev/null || echo "no git"), $(date -u +%F))"
    sed -n '/^lab  variant/,$p' "$tmp/verify.log"
    echo "flips: $flips in ${elapsed} s"; } > "$out"
  cp "$tmp/runs.json" "$out.json"
fi
if [ "$rc" -gt 1 ]; then
  echo "flake-check.sh: leaklab verify failed to run (exit $rc):" >&2
  tail -20 "$tmp/verify.log" >&2
  exit 2
fi
[ "$flips" = 0 ]
