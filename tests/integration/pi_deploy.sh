#!/usr/bin/env bash
# scripts/pi-deploy.sh against a local folder: the kit for a 64-bit Raspberry Pi OS is
# cross-built (lab 01 only), copied, and then run from where it landed, as the board would
# run it, only under qemu-user: the deployed leaklab finds its own labs and servers, builds
# nothing, says what it is in doctor, and verifies lab 01 with its wrong fixes.
set -u
root=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$root/scripts/pi-deploy.sh" --arch aarch64 --labs 01 --emulate "$tmp/pi" || fail "pi-deploy.sh exited $?"
for f in bin/leaklab bin/lab01-leaky bin/lab01-fixed bin/lab01-wf-no-heartbeat lib/libleaklab-agent.so \
         lib/libboost_json.so.1.81.0 labs/01-live-feed-memory-climbs/lab.json solutions/01-live-feed-memory-climbs/instructor.json \
         tests/wrong-fixes/01-live-feed-memory-climbs/fixtures.json leaklab-build.json; do
  [ -e "$tmp/pi/$f" ] || fail "the kit has no $f"
done
file "$tmp/pi/bin/leaklab" | grep -q "ARM aarch64" || fail "bin/leaklab is not an aarch64 program: $(file "$tmp/pi/bin/leaklab")"
[ ! -e "$tmp/pi/labs/01-live-feed-memory-climbs/CMakeLists.txt" ] || fail "the kit carries build files"

# The board's leaklab, started as a program of its own (as on the board, so it finds its
# kit from where it was started), its loader and libraries from the cross sysroot and the
# Pi root; the board's own zlib is what the Pi root stands in for.
run() { qemu-aarch64 -L /usr/aarch64-linux-gnu \
          -E "LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib:${LEAKLAB_PI_ROOT:-/opt/leaklab/pi}/aarch64-linux-gnu/lib/aarch64-linux-gnu" \
          "$tmp/pi/bin/leaklab" "$@"; }
cd "$tmp"  # nowhere near the checkout: the kit must find itself
out=$(run list 2>&1) || fail "leaklab list: $out"
grep -q "^01  live-feed-memory-climbs" <<<"$out" && grep -q "^1 labs" <<<"$out" || fail "leaklab list: $out"
out=$(run doctor 2>&1) || fail "leaklab doctor: $out"
grep -q "machine   aarch64.*EMULATED" <<<"$out" || fail "doctor does not say it is emulated: $out"
out=$(run check 01 --source "$root/labs/01-live-feed-memory-climbs" 2>&1)
[ $? -eq 2 ] && grep -q "is a deployed kit: it runs the servers built with it, and builds nothing" <<<"$out" ||
  fail "a deployed kit must refuse to build a copy: $out"
out=$(run verify 01 --scale 0.5 --quiet 2>&1)
rc=$?
echo "$out" | grep -E '^(ok|FAIL) |^verify:'
[ "$rc" -eq 0 ] || fail "the deployed kit's verify 01 exited $rc"
grep -q "wf-no-heartbeat run 1/1: broken" <<<"$out" || fail "the wrong fixes did not run"
echo "the deployed kit ran from $tmp/pi: list, doctor, verify 01 (leaky, fixed, wrong fixes)"
