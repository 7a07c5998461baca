#!/usr/bin/env bash
# What a student reads names the symptom, never the diagnosis: `leaklab list`, the
# header of `check`, each lab's README and the lab.json a student copies hold no lab's
# "diagnosis" and no "The principle" section; the principle is behind the last hint
# level. The diagnosis, principle, spoiler words and upstream bugs live in
# solutions/NN-slug/instructor.json.
set -u
leaklab=$1; root=$2
list=$("$leaklab" list 2>&1) || { echo "leaklab list failed:"; echo "$list"; exit 1; }
fail=0
for manifest in "$root"/labs/[0-9][0-9]-*/lab.json; do
  dir=$(dirname "$manifest")
  instructor="$root/solutions/$(basename "$dir")/instructor.json"
  leaked=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(" ".join(k for k in ("summary","diagnosis","spoilers","principle","upstream") if k in m))' "$manifest")
  [ -z "$leaked" ] || { echo "$manifest holds instructor fields a student copies: $leaked"; fail=1; }
  [ -f "$instructor" ] || { echo "lab $(basename "$dir") has no $instructor"; fail=1; continue; }
  read -r id hints < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["id"], len(m.get("hints",[])))' "$manifest")
  diagnosis=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("diagnosis","-"))' "$instructor")
  [ "$diagnosis" = "-" ] && { echo "lab $id has no diagnosis field"; fail=1; continue; }
  if grep -qF -- "$diagnosis" <<<"$list"; then echo "leaklab list names lab $id's diagnosis ($diagnosis)"; fail=1; fi
  if grep -qF -- "$diagnosis" "$dir/README.md"; then echo "lab $id's README names its diagnosis ($diagnosis)"; fail=1; fi
  if grep -q '^## The principle' "$dir/README.md"; then echo "lab $id's README still has its principle"; fail=1; fi
  out=$("$leaklab" hint "$id" --level $((hints + 1)) 2>&1)
  grep -q "the principle behind lab $id" <<<"$out" || { echo "hint $id --level $((hints + 1)) does not give the principle: $out"; fail=1; }
done

# Words that name a lab's defect or its fix (instructor.json "spoilers", taken from its hints
# 2 and 3, its principle and its solution): none may appear anywhere in its README or its
# contract,
# since a student reads "What the tools see" and "In the wild" before fixing too.
# Matched as whole words, case-insensitively, across line breaks. The premise a README
# has to state (lab 17's deflateInit2, lab 18's 422s) is not listed. A lab with no
# spoiler words fails: a new lab needs them.
for manifest in "$root"/labs/[0-9][0-9]-*/lab.json; do
  dir=$(dirname "$manifest")
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$manifest")
  instructor="$root/solutions/$(basename "$dir")/instructor.json"
  mapfile -t ws < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1])).get("spoilers", [])))' "$instructor")
  [ "${#ws[@]}" -eq 0 ] || [ -z "${ws[0]}" ] && { echo "lab $id has no \"spoilers\" in $instructor"; fail=1; continue; }
  text=$(tr '\n' ' ' < "$dir/README.md" | tr -s ' ')
  for w in "${ws[@]}"; do
    if grep -qiwF -- "$w" <<<"$text"; then echo "lab $id's README names its defect or fix: \"$w\""; fail=1; fi
  done
  # The contract a student reads (`leaklab contract`, lab.json's promises) says what to keep doing, not how to fix.
  contract=$("$leaklab" contract "$id" 2>&1 | tr '\n' ' ')
  for w in "${ws[@]}"; do
    if grep -qiwF -- "$w" <<<"$contract"; then echo "lab $id's contract names its defect or fix: \"$w\""; fail=1; fi
  done
done
[ "$fail" -eq 0 ] && echo "list, READMEs, contracts and hints: no diagnosis before the last hint level; no README or contract names its lab's defect or fix"
exit "$fail"
