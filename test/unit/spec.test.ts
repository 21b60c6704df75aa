// src/object/spec.ts: copySpec, a deep copy whose changes (and its BTF's) do not reach the original.
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { BTF_KIND, BTF_LINKAGE, type BtfFunc } from '../../src/btf/btf.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { copySpec, type BpfObjectSpec } from '../../src/object/spec.js';
import { loadFixture, ORDERS } from './helpers.js';

/** The spec without its BTF, which is compared by its bytes. */
function plain(spec: BpfObjectSpec): Omit<BpfObjectSpec, 'btf'> {
  const { btf: _btf, ...rest } = spec;
  return rest;
}

describe('copySpec', () => {
  for (const { order, suffix } of ORDERS) {
    // core_externs: maps, global data, externs and BTF.
    const parse = (): BpfObjectSpec => parseBpfObject(loadFixture(`core_externs${suffix}`));

    test(`${order}: the copy equals the original, and changing it leaves the original as it was`, () => {
      const original = parse();
      const copy = copySpec(original);
      assert.deepEqual(plain(copy), plain(original));
      assert.deepEqual(copy.btf!.bytes(), original.btf!.bytes());
      const before = structuredClone(plain(original));

      copy.maps[0]!.maxEntries += 1;
      copy.maps.find((m) => m.data)!.data!.initial.fill(0xaa);
      copy.programs[0]!.instructions.fill(0);
      copy.programs[0]!.mapReferences.length = 0;
      copy.programs[0]!.externReferences[0]!.instruction += 1;
      copy.externs[0]!.weak = !copy.externs[0]!.weak;
      copy.notices.push('changed');

      assert.deepEqual(plain(original), before);
      assert.notDeepEqual(plain(copy), before);
    });

    test(`${order}: the copy's BTF is its own: a set* call on either does not reach the other`, () => {
      const original = parse();
      const copy = copySpec(original);
      const bytes = Uint8Array.from(original.btf!.bytes());
      const func = original.btf!.types.find((t): t is BtfFunc => t.kind === BTF_KIND.FUNC)!;
      const other = func.linkage === BTF_LINKAGE.GLOBAL ? BTF_LINKAGE.STATIC : BTF_LINKAGE.GLOBAL;

      copy.btf!.setFuncLinkage(func.id, other);
      assert.equal((copy.btf!.type(func.id) as BtfFunc).linkage, other);
      assert.equal((original.btf!.type(func.id) as BtfFunc).linkage, func.linkage);
      assert.deepEqual(original.btf!.bytes(), bytes);
      assert.notDeepEqual(copy.btf!.bytes(), bytes);

      const copied = Uint8Array.from(copy.btf!.bytes());
      const data = original.maps.find((m) => m.data && m.btf)!;
      const datasec = original.btf!.datasec(data.name)!;
      original.btf!.setDatasecLayout(datasec.id, datasec.size + 8, datasec.vars);
      assert.equal(copy.btf!.datasec(data.name)!.size, datasec.size);
      assert.deepEqual(copy.btf!.bytes(), copied);
    });
  }
});
