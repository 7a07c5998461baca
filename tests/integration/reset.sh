#!/usr/bin/env bash
# `leaklab reset`: refuses without a terminal unless --yes; restores the student
# files byte for byte; keeps the student's version in the backup it names.
set -u
leaklab=$1; root=$2; lab=$3
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
slug=$(basename "$(ls -d "$root"/labs/"$lab"-*)")
files=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["student_files"]))' "$root/labs/$slug/lab.json")
cp -r "$root/labs/$slug" "$dir/mine"
for f in $files; do printf '\n// my attempt\n' >>"$dir/mine/$f"; cp "$dir/mine/$f" "$dir/edited-$f"; done

out=$("$leaklab" reset "$lab" --source "$dir/mine" </dev/null 2>&1); code=$?
if [ "$code" -ne 2 ] || ! grep -q 'no terminal to ask on, so pass --yes' <<<"$out"; then
  printf 'reset without a terminal and without --yes should refuse (exit 2); got %s:\n%s\n' "$code" "$out"; exit 1
fi
for f in $files; do cmp -s "$dir/mine/$f" "$dir/edited-$f" || { echo "a refused reset changed $f"; exit 1; }; done

out=$("$leaklab" reset "$lab" --source "$dir/mine" --yes 2>&1); code=$?
[ "$code" -eq 0 ] || { printf 'reset --yes failed (%s):\n%s\n' "$code" "$out"; exit 1; }
backup=$(ls -d "$dir/mine/.leaklab-backup"/*/ 2>/dev/null | head -1)
[ -n "$backup" ] && grep -qF "${backup%/}" <<<"$out" || { printf 'reset did not name its backup folder:\n%s\n' "$out"; exit 1; }
for f in $files; do
  cmp "$root/labs/$slug/$f" "$dir/mine/$f" || { echo "$f is not byte-identical to the kit's"; exit 1; }
  cmp "$dir/edited-$f" "$backup/$f" || { echo "the backup of $f is not the student's version"; exit 1; }
done
out=$("$leaklab" reset "$lab" --source "$dir/mine" --yes 2>&1)
grep -q 'already as shipped' <<<"$out" || { printf 'a second reset should find nothing to do:\n%s\n' "$out"; exit 1; }
echo "reset: refused without --yes, restored $files byte for byte, backup in $backup"
