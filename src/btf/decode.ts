// The one decoder of typed bytes: a BTF type and the bytes of a value -> a plain JS value (structs, arrays, strings, enums, bitfields).
import { BTF_INT_BOOL, BTF_INT_SIGNED, BTF_KIND, isCharType, type Btf, type BtfArray, type BtfComposite, type BtfEnumerator, type BtfType } from './btf.js';

/**
 * A decoded value: integers of up to 32 bits are numbers, wider ones bigints; char arrays are
 * strings; enums their enumerator's name (a number when none matches); pointers "0x..." strings;
 * structs and unions objects by member name; arrays arrays; bools booleans. A struct's flexible
 * array (a last member of 0 elements) holds the rest of the bytes: a variable-length record's data.
 */
export type Decoded = number | bigint | string | boolean | null | Decoded[] | { [field: string]: Decoded };

/** Deeper than any real type; stops a malformed (cyclic) BTF from recursing forever. */
const MAX_DEPTH = 64;

/** One column of a struct's values (BtfDecoder.columns): its name, type and reader. */
export interface DecodedColumn {
  /** The member's name; a nested struct's members are "outer.inner". */
  name: string;
  /** The member's type. */
  typeId: number;
  /** A member of the struct itself (or of an anonymous member), not of a nested named struct. */
  top: boolean;
  /** Reads the member from a record's bytes. */
  read(bytes: Uint8Array): Decoded;
  /** Where it lies when it is a whole integer of 1, 2, 4 or 8 bytes (no bitfield, bool or enum): for readers of numbers rather than the bigints 8-byte values decode to. */
  integer?: { offset: number; size: number; signed: boolean };
  /** Where it lies when it is a char array of fixed size, read as the C string it holds (up to its first NUL). */
  chars?: { offset: number; length: number };
}

/** Reads a value of one type from `bytes` at byte offset `at`. */
type Reader = (bytes: Uint8Array, at: number) => Decoded;

const readsNull: Reader = () => null;

/**
 * Turns bytes into values by BTF type: integers, enums, strings, structs, unions and arrays. Each
 * type is compiled once into readers (offsets, sizes and names worked out ahead), so a stream of
 * records of one type pays only for reading.
 */
export class BtfDecoder {
  private readonly readers = new Map<number, Reader>();

  constructor(
    readonly btf: Btf,
    private readonly littleEndian: boolean = btf.littleEndian,
  ) {}

  /**
   * Decodes `bytes` as type `typeId`; bytes shorter than the type decode as far as they go (the
   * rest as null), and a struct's flexible array takes the bytes past the struct's size.
   */
  decode(typeId: number, bytes: Uint8Array): Decoded {
    let reader = this.readers.get(typeId);
    if (!reader) this.readers.set(typeId, (reader = this.compile(typeId, 0, true)));
    return reader(bytes, 0);
  }

  /** Whether a type is a char array, so that text output can quote it as a string. */
  isString(typeId: number): boolean {
    const type = this.btf.resolveType(typeId);
    return type?.kind === BTF_KIND.ARRAY && this.isChar(type.type);
  }

  /** `tail`: the value ends where the bytes end (the decoded type, or the last member of one that does), so a flexible array of it reads to the end. */
  private compile(typeId: number, depth: number, tail = false): Reader {
    if (depth > MAX_DEPTH) return readsNull;
    const type = this.btf.resolveType(typeId);
    if (!type) return readsNull;
    switch (type.kind) {
      case BTF_KIND.INT:
        return this.integer(type.size, type.encoding, type.bitOffset, type.bits);
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64: {
        const { size, kindFlag: signed } = type;
        const names = enumeratorNames(type.values);
        return (bytes, at) => {
          const raw = this.readInteger(bytes, at * 8, size * 8, signed);
          if (raw === undefined) return null;
          return names.get(raw) ?? (size <= 4 ? Number(raw) : raw);
        };
      }
      case BTF_KIND.PTR:
        return (bytes, at) => (at + 8 <= bytes.length ? `0x${this.readInteger(bytes, at * 8, 64, false)!.toString(16)}` : null);
      case BTF_KIND.FLOAT: {
        const size = type.size;
        return (bytes, at) => this.float(size, bytes, at);
      }
      case BTF_KIND.ARRAY: {
        const count = type.nelems;
        if (this.isChar(type.type)) return (bytes, at) => (at >= bytes.length ? null : cString(bytes.subarray(at, Math.min(bytes.length, at + count))));
        const element = this.compile(type.type, depth + 1);
        // Sized at the first read, as the reading would fail (an element type with no size) only then.
        let size: number | undefined;
        return (bytes, at) => {
          if (at >= bytes.length) return null;
          size ??= this.btf.sizeOf(type.type);
          const items: Decoded[] = [];
          for (let i = 0; i < count && at + i * size < bytes.length; i++) items.push(element(bytes, at + i * size));
          return items;
        };
      }
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        return this.composite(type, depth, tail);
      case BTF_KIND.DATASEC: {
        const vars: Array<{ name: string; offset: number; read: Reader }> = [];
        for (const v of type.vars) {
          const variable = this.btf.type(v.type);
          if (variable.kind === BTF_KIND.VAR) vars.push({ name: variable.name, offset: v.offset, read: this.compile(variable.type, depth + 1) });
        }
        return (bytes, at) => {
          const result: { [field: string]: Decoded } = {};
          for (const v of vars) result[v.name] = v.read(bytes, at + v.offset);
          return result;
        };
      }
      case BTF_KIND.VAR:
        return this.compile(type.type, depth + 1);
      default: {
        const size = this.sizeOrZero(type);
        return (bytes, at) => hex(bytes.subarray(at, Math.min(bytes.length, at + size)));
      }
    }
  }

  private sizeOrZero(type: BtfType): number {
    try {
      return this.btf.sizeOf(type.id);
    } catch {
      return 0;
    }
  }

  private composite(type: BtfComposite, depth: number, tail: boolean): Reader {
    const members = this.members(type, depth, tail);
    return (bytes, at) => {
      const result: { [field: string]: Decoded } = {};
      for (const member of members) {
        const value = member.read(bytes, at + member.offset);
        // An anonymous struct or union member: its fields belong to the outer one, as in C.
        if (member.name === '' && value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(result, value);
        else result[member.name] = value;
      }
      return result;
    };
  }

  /**
   * A struct's or union's members: name, type, reader and byte offset (bitfields read from the
   * struct's start). With `tail` (the struct ends where the bytes end), its last member does too.
   */
  private members(type: BtfComposite, depth: number, tail: boolean): Array<{ name: string; typeId: number; read: Reader; offset: number; tail: boolean; bitfield: boolean }> {
    return type.members.map((member, index) => {
      // With kind_flag, the offset word holds the bitfield size in its top 8 bits.
      const bitOffset = type.kindFlag ? member.offset & 0xffffff : member.offset;
      const bitSize = type.kindFlag ? member.offset >>> 24 : 0;
      const { name, type: typeId } = member;
      const last = tail && type.kind === BTF_KIND.STRUCT && index === type.members.length - 1;
      if (bitSize === 0 && bitOffset % 8 === 0) {
        const resolved = last ? this.btf.resolveType(typeId) : undefined;
        const tailArray = resolved?.kind === BTF_KIND.ARRAY ? resolved : undefined;
        const read = tailArray?.nelems === 0 ? this.flexibleArray(tailArray, depth + 1) : tailArray && this.isChar(tailArray.type) ? charTail(tailArray.nelems) : this.compile(typeId, depth + 1, last);
        return { name, typeId, read, offset: bitOffset / 8, tail: last, bitfield: false };
      }
      // A bitfield: an integer (or enum) of bitSize bits, bitOffset bits into the struct.
      const resolved = this.btf.resolveType(typeId);
      const bits = bitSize || (resolved?.kind === BTF_KIND.INT ? resolved.bits : 8 * this.sizeOrZero(resolved ?? type));
      const signed = resolved?.kind === BTF_KIND.INT ? (resolved.encoding & BTF_INT_SIGNED) !== 0 : resolved?.kind === BTF_KIND.ENUM ? resolved.kindFlag : false;
      const names = resolved?.kind === BTF_KIND.ENUM || resolved?.kind === BTF_KIND.ENUM64 ? enumeratorNames(resolved.values) : undefined;
      const bool = resolved?.kind === BTF_KIND.INT && (resolved.encoding & BTF_INT_BOOL) !== 0;
      const read: Reader = (bytes, at) => {
        const raw = this.readInteger(bytes, at * 8 + bitOffset, bits, signed);
        if (raw === undefined) return null;
        if (names) return names.get(raw) ?? Number(raw);
        if (bool) return raw !== 0n;
        return bits <= 32 ? Number(raw) : raw;
      };
      return { name, typeId, read, offset: 0, tail: false, bitfield: true };
    });
  }

  /**
   * A flexible array (a struct's last member of 0 elements, `char args[]`): what the record holds
   * past the struct, as many whole elements as fit, or a char one as its strings (cStrings). A perf
   * buffer's padding (up to 7 zero bytes) reads as zero elements.
   */
  private flexibleArray(type: BtfArray, depth: number): Reader {
    if (this.isChar(type.type)) return (bytes, at) => (at > bytes.length ? null : cStrings(bytes.subarray(at)));
    const element = this.compile(type.type, depth + 1);
    let size: number | undefined;
    return (bytes, at) => {
      if (at > bytes.length) return null;
      size ??= this.btf.sizeOf(type.type);
      const items: Decoded[] = [];
      for (let i = 0; size > 0 && at + (i + 1) * size <= bytes.length; i++) items.push(element(bytes, at + i * size));
      return items;
    };
  }

  /**
   * A struct's or union's values as columns, what decode() gives flattened: anonymous members'
   * fields in the outer one, a named struct's members as "outer.inner"; `top` marks the struct's
   * own fields (the ones value rules see). Undefined for other types. For bytes of at least the
   * type's size, reading each column gives exactly the leaves of decode().
   */
  columns(typeId: number): DecodedColumn[] | undefined {
    const type = this.btf.resolveType(typeId);
    if (type?.kind !== BTF_KIND.STRUCT && type?.kind !== BTF_KIND.UNION) return undefined;
    const columns: DecodedColumn[] = [];
    const walk = (composite: BtfComposite, prefix: string, base: number, depth: number, tail: boolean): void => {
      for (const member of this.members(composite, depth, tail)) {
        const inner = this.btf.resolveType(member.typeId);
        const offset = base + member.offset;
        if ((inner?.kind === BTF_KIND.STRUCT || inner?.kind === BTF_KIND.UNION) && depth < MAX_DEPTH) {
          walk(inner, member.name === '' ? prefix : `${prefix}${member.name}.`, offset, depth + 1, member.tail);
        } else {
          const read = member.read;
          const whole = !member.bitfield && inner?.kind === BTF_KIND.INT && inner.bitOffset === 0 && inner.bits === inner.size * 8 && (inner.encoding & BTF_INT_BOOL) === 0 && [1, 2, 4, 8].includes(inner.size);
          columns.push({
            name: `${prefix}${member.name}`,
            typeId: member.typeId,
            top: prefix === '',
            read: (bytes) => read(bytes, offset),
            ...(whole ? { integer: { offset, size: inner.size, signed: (inner.encoding & BTF_INT_SIGNED) !== 0 } } : {}),
            ...(!member.bitfield && inner?.kind === BTF_KIND.ARRAY && inner.nelems > 0 && this.isChar(inner.type) ? { chars: { offset, length: inner.nelems } } : {}),
          });
        }
      }
    };
    walk(type, '', 0, 0, true);
    return columns;
  }

  private isChar(typeId: number): boolean {
    return isCharType(this.btf, typeId);
  }

  private integer(size: number, encoding: number, bitOffset: number, bits: number): Reader {
    const signed = (encoding & BTF_INT_SIGNED) !== 0;
    const bool = (encoding & BTF_INT_BOOL) !== 0;
    // Whole 1-, 2-, 4- and 8-byte integers, nearly every field a record has, without a bigint per byte.
    if (bitOffset === 0 && (bits === 0 || bits === size * 8) && !bool) {
      const whole = this.wholeInteger(size, signed);
      if (whole) return whole;
    }
    const width = bits || size * 8;
    return (bytes, at) => {
      const raw = this.readInteger(bytes, at * 8 + bitOffset, width, signed);
      if (raw === undefined) return null;
      if (bool) return raw !== 0n;
      return width <= 32 ? Number(raw) : raw;
    };
  }

  private float(size: number, bytes: Uint8Array, at: number): Decoded {
    if (at + size > bytes.length) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, size);
    if (size === 4) return view.getFloat32(0, this.littleEndian);
    if (size === 8) return view.getFloat64(0, this.littleEndian);
    return hex(bytes.subarray(at, at + size));
  }

  /** A reader of a byte-aligned integer of 1, 2, 4 or 8 bytes (null past the end); undefined for other sizes. */
  private wholeInteger(size: number, signed: boolean): Reader | undefined {
    const le = this.littleEndian;
    switch (size) {
      case 1:
      case 2:
      case 4:
        return (b, at) => (at + size > b.length ? null : smallIntegerAt(b, at, size, signed, le));
      case 8:
        return (b, at) => {
          const value = readInt64(b, at, signed, le);
          // A bigint always, whatever its size: one made from the number where that is exact.
          return typeof value === 'number' ? BigInt(value) : value;
        };
      default:
        return undefined;
    }
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

/** Enumerator names by value; the first of equal values wins, as C's switch would pick it. */
function enumeratorNames(values: readonly BtfEnumerator[]): Map<bigint, string> {
  const names = new Map<bigint, string>();
  for (const v of values) if (!names.has(v.value)) names.set(v.value, v.name);
  return names;
}

/** The 4 bytes at `i` as a 32-bit word in the given byte order (signed as JavaScript's bit operators give it). */
export function wordAt(b: Uint8Array, i: number, littleEndian: boolean): number {
  return littleEndian ? b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24) : (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

/** The whole integer of 1, 2 or 4 bytes at `at`, which must lie within `b`. */
export function smallIntegerAt(b: Uint8Array, at: number, size: number, signed: boolean, littleEndian: boolean): number {
  if (size === 4) return signed ? wordAt(b, at, littleEndian) | 0 : wordAt(b, at, littleEndian) >>> 0;
  if (size === 1) return signed ? (b[at]! << 24) >> 24 : b[at]!;
  const value = littleEndian ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!;
  return signed ? (value << 16) >> 16 : value;
}

/**
 * The 8-byte integer at `at`: a number where that is exact (below 2^53 in size), else a bigint;
 * null past the end. The decoder makes it a bigint; text needs only its digits.
 */
export function readInt64(b: Uint8Array, at: number, signed: boolean, littleEndian: boolean): number | bigint | null {
  if (at + 8 > b.length) return null;
  const low = wordAt(b, littleEndian ? at : at + 4, littleEndian) >>> 0;
  const top = wordAt(b, littleEndian ? at + 4 : at, littleEndian);
  const high = signed ? top | 0 : top >>> 0;
  if (high >= -0x200000 && high < 0x200000) return high * 0x100000000 + low;
  const value = (BigInt(top >>> 0) << 32n) | BigInt(low);
  return signed ? BigInt.asIntN(64, value) : value;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
/** Strings up to this long are decoded byte by byte when they are ASCII. */
const SHORT_STRING = 32;

/** Bytes up to the first NUL as UTF-8 text (invalid bytes become U+FFFD; control bytes are escaped on output). */
function cString(bytes: Uint8Array): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  // Names (comm, a task's) are short ASCII: built here, cheaper than a call into the decoder.
  if (end <= SHORT_STRING) {
    let text = '';
    for (let i = 0; i < end; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) return utf8.decode(bytes.subarray(0, end));
      text += String.fromCharCode(c);
    }
    return text;
  }
  return utf8.decode(bytes.subarray(0, end));
}

/**
 * What a record's tail holds when the record ends in it: NUL-separated strings (an argument list,
 * execsnoop's args) joined by spaces, the NULs that end it left out. The program sent just these
 * bytes, so no stale data follows the first NUL.
 */
function cStrings(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const first = bytes.indexOf(0);
  if (first < 0 || first >= end) return cString(bytes.subarray(0, end));
  const strings: string[] = [];
  for (let at = 0; at < end; ) {
    let next = bytes.indexOf(0, at);
    if (next < 0 || next > end) next = end;
    strings.push(utf8.decode(bytes.subarray(at, next)));
    at = next + 1;
  }
  return strings.join(' ');
}

/**
 * A struct's last member of `count` chars, in a record that may end inside it (execsnoop sends its
 * struct only up to the arguments it holds): when cut short, what was sent (cStrings); when whole, a
 * string to its first NUL, as any char array.
 */
function charTail(count: number): Reader {
  return (bytes, at) => (at >= bytes.length ? null : at + count > bytes.length ? cStrings(bytes.subarray(at)) : cString(bytes.subarray(at, at + count)));
}

function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** Strings with nothing JSON escapes: quoted as they are. */
const PLAIN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** Keys as JSON text with their colon: records repeat the same few. */
const jsonKeys = new Map<string, string>();
const MAX_JSON_KEYS = 4096;

function jsonKey(key: string): string {
  let text = jsonKeys.get(key);
  if (text === undefined) {
    text = `${JSON.stringify(key)}:`;
    if (jsonKeys.size < MAX_JSON_KEYS) jsonKeys.set(key, text);
  }
  return text;
}

/** JSON text of a decoded value; bigints are written as exact integers (JSON numbers have no size limit). */
export function decodedJson(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'string':
      return PLAIN_JSON_STRING.test(value) ? `"${value}"` : JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let text = '[';
        for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + decodedJson(value[i]);
        return `${text}]`;
      }
      let text = '{';
      let first = true;
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        text += (first ? '' : ',') + jsonKey(key) + decodedJson(item);
        first = false;
      }
      return `${text}}`;
    }
    default:
      return 'null';
  }
}
