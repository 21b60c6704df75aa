// Map entries typed by BTF, and log2 histograms recognised in maps: what the CLI shows and the metrics export read alike.
import { BTF_KIND, type Btf } from '../btf/btf.js';
import { BtfDecoder, type Decoded } from '../btf/decode.js';
import { MAP_TYPE, isPerCpuMapType, perCpuSlotSize } from '../object/map-types.js';
import { formatRecord } from './formats.js';

/** What is known of a map to read it: its definition, and its key and value types when there is BTF. */
export interface MapDescription {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  btf?: Btf;
  keyTypeId?: number;
  valueTypeId?: number;
  /** Its keys are system call numbers (syscallKeyed: a syscount-shaped map), shown by name. */
  syscallKeys?: boolean;
}

/**
 * How a map holds a log2 histogram, if it does: bcc's BPF_HISTOGRAM (the key is the slot, the
 * value its count: slot 0 counts 0, slot i counts 2^(i-1) .. 2^i-1) or libbpf-tools' struct hist
 * (the value has one member, an array slots[] where slot i counts 2^i .. 2^(i+1)-1, 0 and 1 in slot 0).
 */
export type HistogramShape = { kind: 'slot-keys' } | { kind: 'slots-member' };

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

const SLOT_KEYS = 65;

function isIntegerSize(size: number): boolean {
  return size === 1 || size === 2 || size === 4 || size === 8;
}

/** The histogram shape of a map: `forced` (--hist) takes any map of the slot-key shape, else bcc's names (hist, dist) say. */
export function histogramShape(map: MapDescription, forced = false): HistogramShape | undefined {
  const { btf, valueTypeId } = map;
  if (btf && valueTypeId) {
    const value = btf.resolveType(valueTypeId);
    if ((value?.kind === BTF_KIND.STRUCT || value?.kind === BTF_KIND.UNION) && value.members.length === 1 && value.members[0]!.name === 'slots') {
      const slots = btf.resolveType(value.members[0]!.type);
      if (slots?.kind === BTF_KIND.ARRAY && btf.resolveType(slots.type)?.kind === BTF_KIND.INT) return { kind: 'slots-member' };
    }
  }
  // bcc names its histograms dist or hist (BPF_HISTOGRAM(dist)); the shape must fit too.
  const named = /hist|dist/i.test(map.name);
  const fits = isIntegerSize(map.keySize) && (map.valueSize === 4 || map.valueSize === 8);
  if ((forced || named) && fits && map.type !== MAP_TYPE.PERF_EVENT_ARRAY && map.type !== MAP_TYPE.RINGBUF) return { kind: 'slot-keys' };
  return undefined;
}

/** Decodes a map's keys and values by its BTF: keys and non-per-CPU values with each field's meaning shown (formatRecord). */
export class MapEntryDecoder {
  private readonly decoder: BtfDecoder | undefined;

  constructor(readonly map: MapDescription) {
    this.decoder = map.btf && (map.keyTypeId || map.valueTypeId) ? new BtfDecoder(map.btf) : undefined;
  }

  /** Whether the map has BTF types to decode by. */
  get typed(): boolean {
    return this.decoder !== undefined;
  }

  /** A key typed by BTF; undefined when the map's key has no BTF type. */
  key(key: Uint8Array): Decoded | undefined {
    if (!this.decoder || !this.map.keyTypeId) return undefined;
    return formatRecord(this.map.btf!, this.map.keyTypeId, this.decoder.decode(this.map.keyTypeId, key));
  }

  /** A value typed by BTF as people read it; undefined for per-CPU maps (see cpuValues) and untyped values. */
  value(value: Uint8Array): Decoded | undefined {
    if (!this.decoder || !this.map.valueTypeId || isPerCpuMapType(this.map.type)) return undefined;
    return formatRecord(this.map.btf!, this.map.valueTypeId, this.decoder.decode(this.map.valueTypeId, value));
  }

  /** The value as decoded, one per CPU for per-CPU maps (8-byte-aligned slots), else one; undefined when untyped. */
  cpuValues(value: Uint8Array): Decoded[] | undefined {
    if (!this.decoder || !this.map.valueTypeId) return undefined;
    const { valueSize, valueTypeId } = this.map;
    if (!isPerCpuMapType(this.map.type)) return [this.decoder.decode(valueTypeId, value)];
    const slot = perCpuSlotSize(valueSize);
    const perCpu: Decoded[] = [];
    for (let at = 0; at + valueSize <= value.length; at += slot) perCpu.push(this.decoder.decode(valueTypeId, value.subarray(at, at + valueSize)));
    return perCpu;
  }
}

/** The sum of integer values (per-CPU values of a counter); undefined when any is no integer. */
export function integerTotal(values: readonly Decoded[]): bigint | undefined {
  if (!values.every((v) => typeof v === 'number' || typeof v === 'bigint')) return undefined;
  return values.reduce<bigint>((sum, v) => sum + BigInt(v as number | bigint), 0n);
}

/** A bcc-style histogram (slot-keys) from its entries: the key's text is the slot, the count its value. */
export function slotKeyHistogram(entries: Iterable<{ key: string; count: bigint }>): Histogram {
  const counts = new Map<number, bigint>();
  const other: Histogram['other'] = [];
  for (const e of entries) {
    const slot = Number(e.key);
    if (Number.isInteger(slot) && slot >= 0 && slot < SLOT_KEYS) counts.set(slot, (counts.get(slot) ?? 0n) + e.count);
    else if (e.count !== 0n) other.push(e);
  }
  const bucket = (slot: number): [bigint, bigint] => (slot === 0 ? [0n, 0n] : [1n << BigInt(slot - 1), (1n << BigInt(slot)) - 1n]);
  return { buckets: buckets(counts, bucket), other };
}

/** A libbpf-tools histogram (slots-member) from one entry's value, decoded per CPU (summed) or once; undefined when it has no slots. */
export function slotsHistogram(values: readonly Decoded[], label?: string): Histogram | undefined {
  let sums: bigint[] | undefined;
  for (const value of values) {
    const slots = (value as { slots?: Decoded[] } | null)?.slots;
    if (!Array.isArray(slots)) continue;
    sums ??= [];
    slots.forEach((c, i) => (sums![i] = (sums![i] ?? 0n) + BigInt((c as number | bigint | null) ?? 0)));
  }
  if (!sums) return undefined;
  const bucket = (slot: number): [bigint, bigint] => (slot === 0 ? [0n, 1n] : [1n << BigInt(slot), (1n << BigInt(slot + 1)) - 1n]);
  return { ...(label === undefined ? {} : { label }), buckets: buckets(new Map(sums.map((c, i) => [i, c])), bucket), other: [] };
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
