#!/bin/sh
# The command GitHub Classroom's workflow runs (scripts/classroom/grade.sh), on a student
# repository laid out as the handout is, with a correct lab 04: the reporter's runner
# result in $GITHUB_OUTPUT, decoded and checked; and the workflow wires that output to the
# reporter under the runner name it reads.
#   classroom-sim.sh LEAKLAB ROOT DIR
set -eu
leaklab=$1 root=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir/repo/labs/04-upload-api-memory-grows" "$dir/repo/.github/workflows"
cp "$root/solutions/04-upload-api-memory-grows/server.cpp" "$dir/repo/labs/04-upload-api-memory-grows/"
cp "$root/scripts/classroom/classroom.yml" "$dir/repo/.github/workflows/"
echo "notes to self" > "$dir/repo/labs/04-upload-api-memory-grows/TODO.txt"
GITHUB_OUTPUT="$dir/github_output" LEAKLAB_BIN="$leaklab" LEAKLAB_CLASSROOM_HTML="$dir/evidence.html" \
  "$root/scripts/classroom/grade.sh" "$root" "$dir/repo" 04 > "$dir/grade.log" 2>&1 ||
  { cat "$dir/grade.log"; exit 1; }
python3 - "$dir/github_output" "$root/scripts/classroom/classroom.yml" "$dir/evidence.html" <<'PY'
import base64, json, re, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.startswith("result=")]
assert len(lines) == 1, f"expected one result= line in GITHUB_OUTPUT, got {len(lines)}"
r = json.loads(base64.b64decode(lines[0][len("result="):]))
assert r["version"] == 1 and r["status"] == "pass" and r["max_score"] == 10, r
t = r["tests"]
assert len(t) == 1 and t[0]["status"] == "pass" and t[0]["score"] == 10, t
assert t[0]["name"].startswith("lab 04") and t[0]["message"], t
# The reporter reads <RUNNER>_RESULTS for each name in `runners`: the step's id, its
# output and that variable must agree.
y = open(sys.argv[2]).read()
assert re.search(r"id: leaklab\n", y) and "runners: leaklab" in y, "the reporter's runner is not the grading step"
assert 'LEAKLAB_RESULTS: "${{ steps.leaklab.outputs.result }}"' in y, "the reporter is not given the step's result"
assert "scripts/classroom/grade.sh --build kit submission" in y, "the workflow does not run this command"
assert "<html" in open(sys.argv[3]).read().lower(), "no evidence page"
print(f"classroom: {r['status']}, {t[0]['name']}: {t[0]['score']}/{r['max_score']}: {t[0]['message'].splitlines()[0]}")
PY
