// npm run bench -- stream [--seconds S] [--drain-records N] [--rss-seconds S]: records per second a consumer
// takes from a ring buffer and a perf buffer (16- and 64-byte records) under a tight system-call loop, ours
// against a C consumer on Debian's libbpf in the same run; draining a ring filled while nobody read, which
// the producer's speed cannot set; text output at 100k records/s; memory over a long stream.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ringBufferSize } from '../../src/kernel/ring-buffer.js';
import { loadedProgramIds } from '../../test/support/kernel.js';

const HERE = new URL('.', import.meta.url).pathname;
const REPO = new URL('../..', import.meta.url).pathname;
const BUILD = join(HERE, 'build');
const CLI = join(REPO, 'bin/load-kp-bpf.js');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, 'drain-records': { type: 'string', default: '1000000' }, 'rss-seconds': { type: 'string', default: '60' } } });
const SECONDS = Number(values.seconds);
const DRAIN_RECORDS = Number(values['drain-records']);
const RSS_SECONDS = Number(values['rss-seconds']);
const PERF_PAGES = 1024;

interface Counts {
  received: number;
  lost: number;
  dropped: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function started(command: string, args: string[], stdout: 'pipe' | number = 'pipe'): { child: ChildProcess; output: () => string; done: Promise<number | null> } {
  const child = spawn(command, args, { stdio: ['ignore', stdout, 'pipe'] });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => text, done };
}

async function until(test: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Runs the driver at full speed (or `rate` calls/s) for `seconds` (or until `count` calls); returns its calls and time. */
async function drive(seconds: number, rate = 0, count = 0): Promise<{ calls: number; seconds: number }> {
  const driver = started(join(BUILD, 'stream_driver'), [String(seconds), String(rate), String(count)]);
  await driver.done;
  return JSON.parse(driver.output()) as { calls: number; seconds: number };
}

/** A consumer that prints "ready" and, at SIGINT, its counts as JSON. */
async function measure(command: string, args: string[]): Promise<Counts & { calls: number; seconds: number }> {
  const consumer = started(command, args);
  await until(() => consumer.output().includes('ready'), `${command} to be ready`);
  const drove = await drive(SECONDS);
  await sleep(300);
  consumer.child.kill('SIGINT');
  await consumer.done;
  const line = consumer.output().split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${command} printed no counts: ${consumer.output()}`);
  return { ...(JSON.parse(line) as Counts), ...drove };
}

/**
 * A consumer in drain mode: it reads nothing while the driver makes DRAIN_RECORDS records, then at
 * SIGINT empties the ring and reports the drain's time as `seconds`.
 */
async function measureDrain(command: string, args: string[]): Promise<Counts & { calls: number; seconds: number }> {
  const consumer = started(command, args);
  await until(() => consumer.output().includes('ready'), `${command} to be ready`);
  const drove = await drive(3600, 0, DRAIN_RECORDS);
  consumer.child.kill('SIGINT');
  await consumer.done;
  const line = consumer.output().split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${command} printed no counts: ${consumer.output()}`);
  return { ...(JSON.parse(line) as Counts & { seconds: number }), calls: drove.calls };
}

function row(label: string, m: Counts & { calls: number; seconds: number }): string {
  const rate = m.received / m.seconds;
  return `  ${label.padEnd(34)} ${String(Math.round(rate)).padStart(10)} records/s  (${m.received} of ${m.calls} calls; lost ${m.lost}, dropped in BPF ${m.dropped})`;
}

async function main(): Promise<void> {
  console.log(`=== bench stream: ${SECONDS} s of getppid() as fast as one core makes them, one record each`);
  for (const variant of ['ringbuf16', 'ringbuf64', 'perf16', 'perf64']) {
    const object = join(BUILD, `${variant}.o`);
    const c = await measure(join(BUILD, 'consumer'), [object, String(PERF_PAGES)]);
    const ours = await measure(process.execPath, ['--import', 'tsx', join(HERE, 'consumer.ts'), object, String(PERF_PAGES)]);
    console.log(`${variant}:`);
    console.log(row('C consumer (libbpf)', c));
    console.log(row('load-kp-bpf library, counting', ours));
    const ratio = ours.received / ours.seconds / (c.received / c.seconds);
    console.log(`  ratio ours / C: ${ratio.toFixed(2)}${ratio >= 0.8 ? '' : '  (below the 0.8 goal)'}`);
  }

  // Draining: the ring is filled first, so the figure is the reader's alone.
  console.log(`=== draining a ring buffer that ${DRAIN_RECORDS} records filled while nobody read`);
  for (const [variant, size] of [
    ['ringbuf16', 16],
    ['ringbuf64', 64],
  ] as const) {
    const object = join(BUILD, `${variant}.o`);
    // Each record takes an 8-byte header and its size rounded up to 8.
    const ring = String(ringBufferSize(DRAIN_RECORDS * (8 + Math.ceil(size / 8) * 8)));
    const c = await measureDrain(join(BUILD, 'consumer'), [object, 'drain', ring]);
    const ours = await measureDrain(process.execPath, ['--import', 'tsx', join(HERE, 'consumer.ts'), object, 'drain', ring]);
    console.log(`${variant} drain (${Number(ring) >> 20} MiB ring):`);
    console.log(row('C ring_buffer__consume (libbpf)', c));
    console.log(row('load-kp-bpf RingBufferReader.poll', ours));
    console.log(`  ratio ours / C: ${(ours.received / ours.seconds / (c.received / c.seconds)).toFixed(2)}`);
  }

  // The CLI decoding and printing every record, to a file.
  const dir = mkdtempSync(join(tmpdir(), 'lkb-stream-'));
  try {
    for (const [label, args, rate] of [
      ['CLI --json, full speed', ['--json', '--record-type', 'out=record'], 0],
      ['CLI text at 100k records/s', ['--record-type', 'out=record'], 100_000],
    ] as const) {
      const file = join(dir, 'out.txt');
      const fd = openSync(file, 'w');
      const cli = started(process.execPath, [CLI, join(BUILD, 'ringbuf16.o'), ...args], fd);
      await until(() => loadedProgramIds('stream').length > 0, 'the CLI to load');
      await sleep(300);
      const drove = await drive(SECONDS, rate);
      await sleep(500);
      cli.child.kill('SIGINT');
      await cli.done;
      const text = readFileSync(file, 'utf8');
      const records = text.split('\n').filter((l) => (args[0] === '--json' ? l.startsWith('{"event":"record"') : /^\d+\s+\[/.test(l))).length;
      console.log(`${label}: ${records} of ${drove.calls} records written in ${drove.seconds.toFixed(2)} s (${Math.round(records / drove.seconds)}/s), ${drove.calls - records} missing, ${(statSync(file).size / 1e6).toFixed(1)} MB`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Memory over a long steady stream (50k records/s, --json to /dev/null).
  const cli = started(process.execPath, [CLI, join(BUILD, 'ringbuf64.o'), '--json', '--record-type', 'out=record'], openSync('/dev/null', 'w'));
  await until(() => loadedProgramIds('stream').length > 0, 'the CLI to load');
  // RSS counts the ring's pages as the kernel fills them (64 MiB, mapped twice); RssAnon is the process's own memory.
  const rss = (): string => {
    const status = readFileSync(`/proc/${cli.child.pid}/status`, 'utf8');
    const field = (name: string): string => (Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)![1]) / 1024).toFixed(1);
    return `RSS ${field('VmRSS')} MB (anonymous ${field('RssAnon')} MB)`;
  };
  const driving = drive(RSS_SECONDS, 50_000);
  const samples: string[] = [];
  for (const at of [10, RSS_SECONDS]) {
    await sleep((at - (samples.length === 0 ? 0 : 10)) * 1000);
    samples.push(`${at} s: ${rss()}`);
  }
  await driving;
  cli.child.kill('SIGINT');
  await cli.done;
  console.log(`CLI memory while streaming 50k records/s: ${samples.join('; ')}`);
}

await main();
