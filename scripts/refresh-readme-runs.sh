#!/usr/bin/env bash
# Re-runs every verdict report quoted in the READMEs and puts the real output in its place.
# A quoted report is a ```text block whose first line is "lab NN-slug (variant): ...";
# it is replaced by what `leaklab check NN --variant variant` prints now, whole.
#
#   scripts/refresh-readme-runs.sh [--preset P] [--dry-run]
#
# Run it after a change to what the verdict table prints, then read the diff: the
# prose around each block must still say what the block shows.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=dev
dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "refresh-readme-runs.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
command -v python3 >/dev/null || { echo "refresh-readme-runs.sh: needs python3" >&2; exit 2; }
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" >/dev/null
LEAKLAB="$PWD/build/$preset/bin/leaklab" DRY=$dry python3 - README.md labs/*/README.md <<'PY'
import os, re, subprocess, sys
leaklab, dry = os.environ["LEAKLAB"], os.environ["DRY"] == "1"
head = re.compile(r"^lab (\d\d)-[\w-]+ \((leaky|fixed)\):")
for path in sys.argv[1:]:
    lines = open(path).read().split("\n")
    out, i, changed = [], 0, 0
    while i < len(lines):
        out.append(lines[i])
        m = head.match(lines[i + 1]) if lines[i] == "```text" and i + 1 < len(lines) else None
        if not m:
            i += 1
            continue
        end = lines.index("```", i + 1)
        lab, variant = m.groups()
        run = subprocess.run([leaklab, "check", lab, "--variant", variant, "--quiet", "--no-color", "--no-build"],
                             capture_output=True, text=True)
        if run.returncode not in (0, 1):
            sys.exit(f"{path}: leaklab check {lab} --variant {variant} gave exit {run.returncode}:\n{run.stdout}{run.stderr}")
        print(f"{path}: lab {lab} {variant}: {run.stdout.strip().splitlines()[-1]}")
        out.extend(run.stdout.rstrip("\n").split("\n"))
        out.append("```")
        changed += 1
        i = end + 1
    if changed and not dry:
        open(path, "w").write("\n".join(out))
PY
