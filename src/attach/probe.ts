// Kprobes and uprobes through one path: choose the event source (PMU or tracefs) and binding, then attach.
import type { Wording } from '../wording.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AttachError, KernelError } from '../errors.js';
import type { ResourceScope } from '../kernel/scope.js';
import type { Attachment, EventSource, ProbeKind } from './attachment.js';
import { PERF_TYPE } from '../abi.js';
import type { PerfEventRequest } from '../kernel/perf-event.js';
import type { BpfProgram } from '../kernel/program.js';
import { openAndAttachPerfEvent, type ProgramBinding } from './perf-event.js';
import { pmuProbeRequest, probePmu, type ProbeFamily, type ProbePmu } from './pmu.js';
import { EVENT_GROUP, createProbeEvent, probeEventName, removeStaleProbeEvents, type ProbeEventsFile } from './probe-events.js';
import { tracefsRoot } from './tracefs.js';

import type { AttachMode } from './modes.js';

export { ATTACH_MODES, type AttachMode } from './modes.js';

/** Where a kprobe or uprobe fires: the function or file and offset, as asked for and as resolved. */
export interface ProbeLocation {
  /** A kernel function (kprobe) or a user-space file (uprobe). */
  family: ProbeFamily;
  /** At return rather than at entry. */
  retprobe: boolean;
  /** kprobe: the kernel function; uprobe: the binary's absolute path. */
  target: string;
  /** kprobe: offset into the function; uprobe: offset into the file. */
  offset: bigint;
  /** uprobe: the file offset of a USDT semaphore the kernel counts up while the probe is in (ref_ctr_offset). */
  refCtrOffset?: bigint;
  /** What the user asked for: "sys_bpf", "./a.out:main". */
  requested: string;
  /** What it resolved to, for people: "__x64_sys_bpf", "/usr/bin/a.out:main (0x1139)". */
  resolved: string;
}

/** A kprobe or uprobe checked against the kernel, ready to attach once its program is loaded. */
export interface PreparedProbe {
  /** Tells the variants of PreparedAttachment apart. */
  kind: 'probe';
  /** Where it fires. */
  location: ProbeLocation;
  /** @internal What this kernel offers for the probe's family (PMU, tracefs), which attaching uses. */
  support: ProbeSupport;
  /** How it will attach, and why. */
  method: AttachMethod;
  /** Things worth telling the user (syscall name resolved, stale events removed). */
  notes: Wording[];
  /** A BPF cookie for the program (bpf_get_attach_cookie); needs the link binding. */
  cookie?: bigint;
  /** Fire in this process only (uprobes). */
  pid?: number;
}

/** How a probe attaches: the event it is made from, and how the program is bound to that event. */
export interface AttachMethod {
  /** A PMU perf event or a tracefs event. */
  source: EventSource;
  /** A BPF link or the perf event ioctl; 'auto': a link where the kernel has one. */
  binding: ProgramBinding | 'auto';
  /** @internal The PMU, when source is 'pmu'. */
  pmu?: ProbePmu;
  /** Why this method, for --verbose. */
  reason: Wording;
}

/** What a kernel offers for one probe family. */
export interface ProbeSupport {
  family: ProbeFamily;
  pmu?: ProbePmu;
  /** tracefs root, when tracefs is there and has the family's events file. */
  tracefs?: string;
}

const EVENTS_FILE: Record<ProbeFamily, ProbeEventsFile> = { kprobe: 'kprobe_events', uprobe: 'uprobe_events' };
const CONFIG: Record<ProbeFamily, string> = { kprobe: 'CONFIG_KPROBE_EVENTS', uprobe: 'CONFIG_UPROBE_EVENTS' };

/** Finds the kernel's PMU and tracefs events file for a family; refuses when it has neither. */
export function probeSupport(family: ProbeFamily): ProbeSupport {
  const pmu = probePmu(family);
  let tracefs: string | undefined;
  let tracefsProblem = '';
  try {
    const root = tracefsRoot();
    if (existsSync(join(root, EVENTS_FILE[family]))) tracefs = root;
    else tracefsProblem = `${join(root, EVENTS_FILE[family])} does not exist`;
  } catch (error) {
    // Not allowed to look is not the same as not there.
    if (error instanceof KernelError && (error.errno === 1 || error.errno === 13)) throw error;
    tracefsProblem = error instanceof Error ? error.message : String(error);
  }
  if (!pmu && !tracefs) {
    throw new AttachError(
      `this kernel has no ${family} support (${CONFIG[family]}): ${tracefsProblem}, and there is no ${family} PMU; use a kernel built with ${family === 'kprobe' ? 'CONFIG_KPROBES and ' : 'CONFIG_UPROBES and '}${CONFIG[family]}`,
    );
  }
  return { family, ...(pmu ? { pmu } : {}), ...(tracefs ? { tracefs } : {}) };
}

/** Picks the event source and binding for a mode, or says why the kernel cannot do it. */
export function chooseAttachMethod(mode: AttachMode, support: ProbeSupport): AttachMethod {
  const { family, pmu, tracefs } = support;
  switch (mode) {
    case 'tracefs':
      if (!tracefs) throw new AttachError((n) => `${n('mode', 'tracefs')}: this kernel has no ${EVENTS_FILE[family]} in tracefs`);
      return { source: 'tracefs', binding: 'ioctl', reason: (n) => `${n('mode', 'tracefs')}: a ${EVENTS_FILE[family]} event bound with PERF_EVENT_IOC_SET_BPF` };
    case 'pmu':
      if (!pmu) throw new AttachError((n) => `${n('mode', 'pmu')}: this kernel has no ${family} PMU (it needs 4.17)`);
      return { source: 'pmu', binding: 'ioctl', pmu, reason: (n) => `${n('mode', 'pmu')}: a ${family} PMU perf event bound with PERF_EVENT_IOC_SET_BPF` };
    case 'link':
      return pmu
        ? { source: 'pmu', binding: 'link', pmu, reason: (n) => `${n('mode', 'link')}: a ${family} PMU perf event owned by a BPF link` }
        : { source: 'tracefs', binding: 'link', reason: (n) => `${n('mode', 'link')}: no ${family} PMU, so a ${EVENTS_FILE[family]} event owned by a BPF link` };
    case 'auto':
      return pmu
        ? { source: 'pmu', binding: 'auto', pmu, reason: `the ${family} PMU leaves no tracefs event behind; a BPF link where the kernel has them` }
        : { source: 'tracefs', binding: 'auto', reason: `this kernel has no ${family} PMU, so a ${EVENTS_FILE[family]} event` };
  }
}

const staleEventsChecked = new Set<ProbeEventsFile>();

/**
 * Removes tracefs events that loaders which no longer run left behind; returns what to tell the
 * user. Once per events file per process, at the first probe attached: housekeeping, not one per probe.
 */
function removeStaleEvents(support: ProbeSupport): Wording[] {
  if (!support.tracefs || staleEventsChecked.has(EVENTS_FILE[support.family])) return [];
  staleEventsChecked.add(EVENTS_FILE[support.family]);
  const report = removeStaleProbeEvents(support.tracefs, EVENTS_FILE[support.family]);
  const notes: Wording[] = [];
  if (report.removed.length > 0) {
    notes.push(`removed ${report.removed.length} stale event(s) left by load-kp-bpf processes that no longer run: ${report.removed.join(', ')}`);
  }
  if (report.skipped) notes.push(report.skipped);
  return notes;
}

function probeKind(location: ProbeLocation): ProbeKind {
  if (location.family === 'kprobe') return location.retprobe ? 'kretprobe' : 'kprobe';
  return location.retprobe ? 'uretprobe' : 'uprobe';
}

/** The text a tracefs events file takes for the location: "func+0x10" or "/path:0x1139". */
export function tracefsLocation(location: ProbeLocation): string {
  if (location.family === 'uprobe') {
    if (/\s/.test(location.target)) throw new AttachError((n) => `uprobe path ${JSON.stringify(location.target)} contains white space, which tracefs cannot take; use ${n('mode', 'pmu')}`);
    const refCtr = location.refCtrOffset ? `(0x${location.refCtrOffset.toString(16)})` : '';
    return `${location.target}:0x${location.offset.toString(16)}${refCtr}`;
  }
  return location.offset === 0n ? location.target : `${location.target}+0x${location.offset.toString(16)}`;
}

/** Attaches a program to a kprobe or uprobe location; every object it creates is owned by the scope. */
export function attachProbe(scope: ResourceScope, prepared: PreparedProbe, program: BpfProgram): Attachment {
  const { location, method, support } = prepared;
  const notes = removeStaleEvents(support);
  const kind = probeKind(location);
  const what = `${kind} on ${location.resolved}`;
  let perfEvent: PerfEventRequest;
  let event: string | undefined;
  if (method.source === 'pmu') {
    perfEvent = pmuProbeRequest(method.pmu!, location.target, location.offset, location.retprobe, location.refCtrOffset);
  } else {
    const file = EVENTS_FILE[location.family];
    const name = probeEventName(location.family === 'kprobe' ? location.target : location.requested.split('/').pop()!);
    const id = createProbeEvent(scope, support.tracefs!, {
      file,
      probeType: location.retprobe ? 'r' : 'p',
      event: name,
      location: tracefsLocation(location),
      what,
    });
    perfEvent = { type: PERF_TYPE.TRACEPOINT, config: BigInt(id) };
    event = `${EVENT_GROUP[file]}/${name}`;
  }
  const binding = openAndAttachPerfEvent(scope, {
    request: perfEvent,
    program,
    binding: method.binding,
    what,
    ...(prepared.cookie === undefined ? {} : { cookie: prepared.cookie }),
    // An event of one process counts it on any CPU.
    ...(prepared.pid === undefined ? {} : { where: { cpu: -1, pid: prepared.pid } }),
  });
  return {
    kind,
    program: program.name,
    target: location.requested,
    resolved: location.resolved,
    source: method.source,
    binding,
    ...(event ? { event } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  };
}
