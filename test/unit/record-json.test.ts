// RecordJsonWriter: the bytes of exactly the --json line decodedJson makes of a record's event, decoded data and formatted fields.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { decodedJson } from '../../src/btf/decode.js';
import { RecordJsonWriter } from '../../src/cli/record-json.js';
import { formatRecord } from '../../src/values/formats.js';
import { fixtureRecordTypes } from './helpers.js';

test('RecordJsonWriter writes what decodedJson makes of the record event: every flat struct of every fixture, from BTF and DWARF', () => {
  let seed = 9;
  const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  // Random bytes (strings to escape, invalid UTF-8); ASCII words ended by NULs; quotes and backslashes; small numbers; all ones; zeros.
  const patterns: Array<(i: number) => number> = [
    random,
    (i) => (i % 7 === 6 ? 0 : 0x61 + ((i * 5) % 26)),
    (i) => (i % 9 === 8 ? 0 : i % 4 === 3 ? 0x22 : i % 5 === 4 ? 0x5c : 0x41 + (i % 26)),
    (i) => (i % 8 === 0 ? random() : 0),
    () => 0xff,
    () => 0,
  ];
  const head = Buffer.from('{"event":"record","map":"events",');
  const out = Buffer.alloc(1 << 16);
  let checked = 0;
  let nested = 0;
  for (const { path, btf, decoder, id, formatter } of fixtureRecordTypes()) {
    const writer = RecordJsonWriter.of(formatter);
    if (!writer) {
      assert.ok(formatter.names.some((n) => n.includes('.')), `${path}: type ${id}: only a nested type has no writer`);
      nested++;
      continue;
    }
    for (const [round, pattern] of patterns.entries()) {
      const record = Buffer.from(Array.from({ length: formatter.size + round }, (_, i) => pattern(i)));
      const cpu = round % 2 === 1 ? round * 7 : undefined;
      const data = decoder.decode(id, record);
      const expected = `${decodedJson({ event: 'record', map: 'events', ...(cpu === undefined ? {} : { cpu }), data, formatted: formatRecord(btf, id, data) })}\n`;
      const end = writer.write(record, out, 0, head, cpu);
      assert.equal(out.subarray(0, Math.max(end, 0)).toString('utf8'), expected, `${path}: type ${id} ${btf.type(id).name}, pattern ${round}`);
    }
    checked++;
  }
  assert.ok(checked > 50 && nested > 0, `${checked} types checked, ${nested} nested`);
});

test('RecordJsonWriter refuses a line that does not fit, and writes it whole where there is room', () => {
  const [type] = [...fixtureRecordTypes()].filter((t) => t.formatter.names.length > 3 && !t.formatter.names.some((n) => n.includes('.')));
  const writer = RecordJsonWriter.of(type!.formatter)!;
  const record = Buffer.alloc(type!.formatter.size);
  const head = Buffer.from('{"event":"record","map":"events",');
  const whole = writer.write(record, Buffer.alloc(1 << 16), 0, head, 3);
  assert.ok(whole > 0);
  for (const room of [1, head.length + 3, Math.floor(whole / 2), whole - 1]) assert.equal(writer.write(record, Buffer.alloc(room), 0, head, 3), -1, `${room} bytes of ${whole}`);
  // Its checks of room are bounds (a char array's whole length, 3 bytes a character): ample room writes it, at any offset.
  const roomy = Buffer.alloc(whole + 8192);
  assert.equal(writer.write(record, roomy, 100, head, 3), 100 + whole);
});
