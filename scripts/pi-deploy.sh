#!/usr/bin/env bash
# Carry the kit to a Raspberry Pi: the lab servers, their wrong fixes and leaklab itself,
# cross-built here for the board's OS (a native build on a Pi takes far longer), with the
# labs' manifests, READMEs and hints, so the board runs leaklab natively and builds nothing.
#
#   scripts/pi-deploy.sh [--arch aarch64|armhf] [--labs 01,17|all] [--no-build] [--emulate] DEST
#
#   DEST        user@host:dir (copied with rsync over ssh), or a local folder
#   --arch      aarch64 for Raspberry Pi OS 64-bit (the default), armhf for 32-bit
#   --labs      which labs' servers to carry (default all)
#   --no-build  carry what build/pi-<arch> holds, as it is
#   --emulate   for a test on this machine: the deployed kit runs its servers under qemu-user
#
# On the board (Raspberry Pi OS bookworm; see README, "Raspberry Pi"):
#   DIR/bin/leaklab doctor
#   DIR/bin/leaklab verify all --profile pi
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

arch=aarch64 labs=all build=1 emulate=0 dest=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --labs) labs=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --emulate) emulate=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "pi-deploy.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) [ -z "$dest" ] || { echo "pi-deploy.sh: one destination only" >&2; exit 2; }; dest=$1; shift ;;
  esac
done
[ -n "$dest" ] || { echo "pi-deploy.sh: where to? e.g. pi@raspberrypi.local:leaklab, or a folder (try --help)" >&2; exit 2; }
case "$arch" in
  aarch64) triple=aarch64-linux-gnu qemu=qemu-aarch64 loader=ld-linux-aarch64.so.1 ;;
  armhf) triple=arm-linux-gnueabihf qemu=qemu-arm loader=ld-linux-armhf.so.3 ;;
  *) echo "pi-deploy.sh: --arch wants aarch64 or armhf, not '$arch'" >&2; exit 2 ;;
esac
preset=pi-$arch
tree=$root/build/$preset

# The labs to carry, by folder.
if [ "$labs" = all ]; then
  mapfile -t folders < <(cd labs && ls -d [0-9][0-9]-*)
else
  folders=()
  IFS=, read -r -a ids <<< "$labs"
  for id in "${ids[@]}"; do
    f=$(cd labs && ls -d "$id"-* 2>/dev/null | head -1) || true
    [ -n "$f" ] || { echo "pi-deploy.sh: no lab $id" >&2; exit 2; }
    folders+=("$f")
  done
fi

# The servers of those labs (leaky, fixed, wrong fixes), leaklab and its heap agent.
targets=(leaklab leaklab_agent)
for f in "${folders[@]}"; do
  id=${f%%-*}
  targets+=("lab$id-leaky" "lab$id-fixed")
  for p in tests/wrong-fixes/"$f"/*.patch; do
    [ -e "$p" ] && targets+=("lab$id-wf-$(basename "$p" .patch)")
  done
done
if [ "$build" = 1 ]; then
  echo "== cross-building ${#targets[@]} targets for $arch ($preset)"
  [ -f "$tree/CMakeCache.txt" ] || cmake --preset "$preset" >/dev/null
  cmake --build "$tree" --target "${targets[@]}" >/dev/null
fi
for t in "${targets[@]}"; do
  case "$t" in
    leaklab_agent) [ -f "$tree/lib/libleaklab-agent.so" ] || { echo "pi-deploy.sh: $tree/lib/libleaklab-agent.so is not built" >&2; exit 2; } ;;
    *) [ -x "$tree/bin/$t" ] || { echo "pi-deploy.sh: $tree/bin/$t is not built (drop --no-build)" >&2; exit 2; } ;;
  esac
done

# The kit as the board gets it, staged here first.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir -p "$stage/bin" "$stage/lib" "$stage/labs" "$stage/solutions" "$stage/tests/wrong-fixes"
for t in "${targets[@]}"; do [ "$t" = leaklab_agent ] || cp "$tree/bin/$t" "$stage/bin/"; done
cp "$tree/lib/libleaklab-agent.so" "$stage/lib/"
# leaklab's Boost libraries: Raspberry Pi OS may not have Boost 1.81's installed.
pi_root=${LEAKLAB_PI_ROOT:-/opt/leaklab/pi}/$triple
cp -L "$pi_root/usr/lib/$triple/libboost_json.so.1.81.0" "$pi_root/usr/lib/$triple/libboost_program_options.so.1.81.0" "$stage/lib/"
for f in "${folders[@]}"; do
  cp -r "labs/$f" "$stage/labs/"
  rm -f "$stage/labs/$f/CMakeLists.txt"
  cp -r "solutions/$f" "$stage/solutions/"
  [ -d "tests/wrong-fixes/$f" ] && cp -r "tests/wrong-fixes/$f" "$stage/tests/wrong-fixes/"
done
cp README.md "$stage/"
runner="[]"
if [ "$emulate" = 1 ]; then
  runner="[\"$qemu\", \"-L\", \"/usr/$triple\", \"/usr/$triple/lib/$loader\", \"--inhibit-cache\", \"--library-path\", \"/usr/$triple/lib:$pi_root/lib/$triple\"]"
fi
# The kit is its own checkout and its own build tree; it runs what it carries and builds nothing.
cat > "$stage/leaklab-build.json" <<EOF
{
  "source_dir": ".",
  "binary_dir": ".",
  "bin_dir": "bin",
  "system_processor": "$arch",
  "crosscompiling": "FALSE",
  "runner": $runner,
  "sanitizer": "",
  "allocator": "",
  "build_type": "Release",
  "toolchain_file": "",
  "prebuilt": "1",
  "deployed_from": "$(git describe --always --dirty 2>/dev/null || echo unknown)"
}
EOF

echo "== copying the kit ($(du -sh "$stage" | cut -f1), ${#folders[@]} labs) to $dest"
if [[ "$dest" == *:* ]]; then
  command -v rsync >/dev/null || { echo "pi-deploy.sh: rsync is needed to copy over ssh" >&2; exit 2; }
  rsync -a --delete "$stage/" "$dest/"
else
  mkdir -p "$dest"
  if command -v rsync >/dev/null; then rsync -a --delete "$stage/" "$dest/"; else cp -a "$stage/." "$dest/"; fi
fi
echo "deployed. On the board: ${dest#*:}/bin/leaklab doctor; ${dest#*:}/bin/leaklab verify all --profile pi"
