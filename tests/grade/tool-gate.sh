#!/bin/sh
# A lab whose defect only a tool finds is graded under that tool too: lab 21's leaky code
# submitted unchanged mostly passes growth (its counts do not grow; now and then its race
# crashes it or loses a device) but must score 0, because ThreadSanitizer finds the race. Usage: tool-gate.sh LEAKLAB ROOT DIR
set -eu
leaklab=$1 root=$2 dir=$3
lab=$(cd "$root/labs" && ls -d 21-*)
rm -rf "$dir" && mkdir -p "$dir/class/unchanged/labs/$lab"
cp "$root/labs/$lab"/*.cpp "$root/labs/$lab"/*.hpp "$dir/class/unchanged/labs/$lab/" 2>/dev/null || true
"$leaklab" grade "$dir/class" --out "$dir/out" --quiet > "$dir/grade.txt"
python3 - "$dir/out/summary.json" <<'PY'
import json, sys
checks = {c["name"].split(":")[0]: c for c in json.load(open(sys.argv[1]))["checks"]}
g, t = checks["lab 21 (growth)"], checks["lab 21 (tsan)"]
# Growth mostly sees nothing; now and then the race shows there too (the server crashes, or
# the registry loses a device while its listener is connected: BROKEN). It carries no points.
assert g["verdict"] in ("clean", "error", "broken") and g["max_score"] == 0, g
assert t["verdict"] == "flagged" and t["score"] == 0 and t["max_score"] == 10, t
assert "data race" in t["reason"], t["reason"]
print(f"lab 21 unchanged: growth {g['verdict']} ({g['score']}/{g['max_score']}), tsan {t['verdict']} "
      f"({t['score']}/{t['max_score']}): {t['reason']}")
PY
