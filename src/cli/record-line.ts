// RecordLineWriter: a typed record's table line written as ASCII straight into the output's buffer, with no string per cell.
// It makes exactly the line the string path (texts, cellText, alignedRow) makes, or says it cannot and leaves the record to it.
import { wordAt } from '../btf/decode.js';
import { writeAscii, writeInt64, writeInteger, writeSeconds } from '../values/ascii.js';
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

/** How a cell is written, from its ColumnSource: the line's loop switches on it, with no call per cell. */
const enum Cell {
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

/** Texts of a ruled integer's values remembered per column: an errno column has a handful. */
const RULED_TEXTS = 256;

/** A whole integer of 1, 2 or 4 bytes at `offset`. */
function smallInteger(bytes: Uint8Array, offset: number, size: number, signed: boolean, littleEndian: boolean): number {
  if (size === 4) return signed ? wordAt(bytes, offset, littleEndian) | 0 : wordAt(bytes, offset, littleEndian) >>> 0;
  if (size === 1) return signed ? (bytes[offset]! << 24) >> 24 : bytes[offset]!;
  const value = littleEndian ? bytes[offset]! | (bytes[offset + 1]! << 8) : (bytes[offset]! << 8) | bytes[offset + 1]!;
  return signed ? (value << 16) >> 16 : value;
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

export class RecordLineWriter {
  private readonly kinds: Uint8Array;
  /** Each cell's offset in the record; an 8-byte integer's is that of its high word. */
  private readonly offsets: Int32Array;
  /** A char array's length; the offset of an 8-byte integer's low word; a smaller integer's size. */
  private readonly extents: Int32Array;
  private readonly signed: Uint8Array;
  /** Per ruled column, the cell text of each value seen (up to RULED_TEXTS). */
  private readonly ruledTexts: Array<Map<number, string>>;

  /** `wideCell`: a cell longer than this, but the last, goes to the end of its line: those lines are not for this writer. */
  constructor(
    private readonly formatter: RecordColumnFormatter,
    private readonly littleEndian: boolean,
    private readonly wideCell: number,
  ) {
    const { sources } = formatter;
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

  /** Cell `i` of one record at `at`: its end, or -1 when it is not printable ASCII or does not fit. */
  private cell(i: number, bytes: Uint8Array, out: Uint8Array, at: number): number {
    const le = this.littleEndian;
    switch (this.kinds[i]) {
      case Cell.Uint32:
        return writeInteger(out, at, wordAt(bytes, this.offsets[i]!, le) >>> 0);
      case Cell.Int32:
        return writeInteger(out, at, wordAt(bytes, this.offsets[i]!, le) | 0);
      case Cell.Uint64:
        return writeInt64(out, at, wordAt(bytes, this.offsets[i]!, le), wordAt(bytes, this.extents[i]!, le), false);
      case Cell.Int64:
        return writeInt64(out, at, wordAt(bytes, this.offsets[i]!, le), wordAt(bytes, this.extents[i]!, le), true);
      case Cell.Chars: {
        // A string the cell quotes or escapes is made as text.
        const end = writeWord(out, at, bytes, this.offsets[i]!, this.extents[i]!);
        if (end >= 0) return end;
        break;
      }
      case Cell.SmallInteger:
        return writeInteger(out, at, smallInteger(bytes, this.offsets[i]!, this.extents[i]!, this.signed[i] === 1, le));
      case Cell.Ruled: {
        const value = smallInteger(bytes, this.offsets[i]!, this.extents[i]!, this.signed[i] === 1, le);
        const texts = this.ruledTexts[i]!;
        let text = texts.get(value);
        if (text === undefined) {
          text = cellText(this.formatter.value(i, bytes));
          if (texts.size < RULED_TEXTS) texts.set(value, text);
        }
        return writeAscii(out, at, text);
      }
      case Cell.Seconds: {
        const high = wordAt(bytes, this.offsets[i]!, le) >>> 0;
        // Below 2^21 in the high word the nanoseconds are an exact number; else, and where writeSeconds declines, the rule's own text.
        const end = high < 0x200000 ? writeSeconds(out, at, high * 0x100000000 + (wordAt(bytes, this.extents[i]!, le) >>> 0)) : -1;
        if (end >= 0) return end;
        break;
      }
    }
    return writeAscii(out, at, cellText(this.formatter.value(i, bytes)));
  }

  /**
   * A cell of text before the record's own (the map, the CPU) at `at`, padded to column `column`
   * (widened to fit it) and two spaces: returns the end, or -1.
   */
  lead(text: string, out: Uint8Array, at: number, widths: number[], column: number): number {
    const start = at;
    at = writeAscii(out, at, text);
    return at < 0 ? -1 : this.pad(out, start, at, widths, column);
  }

  /**
   * One record's cells at `at`, each padded to its column's width (widened to fit it) and two
   * spaces apart, from column `first` of `widths`, the last unpadded, then a newline: the end, or
   * -1 when a cell is not printable ASCII, a cell but the last is wide, the type has no cells, or
   * the line does not fit.
   */
  write(bytes: Uint8Array, out: Uint8Array, at: number, widths: number[], first: number): number {
    const last = this.kinds.length - 1;
    if (last < 0) return -1;
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
    if (at - start > widths[column]!) widths[column] = at - start;
    out[at] = NEWLINE;
    return at + 1;
  }

  /** Pads the cell from `start` to `end` to its column's width, widened to fit it, and adds the two spaces between columns. */
  private pad(out: Uint8Array, start: number, end: number, widths: number[], column: number): number {
    const length = end - start;
    if (length > widths[column]!) widths[column] = length;
    const to = start + widths[column]! + 2;
    if (to > out.length) return -1;
    for (let i = end; i < to; i++) out[i] = SPACE;
    return to;
  }
}
