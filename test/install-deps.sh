#!/usr/bin/env bash
# Installs every tool the test suite calls that this machine lacks (Debian/Ubuntu, as root).
# test/vm/setup.sh installs the qemu side; bench/install-deps.sh the benchmarks' references;
# scripts/install-build-deps.sh the prebuilt addons' cross compiler and an arm64 Node.
#
#   test/install-deps.sh          install what is missing
#   test/install-deps.sh --check  only list what is missing (exit 1 if anything is)
set -euo pipefail

# test/host/install.test.ts packs the project, which builds the prebuilt addons: their tools too.
"$(dirname "$0")/../scripts/install-build-deps.sh" "$@"

# command -> Debian package. Keep test/support/tools.ts in step: it names this script for each.
TOOLS=(
  clang:clang
  llvm-readelf:llvm
  llvm-objdump:llvm
  llvm-dwarfdump:llvm
  # test/fixtures/Makefile strips DWARF (tool_*) and removes BTF (legacy_*) with these.
  llvm-strip:llvm
  llvm-objcopy:llvm
  bpftool:bpftool
  make:make
  cc:gcc
  c++:g++
  nm:binutils
  addr2line:binutils
  objcopy:binutils
  c++filt:binutils
  objdump:binutils
  readelf:binutils
  strip:binutils
  tmux:tmux
  ip:iproute2
  modprobe:kmod
  # A real Prometheus scrapes --metrics; promtool checks every exposition.
  prometheus:prometheus
  promtool:prometheus
  # A real browser opens the flame graphs the tests write.
  chromium-headless-shell:chromium-headless-shell
)

need=()
for entry in "${TOOLS[@]}"; do
  command -v "${entry%%:*}" >/dev/null || need+=("${entry#*:}")
done
[ -e /usr/include/linux/bpf.h ] || need+=(linux-libc-dev)
# libbpf's headers (bpf_helpers.h, bpf_core_read.h, bpf_tracing.h) for the libbpf-style fixtures.
[ -e /usr/include/bpf/bpf_core_read.h ] || need+=(libbpf-dev)
[ -e "/usr/include/$(uname -m)-linux-gnu/sys/sdt.h" ] || [ -e /usr/include/sys/sdt.h ] || need+=(systemtap-sdt-dev)
# Unique, in order.
mapfile -t need < <(printf '%s\n' "${need[@]}" | awk 'NF && !seen[$0]++')
. "$(dirname "$0")/../scripts/apt-missing.sh"
apt_missing install-deps "${1:-}" "${need[@]}"
