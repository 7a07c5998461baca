#!/usr/bin/env bash
# The workshop deck builds from a clean clone, and what it builds is right:
#  - scripts/build-slides.sh --labs 01,22 in a fresh clone of the repository (its committed
#    state; slides/node_modules is borrowed from the checkout, as scripts/setup.sh made it);
#  - the HTML loads nothing from outside (no http(s) src/href, url() or @import);
#  - the PDF has one page per slide (Marp's <section> elements, and the generator's count),
#    and every slide has speaker notes;
#  - the evidence slide of lab 01, rendered to PNG, shows its chart: the page has the text
#    "what leaklab measured", and the chart area has the coloured lines of the two series,
#    where a text-only slide has next to no colour. The PNGs stay in ARTIFACTS to look at.
# Skips (exit 77) only when node or chromium is missing; scripts/setup.sh installs both.
#
#   deck_test.sh LEAKLAB ROOT ARTIFACTS
set -u
leaklab=$1; root=$2; art=$3
fail() { printf 'deck test: %s\n' "$*"; exit 1; }

command -v node >/dev/null 2>&1 || { echo "deck test skipped: node is missing (scripts/setup.sh installs it)"; exit 77; }
chrome=${CHROME_PATH:-/usr/bin/chromium}
[ -x "$chrome" ] || { echo "deck test skipped: $chrome is missing (scripts/setup.sh installs chromium)"; exit 77; }
for tool in pdfinfo pdftoppm pdftotext python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing: run scripts/setup.sh (poppler-utils)"
done
[ -x "$root/slides/node_modules/.bin/marp" ] || fail "slides/node_modules has no Marp: run scripts/setup.sh (it runs npm ci in slides/)"

rm -rf "$art"; mkdir -p "$art"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# A clean clone when the checkout is a git repository; the checkout itself otherwise.
src=$root
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git clone --quiet --no-hardlinks "$root" "$tmp/clone" || fail "git clone $root failed"
  ln -s "$root/slides/node_modules" "$tmp/clone/slides/node_modules"
  src=$tmp/clone
fi

start=$(date +%s)
out=$art/deck
"$src/scripts/build-slides.sh" --labs 01,22 --out "$out" --leaklab "$leaklab" >"$art/build.log" 2>&1 \
  || { cat "$art/build.log"; fail "scripts/build-slides.sh --labs 01,22 failed"; }
secs=$(( $(date +%s) - start ))
for f in deck.md deck.html deck.pdf slides.count; do [ -s "$out/$f" ] || fail "$out/$f was not written"; done

# Nothing from outside: every image, font, script and style is in the file.
if grep -Eqo '(src|href)[[:space:]]*=[[:space:]]*["'\'']?(https?:)?//' "$out/deck.html" ||
   grep -Eqo 'url\([[:space:]]*["'\'']?(https?:)?//' "$out/deck.html" ||
   grep -Eqo '@import[^;]*(https?:)?//' "$out/deck.html"; then
  grep -Eo '((src|href)[[:space:]]*=[[:space:]]*["'\'']?|url\([[:space:]]*["'\'']?|@import[^;]*)(https?:)?//[^"'\'' )]*' "$out/deck.html" | head -5
  fail "deck.html loads something from outside"
fi
grep -q 'data:image/svg+xml;base64,' "$out/deck.html" || fail "deck.html has no inlined chart"

# One PDF page per slide.
sections=$(grep -o '<section ' "$out/deck.html" | wc -l)
pages=$(pdfinfo "$out/deck.pdf" | awk '/^Pages:/ { print $2 }')
count=$(cat "$out/slides.count")
[ "$sections" -eq "$count" ] || fail "deck.html has $sections slides, the generator wrote $count"
[ "$pages" -eq "$sections" ] || fail "deck.pdf has $pages pages for $sections slides"
notes=$(grep -o 'class="bespoke-marp-note"' "$out/deck.html" | wc -l)
[ "$notes" -eq "$sections" ] || fail "deck.html has speaker notes on $notes of its $sections slides"

# The evidence slide of lab 01 and a text-only slide (lab 01's principle), by their place in the HTML.
read -r chart_page text_page < <(python3 - "$out/deck.html" <<'EOF'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
slides = html.split("<section ")[1:]
def find(text):
    return next(i + 1 for i, s in enumerate(slides) if text in s.split("</section>")[0])
print(find("Lab 01 · what leaklab measured"), find("Lab 01 · the principle"))
EOF
) || fail "cannot find lab 01's slides in deck.html"
pdftotext -f "$chart_page" -l "$chart_page" "$out/deck.pdf" - | grep -q "what leaklab measured" \
  || fail "PDF page $chart_page is not lab 01's evidence slide"
pdftoppm -f "$chart_page" -l "$chart_page" -r 80 -png -singlefile "$out/deck.pdf" "$art/lab01-evidence"
pdftoppm -f "$text_page" -l "$text_page" -r 80 -png -singlefile "$out/deck.pdf" "$art/lab01-principle"
pdftoppm -f 1 -l 1 -r 80 -png -singlefile "$out/deck.pdf" "$art/title"
pdftoppm -f "$chart_page" -l "$chart_page" -r 80 -singlefile "$out/deck.pdf" "$tmp/chart"
pdftoppm -f "$text_page" -l "$text_page" -r 80 -singlefile "$out/deck.pdf" "$tmp/text"
python3 - "$tmp/chart.ppm" "$tmp/text.ppm" <<'EOF' || fail "lab 01's evidence slide does not show its chart (PNG: $art/lab01-evidence.png)"
import sys
def load(path):
    data = open(path, "rb").read()
    # binary PPM: P6 <w> <h> <max>\n<rgb bytes>
    head, rest = data.split(b"\n", 1)
    fields = head.split()
    while len(fields) < 4:
        more, rest = rest.split(b"\n", 1)
        fields += more.split()
    w, h = int(fields[1]), int(fields[2])
    return w, h, rest
def stats(path):
    w, h, px = load(path)
    colour = nonwhite = 0
    # The charts sit between 12 % and 60 % of the page height (the coloured verdict line is below).
    for y in range(int(h * 0.12), int(h * 0.60)):
        row = px[3 * w * y: 3 * w * (y + 1)]
        for x in range(w):
            r, g, b = row[3 * x], row[3 * x + 1], row[3 * x + 2]
            if r < 235 or g < 235 or b < 235:
                nonwhite += 1
            if max(r, g, b) - min(r, g, b) > 90:
                colour += 1
    return colour, nonwhite / (w * (int(h * 0.60) - int(h * 0.12)))
chart_colour, chart_ink = stats(sys.argv[1])
text_colour, text_ink = stats(sys.argv[2])
print(f"chart slide: {chart_colour} coloured pixels, {chart_ink:.1%} ink; "
      f"text slide: {text_colour} coloured pixels, {text_ink:.1%} ink")
ok = chart_colour >= 400 and chart_ink >= 0.03 and text_colour < chart_colour / 10
sys.exit(0 if ok else 1)
EOF

echo "deck of $pages slides built from a clean clone in ${secs} s; no remote references; screenshot: $art/lab01-evidence.png"
