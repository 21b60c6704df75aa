// src/text.ts: edit distance, closest-name suggestions, and names made safe for one-line messages.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { closestNames, editDistance, printable } from '../../src/text.js';

describe('editDistance', () => {
  test('Levenshtein distances', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('abc', 'abc'), 0);
    assert.equal(editDistance('vfs_read', 'vfs_reed'), 1);
    assert.equal(editDistance('sys_bpf', '__x64_sys_bpf'), 6);
    assert.equal(editDistance('ab', 'ba'), 2);
  });

  test('gives up with max + 1 once the distance must exceed max', () => {
    assert.equal(editDistance('abcdef', 'uvwxyz', 2), 3);
    assert.equal(editDistance('a', 'abcdefgh', 3), 4, 'length difference alone is over max');
    assert.equal(editDistance('kitten', 'sitting', 3), 3, 'exactly max is returned as is');
    assert.equal(editDistance('kitten', 'sitting', 2), 3);
  });
});

describe('closestNames', () => {
  const names = ['vfs_read', 'vfs_readv', 'vfs_write', 'do_sys_open', '__x64_sys_bpf', 'bpf_prog_load', 'sys_bpf', 'xyz'];

  test('names within a few edits, nearest first', () => {
    assert.deepEqual(closestNames('vfs_reed', names, 5), ['vfs_read', 'vfs_readv']);
    assert.deepEqual(closestNames('vfs_wrte', names, 5), ['vfs_write']);
  });

  test('names containing what was typed come first, shortest difference first', () => {
    assert.deepEqual(closestNames('bpf', names, 5), ['sys_bpf', '__x64_sys_bpf', 'bpf_prog_load']);
    assert.deepEqual(closestNames('x64_sys_bpf', names, 5), ['__x64_sys_bpf', 'sys_bpf']);
  });

  test('the exact name itself is not suggested, the limit holds, duplicates appear once', () => {
    assert.deepEqual(closestNames('vfs_read', names, 5), ['vfs_readv']);
    assert.deepEqual(closestNames('bpf', names, 1), ['sys_bpf']);
    assert.deepEqual(closestNames('vfs_reed', ['vfs_read', 'vfs_read'], 5), ['vfs_read']);
    assert.deepEqual(closestNames('anything', [], 5), []);
  });

  test('short names are not matched by containment', () => {
    assert.deepEqual(closestNames('ab', ['xxabxx', 'ab_', 'zz'], 5), ['ab_', 'zz']);
  });
});

describe('printable', () => {
  test('leaves ordinary names alone', () => {
    assert.equal(printable('kp_bpf_calls'), 'kp_bpf_calls');
    assert.equal(printable('kprobe/sys_bpf'), 'kprobe/sys_bpf');
    assert.equal(printable('größe'), 'größe');
  });

  test('escapes line breaks, controls, DEL, C1, separators and the backslash', () => {
    assert.equal(printable('a\nb'), 'a\\nb');
    assert.equal(printable('a\r\tb'), 'a\\r\\tb');
    assert.equal(printable('\u0000\u0001\u001b'), '\\x00\\x01\\x1b');
    assert.equal(printable('\u007f\u0085'), '\\x7f\\x85');
    assert.equal(printable('x\u2028y\u2029'), 'x\\u2028y\\u2029');
    assert.equal(printable('a\\nb'), 'a\\\\nb', 'a literal backslash-n stays distinguishable from a line break');
    assert.doesNotMatch(printable('\n\r\u2028\u0085'), /[\n\r\u2028\u0085]/);
  });
});
