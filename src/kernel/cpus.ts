// CPUs of this machine: the possible ones (per-CPU map slots) and the online ones (per-CPU perf buffers); the deepest stack perf and BPF record.
import { readFileSync } from 'node:fs';
import { KernelError } from '../errors.js';

/** The CPUs of a kernel CPU list ("0-3,8,10-11"). */
export function parseCpuList(text: string, what = 'CPU list'): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new KernelError(`cannot parse the ${what} ${JSON.stringify(text.trim())}`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** Number of possible CPUs (per-CPU maps hold one value slot for each). */
export function possibleCpuCount(text = readFileSync('/sys/devices/system/cpu/possible', 'utf8')): number {
  return parseCpuList(text, 'possible CPUs').length;
}

let cpuCount: number | undefined;

/** possibleCpuCount() of this machine, read once: it cannot change while the system runs. */
export function machineCpuCount(): number {
  return (cpuCount ??= possibleCpuCount());
}

/** The CPUs online now. */
export function onlineCpus(text = readFileSync('/sys/devices/system/cpu/online', 'utf8')): number[] {
  return parseCpuList(text, 'online CPUs');
}

/** The kernel's default kernel.perf_event_max_stack, where the sysctl cannot be read. */
const DEFAULT_MAX_STACK = 127;

/** kernel.perf_event_max_stack: the most frames bpf_get_stackid() and perf record of one stack. */
export function maxStackDepth(text?: string): number {
  let source = text;
  if (source === undefined) {
    try {
      source = readFileSync('/proc/sys/kernel/perf_event_max_stack', 'utf8');
    } catch {
      return DEFAULT_MAX_STACK;
    }
  }
  const depth = Number(source.trim());
  if (!Number.isInteger(depth) || depth < 1) throw new KernelError(`cannot parse kernel.perf_event_max_stack ${JSON.stringify(source.trim())}`);
  return depth;
}
