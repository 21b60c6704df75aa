#!/usr/bin/env bash
# Installs what building the prebuilt addons needs (scripts/prebuild.sh) that this machine lacks (Debian/Ubuntu, as root).
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

need=()
for entry in "${TOOLS[@]}"; do
  command -v "${entry%%:*}" >/dev/null || need+=("${entry#*:}")
done
mapfile -t need < <(printf '%s\n' "${need[@]}" | awk 'NF && !seen[$0]++')
[ ${#need[@]} -eq 0 ] && exit 0

if [ "${1:-}" = --check ]; then
  echo "install-build-deps: missing ${need[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-build-deps: missing ${need[*]}; run as root or install them" >&2
  exit 1
fi
echo "install-build-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${need[@]}" >/dev/null; }
apt_install 2>/dev/null || { apt-get update -qq && apt_install; }
