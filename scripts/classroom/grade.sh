#!/bin/bash
# GitHub Classroom: one student's repository graded by the kit, for Classroom's autograding
# reporter. The workflow (scripts/classroom/classroom.yml, the handout's
# .github/workflows/classroom.yml) runs this; run it locally to see what a push scores:
#   scripts/classroom/grade.sh [--build] KIT SUBMISSION [LABS]
# KIT         a checkout of the kit that grades: the instructor's, with solutions/, so the
#             points and the tool checks come from each lab's instructor.json
# SUBMISSION  the student's repository: only its labs/NN-slug/<student files> are taken
# LABS        01,04 or all (default: all)
# --build     configure and build KIT first (only the labs graded, the harness, labkit)
# The checks are printed; result=<base64 JSON> (the reporter's runner result) is written to
# $GITHUB_OUTPUT, or to stdout when it is not set. A grader that fails still reports, as
# status "error" with its output, never as nothing.
set -uo pipefail
build=0
[ "${1:-}" = "--build" ] && { build=1; shift; }
[ $# -ge 2 ] || { echo "usage: scripts/classroom/grade.sh [--build] KIT SUBMISSION [LABS]" >&2; exit 2; }
kit=$(cd "$1" && pwd) || exit 2
sub=$(cd "$2" && pwd) || exit 2
labs=${3:-all}
[ -n "$labs" ] || labs=all
leaklab=${LEAKLAB_BIN:-$kit/build/dev/bin/leaklab}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$build" = 1 ]; then
  cfg=()
  [ "$labs" = all ] || cfg=(-DLEAKLAB_LABS="${labs//,/;}")
  (cd "$kit" && cmake --preset dev "${cfg[@]}" -DLEAKLAB_BUILD_TESTS=OFF -DLEAKLAB_WRONG_FIXES=OFF >/dev/null &&
     cmake --build build/dev --target leaklab labkit leaklab_pch >/dev/null) ||
    { echo "classroom: building the kit in $kit failed" >&2; exit 1; }
fi

# One student, whose folder holds the repository's lab folders (nothing else is read).
mkdir -p "$work/submissions/student"
if [ -d "$sub/labs" ]; then
  cp -r "$sub/labs" "$work/submissions/student/"
fi
"$leaklab" grade "$work/submissions" --out "$work/out" --labs "$labs" --format classroom,html --quiet > "$work/grade.log" 2>&1
rc=$?
cat "$work/grade.log"
result=$work/out/classroom/student/results.json
if [ ! -f "$result" ]; then
  result=$work/error.json
  python3 - "$work/grade.log" "$rc" > "$result" <<'PY'
import json, sys
log = open(sys.argv[1], errors="replace").read()[-4000:]
print(json.dumps({"version": 1, "status": "error", "max_score": 0,
                  "tests": [{"name": "leaklab grade", "status": "error", "score": 0,
                             "message": f"leaklab grade failed (exit {sys.argv[2]}):\n{log}"}]}))
PY
fi
# The evidence page, for the workflow to keep as an artifact.
[ -n "${LEAKLAB_CLASSROOM_HTML:-}" ] && [ -f "$work/out/index.html" ] && cp "$work/out/index.html" "$LEAKLAB_CLASSROOM_HTML"
line="result=$(base64 -w0 < "$result")"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "$line" >> "$GITHUB_OUTPUT"
else
  echo "$line"
fi
