// src/kernel/program.ts: the kern_version code of the running kernel, and the byte-order check.
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { describe, test } from '../support/test.js';
import { ObjectError } from '../../src/errors.js';
import { assertMachineByteOrder, kernelVersionCode, programTypeName } from '../../src/kernel/program.js';

const code = (major: number, minor: number, patch: number): number => (major << 16) + (minor << 8) + patch;

describe('kernelVersionCode', () => {
  test('Debian: the real patch level comes from the version string', () => {
    assert.equal(kernelVersionCode('6.1.0-28-amd64', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)'), code(6, 1, 119));
    assert.equal(kernelVersionCode('6.1.0-28-amd64', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)'), 393591);
    assert.equal(kernelVersionCode('6.12.9-amd64', '#1 SMP PREEMPT_DYNAMIC Debian 6.12.9-1 (2025-01-10)'), code(6, 12, 9));
  });

  test('a patch level above 255 is clamped to 255, as LINUX_VERSION_CODE does', () => {
    assert.equal(kernelVersionCode('4.19.0-27-amd64', '#1 SMP Debian 4.19.316-1 (2024-06-25)'), code(4, 19, 255));
    assert.equal(kernelVersionCode('5.10.300', '#1 SMP'), code(5, 10, 255));
  });

  test('other kernels: the release string', () => {
    assert.equal(kernelVersionCode('6.18.44-fc', '#1 SMP PREEMPT_DYNAMIC'), code(6, 18, 44));
    assert.equal(kernelVersionCode('5.15.0-91-generic', '#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023'), code(5, 15, 0));
    assert.equal(kernelVersionCode('4.9', '#1'), code(4, 9, 0));
    assert.equal(kernelVersionCode('6.6.30-rc1+', ''), code(6, 6, 30));
  });

  test('unreadable releases give 0', () => {
    assert.equal(kernelVersionCode('', ''), 0);
    assert.equal(kernelVersionCode('linux', '#1 SMP'), 0);
  });

  test('defaults to the running kernel', () => {
    const value = kernelVersionCode();
    assert.ok(value > code(3, 0, 0), `kernelVersionCode() = ${value}`);
  });
});

describe('assertMachineByteOrder', () => {
  const little = endianness() === 'LE';
  test("accepts the machine's byte order", () => {
    assert.doesNotThrow(() => assertMachineByteOrder(little, 'the object'));
  });

  test('refuses the other one, saying which -target to build with', () => {
    const error = (() => {
      try {
        assertMachineByteOrder(!little, 'the object');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof ObjectError);
    assert.equal(
      error.message,
      little
        ? 'the object is big-endian but this machine is little-endian; rebuild it with -target bpfel'
        : 'the object is little-endian but this machine is big-endian; rebuild it with -target bpfeb',
    );
  });
});

test('programTypeName', () => {
  assert.equal(programTypeName(2), 'kprobe');
  assert.equal(programTypeName(5), 'tracepoint');
  assert.equal(programTypeName(99), 'type 99');
});
