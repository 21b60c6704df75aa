// Writing maps from the shell: map update (one entry, or a batch from a file) and map delete.
import { readFileSync } from 'node:fs';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST } from '../abi.js';
import { UsageError } from '../errors.js';
import { machineCpuCount } from '../kernel/cpus.js';
import { isPerCpuMapType, perCpuSlotSize } from '../object/map-types.js';
import { formatBytes, HOST_LITTLE_ENDIAN } from './format.js';
import { shapes, type OpenedMap } from './map-ref.js';
import { fromJson, parseMapValue, valueOnEveryCpu, withWhere } from './map-values.js';
import type { Output } from './output.js';

/** A value as user space writes it: per-CPU maps take one slot per possible CPU (the same value in each). */
function valueForUpdate(m: OpenedMap, value: Buffer): Buffer {
  return valueOnEveryCpu(m.info.type, m.info.valueSize, value);
}

/** The one of --any, --noexist and --exist given, as BPF update flags (--any when none is). */
function updateFlags(options: Record<string, unknown>): number {
  const chosen = (['any', 'noexist', 'exist'] as const).filter((f) => options[f]);
  if (chosen.length > 1) throw new UsageError(`choose one of --any, --noexist and --exist, not ${chosen.map((c) => `--${c}`).join(' and ')}`);
  return chosen[0] === 'noexist' ? BPF_NOEXIST : chosen[0] === 'exist' ? BPF_EXIST : BPF_ANY;
}

/** map update MAP KEY VALUE, or map update MAP --batch FILE. */
export function mapUpdate(m: OpenedMap, args: string[], options: Record<string, unknown>, out: Output): number {
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
        const slot = perCpuSlotSize(m.info.valueSize);
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

/** Whether an untyped integer of this many bytes takes the fast path of a batch file. */
function smallInteger(size: number): boolean {
  return size === 1 || size === 2 || size === 4 || size === 8;
}

/** A whole number below 2^53 as `size` bytes in host byte order at `at`. */
function writeSmallInteger(view: DataView, at: number, size: number, value: number): void {
  if (size === 1) view.setUint8(at, value);
  else if (size === 2) view.setUint16(at, value, HOST_LITTLE_ENDIAN);
  else if (size === 4) view.setUint32(at, value, HOST_LITTLE_ENDIAN);
  else {
    view.setUint32(at + (HOST_LITTLE_ENDIAN ? 0 : 4), value % 4294967296, HOST_LITTLE_ENDIAN);
    view.setUint32(at + (HOST_LITTLE_ENDIAN ? 4 : 0), Math.floor(value / 4294967296), HOST_LITTLE_ENDIAN);
  }
}

/** map delete MAP KEY: exit 1 when there was no such entry. */
export function mapDelete(m: OpenedMap, args: string[], out: Output): number {
  const { bytes: key, used } = parseMapValue(args, shapes(m).key);
  if (used !== args.length) throw new UsageError(`unexpected ${JSON.stringify(args[used])} after the key`);
  if (!m.map.delete(key)) {
    out.note(`map '${m.info.name}' has no entry for key ${formatBytes(key)}`);
    return 1;
  }
  return 0;
}

