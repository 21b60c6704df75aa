// Kernels with kprobes: every attach method counts and cleans up; multi-program and bcc-named
// objects attach each program where it says; an error after an event exists undoes it; examples.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { tracefsRoot } from '../../src/attach/tracefs.js';
import { EXAMPLE, REPO, RunningCli, detachedMaps, fixture, jsonEvents, runCli, runProgram, stopRunningClis } from '../support/cli.js';
import { pinnedCounter, programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

const ATTACHED = /press Ctrl-C to detach|"event":"attached"/;
const kprobeEvents = (): string => readFileSync(`${tracefsRoot()}/kprobe_events`, 'utf8');
const ours = (pid: number): RegExp => new RegExp(`load_kp_bpf_${pid}_`);
after(async () => {
  await stopRunningClis();
  removeScratchPinRoots();
});

function readFiles(count: number): void {
  for (let i = 0; i < count; i++) readFileSync('/proc/self/stat');
}

describe('kprobe and kretprobe through every attach method', () => {
  const expected = { pmu: 'pmu, ioctl', tracefs: 'tracefs, ioctl', link: 'pmu, link', auto: 'pmu, link' } as const;
  for (const mode of ['pmu', 'tracefs', 'link', 'auto'] as const) {
    for (const retprobe of [false, true]) {
      const kind = retprobe ? 'kretprobe' : 'kprobe';
      test(`${kind} with --attach-mode ${mode} counts vfs_read and leaves nothing`, async () => {
        const root = scratchPinRoot(`${mode}-${kind}`);
        const cli = new RunningCli([EXAMPLE, 'vfs_read', '--attach-mode', mode, '--pin-root', root, ...(retprobe ? ['--retprobe'] : [])]);
        await cli.waitFor(ATTACHED);
        assert.match(cli.stdout, new RegExp(`${kind}\\s+vfs_read\\s+${expected[mode]}\\s+program count_bpf_calls`));
        const line = new RegExp(`^${retprobe ? 'r\\d*' : 'p'}:kprobes/load_kp_bpf_${cli.pid}_\\d+_vfs_read vfs_read$`, 'm');
        if (mode === 'tracefs') assert.match(kprobeEvents(), line);
        else assert.doesNotMatch(kprobeEvents(), ours(cli.pid), 'the PMU needs no kprobe_events entry');

        const before = pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n;
        readFiles(100);
        const counted = (pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n) - before;
        assert.ok(counted >= 100n, `${kind} counted ${counted} vfs_read calls, expected at least 100`);

        const result = await cli.stop('SIGINT');
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(kprobeEvents(), ours(cli.pid));
        await programsGone('count_bpf_calls');
      });
    }
  }

  test('SIGKILL with the PMU leaves no event at all', async () => {
    const cli = new RunningCli([EXAMPLE, 'vfs_read', '--attach-mode', 'pmu', '--pin-root', scratchPinRoot('pmukill')]);
    await cli.waitFor(ATTACHED);
    await cli.stop('SIGKILL');
    assert.doesNotMatch(kprobeEvents(), ours(cli.pid));
    await programsGone('count_bpf_calls');
  });
});

describe('objects with several programs', () => {
  test('a kprobe, a kretprobe and a tracepoint of one object all fire together', async () => {
    const root = scratchPinRoot('multi');
    const cli = new RunningCli([fixture('multi_probe.o'), '--pin-root', root, '--json']);
    await cli.waitFor(ATTACHED);
    const attachments = jsonEvents(cli.stdout)[0]!.attachments as Array<{ kind: string; target: string; program: string }>;
    assert.deepEqual(
      attachments.map((a) => [a.program, a.kind, a.target]),
      [
        ['mp_read_entry', 'kprobe', 'vfs_read'],
        ['mp_read_return', 'kretprobe', 'vfs_read'],
        ['mp_bpf_enter', 'tracepoint', 'syscalls/sys_enter_bpf'],
      ],
    );
    const count = (key: number): bigint => pinnedCounter(`${root}/mp_counts`, key) ?? 0n;
    const before = [count(0), count(1), count(2)];
    readFiles(50);
    // Reading the counters is itself a bpf() call each.
    const after = [count(0), count(1), count(2)];
    assert.ok(after[0]! - before[0]! >= 50n, `kprobe: ${after[0]! - before[0]!}`);
    assert.ok(after[1]! - before[1]! >= 50n, `kretprobe: ${after[1]! - before[1]!}`);
    assert.ok(after[2]! - before[2]! >= 3n, `tracepoint: ${after[2]! - before[2]!}`);
    assert.equal((await cli.stop('SIGINT')).code, 0);
    await programsGone('mp_read_entry', 'mp_read_return', 'mp_bpf_enter');
  });

  test('bcc-named functions attach to the functions their names give', async () => {
    const cli = new RunningCli([`${REPO}examples/bcc_names.o`, '--json']);
    await cli.waitFor(ATTACHED);
    const attachments = jsonEvents(cli.stdout)[0]!.attachments as Array<{ kind: string; target: string; program: string }>;
    assert.deepEqual(
      attachments.map((a) => [a.program, a.kind, a.target]),
      [
        ['kprobe__vfs_write', 'kprobe', 'vfs_write'],
        ['kretprobe__vfs_write', 'kretprobe', 'vfs_write'],
      ],
    );
    // Each line written to a pipe is a vfs_write.
    await runProgram('/bin/sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; done | cat > /dev/null']);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const counts = detachedMaps(result.stdout).write_calls!;
    assert.ok(BigInt(counts['0']!) >= 10n && BigInt(counts['1']!) >= 10n, JSON.stringify(counts));
  });

  for (const mode of ['tracefs', 'pmu'] as const) {
    test(`--attach-mode ${mode}: when the second attach fails, the first attachment is undone`, async () => {
      const before = kprobeEvents();
      const result = await runCli([fixture('second_attach_fails.o'), '--attach-mode', mode]);
      assert.equal(result.code, 1);
      assert.match(result.stderr.trim(), /^load-kp-bpf: (creating|opening a perf event for) the kprobe on vfs_read\+0x1.*: EILSEQ/m);
      assert.equal(kprobeEvents(), before, 'the first program’s event is removed again');
      await programsGone('saf_first');
    });
  }
});

describe('examples', () => {
  test('execve_comm.o records the command name of each process that calls execve', async () => {
    const cli = new RunningCli([`${REPO}examples/execve_comm.o`, '--json']);
    await cli.waitFor(ATTACHED);
    const attachments = jsonEvents(cli.stdout)[0]!.attachments as Array<{ resolved: string }>;
    assert.deepEqual(attachments.map((a) => a.resolved), ['__x64_sys_execve']);
    for (let i = 0; i < 3; i++) await runProgram('/bin/true', []);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    // Before exec a child still has its parent's name: ours is node.
    const names = Object.values(detachedMaps(result.stdout).execve_comm!);
    assert.ok(names.filter((n) => n === '"node"').length >= 3, JSON.stringify(names));
  });

  test('read_sizes.o fills log2 buckets with what vfs_read returns, and prints them as a histogram', async () => {
    const cli = new RunningCli([`${REPO}examples/read_sizes.o`, '--json']);
    await cli.waitFor(ATTACHED);
    readFiles(20);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const buckets = detachedMaps(result.stdout).read_size_hist!;
    const total = Object.values(buckets).reduce((sum, v) => sum + BigInt(v), 0n);
    assert.ok(total >= 20n, `histogram holds ${total} reads`);
    // /proc/self/stat is a few hundred bytes: bucket 9 holds 256..511 bytes.
    assert.ok(BigInt(buckets['9'] ?? '0') + BigInt(buckets['10'] ?? '0') >= 20n, JSON.stringify(buckets));
    const histogram = (jsonEvents(result.stdout).find((e) => e.event === 'detached')!.maps as Array<{ name: string; histograms?: Array<{ buckets: Array<{ low: number; high: number; count: number }> }> }>).find((m) => m.name === 'read_size_hist')!.histograms![0]!;
    const b256 = histogram.buckets.find((b) => b.low === 256)!;
    assert.equal(b256.high, 511);
    assert.equal(BigInt(b256.count), BigInt(buckets['9'] ?? '0'));

    const text = new RunningCli([`${REPO}examples/read_sizes.o`]);
    await text.waitFor(/press Ctrl-C/);
    readFiles(20);
    const shown = await text.stop('SIGINT');
    assert.match(shown.stdout, /read_size_hist: \d+ entries\n\s+value\s+: count\s+distribution\n/);
    assert.match(shown.stdout, /^\s+256 -> 511\s+: \d+\s+\|\*+ *\|$/m, shown.stdout);
  });
});
