// Maps for people and scripts: entries typed by BTF (or by the untyped rules), tables, and log2 histograms as bcc draws them.
import type { Decoded } from '../btf/decode.js';
import { isPerCpuMapType } from '../object/map-types.js';
import { syscallKey } from '../values/formats.js';
import { histogramShape, integerTotal, MapEntryDecoder, slotKeyHistogram, slotsHistogram, type Histogram, type HistogramBucket, type HistogramShape, type MapDescription } from '../values/map-entries.js';
import { cellText, columns, formatBytes, HOST_LITTLE_ENDIAN, mapEntryView, table, type MapEntryView } from './format.js';

/** One entry: the untyped strings (stable JSON fields), and the typed values when BTF says. */
export interface EntryView extends MapEntryView {
  formatted?: { key: Decoded; value: Decoded; perCpu?: Decoded[] };
}

export class MapPresenter {
  private readonly decoder: MapEntryDecoder;
  readonly histogramShape: HistogramShape | undefined;

  constructor(
    readonly map: MapDescription,
    options: { histogram?: boolean; raw?: boolean } = {},
  ) {
    this.decoder = new MapEntryDecoder(map);
    this.histogramShape = options.raw ? undefined : histogramShape(map, options.histogram ?? false);
  }

  /** Whether entries come with `formatted`: typed by BTF, or keyed by system call. */
  get typed(): boolean {
    return this.decoder.typed || this.map.syscallKeys === true;
  }

  /** A key typed by BTF, as entry() shows it; undefined when the map's key has no BTF type. */
  typedKey(key: Uint8Array): Decoded | undefined {
    return this.decoder.key(key);
  }

  /** One entry, per-CPU values split and summed; typed by BTF when the map's types are known, a system call's number by its name. */
  entry(key: Uint8Array, value: Uint8Array): EntryView {
    const view: EntryView = mapEntryView(this.map.type, this.map.valueSize, key, value);
    if (!this.typed) return view;
    // Struct keys and values show each field for what it means (addresses, errnos, times), as records do.
    const keyDecoded = this.map.syscallKeys ? syscallKey(this.decoder.key(key) ?? BigInt(view.key)) : (this.decoder.key(key) ?? view.key);
    const perCpu = isPerCpuMapType(this.map.type) ? this.decoder.cpuValues(value) : undefined;
    if (perCpu) return { ...view, formatted: { key: keyDecoded, value: integerTotal(perCpu) ?? null, perCpu } };
    return { ...view, formatted: { key: keyDecoded, value: this.decoder.value(value) ?? view.value } };
  }

  /** The table of entries for people: typed members as columns when there is BTF. */
  tableLines(entries: readonly EntryView[], indent = '  '): string[] {
    if (entries.length === 0) return [];
    const rows = entries.map((e) => {
      if (!e.formatted) return [[['key', e.key] as [string, Decoded], ['value', e.value] as [string, Decoded]]];
      const value = e.formatted.perCpu && e.formatted.value === null ? (e.formatted.perCpu as Decoded) : e.formatted.value;
      return [columns(e.formatted.key, 'key'), columns(value, 'value')];
    });
    const header = [...rows[0]![0]!.map(([n]) => n), ...(rows[0]![1] ?? []).map(([n]) => n)];
    const lines = table([header, ...rows.map(([k, v]) => [...k!.map(([, x]) => cellText(x)), ...(v ?? []).map(([, x]) => cellText(x))])]);
    return lines.map((l) => `${indent}${l}`);
  }

  /** The map's histogram(s), when it holds any. */
  histograms(entries: readonly EntryView[]): Histogram[] | undefined {
    const shape = this.histogramShape;
    if (!shape) return undefined;
    if (shape.kind === 'slot-keys') return [slotKeyHistogram(entries.map((e) => ({ key: e.key, count: BigInt(e.value) })))];
    const result: Histogram[] = [];
    for (const e of entries) {
      if (!e.formatted) continue;
      const histogram = slotsHistogram(e.formatted.perCpu ?? [e.formatted.value], `key ${cellText(e.formatted.key)}`);
      if (histogram) result.push(histogram);
    }
    return result;
  }
}

/** A histogram drawn as bcc's print_log2_hist does: "low -> high : count |****|". */
export function histogramLines(histogram: Histogram, indent = ''): string[] {
  const wide = histogram.buckets.length > 33;
  const width = wide ? 20 : 10;
  const stars = wide ? 20 : 40;
  const max = histogram.buckets.reduce((m, b) => (b.count > m ? b.count : m), 0n);
  const lines: string[] = [];
  if (histogram.label) lines.push(`${indent}${histogram.label}`);
  lines.push(`${indent}${' '.repeat(wide ? 15 : 5)}${'value'.padEnd(wide ? 29 : 19)} : count    distribution`);
  for (const b of histogram.buckets) {
    const filled = max === 0n ? 0 : Number((b.count * BigInt(stars)) / max);
    const bar = `${'*'.repeat(filled)}${' '.repeat(stars - filled)}`;
    lines.push(`${indent}${String(b.low).padStart(width)} -> ${String(b.high).padEnd(width)} : ${String(b.count).padEnd(8)} |${bar}|`);
  }
  for (const o of histogram.other) lines.push(`${indent}${`key ${o.key}`.padStart(width * 2 + 4)} : ${o.count}`);
  return lines;
}

/** A histogram for --json: numbers as exact integers. */
export function histogramJson(histogram: Histogram): { label?: string; buckets: HistogramBucket[]; other: Histogram['other'] } {
  return { ...(histogram.label ? { label: histogram.label } : {}), buckets: histogram.buckets, other: histogram.other };
}

/** Untyped record bytes by the legacy rules: 1, 2, 4 and 8 bytes as numbers, text as a string, else hex. */
export function untypedRecord(data: Uint8Array): string {
  return formatBytes(data);
}

/** Records longer than this are summarised: a line, not thousands of hex digits. */
const SUMMARY_FROM = 16;

/**
 * An untyped record in one line: short ones as untypedRecord shows them; longer ones as their
 * length, the leading 4-byte integers (up to the first text), and the printable strings in them
 * (4 characters or more, ended by a NUL as C's char arrays are: an integer's bytes that happen to
 * be printable are not text), trailing zeros left out. --raw shows every byte instead.
 */
export function untypedSummary(data: Uint8Array): string {
  if (data.length <= SUMMARY_FROM) return untypedRecord(data);
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  const strings: Array<{ at: number; text: string }> = [];
  for (let i = 0; i < end; ) {
    let j = i;
    while (j < end && data[j]! >= 0x20 && data[j]! < 0x7f) j++;
    if (j - i >= 4 && (j === data.length || data[j] === 0)) strings.push({ at: i, text: Buffer.from(data.subarray(i, j)).toString('latin1') });
    i = j === i ? i + 1 : j;
  }
  const firstText = strings[0]?.at ?? end;
  const integers: string[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let at = 0; at + 4 <= Math.min(firstText, end) && integers.length < 8; at += 4) integers.push(String(view.getUint32(at, HOST_LITTLE_ENDIAN)));
  const parts = [`${data.length} bytes`];
  if (integers.length > 0) parts.push(`u32 ${integers.join(' ')}`);
  if (strings.length > 0) parts.push(strings.slice(0, 6).map((s) => JSON.stringify(s.text.length > 80 ? `${s.text.slice(0, 80)}...` : s.text)).join(' '));
  if (end < data.length) parts.push(`${data.length - end} zero bytes at the end`);
  return parts.join(', ');
}
