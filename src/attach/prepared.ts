// PreparedAttachment: any attach target checked before loading; attachPrepared() performs it.
import type { Wording } from '../wording.js';
import type { ResourceScope } from '../kernel/scope.js';
import type { Attachment } from './attachment.js';
import type { AttachMode } from './modes.js';
import type { BpfProgram } from '../kernel/program.js';
import { attachKprobeMulti, type PreparedKprobeMulti } from './kprobe-multi.js';
import { attachProbe, type PreparedProbe } from './probe.js';
import { attachSampling, type PreparedSampling } from './sampling.js';
import { attachTracepoint, type PreparedTracepoint } from './tracepoint.js';
import { attachUsdt, type PreparedUsdt, type UsdtSpecTable } from './usdt.js';
import { attachRawTracepoint, attachTracing, type PreparedRawTracepoint, type PreparedTracing } from './tracing.js';

/** A target checked before anything is loaded (made by a prepare function or planAttachments()): LoadedObject.attach() takes it. */
export type PreparedAttachment = PreparedProbe | PreparedKprobeMulti | PreparedUsdt | PreparedTracepoint | PreparedTracing | PreparedRawTracepoint | PreparedSampling;

/** What every prepare function takes after its target: how to attach, which process, which kernel BTF. */
export interface PrepareOptions {
  /** How probes and tracepoints are created: 'auto' (default), 'pmu', 'tracefs' or 'link'. */
  mode?: AttachMode;
  /** Fire in (or sample) this process only: uprobes, USDT probes and sampling. */
  pid?: number;
  /** The kernel's BTF from this file, for kernels without /sys/kernel/btf/vmlinux (fentry, fexit, tp_btf, raw tracepoints). */
  kernelBtfFile?: string;
}

/** What some attachments need of the loaded object: USDT probes, its argument spec map. */
export interface AttachContext {
  usdtSpecs(): UsdtSpecTable;
}

/** The one place that maps a prepared target to its attach method. */
export function attachPrepared(scope: ResourceScope, prepared: PreparedAttachment, program: BpfProgram, context: AttachContext): Attachment {
  switch (prepared.kind) {
    case 'probe':
      return attachProbe(scope, prepared, program);
    case 'kprobe_multi':
      return attachKprobeMulti(scope, prepared, program);
    case 'usdt':
      return attachUsdt(scope, prepared, program, context.usdtSpecs());
    case 'tracepoint':
      return attachTracepoint(scope, prepared, program);
    case 'tracing':
      return attachTracing(scope, prepared, program);
    case 'raw_tracepoint':
      return attachRawTracepoint(scope, prepared, program);
    case 'perf_event':
      return attachSampling(scope, prepared, program);
  }
}

/** What was asked to attach to, as the user wrote it ("vfs_read", "syscalls/sys_enter_bpf"). */
export function preparedTarget(prepared: PreparedAttachment): string {
  switch (prepared.kind) {
    case 'probe':
      return prepared.location.requested;
    case 'kprobe_multi':
      return prepared.pattern;
    case 'usdt':
      return `${prepared.target.binary}:${prepared.target.provider}:${prepared.target.name}`;
    case 'tracepoint':
      return `${prepared.category}/${prepared.event}`;
    case 'tracing':
      return prepared.target;
    case 'raw_tracepoint':
      return prepared.tracepoint;
    case 'perf_event':
      return prepared.event.text;
  }
}

/** Why this attach method, for --verbose. */
export function methodReason(prepared: PreparedAttachment): Wording {
  return prepared.kind === 'probe' || prepared.kind === 'usdt' ? prepared.method.reason : prepared.reason;
}
