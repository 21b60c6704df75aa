// src/object/tail-calls.ts: program-array slots from iproute2's "ID/KEY", libbpf's `values` and the samples' "kprobe/N".
import assert from 'node:assert/strict';
import { describe, test } from '../support/test.js';
import { readElf } from '../../src/elf/reader.js';
import { PROG_TYPE } from '../../src/abi.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { describeRole } from '../../src/object/conventions.js';
import type { BpfObjectSpec } from '../../src/object/spec.js';
import { EH, getU16, loadFixture, objectError, ORDERS } from './helpers.js';

const roles = (spec: BpfObjectSpec): string[] => spec.programs.map((p) => `${p.name}: ${p.role ? describeRole(p.role) : 'none'}`);
const slots = (spec: BpfObjectSpec): string[] => spec.programSlots.map((s) => `${s.map}[${s.index}] = ${s.program}`);

/**
 * Renames a section by rewriting its name everywhere in the section name table, its relocation
 * section's ("<name>" inside ".rel<name>") included: clang stores the shared suffix once.
 */
function renameSections(bytes: Uint8Array, from: string, to: string): Uint8Array {
  assert.equal(to.length, from.length);
  const copy = bytes.slice();
  const table = readElf(copy).sections[getU16(copy, EH.shstrndx)]!;
  const encoded = new TextEncoder().encode(`${from}\0`);
  let renamed = 0;
  for (let at = table.offset; at + encoded.length <= table.offset + table.size; at++) {
    if (encoded.every((b, i) => copy[at + i] === b)) {
      copy.set(new TextEncoder().encode(to), at);
      renamed++;
    }
  }
  assert.ok(renamed > 0, `no section name ends in '${from}'`);
  return copy;
}

describe('program-array slots', () => {
  for (const { order, suffix } of ORDERS) {
    test(`${order}: iproute2's "ID/KEY" sections go into the map with that id, typed like the programs calling through it`, () => {
      const spec = parseBpfObject(loadFixture(`tail_iproute2${suffix}`));
      assert.deepEqual(slots(spec), ['ti_jumps[0] = ti_step1', 'ti_jumps[1] = ti_step2', 'ti_jumps[2] = ti_step3']);
      assert.deepEqual(roles(spec), [
        'ti_entry: kprobe on the function given on the command line',
        'ti_step1: loaded only (reached by tail call through ti_jumps[0])',
        'ti_step2: loaded only (reached by tail call through ti_jumps[1])',
        'ti_step3: loaded only (reached by tail call through ti_jumps[2])',
      ]);
      assert.deepEqual(new Set(spec.programs.map((p) => p.programType)), new Set([PROG_TYPE.KPROBE]));
    });

    test(`${order}: the samples loader's "kprobe/N" sections go into the object's program array, unattached`, () => {
      const spec = parseBpfObject(loadFixture(`tail_samples${suffix}`));
      assert.deepEqual(slots(spec), ['ts_jumps[0] = ts_step1', 'ts_jumps[1] = ts_step2', 'ts_jumps[2] = ts_step3']);
      assert.deepEqual(roles(spec), [
        'ts_entry: kprobe on vfs_read',
        'ts_step1: loaded only (reached by tail call through ts_jumps[0])',
        'ts_step2: loaded only (reached by tail call through ts_jumps[1])',
        'ts_step3: loaded only (reached by tail call through ts_jumps[2])',
      ]);
    });

    test(`${order}: libbpf's 'values' initialiser names the programs of each slot; a bare SEC("kprobe") in a slot is not attached`, () => {
      const spec = parseBpfObject(loadFixture(`btf_tail_calls${suffix}`));
      assert.deepEqual(slots(spec), ['tb_jumps[0] = tb_step1', 'tb_jumps[1] = tb_step2', 'tb_jumps[2] = tb_step3']);
      assert.deepEqual(roles(spec), [
        'tb_step1: loaded only (reached by tail call through tb_jumps[0])',
        'tb_step2: loaded only (reached by tail call through tb_jumps[1])',
        'tb_step3: loaded only (reached by tail call through tb_jumps[2])',
        'tb_entry: kprobe on vfs_read',
      ]);
      const sparse = parseBpfObject(loadFixture(`btf_prog_array${suffix}`));
      assert.deepEqual(slots(sparse), ['pa_jumps[1] = pa_target']);
    });

    test(`${order}: slots that cannot be filled are refused, naming the program and the slot`, () => {
      const iproute2 = loadFixture(`tail_iproute2${suffix}`);
      assert.equal(
        objectError(() => parseBpfObject(renameSections(iproute2, '7/0', '9/0'))).message,
        "program 'ti_step1' in section '9/0' is a tail call into the map with id 9, but no map in section 'maps' has that id",
      );
      assert.equal(
        objectError(() => parseBpfObject(renameSections(iproute2, '7/0', '0/0'))).message,
        "program 'ti_step1' in section '0/0': map 'ti_steps' is not a program array (BPF_MAP_TYPE_PROG_ARRAY)",
      );
      assert.equal(
        objectError(() => parseBpfObject(renameSections(iproute2, '7/2', '7/9'))).message,
        "program 'ti_step3' in section '7/9': slot 9 is outside program array 'ti_jumps', which has 4 slots",
      );
      assert.equal(
        objectError(() => parseBpfObject(renameSections(iproute2, '7/1', '7/0'))).message,
        "programs 'ti_step1' and 'ti_step2' both go into ti_jumps[0]",
      );
      const samples = loadFixture(`tail_samples${suffix}`);
      assert.equal(
        objectError(() => parseBpfObject(renameSections(samples, 'kprobe/2', 'kprobe/8'))).message,
        "program 'ts_step3' in section 'kprobe/8': slot 8 is outside program array 'ts_jumps', which has 4 slots",
      );
    });
  }
});
