// src/errors.ts: errno names and words, including the kernel's own errnos the C library does not know.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { SyscallError, errnoName } from '../../src/errors.js';

test('errnos the C library knows keep its names', () => {
  assert.equal(errnoName(1), 'EPERM');
  assert.equal(errnoName(22), 'EINVAL');
});

test("the kernel's own errnos (524) are named as include/linux/errno.h names them, with words", () => {
  assert.equal(errnoName(524), 'ENOTSUPP');
  assert.equal(errnoName(512), 'ERESTARTSYS');
  const error = new SyscallError('bpf', 'BPF_MAP_CREATE', 524, 'Unknown error 524');
  assert.equal(error.message, 'BPF_MAP_CREATE: ENOTSUPP (operation is not supported, the kernel says)');
  assert.equal(error.code, 'ENOTSUPP');
  assert.equal(error.description, 'operation is not supported, the kernel says');
});

test('an errno nobody names is given as its number', () => {
  assert.match(errnoName(4000), /4000/);
});
