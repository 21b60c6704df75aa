// .debug_abbrev: the abbreviation tables that give each DIE its tag, whether it has children, and its attributes' forms.
import { DW_FORM } from './constants.js';
import { Cursor, type DwarfSection } from './cursor.js';

export interface AttributeSpec {
  readonly attribute: number;
  readonly form: number;
  /** The value of a DW_FORM_implicit_const attribute, kept in the table rather than the DIE. */
  readonly implicitConst: bigint;
}

export interface Abbreviation {
  readonly tag: number;
  readonly hasChildren: boolean;
  readonly attributes: readonly AttributeSpec[];
}

export type AbbreviationTable = ReadonlyMap<number, Abbreviation>;

/** The tables of one .debug_abbrev, each read once however many units share it. */
export class Abbreviations {
  private readonly tables = new Map<number, AbbreviationTable>();

  constructor(private readonly section: DwarfSection) {}

  /** The table at `offset` (from a unit header). */
  at(offset: number): AbbreviationTable {
    let table = this.tables.get(offset);
    if (!table) {
      table = readTable(new Cursor(this.section, offset));
      this.tables.set(offset, table);
    }
    return table;
  }
}

/** Entries until the 0 code that ends the table. */
function readTable(c: Cursor): AbbreviationTable {
  if (c.at >= c.end) c.fail(`no abbreviation table here: the section has ${c.end} bytes`);
  const table = new Map<number, Abbreviation>();
  for (;;) {
    const start = c.at;
    const code = c.uleb();
    if (code === 0) return table;
    if (table.has(code)) c.fail(`abbreviation code ${code} is defined twice in one table`, start);
    const tag = c.uleb();
    const children = c.u8();
    if (children > 1) c.fail(`abbreviation ${code}: children flag ${children} is neither 0 nor 1`, start);
    table.set(code, { tag, hasChildren: children === 1, attributes: readAttributeSpecs(c) });
  }
}

/** (attribute, form) pairs until (0, 0). */
function readAttributeSpecs(c: Cursor): AttributeSpec[] {
  const specs: AttributeSpec[] = [];
  for (;;) {
    const attribute = c.uleb();
    const form = c.uleb();
    if (attribute === 0 && form === 0) return specs;
    specs.push({ attribute, form, implicitConst: form === DW_FORM.implicit_const ? c.slebBig() : 0n });
  }
}
