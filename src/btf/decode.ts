// The one decoder of typed bytes: a BTF type and the bytes of a value -> a plain JS value (structs, arrays, strings, enums, bitfields).
import { BTF_KIND, type Btf, type BtfComposite, type BtfType } from './btf.js';

/**
 * A decoded value: integers of up to 32 bits are numbers, wider ones bigints; char arrays are
 * strings; enums their enumerator's name (a number when none matches); pointers "0x..." strings;
 * structs and unions objects by member name; arrays arrays; bools booleans.
 */
export type Decoded = number | bigint | string | boolean | null | Decoded[] | { [field: string]: Decoded };

const BTF_INT_SIGNED = 1;
const BTF_INT_CHAR = 2;
const BTF_INT_BOOL = 4;
/** Deeper than any real type; stops a malformed (cyclic) BTF from recursing forever. */
const MAX_DEPTH = 64;

/** Turns bytes into values by BTF type: integers, enums, strings, structs, unions and arrays. */
export class BtfDecoder {
  constructor(
    readonly btf: Btf,
    private readonly littleEndian: boolean = btf.littleEndian,
  ) {}

  /** Decodes `bytes` as type `typeId`; bytes shorter than the type decode as far as they go (the rest as null). */
  decode(typeId: number, bytes: Uint8Array): Decoded {
    return this.value(typeId, bytes, 0, 0);
  }

  /** Whether a type is a char array, so that text output can quote it as a string. */
  isString(typeId: number): boolean {
    const type = this.btf.resolveType(typeId);
    return type?.kind === BTF_KIND.ARRAY && this.isChar(type.type);
  }

  private value(typeId: number, bytes: Uint8Array, at: number, depth: number): Decoded {
    if (depth > MAX_DEPTH) return null;
    const type = this.btf.resolveType(typeId);
    if (!type) return null;
    switch (type.kind) {
      case BTF_KIND.INT:
        return this.integer(type.size, type.encoding, type.bitOffset, type.bits, bytes, at);
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64: {
        const raw = this.readInteger(bytes, at * 8, type.size * 8, type.kindFlag);
        if (raw === undefined) return null;
        const match = type.values.find((v) => v.value === raw);
        if (match) return match.name;
        return type.size <= 4 ? Number(raw) : raw;
      }
      case BTF_KIND.PTR:
        return at + 8 <= bytes.length ? `0x${this.readInteger(bytes, at * 8, 64, false)!.toString(16)}` : null;
      case BTF_KIND.FLOAT:
        return this.float(type.size, bytes, at);
      case BTF_KIND.ARRAY: {
        if (at >= bytes.length) return null;
        if (this.isChar(type.type)) return cString(bytes.subarray(at, Math.min(bytes.length, at + type.nelems)));
        const size = this.btf.sizeOf(type.type);
        const items: Decoded[] = [];
        for (let i = 0; i < type.nelems && at + i * size < bytes.length; i++) items.push(this.value(type.type, bytes, at + i * size, depth + 1));
        return items;
      }
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        return this.composite(type, bytes, at, depth);
      case BTF_KIND.DATASEC: {
        const result: { [field: string]: Decoded } = {};
        for (const v of type.vars) {
          const variable = this.btf.type(v.type);
          if (variable.kind !== BTF_KIND.VAR) continue;
          result[variable.name] = this.value(variable.type, bytes, at + v.offset, depth + 1);
        }
        return result;
      }
      case BTF_KIND.VAR:
        return this.value(type.type, bytes, at, depth + 1);
      default:
        return hex(bytes.subarray(at, Math.min(bytes.length, at + this.sizeOrZero(type))));
    }
  }

  private sizeOrZero(type: BtfType): number {
    try {
      return this.btf.sizeOf(type.id);
    } catch {
      return 0;
    }
  }

  private composite(type: BtfComposite, bytes: Uint8Array, at: number, depth: number): { [field: string]: Decoded } {
    const result: { [field: string]: Decoded } = {};
    for (const member of type.members) {
      // With kind_flag, the offset word holds the bitfield size in its top 8 bits.
      const bitOffset = type.kindFlag ? member.offset & 0xffffff : member.offset;
      const bitSize = type.kindFlag ? member.offset >>> 24 : 0;
      let value: Decoded;
      const resolved = this.btf.resolveType(member.type);
      if (bitSize > 0 || bitOffset % 8 !== 0) {
        // A bitfield: an integer (or enum) of bitSize bits, bitOffset bits into the struct.
        const bits = bitSize || (resolved?.kind === BTF_KIND.INT ? resolved.bits : 8 * this.sizeOrZero(resolved ?? type));
        const signed = resolved?.kind === BTF_KIND.INT ? (resolved.encoding & BTF_INT_SIGNED) !== 0 : resolved?.kind === BTF_KIND.ENUM ? resolved.kindFlag : false;
        const raw = this.readInteger(bytes, at * 8 + bitOffset, bits, signed);
        if (raw === undefined) value = null;
        else if (resolved?.kind === BTF_KIND.ENUM || resolved?.kind === BTF_KIND.ENUM64) value = resolved.values.find((v) => v.value === raw)?.name ?? Number(raw);
        else if (resolved?.kind === BTF_KIND.INT && (resolved.encoding & BTF_INT_BOOL) !== 0) value = raw !== 0n;
        else value = bits <= 32 ? Number(raw) : raw;
      } else {
        value = this.value(member.type, bytes, at + bitOffset / 8, depth + 1);
      }
      // An anonymous struct or union member: its fields belong to the outer one, as in C.
      if (member.name === '' && value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(result, value);
      else result[member.name] = value;
    }
    return result;
  }

  private isChar(typeId: number): boolean {
    const element = this.btf.resolveType(typeId);
    // 'char' arrays are text; unsigned char and signed char arrays (__u8, __s8) are bytes.
    return element?.kind === BTF_KIND.INT && element.size === 1 && ((element.encoding & BTF_INT_CHAR) !== 0 || element.name === 'char');
  }

  private integer(size: number, encoding: number, bitOffset: number, bits: number, bytes: Uint8Array, at: number): Decoded {
    const signed = (encoding & BTF_INT_SIGNED) !== 0;
    // Whole 1-, 2-, 4- and 8-byte integers, nearly every field a record has, without a bigint per byte.
    if (bitOffset === 0 && (bits === 0 || bits === size * 8) && (encoding & BTF_INT_BOOL) === 0) {
      const whole = this.wholeInteger(bytes, at, size, signed);
      if (whole !== false) return whole;
    }
    const raw = this.readInteger(bytes, at * 8 + bitOffset, bits || size * 8, signed);
    if (raw === undefined) return null;
    if ((encoding & BTF_INT_BOOL) !== 0) return raw !== 0n;
    return (bits || size * 8) <= 32 ? Number(raw) : raw;
  }

  private float(size: number, bytes: Uint8Array, at: number): Decoded {
    if (at + size > bytes.length) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, size);
    if (size === 4) return view.getFloat32(0, this.littleEndian);
    if (size === 8) return view.getFloat64(0, this.littleEndian);
    return hex(bytes.subarray(at, at + size));
  }

  /** A byte-aligned integer of 1, 2, 4 or 8 bytes (null past the end); false for other sizes. */
  private wholeInteger(bytes: Uint8Array, at: number, size: number, signed: boolean): number | bigint | null | false {
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return false;
    if (at + size > bytes.length) return null;
    if (size === 1) return signed ? (bytes[at]! << 24) >> 24 : bytes[at]!;
    const le = this.littleEndian;
    if (size === 2) {
      const v = le ? bytes[at]! | (bytes[at + 1]! << 8) : (bytes[at]! << 8) | bytes[at + 1]!;
      return signed ? (v << 16) >> 16 : v;
    }
    const word = (i: number): number => (le ? bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24) : (bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!);
    if (size === 4) return signed ? word(at) | 0 : word(at) >>> 0;
    const low = (le ? word(at) : word(at + 4)) >>> 0;
    const high = (le ? word(at + 4) : word(at)) >>> 0;
    const value = (BigInt(high) << 32n) | BigInt(low);
    return signed ? BigInt.asIntN(64, value) : value;
  }

  /**
   * `bits` bits starting `bitOffset` bits into `bytes` (counted from the first byte's least
   * significant bit on little-endian, its most significant bit on big-endian, as BTF counts).
   */
  private readInteger(bytes: Uint8Array, bitOffset: number, bits: number, signed: boolean): bigint | undefined {
    const first = Math.floor(bitOffset / 8);
    const last = Math.ceil((bitOffset + bits) / 8);
    if (bits === 0 || last > bytes.length) return undefined;
    let word = 0n;
    if (this.littleEndian) for (let i = last - 1; i >= first; i--) word = (word << 8n) | BigInt(bytes[i]!);
    else for (let i = first; i < last; i++) word = (word << 8n) | BigInt(bytes[i]!);
    const shift = this.littleEndian ? BigInt(bitOffset % 8) : BigInt((last - first) * 8 - (bitOffset % 8) - bits);
    const value = (word >> shift) & ((1n << BigInt(bits)) - 1n);
    return signed ? BigInt.asIntN(bits, value) : value;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Bytes up to the first NUL as UTF-8 text (invalid bytes become U+FFFD; control bytes are escaped on output). */
function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return utf8.decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}

function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** JSON text of a decoded value; bigints are written as exact integers (JSON numbers have no size limit). */
export function decodedJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(decodedJson).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${JSON.stringify(k)}:${decodedJson(v)}`);
    return `{${parts.join(',')}}`;
  }
  return 'null';
}
