// Host kernel: load-kp-bpf map on real maps of each common type: create, update with every flag, lookup,
// delete, dump in text and JSON (against bpftool's), list, show, pin, watch under tmux, batch round trips.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { objPin } from '../../src/kernel/bpf.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { possibleCpuCount } from '../../src/kernel/cpus.js';
import { makeDirectories } from '../../src/kernel/pins.js';
import { LoadedObject } from '../../src/loader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { CLI, fixture, oneLine, runCli } from '../support/cli.js';
import { fillSpacedEntries, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';
import { tool } from '../support/tools.js';

after(removeScratchPinRoots);

const map = (...args: string[]) => runCli(['map', ...args]);

async function ok(...args: string[]): Promise<string> {
  const result = await map(...args);
  assert.equal(result.code, 0, `map ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function fails(args: string[], message: string | RegExp): Promise<void> {
  const result = await map(...args);
  assert.equal(result.code, 1, `map ${args.join(' ')} should fail: ${result.stdout}`);
  if (typeof message === 'string') assert.equal(oneLine(result.stderr), `load-kp-bpf: ${message}`);
  else assert.match(oneLine(result.stderr), message);
}

describe('map commands on each common type', () => {
  for (const type of ['hash', 'array', 'percpu_hash', 'percpu_array', 'lru_hash']) {
    test(`${type}: create, update, lookup, dump, delete`, async () => {
      const pins = scratchPinRoot(`map-${type}`);
      const path = `${pins}/counts`;
      await ok('create', path, '--type', type, '--key', '4', '--value', '8', '--entries', '16');
      assert.ok(existsSync(path));
      await ok('update', path, '3', '42');
      await ok('update', path, '0x05', 'hex 07 00 00 00 00 00 00 00');
      const perCpu = type.startsWith('percpu');
      const lookup = await ok('lookup', path, '3');
      const cpus = possibleCpuCount();
      const perCpuColumns = (values: string[]) => values.join('\\s+');
      assert.match(lookup, perCpu ? new RegExp(`^key\\s+sum\\s+${perCpuColumns(Array.from({ length: cpus }, (_, i) => `cpu${i}`))}\\n`) : /^key\s+value\n3\s+42\n$/);
      if (perCpu) assert.match(lookup, new RegExp(`\\n3\\s+${42 * cpus}\\s+${perCpuColumns(Array(cpus).fill('42'))}\\n$`), 'the value is written on every CPU and summed');
      const json = JSON.parse(await ok('dump', path, '--json')) as Array<Record<string, unknown>>;
      const byKey = new Map(json.map((e) => [(e.key as string[]).join(' '), e]));
      const five = byKey.get('0x05 0x00 0x00 0x00')!;
      assert.ok(five, JSON.stringify(json));
      if (perCpu) assert.deepEqual((five.values as Array<{ cpu: number; value: string[] }>).map((v) => [v.cpu, v.value[0]]), Array.from({ length: cpus }, (_, i) => [i, '0x07']));
      else assert.deepEqual(five.value, ['0x07', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00']);
      const text = await ok('dump', path);
      assert.match(text, perCpu ? new RegExp(`^5\\s+${7 * cpus}\\s+${perCpuColumns(Array(cpus).fill('7'))}$`, 'm') : /^5\s+7$/m);
      if (type.includes('array')) {
        assert.equal(json.length, 16, 'every index of an array exists');
        await fails(['delete', path, '3'], /deleting a key of map 'counts': EINVAL \(Invalid argument\); array entries cannot be deleted \(every index always exists\): update it to zero instead$/);
        await fails(['update', path, '3', '1', '--noexist'], /EEXIST \(File exists\); every index of an array exists, so BPF_NOEXIST always fails on one$/);
      } else {
        assert.equal(json.length, 2);
        await fails(['update', path, '3', '1', '--noexist'], /updating map 'counts': EEXIST \(File exists\); the key exists and BPF_NOEXIST was asked$/);
        await fails(['update', path, '9', '1', '--exist'], /updating map 'counts': ENOENT \(No such file or directory\); the key does not exist and BPF_EXIST was asked$/);
        await ok('update', path, '9', '1', '--noexist');
        await ok('update', path, '9', '2', '--exist');
        await ok('delete', path, '9');
        await fails(['lookup', path, '9'], "map 'counts' has no entry for key 9");
        await fails(['delete', path, '9'], "map 'counts' has no entry for key 9");
      }
    });
  }
});

describe('map commands refuse what cannot be', () => {
  test('a wrong key size, a value too big, junk after the value, two flags', async () => {
    const pins = scratchPinRoot('map-sizes');
    const path = `${pins}/sized`;
    await ok('create', path, '--type', 'hash', '--key', '4', '--value', '2', '--entries', '4');
    await fails(['update', path, 'hex 01 02', '1'], 'key is 4 bytes: "hex" must be followed by 4 bytes, got 2');
    await fails(['update', path, 'hex', '01', '02', '1'], 'key is 4 bytes: "hex" must be followed by 4 bytes, got 3');
    await fails(['update', path, '1', '70000'], 'value 70000 does not fit in 2 bytes');
    await fails(['update', path, '5000000000', '1'], 'key 5000000000 does not fit in 4 bytes');
    await fails(['update', path, 'toolong', '1'], 'key "toolong" is 7 bytes; the map\'s keys are 4 bytes');
    await fails(['update', path, '1', '2', '3'], 'unexpected "3" after the value');
    await fails(['update', path, '1', '2', '--exist', '--noexist'], 'choose one of --any, --noexist and --exist, not --noexist and --exist');
    await fails(['update', path, '{"a":1}', '2'], /key as JSON needs the map's BTF type, and this map has none in the kernel/);
  });

  test('a pinned program is not a map; a path outside bpffs; a missing pin; an unknown id and name', async () => {
    const pins = scratchPinRoot('map-notmap');
    makeDirectories(pins);
    const loaded = LoadedObject.load(parseBpfObject(readFileSync(fixture('tp_count.o'))), { programType: () => 5 });
    try {
      objPin(loaded.program('count_hits').program.fd.value, `${pins}/prog`);
    } finally {
      loaded.close();
    }
    await fails(['dump', `${pins}/prog`], `the pin ${pins}/prog is a program, not a map`);
    await fails(['dump', `${pins}/nothing`], `opening the pin ${pins}/nothing: ENOENT (No such file or directory)`);
    const dir = mkdtempSync(join(tmpdir(), 'lkb-notbpffs-'));
    try {
      await fails(['create', join(dir, 'x'), '--type', 'hash', '--key', '4', '--value', '4', '--entries', '1'], new RegExp(`--pin-root ${dir} is not on a BPF filesystem`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await fails(['dump', 'id', '999999999'], /^load-kp-bpf: opening map id 999999999: ENOENT/);
    await fails(['dump', 'name', 'no_such_map_x'], "no loaded map is named 'no_such_map_x' (names are cut to 15 characters in the kernel)");
    await fails(['frobnicate', 'x'], "unknown command 'frobnicate' (run with --help for usage)");
    // Words left over are refused before anything is opened.
    await fails(['list', 'x'], 'map list takes no arguments: unexpected "x"');
    await fails(['dump', `${pins}/nothing`, 'extra'], 'map dump takes only MAP: unexpected "extra"');
    await fails(['lookup'], "missing required argument 'MAP KEY' (run with --help for usage)");
  });
});

describe('map list, show, pin, name and id', () => {
  test('list and show find a map by pin, id and name, with its pins', async () => {
    const pins = scratchPinRoot('map-show');
    const path = `${pins}/lkb_showme`;
    await ok('create', path, '--type', 'lru_hash', '--key', '8', '--value', '16', '--entries', '32');
    const list = JSON.parse(await ok('list', '--json')) as Array<{ id: number; name: string; type: string; pins: string[] }>;
    const mine = list.find((m) => m.pins.includes(path))!;
    assert.ok(mine, 'list shows the pin');
    assert.equal(mine.name, 'lkb_showme');
    assert.equal(mine.type, 'lru_hash');
    const listText = await ok('list');
    assert.match(listText, new RegExp(`^${mine.id}\\s+lru_hash\\s+lkb_showme\\s+8\\s+16\\s+32\\s+${path}$`, 'm'));
    for (const ref of [[path], ['id', String(mine.id)], ['name', 'lkb_showme']]) {
      const show = JSON.parse(await ok('show', ...ref, '--json')) as Record<string, unknown>;
      assert.equal(show.id, mine.id);
      assert.deepEqual(show.pins, [path]);
      assert.equal(show.maxEntries, 32);
    }
    await ok('pin', 'id', String(mine.id), `${pins}/again/lkb_showme`);
    const show = JSON.parse(await ok('show', path, '--json')) as { pins: string[] };
    assert.deepEqual(show.pins.sort(), [`${pins}/again/lkb_showme`, path].sort());
    await fails(['pin', path, `${pins}/again/lkb_showme`], /something is pinned there already$/);
  });
});

describe('dumps: bpftool agrees, and a dump loads back', () => {
  test('a 1,000,000-entry hash dumps the same entries as bpftool', async () => {
    const pins = scratchPinRoot('map-big');
    const path = `${pins}/big`;
    await ok('create', path, '--type', 'hash', '--key', '4', '--value', '8', '--entries', '1000000');
    const big = BpfMap.fromPin(path);
    const N = 1_000_000;
    fillSpacedEntries(big, N);
    big.close();
    const ours = await runCli(['map', 'dump', path], 120_000);
    assert.equal(ours.code, 0, ours.stderr);
    const oursLines = ours.stdout.trim().split('\n').slice(1);
    assert.equal(oursLines.length, N);
    // bpftool's plain dump: "key: 01 00 00 00  value: ..." per entry, in the same kernel order.
    const bpftool = execFileSync(tool('bpftool'), ['map', 'dump', 'pinned', path], { maxBuffer: 1 << 30, encoding: 'utf8' });
    const bpftoolEntries = bpftool.split('\n').filter((l) => l.startsWith('key:')).map((l) => {
      const [, k, v] = /^key: ((?:[0-9a-f]{2} ?)+)\s+value: ((?:[0-9a-f]{2} ?)+)$/.exec(l.trim())!;
      const kb = Buffer.from(k!.replace(/ /g, ''), 'hex');
      const vb = Buffer.from(v!.replace(/ /g, ''), 'hex');
      return `${kb.readUInt32LE(0)} ${vb.readBigUInt64LE(0)}`;
    });
    assert.equal(bpftoolEntries.length, N);
    assert.deepEqual(oursLines.map((l) => l.split(/\s+/).join(' ')), bpftoolEntries);
  });

  test('--json output parses and round-trips: fed to update --batch it recreates the map', async () => {
    const pins = scratchPinRoot('map-roundtrip');
    for (const type of ['hash', 'percpu_hash']) {
      const source = `${pins}/${type}_src`;
      const copy = `${pins}/${type}_copy`;
      await ok('create', source, '--type', type, '--key', '4', '--value', '8', '--entries', '2048');
      await ok('create', copy, '--type', type, '--key', '4', '--value', '8', '--entries', '2048');
      const lines = Array.from({ length: 1000 }, (_, i) => `${i} ${i * i}`).join('\n');
      const dir = mkdtempSync(join(tmpdir(), 'lkb-batch-'));
      try {
        writeFileSync(join(dir, 'lines'), `# key value\n${lines}\n`);
        assert.match(await ok('update', source, '--batch', join(dir, 'lines')), /^1000 entries written$/m);
        const dump = await ok('dump', source, '--json');
        writeFileSync(join(dir, 'dump.json'), dump);
        await ok('update', copy, '--batch', join(dir, 'dump.json'));
        // A hash map's order depends on how it was filled: the same entries, in any order.
        const entries = (text: string): string[] => (JSON.parse(text) as unknown[]).map((e) => JSON.stringify(e)).sort();
        assert.deepEqual(entries(await ok('dump', copy, '--json')), entries(dump), `${type}: the copy holds exactly the source's entries`);
        assert.equal((JSON.parse(dump) as unknown[]).length, 1000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('map watch', () => {
  test('under tmux: redraws in place with the top entries by value; Ctrl-C ends it cleanly', async () => {
    const pins = scratchPinRoot('map-watch');
    const path = `${pins}/watched`;
    await ok('create', path, '--type', 'hash', '--key', '4', '--value', '8', '--entries', '64');
    for (const [k, v] of [[1, 10], [2, 500], [3, 7]]) await ok('update', path, String(k), String(v));
    const session = `lkb-watch-${process.pid}`;
    const tmux = tool('tmux');
    const status = join(mkdtempSync(join(tmpdir(), 'lkb-watch-')), 'status');
    spawnSync(tmux, ['new-session', '-d', '-s', session, '-x', '120', '-y', '30', `${process.execPath} ${CLI} map watch ${path} --interval 0.3 --top 2; echo "exit $?" > ${status}; sleep 30`]);
    try {
      let screen = '';
      for (let i = 0; i < 100 && !/500/.test(screen); i++) {
        await new Promise((r) => setTimeout(r, 100));
        screen = execFileSync(tmux, ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
      }
      assert.match(screen, /map 'watched' \(id \d+, hash\): 3 entries, top 2 by value/);
      const rows = screen.split('\n').filter((l) => /^\d+\s+\d+/.test(l));
      assert.deepEqual(rows.map((r) => r.split(/\s+/).slice(0, 2)), [['2', '500'], ['1', '10']]);
      await ok('update', path, '3', '9999');
      for (let i = 0; i < 50 && !/9999/.test(screen); i++) {
        await new Promise((r) => setTimeout(r, 100));
        screen = execFileSync(tmux, ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
      }
      assert.match(screen.split('\n').find((l) => /^\d+\s+\d+/.test(l)) ?? '', /^3\s+9999/, 'redrawn with the new top entry');
      assert.equal(screen.split('\n').filter((l) => /top 2 by value/.test(l)).length, 1, 'redrawn in place, not appended');
      spawnSync(tmux, ['send-keys', '-t', session, 'C-c']);
      for (let i = 0; i < 50 && !existsSync(status); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(readFileSync(status, 'utf8').trim(), 'exit 0');
    } finally {
      spawnSync(tmux, ['kill-session', '-t', session]);
    }
  });

  test('without a terminal: snapshots, one after another', async () => {
    const pins = scratchPinRoot('map-watch2');
    const path = `${pins}/snap`;
    await ok('create', path, '--type', 'array', '--key', '4', '--value', '8', '--entries', '2');
    const { RunningCli } = await import('../support/cli.js');
    const cli = new RunningCli(['map', 'watch', path, '--interval', '0.2']);
    await cli.waitFor(/(top 2 by value[\s\S]*){3}/);
    const result = await cli.stop('SIGINT');
    assert.equal(result.code, 0);
    assert.doesNotMatch(result.stdout, /\x1b/);
  });
});
