// perf events: opening tracepoint and probe PMU events, binding a program (ioctl or BPF link), enabling.
import { SyscallError, kernelError } from '../errors.js';
import { Attr } from '../kernel/attr.js';
import { linkCreatePerfEvent } from '../kernel/bpf.js';
import type { ResourceScope } from '../kernel/scope.js';
import { closeFd, ioctl, perfEventOpen, type PointerField } from '../native.js';

export const PERF_TYPE_TRACEPOINT = 2;
const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_ATTR_SIZE = 112; // PERF_ATTR_SIZE_VER5: understood by every kernel with BPF perf events
const PERF_EVENT_IOC_ENABLE = 0x2400;
const PERF_EVENT_IOC_DISABLE = 0x2401;
const PERF_EVENT_IOC_SET_BPF = 0x40042408;

export interface PerfEventRequest {
  type: number;
  config: bigint;
  /** PMU probes take the function or path as a string in config1. */
  config1String?: string;
  config1?: bigint;
  config2?: bigint;
}

/** struct perf_event_attr for one event, opened disabled so the program is bound before it fires. */
export function perfEventAttr(request: PerfEventRequest): { attr: Buffer; pointers: PointerField[] } {
  const attr = new Attr(PERF_ATTR_SIZE)
    .u32(0, request.type)
    .u32(4, PERF_ATTR_SIZE)
    .u64(8, request.config)
    .u64(16, 1n) // sample_period
    .u64(40, 1n) // flags: disabled
    .u32(48, 1) // wakeup_events
    .u64(64, request.config2 ?? 0n);
  const pointers: PointerField[] = [];
  if (request.config1String !== undefined) pointers.push([56, Buffer.from(`${request.config1String}\0`)]);
  else attr.u64(56, request.config1 ?? 0n);
  return { attr: attr.buffer, pointers };
}

/** How a program is tied to its perf event: the PERF_EVENT_IOC_SET_BPF ioctl, or a BPF link (5.15+). */
export type ProgramBinding = 'ioctl' | 'link';

export interface PerfEventAttachOptions {
  request: PerfEventRequest;
  programFd: number;
  /** 'auto': a BPF link where the kernel has them for perf events, else the ioctl. */
  binding: ProgramBinding | 'auto';
  /** Words for error messages: "kprobe on __x64_sys_bpf". */
  what: string;
}

/**
 * Opens the event on CPU 0 for all processes (a BPF program on a trace event runs on every CPU
 * anyway), binds the program and enables it. Every fd is owned by the scope as soon as it exists.
 * Returns how the program was bound.
 */
export function openAndAttachPerfEvent(scope: ResourceScope, options: PerfEventAttachOptions): ProgramBinding {
  const { attr, pointers } = perfEventAttr(options.request);
  let perfFd: number;
  try {
    perfFd = perfEventOpen(attr, pointers, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  } catch (error) {
    throw kernelError(`opening a perf event for the ${options.what}`, error, openHint(error));
  }
  scope.defer(`close the perf event of the ${options.what}`, () => {
    try {
      ioctl(perfFd, PERF_EVENT_IOC_DISABLE, 'PERF_EVENT_IOC_DISABLE');
    } finally {
      closeFd(perfFd);
    }
  });
  let binding: ProgramBinding = options.binding === 'auto' ? 'link' : options.binding;
  if (binding === 'link') {
    try {
      const linkFd = linkCreatePerfEvent(options.programFd, perfFd);
      scope.defer(`close the BPF link of the ${options.what}`, () => closeFd(linkFd));
    } catch (error) {
      // Kernels before 5.15 do not know perf event links (EINVAL); in auto mode use the ioctl.
      if (options.binding !== 'auto' || !(error instanceof SyscallError) || error.errno !== 22) {
        throw kernelError(`linking the program to the ${options.what} (BPF_LINK_CREATE)`, error, linkHint(error));
      }
      binding = 'ioctl';
    }
  }
  if (binding === 'ioctl') {
    try {
      ioctl(perfFd, PERF_EVENT_IOC_SET_BPF, 'PERF_EVENT_IOC_SET_BPF', options.programFd);
    } catch (error) {
      throw kernelError(`attaching the program to the ${options.what} (PERF_EVENT_IOC_SET_BPF)`, error, setBpfHint(error));
    }
  }
  try {
    ioctl(perfFd, PERF_EVENT_IOC_ENABLE, 'PERF_EVENT_IOC_ENABLE');
  } catch (error) {
    throw kernelError(`enabling the ${options.what}`, error);
  }
  return binding;
}

function linkHint(error: unknown): string {
  if (error instanceof SyscallError && error.errno === 22) return '; this kernel has no BPF links for perf events (they need 5.15); use --attach-mode pmu or tracefs';
  return '';
}

function openHint(error: unknown): string {
  if (error instanceof SyscallError && error.errno === 2) return '; the event does not exist (was it removed meanwhile?)';
  return '';
}

function setBpfHint(error: unknown): string {
  if (error instanceof SyscallError && error.errno === 22) return '; the program type does not fit this event (kprobe programs attach to kprobes and uprobes, tracepoint programs to tracepoints)';
  if (error instanceof SyscallError && error.errno === 17) return '; another program is already attached to this perf event';
  return '';
}
