// Tracepoints: finding <tracefs>/events/<category>/<event>/id and attaching a program to it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AttachError, UsageError } from '../errors.js';
import type { ResourceScope } from '../kernel/scope.js';
import { closestNames } from '../text.js';
import type { Attachment } from './attachment.js';
import { PERF_TYPE_TRACEPOINT, openAndAttachPerfEvent, type ProgramBinding } from './perf-event.js';
import { traceEventId, tracefsRoot } from './tracefs.js';

export interface TracepointAttachRequest {
  programFd: number;
  programName: string;
  /** "category/event", e.g. "syscalls/sys_enter_bpf". */
  tracepoint: string;
  binding?: ProgramBinding;
}

/** Splits and checks "category/event" (a ':' separator is accepted too, as perf writes it). */
export function parseTracepointName(name: string): { category: string; event: string } {
  // No leading '.': "../x" must not walk out of events/.
  const match = /^([A-Za-z0-9_][A-Za-z0-9_.-]*)[/:]([A-Za-z0-9_][A-Za-z0-9_.-]*)$/.exec(name);
  if (!match) throw new UsageError(`tracepoint ${JSON.stringify(name)} is not of the form category/event (e.g. syscalls/sys_enter_bpf)`);
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

export function attachTracepoint(scope: ResourceScope, request: TracepointAttachRequest): Attachment {
  const { category, event } = parseTracepointName(request.tracepoint);
  const tracefs = tracefsRoot();
  if (!existsSync(join(tracefs, 'events', category, event, 'id'))) {
    const suggestions = closestNames(`${category}/${event}`, listTracepoints(tracefs), 5);
    throw new AttachError(
      `tracepoint ${category}/${event} does not exist in this kernel${suggestions.length > 0 ? `; closest: ${suggestions.join(', ')}` : ''}`,
    );
  }
  const id = traceEventId(tracefs, category, event);
  const binding = request.binding ?? 'ioctl';
  const what = `tracepoint ${category}/${event}`;
  openAndAttachPerfEvent(scope, { request: { type: PERF_TYPE_TRACEPOINT, config: BigInt(id) }, programFd: request.programFd, binding, what });
  return { kind: 'tracepoint', program: request.programName, target: `${category}/${event}`, resolved: `${category}/${event}`, source: 'tracefs', binding };
}
