// src/object/record-types.ts: which struct of the type sources a record of a given size is.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { BtfWriter } from '../../src/btf/writer.js';
import { findRecordType, kernelOnlyStructs, recordTypeBySize, recordTypeNames, type TypeSource } from '../../src/object/record-types.js';
import { objectTypeSources } from '../../src/object/type-sources.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { loadFixture } from './helpers.js';

/** A source with structs of these names and sizes (a `flex` one ends in a 0-element array). */
function source(name: string, structs: ReadonlyArray<readonly [string, number, 'flex'?]>): TypeSource {
  const w = new BtfWriter();
  const u8 = w.int('unsigned char', 1);
  for (const [struct, size, flex] of structs) {
    const members = [{ name: 'a', type: u8, bitOffset: 0 }, ...(flex ? [{ name: 'data', type: w.array(u8, 0), bitOffset: size * 8 }] : [])];
    if (struct.startsWith('typedef ')) w.typedef(struct.slice(8), w.composite('struct', '', size, members));
    else w.composite('struct', struct, size, members);
  }
  return { name, btf: w.finish() };
}

test('the struct of exactly the size; the names tools use first, then the sources in order; the rest named', () => {
  const object = source("the object's BTF", [['trace_event_raw_sys_enter', 64, 'flex'], ['config', 48]]);
  const header = source('tool.h', [['args_t', 48], ['event', 48], ['other', 16]]);
  const found = recordTypeBySize([object, header], 48);
  assert.equal(found?.chosen.name, 'struct event');
  assert.equal(found?.chosen.source.name, 'tool.h');
  assert.deepEqual(found?.others, ['struct config', 'struct args_t']);
  assert.equal(recordTypeBySize([object, header], 16)?.chosen.name, 'struct other');
  assert.equal(recordTypeBySize([source('a', [['data_t', 8], ['x_event', 8]])], 8)?.chosen.name, 'struct data_t');
  assert.equal(recordTypeBySize([source('a', [['typedef data_t', 8], ['thing', 8]])], 8)?.chosen.name, 'data_t', 'an anonymous struct by its typedef');
});

test("a perf buffer's padding: up to 7 bytes longer than the struct; a flexible struct no longer than the record; never a kernel struct", () => {
  const s = source('h', [['conn_event', 72], ['msg', 8, 'flex'], ['trace_event_raw_sys_enter', 16, 'flex']]);
  assert.equal(recordTypeBySize([s], 76)?.chosen.name, 'struct conn_event');
  assert.equal(recordTypeBySize([s], 76)?.flexible, false);
  assert.equal(recordTypeBySize([s], 80)?.chosen.name, 'struct msg');
  assert.equal(recordTypeBySize([s], 80)?.flexible, true, 'said as such: records of other lengths are likely it too');
  assert.equal(recordTypeBySize([s], 4), undefined);
  assert.equal(recordTypeBySize([source('o', [['trace_event_raw_sys_enter', 64, 'flex'], ['pt_regs', 168]])], 168), undefined);
});

test("a record shorter than a struct, ending inside its last chars (execsnoop sends its args up to args_size): that struct, said as cut", () => {
  const w = new BtfWriter();
  const u32 = w.int('unsigned int', 4);
  const char = w.int('char', 1, { signed: true, char: true });
  const u8 = w.int('unsigned char', 1);
  w.composite('struct', 'event', 40, [
    { name: 'pid', type: u32, bitOffset: 0 },
    { name: 'args', type: w.array(char, 36), bitOffset: 32 },
  ]);
  // Bytes, not text: a record cut inside them would be a guess.
  w.composite('struct', 'blob', 24, [
    { name: 'n', type: u32, bitOffset: 0 },
    { name: 'data', type: w.array(u8, 20), bitOffset: 32 },
  ]);
  const s: TypeSource = { name: 'execsnoop.h', btf: w.finish() };
  const cut = recordTypeBySize([s], 15);
  assert.equal(cut?.chosen.name, 'struct event');
  assert.deepEqual([cut?.cut, cut?.flexible], [true, false]);
  assert.equal(recordTypeBySize([s], 40)?.cut, false, 'whole: an exact match');
  assert.equal(recordTypeBySize([s], 4), undefined, 'ending before the chars');
  assert.equal(recordTypeBySize([s], 41)?.chosen.name, 'struct event', "longer by a perf buffer's padding");
  assert.deepEqual(recordTypeBySize([s], 10)?.others, [], 'struct blob, whose last member is bytes, is no candidate');
});

test('findRecordType by name, with or without "struct", first source first; names for messages leave out kernel structs', () => {
  const a = source('a', [['event', 8]]);
  const b = source('b', [['event', 16], ['pt_regs', 168]]);
  assert.equal(findRecordType([a, b], 'event')?.source.name, 'a');
  assert.equal(findRecordType([a, b], 'struct event')?.source.name, 'a');
  assert.equal(findRecordType([a, b], 'nope'), undefined);
  assert.deepEqual(recordTypeNames([a, b]), ['struct event']);
});

test("execsnoop's object: the kernel structs its CO-RE read of task->real_parent brings into BTF are no records; its struct event, a map's value, is", () => {
  const bytes = loadFixture('tool_execsnoop.o');
  const spec = parseBpfObject(bytes);
  const kernel = kernelOnlyStructs(spec.btf!, spec.programs.flatMap((p) => p.coreRelocations.map((c) => c.relocation.typeId)));
  for (const name of ['struct task_struct', 'struct sched_avg', 'struct restart_block']) assert.ok(kernel.has(name), `${name} is the kernel's`);
  assert.ok(!kernel.has('struct event'));
  assert.ok(spec.btf!.typesNamed('sched_avg').length > 0, 'the BTF has it');
  const sources = objectTypeSources(bytes, spec, []);
  // Every length a record of 1 to 40 bytes of arguments has: struct event, cut, though kernel structs have some of these sizes.
  for (let size = 41; size <= 80; size++) {
    const found = recordTypeBySize(sources, size);
    assert.deepEqual([found?.chosen.name, found?.cut], ['struct event', true], `${size} bytes`);
  }
  assert.equal(kernelOnlyStructs(spec.btf!, []).size, 0, 'no CO-RE, no kernel structs');
});
