#!/usr/bin/env bash
# What the exit-time tools see, next to what growth sees (the asan preset):
#  - lab 01's leak is flagged by growth, and LeakSanitizer reports nothing at exit, nor
#    while the server runs (lsan-live: the admin call ran its check and it found nothing);
#  - a server that drops pointers (hoard_http --lose) is reported by LeakSanitizer,
#    and leaklab shows that report as a finding at the line that allocated (so the
#    first check cannot pass by not looking).
set -u
leaklab=$1; root=$2
out=$("$leaklab" check 01 --variant leaky --preset asan --quiet 2>&1); code=$?
if [ "$code" -ne 1 ] || ! grep -q 'address sanitizer: no reports at exit (this leak is invisible to it)' <<<"$out"; then
  printf 'lab 01 leaky under ASan: expected LEAK and no sanitizer reports; got exit %s:\n%s\n' "$code" "$out"; exit 1
fi
out=$("$leaklab" check 01 --variant leaky --mode lsan-live --quiet 2>&1); code=$?
if [ "$code" -ne 1 ] || ! grep -q "note: LeakSanitizer's check while the server ran, after the last round: no leaks" <<<"$out"; then
  printf 'lab 01 leaky under lsan-live: expected LEAK and a live check that found nothing; got exit %s:\n%s\n' "$code" "$out"; exit 1
fi
cmake --build "$root/build/asan" --target hoard_http >/dev/null || { echo "cannot build hoard_http in build/asan"; exit 1; }
out=$("$leaklab" probe --cmd "$root/build/asan/bin/hoard_http {port} --lose 48" --workload http-churn \
      --connections 100 --rounds 9 --quiet 2>&1)
if ! grep -Eq 'LeakSanitizer direct leak .*[0-9]+ bytes in [0-9]+ objects' <<<"$out" ||
   ! grep -Eq 'tests/blackbox/hoard_http\.cpp:[0-9]+ in serve' <<<"$out"; then
  printf 'hoard_http --lose under ASan: expected a LeakSanitizer finding at its allocation; got:\n%s\n' "$out"; exit 1
fi
echo "LSan silent on lab 01 at exit and while it runs (growth flags it); LSan's report on a lost-pointer server is shown"
