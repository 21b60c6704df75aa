// Host kernel: racing loaders never lose counts, nothing is mounted over a user's directory, endless or
// special input is refused, object names cannot drive the terminal, low fd limits and a stuck stdout end cleanly.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { makeDirectories } from '../../src/kernel/pins.js';
import { objPin } from '../../src/kernel/bpf.js';
import { readElf } from '../../src/elf/reader.js';
import { CLI, fixture, jsonEvents, oneLine, REPO, runCli, RunningCli, runProgram, stopRunningClis } from '../support/cli.js';
import { loadedProgramIds, pinnedCounter, programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

after(async () => {
  await stopRunningClis();
  removeScratchPinRoots();
});

const mounts = (): string => readFileSync('/proc/self/mounts', 'utf8');
const RACE_CALLS = fixture('race_calls');

describe('the pin race', () => {
  // 400 loader runs: minutes under software emulation, so a deadline of its own.
  test('7 loaders and 1 that fails on a later map, started together 50 times: every count lands in the one map at the path', { timeout: 20 * 60_000 }, async () => {
    const CALLS = 500;
    let unexpected = 0;
    for (let round = 0; round < 50; round++) {
      const pins = scratchPinRoot(`race${round}`);
      const good = Array.from({ length: 7 }, () => new RunningCli([fixture('race_count.o'), '--pin-root', pins, '--json']));
      const failing = new RunningCli([fixture('race_fail.o'), '--pin-root', pins, '--json']);
      const failed = await failing.result();
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /creating map 'race_bad' \(hash, key 0 B/);
      await Promise.all(good.map((cli) => cli.waitFor(/"event":"attached"/)));
      // Every loader uses the map that is at the path: one map id for all of them.
      const ids = new Set(good.map((cli) => (jsonEvents(cli.stdout)[0]!.maps as Array<{ id: number }>)[0]!.id));
      const atPath = BpfMap.fromPin(`${pins}/race_hits`);
      const pinnedId = atPath.info().id;
      atPath.close();
      assert.deepEqual([...ids], [pinnedId], `round ${round}: loaders use map ids ${[...ids].join(', ')}, the pin holds ${pinnedId}`);
      const states = good.map((cli) => (jsonEvents(cli.stdout)[0]!.maps as Array<{ pin: { state: string } }>)[0]!.pin.state).sort();
      assert.deepEqual(states, ['created', 'reused', 'reused', 'reused', 'reused', 'reused', 'reused'], `round ${round}: exactly one loader created the pin`);
      await runProgram(RACE_CALLS, [String(CALLS)]);
      assert.equal(pinnedCounter(`${pins}/race_hits`), BigInt(7 * CALLS), `round ${round}: every program counted into the pinned map`);
      const results = await Promise.all(good.map((cli) => cli.stop('SIGINT')));
      for (const r of results) {
        if (/ENOENT/.test(r.stderr)) unexpected++;
        assert.equal(r.code, 0, r.stderr);
        const detached = jsonEvents(r.stdout).find((e) => e.event === 'detached')!;
        assert.deepEqual(detached.kept, [`${pins}/race_hits`]);
      }
      assert.equal(pinnedCounter(`${pins}/race_hits`), BigInt(7 * CALLS), `round ${round}: the counts stay after they all detached`);
    }
    assert.equal(unexpected, 0);
  });

  test('a pin replaced under a running loader: it says so at detach and exits 1', async () => {
    const pins = scratchPinRoot('replaced');
    const cli = new RunningCli([fixture('race_count.o'), '--pin-root', pins]);
    await cli.waitFor(/press Ctrl-C/);
    rmSync(`${pins}/race_hits`);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`map 'race_hits' is not kept at ${pins}/race_hits: nothing is pinned there now; what this run counted was in map id \\d+, which is gone with it`));
    assert.doesNotMatch(result.stdout, /kept at/);
  });

  test('a failed run leaves no pin and no directory it created', async () => {
    const pins = `${scratchPinRoot('faildirs')}/deeper/still`;
    const result = await runCli([fixture('race_fail.o'), '--pin-root', pins]);
    assert.equal(result.code, 1);
    assert.equal(existsSync(pins.replace(/\/deeper\/still$/, '')), false, 'not even the first directory of the pin root');
  });
});

describe('the pin root is never mounted over', () => {
  test('an ordinary directory, a relative path and an empty one are refused, and nothing is mounted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-pinroot-'));
    writeFileSync(join(dir, 'precious'), 'still here');
    const before = mounts();
    try {
      let result = await runCli([fixture('race_count.o'), '--pin-root', dir]);
      assert.equal(result.code, 1);
      assert.match(oneLine(result.stderr), new RegExp(`^load-kp-bpf: --pin-root ${dir} is not on a BPF filesystem \\(${dir} is on \\w+\\); choose a directory under /sys/fs/bpf, or mount one first: mount -t bpf bpf ${dir}$`));
      result = await runCli([fixture('race_count.o'), '--pin-root', 'relative/pins']);
      assert.equal(result.code, 1);
      assert.match(oneLine(result.stderr), new RegExp(`--pin-root ${REPO}relative/pins is not on a BPF filesystem`));
      result = await runCli([fixture('race_count.o'), '--pin-root', '']);
      assert.equal(oneLine(result.stderr), 'load-kp-bpf: --pin-root is empty; give a directory on a BPF filesystem, e.g. /sys/fs/bpf');
      assert.equal(mounts(), before, 'the mount table is unchanged');
      assert.equal(readFileSync(join(dir, 'precious'), 'utf8'), 'still here');
      assert.equal(existsSync(`${REPO}relative`), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('input that is not an object file', () => {
  test('devices, a FIFO without a writer and a directory are refused at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-input-'));
    try {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      const cases: Array<[string, string]> = [
        ['/dev/zero', '/dev/zero is a character device; give a BPF object file (clang -target bpf -c prog.c -o prog.o)'],
        ['/dev/urandom', '/dev/urandom is a character device; give a BPF object file (clang -target bpf -c prog.c -o prog.o)'],
        [join(dir, 'fifo'), `${join(dir, 'fifo')} is a FIFO; give a BPF object file (clang -target bpf -c prog.c -o prog.o)`],
        [dir, `${dir} is a directory; give a BPF object file (clang -target bpf -c prog.c -o prog.o)`],
      ];
      for (const [path, message] of cases) {
        // A read that blocks would be killed at the deadline, and fail on its exit code.
        const result = await runCli([path], 20_000);
        assert.equal(result.code, 1, `${path}: ${result.stderr}`);
        assert.equal(oneLine(result.stderr), `load-kp-bpf: ${message}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a 3 GB file is refused by its size, without reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-big-'));
    const path = join(dir, 'big.o');
    try {
      const fd = openSync(path, 'w');
      closeSync(fd);
      execFileSync('truncate', ['-s', '3G', path]);
      const result = await runCli([path]);
      assert.equal(result.code, 1);
      assert.equal(oneLine(result.stderr), `load-kp-bpf: ${path}: object is 3.0 GB; an ELF object this large is not a BPF object (the limit is 256 MB)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('names from the object cannot drive the terminal', () => {
  /** A copy of tp_count.o whose map symbol 'tp_hits' is renamed to 'tp\x1b[1mh' (same length). */
  function escapedObject(dir: string): string {
    const bytes = readFileSync(fixture('tp_count.o'));
    const at = bytes.indexOf(Buffer.from('tp_hits\0'));
    assert.ok(at > 0);
    Buffer.from('tp\x1b[1mh').copy(bytes, at);
    const path = join(dir, 'escape.o');
    writeFileSync(path, bytes);
    return path;
  }

  test('text output and stderr show the escape as \\x1b; JSON keeps the name exact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-escape-'));
    try {
      const path = escapedObject(dir);
      const cli = new RunningCli([path, '-v']);
      await cli.waitFor(/press Ctrl-C/);
      const result = await cli.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stdout + result.stderr, /\x1b/, 'no raw ESC reached the terminal');
      assert.match(result.stdout, /tp\\x1b\[1mh +array/);
      const json = new RunningCli([path, '--json']);
      await json.waitFor(/"event":"attached"/);
      const jsonResult = await json.stop('SIGINT');
      assert.equal((jsonEvents(jsonResult.stdout)[0]!.maps as Array<{ name: string }>)[0]!.name, 'tp\x1b[1mh');
      const pinned = await runCli([path.replace('escape.o', 'missing\x7f.o')]);
      assert.match(oneLine(pinned.stderr), /missing\\x7f\.o: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('limits and a stuck reader', () => {
  test('an open-file limit of 36 that cannot be raised is one line, not a Node stack trace', () => {
    // A regression that loads would run until killed: a deadline, then the exit status fails.
    const result = spawnSync('sh', ['-c', `ulimit -n 36; exec "${REPO}bin/load-kp-bpf" "${fixture('tp_count.o')}"`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 1);
    assert.equal(oneLine(result.stderr), 'load-kp-bpf: the open-file limit is 36 (hard limit 36); load-kp-bpf needs at least 64, plus one per map, program and perf event: raise it with ulimit -n');
    const direct = spawnSync('sh', ['-c', `ulimit -n 36; exec "${process.execPath}" "${CLI}" "${fixture('tp_count.o')}"`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(direct.status, 1);
    assert.match(oneLine(direct.stderr), /^load-kp-bpf: (the open-file limit is 36 and cannot be raised|cannot start: EMFILE)/);
  });

  test('a soft limit of 36 under a higher hard limit is raised, and the load works', async () => {
    const cli = new RunningCli([], { command: ['sh', '-c', `ulimit -Sn 36; exec "${REPO}bin/load-kp-bpf" "${fixture('tp_count.o')}"`] });
    await cli.waitFor(/press Ctrl-C/);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
  });

  test('with --json and a reader that never reads, one SIGINT releases everything and ends the process within seconds', async () => {
    const pins = scratchPinRoot('stuck');
    makeDirectories(pins);
    // A pinned hash of 20,000 entries that the object reuses: its detach report is far larger than a pipe holds.
    const big = BpfMap.create('race_hits', { type: 1, keySize: 4, valueSize: 8, maxEntries: 20000, flags: 0 });
    const keys = Buffer.alloc(4 * 20000);
    for (let i = 0; i < 20000; i++) keys.writeUInt32LE(i, i * 4);
    big.updateBatch(keys, Buffer.alloc(8 * 20000, 1), 20000);
    objPin(big.fd.value, `${pins}/race_hits`);
    big.close();
    // race_count.o with its map record made a hash of 20,000 entries (type and max_elem of struct bpf_elf_map).
    const dir = mkdtempSync(join(tmpdir(), 'lkb-stuck-'));
    const bytes = readFileSync(fixture('race_count.o'));
    const record = readElf(bytes).sectionByName('maps')!.offset;
    bytes.writeUInt32LE(1, record);
    bytes.writeUInt32LE(20000, record + 12);
    writeFileSync(join(dir, 'stuck.o'), bytes);
    try {
      const cli = new RunningCli([join(dir, 'stuck.o'), '--pin-root', pins, '--json'], { readStdout: false });
      // stdout is never read: wait for the program to be loaded, then signal once.
      for (let i = 0; i < 400 && loadedProgramIds('count_getppid').length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.notDeepEqual(loadedProgramIds('count_getppid'), [], `the program was loaded: ${cli.stderr}`);
      await new Promise((r) => setTimeout(r, 500));
      cli.child.kill('SIGINT');
      // Only the one SIGINT: past the deadline the process is killed and the wait fails.
      const result = await cli.result(30_000);
      assert.match(result.stderr, /stdout is not being read: dropped the last \d+ bytes of output/);
      assert.ok(result.code === 0 || result.code === 1, `exit code ${result.code}`);
      await programsGone('count_getppid');
      cli.child.stdout.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
