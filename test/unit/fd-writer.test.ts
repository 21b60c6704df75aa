// FdWriter: text, bytes and bytes written in place reach the fd in the order they were written, to a file and through a pipe read slowly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
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

test('FdWriter through a pipe read a little at a time: every line in order, in pipe-sized writes, nothing lost while the pipe is full', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkb-writer-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    const writer = new FdWriter(fd);
    const expected: string[] = [];
    const received: Buffer[] = [];
    const chunk = Buffer.alloc(8192);
    /** Reads what the pipe holds, up to `bytes`; how much. */
    const read = (bytes: number): number => {
      try {
        const n = readSync(reader, chunk, 0, Math.min(bytes, chunk.length), null);
        received.push(Buffer.from(chunk.subarray(0, n)));
        return n;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        return 0;
      }
    };
    for (let turn = 0; turn < 200; turn++) {
      for (let k = 0; k < 20; k++) {
        const i = expected.length;
        // Mostly short lines, some longer than half a pipe-sized chunk (those go to the queue as they are).
        const line = `${i} ${'y'.repeat(i % 17 === 0 ? 3000 + (i % 5000) : i % 90)}\n`;
        const way = (i + Math.floor(i / 3)) % 3;
        if (way === 0) writer.write(line);
        else if (way === 1) place(writer, line);
        else writer.writeBytes(Buffer.from(line));
        expected.push(line);
      }
      // The writer writes on the next turn what the pipe takes; the reader takes less than was written.
      await new Promise(setImmediate);
      read(2000);
    }
    const deadline = Date.now() + 30_000;
    while (writer.pending > 0 && Date.now() < deadline) {
      read(8192);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // What the writer wrote last is still in the pipe.
    while (read(8192) > 0);
    assert.equal(writer.pending, 0, 'everything written before the deadline');
    assert.equal(Buffer.concat(received).toString('latin1'), expected.join(''));
  } finally {
    closeSync(fd);
    closeSync(reader);
    rmSync(dir, { recursive: true, force: true });
  }
});
