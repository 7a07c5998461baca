#!/usr/bin/env bash
# Probe's sensitivity at default settings: hoard_http keeping N bytes per request must be
# LEAK for every N >= 64 and CLEAN for N = 0, with the heap agent and without it (/proc only).
# N = 32 is printed, not judged: it is below the 64 B/op promise.
#   probe_sensitivity.sh LEAKLAB HOARD_HTTP
set -u
leaklab=$1 hoard=$2
bad=0
printf '%-8s %-6s %-14s %s\n' mode N verdict "heap / rss slope"
for mode in agent no-agent; do
  flag=""; [ "$mode" = no-agent ] && flag=--no-agent
  for n in 0 32 64 128 256 512 1024; do
    out=$("$leaklab" probe --cmd "$hoard {port} --hoard $n" --workload http-churn --quiet $flag 2>&1); code=$?
    verdict=$(grep -oE '^verdict: [A-Z]+' <<<"$out" | cut -d' ' -f2)
    slopes=$(grep -E '^(heap_bytes|rss_bytes) ' <<<"$out" | awk '{printf "%s %s  ", $1, $6 " " $7}')
    printf '%-8s %-6s %-14s %s\n' "$mode" "$n" "${verdict:-?} ($code)" "$slopes"
    want=""
    [ "$n" = 0 ] && want=CLEAN
    [ "$n" -ge 64 ] && want=LEAK
    if [ -n "$want" ] && [ "$verdict" != "$want" ]; then
      printf 'expected %s for N = %s (%s); probe said:\n%s\n' "$want" "$n" "$mode" "$out"
      bad=1
    fi
  done
done
exit $bad
