#!/usr/bin/env bash
# Runs the kernel suite (test/kernel/*.test.ts, and again the tests of test/host whose checks
# follow the kernel's kprobes and trampolines: cli, attach, tool-shaped objects and their records, live output, sampled stacks and
# CO-RE; LKB_TEST_KERNEL names the kernel) inside one Debian kernel under qemu.
#
#   test/vm/kernel-suite.sh <kernel> [tap-file]
#
# The spec reporter goes to stdout; a TAP copy is written to tap-file (default $LKB_TAP_FILE,
# as test/run-all.sh sets it) for counting.
# Exit status: the suite's, or run.sh's (124 timeout, 125 the VM failed, e.g. a kernel panic).
set -uo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: $0 <kernel> [tap-file]" >&2; exit 2; }
kernel=$1 tap=${2:-${LKB_TAP_FILE:-}}

# The guest writes its TAP file into the checkout, which it shares read-write; one per kernel, so
# that runs in different kernels do not share it.
guest_tap="test/vm/.results/kprobe-$kernel.tap"
mkdir -p test/vm/.results && rm -f "$guest_tap"
# Under TCG on two cores the suite takes 15-20 minutes, more while the host is busy: the deadline
# catches a hang without cutting a slow run short.
test/vm/run.sh --kernel "$kernel" --timeout "${LKB_VM_TIMEOUT:-2400}" -- env LKB_TEST_KERNEL="$kernel" \
  node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$guest_tap" test/kernel/*.test.ts \
  test/host/cli.test.ts test/host/attach.test.ts test/host/tools.test.ts test/host/records.test.ts test/host/live.test.ts test/host/core.test.ts test/host/profile.test.ts
status=$?
[ -n "$tap" ] && cp "$guest_tap" "$tap" 2>/dev/null
exit $status
