// ResourceScope: release order, failures collected, guard.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { LoaderError } from '../../src/errors.js';
import { ResourceScope, type Releasable } from '../../src/kernel/scope.js';

const handle = (releaseDescription: string, close: () => unknown): Releasable => ({ releaseDescription, close: () => void close() });

test('releases run in reverse order of creation', () => {
  const scope = new ResourceScope();
  const order: string[] = [];
  for (const name of ['map', 'program', 'event', 'perf fd']) scope.own(handle(name, () => order.push(name)));
  assert.deepEqual(scope.pending(), ['perf fd', 'event', 'program', 'map']);
  assert.deepEqual(scope.close(), []);
  assert.deepEqual(order, ['perf fd', 'event', 'program', 'map']);
});

test('a failing release is reported and the others still run; closing twice does nothing', () => {
  const scope = new ResourceScope();
  const ran: string[] = [];
  scope.own(handle('first', () => ran.push('first')));
  scope.own(handle('broken', () => {
    throw new Error('EBUSY');
  }));
  scope.own(handle('last', () => ran.push('last')));
  const failures = scope.close();
  assert.deepEqual(ran, ['last', 'first']);
  assert.deepEqual(failures.map((f) => [f.description, (f.error as Error).message]), [['broken', 'EBUSY']]);
  assert.deepEqual(scope.close(), []);
  assert.deepEqual(ran, ['last', 'first']);
  assert.throws(() => scope.own(handle('late', () => undefined)), /resource scope already closed; cannot own late/);
});

test('guard unwinds on an exception and attaches what could not be released', () => {
  const scope = new ResourceScope();
  const ran: string[] = [];
  scope.own(handle('close map', () => ran.push('close map')));
  scope.own(handle('remove event', () => {
    throw new Error('EBUSY');
  }));
  const error = new LoaderError('attaching failed');
  assert.throws(() => scope.guard(() => {
    throw error;
  }), error);
  assert.deepEqual(ran, ['close map']);
  assert.deepEqual(error.releaseFailures.map((f) => f.description), ['remove event']);
  assert.equal(scope.closed, true);
  assert.equal(scope.guard(() => 42 as number), 42, 'a body that does not throw returns its value');
});
