// Resource limits for a run: the open-file limit raised to its hard limit before anything else loads.
import { RLIMIT, RLIM_INFINITY, getrlimit, setrlimit } from '../native.js';

/**
 * Raises the soft open-file limit to the hard limit, as bpftool does: a load holds an fd per map,
 * program, link and perf event (one per CPU for perf buffers). Returns the limit now in force.
 */
export function raiseOpenFileLimit(): number {
  const { soft, hard } = getrlimit(RLIMIT.NOFILE);
  if (soft !== hard) {
    try {
      setrlimit(RLIMIT.NOFILE, hard, hard);
      return hard === RLIM_INFINITY ? Number.MAX_SAFE_INTEGER : hard;
    } catch {
      // Not allowed to: keep the soft limit; a load that needs more says so.
    }
  }
  return soft === RLIM_INFINITY ? Number.MAX_SAFE_INTEGER : soft;
}

/** Open files Node itself and the tool's modules hold, before any kernel object. */
export const BASE_OPEN_FILES = 32;

/** Refuses a run whose kernel objects need more fds than the limit allows, before any is created. */
export function checkOpenFiles(needed: number, what: string): string | undefined {
  const { soft } = getrlimit(RLIMIT.NOFILE);
  if (soft === RLIM_INFINITY || soft >= needed + BASE_OPEN_FILES) return undefined;
  return `${what} needs about ${needed} open files and the limit is ${soft} (ulimit -n); raise it to at least ${needed + BASE_OPEN_FILES}`;
}
