// Host kernel: tracepoint programs in both naming conventions and uprobes in every attach mode
// fire and count exactly; kprobes count where the kernel has them and fail clearly, leaving nothing, where not.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { REPO, RunningCli, detachedMaps, fixture, jsonEvents, runCli, runProgram, stopRunningClis } from '../support/cli.js';
import { HAS_KPROBES } from '../support/features.js';
import { makeBpfCalls, pinnedCounter, programsGone, removeScratchPinRoots, scratchPinRoot, tracefsFile } from '../support/kernel.js';
import { tool } from '../support/tools.js';

const ATTACHED = /press Ctrl-C to detach|"event":"attached"/;
const UPROBE_TARGET = `${REPO}examples/uprobe_target`;
after(async () => {
  await stopRunningClis();
  removeScratchPinRoots();
});

describe('tracepoints', () => {
  test('libbpf convention: SEC("tracepoint/syscalls/sys_enter_bpf") counts bpf() calls per command', async () => {
    const root = scratchPinRoot('tp');
    const cli = new RunningCli([`${REPO}examples/bpf_cmds_tp.o`, '--pin-root', root]);
    await cli.waitFor(ATTACHED);
    assert.match(cli.stdout, /tracepoint\s+syscalls\/sys_enter_bpf\s+tracefs, (link|ioctl)\s+program count_bpf_cmds/);
    const map = BpfMap.fromPin(`${root}/tp_bpf_cmds`);
    const before = pinnedCounter(`${root}/tp_bpf_cmds`, 1) ?? 0n;
    makeBpfCalls(map, 100);
    map.close();
    assert.ok((pinnedCounter(`${root}/tp_bpf_cmds`, 1) ?? 0n) - before >= 100n);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    await programsGone('count_bpf_cmds');
  });

  test('bcc convention: a function named tracepoint__syscalls__sys_enter_bpf, chosen with --program', async () => {
    const cli = new RunningCli([fixture('link_bcc.o'), '--program', 'tracepoint__syscalls__sys_enter_bpf', '--json']);
    await cli.waitFor(ATTACHED);
    const attached = jsonEvents(cli.stdout)[0]!;
    assert.deepEqual(
      (attached.attachments as Array<{ kind: string; target: string }>).map((a) => [a.kind, a.target]),
      [['tracepoint', 'syscalls/sys_enter_bpf']],
    );
    const map = BpfMap.create('lkb_test_calls', { type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
    makeBpfCalls(map, 200);
    map.close();
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    // The loader's own reads of the map at detach add a handful; 200 can only come from us.
    assert.ok(BigInt(detachedMaps(result.stdout).lb_counts!['2']!) >= 200n, 'the tracepoint counted our bpf() calls');
    assert.equal(detachedMaps(result.stdout).lb_counts!['0'], '0', 'the kprobe program was not loaded');
  });
});

describe('uprobes', () => {
  for (const mode of ['auto', 'pmu', 'tracefs', 'link'] as const) {
    test(`--attach-mode ${mode}: the uprobe counts every call and the uretprobe every return value`, async () => {
      const cli = new RunningCli([`${REPO}examples/uprobe_count.o`, '--attach-mode', mode, '--json']);
      await cli.waitFor(ATTACHED);
      const attachments = jsonEvents(cli.stdout)[0]!.attachments as Array<{ kind: string; source: string; binding: string; event: string | null }>;
      assert.deepEqual(attachments.map((a) => a.kind), ['uprobe', 'uretprobe']);
      const expected = { auto: ['pmu', 'link'], pmu: ['pmu', 'ioctl'], tracefs: ['tracefs', 'ioctl'], link: ['pmu', 'link'] }[mode];
      for (const a of attachments) assert.deepEqual([a.source, a.binding], expected);
      const events = tracefsFile('uprobe_events') ?? '';
      if (mode === 'tracefs') {
        for (const a of attachments) assert.match(events, new RegExp(a.event!.split('/')[1]!));
      } else {
        assert.doesNotMatch(events, new RegExp(`load_kp_bpf_${cli.pid}_`), 'the PMU creates no tracefs event');
      }

      assert.equal((await runProgram(UPROBE_TARGET, ['25'])).trim(), String((25 * 26) / 2));
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      const maps = detachedMaps(result.stdout);
      assert.equal(maps.uprobe_calls!['0'], '25');
      assert.deepEqual(maps.uprobe_returns, Object.fromEntries(Array.from({ length: 25 }, (_, i) => [String(i + 1), '1'])));
      assert.doesNotMatch(tracefsFile('uprobe_events') ?? '', new RegExp(`load_kp_bpf_${cli.pid}_`));
      await programsGone('count_call');
    });
  }

  test('--verbose says which attach method each program got, and why', async () => {
    const cli = new RunningCli([`${REPO}examples/uprobe_count.o`, '--verbose', '--attach-mode', 'tracefs']);
    await cli.waitFor(ATTACHED);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /attaching program 'count_call' \(section 'uprobe\/examples\/uprobe_target:lkb_example_add'\): --attach-mode tracefs: a uprobe_events event bound with PERF_EVENT_IOC_SET_BPF/,
    );
    assert.match(result.stderr, /received SIGINT: detaching/);
  });

  test('a missing function in the target binary is refused with the closest names', async () => {
    const root = scratchPinRoot('umiss');
    const object = fixture('uprobe_missing.o');
    const result = await runCli([object, '--pin-root', root]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /function 'lkb_example_ad' is not in the symbol tables of .*examples\/uprobe_target; closest: lkb_example_add/);
  });
});

describe('kprobes', () => {
  if (HAS_KPROBES) {
    test('a libbpf-style kretprobe object records the size each vfs_read returned', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lkb-reads-'));
      try {
        // 300 bytes read, then 0 at the end of the file: log2 buckets 9 (256-511) and 0.
        writeFileSync(join(dir, 'data'), Buffer.alloc(300, 1));
        const cli = new RunningCli([`${REPO}examples/read_sizes.o`, '--json']);
        await cli.waitFor(ATTACHED);
        for (let i = 0; i < 50; i++) readFileSync(join(dir, 'data'));
        const result = await cli.stop('SIGINT');
        assert.equal(result.code, 0, result.stderr);
        const hist = detachedMaps(result.stdout).read_size_hist!;
        assert.ok(Number(hist['9']) >= 50, `bucket 256-511 counted ${hist['9']} of 50 reads of 300 bytes`);
        await programsGone('record_read_size');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a kprobe, a kretprobe and a tracepoint of one object all attach and count', async () => {
      const root = scratchPinRoot('multi');
      const cli = new RunningCli([fixture('multi_probe.o'), '--pin-root', root, '--json']);
      await cli.waitFor(ATTACHED);
      const kinds = (jsonEvents(cli.stdout)[0]!.attachments as Array<{ kind: string; program: string }>).map((a) => [a.program, a.kind]).sort();
      assert.deepEqual(kinds, [['mp_bpf_enter', 'tracepoint'], ['mp_read_entry', 'kprobe'], ['mp_read_return', 'kretprobe']]);
      const counts = (): bigint[] => [0, 1, 2].map((key) => pinnedCounter(`${root}/mp_counts`, key) ?? 0n);
      const before = counts();
      for (let i = 0; i < 100; i++) readFileSync('/proc/self/stat');
      const map = BpfMap.fromPin(`${root}/mp_counts`);
      makeBpfCalls(map, 100);
      map.close();
      const moved = counts().map((c, i) => c - before[i]!);
      assert.ok(moved.every((n) => n >= 100n), `entries, returns and bpf() calls counted: ${moved.join(', ')}`);
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      await programsGone('mp_read_entry', 'mp_read_return', 'mp_bpf_enter');
    });
  } else {
    test('a libbpf-style kretprobe object fails clearly before anything is created', async () => {
      const result = await runCli([`${REPO}examples/read_sizes.o`]);
      assert.equal(result.code, 1);
      assert.match(result.stderr.trim(), /^load-kp-bpf: this kernel has no kprobe support \(CONFIG_KPROBE_EVENTS\)/);
      await programsGone('record_read_size');
    });

    test('a multi-program object with a kprobe fails as a whole: its tracepoint program is not left loaded', async () => {
      const root = scratchPinRoot('multi');
      const result = await runCli([fixture('multi_probe.o'), '--pin-root', root]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no kprobe support/);
      await programsGone('mp_bpf_enter');
      assert.equal(existsSync(root), false, 'no pins');
    });
  }
});

describe('examples', () => {
  test('each committed example object is its source built: same programs, sections and maps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-examples-'));
    try {
      // The Makefile's own rules, on a copy: the committed objects are what they compare against.
      const sources = readdirSync(`${REPO}examples`).filter((f) => f.endsWith('.c'));
      assert.ok(sources.length >= 6, sources.join(' '));
      for (const file of [...sources, 'bpf_defs.h', 'Makefile']) copyFileSync(`${REPO}examples/${file}`, join(dir, file));
      const objects = sources.map((s) => s.replace(/\.c$/, '.o'));
      execFileSync(tool('make'), ['-s', '-C', dir, ...objects]);
      const shape = (path: string) => {
        const spec = parseBpfObject(readFileSync(path));
        return { programs: spec.programs.map((p) => [p.name, p.section]), maps: spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.pinning]) };
      };
      for (const object of objects) {
        assert.deepEqual(shape(`${REPO}examples/${object}`), shape(join(dir, object)), `examples/${object} is not what its source builds: make -C examples`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
