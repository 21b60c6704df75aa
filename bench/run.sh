#!/usr/bin/env bash
# Runs one benchmark: npm run bench -- <name> [options]. Each prints its figures beside a reference
# measured in the same run, and the ratio. Benchmarks: stream, map-dump, load, attach, decode, metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-}
if [ -z "$name" ] || [ ! -d "bench/$name" ]; then
  echo "usage: npm run bench -- <name> [options]; benchmarks: $(cd bench && ls -d */ | tr -d / | tr '\n' ' ')" >&2
  exit 2
fi
shift
[ "$(id -u)" -eq 0 ] || { echo "bench: loading BPF programs needs root" >&2; exit 1; }
bench/install-deps.sh
make -s -C test/fixtures >/dev/null
npx tsc -p tsconfig.build.json
[ -f "bench/$name/Makefile" ] && make -s -C "bench/$name"
exec node --import tsx "bench/$name/run.ts" "$@"
