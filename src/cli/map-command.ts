// The map command: list, show, dump, lookup, update, delete, create, pin and watch BPF maps from the shell.
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST } from '../abi.js';
import { KernelError, UsageError } from '../errors.js';
import { mapIds, programFdById, programIds, programInfo, type MapInfo } from '../kernel/bpf.js';
import { machineCpuCount } from '../kernel/cpus.js';
import { Fd } from '../kernel/fd.js';
import { mapTypes, type MapTypes } from '../kernel/kernel-btf.js';
import { BpfMap } from '../kernel/maps.js';
import { mapPins, pinMap, preparePinRoot } from '../kernel/pins.js';
import { isPerCpuMapType, mapTypeByName, mapTypeName, MAP_TYPE } from '../object/map-types.js';
import { printable, terminalSafe } from '../text.js';
import { decodedJson, type Decoded } from '../btf/decode.js';
import { cellText, columns, formatBytes, table } from './format.js';
import { hexJsonEntries, integerPairLines } from './dump-text.js';
import { MapPresenter, histogramLines, type EntryView } from './map-view.js';
import { fromJson, parseMapValue, valueOnEveryCpu, withWhere, type ValueShape } from './map-values.js';
import { Output } from './output.js';
import { SignalWatch } from './signals.js';

/** How a map is named on the command line: a pin path, "id N", or "name NAME". */
export type MapRef = { kind: 'path'; path: string } | { kind: 'id'; id: number } | { kind: 'name'; name: string };

/** Reads MAP from the start of the arguments; returns it and the rest. */
export function parseMapRef(args: readonly string[]): { ref: MapRef; rest: string[] } {
  const [first, second] = args;
  if (first === undefined) throw new UsageError('no map given: a pin path, "id N" or "name NAME"');
  if (first === 'id') {
    if (!second || !/^\d+$/.test(second)) throw new UsageError(`"id" must be followed by a map id, got ${JSON.stringify(second ?? '')}`);
    return { ref: { kind: 'id', id: Number(second) }, rest: args.slice(2) };
  }
  if (first === 'name') {
    if (!second) throw new UsageError('"name" must be followed by a map name');
    return { ref: { kind: 'name', name: second }, rest: args.slice(2) };
  }
  // bpftool's word for a path.
  if (first === 'pinned') {
    if (!second) throw new UsageError('"pinned" must be followed by a path');
    return { ref: { kind: 'path', path: second }, rest: args.slice(2) };
  }
  return { ref: { kind: 'path', path: first }, rest: args.slice(1) };
}

/** Opens the map a reference names; a name must name exactly one loaded map. */
export function openMapRef(ref: MapRef): BpfMap {
  if (ref.kind === 'path') return BpfMap.fromPin(ref.path);
  if (ref.kind === 'id') return BpfMap.fromId(ref.id);
  const found: BpfMap[] = [];
  for (const id of mapIds()) {
    let map: BpfMap;
    try {
      map = BpfMap.fromId(id);
    } catch {
      continue; // gone meanwhile
    }
    if (map.name === ref.name || map.name === ref.name.slice(0, 15)) found.push(map);
    else map.close();
  }
  if (found.length === 1) return found[0]!;
  const ids = found.map((m) => m.info().id);
  found.forEach((m) => m.close());
  if (ids.length === 0) throw new KernelError(`no loaded map is named '${printable(ref.name)}' (names are cut to 15 characters in the kernel)`);
  throw new KernelError(`${ids.length} maps are named '${printable(ref.name)}' (ids ${ids.join(', ')}): name one with "id N"`);
}

interface OpenedMap {
  map: BpfMap;
  info: MapInfo;
  types: MapTypes | undefined;
  presenter: MapPresenter;
}

function opened(ref: MapRef, options: { hist?: boolean; raw?: boolean } = {}): OpenedMap {
  const map = openMapRef(ref);
  try {
    const info = map.info();
    const types = mapTypes(info);
    const presenter = new MapPresenter(
      { name: info.name, type: info.type, keySize: info.keySize, valueSize: info.valueSize, ...(types ?? {}) },
      { histogram: options.hist ?? false, raw: options.raw ?? false },
    );
    return { map, info, types, presenter };
  } catch (error) {
    map.close();
    throw error;
  }
}

function shapes(m: OpenedMap): { key: ValueShape; value: ValueShape } {
  return {
    key: { what: 'key', size: m.info.keySize, ...(m.types?.keyTypeId ? { btf: m.types.btf, typeId: m.types.keyTypeId } : {}) },
    value: { what: 'value', size: m.info.valueSize, ...(m.types?.valueTypeId ? { btf: m.types.btf, typeId: m.types.valueTypeId } : {}) },
  };
}

/** A value as user space writes it: per-CPU maps take one slot per possible CPU (the same value in each). */
function valueForUpdate(m: OpenedMap, value: Buffer): Buffer {
  return valueOnEveryCpu(m.info.type, m.info.valueSize, value);
}

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
    const slot = Math.ceil(m.info.valueSize / 8) * 8;
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
function entryCells(view: EntryView): { names: string[]; cells: string[] } {
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

export interface MapCommandOptions {
  json: boolean;
  verbose: boolean;
}

/** Runs one map subcommand; returns the exit code. Errors are one line. */
export async function mapCommand(sub: string, args: string[], options: MapCommandOptions & Record<string, unknown>, out: Output): Promise<number> {
  const nothingAfter = (rest: string[]): void => {
    if (rest.length > 0) throw new UsageError(`map ${sub} takes ${sub === 'list' ? 'no arguments' : 'only MAP'}: unexpected ${JSON.stringify(rest[0])}`);
  };
  switch (sub) {
    case 'list':
      nothingAfter(args);
      return mapList(out);
    case 'show':
      return withMap(args, {}, (m) => mapShow(m, out), nothingAfter);
    case 'dump':
      return withMap(args, { hist: Boolean(options.hist), raw: Boolean(options.raw) }, (m) => mapDump(m, out), nothingAfter);
    case 'lookup':
      return withMap(args, {}, (m, rest) => mapLookup(m, rest, out));
    case 'update':
      return withMap(args, {}, (m, rest) => mapUpdate(m, rest, options, out));
    case 'delete':
      return withMap(args, {}, (m, rest) => mapDelete(m, rest, out));
    case 'pin':
      return withMap(args, {}, (m, rest) => mapPin(m, rest, out));
    case 'create':
      return mapCreate(args, options, out);
    case 'watch':
      return withMap(args, { hist: false, raw: true }, (m) => mapWatch(m, options, out), nothingAfter);
    default:
      throw new UsageError(`unknown map command '${sub}': list, show, dump, lookup, update, delete, create, pin, watch`);
  }
}

async function withMap(
  args: string[],
  present: { hist?: boolean; raw?: boolean },
  body: (m: OpenedMap, rest: string[]) => number | Promise<number>,
  checkRest: (rest: string[]) => void = () => {},
): Promise<number> {
  const { ref, rest } = parseMapRef(args);
  checkRest(rest);
  const m = opened(ref, present);
  try {
    return await body(m, rest);
  } finally {
    m.map.close();
  }
}

function describe(info: MapInfo): Record<string, unknown> {
  return { id: info.id, name: info.name, type: mapTypeName(info.type), keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags, btfId: info.btfId || null };
}

function mapList(out: Output): number {
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
      const fd = new Fd(programFdById(programId), `program ${programId}`);
      try {
        const info = programInfo(fd.value);
        if (info.mapIds.includes(id)) users.push({ id: programId, name: info.name });
      } finally {
        fd.close();
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return users;
}

function mapShow(m: OpenedMap, out: Output): number {
  const pins = mapPins().get(m.info.id) ?? [];
  const fdinfo = readFileSync(`/proc/self/fdinfo/${m.map.fd.value}`, 'utf8');
  const frozen = /^frozen:\s*1/m.test(fdinfo);
  const memlock = /^memlock:\s*(\d+)/m.exec(fdinfo)?.[1];
  const users = programsUsing(m.info.id);
  const typeName = (id: number | undefined): string | null => (m.types && id ? m.types.btf.describe(id).replace(/^type \d+ /, '') : null);
  if (out.options.json) {
    out.json({ ...describe(m.info), frozen, memlock: memlock ? Number(memlock) : null, pins, programs: users, keyType: typeName(m.types?.keyTypeId), valueType: typeName(m.types?.valueTypeId) });
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
  if (memlock) rows.push(['memlock', `${memlock} bytes`]);
  rows.push(['pinned', pins.length > 0 ? pins.join(', ') : 'no']);
  rows.push(['programs', users.length > 0 ? users.map((u) => `${u.name} (id ${u.id})`).join(', ') : 'none']);
  out.lines(table(rows));
  return 0;
}

function mapDump(m: OpenedMap, out: Output): number {
  const keySize = m.info.keySize;
  const valueSize = m.map.valueBufferSize;
  if (m.presenter.histogramShape && !out.options.json) {
    const entries: EntryView[] = [];
    for (const batch of m.map.readBatches()) {
      for (let i = 0; i < batch.count; i++) entries.push(m.presenter.entry(batch.keys.subarray(i * keySize, (i + 1) * keySize), batch.values.subarray(i * valueSize, (i + 1) * valueSize)));
    }
    out.lines((m.presenter.histograms(entries) ?? []).flatMap((h) => histogramLines(h)));
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

function showEntry(m: OpenedMap, key: Buffer, value: Buffer, out: Output): void {
  if (out.options.json) {
    out.raw(`${entryJson(m, key, value)}\n`);
    return;
  }
  const view = m.presenter.entry(key, value);
  const { names, cells } = entryCells(view);
  out.lines(table([names, cells]));
}

function mapLookup(m: OpenedMap, args: string[], out: Output): number {
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

function updateFlags(options: Record<string, unknown>): number {
  const chosen = (['any', 'noexist', 'exist'] as const).filter((f) => options[f]);
  if (chosen.length > 1) throw new UsageError(`choose one of --any, --noexist and --exist, not ${chosen.map((c) => `--${c}`).join(' and ')}`);
  return chosen[0] === 'noexist' ? BPF_NOEXIST : chosen[0] === 'exist' ? BPF_EXIST : BPF_ANY;
}

function mapUpdate(m: OpenedMap, args: string[], options: Record<string, unknown>, out: Output): number {
  const flags = updateFlags(options);
  if (typeof options.batch === 'string') {
    if (args.length > 0) throw new UsageError('--batch reads the entries from a file: give no key or value on the command line');
    return updateBatch(m, options.batch, flags, out);
  }
  const shape = shapes(m);
  const key = parseMapValue(args, shape.key);
  const value = parseMapValue(args.slice(key.used), shape.value);
  if (key.used + value.used !== args.length) throw new UsageError(`unexpected ${JSON.stringify(args[key.used + value.used])} after the value`);
  m.map.update(key.bytes, valueForUpdate(m, value.bytes), flags);
  out.verbose(`updated key ${formatBytes(key.bytes)} of map '${m.info.name}'`);
  return 0;
}

/** Keys and values laid out back to back as a batch update takes them, grown as entries come. */
class EntryBuffers {
  private keys: Buffer;
  private values: Buffer;
  private view: DataView;
  count = 0;

  constructor(
    private readonly keySize: number,
    private readonly valueSize: number,
    expected: number,
  ) {
    this.keys = Buffer.alloc(Math.max(1, expected) * keySize);
    this.values = Buffer.alloc(Math.max(1, expected) * valueSize);
    this.view = new DataView(this.keys.buffer, this.keys.byteOffset, this.keys.length);
  }

  private room(): void {
    if ((this.count + 1) * this.keySize <= this.keys.length && (this.count + 1) * this.valueSize <= this.values.length) return;
    this.keys = Buffer.concat([this.keys, Buffer.alloc(this.keys.length)]);
    this.values = Buffer.concat([this.values, Buffer.alloc(this.values.length)]);
    this.view = new DataView(this.keys.buffer, this.keys.byteOffset, this.keys.length);
  }

  push(key: Buffer, value: Buffer): void {
    this.room();
    key.copy(this.keys, this.count * this.keySize);
    value.copy(this.values, this.count * this.valueSize);
    this.count++;
  }

  /** An entry of two whole numbers below 2^53, for integer keys and values (1, 2, 4 or 8 bytes). */
  pushIntegers(key: number, value: number): void {
    this.room();
    writeSmallInteger(this.view, this.count * this.keySize, this.keySize, key);
    writeSmallInteger(new DataView(this.values.buffer, this.values.byteOffset, this.values.length), this.count * this.valueSize, this.valueSize, value);
    this.count++;
  }

  /** The entries from `from`, at most `count` of them. */
  slice(from: number, count: number): { keys: Buffer; values: Buffer; count: number } {
    const n = Math.min(count, this.count - from);
    return { keys: this.keys.subarray(from * this.keySize, (from + n) * this.keySize), values: this.values.subarray(from * this.valueSize, (from + n) * this.valueSize), count: n };
  }
}

/** Entries from a file (or - for stdin): a JSON dump (as map dump --json writes it), or one "KEY VALUE" per line. */
function updateBatch(m: OpenedMap, file: string, flags: number, out: Output): number {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  const shape = shapes(m);
  const valueSize = m.map.valueBufferSize;
  let entries: EntryBuffers;
  if (/^\s*\[/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${file}: not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new UsageError(`${file}: expected a JSON array of entries`);
    entries = new EntryBuffers(m.info.keySize, valueSize, parsed.length);
    const list = entries;
    parsed.forEach((entry: Record<string, unknown>, i) => {
      const where = `${file}: entry ${i + 1}`;
      if (!entry || typeof entry !== 'object') throw new UsageError(`${where} is not an object`);
      const key = withWhere(where, () => fromJson(entry.key, shape.key));
      if (Array.isArray(entry.values)) {
        const slot = Math.ceil(m.info.valueSize / 8) * 8;
        const all = Buffer.alloc(slot * machineCpuCount());
        for (const v of entry.values as Array<{ cpu: number; value: unknown }>) {
          if (typeof v.cpu === 'number' && v.cpu < machineCpuCount()) withWhere(where, () => fromJson(v.value, shape.value)).copy(all, v.cpu * slot);
        }
        list.push(key, all);
      } else {
        list.push(key, valueForUpdate(m, withWhere(where, () => fromJson(entry.value, shape.value))));
      }
    });
  } else {
    const lines = text.split('\n');
    entries = new EntryBuffers(m.info.keySize, valueSize, lines.length);
    const list = entries;
    const fast = !m.types && !isPerCpuMapType(m.info.type) && smallInteger(m.info.keySize) && smallInteger(m.info.valueSize);
    const keyLimit = 2 ** (8 * m.info.keySize);
    const valueLimit = 2 ** (8 * m.info.valueSize);
    lines.forEach((line, i) => {
      // The common file, "decimal decimal" lines into an untyped map, without the general parser.
      const pair = fast ? /^\s*(\d{1,15})\s+(\d{1,15})\s*$/.exec(line) : null;
      if (pair && Number(pair[1]) < keyLimit && Number(pair[2]) < valueLimit) {
        list.pushIntegers(Number(pair[1]), Number(pair[2]));
        return;
      }
      const tokens = line.trim().split(/\s+/).filter(Boolean);
      if (tokens.length === 0 || tokens[0]!.startsWith('#')) return;
      const where = `${file}: line ${i + 1}`;
      const key = withWhere(where, () => parseMapValue(tokens, shape.key));
      const value = withWhere(where, () => parseMapValue(tokens.slice(key.used), shape.value));
      if (key.used + value.used !== tokens.length) throw new UsageError(`${where}: unexpected ${JSON.stringify(tokens[key.used + value.used])} after the value`);
      list.push(key.bytes, valueForUpdate(m, value.bytes));
    });
  }
  const CHUNK = 16384;
  for (let at = 0; at < entries.count; at += CHUNK) {
    const chunk = entries.slice(at, CHUNK);
    m.map.updateBatch(chunk.keys, chunk.values, chunk.count, flags);
  }
  out.verbose(`wrote ${entries.count} entries to map '${m.info.name}'`);
  if (out.options.json) out.json({ updated: entries.count });
  else out.lines([`${entries.count} ${entries.count === 1 ? 'entry' : 'entries'} written`]);
  return 0;
}

function smallInteger(size: number): boolean {
  return size === 1 || size === 2 || size === 4 || size === 8;
}

const hostLittleEndian = endianness() === 'LE';

/** A whole number below 2^53 as `size` bytes in host byte order at `at`. */
function writeSmallInteger(view: DataView, at: number, size: number, value: number): void {
  if (size === 1) view.setUint8(at, value);
  else if (size === 2) view.setUint16(at, value, hostLittleEndian);
  else if (size === 4) view.setUint32(at, value, hostLittleEndian);
  else {
    view.setUint32(at + (hostLittleEndian ? 0 : 4), value % 4294967296, hostLittleEndian);
    view.setUint32(at + (hostLittleEndian ? 4 : 0), Math.floor(value / 4294967296), hostLittleEndian);
  }
}

function mapDelete(m: OpenedMap, args: string[], out: Output): number {
  const { bytes: key, used } = parseMapValue(args, shapes(m).key);
  if (used !== args.length) throw new UsageError(`unexpected ${JSON.stringify(args[used])} after the key`);
  if (!m.map.delete(key)) {
    out.note(`map '${m.info.name}' has no entry for key ${formatBytes(key)}`);
    return 1;
  }
  return 0;
}

function mapPin(m: OpenedMap, args: string[], out: Output): number {
  if (args.length !== 1) throw new UsageError('map pin MAP PATH: give one path to pin the map at');
  const path = args[0]!;
  preparePinRoot(dirname(path));
  pinMap(m.map, path);
  out.verbose(`pinned map '${m.info.name}' (id ${m.info.id}) at ${path}`);
  return 0;
}

function mapCreate(args: string[], options: Record<string, unknown>, out: Output): number {
  if (args.length !== 1) throw new UsageError('map create PATH --type TYPE --key BYTES --value BYTES --entries N: give one path to pin the new map at');
  const path = args[0]!;
  const typeName = String(options.type ?? '');
  const type = mapTypeByName(typeName);
  if (type === undefined) throw new UsageError(`--type ${JSON.stringify(typeName)} is not a map type (hash, array, percpu_hash, percpu_array, lru_hash, ...)`);
  const number = (name: string): number => {
    const text = options[name];
    if (text === undefined) throw new UsageError(`map create needs --${name}`);
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new UsageError(`--${name} ${JSON.stringify(text)} must be a whole number`);
    return value;
  };
  const definition = {
    type,
    keySize: type === MAP_TYPE.RINGBUF ? 0 : number('key'),
    valueSize: type === MAP_TYPE.RINGBUF ? 0 : number('value'),
    maxEntries: number('entries'),
    flags: options.flags === undefined ? 0 : number('flags'),
  };
  preparePinRoot(dirname(path));
  const name = typeof options.name === 'string' ? options.name : path.split('/').pop()!;
  const map = BpfMap.create(name, definition);
  try {
    pinMap(map, path);
  } finally {
    map.close();
  }
  out.verbose(`created ${mapTypeName(type)} map '${name}' and pinned it at ${path}`);
  return 0;
}

/** A live view of a map, sorted by value, redrawn in place on a terminal; snapshots otherwise; Ctrl-C ends it. */
async function mapWatch(m: OpenedMap, options: Record<string, unknown>, out: Output): Promise<number> {
  const interval = Number(options.interval ?? 1);
  const top = Number(options.top ?? 20);
  if (!(interval > 0)) throw new UsageError('--interval must be a number of seconds above 0');
  if (!Number.isInteger(top) || top < 1) throw new UsageError('--top must be a whole number above 0');
  const tty = process.stdout.isTTY === true && !out.options.json;
  const signals = new SignalWatch(['SIGINT', 'SIGTERM', 'SIGHUP']);
  const keySize = m.info.keySize;
  const valueSize = m.map.valueBufferSize;
  let previous = new Map<string, bigint>();
  let last = Date.now();
  const draw = (): void => {
    const now = Date.now();
    const entries: EntryView[] = [];
    for (const batch of m.map.readBatches()) {
      for (let i = 0; i < batch.count; i++) entries.push(m.presenter.entry(batch.keys.subarray(i * keySize, (i + 1) * keySize), batch.values.subarray(i * valueSize, (i + 1) * valueSize)));
    }
    const numeric = (e: EntryView): bigint | undefined => (/^\d+$/.test(e.value) ? BigInt(e.value) : undefined);
    entries.sort((a, b) => {
      const x = numeric(a) ?? -1n;
      const y = numeric(b) ?? -1n;
      return x > y ? -1 : x < y ? 1 : a.key.localeCompare(b.key);
    });
    const shown = entries.slice(0, top);
    const seconds = (now - last) / 1000;
    const current = new Map(entries.map((e) => [e.key, numeric(e) ?? 0n]));
    if (out.options.json) {
      out.json({ event: 'watch', time: new Date(now).toISOString(), map: m.info.name, entries: entries.length, top: shown.map((e) => ({ key: e.key, value: e.value, ...(e.formatted ? { formatted: e.formatted } : {}) })) });
    } else {
      const rows = shown.map((e) => {
        const { cells } = entryCells(e);
        const before = previous.get(e.key);
        const rate = before === undefined || numeric(e) === undefined || seconds <= 0 ? '' : `${(Number(numeric(e)! - before) / seconds).toFixed(1)}/s`;
        return [...cells, rate];
      });
      const names = shown.length > 0 ? [...entryCells(shown[0]!).names, 'rate'] : ['key', 'value', 'rate'];
      const lines = [`${new Date(now).toTimeString().slice(0, 8)}  map '${m.info.name}' (id ${m.info.id}, ${mapTypeName(m.info.type)}): ${entries.length} entries, top ${shown.length} by value`, ...table([names, ...rows])];
      if (tty) out.raw(`\x1b[H\x1b[J${lines.map((l) => `${terminalSafe(l)}\n`).join('')}`);
      else out.lines([...lines, '']);
    }
    previous = current;
    last = now;
  };
  if (tty) out.raw('\x1b[?25l');
  try {
    draw();
    for (;;) {
      const stop = await Promise.race([signals.next(), new Promise<undefined>((r) => setTimeout(() => r(undefined), interval * 1000))]);
      if (stop) break;
      draw();
    }
  } finally {
    signals.stop();
    if (tty) out.raw('\x1b[?25h');
  }
  return 0;
}
