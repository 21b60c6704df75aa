// perf events: opening tracepoint and probe PMU events, binding a program (ioctl or BPF link), enabling.
import { SyscallError, kernelError } from '../errors.js';
import { linkCreatePerfEvent } from '../kernel/bpf.js';
import type { ResourceScope } from '../kernel/scope.js';
import { closeFd, ioctl, perfEventOpen, type PointerField } from '../native.js';

export const PERF_TYPE_SOFTWARE = 1;
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
  const attr = Buffer.alloc(PERF_ATTR_SIZE);
  const pointers: PointerField[] = [];
  attr.writeUInt32LE(request.type, 0);
  attr.writeUInt32LE(PERF_ATTR_SIZE, 4);
  attr.writeBigUInt64LE(request.config, 8);
  attr.writeBigUInt64LE(1n, 16); // sample_period
  attr.writeBigUInt64LE(1n, 40); // flags: disabled
  attr.writeUInt32LE(1, 48); // wakeup_events
  if (request.config1String !== undefined) pointers.push([56, Buffer.from(`${request.config1String}\0`)]);
  else attr.writeBigUInt64LE(request.config1 ?? 0n, 56);
  attr.writeBigUInt64LE(request.config2 ?? 0n, 64);
  return { attr, pointers };
}

/** How a program is tied to its perf event: the PERF_EVENT_IOC_SET_BPF ioctl, or a BPF link (5.15+). */
export type ProgramBinding = 'ioctl' | 'link';

export interface PerfEventAttachOptions {
  request: PerfEventRequest;
  programFd: number;
  binding: ProgramBinding;
  /** Words for error messages: "kprobe on __x64_sys_bpf". */
  what: string;
}

/**
 * Opens the event on CPU 0 for all processes (a BPF program on a trace event runs on every CPU
 * anyway), binds the program and enables it. Every fd is owned by the scope as soon as it exists.
 */
export function openAndAttachPerfEvent(scope: ResourceScope, options: PerfEventAttachOptions): void {
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
  if (options.binding === 'link') {
    let linkFd: number;
    try {
      linkFd = linkCreatePerfEvent(options.programFd, perfFd);
    } catch (error) {
      throw kernelError(`linking the program to the ${options.what} (BPF_LINK_CREATE)`, error);
    }
    scope.defer(`close the BPF link of the ${options.what}`, () => closeFd(linkFd));
  } else {
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
