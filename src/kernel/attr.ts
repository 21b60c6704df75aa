// Kernel attribute structs (bpf_attr, perf_event_attr, info structs) in the machine's byte order.
import { endianness } from 'node:os';

const little = endianness() === 'LE';

export class Attr {
  readonly buffer: Buffer;

  /** A zeroed struct of `size` bytes, or a view of one the kernel filled. */
  constructor(sizeOrBuffer: number | Buffer) {
    this.buffer = typeof sizeOrBuffer === 'number' ? Buffer.alloc(sizeOrBuffer) : sizeOrBuffer;
  }

  u32(offset: number, value: number): this {
    if (little) this.buffer.writeUInt32LE(value, offset);
    else this.buffer.writeUInt32BE(value, offset);
    return this;
  }

  u64(offset: number, value: bigint): this {
    if (little) this.buffer.writeBigUInt64LE(value, offset);
    else this.buffer.writeBigUInt64BE(value, offset);
    return this;
  }

  /** A fixed-size char array: at most size - 1 bytes, the rest NUL. */
  chars(offset: number, text: string, size: number): this {
    this.buffer.write(text, offset, size - 1, 'latin1');
    return this;
  }

  readU32(offset: number): number {
    return little ? this.buffer.readUInt32LE(offset) : this.buffer.readUInt32BE(offset);
  }

  readU64(offset: number): bigint {
    return little ? this.buffer.readBigUInt64LE(offset) : this.buffer.readBigUInt64BE(offset);
  }

  readChars(offset: number, size: number): string {
    return this.buffer.toString('latin1', offset, offset + size).replace(/\0.*$/s, '');
  }
}
