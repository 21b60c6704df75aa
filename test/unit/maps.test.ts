// src/kernel/maps.ts: possibleCpuCount parses /sys/devices/system/cpu/possible.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { possibleCpuCount } from '../../src/kernel/maps.js';

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
  assert.throws(() => possibleCpuCount(''), { message: 'cannot parse the possible CPUs "" (/sys/devices/system/cpu/possible)' });
  assert.throws(() => possibleCpuCount('x-1'), { message: 'cannot parse the possible CPUs "x-1" (/sys/devices/system/cpu/possible)' });
});

test('defaults to this machine', () => {
  assert.equal(possibleCpuCount(), possibleCpuCount(readFileSync('/sys/devices/system/cpu/possible', 'utf8')));
  assert.ok(possibleCpuCount() >= 1);
});
