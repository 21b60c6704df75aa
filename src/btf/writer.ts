// BtfWriter: builds BTF from types read elsewhere (DWARF, C headers, another BTF), so that one decoder and one encoder serve every type source.
import { ObjectError } from '../errors.js';
import { BTF_HEADER_SIZE, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND, BTF_MAGIC, BTF_VERSION, isBtfModifier, parseBtf, type Btf } from './btf.js';


export interface WriterMember {
  /** '' for an anonymous struct or union member. */
  name: string;
  type: number;
  /** From the start of the struct, in bits. */
  bitOffset: number;
  /** A bitfield's width; undefined (or 0) for a whole member. */
  bitSize?: number;
}

export interface WriterEnumerator {
  name: string;
  value: bigint;
}

/**
 * Adds types one at a time; each adder returns the type's id. A type that refers to itself (a
 * list's `next`) is first reserve()d, then written at its id. finish() gives the parsed Btf.
 */
export class BtfWriter {
  private readonly records: Array<number[] | undefined> = [];
  private readonly strings: Uint8Array[] = [new Uint8Array(0)];
  private readonly encoder = new TextEncoder();
  private readonly stringOffsets = new Map<string, number>([['', 0]]);
  private stringLength = 1;
  private arrayIndexType: number | undefined;

  constructor(readonly littleEndian = true) {}

  /** The number of types so far (the last id). */
  get count(): number {
    return this.records.length;
  }

  /** An id for a type written later with one of the adders' `at`. */
  reserve(): number {
    this.records.push(undefined);
    return this.records.length;
  }

  int(name: string, size: number, encoding: { signed?: boolean; char?: boolean; bool?: boolean } = {}, at?: number): number {
    const flags = (encoding.signed ? BTF_INT_SIGNED : 0) | (encoding.char ? BTF_INT_CHAR : 0) | (encoding.bool ? BTF_INT_BOOL : 0);
    return this.put(at, name, BTF_KIND.INT, 0, size, [(flags << 24) | (size * 8)]);
  }

  float(name: string, size: number, at?: number): number {
    return this.put(at, name, BTF_KIND.FLOAT, 0, size);
  }

  pointer(type: number, at?: number): number {
    return this.put(at, '', BTF_KIND.PTR, 0, type);
  }

  array(element: number, nelems: number, at?: number): number {
    // clang's index type for every array: an unnamed-looking int that nothing else uses.
    this.arrayIndexType ??= this.int('__ARRAY_SIZE_TYPE__', 4);
    return this.put(at, '', BTF_KIND.ARRAY, 0, 0, [element, this.arrayIndexType, nelems]);
  }

  /** A struct or union; members with a bitSize set the kind flag (bit size << 24 | bit offset), as clang writes bitfields. */
  composite(kind: 'struct' | 'union', name: string, size: number, members: readonly WriterMember[], at?: number): number {
    const bitfields = members.some((m) => (m.bitSize ?? 0) > 0);
    const words = members.flatMap((m) => {
      if (bitfields && m.bitOffset >= 1 << 24) throw new ObjectError(`${kind} ${name || '(anonymous)'}: member ${m.name} at bit ${m.bitOffset} is too far for a bitfield struct in BTF`);
      return [this.string(m.name), m.type, bitfields ? ((m.bitSize ?? 0) << 24) | m.bitOffset : m.bitOffset];
    });
    return this.put(at, name, kind === 'struct' ? BTF_KIND.STRUCT : BTF_KIND.UNION, members.length, size, words, bitfields);
  }

  /** An enum of 1, 2, 4 or 8 bytes (ENUM64 for 8); signed values set the kind flag. */
  enumeration(name: string, size: number, values: readonly WriterEnumerator[], signed: boolean, at?: number): number {
    if (size === 8) {
      const words = values.flatMap((v) => {
        const bits = BigInt.asUintN(64, v.value);
        return [this.string(v.name), Number(bits & 0xffffffffn), Number(bits >> 32n)];
      });
      return this.put(at, name, BTF_KIND.ENUM64, values.length, 8, words, signed);
    }
    return this.put(at, name, BTF_KIND.ENUM, values.length, size, values.flatMap((v) => [this.string(v.name), Number(BigInt.asUintN(32, v.value))]), signed);
  }

  /** A struct or union declared and never defined. */
  forward(kind: 'struct' | 'union', name: string, at?: number): number {
    return this.put(at, name, BTF_KIND.FWD, 0, 0, [], kind === 'union');
  }

  typedef(name: string, type: number, at?: number): number {
    return this.put(at, name, BTF_KIND.TYPEDEF, 0, type);
  }

  modifier(kind: 'const' | 'volatile' | 'restrict', type: number, at?: number): number {
    return this.put(at, '', kind === 'const' ? BTF_KIND.CONST : kind === 'volatile' ? BTF_KIND.VOLATILE : BTF_KIND.RESTRICT, 0, type);
  }

  /** A function prototype (for function pointers: the decoder shows their address). */
  functionProto(returnType: number, params: ReadonlyArray<{ name: string; type: number }>, at?: number): number {
    return this.put(at, '', BTF_KIND.FUNC_PROTO, params.length, returnType, params.flatMap((p) => [this.string(p.name), p.type]));
  }

  /**
   * Copies a type of another BTF, with all it refers to, and returns its id here; `copied` keeps
   * what one source has already given, so shared types are copied once.
   */
  copyFrom(source: Btf, id: number, copied: Map<number, number> = new Map()): number {
    if (id === 0) return 0;
    const done = copied.get(id);
    if (done !== undefined) return done;
    const t = source.type(id);
    const at = this.reserve();
    copied.set(id, at);
    const ref = (other: number) => this.copyFrom(source, other, copied);
    switch (t.kind) {
      case BTF_KIND.INT:
        this.put(at, t.name, t.kind, 0, t.size, [(t.encoding << 24) | (t.bitOffset << 16) | t.bits]);
        break;
      case BTF_KIND.PTR:
        this.pointer(ref(t.type), at);
        break;
      case BTF_KIND.ARRAY:
        this.array(ref(t.type), t.nelems, at);
        break;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        this.put(at, t.name, t.kind, t.members.length, t.size, t.members.flatMap((m) => [this.string(m.name), ref(m.type), m.offset]), t.kindFlag);
        break;
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
        this.enumeration(t.name, t.size, t.values, t.kindFlag, at);
        break;
      case BTF_KIND.FWD:
        this.forward(t.kindFlag ? 'union' : 'struct', t.name, at);
        break;
      case BTF_KIND.FLOAT:
        this.float(t.name, t.size, at);
        break;
      case BTF_KIND.FUNC_PROTO:
        this.functionProto(ref(t.returnType), t.params.map((p) => ({ name: p.name, type: ref(p.type) })), at);
        break;
      default:
        if (!isBtfModifier(t)) throw new ObjectError(`BTF ${source.describe(id)}: a ${t.kind} is not a data type to copy`);
        this.put(at, t.name, t.kind, 0, ref(t.type));
    }
    return at;
  }

  /** The BTF of every type added, parsed (and so checked) like an object's. */
  finish(): Btf {
    const missing = this.records.findIndex((r) => r === undefined);
    if (missing >= 0) throw new ObjectError(`BTF type ${missing + 1} was reserved and never written`);
    const typeWords = this.records.flatMap((r) => r!);
    const typeLength = typeWords.length * 4;
    const bytes = new Uint8Array(BTF_HEADER_SIZE + typeLength + this.stringLength);
    const view = new DataView(bytes.buffer);
    const le = this.littleEndian;
    view.setUint16(0, BTF_MAGIC, le);
    bytes[2] = BTF_VERSION;
    view.setUint32(4, BTF_HEADER_SIZE, le);
    view.setUint32(8, 0, le);
    view.setUint32(12, typeLength, le);
    view.setUint32(16, typeLength, le);
    view.setUint32(20, this.stringLength, le);
    typeWords.forEach((w, i) => view.setUint32(BTF_HEADER_SIZE + i * 4, w >>> 0, le));
    let at = BTF_HEADER_SIZE + typeLength;
    for (const s of this.strings) {
      bytes.set(s, at);
      at += s.length + 1;
    }
    return parseBtf(bytes, le);
  }

  private string(text: string): number {
    let offset = this.stringOffsets.get(text);
    if (offset === undefined) {
      offset = this.stringLength;
      this.stringOffsets.set(text, offset);
      const encoded = this.encoder.encode(text);
      this.strings.push(encoded);
      this.stringLength += encoded.length + 1;
    }
    return offset;
  }

  private put(at: number | undefined, name: string, kind: number, vlen: number, sizeOrType: number, extra: readonly number[] = [], kindFlag = false): number {
    if (vlen > 0xffff) throw new ObjectError(`${name || 'a type'}: ${vlen} members or values; BTF holds at most 65535`);
    const record = [this.string(name), ((kindFlag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, ...extra];
    if (at === undefined) {
      this.records.push(record);
      return this.records.length;
    }
    if (this.records[at - 1] !== undefined) throw new ObjectError(`BTF type ${at} is written twice`);
    this.records[at - 1] = record;
    return at;
  }
}
