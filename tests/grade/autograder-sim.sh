#!/bin/sh
# Simulates Gradescope's layout for `leaklab autograder-bundle`, end to end, in DIR:
# the bundle unzipped into DIR/autograder/source, a submission (lab 04's files at the
# top) in DIR/autograder/submission, run_autograder, and results.json checked.
#   autograder-sim.sh LEAKLAB ROOT DIR FILE SCORE [standalone]
# FILE is the submitted server.cpp, SCORE the score it must get. With "standalone", the
# bundle's setup.sh builds its own kit first (minutes) and run_autograder uses that;
# otherwise it uses LEAKLAB (this tree's).
set -eu
leaklab=$1 root=$2 dir=$3 file=$4 score=$5 mode=${6:-}
rm -rf "$dir" && mkdir -p "$dir/autograder/source" "$dir/autograder/submission"
"$leaklab" autograder-bundle --labs 04 --out "$dir/autograder.zip" --root "$root"
(cd "$dir/autograder/source" && unzip -q ../../autograder.zip)
cp "$file" "$dir/autograder/submission/server.cpp"
if [ "$mode" = standalone ]; then
  AUTOGRADER_ROOT="$dir/autograder" "$dir/autograder/source/setup.sh" > "$dir/setup.log" 2>&1
  AUTOGRADER_ROOT="$dir/autograder" "$dir/autograder/source/run_autograder" > "$dir/run.log" 2>&1
else
  AUTOGRADER_ROOT="$dir/autograder" LEAKLAB_BIN="$leaklab" "$dir/autograder/source/run_autograder" > "$dir/run.log" 2>&1
fi
python3 - "$dir/autograder/results/results.json" "$score" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
want = float(sys.argv[2])
t = r["tests"]
assert r["score"] == want, f"score {r['score']}, expected {want}: {r}"
assert len(t) == 1 and t[0]["max_score"] == 10 and t[0]["status"] == ("passed" if want > 0 else "failed"), t
assert t[0]["output"] and t[0]["visibility"] == "visible", t
print(f"results.json: score {r['score']}, {t[0]['name']}: {t[0]['status']}: {t[0]['output'].splitlines()[0]}")
PY
