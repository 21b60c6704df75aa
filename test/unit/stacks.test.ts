// src/stacks/stacks.ts and src/attach/sampling.ts's event parser: which fields are stack ids, a stack
// map value read to its addresses, samples merged and shown as bcc's profile shows them, folded lines.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { foldedLine, foldedLines, mergeSamples, stackIdFields, stackLines, stackSample, StackTraceReader, type FrameSymbolizer } from '../../src/stacks/stacks.js';
import { parseSamplingEvent } from '../../src/attach/sampling.js';
import { UsageError } from '../../src/errors.js';

/** Names frames by a table, as a symbolizer would; user frames say the pid they were asked for. */
const NAMES = new Map<bigint, string>([
  [0xffffffff81000010n, 'do_syscall_64'],
  [0xffffffff81000100n, 'entry_SYSCALL_64'],
  [0x401000n, 'busy_leaf'],
  [0x401100n, 'busy_middle'],
  [0x401200n, 'main'],
]);
const symbolizer: FrameSymbolizer = {
  remember: () => undefined,
  kernel: (address) => ({ address, ...(NAMES.has(address) ? { symbol: NAMES.get(address)!, offset: 4 } : {}) }),
  user: (pid, address) => {
    // A function covers the 16 bytes from its address.
    const start = [...NAMES.keys()].find((a) => address >= a && address < a + 16n);
    return { address, ...(start === undefined ? {} : { symbol: NAMES.get(start)!, offset: Number(address - start), module: `busy(${pid})` }) };
  },
  formatFrame: (f) => (f.symbol ? `${f.symbol}+0x${Number(f.offset).toString(16)}${f.module ? ` [${f.module}]` : ''}` : '[unknown]'),
};

/** A stack map value: u64 addresses, then zeros to the map's value size. */
function stackValue(addresses: bigint[], depth = 8): Buffer {
  const b = Buffer.alloc(depth * 8);
  addresses.forEach((a, i) => b.writeBigUInt64LE(a, i * 8));
  return b;
}

const STACKS = new Map<number, Buffer>([
  [1, stackValue([0xffffffff81000010n, 0xffffffff81000100n])],
  [2, stackValue([0x401000n, 0x401100n, 0x401200n])],
  [3, stackValue([0x401000n, 0x999999n])],
]);

describe('stacks', () => {
  test('stack id fields: bcc and libbpf-tools names, integers only', () => {
    assert.deepEqual(stackIdFields({ pid: 1, user_stack_id: 2, kern_stack_id: -14, name: 'x' }), ['user_stack_id', 'kern_stack_id']);
    assert.deepEqual(stackIdFields({ kstack: 1, ustack: 2, stack_id: 3, stackid: 4, kernel_stack_id: 5 }), ['kstack', 'ustack', 'stack_id', 'stackid', 'kernel_stack_id']);
    assert.deepEqual(stackIdFields({ stack: 'text', stacks: 1, pid: 3 }), []);
    assert.deepEqual(stackIdFields(7), []);
  });

  test('a stack map value is its addresses up to the first zero, each id read once until cleared', () => {
    let reads = 0;
    const reader = new StackTraceReader((id) => (reads++, STACKS.get(id)));
    assert.deepEqual(reader.addresses(2), [0x401000n, 0x401100n, 0x401200n]);
    assert.deepEqual(reader.addresses(2), [0x401000n, 0x401100n, 0x401200n]);
    assert.equal(reader.addresses(9), undefined);
    assert.equal(reads, 2);
    reader.clear();
    reader.addresses(2);
    assert.equal(reads, 3);
  });

  test("an entry's stacks: kernel and user frames by address, the key's pid for user frames, negative ids as errno names", () => {
    const reader = new StackTraceReader((id) => STACKS.get(id));
    const sample = stackSample({ pid: 42, user_stack_id: 2, kern_stack_id: 1, name: 'busy' }, 7, reader, symbolizer)!;
    assert.equal(sample.count, 7n);
    assert.equal(sample.comm, 'busy');
    assert.equal(sample.pid, 42);
    const user = sample.stacks.user_stack_id!;
    assert.ok('frames' in user);
    assert.deepEqual(user.frames.map((f) => [f.address, f.symbol, f.module, f.kernel]), [
      ['0x401000', 'busy_leaf', 'busy(42)', false],
      ['0x401100', 'busy_middle', 'busy(42)', false],
      ['0x401200', 'main', 'busy(42)', false],
    ]);
    const kernel = sample.stacks.kern_stack_id!;
    assert.ok('frames' in kernel && kernel.frames.every((f) => f.kernel));
    const missing = stackSample({ pid: 42, user_stack_id: -17, kern_stack_id: -14, name: 'busy' }, 1, reader, symbolizer)!;
    assert.deepEqual(missing.stacks, { user_stack_id: { missing: 'EEXIST' }, kern_stack_id: { missing: 'EFAULT' } });
    assert.deepEqual(stackSample({ pid: 1, user_stack_id: 5 }, 1, reader, symbolizer)!.stacks.user_stack_id, { missing: 'not in the stack map' });
    assert.equal(stackSample({ pid: 1, count: 3 }, 1, reader, symbolizer), undefined);
  });

  test('samples with the same stacks and owner add up; the most frequent comes first', () => {
    const reader = new StackTraceReader((id) => STACKS.get(id));
    const samples = [
      stackSample({ pid: 42, user_stack_id: 3, kern_stack_id: -14, name: 'busy' }, 2, reader, symbolizer)!,
      stackSample({ pid: 42, user_stack_id: 2, kern_stack_id: 1, name: 'busy' }, 5, reader, symbolizer)!,
      stackSample({ pid: 42, user_stack_id: 3, kern_stack_id: -14, name: 'busy' }, 4, reader, symbolizer)!,
    ];
    const merged = mergeSamples(samples);
    assert.deepEqual(merged.map((s) => s.count), [6n, 5n]);
  });

  test("text as bcc's profile prints it: kernel frames, '--', user frames leaf first, owner, count", () => {
    const reader = new StackTraceReader((id) => STACKS.get(id));
    const both = stackSample({ pid: 42, user_stack_id: 3, kern_stack_id: 1, name: 'busy' }, 9, reader, symbolizer)!;
    assert.deepEqual(stackLines(both, ''), ['do_syscall_64+0x4', 'entry_SYSCALL_64+0x4', '--', 'busy_leaf+0x0 [busy(42)]', '[unknown]', `-${' '.repeat(16)}busy (42)`, '    9']);
    // In user space the kernel stack is -EFAULT: nothing to show for it.
    const userOnly = stackSample({ pid: 42, user_stack_id: 2, kern_stack_id: -14, name: 'busy' }, 1, reader, symbolizer)!;
    assert.deepEqual(stackLines(userOnly, '').slice(0, 3), ['busy_leaf+0x0 [busy(42)]', 'busy_middle+0x0 [busy(42)]', 'main+0x0 [busy(42)]']);
    const lost = stackSample({ pid: 42, user_stack_id: -17, kern_stack_id: -14, name: 'busy' }, 1, reader, symbolizer)!;
    assert.equal(stackLines(lost, '')[0], '[missed stack: EEXIST]');
  });

  test('folded: comm, then user frames root first, then kernel frames marked _[k], then the count', () => {
    const reader = new StackTraceReader((id) => STACKS.get(id));
    const both = stackSample({ pid: 42, user_stack_id: 2, kern_stack_id: 1, name: 'my busy;x' }, 9, reader, symbolizer)!;
    assert.equal(foldedLine(both), 'my_busy_x;main;busy_middle;busy_leaf;entry_SYSCALL_64_[k];do_syscall_64_[k] 9');
    const unknown = stackSample({ user_stack_id: 3, kern_stack_id: -14 }, 2, reader, symbolizer)!;
    assert.equal(foldedLine(unknown), 'all;[unknown];busy_leaf 2');
    // Samples at other offsets of the same functions fold into one line.
    const elsewhere = new StackTraceReader((id) => (id === 4 ? stackValue([0x401000n + 8n, 0x401100n, 0x401200n]) : STACKS.get(id)));
    const a = stackSample({ pid: 42, user_stack_id: 2, kern_stack_id: -14, name: 'busy' }, 3, reader, symbolizer)!;
    const b = stackSample({ pid: 42, user_stack_id: 4, kern_stack_id: -14, name: 'busy' }, 4, elsewhere, symbolizer)!;
    assert.deepEqual(foldedLines([both, a, b]), ['my_busy_x;main;busy_middle;busy_leaf;entry_SYSCALL_64_[k];do_syscall_64_[k] 9', 'busy;main;busy_middle;busy_leaf 7']);
  });
});

describe('sampling events', () => {
  test('perf list names with a frequency or a period; 99 Hz by default', () => {
    assert.deepEqual(parseSamplingEvent('cpu-clock'), { text: 'cpu-clock:99hz', name: 'cpu-clock', hardware: false, type: 1, config: 0n, sampling: { frequency: 99 } });
    assert.deepEqual(parseSamplingEvent('cycles:period=1000000').sampling, { period: 1000000n });
    assert.equal(parseSamplingEvent('cycles:period=1000000').type, 0);
    assert.equal(parseSamplingEvent('instructions:freq=49').text, 'instructions:49hz');
    assert.equal(parseSamplingEvent('page-faults:1hz').config, 2n);
    assert.equal(parseSamplingEvent('cs').config, 3n);
  });

  test('an unknown event names the closest; a rate of 0 or a malformed one is refused', () => {
    assert.throws(() => parseSamplingEvent('cycle'), (e: Error) => e instanceof UsageError && /no such event.*closest: cycles/.test(e.message));
    assert.throws(() => parseSamplingEvent('cpu-clock:0hz'), /a frequency or period of 0 never samples/);
    assert.throws(() => parseSamplingEvent('cpu-clock:fast'), /not of the form EVENT\[:99hz\|:freq=N\|:period=N\]/);
  });
});
