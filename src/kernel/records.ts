// What output readers deliver: records and loss reports, by callback or as an async iterable, in the host's byte order.
import { endianness } from 'node:os';

/** One record a program sent: the map it came through, the CPU (perf buffers), and its bytes. */
export interface OutputRecord {
  map: string;
  cpu?: number;
  /** With a callback: a view valid only during the call (copy it to keep it); from the iterator: a copy. */
  data: Buffer;
}

/** Records the kernel dropped because a ring was full. */
export interface LostRecords {
  map: string;
  cpu: number;
  count: bigint;
}

/** Callbacks of a perf or ring buffer reader. */
export interface RecordHandlers {
  /** Called for each record as it is read; without it, records wait for the async iterator. */
  onRecord?: (record: OutputRecord) => void;
  /** Called when the kernel dropped records because a ring was full. */
  onLost?: (lost: LostRecords) => void;
}

const little = endianness() === 'LE';

/** A u32 of a kernel-written structure (host byte order). */
export function hostU32(buffer: Buffer, at: number): number {
  return little ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at);
}

export function hostU16(buffer: Buffer, at: number): number {
  return little ? buffer.readUInt16LE(at) : buffer.readUInt16BE(at);
}

export function hostU64(buffer: Buffer, at: number): bigint {
  return little ? buffer.readBigUInt64LE(at) : buffer.readBigUInt64BE(at);
}

/** Records waiting for an async iterator, and the iterators waiting for records. */
export class RecordQueue {
  private readonly records: OutputRecord[] = [];
  private readonly waiting: Array<(result: IteratorResult<OutputRecord>) => void> = [];
  private ended = false;

  push(record: OutputRecord): void {
    const next = this.waiting.shift();
    if (next) next({ value: record, done: false });
    else this.records.push(record);
  }

  end(): void {
    this.ended = true;
    for (const next of this.waiting.splice(0)) next({ value: undefined, done: true });
  }

  iterator(): AsyncIterator<OutputRecord> {
    return {
      next: () => {
        const record = this.records.shift();
        if (record) return Promise.resolve({ value: record, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiting.push(resolve));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** A u32 as a 4-byte buffer in host byte order (map keys and fd values). */
export function hostU32Bytes(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  if (little) buffer.writeUInt32LE(value);
  else buffer.writeUInt32BE(value);
  return buffer;
}
