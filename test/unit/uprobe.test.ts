// src/attach/uprobe.ts, the parts that read only files: resolveBinaryPath (a path, or a name on
// PATH) and functionFileOffset, checked against nm and readelf on small programs built with cc.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from '../support/test.js';
import { functionFileOffset, resolveBinaryPath } from '../../src/attach/uprobe.js';
import { AttachError, KernelError, UsageError } from '../../src/errors.js';
import { tool } from '../support/tools.js';
import { REPO, thrown } from './helpers.js';

const SOURCE = `
int uo_add(int a, int b) { return a + b; }
__attribute__((noinline)) int uo_twice(int x) { return uo_add(x, x) * 2; }
int main(int argc, char **argv) { (void)argv; return uo_twice(argc); }
`;

let dir = '';
const path = (name: string): string => join(dir, name);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lkb-uprobe-'));
  writeFileSync(path('prog.c'), SOURCE);
  const cc = (...args: string[]): void => void execFileSync(tool('cc', 'CC'), args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  cc('-O1', '-fPIE', '-pie', '-o', 'pie', 'prog.c');
  cc('-O1', '-fno-pie', '-no-pie', '-o', 'nopie', 'prog.c');
  cc('-O1', '-shared', '-fPIC', '-o', 'lib.so', 'prog.c');
  cc('-O1', '-c', '-o', 'prog.o', 'prog.c');
  execFileSync(tool('strip'), ['-o', 'pie.stripped', 'pie'], { cwd: dir });
  execFileSync(tool('strip'), ['-o', 'lib.stripped.so', 'lib.so'], { cwd: dir });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function attachError(fn: () => unknown): AttachError {
  const error = thrown(fn);
  assert.ok(error instanceof AttachError, `expected an AttachError, got ${String(error)}`);
  return error;
}

/** The symbol's address as nm prints it (-D: the dynamic symbol table). */
function nmAddress(file: string, name: string, dynamic = false): bigint {
  const out = execFileSync(tool('nm'), [...(dynamic ? ['-D'] : []), file], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.endsWith(` ${name}`) && /^[0-9a-f]+ [TtWi] /.test(l));
  assert.ok(line, `nm ${dynamic ? '-D ' : ''}${file}: no ${name}`);
  return BigInt(`0x${line.split(' ')[0]}`);
}

/** The file offset readelf's section headers give for an address in .text. */
function readelfFileOffset(file: string, address: bigint): bigint {
  const out = execFileSync(tool('readelf'), ['-S', '--wide', file], { encoding: 'utf8' });
  const match = /\]\s+\.text\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(out);
  assert.ok(match, `readelf -S ${file}: no .text`);
  const [addr, offset, size] = [BigInt(`0x${match[1]}`), BigInt(`0x${match[2]}`), BigInt(`0x${match[3]}`)];
  assert.ok(address >= addr && address < addr + size, `${address} is in .text`);
  return address - addr + offset;
}

describe('functionFileOffset', () => {
  for (const [file, dynamic] of [
    ['pie', false],
    ['nopie', false],
    ['lib.so', false],
    ['lib.stripped.so', true],
  ] as const) {
    test(`${file}: the offsets nm and readelf give`, () => {
      for (const name of ['uo_add', 'uo_twice']) {
        const expected = readelfFileOffset(path(file), nmAddress(path(file), name, dynamic));
        assert.equal(functionFileOffset(path(file), name), expected, name);
      }
      assert.ok(functionFileOffset(path(file), 'uo_twice') > functionFileOffset(path(file), 'uo_add'));
    });
  }

  test('non-PIE: the address is moved from the section address to its file offset', () => {
    const address = nmAddress(path('nopie'), 'uo_add');
    const offset = functionFileOffset(path('nopie'), 'uo_add');
    assert.ok(address >= 0x400000n, `linked high (${address.toString(16)})`);
    assert.ok(offset < 0x100000n, `a file offset (${offset.toString(16)})`);
    assert.equal(offset, readelfFileOffset(path('nopie'), address));
  });

  test('main is found in an executable too', () => {
    assert.equal(functionFileOffset(path('pie'), 'main'), readelfFileOffset(path('pie'), nmAddress(path('pie'), 'main')));
  });

  test('a missing function: the closest names', () => {
    assert.equal(attachError(() => functionFileOffset(path('pie'), 'uo_ad')).message, `function 'uo_ad' is not in the symbol tables of ${path('pie')}; closest: uo_add`);
    assert.match(attachError(() => functionFileOffset(path('lib.so'), 'uo_twic')).message, /; closest: uo_twice(, |$)/);
    assert.equal(attachError(() => functionFileOffset(path('pie'), 'zzzzzzzzzz')).message, `function 'zzzzzzzzzz' is not in the symbol tables of ${path('pie')}`);
  });

  test('the name in the message is made printable', () => {
    assert.equal(attachError(() => functionFileOffset(path('pie'), 'uo_add\n')).message, `function 'uo_add\\n' is not in the symbol tables of ${path('pie')}; closest: uo_add`);
  });

  test('a stripped executable: no function symbols, and the message says so', () => {
    assert.equal(
      attachError(() => functionFileOffset(path('pie.stripped'), 'uo_add')).message,
      `function 'uo_add' is not in the symbol tables of ${path('pie.stripped')} (it has no function symbols: is it stripped?)`,
    );
  });

  test('a stripped shared library keeps its exported functions (.dynsym)', () => {
    assert.equal(functionFileOffset(path('lib.stripped.so'), 'uo_add'), functionFileOffset(path('lib.so'), 'uo_add'));
  });

  test('a relocatable object, a file that is not ELF, a missing file', () => {
    assert.equal(attachError(() => functionFileOffset(path('prog.o'), 'uo_add')).message, `uprobe binary ${path('prog.o')} is not an executable or shared library (ELF type 1)`);
    assert.equal(attachError(() => functionFileOffset(path('prog.c'), 'uo_add')).message, `uprobe binary ${path('prog.c')}: not an ELF file (bad magic number at offset 0)`);
    const missing = thrown(() => functionFileOffset(path('missing'), 'uo_add'));
    assert.ok(missing instanceof KernelError);
    assert.match(missing.message, new RegExp(`^reading uprobe binary ${path('missing')}: ENOENT`));
  });
});

describe('resolveBinaryPath', () => {
  test('an absolute path is kept', () => {
    assert.equal(resolveBinaryPath(path('pie')), path('pie'));
  });

  test('a relative path with a slash is resolved against the working directory, not PATH', () => {
    const rel = relative(process.cwd(), path('pie'));
    assert.ok(rel.includes('/'));
    assert.equal(resolveBinaryPath(rel, '/nonexistent'), path('pie'));
    assert.equal(resolveBinaryPath(`./${relative(process.cwd(), REPO) || '.'}/package.json`, ''), join(REPO, 'package.json'));
  });

  test('a bare name is looked up on PATH, in order, skipping directories of that name', () => {
    const a = path('a');
    const b = path('b');
    const c = path('c');
    mkdirSync(a);
    mkdirSync(b);
    mkdirSync(c);
    mkdirSync(join(a, 'tool')); // a directory named like the binary
    copyFileSync(path('pie'), join(b, 'tool'));
    copyFileSync(path('pie'), join(c, 'tool'));
    chmodSync(join(b, 'tool'), 0o755);
    assert.equal(resolveBinaryPath('tool', [path('missing-dir'), a, '', b, c].join(':')), join(b, 'tool'));
    assert.equal(resolveBinaryPath('tool', [c, b].join(':')), join(c, 'tool'));
  });

  test('nothing found: AttachErrors that say where it looked', () => {
    const nowhere = 'is neither on PATH nor a library in LD_LIBRARY_PATH or /etc/ld.so.cache';
    assert.equal(attachError(() => resolveBinaryPath('no-such-tool-xyz', dir)).message, `uprobe binary 'no-such-tool-xyz' ${nowhere}`);
    assert.equal(attachError(() => resolveBinaryPath('pie', '')).message, `uprobe binary 'pie' ${nowhere}`);
    assert.equal(attachError(() => resolveBinaryPath('libnothing-here.so.3', '', dir)).message, `uprobe binary 'libnothing-here.so.3' ${nowhere}`);
    assert.equal(attachError(() => resolveBinaryPath(path('missing'))).message, `uprobe binary ${path('missing')} does not exist or cannot be read`);
    assert.equal(attachError(() => resolveBinaryPath(dir)).message, `uprobe binary ${dir} does not exist or cannot be read`, 'a directory');
  });

  test('a library name is looked up in LD_LIBRARY_PATH, then in the linker cache', () => {
    const lib = path('lib');
    mkdirSync(lib);
    copyFileSync(path('pie'), join(lib, 'libuo.so.1'));
    assert.equal(resolveBinaryPath('libuo.so.1', '', ['', lib].join(':')), join(lib, 'libuo.so.1'));
    // libc is in the cache of any glibc machine, under each name bcc and bpftrace accept.
    const libc = resolveBinaryPath('libc.so.6', '', '');
    assert.match(libc, /^\/.*\/libc\.so\.6$/);
    assert.equal(resolveBinaryPath('libc', '', ''), libc);
    assert.equal(resolveBinaryPath('c', '', ''), libc);
  });

  test('an empty name is a UsageError', () => {
    const error = thrown(() => resolveBinaryPath(''));
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, 'the uprobe binary is empty');
  });
});
