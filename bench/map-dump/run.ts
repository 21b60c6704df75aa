// npm run bench -- map-dump [--entries N] [--runs R]: dumping a 1,000,000-entry u32 -> u64 hash as text and
// JSON, ours against bpftool and a C floor on libbpf's batch lookup, in one run; and writing 100k
// entries from a file, ours (map update --batch) against bpftool batch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { objPin } from '../../src/kernel/bpf.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { makeDirectories } from '../../src/kernel/pins.js';
import { fillSpacedEntries } from '../../test/support/kernel.js';

const HERE = new URL('.', import.meta.url).pathname;
const REPO = new URL('../..', import.meta.url).pathname;
const CLI = join(REPO, 'bin/load-kp-bpf.js');
const { values } = parseArgs({ options: { entries: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' }, updates: { type: 'string', default: '100000' } } });
const N = Number(values.entries);
const RUNS = Number(values.runs);
const UPDATES = Number(values.updates);
const PINS = `/sys/fs/bpf/lkb-bench-${process.pid}`;

interface Measurement {
  seconds: number;
  peakMb: number;
}

/** Runs a command `RUNS` times with stdout to /dev/null under GNU time; the median time and the largest peak RSS. */
function measure(command: string, args: string[], stdin?: string): Measurement {
  const runs: Measurement[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'], input: stdin, encoding: 'utf8', maxBuffer: 1 << 26 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
    const peakKb = Number(result.stderr.trim().split('\n').pop());
    runs.push({ seconds, peakMb: peakKb / 1024 });
  }
  runs.sort((a, b) => a.seconds - b.seconds);
  return { seconds: runs[Math.floor(runs.length / 2)]!.seconds, peakMb: Math.max(...runs.map((r) => r.peakMb)) };
}

const show = (label: string, m: Measurement): string => `  ${label.padEnd(40)} ${m.seconds.toFixed(3).padStart(8)} s   peak RSS ${m.peakMb.toFixed(1).padStart(7)} MB`;

function main(): void {
  makeDirectories(PINS);
  const path = `${PINS}/big`;
  const map = BpfMap.create('lkb_bench_big', { type: 1, keySize: 4, valueSize: 8, maxEntries: N, flags: 0 });
  try {
    fillSpacedEntries(map, N);
    objPin(map.fd.value, path);
  } finally {
    map.close();
  }
  try {
    console.log(`=== bench map-dump: a ${N}-entry u32 -> u64 hash, stdout to /dev/null, median of ${RUNS} runs`);
    const floor = measure(join(HERE, 'build/dump'), [path]);
    const bpftool = measure('bpftool', ['map', 'dump', 'pinned', path]);
    const bpftoolJson = measure('bpftool', ['-j', 'map', 'dump', 'pinned', path]);
    const ours = measure(process.execPath, [CLI, 'map', 'dump', path]);
    const oursJson = measure(process.execPath, [CLI, 'map', 'dump', path, '--json']);
    console.log(show('C floor (libbpf batch lookup, text)', floor));
    console.log(show('bpftool map dump (text)', bpftool));
    console.log(show('bpftool -j map dump', bpftoolJson));
    console.log(show('load-kp-bpf map dump (text)', ours));
    console.log(show('load-kp-bpf map dump --json', oursJson));
    console.log(`  text: ${(bpftool.seconds / ours.seconds).toFixed(2)}x faster than bpftool (goal 3x); ${(ours.seconds / floor.seconds).toFixed(2)}x the C floor (goal at most 1.5x)`);
    console.log(`  JSON: ${(bpftoolJson.seconds / oursJson.seconds).toFixed(2)}x faster than bpftool -j`);

    // Writing entries from a file: ours in one command, bpftool in one batch file of commands.
    const dir = mkdtempSync(join(tmpdir(), 'lkb-bench-update-'));
    try {
      const target = `${PINS}/target`;
      const created = spawnSync(process.execPath, [CLI, 'map', 'create', target, '--type', 'hash', '--key', '4', '--value', '8', '--entries', String(UPDATES)]);
      if (created.status !== 0) throw new Error(created.stderr.toString());
      const lines: string[] = [];
      const commands: string[] = [];
      for (let i = 0; i < UPDATES; i++) {
        lines.push(`${i} ${i * 3}`);
        const k = Buffer.alloc(4);
        k.writeUInt32LE(i);
        const v = Buffer.alloc(8);
        v.writeBigUInt64LE(BigInt(i * 3));
        commands.push(`map update pinned ${target} key hex ${[...k].map((b) => b.toString(16).padStart(2, '0')).join(' ')} value hex ${[...v].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
      }
      writeFileSync(join(dir, 'entries'), `${lines.join('\n')}\n`);
      writeFileSync(join(dir, 'commands'), `${commands.join('\n')}\n`);
      const oursUpdate = measure(process.execPath, [CLI, 'map', 'update', target, '--batch', join(dir, 'entries')]);
      const bpftoolUpdate = measure('bpftool', ['batch', 'file', join(dir, 'commands')]);
      console.log(`=== writing ${UPDATES} entries from a file`);
      console.log(show('bpftool batch file (one update each)', bpftoolUpdate));
      console.log(show('load-kp-bpf map update --batch', oursUpdate));
      console.log(`  ${(bpftoolUpdate.seconds / oursUpdate.seconds).toFixed(2)}x faster than bpftool`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(PINS, { recursive: true, force: true });
  }
}

main();
