// src/attach/alternatives.ts: which programs reach one event by different mechanisms, and which mechanism is attached.
import { commandLineName } from '../../src/cli/flags.js';
import { say } from '../../src/wording.js';
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { chooseAlternatives, describeAlternatives, reachOf, type AlternativeCandidate, type Reach } from '../../src/attach/alternatives.js';
import { programRole } from '../../src/object/conventions.js';

const reach = (section: string, commandLine?: string, arch = 'x64'): Reach | undefined => reachOf(programRole(section, 'prog')!, commandLine, arch);

describe('reachOf: the event a section reaches', () => {
  test('fentry and kprobe on one function, entry and exit; ksyscall names the same entry point as fentry on __x64_sys_*', () => {
    assert.deepEqual(reach('fentry/vfs_read'), { target: 'kernel function vfs_read', side: 'entry', mechanism: 'fentry' });
    assert.deepEqual(reach('fexit/vfs_read'), { target: 'kernel function vfs_read', side: 'exit', mechanism: 'fentry' });
    assert.deepEqual(reach('kprobe/vfs_read'), { target: 'kernel function vfs_read', side: 'entry', mechanism: 'kprobe' });
    assert.deepEqual(reach('kretprobe/vfs_read'), { target: 'kernel function vfs_read', side: 'exit', mechanism: 'kprobe' });
    assert.deepEqual(reach('kprobe.multi/vfs_read'), { target: 'kernel function vfs_read', side: 'entry', mechanism: 'kprobe' });
    assert.equal(reach('ksyscall/getpriority')?.target, 'kernel function sys_getpriority');
    assert.equal(reach('kretsyscall/getpriority')?.side, 'exit');
    assert.equal(reach('fentry/__x64_sys_getpriority')?.target, 'kernel function sys_getpriority');
    assert.equal(reach('fentry/__arm64_sys_getpriority', undefined, 'arm64')?.target, 'kernel function sys_getpriority');
    assert.equal(reach('fentry/__x64_sys_getpriority', undefined, 'arm64')?.target, 'kernel function __x64_sys_getpriority', "another architecture's prefix is no prefix");
  });

  test("the legacy prog and a bare kprobe reach the command line's function", () => {
    assert.deepEqual(reach('prog', 'vfs_read'), { target: 'kernel function vfs_read', side: 'entry', mechanism: 'kprobe' });
    assert.equal(reach('kretprobe', 'vfs_read')?.side, 'exit');
    assert.equal(reach('prog'), undefined);
  });

  test('tp_btf, raw_tp and tracepoint reach one tracepoint by its name', () => {
    assert.deepEqual(reach('tp_btf/sched_switch'), { target: 'tracepoint sched_switch', side: 'entry', mechanism: 'tp_btf' });
    assert.deepEqual(reach('raw_tp/sched_switch'), { target: 'tracepoint sched_switch', side: 'entry', mechanism: 'raw_tp' });
    assert.deepEqual(reach('raw_tracepoint/sched_switch'), { target: 'tracepoint sched_switch', side: 'entry', mechanism: 'raw_tp' });
    assert.deepEqual(reach('tracepoint/sched/sched_switch'), { target: 'tracepoint sched_switch', side: 'entry', mechanism: 'tracepoint' });
    assert.deepEqual(reach('tp/sched/sched_switch'), { target: 'tracepoint sched_switch', side: 'entry', mechanism: 'tracepoint' });
  });

  test("nobody's alternative: patterns, offsets, fmod_ret, writable raw tracepoints, uprobes, placeholders, load-only programs", () => {
    for (const section of ['kprobe/vfs_*', 'kprobe.multi/tcp_*', 'kprobe/vfs_read+4', 'fmod_ret/vfs_read', 'raw_tp.w/sched_switch', 'uprobe//bin/sh:main', 'uprobe', 'fentry', 'tp_btf', 'raw_tp', 'xdp']) {
      assert.equal(reach(section, undefined), undefined, section);
    }
  });
});

const at = (program: string, section: string, failure?: string): AlternativeCandidate => ({ program, reach: reach(section), ...(failure === undefined ? {} : { failure }) });

describe('chooseAlternatives', () => {
  test('fentry over kprobe, entry and exit together; the kprobes are left out as alternatives', () => {
    const groups = chooseAlternatives([at('k', 'kprobe/vfs_read'), at('kr', 'kretprobe/vfs_read'), at('f', 'fentry/vfs_read'), at('fx', 'fexit/vfs_read')]);
    assert.deepEqual(groups, [
      {
        target: 'kernel function vfs_read',
        mechanism: 'fentry',
        chosen: ['f', 'fx'],
        leftOut: [
          { program: 'k', mechanism: 'kprobe', reason: 'an alternative to f, fx (fentry) on kernel function vfs_read, which would count each event again' },
          { program: 'kr', mechanism: 'kprobe', reason: 'an alternative to f, fx (fentry) on kernel function vfs_read, which would count each event again' },
        ],
      },
    ]);
    assert.equal(
      say(describeAlternatives(groups[0]!), commandLineName),
      'kernel function vfs_read: attaching fentry (f, fx); left out kprobe (k, kr), which would count each event again (--all-programs attaches every one)',
    );
  });

  test('where the kernel refuses fexit, the kprobe pair is attached and the fentry entry is not kept alone', () => {
    const groups = chooseAlternatives([at('f', 'fentry/vfs_read'), at('fx', 'fexit/vfs_read', 'this kernel does not load fexit programs'), at('k', 'kprobe/vfs_read'), at('kr', 'kretprobe/vfs_read')]);
    assert.equal(groups[0]!.mechanism, 'kprobe');
    assert.deepEqual(groups[0]!.chosen, ['k', 'kr']);
    assert.deepEqual(
      groups[0]!.leftOut.map((l) => [l.program, l.reason]),
      [
        ['f', 'this kernel does not load fexit programs'],
        ['fx', 'this kernel does not load fexit programs'],
      ],
    );
    assert.equal(say(describeAlternatives(groups[0]!), commandLineName), 'kernel function vfs_read: attaching kprobe (k, kr); left out fentry (f, fx), which this kernel refuses here: this kernel does not load fexit programs');
  });

  test('a mechanism covering entry and exit wins over a preferred one covering only the entry', () => {
    const groups = chooseAlternatives([at('f', 'fentry/tcp_rcv'), at('k', 'kprobe/tcp_rcv'), at('kr', 'kretprobe/tcp_rcv')]);
    assert.equal(groups[0]!.mechanism, 'kprobe');
    assert.deepEqual(groups[0]!.leftOut.map((l) => l.program), ['f']);
  });

  test('tp_btf, then raw_tp, then tracepoint; the left-out ones named in preference order', () => {
    const all = [at('tp', 'tracepoint/sched/sched_wakeup'), at('raw', 'raw_tp/sched_wakeup'), at('btf', 'tp_btf/sched_wakeup')];
    const groups = chooseAlternatives(all);
    assert.deepEqual(groups.map((g) => [g.mechanism, g.chosen]), [['tp_btf', ['btf']]]);
    assert.equal(
      say(describeAlternatives(groups[0]!), commandLineName),
      'tracepoint sched_wakeup: attaching tp_btf (btf); left out raw_tp (raw) and tracepoint (tp), which would count each event again (--all-programs attaches every one)',
    );
    assert.equal(chooseAlternatives([all[0]!, all[1]!, at('btf', 'tp_btf/sched_wakeup', 'no BTF')])[0]!.mechanism, 'raw_tp');
  });

  test('no group: one mechanism (two kprobes on one function), different events, or no mechanism the kernel takes', () => {
    assert.deepEqual(chooseAlternatives([at('a', 'kprobe/vfs_read'), at('b', 'kprobe/vfs_read'), at('c', 'kretprobe/vfs_read')]), []);
    assert.deepEqual(chooseAlternatives([at('a', 'fentry/vfs_read'), at('b', 'kprobe/vfs_write')]), []);
    assert.deepEqual(chooseAlternatives([at('a', 'fentry/vfs_read', 'refused'), at('b', 'kprobe/vfs_read', 'no kprobes')]), []);
    assert.deepEqual(chooseAlternatives([at('a', 'fentry/vfs_read'), { program: 'b', reach: undefined }]), []);
  });

  test('each event is its own group', () => {
    const groups = chooseAlternatives([at('f1', 'fentry/vfs_read'), at('k1', 'kprobe/vfs_read'), at('f2', 'fentry/vfs_write', 'refused'), at('k2', 'kprobe/vfs_write')]);
    assert.deepEqual(groups.map((g) => [g.target, g.chosen]), [
      ['kernel function vfs_read', ['f1']],
      ['kernel function vfs_write', ['k2']],
    ]);
  });
});
