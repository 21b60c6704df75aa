// DWARF type entries -> BTF through BtfWriter: each type entry written once, at an id reserved before any is written.
import type { Btf } from '../btf/btf.js';
import { BtfWriter, type WriterEnumerator, type WriterMember } from '../btf/writer.js';
import { DW_AT, DW_ATE, DW_FORM, DW_OP_plus_uconst, DW_TAG, tagName } from './constants.js';
import type { Die, DwarfEntries } from './entries.js';
import type { AttributeValue } from './forms.js';
import { checkTypeChains, underQualifiers } from './type-chains.js';

/** Entries that become a BTF type of their own. */
const WRITTEN_TAGS = new Set<number>([
  DW_TAG.base_type,
  DW_TAG.structure_type,
  DW_TAG.union_type,
  DW_TAG.enumeration_type,
  DW_TAG.typedef,
  DW_TAG.array_type,
  DW_TAG.pointer_type,
  DW_TAG.const_type,
  DW_TAG.volatile_type,
  DW_TAG.restrict_type,
  DW_TAG.subroutine_type,
]);
const MODIFIERS = new Map<number, 'const' | 'volatile' | 'restrict'>([
  [DW_TAG.const_type, 'const'],
  [DW_TAG.volatile_type, 'volatile'],
  [DW_TAG.restrict_type, 'restrict'],
]);
const INT_ENCODINGS = new Set<number>([DW_ATE.signed, DW_ATE.signed_char, DW_ATE.unsigned, DW_ATE.unsigned_char, DW_ATE.boolean, DW_ATE.UTF]);
const INT_SIZES = new Set([1, 2, 4, 8, 16]);
const FLOAT_SIZES = new Set([2, 4, 8, 12, 16]);
const MAX_U32 = 0xffffffff;
/** A bitfield's size is the top 8 bits of a BTF member's offset. */
const MAX_BITFIELD = 255;

/** The BTF of every type entry of the compile units read. */
export function dwarfToBtf(entries: DwarfEntries, littleEndian: boolean): Btf {
  checkTypeChains(entries);
  return new Converter(entries, new BtfWriter(littleEndian), littleEndian).convert();
}

class Converter {
  /** BTF ids by entry offset. */
  private readonly ids = new Map<number, number>();

  constructor(
    private readonly entries: DwarfEntries,
    private readonly writer: BtfWriter,
    private readonly littleEndian: boolean,
  ) {}

  /** Every id first, so that any type can name any other (a list's `next`) without recursion. */
  convert(): Btf {
    const written = this.entries.dies.filter((die) => WRITTEN_TAGS.has(die.tag));
    for (const die of written) this.ids.set(die.offset, this.writer.reserve());
    for (const die of written) this.write(die, this.ids.get(die.offset)!);
    return this.writer.finish();
  }

  private write(die: Die, id: number): void {
    const modifier = MODIFIERS.get(die.tag);
    if (modifier) {
      this.writer.modifier(modifier, this.typeOf(die), id);
      return;
    }
    switch (die.tag) {
      case DW_TAG.base_type:
        return this.baseType(die, id);
      case DW_TAG.structure_type:
      case DW_TAG.union_type:
        return this.composite(die, id);
      case DW_TAG.enumeration_type:
        return this.enumeration(die, id);
      case DW_TAG.array_type:
        return this.array(die, id);
      case DW_TAG.typedef:
        this.writer.typedef(this.entries.name(die), this.typeOf(die), id);
        return;
      case DW_TAG.pointer_type:
        this.writer.pointer(this.typeOf(die), id);
        return;
      default:
        this.functionProto(die, id);
    }
  }

  /** The BTF id of the entry's DW_AT_type: void (0) when it has none; `_Atomic T` is T. */
  private typeOf(die: Die, required = false): number {
    let target = this.entries.reference(die, DW_AT.type);
    if (!target && required) this.entries.fail(die, 'has no DW_AT_type');
    while (target?.tag === DW_TAG.atomic_type) target = this.entries.reference(target, DW_AT.type);
    if (!target || target.tag === DW_TAG.unspecified_type) return 0;
    return this.ids.get(target.offset) ?? this.entries.fail(die, `DW_AT_type refers to a ${tagName(target.tag)} at 0x${target.offset.toString(16)}, which is not a type`);
  }

  private byteSize(die: Die): number {
    const size = this.entries.unsigned(die, DW_AT.byte_size) ?? this.entries.fail(die, 'has no DW_AT_byte_size');
    if (size > MAX_U32) this.entries.fail(die, `${size} bytes; BTF sizes are 32 bits`);
    return size;
  }

  /** Integers, bools and floats as BTF has them; a base type BTF cannot hold (complex, odd sizes) as an opaque struct of its size. */
  private baseType(die: Die, id: number): void {
    const name = this.entries.name(die);
    const size = this.byteSize(die);
    const encoding = Number(this.entries.constant(die, DW_AT.encoding) ?? 0n);
    if (encoding === DW_ATE.float && FLOAT_SIZES.has(size)) this.writer.float(name, size, id);
    else if (INT_ENCODINGS.has(encoding) && INT_SIZES.has(size)) {
      // As clang's own BTF: signed chars are signed, no int is marked as a char.
      const signed = encoding === DW_ATE.signed || encoding === DW_ATE.signed_char;
      this.writer.int(name, size, { signed, bool: encoding === DW_ATE.boolean }, id);
    } else this.writer.composite('struct', name, size, [], id);
  }

  private composite(die: Die, id: number): void {
    const kind = die.tag === DW_TAG.union_type ? 'union' : 'struct';
    const name = this.entries.name(die);
    if (this.entries.flag(die, DW_AT.declaration)) {
      this.writer.forward(kind, name, id);
      return;
    }
    const members = die.children.filter((child) => child.tag === DW_TAG.member).map((member) => this.member(member));
    this.writer.composite(kind, name, this.byteSize(die), members, id);
  }

  private member(die: Die): WriterMember {
    const bitSize = this.entries.unsigned(die, DW_AT.bit_size);
    if (bitSize !== undefined && bitSize > MAX_BITFIELD) this.entries.fail(die, `a bitfield of ${bitSize} bits; BTF holds at most ${MAX_BITFIELD}`);
    const bitOffset = this.memberBitOffset(die, bitSize);
    if (bitOffset > MAX_U32) this.entries.fail(die, `bit offset ${bitOffset} does not fit BTF's 32 bits`);
    return { name: this.entries.name(die), type: this.typeOf(die, true), bitOffset, ...(bitSize ? { bitSize } : {}) };
  }

  /**
   * From the start of the struct: DW_AT_data_bit_offset (DWARF 4+), or the byte location plus
   * DWARF 2/3's DW_AT_bit_offset, which counts from the most significant bit of a storage unit
   * of DW_AT_byte_size bytes (clang still writes that form when it tunes for gdb, its default).
   */
  private memberBitOffset(die: Die, bitSize: number | undefined): number {
    const dataBitOffset = this.entries.unsigned(die, DW_AT.data_bit_offset);
    if (dataBitOffset !== undefined) return dataBitOffset;
    const location = this.memberLocation(die) * 8;
    const fromHigh = this.entries.constant(die, DW_AT.bit_offset);
    if (fromHigh === undefined) return location;
    if (!bitSize) this.entries.fail(die, 'has DW_AT_bit_offset but no DW_AT_bit_size');
    const storageBits = (this.entries.unsigned(die, DW_AT.byte_size) ?? this.storageSize(die)) * 8;
    const bitOffset = this.littleEndian ? location + storageBits - Number(fromHigh) - bitSize : location + Number(fromHigh);
    if (bitOffset < 0 || fromHigh < 0n) this.entries.fail(die, `DW_AT_bit_offset ${fromHigh} puts the bitfield before the struct's start`);
    return bitOffset;
  }

  /** A bitfield's storage unit when the member does not say: its type's size. */
  private storageSize(die: Die): number {
    const type = underQualifiers(this.entries, this.entries.reference(die, DW_AT.type));
    if (!type) return this.entries.fail(die, 'a bitfield of type void');
    return this.byteSize(type);
  }

  /** DW_AT_data_member_location: a constant, or the expression DW_OP_plus_uconst N; none (union members) is 0. */
  private memberLocation(die: Die): number {
    const value = this.entries.attribute(die, DW_AT.data_member_location);
    if (value === undefined || value.kind === 'constant') return this.entries.unsigned(die, DW_AT.data_member_location) ?? 0;
    if (value.kind !== 'block') return this.entries.fail(die, `DW_AT_data_member_location is a ${value.kind}, not a constant or an expression`);
    const c = this.entries.cursor(value.offset, value.offset + value.bytes.length);
    const op = c.u8();
    if (op !== DW_OP_plus_uconst) c.fail(`DW_AT_data_member_location: operation 0x${op.toString(16)} is not DW_OP_plus_uconst, the one a member location uses`, value.offset);
    const offset = c.uleb();
    if (c.at !== c.end) c.fail('DW_AT_data_member_location: more than one operation', value.offset);
    return offset;
  }

  private enumeration(die: Die, id: number): void {
    const name = this.entries.name(die);
    if (this.entries.flag(die, DW_AT.declaration)) {
      this.writer.enumeration(name, this.entries.unsigned(die, DW_AT.byte_size) ?? 4, [], false, id);
      return;
    }
    const size = this.byteSize(die);
    const enumerators = die.children.filter((child) => child.tag === DW_TAG.enumerator);
    const raw = enumerators.map((e) => this.entries.attribute(e, DW_AT.const_value) ?? this.entries.fail(e, 'has no DW_AT_const_value'));
    const signed = this.underlyingSigned(die) ?? raw.some((v) => v.kind === 'constant' && v.value < 0n);
    const values: WriterEnumerator[] = enumerators.map((e, i) => ({ name: this.entries.name(e), value: this.enumeratorValue(e, raw[i]!, signed) }));
    this.writer.enumeration(name, size, values, signed, id);
  }

  /** Whether the enum's DW_AT_type is a signed integer; undefined when it names none. */
  private underlyingSigned(die: Die): boolean | undefined {
    const base = underQualifiers(this.entries, this.entries.reference(die, DW_AT.type));
    if (base?.tag !== DW_TAG.base_type) return undefined;
    const encoding = Number(this.entries.constant(base, DW_AT.encoding) ?? 0n);
    return encoding === DW_ATE.signed || encoding === DW_ATE.signed_char;
  }

  /** sdata is signed and udata unsigned; a fixed-size data form takes the enum's signedness. */
  private enumeratorValue(die: Die, value: AttributeValue, signed: boolean): bigint {
    if (value.kind !== 'constant') return this.entries.fail(die, `DW_AT_const_value is a ${value.kind}, not a constant`);
    const width = FIXED_WIDTH.get(value.form);
    return width !== undefined && signed ? BigInt.asIntN(width, value.value) : value.value;
  }

  /** Nested arrays for several subranges, the first (C's leftmost) outermost; no subrange or no bound is a flexible array. */
  private array(die: Die, id: number): void {
    const counts = die.children.filter((child) => child.tag === DW_TAG.subrange_type).map((subrange) => this.elementCount(subrange));
    let element = this.typeOf(die, true);
    for (let i = counts.length - 1; i >= 1; i--) element = this.writer.array(element, counts[i]!);
    this.writer.array(element, counts[0] ?? 0, id);
  }

  /** DW_AT_count, or DW_AT_upper_bound - DW_AT_lower_bound + 1; 0 when unknown (flexible or sized at run time). */
  private elementCount(die: Die): number {
    const count = this.entries.attribute(die, DW_AT.count);
    const upper = this.entries.attribute(die, DW_AT.upper_bound);
    let elements = 0n;
    if (count?.kind === 'constant') elements = boundValue(count);
    else if (count === undefined && upper?.kind === 'constant') elements = boundValue(upper) - (this.entries.constant(die, DW_AT.lower_bound) ?? 0n) + 1n;
    if (elements > BigInt(MAX_U32)) this.entries.fail(die, `${elements} elements; BTF holds at most ${MAX_U32}`);
    return elements < 0n ? 0 : Number(elements);
  }

  /** Function pointers' types: the parameters' types (unnamed as in C declarators), varargs dropped. */
  private functionProto(die: Die, id: number): void {
    const params = die.children
      .filter((child) => child.tag === DW_TAG.formal_parameter)
      .map((param) => ({ name: this.entries.name(param), type: this.typeOf(param, true) }));
    this.writer.functionProto(this.typeOf(die), params, id);
  }
}

/** Bits of the fixed-size data forms, whose values DWARF leaves without a sign. */
const FIXED_WIDTH = new Map<number, number>([
  [DW_FORM.data1, 8],
  [DW_FORM.data2, 16],
  [DW_FORM.data4, 32],
  [DW_FORM.data8, 64],
  [DW_FORM.data16, 128],
]);

/** A bound or count: sdata as signed; a 4- or 8-byte data form of all ones as -1 (gcc's "no bound"). */
function boundValue(value: AttributeValue & { kind: 'constant' }): bigint {
  const width = FIXED_WIDTH.get(value.form);
  if (width !== undefined && width >= 32 && value.value === (1n << BigInt(width)) - 1n) return -1n;
  return value.value;
}
