// Kernels with kprobes: a function the compiler left only as a clone (X.isra.0, X.constprop.0) is
// probed by its plain name, a module's function as MODULE:FUNCTION. Which clones a kernel has and which run is found at test time: every
// clone-only function is probed at once by its clone name, the workload run, and one that fired chosen.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { tracefsRoot } from '../../src/attach/tracefs.js';
import { EXAMPLE, RunningCli, detachedMaps, fixture, jsonEvents, oneLine, runCli, stopRunningClis } from '../support/cli.js';
import { tool } from '../support/tools.js';
import { pinnedCounter, programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

after(async () => {
  await stopRunningClis();
  removeScratchPinRoots();
});

/** Reads, stats, a fork and an exec: enough of the kernel for some clone to run. */
function workload(): void {
  for (let i = 0; i < 50; i++) readFileSync('/proc/self/stat');
  execFileSync('true');
}

/** Functions present only as one clone ("name.isra.0" or "name.constprop.0"), by plain name. */
function cloneOnlyFunctions(): Map<string, string> {
  const names = readFileSync(`${tracefsRoot()}/available_filter_functions`, 'utf8').split('\n').map((l) => l.split(/\s/)[0]!).filter(Boolean);
  const all = new Set(names);
  const byBase = new Map<string, string[]>();
  for (const name of names) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\.(?:isra|constprop)\.0$/.exec(name);
    if (match && !all.has(match[1]!)) byBase.set(match[1]!, [...(byBase.get(match[1]!) ?? []), name]);
  }
  return new Map([...byBase].filter(([base, clones]) => clones.length === 1 && ![...all].some((n) => n !== clones[0] && n.startsWith(`${base}.`))).map(([base, clones]) => [base, clones[0]!]));
}

describe('compiler clones', () => {
  test("a kprobe on a function that exists only as 'X.isra.0' or 'X.constprop.0' attaches to the clone, says so, and counts", async () => {
    const clones = cloneOnlyFunctions();
    assert.ok(clones.size > 0, 'Debian kernels have clone-only functions');
    // Which of them run here: all probed at once by their clone names (cookie i is function i).
    const finder = new RunningCli([fixture('kprobe_multi.o'), '*.isra.0', '-p', 'km_entry', '--skip-missing', '--json']);
    await finder.waitFor(/"event":"attached"/, 120_000);
    const table = (jsonEvents(finder.stdout)[0]!.attachments as Array<{ functions: string[] }>)[0]!.functions;
    workload();
    const found = await finder.stop('SIGINT');
    assert.equal(found.code, 0, found.stderr);
    const fired = Object.entries(detachedMaps(found.stdout).km_entries ?? {})
      .map(([cookie, count]) => ({ name: table[Number(cookie)]!, count: BigInt(count) }))
      .filter((f) => [...clones.values()].includes(f.name))
      .sort((a, b) => (b.count > a.count ? 1 : -1));
    assert.ok(fired.length > 0, `none of ${clones.size} clone-only functions ran`);
    const clone = fired[0]!.name;
    const base = [...clones].find(([, c]) => c === clone)![0];

    const root = scratchPinRoot('clone');
    const cli = new RunningCli([EXAMPLE, base, '--pin-root', root, '--json']);
    await cli.waitFor(/"event":"attached"/);
    assert.match(cli.stderr, new RegExp(`'${base}' is only '${clone.replace(/\./g, '\\.')}' in this kernel \\(the compiler's copy\\); probing it`));
    const [attachment] = jsonEvents(cli.stdout)[0]!.attachments as Array<{ target: string; resolved: string }>;
    assert.deepEqual([attachment!.target, attachment!.resolved], [base, clone]);
    const before = pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n;
    workload();
    const counted = (pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n) - before;
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(counted > 0n, `the kprobe on ${clone} did not fire`);
    await programsGone('count_bpf_calls');
  });
});

describe('module functions', () => {
  test("MODULE:FUNCTION: a kprobe and an fentry on a loaded module's function fire; a module not loaded is named", async () => {
    execFileSync(tool('modprobe'), ['dummy']);
    const root = scratchPinRoot('module');
    const cli = new RunningCli([EXAMPLE, 'dummy:dummy_setup', '--pin-root', root, '--json']);
    await cli.waitFor(/"event":"attached"/);
    const [attachment] = jsonEvents(cli.stdout)[0]!.attachments as Array<{ target: string; resolved: string }>;
    assert.deepEqual([attachment!.target, attachment!.resolved], ['dummy:dummy_setup', 'dummy:dummy_setup']);
    // Each dummy link made runs the module's setup once.
    for (const name of ['lkbdummy0', 'lkbdummy1']) execFileSync(tool('ip'), ['link', 'add', name, 'type', 'dummy']);
    for (const name of ['lkbdummy0', 'lkbdummy1']) execFileSync(tool('ip'), ['link', 'del', name]);
    const counted = pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n;
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(counted, 2n);

    // fentry on the module's function, through its BTF: the trampoline counts the same two calls.
    const fentry = new RunningCli([fixture('tool_fentry_calls.o'), '--attach', 'count_entry=dummy:dummy_setup', '--json']);
    await fentry.waitFor(/"event":"attached"/);
    const [traced] = jsonEvents(fentry.stdout)[0]!.attachments as Array<{ kind: string; resolved: string }>;
    assert.deepEqual([traced!.kind, traced!.resolved], ['fentry', 'dummy:dummy_setup']);
    for (const name of ['lkbdummy2', 'lkbdummy3']) execFileSync(tool('ip'), ['link', 'add', name, 'type', 'dummy']);
    for (const name of ['lkbdummy2', 'lkbdummy3']) execFileSync(tool('ip'), ['link', 'del', name]);
    const traceResult = await fentry.stop('SIGINT');
    assert.equal(traceResult.code, 0, traceResult.stderr);
    assert.deepEqual(detachedMaps(traceResult.stdout).entries, { 0: '2' });

    const absent = await runCli([EXAMPLE, 'lkb_no_such_module:some_fn']);
    assert.equal(absent.code, 1);
    assert.equal(oneLine(absent.stderr), "load-kp-bpf: kernel module 'lkb_no_such_module' is not loaded (modprobe lkb_no_such_module loads it)");
    const absentFentry = await runCli([fixture('tool_fentry_calls.o'), '--attach', 'count_entry=lkb_no_such_module:some_fn']);
    assert.equal(absentFentry.code, 1);
    assert.match(oneLine(absentFentry.stderr), /kernel module 'lkb_no_such_module' is not loaded, or has no BTF \(\/sys\/kernel\/btf\/lkb_no_such_module\), so fentry cannot attach to its functions/);
    await programsGone('count_bpf_calls');
  });
});
