// RecordLineWriter: the bytes of exactly the line the string path makes (texts, cellText, alignedRow), or a refusal where that line is not for it.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { RecordLineWriter } from '../../src/cli/record-line.js';
import { alignedRow, cellText } from '../../src/cli/format.js';
import { fixtureRecordTypes } from './helpers.js';

const WIDE = 24;

test('RecordLineWriter writes what alignedRow makes of the formatter texts, widening the same widths: every struct of every fixture, from BTF and DWARF', () => {
  let seed = 5;
  const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  // Random bytes; ASCII words ended by NULs; words with spaces (quoted); small numbers; all ones (-1, errnos); zeros (empty strings).
  const patterns: Array<(i: number) => number> = [
    random,
    (i) => (i % 7 === 6 ? 0 : 0x61 + ((i * 5) % 26)),
    (i) => (i % 9 === 8 ? 0 : i % 4 === 3 ? 0x20 : 0x41 + (i % 26)),
    (i) => (i % 8 === 0 ? random() : 0),
    () => 0xff,
    () => 0,
  ];
  const out = Buffer.alloc(8192);
  let written = 0;
  let refused = 0;
  for (const { path, btf, id, formatter } of fixtureRecordTypes()) {
    const line = new RecordLineWriter(formatter, WIDE);
    const widths = formatter.names.map((n) => n.length);
    // Half the rounds behind a lead cell, as the CPU column comes first.
    const lead = [1, ...widths];
    for (const [round, pattern] of patterns.entries()) {
      const record = Buffer.from(Array.from({ length: formatter.size + round }, (_, i) => pattern(i)));
      const texts = formatter.texts(record, cellText);
      const withLead = round % 2 === 1;
      const cells = withLead ? ['7', ...texts] : texts;
      const shown = withLead ? lead : widths;
      const expectedWidths = shown.map((w, i) => Math.max(w, cells[i]!.length));
      const ascii = cells.every((t) => /^[\x20-\x7e]*$/.test(t));
      const wideInside = texts.slice(0, -1).some((t) => t.length > WIDE);
      const actualWidths = [...shown];
      let end = withLead ? line.lead('7', out, 0, actualWidths, 0) : 0;
      end = line.write(record, out, end, actualWidths, withLead ? 1 : 0);
      const what = `${path}: type ${id} ${btf.type(id).name}, pattern ${round}`;
      if (!ascii || wideInside || texts.length === 0) {
        assert.equal(end, -1, `${what}: refused`);
        refused++;
        continue;
      }
      assert.ok(end > 0, `${what}: written`);
      assert.equal(out.subarray(0, end).toString('latin1'), `${alignedRow(cells, expectedWidths)}\n`, what);
      assert.deepEqual(actualWidths, expectedWidths, `${what}: widths`);
      shown.splice(0, shown.length, ...expectedWidths);
      written++;
    }
  }
  assert.ok(written > 200 && refused > 20, `${written} lines written, ${refused} refused`);
});

test('RecordLineWriter refuses a line that does not fit, and writes it whole where it does', () => {
  const [type] = [...fixtureRecordTypes()].filter((t) => t.formatter.names.length > 3);
  const { formatter } = type!;
  const line = new RecordLineWriter(formatter, WIDE);
  const record = Buffer.alloc(formatter.size);
  const widths = formatter.names.map(() => 10);
  const whole = line.write(record, Buffer.alloc(4096), 0, [...widths], 0);
  assert.ok(whole > 0);
  for (const room of [1, Math.floor(whole / 2), whole - 1]) assert.equal(line.write(record, Buffer.alloc(room), 0, [...widths], 0), -1, `${room} bytes of ${whole}`);
  assert.equal(line.write(record, Buffer.alloc(whole), 0, [...widths], 0), whole);
});
