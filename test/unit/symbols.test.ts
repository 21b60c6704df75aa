// src/symbols: kallsyms text and the running kernel's, ELF symbols checked against nm, readelf and
// addr2line, separate debug files, and live busy_loop processes (PIE, its library, a stripped and a
// deleted copy) symbolized while they run and after they exit.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from '../support/test.js';
import { tool } from '../support/tools.js';
import { fixturePath } from './helpers.js';
import { ElfSymbols } from '../../src/symbols/elf-symbols.js';
import { KernelSymbols } from '../../src/symbols/kallsyms.js';
import { fileOffset, parseMaps, ProcessMaps } from '../../src/symbols/process-maps.js';
import { formatFrame, Symbolizer } from '../../src/symbols/symbolizer.js';

const hex = (n: bigint): string => `0x${n.toString(16)}`;
const run = (command: string, args: string[]): string => execFileSync(tool(command), args, { encoding: 'utf8', maxBuffer: 64 << 20 });

let scratch = '';
/** A directory with no debug files in it, so the host's /usr/lib/debug cannot change what a test sees. */
let noDebug = '';
const children: ChildProcess[] = [];

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'lkb-symbols-'));
  noDebug = join(scratch, 'no-debug');
  mkdirSync(noDebug);
});

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Independent readings of a file: nm, readelf, addr2line.

/** Function symbols as nm lists them (text, weak and indirect), limited to executable sections by readelf. */
function nmFunctions(file: string): Array<{ address: bigint; size: bigint | undefined; name: string }> {
  const executable = run('readelf', ['-SW', file])
    .split('\n')
    .map((line) => /\]\s+\S+\s+\S+\s+([0-9a-f]{16})\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([A-Za-z]*)\s/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[3]!.includes('X'))
    .map((m) => ({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[1]}`) + BigInt(`0x${m[2]}`) }));
  return run('nm', ['-S', '--defined-only', file])
    .split('\n')
    .map((line) => /^([0-9a-f]+)(?: ([0-9a-f]+))? ([TtWwi]) (\S+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ address: BigInt(`0x${m[1]}`), size: m[2] === undefined ? undefined : BigInt(`0x${m[2]}`), name: m[4]! }))
    .filter((s) => executable.some((x) => s.address >= x.start && s.address < x.end));
}

/** PT_LOAD segments as readelf prints them. */
function loadSegments(file: string): Array<{ offset: bigint; vaddr: bigint; fileSize: bigint }> {
  return run('readelf', ['-lW', file])
    .split('\n')
    .map((line) => /^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ offset: BigInt(m[1]!), vaddr: BigInt(m[2]!), fileSize: BigInt(m[3]!) }));
}

/** The file's virtual address of a runtime address, worked out from readelf's segments and a mapping. */
function fileAddress(file: string, mapping: { start: bigint; offset: bigint }, runtime: bigint): bigint {
  const offset = runtime - mapping.start + mapping.offset;
  const segment = loadSegments(file).find((s) => offset >= s.offset && offset < s.offset + s.fileSize);
  assert.ok(segment, `${file}: no PT_LOAD holds file offset ${hex(offset)}`);
  return offset - segment.offset + segment.vaddr;
}

/** addr2line's function names for file addresses (one process for them all). */
function addr2lineFunctions(file: string, addresses: bigint[]): string[] {
  const lines = run('addr2line', ['-f', '-e', file, ...addresses.map(hex)]).trimEnd().split('\n');
  return lines.filter((_, i) => i % 2 === 0);
}

// ---------------------------------------------------------------------------------------------
// busy_loop processes.

interface Busy {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The runtime addresses it printed: busy_leaf, busy_middle, busy_outer, busy_in_library, main. */
  readonly at: Record<string, bigint>;
}

/** Starts a busy_loop (for at most a minute) and waits, up to 10 s, for its "ready" line. */
async function startBusy(path: string): Promise<Busy> {
  const child = spawn(path, ['60'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${path} printed no "ready" line within 10 s: ${out}${err}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.slice(0, out.indexOf('\n')));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${path} exited (${code ?? signal}) before it was ready: ${err}`));
    });
  });
  assert.match(line, /^ready /);
  const at = Object.fromEntries([...line.matchAll(/(\w+)=0x([0-9a-f]+)/g)].map((m) => [m[1]!, BigInt(`0x${m[2]}`)]));
  assert.deepEqual(Object.keys(at).sort(), ['busy_in_library', 'busy_leaf', 'busy_middle', 'busy_outer', 'main']);
  return { child, pid: child.pid!, at };
}

/** Kills a busy_loop and waits until it is reaped (its /proc entry gone). */
async function stopBusy(busy: Busy): Promise<void> {
  if (busy.child.exitCode === null && busy.child.signalCode === null) {
    const exited = once(busy.child, 'exit');
    busy.child.kill('SIGKILL');
    await exited;
  }
  assert.equal(existsSync(`/proc/${busy.pid}`), false, `pid ${busy.pid} is still there`);
}

/** A pid no process has now. */
function unusedPid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (let pid = max - 1; pid > 1; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
  throw new Error('every pid is taken');
}

// ---------------------------------------------------------------------------------------------

describe('KernelSymbols', () => {
  const SAMPLE = [
    '0000000000000000 A fixed_percpu_data',
    'ffffffff81000000 T _stext',
    'ffffffff81000000 T _text',
    'ffffffff81000000 T startup_64',
    'ffffffff81000100 t __pfx_helper',
    'ffffffff81000110 t helper',
    'ffffffff81000200 W weak_thing',
    'ffffffff81000300 t local_alias',
    'ffffffff81000300 T global_name',
    'ffffffff81000400 T _etext',
    'ffffffff81100000 D __start_rodata',
    'ffffffff81100040 d __key.12345',
    'ffffffff81100080 T after_data',
    'not a line',
    'ffffffff81200000',
    '',
    'ffffffffc0001080 T mod_other\t[my_mod]',
    'ffffffffc0001000 t mod_func\t[my_mod]',
    'ffffffffc0002000 t bpf_prog_6deef7357e7b4530_handler\t[bpf]',
  ].join('\n');
  const symbols = KernelSymbols.parse(SAMPLE);
  const resolve = (address: bigint): unknown => symbols.resolve(address);

  test('code symbols resolve by address, with offsets and module names', () => {
    assert.equal(symbols.hidden, false);
    assert.equal(symbols.size, 12);
    assert.deepEqual(resolve(0xffffffff81000005n), { symbol: 'startup_64', offset: 5 });
    assert.deepEqual(resolve(0xffffffff81000108n), { symbol: '__pfx_helper', offset: 8 });
    assert.deepEqual(resolve(0xffffffff81000115n), { symbol: 'helper', offset: 5 });
    assert.deepEqual(resolve(0xffffffff810002ffn), { symbol: 'weak_thing', offset: 0xff });
    assert.deepEqual(resolve(0xffffffffc0001010n), { symbol: 'mod_func', offset: 0x10, module: 'my_mod' });
    assert.deepEqual(resolve(0xffffffffc0001080n), { symbol: 'mod_other', offset: 0, module: 'my_mod' });
    assert.deepEqual(resolve(0xffffffffc0002044n), { symbol: 'bpf_prog_6deef7357e7b4530_handler', offset: 0x44, module: 'bpf' });
  });

  test('of symbols at one address, the global one with the fewest leading underscores wins', () => {
    assert.deepEqual(resolve(0xffffffff81000000n), { symbol: 'startup_64', offset: 0 });
    assert.deepEqual(resolve(0xffffffff81000301n), { symbol: 'global_name', offset: 1 });
  });

  test('nothing below the first symbol, after the end of text, or in data', () => {
    assert.equal(resolve(0n), undefined);
    assert.equal(resolve(0xffffffff80ffffffn), undefined);
    assert.equal(resolve(0xffffffff81000400n), undefined, '_etext ends the text');
    assert.equal(resolve(0xffffffff81000500n), undefined);
    assert.equal(resolve(0xffffffff81100050n), undefined, 'inside __key.12345 (data)');
    assert.deepEqual(resolve(0xffffffff81100090n), { symbol: 'after_data', offset: 0x10 });
    assert.equal(resolve(-1n), undefined);
    assert.equal(resolve(1n << 64n), undefined);
  });

  test('all-zero addresses (kptr_restrict) are reported as hidden and resolve nothing', () => {
    const hidden = KernelSymbols.parse('0000000000000000 T _stext\n0000000000000000 T vfs_read\n0000000000000000 t helper\t[my_mod]\n');
    assert.equal(hidden.hidden, true);
    assert.equal(hidden.resolve(0n), undefined);
    assert.equal(hidden.resolve(5n), undefined);
    assert.equal(KernelSymbols.parse('').hidden, false);
  });

  const kallsyms = existsSync('/proc/kallsyms') ? readFileSync('/proc/kallsyms', 'latin1') : '';
  const vfsRead = /^([0-9a-f]+) [Tt] vfs_read$/m.exec(kallsyms);
  const real = vfsRead !== null && !/^0+$/.test(vfsRead[1]!);
  test('the running kernel: vfs_read+5 and other functions round-trip', { skip: real ? false : '/proc/kallsyms shows no vfs_read address (kptr_restrict, or not root)' }, () => {
    const running = KernelSymbols.read();
    assert.equal(running.hidden, false);
    const address = BigInt(`0x${vfsRead![1]}`);
    assert.deepEqual(running.resolve(address + 5n), { symbol: 'vfs_read', offset: 5 });
    const frame = new Symbolizer({ kernelSymbols: running }).kernel(address + 5n);
    assert.equal(formatFrame(frame), 'vfs_read+0x5');

    // Every 97th global function whose address it has alone resolves to itself at +0 and +1.
    const lines = kallsyms.split('\n').map((l) => l.split(/\s+/));
    const count = new Map<string, number>();
    for (const [a] of lines) if (a) count.set(a, (count.get(a) ?? 0) + 1);
    let checked = 0;
    lines.forEach(([a, type, name, module], i) => {
      if (i % 97 !== 0 || type !== 'T' || !a || !name || count.get(a) !== 1 || name === '_etext' || name === '_einittext') return;
      const at = BigInt(`0x${a}`);
      const expected = module ? { symbol: name, offset: 0, module: module.slice(1, -1) } : { symbol: name, offset: 0 };
      assert.deepEqual(running.resolve(at), expected);
      const next = lines[i + 1]?.[0];
      if (next && BigInt(`0x${next}`) > at + 1n) assert.deepEqual(running.resolve(at + 1n), { ...expected, offset: 1 });
      checked++;
    });
    assert.ok(checked > 50, `only ${checked} symbols checked`);
  });
});

describe('ElfSymbols', () => {
  for (const name of ['busy_loop', 'libbusy.so']) {
    test(`${name}: every function nm lists resolves to its name at its address and the next byte`, () => {
      const file = fixturePath(name);
      const symbols = ElfSymbols.read(file, { debugRoot: noDebug });
      assert.equal(symbols.symbolSource, '.symtab');
      const listed = nmFunctions(file);
      assert.ok(listed.some((s) => s.name === (name === 'busy_loop' ? 'busy_leaf' : 'busy_in_library')), 'nm lists the fixture function');
      for (const s of listed) {
        // Aliases share an address: any of their names is right.
        const names = listed.filter((o) => o.address === s.address).map((o) => o.name);
        const at = symbols.resolve(s.address);
        assert.ok(at && names.includes(at.symbol) && at.offset === 0, `${s.name} at ${hex(s.address)}: got ${JSON.stringify(at)}`);
        if (s.size === undefined || s.size > 1n) {
          assert.deepEqual(symbols.resolve(s.address + 1n), { symbol: at.symbol, offset: 1 }, `${s.name}+1`);
        }
        if (s.size !== undefined && s.size > 0n && !listed.some((o) => o.address === s.address + s.size!)) {
          assert.equal(symbols.resolve(s.address + s.size), undefined, `just past ${s.name} (size ${s.size})`);
        }
      }
    });

    test(`${name}: build id and PT_LOAD segments as readelf shows them`, () => {
      const file = fixturePath(name);
      const symbols = ElfSymbols.read(file, { debugRoot: noDebug });
      assert.equal(symbols.buildId, /Build ID: ([0-9a-f]+)/.exec(run('readelf', ['-n', file]))?.[1]);
      const segments = loadSegments(file);
      assert.deepEqual(symbols.segments.map((s) => ({ offset: s.offset, vaddr: s.vaddr, fileSize: s.fileSize })), segments);
      for (const s of segments) {
        assert.equal(symbols.virtualAddress(s.offset), s.vaddr);
        assert.equal(symbols.virtualAddress(s.offset + s.fileSize - 1n), s.vaddr + s.fileSize - 1n);
      }
    });
  }

  test('libbusy.so is linked at 0x200000, so a file offset is not its address', () => {
    const symbols = ElfSymbols.read(fixturePath('libbusy.so'), { debugRoot: noDebug });
    const fn = nmFunctions(fixturePath('libbusy.so')).find((s) => s.name === 'busy_in_library')!;
    assert.equal(symbols.virtualAddress(fn.address - 0x200000n), fn.address);
    assert.equal(symbols.resolve(fn.address - 0x200000n), undefined);
  });

  test('a stripped PIE has only .dynsym, which holds none of its own functions', () => {
    const stripped = ElfSymbols.read(fixturePath('busy_loop_stripped'), { debugRoot: noDebug });
    assert.equal(stripped.symbolSource, 'none');
    assert.equal(stripped.size, 0);
    assert.equal(stripped.buildId, ElfSymbols.read(fixturePath('busy_loop'), { debugRoot: noDebug }).buildId);
    const leaf = nmFunctions(fixturePath('busy_loop')).find((s) => s.name === 'busy_leaf')!;
    assert.equal(stripped.resolve(leaf.address), undefined);
  });

  describe('separate debug files', () => {
    let dir = '';
    let leaf = 0n;
    before(() => {
      dir = join(scratch, 'debug');
      mkdirSync(dir);
      copyFileSync(fixturePath('busy_loop'), join(dir, 'busy_loop'));
      execFileSync(tool('objcopy'), ['--only-keep-debug', 'busy_loop', 'busy_loop.debug'], { cwd: dir });
      execFileSync(tool('strip'), ['--strip-all', '-o', 'linked', 'busy_loop'], { cwd: dir });
      execFileSync(tool('objcopy'), ['--add-gnu-debuglink=busy_loop.debug', 'linked'], { cwd: dir });
      leaf = nmFunctions(fixturePath('busy_loop')).find((s) => s.name === 'busy_leaf')!.address;
    });
    const read = (file: string, debugRoot = noDebug): ElfSymbols => ElfSymbols.read(join(dir, file), { debugRoot });

    test('the debuglink beside the file, then in .debug/, then under the debug root', () => {
      const linked = read('linked');
      assert.equal(linked.debugLink?.name, 'busy_loop.debug');
      assert.equal(linked.symbolSource, join(dir, 'busy_loop.debug'));
      assert.deepEqual(linked.resolve(leaf + 2n), { symbol: 'busy_leaf', offset: 2 });

      mkdirSync(join(dir, '.debug'));
      renameSync(join(dir, 'busy_loop.debug'), join(dir, '.debug', 'busy_loop.debug'));
      assert.equal(read('linked').symbolSource, join(dir, '.debug', 'busy_loop.debug'));

      const root = join(scratch, 'debug-root');
      mkdirSync(join(root, dir), { recursive: true });
      renameSync(join(dir, '.debug', 'busy_loop.debug'), join(root, dir, 'busy_loop.debug'));
      const underRoot = read('linked', root);
      assert.equal(underRoot.symbolSource, join(root, dir, 'busy_loop.debug'));
      assert.deepEqual(underRoot.resolve(leaf), { symbol: 'busy_leaf', offset: 0 });
      renameSync(join(root, dir, 'busy_loop.debug'), join(dir, 'busy_loop.debug'));
    });

    test('by build id under the debug root, for a file without a debuglink', () => {
      const root = join(scratch, 'build-id-root');
      const buildId = read('busy_loop').buildId!;
      mkdirSync(join(root, '.build-id', buildId.slice(0, 2)), { recursive: true });
      copyFileSync(join(dir, 'busy_loop.debug'), join(root, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`));
      const stripped = ElfSymbols.read(fixturePath('busy_loop_stripped'), { debugRoot: root });
      assert.equal(stripped.symbolSource, join(root, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`));
      assert.deepEqual(stripped.resolve(leaf + 1n), { symbol: 'busy_leaf', offset: 1 });
    });

    test("a debug file of another build (CRC or build id differs) is not used", () => {
      const other = join(scratch, 'other');
      mkdirSync(other);
      copyFileSync(join(dir, 'linked'), join(other, 'linked'));
      // libbusy.so's symbols under the name the debuglink asks for: the CRC differs.
      copyFileSync(fixturePath('libbusy.so'), join(other, 'busy_loop.debug'));
      const root = join(scratch, 'wrong-build-id-root');
      const buildId = read('busy_loop').buildId!;
      mkdirSync(join(root, '.build-id', buildId.slice(0, 2)), { recursive: true });
      copyFileSync(fixturePath('libbusy.so'), join(root, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`));
      const symbols = ElfSymbols.read(join(other, 'linked'), { debugRoot: root });
      assert.equal(symbols.symbolSource, 'none');
      assert.equal(symbols.resolve(leaf), undefined);
    });
  });
});

describe('ProcessMaps', () => {
  const MAPS = [
    '55d065300000-55d065301000 r--p 00000000 fe:00 1234                       /opt/app/busy loop',
    '55d065301000-55d065302000 r-xp 00001000 fe:00 1234                       /opt/app/busy loop',
    '7f5ebde75000-7f5ebdfcb000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6',
    '7f0000000000-7f0000001000 r-xp 00002000 08:11 99                         /tmp/gone.so (deleted)',
    '7f5ebe043000-7f5ebe045000 r-xp 00000000 00:00 0                          [vdso]',
    '7f6000000000-7f6000010000 rwxp 00000000 00:00 0 ',
    '7f6100000000-7f6100010000 r-xp 00000000 00:00 0                          [anon:jit code]',
    'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
    'garbage',
  ].join('\n');

  test('keeps executable mappings, in order, with paths, pseudo names and deletion marks', () => {
    const mappings = parseMaps(MAPS);
    assert.deepEqual(
      mappings.map((m) => [m.name, m.file, m.deleted, m.permissions]),
      [
        ['/opt/app/busy loop', true, false, 'r-xp'],
        ['/tmp/gone.so', true, true, 'r-xp'],
        ['/usr/lib/x86_64-linux-gnu/libc.so.6', true, false, 'r-xp'],
        ['[vdso]', false, false, 'r-xp'],
        ['', false, false, 'rwxp'],
        ['[anon:jit code]', false, false, 'r-xp'],
        ['[vsyscall]', false, false, '--xp'],
      ],
    );
    const libc = mappings[2]!;
    assert.equal(libc.start, 0x7f5ebde75000n);
    assert.equal(libc.end, 0x7f5ebdfcb000n);
    assert.equal(libc.offset, 0x26000n);
    assert.equal(libc.device, 'fe:00');
    assert.equal(libc.inode, 339380n);
    assert.equal(fileOffset(libc, 0x7f5ebde75010n), 0x26010n);
    assert.equal(mappings[6]!.start, 0xffffffffff600000n);
  });

  test('finds the mapping of an address; a snapshot without a pid opens plain paths, not deleted ones', () => {
    const maps = ProcessMaps.fromText(MAPS);
    assert.equal(maps.find(0x55d065301000n)?.name, '/opt/app/busy loop');
    assert.equal(maps.find(0x55d065301fffn)?.name, '/opt/app/busy loop');
    assert.equal(maps.find(0x55d065302000n), undefined);
    assert.equal(maps.find(0x55d065300000n), undefined, 'not executable');
    assert.equal(maps.find(0n), undefined);
    assert.equal(maps.find(0xffffffffff600010n)?.name, '[vsyscall]');
    assert.equal(maps.find(0x7f5ebde75000n)?.source, '/usr/lib/x86_64-linux-gnu/libc.so.6');
    assert.equal(maps.find(0x7f0000000000n)?.source, undefined);
    assert.equal(maps.find(0x7f5ebe043000n)?.source, undefined);
  });

  const root = process.getuid?.() === 0;
  test('a path that is now another file (other device or inode) is read through /proc/PID/map_files', { skip: root ? false : 'map_files needs root' }, () => {
    // This process's own first executable mapping, as it is and under another file's path.
    const line = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .find((l) => / r-xp .* \/\S/.test(l) && !l.endsWith(' (deleted)'))!;
    const other = fixturePath('busy_loop');
    const renamed = line.replace(/ \/.*$/, ` ${other}`);
    const itself = ProcessMaps.fromText(line, process.pid).mappings[0]!;
    assert.equal(itself.source, itself.name);
    assert.equal(itself.transient, false);
    const moved = ProcessMaps.fromText(renamed, process.pid).mappings[0]!;
    // map_files names have no leading zeros, unlike the maps lines.
    assert.equal(moved.source, `/proc/${process.pid}/map_files/${moved.start.toString(16)}-${moved.end.toString(16)}`);
    assert.equal(moved.transient, true);
    // Another device as well: nothing matches, and the path is the best guess left.
    const device = renamed.split(/\s+/)[3]!;
    const elsewhere = ProcessMaps.fromText(renamed.replace(` ${device} `, ' ff:ff '), process.pid).mappings[0]!;
    assert.equal(elsewhere.source, other);
    assert.equal(elsewhere.transient, false);
  });

  test('a pid that does not exist: capture gives undefined, no throw', () => {
    const pid = unusedPid();
    assert.equal(ProcessMaps.capture(pid), undefined);
    const symbolizer = new Symbolizer({ debugRoot: noDebug });
    assert.equal(symbolizer.remember(pid), undefined);
    assert.deepEqual(symbolizer.user(pid, 0x401000n), { address: 0x401000n });
    assert.equal(formatFrame(symbolizer.user(pid, 0x401000n)), '[unknown]');
  });
});

describe('Symbolizer', () => {
  test('kernel frames: a module only for modules, [unknown] when unresolved', () => {
    const symbolizer = new Symbolizer({ kernelSymbols: KernelSymbols.parse('ffffffff81000000 T vfs_read\nffffffffc0001000 t mod_func\t[my_mod]\n') });
    assert.deepEqual(symbolizer.kernel(0xffffffff81000005n), { address: 0xffffffff81000005n, symbol: 'vfs_read', offset: 5 });
    assert.equal(formatFrame(symbolizer.kernel(0xffffffff81000005n)), 'vfs_read+0x5');
    assert.equal(formatFrame(symbolizer.kernel(0xffffffffc0001020n)), 'mod_func+0x20 [my_mod]');
    assert.equal(formatFrame(symbolizer.kernel(0x1000n)), '[unknown]');
  });

  test('formatFrame escapes control characters in names', () => {
    assert.equal(formatFrame({ address: 1n, symbol: 'evil\x1b[2J', offset: 16, module: 'lib\nx.so' }), 'evil\\x1b[2J+0x10 [lib\\nx.so]');
  });

  test('a live busy_loop: its functions and its library, before and after it exits, as addr2line names them', async () => {
    const busy = await startBusy(fixturePath('busy_loop'));
    const symbolizer = new Symbolizer({ debugRoot: noDebug });
    const maps = symbolizer.remember(busy.pid);
    assert.ok(maps);
    const exe = maps.find(busy.at.busy_leaf!)!;
    const lib = maps.find(busy.at.busy_in_library!)!;
    assert.equal(exe.name, fixturePath('busy_loop'));
    assert.equal(exe.source, exe.name, 'the plain path is the mapped file');
    assert.equal(exe.transient, false);
    assert.equal(lib.name, fixturePath('libbusy.so'));

    const cases: Array<[string, number, string]> = [
      ['busy_leaf', 0, 'busy_loop'],
      ['busy_leaf', 9, 'busy_loop'],
      ['busy_middle', 4, 'busy_loop'],
      ['busy_outer', 0, 'busy_loop'],
      ['main', 17, 'busy_loop'],
      ['busy_in_library', 0, 'libbusy.so'],
      ['busy_in_library', 11, 'libbusy.so'],
    ];
    const check = (s: Symbolizer, when: string): void => {
      for (const [name, offset, module] of cases) {
        const address = busy.at[name]! + BigInt(offset);
        assert.deepEqual(s.user(busy.pid, address), { address, symbol: name, offset, module }, `${name}+${offset} ${when}`);
      }
    };
    check(symbolizer, 'while it runs');
    assert.equal(formatFrame(symbolizer.user(busy.pid, busy.at.busy_leaf! + 0x1an)), 'busy_leaf+0x1a [busy_loop]');
    assert.equal(formatFrame(symbolizer.user(busy.pid, busy.at.busy_in_library!)), 'busy_in_library+0x0 [libbusy.so]');

    // addr2line, given the file address worked out from readelf's segments, names the same functions.
    for (const mapping of [exe, lib]) {
      const mine: typeof cases = cases.filter(([name]) => maps.find(busy.at[name]!) === mapping);
      const addresses = mine.map(([name, offset]) => fileAddress(mapping.name, mapping, busy.at[name]! + BigInt(offset)));
      assert.deepEqual(addr2lineFunctions(mapping.name, addresses), mine.map(([name]) => name));
    }

    // A second process of the same files reads nothing again.
    const second = await startBusy(fixturePath('busy_loop'));
    assert.equal(symbolizer.user(second.pid, second.at.busy_outer!).symbol, 'busy_outer');
    assert.equal(symbolizer.user(second.pid, second.at.busy_in_library!).symbol, 'busy_in_library');
    assert.equal(symbolizer.filesRead, 2, 'busy_loop and libbusy.so, once each');
    await stopBusy(second);

    await stopBusy(busy);
    assert.equal(ProcessMaps.capture(busy.pid), undefined);
    check(symbolizer, 'after it exited');
    // The snapshot handed to another symbolizer serves as well.
    const later = new Symbolizer({ debugRoot: noDebug });
    later.useMaps(busy.pid, maps);
    check(later, 'from the snapshot, after it exited');
    later.forget(busy.pid);
    assert.deepEqual(later.user(busy.pid, busy.at.busy_leaf!), { address: busy.at.busy_leaf! });
  });

  test('a stripped busy_loop: its static functions are [unknown] until its unstripped build is read', async () => {
    const stripped = await startBusy(fixturePath('busy_loop_stripped'));
    const symbolizer = new Symbolizer({ debugRoot: noDebug });
    const leaf = symbolizer.user(stripped.pid, stripped.at.busy_leaf!);
    assert.deepEqual(leaf, { address: stripped.at.busy_leaf!, module: 'busy_loop_stripped' });
    assert.equal(formatFrame(leaf), '[unknown] [busy_loop_stripped]');
    assert.equal(symbolizer.user(stripped.pid, stripped.at.busy_in_library!).symbol, 'busy_in_library', 'its library still has symbols');

    // The unstripped file has the same build id, so it serves the stripped copy.
    const full = await startBusy(fixturePath('busy_loop'));
    assert.equal(symbolizer.user(full.pid, full.at.busy_leaf!).symbol, 'busy_leaf');
    assert.deepEqual(symbolizer.user(stripped.pid, stripped.at.busy_leaf! + 3n), {
      address: stripped.at.busy_leaf! + 3n,
      symbol: 'busy_leaf',
      offset: 3,
      module: 'busy_loop_stripped',
    });
    await stopBusy(full);
    await stopBusy(stripped);
  });

  test('a deleted binary resolves through /proc/PID/map_files (root), after it exits too', async () => {
    const dir = join(scratch, 'deleted');
    mkdirSync(dir);
    const exe = join(dir, 'busy_loop');
    copyFileSync(fixturePath('busy_loop'), exe);
    copyFileSync(fixturePath('libbusy.so'), join(dir, 'libbusy.so'));
    const busy = await startBusy(exe);
    unlinkSync(exe);
    // One symbolizer asks while the process runs; the other only remembers it, and asks after it exited.
    const live = new Symbolizer({ debugRoot: noDebug });
    const symbolizer = new Symbolizer({ debugRoot: noDebug });
    const maps = symbolizer.remember(busy.pid)!;
    const mapping = maps.find(busy.at.busy_leaf!)!;
    assert.equal(mapping.name, exe);
    assert.equal(mapping.deleted, true);
    const root = process.getuid?.() === 0;
    const expected = root
      ? { address: busy.at.busy_leaf!, symbol: 'busy_leaf', offset: 0, module: 'busy_loop' }
      : { address: busy.at.busy_leaf!, module: 'busy_loop' };
    if (root) {
      assert.equal(mapping.source, `/proc/${busy.pid}/map_files/${mapping.start.toString(16)}-${mapping.end.toString(16)}`);
      assert.equal(mapping.transient, true);
    }
    assert.deepEqual(live.user(busy.pid, busy.at.busy_leaf!), expected);
    await stopBusy(busy);
    assert.deepEqual(symbolizer.user(busy.pid, busy.at.busy_leaf!), expected, 'remember() read it before the process exited');
  });
});

describe('demangled names', () => {
  test('C++ functions (a namespace, a class, overloads) read as nm -C prints them; C names are left alone', () => {
    const file = fixturePath('cxx_names');
    const symbols = ElfSymbols.read(file, { debugRoot: noDebug });
    const mangled = run('nm', ['--defined-only', file]).split('\n').map((l) => /^([0-9a-f]+) [Tt] (_Z\S+)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
    assert.ok(mangled.length >= 3, 'the fixture has mangled functions');
    const demangled = new Map(run('nm', ['-C', '--defined-only', file]).split('\n').map((l) => /^([0-9a-f]+) [Tt] (.+)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[1]!, m[2]!]));
    for (const [, address] of mangled) assert.equal(symbols.resolve(BigInt(`0x${address}`))?.symbol, demangled.get(address!));
    assert.deepEqual(
      mangled.map((m) => symbols.resolve(BigInt(`0x${m[1]}`))!.symbol).sort(),
      ['busy::Worker::spin(long)', 'busy::step(double)', 'busy::step(long)'],
    );
    const main = run('nm', ['--defined-only', file]).split('\n').find((l) => / T main$/.test(l))!;
    assert.equal(symbols.resolve(BigInt(`0x${main.split(' ')[0]}`))?.symbol, 'main');
  });
});
