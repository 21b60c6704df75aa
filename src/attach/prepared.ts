// PreparedAttachment: any attach target checked before loading; attachPrepared() performs it.
import type { ResourceScope } from '../kernel/scope.js';
import type { Attachment } from './attachment.js';
import type { BpfProgram } from '../kernel/program.js';
import { attachProbe, type PreparedProbe } from './probe.js';
import { attachTracepoint, type PreparedTracepoint } from './tracepoint.js';

export type PreparedAttachment = PreparedProbe | PreparedTracepoint;

/** The one place that maps a prepared target to its attach method. */
export function attachPrepared(scope: ResourceScope, prepared: PreparedAttachment, program: BpfProgram): Attachment {
  return prepared.kind === 'probe' ? attachProbe(scope, prepared, program) : attachTracepoint(scope, prepared, program);
}

/** Why this attach method, for --verbose. */
export function methodReason(prepared: PreparedAttachment): string {
  return prepared.kind === 'probe' ? prepared.method.reason : prepared.reason;
}
