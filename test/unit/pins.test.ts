// src/kernel/pins.ts: mapDefinitionDiff, the field-by-field explanation of a pin that does not match.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import type { MapDefinition } from '../../src/kernel/bpf.js';
import { mapDefinitionDiff } from '../../src/kernel/pins.js';

const hash: MapDefinition = { type: 1, keySize: 4, valueSize: 8, maxEntries: 64, flags: 0 };

test('identical definitions have no differences', () => {
  assert.deepEqual(mapDefinitionDiff(hash, { ...hash }), []);
});

test('each differing field, pinned value first, in a fixed order', () => {
  // pin_conflict.c against examples/test_prog.c's kp_bpf_cmds.
  assert.deepEqual(mapDefinitionDiff({ ...hash, valueSize: 4, maxEntries: 128 }, hash), [
    'value size: pinned 8, object 4',
    'max entries: pinned 64, object 128',
  ]);
  assert.deepEqual(mapDefinitionDiff({ type: 2, keySize: 8, valueSize: 16, maxEntries: 1, flags: 0x400 }, hash), [
    'type: pinned hash, object array',
    'key size: pinned 4, object 8',
    'value size: pinned 8, object 16',
    'max entries: pinned 64, object 1',
    'flags: pinned 0x0, object 0x400',
  ]);
});

test('types are named, unknown ones by number; flags in hex', () => {
  assert.deepEqual(mapDefinitionDiff({ ...hash, type: 6 }, { ...hash, type: 99 }), ['type: pinned type 99, object percpu_array']);
  assert.deepEqual(mapDefinitionDiff({ ...hash, flags: 1 }, { ...hash, flags: 0x18 }), ['flags: pinned 0x18, object 0x1']);
});

