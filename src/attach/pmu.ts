// The kprobe and uprobe PMUs (4.17+): perf event types that need no tracefs event and vanish with their fd.
import { readFileSync } from 'node:fs';
import { AttachError } from '../errors.js';
import type { PerfEventRequest } from '../kernel/perf-event.js';

/** Kernel function probes or user-space probes: each has its own PMU and tracefs events file. */
export type ProbeFamily = 'kprobe' | 'uprobe';

export interface ProbePmu {
  /** perf_event_attr.type for this PMU. */
  type: number;
  /** The config bit that makes a return probe, from format/retprobe ("config:0"). */
  retprobeBit: number;
  /** Where a uprobe's ref_ctr_offset starts in config, from format/ref_ctr_offset ("config:32-63"; 4.20+). */
  refCtrShift?: number;
}

/**
 * The perf event of a PMU probe: the function (or path) in config1, the offset in config2, the
 * retprobe bit and a uprobe's semaphore offset (ref_ctr_offset) in config.
 */
export function pmuProbeRequest(pmu: ProbePmu, target: string, offset: bigint, retprobe: boolean, refCtrOffset = 0n): PerfEventRequest {
  let config = retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n;
  if (refCtrOffset !== 0n) {
    if (pmu.refCtrShift === undefined) throw new AttachError("this kernel's uprobe PMU takes no semaphore offset (ref_ctr_offset needs 4.20)");
    config |= refCtrOffset << BigInt(pmu.refCtrShift);
  }
  return { type: pmu.type, config, config1String: target, config2: offset };
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
  const firstBit = (field: string): number | undefined => {
    try {
      const match = /^config:(\d+)/.exec(readFileSync(`${root}/${family}/format/${field}`, 'utf8').trim());
      return match ? Number(match[1]) : undefined;
    } catch {
      return undefined;
    }
  };
  // Kernels with the PMU but without the retprobe format file use bit 0.
  const retprobeBit = firstBit('retprobe') ?? 0;
  const refCtrShift = family === 'uprobe' ? firstBit('ref_ctr_offset') : undefined;
  return { type, retprobeBit, ...(refCtrShift === undefined ? {} : { refCtrShift }) };
}
