#!/usr/bin/env bash
# expect.sh CODE REGEX -- COMMAND...
# Runs COMMAND; passes when it exits with CODE and its output (stdout+stderr)
# (folded onto one line) matches the extended regular expression REGEX.
# Prints the output on failure.
set -u
want_code=$1; regex=$2; shift 2
[ "$1" = "--" ] && shift
out=$("$@" 2>&1); code=$?
if [ "$code" -ne "$want_code" ] || ! tr "\n" " " <<<"$out" | grep -Eq -- "$regex"; then
  printf 'expected exit %s and output matching /%s/\ngot exit %s, output:\n%s\n' "$want_code" "$regex" "$code" "$out"
  exit 1
fi
printf 'exit %s as expected; matched /%s/\n' "$code" "$regex"
