#!/usr/bin/env bash
# Installs what the benchmarks measure against (Debian/Ubuntu, as root): Debian's libbpf for the C
# reference consumers and loaders, bpftool and bpftrace, jq and GNU time for the reference pipelines, and
# clang for the benchmark objects.
set -euo pipefail
"$(dirname "$0")/../test/install-deps.sh"
need=()
[ -e /usr/include/bpf/libbpf.h ] || need+=(libbpf-dev)
command -v bpftrace >/dev/null || need+=(bpftrace)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v jq >/dev/null || need+=(jq)
[ -x /usr/bin/time ] || need+=(time)
[ ${#need[@]} -eq 0 ] && exit 0
[ "$(id -u)" -eq 0 ] || { echo "bench/install-deps: missing ${need[*]}; run as root" >&2; exit 1; }
echo "bench/install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${need[@]}" >/dev/null; }
apt_install 2>/dev/null || { apt-get update -qq && apt_install; }
