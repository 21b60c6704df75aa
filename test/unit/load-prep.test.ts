// What happens to an object between parsing and loading, without a kernel: BTF sanitized for a
// kernel's BTF loader (src/btf/sanitize.ts), __kconfig values written as libbpf writes them
// (src/kernel/kconfig.ts), globals set from the command line (src/object/globals.ts).
import { commandLineName } from '../../src/cli/flags.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from '../support/test.js';
import { BTF_KIND, parseBtf } from '../../src/btf/btf.js';
import { ALL_BTF_FEATURES, sanitizeBtf, type BtfFeatures } from '../../src/btf/sanitize.js';
import { KernelError, ObjectError, UsageError } from '../../src/errors.js';
import { fillKconfig, kernelConfig, parseKernelConfig } from '../../src/kernel/kconfig.js';
import { kernelVersionCode } from '../../src/kernel/program.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { globalIsSet, globalVariables, withGlobals } from '../../src/object/globals.js';
import { BtfBuilder, loadFixture, thrown } from './helpers.js';

describe('sanitizeBtf', () => {
  function everyKind(): BtfBuilder {
    const b = new BtfBuilder();
    const int = b.int('int', 4, true);
    const proto = b.funcProto(int, [['x', int]]);
    b.func('f', proto, 1);
    const v = b.variable('counter', int, 1);
    b.datasec('.data', 4, [[v, 0, 4]]);
    b.float('double', 8);
    b.declTag('tag', v);
    b.modifier(18, int, 'user');
    b.enum64('big', [['BIG', 1n << 40n]]);
    return b;
  }
  const NONE: BtfFeatures = { func: false, globalFunc: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false };
  const kinds = (bytes: Uint8Array): number[] => {
    const btf = parseBtf(bytes, true);
    return Array.from({ length: btf.count }, (_, i) => btf.type(i + 1).kind);
  };

  test('a kernel that knows every kind gets the bytes as they are', () => {
    const btf = parseBtf(everyKind().bytes(), true);
    assert.deepEqual(sanitizeBtf(btf, ALL_BTF_FEATURES), btf.bytes());
  });

  test('a kernel that knows none: each kind replaced as libbpf does, type ids kept, the result parses', () => {
    const btf = parseBtf(everyKind().bytes(), true);
    const sanitized = sanitizeBtf(btf, NONE);
    const K = BTF_KIND;
    // int, proto -> enum, func -> typedef, var -> int, datasec -> struct, float -> struct,
    // decl_tag -> int, type_tag -> const, enum64 -> union of a placeholder 8-byte int (added last).
    assert.deepEqual(kinds(sanitized), [K.INT, K.ENUM, K.TYPEDEF, K.INT, K.STRUCT, K.STRUCT, K.INT, K.CONST, K.UNION, K.INT]);
    const after = parseBtf(sanitized, true);
    assert.equal(after.type(5).name, '_data', "a struct's name is an identifier");
    assert.equal(after.sizeOf(5), 4);
    assert.equal(after.sizeOf(10), 8);
  });

  test('only what is missing changes: a kernel without global functions gets static ones', () => {
    const btf = parseBtf(everyKind().bytes(), true);
    const sanitized = parseBtf(sanitizeBtf(btf, { ...ALL_BTF_FEATURES, globalFunc: false }), true);
    const f = sanitized.type(3);
    assert.equal(f.kind, BTF_KIND.FUNC);
    assert.equal(f.kind === BTF_KIND.FUNC ? f.linkage : -1, 0);
    assert.deepEqual(kinds(sanitizeBtf(btf, { ...ALL_BTF_FEATURES, globalFunc: false })).slice(3), kinds(btf.bytes()).slice(3));
  });
});

describe('fillKconfig', () => {
  // core_externs.c: LINUX_KERNEL_VERSION (u32), CONFIG_HZ (int), CONFIG_BPF_SYSCALL (bool),
  // CONFIG_EXT4_FS (enum libbpf_tristate, weak), CONFIG_DEFAULT_HOSTNAME (char[16], weak),
  // CONFIG_LKB_NO_SUCH_OPTION (int, weak).
  const spec = parseBpfObject(loadFixture('core_externs.o'));
  const kconfig = spec.maps.find((m) => m.name === '.kconfig')!;
  const extern = (name: string): { offset: number; size: number } => spec.externs.find((e) => e.name === name)!;
  const fill = (text: string): Uint8Array => {
    const data = new Uint8Array(kconfig.valueSize);
    fillKconfig(spec.externs, spec.btf!, data, () => ({ values: parseKernelConfig(text), source: 'config' }));
    return data;
  };
  const read = (data: Uint8Array, name: string): bigint | string => {
    const { offset, size } = extern(name);
    const bytes = data.subarray(offset, offset + size);
    if (size === 16) return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
    return bytes.reduceRight((v, b) => (v << 8n) | BigInt(b), 0n);
  };
  const CONFIG = 'CONFIG_HZ=1000\n# CONFIG_X is not set\nCONFIG_BPF_SYSCALL=y\nCONFIG_EXT4_FS=m\nCONFIG_DEFAULT_HOSTNAME="box"\n';

  test('the .kconfig map: one read-only array, each value aligned to its size', () => {
    assert.equal(kconfig.type, 2);
    assert.equal(kconfig.data?.readOnly, true);
    for (const e of spec.externs.filter((x) => x.kind === 'kconfig')) assert.equal(e.offset % Math.min(8, e.size), 0, e.name);
    assert.equal(kconfig.valueSize % 8, 0);
  });

  test('values as libbpf converts them: numbers, y/n/m, strings; a missing weak one stays 0', () => {
    const data = fill(CONFIG);
    assert.equal(read(data, 'LINUX_KERNEL_VERSION'), BigInt(kernelVersionCode()));
    assert.equal(read(data, 'CONFIG_HZ'), 1000n);
    assert.equal(read(data, 'CONFIG_BPF_SYSCALL'), 1n);
    assert.equal(read(data, 'CONFIG_EXT4_FS'), 2n, 'm is TRI_MODULE');
    assert.equal(read(data, 'CONFIG_DEFAULT_HOSTNAME'), 'box');
    assert.equal(read(data, 'CONFIG_LKB_NO_SUCH_OPTION'), 0n);
    assert.equal(read(fill(CONFIG.replace('CONFIG_EXT4_FS=m', 'CONFIG_EXT4_FS=y')), 'CONFIG_EXT4_FS'), 1n);
  });

  test('a missing strong value, a word for a number, a module for a bool: one-line errors', () => {
    const missing = thrown(() => fill(CONFIG.replace('CONFIG_HZ=1000\n', '')));
    assert.ok(missing instanceof KernelError);
    assert.equal(missing.message, "the kernel's configuration has no CONFIG_HZ (mark the extern __weak to take 0 when it is missing)");
    const word = thrown(() => fill(CONFIG.replace('CONFIG_HZ=1000', 'CONFIG_HZ=fast')));
    assert.ok(word instanceof ObjectError);
    assert.equal(word.message, '__kconfig CONFIG_HZ=fast: not a number for an integer extern');
    const module = thrown(() => fill(CONFIG.replace('CONFIG_BPF_SYSCALL=y', 'CONFIG_BPF_SYSCALL=m')));
    assert.equal((module as Error).message, '__kconfig CONFIG_BPF_SYSCALL=m: a bool cannot hold a module (m); use enum libbpf_tristate');
  });
});

describe('fillKconfig without a kernel configuration', () => {
  // core_externs.c's LINUX_* are computed; its strong CONFIG_* need a configuration.
  const spec = parseBpfObject(loadFixture('core_externs.o'));
  const data = (): Uint8Array => new Uint8Array(spec.maps.find((m) => m.name === '.kconfig')!.valueSize);
  const only = (names: string[]) => spec.externs.filter((e) => e.kind !== 'kconfig' || names.includes(e.name));

  test('LINUX_* values need none: the configuration is never asked for', () => {
    const notices = fillKconfig(only(['LINUX_KERNEL_VERSION']), spec.btf!, data(), () => assert.fail('not needed'));
    assert.deepEqual(notices, []);
  });

  test('weak CONFIG_* values are 0, said once for all of them', () => {
    const notices = fillKconfig(only(['LINUX_KERNEL_VERSION', 'CONFIG_EXT4_FS', 'CONFIG_DEFAULT_HOSTNAME']), spec.btf!, data(), () => undefined);
    assert.deepEqual(notices, [`the kernel's configuration is in neither /proc/config.gz nor /boot/config-${release()}: the weak __kconfig externs CONFIG_DEFAULT_HOSTNAME, CONFIG_EXT4_FS are 0`]);
  });

  test('a strong CONFIG_* value is an error naming it and the way past', () => {
    const error = thrown(() => fillKconfig(spec.externs, spec.btf!, data(), () => undefined));
    assert.ok(error instanceof KernelError);
    assert.equal(error.describe(commandLineName), `__kconfig extern CONFIG_HZ needs the kernel's configuration, which is in neither /proc/config.gz nor /boot/config-${release()}: give this kernel's config file with --kconfig FILE (or mark the extern __weak to take 0)`);
  });

  test('a config file given by path, plain or gzip; one that is not a configuration is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkb-kconfig-'));
    try {
      writeFileSync(join(dir, 'config'), 'CONFIG_HZ=250\n');
      writeFileSync(join(dir, 'config.gz'), gzipSync('CONFIG_HZ=300\n'));
      writeFileSync(join(dir, 'other'), 'hello\n');
      assert.equal(kernelConfig(join(dir, 'config'))?.values.get('CONFIG_HZ'), '250');
      assert.equal(kernelConfig(join(dir, 'config.gz'))?.values.get('CONFIG_HZ'), '300');
      assert.equal((thrown(() => kernelConfig(join(dir, 'other'))) as Error).message, `${join(dir, 'other')} holds no CONFIG_ values: it is not a kernel configuration`);
      assert.match((thrown(() => kernelConfig(join(dir, 'missing'))) as Error).message, /^reading the kernel's configuration .*missing: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('globals from the command line (--set)', () => {
  const spec = parseBpfObject(loadFixture('core_live.o'));
  const rodata = (s: typeof spec): Uint8Array => s.maps.find((m) => m.name === '.rodata')!.data!.initial;

  test('the globals BTF describes, with their sections', () => {
    assert.deepEqual(
      globalVariables(spec).map((v) => [v.name, v.section, v.size, v.readOnly]),
      [['target_comm', '.rodata', 16, true]],
    );
  });

  test('a char array from a string; the original spec is left as it was', () => {
    const set = withGlobals(spec, new Map([['target_comm', 'sleep']]));
    assert.deepEqual([...rodata(set).subarray(0, 6)], [...new TextEncoder().encode('sleep'), 0]);
    assert.deepEqual([...rodata(spec)], new Array<number>(16).fill(0));
  });

  test('globalIsSet: non-zero as the object has it or as --set made it; a global the object lacks is not set', () => {
    assert.equal(globalIsSet(spec, 'target_comm'), false);
    assert.equal(globalIsSet(withGlobals(spec, new Map([['target_comm', 'sleep']])), 'target_comm'), true);
    assert.equal(globalIsSet(spec, 'count_by_process'), false);
  });

  test('unknown names list the globals; a value that does not fit says so', () => {
    const unknown = thrown(() => withGlobals(spec, new Map([['target_pid', '1']])));
    assert.ok(unknown instanceof UsageError);
    assert.equal(unknown.describe(commandLineName), "--set target_pid: the object has no global variable 'target_pid'; it has target_comm (.rodata)");
    const long = thrown(() => withGlobals(spec, new Map([['target_comm', 'a-name-longer-than-16']])));
    assert.ok(long instanceof UsageError);
    assert.match(long.describe(commandLineName), /^--set target_comm=a-name-longer-than-16: /);
  });
});
