// Reading maps from the shell: map list, show, dump and lookup, as tables or bpftool-like JSON.
import { UsageError } from '../errors.js';
import { mapIds, programIds, type MapInfo } from '../kernel/bpf.js';
import { BpfMap } from '../kernel/maps.js';
import { mapPins } from '../kernel/pins.js';
import { BpfProgram } from '../kernel/program.js';
import { isPerCpuMapType, perCpuSlotSize, mapTypeName } from '../object/map-types.js';
import { decodedJson, type Decoded } from '../btf/decode.js';
import { cellText, columns, formatBytes, table } from './format.js';
import { hexJsonEntries, integerPairLines } from './dump-text.js';
import { shapes, type OpenedMap } from './map-ref.js';
import { histogramLines, type EntryView } from './map-view.js';
import { parseMapValue } from './map-values.js';
import type { Output } from './output.js';

const HEX = Array.from({ length: 256 }, (_, i) => `"0x${i.toString(16).padStart(2, '0')}"`);

/** Bytes as bpftool's JSON writes them: an array of "0x.." strings. */
function hexArray(bytes: Uint8Array): string {
  let out = '[';
  for (let i = 0; i < bytes.length; i++) out += (i === 0 ? '' : ',') + HEX[bytes[i]!];
  return `${out}]`;
}

/** One dump entry in JSON, close to bpftool -j: key and value as hex byte arrays (per-CPU: values by CPU), "formatted" when typed. */
function entryJson(m: OpenedMap, key: Uint8Array, value: Uint8Array): string {
  const perCpu = isPerCpuMapType(m.info.type);
  let text = `{"key":${hexArray(key)}`;
  if (!perCpu) {
    text += `,"value":${hexArray(value)}`;
  } else {
    const slot = perCpuSlotSize(m.info.valueSize);
    const values: string[] = [];
    for (let cpu = 0; cpu * slot < value.length; cpu++) values.push(`{"cpu":${cpu},"value":${hexArray(value.subarray(cpu * slot, cpu * slot + m.info.valueSize))}}`);
    text += `,"values":[${values.join(',')}]`;
  }
  if (m.presenter.typed) {
    const view = m.presenter.entry(key, value);
    const formatted = view.formatted!;
    text += perCpu
      ? `,"formatted":{"key":${decodedJson(formatted.key)},"values":[${(formatted.perCpu ?? []).map((v, cpu) => `{"cpu":${cpu},"value":${decodedJson(v)}}`).join(',')}]}`
      : `,"formatted":{"key":${decodedJson(formatted.key)},"value":${decodedJson(formatted.value)}}`;
  }
  return `${text}}`;
}

/** Digits an untyped integer of this size can need. */
const INTEGER_WIDTH: Record<number, number> = { 1: 3, 2: 5, 4: 10, 8: 20 };

/** The text of one entry as table cells: typed columns, or the untyped rules; per-CPU maps add each CPU. */
export function entryCells(view: EntryView): { names: string[]; cells: string[] } {
  const perCpu = view.perCpu;
  if (!view.formatted) {
    if (!perCpu) return { names: ['key', 'value'], cells: [view.key, view.value] };
    return { names: ['key', 'sum', ...perCpu.map((_, cpu) => `cpu${cpu}`)], cells: [view.key, view.value, ...perCpu] };
  }
  const key = columns(view.formatted.key, 'key');
  if (!perCpu) {
    const value = columns(view.formatted.value, 'value');
    return { names: [...key, ...value].map(([n]) => n), cells: [...key, ...value].map(([, v]) => cellText(v)) };
  }
  const each = (view.formatted.perCpu ?? []) as Decoded[];
  return {
    names: [...key.map(([n]) => n), 'sum', ...each.map((_, cpu) => `cpu${cpu}`)],
    cells: [...key.map(([, v]) => cellText(v)), cellText(view.formatted.value), ...each.map(cellText)],
  };
}

/** Writes rows under a header as they come: widths from the first rows, then widened as needed. */
class StreamTable {
  private widths: number[] = [];
  private header: string[] | undefined;
  private readonly pending: string[][] = [];

  constructor(
    private readonly out: Output,
    private readonly firstRows = 1024,
  ) {}

  row(names: string[], cells: string[]): void {
    if (!this.header) this.header = names;
    if (this.pending !== undefined && this.widths.length === 0) {
      this.pending.push(cells);
      if (this.pending.length >= this.firstRows) this.flushPending();
      return;
    }
    this.emit([cells]);
  }

  private flushPending(): void {
    const rows = [this.header!, ...this.pending];
    this.widths = this.header!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    this.emit(rows);
    this.pending.length = 0;
  }

  private emit(rows: string[][]): void {
    const lines: string[] = [];
    for (const r of rows) {
      r.forEach((c, i) => (this.widths[i] = Math.max(this.widths[i] ?? 0, c.length)));
      lines.push(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(this.widths[i]!))).join('  ').trimEnd());
    }
    this.out.lines(lines);
  }

  end(): void {
    if (this.header && this.widths.length === 0) this.flushPending();
  }
}

/** Every entry of the map as its presenter shows it, read in batches. */
export function entryViews(m: OpenedMap): EntryView[] {
  const keySize = m.info.keySize;
  const valueSize = m.map.valueBufferSize;
  const entries: EntryView[] = [];
  for (const batch of m.map.readBatches()) {
    for (let i = 0; i < batch.count; i++) entries.push(m.presenter.entry(batch.keys.subarray(i * keySize, (i + 1) * keySize), batch.values.subarray(i * valueSize, (i + 1) * valueSize)));
  }
  return entries;
}

/** The map as JSON and text describe it: id, name, type name, sizes, flags and BTF id. */
function describe(info: MapInfo): Record<string, unknown> {
  return { id: info.id, name: info.name, type: mapTypeName(info.type), keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags, btfId: info.btfId || null };
}

/** map list: every loaded map, with the paths it is pinned at. */
export function mapList(out: Output): number {
  const pins = mapPins();
  const rows: Array<{ info: MapInfo; pins: string[] }> = [];
  for (const id of mapIds()) {
    try {
      const map = BpfMap.fromId(id);
      try {
        rows.push({ info: map.info(), pins: pins.get(id) ?? [] });
      } finally {
        map.close();
      }
    } catch {
      // Gone between listing and opening.
    }
  }
  if (out.options.json) {
    out.json(rows.map((r) => ({ ...describe(r.info), pins: r.pins })));
    return 0;
  }
  out.lines(table([['ID', 'TYPE', 'NAME', 'KEY', 'VALUE', 'ENTRIES', 'PINNED'], ...rows.map((r) => [String(r.info.id), mapTypeName(r.info.type), r.info.name, String(r.info.keySize), String(r.info.valueSize), String(r.info.maxEntries), r.pins.join(', ')])]));
  return 0;
}

/** Ids of the loaded programs that use a map. */
function programsUsing(id: number): Array<{ id: number; name: string }> {
  const users: Array<{ id: number; name: string }> = [];
  for (const programId of programIds()) {
    try {
      const program = BpfProgram.fromId(programId);
      program.close();
      if (program.info.mapIds.includes(id)) users.push({ id: programId, name: program.name });
    } catch {
      // Gone meanwhile.
    }
  }
  return users;
}

/** map show MAP: the map's definition, types, state, pins and the programs that use it. */
export function mapShow(m: OpenedMap, out: Output): number {
  const pins = mapPins().get(m.info.id) ?? [];
  const { frozen, memlock } = m.map.status();
  const users = programsUsing(m.info.id);
  const typeName = (id: number | undefined): string | null => (m.types && id ? m.types.btf.describe(id).replace(/^type \d+ /, '') : null);
  if (out.options.json) {
    out.json({ ...describe(m.info), frozen, memlock: memlock ?? null, pins, programs: users, keyType: typeName(m.types?.keyTypeId), valueType: typeName(m.types?.valueTypeId) });
    return 0;
  }
  const rows: string[][] = [
    ['id', String(m.info.id)],
    ['name', m.info.name],
    ['type', mapTypeName(m.info.type)],
    ['key', `${m.info.keySize} bytes${typeName(m.types?.keyTypeId) ? ` ${typeName(m.types?.keyTypeId)}` : ''}`],
    ['value', `${m.info.valueSize} bytes${typeName(m.types?.valueTypeId) ? ` ${typeName(m.types?.valueTypeId)}` : ''}`],
    ['max entries', String(m.info.maxEntries)],
    ['flags', `0x${m.info.flags.toString(16)}`],
  ];
  if (frozen) rows.push(['frozen', 'yes']);
  if (memlock !== undefined) rows.push(['memlock', `${memlock} bytes`]);
  rows.push(['pinned', pins.length > 0 ? pins.join(', ') : 'no']);
  rows.push(['programs', users.length > 0 ? users.map((u) => `${u.name} (id ${u.id})`).join(', ') : 'none']);
  out.lines(table(rows));
  return 0;
}

/** map dump MAP: every entry, as histograms, a table, or JSON streamed batch by batch. */
export function mapDump(m: OpenedMap, out: Output): number {
  const keySize = m.info.keySize;
  const valueSize = m.map.valueBufferSize;
  if (m.presenter.histogramShape && !out.options.json) {
    out.lines((m.presenter.histograms(entryViews(m)) ?? []).flatMap((h) => histogramLines(h)));
    return 0;
  }
  if (out.options.json && !m.presenter.typed && !isPerCpuMapType(m.info.type)) {
    // Untyped entries: bytes written straight, as bpftool's -j writes them.
    out.raw('[');
    let first = true;
    for (const batch of m.map.readBatches()) {
      out.bytes(hexJsonEntries(batch.keys, batch.values, batch.count, keySize, valueSize, first));
      first = first && batch.count === 0;
    }
    out.raw(first ? ']\n' : '\n]\n');
    return 0;
  }
  if (out.options.json) {
    let first = true;
    let chunk = '[';
    for (const batch of m.map.readBatches()) {
      for (let i = 0; i < batch.count; i++) {
        chunk += `${first ? '\n' : ',\n'}${entryJson(m, batch.keys.subarray(i * keySize, (i + 1) * keySize), batch.values.subarray(i * valueSize, (i + 1) * valueSize))}`;
        first = false;
      }
      out.raw(chunk);
      chunk = '';
    }
    out.raw(`${chunk}${first ? '' : '\n'}]\n`);
    return 0;
  }
  if (!m.presenter.typed && !isPerCpuMapType(m.info.type) && INTEGER_WIDTH[keySize] && INTEGER_WIDTH[m.info.valueSize]) {
    return dumpIntegers(m, out);
  }
  const stream = new StreamTable(out);
  for (const batch of m.map.readBatches()) {
    for (let i = 0; i < batch.count; i++) {
      const { names, cells } = entryCells(m.presenter.entry(batch.keys.subarray(i * keySize, (i + 1) * keySize), batch.values.subarray(i * valueSize, (i + 1) * valueSize)));
      stream.row(names, cells);
    }
  }
  stream.end();
  return 0;
}

/** The common case fast: integer keys and values, fixed-width columns, the digits written straight into bytes. */
function dumpIntegers(m: OpenedMap, out: Output): number {
  const keySize = m.info.keySize;
  const valueSize = m.info.valueSize;
  const keyWidth = INTEGER_WIDTH[keySize]!;
  out.lines([`${'key'.padEnd(keyWidth)}  value`]);
  for (const batch of m.map.readBatches()) out.bytes(integerPairLines(batch.keys, batch.values, batch.count, keySize, valueSize, keyWidth));
  return 0;
}

/** One entry as a one-row table, or as one JSON line. */
function showEntry(m: OpenedMap, key: Buffer, value: Buffer, out: Output): void {
  if (out.options.json) {
    out.raw(`${entryJson(m, key, value)}\n`);
    return;
  }
  const view = m.presenter.entry(key, value);
  const { names, cells } = entryCells(view);
  out.lines(table([names, cells]));
}

/** map lookup MAP KEY: prints the entry, or says there is none (exit 1). */
export function mapLookup(m: OpenedMap, args: string[], out: Output): number {
  const { key: keyShape } = shapes(m);
  const { bytes: key, used } = parseMapValue(args, keyShape);
  if (used !== args.length) throw new UsageError(`unexpected ${JSON.stringify(args[used])} after the key`);
  const value = m.map.lookup(key);
  if (!value) {
    out.note(`map '${m.info.name}' has no entry for key ${formatBytes(key)}`);
    return 1;
  }
  showEntry(m, key, value, out);
  return 0;
}
