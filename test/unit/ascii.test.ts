// ASCII writers: the same text as String(), BigInt and toFixed, at every edge, or a refusal.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { writeAscii, writeInt64, writeInteger, writeSeconds, writeUint64 } from '../../src/values/ascii.js';

const out = Buffer.alloc(64);
const written = (end: number): string => (end < 0 ? `refused (${end})` : out.subarray(0, end).toString('latin1'));

let seed = 11;
/** A seeded 32-bit random number. */
const random32 = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);

test('writeInteger: String() of every safe integer, at the 2^31, 2^32, 10^8 and 2^53 edges and at random', () => {
  const values = [0, 7, -7, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 1e8 - 1, 1e8, 1e9, 1e16 - 1, 2 ** 53 - 1, -(2 ** 53 - 1)];
  for (let i = 0; i < 2000; i++) values.push(random32(), -random32(), random32() * 2048 + random32(), Math.floor(random32() / (1 + (random32() % 1000))));
  for (const value of values) assert.equal(written(writeInteger(out, 0, value)), String(value), String(value));
});

test('writeUint64 and writeInt64: the digits BigInt gives any 64-bit value from its halves, with no bigint', () => {
  const values = [0n, 1n, 2n ** 21n * 2n ** 32n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 10n ** 19n, 10n ** 19n - 1n, 99999999n * 2n ** 32n];
  for (let i = 0; i < 2000; i++) values.push((BigInt(random32()) << 32n) | BigInt(random32()), BigInt(random32() % 0x400000) << 32n);
  for (const value of values) {
    const high = Number(value >> 32n);
    const low = Number(value & 0xffffffffn);
    assert.equal(written(writeUint64(out, 0, high, low)), value.toString(), `unsigned ${value}`);
    assert.equal(written(writeInt64(out, 0, high | 0, low | 0, true)), BigInt.asIntN(64, value).toString(), `signed ${value}`);
    assert.equal(written(writeInt64(out, 0, high | 0, low | 0, false)), value.toString(), `as unsigned ${value}`);
  }
});

test('writeSeconds: what the time rule shows, (ns / 1e9).toFixed(6), or a refusal where only the double decides', () => {
  const values = [0, 1, 499, 501, 999_999_499, 999_999_500 + 1, 999_999_999, 1e9, 12345e9 + 1001, 8388607e9 + 999_999_999];
  for (let i = 0; i < 20000; i++) values.push((random32() % 0x100000) * 2 ** 32 + random32(), random32() * 1000 + (i % 1000));
  let refused = 0;
  for (const ns of values) {
    const end = writeSeconds(out, 0, ns);
    if (end < 0) {
      refused++;
      // Only the halfway nanoseconds and values past 2^23 seconds are left to the double.
      assert.ok(ns % 1000 === 500 || ns >= 8388608e9, String(ns));
      continue;
    }
    assert.equal(written(end), (ns / 1e9).toFixed(6), String(ns));
  }
  assert.ok(refused < values.length / 100, `${refused} refused`);
  assert.equal(writeSeconds(out, 0, 1500), -1, 'halfway: the double decides');
  assert.equal(writeSeconds(out, 0, -1000), -1, 'negative');
  assert.equal(writeSeconds(out, 0, 2 ** 53), -1, 'past 2^23 s');
});

test('the writers refuse what does not fit, and writeAscii what is not printable ASCII', () => {
  assert.equal(writeInteger(out, 60, 123456), -1);
  assert.equal(writeInteger(out, 63, -1), -1);
  assert.equal(writeUint64(out, 50, 0xffffffff, 0xffffffff), -1);
  assert.equal(writeSeconds(out, 58, 12345e9), -1);
  assert.equal(writeAscii(out, 60, 'hello'), -1);
  assert.equal(written(writeAscii(out, 0, '"-2 ENOENT"')), '"-2 ENOENT"');
  assert.equal(writeAscii(out, 0, 'tab\there'), -1);
  assert.equal(writeAscii(out, 0, 'caf\u00e9'), -1);
  assert.equal(writeAscii(out, 0, 'del\u007f'), -1);
});
