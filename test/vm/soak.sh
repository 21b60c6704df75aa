#!/usr/bin/env bash
# Runs the whole kprobe suite N times in a row in each guest kernel and counts what happened:
# passed, failed (a test failed), timed out, or the VM died (kernel panic). Stops nothing early:
# every run is counted. Before the suite runs, each kernel also survives test/vm/poke-stress.sh
# (static branches patched while system calls run), the case that once crashed the 6.12 guest.
#
#   npm run vm:soak -- [--runs N] [--kernels "6.1 6.12"] [--poke-rounds R]
#
# Exit status 0 only if every run of every kernel passed. Logs: test/vm/.results/soak/.
set -uo pipefail
cd "$(dirname "$0")/../.."

RUNS=10 KERNELS=${LKB_VM_KERNELS:-6.1 6.12} POKE=300
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --kernels) KERNELS=$2; shift 2 ;;
    --poke-rounds) POKE=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--kernels \"6.1 6.12\"] [--poke-rounds R]" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "soak: --runs must be a positive number" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || { echo "soak: the kernel suite loads BPF programs; run as root" >&2; exit 1; }
test/install-deps.sh && make -s -C test/fixtures && make -s -C examples uprobe_target && npx tsc -p tsconfig.build.json || exit 1

logs=test/vm/.results/soak
mkdir -p "$logs"
summary=()
failed=0
for kernel in $KERNELS; do
  pass=0 fail=0 timeout=0 died=0 tests=0
  log="$logs/poke-$kernel.log"
  if test/vm/run.sh --kernel "$kernel" --timeout 900 -- test/vm/poke-stress.sh "$POKE" >"$log" 2>&1; then
    poke="poke-stress $POKE rounds: survived"
  else
    poke="poke-stress $POKE rounds: FAILED (see $log)"
    failed=1
  fi
  echo "soak: $kernel: $poke"
  for run in $(seq 1 "$RUNS"); do
    log="$logs/$kernel-run$run.log"
    tap="$logs/$kernel-run$run.tap"
    start=$(date +%s)
    test/vm/kernel-suite.sh "$kernel" "$tap" >"$log" 2>&1
    status=$?
    n=$(grep -Eo '^# pass [0-9]+' "$tap" 2>/dev/null | awk '{print $3}' | tail -1)
    case $status in
      0) pass=$((pass + 1)); tests=${n:-0}; what="passed ($tests tests)" ;;
      124) timeout=$((timeout + 1)); what="TIMED OUT" ;;
      125) died=$((died + 1)); what="VM DIED ($(grep -m1 -Eo 'Oops: [^[]*|Kernel panic[^|]*|soft lockup' "$log" || echo 'no status'))" ;;
      *) fail=$((fail + 1)); what="FAILED (exit $status)" ;;
    esac
    echo "soak: $kernel run $run/$RUNS: $what in $(($(date +%s) - start)) s"
  done
  [ $((fail + timeout + died)) -eq 0 ] || failed=1
  summary+=("$(printf '%-6s %2d runs: %2d passed, %d failed, %d timed out, %d VM died; %s' "$kernel" "$RUNS" "$pass" "$fail" "$timeout" "$died" "$poke")")
done
echo
echo "=== soak summary"
printf '%s\n' "${summary[@]}"
exit $failed
