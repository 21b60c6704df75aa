// src/attach/trace-pipe.ts: parseTraceLine splits the kernel's trace_pipe lines; nameUnknownTask names a `<...>` task from /proc.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { nameUnknownTask, parseTraceLine } from '../../src/attach/trace-pipe.js';

describe('parseTraceLine', () => {
  test('a 6.x line: task, pid, CPU, flags, time, source and message', () => {
    const raw = '      emit_calls-4021    [001] ...21  1234.567890: bpf_trace_printk: lkb hello 3';
    assert.deepEqual(parseTraceLine(raw), { task: 'emit_calls', pid: 4021, cpu: 1, time: 1234.56789, source: 'bpf_trace_printk', message: 'lkb hello 3', raw });
  });

  test('with the tgid column (options/record-tgid), which is not the pid', () => {
    const line = parseTraceLine('  emit_calls-4022    (   4021) [000] d..31    77.000001: bpf_trace_printk: x');
    assert.deepEqual([line?.task, line?.pid, line?.cpu, line?.time, line?.message], ['emit_calls', 4022, 0, 77.000001, 'x']);
    assert.equal(parseTraceLine('  <idle>-0       (-------) [003] d.h.. 10.5: bpf_trace_printk: y')?.pid, 0);
  });

  test('task names with spaces and dashes: the pid is the last "-digits" before the CPU', () => {
    const line = parseTraceLine(' kworker/u4:2-my-task-7 x-99    [002] ....  5.000000: bpf_trace_printk: m');
    assert.deepEqual([line?.task, line?.pid], ['kworker/u4:2-my-task-7 x', 99]);
  });

  test('an older kernel without the flags column, and a source of 0', () => {
    const line = parseTraceLine('           <...>-1234  [000]  8.25: 0: hello');
    assert.deepEqual([line?.task, line?.pid, line?.cpu, line?.time, line?.source, line?.message], ['<...>', 1234, 0, 8.25, '0', 'hello']);
  });

  test('the message keeps its colons and spaces; an empty message is empty', () => {
    assert.equal(parseTraceLine('a-1 [000] .... 1.0: bpf_trace_printk: key: value  two')?.message, 'key: value  two');
    assert.equal(parseTraceLine('a-1 [000] .... 1.0: bpf_trace_printk:')?.message, '');
  });

  test('lines of other shapes are not trace lines', () => {
    for (const raw of ['', 'CPU:1 [LOST 12 EVENTS]', '# tracer: nop', 'a-1 [x] .... 1.0: s: m', 'a-b [000] .... 1.0: s: m']) {
      assert.equal(parseTraceLine(raw), undefined, raw);
    }
  });
});

describe('nameUnknownTask', () => {
  const proc = mkdtempSync(join(tmpdir(), 'lkb-proc-'));
  after(() => rmSync(proc, { recursive: true, force: true }));
  mkdirSync(join(proc, '4021'));
  writeFileSync(join(proc, '4021', 'comm'), 'emit_calls\n');
  const line = (task: string, pid: number) => parseTraceLine(`${task}-${pid} [001] .... 1.5: bpf_trace_printk: m`)!;

  test('<...> of a process that exists takes its comm, and says where it came from', () => {
    assert.deepEqual(nameUnknownTask(line('<...>', 4021), proc), { ...line('<...>', 4021), task: 'emit_calls', taskFrom: 'proc' });
  });

  test('<...> of a process that is gone stays <...>', () => {
    assert.deepEqual(nameUnknownTask(line('<...>', 4022), proc), line('<...>', 4022));
  });

  test('a named task is kept as the kernel wrote it, even when /proc says otherwise', () => {
    assert.deepEqual(nameUnknownTask(line('renamed', 4021), proc), line('renamed', 4021));
  });

  test('the real /proc: this process by its pid', () => {
    const named = nameUnknownTask(line('<...>', process.pid));
    assert.equal(named.taskFrom, 'proc');
    assert.equal(named.task, basename(process.execPath).slice(0, 15), 'the kernel names a process after its executable');
  });
});
