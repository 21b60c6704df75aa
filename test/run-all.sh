#!/usr/bin/env bash
# The whole test suite: unit tests, host-kernel tests, and the kprobe suite inside each Debian
# kernel under qemu (LKB_VM_KERNELS, default "6.1 6.12"). Prints each suite's pass/fail counts.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "run-all: the kernel suites load BPF programs and need root; run as root (sudo npm test)" >&2
  exit 1
fi

test/install-deps.sh || exit 1
make -s -C test/fixtures && make -s -C examples uprobe_target || exit 1
# The addon as native/ now says: npm ci keeps an existing build/, which would test a stale addon.
npm run --silent build:addon >/dev/null || exit 1
npx tsc -p tsconfig.build.json || exit 1
# The API reference: every public export documented, or the build of it fails.
docs=$(npm run --silent docs 2>&1) || { echo "$docs" >&2; exit 1; }

results=$(mktemp -d "${TMPDIR:-/tmp}/lkb-results.XXXXXX")
trap 'rm -rf "$results"' EXIT
summary=()
failed=0

# run_suite <name> <command...>: runs one suite with the spec reporter on the terminal and a TAP
# copy for the counts.
run_suite() {
  local name=$1 tap="$results/$(echo "$1" | tr -c 'A-Za-z0-9' '_').tap"
  shift
  echo "=== $name"
  LKB_TAP_FILE=$tap "$@"
  local status=$?
  local pass fail
  pass=$(grep -Eo '^# pass [0-9]+' "$tap" 2>/dev/null | awk '{print $3}' | tail -1)
  fail=$(grep -Eo '^# fail [0-9]+' "$tap" 2>/dev/null | awk '{print $3}' | tail -1)
  [ -z "$pass" ] && pass=0
  [ -z "$fail" ] && fail=0
  if [ "$status" -ne 0 ] || [ "$fail" -ne 0 ]; then
    failed=1
    summary+=("$(printf '%-24s pass %4s  fail %4s  FAILED (exit %s)' "$name" "$pass" "$fail" "$status")")
  else
    summary+=("$(printf '%-24s pass %4s  fail %4s' "$name" "$pass" "$fail")")
  fi
}

node_test() {
  node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$LKB_TAP_FILE" "$@"
}

run_suite "unit" node_test test/unit/*.test.ts
run_suite "host kernel" node_test --test-concurrency=1 test/host/*.test.ts
for kernel in ${LKB_VM_KERNELS:-6.1 6.12}; do
  run_suite "kprobe (Debian $kernel)" test/vm/kernel-suite.sh "$kernel"
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $failed
