// Kprobes and kretprobes: checking the kernel can probe the function, then attaching through tracefs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AttachError } from '../errors.js';
import type { ResourceScope } from '../kernel/scope.js';
import type { Attachment } from './attachment.js';
import { KernelFunctions, resolveKernelFunction, validateKernelFunctionName } from './kernel-functions.js';
import { PERF_TYPE_TRACEPOINT, openAndAttachPerfEvent, type ProgramBinding } from './perf-event.js';
import { createProbeEvent, probeEventName, removeStaleProbeEvents, EVENT_GROUP } from './probe-events.js';
import { tracefsRoot } from './tracefs.js';

export interface PreparedKprobe {
  tracefs: string;
  requested: string;
  function: string;
  /** Things worth telling the user (syscall name resolved, stale events removed). */
  notes: string[];
}

/**
 * Everything that can be checked before a kernel object exists: kprobe support, the function's
 * name, existence and blacklist status. Also removes events left by dead loaders.
 */
export function prepareKprobe(requested: string): PreparedKprobe {
  validateKernelFunctionName(requested);
  const tracefs = tracefsRoot();
  if (!existsSync(join(tracefs, 'kprobe_events'))) {
    throw new AttachError(
      `this kernel has no kprobe support (CONFIG_KPROBE_EVENTS): ${join(tracefs, 'kprobe_events')} does not exist; use a kernel built with CONFIG_KPROBES and CONFIG_KPROBE_EVENTS`,
    );
  }
  const resolved = resolveKernelFunction(requested, new KernelFunctions(tracefs));
  const notes = resolved.note ? [resolved.note] : [];
  const stale = removeStaleProbeEvents(tracefs, 'kprobe_events');
  if (stale.removed.length > 0) notes.push(`removed ${stale.removed.length} stale event(s) left by load-kp-bpf processes that no longer run: ${stale.removed.join(', ')}`);
  if (stale.skipped) notes.push(stale.skipped);
  return { tracefs, requested, function: resolved.name, notes };
}

export interface KprobeAttachRequest {
  programFd: number;
  programName: string;
  retprobe: boolean;
  binding?: ProgramBinding;
}

/** Attaches through a tracefs kprobe event: define it, open its perf event, bind, enable. */
export function attachKprobe(scope: ResourceScope, prepared: PreparedKprobe, request: KprobeAttachRequest): Attachment {
  const kind = request.retprobe ? 'kretprobe' : 'kprobe';
  const what = `${kind} on ${prepared.function}`;
  const event = probeEventName(prepared.function);
  const id = createProbeEvent(scope, prepared.tracefs, {
    file: 'kprobe_events',
    probeType: request.retprobe ? 'r' : 'p',
    event,
    location: prepared.function,
    what,
  });
  const binding = request.binding ?? 'ioctl';
  openAndAttachPerfEvent(scope, { request: { type: PERF_TYPE_TRACEPOINT, config: BigInt(id) }, programFd: request.programFd, binding, what });
  return {
    kind,
    program: request.programName,
    target: prepared.requested,
    resolved: prepared.function,
    source: 'tracefs',
    binding,
    event: `${EVENT_GROUP.kprobe_events}/${event}`,
  };
}
