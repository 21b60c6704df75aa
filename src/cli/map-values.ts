// Keys and values typed on the command line: numbers sized to the map, strings, "hex 01 02 ...", or JSON through the map's BTF.
import { endianness } from 'node:os';
import type { Btf } from '../btf/btf.js';
import { BtfEncoder, EncodeError } from '../btf/encode.js';
import { LoaderError, UsageError } from '../errors.js';
import { machineCpuCount } from '../kernel/cpus.js';
import { isPerCpuMapType, perCpuSlotSize } from '../object/map-types.js';

const little = endianness() === 'LE';

/** What a key or value must be: its size, and its BTF type when the map has one in the kernel. */
export interface ValueShape {
  what: 'key' | 'value';
  size: number;
  btf?: Btf;
  typeId?: number;
}

/** A number of `size` bytes in host byte order (two's complement for negative numbers). */
export function integerBytes(value: bigint, size: number, what: string): Buffer {
  const bits = BigInt(size * 8);
  if (value >= 1n << bits || value < -(1n << (bits - 1n))) throw new UsageError(`${what} ${value} does not fit in ${size} bytes`);
  let raw = BigInt.asUintN(size * 8, value);
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    bytes[little ? i : size - 1 - i] = Number(raw & 0xffn);
    raw >>= 8n;
  }
  return bytes;
}

const NUMBER = /^-?(0x[0-9a-fA-F]+|\d+)$/;

function parseNumber(text: string): bigint {
  return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
}

/**
 * Reads one key or value from the start of `tokens`; returns its bytes and how many tokens it
 * used. Forms: "hex 01 02 ..." (size bytes, as bpftool takes them), a decimal or 0x number, a
 * JSON object or array (needs the map's BTF), or text for a character array (NUL-padded).
 */
export function parseMapValue(given: readonly string[], shape: ValueShape): { bytes: Buffer; used: number } {
  // "hex 01 02" may come as one argument (quoted) or as several.
  if (given[0] === undefined || !/^hex\s/.test(given[0])) return parseTokens(given, shape);
  // One quoted argument holds all of it: its words only, nothing taken from the next argument.
  const words = given[0].trim().split(/\s+/);
  if (words.length !== shape.size + 1) throw new UsageError(`${shape.what} is ${shape.size} bytes: "hex" must be followed by ${shape.size} bytes, got ${words.length - 1}`);
  return { bytes: parseTokens(words, shape).bytes, used: 1 };
}

function parseTokens(tokens: readonly string[], shape: ValueShape): { bytes: Buffer; used: number } {
  const { what, size } = shape;
  const first = tokens[0];
  if (first === undefined) throw new UsageError(`no ${what} given: a number, "hex" and ${size} bytes, text, or JSON`);
  if (first === 'hex') {
    const hex = tokens.slice(1, 1 + size);
    if (hex.length !== size) throw new UsageError(`${what} is ${size} bytes: "hex" must be followed by ${size} bytes, got ${hex.length}`);
    const bytes = Buffer.alloc(size);
    hex.forEach((h, i) => {
      if (!/^(0x)?[0-9a-fA-F]{1,2}$/.test(h)) throw new UsageError(`${what} byte ${i + 1} ${JSON.stringify(h)} is not a hex byte (00 to ff)`);
      bytes[i] = Number.parseInt(h.replace(/^0x/, ''), 16);
    });
    return { bytes, used: 1 + size };
  }
  if (NUMBER.test(first)) return { bytes: fromNumber(parseNumber(first), shape), used: 1 };
  if (/^\s*[[{]/.test(first)) {
    let json: unknown;
    try {
      json = JSON.parse(first);
    } catch (error) {
      throw new UsageError(`${what} ${JSON.stringify(first)} is not valid JSON: ${(error as Error).message}`);
    }
    return { bytes: fromJson(json, shape), used: 1 };
  }
  return { bytes: fromText(first.replace(/^"(.*)"$/s, '$1'), shape), used: 1 };
}

/** A key or value given as JSON (from a dump: hex byte arrays, or typed through BTF). */
export function fromJson(json: unknown, shape: ValueShape): Buffer {
  // bpftool's dump format: an array of "0x.." byte strings.
  if (Array.isArray(json) && json.every((b) => typeof b === 'string' && /^0x[0-9a-fA-F]{1,2}$/.test(b))) {
    if (json.length !== shape.size) throw new UsageError(`${shape.what} is ${shape.size} bytes, got ${json.length} bytes`);
    return Buffer.from(json.map((b) => Number.parseInt(b as string, 16)));
  }
  if ((typeof json === 'number' && Number.isInteger(json)) || (typeof json === 'string' && NUMBER.test(json))) {
    return fromNumber(typeof json === 'number' ? BigInt(json) : parseNumber(json), shape);
  }
  if (!shape.btf || !shape.typeId) {
    throw new UsageError(`${shape.what} as JSON needs the map's BTF type, and this map has none in the kernel; give a number, text or "hex" and ${shape.size} bytes`);
  }
  try {
    return new BtfEncoder(shape.btf).encode(shape.typeId, json, shape.what);
  } catch (error) {
    if (error instanceof EncodeError) throw new UsageError(error.message);
    throw error;
  }
}

function fromNumber(value: bigint, shape: ValueShape): Buffer {
  if (shape.btf && shape.typeId) {
    try {
      return new BtfEncoder(shape.btf).encode(shape.typeId, value, shape.what);
    } catch (error) {
      if (!(error instanceof EncodeError)) throw error;
      // A struct or array given as one number: fall through to the plain size rules.
    }
  }
  if (shape.size > 16) throw new UsageError(`${shape.what} is ${shape.size} bytes: give it as "hex" and ${shape.size} bytes, text, or JSON`);
  return integerBytes(value, shape.size, shape.what);
}

function fromText(text: string, shape: ValueShape): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > shape.size) throw new UsageError(`${shape.what} ${JSON.stringify(text)} is ${bytes.length} bytes; the map's ${shape.what}s are ${shape.size} bytes`);
  const out = Buffer.alloc(shape.size);
  bytes.copy(out);
  return out;
}

/** A value as user space writes it: per-CPU maps take one 8-byte-aligned slot per possible CPU (the same value in each). */
export function valueOnEveryCpu(mapType: number, valueSize: number, value: Buffer): Buffer {
  if (!isPerCpuMapType(mapType)) return value;
  const slot = perCpuSlotSize(valueSize);
  const all = Buffer.alloc(slot * machineCpuCount());
  for (let cpu = 0; cpu < machineCpuCount(); cpu++) value.copy(all, cpu * slot);
  return all;
}

/** Runs `body`, its failure's message prefixed with the option that asked for it. */
export function withWhere<T>(where: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof LoaderError) error.prepend(`${where}: `);
    throw error;
  }
}
