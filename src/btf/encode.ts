// The decoder's inverse: a plain JS value (as decode gives, or as a person types it in JSON) and a BTF type -> bytes.
import { ObjectError } from '../errors.js';
import { BTF_INT_SIGNED, BTF_KIND, type Btf, type BtfComposite } from './btf.js';

const MAX_DEPTH = 64;

/** Why a value does not fit its type, with the path of the field ("value.inner.port"). */
export class EncodeError extends ObjectError {
  override name = 'EncodeError';
}

export class BtfEncoder {
  constructor(
    readonly btf: Btf,
    private readonly littleEndian: boolean = btf.littleEndian,
  ) {}

  /** The bytes of `value` as type `typeId`; members not given are zero. */
  encode(typeId: number, value: unknown, what = 'value'): Buffer {
    const bytes = Buffer.alloc(this.btf.sizeOf(typeId));
    this.write(typeId, value, bytes, 0, what, 0);
    return bytes;
  }

  private write(typeId: number, value: unknown, bytes: Buffer, at: number, path: string, depth: number): void {
    if (depth > MAX_DEPTH) throw new EncodeError(`${path}: the type nests too deep`);
    const type = this.btf.resolveType(typeId);
    if (!type) throw new EncodeError(`${path}: void has no value`);
    switch (type.kind) {
      case BTF_KIND.INT:
        if (typeof value === 'boolean') return this.writeInteger(bytes, at * 8 + type.bitOffset, type.bits || type.size * 8, value ? 1n : 0n, false, path);
        if (type.size === 1 && typeof value === 'string' && value.length === 1) return this.writeInteger(bytes, at * 8, 8, BigInt(value.charCodeAt(0)), false, path);
        return this.writeInteger(bytes, at * 8 + type.bitOffset, type.bits || type.size * 8, integer(value, path), (type.encoding & BTF_INT_SIGNED) !== 0, path);
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64: {
        const named = typeof value === 'string' ? type.values.find((v) => v.name === value) : undefined;
        if (typeof value === 'string' && !named && !/^-?(0x[0-9a-f]+|\d+)$/i.test(value)) {
          throw new EncodeError(`${path}: ${JSON.stringify(value)} is not one of ${type.values.map((v) => v.name).join(', ')}`);
        }
        return this.writeInteger(bytes, at * 8, type.size * 8, named ? named.value : integer(value, path), type.kindFlag || (named?.value ?? 0n) < 0n, path);
      }
      case BTF_KIND.PTR:
        return this.writeInteger(bytes, at * 8, 64, integer(value, path), false, path);
      case BTF_KIND.FLOAT: {
        if (typeof value !== 'number') throw new EncodeError(`${path}: expected a number`);
        if (type.size === 4) bytes[this.littleEndian ? 'writeFloatLE' : 'writeFloatBE'](value, at);
        else if (type.size === 8) bytes[this.littleEndian ? 'writeDoubleLE' : 'writeDoubleBE'](value, at);
        else throw new EncodeError(`${path}: ${type.size}-byte floats are not supported`);
        return;
      }
      case BTF_KIND.ARRAY: {
        const element = this.btf.resolveType(type.type);
        if (typeof value === 'string' && element?.kind === BTF_KIND.INT && element.size === 1) {
          const text = Buffer.from(value, 'utf8');
          if (text.length > type.nelems) throw new EncodeError(`${path}: ${JSON.stringify(value)} is ${text.length} bytes; the array holds ${type.nelems}`);
          text.copy(bytes, at);
          return;
        }
        if (!Array.isArray(value)) throw new EncodeError(`${path}: expected an array of ${type.nelems}${element?.kind === BTF_KIND.INT && element.size === 1 ? ' (or a string)' : ''}`);
        if (value.length > type.nelems) throw new EncodeError(`${path}: ${value.length} elements; the array holds ${type.nelems}`);
        const size = this.btf.sizeOf(type.type);
        value.forEach((v, i) => this.write(type.type, v, bytes, at + i * size, `${path}[${i}]`, depth + 1));
        return;
      }
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        return this.writeComposite(type, value, bytes, at, path, depth);
      default:
        throw new EncodeError(`${path}: values of BTF ${this.btf.describe(type.id)} cannot be written`);
    }
  }

  private writeComposite(type: BtfComposite, value: unknown, bytes: Buffer, at: number, path: string, depth: number): void {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new EncodeError(`${path}: expected an object with ${this.memberNames(type).join(', ')}`);
    const given = new Map(Object.entries(value as Record<string, unknown>));
    const used = new Set<string>();
    const visit = (t: BtfComposite, base: number): void => {
      for (const member of t.members) {
        const bitOffset = t.kindFlag ? member.offset & 0xffffff : member.offset;
        const bitSize = t.kindFlag ? member.offset >>> 24 : 0;
        const resolved = this.btf.resolveType(member.type);
        if (member.name === '' && (resolved?.kind === BTF_KIND.STRUCT || resolved?.kind === BTF_KIND.UNION)) {
          // An anonymous struct or union: its members are the outer one's, as in C and in the decoder.
          visit(resolved, base + bitOffset / 8);
          continue;
        }
        if (!given.has(member.name)) continue;
        used.add(member.name);
        const memberPath = `${path}.${member.name}`;
        if (bitSize > 0 || bitOffset % 8 !== 0) {
          const signed = resolved?.kind === BTF_KIND.INT ? (resolved.encoding & BTF_INT_SIGNED) !== 0 : false;
          const v = given.get(member.name);
          const n = resolved?.kind === BTF_KIND.ENUM && typeof v === 'string' ? (resolved.values.find((e) => e.name === v)?.value ?? integer(v, memberPath)) : typeof v === 'boolean' ? (v ? 1n : 0n) : integer(v, memberPath);
          this.writeInteger(bytes, base * 8 + bitOffset, bitSize || 8 * this.btf.sizeOf(member.type), n, signed, memberPath);
        } else {
          this.write(member.type, given.get(member.name), bytes, base + bitOffset / 8, memberPath, depth + 1);
        }
      }
    };
    visit(type, at);
    const unknown = [...given.keys()].filter((k) => !used.has(k));
    if (unknown.length > 0) throw new EncodeError(`${path}: no member '${unknown[0]}' in ${this.btf.describe(type.id)} (it has ${this.memberNames(type).join(', ')})`);
  }

  private memberNames(type: BtfComposite): string[] {
    return type.members.flatMap((m) => {
      const resolved = this.btf.resolveType(m.type);
      return m.name === '' && (resolved?.kind === BTF_KIND.STRUCT || resolved?.kind === BTF_KIND.UNION) ? this.memberNames(resolved) : [m.name];
    });
  }

  /** Writes `bits` bits of `value` at `bitOffset` (the decoder's bit numbering), refusing values that do not fit. */
  private writeInteger(bytes: Buffer, bitOffset: number, bits: number, value: bigint, signed: boolean, path: string): void {
    const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
    const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
    // Unsigned fields also take negative numbers as two's complement, as C assignment does.
    if (value > max || value < (signed ? min : -(1n << BigInt(bits - 1)))) throw new EncodeError(`${path}: ${value} does not fit in ${bits} ${signed ? 'signed' : 'unsigned'} bits`);
    const raw = BigInt.asUintN(bits, value);
    const first = Math.floor(bitOffset / 8);
    const last = Math.ceil((bitOffset + bits) / 8);
    const span = last - first;
    let word = 0n;
    if (this.littleEndian) for (let i = last - 1; i >= first; i--) word = (word << 8n) | BigInt(bytes[i]!);
    else for (let i = first; i < last; i++) word = (word << 8n) | BigInt(bytes[i]!);
    const shift = this.littleEndian ? BigInt(bitOffset % 8) : BigInt(span * 8 - (bitOffset % 8) - bits);
    const mask = ((1n << BigInt(bits)) - 1n) << shift;
    word = (word & ~mask) | (raw << shift);
    for (let i = 0; i < span; i++) {
      const byte = Number((word >> BigInt(8 * i)) & 0xffn);
      bytes[this.littleEndian ? first + i : last - 1 - i] = byte;
    }
  }
}

/** A whole number from JSON: a number, a bigint, or a decimal or 0x string (for values past 2^53). */
function integer(value: unknown, path: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?(0x[0-9a-f]+|\d+)$/i.test(value.trim())) {
    const text = value.trim();
    return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
  }
  // Values built in code may hold bigints, which JSON.stringify refuses.
  throw new EncodeError(`${path}: expected a whole number, got ${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
}
