// ASCII text written in place into a byte buffer (integers' digits, seconds, printable strings): output lines made with no string between.
// Each writer returns where its text ends, or -1 when the text does not fit or is not printable ASCII (the caller then makes it as a string).

/** "00" to "99" as ASCII: digits are written two at a time. */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[2 * i] = 0x30 + Math.floor(i / 10);
  PAIRS[2 * i + 1] = 0x30 + (i % 10);
}

/** How many decimal digits a non-negative integer below 2^32 has. */
function digitCount(value: number): number {
  if (value < 100000) return value < 10 ? 1 : value < 100 ? 2 : value < 1000 ? 3 : value < 10000 ? 4 : 5;
  return value < 1000000 ? 6 : value < 10000000 ? 7 : value < 100000000 ? 8 : value < 1000000000 ? 9 : 10;
}

/** `value` (below 2^32) as exactly `digits` digits, zeros first, ending at `end`. */
function fillDigits(out: Uint8Array, end: number, value: number, digits: number): void {
  let i = end;
  let rest = value;
  for (; digits >= 2; digits -= 2) {
    const next = (rest / 100) >>> 0;
    const pair = 2 * (rest - next * 100);
    out[--i] = PAIRS[pair + 1]!;
    out[--i] = PAIRS[pair]!;
    rest = next;
  }
  if (digits === 1) out[--i] = 0x30 + rest;
}

/** The decimal digits of a non-negative integer below 2^32 at `at`. */
function writeSmall(out: Uint8Array, at: number, value: number): number {
  const digits = digitCount(value);
  if (at + digits > out.length) return -1;
  fillDigits(out, at + digits, value, digits);
  return at + digits;
}

/** `value` (below 1e9) as exactly `digits` digits, zeros first. */
function writePadded(out: Uint8Array, at: number, value: number, digits: number): number {
  if (at + digits > out.length) return -1;
  fillDigits(out, at + digits, value, digits);
  return at + digits;
}

/** A safe integer's decimal digits, as String() gives them. */
export function writeInteger(out: Uint8Array, at: number, value: number): number {
  if (value < 0) {
    if (at >= out.length) return -1;
    out[at++] = 0x2d;
    value = -value;
  }
  if (value < 0x80000000) return writeSmall(out, at, value);
  // In two parts below 1e8 each (a safe integer is below 9.1e15): small integers, fast to divide.
  const high = Math.floor(value / 1e8);
  at = writeSmall(out, at, high);
  return at < 0 ? -1 : writePadded(out, at, value - high * 1e8, 8);
}

/** An unsigned 64-bit integer's decimal digits, from its two 32-bit halves (as unsigned numbers): no bigint. */
export function writeUint64(out: Uint8Array, at: number, high: number, low: number): number {
  if (high < 0x200000) return writeInteger(out, at, high * 0x100000000 + low);
  // Divided by 1e8, the high word and then the low word's two 16-bit halves, each step exact: a quotient below 2^38, then 8 more digits.
  const top = Math.floor(high / 1e8);
  let rest = high - top * 1e8;
  let current = rest * 65536 + (low >>> 16);
  const middle = Math.floor(current / 1e8);
  rest = current - middle * 1e8;
  current = rest * 65536 + (low & 0xffff);
  const bottom = Math.floor(current / 1e8);
  rest = current - bottom * 1e8;
  at = writeInteger(out, at, top * 0x100000000 + middle * 65536 + bottom);
  return at < 0 ? -1 : writePadded(out, at, rest, 8);
}

/** A 64-bit integer's decimal digits from its two 32-bit halves (`high` as read, its sign bit the value's when `signed`). */
export function writeInt64(out: Uint8Array, at: number, high: number, low: number, signed: boolean): number {
  if (!signed || high >= 0) return writeUint64(out, at, high >>> 0, low >>> 0);
  if (at >= out.length) return -1;
  out[at] = 0x2d;
  // Two's complement: the magnitude is the bits inverted, plus one.
  const magnitudeLow = (~low + 1) >>> 0;
  return writeUint64(out, at + 1, (~high + (magnitudeLow === 0 ? 1 : 0)) >>> 0, magnitudeLow);
}

/**
 * Nanoseconds as seconds with 6 decimals, exactly as `(ns / 1e9).toFixed(6)` shows them (the time
 * rule), or -1 where that needs the double itself: a value halfway between two microseconds (the
 * division's rounding decides), negative, or so large that the double's spacing exceeds a nanosecond.
 */
export function writeSeconds(out: Uint8Array, at: number, ns: number): number {
  // Below 2^23 s the spacing of doubles is under 1 ns: ns / 1e9 stays on the side of a halfway point that ns is on.
  if (!(ns >= 0 && ns < 8388608e9)) return -1;
  let seconds = Math.floor(ns / 1e9);
  const rest = ns - seconds * 1e9;
  let micro = Math.floor(rest / 1000);
  const sub = rest - micro * 1000;
  if (sub === 500) return -1;
  if (sub > 500) micro++;
  if (micro === 1e6) {
    seconds++;
    micro = 0;
  }
  at = writeSmall(out, at, seconds);
  if (at < 0 || at >= out.length) return -1;
  out[at++] = 0x2e;
  return writePadded(out, at, micro, 6);
}

/** A string of printable ASCII (0x20-0x7e) as its bytes. */
export function writeAscii(out: Uint8Array, at: number, text: string): number {
  if (at + text.length > out.length) return -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return -1;
    out[at + i] = c;
  }
  return at + text.length;
}
