// src/cli/format.ts: aligned tables, map keys and values as numbers or hex, per-CPU sums, sorting.
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { describe, test } from '../support/test.js';
import { formatBytes, mapEntryView, sortEntries, table, type MapEntryView } from '../../src/cli/format.js';
import { MAP_TYPE } from '../../src/object/map-types.js';

const HOST_LE = endianness() === 'LE';

/** An integer's bytes in host order. */
function hostBytes(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[HOST_LE ? i : size - 1 - i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

describe('table', () => {
  test('left-aligned columns, two spaces apart, the last column unpadded', () => {
    assert.deepEqual(
      table([
        ['NAME', 'TYPE', 'KEY'],
        ['kp_bpf_calls', 'array', '4'],
        ['x', 'percpu_hash', '16'],
      ]),
      ['NAME          TYPE         KEY', 'kp_bpf_calls  array        4', 'x             percpu_hash  16'],
    );
  });

  test('trailing spaces are trimmed; short rows are fine', () => {
    assert.deepEqual(
      table([
        ['a', 'bbbb', ''],
        ['cc', ''],
        ['d'],
      ]),
      ['a   bbbb', 'cc', 'd'],
    );
    assert.deepEqual(table([]), []);
  });
});

describe('formatBytes', () => {
  test('1, 2, 4 and 8 bytes are unsigned integers in host byte order', () => {
    assert.equal(formatBytes(Uint8Array.of(0xff)), '255');
    assert.equal(formatBytes(hostBytes(0x1234n, 2)), '4660');
    assert.equal(formatBytes(hostBytes(0xffffffffn, 4)), '4294967295');
    assert.equal(formatBytes(hostBytes(7n, 4)), '7');
    assert.equal(formatBytes(hostBytes(0xffffffffffffffffn, 8)), '18446744073709551615');
    assert.equal(formatBytes(hostBytes(1n << 40n, 8)), '1099511627776');
  });

  test('an explicit byte order', () => {
    assert.equal(formatBytes(Uint8Array.of(0x12, 0x34), true), '13330');
    assert.equal(formatBytes(Uint8Array.of(0x12, 0x34), false), '4660');
    assert.equal(formatBytes(Uint8Array.of(0, 0, 0, 1), false), '1');
    assert.equal(formatBytes(Uint8Array.of(0, 0, 0, 1), true), '16777216');
    assert.equal(formatBytes(Uint8Array.of(0, 0, 0, 0, 0, 0, 1, 0), false), '256');
  });

  test('other sizes are hex', () => {
    assert.equal(formatBytes(Uint8Array.of(1, 2, 3)), '0x010203');
    assert.equal(formatBytes(new Uint8Array(0)), '0x');
    assert.equal(formatBytes(Uint8Array.from({ length: 16 }, (_, i) => i)), '0x000102030405060708090a0b0c0d0e0f');
  });

  test('NUL-padded printable text of other sizes is a quoted string', () => {
    const comm = new Uint8Array(16);
    comm.set(Buffer.from('bash'));
    assert.equal(formatBytes(comm), '"bash"');
    assert.equal(formatBytes(Uint8Array.of(0x41, 0x42, 0)), '"AB"');
  });

  test('text that is not NUL-padded, not printable, or empty stays hex', () => {
    assert.equal(formatBytes(Buffer.from('abc')), '0x616263', 'no NUL at the end');
    assert.equal(formatBytes(Uint8Array.of(0x41, 0, 0x42)), '0x410042', 'bytes after the NUL');
    assert.equal(formatBytes(Uint8Array.of(0x41, 0x0a, 0)), '0x410a00', 'a control character');
    assert.equal(formatBytes(Uint8Array.of(0, 0, 0)), '0x000000', 'nothing before the NUL');
  });

  test('a view into a bigger buffer reads only its own bytes', () => {
    const buffer = Uint8Array.of(9, 9, 9, 5, 0, 0, 0, 9, 9);
    const view = buffer.subarray(3, 7);
    assert.equal(formatBytes(view, true), '5');
  });
});

describe('mapEntryView', () => {
  test('plain maps: key and value', () => {
    assert.deepEqual(mapEntryView(MAP_TYPE.HASH, 8, hostBytes(5n, 4), hostBytes(42n, 8)), { key: '5', value: '42' });
    assert.deepEqual(mapEntryView(MAP_TYPE.ARRAY, 3, hostBytes(0n, 4), Uint8Array.of(0xaa, 0xbb, 0xcc)), { key: '0', value: '0xaabbcc' });
  });

  test('per-CPU integer values: one 8-byte slot per CPU, summed', () => {
    // 4-byte values in 8-byte slots; the padding holds junk that must be ignored.
    const value = new Uint8Array(24).fill(0xee);
    value.set(hostBytes(1n, 4), 0);
    value.set(hostBytes(2n, 4), 8);
    value.set(hostBytes(3n, 4), 16);
    assert.deepEqual(mapEntryView(MAP_TYPE.PERCPU_ARRAY, 4, hostBytes(0n, 4), value), { key: '0', value: '6', perCpu: ['1', '2', '3'] });
  });

  test('per-CPU u64 sums do not overflow', () => {
    const value = new Uint8Array(16);
    value.set(hostBytes(0xffffffffffffffffn, 8), 0);
    value.set(hostBytes(1n, 8), 8);
    const view = mapEntryView(MAP_TYPE.PERCPU_HASH, 8, hostBytes(1n, 4), value);
    assert.equal(view.value, '18446744073709551616');
    assert.deepEqual(view.perCpu, ['18446744073709551615', '1']);
  });

  test('per-CPU values that are not integers are listed per CPU', () => {
    const value = new Uint8Array(32);
    value.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 0);
    value.set([0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15], 16);
    const view = mapEntryView(MAP_TYPE.LRU_PERCPU_HASH, 12, hostBytes(2n, 4), value);
    assert.deepEqual(view.perCpu, ['0x0102030405060708090a0b0c', '0x0a0b0c0d0e0f101112131415']);
    assert.equal(view.value, '0x0102030405060708090a0b0c 0x0a0b0c0d0e0f101112131415');
  });

  test('a per-CPU value size of 0 does not loop forever', () => {
    const view = mapEntryView(MAP_TYPE.PERCPU_ARRAY, 0, hostBytes(0n, 4), new Uint8Array(16));
    assert.deepEqual(view.perCpu, ['0x', '0x'], 'one empty value per 8-byte slot');
  });
});

describe('sortEntries', () => {
  const entry = (key: string): MapEntryView => ({ key, value: '0' });

  test('numeric keys sort as numbers, also beyond 2^53', () => {
    const sorted = sortEntries(['10', '9', '100', '0', '18446744073709551615', '9007199254740993', '9007199254740992'].map(entry));
    assert.deepEqual(
      sorted.map((e) => e.key),
      ['0', '9', '10', '100', '9007199254740992', '9007199254740993', '18446744073709551615'],
    );
  });

  test('other keys sort as text; the input is not modified', () => {
    const input = ['0x0b', '0x0a', '3'].map(entry);
    assert.deepEqual(sortEntries(input).map((e) => e.key), ['0x0a', '0x0b', '3']);
    assert.deepEqual(input.map((e) => e.key), ['0x0b', '0x0a', '3']);
  });
});
