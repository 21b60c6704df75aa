// Kernels with kprobes (run in Debian 6.1 and 6.12 under qemu by test/vm): the loader attaches
// through tracefs as the seed did, counts, and leaves nothing but its pinned maps behind on every
// way out.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from '../support/test.js';
import { appendDefinition, tracefsRoot } from '../../src/attach/tracefs.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { EXAMPLE, RunningCli, fixture, runCli, stopRunningClis } from '../support/cli.js';
import { makeBpfCalls, pinnedCounter, pinnedTotal, programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

const BPF_MAP_LOOKUP_ELEM = 1;
/** These tests watch the loader's tracefs events, so they ask for that method (auto prefers the PMU). */
const TRACEFS = ['--attach-mode', 'tracefs'];
const ATTACHED = /press Ctrl-C to detach/;
let tracefs = '';
const kprobeEvents = (): string => readFileSync(`${tracefs}/kprobe_events`, 'utf8');

before(() => {
  tracefs = tracefsRoot();
  assert.ok(existsSync(`${tracefs}/kprobe_events`), 'these tests need a kernel with kprobe events');
});
after(async () => {
  await stopRunningClis();
  removeScratchPinRoots();
});

/** The kprobe event a running loader created, from kprobe_events. */
function eventOf(pid: number): string | undefined {
  return new RegExp(`^p:kprobes/(load_kp_bpf_${pid}_\\d+_\\w+) `, 'm').exec(kprobeEvents())?.[1];
}

/** Makes bpf() calls through the loader's own pinned map, so its program counts them. */
function callBpf(root: string, count: number): void {
  const map = BpfMap.fromPin(`${root}/kp_bpf_cmds`);
  try {
    makeBpfCalls(map, count);
  } finally {
    map.close();
  }
}

const lookups = (root: string): bigint => pinnedCounter(`${root}/kp_bpf_cmds`, BPF_MAP_LOOKUP_ELEM) ?? 0n;
const hits = (root: string): bigint => pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n;

describe('load-kp-bpf examples/test_prog.o sys_bpf', () => {
  test('attaches to the syscall, counts our bpf() calls, and on SIGINT removes all but the pins', async () => {
    const root = scratchPinRoot('main');
    const cli = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', root]);
    await cli.waitFor(ATTACHED);
    assert.match(cli.stderr, /'sys_bpf' does not exist in this kernel; using its syscall entry point '__x64_sys_bpf'/);
    assert.match(cli.stdout, /kprobe\s+sys_bpf -> __x64_sys_bpf\s+tracefs, ioctl/);
    const event = eventOf(cli.pid);
    assert.ok(event, `no event of pid ${cli.pid} in kprobe_events:\n${kprobeEvents()}`);
    assert.match(kprobeEvents(), new RegExp(`^p:kprobes/${event} __x64_sys_bpf$`, 'm'));

    const before = lookups(root);
    callBpf(root, 200);
    const counted = lookups(root) - before;
    assert.ok(counted >= 200n, `BPF_MAP_LOOKUP_ELEM counted ${counted} times, expected at least 200`);
    assert.ok(hits(root) >= 200n);

    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /detached \(SIGINT\)/);
    assert.match(result.stdout, /kp_bpf_cmds \(kept at .*\/kp_bpf_cmds\): \d+ entr(y|ies)/);
    assert.doesNotMatch(kprobeEvents(), new RegExp(event!));
    await programsGone('count_bpf_calls');
    assert.ok(lookups(root) >= before + 200n, 'the pinned map keeps its counts');
  });

  test('the same object on a non-syscall function: __sys_bpf counts per command, vfs_read counts reads', async () => {
    const root = scratchPinRoot('inner');
    const cli = new RunningCli([...TRACEFS, EXAMPLE, '__sys_bpf', '--pin-root', root]);
    await cli.waitFor(ATTACHED);
    const before = lookups(root);
    callBpf(root, 100);
    assert.ok(lookups(root) - before >= 100n, 'the command is the first argument of __sys_bpf itself');
    assert.equal((await cli.stop('SIGINT')).code, 0);

    const reads = scratchPinRoot('vfs');
    const reader = new RunningCli([...TRACEFS, EXAMPLE, 'vfs_read', '--pin-root', reads]);
    await reader.waitFor(ATTACHED);
    const start = hits(reads);
    for (let i = 0; i < 100; i++) readFileSync('/proc/self/stat');
    assert.ok(hits(reads) - start >= 100n, `vfs_read hits ${hits(reads) - start}, expected at least 100`);
    assert.equal((await reader.stop('SIGINT')).code, 0);
    await programsGone('count_bpf_calls');
  });
});

describe('function+offset', () => {
  /** Whether the kernel itself takes a kprobe at vfs_read+offset (an instruction boundary), asked of kprobe_events. */
  function kernelTakes(offset: number): boolean {
    const probe = `lkb_test_offset_${process.pid}`;
    try {
      appendDefinition(`${tracefs}/kprobe_events`, `p:kprobes/${probe} vfs_read+${offset}`);
    } catch {
      return false; // EILSEQ: not an instruction boundary
    }
    appendDefinition(`${tracefs}/kprobe_events`, `-:kprobes/${probe}`);
    return true;
  }
  const offsets = (): { inside: number; between: number } => {
    const taken = Array.from({ length: 31 }, (_, i) => i + 1).map((offset) => [offset, kernelTakes(offset)] as const);
    const inside = taken.find(([, ok]) => ok)?.[0];
    const between = taken.find(([, ok]) => !ok)?.[0];
    assert.ok(inside !== undefined && between !== undefined, 'the first 32 bytes of vfs_read hold instruction boundaries and bytes between them');
    return { inside, between };
  };

  test('vfs_read+N at an instruction boundary counts each read; between two instructions it is refused, leaving nothing', async () => {
    const { inside: offset, between } = offsets();
    const root = scratchPinRoot('offset');
    const cli = new RunningCli([...TRACEFS, EXAMPLE, `vfs_read+${offset}`, '--pin-root', root]);
    await cli.waitFor(ATTACHED);
    assert.match(kprobeEvents(), new RegExp(`^p:kprobes/${eventOf(cli.pid)} vfs_read\\+${offset}$`, 'm'));
    const start = hits(root);
    for (let i = 0; i < 100; i++) readFileSync('/proc/self/stat');
    assert.ok(hits(root) - start >= 100n, `vfs_read+${offset} hits ${hits(root) - start}, expected at least 100`);
    assert.equal((await cli.stop('SIGINT')).code, 0);
    await programsGone('count_bpf_calls');

    const before = kprobeEvents();
    const refused = await runCli([...TRACEFS, EXAMPLE, `vfs_read+${between}`, '--pin-root', scratchPinRoot('offset-bad')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr.trim(), /^load-kp-bpf: .*vfs_read\+.*EILSEQ/);
    assert.equal(kprobeEvents(), before);
    await programsGone('count_bpf_calls');
  });
});

describe('every way out leaves no event and no program', () => {
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${signal}`, async () => {
      const root = scratchPinRoot(signal);
      const cli = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', root]);
      await cli.waitFor(ATTACHED);
      const event = eventOf(cli.pid)!;
      assert.ok(event);
      const result = await cli.stop(signal);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`detached \\(${signal}\\)`));
      assert.doesNotMatch(kprobeEvents(), new RegExp(event));
      await programsGone('count_bpf_calls');
      assert.ok(existsSync(`${root}/kp_bpf_cmds`));
    });
  }

  test('an error after maps exist (pin conflict) leaves kprobe_events, pins and programs as they were', async () => {
    const root = scratchPinRoot('conflict');
    const first = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', root]);
    await first.waitFor(ATTACHED);
    await first.stop('SIGINT');
    const eventsBefore = kprobeEvents();
    const result = await runCli([...TRACEFS, fixture('pin_conflict.o'), 'sys_bpf', '--pin-root', root]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /does not match map 'kp_bpf_cmds' of the object \(value size: pinned 8, object 4; max entries: pinned 64, object 128\)/);
    assert.equal(kprobeEvents(), eventsBefore);
    await programsGone('conflicting');
    assert.equal(BpfMap.fromPin(`${root}/kp_bpf_cmds`).definition.valueSize, 8);
  });

  test('SIGKILL leaves an event; the next start removes it and says so, and touches no one else', async () => {
    const root = scratchPinRoot('kill');
    const killed = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', root]);
    await killed.waitFor(ATTACHED);
    const stale = eventOf(killed.pid)!;
    await killed.stop('SIGKILL');
    assert.match(kprobeEvents(), new RegExp(stale), 'SIGKILL cannot clean up: the event is still there');

    // Someone else's event, and an event named like ours whose process (this test) is alive.
    const foreign = 'lkb_test_foreign_probe';
    const alive = `load_kp_bpf_${process.pid}_0_vfs_read`;
    appendDefinition(`${tracefs}/kprobe_events`, `p:kprobes/${foreign} vfs_read`);
    appendDefinition(`${tracefs}/kprobe_events`, `p:kprobes/${alive} vfs_read`);
    try {
      const next = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', root]);
      await next.waitFor(ATTACHED);
      assert.match(next.stderr, new RegExp(`removed 1 stale event\\(s\\) left by load-kp-bpf processes that no longer run: kprobes/${stale}`));
      const events = kprobeEvents();
      assert.doesNotMatch(events, new RegExp(stale));
      assert.match(events, new RegExp(foreign));
      assert.match(events, new RegExp(alive));
      assert.equal((await next.stop('SIGINT')).code, 0);
    } finally {
      appendDefinition(`${tracefs}/kprobe_events`, `-:kprobes/${foreign}`);
      appendDefinition(`${tracefs}/kprobe_events`, `-:kprobes/${alive}`);
    }
  });
});

describe('two loaders on the same function', () => {
  test('both attach and count; each removes only its own event', async () => {
    const [rootA, rootB] = [scratchPinRoot('twoA'), scratchPinRoot('twoB')];
    const a = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', rootA]);
    const b = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', rootB]);
    await Promise.all([a.waitFor(ATTACHED), b.waitFor(ATTACHED)]);
    const [eventA, eventB] = [eventOf(a.pid)!, eventOf(b.pid)!];
    assert.ok(eventA && eventB && eventA !== eventB);
    const [startA, startB] = [lookups(rootA), lookups(rootB)];
    callBpf(rootA, 50);
    assert.ok(lookups(rootA) - startA >= 50n);
    assert.ok(lookups(rootB) - startB >= 50n, 'the other loader sees the same calls');

    assert.equal((await a.stop('SIGINT')).code, 0);
    assert.doesNotMatch(kprobeEvents(), new RegExp(eventA));
    assert.match(kprobeEvents(), new RegExp(eventB));
    const stillB = lookups(rootB);
    callBpf(rootB, 20);
    assert.ok(lookups(rootB) - stillB >= 20n, 'the second loader still counts');
    assert.equal((await b.stop('SIGINT')).code, 0);
    assert.doesNotMatch(kprobeEvents(), new RegExp(eventB));
  });
});

describe('pins across runs', () => {
  test('a second run reuses the pin and the count keeps growing', async () => {
    const root = scratchPinRoot('rerun');
    const first = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', root]);
    await first.waitFor(ATTACHED);
    assert.match(first.stdout, /kp_bpf_cmds .*\(created\)/);
    callBpf(root, 30);
    await first.stop('SIGINT');
    const afterFirst = lookups(root);
    assert.ok(afterFirst >= 30n);

    const second = new RunningCli([...TRACEFS, EXAMPLE, 'sys_bpf', '--pin-root', root]);
    await second.waitFor(ATTACHED);
    assert.match(second.stdout, /kp_bpf_cmds .*\(reused\)/);
    callBpf(root, 30);
    await second.stop('SIGINT');
    assert.ok(lookups(root) >= afterFirst + 30n, `count went from ${afterFirst} to ${lookups(root)}`);
  });

  test('pinning 2 goes to tc/globals', async () => {
    const root = scratchPinRoot('global');
    const cli = new RunningCli([...TRACEFS, fixture('pin_global.o'), 'vfs_read', '--pin-root', root]);
    await cli.waitFor(ATTACHED);
    for (let i = 0; i < 20; i++) readFileSync('/proc/self/stat');
    assert.ok(pinnedTotal(`${root}/tc/globals/pg_shared`) >= 20n);
    assert.equal((await cli.stop('SIGINT')).code, 0);
    assert.ok(existsSync(`${root}/tc/globals/pg_shared`));
  });
});

describe('errors', () => {
  test('a blacklisted function is refused before anything is created', async () => {
    const blacklist = readFileSync('/sys/kernel/debug/kprobes/blacklist', 'utf8');
    const name = /^\S+\s+([A-Za-z_][A-Za-z0-9_]*)$/m.exec(blacklist)?.[1];
    assert.ok(name, 'the kprobe blacklist lists functions');
    const before = kprobeEvents();
    const result = await runCli([...TRACEFS, EXAMPLE, name, '--pin-root', scratchPinRoot('black')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`kernel function '${name}' cannot be probed: it is in the kprobe blacklist`));
    assert.equal(kprobeEvents(), before);
  });

  test('a function that does not exist is refused with the closest names', async () => {
    const result = await runCli([...TRACEFS, EXAMPLE, 'vfs_reed', '--pin-root', scratchPinRoot('missing')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /kernel function 'vfs_reed' does not exist in this kernel .*; closest: .*vfs_read/);
  });

  for (const name of ['vfs_read\np:kprobes/injected do_exit', 'vfs_read do_exit']) {
    test(`function name ${JSON.stringify(name)} is refused before any tracefs write`, async () => {
      const before = kprobeEvents();
      const result = await runCli([...TRACEFS, EXAMPLE, name, '--pin-root', scratchPinRoot('inject')]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /contains a (line break|space)/);
      assert.equal(kprobeEvents(), before);
    });
  }

  test('a verifier-rejected program shows the log and leaves nothing', async () => {
    const before = kprobeEvents();
    const result = await runCli([...TRACEFS, fixture('verifier_reject.o'), 'vfs_read', '--pin-root', scratchPinRoot('verifier')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /R0 invalid mem access 'map_value_or_null'/);
    assert.match(result.stderr.trimEnd().split('\n').pop()!, /^load-kp-bpf: loading program 'unchecked_lookup': the verifier rejected it/);
    assert.equal(kprobeEvents(), before);
    await programsGone('unchecked_lookup');
  });
});
