// src/btf/writer.ts: BTF built from types read elsewhere decodes and encodes like an object's own.
import assert from 'node:assert/strict';
import { test } from '../support/test.js';
import { BTF_KIND } from '../../src/btf/btf.js';
import { BtfDecoder } from '../../src/btf/decode.js';
import { BtfEncoder } from '../../src/btf/encode.js';
import { BtfWriter } from '../../src/btf/writer.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';
import { loadFixture } from './helpers.js';

test('a struct with a char array, an enum, a bitfield pair and a self-referring pointer round-trips through the decoder and encoder', () => {
  const w = new BtfWriter();
  const u32 = w.int('unsigned int', 4);
  const s64 = w.int('long long', 8, { signed: true });
  const char = w.int('char', 1, { signed: true, char: true });
  const comm = w.array(char, 16);
  const state = w.enumeration('state', 4, [{ name: 'IDLE', value: 0n }, { name: 'BUSY', value: 1n }, { name: 'GONE', value: -1n }], true);
  const node = w.reserve();
  const next = w.pointer(node);
  w.composite(
    'struct',
    'node',
    40,
    [
      { name: 'pid', type: u32, bitOffset: 0 },
      { name: 'comm', type: comm, bitOffset: 32 },
      { name: 'low', type: u32, bitOffset: 160, bitSize: 3 },
      { name: 'high', type: u32, bitOffset: 163, bitSize: 5 },
      { name: 'st', type: state, bitOffset: 192 },
      { name: 'next', type: next, bitOffset: 256 },
    ],
    node,
  );
  const typedef = w.typedef('node_t', node);
  const btf = w.finish();
  assert.equal(btf.sizeOf(typedef), 40);
  assert.equal(btf.type(node).kind, BTF_KIND.STRUCT);
  assert.equal(btf.typesNamed('node_t')[0]?.id, typedef);
  const value = { pid: 42, comm: 'cat', low: 5, high: 17, st: 'GONE', next: '0x1000' };
  const bytes = new BtfEncoder(btf).encode(typedef, value);
  assert.equal(bytes[20], 5 | (17 << 3));
  assert.deepEqual(new BtfDecoder(btf).decode(typedef, bytes), value);
  assert.equal(new BtfDecoder(btf).decode(s64, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), -1n);
});

test('copyFrom brings a type of another BTF with what it refers to, each once', () => {
  const object = parseBpfObject(loadFixture('decode_types.o'));
  const source = object.btf!;
  const [event] = source.typesNamed('decode_event', BTF_KIND.STRUCT);
  assert.ok(event, 'decode_types.o has struct decode_event');
  const w = new BtfWriter();
  const copied = new Map<number, number>();
  const id = w.copyFrom(source, event.id, copied);
  assert.equal(w.copyFrom(source, event.id, copied), id);
  const btf = w.finish();
  assert.equal(btf.sizeOf(id), source.sizeOf(event.id));
  const bytes = new Uint8Array(source.sizeOf(event.id)).map((_, i) => i * 7);
  assert.deepEqual(new BtfDecoder(btf).decode(id, bytes), new BtfDecoder(source).decode(event.id, bytes));
});

test('a reserved type never written is an error', () => {
  const w = new BtfWriter();
  w.reserve();
  assert.throws(() => w.finish(), /BTF type 1 was reserved and never written/);
});
