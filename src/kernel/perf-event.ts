// PerfEvent: perf_event_open for trace events, probe PMUs and BPF output, as a handle (enable, disable, bind a program).
import { ERRNO, PERF_ATTR_FLAG, PERF_EVENT_ATTR, PERF_EVENT_IOC, PERF_FLAG_FD_CLOEXEC } from '../abi.js';
import { SyscallError, kernelError } from '../errors.js';
import { ioctl, perfEventOpen, type PointerField } from '../native.js';
import { Attr } from './attr.js';
import { Fd } from './fd.js';

/** The perf_event_attr fields of one event to open: which PMU and event, and how it samples and wakes. */
export interface PerfEventRequest {
  /** perf_event_attr.type: PERF_TYPE_* or a dynamic PMU's type. */
  type: number;
  /** perf_event_attr.config: the event within the PMU (a tracepoint's id, a hardware counter). */
  config: bigint;
  /** PMU probes take the function or path as a string in config1. */
  config1String?: string;
  /** perf_event_attr.config1, when not a string. */
  config1?: bigint;
  /** perf_event_attr.config2 (a probe PMU's offset). */
  config2?: bigint;
  /** perf_event_attr.sample_type: PERF_SAMPLE_* bits. */
  sampleType?: bigint;
  /** Sample every `period` events, or about `frequency` times a second; default every event. */
  sampling?: { period: bigint } | { frequency: number };
  /** Wake the reader after this many events, or (with watermark) bytes. Default 1 event. */
  wakeup?: { events: number } | { watermarkBytes: number };
}

/** struct perf_event_attr for one event, opened disabled so a program is bound before it fires. */
export function perfEventAttr(request: PerfEventRequest): { attr: Buffer; pointers: PointerField[] } {
  const p = PERF_EVENT_ATTR;
  const wakeup = request.wakeup ?? { events: 1 };
  const watermark = 'watermarkBytes' in wakeup;
  const sampling = request.sampling ?? { period: 1n };
  const frequency = 'frequency' in sampling;
  const attr = new Attr(p.size)
    .u32(p.type, request.type)
    .u32(p.attr_size, p.size)
    .u64(p.config, request.config)
    .u64(p.sample_period, frequency ? BigInt(sampling.frequency) : sampling.period)
    .u64(p.sample_type, request.sampleType ?? 0n)
    .u64(p.flags, PERF_ATTR_FLAG.DISABLED | (watermark ? PERF_ATTR_FLAG.WATERMARK : 0n) | (frequency ? PERF_ATTR_FLAG.FREQ : 0n))
    .u32(p.wakeup_events, watermark ? wakeup.watermarkBytes : wakeup.events)
    .u64(p.config2, request.config2 ?? 0n);
  const pointers: PointerField[] = [];
  if (request.config1String !== undefined) pointers.push([p.config1, Buffer.from(`${request.config1String}\0`)]);
  else attr.u64(p.config1, request.config1 ?? 0n);
  return { attr: attr.buffer, pointers };
}

/** A perf event fd (a kprobe, uprobe, tracepoint or sampling event) that a program is bound to. */
export class PerfEvent {
  readonly fd: Fd;
  private enabled = false;

  constructor(
    fd: number,
    /** What it is, for messages: "kprobe on __x64_sys_bpf", "BPF output of CPU 1". */
    readonly what: string,
  ) {
    this.fd = new Fd(fd, `perf event of the ${what}`);
  }

  /** Opens an event, disabled; `cpu` -1 with a pid, or a CPU with pid -1 (all processes). */
  static open(request: PerfEventRequest, what: string, where: { pid?: number; cpu?: number } = {}): PerfEvent {
    const { attr, pointers } = perfEventAttr(request);
    try {
      return new PerfEvent(perfEventOpen(attr, pointers, where.pid ?? -1, where.cpu ?? 0, -1, PERF_FLAG_FD_CLOEXEC), what);
    } catch (error) {
      throw kernelError(`opening a perf event for the ${what}`, error, openHint(error));
    }
  }

  /** Binds a program with PERF_EVENT_IOC_SET_BPF (the way before BPF links). */
  setBpf(programFd: number): void {
    try {
      ioctl(this.fd.value, PERF_EVENT_IOC.SET_BPF, 'PERF_EVENT_IOC_SET_BPF', programFd);
    } catch (error) {
      throw kernelError(`attaching the program to the ${this.what} (PERF_EVENT_IOC_SET_BPF)`, error, setBpfHint(error));
    }
  }

  /** Starts the event counting (PERF_EVENT_IOC_ENABLE). */
  enable(): void {
    try {
      ioctl(this.fd.value, PERF_EVENT_IOC.ENABLE, 'PERF_EVENT_IOC_ENABLE');
    } catch (error) {
      throw kernelError(`enabling the ${this.what}`, error);
    }
    this.enabled = true;
  }

  /** What closing it does, for reports. */
  get releaseDescription(): string {
    return `close the perf event of the ${this.what}`;
  }

  /** Disables the event (so nothing fires while it goes away) and closes it. */
  close(): void {
    if (this.fd.closed) return;
    try {
      if (this.enabled) ioctl(this.fd.value, PERF_EVENT_IOC.DISABLE, 'PERF_EVENT_IOC_DISABLE');
    } finally {
      this.fd.close();
    }
  }
}

function openHint(error: unknown): string {
  if (error instanceof SyscallError && error.errno === ERRNO.ENOENT) return '; the event does not exist (was it removed meanwhile?)';
  return '';
}

function setBpfHint(error: unknown): string {
  if (error instanceof SyscallError && error.errno === ERRNO.EINVAL) return '; the program type does not fit this event (kprobe programs attach to kprobes and uprobes, tracepoint programs to tracepoints)';
  if (error instanceof SyscallError && error.errno === ERRNO.EEXIST) return '; another program is already attached to this perf event';
  return '';
}
