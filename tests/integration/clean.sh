#!/usr/bin/env bash
# `leaklab clean`: on a build tree of its own (a stand-in with two student trees of
# known size), --dry-run removes nothing; clean removes both and reports what it freed.
set -u
leaklab=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
tree=$dir/build
mkdir -p "$tree/student/01-mine-1" "$tree/student/10-mine-2" "$tree/bin"
echo '{}' >"$tree/leaklab-build.json"
head -c 3145728 /dev/urandom >"$tree/student/01-mine-1/big.o"
head -c 1048576 /dev/urandom >"$tree/student/10-mine-2/big.o"
echo keep >"$tree/bin/keep"
out=$("$leaklab" clean --build-dir "$tree" --dry-run 2>&1); code=$?
if [ "$code" -ne 0 ] || ! grep -q 'dry run: nothing removed' <<<"$out" || [ ! -f "$tree/student/01-mine-1/big.o" ]; then
  printf 'clean --dry-run should remove nothing; got %s:\n%s\n' "$code" "$out"; exit 1
fi
# One lab's trees only: lab 10's goes, lab 01's stays.
out=$("$leaklab" clean 10 --build-dir "$tree" 2>&1); code=$?
if [ "$code" -ne 0 ] || ! grep -Eq 'removed 1 student build tree, freed 1\.[0-9] MiB' <<<"$out" \
   || [ -d "$tree/student/10-mine-2" ] || [ ! -d "$tree/student/01-mine-1" ]; then
  printf 'clean 10 should remove lab 10'"'"'s tree only; got %s:\n%s\n' "$code" "$out"; exit 1
fi
mkdir -p "$tree/student/10-mine-2"; head -c 1048576 /dev/urandom >"$tree/student/10-mine-2/big.o"
out=$("$leaklab" clean --build-dir "$tree" 2>&1); code=$?
if [ "$code" -ne 0 ] || ! grep -Eq 'removed 2 student build trees, freed 4\.[0-9] MiB' <<<"$out"; then
  printf 'clean should remove 2 trees and free about 4 MiB; got %s:\n%s\n' "$code" "$out"; exit 1
fi
[ -z "$(ls -A "$tree/student")" ] || { echo "student trees are still there"; exit 1; }
[ -f "$tree/bin/keep" ] || { echo "clean removed something outside student/"; exit 1; }
out=$("$leaklab" clean --build-dir "$dir" 2>&1); code=$?
[ "$code" -eq 2 ] || { printf 'clean on a folder that is not a build tree should refuse; got %s:\n%s\n' "$code" "$out"; exit 1; }
echo "$out" | head -3
echo "clean: dry run kept everything; clean freed the student trees only"
