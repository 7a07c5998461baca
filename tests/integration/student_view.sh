#!/usr/bin/env bash
# What a student reads names the symptom, never the diagnosis: `leaklab list`, the
# header of `check`, and each lab's README hold no lab's "diagnosis" and no
# "The principle" section; the principle is behind the last hint level.
set -u
leaklab=$1; root=$2
list=$("$leaklab" list 2>&1) || { echo "leaklab list failed:"; echo "$list"; exit 1; }
fail=0
for manifest in "$root"/labs/[0-9][0-9]-*/lab.json; do
  dir=$(dirname "$manifest")
  read -r id diagnosis hints < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["id"], m.get("diagnosis","-"), len(m.get("hints",[])))' "$manifest")
  [ "$diagnosis" = "-" ] && { echo "lab $id has no diagnosis field"; fail=1; continue; }
  if grep -qF -- "$diagnosis" <<<"$list"; then echo "leaklab list names lab $id's diagnosis ($diagnosis)"; fail=1; fi
  if grep -qF -- "$diagnosis" "$dir/README.md"; then echo "lab $id's README names its diagnosis ($diagnosis)"; fail=1; fi
  if grep -q '^## The principle' "$dir/README.md"; then echo "lab $id's README still has its principle"; fail=1; fi
  out=$("$leaklab" hint "$id" --level $((hints + 1)) 2>&1)
  grep -q "the principle behind lab $id" <<<"$out" || { echo "hint $id --level $((hints + 1)) does not give the principle: $out"; fail=1; }
done

# Words that name a lab's defect or its fix (from its hints 2 and 3, its principle
# and its solution), one lab a line: none may appear anywhere in its README, since
# a student reads "What the tools see" and "In the wild" before fixing too.
# Matched as whole words, case-insensitively, across line breaks. The premise a
# README has to state (lab 17's deflateInit2, lab 18's 422s, lab 12's sender
# thread) is not listed. A lab without a line here fails: a new lab needs words.
spoilers=$(cat <<'WORDS'
01	shared_from_this|weak_ptr|re-arm|re-arms|cancel the timer
02	erase|erased|unregister|deregister|never deleted|removes the entry|weak_ptr
03	unsubscribe|scoped_connection|stale
04	cancel the timer|audit timer|audit timers|steady_timer|timer per request
05	cycle|weak_ptr|each other|back-reference|back-references
06	exception|throws|make_unique|unique_ptr|store_reading|scope guard
07	detached|cancellation_signal|bind_cancellation_slot|watcher|watchers|operation_aborted
08	async_send|cancel the channel|close the channel|producer|consumer
09	mutex|unlock|unlocked|unlocking|double lock|scoped_lock|lock_guard|deadlock
10	deadline|operator|acquire|pool::acquire
11	cancellation_signal|bind_cancellation_slot|flush_every|reload it|50 reloads
12	detached|jthread|stop_token|condition_variable_any|joined|never joined
13	expires_after|idle_timeout|timeout::suggested|keep_alive_pings|pending read|parked
14	body_limit|payload_too_large|never reads|limit + 1
15	backpressure|one line per trip|drop and count|per batch
16	least-recently|least recently|evict|eviction|lru|capacity
17	deflateEnd|z_stream|deleter|unique_ptr|deflate stream's window
18	::close|unique_fd|file_posix|append_reading
22	malloc_trim|trim|trimming
WORDS
)
for manifest in "$root"/labs/[0-9][0-9]-*/lab.json; do
  dir=$(dirname "$manifest"); id=$(basename "$dir"); id=${id%%-*}
  words=$(awk -F'\t' -v id="$id" '$1 == id { print $2 }' <<<"$spoilers")
  [ -z "$words" ] && { echo "lab $id has no spoiler words in $0"; fail=1; continue; }
  text=$(tr '\n' ' ' < "$dir/README.md" | tr -s ' ')
  IFS='|' read -ra ws <<<"$words"
  for w in "${ws[@]}"; do
    if grep -qiwF -- "$w" <<<"$text"; then echo "lab $id's README names its defect or fix: \"$w\""; fail=1; fi
  done
done
[ "$fail" -eq 0 ] && echo "list, READMEs and hints: no diagnosis before the last hint level; no README names its lab's defect or fix"
exit "$fail"
