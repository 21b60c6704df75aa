// Formatting for people and scripts: aligned tables, untyped map entries as numbers or hex, typed values as cells and columns.
import { endianness } from 'node:os';
import type { Decoded } from '../btf/decode.js';
import { isPerCpuMapType, perCpuSlotSize } from '../object/map-types.js';

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => alignedRow(row, widths));
}

/** A line of cells, each padded to its column's width but the last, two spaces apart; trailing spaces trimmed. */
export function alignedRow(cells: readonly string[], widths: readonly number[]): string {
  if (cells.length === 0) return '';
  let line = '';
  for (let i = 0; i < cells.length - 1; i++) line += `${cells[i]!.padEnd(widths[i]!)}  `;
  return (line + cells[cells.length - 1]!).trimEnd();
}

export const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/** Printable ASCII followed only by NULs, as bpf_get_current_comm() and friends leave it. */
function asCString(b: Buffer): string | undefined {
  const end = b.indexOf(0);
  const text = end < 0 ? b : b.subarray(0, end);
  if (text.length === 0 || end < 0 || !b.subarray(end).every((byte) => byte === 0)) return undefined;
  return text.every((byte) => byte >= 0x20 && byte < 0x7f) ? JSON.stringify(text.toString('latin1')) : undefined;
}

/**
 * Integers of 1, 2, 4 or 8 bytes as unsigned decimal (in host byte order, as the kernel hands map
 * keys and values to user space), NUL-padded text as a quoted string, anything else as hex.
 */
export function formatBytes(bytes: Uint8Array, littleEndian: boolean = HOST_LITTLE_ENDIAN): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (b.length) {
    case 1:
      return String(b.readUInt8(0));
    case 2:
      return String(littleEndian ? b.readUInt16LE(0) : b.readUInt16BE(0));
    case 4:
      return String(littleEndian ? b.readUInt32LE(0) : b.readUInt32BE(0));
    case 8:
      return (littleEndian ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0)).toString();
    default:
      return asCString(b) ?? `0x${b.toString('hex')}`;
  }
}

export interface MapEntryView {
  key: string;
  /** For per-CPU maps: the sum over CPUs for integer values, else each CPU's value joined by ' '. */
  value: string;
  /** Per-CPU maps only: each CPU's value. */
  perCpu?: string[];
}

/** Decodes one entry; per-CPU values come as one 8-byte-aligned slot per CPU. */
export function mapEntryView(mapType: number, valueSize: number, key: Uint8Array, value: Uint8Array): MapEntryView {
  if (!isPerCpuMapType(mapType)) return { key: formatBytes(key), value: formatBytes(value) };
  const slot = perCpuSlotSize(valueSize);
  const perCpu: string[] = [];
  for (let at = 0; at < value.length && at + valueSize <= value.length; at += slot) perCpu.push(formatBytes(value.subarray(at, at + valueSize)));
  const integer = valueSize === 1 || valueSize === 2 || valueSize === 4 || valueSize === 8;
  const total = integer ? perCpu.reduce((sum, v) => sum + BigInt(v), 0n).toString() : perCpu.join(' ');
  return { key: formatBytes(key), value: total, perCpu };
}

/** Sorts entries by key: numerically when keys are numbers, else as text. */
export function sortEntries(entries: MapEntryView[]): MapEntryView[] {
  if (!entries.every((e) => /^\d+$/.test(e.key))) return [...entries].sort((a, b) => a.key.localeCompare(b.key));
  return [...entries].sort((a, b) => {
    const [x, y] = [BigInt(a.key), BigInt(b.key)];
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** A decoded value as one table cell: text as it is (quoted when empty or with spaces), objects and arrays compact. */
export function cellText(value: Decoded): string {
  if (value === null) return '-';
  if (typeof value === 'string') return value === '' || /\s|^"/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, 16).map(inlineText);
    return `[${shown.join(',')}${value.length > 16 ? `,...${value.length - 16} more` : ''}]`;
  }
  return inlineText(value);
}

function inlineText(value: Decoded): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return `{${Object.entries(value).map(([k, v]) => `${k}:${inlineText(v)}`).join(',')}}`;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  return cellText(value);
}

/**
 * A decoded value as table columns: a struct's members by name (nested structs as "outer.inner"),
 * anything else one column named `name`.
 */
export function columns(value: Decoded, name: string): Array<[string, Decoded]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [[name, value]];
  const result: Array<[string, Decoded]> = [];
  const walk = (v: Decoded, prefix: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, inner] of Object.entries(v)) walk(inner, prefix === '' ? k : `${prefix}.${k}`);
    } else {
      result.push([prefix, v]);
    }
  };
  walk(value, '');
  return result;
}
