// src/cli/map-values.ts and src/btf/encode.ts: keys and values from the command line, and JSON through BTF back to
// the exact bytes C lays out (the decoder's inverse).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from '../support/test.js';
import { BtfDecoder } from '../../src/btf/decode.js';
import { BtfEncoder } from '../../src/btf/encode.js';
import { UsageError } from '../../src/errors.js';
import { integerBytes, parseMapValue } from '../../src/cli/map-values.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { fixturePath, loadFixture, thrown } from './helpers.js';

const u = (size: number) => ({ what: 'key' as const, size });

function usage(fn: () => unknown): string {
  const error = thrown(fn);
  assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
  return (error as Error).message;
}

describe('parseMapValue', () => {
  test('numbers take the map size, in host byte order; negative numbers are two\'s complement', () => {
    assert.deepEqual(parseMapValue(['258'], u(2)), { bytes: Buffer.from([2, 1]), used: 1 });
    assert.deepEqual(parseMapValue(['0x01020304'], u(4)).bytes, Buffer.from([4, 3, 2, 1]));
    assert.deepEqual(parseMapValue(['-1'], u(8)).bytes, Buffer.alloc(8, 0xff));
    assert.deepEqual(parseMapValue(['18446744073709551615'], u(8)).bytes, Buffer.alloc(8, 0xff));
    assert.deepEqual(integerBytes(1n, 16, 'key').subarray(0, 2), Buffer.from([1, 0]));
  });

  test('"hex" and the bytes, as separate arguments or one; then the next value', () => {
    assert.deepEqual(parseMapValue(['hex', '01', '0x02', 'ff', '00', '7'], u(4)), { bytes: Buffer.from([1, 2, 0xff, 0]), used: 5 });
    assert.deepEqual(parseMapValue(['hex 01 02 03 04', '7'], u(4)), { bytes: Buffer.from([1, 2, 3, 4]), used: 1 });
    assert.equal(usage(() => parseMapValue(['hex', '01', 'zz', '03', '04'], u(4))), 'key byte 2 "zz" is not a hex byte (00 to ff)');
  });

  test('text is NUL-padded to the size; JSON byte arrays as bpftool dumps them', () => {
    assert.deepEqual(parseMapValue(['bash'], u(8)).bytes, Buffer.from('bash\0\0\0\0'));
    assert.deepEqual(parseMapValue(['"12"'], u(4)).bytes, Buffer.from('12\0\0'), 'quotes make digits text');
    assert.deepEqual(parseMapValue(['["0x01","0x00"]'], u(2)).bytes, Buffer.from([1, 0]));
  });

  test('each wrong size is one line naming the size', () => {
    assert.equal(usage(() => parseMapValue(['70000'], u(2))), 'key 70000 does not fit in 2 bytes');
    assert.equal(usage(() => parseMapValue(['toolong'], u(4))), "key \"toolong\" is 7 bytes; the map's keys are 4 bytes");
    assert.equal(usage(() => parseMapValue(['["0x01"]'], u(2))), 'key is 2 bytes, got 1 bytes');
    assert.equal(usage(() => parseMapValue([], u(2))), 'no key given: a number, "hex" and 2 bytes, text, or JSON');
    assert.match(usage(() => parseMapValue(['{"a":1}'], u(2))), /needs the map's BTF type/);
    assert.match(usage(() => parseMapValue(['{oops'], u(2))), /^key "\{oops" is not valid JSON: /);
  });

  test('JSON through the map\'s BTF: a struct by member names, with enums by name and strings for char arrays', () => {
    const spec = parseBpfObject(loadFixture('decode_types.o'));
    const map = spec.maps.find((m) => m.name === 'decode_events')!;
    const shape = { what: 'value' as const, size: spec.btf!.sizeOf(map.btf!.valueTypeId), btf: spec.btf!, typeId: map.btf!.valueTypeId };
    const bytes = parseMapValue(['{"u8":7,"comm":"zsh","state":"STATE_GONE","level":3,"signed_bits":-2,"anon_b":9,"u64":"18446744073709551615"}'], shape).bytes;
    const decoded = new BtfDecoder(spec.btf!).decode(map.btf!.valueTypeId, bytes) as Record<string, unknown>;
    assert.equal(decoded.u8, 7);
    assert.equal(decoded.comm, 'zsh');
    assert.equal(decoded.state, 'STATE_GONE');
    assert.equal(decoded.level, 3);
    assert.equal(decoded.signed_bits, -2);
    assert.equal(decoded.anon_b, 9);
    assert.equal(decoded.u64, 18446744073709551615n);
    assert.equal(decoded.s16, 0, 'members not given are zero');
    assert.match(usage(() => parseMapValue(['{"nope":1}'], shape)), /^value: no member 'nope' in type \d+ \(struct 'decode_event'\) \(it has u8, s16, /);
    assert.equal(usage(() => parseMapValue(['{"u8":300}'], shape)), 'value.u8: 300 does not fit in 8 unsigned bits');
    assert.match(usage(() => parseMapValue(['{"state":"STATE_ODD"}'], shape)), /^value\.state: "STATE_ODD" is not one of STATE_IDLE, STATE_RUNNING, STATE_GONE$/);
  });
});

describe('BtfEncoder', () => {
  test('encoding what the decoder made of C\'s bytes gives back the same bytes', () => {
    for (const name of ['decode_types.o', 'decode_types.bpfeb.o']) {
      const spec = parseBpfObject(loadFixture(name));
      const type = spec.maps.find((m) => m.name === 'decode_events')!.btf!.valueTypeId;
      const decoder = new BtfDecoder(spec.btf!);
      const encoder = new BtfEncoder(spec.btf!);
      const host = execFileSync(fixturePath('decode_types'));
      if (spec.btf!.littleEndian) assert.deepEqual(encoder.encode(type, decoder.decode(type, host)), host);
      // Big-endian BTF: its own bytes round-trip too.
      const own = encoder.encode(type, decoder.decode(type, host));
      assert.deepEqual(encoder.encode(type, decoder.decode(type, own)), own);
    }
  });
});
