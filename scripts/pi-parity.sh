#!/usr/bin/env bash
# Verdict parity on the Raspberry Pi targets: every lab's leaky, fixed and wrong-fix
# variants, cross-built for aarch64 and armhf and run here under qemu-user, must get the
# verdict the x86 build gets. Prints one row per lab, variant and architecture with the
# verdict and the rate per operation of each flagged metric (or what rejected a wrong fix),
# and exits 1 on any mismatch (or any variant not as its lab expects), 2 when a run failed.
# A wrong fix with undefined behaviour whose fixture names two verdicts (lab 11's one-signal:
# a crash on one CPU, the freed job still running on another) is equal when each arch gets
# one of them, for a reason the fixture names.
#
#   scripts/pi-parity.sh [--labs all|01,17] [--archs aarch64,armhf] [--scale S] [--out FILE]
#
# Every build runs with --profile pi, as on a board (emulation here is about as slow), the
# x86 one too, so each arch runs the same plan: a quarter of the churn, four times the time
# for a round, twice for settling; thresholds stay per operation, so the verdict does not
# depend on the scale.
#   --scale S   connections per round under qemu instead of the profile's quarter
#   --out FILE  also write the table (Markdown) to FILE, and each arch's runs to FILE.<arch>.json
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

labs=all
archs=aarch64,armhf
scale=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --labs) labs=$2; shift 2 ;;
    --archs) archs=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "pi-parity.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
command -v python3 >/dev/null || { echo "pi-parity.sh: needs python3" >&2; exit 2; }

echo "== building the dev preset (x86, and the leaklab that drives every arch)"
cmake --preset dev >/dev/null
cmake --build --preset dev >/dev/null
leaklab=$root/build/dev/bin/leaklab

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
started=$(date +%s)
declare -A seconds
run_arch() {  # arch, then leaklab's options for it
  local arch=$1; shift
  local t0; t0=$(date +%s)
  echo "== $arch: leaklab verify $labs $*"
  set +e
  "$leaklab" verify "$labs" --quiet --json "$tmp/$arch.json" "$@" > "$tmp/$arch.log" 2>&1
  local rc=$?
  set -e
  seconds[$arch]=$(( $(date +%s) - t0 ))
  grep -E '^(FAIL|ok) ' "$tmp/$arch.log" | sed 's/^/   /' || true
  if [ "$rc" -gt 1 ] || [ ! -s "$tmp/$arch.json" ]; then
    echo "pi-parity.sh: the $arch runs failed (exit $rc):" >&2
    tail -20 "$tmp/$arch.log" >&2
    exit 2
  fi
}
# Every arch runs the same plan: the Pi profile, on x86 too.
run_arch x86_64 --profile pi ${scale:+--scale "$scale"}
IFS=, read -r -a pi_archs <<< "$archs"
for arch in "${pi_archs[@]}"; do
  run_arch "$arch" --preset "pi-$arch" --profile pi ${scale:+--scale "$scale"}
done
elapsed=$(( $(date +%s) - started ))

set +e
python3 - "$tmp" "$archs" "$scale" "$elapsed" > "$tmp/table.md" <<'PY'
import glob, json, os, sys
tmp, archs, scale, elapsed = sys.argv[1], ["x86_64"] + sys.argv[2].split(","), sys.argv[3], sys.argv[4]

def rate(m):
    v = m["slope_per_op"]
    if m["unit"] == "bytes":
        for u in ["B", "KiB", "MiB"]:
            if abs(v) < 1024 or u == "MiB":
                return f"{v:.3g} {u}/op"
            v /= 1024
    if m["unit"] == "rate":
        return f"{v * 100:.3g}%/round"
    return f"{v:.3g}/op"

def evidence(run):
    if run["verdict"] == "broken" and run.get("breaches"):
        return "contract: " + run["breaches"][0]["clause"]
    if run.get("stopped_serving"):
        return "stopped serving"
    if run["verdict"] == "error":
        return run.get("error", "")[:60]
    return ", ".join(f'{m["name"]} {rate(m)}' for m in run["metrics"] if m["flagged"])

# A wrong fix whose fixture names more than one verdict (undefined behaviour: a crash on one
# CPU, the freed job still running on another) is equal when each arch's verdict is one of them.
accepted = {}
for fx in glob.glob("tests/wrong-fixes/*/fixtures.json"):
    for f in json.load(open(fx))["fixtures"]:
        v = f["expect"]["verdict"]
        accepted[(os.path.basename(os.path.dirname(fx)), "wrong fix " + f["name"])] = v if isinstance(v, list) else [v]

runs = {}
for arch in archs:
    for run in json.load(open(f"{tmp}/{arch}.json")):
        runs.setdefault((run["lab"], run["variant"]), {})[arch] = run
ok = True
print(f"Verdict parity: x86_64 against {', '.join(archs[1:])} under qemu-user (--profile pi{', --scale ' + scale if scale else ''}).\n")
print("| lab | variant | arch | verdict | flagged: rate per operation, or what rejected it | same as x86 |")
print("|---|---|---|---|---|---|")
for (lab, variant), by_arch in sorted(runs.items()):
    ref = by_arch.get("x86_64")
    for arch in archs:
        run = by_arch.get(arch)
        if run is None:
            ok = False
            print(f"| {lab[:2]} | {variant} | {arch} | (not run) | | **no** |")
            continue
        named = accepted.get((lab, variant), [])
        same = ref is not None and (run["verdict"] == ref["verdict"] or
                                    (len(named) > 1 and run["verdict"] in named and ref["verdict"] in named))
        ok = ok and same
        mark = "-" if arch == "x86_64" else ("yes" if same and run["verdict"] == ref["verdict"] else
                                             "yes (both verdicts the fixture names)" if same else "**no**")
        print(f"| {lab[:2]} | {variant} | {arch} | {run['verdict']} | {evidence(run)} | {mark} |")
print(f"\n{'all equal' if ok else 'MISMATCH'}: {len(runs)} lab variants on {len(archs)} architectures in {elapsed} s")
sys.exit(0 if ok else 1)
PY
parity=$?
set -e
cat "$tmp/table.md"
for arch in x86_64 "${pi_archs[@]}"; do echo "   $arch: ${seconds[$arch]} s"; done
# A variant not as its lab expects on some arch (verify's FAIL) is a mismatch too.
fails=$(cat "$tmp"/*.log | grep -c '^FAIL ' || true)
[ "$fails" = 0 ] || echo "pi-parity.sh: $fails run(s) not as the lab expects (FAIL above)"
if [ -n "$out" ]; then
  { echo "# scripts/pi-parity.sh --labs $labs --archs $archs${scale:+ --scale $scale} ($(git describe --always --dirty 2>/dev/null || echo "no git"), $(date -u +%F))"
    echo; cat "$tmp/table.md"; } > "$out"
  for arch in x86_64 "${pi_archs[@]}"; do cp "$tmp/$arch.json" "$out.$arch.json"; done
fi
[ "$parity" = 0 ] && [ "$fails" = 0 ]
