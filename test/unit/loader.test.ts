// src/loader.ts: effectiveMapDefinition, what the kernel is asked to create for a map spec.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { effectiveMapDefinition } from '../../src/loader.js';
import { MAP_TYPE } from '../../src/object/map-types.js';
import type { MapSpec } from '../../src/object/spec.js';

const spec = (fields: Partial<MapSpec>): MapSpec => ({
  name: 'm',
  type: MAP_TYPE.HASH,
  keySize: 4,
  valueSize: 8,
  maxEntries: 16,
  flags: 0,
  pinning: 1,
  legacy: { id: 3, innerId: 0, innerIndex: 0 },
  ...fields,
});

test('a perf event array of 0 entries gets one per possible CPU', () => {
  let asked = 0;
  const definition = effectiveMapDefinition(spec({ type: MAP_TYPE.PERF_EVENT_ARRAY, maxEntries: 0, keySize: 4, valueSize: 4 }), () => {
    asked++;
    return 6;
  });
  assert.deepEqual(definition, { type: 4, keySize: 4, valueSize: 4, maxEntries: 6, flags: 0 });
  assert.equal(asked, 1);
});

test('a perf event array with a size keeps it; the CPU count is not read', () => {
  const definition = effectiveMapDefinition(spec({ type: MAP_TYPE.PERF_EVENT_ARRAY, maxEntries: 3 }), () => assert.fail('not needed'));
  assert.equal(definition.maxEntries, 3);
});

test('other maps are passed as they are, without name, pinning or legacy fields', () => {
  const definition = effectiveMapDefinition(spec({ type: MAP_TYPE.ARRAY, maxEntries: 0, flags: 0x400 }), () => assert.fail('not needed'));
  assert.deepEqual(definition, { type: 2, keySize: 4, valueSize: 8, maxEntries: 0, flags: 0x400 });
});

test('the default CPU count is the machine\'s', () => {
  const definition = effectiveMapDefinition(spec({ type: MAP_TYPE.PERF_EVENT_ARRAY, maxEntries: 0 }));
  assert.ok(definition.maxEntries >= 1);
});
