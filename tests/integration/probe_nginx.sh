#!/usr/bin/env bash
# Debian's nginx, a server no one here wrote, under `leaklab probe`: CLEAN expected.
#   probe_nginx.sh LEAKLAB FIXTURE single|workers WORKLOAD
# Checks the verdict, that the heap agent measured every nginx process, and (stall) that
# probe saw nginx let go of the stalled clients at its own 5 s header deadline.
set -u
leaklab=$1 fixture=$2 mode=$3 workload=$4
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nginx is not installed (scripts/setup.sh installs it)"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/leaklab-nginx.XXXXXX")
trap 'rm -rf "$dir"' EXIT
out=$("$leaklab" probe --cmd "$fixture {port} $mode $dir" --workload "$workload" --quiet 2>&1); code=$?
fail() { printf '%s\n--- probe said (exit %s):\n%s\n' "$1" "$code" "$out"; exit 1; }
[ "$code" -eq 0 ] || fail "expected exit 0 (CLEAN)"
grep -q "verdict: CLEAN" <<<"$out" || fail "expected verdict: CLEAN"
procs=1; [ "$mode" = workers ] && procs=3
grep -Eq "heap_bytes from the heap agent .* in $procs process(es)?[;]" <<<"$out" || fail "expected the heap agent in $procs nginx process(es)"
grep -Eq "^processes +$procs +$procs " <<<"$out" || fail "expected $procs processes throughout"
if [ "$workload" = stall ]; then
  grep -Eq "let go of all [0-9]+ clients left hanging \(stall\), [45]\.[0-9] s after" <<<"$out" \
    || fail "expected nginx to let go of every stalled client about 5 s after it went silent"
fi
echo "nginx ($mode, $workload): CLEAN, as expected"
grep -E "^(heap_bytes|rss_bytes|fds|processes) |^note:" <<<"$out"
