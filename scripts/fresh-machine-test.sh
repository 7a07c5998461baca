#!/usr/bin/env bash
# Run the README's two commands on a fresh Debian bookworm machine: a debootstrap'd
# minbase root, entered with chroot inside a private mount namespace. The repository
# is cloned there with git from this checkout's committed HEAD, exactly as a new
# user would clone it.
#
#   scripts/fresh-machine-test.sh [--multiarch without|with|both] [--only main|tests]
#                                 [--workdir DIR] [--keep]
#
#   --multiarch with     install zlib1g-dev:arm64 and :armhf through Debian multiarch
#                        first (which brings libc6:arm64/armhf into /lib/<triple>, the
#                        first folder the cross loader searches), as a machine that has
#                        them would be
#   --multiarch without  a machine with no foreign packages (the default)
#   --only main|tests    run only the README's main job, or only its test command
#   --workdir DIR        where the roots go (default /var/tmp/leaklab-fresh)
#   --keep               keep the roots afterwards (they are removed by default)
#
# Needs root (debootstrap, chroot, mounts) and the network to Debian's mirror, the one
# this machine's apt sources name. Prints the time of each step and the test summary;
# exits non-zero if any step fails. A full run (setup, build, every test) takes about
# 40 minutes per variant on 2 cores.
set -euo pipefail

multiarch=without
only=""
workdir=/var/tmp/leaklab-fresh
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --multiarch) multiarch=${2:?--multiarch needs without, with or both}; shift 2 ;;
    --only) only=${2:?--only needs main or tests}; shift 2 ;;
    --workdir) workdir=${2:?--workdir needs a folder}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "fresh-machine-test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$multiarch" in without|with) variants=("$multiarch") ;; both) variants=(without with) ;;
  *) echo "fresh-machine-test.sh: --multiarch takes without, with or both" >&2; exit 2 ;; esac
case "$only" in ""|main|tests) ;; *) echo "fresh-machine-test.sh: --only takes main or tests" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-test.sh: run as root (debootstrap, chroot and mounts need it)" >&2; exit 2; }

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
head=$(git -C "$repo" rev-parse --short HEAD)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "fresh-machine-test: note: uncommitted changes are not tested; the clone is of HEAD ($head)"
fi

say() { printf 'fresh-machine-test: %s\n' "$*"; }
now() { date +%s; }

# The mirror this machine's apt uses (deb822 sources or the one-line format).
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "fresh-machine-test.sh: no Debian mirror found in /etc/apt/sources*" >&2; exit 2; }

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
fi

mkdir -p "$workdir"
base=$workdir/base
if [ ! -f "$base/.leaklab-base-ok" ]; then
  say "debootstrap bookworm (minbase) into $base"
  t0=$(now)
  rm -rf "$base"
  debootstrap --variant=minbase bookworm "$base" "$mirror" > "$workdir/debootstrap.log" 2>&1 \
    || { tail -n 20 "$workdir/debootstrap.log" >&2; exit 1; }
  touch "$base/.leaklab-base-ok"
  say "base root ready in $(( $(now) - t0 )) s"
fi

# Run one variant: a copy of the base root, the repository cloned into it, the commands.
run_variant() {
  local variant=$1 root=$workdir/root-$1 log=$workdir/$1.log
  rm -rf "$root"
  cp -a "$base" "$root"
  # The machine's apt sources (main, updates, security), its resolver; no services start.
  rm -f "$root/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  [ ! -f /etc/apt/sources.list ] || cp /etc/apt/sources.list "$root/etc/apt/sources.list"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  # The machine's network trust, as every machine of this kind has it: its own CA
  # certificates (ca-certificates, installed below, adds them to the system bundle) and
  # npm's global config, which points npm at that bundle.
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
  [ ! -f /etc/npmrc ] || cp /etc/npmrc "$root/etc/npmrc"
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  mkdir -p "$root/src"

  local main='scripts/setup.sh && cmake --preset dev && cmake --build --preset dev && build/dev/bin/leaklab compare 01'
  local tests='scripts/setup.sh && cmake --workflow --preset ci'
  local steps
  steps=$(cat <<EOF
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
step() { echo "=== \$1 ==="; local t0=\$(date +%s) rc=0; shift; bash -c "\$*" || rc=\$?; echo "=== took \$(( \$(date +%s) - t0 )) s, exit \$rc ==="; return \$rc; }
step "git for the clone" "apt-get update -q && apt-get install -y -q --no-install-recommends git ca-certificates"
if [ "$variant" = with ]; then
  step "multiarch zlib1g-dev:arm64 and :armhf" "dpkg --add-architecture arm64 && dpkg --add-architecture armhf && apt-get update -q && apt-get install -y -q --no-install-recommends zlib1g-dev:arm64 zlib1g-dev:armhf && ls -l /lib/aarch64-linux-gnu/libc.so.6 /lib/arm-linux-gnueabihf/libc.so.6"
fi
step "git clone" "git clone -q /src /root/leaklab && git -C /root/leaklab log --oneline -1"
cd /root/leaklab
[ "$only" = tests ] || step "README main job: $main" "$main"
[ "$only" = main ] || step "README tests: $tests" "$tests"
EOF
)
  say "[$variant] running in $root (log: $log)"
  local t0 rc=0
  t0=$(now)
  # A private mount namespace: the mounts vanish with it, whatever happens.
  unshare --mount --propagation private bash -c '
    set -e
    root=$1 repo=$2
    mount -t proc proc "$root/proc"
    mount -t sysfs sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o size=4g tmpfs "$root/dev/shm"
    mount --bind "$repo" "$root/src"
    mount -o remount,bind,ro "$root/src"
    exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 CI=true bash -c "$3"
  ' _ "$root" "$repo" "$steps" > "$log" 2>&1 || rc=$?
  local took=$(( $(now) - t0 ))
  grep -E '^=== ' "$log" | sed "s/^/fresh-machine-test: [$variant] /"
  grep -E 'tests passed|tests failed|Total Test time' "$log" | tail -n 3 | sed "s/^/fresh-machine-test: [$variant] /" || true
  if [ "$rc" -ne 0 ]; then
    say "[$variant] FAILED (exit $rc) after $took s; the last lines of $log:"
    tail -n 40 "$log" >&2
  else
    say "[$variant] passed in $took s ($(( took / 60 )) min $(( took % 60 )) s), commit $head"
  fi
  [ "$keep" = 1 ] || rm -rf "$root"
  return "$rc"
}

status=0
for v in "${variants[@]}"; do run_variant "$v" || status=1; done
exit "$status"
