#!/usr/bin/env bash
# Installs what the test suite needs and this machine lacks (Debian/Ubuntu, as root): clang with
# the BPF target, llvm-readelf, make and a C compiler. test/vm/setup.sh installs the qemu side.
set -euo pipefail

need=()
command -v clang >/dev/null || need+=(clang)
command -v llvm-readelf >/dev/null || need+=(llvm)
command -v make >/dev/null || need+=(make)
command -v cc >/dev/null || need+=(gcc)
[ -e /usr/include/linux/bpf.h ] || need+=(linux-libc-dev)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${need[*]}; run as root or install them" >&2
  exit 1
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
