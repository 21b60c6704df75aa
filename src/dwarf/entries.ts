// .debug_info: unit headers and the tree of entries (DIEs) that describe types, with their attributes read by kind.
import { Abbreviations, type Abbreviation, type AbbreviationTable } from './abbrev.js';
import { attributeName, DW_AT, DW_FORM, DW_TAG, DW_UT, tagName } from './constants.js';
import { Cursor, dwarfError, type DwarfSection } from './cursor.js';
import { readAttribute, skipAttribute, type AttributeValue, type FormContext } from './forms.js';
import type { DwarfSections } from './sections.js';

export interface Unit extends FormContext {
  readonly end: number;
  /** Where the unit's .debug_str_offsets entries start (DW_AT_str_offsets_base of its unit entry). */
  strOffsetsBase: number;
}

export interface Die {
  /** Offset in .debug_info. */
  readonly offset: number;
  readonly tag: number;
  readonly unit: Unit;
  /** Only the attributes the type reader uses. */
  readonly attributes: ReadonlyMap<number, AttributeValue>;
  /** Kept children (members, enumerators, subranges, parameters, nested types) of structs, unions, enums, arrays and function types. */
  readonly children: readonly Die[];
}

/** Entries that are types, their parts, or a unit's own: kept with their attributes; all others are read past. */
const KEPT_TAGS = new Set<number>(Object.values(DW_TAG));
const KEPT_ATTRIBUTES = new Set<number>(Object.values(DW_AT));
/** The entries whose children the reader uses; other entries' children are only listed in `dies`. */
const PARENT_TAGS = new Set<number>([DW_TAG.structure_type, DW_TAG.union_type, DW_TAG.enumeration_type, DW_TAG.array_type, DW_TAG.subroutine_type]);
const NO_CHILDREN: readonly Die[] = [];
/** The sizes of a DWARF 5 header after unit_type, address_size and debug_abbrev_offset: a dwo id or a type signature and offset. */
const HEADER_EXTRA = new Map<number, number>([
  [DW_UT.compile, 0],
  [DW_UT.partial, 0],
  [DW_UT.skeleton, 8],
  [DW_UT.split_compile, 8],
  [DW_UT.type, 12],
  [DW_UT.split_type, 12],
]);
const SKIPPED_UNITS = new Map<number, string>([
  [DW_UT.type, 'a type unit (DW_UT_type), which is not read'],
  [DW_UT.partial, 'a partial unit (DW_UT_partial, as dwz makes), which is not read'],
  [DW_UT.skeleton, 'a skeleton unit of split DWARF (-gsplit-dwarf): its types are in a .dwo file, which is not read'],
  [DW_UT.split_compile, 'a split compile unit (of a .dwo file), which is not read'],
  [DW_UT.split_type, 'a split type unit (of a .dwo file), which is not read'],
]);

/** Every compile unit's type entries, indexed by offset, and what each attribute holds. */
export class DwarfEntries {
  /** The kept entries of every compile unit, in section order. */
  readonly dies: Die[] = [];
  /** "unit at 0x40: a type unit (DW_UT_type), which is not read", for each unit passed over. */
  readonly skippedUnits: string[] = [];
  private readonly byOffset = new Map<number, Die>();
  private readonly skippedRanges: Array<{ start: number; end: number; reason: string }> = [];
  private readonly abbreviations: Abbreviations;
  private readonly strOffsets: Cursor;

  constructor(private readonly sections: DwarfSections) {
    this.abbreviations = new Abbreviations(sections.abbrev);
    this.strOffsets = new Cursor(sections.strOffsets);
    const info = new Cursor(sections.info);
    while (info.at < info.end) info.at = this.readUnit(info.at);
  }

  fail(die: Die, message: string): never {
    throw dwarfError(this.sections.info.name, die.offset, `${tagName(die.tag)}: ${message}`);
  }

  /** A cursor over .debug_info bytes (a block's), for its offsets in errors. */
  cursor(start: number, end: number): Cursor {
    return new Cursor(this.sections.info, start, end);
  }

  attribute(die: Die, attribute: number): AttributeValue | undefined {
    return die.attributes.get(attribute);
  }

  /** The entry's DW_AT_name, or '' when it has none (anonymous types and members). */
  name(die: Die): string {
    const value = die.attributes.get(DW_AT.name);
    if (value === undefined) return '';
    if (value.kind === 'string') return this.stringAt(die, sectionOf(this.sections, value.section), value.offset);
    if (value.kind === 'stringIndex') return this.stringAt(die, this.sections.str, this.stringOffset(die, value.index));
    return this.fail(die, `DW_AT_name is ${describe(value)}, not a string this reader can find`);
  }

  flag(die: Die, attribute: number): boolean {
    const value = die.attributes.get(attribute);
    if (value === undefined) return false;
    if (value.kind === 'flag') return value.value;
    return this.fail(die, `${attributeName(attribute)} is ${describe(value)}, not a flag`);
  }

  /** A constant attribute as DWARF holds it (data forms unsigned, sdata signed), or undefined. */
  constant(die: Die, attribute: number): bigint | undefined {
    const value = die.attributes.get(attribute);
    if (value === undefined) return undefined;
    if (value.kind === 'constant') return value.value;
    return this.fail(die, `${attributeName(attribute)} is ${describe(value)}, not a constant`);
  }

  /** A size, offset or count: a constant that is not negative and fits a number. */
  unsigned(die: Die, attribute: number): number | undefined {
    const value = this.constant(die, attribute);
    if (value === undefined) return undefined;
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(die, `${attributeName(attribute)} ${value} is not a usable size or offset`);
    return Number(value);
  }

  /** The entry a reference attribute points to, or undefined when it has none. */
  reference(die: Die, attribute: number): Die | undefined {
    const value = die.attributes.get(attribute);
    if (value === undefined) return undefined;
    if (value.kind === 'reference') return this.byOffset.get(value.offset) ?? this.fail(die, `${attributeName(attribute)} refers to 0x${value.offset.toString(16)}, ${this.noEntryReason(value.offset)}`);
    if (value.kind === 'other' && value.form === DW_FORM.ref_sig8) {
      return this.fail(die, `${attributeName(attribute)} refers to a type unit by signature (DW_FORM_ref_sig8); type units are not read`);
    }
    return this.fail(die, `${attributeName(attribute)} is ${describe(value)}, not a reference this reader can follow`);
  }

  private noEntryReason(offset: number): string {
    const skipped = this.skippedRanges.find((r) => offset >= r.start && offset < r.end);
    return skipped ? `in ${skipped.reason}` : 'where no type entry starts';
  }

  /** Reads the unit at `start`; returns where the next one starts. */
  private readUnit(start: number): number {
    const c = new Cursor(this.sections.info, start);
    const length = c.u32();
    if (length === 0xffffffff) c.fail('64-bit DWARF units are not supported', start);
    if (length >= 0xfffffff0) c.fail(`unit length 0x${length.toString(16)} is a reserved value`, start);
    const end = c.at + length;
    if (end > c.end) c.fail(`the unit's length 0x${length.toString(16)} runs past the end of the section (0x${c.end.toString(16)})`, start);
    const header = new Cursor(this.sections.info, c.at, end);
    const { unit, unitType, abbrevOffset } = readUnitHeader(header, start, end);
    const skipped = SKIPPED_UNITS.get(unitType);
    if (skipped) {
      this.skippedUnits.push(`unit at 0x${start.toString(16)}: ${skipped}`);
      this.skippedRanges.push({ start, end, reason: skipped });
    } else {
      this.readEntries(unit, header, this.abbreviations.at(abbrevOffset), abbrevOffset);
    }
    return end;
  }

  /** The unit's entries, flat, with a stack of the open parents that null entries close. */
  private readEntries(unit: Unit, c: Cursor, table: AbbreviationTable, abbrevOffset: number): void {
    // The children lists of the open entries (undefined for those whose children are not kept).
    const parents: Array<Die[] | undefined> = [];
    while (c.at < unit.end) {
      const offset = c.at;
      const code = c.uleb();
      if (code === 0) {
        // Ends the open parent's children (or pads the unit's end).
        parents.pop();
        continue;
      }
      const abbreviation = table.get(code) ?? c.fail(`abbreviation code ${code} is not in the unit's table (.debug_abbrev 0x${abbrevOffset.toString(16)})`, offset);
      const attributes = this.readAttributes(c, unit, abbreviation);
      let children: Die[] | undefined;
      if (attributes) {
        children = abbreviation.hasChildren && PARENT_TAGS.has(abbreviation.tag) ? [] : undefined;
        const die: Die = { offset, tag: abbreviation.tag, unit, attributes, children: children ?? NO_CHILDREN };
        this.dies.push(die);
        this.byOffset.set(offset, die);
        parents.at(-1)?.push(die);
        if (die.tag === DW_TAG.compile_unit) unit.strOffsetsBase = this.strOffsetsBase(die, unit);
      }
      if (abbreviation.hasChildren) parents.push(children);
    }
  }

  /** The attributes of a kept entry, or undefined (having moved past them) for an entry that is not kept. */
  private readAttributes(c: Cursor, unit: Unit, abbreviation: Abbreviation): Map<number, AttributeValue> | undefined {
    const attributes = KEPT_TAGS.has(abbreviation.tag) ? new Map<number, AttributeValue>() : undefined;
    for (const spec of abbreviation.attributes) {
      if (attributes && KEPT_ATTRIBUTES.has(spec.attribute)) attributes.set(spec.attribute, readAttribute(c, spec.form, unit, spec.implicitConst));
      else skipAttribute(c, spec.form, unit);
    }
    return attributes;
  }

  private strOffsetsBase(unitDie: Die, unit: Unit): number {
    // Without the attribute: the first contribution, just past its 8-byte header (DWARF 5), or the start (GNU split DWARF 4).
    return this.unsigned(unitDie, DW_AT.str_offsets_base) ?? (unit.version >= 5 ? 8 : 0);
  }

  /** The .debug_str offset that entry `index` of the unit's .debug_str_offsets contribution holds. */
  private stringOffset(die: Die, index: number): number {
    const c = this.strOffsets;
    c.at = die.unit.strOffsetsBase + index * 4;
    if (c.at + 4 > c.end) this.fail(die, `string index ${index} is outside ${c.section.name} (${c.end} bytes from base 0x${die.unit.strOffsetsBase.toString(16)})`);
    return c.u32();
  }

  private stringAt(die: Die, section: DwarfSection, offset: number): string {
    const bytes = section.bytes;
    if (offset >= bytes.length) this.fail(die, `string offset 0x${offset.toString(16)} is outside ${section.name} (${bytes.length} bytes)`);
    const end = bytes.indexOf(0, offset);
    if (end < 0) this.fail(die, `the string at 0x${offset.toString(16)} of ${section.name} has no terminating NUL`);
    return Buffer.from(bytes.buffer, bytes.byteOffset + offset, end - offset).toString('utf8');
  }
}

/** Version, address size and unit type, checked; the cursor ends at the unit's first entry. */
function readUnitHeader(c: Cursor, start: number, end: number): { unit: Unit; unitType: number; abbrevOffset: number } {
  const version = c.u16();
  if (version < 2 || version > 5) c.fail(`DWARF version ${version} is not supported (2 to 5 are)`, start);
  let unitType: number = DW_UT.compile;
  let addressSize: number;
  let abbrevOffset: number;
  if (version >= 5) {
    unitType = c.u8();
    addressSize = c.u8();
    abbrevOffset = c.u32();
    const extra = HEADER_EXTRA.get(unitType) ?? c.fail(`unit type 0x${unitType.toString(16)} is unknown`, start);
    c.bytes(extra);
  } else {
    abbrevOffset = c.u32();
    addressSize = c.u8();
  }
  if (addressSize !== 4 && addressSize !== 8) c.fail(`address size ${addressSize} is neither 4 nor 8`, start);
  return { unit: { offset: start, end, version, addressSize, strOffsetsBase: 0 }, unitType, abbrevOffset };
}

function sectionOf(sections: DwarfSections, which: 'info' | 'str' | 'lineStr'): DwarfSection {
  return which === 'info' ? sections.info : which === 'str' ? sections.str : sections.lineStr;
}

/** How an attribute's value reads in an error: its kind, and its form when that says more. */
function describe(value: AttributeValue): string {
  return value.kind === 'other' ? `of form 0x${value.form.toString(16)}` : `a ${value.kind}`;
}
