// RingBufferReader: records a program sends through a BPF_MAP_TYPE_RINGBUF, read in order from its mmap'd pages.
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, MAP_TYPE } from '../abi.js';
import { ClosedError, KernelError, kernelError } from '../errors.js';
import { mmap, munmap, pageSize, ringbufRead, watchFd } from '../native.js';
import type { BpfMap } from './maps.js';
import { RecordQueue, hostU32, type OutputRecord, type RecordHandlers } from './records.js';

const BATCH_BYTES = 256 * 1024;

/**
 * The size the kernel needs for a ring buffer map: a power of two and a multiple of the page
 * size, as libbpf rounds it (a size that is neither is rounded up to the next one that is both).
 */
export function ringBufferSize(requested: number, page: number = pageSize()): number {
  let size = Math.max(requested, page);
  if ((size & (size - 1)) !== 0) size = 2 ** Math.ceil(Math.log2(size));
  return size;
}

/** Reads a BPF ring buffer's records (bpf_ringbuf_output, reserve and submit), by callback, poll() or as an async iterator. */
export class RingBufferReader implements AsyncIterable<OutputRecord> {
  private buffer = Buffer.alloc(BATCH_BYTES);
  private closed = false;
  private paused = false;
  private discardedTotal = 0;
  private readonly watch: { stop(): void };
  private readonly queue = new RecordQueue();

  private constructor(
    readonly map: BpfMap,
    private readonly handlers: RecordHandlers,
    private readonly consumer: ArrayBuffer,
    private readonly producer: ArrayBuffer,
  ) {
    this.watch = watchFd(map.fd.value, () => this.drain());
  }

  /**
   * Maps the ring's consumer page (read-write) and its producer page and data (read-only; the
   * kernel maps the data twice in a row so that records never wrap), then reads records as the
   * map's fd becomes readable.
   */
  static open(map: BpfMap, handlers: RecordHandlers = {}): RingBufferReader {
    if (map.definition.type !== MAP_TYPE.RINGBUF) throw new KernelError(`map '${map.name}' is not a ring buffer`);
    const page = pageSize();
    const size = map.definition.maxEntries;
    let consumer: ArrayBuffer | undefined;
    try {
      consumer = mmap(map.fd.value, page, 0, true);
      const producer = mmap(map.fd.value, page + 2 * size, page, false);
      return new RingBufferReader(map, handlers, consumer, producer);
    } catch (error) {
      if (consumer) munmap(consumer);
      throw kernelError(`mapping ring buffer '${map.name}' (${size} bytes)`, error);
    }
  }

  /** Records the program reserved and then discarded (bpf_ringbuf_discard), skipped. */
  get discarded(): number {
    return this.discardedTotal;
  }

  /** What closing it does, for reports. */
  get releaseDescription(): string {
    return `close the ring buffer reader of map '${this.map.name}'`;
  }

  /** Stops reading until resume(); records wait in the ring (or are lost when it fills). */
  pause(): void {
    this.paused = true;
  }

  /** Reads again after pause(). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drain();
  }

  /** Reads everything committed now (the readiness callback does this as records come). */
  poll(): void {
    if (this.closed) throw new ClosedError(`the ring buffer reader of map '${this.map.name}' is closed`);
    this.drain();
  }

  private drain(): void {
    const layout = {
      dataOffset: pageSize(),
      dataSize: this.map.definition.maxEntries,
      headerSize: BPF_RINGBUF_HDR_SZ,
      busyBit: BPF_RINGBUF_BUSY_BIT,
      discardBit: BPF_RINGBUF_DISCARD_BIT,
    };
    while (!this.closed && !this.paused) {
      const { bytes, discarded } = ringbufRead(this.consumer, this.producer, layout, this.buffer);
      this.discardedTotal += discarded;
      if (bytes === 0) {
        // Either empty, or the next record does not fit the batch buffer: look at its length.
        if (!this.growForNext()) return;
        continue;
      }
      for (let at = 0; at < bytes; ) {
        const length = hostU32(this.buffer, at);
        const data = this.buffer.subarray(at + 8, at + 8 + length);
        if (this.handlers.onRecord) this.handlers.onRecord({ map: this.map.name, data });
        else this.queue.push({ map: this.map.name, data: Buffer.from(data) });
        at += 8 + Math.ceil(length / 8) * 8;
      }
    }
  }

  /** When the next committed record is bigger than the batch buffer, grows the buffer; false when nothing waits. */
  private growForNext(): boolean {
    const consumerPos = new BigUint64Array(this.consumer, 0, 1)[0]!;
    const producerPos = new BigUint64Array(this.producer, 0, 1)[0]!;
    if (consumerPos >= producerPos) return false;
    const size = this.map.definition.maxEntries;
    const header = new Uint32Array(this.producer, pageSize() + Number(consumerPos % BigInt(size)), 1)[0]!;
    if ((header & BPF_RINGBUF_BUSY_BIT) !== 0) return false;
    const length = header & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    if (length + 8 <= this.buffer.length) return false;
    this.buffer = Buffer.alloc(length * 2 + 16);
    return true;
  }

  /** The records as they come, each a copy; for readers opened without onRecord. */
  [Symbol.asyncIterator](): AsyncIterator<OutputRecord> {
    return this.queue.iterator();
  }

  /** Stops reading and unmaps the ring (the map itself belongs to its owner). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch.stop();
    munmap(this.producer);
    munmap(this.consumer);
    this.queue.end();
  }
}
