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
echo "student copy: leaky -> LEAK, fixed -> CLEAN"
