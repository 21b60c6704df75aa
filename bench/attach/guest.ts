// Inside the guest: attach and detach times for N functions, ours by method, and bpftrace 0.17
// given the same functions as a probe list (median of the runs given as the first argument).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { KernelFunctions } from '../../src/attach/kernel-functions.js';
import { kernelHasKprobeMulti, matchKernelFunctions, type PreparedKprobeMulti } from '../../src/attach/kprobe-multi.js';
import { probePmu } from '../../src/attach/pmu.js';
import { tracefsRoot } from '../../src/attach/tracefs.js';
import { LoadedObject } from '../../src/loader.js';
import { RLIMIT, getrlimit, setrlimit } from '../../src/native.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';

const RUNS = Number(process.argv[2] ?? '5');
const REPO = new URL('../..', import.meta.url).pathname;
const spec = parseBpfObject(readFileSync(`${REPO}test/fixtures/build/kprobe_multi.o`));
const functions = new KernelFunctions(tracefsRoot());
// System call entry points first, then TCP: functions that are safe to probe. Names with a '.'
// (tcp_x.part.0, compiler clones) are left out: bpftrace 0.17 cannot generate code for them.
const candidates = [...matchKernelFunctions('__x64_sys_*', functions).matched, ...matchKernelFunctions('tcp_*', functions).matched].filter((f) => !f.includes('.'));
const SIZES = [50, 500];

// A PMU event and a link per function: more fds than the default soft limit.
const nofile = getrlimit(RLIMIT.NOFILE);
setrlimit(RLIMIT.NOFILE, nofile.hard, nofile.hard);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Our attach and detach of km_entry on these functions, in milliseconds. */
function ours(list: string[], method: 'link' | 'pmu'): { attach: number; detach: number } {
  const prepared: PreparedKprobeMulti = {
    kind: 'kprobe_multi',
    pattern: `${list.length} functions`,
    retprobe: false,
    functions: list,
    method,
    ...(method === 'pmu' ? { pmu: probePmu('kprobe')! } : {}),
    reason: 'bench',
    notes: [],
  };
  const loaded = LoadedObject.load(spec, { programs: ['km_entry'], targets: new Map([['km_entry', prepared]]) });
  const started = now();
  loaded.attach('km_entry', prepared);
  const attached = now();
  loaded.close();
  return { attach: attached - started, detach: now() - attached };
}

/** bpftrace from spawn to "Attaching N probes", and to its exit from BEGIN { exit() }, which runs once every probe is attached. */
function bpftrace(list: string[]): Promise<{ announced: number; whole: number }> {
  const program = `${list.map((f) => `kprobe:${f}`).join(',')} { @[probe] = count(); } BEGIN { exit(); }`;
  return new Promise((resolve, reject) => {
    const started = now();
    let announced: number | undefined;
    let out = '';
    const child = spawn('bpftrace', ['-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (announced === undefined && /Attaching \d+ probes/.test(out)) announced = now() - started;
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 && announced !== undefined ? resolve({ announced, whole: now() - started }) : reject(new Error(`bpftrace failed (${code}): ${err.slice(0, 500)}`))));
  });
}

const f = (x: number): string => x.toFixed(1).padStart(8);
const bpftraceVersion = (await new Promise<string>((resolve) => {
  let v = '';
  const c = spawn('bpftrace', ['--version']);
  c.stdout.on('data', (d: Buffer) => (v += d.toString()));
  c.on('close', () => resolve(v.trim()));
}));
console.log(`attach bench: kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ${bpftraceVersion}, median of ${RUNS}, ms`);
const methods: Array<'link' | 'pmu'> = kernelHasKprobeMulti() ? ['link', 'pmu'] : ['pmu'];
for (const size of SIZES) {
  const list = candidates.slice(0, size);
  if (list.length < size) throw new Error(`only ${list.length} candidate functions`);
  const theirs: Array<{ announced: number; whole: number }> = [];
  for (let i = 0; i < RUNS; i++) theirs.push(await bpftrace(list));
  const announced = median(theirs.map((t) => t.announced));
  const whole = median(theirs.map((t) => t.whole));
  // What bpftrace spends after announcing: attaching, BEGIN, detaching.
  const theirAttachDetach = median(theirs.map((t) => t.whole - t.announced));
  console.log(`\n${size} functions`);
  console.log(`  bpftrace: spawn -> "Attaching ${size} probes" ${f(announced)}   whole run ${f(whole)}   attach + detach (whole - announced) ${f(theirAttachDetach)}`);
  for (const method of methods) {
    const runs = Array.from({ length: RUNS }, () => ours(list, method));
    const attach = median(runs.map((r) => r.attach));
    const detach = median(runs.map((r) => r.detach));
    const name = method === 'link' ? 'one kprobe.multi link' : 'a PMU event + link each';
    console.log(
      `  ours, ${name.padEnd(24)} attach ${f(attach)} (${((attach * 1000) / size).toFixed(0)} us/function)   detach ${f(detach)}   attach + detach ${f(attach + detach)}   ${((attach + detach) / theirAttachDetach).toFixed(2)}x bpftrace's (goal: below 1x)`,
    );
  }
}
