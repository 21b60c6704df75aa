// npm run bench -- load [--runs R]: how long loading takes. Kernel BTF parsed in process, ours against
// libbpf's btf__parse; start to "attached" for a CO-RE object of six programs and eight maps, ours
// against bpftool prog loadall and a C loader on libbpf; start -> attached -> detached of one
// counting tracepoint against bpftrace's one-liner; node start-up with our modules against bare node.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBtf } from '../../src/btf/btf.js';

const HERE = new URL('.', import.meta.url).pathname;
const REPO = new URL('../..', import.meta.url).pathname;
const CLI = join(REPO, 'bin/load-kp-bpf.js');
const OBJECT = join(HERE, 'build/load.bpf.o');
const COUNTER = join(REPO, 'examples/bpf_cmds_tp.o');
const VMLINUX = '/sys/kernel/btf/vmlinux';
const PINS = `/sys/fs/bpf/lkb-bench-load-${process.pid}`;
const { values } = parseArgs({ options: { runs: { type: 'string', default: '11' } } });
const RUNS = Number(values.runs);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(1).padStart(8)} ms`;
const row = (label: string, value: number, extra = ''): void => console.log(`  ${label.padEnd(52)} ${ms(value)}${extra}`);
const ratio = (ours: number, reference: number, goal: string): string => `   ${(ours / reference).toFixed(2)}x (goal ${goal})`;

/** Milliseconds of a command run to completion, output discarded. */
function timed(command: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

/** Our loader from spawn to its "attached" line, and on to its exit after SIGINT. */
function loaderCycle(args: string[]): Promise<{ attached: number; detached: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    // Pins (bpf_cmds_tp.o pins its map) go under the bench's own root, removed at the end.
    const child = spawn(process.execPath, [CLI, ...args, '--json', '--pin-root', PINS], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let attached: number | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (attached === undefined && out.includes('"event":"attached"')) {
        attached = since();
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || attached === undefined) reject(new Error(`load-kp-bpf ${args.join(' ')} failed (${code}): ${err}`));
      else resolve({ attached, detached: since() });
    });
  });
}

async function main(): Promise<void> {
  console.log(`=== bench load: median of ${RUNS} runs each`);

  console.log('kernel BTF (vmlinux), parsed in process and indexed by name');
  const bytes = readFileSync(VMLINUX);
  const parses: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const btf = parseBtf(bytes, true, { trusted: true });
    if (btf.typesNamed('task_struct').length === 0) throw new Error('no task_struct in the kernel BTF');
    parses.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const libbpfParse = Number(spawnSync(join(HERE, 'build/btf_parse'), [VMLINUX, String(RUNS)], { encoding: 'utf8' }).stdout.trim());
  row(`libbpf btf__parse + find by name (C)`, libbpfParse);
  row(`ours: parseBtf + typesNamed (${(bytes.length / 1e6).toFixed(1)} MB)`, median(parses), `   goal under 100 ms; ${(median(parses) / libbpfParse).toFixed(1)}x libbpf`);

  console.log('start to attached: a CO-RE object, 6 programs, 8 maps');
  const bpftool: number[] = [];
  const libbpf: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bpftool.push(timed('bpftool', ['prog', 'loadall', OBJECT, PINS]));
    rmSync(PINS, { recursive: true, force: true });
    libbpf.push(timed(join(HERE, 'build/load_attach'), [OBJECT]));
    ours.push((await loaderCycle([OBJECT])).attached);
  }
  row('bpftool prog loadall (load and pin, no attach)', median(bpftool));
  row('C loader on libbpf (open, load, attach all, close)', median(libbpf));
  row('load-kp-bpf, spawn to "attached"', median(ours), ratio(median(ours), median(bpftool), 'at most 1.5x bpftool'));

  console.log('start -> attached -> detached: one tracepoint counting bpf() commands');
  const bpftrace: number[] = [];
  const cycle: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bpftrace.push(timed('bpftrace', ['-e', 'tracepoint:syscalls:sys_enter_bpf { @[args->cmd] = count(); } BEGIN { exit(); }']));
    cycle.push((await loaderCycle([COUNTER])).detached);
  }
  row('bpftrace one-liner', median(bpftrace));
  row('load-kp-bpf examples/bpf_cmds_tp.o, SIGINT once attached', median(cycle), ratio(median(cycle), median(bpftrace), 'at most 0.5x bpftrace'));

  console.log('start-up without loading');
  const bare: number[] = [];
  const version: number[] = [];
  const parse: number[] = [];
  const parseScript = `const { parseBpfObject } = await import(${JSON.stringify(join(REPO, 'dist/object/bpf-object.js'))}); parseBpfObject((await import('node:fs')).readFileSync(${JSON.stringify(OBJECT)}));`;
  for (let i = 0; i < RUNS; i++) {
    bare.push(timed(process.execPath, ['-e', '0']));
    version.push(timed(process.execPath, [CLI, '--version']));
    parse.push(timed(process.execPath, ['--input-type=module', '-e', parseScript]));
  }
  row('node -e 0', median(bare));
  row('load-kp-bpf --version', median(version), `   +${(median(version) - median(bare)).toFixed(1)} ms (goal at most +40 ms)`);
  row('node, our parser, the object parsed', median(parse), `   +${(median(parse) - median(bare)).toFixed(1)} ms`);
  rmSync(PINS, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  rmSync(PINS, { recursive: true, force: true });
  console.error(`bench load: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
