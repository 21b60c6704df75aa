// FdWriter: text, bytes and bytes written in place reach the fd in the order they were written.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../support/test.js';
import { FdWriter } from '../../src/cli/writer.js';

/** Writes `text` in place: its bytes into placeFor's buffer, then committed. */
function place(writer: FdWriter, text: string): void {
  const buffer = writer.placeFor(text.length);
  const at = writer.placeAt;
  buffer.write(text, at, 'latin1');
  writer.commitPlace(at + text.length);
}

test('FdWriter keeps the order of text, bytes and bytes written in place, across buffers, and drops what was placed but not committed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkb-writer-'));
  try {
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    const writer = new FdWriter(fd);
    const expected: string[] = [];
    for (let i = 0; i < 3000; i++) {
      // Long enough that in-place buffers fill and are replaced, and the queue's chunks are sealed.
      const line = `${i} ${'x'.repeat(i % 2000)}\n`;
      // Every way of writing follows every other.
      const way = (i + Math.floor(i / 3)) % 3;
      if (way === 0) writer.write(line);
      else if (way === 1) place(writer, line);
      else writer.writeBytes(Buffer.from(line));
      expected.push(line);
      if (i % 7 === 0) {
        // Placed but not committed: never written.
        writer.placeFor(16).write('lost', writer.placeAt);
      }
    }
    assert.equal(writer.pending, expected.join('').length);
    writer.writeNow();
    closeSync(fd);
    assert.equal(writer.pending, 0);
    assert.equal(readFileSync(path, 'latin1'), expected.join(''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
