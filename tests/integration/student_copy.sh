#!/usr/bin/env bash
# The student path: copy a lab's files to a folder of one's own, check the copy.
# The shipped (leaky) files must be flagged, the solution's files must be clean.
set -u
leaklab=$1; root=$2; lab=$3
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
slug=$(basename "$(ls -d "$root"/labs/"$lab"-*)")
cp -r "$root/labs/$slug" "$dir/mine"
"$leaklab" check "$lab" --source "$dir/mine" -q; code=$?
[ "$code" -eq 1 ] || { echo "the student's untouched copy should be LEAK (exit 1), got $code"; exit 1; }
cp "$root/solutions/$slug"/* "$dir/mine/"
"$leaklab" check "$lab" --source "$dir/mine" -q; code=$?
[ "$code" -eq 0 ] || { echo "the copy with the solution's files should be CLEAN (exit 0), got $code"; exit 1; }
# compare --source draws the copy over leaky and fixed: a third line on every chart.
charts=$dir/charts
"$leaklab" compare "$lab" --source "$dir/mine" --out "$charts" -q > "$dir/compare.txt"; code=$?
[ "$code" -eq 0 ] || { echo "compare --source with the solution's files should exit 0, got $code"; cat "$dir/compare.txt"; exit 1; }
grep -q '^yours: CLEAN' "$dir/compare.txt" || { echo "compare --source did not report the copy's verdict:"; cat "$dir/compare.txt"; exit 1; }
for svg in "$charts"/*.svg; do
  [ "$(grep -c '<polyline' "$svg")" -eq 3 ] || { echo "$svg: expected 3 lines (leaky, fixed, yours)"; exit 1; }
  grep -q '>yours<' "$svg" || { echo "$svg: no legend entry for the copy"; exit 1; }
done
# Put the shipped files back with their old times (cp -p, as a restored backup would):
# they are older than the binary, yet the check must judge them, not the stale build.
for f in "$root/solutions/$slug"/*.cpp "$root/solutions/$slug"/*.hpp; do
  [ -f "$f" ] && cp -p "$root/labs/$slug/$(basename "$f")" "$dir/mine/"
done
"$leaklab" check "$lab" --source "$dir/mine" -q > "$dir/stale.txt" 2>&1; code=$?
[ "$code" -eq 1 ] || { echo "the shipped files put back with old times should be LEAK (exit 1), got $code (a stale binary?)"; tail -3 "$dir/stale.txt"; exit 1; }
echo "student copy: leaky -> LEAK, fixed -> CLEAN, shipped files back with old times -> LEAK; compare --source draws it over both ($(ls "$charts" | wc -l) charts)"
