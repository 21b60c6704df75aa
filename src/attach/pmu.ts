// The kprobe and uprobe PMUs (4.17+): perf event types that need no tracefs event and vanish with their fd.
import { readFileSync } from 'node:fs';
import type { PerfEventRequest } from '../kernel/perf-event.js';

export type ProbeFamily = 'kprobe' | 'uprobe';

export interface ProbePmu {
  /** perf_event_attr.type for this PMU. */
  type: number;
  /** The config bit that makes a return probe, from format/retprobe ("config:0"). */
  retprobeBit: number;
}

/** The perf event of a PMU probe: the function (or path) in config1, the offset in config2, the retprobe bit in config. */
export function pmuProbeRequest(pmu: ProbePmu, target: string, offset: bigint, retprobe: boolean): PerfEventRequest {
  return { type: pmu.type, config: retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n, config1String: target, config2: offset };
}

const PMU_ROOT = '/sys/bus/event_source/devices';

/** The PMU for kprobes or uprobes, or undefined when the kernel has none. */
export function probePmu(family: ProbeFamily, root = PMU_ROOT): ProbePmu | undefined {
  let typeText: string;
  try {
    typeText = readFileSync(`${root}/${family}/type`, 'utf8');
  } catch {
    return undefined;
  }
  const type = Number.parseInt(typeText.trim(), 10);
  if (!Number.isSafeInteger(type)) return undefined;
  let retprobeBit = 0;
  try {
    const match = /^config:(\d+)/.exec(readFileSync(`${root}/${family}/format/retprobe`, 'utf8').trim());
    if (match) retprobeBit = Number(match[1]);
  } catch {
    // Kernels with the PMU but without the format file use bit 0.
  }
  return { type, retprobeBit };
}
