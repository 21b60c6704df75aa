// Sampling: SEC("perf_event") programs on a hardware or software perf event, one event per online CPU, by frequency or period.
import { joined, type Wording } from '../wording.js';
import { readFileSync } from 'node:fs';
import { ERRNO, PERF_TYPE } from '../abi.js';
import { AttachError, KernelError, UsageError } from '../errors.js';
import { onlineCpus } from '../kernel/cpus.js';
import { PerfEvent, type PerfEventRequest } from '../kernel/perf-event.js';
import type { BpfProgram } from '../kernel/program.js';
import type { ResourceScope } from '../kernel/scope.js';
import { closestNames, printable } from '../text.js';
import type { Attachment } from './attachment.js';
import { openAndAttachPerfEvent, ownEventBinding, type ProgramBinding } from './perf-event.js';
import type { PrepareOptions } from './prepared.js';
import { processThreads } from './process-target.js';

/** What a perf_event program with no target samples: bcc's profile, at the frequency perf and bpftrace favour (off the timer tick's beat). */
export const DEFAULT_SAMPLING = 'cpu-clock:99hz';

/** perf list's names of the generic events: PERF_TYPE_HARDWARE and PERF_TYPE_SOFTWARE configs. */
const HARDWARE: Record<string, number> = {
  'cpu-cycles': 0, cycles: 0, instructions: 1, 'cache-references': 2, 'cache-misses': 3,
  'branch-instructions': 4, branches: 4, 'branch-misses': 5, 'bus-cycles': 6,
  'stalled-cycles-frontend': 7, 'idle-cycles-frontend': 7, 'stalled-cycles-backend': 8, 'idle-cycles-backend': 8, 'ref-cycles': 9,
};
const SOFTWARE: Record<string, number> = {
  'cpu-clock': 0, 'task-clock': 1, 'page-faults': 2, faults: 2, 'context-switches': 3, cs: 3,
  'cpu-migrations': 4, migrations: 4, 'minor-faults': 5, 'major-faults': 6, 'alignment-faults': 7, 'emulation-faults': 8,
};

/** A sampling event as the user names it: "cpu-clock:99hz", "cycles:period=1000000", "page-faults". */
export interface SamplingEvent {
  /** The canonical text ("cpu-clock:99hz"). */
  text: string;
  name: string;
  hardware: boolean;
  type: number;
  config: bigint;
  sampling: { frequency: number } | { period: bigint };
}

/** Parses EVENT[:NNhz|:freq=NN|:period=N]; with neither, 99 Hz. */
export function parseSamplingEvent(text: string): SamplingEvent {
  const match = /^([a-z][a-z-]*)(?::(?:(\d+)hz|freq=(\d+)|period=(\d+)))?$/i.exec(text);
  const where = `perf event ${JSON.stringify(printable(text))}`;
  if (!match) throw new UsageError(`${where} is not of the form EVENT[:99hz|:freq=N|:period=N] (e.g. cpu-clock:99hz, cycles:period=1000000)`);
  const name = match[1]!.toLowerCase();
  const hardware = name in HARDWARE;
  if (!hardware && !(name in SOFTWARE)) {
    const close = closestNames(name, [...Object.keys(SOFTWARE), ...Object.keys(HARDWARE)], 3);
    throw new UsageError(`${where}: no such event${close.length > 0 ? `; closest: ${close.join(', ')}` : ''} (software: ${Object.keys(SOFTWARE).join(', ')}; hardware: ${Object.keys(HARDWARE).join(', ')})`);
  }
  const hz = match[2] ?? match[3];
  const sampling = match[4] !== undefined ? { period: BigInt(match[4]) } : { frequency: hz === undefined ? 99 : Number(hz) };
  if ('period' in sampling ? sampling.period === 0n : sampling.frequency === 0) throw new UsageError(`${where}: a frequency or period of 0 never samples`);
  const rate = 'period' in sampling ? `period=${sampling.period}` : `${sampling.frequency}hz`;
  return { text: `${name}:${rate}`, name, hardware, type: hardware ? PERF_TYPE.HARDWARE : PERF_TYPE.SOFTWARE, config: BigInt(hardware ? HARDWARE[name]! : SOFTWARE[name]!), sampling };
}

/** A sampling perf event (a perf_event program's target: a CPU clock, a hardware counter), checked before loading. */
export interface PreparedSampling {
  /** Tells the variants of PreparedAttachment apart. */
  kind: 'perf_event';
  /** The event and how often it samples. */
  event: SamplingEvent;
  /** One event per online CPU for every process, or with `pid` one per thread of that process. */
  cpus: number[];
  /** Sample this process only. */
  pid?: number;
  /** The process's threads, with `pid`. */
  threads?: number[];
  /** A BPF link or the perf event ioctl; 'auto': a link where the kernel has one. */
  binding: ProgramBinding | 'auto';
  /** Why this binding, for --verbose. */
  reason: Wording;
  /** Things worth telling the user. */
  notes: Wording[];
}

function request(event: SamplingEvent): PerfEventRequest {
  return { type: event.type, config: event.config, sampling: event.sampling };
}

/** What prepareSampling() takes besides its event. */
export interface SamplingOptions extends PrepareOptions {
  /** The sampling program's name, for the notes that tell how to choose another event. */
  program: string;
}

/**
 * Checks the event on this machine (opened once on the first online CPU and closed: a VM without a
 * PMU has no hardware events) and picks the binding. `given` is the --attach target, if any.
 */
export function prepareSampling(given: string | undefined, options: SamplingOptions): PreparedSampling {
  const { program, mode = 'auto', pid } = options;
  const event = parseSamplingEvent(given ?? DEFAULT_SAMPLING);
  const cpus = onlineCpus();
  const threads = pid === undefined ? undefined : processThreads(pid);
  try {
    PerfEvent.open(request(event), `perf event ${event.text}`, threads ? { cpu: -1, pid: threads[0]! } : { cpu: cpus[0]! }).close();
  } catch (error) {
    if (!(error instanceof KernelError)) throw error;
    throw new AttachError(joined(`perf event ${event.text} cannot be opened on this machine`, missingEventHint(event, error)));
  }
  const where = threads
    ? `${threads.length === 1 ? 'in the one thread' : `in each of the ${threads.length} threads`} of process ${pid} (threads it starts later are not sampled)`
    : `on each of ${cpus.length} CPU${cpus.length === 1 ? '' : 's'}`;
  const notes: Wording[] = given === undefined || threads ? [(n) => `program '${program}' samples ${event.text} ${where}${given === undefined ? ` (another event: ${n('targets', `${program}=EVENT[:99hz|:period=N]`)})` : ''}`] : [];
  return { kind: 'perf_event', event, cpus, ...(threads ? { pid, threads } : {}), ...ownEventBinding(mode), notes };
}

function missingEventHint(event: SamplingEvent, error: KernelError): Wording {
  const errno = error.errno;
  if (event.hardware && (errno === ERRNO.ENOENT || errno === ERRNO.EOPNOTSUPP || errno === ERRNO.ENODEV)) {
    return (n) => `: no PMU here counts the hardware event '${event.name}' (a VM without a virtual PMU, or a CPU without it); sample a software event such as cpu-clock, or leave the program out with ${n('skipMissing')}`;
  }
  if (errno === ERRNO.EINVAL && 'frequency' in event.sampling) {
    return `: ${event.sampling.frequency} Hz is above kernel.perf_event_max_sample_rate (${maxSampleRate() ?? 'unknown'}); choose a lower frequency`;
  }
  if (errno === ERRNO.EACCES || errno === ERRNO.EPERM) return ': not permitted (kernel.perf_event_paranoid, or a missing CAP_PERFMON); run as root';
  return `: ${error.message}`;
}

function maxSampleRate(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/kernel/perf_event_max_sample_rate', 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** One event per CPU, each bound to the program and enabled; all owned by the scope as they are made. */
export function attachSampling(scope: ResourceScope, prepared: PreparedSampling, program: BpfProgram): Attachment {
  let binding: ProgramBinding = prepared.binding === 'ioctl' ? 'ioctl' : 'link';
  const places = prepared.threads
    ? prepared.threads.map((tid) => ({ where: { cpu: -1, pid: tid }, what: `perf event ${prepared.event.text} of thread ${tid}` }))
    : prepared.cpus.map((cpu) => ({ where: { cpu }, what: `perf event ${prepared.event.text} on CPU ${cpu}` }));
  places.forEach(({ where, what }, i) => {
    // The first event settles 'auto'; the others follow it.
    binding = openAndAttachPerfEvent(scope, { request: request(prepared.event), program, binding: i === 0 ? prepared.binding : binding, what, where });
  });
  const resolved = prepared.threads
    ? `${prepared.event.text} in ${prepared.threads.length} thread${prepared.threads.length === 1 ? '' : 's'} of process ${prepared.pid}`
    : `${prepared.event.text} on ${prepared.cpus.length} CPU${prepared.cpus.length === 1 ? '' : 's'}`;
  return { kind: 'perf_event', program: program.name, target: prepared.event.text, resolved, source: 'perf', binding, ...(prepared.threads ? { threads: prepared.threads.length } : { cpus: prepared.cpus.length }) };
}
