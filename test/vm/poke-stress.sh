#!/bin/sh
# Run inside a guest (test/vm/run.sh): switches the syscall tracepoints on and off while other
# processes make system calls on every vCPU, so that the kernel patches the static branches in
# syscall_trace_enter (int3-based text_poke_bp) while they run. A guest that executes a stale
# int3 dies with "Oops: int3"; one that survives prints the number of switches.
set -eu
ROUNDS=${1:-300}
T=/sys/kernel/tracing
busy() { while :; do dd if=/dev/zero of=/dev/null bs=1 count=20000 2>/dev/null; done; }
busy & p1=$!
busy & p2=$!
trap 'kill $p1 $p2 2>/dev/null' EXIT
i=0
while [ "$i" -lt "$ROUNDS" ]; do
  echo 1 >$T/events/syscalls/sys_enter_bpf/enable
  echo 1 >$T/events/syscalls/sys_exit_bpf/enable
  echo 0 >$T/events/syscalls/sys_enter_bpf/enable
  echo 0 >$T/events/syscalls/sys_exit_bpf/enable
  i=$((i + 1))
done
echo "poke-stress: $ROUNDS rounds survived on $(uname -r), $(nproc) vCPUs"
