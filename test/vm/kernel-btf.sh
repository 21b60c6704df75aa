#!/usr/bin/env bash
# Prints the path of a guest kernel's BTF (/sys/kernel/btf/vmlinux), saved from the guest once and
# cached beside the kernel (${LKB_VM_CACHE:-/var/cache/load-kp-bpf/vm}/btf/<release>.btf). Unit tests
# match CO-RE relocations against these files; fixtures get their vmlinux.h from one of them.
#
#   test/vm/kernel-btf.sh <kernel>      (6.1, 6.12, or anything test/vm/setup.sh takes)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
[ $# -eq 1 ] || { echo "usage: $0 <kernel>" >&2; exit 2; }
eval "$("$HERE/setup.sh" --quiet "$1")"
CACHE=${LKB_VM_CACHE:-/var/cache/load-kp-bpf/vm}
[ -w "$(dirname "$CACHE")" ] || [ -w "$CACHE" ] || CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/load-kp-bpf/vm
mkdir -p "$CACHE/btf"
out="$CACHE/btf/$LKB_VM_RELEASE.btf"
if [ ! -s "$out" ]; then
  # The guest writes into the checkout (shared read-write); the file then moves to the cache.
  mkdir -p "$REPO/test/vm/.results"
  tmp="$REPO/test/vm/.results/btf-$LKB_VM_RELEASE.$$"
  LKB_VM_QUIET=1 "$HERE/run.sh" --kernel "$1" -- cp /sys/kernel/btf/vmlinux "$tmp" >&2
  [ -s "$tmp" ] || { echo "kernel-btf: the $1 guest gave no BTF" >&2; exit 1; }
  mv "$tmp" "$out"
fi
echo "$out"
