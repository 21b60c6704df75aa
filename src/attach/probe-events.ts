// tracefs probe events (kprobe_events, uprobe_events): unique names, creation, removal, stale-event cleanup.
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AttachError, errnoName, kernelError, nodeErrno } from '../errors.js';
import type { ResourceScope } from '../kernel/scope.js';
import { appendDefinition, traceEventId, tracefsErrorFor } from './tracefs.js';

export type ProbeEventsFile = 'kprobe_events' | 'uprobe_events';
export const EVENT_GROUP = { kprobe_events: 'kprobes', uprobe_events: 'uprobes' } as const;
/** Every event this tool creates starts with this, followed by the creating process's pid. */
export const EVENT_PREFIX = 'load_kp_bpf_';
/** MAX_EVENT_NAME_LEN is 64 bytes with the NUL. */
export const MAX_EVENT_NAME = 63;

let eventCounter = 0;

/**
 * A name no other probe has: prefix, pid, a per-process counter, then as much of the target as
 * fits, reduced to [A-Za-z0-9_]. Two probes of one process differ by the counter, two processes
 * by the pid.
 */
export function probeEventName(target: string, pid: number = process.pid, counter: number = eventCounter++): string {
  const head = `${EVENT_PREFIX}${pid}_${counter}_`;
  const tail = target.replace(/[^A-Za-z0-9_]/g, '_');
  return (head + tail).slice(0, MAX_EVENT_NAME);
}

export interface ProbeEventLine {
  group: string;
  event: string;
  /** pid of the loader that created it, when it is one of ours. */
  ownerPid?: number;
}

/** Parses kprobe_events / uprobe_events listings ("p:kprobes/name func", "r4:group/name ..."). */
export function parseProbeEvents(text: string): ProbeEventLine[] {
  const events: ProbeEventLine[] = [];
  for (const line of text.split('\n')) {
    const match = /^[pr]\d*:([^/\s]+)\/(\S+)/.exec(line);
    if (!match) continue;
    const [, group, event] = match as unknown as [string, string, string];
    const owner = new RegExp(`^${EVENT_PREFIX}(\\d+)_\\d+_`).exec(event);
    events.push(owner ? { group, event, ownerPid: Number(owner[1]) } : { group, event });
  }
  return events;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return nodeErrno(error) !== 3; /* ESRCH; EPERM means it exists */
  }
}

const INIT_PID_NAMESPACE = 'pid:[4026531836]';

/** Pids are only comparable with the event's owner in the initial pid namespace. */
function inInitialPidNamespace(): boolean {
  try {
    return readlinkSync('/proc/self/ns/pid') === INIT_PID_NAMESPACE;
  } catch {
    return false;
  }
}

export interface StaleEventsReport {
  removed: string[];
  /** Why stale events were left alone, if they were. */
  skipped?: string;
}

/**
 * Removes events of ours whose creating process no longer exists (left by SIGKILL or a crash).
 * Events of other tools, and of our processes that are alive, are never touched.
 */
export function removeStaleProbeEvents(tracefs: string, file: ProbeEventsFile): StaleEventsReport {
  let listing: string;
  try {
    listing = readFileSync(join(tracefs, file), 'utf8');
  } catch {
    return { removed: [] };
  }
  const stale = parseProbeEvents(listing).filter((e) => e.ownerPid !== undefined && e.ownerPid !== process.pid && !isAlive(e.ownerPid));
  if (stale.length === 0) return { removed: [] };
  if (!inInitialPidNamespace()) {
    return { removed: [], skipped: `${stale.length} event(s) of load-kp-bpf in ${file} look stale, but this process is in a separate pid namespace, so their owners cannot be checked` };
  }
  const removed: string[] = [];
  for (const e of stale) {
    try {
      appendDefinition(join(tracefs, file), `-:${e.group}/${e.event}`);
      removed.push(`${e.group}/${e.event}`);
    } catch {
      // Still in use (EBUSY) or already gone: not ours to force.
    }
  }
  return { removed };
}

export interface ProbeEventRequest {
  file: ProbeEventsFile;
  /** 'p' for an entry probe, 'r' for a return probe. */
  probeType: 'p' | 'r';
  event: string;
  /** What to probe: "func", "func+off", or "/path:0xoffset" for uprobes. */
  location: string;
  /** Words for messages: "kprobe on __x64_sys_bpf". */
  what: string;
}

/** A tracefs probe event this process created; closing it removes it. */
export class ProbeEvent {
  constructor(
    readonly tracefs: string,
    readonly file: ProbeEventsFile,
    readonly group: string,
    readonly event: string,
  ) {}

  get releaseDescription(): string {
    return `remove trace event ${this.group}/${this.event}`;
  }

  close(): void {
    removeProbeEvent(this.tracefs, this.file, this.group, this.event);
  }
}

/** Creates the event, owned by the scope (removed on release), and returns its trace event id. */
export function createProbeEvent(scope: ResourceScope, tracefs: string, request: ProbeEventRequest): number {
  const group = EVENT_GROUP[request.file];
  const controlFile = join(tracefs, request.file);
  const command = `${request.probeType}:${group}/${request.event} ${request.location}`;
  try {
    appendDefinition(controlFile, command);
  } catch (error) {
    const errno = nodeErrno(error);
    const kernelSays = tracefsErrorFor(tracefs, command);
    const words = kernelSays ? `; the kernel says: ${kernelSays}` : '';
    throw kernelError(`creating the ${request.what} (writing '${command}' to ${controlFile})`, error, (errno === undefined ? '' : eventHint(errno)) + words);
  }
  scope.own(new ProbeEvent(tracefs, request.file, group, request.event));
  return traceEventId(tracefs, group, request.event);
}

function eventHint(errno: number): string {
  switch (errno) {
    case 17:
      return '; an event of that name already exists';
    case 2:
      return '; the kernel has no such function or file';
    case 84:
      return '; the offset is not on an instruction boundary';
    case 22:
      return '; the kernel refused the probe (a function that cannot be probed, or a bad offset)';
    default:
      return '';
  }
}

const EBUSY = 16;

/**
 * Removes an event. The kernel refuses (EBUSY) while a perf event still uses it, which can last a
 * moment after the fd is closed, so it is tried a few times. An event already gone is fine.
 */
export function removeProbeEvent(tracefs: string, file: ProbeEventsFile, group: string, event: string): void {
  const command = `-:${group}/${event}`;
  for (let attempt = 0; ; attempt++) {
    try {
      appendDefinition(join(tracefs, file), command);
      return;
    } catch (error) {
      const errno = nodeErrno(error);
      if (errno === 2) return;
      if (errno === EBUSY && attempt < 50) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        continue;
      }
      throw new AttachError(`removing trace event ${group}/${event}: ${errno === undefined ? String(error) : errnoName(errno)}`, errno, { cause: error });
    }
  }
}

