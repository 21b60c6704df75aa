// src/attach/plan.ts: the refusals planAttachments makes before it looks at the kernel (unknown
// --program, programs without a role, a missing or needless function argument, a needless
// --retprobe). Its success paths read tracefs and the PMUs, so they are tested on real kernels only.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SHF_EXECINSTR, SHT_PROGBITS } from '../../src/elf/reader.js';
import { UsageError } from '../../src/errors.js';
import { planAttachments } from '../../src/attach/plan.js';
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
  `program '${program}' is in section '${section}', which names no kind of program load-kp-bpf attaches (prog, kprobe/, kretprobe/, ksyscall/, tracepoint/, uprobe/, or bcc's kprobe__<fn>)`;

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
    const mixed = objectWithSections('xdp', 'prog');
    assert.equal(
      usageError(() => planAttachments(mixed, { programs: ['prog'] })).message,
      "program 'prog' (section 'prog') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>",
    );
  });
});

describe('planAttachments: programs without a role', () => {
  test('alone: the program and its section are named', () => {
    const error = objectError(() => planAttachments(objectWithSections('xdp')));
    assert.equal(error.message, NO_ROLE('xdp', 'xdp'));
  });

  test('among others: the message says how to choose the others', () => {
    const spec = objectWithSections('kprobe/vfs_read', 'socket', 'xdp');
    assert.deepEqual(spec.programs.map((p) => [p.name, p.role?.kind]), [
      ['kprobe/vfs_read', 'kprobe'],
      ['socket', undefined],
      ['xdp', undefined],
    ]);
    assert.equal(objectError(() => planAttachments(spec)).message, `${NO_ROLE('socket', 'socket')}; choose the others with --program`);
    assert.equal(objectError(() => planAttachments(spec, { programs: ['xdp'] })).message, NO_ROLE('xdp', 'xdp'));
    assert.equal(objectError(() => planAttachments(spec, { programs: ['kprobe/vfs_read', 'xdp'] })).message, `${NO_ROLE('xdp', 'xdp')}; choose the others with --program`);
  });

  test('comes before the function-argument checks', () => {
    assert.equal(objectError(() => planAttachments(objectWithSections('xdp'), { function: 'vfs_read', retprobe: true })).message, NO_ROLE('xdp', 'xdp'));
  });
});

describe('planAttachments: the function argument', () => {
  test('a legacy `prog` program without a function is refused with the usage', () => {
    assert.equal(
      usageError(() => planAttachments(legacy())).message,
      "program 'count_bpf_calls' (section 'prog') attaches to a kernel function named on the command line: load-kp-bpf <object> <function>",
    );
    assert.equal(
      usageError(() => planAttachments(legacy(), { retprobe: true })).message,
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
    assert.equal(usageError(() => planAttachments(multi(), { retprobe: true })).message, message);
    assert.equal(usageError(() => planAttachments(bcc(), { retprobe: true, mode: 'pmu' })).message, message);
    const mixed = objectWithSections('prog', 'ksyscall/bpf');
    assert.equal(usageError(() => planAttachments(mixed, { programs: ['ksyscall/bpf'], retprobe: true })).message, message);
  });

  test('a function argument is refused before --retprobe', () => {
    assert.match(usageError(() => planAttachments(multi(), { function: 'x', retprobe: true })).message, /^the chosen programs name their own targets/);
  });
});
