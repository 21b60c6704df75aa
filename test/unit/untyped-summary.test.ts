// Untyped records in one line: length, leading integers, C strings, trailing zeros; an integer's printable bytes are no string.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { untypedSummary } from '../../src/cli/map-view.js';

/** An opensnoop-like record: u64 ts, u32 pid, u32 uid, then comm[16] and fname[32]. */
function record(ts: bigint, comm: string, fname: string): Buffer {
  const b = Buffer.alloc(72);
  b.writeBigUInt64LE(ts, 0);
  b.writeUInt32LE(4242, 8);
  b.write(comm, 16, 'latin1');
  b.write(fname, 32, 'latin1');
  return b;
}

test('leading integers up to the first string, the strings, the zeros at the end', () => {
  assert.equal(untypedSummary(record(0x0000_09e7_0102_0304n, 'cat', '/etc/passwd')), '72 bytes, u32 16909060 2535 4242 0 7627107 0 0 0, "/etc/passwd", 29 zero bytes at the end', 'a 3-letter comm is no string: its word is an integer');
  assert.equal(untypedSummary(record(0x1n, 'emit_calls', '/etc/passwd')), '72 bytes, u32 1 0 4242 0, "emit_calls" "/etc/passwd", 29 zero bytes at the end');
});

test("a timestamp whose low bytes are printable ('mIMq') is still integers: a string ends with a NUL", () => {
  const ts = 0x0000_09e7_714d_496dn; // bytes 6d 49 4d 71: "mIMq", then e7 09
  assert.equal(untypedSummary(record(ts, 'emit_calls', '/etc/passwd')), `72 bytes, u32 ${0x714d496d} 2535 4242 0, "emit_calls" "/etc/passwd", 29 zero bytes at the end`);
});
