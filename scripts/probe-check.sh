#!/usr/bin/env bash
# Probe on servers it was not tuned on, measured: the sensitivity table (hoard_http keeping
# N bytes per request, with and without the heap agent) and the false-alarm count on a
# clean set (servers that keep nothing, a bounded cache, a 5 s read deadline under stall,
# Debian's nginx in both modes under churn and stall, Python's http.server) over N runs
# each. Prints both tables; exit 0 when every hoard N >= 64 is LEAK, N = 0 CLEAN, and no
# clean server was ever called anything but CLEAN.
#
#   scripts/probe-check.sh [--runs N] [--stall-runs N] [--preset P] [--out FILE]
#
#   --runs N        runs of each clean server (default 20)
#   --stall-runs N  runs of the clean servers under stall (default: --runs); each takes
#                   about 65 s, twelve rounds of waiting out a 5 s deadline, and the three
#                   stall servers run at once, beside the churn runs
#   --out FILE  also write both tables to FILE (markdown) and every run's JSON beside it
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=20 stall_runs="" preset=dev out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --stall-runs) stall_runs=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "probe-check.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
stall_runs=${stall_runs:-$runs}
case "$runs$stall_runs" in ''|*[!0-9]*) echo "probe-check.sh: --runs and --stall-runs want whole numbers" >&2; exit 2 ;; esac

echo "== building the $preset preset"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" >/dev/null
bin=$root/build/$preset/bin
leaklab=$bin/leaklab hoard=$bin/hoard_http
fixtures=$root/tests/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
started=$(date +%s)

# One probe run: NAME WORKLOAD CMD [probe options...]; its JSON goes to $tmp/NAME.N.json.
probe() {
  local name=$1 workload=$2 cmd=$3; shift 3
  local i=$(( $(ls "$tmp" | grep -c "^$name\.[0-9]*\.json\$" || true) + 1 ))
  local nginx_dir=""
  if [[ "$cmd" == *NGINXDIR* ]]; then nginx_dir=$(mktemp -d "$tmp/nginx.XXXX"); cmd=${cmd//NGINXDIR/$nginx_dir}; fi
  "$leaklab" probe --cmd "$cmd" --workload "$workload" --quiet --json "$tmp/$name.$i.json" "$@" > "$tmp/$name.$i.log" 2>&1 || true
  [ -n "$nginx_dir" ] && rm -rf "$nginx_dir"
  return 0
}

echo "== sensitivity: hoard_http --hoard N, http-churn, default settings"
for n in 0 32 64 128 256 512 1024; do
  probe "hoard-$n-agent" http-churn "$hoard {port} --hoard $n"
  probe "hoard-$n-noagent" http-churn "$hoard {port} --hoard $n" --no-agent
done

echo "== clean set: $runs runs each ($stall_runs under stall)"
# The stall servers spend their time waiting out a 5 s deadline, not computing: their runs
# go three at a time, beside the churn runs, each server's runs one after another.
(
  for i in $(seq "$stall_runs"); do
    probe clean-deadline-5s-stall stall "$hoard {port} --read-timeout-ms 5000" &
    probe clean-nginx-single-stall stall "$fixtures/nginx-loopback.sh {port} single NGINXDIR" &
    probe clean-nginx-workers-stall stall "$fixtures/nginx-loopback.sh {port} workers NGINXDIR" &
    wait
  done
) &
stall_pid=$!
for i in $(seq "$runs"); do
  probe clean-hoard-0 http-churn "$hoard {port}"
  probe clean-bounded-cache http-churn "$hoard {port} --hoard 1024 --keep 1000"
  probe clean-nginx-single http-churn "$fixtures/nginx-loopback.sh {port} single NGINXDIR"
  probe clean-nginx-workers http-churn "$fixtures/nginx-loopback.sh {port} workers NGINXDIR"
  probe clean-python http-churn "python3 $fixtures/py_http_server.py {port}"
  printf '\r   %s of %s churn runs' "$i" "$runs" >&2
done
printf '\n   waiting for the stall runs\n' >&2
wait "$stall_pid"
echo >&2
elapsed=$(( $(date +%s) - started ))

set +e
python3 - "$tmp" "$runs" "$elapsed" > "$tmp/tables.md" <<'PY'
import glob, json, os, statistics, sys
tmp, runs, elapsed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(name):
    out = []
    for f in sorted(glob.glob(os.path.join(tmp, name + ".*.json"))):
        with open(f) as fh:
            out.append(json.load(fh))
    return out
def metric(r, name):
    return next((m for m in r.get("metrics", []) if m["name"] == name), None)
ok = True
print("| N (bytes kept per request) | " + " | ".join(str(n) for n in (0, 32, 64, 128, 256, 512, 1024)) + " |")
print("|---|" + "---|" * 7)
rows = {}
for mode in ("agent", "noagent"):
    for n in (0, 32, 64, 128, 256, 512, 1024):
        r = load(f"hoard-{n}-{mode}")
        rows[(mode, n)] = r[0] if r else {"verdict": "missing"}
def cell(mode, key):
    cells = []
    for n in (0, 32, 64, 128, 256, 512, 1024):
        r = rows[(mode, n)]
        m = metric(r, key) if key not in ("verdict", "ops", "seconds") else None
        if key == "verdict":
            cells.append(r["verdict"].upper())
        elif key == "ops":
            cells.append(str(r.get("ops_total", "-")))
        elif key == "seconds":
            cells.append(f'{r.get("duration_s", 0):.1f}')
        elif m is None:
            cells.append("-")
        elif key.endswith("p"):
            cells.append(f'{m["p_value"]:.1g}')
        else:
            cells.append(f'{m["slope_per_op"]:.1f}')
    return " | ".join(cells)
for mode, label in (("agent", "with the agent"), ("noagent", "--no-agent")):
    print(f"| **{label}**: heap slope (B/op) | {cell(mode, 'heap_bytes')} |")
    print(f"| rss slope (B/op) | {cell(mode, 'rss_bytes')} |")
    print(f"| operations run | {cell(mode, 'ops')} |")
    print(f"| seconds | {cell(mode, 'seconds')} |")
    print(f"| verdict | {cell(mode, 'verdict')} |")
    for n in (0, 32, 64, 128, 256, 512, 1024):
        v = rows[(mode, n)]["verdict"]
        if (n == 0 and v != "clean") or (n >= 64 and v != "leak"):
            ok = False
print()
print(f"| clean server | runs | CLEAN | LEAK | INCONCLUSIVE | ERROR | extended | median s | max s |")
print("|---|---|---|---|---|---|---|---|---|")
total_alarms = 0
for name in ("clean-hoard-0", "clean-bounded-cache", "clean-deadline-5s-stall", "clean-nginx-single",
             "clean-nginx-workers", "clean-nginx-single-stall", "clean-nginx-workers-stall", "clean-python"):
    rs = load(name)
    count = lambda v: sum(1 for r in rs if r["verdict"] == v)
    ext = sum(1 for r in rs if any(n.startswith("extended") for n in r.get("notes", [])))
    secs = [r.get("duration_s", 0) for r in rs]
    alarms = len(rs) - count("clean")
    total_alarms += alarms
    if alarms:
        ok = False
    print(f"| {name[6:]} | {len(rs)} | {count('clean')} | {count('leak')} | {count('inconclusive')} | {count('error')} | "
          f"{ext} | {statistics.median(secs) if secs else 0:.1f} | {max(secs) if secs else 0:.1f} |")
print()
print(f"false alarms (any verdict but CLEAN): {total_alarms}; {elapsed} s in all")
sys.exit(0 if ok else 1)
PY
rc=$?
set -e
cat "$tmp/tables.md"
if [ -n "$out" ]; then
  { echo "# scripts/probe-check.sh --runs $runs --stall-runs $stall_runs ($(git describe --always --dirty 2>/dev/null || echo "no git"), $(date -u +%F))"; echo; cat "$tmp/tables.md"; } > "$out"
  mkdir -p "$out.runs" && cp "$tmp"/*.json "$out.runs/"
fi
exit $rc
