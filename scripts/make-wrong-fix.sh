#!/usr/bin/env bash
# Record a wrong fix: the change from lab NN's solution to the student files in DIR, as
# tests/wrong-fixes/NN-slug/NAME.patch (describe it in fixtures.json beside it).
#
#   scripts/make-wrong-fix.sh 01 no-heartbeat ~/lab01-cheat
#
# Start DIR as a copy of solutions/NN-slug, edit it into the cheat, then run this.
set -euo pipefail
if [ $# -ne 3 ]; then sed -n '2,7p' "$0" >&2; exit 2; fi
root=$(cd "$(dirname "$0")/.." && pwd)
lab=$(cd "$root/labs" && ls -d "$1"-* 2>/dev/null | head -1)
[ -n "$lab" ] || { echo "make-wrong-fix: no lab $1 in $root/labs" >&2; exit 2; }
name=$2 dir=$3
[[ "$name" =~ ^[a-z0-9-]+$ ]] || { echo "make-wrong-fix: NAME is lower-case letters, digits and '-'" >&2; exit 2; }
files=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["student_files"]))' "$root/labs/$lab/lab.json")
out="$root/tests/wrong-fixes/$lab/$name.patch"
mkdir -p "$(dirname "$out")"
: > "$out.tmp"
for f in $files; do
  # diff exits 1 when the files differ: that is the point
  diff -u --label "a/$f" --label "b/$f" "$root/solutions/$lab/$f" "$dir/$f" >> "$out.tmp" || [ $? -eq 1 ]
done
[ -s "$out.tmp" ] || { rm -f "$out.tmp"; echo "make-wrong-fix: $dir has the solution's files unchanged" >&2; exit 1; }
mv "$out.tmp" "$out"
echo "wrote $out ($(grep -c '^[-+][^-+]' "$out") changed lines); describe it in $(dirname "$out")/fixtures.json"
