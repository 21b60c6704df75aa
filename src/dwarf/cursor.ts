// A bounds-checked reader of one DWARF section's bytes; every fault is one ObjectError naming the section and offset.
import { ObjectError } from '../errors.js';

/** "DWARF .debug_info at 0x1a2: message": the one shape of every DWARF error. */
export function dwarfError(section: string, at: number, message: string): ObjectError {
  return new ObjectError(`DWARF ${section} at 0x${at.toString(16)}: ${message}`);
}

/** The bytes and name of a DWARF section, in the object's byte order. */
export interface DwarfSection {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
}

export class Cursor {
  private readonly view: DataView;

  /** Reads `section` from `at` up to `end` (a unit's end, or the section's). */
  constructor(
    readonly section: DwarfSection,
    public at = 0,
    readonly end = section.bytes.length,
  ) {
    this.view = new DataView(section.bytes.buffer, section.bytes.byteOffset, section.bytes.byteLength);
  }

  fail(message: string, at = this.at): never {
    throw dwarfError(this.section.name, at, message);
  }

  /** Moves past `length` bytes, failing when they run past the end. */
  private take(length: number): number {
    const start = this.at;
    if (length > this.end - start) this.fail(`${length === 1 ? 'a byte' : `${length} bytes`} would run past the end (0x${this.end.toString(16)})`);
    this.at = start + length;
    return start;
  }

  skip(length: number): void {
    this.take(length);
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }

  u16(): number {
    return this.view.getUint16(this.take(2), this.section.littleEndian);
  }

  u24(): number {
    const at = this.take(3);
    const [b0, b1, b2] = [this.view.getUint8(at), this.view.getUint8(at + 1), this.view.getUint8(at + 2)];
    return this.section.littleEndian ? b0 | (b1 << 8) | (b2 << 16) : (b0 << 16) | (b1 << 8) | b2;
  }

  u32(): number {
    return this.view.getUint32(this.take(4), this.section.littleEndian);
  }

  u64(): bigint {
    return this.view.getBigUint64(this.take(8), this.section.littleEndian);
  }

  /** A 16-byte value as one unsigned integer, in the section's byte order. */
  u128(): bigint {
    const [first, second] = [this.u64(), this.u64()];
    return this.section.littleEndian ? (second << 64n) | first : (first << 64n) | second;
  }

  /** An unsigned integer of `size` bytes (1, 2, 4 or 8) as a number; an 8-byte one must be below 2^53. */
  unsigned(size: number): number {
    if (size === 1) return this.u8();
    if (size === 2) return this.u16();
    if (size === 4) return this.u32();
    const start = this.at;
    if (size !== 8) this.fail(`a ${size}-byte value is not a size DWARF uses`);
    return this.safe(this.u64(), start);
  }

  /** A bigint that must be usable as an offset or count. */
  private safe(value: bigint, at: number): number {
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${value} is too big to be an offset or size`, at);
    return Number(value);
  }

  bytes(length: number): Uint8Array {
    const start = this.take(length);
    return this.section.bytes.subarray(start, start + length);
  }

  /** ULEB128 as a bigint (the payload must fit 64 bits). */
  ulebBig(): bigint {
    const start = this.at;
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.u8();
      if (shift >= 64n && (byte & 0x7f) !== 0) this.fail('a LEB128 number does not fit 64 bits', start);
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
  }

  /** SLEB128 as a bigint (64 bits, sign-extended). */
  slebBig(): bigint {
    const start = this.at;
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.u8();
      if (shift >= 64n && (byte & 0x7f) !== 0 && (byte & 0x7f) !== 0x7f) this.fail('a LEB128 number does not fit 64 bits', start);
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        if ((byte & 0x40) !== 0) result -= 1n << shift;
        return BigInt.asIntN(64, result);
      }
    }
  }

  /** ULEB128 that must be usable as an offset, code or count. */
  uleb(): number {
    const start = this.at;
    // Most are one byte (abbreviation codes, attribute names and forms): no bigint for those.
    const first = this.u8();
    if ((first & 0x80) === 0) return first;
    this.at = start;
    return this.safe(this.ulebBig(), start);
  }

  /** Moves past a NUL-terminated string. */
  skipString(): void {
    const end = this.section.bytes.subarray(0, this.end).indexOf(0, this.at);
    if (end < 0) this.fail('a string has no terminating NUL before the end');
    this.at = end + 1;
  }
}
