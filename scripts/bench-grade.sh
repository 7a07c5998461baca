#!/bin/sh
# Grading cost, measured: a class of N students on one lab (half submit the fix, half the
# leaky code) graded with --jobs 1 and --jobs 2, and one student submitting every lab's fix.
# Prints the times and the disk kept; BENCHMARKS.md quotes its output.
#   scripts/bench-grade.sh [N=20] [LAB=04] [WORK=/tmp/leaklab-bench-grade]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20} lab=${2:-04} work=${3:-/tmp/leaklab-bench-grade}
leaklab=$root/build/dev/bin/leaklab
slug=$(cd "$root/labs" && ls -d "$lab"-*)
rm -rf "$work" && mkdir -p "$work/class" "$work/all/student"
i=1
while [ "$i" -le "$n" ]; do
  s=$(printf 's%02d' "$i")
  mkdir -p "$work/class/$s/labs/$slug"
  if [ $((i % 2)) -eq 0 ]; then src=$root/labs/$slug; else src=$root/solutions/$slug; fi
  cp "$src"/*.cpp "$src"/*.hpp "$work/class/$s/labs/$slug/" 2>/dev/null || true
  i=$((i + 1))
done
for d in "$root"/solutions/[0-9][0-9]-*; do
  mkdir -p "$work/all/student/labs/$(basename "$d")"
  cp "$d"/*.cpp "$d"/*.hpp "$work/all/student/labs/$(basename "$d")/" 2>/dev/null || true
done
for jobs in 1 2; do
  start=$(date +%s.%N)
  "$leaklab" grade "$work/class" --out "$work/out-class-$jobs" --jobs "$jobs" --quiet --format csv > "$work/class-$jobs.txt"
  end=$(date +%s.%N)
  python3 - "$work/out-class-$jobs/summary.json" "$start" "$end" "$n" "$lab" "$jobs" <<'PY'
import json, sys, statistics
d = json.load(open(sys.argv[1])); c = d["checks"]
print(f"{sys.argv[4]} students x lab {sys.argv[5]}, --jobs {sys.argv[6]}: {float(sys.argv[3]) - float(sys.argv[2]):.0f} s in all "
      f"(builds {d['build_seconds']:.0f} s, checks {d['check_seconds']:.0f} s); median build {statistics.median(x['build_s'] for x in c):.1f} s, "
      f"median check {statistics.median(x['run_s'] for x in c):.1f} s; {d['disk_bytes'] / len(c) / 2**20:.1f} MiB kept per copy; "
      f"scores: {sum(1 for x in c if x['passed'])} full, {sum(1 for x in c if not x['passed'])} zero; {d['notes'][-1] if sys.argv[6] != '1' else ''}")
PY
done
start=$(date +%s.%N)
"$leaklab" grade "$work/all" --out "$work/out-all" --labs all --jobs 2 --quiet --format csv > "$work/all.txt"
end=$(date +%s.%N)
python3 - "$work/out-all/summary.json" "$start" "$end" <<'PY'
import json, sys, statistics
d = json.load(open(sys.argv[1])); c = d["checks"]
print(f"1 student x {len(c)} labs (every fix), --jobs 2: {float(sys.argv[3]) - float(sys.argv[2]):.0f} s in all "
      f"(builds {d['build_seconds']:.0f} s, checks {d['check_seconds']:.0f} s); build per lab: median "
      f"{statistics.median(x['build_s'] for x in c):.1f} s, max {max(x['build_s'] for x in c):.1f} s; "
      f"{d['disk_bytes'] / len(c) / 2**20:.1f} MiB kept per copy; {sum(1 for x in c if x['passed'])} of {len(c)} full marks")
for x in c:
    if not x["passed"]:
        print(f"  lab {x['lab']}: {x['reason']}")
PY
