// Attaching a program to a perf event (tracepoint or probe PMU event): bind it with a BPF link or the ioctl, then enable.
import type { Wording } from '../wording.js';
import { ERRNO } from '../abi.js';
import { SyscallError, kernelError } from '../errors.js';
import { BpfLink } from '../kernel/link.js';
import { PerfEvent, type PerfEventRequest } from '../kernel/perf-event.js';
import type { BpfProgram } from '../kernel/program.js';
import type { ResourceScope } from '../kernel/scope.js';
import type { AttachMode } from './modes.js';

/** How a program is tied to its perf event: the PERF_EVENT_IOC_SET_BPF ioctl, or a BPF link (5.15+). */
export type ProgramBinding = 'ioctl' | 'link';

export interface PerfEventAttachOptions {
  request: PerfEventRequest;
  program: BpfProgram;
  /** 'auto': a BPF link where the kernel has them for perf events, else the ioctl. */
  binding: ProgramBinding | 'auto';
  /** Words for error messages: "kprobe on __x64_sys_bpf". */
  what: string;
  /** A BPF cookie for the program to read with bpf_get_attach_cookie() (links only). */
  cookie?: bigint;
  /** Which CPU and process the event counts; default CPU 0, every process. */
  where?: { cpu: number; pid?: number };
}

/**
 * Opens the event (on CPU 0 for all processes unless `where` says: a BPF program on a trace event
 * runs on every CPU anyway), binds the program and enables it. Every handle is owned by the scope as soon as it
 * exists. Returns how the program was bound.
 */
export function openAndAttachPerfEvent(scope: ResourceScope, options: PerfEventAttachOptions): ProgramBinding {
  const event = scope.own(PerfEvent.open(options.request, options.what, options.where));
  let binding: ProgramBinding = options.binding === 'auto' ? 'link' : options.binding;
  if (binding === 'link') {
    try {
      scope.own(BpfLink.forPerfEvent(options.program.fd.value, event.fd.value, `the ${options.what}`, options.cookie));
    } catch (error) {
      // Kernels before 5.15 do not know perf event links (EINVAL); in auto mode use the ioctl.
      const cause = (error as { cause?: unknown }).cause;
      const old = cause instanceof SyscallError && cause.errno === ERRNO.EINVAL;
      if (options.binding !== 'auto' || !old) throw old ? kernelError(`linking the program to the ${options.what} (BPF_LINK_CREATE)`, cause, linkHint()) : error;
      binding = 'ioctl';
    }
  }
  if (binding === 'ioctl') event.setBpf(options.program.fd.value);
  event.enable();
  return binding;
}

/**
 * The binding for an event the program is the only user of (a tracepoint, a sampling event): the
 * PMU and tracefs modes both mean the ioctl there; and why, for --verbose.
 */
export function ownEventBinding(mode: AttachMode): { binding: ProgramBinding | 'auto'; reason: Wording } {
  return { binding: mode === 'link' ? 'link' : mode === 'auto' ? 'auto' : 'ioctl', reason: mode === 'auto' ? 'a BPF link where the kernel has them' : (n) => n('mode', mode) };
}

function linkHint(): Wording {
  return (n) => `; this kernel has no BPF links for perf events (they need 5.15); use ${n('mode', 'pmu')} or tracefs`;
}
