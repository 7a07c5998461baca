#!/usr/bin/env bash
# The student loop: `leaklab watch` on a copy of lab 01, through two saves.
#   first check (the copy as shipped)       -> LEAK
#   save 1, a wrong fix (cancels the heartbeat on a clean close only;
#           the devices that reset their connection still leak) -> LEAK
#   save 2, the solution's file             -> CLEAN
# One student build tree for all three checks; bounded by --max-checks and --timeout.
set -u
leaklab=$1; root=$2
dir=$(mktemp -d); pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
slug=$(basename "$(ls -d "$root"/labs/01-*)")
cp -r "$root/labs/$slug" "$dir/mine"
log=$dir/watch.log
"$leaklab" watch 01 --source "$dir/mine" --max-checks 3 --timeout 300 --interval 100 >"$log" 2>&1 & pid=$!

verdicts() { grep -cE '^\[[0-9:]+\] (LEAK|CLEAN|ERROR)' "$log"; }
# Wait for the n-th verdict line (or the end of watch).
wait_for() {
  for _ in $(seq 3000); do
    [ "$(verdicts)" -ge "$1" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  printf 'watch gave no verdict %s; its output:\n' "$1"; cat "$log"; exit 1
}
nth() { grep -E '^\[[0-9:]+\] (LEAK|CLEAN|ERROR)' "$log" | sed -n "$1p"; }
expect_nth() {
  grep -q "$2" <<<"$(nth "$1")" || { printf 'verdict %s should be %s; watch said:\n' "$1" "$2"; cat "$log"; exit 1; }
}

wait_for 1; expect_nth 1 '] LEAK'
# Save 1: the wrong fix.
python3 - "$dir/mine/server.cpp" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
old = "        if(ec == websocket::error::closed)\n            return;\n"
new = "        if(ec == websocket::error::closed)\n        {\n            heartbeat_.cancel();\n            return;\n        }\n"
assert old in s, "lab 01's server.cpp changed: update the wrong fix in this test"
open(p, "w").write(s.replace(old, new))
PY
wait_for 2; expect_nth 2 '] LEAK'
# Save 2: the right fix.
cp "$root/solutions/$slug/server.cpp" "$dir/mine/server.cpp"
wait_for 3; expect_nth 3 '] CLEAN'
wait "$pid"; code=$?; pid=
[ "$code" -eq 0 ] || { printf 'watch should end with the last verdict (CLEAN, exit 0), got %s:\n' "$code"; cat "$log"; exit 1; }
grep -q 'change seen in server.cpp' "$log" || { echo "watch never said which file changed:"; cat "$log"; exit 1; }
grep -q 's from save to verdict' "$log" || { echo "watch never said how long the check took:"; cat "$log"; exit 1; }
cat "$log"
