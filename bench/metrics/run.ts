// npm run bench -- metrics [--entries N] [--scrapes S] [--rss-scrapes R] [--runs K]: GET /metrics of `run --metrics` on a 100,000-entry
// u32 -> u64 hash (wall time, the server's CPU, size, memory over many scrapes), beside bpftool map dump -j | jq making the same lines;
// the 1,000 scrapes for memory take 0.4-0.6 s each (7-10 minutes in all): --rss-scrapes 300 for a quicker run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent, get } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BpfMap } from '../../src/kernel/maps.js';
import { LoadedObject } from '../../src/loader.js';
import { formatExposition } from '../../src/metrics/exposition.js';
import { ObjectMetrics } from '../../src/metrics/object-metrics.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { fillSpacedEntries } from '../../test/support/kernel.js';

const HERE = new URL('.', import.meta.url).pathname;
const REPO = new URL('../..', import.meta.url).pathname;
const CLI = join(REPO, 'bin/load-kp-bpf.js');
const OBJECT = join(HERE, 'build/scrape.o');
const { values } = parseArgs({ options: { entries: { type: 'string', default: '100000' }, scrapes: { type: 'string', default: '20' }, 'rss-scrapes': { type: 'string', default: '1000' }, runs: { type: 'string', default: '3' } } });
const N = Number(values.entries);
const SCRAPES = Number(values.scrapes);
const RSS_SCRAPES = Number(values['rss-scrapes']);
const RUNS = Number(values.runs);
/** The families the object makes: `scrape` from build/scrape.o, its map `hits`. */
const FAMILY = 'scrape_hits_total';
const HELP = 'Map hits (hash): the value of each entry.';
/** Above N, so the series cap drops nothing. */
const MAX_SERIES = 200_000;
const GOAL_MS = 500;
const PINS = `/sys/fs/bpf/lkb-bench-metrics-${process.pid}`;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
// The same exposition lines as ours, from bpftool's BTF-formatted JSON (the values stay below 2^53, which jq keeps exact).
const JQ = `"# HELP ${FAMILY} ${HELP}", "# TYPE ${FAMILY} counter", (.[] | "${FAMILY}{key=\\"\\(.formatted.key)\\"} \\(.formatted.value)")`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const ms = (seconds: number): string => `${(seconds * 1000).toFixed(1).padStart(7)} ms`;

let cli: ChildProcess | undefined;

/** Stops the CLI (SIGINT, then SIGKILL after 10 s) and removes the pins: on success, on error and on a signal. */
async function cleanUp(): Promise<void> {
  const child = cli;
  cli = undefined;
  if (child && child.exitCode === null && child.signalCode === null) {
    const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(killer);
  }
  rmSync(PINS, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}

/** Starts `run --metrics 0` on the object and returns its scrape URL once it says it serves. */
async function startCli(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, OBJECT, '--pin-root', PINS, '--metrics', '0', '--metrics-max-series', String(MAX_SERIES)], { stdio: ['ignore', 'ignore', 'pipe'] });
  cli = child;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const url = /serving the maps for Prometheus at (http:\/\/\S+)/.exec(stderr)?.[1];
    if (url) return { child, url };
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the CLI exited before serving: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for the CLI to serve: ${stderr}`);
    await sleep(20);
  }
}

/** Fills the pinned map with N entries in one batch; returns its id for bpftool. Keys skip 0, which the program bumps, so values stay put. */
function fill(): number {
  const map = BpfMap.fromPin(`${PINS}/hits`);
  try {
    fillSpacedEntries(map, N);
    return map.info().id;
  } finally {
    map.close();
  }
}

// Keep-alive, as Prometheus scrapes.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One GET with a 30 s deadline: the body and the wall time to its last byte. */
async function scrape(url: string): Promise<{ body: string; seconds: number }> {
  try {
    return await scrapeOnce(url);
  } catch (error) {
    // The server closes a keep-alive connection idle for 5 s; a request sent on it as it closes is sent again, as Node's docs advise.
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') return scrapeOnce(url);
    throw error;
  }
}

function scrapeOnce(url: string): Promise<{ body: string; seconds: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const request = get(url, { agent, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new Error(`GET ${url}: ${response.statusCode}`));
        resolve({ body: Buffer.concat(chunks).toString(), seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: no answer in 30 s`)));
    request.on('error', reject);
  });
}

/** The process's CPU time so far (user + system), in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function memory(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)![1]) / 1024;
  return { rss: mb('VmRSS'), anon: mb('RssAnon') };
}

/** Our family's lines of a scrape, sorted: what the reference must make too. */
const familyLines = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${FAMILY}{`) || l === `# HELP ${FAMILY} ${HELP}` || l === `# TYPE ${FAMILY} counter`)
    .sort();

/** bpftool map dump -j | jq under GNU time, `RUNS` times, output to `out`; the median wall and CPU (user + sys of the whole pipeline). */
function reference(id: number, out: string): { seconds: number; cpu: number } {
  const dir = mkdtempSync(join(tmpdir(), 'lkb-bench-metrics-'));
  try {
    const runs: Array<{ seconds: number; cpu: number }> = [];
    for (let i = 0; i < RUNS; i++) {
      const times = join(dir, 'times');
      // GNU time waits for bash, which waits for both sides of the pipe: their CPU is in its figures.
      const result = spawnSync('/usr/bin/time', ['-o', times, '-f', '%e %U %S', 'bash', '-c', 'set -o pipefail; bpftool -j map dump id "$1" | jq -r "$2" > "$3"', 'reference', String(id), JQ, out], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 120_000 });
      if (result.status !== 0) throw new Error(`bpftool | jq failed (${result.status ?? result.signal}): ${result.stderr}`);
      const [wall, user, sys] = readFileSync(times, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
      runs.push({ seconds: wall, cpu: user + sys });
    }
    return { seconds: median(runs.map((r) => r.seconds)), cpu: median(runs.map((r) => r.cpu)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** collect() and formatExposition() apart, in this process on the same pinned map (no program loaded): where a scrape's time goes. */
function inProcess(): { collect: number; format: number } {
  const loaded = LoadedObject.load(parseBpfObject(readFileSync(OBJECT)), { pinRoot: PINS, programs: [] });
  try {
    const metrics = new ObjectMetrics(loaded, { object: 'scrape', maxSeries: MAX_SERIES });
    const collect: number[] = [];
    const format: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      const families = metrics.collect();
      const t1 = process.hrtime.bigint();
      formatExposition(families);
      const t2 = process.hrtime.bigint();
      collect.push(Number(t1 - t0) / 1e9);
      format.push(Number(t2 - t1) / 1e9);
    }
    return { collect: median(collect), format: median(format) };
  } finally {
    loaded.close();
  }
}

async function main(): Promise<void> {
  const { child, url } = await startCli();
  const pid = child.pid!;
  const id = fill();
  console.log(`=== bench metrics: GET /metrics of run --metrics (HTTP, the CLI; --metrics-max-series ${MAX_SERIES}) on a ${N}-entry u32 -> u64 hash`);

  const first = await scrape(url);
  const ours = familyLines(first.body);
  if (ours.length !== N + 2) throw new Error(`the scrape has ${ours.length - 2} ${FAMILY} series, not ${N}`);

  // Timed scrapes, one after another; RSS after the 10th (counting the first) is the baseline for the long run.
  const walls: number[] = [];
  let done = 1;
  let baseline = memory(pid);
  const cpuBefore = cpuSeconds(pid);
  for (let i = 0; i < SCRAPES; i++) {
    walls.push((await scrape(url)).seconds);
    if (++done === 10) baseline = memory(pid);
  }
  const cpuPerScrape = (cpuSeconds(pid) - cpuBefore) / SCRAPES;
  const wall = median(walls);
  console.log(`ours (load-kp-bpf run --metrics, GET /metrics over HTTP, ${SCRAPES} scrapes):`);
  console.log(`  wall  median ${ms(wall)}   p95 ${ms(p95(walls))}   server CPU ${ms(cpuPerScrape)} per scrape   response ${(first.body.length / 1e6).toFixed(2)} MB`);
  const parts = inProcess();
  console.log(`  in-process on the same map: ObjectMetrics.collect() ${ms(parts.collect)}   formatExposition() ${ms(parts.format)}`);

  const dir = mkdtempSync(join(tmpdir(), 'lkb-bench-metrics-out-'));
  let ref: { seconds: number; cpu: number };
  let same: boolean;
  try {
    const out = join(dir, 'reference.txt');
    ref = reference(id, out);
    const theirs = familyLines(readFileSync(out, 'utf8'));
    same = theirs.length === ours.length && theirs.every((l, i) => l === ours[i]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`reference (bpftool -j map dump id ${id} | jq -r into the same lines, median of ${RUNS} runs):`);
  console.log(`  wall  median ${ms(ref.seconds)}                  pipeline CPU ${ms(ref.cpu)}   same ${N} series as ours: ${same ? 'yes' : 'NO'}`);
  console.log(`  ratio ours / reference: wall ${(wall / ref.seconds).toFixed(2)}, CPU ${(cpuPerScrape / ref.cpu).toFixed(2)}`);
  console.log(`  goal: a full scrape of ${N} series under ${GOAL_MS} ms: ${wall * 1000 < GOAL_MS ? 'met' : 'NOT met'} (median ${(wall * 1000).toFixed(0)} ms, p95 ${(p95(walls) * 1000).toFixed(0)} ms)`);

  // Memory over many scrapes, back to back, read after each. A collected heap's RSS rises and falls between
  // collections, so one reading against another says little: a leak shows as the peaks rising from one window to the next.
  const windows = [250, 500, 750, RSS_SCRAPES].filter((end, i, all) => end <= RSS_SCRAPES && all.indexOf(end) === i);
  const peaks: Array<{ from: number; to: number; low: number; high: number }> = [];
  let from = done;
  let low = Infinity;
  let high = 0;
  const started = Date.now();
  while (done < RSS_SCRAPES) {
    await scrape(url);
    done++;
    const { rss } = memory(pid);
    low = Math.min(low, rss);
    high = Math.max(high, rss);
    if (windows.includes(done)) {
      peaks.push({ from, to: done, low, high });
      from = done + 1;
      low = Infinity;
      high = 0;
    }
  }
  const last = memory(pid);
  console.log(`server memory over ${RSS_SCRAPES} scrapes (${((Date.now() - started) / 1000).toFixed(0)} s for the last ${RSS_SCRAPES - SCRAPES - 1}), RSS read after each:`);
  console.log(`  after 10: RSS ${baseline.rss.toFixed(1)} MB; ${peaks.map((p) => `scrapes ${p.from}-${p.to}: ${p.low.toFixed(1)} to ${p.high.toFixed(1)} MB`).join('; ')}; after ${RSS_SCRAPES}: ${last.rss.toFixed(1)} MB`);
  const [firstWindow, lastWindow] = [peaks[0]!, peaks[peaks.length - 1]!];
  const rise = lastWindow.high - firstWindow.high;
  const flat = rise <= Math.max(10, firstWindow.high * 0.1);
  console.log(`  peak of the last window against the first: ${rise >= 0 ? '+' : ''}${rise.toFixed(1)} MB: ${flat ? 'flat' : 'NOT flat'} (goal: within 10% or 10 MB)`);
}

try {
  await main();
} finally {
  agent.destroy();
  await cleanUp();
}
