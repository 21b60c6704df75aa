// The map dump's hot loops: decimal lines and bpftool-style JSON entries written straight into bytes, without strings.
import { endianness } from 'node:os';

const little = endianness() === 'LE';
const SPACE = 0x20;
const NEWLINE = 0x0a;
const ZERO = 0x30;
/** "00" to "99" as byte pairs: two digits per division. */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[i * 2] = ZERO + Math.floor(i / 10);
  PAIRS[i * 2 + 1] = ZERO + (i % 10);
}

/** Digits of a value below 2^32 (the int arithmetic V8 keeps fast). */
function digits32(v: number): number {
  return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/** Writes v (below 2^32) as `count` digits ending before `end`. */
function fill32(out: Uint8Array, end: number, v: number, count: number): void {
  let at = end;
  let left = count;
  while (left >= 2) {
    // >>> 0 keeps the quotient a 32-bit integer (v is below 2^32), which V8 divides fastest.
    const q = (v / 100) >>> 0;
    const pair = (v - q * 100) * 2;
    v = q;
    out[--at] = PAIRS[pair + 1]!;
    out[--at] = PAIRS[pair]!;
    left -= 2;
  }
  if (left === 1) out[--at] = ZERO + (v % 10);
}

/** Writes `value` (below 2^53) as decimal digits at `at`; returns where it ended. */
function writeDecimal(out: Uint8Array, at: number, value: number): number {
  if (value < 4294967296) {
    const n = digits32(value);
    fill32(out, at + n, value, n);
    return at + n;
  }
  // Split in two: the high part, then exactly 9 low digits.
  const high = Math.floor(value / 1e9);
  const low = value - high * 1e9;
  const n = writeDecimal(out, at, high);
  fill32(out, n + 9, low, 9);
  return n + 9;
}

/** Unsigned integers of a size (1, 2, 4, 8) in host order, as numbers, or bigints for 64-bit values past 2^53. */
function reader(buffer: Buffer, size: number): (i: number) => number | bigint {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  switch (size) {
    case 1:
      return (i) => buffer[i]!;
    case 2:
      return (i) => view.getUint16(i * 2, little);
    case 4:
      return (i) => view.getUint32(i * 4, little);
    default:
      return (i) => {
        const high = view.getUint32(i * 8 + (little ? 4 : 0), little);
        const low = view.getUint32(i * 8 + (little ? 0 : 4), little);
        return high < 0x200000 ? high * 4294967296 + low : (BigInt(high) << 32n) | BigInt(low);
      };
  }
}

/**
 * "key  value" lines for `count` entries of integer keys and values laid out back to back (as a
 * batch lookup returns them), the key padded to `keyWidth` columns. Returns the bytes.
 */
export function integerPairLines(keys: Buffer, values: Buffer, count: number, keySize: number, valueSize: number, keyWidth: number): Buffer {
  // At most 20 digits for a value, keyWidth (or 20) for a key, two spaces and a newline.
  const out = Buffer.allocUnsafe(count * (Math.max(keyWidth, 20) + 23));
  if (keySize === 4 && valueSize === 8 && little && keys.byteOffset % 4 === 0 && values.byteOffset % 4 === 0) {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.length);
    return out.subarray(0, u32u64Lines(new Uint32Array(keys.buffer, keys.byteOffset, count), new Uint32Array(values.buffer, values.byteOffset, count * 2), count, keyWidth, bytes));
  }
  const key = reader(keys, keySize);
  const value = reader(values, valueSize);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const k = key(i);
    const start = at;
    at = typeof k === 'number' ? writeDecimal(out, at, k) : at + out.write(k.toString(), at, 'latin1');
    const pad = start + keyWidth;
    while (at < pad) out[at++] = SPACE;
    out[at++] = SPACE;
    out[at++] = SPACE;
    const v = value(i);
    at = typeof v === 'number' ? writeDecimal(out, at, v) : at + out.write(v.toString(), at, 'latin1');
    out[at++] = NEWLINE;
  }
  return out.subarray(0, at);
}

/** The most common map, u32 -> u64, on a little-endian machine: read through 32-bit views, no closures. */
function u32u64Lines(keys: Uint32Array, values: Uint32Array, count: number, keyWidth: number, out: Uint8Array): number {
  let at = 0;
  for (let i = 0; i < count; i++) {
    const k = keys[i]!;
    const n = digits32(k);
    fill32(out, at + n, k, n);
    const pad = at + keyWidth;
    at += n;
    while (at < pad) out[at++] = SPACE;
    out[at++] = SPACE;
    out[at++] = SPACE;
    const high = values[i * 2 + 1]!;
    const low = values[i * 2]!;
    if (high === 0) {
      const m = digits32(low);
      fill32(out, at + m, low, m);
      at += m;
    } else if (high < 0x200000) {
      at = writeDecimal(out, at, high * 4294967296 + low);
    } else {
      for (const c of ((BigInt(high) << 32n) | BigInt(low)).toString()) out[at++] = c.charCodeAt(0);
    }
    out[at++] = NEWLINE;
  }
  return at;
}

/** '"0x00"' to '"0xff"' as bytes, for JSON hex byte arrays. */
const HEX_BYTES = new Uint8Array(256 * 6);
for (let i = 0; i < 256; i++) HEX_BYTES.set(Buffer.from(`"0x${i.toString(16).padStart(2, '0')}"`, 'latin1'), i * 6);
const KEY_OPEN = Buffer.from('{"key":[', 'latin1');
const VALUE_OPEN = Buffer.from('],"value":[', 'latin1');
const ENTRY_CLOSE = Buffer.from(']}', 'latin1');

function writeHexArray(out: Uint8Array, at: number, bytes: Uint8Array, from: number, size: number): number {
  for (let i = 0; i < size; i++) {
    if (i > 0) out[at++] = 0x2c;
    const b = bytes[from + i]! * 6;
    for (let j = 0; j < 6; j++) out[at++] = HEX_BYTES[b + j]!;
  }
  return at;
}

/**
 * `count` dump entries as bpftool's JSON writes untyped ones, {"key":["0x..",...],"value":[...]},
 * each on its own line after a comma (no comma before the first of the dump). Returns the bytes.
 */
export function hexJsonEntries(keys: Buffer, values: Buffer, count: number, keySize: number, valueSize: number, first: boolean): Buffer {
  const entry = KEY_OPEN.length + VALUE_OPEN.length + ENTRY_CLOSE.length + 7 * (keySize + valueSize) + 2;
  const buffer = Buffer.allocUnsafe(count * entry);
  const out = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (!(first && i === 0)) out[at++] = 0x2c;
    out[at++] = NEWLINE;
    out.set(KEY_OPEN, at);
    at = writeHexArray(out, at + KEY_OPEN.length, keys, i * keySize, keySize);
    out.set(VALUE_OPEN, at);
    at = writeHexArray(out, at + VALUE_OPEN.length, values, i * valueSize, valueSize);
    out.set(ENTRY_CLOSE, at);
    at += ENTRY_CLOSE.length;
  }
  return buffer.subarray(0, at);
}
