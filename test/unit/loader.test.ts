// src/loader.ts: effectiveMapDefinition, what the kernel is asked to create for a map spec, with the sizes a tool's user space would set.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { DEFAULT_MAX_ENTRIES, effectiveMapDefinition, type MachineSizes } from '../../src/loader.js';
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

/** A machine whose facts must not be asked for. */
const untouched: MachineSizes = { cpuCount: () => assert.fail('not needed'), maxStackDepth: () => assert.fail('not needed') };

test('a perf event array of 0 entries gets one per possible CPU, and says nothing', () => {
  let asked = 0;
  const { definition, sized } = effectiveMapDefinition(spec({ type: MAP_TYPE.PERF_EVENT_ARRAY, maxEntries: 0, keySize: 4, valueSize: 4 }), {
    ...untouched,
    cpuCount: () => {
      asked++;
      return 6;
    },
  });
  assert.deepEqual(definition, { type: 4, keySize: 4, valueSize: 4, maxEntries: 6, flags: 0 });
  assert.equal(asked, 1);
  assert.deepEqual(sized, []);
});

test('a perf event array with a size keeps it; the CPU count is not read', () => {
  assert.equal(effectiveMapDefinition(spec({ type: MAP_TYPE.PERF_EVENT_ARRAY, maxEntries: 3 }), untouched).definition.maxEntries, 3);
});

test("a stack trace map without a value size holds perf_event_max_stack frames; without max entries, the default; both said", () => {
  const { definition, sized } = effectiveMapDefinition(spec({ name: 'stack_traces', type: MAP_TYPE.STACK_TRACE, keySize: 4, valueSize: 0, maxEntries: 0 }), { ...untouched, maxStackDepth: () => 127 });
  assert.deepEqual(definition, { type: MAP_TYPE.STACK_TRACE, keySize: 4, valueSize: 1016, maxEntries: DEFAULT_MAX_ENTRIES, flags: 0 });
  assert.deepEqual(sized, [
    { map: 'stack_traces', field: 'valueSize', value: 1016, reason: '127 frames of 8 bytes (kernel.perf_event_max_stack)' },
    { map: 'stack_traces', field: 'maxEntries', value: 10240, reason: 'the default' },
  ]);
});

test('a stack trace map with a value size keeps it', () => {
  assert.equal(effectiveMapDefinition(spec({ type: MAP_TYPE.STACK_TRACE, valueSize: 80 }), untouched).definition.valueSize, 80);
});

test('maps whose max entries must be 0 keep 0; a ring buffer of 0 is one page', () => {
  for (const type of [MAP_TYPE.CGROUP_STORAGE, MAP_TYPE.PERCPU_CGROUP_STORAGE, MAP_TYPE.SK_STORAGE, MAP_TYPE.INODE_STORAGE, MAP_TYPE.TASK_STORAGE, MAP_TYPE.CGRP_STORAGE]) {
    const { definition, sized } = effectiveMapDefinition(spec({ type, maxEntries: 0 }), untouched);
    assert.equal(definition.maxEntries, 0, `type ${type}`);
    assert.deepEqual(sized, []);
  }
  assert.equal(effectiveMapDefinition(spec({ type: MAP_TYPE.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 0 }), { ...untouched, page: 4096 }).definition.maxEntries, 4096);
});

test('other maps are passed as they are, without name, pinning or legacy fields', () => {
  const { definition, sized } = effectiveMapDefinition(spec({ type: MAP_TYPE.ARRAY, maxEntries: 5, flags: 0x400 }), untouched);
  assert.deepEqual(definition, { type: 2, keySize: 4, valueSize: 8, maxEntries: 5, flags: 0x400 });
  assert.deepEqual(sized, []);
});

test("the default machine is this one's", () => {
  assert.ok(effectiveMapDefinition(spec({ type: MAP_TYPE.PERF_EVENT_ARRAY, maxEntries: 0 })).definition.maxEntries >= 1);
});
