// Attribute values by form: every DWARF 2-5 form read or sized right, strings and references kept for later lookup.
import { DW_FORM } from './constants.js';
import type { Cursor } from './cursor.js';

/** What a form needs to know of the unit it is read in. */
export interface FormContext {
  /** Offset of the unit header in .debug_info: unit-relative references count from it. */
  readonly offset: number;
  readonly version: number;
  readonly addressSize: number;
}

export type AttributeValue =
  /** data1-16, sdata, udata, implicit_const, sec_offset; `form` says how to read its sign. */
  | { readonly kind: 'constant'; readonly value: bigint; readonly form: number }
  /** An offset in .debug_info (unit-relative forms already made absolute). */
  | { readonly kind: 'reference'; readonly offset: number }
  /** A NUL-terminated string at `offset` in .debug_info (DW_FORM_string), .debug_str or .debug_line_str. */
  | { readonly kind: 'string'; readonly section: 'info' | 'str' | 'lineStr'; readonly offset: number }
  /** An index into the unit's .debug_str_offsets contribution. */
  | { readonly kind: 'stringIndex'; readonly index: number }
  | { readonly kind: 'flag'; readonly value: boolean }
  /** exprloc and block forms; `offset` is where the bytes start in .debug_info. */
  | { readonly kind: 'block'; readonly bytes: Uint8Array; readonly offset: number }
  /** Addresses, list indexes, signatures, supplementary-file offsets: sized, not needed. */
  | { readonly kind: 'other'; readonly form: number };

const OFFSET_SIZE = 4;

/** The size of each fixed-size form but DW_FORM_addr (an address) and DWARF 2's ref_addr; what skipAttribute steps over without reading. */
const FIXED_SIZE = new Map<number, number>([
  [DW_FORM.data1, 1],
  [DW_FORM.ref1, 1],
  [DW_FORM.flag, 1],
  [DW_FORM.strx1, 1],
  [DW_FORM.addrx1, 1],
  [DW_FORM.data2, 2],
  [DW_FORM.ref2, 2],
  [DW_FORM.strx2, 2],
  [DW_FORM.addrx2, 2],
  [DW_FORM.strx3, 3],
  [DW_FORM.addrx3, 3],
  [DW_FORM.data4, 4],
  [DW_FORM.ref4, 4],
  [DW_FORM.strx4, 4],
  [DW_FORM.addrx4, 4],
  [DW_FORM.strp, OFFSET_SIZE],
  [DW_FORM.line_strp, OFFSET_SIZE],
  [DW_FORM.sec_offset, OFFSET_SIZE],
  [DW_FORM.data8, 8],
  [DW_FORM.ref8, 8],
  [DW_FORM.ref_sig8, 8],
  [DW_FORM.data16, 16],
  [DW_FORM.flag_present, 0],
  [DW_FORM.implicit_const, 0],
]);

/** Moves past an attribute whose value is not wanted (most of them: file and line numbers), without building it. */
export function skipAttribute(c: Cursor, form: number, unit: FormContext): void {
  const size = FIXED_SIZE.get(form);
  if (size === undefined) readAttribute(c, form, unit, 0n);
  else c.skip(size);
}

/** Reads the value of one attribute at the cursor, moving past it. */
export function readAttribute(c: Cursor, form: number, unit: FormContext, implicitConst: bigint): AttributeValue {
  const start = c.at;
  switch (form) {
    case DW_FORM.data1:
      return constant(BigInt(c.u8()), form);
    case DW_FORM.data2:
      return constant(BigInt(c.u16()), form);
    case DW_FORM.data4:
      return constant(BigInt(c.u32()), form);
    case DW_FORM.data8:
      return constant(c.u64(), form);
    case DW_FORM.data16:
      return constant(c.u128(), form);
    case DW_FORM.sdata:
      return constant(c.slebBig(), form);
    case DW_FORM.udata:
      return constant(c.ulebBig(), form);
    case DW_FORM.implicit_const:
      return constant(implicitConst, form);
    case DW_FORM.sec_offset:
      return constant(BigInt(c.u32()), form);
    case DW_FORM.flag:
      return { kind: 'flag', value: c.u8() !== 0 };
    case DW_FORM.flag_present:
      return { kind: 'flag', value: true };
    case DW_FORM.ref1:
      return reference(unit.offset + c.u8());
    case DW_FORM.ref2:
      return reference(unit.offset + c.u16());
    case DW_FORM.ref4:
      return reference(unit.offset + c.u32());
    case DW_FORM.ref8:
      return reference(unit.offset + c.unsigned(8));
    case DW_FORM.ref_udata:
      return reference(unit.offset + c.uleb());
    case DW_FORM.ref_addr:
      // DWARF 2 sized it as an address; later versions as an offset.
      return reference(c.unsigned(unit.version === 2 ? unit.addressSize : OFFSET_SIZE));
    case DW_FORM.string:
      c.skipString();
      return { kind: 'string', section: 'info', offset: start };
    case DW_FORM.strp:
      return { kind: 'string', section: 'str', offset: c.u32() };
    case DW_FORM.line_strp:
      return { kind: 'string', section: 'lineStr', offset: c.u32() };
    case DW_FORM.strx:
    case DW_FORM.GNU_str_index:
      return { kind: 'stringIndex', index: c.uleb() };
    case DW_FORM.strx1:
      return { kind: 'stringIndex', index: c.u8() };
    case DW_FORM.strx2:
      return { kind: 'stringIndex', index: c.u16() };
    case DW_FORM.strx3:
      return { kind: 'stringIndex', index: c.u24() };
    case DW_FORM.strx4:
      return { kind: 'stringIndex', index: c.u32() };
    case DW_FORM.exprloc:
    case DW_FORM.block:
      return block(c, c.uleb());
    case DW_FORM.block1:
      return block(c, c.u8());
    case DW_FORM.block2:
      return block(c, c.u16());
    case DW_FORM.block4:
      return block(c, c.u32());
    case DW_FORM.indirect:
      return readIndirect(c, unit);
    default:
      return readOther(c, form, unit);
  }
}

/** The forms whose values the type reader never needs, by their size in bytes (0: a ULEB128). */
const OTHER_SIZE = new Map<number, number | 'address'>([
  [DW_FORM.addr, 'address'],
  [DW_FORM.addrx, 0],
  [DW_FORM.GNU_addr_index, 0],
  [DW_FORM.loclistx, 0],
  [DW_FORM.rnglistx, 0],
  [DW_FORM.addrx1, 1],
  [DW_FORM.addrx2, 2],
  [DW_FORM.addrx3, 3],
  [DW_FORM.addrx4, 4],
  [DW_FORM.ref_sup4, 4],
  [DW_FORM.strp_sup, OFFSET_SIZE],
  [DW_FORM.GNU_ref_alt, OFFSET_SIZE],
  [DW_FORM.GNU_strp_alt, OFFSET_SIZE],
  [DW_FORM.ref_sig8, 8],
  [DW_FORM.ref_sup8, 8],
]);

function readOther(c: Cursor, form: number, unit: FormContext): AttributeValue {
  const size = OTHER_SIZE.get(form);
  if (size === undefined) c.fail(`unknown form 0x${form.toString(16)}`);
  if (size === 0) c.ulebBig();
  else c.bytes(size === 'address' ? unit.addressSize : size);
  return { kind: 'other', form };
}

/** DW_FORM_indirect: the form itself comes first, as a ULEB128. */
function readIndirect(c: Cursor, unit: FormContext): AttributeValue {
  const start = c.at;
  const form = c.uleb();
  // implicit_const keeps its value in the abbreviation, which an indirect form has none of.
  if (form === DW_FORM.indirect || form === DW_FORM.implicit_const) c.fail(`DW_FORM_indirect names form 0x${form.toString(16)}, which cannot be indirect`, start);
  return readAttribute(c, form, unit, 0n);
}

function constant(value: bigint, form: number): AttributeValue {
  return { kind: 'constant', value, form };
}

function reference(offset: number): AttributeValue {
  return { kind: 'reference', offset };
}

function block(c: Cursor, length: number): AttributeValue {
  const offset = c.at;
  return { kind: 'block', bytes: c.bytes(length), offset };
}
