// RunOutput's typed record lines: line after line, the bytes the table rules (wide cells last, a header per shape, widths that only grow) and decodedJson make, whichever way each line is written.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../support/test.js';
import type { Btf } from '../../src/btf/btf.js';
import { BtfDecoder, decodedJson } from '../../src/btf/decode.js';
import { BtfWriter } from '../../src/btf/writer.js';
import { alignedRow, cellText } from '../../src/cli/format.js';
import { RunOutput } from '../../src/cli/run-output.js';
import { FdWriter } from '../../src/cli/writer.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { terminalSafe } from '../../src/text.js';
import { formatRecord, RecordColumnFormatter } from '../../src/values/formats.js';
import { fixturePath } from './helpers.js';

const WIDE = 24;

/** A record type built as BTF, struct event { u32 pid; u32 vals[4]; char path[32]; u64 ts; int ret; } (vals and path wide at times, neither last), and records of it for the two output maps of tool_records. */
function eventRecords(): { btf: Btf; event: number; records: Array<{ map: string; cpu?: number; data: Buffer }> } {
  const w = new BtfWriter();
  const u32 = w.typedef('__u32', w.int('unsigned int', 4));
  const u64 = w.typedef('__u64', w.int('unsigned long long', 8));
  const int = w.int('int', 4, { signed: true });
  const char = w.int('char', 1, { signed: true, char: true });
  const event = w.composite('struct', 'event', 64, [
    { name: 'pid', type: u32, bitOffset: 0 },
    { name: 'vals', type: w.array(u32, 4), bitOffset: 32 },
    { name: 'path', type: w.array(char, 32), bitOffset: 160 },
    { name: 'ts', type: u64, bitOffset: 416 },
    { name: 'ret', type: int, bitOffset: 480 },
  ]);
  const btf = w.finish();
  const record = (pid: number, vals: number[], path: string, ts: bigint, ret: number): Buffer => {
    const b = Buffer.alloc(64);
    b.writeUInt32LE(pid, 0);
    vals.forEach((v, i) => b.writeUInt32LE(v, 4 + 4 * i));
    Buffer.from(path, 'utf8').copy(b, 20, 0, 31);
    b.writeBigUInt64LE(ts, 52);
    b.writeInt32LE(ret, 60);
    return b;
  };
  const records: Array<{ map: string; cpu?: number; data: Buffer }> = [
    { map: 'events', data: record(1, [1, 2, 3, 4], '/etc/passwd', 5_000_000_000n, 0) },
    { map: 'events', data: record(1234567, [4294967295, 4294967295, 1, 2], '/usr/lib/x86_64-linux-gnu/libc', 12_345_678_901_234n, -2) },
    { map: 'events', data: record(1, [1, 2, 3, 4], '/etc/passwd', 5_000_000_000n, 0) },
    { map: 'conns', cpu: 1234, data: record(7, [0, 0, 0, 0], 'a b', 1n, -13) },
    { map: 'conns', cpu: 0, data: record(8, [5, 5, 5, 5], 'caf\u00e9', 2n, 3) },
    { map: 'conns', cpu: 3, data: record(9, [5, 5, 5, 5], 'tab\there', 2n, -4095) },
    { map: 'conns', cpu: 1, data: record(10, [9, 9, 9, 9], '"quoted', 1_000_000_000_500n, 1) },
    { map: 'events', data: record(2, [1, 2, 3, 4], '', 999_999_999_999n, -1) },
    { map: 'conns', cpu: 2, data: record(11, [1, 1, 1, 1], '/x', 3n, 0) },
    { map: 'events', data: record(3, [1, 2, 3, 4], '/etc', 5n, 0) },
  ];
  for (let i = 0; i < 40; i++) records.push({ map: i % 3 === 0 ? 'events' : 'conns', ...(i % 3 === 0 ? {} : { cpu: i }), data: record(100 + i * 997, [i, i * i, 2 ** (i % 32) >>> 0, 7], `/tmp/${'d/'.repeat(i % 15)}f${i}`, BigInt(i) * 123_456_789n, i % 5 === 0 ? -i : i) });

  return { btf, event, records };
}

/** Records through a RunOutput, as a run shows them on stdout: tool_records has two output maps (a ring buffer, a perf buffer), so its lines begin with the map. */
function runOutput(btf: Btf, records: ReadonlyArray<{ map: string; cpu?: number; data: Buffer }>, json: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'lkb-lines-'));
  try {
    const [outFd, errFd] = [openSync(join(dir, 'out'), 'w'), openSync(join(dir, 'err'), 'w')];
    const stdout = new FdWriter(outFd);
    const stderr = new FdWriter(errFd);
    const spec = parseBpfObject(readFileSync(fixturePath('tool_records.o')));
    const output = new RunOutput({ verbose: false, json, recordTypes: new Map([['events', 'event'], ['conns', 'event']]) }, stdout, stderr);
    output.prepare(spec, [{ name: 'test types', btf }]);
    for (const { map, cpu, data } of records) output.record(map, cpu, data);
    stdout.writeNow();
    stderr.writeNow();
    closeSync(outFd);
    closeSync(errFd);
    return readFileSync(join(dir, 'out'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('typed text lines: what the table rules make of each record, through wide cells, strings to quote or escape, errnos, the MAP and CPU columns', () => {
  const { btf, event, records } = eventRecords();

  // The table rules, as the README gives them, with the string path's pieces.
  const formatter = RecordColumnFormatter.of(new BtfDecoder(btf), event)!;
  const titles = formatter.names.map((n) => n.toUpperCase());
  const layouts = new Map<string, { widths: number[]; printed: boolean }>();
  let expected = '';
  for (const { map, cpu, data } of records) {
    const cells = formatter.texts(data, cellText);
    const wide = cells.map((c, i) => (c.length > WIDE ? i : -1)).filter((i) => i >= 0);
    const trailing = wide.every((column, k) => column === cells.length - wide.length + k);
    const order = trailing ? cells.map((_, i) => i) : [...cells.keys()].filter((i) => !wide.includes(i)).concat(wide);
    const names = ['MAP', ...(cpu === undefined ? [] : ['CPU']), ...order.map((i) => titles[i]!)];
    const texts = [map, ...(cpu === undefined ? [] : [String(cpu)]), ...order.map((i) => cells[i]!)];
    const key = `${map} ${names.join(' ')}`;
    let layout = layouts.get(key);
    if (!layout) layouts.set(key, (layout = { widths: names.map((n) => n.length), printed: false }));
    texts.forEach((t, i) => (layout!.widths[i] = Math.max(layout!.widths[i]!, t.length)));
    if (!layout.printed) expected += `${terminalSafe(alignedRow(names, layout.widths))}\n`;
    layout.printed = true;
    expected += `${terminalSafe(alignedRow(texts, layout.widths))}\n`;
  }

  assert.equal(runOutput(btf, records, false), expected);
});

test('typed --json lines: each record the event decodedJson makes of it, data as decoded and formatted by the value rules', () => {
  const { btf, event, records } = eventRecords();
  const decoder = new BtfDecoder(btf);
  const expected = records.map(({ map, cpu, data }) => {
    const decoded = decoder.decode(event, data);
    return `${decodedJson({ event: 'record', map, ...(cpu === undefined ? {} : { cpu }), data: decoded, formatted: formatRecord(btf, event, decoded) })}\n`;
  });
  assert.equal(runOutput(btf, records, true), expected.join(''));
});
