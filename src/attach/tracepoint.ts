// Tracepoints: checking <tracefs>/events/<category>/<event> exists, then attaching a program to it.
import type { Wording } from '../wording.js';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AttachError, UsageError } from '../errors.js';
import { PERF_TYPE } from '../abi.js';
import type { BpfProgram } from '../kernel/program.js';
import type { ResourceScope } from '../kernel/scope.js';
import { closestNames, printable } from '../text.js';
import type { Attachment } from './attachment.js';
import { openAndAttachPerfEvent, ownEventBinding, type ProgramBinding } from './perf-event.js';
import type { PrepareOptions } from './prepared.js';
import { traceEventId, tracefsRoot } from './tracefs.js';

/** Splits and checks "category/event" (a ':' separator is accepted too, as perf writes it). */
export function parseTracepointName(name: string): { category: string; event: string } {
  // No leading '.': "../x" must not walk out of events/.
  const match = /^([A-Za-z0-9_][A-Za-z0-9_.-]*)[/:]([A-Za-z0-9_][A-Za-z0-9_.-]*)$/.exec(name);
  if (!match) throw new UsageError(`tracepoint ${JSON.stringify(printable(name))} is not of the form category/event (e.g. syscalls/sys_enter_bpf)`);
  return { category: match[1]!, event: match[2]! };
}

function listTracepoints(tracefs: string): string[] {
  const events = join(tracefs, 'events');
  const names: string[] = [];
  for (const category of readdirSync(events, { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    for (const event of readdirSync(join(events, category.name), { withFileTypes: true })) {
      if (event.isDirectory()) names.push(`${category.name}/${event.name}`);
    }
  }
  return names;
}

/** A tracepoint found in tracefs, checked before loading. */
export interface PreparedTracepoint {
  /** Tells the variants of PreparedAttachment apart. */
  kind: 'tracepoint';
  /** The tracefs root it was found in. */
  tracefs: string;
  /** The tracepoint's category ("syscalls"). */
  category: string;
  /** The tracepoint's name in its category ("sys_enter_bpf"). */
  event: string;
  /** A BPF link or the perf event ioctl; 'auto': a link where the kernel has one. */
  binding: ProgramBinding | 'auto';
  /** Why this binding, for --verbose. */
  reason: Wording;
  /** Things worth telling the user. */
  notes: Wording[];
}

/** Checks the tracepoint exists (suggesting the closest names when not) and picks the binding. */
export function prepareTracepoint(name: string, options: PrepareOptions = {}): PreparedTracepoint {
  const { category, event } = parseTracepointName(name);
  const tracefs = tracefsRoot();
  if (!existsSync(join(tracefs, 'events', category, event, 'id'))) {
    const suggestions = closestNames(`${category}/${event}`, listTracepoints(tracefs), 5);
    throw new AttachError(`tracepoint ${category}/${event} does not exist in this kernel${suggestions.length > 0 ? `; closest: ${suggestions.join(', ')}` : ''}`);
  }
  return { kind: 'tracepoint', tracefs, category, event, ...ownEventBinding(options.mode ?? 'auto'), notes: [] };
}

export function attachTracepoint(scope: ResourceScope, prepared: PreparedTracepoint, program: BpfProgram): Attachment {
  const name = `${prepared.category}/${prepared.event}`;
  const id = traceEventId(prepared.tracefs, prepared.category, prepared.event);
  const binding = openAndAttachPerfEvent(scope, {
    request: { type: PERF_TYPE.TRACEPOINT, config: BigInt(id) },
    program,
    binding: prepared.binding,
    what: `tracepoint ${name}`,
  });
  return { kind: 'tracepoint', program: program.name, target: name, resolved: name, source: 'tracefs', binding };
}
