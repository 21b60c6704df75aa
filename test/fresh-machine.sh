#!/usr/bin/env bash
# Checks the README's two commands on a fresh Debian 12 machine: a minimal root made with
# debootstrap, given only what a new machine of this kind ships (build-essential, python3, llvm,
# jq, xz-utils, git; this machine's node 20, npm, npm configuration, node headers and CA bundle),
# a fresh clone of this repository's HEAD, then `npm ci && npm run demo` and `npm ci && npm test`
# under chroot. Nothing else is installed by hand: the project's scripts must do the rest.
#
#   test/fresh-machine.sh [--root DIR] [--demo-only] [--keep]
#
# As root. The root is made once (about a minute) and reused; --keep leaves the clone in it.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd -P)
ROOT=/var/tmp/lkb-fresh-root DEMO_ONLY=0 KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT=$2; shift 2 ;;
    --demo-only) DEMO_ONLY=1; shift ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--root DIR] [--demo-only] [--keep]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: run as root (debootstrap, chroot, mounts)" >&2; exit 1; }
say() { echo "fresh-machine: $*" >&2; }

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  say "debootstrap --variant=minbase bookworm $ROOT"
  debootstrap --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian >/dev/null
  cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/" 2>/dev/null && rm -f "$ROOT/etc/apt/sources.list"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  say "installing what a new machine ships: build-essential python3 llvm jq xz-utils git"
  chroot "$ROOT" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -q --no-install-recommends build-essential python3 llvm jq xz-utils git ca-certificates >/dev/null'
  # This machine's node 20 and npm, with its npm configuration, node headers and CA bundle.
  cp /usr/bin/node "$ROOT/usr/bin/node"
  mkdir -p "$ROOT/usr/lib/node_modules" "$ROOT/usr/include" "$ROOT/usr/etc"
  cp -a /usr/lib/node_modules/npm "$ROOT/usr/lib/node_modules/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/bin/npx"
  cp -a /usr/include/node "$ROOT/usr/include/"
  [ -f /usr/etc/npmrc ] && cp /usr/etc/npmrc "$ROOT/usr/etc/npmrc"
  [ -f /root/.npmrc ] && cp /root/.npmrc "$ROOT/root/.npmrc"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
fi

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -R "${mounted[i]}" 2>/dev/null || umount -lR "${mounted[i]}" || true; done
  [ "$KEEP" = 1 ] || rm -rf "$ROOT/root/load-kp-bpf"
}
trap cleanup EXIT
for m in proc sys dev; do
  mount --rbind "/$m" "$ROOT/$m" && mount --make-rslave "$ROOT/$m" && mounted+=("$ROOT/$m")
done

rm -rf "$ROOT/root/load-kp-bpf"
git clone -q "$REPO" "$ROOT/root/load-kp-bpf"
say "clone of $(git -C "$REPO" rev-parse --short HEAD) in $ROOT/root/load-kp-bpf"
run() {
  local start=$SECONDS
  say "\$ $1"
  chroot "$ROOT" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
    sh -c "cd /root/load-kp-bpf && $1"
  local status=$?
  say "exit $status after $((SECONDS - start)) s: $1"
  return $status
}
run 'npm ci && npm run demo' </dev/null
[ "$DEMO_ONLY" = 1 ] || run 'npm ci && npm test'
