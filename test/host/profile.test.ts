// Host kernel (and the guests): a sampling program shaped like bcc's profile (SEC("perf_event"),
// stack ids in a hash map's key) attached on every CPU, its stacks symbolized from the kernel's
// and a live process's symbols, written folded; what a machine without a PMU cannot sample, refused.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { RunningCli, detachedMaps, fixture, jsonEvents, oneLine, runCli, stopRunningClis } from '../support/cli.js';
import { programsGone } from '../support/kernel.js';
import { onlineCpus } from '../../src/kernel/cpus.js';
import { tool } from '../support/tools.js';

after(stopRunningClis);

const PROFILE = fixture('tool_profile.o');
const scratch = mkdtempSync(join(tmpdir(), 'lkb-profile-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Frame {
  address: string;
  symbol: string | null;
  offset: number | null;
  module: string | null;
  kernel: boolean;
}
interface Sample {
  comm?: string;
  pid?: number;
  count: number | string;
  stacks: Record<string, Frame[] | { missing: string }>;
}

/** busy_loop spinning in busy_outer -> busy_middle -> busy_leaf until killed; resolves once it said "ready". */
async function startBusyLoop(seconds?: number): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(fixture('busy_loop'), seconds === undefined ? [] : [String(seconds)]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!out.includes('ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`busy_loop did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

function detached(stdout: string): { maps: Array<{ name: string; entries: Array<{ value: string }>; stacks?: Sample[] }> } {
  const event = jsonEvents(stdout).find((e) => e.event === 'detached');
  assert.ok(event, stdout);
  return event as unknown as ReturnType<typeof detached>;
}

/**
 * The frames of a flame graph as Chromium has it after its script ran (with a view given in the
 * URL's query). The DOM is taken once Chromium has printed all of it: its shutdown after that,
 * slow on a busy machine, is not waited for.
 */
async function framesInBrowser(svg: string, query = ''): Promise<{ ready: boolean; frames: Array<{ name: string; width: number; hidden: boolean; match: boolean }> }> {
  const browser = spawn(tool('chromium-headless-shell'), ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${svg}${query}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  let dom = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Chromium printed no whole DOM in 60 s: ${dom.slice(0, 200)}`)), 60_000);
      browser.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        dom += chunk;
        if (dom.includes('</svg>')) {
          clearTimeout(timer);
          resolve();
        }
      });
      browser.once('exit', (code) => {
        clearTimeout(timer);
        if (dom.includes('</svg>')) resolve();
        else reject(new Error(`Chromium exited (${code}) before printing the DOM: ${dom.slice(0, 200)}`));
      });
    });
  } finally {
    if (browser.exitCode === null && browser.signalCode === null) browser.kill('SIGKILL');
  }
  const frames = [...dom.matchAll(/<g class="f( [^"]*)?"[^>]*><title>(.*?) \(\d+ samples?, [\d.]+%\)<\/title><rect [^>]*width="([\d.]+)"/g)].map((m) => ({
    name: m[2]!,
    width: Number(m[3]),
    hidden: (m[1] ?? '').includes('hidden'),
    match: (m[1] ?? '').includes('match'),
  }));
  return { ready: /<svg [^>]*data-ready="true"/.test(dom), frames };
}

/** The symbols /proc/kallsyms names (the same file the loader reads; here to check its frames are the kernel's). */
function kernelSymbolNames(): Set<string> {
  return new Set(readFileSync('/proc/kallsyms', 'utf8').split('\n').map((l) => l.split(/\s+/)[2]!).filter(Boolean));
}

describe('sampling with SEC("perf_event"), stacks symbolized', () => {
  test("profile's object samples a busy process at 99 Hz on every CPU; its stacks name the busy functions in call order, written folded too", async () => {
    const busy = await startBusyLoop();
    const folded = join(scratch, 'busy.folded');
    const svg = join(scratch, 'busy.svg');
    try {
      const result = await runCli([PROFILE, '--set', `targ_pid=${busy.pid}`, '--duration', '3', '--json', '--folded', folded, '--flamegraph', svg], 60_000);
      assert.equal(result.code, 0, result.stderr);
      const attached = jsonEvents(result.stdout).find((e) => e.event === 'attached')!;
      const [attachment] = attached.attachments as Array<{ kind: string; target: string; cpus: number }>;
      assert.deepEqual([attachment!.kind, attachment!.target, attachment!.cpus], ['perf_event', 'cpu-clock:99hz', onlineCpus().length]);
      assert.match(result.stderr, /program 'do_perf_event' samples cpu-clock:99hz on each of \d+ CPUs?/);

      const counts = detached(result.stdout).maps.find((m) => m.name === 'counts')!;
      const total = counts.entries.reduce((sum, e) => sum + Number(e.value), 0);
      // 3 s of a process that never sleeps, sampled 99 times a second: far more than 20 however busy the machine.
      assert.ok(total >= 20, `only ${total} samples`);
      const samples = counts.stacks!;
      assert.ok(samples.length > 0);
      assert.ok(samples.every((s) => s.pid === busy.pid && s.comm === 'busy_loop'), JSON.stringify(samples.slice(0, 3)));
      assert.equal(samples.reduce((sum, s) => sum + Number(s.count), 0), total, 'every sample is in a stack');

      // The most frequent user stack runs leaf first through the busy functions, in the busy_loop binary.
      const user = samples.map((s) => s.stacks.user_stack_id).find((st): st is Frame[] => Array.isArray(st) && st.some((f) => f.symbol === 'busy_leaf'));
      assert.ok(user, JSON.stringify(samples.slice(0, 3)));
      const names = user.map((f) => f.symbol);
      const order = ['busy_leaf', 'busy_middle', 'busy_outer', 'main'].map((n) => names.indexOf(n));
      assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), `frames out of order: ${names.join(' <- ')}`);
      assert.ok(user.filter((f) => f.symbol?.startsWith('busy_')).every((f) => f.module === 'busy_loop' && !f.kernel));
      // Kernel frames (a tick taken in the kernel) are the kernel's own symbols.
      const kallsyms = kernelSymbolNames();
      for (const s of samples) {
        const kernel = s.stacks.kern_stack_id;
        if (Array.isArray(kernel)) for (const f of kernel) assert.ok(f.kernel && (f.symbol === null || kallsyms.has(f.symbol)), JSON.stringify(f));
        else assert.ok(kernel && 'missing' in kernel);
      }

      // Folded: "comm;root;...;leaf count", the counts adding up to the samples.
      const lines = readFileSync(folded, 'utf8').trimEnd().split('\n');
      let foldedTotal = 0;
      for (const line of lines) {
        const match = /^(\S+) (\d+)$/.exec(line);
        assert.ok(match, `not a folded line: ${line}`);
        assert.ok(match[1]!.startsWith('busy_loop;'), line);
        foldedTotal += Number(match[2]);
      }
      assert.equal(foldedTotal, total);
      assert.ok(lines.some((l) => l.includes(';busy_outer;busy_middle;busy_leaf')), lines.slice(0, 3).join('\n'));
      assert.match(result.stderr, new RegExp(`wrote ${lines.length} stacks? \\(${total} samples?\\) to ${folded.replace(/[.]/g, '\\.')}`));

      // The flame graph opens in a browser, its script runs, and the busy functions are the wide frames.
      const drawn = await framesInBrowser(svg);
      assert.ok(drawn.ready, 'the flame graph script ran');
      const widest = (name: string): number => Math.max(0, ...drawn.frames.filter((f) => f.name === name).map((f) => f.width));
      const root = widest('all');
      assert.ok(root > 1000, `root ${root}`);
      assert.equal(widest('busy_loop'), root, 'every sample is busy_loop');
      assert.ok(widest('busy_outer') >= root * 0.9 && widest('busy_outer') >= widest('busy_middle') && widest('busy_middle') >= widest('busy_leaf'), JSON.stringify(drawn.frames.slice(0, 8)));
      // Zoomed to busy_leaf from the link: it fills the width, its sibling in the library is hidden.
      const zoomed = await framesInBrowser(svg, '?f=busy_leaf&s=^busy_in');
      const leaf = zoomed.frames.find((f) => f.name === 'busy_leaf')!;
      assert.equal(leaf.width, root);
      assert.ok(zoomed.frames.filter((f) => f.name === 'busy_in_library').every((f) => f.hidden && f.match));
    } finally {
      busy.kill('SIGKILL');
    }
    await programsGone('do_perf_event');
  });

  test('text: the stacks as bcc prints them, kernel frames above user frames, the owner and count below', async () => {
    const busy = await startBusyLoop();
    try {
      const result = await runCli([PROFILE, '--set', `targ_pid=${busy.pid}`, '--duration', '2'], 60_000);
      assert.equal(result.code, 0, result.stderr);
      const report = result.stdout.slice(result.stdout.indexOf('detached'));
      assert.match(report, /counts: \d+ entr(y|ies), \d+ different stacks?/);
      assert.match(report, /\n {4}busy_leaf\+0x[0-9a-f]+ \[busy_loop\]\n {4}busy_middle\+0x[0-9a-f]+ \[busy_loop\]\n/);
      assert.match(report, new RegExp(`\\n {4}- {16}busy_loop \\(${busy.pid}\\)\\n {8}\\d+\\n`));
    } finally {
      busy.kill('SIGKILL');
    }
  });

  test('a process that exits long before the report: its stacks are still named, from its mappings remembered while it ran', async () => {
    const cli = new RunningCli([PROFILE, '--json']);
    await cli.waitFor(/"event":"attached"/);
    const busy = await startBusyLoop(2.5);
    await new Promise((resolve) => busy.on('exit', resolve));
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const samples = (detached(result.stdout).maps.find((m) => m.name === 'counts')!.stacks ?? []).filter((s) => s.pid === busy.pid);
    assert.ok(samples.length > 0, 'busy_loop was sampled');
    const named = samples.filter((s) => Array.isArray(s.stacks.user_stack_id) && s.stacks.user_stack_id.some((f) => f.symbol === 'busy_leaf' && f.module === 'busy_loop'));
    assert.ok(named.length > 0, JSON.stringify(samples.slice(0, 2)));
  });

  test('a process that samples nothing: no entries, no stacks, an empty folded file said so', async () => {
    const folded = join(scratch, 'none.folded');
    // pid 1 sleeps nearly always; a pid that cannot exist never runs.
    const result = await runCli([PROFILE, '--set', 'targ_pid=2147483647', '--duration', '1', '--json', '--folded', folded], 60_000);
    assert.equal(result.code, 0, result.stderr);
    const counts = detached(result.stdout).maps.find((m) => m.name === 'counts')!;
    assert.deepEqual([counts.entries.length, counts.stacks], [0, undefined]);
    assert.equal(readFileSync(folded, 'utf8'), '');
    assert.match(result.stderr, /wrote 0 stacks \(0 samples\)/);
  });

  test('hardware events: sampled where a PMU counts them, else refused in one line naming the missing PMU (or skipped)', async () => {
    // The kernel lists the CPU's PMU events here when it has one (a VM without a virtual PMU has none).
    const hasCycles = existsSync('/sys/bus/event_source/devices/cpu/events/cpu-cycles') || existsSync('/sys/bus/event_source/devices/cpu_core/events/cpu-cycles');
    const result = await runCli([PROFILE, '--attach', 'do_perf_event=cycles:period=1000000', '--duration', '1', '--json'], 60_000);
    if (hasCycles) {
      assert.equal(result.code, 0, result.stderr);
      const attached = jsonEvents(result.stdout).find((e) => e.event === 'attached')!;
      assert.equal((attached.attachments as Array<{ target: string }>)[0]!.target, 'cycles:period=1000000');
      return;
    }
    assert.equal(result.code, 1);
    assert.equal(oneLine(result.stderr), "load-kp-bpf: perf event cycles:period=1000000 cannot be opened on this machine: no PMU here counts the hardware event 'cycles' (a VM without a virtual PMU, or a CPU without it); sample a software event such as cpu-clock, or leave the program out with --skip-missing");
    await programsGone('do_perf_event');
  });

  test('a misspelt event or a rate the kernel refuses is one line, before anything is loaded', async () => {
    const misspelt = await runCli([PROFILE, '--attach', 'do_perf_event=cpu-clok', '--duration', '1']);
    assert.equal(misspelt.code, 1);
    assert.match(oneLine(misspelt.stderr), /^load-kp-bpf: perf event "cpu-clok": no such event; closest: cpu-clock/);
    const tooFast = await runCli([PROFILE, '--attach', 'do_perf_event=cpu-clock:100000000hz', '--duration', '1']);
    assert.equal(tooFast.code, 1);
    assert.match(oneLine(tooFast.stderr), /100000000 Hz is above kernel\.perf_event_max_sample_rate \(\d+\); choose a lower frequency$/);
    const retprobe = await runCli([PROFILE, '--retprobe=do_perf_event', '--duration', '1']);
    assert.equal(retprobe.code, 1);
    assert.match(oneLine(retprobe.stderr), /program 'do_perf_event' is sampling .* which has no return to probe/);
    await programsGone('do_perf_event');
  });
});

describe('--pid: one process', () => {
  test('a uprobe fires in that process only (the perf event is the process\'s), the binary found as the process maps it', async () => {
    const [a, b] = [await startBusyLoop(), await startBusyLoop()];
    try {
      const result = await runCli([fixture('tool_uprobe_calls.o'), '--attach', `count_calls=${fixture('busy_loop')}:busy_outer`, '--pid', String(a.pid), '--duration', '1', '--json'], 60_000);
      assert.equal(result.code, 0, result.stderr);
      const [attachment] = jsonEvents(result.stdout).find((e) => e.event === 'attached')!.attachments as Array<{ resolved: string }>;
      assert.match(attachment!.resolved, new RegExp(`^/proc/${a.pid}/root/.*busy_loop:busy_outer`));
      assert.match(result.stderr, new RegExp(`uprobe on .*busy_loop of process ${a.pid} \\(/proc/${a.pid}/root/.*\\): fires in process ${a.pid} only`));
      const calls = detachedMaps(result.stdout).calls!;
      assert.deepEqual(Object.keys(calls), [String(a.pid)], `only process ${a.pid}, not ${b.pid}: ${JSON.stringify(calls)}`);
      assert.ok(Number(calls[String(a.pid)]) > 0);
    } finally {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
    }
    await programsGone('count_calls');
  });

  test('a binary only the process sees (its own mount namespace): found under /proc/PID/root, and its calls counted', async () => {
    // In a new mount namespace, a copy of busy_loop is bound over an empty directory; here the directory stays empty.
    const copy = join(scratch, 'copy');
    const place = join(scratch, 'place');
    mkdirSync(copy);
    mkdirSync(place);
    for (const file of ['busy_loop', 'libbusy.so']) copyFileSync(fixture(file), join(copy, file));
    const inside = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" "$2" && exec "$2/busy_loop"', 'sh', copy, place]);
    let out = '';
    inside.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 10_000;
      while (!out.includes('ready')) {
        assert.ok(inside.exitCode === null && Date.now() < deadline, `busy_loop in its namespace did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(!existsSync(join(place, 'busy_loop')), 'the binary is not at its path here');
      const result = await runCli([fixture('tool_uprobe_calls.o'), '--attach', `count_calls=${place}/busy_loop:busy_outer`, '--pid', String(inside.pid), '--duration', '1', '--json'], 60_000);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`uprobe on ${place}/busy_loop of process ${inside.pid} \\(/proc/${inside.pid}/root${place}/busy_loop\\)`));
      assert.ok(Number(detachedMaps(result.stdout).calls![String(inside.pid)] ?? 0) > 0, result.stdout);
    } finally {
      inside.kill('SIGKILL');
    }
  });

  test("sampling: each thread of the process gets its event, and the object's targ_pid is set to it (said)", async () => {
    const busy = await startBusyLoop();
    try {
      const result = await runCli([PROFILE, '--pid', String(busy.pid), '--duration', '2', '--json'], 60_000);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`--pid ${busy.pid}: set the object's targ_pid to ${busy.pid} \\(--set targ_pid=N chooses otherwise\\)`));
      assert.match(result.stderr, new RegExp(`samples cpu-clock:99hz in the one thread of process ${busy.pid}`));
      const [attachment] = jsonEvents(result.stdout).find((e) => e.event === 'attached')!.attachments as Array<{ threads: number }>;
      assert.equal(attachment!.threads, 1);
      const samples = detached(result.stdout).maps.find((m) => m.name === 'counts')!.stacks!;
      assert.ok(samples.length > 0 && samples.every((s) => s.pid === busy.pid), JSON.stringify(samples.slice(0, 2)));
    } finally {
      busy.kill('SIGKILL');
    }
  });

  test('a process that does not exist, or a thread given for its process, is one line', async () => {
    const none = await runCli([PROFILE, '--pid', '2147483646', '--duration', '1']);
    assert.equal(none.code, 1);
    assert.equal(oneLine(none.stderr), 'load-kp-bpf: --pid 2147483646: no such process');
    // Node runs threads of its own beside its main one.
    const thread = readdirSync('/proc/self/task').map(Number).find((t) => t !== process.pid)!;
    const result = await runCli([PROFILE, '--pid', String(thread), '--duration', '1']);
    assert.equal(result.code, 1);
    assert.equal(oneLine(result.stderr), `load-kp-bpf: --pid ${thread}: that is a thread of process ${process.pid}; give the process`);
  });
});
