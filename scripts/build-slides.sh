#!/usr/bin/env bash
# Build the workshop deck: run the harness for the charts and numbers, then render the
# Markdown with Marp to one offline HTML file and a PDF (Debian's chromium).
#
#   scripts/build-slides.sh                  every lab; writes slides/build/deck.{md,html,pdf}
#   scripts/build-slides.sh --labs 01,22     only these labs (the prose slides stay)
#   scripts/build-slides.sh --no-run         reuse the charts and JSON of an earlier run
#   scripts/build-slides.sh --out DIR        write into DIR instead of slides/build
#   scripts/build-slides.sh --leaklab PATH   the leaklab binary (default build/dev/bin/leaklab)
#   scripts/build-slides.sh --no-pdf         HTML only (no browser needed)
#
# Needs what scripts/setup.sh installs (node, slides/node_modules, chromium,
# poppler-utils). With the default leaklab it first brings the dev preset up to date
# (cmake --preset dev && cmake --build --preset dev: the whole build on a fresh clone,
# a second when nothing changed); with --leaklab PATH it runs that tree's servers as
# built. Nothing is downloaded here.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/slides/build"
leaklab="$root/build/dev/bin/leaklab"
own_build=1
labs=""
run=1
pdf=1
while [ $# -gt 0 ]; do
  case "$1" in
    --labs) labs=${2:?--labs wants a list, e.g. 01,05}; shift 2 ;;
    --labs=*) labs=${1#*=}; shift ;;
    --out) out=${2:?--out wants a folder}; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --leaklab) leaklab=${2:?--leaklab wants a path}; own_build=0; shift 2 ;;
    --no-run) run=0; shift ;;
    --no-pdf) pdf=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-slides.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

say() { printf 'build-slides: %s\n' "$*"; }
fail() { printf 'build-slides.sh: %s\n' "$*" >&2; exit 2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
started=$(now)

command -v node >/dev/null 2>&1 || fail "node is missing: run scripts/setup.sh first"
marp="$root/slides/node_modules/.bin/marp"
[ -x "$marp" ] || fail "Marp is not installed in slides/node_modules: run scripts/setup.sh first (it runs npm ci in slides/)"

# The labs: every folder under labs/, or the --labs subset.
if [ -z "$labs" ]; then
  labs=$(cd "$root/labs" && ls -d [0-9][0-9]-*/ | cut -c1-2 | paste -sd, -)
fi
IFS=, read -r -a lab_ids <<<"$labs"
for id in "${lab_ids[@]}"; do
  compgen -G "$root/labs/$id-*/lab.json" >/dev/null || fail "no lab $id under labs/ (the labs: $(cd "$root/labs" && ls -d [0-9][0-9]-*/ | cut -c1-2 | paste -sd' ' -))"
done

# 1. The measurements: one `leaklab compare` per lab (charts + JSON), two probes of a black box.
if [ "$run" = 1 ]; then
  if [ "$own_build" = 1 ]; then
    say "bringing the dev build up to date (cmake --preset dev && cmake --build --preset dev)"
    (cd "$root" && cmake --preset dev >/dev/null && cmake --build --preset dev | tail -n 1) \
      || fail "the dev build failed; run 'cmake --build --preset dev' to see why"
  fi
  [ -x "$leaklab" ] || fail "$leaklab is not built: run 'cmake --preset dev && cmake --build --preset dev' first (or pass --leaklab PATH)"
  # The labs as this checkout has them, run with the servers of the tree leaklab was built in.
  build_dir=$(cd "$(dirname "$leaklab")/.." && pwd)
  rm -rf "$out/charts" "$out/runs"
  mkdir -p "$out/charts" "$out/runs"
  for id in "${lab_ids[@]}"; do
    t=$(now)
    printf 'build-slides: lab %s: running compare ... ' "$id"
    log="$out/runs/$id.log"
    set +e
    nice -n 10 "$leaklab" compare "$id" --root "$root" --build-dir "$build_dir" --no-build --quiet --no-color \
      --out "$out/charts/$id" --json "$out/runs/$id.json" >"$log" 2>&1
    code=$?
    set -e
    if [ "$code" -eq 2 ] || [ ! -s "$out/runs/$id.json" ]; then
      printf 'error\n'
      tail -n 15 "$log" >&2
      if grep -q 'no such file\|not built\|No such file' "$log"; then
        fail "lab $id: a server is not built: run 'cmake --preset dev && cmake --build --preset dev' first"
      fi
      fail "lab $id: leaklab compare failed (exit $code); its output is in $log"
    fi
    # Exit 1 means a variant did not get its expected verdict: the deck shows what was measured.
    if [ "$code" -eq 1 ]; then printf '%s (not as expected: see %s)\n' "$(since "$t")" "$log"
    else printf '%s\n' "$(since "$t")"; fi
  done
  hoard="$(dirname "$leaklab")/hoard_http"
  if [ -x "$hoard" ]; then
    for spec in "1-clean:" "2-hoard:--hoard 64"; do
      name=${spec%%:*}; extra=${spec#*:}
      t=$(now)
      printf 'build-slides: probe %s: running probe ... ' "$name"
      set +e
      # shellcheck disable=SC2086
      nice -n 10 "$leaklab" probe --cmd "$hoard {port} $extra" --workload http-churn --quiet --no-color \
        --json "$out/runs/probe-$name.json" >"$out/runs/probe-$name.log" 2>&1
      code=$?
      set -e
      [ "$code" -ne 2 ] && [ -s "$out/runs/probe-$name.json" ] || { printf 'error\n'; tail -n 15 "$out/runs/probe-$name.log" >&2; fail "probe $name failed"; }
      printf '%s\n' "$(since "$t")"
    done
  else
    say "no $hoard: the probe slides will say so"
  fi
else
  [ -d "$out/runs" ] || fail "--no-run: there is no earlier run in $out/runs"
fi

# 2. The Markdown, generated from slides/src/, the lab folders and the runs.
t=$(now)
node "$root/slides/tools/build-deck.mjs" --root "$root" --out "$out" --labs "$labs"

# 3. HTML (one file: the charts are inlined) and PDF.
cd "$root/slides"
"$marp" "$out/deck.md" --no-stdin --html --notes --theme-set theme/leaklab.css -o "$out/deck-notes.txt" >/dev/null 2>&1 || true
"$marp" "$out/deck.md" --no-stdin --html --theme-set theme/leaklab.css -o "$out/deck.html" 2>&1 | grep -v '^\[  INFO \]' || true
[ -s "$out/deck.html" ] || fail "Marp wrote no HTML"
say "html: $out/deck.html ($(since "$t"))"
if [ "$pdf" = 1 ]; then
  t=$(now)
  chrome=${CHROME_PATH:-/usr/bin/chromium}
  [ -x "$chrome" ] || fail "$chrome is missing: run scripts/setup.sh (it installs Debian's chromium), or pass --no-pdf"
  # Headless chromium with nothing that reaches out: no updates, sync or background fetches.
  wrapper="$out/.chromium"
  cat >"$wrapper" <<EOF
#!/bin/sh
exec "$chrome" --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run --no-default-browser-check "\$@"
EOF
  chmod +x "$wrapper"
  rm -f "$out/deck.pdf"
  CHROME_PATH="$wrapper" CHROME_NO_SANDBOX=1 CHROME_DISABLE_GPU=1 \
    "$marp" "$out/deck.md" --no-stdin --html --pdf --browser chrome --browser-path "$wrapper" \
      --browser-timeout 120 --theme-set theme/leaklab.css -o "$out/deck.pdf" 2>&1 | grep -v '^\[  INFO \]' || true
  [ -s "$out/deck.pdf" ] || fail "Marp wrote no PDF (chromium: $chrome)"
  say "pdf: $out/deck.pdf ($(since "$t"))"
fi
say "$(cat "$out/slides.count") slides, ${#lab_ids[@]} lab(s), built in $(since "$started")"
