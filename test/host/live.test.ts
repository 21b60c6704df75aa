// Host kernel: what programs say while attached arrives, typed: trace_pipe lines, perf buffer and ring
// buffer records (all N, field by field, text and JSON), losses from a tiny ring, snapshots, histograms.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { BtfDecoder } from '../../src/btf/decode.js';
import { linkIds } from '../../src/kernel/bpf.js';
import { PerfBufferReader } from '../../src/kernel/perf-buffer.js';
import { RingBufferReader } from '../../src/kernel/ring-buffer.js';
import { LoadedObject } from '../../src/loader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { planAttachments } from '../../src/attach/plan.js';
import { RunningCli, fixture, jsonEvents, stopRunningClis } from '../support/cli.js';

after(stopRunningClis);

const EMIT = fixture('emit_calls');
const ATTACHED = /press Ctrl-C|detaching in|"event":"attached"/;

interface EventRecord {
  pid: number;
  seq: number;
  comm: string;
  value: number;
  delta: number;
  pad: number[];
}

/** The record emit_calls' call number `seq` makes the fixtures send. */
const expected = (seq: number, pid: number): EventRecord => ({ pid, seq, comm: 'emit_calls', value: seq * 3, delta: -seq, pad: [0, 0, 0, 0, 0, 0] });

async function emit(count: number, first = 1, cpu?: number): Promise<number> {
  // The pid of the emitting process is what the program records; run it and learn it afterwards.
  // taskset execs it, so the pid stays the same.
  return new Promise((resolve, reject) => {
    const child = cpu === undefined ? spawn(EMIT, [String(count), String(first)]) : spawn('taskset', ['-c', String(cpu), EMIT, String(count), String(first)]);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(child.pid!) : reject(new Error(`emit_calls exited with ${code}`))));
  });
}

/**
 * Starts emit_calls so that it stays alive after its calls until released: while it lives, its
 * pid names it in /proc, which is where a trace line's `<...>` task gets its name.
 */
function emitHeld(count: number): { pid: number; release(): Promise<void> } {
  const child = spawn(EMIT, [String(count), '1', 'hold'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const ended = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`emit_calls exited with ${code}`))));
  });
  return {
    pid: child.pid!,
    release: () => {
      child.stdin.end();
      return ended;
    },
  };
}

const perfEventFds = (): number => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[perf_event]';
  } catch {
    return false;
  }
}).length;

describe('trace_pipe', () => {
  test('the line a program prints with bpf_trace_printk appears, with task, pid and CPU', async () => {
    const cli = new RunningCli([fixture('trace_printk.o'), '--json']);
    await cli.waitFor(ATTACHED);
    await cli.waitFor(/trace_pipe, which is system-wide/, 10_000, 'stderr');
    // The kernel names the task from its saved-cmdlines cache, or writes <...> when the name has
    // left it; then the loader reads /proc/<pid>/comm, which needs the process alive meanwhile.
    const emitter = emitHeld(3);
    try {
      await cli.waitFor(/lkb hello 3/);
    } finally {
      await emitter.release();
    }
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    // trace_pipe is system-wide and keeps what nobody read: only this emit_calls's lines count.
    const lines = jsonEvents(result.stdout).filter((e) => e.event === 'trace' && e.pid === emitter.pid);
    assert.deepEqual(lines.map((l) => [l.message, l.task, l.pid]), [1, 2, 3].map((n) => [`lkb hello ${n}`, 'emit_calls', emitter.pid]));
    for (const l of lines) {
      assert.ok(l.taskFrom === undefined || l.taskFrom === 'proc', `taskFrom ${String(l.taskFrom)}`);
      assert.equal(typeof l.cpu, 'number');
      assert.ok((l.time as number) > 0);
    }
  });

  test('--no-trace-pipe leaves trace_pipe alone', async () => {
    const cli = new RunningCli([fixture('trace_printk.o'), '--no-trace-pipe', '--json']);
    await cli.waitFor(ATTACHED);
    await emit(2, 100);
    await new Promise((r) => setTimeout(r, 300));
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /"event":"trace"/);
    assert.doesNotMatch(result.stderr, /trace_pipe/);
  });
});

describe('perf event arrays and ring buffers', () => {
  for (const [object, map, count, kept] of [
    ['perf_output.o', 'events', 200, (seq: number) => seq > 0],
    ['ringbuf_output.o', 'records', 200, (seq: number) => seq % 5 !== 0],
  ] as const) {
    test(`${object}: all ${count} records arrive in JSON, decoded field by field, none lost`, async () => {
      const cli = new RunningCli([fixture(object), '--json']);
      await cli.waitFor(ATTACHED);
      const pid = await emit(count);
      const want = Array.from({ length: count }, (_, i) => i + 1).filter(kept);
      await cli.waitFor(new RegExp(`"seq":${want.at(-1)},`));
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      const events = jsonEvents(result.stdout);
      const records = events.filter((e) => e.event === 'record');
      assert.ok(records.every((r) => r.map === map));
      const data = records.map((r) => r.data as EventRecord).sort((a, b) => a.seq - b.seq);
      assert.deepEqual(data, want.map((seq) => expected(seq, pid)));
      assert.deepEqual(events.find((e) => e.event === 'detached')!.lost, {});
      assert.equal(events.filter((e) => e.event === 'lost').length, 0);
    });

    test(`${object}: text output is one aligned line per record under a header`, async () => {
      const cli = new RunningCli([fixture(object)]);
      await cli.waitFor(ATTACHED);
      const pid = await emit(12);
      const last = Math.max(...Array.from({ length: 12 }, (_, i) => i + 1).filter(kept));
      await cli.waitFor(new RegExp(`emit_calls\\s+${last * 3}\\s`));
      const result = await cli.stop('SIGINT');
      const lines = result.stdout.split('\n');
      const header = lines.findIndex((l) => /\bPID\s+SEQ\s+COMM\s+VALUE\s+DELTA\s+PAD$/.test(l));
      assert.ok(header >= 0, result.stdout);
      const rows = lines.slice(header + 1).filter((l) => /emit_calls/.test(l));
      assert.equal(rows.length, Array.from({ length: 12 }, (_, i) => i + 1).filter(kept).length);
      const column = lines[header]!.indexOf('COMM');
      for (const row of rows) {
        assert.equal(row.indexOf('emit_calls'), column, `aligned: ${JSON.stringify(row)}`);
        assert.match(row, new RegExp(`\\b${pid}\\s+(\\d+)\\s+emit_calls\\s+(\\d+)\\s+(-\\d+)\\s+\\[0,0,0,0,0,0\\]$`));
      }
    });
  }

  test('a one-page perf ring under a burst: losses are reported with a count, and the tool keeps running', async () => {
    const cli = new RunningCli([fixture('perf_output.o'), '--perf-pages', '1', '--json']);
    await cli.waitFor(ATTACHED);
    // On one CPU: the kernel reports a ring's losses with its next record, so the last call must use the same ring.
    await emit(20000, 1, 0);
    // Still attached and reading: a later record arrives, and with it the report of the last losses.
    await new Promise((r) => setTimeout(r, 1500));
    await emit(1, 999999, 0);
    await cli.waitFor(/"seq":999999,/);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const events = jsonEvents(result.stdout);
    const lost = events.filter((e) => e.event === 'lost').reduce((sum, e) => sum + Number(e.count), 0);
    const received = events.filter((e) => e.event === 'record' && (e.data as EventRecord).seq <= 20000).length;
    assert.ok(lost > 0, 'some were lost');
    assert.equal(received + lost, 20000, `received ${received} + lost ${lost}`);
    assert.equal(Number((events.find((e) => e.event === 'detached')!.lost as Record<string, number>).events), lost);
  });

  test('the ring buffer size is rounded up to a power-of-two multiple of the page size', async () => {
    const cli = new RunningCli([fixture('ringbuf_output.o'), '--json']);
    await cli.waitFor(ATTACHED);
    const result = await cli.stop('SIGINT');
    const maps = jsonEvents(result.stdout)[0]!.maps as Array<{ maxEntries: number }>;
    assert.equal(maps[0]!.maxEntries, 131072);
  });
});

describe('readers as library objects', () => {
  test('a perf buffer reader is an async iterable; closing it closes its perf events and leaves no link', async () => {
    const spec = parseBpfObject(readFileSync(fixture('perf_output.o')));
    const linksBefore = new Set(linkIds());
    const fdsBefore = perfEventFds();
    const plan = planAttachments(spec).attachments;
    let reader: PerfBufferReader | undefined;
    const loaded = LoadedObject.start(spec, { attach: plan, beforeAttach: (l) => (reader = l.own(PerfBufferReader.open(l.maps.get('events')!.map))) });
    try {
      assert.ok(perfEventFds() > fdsBefore, 'per-CPU output events are open');
      const pid = await emit(5);
      const decoder = new BtfDecoder(spec.btf!);
      const type = spec.btf!.typesNamed('event')[0]!.id;
      const got: EventRecord[] = [];
      // Closing the reader ends the iteration: the deadline for records that do not come.
      const deadline = setTimeout(() => reader!.close(), 30_000);
      for await (const record of reader!) {
        got.push(decoder.decode(type, record.data) as unknown as EventRecord);
        if (got.length === 5) break;
      }
      clearTimeout(deadline);
      assert.equal(got.length, 5, `${got.length} of 5 records arrived within 30 s`);
      assert.deepEqual(got.map((r) => ({ ...r, value: Number(r.value) })).sort((a, b) => a.seq - b.seq), [1, 2, 3, 4, 5].map((s) => expected(s, pid)));
    } finally {
      loaded.close();
    }
    assert.equal(perfEventFds(), fdsBefore, 'no perf event fd is left');
    assert.deepEqual(linkIds().filter((id) => !linksBefore.has(id)), [], 'no link is left');
  });

  test('a ring buffer reader delivers records by callback and refuses to poll after close', async () => {
    const spec = parseBpfObject(readFileSync(fixture('ringbuf_output.o')));
    const seqs: number[] = [];
    let reader: RingBufferReader | undefined;
    const loaded = LoadedObject.start(spec, {
      attach: planAttachments(spec).attachments,
      beforeAttach: (l) => (reader = l.own(RingBufferReader.open(l.maps.get('records')!.map, { onRecord: (r) => seqs.push(r.data.readUInt32LE(4)) }))),
    });
    try {
      await emit(10);
      for (let i = 0; i < 500 && seqs.length < 8; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seqs, [1, 2, 3, 4, 6, 7, 8, 9]);
      assert.equal(reader!.discarded, 2);
    } finally {
      loaded.close();
    }
    assert.throws(() => reader!.poll(), /the ring buffer reader of map 'records' is closed/);
  });
});

describe('snapshots, histograms, duration', () => {
  test('--interval 1 prints the maps at least twice in 3 s; --duration ends the run with the same report', async () => {
    const cli = new RunningCli([fixture('size_hist.o'), '--interval', '1', '--duration', '3.2', '--json']);
    await cli.waitFor(ATTACHED);
    await emit(100);
    const result = await cli.result();
    assert.equal(result.code, 0, result.stderr);
    const events = jsonEvents(result.stdout);
    const snapshots = events.filter((e) => e.event === 'maps');
    assert.ok(snapshots.length >= 2, `${snapshots.length} snapshots`);
    const detached = events.find((e) => e.event === 'detached')!;
    assert.equal(detached.reason, 'duration');
    assert.equal(detached.signal, null);
  });

  test('a histogram map prints as log2 buckets with bars; --json gives the buckets as numbers', async () => {
    const text = new RunningCli([fixture('size_hist.o'), '--hist', 'size_hist']);
    await text.waitFor(ATTACHED);
    await emit(100);
    const shown = await text.stop('SIGINT');
    assert.match(shown.stdout, /^\s+value\s+: count\s+distribution$/m);
    assert.match(shown.stdout, /^\s+32 -> 63\s+: 32\s+\|\*+\s*\|$/m);
    assert.match(shown.stdout, /^\s+64 -> 127\s+: 37\s+\|\*{40}\|$/m);
    const json = new RunningCli([fixture('size_hist.o'), '--hist', 'size_hist', '--json']);
    await json.waitFor(ATTACHED);
    await emit(100);
    const result = await json.stop('SIGINT');
    const map = (jsonEvents(result.stdout).find((e) => e.event === 'detached')!.maps as Array<{ histograms: Array<{ buckets: Array<{ low: number; high: number; count: number }> }> }>)[0]!;
    const buckets = map.histograms[0]!.buckets;
    assert.deepEqual(buckets.slice(0, 3), [
      { low: 0, high: 0, count: 0 },
      { low: 1, high: 1, count: 1 },
      { low: 2, high: 3, count: 2 },
    ]);
    assert.equal(buckets.reduce((sum, b) => sum + b.count, 0), 100);
  });

  test('--hist and --record-type name maps and structs the object has, or say what it has', async () => {
    let result = await new RunningCli([fixture('size_hist.o'), '--hist', 'nope']).result();
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim(), "load-kp-bpf: --hist nope: the object has no map 'nope'; it has 'size_hist'");
    result = await new RunningCli([fixture('perf_output.o'), '--record-type', 'events=nothing']).result();
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^load-kp-bpf: --record-type events=nothing: no struct 'nothing' in the object's BTF, the object's DWARF; they have .*\bstruct event\b/);
  });
});
