// RecordJsonWriter: a typed record's --json line written as bytes straight into the output's buffer, with no object or string per field.
// It makes exactly what decodedJson makes of {event, map, cpu, data, formatted}, or says it cannot and leaves the record to it.
import { decodedJson } from '../btf/decode.js';
import { writeAscii, writeInteger } from '../values/ascii.js';
import type { RecordColumnFormatter } from '../values/formats.js';
import { Cell, RecordCells } from './record-line.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * The C string at `offset` (up to its NUL or `length` bytes) as a JSON string, when it needs no
 * escape: every byte printable ASCII, no quote or backslash. Else -1.
 */
function writePlainString(out: Uint8Array, at: number, bytes: Uint8Array, offset: number, length: number): number {
  if (at + length + 2 > out.length) return -1;
  out[at++] = QUOTE;
  const end = offset + length;
  for (let i = offset; i < end; i++) {
    const c = bytes[i]!;
    if (c === 0) break;
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return -1;
    out[at++] = c;
  }
  out[at++] = QUOTE;
  return at;
}

/** Short bytes (a key, a brace) copied at `at`: a loop beats Buffer.copy's call at this size. Returns the end. */
function put(source: Uint8Array, out: Uint8Array, at: number): number {
  for (let i = 0; i < source.length; i++) out[at + i] = source[i]!;
  return at + source.length;
}

/** Any text as its UTF-8 bytes (printable ASCII, nearly all, without Buffer.write's call): the end, or -1 when it may not fit. */
function writeText(out: Buffer, at: number, text: string): number {
  const end = writeAscii(out, at, text);
  if (end >= 0) return end;
  if (at + 3 * text.length > out.length) return -1;
  return at + out.write(text, at, 'utf8');
}

export class RecordJsonWriter {
  /** Each field's key with its colon, and a comma before all but the first: `"pid":`, `,"comm":`. */
  private readonly keys: Buffer[];
  private static readonly CPU = Buffer.from('"cpu":');
  private static readonly DATA = Buffer.from('"data":{');
  private static readonly FORMATTED = Buffer.from('},"formatted":{');
  private static readonly END = Buffer.from('}}\n');

  /** Where each field's decoded value was written in the line being made: the formatted ones that no rule changes copy it. */
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;

  private constructor(private readonly cells: RecordCells) {
    this.keys = cells.formatter.names.map((name, i) => Buffer.from(`${i === 0 ? '' : ','}${decodedJson(name)}:`));
    this.starts = new Int32Array(this.keys.length);
    this.ends = new Int32Array(this.keys.length);
  }

  /**
   * The writer of a record type's JSON; undefined where its JSON nests (a named struct member
   * is an object of its own, while the formatter's columns are flat).
   */
  static of(formatter: RecordColumnFormatter): RecordJsonWriter | undefined {
    if (formatter.names.some((name) => name.includes('.'))) return undefined;
    return new RecordJsonWriter(new RecordCells(formatter));
  }

  /**
   * One record's JSON line at `at`: `head` (the line up to its CPU: event, map), the CPU, the
   * record's fields as decoded and as the value rules show them, then a newline. The end, or -1
   * when it does not fit.
   */
  write(bytes: Uint8Array, out: Buffer, at: number, head: Buffer, cpu: number | undefined): number {
    if (at + head.length + RecordJsonWriter.CPU.length + RecordJsonWriter.DATA.length > out.length) return -1;
    at = put(head, out, at);
    if (cpu !== undefined) {
      at = put(RecordJsonWriter.CPU, out, at);
      at = writeInteger(out, at, cpu);
      if (at < 0 || at >= out.length) return -1;
      out[at++] = COMMA;
    }
    if (at + RecordJsonWriter.DATA.length > out.length) return -1;
    at = put(RecordJsonWriter.DATA, out, at);
    const { keys, starts, ends } = this;
    for (let i = 0; i < keys.length && at >= 0; i++) {
      at = this.key(i, out, at);
      starts[i] = at;
      if (at >= 0) at = this.decoded(i, bytes, out, at);
      ends[i] = at;
    }
    if (at < 0 || at + RecordJsonWriter.FORMATTED.length > out.length) return -1;
    at = put(RecordJsonWriter.FORMATTED, out, at);
    for (let i = 0; i < keys.length && at >= 0; i++) {
      at = this.key(i, out, at);
      if (at >= 0) at = this.formatted(i, bytes, out, at);
    }
    if (at < 0 || at + RecordJsonWriter.END.length > out.length) return -1;
    return put(RecordJsonWriter.END, out, at);
  }

  /** Field `i`'s key with its colon (and the comma before it): the end, or -1. */
  private key(i: number, out: Buffer, at: number): number {
    const key = this.keys[i]!;
    return at + key.length > out.length ? -1 : put(key, out, at);
  }

  /** Field `i`'s value as decoded: the end, or -1. */
  private decoded(i: number, bytes: Uint8Array, out: Buffer, at: number): number {
    const cells = this.cells;
    switch (cells.kinds[i]) {
      case Cell.Value:
        return writeText(out, at, decodedJson(cells.formatter.decoded(i, bytes)));
      case Cell.Chars: {
        const end = writePlainString(out, at, bytes, cells.offsets[i]!, cells.extents[i]!);
        return end >= 0 ? end : writeText(out, at, decodedJson(cells.formatter.decoded(i, bytes)));
      }
      default:
        // Integers; under a ruled or seconds field, the integer the rule reads.
        return cells.digits(i, bytes, out, at);
    }
  }

  /** Field `i`'s value as the value rules show it, where none applies a copy of its decoded value (written at starts[i] to ends[i]): the end, or -1. */
  private formatted(i: number, bytes: Uint8Array, out: Buffer, at: number): number {
    const cells = this.cells;
    switch (cells.kinds[i]) {
      case Cell.Value:
        break;
      case Cell.Ruled:
        return writeText(out, at, cells.ruledText(i, bytes, decodedJson));
      case Cell.Seconds: {
        // The time rule's text, a JSON string.
        if (at >= out.length) return -1;
        out[at] = QUOTE;
        const end = cells.seconds(i, bytes, out, at + 1);
        if (end >= 0 && end < out.length) {
          out[end] = QUOTE;
          return end + 1;
        }
        break;
      }
      default: {
        const start = this.starts[i]!;
        const length = this.ends[i]! - start;
        if (at + length > out.length) return -1;
        for (let k = 0; k < length; k++) out[at + k] = out[start + k]!;
        return at + length;
      }
    }
    return writeText(out, at, decodedJson(cells.formatter.value(i, bytes)));
  }
}
