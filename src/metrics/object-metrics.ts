// A loaded object's maps, globals and programs as Prometheus metric families, typed by its BTF and read fresh at each collect: no configuration needed.
import { readFileSync } from 'node:fs';
import { USDT_IP_MAP, USDT_SPECS_MAP } from '../abi.js';
import { BTF_INT_BOOL, BTF_INT_SIGNED, BTF_KIND, type Btf } from '../btf/btf.js';
import { BtfDecoder, decodedJson, type Decoded } from '../btf/decode.js';
import { UsageError } from '../errors.js';
import type { LoadedMap, LoadedObject } from '../loader.js';
import { globalVariables } from '../object/globals.js';
import { isPerCpuMapType, perCpuSlotSize, MAP_TYPE, mapTypeName } from '../object/map-types.js';
import { printable } from '../text.js';
import { fieldTypes, syscallKey } from '../values/formats.js';
import { histogramShape, integerTotal, MapEntryDecoder, slotKeyHistogram, slotsHistogram, type Histogram, type MapDescription } from '../values/map-entries.js';
import { checkMetricsConfig, configuredFamilies, mapIsShown, type MetricsConfig } from './config.js';
import { metricName, type MetricFamily, type MetricSample } from './exposition.js';

/** How an object's metrics are named and bounded. */
export interface ObjectMetricsOptions {
  /** The prefix of every metric name, e.g. the object's file name without .o. */
  object: string;
  /** Series kept per map (entries beyond are counted in <object>_series_dropped_total); 10000 when not given. */
  maxSeries?: number;
  /** Maps picked, renamed, relabelled (parseMetricsConfig reads it from a file); every map as it is when not given. */
  config?: MetricsConfig;
}

const DEFAULT_MAX_SERIES = 10_000;
/** Maps whose entries are counts by key; other types (program arrays, stack traces, ...) hold no numbers to export. */
const COUNTED_MAP_TYPES: ReadonlySet<number> = new Set([MAP_TYPE.HASH, MAP_TYPE.ARRAY, MAP_TYPE.PERCPU_HASH, MAP_TYPE.PERCPU_ARRAY, MAP_TYPE.LRU_HASH, MAP_TYPE.LRU_PERCPU_HASH]);
const ARRAY_MAP_TYPES: ReadonlySet<number> = new Set([MAP_TYPE.ARRAY, MAP_TYPE.PERCPU_ARRAY]);
const RECORD_MAP_TYPES: ReadonlySet<number> = new Set([MAP_TYPE.RINGBUF, MAP_TYPE.PERF_EVENT_ARRAY]);
/** usdt.bpf.h's own maps: how its probes read arguments, nothing the object measured. */
const USDT_MAPS: ReadonlySet<string> = new Set([USDT_SPECS_MAP, USDT_IP_MAP]);
const BPF_STATS_ENABLED = '/proc/sys/kernel/bpf_stats_enabled';

/** The metric families of one map, and how many of its entries were left out by the cap. */
interface MapFamilies {
  families: MetricFamily[];
  dropped: number;
}

/** A decoded key or field as a label value: text as it is, numbers in decimal, anything else as JSON. */
function labelText(value: Decoded): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return decodedJson(value);
  return String(value);
}

/**
 * A reader of a whole plain integer of 1, 2, 4 or 8 bytes (no char, bool or bitfield), giving what
 * the BTF decoder gives for it; typeId 0 with `size` reads an untyped unsigned index.
 */
function integerReader(btf: Btf, typeId: number, size?: number): ((buffer: Buffer, at: number) => number | bigint) | undefined {
  let signed = false;
  if (typeId !== 0) {
    const type = btf.resolveType(typeId);
    if (type?.kind !== BTF_KIND.INT || (type.encoding & ~BTF_INT_SIGNED) !== 0 || type.bitOffset !== 0 || type.bits !== type.size * 8) return undefined;
    signed = type.encoding === BTF_INT_SIGNED;
    size = type.size;
  }
  const little = btf.littleEndian;
  switch (size) {
    case 1:
      return signed ? (b, at) => b.readInt8(at) : (b, at) => b.readUInt8(at);
    case 2:
      return signed ? (b, at) => (little ? b.readInt16LE(at) : b.readInt16BE(at)) : (b, at) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
    case 4:
      return signed ? (b, at) => (little ? b.readInt32LE(at) : b.readInt32BE(at)) : (b, at) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
    case 8:
      return signed ? (b, at) => (little ? b.readBigInt64LE(at) : b.readBigInt64BE(at)) : (b, at) => (little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
    default:
      return undefined;
  }
}

/** A histogram's samples: cumulative buckets by upper bound, +Inf, the sum estimated from bucket midpoints, the count. */
function histogramSamples(histogram: Histogram, labels: Readonly<Record<string, string>>): MetricSample[] {
  const samples: MetricSample[] = [];
  let count = 0n;
  let sum = 0;
  for (const bucket of histogram.buckets) {
    count += bucket.count;
    sum += (Number(bucket.low + bucket.high) / 2) * Number(bucket.count);
    samples.push({ suffix: '_bucket', labels: { ...labels, le: String(bucket.high) }, value: count });
  }
  samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: count }, { suffix: '_sum', labels, value: sum }, { suffix: '_count', labels, value: count });
  return samples;
}

/** Whether a BTF type is a plain integer (no bool, enum or char array): what a counter or gauge holds. */
function isIntegerType(btf: Btf, typeId: number): boolean {
  const type = btf.resolveType(typeId);
  return type?.kind === BTF_KIND.INT && (type.encoding & BTF_INT_BOOL) === 0;
}

/**
 * A loaded object's metrics for Prometheus: its hash and array maps as counters (or histograms,
 * when they hold log2 histograms), its writable integer globals as gauges, the records its ring and
 * perf buffers delivered, and its programs' health; read from the kernel at each collect().
 */
export class ObjectMetrics {
  private readonly prefix: string;
  private readonly maxSeries: number;
  private readonly config: MetricsConfig;
  /** Records delivered and lost per ring buffer and perf event array, as readers count them. */
  private readonly records = new Map<string, { records: bigint; lost: bigint }>();
  /** Per map, whether its keys are system calls: worked out at the first scrape, which comes once the programs are attached. */
  private readonly syscallKeys = new Map<string, boolean>();

  constructor(
    private readonly loaded: LoadedObject,
    options: ObjectMetricsOptions,
  ) {
    this.prefix = metricName(options.object);
    this.maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
    this.config = options.config ?? {};
    checkMetricsConfig(this.config, [...loaded.maps.keys()]);
    for (const m of loaded.maps.values()) if (RECORD_MAP_TYPES.has(m.map.definition.type)) this.records.set(m.name, { records: 0n, lost: 0n });
  }

  /** Counts records a reader delivered from a ring/perf buffer map, and records lost. */
  countRecords(map: string, records: number): void {
    this.recordCounts(map).records += BigInt(records);
  }

  /** Counts records the kernel lost in a ring/perf buffer map (a perf buffer's lost records, a ring buffer's drops as the reader knows them). */
  countLost(map: string, lost: number): void {
    this.recordCounts(map).lost += BigInt(lost);
  }

  /** Reads the maps now (batched reads where the kernel has them: BpfMap.readBatches) and returns every family. */
  collect(): MetricFamily[] {
    const families: MetricFamily[] = [];
    const dropped: MetricSample[] = [];
    for (const m of this.loaded.maps.values()) {
      if (m.spec.data || !COUNTED_MAP_TYPES.has(m.map.definition.type) || USDT_MAPS.has(m.name) || !mapIsShown(this.config, m.name)) continue;
      const read = this.mapFamilies(m);
      if (!read) continue;
      families.push(...this.configured(m.name, read.families));
      dropped.push({ labels: { map: m.name }, value: read.dropped });
    }
    families.push(...this.globalFamilies(), ...this.recordFamilies());
    families.push({ name: this.name('series_dropped_total'), help: `Entries of a map left out: a map exports at most ${this.maxSeries} series.`, type: 'counter', samples: dropped });
    families.push(...this.programFamilies());
    return families;
  }

  private name(...parts: string[]): string {
    return metricName(this.prefix, ...parts);
  }

  private recordCounts(map: string): { records: bigint; lost: bigint } {
    const counts = this.records.get(map);
    if (!counts) throw new UsageError(`map '${printable(map)}' is no ring buffer or perf event array of the object; it has ${[...this.records.keys()].join(', ') || 'none'}`);
    return counts;
  }

  /** A hash or array map's families, typed by its BTF; undefined for maps without key and value types (legacy objects) or with values that are no numbers. */
  private mapFamilies(m: LoadedMap): MapFamilies | undefined {
    const btf = this.loaded.spec.btf;
    const types = m.spec.btf;
    const { type, keySize, valueSize } = m.map.definition;
    const indexed = ARRAY_MAP_TYPES.has(type);
    if (!btf || !types?.valueTypeId || (!types.keyTypeId && !indexed)) return undefined;
    const description: MapDescription = { name: m.name, type, keySize, valueSize, btf, keyTypeId: types.keyTypeId, valueTypeId: types.valueTypeId };
    const decoder = new MapEntryDecoder(description);
    const shape = histogramShape(description);
    const where = `Map ${m.name} (${mapTypeName(type)})`;
    // syscount's keys: a system call's number, labelled by its name.
    let syscalls = this.syscallKeys.get(m.name);
    if (syscalls === undefined) this.syscallKeys.set(m.name, (syscalls = this.loaded.mapKeysAreSyscalls(m)));
    const keyLabel = indexed ? 'index' : syscalls ? 'syscall' : 'key';
    // Only an array's key may lack a type: a u32 index, in the object's (the machine's) byte order.
    const keyOf = (key: Buffer): Decoded => {
      const decoded = decoder.key(key) ?? (btf.littleEndian ? key.readUInt32LE(0) : key.readUInt32BE(0));
      return syscalls ? syscallKey(decoded) : decoded;
    };
    const labelsOf = (key: Buffer): Record<string, string> => {
      const decoded = keyOf(key);
      if (!indexed && decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded)) return Object.fromEntries(Object.entries(decoded).map(([field, v]) => [field, labelText(v)]));
      return { [keyLabel]: labelText(decoded) };
    };

    if (shape?.kind === 'slot-keys') {
      // bcc's histogram: the whole map is one histogram, its keys the slots (65 at most, no cap).
      const entries: Array<{ key: string; count: bigint }> = [];
      for (const [key, value] of this.entries(m)) entries.push({ key: labelText(keyOf(key)), count: integerTotal(decoder.cpuValues(value) ?? []) ?? 0n });
      const help = `${where}: a log2 histogram; sum estimated from bucket midpoints.`;
      return { families: [{ name: this.name(m.name), help, type: 'histogram', samples: histogramSamples(slotKeyHistogram(entries), {}) }], dropped: 0 };
    }

    const fields = this.integerFields(btf, types.valueTypeId);
    if (!shape && !fields) return undefined;
    const plain = !shape && fields?.length === 1 && fields[0] === '' ? this.plainCounters(m, btf, types.keyTypeId, types.valueTypeId, keyLabel) : undefined;
    if (plain) return { families: [{ name: this.name(m.name, 'total'), help: `${where}: the value of each entry${isPerCpuMapType(type) ? ', summed over CPUs' : ''}.`, type: 'counter', samples: plain.samples }], dropped: plain.dropped };
    const samples = new Map<string, MetricSample[]>((fields ?? ['']).map((f) => [f, []]));
    let kept = 0;
    let dropped = 0;
    for (const [key, value] of this.entries(m)) {
      if (kept === this.maxSeries) {
        dropped++;
        continue;
      }
      kept++;
      const labels = labelsOf(key);
      const values = decoder.cpuValues(value) ?? [];
      if (shape) {
        const histogram = slotsHistogram(values);
        if (histogram) samples.get('')!.push(...histogramSamples(histogram, labels));
        continue;
      }
      for (const [field, list] of samples) {
        const total = integerTotal(field === '' ? values : values.map((v) => (v as Record<string, Decoded> | null)?.[field] ?? null));
        if (total !== undefined) list.push({ labels, value: total });
      }
    }
    if (shape) {
      const help = `${where}: a log2 histogram per entry; sum estimated from bucket midpoints.`;
      return { families: [{ name: this.name(m.name), help, type: 'histogram', samples: samples.get('')! }], dropped };
    }
    const families = [...samples].map(([field, list]): MetricFamily => ({
      name: field === '' ? this.name(m.name, 'total') : this.name(m.name, field, 'total'),
      help: `${where}: ${field === '' ? 'the value' : `member ${field} of the value`} of each entry${isPerCpuMapType(type) ? ', summed over CPUs' : ''}.`,
      type: 'counter',
      samples: list,
    }));
    return { families, dropped };
  }

  /**
   * The common case read straight from the batches, as counters: an integer key (or an array's
   * index) and an integer value, which decode to what their bytes say, with no decoder or
   * intermediate objects per entry (a 100,000-entry map is one scrape). Undefined for other shapes.
   */
  private plainCounters(m: LoadedMap, btf: Btf, keyTypeId: number, valueTypeId: number, label: 'index' | 'key' | 'syscall'): { samples: MetricSample[]; dropped: number } | undefined {
    const readKey = keyTypeId ? integerReader(btf, keyTypeId) : integerReader(btf, 0, 4);
    const keyText = label === 'syscall' ? (key: number | bigint) => labelText(syscallKey(key)) : String;
    const readValue = integerReader(btf, valueTypeId);
    if (!readKey || !readValue) return undefined;
    const { keySize } = m.map.definition;
    const valueSize = m.map.valueBufferSize;
    const perCpu = isPerCpuMapType(m.map.definition.type);
    const slot = perCpuSlotSize(m.map.definition.valueSize);
    const samples: MetricSample[] = [];
    let dropped = 0;
    for (const batch of m.map.readBatches()) {
      for (let i = 0; i < batch.count; i++) {
        if (samples.length === this.maxSeries) {
          dropped++;
          continue;
        }
        const at = i * valueSize;
        let value: bigint | number = readValue(batch.values, at);
        if (perCpu) {
          let sum = BigInt(value);
          for (let cpu = at + slot; cpu < at + valueSize; cpu += slot) sum += BigInt(readValue(batch.values, cpu));
          value = sum;
        }
        samples.push({ labels: { [label]: keyText(readKey(batch.keys, i * keySize)) }, value });
      }
    }
    return { samples, dropped };
  }

  /** The value's integer fields: [''] for an integer value, the names of a struct's integer members, undefined when there are none. */
  private integerFields(btf: Btf, valueTypeId: number): string[] | undefined {
    if (isIntegerType(btf, valueTypeId)) return [''];
    const fields = [...fieldTypes(btf, valueTypeId)].filter(([, t]) => t.kind === 'int').map(([name]) => name);
    return fields.length > 0 ? fields : undefined;
  }

  /** Every entry of the map, key and value (every CPU's), read in batches. */
  private *entries(m: LoadedMap): Generator<[key: Buffer, value: Buffer]> {
    const keySize = m.map.definition.keySize;
    const valueSize = m.map.valueBufferSize;
    for (const batch of m.map.readBatches()) {
      for (let i = 0; i < batch.count; i++) yield [batch.keys.subarray(i * keySize, (i + 1) * keySize), batch.values.subarray(i * valueSize, (i + 1) * valueSize)];
    }
  }

  /** Integer globals of the writable data sections (.bss, .data) as gauges; .rodata holds settings, not measurements. */
  private globalFamilies(): MetricFamily[] {
    const btf = this.loaded.spec.btf;
    if (!btf) return [];
    const decoder = new BtfDecoder(btf);
    const sections = new Map<string, Buffer | undefined>();
    const families: MetricFamily[] = [];
    for (const variable of globalVariables(this.loaded.spec)) {
      if (variable.readOnly || !isIntegerType(btf, variable.typeId)) continue;
      const map = this.loaded.maps.get(variable.section);
      if (!map) continue;
      if (!sections.has(variable.section)) sections.set(variable.section, map.map.lookup(Buffer.alloc(map.map.definition.keySize)));
      const data = sections.get(variable.section);
      if (!data) continue;
      const value = decoder.decode(variable.typeId, data.subarray(variable.offset, variable.offset + variable.size));
      if (typeof value !== 'number' && typeof value !== 'bigint') continue;
      families.push({ name: this.name(variable.name), help: `Global variable ${variable.name} (${variable.section}).`, type: 'gauge', samples: [{ labels: {}, value }] });
    }
    return families;
  }

  private recordFamilies(): MetricFamily[] {
    return [...this.records]
      .filter(([map]) => mapIsShown(this.config, map))
      .flatMap(([map, counts]): MetricFamily[] =>
        this.configured(map, [
          { name: this.name(map, 'records_total'), help: `Records read from map ${map}.`, type: 'counter', samples: [{ labels: {}, value: counts.records }] },
          { name: this.name(map, 'lost_total'), help: `Records of map ${map} lost before they were read.`, type: 'counter', samples: [{ labels: {}, value: counts.lost }] },
        ]),
      );
  }

  /** A map's families as the configuration shows them. */
  private configured(map: string, families: readonly MetricFamily[]): MetricFamily[] {
    return configuredFamilies(families, this.name(map), this.config.maps?.[map] || undefined);
  }

  /** Attachments in place, and each program's runs and run time when the kernel counts them (sysctl kernel.bpf_stats_enabled=1). */
  private programFamilies(): MetricFamily[] {
    const families: MetricFamily[] = [{ name: this.name('programs_attached'), help: 'Attachments of the object\'s programs in place.', type: 'gauge', samples: [{ labels: {}, value: this.loaded.attached.length }] }];
    if (!bpfStatsEnabled()) return families;
    const runs: MetricSample[] = [];
    const seconds: MetricSample[] = [];
    for (const p of this.loaded.programs.values()) {
      const info = p.program.currentInfo();
      runs.push({ labels: { program: p.name }, value: info.runCount });
      seconds.push({ labels: { program: p.name }, value: Number(info.runTimeNs) / 1e9 });
    }
    families.push(
      { name: this.name('program_run_total'), help: 'Runs of each program while kernel.bpf_stats_enabled is 1.', type: 'counter', samples: runs },
      { name: this.name('program_run_seconds_total'), help: 'Time each program ran while kernel.bpf_stats_enabled is 1.', type: 'counter', samples: seconds },
    );
    return families;
  }
}

function bpfStatsEnabled(): boolean {
  try {
    return readFileSync(BPF_STATS_ENABLED, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}
