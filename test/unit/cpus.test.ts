// src/kernel/cpus.ts: possibleCpuCount and onlineCpus parse the kernel's CPU lists.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { test } from '../support/test.js';
import { maxStackDepth, onlineCpus, possibleCpuCount } from '../../src/kernel/cpus.js';

test('ranges and single CPUs', () => {
  assert.equal(possibleCpuCount('0-1\n'), 2);
  assert.equal(possibleCpuCount('0,2-3'), 3);
  assert.equal(possibleCpuCount('0'), 1);
  assert.equal(possibleCpuCount('0\n'), 1);
  assert.equal(possibleCpuCount('0-63'), 64);
  assert.equal(possibleCpuCount('0-3,8-11\n'), 8);
  assert.equal(possibleCpuCount('1,3,5'), 3);
});

test('unparsable text is an error quoting it', () => {
  assert.throws(() => possibleCpuCount(''), { message: 'cannot parse the possible CPUs ""' });
  assert.throws(() => possibleCpuCount('x-1'), { message: 'cannot parse the possible CPUs "x-1"' });
  assert.throws(() => onlineCpus('0-'), { message: 'cannot parse the online CPUs "0-"' });
});

test('defaults to this machine: at least the CPUs sysfs has a directory for, each online one among them', () => {
  // Independent of the files parsed: sysfs has a cpuN directory for each present CPU, and Node
  // (libuv, from /proc/stat) lists the online ones.
  const present = readdirSync('/sys/devices/system/cpu').filter((name) => /^cpu\d+$/.test(name));
  assert.ok(possibleCpuCount() >= present.length, `${possibleCpuCount()} possible, ${present.length} present`);
  assert.equal(onlineCpus().length, cpus().length);
  for (const cpu of onlineCpus()) assert.ok(present.includes(`cpu${cpu}`), `online CPU ${cpu} is present`);
});

test('the online CPUs are listed one by one', () => {
  assert.deepEqual(onlineCpus('0-2,5\n'), [0, 1, 2, 5]);
});

test('kernel.perf_event_max_stack is a positive number of frames', () => {
  assert.equal(maxStackDepth('127\n'), 127);
  assert.equal(maxStackDepth('400'), 400);
  assert.throws(() => maxStackDepth('0'), { message: 'cannot parse kernel.perf_event_max_stack "0"' });
  assert.throws(() => maxStackDepth('deep'), { message: 'cannot parse kernel.perf_event_max_stack "deep"' });
  assert.ok(maxStackDepth() >= 1);
});
