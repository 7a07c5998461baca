#!/usr/bin/env bash
# leaklab report on two labs (01, and 10 with its backend fault), opened in headless
# Chromium: it renders with no console error and no request off the machine, every chart
# is drawn, and the page holds what the report promises. The screenshot is kept in OUT.
set -u
leaklab=$1; root=$2; out=$3
rm -rf "$out"; mkdir -p "$out"
"$leaklab" report --labs 01,10 --out "$out" --quiet > "$out/report.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] || { echo "leaklab report exited $rc:"; cat "$out/report.log"; exit 1; }
page=$out/report.html
fail=0
need() { grep -q -- "$1" "$page" || { echo "report.html lacks $2"; fail=1; }; }
need 'id="lab-01-' "lab 01's section"
need 'id="lab-10-' "lab 10's section"
need 'Catch matrix, measured' "the catch matrix"
need 'warm-up (not judged)' "the warm-up band on the charts"
need '>backend stall<' "lab 10's fault band"
need 'class="reference"' "the threshold line"
need '<span class="add">+' "the fix as a diff (added lines)"
need '<span class="verdict leak">LEAK</span>' "a LEAK verdict"
need '<span class="verdict clean">CLEAN</span>' "a CLEAN verdict"
# Nothing from outside: the only URL is SVG's namespace name, which is not fetched.
if grep -o 'https\?://[^"< ]*' "$page" | grep -v '^http://www.w3.org/2000/svg$' | grep -q .; then
  echo "report.html names an outside resource:"; grep -o 'https\?://[^"< ]*' "$page" | sort -u | grep -v w3.org; fail=1
fi
charts=$(grep -c '<figure class="chart"' "$page")
[ "$charts" -ge 10 ] || { echo "only $charts charts in report.html"; fail=1; }
node "$root/tests/browser/check_page.mjs" "$page" "$out/report.png" "$charts" || fail=1
[ "$fail" -eq 0 ] && echo "report.html: $charts charts rendered in Chromium; screenshot $out/report.png"
exit "$fail"
