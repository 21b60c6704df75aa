// Host kernel: the README's example attaches where the kernel has kprobes and fails clearly where it
// has not, leaving nothing behind; bad input is refused with one line on stderr.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { CLI, EXAMPLE, fixture, jsonEvents, oneLine, REPO, runCli, RunningCli, stopRunningClis } from '../support/cli.js';
import { HAS_KPROBES } from '../support/features.js';
import { makeBpfCalls, pinnedCounter, programsGone, removeScratchPinRoots, scratchPinRoot, tracefsFile } from '../support/kernel.js';

after(async () => {
  await stopRunningClis();
  removeScratchPinRoots();
});

describe('the README example: examples/test_prog.o sys_bpf', () => {
  if (HAS_KPROBES) {
    test('on a kernel with kprobes: attaches, counts bpf() calls, and on SIGINT leaves only its pins', async () => {
      const root = scratchPinRoot('readme');
      const cli = new RunningCli([EXAMPLE, 'sys_bpf', '--pin-root', root]);
      await cli.waitFor(/press Ctrl-C/);
      const before = pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n;
      const map = BpfMap.fromPin(`${root}/kp_bpf_cmds`);
      makeBpfCalls(map, 200);
      map.close();
      const counted = (pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n) - before;
      assert.ok(counted >= 200n, `the probe counted ${counted} of 200 bpf() calls`);
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      await programsGone('count_bpf_calls');
      assert.ok((pinnedCounter(`${root}/kp_bpf_calls`) ?? 0n) >= before + 200n, 'the pin kept its count');
      assert.doesNotMatch(tracefsFile('kprobe_events') ?? '', new RegExp(`load_kp_bpf_${cli.pid}_`));
    });
  } else {
    test('on a kernel without kprobes: clear message, exit 1, no maps, pins, programs or events', async () => {
      const root = scratchPinRoot('readme');
      const result = await runCli([EXAMPLE, 'sys_bpf', '--pin-root', root]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(oneLine(result.stderr), /^load-kp-bpf: this kernel has no kprobe support \(CONFIG_KPROBE_EVENTS\): \/sys\/kernel(\/debug)?\/tracing\/kprobe_events does not exist/);
      assert.equal(existsSync(root), false, 'no pin root, no pins');
      await programsGone('count_bpf_calls');
      assert.equal(tracefsFile('kprobe_events'), undefined);
    });
  }
});

describe('the default pin root', () => {
  test('without --pin-root, a pinned map is kept at /sys/fs/bpf/<name>', async () => {
    const result = await runCli([fixture('race_count.o'), '--duration', '0.5', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const attached = jsonEvents(result.stdout).find((e) => e.event === 'attached') as { maps: Array<{ name: string; pin: { path: string; state: string } }> };
    const pin = attached.maps.find((m) => m.name === 'race_hits')!.pin;
    try {
      assert.equal(pin.path, '/sys/fs/bpf/race_hits');
      assert.deepEqual(jsonEvents(result.stdout).find((e) => e.event === 'detached')!.kept, ['/sys/fs/bpf/race_hits']);
      assert.ok(existsSync('/sys/fs/bpf/race_hits'));
    } finally {
      // Only what this run made: a pin someone else had there stays.
      if (pin.state === 'created') rmSync('/sys/fs/bpf/race_hits', { force: true });
    }
  });
});

describe('permissions', () => {
  test('without capabilities, the EPERM says what to do and nothing is left', async () => {
    // uid 0 without any capability: bpf() refuses with EPERM.
    const child = spawnSync('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', process.execPath, CLI, `${REPO}examples/uprobe_count.o`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 1, child.stderr);
    assert.equal(
      oneLine(child.stderr),
      "load-kp-bpf: creating map 'uprobe_calls' (array, key 4 B, value 8 B, max entries 1): EPERM (Operation not permitted); this process lacks the capabilities BPF needs (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): something dropped them (a container, setpriv, capsh)",
    );
    await programsGone('count_call');
  });
});

describe('bad input: one line on stderr, exit 1, nothing created', () => {
  test('a missing object file', async () => {
    const result = await runCli(['/nonexistent/x.o', 'sys_bpf']);
    assert.equal(result.code, 1);
    assert.equal(oneLine(result.stderr), 'load-kp-bpf: reading /nonexistent/x.o: ENOENT (no such file or directory)');
  });

  test('a file that is not ELF', async () => {
    const path = `${REPO}test/fixtures/build/not-elf.o`;
    writeFileSync(path, 'hello, this is text\n');
    const result = await runCli([path, 'sys_bpf']);
    assert.equal(result.code, 1);
    assert.equal(oneLine(result.stderr), `load-kp-bpf: ${path}: not an ELF file (bad magic number at offset 0)`);
  });

  test('an ELF file that is not a BPF object', async () => {
    const result = await runCli(['/bin/true', 'sys_bpf']);
    assert.equal(result.code, 1);
    assert.match(oneLine(result.stderr), /^load-kp-bpf: \/bin\/true: not a BPF object: ELF type 3, expected 1/);
  });

  for (const [name, what] of [
    ['sys_bpf\np:kprobes/evil do_exit', 'a line break'],
    ['sys bpf', 'a space'],
    ['sys_bpf;reboot', "';'"],
    ['$(reboot)', "'\\$'"],
  ] as const) {
    test(`function name containing ${what} is refused before anything is written`, async () => {
      const result = await runCli([EXAMPLE, name]);
      assert.equal(result.code, 1);
      assert.match(oneLine(result.stderr), new RegExp(`^load-kp-bpf: kernel function name .* contains ${what} at position \\d+; use only \\[A-Za-z0-9_.\\]$`));
    });
  }

  test('a legacy object without the function argument says what is missing', async () => {
    const result = await runCli([EXAMPLE]);
    assert.equal(result.code, 1);
    assert.equal(
      oneLine(result.stderr),
      "load-kp-bpf: program 'count_bpf_calls' (section 'prog') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>",
    );
  });

  test('no arguments at all show the usage error', async () => {
    const result = await runCli([]);
    assert.equal(result.code, 1);
    assert.equal(oneLine(result.stderr), "load-kp-bpf: missing required argument 'object' (run with --help for usage)");
  });

  test('an unknown attach mode is refused with the choices', async () => {
    const result = await runCli([EXAMPLE, 'sys_bpf', '--attach-mode', 'magic']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /argument 'magic' is invalid\. Allowed choices are auto, pmu, tracefs, link/);
  });

  test('--help and --version exit 0', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: load-kp-bpf \[options\] \[command\]/);
    assert.match(help.stdout, /^\s+run \[options\] <object> \[function\]\s+load an object/m);
    assert.match(help.stdout, /^\s+map\s+work on BPF maps/m);
    const runHelp = await runCli(['run', '--help']);
    assert.match(runHelp.stdout, /Usage: load-kp-bpf run \[options\] <object> \[function\]/);
    assert.match(runHelp.stdout, /--duration <seconds>/);
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

describe('subcommands', () => {
  test('"run" is the loader by name; an object file named map still loads as ./map', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-mapfile-'));
    try {
      copyFileSync(`${REPO}test/fixtures/build/tp_count.o`, join(dir, 'map'));
      for (const args of [['run', `${REPO}test/fixtures/build/tp_count.o`], [`./map`]]) {
        const child = spawnSync(process.execPath, [CLI, ...args, '--duration', '0.5', '--json'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
        assert.equal(child.status, 0, child.stderr);
        const events = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
        assert.deepEqual(events.map((e) => e.event), ['attached', 'detached']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a usage error is one line that says where to look', async () => {
    const result = await runCli(['run', EXAMPLE, '--perf-pages', '3']);
    assert.equal(result.code, 1);
    assert.equal(oneLine(result.stderr), "load-kp-bpf: option '--perf-pages <n>' argument '3' is invalid. --perf-pages must be a power of two (1, 2, 4, 8, ...) (run with --help for usage)");
  });
});
