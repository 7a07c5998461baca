#!/usr/bin/env bash
# Install everything leaklab needs from Debian packages. Safe to run again:
# it installs only what is missing and says what it does.
#
#   scripts/setup.sh            everything (desktop build, tools, Pi cross builds)
#   scripts/setup.sh --no-pi    skip the Raspberry Pi cross compilers and qemu
#   scripts/setup.sh --pi-libs  also try the Pi target libraries (multiarch zlib) now
set -euo pipefail

want_pi=1
force_optional=0
for arg in "$@"; do
  case "$arg" in
    --no-pi) want_pi=0 ;;
    --pi-libs) force_optional=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
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

build_pkgs=(cmake ninja-build g++ make pkg-config git
            libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
            catch2 zlib1g-dev)
tool_pkgs=(valgrind libgoogle-perftools-dev google-perftools heaptrack wrk redis-server procps python3 file)
pi_pkgs=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user)
# Target zlib for the Pi builds of lab 17, through Debian multiarch. Multiarch packages
# must match the host's versions exactly, which a mirror in mid-sync can break: these
# are installed on a best-effort basis and only lab 17's Pi build needs them.
pi_multiarch_pkgs=(zlib1g-dev:arm64 zlib1g-dev:armhf)

pkgs=("${build_pkgs[@]}" "${tool_pkgs[@]}")
if [ "$want_pi" = 1 ]; then
  # The Pi presets link zlib for arm64/armhf: enable Debian multiarch for both.
  for arch in arm64 armhf; do
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
      say "enabling multiarch for $arch"
      $sudo dpkg --add-architecture "$arch"
    fi
  done
  pkgs+=("${pi_pkgs[@]}")
fi

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
optional_missing=()
if [ "$want_pi" = 1 ]; then
  for p in "${pi_multiarch_pkgs[@]}"; do installed "$p" || optional_missing+=("$p"); done
fi

if [ ${#missing[@]} -eq 0 ] && { [ "$force_optional" = 0 ] || [ ${#optional_missing[@]} -eq 0 ]; }; then
  say "all ${#pkgs[@]} required packages are installed; nothing to do"
  [ ${#optional_missing[@]} -eq 0 ] || say "note: optional ${optional_missing[*]} not installed (only lab 17's Pi build needs them; run with --pi-libs to try)"
  exit 0
fi

say "missing: ${missing[*]} ${optional_missing[*]}"
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
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ${#optional_missing[@]} -gt 0 ]; then
  say "installing Pi target libraries: ${optional_missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${optional_missing[@]}"; then
    say "warning: could not install ${optional_missing[*]} (multiarch versions out of step with the host's?);"
    say "         everything else is installed; only lab 17's Pi build needs these. Re-run setup.sh later."
  fi
fi
# redis-server's package starts a system service on port 6379; leaklab starts its own on loopback.
say "done"
