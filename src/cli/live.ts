// LiveOutput: while a run is attached, the readers of its output maps and of trace_pipe, the --interval snapshots, and back-pressure.
import { BPF_FUNC } from '../abi.js';
import { TracePipeReader } from '../attach/trace-pipe.js';
import { PerfBufferReader } from '../kernel/perf-buffer.js';
import { RingBufferReader } from '../kernel/ring-buffer.js';
import type { LoadedObject } from '../loader.js';
import type { ObjectMetrics } from '../metrics/object-metrics.js';
import { helperCalls } from '../insn/instructions.js';
import { MAP_TYPE } from '../object/map-types.js';
import type { BpfObjectSpec } from '../object/spec.js';
import { stackTraceMap, type RunOutput } from './run-output.js';

export interface LiveOptions {
  tracePipe: boolean;
  perfPages: number;
  /** Seconds between map snapshots; 0 for none. */
  interval: number;
  /** The maps a snapshot shows; all when empty. */
  maps: readonly string[];
}

/** Whether any of the programs calls bpf_trace_printk or bpf_trace_vprintk. */
export function callsTracePrintk(spec: BpfObjectSpec, programs: readonly string[]): boolean {
  return spec.programs.some((p) => programs.includes(p.name) && [...helperCalls(p.instructions, spec.littleEndian)].some((h) => h === BPF_FUNC.trace_printk || h === BPF_FUNC.trace_vprintk));
}

type Reader = PerfBufferReader | RingBufferReader;

/** How often the processes named beside stack ids are looked for, to keep their mappings while they live. */
const PROCESS_WATCH_MS = 1000;

export class LiveOutput {
  private readers: Reader[] = [];
  private tracePipe: TracePipeReader | undefined;
  private interval: NodeJS.Timeout | undefined;
  private backPressure: NodeJS.Timeout | undefined;
  private processes: NodeJS.Timeout | undefined;
  readonly readerNames: string[] = [];

  constructor(
    private readonly out: RunOutput,
    private readonly options: LiveOptions,
    private readonly tracing: boolean,
  ) {}

  /** Opens the readers, owned by the loaded object (closed before its maps), counting records into `metrics`: called before any program is attached. */
  open(loaded: LoadedObject, metrics?: ObjectMetrics): void {
    this.readers = [];
    this.readerNames.length = 0;
    const handlers = {
      onRecord: (r: { map: string; cpu?: number; data: Buffer }) => {
        metrics?.countRecords(r.map, 1);
        this.out.record(r.map, r.cpu, r.data);
      },
      onLost: (l: { map: string; cpu: number; count: bigint }) => {
        metrics?.countLost(l.map, Number(l.count));
        this.out.lostRecords(l.map, l.cpu, l.count);
      },
    };
    for (const m of loaded.maps.values()) {
      if (m.map.definition.type === MAP_TYPE.PERF_EVENT_ARRAY) {
        this.readers.push(loaded.own(PerfBufferReader.open(m.map, { ...handlers, pages: this.options.perfPages })));
      } else if (m.map.definition.type === MAP_TYPE.RINGBUF) {
        this.readers.push(loaded.own(RingBufferReader.open(m.map, handlers)));
      } else {
        continue;
      }
      this.readerNames.push(m.name);
    }
    if (this.tracing && this.options.tracePipe) this.tracePipe = loaded.own(new TracePipeReader((line) => this.out.trace(line)));
  }

  get readingTracePipe(): boolean {
    return this.tracePipe !== undefined;
  }

  /** Starts the snapshots and the watch on stdout: readers pause while stdout is backed up (the kernel then counts losses). */
  start(loaded: LoadedObject): void {
    if (this.options.interval > 0) this.interval = setInterval(() => this.out.snapshot(loaded, this.options.maps), this.options.interval * 1000);
    if (stackTraceMap(loaded)) {
      this.processes = setInterval(() => this.out.rememberProcesses(loaded), PROCESS_WATCH_MS);
    }
    if (this.readers.length > 0) {
      this.backPressure = setInterval(() => {
        for (const r of this.readers) {
          if (this.out.congested) r.pause();
          else r.resume();
        }
      }, 20);
    }
  }

  /** Stops the timers and reads what is left in the rings before the readers close. */
  stop(): void {
    if (this.interval) clearInterval(this.interval);
    if (this.backPressure) clearInterval(this.backPressure);
    if (this.processes) clearInterval(this.processes);
    for (const r of this.readers) {
      r.resume();
      try {
        r.poll();
      } catch {
        // Already closed by a failure path.
      }
    }
    this.tracePipe?.drain();
  }
}
