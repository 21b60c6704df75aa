// src/attach/kernel-functions.ts: syscall prefixes, and resolving a requested function against fake
// available_filter_functions, /proc/kallsyms and kprobe blacklist files.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { KernelFunctions, resolveKernelFunction, resolveModuleFunction, syscallPrefix } from '../../src/attach/kernel-functions.js';
import { matchKernelFunctions } from '../../src/attach/kprobe-multi.js';
import { AttachError, UsageError } from '../../src/errors.js';
import { thrown } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lkb-kfuncs-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh tracefs directory with the given files; undefined leaves a file out. */
function functions(files: { filter?: string; kallsyms?: string; blacklist?: string }, withTracefs = true): KernelFunctions {
  const dir = join(root, String(counter++));
  const tracefs = join(dir, 'tracing');
  mkdirSync(tracefs, { recursive: true });
  if (files.filter !== undefined) writeFileSync(join(tracefs, 'available_filter_functions'), files.filter);
  const kallsyms = join(dir, 'kallsyms');
  const blacklist = join(dir, 'blacklist');
  if (files.kallsyms !== undefined) writeFileSync(kallsyms, files.kallsyms);
  if (files.blacklist !== undefined) writeFileSync(blacklist, files.blacklist);
  return new KernelFunctions(withTracefs ? tracefs : undefined, { kallsyms, blacklist });
}

const FILTER = [
  '__x64_sys_bpf',
  '__x64_sys_openat',
  'vfs_read',
  'vfs_readv',
  'vfs_write [ext4]',
  'do_sys_open',
  'sys_open',
  '__x64_sys_open',
  'kprobe_blacklisted_fn',
  '__x64_sys_blocked',
  '',
].join('\n');
const KALLSYMS = [
  'ffffffff81000000 T _stext',
  'ffffffff81000010 t only_in_kallsyms',
  'ffffffff81000020 D some_data',
  'ffffffff81000030 W weak_fn',
  'ffffffff81000040 t module_fn\t[nf_tables]',
  '',
].join('\n');
const BLACKLIST = ['0xffffffff81000000-0xffffffff81000010\tkprobe_blacklisted_fn', '0xffffffff81000100-0xffffffff81000110\t__x64_sys_blocked', ''].join('\n');

describe('syscallPrefix', () => {
  test('per architecture, as libbpf uses them', () => {
    assert.equal(syscallPrefix('x64'), '__x64_');
    assert.equal(syscallPrefix('arm64'), '__arm64_');
    assert.equal(syscallPrefix('s390x'), '__s390x_');
    assert.equal(syscallPrefix('riscv64'), '__riscv_');
    assert.equal(syscallPrefix('ia32'), '__ia32_');
    assert.equal(syscallPrefix('sparc'), undefined);
    // This machine's, by what the kernel calls itself (uname -m), not by Node's name for it.
    assert.equal(syscallPrefix(), { x86_64: '__x64_', aarch64: '__arm64_', s390x: '__s390x_', riscv64: '__riscv_' }[machine()]);
  });
});

describe('KernelFunctions over fake files', () => {
  test('available_filter_functions names, with or without a module', () => {
    const f = functions({ filter: FILTER, kallsyms: '', blacklist: '' });
    assert.equal(f.has('vfs_read'), true);
    assert.equal(f.has('vfs_write'), true, '"vfs_write [ext4]" is vfs_write');
    assert.equal(f.has('[ext4]'), false);
    assert.equal(f.has('vfs_rea'), false);
    assert.equal(f.has(''), false);
  });

  test('kallsyms text symbols (t, T, w, W) count, data symbols do not', () => {
    const f = functions({ kallsyms: KALLSYMS, blacklist: '' });
    assert.equal(f.has('_stext'), true);
    assert.equal(f.has('only_in_kallsyms'), true);
    assert.equal(f.has('weak_fn'), true);
    assert.equal(f.has('module_fn'), true);
    assert.equal(f.has('some_data'), false);
  });

  test('blacklist entries are "start-end<TAB>name"', () => {
    const f = functions({ filter: FILTER, kallsyms: '', blacklist: BLACKLIST });
    assert.equal(f.isBlacklisted('kprobe_blacklisted_fn'), true);
    assert.equal(f.isBlacklisted('__x64_sys_blocked'), true);
    assert.equal(f.isBlacklisted('vfs_read'), false);
    assert.equal(f.isBlacklisted('0xffffffff81000000-0xffffffff81000010'), false);
  });

  test('names() prefers available_filter_functions, else kallsyms', () => {
    assert.ok([...functions({ filter: FILTER, kallsyms: KALLSYMS }).names()].includes('vfs_read'));
    assert.ok(![...functions({ filter: FILTER, kallsyms: KALLSYMS }).names()].includes('_stext'));
    assert.deepEqual([...functions({ kallsyms: KALLSYMS }).names()].sort(), ['_stext', 'module_fn', 'only_in_kallsyms', 'weak_fn']);
    assert.deepEqual([...functions({ kallsyms: KALLSYMS, filter: FILTER }, false).names()].sort(), ['_stext', 'module_fn', 'only_in_kallsyms', 'weak_fn']);
  });

  test('missing files mean no names, not an error', () => {
    const f = functions({});
    assert.equal(f.has('vfs_read'), false);
    assert.equal(f.isBlacklisted('vfs_read'), false);
    assert.deepEqual([...f.names()], []);
  });
});

describe('resolveKernelFunction', () => {
  const fns = (): KernelFunctions => functions({ filter: FILTER, kallsyms: KALLSYMS, blacklist: BLACKLIST });

  test('an existing function is used as it is, without a note', () => {
    assert.deepEqual(resolveKernelFunction('vfs_read', fns(), 'x64'), { name: 'vfs_read' });
    assert.deepEqual(resolveKernelFunction('only_in_kallsyms', fns(), 'x64'), { name: 'only_in_kallsyms' });
    // sys_open exists itself: no prefix is added.
    assert.deepEqual(resolveKernelFunction('sys_open', fns(), 'x64'), { name: 'sys_open' });
  });

  test('sys_bpf becomes the syscall entry point __x64_sys_bpf, with a note', () => {
    assert.deepEqual(resolveKernelFunction('sys_bpf', fns(), 'x64'), {
      name: '__x64_sys_bpf',
      note: "'sys_bpf' does not exist in this kernel; using its syscall entry point '__x64_sys_bpf'",
    });
  });

  test('the prefix is the architecture\'s', () => {
    const arm = functions({ filter: '__arm64_sys_bpf\n', kallsyms: '', blacklist: '' });
    assert.equal(resolveKernelFunction('sys_bpf', arm, 'arm64').name, '__arm64_sys_bpf');
    const error = thrown(() => resolveKernelFunction('sys_bpf', arm, 'x64'));
    assert.ok(error instanceof AttachError);
    assert.match(error.message, /^kernel function 'sys_bpf' does not exist in this kernel/);
  });

  test('a blacklisted function is refused, also as a syscall entry point', () => {
    for (const [requested, name] of [
      ['kprobe_blacklisted_fn', 'kprobe_blacklisted_fn'],
      ['sys_blocked', '__x64_sys_blocked'],
    ] as const) {
      const error = thrown(() => resolveKernelFunction(requested, fns(), 'x64'));
      assert.ok(error instanceof AttachError, String(error));
      assert.equal(error.message, `kernel function '${name}' cannot be probed: it is in the kprobe blacklist (/sys/kernel/debug/kprobes/blacklist)`);
    }
  });

  test('a function that exists only as compiler clones is its clones, said; a return probe leaves out .cold parts', () => {
    const clones = functions({
      filter: ['blk_account_io_start.isra.0', 'tcp_fn.constprop.0', 'tcp_fn.constprop.0.isra.0', 'tcp_fn.cold', 'tcp_fn_other', 'tcp_fnx.isra.0', 'x.part.0', 'x.clone.1', ''].join('\n'),
      kallsyms: '',
      blacklist: '',
    });
    assert.deepEqual(resolveKernelFunction('blk_account_io_start', clones, 'x64'), {
      name: 'blk_account_io_start.isra.0',
      note: "'blk_account_io_start' is only 'blk_account_io_start.isra.0' in this kernel (the compiler's copy); probing it",
    });
    const entry = resolveKernelFunction('tcp_fn', clones, 'x64');
    assert.deepEqual(entry.clones, ['tcp_fn.cold', 'tcp_fn.constprop.0', 'tcp_fn.constprop.0.isra.0']);
    assert.match(entry.note!, /^'tcp_fn' is only 'tcp_fn.cold', 'tcp_fn.constprop.0', 'tcp_fn.constprop.0.isra.0' in this kernel \(the compiler's copies\); probing all of them$/);
    assert.deepEqual(resolveKernelFunction('tcp_fn', clones, 'x64', true).clones, ['tcp_fn.constprop.0', 'tcp_fn.constprop.0.isra.0']);
    // Not clones: another function sharing the prefix, or a suffix compilers do not write.
    assert.equal(resolveKernelFunction('x', clones, 'x64').name, 'x.part.0');
    assert.ok(thrown(() => resolveKernelFunction('tcp_f', clones, 'x64')) instanceof AttachError);
  });

  test("MODULE:FUNCTION: a loaded module's function (or its clone), refused by name when the module or function is missing", () => {
    const sys = join(root, 'sys-module');
    mkdirSync(join(sys, 'nf_conntrack'), { recursive: true });
    mkdirSync(join(sys, 'snd_hda_intel'), { recursive: true });
    const f = functions({
      filter: ['nf_conntrack_in [nf_conntrack]', 'nf_ct_get_tuple [nf_conntrack]', 'azx_probe.isra.0 [snd_hda_intel]', 'vfs_read', ''].join('\n'),
      kallsyms: 'ffffffffc0000000 t nf_ct_only_kallsyms\t[nf_conntrack]\n',
      blacklist: '',
    });
    assert.deepEqual(resolveModuleFunction('nf_conntrack', 'nf_conntrack_in', f, false, sys), { name: 'nf_conntrack:nf_conntrack_in' });
    assert.deepEqual(resolveModuleFunction('nf_conntrack', 'nf_ct_only_kallsyms', f, false, sys), { name: 'nf_conntrack:nf_ct_only_kallsyms' });
    // Module names take '-' for '_', as modprobe does.
    assert.deepEqual(resolveModuleFunction('snd-hda-intel', 'azx_probe', f, false, sys), {
      name: 'snd_hda_intel:azx_probe.isra.0',
      note: "'snd_hda_intel:azx_probe' is only 'azx_probe.isra.0' in this kernel (the compiler's copy); probing it",
    });
    const notLoaded = thrown(() => resolveModuleFunction('veth', 'veth_xmit', f, false, sys));
    assert.ok(notLoaded instanceof AttachError);
    assert.equal(notLoaded.message, "kernel module 'veth' is not loaded (modprobe veth loads it)");
    const missing = thrown(() => resolveModuleFunction('nf_conntrack', 'nf_conntrack_inn', f, false, sys));
    assert.equal((missing as Error).message, "kernel module 'nf_conntrack' has no function 'nf_conntrack_inn' that can be probed; closest: nf_conntrack_in");
    // vfs_read is vmlinux's, not the module's.
    assert.ok(thrown(() => resolveModuleFunction('nf_conntrack', 'vfs_read', f, false, sys)) instanceof AttachError);
    assert.ok(thrown(() => resolveModuleFunction('bad/name', 'x', f, false, sys)) instanceof UsageError);
    // A line break before the colon is the whole name's problem, not a module name's: it could inject a tracefs line.
    assert.equal(
      (thrown(() => resolveModuleFunction('vfs_read\np', 'kprobes/x do_exit', f, false, sys)) as Error).message,
      'kernel function name "vfs_read\\np:kprobes/x do_exit" contains a line break at position 9; use only [A-Za-z0-9_.]',
    );
  });

  test('an unknown function is refused, listing the closest names', () => {
    const error = thrown(() => resolveKernelFunction('vfs_reed', fns(), 'x64'));
    assert.ok(error instanceof AttachError);
    assert.equal(
      error.message,
      "kernel function 'vfs_reed' does not exist in this kernel (not in available_filter_functions or /proc/kallsyms); closest: vfs_read, vfs_readv",
    );
  });

  test('without close names there is no "closest" list', () => {
    const error = thrown(() => resolveKernelFunction('zzzzzzzzzzzz', fns(), 'x64'));
    assert.ok(error instanceof AttachError);
    assert.equal(error.message, "kernel function 'zzzzzzzzzzzz' does not exist in this kernel (not in available_filter_functions or /proc/kallsyms)");
  });

  test('at most five suggestions, names containing the request first', () => {
    const many = functions({ filter: ['bpf_a', 'bpf_bb', 'bpf_ccc', 'bpf_dddd', 'bpf_eeeee', 'bpf_ffffff', 'xbpfx', 'bpg', ''].join('\n'), kallsyms: '', blacklist: '' });
    const error = thrown(() => resolveKernelFunction('bpf', many, 'x64'));
    assert.ok(error instanceof AttachError);
    assert.equal(error.message.split('; closest: ')[1], 'bpf_a, xbpfx, bpf_bb, bpf_ccc, bpf_dddd');
  });

  test('a bad name is a UsageError before any lookup', () => {
    const error = thrown(() => resolveKernelFunction('vfs_read\n-:kprobes/x', fns(), 'x64'));
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /contains a line break at position 9/);
  });
});

describe('matchKernelFunctions: the functions a pattern attaches to', () => {
  const filter = ['vfs_read', 'vfs_readv', 'vfs_write', 'vfs_fsync [ext4]', 'vfs_open', 'vfs_open', 'vfs_blocked', '__ftrace_invalid_address___64', 'do_sys_open', ''].join('\n');
  const blacklist = '0xffffffff81000000-0xffffffff81000010\tvfs_blocked\n';

  test('sorted vmlinux names, without module functions, shared names or blacklisted ones', () => {
    assert.deepEqual(matchKernelFunctions('vfs_*', functions({ filter, blacklist })), { matched: ['vfs_read', 'vfs_readv', 'vfs_write'], ambiguous: 1, blacklisted: 1 });
    assert.deepEqual(matchKernelFunctions('vfs_rea?', functions({ filter, blacklist })).matched, ['vfs_read']);
    assert.deepEqual(matchKernelFunctions('*', functions({ filter, blacklist })).matched, ['do_sys_open', 'vfs_read', 'vfs_readv', 'vfs_write']);
  });

  test('a pattern with other characters is refused before tracefs is read', () => {
    const error = thrown(() => matchKernelFunctions('vfs_*\np:x', functions({ filter })));
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, 'kernel function pattern "vfs_*\\\\np:x" may hold only [A-Za-z0-9_.] and the wildcards * and ?');
  });

  test('without available_filter_functions a pattern cannot be matched, and says so', () => {
    const error = thrown(() => matchKernelFunctions('vfs_*', functions({ filter: undefined })));
    assert.ok(error instanceof AttachError);
    assert.match(error.message, /cannot read available_filter_functions/);
  });
});
