// src/object/conventions.ts and sections.ts: what a section name (the section table: libbpf's SEC() names,
// the legacy `prog`) or a bcc function name says about a program (types, how it attaches), which wins, and the words for it.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import {
  LEGACY_PROGRAM_SECTION,
  describeRole,
  isBccProgramName,
  parseUprobeSpec,
  programMeaning,
  programRole,
  rawSyscallEvent,
  type ProgramRole,
} from '../../src/object/conventions.js';
import {
  objectError,
} from './helpers.js';

/** A function name that is no bcc program name, so only the section speaks. */
const PLAIN = 'handler';

const COMMAND_LINE_KPROBE: ProgramRole = { kind: 'kprobe', retprobe: false, syscall: false, fromCommandLine: true };
const COMMAND_LINE_KRETPROBE: ProgramRole = { kind: 'kprobe', retprobe: true, syscall: false, fromCommandLine: true };

function kprobe(fn: string, retprobe = false, syscall = false): ProgramRole {
  return { kind: 'kprobe', retprobe, function: fn, syscall, fromCommandLine: false };
}

describe('programRole: section names', () => {
  const cases: Array<[string, ProgramRole | undefined]> = [
    // The legacy layout: the function comes from the command line.
    ['prog', COMMAND_LINE_KPROBE],
    // libbpf's kprobes, with and without a target, with an offset (kept for parseKprobeTarget).
    ['kprobe', COMMAND_LINE_KPROBE],
    ['kretprobe', COMMAND_LINE_KRETPROBE],
    ['kprobe/vfs_read', kprobe('vfs_read')],
    ['kretprobe/vfs_read', kprobe('vfs_read', true)],
    ['kprobe/do_sys_open+0x10', kprobe('do_sys_open+0x10')],
    ['kprobe/do_sys_open+16', kprobe('do_sys_open+16')],
    ['kretprobe/tcp_v4_connect', kprobe('tcp_v4_connect', true)],
    // System calls, by their name without an architecture prefix.
    ['ksyscall/bpf', kprobe('bpf', false, true)],
    ['kretsyscall/openat', kprobe('openat', true, true)],
    // Tracepoints: tracepoint/ and its short form tp/.
    ['tracepoint/syscalls/sys_enter_bpf', { kind: 'tracepoint', tracepoint: 'syscalls/sys_enter_bpf' }],
    ['tp/sched/sched_switch', { kind: 'tracepoint', tracepoint: 'sched/sched_switch' }],
    // Uprobes: absolute path (hence the '//'), relative path with +offset, a bare file offset.
    ['uprobe//usr/bin/bash:readline', { kind: 'uprobe', retprobe: false, binary: '/usr/bin/bash', symbol: 'readline', offset: 0n }],
    ['uprobe/relative/a.out:main+0x10', { kind: 'uprobe', retprobe: false, binary: 'relative/a.out', symbol: 'main', offset: 16n }],
    ['uprobe/libc.so.6:malloc+32', { kind: 'uprobe', retprobe: false, binary: 'libc.so.6', symbol: 'malloc', offset: 32n }],
    ['uprobe/path:0x1234', { kind: 'uprobe', retprobe: false, binary: 'path', offset: 0x1234n }],
    ['uprobe/path:4660', { kind: 'uprobe', retprobe: false, binary: 'path', offset: 4660n }],
    ['uretprobe//bin/true:main', { kind: 'uprobe', retprobe: true, binary: '/bin/true', symbol: 'main', offset: 0n }],
    ['uretprobe/c:/x:0x10', { kind: 'uprobe', retprobe: true, binary: 'c:/x', offset: 16n }],
    // Uprobes whose binary is given when attaching (--attach), and sleepable ones.
    ['uprobe', { kind: 'uprobe', retprobe: false, offset: 0n }],
    ['uretprobe', { kind: 'uprobe', retprobe: true, offset: 0n }],
    ['uretprobe/readline', { kind: 'uprobe', retprobe: true, symbol: 'readline', offset: 0n }],
    ['uprobe.s//bin/true:main', { kind: 'uprobe', retprobe: false, binary: '/bin/true', symbol: 'main', offset: 0n, sleepable: true }],
    // BTF-based tracing and raw tracepoints, with and without a target.
    ['fentry/vfs_read', { kind: 'tracing', attach: 'fentry', target: 'vfs_read' }],
    ['fexit/vfs_read', { kind: 'tracing', attach: 'fexit', target: 'vfs_read' }],
    ['fmod_ret/security_file_open', { kind: 'tracing', attach: 'fmod_ret', target: 'security_file_open' }],
    ['fentry.s/vfs_read', { kind: 'tracing', attach: 'fentry', target: 'vfs_read', sleepable: true }],
    ['fentry', { kind: 'tracing', attach: 'fentry' }],
    ['tp_btf/sched_switch', { kind: 'tracing', attach: 'tp_btf', target: 'sched_switch' }],
    ['raw_tp/sched_switch', { kind: 'raw_tracepoint', tracepoint: 'sched_switch', writable: false }],
    ['raw_tracepoint/sys_enter', { kind: 'raw_tracepoint', tracepoint: 'sys_enter', writable: false }],
    ['raw_tp.w/x', { kind: 'raw_tracepoint', tracepoint: 'x', writable: true }],
    // Program types this tool loads but does not attach.
    ['xdp', { kind: 'load-only', why: 'XDP programs attach to network devices (ip link set dev DEV xdp pinned ...)' }],
    ['socket', { kind: 'load-only', why: 'socket filters attach to sockets' }],
    ['kprobe.multi/vfs_*', { kind: 'kprobe', retprobe: false, function: 'vfs_*', syscall: false, fromCommandLine: false, multi: true }],
    ['kretprobe.multi/tcp_v4_connect', { kind: 'kprobe', retprobe: true, function: 'tcp_v4_connect', syscall: false, fromCommandLine: false, multi: true }],
    // Sections that say nothing this loader knows.
    ['prog/extra', undefined],
    ['.text', undefined],
    ['maps', undefined],
    ['Kprobe/vfs_read', undefined],
    ['', undefined],
  ];
  for (const [section, expected] of cases) {
    test(JSON.stringify(section), () => {
      assert.deepEqual(programRole(section, PLAIN), expected);
    });
  }

  test('the legacy section name is "prog"', () => {
    assert.equal(LEGACY_PROGRAM_SECTION, 'prog');
  });

  test('a file offset has no symbol property at all', () => {
    const role = programRole('uprobe/path:0x1234', PLAIN);
    assert.ok(role?.kind === 'uprobe');
    assert.ok(!('symbol' in role), 'no symbol key');
  });
});

describe('programRole: malformed section names are ObjectErrors saying what is expected', () => {
  const cases: Array<[string, string]> = [
    ['kprobe/', "section 'kprobe/': the function after '/' is missing"],
    ['kretprobe/', "section 'kretprobe/': the function after '/' is missing"],
    ['ksyscall', "section 'ksyscall': ksyscall sections name the system call, e.g. ksyscall/bpf"],
    ['kretsyscall', "section 'kretsyscall': ksyscall sections name the system call, e.g. ksyscall/bpf"],
    ['ksyscall/', "section 'ksyscall/': the system call after '/' is missing"],
    ['tracepoint', "section 'tracepoint': tracepoint sections name category/event, e.g. tracepoint/syscalls/sys_enter_bpf"],
    ['tracepoint/sys_enter_bpf', "section 'tracepoint/sys_enter_bpf': tracepoint sections name category/event, e.g. tracepoint/syscalls/sys_enter_bpf"],
    ['tp', "section 'tp': tracepoint sections name category/event, e.g. tracepoint/syscalls/sys_enter_bpf"],
    ['tp/sched', "section 'tp/sched': tracepoint sections name category/event, e.g. tracepoint/syscalls/sys_enter_bpf"],
    ['fentry/', "section 'fentry/': the function after '/' is missing"],
    ['tp_btf/', "section 'tp_btf/': the tracepoint after '/' is missing"],
    ['uprobe//bin/true', `section 'uprobe//bin/true': expected <binary>:<function>[+offset] or <binary>:<offset>, got "/bin/true"`],
    ['uprobe/:main', `section 'uprobe/:main': expected <binary>:<function>[+offset] or <binary>:<offset>, got ":main"`],
    ['uprobe//bin/true:', `section 'uprobe//bin/true:': expected <binary>:<function>[+offset] or <binary>:<offset>, got "/bin/true:"`],
    ['uprobe/', `section 'uprobe/': expected <binary>:<function>[+offset] or <binary>:<offset>, got ""`],
    ['uprobe//bin/true:1main', `section 'uprobe//bin/true:1main': "1main" is neither a function name (with an optional +offset) nor an offset`],
    ['uprobe//bin/true:main+', `section 'uprobe//bin/true:main+': "main+" is neither a function name (with an optional +offset) nor an offset`],
    ['uprobe//bin/true:main+0xZZ', `section 'uprobe//bin/true:main+0xZZ': "main+0xZZ" is neither a function name (with an optional +offset) nor an offset`],
    ['uprobe//bin/true:0x', `section 'uprobe//bin/true:0x': "0x" is neither a function name (with an optional +offset) nor an offset`],
    ['uretprobe//bin/true:-1', `section 'uretprobe//bin/true:-1': "-1" is neither a function name (with an optional +offset) nor an offset`],
  ];
  for (const [section, message] of cases) {
    test(JSON.stringify(section), () => {
      assert.equal(objectError(() => programRole(section, PLAIN)).message, message);
    });
  }

  test('a control character in a section name is escaped in the message', () => {
    assert.equal(objectError(() => programRole('tp/a\nb', PLAIN)).message, String.raw`section 'tp/a\nb': tracepoint sections name category/event, e.g. tracepoint/syscalls/sys_enter_bpf`);
    assert.equal(
      objectError(() => programRole('uprobe//x:\tf', PLAIN)).message,
      String.raw`section 'uprobe//x:\tf': "\\tf" is neither a function name (with an optional +offset) nor an offset`,
    );
  });
});

describe('parseUprobeSpec', () => {
  test('splits at the last colon and reads the offset in decimal or hex', () => {
    assert.deepEqual(parseUprobeSpec('/usr/lib/libc.so.6:malloc', 'w'), { binary: '/usr/lib/libc.so.6', symbol: 'malloc', offset: 0n });
    assert.deepEqual(parseUprobeSpec('a:b:f+0x1f', 'w'), { binary: 'a:b', symbol: 'f', offset: 31n });
    assert.deepEqual(parseUprobeSpec('bin:_start+7', 'w'), { binary: 'bin', symbol: '_start', offset: 7n });
    assert.deepEqual(parseUprobeSpec('bin:malloc@GLIBC_2.2.5', 'w'), { binary: 'bin', symbol: 'malloc@GLIBC_2.2.5', offset: 0n });
    assert.deepEqual(parseUprobeSpec('bin:0xdeadBEEF', 'w'), { binary: 'bin', offset: 0xdeadbeefn });
    assert.deepEqual(parseUprobeSpec('bin:0', 'w'), { binary: 'bin', offset: 0n });
  });

  test('the caller names the place in the message', () => {
    assert.equal(objectError(() => parseUprobeSpec('nocolon', 'option --uprobe')).message, 'option --uprobe: expected <binary>:<function>[+offset] or <binary>:<offset>, got "nocolon"');
  });
});

describe('programRole: bcc function names', () => {
  const cases: Array<[string, ProgramRole | undefined]> = [
    ['kprobe__vfs_read', kprobe('vfs_read')],
    ['kretprobe__x', kprobe('x', true)],
    ['kprobe___do_fork', kprobe('_do_fork')],
    ['tracepoint__syscalls__sys_enter_bpf', { kind: 'tracepoint', tracepoint: 'syscalls/sys_enter_bpf' }],
    ['tracepoint__sched__sched_process_exec', { kind: 'tracepoint', tracepoint: 'sched/sched_process_exec' }],
    // The category ends at the first "__".
    ['tracepoint__a__b__c', { kind: 'tracepoint', tracepoint: 'a/b__c' }],
    ['kprobe__', undefined],
    ['kprobe_vfs_read', undefined],
    ['tracepoint__syscalls', undefined],
    ['syscall__execve', undefined],
    ['my_kprobe__vfs_read', undefined],
    ['KPROBE__vfs_read', undefined],
    ['handler', undefined],
  ];
  for (const [name, expected] of cases) {
    test(name, () => {
      // In a section that says nothing (as in .text), the name decides.
      assert.deepEqual(programRole('.text', name), expected);
      assert.equal(isBccProgramName(name), expected !== undefined);
    });
  }
});

describe('programRole: precedence', () => {
  test('a section naming its target beats a bcc name', () => {
    assert.deepEqual(programRole('kprobe/vfs_write', 'kprobe__vfs_read'), kprobe('vfs_write'));
    assert.deepEqual(programRole('kretprobe/vfs_write', 'kprobe__vfs_read'), kprobe('vfs_write', true));
    assert.deepEqual(programRole('ksyscall/bpf', 'kretprobe__vfs_read'), kprobe('bpf', false, true));
    assert.deepEqual(programRole('tracepoint/sched/sched_switch', 'kprobe__vfs_read'), { kind: 'tracepoint', tracepoint: 'sched/sched_switch' });
    assert.deepEqual(programRole('tp/a/b', 'tracepoint__c__d'), { kind: 'tracepoint', tracepoint: 'a/b' });
    assert.deepEqual(programRole('uprobe//bin/true:main', 'kprobe__vfs_read'), { kind: 'uprobe', retprobe: false, binary: '/bin/true', symbol: 'main', offset: 0n });
  });

  test('a bcc name beats a section that leaves the target to the command line', () => {
    assert.deepEqual(programRole('prog', 'kprobe__vfs_read'), kprobe('vfs_read'));
    assert.deepEqual(programRole('prog', 'kretprobe__vfs_read'), kprobe('vfs_read', true));
    assert.deepEqual(programRole('kprobe', 'kretprobe__vfs_read'), kprobe('vfs_read', true));
    assert.deepEqual(programRole('kretprobe', 'kprobe__vfs_read'), kprobe('vfs_read'));
    assert.deepEqual(programRole('kprobe', 'tracepoint__syscalls__sys_enter_bpf'), { kind: 'tracepoint', tracepoint: 'syscalls/sys_enter_bpf' });
  });

  test('a bcc name gives a role in a section that says nothing', () => {
    assert.deepEqual(programRole('xdp', 'kprobe__vfs_read'), kprobe('vfs_read'));
  });

  test('without a bcc name the target-less section still speaks', () => {
    assert.deepEqual(programRole('prog', 'count_bpf_calls'), COMMAND_LINE_KPROBE);
    assert.deepEqual(programRole('kretprobe', 'x'), COMMAND_LINE_KRETPROBE);
  });

  test('a malformed section is refused even when the function has a bcc name', () => {
    assert.equal(objectError(() => programRole('kprobe/', 'kprobe__vfs_read')).message, "section 'kprobe/': the function after '/' is missing");
  });
});

test("rawSyscallEvent: raw_syscalls' sys_enter or sys_exit, by a tracepoint, raw_tp or tp_btf section, or the target given on the command line", () => {
  const event = (section: string, target?: string) => rawSyscallEvent(programRole(section, PLAIN), target);
  assert.equal(event('tracepoint/raw_syscalls/sys_enter'), 'sys_enter');
  assert.equal(event('tp/raw_syscalls/sys_exit'), 'sys_exit');
  assert.equal(event('raw_tp/sys_enter'), 'sys_enter');
  assert.equal(event('raw_tracepoint/sys_exit'), 'sys_exit');
  assert.equal(event('tp_btf/sys_exit'), 'sys_exit');
  assert.equal(event('raw_tp', 'sys_enter'), 'sys_enter');
  assert.equal(event('tp_btf', 'sys_exit'), 'sys_exit');
  assert.equal(event('tracepoint/syscalls/sys_enter_bpf'), undefined, 'one system call: its id is no key');
  assert.equal(event('raw_tp/sched_switch'), undefined);
  assert.equal(event('kprobe/sys_enter'), undefined);
  assert.equal(rawSyscallEvent(undefined), undefined);
});

describe('programMeaning: program types from the section table', () => {
  test('types, expected attach types and flags', () => {
    const meaning = (section: string) => {
      const m = programMeaning(section, PLAIN)!;
      return [m.programType, m.expectedAttachType, m.flags];
    };
    assert.deepEqual(meaning('kprobe/vfs_read'), [2, 0, 0]);
    assert.deepEqual(meaning('uretprobe//bin/true:main'), [2, 0, 0]);
    assert.deepEqual(meaning('tracepoint/syscalls/sys_enter_bpf'), [5, 0, 0]);
    assert.deepEqual(meaning('raw_tp/sched_switch'), [17, 0, 0]);
    assert.deepEqual(meaning('fentry/vfs_read'), [26, 24, 0]);
    assert.deepEqual(meaning('fexit/vfs_read'), [26, 25, 0]);
    assert.deepEqual(meaning('fmod_ret/x'), [26, 26, 0]);
    assert.deepEqual(meaning('tp_btf/sched_switch'), [26, 23, 0]);
    assert.deepEqual(meaning('fentry.s/x'), [26, 24, 16], 'sleepable: BPF_F_SLEEPABLE');
    assert.deepEqual(meaning('xdp'), [6, 0, 0]);
    assert.deepEqual([programMeaning('.text', 'kprobe__vfs_read')!.programType, programMeaning('.text', 'tracepoint__a__b')!.programType], [2, 5]);
  });
});

describe('describeRole', () => {
  const cases: Array<[ProgramRole, string]> = [
    [COMMAND_LINE_KPROBE, 'kprobe on the function given on the command line'],
    [COMMAND_LINE_KRETPROBE, 'kretprobe on the function given on the command line'],
    [kprobe('vfs_read'), 'kprobe on vfs_read'],
    [kprobe('vfs_read', true), 'kretprobe on vfs_read'],
    [kprobe('do_sys_open+0x10'), 'kprobe on do_sys_open+0x10'],
    [kprobe('bpf', false, true), 'kprobe on system call bpf'],
    [kprobe('openat', true, true), 'kretprobe on system call openat'],
    [{ kind: 'tracepoint', tracepoint: 'syscalls/sys_enter_bpf' }, 'tracepoint syscalls/sys_enter_bpf'],
    [{ kind: 'uprobe', retprobe: false, binary: '/bin/bash', symbol: 'readline', offset: 0n }, 'uprobe on /bin/bash:readline'],
    [{ kind: 'uprobe', retprobe: true, binary: '/bin/bash', symbol: 'readline', offset: 0n }, 'uretprobe on /bin/bash:readline'],
    [{ kind: 'uprobe', retprobe: false, binary: 'a.out', symbol: 'main', offset: 16n }, 'uprobe on a.out:main+0x10'],
    [{ kind: 'uprobe', retprobe: false, binary: 'path', offset: 0x1234n }, 'uprobe on path:0x1234'],
    [{ kind: 'uprobe', retprobe: true, binary: 'path', offset: 0n }, 'uretprobe on path:0x0'],
  ];
  for (const [role, words] of cases) {
    test(words, () => {
      assert.equal(describeRole(role), words);
    });
  }

  test('the roles of section names, described', () => {
    assert.equal(describeRole(programRole('uretprobe/relative:f+0x8', PLAIN)!), 'uretprobe on relative:f+0x8');
    assert.equal(describeRole(programRole('kretsyscall/bpf', PLAIN)!), 'kretprobe on system call bpf');
    assert.equal(describeRole(programRole('.text', 'tracepoint__raw_syscalls__sys_exit')!), 'tracepoint raw_syscalls/sys_exit');
  });
});
