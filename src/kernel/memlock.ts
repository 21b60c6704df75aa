// The memory-lock limit: kernels before 5.11 charge maps and programs to RLIMIT_MEMLOCK, so it is raised as libbpf does.
import { RLIMIT, RLIM_INFINITY, setrlimit } from '../native.js';
import { kernelVersionCode } from './program.js';

/** The first kernel that charges BPF memory to the memory cgroup instead (5.11). */
const MEMCG_ACCOUNTING = (5 << 16) | (11 << 8);
let raised = false;

/** Raises RLIMIT_MEMLOCK to unlimited on kernels before 5.11, once; where that is refused, creation fails with a hint. */
export function raiseMemlockLimit(version: number = kernelVersionCode()): void {
  if (raised || version >= MEMCG_ACCOUNTING) return;
  raised = true;
  try {
    setrlimit(RLIMIT.MEMLOCK, RLIM_INFINITY, RLIM_INFINITY);
  } catch {
    // Not privileged to: map creation will fail with EPERM, and its hint names the memlock limit.
  }
}
