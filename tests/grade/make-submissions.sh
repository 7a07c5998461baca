#!/bin/sh
# Builds the fixture submissions folder for `leaklab grade`: one student per way a
# submission can go right or wrong, all on lab 04. Usage: make-submissions.sh ROOT OUT
set -eu
root=$1 out=$2
lab=$(cd "$root/labs" && ls -d 04-*)
rm -rf "$out"
student() { mkdir -p "$out/$1/labs/$lab" && cp "$2" "$out/$1/labs/$lab/server.cpp"; }
student correct "$root/solutions/$lab/server.cpp"
student unchanged "$root/labs/$lab/server.cpp"
student wrong-fix "$root/solutions/$lab/server.cpp"
patch --quiet --fuzz=0 -d "$out/wrong-fix/labs/$lab" -p1 < "$root/tests/wrong-fixes/$lab/line-only.patch"
for p in "$root"/tests/grade/students/*.patch; do
  name=$(basename "$p" .patch)
  student "$name" "$root/solutions/$lab/server.cpp"
  patch --quiet --fuzz=0 -d "$out/$name/labs/$lab" -p1 < "$p"
done
# Something that is not a lab's student file: reported, never built.
echo "my notes" > "$out/correct/NOTES.txt"
