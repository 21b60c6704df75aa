// The robustness soak (npm run soak): mutated objects through the whole CLI on the host kernel, signals at
// random moments, then a leak check of programs, maps, links, events, pins, directories and mounts.
//
//   npm run soak -- [--mutants N] [--signals N] [--seed S] [--jobs J]
//
// Prints its figures and exits 1 if any run crashed, hung, printed a stack trace or more than one line
// of error, or if anything was left behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readElf } from '../../src/elf/reader.js';
import { linkIds, mapFdById, mapIds, mapInfo, programFdById, programIds, programInfo } from '../../src/kernel/bpf.js';
import { Fd } from '../../src/kernel/fd.js';
import { CLI, REPO, fixture } from '../support/cli.js';
import { prng } from '../unit/helpers.js';

const { values } = parseArgs({
  options: {
    mutants: { type: 'string', default: '3000' },
    signals: { type: 'string', default: '200' },
    seed: { type: 'string', default: '20261123' },
    jobs: { type: 'string', default: '2' },
  },
});
const MUTANTS = Number(values.mutants);
const SIGNAL_RUNS = Number(values.signals);
const JOBS = Number(values.jobs);
const random = prng(Number(values.seed));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const WORK = join(REPO, 'test/soak/.work');
const PIN_ROOT = `/sys/fs/bpf/lkb-soak-${process.pid}`;

/** The five kinds of object the issue names; kprobe sections become a tracepoint the host has. */
const BASES: Array<{ name: string; path: string; rename?: [string, string] }> = [
  { name: 'legacy maps', path: join(REPO, 'examples/bpf_cmds_tp.o') },
  { name: 'BTF maps', path: fixture('btf_maps.o'), rename: ['kprobe/vfs_read', 'tp/kmem/kfree'] },
  { name: 'subprograms', path: fixture('link_calls.o'), rename: ['kprobe/vfs_read', 'tp/kmem/kfree'] },
  { name: 'global data', path: fixture('link_data.o'), rename: ['kprobe/vfs_read', 'tp/kmem/kfree'] },
  { name: 'uprobes', path: join(REPO, 'examples/uprobe_count.o') },
];

function baseBytes(base: (typeof BASES)[number]): Buffer {
  const bytes = readFileSync(base.path);
  if (base.rename) {
    const [from, to] = base.rename;
    // Every copy of the name: the section name table shares it with the REL section's, and .BTF.ext names it too.
    let found = 0;
    for (let at = bytes.indexOf(Buffer.from(`${from}\0`)); at >= 0; at = bytes.indexOf(Buffer.from(`${from}\0`), at + 1), found++) {
      bytes.fill(0, at, at + from.length);
      bytes.write(to, at, 'latin1');
    }
    if (found === 0) throw new Error(`${base.path} has no section name ${from}`);
  }
  return bytes;
}

const INTERESTING = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** One mutation of an object: bit flips, interesting words, truncation, or a change inside one section. */
function mutate(original: Buffer): { bytes: Buffer; how: string } {
  const bytes = Buffer.from(original);
  const kind = Math.floor(random() * 5);
  switch (kind) {
    case 0: {
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)]! ^= 1 << Math.floor(random() * 8);
      return { bytes, how: `${flips} bit flips` };
    }
    case 1: {
      const at = Math.floor(random() * (bytes.length / 4)) * 4;
      bytes.writeUInt32LE(pick(INTERESTING) >>> 0, Math.min(at, bytes.length - 4));
      return { bytes, how: `word at ${at}` };
    }
    case 2: {
      const length = Math.floor(random() * bytes.length);
      return { bytes: bytes.subarray(0, length), how: `truncated to ${length}` };
    }
    default: {
      // Inside a section that matters: code, maps, BTF, relocations, symbols, or the section headers.
      const elf = readElf(original);
      const sections = elf.sections.filter((s) => s.size > 0 && s.type !== 8);
      const section = pick(sections);
      const at = section.offset + Math.floor(random() * section.size);
      if (kind === 3) bytes[at] = Math.floor(random() * 256);
      else bytes.writeUInt32LE(pick(INTERESTING) >>> 0, Math.min(at - (at % 4), bytes.length - 4));
      return { bytes, how: `section ${section.name} at ${at - section.offset}` };
    }
  }
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
  hung: boolean;
  ms: number;
}

/** Runs the CLI on an object; stops it with `stop` after `stopAfterMs`, or once it is attached. */
function runCli(args: string[], stop: { signal: NodeJS.Signals; afterMs?: number }, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    let hung = false;
    let signalled = false;
    const send = (): void => {
      if (signalled) return;
      signalled = true;
      child.kill(stop.signal);
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stop.afterMs === undefined && /"event":"attached"/.test(stdout)) send();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = stop.afterMs === undefined ? undefined : setTimeout(send, stop.afterMs);
    const deadline = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung, ms: Date.now() - started });
    });
  });
}

const STACK_LINE = /^\s+at .*(\(|\s)(node:|file:|\/).*:\d+:\d+\)?$/m;

/** What is wrong with a run's ending, or undefined when it ended as the tool promises. */
function problem(result: RunResult, expectedSignal?: NodeJS.Signals): string | undefined {
  if (result.hung) return 'hung';
  if (result.signal !== null && result.signal !== expectedSignal) return `killed by ${result.signal}`;
  if (result.signal === null && result.code !== 0 && result.code !== 1) return `exit code ${result.code}`;
  if (STACK_LINE.test(result.stderr) || /node:internal/.test(result.stderr)) return 'stack trace';
  // Every line is one of ours ("load-kp-bpf: ..."), except the verifier's log before a rejection.
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  const ours = lines.filter((l) => l.startsWith('load-kp-bpf: '));
  if (result.code === 1 && ours.length === 0) return `no message: ${JSON.stringify(result.stderr.slice(0, 200))}`;
  if (lines.length > ours.length && !/the verifier rejected it/.test(ours.at(-1) ?? '')) return `stray stderr lines: ${JSON.stringify(result.stderr.slice(0, 300))}`;
  return undefined;
}

async function pool<T>(items: readonly T[], jobs: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

function ourKernelObjects(before: { programs: Set<number>; maps: Set<number>; links: Set<number> }): string[] {
  const left: string[] = [];
  for (const id of programIds()) {
    if (before.programs.has(id)) continue;
    try {
      const fd = new Fd(programFdById(id), `program ${id}`);
      try {
        left.push(`program ${id} '${programInfo(fd.value).name}'`);
      } finally {
        fd.close();
      }
    } catch {
      // gone meanwhile
    }
  }
  for (const id of mapIds()) {
    if (before.maps.has(id)) continue;
    try {
      const fd = new Fd(mapFdById(id), `map ${id}`);
      try {
        left.push(`map ${id} '${mapInfo(fd.value).name}'`);
      } finally {
        fd.close();
      }
    } catch {
      // gone meanwhile
    }
  }
  for (const id of linkIds()) if (!before.links.has(id)) left.push(`link ${id}`);
  return left;
}

function probeEvents(): string[] {
  const events: string[] = [];
  for (const file of ['kprobe_events', 'uprobe_events']) {
    for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
      if (!existsSync(join(root, file))) continue;
      events.push(...readFileSync(join(root, file), 'utf8').split('\n').filter((l) => l.includes('load_kp_bpf_')));
      break;
    }
  }
  return events;
}

async function main(): Promise<number> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const mountsBefore = readFileSync('/proc/self/mounts', 'utf8');
  const before = { programs: new Set(programIds()), maps: new Set(mapIds()), links: new Set(linkIds()) };
  const failures: string[] = [];
  const started = Date.now();

  // 1. Mutants through the whole CLI.
  const outcomes = { loaded: 0, refused: 0, problems: 0 };
  const byBase = new Map<string, number>();
  const mutants = Array.from({ length: MUTANTS }, (_, i) => {
    const base = BASES[i % BASES.length]!;
    return { base, ...mutate(baseBytes(base)) };
  });
  await pool(mutants, JOBS, async (mutant, index) => {
    const path = join(WORK, `mutant-${index}.o`);
    writeFileSync(path, mutant.bytes);
    const result = await runCli([path, '--json', '--pin-root', `${PIN_ROOT}/m${index}`], { signal: 'SIGINT' });
    const wrong = problem(result);
    if (wrong) {
      outcomes.problems++;
      failures.push(`mutant ${index} (${mutant.base.name}, ${mutant.how}): ${wrong}; kept as ${path}`);
    } else {
      rmSync(path);
      if (result.code === 0) outcomes.loaded++;
      else outcomes.refused++;
    }
    byBase.set(mutant.base.name, (byBase.get(mutant.base.name) ?? 0) + 1);
    if ((index + 1) % 250 === 0) process.stderr.write(`soak: ${index + 1}/${MUTANTS} mutants\n`);
  });
  const mutantSeconds = (Date.now() - started) / 1000;

  // 2. Signals at random moments during start-up, attach and detach.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'];
  const signalRuns = Array.from({ length: SIGNAL_RUNS }, (_, i) => ({
    signal: pick(signals),
    afterMs: Math.floor(random() * 800),
    args: i % 2 === 0 ? [join(REPO, 'examples/uprobe_count.o'), '--attach-mode', 'tracefs'] : [fixture('race_count.o'), '--pin-root', `${PIN_ROOT}/s${i}`],
  }));
  const signalOutcomes = new Map<string, number>();
  const signalsStarted = Date.now();
  await pool(signalRuns, JOBS, async (run, index) => {
    const result = await runCli(run.args, { signal: run.signal, afterMs: run.afterMs });
    const wrong = problem(result, run.signal);
    if (wrong) failures.push(`signal run ${index} (${run.signal} at ${run.afterMs} ms, ${run.args[0]}): ${wrong}`);
    const key = `${run.signal}: ${result.signal ? `ended by ${result.signal}` : `exit ${result.code}`}`;
    signalOutcomes.set(key, (signalOutcomes.get(key) ?? 0) + 1);
  });
  const signalSeconds = (Date.now() - signalsStarted) / 1000;

  // 3. One more start removes events that SIGKILLed loaders left; then nothing of ours may remain.
  const next = await runCli([join(REPO, 'examples/uprobe_count.o'), '--attach-mode', 'tracefs', '--json'], { signal: 'SIGINT' });
  if (problem(next)) failures.push(`the final start: ${problem(next)}`);
  // Pinned maps are kept on purpose; once their pins are gone, they must go too.
  const pins = existsSync(PIN_ROOT) ? readdirSync(PIN_ROOT, { recursive: true }).length : 0;
  rmSync(PIN_ROOT, { recursive: true, force: true });
  let leftovers: string[] = [];
  for (let wait = 0; wait < 20; wait++) {
    // The kernel frees maps and programs a moment after their last reference goes.
    leftovers = [...ourKernelObjects(before), ...probeEvents().map((e) => `trace event ${e}`)];
    if (leftovers.length === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const mountsAfter = readFileSync('/proc/self/mounts', 'utf8');
  if (mountsAfter !== mountsBefore) leftovers.push(`mounts changed: ${mountsAfter.split('\n').filter((l) => !mountsBefore.includes(l)).join('; ')}`);
  rmSync(WORK, { recursive: true, force: true });

  console.log('=== soak');
  console.log(`mutants: ${MUTANTS} from ${BASES.length} objects (${[...byBase].map(([b, n]) => `${b} ${n}`).join(', ')}) in ${mutantSeconds.toFixed(0)} s`);
  console.log(`  loaded and detached ${outcomes.loaded}, refused with one line ${outcomes.refused}, problems ${outcomes.problems}`);
  console.log(`signals: ${SIGNAL_RUNS} runs at 0-800 ms in ${signalSeconds.toFixed(0)} s: ${[...signalOutcomes].sort().map(([k, n]) => `${k} x${n}`).join('; ')}`);
  console.log(`left behind: ${leftovers.length === 0 ? 'nothing' : leftovers.join('; ')} (pins made by loaders that got to publish them, removed by the soak: ${pins})`);
  for (const f of failures.slice(0, 30)) console.log(`FAIL ${f}`);
  if (failures.length > 30) console.log(`... ${failures.length - 30} more`);
  return failures.length === 0 && leftovers.length === 0 ? 0 : 1;
}

process.exitCode = await main();
