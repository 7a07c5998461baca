#!/usr/bin/env bash
# Install everything leaklab needs from Debian packages. Safe to run again:
# it installs only what is missing and says what it does.
#
#   scripts/setup.sh            everything (desktop build, tools, Pi cross builds)
#   scripts/setup.sh --no-pi    skip the Raspberry Pi cross compilers, qemu and target root
#   scripts/setup.sh --grading  only what `leaklab grade` needs (an autograder's image)
#
# The Pi builds run against one target runtime: the cross compilers' sysroot
# (/usr/<triple>, glibc and libstdc++ of one build) plus the target's zlib, unpacked
# from Debian's arm64/armhf packages into $LEAKLAB_PI_ROOT (default /opt/leaklab/pi)
# without installing them. Nothing is installed through multiarch, so the host's
# libc6 version never has to match a foreign one, and what the tests run on is the
# same on every machine.
set -euo pipefail

want_pi=1
grading_only=0
for arg in "$@"; do
  case "$arg" in
    --no-pi) want_pi=0 ;;
    --grading) want_pi=0; grading_only=1 ;;
    --pi-libs) echo "setup: --pi-libs is no longer needed: the Pi target libraries are always set up" ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "setup.sh: this script needs a Debian (bookworm) system with apt-get." >&2
  exit 2
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup.sh: run as root or install sudo" >&2; exit 2; }
  sudo="sudo"
fi

build_pkgs=(cmake ninja-build g++ make pkg-config git patch
            libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
            catch2 zlib1g-dev)
# nginx: a real server no one here wrote, probed on loopback by the tests (never started as a service).
# iproute2 brings loopback up in leaklab grade's network namespace; zip packs the autograder bundle.
tool_pkgs=(valgrind libgoogle-perftools-dev google-perftools heaptrack wrk redis-server nginx procps python3 file rsync
           iproute2 zip)
grading_pkgs=(procps python3 iproute2 util-linux)
pi_pkgs=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user)
# The workshop deck (scripts/build-slides.sh): Debian's chromium renders the PDF, poppler-utils
# checks it (pdfinfo, pdftoppm). Node.js and npm run Marp; a machine that already has a node
# of its own (with npm) keeps it, otherwise Debian's nodejs and npm are installed.
slides_pkgs=(chromium poppler-utils)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  slides_pkgs+=(nodejs npm)
fi
# Target packages unpacked into the Pi root, per Debian architecture.
pi_root=${LEAKLAB_PI_ROOT:-/opt/leaklab/pi}
# zlib for lab 17; Boost.JSON and Program_options (the runtime libraries) for a cross-built
# leaklab that scripts/pi-deploy.sh carries to a board.
pi_target_pkgs=(zlib1g zlib1g-dev libboost-json1.81.0 libboost-program-options1.81.0)
declare -A pi_triple=([arm64]=aarch64-linux-gnu [armhf]=arm-linux-gnueabihf)

pkgs=("${build_pkgs[@]}" "${tool_pkgs[@]}" "${slides_pkgs[@]}")
if [ "$grading_only" = 1 ]; then
  pkgs=("${build_pkgs[@]}" "${grading_pkgs[@]}")
fi
if [ "$want_pi" = 1 ]; then
  # apt can fetch arm64/armhf packages only once dpkg knows the architectures.
  foreign=" $(dpkg --print-foreign-architectures | tr '\n' ' ') "
  for arch in arm64 armhf; do
    if [[ "$foreign" != *" $arch "* ]]; then
      say "adding the $arch architecture to apt's package lists (nothing is installed from it)"
      $sudo dpkg --add-architecture "$arch"
      need_update=1
    fi
  done
  pkgs+=("${pi_pkgs[@]}")
fi

# Installed for this machine's own architecture (or for all): a foreign arm64/armhf copy
# of the same package, installed by hand, does not count.
native=$(dpkg --print-architecture)
installed() {
  dpkg-query -W -f='${Status} ${Architecture}\n' "$1" 2>/dev/null \
    | grep -Eq "^install ok installed ($native|all)\$"
}
# A Pi target root is ready when its stamp lists the packages it was unpacked from.
pi_root_ready() {
  local stamp="$pi_root/${pi_triple[$1]}/.leaklab-root" p
  [ -f "$stamp" ] || return 1
  for p in "${pi_target_pkgs[@]}"; do grep -q "^$p:$1 " "$stamp" || return 1; done
}

# Marp for the deck, pinned in slides/package-lock.json: npm ci when slides/node_modules is
# missing or older than the lock file. The only download the deck needs happens here.
slides_dir="$(cd "$(dirname "$0")/.." && pwd)/slides"
setup_slides() {
  [ -f "$slides_dir/package-lock.json" ] || return 0
  if [ -d "$slides_dir/node_modules" ] && [ "$slides_dir/node_modules" -nt "$slides_dir/package-lock.json" ]; then
    say "slides: Marp is installed in slides/node_modules"
    return 0
  fi
  local ok=0
  for attempt in 1 2 3; do
    say "slides: npm ci (attempt $attempt)"
    # puppeteer-core, which Marp uses, downloads no browser: the PDF uses Debian's chromium
    if (cd "$slides_dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error); then ok=1; break; fi
    sleep $((attempt * 5))
  done
  if [ "$ok" != 1 ]; then
    echo "setup.sh: npm ci failed in slides/; the deck (scripts/build-slides.sh) needs it. Re-run scripts/setup.sh later." >&2
    exit 1
  fi
  touch "$slides_dir/node_modules"
}

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
roots_missing=()
if [ "$want_pi" = 1 ]; then
  for arch in arm64 armhf; do pi_root_ready "$arch" || roots_missing+=("$arch"); done
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#roots_missing[@]} -eq 0 ] && [ -z "${need_update:-}" ]; then
  where=""; [ "$want_pi" = 0 ] || where=" and the Pi target roots are in $pi_root"
  say "all ${#pkgs[@]} packages are installed$where"
  [ "$grading_only" = 1 ] || setup_slides
  exit 0
fi

[ ${#missing[@]} -eq 0 ] || say "missing: ${missing[*]}"
[ ${#roots_missing[@]} -eq 0 ] || say "Pi target roots to set up: ${roots_missing[*]}"
# A mirror in mid-sync can fail one index; retry, then go on with what was fetched.
updated=0
for attempt in 1 2 3; do
  say "apt-get update (attempt $attempt)"
  if $sudo apt-get update -q; then updated=1; break; fi
  sleep $((attempt * 5))
done
[ "$updated" = 1 ] || say "warning: apt-get update reported errors; trying the install with the indexes it has"
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} package(s)"
  # Packages with a service (nginx, redis-server) must not start it: it would listen on every
  # interface. policy-rc.d exit 101 is Debian's "do not start"; ours is removed afterwards.
  policy=/usr/sbin/policy-rc.d ours_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# leaklab setup.sh: no service starts during the install\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"; ours_policy=1
  fi
  set +e
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  rc=$?
  set -e
  [ "$ours_policy" = 1 ] && $sudo rm -f "$policy"
  [ "$rc" = 0 ] || { echo "setup.sh: apt-get install failed (exit $rc)" >&2; exit "$rc"; }
fi

# Unpack the target packages of one architecture into $pi_root/<triple>, made whole in a
# temporary folder and moved into place, so an interrupted run leaves no half root.
setup_pi_root() {
  local arch=$1 triple=${pi_triple[$1]} tmp
  tmp=$(mktemp -d)
  # apt downloads as the _apt user where it can
  if id _apt >/dev/null 2>&1; then $sudo chown _apt "$tmp"; else chmod 777 "$tmp"; fi
  local names=()
  for p in "${pi_target_pkgs[@]}"; do names+=("$p:$arch"); done
  local ok=0
  for attempt in 1 2 3; do
    if (cd "$tmp" && $sudo apt-get download -q "${names[@]}"); then ok=1; break; fi
    sleep $((attempt * 5))
  done
  if [ "$ok" != 1 ]; then
    echo "setup.sh: could not download ${names[*]} from the Debian mirror; the Pi builds need them." >&2
    echo "          Re-run scripts/setup.sh later, or scripts/setup.sh --no-pi to skip the Pi builds." >&2
    $sudo rm -rf "$tmp"; exit 1
  fi
  mkdir -p "$tmp/root"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  # zlib1g-dev's libz.so points at /lib/<triple>/... on the host: point it inside the root.
  local so="$tmp/root/usr/lib/$triple/libz.so"
  if [ -L "$so" ]; then
    ln -sfn "../../../lib/$triple/$(basename "$(readlink "$so")")" "$so"
  fi
  rm -rf "$tmp/root/usr/share"
  (cd "$tmp" && for deb in *.deb; do dpkg-deb -W --showformat='${Package}:${Architecture} ${Version}\n' "$deb"; done) \
    > "$tmp/root/.leaklab-root"
  $sudo mkdir -p "$pi_root"
  $sudo rm -rf "$pi_root/$triple"
  $sudo mv "$tmp/root" "$pi_root/$triple"
  $sudo rm -rf "$tmp"
  say "Pi target root for $arch: $pi_root/$triple ($(paste -sd',' "$pi_root/$triple/.leaklab-root"))"
}
for arch in "${roots_missing[@]}"; do setup_pi_root "$arch"; done
[ "$grading_only" = 1 ] || setup_slides

# redis-server and nginx are installed, not started: leaklab starts its own, on loopback.
say "done"
