// Host kernel (and the guests): objects shaped like the tools people run (test/fixtures/bpf/tool_*.c)
// load and collect with what their own user space would have done: maps the kernel takes without
// BTF, sizes set at run time, programs left out, filters filled before attach (a cgroup array),
// keys shown as the tool shows them (syscount's system call names).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { CLI, RunningCli, detachedMaps, fixture, jsonEvents, oneLine, runCli, runProgram, stopRunningClis } from '../support/cli.js';
import { syscallPrefix } from '../../src/attach/kernel-functions.js';
import { kernelConfig } from '../../src/kernel/kconfig.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { syscallName } from '../../src/values/syscalls.js';
import { HAS_KPROBES, loadsFentry } from '../support/features.js';
import { makeBpfCalls, programsGone } from '../support/kernel.js';
import { tool } from '../support/tools.js';
import { freePort } from '../support/prometheus.js';

after(stopRunningClis);

const ATTACHED = /"event":"attached"/;
const EMIT = fixture('emit_calls');

/** Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified beside v1 hierarchies). */
function cgroup2Root(): string {
  const mount = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2');
  assert.ok(mount, 'cgroup2 is mounted');
  return mount[1]!;
}

/** Runs emit_calls inside a cgroup: a shell moves itself there, then becomes emit_calls. */
function emitInCgroup(cgroup: string, count: number, first: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'echo $$ > "$1/cgroup.procs" && exec "$2" "$3" "$4"', 'sh', cgroup, EMIT, String(count), String(first)], { stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`emit_calls in ${cgroup} exited with ${code}`));
    });
  });
}

const attachedMaps = (stdout: string) => jsonEvents(stdout).find((e) => e.event === 'attached')!.maps as Array<{ name: string; id: number; valueSize: number; maxEntries: number }>;

describe('a cgroup filter, as libbpf-tools have one (-c CGROUP)', () => {
  const cgroup = join(cgroup2Root(), `lkb-test-${process.pid}`);
  mkdirSync(cgroup, { recursive: true });
  after(() => rmdirSync(cgroup));

  test('--set filter_cg=true --update cgroup_map:0=DIR counts the calls made inside the cgroup and not the others', async () => {
    const cli = new RunningCli([fixture('tool_cgroup.o'), '--set', 'filter_cg=true', '--update', `cgroup_map:0=${cgroup}`, '--json']);
    await cli.waitFor(ATTACHED);
    await emitInCgroup(cgroup, 5, 1000);
    await runProgram(EMIT, ['7', '2000']);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(detachedMaps(result.stdout).counts, { 1000: '1', 1001: '1', 1002: '1', 1003: '1', 1004: '1' });
    await programsGone('count_calls');
  });

  test('without the filter, both count; the cgroup array is created without the BTF types the kernel refuses for it', async () => {
    const cli = new RunningCli([fixture('tool_cgroup.o'), '--json']);
    await cli.waitFor(ATTACHED);
    // The kernel keeps BTF for the hash map and none for the cgroup array (it refuses it: ENOTSUPP).
    const btfIds = Object.fromEntries(
      attachedMaps(cli.stdout).map((m) => [m.name, (JSON.parse(execFileSync(tool('bpftool'), ['-j', 'map', 'show', 'id', String(m.id)], { encoding: 'utf8' })) as { btf_id?: number }).btf_id]),
    );
    assert.ok(btfIds.counts! > 0, JSON.stringify(btfIds));
    assert.equal(btfIds.cgroup_map, undefined, JSON.stringify(btfIds));
    await emitInCgroup(cgroup, 2, 1000);
    await runProgram(EMIT, ['2', '2000']);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(Object.keys(detachedMaps(result.stdout).counts!).sort(), ['1000', '1001', '2000', '2001']);
    // The count map has no size in the object: the default, said with the option that sets it.
    assert.match(result.stderr, /map 'counts' has no max entries in the object \(its tool's user space sets them\): 10240, the default; choose with --max-entries counts=N/);
  });

  test('--update refuses what a cgroup array cannot hold, in one line, before anything is attached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-notcg-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      const cases: Array<[string, RegExp]> = [
        ['cgroup_map:0=/nonexistent/cgroup', /^load-kp-bpf: --update cgroup_map:0=\/nonexistent\/cgroup: map 'cgroup_map' holds file descriptors: its value is the path of a cgroup \(v2\) directory, which \/nonexistent\/cgroup is not$/],
        [`cgroup_map:0=${join(dir, 'file')}`, /^load-kp-bpf: --update cgroup_map:0=.*: opening cgroup .*file: ENOTDIR .*a cgroup array takes a cgroup directory/],
        ['nomap:0=1', /^load-kp-bpf: --update nomap:0=1: the object has no map 'nomap'; it has 'cgroup_map', 'counts', '\.rodata'$/],
        ['cgroup_map=1', /^load-kp-bpf: --update cgroup_map=1: expected MAP:KEY=VALUE/],
      ];
      for (const [update, message] of cases) {
        const result = await runCli([fixture('tool_cgroup.o'), '--update', update]);
        assert.equal(result.code, 1, update);
        assert.match(oneLine(result.stderr), message);
      }
      await programsGone('count_calls');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--update writes typed entries into an ordinary map before the program runs', async () => {
    const cli = new RunningCli([fixture('tool_cgroup.o'), '--update', 'counts:3000=40', '--json']);
    await cli.waitFor(ATTACHED);
    await runProgram(EMIT, ['2', '2999']);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(detachedMaps(result.stdout).counts, { 2999: '1', 3000: '41' });
  });
});

describe('a stack trace map sized at run time, and programs its user space switches off (memleak)', () => {
  const maxStack = Number(readFileSync('/proc/sys/kernel/perf_event_max_stack', 'utf8'));

  test('--skip-missing leaves the placeholder uprobes out, each said; the stack map holds perf_event_max_stack frames and records every call', async () => {
    const cli = new RunningCli([fixture('tool_stacks.o'), '--skip-missing', '--json']);
    await cli.waitFor(ATTACHED);
    const stacks = attachedMaps(cli.stdout).find((m) => m.name === 'stack_traces')!;
    assert.deepEqual([stacks.valueSize, stacks.maxEntries], [maxStack * 8, 10240]);
    await runProgram(EMIT, ['3', '500']);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const skipped = jsonEvents(result.stdout).find((e) => e.event === 'attached')!.skipped as Array<{ program: string; reason: string }>;
    assert.deepEqual(skipped.map((s) => s.program), ['malloc_enter', 'malloc_exit']);
    assert.match(result.stderr, /skipped program 'malloc_enter': its section names no target \(the binary to probe\); give one with --attach malloc_enter=TARGET/);
    assert.match(result.stderr, new RegExp(`map 'stack_traces' has no value size in the object \\(its tool's user space sets it\\): ${maxStack * 8} bytes, ${maxStack} frames of 8 bytes \\(kernel.perf_event_max_stack\\)`));
    const ids = detachedMaps(result.stdout).stack_ids!;
    assert.deepEqual(Object.keys(ids).sort(), ['500', '501', '502']);
    for (const id of Object.values(ids)) assert.ok(Number(id) >= 0, `a stack was kept: bpf_get_stackid returned ${id}`);
  });

  test('--exclude leaves them out without a word; --max-entries sizes the stack map', async () => {
    const result = await runCli([fixture('tool_stacks.o'), '-x', 'malloc_*', '--max-entries', 'stack_traces=256', '--duration', '0.5', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /skipped|no max entries/);
    assert.equal(attachedMaps(result.stdout).find((m) => m.name === 'stack_traces')!.maxEntries, 256);
    const attached = jsonEvents(result.stdout).find((e) => e.event === 'attached')!;
    assert.deepEqual((attached.programs as Array<{ name: string }>).map((p) => p.name), ['getpriority_stack']);
  });

  test('without either, the placeholder is refused in one line that names the ways past it', async () => {
    const result = await runCli([fixture('tool_stacks.o')]);
    assert.equal(result.code, 1);
    assert.equal(
      oneLine(result.stderr),
      "load-kp-bpf: program 'malloc_enter' (section 'uprobe') needs the binary to probe: give it with --attach malloc_enter=TARGET, or leave the program out with --exclude malloc_enter (--skip-missing leaves out every program without a target)",
    );
    for (const [args, message] of [
      [['--max-entries', 'nomap=5'], "load-kp-bpf: --max-entries nomap: the object has no map 'nomap'; it has 'stack_traces', 'stack_ids', 'sizes'"],
      [['--max-entries', 'stack_traces=0'], "load-kp-bpf: --max-entries stack_traces=0: a map's max entries are a whole number from 1 to 4294967295"],
      [['-x', 'nothing*'], "load-kp-bpf: --exclude nothing*: the object has no program matching 'nothing*'; it has 'malloc_enter', 'malloc_exit', 'getpriority_stack'"],
    ] as const) {
      const refused = await runCli([fixture('tool_stacks.o'), '--skip-missing', ...args]);
      assert.equal(refused.code, 1, args.join(' '));
      if (typeof message === 'string') assert.equal(oneLine(refused.stderr), message);
      else assert.match(oneLine(refused.stderr), message);
    }
  });
});

/** A command line that runs the CLI where the kernel's configuration cannot be found: an empty tmpfs over /boot, /proc/config.gz covered by an empty file. */
function withoutKernelConfig(args: string[]): [string, ...string[]] {
  const hide = 'mount -t tmpfs none /boot && { [ ! -e /proc/config.gz ] || mount --bind /dev/null /proc/config.gz; } && exec "$@"';
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', hide, 'sh', process.execPath, CLI, ...args];
}

describe('externs libbpf computes, on a kernel whose configuration is nowhere to be read', () => {
  if (HAS_KPROBES) {
    test('BPF_KSYSCALL (LINUX_HAS_SYSCALL_WRAPPER) attaches and reads the arguments right', async () => {
      const cli = new RunningCli([], { command: withoutKernelConfig([fixture('tool_ksyscall.o'), '--json']) });
      await cli.waitFor(ATTACHED);
      await runProgram(EMIT, ['5', '1']);
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      // 5 calls, whose second arguments 1..5 add up to 15.
      assert.deepEqual(detachedMaps(result.stdout).totals, { 0: '5', 1: '15' });
      assert.doesNotMatch(result.stderr, /configuration/);
    });
  } else {
    test('BPF_KSYSCALL loads (LINUX_HAS_SYSCALL_WRAPPER needs no configuration) and only the missing kprobes stop it', async () => {
      const result = await new RunningCli([], { command: withoutKernelConfig([fixture('tool_ksyscall.o')]) }).result();
      assert.equal(result.code, 1);
      assert.match(oneLine(result.stderr), /^load-kp-bpf: this kernel has no kprobe support/);
    });
  }

  test('a strong CONFIG_* extern is refused naming --kconfig; with --kconfig FILE the values are the file\'s', async () => {
    const config = kernelConfig();
    assert.ok(config, 'this kernel has a configuration to copy (the guests get /boot/config-<release>)');
    const dir = mkdtempSync(join(tmpdir(), 'lkb-kconfig-'));
    try {
      // The running kernel's own, with CONFIG_HZ changed: the program must report the file's value.
      const text = [...config.values].map(([k, v]) => `${k}=${k === 'CONFIG_HZ' ? '123' : v}`).join('\n');
      writeFileSync(join(dir, 'config'), `${text}\n`);
      const args = [fixture('core_externs.o'), '-p', 'read_externs', '--set', `target_pid=${process.pid}`, '--json'];
      const refused = await new RunningCli([], { command: withoutKernelConfig(args) }).result();
      assert.equal(refused.code, 1);
      assert.match(oneLine(refused.stderr), /^load-kp-bpf: __kconfig extern CONFIG_HZ needs the kernel's configuration, which is in neither \/proc\/config.gz nor \/boot\/config-\S+: give this kernel's config file with --kconfig FILE/);
      const cli = new RunningCli([], { command: withoutKernelConfig([...args, '--kconfig', join(dir, 'config')]) });
      await cli.waitFor(ATTACHED);
      for (let i = 0; i < 20; i++) readFileSync('/proc/self/stat');
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      const bss = (jsonEvents(result.stdout).find((e) => e.event === 'detached')!.maps as Array<{ name: string; entries: Array<{ formatted: { value: { results: { hz: number; hits: number } } } }> }>).find((m) => m.name === '.bss')!;
      assert.ok(bss.entries[0]!.formatted.value.results.hits > 0, 'the program ran for this process');
      assert.equal(bss.entries[0]!.formatted.value.results.hz, 123);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface AlternativeGroupJson {
  target: string;
  mechanism: string;
  chosen: string[];
  leftOut: Array<{ program: string; mechanism: string; reason: string; refused?: string }>;
}

describe('programs that are alternatives of each other, as vfsstat, tcprtt and runqlat carry them: one mechanism per event', () => {
  const ALTERNATIVES = fixture('tool_alternatives.o');
  // What this kernel offers for each event, asked of the kernel itself.
  const entryPoint = `${syscallPrefix() ?? ''}sys_getpriority`;
  const fentryLoads = loadsFentry(entryPoint);
  const functionPrograms = fentryLoads ? ['fentry_getpriority', 'fexit_getpriority'] : HAS_KPROBES ? ['ksyscall_getpriority', 'kretsyscall_getpriority'] : [];
  const migratePrograms = loadsFentry('migrate_disable') ? ['fentry_migrate_disable'] : HAS_KPROBES ? ['kprobe_migrate_disable'] : [];
  const CALLS = 7;

  /** Runs the fixture with `args`, makes CALLS getpriority() calls and 10 bpf() map lookups, and returns what it attached and counted. */
  async function run(args: string[]): Promise<{ attached: string[]; alternatives: AlternativeGroupJson[]; counts: number[]; stderr: string }> {
    const cli = new RunningCli([ALTERNATIVES, '--json', ...args]);
    await cli.waitFor(ATTACHED);
    const event = jsonEvents(cli.stdout).find((e) => e.event === 'attached')!;
    await runProgram(EMIT, [String(CALLS), '1']);
    // Each lookup through bpf() enters migrate_disable (bpf_disable_instrumentation).
    const counts = BpfMap.fromId(attachedMaps(cli.stdout).find((m) => m.name === 'counts')!.id);
    try {
      makeBpfCalls(counts, 10);
    } finally {
      counts.close();
    }
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const values = detachedMaps(result.stdout).counts!;
    return {
      attached: (event.attachments as Array<{ program: string }>).map((a) => a.program).sort(),
      alternatives: event.alternatives as AlternativeGroupJson[],
      counts: [0, 1, 2, 3, 4].map((k) => Number(values[k])),
      stderr: result.stderr,
    };
  }

  test('by default each call is counted once: fentry/fexit where the kernel loads them, else the ksyscall pair; tp_btf over raw_tp and tracepoint', async () => {
    const { attached, alternatives, counts, stderr } = await run(['--skip-missing']);
    assert.deepEqual(attached, [...functionPrograms, ...migratePrograms, 'sys_enter_btf'].sort());
    // calls, returns, sys_enter hits: once each, whichever mechanism the kernel took.
    const calls = functionPrograms.length > 0 ? CALLS : 0;
    assert.deepEqual(counts.slice(0, 3), [calls, calls, CALLS]);
    const sysEnter = alternatives.find((g) => g.target === 'tracepoint sys_enter');
    assert.deepEqual(sysEnter && [sysEnter.mechanism, sysEnter.chosen, sysEnter.leftOut.map((l) => l.program)], ['tp_btf', ['sys_enter_btf'], ['sys_enter_raw', 'sys_enter_tp']]);
    assert.match(stderr, /tracepoint sys_enter: attaching tp_btf \(sys_enter_btf\); left out raw_tp \(sys_enter_raw\) and tracepoint \(sys_enter_tp\), which would count each event again \(--all-programs attaches every one\)/);
    if (fentryLoads && HAS_KPROBES) {
      const group = alternatives.find((g) => g.target === 'kernel function sys_getpriority');
      assert.deepEqual(group && [group.mechanism, group.leftOut.map((l) => [l.program, l.refused])], ['fentry', [['ksyscall_getpriority', undefined], ['kretsyscall_getpriority', undefined]]]);
    }
    if (migratePrograms[0] === 'kprobe_migrate_disable') {
      // fentry is refused here (the verifier's deny list, or no trampolines): the kprobe is the fallback, and it fired.
      const group = alternatives.find((g) => g.target === 'kernel function migrate_disable');
      assert.equal(group?.mechanism, 'kprobe');
      assert.match(group.leftOut[0]!.refused ?? '', /this kernel does not load fentry programs for 'migrate_disable'/);
      assert.match(stderr, /kernel function migrate_disable: attaching kprobe \(kprobe_migrate_disable\); left out fentry \(fentry_migrate_disable\), which this kernel refuses here: /);
      assert.equal(counts[3], 0);
      assert.ok(counts[4]! >= 10, `migrate_disable ran ${counts[4]} times under the kprobe`);
    }
  });

  test('--all-programs attaches every alternative, and each counts the calls again', async () => {
    const { attached, alternatives, counts } = await run(['--all-programs', '--skip-missing']);
    assert.deepEqual(alternatives, []);
    const attachedOf = (names: string[]) => names.filter((n) => attached.includes(n)).length;
    if (fentryLoads && HAS_KPROBES) assert.equal(attachedOf(['fentry_getpriority', 'ksyscall_getpriority']), 2, 'both mechanisms attach here');
    assert.deepEqual(counts.slice(0, 3), [
      CALLS * attachedOf(['fentry_getpriority', 'ksyscall_getpriority']),
      CALLS * attachedOf(['fexit_getpriority', 'kretsyscall_getpriority']),
      CALLS * attachedOf(['sys_enter_btf', 'sys_enter_raw', 'sys_enter_tp']),
    ]);
    assert.equal(attachedOf(['sys_enter_btf', 'sys_enter_raw', 'sys_enter_tp']), 3, 'every kernel with tp_btf has the other two');
  });

  if (HAS_KPROBES) {
    test('-x chooses first: with fentry and fexit excluded, the ksyscall pair is no group and counts once', async () => {
      const { attached, alternatives, counts } = await run(['-x', 'f*_getpriority', '-x', '*migrate_disable']);
      assert.deepEqual(attached, ['kretsyscall_getpriority', 'ksyscall_getpriority', 'sys_enter_btf']);
      assert.deepEqual(alternatives.map((g) => g.target), ['tracepoint sys_enter']);
      assert.deepEqual(counts.slice(0, 3), [CALLS, CALLS, CALLS]);
    });
  }

  if (fentryLoads && HAS_KPROBES) {
    test('a target given with --attach makes a program an alternative: a kprobe moved to the syscall is left out for the fentry', async () => {
      const { attached, alternatives, counts } = await run(['-p', 'fentry_getpriority', '-p', 'kprobe_migrate_disable', '--attach', 'kprobe_migrate_disable=sys_getpriority']);
      assert.deepEqual(attached, ['fentry_getpriority']);
      assert.deepEqual(alternatives.map((g) => [g.target, g.chosen, g.leftOut.map((l) => l.program)]), [['kernel function sys_getpriority', ['fentry_getpriority'], ['kprobe_migrate_disable']]]);
      assert.equal(counts[0], CALLS);
      assert.equal(counts[4], 0);
    });
  }
});

describe("a syscount-shaped map: counts keyed by raw_syscalls' id show the system call's name", () => {
  const CALLS = 50;
  const BPF_NR = [...Array(500).keys()].find((n) => syscallName(n) === 'bpf')!;
  interface Entry {
    key: string;
    formatted: { key: unknown; value: { count: number; total_ns: string; comm: string } };
  }

  /**
   * Runs tool_syscount on this process alone (filter_pid, syscount -p) while it makes CALLS bpf()
   * calls, then stops it; `snapshot`: once an --interval snapshot after the calls shows bpf. `later`
   * is what it printed after the calls.
   */
  async function syscount(args: string[], snapshot = false): Promise<{ stdout: string; later: string }> {
    const cli = new RunningCli([fixture('tool_syscount.o'), '--set', `filter_pid=${process.pid}`, ...args]);
    await cli.waitFor(/"event":"attached"|press Ctrl-C to detach/);
    const map = BpfMap.create('lkb_test_calls', { type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
    try {
      makeBpfCalls(map, CALLS);
    } finally {
      map.close();
    }
    const calls = cli.stdout.length;
    for (let i = 0; snapshot && i < 100 && !/^  bpf /m.test(cli.stdout.slice(calls)); i++) await new Promise((r) => setTimeout(r, 100));
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    return { stdout: result.stdout, later: result.stdout.slice(calls) };
  }
  const reported = (stdout: string, map: string): Entry[] => {
    const maps = jsonEvents(stdout).find((e) => e.event === 'detached')!.maps as Array<{ name: string; entries: Entry[] }>;
    return maps.find((m) => m.name === map)!.entries;
  };

  test("JSON: data's keys are formatted as names, bpf counting at least our calls; start, used at entry and exit, keeps its thread ids", async () => {
    const { stdout } = await syscount(['--json']);
    const data = reported(stdout, 'data');
    const bpf = data.find((e) => e.formatted.key === 'bpf');
    assert.ok(bpf, `no entry named bpf in ${JSON.stringify(data)}`);
    assert.equal(bpf.key, String(BPF_NR), 'the key as read stays the number');
    assert.ok(bpf.formatted.value.count >= CALLS, `${bpf.formatted.value.count} calls counted, ${CALLS} made`);
    assert.match(bpf.formatted.value.total_ns, /^\d+(\.\d{3})? (ns|us|ms|s)$/);
    assert.equal(bpf.formatted.value.comm, '', 'the name is kept only by process (-P)');
    for (const e of data) assert.equal(e.formatted.key, syscallName(Number(e.key)) ?? Number(e.key), 'every key named where this architecture has the number');
    const start = reported(stdout, 'start');
    assert.ok(start.some((e) => e.formatted.key === process.pid), 'our main thread entered a call');
    for (const e of start) assert.equal(e.formatted.key, Number(e.key), 'a thread id, not a system call');
  });

  test('text: an --interval snapshot and the report show the name in the key column', async () => {
    const { later } = await syscount(['--interval', '1'], true);
    const at = later.indexOf('detached');
    for (const text of [later.slice(0, at), later.slice(at)]) {
      assert.match(text, /^data: \d+ entries$/m);
      assert.match(text, /^  key\s+count\s+total_ns\s+comm$/m);
      const count = /^  bpf\s+(\d+)\s+"\d+(\.\d{3})? (ns|us|ms|s)"\s+""$/m.exec(text)?.[1];
      assert.ok(Number(count) >= CALLS, text);
    }
  });

  test('--metrics: data counts under a syscall label named as the call, bpf by at least our calls; the thread-keyed start keeps numbers', async () => {
    const port = await freePort();
    const cli = new RunningCli([fixture('tool_syscount.o'), '--set', `filter_pid=${process.pid}`, '--quiet', '--metrics', `127.0.0.1:${port}`]);
    try {
      await cli.waitFor(/serving the maps for Prometheus at /, 60_000, 'stderr');
      const map = BpfMap.create('lkb_test_calls', { type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
      try {
        makeBpfCalls(map, CALLS);
      } finally {
        map.close();
      }
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const count = /^tool_syscount_data_count_total\{syscall="bpf"\} (\d+)$/m.exec(body)?.[1];
      assert.ok(Number(count) >= CALLS, `bpf counted ${count} times, ${CALLS} calls made:\n${body}`);
      assert.match(body, /^tool_syscount_data_total_ns_total\{syscall="bpf"\} [1-9]\d*$/m);
      const labels = [...body.matchAll(/^tool_syscount_data_count_total\{syscall="([^"]*)"\}/gm)].map((m) => m[1]!);
      const unnamed = labels.filter((label) => /^\d+$/.test(label) && syscallName(Number(label)) !== undefined);
      assert.deepEqual(unnamed, [], 'numbers this architecture has names for');
      assert.match(body, new RegExp(`^tool_syscount_start_total\\{key="${process.pid}"\\} \\d+$`, 'm'), 'start is keyed by thread id');
    } finally {
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
    }
  });

  test('--set count_by_process=true (syscount -P): the same map keyed by our pid with our name, no system call named', async () => {
    const data = reported((await syscount(['--json', '--set', 'count_by_process=true'])).stdout, 'data');
    assert.deepEqual(
      data.map((e) => [e.key, e.formatted.key, e.formatted.value.comm]),
      [[String(process.pid), process.pid, readFileSync('/proc/self/comm', 'utf8').trim()]],
    );
    assert.ok(data[0]!.formatted.value.count >= CALLS);
  });
});
