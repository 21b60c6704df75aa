// BTF: a bounds-checked reader of the header, type records and strings, indexed by name, with the lookups
// a loader needs (resolve modifiers, sizes). Every malformed input becomes one ObjectError saying what
// is wrong and where (type id, offset).
import { isAscii } from 'node:buffer';
import { ObjectError } from '../errors.js';
import { printable } from '../text.js';

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** struct btf_header: magic, version, flags, hdr_len, type_off, type_len, str_off, str_len. */
export const BTF_HEADER_SIZE = 24;
/** How many typedefs, modifiers and arrays a lookup follows before giving up (libbpf's limit). */
export const BTF_MAX_RESOLVE_DEPTH = 32;
/** Size of a pointer in BPF programs. */
export const BTF_POINTER_SIZE = 8;

export const BTF_KIND = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** BTF_VAR_* linkage of a VAR (and of a FUNC, in its vlen). */
export const BTF_LINKAGE = { STATIC: 0, GLOBAL: 1, EXTERN: 2 } as const;

const KIND_NAMES = [
  'void',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
] as const;

/** libbpf's lower-case name of a kind ("struct", "ptr", ...). */
export function btfKindName(kind: number): string {
  return KIND_NAMES[kind] ?? `kind ${kind}`;
}

export function btfLinkageName(linkage: number): string {
  return linkage === BTF_LINKAGE.STATIC ? 'static' : linkage === BTF_LINKAGE.GLOBAL ? 'global' : linkage === BTF_LINKAGE.EXTERN ? 'extern' : `linkage ${linkage}`;
}

/** struct btf_header as read: where the type and string sections lie, for tools that look at the raw bytes. */
export interface BtfHeader {
  /** BTF_VERSION (1). */
  readonly version: number;
  /** 0 in every BTF so far. */
  readonly flags: number;
  /** The header's length in bytes; the sections follow it. */
  readonly hdrLen: number;
  /** Offsets are from the end of the header, as in the file. */
  readonly typeOff: number;
  /** Bytes of type records. */
  readonly typeLen: number;
  /** Offset of the string section, from the end of the header. */
  readonly strOff: number;
  /** Bytes of strings. */
  readonly strLen: number;
}

interface BtfTypeBase {
  /** The type id (1 and up; 0 is void and has no record). */
  readonly id: number;
  /** '' for anonymous types. */
  readonly name: string;
  /** Where the name is in the string section. */
  readonly nameOffset: number;
  /** The record's vlen: how many members, enumerators, parameters or variables follow it (a FUNC's linkage). */
  readonly vlen: number;
  /** The record's kind_flag: bitfield offsets in a struct, a union for a FWD, a signed enum. */
  readonly kindFlag: boolean;
  /** Byte offset of the record from the start of the BTF data (its header). */
  readonly offset: number;
}

/** The encoding bits of an INT: signed, char, bool. */
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

/** An integer (INT): its size and encoding, and its bits within that size. */
export interface BtfInt extends BtfTypeBase {
  /** BTF_KIND_INT. */
  readonly kind: typeof BTF_KIND.INT;
  /** Bytes. */
  readonly size: number;
  /** BTF_INT_SIGNED (1), BTF_INT_CHAR (2), BTF_INT_BOOL (4). */
  readonly encoding: number;
  /** Where the value's bits start (0 but in old bitfield encodings). */
  readonly bitOffset: number;
  /** How many bits the value has. */
  readonly bits: number;
}

/** A pointer (PTR) to another type. */
export interface BtfPtr extends BtfTypeBase {
  /** BTF_KIND_PTR. */
  readonly kind: typeof BTF_KIND.PTR;
  /** The id of the type pointed to (0: void). */
  readonly type: number;
}

/** An array (ARRAY): element type and count. */
export interface BtfArray extends BtfTypeBase {
  /** BTF_KIND_ARRAY. */
  readonly kind: typeof BTF_KIND.ARRAY;
  /** The element type's id. */
  readonly type: number;
  /** The index type's id (an int). */
  readonly indexType: number;
  /** How many elements. */
  readonly nelems: number;
}

/** A member of a struct or union. */
export interface BtfMember {
  /** '' for an anonymous member. */
  readonly name: string;
  /** The member's type id. */
  readonly type: number;
  /** The raw offset field: a bit offset, or (bitfield size << 24 | bit offset) when the struct's kind_flag is set. */
  readonly offset: number;
}

/** A struct or union (STRUCT, UNION): its size and members. */
export interface BtfComposite extends BtfTypeBase {
  /** BTF_KIND_STRUCT or BTF_KIND_UNION. */
  readonly kind: typeof BTF_KIND.STRUCT | typeof BTF_KIND.UNION;
  /** Bytes. */
  readonly size: number;
  /** In declaration order. */
  readonly members: readonly BtfMember[];
}

/** One name and value of an enum. */
export interface BtfEnumerator {
  /** The enumerator's name. */
  readonly name: string;
  /** Signed when the enum's kind_flag is set. */
  readonly value: bigint;
}

/** An enum (ENUM, or ENUM64 for 64-bit values): its size and enumerators. */
export interface BtfEnum extends BtfTypeBase {
  /** BTF_KIND_ENUM or BTF_KIND_ENUM64. */
  readonly kind: typeof BTF_KIND.ENUM | typeof BTF_KIND.ENUM64;
  /** Bytes. */
  readonly size: number;
  /** In declaration order. */
  readonly values: readonly BtfEnumerator[];
}

/** A forward declaration (FWD) of a struct or union whose body this BTF does not have. */
export interface BtfFwd extends BtfTypeBase {
  /** BTF_KIND_FWD; kindFlag: a forward-declared union rather than a struct. */
  readonly kind: typeof BTF_KIND.FWD;
}

/** A typedef, a qualifier (const, volatile, restrict) or a type tag: another type, renamed or qualified. */
export interface BtfModifier extends BtfTypeBase {
  /** BTF_KIND_TYPEDEF, VOLATILE, CONST, RESTRICT or TYPE_TAG. */
  readonly kind: typeof BTF_KIND.TYPEDEF | typeof BTF_KIND.VOLATILE | typeof BTF_KIND.CONST | typeof BTF_KIND.RESTRICT | typeof BTF_KIND.TYPE_TAG;
  /** The id of the type it modifies (0: void). */
  readonly type: number;
}

/** A function (FUNC): its name, prototype and linkage. */
export interface BtfFunc extends BtfTypeBase {
  /** BTF_KIND_FUNC. */
  readonly kind: typeof BTF_KIND.FUNC;
  /** The id of its FUNC_PROTO. */
  readonly type: number;
  /** Kept in vlen: static 0, global 1, extern 2. */
  readonly linkage: number;
}

/** A parameter of a function prototype. */
export interface BtfParam {
  /** '' when the prototype does not name it. */
  readonly name: string;
  /** The parameter's type id (0 for a trailing `...`). */
  readonly type: number;
}

/** A function prototype (FUNC_PROTO): return type and parameters. */
export interface BtfFuncProto extends BtfTypeBase {
  /** BTF_KIND_FUNC_PROTO. */
  readonly kind: typeof BTF_KIND.FUNC_PROTO;
  /** The return type's id (0: void). */
  readonly returnType: number;
  /** In order. */
  readonly params: readonly BtfParam[];
}

/** A global variable (VAR): its type and linkage; a DATASEC places it. */
export interface BtfVar extends BtfTypeBase {
  /** BTF_KIND_VAR. */
  readonly kind: typeof BTF_KIND.VAR;
  /** The variable's type id. */
  readonly type: number;
  /** BTF_LINKAGE: static 0, global 1, extern 2. */
  readonly linkage: number;
}

/** Where a variable (or an extern function) lies in a DATASEC. */
export interface BtfVarSecinfo {
  /** The VAR's (or FUNC's) type id. */
  readonly type: number;
  /** Byte offset in the section. */
  readonly offset: number;
  /** Bytes. */
  readonly size: number;
}

/** A data section (DATASEC: .data, .bss, .rodata, .maps, .kconfig, ...) and the variables in it. */
export interface BtfDatasec extends BtfTypeBase {
  /** BTF_KIND_DATASEC. */
  readonly kind: typeof BTF_KIND.DATASEC;
  /** clang leaves 0 here (and 0 in every variable's offset): the loader fills them in from the ELF symbols. */
  readonly size: number;
  /** The section's variables, in the order they were given. */
  readonly vars: readonly BtfVarSecinfo[];
}

/** A floating-point type (FLOAT). */
export interface BtfFloat extends BtfTypeBase {
  /** BTF_KIND_FLOAT. */
  readonly kind: typeof BTF_KIND.FLOAT;
  /** Bytes. */
  readonly size: number;
}

/** A declaration tag (DECL_TAG, `__attribute__((btf_decl_tag("...")))`): its name is the tag's text. */
export interface BtfDeclTag extends BtfTypeBase {
  /** BTF_KIND_DECL_TAG. */
  readonly kind: typeof BTF_KIND.DECL_TAG;
  /** The id of the type, variable or function tagged. */
  readonly type: number;
  /** -1 for the type itself, else the member or parameter index. */
  readonly componentIndex: number;
}

/** One BTF type record, by kind. */
export type BtfType =
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfModifier
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;

/** Whether a type is C's char: text in an array (unsigned char and signed char arrays, __u8 and __s8, are bytes). */
export function isCharType(btf: Btf, typeId: number): boolean {
  const t = btf.resolveType(typeId);
  return t?.kind === BTF_KIND.INT && t.size === 1 && ((t.encoding & BTF_INT_CHAR) !== 0 || t.name === 'char');
}

/** Kinds that only qualify or rename another type. */
export function isBtfModifier(type: BtfType): type is BtfModifier {
  return (
    type.kind === BTF_KIND.TYPEDEF ||
    type.kind === BTF_KIND.VOLATILE ||
    type.kind === BTF_KIND.CONST ||
    type.kind === BTF_KIND.RESTRICT ||
    type.kind === BTF_KIND.TYPE_TAG
  );
}

/** Parsed BTF (an object's, the kernel's, or a module's split on the kernel's): types by id and by name. */
export interface Btf {
  /** The byte order it was read in. */
  readonly littleEndian: boolean;
  /** The header as read. */
  readonly header: BtfHeader;
  /** Every type record (a split BTF's base types first); types[i] has id i + 1. Decodes them all: prefer type() and typesNamed(). */
  readonly types: readonly BtfType[];
  /** The number of types (with a base's); the last id. */
  readonly count: number;
  /** The base this BTF is split from (module BTF on vmlinux), if any. */
  readonly base?: Btf;
  /** The BTF as bytes, with the DATASEC layouts set since: what BPF_BTF_LOAD takes (a split BTF: its own part). */
  bytes(): Uint8Array;
  /** The type with this id; ObjectError for 0 (void) and ids out of range. */
  type(id: number): BtfType;
  /** The string at an offset of the string section. */
  string(offset: number): string;
  /** Types with this name (and kind, when given), in id order. */
  typesNamed(name: string, kind?: number): BtfType[];
  /** Every name with the ids of its types, a base's first; no type is decoded for this. */
  namedTypeIds(): Iterable<[name: string, ids: readonly number[]]>;
  /** The first DATASEC with this name (e.g. ".maps"). */
  datasec(name: string): BtfDatasec | undefined;
  /**
   * Sets a DATASEC's size and its variables (their offsets, in this order), which clang leaves 0
   * for the loader to take from the ELF section and symbols, as libbpf does.
   */
  setDatasecLayout(id: number, size: number, vars: readonly BtfVarSecinfo[]): void;
  /** Changes a VAR's type and linkage (extern VARs become allocated ones for the kernel, as libbpf does). */
  setVar(id: number, type: number, linkage: number): void;
  /** Changes a FUNC's linkage (hidden global functions become static ones, as libbpf does). */
  setFuncLinkage(id: number, linkage: number): void;
  /** An independent copy: the set* changes of one do not reach the other (a split BTF's base stays shared). */
  copy(): Btf;
  /** The id reached by skipping typedef/const/volatile/restrict/type_tag (0 for void). */
  resolve(id: number): number;
  /** resolve(), then the type; undefined for void. */
  resolveType(id: number): BtfType | undefined;
  /** The size in bytes of a type, as libbpf's btf__resolve_size computes it. */
  sizeOf(id: number): number;
  /** "type 13 (struct 'name')" or "type 0 (void)", for messages. */
  describe(id: number): string;
}

/** What parseBtf() takes besides the bytes: how much to check, and the base of split BTF. */
export interface BtfParseOptions {
  /**
   * BTF from the kernel (vmlinux, modules): only its record structure is checked at once, and a
   * type is decoded when it is first asked for, so that 100,000 types parse in milliseconds.
   * Without it (an object's BTF), every type is decoded and every reference checked now.
   */
  trusted?: boolean;
  /** For split BTF (a module's): the BTF it continues, whose type ids and strings come first. */
  base?: Btf;
}

/** Parses .BTF bytes in the object's byte order (a copy is kept: the caller's bytes are not changed). */
export function parseBtf(bytes: Uint8Array, littleEndian: boolean, options: BtfParseOptions = {}): Btf {
  // Uint8Array.from, not slice(): a Buffer's slice() shares the caller's memory.
  return new BtfReader(options.trusted ? bytes : Uint8Array.from(bytes), littleEndian).read(options);
}

// ---------------------------------------------------------------------------------------------

const textDecoder = new TextDecoder('utf-8', { fatal: false });

export function readMagic(view: DataView, littleEndian: boolean, what: string): void {
  const magic = view.getUint16(0, littleEndian);
  if (magic === BTF_MAGIC) return;
  if (magic === 0x9feb) {
    const [data, object] = littleEndian ? ['big', 'little'] : ['little', 'big'];
    throw new ObjectError(`${what}: magic 0x9feb is 0xeb9f byte-swapped: the ${what} data is ${data}-endian but the object is ${object}-endian`);
  }
  throw new ObjectError(`${what}: bad magic 0x${magic.toString(16).padStart(4, '0')} at offset 0, expected 0x${BTF_MAGIC.toString(16)}`);
}

/** Checks that [off, off + len) after a header of hdrLen bytes lies in data of `total` bytes. */
export function region(what: string, hdrLen: number, off: number, len: number, total: number): { start: number; end: number } {
  const start = hdrLen + off;
  const end = start + len;
  if (end > total) {
    throw new ObjectError(`${what} (offset ${off}, length ${len} after the ${hdrLen}-byte header) runs past the end of the data (${total} bytes)`);
  }
  return { start, end };
}

class BtfReader {
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }

  read(options: BtfParseOptions): Btf {
    const bytes = this.bytes;
    if (bytes.length < BTF_HEADER_SIZE) {
      throw new ObjectError(`BTF is ${bytes.length} bytes, shorter than its ${BTF_HEADER_SIZE}-byte header`);
    }
    readMagic(this.view, this.littleEndian, 'BTF');
    const header: BtfHeader = {
      version: bytes[2]!,
      flags: bytes[3]!,
      hdrLen: this.u32(4),
      typeOff: this.u32(8),
      typeLen: this.u32(12),
      strOff: this.u32(16),
      strLen: this.u32(20),
    };
    if (header.version !== BTF_VERSION) throw new ObjectError(`BTF version ${header.version} at offset 2 is not supported (only ${BTF_VERSION})`);
    if (header.flags !== 0) throw new ObjectError(`BTF flags 0x${header.flags.toString(16)} at offset 3 are not supported (expected 0)`);
    if (header.hdrLen < BTF_HEADER_SIZE) throw new ObjectError(`BTF header length ${header.hdrLen} at offset 4 is less than ${BTF_HEADER_SIZE}`);
    if (header.hdrLen > bytes.length) throw new ObjectError(`BTF header length ${header.hdrLen} at offset 4 is more than the ${bytes.length} bytes of BTF`);
    // A longer header is from a newer format: usable only if the fields we do not know are zero.
    for (let at = BTF_HEADER_SIZE; at < header.hdrLen; at++) {
      if (bytes[at] !== 0) throw new ObjectError(`BTF header is ${header.hdrLen} bytes and byte ${at} is not zero: unknown header fields`);
    }
    const types = region('BTF type section', header.hdrLen, header.typeOff, header.typeLen, bytes.length);
    const strings = region('BTF string section', header.hdrLen, header.strOff, header.strLen, bytes.length);
    if (header.typeOff % 4 !== 0) throw new ObjectError(`BTF type section offset ${header.typeOff} is not a multiple of 4`);
    if (types.start < strings.end && strings.start < types.end) {
      throw new ObjectError(`BTF type section (${types.start}..${types.end}) and string section (${strings.start}..${strings.end}) overlap`);
    }
    // A split BTF's string section continues its base's and may be empty; a standalone one starts with "".
    const split = options.base !== undefined;
    if (!split && (header.strLen === 0 || bytes[strings.start] !== 0)) {
      throw new ObjectError(`BTF string section at offset ${strings.start} (${header.strLen} bytes) must start and end with a NUL byte`);
    }
    if (header.strLen > 0 && bytes[strings.end - 1] !== 0) {
      throw new ObjectError(`BTF string section at offset ${strings.start} (${header.strLen} bytes) must start and end with a NUL byte`);
    }
    const parsed = new ParsedBtf(this.littleEndian, header, bytes, this.view, strings.start, strings.end, this.walk(types.start, types.end, options.base?.count ?? 0), options.base);
    if (!options.trusted) parsed.decodeAllAndCheck();
    return parsed;
  }

  /** The offset of every type record, after checking each record's kind and that it fits. */
  private walk(start: number, end: number, firstId: number): Uint32Array {
    let offsets = new Uint32Array(Math.max(16, (end - start) >> 4));
    let count = 0;
    let at = start;
    // Kernel BTF has over 100,000 records: the message is made only when there is an error.
    const where = (): string => `BTF type ${firstId + count + 1} at offset ${at}`;
    while (at < end) {
      if (at + 12 > end) throw new ObjectError(`${where()}: the record's 12 bytes run past the end of the type section (offset ${end})`);
      const info = this.u32(at + 4);
      const vlen = info & 0xffff;
      const kind = (info >>> 24) & 0x1f;
      const extra = extraSize(kind, vlen);
      if (extra === undefined) throw new ObjectError(`${where()}: unknown kind ${kind}`);
      if (at + 12 + extra > end) {
        throw new ObjectError(`${where()}: ${btfKindName(kind)} with vlen ${vlen} needs ${12 + extra} bytes but the type section ends at offset ${end}`);
      }
      if (count === offsets.length) {
        const grown = new Uint32Array(offsets.length * 2);
        grown.set(offsets);
        offsets = grown;
      }
      offsets[count++] = at;
      at += 12 + extra;
    }
    return offsets.subarray(0, count);
  }

}

/** Bytes after the 12-byte struct btf_type, or undefined for an unknown kind. */
function extraSize(kind: number, vlen: number): number | undefined {
  switch (kind) {
    case BTF_KIND.INT:
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
      return 4;
    case BTF_KIND.PTR:
    case BTF_KIND.FWD:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.FUNC:
    case BTF_KIND.FLOAT:
    case BTF_KIND.TYPE_TAG:
      return 0;
    case BTF_KIND.ARRAY:
      return 12;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
    case BTF_KIND.DATASEC:
    case BTF_KIND.ENUM64:
      return 12 * vlen;
    case BTF_KIND.ENUM:
    case BTF_KIND.FUNC_PROTO:
      return 8 * vlen;
    default:
      return undefined;
  }
}

/** Type ids by name: looked up one name at a time, or all listed. */
interface NameIndex {
  ids(name: string): number[];
  entries(): Iterable<[string, number[]]>;
}

class ParsedBtf implements Btf {
  /** Decoded types by own index (id - firstId - 1), filled as they are asked for. */
  private readonly decoded: Array<BtfType | undefined>;
  /** The string section as Latin-1 text when it is all ASCII (names slice from it cheaply). */
  private readonly ascii: string | undefined;
  private readonly firstId: number;
  private readonly baseStrings: number;
  private byName: NameIndex | undefined;

  constructor(
    readonly littleEndian: boolean,
    readonly header: BtfHeader,
    private readonly raw: Uint8Array,
    private readonly view: DataView,
    private readonly stringsStart: number,
    private readonly stringsEnd: number,
    private readonly offsets: Uint32Array,
    readonly base?: Btf,
  ) {
    this.firstId = base?.count ?? 0;
    this.baseStrings = base ? base.header.strLen : 0;
    this.decoded = new Array<BtfType | undefined>(offsets.length);
    const strings = raw.subarray(stringsStart, stringsEnd);
    this.ascii = isAscii(strings) ? Buffer.from(strings.buffer, strings.byteOffset, strings.byteLength).toString('latin1') : undefined;
  }

  private u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }

  get count(): number {
    return this.firstId + this.offsets.length;
  }

  get types(): readonly BtfType[] {
    const all: BtfType[] = this.base ? [...this.base.types] : [];
    for (let id = this.firstId + 1; id <= this.count; id++) all.push(this.type(id));
    return all;
  }

  bytes(): Uint8Array {
    return this.raw;
  }

  stringFor(offset: number, what: string): string {
    // A split BTF's string offsets go on from its base's.
    if (offset < this.baseStrings && this.base) return this.base.string(offset);
    const local = offset - this.baseStrings;
    const length = this.stringsEnd - this.stringsStart;
    if (local >= length) {
      throw new ObjectError(`${what}: string offset ${offset} is outside the BTF string section (${length} bytes)`);
    }
    // The section ends with a NUL (checked), so there is always one.
    if (this.ascii !== undefined) return this.ascii.slice(local, this.ascii.indexOf('\0', local));
    const start = this.stringsStart + local;
    return textDecoder.decode(this.raw.subarray(start, this.raw.indexOf(0, start)));
  }

  string(offset: number): string {
    return this.stringFor(offset, 'BTF string');
  }

  /** Decodes the type record of an own type, checking its names. */
  private decode(index: number): BtfType {
    const at = this.offsets[index]!;
    const id = this.firstId + index + 1;
    const where = `BTF type ${id} at offset ${at}`;
    const nameOffset = this.u32(at);
    const info = this.u32(at + 4);
    const sizeOrType = this.u32(at + 8);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const base = { id, name: this.stringFor(nameOffset, `${where}: name`), nameOffset, vlen, kindFlag: info >>> 31 === 1, offset: at };
    return this.readType(base, kind, sizeOrType, at + 12, where);
  }

  /** An object's BTF: every type decoded (their names checked) and every reference checked, now. */
  decodeAllAndCheck(): void {
    for (let i = 0; i < this.offsets.length; i++) this.decoded[i] ??= this.decode(i);
    this.checkReferences();
  }

  private readType(base: BtfTypeBase, kind: number, sizeOrType: number, data: number, where: string): BtfType {
    const list = <T>(count: number, size: number, read: (at: number, index: number) => T): T[] =>
      Array.from({ length: count }, (_, i) => read(data + i * size, i));
    switch (kind) {
      case BTF_KIND.INT: {
        const bits = this.u32(data);
        return { ...base, kind, size: sizeOrType, encoding: (bits >>> 24) & 0x0f, bitOffset: (bits >>> 16) & 0xff, bits: bits & 0xff };
      }
      case BTF_KIND.PTR:
        return { ...base, kind, type: sizeOrType };
      case BTF_KIND.ARRAY:
        return { ...base, kind, type: this.u32(data), indexType: this.u32(data + 4), nelems: this.u32(data + 8) };
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        return {
          ...base,
          kind,
          size: sizeOrType,
          members: list(base.vlen, 12, (at, i) => ({
            name: this.stringFor(this.u32(at), `${where}: name of member ${i}`),
            type: this.u32(at + 4),
            offset: this.u32(at + 8),
          })),
        };
      case BTF_KIND.ENUM:
        return {
          ...base,
          kind,
          size: sizeOrType,
          values: list(base.vlen, 8, (at, i) => ({
            name: this.stringFor(this.u32(at), `${where}: name of enumerator ${i}`),
            value: BigInt(base.kindFlag ? this.view.getInt32(at + 4, this.littleEndian) : this.u32(at + 4)),
          })),
        };
      case BTF_KIND.ENUM64:
        return {
          ...base,
          kind,
          size: sizeOrType,
          values: list(base.vlen, 12, (at, i) => {
            const value = (BigInt(this.u32(at + 8)) << 32n) | BigInt(this.u32(at + 4));
            return { name: this.stringFor(this.u32(at), `${where}: name of enumerator ${i}`), value: base.kindFlag ? BigInt.asIntN(64, value) : value };
          }),
        };
      case BTF_KIND.FWD:
        return { ...base, kind };
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG:
        return { ...base, kind, type: sizeOrType };
      case BTF_KIND.FUNC:
        return { ...base, kind, type: sizeOrType, linkage: base.vlen };
      case BTF_KIND.FUNC_PROTO:
        return {
          ...base,
          kind,
          returnType: sizeOrType,
          params: list(base.vlen, 8, (at, i) => ({ name: this.stringFor(this.u32(at), `${where}: name of parameter ${i}`), type: this.u32(at + 4) })),
        };
      case BTF_KIND.VAR:
        return { ...base, kind, type: sizeOrType, linkage: this.u32(data) };
      case BTF_KIND.DATASEC:
        return {
          ...base,
          kind,
          size: sizeOrType,
          vars: list(base.vlen, 12, (at) => ({ type: this.u32(at), offset: this.u32(at + 4), size: this.u32(at + 8) })),
        };
      case BTF_KIND.FLOAT:
        return { ...base, kind, size: sizeOrType };
      case BTF_KIND.DECL_TAG:
        return { ...base, kind, type: sizeOrType, componentIndex: this.view.getInt32(data, this.littleEndian) };
      default:
        throw new ObjectError(`${where}: unknown kind ${kind}`);
    }
  }

  /** Every type id a record mentions must exist (0, void, is allowed: `void *`, `const void`). */
  private checkReferences(): void {
    const last = this.count;
    const check = (t: BtfType, id: number, what: string): void => {
      if (id > last) {
        throw new ObjectError(`BTF type ${t.id} (${btfKindName(t.kind)}) at offset ${t.offset}: ${what} is type ${id}, but the last type is ${last}`);
      }
    };
    for (const t of this.decoded as BtfType[]) {
      switch (t.kind) {
        case BTF_KIND.PTR:
        case BTF_KIND.TYPEDEF:
        case BTF_KIND.VOLATILE:
        case BTF_KIND.CONST:
        case BTF_KIND.RESTRICT:
        case BTF_KIND.TYPE_TAG:
        case BTF_KIND.FUNC:
        case BTF_KIND.VAR:
        case BTF_KIND.DECL_TAG:
          check(t, t.type, 'its target');
          break;
        case BTF_KIND.ARRAY:
          check(t, t.type, 'its element type');
          check(t, t.indexType, 'its index type');
          break;
        case BTF_KIND.STRUCT:
        case BTF_KIND.UNION:
          t.members.forEach((m, i) => check(t, m.type, `member ${i} ('${printable(m.name)}')`));
          break;
        case BTF_KIND.FUNC_PROTO:
          check(t, t.returnType, 'its return type');
          t.params.forEach((p, i) => check(t, p.type, `parameter ${i}`));
          break;
        case BTF_KIND.DATASEC:
          t.vars.forEach((v, i) => check(t, v.type, `variable ${i}`));
          break;
        default:
          break;
      }
    }
  }

  type(id: number): BtfType {
    if (Number.isInteger(id) && id >= 1) {
      if (id <= this.firstId) return this.base!.type(id);
      const index = id - this.firstId - 1;
      if (index < this.offsets.length) return (this.decoded[index] ??= this.decode(index));
    }
    throw new ObjectError(id === 0 ? 'BTF type 0 is void and has no record' : `BTF type ${id} does not exist (the last type is ${this.count})`);
  }

  /**
   * Own type ids by name, built on first use. With an ASCII string section (kernel BTF) the index
   * is by name offset, from the records alone, and a name is found in the section when asked for:
   * kernel BTF has over 100,000 names and a load asks for a few dozen.
   */
  private nameIndex(): NameIndex {
    if (this.byName) return this.byName;
    const byOffset = new Map<number, number | number[]>();
    for (let i = 0; i < this.offsets.length; i++) {
      const nameOffset = this.u32(this.offsets[i]!);
      if (nameOffset === 0) continue;
      const id = this.firstId + i + 1;
      const ids = byOffset.get(nameOffset);
      if (ids === undefined) byOffset.set(nameOffset, id);
      else if (typeof ids === 'number') byOffset.set(nameOffset, [ids, id]);
      else ids.push(id);
    }
    const idsAt = (offset: number): number[] => {
      const ids = byOffset.get(offset);
      return ids === undefined ? [] : typeof ids === 'number' ? [ids] : ids;
    };
    const ascii = this.ascii;
    const base = this.baseStrings;
    if (ascii !== undefined) {
      const nameAt = (offset: number): string => (offset >= base ? ascii.slice(offset - base, ascii.indexOf('\0', offset - base)) : this.stringFor(offset, 'BTF name'));
      return (this.byName = {
        // A split BTF's names may be strings of its base (module BTF reuses vmlinux's).
        ids: (name) => [...(this.base instanceof ParsedBtf ? this.base.stringOffsets(name) : []), ...this.stringOffsets(name)].flatMap(idsAt).sort((a, b) => a - b),
        *entries() {
          for (const offset of byOffset.keys()) yield [nameAt(offset), idsAt(offset)];
        },
      });
    }
    const byName = new Map<string, number[]>();
    for (const offset of byOffset.keys()) {
      const ids = idsAt(offset);
      const name = this.stringFor(offset, `BTF type ${ids[0]}: name`);
      byName.set(name, [...(byName.get(name) ?? []), ...ids].sort((a, b) => a - b));
    }
    return (this.byName = { ids: (name) => byName.get(name) ?? [], entries: () => byName.entries() });
  }

  /** Where `name` is a whole string of the own string section: kernel BTF has each once, an object's may repeat it. */
  private stringOffsets(name: string): number[] {
    if (name === '' || name.includes('\0')) return [];
    const strings = Buffer.from(this.raw.buffer, this.raw.byteOffset + this.stringsStart, this.stringsEnd - this.stringsStart);
    const needle = Buffer.from(`\0${name}\0`);
    const found = strings.subarray(0, needle.length - 1).equals(needle.subarray(1)) ? [this.baseStrings] : [];
    for (let at = strings.indexOf(needle); at >= 0; at = strings.indexOf(needle, at + 1)) found.push(this.baseStrings + at + 1);
    return found;
  }

  setDatasecLayout(id: number, size: number, vars: readonly BtfVarSecinfo[]): void {
    const datasec = this.type(id);
    if (datasec.kind !== BTF_KIND.DATASEC || id <= this.firstId) throw new ObjectError(`BTF ${this.describe(id)} is not a DATASEC of this BTF`);
    if (vars.length !== datasec.vars.length) throw new ObjectError(`BTF ${this.describe(id)} has ${datasec.vars.length} variables, not ${vars.length}`);
    this.decoded[id - this.firstId - 1] = { ...datasec, size, vars };
    // The bytes too: they are what the kernel gets.
    this.view.setUint32(datasec.offset + 8, size, this.littleEndian);
    vars.forEach((v, i) => {
      const at = datasec.offset + 12 + i * 12;
      this.view.setUint32(at, v.type, this.littleEndian);
      this.view.setUint32(at + 4, v.offset, this.littleEndian);
      this.view.setUint32(at + 8, v.size, this.littleEndian);
    });
  }

  setVar(id: number, type: number, linkage: number): void {
    const variable = this.type(id);
    if (variable.kind !== BTF_KIND.VAR || id <= this.firstId) throw new ObjectError(`BTF ${this.describe(id)} is not a VAR of this BTF`);
    this.decoded[id - this.firstId - 1] = { ...variable, type, linkage };
    this.view.setUint32(variable.offset + 8, type, this.littleEndian);
    this.view.setUint32(variable.offset + 12, linkage, this.littleEndian);
  }

  setFuncLinkage(id: number, linkage: number): void {
    const func = this.type(id);
    if (func.kind !== BTF_KIND.FUNC || id <= this.firstId) throw new ObjectError(`BTF ${this.describe(id)} is not a FUNC of this BTF`);
    this.decoded[id - this.firstId - 1] = { ...func, linkage };
    // The linkage is kept in vlen, the low 16 bits of the info word.
    const info = this.view.getUint32(func.offset + 4, this.littleEndian);
    this.view.setUint32(func.offset + 4, ((info & 0xffff0000) | linkage) >>> 0, this.littleEndian);
  }

  copy(): Btf {
    const raw = Uint8Array.from(this.raw);
    // The record offsets never change after parsing, and a decoded type is replaced, never changed.
    const copy = new ParsedBtf(this.littleEndian, this.header, raw, new DataView(raw.buffer), this.stringsStart, this.stringsEnd, this.offsets, this.base);
    this.decoded.forEach((type, i) => (copy.decoded[i] = type));
    return copy;
  }

  *namedTypeIds(): Iterable<[name: string, ids: readonly number[]]> {
    if (this.base) yield* this.base.namedTypeIds();
    yield* this.nameIndex().entries();
  }

  typesNamed(name: string, kind?: number): BtfType[] {
    const named = [...(this.base?.typesNamed(name) ?? []), ...this.nameIndex().ids(name).map((id) => this.type(id))];
    return kind === undefined ? named : named.filter((t) => t.kind === kind);
  }

  datasec(name: string): BtfDatasec | undefined {
    return this.typesNamed(name, BTF_KIND.DATASEC)[0] as BtfDatasec | undefined;
  }

  describe(id: number): string {
    if (id === 0) return 'type 0 (void)';
    let t: BtfType;
    try {
      t = this.type(id);
    } catch {
      return `type ${id} (missing)`;
    }
    return `type ${id} (${btfKindName(t.kind)}${t.name === '' ? '' : ` '${printable(t.name)}'`})`;
  }

  resolve(id: number): number {
    const seen: number[] = [];
    let current = id;
    while (current !== 0) {
      const t = this.type(current);
      if (!isBtfModifier(t)) return current;
      if (seen.includes(current)) {
        throw new ObjectError(`BTF ${this.describe(id)}: typedef/modifier loop: ${[...seen, current].join(' -> ')}`);
      }
      seen.push(current);
      if (seen.length > BTF_MAX_RESOLVE_DEPTH) {
        throw new ObjectError(`BTF ${this.describe(id)}: more than ${BTF_MAX_RESOLVE_DEPTH} typedefs and modifiers in a row`);
      }
      current = t.type;
    }
    return 0;
  }

  resolveType(id: number): BtfType | undefined {
    const resolved = this.resolve(id);
    return resolved === 0 ? undefined : this.type(resolved);
  }

  sizeOf(id: number): number {
    const seen: number[] = [];
    let elements = 1;
    let current = id;
    for (;;) {
      if (current === 0) throw new ObjectError(`BTF ${this.describe(id)} has no size: it is or ends in void`);
      const t = this.type(current);
      if (seen.includes(current)) throw new ObjectError(`BTF ${this.describe(id)} has no size: loop: ${[...seen, current].join(' -> ')}`);
      seen.push(current);
      if (seen.length > BTF_MAX_RESOLVE_DEPTH) {
        throw new ObjectError(`BTF ${this.describe(id)} has no size: more than ${BTF_MAX_RESOLVE_DEPTH} typedefs, modifiers and arrays in a row`);
      }
      let size: number;
      switch (t.kind) {
        case BTF_KIND.INT:
        case BTF_KIND.STRUCT:
        case BTF_KIND.UNION:
        case BTF_KIND.ENUM:
        case BTF_KIND.ENUM64:
        case BTF_KIND.FLOAT:
        case BTF_KIND.DATASEC:
          size = t.size;
          break;
        case BTF_KIND.PTR:
          size = BTF_POINTER_SIZE;
          break;
        case BTF_KIND.TYPEDEF:
        case BTF_KIND.VOLATILE:
        case BTF_KIND.CONST:
        case BTF_KIND.RESTRICT:
        case BTF_KIND.TYPE_TAG:
        case BTF_KIND.VAR:
        case BTF_KIND.DECL_TAG:
          current = t.type;
          continue;
        case BTF_KIND.ARRAY:
          elements *= t.nelems;
          if (elements > 0xffffffff) throw new ObjectError(`BTF ${this.describe(id)} is too big: more than 2^32 elements`);
          current = t.type;
          continue;
        default:
          throw new ObjectError(`BTF ${this.describe(id)} has no size: ${this.describe(current)} is not a sized type`);
      }
      const total = size * elements;
      if (total > 0xffffffff) throw new ObjectError(`BTF ${this.describe(id)} is too big: ${elements} elements of ${size} bytes`);
      return total;
    }
  }
}

