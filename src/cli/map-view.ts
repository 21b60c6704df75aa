// Maps for people and scripts: entries typed by BTF (or by the untyped rules), tables, and log2 histograms as bcc draws them.
import { BTF_KIND, type Btf } from '../btf/btf.js';
import { BtfDecoder, type Decoded } from '../btf/decode.js';
import { MAP_TYPE, isPerCpuMapType } from '../object/map-types.js';
import { formatRecord } from '../values/formats.js';
import { cellText, columns, formatBytes, HOST_LITTLE_ENDIAN, mapEntryView, table, type MapEntryView } from './format.js';

/** What is known of a map to show it: its definition, and its key and value types when there is BTF. */
export interface MapDescription {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  btf?: Btf;
  keyTypeId?: number;
  valueTypeId?: number;
}

/** One entry: the untyped strings (stable JSON fields), and the typed values when BTF says. */
export interface EntryView extends MapEntryView {
  formatted?: { key: Decoded; value: Decoded; perCpu?: Decoded[] };
}

export interface HistogramBucket {
  low: bigint;
  high: bigint;
  count: bigint;
}

/** A log2 histogram: buckets in order, and keys that are no bucket (an error slot). */
export interface Histogram {
  /** Whose histogram, when a map holds one per key ("key 3"); undefined for a map that is one. */
  label?: string;
  buckets: HistogramBucket[];
  other: Array<{ key: string; count: bigint }>;
}

/**
 * How a map holds a log2 histogram, if it does: bcc's BPF_HISTOGRAM (the key is the slot, the
 * value its count: slot 0 counts 0, slot i counts 2^(i-1) .. 2^i-1) or libbpf-tools' struct hist
 * (the value has one member, an array slots[] where slot i counts 2^i .. 2^(i+1)-1, 0 and 1 in slot 0).
 */
export type HistogramShape = { kind: 'slot-keys' } | { kind: 'slots-member' };

const SLOT_KEYS = 65;

function isInteger(size: number): boolean {
  return size === 1 || size === 2 || size === 4 || size === 8;
}

export class MapPresenter {
  private readonly decoder: BtfDecoder | undefined;
  readonly histogramShape: HistogramShape | undefined;

  constructor(
    readonly map: MapDescription,
    options: { histogram?: boolean; raw?: boolean } = {},
  ) {
    this.decoder = map.btf && (map.keyTypeId || map.valueTypeId) ? new BtfDecoder(map.btf) : undefined;
    this.histogramShape = options.raw ? undefined : this.findHistogramShape(options.histogram ?? false);
  }

  get typed(): boolean {
    return this.decoder !== undefined;
  }

  private findHistogramShape(forced: boolean): HistogramShape | undefined {
    const { btf, valueTypeId } = this.map;
    if (btf && valueTypeId) {
      const value = btf.resolveType(valueTypeId);
      if ((value?.kind === BTF_KIND.STRUCT || value?.kind === BTF_KIND.UNION) && value.members.length === 1 && value.members[0]!.name === 'slots') {
        const slots = btf.resolveType(value.members[0]!.type);
        if (slots?.kind === BTF_KIND.ARRAY && btf.resolveType(slots.type)?.kind === BTF_KIND.INT) return { kind: 'slots-member' };
      }
    }
    // bcc names its histograms dist or hist (BPF_HISTOGRAM(dist)); the shape must fit too.
    const named = /hist|dist/i.test(this.map.name);
    const fits = isInteger(this.map.keySize) && this.map.keySize <= 8 && (this.map.valueSize === 4 || this.map.valueSize === 8);
    if ((forced || named) && fits && this.map.type !== MAP_TYPE.PERF_EVENT_ARRAY && this.map.type !== MAP_TYPE.RINGBUF) return { kind: 'slot-keys' };
    return undefined;
  }

  /** A key typed by BTF, as entry() shows it; undefined when the map's key has no BTF type. */
  typedKey(key: Uint8Array): Decoded | undefined {
    if (!this.decoder || !this.map.keyTypeId) return undefined;
    return formatRecord(this.map.btf!, this.map.keyTypeId, this.decoder.decode(this.map.keyTypeId, key));
  }

  /** One entry, per-CPU values split and summed; typed by BTF when the map's types are known. */
  entry(key: Uint8Array, value: Uint8Array): EntryView {
    const view: EntryView = mapEntryView(this.map.type, this.map.valueSize, key, value);
    if (!this.decoder) return view;
    // Struct keys and values show each field for what it means (addresses, errnos, times), as records do.
    const shown = (typeId: number, decoded: Decoded): Decoded => formatRecord(this.map.btf!, typeId, decoded);
    const keyDecoded = this.typedKey(key) ?? view.key;
    if (!this.map.valueTypeId) return { ...view, formatted: { key: keyDecoded, value: view.value } };
    if (!isPerCpuMapType(this.map.type)) return { ...view, formatted: { key: keyDecoded, value: shown(this.map.valueTypeId, this.decoder.decode(this.map.valueTypeId, value)) } };
    const slot = Math.max(1, Math.ceil(this.map.valueSize / 8)) * 8;
    const perCpu: Decoded[] = [];
    for (let at = 0; at + this.map.valueSize <= value.length; at += slot) perCpu.push(this.decoder.decode(this.map.valueTypeId, value.subarray(at, at + this.map.valueSize)));
    const total = perCpu.every((v) => typeof v === 'number' || typeof v === 'bigint') ? perCpu.reduce<bigint>((sum, v) => sum + BigInt(v as number | bigint), 0n) : null;
    return { ...view, formatted: { key: keyDecoded, value: total, perCpu } };
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
    if (shape.kind === 'slot-keys') {
      const counts = new Map<number, bigint>();
      const other: Histogram['other'] = [];
      for (const e of entries) {
        const slot = Number(e.key);
        const count = BigInt(e.value);
        if (Number.isInteger(slot) && slot >= 0 && slot < SLOT_KEYS) counts.set(slot, (counts.get(slot) ?? 0n) + count);
        else if (count !== 0n) other.push({ key: e.key, count });
      }
      const bucket = (slot: number): [bigint, bigint] => (slot === 0 ? [0n, 0n] : [1n << BigInt(slot - 1), (1n << BigInt(slot)) - 1n]);
      return [{ buckets: buckets(counts, bucket), other }];
    }
    const result: Histogram[] = [];
    for (const e of entries) {
      const value = e.formatted?.perCpu ? sumSlots(e.formatted.perCpu) : (e.formatted?.value as { slots?: Decoded[] } | null)?.slots;
      if (!Array.isArray(value)) continue;
      const counts = new Map<number, bigint>(value.map((c, i) => [i, BigInt((c as number | bigint | null) ?? 0)]));
      const bucket = (slot: number): [bigint, bigint] => (slot === 0 ? [0n, 1n] : [1n << BigInt(slot), (1n << BigInt(slot + 1)) - 1n]);
      result.push({ label: `key ${cellText(e.formatted!.key)}`, buckets: buckets(counts, bucket), other: [] });
    }
    return result;
  }
}

function sumSlots(perCpu: Decoded[]): Decoded[] {
  const sums: bigint[] = [];
  for (const cpu of perCpu) {
    const slots = (cpu as { slots?: Decoded[] } | null)?.slots ?? [];
    slots.forEach((c, i) => (sums[i] = (sums[i] ?? 0n) + BigInt((c as number | bigint | null) ?? 0)));
  }
  return sums;
}

/** Buckets from slot 0 to the last slot with a count, as bcc prints them. */
function buckets(counts: ReadonlyMap<number, bigint>, range: (slot: number) => [bigint, bigint]): HistogramBucket[] {
  let last = -1;
  for (const [slot, count] of counts) if (count !== 0n && slot > last) last = slot;
  const result: HistogramBucket[] = [];
  for (let slot = 0; slot <= last; slot++) {
    const [low, high] = range(slot);
    result.push({ low, high, count: counts.get(slot) ?? 0n });
  }
  return result;
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
 * length, the leading 4-byte integers (up to the first text), and the printable strings in them,
 * trailing zeros left out. --raw shows every byte instead.
 */
export function untypedSummary(data: Uint8Array): string {
  if (data.length <= SUMMARY_FROM) return untypedRecord(data);
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  const strings: Array<{ at: number; text: string }> = [];
  for (let i = 0; i < end; ) {
    let j = i;
    while (j < end && data[j]! >= 0x20 && data[j]! < 0x7f) j++;
    if (j - i >= 4) strings.push({ at: i, text: Buffer.from(data.subarray(i, j)).toString('latin1') });
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
