#!/usr/bin/env bash
# expect.sh CODE REGEX -- COMMAND...
# Runs COMMAND; passes when it exits with CODE and its output (stdout+stderr)
# (folded onto one line) matches the extended regular expression REGEX.
# Prints the output on failure.
# expect.sh CODE REGEX --not ABSENT -- COMMAND... also fails when the output matches ABSENT.
set -u
want_code=$1; regex=$2; shift 2
absent=""
if [ "$1" = "--not" ]; then absent=$2; shift 2; fi
[ "$1" = "--" ] && shift
out=$("$@" 2>&1); code=$?
folded=$(tr "\n" " " <<<"$out")
if [ "$code" -ne "$want_code" ] || ! grep -Eq -- "$regex" <<<"$folded"; then
  printf 'expected exit %s and output matching /%s/\ngot exit %s, output:\n%s\n' "$want_code" "$regex" "$code" "$out"
  exit 1
fi
if [ -n "$absent" ] && grep -Eq -- "$absent" <<<"$folded"; then
  printf 'expected output not matching /%s/\ngot exit %s, output:\n%s\n' "$absent" "$code" "$out"
  exit 1
fi
printf 'exit %s as expected; matched /%s/\n' "$code" "$regex"
