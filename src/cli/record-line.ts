// RecordLineWriter: a typed record's table line written as ASCII straight into the output's buffer, with no string per cell.
// It makes exactly the line the string path (texts, cellText, alignedRow) makes, or says it cannot and leaves the record to it.
import { smallIntegerAt, wordAt } from '../btf/decode.js';
import { writeAscii, writeInt64, writeInteger, writeSeconds } from '../values/ascii.js';
import type { Decoded } from '../btf/decode.js';
import type { ColumnSource, RecordColumnFormatter } from '../values/formats.js';
import { cellText } from './format.js';

const SPACE = 0x20;
const NEWLINE = 0x0a;

/**
 * The C string at `offset` (up to its NUL or `length` bytes) copied as it is, when a table cell
 * shows it so: not empty, not beginning with a quote, no byte outside 0x21-0x7e (a space has it
 * quoted, other bytes escaped). Else -1.
 */
function writeWord(out: Uint8Array, at: number, bytes: Uint8Array, offset: number, length: number): number {
  if (at + length > out.length || bytes[offset] === 0 || bytes[offset] === 0x22) return -1;
  const end = offset + length;
  for (let i = offset; i < end; i++) {
    const c = bytes[i]!;
    if (c === 0) break;
    if (c < 0x21 || c > 0x7e) return -1;
    out[at++] = c;
  }
  return at;
}

/** How a cell is written, from its ColumnSource: the writers' loops switch on it, with no call per cell. */
export const enum Cell {
  Uint32,
  Int32,
  Uint64,
  Int64,
  /** A 1- or 2-byte integer. */
  SmallInteger,
  Chars,
  Seconds,
  Ruled,
  Value,
}

function cellKind(source: ColumnSource): Cell {
  switch (source.kind) {
    case 'integer':
      if (source.size === 8) return source.signed ? Cell.Int64 : Cell.Uint64;
      if (source.size === 4) return source.signed ? Cell.Int32 : Cell.Uint32;
      return Cell.SmallInteger;
    case 'chars':
      return Cell.Chars;
    case 'seconds':
      return Cell.Seconds;
    case 'ruled':
      return Cell.Ruled;
    case 'value':
      return Cell.Value;
  }
}

/** Texts of a ruled integer's values remembered per column: an errno column has a handful. */
const RULED_TEXTS = 256;

/**
 * A record type's cells as the byte writers read them, worked out once from its formatter: each
 * one's kind, where it lies, and the integer under an integer, seconds or ruled cell.
 */
export class RecordCells {
  readonly kinds: Uint8Array;
  /** Each cell's offset in the record; an 8-byte integer's is that of its high word. */
  readonly offsets: Int32Array;
  /** A char array's length; the offset of an 8-byte integer's low word; a smaller integer's size. */
  readonly extents: Int32Array;
  private readonly signed: Uint8Array;
  /** Per ruled cell, a text of each value seen (up to RULED_TEXTS), as the caller makes it. */
  private readonly ruledTexts: Array<Map<number, string>>;
  private readonly littleEndian: boolean;

  constructor(readonly formatter: RecordColumnFormatter) {
    const { sources, littleEndian } = formatter;
    this.littleEndian = littleEndian;
    this.kinds = Uint8Array.from(sources, cellKind);
    this.offsets = new Int32Array(sources.length);
    this.extents = new Int32Array(sources.length);
    this.signed = new Uint8Array(sources.length);
    this.ruledTexts = sources.map(() => new Map());
    sources.forEach((source, i) => {
      if (source.kind === 'value') return;
      const words = source.kind === 'seconds' || (source.kind === 'integer' && source.size === 8);
      this.offsets[i] = words && littleEndian ? source.offset + 4 : source.offset;
      this.extents[i] = source.kind === 'chars' ? source.length : words ? (littleEndian ? source.offset : source.offset + 4) : source.size;
      this.signed[i] = source.kind !== 'chars' && source.signed ? 1 : 0;
    });
  }

  /** The digits of cell `i`'s integer (of an integer, seconds or ruled cell, as decoded, before any rule): the end, or -1 when they do not fit. */
  digits(i: number, bytes: Uint8Array, out: Uint8Array, at: number): number {
    const le = this.littleEndian;
    const offset = this.offsets[i]!;
    switch (this.kinds[i]) {
      case Cell.Uint32:
        return writeInteger(out, at, wordAt(bytes, offset, le) >>> 0);
      case Cell.Int32:
        return writeInteger(out, at, wordAt(bytes, offset, le) | 0);
      case Cell.Uint64:
      case Cell.Int64:
      case Cell.Seconds:
        return writeInt64(out, at, wordAt(bytes, offset, le), wordAt(bytes, this.extents[i]!, le), this.signed[i] === 1);
      default:
        return writeInteger(out, at, this.small(i, bytes));
    }
  }

  /** Cell `i`'s seconds (the time rule's text of its nanoseconds) where they can be made exactly without the double: the end, or -1. */
  seconds(i: number, bytes: Uint8Array, out: Uint8Array, at: number): number {
    const high = wordAt(bytes, this.offsets[i]!, this.littleEndian) >>> 0;
    // Below 2^21 in the high word the nanoseconds are an exact number.
    return high < 0x200000 ? writeSeconds(out, at, high * 0x100000000 + (wordAt(bytes, this.extents[i]!, this.littleEndian) >>> 0)) : -1;
  }

  /** Ruled cell `i`'s text: `text` of the rule's value for its integer, made once per integer. */
  ruledText(i: number, bytes: Uint8Array, text: (value: Decoded) => string): string {
    const value = this.small(i, bytes);
    const texts = this.ruledTexts[i]!;
    let made = texts.get(value);
    if (made === undefined) {
      made = text(this.formatter.value(i, bytes));
      if (texts.size < RULED_TEXTS) texts.set(value, made);
    }
    return made;
  }

  /** The integer of a small integer or ruled cell. */
  private small(i: number, bytes: Uint8Array): number {
    return smallIntegerAt(bytes, this.offsets[i]!, this.extents[i]!, this.signed[i] === 1, this.littleEndian);
  }
}

export class RecordLineWriter {
  private readonly cells: RecordCells;
  /** Columns the line being written widens, and their new widths, in pairs: set in `widths` once the line is whole. */
  private readonly widened: number[] = [];

  /** `wideCell`: a cell longer than this, but the last, goes to the end of its line: those lines are not for this writer. */
  constructor(
    formatter: RecordColumnFormatter,
    private readonly wideCell: number,
  ) {
    this.cells = new RecordCells(formatter);
  }

  /** Cell `i` of one record at `at`: its end, or -1 when it is not printable ASCII or does not fit. */
  private cell(i: number, bytes: Uint8Array, out: Uint8Array, at: number): number {
    const cells = this.cells;
    switch (cells.kinds[i]) {
      case Cell.Value:
        break;
      case Cell.Chars: {
        // A string the cell quotes or escapes is made as text.
        const end = writeWord(out, at, bytes, cells.offsets[i]!, cells.extents[i]!);
        if (end >= 0) return end;
        break;
      }
      case Cell.Ruled:
        return writeAscii(out, at, cells.ruledText(i, bytes, cellText));
      case Cell.Seconds: {
        const end = cells.seconds(i, bytes, out, at);
        if (end >= 0) return end;
        break;
      }
      default:
        return cells.digits(i, bytes, out, at);
    }
    return writeAscii(out, at, cellText(cells.formatter.value(i, bytes)));
  }

  /**
   * A cell of text before the record's own (the map, the CPU) at `at`, padded to column `column`
   * (to be widened to fit it when write() ends the line) and two spaces: returns the end, or -1.
   */
  lead(text: string, out: Uint8Array, at: number, widths: number[], column: number): number {
    const start = at;
    at = writeAscii(out, at, text);
    if (at >= 0) at = this.pad(out, start, at, widths, column);
    if (at < 0) this.widened.length = 0;
    return at;
  }

  /**
   * One record's cells at `at`, each padded to its column's width (widened to fit it) and two
   * spaces apart, from column `first` of `widths`, the last unpadded, then a newline: the end, or
   * -1 when a cell is not printable ASCII, a cell but the last is wide, the type has no cells, or
   * the line does not fit. Only a line written widens `widths` (its lead cells' columns too): one
   * left to the string path may have another layout, whose widths these are not.
   */
  write(bytes: Uint8Array, out: Uint8Array, at: number, widths: number[], first: number): number {
    const end = this.cells.kinds.length === 0 ? -1 : this.line(bytes, out, at, widths, first);
    const widened = this.widened;
    if (end >= 0) for (let i = 0; i < widened.length; i += 2) widths[widened[i]!] = widened[i + 1]!;
    widened.length = 0;
    return end;
  }

  private line(bytes: Uint8Array, out: Uint8Array, at: number, widths: number[], first: number): number {
    const last = this.cells.kinds.length - 1;
    for (let i = 0; i < last; i++) {
      const start = at;
      at = this.cell(i, bytes, out, at);
      if (at < 0 || at - start > this.wideCell) return -1;
      at = this.pad(out, start, at, widths, first + i);
      if (at < 0) return -1;
    }
    // A cell is never empty nor ends in a space (cellText quotes such strings): the line needs no trimming.
    const start = at;
    at = this.cell(last, bytes, out, at);
    if (at < 0 || at >= out.length) return -1;
    const column = first + last;
    if (at - start > widths[column]!) this.widened.push(column, at - start);
    out[at] = NEWLINE;
    return at + 1;
  }

  /** Pads the cell from `start` to `end` to its column's width, noting it to be widened to fit it, and adds the two spaces between columns. */
  private pad(out: Uint8Array, start: number, end: number, widths: number[], column: number): number {
    const length = end - start;
    let width = widths[column]!;
    if (length > width) this.widened.push(column, (width = length));
    const to = start + width + 2;
    if (to > out.length) return -1;
    for (let i = end; i < to; i++) out[i] = SPACE;
    return to;
  }
}
