// node:test with a deadline on every test: a regression that hangs fails with a message instead of holding the suite.
import * as nodeTest from 'node:test';

export { after, afterEach, before, beforeEach, describe } from 'node:test';

/**
 * Each test's deadline unless it sets its own. node:test's --test-timeout would bound whole files
 * (each file is one test of the runner), so the default is set here, test by test. Guests under
 * software emulation run several times slower: LKB_TEST_TIMEOUT_MS raises it there.
 */
export const TEST_TIMEOUT_MS = Number(process.env.LKB_TEST_TIMEOUT_MS ?? 180_000);

type TestFn = nodeTest.TestFn;

export function test(name: string, fn: TestFn): Promise<void>;
export function test(name: string, options: nodeTest.TestOptions, fn: TestFn): Promise<void>;
export function test(name: string, optionsOrFn: nodeTest.TestOptions | TestFn, maybeFn?: TestFn): Promise<void> {
  const [options, fn] = typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn, maybeFn!];
  return nodeTest.test(name, { timeout: TEST_TIMEOUT_MS, ...options }, fn);
}
