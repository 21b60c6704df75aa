// src/attach/plan.ts: the refusals planAttachments makes before it looks at the kernel (unknown
// --program, programs without a role, a missing or needless function argument, a needless
// --retprobe). Its success paths read tracefs and the PMUs, so they are tested on real kernels only.
import { say } from '../../src/wording.js';
import { commandLineName } from '../../src/cli/flags.js';
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { SHF_EXECINSTR, SHT_PROGBITS } from '../../src/elf/reader.js';
import { UsageError } from '../../src/errors.js';
import { choosePrograms, planAttachments } from '../../src/attach/plan.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import type { BpfObjectSpec } from '../../src/object/spec.js';
import {
  buildElf,
  encodeInstructions,
  loadFixture,
  objectError,
  thrown,
} from './helpers.js';

function usageError(fn: () => unknown): UsageError {
  const error = thrown(fn);
  assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
  return error;
}

/** An object with one two-instruction program per section name (named after its section). */
function objectWithSections(...names: string[]): BpfObjectSpec {
  const code = encodeInstructions([[0xb7, 0, 0, 0, 0], [0x95, 0, 0, 0, 0]], true);
  return parseBpfObject(
    buildElf([
      ...names.map((name) => ({ name, type: SHT_PROGBITS, flags: 2n | SHF_EXECINSTR, data: code })),
      { name: 'license', type: SHT_PROGBITS, flags: 3n, data: new TextEncoder().encode('GPL\0') },
    ]),
  );
}

const legacy = (): BpfObjectSpec => parseBpfObject(loadFixture('examples/test_prog.o'));
const multi = (): BpfObjectSpec => parseBpfObject(loadFixture('elf_multi.o'));
const bcc = (): BpfObjectSpec => parseBpfObject(loadFixture('link_bcc.o'));

const NO_ROLE = (program: string, section: string): string =>
  `program '${program}' is in section '${section}', which names no kind of program load-kp-bpf knows (prog, kprobe, kretprobe, kprobe.multi, kretprobe.multi, ksyscall, kretsyscall, uprobe, uretprobe, uprobe.s, uretprobe.s, usdt, usdt.s, tracepoint, tp, raw_tracepoint, raw_tp, raw_tracepoint.w, raw_tp.w, tp_btf, fentry, fexit, fmod_ret, fentry.s, fexit.s, fmod_ret.s, perf_event, socket, xdp, tc, classifier, action, or bcc's kprobe__<fn>)`;

describe('planAttachments: --program names', () => {
  test('an unknown name lists the programs the object has', () => {
    assert.equal(usageError(() => planAttachments(multi(), { programs: ['nope'] })).message, "the object has no program 'nope'; it has 'first_prog', 'second_prog'");
    assert.equal(
      usageError(() => planAttachments(multi(), { programs: ['first_prog', 'kprobe/second'] })).message,
      "the object has no program 'kprobe/second'; it has 'first_prog', 'second_prog'",
      'programs are chosen by name, not by section',
    );
  });

  test('an unknown name is found before any other refusal', () => {
    assert.equal(
      usageError(() => planAttachments(objectWithSections('xdp'), { programs: ['xdp', 'other'], function: 'f', retprobe: true })).message,
      "the object has no program 'other'; it has 'xdp'",
    );
  });

  test('only the chosen programs are checked; a name given twice counts once', () => {
    // first_prog alone still names its own target: the function argument is refused, listing it once.
    assert.equal(
      usageError(() => planAttachments(multi(), { programs: ['first_prog', 'first_prog'], function: 'vfs_read' })).message,
      "the chosen programs name their own targets (first_prog: kprobe on first); leave out the function 'vfs_read'",
    );
    // Choosing around a role-less program gets past it.
    const mixed = objectWithSections('mystery', 'prog');
    assert.equal(
      usageError(() => planAttachments(mixed, { programs: ['prog'] })).message,
      "program 'prog' (section 'prog') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>",
    );
  });
});

describe('planAttachments: programs without a role', () => {
  test('alone: the program and its section are named', () => {
    const error = objectError(() => planAttachments(objectWithSections('mystery')));
    assert.equal(error.message, NO_ROLE('mystery', 'mystery'));
  });

  test('among others: the message says how to choose the others', () => {
    const spec = objectWithSections('kprobe/vfs_read', 'lsm/x', 'mystery');
    assert.deepEqual(spec.programs.map((p) => [p.name, p.role?.kind]), [
      ['kprobe/vfs_read', 'kprobe'],
      ['lsm/x', undefined],
      ['mystery', undefined],
    ]);
    assert.equal(objectError(() => planAttachments(spec)).describe(commandLineName), `${NO_ROLE('lsm/x', 'lsm/x')}; choose the others with --program`);
    assert.equal(objectError(() => planAttachments(spec, { programs: ['mystery'] })).describe(commandLineName), NO_ROLE('mystery', 'mystery'));
    assert.equal(objectError(() => planAttachments(spec, { programs: ['kprobe/vfs_read', 'mystery'] })).describe(commandLineName), `${NO_ROLE('mystery', 'mystery')}; choose the others with --program`);
  });

  test('comes before the function-argument checks', () => {
    assert.equal(objectError(() => planAttachments(objectWithSections('mystery'), { function: 'vfs_read', retprobe: true })).message, NO_ROLE('mystery', 'mystery'));
  });
});

describe('planAttachments: the function argument', () => {
  test('a legacy `prog` program without a function is refused with the usage', () => {
    assert.equal(
      usageError(() => planAttachments(legacy())).message,
      "program 'count_bpf_calls' (section 'prog') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>",
    );
    assert.equal(
      usageError(() => planAttachments(legacy(), { retprobe: true })).describe(commandLineName),
      "program 'count_bpf_calls' (section 'prog') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>",
      '--retprobe does not stand in for the function',
    );
  });

  test('a bare SEC("kretprobe") needs the function too; the first such program is named', () => {
    assert.equal(
      usageError(() => planAttachments(objectWithSections('kprobe/vfs_read', 'kretprobe', 'kprobe'))).message,
      "program 'kretprobe' (section 'kretprobe') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>",
    );
  });

  test('a function when every program names its own target is refused, listing them', () => {
    assert.equal(
      usageError(() => planAttachments(multi(), { function: 'vfs_read' })).message,
      "the chosen programs name their own targets (first_prog: kprobe on first; second_prog: kprobe on second); leave out the function 'vfs_read'",
    );
    assert.equal(
      usageError(() => planAttachments(bcc(), { function: 'sys_bpf' })).message,
      "the chosen programs name their own targets (kprobe__vfs_read: kprobe on vfs_read; kretprobe__vfs_write: kretprobe on vfs_write; tracepoint__syscalls__sys_enter_bpf: tracepoint syscalls/sys_enter_bpf); leave out the function 'sys_bpf'",
    );
    assert.equal(
      usageError(() => planAttachments(parseBpfObject(loadFixture('tp_count.o')), { function: '' })).message,
      "the chosen programs name their own targets (count_hits: tracepoint syscalls/sys_enter_bpf); leave out the function ''",
      'an empty function argument is still an argument',
    );
  });

  test('--retprobe when no program takes the command-line function', () => {
    const message = '--retprobe applies to programs attached to the function on the command line; this object names its own targets';
    assert.equal(usageError(() => planAttachments(multi(), { retprobe: true })).describe(commandLineName), message);
    assert.equal(usageError(() => planAttachments(bcc(), { retprobe: true, mode: 'pmu' })).describe(commandLineName), message);
    const mixed = objectWithSections('prog', 'ksyscall/bpf');
    assert.equal(usageError(() => planAttachments(mixed, { programs: ['ksyscall/bpf'], retprobe: true })).describe(commandLineName), message);
  });

  test('a function argument is refused before --retprobe', () => {
    assert.match(usageError(() => planAttachments(multi(), { function: 'x', retprobe: true })).message, /^the chosen programs name their own targets/);
  });
});

describe('choosePrograms: names and globs', () => {
  test('a glob chooses every program it matches, in object order, each once', () => {
    const spec = objectWithSections('kprobe/a', 'kprobe/b', 'tp/x/y');
    assert.deepEqual(choosePrograms(spec, ['kprobe/*']).map((p) => p.name), ['kprobe/a', 'kprobe/b']);
    assert.deepEqual(choosePrograms(spec, ['tp/x/y', 'kprobe/?', 'kprobe/a']).map((p) => p.name), ['kprobe/a', 'kprobe/b', 'tp/x/y']);
    assert.deepEqual(choosePrograms(spec, []).map((p) => p.name), ['kprobe/a', 'kprobe/b', 'tp/x/y']);
  });

  test('a glob that matches nothing lists the programs', () => {
    const spec = objectWithSections('kprobe/a');
    assert.equal(usageError(() => choosePrograms(spec, ['fentry*'])).message, "the object has no program matching 'fentry*'; it has 'kprobe/a'");
  });
});

describe('choosePrograms: --exclude', () => {
  const spec = objectWithSections('kprobe/a', 'kprobe/b', 'tp/x/y');
  test('leaves out what the names or globs match, after --program chose', () => {
    assert.deepEqual(choosePrograms(spec, [], ['kprobe/*']).map((p) => p.name), ['tp/x/y']);
    assert.deepEqual(choosePrograms(spec, ['kprobe/*'], ['kprobe/b']).map((p) => p.name), ['kprobe/a']);
    assert.deepEqual(choosePrograms(spec, undefined, ['tp/x/y', 'kprobe/a']).map((p) => p.name), ['kprobe/b']);
  });

  test('a name that matches nothing, or leaving nothing, is refused', () => {
    assert.equal(usageError(() => choosePrograms(spec, [], ['uprobe*'])).describe(commandLineName), "--exclude uprobe*: the object has no program matching 'uprobe*'; it has 'kprobe/a', 'kprobe/b', 'tp/x/y'");
    assert.equal(usageError(() => choosePrograms(spec, ['kprobe/a'], ['kprobe/*'])).message, "no program is left to load: every program is excluded ('kprobe/*')");
  });
});

describe('planAttachments: --skip-missing and programs whose target a tool would give', () => {
  test('a placeholder uprobe is skipped with its reason, and the rest is planned', () => {
    const plan = planAttachments(objectWithSections('uprobe', 'xdp'), { skipMissing: true });
    assert.deepEqual(plan.attachments.map((a) => a.program.name), ['xdp']);
    assert.deepEqual(plan.skipped.map((s) => ({ ...s, reason: say(s.reason, commandLineName) })), [{ program: 'uprobe', reason: 'its section names no target (the binary to probe); give one with --attach uprobe=TARGET' }]);
  });

  test('--exclude leaves it out without a word', () => {
    const plan = planAttachments(objectWithSections('uprobe', 'xdp'), { exclude: ['uprobe'] });
    assert.deepEqual([plan.attachments.map((a) => a.program.name), plan.skipped], [['xdp'], []]);
  });
});

describe('planAttachments: --attach and --retprobe=PROG', () => {
  test('they must name chosen programs', () => {
    const spec = objectWithSections('kprobe/a', 'kprobe/b');
    assert.equal(usageError(() => planAttachments(spec, { targets: new Map([['nope', 'x']]) })).describe(commandLineName), "--attach/--retprobe name program 'nope', which is not in the object");
    assert.equal(usageError(() => planAttachments(spec, { programs: ['kprobe/a'], retprobePrograms: ['kprobe/b'] })).describe(commandLineName), "--attach/--retprobe name program 'kprobe/b', which is not chosen with --program");
  });

  test('a uprobe without a binary, and a fentry without a function, say how to give them', () => {
    assert.equal(
      usageError(() => planAttachments(objectWithSections('uprobe'))).describe(commandLineName),
      "program 'uprobe' (section 'uprobe') needs the binary to probe: give it with --attach uprobe=TARGET, or leave the program out with --exclude uprobe (--skip-missing leaves out every program without a target)",
    );
    assert.equal(
      usageError(() => planAttachments(objectWithSections('fentry'))).describe(commandLineName),
      "program 'fentry' (section 'fentry') needs the kernel function: give it with --attach fentry=TARGET, or leave the program out with --exclude fentry (--skip-missing leaves out every program without a target)",
    );
    assert.equal(usageError(() => planAttachments(objectWithSections('xdp'), { targets: new Map([['xdp', 'eth0']]) })).describe(commandLineName), "--attach xdp=eth0: program 'xdp' is loaded only (XDP programs attach to network devices (ip link set dev DEV xdp pinned ...)); it is not attached");
  });
});
