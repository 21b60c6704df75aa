// src/kernel/cpus.ts: possibleCpuCount and onlineCpus parse the kernel's CPU lists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { onlineCpus, possibleCpuCount } from '../../src/kernel/cpus.js';

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

test('defaults to this machine', () => {
  assert.equal(possibleCpuCount(), possibleCpuCount(readFileSync('/sys/devices/system/cpu/possible', 'utf8')));
  assert.ok(possibleCpuCount() >= 1);
});

test('the online CPUs are listed one by one', () => {
  assert.deepEqual(onlineCpus('0-2,5\n'), [0, 1, 2, 5]);
  assert.ok(onlineCpus().length >= 1);
});
