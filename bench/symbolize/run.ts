// npm run bench -- symbolize [--addresses N] [--kernel-share F]: addresses named per second by our Symbolizer
// (compiled, from dist/): a mix of kernel addresses from /proc/kallsyms and user addresses in a running
// busy_loop, its libbusy.so and libc, all inside functions; beside addr2line -f -e FILE fed the same user
// addresses on stdin (one process per file), and an nm -n listing searched the obvious way, in the same run.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const HERE = new URL('.', import.meta.url).pathname;
const REPO = new URL('../..', import.meta.url).pathname;
const BUILD = join(HERE, 'build');
const BUSY_LOOP = join(REPO, 'test/fixtures/build/busy_loop');
const { values } = parseArgs({ options: { addresses: { type: 'string', default: '1000000' }, 'kernel-share': { type: 'string', default: '0.5' } } });
const COUNT = Number(values.addresses);
/** The first addresses, compared answer by answer between the three. */
const COMPARED = Math.min(COUNT, 100_000);

/** A small seeded generator (mulberry32): the same addresses every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(20240601);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
}
interface Func {
  address: bigint;
  size: bigint;
}
interface UserFile {
  path: string;
  /** The file whose symbols nm lists: libc's separate debug file where installed, as we and addr2line find it. */
  symbolsFrom: string;
  dynamic: boolean;
  share: number;
  functions: Func[];
  segments: Array<{ offset: bigint; vaddr: bigint; fileSize: bigint }>;
  mappings: Mapping[];
}

function tool(name: string, args: string[]): string {
  return execFileSync(name, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
}

/** Starts busy_loop and waits for its "ready" line. */
async function startBusyLoop(): Promise<{ pid: number; stop: () => void }> {
  const child = spawn(BUSY_LOOP, ['600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('busy_loop printed no "ready" line within 10 s')), 10_000);
    child.stdout.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', () => reject(new Error('busy_loop exited before it was ready')));
  });
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

function userFile(pid: number, path: string, share: number): UserFile {
  const mappings = readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => f[1]?.includes('x') && f[5] === path)
    .map((f) => {
      const [start, end] = f[0]!.split('-');
      return { start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), offset: BigInt(`0x${f[2]}`) };
    });
  if (mappings.length === 0) throw new Error(`busy_loop does not map ${path}`);
  const buildId = /Build ID: ([0-9a-f]+)/.exec(tool('readelf', ['-n', path]))?.[1];
  const debug = buildId && `/usr/lib/debug/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
  const hasSymtab = tool('readelf', ['-SW', path]).includes(' .symtab ');
  const symbolsFrom = hasSymtab || !debug || !existsSync(debug) ? path : debug;
  const dynamic = !hasSymtab && symbolsFrom === path;
  const functions = tool('nm', ['-S', '--defined-only', ...(dynamic ? ['-D'] : []), symbolsFrom])
    .split('\n')
    .map((l) => /^([0-9a-f]+) ([0-9a-f]+) [TtWwi] /.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ address: BigInt(`0x${m[1]}`), size: BigInt(`0x${m[2]}`) }))
    .filter((f) => f.size > 0n);
  const segments = tool('readelf', ['-lW', path])
    .split('\n')
    .map((l) => /^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ offset: BigInt(m[1]!), vaddr: BigInt(m[2]!), fileSize: BigInt(m[3]!) }));
  return { path, symbolsFrom, dynamic, share, functions, segments, mappings };
}

/** A file address inside a random function, and where busy_loop has it mapped. */
function userAddress(file: UserFile): { runtime: bigint; fileAddress: bigint } {
  for (;;) {
    const f = pick(file.functions);
    const fileAddress = f.address + BigInt(Math.floor(rand() * Number(f.size)));
    const segment = file.segments.find((s) => fileAddress >= s.vaddr && fileAddress < s.vaddr + s.fileSize);
    if (!segment) continue;
    const offset = fileAddress - segment.vaddr + segment.offset;
    const mapping = file.mappings.find((m) => offset >= m.offset && offset < m.offset + (m.end - m.start));
    if (mapping) return { runtime: offset - mapping.offset + mapping.start, fileAddress };
  }
}

/** Kernel code addresses: inside a random function of /proc/kallsyms, before the next symbol. */
function kernelAddresses(): Array<() => bigint> {
  const lines = readFileSync('/proc/kallsyms', 'latin1').split('\n').map((l) => l.split(/\s+/));
  const starts = lines
    .filter((f) => f[1] && 'tTwW'.includes(f[1]) && !/^0+$/.test(f[0]!) && f[2] !== '_etext' && f[2] !== '_einittext')
    .map((f) => BigInt(`0x${f[0]}`));
  const sorted = [...new Set(starts)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length === 0) return [];
  return [
    () => {
      const i = Math.floor(rand() * (sorted.length - 1));
      const gap = Number(sorted[i + 1]! - sorted[i]!);
      return sorted[i]! + BigInt(Math.floor(rand() * Math.min(gap, 512)));
    },
  ];
}

interface Result {
  records: number;
  seconds: number;
  setupSeconds: number;
  peakKb: number;
  unresolved: number;
}

function consumer(input: string, method: string, only: string, dump?: string): Result {
  const args = ['--import', 'tsx', join(HERE, 'consumer.ts'), '--input', input, '--method', method, '--only', only];
  if (dump) args.push('--dump', String(COMPARED), '--out', dump);
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  const line = result.stderr.split('\n').find((l) => l.startsWith('{"records"'));
  if (result.status !== 0 || !line) throw new Error(`consumer ${method} ${only} failed: ${result.stderr}`);
  return JSON.parse(line) as Result;
}

/** addr2line -f -e FILE with the addresses on stdin, under /usr/bin/time for its peak RSS where that is installed. */
function addr2line(file: string, addresses: bigint[]): { seconds: number; peakKb: number | undefined; functions: string[] } {
  const input = `${addresses.map((a) => `0x${a.toString(16)}`).join('\n')}\n`;
  const timed = existsSync('/usr/bin/time');
  const [command, args] = timed ? ['/usr/bin/time', ['-f', 'peakKb=%M', 'addr2line', '-f', '-e', file]] : ['addr2line', ['-f', '-e', file]];
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args as string[], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`addr2line -e ${file} failed: ${result.stderr}`);
  const peak = /peakKb=(\d+)/.exec(result.stderr)?.[1];
  const functions = result.stdout.split('\n').filter((_, i) => i % 2 === 0);
  return { seconds, peakKb: peak === undefined ? undefined : Number(peak), functions };
}

const rate = (records: number, seconds: number): string => String(Math.round(records / seconds)).padStart(10);
const mb = (kb: number | undefined): string => (kb === undefined ? '     n/a' : `${(kb / 1024).toFixed(1).padStart(6)} MB`);

async function main(): Promise<void> {
  mkdirSync(BUILD, { recursive: true });
  const busy = await startBusyLoop();
  try {
    const libc = readFileSync(`/proc/${busy.pid}/maps`, 'utf8').match(/\/\S*\/libc\.so\.6$/m)?.[0];
    if (!libc) throw new Error('busy_loop maps no libc.so.6');
    const files = [userFile(busy.pid, BUSY_LOOP, 0.2), userFile(busy.pid, join(REPO, 'test/fixtures/build/libbusy.so'), 0.2), userFile(busy.pid, libc, 0.6)];
    const kernel = kernelAddresses();
    const kernelShare = kernel.length > 0 ? Number(values['kernel-share']) : 0;

    // The addresses: runtime address, file address (for the references) and kind (0 kernel, else 1 + file index).
    const runtime = new BigUint64Array(COUNT);
    const fileAddress = new BigUint64Array(COUNT);
    const kinds = new Uint8Array(COUNT);
    const perFile: bigint[][] = files.map(() => []);
    const perFileIndex: number[][] = files.map(() => []);
    for (let i = 0; i < COUNT; i++) {
      if (rand() < kernelShare) {
        runtime[i] = kernel[0]!();
        continue;
      }
      let r = rand();
      const which = files.findIndex((f) => (r -= f.share) < 0);
      const index = which < 0 ? files.length - 1 : which;
      const a = userAddress(files[index]!);
      runtime[i] = a.runtime;
      fileAddress[i] = a.fileAddress;
      kinds[i] = index + 1;
      perFile[index]!.push(a.fileAddress);
      perFileIndex[index]!.push(i);
    }
    const input = join(BUILD, 'addresses.bin');
    writeFileSync(input, Buffer.concat([Buffer.from(runtime.buffer), Buffer.from(fileAddress.buffer), Buffer.from(kinds.buffer)]));
    writeFileSync(`${input}.json`, JSON.stringify({ pid: busy.pid, files: files.map((f) => ({ path: f.path, symbolsFrom: f.symbolsFrom, dynamic: f.dynamic })), count: COUNT }));
    const userCount = perFile.reduce((n, f) => n + f.length, 0);
    const kernelCount = COUNT - userCount;

    const oursDump = join(BUILD, 'ours.txt');
    const nmDump = join(BUILD, 'nm.txt');
    const all = consumer(input, 'ours', 'all', oursDump);
    const user = consumer(input, 'ours', 'user');
    const kernelOnly = kernelCount > 0 ? consumer(input, 'ours', 'kernel') : undefined;
    const nmAll = consumer(input, 'nm', 'all', nmDump);
    const nmUser = consumer(input, 'nm', 'user');
    const a2l = files.map((f, i) => addr2line(f.path, perFile[i]!));
    const a2lSeconds = a2l.reduce((s, r) => s + r.seconds, 0);
    const a2lPeak = a2l.every((r) => r.peakKb !== undefined) ? Math.max(...a2l.map((r) => r.peakKb!)) : undefined;

    // The first COMPARED answers: ours against nm's symbol (same start address), and against addr2line's function name.
    const oursLines = readFileSync(oursDump, 'utf8').split('\n');
    const nmLines = readFileSync(nmDump, 'utf8').split('\n');
    const a2lNames = new Map<number, string>();
    files.forEach((_, f) => perFileIndex[f]!.forEach((i, n) => i < COMPARED && a2lNames.set(i, a2l[f]!.functions[n]!)));
    let sameStart = 0;
    let sameName = 0;
    let a2lSame = 0;
    for (let i = 0; i < COMPARED; i++) {
      const [start, name] = oursLines[i]!.split(' ');
      const [nmStart, nmName] = nmLines[i]!.split(' ');
      if (start === nmStart) sameStart++;
      if (name === nmName) sameName++;
      const expected = a2lNames.get(i);
      if (expected !== undefined && name === expected) a2lSame++;
    }

    const names = files.map((f) => f.path.split('/').pop()).join(', ');
    console.log(`=== bench symbolize: ${COUNT} addresses, ${kernelCount} kernel (inside kallsyms functions) and ${userCount} user (inside functions of ${names}; libc's symbols ${files[2]!.symbolsFrom === files[2]!.path ? 'from its .dynsym' : 'from its separate debug file'}); ours and nm: median of 3 passes, addr2line: one`);
    const show = (label: string, r: Result): void =>
      console.log(`  ${label.padEnd(44)} ${rate(r.records, r.seconds)} records/s   setup ${(r.setupSeconds * 1000).toFixed(0).padStart(5)} ms   peak RSS ${mb(r.peakKb)}   unresolved ${r.unresolved}`);
    show(`Symbolizer, all ${all.records}`, all);
    show(`Symbolizer, user ${user.records}`, user);
    if (kernelOnly) show(`Symbolizer, kernel ${kernelOnly.records}`, kernelOnly);
    show(`nm -n + BigInt binary search, all`, nmAll);
    show(`nm -n + BigInt binary search, user`, nmUser);
    console.log(`  ${'addr2line -f -e FILE (stdin), user'.padEnd(44)} ${rate(userCount, a2lSeconds)} records/s   (${a2l.length} processes, ${a2lSeconds.toFixed(2)} s in all)              peak RSS ${mb(a2lPeak)}`);
    const ratio = user.records / user.seconds / (userCount / a2lSeconds);
    console.log(`  user: ${ratio.toFixed(1)}x addr2line (goal at least 5x${ratio >= 5 ? '' : ': below it'}); all: ${(all.records / all.seconds / (nmAll.records / nmAll.seconds)).toFixed(1)}x the nm lookup`);
    console.log(
      `  first ${COMPARED} answers: ${((100 * sameStart) / COMPARED).toFixed(2)}% the same function start as nm (${((100 * sameName) / COMPARED).toFixed(2)}% the same name: aliases differ), ` +
        `${((100 * a2lSame) / Math.max(1, a2lNames.size)).toFixed(2)}% of user ones named as addr2line names them (it prefers DWARF's names, e.g. libc's __GI_ aliases, and inlined functions)`,
    );
  } finally {
    busy.stop();
  }
}

await main();
