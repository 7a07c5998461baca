#!/usr/bin/env bash
# Benchmarks of the kit, measured now on this machine; prints figures, judges nothing.
# The machine is noisy: every figure is the median of --runs runs, and the churn
# rate is a ratio against wrk measured in the same run on the same server.
#
#   scripts/bench.sh [--runs N] [--preset release] [--skip-build-time]
#
#   1. HTTP churn (a new connection per request): leaklab's http-churn vs
#      wrk -H "Connection: close", both at 16 connections, on the same clean server.
#   2. WebSocket open/echo/close rate of leaklab's ws-churn against lab 01's fix.
#   3. Time of one verdict (leaklab check) per lab and variant.
#   4. Clean build of the dev preset on this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

runs=3
preset=release
build_time=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --skip-build-time) build_time=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "bench.sh: wrk is missing (scripts/setup.sh installs it)" >&2; exit 2; }

bdir=$root/build/$preset
echo "== building the $preset preset (leaklab, lab servers, the black-box server)"
cmake --preset "$preset" >/dev/null
cmake --build "$bdir" --target leaklab hoard_http lab01-leaky lab01-fixed lab02-leaky lab02-fixed >/dev/null
leaklab=$bdir/bin/leaklab
hoard=$bdir/bin/hoard_http

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# ops per second of the workload time in a leaklab JSON result
rate_of() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["rounds"][1:]; print(round(sum(x["ops"] for x in r)/sum(x["seconds"] for x in r)))' "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d); server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

echo "== 1. HTTP churn, 16 connections at a time, Connection: close ($runs runs each, alternating)"
: > "$tmp/wrk"; : > "$tmp/leaklab"; : > "$tmp/ratio"
for i in $(seq "$runs"); do
  port=$(free_port)
  "$hoard" "$port" & server_pid=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  wrk -t1 -c16 -d5s -H "Connection: close" "http://127.0.0.1:$port/" | awk '/Requests\/sec/ {print int($2)}' >> "$tmp/wrk"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  "$leaklab" probe --cmd "$hoard {port}" --workload http-churn --connections 30000 --concurrency 16 \
    --rounds 9 --quiet --json "$tmp/probe.json" >/dev/null || true
  rate_of "$tmp/probe.json" >> "$tmp/leaklab"
  ratio=$(awk -v a="$(tail -1 "$tmp/leaklab")" -v b="$(tail -1 "$tmp/wrk")" 'BEGIN{printf "%.2f", a/b}')
  echo "$ratio" >> "$tmp/ratio"
  echo "   run $i: wrk $(tail -1 "$tmp/wrk") req/s, leaklab $(tail -1 "$tmp/leaklab") req/s, ratio $ratio"
done
w=$(median < "$tmp/wrk"); l=$(median < "$tmp/leaklab")
echo "   median: wrk $w req/s, leaklab $l req/s; ratio of medians $(awk -v a="$l" -v b="$w" 'BEGIN{printf "%.2f", a/b}'), median of run ratios $(median < "$tmp/ratio")"

echo "== 2. WebSocket open/echo 1 message/close against lab01-fixed ($runs runs)"
: > "$tmp/ws"
for i in $(seq "$runs"); do
  "$leaklab" probe --cmd "$bdir/bin/lab01-fixed --port {port} --metrics-port -1" --workload ws-churn \
    --connections 4000 --concurrency 16 --rounds 9 --quiet --json "$tmp/ws.json" >/dev/null || true
  rate_of "$tmp/ws.json" >> "$tmp/ws"
  echo "   run $i: $(tail -1 "$tmp/ws") connections/s"
done
echo "   median: $(median < "$tmp/ws") WebSocket connections/s"

echo "== 3. Time of one verdict (leaklab check, built already; $runs runs each)"
for lab in 01 02; do
  for variant in leaky fixed; do
    : > "$tmp/t"
    for i in $(seq "$runs"); do
      start=$(date +%s.%N)
      "$leaklab" check "$lab" --variant "$variant" --preset "$preset" --no-build --quiet >/dev/null || true
      end=$(date +%s.%N)
      awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f\n", b-a}' >> "$tmp/t"
    done
    echo "   lab $lab $variant: median $(median < "$tmp/t") s (runs: $(paste -sd' ' "$tmp/t"))"
  done
done

if [ "$build_time" = 1 ]; then
  echo "== 4. Clean build of the dev preset, $(nproc) cores (configure + build everything)"
  bb=$tmp/dev-build
  start=$(date +%s.%N)
  cmake --preset dev -B "$bb" >/dev/null
  cmake --build "$bb" >/dev/null
  end=$(date +%s.%N)
  echo "   $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.0f", b-a}') s for $(ls "$bb"/bin | wc -l) executables"
fi
