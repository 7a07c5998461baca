#!/bin/sh
# Grading cost at course scale, measured: N students (default 20) each submitting every lab's
# fix, graded in growth mode (and under the tool a lab's manifest also grades, TSan for 09 and
# 21) with --jobs 1 and then --jobs 2. The tool trees a grade needs are built first, by
# grading one student alone (that run is timed too), so neither class run pays for them.
# Each student's copies carry the student's number in a comment: no two submissions are the
# same bytes. Prints one line per run; BENCHMARKS.md section 12 quotes them.
#   scripts/bench-grade-class.sh [N=20] [WORK=/tmp/leaklab-bench-class] [JOBS="1 2"]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20} work=${2:-/tmp/leaklab-bench-class} jobs_list=${3:-"1 2"}
leaklab=$root/build/dev/bin/leaklab
[ -x "$leaklab" ] || { echo "bench-grade-class: build leaklab first (cmake --build --preset dev)" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work/class" "$work/one"

# One student's submission: every lab's fixed files, tagged with the student's id.
submit() {  # submit <dir> <id>
  for d in "$root"/solutions/[0-9][0-9]-*; do
    lab=$(basename "$d")
    mkdir -p "$1/labs/$lab"
    for f in "$d"/*.cpp "$d"/*.hpp; do
      [ -e "$f" ] || continue
      { cat "$f"; printf '\n// submitted by %s\n' "$2"; } > "$1/labs/$lab/$(basename "$f")"
    done
  done
}
submit "$work/one/s00" s00
i=1
while [ "$i" -le "$n" ]; do
  s=$(printf 's%02d' "$i")
  submit "$work/class/$s" "$s"
  i=$((i + 1))
done

summary() {  # summary <label> <out> <start> <end>
  python3 - "$@" <<'PY'
import json, statistics, sys
label, out, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
d = json.load(open(out + "/summary.json")); c = d["checks"]
builds = [x["build_s"] for x in c if x.get("build_s")]
runs = [x["run_s"] for x in c if x.get("run_s")]
full = sum(1 for x in c if x["passed"])
print(f"{label}: {end - start:.0f} s in all ({(end - start) / 60:.1f} min), {len(c)} checks; "
      f"builds {d['build_seconds']:.0f} s, checks {d['check_seconds']:.0f} s; "
      f"build median {statistics.median(builds):.1f} s, max {max(builds):.1f} s; "
      f"check median {statistics.median(runs):.1f} s; {d['disk_bytes'] / len(c) / 2**20:.1f} MiB kept per copy; "
      f"{full} of {len(c)} full marks; {d['notes'][-1] if d.get('notes') else ''}")
for x in c:
    if not x["passed"]:
        print(f"  {x.get('student')} lab {x['lab']}: {x['reason']}")
PY
}

start=$(date +%s.%N)
"$leaklab" grade "$work/one" --out "$work/out-one" --labs all --jobs 2 --quiet --format csv > "$work/one.txt"
end=$(date +%s.%N)
summary "1 student x every lab, --jobs 2 (first: builds the tool trees it needs)" "$work/out-one" "$start" "$end"
for jobs in $jobs_list; do
  start=$(date +%s.%N)
  "$leaklab" grade "$work/class" --out "$work/out-class-$jobs" --labs all --jobs "$jobs" --quiet --format csv > "$work/class-$jobs.txt"
  end=$(date +%s.%N)
  summary "$n students x every lab, --jobs $jobs" "$work/out-class-$jobs" "$start" "$end"
done
