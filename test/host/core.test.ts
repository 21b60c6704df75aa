// A libbpf-style CO-RE object (vmlinux.h from 6.1, libbpf's headers) run unchanged on this kernel:
// what each program saw of a process, field by field, against this kernel's own BTF as bpftool
// shows it; fentry, fexit and tp_btf through kernel BTF ids; verifier refusals named in C terms.
// Runs on the host and, through test/vm/kernel-suite.sh, inside the 6.1 and 6.12 guests (where
// LKB_TEST_KERNEL names the kernel); what attaches follows what the kernel offers.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir, version } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { LoadedObject } from '../../src/loader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { CLI, RunningCli, fixture, jsonEvents, runCli, stopRunningClis } from '../support/cli.js';
import { HAS_KPROBES, loadsFentry } from '../support/features.js';
import { removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';
import { tool } from '../support/tools.js';

after(stopRunningClis);
after(removeScratchPinRoots);

const GUEST = process.env.LKB_TEST_KERNEL;
const TRAMPOLINES = loadsFentry('vfs_read');
const TARGET = 'lkb-core-task';
const ATTACHED = /"event":"attached"/;

/** The running kernel's configuration, as the loader reads it. */
function kernelConfigText(): string {
  if (existsSync('/proc/config.gz')) return gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  return readFileSync(`/boot/config-${release()}`, 'utf8');
}

/** What this kernel's BTF says, read with bpftool: task_struct's size and members, enumerator values. */
function kernelBtfFacts(): { taskSize: number; taskMembers: Set<string>; enumValues: Map<string, bigint> } {
  const raw = execFileSync(tool('bpftool', 'BPFTOOL'), ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const lines = raw.split('\n');
  const start = lines.findIndex((l) => /^\[\d+\] STRUCT 'task_struct' size=\d+ vlen=\d+$/.test(l));
  const [, size, vlen] = /size=(\d+) vlen=(\d+)/.exec(lines[start]!)!;
  const taskMembers = new Set(lines.slice(start + 1, start + 1 + Number(vlen)).map((l) => /'([^']*)'/.exec(l)![1]!));
  const enumValues = new Map<string, bigint>();
  for (const l of lines) {
    const m = /^\t'(\w+)' val=(-?\d+)$/.exec(l);
    if (m) enumValues.set(m[1]!, BigInt(m[2]!));
  }
  return { taskSize: Number(size), taskMembers, enumValues };
}

interface TaskFacts {
  comm: string;
  pid: number;
  tgid: number;
  parent_tgid: number;
  reset_on_fork: number;
  has_saved_state: number;
  saved_state: number;
  arena_exists: number;
  arena_value: number;
  task_size: number;
  swapbacked: number;
}

describe('a libbpf-style CO-RE object, unchanged', () => {
  test('every program that this kernel can run reports the process as its BTF lays it out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-core-'));
    const pins = scratchPinRoot('core-live');
    try {
      // A dd named for the programs' filter: 5 reads of 123 bytes, once with SCHED_RESET_ON_FORK set (a bitfield of task_struct).
      const task = join(dir, TARGET);
      copyFileSync('/bin/dd', task);
      // kp_read and fe_read both read vfs_read, each recording as itself: the rare object that wants every alternative.
      const cli = new RunningCli([fixture('core_live.o'), '--json', '--pin-root', pins, '--set', `target_comm=${TARGET}`, '--skip-missing', '--all-programs']);
      await cli.waitFor(ATTACHED);
      const run = (args: string[]): number => {
        const child = spawnSync(args[0]!, args.slice(1), { stdio: 'ignore' });
        assert.equal(child.status, 0, `${args.join(' ')} failed`);
        return child.pid;
      };
      const dd = [task, 'if=/dev/zero', 'of=/dev/null', 'bs=123', 'count=5'];
      const resetPid = run(['chrt', '--reset-on-fork', '--other', '0', ...dd]);
      const plainPid = run(dd);
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);

      const events = jsonEvents(result.stdout);
      const attached = events.find((e) => e.event === 'attached') as { attachments: Array<{ program: string; kind: string }>; skipped: Array<{ program: string; reason: string }> };
      const programs = attached.attachments.map((a) => a.program).sort();
      // What attaches is what this kernel has; what it lacks is skipped and said, one line each.
      const expected = ['on_switch', 'tp_read', ...(HAS_KPROBES ? ['kp_read'] : []), ...(TRAMPOLINES ? ['fe_read', 'fx_read'] : [])].sort();
      assert.deepEqual(programs, expected);
      assert.deepEqual(attached.skipped.map((s) => s.program).sort(), ['fe_read', 'fx_read', 'kp_read'].filter((p) => !expected.includes(p)));
      if (!HAS_KPROBES) assert.match(result.stderr, /skipped program 'kp_read': this kernel has no kprobe support/);
      if (!TRAMPOLINES) {
        assert.match(result.stderr, /skipped program 'fe_read': this kernel does not load fentry programs for 'vfs_read': /);
        assert.match(result.stderr, /skipped program 'fx_read': this kernel does not load fexit programs/);
      }

      const detached = events.find((e) => e.event === 'detached') as { maps: Array<{ name: string; entries: Array<{ formatted: { key: unknown; value: unknown } }> }> };
      const entries = (name: string): Array<{ key: unknown; value: unknown }> => detached.maps.find((m) => m.name === name)!.entries.map((e) => e.formatted);
      const facts = new Map(entries('facts').map((e) => [JSON.stringify(e.key), e.value as TaskFacts]));
      const kernel = kernelBtfFacts();
      const hasSavedState = kernel.taskMembers.has('saved_state');
      const arena = kernel.enumValues.get('BPF_MAP_TYPE_ARENA');
      // Both sides of each existence check, each on the kernel that has it.
      if (GUEST === '6.1') assert.ok(!hasSavedState && arena === undefined, 'the 6.1 kernel has neither saved_state nor the arena map type');
      if (GUEST === '6.12') assert.ok(hasSavedState && arena === 33n, 'the 6.12 kernel has saved_state and the arena map type');
      for (const program of HAS_KPROBES ? [1, 2] : [1]) {
        for (const [pid, resetOnFork] of [
          [resetPid, 1],
          [plainPid, 0],
        ] as const) {
          const seen = facts.get(JSON.stringify({ program, pid }));
          assert.ok(seen, `program ${program} recorded pid ${pid}: ${JSON.stringify([...facts.keys()])}`);
          assert.deepEqual(seen, {
            comm: TARGET,
            pid,
            tgid: pid,
            parent_tgid: process.pid,
            reset_on_fork: resetOnFork,
            has_saved_state: hasSavedState ? 1 : 0,
            // TASK_RUNNING while it reads; 0xdead is the program's mark for "no such field".
            saved_state: hasSavedState ? 0 : 0xdead,
            arena_exists: arena === undefined ? 0 : 1,
            arena_value: arena === undefined ? 0 : Number(arena),
            task_size: kernel.taskSize,
            swapbacked: Number(kernel.enumValues.get('PG_swapbacked')),
          });
        }
      }
      const counts = new Map(entries('counts').map((e) => [e.key, e.value]));
      if (TRAMPOLINES) {
        // fentry and fexit on vfs_read: the 2 × 5 reads of 123 bytes, and their 1230 bytes.
        assert.equal(counts.get(0), 10);
        assert.equal(counts.get(1), 1230);
      }
      // tp_btf/sched_switch: each process leaves the CPU at least when it exits.
      assert.ok(Number(counts.get(2)) >= 2, `sched_switch away from ${TARGET}: ${counts.get(2)}`);

      // The map was created with its BTF types: bpftool prints it typed, from the kernel alone.
      const dumped = JSON.parse(execFileSync(tool('bpftool', 'BPFTOOL'), ['-j', 'map', 'dump', 'pinned', `${pins}/facts`], { encoding: 'utf8' })) as Array<{
        formatted: { key: { program: number; pid: number }; value: TaskFacts };
      }>;
      const typed = dumped.find((e) => e.formatted.key.program === 1 && e.formatted.key.pid === resetPid);
      assert.equal(typed?.formatted.value.comm, TARGET);
      assert.equal(typed?.formatted.value.reset_on_fork, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--btf FILE stands in for a kernel without /sys/kernel/btf/vmlinux', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-btf-'));
    const pins = scratchPinRoot('core-btf');
    try {
      copyFileSync('/sys/kernel/btf/vmlinux', join(dir, 'vmlinux.btf'));
      const task = join(dir, TARGET);
      copyFileSync('/bin/dd', task);
      // In a mount namespace of its own, an empty tmpfs hides the kernel's BTF directory.
      const hidden = (args: string[]): [string, ...string[]] => ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /sys/kernel/btf && exec "$@"', 'sh', process.execPath, CLI, ...args];
      const common = [fixture('core_live.o'), '-p', 'tp_read', '--pin-root', pins, '--set', `target_comm=${TARGET}`, '--json'];
      const without = await new RunningCli([], { command: hidden(common) }).result();
      assert.equal(without.code, 1);
      assert.match(without.stderr.trim(), /^load-kp-bpf: reading the kernel's BTF \(\/sys\/kernel\/btf\/vmlinux\): ENOENT .*give its BTF with --btf FILE$/);
      const cli = new RunningCli([], { command: hidden([...common, '--btf', join(dir, 'vmlinux.btf')]) });
      await cli.waitFor(ATTACHED);
      const dd = spawnSync(task, ['if=/dev/zero', 'of=/dev/null', 'bs=123', 'count=5'], { stdio: 'ignore', timeout: 60_000 });
      assert.equal(dd.status, 0);
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      const detached = jsonEvents(result.stdout).find((e) => e.event === 'detached') as { maps: Array<{ name: string; entries: Array<{ formatted: { key: { pid: number }; value: TaskFacts } }> }> };
      const seen = detached.maps.find((m) => m.name === 'facts')!.entries.find((e) => e.formatted.key.pid === dd.pid)?.formatted.value;
      assert.equal(seen?.comm, TARGET, 'the CO-RE reads, relocated by the file, found the process');
      assert.equal(seen?.task_size, kernelBtfFacts().taskSize);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('programs load with their functions and source lines, which bpftool then shows', () => {
    const loaded = LoadedObject.load(parseBpfObject(readFileSync(fixture('btf_calls.o'))));
    try {
      for (const name of ['bcl_first', 'bcl_second']) {
        const id = String(loaded.program(name).id);
        const show = JSON.parse(execFileSync(tool('bpftool', 'BPFTOOL'), ['-j', 'prog', 'show', 'id', id], { encoding: 'utf8' })) as { btf_id?: number };
        assert.ok(show.btf_id, `${name} has BTF: ${JSON.stringify(show)}`);
        // The kernel took func_info for every function of each program's own layout, and the lines of each.
        const xlated = execFileSync(tool('bpftool', 'BPFTOOL'), ['prog', 'dump', 'xlated', 'id', id, 'linum'], { encoding: 'utf8' });
        for (const fn of [name, 'bcl_plus_one', 'bcl_twice']) {
          assert.match(xlated, new RegExp(`^int ${fn}\\(`, 'm'), `${name}: function ${fn}`);
          assert.match(xlated, new RegExp(`^; .*/\\* ${fn} body \\*/ \\[file:\\S*btf_calls\\.c line_num:\\d+`, 'm'), `${name}: a line of ${fn}`);
        }
      }
    } finally {
      loaded.close();
    }
  });

  test('externs: kernel config values, a kernel symbol by address, a per-CPU variable by BTF type', async () => {
    const config = kernelConfigText();
    const value = (name: string): string | undefined => new RegExp(`^${name}=(.*)$`, 'm').exec(config)?.[1];
    const kallsymsAll = value('CONFIG_KALLSYMS_ALL') === 'y';
    const programs = kallsymsAll ? ['-p', 'read_externs', '-p', 'read_typed_ksym'] : ['-p', 'read_externs'];
    const cli = new RunningCli([fixture('core_externs.o'), '--json', '--set', `target_pid=${process.pid}`, ...programs]);
    await cli.waitFor(ATTACHED);
    // Some system calls of this process for the raw tracepoint.
    for (let i = 0; i < 20; i++) readFileSync('/proc/self/stat');
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const detached = jsonEvents(result.stdout).find((e) => e.event === 'detached') as { maps: Array<{ name: string; entries: Array<{ formatted: { value: unknown } }> }> };
    const bss = detached.maps.find((m) => m.name === '.bss')!.entries[0]!.formatted.value as {
      results: { version: number; hz: number; bpf_syscall: number; ext4: number; hostname: string; missing: number; vfs_read: string | number; hits: number };
      typed: { rq_cpu: number; cpu: number; seen: number };
    };
    // libbpf's LINUX_KERNEL_VERSION: Debian's real sublevel is in uname -v, the release says .0.
    const [major, minor, patch] = (/Debian (\d+)\.(\d+)\.(\d+)/.exec(version()) ?? /^(\d+)\.(\d+)\.?(\d*)/.exec(release()))!.slice(1).map((n) => Number(n || 0)) as [number, number, number];
    const kallsyms = /^([0-9a-f]+) \S+ vfs_read$/m.exec(readFileSync('/proc/kallsyms', 'utf8'))![1]!;
    const tristate = { y: 1, m: 2 }[value('CONFIG_EXT4_FS') ?? ''] ?? 0;
    assert.ok(bss.results.hits > 0, 'the program ran for this process');
    // Integers past 2^53 are exact in the JSON text, which JSON.parse rounds: read the digits.
    const address = /"vfs_read":(\d+)/.exec(result.stdout)?.[1];
    assert.deepEqual({ ...bss.results, vfs_read: address, hits: 1 }, {
      version: (major << 16) + (minor << 8) + Math.min(patch, 255),
      hz: Number(value('CONFIG_HZ')),
      bpf_syscall: 1,
      ext4: tristate,
      hostname: JSON.parse(value('CONFIG_DEFAULT_HOSTNAME') ?? '""') as string,
      missing: 0,
      vfs_read: String(BigInt(`0x${kallsyms}`)),
      hits: 1,
    });
    if (kallsymsAll) {
      assert.equal(bss.typed.seen, 1);
      assert.equal(bss.typed.rq_cpu, bss.typed.cpu, "runqueues on this CPU is this CPU's");
    } else {
      // Without CONFIG_KALLSYMS_ALL (the host) the kernel cannot find a variable's address: said in its words.
      const refused = await runCli([fixture('core_externs.o'), '-p', 'read_typed_ksym']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /loading program 'read_typed_ksym': the verifier rejected it \(ENOENT\): ldimm64 failed to find the address for kernel symbol 'runqueues'\.\n$/);
    }
  });

  test('a verifier refusal quotes the C line it failed on', async () => {
    const result = await runCli([fixture('core_reject.o'), '-p', 'unchecked']);
    assert.equal(result.code, 1);
    const last = result.stderr.trim().split('\n').pop();
    assert.match(last!, /^load-kp-bpf: loading program 'unchecked': the verifier rejected it \(EACCES\): R0 invalid mem access '\S+' at core_reject\.c:23: \*value \+= 1; \/\* no NULL check \*\/$/);
  });

  test('a relocation no kernel satisfies, on a reachable path: one line naming the field and the kernel', async () => {
    const result = await runCli([fixture('core_reject.o'), '-p', 'missing_field']);
    assert.equal(result.code, 1);
    const last = result.stderr.trim().split('\n').pop();
    assert.equal(
      last!.replace(/instruction \d+/, 'instruction N'),
      `load-kp-bpf: loading program 'missing_field': a CO-RE relocation failed on a path the verifier reached (instruction N): struct task_struct.no_such_field not found in the BTF of kernel ${release()}`,
    );
  });
});
