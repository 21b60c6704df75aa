// PerfBufferReader: records a program sends with bpf_perf_event_output, read per CPU from mmap'd perf rings of a PERF_EVENT_ARRAY.
import { MAP_TYPE, PERF_COUNT_SW_BPF_OUTPUT, PERF_EVENT_HEADER_SIZE, PERF_MMAP_PAGE, PERF_RECORD, PERF_SAMPLE_RAW, PERF_TYPE } from '../abi.js';
import { ClosedError, KernelError, kernelError } from '../errors.js';
import { mmap, munmap, pageSize, perfRingRead, watchFd } from '../native.js';
import { onlineCpus } from './cpus.js';
import type { BpfMap } from './maps.js';
import { PerfEvent } from './perf-event.js';
import { RecordQueue, hostU16, hostU32, hostU32Bytes, hostU64, type OutputRecord, type RecordHandlers } from './records.js';

/** What PerfBufferReader.open() takes: the record handlers, and the size and wake-up of each CPU's ring. */
export interface PerfBufferOptions extends RecordHandlers {
  /** Data pages of each CPU's ring: a power of two (default 64, 256 KiB with 4 KiB pages). */
  pages?: number;
  /** Wake the reader after this many records (default 1), or once this many bytes are waiting. */
  wakeup?: { events: number } | { watermarkBytes: number };
}

/** How many bytes one drain copies out of a ring at most; a ring is drained again until empty. */
const BATCH_BYTES = 256 * 1024;

interface CpuRing {
  cpu: number;
  event: PerfEvent;
  mapping: ArrayBuffer;
  watch: { stop(): void } | undefined;
}

/** Reads a perf event array's records (bpf_perf_event_output), one ring per CPU, by callback or as an async iterator. */
export class PerfBufferReader implements AsyncIterable<OutputRecord> {
  private readonly rings: CpuRing[] = [];
  private buffer = Buffer.alloc(BATCH_BYTES);
  private closed = false;
  private paused = false;
  private lostTotal = 0n;
  private readonly queue = new RecordQueue();

  private constructor(
    readonly map: BpfMap,
    private readonly handlers: RecordHandlers,
  ) {}

  /**
   * Opens one BPF output perf event per online CPU, maps its ring, and stores its fd in the map at
   * that CPU's index, where bpf_perf_event_output(..., BPF_F_CURRENT_CPU, ...) finds it. Records
   * go to `onRecord` (or the async iterator) as they arrive; losses to `onLost`.
   */
  static open(map: BpfMap, options: PerfBufferOptions = {}): PerfBufferReader {
    if (map.definition.type !== MAP_TYPE.PERF_EVENT_ARRAY) throw new KernelError(`map '${map.name}' is not a perf event array`);
    const pages = options.pages ?? 64;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new KernelError(`perf buffer pages must be a power of two (1, 2, 4, ...), got ${pages}`);
    }
    const reader = new PerfBufferReader(map, options);
    try {
      for (const cpu of onlineCpus()) {
        if (cpu >= map.definition.maxEntries) break;
        reader.openCpu(cpu, pages, options.wakeup ?? { events: 1 });
      }
    } catch (error) {
      reader.close();
      throw error;
    }
    // A perf fd reports readable once per wakeup, and the event loop's epoll registration (made
    // on its next turn) consumes a wakeup that came before it: read once after that turn.
    setImmediate(() => {
      for (const ring of reader.rings) reader.drain(ring);
    });
    return reader;
  }

  private openCpu(cpu: number, pages: number, wakeup: NonNullable<PerfBufferOptions['wakeup']>): void {
    const event = PerfEvent.open(
      { type: PERF_TYPE.SOFTWARE, config: BigInt(PERF_COUNT_SW_BPF_OUTPUT), sampleType: BigInt(PERF_SAMPLE_RAW), wakeup },
      `BPF output of map '${this.map.name}' on CPU ${cpu}`,
      { pid: -1, cpu },
    );
    let mapping: ArrayBuffer;
    try {
      mapping = mmap(event.fd.value, pageSize() * (1 + pages), 0, true);
    } catch (error) {
      event.close();
      throw kernelError(`mapping the perf ring of map '${this.map.name}' on CPU ${cpu} (${pages} pages)`, error, (n) => `; fewer ${n('perfPages')}, or raise the perf_event_mlock_kb limit`);
    }
    const ring: CpuRing = { cpu, event, mapping, watch: undefined };
    this.rings.push(ring);
    this.map.update(hostU32Bytes(cpu), hostU32Bytes(event.fd.value));
    event.enable();
    ring.watch = watchFd(event.fd.value, () => this.drain(ring));
  }

  /** Records lost so far: the kernel found a ring full and counted what it dropped. */
  get lost(): bigint {
    return this.lostTotal;
  }

  /** What closing it does, for reports. */
  get releaseDescription(): string {
    return `close the perf buffer of map '${this.map.name}' (${this.rings.length} CPUs)`;
  }

  /** Stops taking records out of the rings (they fill, and the kernel counts losses) until resume(). */
  pause(): void {
    this.paused = true;
  }

  /** Reads again after pause(). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const ring of this.rings) this.drain(ring);
  }

  /** Reads everything waiting in every ring now (the readiness callbacks do this as records come). */
  poll(): void {
    if (this.closed) throw new ClosedError(`the perf buffer of map '${this.map.name}' is closed`);
    for (const ring of this.rings) this.drain(ring);
  }

  private drain(ring: CpuRing): void {
    if (this.closed || this.paused) return;
    const layout = { headOffset: PERF_MMAP_PAGE.data_head, tailOffset: PERF_MMAP_PAGE.data_tail, dataOffset: pageSize(), dataSize: ring.mapping.byteLength - pageSize() };
    for (;;) {
      const bytes = perfRingRead(ring.mapping, layout, this.buffer);
      if (bytes < 0) {
        // One record larger than the batch buffer: grow it and read again.
        this.buffer = Buffer.alloc(-bytes * 2);
        continue;
      }
      if (bytes === 0) return;
      this.deliver(ring.cpu, this.buffer, bytes);
      if (this.paused || this.closed) return;
    }
  }

  private deliver(cpu: number, batch: Buffer, length: number): void {
    for (let at = 0; at + PERF_EVENT_HEADER_SIZE <= length; ) {
      const type = hostU32(batch, at);
      const size = hostU16(batch, at + 6);
      if (size < PERF_EVENT_HEADER_SIZE) return;
      if (type === PERF_RECORD.SAMPLE) {
        // PERF_SAMPLE_RAW: a u32 size, then the raw data (padded so the record stays 8-aligned).
        const rawSize = hostU32(batch, at + 8);
        const start = at + 12;
        const data = batch.subarray(start, Math.min(start + rawSize, at + size));
        this.emit({ map: this.map.name, cpu, data });
      } else if (type === PERF_RECORD.LOST) {
        const count = hostU64(batch, at + 16);
        this.lostTotal += count;
        this.handlers.onLost?.({ map: this.map.name, cpu, count });
      }
      at += size;
    }
  }

  private emit(record: OutputRecord): void {
    if (this.handlers.onRecord) this.handlers.onRecord(record);
    else this.queue.push({ ...record, data: Buffer.from(record.data) });
  }

  /** The records as they come (copies, kept until read); ends when the reader closes. */
  [Symbol.asyncIterator](): AsyncIterator<OutputRecord> {
    return this.queue.iterator();
  }

  /** Stops reading, takes the fds out of the map, closes the perf events and unmaps their rings. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const failures: unknown[] = [];
    for (const ring of this.rings) {
      ring.watch?.stop();
      try {
        if (!this.map.closed) this.map.delete(hostU32Bytes(ring.cpu));
      } catch (error) {
        failures.push(error);
      }
      try {
        ring.event.close();
      } catch (error) {
        failures.push(error);
      }
      munmap(ring.mapping);
    }
    this.rings.length = 0;
    this.queue.end();
    if (failures.length > 0) throw failures[0];
  }
}
