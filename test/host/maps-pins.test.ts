// Host kernel: maps are created and pinned where the object says; pins are reused only when they match.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { after, describe, test } from '../support/test.js';
import { BpfMap } from '../../src/kernel/maps.js';
import { objPin } from '../../src/kernel/bpf.js';
import { PROG_TYPE } from '../../src/kernel/program.js';
import { makeDirectories } from '../../src/kernel/pins.js';
import { LoadedObject } from '../../src/loader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { ElfError, KernelError } from '../../src/errors.js';
import { EXAMPLE, fixture } from '../support/cli.js';
import { pinnedCounter, programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';

const kprobe = { programType: () => PROG_TYPE.KPROBE };
const spec = (path: string) => parseBpfObject(readFileSync(path));
/** Loads and publishes the pins, as a start with nothing to attach. */
function loadAndPin(...args: Parameters<typeof LoadedObject.load>): LoadedObject {
  const loaded = LoadedObject.load(...args);
  loaded.publishPins();
  return loaded;
}
after(removeScratchPinRoots);

function setCounter(path: string, key: number, value: bigint): void {
  const map = BpfMap.fromPin(path);
  try {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(key);
    const v = Buffer.alloc(8);
    v.writeBigUInt64LE(value);
    map.update(k, v);
  } finally {
    map.close();
  }
}

describe('pinning', () => {
  test('pinning 1 maps are created and pinned at <root>/<name>, and stay after close', () => {
    const pins = scratchPinRoot('p1');
    const loaded = loadAndPin(spec(EXAMPLE), { pinRoot: pins, ...kprobe });
    assert.deepEqual(
      [...loaded.maps.values()].map((m) => m.pin),
      [
        { path: `${pins}/kp_bpf_calls`, state: 'created' },
        { path: `${pins}/kp_bpf_cmds`, state: 'created' },
      ],
    );
    assert.deepEqual(loaded.close(), []);
    assert.ok(existsSync(`${pins}/kp_bpf_calls`));
    assert.ok(existsSync(`${pins}/kp_bpf_cmds`));
    assert.equal(BpfMap.fromPin(`${pins}/kp_bpf_cmds`).definition.maxEntries, 64);
  });

  test('pinning 2 maps go to <root>/tc/globals/<name>, created when tc never ran', () => {
    const pins = scratchPinRoot('p2');
    const loaded = loadAndPin(spec(fixture('pin_global.o')), { pinRoot: pins, ...kprobe });
    assert.deepEqual(loaded.maps.get('pg_shared')?.pin, { path: `${pins}/tc/globals/pg_shared`, state: 'created' });
    loaded.close();
    assert.ok(existsSync(`${pins}/tc/globals/pg_shared`));
  });

  test('a compatible pin is reused and keeps its values', () => {
    const pins = scratchPinRoot('reuse');
    loadAndPin(spec(EXAMPLE), { pinRoot: pins, ...kprobe }).close();
    setCounter(`${pins}/kp_bpf_cmds`, 5, 41n);
    const second = loadAndPin(spec(EXAMPLE), { pinRoot: pins, ...kprobe });
    assert.equal(second.maps.get('kp_bpf_cmds')?.pin?.state, 'reused');
    // The reused map is the very map the program now writes to: read through the loader's fd.
    const k = Buffer.alloc(4);
    k.writeUInt32LE(5);
    assert.equal(second.maps.get('kp_bpf_cmds')!.map.lookup(k)?.readBigUInt64LE(0), 41n);
    second.close();
    assert.equal(pinnedCounter(`${pins}/kp_bpf_cmds`, 5), 41n);
  });

  test('an incompatible pin is refused with a field-by-field diff and left untouched', async () => {
    const pins = scratchPinRoot('conflict');
    loadAndPin(spec(EXAMPLE), { pinRoot: pins, ...kprobe }).close();
    setCounter(`${pins}/kp_bpf_cmds`, 0, 7n);
    const before = BpfMap.fromPin(`${pins}/kp_bpf_cmds`);
    const idBefore = before.info().id;
    before.close();
    assert.throws(
      () => loadAndPin(spec(fixture('pin_conflict.o')), { pinRoot: pins, ...kprobe }),
      (error: unknown) => {
        assert.ok(error instanceof KernelError);
        assert.match(error.message, new RegExp(`the map pinned at ${pins}/kp_bpf_cmds does not match map 'kp_bpf_cmds'`));
        assert.match(error.message, /value size: pinned 8, object 4; max entries: pinned 64, object 128/);
        assert.doesNotMatch(error.message, /type:|key size:|flags:/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
    const after = BpfMap.fromPin(`${pins}/kp_bpf_cmds`);
    assert.equal(after.info().id, idBefore);
    after.close();
    assert.equal(pinnedCounter(`${pins}/kp_bpf_cmds`, 0), 7n);
    await programsGone('conflicting');
  });

  test('a pinned program where a map should be is refused clearly', () => {
    const pins = scratchPinRoot('notmap');
    const loaded = loadAndPin(spec(fixture('no_license.o')), { pinRoot: pins, ...kprobe });
    // Pin the program itself where test_prog expects its map.
    loadAndPin(spec(EXAMPLE), { pinRoot: pins, ...kprobe }).close();
    rmSync(`${pins}/kp_bpf_cmds`);
    objPin(loaded.program('no_license').program.fd.value, `${pins}/kp_bpf_cmds`);
    loaded.close();
    assert.throws(
      () => loadAndPin(spec(EXAMPLE), { pinRoot: pins, ...kprobe }),
      new RegExp(`the pin ${pins}/kp_bpf_cmds is a program, not a map`),
    );
    assert.ok(existsSync(`${pins}/kp_bpf_cmds`), 'the foreign pin stays');
  });

  test('when the second map fails, no pin is made at all', () => {
    const pins = scratchPinRoot('second');
    assert.throws(
      () => loadAndPin(spec(fixture('second_map_fails.o')), { pinRoot: pins, ...kprobe }),
      /creating map 'smf_bad' \(hash, key 0 B, value 8 B, max entries 1\): EINVAL/,
    );
    assert.equal(existsSync(`${pins}/smf_good`), false);
    assert.equal(existsSync(`${pins}/smf_bad`), false);
  });

  test('a failure does not remove a pin this run only reused', () => {
    const pins = scratchPinRoot('keepreused');
    const existing = BpfMap.create('smf_good', { type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
    makeDirectories(pins);
    objPin(existing.fd.value, `${pins}/smf_good`);
    const id = existing.info().id;
    existing.close();
    assert.throws(() => loadAndPin(spec(fixture('second_map_fails.o')), { pinRoot: pins, ...kprobe }), /creating map 'smf_bad'/);
    const still = BpfMap.fromPin(`${pins}/smf_good`);
    assert.equal(still.info().id, id);
    still.close();
  });
});

describe('objects the kernel must not see', () => {
  test('a big-endian object is refused before any map is created', () => {
    const pins = scratchPinRoot('bpfeb');
    assert.throws(() => loadAndPin(spec(fixture('example_test_prog.bpfeb.o')), { pinRoot: pins, ...kprobe }), (e: unknown) => {
      assert.ok(e instanceof ElfError);
      assert.match((e as Error).message, /big-endian but this machine is little-endian; rebuild it with -target bpfel/);
      return true;
    });
    assert.equal(existsSync(`${pins}/kp_bpf_calls`), false);
  });
});
